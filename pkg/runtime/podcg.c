/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "basic/log.h"
#include "runtime/podcg.h"
#include "runtime/process.h"

static int apply_one(struct cg_manager *m, const char *fs, const char *sd,
                     const struct cg_values *v2, const struct cg_values *v1, struct qerr **err)
{
        _cleanup_strv_free_ char **skipped = NULL;
        int r = cg_apply(m, fs, sd, v2, v1, 0, &skipped, err);
        if (r < 0)
                return r;
        STRV_FOREACH (s, skipped)
                log_debug("cgroup '%s': no controller for '%s', skipped", fs, *s);
        return 0;
}

int podcg_apply_tiers(struct cg_manager *m, const struct tiers_plan *t, struct qerr **err)
{
        const struct tier_plan *tiers[] = { &t->kubepods, &t->burstable, &t->besteffort };
        for (size_t i = 0; i < ELEMENTSOF(tiers); i++) {
                int r = apply_one(m, tiers[i]->cgroupfs, tiers[i]->systemd, &tiers[i]->v2,
                                  &tiers[i]->v1, err);
                if (r < 0)
                        return qerr_wrap(err, "QoS tier '%s'", tiers[i]->name);
        }
        return 0;
}

int podcg_create_pod(struct cg_manager *m, const struct pod_plan *plan, struct qerr **err)
{
        return apply_one(m, plan->cgroupfs, plan->systemd, &plan->v2, &plan->v1, err);
}

int podcg_destroy_pod(struct cg_manager *m, const char *cgroupfs, const char *systemd,
                      struct qerr **err)
{
        return cg_destroy(m, cgroupfs, systemd, NULL, err);
}

static bool is_systemd(const struct cg_manager *m)
{
        return strcmp(cg_manager_driver(m), "systemd") == 0;
}

static int strv_push_unique(char ***l, char *s)
{
        size_t n = strv_length(*l);
        for (size_t i = 0; i < n; i++)
                if (strcmp((*l)[i], s) == 0) {
                        free(s);
                        return 0;
                }
        char **x = realloc(*l, (n + 2) * sizeof(char *));
        if (!x) {
                free(s);
                return -ENOMEM;
        }
        x[n] = s;
        x[n + 1] = NULL;
        *l = x;
        return 0;
}

static bool parent_dir_exists(const char *file)
{
        _cleanup_free_ char *d = strdup(file);
        char *slash = d ? strrchr(d, '/') : NULL;
        struct stat st;
        if (!slash)
                return false;
        *slash = 0;
        return stat(d, &st) == 0 && S_ISDIR(st.st_mode);
}

/* cgroup.procs of each v1 hierarchy the cgroup exists in; co-mounted controllers share one. */
static int v1_procs(struct cg_manager *m, const char *fs, const char *sd, char ***ret,
                    struct qerr **err)
{
        static const char *const ctrls[] = { "cpu",     "cpuacct", "cpuset", "memory", "pids",
                                             "freezer", "hugetlb", "blkio",  "devices" };
        _cleanup_strv_free_ char **l = NULL;
        for (size_t i = 0; i < ELEMENTSOF(ctrls); i++) {
                _cleanup_free_ char *name = NULL;
                char *p = NULL;
                _cleanup_qerr_ struct qerr *e = NULL;
                if (asprintf(&name, "%s/cgroup.procs", ctrls[i]) < 0)
                        return qerr_set(err, ENOMEM, "cgroup '%s'", fs);
                if (cg_file_path(m, fs, sd, name, &p, &e) < 0)
                        continue; /* controller not mounted */
                if (!parent_dir_exists(p)) {
                        free(p);
                        continue;
                }
                if (strv_push_unique(&l, p) < 0)
                        return qerr_set(err, ENOMEM, "cgroup '%s'", fs);
        }
        if (!l)
                return qerr_set(err, ENOENT, "cgroup '%s' exists in no hierarchy", fs);
        *ret = TAKE_PTR(l);
        return 0;
}

