/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <string.h>

#include "helpers/pod-builder.h"
#include "qos/qos.h"

#define U POD_BUILDER_UNSET
#define Mi 1048576LL
#define G_ 1000000000LL

Test(qos, milli_cpu_to_shares)
{
        static const struct {
                int64_t milli;
                uint64_t shares;
        } v[] = {
                { 0, 2 },
                { 1, 2 },
                { 2, 2 },
                { 3, 3 },
                { 100, 102 },
                { 500, 512 },
                { 1000, 1024 },
                { 255999, 262142 },
                { 256000, 262144 },
                { 256001, 262144 },
                { 1000000, 262144 },
                { -1, 2 },
                { -1000000, 2 },
        };
        for (size_t i = 0; i < ELEMENTSOF(v); i++)
                cr_expect_eq(qos_milli_cpu_to_shares(v[i].milli), v[i].shares,
                             "shares of %lld: got %llu, want %llu", (long long)v[i].milli,
                             (unsigned long long)qos_milli_cpu_to_shares(v[i].milli),
                             (unsigned long long)v[i].shares);
}

Test(qos, milli_cpu_to_quota)
{
        static const struct {
                int64_t milli, period, quota;
        } v[] = {
                { 0, 100000, 0 },         { 5, 100000, 1000 },      { 9, 100000, 1000 },
                { 10, 100000, 1000 },     { 200, 100000, 20000 },   { 500, 100000, 50000 },
                { 1000, 100000, 100000 }, { 1500, 100000, 150000 }, { 200, 5000, 1000 },
                { 100, 5000, 1000 },
        };
        for (size_t i = 0; i < ELEMENTSOF(v); i++)
                cr_expect_eq(qos_milli_cpu_to_quota(v[i].milli, v[i].period), v[i].quota,
                             "quota of %lldm period %lld", (long long)v[i].milli,
                             (long long)v[i].period);
}

Test(qos, shares_and_quota_to_milli_cpu)
{
        static const struct {
                uint64_t shares;
                int64_t milli;
        } s[] = {
                { 0, 0 },     { 1, 0 },     { 2, 2 },       { 3, 3 },
                { 102, 100 }, { 512, 500 }, { 1024, 1000 }, { 262144, 256000 },
        };
        for (size_t i = 0; i < ELEMENTSOF(s); i++)
                cr_expect_eq(qos_shares_to_milli_cpu(s[i].shares), s[i].milli, "shares %llu",
                             (unsigned long long)s[i].shares);

        static const struct {
                int64_t quota, period, milli;
        } q[] = {
                { -1, 100000, 0 },        { 0, 100000, 0 },       { 1000, 100000, 10 },
                { 5000, 100000, 50 },     { 50000, 100000, 500 }, { 100000, 100000, 1000 },
                { 200000, 100000, 2000 }, { 5000, 5000, 1000 },   { 1, 100000, 0 },
                { 100, 100000, 1 },
        };
        for (size_t i = 0; i < ELEMENTSOF(q); i++)
                cr_expect_eq(qos_quota_to_milli_cpu(q[i].quota, q[i].period), q[i].milli,
                             "quota %lld/%lld", (long long)q[i].quota, (long long)q[i].period);
}

Test(qos, linear_weight)
{
        static const struct {
                uint64_t shares, weight;
        } v[] = {
                { 2, 1 },         { 3, 1 },          { 10, 1 },     { 51, 2 },      { 102, 4 },
                { 256, 10 },      { 512, 20 },       { 1024, 39 },  { 1025, 40 },   { 1536, 59 },
                { 2048, 79 },     { 4096, 157 },     { 8192, 313 }, { 16384, 625 }, { 65536, 2500 },
                { 262143, 9999 }, { 262144, 10000 },
        };
        for (size_t i = 0; i < ELEMENTSOF(v); i++)
                cr_expect_eq(qos_shares_to_weight_linear(v[i].shares), v[i].weight,
                             "linear weight of %llu: got %llu, want %llu",
                             (unsigned long long)v[i].shares,
                             (unsigned long long)qos_shares_to_weight_linear(v[i].shares),
                             (unsigned long long)v[i].weight);

        static const struct {
                uint64_t weight, shares;
        } inv[] = { { 1, 2 }, { 2, 28 }, { 4, 80 }, { 39, 998 } };
        for (size_t i = 0; i < ELEMENTSOF(inv); i++)
                cr_expect_eq(qos_weight_to_shares_linear(inv[i].weight), inv[i].shares,
                             "shares of weight %llu", (unsigned long long)inv[i].weight);

        /* TestCPUSharesEqualAfterV2RoundTrip: 50m -> 51 -> 2 -> 28, 100m -> 102 -> 4 -> 80 */
        cr_expect_eq(qos_weight_to_shares_linear(
                             qos_shares_to_weight_linear(qos_milli_cpu_to_shares(50))),
                     28);
        cr_expect_eq(qos_weight_to_shares_linear(
                             qos_shares_to_weight_linear(qos_milli_cpu_to_shares(100))),
                     80);
}

