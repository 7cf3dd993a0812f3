/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <string.h>

#include "helpers/pod-builder.h"
#include "node/backoff.h"
#include "node/status.h"

/* Pod phase, conditions, container states and the restart back-off, against the kubelet's
 * rules (kubelet-reference.md sections 8, 9 and vector 11.O). */

#define S (USEC_PER_SEC)

/* A compact container status: "-" none, "W" waiting, "W>0" / "W>1" waiting after a
 * termination with that exit code, "R" running (started), "R?" running not started,
 * "T0" / "T1" terminated with that exit code. */
static void fill_status(struct container_status *s, const char *name, const char *code)
{
        *s = (struct container_status){ .name = (char *)name };
        switch (code[0]) {
        case 'W':
                s->state.kind = CONTAINER_STATE_WAITING;
                if (code[1] == '>') {
                        s->last_state.kind = CONTAINER_STATE_TERMINATED;
                        s->last_state.exit_code = atoi(code + 2);
                }
                break;
        case 'R':
                s->state.kind = CONTAINER_STATE_RUNNING;
                s->started = code[1] != '?';
                s->ready = s->started;
                break;
        case 'T':
                s->state.kind = CONTAINER_STATE_TERMINATED;
                s->state.exit_code = atoi(code + 1);
                s->ready = s->state.exit_code == 0;
                break;
        }
}

/* Containers are given as "name:code" words: init containers first, "|" then regular ones;
 * a name starting with "sc" is a sidecar. Statuses with code "-" are left out. */
struct phase_case {
        enum restart_policy policy;
        const char *layout;
        bool terminal, is_static;
        enum pod_phase want;
};

struct built {
        struct pod *pod;
        struct container_status init[8], regular[8];
        size_t n_init, n_regular;
        char words[256];
};