int podcg_target(struct cg_manager *m, const char *cgroupfs, const char *systemd,
                 struct cgroup_target *ret, struct qerr **err)
{
        struct cgroup_target t = { 0 };
        int r;
        if (cg_manager_mode(m) == CG_MODE_UNIFIED) {
                r = cg_file_path(m, cgroupfs, systemd, "memory.events", &t.oom_events, err);
                if (r >= 0 && !(t.v2_dir = strdup(t.oom_events)))
                        r = qerr_set(err, ENOMEM, "cgroup '%s'", cgroupfs);
                if (r >= 0)
                        *strrchr(t.v2_dir, '/') = 0;
        } else {
                r = v1_procs(m, cgroupfs, systemd, &t.v1_procs, err);
                if (r >= 0)
                        r = cg_file_path(m, cgroupfs, systemd, "memory/memory.oom_control",
                                         &t.oom_events, err);
        }
        if (r < 0) {
                cgroup_target_done(&t);
                return r;
        }
        *ret = t;
        return 0;
}

const struct container_plan *podcg_container_plan(const struct pod_plan *plan, const char *name)
{
        for (size_t i = 0; i < plan->n_containers; i++)
                if (strcmp(plan->containers[i].name, name) == 0)
                        return &plan->containers[i];
        return NULL;
}

/* Number of pids in a cgroup.procs file; -1 when it cannot be read (the cgroup is gone).
 * Runs in the holder after fork: plain system calls only. */
static int count_procs(const char *file)
{
        char buf[256];
        int fd = open(file, O_RDONLY | O_CLOEXEC), n = 0;
        if (fd < 0)
                return -1;
        ssize_t k;
        while ((k = read(fd, buf, sizeof(buf))) > 0)
                for (ssize_t i = 0; i < k; i++)
                        n += buf[i] == '\n';
        close(fd);
        return k < 0 ? -1 : n;
}

/* The holder: it stays in the new scope until another process joins (the container or the
 * shim, placed by the shim's clone3 or cgroup.procs write) or the deadline passes, then exits,
 * so that the scope then lives exactly as long as what it was made for. */
_noreturn_ static void holder_main(const char *procs)
{
        sigset_t all;
        sigfillset(&all);
        (void)sigprocmask(SIG_UNBLOCK, &all, NULL);
        for (int fd = 3; fd < 4096; fd++)
                (void)close(fd);
        struct timespec delay = { .tv_nsec = 1000000 };
        bool joined = false; /* systemd moved the holder in: the file exists */
        for (long waited_ms = 0; waited_ms < PODCG_HOLD_MS; waited_ms += delay.tv_nsec / 1000000) {
                int n = count_procs(procs);
                if (n > 1 || (n < 0 && joined))
                        break;
                joined |= n == 1;
                (void)nanosleep(&delay, NULL);
                if (delay.tv_nsec < 64000000)
                        delay.tv_nsec *= 2;
        }
        _exit(0);
}

/* Forks the holder through an intermediate child that exits at once, so that the holder is
 * reaped by init and never becomes the daemon's zombie. */
static int holder_spawn(const char *procs, pid_t *ret, struct qerr **err)
{
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return qerr_set_errno(err, errno, "create pipe");
        _cleanup_close_ int rd = p[0];
        pid_t mid = fork();
        if (mid < 0) {
                close(p[1]);
                return qerr_set_errno(err, errno, "fork");
        }
        if (mid == 0) {
                pid_t h = fork();
                if (h == 0) {
                        close(p[1]);
                        holder_main(procs);
                }
                _exit(write(p[1], &h, sizeof(h)) == sizeof(h) && h > 0 ? 0 : 1);
        }
        close(p[1]);
        pid_t h = 0;
        while (waitpid(mid, NULL, 0) < 0 && errno == EINTR)
                ;
        if (read(rd, &h, sizeof(h)) != sizeof(h) || h <= 0)
                return qerr_set(err, ECHILD, "start the scope's first process");
        *ret = h;
        return 0;
}

/* Under systemd a container (and the shim) gets a scope of its own in the pod slice, as
 * runc's systemd driver gives one per container. systemd starts a scope only around a running
 * process (StartTransientUnit with PIDs=), but the process is spawned later, by the shim, a
 * static binary without a bus client. So the daemon starts the scope around a short-lived
 * holder process; the shim then puts the real process into the scope's cgroup (delegated:
 * Delegate=yes), and the holder leaves. */
