/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroups/cgroups.h"
#include "node/runtime-ops.h"
#include "node/state.h"
#include "ns/paths.h"
#include "runtime/exitrec.h"
#include "runtime/podcg.h"
#include "runtime/podrt.h"
#include "runtime/process.h"
#include "runtime/shimclient.h"

/* The real runtime. Starting a pod (pod_runtime_start: init containers run to completion,
 * then every container must exec) and stopping one (a grace period per container) block for
 * as long as the pod wants, so each of them runs on a thread of its own, one at a time per
 * pod; the thread signals an eventfd on the loop when done. A thread rather than a child
 * process because the result (the pod_runtime: paths, volumes, shim pid) is needed in this
 * process for restarts and the stop. While a pod's thread runs, the loop does not touch that
 * pod's pod_runtime. Restarting one container is a single request to a running shim (it
 * returns once the process exec'd), done on the loop.
 *
 * The runtime keeps its own copy of each pod's spec, decoded from the manifest the node keeps
 * in its state dir, since the node's copy may be replaced while a thread uses this one. */

#define STATUS_TIMEOUT_MS 2000
#define FAILED_RETRY_USEC (10 * 1000000LL)

enum spod_state {
        SPOD_ADOPTED, /* found in the run dir at start-up, not claimed by the node yet */
        SPOD_STARTING,
        SPOD_RUNNING,
        SPOD_FAILED, /* the start failed; reported, then forgotten so the node starts again */
        SPOD_STOPPING,
};

struct rshim;

struct watch {
        char *name;
        int fd;
        sd_event_source *src;
        struct spod *sp;
};

struct spod {
        struct rshim *rt;
        char *uid;
        struct pod *pod; /* own copy; NULL for a pod no state names */
        struct pod_plan plan;
        bool planned;
        struct podcg_pod pp;
        struct pod_cgroup_ops inner, ops; /* podcg's, and the same behind the cgroup lock */
        struct pod_runtime_config cfg;
        struct pod_runtime *pr;
        enum spod_state state;
        pid_t adopted_shim; /* shim pid found at start-up; 0 when it was gone */
        bool clean_first; /* a dead shim's leftovers go before the pod starts again */
        /* the thread of a start or stop */
        bool busy, stop_wanted;
        int64_t grace;
        pthread_t thread;
        int efd;
        sd_event_source *done_src;
        int result;
        char *error;
        int64_t failed_at;
        struct watch *watches;
        size_t n_watches;
};

struct rshim {
        sd_event *event;
        char *root_dir, *run_dir, *log_dir, *shim_path, *host_ip;
        const struct node_info *info;
        struct registry_opts registry; /* its insecure list is the env's, borrowed */
        const struct manifest_options *mopts;
        void (*pod_changed)(const char *uid, void *userdata);
        void *userdata;
        struct cg_manager *cg;
        pthread_mutex_t cg_lock; /* the manager is shared by the loop and the pod threads */
        struct spod **pods;
        size_t n_pods;
};

static int64_t now_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t ts_us(const struct timespec *t)
{
        return (int64_t)t->tv_sec * 1000000 + t->tv_nsec / 1000;
}

/* ---- cgroups behind the lock ---- */

static int locked_container(void *userdata, const struct pod *pod, const struct container *c,
                            struct cgroup_target *ret, struct qerr **err)
{
        struct spod *sp = userdata;
        pthread_mutex_lock(&sp->rt->cg_lock);
        int r = sp->inner.container(sp->inner.userdata, pod, c, ret, err);
        pthread_mutex_unlock(&sp->rt->cg_lock);
        return r;
}

static int locked_shim(void *userdata, const struct pod *pod, struct cgroup_target *ret,
                       struct qerr **err)
{
        struct spod *sp = userdata;
        pthread_mutex_lock(&sp->rt->cg_lock);
        int r = sp->inner.shim(sp->inner.userdata, pod, ret, err);
        pthread_mutex_unlock(&sp->rt->cg_lock);
        return r;
}

static int locked_oom(void *userdata, const struct pod *pod, const struct container *c, int *ret)
{
        struct spod *sp = userdata;
        return sp->inner.oom_score_adj(sp->inner.userdata, pod, c, ret);
}

/* Removes the pod's cgroup wherever a tier holds it: a pod adopted without a spec has no
 * plan, and the plan of one with a spec may have been made with other node values. */
