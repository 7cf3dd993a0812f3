/* SPDX-License-Identifier: Apache-2.0 */
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/fileio.h"
#include "ns/etcfiles.h"
#include "ns/paths.h"
#include "ns/hostname.h"
#include "ns/sandbox.h"
#include "image/rootfs.h"
#include "ns/volumes.h"
#include "runtime/ctrimage.h"
#include "runtime/podrt.h"
#include "runtime/process.h"
#include "runtime/shimclient.h"

#define DEFAULT_GRACE_S 30
#define DEFAULT_TERMINATION_LOG "/dev/termination-log"

void cgroup_target_done(struct cgroup_target *t)
{
        free(t->v2_dir);
        strv_free(t->v1_procs);
        free(t->oom_events);
        *t = (struct cgroup_target){ 0 };
}

int stop_signal_from_string(const char *s)
{
        static const struct {
                const char *name;
                int sig;
        } table[] = {
                { "SIGTERM", SIGTERM }, { "SIGKILL", SIGKILL },   { "SIGINT", SIGINT },
                { "SIGQUIT", SIGQUIT }, { "SIGHUP", SIGHUP },     { "SIGUSR1", SIGUSR1 },
                { "SIGUSR2", SIGUSR2 }, { "SIGWINCH", SIGWINCH }, { "SIGSTOP", SIGSTOP },
                { "SIGABRT", SIGABRT }, { "SIGPWR", SIGPWR },
        };
        for (size_t i = 0; s && i < ELEMENTSOF(table); i++)
                if (strcmp(s, table[i].name) == 0)
                        return table[i].sig;
        return -EINVAL;
}

const char *pod_runtime_error_reason(const char *msg)
{
        static const char *const reasons[] = { "ErrImagePull", "ErrImageNeverPull",
                                               "InvalidImageName", "CreateContainerConfigError",
                                               "CreateContainerError" };
        for (const char *p = msg; p && *p; p = strstr(p, ": ") ? strstr(p, ": ") + 2 : NULL)
                for (size_t i = 0; i < ELEMENTSOF(reasons); i++) {
                        size_t n = strlen(reasons[i]);
                        if (strncmp(p, reasons[i], n) == 0 && (p[n] == ':' || p[n] == 0))
                                return reasons[i];
                }
        return NULL;
}

static void add_warning(struct pod_runtime *pr, const char *fmt, ...) _printf_(2, 3);
static void add_warning(struct pod_runtime *pr, const char *fmt, ...)
{
        va_list ap;
        char *m = NULL;
        va_start(ap, fmt);
        int r = vasprintf(&m, fmt, ap);
        va_end(ap);
        if (r < 0)
                return;
        size_t n = strv_length(pr->warnings);
        char **l = realloc(pr->warnings, (n + 2) * sizeof(char *));
        if (!l) {
                free(m);
                return;
        }
        l[n] = m;
        l[n + 1] = NULL;
        pr->warnings = l;
}

static void pod_runtime_free(struct pod_runtime *pr)
{
        if (!pr)
                return;
        free(pr->uid);
        free(pr->hostname);
        free(pr->pod_dir);
        free(pr->run_pod_dir);
        free(pr->log_pod_dir);
        free(pr->shm);
        strv_free(pr->volume_names);
        strv_free(pr->volume_sources);
        strv_free(pr->warnings);
        sec_filter_cache_free(pr->own_cache);
        free(pr);
}

void pod_runtime_forget(struct pod_runtime *pr)
{
        pod_runtime_free(pr);
}

