/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "basic/strbuf.h"
#include "node/status.h"

static enum restart_policy pod_policy(const struct pod_spec *spec)
{
        return spec->restart_policy == RESTART_POLICY_UNSET ? RESTART_POLICY_ALWAYS
                                                            : spec->restart_policy;
}

bool status_should_restart(const struct pod_spec *spec, const struct container *c, bool is_init,
                           int exit_code)
{
        if (is_init && container_is_sidecar(c))
                return true;
        if (is_init)
                return exit_code != 0 && pod_policy(spec) != RESTART_POLICY_NEVER;
        switch (pod_policy(spec)) {
        case RESTART_POLICY_ALWAYS:
                return true;
        case RESTART_POLICY_ON_FAILURE:
                return exit_code != 0;
        default:
                return false;
        }
}

const char *status_terminated_reason(int exit_code, bool oom_killed)
{
        if (oom_killed)
                return "OOMKilled";
        return exit_code == 0 ? "Completed" : "Error";
}

char *status_go_duration(int64_t usec)
{
        int64_t s = usec / USEC_PER_SEC;
        char *r = NULL;
        int q;
        if (s < 60)
                q = asprintf(&r, "%llds", (long long)s);
        else if (s < 3600)
                q = asprintf(&r, "%lldm%llds", (long long)(s / 60), (long long)(s % 60));
        else
                q = asprintf(&r, "%lldh%lldm%llds", (long long)(s / 3600),
                             (long long)(s % 3600 / 60), (long long)(s % 60));
        return q < 0 ? NULL : r;
}

char *status_crashloop_message(int64_t delay, const char *container, const struct pod *p)
{
        _cleanup_free_ char *d = status_go_duration(delay);
        char *r = NULL;
        if (!d || asprintf(&r, "back-off %s restarting failed container=%s pod=%s_%s(%s)", d,
                           container, p->metadata.name, p->metadata.namespace, p->metadata.uid) < 0)
                return NULL;
        return r;
}

static const struct container_status *find_status(const struct container_status *l, size_t n,
                                                  const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (l[i].name && strcmp(l[i].name, name) == 0)
                        return &l[i];
        return NULL;
}

static bool has_last_termination(const struct container_status *s)
{
        return s->last_state.kind == CONTAINER_STATE_TERMINATED;
}

bool status_any_regular_started(const struct pod_spec *spec, const struct container_status *cs,
                                size_t n)
{
        for (size_t i = 0; i < spec->n_containers; i++) {
                const struct container_status *s = find_status(cs, n, spec->containers[i].name);
                if (!s)
                        continue;
                if (s->state.kind == CONTAINER_STATE_RUNNING ||
                    s->state.kind == CONTAINER_STATE_TERMINATED ||
                    (s->state.kind == CONTAINER_STATE_WAITING && has_last_termination(s)))
                        return true;
        }
        return false;
}

struct phase_counts {
        unsigned pending_init, failed_init, unknown, running, waiting, stopped, succeeded;
};

static void count_init(struct phase_counts *k, const struct pod_spec *spec,
                       const struct container_status *init, size_t n_init)
{
        for (size_t i = 0; i < spec->n_init_containers; i++) {
                const struct container *c = &spec->init_containers[i];
                const struct container_status *s = find_status(init, n_init, c->name);
                bool sidecar = container_is_sidecar(c);
                if (!s) {
                        if (sidecar)
                                k->unknown++;
                        else
                                k->pending_init++;
                        continue;
                }
                switch (s->state.kind) {
                case CONTAINER_STATE_RUNNING:
                        if (!sidecar || !s->started)
                                k->pending_init++;
                        if (sidecar)
                                k->running++;
                        break;
                case CONTAINER_STATE_TERMINATED:
                        if (!sidecar && s->state.exit_code != 0)
                                k->failed_init++;
                        break;
                case CONTAINER_STATE_WAITING:
                        if (has_last_termination(s)) {
                                if (!sidecar && s->last_state.exit_code != 0)
                                        k->failed_init++;
                        } else {
                                k->pending_init++;
                                if (sidecar)
                                        k->waiting++;
                        }
                        break;
                default:
                        k->pending_init++;
                        if (sidecar)
                                k->unknown++;
                }
        }
}