static int destroy_pod_cgroups(struct rshim *rt, const char *uid, struct qerr **err)
{
        const struct node_info *ni = rt->info;
        int r = 0;
        pthread_mutex_lock(&rt->cg_lock);
        for (int c = -1; c < _QOS_CLASS_MAX && r >= 0; c++) {
                if (c == QOS_GUARANTEED)
                        continue; /* its pods live in kubepods itself: c == -1 */
                _cleanup_free_ char *fs = c < 0 ? cgroup_name_kubepods(ni->cgroup_root,
                                                                       CGROUP_DRIVER_CGROUPFS)
                                                : cgroup_name_tier(ni->cgroup_root, c,
                                                                   CGROUP_DRIVER_CGROUPFS);
                _cleanup_free_ char *sd = c < 0 ? cgroup_name_kubepods(ni->cgroup_root,
                                                                       CGROUP_DRIVER_SYSTEMD)
                                                : cgroup_name_tier(ni->cgroup_root, c,
                                                                   CGROUP_DRIVER_SYSTEMD);
                struct cg_pod_ref *refs = NULL;
                size_t n = 0;
                if (!fs || !sd) {
                        r = qerr_set(err, ENOMEM, "pod cgroups");
                        break;
                }
                r = cg_list_pods(rt->cg, fs, sd, &refs, &n, err);
                for (size_t i = 0; r >= 0 && i < n; i++)
                        if (strcmp(refs[i].uid, uid) == 0)
                                r = podcg_destroy_pod(rt->cg, refs[i].cgroupfs, refs[i].systemd,
                                                      err);
                cg_pod_refs_free(refs, n);
        }
        pthread_mutex_unlock(&rt->cg_lock);
        return r < 0 ? r : 0;
}

/* ---- pods ---- */

static void watches_clear(struct spod *sp)
{
        for (size_t i = 0; i < sp->n_watches; i++) {
                sd_event_source_disable_unref(sp->watches[i].src);
                if (sp->watches[i].fd >= 0)
                        close(sp->watches[i].fd);
                free(sp->watches[i].name);
        }
        free(sp->watches);
        sp->watches = NULL;
        sp->n_watches = 0;
}

static void spod_free(struct spod *sp)
{
        if (!sp)
                return;
        if (sp->busy)
                (void)pthread_join(sp->thread, NULL);
        watches_clear(sp);
        sd_event_source_disable_unref(sp->done_src);
        if (sp->efd >= 0)
                close(sp->efd);
        if (sp->pr) /* frees the pod_runtime only: the pod keeps running */
                pod_runtime_forget(sp->pr);
        if (sp->planned)
                pod_plan_done(&sp->plan);
        pod_free(sp->pod);
        free(sp->error);
        free(sp->uid);
        free(sp);
}

static struct spod *find(const struct rshim *rt, const char *uid)
{
        for (size_t i = 0; i < rt->n_pods; i++)
                if (strcmp(rt->pods[i]->uid, uid) == 0)
                        return rt->pods[i];
        return NULL;
}

static struct spod *spod_add(struct rshim *rt, const char *uid)
{
        struct spod **v = realloc(rt->pods, (rt->n_pods + 1) * sizeof(*v));
        if (!v)
                return NULL;
        rt->pods = v;
        struct spod *sp = calloc(1, sizeof(*sp));
        if (!sp || !(sp->uid = strdup(uid))) {
                free(sp);
                return NULL;
        }
        sp->rt = rt;
        sp->efd = -1;
        rt->pods[rt->n_pods++] = sp;
        return sp;
}

static void spod_remove(struct rshim *rt, struct spod *sp)
{
        for (size_t i = 0; i < rt->n_pods; i++)
                if (rt->pods[i] == sp) {
                        memmove(&rt->pods[i], &rt->pods[i + 1],
                                (rt->n_pods - i - 1) * sizeof(*rt->pods));
                        rt->n_pods--;
                        break;
                }
        spod_free(sp);
}

