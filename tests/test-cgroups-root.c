/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "basic/fileio.h"
#include "cgroups/cgroup-internal.h"
#include "cgroups/cgroups.h"
#include "helpers/cgplan.h"
#include "helpers/cgtest.h"

/* Root tests of pkg/cgroups: on this host (cgroup v1 hybrid, cgroupfs driver) and in the
 * cgroup v2 VM (cgroupfs, or systemd when QOSLET_TEST_CGROUP_DRIVER=systemd). Each test
 * works under its own cgroup root and removes it. Every value written is what
 * `qosctl plan -o json` prints for three pods (one per QoS class) under that root with the
 * manager's driver, and every file is read back against it. */

static const char *const pod_uids[3] = {
        "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
        "a5e0f0b2-4c8e-4d9a-9a36-0e6a2f1f7c11",
        "ffeeddccbbaa99887766554433221100",
};
static const char *const pod_classes[3] = { "Guaranteed", "Burstable", "BestEffort" };

/* Two containers per pod, in the order of pod_uids. */
static const char *const manifests[3] = {
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: guaranteed\n"
        "  uid: 0a1b2c3d4e5f60718293a4b5c6d7e8f9\nspec:\n  containers:\n"
        "  - name: app\n    image: qoslet-test\n"
        "    resources: {limits: {cpu: 250m, memory: 128Mi}}\n"
        "  - name: side\n    image: qoslet-test\n"
        "    resources: {limits: {cpu: 250m, memory: 128Mi}}\n",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: burstable\n"
        "  uid: a5e0f0b2-4c8e-4d9a-9a36-0e6a2f1f7c11\nspec:\n  containers:\n"
        "  - name: app\n    image: qoslet-test\n"
        "    resources:\n      requests: {cpu: 100m, memory: 64Mi}\n"
        "      limits: {cpu: 200m, memory: 64Mi}\n"
        "  - name: side\n    image: qoslet-test\n"
        "    resources: {requests: {cpu: 50m}}\n",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: besteffort\n"
        "  uid: ffeeddccbbaa99887766554433221100\nspec:\n  containers:\n"
        "  - name: app\n    image: qoslet-test\n"
        "  - name: side\n    image: qoslet-test\n",
};

/* The Guaranteed pod after an edit that keeps its UID: more CPU and memory for "side". */
static const char resized_guaranteed[] =
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: guaranteed\n"
        "  uid: 0a1b2c3d4e5f60718293a4b5c6d7e8f9\nspec:\n  containers:\n"
        "  - name: app\n    image: qoslet-test\n"
        "    resources: {limits: {cpu: 250m, memory: 128Mi}}\n"
        "  - name: side\n    image: qoslet-test\n"
        "    resources: {limits: {cpu: 400m, memory: 192Mi}}\n";

/* Flags of every plan: a pod pids limit, so that pids.max is written below kubepods too. */
#define PLAN_FLAGS "--pod-pids-limit 1024"

/* One cgroup of the test tree: its plan and the process of a container. */
struct node {
        const struct cgplan_cgroup *cg;
        const char *fs, *sd;
        pid_t pid;
};

/* kubepods, the tiers, one pod per class, two containers each. */
struct tree {
        struct node kubepods, tiers[2], pods[3], containers[3][2];
};

static struct cg_manager *mgr;
static char *root_fs, *root_sd;
static char tmpdir[] = "/tmp/qoslet-cgplan-XXXXXX";
static bool have_tmpdir;
static char *manifest_files[3];
static struct cgplan plan;
static struct tree tree;
static char *setup_error;

static void node_set(struct node *n, const struct cgplan_cgroup *cg)
{
        *n = (struct node){ .cg = cg, .fs = cg->fs, .sd = cg->sd };
}

static void node_done(struct node *n)
{
        if (n->pid > 0) {
                (void)kill(n->pid, SIGKILL);
                (void)cgtest_wait(n->pid, 2000, NULL);
        }
        *n = (struct node){ 0 };
}

/* Plans some of the manifests (NULL-terminated paths) under the test root. */
static int plan_files(char *const *files, struct cgplan *ret, struct qerr **err)
{
        return cgplan_run(root_fs, cg_manager_driver(mgr), PLAN_FLAGS, files, ret, err);
}

