/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>

#include "helpers/cgtest.h"
#include "helpers/nodetest.h"
#include "helpers/paths.h"
#include "helpers/rootfs.h"

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
        char want[256];
        snprintf(want, sizeof(want), "/proc/%d/cgroup", (int)p1);
        _cleanup_free_ char *cgf = test_read_file(want);
        /* v1: the memory hierarchy; v2: the one line "0::" */
        snprintf(want, sizeof(want), "%s%s/c\n",
                 test_cgroup_unified() ? "0::" : ":memory:", cgpath);
        cr_expect(cgf && strstr(cgf, want), "container in its cgroup: %s", cgf);
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
        _cleanup_free_ char *uid_in_path = NULL;
        cr_assert(asprintf(&uid_in_path, "%s/kubepods/burstable/pod%s", nt.cgroot, got) > 0);
        cr_expect_str_eq(cgpath, uid_in_path);

        /* a changed image field: the old pod goes, then the new one comes, never both */
        nt_write_pod("a.yaml", "a", "echo up; exec sleep 7102", NULL);
        bool both = false, new_seen = false;
        for (int i = 0; i < 300 && !new_seen; i++, usleep(100000)) {
                pid_t a = nt_find_process("sleep", "7101"), b = nt_find_process("sleep", "7102");
                both |= a > 0 && b > 0;
                new_seen = b > 0 && a == 0;
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
