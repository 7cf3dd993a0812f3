/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "basic/macro.h"
#include "helpers/paths.h"

/* `qosctl plan -o json` over the real-world corpus (tests/corpus, copied from the project's
 * shared corpus with its SOURCES.md) gives exactly the classes of expected-qos.tsv and refuses
 * every REJECT file with an error naming the file, line and field. */

static json_t *plan_json(const char *args, int *ret_status)
{
        _cleanup_free_ char *qosctl = test_program_path("qosctl");
        _cleanup_free_ char *cmd = NULL, *out = NULL;
        cr_assert_geq(asprintf(&cmd, "%s plan -o json --node-name node1 %s", qosctl, args), 0);
        *ret_status = test_run_capture(cmd, &out);
        cr_assert_not_null(out);
        json_error_t e;
        json_t *j = json_loads(out, 0, &e);
        cr_assert_not_null(j, "output of '%s' is not JSON: %s", cmd, e.text);
        return j;
}

static void check_accepted(const char *file, const char *class)
{
        _cleanup_free_ char *arg = NULL;
        cr_assert_geq(asprintf(&arg, "tests/corpus/manifests/%s", file), 0);
        int status;
        json_t *j = plan_json(arg, &status);
        cr_expect_eq(status, 0, "%s: exit status %d", file, status);
        json_t *pods = json_object_get(j, "pods");
        cr_expect_eq(json_array_size(pods), 1, "%s: one pod", file);
        cr_expect_eq(json_array_size(json_object_get(j, "errors")), 0, "%s: no errors", file);
        const char *got = json_string_value(json_object_get(json_array_get(pods, 0), "qosClass"));
        cr_expect(got && strcmp(got, class) == 0, "%s: class %s, want %s", file,
                  got ? got : "(none)", class);
        json_decref(j);
}

static void check_rejected(const char *file)
{
        _cleanup_free_ char *arg = NULL;
        cr_assert_geq(asprintf(&arg, "tests/corpus/manifests/%s", file), 0);
        int status;
        json_t *j = plan_json(arg, &status);
        cr_expect_eq(status, 1, "%s: refused manifests exit 1, got %d", file, status);
        cr_expect_eq(json_array_size(json_object_get(j, "pods")), 0, "%s: no pod", file);
        json_t *err = json_array_get(json_object_get(j, "errors"), 0);
        cr_assert_not_null(err, "%s: an error is reported", file);
        cr_expect(strstr(json_string_value(json_object_get(err, "file")), file));
        cr_expect_gt(json_integer_value(json_object_get(err, "line")), 0, "%s: line", file);
        cr_expect_gt(json_integer_value(json_object_get(err, "column")), 0, "%s: column", file);
        cr_expect_gt(strlen(json_string_value(json_object_get(err, "path"))), 0, "%s: path", file);
        json_decref(j);
}

Test(qosctl, corpus_classes_and_rejects)
{
        FILE *f = fopen("tests/corpus/expected-qos.tsv", "r");
        cr_assert_not_null(f);
        char line[1024];
        size_t n = 0, rejects = 0;
        cr_assert_not_null(fgets(line, sizeof(line), f)); /* header */
        while (fgets(line, sizeof(line), f)) {
                char *file = strtok(line, "\t"), *class = strtok(NULL, "\t"),
                     *reason = strtok(NULL, "\n");
                if (!file || !class || !reason)
                        continue;
                if (strncmp(reason, "REJECT", 6) == 0) {
                        check_rejected(file);
                        rejects++;
                } else
                        check_accepted(file, class);
                n++;
        }
        fclose(f);
        cr_assert_eq(n, 26, "every corpus file checked");
        cr_assert_eq(rejects, 3);
}

Test(qosctl, directory_plans_good_files_and_exits_1)
{
        int status;
        json_t *j = plan_json("tests/corpus/manifests", &status);
        cr_assert_eq(status, 1);
        cr_assert_eq(json_array_size(json_object_get(j, "pods")), 23);
        cr_assert_eq(json_array_size(json_object_get(j, "errors")), 3);
        json_t *tiers = json_object_get(j, "tiers");
        const char *w = json_string_value(json_object_get(
                json_object_get(json_object_get(tiers, "besteffort"), "v2"), "cpu.weight"));
        cr_assert_str_eq(w, "1");
        json_decref(j);
}

