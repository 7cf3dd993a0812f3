/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "basic/error.h"

/* resource.Quantity in exact decimal arithmetic: the value times 10^9 in a 128-bit integer,
 * rounded away from zero to one nano when parsed, as Kubernetes does. No floating point. */
enum quantity_format {
        QUANTITY_DECIMAL_SI,
        QUANTITY_BINARY_SI,
        QUANTITY_DECIMAL_EXPONENT,
};

struct quantity {
        __int128 nanos;
        enum quantity_format format;
};

/* Parses the Kubernetes grammar (reference section 2). On failure returns -EINVAL (or -ERANGE
 * for a value too large to hold, -ENOMEM) and, if ret_reason is not NULL, a static string
 * saying why. */
int quantity_parse(const char *s, struct quantity *ret, const char **ret_reason);

/* Value(): ceil(q); a negative q rounds away from zero (-1.5 gives -2) as Kubernetes' int64
 * path does. -ERANGE when it does not fit in int64. */
int quantity_value(const struct quantity *q, int64_t *ret);
/* MilliValue(): ceil(q * 1000), negatives likewise. -ERANGE when it does not fit in int64. */
int quantity_milli_value(const struct quantity *q, int64_t *ret);

int quantity_cmp(const struct quantity *a, const struct quantity *b);
static inline bool quantity_is_zero(const struct quantity *q)
{
        return q->nanos == 0;
}
static inline bool quantity_is_negative(const struct quantity *q)
{
        return q->nanos < 0;
}

/* The canonical string (String()): "1500m", "1536Mi", "1k". Caller frees. */
char *quantity_to_string(const struct quantity *q);