static void build(struct built *b, enum restart_policy policy, const char *layout)
{
        *b = (struct built){ .pod = pod_builder_new("p", "uid-1") };
        b->pod->spec.restart_policy = policy;
        snprintf(b->words, sizeof(b->words), "%s", layout);
        bool init = true;
        char *save = NULL;
        for (char *w = strtok_r(b->words, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
                if (strcmp(w, "|") == 0) {
                        init = false;
                        continue;
                }
                char *colon = strchr(w, ':');
                cr_assert_not_null(colon, "bad word '%s'", w);
                *colon = 0;
                const char *code = colon + 1;
                if (init)
                        pod_builder_add_init_container(b->pod, w, strncmp(w, "sc", 2) == 0, -1, -1,
                                                       -1, -1);
                else
                        pod_builder_add_container(b->pod, w, -1, -1, -1, -1);
                if (strcmp(code, "-") == 0)
                        continue;
                if (init) {
                        struct container_status *s = &b->init[b->n_init++];
                        fill_status(s, w, code);
                        /* a regular init container is ready only once it completed */
                        if (strncmp(w, "sc", 2) != 0 && s->state.kind == CONTAINER_STATE_RUNNING)
                                s->ready = false;
                } else
                        fill_status(&b->regular[b->n_regular++], w, code);
        }
}

static const struct phase_case phase_cases[] = {
        { RESTART_POLICY_ALWAYS, "| c:-", false, true, POD_PHASE_PENDING },
        { RESTART_POLICY_ALWAYS, "| c:W", false, true, POD_PHASE_PENDING },
        { RESTART_POLICY_ALWAYS, "| c:R", false, true, POD_PHASE_RUNNING },
        { RESTART_POLICY_ALWAYS, "| c:T0", false, true, POD_PHASE_RUNNING },
        { RESTART_POLICY_ALWAYS, "| c:W>1", false, true, POD_PHASE_RUNNING },
        { RESTART_POLICY_ON_FAILURE, "| c:T0", false, true, POD_PHASE_SUCCEEDED },
        { RESTART_POLICY_ON_FAILURE, "| c:T1", false, true, POD_PHASE_RUNNING },
        { RESTART_POLICY_ON_FAILURE, "| c:W>1", false, true, POD_PHASE_RUNNING },
        { RESTART_POLICY_NEVER, "| c:T0", false, true, POD_PHASE_SUCCEEDED },
        { RESTART_POLICY_NEVER, "| c:T1", false, true, POD_PHASE_FAILED },
        { RESTART_POLICY_NEVER, "| a:T0 b:T1", false, true, POD_PHASE_FAILED },
        { RESTART_POLICY_NEVER, "| a:T0 b:R", false, true, POD_PHASE_RUNNING },
        { RESTART_POLICY_ALWAYS, "| a:R b:-", false, true, POD_PHASE_PENDING },
        { RESTART_POLICY_ALWAYS, "| a:R b:W", false, true, POD_PHASE_PENDING },
        /* init containers */
        { RESTART_POLICY_ALWAYS, "i:- | c:W", false, true, POD_PHASE_PENDING },
        { RESTART_POLICY_ALWAYS, "i:R | c:W", false, true, POD_PHASE_PENDING },
        { RESTART_POLICY_ALWAYS, "i:T0 | c:R", false, true, POD_PHASE_RUNNING },
        { RESTART_POLICY_NEVER, "i:T1 | c:W", false, true, POD_PHASE_FAILED },
        { RESTART_POLICY_NEVER, "i:W>1 | c:W", false, true, POD_PHASE_FAILED },
        { RESTART_POLICY_ALWAYS, "i:W>1 | c:W", false, true, POD_PHASE_PENDING },
        { RESTART_POLICY_ON_FAILURE, "i:T1 | c:W", false, true, POD_PHASE_PENDING },
        /* sidecars */
        { RESTART_POLICY_ALWAYS, "sc:R? | c:W", false, true, POD_PHASE_PENDING },
        { RESTART_POLICY_ALWAYS, "sc:R | c:W", false, true, POD_PHASE_PENDING },
        { RESTART_POLICY_ALWAYS, "sc:R | c:R", false, true, POD_PHASE_RUNNING },
        { RESTART_POLICY_ALWAYS, "sc:- | c:R", false, true, POD_PHASE_PENDING },
        { RESTART_POLICY_ALWAYS, "sc:W>1 | c:R", false, true, POD_PHASE_RUNNING },
        { RESTART_POLICY_ALWAYS, "sc:W | c:R", false, true, POD_PHASE_PENDING },
        /* a sidecar restarting after the pod was initialized does not make it Pending */
        { RESTART_POLICY_ALWAYS, "sc:R? | c:W>1", false, true, POD_PHASE_RUNNING },
        { RESTART_POLICY_NEVER, "sc:R | c:T0", false, true, POD_PHASE_RUNNING },
        { RESTART_POLICY_ON_FAILURE, "sc:T1 | c:T0", false, true, POD_PHASE_SUCCEEDED },
        { RESTART_POLICY_NEVER, "sc:T0 | c:T1", false, true, POD_PHASE_FAILED },
        /* terminal pods: only pods that are not static take the terminal phase at once */
        { RESTART_POLICY_ALWAYS, "| c:T1", true, false, POD_PHASE_FAILED },
        { RESTART_POLICY_ALWAYS, "| c:T0", true, false, POD_PHASE_SUCCEEDED },
        { RESTART_POLICY_ALWAYS, "| c:T1", true, true, POD_PHASE_RUNNING },
};

Test(status, pod_phase_table)
{
        for (size_t i = 0; i < ELEMENTSOF(phase_cases); i++) {
                const struct phase_case *c = &phase_cases[i];
                struct built b;
                build(&b, c->policy, c->layout);
                enum pod_phase got = status_pod_phase(&b.pod->spec, b.init, b.n_init, b.regular,
                                                      b.n_regular, c->terminal, c->is_static);
                cr_expect_eq(got, c->want, "case %zu '%s' (%s): got %s, want %s", i, c->layout,
                             restart_policy_to_string(c->policy), pod_phase_to_string(got),
                             pod_phase_to_string(c->want));
                pod_free(b.pod);
        }
}

struct cond_case {
        const char *layout;
        enum pod_phase phase;
        bool sandbox;
        /* status letter (T/F) and reason for Initialized, ContainersReady */
        const char *initialized, *init_reason, *init_message;
        const char *ready, *ready_reason, *ready_message;
};

static const struct cond_case cond_cases[] = {
        { "| a:W b:W", POD_PHASE_PENDING, false, "T", NULL, NULL, "F", "ContainersNotReady",
          "containers with unready status: [a b]" },
        { "| a:R b:-", POD_PHASE_PENDING, true, "T", NULL, NULL, "F", "ContainersNotReady",
          "containers with unknown status: [b]" },
        { "| a:R b:W", POD_PHASE_PENDING, true, "T", NULL, NULL, "F", "ContainersNotReady",
          "containers with unready status: [b]" },
        { "| a:R b:R", POD_PHASE_RUNNING, true, "T", NULL, NULL, "T", NULL, NULL },
        { "i:W | c:W", POD_PHASE_PENDING, true, "F", "ContainersNotInitialized",
          "containers with incomplete status: [i]", "F", "ContainersNotReady",
          "containers with unready status: [c]" },
        { "i:- j:R | c:W", POD_PHASE_PENDING, true, "F", "ContainersNotInitialized",
          "containers with unknown status: [i], containers with incomplete status: [j]", "F",
          "ContainersNotReady", "containers with unready status: [c]" },
        { "i:T0 | c:R", POD_PHASE_RUNNING, true, "T", NULL, NULL, "T", NULL, NULL },
        { "sc:R? | c:W", POD_PHASE_PENDING, true, "F", "ContainersNotInitialized",
          "containers with incomplete status: [sc]", "F", "ContainersNotReady",
          "containers with unready status: [sc c]" },
        { "sc:R? | c:W>1", POD_PHASE_RUNNING, true, "T", NULL, NULL, "F", "ContainersNotReady",
          "containers with unready status: [sc c]" },
        { "| c:T0", POD_PHASE_SUCCEEDED, false, "T", "PodCompleted", NULL, "F", "PodCompleted",
          NULL },
        { "| c:T1", POD_PHASE_FAILED, false, "T", NULL, NULL, "F", "PodFailed", NULL },
};

static void expect_cond(const struct pod_condition *c, const char *st, const char *reason,
                        const char *message, size_t i)
{
        const char *name = pod_condition_type_to_string(c->type);
        cr_expect_eq(c->status, st[0] == 'T' ? CONDITION_TRUE : CONDITION_FALSE,
                     "case %zu: %s status %s, want %s", i, name,
                     condition_status_to_string(c->status), st);
        cr_expect(reason ? c->reason && strcmp(c->reason, reason) == 0 : !c->reason,
                  "case %zu: %s reason '%s', want '%s'", i, name, c->reason ? c->reason : "",
                  reason ? reason : "");
        cr_expect(message ? c->message && strcmp(c->message, message) == 0 : !c->message,
                  "case %zu: %s message '%s', want '%s'", i, name, c->message ? c->message : "",
                  message ? message : "");
}

Test(status, pod_conditions_table)
{
        for (size_t i = 0; i < ELEMENTSOF(cond_cases); i++) {
                const struct cond_case *c = &cond_cases[i];
                struct built b;
                build(&b, RESTART_POLICY_ALWAYS, c->layout);
                struct pod_condition conds[_POD_CONDITION_MAX];
                cr_assert_eq(status_pod_conditions(&b.pod->spec, b.init, b.n_init, b.regular,
                                                   b.n_regular, c->phase, c->sandbox, conds),
                             0);
                static const enum pod_condition_type order[] = {
                        POD_CONDITION_READY_TO_START_CONTAINERS, POD_CONDITION_INITIALIZED,
                        POD_CONDITION_READY, POD_CONDITION_CONTAINERS_READY, POD_CONDITION_SCHEDULED
                };
                for (size_t k = 0; k < ELEMENTSOF(order); k++)
                        cr_expect_eq(conds[k].type, order[k], "case %zu: condition order", i);
                expect_cond(&conds[POD_CONDITION_READY_TO_START_CONTAINERS], c->sandbox ? "T" : "F",
                            NULL, NULL, i);
                expect_cond(&conds[POD_CONDITION_INITIALIZED], c->initialized, c->init_reason,
                            c->init_message, i);
                expect_cond(&conds[POD_CONDITION_CONTAINERS_READY], c->ready, c->ready_reason,
                            c->ready_message, i);
                expect_cond(&conds[POD_CONDITION_READY], c->ready, c->ready_reason,
                            c->ready_message, i);
                expect_cond(&conds[POD_CONDITION_SCHEDULED], "T", NULL, NULL, i);
                for (size_t k = 0; k < _POD_CONDITION_MAX; k++)
                        pod_condition_done(&conds[k]);
                pod_free(b.pod);
        }
}

Test(status, should_restart_table)
{
        static const struct {
                enum restart_policy policy;
                bool init, sidecar;
                int exit_code;
                bool want;
        } cases[] = {
                { RESTART_POLICY_ALWAYS, false, false, 0, true },
                { RESTART_POLICY_ALWAYS, false, false, 1, true },
                { RESTART_POLICY_UNSET, false, false, 0, true },
                { RESTART_POLICY_ON_FAILURE, false, false, 0, false },
                { RESTART_POLICY_ON_FAILURE, false, false, 137, true },
                { RESTART_POLICY_NEVER, false, false, 1, false },
                { RESTART_POLICY_ALWAYS, true, false, 0, false },
                { RESTART_POLICY_ALWAYS, true, false, 1, true },
                { RESTART_POLICY_ON_FAILURE, true, false, 1, true },
                { RESTART_POLICY_NEVER, true, false, 1, false },
                { RESTART_POLICY_NEVER, true, true, 0, true },
                { RESTART_POLICY_NEVER, true, true, 1, true },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_pod_ struct pod *p = pod_builder_new("p", "u");
                p->spec.restart_policy = cases[i].policy;
                struct container *c = cases[i].init
                                              ? pod_builder_add_init_container(
                                                        p, "c", cases[i].sidecar, -1, -1, -1, -1)
                                              : pod_builder_add_container(p, "c", -1, -1, -1, -1);
                cr_expect_eq(status_should_restart(&p->spec, c, cases[i].init, cases[i].exit_code),
                             cases[i].want, "case %zu", i);
        }
}

Test(status, terminated_reasons_and_durations)
{
        cr_expect_str_eq(status_terminated_reason(0, false), "Completed");
        cr_expect_str_eq(status_terminated_reason(1, false), "Error");
        cr_expect_str_eq(status_terminated_reason(137, false), "Error");
        cr_expect_str_eq(status_terminated_reason(137, true), "OOMKilled");
        static const struct {
                int64_t s;
                const char *want;
        } d[] = { { 0, "0s" },      { 10, "10s" },   { 59, "59s" },      { 80, "1m20s" },
                  { 160, "2m40s" }, { 300, "5m0s" }, { 3600, "1h0m0s" }, { 3725, "1h2m5s" } };
        for (size_t i = 0; i < ELEMENTSOF(d); i++) {
                _cleanup_free_ char *got = status_go_duration(d[i].s * S);
                cr_expect_str_eq(got, d[i].want);
        }
}

/* Vector 11.O: a container that crashes right after every start waits 0, 10, 20, 40, 80,
 * 160, 300, 300 s before its restarts. */
Test(backoff, crash_loop_sequence)
{
        static const int64_t want[] = { 0, 10, 20, 40, 80, 160, 300, 300, 300 };
        struct backoff b = { 0 };
        int64_t now = 1700000000 * S;
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                int64_t finished = now + 1 * S; /* it ran for one second */
                int64_t left = -1;
                bool waiting = backoff_waiting(&b, finished, finished, &left);
                cr_expect_eq(left, want[i] * S, "restart %zu: waits %lld s, want %lld s", i,
                             (long long)(left / S), (long long)want[i]);
                cr_expect_eq(waiting, want[i] > 0);
                /* just before the end of the window it still waits, at the end it may go */
                if (want[i] > 0) {
                        cr_expect(backoff_waiting(&b, finished, finished + left - 1, NULL));
                        cr_expect_not(backoff_waiting(&b, finished, finished + left, NULL));
                }
                now = finished + left;
                backoff_next(&b, finished, now);
        }
}

