/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "cgroups/cgroup-internal.h"
#include "cgroups/cgroups.h"
#include "helpers/cgtest.h"

/* Enforcement on a cgroup v2 kernel (the VM only): the limits the manager writes hold. With
 * QOSLET_TEST_CGROUP_DRIVER=systemd (the VM booted systemd as PID 1) through slices and scopes. */

static struct cg_manager *mgr;
static char *root_fs;
static char pod_fs[256], pod_sd[512], ctr_fs[300], ctr_sd[600];

static void setup(void)
{
        if (geteuid() != 0 || cgtest_manager(&mgr, &root_fs, NULL) < 0)
                return;
        snprintf(pod_fs, sizeof(pod_fs), "%s/kubepods/burstable/pod%d", root_fs, (int)getpid());
        _cleanup_free_ char *sd = cgtest_systemd(pod_fs);
        snprintf(pod_sd, sizeof(pod_sd), "%s", sd);
        _cleanup_free_ char *cfs = NULL, *csd = NULL;
        if (cg_container_paths(pod_fs, pod_sd, "work", &cfs, &csd, NULL) < 0)
                abort();
        snprintf(ctr_fs, sizeof(ctr_fs), "%s", cfs);
        snprintf(ctr_sd, sizeof(ctr_sd), "%s", csd);
}

static void teardown(void)
{
        if (!mgr)
                return;
        _cleanup_free_ char *root_sd = cgtest_systemd(root_fs);
        (void)cg_destroy(mgr, root_fs, root_sd, NULL, NULL);
        cg_manager_free(mgr);
        free(root_fs);
}

TestSuite(cgroups_vm, .init = setup, .fini = teardown);

static void need_v2(void)
{
        if (geteuid() != 0)
                cr_skip_test("needs root");
        cr_assert_not_null(mgr, "create cgroup manager with driver '%s'", cgtest_driver());
        if (cg_manager_mode(mgr) != CG_MODE_UNIFIED)
                cr_skip_test("needs cgroup v2 (the VM)");
        cr_assert_str_eq(cg_manager_driver(mgr), cgtest_driver());
}

/* A child that waits for a byte on go, runs fn, and reports a number on done. */
struct job {
        int go[2], done[2];
        long (*fn)(struct job *j);
        long arg;
};

static int job_main(void *arg)
{
        struct job *j = arg;
        char c;
        if (read(j->go[0], &c, 1) != 1)
                return 1;
        long v = j->fn(j);
        if (write(j->done[1], &v, sizeof(v)) != sizeof(v))
                return 1;
        for (;;)
                pause();
}

static pid_t job_start(struct job *j)
{
        cr_assert_eq(pipe(j->go), 0);
        cr_assert_eq(pipe(j->done), 0);
        pid_t pid = cgtest_spawn(job_main, j);
        cr_assert_gt(pid, 0);
        return pid;
}

static void job_go(struct job *j)
{
        char c = 'g';
        cr_assert_eq(write(j->go[1], &c, 1), 1);
}

/* The container cgroup with its process; the parents with the plan's kind of values. */
static void apply_container(const struct cg_values *v, pid_t pid)
{
        struct cg_file tier_files[] = { { "cpu.weight", "39" } };
        struct cg_file pod_files[] = { { "cpu.weight", "4" } };
        struct cg_values tier = { tier_files, 1 }, pod = { pod_files, 1 };
        char tier_fs[256];
        snprintf(tier_fs, sizeof(tier_fs), "%s/kubepods/burstable", root_fs);
        _cleanup_free_ char *tier_sd = cgtest_systemd(tier_fs);
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(cg_apply(mgr, tier_fs, tier_sd, &tier, NULL, 0, NULL, &e), 0, "%s",
                     qerr_msg(e));
        cr_assert_eq(cg_apply(mgr, pod_fs, pod_sd, &pod, NULL, 0, NULL, &e), 0, "%s", qerr_msg(e));
        cr_assert_eq(cg_apply(mgr, ctr_fs, ctr_sd, v, NULL, pid, NULL, &e), 0, "%s", qerr_msg(e));
        if (strcmp(cgtest_driver(), "systemd") == 0) {
                _cleanup_free_ char *state = cgtest_unit_state(strrchr(ctr_sd, '/') + 1);
                cr_assert_str_eq(state ? state : "(none)", "active", "scope unit");
        }
}

static long allocate(struct job *j)
{
        size_t chunk = 1u << 20;
        for (long i = 0; i < j->arg; i++) {
                char *p = malloc(chunk);
                if (!p)
                        return -1;
                memset(p, (int)i, chunk);
        }
        return 0;
}