/* The pod as the node's state keeps it: decoded again from the saved manifest. */
static int load_pod(struct rshim *rt, const char *uid, struct pod **ret, struct qerr **err)
{
        _cleanup_(pod_record_done) struct pod_record rec = { 0 };
        int r = state_load_pod(rt->root_dir, uid, true, &rec, err);
        if (r < 0)
                return r;
        if (!rec.manifest || !rec.origin || !rec.uid_source)
                return qerr_set(err, ENOENT, "pod '%s': no manifest in the state", uid);
        _cleanup_(pod_list_done) struct pod_list l = { 0 };
        _cleanup_(diag_list_done) struct diag_list d = { 0 };
        if (manifest_decode(rec.manifest, rec.manifest_len, rec.origin, rec.uid_source, rt->mopts,
                            &l, &d) < 0)
                return qerr_set(err, EINVAL, "pod '%s': the saved manifest does not decode", uid);
        for (size_t i = 0; i < l.n; i++)
                if (strcmp(l.pods[i]->metadata.uid, uid) == 0) {
                        *ret = TAKE_PTR(l.pods[i]);
                        return 0;
                }
        return qerr_set(err, ENOENT, "pod '%s': not in its saved manifest", uid);
}

/* Spec copy, plan and cgroup ops of a pod. */
static int spod_bind(struct spod *sp, struct qerr **err)
{
        struct rshim *rt = sp->rt;
        if (!sp->pod) {
                int r = load_pod(rt, sp->uid, &sp->pod, err);
                if (r < 0)
                        return r;
        }
        if (!sp->planned) {
                int r = plan_pod(sp->pod, rt->info, &sp->plan, err);
                if (r < 0)
                        return r;
                sp->planned = true;
        }
        sp->pp = (struct podcg_pod){ .m = rt->cg, .plan = &sp->plan };
        podcg_pod_ops(&sp->pp, &sp->inner);
        sp->ops = (struct pod_cgroup_ops){ .container = locked_container,
                                           .shim = locked_shim,
                                           .oom_score_adj = locked_oom,
                                           .userdata = sp };
        sp->cfg = (struct pod_runtime_config){ .root_dir = rt->root_dir,
                                               .run_dir = rt->run_dir,
                                               .log_dir = rt->log_dir,
                                               .shim_path = rt->shim_path,
                                               .node_ip = rt->host_ip,
                                               .cgroups = &sp->ops,
                                               .registry = &rt->registry };
        return 0;
}

/* ---- threads ---- */

/* What a dead pod left (its shim gone: a crash, a reboot of the shim): mounts, directories,
 * cgroups. */
static int clean_leftovers(struct spod *sp, struct qerr **err)
{
        struct pod_runtime *pr = NULL;
        struct pod stub = { 0 };
        const struct pod *p = sp->pod;
        if (!p) {
                /* no spec: enough of one to name the directories */
                stub.metadata.uid = sp->uid;
                stub.metadata.name = sp->uid;
                p = &stub;
        }
        /* a live shim without a spec (no state names the pod) is shut down with all it runs */
        int r = pod_runtime_adopt(p, &sp->cfg, sp->adopted_shim, &pr, err);
        if (r >= 0)
                r = pod_runtime_teardown(pr, err);
        if (r >= 0)
                r = destroy_pod_cgroups(sp->rt, sp->uid, err);
        return r;
}

static void *start_thread(void *userdata)
{
        struct spod *sp = userdata;
        _cleanup_qerr_ struct qerr *e = NULL;
        int r = 0;
        if (sp->clean_first)
                r = clean_leftovers(sp, &e);
        if (r >= 0) {
                pthread_mutex_lock(&sp->rt->cg_lock);
                r = podcg_create_pod(sp->rt->cg, &sp->plan, &e);
                pthread_mutex_unlock(&sp->rt->cg_lock);
        }
        if (r >= 0)
                r = pod_runtime_start(sp->pod, &sp->cfg, &sp->pr, &e);
        if (r < 0) {
                (void)destroy_pod_cgroups(sp->rt, sp->uid, NULL);
                sp->error = strdup(qerr_msg(e));
        }
        sp->result = r;
        (void)eventfd_write(sp->efd, 1);
        return NULL;
}

static void *stop_thread(void *userdata)
{
        struct spod *sp = userdata;
        _cleanup_qerr_ struct qerr *e = NULL;
        int r = 0;
        if (sp->pr) {
                /* a stop that fails still ends in teardown: the pod must go */
                (void)pod_runtime_stop(sp->pr, sp->grace, NULL);
                r = pod_runtime_teardown(TAKE_PTR(sp->pr), &e);
        } else
                r = clean_leftovers(sp, &e);
        int k = destroy_pod_cgroups(sp->rt, sp->uid, r < 0 ? NULL : &e);
        sp->result = r < 0 ? r : k;
        if (sp->result < 0)
                sp->error = strdup(qerr_msg(e));
        (void)eventfd_write(sp->efd, 1);
        return NULL;
}

