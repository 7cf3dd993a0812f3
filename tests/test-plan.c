/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>

#include "helpers/pod-builder.h"
#include "qos/plan.h"

#define U POD_BUILDER_UNSET
#define Mi 1048576LL
#define NANO 1000000000LL

static uint64_t sizes_2m_1g[] = { 2097152, 1073741824 };
static uint64_t totals_2m_1g[] = { 0, 2147483648ULL };

/* A fixed node: 4 CPUs, 8 GiB, pid capacity 4194304, huge pages of 2 MB (none) and 1 GB
 * (two), cgroupfs under "/". */
static struct node_info test_node(void)
{
        return (struct node_info){
                .memory_capacity = 8ULL << 30,
                .cpu_capacity_milli = 4000,
                .pid_capacity = 4194304,
                .hugepage_sizes = sizes_2m_1g,
                .hugepage_totals = totals_2m_1g,
                .n_hugepage_sizes = 2,
                .cgroup_root = (char *)"/",
                .driver = CGROUP_DRIVER_CGROUPFS,
                .pod_pids_limit = -1,
        };
}

static void expect_file(const struct cg_values *v, const char *name, const char *want,
                        const char *ctx)
{
        const char *got = cg_values_get(v, name);
        if (!want)
                cr_expect_null(got, "%s: '%s' should be absent, is '%s'", ctx, name,
                               got ? got : "");
        else
                cr_expect(got && strcmp(got, want) == 0, "%s: '%s' is '%s', want '%s'", ctx, name,
                          got ? got : "(absent)", want);
}

static void plan_or_die(const struct pod *p, const struct node_info *n, struct pod_plan *ret)
{
        _cleanup_qerr_ struct qerr *e = NULL;
        int r = plan_pod(p, n, ret, &e);
        cr_assert_geq(r, 0, "plan_pod: %s", qerr_msg(e));
}

/* --- names (vector L) --- */

static void expect_name(char *got, const char *want)
{
        cr_assert_not_null(got);
        cr_expect_str_eq(got, want);
        free(got);
}

Test(plan, kubepods_names)
{
        expect_name(cgroup_name_kubepods("/", CGROUP_DRIVER_CGROUPFS), "/kubepods");
        expect_name(cgroup_name_kubepods("/custom", CGROUP_DRIVER_CGROUPFS), "/custom/kubepods");
        expect_name(cgroup_name_kubepods("", CGROUP_DRIVER_CGROUPFS), "/kubepods");
        expect_name(cgroup_name_kubepods(NULL, CGROUP_DRIVER_CGROUPFS), "/kubepods");
        expect_name(cgroup_name_kubepods("/", CGROUP_DRIVER_SYSTEMD), "/kubepods.slice");
        /* the kubelet splits the root as a cgroupfs path, then converts every component */
        expect_name(cgroup_name_kubepods("/custom", CGROUP_DRIVER_SYSTEMD),
                    "/custom.slice/custom-kubepods.slice");
        expect_name(cgroup_name_kubepods("/a/b-c/", CGROUP_DRIVER_SYSTEMD),
                    "/a.slice/a-b_c.slice/a-b_c-kubepods.slice");
        expect_name(cgroup_name_kubepods("/a//b/", CGROUP_DRIVER_CGROUPFS), "/a/b/kubepods");
}

Test(plan, tier_and_pod_names)
{
        expect_name(cgroup_name_tier("/", QOS_GUARANTEED, CGROUP_DRIVER_CGROUPFS), "/kubepods");
        expect_name(cgroup_name_tier("/", QOS_BURSTABLE, CGROUP_DRIVER_CGROUPFS),
                    "/kubepods/burstable");
        expect_name(cgroup_name_tier("/", QOS_BESTEFFORT, CGROUP_DRIVER_SYSTEMD),
                    "/kubepods.slice/kubepods-besteffort.slice");
        expect_name(cgroup_name_tier("/", QOS_GUARANTEED, CGROUP_DRIVER_SYSTEMD),
                    "/kubepods.slice");
        expect_name(cgroup_name_pod("/", QOS_BURSTABLE, "abc123-def456", CGROUP_DRIVER_CGROUPFS),
                    "/kubepods/burstable/podabc123-def456");
        expect_name(cgroup_name_pod("/", QOS_BESTEFFORT, "", CGROUP_DRIVER_CGROUPFS),
                    "/kubepods/besteffort/pod");
        expect_name(cgroup_name_pod("/", QOS_GUARANTEED, "abc", CGROUP_DRIVER_CGROUPFS),
                    "/kubepods/podabc");
        expect_name(cgroup_name_pod("/", QOS_GUARANTEED, "0123abcd", CGROUP_DRIVER_SYSTEMD),
                    "/kubepods.slice/kubepods-pod0123abcd.slice");
        expect_name(cgroup_name_pod("/", QOS_BURSTABLE, "1a2b3c4d-0000-1111-2222-333344445555",
                                    CGROUP_DRIVER_SYSTEMD),
                    "/kubepods.slice/kubepods-burstable.slice/"
                    "kubepods-burstable-pod1a2b3c4d_0000_1111_2222_333344445555.slice");
        expect_name(cgroup_name_pod("/custom", QOS_BURSTABLE, "u", CGROUP_DRIVER_CGROUPFS),
                    "/custom/kubepods/burstable/podu");
}

