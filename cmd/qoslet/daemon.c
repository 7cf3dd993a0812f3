/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/file.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "api/quantity.h"
#include "basic/log.h"
#include "config/config.h"
#include "image/fsutil.h"
#include "node/node.h"
#include "node/state.h"
#include "qoslet.h"
#include "server/server.h"

#define DEFAULT_ROOT_DIR "/var/lib/qoslet"
#define DEFAULT_RUN_DIR "/run/qoslet"
#define DEFAULT_READ_ONLY_PORT 10255
#define DEFAULT_CHECK_FREQUENCY_S 20

struct args {
        const char *config, *runtime, *address, *node_ip;
        const char *manifest_path, *manifest_url, *node_name, *root_dir, *run_dir;
        const char *log_dir, *shim;
        const char *cgroup_driver, *cgroup_root, *pod_pids_limit;
        const char *system_reserved, *kube_reserved, *read_only_port;
        const char *file_check_frequency, *http_check_frequency;
        char **url_headers; /* NULL-terminated, owned */
        char **insecure_registries; /* owned */
        bool strict, debug;
};

static void args_done(struct args *a)
{
        strv_free(a->url_headers);
        strv_free(a->insecure_registries);
}

static void help(void)
{
        printf("usage: qoslet [OPTIONS]\n\n"
               "The qoslet node daemon: watches pod manifests (a directory, a URL), keeps the\n"
               "pods they declare running, and serves their status.\n\n"
               "  --runtime NAME               shim (default): run pods; none: plan only,\n"
               "                               create nothing (a dry run)\n"
               "  --pod-manifest-path PATH     manifest directory or file (staticPodPath)\n"
               "  --manifest-url URL           manifest URL, polled (staticPodURL)\n"
               "  --manifest-url-header 'K: V' header for the URL, repeatable\n"
               "  --node-name NAME             node name (default: the host name)\n"
               "  --node-ip IP                 status.hostIP (default: first non-loopback IPv4)\n"
               "  --root-dir DIR               state, images, volumes (default %s)\n"
               "  --run-dir DIR                socket, shim sockets (default %s)\n"
               "  --log-dir DIR                container logs (default /var/log/pods)\n"
               "  --shim PATH                  the qoslet-shim binary (default: next to qoslet)\n"
               "  --cgroup-driver D            cgroupfs (default) or systemd\n"
               "  --cgroup-root PATH           parent of the kubepods tree (default /)\n"
               "  --pod-pids-limit N           pids.max of every pod cgroup\n"
               "  --system-reserved R          e.g. cpu=500m,memory=1Gi,pid=1000\n"
               "  --kube-reserved R            as --system-reserved\n"
               "  --read-only-port N           read-only HTTP port (default %d, 0: off)\n"
               "  --address IP                 address of the read-only port (127.0.0.1)\n"
               "  --insecure-registry HOST     registry reached over plain HTTP, repeatable\n"
               "  --file-check-frequency D     re-list period when inotify is unavailable (20s)\n"
               "  --http-check-frequency D     manifest URL poll period (20s)\n"
               "  --strict                     unknown manifest fields are errors\n"
               "  --config FILE                config file (KubeletConfiguration keys)\n"
               "  -v, --verbose                debug logging\n",
               DEFAULT_ROOT_DIR, DEFAULT_RUN_DIR, DEFAULT_READ_ONLY_PORT);
}

static int strv_push(char ***l, const char *s)
{
        size_t n = 0;
        STRV_FOREACH (i, *l)
                n++;
        char **nl = realloc(*l, (n + 2) * sizeof(char *));
        if (!nl)
                return -ENOMEM;
        *l = nl;
        if (!(nl[n] = strdup(s)))
                return -ENOMEM;
        nl[n + 1] = NULL;
        return 0;
}

