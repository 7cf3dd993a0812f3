/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "api/pod.h"
#include "qos/qos.h"

/* The resource plan: for a pod, the exact strings the kubelet (and the OCI runtime under it)
 * would write into each cgroup file. v2 file names are bare ("cpu.max"); v1 names carry the
 * controller ("cpu/cpu.shares"). Files that would not be written are absent. */

enum cgroup_driver {
        CGROUP_DRIVER_CGROUPFS,
        CGROUP_DRIVER_SYSTEMD,
        _CGROUP_DRIVER_MAX,
        _CGROUP_DRIVER_INVALID = -EINVAL,
};

const char *cgroup_driver_to_string(enum cgroup_driver d);
enum cgroup_driver cgroup_driver_from_string(const char *s);

struct cg_file {
        char *name;
        char *value;
};

struct cg_values {
        struct cg_file *files;
        size_t n;
};

/* NULL when absent. */
const char *cg_values_get(const struct cg_values *v, const char *name);
void cg_values_done(struct cg_values *v);

/* What the plan needs to know of the node. */
struct node_info {
        uint64_t memory_capacity; /* bytes */
        int64_t cpu_capacity_milli;
        int64_t pid_capacity; /* min(kernel.pid_max, kernel.threads-max); 0: unknown */
        uint64_t *hugepage_sizes; /* bytes, ascending */
        uint64_t *hugepage_totals; /* bytes of huge pages of each size on the node */
        size_t n_hugepage_sizes;
        /* reservations (systemReserved + kubeReserved) */
        int64_t reserved_cpu_milli;
        uint64_t reserved_memory;
        int64_t reserved_pids;
        char *cgroup_root; /* "/" by default */
        enum cgroup_driver driver;
        int64_t pod_pids_limit; /* <= 0: unset */
};

void node_info_done(struct node_info *n);
/* Reads this machine's memory, CPUs, pid limit and huge page sizes. */
int node_info_from_host(struct node_info *ret, struct qerr **err);

struct container_plan {
        char *name;
        bool init, sidecar;
        int oom_score_adj;
        struct cg_values v2, v1;
};

struct pod_plan {
        enum qos_class qos;
        char *cgroupfs; /* pod cgroup path, e.g. /kubepods/burstable/pod<uid> */
        char *systemd; /* /kubepods.slice/kubepods-burstable.slice/...slice */
        struct cg_values v2, v1;
        struct container_plan *containers; /* init containers first, then regular ones */
        size_t n_containers;
        int64_t cpu_request_milli; /* pod totals, for the tiers */
        uint64_t memory_request;
};

struct tier_plan {
        char *name; /* "kubepods", "burstable", "besteffort" */
        char *cgroupfs; /* /kubepods, /kubepods/burstable, ... */
        char *systemd;
        struct cg_values v2, v1;
};

struct tiers_plan {
        struct tier_plan kubepods, burstable, besteffort;
};

int plan_pod(const struct pod *p, const struct node_info *node, struct pod_plan *ret,
             struct qerr **err);
void pod_plan_done(struct pod_plan *p);

/* Tier values with these pods running. */
int plan_tiers(const struct pod_plan *pods, size_t n_pods, const struct node_info *node,
               struct tiers_plan *ret, struct qerr **err);
void tiers_plan_done(struct tiers_plan *t);

/* Cgroup names (section 3). The cgroup root is "/" or a path; the result is a path beginning
 * with "/". */
char *cgroup_name_kubepods(const char *root, enum cgroup_driver d);
char *cgroup_name_tier(const char *root, enum qos_class c, enum cgroup_driver d);
char *cgroup_name_pod(const char *root, enum qos_class c, const char *uid, enum cgroup_driver d);
/* systemd conversion of a list of components: [kubepods, burstable] ->
 * /kubepods.slice/kubepods-burstable.slice. */
char *cgroup_name_to_systemd(char *const *components, size_t n);
