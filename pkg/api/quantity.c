/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/quantity.h"
#include "basic/macro.h"

#define DIGITS "0123456789"
#define NANO 1000000000
/* Room in front of the digits for what multiplying by 2^60 adds (at most 19 digits). */
#define BINARY_HEADROOM 20
/* Kubernetes caps BinarySI values at 2^63-1. */
#define BINARY_CAP_NANOS ((__int128)INT64_MAX * NANO)

/* Parsed pieces of "[sign]digits[.digits]suffix". */
struct pieces {
        bool negative;
        const char *int_digits;
        size_t n_int;
        const char *frac_digits;
        size_t n_frac;
        const char *suffix;
};

struct scale {
        int64_t exp10; /* power of ten of the suffix */
        unsigned shift2; /* power of two of the suffix (binary SI) */
        enum quantity_format format;
};

static const struct {
        const char *name;
        int exp10;
} decimal_suffixes[] = {
        { "n", -9 }, { "u", -6 }, { "m", -3 }, { "", 0 },   { "k", 3 },
        { "M", 6 },  { "G", 9 },  { "T", 12 }, { "P", 15 }, { "E", 18 },
};

static const char *const binary_suffixes[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };

/* Splits like Kubernetes' scanner: the suffix is any run of "eEinumkKMGTP", then an optional
 * sign and digits up to the end. An empty number ("-", "m", "Ki") scans as zero there, so it
 * does here too. */
static int split_pieces(const char *s, struct pieces *ret)
{
        struct pieces p = { 0 };

        if (*s == '+' || *s == '-')
                p.negative = *s++ == '-';
        p.int_digits = s;
        p.n_int = strspn(s, DIGITS);
        s += p.n_int;
        if (*s == '.') {
                p.frac_digits = ++s;
                p.n_frac = strspn(s, DIGITS);
                s += p.n_frac;
        }
        p.suffix = s;
        s += strspn(s, "eEinumkKMGTP");
        if (*s == '+' || *s == '-')
                s++;
        s += strspn(s, DIGITS);
        if (*s != '\0')
                return -EINVAL;
        *ret = p;
        return 0;
}

/* "e<int>" / "E<int>": Go's ParseInt accepts an optional sign and at least one digit.
 * Kubernetes refuses exponents whose negation does not fit in int32. */
static int parse_exponent(const char *s, int64_t *ret)
{
        bool negative = false;
        int64_t v = 0;

        if (*s == '+' || *s == '-')
                negative = *s++ == '-';
        if (*s == '\0' || strspn(s, DIGITS) != strlen(s))
                return -EINVAL;
        for (; *s; s++) {
                v = v * 10 + (*s - '0');
                if (v > INT32_MAX)
                        return -EINVAL;
        }
        *ret = negative ? -v : v;
        return 0;
}

static int interpret_suffix(const char *suffix, struct scale *ret)
{
        for (size_t i = 0; i < ELEMENTSOF(decimal_suffixes); i++)
                if (strcmp(suffix, decimal_suffixes[i].name) == 0) {
                        *ret = (struct scale){ decimal_suffixes[i].exp10, 0, QUANTITY_DECIMAL_SI };
                        return 0;
                }
        for (size_t i = 1; i < ELEMENTSOF(binary_suffixes); i++)
                if (strcmp(suffix, binary_suffixes[i]) == 0) {
                        *ret = (struct scale){ 0, 10 * i, QUANTITY_BINARY_SI };
                        return 0;
                }
        if ((suffix[0] == 'e' || suffix[0] == 'E') && suffix[1] != '\0') {
                int64_t e;
                if (parse_exponent(suffix + 1, &e) < 0)
                        return -EINVAL;
                *ret = (struct scale){ e, 0, QUANTITY_DECIMAL_EXPONENT };
                return 0;
        }
        return -EINVAL;
}

/* Multiplies the decimal digits d[*start..end) by 1024 in place, growing towards the front. */
static void digits_mul_1024(uint8_t *d, size_t *start, size_t end)
{
        unsigned carry = 0;

        for (size_t i = end; i > *start; i--) {
                unsigned v = d[i - 1] * 1024u + carry;
                d[i - 1] = v % 10;
                carry = v / 10;
        }
        for (; carry > 0; carry /= 10)
                d[--*start] = carry % 10;
}