enum {
        ARG_RUNTIME = 256,
        ARG_PATH,
        ARG_URL,
        ARG_HEADER,
        ARG_NODE,
        ARG_NODE_IP,
        ARG_ROOT,
        ARG_RUN,
        ARG_DRIVER,
        ARG_CGROOT,
        ARG_PIDS,
        ARG_SYSRES,
        ARG_KUBERES,
        ARG_PORT,
        ARG_ADDRESS,
        ARG_INSECURE,
        ARG_FILEFREQ,
        ARG_HTTPFREQ,
        ARG_STRICT,
        ARG_CONFIG,
        ARG_LOG,
        ARG_SHIM,
};

static const struct option options[] = {
        { "runtime", required_argument, NULL, ARG_RUNTIME },
        { "pod-manifest-path", required_argument, NULL, ARG_PATH },
        { "manifest-url", required_argument, NULL, ARG_URL },
        { "manifest-url-header", required_argument, NULL, ARG_HEADER },
        { "node-name", required_argument, NULL, ARG_NODE },
        { "node-ip", required_argument, NULL, ARG_NODE_IP },
        { "root-dir", required_argument, NULL, ARG_ROOT },
        { "run-dir", required_argument, NULL, ARG_RUN },
        { "log-dir", required_argument, NULL, ARG_LOG },
        { "shim", required_argument, NULL, ARG_SHIM },
        { "cgroup-driver", required_argument, NULL, ARG_DRIVER },
        { "cgroup-root", required_argument, NULL, ARG_CGROOT },
        { "pod-pids-limit", required_argument, NULL, ARG_PIDS },
        { "system-reserved", required_argument, NULL, ARG_SYSRES },
        { "kube-reserved", required_argument, NULL, ARG_KUBERES },
        { "read-only-port", required_argument, NULL, ARG_PORT },
        { "address", required_argument, NULL, ARG_ADDRESS },
        { "insecure-registry", required_argument, NULL, ARG_INSECURE },
        { "file-check-frequency", required_argument, NULL, ARG_FILEFREQ },
        { "http-check-frequency", required_argument, NULL, ARG_HTTPFREQ },
        { "strict", no_argument, NULL, ARG_STRICT },
        { "config", required_argument, NULL, ARG_CONFIG },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        {},
};

/* Options that just take a string, and where it goes. */
static const struct {
        int id;
        size_t offset;
} string_options[] = {
        { ARG_RUNTIME, offsetof(struct args, runtime) },
        { ARG_PATH, offsetof(struct args, manifest_path) },
        { ARG_URL, offsetof(struct args, manifest_url) },
        { ARG_NODE, offsetof(struct args, node_name) },
        { ARG_NODE_IP, offsetof(struct args, node_ip) },
        { ARG_ROOT, offsetof(struct args, root_dir) },
        { ARG_RUN, offsetof(struct args, run_dir) },
        { ARG_LOG, offsetof(struct args, log_dir) },
        { ARG_SHIM, offsetof(struct args, shim) },
        { ARG_DRIVER, offsetof(struct args, cgroup_driver) },
        { ARG_CGROOT, offsetof(struct args, cgroup_root) },
        { ARG_PIDS, offsetof(struct args, pod_pids_limit) },
        { ARG_SYSRES, offsetof(struct args, system_reserved) },
        { ARG_KUBERES, offsetof(struct args, kube_reserved) },
        { ARG_PORT, offsetof(struct args, read_only_port) },
        { ARG_ADDRESS, offsetof(struct args, address) },
        { ARG_FILEFREQ, offsetof(struct args, file_check_frequency) },
        { ARG_HTTPFREQ, offsetof(struct args, http_check_frequency) },
        { ARG_CONFIG, offsetof(struct args, config) },
};

static bool set_string_option(struct args *a, int id, const char *value)
{
        for (size_t i = 0; i < ELEMENTSOF(string_options); i++)
                if (string_options[i].id == id) {
                        *(const char **)((char *)a + string_options[i].offset) = value;
                        return true;
                }
        return false;
}

