/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <libgen.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "basic/fileio.h"
#include "helpers/cgtest.h"
#include "helpers/paths.h"
#include "helpers/pod-builder.h"
#include "helpers/rootfs.h"
#include "ns/paths.h"
#include "runtime/podrt.h"
#include "runtime/process.h"
#include "runtime/shimclient.h"

/* `qoslet reset` against what a qoslet leaves behind: a pod started by the runtime (its shim,
 * a container, the pod's /dev/shm mount, its state and run directories) and a kubepods tree
 * with a process, all under a temporary root dir, run dir and cgroup root; with things beside
 * them that reset must leave alone. */

#define POD_UID "5e7e7000-aaaa-4bbb-8ccc-0123456789ab"

static struct cg_manager *mgr;
static char *root_fs, *root_sd;
static char *dir, *root_dir, *run_dir, *rootfs;
static pid_t inside, outside;
static char *inside_fs, *inside_sd, *outside_fs, *outside_sd, *keep_mount;

static void setup(void)
{
        if (geteuid() != 0)
                cr_skip_test("needs root");
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(cgtest_manager(&mgr, &root_fs, &e), 0, "%s", qerr_msg(e));
        root_sd = cgtest_systemd(root_fs);
        dir = test_tmpdir_tagged("reset");
        rootfs = test_busybox_rootfs(dir);
        root_dir = path_join(dir, "root");
        run_dir = path_join(dir, "run");
        keep_mount = path_join(dir, "keep-mount");
}

static void teardown(void)
{
        const pid_t pids[] = { inside, outside };
        for (size_t i = 0; i < ELEMENTSOF(pids); i++)
                if (pids[i] > 0) {
                        (void)kill(pids[i], SIGKILL);
                        (void)cgtest_wait(pids[i], 2000, NULL);
                }
        inside = outside = 0;
        if (mgr)
                (void)cg_destroy(mgr, root_fs, root_sd, NULL, NULL);
        cg_manager_free(mgr);
        mgr = NULL;
        if (dir)
                test_rm_rf(dir);
        char **strs[] = { &root_fs,   &root_sd,   &dir,        &root_dir,   &run_dir,   &rootfs,
                          &inside_fs, &inside_sd, &outside_fs, &outside_sd, &keep_mount };
        for (size_t i = 0; i < ELEMENTSOF(strs); i++) {
                free(*strs[i]);
                *strs[i] = NULL;
        }
}

TestSuite(reset_root, .init = setup, .fini = teardown, .timeout = 120);

/* Starts the pod in a child that exits without tearing it down, as a daemon killed or stopped
 * leaves its pods; returns the shim's pid. */
static pid_t start_pod_and_leave(void)
{
        int fds[2];
        cr_assert_eq(pipe(fds), 0);
        pid_t child = fork();
        cr_assert_geq(child, 0);
        if (child == 0) {
                struct pod *p = pod_builder_new("left", POD_UID);
                struct container *c = pod_builder_add_container(
                        p, "sleeper", POD_BUILDER_UNSET, POD_BUILDER_UNSET, POD_BUILDER_UNSET,
                        POD_BUILDER_UNSET);
                _cleanup_free_ char *logs = path_join(dir, "logs"), *shim = shim_default_path();
                if (asprintf(&c->image, "dir://%s", rootfs) < 0)
                        _exit(1);
                c->command = calloc(3, sizeof(char *));
                if (!c->command || !(c->command[0] = strdup("sleep")) ||
                    !(c->command[1] = strdup("1000")))
                        _exit(1);
                struct pod_runtime_config cfg = {
                        .root_dir = root_dir, .run_dir = run_dir, .log_dir = logs, .shim_path = shim
                };
                struct pod_runtime *pr = NULL;
                _cleanup_qerr_ struct qerr *e = NULL;
                if (pod_runtime_start(p, &cfg, &pr, &e) < 0) {
                        fprintf(stderr, "start pod: %s\n", qerr_msg(e));
                        _exit(1);
                }
                (void)!write(fds[1], &pr->shim_pid, sizeof(pid_t));
                _exit(0);
        }
        close(fds[1]);
        pid_t shim = 0;
        int status = 0;
        ssize_t n = read(fds[0], &shim, sizeof(shim));
        close(fds[0]);
        cr_assert_eq(cgtest_wait(child, 60000, &status), 0);
        cr_assert(n == sizeof(shim) && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "start the pod: status %#x", status);
        return shim;
}

