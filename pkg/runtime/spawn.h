/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "basic/error.h"
#include "ns/rootfs.h"
#include "ns/sandbox.h"
#include "security/security.h"

/* Where a new process goes in the cgroup tree, before it runs any code of its own. */
struct spawn_cgroup {
        int v2_fd; /* a cgroup2 directory: clone3(CLONE_INTO_CGROUP); -1 for none */
        /* Called with the new pid while the child waits (cgroup v1: write it to every
         * controller's cgroup.procs). NULL for none. */
        int (*attach)(pid_t pid, void *userdata, struct qerr **err);
        void *userdata;
};

struct container_launch {
        const struct container_fs *fs; /* NULL: no new root (hooks run via setns instead) */
        char *const *argv;
        char *const *env;
        const char *cwd; /* NULL: "/" */
        bool has_oom_score_adj;
        int oom_score_adj;
        int stdout_fd, stderr_fd; /* write ends the child gets as 1 and 2 */
        enum pid_ns_mode pid_mode;
        int pod_pidfd; /* PID_NS_POD: a pidfd of a process in the pod's pid namespace */
        const struct spawn_cgroup *cgroup; /* NULL: stay in the caller's cgroup */
        int join_pidfd; /* >= 0: join this process's mnt, pid, net, ipc, uts namespaces */
        /* Applied in the child: sysctls and masked paths once /proc is mounted (containers
         * only), then ids, capabilities, no_new_privs and the filter just before execve().
         * NULL: the caller's own privileges. */
        const struct sec_plan *sec;
        const struct sec_filter *filter;
};

/* Starts a container process (clone3: new mount namespace, a new pid namespace for
 * PID_NS_CONTAINER) and returns once it has exec'd, or with the reason it could not. The
 * caller gets the pid and a pidfd and reaps the process. */
int container_spawn(const struct container_launch *l, pid_t *ret_pid, int *ret_pidfd,
                    struct qerr **err);

/* execve() with a PATH search in env (the container's), not in the caller's environment. */
int exec_search(char *const *argv, char *const *env);