static int tree_build(struct tree *t, struct qerr **err)
{
        for (unsigned q = 0; q < 3; q++) {
                char name[32];
                snprintf(name, sizeof(name), "%s.yaml", pod_classes[q]);
                manifest_files[q] = cgplan_write_file(tmpdir, name, manifests[q]);
                if (!manifest_files[q])
                        return qerr_set_errno(err, errno, "write '%s' in '%s'", name, tmpdir);
        }
        char *files[] = { manifest_files[0], manifest_files[1], manifest_files[2], NULL };
        int r = plan_files(files, &plan, err);
        if (r < 0)
                return r;
        node_set(&t->kubepods, &plan.kubepods);
        node_set(&t->tiers[0], &plan.burstable);
        node_set(&t->tiers[1], &plan.besteffort);
        for (unsigned q = 0; q < 3; q++) {
                const struct cgplan_pod *p = cgplan_find_pod(&plan, pod_uids[q]);
                if (!p || strcmp(p->qos, pod_classes[q]) != 0 || p->n_containers != 2)
                        return qerr_set(err, EBADMSG,
                                        "plan of pod '%s': not a %s pod with two "
                                        "containers",
                                        pod_uids[q], pod_classes[q]);
                node_set(&t->pods[q], &p->cg);
                for (unsigned c = 0; c < 2; c++)
                        node_set(&t->containers[q][c], &p->containers[c]);
        }
        return 0;
}

static void tree_done(struct tree *t)
{
        node_done(&t->kubepods);
        for (unsigned i = 0; i < 2; i++)
                node_done(&t->tiers[i]);
        for (unsigned q = 0; q < 3; q++) {
                node_done(&t->pods[q]);
                for (unsigned c = 0; c < 2; c++)
                        node_done(&t->containers[q][c]);
        }
}

static void setup(void)
{
        if (geteuid() != 0)
                return;
        _cleanup_qerr_ struct qerr *e = NULL;
        int r = cgtest_manager(&mgr, &root_fs, &e);
        if (r < 0)
                return;
        root_sd = cgtest_systemd(root_fs);
        have_tmpdir = mkdtemp(tmpdir) != NULL;
        if (!have_tmpdir)
                r = qerr_set_errno(&e, errno, "make a temporary directory");
        if (r >= 0)
                r = tree_build(&tree, &e);
        if (r < 0)
                setup_error = strdup(qerr_msg(e));
}

static void teardown(void)
{
        if (mgr) {
                _cleanup_qerr_ struct qerr *e = NULL;
                (void)cg_destroy(mgr, root_fs, root_sd, NULL, &e);
        }
        tree_done(&tree);
        cgplan_done(&plan);
        for (unsigned q = 0; q < 3; q++) {
                if (manifest_files[q])
                        (void)unlink(manifest_files[q]);
                free(manifest_files[q]);
        }
        if (have_tmpdir)
                (void)rmdir(tmpdir);
        cg_manager_free(mgr);
        mgr = NULL;
        free(root_fs);
        free(root_sd);
        free(setup_error);
}

TestSuite(cgroups_root, .init = setup, .fini = teardown);

static void need_manager(void)
{
        if (geteuid() != 0)
                cr_skip_test("needs root");
        _cleanup_qerr_ struct qerr *e = NULL;
        struct cg_manager *m = NULL;
        if (!mgr) {
                /* Say why the setup failed. */
                char *r = NULL;
                int rc = cgtest_manager(&m, &r, &e);
                cg_manager_free(m);
                free(r);
                cr_assert_fail("create cgroup manager (%d): %s", rc, qerr_msg(e));
        }
        cr_assert_null(setup_error, "set up the test tree: %s", setup_error);
}

static bool is_v2(void)
{
        return cg_manager_mode(mgr) == CG_MODE_UNIFIED;
}

static bool is_systemd(void)
{
        return strcmp(cg_manager_driver(mgr), "systemd") == 0;
}

static const struct cg_values *values_of(const struct node *n)
{
        return cgplan_values(mgr, n->cg);
}

static void sleeper_for(struct node *n)
{
        n->pid = cgtest_spawn_sleeper();
        cr_assert_gt(n->pid, 0);
}

/* Applies the values of cg to a node; containers get a sleeping process (a systemd scope
 * needs one). The skipped files are added to *skipped. */
static void apply_values(struct node *n, const struct cgplan_cgroup *cg, bool container,
                         char ***skipped)
{
        _cleanup_qerr_ struct qerr *e = NULL;
        if (container && !n->pid)
                sleeper_for(n);
        _cleanup_strv_free_ char **mine = NULL;
        int r = cg_apply(mgr, n->fs, n->sd, &cg->v2, &cg->v1, container ? n->pid : 0,
                         skipped ? &mine : NULL, &e);
        cr_assert_eq(r, 0, "apply '%s': %s", n->fs, qerr_msg(e));
        STRV_FOREACH (s, mine)
                cr_assert_eq(cg_strv_push(skipped, *s), 0);
}

static void apply(struct node *n, bool container, char ***skipped)
{
        apply_values(n, n->cg, container, skipped);
}