Test(qos, quadratic_weight)
{
        static const struct {
                uint64_t shares, weight;
        } v[] = {
                { 0, 0 },         { 1, 1 },          { 2, 1 },          { 3, 2 },
                { 4, 2 },         { 10, 4 },         { 51, 11 },        { 102, 17 },
                { 256, 35 },      { 512, 59 },       { 1023, 100 },     { 1024, 100 },
                { 1025, 101 },    { 1536, 138 },     { 2048, 174 },     { 4096, 303 },
                { 8192, 532 },    { 10000, 627 },    { 16384, 942 },    { 65536, 3023 },
                { 100000, 4340 }, { 262143, 10000 }, { 262144, 10000 }, { 262145, 10000 },
        };
        for (size_t i = 0; i < ELEMENTSOF(v); i++)
                cr_expect_eq(qos_shares_to_weight_quadratic(v[i].shares), v[i].weight,
                             "quadratic weight of %llu: got %llu, want %llu",
                             (unsigned long long)v[i].shares,
                             (unsigned long long)qos_shares_to_weight_quadratic(v[i].shares),
                             (unsigned long long)v[i].weight);
}

Test(qos, systemd_quota_rounding)
{
        static const struct {
                int64_t milli, raw, rounded;
        } v[] = {
                { 10, 1000, 1000 },    { 11, 1100, 2000 },       { 15, 1500, 2000 },
                { 250, 25000, 25000 }, { 1234, 123400, 124000 }, { 1500, 150000, 150000 },
        };
        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                int64_t q = qos_milli_cpu_to_quota(v[i].milli, QOS_QUOTA_PERIOD);
                cr_expect_eq(q, v[i].raw, "quota of %lldm", (long long)v[i].milli);
                cr_expect_eq(qos_systemd_round_quota(q, QOS_QUOTA_PERIOD), v[i].rounded,
                             "systemd quota of %lldm", (long long)v[i].milli);
        }
        cr_expect_eq(qos_systemd_round_quota(0, QOS_QUOTA_PERIOD), 0);
        cr_expect_eq(qos_systemd_round_quota(-1, QOS_QUOTA_PERIOD), -1);
}

Test(qos, hugepage_size_string)
{
        static const struct {
                uint64_t bytes;
                const char *s;
        } v[] = { { 65536, "64KB" },     { 2097152, "2MB" },      { 4194304, "4MB" },
                  { 1073741824, "1GB" }, { 16ULL << 30, "16GB" }, { 512, "512B" } };
        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                char *s = qos_hugepage_size_string(v[i].bytes);
                cr_assert_not_null(s);
                cr_expect_str_eq(s, v[i].s);
                free(s);
        }
}

Test(qos, class_strings)
{
        cr_expect_str_eq(qos_class_to_string(QOS_GUARANTEED), "Guaranteed");
        cr_expect_str_eq(qos_class_to_string(QOS_BURSTABLE), "Burstable");
        cr_expect_str_eq(qos_class_to_string(QOS_BESTEFFORT), "BestEffort");
        cr_expect_null(qos_class_to_string(_QOS_CLASS_MAX));
}

/* ComputePodQOS rows (vector G): containers as requests (cpu, mem) / limits (cpu, mem). */
struct ctr_row {
        bool present, init;
        int64_t v[4];
};

struct class_row {
        const char *what;
        struct ctr_row c[2];
        bool plr;
        int64_t pod[4];
        enum qos_class want;
};

#define C(a, b, c, d)              \
        {                          \
                true, false,       \
                {                  \
                        a, b, c, d \
                }                  \
        }
#define I(a, b, c, d)              \
        {                          \
                true, true,        \
                {                  \
                        a, b, c, d \
                }                  \
        }
