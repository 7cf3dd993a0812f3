/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "api/pod.h"

/* Resource arithmetic shared by the QoS formulas and the plan: exact sums of quantities (in
 * nanos) and the kubelet's pod aggregate (component-helpers resource.PodRequests/PodLimits). */

#define PODRES_NANO 1000000000
#define PODRES_NANO_PER_MILLI 1000000

/* ceil(nanos / unit), clamped to the int64 range; negative values round away from zero, as
 * Quantity.Value() and MilliValue() do. */
int64_t podres_ceil_div(__int128 nanos, int64_t unit);

static inline int64_t podres_value(__int128 nanos)
{
        return podres_ceil_div(nanos, PODRES_NANO);
}

static inline int64_t podres_milli(__int128 nanos)
{
        return podres_ceil_div(nanos, PODRES_NANO_PER_MILLI);
}

/* The entry's amount in nanos, 0 when absent. */
__int128 podres_get(const struct resource_list *l, const char *name);

/* Pod-level cpu or memory requests or limits are set (IsPodLevelResourcesSet); other names
 * in spec.resources (pids, hugepages) do not count. */
bool podres_pod_level_set(const struct pod *p);
bool podres_pod_level_requests_set(const struct pod *p);
bool podres_pod_level_limits_set(const struct pod *p);

/* Aggregate over init and regular containers with the sidecar formula: regular containers
 * and sidecars add up; each classic init container counts with the sidecars started before
 * it; the pod takes the larger of the two. ret_found tells whether any container names the
 * resource. Pod-level values are not looked at. */
__int128 podres_aggregate(const struct pod *p, bool limits, const char *name, bool *ret_found);

/* What the kubelet uses for the pod: the pod-level cpu or memory value when set (for the
 * requests or limits side respectively), else the aggregate. */
__int128 podres_pod_total(const struct pod *p, bool limits, const char *name, bool *ret_found);

/* Huge page size in bytes of a resource name "hugepages-<quantity>" (2Mi, 1Gi, 2097152),
 * 0 when the name is not one. */
uint64_t podres_hugepage_size(const char *name);
