/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest/manifest.h"
#include "qos/plan.h"

struct decoded {
        struct pod_list pods;
        struct diag_list diags;
        int r;
};

static struct decoded decode_opts(const char *yaml, bool strict)
{
        struct manifest_options o = { .node_name = "Node1", .strict = strict };
        struct decoded d = { 0 };
        d.r = manifest_decode(yaml, strlen(yaml), "web.yaml", "/srv/web.yaml", &o, &d.pods,
                              &d.diags);
        return d;
}

static struct decoded decode(const char *yaml)
{
        return decode_opts(yaml, false);
}

static void decoded_done(struct decoded *d)
{
        pod_list_done(&d->pods);
        diag_list_done(&d->diags);
}

static const struct diag *first(const struct decoded *d, enum diag_severity s)
{
        for (size_t i = 0; i < d->diags.n; i++)
                if (d->diags.items[i].severity == s)
                        return &d->diags.items[i];
        return NULL;
}

static void plan_single(const char *yaml, struct pod_plan *ret)
{
        struct decoded d = decode(yaml);
        cr_assert_eq(d.r, 0, "decode failed: %s", d.diags.n ? d.diags.items[0].message : "");
        cr_assert_eq(d.pods.n, 1);
        struct node_info node = { .memory_capacity = 8000000000ULL,
                                  .cpu_capacity_milli = 4000,
                                  .cgroup_root = strdup("/") };
        cr_assert_eq(plan_pod(d.pods.pods[0], &node, ret, NULL), 0);
        node_info_done(&node);
        decoded_done(&d);
}

#define POD_HEAD "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n"

static const char *ctr_value(const struct pod_plan *p, size_t i, const char *file)
{
        cr_assert_lt(i, p->n_containers);
        return cg_values_get(strchr(file, '/') ? &p->containers[i].v1 : &p->containers[i].v2, file);
}

Test(manifest, case_a_memory_1_1Gi)
{
        struct pod_plan p = { 0 };
        plan_single(POD_HEAD "  containers:\n  - name: a\n    image: busybox:1.36\n"
                             "    resources:\n      limits:\n        memory: 1.1Gi\n",
                    &p);
        cr_assert_str_eq(ctr_value(&p, 0, "memory.max"), "1181116007");
        pod_plan_done(&p);
}

Test(manifest, case_a_cpu_decimal_string)
{
        struct pod_plan p = { 0 };
        plan_single(POD_HEAD "  containers:\n  - name: a\n    image: busybox:1.36\n"
                             "    resources:\n      limits:\n        cpu: \"0.1\"\n",
                    &p);
        cr_assert_str_eq(ctr_value(&p, 0, "cpu.max"), "10000 100000");
        pod_plan_done(&p);
}

Test(manifest, case_a_memory_exponent)
{
        struct pod_plan p = { 0 };
        plan_single(POD_HEAD "  containers:\n  - name: a\n    image: busybox:1.36\n"
                             "    resources:\n      limits:\n        memory: \"129e6\"\n",
                    &p);
        cr_assert_str_eq(ctr_value(&p, 0, "memory.max"), "129000000");
        cr_assert_str_eq(ctr_value(&p, 0, "memory/memory.limit_in_bytes"), "129000000");
        pod_plan_done(&p);
}

Test(manifest, case_a_memory_400m_is_a_fraction_of_a_byte)
{
        struct decoded d = decode(POD_HEAD
                                  "  containers:\n  - name: a\n    image: b:1\n"
                                  "    resources:\n      requests:\n        memory: 400m\n");
        cr_assert_eq(d.r, 0);
        const struct resource_entry *e = resource_list_find(
                &d.pods.pods[0]->spec.containers[0].resources.requests, "memory");
        cr_assert_not_null(e);
        int64_t v = 0;
        cr_assert_eq(quantity_value(&e->value, &v), 0);
        cr_assert_eq(v, 1, "400m of memory is 0.4 byte, rounded up to 1, got %lld", (long long)v);
        decoded_done(&d);

        struct pod_plan p = { 0 };
        plan_single(POD_HEAD "  containers:\n  - name: a\n    image: b:1\n"
                             "    resources:\n      requests:\n        memory: 400m\n",
                    &p);
        cr_assert_eq(p.memory_request, 1);
        /* Burstable with a 1-byte request: 1000 - 1000*1/8e9 = 1000 -> clamped to 999 */
        cr_assert_eq(p.containers[0].oom_score_adj, 999);
        pod_plan_done(&p);
}

