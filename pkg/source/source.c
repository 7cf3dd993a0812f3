/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "source/source.h"

struct manifest_blob *manifest_blob_new(const char *data, size_t len)
{
        struct manifest_blob *b = malloc(sizeof(*b) + len + 1);
        if (!b)
                return NULL;
        b->n_ref = 1;
        b->len = len;
        memcpy(b->data, data, len);
        b->data[len] = 0;
        return b;
}

struct manifest_blob *manifest_blob_ref(struct manifest_blob *b)
{
        if (b)
                b->n_ref++;
        return b;
}

void manifest_blob_unref(struct manifest_blob *b)
{
        if (b && --b->n_ref == 0)
                free(b);
}

struct source_pod *source_pod_ref(struct source_pod *p)
{
        if (p)
                p->n_ref++;
        return p;
}

void source_pod_unref(struct source_pod *p)
{
        if (!p || --p->n_ref > 0)
                return;
        pod_free(p->pod);
        free(p->origin);
        manifest_blob_unref(p->raw);
        free(p);
}

static void pods_unref(struct source_pod **l, size_t n)
{
        for (size_t i = 0; i < n; i++)
                source_pod_unref(l[i]);
        free(l);
}

void source_origin_free(struct source_origin *o)
{
        if (!o)
                return;
        free(o->name);
        pods_unref(o->pods, o->n_pods);
        free(o->error);
        free(o);
}

static void emit(const struct source_callbacks *cb, void *userdata, enum source_event_type t,
                 const char *reason, const char *origin, const char *message)
{
        struct source_event e = {
                .type = t, .reason = reason, .origin = origin, .message = message
        };
        if (cb && cb->event)
                cb->event(&e, userdata);
}

void source_origin_fail(struct source_origin *o, const char *error,
                        const struct source_callbacks *cb, void *userdata)
{
        /* Tell once per distinct failure: a file that stays broken is not news. */
        if (o->error && strcmp(o->error, error) == 0)
                return;
        free(o->error);
        o->error = strdup(error);
        _cleanup_free_ char *msg = NULL;
        int r;
        if (o->n_pods > 0)
                r = asprintf(&msg, "%s; keeping its %zu pod%s from the last good read", error,
                             o->n_pods, o->n_pods == 1 ? "" : "s");
        else
                r = asprintf(&msg, "%s; no pod from it", error);
        emit(cb, userdata, SOURCE_EVENT_WARNING, o->n_pods > 0 ? "ManifestKept" : "ManifestInvalid",
             o->name, r < 0 ? error : msg);
}

static char *first_error(const struct diag_list *d)
{
        for (size_t i = 0; i < d->n; i++)
                if (d->items[i].severity == DIAG_ERROR)
                        return diag_format(&d->items[i]);
        return strdup("invalid manifest");
}

static bool same_pods(const struct source_origin *o, const struct pod_list *l)
{
        if (o->n_pods != l->n || !o->ever_good)
                return false;
        for (size_t i = 0; i < l->n; i++) {
                const struct pod *a = o->pods[i]->pod, *b = l->pods[i];
                if (strcmp(a->metadata.uid, b->metadata.uid) != 0 ||
                    strcmp(a->config_hash ? a->config_hash : "",
                           b->config_hash ? b->config_hash : "") != 0)
                        return false;
        }
        return true;
}

static int wrap_pods(struct source_origin *o, struct pod_list *l, const char *kind,
                     struct manifest_blob *raw, struct source_pod ***ret)
{
        struct source_pod **v = calloc(l->n + 1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < l->n; i++) {
                v[i] = calloc(1, sizeof(**v));
                if (!v[i] || !(v[i]->origin = strdup(o->name))) {
                        free(v[i]);
                        pods_unref(v, i);
                        return -ENOMEM;
                }
                v[i]->n_ref = 1;
                v[i]->kind = kind;
                v[i]->raw = manifest_blob_ref(raw);
                v[i]->pod = TAKE_PTR(l->pods[i]);
        }
        *ret = v;
        return 0;
}

static void report_warnings(const struct source_origin *o, const struct diag_list *d,
                            const struct source_callbacks *cb, void *userdata)
{
        for (size_t i = 0; i < d->n; i++) {
                if (d->items[i].severity != DIAG_WARNING)
                        continue;
                _cleanup_free_ char *m = diag_format(&d->items[i]);
                emit(cb, userdata, SOURCE_EVENT_WARNING, "ManifestWarning", o->name,
                     m ? m : d->items[i].message);
        }
}

int source_origin_update(struct source_origin *o, const char *data, size_t len,
                         const char *uid_source, const char *kind,
                         const struct manifest_options *opts, const struct source_callbacks *cb,
                         void *userdata)
{
        _cleanup_(diag_list_done) struct diag_list diags = { 0 };
        _cleanup_(pod_list_done) struct pod_list l = { 0 };
        if (manifest_decode(data, len, o->name, uid_source, opts, &l, &diags) < 0) {
                _cleanup_free_ char *e = first_error(&diags);
                source_origin_fail(o, e ? e : "invalid manifest", cb, userdata);
                return 0;
        }
        if (o->error)
                emit(cb, userdata, SOURCE_EVENT_NORMAL, "ManifestValid", o->name,
                     "the manifest reads well again");
        free(o->error);
        o->error = NULL;
        if (same_pods(o, &l))
                return 0;
        struct manifest_blob *raw = manifest_blob_new(data, len);
        struct source_pod **v = NULL;
        int r = raw ? wrap_pods(o, &l, kind, raw, &v) : -ENOMEM;
        manifest_blob_unref(raw);
        if (r < 0) {
                source_origin_fail(o, "out of memory", cb, userdata);
                return 0;
        }
        report_warnings(o, &diags, cb, userdata);
        pods_unref(o->pods, o->n_pods);
        o->pods = v;
        o->n_pods = l.n;
        o->ever_good = true;
        return 1;
}

