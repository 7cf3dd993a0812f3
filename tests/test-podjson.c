/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "manifest/manifest.h"
#include "node/podjson.h"
#include "node/podtable.h"
#include "node/status.h"

/* /pods documents (a v1 Pod from a decoded manifest, plan and status) and the `qosctl get
 * pods` columns computed from them as kubectl does. */

Test(podtable, human_duration_table)
{
        static const struct {
                int64_t s;
                const char *want;
        } cases[] = {
                { -5, "<invalid>" },
                { -1, "0s" },
                { 0, "0s" },
                { 59, "59s" },
                { 119, "119s" },
                { 120, "2m" },
                { 125, "2m5s" },
                { 599, "9m59s" },
                { 600, "10m" },
                { 3599, "59m" },
                { 10799, "179m" },
                { 10800, "3h" },
                { 12000, "3h20m" },
                { 8 * 3600, "8h" },
                { 47 * 3600, "47h" },
                { 48 * 3600, "2d" },
                { 53 * 3600, "2d5h" },
                { 30 * 86400, "30d" },
                { 730 * 86400, "2y" },
                { 750 * 86400, "2y20d" },
                { 3000 * 86400, "8y" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *got = podtable_human_duration(cases[i].s);
                cr_expect_str_eq(got, cases[i].want, "%lld s", (long long)cases[i].s);
        }
        cr_expect_eq(podtable_parse_time("1970-01-02T00:00:10Z"), 86410);
        cr_expect_eq(podtable_parse_time("2024-05-01T10:00:00"), -1);
        cr_expect_eq(podtable_parse_time(NULL), -1);
}

struct row_case {
        const char *pod;
        const char *ready, *status, *restarts;
};

/* now = 1000000 s; created 100 s before */
static const struct row_case rows[] = {
        { "{\"metadata\": {\"name\": \"a\", \"creationTimestamp\": \"1970-01-12T13:45:00Z\"},"
          " \"spec\": {\"containers\": [{\"name\": \"c\"}]},"
          " \"status\": {\"phase\": \"Pending\", \"containerStatuses\": [{\"name\": \"c\","
          " \"state\": {\"waiting\": {\"reason\": \"ContainerCreating\"}}}]}}",
          "0/1", "ContainerCreating", "0" },
        { "{\"metadata\": {\"name\": \"a\"}, \"spec\": {\"containers\": [{\"name\": \"c\"}]},"
          " \"status\": {\"phase\": \"Running\", \"containerStatuses\": [{\"name\": \"c\","
          " \"restartCount\": 3, \"state\": {\"waiting\": {\"reason\": \"CrashLoopBackOff\"}},"
          " \"lastState\": {\"terminated\": {\"exitCode\": 1, \"reason\": \"Error\","
          " \"finishedAt\": \"1970-01-12T13:44:00Z\"}}}]}}",
          "0/1", "CrashLoopBackOff", "3 (2m40s ago)" },
        { "{\"metadata\": {\"name\": \"a\"}, \"spec\": {\"containers\": [{\"name\": \"c\"}]},"
          " \"status\": {\"phase\": \"Running\", \"conditions\": [{\"type\": \"Ready\","
          " \"status\": \"True\"}], \"containerStatuses\": [{\"name\": \"c\", \"ready\": true,"
          " \"state\": {\"running\": {}}}]}}",
          "1/1", "Running", "0" },
        { "{\"metadata\": {\"name\": \"a\"}, \"spec\": {\"containers\": [{\"name\": \"c\"}]},"
          " \"status\": {\"phase\": \"Succeeded\", \"containerStatuses\": [{\"name\": \"c\","
          " \"state\": {\"terminated\": {\"exitCode\": 0, \"reason\": \"Completed\"}}}]}}",
          "0/1", "Completed", "0" },
        { "{\"metadata\": {\"name\": \"a\"}, \"spec\": {\"containers\": [{\"name\": \"c\"}]},"
          " \"status\": {\"phase\": \"Failed\", \"containerStatuses\": [{\"name\": \"c\","
          " \"state\": {\"terminated\": {\"exitCode\": 137, \"signal\": 9}}}]}}",
          "0/1", "Signal:9", "0" },
        { "{\"metadata\": {\"name\": \"a\"}, \"spec\": {\"containers\": [{\"name\": \"c\"}]},"
          " \"status\": {\"phase\": \"Running\", \"containerStatuses\": [{\"name\": \"c\","
          " \"state\": {\"terminated\": {\"exitCode\": 137, \"reason\": \"OOMKilled\"}}}]}}",
          "0/1", "OOMKilled", "0" },
        /* init containers: two of three, the first done */
        { "{\"metadata\": {\"name\": \"a\"}, \"spec\": {\"initContainers\": [{\"name\": \"i\"},"
          " {\"name\": \"j\"}], \"containers\": [{\"name\": \"c\"}]},"
          " \"status\": {\"phase\": \"Pending\", \"initContainerStatuses\": [{\"name\": \"i\","
          " \"state\": {\"terminated\": {\"exitCode\": 0}}}, {\"name\": \"j\", \"state\":"
          " {\"running\": {}}}], \"containerStatuses\": [{\"name\": \"c\", \"state\":"
          " {\"waiting\": {\"reason\": \"PodInitializing\"}}}]}}",
          "0/1", "Init:1/2", "0" },
        { "{\"metadata\": {\"name\": \"a\"}, \"spec\": {\"initContainers\": [{\"name\": \"i\"}],"
          " \"containers\": [{\"name\": \"c\"}]}, \"status\": {\"phase\": \"Pending\","
          " \"initContainerStatuses\": [{\"name\": \"i\", \"restartCount\": 2, \"state\":"
          " {\"waiting\": {\"reason\": \"CrashLoopBackOff\"}}}]}}",
          "0/1", "Init:CrashLoopBackOff", "2" },
        /* a started sidecar counts in READY; the app runs */
        { "{\"metadata\": {\"name\": \"a\"}, \"spec\": {\"initContainers\": [{\"name\": \"s\","
          " \"restartPolicy\": \"Always\"}], \"containers\": [{\"name\": \"c\"}]},"
          " \"status\": {\"phase\": \"Running\", \"conditions\": [{\"type\": \"Initialized\","
          " \"status\": \"True\"}], \"initContainerStatuses\": [{\"name\": \"s\", \"started\":"
          " true, \"ready\": true, \"state\": {\"running\": {}}}], \"containerStatuses\":"
          " [{\"name\": \"c\", \"ready\": true, \"state\": {\"running\": {}}}]}}",
          "2/2", "Running", "0" },
        { "{\"metadata\": {\"name\": \"a\", \"deletionTimestamp\": \"1970-01-12T13:46:00Z\"},"
          " \"spec\": {\"containers\": [{\"name\": \"c\"}]}, \"status\": {\"phase\":"
          " \"Running\", \"containerStatuses\": [{\"name\": \"c\", \"ready\": true, \"state\":"
          " {\"running\": {}}}]}}",
          "1/1", "Terminating", "0" },
};

Test(podtable, rows_as_kubectl_prints_them)
{
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                json_error_t je;
                json_t *j = json_loads(rows[i].pod, 0, &je);
                cr_assert_not_null(j, "case %zu: %s", i, je.text);
                struct pod_row r;
                cr_assert_eq(podtable_row(j, 1000000, &r), 0);
                cr_expect_str_eq(r.ready, rows[i].ready, "case %zu", i);
                cr_expect_str_eq(r.status, rows[i].status, "case %zu", i);
                cr_expect_str_eq(r.restarts, rows[i].restarts, "case %zu", i);
                if (i == 0)
                        cr_expect_str_eq(r.age, "100s");
                pod_row_done(&r);
                json_decref(j);
        }
}

