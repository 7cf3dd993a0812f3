/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>

#include "basic/error.h"

/* The daemon's HTTP API, read-only: GET (or HEAD) only, 405 for anything else.
 *   /healthz   "ok"
 *   /pods      a v1 PodList, as the kubelet serves it
 * On a unix socket (<run dir>/qoslet.sock, mode 0600, and only peers with the daemon's own
 * uid or root are answered: everything qosctl needs) and on the read-only TCP port (10255 on
 * 127.0.0.1 by default, 0 disables it, as the kubelet's readOnlyPort).
 *
 * libmicrohttpd answers from its own threads; the event loop publishes documents into the
 * server (server_set_pods), which keeps a copy under a mutex. */

struct server;

struct server_options {
        const char *socket_path; /* NULL: no unix socket */
        const char *tcp_address; /* NULL: 127.0.0.1 */
        int tcp_port; /* 0: no TCP port */
};

int server_new(const struct server_options *o, struct server **ret, struct qerr **err);
void server_free(struct server *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct server *, server_free)

/* Replaces the /pods document (a copy is kept). */
int server_set_pods(struct server *s, const char *json);

/* The TCP port actually bound (useful when the options asked for an ephemeral one). */
int server_tcp_port(const struct server *s);