static int begin_stop_thread(struct spod *sp);

static int on_thread_done(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct spod *sp = userdata;
        struct rshim *rt = sp->rt;
        eventfd_t v;
        (void)eventfd_read(fd, &v);
        (void)pthread_join(sp->thread, NULL);
        sp->busy = false;
        _cleanup_free_ char *uid = strdup(sp->uid);
        if (sp->state == SPOD_STOPPING) {
                /* the pod is gone (or as gone as it gets: what failed is in the logs of
                 * the next start); pod_status says ENOENT from now on */
                spod_remove(rt, sp);
        } else if (sp->result < 0) {
                sp->state = SPOD_FAILED;
                sp->failed_at = now_us();
                if (sp->stop_wanted)
                        spod_remove(rt, sp);
        } else {
                sp->state = SPOD_RUNNING;
                if (sp->stop_wanted)
                        (void)begin_stop_thread(sp);
        }
        if (uid && rt->pod_changed)
                rt->pod_changed(uid, rt->userdata);
        return 0;
}

static int run_thread(struct spod *sp, void *(*fn)(void *), struct qerr **err)
{
        if (sp->efd < 0) {
                sp->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
                if (sp->efd < 0)
                        return qerr_set_errno(err, errno, "pod '%s': eventfd", sp->uid);
                int r = sd_event_add_io(sp->rt->event, &sp->done_src, sp->efd, EPOLLIN,
                                        on_thread_done, sp);
                if (r < 0)
                        return qerr_set_errno(err, -r, "pod '%s': watch eventfd", sp->uid);
        }
        free(sp->error);
        sp->error = NULL;
        int r = pthread_create(&sp->thread, NULL, fn, sp);
        if (r != 0)
                return qerr_set_errno(err, r, "pod '%s': create thread", sp->uid);
        sp->busy = true;
        return 0;
}

static int begin_stop_thread(struct spod *sp)
{
        watches_clear(sp);
        enum spod_state before = sp->state;
        sp->state = SPOD_STOPPING;
        _cleanup_qerr_ struct qerr *e = NULL;
        if (!sp->pr && sp->pod && sp->adopted_shim > 0 && before == SPOD_ADOPTED)
                (void)spod_bind(sp, NULL);
        if (!sp->pr && sp->pod && sp->adopted_shim > 0)
                (void)pod_runtime_adopt(sp->pod, &sp->cfg, sp->adopted_shim, &sp->pr, NULL);
        int r = run_thread(sp, stop_thread, &e);
        if (r < 0)
                sp->state = before;
        return r;
}

/* ---- ops ---- */

static int shim_start_pod(void *data, const struct pod *pod, const struct pod_plan *plan,
                          struct qerr **err)
{
        struct rshim *rt = data;
        struct spod *sp = find(rt, pod->metadata.uid);
        if (sp && sp->state != SPOD_ADOPTED)
                return 0;
        bool adopted = sp != NULL;
        if (!sp && !(sp = spod_add(rt, pod->metadata.uid)))
                return qerr_set(err, ENOMEM, "pod '%s'", pod->metadata.uid);
        int r = spod_bind(sp, err);
        if (r >= 0 && adopted && sp->adopted_shim > 0) {
                /* its shim lived through the daemon's restart: take it over as it runs */
                r = pod_runtime_adopt(sp->pod, &sp->cfg, sp->adopted_shim, &sp->pr, err);
                if (r >= 0)
                        sp->state = SPOD_RUNNING;
                return r < 0 ? r : 1;
        }
        sp->clean_first = adopted;
        if (r >= 0)
                r = run_thread(sp, start_thread, err);
        if (r < 0) {
                spod_remove(rt, sp);
                return r;
        }
        sp->state = SPOD_STARTING;
        return 0;
}

