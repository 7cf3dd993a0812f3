/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "basic/fileio.h"
#include "helpers/rootfs.h"
#include "ns/paths.h"
#include "ns/rootfs.h"
#include "ns/sandbox.h"
#include "runtime/process.h"
#include "runtime/spawn.h"

/* Each Criterion test runs in a process of its own, so a test may move itself into new
 * namespaces: they go away with it. */

static char *dir, *rootfs;
static struct test_cgroup test_cg;

static void setup(void)
{
        if (geteuid() != 0)
                cr_skip_test("needs root");
        dir = test_tmpdir_tagged("ns");
        rootfs = test_busybox_rootfs(dir);
}

static void teardown(void)
{
        test_cgroup_remove(&test_cg);
        test_rm_rf(dir);
        free(dir);
        free(rootfs);
        dir = rootfs = NULL;
}

TestSuite(ns_root, .init = setup, .fini = teardown);

static bool lo_is_up(void)
{
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq ifr = { 0 };
        strcpy(ifr.ifr_name, "lo");
        bool up = s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP);
        close(s);
        return up;
}

Test(ns_root, sandbox_enter_new_namespaces)
{
        _cleanup_free_ char *net = test_ns_link(getpid(), "net");
        _cleanup_free_ char *ipc = test_ns_link(getpid(), "ipc");
        _cleanup_free_ char *uts = test_ns_link(getpid(), "uts");
        _cleanup_free_ char *mnt = test_ns_link(getpid(), "mnt");
        struct sandbox_config c = { .hostname = "web-1" };
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(sandbox_enter(&c, &e), 0, "%s", qerr_msg(e));
        _cleanup_free_ char *net2 = test_ns_link(getpid(), "net");
        _cleanup_free_ char *ipc2 = test_ns_link(getpid(), "ipc");
        _cleanup_free_ char *uts2 = test_ns_link(getpid(), "uts");
        _cleanup_free_ char *mnt2 = test_ns_link(getpid(), "mnt");
        cr_expect_str_neq(net, net2);
        cr_expect_str_neq(ipc, ipc2);
        cr_expect_str_neq(uts, uts2);
        cr_expect_str_eq(mnt, mnt2);
        struct utsname u;
        uname(&u);
        cr_expect_str_eq(u.nodename, "web-1");
        cr_expect(lo_is_up());
}

Test(ns_root, sandbox_host_network_and_ipc_keep_host)
{
        _cleanup_free_ char *net = test_ns_link(getpid(), "net");
        _cleanup_free_ char *ipc = test_ns_link(getpid(), "ipc");
        _cleanup_free_ char *uts = test_ns_link(getpid(), "uts");
        struct utsname before, after;
        uname(&before);
        struct sandbox_config c = { .host_network = true, .host_ipc = true, .hostname = "x" };
        cr_assert_eq(sandbox_enter(&c, NULL), 0);
        _cleanup_free_ char *net2 = test_ns_link(getpid(), "net");
        _cleanup_free_ char *ipc2 = test_ns_link(getpid(), "ipc");
        _cleanup_free_ char *uts2 = test_ns_link(getpid(), "uts");
        cr_expect_str_eq(net, net2);
        cr_expect_str_eq(ipc, ipc2);
        cr_expect_str_eq(uts, uts2);
        uname(&after);
        cr_expect_str_eq(before.nodename, after.nodename);
}

Test(ns_root, sandbox_host_network_own_ipc)
{
        _cleanup_free_ char *net = test_ns_link(getpid(), "net");
        _cleanup_free_ char *ipc = test_ns_link(getpid(), "ipc");
        struct sandbox_config c = { .host_network = true };
        cr_assert_eq(sandbox_enter(&c, NULL), 0);
        _cleanup_free_ char *net2 = test_ns_link(getpid(), "net");
        _cleanup_free_ char *ipc2 = test_ns_link(getpid(), "ipc");
        cr_expect_str_eq(net, net2);
        cr_expect_str_neq(ipc, ipc2);
}

