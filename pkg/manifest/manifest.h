/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "api/pod.h"
#include "manifest/diag.h"

/* Kubernetes manifests (YAML or JSON, both through libyaml) to pods: one Pod, a multi-document
 * stream, a PodList or a `kind: List`; other kinds are skipped with a notice. Defaults are
 * applied as the API server applies them, then the static-pod name suffix and the UID
 * (ARCHITECTURE.md), then validation. A file is taken or refused whole. */

#define MANIFEST_MAX_SIZE (10 * 1024 * 1024)

struct manifest_options {
        const char *node_name; /* lowercased for the name suffix */
        bool strict; /* unknown fields are errors */
};

struct pod_list {
        struct pod **pods;
        size_t n;
};

void pod_list_done(struct pod_list *l);

/* Decodes a buffer. `display` names the input in diagnostics; `source` is hashed into UIDs
 * (the file's realpath, a URL, or "stdin"). Returns 0 and the pods, or -EINVAL when any error
 * was found (then no pods). Warnings and notices are added in both cases. */
int manifest_decode(const char *buf, size_t len, const char *display, const char *source,
                    const struct manifest_options *o, struct pod_list *ret,
                    struct diag_list *diags);

/* Reads a file (at most 10 MiB; "-" is stdin) and decodes it. */
int manifest_load_file(const char *path, const struct manifest_options *o, struct pod_list *ret,
                       struct diag_list *diags);

/* The files of a manifest directory as the kubelet reads them: every regular file whose name
 * does not start with '.', sorted; sub-directories are skipped. */
int manifest_list_dir(const char *dir, char ***ret, struct qerr **err);

/* Internal steps, exposed for tests. */
void manifest_apply_defaults(struct pod *p);
/* Computes the pod UID from the canonical form of the document item (see ARCHITECTURE.md). */
char *manifest_compute_uid(const char *node_name, const char *source, unsigned doc_index,
                           unsigned item_index, const char *canonical, size_t canonical_len);
