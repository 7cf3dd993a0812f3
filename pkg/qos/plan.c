/* SPDX-License-Identifier: Apache-2.0 */
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "qos/plan.h"
#include "qos/podres.h"

/* 2^62: what the kubelet writes to the QoS tiers' hugetlb limits to leave them unbounded. */
#define HUGETLB_UNBOUNDED "4611686018427387904"

const char *cg_values_get(const struct cg_values *v, const char *name)
{
        for (size_t i = 0; i < v->n; i++)
                if (strcmp(v->files[i].name, name) == 0)
                        return v->files[i].value;
        return NULL;
}

void cg_values_done(struct cg_values *v)
{
        for (size_t i = 0; i < v->n; i++) {
                free(v->files[i].name);
                free(v->files[i].value);
        }
        free(v->files);
        *v = (struct cg_values){ 0 };
}

/* Appends a file; *r is sticky, so a run of adds is checked once at the end. */
_printf_(4, 5) static void cg_add(struct cg_values *v, int *r, const char *name, const char *fmt,
                                  ...)
{
        _cleanup_free_ char *n = NULL, *val = NULL;
        va_list ap;

        if (*r < 0)
                return;
        n = strdup(name);
        va_start(ap, fmt);
        if (vasprintf(&val, fmt, ap) < 0)
                val = NULL;
        va_end(ap);
        struct cg_file *f = realloc(v->files, (v->n + 1) * sizeof(*f));
        if (!n || !val || !f) {
                if (f)
                        v->files = f;
                *r = -ENOMEM;
                return;
        }
        v->files = f;
        v->files[v->n++] = (struct cg_file){ TAKE_PTR(n), TAKE_PTR(val) };
}

/* One value per host huge page size, as "hugetlb.<size>.max" (v2) and
 * "hugetlb/hugetlb.<size>.limit_in_bytes" (v1). */
static void cg_add_hugetlb(struct cg_values *v2, struct cg_values *v1, int *r, uint64_t size,
                           const char *value)
{
        _cleanup_free_ char *s = qos_hugepage_size_string(size);
        _cleanup_free_ char *n2 = NULL, *n1 = NULL;

        if (*r < 0)
                return;
        if (!s || asprintf(&n2, "hugetlb.%s.max", s) < 0 ||
            asprintf(&n1, "hugetlb/hugetlb.%s.limit_in_bytes", s) < 0) {
                *r = -ENOMEM;
                return;
        }
        cg_add(v2, r, n2, "%s", value);
        cg_add(v1, r, n1, "%s", value);
}

static void cg_add_shares(struct cg_values *v2, struct cg_values *v1, int *r, uint64_t shares,
                          bool quadratic)
{
        uint64_t w = quadratic ? qos_shares_to_weight_quadratic(shares)
                               : qos_shares_to_weight_linear(shares);
        cg_add(v2, r, "cpu.weight", "%" PRIu64, w);
        cg_add(v1, r, "cpu/cpu.shares", "%" PRIu64, shares);
}

/* cpu.max is written whenever a period is (the runtimes write "max" for no quota); v1 writes
 * the period first, as runc does, and the quota only when there is one. */
static void cg_add_quota(struct cg_values *v2, struct cg_values *v1, int *r, int64_t quota)
{
        if (quota > 0)
                cg_add(v2, r, "cpu.max", "%" PRIi64 " %d", quota, QOS_QUOTA_PERIOD);
        else
                cg_add(v2, r, "cpu.max", "max %d", QOS_QUOTA_PERIOD);
        cg_add(v1, r, "cpu/cpu.cfs_period_us", "%d", QOS_QUOTA_PERIOD);
        if (quota > 0)
                cg_add(v1, r, "cpu/cpu.cfs_quota_us", "%" PRIi64, quota);
}

static void cg_add_memory(struct cg_values *v2, struct cg_values *v1, int *r, int64_t bytes)
{
        if (bytes <= 0)
                return;
        cg_add(v2, r, "memory.max", "%" PRIi64, bytes);
        cg_add(v1, r, "memory/memory.limit_in_bytes", "%" PRIi64, bytes);
}

static void cg_add_pids(struct cg_values *v2, struct cg_values *v1, int *r, int64_t pids)
{
        if (pids <= 0)
                return;
        cg_add(v2, r, "pids.max", "%" PRIi64, pids);
        cg_add(v1, r, "pids/pids.max", "%" PRIi64, pids);
}

static int64_t node_quota(const struct node_info *node, int64_t milli)
{
        int64_t q = qos_milli_cpu_to_quota(milli, QOS_QUOTA_PERIOD);
        if (node->driver == CGROUP_DRIVER_SYSTEMD)
                q = qos_systemd_round_quota(q, QOS_QUOTA_PERIOD);
        return q;
}

