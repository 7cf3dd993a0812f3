/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "helpers/cgtest.h"
#include "helpers/rootfs.h"
#include "basic/fileio.h"
#include "basic/strbuf.h"
#include "manifest/manifest.h"
#include "ns/paths.h"
#include "qos/plan.h"
#include "runtime/shimclient.h"

/* `qoslet run` end to end: the built binary, a busybox rootfs, a manifest. */

static char *dir, *rootfs, *qoslet;
static char cgroot[64]; /* this test's own --cgroup-root */
static pid_t child;

static void setup(void)
{
        if (geteuid() != 0)
                cr_skip_test("needs root");
        dir = test_tmpdir_tagged("run");
        rootfs = test_busybox_rootfs(dir);
        _cleanup_free_ char *shim = shim_default_path();
        cr_assert_not_null(shim);
        char *slash = strrchr(shim, '/');
        cr_assert(asprintf(&qoslet, "%.*s/qoslet", (int)(slash - shim), shim) > 0);
        cr_assert_eq(access(qoslet, X_OK), 0, "no '%s'", qoslet);
        snprintf(cgroot, sizeof(cgroot), "/qoslet-test-run-%d", (int)getpid());
}

/* Removes the test's cgroup root, whatever a failed test left in it. */
static void remove_cgroot(void)
{
        _cleanup_cg_manager_ struct cg_manager *m = NULL;
        _cleanup_free_ char *sd = cgtest_systemd(cgroot);
        if (cg_manager_new("cgroupfs", "/", &m, NULL) == 0)
                (void)cg_destroy(m, cgroot, sd, NULL, NULL);
}

static void teardown(void)
{
        if (child > 0) {
                (void)kill(child, SIGTERM);
                (void)waitpid(child, NULL, 0);
                child = 0;
        }
        remove_cgroot();
        test_rm_rf(dir);
        free(dir);
        free(rootfs);
        free(qoslet);
}

TestSuite(qoslet_root, .init = setup, .fini = teardown, .timeout = 60);

static char *write_manifest(const char *name, const char *body)
{
        char *p = path_join(dir, name);
        /* Every "IMAGE" becomes the test's busybox rootfs. */
        _cleanup_strbuf_ struct strbuf sb = { 0 };
        for (const char *s = body, *k; *s; s = k + 5) {
                k = strstr(s, "IMAGE");
                if (!k) {
                        strbuf_append(&sb, s);
                        break;
                }
                strbuf_append_n(&sb, s, (size_t)(k - s));
                strbuf_printf(&sb, "dir://%s", rootfs);
        }
        _cleanup_free_ char *text = strbuf_steal(&sb);
        cr_assert_eq(write_file_atomic(p, text, strlen(text), 0644, NULL), 0);
        return p;
}

/* Starts qoslet run on a manifest; its stderr goes to dir/qoslet.err. */
static pid_t spawn_run(const char *manifest)
{
        _cleanup_free_ char *root = path_join(dir, "root"), *run = path_join(dir, "run"),
                            *logs = path_join(dir, "log"), *errp = path_join(dir, "qoslet.err");
        pid_t p = fork();
        cr_assert_geq(p, 0);
        if (p == 0) {
                FILE *f = freopen(errp, "a", stderr);
                (void)f;
                execl(qoslet, "qoslet", "run", "--root-dir", root, "--run-dir", run, "--log-dir",
                      logs, "--node-name", "node1", "--cgroup-root", cgroot, manifest,
                      (char *)NULL);
                _exit(127);
        }
        return p;
}

static int wait_status(pid_t p)
{
        int st;
        cr_assert_eq(waitpid(p, &st, 0), p);
        cr_assert(WIFEXITED(st), "qoslet died of a signal");
        return WEXITSTATUS(st);
}

static char *stderr_text(void)
{
        _cleanup_free_ char *p = path_join(dir, "qoslet.err");
        char *t = test_read_file(p);
        return t ? t : strdup("");
}

/* The single log file under dir/log/<pod dir>/<container>/<n>.log */
static char *find_log(const char *container, unsigned attempt)
{
        _cleanup_free_ char *logs = path_join(dir, "log");
        DIR *d = opendir(logs);
        cr_assert_not_null(d);
        char *found = NULL;
        for (struct dirent *de; (de = readdir(d));)
                if (de->d_name[0] != '.')
                        cr_assert(asprintf(&found, "%s/%s/%s/%u.log", logs, de->d_name, container,
                                           attempt) > 0);
        closedir(d);
        cr_assert_not_null(found);
        return found;
}