Test(manifest, case_a_double_dot_quantity_refused_with_path)
{
        struct decoded d = decode(POD_HEAD
                                  "  containers:\n  - name: a\n    image: b:1\n"
                                  "    resources:\n      limits:\n        memory: 1.1.1Gi\n");
        cr_assert_neq(d.r, 0);
        cr_assert_eq(d.pods.n, 0);
        const struct diag *e = first(&d, DIAG_ERROR);
        cr_assert_not_null(e);
        cr_assert_str_eq(e->path, "spec.containers[0].resources.limits.memory");
        cr_assert_eq(e->line, 11);
        cr_assert_eq(e->column, 17);
        cr_assert(strstr(e->message, "invalid quantity \"1.1.1Gi\""), "%s", e->message);
        _cleanup_free_ char *s = diag_format(e);
        const char *want = "web.yaml:11:17: spec.containers[0].resources.limits.memory: "
                           "invalid quantity \"1.1.1Gi\"";
        cr_assert(strncmp(s, want, strlen(want)) == 0, "%s", s);
        decoded_done(&d);
}

Test(manifest, case_b_init_without_resources_is_burstable)
{
        struct pod_plan p = { 0 };
        plan_single(POD_HEAD
                    "  initContainers:\n  - name: init\n    image: b:1\n"
                    "  containers:\n  - name: app\n    image: b:1\n"
                    "    resources:\n      limits:\n        cpu: 1\n        memory: 100Mi\n",
                    &p);
        cr_assert_eq(p.qos, QOS_BURSTABLE);
        pod_plan_done(&p);
}

Test(manifest, case_c_cpu_request_one)
{
        struct pod_plan p = { 0 };
        plan_single(POD_HEAD "  containers:\n  - name: a\n    image: b:1\n"
                             "    resources:\n      requests:\n        cpu: 1\n",
                    &p);
        cr_assert_str_eq(cg_values_get(&p.v2, "cpu.weight"), "39");
        cr_assert_str_eq(ctr_value(&p, 0, "cpu.weight"), "100");
        cr_assert_str_eq(ctr_value(&p, 0, "cpu/cpu.shares"), "1024");
        cr_assert_str_eq(cg_values_get(&p.v1, "cpu/cpu.shares"), "1024");
        pod_plan_done(&p);
}

Test(manifest, case_d_cpu_limit_5m)
{
        struct pod_plan p = { 0 };
        plan_single(POD_HEAD "  containers:\n  - name: a\n    image: b:1\n"
                             "    resources:\n      limits:\n        cpu: 5m\n",
                    &p);
        cr_assert_str_eq(ctr_value(&p, 0, "cpu.max"), "1000 100000");
        cr_assert_str_eq(ctr_value(&p, 0, "cpu/cpu.cfs_quota_us"), "1000");
        pod_plan_done(&p);
}

Test(manifest, case_e_missing_name)
{
        struct decoded d = decode("apiVersion: v1\nkind: Pod\nmetadata:\n  generateName: web-\n"
                                  "spec:\n  containers:\n  - name: a\n    image: b:1\n");
        cr_assert_neq(d.r, 0);
        const struct diag *e = first(&d, DIAG_ERROR);
        cr_assert_not_null(e);
        cr_assert_str_eq(e->message, "metadata.name is required");
        cr_assert_eq(diag_count(&d.diags, DIAG_ERROR), 1, "only the missing name is an error");
        decoded_done(&d);
}

