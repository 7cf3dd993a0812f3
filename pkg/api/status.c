/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "api/status.h"

static const char *const phase_names[_POD_PHASE_MAX] = {
        [POD_PHASE_PENDING] = "Pending",     [POD_PHASE_RUNNING] = "Running",
        [POD_PHASE_SUCCEEDED] = "Succeeded", [POD_PHASE_FAILED] = "Failed",
        [POD_PHASE_UNKNOWN] = "Unknown",
};

const char *pod_phase_to_string(enum pod_phase p)
{
        return p >= 0 && p < _POD_PHASE_MAX ? phase_names[p] : NULL;
}

enum pod_phase pod_phase_from_string(const char *s)
{
        for (int i = 0; s && i < _POD_PHASE_MAX; i++)
                if (strcmp(phase_names[i], s) == 0)
                        return i;
        return _POD_PHASE_INVALID;
}

const char *condition_status_to_string(enum condition_status s)
{
        switch (s) {
        case CONDITION_FALSE:
                return "False";
        case CONDITION_TRUE:
                return "True";
        default:
                return "Unknown";
        }
}

static const char *const condition_names[_POD_CONDITION_MAX] = {
        [POD_CONDITION_READY_TO_START_CONTAINERS] = "PodReadyToStartContainers",
        [POD_CONDITION_INITIALIZED] = "Initialized",
        [POD_CONDITION_READY] = "Ready",
        [POD_CONDITION_CONTAINERS_READY] = "ContainersReady",
        [POD_CONDITION_SCHEDULED] = "PodScheduled",
};

const char *pod_condition_type_to_string(enum pod_condition_type t)
{
        return t < _POD_CONDITION_MAX ? condition_names[t] : NULL;
}

void container_state_done(struct container_state *s)
{
        free(s->reason);
        free(s->message);
        free(s->container_id);
        *s = (struct container_state){ 0 };
}

void container_status_done(struct container_status *s)
{
        free(s->name);
        free(s->image);
        free(s->image_id);
        free(s->container_id);
        container_state_done(&s->state);
        container_state_done(&s->last_state);
        *s = (struct container_status){ 0 };
}

void pod_condition_done(struct pod_condition *c)
{
        free(c->reason);
        free(c->message);
        c->reason = c->message = NULL;
}

static void statuses_free(struct container_status *l, size_t n)
{
        for (size_t i = 0; i < n; i++)
                container_status_done(&l[i]);
        free(l);
}

void pod_status_done(struct pod_status *s)
{
        free(s->reason);
        free(s->message);
        for (size_t i = 0; i < _POD_CONDITION_MAX; i++)
                pod_condition_done(&s->conditions[i]);
        free(s->host_ip);
        free(s->pod_ip);
        statuses_free(s->init_statuses, s->n_init_statuses);
        statuses_free(s->statuses, s->n_statuses);
        *s = (struct pod_status){ 0 };
}

static int dup_opt(const char *s, char **ret)
{
        *ret = NULL;
        if (!s)
                return 0;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

int container_state_copy(const struct container_state *s, struct container_state *ret)
{
        struct container_state c = *s;
        c.reason = c.message = c.container_id = NULL;
        if (dup_opt(s->reason, &c.reason) < 0 || dup_opt(s->message, &c.message) < 0 ||
            dup_opt(s->container_id, &c.container_id) < 0) {
                container_state_done(&c);
                *ret = (struct container_state){ 0 };
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}