static bool dir_empty(const char *sub)
{
        _cleanup_free_ char *p = path_join(dir, sub);
        DIR *d = opendir(p);
        if (!d)
                return true;
        int n = 0;
        for (struct dirent *de; (de = readdir(d));)
                n += de->d_name[0] != '.';
        closedir(d);
        return n == 0;
}

Test(qoslet_root, run_completes_and_cleans_up)
{
        _cleanup_free_ char *m = write_manifest("pod.yaml",
                                                "apiVersion: v1\nkind: Pod\nmetadata: {name: job}\n"
                                                "spec:\n  restartPolicy: Never\n  containers:\n"
                                                "  - name: a\n    image: IMAGE\n"
                                                "    command: [sh, -c, 'echo one; echo two']\n"
                                                "  - name: b\n    image: IMAGE\n"
                                                "    command: [sh, -c, 'hostname']\n");
        int rc = wait_status(spawn_run(m));
        _cleanup_free_ char *err = stderr_text();
        cr_assert_eq(rc, 0, "qoslet run:\n%s", err);
        _cleanup_free_ char *la = find_log("a", 0), *lb = find_log("b", 0);
        _cleanup_free_ char *ta = test_read_file(la), *tb = test_read_file(lb);
        cr_expect(ta && strstr(ta, " stdout F one\n") && strstr(ta, " stdout F two\n"), "%s", ta);
        cr_expect(tb && strstr(tb, " stdout F job-node1\n"), "static pod name as hostname: %s", tb);
        cr_expect(dir_empty("root/pods"), "pod state removed");
        cr_expect(dir_empty("run/pods"), "pod run dir removed");
        cr_expect(strstr(err, "removed"), "%s", err);
}

Test(qoslet_root, run_failing_pod_exits_1)
{
        _cleanup_free_ char *m = write_manifest("pod.yaml",
                                                "apiVersion: v1\nkind: Pod\nmetadata: {name: bad}\n"
                                                "spec:\n  restartPolicy: Never\n  containers:\n"
                                                "  - name: a\n    image: IMAGE\n"
                                                "    command: [sh, -c, 'exit 3']\n");
        int rc = wait_status(spawn_run(m));
        _cleanup_free_ char *err = stderr_text();
        cr_expect_eq(rc, 1, "%s", err);
        cr_expect(strstr(err, "container 'a' exited with 3"), "%s", err);
}

Test(qoslet_root, run_restarts_on_failure)
{
        /* Fails on its first run, succeeds on its second: the emptyDir keeps the count. */
        _cleanup_free_ char *m = write_manifest(
                "pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: flaky}\n"
                            "spec:\n  restartPolicy: OnFailure\n  containers:\n"
                            "  - name: a\n    image: IMAGE\n"
                            "    command: [sh, -c, 'if [ -e /d/once ]; then echo second; exit 0; "
                            "fi; touch /d/once; echo first; exit 1']\n"
                            "    volumeMounts: [{name: d, mountPath: /d}]\n"
                            "  volumes: [{name: d, emptyDir: {}}]\n");
        int rc = wait_status(spawn_run(m));
        _cleanup_free_ char *err = stderr_text();
        cr_assert_eq(rc, 0, "%s", err);
        _cleanup_free_ char *l0 = find_log("a", 0), *l1 = find_log("a", 1);
        _cleanup_free_ char *t0 = test_read_file(l0), *t1 = test_read_file(l1);
        cr_expect(t0 && strstr(t0, "F first\n"), "%s", t0);
        cr_expect(t1 && strstr(t1, "F second\n"), "%s", t1);
        cr_expect(strstr(err, "restart 1 in 0 s"), "%s", err);
}