static pid_t container_pid(void)
{
        _cleanup_free_ char *d = NULL, *st = NULL;
        cr_assert(asprintf(&d, "%s/pods/%s", run_dir, POD_UID) > 0);
        cr_assert_eq(shim_request(d, "status", 5000, &st, NULL), 0);
        const char *k = strstr(st, " sleeper:0:running:");
        cr_assert_not_null(k, "container not running: %s", st);
        return (pid_t)atoi(k + strlen(" sleeper:0:running:"));
}

/* A container cgroup with a sleeping process: under the pod's cgroup in kubepods, or beside
 * kubepods (must survive). */
static pid_t cgroup_with_process(const char *parent_fs, const char *id, char **ret_fs,
                                 char **ret_sd)
{
        _cleanup_free_ char *parent_sd = cgtest_systemd(parent_fs);
        cr_assert_eq(cg_container_paths(parent_fs, parent_sd, id, ret_fs, ret_sd, NULL), 0);
        pid_t pid = cgtest_spawn_sleeper();
        cr_assert_gt(pid, 0);
        _cleanup_qerr_ struct qerr *e = NULL;
        struct cg_values none = { 0 };
        cr_assert_eq(cg_apply(mgr, *ret_fs, *ret_sd, &none, &none, pid, NULL, &e), 0, "%s",
                     qerr_msg(e));
        return pid;
}

static void write_file(const char *path, const char *text)
{
        _cleanup_free_ char *copy = strdup(path);
        cr_assert_eq(mkdir_p(dirname(copy), 0755, NULL), 0);
        FILE *f = fopen(path, "we");
        cr_assert_not_null(f, "%s: %m", path);
        fputs(text, f);
        fclose(f);
}

/* Mount points below dir, from mountinfo. */
static unsigned mounts_under(const char *d)
{
        _cleanup_free_ char *text = NULL, *prefix = NULL;
        cr_assert(asprintf(&prefix, " %s", d) > 0);
        cr_assert_eq(read_full_file("/proc/self/mountinfo", 16u << 20, &text, NULL, NULL), 0);
        unsigned n = 0;
        for (char *p = text; (p = strstr(p, prefix)); p++)
                n++;
        return n;
}

static char *reset_cmd(void)
{
        _cleanup_free_ char *bin = test_program_path("qoslet");
        char *cmd = NULL;
        cr_assert(asprintf(&cmd,
                           "%s reset --root-dir '%s' --run-dir '%s' --cgroup-driver %s "
                           "--cgroup-root %s 2>&1",
                           bin, root_dir, run_dir, cgtest_driver(), root_fs) > 0);
        return cmd;
}

static bool exists(const char *path)
{
        return access(path, F_OK) == 0;
}