static const struct container *spec_container(const struct pod *p, const char *name)
{
        for (size_t i = 0; i < p->spec.n_init_containers; i++)
                if (strcmp(p->spec.init_containers[i].name, name) == 0)
                        return &p->spec.init_containers[i];
        for (size_t i = 0; i < p->spec.n_containers; i++)
                if (strcmp(p->spec.containers[i].name, name) == 0)
                        return &p->spec.containers[i];
        return NULL;
}

struct shim_entry {
        char name[128];
        unsigned attempt;
        bool exited;
        int value; /* exit code or pid */
};

/* The shim's "status" reply: "shim:PID pause:PID name:attempt:running|exited:pid|code ...". */
static int shim_status(const struct spod *sp, pid_t *ret_shim, struct shim_entry **ret,
                       size_t *ret_n, struct qerr **err)
{
        _cleanup_free_ char *dir = NULL, *reply = NULL;
        if (asprintf(&dir, "%s/pods/%s", sp->rt->run_dir, sp->uid) < 0)
                return qerr_set(err, ENOMEM, "status");
        int r = shim_request(dir, "status", STATUS_TIMEOUT_MS, &reply, err);
        if (r < 0)
                return r;
        struct shim_entry *v = calloc(strlen(reply) / 8 + 1, sizeof(*v));
        size_t n = 0;
        if (!v)
                return qerr_set(err, ENOMEM, "status");
        char *save = NULL;
        for (char *t = strtok_r(reply, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
                char state[16];
                struct shim_entry x = { 0 };
                if (strncmp(t, "shim:", 5) == 0 && ret_shim)
                        *ret_shim = (pid_t)atoi(t + 5);
                if (sscanf(t, "%127[^:]:%u:%15[^:]:%d", x.name, &x.attempt, state, &x.value) != 4)
                        continue;
                x.exited = strcmp(state, "exited") == 0;
                v[n++] = x;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

static const struct shim_entry *entry_of(const struct shim_entry *v, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i].name, name) == 0)
                        return &v[i];
        return NULL;
}

static void arm_watch(struct spod *sp, const char *name, bool renew);

static int shim_restart_container(void *data, const struct pod *pod, const struct pod_plan *plan,
                                  const char *name, struct qerr **err)
{
        struct rshim *rt = data;
        struct spod *sp = find(rt, pod->metadata.uid);
        if (!sp || sp->state != SPOD_RUNNING || !sp->pr || sp->busy)
                return qerr_set(err, EAGAIN, "pod '%s' is not running", pod->metadata.uid);
        const struct container *c = spec_container(sp->pod, name);
        if (!c)
                return qerr_set(err, ENOENT, "pod '%s' has no container '%s'", sp->uid, name);
        _cleanup_free_ struct shim_entry *v = NULL;
        size_t n = 0;
        int r = shim_status(sp, NULL, &v, &n, err);
        if (r < 0)
                return r;
        const struct shim_entry *x = entry_of(v, n, name);
        if (x && !x->exited)
                return 0; /* running already */
        r = pod_runtime_start_container(sp->pr, c, x ? x->attempt + 1 : 0, NULL, err);
        if (r >= 0)
                arm_watch(sp, name, true);
        return r;
}

static int shim_stop_pod(void *data, const char *uid, int64_t grace_seconds, struct qerr **err)
{
        struct rshim *rt = data;
        struct spod *sp = find(rt, uid);
        if (!sp || sp->state == SPOD_STOPPING)
                return 0;
        sp->grace = grace_seconds;
        if (sp->busy) {
                sp->stop_wanted = true; /* after the start */
                return 0;
        }
        if (sp->state == SPOD_FAILED && !sp->pr) {
                spod_remove(rt, sp);
                return 0;
        }
        return begin_stop_thread(sp);
}

static int on_watch(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct watch *w = userdata;
        struct spod *sp = w->sp;
        sd_event_source_disable_unref(TAKE_PTR(w->src));
        close(w->fd);
        w->fd = -1;
        if (sp->rt->pod_changed)
                sp->rt->pod_changed(sp->uid, sp->rt->userdata);
        return 0;
}

/* Sends a "wait" for one container (again, when `renew`: a new run of it). The shim answers
 * at once for a container that exited already, so a run that ends before anyone looks still
 * wakes the node. */
