/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "basic/error.h"
#include "qos/plan.h"

/* Enforcement of a plan in real cgroups. One manager per process; three drivers behind it:
 * cgroup v2 cgroupfs, cgroup v1 cgroupfs (hybrid hosts included) and systemd over sd-bus.
 *
 * A cgroup is named the way the plan names it, by both of its paths: the cgroupfs one
 * ("/kubepods/burstable/pod<uid>") and the systemd one
 * ("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice"). The
 * manager uses the one of its driver. Paths include the cgroup root; every path must lie in
 * its tree (the root itself included, unless it is "/"), so that a manager never touches a
 * cgroup outside it.
 *
 * Values are given for both hierarchies (v2 names "cpu.max", v1 names "cpu/cpu.shares"); the
 * manager writes the set of its mode. A file of a controller the host lacks is skipped, as
 * the kubelet skips it, and named in the `ret_skipped` list (NULL-terminated, may be empty;
 * pass NULL when not wanted). */

enum cg_mode {
        CG_MODE_UNIFIED, /* cgroup v2 only */
        CG_MODE_HYBRID, /* v1 controllers, plus a cgroup2 mount with few or no controllers */
        CG_MODE_LEGACY, /* v1 only */
        _CG_MODE_MAX,
        _CG_MODE_INVALID = -EINVAL,
};

const char *cg_mode_to_string(enum cg_mode m);

/* Mode of this host, from /proc/self/mountinfo. */
int cg_mode(enum cg_mode *ret, struct qerr **err);
/* Mode from the text of a mountinfo file. ENOMEDIUM when no cgroup hierarchy is mounted. */
int cg_mode_from_mountinfo(const char *text, enum cg_mode *ret, struct qerr **err);

struct cg_manager;

/* driver: "auto" (systemd when it is PID 1 and its bus answers, else cgroupfs), "cgroupfs" or
 * "systemd". cgroup_root: "/" (or NULL) or an absolute path, like kubelet --cgroup-root. */
int cg_manager_new(const char *driver, const char *cgroup_root, struct cg_manager **ret,
                   struct qerr **err);
void cg_manager_free(struct cg_manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct cg_manager *, cg_manager_free)
#define _cleanup_cg_manager_ _cleanup_(cg_manager_freep)

enum cg_mode cg_manager_mode(const struct cg_manager *m);
/* "cgroupfs" or "systemd". */
const char *cg_manager_driver(const struct cg_manager *m);
/* The cgroup root in cgroupfs form and in systemd form ("/" -> "/"; "/a-b" -> "/a_b.slice"). */
const char *cg_manager_root(const struct cg_manager *m);
const char *cg_manager_systemd_root(const struct cg_manager *m);

/* Creates the cgroup (and any missing parent, parents first) and writes the values of the
 * manager's mode. pid > 0 is then attached. Under systemd a slice path gives a slice unit and a
 * ".scope" path a scope unit; systemd starts a scope only around a process, so a scope needs
 * pid > 0 (EINVAL otherwise). An existing cgroup is updated in place. */
int cg_apply(struct cg_manager *m, const char *cgroupfs_path, const char *systemd_path,
             const struct cg_values *v2, const struct cg_values *v1, pid_t pid, char ***ret_skipped,
             struct qerr **err);

/* Writes new values into an existing cgroup (ENOENT when it does not exist). */
int cg_update(struct cg_manager *m, const char *cgroupfs_path, const char *systemd_path,
              const struct cg_values *v2, const struct cg_values *v1, char ***ret_skipped,
              struct qerr **err);

/* Moves a process into the cgroup, in every hierarchy the manager uses. */
int cg_attach(struct cg_manager *m, const char *cgroupfs_path, const char *systemd_path, pid_t pid,
              struct qerr **err);

/* A directory fd of the v2 cgroup (for clone3 CLONE_INTO_CGROUP). EOPNOTSUPP on v1. */
int cg_open_dir(struct cg_manager *m, const char *cgroupfs_path, const char *systemd_path,
                int *ret_fd, struct qerr **err);