struct run {
        int status;
        char *out;
        pid_t pid;
        int pidfd;
        int fd; /* read end of the output pipe */
};

/* Starts a container running sh -c script with stdout and stderr in one pipe. */
static struct run start_in(struct container_fs *fs, enum pid_ns_mode mode,
                           const struct spawn_cgroup *cg, const char *script)
{
        int p[2];
        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        char *argv[] = { "sh", "-c", (char *)script, NULL };
        char *env[] = { DEFAULT_PATH_ENV, "GREETING=hi", NULL };
        struct container_launch l = { .fs = fs,
                                      .argv = argv,
                                      .env = env,
                                      .cwd = "/work/dir",
                                      .stdout_fd = p[1],
                                      .stderr_fd = p[1],
                                      .pid_mode = mode,
                                      .pod_pidfd = -1,
                                      .cgroup = cg,
                                      .join_pidfd = -1 };
        struct run r = { .fd = p[0] };
        fs->workdir = "/work/dir";
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(container_spawn(&l, &r.pid, &r.pidfd, &e), 0, "spawn: %s", qerr_msg(e));
        close(p[1]);
        return r;
}

/* Reads output until n lines have come (or EOF). */
static void read_lines(struct run *r, int n)
{
        size_t len = r->out ? strlen(r->out) : 0;
        for (;;) {
                int have = 0;
                for (size_t i = 0; i < len; i++)
                        have += r->out[i] == '\n';
                if (have >= n)
                        return;
                r->out = realloc(r->out, len + 4097);
                ssize_t k = read(r->fd, r->out + len, 4096);
                if (k <= 0)
                        return;
                len += (size_t)k;
                r->out[len] = 0;
        }
}

static void finish(struct run *r, bool kill_it)
{
        if (kill_it)
                (void)kill(r->pid, SIGKILL);
        read_lines(r, 1 << 30);
        cr_assert_eq(waitpid(r->pid, &r->status, 0), r->pid);
        close(r->pidfd);
        close(r->fd);
}

static struct run run_in(struct container_fs *fs, enum pid_ns_mode mode,
                         const struct spawn_cgroup *cg, const char *script)
{
        struct run r = start_in(fs, mode, cg, script);
        finish(&r, false);
        return r;
}

static char *line(const char *out, int n)
{
        const char *s = out;
        for (int i = 0; i < n && s; i++) {
                s = strchr(s, '\n');
                s = s ? s + 1 : NULL;
        }
        cr_assert_not_null(s, "no line %d in '%s'", n, out);
        return strndup(s, strcspn(s, "\n"));
}

Test(ns_root, two_containers_share_pod_namespaces)
{
        _cleanup_free_ char *host_net = test_ns_link(getpid(), "net");
        struct sandbox_config c = { .hostname = "pod-a" };
        cr_assert_eq(sandbox_enter(&c, NULL), 0);
        struct container_fs fs = { .rootfs = rootfs };
        /* Both stay alive while they are compared: a namespace's inode number can be
         * reused once it is gone. */
        const char *script = "for n in net ipc uts mnt pid; do readlink /proc/self/ns/$n; done;"
                             " hostname; echo $$; exec sleep 30";
        struct run a = start_in(&fs, PID_NS_CONTAINER, NULL, script);
        struct run b = start_in(&fs, PID_NS_CONTAINER, NULL, script);
        read_lines(&a, 7);
        read_lines(&b, 7);
        for (int i = 0; i < 3; i++) {
                _cleanup_free_ char *x = line(a.out, i), *y = line(b.out, i);
                cr_expect_str_eq(x, y, "line %d shared", i);
        }
        for (int i = 3; i < 5; i++) {
                _cleanup_free_ char *x = line(a.out, i), *y = line(b.out, i);
                cr_expect_str_neq(x, y, "line %d private", i);
        }
        _cleanup_free_ char *net = line(a.out, 0), *hn = line(a.out, 5), *pid = line(a.out, 6);
        cr_expect_str_neq(net, host_net);
        cr_expect_str_eq(hn, "pod-a");
        cr_expect_str_eq(pid, "1", "the container is PID 1 of its own pid namespace");
        finish(&a, true);
        finish(&b, true);
        cr_expect(WIFSIGNALED(a.status) && WTERMSIG(a.status) == SIGKILL);
        free(a.out);
        free(b.out);
}