/* ceil(digits with the nano point after `point` digits); -ERANGE when it exceeds int128. */
static int digits_to_nanos(const uint8_t *d, size_t n, int64_t point, __int128 *ret)
{
        __int128 v = 0;

        if (point > 39)
                return -ERANGE;
        for (int64_t i = 0; i < point; i++)
                if (__builtin_mul_overflow(v, 10, &v) ||
                    __builtin_add_overflow(v, (size_t)i < n ? d[i] : 0, &v))
                        return -ERANGE;
        for (size_t i = point > 0 ? (size_t)point : 0; i < n; i++)
                if (d[i] != 0) {
                        if (__builtin_add_overflow(v, 1, &v))
                                return -ERANGE;
                        break;
                }
        *ret = v;
        return 0;
}

/* The magnitude in nanos, rounded up to one nano. The digits are copied so that a binary
 * suffix can be multiplied in exactly: only then is the rounding known. */
static int magnitude_nanos(const struct pieces *p, const struct scale *sc, __int128 *ret)
{
        const char *i = p->int_digits, *f = p->frac_digits;
        size_t n_int = p->n_int, n_frac = p->n_frac;
        int64_t point;

        while (n_int > 0 && *i == '0')
                i++, n_int--;
        /* Where the nano point falls, counted from the first significant digit; exp10 is
         * within int32 and the lengths within the string, so this does not overflow. */
        point = (int64_t)n_int + sc->exp10 + 9;
        if (n_int == 0)
                while (n_frac > 0 && *f == '0')
                        f++, n_frac--, point--;
        while (n_frac > 0 && f[n_frac - 1] == '0')
                n_frac--;
        if (n_frac == 0)
                while (n_int > 0 && i[n_int - 1] == '0')
                        n_int--;
        if (n_int + n_frac == 0) {
                *ret = 0;
                return 0;
        }

        size_t n = n_int + n_frac, start = BINARY_HEADROOM, end = BINARY_HEADROOM + n;
        _cleanup_free_ uint8_t *d = malloc(end);
        if (!d)
                return -ENOMEM;
        for (size_t k = 0; k < n; k++)
                d[start + k] = (k < n_int ? i[k] : f[k - n_int]) - '0';
        for (unsigned k = 0; k < sc->shift2 / 10; k++) {
                size_t old = start;
                digits_mul_1024(d, &start, end);
                point += (int64_t)(old - start);
        }
        return digits_to_nanos(d + start, end - start, point, ret);
}

static int refuse(const char **ret_reason, const char *reason, int r)
{
        if (ret_reason)
                *ret_reason = reason;
        return r;
}

int quantity_parse(const char *s, struct quantity *ret, const char **ret_reason)
{
        struct pieces p;
        struct scale sc;
        __int128 mag;
        int r;

        if (!s || *s == '\0')
                return refuse(ret_reason, "empty quantity", -EINVAL);
        if (split_pieces(s, &p) < 0)
                return refuse(ret_reason, "invalid number", -EINVAL);
        if (interpret_suffix(p.suffix, &sc) < 0)
                return refuse(ret_reason, "invalid suffix", -EINVAL);

        r = magnitude_nanos(&p, &sc, &mag);
        if (r == -ERANGE && sc.format == QUANTITY_BINARY_SI)
                mag = BINARY_CAP_NANOS, r = 0;
        if (r == -ENOMEM)
                return refuse(ret_reason, "out of memory", r);
        if (r < 0)
                return refuse(ret_reason, "quantity too large", r);

        if (sc.format == QUANTITY_BINARY_SI && mag > BINARY_CAP_NANOS)
                mag = BINARY_CAP_NANOS;
        /* Kubernetes gives a binary value below one the decimal format:
         * ".000000000001Ki" is "2n". */
        if (sc.format == QUANTITY_BINARY_SI && mag > 0 && mag < NANO)
                sc.format = QUANTITY_DECIMAL_SI;

        *ret = (struct quantity){ .nanos = p.negative ? -mag : mag, .format = sc.format };
        return 0;
}