static void count_regular(struct phase_counts *k, const struct pod_spec *spec,
                          const struct container_status *cs, size_t n)
{
        for (size_t i = 0; i < spec->n_containers; i++) {
                const struct container_status *s = find_status(cs, n, spec->containers[i].name);
                switch (s ? s->state.kind : CONTAINER_STATE_NONE) {
                case CONTAINER_STATE_RUNNING:
                        k->running++;
                        break;
                case CONTAINER_STATE_TERMINATED:
                        k->stopped++;
                        if (s->state.exit_code == 0)
                                k->succeeded++;
                        break;
                case CONTAINER_STATE_WAITING:
                        if (has_last_termination(s))
                                k->stopped++;
                        else
                                k->waiting++;
                        break;
                default:
                        k->unknown++;
                }
        }
}

enum pod_phase status_pod_phase(const struct pod_spec *spec, const struct container_status *init,
                                size_t n_init, const struct container_status *regular,
                                size_t n_regular, bool pod_is_terminal, bool is_static)
{
        struct phase_counts k = { 0 };
        count_init(&k, spec, init, n_init);
        count_regular(&k, spec, regular, n_regular);
        enum restart_policy policy = pod_policy(spec);

        if (k.failed_init > 0 && policy == RESTART_POLICY_NEVER)
                return POD_PHASE_FAILED;
        if ((k.pending_init > 0 && !status_any_regular_started(spec, regular, n_regular)) ||
            k.waiting > 0)
                return POD_PHASE_PENDING;
        if (k.running > 0 && k.unknown == 0)
                return POD_PHASE_RUNNING;
        if (k.running == 0 && k.stopped > 0 && k.unknown == 0) {
                if (pod_is_terminal && !is_static)
                        return k.stopped == k.succeeded ? POD_PHASE_SUCCEEDED : POD_PHASE_FAILED;
                if (policy == RESTART_POLICY_ALWAYS)
                        return POD_PHASE_RUNNING;
                if (k.stopped == k.succeeded)
                        return POD_PHASE_SUCCEEDED;
                if (policy == RESTART_POLICY_NEVER)
                        return POD_PHASE_FAILED;
                return POD_PHASE_RUNNING;
        }
        return POD_PHASE_PENDING;
}

/* Go prints a []string as "[a b]". */
static void append_names(struct strbuf *sb, const char *what, char **names, size_t n)
{
        if (n == 0)
                return;
        if (sb->len > 0)
                strbuf_append(sb, ", ");
        strbuf_printf(sb, "containers with %s status: [", what);
        for (size_t i = 0; i < n; i++)
                strbuf_printf(sb, "%s%s", i ? " " : "", names[i]);
        strbuf_append(sb, "]");
}

static int set_condition(struct pod_condition *c, enum condition_status st, const char *reason,
                         char *message)
{
        c->status = st;
        c->reason = reason ? strdup(reason) : NULL;
        c->message = message;
        return reason && !c->reason ? -ENOMEM : 0;
}

struct name_lists {
        char **unknown, **other;
        size_t n_unknown, n_other;
};

static void name_lists_done(struct name_lists *l)
{
        free(l->unknown);
        free(l->other);
}

static int name_lists_alloc(struct name_lists *l, size_t n)
{
        l->unknown = calloc(n + 1, sizeof(char *));
        l->other = calloc(n + 1, sizeof(char *));
        return l->unknown && l->other ? 0 : -ENOMEM;
}

static char *name_lists_message(const struct name_lists *l, const char *other_what)
{
        _cleanup_strbuf_ struct strbuf sb = { 0 };
        append_names(&sb, "unknown", l->unknown, l->n_unknown);
        append_names(&sb, other_what, l->other, l->n_other);
        return sb.len > 0 ? strbuf_steal(&sb) : NULL;
}