Test(plan, systemd_conversion)
{
        char *a[] = { "Burstable", "pod-123" };
        expect_name(cgroup_name_to_systemd(a, 2), "/Burstable.slice/Burstable-pod_123.slice");
        char *b[] = { "kubepods", "burstable", "pod1a2b3c4d-0000-1111-2222-333344445555" };
        expect_name(cgroup_name_to_systemd(b, 3),
                    "/kubepods.slice/kubepods-burstable.slice/"
                    "kubepods-burstable-pod1a2b3c4d_0000_1111_2222_333344445555.slice");
        char *c[] = { "test", "a", "b" };
        expect_name(cgroup_name_to_systemd(c, 3), "/test.slice/test-a.slice/test-a-b.slice");
        expect_name(cgroup_name_to_systemd(NULL, 0), "/");
        char *e[] = { "" };
        expect_name(cgroup_name_to_systemd(e, 1), "/");
}

Test(plan, driver_strings)
{
        cr_expect_str_eq(cgroup_driver_to_string(CGROUP_DRIVER_CGROUPFS), "cgroupfs");
        cr_expect_str_eq(cgroup_driver_to_string(CGROUP_DRIVER_SYSTEMD), "systemd");
        cr_expect_eq(cgroup_driver_from_string("systemd"), CGROUP_DRIVER_SYSTEMD);
        cr_expect_eq(cgroup_driver_from_string("cgroupfs"), CGROUP_DRIVER_CGROUPFS);
        cr_expect_eq(cgroup_driver_from_string("Systemd"), _CGROUP_DRIVER_INVALID);
        cr_expect_eq(cgroup_driver_from_string(NULL), _CGROUP_DRIVER_INVALID);
}

/* --- pod cgroup (vector H, ResourceConfigForPod) --- */

struct pod_row {
        const char *what;
        int n_ctr;
        int64_t ctr[2][4];
        bool plr;
        int64_t pod[4];
        const char *shares, *quota, *period, *memory;
        const char *weight, *cpu_max;
};

static const struct pod_row pod_rows[] = {
        { "best-effort", 1, { { U, U, U, U } }, false, { 0 }, "2", NULL, NULL, NULL, "1", NULL },
        { "requests only",
          1,
          { { 100, 100 * Mi, U, U } },
          false,
          { 0 },
          "102",
          NULL,
          NULL,
          NULL,
          "4",
          NULL },
        { "burstable with limits",
          1,
          { { 100, 100 * Mi, 200, 200 * Mi } },
          false,
          { 0 },
          "102",
          "20000",
          "100000",
          "209715200",
          "4",
          "20000 100000" },
        { "limits not on every container",
          2,
          { { 100, 100 * Mi, 200, 200 * Mi }, { 100, 100 * Mi, U, U } },
          false,
          { 0 },
          "204",
          NULL,
          NULL,
          NULL,
          "8",
          NULL },
        { "guaranteed",
          1,
          { { 100, 100 * Mi, 100, 100 * Mi } },
          false,
          { 0 },
          "102",
          "10000",
          "100000",
          "104857600",
          "4",
          "10000 100000" },
        { "PLR requests only, container empty",
          1,
          { { U, U, U, U } },
          true,
          { 100, 100 * Mi, U, U },
          "102",
          NULL,
          NULL,
          NULL,
          "4",
          NULL },
        { "PLR requests and limits",
          1,
          { { 10, 50 * Mi, 50, 100 * Mi } },
          true,
          { 100, 100 * Mi, 200, 200 * Mi },
          "102",
          "20000",
          "100000",
          "209715200",
          "4",
          "20000 100000" },
        { "PLR requests above the containers",
          1,
          { { 200, 200 * Mi, 200, 200 * Mi } },
          true,
          { 200, 300 * Mi, U, U },
          "204",
          "20000",
          "100000",
          "209715200",
          "8",
          "20000 100000" },
};