/* Returns 1 for --help, 0 to go on, <0 on a usage error. */
static int parse_args(int argc, char **argv, struct args *a)
{
        for (int c; (c = getopt_long(argc, argv, "vh", options, NULL)) >= 0;) {
                if (set_string_option(a, c, optarg))
                        continue;
                switch (c) {
                case ARG_HEADER:
                        if (strv_push(&a->url_headers, optarg) < 0)
                                return -ENOMEM;
                        break;
                case ARG_INSECURE:
                        if (strv_push(&a->insecure_registries, optarg) < 0)
                                return -ENOMEM;
                        break;
                case ARG_STRICT:
                        a->strict = true;
                        break;
                case 'v':
                        a->debug = true;
                        break;
                case 'h':
                        help();
                        return 1;
                default:
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                log_error("unexpected argument '%s'", argv[optind]);
                return -EINVAL;
        }
        return 0;
}

struct settings {
        char *runtime, *manifest_path, *manifest_url, *node_name, *node_ip;
        char *root_dir, *run_dir, *address, *log_dir, *shim;
        char **url_headers; /* borrowed from args or config */
        char **insecure_registries; /* the flags', then the config file's; owned */
        int64_t read_only_port, file_check_s, http_check_s;
        struct node_info info;
        bool strict;
};

static void settings_done(struct settings *s)
{
        free(s->runtime);
        free(s->manifest_path);
        free(s->manifest_url);
        free(s->node_name);
        free(s->node_ip);
        free(s->root_dir);
        free(s->run_dir);
        free(s->address);
        free(s->log_dir);
        free(s->shim);
        strv_free(s->insecure_registries);
        node_info_done(&s->info);
}

/* flag, else the config file's value, else the default */
static char *pick(const char *flag, const char *cfg, const char *def)
{
        const char *v = flag ? flag : cfg ? cfg : def;
        return v ? strdup(v) : NULL;
}

static int parse_int(const char *flag, const char *s, int64_t min, int64_t max, int64_t *ret)
{
        char *end = NULL;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno || !end || *end || end == s || v < min || v > max) {
                log_error("%s: invalid value '%s': want a number from %lld to %lld", flag, s,
                          (long long)min, (long long)max);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

static int parse_duration_flag(const char *flag, const char *s, int64_t cfg, int64_t *ret)
{
        _cleanup_qerr_ struct qerr *e = NULL;
        *ret = cfg > 0 ? cfg : DEFAULT_CHECK_FREQUENCY_S;
        if (s && config_parse_duration(s, ret, &e) < 0) {
                log_error("%s: %s", flag, qerr_msg(e));
                return -EINVAL;
        }
        if (*ret <= 0) {
                log_error("%s: the period must be positive", flag);
                return -EINVAL;
        }
        return 0;
}

static char *default_node_name(void)
{
        char host[256] = "";
        if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
                return strdup("localhost");
        for (char *p = host; *p; p++)
                *p = (char)tolower((unsigned char)*p);
        return strdup(host);
}

/* The first IPv4 address of an interface that is up and not loopback, as the kubelet picks
 * a node IP when none is given; 127.0.0.1 when there is none. */
static char *default_node_ip(void)
{
        struct ifaddrs *l = NULL;
        char buf[INET_ADDRSTRLEN] = "127.0.0.1";
        if (getifaddrs(&l) == 0) {
                for (struct ifaddrs *i = l; i; i = i->ifa_next)
                        if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
                            (i->ifa_flags & IFF_UP) && !(i->ifa_flags & IFF_LOOPBACK) &&
                            inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, buf,
                                      sizeof(buf)))
                                break;
                freeifaddrs(l);
        }
        return strdup(buf);
}

