/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <stdint.h>

/* `kubectl get pods` columns from a v1 Pod (JSON as /pods serves it): READY, STATUS,
 * RESTARTS and AGE computed the way kubectl's printer does. Pure; `now` in seconds. */

struct pod_row {
        char *namespace, *name, *ready, *status, *restarts, *age, *qos;
        char *ip, *node, *uid, *cgroup;
};

int podtable_row(json_t *pod, int64_t now, struct pod_row *ret);
void pod_row_done(struct pod_row *r);

/* kubectl's HumanDuration: "45s", "2m5s", "15m", "3h20m", "2d5h", "3y20d" ... */
char *podtable_human_duration(int64_t seconds);

/* "2024-05-01T10:00:00Z" to seconds since the epoch; -1 when it does not parse. */
int64_t podtable_parse_time(const char *s);
