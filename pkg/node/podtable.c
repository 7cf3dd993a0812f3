/* SPDX-License-Identifier: Apache-2.0 */
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "basic/macro.h"
#include "node/podtable.h"

char *podtable_human_duration(int64_t s)
{
        char *r = NULL;
        int q;
        int64_t m = s / 60, h = s / 3600, d = h / 24;
        if (s < -1)
                return strdup("<invalid>");
        if (s < 0)
                s = 0;
        if (s < 120)
                q = asprintf(&r, "%llds", (long long)s);
        else if (m < 10)
                q = s % 60 ? asprintf(&r, "%lldm%llds", (long long)m, (long long)(s % 60))
                           : asprintf(&r, "%lldm", (long long)m);
        else if (m < 180)
                q = asprintf(&r, "%lldm", (long long)m);
        else if (h < 8)
                q = m % 60 ? asprintf(&r, "%lldh%lldm", (long long)h, (long long)(m % 60))
                           : asprintf(&r, "%lldh", (long long)h);
        else if (h < 48)
                q = asprintf(&r, "%lldh", (long long)h);
        else if (h < 24 * 8)
                q = h % 24 ? asprintf(&r, "%lldd%lldh", (long long)d, (long long)(h % 24))
                           : asprintf(&r, "%lldd", (long long)d);
        else if (h < 24 * 365 * 2)
                q = asprintf(&r, "%lldd", (long long)d);
        else if (h < 24 * 365 * 8)
                q = d % 365 ? asprintf(&r, "%lldy%lldd", (long long)(d / 365), (long long)(d % 365))
                            : asprintf(&r, "%lldy", (long long)(d / 365));
        else
                q = asprintf(&r, "%lldy", (long long)(d / 365));
        return q < 0 ? NULL : r;
}

int64_t podtable_parse_time(const char *s)
{
        struct tm tm = { 0 };
        const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
        if (!end || *end)
                return -1;
        return (int64_t)timegm(&tm);
}

static const char *str(json_t *o, const char *key)
{
        return json_string_value(json_object_get(o, key));
}

static json_t *find_spec_container(json_t *pod, const char *name)
{
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(json_object_get(pod, "spec"), "initContainers"), i,
                           c) if (str(c, "name") && name &&
                                  strcmp(str(c, "name"), name) == 0) return c;
        return NULL;
}

static bool is_sidecar(json_t *pod, const char *name)
{
        const char *p = str(find_spec_container(pod, name), "restartPolicy");
        return p && strcmp(p, "Always") == 0;
}

static bool condition_true(json_t *pod, const char *type)
{
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(json_object_get(pod, "status"), "conditions"), i,
                           c) if (str(c, "type") &&
                                  strcmp(str(c, "type"), type) == 0) return str(c, "status") &&
                strcmp(str(c, "status"), "True") == 0;
        return false;
}

struct counts {
        long restarts, sidecar_restarts;
        int64_t last, sidecar_last; /* latest lastState.terminated.finishedAt */
        int ready, total;
        char reason[256];
};

static int64_t last_finished(json_t *cs)
{
        json_t *t = json_object_get(json_object_get(cs, "lastState"), "terminated");
        return t ? podtable_parse_time(str(t, "finishedAt")) : -1;
}

static void terminated_reason(json_t *t, const char *prefix, char *buf, size_t len)
{
        if (str(t, "reason") && *str(t, "reason"))
                snprintf(buf, len, "%s%s", prefix, str(t, "reason"));
        else if (json_integer_value(json_object_get(t, "signal")) != 0)
                snprintf(buf, len, "%sSignal:%lld", prefix,
                         (long long)json_integer_value(json_object_get(t, "signal")));
        else
                snprintf(buf, len, "%sExitCode:%lld", prefix,
                         (long long)json_integer_value(json_object_get(t, "exitCode")));
}

static void add_restarts(struct counts *k, json_t *cs, bool sidecar)
{
        long rc = (long)json_integer_value(json_object_get(cs, "restartCount"));
        int64_t f = last_finished(cs);
        k->restarts += rc;
        k->last = MAX(k->last, f);
        if (sidecar) {
                k->sidecar_restarts += rc;
                k->sidecar_last = MAX(k->sidecar_last, f);
        }
}

/* Returns true while the pod is still initializing. */
static bool init_reason(json_t *pod, struct counts *k)
{
        json_t *spec_init = json_object_get(json_object_get(pod, "spec"), "initContainers");
        size_t i;
        json_t *cs;
        json_array_foreach(json_object_get(json_object_get(pod, "status"), "initContainerStatuses"),
                           i, cs)
        {
                bool sidecar = is_sidecar(pod, str(cs, "name"));
                add_restarts(k, cs, sidecar);
                json_t *state = json_object_get(cs, "state");
                json_t *t = json_object_get(state, "terminated"),
                       *w = json_object_get(state, "waiting");
                if (t && json_integer_value(json_object_get(t, "exitCode")) == 0)
                        continue;
                if (sidecar && json_is_true(json_object_get(cs, "started"))) {
                        k->ready += json_is_true(json_object_get(cs, "ready"));
                        continue;
                }
                if (t)
                        terminated_reason(t, "Init:", k->reason, sizeof(k->reason));
                else if (w && str(w, "reason") && *str(w, "reason") &&
                         strcmp(str(w, "reason"), "PodInitializing") != 0)
                        snprintf(k->reason, sizeof(k->reason), "Init:%s", str(w, "reason"));
                else
                        snprintf(k->reason, sizeof(k->reason), "Init:%zu/%zu", i,
                                 json_array_size(spec_init));
                return true;
        }
        return false;
}