struct cg_stats {
        uint64_t cpu_usage_ns;
        uint64_t cpu_nr_periods, cpu_nr_throttled, cpu_throttled_us;
        uint64_t memory_current;
        /* v2: "oom" of memory.events (times the limit was hit and the OOM killer ran);
         * v1: "under_oom" of memory.oom_control (1 while the cgroup is under OOM). */
        uint64_t oom;
        /* v2: "oom_kill" of memory.events; v1: "oom_kill" of memory.oom_control. */
        uint64_t oom_kill;
        uint64_t pids_current;
};

/* Reads the usage of a cgroup; a figure whose file is missing (controller not enabled) is 0. */
int cg_stats(struct cg_manager *m, const char *cgroupfs_path, const char *systemd_path,
             struct cg_stats *ret, struct qerr **err);

/* Kills every process left in the cgroup and its children (cgroup.kill where the kernel has
 * it, else freeze and SIGKILL), waits until they are gone (bounded back-off), and removes the
 * cgroup depth-first, children qoslet did not create included. The stats read before anything
 * is killed go to ret_final (when not NULL). Returns 1 when the cgroup was removed, 0 when it
 * did not exist (ENOENT is success). */
int cg_destroy(struct cg_manager *m, const char *cgroupfs_path, const char *systemd_path,
               struct cg_stats *ret_final, struct qerr **err);

/* Reads one file of the cgroup, named as in the values ("memory.max", "memory/memory.stat");
 * the final newline is stripped. */
int cg_read(struct cg_manager *m, const char *cgroupfs_path, const char *systemd_path,
            const char *name, char **ret, struct qerr **err);
/* The filesystem path of that file. */
int cg_file_path(struct cg_manager *m, const char *cgroupfs_path, const char *systemd_path,
                 const char *name, char **ret, struct qerr **err);

struct cg_pod_ref {
        char *uid;
        char *cgroupfs; /* path in the form of the manager's driver ... */
        char *systemd; /* ... and the other, both derived from the name found */
};

void cg_pod_refs_free(struct cg_pod_ref *refs, size_t n);

/* Pod cgroups found under one QoS tier (for Guaranteed pods, kubepods itself), for adoption
 * or clean-up at start-up. A tier that does not exist gives an empty list. */
int cg_list_pods(struct cg_manager *m, const char *tier_cgroupfs, const char *tier_systemd,
                 struct cg_pod_ref **ret, size_t *ret_n, struct qerr **err);

/* Paths of a container's cgroup: "<pod>/<id>" and "<pod slice>/qoslet-<id>.scope". */
int cg_container_paths(const char *pod_cgroupfs, const char *pod_systemd, const char *id,
                       char **ret_cgroupfs, char **ret_systemd, struct qerr **err);

/* The kubelet's systemd form of a cgroupfs path: every component with '-' turned into '_',
 * joined with '-', ".slice" appended and expanded: "/kubepods/burstable" ->
 * "/kubepods.slice/kubepods-burstable.slice". "/" stays "/". */
int cg_path_to_systemd(const char *cgroupfs_path, char **ret, struct qerr **err);

/* "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice"; "-.slice" -> "/". */
int cg_systemd_expand_slice(const char *slice, char **ret, struct qerr **err);

/* The unit of a systemd path and the slice it lives in: "/a.slice/a-b.slice" -> "a-b.slice"
 * in "a.slice"; "/a.slice" -> "a.slice" in "-.slice". */
int cg_systemd_unit_of(const char *systemd_path, char **ret_unit, char **ret_parent,
                       struct qerr **err);

/* A value of a flat keyed file ("key value" lines: memory.events, cpu.stat,
 * memory.oom_control). ENOENT when the key is absent. */
int cg_parse_keyed(const char *text, const char *key, uint64_t *ret);