Test(manifest, case_f_misspelt_field_warns_or_fails_with_strict)
{
        const char *y = POD_HEAD
                "  restarPolicy: Never\n  containers:\n  - name: a\n    image: b:1\n";
        struct decoded d = decode(y);
        cr_assert_eq(d.r, 0);
        const struct diag *w = first(&d, DIAG_WARNING);
        cr_assert_not_null(w);
        cr_assert_str_eq(w->path, "spec.restarPolicy");
        cr_assert_eq(w->line, 6);
        cr_assert_eq(w->column, 3);
        cr_assert_eq(d.pods.pods[0]->spec.restart_policy, RESTART_POLICY_ALWAYS);
        decoded_done(&d);

        d = decode_opts(y, true);
        cr_assert_neq(d.r, 0);
        const struct diag *e = first(&d, DIAG_ERROR);
        cr_assert_not_null(e);
        cr_assert_str_eq(e->path, "spec.restarPolicy");
        cr_assert(strstr(e->message, "unknown field"));
        decoded_done(&d);
}

static char *load_uid(const char *path, size_t index, size_t *ret_n)
{
        struct manifest_options o = { .node_name = "node1" };
        struct pod_list l = { 0 };
        struct diag_list d = { 0 };
        cr_assert_eq(manifest_load_file(path, &o, &l, &d), 0);
        cr_assert_gt(l.n, index);
        char *uid = strdup(l.pods[index]->metadata.uid);
        if (ret_n)
                *ret_n = l.n;
        pod_list_done(&l);
        diag_list_done(&d);
        return uid;
}

static void write_file(const char *path, const char *text)
{
        FILE *f = fopen(path, "w");
        cr_assert_not_null(f);
        fputs(text, f);
        fclose(f);
}

#define UID_POD                                                                     \
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n" \
        "  - name: a  # the app\n    image: b:1\n"

Test(manifest, case_g_uid_is_stable_and_follows_content)
{
        char dir[] = "/tmp/qoslet-uid-XXXXXX";
        cr_assert_not_null(mkdtemp(dir));
        char path[256], other[256];
        snprintf(path, sizeof(path), "%s/web.yaml", dir);
        snprintf(other, sizeof(other), "%s/sub", dir);
        cr_assert_eq(mkdir(other, 0755), 0);
        write_file(path, UID_POD);

        _cleanup_free_ char *u1 = load_uid(path, 0, NULL);
        _cleanup_free_ char *u2 = load_uid(path, 0, NULL);
        cr_assert_str_eq(u1, u2, "same file twice");
        cr_assert_eq(strlen(u1), 32);

        char cwd[4096];
        cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
        cr_assert_eq(chdir(other), 0);
        _cleanup_free_ char *u3 = load_uid("../web.yaml", 0, NULL);
        cr_assert_eq(chdir(cwd), 0);
        cr_assert_str_eq(u1, u3, "same file from another working directory");

        write_file(path, "# a new comment\n" UID_POD "    # trailing comment\n");
        _cleanup_free_ char *u4 = load_uid(path, 0, NULL);
        cr_assert_str_eq(u1, u4, "a changed comment keeps the UID");

        write_file(path, "{apiVersion: v1, kind: Pod, metadata: {name: web}, spec: {containers: "
                         "[{image: 'b:1', name: a}]}}\n");
        _cleanup_free_ char *u5 = load_uid(path, 0, NULL);
        cr_assert_str_eq(u1, u5, "layout and key order do not matter");

        write_file(path, UID_POD "    imagePullPolicy: IfNotPresent\n");
        _cleanup_free_ char *u6 = load_uid(path, 0, NULL);
        cr_assert_str_neq(u1, u6, "a changed value gives a new UID");

        write_file(path,
                   "apiVersion: v1\nkind: PodList\nitems:\n"
                   "- metadata: {name: a}\n  spec: {containers: [{name: a, image: 'b:1'}]}\n"
                   "- metadata: {name: a}\n  spec: {containers: [{name: a, image: 'b:1'}]}\n");
        size_t n = 0;
        _cleanup_free_ char *l0 = load_uid(path, 0, &n);
        _cleanup_free_ char *l1 = load_uid(path, 1, NULL);
        cr_assert_eq(n, 2);
        cr_assert_str_neq(l0, l1, "two pods of one PodList get different UIDs");

        unlink(path);
        rmdir(other);
        rmdir(dir);
}