Test(plan, pod_cgroup_table)
{
        struct node_info n = test_node();
        for (size_t i = 0; i < ELEMENTSOF(pod_rows); i++) {
                const struct pod_row *row = &pod_rows[i];
                _cleanup_pod_ struct pod *p = pod_builder_new(row->what, "uid");
                struct pod_plan plan;
                for (int j = 0; j < row->n_ctr; j++)
                        pod_builder_add_container(p, "c", row->ctr[j][0], row->ctr[j][1],
                                                  row->ctr[j][2], row->ctr[j][3]);
                if (row->plr)
                        pod_builder_set_pod_resources(p, row->pod[0], row->pod[1], row->pod[2],
                                                      row->pod[3]);
                plan_or_die(p, &n, &plan);
                expect_file(&plan.v1, "cpu/cpu.shares", row->shares, row->what);
                expect_file(&plan.v1, "cpu/cpu.cfs_quota_us", row->quota, row->what);
                expect_file(&plan.v1, "cpu/cpu.cfs_period_us", row->period, row->what);
                expect_file(&plan.v1, "memory/memory.limit_in_bytes", row->memory, row->what);
                expect_file(&plan.v2, "cpu.weight", row->weight, row->what);
                expect_file(&plan.v2, "cpu.max", row->cpu_max, row->what);
                expect_file(&plan.v2, "memory.max", row->memory, row->what);
                expect_file(&plan.v2, "pids.max", NULL, row->what);
                pod_plan_done(&plan);
        }
}

Test(plan, guaranteed_pod_file_order_and_path)
{
        struct node_info n = test_node();
        _cleanup_pod_ struct pod *p = pod_builder_new("g", "0123abcd");
        struct pod_plan plan;
        pod_builder_add_container(p, "c", 500, 64 * Mi, 500, 64 * Mi);
        plan_or_die(p, &n, &plan);

        cr_expect_eq(plan.qos, QOS_GUARANTEED);
        cr_expect_str_eq(plan.cgroupfs, "/kubepods/pod0123abcd");
        cr_expect_str_eq(plan.systemd, "/kubepods.slice/kubepods-pod0123abcd.slice");
        static const char *const v2[] = { "cpu.weight", "cpu.max", "memory.max", "hugetlb.2MB.max",
                                          "hugetlb.1GB.max" };
        cr_assert_eq(plan.v2.n, ELEMENTSOF(v2));
        for (size_t i = 0; i < ELEMENTSOF(v2); i++)
                cr_expect_str_eq(plan.v2.files[i].name, v2[i]);
        static const char *const v1[] = { "cpu/cpu.shares",
                                          "cpu/cpu.cfs_period_us",
                                          "cpu/cpu.cfs_quota_us",
                                          "memory/memory.limit_in_bytes",
                                          "hugetlb/hugetlb.2MB.limit_in_bytes",
                                          "hugetlb/hugetlb.1GB.limit_in_bytes" };
        cr_assert_eq(plan.v1.n, ELEMENTSOF(v1));
        for (size_t i = 0; i < ELEMENTSOF(v1); i++)
                cr_expect_str_eq(plan.v1.files[i].name, v1[i]);
        expect_file(&plan.v2, "cpu.max", "50000 100000", "guaranteed");
        expect_file(&plan.v2, "hugetlb.2MB.max", "0", "guaranteed");
        expect_file(&plan.v2, "hugetlb.1GB.max", "0", "guaranteed");
        cr_expect_eq(plan.cpu_request_milli, 500);
        cr_expect_eq(plan.memory_request, 64 * Mi);
        pod_plan_done(&plan);
}

Test(plan, one_cpu_request)
{
        struct node_info n = test_node();
        _cleanup_pod_ struct pod *p = pod_builder_new("one", "u");
        struct pod_plan plan;
        pod_builder_add_container(p, "c", 1000, U, U, U);
        plan_or_die(p, &n, &plan);
        cr_expect_eq(plan.qos, QOS_BURSTABLE);
        expect_file(&plan.v2, "cpu.weight", "39", "pod");
        expect_file(&plan.v1, "cpu/cpu.shares", "1024", "pod");
        cr_assert_eq(plan.n_containers, 1);
        expect_file(&plan.containers[0].v2, "cpu.weight", "100", "container");
        expect_file(&plan.containers[0].v1, "cpu/cpu.shares", "1024", "container");
        pod_plan_done(&plan);
}

