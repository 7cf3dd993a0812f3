/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* Test helpers for namespaces and containers (root tests). */

/* A fresh temporary directory under /tmp ("qoslet-test-<tag>-XXXXXX"); caller frees. */
char *test_tmpdir_tagged(const char *tag);

/* A container rootfs in dir/rootfs: Debian's busybox-static as /bin/busybox plus a symlink per
 * applet in /bin. Returns the rootfs path; caller frees. Aborts the test when busybox is
 * missing. */
char *test_busybox_rootfs(const char *dir);

/* Removes a tree made by a test, first detaching any mount left under it. */
void test_rm_rf(const char *path);

/* Reads all of fd into a NUL-terminated buffer; caller frees. */
char *test_read_fd(int fd);

/* Reads a small file; NULL when it cannot. */
char *test_read_file(const char *path);

/* The inode a /proc/PID/ns/NAME link points to, as "net:[4026531840]". */
char *test_ns_link(pid_t pid, const char *name);

/* True when /sys/fs/cgroup is cgroup2 (the v2 VM), false on a v1 or hybrid host. */
bool test_cgroup_unified(void);

/* A cgroup made by the test: v2 (the VM's /sys/fs/cgroup or the hybrid host's
 * /sys/fs/cgroup/unified) and, on a v1 host, the pids controller's. */
struct test_cgroup {
        char *v2; /* directory or NULL */
        char *v1_pids; /* directory or NULL */
        char *v1_memory; /* directory or NULL */
};
void test_cgroup_make(struct test_cgroup *cg, const char *tag);
/* A cgroup with the memory controller: v2 (enabling it in the root's subtree_control) or the
 * v1 memory hierarchy's. */
void test_cgroup_make_memory(struct test_cgroup *cg, const char *tag);
/* Kills whatever is left in it and removes it. */
void test_cgroup_remove(struct test_cgroup *cg);
/* True when pid's /proc/PID/cgroup lists the directory (as a path below its hierarchy). */
bool test_pid_in_cgroup(pid_t pid, const char *dir);