Test(qoslet_root, interrupt_stops_and_lock_refuses_second_run)
{
        _cleanup_free_ char *m = write_manifest(
                "pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: svc}\n"
                            "spec:\n  terminationGracePeriodSeconds: 5\n  containers:\n"
                            "  - name: a\n    image: IMAGE\n"
                            "    command: [sh, -c, \"trap 'exit 0' TERM; echo up; "
                            "while :; do sleep 0.05; done\"]\n");
        child = spawn_run(m);
        _cleanup_free_ char *log = NULL;
        for (int i = 0; i < 500; i++) {
                if (!dir_empty("log")) {
                        free(log);
                        log = find_log("a", 0);
                        _cleanup_free_ char *t = test_read_file(log);
                        if (t && strstr(t, "F up\n"))
                                break;
                }
                usleep(10000);
        }
        int rc2 = wait_status(spawn_run(m));
        _cleanup_free_ char *err2 = stderr_text();
        cr_expect_eq(rc2, 1);
        cr_expect(strstr(err2, "is in use by a qoslet daemon or another 'qoslet run'"), "%s", err2);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        cr_assert_eq(kill(child, SIGINT), 0);
        int rc = wait_status(child);
        child = 0;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        cr_expect_eq(rc, 0);
        cr_expect_lt(took, 2.0, "the container exits on SIGTERM: stopped in %.2f s", took);
        cr_expect(dir_empty("root/pods") && dir_empty("run/pods"));
}

/* The plan qoslet run makes for a manifest (same node name, same cgroup root). */
static void plan_of(const char *manifest, struct pod_plan *ret)
{
        struct manifest_options mo = { .node_name = "node1" };
        _cleanup_(diag_list_done) struct diag_list diags = { 0 };
        struct pod_list pods = { 0 };
        cr_assert_eq(manifest_load_file(manifest, &mo, &pods, &diags), 0);
        cr_assert_eq(pods.n, 1);
        struct node_info node;
        cr_assert_eq(node_info_from_host(&node, NULL), 0);
        free(node.cgroup_root);
        node.cgroup_root = strdup(cgroot);
        cr_assert_eq(plan_pod(pods.pods[0], &node, ret, NULL), 0);
        node_info_done(&node);
        pod_list_done(&pods);
}

/* A process whose command line is exactly argv (NUL-separated), or 0. */
static pid_t find_process(const char *a0, const char *a1)
{
        DIR *d = opendir("/proc");
        cr_assert_not_null(d);
        pid_t found = 0;
        for (struct dirent *de; !found && (de = readdir(d));) {
                char p[300], buf[256] = "";
                if (de->d_name[0] < '1' || de->d_name[0] > '9')
                        continue;
                snprintf(p, sizeof(p), "/proc/%s/cmdline", de->d_name);
                FILE *f = fopen(p, "re");
                size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
                if (f)
                        fclose(f);
                if (n == strlen(a0) + strlen(a1) + 2 && strcmp(buf, a0) == 0 &&
                    strcmp(buf + strlen(a0) + 1, a1) == 0)
                        found = atoi(de->d_name);
        }
        closedir(d);
        return found;
}

/* True when /proc/PID/cgroup puts pid in `path` in the hierarchy of this controller. */
static bool pid_in(pid_t pid, const char *controller, const char *path)
{
        char p[64];
        snprintf(p, sizeof(p), "/proc/%d/cgroup", (int)pid);
        _cleanup_free_ char *t = test_read_file(p);
        cr_assert_not_null(t);
        if (test_cgroup_unified()) {
                /* v2: one line "0::/a/b" for every controller */
                char *l = strstr(t, "0::");
                char *end = l ? strchr(l, '\n') : NULL;
                if (end)
                        *end = 0;
                return l && strcmp(l + 3, path) == 0;
        }
        char *rest = t;
        for (char *line; (line = strsep(&rest, "\n"));) {
                /* "4:cpu,cpuacct:/a/b" */
                char *ctrls = strchr(line, ':'), *where = ctrls ? strchr(ctrls + 1, ':') : NULL;
                if (!where)
                        continue;
                *where++ = 0;
                char *list = ctrls + 1;
                for (char *c; (c = strsep(&list, ","));)
                        if (strcmp(c, controller) == 0)
                                return strcmp(where, path) == 0;
        }
        return false;
}

/* Reads back every file of a planned cgroup; hugetlb files are skipped where the host lacks
 * the controller (v1 here has none, as the kubelet skips it). Returns how many matched. */