Test(reset_root, removes_pods_cgroups_mounts_and_state)
{
        pid_t shim = start_pod_and_leave();
        pid_t ctr = container_pid();
        char kube[512];
        snprintf(kube, sizeof(kube), "%s/kubepods/besteffort/pod%s", root_fs, POD_UID);
        inside = cgroup_with_process(kube, "sleeper", &inside_fs, &inside_sd);
        outside = cgroup_with_process(root_fs, "outside", &outside_fs, &outside_sd);
        /* Things beside what qoslet made. */
        _cleanup_free_ char *img = path_join(root_dir, "images/keep"),
                            *other = path_join(run_dir, "other"),
                            *lock = path_join(root_dir, "qoslet.lock");
        write_file(img, "image");
        write_file(other, "other");
        write_file(lock, "");
        cr_assert_eq(mkdir_p(keep_mount, 0755, NULL), 0);
        cr_assert_eq(mount("tmpfs", keep_mount, "tmpfs", 0, "size=64k"), 0, "%m");
        _cleanup_free_ char *pods_root = path_join(root_dir, "pods"),
                            *pods_run = path_join(run_dir, "pods");
        cr_assert_geq(mounts_under(pods_run), 1, "the pod's /dev/shm is mounted");
        cr_assert(exists(pods_root) && exists(pods_run));

        _cleanup_free_ char *cmd = reset_cmd(), *out = NULL;
        int rc = test_run_capture(cmd, &out);
        cr_log_info("qoslet reset:\n%s", out ? out : "");
        cr_assert_eq(rc, 0, "%s", out);
        cr_assert_not_null(strstr(out, "stopped shim of pod " POD_UID), "%s", out);
        cr_assert_not_null(strstr(out, "removed cgroup "), "%s", out);
        cr_assert_not_null(strstr(out, "unmounted "), "%s", out);

        /* Nothing of the pod is left. */
        cr_assert_eq(wait_process_exit(shim, 5000), 0, "shim %d still runs", (int)shim);
        cr_assert_eq(wait_process_exit(ctr, 5000), 0, "container %d still runs", (int)ctr);
        int status = 0;
        cr_assert_eq(cgtest_wait(inside, 5000, &status), 0, "process in kubepods still runs");
        cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        inside = 0;
        _cleanup_free_ char *where = NULL, *kube_fs = NULL;
        cr_assert(asprintf(&kube_fs, "%s/kubepods", root_fs) > 0);
        _cleanup_free_ char *kube_sd = cgtest_systemd(kube_fs);
        cr_assert_eq(cgtest_find_leftover(kube_fs, kube_sd, &where), 0, "left: %s", where);
        cr_assert(!exists(pods_root) && !exists(pods_run));
        cr_assert_eq(mounts_under(pods_run), 0);
        cr_assert_eq(mounts_under(pods_root), 0);

        /* And nothing beside it was touched. */
        cr_assert_eq(kill(outside, 0), 0, "process beside kubepods killed");
        struct cg_stats st = { 0 };
        cr_assert_eq(cg_stats(mgr, outside_fs, outside_sd, &st, NULL), 0);
        cr_assert_eq(st.pids_current, 1);
        cr_assert(exists(img) && exists(other) && exists(lock));
        cr_assert_eq(mounts_under(keep_mount), 1);
        (void)umount2(keep_mount, MNT_DETACH);

        /* A second reset finds nothing. */
        free(TAKE_PTR(out));
        cr_assert_eq(test_run_capture(cmd, &out), 0);
        cr_assert_str_eq(out, "nothing to remove\n");
}

Test(reset_root, refuses_while_the_root_dir_is_locked)
{
        _cleanup_free_ char *pod_dir = NULL, *lock = path_join(root_dir, "qoslet.lock");
        cr_assert(asprintf(&pod_dir, "%s/pods/%s", root_dir, POD_UID) > 0);
        cr_assert_eq(mkdir_p(pod_dir, 0700, NULL), 0);
        char kube[512];
        snprintf(kube, sizeof(kube), "%s/kubepods/besteffort/pod%s", root_fs, POD_UID);
        inside = cgroup_with_process(kube, "sleeper", &inside_fs, &inside_sd);
        /* A daemon holds the lock (its fd is not inherited by the command). */
        _cleanup_close_ int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        cr_assert_geq(fd, 0);
        cr_assert_eq(flock(fd, LOCK_EX), 0);
        _cleanup_free_ char *cmd = reset_cmd(), *out = NULL;
        cr_assert_eq(test_run_capture(cmd, &out), 1, "%s", out);
        cr_assert_not_null(strstr(out, "in use"), "%s", out);
        cr_assert(exists(pod_dir));
        cr_assert_eq(kill(inside, 0), 0);
        /* Unlocked, it runs. */
        cr_assert_eq(flock(fd, LOCK_UN), 0);
        free(TAKE_PTR(out));
        cr_assert_eq(test_run_capture(cmd, &out), 0, "%s", out);
        cr_assert(!exists(pod_dir));
}