static void apply_pod(unsigned q, char ***skipped)
{
        apply(&tree.pods[q], false, skipped);
        for (unsigned c = 0; c < 2; c++)
                apply(&tree.containers[q][c], true, skipped);
}

static void apply_all(char ***skipped)
{
        apply(&tree.kubepods, false, skipped);
        apply(&tree.tiers[0], false, skipped);
        apply(&tree.tiers[1], false, skipped);
        for (unsigned q = 0; q < 3; q++)
                apply_pod(q, skipped);
}

static bool host_lacks(const char *name)
{
        return cgplan_host_lacks(mgr, name);
}

/* Every file of the plan of cg holds the plan's string (files the host lacks aside). */
static void check_values(const struct node *n, const struct cgplan_cgroup *cg, size_t *n_checked,
                         size_t *n_lacking)
{
        size_t lacking = 0;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_str_eq(n->fs, cg->fs);
        int r = cgplan_check(mgr, cg, n_checked, &lacking, &e);
        cr_assert_eq(r, 0, "%s", qerr_msg(e));
        if (n_lacking)
                *n_lacking += lacking;
}

static void check_node(const struct node *n, size_t *n_checked)
{
        check_values(n, n->cg, n_checked, NULL);
}

static void expect_skipped(char **skipped)
{
        size_t want = 0;
        const struct node *all[] = { &tree.kubepods, &tree.tiers[0], &tree.tiers[1] };
        for (size_t k = 0; k < ELEMENTSOF(all); k++)
                for (size_t i = 0; i < values_of(all[k])->n; i++)
                        want += host_lacks(values_of(all[k])->files[i].name);
        for (unsigned q = 0; q < 3; q++) {
                for (size_t i = 0; i < values_of(&tree.pods[q])->n; i++)
                        want += host_lacks(values_of(&tree.pods[q])->files[i].name);
                for (unsigned c = 0; c < 2; c++) {
                        const struct cg_values *v = values_of(&tree.containers[q][c]);
                        for (size_t i = 0; i < v->n; i++)
                                want += host_lacks(v->files[i].name);
                }
        }
        size_t got = cg_strv_length(skipped);
        cr_assert_eq(got, want, "skipped %zu files, want %zu", got, want);
        STRV_FOREACH (s, skipped)
                cr_assert(host_lacks(*s), "skipped '%s', which the host has", *s);
}

static void assert_gone(const char *fs, const char *sd)
{
        _cleanup_free_ char *where = NULL;
        int r = cgtest_find_leftover(fs, sd, &where);
        cr_assert_eq(r, 0, "left over: '%s'", where ? where : "?");
}

Test(cgroups_root, tree_values_read_back)
{
        need_manager();
        /* The plan names the cgroups of this root and this driver. */
        char want[600];
        snprintf(want, sizeof(want), "%s/kubepods", root_fs);
        cr_assert_str_eq(plan.kubepods.fs, want);
        _cleanup_free_ char *want_sd = cgtest_systemd(want);
        cr_assert_str_eq(plan.kubepods.sd, want_sd);
        _cleanup_strv_free_ char **skipped = NULL;
        apply_all(&skipped);
        size_t checked = 0;
        check_node(&tree.kubepods, &checked);
        check_node(&tree.tiers[0], &checked);
        check_node(&tree.tiers[1], &checked);
        for (unsigned q = 0; q < 3; q++) {
                check_node(&tree.pods[q], &checked);
                for (unsigned c = 0; c < 2; c++)
                        check_node(&tree.containers[q][c], &checked);
        }
        expect_skipped(skipped);
        size_t total = values_of(&tree.kubepods)->n + values_of(&tree.tiers[0])->n +
                       values_of(&tree.tiers[1])->n;
        for (unsigned q = 0; q < 3; q++)
                total += values_of(&tree.pods[q])->n + values_of(&tree.containers[q][0])->n +
                         values_of(&tree.containers[q][1])->n;
        cr_assert_eq(checked + cg_strv_length(skipped), total, "checked %zu of %zu", checked,
                     total);
        cr_log_info("mode %s, driver %s: %zu files of the plan read back, %zu skipped",
                    cg_mode_to_string(cg_manager_mode(mgr)), cg_manager_driver(mgr), checked,
                    cg_strv_length(skipped));
}

