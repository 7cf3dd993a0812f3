/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "helpers/image-helpers.h"
#include "helpers/nodetest.h"
#include "helpers/paths.h"
#include "helpers/qoslet-run.h"
#include "ns/paths.h"

/* The slow tests of the daemon with the real runtime: they wait for back-off windows and
 * restart the daemon many times, so they run on the host only (hack/run-suite leaves
 * *-slow-root out of the VM suites, which run under emulation). */

TestSuite(node_slow_root, .init = nt_setup, .fini = nt_teardown, .timeout = 300);

#define N_EXITING 10 /* pods that exit while the daemon is down, one per round */
#define N_PODS 20
#define ROUNDS 10

static void write_kill9_pods(void)
{
        for (int i = 0; i < N_PODS; i++) {
                char f[32], n[32], c[128];
                snprintf(f, sizeof(f), "p%d.yaml", i);
                snprintf(n, sizeof(n), "p%d", i);
                if (i < N_EXITING)
                        snprintf(c, sizeof(c),
                                 "while [ ! -e /tmp/go%d ]; do sleep 0.3; done; exit %d", i,
                                 10 + i);
                else
                        snprintf(c, sizeof(c), "exec sleep %d", 7200 + i);
                nt_write_pod(f, n, c, i < N_EXITING ? "  restartPolicy: Never\n" : NULL);
        }
}

/* Every pod sees /tmp/go<i> through the shared rootfs. */
static void let_exit(int i)
{
        _cleanup_free_ char *tmp = path_join(nt.rootfs, "tmp"), *go = NULL;
        cr_assert_eq(mkdir_p(tmp, 0755, NULL), 0);
        cr_assert(asprintf(&go, "%s/go%d", tmp, i) > 0);
        cr_assert_eq(write_file_atomic(go, "", 0, 0644, NULL), 0);
}

static void expect_exit_code(int i)
{
        char f[160], want[16];
        snprintf(f, sizeof(f),
                 ".items[] | select(.metadata.name == \"p%d-node1\") | "
                 ".status.containerStatuses[0].state.terminated.exitCode",
                 i);
        snprintf(want, sizeof(want), "%d", 10 + i);
        bool ok = nt_wait_jq(f, want, 30);
        _cleanup_free_ char *got = ok ? NULL : nt_pods_jq(f);
        cr_expect(ok, "p%d: exit code %s, want %s", i, got, want);
}

static void running_pids(pid_t *v)
{
        for (int i = N_EXITING; i < N_PODS; i++) {
                char a[16];
                snprintf(a, sizeof(a), "%d", 7200 + i);
                v[i] = nt_find_process("sleep", a);
        }
}

Test(node_slow_root, daemon_kill_9_keeps_pods)
{
        nt_start_daemon(NULL);
        write_kill9_pods();
        char want[16];
        snprintf(want, sizeof(want), "%d", N_PODS);
        cr_assert(
                nt_wait_jq("[.items[] | select(.status.phase == \"Running\")] | length", want, 180),
                "pods not Running");
        pid_t before[N_PODS] = { 0 }, now[N_PODS] = { 0 };
        running_pids(before);
        for (int i = N_EXITING; i < N_PODS; i++)
                cr_assert_gt(before[i], 0, "p%d has no process", i);
        for (int r = 0; r < ROUNDS; r++) {
                nt_stop_daemon(SIGKILL);
                let_exit(r);
                usleep(1200000); /* the pod polls every 0.3 s */
                nt_start_daemon(NULL);
                snprintf(want, sizeof(want), "%d", N_PODS - r - 1);
                bool ok = nt_wait_jq("[.items[] | select(.status.phase == \"Running\")] | length",
                                     want, 60);
                cr_expect(ok, "round %d: %s pods not Running", r, want);
                for (int i = 0; i <= r; i++)
                        expect_exit_code(i);
                running_pids(now);
                for (int i = N_EXITING; i < N_PODS; i++)
                        cr_expect_eq(now[i], before[i], "round %d: p%d pid %d, before %d", r, i,
                                     (int)now[i], (int)before[i]);
                _cleanup_free_ char *restarts = nt_pods_jq(
                        "[.items[].status.containerStatuses[0].restartCount] | add");
                cr_expect_str_eq(restarts, "0", "round %d: restarts", r);
        }
        _cleanup_free_ char *rm = NULL;
        cr_assert(asprintf(&rm, "rm %s/m/*.yaml", nt.dir) > 0);
        cr_assert_eq(system(rm), 0);
        cr_expect(nt_wait_jq(".items | length", "0", 120));
        sleep(1);
        nt_expect_nothing_left();
}

/* Modification time of the log of one run of the crashing container, in seconds; 0: none. */
static double log_time(unsigned attempt)
{
        _cleanup_free_ char *cmd = NULL, *out = NULL;
        cr_assert(asprintf(&cmd, "stat -c %%.3Y %s/log/*/c/%u.log 2>/dev/null", nt.dir, attempt) >
                  0);
        if (test_run_capture(cmd, &out) != 0)
                return 0;
        return atof(out);
}