static char *mkpath(const char *sub)
{
        char *p = path_join(dir, sub);
        cr_assert_eq(mkdir_p(p, 0755, NULL), 0);
        return p;
}

Test(ns_root, container_filesystem)
{
        cr_assert_eq(sandbox_enter(&(struct sandbox_config){ .hostname = "fs" }, NULL), 0);
        _cleanup_free_ char *shm = mkpath("shm"), *rw = mkpath("vol-rw"), *ro = mkpath("vol-ro");
        _cleanup_free_ char *hosts = path_join(dir, "hosts");
        cr_assert_eq(write_file_atomic(hosts, "127.0.0.1\tfs\n", 13, 0644, NULL), 0);
        struct ns_mount m[] = { { hosts, "/etc/hosts", false },
                                { rw, "/data/rw", false },
                                { ro, "/data/ro", true } };
        struct container_fs fs = { .rootfs = rootfs, .shm = shm, .mounts = m, .n_mounts = 3 };
        const char *script =
                "for d in null zero full random urandom tty; do test -c /dev/$d && echo dev-$d; "
                "done;"
                "test -L /dev/ptmx && test -c /dev/pts/ptmx && echo pts;"
                "test \"$(readlink /dev/fd)\" = /proc/self/fd && echo fd-link;"
                "test \"$(readlink /dev/stderr)\" = /proc/self/fd/2 && echo stderr-link;"
                "grep -q ' /dev/mqueue mqueue' /proc/mounts && echo mqueue;"
                "grep ' /sys sysfs ro,' /proc/mounts >/dev/null && echo sys-ro;"
                "echo shmdata > /dev/shm/f && echo shm-ok;"
                "echo vol > /data/rw/f && echo rw-ok;"
                "(echo x > /data/ro/f) 2>/dev/null || echo ro-refused;"
                "grep -q fs /etc/hosts && echo hosts-ok;"
                "echo cwd=$(pwd); echo env=$GREETING; echo init=$(cat /proc/1/comm);"
                "echo root=$(ls / | tr '\\n' ,)";
        struct run r = run_in(&fs, PID_NS_CONTAINER, NULL, script);
        cr_assert_eq(r.status, 0, "output: %s", r.out);
        const char *want[] = { "dev-null",
                               "dev-zero",
                               "dev-full",
                               "dev-random",
                               "dev-urandom",
                               "dev-tty",
                               "pts",
                               "fd-link",
                               "stderr-link",
                               "mqueue",
                               "sys-ro",
                               "shm-ok",
                               "rw-ok",
                               "ro-refused",
                               "hosts-ok",
                               "cwd=/work/dir",
                               "env=hi",
                               "init=sh",
                               "root=bin,data,dev,etc,proc,sys,work," };
        for (size_t i = 0; i < ELEMENTSOF(want); i++)
                cr_expect(strstr(r.out, want[i]), "want '%s' in:\n%s", want[i], r.out);
        _cleanup_free_ char *shm_f = path_join(shm, "f"), *rw_f = path_join(rw, "f");
        _cleanup_free_ char *a = test_read_file(shm_f), *b = test_read_file(rw_f);
        cr_expect_str_eq(a ? a : "", "shmdata\n");
        cr_expect_str_eq(b ? b : "", "vol\n");
        free(r.out);
}

Test(ns_root, read_only_rootfs)
{
        struct container_fs fs = { .rootfs = rootfs, .read_only_rootfs = true };
        struct run r = run_in(
                &fs, PID_NS_CONTAINER, NULL,
                "(touch /x) 2>/dev/null || echo refused; touch /dev/shm/y && echo dev-rw");
        cr_expect(strstr(r.out, "refused\n") && strstr(r.out, "dev-rw\n"), "output: %s", r.out);
        free(r.out);
}

