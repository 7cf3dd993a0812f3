/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "basic/error.h"

/* An image reference as the container ecosystem writes it: [domain/]path[:tag][@digest].
 * Parsing normalizes it the way docker and containerd do: a name without a domain lives on
 * docker.io, a single-component docker.io name lives under library/, and a reference with
 * neither tag nor digest gets the tag "latest". */
struct image_ref {
        char *domain; /* "docker.io", "quay.io", "127.0.0.1:5000", "[::1]:5000" */
        char *path; /* "library/busybox" */
        char *tag; /* NULL when the reference carries only a digest */
        char *digest; /* "sha256:<64 hex>" or NULL */
        char *name; /* domain "/" path */
        char *full; /* name [":" tag] ["@" digest]: the key in the image store */
};

int image_ref_parse(const char *s, struct image_ref **ret, struct qerr **err);
void image_ref_free(struct image_ref *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct image_ref *, image_ref_free)
#define _cleanup_image_ref_ _cleanup_(image_ref_freep)

/* The host to contact for pulls: docker.io is served by registry-1.docker.io. */
const char *image_ref_registry_host(const struct image_ref *r);

/* What the registry's manifest endpoint takes: the digest when there is one, else the tag. */
const char *image_ref_manifest_key(const struct image_ref *r);

/* Checks "sha256:<64 lowercase hex>", the only digest algorithm qoslet stores. */
int image_digest_validate(const char *digest, struct qerr **err);