#define NONE C(U, U, U, U)
#define GUAR C(100, 100 * Mi, 100, 100 * Mi)

static const struct class_row class_rows[] = {
        { "guaranteed", { GUAR }, false, { 0 }, QOS_GUARANTEED },
        { "two guaranteed", { GUAR, GUAR }, false, { 0 }, QOS_GUARANTEED },
        { "two best-effort", { NONE, NONE }, false, { 0 }, QOS_BESTEFFORT },
        { "best-effort + cpu-only burstable",
          { NONE, C(1000, U, 2000, U) },
          false,
          { 0 },
          QOS_BURSTABLE },
        { "best-effort + guaranteed",
          { NONE, C(10, 100 * Mi, 10, 100 * Mi) },
          false,
          { 0 },
          QOS_BURSTABLE },
        { "memory only", { C(U, 100 * Mi, U, 100 * Mi) }, false, { 0 }, QOS_BURSTABLE },
        { "requests only", { C(100, 100 * Mi, U, U) }, false, { 0 }, QOS_BURSTABLE },
        { "burstable + guaranteed",
          { C(1000, 100 * Mi, 2000, 100 * Mi), GUAR },
          false,
          { 0 },
          QOS_BURSTABLE },
        { "zero requests, limits", { C(0, 0, 100, 200 * Mi) }, false, { 0 }, QOS_BURSTABLE },
        { "zero requests only", { C(0, 0, U, U) }, false, { 0 }, QOS_BESTEFFORT },
        { "memory limit above request",
          { C(100, 100 * Mi, 100, 200 * Mi) },
          false,
          { 0 },
          QOS_BURSTABLE },
        { "cpu limit only", { C(100, 100 * Mi, 100, U) }, false, { 0 }, QOS_BURSTABLE },
        { "best-effort main, burstable init",
          { NONE, I(10, 100 * Mi, 100, 200 * Mi) },
          false,
          { 0 },
          QOS_BURSTABLE },
        { "PLR guaranteed, container empty",
          { NONE },
          true,
          { 10, 100 * Mi, 10, 100 * Mi },
          QOS_GUARANTEED },
        { "PLR guaranteed, container burstable",
          { C(3, 10 * Mi, 5, 20 * Mi) },
          true,
          { 10, 100 * Mi, 10, 100 * Mi },
          QOS_GUARANTEED },
        { "PLR burstable, container guaranteed",
          { C(5, 10 * Mi, 5, 10 * Mi) },
          true,
          { 10, 10 * Mi, 20, 50 * Mi },
          QOS_BURSTABLE },
        { "PLR requests only", { NONE }, true, { 100, 100 * Mi, U, U }, QOS_BURSTABLE },
};

static struct pod *build_class_pod(const struct class_row *r)
{
        struct pod *p = pod_builder_new("p", "uid");
        for (size_t j = 0; j < ELEMENTSOF(r->c); j++) {
                const struct ctr_row *c = &r->c[j];
                if (!c->present)
                        continue;
                if (c->init)
                        pod_builder_add_init_container(p, "init", false, c->v[0], c->v[1], c->v[2],
                                                       c->v[3]);
                else
                        pod_builder_add_container(p, "c", c->v[0], c->v[1], c->v[2], c->v[3]);
        }
        if (r->plr)
                pod_builder_set_pod_resources(p, r->pod[0], r->pod[1], r->pod[2], r->pod[3]);
        return p;
}

Test(qos, pod_class_table)
{
        for (size_t i = 0; i < ELEMENTSOF(class_rows); i++) {
                _cleanup_pod_ struct pod *p = build_class_pod(&class_rows[i]);
                enum qos_class got = qos_pod_class(p);
                cr_expect_eq(got, class_rows[i].want, "%s: got %s, want %s", class_rows[i].what,
                             qos_class_to_string(got), qos_class_to_string(class_rows[i].want));
        }
}