Test(plan, tiny_cpu_limit)
{
        struct node_info n = test_node();
        _cleanup_pod_ struct pod *p = pod_builder_new("tiny", "u");
        struct pod_plan plan;
        pod_builder_add_container(p, "c", U, U, 5, U);
        pod_builder_default(p);
        plan_or_die(p, &n, &plan);
        expect_file(&plan.containers[0].v2, "cpu.max", "1000 100000", "container");
        expect_file(&plan.containers[0].v1, "cpu/cpu.cfs_quota_us", "1000", "container");
        expect_file(&plan.v2, "cpu.max", "1000 100000", "pod");
        pod_plan_done(&plan);
}

Test(plan, init_without_resources)
{
        struct node_info n = test_node();
        _cleanup_pod_ struct pod *p = pod_builder_new("init", "u");
        struct pod_plan plan;
        pod_builder_add_init_container(p, "setup", false, U, U, U, U);
        pod_builder_add_container(p, "app", U, U, 1000, 100 * Mi);
        pod_builder_default(p);
        plan_or_die(p, &n, &plan);

        cr_expect_eq(plan.qos, QOS_BURSTABLE);
        cr_expect_str_eq(plan.cgroupfs, "/kubepods/burstable/podu");
        /* the init container has no limits, so the pod cgroup gets none */
        expect_file(&plan.v2, "cpu.weight", "39", "pod");
        expect_file(&plan.v2, "cpu.max", NULL, "pod");
        expect_file(&plan.v2, "memory.max", NULL, "pod");
        cr_assert_eq(plan.n_containers, 2);
        cr_expect_str_eq(plan.containers[0].name, "setup");
        cr_expect(plan.containers[0].init && !plan.containers[0].sidecar);
        expect_file(&plan.containers[0].v2, "cpu.weight", "1", "setup");
        expect_file(&plan.containers[0].v2, "cpu.max", "max 100000", "setup");
        expect_file(&plan.containers[0].v2, "memory.max", NULL, "setup");
        expect_file(&plan.containers[0].v1, "cpu/cpu.shares", "2", "setup");
        expect_file(&plan.containers[0].v1, "cpu/cpu.cfs_period_us", "100000", "setup");
        expect_file(&plan.containers[0].v1, "cpu/cpu.cfs_quota_us", NULL, "setup");
        cr_expect_str_eq(plan.containers[1].name, "app");
        cr_expect(!plan.containers[1].init);
        expect_file(&plan.containers[1].v2, "cpu.max", "100000 100000", "app");
        expect_file(&plan.containers[1].v2, "memory.max", "104857600", "app");
        expect_file(&plan.containers[1].v2, "memory.oom.group", "1", "app");
        /* 100Mi of 8Gi: 1000 - 12 */
        cr_expect_eq(plan.containers[1].oom_score_adj, 988);
        cr_expect_eq(plan.containers[0].oom_score_adj, 999);
        pod_plan_done(&plan);
}

Test(plan, sidecar_pod_totals)
{
        struct node_info n = test_node();
        /* sidecar 200m started before a 500m init container: 700m while it runs */
        _cleanup_pod_ struct pod *a = pod_builder_new("a", "u");
        struct pod_plan plan;
        pod_builder_add_init_container(a, "sidecar", true, 200, U, U, U);
        pod_builder_add_init_container(a, "init", false, 500, U, U, U);
        pod_builder_add_container(a, "app", 300, U, U, U);
        plan_or_die(a, &n, &plan);
        cr_expect_eq(plan.cpu_request_milli, 700);
        expect_file(&plan.v1, "cpu/cpu.shares", "716", "sidecar first");
        cr_expect(plan.containers[0].init && plan.containers[0].sidecar);
        cr_expect(plan.containers[1].init && !plan.containers[1].sidecar);
        pod_plan_done(&plan);

        /* the init container ends before the sidecar starts: max(500, 300 + 200) */
        _cleanup_pod_ struct pod *b = pod_builder_new("b", "u");
        pod_builder_add_init_container(b, "init", false, 500, U, U, U);
        pod_builder_add_init_container(b, "sidecar", true, 200, U, U, U);
        pod_builder_add_container(b, "app", 300, U, U, U);
        plan_or_die(b, &n, &plan);
        cr_expect_eq(plan.cpu_request_milli, 500);
        expect_file(&plan.v1, "cpu/cpu.shares", "512", "init first");
        pod_plan_done(&plan);

        /* sum of the regular containers and sidecars wins over a small init container */
        _cleanup_pod_ struct pod *c = pod_builder_new("c", "u");
        pod_builder_add_init_container(c, "init", false, 100, 10 * Mi, U, U);
        pod_builder_add_init_container(c, "sidecar", true, 200, 20 * Mi, U, U);
        pod_builder_add_container(c, "app", 300, 30 * Mi, U, U);
        plan_or_die(c, &n, &plan);
        cr_expect_eq(plan.cpu_request_milli, 500);
        cr_expect_eq(plan.memory_request, 50 * Mi);
        pod_plan_done(&plan);
}

