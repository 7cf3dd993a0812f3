/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* The daemon with the real runtime (--runtime=shim) for the node root tests: a busybox rootfs
 * as a dir:// image, its own root, run and log dirs under a temporary dir, its own cgroup root
 * and the driver of cgtest_driver(); /pods read with curl and jq. One daemon at a time. */

struct nodetest {
        char *dir, *rootfs, *qoslet, *qosctl;
        char cgroot[64];
        pid_t daemon;
};

extern struct nodetest nt;

/* Skips the test when something it needs is missing; makes the dirs. */
void nt_setup(void);
/* Stops the daemon, then stops every pod left (a daemon over an empty manifest dir) and
 * removes the test's cgroup root and dirs. */
void nt_teardown(void);

/* Starts the daemon over <dir>/m; extra arguments (NULL-terminated) follow the usual ones. */
void nt_start_daemon(const char *const *extra);
void nt_stop_daemon(int sig);

/* A pod manifest text: one container "c" running `sh -c cmd`, 64Mi memory limit; extra is
 * spec YAML indented two spaces (or NULL). Caller frees. */
char *nt_pod_yaml(const char *name, const char *cmd, const char *extra);
/* Writes nt_pod_yaml() to <dir>/m/file, atomically. */
void nt_write_pod(const char *file, const char *name, const char *cmd, const char *extra);

/* jq over /pods; the output (trimmed), or NULL when the daemon does not answer. */
char *nt_pods_jq(const char *filter);
/* Polls until filter prints want. */
bool nt_wait_jq(const char *filter, const char *want, int seconds);

/* The pid of the process whose command line is exactly "a0 a1", or 0. */
pid_t nt_find_process(const char *a0, const char *a1);
/* Lines a shell command prints. */
int nt_count_lines(const char *cmd);
/* Pod cgroups (and container ones in them) under the test's cgroup root, in every hierarchy. */
int nt_pod_cgroups(void);
/* Nothing of any pod left: shims, cgroups, mounts, state and run dirs. */
void nt_expect_nothing_left(void);