static void arm_watch(struct spod *sp, const char *name, bool renew)
{
        struct watch *w = NULL;
        for (size_t k = 0; k < sp->n_watches; k++)
                if (strcmp(sp->watches[k].name, name) == 0)
                        w = &sp->watches[k];
        if (w && w->fd >= 0) {
                if (!renew)
                        return;
                sd_event_source_disable_unref(TAKE_PTR(w->src));
                close(w->fd);
                w->fd = -1;
        }
        size_t max = sp->pod->spec.n_containers + sp->pod->spec.n_init_containers;
        /* watches never move once added: on_watch holds their address */
        if (!sp->watches && !(sp->watches = calloc(max + 1, sizeof(*sp->watches))))
                return;
        if (!w) {
                if (sp->n_watches >= max)
                        return;
                w = &sp->watches[sp->n_watches++];
                *w = (struct watch){ .name = strdup(name), .fd = -1, .sp = sp };
        }
        _cleanup_free_ char *req = NULL;
        if (!w->name || asprintf(&req, "wait %s", name) < 0)
                return;
        w->fd = shim_send(sp->pr->run_pod_dir, req, NULL);
        if (w->fd >= 0 &&
            sd_event_add_io(sp->rt->event, &w->src, w->fd, EPOLLIN, on_watch, w) < 0) {
                close(w->fd);
                w->fd = -1;
        }
}

/* A "wait" request in flight for each running container: its exit wakes the node. */
static void watch_running(struct spod *sp, const struct shim_entry *v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (!v[i].exited)
                        arm_watch(sp, v[i].name, false);
}

static int64_t spec_mtime_us(const struct spod *sp, const char *name, unsigned attempt)
{
        _cleanup_free_ char *p = NULL;
        struct stat st;
        if (asprintf(&p, "%s/pods/%s/containers/%s.%u.spec", sp->rt->run_dir, sp->uid, name,
                     attempt) < 0 ||
            stat(p, &st) < 0)
                return 0;
        return ts_us(&st.st_mtim);
}

static int exit_of(const struct spod *sp, const char *name, unsigned attempt, int code,
                   struct runtime_exit *ret)
{
        _cleanup_free_ char *dir = NULL;
        struct exit_record rec = { 0 };
        if (asprintf(&dir, "%s/pods/%s/exits", sp->rt->run_dir, sp->uid) < 0)
                return -ENOMEM;
        bool have = exit_record_read(dir, name, attempt, &rec, NULL) >= 0;
        *ret = (struct runtime_exit){
                .exit_code = have ? rec.exit_code : code,
                .signal = have ? rec.signal : 0,
                .oom_killed = have && rec.oom_killed,
                .started_at = have ? ts_us(&rec.started_at) : spec_mtime_us(sp, name, attempt),
                .finished_at = have ? ts_us(&rec.finished_at) : now_us(),
        };
        return asprintf(&ret->id, "%s-%s-%u", sp->uid, name, attempt) < 0 ? -ENOMEM : 0;
}

