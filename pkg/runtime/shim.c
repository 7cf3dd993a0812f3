/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "runtime/crilog.h"
#include "runtime/cspec.h"
#include "runtime/exitrec.h"
#include "runtime/shim.h"
#include "runtime/spawn.h"

#define MAX_CLIENTS 16
#define CLIENT_LINE_MAX 1024
/* The kubelet's minimumGracePeriodInSeconds: what is left after a preStop hook. */
#define MIN_GRACE_MS 2000

enum stop_phase {
        STOP_NONE,
        STOP_PRE_STOP, /* hook running, deadline: end of the grace period */
        STOP_TERM, /* stop signal sent, deadline: SIGKILL */
        STOP_KILLED,
};

struct shim_ctr {
        struct cspec spec;
        struct sec_filter *filter; /* loaded from spec.seccomp_filter; NULL: none */
        pid_t pid;
        int pidfd;
        int out_fd, err_fd;
        struct cri_log log;
        bool exited;
        struct exit_record rec;
        uint64_t oom_before;
        enum stop_phase phase;
        int64_t grace_ms;
        int64_t stop_started, deadline; /* CLOCK_MONOTONIC ms */
        pid_t hook_pid;
};

struct client {
        int fd;
        size_t len;
        char buf[CLIENT_LINE_MAX];
        char *waiting_for; /* container name whose exit this client waits for */
        bool waiting_shutdown;
};

struct shim {
        char *dir;
        enum pid_ns_mode pid_mode;
        pid_t pause_pid;
        int pause_pidfd;
        int listen_fd, signal_fd;
        struct client clients[MAX_CLIENTS];
        struct shim_ctr **ctrs;
        size_t n_ctrs;
        bool shutting_down;
};