static int apply_reservation(const char *flag, const char *value, struct reservation r,
                             struct node_info *n)
{
        _cleanup_qerr_ struct qerr *e = NULL;
        if (value && config_parse_reservation(value, &r, &e) < 0) {
                log_error("%s: %s", flag, qerr_msg(e));
                return -EINVAL;
        }
        if (r.cpu_milli > 0)
                n->reserved_cpu_milli += r.cpu_milli;
        if (r.memory > 0)
                n->reserved_memory += (uint64_t)r.memory;
        if (r.pids > 0)
                n->reserved_pids += r.pids;
        return 0;
}

/* What the plan needs of the node, the same way `qosctl plan` reads it. */
static int setup_node_info(const struct args *a, const struct qoslet_config *cfg,
                           struct node_info *n)
{
        _cleanup_qerr_ struct qerr *e = NULL;
        if (node_info_from_host(n, &e) < 0) {
                log_error("%s", qerr_msg(e));
                return -EIO;
        }
        const char *driver = a->cgroup_driver ? a->cgroup_driver : cfg->cgroup_driver;
        if (driver) {
                int d = cgroup_driver_from_string(driver);
                if (d < 0) {
                        log_error("unknown cgroup driver '%s': use cgroupfs or systemd", driver);
                        return -EINVAL;
                }
                n->driver = d;
        }
        const char *root = a->cgroup_root ? a->cgroup_root : cfg->cgroup_root;
        if (root) {
                free(n->cgroup_root);
                if (!(n->cgroup_root = strdup(root)))
                        return -ENOMEM;
        }
        n->pod_pids_limit = cfg->pod_pids_limit;
        if (a->pod_pids_limit &&
            parse_int("--pod-pids-limit", a->pod_pids_limit, -1, INT64_MAX, &n->pod_pids_limit) < 0)
                return -EINVAL;
        if (apply_reservation("--system-reserved", a->system_reserved, cfg->system_reserved, n) <
                    0 ||
            apply_reservation("--kube-reserved", a->kube_reserved, cfg->kube_reserved, n) < 0)
                return -EINVAL;
        return 0;
}

static int resolve(const struct args *a, const struct qoslet_config *cfg, struct settings *s)
{
        s->runtime = pick(a->runtime, NULL, "shim");
        s->log_dir = pick(a->log_dir, NULL, "/var/log/pods");
        s->shim = a->shim ? strdup(a->shim) : NULL;
        s->manifest_path = pick(a->manifest_path, cfg->static_pod_path, NULL);
        s->manifest_url = pick(a->manifest_url, cfg->static_pod_url, NULL);
        s->node_name = a->node_name || cfg->node_name ? pick(a->node_name, cfg->node_name, NULL)
                                                      : default_node_name();
        s->node_ip = a->node_ip ? strdup(a->node_ip) : default_node_ip();
        s->root_dir = pick(a->root_dir, cfg->root_dir, DEFAULT_ROOT_DIR);
        s->run_dir = pick(a->run_dir, cfg->run_dir, DEFAULT_RUN_DIR);
        s->address = pick(a->address, NULL, "127.0.0.1");
        s->url_headers = a->url_headers ? a->url_headers : cfg->static_pod_url_headers;
        s->strict = a->strict;
        STRV_FOREACH (h, a->insecure_registries)
                if (strv_push(&s->insecure_registries, *h) < 0)
                        return -ENOMEM;
        STRV_FOREACH (h, cfg->insecure_registries)
                if (strv_push(&s->insecure_registries, *h) < 0)
                        return -ENOMEM;
        if (!s->node_name || !s->node_ip || !s->root_dir || !s->run_dir || !s->address ||
            !s->log_dir || (a->shim && !s->shim))
                return -ENOMEM;
        s->read_only_port = cfg->read_only_port >= 0 ? cfg->read_only_port : DEFAULT_READ_ONLY_PORT;
        if (a->read_only_port &&
            parse_int("--read-only-port", a->read_only_port, 0, 65535, &s->read_only_port) < 0)
                return -EINVAL;
        if (parse_duration_flag("--file-check-frequency", a->file_check_frequency,
                                cfg->file_check_frequency_s, &s->file_check_s) < 0 ||
            parse_duration_flag("--http-check-frequency", a->http_check_frequency,
                                cfg->http_check_frequency_s, &s->http_check_s) < 0)
                return -EINVAL;
        return setup_node_info(a, cfg, &s->info);
}