Test(manifest, static_name_suffix_and_defaults)
{
        struct decoded d = decode(POD_HEAD "  containers:\n  - name: a\n    image: busybox\n"
                                           "    resources:\n      limits:\n        cpu: 200m\n"
                                           "    ports:\n    - containerPort: 80\n");
        cr_assert_eq(d.r, 0);
        const struct pod *p = d.pods.pods[0];
        cr_assert_str_eq(p->metadata.name, "web-node1");
        cr_assert_str_eq(p->metadata.namespace, "default");
        cr_assert_eq(p->spec.restart_policy, RESTART_POLICY_ALWAYS);
        cr_assert_eq(p->spec.termination_grace_period_seconds, 30);
        const struct container *c = &p->spec.containers[0];
        cr_assert_eq(c->image_pull_policy, PULL_POLICY_ALWAYS, "no tag means Always");
        cr_assert_str_eq(c->ports[0].protocol, "TCP");
        const struct resource_entry *req = resource_list_find(&c->resources.requests, "cpu");
        cr_assert_not_null(req, "requests default to limits");
        cr_assert_str_eq(req->text, "200m");
        decoded_done(&d);
}

Test(manifest, probe_defaults)
{
        struct decoded d = decode(POD_HEAD
                                  "  containers:\n  - name: a\n    image: b:1\n"
                                  "    livenessProbe:\n      httpGet:\n        port: 8080\n");
        cr_assert_eq(d.r, 0);
        const struct probe *pr = &d.pods.pods[0]->spec.containers[0].liveness;
        cr_assert_eq(pr->period_seconds, 10);
        cr_assert_eq(pr->timeout_seconds, 1);
        cr_assert_eq(pr->success_threshold, 1);
        cr_assert_eq(pr->failure_threshold, 3);
        cr_assert_str_eq(pr->handler.http_path, "/");
        cr_assert_eq(pr->handler.port.num, 8080);
        decoded_done(&d);
}

Test(manifest, duplicate_keys_are_refused)
{
        struct decoded d = decode(POD_HEAD "  containers:\n  - name: a\n    image: b:1\n"
                                           "    image: c:1\n");
        cr_assert_neq(d.r, 0);
        const struct diag *e = first(&d, DIAG_ERROR);
        cr_assert_str_eq(e->message, "duplicate key 'image'");
        cr_assert_eq(e->line, 9);
        cr_assert_str_eq(e->path, "spec.containers[0]");
        decoded_done(&d);
}

Test(manifest, deep_nesting_is_refused)
{
        char buf[4096] = "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: ";
        for (int i = 0; i < 100; i++)
                strcat(buf, "[");
        for (int i = 0; i < 100; i++)
                strcat(buf, "]");
        struct decoded d = decode(buf);
        cr_assert_neq(d.r, 0);
        cr_assert(strstr(first(&d, DIAG_ERROR)->message, "nesting deeper than 64 levels"));
        decoded_done(&d);
}

Test(manifest, alias_bomb_is_refused)
{
        const char *y = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                        "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                        "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                        "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n";
        struct decoded d = decode(y);
        cr_assert_neq(d.r, 0);
        const struct diag *e = first(&d, DIAG_ERROR);
        cr_assert(strstr(e->message, "alias expansion exceeds the limit"), "%s", e->message);
        cr_assert_eq(e->line, 5, "the first alias past the budget");
        decoded_done(&d);
}

