/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "api/pod.h"

/* Pure functions: the kubelet's QoS class, its cgroup formulas and oom_score_adj. No I/O.
 * Reference: kubelet-reference.md sections 1, 4 and 5. */

enum qos_class {
        QOS_GUARANTEED,
        QOS_BURSTABLE,
        QOS_BESTEFFORT,
        _QOS_CLASS_MAX,
        _QOS_CLASS_INVALID = -EINVAL,
};

const char *qos_class_to_string(enum qos_class c);

/* Class of a pod after defaulting (requests copied from limits). PodLevelResources is on:
 * pod-level cpu/memory decide when spec.resources is set. */
enum qos_class qos_pod_class(const struct pod *p);

#define QOS_MIN_SHARES 2
#define QOS_MAX_SHARES 262144
#define QOS_SHARES_PER_CPU 1024
#define QOS_QUOTA_PERIOD 100000
#define QOS_MIN_QUOTA_PERIOD 1000
#define QOS_MAX_WEIGHT 10000

uint64_t qos_milli_cpu_to_shares(int64_t milli);
/* 0 means "no limit". */
int64_t qos_milli_cpu_to_quota(int64_t milli, int64_t period);
int64_t qos_shares_to_milli_cpu(uint64_t shares);
int64_t qos_quota_to_milli_cpu(int64_t quota, int64_t period);

/* The kubelet's linear conversion, used for kubepods, QoS tier and pod cgroups. */
uint64_t qos_shares_to_weight_linear(uint64_t shares);
uint64_t qos_weight_to_shares_linear(uint64_t weight);
/* Today's runtimes' conversion (runc >= 1.3.2, crun >= 1.23), used for container cgroups. */
uint64_t qos_shares_to_weight_quadratic(uint64_t shares);

/* systemd's CPUQuotaPerSecUSec rounding: the quota rounded up so that quota/period is a whole
 * multiple of 10 ms per second. Quotas <= 0 are returned as they are. */
int64_t qos_systemd_round_quota(int64_t quota, int64_t period);

/* Hugepage size string of the cgroup files: 2097152 -> "2MB", 1073741824 -> "1GB". */
char *qos_hugepage_size_string(uint64_t bytes);

/* oom_score_adj for one container (section 5). `c` points into p->spec.containers or
 * p->spec.init_containers. mem_capacity is the node's memory in bytes. */
int qos_oom_score_adj(const struct pod *p, const struct container *c, uint64_t mem_capacity);
