/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "helpers/cgtest.h"
#include "helpers/paths.h"
#include "helpers/rootfs.h"
#include "basic/fileio.h"
#include "cgroups/cgroups.h"
#include "ns/paths.h"

/* The daemon with the real runtime (--runtime=shim): busybox rootfs as a dir:// image, its own
 * root, run, log dirs and cgroup root; /pods read with curl and jq. */

static char *dir, *rootfs, *qoslet, *qosctl;
static char cgroot[64];
static pid_t daemon_pid;

static void setup(void)
{
        if (geteuid() != 0)
                cr_skip_test("needs root");
        if (test_cgroup_unified())
                cr_skip_test("reads v1 hierarchies; cgroup v2 is covered by the VM suites");
        if (system("command -v curl >/dev/null && command -v jq >/dev/null") != 0)
                cr_skip_test("needs curl and jq");
        dir = test_tmpdir_tagged("node");
        rootfs = test_busybox_rootfs(dir);
        qoslet = test_program_path("qoslet");
        qosctl = test_program_path("qosctl");
        snprintf(cgroot, sizeof(cgroot), "/qoslet-test-nodert-%d", (int)getpid());
        _cleanup_free_ char *m = path_join(dir, "m");
        cr_assert_eq(mkdir_p(m, 0755, NULL), 0);
}

static void stop_daemon(int sig)
{
        if (daemon_pid > 0) {
                (void)kill(daemon_pid, sig);
                (void)waitpid(daemon_pid, NULL, 0);
                daemon_pid = 0;
        }
}

static void teardown(void)
{
        stop_daemon(SIGTERM);
        /* pods outlive the daemon: a last daemon without manifests stops them */
        _cleanup_free_ char *cmd = NULL;
        if (dir && asprintf(&cmd, "rm -f %s/m/*", dir) > 0 && system(cmd) == 0) {
        }
        _cleanup_cg_manager_ struct cg_manager *cm = NULL;
        _cleanup_free_ char *sd = cgtest_systemd(cgroot);
        if (cg_manager_new("cgroupfs", "/", &cm, NULL) == 0)
                (void)cg_destroy(cm, cgroot, sd, NULL, NULL);
        if (dir)
                test_rm_rf(dir);
        free(dir);
        free(rootfs);
        free(qoslet);
        free(qosctl);
}

TestSuite(node_root, .init = setup, .fini = teardown, .timeout = 240);

static void start_daemon(void)
{
        _cleanup_free_ char *root = path_join(dir, "root"), *run = path_join(dir, "run"),
                            *logs = path_join(dir, "log"), *m = path_join(dir, "m"),
                            *errp = path_join(dir, "qoslet.err");
        daemon_pid = fork();
        cr_assert_geq(daemon_pid, 0);
        if (daemon_pid == 0) {
                if (!freopen(errp, "a", stderr))
                        _exit(126);
                execl(qoslet, "qoslet", "--runtime", "shim", "--root-dir", root, "--run-dir", run,
                      "--log-dir", logs, "--pod-manifest-path", m, "--cgroup-root", cgroot,
                      "--read-only-port", "0", "--node-name", "node1", "--file-check-frequency",
                      "1s", (char *)NULL);
                _exit(127);
        }
}

static void write_pod(const char *file, const char *name, const char *cmd, const char *extra)
{
        _cleanup_free_ char *p = NULL, *text = NULL;
        cr_assert(asprintf(&p, "%s/m/%s", dir, file) > 0);
        cr_assert(asprintf(&text,
                           "apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec:\n"
                           "  terminationGracePeriodSeconds: 3\n%s  containers:\n"
                           "  - name: c\n    image: dir://%s\n    command: [sh, -c, '%s']\n"
                           "    resources: {requests: {cpu: 50m, memory: 16Mi}, "
                           "limits: {memory: 64Mi}}\n",
                           name, extra ? extra : "", rootfs, cmd) > 0);
        cr_assert_eq(write_file_atomic(p, text, strlen(text), 0644, NULL), 0);
}

/* jq over /pods; the output (trimmed), or NULL when the daemon does not answer. */
static char *pods_jq(const char *filter)
{
        _cleanup_free_ char *cmd = NULL;
        char *out = NULL;
        cr_assert(asprintf(&cmd,
                           "curl -sf --unix-socket %s/run/qoslet.sock http://x/pods | jq -r '%s'",
                           dir, filter) > 0);
        if (test_run_capture(cmd, &out) != 0) {
                free(out);
                return NULL;
        }
        size_t n = strlen(out);
        while (n > 0 && out[n - 1] == '\n')
                out[--n] = 0;
        return out;
}

/* Polls until filter prints want. */
static bool wait_jq(const char *filter, const char *want, int seconds)
{
        for (int i = 0; i < seconds * 5; i++, usleep(200000)) {
                _cleanup_free_ char *o = pods_jq(filter);
                if (o && strcmp(o, want) == 0)
                        return true;
        }
        return false;
}