Test(backoff, resets_after_ten_minutes_running)
{
        struct backoff b = { 0 };
        int64_t t = 1000 * S;
        for (int i = 0; i < 4; i++) { /* restarts after 0, 10, 20 and 40 s */
                int64_t left;
                (void)backoff_waiting(&b, t, t, &left);
                t += left;
                backoff_next(&b, t, t);
                t += S;
        }
        cr_assert_eq(b.delay, 80 * S);
        /* ran exactly 600 s since the last restart: not yet expired */
        int64_t finished = b.last_update + 600 * S, left;
        cr_expect(backoff_waiting(&b, finished, finished, &left));
        cr_expect_eq(left, 80 * S);
        /* ran 601 s: restart at once, and the next window starts at 10 s again */
        finished = b.last_update + 601 * S;
        cr_expect_not(backoff_waiting(&b, finished, finished, NULL));
        backoff_next(&b, finished, finished);
        cr_expect_eq(b.delay, 10 * S);
        cr_expect_not(backoff_stale(&b, finished + 600 * S));
        cr_expect(backoff_stale(&b, finished + 601 * S));
}

static struct pod *web_pod(enum restart_policy policy, bool with_init)
{
        struct pod *p = pod_builder_new("web-node1", "0123abcd");
        p->spec.restart_policy = policy;
        if (with_init)
                pod_builder_add_init_container(p, "setup", false, -1, -1, -1, -1);
        struct container *c = pod_builder_add_container(p, "web", -1, -1, -1, -1);
        free(c->image);
        c->image = strdup("nginx:1.25");
        return p;
}

