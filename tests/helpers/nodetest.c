/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "cgroups/cgroups.h"
#include "helpers/cgtest.h"
#include "helpers/nodetest.h"
#include "helpers/paths.h"
#include "helpers/rootfs.h"
#include "ns/paths.h"

struct nodetest nt;

void nt_setup(void)
{
        if (geteuid() != 0)
                cr_skip_test("needs root");
        if (system("command -v curl >/dev/null && command -v jq >/dev/null") != 0)
                cr_skip_test("needs curl and jq");
        nt = (struct nodetest){ 0 };
        nt.dir = test_tmpdir_tagged("node");
        nt.rootfs = test_busybox_rootfs(nt.dir);
        nt.qoslet = test_program_path("qoslet");
        nt.qosctl = test_program_path("qosctl");
        snprintf(nt.cgroot, sizeof(nt.cgroot), "/qoslet-test-nodert-%d", (int)getpid());
        _cleanup_free_ char *m = path_join(nt.dir, "m");
        cr_assert_eq(mkdir_p(m, 0755, NULL), 0);
}

void nt_stop_daemon(int sig)
{
        if (nt.daemon > 0) {
                (void)kill(nt.daemon, sig);
                (void)waitpid(nt.daemon, NULL, 0);
                nt.daemon = 0;
        }
}

static bool run_pods_empty(void)
{
        _cleanup_free_ char *cmd = NULL;
        if (asprintf(&cmd, "ls -A %s/run/pods 2>/dev/null", nt.dir) < 0)
                return true;
        return nt_count_lines(cmd) == 0;
}

/* Pods outlive the daemon: a last daemon without manifests stops what a failed test left. */
static void stop_left_pods(void)
{
        _cleanup_free_ char *cmd = NULL;
        if (run_pods_empty() || asprintf(&cmd, "rm -rf %s/m; mkdir %s/m", nt.dir, nt.dir) < 0 ||
            system(cmd) != 0)
                return;
        nt_start_daemon(NULL);
        for (int i = 0; i < 600 && !run_pods_empty(); i++)
                usleep(100000);
        nt_stop_daemon(SIGTERM);
}

void nt_teardown(void)
{
        nt_stop_daemon(SIGTERM);
        if (nt.dir)
                stop_left_pods();
        _cleanup_cg_manager_ struct cg_manager *cm = NULL;
        _cleanup_free_ char *sd = cgtest_systemd(nt.cgroot);
        if (nt.dir && cg_manager_new(cgtest_driver(), "/", &cm, NULL) == 0)
                (void)cg_destroy(cm, nt.cgroot, sd, NULL, NULL);
        if (nt.dir && !getenv("QOSLET_TEST_KEEP"))
                test_rm_rf(nt.dir);
        free(nt.dir);
        free(nt.rootfs);
        free(nt.qoslet);
        free(nt.qosctl);
        nt = (struct nodetest){ 0 };
}

void nt_start_daemon(const char *const *extra)
{
        _cleanup_free_ char *root = path_join(nt.dir, "root"), *run = path_join(nt.dir, "run"),
                            *logs = path_join(nt.dir, "log"), *m = path_join(nt.dir, "m"),
                            *errp = path_join(nt.dir, "qoslet.err");
        const char *argv[64] = { "qoslet",
                                 "--runtime",
                                 "shim",
                                 "--root-dir",
                                 root,
                                 "--run-dir",
                                 run,
                                 "--log-dir",
                                 logs,
                                 "--pod-manifest-path",
                                 m,
                                 "--cgroup-root",
                                 nt.cgroot,
                                 "--cgroup-driver",
                                 cgtest_driver(),
                                 "--read-only-port",
                                 "0",
                                 "--node-name",
                                 "node1",
                                 "--file-check-frequency",
                                 "1s" };
        size_t n = 21;
        for (size_t i = 0; extra && extra[i] && n < 63; i++)
                argv[n++] = extra[i];
        nt.daemon = fork();
        cr_assert_geq(nt.daemon, 0);
        if (nt.daemon == 0) {
                if (!freopen(errp, "a", stderr))
                        _exit(126);
                execv(nt.qoslet, (char *const *)argv);
                _exit(127);
        }
}

