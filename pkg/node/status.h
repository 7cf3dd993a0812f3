/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "api/pod.h"
#include "api/status.h"
#include "node/backoff.h"
#include "node/runtime-ops.h"

/* Pure functions: the kubelet's pod status from the spec, what the runtime reports and the
 * restart back-off (kubelet-reference.md sections 8 and 9). No I/O, no clock: `now` is an
 * argument, so every rule is a table-driven test. */

/* Whether a container that ended with exit_code is started again: regular containers by the
 * pod's restartPolicy (Always; OnFailure when exit_code != 0; Never), sidecars always,
 * regular init containers unless the pod's policy is Never and only after a failure. */
bool status_should_restart(const struct pod_spec *spec, const struct container *c, bool is_init,
                           int exit_code);

/* The terminated reason containerd gives: OOMKilled, Completed (exit 0) or Error. */
const char *status_terminated_reason(int exit_code, bool oom_killed);

/* A duration the way Go prints it: "10s", "1m20s", "5m0s", "1h0m0s" (whole seconds). */
char *status_go_duration(int64_t usec);

/* "back-off 20s restarting failed container=web pod=web-node1_default(<uid>)" */
char *status_crashloop_message(int64_t delay, const char *container, const struct pod *p);

/* getPhase: the phase from the spec and the container statuses (matched by name; a
 * container without a status entry is unknown). Static pods never take the terminal phase
 * from pod_is_terminal; qoslet's pods are all static. */
enum pod_phase status_pod_phase(const struct pod_spec *spec, const struct container_status *init,
                                size_t n_init, const struct container_status *regular,
                                size_t n_regular, bool pod_is_terminal, bool is_static);

/* Whether any regular container ran (running, terminated, or waiting after a termination). */
bool status_any_regular_started(const struct pod_spec *spec, const struct container_status *cs,
                                size_t n);

/* The five conditions the kubelet sets, in its order. sandbox_ready gives
 * PodReadyToStartContainers. Returns -ENOMEM or 0; ret is filled either way. */
int status_pod_conditions(const struct pod_spec *spec, const struct container_status *init,
                          size_t n_init, const struct container_status *regular, size_t n_regular,
                          enum pod_phase phase, bool sandbox_ready,
                          struct pod_condition ret[_POD_CONDITION_MAX]);

struct status_context {
        const struct pod *pod;
        int64_t now;
        int64_t start_time; /* when the node accepted the pod */
        const char *host_ip;
};

/* One container's status from the runtime's view (NULL: nothing created yet) and its
 * back-off entry (NULL: none). */
int status_container(const struct status_context *ctx, const struct container *c, bool is_init,
                     const struct runtime_container *rc, const struct backoff *bo,
                     struct container_status *ret);

/* The whole pod status. init_bo and bo hold one back-off entry per init and regular
 * container in spec order, or are NULL. */
int status_pod(const struct status_context *ctx, const struct runtime_pod_status *rt,
               const struct backoff *init_bo, const struct backoff *bo, struct pod_status *ret);