/* ceil(|nanos| / div) with the sign put back: negatives round away from zero, as the int64
 * path of Kubernetes' Value()/MilliValue() does. */
static int nanos_div_round_up(__int128 nanos, int64_t div, int64_t *ret)
{
        unsigned __int128 mag = nanos < 0 ? -(unsigned __int128)nanos : (unsigned __int128)nanos;
        unsigned __int128 q = mag / div + (mag % div != 0);

        if (nanos >= 0) {
                if (q > INT64_MAX)
                        return -ERANGE;
                *ret = (int64_t)q;
        } else {
                if (q > (unsigned __int128)INT64_MAX + 1)
                        return -ERANGE;
                *ret = q == (unsigned __int128)INT64_MAX + 1 ? INT64_MIN : -(int64_t)q;
        }
        return 0;
}

int quantity_value(const struct quantity *q, int64_t *ret)
{
        return nanos_div_round_up(q->nanos, NANO, ret);
}

int quantity_milli_value(const struct quantity *q, int64_t *ret)
{
        return nanos_div_round_up(q->nanos, NANO / 1000, ret);
}

int quantity_cmp(const struct quantity *a, const struct quantity *b)
{
        return (a->nanos > b->nanos) - (a->nanos < b->nanos);
}

static void u128_to_str(unsigned __int128 v, char buf[static 40])
{
        char tmp[40];
        size_t n = 0;

        do {
                tmp[n++] = '0' + (char)(v % 10);
                v /= 10;
        } while (v > 0);
        for (size_t k = 0; k < n; k++)
                buf[k] = tmp[n - 1 - k];
        buf[n] = '\0';
}

/* Mantissa and power of ten with the power a multiple of three and as large as possible. */
static void decimal_form(unsigned __int128 mag, unsigned __int128 *ret_mantissa, int *ret_exp10)
{
        int e = -9;

        while (mag % 10 == 0)
                mag /= 10, e++;
        /* Going back down never overflows: only stripped zeros are put back. */
        while (e % 3 != 0)
                mag *= 10, e--;
        *ret_mantissa = mag;
        *ret_exp10 = e;
}

static void decimal_suffix(int e, enum quantity_format format, char buf[static 16])
{
        if (format == QUANTITY_DECIMAL_SI)
                for (size_t i = 0; i < ELEMENTSOF(decimal_suffixes); i++)
                        if (decimal_suffixes[i].exp10 == e) {
                                strcpy(buf, decimal_suffixes[i].name);
                                return;
                        }
        /* DecimalSI has nothing above E: Kubernetes falls back to exponent notation. */
        if (e == 0)
                buf[0] = '\0';
        else
                snprintf(buf, 16, "e%d", e);
}

char *quantity_to_string(const struct quantity *q)
{
        unsigned __int128 mag = q->nanos < 0 ? -(unsigned __int128)q->nanos
                                             : (unsigned __int128)q->nanos;
        enum quantity_format format = q->format;
        char digits[40], suffix[16];
        char *s;

        if (mag == 0)
                return strdup("0");
        if (format == QUANTITY_BINARY_SI &&
            (mag < (unsigned __int128)1024 * NANO || mag % NANO != 0))
                format = QUANTITY_DECIMAL_SI;

        if (format == QUANTITY_BINARY_SI) {
                unsigned __int128 v = mag / NANO;
                size_t k = 0;
                while (k + 1 < ELEMENTSOF(binary_suffixes) && v % 1024 == 0)
                        v /= 1024, k++;
                u128_to_str(v, digits);
                strcpy(suffix, binary_suffixes[k]);
        } else {
                unsigned __int128 m;
                int e;
                decimal_form(mag, &m, &e);
                u128_to_str(m, digits);
                decimal_suffix(e, format, suffix);
        }
        if (asprintf(&s, "%s%s%s", q->nanos < 0 ? "-" : "", digits, suffix) < 0)
                return NULL;
        return s;
}