static int fill_container(const struct spod *sp, const struct container *c,
                          const struct shim_entry *x, struct runtime_container *rc)
{
        *rc = (struct runtime_container){ .name = strdup(c->name),
                                          .image = c->image ? strdup(c->image) : NULL,
                                          .image_id = c->image ? strdup(c->image) : NULL };
        if (!rc->name || asprintf(&rc->id, "%s-%s-%u", sp->uid, c->name, x->attempt) < 0)
                return -ENOMEM;
        rc->restart_count = x->attempt;
        if (x->exited) {
                rc->state = RUNTIME_CONTAINER_EXITED;
                if (exit_of(sp, c->name, x->attempt, x->value, &rc->exit) < 0)
                        return -ENOMEM;
        } else {
                rc->state = RUNTIME_CONTAINER_RUNNING;
                rc->started_at = spec_mtime_us(sp, c->name, x->attempt);
        }
        if (x->attempt > 0) {
                rc->has_previous = true;
                if (exit_of(sp, c->name, x->attempt - 1, 0, &rc->previous) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* Whether a start error names the container ("container 'NAME': "). */
static bool error_names(const char *msg, const char *name)
{
        _cleanup_free_ char *needle = NULL;
        return msg && asprintf(&needle, "container '%s': ", name) >= 0 && strstr(msg, needle);
}

/* The kubelet's reason for a container of a pod whose start failed: the one the error carries
 * (ErrImagePull, ...) for the container it names, or for all when it names none; otherwise
 * RunContainerError, since none of the pod's containers runs. */
static const char *failed_reason(const struct spod *sp, const struct pod_spec *s, const char *name)
{
        const char *why = pod_runtime_error_reason(sp->error);
        if (!why)
                return "RunContainerError";
        if (error_names(sp->error, name))
                return why;
        for (size_t i = 0; i < pod_spec_n_containers(s); i++) {
                const struct container *c = pod_spec_container(s, i);
                if (error_names(sp->error, c->name))
                        return "RunContainerError";
        }
        return why;
}

static int failed_status(struct spod *sp, struct runtime_pod_status *ret, struct qerr **err)
{
        const struct pod_spec *s = &sp->pod->spec;
        struct runtime_pod_status st = { 0 };
        size_t n = s->n_init_containers + s->n_containers;
        st.containers = calloc(n + 1, sizeof(*st.containers));
        if (!st.containers)
                return qerr_set(err, ENOMEM, "status");
        for (size_t i = 0; i < n; i++) {
                const struct container *c = pod_spec_container(s, i);
                st.containers[i] = (struct runtime_container){
                        .name = strdup(c->name),
                        .state = RUNTIME_CONTAINER_CREATED,
                        .error_reason = strdup(failed_reason(sp, s, c->name)),
                        .error_message = strdup(sp->error ? sp->error : "start failed"),
                };
                st.n_containers = i + 1;
        }
        *ret = st;
        return 0;
}

static int running_status(struct spod *sp, struct runtime_pod_status *ret, struct qerr **err)
{
        _cleanup_free_ struct shim_entry *v = NULL;
        size_t n = 0;
        struct runtime_pod_status st = { 0 };
        _cleanup_qerr_ struct qerr *e = NULL;
        if (shim_status(sp, NULL, &v, &n, &e) < 0) {
                /* the shim is gone: what ran in it is lost */
                st.message = strdup("the pod's shim does not answer");
                *ret = st;
                return 0;
        }
        st.sandbox_ready = true;
        if (sp->pod->spec.host_network && sp->rt->host_ip)
                st.pod_ip = strdup(sp->rt->host_ip);
        st.containers = calloc(n + 1, sizeof(*st.containers));
        if (!st.containers)
                return qerr_set(err, ENOMEM, "status");
        for (size_t i = 0; i < n; i++) {
                const struct container *c = spec_container(sp->pod, v[i].name);
                if (!c)
                        continue;
                if (fill_container(sp, c, &v[i], &st.containers[st.n_containers++]) < 0) {
                        runtime_pod_status_done(&st);
                        return qerr_set(err, ENOMEM, "status");
                }
        }
        if (sp->pr && !sp->busy)
                watch_running(sp, v, n);
        *ret = st;
        return 0;
}

static int shim_pod_status(void *data, const char *uid, struct runtime_pod_status *ret,
                           struct qerr **err)
{
        struct rshim *rt = data;
        struct spod *sp = find(rt, uid);
        if (!sp || sp->state == SPOD_ADOPTED)
                return -ENOENT;
        if (sp->state == SPOD_FAILED) {
                if (now_us() - sp->failed_at >= FAILED_RETRY_USEC) {
                        /* forgotten: the node starts the pod again */
                        spod_remove(rt, sp);
                        return -ENOENT;
                }
                return failed_status(sp, ret, err);
        }
        if (sp->state == SPOD_STARTING || !sp->pod) {
                *ret = (struct runtime_pod_status){ 0 };
                return 0;
        }
        return running_status(sp, ret, err);
}

static int shim_list_running(void *data, char ***ret_uids, struct qerr **err)
{
        struct rshim *rt = data;
        size_t n = 0;
        char **l = calloc(rt->n_pods + 1, sizeof(char *));
        if (!l)
                return qerr_set(err, ENOMEM, "list pods");
        for (size_t i = 0; i < rt->n_pods; i++)
                if (!(l[n++] = strdup(rt->pods[i]->uid))) {
                        strv_free(l);
                        return qerr_set(err, ENOMEM, "list pods");
                }
        *ret_uids = l;
        return 0;
}

static int shim_update_tiers(void *data, const struct tiers_plan *tiers, struct qerr **err)
{
        struct rshim *rt = data;
        pthread_mutex_lock(&rt->cg_lock);
        int r = podcg_apply_tiers(rt->cg, tiers, err);
        pthread_mutex_unlock(&rt->cg_lock);
        return r;
}

static void shim_free(void *data)
{
        struct rshim *rt = data;
        /* The pods keep running; a start or stop in flight is waited for. */
        for (size_t i = 0; i < rt->n_pods; i++)
                spod_free(rt->pods[i]);
        free(rt->pods);
        cg_manager_free(rt->cg);
        pthread_mutex_destroy(&rt->cg_lock);
        free(rt->root_dir);
        free(rt->run_dir);
        free(rt->log_dir);
        free(rt->shim_path);
        free(rt->host_ip);
        free(rt);
}

static const struct pod_runtime_ops shim_ops = {
        .name = "shim",
        .start_pod = shim_start_pod,
        .restart_container = shim_restart_container,
        .stop_pod = shim_stop_pod,
        .pod_status = shim_pod_status,
        .list_running = shim_list_running,
        .update_tiers = shim_update_tiers,
        .free = shim_free,
};

/* Pods an earlier daemon started: a directory under <run>/pods per pod, with the shim's
 * socket while it lives. */
static int scan_run_dir(struct rshim *rt, struct qerr **err)
{
        _cleanup_free_ char *pods = path_join(rt->run_dir, "pods");
        if (!pods)
                return qerr_set(err, ENOMEM, "scan pods");
        DIR *d = opendir(pods);
        if (!d)
                return errno == ENOENT ? 0 : qerr_set_errno(err, errno, "open '%s'", pods);
        int r = 0;
        for (struct dirent *de; r >= 0 && (de = readdir(d));) {
                if (de->d_name[0] == '.' || !state_uid_is_safe(de->d_name))
                        continue;
                struct spod *sp = spod_add(rt, de->d_name);
                if (!sp) {
                        r = qerr_set(err, ENOMEM, "scan pods");
                        break;
                }
                sp->state = SPOD_ADOPTED;
                _cleanup_free_ struct shim_entry *v = NULL;
                size_t n = 0;
                pid_t shim = 0;
                if (shim_status(sp, &shim, &v, &n, NULL) >= 0)
                        sp->adopted_shim = shim;
                /* config for leftovers' clean-up of a pod no state names */
                sp->cfg = (struct pod_runtime_config){ .root_dir = rt->root_dir,
                                                       .run_dir = rt->run_dir,
                                                       .log_dir = rt->log_dir,
                                                       .shim_path = rt->shim_path };
        }
        closedir(d);
        return r;
}

int runtime_shim_new(const struct pod_runtime_env *env, struct node_runtime **ret,
                     struct qerr **err)
{
        struct rshim *rt = calloc(1, sizeof(*rt));
        struct node_runtime *p = calloc(1, sizeof(*p));
        if (!rt || !p) {
                free(rt);
                free(p);
                return qerr_set(err, ENOMEM, "create the runtime");
        }
        pthread_mutex_init(&rt->cg_lock, NULL);
        p->ops = &shim_ops;
        p->data = rt;
        rt->event = env->event;
        rt->info = env->info;
        rt->registry = (struct registry_opts){ .insecure_registries = env->insecure_registries };
        rt->mopts = env->manifest;
        rt->pod_changed = env->pod_changed;
        rt->userdata = env->userdata;
        rt->root_dir = strdup(env->root_dir);
        rt->run_dir = strdup(env->run_dir);
        rt->log_dir = strdup(env->log_dir ? env->log_dir : "/var/log/pods");
        rt->shim_path = env->shim_path ? strdup(env->shim_path) : shim_default_path();
        rt->host_ip = env->host_ip ? strdup(env->host_ip) : NULL;
        int r = 0;
        if (!rt->root_dir || !rt->run_dir || !rt->log_dir || !rt->shim_path ||
            (env->host_ip && !rt->host_ip))
                r = qerr_set(err, ENOMEM, "create the runtime");
        if (r >= 0 && (!rt->info || !rt->mopts))
                r = qerr_set(err, EINVAL, "the runtime needs the node's info and options");
        if (r >= 0)
                r = cg_manager_new(cgroup_driver_to_string(rt->info->driver), rt->info->cgroup_root,
                                   &rt->cg, err);
        if (r >= 0)
                r = scan_run_dir(rt, err);
        if (r < 0) {
                node_runtime_free(p);
                return r;
        }
        *ret = p;
        return 0;
}
