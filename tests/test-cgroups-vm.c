/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "cgroups/cgroup-internal.h"
#include "cgroups/cgroups.h"
#include "helpers/cgplan.h"
#include "helpers/cgtest.h"

/* Enforcement on a cgroup v2 kernel (the VM only): the limits the manager writes hold. With
 * QOSLET_TEST_CGROUP_DRIVER=systemd (the VM booted systemd as PID 1) through slices and scopes.
 * Each test plans one pod with `qosctl plan -o json` under its own cgroup root and writes the
 * plan: kubepods, the pod's tier, the pod, and the container that runs the workload. */

static struct cg_manager *mgr;
static char *root_fs;
static char tmpdir[] = "/tmp/qoslet-cgvm-XXXXXX";
static bool have_tmpdir;
static struct cgplan plan;
static const char *pod_fs, *pod_sd, *ctr_fs, *ctr_sd;

static void setup(void)
{
        if (geteuid() != 0 || cgtest_manager(&mgr, &root_fs, NULL) < 0)
                return;
        have_tmpdir = mkdtemp(tmpdir) != NULL;
}

static void teardown(void)
{
        if (!mgr)
                return;
        _cleanup_free_ char *root_sd = cgtest_systemd(root_fs);
        (void)cg_destroy(mgr, root_fs, root_sd, NULL, NULL);
        cgplan_done(&plan);
        if (have_tmpdir) {
                _cleanup_free_ char *p = NULL;
                if (asprintf(&p, "%s/pod.yaml", tmpdir) > 0)
                        (void)unlink(p);
                (void)rmdir(tmpdir);
        }
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

/* Plans one pod with extra qosctl flags, and writes the plan from kubepods down to its first
 * container, which gets pid. */
static void apply_plan(const char *yaml, const char *flags, pid_t pid)
{
        cr_assert(have_tmpdir, "make a temporary directory");
        _cleanup_free_ char *path = cgplan_write_file(tmpdir, "pod.yaml", yaml);
        cr_assert_not_null(path);
        char *files[] = { path, NULL };
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(cgplan_run(root_fs, cgtest_driver(), flags, files, &plan, &e), 0, "%s",
                     qerr_msg(e));
        cr_assert_eq(plan.n_pods, 1);
        const struct cgplan_pod *p = &plan.pods[0];
        cr_assert_geq(p->n_containers, 1);
        const struct cgplan_cgroup *tier = strcmp(p->qos, "Burstable") == 0    ? &plan.burstable
                                           : strcmp(p->qos, "BestEffort") == 0 ? &plan.besteffort
                                                                               : NULL;
        const struct cgplan_cgroup *chain[] = { &plan.kubepods, tier, &p->cg, &p->containers[0] };
        size_t checked = 0, lacking = 0;
        for (size_t i = 0; i < ELEMENTSOF(chain); i++) {
                if (!chain[i])
                        continue;
                bool last = i == ELEMENTSOF(chain) - 1;
                cr_assert_eq(cg_apply(mgr, chain[i]->fs, chain[i]->sd, &chain[i]->v2, &chain[i]->v1,
                                      last ? pid : 0, NULL, &e),
                             0, "apply '%s': %s", chain[i]->fs, qerr_msg(e));
                cr_assert_eq(cgplan_check(mgr, chain[i], &checked, &lacking, &e), 0, "%s",
                             qerr_msg(e));
        }
        pod_fs = p->cg.fs;
        pod_sd = p->cg.sd;
        ctr_fs = p->containers[0].fs;
        ctr_sd = p->containers[0].sd;
        if (strcmp(cgtest_driver(), "systemd") == 0) {
                _cleanup_free_ char *state = cgtest_unit_state(strrchr(ctr_sd, '/') + 1);
                cr_assert_str_eq(state ? state : "(none)", "active", "scope unit");
        }
}

/* The file's string in the plan of the container. */
static const char *planned(const char *name)
{
        const char *v = cg_values_get(&plan.pods[0].containers[0].v2, name);
        cr_assert_not_null(v, "the plan has no '%s'", name);
        return v;
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
        struct job j = { .fn = allocate, .arg = 256 };
        pid_t pid = job_start(&j);
        apply_plan("apiVersion: v1\nkind: Pod\nmetadata: {name: oom}\nspec:\n  containers:\n"
                   "  - name: hog\n    image: qoslet-test\n"
                   "    resources: {requests: {cpu: 100m}, limits: {memory: 32Mi}}\n"
                   /* without a limit, so that the pod has none: the container's is hit */
                   "  - name: idle\n    image: qoslet-test\n",
                   NULL, pid);
        cr_assert_str_eq(planned("memory.max"), "33554432");
        cr_assert_str_eq(planned("memory.oom.group"), "1");
        cr_assert_null(cg_values_get(&plan.pods[0].cg.v2, "memory.max"));
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
                cr_assert_leq(st.memory_current, strtoull(planned("memory.max"), NULL, 10));
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
        struct job j = { .fn = fork_until_refused };
        pid_t pid = job_start(&j);
        /* The kubelet limits pids on the pod cgroup (--pod-pids-limit), not per container. */
        apply_plan("apiVersion: v1\nkind: Pod\nmetadata: {name: forks}\nspec:\n  containers:\n"
                   "  - name: loop\n    image: qoslet-test\n",
                   "--pod-pids-limit 8", pid);
        cr_assert_str_eq(cg_values_get(&plan.pods[0].cg.v2, "pids.max") ?: "(none)", "8");
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
        struct job j = { .fn = spin };
        pid_t pid = job_start(&j);
        apply_plan("apiVersion: v1\nkind: Pod\nmetadata: {name: spin}\nspec:\n  containers:\n"
                   "  - name: spin\n    image: qoslet-test\n"
                   "    resources: {limits: {cpu: 200m}}\n",
                   NULL, pid);
        cr_assert_str_eq(planned("cpu.max"), "20000 100000");
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
        cr_log_info("cpu.max %s: %.1f%% of one CPU over %.2f s, throttled %llu of "
                    "%llu periods",
                    planned("cpu.max"), share * 100, wall / 1e6,
                    (unsigned long long)(b.cpu_nr_throttled), (unsigned long long)b.cpu_nr_periods);
        cr_assert_gt(b.cpu_nr_throttled, a.cpu_nr_throttled, "throttling grows");
        cr_assert(share > 0.05 && share < 0.45, "share %.3f", share);
        cr_assert_eq(cg_destroy(mgr, ctr_fs, ctr_sd, NULL, &e), 1, "%s", qerr_msg(e));
        int status;
        cr_assert_eq(cgtest_wait(pid, 5000, &status), 0);
}
