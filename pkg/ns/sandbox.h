/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "basic/error.h"

/* A pod's sandbox is the set of namespaces its containers share. The process that calls
 * sandbox_enter() (the pod's shim) lives in them and so holds them for as long as it runs;
 * containers it starts inherit them. */

enum pid_ns_mode {
        PID_NS_CONTAINER, /* each container its own (the default) */
        PID_NS_POD, /* shareProcessNamespace: one for the pod */
        PID_NS_HOST, /* hostPID */
};

struct sandbox_config {
        bool host_network; /* keeps the host's net and UTS namespaces */
        bool host_ipc;
        const char *hostname; /* set in the pod's UTS namespace; ignored with host_network */
};

/* Moves the caller into new net, ipc and uts namespaces (as the config asks), sets the
 * hostname and brings loopback up. */
int sandbox_enter(const struct sandbox_config *c, struct qerr **err);

/* Sets IFF_UP on "lo" in the caller's network namespace. */
int loopback_up(struct qerr **err);

/* The default /dev/shm size of a pod (containerd's defaultShmSize). */
#define POD_SHM_SIZE (64ULL * 1024 * 1024)

/* Mounts the pod's /dev/shm, a tmpfs of size bytes, on dir (created if missing). */
int pod_shm_mount(const char *dir, uint64_t size, struct qerr **err);
/* Unmounts it (lazily, as containers may still hold it) and removes dir; gone is fine. */
int pod_shm_umount(const char *dir, struct qerr **err);
