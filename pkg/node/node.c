/* SPDX-License-Identifier: Apache-2.0 */
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "image/fsutil.h"
#include "node/node.h"
#include "node/podjson.h"
#include "node/state.h"
#include "node/status.h"
#include "qos/qos.h"
#include "source/dir.h"
#include "source/url.h"

#define RETRY_USEC (10 * USEC_PER_SEC) /* the kubelet's pod worker retry after a sync error */
#define DEFAULT_GRACE 30

struct npod {
        struct node *node;
        struct source_pod *src; /* the spec; NULL for a pod known only by its UID */
        struct pod_record rec;
        struct pod_plan plan;
        bool planned, started, stopping, stop_requested;
        bool from_disk; /* loaded from state at start, not yet seen in a source */
        int64_t deleted_at;
        char *error; /* the last plan or start error, reported once */
        struct pod_status status;
        bool have_status;
        int64_t cond_times[_POD_CONDITION_MAX];
        sd_event_source *wake;
};

struct node {
        sd_event *event;
        char *node_name, *root_dir, *host_ip;
        const struct node_info *info;
        struct manifest_options mopts;
        struct dir_source *dir;
        struct url_source *url;
        struct node_runtime *rt;
        struct node_callbacks cb;
        sd_event_source *defer;
        struct npod **pods;
        size_t n_pods;
        char **conflicts; /* reported already */
        char *published;
};

static int64_t now_realtime(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * USEC_PER_SEC + ts.tv_nsec / 1000;
}

static void emit(struct node *n, enum node_event_type t, const char *reason, const char *object,
                 const char *uid, const char *fmt, ...) _printf_(6, 7);
static void emit(struct node *n, enum node_event_type t, const char *reason, const char *object,
                 const char *uid, const char *fmt, ...)
{
        va_list ap;
        _cleanup_free_ char *m = NULL;
        va_start(ap, fmt);
        int r = vasprintf(&m, fmt, ap);
        va_end(ap);
        struct node_event e = {
                .type = t,
                .reason = reason,
                .object = object,
                .pod_uid = uid,
                .message = r < 0 ? fmt : m,
        };
        if (n->cb.event)
                n->cb.event(&e, n->cb.userdata);
}

static char *pod_ref(const struct npod *p)
{
        char *s = NULL;
        if (asprintf(&s, "%s/%s", p->rec.namespace ? p->rec.namespace : "",
                     p->rec.name ? p->rec.name : p->rec.uid) < 0)
                return NULL;
        return s;
}

static void pod_emit(struct npod *p, enum node_event_type t, const char *reason,
                     const char *message)
{
        _cleanup_free_ char *ref = pod_ref(p);
        emit(p->node, t, reason, ref ? ref : p->rec.uid, p->rec.uid, "%s", message);
}

static void npod_free(struct npod *p)
{
        if (!p)
                return;
        source_pod_unref(p->src);
        pod_record_done(&p->rec);
        if (p->planned)
                pod_plan_done(&p->plan);
        free(p->error);
        pod_status_done(&p->status);
        sd_event_source_disable_unref(p->wake);
        free(p);
}

static struct npod *find_pod(const struct node *n, const char *uid)
{
        for (size_t i = 0; i < n->n_pods; i++)
                if (strcmp(n->pods[i]->rec.uid, uid) == 0)
                        return n->pods[i];
        return NULL;
}

static struct npod *add_npod(struct node *n)
{
        struct npod **v = realloc(n->pods, (n->n_pods + 1) * sizeof(*v));
        if (!v)
                return NULL;
        n->pods = v;
        struct npod *p = calloc(1, sizeof(*p));
        if (!p)
                return NULL;
        p->node = n;
        n->pods[n->n_pods++] = p;
        return p;
}

static void remove_npod(struct node *n, struct npod *p)
{
        for (size_t i = 0; i < n->n_pods; i++)
                if (n->pods[i] == p) {
                        memmove(&n->pods[i], &n->pods[i + 1],
                                (n->n_pods - i - 1) * sizeof(*n->pods));
                        n->n_pods--;
                        break;
                }
        npod_free(p);
}

