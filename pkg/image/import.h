/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "basic/error.h"
#include "image/store.h"

/* Imports an image archive into the store: an OCI archive (an image layout in a tar, as
 * `skopeo copy ... oci-archive:FILE` writes it) or a `docker save` tarball, either possibly
 * compressed. Blobs are checked against their digests (OCI) and the images are checked to
 * be complete before they are named. ref names the image when given (the archive must then
 * hold exactly one); otherwise the archive's own names are used. ret_refs (optional,
 * NULL-terminated) lists the full references now in the store. */
int image_import(const struct image_store *s, const char *path, const char *ref, char ***ret_refs,
                 struct qerr **err);