struct pod_totals {
        int64_t cpu_request_milli, cpu_limit_milli;
        int64_t memory_request, memory_limit;
        bool cpu_limits_declared, memory_limits_declared;
};

static bool every_container_limits(const struct pod *p, const char *name)
{
        for (size_t i = 0; i < p->spec.n_init_containers; i++)
                if (podres_get(&p->spec.init_containers[i].resources.limits, name) == 0)
                        return false;
        for (size_t i = 0; i < p->spec.n_containers; i++)
                if (podres_get(&p->spec.containers[i].resources.limits, name) == 0)
                        return false;
        return true;
}

static void pod_totals(const struct pod *p, struct pod_totals *t)
{
        const struct resource_list *pod_lim = &p->spec.resources.limits;

        t->cpu_request_milli = podres_milli(podres_pod_total(p, false, "cpu", NULL));
        t->cpu_limit_milli = podres_milli(podres_pod_total(p, true, "cpu", NULL));
        t->memory_request = podres_value(podres_pod_total(p, false, "memory", NULL));
        t->memory_limit = podres_value(podres_pod_total(p, true, "memory", NULL));
        t->cpu_limits_declared = every_container_limits(p, "cpu");
        t->memory_limits_declared = every_container_limits(p, "memory");
        if (podres_pod_level_set(p)) {
                t->cpu_limits_declared = t->cpu_limits_declared || podres_get(pod_lim, "cpu") != 0;
                t->memory_limits_declared = t->memory_limits_declared ||
                                            podres_get(pod_lim, "memory") != 0;
        }
}

static int64_t pod_pids_limit(const struct pod *p, const struct node_info *node)
{
        int64_t own = podres_value(podres_get(&p->spec.resources.limits, "pids"));
        int64_t nodewide = node->pod_pids_limit;

        if (own > 0 && nodewide > 0)
                return MIN(own, nodewide);
        return own > 0 ? own : MAX(nodewide, 0);
}

static bool name_listed_before(const struct pod *p, const struct resource_entry *e)
{
        const struct container *lists[] = { p->spec.init_containers, p->spec.containers };
        const size_t counts[] = { p->spec.n_init_containers, p->spec.n_containers };

        for (size_t l = 0; l < 2; l++)
                for (size_t i = 0; i < counts[l]; i++) {
                        const struct resource_list *rl = &lists[l][i].resources.requests;
                        for (size_t j = 0; j < rl->n; j++) {
                                if (&rl->items[j] == e)
                                        return false;
                                if (strcmp(rl->items[j].name, e->name) == 0)
                                        return true;
                        }
                }
        return false;
}

/* Σ of the pod's aggregated hugepage requests of one page size. Names are aggregated one by
 * one first ("hugepages-2Mi" and "hugepages-2097152" are different resources that meet in
 * one page size), as the kubelet's HugePageLimits does on the aggregated requests. */
static int64_t pod_hugepage_requests(const struct pod *p, uint64_t size)
{
        const struct container *lists[] = { p->spec.init_containers, p->spec.containers };
        const size_t counts[] = { p->spec.n_init_containers, p->spec.n_containers };
        __int128 sum = 0;

        for (size_t l = 0; l < 2; l++)
                for (size_t i = 0; i < counts[l]; i++) {
                        const struct resource_list *rl = &lists[l][i].resources.requests;
                        for (size_t j = 0; j < rl->n; j++) {
                                const struct resource_entry *e = &rl->items[j];
                                if (podres_hugepage_size(e->name) != size ||
                                    name_listed_before(p, e))
                                        continue;
                                sum += podres_value(podres_aggregate(p, false, e->name, NULL));
                        }
                }
        return sum > INT64_MAX ? INT64_MAX : (int64_t)sum;
}

static void pod_hugetlb(const struct pod *p, const struct node_info *node, struct cg_values *v2,
                        struct cg_values *v1, int *r)
{
        for (size_t i = 0; i < node->n_hugepage_sizes; i++) {
                char buf[32];
                snprintf(buf, sizeof(buf), "%" PRIi64,
                         pod_hugepage_requests(p, node->hugepage_sizes[i]));
                cg_add_hugetlb(v2, v1, r, node->hugepage_sizes[i], buf);
        }
}

/* ResourceConfigForPod: which files the pod cgroup gets depends on the class. */
static int pod_values(const struct pod *p, const struct node_info *node, enum qos_class qos,
                      const struct pod_totals *t, struct cg_values *v2, struct cg_values *v1)
{
        int r = 0;
        bool quota = false, memory = false;

        if (qos == QOS_BESTEFFORT)
                cg_add_shares(v2, v1, &r, QOS_MIN_SHARES, false);
        else
                cg_add_shares(v2, v1, &r, qos_milli_cpu_to_shares(t->cpu_request_milli), false);
        if (qos == QOS_GUARANTEED)
                quota = memory = true;
        else if (qos == QOS_BURSTABLE) {
                quota = t->cpu_limits_declared;
                memory = t->memory_limits_declared;
        }
        if (quota)
                cg_add_quota(v2, v1, &r, node_quota(node, t->cpu_limit_milli));
        if (memory)
                cg_add_memory(v2, v1, &r, t->memory_limit);
        cg_add_pids(v2, v1, &r, pod_pids_limit(p, node));
        pod_hugetlb(p, node, v2, v1, &r);
        return r;
}