static int on_wake(sd_event_source *s, uint64_t usec, void *userdata)
{
        node_schedule(((struct npod *)userdata)->node);
        return 0;
}

/* Wakes the loop for this pod after `usec` (the earliest of all requests wins). */
static void arm_wake(struct npod *p, uint64_t usec)
{
        uint64_t now = 0, when;
        (void)sd_event_now(p->node->event, CLOCK_MONOTONIC, &now);
        when = now + usec;
        if (!p->wake) {
                if (sd_event_add_time(p->node->event, &p->wake, CLOCK_MONOTONIC, when, 0, on_wake,
                                      p) < 0)
                        return;
                return;
        }
        int enabled = SD_EVENT_OFF;
        uint64_t cur = 0;
        (void)sd_event_source_get_enabled(p->wake, &enabled);
        (void)sd_event_source_get_time(p->wake, &cur);
        if (enabled != SD_EVENT_OFF && cur <= when)
                return;
        (void)sd_event_source_set_time(p->wake, when);
        (void)sd_event_source_set_enabled(p->wake, SD_EVENT_ONESHOT);
}

static void save_record(struct npod *p)
{
        _cleanup_qerr_ struct qerr *e = NULL;
        if (state_save_pod(p->node->root_dir, &p->rec, &e) < 0)
                pod_emit(p, NODE_EVENT_WARNING, "StateNotSaved", qerr_msg(e));
        /* the manifest is on disk now: only pod.json changes from here on */
        free(p->rec.manifest);
        p->rec.manifest = NULL;
}

static int dup_into(char **dst, const char *s)
{
        free(*dst);
        *dst = s ? strdup(s) : NULL;
        return s && !*dst ? -ENOMEM : 0;
}

/* Fills the record from a source pod; keeps accepted_at and the container records of an
 * adopted pod. */
static int record_from_source(struct pod_record *r, const struct source_pod *sp, int64_t now)
{
        const struct pod *pod = sp->pod;
        int q = 0;
        q = q < 0 ? q : dup_into(&r->uid, pod->metadata.uid);
        q = q < 0 ? q : dup_into(&r->name, pod->metadata.name);
        q = q < 0 ? q : dup_into(&r->namespace, pod->metadata.namespace);
        q = q < 0 ? q : dup_into(&r->origin, sp->origin);
        q = q < 0 ? q : dup_into(&r->source_kind, sp->kind);
        q = q < 0 ? q : dup_into(&r->uid_source, pod->source);
        q = q < 0 ? q : dup_into(&r->config_hash, pod->config_hash);
        if (q < 0)
                return q;
        r->doc_index = pod->doc_index;
        r->item_index = pod->item_index;
        if (r->accepted_at == 0)
                r->accepted_at = now;
        free(r->manifest);
        r->manifest = NULL;
        r->manifest_len = 0;
        if (sp->raw) {
                r->manifest = malloc(sp->raw->len + 1);
                if (!r->manifest)
                        return -ENOMEM;
                memcpy(r->manifest, sp->raw->data, sp->raw->len + 1);
                r->manifest_len = sp->raw->len;
        }
        return 0;
}

/* A source pod rebuilt from the bytes kept on disk: for a pod whose origin does not read well
 * right now (after a restart), so the node can keep running and reporting it. */
static struct source_pod *source_pod_from_record(const struct node *n, const struct pod_record *r)
{
        if (!r->manifest || !r->uid_source || !r->origin)
                return NULL;
        _cleanup_(pod_list_done) struct pod_list l = { 0 };
        _cleanup_(diag_list_done) struct diag_list d = { 0 };
        if (manifest_decode(r->manifest, r->manifest_len, r->origin, r->uid_source, &n->mopts, &l,
                            &d) < 0)
                return NULL;
        for (size_t i = 0; i < l.n; i++) {
                if (strcmp(l.pods[i]->metadata.uid, r->uid) != 0)
                        continue;
                struct source_pod *sp = calloc(1, sizeof(*sp));
                if (!sp)
                        return NULL;
                *sp = (struct source_pod){
                        .n_ref = 1,
                        .pod = TAKE_PTR(l.pods[i]),
                        .origin = strdup(r->origin),
                        .kind = r->source_kind && strcmp(r->source_kind, "http") == 0 ? "http"
                                                                                      : "file",
                        .raw = manifest_blob_new(r->manifest, r->manifest_len),
                };
                return sp;
        }
        return NULL;
}

