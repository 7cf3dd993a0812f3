/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "ns/paths.h"
#include "runtime/process.h"
#include "runtime/spawn.h"

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/* The kernel's struct clone_args (linux/sched.h clashes with glibc's sched.h). */
struct clone3_args {
        uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
                set_tid_size, cgroup;
};

int exec_search(char *const *argv, char *const *env)
{
        if (strchr(argv[0], '/'))
                return execve(argv[0], argv, env), -errno;
        const char *path = strv_env_lookup(env, "PATH", 4);
        if (!path)
                path = &DEFAULT_PATH_ENV[strlen("PATH=")];
        int saved = ENOENT;
        for (const char *p = path;; p++) {
                const char *end = strchrnul(p, ':');
                char buf[4096];
                int n = snprintf(buf, sizeof(buf), "%.*s/%s", (int)(end - p), p, argv[0]);
                if (n > 0 && (size_t)n < sizeof(buf)) {
                        execve(end == p ? argv[0] : buf, argv, env);
                        if (errno == EACCES || (errno != ENOENT && errno != ENOTDIR))
                                saved = errno;
                }
                if (*end == 0)
                        break;
                p = end;
        }
        return -saved;
}

static void child_fail(int err_fd, struct qerr *e, const char *fallback)
{
        const char *m = e ? qerr_msg(e) : fallback;
        (void)!write(err_fd, m, strlen(m));
        _exit(127);
}

static int child_stdio(const struct container_launch *l, struct qerr **err)
{
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null < 0)
                return qerr_set_errno(err, errno, "open '/dev/null'");
        if (dup2(null, 0) < 0 || dup2(l->stdout_fd >= 0 ? l->stdout_fd : null, 1) < 0 ||
            dup2(l->stderr_fd >= 0 ? l->stderr_fd : null, 2) < 0)
                return qerr_set_errno(err, errno, "set up stdio");
        if (null > 2)
                close(null);
        return 0;
}

