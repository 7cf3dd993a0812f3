/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <string.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "helpers/cgtest.h"
#include "helpers/nodetest.h"
#include "helpers/paths.h"
#include "helpers/rootfs.h"
#include "ns/paths.h"

/* The daemon with the real runtime (--runtime=shim), on the host and in the VM; the slow
 * tests (back-off, kill -9 rounds) are in test-node-slow-root.c. */

TestSuite(node_root, .init = nt_setup, .fini = nt_teardown, .timeout = 240);

Test(node_root, pod_lifecycle_replace_and_delete)
{
        nt_start_daemon(NULL);
        nt_write_pod("a.yaml", "a", "echo up; exec sleep 7101", NULL);
        cr_assert(nt_wait_jq(".items[0].status.phase", "Running", 60), "pod not Running");
        pid_t p1 = nt_find_process("sleep", "7101");
        cr_assert_gt(p1, 0);
        _cleanup_free_ char *cgpath = nt_pods_jq(
                ".items[0].metadata.annotations[\"qoslet/cgroup-path\"]");
        cr_assert_not_null(cgpath);
        _cleanup_free_ char *uid = nt_pods_jq(".items[0].metadata.uid");
        cr_assert_not_null(uid);
        bool sd = strcmp(cgtest_driver(), "systemd") == 0;
        char want[512];
        snprintf(want, sizeof(want), "/proc/%d/cgroup", (int)p1);
        _cleanup_free_ char *cgf = test_read_file(want);
        /* v1: the memory hierarchy; v2: the one line "0::". Under systemd the container has
         * a scope of its own in the pod slice. */
        if (sd)
                snprintf(want, sizeof(want), "%s%s/qoslet-%s-c.scope\n",
                         test_cgroup_unified() ? "0::" : ":memory:", cgpath, uid);
        else
                snprintf(want, sizeof(want), "%s%s/c\n",
                         test_cgroup_unified() ? "0::" : ":memory:", cgpath);
        cr_expect(cgf && strstr(cgf, want), "container in its cgroup: %s, want %s", cgf, want);
        cr_expect_gt(nt_pod_cgroups(), 0, "the pod's cgroups are found");

        /* (d) the UID, class and cgroup path of `qosctl plan` */
        _cleanup_free_ char *cmd = NULL, *plan = NULL, *got = NULL;
        cr_assert(asprintf(&cmd,
                           "%s plan --node-name node1 --cgroup-root %s -o json %s/m/a.yaml | jq -r "
                           "'.. | objects | select(has(\"uid\")) | .uid' | head -1",
                           nt.qosctl, nt.cgroot, nt.dir) > 0);
        (void)test_run_capture(cmd, &plan);
        got = nt_pods_jq(".items[0].metadata.uid");
        cr_expect(plan && got && strncmp(plan, got, strlen(got)) == 0, "plan uid %s, /pods %s",
                  plan, got);
        _cleanup_free_ char *qos = nt_pods_jq(".items[0].status.qosClass");
        cr_expect_str_eq(qos, "Burstable");
        /* the path in the driver's form, as the kubelet reports it */
        _cleanup_free_ char *uid_in_path = NULL, *fs_path = NULL;
        cr_assert(asprintf(&fs_path, "%s/kubepods/burstable/pod%s", nt.cgroot, got) > 0);
        uid_in_path = sd ? cgtest_systemd(fs_path) : TAKE_PTR(fs_path);
        cr_expect_str_eq(cgpath, uid_in_path);

        /* a changed image field: the old pod goes, then the new one comes, never both */
        nt_write_pod("a.yaml", "a", "echo up; exec sleep 7102", NULL);
        bool both = false, new_seen = false;
        for (int i = 0; i < 300 && !new_seen; i++, usleep(100000)) {
                /* one pgrep, one pass over /proc: two separate looks could see the old pod
                 * before it ended and the new one after it started, which is no overlap */
                _cleanup_free_ char *out = NULL;
                (void)test_run_capture("pgrep -a -x -f 'sleep 710[12]'", &out);
                bool a = out && strstr(out, "sleep 7101"), b = out && strstr(out, "sleep 7102");
                both |= a && b;
                new_seen = b && !a;
        }
        cr_expect(new_seen, "new pod started");
        cr_expect(!both, "old and new pod ran at the same time");
        cr_expect(nt_wait_jq(".items | length", "1", 30));

        /* deleted: nothing left */
        _cleanup_free_ char *rm = NULL;
        cr_assert(asprintf(&rm, "rm %s/m/a.yaml", nt.dir) > 0);
        cr_assert_eq(system(rm), 0);
        cr_expect(nt_wait_jq(".items | length", "0", 30));
        for (int i = 0; i < 50 && nt_find_process("sleep", "7102"); i++)
                usleep(100000);
        cr_expect_eq(nt_find_process("sleep", "7102"), 0);
        nt_expect_nothing_left();
}

