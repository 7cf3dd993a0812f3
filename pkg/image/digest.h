/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "basic/error.h"

/* A running SHA-256 (OpenSSL EVP) that yields an OCI digest string "sha256:<hex>". */
struct sha256_ctx;

int sha256_new(struct sha256_ctx **ret, struct qerr **err);
void sha256_update(struct sha256_ctx *c, const void *buf, size_t n);
/* Writes "sha256:" and 64 hex digits plus NUL (72 bytes) into out. */
void sha256_final_digest(struct sha256_ctx *c, char out[static 72]);
void sha256_free(struct sha256_ctx *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct sha256_ctx *, sha256_free)
#define _cleanup_sha256_ _cleanup_(sha256_freep)

int sha256_digest_of(const void *buf, size_t n, char out[static 72], struct qerr **err);

/* The hex part of "sha256:<hex>". */
static inline const char *digest_hex(const char *digest)
{
        return digest + 7;
}
