/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "cgroups/cgroups.h"

/* Helpers of the cgroup tests (root and VM suites). Each test works under its own cgroup root
 * "/qoslet-test-<pid>-<n>" and removes it. */

/* The driver the tests use: $QOSLET_TEST_CGROUP_DRIVER ("systemd" when the VM boots systemd
 * as PID 1), else "cgroupfs". */
const char *cgtest_driver(void);

/* A manager with a fresh cgroup root of its own; *ret_root is its cgroupfs path. */
int cgtest_manager(struct cg_manager **ret, char **ret_root, struct qerr **err);

/* The systemd form of a cgroupfs path (aborts on a bad path: tests only). */
char *cgtest_systemd(const char *cgroupfs_path);

/* A child process that sleeps until killed (and dies with its parent). */
pid_t cgtest_spawn_sleeper(void);
/* A child running fn(arg) and exiting with its result. */
pid_t cgtest_spawn(int (*fn)(void *arg), void *arg);
/* waitpid with a deadline; -ETIMEDOUT when the child is still alive after timeout_ms. */
int cgtest_wait(pid_t pid, int timeout_ms, int *ret_status);

/* Looks for a cgroup named by either path in every cgroup hierarchy mounted (v1, the v1
 * name=systemd one, and cgroup2). Returns 1 and where it was found, or 0. */
int cgtest_find_leftover(const char *cgroupfs_path, const char *systemd_path, char **ret_where);

/* Is pid listed in the cgroup.procs of dir? */
bool cgtest_procs_has(const char *dir, pid_t pid);

/* Huge page sizes of this host as the cgroup files name them ("2MB", "1GB"), NULL-terminated. */
char **cgtest_hugepage_sizes(void);

/* Microseconds of CLOCK_MONOTONIC. */
unsigned long long cgtest_now_us(void);

/* The ActiveState of a systemd unit through `systemctl show`, or NULL. */
char *cgtest_unit_state(const char *unit);