/* A container without its own cpu or memory limit runs under the pod-level one. */
static __int128 container_limit(const struct pod *p, const struct container *c, const char *name)
{
        __int128 v = podres_get(&c->resources.limits, name);
        if (v == 0 && podres_pod_level_set(p))
                v = podres_get(&p->spec.resources.limits, name);
        return v;
}

static int64_t container_hugepage_limit(const struct container *c, uint64_t size)
{
        int64_t v = 0;
        /* The kubelet keys these by page size, so of two names for one size the last wins. */
        for (size_t i = 0; i < c->resources.limits.n; i++)
                if (podres_hugepage_size(c->resources.limits.items[i].name) == size)
                        v = podres_value(c->resources.limits.items[i].value.nanos);
        return v;
}

/* What containerd and runc write from the kubelet's CRI values. */
static int container_values(const struct pod *p, const struct container *c,
                            const struct node_info *node, struct cg_values *v2,
                            struct cg_values *v1)
{
        const struct resource_entry *req = resource_list_find(&c->resources.requests, "cpu");
        int64_t cpu_limit = podres_milli(container_limit(p, c, "cpu"));
        int64_t mem_limit = podres_value(container_limit(p, c, "memory"));
        uint64_t shares;
        int r = 0;

        /* A request that is present, even "0", decides; the limit only stands in for a
         * request that is missing. */
        shares = qos_milli_cpu_to_shares(req ? podres_milli(req->value.nanos) : cpu_limit);
        cg_add_shares(v2, v1, &r, shares, true);
        cg_add_quota(v2, v1, &r, node_quota(node, cpu_limit));
        cg_add_memory(v2, v1, &r, mem_limit);
        cg_add(v2, &r, "memory.oom.group", "1");
        for (size_t i = 0; i < node->n_hugepage_sizes; i++) {
                char buf[32];
                snprintf(buf, sizeof(buf), "%" PRIi64,
                         container_hugepage_limit(c, node->hugepage_sizes[i]));
                cg_add_hugetlb(v2, v1, &r, node->hugepage_sizes[i], buf);
        }
        return r;
}

static void container_plan_done(struct container_plan *c)
{
        free(c->name);
        cg_values_done(&c->v2);
        cg_values_done(&c->v1);
}

void pod_plan_done(struct pod_plan *p)
{
        free(p->cgroupfs);
        free(p->systemd);
        cg_values_done(&p->v2);
        cg_values_done(&p->v1);
        for (size_t i = 0; i < p->n_containers; i++)
                container_plan_done(&p->containers[i]);
        free(p->containers);
        *p = (struct pod_plan){ 0 };
}

static int plan_container(const struct pod *p, const struct container *c, bool init,
                          const struct node_info *node, struct container_plan *ret)
{
        struct container_plan cp = {
                .init = init,
                .sidecar = init && container_is_sidecar(c),
                .oom_score_adj = qos_oom_score_adj(p, c, node->memory_capacity),
        };
        int r;

        cp.name = strdup(c->name ? c->name : "");
        r = cp.name ? container_values(p, c, node, &cp.v2, &cp.v1) : -ENOMEM;
        if (r < 0) {
                container_plan_done(&cp);
                return r;
        }
        *ret = cp;
        return 0;
}

static int plan_containers(const struct pod *p, const struct node_info *node, struct pod_plan *plan)
{
        size_t n = p->spec.n_init_containers + p->spec.n_containers;

        plan->containers = calloc(n ? n : 1, sizeof(struct container_plan));
        if (!plan->containers)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                bool init = i < p->spec.n_init_containers;
                const struct container *c =
                        init ? &p->spec.init_containers[i]
                             : &p->spec.containers[i - p->spec.n_init_containers];
                int r = plan_container(p, c, init, node, &plan->containers[i]);
                if (r < 0)
                        return r;
                plan->n_containers++;
        }
        return 0;
}

int plan_pod(const struct pod *p, const struct node_info *node, struct pod_plan *ret,
             struct qerr **err)
{
        struct pod_plan plan = { .qos = qos_pod_class(p) };
        const char *uid = p->metadata.uid ? p->metadata.uid : "";
        struct pod_totals t = { 0 };
        int r;