Test(cgroups_root, hugetlb_skipped_exactly_where_missing)
{
        need_manager();
        _cleanup_strv_free_ char **skipped = NULL;
        apply(&tree.kubepods, false, &skipped);
        _cleanup_strv_free_ char **sizes = cgtest_hugepage_sizes();
        size_t hugetlb = 0;
        for (size_t i = 0; i < values_of(&tree.kubepods)->n; i++)
                hugetlb += strncmp(values_of(&tree.kubepods)->files[i].name, "hugetlb", 7) == 0;
        cr_assert_eq(hugetlb, cg_strv_length(sizes));
        if (host_lacks(is_v2() ? "hugetlb.2MB.max" : "hugetlb/hugetlb.2MB.limit_in_bytes")) {
                cr_assert_eq(cg_strv_length(skipped), hugetlb);
                STRV_FOREACH (s, skipped)
                        cr_assert(strncmp(*s, "hugetlb", 7) == 0, "skipped '%s'", *s);
        } else
                cr_assert_eq(cg_strv_length(skipped), 0, "skipped '%s'", skipped[0]);
}

/* The files whose strings differ between two plans of one cgroup. */
static size_t count_changed(const struct cgplan_cgroup *a, const struct cgplan_cgroup *b)
{
        const struct cg_values *va = cgplan_values(mgr, a), *vb = cgplan_values(mgr, b);
        size_t n = 0;
        for (size_t i = 0; i < va->n; i++) {
                const char *other = cg_values_get(vb, va->files[i].name);
                n += !other || strcmp(other, va->files[i].value) != 0;
        }
        return n;
}

static void plan_one(const char *yaml, const char *name, struct cgplan *ret)
{
        _cleanup_free_ char *path = cgplan_write_file(tmpdir, name, yaml);
        cr_assert_not_null(path, "write '%s'", name);
        char *files[] = { path, NULL };
        _cleanup_qerr_ struct qerr *e = NULL;
        int r = plan_files(files, ret, &e);
        (void)unlink(path);
        cr_assert_eq(r, 0, "%s", qerr_msg(e));
}

/* An edit of a running pod that keeps its UID: the pod and container cgroups take the new
 * plan in place, with the processes where they were. */
Test(cgroups_root, update_in_place)
{
        need_manager();
        apply(&tree.kubepods, false, NULL);
        apply_pod(0, NULL);
        _cleanup_(cgplan_done) struct cgplan resized = { 0 };
        plan_one(resized_guaranteed, "resized.yaml", &resized);
        const struct cgplan_pod *rp = cgplan_find_pod(&resized, pod_uids[0]);
        cr_assert_not_null(rp);
        cr_assert_str_eq(rp->qos, "Guaranteed");
        struct node *pod = &tree.pods[0], *ctr = &tree.containers[0][1];
        const struct cgplan_cgroup *new_pod = &rp->cg, *new_ctr = &rp->containers[1];
        cr_assert_str_eq(new_pod->fs, pod->fs);
        cr_assert_str_eq(new_ctr->fs, ctr->fs);
        /* memory and the quota, of the pod and of "side" */
        cr_assert_geq(count_changed(pod->cg, new_pod), 2);
        cr_assert_geq(count_changed(ctr->cg, new_ctr), 2);
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(cg_update(mgr, pod->fs, pod->sd, &new_pod->v2, &new_pod->v1, NULL, &e), 0,
                     "%s", qerr_msg(e));
        cr_assert_eq(cg_update(mgr, ctr->fs, ctr->sd, &new_ctr->v2, &new_ctr->v1, NULL, &e), 0,
                     "%s", qerr_msg(e));
        size_t checked = 0;
        check_values(pod, new_pod, &checked, NULL);
        check_values(ctr, new_ctr, &checked, NULL);
        check_node(&tree.containers[0][0], &checked);
        /* The process stays where it was. */
        _cleanup_free_ char *procs = NULL;
        cr_assert_eq(cg_read(mgr, ctr->fs, ctr->sd, is_v2() ? "cgroup.procs" : "cpu/cgroup.procs",
                             &procs, NULL),
                     0);
        cr_assert_eq(atoi(procs), ctr->pid);
        char missing_fs[600];
        snprintf(missing_fs, sizeof(missing_fs), "%s/nothere", pod->fs);
        _cleanup_free_ char *missing_sd = cgtest_systemd(missing_fs);
        qerr_free(TAKE_PTR(e));
        cr_assert_eq(cg_update(mgr, missing_fs, missing_sd, &new_pod->v2, &new_pod->v1, NULL, &e),
                     -ENOENT);
}

static void update_tiers(const struct cgplan *p)
{
        const struct cgplan_cgroup *tiers[] = { &p->kubepods, &p->burstable, &p->besteffort };
        for (size_t i = 0; i < ELEMENTSOF(tiers); i++) {
                _cleanup_qerr_ struct qerr *e = NULL;
                int r = cg_update(mgr, tiers[i]->fs, tiers[i]->sd, &tiers[i]->v2, &tiers[i]->v1,
                                  NULL, &e);
                cr_assert_eq(r, 0, "update tier '%s': %s", tiers[i]->fs, qerr_msg(e));
        }
}