Test(ns_root, symlink_in_rootfs_stays_inside)
{
        /* /data in the image points at an absolute host path: the mount must land on that
         * path inside the rootfs, and the host directory must stay untouched. */
        _cleanup_free_ char *host = mkpath("hostdir"), *vol = mkpath("vol");
        _cleanup_free_ char *link = path_join(rootfs, "data");
        cr_assert_eq(symlink(host, link), 0);
        _cleanup_free_ char *marker = path_join(vol, "marker");
        cr_assert_eq(write_file_atomic(marker, "m", 1, 0644, NULL), 0);
        struct ns_mount m[] = { { vol, "/data", false } };
        struct container_fs fs = { .rootfs = rootfs, .mounts = m, .n_mounts = 1 };
        struct run r = run_in(&fs, PID_NS_CONTAINER, NULL,
                              "cat /data/marker; echo; touch /data/new");
        cr_expect_str_eq(r.out, "m\n");
        _cleanup_free_ char *inside = path_join(rootfs, host);
        struct stat st;
        cr_expect_eq(stat(inside, &st), 0, "the target was made inside the rootfs");
        _cleanup_free_ char *new_on_host = path_join(host, "new");
        cr_expect_neq(access(new_on_host, F_OK), 0, "the host directory was not written");
        _cleanup_free_ char *new_in_vol = path_join(vol, "new");
        cr_expect_eq(access(new_in_vol, F_OK), 0);
        free(r.out);
}

Test(ns_root, exec_failure_is_reported)
{
        char *argv[] = { "no-such-program", NULL };
        char *env[] = { DEFAULT_PATH_ENV, NULL };
        struct container_fs fs = { .rootfs = rootfs };
        struct container_launch l = { .fs = &fs,
                                      .argv = argv,
                                      .env = env,
                                      .stdout_fd = -1,
                                      .stderr_fd = -1,
                                      .pod_pidfd = -1,
                                      .join_pidfd = -1 };
        pid_t pid = 0;
        int pidfd = -1;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_lt(container_spawn(&l, &pid, &pidfd, &e), 0);
        cr_expect(strstr(qerr_msg(e), "exec 'no-such-program'"), "message: %s", qerr_msg(e));
        cr_expect_eq(waitpid(-1, NULL, WNOHANG), -1, "no child is left");
        cr_expect_eq(errno, ECHILD);
}

static int attach_v1(pid_t pid, void *userdata, struct qerr **err)
{
        _cleanup_free_ char *procs = path_join(userdata, "cgroup.procs");
        char v[16];
        snprintf(v, sizeof(v), "%d", (int)pid);
        return write_string_file(procs, v, err);
}

Test(ns_root, cgroup_placement_before_exec)
{
        test_cgroup_make(&test_cg, "spawn");
        struct test_cgroup *cgp = &test_cg;
        cr_assert_not_null(cgp->v2, "no cgroup2 hierarchy");
        _cleanup_close_ int v2fd = open(cgp->v2, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cr_assert_geq(v2fd, 0);
        struct spawn_cgroup s = { .v2_fd = v2fd };
        if (cgp->v1_pids) {
                s.attach = attach_v1;
                s.userdata = cgp->v1_pids;
        }
        struct container_fs fs = { .rootfs = rootfs };
        /* The container reads its own cgroup file as its first act. */
        struct run r = start_in(&fs, PID_NS_CONTAINER, &s, "cat /proc/self/cgroup; exec sleep 30");
        read_lines(&r, 2);
        const char *leaf = strrchr(cgp->v2, '/');
        cr_expect(strstr(r.out, leaf), "v2 cgroup '%s' in:\n%s", leaf, r.out);
        cr_expect(test_pid_in_cgroup(r.pid, cgp->v2));
        if (cgp->v1_pids)
                cr_expect(strstr(r.out, ":pids:/qoslet-test-"), "v1 pids cgroup in:\n%s", r.out);
        finish(&r, true);
        free(r.out);
}
