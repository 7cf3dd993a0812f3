/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "basic/error.h"
#include "image/store.h"

/* The JSON documents of an image: index (or docker manifest list), manifest (OCI or docker
 * schema 2) and config. Schema 1 manifests are refused: registries stopped serving them. */

enum image_doc_kind {
        IMAGE_DOC_UNKNOWN,
        IMAGE_DOC_INDEX,
        IMAGE_DOC_MANIFEST,
};

/* From the media type, or when that is missing or generic, from the document's shape. */
enum image_doc_kind image_doc_kind(const char *media_type, const char *buf, size_t len);

struct image_manifest {
        char *media_type;
        struct image_desc config;
        struct image_desc *layers;
        size_t n_layers;
};

int image_manifest_parse(const char *buf, size_t len, struct image_manifest **ret,
                         struct qerr **err);
void image_manifest_free(struct image_manifest *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct image_manifest *, image_manifest_free)
#define _cleanup_image_manifest_ _cleanup_(image_manifest_freep)

/* The os/architecture this build runs: "linux" and "amd64", "arm64", ... */
const char *image_host_arch(void);

/* Picks the manifest for os/arch from an index; -ENOENT (naming the platforms on offer)
 * when there is none. */
int image_index_select(const char *buf, size_t len, const char *os, const char *arch,
                       struct image_desc *ret, struct qerr **err);

/* What the runtime needs from an image's config. Arrays are NULL-terminated (or NULL). */
struct image_config {
        char *os, *architecture;
        char **entrypoint, **cmd, **env;
        char *working_dir, *user, *stop_signal;
        char **diff_ids;
        size_t n_diff_ids;
};

int image_config_parse(const char *buf, size_t len, struct image_config **ret, struct qerr **err);
void image_config_free(struct image_config *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct image_config *, image_config_free)
#define _cleanup_image_config_ _cleanup_(image_config_freep)

/* The process a container runs, as the kubelet and runtimes combine it: command replaces the
 * image's Entrypoint (and drops its Cmd), args replace Cmd. NULL or empty arrays count as
 * unset. -EINVAL when nothing is left to run. */
int image_config_argv(const struct image_config *c, char *const *command, char *const *args,
                      char ***ret_argv, struct qerr **err);

/* Reads an image of the store by reference: its manifest (following an index to this host's
 * platform) and its config, every blob's digest checked. */
int image_store_load(const struct image_store *s, const char *ref,
                     struct image_manifest **ret_manifest, struct image_config **ret_config,
                     struct qerr **err);

/* From a stored descriptor that may be an index, the descriptor of this host's manifest. */
int image_store_platform_manifest(const struct image_store *s, const struct image_desc *desc,
                                  struct image_desc *ret, struct qerr **err);

/* Checks that the manifest's config and every layer are in the store. */
int image_store_check_complete(const struct image_store *s, const struct image_manifest *m,
                               struct qerr **err);

/* Unpacks each layer of the image into the layer cache; ret_dirs lists the layer
 * directories from the bottom layer up (NULL-terminated). */
int image_store_unpack(const struct image_store *s, const char *ref, char ***ret_dirs,
                       size_t *ret_n, struct qerr **err);