/* --- container cgroups (vector I, calculateLinuxResources, plus runc's files) --- */

struct ctr_row {
        const char *what;
        int64_t cpu_req, cpu_lim, mem_lim;
        const char *shares, *weight, *quota, *cpu_max, *memory;
};

static const struct ctr_row ctr_rows[] = {
        { "req 1 lim 2 mem 128Mi", 1000, 2000, 128 * Mi, "1024", "100", "200000", "200000 100000",
          "134217728" },
        { "req 2 lim 8", 2000, 8000, U, "2048", "174", "800000", "800000 100000", NULL },
        { "no request, lim 2", U, 2000, U, "2048", "174", "200000", "200000 100000", NULL },
        { "request 0, lim 2", 0, 2000, U, "2", "1", "200000", "200000 100000", NULL },
        { "nothing", U, U, U, "2", "1", NULL, "max 100000", NULL },
        { "request 100m", 100, U, U, "102", "17", NULL, "max 100000", NULL },
};

Test(plan, container_cgroup_table)
{
        struct node_info n = test_node();
        for (size_t i = 0; i < ELEMENTSOF(ctr_rows); i++) {
                const struct ctr_row *row = &ctr_rows[i];
                _cleanup_pod_ struct pod *p = pod_builder_new(row->what, "u");
                struct pod_plan plan;
                pod_builder_add_container(p, "c", row->cpu_req, U, row->cpu_lim, row->mem_lim);
                plan_or_die(p, &n, &plan);
                const struct container_plan *c = &plan.containers[0];
                expect_file(&c->v1, "cpu/cpu.shares", row->shares, row->what);
                expect_file(&c->v1, "cpu/cpu.cfs_period_us", "100000", row->what);
                expect_file(&c->v1, "cpu/cpu.cfs_quota_us", row->quota, row->what);
                expect_file(&c->v1, "memory/memory.limit_in_bytes", row->memory, row->what);
                expect_file(&c->v2, "cpu.weight", row->weight, row->what);
                expect_file(&c->v2, "cpu.max", row->cpu_max, row->what);
                expect_file(&c->v2, "memory.max", row->memory, row->what);
                expect_file(&c->v2, "memory.oom.group", "1", row->what);
                expect_file(&c->v2, "hugetlb.2MB.max", "0", row->what);
                expect_file(&c->v1, "hugetlb/hugetlb.1GB.limit_in_bytes", "0", row->what);
                pod_plan_done(&plan);
        }
}

Test(plan, container_inherits_pod_level_limits)
{
        struct node_info n = test_node();
        _cleanup_pod_ struct pod *p = pod_builder_new("plr", "u");
        struct pod_plan plan;
        pod_builder_add_container(p, "bare", U, U, U, U);
        pod_builder_add_container(p, "own", 100, 50 * Mi, 200, 100 * Mi);
        pod_builder_set_pod_resources(p, 500, 200 * Mi, 500, 200 * Mi);
        plan_or_die(p, &n, &plan);

        cr_expect_eq(plan.qos, QOS_GUARANTEED);
        expect_file(&plan.v2, "cpu.max", "50000 100000", "pod");
        expect_file(&plan.v2, "memory.max", "209715200", "pod");
        /* no request: the shares come from the inherited limit */
        expect_file(&plan.containers[0].v1, "cpu/cpu.shares", "512", "bare");
        expect_file(&plan.containers[0].v2, "cpu.max", "50000 100000", "bare");
        expect_file(&plan.containers[0].v2, "memory.max", "209715200", "bare");
        expect_file(&plan.containers[1].v1, "cpu/cpu.shares", "102", "own");
        expect_file(&plan.containers[1].v2, "cpu.max", "20000 100000", "own");
        expect_file(&plan.containers[1].v2, "memory.max", "104857600", "own");
        cr_expect_eq(plan.containers[0].oom_score_adj, -997);
        pod_plan_done(&plan);
}

