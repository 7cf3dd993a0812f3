/* SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/quantity.h"

/* libFuzzer target: resource.Quantity parsing. A parsed quantity must survive its canonical
 * string: parsing that string gives the same value. */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *s = strndup((const char *)data, size);
        struct quantity q, back;
        const char *reason = NULL;
        int64_t v;
        if (!s)
                return 0;
        if (quantity_parse(s, &q, &reason) < 0) {
                if (!reason)
                        abort();
                return 0;
        }
        (void)quantity_value(&q, &v);
        (void)quantity_milli_value(&q, &v);
        _cleanup_free_ char *str = quantity_to_string(&q);
        if (!str)
                abort();
        if (quantity_parse(str, &back, NULL) < 0 || quantity_cmp(&q, &back) != 0)
                abort();
        return 0;
}