static struct runtime_container exited(int code, int sig, bool oom, int64_t finished)
{
        return (struct runtime_container){
                .name = (char *)"web",
                .id = (char *)"c2",
                .state = RUNTIME_CONTAINER_EXITED,
                .exit = { .exit_code = code,
                          .signal = sig,
                          .oom_killed = oom,
                          .started_at = finished - 5 * S,
                          .finished_at = finished,
                          .id = (char *)"c2" },
                .restart_count = 3,
        };
}

Test(status, container_waiting_defaults)
{
        _cleanup_pod_ struct pod *p = web_pod(RESTART_POLICY_ALWAYS, false);
        _cleanup_pod_ struct pod *pi = web_pod(RESTART_POLICY_ALWAYS, true);
        struct status_context ctx = { .pod = p, .now = 100 * S };
        struct container_status s;
        cr_assert_eq(status_container(&ctx, &p->spec.containers[0], false, NULL, NULL, &s), 0);
        cr_expect_eq(s.state.kind, CONTAINER_STATE_WAITING);
        cr_expect_str_eq(s.state.reason, "ContainerCreating");
        cr_expect_str_eq(s.image, "nginx:1.25");
        cr_expect_null(s.container_id);
        cr_expect_not(s.ready);
        container_status_done(&s);
        ctx.pod = pi;
        cr_assert_eq(status_container(&ctx, &pi->spec.containers[0], false, NULL, NULL, &s), 0);
        cr_expect_str_eq(s.state.reason, "PodInitializing");
        container_status_done(&s);
}