static int child_join(int pidfd, int err_fd, struct qerr **err)
{
        if (setns(pidfd, CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) <
            0)
                return qerr_set_errno(err, errno, "join container namespaces");
        /* A pid namespace applies to children only: fork once more and wait. The
         * grandchild carries on; this process passes its exit status up. */
        pid_t p = fork();
        if (p < 0)
                return qerr_set_errno(err, errno, "fork into container");
        if (p == 0)
                return 0;
        /* The grandchild reports exec failures; the report pipe must see EOF when it execs. */
        close(err_fd);
        int st;
        while (waitpid(p, &st, 0) < 0 && errno == EINTR)
                ;
        _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

static int child_setup(const struct container_launch *l, int sync_fd, int err_fd, struct qerr **err)
{
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        signal(SIGPIPE, SIG_DFL);
        char c;
        if (sync_fd >= 0 && read(sync_fd, &c, 1) != 1)
                return qerr_set(err, ECANCELED, "parent gave up before the start");
        if (l->has_oom_score_adj) {
                char v[16];
                snprintf(v, sizeof(v), "%d", l->oom_score_adj);
                /* Refused without CAP_SYS_RESOURCE for values below the current one: the
                 * caller compares afterwards and warns. */
                int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
                if (fd >= 0) {
                        (void)!write(fd, v, strlen(v));
                        close(fd);
                }
        }
        int r = child_stdio(l, err);
        if (r < 0)
                return r;
        if (setsid() < 0)
                return qerr_set_errno(err, errno, "setsid");
        if (l->join_pidfd >= 0 && (r = child_join(l->join_pidfd, err_fd, err)) < 0)
                return r;
        if (l->fs && (r = container_fs_setup(l->fs, err)) < 0)
                return r;
        if (l->fs && l->sec &&
            ((r = sec_apply_sysctls(l->sec, "/proc", err)) < 0 ||
             (r = sec_mask_paths(l->sec, "/", err)) < 0))
                return r;
        umask(022);
        const char *cwd = l->cwd && *l->cwd ? l->cwd : "/";
        if (chdir(cwd) < 0 && (mkdir_p(cwd, 0755, NULL) < 0 || chdir(cwd) < 0))
                return qerr_set_errno(err, errno, "chdir '%s'", cwd);
        if (l->sec && (r = sec_apply_in_child(l->sec, l->filter, err)) < 0)
                return r;
        r = exec_search(l->argv, l->env);
        return qerr_set_errno(err, -r, "exec '%s'", l->argv[0]);
}

static pid_t do_clone3(const struct container_launch *l, int *ret_pidfd)
{
        struct clone3_args a = { .exit_signal = SIGCHLD, .pidfd = (uintptr_t)ret_pidfd };
        a.flags = CLONE_PIDFD;
        if (l->fs)
                a.flags |= CLONE_NEWNS;
        if (l->fs && l->pid_mode == PID_NS_CONTAINER)
                a.flags |= CLONE_NEWPID;
        if (l->cgroup && l->cgroup->v2_fd >= 0) {
                a.flags |= CLONE_INTO_CGROUP;
                a.cgroup = (uint64_t)l->cgroup->v2_fd;
        }
        return (pid_t)syscall(SYS_clone3, &a, sizeof(a));
}

/* Clones with the pod's pid namespace as the one for children, when the pod shares one. */
static pid_t clone_in_pidns(const struct container_launch *l, int *ret_pidfd, struct qerr **err)
{
        _cleanup_close_ int own = -1;
        if (l->fs && l->pid_mode == PID_NS_POD) {
                own = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
                if (own < 0)
                        return qerr_set_errno(err, errno, "open own pid namespace");
                if (setns(l->pod_pidfd, CLONE_NEWPID) < 0)
                        return qerr_set_errno(err, errno, "enter pod pid namespace");
        }
        pid_t pid = do_clone3(l, ret_pidfd);
        if (pid < 0)
                return qerr_set_errno(err, errno, "clone container process");
        if (pid > 0 && own >= 0 && setns(own, CLONE_NEWPID) < 0)
                return qerr_set_errno(err, errno, "leave pod pid namespace");
        return pid;
}

static void close_pair(int p[2])
{
        for (int i = 0; i < 2; i++)
                if (p[i] >= 0) {
                        close(p[i]);
                        p[i] = -1;
                }
}

/* Reads the child's report: nothing before EOF means exec succeeded. */
static int read_child_report(int fd, pid_t pid, struct qerr **err)
{
        char msg[1024];
        size_t n = 0;
        for (;;) {
                ssize_t k = read(fd, msg + n, sizeof(msg) - 1 - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0 || (n += (size_t)k) == sizeof(msg) - 1)
                        break;
        }
        if (n == 0)
                return 0;
        msg[n] = 0;
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
        return qerr_set(err, EIO, "%s", msg);
}

int container_spawn(const struct container_launch *l, pid_t *ret_pid, int *ret_pidfd,
                    struct qerr **err)
{
        int errp[2] = { -1, -1 }, syncp[2] = { -1, -1 };
        bool attach = l->cgroup && l->cgroup->attach;
        if (pipe2(errp, O_CLOEXEC) < 0 || (attach && pipe2(syncp, O_CLOEXEC) < 0)) {
                int e = errno;
                close_pair(errp);
                return qerr_set_errno(err, e, "create pipes");
        }
        int pidfd = -1;
        pid_t pid = clone_in_pidns(l, &pidfd, err);
        if (pid == 0) {
                struct qerr *e = NULL;
                close(errp[0]);
                if (syncp[1] >= 0)
                        close(syncp[1]);
                child_setup(l, syncp[0], errp[1], &e);
                child_fail(errp[1], e, "container setup failed");
        }
        close(errp[1]);
        errp[1] = -1;
        if (syncp[0] >= 0) {
                close(syncp[0]);
                syncp[0] = -1;
        }
        int r = pid < 0 ? pid : 0;
        if (r == 0 && attach)
                r = l->cgroup->attach(pid, l->cgroup->userdata, err);
        /* The child waits for a byte; a closed pipe without one makes it give up. */
        if (r == 0 && attach && write(syncp[1], "1", 1) != 1)
                r = qerr_set_errno(err, errno, "release container process");
        close_pair(syncp);
        if (r == 0)
                r = read_child_report(errp[0], pid, err);
        else if (pid > 0) {
                int st;
                (void)kill(pid, SIGKILL);
                while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                        ;
        }
        close_pair(errp);
        if (r < 0) {
                if (pidfd >= 0)
                        close(pidfd);
                return r;
        }
        *ret_pid = pid;
        *ret_pidfd = pidfd;
        return 0;
}
