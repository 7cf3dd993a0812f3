/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "basic/error.h"
#include "image/store.h"

/* Garbage collection of the image store. Writers of store content (pull, import, unpack, a
 * container's rootfs being made) hold <root>/gc.lock shared; the collector holds it
 * exclusive, so it never sees a blob committed but not yet named, or a layer unpacked but not
 * yet in a rootfs. index.json itself changes under the store lock (images.lock) as always. */
int image_store_gc_lock(const struct image_store *s, bool exclusive, struct qerr **err);

/* A pod uses an image while its container's rootfs directory holds this record (the image's
 * reference and the digest it resolved to). Pod state lives in <root>/pods/<uid>, and a
 * container's rootfs in <uid>/containers/<name>/<attempt>-rootfs (pkg/runtime/podrt.c). */
#define IMAGE_USAGE_FILE "image.json"
#define IMAGE_USAGE_GLOB "pods/*/containers/*/*-rootfs/" IMAGE_USAGE_FILE

/* Writes dir/IMAGE_USAGE_FILE for the image the store names ref. */
int image_usage_record(const struct image_store *s, const char *ref, const char *dir,
                       struct qerr **err);

struct image_gc_opts {
        bool prune; /* remove every image no pod uses, as `crictl rmi --prune` does */
        char *const *remove; /* full references to untag first (NULL-terminated, or NULL) */
};

struct image_gc_stats {
        unsigned images, blobs, layers;
        uint64_t bytes; /* of the blobs removed */
};

/* Untags what o asks for, then removes every blob and unpacked layer that neither a named
 * image nor a pod's rootfs references, and leftovers of interrupted pulls and unpacks.
 * Images a pod uses stay even when o->remove names them: only their names go. */
int image_store_gc(const struct image_store *s, const struct image_gc_opts *o,
                   struct image_gc_stats *ret, struct qerr **err);