static size_t check_files(struct cg_manager *cm, const char *fs, const char *sd,
                          const struct cg_values *vals)
{
        size_t checked = 0;
        for (size_t i = 0; i < vals->n; i++) {
                const struct cg_file *f = &vals->files[i];
                _cleanup_free_ char *v = NULL;
                _cleanup_qerr_ struct qerr *e = NULL;
                int r = cg_read(cm, fs, sd, f->name, &v, &e);
                if (r == -ENOENT && strstr(f->name, "hugetlb"))
                        continue;
                cr_assert_eq(r, 0, "%s", qerr_msg(e));
                cr_expect_str_eq(v, f->value, "cgroup file '%s' of '%s'", f->name, fs);
                checked++;
        }
        return checked;
}

Test(qoslet_root, pod_runs_in_its_planned_cgroups, .timeout = 90)
{
        char marker[32];
        snprintf(marker, sizeof(marker), "%d", 7000000 + (int)getpid());
        _cleanup_free_ char *body = NULL;
        cr_assert(asprintf(&body,
                           "apiVersion: v1\nkind: Pod\nmetadata: {name: cg}\n"
                           "spec:\n  terminationGracePeriodSeconds: 2\n  containers:\n"
                           "  - name: c\n    image: IMAGE\n"
                           "    command: [sh, -c, 'echo up; exec sleep %s']\n"
                           "    resources: {requests: {cpu: 100m, memory: 32Mi}, "
                           "limits: {cpu: 300m, memory: 64Mi}}\n",
                           marker) > 0);
        _cleanup_free_ char *m = write_manifest("pod.yaml", body);
        _cleanup_(pod_plan_done) struct pod_plan plan = { 0 };
        plan_of(m, &plan);
        cr_assert_eq(plan.qos, QOS_BURSTABLE);
        child = spawn_run(m);
        pid_t pid = 0;
        for (int i = 0; i < 1000 && !pid; i++, usleep(20000))
                pid = find_process("sleep", marker);
        _cleanup_free_ char *err = stderr_text();
        cr_assert_gt(pid, 0, "container process not found:\n%s", err);

        _cleanup_free_ char *ctr = path_join(plan.cgroupfs, "c");
        cr_expect(pid_in(pid, "memory", ctr), "memory cgroup of pid %d", (int)pid);
        cr_expect(pid_in(pid, "cpu", ctr), "cpu cgroup of pid %d", (int)pid);
        cr_expect(pid_in(pid, "pids", ctr), "pids cgroup of pid %d", (int)pid);

        _cleanup_cg_manager_ struct cg_manager *cm = NULL;
        cr_assert_eq(cg_manager_new("cgroupfs", cgroot, &cm, NULL), 0);
        bool v2 = test_cgroup_unified();
        size_t checked = check_files(cm, plan.cgroupfs, plan.systemd, v2 ? &plan.v2 : &plan.v1);
        cr_expect_geq(checked, 3, "cpu shares, quota and memory limit at least");
        const struct container_plan *cp = &plan.containers[0];
        _cleanup_free_ char *ctr_systemd = cgtest_systemd(ctr);
        checked = check_files(cm, ctr, ctr_systemd, v2 ? &cp->v2 : &cp->v1);
        cr_expect_geq(checked, 3, "container cpu, quota and memory limit at least");
        char p[64];
        snprintf(p, sizeof(p), "/proc/%d/oom_score_adj", (int)pid);
        _cleanup_free_ char *adj = test_read_file(p);
        cr_expect(adj && atoi(adj) == cp->oom_score_adj, "oom_score_adj %s, plan %d", adj,
                  cp->oom_score_adj);

        cr_assert_eq(kill(child, SIGINT), 0);
        int rc = wait_status(child);
        child = 0;
        _cleanup_free_ char *err2 = stderr_text();
        cr_expect_eq(rc, 0, "%s", err2);
        cr_expect(!strstr(err2, "cgroups are not created"), "%s", err2);
        cr_expect_eq(kill(pid, 0), -1, "container process gone");
        _cleanup_free_ char *where = NULL;
        cr_expect_eq(cgtest_find_leftover(plan.cgroupfs, plan.systemd, &where), 0,
                     "pod cgroup left at '%s'", where);
        cr_expect(dir_empty("root/pods") && dir_empty("run/pods"));
}