static void regular_reason(json_t *pod, struct counts *k)
{
        json_t *l = json_object_get(json_object_get(pod, "status"), "containerStatuses");
        bool running = false;
        k->restarts = k->sidecar_restarts;
        k->last = k->sidecar_last;
        for (size_t i = json_array_size(l); i-- > 0;) {
                json_t *cs = json_array_get(l, i), *state = json_object_get(cs, "state");
                json_t *w = json_object_get(state, "waiting"),
                       *t = json_object_get(state, "terminated");
                add_restarts(k, cs, false);
                if (w && str(w, "reason") && *str(w, "reason"))
                        snprintf(k->reason, sizeof(k->reason), "%s", str(w, "reason"));
                else if (t)
                        terminated_reason(t, "", k->reason, sizeof(k->reason));
                else if (json_is_true(json_object_get(cs, "ready")) &&
                         json_object_get(state, "running")) {
                        running = true;
                        k->ready++;
                }
        }
        if (strcmp(k->reason, "Completed") == 0 && running)
                snprintf(k->reason, sizeof(k->reason), "%s",
                         condition_true(pod, "Ready") ? "Running" : "NotReady");
}

static int count_sidecars(json_t *pod)
{
        size_t i;
        json_t *c;
        int n = 0;
        json_array_foreach(json_object_get(json_object_get(pod, "spec"), "initContainers"), i, c)
                n += str(c, "restartPolicy") && strcmp(str(c, "restartPolicy"), "Always") == 0;
        return n;
}

static char *restarts_text(const struct counts *k, int64_t now)
{
        char *r = NULL;
        if (k->restarts != 0 && k->last > 0) {
                _cleanup_free_ char *ago = podtable_human_duration(now - k->last);
                if (ago && asprintf(&r, "%ld (%s ago)", k->restarts, ago) >= 0)
                        return r;
                return NULL;
        }
        return asprintf(&r, "%ld", k->restarts) < 0 ? NULL : r;
}

static char *dup_or(const char *s, const char *fallback)
{
        return strdup(s && *s ? s : fallback);
}

int podtable_row(json_t *pod, int64_t now, struct pod_row *ret)
{
        json_t *meta = json_object_get(pod, "metadata"), *status = json_object_get(pod, "status");
        json_t *spec = json_object_get(pod, "spec");
        struct counts k = { .last = -1, .sidecar_last = -1 };
        const char *phase = str(status, "phase");
        snprintf(k.reason, sizeof(k.reason), "%s",
                 str(status, "reason") ? str(status, "reason")
                 : phase               ? phase
                                       : "");
        k.total = (int)json_array_size(json_object_get(spec, "containers")) + count_sidecars(pod);
        bool initializing = init_reason(pod, &k);
        if (!initializing || condition_true(pod, "Initialized"))
                regular_reason(pod, &k);
        bool terminal = phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0);
        if (json_object_get(meta, "deletionTimestamp") && !terminal)
                snprintf(k.reason, sizeof(k.reason), "Terminating");
        int64_t created = podtable_parse_time(str(meta, "creationTimestamp"));
        struct pod_row r = {
                .namespace = dup_or(str(meta, "namespace"), "default"),
                .name = dup_or(str(meta, "name"), ""),
                .status = strdup(k.reason),
                .restarts = restarts_text(&k, now),
                .age = created < 0 ? strdup("<unknown>") : podtable_human_duration(now - created),
                .qos = dup_or(str(status, "qosClass"), "<none>"),
                .ip = dup_or(str(status, "podIP"), "<none>"),
                .node = dup_or(str(spec, "nodeName"), "<none>"),
                .uid = dup_or(str(meta, "uid"), ""),
                .cgroup = dup_or(str(json_object_get(meta, "annotations"), "qoslet/cgroup-path"),
                                 "<none>"),
        };
        if (asprintf(&r.ready, "%d/%d", k.ready, k.total) < 0)
                r.ready = NULL;
        if (!r.namespace || !r.name || !r.status || !r.restarts || !r.age || !r.qos || !r.ip ||
            !r.node || !r.uid || !r.cgroup || !r.ready) {
                pod_row_done(&r);
                return -ENOMEM;
        }
        *ret = r;
        return 0;
}

void pod_row_done(struct pod_row *r)
{
        free(r->namespace);
        free(r->name);
        free(r->ready);
        free(r->status);
        free(r->restarts);
        free(r->age);
        free(r->qos);
        free(r->ip);
        free(r->node);
        free(r->uid);
        free(r->cgroup);
        *r = (struct pod_row){ 0 };
}