char *nt_pod_yaml(const char *name, const char *cmd, const char *extra)
{
        char *text = NULL;
        cr_assert(asprintf(&text,
                           "apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec:\n"
                           "  terminationGracePeriodSeconds: 3\n%s  containers:\n"
                           "  - name: c\n    image: dir://%s\n    command: [sh, -c, '%s']\n"
                           "    resources: {requests: {cpu: 50m, memory: 16Mi}, "
                           "limits: {memory: 64Mi}}\n",
                           name, extra ? extra : "", nt.rootfs, cmd) > 0);
        return text;
}

void nt_write_pod(const char *file, const char *name, const char *cmd, const char *extra)
{
        _cleanup_free_ char *p = NULL, *text = nt_pod_yaml(name, cmd, extra);
        cr_assert(asprintf(&p, "%s/m/%s", nt.dir, file) > 0);
        cr_assert_eq(write_file_atomic(p, text, strlen(text), 0644, NULL), 0);
}

char *nt_pods_jq(const char *filter)
{
        _cleanup_free_ char *cmd = NULL;
        char *out = NULL;
        cr_assert(asprintf(&cmd,
                           "curl -sf --unix-socket %s/run/qoslet.sock http://x/pods | jq -r '%s'",
                           nt.dir, filter) > 0);
        if (test_run_capture(cmd, &out) != 0) {
                free(out);
                return NULL;
        }
        size_t n = strlen(out);
        while (n > 0 && out[n - 1] == '\n')
                out[--n] = 0;
        return out;
}

bool nt_wait_jq(const char *filter, const char *want, int seconds)
{
        for (int i = 0; i < seconds * 5; i++, usleep(200000)) {
                _cleanup_free_ char *o = nt_pods_jq(filter);
                if (o && strcmp(o, want) == 0)
                        return true;
        }
        return false;
}

pid_t nt_find_process(const char *a0, const char *a1)
{
        _cleanup_free_ char *cmd = NULL, *out = NULL;
        cr_assert(asprintf(&cmd, "pgrep -x -f '%s %s' | head -1", a0, a1) > 0);
        if (test_run_capture(cmd, &out) != 0)
                return 0;
        return (pid_t)atoi(out);
}

int nt_count_lines(const char *cmd)
{
        _cleanup_free_ char *out = NULL;
        (void)test_run_capture(cmd, &out);
        int n = 0;
        for (const char *s = out; s && *s; s++)
                n += *s == '\n';
        return n;
}

int nt_pod_cgroups(void)
{
        _cleanup_free_ char *cmd = NULL;
        cr_assert(asprintf(&cmd,
                           /* the root's dashes are underscores under systemd */
                           "find /sys/fs/cgroup -maxdepth 2 -type d -name "
                           "'qoslet?test?nodert?%d*' | "
                           "xargs -r -I@ find @ -type d \\( -name 'pod*' -o -name '*-pod*' \\)",
                           (int)getpid()) > 0);
        return nt_count_lines(cmd);
}

void nt_expect_nothing_left(void)
{
        _cleanup_free_ char *c1 = NULL, *c3 = NULL;
        cr_assert(asprintf(&c1, "ps -eo args | grep '^[^ ]*qoslet-shim --dir %s/'", nt.dir) > 0);
        cr_assert(asprintf(&c3, "grep ' %s/' /proc/mounts; ls -A %s/run/pods; ls -A %s/root/pods",
                           nt.dir, nt.dir, nt.dir) > 0);
        cr_expect_eq(nt_count_lines(c1), 0, "shims left");
        cr_expect_eq(nt_pod_cgroups(), 0, "pod cgroups left");
        cr_expect_eq(nt_count_lines(c3), 0, "mounts or pod dirs left");
}