        pod_totals(p, &t);
        plan.cpu_request_milli = t.cpu_request_milli;
        plan.memory_request = t.memory_request > 0 ? (uint64_t)t.memory_request : 0;
        plan.cgroupfs = cgroup_name_pod(node->cgroup_root, plan.qos, uid, CGROUP_DRIVER_CGROUPFS);
        plan.systemd = cgroup_name_pod(node->cgroup_root, plan.qos, uid, CGROUP_DRIVER_SYSTEMD);
        r = plan.cgroupfs && plan.systemd ? 0 : -ENOMEM;
        if (r >= 0)
                r = pod_values(p, node, plan.qos, &t, &plan.v2, &plan.v1);
        if (r >= 0)
                r = plan_containers(p, node, &plan);
        if (r < 0) {
                pod_plan_done(&plan);
                return qerr_set(err, -r, "plan pod '%s'",
                                p->metadata.name ? p->metadata.name : uid);
        }
        *ret = plan;
        return 0;
}

static void tier_plan_done(struct tier_plan *t)
{
        free(t->name);
        free(t->cgroupfs);
        free(t->systemd);
        cg_values_done(&t->v2);
        cg_values_done(&t->v1);
}

void tiers_plan_done(struct tiers_plan *t)
{
        tier_plan_done(&t->kubepods);
        tier_plan_done(&t->burstable);
        tier_plan_done(&t->besteffort);
}

static int tier_init(struct tier_plan *t, const char *name, enum qos_class c,
                     const struct node_info *node)
{
        t->name = strdup(name);
        t->cgroupfs = cgroup_name_tier(node->cgroup_root, c, CGROUP_DRIVER_CGROUPFS);
        t->systemd = cgroup_name_tier(node->cgroup_root, c, CGROUP_DRIVER_SYSTEMD);
        return t->name && t->cgroupfs && t->systemd ? 0 : -ENOMEM;
}

static uint64_t clamp_sub(uint64_t a, uint64_t b)
{
        return a > b ? a - b : 0;
}

/* Node allocatable: capacity minus system and kube reservations. */
static int kubepods_values(const struct node_info *node, struct tier_plan *t)
{
        int64_t cpu = MAX(node->cpu_capacity_milli - MAX(node->reserved_cpu_milli, 0), 0);
        uint64_t memory = clamp_sub(node->memory_capacity, node->reserved_memory);
        int r = tier_init(t, "kubepods", QOS_GUARANTEED, node);

        cg_add_shares(&t->v2, &t->v1, &r, qos_milli_cpu_to_shares(cpu), false);
        cg_add_memory(&t->v2, &t->v1, &r, memory > INT64_MAX ? INT64_MAX : (int64_t)memory);
        if (node->pid_capacity > 0)
                cg_add_pids(&t->v2, &t->v1, &r,
                            MAX(node->pid_capacity - MAX(node->reserved_pids, 0), 0));
        for (size_t i = 0; i < node->n_hugepage_sizes; i++) {
                char buf[32];
                snprintf(buf, sizeof(buf), "%" PRIu64,
                         node->hugepage_totals ? node->hugepage_totals[i] : 0);
                cg_add_hugetlb(&t->v2, &t->v1, &r, node->hugepage_sizes[i], buf);
        }
        return r;
}

static int qos_tier_values(const struct node_info *node, struct tier_plan *t, const char *name,
                           enum qos_class c, uint64_t shares)
{
        int r = tier_init(t, name, c, node);

        cg_add_shares(&t->v2, &t->v1, &r, shares, false);
        for (size_t i = 0; i < node->n_hugepage_sizes; i++)
                cg_add_hugetlb(&t->v2, &t->v1, &r, node->hugepage_sizes[i], HUGETLB_UNBOUNDED);
        return r;
}

int plan_tiers(const struct pod_plan *pods, size_t n_pods, const struct node_info *node,
               struct tiers_plan *ret, struct qerr **err)
{
        struct tiers_plan t = { 0 };
        int64_t burstable_milli = 0;
        int r;

        for (size_t i = 0; i < n_pods; i++)
                if (pods[i].qos == QOS_BURSTABLE && pods[i].cpu_request_milli > 0)
                        burstable_milli += pods[i].cpu_request_milli;
        r = kubepods_values(node, &t.kubepods);
        if (r >= 0)
                r = qos_tier_values(node, &t.burstable, "burstable", QOS_BURSTABLE,
                                    qos_milli_cpu_to_shares(burstable_milli));
        if (r >= 0)
                r = qos_tier_values(node, &t.besteffort, "besteffort", QOS_BESTEFFORT,
                                    QOS_MIN_SHARES);
        if (r < 0) {
                tiers_plan_done(&t);
                return qerr_set(err, -r, "plan QoS tiers");
        }
        *ret = t;
        return 0;
}
