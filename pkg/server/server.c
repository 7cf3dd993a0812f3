/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "server/server.h"

struct listener {
        struct server *server;
        struct MHD_Daemon *mhd;
        bool local; /* the unix socket: check the peer's uid */
};

struct server {
        pthread_mutex_t lock;
        char *pods; /* guarded by lock */
        char *socket_path;
        int tcp_port;
        struct listener unix_l, tcp_l;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *type, char *body)
{
        struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body,
                                                                 MHD_RESPMEM_MUST_FREE);
        if (!r) {
                free(body);
                return MHD_NO;
        }
        (void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
                (void)MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
        enum MHD_Result q = MHD_queue_response(c, code, r);
        MHD_destroy_response(r);
        return q;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned code, const char *text)
{
        char *b = strdup(text);
        return b ? reply(c, code, "text/plain; charset=utf-8", b) : MHD_NO;
}

/* Peers of the unix socket must be root or the daemon's own user: the socket's mode says so
 * already, this holds even if someone loosens the mode. */
static bool peer_allowed(struct MHD_Connection *c)
{
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
                c, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct ucred cred;
        socklen_t len = sizeof(cred);
        if (!ci || getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return false;
        return cred.uid == 0 || cred.uid == geteuid();
}

static char *pods_copy(struct server *s)
{
        pthread_mutex_lock(&s->lock);
        char *p = strdup(s->pods ? s->pods
                                 : "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{},"
                                   "\"items\":[]}");
        pthread_mutex_unlock(&s->lock);
        return p;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_size, void **req_cls)
{
        struct listener *l = cls;
        /* the first call only announces the request; answer on the second, once any body
         * (which we refuse anyway) was seen */
        if (!*req_cls) {
                *req_cls = (void *)1;
                return MHD_YES;
        }
        if (l->local && !peer_allowed(c))
                return reply_text(c, MHD_HTTP_FORBIDDEN, "forbidden\n");
        if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
                return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
        if (strcmp(url, "/healthz") == 0)
                return reply_text(c, MHD_HTTP_OK, "ok");
        if (strcmp(url, "/pods") == 0 || strcmp(url, "/pods/") == 0) {
                char *p = pods_copy(l->server);
                return p ? reply(c, MHD_HTTP_OK, "application/json", p) : MHD_NO;
        }
        return reply_text(c, MHD_HTTP_NOT_FOUND, "404 page not found\n");
}

static int listen_unix(const char *path, struct qerr **err)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof(sa.sun_path))
                return qerr_set(err, ENAMETOOLONG, "socket path '%s' is too long", path);
        strcpy(sa.sun_path, path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return qerr_set_errno(err, errno, "create socket '%s'", path);
        /* a socket left by a daemon that died; the lock file says no other daemon runs */
        (void)unlink(path);
        /* no window in which the socket is open to others: bind under a tight umask */
        mode_t old = umask(0177);
        int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
        umask(old);
        if (r < 0 || chmod(path, 0600) < 0 || listen(fd, 64) < 0) {
                r = qerr_set_errno(err, errno, "listen on '%s'", path);
                (void)close(fd);
                return r;
        }
        return fd;
}

static int listen_tcp(const char *address, int port, struct qerr **err)
{
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
        if (inet_pton(AF_INET, address, &sa.sin_addr) != 1)
                return qerr_set(err, EINVAL, "invalid address '%s': want an IPv4 address", address);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return qerr_set_errno(err, errno, "create socket");
        int one = 1;
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
                int r = qerr_set_errno(err, errno, "listen on %s:%d", address, port);
                (void)close(fd);
                return r;
        }
        return fd;
}

static int start_listener(struct server *s, struct listener *l, int fd, bool local,
                          struct qerr **err)
{
        l->server = s;
        l->local = local;
        l->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL,
                                  on_request, l, MHD_OPTION_LISTEN_SOCKET, fd,
                                  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                                  MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_END);
        if (!l->mhd) {
                (void)close(fd);
                return qerr_set(err, EIO, "start the HTTP server");
        }
        return 0;
}

int server_new(const struct server_options *o, struct server **ret, struct qerr **err)
{
        _cleanup_(server_freep) struct server *s = calloc(1, sizeof(*s));
        if (!s)
                return qerr_set(err, ENOMEM, "create the HTTP server");
        pthread_mutex_init(&s->lock, NULL);
        if (o->socket_path) {
                s->socket_path = strdup(o->socket_path);
                if (!s->socket_path)
                        return qerr_set(err, ENOMEM, "create the HTTP server");
                int fd = listen_unix(o->socket_path, err);
                if (fd < 0 || start_listener(s, &s->unix_l, fd, true, err) < 0)
                        return fd < 0 ? fd : -EIO;
        }
        if (o->tcp_port > 0) {
                const char *addr = o->tcp_address ? o->tcp_address : "127.0.0.1";
                int fd = listen_tcp(addr, o->tcp_port, err);
                if (fd < 0 || start_listener(s, &s->tcp_l, fd, false, err) < 0)
                        return fd < 0 ? fd : -EIO;
                s->tcp_port = o->tcp_port;
        }
        *ret = TAKE_PTR(s);
        return 0;
}

void server_free(struct server *s)
{
        if (!s)
                return;
        if (s->unix_l.mhd)
                MHD_stop_daemon(s->unix_l.mhd);
        if (s->tcp_l.mhd)
                MHD_stop_daemon(s->tcp_l.mhd);
        if (s->socket_path)
                (void)unlink(s->socket_path);
        pthread_mutex_destroy(&s->lock);
        free(s->pods);
        free(s->socket_path);
        free(s);
}

int server_set_pods(struct server *s, const char *json)
{
        char *p = strdup(json);
        if (!p)
                return -ENOMEM;
        pthread_mutex_lock(&s->lock);
        free(s->pods);
        s->pods = p;
        pthread_mutex_unlock(&s->lock);
        return 0;
}

int server_tcp_port(const struct server *s)
{
        return s->tcp_port;
}