static int pod_dirs(struct pod_runtime *pr, struct qerr **err)
{
        const struct pod *p = pr->pod;
        if (asprintf(&pr->pod_dir, "%s/pods/%s", pr->cfg.root_dir, pr->uid) < 0 ||
            asprintf(&pr->run_pod_dir, "%s/pods/%s", pr->cfg.run_dir, pr->uid) < 0 ||
            asprintf(&pr->log_pod_dir, "%s/%s_%s_%s", pr->cfg.log_dir,
                     p->metadata.namespace ? p->metadata.namespace : "default", p->metadata.name,
                     pr->uid) < 0)
                return qerr_set(err, ENOMEM, "pod directories");
        _cleanup_free_ char *specs = path_join(pr->run_pod_dir, "containers");
        if (!specs)
                return qerr_set(err, ENOMEM, "pod directories");
        const char *dirs[] = { pr->pod_dir, specs, pr->log_pod_dir };
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                int r = mkdir_p(dirs[i], 0750, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int etc_files(struct pod_runtime *pr, struct qerr **err)
{
        const struct pod_spec *s = &pr->pod->spec;
        _cleanup_free_ char *dir = path_join(pr->pod_dir, "etc");
        _cleanup_free_ char *hosts = NULL, *node_hosts = NULL;
        if (!dir)
                return qerr_set(err, ENOMEM, "pod files");
        int r = mkdir_p(dir, 0755, err);
        if (r < 0)
                return r;
        if (s->host_network) {
                if (read_full_file("/etc/hosts", 1 << 20, &node_hosts, NULL, NULL) < 0)
                        node_hosts = strdup("");
                hosts = node_hosts ? host_network_hosts_content(node_hosts, s->host_aliases,
                                                                s->n_host_aliases)
                                   : NULL;
        } else
                hosts = hosts_file_content("127.0.0.1", pr->hostname, s->host_aliases,
                                           s->n_host_aliases);
        if (!hosts)
                return qerr_set(err, ENOMEM, "hosts file");
        struct pod_etc_files f = { .hosts = hosts,
                                   .hostname = pr->hostname,
                                   .resolv_conf_source = pr->cfg.resolv_conf ? pr->cfg.resolv_conf
                                                                             : "/etc/resolv.conf" };
        if (access(f.resolv_conf_source, R_OK) < 0)
                f.resolv_conf_source = NULL;
        return pod_etc_files_write(dir, &f, err);
}

static int pod_hostname_for(struct pod_runtime *pr, struct qerr **err)
{
        if (pr->pod->spec.host_network) {
                char h[256] = "";
                if (gethostname(h, sizeof(h) - 1) < 0)
                        return qerr_set_errno(err, errno, "read node hostname");
                pr->hostname = strdup(h);
                return pr->hostname ? 0 : qerr_set(err, ENOMEM, "hostname");
        }
        return pod_hostname(pr->pod->metadata.name, pr->pod->spec.hostname, &pr->hostname, err);
}

static int prepare_volumes(struct pod_runtime *pr, struct qerr **err)
{
        const struct pod_spec *s = &pr->pod->spec;
        pr->volume_names = calloc(s->n_volumes + 1, sizeof(char *));
        pr->volume_sources = calloc(s->n_volumes + 1, sizeof(char *));
        if (!pr->volume_names || !pr->volume_sources)
                return qerr_set(err, ENOMEM, "volumes");
        for (size_t i = 0; i < s->n_volumes; i++) {
                char *src = NULL;
                int r = volume_prepare(&s->volumes[i], pr->pod_dir, &src, err);
                if (r < 0)
                        return r;
                pr->volume_sources[i] = src;
                pr->volume_names[i] = strdup(s->volumes[i].name);
                pr->n_volumes = i + 1;
                if (!pr->volume_names[i])
                        return qerr_set(err, ENOMEM, "volumes");
        }
        return 0;
}

static int pod_prepare(struct pod_runtime *pr, struct qerr **err)
{
        int r = pod_hostname_for(pr, err);
        if (r >= 0)
                r = pod_dirs(pr, err);
        if (r >= 0)
                r = etc_files(pr, err);
        if (r < 0)
                return r;
        if (pr->pod->spec.host_ipc)
                pr->shm = strdup("/dev/shm");
        else {
                pr->shm = path_join(pr->run_pod_dir, "shm");
                if (pr->shm && (r = pod_shm_mount(pr->shm, POD_SHM_SIZE, err)) < 0)
                        return r;
        }
        if (!pr->shm)
                return qerr_set(err, ENOMEM, "pod shm");
        return prepare_volumes(pr, err);
}

static int mounts_push(struct cspec *s, const char *source, const char *target, bool ro)
{
        struct ns_mount *m = realloc(s->mounts, (s->n_mounts + 1) * sizeof(*m));
        if (!m)
                return -ENOMEM;
        s->mounts = m;
        m[s->n_mounts] = (struct ns_mount){ strdup(source), strdup(target), ro };
        s->n_mounts++;
        return m[s->n_mounts - 1].source && m[s->n_mounts - 1].target ? 0 : -ENOMEM;
}

static size_t path_depth(const char *p)
{
        size_t n = 0;
        for (; *p; p++)
                if (*p == '/' && p[1] && p[1] != '/')
                        n++;
        return n;
}

/* Stable: mounts of the same depth keep the manifest's order. */
static void sort_mounts(struct ns_mount *m, size_t n)
{
        for (size_t i = 1; i < n; i++) {
                struct ns_mount x = m[i];
                size_t d = path_depth(x.target), k = i;
                for (; k > 0 && path_depth(m[k - 1].target) > d; k--)
                        m[k] = m[k - 1];
                m[k] = x;
        }
}

/* A subPath stays below its volume: no absolute path, no "..", no symlink out of it, and no
 * directory made through one (the container may have planted symlinks in the volume). */
static int subpath_source(const char *vol, const char *sub, char **ret, struct qerr **err)
{
        int r = path_resolve_beneath(vol, sub, true, ret, err);
        return r < 0 ? qerr_wrap_r(r, err, "subPath '%s' must stay inside its volume", sub) : 0;
}

static int volume_mounts(struct pod_runtime *pr, const struct container *c, struct cspec *s,
                         struct qerr **err)
{
        for (size_t i = 0; i < c->n_volume_mounts; i++) {
                const struct volume_mount *vm = &c->volume_mounts[i];
                const char *src = NULL;
                for (size_t k = 0; k < pr->n_volumes; k++)
                        if (strcmp(pr->volume_names[k], vm->name) == 0)
                                src = pr->volume_sources[k];
                if (!src)
                        return qerr_set(err, EINVAL, "container '%s': no volume '%s'", c->name,
                                        vm->name);
                _cleanup_free_ char *sub = NULL;
                if (vm->sub_path && *vm->sub_path) {
                        int r = subpath_source(src, vm->sub_path, &sub, err);
                        if (r < 0)
                                return r;
                }
                if (vm->mount_propagation && *vm->mount_propagation &&
                    strcmp(vm->mount_propagation, "None") != 0)
                        add_warning(pr, "container '%s': mountPropagation '%s' is not supported",
                                    c->name, vm->mount_propagation);
                if (mounts_push(s, sub ? sub : src, vm->mount_path, vm->read_only) < 0)
                        return qerr_set(err, ENOMEM, "mounts");
        }
        return 0;
}

static int container_mounts(struct pod_runtime *pr, const struct container *c, unsigned attempt,
                            struct cspec *s, struct qerr **err)
{
        static const char *const etc[] = { "hosts", "hostname", "resolv.conf" };
        for (size_t i = 0; i < ELEMENTSOF(etc); i++) {
                _cleanup_free_ char *src = NULL, *dst = NULL;
                if (asprintf(&src, "%s/etc/%s", pr->pod_dir, etc[i]) < 0 ||
                    asprintf(&dst, "/etc/%s", etc[i]) < 0 || mounts_push(s, src, dst, false) < 0)
                        return qerr_set(err, ENOMEM, "mounts");
        }
        /* The kubelet gives each run an empty file for the termination message. */
        _cleanup_free_ char *dir = NULL, *tlog = NULL;
        if (asprintf(&dir, "%s/containers/%s", pr->pod_dir, c->name) < 0 ||
            asprintf(&tlog, "%s/%u-termination-log", dir, attempt) < 0)
                return qerr_set(err, ENOMEM, "mounts");
        int r = mkdir_p(dir, 0750, err);
        if (r >= 0)
                r = write_file_atomic(tlog, "", 0, 0666, err);
        if (r < 0)
                return r;
        const char *tpath = c->termination_message_path && *c->termination_message_path
                                    ? c->termination_message_path
                                    : DEFAULT_TERMINATION_LOG;
        if (mounts_push(s, tlog, tpath, false) < 0)
                return qerr_set(err, ENOMEM, "mounts");
        r = volume_mounts(pr, c, s, err);
        if (r < 0)
                return r;
        /* Parents before children, whatever order the manifest lists them in. */
        sort_mounts(s->mounts, s->n_mounts);
        return 0;
}

static int container_process(struct pod_runtime *pr, const struct container *c,
                             const struct image_config *ic, struct cspec *s, struct qerr **err)
{
        struct image_process img = { 0 };
        if (ic)
                img = (struct image_process){ .entrypoint = ic->entrypoint,
                                              .cmd = ic->cmd,
                                              .env = ic->env,
                                              .working_dir = ic->working_dir };
        struct pod_env_context ctx = { .pod = pr->pod,
                                       .hostname = pr->hostname,
                                       .host_ip = pr->cfg.node_ip ? pr->cfg.node_ip : "" };
        ctx.pod_ip = pr->pod->spec.host_network ? ctx.host_ip : "";
        _cleanup_strv_free_ char **kube_env = NULL;
        int r = container_kube_env(c, &ctx, &kube_env, err);
        if (r >= 0)
                r = container_final_env(&img, pr->hostname, kube_env, &s->env, err);
        /* $(VAR) expands from the container's env of the pod spec only, as the kubelet does. */
        if (r >= 0)
                r = container_command_line(&img, c->command, c->args, kube_env, &s->argv, err);
        if (r < 0)
                return qerr_wrap(err, "container '%s'", c->name);
        const char *cwd = c->working_dir && *c->working_dir     ? c->working_dir
                          : img.working_dir && *img.working_dir ? img.working_dir
                                                                : "/";
        s->cwd = strdup(cwd);
        return s->cwd ? 0 : qerr_set(err, ENOMEM, "container '%s'", c->name);
}

/* An image's StopSignal: a name with or without "SIG", or a number. */
static int image_stop_signal(const char *v)
{
        char *end;
        long n = strtol(v, &end, 10);
        if (end != v && !*end)
                return n > 0 && n < 65 ? (int)n : -EINVAL;
        _cleanup_free_ char *name = NULL;
        if (strncmp(v, "SIG", 3) != 0 && asprintf(&name, "SIG%s", v) < 0)
                return -ENOMEM;
        return stop_signal_from_string(name ? name : v);
}

static int container_lifecycle(struct pod_runtime *pr, const struct container *c,
                               const struct image_config *ic, struct cspec *s, struct qerr **err)
{
        const struct lifecycle *l = &c->lifecycle;
        if (l->stop_signal && *l->stop_signal) {
                int sig = stop_signal_from_string(l->stop_signal);
                if (sig < 0)
                        return qerr_set(err, EINVAL, "container '%s': unknown stopSignal '%s'",
                                        c->name, l->stop_signal);
                s->stop_signal = sig;
        } else if (ic && ic->stop_signal && *ic->stop_signal) {
                int sig = image_stop_signal(ic->stop_signal);
                if (sig < 0)
                        add_warning(pr,
                                    "container '%s': image stop signal '%s' unknown, using "
                                    "SIGTERM",
                                    c->name, ic->stop_signal);
                else
                        s->stop_signal = sig;
        }
        if (l->pre_stop.kind == HANDLER_EXEC && l->pre_stop.exec.command) {
                size_t n = strv_length(l->pre_stop.exec.command);
                s->pre_stop = calloc(n + 1, sizeof(char *));
                for (size_t i = 0; s->pre_stop && i < n; i++)
                        if (!(s->pre_stop[i] = strdup(l->pre_stop.exec.command[i])))
                                return qerr_set(err, ENOMEM, "preStop");
                if (!s->pre_stop)
                        return qerr_set(err, ENOMEM, "preStop");
        } else if (l->pre_stop.kind != HANDLER_NONE)
                add_warning(pr, "container '%s': only exec preStop hooks are run", c->name);
        if (l->post_start.kind != HANDLER_NONE)
                add_warning(pr, "container '%s': postStart hooks are not run", c->name);
        return 0;
}

static int container_cgroup(struct pod_runtime *pr, const struct container *c, struct cspec *s,
                            struct qerr **err)
{
        const struct pod_cgroup_ops *ops = pr->cfg.cgroups;
        if (ops && ops->oom_score_adj &&
            ops->oom_score_adj(ops->userdata, pr->pod, c, &s->oom_score_adj) == 0)
                s->has_oom_score_adj = true;
        if (!ops || !ops->container)
                return 0;
        struct cgroup_target t = { 0 };
        int r = ops->container(ops->userdata, pr->pod, c, &t, err);
        if (r < 0)
                return qerr_wrap(err, "cgroup of container '%s'", c->name);
        s->cgroup_v2 = TAKE_PTR(t.v2_dir);
        s->cgroup_procs = TAKE_PTR(t.v1_procs);
        s->oom_events = TAKE_PTR(t.oom_events);
        return 0;
}

static void warn_unavailable_caps(struct pod_runtime *pr, const struct container *c, uint64_t caps)
{
        for (int cap = 0; cap < 64; cap++)
                if (caps & (UINT64_C(1) << cap)) {
                        const char *n = sec_cap_to_name(cap);
                        add_warning(pr, "container '%s': capability %s%s%d not held by qoslet",
                                    c->name, n ? n : "", n ? " " : "", cap);
                }
}

/* The compiled filter goes to a file next to the spec; the shim loads it as it is. */
static int container_seccomp(struct pod_runtime *pr, const struct container *c, unsigned attempt,
                             struct cspec *s, struct qerr **err)
{
        struct sec_filter_cache *cache = pr->cfg.seccomp_cache;
        if (!cache &&
            !(cache = pr->own_cache ? pr->own_cache : (pr->own_cache = sec_filter_cache_new())))
                return qerr_set(err, ENOMEM, "seccomp");
        _cleanup_free_ char *pdir = pr->cfg.seccomp_profile_dir
                                            ? strdup(pr->cfg.seccomp_profile_dir)
                                            : path_join(pr->cfg.root_dir, "seccomp");
        _cleanup_sec_filter_ struct sec_filter *f = NULL;
        if (!pdir)
                return qerr_set(err, ENOMEM, "seccomp");
        int r = sec_seccomp_compile_cached(cache, s->sec, pdir, &f, err);
        if (r < 0)
                return qerr_wrap(err, "CreateContainerError: container '%s'", c->name);
        if (!f)
                return 0;
        if (asprintf(&s->seccomp_filter, "%s/containers/%s.%u.bpf", pr->run_pod_dir, c->name,
                     attempt) < 0) {
                s->seccomp_filter = NULL;
                return qerr_set(err, ENOMEM, "seccomp");
        }
        return sec_filter_write_file(f, s->seccomp_filter, err);
}

static int container_security(struct pod_runtime *pr, const struct container *c, unsigned attempt,
                              const struct ctr_image *img, struct cspec *s, struct qerr **err)
{
        uint64_t own;
        int r = sec_own_bounding_set(&own, err);
        if (r < 0)
                return r;
        struct sec_image_user u = { .user = img->config ? img->config->user : NULL,
                                    .rootfs = img->rootfs };
        s->sec = calloc(1, sizeof(*s->sec));
        if (!s->sec)
                return qerr_set(err, ENOMEM, "container '%s'", c->name);
        r = sec_plan_for_container(pr->pod, c, &u, own, s->sec, err);
        if (r < 0) {
                free(TAKE_PTR(s->sec));
                return qerr_wrap(err, "CreateContainerConfigError");
        }
        warn_unavailable_caps(pr, c, s->sec->cap_unavailable);
        return container_seccomp(pr, c, attempt, s, err);
}

/* A fresh root filesystem per run, as the kubelet makes a new container per restart; the
 * previous runs' ones go first (their processes have exited). */
static int container_image(struct pod_runtime *pr, const struct container *c, unsigned attempt,
                           struct ctr_image *ret, struct qerr **err)
{
        _cleanup_free_ char *dir = NULL, *rootfs_dir = NULL;
        if (asprintf(&dir, "%s/containers/%s", pr->pod_dir, c->name) < 0 ||
            asprintf(&rootfs_dir, "%s/%u-rootfs", dir, attempt) < 0)
                return qerr_set(err, ENOMEM, "container '%s'", c->name);
        int r = mkdir_p(dir, 0750, err);
        if (r >= 0)
                r = ctr_image_remove_rootfs(dir, NULL, err);
        if (r >= 0)
                r = ctr_image_prepare(pr->cfg.root_dir, pr->cfg.registry, c, rootfs_dir, ret, err);
        return r < 0 ? qerr_wrap(err, "container '%s'", c->name) : 0;
}

static int container_spec_parts(struct pod_runtime *pr, const struct container *c, unsigned attempt,
                                const struct ctr_image *img, struct cspec *s, struct qerr **err)
{
        int r = container_security(pr, c, attempt, img, s, err);
        if (r >= 0)
                r = container_process(pr, c, img->config, s, err);
        if (r >= 0)
                r = container_mounts(pr, c, attempt, s, err);
        if (r >= 0)
                r = container_lifecycle(pr, c, img->config, s, err);
        if (r >= 0)
                r = container_cgroup(pr, c, s, err);
        return r;
}

int pod_runtime_container_spec(struct pod_runtime *pr, const struct container *c, unsigned attempt,
                               struct cspec *ret, struct qerr **err)
{
        struct cspec s = { .attempt = attempt,
                           .log_max_size = pr->cfg.log_max_size,
                           .log_max_files = pr->cfg.log_max_files };
        _cleanup_free_ char *logdir = path_join(pr->log_pod_dir, c->name);
        s.name = strdup(c->name);
        s.shm = strdup(pr->shm);
        if (!logdir || !s.name || !s.shm || asprintf(&s.log_path, "%s/%u.log", logdir, attempt) < 0)
                return cspec_done(&s), qerr_set(err, ENOMEM, "container '%s'", c->name);
        s.read_only_rootfs = c->security.has_read_only_root_filesystem &&
                             c->security.read_only_root_filesystem;
        struct ctr_image img = { 0 };
        int r = mkdir_p(logdir, 0755, err);
        if (r >= 0)
                r = container_image(pr, c, attempt, &img, err);
        if (r >= 0)
                r = container_spec_parts(pr, c, attempt, &img, &s, err);
        if (r < 0) {
                if (img.rootfs_dir)
                        (void)image_rootfs_remove(img.rootfs_dir, NULL);
                ctr_image_done(&img);
                cspec_done(&s);
                return r;
        }
        s.rootfs = TAKE_PTR(img.rootfs);
        ctr_image_done(&img);
        *ret = s;
        return 0;
}

int pod_runtime_start_container(struct pod_runtime *pr, const struct container *c, unsigned attempt,
                                pid_t *ret_pid, struct qerr **err)
{
        struct cspec s;
        int r = pod_runtime_container_spec(pr, c, attempt, &s, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *path = NULL, *req = NULL, *reply = NULL;
        if (asprintf(&path, "%s/containers/%s.%u.spec", pr->run_pod_dir, c->name, attempt) < 0 ||
            asprintf(&req, "start %s", path) < 0) {
                cspec_done(&s);
                return qerr_set(err, ENOMEM, "container '%s'", c->name);
        }
        r = cspec_write_file(&s, path, err);
        cspec_done(&s);
        if (r >= 0)
                r = shim_request(pr->run_pod_dir, req, 60000, &reply, err);
        if (r < 0)
                return qerr_wrap(err, "start container '%s'", c->name);
        if (ret_pid)
                *ret_pid = (pid_t)atoi(reply);
        return 0;
}

static enum pid_ns_mode pod_pid_mode(const struct pod_spec *s)
{
        if (s->host_pid)
                return PID_NS_HOST;
        return s->share_process_namespace ? PID_NS_POD : PID_NS_CONTAINER;
}

static int start_shim(struct pod_runtime *pr, struct qerr **err)
{
        const struct pod_cgroup_ops *ops = pr->cfg.cgroups;
        struct cgroup_target t = { 0 };
        _cleanup_strv_free_ char **procs = NULL;
        if (ops && ops->shim) {
                int r = ops->shim(ops->userdata, pr->pod, &t, err);
                if (r < 0)
                        return qerr_wrap(err, "cgroup of the shim");
                procs = TAKE_PTR(t.v1_procs);
                if (t.v2_dir) {
                        size_t n = strv_length(procs);
                        char **l = realloc(procs, (n + 2) * sizeof(char *));
                        if (l)
                                procs = l;
                        if (!l || !(l[n] = path_join(t.v2_dir, "cgroup.procs"))) {
                                cgroup_target_done(&t);
                                return qerr_set(err, ENOMEM, "cgroup of the shim");
                        }
                        l[n + 1] = NULL;
                }
                cgroup_target_done(&t);
        }
        const struct pod_spec *s = &pr->pod->spec;
        struct shim_options o = { .shim_path = pr->cfg.shim_path,
                                  .dir = pr->run_pod_dir,
                                  .hostname = pr->hostname,
                                  .host_network = s->host_network,
                                  .host_ipc = s->host_ipc,
                                  .pid_mode = pod_pid_mode(s),
                                  .cgroup_procs = procs };
        return shim_launch(&o, &pr->shim_pid, err);
}

static int wait_container(struct pod_runtime *pr, const char *name, int *ret_code,
                          struct qerr **err)
{
        _cleanup_free_ char *req = NULL, *reply = NULL;
        if (asprintf(&req, "wait %s", name) < 0)
                return qerr_set(err, ENOMEM, "wait");
        int r = shim_request(pr->run_pod_dir, req, 0, &reply, err);
        if (r < 0)
                return r;
        *ret_code = atoi(reply);
        return 0;
}

static int start_containers(struct pod_runtime *pr, struct qerr **err)
{
        const struct pod_spec *s = &pr->pod->spec;
        for (size_t i = 0; i < s->n_init_containers; i++) {
                const struct container *c = &s->init_containers[i];
                int code = 0;
                int r = pod_runtime_start_container(pr, c, 0, NULL, err);
                if (r >= 0 && !container_is_sidecar(c))
                        r = wait_container(pr, c->name, &code, err);
                if (r < 0)
                        return r;
                if (code != 0)
                        return qerr_set(err, EIO, "init container '%s' exited with %d", c->name,
                                        code);
        }
        for (size_t i = 0; i < s->n_containers; i++) {
                int r = pod_runtime_start_container(pr, &s->containers[i], 0, NULL, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int pod_runtime_start(const struct pod *pod, const struct pod_runtime_config *cfg,
                      struct pod_runtime **ret, struct qerr **err)
{
        if (!pod->metadata.uid || !*pod->metadata.uid || !pod->metadata.name)
                return qerr_set(err, EINVAL, "pod has no name or UID");
        struct pod_runtime *pr = calloc(1, sizeof(*pr));
        if (!pr || !(pr->uid = strdup(pod->metadata.uid))) {
                free(pr);
                return qerr_set(err, ENOMEM, "start pod");
        }
        pr->pod = pod;
        pr->cfg = *cfg;
        int r = pod_prepare(pr, err);
        if (r >= 0)
                r = start_shim(pr, err);
        if (r >= 0)
                r = start_containers(pr, err);
        if (r < 0) {
                (void)pod_runtime_teardown(pr, NULL);
                return qerr_wrap(err, "pod '%s'", pod->metadata.name);
        }
        *ret = pr;
        return 0;
}

/* Volume sources as prepare_volumes found them. A memory-backed emptyDir is already mounted:
 * its directory is asked for without the medium, so that nothing is mounted over it. */
static int adopt_volumes(struct pod_runtime *pr, struct qerr **err)
{
        const struct pod_spec *s = &pr->pod->spec;
        pr->volume_names = calloc(s->n_volumes + 1, sizeof(char *));
        pr->volume_sources = calloc(s->n_volumes + 1, sizeof(char *));
        if (!pr->volume_names || !pr->volume_sources)
                return qerr_set(err, ENOMEM, "volumes");
        for (size_t i = 0; i < s->n_volumes; i++) {
                struct volume v = s->volumes[i];
                if (v.kind == VOLUME_EMPTY_DIR)
                        v.medium = NULL;
                int r = volume_prepare(&v, pr->pod_dir, &pr->volume_sources[i], err);
                if (r < 0)
                        return r;
                pr->n_volumes = i + 1;
                if (!(pr->volume_names[i] = strdup(v.name)))
                        return qerr_set(err, ENOMEM, "volumes");
        }
        return 0;
}

int pod_runtime_adopt(const struct pod *pod, const struct pod_runtime_config *cfg, pid_t shim_pid,
                      struct pod_runtime **ret, struct qerr **err)
{
        if (!pod->metadata.uid || !*pod->metadata.uid || !pod->metadata.name)
                return qerr_set(err, EINVAL, "pod has no name or UID");
        struct pod_runtime *pr = calloc(1, sizeof(*pr));
        if (!pr || !(pr->uid = strdup(pod->metadata.uid))) {
                free(pr);
                return qerr_set(err, ENOMEM, "adopt pod");
        }
        pr->pod = pod;
        pr->cfg = *cfg;
        pr->shim_pid = shim_pid;
        int r = pod_hostname_for(pr, err);
        if (r >= 0)
                r = pod_dirs(pr, err);
        if (r >= 0 && !(pr->shm = pod->spec.host_ipc ? strdup("/dev/shm")
                                                     : path_join(pr->run_pod_dir, "shm")))
                r = qerr_set(err, ENOMEM, "pod shm");
        if (r >= 0)
                r = adopt_volumes(pr, err);
        if (r < 0) {
                pod_runtime_free(pr);
                return qerr_wrap(err, "adopt pod '%s'", pod->metadata.name);
        }
        *ret = pr;
        return 0;
}

static int stop_many(struct pod_runtime *pr, const struct container *const *cs, size_t n,
                     int64_t grace_s, struct qerr **err)
{
        int *fds = calloc(n ? n : 1, sizeof(int));
        if (!fds)
                return qerr_set(err, ENOMEM, "stop");
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *req = NULL;
                fds[i] = asprintf(&req, "stop %s %lld", cs[i]->name, (long long)grace_s) < 0
                                 ? -ENOMEM
                                 : shim_send(pr->run_pod_dir, req, NULL);
        }
        int r = 0;
        for (size_t i = 0; i < n; i++) {
                if (fds[i] < 0) {
                        r = r < 0 ? r : qerr_set(err, -fds[i], "stop '%s'", cs[i]->name);
                        continue;
                }
                _cleanup_qerr_ struct qerr *e = NULL;
                /* Never started, or already gone: nothing to stop. */
                int k = shim_recv(fds[i], (int)(grace_s * 1000 + 30000), NULL, &e);
                if (k < 0 && !(k == -EIO && strstr(qerr_msg(e), "no container")))
                        r = r < 0 ? r
                                  : qerr_set(err, -k, "stop '%s': %s", cs[i]->name, qerr_msg(e));
                close(fds[i]);
        }
        free(fds);
        return r;
}

int pod_runtime_stop(struct pod_runtime *pr, int64_t grace_s, struct qerr **err)
{
        const struct pod_spec *s = &pr->pod->spec;
        if (grace_s < 0)
                grace_s = s->has_termination_grace_period_seconds
                                  ? s->termination_grace_period_seconds
                                  : DEFAULT_GRACE_S;
        const struct container **cs = calloc(s->n_containers + 1, sizeof(*cs));
        if (!cs)
                return qerr_set(err, ENOMEM, "stop");
        for (size_t i = 0; i < s->n_containers; i++)
                cs[i] = &s->containers[i];
        int r = stop_many(pr, cs, s->n_containers, grace_s, err);
        free(cs);
        /* Sidecars go after the containers they serve, last started first. */
        for (size_t i = s->n_init_containers; r >= 0 && i > 0; i--) {
                const struct container *c = &s->init_containers[i - 1];
                if (container_is_sidecar(c))
                        r = stop_many(pr, &c, 1, grace_s, err);
        }
        return r;
}

static int remove_rootfs_all(struct pod_runtime *pr, struct qerr **err)
{
        const struct pod_spec *s = &pr->pod->spec;
        int r = 0;
        for (size_t i = 0; i < pod_spec_n_containers(s); i++) {
                const struct container *c = pod_spec_container(s, i);
                _cleanup_free_ char *dir = NULL;
                if (asprintf(&dir, "%s/containers/%s", pr->pod_dir, c->name) < 0)
                        return qerr_set(err, ENOMEM, "remove rootfs");
                int k = ctr_image_remove_rootfs(dir, NULL, err);
                r = r < 0 ? r : k;
        }
        return r;
}

int pod_runtime_teardown(struct pod_runtime *pr, struct qerr **err)
{
        int r = 0;
        if (pr->shim_pid > 0) {
                _cleanup_qerr_ struct qerr *e = NULL;
                if (shim_request(pr->run_pod_dir, "shutdown", 30000, NULL, &e) < 0)
                        add_warning(pr, "shim shutdown: %s", qerr_msg(e));
                if (wait_process_exit(pr->shim_pid, 3000) < 0)
                        (void)kill(pr->shim_pid, SIGKILL);
        }
        if (pr->pod_dir)
                r = remove_rootfs_all(pr, err);
        if (pr->shm && !pr->pod->spec.host_ipc && r >= 0)
                r = pod_shm_umount(pr->shm, err);
        if (pr->pod_dir && r >= 0)
                r = volumes_teardown(pr->pod_dir, err);
        if (pr->pod_dir && r >= 0)
                r = rm_rf(pr->pod_dir, err);
        if (pr->run_pod_dir && r >= 0)
                r = rm_rf(pr->run_pod_dir, err);
        pod_runtime_free(pr);
        return r;
}