static void set_error(struct npod *p, const char *reason, const char *msg)
{
        /* one event per distinct error: a retry that fails alike is not news */
        if (p->error && strcmp(p->error, msg) == 0)
                return;
        free(p->error);
        p->error = strdup(msg);
        pod_emit(p, NODE_EVENT_WARNING, reason, msg);
}

static bool ensure_plan(struct npod *p)
{
        if (p->planned)
                return true;
        _cleanup_qerr_ struct qerr *e = NULL;
        if (plan_pod(p->src->pod, p->node->info, &p->plan, &e) < 0) {
                _cleanup_free_ char *m = NULL;
                set_error(p, "FailedPlan",
                          asprintf(&m, "plan pod: %s", qerr_msg(e)) < 0 ? "plan pod" : m);
                return false;
        }
        p->planned = true;
        return true;
}

static void start_pod(struct npod *p)
{
        struct node_runtime *rt = p->node->rt;
        _cleanup_qerr_ struct qerr *e = NULL;
        int r = rt->ops->start_pod(rt->data, p->src->pod, &p->plan, &e);
        if (r < 0) {
                _cleanup_free_ char *m = NULL;
                set_error(p, "FailedStart",
                          asprintf(&m, "start pod: %s", qerr_msg(e)) < 0 ? "start pod" : m);
                arm_wake(p, RETRY_USEC);
                return;
        }
        free(p->error);
        p->error = NULL;
        p->started = true;
        _cleanup_free_ char *m = NULL;
        /* a pod that kept running across a restart of the daemon was adopted, not started */
        if (asprintf(&m, "%s by runtime '%s'; QoS class %s, cgroup '%s'",
                     r > 0 ? "adopted" : "started", rt->ops->name, qos_class_to_string(p->plan.qos),
                     p->node->info->driver == CGROUP_DRIVER_SYSTEMD ? p->plan.systemd
                                                                    : p->plan.cgroupfs) >= 0)
                pod_emit(p, NODE_EVENT_NORMAL, r > 0 ? "Adopted" : "Started", m);
}

static int64_t grace_of(const struct npod *p)
{
        const struct pod_spec *s = p->src ? &p->src->pod->spec : NULL;
        return s && s->has_termination_grace_period_seconds ? s->termination_grace_period_seconds
                                                            : DEFAULT_GRACE;
}

static void request_stop(struct npod *p)
{
        struct node_runtime *rt = p->node->rt;
        _cleanup_qerr_ struct qerr *e = NULL;
        if (rt->ops->stop_pod(rt->data, p->rec.uid, grace_of(p), &e) < 0) {
                _cleanup_free_ char *m = NULL;
                set_error(p, "FailedKill",
                          asprintf(&m, "stop pod: %s", qerr_msg(e)) < 0 ? "stop pod" : m);
                arm_wake(p, RETRY_USEC);
                return;
        }
        p->stop_requested = true;
}

static void begin_stop(struct npod *p, const char *why)
{
        p->stopping = true;
        p->deleted_at = now_realtime();
        p->rec.stopping = true;
        /* a pod known only by its UID has no record to keep */
        if (state_uid_is_safe(p->rec.uid) && p->rec.name && p->rec.namespace)
                save_record(p);
        _cleanup_free_ char *m = NULL;
        if (asprintf(&m, "stopping pod (grace period %lld s): %s", (long long)grace_of(p), why) >=
            0)
                pod_emit(p, NODE_EVENT_NORMAL, "Killing", m);
}

/* Restarts the containers that exited, their restart policy wants back and whose back-off
 * window is over; arms a wake-up for those still waiting. Returns how many it restarted. */