Test(plan, hugepages)
{
        uint64_t sizes[] = { 2097152, 4194304 };
        struct node_info n = test_node();
        n.hugepage_sizes = sizes;
        n.hugepage_totals = NULL;

        /* HugePageLimits: {"hugepages-2Mi": 128} -> {2097152: 128} */
        _cleanup_pod_ struct pod *a = pod_builder_new("a", "u");
        struct container *c = pod_builder_add_container(a, "c", 100, 100 * Mi, 100, 100 * Mi);
        pod_builder_set(&c->resources, true, "hugepages-2Mi", (__int128)128 * NANO);
        pod_builder_default(a);
        struct pod_plan plan;
        plan_or_die(a, &n, &plan);
        expect_file(&plan.v2, "hugetlb.2MB.max", "128", "pod a");
        expect_file(&plan.v2, "hugetlb.4MB.max", "0", "pod a");
        expect_file(&plan.v1, "hugetlb/hugetlb.2MB.limit_in_bytes", "128", "pod a");
        expect_file(&plan.containers[0].v2, "hugetlb.2MB.max", "128", "container a");
        expect_file(&plan.containers[0].v2, "hugetlb.4MB.max", "0", "container a");
        pod_plan_done(&plan);

        /* + {"hugepages-2097152": 256, "hugepages-4Mi": 512, "4Mi": 1024}
         * -> {2097152: 384, 4194304: 512}; "4Mi" is no huge page resource */
        _cleanup_pod_ struct pod *b = pod_builder_new("b", "u");
        c = pod_builder_add_container(b, "c", U, U, U, U);
        pod_builder_set(&c->resources, false, "hugepages-2Mi", (__int128)128 * NANO);
        pod_builder_set(&c->resources, false, "hugepages-2097152", (__int128)256 * NANO);
        pod_builder_set(&c->resources, false, "hugepages-4Mi", (__int128)512 * NANO);
        pod_builder_set(&c->resources, false, "4Mi", (__int128)1024 * NANO);
        plan_or_die(b, &n, &plan);
        cr_expect_eq(plan.qos, QOS_BESTEFFORT);
        expect_file(&plan.v2, "hugetlb.2MB.max", "384", "pod b");
        expect_file(&plan.v2, "hugetlb.4MB.max", "512", "pod b");
        expect_file(&plan.v1, "cpu/cpu.shares", "2", "pod b");
        pod_plan_done(&plan);
}

Test(plan, pids_limit)
{
        static const struct {
                int64_t pod, node;
                const char *want;
        } v[] = { { 100, 50, "50" }, { 100, -1, "100" }, { U, 70, "70" },
                  { U, -1, NULL },   { 30, 70, "30" },   { U, 0, NULL } };
        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                struct node_info n = test_node();
                n.pod_pids_limit = v[i].node;
                _cleanup_pod_ struct pod *p = pod_builder_new("p", "u");
                pod_builder_add_container(p, "c", 100, U, U, U);
                if (v[i].pod != U)
                        pod_builder_set(&p->spec.resources, true, "pids",
                                        (__int128)v[i].pod * NANO);
                struct pod_plan plan;
                plan_or_die(p, &n, &plan);
                expect_file(&plan.v2, "pids.max", v[i].want, "pids");
                expect_file(&plan.v1, "pids/pids.max", v[i].want, "pids");
                cr_expect_eq(plan.qos, QOS_BURSTABLE);
                pod_plan_done(&plan);
        }
}

