/* SPDX-License-Identifier: Apache-2.0 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "qos/podres.h"
#include "qos/qos.h"

#define OOM_GUARANTEED (-997)
#define OOM_BESTEFFORT 1000

static const char *const qos_class_names[_QOS_CLASS_MAX] = {
        [QOS_GUARANTEED] = "Guaranteed",
        [QOS_BURSTABLE] = "Burstable",
        [QOS_BESTEFFORT] = "BestEffort",
};

const char *qos_class_to_string(enum qos_class c)
{
        if (c < 0 || c >= _QOS_CLASS_MAX)
                return NULL;
        return qos_class_names[c];
}

/* Class of one requirement set, counting only cpu and memory. */
static enum qos_class requirements_class(const struct resource_list *req,
                                         const struct resource_list *lim)
{
        static const char *const names[] = { "cpu", "memory" };
        bool guaranteed = false, besteffort = false;

        if (req->n == 0 && lim->n == 0)
                return QOS_BESTEFFORT;
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                __int128 r = podres_get(req, names[i]), l = podres_get(lim, names[i]);
                if (r != l)
                        return QOS_BURSTABLE;
                if (r == 0)
                        besteffort = true;
                else
                        guaranteed = true;
        }
        if (guaranteed && besteffort)
                return QOS_BURSTABLE;
        return guaranteed ? QOS_GUARANTEED : QOS_BESTEFFORT;
}

static enum qos_class combine(enum qos_class acc, enum qos_class c)
{
        if (acc == _QOS_CLASS_INVALID)
                return c;
        return acc == c ? c : QOS_BURSTABLE;
}

enum qos_class qos_pod_class(const struct pod *p)
{
        enum qos_class acc = _QOS_CLASS_INVALID;

        if (podres_pod_level_set(p))
                return requirements_class(&p->spec.resources.requests, &p->spec.resources.limits);
        for (size_t i = 0; i < p->spec.n_init_containers; i++) {
                const struct resources *r = &p->spec.init_containers[i].resources;
                acc = combine(acc, requirements_class(&r->requests, &r->limits));
        }
        for (size_t i = 0; i < p->spec.n_containers; i++) {
                const struct resources *r = &p->spec.containers[i].resources;
                acc = combine(acc, requirements_class(&r->requests, &r->limits));
        }
        return acc == _QOS_CLASS_INVALID ? QOS_BESTEFFORT : acc;
}

uint64_t qos_milli_cpu_to_shares(int64_t milli)
{
        if (milli <= 0)
                return QOS_MIN_SHARES;
        /* Above this the product overflows, and the result is capped anyway. */
        if (milli > INT64_MAX / QOS_SHARES_PER_CPU)
                return QOS_MAX_SHARES;
        int64_t s = milli * QOS_SHARES_PER_CPU / 1000;
        if (s < QOS_MIN_SHARES)
                return QOS_MIN_SHARES;
        if (s > QOS_MAX_SHARES)
                return QOS_MAX_SHARES;
        return (uint64_t)s;
}

int64_t qos_milli_cpu_to_quota(int64_t milli, int64_t period)
{
        if (milli == 0)
                return 0;
        __int128 q = (__int128)milli * period / 1000;
        if (q < QOS_MIN_QUOTA_PERIOD)
                return QOS_MIN_QUOTA_PERIOD;
        return q > INT64_MAX ? INT64_MAX : (int64_t)q;
}

int64_t qos_shares_to_milli_cpu(uint64_t shares)
{
        if (shares < QOS_MIN_SHARES)
                return 0;
        return (int64_t)(((__int128)shares * 1000 + QOS_SHARES_PER_CPU - 1) / QOS_SHARES_PER_CPU);
}

int64_t qos_quota_to_milli_cpu(int64_t quota, int64_t period)
{
        if (quota == -1 || period <= 0)
                return 0;
        return (int64_t)((__int128)quota * 1000 / period);
}

uint64_t qos_shares_to_weight_linear(uint64_t shares)
{
        if (shares >= QOS_MAX_SHARES)
                return QOS_MAX_WEIGHT;
        if (shares < QOS_MIN_SHARES)
                return 1;
        return 1 + (shares - 2) * 9999 / 262142;
}

uint64_t qos_weight_to_shares_linear(uint64_t weight)
{
        if (weight < 1)
                return QOS_MIN_SHARES;
        return 2 + (weight - 1) * 262142 / 9999;
}

