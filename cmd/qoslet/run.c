/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "basic/log.h"
#include "cgroups/cgroups.h"
#include "config/config.h"
#include "manifest/manifest.h"
#include "ns/paths.h"
#include "qos/plan.h"
#include "qoslet.h"
#include "runtime/podcg.h"
#include "runtime/podrt.h"
#include "runtime/shimclient.h"

/* The kubelet's CrashLoopBackOff: first restart at once, then 10 s doubling to 300 s. */
#define BACKOFF_INITIAL_S 10
#define BACKOFF_MAX_S 300

struct run_args {
        const char *root_dir, *run_dir, *log_dir, *driver, *cgroup_root, *node_name, *config;
        const char *shim;
        bool strict;
        const char *manifest;
        char **insecure_registries; /* the flags', then the config file's */
        size_t n_insecure;
};

struct watched {
        const struct container *c;
        bool sidecar;
        unsigned attempt;
        int fd; /* a "wait" request in flight; -1 when none */
        int64_t restart_at; /* CLOCK_MONOTONIC ms; -1 when no restart is due */
        bool done;
        int last_code;
};

static void run_help(void)
{
        printf("usage: qoslet run [OPTIONS] POD.yaml\n\n"
               "Runs one pod in the foreground until it ends or is interrupted (Ctrl-C), then\n"
               "stops its containers and removes what it made (logs stay).\n\n"
               "      --root-dir DIR       state, emptyDir volumes (default /var/lib/qoslet)\n"
               "      --run-dir DIR        shim sockets, exit records (default /run/qoslet)\n"
               "      --log-dir DIR        container logs (default /var/log/pods)\n"
               "      --cgroup-driver D    cgroupfs (default) or systemd\n"
               "      --cgroup-root PATH   parent of the kubepods tree (default /)\n"
               "      --node-name N        node name (default: this host's name)\n"
               "      --config FILE        config file (KubeletConfiguration keys)\n"
               "      --strict             unknown manifest fields are errors\n"
               "      --shim PATH          the qoslet-shim binary (default: next to qoslet)\n"
               "      --insecure-registry HOST  pull from HOST[:PORT] over plain HTTP\n"
               "                           (repeatable; adds to the config's list)\n");
}

static int add_insecure(struct run_args *a, const char *host)
{
        char **v = realloc(a->insecure_registries, (a->n_insecure + 2) * sizeof(char *));
        if (!v)
                return -ENOMEM;
        a->insecure_registries = v;
        v[a->n_insecure++] = (char *)host;
        v[a->n_insecure] = NULL;
        return 0;
}

