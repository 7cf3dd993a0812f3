/* SPDX-License-Identifier: Apache-2.0 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/reference.h"

/* libFuzzer target: image reference parsing. A refused reference says why; an accepted one
 * has every part, its name is domain "/" path, and its full form is a fixed point: parsing it
 * again gives the same parts. */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool str_eq_null(const char *a, const char *b)
{
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_parts(const struct image_ref *r)
{
        if (!r->domain || !r->path || !r->name || !r->full || (!r->tag && !r->digest))
                abort();
        size_t dl = strlen(r->domain);
        if (strncmp(r->name, r->domain, dl) != 0 || r->name[dl] != '/' ||
            strcmp(r->name + dl + 1, r->path) != 0)
                abort();
        if (r->digest && image_digest_validate(r->digest, NULL) < 0)
                abort();
        if (!image_ref_registry_host(r) || !image_ref_manifest_key(r))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *s = strndup((const char *)data, size);
        _cleanup_image_ref_ struct image_ref *r = NULL, *again = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        if (!s)
                return 0;
        if (image_ref_parse(s, &r, &e) < 0) {
                if (!e || !qerr_msg(e) || r)
                        abort();
                return 0;
        }
        check_parts(r);
        if (image_ref_parse(r->full, &again, NULL) < 0)
                abort();
        if (strcmp(again->full, r->full) != 0 || strcmp(again->domain, r->domain) != 0 ||
            strcmp(again->path, r->path) != 0 || !str_eq_null(again->tag, r->tag) ||
            !str_eq_null(again->digest, r->digest))
                abort();
        return 0;
}