struct entry {
        struct source_pod *p;
        size_t rank; /* position in (origin byte order, index in the origin) */
        bool lost;
};

static int cmp_origin(const void *a, const void *b)
{
        const struct source_origin *x = *(struct source_origin *const *)a;
        const struct source_origin *y = *(struct source_origin *const *)b;
        return strcmp(x->name, y->name);
}

static int cmp_name(const void *a, const void *b)
{
        const struct entry *x = a, *y = b;
        int r = strcmp(x->p->pod->metadata.namespace, y->p->pod->metadata.namespace);
        if (r == 0)
                r = strcmp(x->p->pod->metadata.name, y->p->pod->metadata.name);
        return r ? r : (x->rank > y->rank) - (x->rank < y->rank);
}

static int cmp_uid(const void *a, const void *b)
{
        const struct entry *x = a, *y = b;
        int r = strcmp(x->p->pod->metadata.uid, y->p->pod->metadata.uid);
        return r ? r : (x->rank > y->rank) - (x->rank < y->rank);
}

static int add_conflict(char ***l, size_t *n, const struct entry *win, const struct entry *lose,
                        const char *what)
{
        char **nl = realloc(*l, (*n + 2) * sizeof(char *));
        if (!nl)
                return -ENOMEM;
        *l = nl;
        const struct pod *p = lose->p->pod;
        if (asprintf(&nl[*n],
                     "%s '%s/%s' is declared in '%s' and in '%s': running the one from "
                     "'%s' (the first in byte order)",
                     what, p->metadata.namespace, p->metadata.name, win->p->origin, lose->p->origin,
                     win->p->origin) < 0)
                return -ENOMEM;
        nl[++*n] = NULL;
        return 0;
}

static bool same_name(const struct entry *x, const struct entry *y)
{
        return (strcmp(x->p->pod->metadata.namespace, y->p->pod->metadata.namespace) == 0 &&
                strcmp(x->p->pod->metadata.name, y->p->pod->metadata.name) == 0);
}

static bool same_uid(const struct entry *x, const struct entry *y)
{
        return strcmp(x->p->pod->metadata.uid, y->p->pod->metadata.uid) == 0;
}

/* Sorts by key, then rank; in each group of equal keys the first entry that did not lose
 * already wins and the others lose. */
static int mark_losers(struct entry *v, size_t n, int (*cmp)(const void *, const void *),
                       bool (*same)(const struct entry *, const struct entry *), const char *what,
                       char ***conflicts, size_t *n_conflicts)
{
        qsort(v, n, sizeof(*v), cmp);
        for (size_t start = 0, end; start < n; start = end) {
                for (end = start + 1; end < n && same(&v[start], &v[end]); end++)
                        ;
                const struct entry *win = NULL;
                for (size_t i = start; i < end; i++) {
                        if (v[i].lost)
                                continue;
                        if (!win) {
                                win = &v[i];
                                continue;
                        }
                        if (add_conflict(conflicts, n_conflicts, win, &v[i], what) < 0)
                                return -ENOMEM;
                        v[i].lost = true;
                }
        }
        return 0;
}

static int collect(struct source_origin *const *origins, size_t n_origins, struct entry **ret,
                   size_t *ret_n)
{
        _cleanup_free_ struct source_origin **sorted = calloc(n_origins + 1, sizeof(*sorted));
        size_t total = 0;
        if (!sorted)
                return -ENOMEM;
        for (size_t i = 0; i < n_origins; i++) {
                sorted[i] = origins[i];
                total += origins[i]->n_pods;
        }
        qsort(sorted, n_origins, sizeof(*sorted), cmp_origin);
        struct entry *v = calloc(total + 1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        size_t k = 0;
        for (size_t i = 0; i < n_origins; i++)
                for (size_t j = 0; j < sorted[i]->n_pods; j++, k++)
                        v[k] = (struct entry){ .p = sorted[i]->pods[j], .rank = k };
        *ret = v;
        *ret_n = total;
        return 0;
}

int desired_set_build(struct source_origin *const *origins, size_t n_origins,
                      struct desired_set *ret)
{
        _cleanup_free_ struct entry *v = NULL;
        size_t n = 0, n_conflicts = 0;
        _cleanup_strv_free_ char **conflicts = calloc(1, sizeof(char *));
        if (!conflicts || collect(origins, n_origins, &v, &n) < 0)
                return -ENOMEM;
        if (mark_losers(v, n, cmp_name, same_name, "pod", &conflicts, &n_conflicts) < 0 ||
            mark_losers(v, n, cmp_uid, same_uid, "pod UID of", &conflicts, &n_conflicts) < 0)
                return -ENOMEM;
        /* v is sorted by UID now */
        struct desired_set s = { .pods = calloc(n + 1, sizeof(*s.pods)) };
        if (!s.pods)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!v[i].lost)
                        s.pods[s.n++] = source_pod_ref(v[i].p);
        s.conflicts = TAKE_PTR(conflicts);
        *ret = s;
        return 0;
}

void desired_set_done(struct desired_set *s)
{
        pods_unref(s->pods, s->n);
        strv_free(s->conflicts);
        *s = (struct desired_set){ 0 };
}

struct source_pod *desired_set_find(const struct desired_set *s, const char *uid)
{
        size_t lo = 0, hi = s->n;
        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                int r = strcmp(s->pods[mid]->pod->metadata.uid, uid);
                if (r == 0)
                        return s->pods[mid];
                if (r < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}