Test(manifest, json_goes_through_the_same_decoder)
{
        struct decoded d = decode(
                "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Pod\",\n"
                "  \"metadata\": {\"name\": \"web\"},\n"
                "  \"spec\": {\"containers\": [{\"name\": \"a\", \"image\": "
                "\"b:1\",\n    \"resources\": {\"limits\": {\"cpu\": \"5OOm\"}}}]}\n}\n");
        cr_assert_neq(d.r, 0);
        const struct diag *e = first(&d, DIAG_ERROR);
        cr_assert_str_eq(e->path, "spec.containers[0].resources.limits.cpu");
        cr_assert_eq(e->line, 6);
        cr_assert_eq(e->column, 37);
        cr_assert(strstr(e->message, "invalid quantity \"5OOm\""));
        decoded_done(&d);
}

Test(manifest, wrong_types_name_the_field)
{
        struct decoded d = decode(POD_HEAD "  containers:\n  - name: 123\n    image: b:1\n"
                                           "    env:\n    - name: PORT\n      value: 8080\n");
        cr_assert_neq(d.r, 0);
        cr_assert_eq(diag_count(&d.diags, DIAG_ERROR), 2);
        cr_assert_str_eq(d.diags.items[0].path, "spec.containers[0].name");
        cr_assert_str_eq(d.diags.items[0].message, "expected a string, got an integer");
        cr_assert_str_eq(d.diags.items[1].path, "spec.containers[0].env[0].value");
        decoded_done(&d);
}

Test(manifest, streams_and_lists)
{
        struct decoded d = decode(
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n"
                "apiVersion: v1\nkind: Pod\nmetadata: {name: one}\nspec: {containers: [{name: a, "
                "image: 'b:1'}]}\n---\n"
                "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Service, metadata: "
                "{name: s}}\n- {apiVersion: v1, kind: Pod, metadata: {name: two}, spec: "
                "{containers: [{name: a, image: 'b:1'}]}}\n---\n");
        cr_assert_eq(d.r, 0);
        cr_assert_eq(d.pods.n, 2);
        cr_assert_str_eq(d.pods.pods[0]->metadata.name, "one-node1");
        cr_assert_str_eq(d.pods.pods[1]->metadata.name, "two-node1");
        cr_assert_eq(diag_count(&d.diags, DIAG_NOTICE), 2, "ConfigMap and Service skipped");
        decoded_done(&d);
}

Test(manifest, one_bad_pod_refuses_the_file)
{
        struct decoded d = decode(
                "apiVersion: v1\nkind: Pod\nmetadata: {name: one}\nspec: {containers: [{name: a, "
                "image: 'b:1'}]}\n---\n"
                "apiVersion: v1\nkind: Pod\nmetadata: {name: Two}\nspec: {containers: [{name: a, "
                "image: 'b:1'}]}\n");
        cr_assert_neq(d.r, 0);
        cr_assert_eq(d.pods.n, 0);
        cr_assert_str_eq(first(&d, DIAG_ERROR)->path, "metadata.name");
        decoded_done(&d);
}

Test(manifest, empty_and_huge_files)
{
        struct decoded d = decode("# only a comment\n");
        cr_assert_neq(d.r, 0);
        cr_assert(strstr(first(&d, DIAG_ERROR)->message, "empty manifest"));
        decoded_done(&d);

        char path[] = "/tmp/qoslet-big-XXXXXX";
        int fd = mkstemp(path);
        cr_assert_geq(fd, 0);
        cr_assert_eq(ftruncate(fd, MANIFEST_MAX_SIZE + 1), 0);
        close(fd);
        struct manifest_options o = { .node_name = "n" };
        struct pod_list l = { 0 };
        struct diag_list dl = { 0 };
        cr_assert_neq(manifest_load_file(path, &o, &l, &dl), 0);
        cr_assert_eq(dl.items[0].line, 0);
        cr_assert(strstr(dl.items[0].message, "larger than"), "%s", dl.items[0].message);
        diag_list_done(&dl);
        unlink(path);
}