/* The runtimes this build has: the real one, and the dry run. */
static const struct {
        const char *name;
        int (*create)(const struct pod_runtime_env *env, struct node_runtime **ret,
                      struct qerr **err);
} runtimes[] = {
        { "shim", runtime_shim_new },
        { "none", runtime_none_new },
};

static int pick_runtime(const char *name, int (**ret)(const struct pod_runtime_env *,
                                                      struct node_runtime **, struct qerr **))
{
        for (size_t i = 0; name && i < ELEMENTSOF(runtimes); i++)
                if (strcmp(runtimes[i].name, name) == 0) {
                        *ret = runtimes[i].create;
                        return 0;
                }
        log_error("unknown runtime '%s': use 'shim' (runs pods) or 'none' (a dry run that plans "
                  "pods and creates nothing)",
                  name ? name : "");
        return -EINVAL;
}

struct daemon_ctx {
        sd_event *event;
        struct server *server;
        struct node *node;
        bool ready;
};

static void on_node_event(const struct node_event *e, void *userdata)
{
        const char *obj = e->object && *e->object ? e->object : "node";
        if (e->type == NODE_EVENT_WARNING)
                log_warning("%s: %s (%s)", obj, e->message, e->reason);
        else
                log_info("%s: %s (%s)", obj, e->message, e->reason);
}