uint64_t qos_shares_to_weight_quadratic(uint64_t shares)
{
        if (shares == 0)
                return 0;
        if (shares <= QOS_MIN_SHARES)
                return 1;
        if (shares >= QOS_MAX_SHARES)
                return QOS_MAX_WEIGHT;
        /* The runtimes' curve through (2, 1), (1024, 100) and (262144, 10000); computed in
         * double precision as they do, so the rounding matches value for value. */
        double l = log2((double)shares);
        double exponent = (l * l + 125 * l) / 612.0 - 7.0 / 34.0;
        return (uint64_t)ceil(pow(10, exponent));
}

int64_t qos_systemd_round_quota(int64_t quota, int64_t period)
{
        if (quota <= 0 || period <= 0)
                return quota;
        /* systemd keeps CPUQuotaPerSecUSec in whole percents (10 ms per second): a quota that
         * is not a multiple is rounded up, else a child could not get the quota it asks for. */
        __int128 per_sec = (__int128)quota * 1000000 / period;
        if (per_sec % 10000 != 0)
                per_sec = (per_sec / 10000 + 1) * 10000;
        __int128 q = per_sec * period / 1000000;
        return q > INT64_MAX ? INT64_MAX : (int64_t)q;
}

char *qos_hugepage_size_string(uint64_t bytes)
{
        static const char *const units[] = { "B", "KB", "MB", "GB", "TB", "PB" };
        size_t u = 0;
        char *s;

        while (bytes >= 1024 && bytes % 1024 == 0 && u + 1 < ELEMENTSOF(units)) {
                bytes /= 1024;
                u++;
        }
        if (asprintf(&s, "%" PRIu64 "%s", bytes, units[u]) < 0)
                return NULL;
        return s;
}

static bool pod_is_node_critical(const struct pod *p)
{
        /* Every qoslet pod is a static pod, and the kubelet counts static pods as critical,
         * so the priority class alone decides. */
        return p->spec.priority_class_name &&
               strcmp(p->spec.priority_class_name, "system-node-critical") == 0;
}

static bool is_init_container(const struct pod *p, const struct container *c)
{
        return p->spec.n_init_containers > 0 && c >= p->spec.init_containers &&
               c < p->spec.init_containers + p->spec.n_init_containers;
}

/* Pod-level memory request not claimed by any container, shared out evenly. */
static int64_t remaining_pod_memory_per_container(const struct pod *p)
{
        int64_t pod_req = podres_value(podres_get(&p->spec.resources.requests, "memory"));
        size_t n = p->spec.n_containers + p->spec.n_init_containers;
        if (pod_req == 0 || n == 0)
                return 0;
        int64_t aggregate = podres_value(podres_aggregate(p, false, "memory", NULL));
        return (pod_req - aggregate) / (int64_t)n;
}

static int64_t burstable_adj(int64_t mem_req, uint64_t mem_capacity)
{
        if (mem_capacity == 0)
                return OOM_BESTEFFORT;
        return OOM_BESTEFFORT - (int64_t)((__int128)1000 * mem_req / (__int128)mem_capacity);
}

static int64_t min_regular_memory_request(const struct pod *p)
{
        int64_t m = INT64_MAX;
        for (size_t i = 0; i < p->spec.n_containers; i++)
                m = MIN(m, podres_value(podres_get(&p->spec.containers[i].resources.requests,
                                                   "memory")));
        return p->spec.n_containers > 0 ? m : 0;
}

int qos_oom_score_adj(const struct pod *p, const struct container *c, uint64_t mem_capacity)
{
        if (pod_is_node_critical(p))
                return OOM_GUARANTEED;
        switch (qos_pod_class(p)) {
        case QOS_GUARANTEED:
                return OOM_GUARANTEED;
        case QOS_BESTEFFORT:
                return OOM_BESTEFFORT;
        default:
                break;
        }

        int64_t extra = podres_pod_level_requests_set(p) ? remaining_pod_memory_per_container(p)
                                                         : 0;
        int64_t mem_req = podres_value(podres_get(&c->resources.requests, "memory"));
        int64_t adj = burstable_adj(mem_req + extra, mem_capacity);
        /* A sidecar runs as long as the app containers, so it must not be killed before the
         * one of them that would be killed first. */
        if (is_init_container(p, c) && container_is_sidecar(c))
                adj = MIN(adj, burstable_adj(min_regular_memory_request(p) + extra, mem_capacity));
        if (adj < OOM_BESTEFFORT + OOM_GUARANTEED)
                return OOM_BESTEFFORT + OOM_GUARANTEED;
        if (adj == OOM_BESTEFFORT)
                return OOM_BESTEFFORT - 1;
        return (int)adj;
}
