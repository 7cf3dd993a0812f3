/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "basic/error.h"

/* Mount helpers on the new mount API (fsopen, open_tree, move_mount, mount_setattr; Linux
 * 5.12+). Targets are file descriptors, never paths looked up again, so a symlink planted in a
 * container's rootfs cannot redirect a mount onto the host. */

enum in_root_create {
        IN_ROOT_NO_CREATE,
        IN_ROOT_DIR, /* create missing directories, the last one included */
        IN_ROOT_FILE, /* create missing parents and an empty regular file */
};

/* Opens path (relative to root, '/' allowed) as an O_PATH fd, resolving every component inside
 * root (RESOLVE_IN_ROOT), creating what is missing as asked. */
int open_in_root(int rootfd, const char *path, enum in_root_create create, struct qerr **err);

/* Bind-mounts the host path source (recursively) onto the fd target, read-only (recursively)
 * when asked. */
int bind_mount_fd(const char *source, int target, bool read_only, struct qerr **err);

/* Mounts a new filesystem of type fstype onto the fd target. options is a NULL-terminated list
 * of "key=value" or "flag" strings; attrs are MOUNT_ATTR_* flags. */
int fs_mount_fd(const char *fstype, const char *const *options, unsigned attrs, int target,
                struct qerr **err);