static void check_tiers(const struct cgplan *p, size_t *checked)
{
        check_values(&tree.kubepods, &p->kubepods, checked, NULL);
        check_values(&tree.tiers[0], &p->burstable, checked, NULL);
        check_values(&tree.tiers[1], &p->besteffort, checked, NULL);
}

/* The tiers follow the pods, as the kubelet's QoS manager does: with the Guaranteed and the
 * BestEffort pod running, a Burstable pod is added (tiers updated first, then the pod made),
 * then removed (pod destroyed, then tiers updated); every step reads back the plan of the pods
 * running then. */
Test(cgroups_root, tiers_follow_burstable_pod)
{
        need_manager();
        char *without_files[] = { manifest_files[0], manifest_files[2], NULL };
        _cleanup_(cgplan_done) struct cgplan without = { 0 };
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(plan_files(without_files, &without, &e), 0, "%s", qerr_msg(e));
        size_t changed = count_changed(&without.burstable, &plan.burstable);
        cr_assert_gt(changed, 0, "the burstable tier's plan does not change with its pod");
        cr_assert_str_eq(without.burstable.fs, plan.burstable.fs);
        apply_values(&tree.kubepods, &without.kubepods, false, NULL);
        apply_values(&tree.tiers[0], &without.burstable, false, NULL);
        apply_values(&tree.tiers[1], &without.besteffort, false, NULL);
        apply_pod(0, NULL);
        apply_pod(2, NULL);
        size_t checked = 0;
        check_tiers(&without, &checked);
        /* Add the Burstable pod. */
        update_tiers(&plan);
        apply_pod(1, NULL);
        check_tiers(&plan, &checked);
        for (unsigned q = 0; q < 3; q++) {
                check_node(&tree.pods[q], &checked);
                for (unsigned c = 0; c < 2; c++)
                        check_node(&tree.containers[q][c], &checked);
        }
        /* And remove it. */
        cr_assert_eq(cg_destroy(mgr, tree.pods[1].fs, tree.pods[1].sd, NULL, &e), 1, "%s",
                     qerr_msg(e));
        for (unsigned c = 0; c < 2; c++) {
                (void)cgtest_wait(tree.containers[1][c].pid, 2000, NULL);
                tree.containers[1][c].pid = 0;
        }
        assert_gone(tree.pods[1].fs, tree.pods[1].sd);
        update_tiers(&without);
        check_tiers(&without, &checked);
        for (unsigned q = 0; q < 3; q += 2)
                check_node(&tree.pods[q], &checked);
        cr_log_info("%s/%s: burstable tier: %zu files change with its pod; %zu files read back",
                    cg_mode_to_string(cg_manager_mode(mgr)), cg_manager_driver(mgr), changed,
                    checked);
}

/* The directory of a cgroup in the hierarchy of one controller (v1) or the only one (v2). */
static char *dir_of(const struct node *n, const char *controller)
{
        char name[64];
        snprintf(name, sizeof(name), "%s%scgroup.procs", is_v2() ? "" : controller,
                 is_v2() ? "" : "/");
        char *p = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(cg_file_path(mgr, n->fs, n->sd, name, &p, &e), 0, "%s", qerr_msg(e));
        *strrchr(p, '/') = 0;
        return p;
}

static const char *const v1_used[] = { "cpu", "cpuacct", "cpuset", "memory", "pids", "freezer" };

static void assert_killed(pid_t pid)
{
        int status = 0;
        cr_assert_eq(cgtest_wait(pid, 2000, &status), 0, "pid %d still alive", (int)pid);
        cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "pid %d: status %#x",
                  (int)pid, status);
}

struct alloc_arg {
        int go[2], done[2];
        size_t bytes;
};

/* Waits for the word, then allocates and touches memory (charged to its cgroup of then). */
static int allocate_then_sleep(void *arg)
{
        struct alloc_arg *a = arg;
        char c;
        if (read(a->go[0], &c, 1) != 1)
                return 1;
        char *p = malloc(a->bytes);
        if (!p)
                return 1;
        memset(p, 1, a->bytes);
        /* The buffer escapes: clang (check-asan) may otherwise drop the unused allocation. */
        __asm__ volatile("" : : "r"(p) : "memory");
        if (write(a->done[1], &c, 1) != 1)
                return 1;
        for (;;)
                pause();
}