Test(plan, systemd_rounds_every_quota)
{
        struct node_info n = test_node();
        n.driver = CGROUP_DRIVER_SYSTEMD;
        _cleanup_pod_ struct pod *p = pod_builder_new("p", "u");
        struct pod_plan plan;
        pod_builder_add_container(p, "a", U, U, 15, 10 * Mi);
        pod_builder_add_container(p, "b", U, U, 11, 10 * Mi);
        pod_builder_default(p);
        plan_or_die(p, &n, &plan);
        /* 26m -> 2600 -> 3000; 15m -> 2000; 11m -> 2000 */
        expect_file(&plan.v2, "cpu.max", "3000 100000", "pod");
        expect_file(&plan.v1, "cpu/cpu.cfs_quota_us", "3000", "pod");
        expect_file(&plan.containers[0].v2, "cpu.max", "2000 100000", "a");
        expect_file(&plan.containers[1].v1, "cpu/cpu.cfs_quota_us", "2000", "b");
        pod_plan_done(&plan);

        n.driver = CGROUP_DRIVER_CGROUPFS;
        plan_or_die(p, &n, &plan);
        expect_file(&plan.v2, "cpu.max", "2600 100000", "pod cgroupfs");
        expect_file(&plan.containers[0].v2, "cpu.max", "1500 100000", "a cgroupfs");
        pod_plan_done(&plan);
}

Test(plan, systemd_child_quota_never_exceeds_pod)
{
        struct node_info n = test_node();
        n.driver = CGROUP_DRIVER_SYSTEMD;
        for (int64_t a = 1; a <= 1300; a += 7)
                for (int64_t b = 1; b <= 60; b += 3) {
                        _cleanup_pod_ struct pod *p = pod_builder_new("p", "u");
                        struct pod_plan plan;
                        pod_builder_add_container(p, "a", U, U, a, 10 * Mi);
                        pod_builder_add_container(p, "b", U, U, b, 10 * Mi);
                        pod_builder_default(p);
                        plan_or_die(p, &n, &plan);
                        long long pod = atoll(cg_values_get(&plan.v1, "cpu/cpu.cfs_quota_us"));
                        for (size_t i = 0; i < plan.n_containers; i++) {
                                const char *q = cg_values_get(&plan.containers[i].v1,
                                                              "cpu/cpu.cfs_quota_us");
                                cr_assert_not_null(q);
                                cr_assert_leq(atoll(q), pod, "%lldm+%lldm: child %s > pod %lld",
                                              (long long)a, (long long)b, q, pod);
                                /* systemd keeps whole percents of a CPU */
                                cr_assert_eq(atoll(q) % 1000, 0);
                        }
                        cr_assert_eq(pod % 1000, 0);
                        pod_plan_done(&plan);
                }
}

/* --- QoS tiers --- */

static int plan_pods(struct pod **pods, size_t n, const struct node_info *node,
                     struct pod_plan *plans)
{
        for (size_t i = 0; i < n; i++)
                plan_or_die(pods[i], node, &plans[i]);
        return 0;
}

Test(plan, tiers)
{
        struct node_info n = test_node();
        n.reserved_cpu_milli = 500;
        n.reserved_memory = 1ULL << 30;
        n.reserved_pids = 1000;
        struct tiers_plan t;
        _cleanup_qerr_ struct qerr *e = NULL;

        cr_assert_geq(plan_tiers(NULL, 0, &n, &t, &e), 0);
        cr_expect_str_eq(t.kubepods.name, "kubepods");
        cr_expect_str_eq(t.kubepods.cgroupfs, "/kubepods");
        cr_expect_str_eq(t.burstable.systemd, "/kubepods.slice/kubepods-burstable.slice");
        cr_expect_str_eq(t.besteffort.cgroupfs, "/kubepods/besteffort");
        /* 3500m -> 3584 shares -> weight 137 */
        expect_file(&t.kubepods.v2, "cpu.weight", "137", "kubepods");
        expect_file(&t.kubepods.v1, "cpu/cpu.shares", "3584", "kubepods");
        expect_file(&t.kubepods.v2, "memory.max", "7516192768", "kubepods");
        expect_file(&t.kubepods.v1, "memory/memory.limit_in_bytes", "7516192768", "kubepods");
        expect_file(&t.kubepods.v2, "pids.max", "4193304", "kubepods");
        expect_file(&t.kubepods.v1, "pids/pids.max", "4193304", "kubepods");
        expect_file(&t.kubepods.v2, "hugetlb.2MB.max", "0", "kubepods");
        expect_file(&t.kubepods.v2, "hugetlb.1GB.max", "2147483648", "kubepods");
        expect_file(&t.burstable.v2, "cpu.weight", "1", "burstable");
        expect_file(&t.burstable.v1, "cpu/cpu.shares", "2", "burstable");
        expect_file(&t.burstable.v2, "hugetlb.2MB.max", "4611686018427387904", "burstable");
        expect_file(&t.burstable.v1, "hugetlb/hugetlb.1GB.limit_in_bytes", "4611686018427387904",
                    "burstable");
        expect_file(&t.burstable.v2, "memory.max", NULL, "burstable");
        expect_file(&t.besteffort.v2, "cpu.weight", "1", "besteffort");
        expect_file(&t.besteffort.v1, "cpu/cpu.shares", "2", "besteffort");
        expect_file(&t.besteffort.v2, "hugetlb.1GB.max", "4611686018427387904", "besteffort");
        tiers_plan_done(&t);
}

