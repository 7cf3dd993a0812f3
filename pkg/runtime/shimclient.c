/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "runtime/shimclient.h"

char *shim_default_path(void)
{
        const char *env = getenv("QOSLET_SHIM");
        if (env && *env)
                return strdup(env);
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n <= 0)
                return strdup("qoslet-shim");
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        char *p = NULL;
        if (asprintf(&p, "%.*s/qoslet-shim", slash ? (int)(slash - exe) : 1, slash ? exe : ".") < 0)
                return NULL;
        /* Test binaries live one level below the programs (build/tests/). */
        if (access(p, X_OK) < 0 && slash) {
                free(p);
                p = NULL;
                if (asprintf(&p, "%.*s/../qoslet-shim", (int)(slash - exe), exe) < 0)
                        return NULL;
        }
        return p;
}

static char **shim_argv(const struct shim_options *o)
{
        static const char *const pid_modes[] = {
                [PID_NS_CONTAINER] = "container", [PID_NS_POD] = "pod", [PID_NS_HOST] = "host"
        };
        size_t n = 0, cap = 16;
        while (o->cgroup_procs && o->cgroup_procs[n])
                n++;
        cap += 2 * n;
        const char **v = calloc(cap, sizeof(char *));
        if (!v)
                return NULL;
        size_t i = 0;
        v[i++] = o->shim_path;
        v[i++] = "--dir";
        v[i++] = o->dir;
        if (o->hostname && !o->host_network) {
                v[i++] = "--hostname";
                v[i++] = o->hostname;
        }
        if (o->host_network)
                v[i++] = "--host-network";
        if (o->host_ipc)
                v[i++] = "--host-ipc";
        v[i++] = "--pid";
        v[i++] = pid_modes[o->pid_mode];
        for (size_t k = 0; k < n; k++) {
                v[i++] = "--cgroup-procs";
                v[i++] = o->cgroup_procs[k];
        }
        v[i++] = "--ready-fd";
        v[i++] = "3";
        return (char **)v;
}

static int read_ready(int fd, pid_t *ret_pid, struct qerr **err)
{
        char buf[1024];
        size_t n = 0;
        for (ssize_t k; n < sizeof(buf) - 1; n += (size_t)k) {
                k = read(fd, buf + n, sizeof(buf) - 1 - n);
                if (k < 0 && errno == EINTR) {
                        k = 0;
                        continue;
                }
                if (k <= 0)
                        break;
        }
        buf[n] = 0;
        buf[strcspn(buf, "\n")] = 0;
        int pid;
        if (sscanf(buf, "ok %d", &pid) == 1 && pid > 0) {
                *ret_pid = pid;
                return 0;
        }
        if (strncmp(buf, "err ", 4) == 0)
                return qerr_set(err, EIO, "shim: %s", buf + 4);
        return qerr_set(err, EIO, "shim exited without reporting");
}

int shim_launch(const struct shim_options *o, pid_t *ret_pid, struct qerr **err)
{
        _cleanup_free_ char **argv = shim_argv(o);
        int ready[2];
        if (!argv)
                return qerr_set(err, ENOMEM, "start shim");
        if (pipe2(ready, O_CLOEXEC) < 0)
                return qerr_set_errno(err, errno, "create pipe");
        pid_t p = fork();
        if (p < 0) {
                int e = errno;
                close(ready[0]);
                close(ready[1]);
                return qerr_set_errno(err, e, "fork shim");
        }
        if (p == 0) {
                if (ready[1] == 3)
                        (void)fcntl(3, F_SETFD, 0);
                else if (dup2(ready[1], 3) < 0)
                        _exit(127);
                (void)syscall(SYS_close_range, 4U, ~0U, 0U);
                execv(o->shim_path, argv);
                _exit(127);
        }
        close(ready[1]);
        int st;
        while (waitpid(p, &st, 0) < 0 && errno == EINTR)
                ;
        int r = read_ready(ready[0], ret_pid, err);
        close(ready[0]);
        if (r < 0 && WIFEXITED(st) && WEXITSTATUS(st) == 127)
                return qerr_wrap(err, "run '%s'", o->shim_path);
        return r;
}