Test(cgroups_root, attach_stats_destroy)
{
        need_manager();
        apply(&tree.kubepods, false, NULL);
        apply(&tree.tiers[0], false, NULL);
        apply_pod(1, NULL);
        struct node *ctr = &tree.containers[1][0];
        struct alloc_arg a = { .bytes = 16u << 20 };
        cr_assert_eq(pipe(a.go), 0);
        cr_assert_eq(pipe(a.done), 0);
        pid_t extra = cgtest_spawn(allocate_then_sleep, &a);
        cr_assert_gt(extra, 0);
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(cg_attach(mgr, ctr->fs, ctr->sd, extra, &e), 0, "%s", qerr_msg(e));
        char c = 'x';
        cr_assert_eq(write(a.go[1], &c, 1), 1);
        cr_assert_eq(read(a.done[0], &c, 1), 1);
        size_t n_dirs = is_v2() ? 1 : ELEMENTSOF(v1_used);
        for (size_t i = 0; i < n_dirs; i++) {
                _cleanup_free_ char *dir = dir_of(ctr, v1_used[i]);
                cr_assert(cgtest_procs_has(dir, ctr->pid), "pid %d not in '%s'", ctr->pid, dir);
                cr_assert(cgtest_procs_has(dir, extra), "pid %d not in '%s'", extra, dir);
        }
        struct cg_stats st;
        cr_assert_eq(cg_stats(mgr, ctr->fs, ctr->sd, &st, &e), 0, "%s", qerr_msg(e));
        cr_assert_eq(st.pids_current, 2);
        cr_assert_geq(st.memory_current, a.bytes, "memory %llu",
                      (unsigned long long)st.memory_current);
        cr_assert_eq(st.oom_kill, 0);
        struct cg_stats fin = { 0 };
        cr_assert_eq(cg_destroy(mgr, ctr->fs, ctr->sd, &fin, &e), 1, "%s", qerr_msg(e));
        cr_assert_eq(fin.pids_current, 2, "stats read before the kill");
        assert_killed(ctr->pid);
        assert_killed(extra);
        ctr->pid = 0;
        assert_gone(ctr->fs, ctr->sd);
        /* The sibling is untouched. */
        struct node *other = &tree.containers[1][1];
        cr_assert_eq(kill(other->pid, 0), 0);
        cr_assert_eq(cg_destroy(mgr, ctr->fs, ctr->sd, NULL, &e), 0, "gone: ENOENT is success");
}

Test(cgroups_root, cpuset_copied_from_parent)
{
        need_manager();
        apply(&tree.kubepods, false, NULL);
        apply(&tree.tiers[1], false, NULL);
        apply_pod(2, NULL);
        struct node *ctr = &tree.containers[2][1];
        _cleanup_free_ char *dir = dir_of(ctr, "cpuset");
        const char *cpus = is_v2() ? "cpuset.cpus.effective" : "cpuset.cpus";
        const char *mems = is_v2() ? "cpuset.mems.effective" : "cpuset.mems";
        const char *files[] = { cpus, mems };
        /* the hierarchy's root: the directory minus the cgroup path the driver used */
        _cleanup_free_ char *top = strdup(dir);
        size_t lt = strlen(top), lfs = strlen(ctr->fs), lsd = strlen(ctr->sd);
        if (lt > lfs && strcmp(top + lt - lfs, ctr->fs) == 0)
                top[lt - lfs] = 0;
        else if (lt > lsd && strcmp(top + lt - lsd, ctr->sd) == 0)
                top[lt - lsd] = 0;
        else
                cr_assert_fail("'%s' ends with neither '%s' nor '%s'", dir, ctr->fs, ctr->sd);
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *want = NULL, *got = NULL;
                cr_assert_eq(cg_read_file(top, files[i], &want, NULL), 0, "%s/%s", top, files[i]);
                cr_assert_eq(cg_read_file(dir, files[i], &got, NULL), 0, "%s/%s", dir, files[i]);
                cr_assert_neq(strlen(want), 0);
                cr_assert_str_eq(got, want, "%s of '%s'", files[i], dir);
        }
        cr_assert(cgtest_procs_has(dir, ctr->pid), "attached despite the new cpuset");
}

static unsigned count_alive(void)
{
        unsigned n = 0;
        for (unsigned q = 0; q < 3; q++)
                for (unsigned c = 0; c < 2; c++)
                        n += tree.containers[q][c].pid > 0 &&
                             kill(tree.containers[q][c].pid, 0) == 0;
        return n;
}

Test(cgroups_root, destroy_root_leaves_nothing)
{
        need_manager();
        apply_all(NULL);
        cr_assert_eq(count_alive(), 6);
        _cleanup_qerr_ struct qerr *e = NULL;
        unsigned long long t0 = cgtest_now_us();
        cr_assert_eq(cg_destroy(mgr, root_fs, root_sd, NULL, &e), 1, "%s", qerr_msg(e));
        unsigned long long took = cgtest_now_us() - t0;
        for (unsigned q = 0; q < 3; q++)
                for (unsigned c = 0; c < 2; c++) {
                        assert_killed(tree.containers[q][c].pid);
                        tree.containers[q][c].pid = 0;
                }
        assert_gone(root_fs, root_sd);
        cr_log_info("destroy of a tree of 3 pods, 6 containers, 6 processes: %llu us", took);
        cr_assert_lt(took, 3000000ull);
}

