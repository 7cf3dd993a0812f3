/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/error.h"

#define OCI_REF_NAME_ANNOTATION "org.opencontainers.image.ref.name"

#define MEDIA_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MEDIA_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MEDIA_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MEDIA_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MEDIA_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define MEDIA_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define MEDIA_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MEDIA_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MEDIA_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MEDIA_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* The local image store: an OCI image layout under <root>/images (oci-layout, index.json,
 * blobs/sha256/<hex>), so skopeo and umoci read it as `oci:<root>/images:<ref>`. index.json
 * names each image by its full reference in the org.opencontainers.image.ref.name
 * annotation. Blobs are written to <root>/ingest first and renamed into place only after
 * their digest checked out. index.json changes under an exclusive flock of
 * <root>/images.lock; the daemon and qosctl use the same lock. */
struct image_store {
        char *root;
        char *layout; /* <root>/images */
        char *blobs; /* <root>/images/blobs/sha256 */
        char *ingest; /* <root>/ingest */
        char *layers; /* <root>/layers */
        char *lock_path;
};

struct image_desc {
        char *media_type;
        char *digest;
        int64_t size;
};

/* One named image in index.json. */
struct image_entry {
        char *ref; /* full reference, the ref.name annotation */
        struct image_desc desc;
};

int image_store_open(const char *root_dir, struct image_store **ret, struct qerr **err);
void image_store_free(struct image_store *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct image_store *, image_store_free)
#define _cleanup_image_store_ _cleanup_(image_store_freep)

/* Takes the store lock on a fresh open file description, so that threads of one process
 * exclude each other too. Returns the fd; closing it releases the lock. */
int image_store_lock(const struct image_store *s, bool exclusive, struct qerr **err);

void image_desc_done(struct image_desc *d);
int image_desc_copy(const struct image_desc *from, struct image_desc *to);

/* Blob writing: data streams into a temporary file while it is hashed; commit checks the
 * digest (and size, when known) and renames the file into blobs/sha256. */
struct blob_writer;
int image_blob_begin(const struct image_store *s, const char *expected_digest,
                     int64_t expected_size, struct blob_writer **ret, struct qerr **err);
int image_blob_write(struct blob_writer *w, const void *buf, size_t n, struct qerr **err);
/* ret_digest (optional) receives the digest actually written. */
int image_blob_commit(struct blob_writer *w, char **ret_digest, struct qerr **err);
uint64_t image_blob_written(const struct blob_writer *w);
/* Removes the temporary file unless committed. */
void image_blob_abort(struct blob_writer *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct blob_writer *, image_blob_abort)
#define _cleanup_blob_writer_ _cleanup_(image_blob_abortp)

int image_store_put_blob(const struct image_store *s, const void *buf, size_t n,
                         const char *expected_digest, char **ret_digest, struct qerr **err);
bool image_store_has_blob(const struct image_store *s, const char *digest);
/* Returns a malloc'd path, or NULL on a bad digest or no memory. */
char *image_store_blob_path(const struct image_store *s, const char *digest);
/* Reads a small blob (manifest, config) and checks its digest again. */
int image_store_read_blob(const struct image_store *s, const char *digest, size_t max,
                          char **ret_buf, size_t *ret_len, struct qerr **err);

/* Names an image: replaces any entry with the same reference. */
int image_store_tag(const struct image_store *s, const char *ref, const struct image_desc *desc,
                    struct qerr **err);
int image_store_untag(const struct image_store *s, const char *ref, struct qerr **err);
/* -ENOENT when the store has no image of that reference. */
int image_store_resolve(const struct image_store *s, const char *ref, struct image_desc *ret,
                        struct qerr **err);
int image_store_list(const struct image_store *s, struct image_entry **ret, size_t *ret_n,
                     struct qerr **err);
void image_entries_free(struct image_entry *e, size_t n);