static pid_t find_process(const char *a0, const char *a1)
{
        _cleanup_free_ char *cmd = NULL, *out = NULL;
        cr_assert(asprintf(&cmd, "pgrep -x -f '%s %s' | head -1", a0, a1) > 0);
        if (test_run_capture(cmd, &out) != 0)
                return 0;
        return (pid_t)atoi(out);
}

static int count_lines(const char *cmd)
{
        _cleanup_free_ char *out = NULL;
        (void)test_run_capture(cmd, &out);
        int n = 0;
        for (const char *s = out; s && *s; s++)
                n += *s == '\n';
        return n;
}

/* Nothing of any pod left: shims, cgroups, mounts, state and run dirs. */
static void expect_nothing_left(void)
{
        _cleanup_free_ char *c1 = NULL, *c2 = NULL, *c3 = NULL;
        cr_assert(asprintf(&c1, "ps -eo args | grep '^[^ ]*qoslet-shim --dir %s/'", dir) > 0);
        cr_assert(asprintf(&c2, "find /sys/fs/cgroup/memory%s -maxdepth 3 -name 'pod*'", cgroot) >
                  0);
        cr_assert(asprintf(&c3, "grep ' %s/' /proc/mounts; ls -A %s/run/pods; ls -A %s/root/pods",
                           dir, dir, dir) > 0);
        cr_expect_eq(count_lines(c1), 0, "shims left");
        cr_expect_eq(count_lines(c2), 0, "pod cgroups left");
        cr_expect_eq(count_lines(c3), 0, "mounts or pod dirs left");
}

Test(node_root, pod_lifecycle_replace_and_delete)
{
        start_daemon();
        write_pod("a.yaml", "a", "echo up; exec sleep 7101", NULL);
        cr_assert(wait_jq(".items[0].status.phase", "Running", 60), "pod not Running");
        pid_t p1 = find_process("sleep", "7101");
        cr_assert_gt(p1, 0);
        _cleanup_free_ char *cgpath = pods_jq(
                ".items[0].metadata.annotations[\"qoslet/cgroup-path\"]");
        cr_assert_not_null(cgpath);
        char want[256];
        snprintf(want, sizeof(want), "/proc/%d/cgroup", (int)p1);
        _cleanup_free_ char *cgf = test_read_file(want);
        snprintf(want, sizeof(want), ":memory:%s/c\n", cgpath);
        cr_expect(cgf && strstr(cgf, want), "container in its cgroup: %s", cgf);

        /* (d) the UID, class and cgroup path of `qosctl plan` */
        _cleanup_free_ char *cmd = NULL, *plan = NULL, *got = NULL;
        cr_assert(asprintf(&cmd,
                           "%s plan --node-name node1 --cgroup-root %s -o json %s/m/a.yaml | jq -r "
                           "'.. | objects | select(has(\"uid\")) | .uid' | head -1",
                           qosctl, cgroot, dir) > 0);
        (void)test_run_capture(cmd, &plan);
        got = pods_jq(".items[0].metadata.uid");
        cr_expect(plan && got && strncmp(plan, got, strlen(got)) == 0, "plan uid %s, /pods %s",
                  plan, got);
        _cleanup_free_ char *qos = pods_jq(".items[0].status.qosClass");
        cr_expect_str_eq(qos, "Burstable");
        _cleanup_free_ char *uid_in_path = NULL;
        cr_assert(asprintf(&uid_in_path, "%s/kubepods/burstable/pod%s", cgroot, got) > 0);
        cr_expect_str_eq(cgpath, uid_in_path);

        /* a changed image field: the old pod goes, then the new one comes, never both */
        write_pod("a.yaml", "a", "echo up; exec sleep 7102", NULL);
        bool both = false, new_seen = false;
        for (int i = 0; i < 300 && !new_seen; i++, usleep(100000)) {
                pid_t a = find_process("sleep", "7101"), b = find_process("sleep", "7102");
                both |= a > 0 && b > 0;
                new_seen = b > 0 && a == 0;
        }
        cr_expect(new_seen, "new pod started");
        cr_expect(!both, "old and new pod ran at the same time");
        cr_expect(wait_jq(".items | length", "1", 30));

        /* deleted: nothing left */
        _cleanup_free_ char *rm = NULL;
        cr_assert(asprintf(&rm, "rm %s/m/a.yaml", dir) > 0);
        cr_assert_eq(system(rm), 0);
        cr_expect(wait_jq(".items | length", "0", 30));
        for (int i = 0; i < 50 && find_process("sleep", "7102"); i++)
                usleep(100000);
        cr_expect_eq(find_process("sleep", "7102"), 0);
        expect_nothing_left();
}

#define N_PODS 10

