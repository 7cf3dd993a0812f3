/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "basic/error.h"

enum rootfs_kind {
        ROOTFS_OVERLAY, /* overlayfs: the layers read-only below, upper and work per container */
        ROOTFS_COPY, /* a private copy of the layers, whiteouts applied */
};

/* Builds a container's root filesystem in dir (created; it must not exist yet):
 * dir/upper, dir/work and dir/merged, with an overlay of layers (bottom layer first, as
 * image_store_unpack() lists them) mounted on dir/merged. When overlayfs cannot be mounted
 * there (no overlay module, upper directory on an overlay, too many layers for this kernel)
 * or force_copy is set, the layers are copied into dir/merged instead, with their whiteouts
 * and opaque directories applied. ret_path gets dir/merged. */
int image_rootfs_create(char *const *layers, size_t n, const char *dir, bool force_copy,
                        enum rootfs_kind *ret_kind, char **ret_path, struct qerr **err);

/* Unmounts dir/merged if it is mounted and removes dir. A missing dir is not an error. */
int image_rootfs_remove(const char *dir, struct qerr **err);