/* Restarts at once, then after 10, 20 and 40 s (pkg/node/backoff.c). */
Test(node_slow_root, crash_loop_back_off)
{
        nt_start_daemon(NULL);
        nt_write_pod("crash.yaml", "crash", "echo run; exit 1", NULL);
        double t[5] = { 0 };
        for (int i = 0; i < 1200 && !t[4]; i++, usleep(100000))
                t[4] = log_time(4);
        for (unsigned k = 0; k < 4; k++)
                t[k] = log_time(k);
        cr_assert(t[0] > 0 && t[1] > 0 && t[2] > 0 && t[3] > 0 && t[4] > 0,
                  "runs %.1f %.1f %.1f %.1f %.1f", t[0], t[1], t[2], t[3], t[4]);
        cr_expect_lt(t[1] - t[0], 4.0, "first restart at once: %.1f s", t[1] - t[0]);
        /* upper bounds leave room for a start's own time on a loaded or sanitized build */
        cr_expect(t[2] - t[1] >= 9.5 && t[2] - t[1] < 20.0, "then 10 s: %.1f s", t[2] - t[1]);
        cr_expect(t[3] - t[2] >= 19.5 && t[3] - t[2] < 32.0, "then 20 s: %.1f s", t[3] - t[2]);
        cr_expect(t[4] - t[3] >= 39.5 && t[4] - t[3] < 55.0, "then 40 s: %.1f s", t[4] - t[3]);
        _cleanup_free_ char *rc = nt_pods_jq(".items[0].status.containerStatuses[0].restartCount");
        cr_expect(rc && atoi(rc) >= 4, "restartCount %s", rc);
        _cleanup_free_ char *rm = NULL;
        cr_assert(asprintf(&rm, "rm %s/m/crash.yaml", nt.dir) > 0);
        cr_assert_eq(system(rm), 0);
        cr_expect(nt_wait_jq(".items | length", "0", 30));
        nt_expect_nothing_left();
}

static void push_busybox(const struct test_registry *reg, const char *dest)
{
        _cleanup_free_ char *src = path_join(nt.dir, "src");
        qrun_busybox_image_in(src, "local/bb:1", NULL, NULL, 0);
        cr_assert_eq(test_sh("skopeo copy -q --dest-tls-verify=false oci:%s/images:local/bb:1 "
                             "docker://%s/%s",
                             src, reg->addr, dest),
                     0, "push to the registry failed");
}

/* --insecure-registry reaches the runtime's pulls: without it the plain HTTP registry is
 * refused (ErrImagePull in /pods), with it the pod runs. Here rather than in node_root: it
 * depends on no cgroup version, and a registry and skopeo under emulation would only slow
 * the VM suites. */
Test(node_slow_root, insecure_registry_flag_reaches_pulls)
{
        if (!test_have_program("docker-registry") || !test_have_program("skopeo"))
                cr_skip_test("docker-registry or skopeo missing (hack/install-deps.sh)");
        struct test_registry reg = { 0 };
        cr_assert_eq(test_registry_start(&reg, NULL), 0, "registry did not start");
        push_busybox(&reg, "qoslet/bb:1.35");
        _cleanup_free_ char *text = NULL, *p = NULL;
        cr_assert(asprintf(&text,
                           "apiVersion: v1\nkind: Pod\nmetadata: {name: i}\nspec:\n"
                           "  terminationGracePeriodSeconds: 3\n  containers:\n"
                           "  - name: c\n    image: %s/qoslet/bb:1.35\n"
                           "    command: [sh, -c, 'exec sleep 7701']\n",
                           reg.addr) > 0);
        cr_assert(asprintf(&p, "%s/m/i.yaml", nt.dir) > 0);

        nt_start_daemon(NULL);
        cr_assert_eq(write_file_atomic(p, text, strlen(text), 0644, NULL), 0);
        const char *reason = ".items[0].status.containerStatuses[0].state.waiting.reason";
        bool refused = nt_wait_jq(reason, "ErrImagePull", 60);
        _cleanup_free_ char *got = refused ? NULL : nt_pods_jq(".items[0].status");
        cr_expect(refused, "no ErrImagePull without the flag: %s", got);
        _cleanup_free_ char *msg = nt_pods_jq(
                ".items[0].status.containerStatuses[0].state.waiting.message");
        cr_expect(msg && strstr(msg, "insecure registry"), "%s", msg);
        cr_expect_eq(nt_find_process("sleep", "7701"), 0);
        nt_stop_daemon(SIGTERM);

        const char *extra[] = { "--insecure-registry", reg.addr, NULL };
        nt_start_daemon(extra);
        cr_expect(nt_wait_jq(".items[0].status.phase", "Running", 60),
                  "pod not Running with the flag");
        cr_expect_gt(nt_find_process("sleep", "7701"), 0);
        cr_assert_eq(unlink(p), 0);
        cr_expect(nt_wait_jq(".items | length", "0", 60));
        test_registry_stop(&reg);
}