Test(status, container_terminated_reasons)
{
        static const struct {
                enum restart_policy policy;
                int code, sig;
                bool oom;
                const char *reason;
        } cases[] = {
                { RESTART_POLICY_NEVER, 0, 0, false, "Completed" },
                { RESTART_POLICY_NEVER, 1, 0, false, "Error" },
                { RESTART_POLICY_NEVER, 143, 15, false, "Error" },
                { RESTART_POLICY_NEVER, 137, 9, true, "OOMKilled" },
                /* restart due, no back-off window yet: terminated until it starts again */
                { RESTART_POLICY_ALWAYS, 1, 0, false, "Error" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_pod_ struct pod *p = web_pod(cases[i].policy, false);
                struct status_context ctx = { .pod = p, .now = 100 * S };
                struct runtime_container rc = exited(cases[i].code, cases[i].sig, cases[i].oom,
                                                     90 * S);
                struct container_status s;
                cr_assert_eq(status_container(&ctx, &p->spec.containers[0], false, &rc, NULL, &s),
                             0);
                cr_expect_eq(s.state.kind, CONTAINER_STATE_TERMINATED, "case %zu", i);
                cr_expect_str_eq(s.state.reason, cases[i].reason, "case %zu", i);
                cr_expect_eq(s.state.exit_code, cases[i].code);
                cr_expect_eq(s.state.signal, cases[i].sig);
                cr_expect_eq(s.state.finished_at, 90 * S);
                cr_expect_str_eq(s.state.container_id, "qoslet://c2");
                cr_expect_str_eq(s.container_id, "qoslet://c2");
                cr_expect_eq(s.restart_count, 3);
                container_status_done(&s);
        }
}

Test(status, container_crash_loop_back_off)
{
        _cleanup_pod_ struct pod *p = web_pod(RESTART_POLICY_ALWAYS, false);
        struct status_context ctx = { .pod = p, .now = 93 * S };
        struct runtime_container rc = exited(1, 0, false, 90 * S);
        struct backoff bo = { .delay = 20 * S, .last_update = 80 * S };
        struct container_status s;
        cr_assert_eq(status_container(&ctx, &p->spec.containers[0], false, &rc, &bo, &s), 0);
        cr_expect_eq(s.state.kind, CONTAINER_STATE_WAITING);
        cr_expect_str_eq(s.state.reason, "CrashLoopBackOff");
        cr_expect_str_eq(s.state.message, "back-off 20s restarting failed container=web "
                                          "pod=web-node1_default(0123abcd)");
        cr_expect_eq(s.last_state.kind, CONTAINER_STATE_TERMINATED);
        cr_expect_str_eq(s.last_state.reason, "Error");
        cr_expect_eq(s.last_state.exit_code, 1);
        cr_expect_not(s.ready);
        container_status_done(&s);

        /* the window is over: terminated until the node restarts it */
        ctx.now = 110 * S;
        cr_assert_eq(status_container(&ctx, &p->spec.containers[0], false, &rc, &bo, &s), 0);
        cr_expect_eq(s.state.kind, CONTAINER_STATE_TERMINATED);
        container_status_done(&s);

        /* OnFailure after exit 0: no restart, so no back-off */
        p->spec.restart_policy = RESTART_POLICY_ON_FAILURE;
        rc = exited(0, 0, false, 90 * S);
        ctx.now = 93 * S;
        cr_assert_eq(status_container(&ctx, &p->spec.containers[0], false, &rc, &bo, &s), 0);
        cr_expect_eq(s.state.kind, CONTAINER_STATE_TERMINATED);
        cr_expect_str_eq(s.state.reason, "Completed");
        container_status_done(&s);
}

Test(status, container_running_ready_and_last_state)
{
        _cleanup_pod_ struct pod *p = web_pod(RESTART_POLICY_ALWAYS, false);
        struct status_context ctx = { .pod = p, .now = 100 * S };
        struct runtime_container rc = {
                .name = (char *)"web",
                .id = (char *)"c3",
                .state = RUNTIME_CONTAINER_RUNNING,
                .started_at = 95 * S,
                .has_previous = true,
                .previous = { .exit_code = 137,
                              .signal = 9,
                              .oom_killed = true,
                              .finished_at = 94 * S,
                              .id = (char *)"c2" },
                .restart_count = 1,
        };
        struct container_status s;
        cr_assert_eq(status_container(&ctx, &p->spec.containers[0], false, &rc, NULL, &s), 0);
        cr_expect_eq(s.state.kind, CONTAINER_STATE_RUNNING);
        cr_expect_eq(s.state.started_at, 95 * S);
        cr_expect(s.ready);
        cr_expect(s.started);
        cr_expect_str_eq(s.last_state.reason, "OOMKilled");
        cr_expect_eq(s.last_state.exit_code, 137);
        cr_expect_str_eq(s.last_state.container_id, "qoslet://c2");
        cr_expect_eq(s.restart_count, 1);
        container_status_done(&s);

        /* a readiness probe nobody ran yet: running but not ready */
        p->spec.containers[0].readiness.present = true;
        cr_assert_eq(status_container(&ctx, &p->spec.containers[0], false, &rc, NULL, &s), 0);
        cr_expect(s.started);
        cr_expect_not(s.ready);
        container_status_done(&s);
}

Test(status, container_runtime_errors_and_unknown)
{
        _cleanup_pod_ struct pod *p = web_pod(RESTART_POLICY_ALWAYS, false);
        struct status_context ctx = { .pod = p, .now = 100 * S };
        struct runtime_container rc = { .name = (char *)"web",
                                        .state = RUNTIME_CONTAINER_CREATED,
                                        .error_reason = (char *)"ErrImagePull",
                                        .error_message = (char *)"pull 'nginx:1.25': refused" };
        struct container_status s;
        cr_assert_eq(status_container(&ctx, &p->spec.containers[0], false, &rc, NULL, &s), 0);
        cr_expect_eq(s.state.kind, CONTAINER_STATE_WAITING);
        cr_expect_str_eq(s.state.reason, "ErrImagePull");
        cr_expect_str_eq(s.state.message, "pull 'nginx:1.25': refused");
        container_status_done(&s);

        rc = (struct runtime_container){ .name = (char *)"web",
                                         .state = RUNTIME_CONTAINER_UNKNOWN };
        cr_assert_eq(status_container(&ctx, &p->spec.containers[0], false, &rc, NULL, &s), 0);
        cr_expect_eq(s.state.kind, CONTAINER_STATE_TERMINATED);
        cr_expect_str_eq(s.state.reason, "ContainerStatusUnknown");
        cr_expect_eq(s.state.exit_code, 137);
        container_status_done(&s);
}

Test(status, whole_pod_plan_only_and_crash_loop)
{
        _cleanup_pod_ struct pod *p = web_pod(RESTART_POLICY_ALWAYS, true);
        struct status_context ctx = {
                .pod = p, .now = 100 * S, .start_time = 50 * S, .host_ip = "127.0.0.1"
        };
        struct pod_status st;
        cr_assert_eq(status_pod(&ctx, NULL, NULL, NULL, &st), 0);
        cr_expect_eq(st.phase, POD_PHASE_PENDING);
        cr_expect_eq(st.n_init_statuses, 1);
        cr_expect_eq(st.n_statuses, 1);
        cr_expect_str_eq(st.statuses[0].state.reason, "PodInitializing");
        cr_expect_eq(st.conditions[POD_CONDITION_INITIALIZED].status, CONDITION_FALSE);
        cr_expect_eq(st.start_time, 50 * S);
        cr_expect_str_eq(st.host_ip, "127.0.0.1");
        cr_expect_null(st.pod_ip);
        pod_status_done(&st);

        /* init done, main container crash-looping: Running, not ready */
        struct runtime_container cs[2] = {
                { .name = (char *)"setup",
                  .state = RUNTIME_CONTAINER_EXITED,
                  .exit = { .exit_code = 0, .finished_at = 60 * S } },
                exited(2, 0, false, 98 * S),
        };
        struct runtime_pod_status rt = { .sandbox_ready = true,
                                         .pod_ip = (char *)"10.0.0.2",
                                         .containers = cs,
                                         .n_containers = 2 };
        struct backoff bo[1] = { { .delay = 40 * S, .last_update = 90 * S } };
        cr_assert_eq(status_pod(&ctx, &rt, NULL, bo, &st), 0);
        cr_expect_eq(st.phase, POD_PHASE_RUNNING);
        cr_expect_str_eq(st.statuses[0].state.reason, "CrashLoopBackOff");
        cr_expect_str_eq(st.init_statuses[0].state.reason, "Completed");
        cr_expect(st.init_statuses[0].ready);
        cr_expect_eq(st.conditions[POD_CONDITION_READY_TO_START_CONTAINERS].status, CONDITION_TRUE);
        cr_expect_eq(st.conditions[POD_CONDITION_INITIALIZED].status, CONDITION_TRUE);
        cr_expect_eq(st.conditions[POD_CONDITION_READY].status, CONDITION_FALSE);
        cr_expect_str_eq(st.pod_ip, "10.0.0.2");
        pod_status_done(&st);
}
