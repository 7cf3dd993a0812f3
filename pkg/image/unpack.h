/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>

#include "basic/error.h"
#include "image/store.h"

struct unpack_stats {
        uint64_t blob_bytes; /* as stored (compressed) */
        uint64_t tar_bytes; /* uncompressed: what the diff id covers */
        uint64_t entries;
};

/* Unpacks a layer (tar, or tar compressed with gzip, zstd, xz or bzip2, found from its
 * content) into the empty directory dest. Every entry must land beneath dest: absolute
 * paths, ".." components, paths through a symlink and hard links to anything outside are
 * refused, and the whole layer fails. Whiteouts become overlayfs whiteouts: ".wh.NAME" a
 * character device 0/0 named NAME, ".wh..wh..opq" the xattr trusted.overlay.opaque=y on its
 * directory. Modes, ownership (when running as root), times and xattrs are kept, except
 * overlayfs's own trusted.overlay.* attributes, which a layer must not smuggle in.
 * ret_diff_id receives the sha256 of the uncompressed tar. */
int image_unpack_layer(int blob_fd, const char *dest, char ret_diff_id[static 72],
                       struct unpack_stats *ret_stats, struct qerr **err);

/* The layer cache: <root>/layers/sha256/<hex of diff_id>. Unpacks the blob of layer into it
 * unless it is there already; the diff id found while unpacking must equal diff_id. Returns
 * the directory's path. */
int image_layer_ensure(const struct image_store *s, const struct image_desc *layer,
                       const char *diff_id, char **ret_path, struct unpack_stats *ret_stats,
                       struct qerr **err);