static unsigned restart_exited(struct npod *p, const struct runtime_pod_status *rs, int64_t now)
{
        unsigned restarted = 0;
        const struct pod_spec *spec = &p->src->pod->spec;
        struct node_runtime *rt = p->node->rt;
        for (size_t i = 0; i < pod_spec_n_containers(spec); i++) {
                bool is_init = i < spec->n_init_containers;
                const struct container *c = pod_spec_container(spec, i);
                const struct runtime_container *rc = runtime_pod_status_find(rs, c->name);
                if (!rc || rc->state != RUNTIME_CONTAINER_EXITED ||
                    !status_should_restart(spec, c, is_init, rc->exit.exit_code) ||
                    !rt->ops->restart_container)
                        continue;
                struct container_record *cr = pod_record_container(&p->rec, c->name, true);
                int64_t left = 0;
                if (!cr)
                        continue;
                if (backoff_waiting(&cr->backoff, rc->exit.finished_at, now, &left)) {
                        arm_wake(p, (uint64_t)left);
                        continue;
                }
                _cleanup_qerr_ struct qerr *e = NULL;
                if (rt->ops->restart_container(rt->data, p->src->pod, &p->plan, c->name, &e) < 0) {
                        _cleanup_free_ char *m = NULL;
                        set_error(p, "FailedRestart",
                                  asprintf(&m, "restart container '%s': %s", c->name, qerr_msg(e)) <
                                                  0
                                          ? "restart container"
                                          : m);
                        arm_wake(p, RETRY_USEC);
                        continue;
                }
                backoff_next(&cr->backoff, rc->exit.finished_at, now);
                cr->restart_count = rc->restart_count + 1;
                save_record(p);
                restarted++;
        }
        return restarted;
}

static struct backoff *backoffs(struct npod *p, const struct container *cs, size_t n)
{
        struct backoff *v = calloc(n + 1, sizeof(*v));
        for (size_t i = 0; v && i < n; i++) {
                const struct container_record *cr = pod_record_container(&p->rec, cs[i].name,
                                                                         false);
                if (cr)
                        v[i] = cr->backoff;
        }
        return v;
}

static void update_status(struct npod *p, const struct runtime_pod_status *rs, int64_t now)
{
        const struct pod_spec *spec = &p->src->pod->spec;
        struct status_context ctx = { .pod = p->src->pod,
                                      .now = now,
                                      .start_time = p->rec.accepted_at,
                                      .host_ip = p->node->host_ip };
        _cleanup_free_ struct backoff *ib = backoffs(p, spec->init_containers,
                                                     spec->n_init_containers);
        _cleanup_free_ struct backoff *b = backoffs(p, spec->containers, spec->n_containers);
        struct pod_status st;
        if (!ib || !b || status_pod(&ctx, rs, ib, b, &st) < 0)
                return;
        if (!p->planned && p->error) {
                /* a pod that cannot be planned never runs: refused, as at admission */
                st.phase = POD_PHASE_FAILED;
                free(st.reason);
                free(st.message);
                st.reason = strdup("FailedPlan");
                st.message = strdup(p->error);
        } else if (p->error && !st.message)
                st.message = strdup(p->error);
        for (size_t i = 0; i < _POD_CONDITION_MAX; i++)
                if (!p->have_status || p->status.conditions[i].status != st.conditions[i].status)
                        p->cond_times[i] = now;
        pod_status_done(&p->status);
        p->status = st;
        p->have_status = true;
}

/* Returns false when the pod is gone and was freed. */
static bool sync_stopping(struct npod *p, int64_t now)
{
        struct node *n = p->node;
        if (!p->stop_requested)
                request_stop(p);
        _cleanup_(runtime_pod_status_done) struct runtime_pod_status rs = { 0 };
        int r = n->rt->ops->pod_status(n->rt->data, p->rec.uid, &rs, NULL);
        if (r == -ENOENT && p->stop_requested) {
                _cleanup_qerr_ struct qerr *e = NULL;
                if (state_uid_is_safe(p->rec.uid) &&
                    state_remove_pod(n->root_dir, p->rec.uid, &e) < 0)
                        pod_emit(p, NODE_EVENT_WARNING, "StateNotRemoved", qerr_msg(e));
                pod_emit(p, NODE_EVENT_NORMAL, "Stopped", "pod stopped and its state removed");
                remove_npod(n, p);
                return false;
        }
        if (p->src)
                update_status(p, r >= 0 ? &rs : NULL, now);
        return true;
}