Test(qos, pod_class_ignores_other_resources)
{
        /* hugepages requested and limited, cpu and memory zero: BestEffort */
        _cleanup_pod_ struct pod *hp = pod_builder_new("hp", "u1");
        struct container *c = pod_builder_add_container(hp, "c", 0, 0, 0, 0);
        pod_builder_set(&c->resources, false, "hugepages-2Mi", (__int128)1073741824 * G_);
        pod_builder_set(&c->resources, true, "hugepages-2Mi", (__int128)1073741824 * G_);
        cr_expect_eq(qos_pod_class(hp), QOS_BESTEFFORT);

        _cleanup_pod_ struct pod *es = pod_builder_new("es", "u2");
        c = pod_builder_add_container(es, "c", U, U, U, U);
        pod_builder_set(&c->resources, false, "ephemeral-storage", (__int128)10737418240 * G_);
        cr_expect_eq(qos_pod_class(es), QOS_BESTEFFORT);

        _cleanup_pod_ struct pod *ge = pod_builder_new("ge", "u3");
        c = pod_builder_add_container(ge, "c", 100, 100 * Mi, 100, 100 * Mi);
        pod_builder_set(&c->resources, false, "ephemeral-storage", (__int128)10737418240 * G_);
        cr_expect_eq(qos_pod_class(ge), QOS_GUARANTEED);

        _cleanup_pod_ struct pod *none = pod_builder_new("none", "u4");
        cr_expect_eq(qos_pod_class(none), QOS_BESTEFFORT);

        /* pod-level resources naming neither cpu nor memory leave the containers in charge */
        _cleanup_pod_ struct pod *pids = pod_builder_new("pids", "u5");
        pod_builder_add_container(pids, "c", 100, 100 * Mi, 100, 100 * Mi);
        pod_builder_set(&pids->spec.resources, true, "pids", (__int128)100 * G_);
        cr_expect_eq(qos_pod_class(pids), QOS_GUARANTEED);
}

Test(qos, init_without_resources_makes_burstable)
{
        _cleanup_pod_ struct pod *p = pod_builder_new("p", "u");
        pod_builder_add_init_container(p, "init", false, U, U, U, U);
        pod_builder_add_container(p, "app", U, U, 1000, 100 * Mi);
        pod_builder_default(p);
        cr_expect_eq(qos_pod_class(p), QOS_BURSTABLE);
}

/* oom_score_adj (vector F) */
static int adj_of_first(struct pod *p, uint64_t cap)
{
        return qos_oom_score_adj(p, &p->spec.containers[0], cap);
}

Test(qos, oom_score_adj_table)
{
        _cleanup_pod_ struct pod *cpu_lim = pod_builder_new("a", "u");
        pod_builder_add_container(cpu_lim, "c", U, U, 10000, U);
        cr_expect_eq(adj_of_first(cpu_lim, 4 * G_), 999);

        _cleanup_pod_ struct pod *mem_lim = pod_builder_new("b", "u");
        pod_builder_add_container(mem_lim, "c", 0, U, U, 10 * G_);
        cr_expect_eq(adj_of_first(mem_lim, 8 * G_), 999);

        _cleanup_pod_ struct pod *zero_lim = pod_builder_new("c", "u");
        pod_builder_add_container(zero_lim, "c", U, U, U, 0);
        cr_expect_eq(adj_of_first(zero_lim, 7230457451ULL), 1000);

        _cleanup_pod_ struct pod *none = pod_builder_new("d", "u");
        pod_builder_add_container(none, "c", U, U, U, U);
        cr_expect_eq(adj_of_first(none, 4 * G_), 1000);

        _cleanup_pod_ struct pod *guar = pod_builder_new("e", "u");
        pod_builder_add_container(guar, "c", 5, 10 * G_, 5, 10 * G_);
        cr_expect_eq(adj_of_first(guar, 123456789), -997);

        _cleanup_pod_ struct pod *half = pod_builder_new("f", "u");
        pod_builder_add_container(half, "c", 5, 4 * G_, U, 10 * G_);
        cr_expect_eq(adj_of_first(half, 8 * G_), 500);

        _cleanup_pod_ struct pod *almost = pod_builder_new("g", "u");
        pod_builder_add_container(almost, "c", U, 8 * G_ - 1, U, U);
        cr_expect_eq(adj_of_first(almost, 8 * G_), 3);

        _cleanup_pod_ struct pod *cluster = pod_builder_new("h", "u");
        pod_builder_add_container(cluster, "c", U, U, U, U);
        pod_builder_set_priority_class(cluster, "system-cluster-critical", 2000000000);
        cr_expect_eq(adj_of_first(cluster, 4 * G_), 1000);

        _cleanup_pod_ struct pod *node = pod_builder_new("i", "u");
        pod_builder_add_container(node, "c", U, U, U, U);
        pod_builder_set_priority_class(node, "system-node-critical", 2000001000);
        cr_expect_eq(adj_of_first(node, 4 * G_), -997);

        _cleanup_pod_ struct pod *single = pod_builder_new("j", "u");
        pod_builder_add_container(single, "c", U, G_, U, G_ + 1000);
        cr_expect_eq(adj_of_first(single, 8 * G_), 875);
}

