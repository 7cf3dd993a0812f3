/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "basic/error.h"

/* A bind mount into a container: a host path (directory or file) onto a container path. */
struct ns_mount {
        char *source;
        char *target;
        bool read_only;
};

struct container_fs {
        const char *rootfs; /* a directory on the host */
        bool read_only_rootfs;
        const char *shm; /* host directory bound at /dev/shm; NULL: a private 64 MiB tmpfs */
        const struct ns_mount *mounts; /* in order: parents before children */
        size_t n_mounts;
        const char *workdir; /* created in the rootfs (before it turns read-only) if missing */
};

/* Runs in a new mount namespace (and the container's pid, net and ipc namespaces, which /proc,
 * /sys and /dev/mqueue reflect): makes every mount private, binds the rootfs, mounts /proc,
 * /dev (tmpfs with null zero full random urandom tty, pts, ptmx, shm, mqueue, fd and std*
 * links), /sys read-only and the bind mounts, then pivots into the rootfs. Host paths are
 * looked up before the pivot; container paths only inside the rootfs. */
int container_fs_setup(const struct container_fs *fs, struct qerr **err);