static int containers_ready_condition(const struct pod_spec *spec,
                                      const struct container_status *init, size_t n_init,
                                      const struct container_status *regular, size_t n_regular,
                                      enum pod_phase phase, struct pod_condition *ret)
{
        ret->type = POD_CONDITION_CONTAINERS_READY;
        if (n_init + n_regular == 0)
                return set_condition(ret, CONDITION_FALSE, "UnknownContainerStatuses", NULL);
        _cleanup_(name_lists_done) struct name_lists l = { 0 };
        if (name_lists_alloc(&l, spec->n_init_containers + spec->n_containers) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < pod_spec_n_containers(spec); i++) {
                bool is_init = i < spec->n_init_containers;
                const struct container *c = pod_spec_container(spec, i);
                if (is_init && !container_is_sidecar(c))
                        continue;
                const struct container_status *s = is_init ? find_status(init, n_init, c->name)
                                                           : find_status(regular, n_regular,
                                                                         c->name);
                if (!s)
                        l.unknown[l.n_unknown++] = c->name;
                else if (!s->ready)
                        l.other[l.n_other++] = c->name;
        }
        if (phase == POD_PHASE_SUCCEEDED && l.n_unknown == 0)
                return set_condition(ret, CONDITION_FALSE, "PodCompleted", NULL);
        if (phase == POD_PHASE_FAILED)
                return set_condition(ret, CONDITION_FALSE, "PodFailed", NULL);
        char *msg = name_lists_message(&l, "unready");
        if (msg)
                return set_condition(ret, CONDITION_FALSE, "ContainersNotReady", msg);
        return set_condition(ret, CONDITION_TRUE, NULL, NULL);
}

static bool init_container_done(const struct container *c, const struct container_status *s)
{
        return container_is_sidecar(c) ? s->started : s->ready;
}

static int initialized_condition(const struct pod_spec *spec, const struct container_status *init,
                                 size_t n_init, const struct container_status *regular,
                                 size_t n_regular, enum pod_phase phase, struct pod_condition *ret)
{
        ret->type = POD_CONDITION_INITIALIZED;
        if (n_init + n_regular == 0 && spec->n_init_containers > 0)
                return set_condition(ret, CONDITION_FALSE, "UnknownContainerStatuses", NULL);
        _cleanup_(name_lists_done) struct name_lists l = { 0 };
        if (name_lists_alloc(&l, spec->n_init_containers) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < spec->n_init_containers; i++) {
                const struct container *c = &spec->init_containers[i];
                const struct container_status *s = find_status(init, n_init, c->name);
                if (!s)
                        l.unknown[l.n_unknown++] = c->name;
                else if (!init_container_done(c, s))
                        l.other[l.n_other++] = c->name;
        }
        if (phase == POD_PHASE_SUCCEEDED && l.n_unknown == 0)
                return set_condition(ret, CONDITION_TRUE, "PodCompleted", NULL);
        /* A regular container that ran means the pod was initialized before: sidecars that
         * restart later do not take that back. */
        if (status_any_regular_started(spec, regular, n_regular))
                return set_condition(ret, CONDITION_TRUE, NULL, NULL);
        char *msg = name_lists_message(&l, "incomplete");
        if (msg)
                return set_condition(ret, CONDITION_FALSE, "ContainersNotInitialized", msg);
        return set_condition(ret, CONDITION_TRUE, NULL, NULL);
}

static int copy_condition(const struct pod_condition *from, enum pod_condition_type type,
                          struct pod_condition *ret)
{
        ret->type = type;
        char *msg = from->message ? strdup(from->message) : NULL;
        if (from->message && !msg)
                return -ENOMEM;
        return set_condition(ret, from->status, from->reason, msg);
}