static bool same_str(const char *a, const char *b)
{
        return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Another pod of the same namespace and name still stopping: a changed manifest gives its pod
 * a new UID, and the kubelet starts the new one only once the old one is gone, never both. */
static bool predecessor_stopping(const struct npod *p)
{
        const struct node *n = p->node;
        for (size_t i = 0; i < n->n_pods; i++) {
                const struct npod *o = n->pods[i];
                if (o != p && o->stopping && o->rec.name && p->rec.name &&
                    strcmp(o->rec.name, p->rec.name) == 0 &&
                    same_str(o->rec.namespace, p->rec.namespace))
                        return true;
        }
        return false;
}

static void sync_pod(struct npod *p, int64_t now)
{
        struct node *n = p->node;
        if (p->stopping) {
                if (!sync_stopping(p, now))
                        node_schedule(n); /* a successor may be waiting for it */
                return;
        }
        if (ensure_plan(p) && !p->started && !predecessor_stopping(p))
                start_pod(p);
        _cleanup_(runtime_pod_status_done) struct runtime_pod_status rs = { 0 };
        int r = p->started ? n->rt->ops->pod_status(n->rt->data, p->rec.uid, &rs, NULL) : -ENOENT;
        if (r == -ENOENT && p->started) {
                /* the runtime lost the pod: start it again on the next pass */
                p->started = false;
                arm_wake(p, USEC_PER_SEC);
        }
        if (r >= 0 && restart_exited(p, &rs, now) > 0) {
                /* report the containers as they are after the restart */
                runtime_pod_status_done(&rs);
                r = n->rt->ops->pod_status(n->rt->data, p->rec.uid, &rs, NULL);
        }
        update_status(p, r >= 0 ? &rs : NULL, now);
}

static size_t gather_origins(const struct node *n, struct source_origin ***ret)
{
        size_t nd = 0, nu = 0;
        struct source_origin *const *d = n->dir ? dir_source_origins(n->dir, &nd) : NULL;
        struct source_origin *const *u = n->url ? url_source_origins(n->url, &nu) : NULL;
        struct source_origin **v = calloc(nd + nu + 1, sizeof(*v));
        if (!v)
                return 0;
        for (size_t i = 0; i < nd; i++)
                v[i] = d[i];
        for (size_t i = 0; i < nu; i++)
                v[nd + i] = u[i];
        *ret = v;
        return nd + nu;
}

static void report_conflicts(struct node *n, const struct desired_set *d)
{
        STRV_FOREACH (c, d->conflicts) {
                bool known = false;
                STRV_FOREACH (k, n->conflicts)
                        known = known || strcmp(*k, *c) == 0;
                if (!known)
                        emit(n, NODE_EVENT_WARNING, "DuplicatePod", "", NULL, "%s", *c);
        }
        strv_free(n->conflicts);
        n->conflicts = NULL;
        size_t k = 0;
        STRV_FOREACH (c, d->conflicts)
                k++;
        n->conflicts = calloc(k + 1, sizeof(char *));
        for (size_t i = 0; n->conflicts && i < k; i++)
                n->conflicts[i] = strdup(d->conflicts[i]);
}

/* Whether a pod the sources no longer give stays: its origin has not read well once since
 * the daemon started (a broken file, a URL that does not answer), and the last good version
 * is the one on disk. */
static bool origin_keeps(const struct node *n, const struct npod *p)
{
        if (!p->src || !p->rec.origin)
                return false;
        if (p->rec.source_kind && strcmp(p->rec.source_kind, "http") == 0) {
                size_t k;
                if (!n->url || strcmp(url_source_origins(n->url, &k)[0]->name, p->rec.origin) != 0)
                        return false;
                return !url_source_origins(n->url, &k)[0]->ever_good;
        }
        size_t k = 0;
        struct source_origin *const *o = n->dir ? dir_source_origins(n->dir, &k) : NULL;
        for (size_t i = 0; i < k; i++) {
                /* the same file, however the manifest path was spelled last time */
                _cleanup_free_ char *real = realpath(o[i]->name, NULL);
                if (strcmp(o[i]->name, p->rec.origin) == 0 ||
                    (real && p->rec.uid_source && strcmp(real, p->rec.uid_source) == 0))
                        return !o[i]->ever_good && o[i]->error;
        }
        return false;
}

static void add_desired(struct node *n, struct source_pod *sp, int64_t now)
{
        struct npod *p = find_pod(n, sp->pod->metadata.uid);
        if (p && p->stopping)
                return; /* it comes back once the stop is over */
        if (p && p->src == sp)
                return;
        if (p && p->src && !p->from_disk) {
                /* the same UID (set in the manifest) with other content: replace the pod */
                if (!same_str(p->src->pod->config_hash, sp->pod->config_hash))
                        begin_stop(p, "its manifest changed");
                else {
                        source_pod_unref(p->src);
                        p->src = source_pod_ref(sp);
                }
                return;
        }
        bool adopted = p != NULL;
        if (!p && !(p = add_npod(n)))
                return;
        p->from_disk = false;
        source_pod_unref(p->src);
        p->src = source_pod_ref(sp);
        if (record_from_source(&p->rec, sp, now) < 0)
                return;
        save_record(p);
        _cleanup_free_ char *m = NULL;
        if (asprintf(&m, "%s from '%s'", adopted ? "pod adopted" : "pod added", sp->origin) >= 0)
                pod_emit(p, NODE_EVENT_NORMAL, adopted ? "Adopted" : "Added", m);
}

static void update_tiers(struct node *n)
{
        struct node_runtime *rt = n->rt;
        if (!rt->ops->update_tiers)
                return;
        _cleanup_free_ struct pod_plan *plans = calloc(n->n_pods + 1, sizeof(*plans));
        size_t k = 0;
        for (size_t i = 0; plans && i < n->n_pods; i++)
                if (n->pods[i]->planned && !n->pods[i]->stopping)
                        plans[k++] = n->pods[i]->plan;
        _cleanup_(tiers_plan_done) struct tiers_plan t = { 0 };
        _cleanup_qerr_ struct qerr *e = NULL;
        if (!plans || plan_tiers(plans, k, n->info, &t, &e) < 0 ||
            rt->ops->update_tiers(rt->data, &t, &e) < 0)
                emit(n, NODE_EVENT_WARNING, "FailedTiers", "", NULL, "update QoS tiers: %s",
                     qerr_msg(e));
}

static void publish(struct node *n)
{
        _cleanup_free_ char *j = node_pods_json(n);
        if (!j || (n->published && strcmp(j, n->published) == 0))
                return;
        free(n->published);
        n->published = TAKE_PTR(j);
        if (n->cb.publish)
                n->cb.publish(n->published, n->cb.userdata);
}

static void reconcile(struct node *n)
{
        int64_t now = now_realtime();
        _cleanup_free_ struct source_origin **origins = NULL;
        size_t k = gather_origins(n, &origins);
        _cleanup_(desired_set_done) struct desired_set d = { 0 };
        if (desired_set_build(origins, k, &d) < 0)
                return;
        report_conflicts(n, &d);
        size_t before = n->n_pods;
        for (size_t i = 0; i < d.n; i++)
                add_desired(n, d.pods[i], now);
        bool changed = n->n_pods != before;
        for (size_t i = 0; i < n->n_pods; i++) {
                struct npod *p = n->pods[i];
                if (p->stopping || desired_set_find(&d, p->rec.uid))
                        continue;
                if (origin_keeps(n, p)) {
                        if (p->from_disk)
                                pod_emit(p, NODE_EVENT_NORMAL, "Adopted",
                                         "pod adopted from the state on disk: its manifest does "
                                         "not read now, the last good version stays");
                        p->from_disk = false;
                        continue;
                }
                begin_stop(p, p->src ? "its manifest no longer declares it"
                                     : "no manifest declares it");
                changed = true;
        }
        /* sync_pod may remove the pod it syncs: walk a copy */
        _cleanup_free_ struct npod **v = calloc(n->n_pods + 1, sizeof(*v));
        size_t nv = n->n_pods;
        for (size_t i = 0; v && i < nv; i++)
                v[i] = n->pods[i];
        for (size_t i = 0; v && i < nv; i++)
                sync_pod(v[i], now);
        if (changed)
                update_tiers(n);
        publish(n);
}

static int on_defer(sd_event_source *s, void *userdata)
{
        reconcile(userdata);
        return 0;
}

void node_schedule(struct node *n)
{
        (void)sd_event_source_set_enabled(n->defer, SD_EVENT_ONESHOT);
}

static int cmp_npod(const void *a, const void *b)
{
        const struct npod *x = *(struct npod *const *)a, *y = *(struct npod *const *)b;
        int r = strcmp(x->rec.namespace ? x->rec.namespace : "",
                       y->rec.namespace ? y->rec.namespace : "");
        return r ? r : strcmp(x->rec.name ? x->rec.name : "", y->rec.name ? y->rec.name : "");
}

char *node_pods_json(struct node *n)
{
        _cleanup_free_ struct npod **v = calloc(n->n_pods + 1, sizeof(*v));
        size_t k = 0;
        if (!v)
                return NULL;
        for (size_t i = 0; i < n->n_pods; i++)
                if (n->pods[i]->src)
                        v[k++] = n->pods[i];
        qsort(v, k, sizeof(*v), cmp_npod);
        json_t *items = json_array();
        for (size_t i = 0; i < k; i++) {
                struct podjson_input in = {
                        .pod = v[i]->src->pod,
                        .source_kind = v[i]->src->kind,
                        .plan = v[i]->planned ? &v[i]->plan : NULL,
                        .driver = n->info->driver,
                        .status = v[i]->have_status ? &v[i]->status : NULL,
                        .created_at = v[i]->rec.accepted_at,
                        .deleted_at = v[i]->deleted_at,
                        .condition_times = v[i]->cond_times,
                };
                json_array_append_new(items, podjson_pod(&in));
        }
        json_t *list = podjson_list(items);
        char *s = list ? json_dumps(list, JSON_COMPACT) : NULL;
        json_decref(list);
        return s;
}

void node_counts(const struct node *n, unsigned *ret_pods, unsigned *ret_stopping)
{
        unsigned pods = 0, stopping = 0;
        for (size_t i = 0; i < n->n_pods; i++)
                if (n->pods[i]->stopping)
                        stopping++;
                else
                        pods++;
        *ret_pods = pods;
        *ret_stopping = stopping;
}

static void on_source_changed(void *userdata)
{
        node_schedule(userdata);
}

static void on_source_event(const struct source_event *e, void *userdata)
{
        emit(userdata, e->type == SOURCE_EVENT_WARNING ? NODE_EVENT_WARNING : NODE_EVENT_NORMAL,
             e->reason, e->origin, e->pod_uid, "%s", e->message);
}

static void on_pod_changed(const char *uid, void *userdata)
{
        node_schedule(userdata);
}

static const struct source_callbacks source_cb = {
        .changed = on_source_changed,
        .event = on_source_event,
};

static int open_sources(struct node *n, const struct node_options *o, struct qerr **err)
{
        if (o->manifest_path) {
                struct dir_source_options d = {
                        .path = o->manifest_path,
                        .manifest = n->mopts,
                        .check_frequency_usec = o->file_check_frequency_usec,
                };
                int r = dir_source_new(n->event, &d, &source_cb, n, &n->dir, err);
                if (r < 0)
                        return r;
        }
        if (o->manifest_url) {
                struct url_source_options u = {
                        .url = o->manifest_url,
                        .headers = o->manifest_url_headers,
                        .manifest = n->mopts,
                        .check_frequency_usec = o->http_check_frequency_usec,
                };
                return url_source_new(n->event, &u, &source_cb, n, &n->url, err);
        }
        return 0;
}

/* Pods an earlier daemon left: their records on disk, and what the runtime still runs. */
static int load_state(struct node *n, struct qerr **err)
{
        _cleanup_strv_free_ char **uids = NULL, **running = NULL;
        int r = state_list_pods(n->root_dir, &uids, err);
        if (r < 0)
                return r;
        STRV_FOREACH (u, uids) {
                _cleanup_qerr_ struct qerr *e = NULL;
                struct npod *p = add_npod(n);
                if (!p)
                        return qerr_set(err, ENOMEM, "load pods");
                if (state_load_pod(n->root_dir, *u, true, &p->rec, &e) < 0) {
                        emit(n, NODE_EVENT_WARNING, "StateUnreadable", *u, *u, "%s", qerr_msg(e));
                        p->rec.uid = strdup(*u);
                }
                p->from_disk = true;
                p->src = source_pod_from_record(n, &p->rec);
                free(p->rec.manifest);
                p->rec.manifest = NULL;
                if (p->rec.stopping || !p->rec.uid)
                        begin_stop(p, "an earlier daemon was stopping it");
        }
        r = n->rt->ops->list_running(n->rt->data, &running, err);
        if (r < 0)
                return qerr_wrap(err, "list the runtime's pods");
        STRV_FOREACH (u, running) {
                if (find_pod(n, *u))
                        continue;
                struct npod *p = add_npod(n);
                if (!p || !(p->rec.uid = strdup(*u)))
                        return qerr_set(err, ENOMEM, "load pods");
                begin_stop(p, "the runtime runs it but no state on disk names it");
        }
        return 0;
}

int node_new(sd_event *event, const struct node_options *o, const struct node_callbacks *cb,
             struct node **ret, struct qerr **err)
{
        _cleanup_(node_freep) struct node *n = calloc(1, sizeof(*n));
        if (!n)
                return qerr_set(err, ENOMEM, "create the node");
        n->event = sd_event_ref(event);
        n->node_name = strdup(o->node_name);
        n->root_dir = strdup(o->root_dir);
        n->host_ip = o->host_ip ? strdup(o->host_ip) : NULL;
        n->info = o->info;
        n->cb = cb ? *cb : (struct node_callbacks){ 0 };
        n->mopts = (struct manifest_options){ .node_name = n->node_name, .strict = o->strict };
        if (!n->node_name || !n->root_dir || (o->host_ip && !n->host_ip))
                return qerr_set(err, ENOMEM, "create the node");
        int r = mkdir_p(n->root_dir, 0700, err);
        if (r < 0)
                return r;
        struct pod_runtime_env env = { .event = event,
                                       .root_dir = o->root_dir,
                                       .run_dir = o->run_dir,
                                       .log_dir = o->log_dir,
                                       .shim_path = o->shim_path,
                                       .host_ip = o->host_ip,
                                       .insecure_registries = o->insecure_registries,
                                       .info = o->info,
                                       .manifest = &n->mopts,
                                       .pod_changed = on_pod_changed,
                                       .userdata = n };
        r = o->runtime_new(&env, &n->rt, err);
        if (r < 0)
                return r;
        r = sd_event_add_defer(event, &n->defer, on_defer, n);
        if (r < 0)
                return qerr_set_errno(err, -r, "add the reconcile event");
        (void)sd_event_source_set_enabled(n->defer, SD_EVENT_ONESHOT);
        r = load_state(n, err);
        if (r >= 0)
                r = open_sources(n, o, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(n);
        return 0;
}

void node_free(struct node *n)
{
        if (!n)
                return;
        /* The pods keep running: stopping the daemon is not stopping its pods. */
        for (size_t i = 0; i < n->n_pods; i++)
                npod_free(n->pods[i]);
        free(n->pods);
        dir_source_free(n->dir);
        url_source_free(n->url);
        node_runtime_free(n->rt);
        sd_event_source_disable_unref(n->defer);
        strv_free(n->conflicts);
        free(n->published);
        free(n->node_name);
        free(n->root_dir);
        free(n->host_ip);
        sd_event_unref(n->event);
        free(n);
}