static int shim_connect(const char *dir, struct qerr **err)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int dfd = -1;
        if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/shim.sock", dir) >=
            (int)sizeof(sa.sun_path)) {
                /* A long run dir: reach the socket through a descriptor of its directory. */
                dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0)
                        return qerr_set_errno(err, errno, "open '%s'", dir);
                snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/shim.sock", dfd);
        }
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return qerr_set_errno(err, errno, "create socket");
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int e = errno;
                close(fd);
                return qerr_set_errno(err, e, "connect to shim in '%s'", dir);
        }
        return fd;
}

static int64_t mono_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int read_line(int fd, int timeout_ms, char *buf, size_t size, struct qerr **err)
{
        size_t n = 0;
        int64_t end = timeout_ms > 0 ? mono_ms() + timeout_ms : 0;
        while (n < size - 1) {
                struct pollfd p = { fd, POLLIN, 0 };
                int left = end ? (int)MAX(end - mono_ms(), 0) : -1;
                int r = poll(&p, 1, left);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r == 0)
                        return qerr_set(err, ETIMEDOUT, "no reply from shim");
                ssize_t k = read(fd, buf + n, size - 1 - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return qerr_set(err, ECONNRESET, "shim closed the connection");
                n += (size_t)k;
                buf[n] = 0;
                char *nl = strchr(buf, '\n');
                if (nl) {
                        *nl = 0;
                        return 0;
                }
        }
        return qerr_set(err, EMSGSIZE, "reply from shim too long");
}

int shim_send(const char *dir, const char *request, struct qerr **err)
{
        _cleanup_close_ int fd = shim_connect(dir, err);
        if (fd < 0)
                return fd;
        _cleanup_free_ char *line = NULL;
        if (asprintf(&line, "%s\n", request) < 0)
                return qerr_set(err, ENOMEM, "send to shim");
        size_t len = strlen(line);
        if (send(fd, line, len, MSG_NOSIGNAL) != (ssize_t)len)
                return qerr_set_errno(err, errno, "send '%s' to shim", request);
        return TAKE_FD(fd);
}

int shim_recv(int fd, int timeout_ms, char **ret_reply, struct qerr **err)
{
        char buf[4096];
        int r = read_line(fd, timeout_ms, buf, sizeof(buf), err);
        if (r < 0)
                return r;
        if (strncmp(buf, "err ", 4) == 0)
                return qerr_set(err, EIO, "%s", buf + 4);
        if (strncmp(buf, "ok", 2) != 0 || (buf[2] != 0 && buf[2] != ' '))
                return qerr_set(err, EPROTO, "bad reply from shim: '%s'", buf);
        if (ret_reply) {
                *ret_reply = strdup(buf[2] ? buf + 3 : "");
                if (!*ret_reply)
                        return qerr_set(err, ENOMEM, "read reply");
        }
        return 0;
}

int shim_request(const char *dir, const char *request, int timeout_ms, char **ret_reply,
                 struct qerr **err)
{
        _cleanup_close_ int fd = shim_send(dir, request, err);
        if (fd < 0)
                return fd;
        int r = shim_recv(fd, timeout_ms, ret_reply, err);
        return r < 0 && r != -EIO ? qerr_wrap(err, "'%s'", request) : r;
}

int wait_process_exit(pid_t pid, int timeout_ms)
{
        _cleanup_close_ int fd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (fd < 0)
                return errno == ESRCH ? 0 : -errno;
        struct pollfd p = { fd, POLLIN, 0 };
        int r;
        while ((r = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
                ;
        return r > 0 ? 0 : -ETIMEDOUT;
}