static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int pidfd_signal(int pidfd, int sig)
{
        return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

static struct shim_ctr *find_ctr(struct shim *s, const char *name)
{
        for (size_t i = 0; i < s->n_ctrs; i++)
                if (strcmp(s->ctrs[i]->spec.name, name) == 0)
                        return s->ctrs[i];
        return NULL;
}

static void client_reply(struct client *c, const char *fmt, ...) _printf_(2, 3);
static void client_reply(struct client *c, const char *fmt, ...)
{
        char line[CLIENT_LINE_MAX];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        if ((size_t)n > sizeof(line) - 2)
                n = sizeof(line) - 2;
        for (int i = 0; i < n; i++)
                if (line[i] == '\n')
                        line[i] = ' ';
        line[n++] = '\n';
        /* Replies are short and the socket is blocking for writes: a client that reads
         * nothing cannot hold up the shim for more than a socket buffer. */
        (void)!send(c->fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void client_close(struct client *c)
{
        if (c->fd >= 0)
                close(c->fd);
        free(c->waiting_for);
        *c = (struct client){ .fd = -1 };
}

/* Reads an "oom_kill N" counter from memory.events or memory.oom_control. */
static uint64_t read_oom_kills(const char *path)
{
        _cleanup_free_ char *buf = NULL;
        if (!path || read_full_file(path, 16384, &buf, NULL, NULL) < 0)
                return 0;
        const char *p = strstr(buf, "oom_kill ");
        return p ? strtoull(p + 9, NULL, 10) : 0;
}

/* Writes "0" (the writer itself) or a pid to each cgroup.procs file. */
static int write_procs(char *const *files, pid_t pid, struct qerr **err)
{
        char v[16];
        snprintf(v, sizeof(v), "%d", (int)pid);
        for (size_t i = 0; files && files[i]; i++) {
                int r = write_string_file(files[i], v, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int attach_cb(pid_t pid, void *userdata, struct qerr **err)
{
        return write_procs(userdata, pid, err);
}

/* Reads what is in a container's pipe now; closes it at EOF. */
static void pump(struct shim_ctr *c, int *fd, enum cri_stream stream)
{
        char buf[8192];
        for (int round = 0; *fd >= 0 && round < 16; round++) {
                ssize_t n = read(*fd, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                if (n <= 0) {
                        close(*fd);
                        *fd = -1;
                        break;
                }
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                _cleanup_qerr_ struct qerr *e = NULL;
                if (c->log.fd >= 0 && cri_log_write(&c->log, &ts, stream, buf, (size_t)n, &e) < 0)
                        log_warning("container '%s': %s", c->spec.name, qerr_msg(e));
        }
        if (c->out_fd < 0 && c->err_fd < 0 && c->exited)
                cri_log_close(&c->log);
}

/* Kills what is left in the container's cgroup (a shared pid namespace keeps a container's
 * children alive after its main process dies). */
static void kill_cgroup(const struct shim_ctr *c)
{
        if (c->spec.cgroup_v2) {
                char p[4096];
                snprintf(p, sizeof(p), "%s/cgroup.kill", c->spec.cgroup_v2);
                if (write_string_file(p, "1", NULL) == 0)
                        return;
        }
        for (size_t i = 0; c->spec.cgroup_procs && c->spec.cgroup_procs[i]; i++) {
                _cleanup_free_ char *buf = NULL;
                if (read_full_file(c->spec.cgroup_procs[i], 1 << 20, &buf, NULL, NULL) < 0)
                        continue;
                for (char *p = buf; *p;) {
                        long pid = strtol(p, &p, 10);
                        if (pid > 1 && pid != getpid())
                                (void)kill((pid_t)pid, SIGKILL);
                        p += strspn(p, "\n");
                        if (pid <= 0)
                                break;
                }
        }
}

static void reply_waiters(struct shim *s, const struct shim_ctr *c)
{
        for (size_t i = 0; i < MAX_CLIENTS; i++) {
                struct client *cl = &s->clients[i];
                if (cl->fd < 0 || !cl->waiting_for || strcmp(cl->waiting_for, c->spec.name) != 0)
                        continue;
                client_reply(cl, "ok %d", c->rec.exit_code);
                free(cl->waiting_for);
                cl->waiting_for = NULL;
        }
}

static void on_exit_ctr(struct shim *s, struct shim_ctr *c, int status)
{
        clock_gettime(CLOCK_REALTIME, &c->rec.finished_at);
        exit_record_set_status(&c->rec, status);
        c->rec.oom_killed = read_oom_kills(c->spec.oom_events) > c->oom_before;
        c->exited = true;
        c->phase = STOP_NONE;
        close(c->pidfd);
        c->pidfd = -1;
        if (c->hook_pid > 0)
                (void)kill(c->hook_pid, SIGKILL);
        /* Whatever the process wrote before it died is in the pipes now. */
        pump(c, &c->out_fd, CRI_STDOUT);
        pump(c, &c->err_fd, CRI_STDERR);
        _cleanup_qerr_ struct qerr *e = NULL;
        if (exit_record_write("exits", c->spec.name, c->spec.attempt, &c->rec, &e) < 0)
                log_error("container '%s': %s", c->spec.name, qerr_msg(e));
        log_info("container '%s' exited with %d", c->spec.name, c->rec.exit_code);
        reply_waiters(s, c);
}

static void begin_term(struct shim_ctr *c)
{
        int64_t now = now_ms();
        int64_t left = c->grace_ms - (now - c->stop_started);
        if (left < MIN_GRACE_MS)
                left = MIN_GRACE_MS;
        int sig = c->spec.stop_signal > 0 ? c->spec.stop_signal : SIGTERM;
        (void)pidfd_signal(c->pidfd, sig);
        c->phase = STOP_TERM;
        c->deadline = now + left;
}

static void on_exit_hook(struct shim_ctr *c)
{
        c->hook_pid = 0;
        if (c->phase == STOP_PRE_STOP)
                begin_term(c);
}

static void reap(struct shim *s)
{
        for (;;) {
                int st;
                pid_t p = waitpid(-1, &st, WNOHANG);
                if (p <= 0)
                        return;
                if (p == s->pause_pid) {
                        log_error("the pod's pid namespace init exited");
                        s->pause_pid = 0;
                        continue;
                }
                for (size_t i = 0; i < s->n_ctrs; i++) {
                        struct shim_ctr *c = s->ctrs[i];
                        if (!c->exited && c->pid == p)
                                on_exit_ctr(s, c, st);
                        else if (c->hook_pid == p)
                                on_exit_hook(c);
                }
        }
}

static void ctr_free(struct shim_ctr *c)
{
        if (!c)
                return;
        if (c->pidfd >= 0)
                close(c->pidfd);
        if (c->out_fd >= 0)
                close(c->out_fd);
        if (c->err_fd >= 0)
                close(c->err_fd);
        cri_log_close(&c->log);
        cspec_done(&c->spec);
        sec_filter_free(c->filter);
        free(c);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct shim_ctr *, ctr_free)

/* Launch settings shared by a container and its hooks. */
static void launch_common(struct shim *s, struct shim_ctr *c, struct container_launch *l,
                          struct spawn_cgroup *cg, int *v2fd)
{
        *cg = (struct spawn_cgroup){ .v2_fd = -1 };
        if (c->spec.cgroup_v2)
                *v2fd = cg->v2_fd = open(c->spec.cgroup_v2, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (c->spec.cgroup_procs) {
                cg->attach = attach_cb;
                cg->userdata = c->spec.cgroup_procs;
        }
        *l = (struct container_launch){ .env = c->spec.env,
                                        .cwd = c->spec.cwd,
                                        .has_oom_score_adj = c->spec.has_oom_score_adj,
                                        .oom_score_adj = c->spec.oom_score_adj,
                                        .stdout_fd = -1,
                                        .stderr_fd = -1,
                                        .pid_mode = s->pid_mode,
                                        .pod_pidfd = s->pause_pidfd,
                                        .cgroup = cg,
                                        .join_pidfd = -1,
                                        .sec = c->spec.sec,
                                        .filter = c->filter };
}

static int ctr_spawn(struct shim *s, struct shim_ctr *c, struct qerr **err)
{
        int out[2] = { -1, -1 }, errp[2] = { -1, -1 };
        if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0)
                return qerr_set_errno(err, errno, "create pipes");
        c->out_fd = out[0];
        c->err_fd = errp[0];
        (void)fcntl(out[0], F_SETFL, O_NONBLOCK);
        (void)fcntl(errp[0], F_SETFL, O_NONBLOCK);
        struct container_fs fs = { .rootfs = c->spec.rootfs,
                                   .read_only_rootfs = c->spec.read_only_rootfs,
                                   .shm = c->spec.shm,
                                   .mounts = c->spec.mounts,
                                   .n_mounts = c->spec.n_mounts,
                                   .workdir = c->spec.cwd };
        struct container_launch l;
        struct spawn_cgroup cg;
        _cleanup_close_ int v2fd = -1;
        launch_common(s, c, &l, &cg, &v2fd);
        if (c->spec.cgroup_v2 && v2fd < 0)
                return qerr_set_errno(err, errno, "open cgroup '%s'", c->spec.cgroup_v2);
        l.fs = &fs;
        l.argv = c->spec.argv;
        l.stdout_fd = out[1];
        l.stderr_fd = errp[1];
        c->oom_before = read_oom_kills(c->spec.oom_events);
        clock_gettime(CLOCK_REALTIME, &c->rec.started_at);
        int r = container_spawn(&l, &c->pid, &c->pidfd, err);
        close(out[1]);
        close(errp[1]);
        return r;
}

static void warn_oom_score_adj(const struct shim_ctr *c)
{
        char p[64];
        snprintf(p, sizeof(p), "/proc/%d/oom_score_adj", (int)c->pid);
        _cleanup_free_ char *v = NULL;
        if (c->spec.has_oom_score_adj && read_one_line_file(p, &v, NULL) == 0 &&
            atoi(v) != c->spec.oom_score_adj)
                log_warning("container '%s': the kernel kept oom_score_adj %s instead of %d",
                            c->spec.name, v, c->spec.oom_score_adj);
}

static void cmd_start(struct shim *s, struct client *cl, const char *path)
{
        _cleanup_qerr_ struct qerr *e = NULL;
        _cleanup_(ctr_freep) struct shim_ctr *c = calloc(1, sizeof(*c));
        if (!c)
                return client_reply(cl, "err out of memory");
        c->pidfd = c->out_fd = c->err_fd = c->log.fd = -1;
        if (cspec_read_file(path, &c->spec, &e) < 0 ||
            (c->spec.seccomp_filter &&
             sec_filter_read_file(c->spec.seccomp_filter, &c->filter, &e) < 0))
                return client_reply(cl, "err %s", qerr_msg(e));
        struct shim_ctr *old = find_ctr(s, c->spec.name);
        if (old && !old->exited)
                return client_reply(cl, "err container '%s' is running", c->spec.name);
        if (cri_log_open(&c->log, c->spec.log_path, (off_t)c->spec.log_max_size,
                         c->spec.log_max_files, &e) < 0 ||
            ctr_spawn(s, c, &e) < 0)
                return client_reply(cl, "err start '%s': %s", c->spec.name, qerr_msg(e));
        warn_oom_score_adj(c);
        /* The argv is not needed any more; the env and cwd are, for exec hooks. */
        strv_free(c->spec.argv);
        c->spec.argv = NULL;
        pid_t pid = c->pid;
        if (old) {
                ctr_free(old);
                for (size_t i = 0; i < s->n_ctrs; i++)
                        if (s->ctrs[i] == old)
                                s->ctrs[i] = TAKE_PTR(c);
        } else {
                struct shim_ctr **n = realloc(s->ctrs, (s->n_ctrs + 1) * sizeof(*n));
                if (!n) {
                        (void)pidfd_signal(c->pidfd, SIGKILL);
                        return client_reply(cl, "err out of memory");
                }
                s->ctrs = n;
                s->ctrs[s->n_ctrs++] = TAKE_PTR(c);
        }
        client_reply(cl, "ok %d", (int)pid);
}

static int hook_spawn(struct shim *s, struct shim_ctr *c, struct qerr **err)
{
        struct container_launch l;
        struct spawn_cgroup cg;
        _cleanup_close_ int v2fd = -1;
        launch_common(s, c, &l, &cg, &v2fd);
        l.argv = c->spec.pre_stop;
        l.join_pidfd = c->pidfd;
        _cleanup_close_ int pidfd = -1;
        return container_spawn(&l, &c->hook_pid, &pidfd, err);
}

static bool wait_for(struct client *cl, const struct shim_ctr *c)
{
        if (c->exited) {
                client_reply(cl, "ok %d", c->rec.exit_code);
                return false;
        }
        free(cl->waiting_for);
        cl->waiting_for = strdup(c->spec.name);
        if (!cl->waiting_for)
                client_reply(cl, "err out of memory");
        return cl->waiting_for != NULL;
}

static void cmd_stop(struct shim *s, struct client *cl, const char *args)
{
        char name[256];
        long long grace;
        if (sscanf(args, "%255s %lld", name, &grace) != 2 || grace < 0)
                return client_reply(cl, "err usage: stop NAME GRACE_SECONDS");
        struct shim_ctr *c = find_ctr(s, name);
        if (!c)
                return client_reply(cl, "err no container '%s'", name);
        if (!wait_for(cl, c) || c->phase != STOP_NONE)
                return;
        c->grace_ms = grace * 1000;
        c->stop_started = now_ms();
        _cleanup_qerr_ struct qerr *e = NULL;
        if (c->spec.pre_stop && hook_spawn(s, c, &e) == 0) {
                c->phase = STOP_PRE_STOP;
                c->deadline = c->stop_started + c->grace_ms;
                return;
        }
        if (e)
                log_warning("container '%s': preStop hook: %s", name, qerr_msg(e));
        begin_term(c);
}

static void cmd_kill(struct shim *s, struct client *cl, const char *args)
{
        char name[256];
        int sig;
        if (sscanf(args, "%255s %d", name, &sig) != 2 || sig <= 0 || sig >= 65)
                return client_reply(cl, "err usage: kill NAME SIGNAL");
        struct shim_ctr *c = find_ctr(s, name);
        if (!c || c->exited)
                return client_reply(cl, "err no running container '%s'", name);
        if (pidfd_signal(c->pidfd, sig) < 0)
                return client_reply(cl, "err kill '%s': %s", name, strerror(errno));
        client_reply(cl, "ok");
}

static void cmd_status(struct shim *s, struct client *cl)
{
        char line[CLIENT_LINE_MAX];
        size_t n = (size_t)snprintf(line, sizeof(line), "ok shim:%d pause:%d", (int)getpid(),
                                    (int)s->pause_pid);
        for (size_t i = 0; i < s->n_ctrs && n < sizeof(line); i++) {
                const struct shim_ctr *c = s->ctrs[i];
                n += (size_t)snprintf(line + n, sizeof(line) - n, " %s:%u:%s:%d", c->spec.name,
                                      c->spec.attempt, c->exited ? "exited" : "running",
                                      c->exited ? c->rec.exit_code : (int)c->pid);
        }
        client_reply(cl, "%s", line);
}

static bool all_exited(const struct shim *s)
{
        for (size_t i = 0; i < s->n_ctrs; i++)
                if (!s->ctrs[i]->exited)
                        return false;
        return true;
}

static void cmd_shutdown(struct shim *s, struct client *cl)
{
        s->shutting_down = true;
        cl->waiting_shutdown = true;
        for (size_t i = 0; i < s->n_ctrs; i++) {
                struct shim_ctr *c = s->ctrs[i];
                if (c->exited)
                        continue;
                (void)pidfd_signal(c->pidfd, SIGKILL);
                kill_cgroup(c);
                c->phase = STOP_KILLED;
        }
}

static void handle_line(struct shim *s, struct client *cl, char *line)
{
        char *args = strchr(line, ' ');
        if (args)
                *args++ = 0;
        else
                args = line + strlen(line);
        if (strcmp(line, "start") == 0)
                cmd_start(s, cl, args);
        else if (strcmp(line, "stop") == 0)
                cmd_stop(s, cl, args);
        else if (strcmp(line, "kill") == 0)
                cmd_kill(s, cl, args);
        else if (strcmp(line, "wait") == 0) {
                struct shim_ctr *c = find_ctr(s, args);
                if (!c)
                        client_reply(cl, "err no container '%s'", args);
                else
                        (void)wait_for(cl, c);
        } else if (strcmp(line, "status") == 0)
                cmd_status(s, cl);
        else if (strcmp(line, "shutdown") == 0)
                cmd_shutdown(s, cl);
        else
                client_reply(cl, "err unknown request '%s'", line);
}

static void client_input(struct shim *s, struct client *cl)
{
        ssize_t n = recv(cl->fd, cl->buf + cl->len, sizeof(cl->buf) - cl->len, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) {
                client_close(cl);
                return;
        }
        cl->len += (size_t)n;
        char *nl;
        while (cl->fd >= 0 && (nl = memchr(cl->buf, '\n', cl->len))) {
                *nl = 0;
                handle_line(s, cl, cl->buf);
                size_t used = (size_t)(nl - cl->buf) + 1;
                memmove(cl->buf, cl->buf + used, cl->len - used);
                cl->len -= used;
        }
        if (cl->len == sizeof(cl->buf)) {
                client_reply(cl, "err request too long");
                client_close(cl);
        }
}

static void accept_client(struct shim *s)
{
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
                return;
        for (size_t i = 0; i < MAX_CLIENTS; i++)
                if (s->clients[i].fd < 0) {
                        s->clients[i] = (struct client){ .fd = fd };
                        return;
                }
        close(fd);
}

static void run_timers(struct shim *s)
{
        int64_t now = now_ms();
        for (size_t i = 0; i < s->n_ctrs; i++) {
                struct shim_ctr *c = s->ctrs[i];
                if (c->exited || now < c->deadline)
                        continue;
                if (c->phase == STOP_PRE_STOP)
                        begin_term(c);
                else if (c->phase == STOP_TERM) {
                        (void)pidfd_signal(c->pidfd, SIGKILL);
                        kill_cgroup(c);
                        c->phase = STOP_KILLED;
                }
        }
}

static int next_timeout(const struct shim *s)
{
        int64_t now = now_ms(), best = -1;
        for (size_t i = 0; i < s->n_ctrs; i++) {
                const struct shim_ctr *c = s->ctrs[i];
                if (c->exited || (c->phase != STOP_PRE_STOP && c->phase != STOP_TERM))
                        continue;
                int64_t left = c->deadline > now ? c->deadline - now : 0;
                if (best < 0 || left < best)
                        best = left;
        }
        return (int)best;
}

enum slot_kind {
        SLOT_SIGNAL,
        SLOT_LISTEN,
        SLOT_CLIENT,
        SLOT_STDOUT,
        SLOT_STDERR,
};

struct slot {
        enum slot_kind kind;
        size_t index;
};

static bool shutdown_done(struct shim *s)
{
        if (!s->shutting_down || !all_exited(s))
                return false;
        for (size_t i = 0; i < MAX_CLIENTS; i++)
                if (s->clients[i].fd >= 0 && s->clients[i].waiting_shutdown)
                        client_reply(&s->clients[i], "ok");
        return true;
}

static void dispatch(struct shim *s, const struct pollfd *p, const struct slot *sl, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if (!p[i].revents)
                        continue;
                struct shim_ctr *c = sl[i].kind >= SLOT_STDOUT ? s->ctrs[sl[i].index] : NULL;
                switch (sl[i].kind) {
                case SLOT_SIGNAL: {
                        struct signalfd_siginfo si;
                        while (read(s->signal_fd, &si, sizeof(si)) == sizeof(si))
                                if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
                                        s->shutting_down = true;
                        reap(s);
                        if (s->shutting_down)
                                for (size_t k = 0; k < s->n_ctrs; k++)
                                        if (!s->ctrs[k]->exited)
                                                (void)pidfd_signal(s->ctrs[k]->pidfd, SIGKILL);
                        break;
                }
                case SLOT_LISTEN:
                        accept_client(s);
                        break;
                case SLOT_CLIENT:
                        client_input(s, &s->clients[sl[i].index]);
                        break;
                case SLOT_STDOUT:
                        pump(c, &c->out_fd, CRI_STDOUT);
                        break;
                case SLOT_STDERR:
                        pump(c, &c->err_fd, CRI_STDERR);
                        break;
                }
        }
}

static int shim_loop(struct shim *s)
{
        struct pollfd *p = NULL;
        struct slot *sl = NULL;
        size_t cap = 0;
        while (!shutdown_done(s)) {
                size_t need = 2 + MAX_CLIENTS + 2 * s->n_ctrs, n = 0;
                if (need > cap) {
                        free(p);
                        free(sl);
                        p = malloc(need * sizeof(*p));
                        sl = malloc(need * sizeof(*sl));
                        if (!p || !sl)
                                return log_error("out of memory"), 1;
                        cap = need;
                }
                p[n] = (struct pollfd){ s->signal_fd, POLLIN, 0 };
                sl[n++] = (struct slot){ SLOT_SIGNAL, 0 };
                p[n] = (struct pollfd){ s->listen_fd, POLLIN, 0 };
                sl[n++] = (struct slot){ SLOT_LISTEN, 0 };
                for (size_t i = 0; i < MAX_CLIENTS; i++)
                        if (s->clients[i].fd >= 0) {
                                p[n] = (struct pollfd){ s->clients[i].fd, POLLIN, 0 };
                                sl[n++] = (struct slot){ SLOT_CLIENT, i };
                        }
                for (size_t i = 0; i < s->n_ctrs; i++) {
                        if (s->ctrs[i]->out_fd >= 0) {
                                p[n] = (struct pollfd){ s->ctrs[i]->out_fd, POLLIN, 0 };
                                sl[n++] = (struct slot){ SLOT_STDOUT, i };
                        }
                        if (s->ctrs[i]->err_fd >= 0) {
                                p[n] = (struct pollfd){ s->ctrs[i]->err_fd, POLLIN, 0 };
                                sl[n++] = (struct slot){ SLOT_STDERR, i };
                        }
                }
                int r = poll(p, n, next_timeout(s));
                if (r < 0 && errno != EINTR)
                        return log_error("poll: %m"), 1;
                if (r > 0)
                        dispatch(s, p, sl, n);
                run_timers(s);
        }
        free(p);
        free(sl);
        return 0;
}

/* The pod's pid namespace init: reaps every orphan of the pod, as the kubelet's pause does. */
static _noreturn_ void pause_main(void)
{
        (void)syscall(SYS_close_range, 0U, ~0U, 0U);
        (void)prctl(PR_SET_NAME, "pause");
        /* Without its shim the pod cannot be supervised: its pid namespace goes with it.
         * (getppid() is 0 here, the parent being outside the namespace, so a shim that died
         * before this line goes unnoticed; the shim kills its pause when it exits.) */
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        sigset_t set;
        sigfillset(&set);
        sigprocmask(SIG_SETMASK, &set, NULL);
        for (;;) {
                siginfo_t si;
                if (sigwaitinfo(&set, &si) < 0)
                        continue;
                if (si.si_signo == SIGTERM || si.si_signo == SIGINT)
                        _exit(0);
                if (si.si_signo == SIGCHLD)
                        while (waitpid(-1, NULL, WNOHANG) > 0)
                                ;
        }
}

struct shim_args {
        char *dir;
        char *hostname;
        bool host_network, host_ipc, foreground;
        enum pid_ns_mode pid_mode;
        char **cgroup_procs;
        int ready_fd;
};

static int parse_args(int argc, char **argv, struct shim_args *a)
{
        static const struct option opts[] = {
                { "dir", required_argument, NULL, 'd' },
                { "hostname", required_argument, NULL, 'h' },
                { "host-network", no_argument, NULL, 'n' },
                { "host-ipc", no_argument, NULL, 'i' },
                { "pid", required_argument, NULL, 'p' },
                { "cgroup-procs", required_argument, NULL, 'c' },
                { "ready-fd", required_argument, NULL, 'r' },
                { "foreground", no_argument, NULL, 'f' },
                {},
        };
        size_t nc = 0;
        *a = (struct shim_args){ .ready_fd = -1 };
        for (int o; (o = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
                if (o == 'd')
                        a->dir = optarg;
                else if (o == 'h')
                        a->hostname = optarg;
                else if (o == 'n')
                        a->host_network = true;
                else if (o == 'i')
                        a->host_ipc = true;
                else if (o == 'f')
                        a->foreground = true;
                else if (o == 'r')
                        a->ready_fd = atoi(optarg);
                else if (o == 'p' && strcmp(optarg, "pod") == 0)
                        a->pid_mode = PID_NS_POD;
                else if (o == 'p' && strcmp(optarg, "host") == 0)
                        a->pid_mode = PID_NS_HOST;
                else if (o == 'p' && strcmp(optarg, "container") == 0)
                        a->pid_mode = PID_NS_CONTAINER;
                else if (o == 'c') {
                        char **l = realloc(a->cgroup_procs, (nc + 2) * sizeof(char *));
                        if (!l)
                                return -ENOMEM;
                        l[nc++] = optarg;
                        l[nc] = NULL;
                        a->cgroup_procs = l;
                } else
                        return -EINVAL;
        }
        return a->dir && optind == argc ? 0 : -EINVAL;
}

/* Leaves the starter's session and process tree: the starter reaps the first process, the
 * second carries on, reparented to init (or to the nearest subreaper). */
static int detach(void)
{
        if (setsid() < 0 && errno != EPERM)
                return -errno;
        pid_t p = fork();
        if (p < 0)
                return -errno;
        if (p > 0)
                _exit(0);
        return 0;
}

static int redirect_stdio(void)
{
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        int logfd = open("shim.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (null < 0 || logfd < 0)
                return -errno;
        if (dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(logfd, 2) < 0)
                return -errno;
        close(null);
        close(logfd);
        return 0;
}

static int start_pause(struct shim *s, struct qerr **err)
{
        struct {
                uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls,
                        set_tid, set_tid_size, cgroup;
        } a = { .flags = CLONE_NEWPID | CLONE_PIDFD,
                .pidfd = (uintptr_t)&s->pause_pidfd,
                .exit_signal = SIGCHLD };
        pid_t p = (pid_t)syscall(SYS_clone3, &a, sizeof(a));
        if (p < 0)
                return qerr_set_errno(err, errno, "create pod pid namespace");
        if (p == 0)
                pause_main();
        s->pause_pid = p;
        return 0;
}

static int listen_socket(struct shim *s, struct qerr **err)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = "shim.sock" };
        (void)unlink("shim.sock");
        s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (s->listen_fd < 0)
                return qerr_set_errno(err, errno, "create socket");
        if (bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
            listen(s->listen_fd, 16) < 0)
                return qerr_set_errno(err, errno, "listen on '%s/shim.sock'", s->dir);
        return 0;
}

static int shim_setup(struct shim *s, const struct shim_args *a, struct qerr **err)
{
        if (write_procs(a->cgroup_procs, 0, err) < 0)
                return qerr_wrap(err, "join the shim's cgroup");
        /* Orphans of hooks and of host-pid containers come to the shim, not to init. */
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                return qerr_set_errno(err, errno, "become subreaper");
        struct sandbox_config sc = { .host_network = a->host_network,
                                     .host_ipc = a->host_ipc,
                                     .hostname = a->hostname };
        int r = sandbox_enter(&sc, err);
        if (r < 0)
                return r;
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGCHLD);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        sigprocmask(SIG_BLOCK, &set, NULL);
        signal(SIGPIPE, SIG_IGN);
        if (s->pid_mode == PID_NS_POD && (r = start_pause(s, err)) < 0)
                return r;
        s->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
        if (s->signal_fd < 0)
                return qerr_set_errno(err, errno, "create signalfd");
        if (mkdir("exits", 0755) < 0 && errno != EEXIST)
                return qerr_set_errno(err, errno, "create '%s/exits'", s->dir);
        return listen_socket(s, err);
}

static void report_ready(int fd, int r, const struct qerr *e)
{
        if (fd < 0)
                return;
        char line[1024];
        int n = r < 0 ? snprintf(line, sizeof(line), "err %s\n", qerr_msg(e))
                      : snprintf(line, sizeof(line), "ok %d\n", (int)getpid());
        (void)!write(fd, line, (size_t)MIN(n, (int)sizeof(line) - 1));
        close(fd);
}

int shim_main(int argc, char **argv)
{
        struct shim_args a;
        log_set_prefix("qoslet-shim");
        if (parse_args(argc, argv, &a) < 0) {
                fprintf(stderr, "usage: qoslet-shim --dir DIR [--hostname NAME] [--host-network] "
                                "[--host-ipc] [--pid container|pod|host] [--cgroup-procs FILE]... "
                                "[--ready-fd FD] [--foreground]\n");
                return 2;
        }
        if (a.ready_fd >= 0)
                (void)fcntl(a.ready_fd, F_SETFD, FD_CLOEXEC);
        struct shim s = { .dir = a.dir,
                          .pid_mode = a.pid_mode,
                          .pause_pidfd = -1,
                          .listen_fd = -1,
                          .signal_fd = -1 };
        for (size_t i = 0; i < MAX_CLIENTS; i++)
                s.clients[i].fd = -1;
        _cleanup_qerr_ struct qerr *e = NULL;
        int r = chdir(a.dir) < 0 ? qerr_set_errno(&e, errno, "enter '%s'", a.dir) : 0;
        if (r == 0 && !a.foreground && detach() < 0)
                r = qerr_set_errno(&e, errno, "detach");
        if (r == 0 && !a.foreground && redirect_stdio() < 0)
                r = qerr_set_errno(&e, errno, "redirect stdio");
        if (r == 0)
                r = shim_setup(&s, &a, &e);
        report_ready(a.ready_fd, r, e);
        free(a.cgroup_procs);
        if (r < 0) {
                log_error("%s", qerr_msg(e));
                return 1;
        }
        log_info("holding pod namespaces in '%s'", a.dir);
        r = shim_loop(&s);
        (void)unlink("shim.sock");
        if (s.pause_pid > 0) {
                (void)kill(s.pause_pid, SIGKILL);
                (void)waitpid(s.pause_pid, NULL, 0);
        }
        for (size_t i = 0; i < s.n_ctrs; i++)
                ctr_free(s.ctrs[i]);
        free(s.ctrs);
        return r;
}