Test(node_root, daemon_kill_9_keeps_pods)
{
        start_daemon();
        for (int i = 0; i < N_PODS; i++) {
                char f[32], n[32], c[96];
                snprintf(f, sizeof(f), "p%d.yaml", i);
                snprintf(n, sizeof(n), "p%d", i);
                if (i == 0) /* exits while the daemon is down */
                        snprintf(c, sizeof(c),
                                 "while [ ! -e /tmp/go ]; do sleep 0.1; done; exit 7");
                else
                        snprintf(c, sizeof(c), "exec sleep %d", 7200 + i);
                write_pod(f, n, c, i == 0 ? "  restartPolicy: Never\n" : NULL);
        }
        char want[16];
        snprintf(want, sizeof(want), "%d", N_PODS);
        cr_assert(wait_jq("[.items[] | select(.status.phase == \"Running\")] | length", want, 120),
                  "pods not Running");
        pid_t before[N_PODS] = { 0 };
        for (int i = 1; i < N_PODS; i++) {
                char a[16];
                snprintf(a, sizeof(a), "%d", 7200 + i);
                before[i] = find_process("sleep", a);
                cr_assert_gt(before[i], 0);
        }
        stop_daemon(SIGKILL);
        /* p0 sees /tmp/go through its own rootfs: make it there */
        _cleanup_free_ char *go = NULL;
        cr_assert(asprintf(&go, "%s/tmp/go", rootfs) > 0);
        *strrchr(go, '/') = 0;
        cr_assert_eq(mkdir_p(go, 0755, NULL), 0);
        go[strlen(go)] = '/';
        cr_assert_eq(write_file_atomic(go, "", 0, 0644, NULL), 0);
        sleep(2);
        start_daemon();
        cr_expect(wait_jq("[.items[] | select(.status.phase == \"Running\")] | length",
                          (snprintf(want, sizeof(want), "%d", N_PODS - 1), want), 60));
        for (int i = 1; i < N_PODS; i++) {
                char a[16];
                snprintf(a, sizeof(a), "%d", 7200 + i);
                cr_expect_eq(find_process("sleep", a), before[i], "pod p%d kept its pid", i);
        }
        _cleanup_free_ char *restarts = pods_jq("[.items[].status.containerStatuses[0]."
                                                "restartCount] | add");
        cr_expect_str_eq(restarts, "0");
        _cleanup_free_ char *code = pods_jq(".items[] | select(.metadata.name == \"p0-node1\") | "
                                            ".status.containerStatuses[0].state.terminated."
                                            "exitCode");
        cr_expect_str_eq(code, "7", "exit while the daemon was down");
        _cleanup_free_ char *rm = NULL;
        cr_assert(asprintf(&rm, "rm %s/m/*.yaml", dir) > 0);
        cr_assert_eq(system(rm), 0);
        cr_expect(wait_jq(".items | length", "0", 90));
        sleep(1);
        expect_nothing_left();
}

/* Modification time of the log of one run of the crashing container, in seconds; 0: none. */
static double log_time(unsigned attempt)
{
        _cleanup_free_ char *cmd = NULL, *out = NULL;
        cr_assert(asprintf(&cmd, "stat -c %%.3Y %s/log/*/c/%u.log 2>/dev/null", dir, attempt) > 0);
        if (test_run_capture(cmd, &out) != 0)
                return 0;
        return atof(out);
}

Test(node_root, crash_loop_back_off)
{
        start_daemon();
        write_pod("crash.yaml", "crash", "echo run; exit 1", NULL);
        double t[4] = { 0 };
        for (int i = 0; i < 600 && !t[3]; i++, usleep(100000))
                t[3] = log_time(3);
        for (unsigned k = 0; k < 3; k++)
                t[k] = log_time(k);
        cr_assert(t[0] > 0 && t[1] > 0 && t[2] > 0 && t[3] > 0, "runs %f %f %f %f", t[0], t[1],
                  t[2], t[3]);
        cr_expect_lt(t[1] - t[0], 4.0, "first restart at once: %.1f s", t[1] - t[0]);
        cr_expect(t[2] - t[1] >= 9.5 && t[2] - t[1] < 15.0, "then 10 s: %.1f s", t[2] - t[1]);
        cr_expect(t[3] - t[2] >= 19.5 && t[3] - t[2] < 26.0, "then 20 s: %.1f s", t[3] - t[2]);
        _cleanup_free_ char *rc = pods_jq(".items[0].status.containerStatuses[0].restartCount");
        cr_expect(rc && atoi(rc) >= 3, "restartCount %s", rc);
        _cleanup_free_ char *rm = NULL;
        cr_assert(asprintf(&rm, "rm %s/m/crash.yaml", dir) > 0);
        cr_assert_eq(system(rm), 0);
        cr_expect(wait_jq(".items | length", "0", 30));
        expect_nothing_left();
}
