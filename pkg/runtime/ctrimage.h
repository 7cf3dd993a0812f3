/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "api/pod.h"
#include "basic/error.h"
#include "image/manifest.h"
#include "image/registry.h"

/* A container's image as the runtime uses it: the image found (or pulled) in the local store
 * by the container's imagePullPolicy, and a root filesystem of its own made from the layers. */
struct ctr_image {
        char *rootfs; /* what the container gets as its root directory */
        char *rootfs_dir; /* image_rootfs_create()'s directory; NULL for dir:// images */
        struct image_config *config; /* NULL for dir:// images */
};

/* Image failures start with the kubelet's reason: "ErrImageNeverPull: ", "ErrImagePull: ",
 * "InvalidImageName: ". dir:///path names a local directory used as the rootfs as it is. */
int ctr_image_prepare(const char *root_dir, const struct registry_opts *o,
                      const struct container *c, const char *rootfs_dir, struct ctr_image *ret,
                      struct qerr **err);

/* Frees; the rootfs stays (ctr_image_remove_rootfs() removes it). */
void ctr_image_done(struct ctr_image *i);

/* Removes every "*-rootfs" directory under dir (unmounting overlays) except keep's (NULL:
 * all). */
int ctr_image_remove_rootfs(const char *dir, const char *keep, struct qerr **err);
