/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "api/pod.h"
#include "api/status.h"
#include "qos/plan.h"

/* A pod as the kubelet serves it on /pods: a v1 Pod with metadata (static-pod annotations
 * and qoslet/cgroup-path), the spec as decoded (the fields qoslet reads) and the status.
 * Pure: no clock, no I/O. */

#define ANNOTATION_CGROUP_PATH "qoslet/cgroup-path"

struct podjson_input {
        const struct pod *pod;
        const char *source_kind; /* "file" or "http" */
        const struct pod_plan *plan; /* NULL when the pod could not be planned */
        enum cgroup_driver driver;
        const struct pod_status *status; /* NULL: no status yet */
        int64_t created_at; /* usec; metadata.creationTimestamp */
        int64_t deleted_at; /* usec; metadata.deletionTimestamp of a pod being stopped, or 0 */
        const int64_t *condition_times; /* _POD_CONDITION_MAX entries, or NULL */
};

json_t *podjson_pod(const struct podjson_input *in);
/* {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items} (steals items) */
json_t *podjson_list(json_t *items);
/* RFC 3339 in UTC with whole seconds, as Kubernetes prints times: 2024-05-01T10:00:00Z. */
char *podjson_time(int64_t usec);