/* (e) over its memory limit: OOMKilled, exit 137, restarted with the back-off */
Test(node_root, oom_killed_and_restarted)
{
        nt_start_daemon(NULL);
        /* doubles a string past the 64Mi limit */
        nt_write_pod("oom.yaml", "oom", "x=0123456789abcdef; while :; do x=$x$x; done", NULL);
        const char *last = ".items[0].status.containerStatuses[0].lastState.terminated | "
                           "\"\\(.reason) \\(.exitCode)\"";
        cr_assert(nt_wait_jq(last, "OOMKilled 137", 60), "no OOMKilled run");
        /* the second run dies too and waits out the back-off */
        cr_expect(nt_wait_jq(".items[0].status.containerStatuses[0].state.waiting.reason",
                             "CrashLoopBackOff", 30));
        _cleanup_free_ char *rc = nt_pods_jq(".items[0].status.containerStatuses[0].restartCount");
        cr_expect_str_eq(rc, "1");
        cr_expect(nt_wait_jq(".items[0].status.containerStatuses[0].restartCount", "2", 30),
                  "restarted after the back-off");
        _cleanup_free_ char *l = nt_pods_jq(last);
        cr_expect_str_eq(l, "OOMKilled 137");
        _cleanup_free_ char *rm = NULL;
        cr_assert(asprintf(&rm, "rm %s/m/oom.yaml", nt.dir) > 0);
        cr_assert_eq(system(rm), 0);
        cr_expect(nt_wait_jq(".items | length", "0", 30));
        nt_expect_nothing_left();
}

static int free_port(void)
{
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET,
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t l = sizeof(sa);
        cr_assert_geq(fd, 0);
        cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &l), 0);
        close(fd);
        return ntohs(sa.sin_port);
}

static void write_www(const char *text)
{
        _cleanup_free_ char *p = NULL;
        cr_assert(asprintf(&p, "%s/www/pods.yaml", nt.dir) > 0);
        cr_assert_eq(write_file_atomic(p, text, strlen(text), 0644, NULL), 0);
}

static const char *const phases = "[.items[] | \"\\(.metadata.name)=\\(.status.phase)\"] | sort | "
                                  "join(\" \")";