static void on_publish(const char *json, void *userdata)
{
        struct daemon_ctx *d = userdata;
        if (d->server && server_set_pods(d->server, json) < 0)
                log_warning("publish pods: out of memory, ignoring");
        unsigned pods = 0, stopping = 0;
        if (d->node)
                node_counts(d->node, &pods, &stopping);
        if (!d->ready) {
                /* the first pass is done: sources read, pods handed to the runtime */
                (void)sd_notify(0, "READY=1");
                d->ready = true;
        }
        (void)sd_notifyf(0, "STATUS=%u pods, %u stopping", pods, stopping);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        log_info("got %s: stopping the daemon; pods keep running", strsignal((int)si->ssi_signo));
        (void)sd_notify(0, "STOPPING=1");
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static int setup_loop(sd_event **ret)
{
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        /* sd-event takes signals through a signalfd: they must be blocked */
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        (void)signal(SIGPIPE, SIG_IGN);
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        int r = sd_event_default(&e);
        if (r >= 0)
                r = sd_event_add_signal(e, NULL, SIGTERM, on_signal, NULL);
        if (r >= 0)
                r = sd_event_add_signal(e, NULL, SIGINT, on_signal, NULL);
        /* WATCHDOG=1 pings, when the unit sets WatchdogSec */
        if (r >= 0)
                r = sd_event_set_watchdog(e, true);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(e);
        return 0;
}

static int load_config(const char *path, struct qoslet_config *cfg)
{
        _cleanup_qerr_ struct qerr *e = NULL;
        _cleanup_strv_free_ char **warnings = NULL;
        if (!path)
                return 0;
        if (config_load(cfg, path, &warnings, &e) < 0) {
                log_error("%s", qerr_msg(e));
                return -EINVAL;
        }
        STRV_FOREACH (w, warnings)
                log_warning("%s", *w);
        return 0;
}

static int make_dirs(const struct settings *s)
{
        _cleanup_qerr_ struct qerr *e = NULL;
        if (mkdir_p(s->root_dir, 0700, &e) < 0 || mkdir_p(s->run_dir, 0700, &e) < 0) {
                log_error("%s", qerr_msg(e));
                return -EIO;
        }
        return 0;
}

static int start_server(const struct settings *s, struct daemon_ctx *d)
{
        _cleanup_free_ char *sock = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        if (asprintf(&sock, "%s/qoslet.sock", s->run_dir) < 0)
                return -ENOMEM;
        struct server_options so = {
                .socket_path = sock,
                .tcp_address = s->address,
                .tcp_port = (int)s->read_only_port,
        };
        if (server_new(&so, &d->server, &e) < 0) {
                log_error("%s", qerr_msg(e));
                return -EIO;
        }
        if (s->read_only_port)
                log_info("serving on '%s' and %s:%d (read-only)", sock, s->address,
                         (int)s->read_only_port);
        else
                log_info("serving on '%s'", sock);
        return 0;
}

static int start_node(const struct settings *s, struct daemon_ctx *d,
                      int (*runtime_new)(const struct pod_runtime_env *, struct node_runtime **,
                                         struct qerr **))
{
        struct node_options o = {
                .node_name = s->node_name,
                .root_dir = s->root_dir,
                .run_dir = s->run_dir,
                .log_dir = s->log_dir,
                .shim_path = s->shim,
                .host_ip = s->node_ip,
                .insecure_registries = s->insecure_registries,
                .info = &s->info,
                .manifest_path = s->manifest_path,
                .file_check_frequency_usec = (uint64_t)s->file_check_s * 1000000,
                .manifest_url = s->manifest_url,
                .manifest_url_headers = s->url_headers,
                .http_check_frequency_usec = (uint64_t)s->http_check_s * 1000000,
                .strict = s->strict,
                .runtime_new = runtime_new,
        };
        struct node_callbacks cb = { .event = on_node_event, .publish = on_publish, .userdata = d };
        _cleanup_qerr_ struct qerr *e = NULL;
        if (node_new(d->event, &o, &cb, &d->node, &e) < 0) {
                log_error("%s", qerr_msg(e));
                return -EIO;
        }
        if (!s->manifest_path && !s->manifest_url)
                log_notice("no pod source: pass --pod-manifest-path or --manifest-url");
        return 0;
}

static int run(const struct settings *s, int (*runtime_new)(const struct pod_runtime_env *,
                                                            struct node_runtime **, struct qerr **))
{
        if (make_dirs(s) < 0)
                return 1;
        _cleanup_close_ int lock = -1;
        _cleanup_qerr_ struct qerr *lock_err = NULL;
        if (root_lock_take(s->root_dir, true, &lock, &lock_err) < 0)
                return log_error("%s", qerr_msg(lock_err)), 1;
        struct daemon_ctx d = { 0 };
        int r = setup_loop(&d.event);
        if (r < 0) {
                log_error("set up the event loop: %s", strerror(-r));
                return 1;
        }
        int rc = 1;
        if (start_server(s, &d) >= 0 && start_node(s, &d, runtime_new) >= 0) {
                log_info("node '%s' up: runtime '%s', root '%s', run '%s'", s->node_name,
                         s->runtime, s->root_dir, s->run_dir);
                r = sd_event_loop(d.event);
                if (r < 0)
                        log_error("event loop: %s", strerror(-r));
                rc = r < 0 ? 1 : 0;
        }
        node_free(d.node);
        server_free(d.server);
        sd_event_unref(d.event);
        return rc;
}

int qoslet_daemon(int argc, char **argv)
{
        _cleanup_(args_done) struct args a = { 0 };
        int r = parse_args(argc, argv, &a);
        if (r != 0)
                return r > 0 ? 0 : 2;
        if (a.debug)
                log_set_max_level(LOG_LEVEL_DEBUG);
        _cleanup_(config_done) struct qoslet_config cfg;
        config_init(&cfg);
        if (load_config(a.config, &cfg) < 0)
                return 2;
        _cleanup_(settings_done) struct settings s = { 0 };
        if (resolve(&a, &cfg, &s) < 0)
                return 2;
        int (*runtime_new)(const struct pod_runtime_env *, struct node_runtime **, struct qerr **);
        if (pick_runtime(s.runtime, &runtime_new) < 0)
                return 2;
        return run(&s, runtime_new);
}