static int parse_run_args(int argc, char **argv, struct run_args *a)
{
        enum {
                O_ROOT = 256,
                O_RUN,
                O_LOG,
                O_DRIVER,
                O_CGROOT,
                O_NODE,
                O_CONFIG,
                O_STRICT,
                O_SHIM,
                O_INSECURE
        };
        static const struct option opts[] = {
                { "root-dir", required_argument, NULL, O_ROOT },
                { "run-dir", required_argument, NULL, O_RUN },
                { "log-dir", required_argument, NULL, O_LOG },
                { "cgroup-driver", required_argument, NULL, O_DRIVER },
                { "cgroup-root", required_argument, NULL, O_CGROOT },
                { "node-name", required_argument, NULL, O_NODE },
                { "config", required_argument, NULL, O_CONFIG },
                { "strict", no_argument, NULL, O_STRICT },
                { "shim", required_argument, NULL, O_SHIM },
                { "insecure-registry", required_argument, NULL, O_INSECURE },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char **targets[] = {
                [O_ROOT - O_ROOT] = &a->root_dir,      [O_RUN - O_ROOT] = &a->run_dir,
                [O_LOG - O_ROOT] = &a->log_dir,        [O_DRIVER - O_ROOT] = &a->driver,
                [O_CGROOT - O_ROOT] = &a->cgroup_root, [O_NODE - O_ROOT] = &a->node_name,
                [O_CONFIG - O_ROOT] = &a->config
        };
        for (int o; (o = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
                if (o == 'h') {
                        run_help();
                        exit(0);
                } else if (o == O_STRICT)
                        a->strict = true;
                else if (o == O_SHIM)
                        a->shim = optarg;
                else if (o == O_INSECURE) {
                        if (add_insecure(a, optarg) < 0)
                                return -ENOMEM;
                } else if (o >= O_ROOT && o <= O_CONFIG)
                        *targets[o - O_ROOT] = optarg;
                else
                        return -EINVAL;
        }
        if (optind != argc - 1)
                return -EINVAL;
        a->manifest = argv[optind];
        return 0;
}

static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct pod *load_pod(const struct run_args *a, const char *node_name, struct qerr **err)
{
        struct manifest_options mo = { .node_name = node_name, .strict = a->strict };
        _cleanup_(diag_list_done) struct diag_list diags = { 0 };
        struct pod_list pods = { 0 };
        int r = manifest_load_file(a->manifest, &mo, &pods, &diags);
        for (size_t i = 0; i < diags.n; i++) {
                _cleanup_free_ char *m = diag_format(&diags.items[i]);
                log_msg(diags.items[i].severity == DIAG_ERROR     ? LOG_LEVEL_ERROR
                        : diags.items[i].severity == DIAG_WARNING ? LOG_LEVEL_WARNING
                                                                  : LOG_LEVEL_NOTICE,
                        "%s", m ? m : "");
        }
        if (r < 0) {
                qerr_set(err, -r, "'%s' is not a pod qoslet can run", a->manifest);
                return NULL;
        }
        if (pods.n != 1) {
                qerr_set(err, EINVAL, "'%s' holds %zu pods; 'qoslet run' runs exactly one",
                         a->manifest, pods.n);
                pod_list_done(&pods);
                return NULL;
        }
        struct pod *p = TAKE_PTR(pods.pods[0]);
        pod_list_done(&pods);
        return p;
}

static int watch_send(struct pod_runtime *pr, struct watched *w, struct qerr **err)
{
        _cleanup_free_ char *req = NULL;
        if (asprintf(&req, "wait %s", w->c->name) < 0)
                return qerr_set(err, ENOMEM, "wait");
        w->fd = shim_send(pr->run_pod_dir, req, err);
        return w->fd < 0 ? w->fd : 0;
}

static bool should_restart(const struct pod *p, const struct watched *w)
{
        if (w->sidecar)
                return true;
        switch (p->spec.restart_policy) {
        case RESTART_POLICY_NEVER:
                return false;
        case RESTART_POLICY_ON_FAILURE:
                return w->last_code != 0;
        default:
                return true;
        }
}

static void on_exit_watched(struct pod_runtime *pr, struct watched *w)
{
        _cleanup_free_ char *reply = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        int r = shim_recv(w->fd, 1000, &reply, &e);
        close(w->fd);
        w->fd = -1;
        w->last_code = r < 0 ? 255 : atoi(reply);
        if (r < 0)
                log_warning("container '%s': %s", w->c->name, qerr_msg(e));
        if (!should_restart(pr->pod, w)) {
                log_info("container '%s' exited with %d", w->c->name, w->last_code);
                w->done = true;
                return;
        }
        w->attempt++;
        int64_t delay = 0;
        if (w->attempt > 1)
                delay = MIN((int64_t)BACKOFF_INITIAL_S << MIN(w->attempt - 2, 16u), BACKOFF_MAX_S);
        log_info("container '%s' exited with %d; restart %u in %lld s", w->c->name, w->last_code,
                 w->attempt, (long long)delay);
        w->restart_at = now_ms() + delay * 1000;
}

static void restart_due(struct pod_runtime *pr, struct watched *w)
{
        _cleanup_qerr_ struct qerr *e = NULL;
        w->restart_at = -1;
        if (pod_runtime_start_container(pr, w->c, w->attempt, NULL, &e) < 0 ||
            watch_send(pr, w, &e) < 0) {
                log_error("%s", qerr_msg(e));
                w->last_code = 128;
                w->attempt++;
                w->restart_at = now_ms() + BACKOFF_MAX_S * 1000;
        }
}

/* Waits for the pod to end by its restart policy, or for SIGINT/SIGTERM. Returns the exit
 * status for qoslet run: 0 when every container ended with 0 (or on a signal). */
static int supervise(struct pod_runtime *pr, struct watched *ws, size_t n, int sfd)
{
        _cleanup_free_ struct pollfd *p = calloc(n + 1, sizeof(*p));
        if (!p)
                return log_error("out of memory"), 1;
        for (;;) {
                int64_t now = now_ms(), next = -1;
                bool running = false;
                p[n] = (struct pollfd){ sfd, POLLIN, 0 };
                for (size_t i = 0; i < n; i++) {
                        p[i] = (struct pollfd){ ws[i].fd, POLLIN, 0 };
                        if (ws[i].restart_at >= 0 && (next < 0 || ws[i].restart_at < next))
                                next = ws[i].restart_at;
                        running |= !ws[i].done && !ws[i].sidecar;
                }
                if (!running)
                        break;
                int r = poll(p, n + 1, next < 0 ? -1 : (int)MAX(next - now, 0));
                if (r < 0 && errno != EINTR)
                        return log_error("poll: %m"), 1;
                if (r > 0 && p[n].revents) {
                        struct signalfd_siginfo si;
                        (void)!read(sfd, &si, sizeof(si));
                        log_info("got %s, stopping the pod", strsignal((int)si.ssi_signo));
                        return 0;
                }
                for (size_t i = 0; r > 0 && i < n; i++)
                        if (ws[i].fd >= 0 && p[i].revents)
                                on_exit_watched(pr, &ws[i]);
                for (size_t i = 0; i < n; i++)
                        if (ws[i].restart_at >= 0 && ws[i].restart_at <= now_ms())
                                restart_due(pr, &ws[i]);
        }
        for (size_t i = 0; i < n; i++)
                if (!ws[i].sidecar && ws[i].last_code != 0)
                        return 1;
        return 0;
}

static struct watched *watch_all(struct pod_runtime *pr, size_t *ret_n, struct qerr **err)
{
        const struct pod_spec *s = &pr->pod->spec;
        struct watched *ws = calloc(s->n_containers + s->n_init_containers + 1, sizeof(*ws));
        size_t n = 0;
        if (!ws) {
                qerr_set(err, ENOMEM, "watch containers");
                return NULL;
        }
        for (size_t i = 0; i < s->n_init_containers; i++)
                if (container_is_sidecar(&s->init_containers[i]))
                        ws[n++] = (struct watched){ .c = &s->init_containers[i], .sidecar = true };
        for (size_t i = 0; i < s->n_containers; i++)
                ws[n++] = (struct watched){ .c = &s->containers[i] };
        for (size_t i = 0; i < n; i++) {
                ws[i].fd = -1;
                ws[i].restart_at = -1;
        }
        for (size_t i = 0; i < n; i++)
                if (watch_send(pr, &ws[i], err) < 0) {
                        for (size_t k = 0; k < i; k++)
                                close(ws[k].fd);
                        free(ws);
                        return NULL;
                }
        *ret_n = n;
        return ws;
}

static char *default_node_name(void)
{
        char h[256] = "";
        if (gethostname(h, sizeof(h) - 1) < 0 || !*h)
                strcpy(h, "localhost");
        for (char *c = h; *c; c++)
                *c = (char)tolower((unsigned char)*c);
        return strdup(h);
}

static int blocked_signals(void)
{
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        sigprocmask(SIG_BLOCK, &set, NULL);
        return signalfd(-1, &set, SFD_CLOEXEC);
}

static int plan_for(const struct pod *p, const struct run_args *a, struct node_info *ret_node,
                    struct pod_plan *ret, struct qerr **err)
{
        struct node_info node;
        int r = node_info_from_host(&node, err);
        if (r < 0)
                return r;
        if (a->driver && (int)(node.driver = cgroup_driver_from_string(a->driver)) < 0) {
                node_info_done(&node);
                return qerr_set(err, EINVAL, "unknown cgroup driver '%s'", a->driver);
        }
        if (a->cgroup_root) {
                free(node.cgroup_root);
                node.cgroup_root = strdup(a->cgroup_root);
        }
        r = plan_pod(p, &node, ret, err);
        if (r < 0) {
                node_info_done(&node);
                return r;
        }
        *ret_node = node;
        return 0;
}

/* The tiers with the pod (n = 1) or without it (n = 0). */
static int run_tiers(struct cg_manager *m, const struct pod_plan *plan, size_t n,
                     const struct node_info *node, struct qerr **err)
{
        _cleanup_(tiers_plan_done) struct tiers_plan t = { 0 };
        int r = plan_tiers(plan, n, node, &t, err);
        if (r >= 0)
                r = podcg_apply_tiers(m, &t, err);
        return r;
}

static int start_in_cgroups(const struct pod *p, const struct pod_runtime_config *cfg,
                            struct cg_manager *m, const struct pod_plan *plan,
                            const struct node_info *node, struct pod_runtime **ret,
                            struct qerr **err)
{
        int r = run_tiers(m, plan, 1, node, err);
        if (r >= 0)
                r = podcg_create_pod(m, plan, err);
        if (r >= 0)
                r = pod_runtime_start(p, cfg, ret, err);
        if (r < 0)
                (void)podcg_destroy_pod(m, plan->cgroupfs, plan->systemd, NULL);
        return r;
}

/* After the pod: its cgroup goes (with anything left in it) and the tiers shrink back. */
static int remove_cgroups(struct cg_manager *m, const struct pod_plan *plan,
                          const struct node_info *node, struct qerr **err)
{
        int r = podcg_destroy_pod(m, plan->cgroupfs, plan->systemd, err);
        if (r >= 0)
                r = run_tiers(m, NULL, 0, node, err);
        return r;
}

static int run_pod(const struct pod *p, const struct run_args *a, struct qerr **err)
{
        _cleanup_(pod_plan_done) struct pod_plan plan = { 0 };
        _cleanup_(node_info_done) struct node_info node = { 0 };
        int r = plan_for(p, a, &node, &plan, err);
        if (r < 0)
                return r;
        _cleanup_cg_manager_ struct cg_manager *m = NULL;
        r = cg_manager_new(cgroup_driver_to_string(node.driver), node.cgroup_root, &m, err);
        if (r < 0)
                return r;
        log_info("pod '%s' (uid %s): QoS class %s, pod cgroup %s", p->metadata.name,
                 p->metadata.uid, qos_class_to_string(plan.qos),
                 node.driver == CGROUP_DRIVER_SYSTEMD ? plan.systemd : plan.cgroupfs);
        _cleanup_free_ char *shim = a->shim ? strdup(a->shim) : shim_default_path();
        struct podcg_pod pp = { .m = m, .plan = &plan };
        struct pod_cgroup_ops ops;
        podcg_pod_ops(&pp, &ops);
        struct registry_opts ro = { .insecure_registries = a->insecure_registries };
        struct pod_runtime_config cfg = { .registry = &ro,
                                          .root_dir = a->root_dir,
                                          .run_dir = a->run_dir,
                                          .log_dir = a->log_dir,
                                          .shim_path = shim,
                                          .cgroups = &ops };
        _cleanup_close_ int sfd = blocked_signals();
        struct pod_runtime *pr = NULL;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        r = start_in_cgroups(p, &cfg, m, &plan, &node, &pr, err);
        if (r < 0)
                return r;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        STRV_FOREACH (w, pr->warnings)
                log_warning("%s", *w);
        log_info("pod '%s' started in %.1f ms; logs in '%s'", p->metadata.name,
                 (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
                 pr->log_pod_dir);
        size_t n = 0;
        _cleanup_free_ struct watched *ws = watch_all(pr, &n, err);
        int status = ws ? supervise(pr, ws, n, sfd) : 1;
        for (size_t i = 0; ws && i < n; i++)
                if (ws[i].fd >= 0)
                        close(ws[i].fd);
        _cleanup_qerr_ struct qerr *e = NULL;
        if (pod_runtime_stop(pr, -1, &e) < 0)
                log_warning("stop pod '%s': %s", p->metadata.name, qerr_msg(e));
        r = pod_runtime_teardown(pr, err);
        /* Even when teardown failed: nothing of the pod may stay running in its cgroup. */
        int k = remove_cgroups(m, &plan, &node, r < 0 ? NULL : err);
        if (r < 0 || k < 0)
                return r < 0 ? r : k;
        log_info("pod '%s' removed", p->metadata.name);
        return status;
}

static void run_args_done(struct run_args *a)
{
        free(a->insecure_registries);
}

int qoslet_run(int argc, char **argv)
{
        _cleanup_(run_args_done) struct run_args a = { 0 };
        if (parse_run_args(argc, argv, &a) < 0) {
                fprintf(stderr, "usage: qoslet run [OPTIONS] POD.yaml (--help for options)\n");
                return 2;
        }
        _cleanup_(config_done) struct qoslet_config conf;
        config_init(&conf);
        _cleanup_qerr_ struct qerr *e = NULL;
        if (a.config && config_load(&conf, a.config, NULL, &e) < 0)
                return log_error("%s", qerr_msg(e)), 1;
        /* Flags override the file; the file overrides the defaults. */
        if (!a.driver)
                a.driver = conf.cgroup_driver;
        if (!a.cgroup_root)
                a.cgroup_root = conf.cgroup_root;
        if (!a.node_name)
                a.node_name = conf.node_name;
        if (!a.root_dir)
                a.root_dir = conf.root_dir ? conf.root_dir : "/var/lib/qoslet";
        if (!a.run_dir)
                a.run_dir = conf.run_dir ? conf.run_dir : "/run/qoslet";
        if (!a.log_dir)
                a.log_dir = "/var/log/pods";
        STRV_FOREACH (h, conf.insecure_registries)
                if (add_insecure(&a, *h) < 0)
                        return log_error("out of memory"), 1;
        _cleanup_free_ char *node = a.node_name ? strdup(a.node_name) : default_node_name();
        _cleanup_close_ int lock = -1;
        if (mkdir_p(a.root_dir, 0700, &e) < 0 || root_lock_take(a.root_dir, true, &lock, &e) < 0)
                return log_error("%s", qerr_msg(e)), 1;
        _cleanup_pod_ struct pod *p = load_pod(&a, node, &e);
        if (!p)
                return log_error("%s", qerr_msg(e)), 1;
        int r = run_pod(p, &a, &e);
        if (r < 0)
                return log_error("%s", qerr_msg(e)), 1;
        return r;
}