/* A stray cgroup two levels below the pod, with a live process, made behind qoslet's back:
 * killed and removed, without a retry loop. */
static pid_t make_stray(const struct node *pod)
{
        pid_t pid = cgtest_spawn_sleeper();
        char pidbuf[32];
        snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid);
        const char *ctrls[] = { "cpu", "memory" };
        for (size_t i = 0; i < (is_v2() ? 1 : ELEMENTSOF(ctrls)); i++) {
                _cleanup_free_ char *dir = dir_of(pod, ctrls[i]);
                _cleanup_free_ char *stray = NULL, *inner = NULL;
                cr_assert(asprintf(&stray, "%s/stray", dir) > 0);
                cr_assert(asprintf(&inner, "%s/stray/inner", dir) > 0);
                cr_assert_eq(mkdir(stray, 0755), 0, "%s: %m", stray);
                cr_assert_eq(mkdir(inner, 0755), 0, "%s: %m", inner);
                cr_assert_eq(cg_write_file(inner, "cgroup.procs", pidbuf, NULL), 0);
                cr_assert(cgtest_procs_has(inner, pid));
        }
        return pid;
}

Test(cgroups_root, stray_child_with_process)
{
        need_manager();
        apply(&tree.kubepods, false, NULL);
        apply(&tree.tiers[1], false, NULL);
        apply_pod(2, NULL);
        struct node *pod = &tree.pods[2];
        pid_t stray = make_stray(pod);
        _cleanup_qerr_ struct qerr *e = NULL;
        unsigned long long t0 = cgtest_now_us();
        cr_assert_eq(cg_destroy(mgr, pod->fs, pod->sd, NULL, &e), 1, "%s", qerr_msg(e));
        unsigned long long took = cgtest_now_us() - t0;
        assert_killed(stray);
        for (unsigned c = 0; c < 2; c++) {
                assert_killed(tree.containers[2][c].pid);
                tree.containers[2][c].pid = 0;
        }
        assert_gone(pod->fs, pod->sd);
        cr_log_info("destroy of a pod with a stray child cgroup: %llu us", took);
        cr_assert_lt(took, 3000000ull, "took %llu us", took);
        /* The tier is still there. */
        cr_assert_eq(
                cg_stats(mgr, tree.tiers[1].fs, tree.tiers[1].sd, &(struct cg_stats){ 0 }, NULL),
                0);
}

Test(cgroups_root, destroy_of_missing_cgroup_is_success)
{
        need_manager();
        _cleanup_qerr_ struct qerr *e = NULL;
        struct cg_stats st = { .pids_current = 99 };
        cr_assert_eq(cg_destroy(mgr, tree.pods[0].fs, tree.pods[0].sd, &st, &e), 0, "%s",
                     qerr_msg(e));
        cr_assert_eq(st.pids_current, 0);
        cr_assert_eq(cg_stats(mgr, tree.pods[0].fs, tree.pods[0].sd, &st, NULL), -ENOENT);
}

Test(cgroups_root, list_pods_under_tiers)
{
        need_manager();
        apply(&tree.kubepods, false, NULL);
        apply(&tree.tiers[0], false, NULL);
        apply(&tree.tiers[1], false, NULL);
        for (unsigned q = 0; q < 3; q++)
                apply(&tree.pods[q], false, NULL);
        const struct node *tiers[3] = { &tree.kubepods, &tree.tiers[0], &tree.tiers[1] };
        for (unsigned q = 0; q < 3; q++) {
                struct cg_pod_ref *refs = NULL;
                size_t n = 0;
                _cleanup_qerr_ struct qerr *e = NULL;
                cr_assert_eq(cg_list_pods(mgr, tiers[q]->fs, tiers[q]->sd, &refs, &n, &e), 0, "%s",
                             qerr_msg(e));
                cr_assert_eq(n, 1, "tier '%s': %zu pods", tiers[q]->fs, n);
                cr_assert_str_eq(refs[0].uid, pod_uids[q]);
                cr_assert_str_eq(refs[0].cgroupfs, tree.pods[q].fs);
                cr_assert_str_eq(refs[0].systemd, tree.pods[q].sd);
                cg_pod_refs_free(refs, n);
        }
        /* A tier that does not exist yet lists nothing. */
        char p[600];
        snprintf(p, sizeof(p), "%s/other", root_fs);
        _cleanup_free_ char *sd = cgtest_systemd(p);
        struct cg_pod_ref *refs = NULL;
        size_t n = 9;
        cr_assert_eq(cg_list_pods(mgr, p, sd, &refs, &n, NULL), 0);
        cr_assert_eq(n, 0);
        cg_pod_refs_free(refs, n);
}

