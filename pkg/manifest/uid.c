/* SPDX-License-Identifier: Apache-2.0 */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "basic/strbuf.h"
#include "manifest/canonical.h"
#include "manifest/manifest.h"

/* The canonical form of a node: layout, comments, quoting and key order do not matter, every
 * scalar counts as its string value. Each item is length-prefixed, so no two different trees
 * share a form. Aliases are expanded; the tree builder already bounded their expansion. */
static void canon_node(struct strbuf *sb, const struct ynode *n);

/* "s12:", "l3[", "m2{": the tag, a count and a delimiter. This runs for every node of every
 * manifest, so it formats the number itself rather than through printf. */
static void canon_header(struct strbuf *sb, char tag, size_t count, char delim)
{
        char buf[24];
        size_t i = sizeof(buf);
        buf[--i] = delim;
        do {
                buf[--i] = (char)('0' + count % 10);
                count /= 10;
        } while (count > 0);
        buf[--i] = tag;
        strbuf_append_n(sb, buf + i, sizeof(buf) - i);
}

static int cmp_pairs(const void *a, const void *b)
{
        return ynode_key_cmp(*(const struct ynode *const *)a, *(const struct ynode *const *)b);
}

static void canon_mapping(struct strbuf *sb, const struct ynode *n)
{
        size_t np = n->n / 2;
        canon_header(sb, 'm', np, '{');
        _cleanup_free_ const struct ynode **pairs = malloc((np ? np : 1) * 2 * sizeof(*pairs));
        if (!pairs) {
                sb->oom = true;
                return;
        }
        memcpy(pairs, n->items, np * 2 * sizeof(*pairs));
        qsort(pairs, np, 2 * sizeof(*pairs), cmp_pairs);
        for (size_t i = 0; i < np; i++) {
                canon_node(sb, pairs[2 * i]);
                canon_node(sb, pairs[2 * i + 1]);
        }
        strbuf_append_char(sb, '}');
}

static void canon_node(struct strbuf *sb, const struct ynode *n)
{
        if (!n) {
                strbuf_append(sb, "s0:");
                return;
        }
        switch (n->kind) {
        case YNODE_SCALAR:
                canon_header(sb, 's', n->len, ':');
                strbuf_append_n(sb, n->value, n->len);
                break;
        case YNODE_SEQUENCE:
                canon_header(sb, 'l', n->n, '[');
                for (size_t i = 0; i < n->n; i++)
                        canon_node(sb, n->items[i]);
                strbuf_append_char(sb, ']');
                break;
        case YNODE_MAPPING:
                canon_mapping(sb, n);
                break;
        }
}

char *manifest_canonical(const struct ynode *n, size_t *ret_len)
{
        _cleanup_strbuf_ struct strbuf sb = { 0 };
        canon_node(&sb, n);
        if (sb.oom)
                return NULL;
        *ret_len = sb.len;
        return strbuf_steal(&sb);
}

/* OpenSSL 3 looks the digest up in its provider tables on every EVP_sha256() init; fetched
 * once, the hash of a small manifest costs a fraction of that. */
static EVP_MD *sha256;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void fetch_sha256(void)
{
        sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

char *manifest_compute_uid(const char *node_name, const char *source, unsigned doc_index,
                           unsigned item_index, const char *canonical, size_t canonical_len)
{
        char idx[2][16];
        snprintf(idx[0], sizeof(idx[0]), "%u", doc_index);
        snprintf(idx[1], sizeof(idx[1]), "%u", item_index);
        const char *parts[] = { node_name, source, idx[0], idx[1] };
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned md_len = 0;
        if (pthread_once(&sha256_once, fetch_sha256) != 0 || !sha256)
                return NULL;
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        if (!ctx)
                return NULL;
        int ok = EVP_DigestInit_ex(ctx, sha256, NULL);
        for (size_t i = 0; ok && i < ELEMENTSOF(parts); i++)
                ok = EVP_DigestUpdate(ctx, parts[i], strlen(parts[i])) &&
                     EVP_DigestUpdate(ctx, "", 1);
        ok = ok && EVP_DigestUpdate(ctx, canonical, canonical_len) &&
             EVP_DigestFinal_ex(ctx, md, &md_len);
        EVP_MD_CTX_free(ctx);
        if (!ok || md_len < 16)
                return NULL;
        char *uid = malloc(33);
        if (!uid)
                return NULL;
        static const char hex[] = "0123456789abcdef";
        for (size_t i = 0; i < 16; i++) {
                uid[2 * i] = hex[md[i] >> 4];
                uid[2 * i + 1] = hex[md[i] & 15];
        }
        uid[32] = 0;
        return uid;
}