int status_pod_conditions(const struct pod_spec *spec, const struct container_status *init,
                          size_t n_init, const struct container_status *regular, size_t n_regular,
                          enum pod_phase phase, bool sandbox_ready,
                          struct pod_condition ret[_POD_CONDITION_MAX])
{
        int r = 0;
        for (size_t i = 0; i < _POD_CONDITION_MAX; i++)
                ret[i] = (struct pod_condition){ .type = i };
        ret[POD_CONDITION_READY_TO_START_CONTAINERS].status = sandbox_ready ? CONDITION_TRUE
                                                                            : CONDITION_FALSE;
        r |= initialized_condition(spec, init, n_init, regular, n_regular, phase,
                                   &ret[POD_CONDITION_INITIALIZED]);
        r |= containers_ready_condition(spec, init, n_init, regular, n_regular, phase,
                                        &ret[POD_CONDITION_CONTAINERS_READY]);
        /* Ready follows ContainersReady: qoslet has no readiness gates. */
        r |= copy_condition(&ret[POD_CONDITION_CONTAINERS_READY], POD_CONDITION_READY,
                            &ret[POD_CONDITION_READY]);
        ret[POD_CONDITION_SCHEDULED].status = CONDITION_TRUE;
        return r < 0 ? -ENOMEM : 0;
}

static int dup_to(char **dst, const char *s)
{
        *dst = s ? strdup(s) : NULL;
        return s && !*dst ? -ENOMEM : 0;
}

static char *container_id_uri(const char *id)
{
        char *r = NULL;
        if (!id || asprintf(&r, "qoslet://%s", id) < 0)
                return NULL;
        return r;
}

static int terminated_state(const struct runtime_exit *e, struct container_state *ret)
{
        *ret = (struct container_state){
                .kind = CONTAINER_STATE_TERMINATED,
                .exit_code = e->exit_code,
                .signal = e->signal,
                .started_at = e->started_at,
                .finished_at = e->finished_at,
        };
        ret->container_id = container_id_uri(e->id);
        return dup_to(&ret->reason, status_terminated_reason(e->exit_code, e->oom_killed));
}

static int waiting_state(const char *reason, char *message, struct container_state *ret)
{
        *ret = (struct container_state){ .kind = CONTAINER_STATE_WAITING, .message = message };
        return dup_to(&ret->reason, reason);
}

static int exited_status(const struct status_context *ctx, const struct container *c, bool is_init,
                         const struct runtime_container *rc, const struct backoff *bo,
                         struct container_status *s)
{
        int64_t finished = rc->exit.finished_at;
        bool restart = status_should_restart(&ctx->pod->spec, c, is_init, rc->exit.exit_code);
        s->ready = is_init && !container_is_sidecar(c) && rc->exit.exit_code == 0;
        if (restart && bo && backoff_waiting(bo, finished, ctx->now, NULL)) {
                char *msg = status_crashloop_message(bo->delay, c->name, ctx->pod);
                if (!msg)
                        return -ENOMEM;
                s->ready = false;
                if (terminated_state(&rc->exit, &s->last_state) < 0)
                        return -ENOMEM;
                return waiting_state("CrashLoopBackOff", msg, &s->state);
        }
        if (rc->has_previous && terminated_state(&rc->previous, &s->last_state) < 0)
                return -ENOMEM;
        return terminated_state(&rc->exit, &s->state);
}

static int running_status(const struct container *c, bool is_init,
                          const struct runtime_container *rc, struct container_status *s)
{
        s->state = (struct container_state){ .kind = CONTAINER_STATE_RUNNING,
                                             .started_at = rc->started_at };
        /* Without a prober, a container with a readiness (startup) probe is not ready (not
         * started) yet: the kubelet waits for the first success. A regular init container
         * is ready only once it has completed. */
        s->started = !c->startup.present;
        s->ready = !c->readiness.present && s->started && (!is_init || container_is_sidecar(c));
        if (rc->has_previous)
                return terminated_state(&rc->previous, &s->last_state);
        return 0;
}