Test(cgroups_root, open_dir_for_clone_into_cgroup)
{
        need_manager();
        apply(&tree.kubepods, false, NULL);
        int fd = -1;
        _cleanup_qerr_ struct qerr *e = NULL;
        int r = cg_open_dir(mgr, tree.kubepods.fs, tree.kubepods.sd, &fd, &e);
        if (!is_v2()) {
                cr_assert_eq(r, -EOPNOTSUPP);
                cr_assert_eq(fd, -1);
                return;
        }
        cr_assert_eq(r, 0, "%s", qerr_msg(e));
        int pfd = openat(fd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
        cr_assert_geq(pfd, 0);
        close(pfd);
        close(fd);
}

Test(cgroups_root, timing_pod_with_two_containers)
{
        need_manager();
        apply(&tree.kubepods, false, NULL);
        apply(&tree.tiers[0], false, NULL);
        enum { N = 10 };
        unsigned long long create_us[N], destroy_us[N];
        for (unsigned i = 0; i < N; i++) {
                for (unsigned c = 0; c < 2; c++)
                        sleeper_for(&tree.containers[1][c]);
                unsigned long long t0 = cgtest_now_us();
                apply_pod(1, NULL);
                unsigned long long t1 = cgtest_now_us();
                _cleanup_qerr_ struct qerr *e = NULL;
                cr_assert_eq(cg_destroy(mgr, tree.pods[1].fs, tree.pods[1].sd, NULL, &e), 1, "%s",
                             qerr_msg(e));
                create_us[i] = t1 - t0;
                destroy_us[i] = cgtest_now_us() - t1;
                for (unsigned c = 0; c < 2; c++) {
                        assert_killed(tree.containers[1][c].pid);
                        tree.containers[1][c].pid = 0;
                }
        }
        unsigned long long cs = 0, ds = 0, cmin = ~0ull, dmin = ~0ull;
        for (unsigned i = 0; i < N; i++) {
                cs += create_us[i];
                ds += destroy_us[i];
                cmin = MIN(cmin, create_us[i]);
                dmin = MIN(dmin, destroy_us[i]);
        }
        cr_log_info("%s/%s: pod + 2 containers (2 processes attached): create+apply mean %llu us "
                    "(min %llu), destroy mean %llu us (min %llu), %d runs",
                    cg_mode_to_string(cg_manager_mode(mgr)), cg_manager_driver(mgr), cs / N, cmin,
                    ds / N, dmin, N);
        cr_assert_lt(cs / N, 1000000ull);
        cr_assert_lt(ds / N, 3000000ull);
}

Test(cgroups_root, systemd_units_exist)
{
        need_manager();
        if (!is_systemd()) {
                /* The cgroupfs driver makes no units: the same checks hold for directories. */
                apply_all(NULL);
                _cleanup_free_ char *where = NULL;
                cr_assert_eq(cgtest_find_leftover(tree.containers[0][0].fs, NULL, &where), 1);
                return;
        }
        apply_all(NULL);
        const struct node *nodes[] = { &tree.kubepods, &tree.tiers[0], &tree.pods[1],
                                       &tree.containers[1][0] };
        for (size_t i = 0; i < ELEMENTSOF(nodes); i++) {
                const char *unit = strrchr(nodes[i]->sd, '/') + 1;
                _cleanup_free_ char *state = cgtest_unit_state(unit);
                cr_assert_not_null(state, "unit '%s'", unit);
                cr_assert_str_eq(state, "active", "unit '%s'", unit);
        }
        _cleanup_qerr_ struct qerr *e = NULL;
        struct node *c = &tree.containers[2][0];
        char id_fs[700], id_sd[700];
        snprintf(id_fs, sizeof(id_fs), "%s/noproc", tree.pods[2].fs);
        snprintf(id_sd, sizeof(id_sd), "%s/qoslet-noproc.scope", tree.pods[2].sd);
        cr_assert_eq(cg_apply(mgr, id_fs, id_sd, &c->cg->v2, &c->cg->v1, 0, NULL, &e), -EINVAL);
        cr_assert_eq(cg_destroy(mgr, root_fs, root_sd, NULL, NULL), 1);
        _cleanup_free_ char *state = cgtest_unit_state(strrchr(tree.pods[1].sd, '/') + 1);
        cr_assert(!state || strcmp(state, "active") != 0, "pod slice still active");
}