static int scope_apply(struct cg_manager *m, const char *fs, const char *sd,
                       const struct cg_values *v2, const struct cg_values *v1, struct qerr **err)
{
        _cleanup_free_ char *procs = NULL;
        bool v2mode = cg_manager_mode(m) == CG_MODE_UNIFIED;
        int r = cg_file_path(m, fs, sd, v2mode ? "cgroup.procs" : "pids/cgroup.procs", &procs, err);
        if (r < 0)
                return r;
        if (access(procs, F_OK) == 0)
                return apply_one(m, fs, sd, v2, v1, err);
        pid_t holder = 0;
        r = holder_spawn(procs, &holder, err);
        if (r < 0)
                return qerr_wrap(err, "scope '%s'", sd);
        _cleanup_strv_free_ char **skipped = NULL;
        r = cg_apply(m, fs, sd, v2, v1, holder, &skipped, err);
        if (r < 0)
                (void)kill(holder, SIGKILL);
        return r;
}

/* A child cgroup of the pod, created (or updated) with these values. */
static int child_target(struct podcg_pod *pp, const struct pod *pod, const char *name,
                        const struct cg_values *v2, const struct cg_values *v1,
                        struct cgroup_target *ret, struct qerr **err)
{
        const struct pod_plan *plan = pp->plan;
        _cleanup_free_ char *fs = NULL, *sd = NULL, *fs_unused = NULL, *unit_id = NULL;
        int r = cg_container_paths(plan->cgroupfs, plan->systemd, name, &fs, &sd, err);
        if (r < 0 || !is_systemd(pp->m)) {
                if (r >= 0)
                        r = apply_one(pp->m, fs, sd, v2, v1, err);
                if (r >= 0)
                        r = podcg_target(pp->m, fs, sd, ret, err);
                return r;
        }
        /* A unit name is global: the scope's name carries the pod's UID. */
        free(TAKE_PTR(sd));
        if (asprintf(&unit_id, "%s-%s", pod->metadata.uid, name) < 0)
                return qerr_set(err, ENOMEM, "container '%s'", name);
        r = cg_container_paths(plan->cgroupfs, plan->systemd, unit_id, &fs_unused, &sd, err);
        if (r >= 0)
                r = scope_apply(pp->m, fs, sd, v2, v1, err);
        if (r < 0)
                return r;
        /* systemd stops the scope and removes its cgroup with its last process, often before
         * the shim reads the kill count of a container that was OOM-killed; the pod slice's
         * memory.events counts its children's kills and stays. */
        struct cgroup_target t = { 0 }, pt = { 0 };
        r = podcg_target(pp->m, fs, sd, &t, err);
        if (r >= 0)
                r = podcg_target(pp->m, plan->cgroupfs, plan->systemd, &pt, err);
        if (r < 0) {
                cgroup_target_done(&t);
                return r;
        }
        free(t.oom_events);
        t.oom_events = TAKE_PTR(pt.oom_events);
        cgroup_target_done(&pt);
        *ret = t;
        return 0;
}

static int ops_container(void *userdata, const struct pod *pod, const struct container *c,
                         struct cgroup_target *ret, struct qerr **err)
{
        struct podcg_pod *pp = userdata;
        const struct container_plan *cp = podcg_container_plan(pp->plan, c->name);
        if (!cp)
                return qerr_set(err, ENOENT, "no plan for container '%s'", c->name);
        return child_target(pp, pod, c->name, &cp->v2, &cp->v1, ret, err);
}

static int ops_shim(void *userdata, const struct pod *pod, struct cgroup_target *ret,
                    struct qerr **err)
{
        static const struct cg_values none = { 0 };
        return child_target(userdata, pod, PODCG_SHIM_LEAF, &none, &none, ret, err);
}

static int ops_oom_score_adj(void *userdata, const struct pod *pod, const struct container *c,
                             int *ret)
{
        struct podcg_pod *pp = userdata;
        const struct container_plan *cp = podcg_container_plan(pp->plan, c->name);
        if (!cp)
                return -ENOENT;
        *ret = cp->oom_score_adj;
        return 0;
}

void podcg_pod_ops(struct podcg_pod *pp, struct pod_cgroup_ops *ret)
{
        *ret = (struct pod_cgroup_ops){ .container = ops_container,
                                        .shim = ops_shim,
                                        .oom_score_adj = ops_oom_score_adj,
                                        .userdata = pp };
}
