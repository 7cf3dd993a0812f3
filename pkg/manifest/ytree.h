/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "basic/error.h"

/* A YAML document as a tree built from libyaml's event parser, so that every node keeps its
 * line and column and hostile input meets fixed limits: nesting depth, alias expansion and
 * duplicate keys are errors. Aliases point at the anchored node (the tree is a DAG); every
 * node lives in the stream's arena and is freed with it. */

#define YTREE_MAX_DEPTH 64
#define YTREE_MAX_EXPANDED_NODES 100000

enum ynode_kind {
        YNODE_SCALAR,
        YNODE_SEQUENCE,
        YNODE_MAPPING,
};

struct ynode {
        enum ynode_kind kind;
        unsigned line, column; /* 1-based */
        bool plain; /* a plain (unquoted, untagged) scalar: its type is resolved */
        bool tagged_str; /* an explicit !!str tag */
        size_t expanded; /* nodes in this subtree with aliases expanded (saturating) */
        /* scalar */
        const char *value;
        size_t len;
        /* sequence: items[i]; mapping: items[2i] is a key, items[2i+1] its value */
        struct ynode **items;
        size_t n;
};

struct ydoc {
        struct ynode *root; /* NULL for an empty document */
        unsigned line, column;
};

struct ystream;

/* Parses a whole buffer. On a syntax or limit error, returns a negative errno and sets *err;
 * ret_line/ret_column then give the position (1-based, 0 when unknown) and ret_path the field
 * path of the offending node where there is one (caller frees). */
int ystream_parse(const char *buf, size_t len, struct ystream **ret, unsigned *ret_line,
                  unsigned *ret_column, char **ret_path, struct qerr **err);
void ystream_free(struct ystream *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct ystream *, ystream_free)

size_t ystream_n_docs(const struct ystream *s);
const struct ydoc *ystream_doc(const struct ystream *s, size_t i);

/* Orders scalar keys by their bytes (collections after scalars). */
int ynode_key_cmp(const struct ynode *x, const struct ynode *y);

/* Value of key in a mapping node, or NULL. */
const struct ynode *ynode_get(const struct ynode *map, const char *key);

/* YAML 1.1 type resolution of plain scalars, as Kubernetes' YAML decoding does. */
enum yscalar_type {
        YSCALAR_STRING,
        YSCALAR_NULL,
        YSCALAR_BOOL,
        YSCALAR_INT,
        YSCALAR_FLOAT,
};

enum yscalar_type ynode_scalar_type(const struct ynode *n);
const char *yscalar_type_to_string(enum yscalar_type t);
bool ynode_is_null(const struct ynode *n);
