/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "basic/error.h"
#include "ns/sandbox.h"

struct shim_options {
        const char *shim_path; /* the qoslet-shim binary */
        const char *dir; /* the pod's run dir: socket, exit records, shim.log */
        const char *hostname;
        bool host_network, host_ipc;
        enum pid_ns_mode pid_mode;
        char *const *cgroup_procs; /* cgroup.procs files the shim moves itself into */
};

/* Starts a shim for a pod and returns once it holds the pod's namespaces and listens, with
 * its pid. The shim detaches: it is not a child of the caller. */
int shim_launch(const struct shim_options *o, pid_t *ret_pid, struct qerr **err);

/* Sends one request to the shim of dir and reads its reply line. "ok X" returns 0 with X in
 * *ret_reply (may be NULL); "err M" returns -EIO with M as the error. timeout_ms <= 0 waits
 * as long as it takes. */
int shim_request(const char *dir, const char *request, int timeout_ms, char **ret_reply,
                 struct qerr **err);

/* The two halves of shim_request(), for requests that run side by side (stopping every
 * container of a pod at once): shim_send() returns the connection, shim_recv() reads the
 * reply on it. */
int shim_send(const char *dir, const char *request, struct qerr **err);
int shim_recv(int fd, int timeout_ms, char **ret_reply, struct qerr **err);

/* Waits up to timeout_ms for a process that is not our child to exit (a pidfd becomes
 * readable at exit, before anyone reaps it). Returns 0 once it has, -ETIMEDOUT otherwise. */
int wait_process_exit(pid_t pid, int timeout_ms);

/* Where the qoslet-shim binary is: $QOSLET_SHIM, else next to the running program. */
char *shim_default_path(void);