Test(plan, burstable_tier_follows_burstable_pods)
{
        struct node_info n = test_node();
        struct pod *pods[4];
        struct pod_plan plans[4];
        struct tiers_plan t;

        pods[0] = pod_builder_new("guaranteed", "g");
        pod_builder_add_container(pods[0], "c", 2000, 100 * Mi, 2000, 100 * Mi);
        pods[1] = pod_builder_new("besteffort", "b");
        pod_builder_add_container(pods[1], "c", U, U, U, U);
        pods[2] = pod_builder_new("burstable", "u1");
        pod_builder_add_container(pods[2], "c", 1000, U, U, U);
        pods[3] = pod_builder_new("burstable2", "u2");
        pod_builder_add_container(pods[3], "c", 500, 10 * Mi, U, U);
        plan_pods(pods, 4, &n, plans);

        cr_assert_geq(plan_tiers(plans, 2, &n, &t, NULL), 0);
        expect_file(&t.burstable.v1, "cpu/cpu.shares", "2", "no burstable pod");
        expect_file(&t.burstable.v2, "cpu.weight", "1", "no burstable pod");
        tiers_plan_done(&t);

        cr_assert_geq(plan_tiers(plans, 3, &n, &t, NULL), 0);
        expect_file(&t.burstable.v1, "cpu/cpu.shares", "1024", "one burstable pod");
        expect_file(&t.burstable.v2, "cpu.weight", "39", "one burstable pod");
        expect_file(&t.besteffort.v1, "cpu/cpu.shares", "2", "one burstable pod");
        expect_file(&t.kubepods.v1, "cpu/cpu.shares", "4096", "one burstable pod");
        tiers_plan_done(&t);

        cr_assert_geq(plan_tiers(plans, 4, &n, &t, NULL), 0);
        expect_file(&t.burstable.v1, "cpu/cpu.shares", "1536", "two burstable pods");
        expect_file(&t.burstable.v2, "cpu.weight", "59", "two burstable pods");
        tiers_plan_done(&t);

        for (size_t i = 0; i < 4; i++) {
                pod_plan_done(&plans[i]);
                pod_free(pods[i]);
        }
}

Test(plan, tiers_without_pid_capacity_or_memory)
{
        struct node_info n = test_node();
        n.pid_capacity = 0;
        n.reserved_memory = 16ULL << 30;
        n.reserved_cpu_milli = 8000;
        struct tiers_plan t;
        cr_assert_geq(plan_tiers(NULL, 0, &n, &t, NULL), 0);
        expect_file(&t.kubepods.v2, "pids.max", NULL, "kubepods");
        expect_file(&t.kubepods.v2, "memory.max", NULL, "kubepods");
        expect_file(&t.kubepods.v1, "cpu/cpu.shares", "2", "kubepods");
        tiers_plan_done(&t);
}

/* --- this host --- */

Test(plan, node_info_from_host)
{
        struct node_info n;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_geq(node_info_from_host(&n, &e), 0, "%s", qerr_msg(e));

        uint64_t phys = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
        cr_expect_eq(n.memory_capacity, phys, "MemTotal %llu, sysconf %llu",
                     (unsigned long long)n.memory_capacity, (unsigned long long)phys);
        cr_expect_eq(n.cpu_capacity_milli, sysconf(_SC_NPROCESSORS_ONLN) * 1000);
        cr_expect_gt(n.pid_capacity, 0);
        cr_expect_str_eq(n.cgroup_root, "/");
        cr_expect_eq(n.driver, CGROUP_DRIVER_CGROUPFS);
        cr_expect_eq(n.pod_pids_limit, -1);
        for (size_t i = 0; i < n.n_hugepage_sizes; i++) {
                cr_expect_eq(n.hugepage_sizes[i] % 4096, 0);
                cr_expect_eq(n.hugepage_totals[i] % n.hugepage_sizes[i], 0);
                if (i > 0)
                        cr_expect_gt(n.hugepage_sizes[i], n.hugepage_sizes[i - 1]);
        }
        node_info_done(&n);
}