Test(qosctl, plan_output_shape)
{
        int status;
        json_t *j = plan_json("--cgroup-driver systemd --node-memory 8Gi --node-cpus 4 "
                              "--hugepage-sizes 2Mi tests/corpus/manifests/website__qos-pod.yaml",
                              &status);
        cr_assert_eq(status, 0);
        json_t *pod = json_array_get(json_object_get(j, "pods"), 0);
        const char *uid = json_string_value(json_object_get(pod, "uid"));
        cr_assert_eq(strlen(uid), 32);
        _cleanup_free_ char *want_fs = NULL, *want_sd = NULL;
        cr_assert_geq(asprintf(&want_fs, "/kubepods/pod%s", uid), 0);
        cr_assert_geq(asprintf(&want_sd, "/kubepods.slice/kubepods-pod%s.slice", uid), 0);
        json_t *cg = json_object_get(pod, "cgroup");
        cr_assert_str_eq(json_string_value(json_object_get(cg, "cgroupfs")), want_fs);
        cr_assert_str_eq(json_string_value(json_object_get(cg, "systemd")), want_sd);
        cr_assert_str_eq(json_string_value(json_object_get(json_object_get(pod, "v2"), "cpu.max")),
                         "70000 100000");
        cr_assert_str_eq(json_string_value(json_object_get(json_object_get(pod, "v1"),
                                                           "memory/memory.limit_in_bytes")),
                         "209715200");
        cr_assert_null(json_object_get(json_object_get(pod, "v2"), "pids.max"),
                       "files not written are absent");
        json_t *ctr = json_array_get(json_object_get(pod, "containers"), 0);
        cr_assert_eq(json_integer_value(json_object_get(ctr, "oomScoreAdj")), -997);
        cr_assert_str_eq(
                json_string_value(json_object_get(json_object_get(ctr, "v2"), "hugetlb.2MB.max")),
                "0");
        json_t *kp = json_object_get(json_object_get(j, "tiers"), "kubepods");
        cr_assert_str_eq(
                json_string_value(json_object_get(json_object_get(kp, "v2"), "memory.max")),
                "8589934592");
        json_decref(j);
}

Test(qosctl, config_file_and_flags_override_it)
{
        char path[] = "/tmp/qoslet-config-XXXXXX";
        int fd = mkstemp(path);
        cr_assert_geq(fd, 0);
        const char *cfg = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
                          "cgroupDriver: systemd\ncgroupRoot: /custom\npodPidsLimit: 100\n"
                          "systemReserved:\n  memory: 1Gi\n";
        cr_assert_eq(write(fd, cfg, strlen(cfg)), (ssize_t)strlen(cfg));
        close(fd);
        _cleanup_free_ char *args = NULL;
        cr_assert_geq(asprintf(&args,
                               "--config %s --node-memory 8Gi "
                               "tests/corpus/manifests/k3s__dnsutils.yaml",
                               path),
                      0);
        int status;
        json_t *j = plan_json(args, &status);
        cr_assert_eq(status, 0);
        json_t *pod = json_array_get(json_object_get(j, "pods"), 0);
        const char *sd = json_string_value(
                json_object_get(json_object_get(pod, "cgroup"), "systemd"));
        cr_assert(strncmp(sd, "/custom.slice/custom-kubepods.slice/", 36) == 0, "%s", sd);
        cr_assert_str_eq(json_string_value(json_object_get(json_object_get(pod, "v2"), "pids.max")),
                         "100");
        json_t *kp = json_object_get(json_object_get(j, "tiers"), "kubepods");
        cr_assert_str_eq(
                json_string_value(json_object_get(json_object_get(kp, "v2"), "memory.max")),
                "7516192768", "8Gi minus the 1Gi system reservation");
        json_decref(j);

        free(args);
        cr_assert_geq(asprintf(&args,
                               "--config %s --pod-pids-limit 50 --cgroup-root / "
                               "tests/corpus/manifests/k3s__dnsutils.yaml",
                               path),
                      0);
        j = plan_json(args, &status);
        pod = json_array_get(json_object_get(j, "pods"), 0);
        cr_assert_str_eq(json_string_value(json_object_get(json_object_get(pod, "v2"), "pids.max")),
                         "50", "the flag overrides the file");
        sd = json_string_value(json_object_get(json_object_get(pod, "cgroup"), "cgroupfs"));
        cr_assert(strncmp(sd, "/kubepods/besteffort/pod", 24) == 0, "%s", sd);
        json_decref(j);
        unlink(path);
}

/* The example manifests say in their comments what a user should see: keep them true. */
Test(qosctl, example_manifests)
{
        static const struct {
                const char *name, *class;
        } want[] = {
                { "besteffort-node1", "BestEffort" },
                { "burstable-node1", "Burstable" },
                { "crash-loop-node1", "BestEffort" },
                { "guaranteed-node1", "Guaranteed" },
                { "init-and-sidecar-node1", "Burstable" },
                { "memory-hog-node1", "Guaranteed" },
                { "pod-level-node1", "Guaranteed" },
                { "shared-namespaces-node1", "BestEffort" },
        };
        int status;
        json_t *j = plan_json("manifests", &status);
        cr_assert_eq(status, 0);
        cr_assert_eq(json_array_size(json_object_get(j, "warnings")), 0);
        json_t *pods = json_object_get(j, "pods");
        cr_assert_eq(json_array_size(pods), ELEMENTSOF(want));
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                json_t *p = json_array_get(pods, i);
                cr_expect_str_eq(json_string_value(json_object_get(p, "name")), want[i].name);
                cr_expect_str_eq(json_string_value(json_object_get(p, "qosClass")), want[i].class);
        }
        json_t *pl = json_object_get(json_array_get(pods, 6), "v2");
        cr_expect_str_eq(json_string_value(json_object_get(pl, "pids.max")), "256");
        cr_expect_str_eq(json_string_value(json_object_get(pl, "cpu.max")), "20000 100000");
        json_t *g = json_object_get(json_array_get(pods, 3), "containers");
        cr_expect_eq(json_integer_value(json_object_get(json_array_get(g, 0), "oomScoreAdj")),
                     -997);
        json_decref(j);
}