Test(cgroups_vm, memory_max_oom_kill)
{
        need_v2();
        struct cg_file files[] = { { "cpu.weight", "100" },
                                   { "cpu.max", "max 100000" },
                                   { "memory.max", "33554432" },
                                   { "memory.oom.group", "1" } };
        struct cg_values v = { files, ELEMENTSOF(files) };
        struct job j = { .fn = allocate, .arg = 256 };
        pid_t pid = job_start(&j);
        apply_container(&v, pid);
        job_go(&j);
        int status = 0;
        cr_assert_eq(cgtest_wait(pid, 60000, &status), 0, "allocator still alive");
        cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "status %#x", status);
        struct cg_stats st;
        _cleanup_qerr_ struct qerr *e = NULL;
        int r = cg_stats(mgr, ctr_fs, ctr_sd, &st, &e);
        if (r == -ENOENT && strcmp(cgtest_driver(), "systemd") == 0)
                /* systemd stops a scope once its last process is gone, and removes its
                 * cgroup: the pod slice keeps the count (below). */
                cr_log_info("scope removed by systemd with its last process");
        else {
                cr_assert_eq(r, 0, "%s", qerr_msg(e));
                cr_assert_geq(st.oom_kill, 1, "oom_kill %llu", (unsigned long long)st.oom_kill);
                cr_assert_geq(st.oom, 1);
                cr_assert_leq(st.memory_current, 33554432);
        }
        qerr_free(TAKE_PTR(e));
        struct cg_stats fin = { 0 };
        r = cg_destroy(mgr, ctr_fs, ctr_sd, &fin, &e);
        /* Under systemd the scope is gone with its last process; its cgroup too. */
        cr_assert(r == 1 || r == 0, "destroy: %d %s", r, qerr_msg(e));
        if (r == 1)
                cr_assert_geq(fin.oom_kill, 1, "final stats read before removal");
        /* The pod's memory.events counts its children's kills too. */
        cr_assert_eq(cg_stats(mgr, pod_fs, pod_sd, &st, &e), 0, "%s", qerr_msg(e));
        cr_assert_geq(st.oom_kill, 1);
}

static long fork_until_refused(struct job *j)
{
        long n = 0;
        for (;;) {
                pid_t p = fork();
                if (p < 0)
                        return errno == EAGAIN ? n : -errno;
                if (p == 0) {
                        for (;;)
                                pause();
                }
                if (++n > 1000)
                        return n;
        }
}

Test(cgroups_vm, pids_max_stops_fork_loop)
{
        need_v2();
        struct cg_file files[] = { { "cpu.weight", "100" },
                                   { "pids.max", "8" },
                                   { "memory.oom.group", "1" } };
        struct cg_values v = { files, ELEMENTSOF(files) };
        struct job j = { .fn = fork_until_refused };
        pid_t pid = job_start(&j);
        apply_container(&v, pid);
        job_go(&j);
        long forked = -1;
        cr_assert_eq(read(j.done[0], &forked, sizeof(forked)), sizeof(forked));
        /* The job counts itself against pids.max: 7 more. */
        cr_assert_eq(forked, 7, "forked %ld", forked);
        struct cg_stats st;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(cg_stats(mgr, ctr_fs, ctr_sd, &st, &e), 0, "%s", qerr_msg(e));
        cr_assert_eq(st.pids_current, 8);
        unsigned long long t0 = cgtest_now_us();
        cr_assert_eq(cg_destroy(mgr, ctr_fs, ctr_sd, &st, &e), 1, "%s", qerr_msg(e));
        cr_log_info("destroy of a container with 8 processes: %llu us", cgtest_now_us() - t0);
        cr_assert_eq(st.pids_current, 8);
        int status;
        cr_assert_eq(cgtest_wait(pid, 5000, &status), 0);
        cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static long spin(struct job *j)
{
        for (volatile unsigned long x = 0;; x++)
                ;
        return 0;
}

Test(cgroups_vm, cpu_max_throttles)
{
        need_v2();
        struct cg_file files[] = { { "cpu.weight", "100" }, { "cpu.max", "20000 100000" } };
        struct cg_values v = { files, ELEMENTSOF(files) };
        struct job j = { .fn = spin };
        pid_t pid = job_start(&j);
        apply_container(&v, pid);
        job_go(&j);
        usleep(300 * 1000);
        struct cg_stats a, b;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(cg_stats(mgr, ctr_fs, ctr_sd, &a, &e), 0, "%s", qerr_msg(e));
        unsigned long long t0 = cgtest_now_us();
        usleep(2000 * 1000);
        cr_assert_eq(cg_stats(mgr, ctr_fs, ctr_sd, &b, &e), 0, "%s", qerr_msg(e));
        unsigned long long wall = cgtest_now_us() - t0;
        double share = (double)(b.cpu_usage_ns - a.cpu_usage_ns) / 1000.0 / (double)wall;
        cr_log_info("cpu.max 20000 100000: %.1f%% of one CPU over %.2f s, throttled %llu of "
                    "%llu periods",
                    share * 100, wall / 1e6, (unsigned long long)(b.cpu_nr_throttled),
                    (unsigned long long)b.cpu_nr_periods);
        cr_assert_gt(b.cpu_nr_throttled, a.cpu_nr_throttled, "throttling grows");
        cr_assert(share > 0.05 && share < 0.45, "share %.3f", share);
        cr_assert_eq(cg_destroy(mgr, ctr_fs, ctr_sd, NULL, &e), 1, "%s", qerr_msg(e));
        int status;
        cr_assert_eq(cgtest_wait(pid, 5000, &status), 0);
}