static int runtime_state(const struct status_context *ctx, const struct container *c, bool is_init,
                         const struct runtime_container *rc, const struct backoff *bo,
                         struct container_status *s)
{
        if (rc->error_reason) {
                char *msg = rc->error_message ? strdup(rc->error_message) : NULL;
                if (rc->has_previous && terminated_state(&rc->previous, &s->last_state) < 0)
                        return -ENOMEM;
                return waiting_state(rc->error_reason, msg, &s->state);
        }
        switch (rc->state) {
        case RUNTIME_CONTAINER_CREATED:
                return waiting_state("ContainerCreating", NULL, &s->state);
        case RUNTIME_CONTAINER_RUNNING:
                return running_status(c, is_init, rc, s);
        case RUNTIME_CONTAINER_EXITED:
                return exited_status(ctx, c, is_init, rc, bo, s);
        default:
                s->state = (struct container_state){ .kind = CONTAINER_STATE_TERMINATED,
                                                     .exit_code = 137 };
                s->state.message = strdup("The container could not be located");
                return dup_to(&s->state.reason, "ContainerStatusUnknown");
        }
}

int status_container(const struct status_context *ctx, const struct container *c, bool is_init,
                     const struct runtime_container *rc, const struct backoff *bo,
                     struct container_status *ret)
{
        struct container_status s = { 0 };
        int r = dup_to(&s.name, c->name);
        if (r >= 0)
                r = dup_to(&s.image, rc && rc->image ? rc->image : c->image);
        if (r >= 0 && rc)
                r = dup_to(&s.image_id, rc->image_id);
        if (r >= 0 && rc && rc->id && !(s.container_id = container_id_uri(rc->id)))
                r = -ENOMEM;
        if (r >= 0 && rc) {
                s.restart_count = rc->restart_count;
                r = runtime_state(ctx, c, is_init, rc, bo, &s);
        } else if (r >= 0)
                /* Nothing created yet: the kubelet's default waiting reason. */
                r = waiting_state(ctx->pod->spec.n_init_containers > 0 ? "PodInitializing"
                                                                       : "ContainerCreating",
                                  NULL, &s.state);
        if (r < 0) {
                container_status_done(&s);
                return r;
        }
        *ret = s;
        return 0;
}

static int container_statuses(const struct status_context *ctx, const struct container *cs,
                              size_t n, bool is_init, const struct runtime_pod_status *rt,
                              const struct backoff *bo, struct container_status **ret)
{
        struct container_status *l = calloc(n + 1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const struct runtime_container *rc = rt ? runtime_pod_status_find(rt, cs[i].name)
                                                        : NULL;
                int r = status_container(ctx, &cs[i], is_init, rc, bo ? &bo[i] : NULL, &l[i]);
                if (r < 0) {
                        for (size_t k = 0; k < i; k++)
                                container_status_done(&l[k]);
                        free(l);
                        return r;
                }
        }
        *ret = l;
        return 0;
}

int status_pod(const struct status_context *ctx, const struct runtime_pod_status *rt,
               const struct backoff *init_bo, const struct backoff *bo, struct pod_status *ret)
{
        const struct pod_spec *spec = &ctx->pod->spec;
        _cleanup_(pod_status_done) struct pod_status s = { .start_time = ctx->start_time };
        int r = container_statuses(ctx, spec->init_containers, spec->n_init_containers, true, rt,
                                   init_bo, &s.init_statuses);
        if (r < 0)
                return r;
        s.n_init_statuses = spec->n_init_containers;
        r = container_statuses(ctx, spec->containers, spec->n_containers, false, rt, bo,
                               &s.statuses);
        if (r < 0)
                return r;
        s.n_statuses = spec->n_containers;
        s.phase = status_pod_phase(spec, s.init_statuses, s.n_init_statuses, s.statuses,
                                   s.n_statuses, false, true);
        r = status_pod_conditions(spec, s.init_statuses, s.n_init_statuses, s.statuses,
                                  s.n_statuses, s.phase, rt && rt->sandbox_ready, s.conditions);
        if (r >= 0)
                r = dup_to(&s.host_ip, ctx->host_ip);
        if (r >= 0)
                r = dup_to(&s.pod_ip, spec->host_network ? ctx->host_ip : rt ? rt->pod_ip : NULL);
        if (r >= 0)
                r = dup_to(&s.message, rt ? rt->message : NULL);
        if (r < 0)
                return r;
        *ret = s;
        s = (struct pod_status){ 0 };
        return 0;
}
