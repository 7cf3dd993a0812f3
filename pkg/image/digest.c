/* SPDX-License-Identifier: Apache-2.0 */
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "image/digest.h"

struct sha256_ctx {
        EVP_MD_CTX *md;
};

int sha256_new(struct sha256_ctx **ret, struct qerr **err)
{
        struct sha256_ctx *c = calloc(1, sizeof(*c));
        if (!c)
                return qerr_set(err, ENOMEM, "allocate sha256 context");
        c->md = EVP_MD_CTX_new();
        if (!c->md || EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1) {
                sha256_free(c);
                return qerr_set(err, ENOMEM, "initialize sha256");
        }
        *ret = c;
        return 0;
}

void sha256_update(struct sha256_ctx *c, const void *buf, size_t n)
{
        /* EVP_DigestUpdate cannot fail for an initialized software digest. */
        (void)EVP_DigestUpdate(c->md, buf, n);
}

void sha256_final_digest(struct sha256_ctx *c, char out[static 72])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        (void)EVP_DigestFinal_ex(c->md, md, &n);
        memcpy(out, "sha256:", 7);
        for (unsigned i = 0; i < 32; i++)
                snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
}

void sha256_free(struct sha256_ctx *c)
{
        if (!c)
                return;
        EVP_MD_CTX_free(c->md);
        free(c);
}

int sha256_digest_of(const void *buf, size_t n, char out[static 72], struct qerr **err)
{
        _cleanup_sha256_ struct sha256_ctx *c = NULL;
        int r = sha256_new(&c, err);
        if (r < 0)
                return r;
        sha256_update(c, buf, n);
        sha256_final_digest(c, out);
        return 0;
}
