/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cgroups/cgroups.h"
#include "qos/plan.h"
#include "runtime/podrt.h"

/* The cgroups of running pods, made from their plans: the QoS tiers (kubepods, burstable,
 * besteffort), one cgroup per pod below its tier, one per container below the pod and a leaf
 * for the pod's shim, so that the pod cgroup itself holds no process (cgroup v2 allows
 * processes only in leaves once controllers are enabled for children).
 *
 * Under the systemd driver each container and the shim get a scope of their own in the pod
 * slice ("qoslet-<pod uid>-<name>.scope"); see scope_apply in podcg.c for how a scope is
 * started before its process exists. */

/* Name of the shim's leaf below the pod cgroup. '_' cannot occur in a container name (a DNS
 * label), so it never clashes with a container's cgroup. */
#define PODCG_SHIM_LEAF "qoslet_shim"

/* How long a new scope's holder process waits for the process the scope is for (ms). */
#define PODCG_HOLD_MS 120000

/* The tiers, created (parents first) or updated with these values. The values of a tier that
 * has pods are written before a pod is added to it and after one leaves (the kubelet's order:
 * limits grow before, shrink after). */
int podcg_apply_tiers(struct cg_manager *m, const struct tiers_plan *t, struct qerr **err);

/* Creates the pod cgroup with the plan's values. The tiers must exist (podcg_apply_tiers). */
int podcg_create_pod(struct cg_manager *m, const struct pod_plan *plan, struct qerr **err);

/* Kills what is left in the pod cgroup and removes it with its children. 0 when it did not
 * exist, 1 when it was removed. */
int podcg_destroy_pod(struct cg_manager *m, const char *cgroupfs, const char *systemd,
                      struct qerr **err);

/* Where the processes of a cgroup go: the v2 directory (cgroup v2 only), the v1 cgroup.procs
 * files of every hierarchy the cgroup exists in, and the file with the oom_kill count. */
int podcg_target(struct cg_manager *m, const char *cgroupfs, const char *systemd,
                 struct cgroup_target *ret, struct qerr **err);

/* The pod_cgroup_ops of one pod: binds a manager and the pod's plan (both must outlive the
 * pod's runtime). The container and shim callbacks create their cgroups on demand. */
struct podcg_pod {
        struct cg_manager *m;
        const struct pod_plan *plan;
};

void podcg_pod_ops(struct podcg_pod *pp, struct pod_cgroup_ops *ret);

/* The container's plan, by name; NULL when the plan has none. */
const struct container_plan *podcg_container_plan(const struct pod_plan *plan, const char *name);