Test(qos, oom_score_adj_init_and_sidecars)
{
        _cleanup_pod_ struct pod *init = pod_builder_new("init", "u");
        pod_builder_add_init_container(init, "init", false, U, G_, U, U);
        pod_builder_add_container(init, "main", U, G_, U, U);
        cr_expect_eq(qos_oom_score_adj(init, &init->spec.init_containers[0], 8 * G_), 875);
        cr_expect_eq(qos_oom_score_adj(init, &init->spec.containers[0], 8 * G_), 875);

        _cleanup_pod_ struct pod *small = pod_builder_new("small", "u");
        pod_builder_add_init_container(small, "sidecar", true, U, 400000000, U, U);
        pod_builder_add_container(small, "main", U, G_, U, U);
        cr_expect_eq(qos_oom_score_adj(small, &small->spec.init_containers[0], 8 * G_), 875);
        cr_expect_eq(qos_oom_score_adj(small, &small->spec.containers[0], 8 * G_), 875);

        _cleanup_pod_ struct pod *big = pod_builder_new("big", "u");
        pod_builder_add_init_container(big, "sidecar", true, U, 4 * G_, U, U);
        pod_builder_add_container(big, "main", U, G_, U, U);
        cr_expect_eq(qos_oom_score_adj(big, &big->spec.init_containers[0], 8 * G_), 500);
        cr_expect_eq(qos_oom_score_adj(big, &big->spec.containers[0], 8 * G_), 875);

        /* a classic init container does not take the app containers' minimum */
        _cleanup_pod_ struct pod *classic = pod_builder_new("classic", "u");
        pod_builder_add_init_container(classic, "init", false, U, 400000000, U, U);
        pod_builder_add_container(classic, "main", U, G_, U, U);
        cr_expect_eq(qos_oom_score_adj(classic, &classic->spec.init_containers[0], 8 * G_), 950);
}

Test(qos, oom_score_adj_formula_rows)
{
        static const struct {
                int64_t req;
                int adj;
        } v[] = {
                { 1, 999 },      { 1000000, 999 }, { 10000000, 999 }, { 104857600, 987 },
                { 7 * G_, 125 }, { 8 * G_, 3 },    { 16 * G_, 3 },
        };
        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                _cleanup_pod_ struct pod *p = pod_builder_new("p", "u");
                pod_builder_add_container(p, "c", U, v[i].req, U, U);
                cr_expect_eq(adj_of_first(p, 8 * G_), v[i].adj, "memReq %lld: got %d, want %d",
                             (long long)v[i].req, adj_of_first(p, 8 * G_), v[i].adj);
        }
}

Test(qos, oom_score_adj_pod_level_memory_request)
{
        /* 4e9 at pod level, 2e9 claimed by the containers: each gets 1e9 more */
        _cleanup_pod_ struct pod *p = pod_builder_new("p", "u");
        pod_builder_add_container(p, "a", U, G_, U, U);
        pod_builder_add_container(p, "b", U, G_, U, U);
        pod_builder_set_pod_resources(p, U, 4 * G_, U, U);
        cr_expect_eq(qos_pod_class(p), QOS_BURSTABLE);
        cr_expect_eq(qos_oom_score_adj(p, &p->spec.containers[0], 8 * G_), 750);

        /* the sidecar minimum gets the same share */
        _cleanup_pod_ struct pod *s = pod_builder_new("s", "u");
        pod_builder_add_init_container(s, "sidecar", true, U, 4 * G_, U, U);
        pod_builder_add_container(s, "main", U, G_, U, U);
        pod_builder_set_pod_resources(s, U, 7 * G_, U, U);
        /* remaining (7e9 - 5e9) / 2 = 1e9: sidecar min(1000-625, 1000-250) = 375 */
        cr_expect_eq(qos_oom_score_adj(s, &s->spec.init_containers[0], 8 * G_), 375);
        cr_expect_eq(qos_oom_score_adj(s, &s->spec.containers[0], 8 * G_), 750);
}
