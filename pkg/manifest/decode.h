/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>

#include "api/pod.h"
#include "basic/strbuf.h"
#include "manifest/diag.h"
#include "manifest/ytree.h"

/* Decoding context shared by the decoder, defaults and validation of one document. */
struct dctx {
        const char *file; /* name used in diagnostics */
        bool strict;
        struct diag_list *diags;
        struct strbuf path;
        size_t n_errors;
};

void dctx_error(struct dctx *c, const struct ynode *at, const char *fmt, ...) _printf_(3, 4);
void dctx_error_pos(struct dctx *c, struct api_pos pos, const char *fmt, ...) _printf_(3, 4);
void dctx_warning(struct dctx *c, const struct ynode *at, const char *fmt, ...) _printf_(3, 4);
size_t dctx_push_key(struct dctx *c, const char *key);
size_t dctx_push_index(struct dctx *c, size_t i);
void dctx_pop(struct dctx *c, size_t mark);

/* Decodes a Pod mapping (apiVersion, kind, metadata, spec, status) into a new pod. Errors are
 * added to the context; the pod is returned even when errors were found (the caller drops
 * it), so that one pass reports every problem. */
struct pod *decode_pod(struct dctx *c, const struct ynode *root);