static const char manifest[] =
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels: {app: web}\n"
        "  annotations: {team: edge}\nspec:\n  containers:\n  - name: app\n    image: nginx:1.25\n"
        "    resources:\n      requests: {cpu: 250m, memory: 64Mi}\n"
        "      limits: {cpu: \"1\", memory: 128Mi}\n";

Test(podjson, pod_document)
{
        struct manifest_options mo = { .node_name = "node1" };
        struct pod_list l = { 0 };
        struct diag_list d = { 0 };
        cr_assert_eq(
                manifest_decode(manifest, strlen(manifest), "web.yaml", "/m/web.yaml", &mo, &l, &d),
                0);
        struct pod *p = l.pods[0];
        struct node_info ni = { .memory_capacity = 8ULL << 30,
                                .cpu_capacity_milli = 4000,
                                .cgroup_root = (char *)"/" };
        struct pod_plan plan;
        cr_assert_eq(plan_pod(p, &ni, &plan, NULL), 0);
        struct status_context ctx = { .pod = p,
                                      .now = 2000000000000000,
                                      .start_time = 1714557600000000,
                                      .host_ip = "10.1.2.3" };
        struct pod_status st;
        cr_assert_eq(status_pod(&ctx, NULL, NULL, NULL, &st), 0);
        int64_t times[_POD_CONDITION_MAX] = { 1714557600000000, 1714557600000000, 1714557600000000,
                                              1714557600000000, 1714557600000000 };
        struct podjson_input in = { .pod = p,
                                    .source_kind = "file",
                                    .plan = &plan,
                                    .driver = CGROUP_DRIVER_CGROUPFS,
                                    .status = &st,
                                    .created_at = 1714557600000000,
                                    .condition_times = times };
        json_t *j = podjson_pod(&in);
        cr_assert_not_null(j);
        json_t *meta = json_object_get(j, "metadata"), *ann = json_object_get(meta, "annotations");
        cr_expect_str_eq(json_string_value(json_object_get(j, "kind")), "Pod");
        cr_expect_str_eq(json_string_value(json_object_get(meta, "name")), "web-node1");
        cr_expect_str_eq(json_string_value(json_object_get(meta, "uid")), p->metadata.uid);
        cr_expect_str_eq(json_string_value(json_object_get(meta, "creationTimestamp")),
                         "2024-05-01T10:00:00Z");
        cr_expect_str_eq(json_string_value(json_object_get(ann, "team")), "edge");
        cr_expect_str_eq(json_string_value(json_object_get(ann, "kubernetes.io/config.source")),
                         "file");
        cr_expect_str_eq(json_string_value(json_object_get(ann, "kubernetes.io/config.hash")),
                         p->config_hash);
        cr_expect_str_eq(json_string_value(json_object_get(ann, ANNOTATION_CGROUP_PATH)),
                         plan.cgroupfs);
        cr_expect(strncmp(plan.cgroupfs, "/kubepods/burstable/pod", 23) == 0, "%s", plan.cgroupfs);
        json_t *c = json_array_get(json_object_get(json_object_get(j, "spec"), "containers"), 0);
        json_t *res = json_object_get(c, "resources");
        cr_expect_str_eq(
                json_string_value(json_object_get(json_object_get(res, "requests"), "cpu")),
                "250m");
        cr_expect_str_eq(
                json_string_value(json_object_get(json_object_get(res, "limits"), "memory")),
                "128Mi");
        json_t *s = json_object_get(j, "status");
        cr_expect_str_eq(json_string_value(json_object_get(s, "qosClass")), "Burstable");
        cr_expect_str_eq(json_string_value(json_object_get(s, "phase")), "Pending");
        cr_expect_str_eq(json_string_value(json_object_get(s, "hostIP")), "10.1.2.3");
        cr_expect_str_eq(json_string_value(json_object_get(s, "startTime")),
                         "2024-05-01T10:00:00Z");
        json_t *conds = json_object_get(s, "conditions");
        cr_assert_eq(json_array_size(conds), 5);
        cr_expect_str_eq(json_string_value(json_object_get(json_array_get(conds, 0), "type")),
                         "PodReadyToStartContainers");
        cr_expect_str_eq(json_string_value(json_object_get(json_array_get(conds, 2), "reason")),
                         "ContainersNotReady");
        json_t *cs = json_array_get(json_object_get(s, "containerStatuses"), 0);
        cr_expect_str_eq(
                json_string_value(json_object_get(
                        json_object_get(json_object_get(cs, "state"), "waiting"), "reason")),
                "ContainerCreating");
        cr_expect_str_eq(json_string_value(json_object_get(cs, "image")), "nginx:1.25");
        cr_expect(json_is_false(json_object_get(cs, "ready")));

        /* round trip through the table printer */
        struct pod_row r;
        cr_assert_eq(podtable_row(j, 1714557600 + 30, &r), 0);
        cr_expect_str_eq(r.status, "ContainerCreating");
        cr_expect_str_eq(r.ready, "0/1");
        cr_expect_str_eq(r.age, "30s");
        cr_expect_str_eq(r.qos, "Burstable");
        cr_expect_str_eq(r.cgroup, plan.cgroupfs);
        pod_row_done(&r);

        /* the systemd driver names the slice */
        in.driver = CGROUP_DRIVER_SYSTEMD;
        json_t *j2 = podjson_pod(&in);
        cr_expect_str_eq(json_string_value(json_object_get(
                                 json_object_get(json_object_get(j2, "metadata"), "annotations"),
                                 ANNOTATION_CGROUP_PATH)),
                         plan.systemd);
        json_decref(j2);
        json_decref(j);
        pod_status_done(&st);
        pod_plan_done(&plan);
        pod_list_done(&l);
        diag_list_done(&d);
}
