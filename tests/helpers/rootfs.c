/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>

#include "basic/fileio.h"
#include "helpers/rootfs.h"
#include "ns/paths.h"

static void pclosep(FILE **f)
{
        if (*f)
                (void)pclose(*f);
}

char *test_tmpdir_tagged(const char *tag)
{
        char *d = NULL;
        cr_assert(asprintf(&d, "/tmp/qoslet-test-%s-XXXXXX", tag) > 0);
        cr_assert_not_null(mkdtemp(d), "mkdtemp: %m");
        cr_assert_eq(chmod(d, 0755), 0);
        return d;
}

char *test_busybox_rootfs(const char *dir)
{
        char *root = path_join(dir, "rootfs");
        _cleanup_free_ char *bin = path_join(root, "bin");
        cr_assert_eq(mkdir_p(bin, 0755, NULL), 0);
        _cleanup_free_ char *bb = path_join(bin, "busybox");
        cr_assert_eq(access("/bin/busybox", X_OK), 0, "busybox-static is not installed");
        char cmd[PATH_MAX * 2];
        snprintf(cmd, sizeof(cmd), "cp /bin/busybox '%s'", bb);
        cr_assert_eq(system(cmd), 0, "copy busybox");
        _cleanup_(pclosep) FILE *list = popen("/bin/busybox --list", "re");
        cr_assert_not_null(list);
        _cleanup_close_ int bfd = open(bin, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cr_assert_geq(bfd, 0);
        char name[256];
        int n = 0;
        while (fgets(name, sizeof(name), list)) {
                name[strcspn(name, "\n")] = 0;
                if (*name && strcmp(name, "busybox") != 0 && !strchr(name, '/'))
                        cr_assert_eq(symlinkat("busybox", bfd, name), 0, "symlink '%s': %m", name);
                n++;
        }
        cr_assert_gt(n, 100, "busybox lists its applets");
        return root;
}

static void detach_mounts_under(const char *path)
{
        /* Deepest first: /proc/self/mountinfo lists parents before children. */
        for (int round = 0; round < 8; round++) {
                _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
                if (!f)
                        return;
                char line[4096], target[PATH_MAX], last[PATH_MAX] = "";
                size_t pl = strlen(path);
                while (fgets(line, sizeof(line), f))
                        if (sscanf(line, "%*s %*s %*s %*s %4095s", target) == 1 &&
                            strncmp(target, path, pl) == 0 && (target[pl] == '/' || !target[pl]))
                                snprintf(last, sizeof(last), "%s", target);
                if (!last[0])
                        return;
                (void)umount2(last, MNT_DETACH);
        }
}

void test_rm_rf(const char *path)
{
        if (!path)
                return;
        detach_mounts_under(path);
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_expect_eq(rm_rf(path, &e), 0, "remove '%s': %s", path, qerr_msg(e));
}

char *test_read_fd(int fd)
{
        _cleanup_fclose_ FILE *f = fdopen(fd, "r");
        cr_assert_not_null(f);
        char *buf = NULL;
        cr_assert_eq(read_full_stream(f, "pipe", 1 << 20, &buf, NULL, NULL), 0);
        return buf;
}

char *test_read_file(const char *path)
{
        char *buf = NULL;
        if (read_full_file(path, 1 << 20, &buf, NULL, NULL) < 0)
                return NULL;
        return buf;
}

char *test_ns_link(pid_t pid, const char *name)
{
        char p[64], buf[128];
        snprintf(p, sizeof(p), "/proc/%d/ns/%s", (int)pid, name);
        ssize_t n = readlink(p, buf, sizeof(buf) - 1);
        cr_assert_gt(n, 0, "readlink '%s': %m", p);
        buf[n] = 0;
        return strdup(buf);
}

bool test_cgroup_unified(void)
{
        struct statfs s;
        return statfs("/sys/fs/cgroup", &s) == 0 && s.f_type == 0x63677270;
}

static char *make_cg(const char *base, const char *tag)
{
        struct statfs s;
        if (statfs(base, &s) < 0)
                return NULL;
        char *d = NULL;
        cr_assert(asprintf(&d, "%s/qoslet-test-%d-%s", base, (int)getpid(), tag) > 0);
        cr_assert(mkdir(d, 0755) == 0 || errno == EEXIST, "mkdir '%s': %m", d);
        return d;
}

void test_cgroup_make(struct test_cgroup *cg, const char *tag)
{
        *cg = (struct test_cgroup){ 0 };
        if (test_cgroup_unified()) {
                cg->v2 = make_cg("/sys/fs/cgroup", tag);
                return;
        }
        cg->v2 = make_cg("/sys/fs/cgroup/unified", tag);
        cg->v1_pids = make_cg("/sys/fs/cgroup/pids", tag);
}

void test_cgroup_make_memory(struct test_cgroup *cg, const char *tag)
{
        *cg = (struct test_cgroup){ 0 };
        if (!test_cgroup_unified()) {
                cg->v1_memory = make_cg("/sys/fs/cgroup/memory", tag);
                cr_assert_not_null(cg->v1_memory, "no v1 memory hierarchy");
                return;
        }
        _cleanup_free_ char *ctl = test_read_file("/sys/fs/cgroup/cgroup.subtree_control");
        if (!ctl || !strstr(ctl, "memory"))
                cr_assert_eq(
                        write_string_file("/sys/fs/cgroup/cgroup.subtree_control", "+memory", NULL),
                        0, "enable the memory controller");
        cg->v2 = make_cg("/sys/fs/cgroup", tag);
}

static void kill_and_rmdir(char *dir)
{
        if (!dir)
                return;
        for (int i = 0; i < 100 && rmdir(dir) < 0 && errno == EBUSY; i++) {
                _cleanup_free_ char *procs = path_join(dir, "cgroup.procs");
                _cleanup_free_ char *buf = test_read_file(procs);
                for (char *p = buf; p && *p;) {
                        (void)kill((pid_t)strtol(p, &p, 10), SIGKILL);
                        while (*p == '\n')
                                p++;
                }
                usleep(20000);
        }
        free(dir);
}

void test_cgroup_remove(struct test_cgroup *cg)
{
        kill_and_rmdir(cg->v2);
        kill_and_rmdir(cg->v1_pids);
        kill_and_rmdir(cg->v1_memory);
        *cg = (struct test_cgroup){ 0 };
}

bool test_pid_in_cgroup(pid_t pid, const char *dir)
{
        char p[64];
        snprintf(p, sizeof(p), "/proc/%d/cgroup", (int)pid);
        _cleanup_free_ char *buf = test_read_file(p);
        const char *leaf = strrchr(dir, '/');
        if (!buf || !leaf)
                return false;
        char want[PATH_MAX];
        snprintf(want, sizeof(want), "%s\n", leaf);
        return strstr(buf, want) != NULL;
}