/* (f) a manifest URL: a pod added there starts, removed stops; the server gone keeps them */
Test(node_root, manifest_url_followed)
{
        _cleanup_free_ char *www = path_join(nt.dir, "www"),
                            *u1 = nt_pod_yaml("u1", "exec sleep 7401", NULL),
                            *u2 = nt_pod_yaml("u2", "exec sleep 7402", NULL), *both = NULL;
        cr_assert_eq(mkdir_p(www, 0755, NULL), 0);
        cr_assert(asprintf(&both, "%s---\n%s", u1, u2) > 0);
        write_www(u1);
        char port[16], url[64];
        snprintf(port, sizeof(port), "%d", free_port());
        snprintf(url, sizeof(url), "http://127.0.0.1:%s/pods.yaml", port);
        pid_t server = fork();
        cr_assert_geq(server, 0);
        if (server == 0) {
                if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
                        _exit(126);
                execlp("python3", "python3", "-m", "http.server", "--bind", "127.0.0.1",
                       "--directory", www, port, (char *)NULL);
                _exit(127);
        }
        const char *args[] = { "--manifest-url", url, "--http-check-frequency", "1s", NULL };
        nt_start_daemon(args);
        bool ok = nt_wait_jq(phases, "u1-node1=Running", 60);
        write_www(both);
        ok = ok && nt_wait_jq(phases, "u1-node1=Running u2-node1=Running", 60);
        write_www(u2);
        ok = ok && nt_wait_jq(phases, "u2-node1=Running", 60);
        for (int i = 0; i < 50 && nt_find_process("sleep", "7401"); i++)
                usleep(100000);
        cr_expect_eq(nt_find_process("sleep", "7401"), 0, "u1 stopped");
        pid_t p2 = nt_find_process("sleep", "7402");
        (void)kill(server, SIGTERM);
        (void)waitpid(server, NULL, 0);
        sleep(4); /* several polls that fail */
        _cleanup_free_ char *after = nt_pods_jq(phases);
        cr_expect(ok, "pods followed the URL");
        cr_expect_str_eq(after, "u2-node1=Running", "the server gone keeps the pods");
        cr_expect_gt(p2, 0);
        cr_expect_eq(nt_find_process("sleep", "7402"), p2, "u2 kept running");
}

/* (g) an empty file filled 200 ms later: one pod; a .bak copy next to it adds none */
Test(node_root, empty_file_then_filled)
{
        nt_start_daemon(NULL);
        cr_assert(nt_wait_jq(".items | length", "0", 30), "daemon up");
        _cleanup_free_ char *p = NULL, *bak = NULL,
                            *text = nt_pod_yaml("g", "exec sleep 7501", NULL);
        cr_assert(asprintf(&p, "%s/m/g.yaml", nt.dir) > 0);
        cr_assert(asprintf(&bak, "cp %s %s.bak", p, p) > 0);
        FILE *f = fopen(p, "we");
        cr_assert_not_null(f);
        usleep(200000);
        cr_assert_eq(fputs(text, f) >= 0 && fclose(f) == 0, true);
        cr_assert_eq(system(bak), 0);
        cr_expect(nt_wait_jq(phases, "g-node1=Running", 60));
        sleep(3); /* time for a second pod to show */
        _cleanup_free_ char *all = nt_pods_jq(phases);
        cr_expect_str_eq(all, "g-node1=Running");
        cr_expect_eq(nt_count_lines("pgrep -x -f 'sleep 7501'"), 1, "one process");
}

static int count_in_log(const char *needle)
{
        _cleanup_free_ char *p = path_join(nt.dir, "qoslet.err"), *log = test_read_file(p);
        int n = 0;
        for (const char *s = log; s && (s = strstr(s, needle)); s++)
                n++;
        return n;
}

/* (h) a pod that kept running while the daemon was down is adopted, and the log says so */
Test(node_root, restart_adopts_the_running_pod)
{
        nt_start_daemon(NULL);
        nt_write_pod("h.yaml", "h", "exec sleep 7601", NULL);
        cr_assert(nt_wait_jq(phases, "h-node1=Running", 60), "pod not Running");
        pid_t before = nt_find_process("sleep", "7601");
        cr_assert_gt(before, 0);
        nt_stop_daemon(SIGTERM);
        nt_start_daemon(NULL);
        cr_expect(nt_wait_jq(phases, "h-node1=Running", 60), "pod not Running after restart");
        cr_expect_eq(nt_find_process("sleep", "7601"), before, "the same process runs on");
        for (int i = 0; i < 50 && count_in_log("adopted by runtime 'shim'") == 0; i++)
                usleep(100000);
        cr_expect_eq(count_in_log("adopted by runtime 'shim'"), 1);
        cr_expect_eq(count_in_log("started by runtime 'shim'"), 1, "started once, by the first");
}
