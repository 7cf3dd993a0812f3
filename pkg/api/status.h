/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/macro.h"

/* Pod status types, as the kubelet reports them in v1 PodStatus. Times are wall-clock
 * microseconds since the epoch (CLOCK_REALTIME), 0 when unset. Strings are owned and freed
 * by the *_done() functions; NULL means absent. */

enum pod_phase {
        POD_PHASE_PENDING,
        POD_PHASE_RUNNING,
        POD_PHASE_SUCCEEDED,
        POD_PHASE_FAILED,
        POD_PHASE_UNKNOWN,
        _POD_PHASE_MAX,
        _POD_PHASE_INVALID = -EINVAL,
};

const char *pod_phase_to_string(enum pod_phase p);
enum pod_phase pod_phase_from_string(const char *s);

enum container_state_kind {
        CONTAINER_STATE_NONE, /* no state: a lastState that never was */
        CONTAINER_STATE_WAITING,
        CONTAINER_STATE_RUNNING,
        CONTAINER_STATE_TERMINATED,
};

struct container_state {
        enum container_state_kind kind;
        char *reason; /* waiting and terminated */
        char *message;
        int exit_code; /* terminated */
        int signal; /* terminated: the signal that ended the process, 0 if none */
        int64_t started_at; /* running and terminated */
        int64_t finished_at; /* terminated */
        char *container_id; /* terminated */
};

struct container_status {
        char *name;
        char *image;
        char *image_id;
        char *container_id; /* "qoslet://<id>", NULL before the container exists */
        struct container_state state, last_state;
        bool ready;
        bool started; /* the startup probe passed, or there is none and it runs */
        unsigned restart_count;
};

enum condition_status {
        CONDITION_FALSE,
        CONDITION_TRUE,
        CONDITION_UNKNOWN,
};

const char *condition_status_to_string(enum condition_status s);

/* The conditions the kubelet sets, in the order it sets them. */
enum pod_condition_type {
        POD_CONDITION_READY_TO_START_CONTAINERS,
        POD_CONDITION_INITIALIZED,
        POD_CONDITION_READY,
        POD_CONDITION_CONTAINERS_READY,
        POD_CONDITION_SCHEDULED,
        _POD_CONDITION_MAX,
};

const char *pod_condition_type_to_string(enum pod_condition_type t);

struct pod_condition {
        enum pod_condition_type type;
        enum condition_status status;
        char *reason;
        char *message;
        int64_t last_transition; /* 0: unset */
};

struct pod_status {
        enum pod_phase phase;
        char *reason, *message;
        struct pod_condition conditions[_POD_CONDITION_MAX];
        char *host_ip, *pod_ip;
        int64_t start_time;
        struct container_status *init_statuses;
        size_t n_init_statuses;
        struct container_status *statuses;
        size_t n_statuses;
};

void container_state_done(struct container_state *s);
void container_status_done(struct container_status *s);
void pod_condition_done(struct pod_condition *c);
void pod_status_done(struct pod_status *s);

/* Deep copies; return -ENOMEM (and leave ret zeroed) when out of memory. */
int container_state_copy(const struct container_state *s, struct container_state *ret);
