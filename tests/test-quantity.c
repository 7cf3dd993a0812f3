/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/quantity.h"
#include "basic/macro.h"

#define DSI QUANTITY_DECIMAL_SI
#define BSI QUANTITY_BINARY_SI
#define DEX QUANTITY_DECIMAL_EXPONENT

/* Decimal text of a 128-bit value, so expectations beyond int64 can be written plainly. */
static const char *i128_str(__int128 v, char buf[static 48])
{
        unsigned __int128 m = v < 0 ? -(unsigned __int128)v : (unsigned __int128)v;
        char tmp[48];
        size_t n = 0;

        do {
                tmp[n++] = '0' + (char)(m % 10);
                m /= 10;
        } while (m > 0);
        if (v < 0)
                tmp[n++] = '-';
        for (size_t k = 0; k < n; k++)
                buf[k] = tmp[n - 1 - k];
        buf[n] = '\0';
        return buf;
}

static struct quantity must_parse(const char *s)
{
        struct quantity q;
        const char *reason = NULL;
        int r = quantity_parse(s, &q, &reason);
        cr_assert_eq(r, 0, "parse '%s': %d (%s)", s, r, reason ? reason : "");
        return q;
}

static void assert_nanos(const char *input, const struct quantity *q, const char *expect)
{
        char buf[48];
        cr_assert_str_eq(i128_str(q->nanos, buf), expect, "'%s': nanos %s, want %s", input, buf,
                         expect);
}

/* Section 11.K of the reference plus the TestQuantityParse table of Kubernetes. value_r and
 * milli_r are 0 or -ERANGE. */
struct parse_vector {
        const char *input;
        const char *nanos;
        enum quantity_format format;
        int value_r;
        int64_t value;
        int milli_r;
        int64_t milli;
};

static const struct parse_vector parse_vectors[] = {
        { "0", "0", DSI, 0, 0, 0, 0 },
        { "1", "1000000000", DSI, 0, 1, 0, 1000 },
        { "9", "9000000000", DSI, 0, 9, 0, 9000 },
        { "1Ki", "1024000000000", BSI, 0, 1024, 0, 1024000 },
        { "8Ki", "8192000000000", BSI, 0, 8192, 0, 8192000 },
        { "7Mi", "7340032000000000", BSI, 0, 7340032, 0, 7340032000 },
        { "6Gi", "6442450944000000000", BSI, 0, 6442450944, 0, 6442450944000 },
        { "5Ti", "5497558138880000000000", BSI, 0, 5497558138880, 0, 5497558138880000 },
        { "4Pi", "4503599627370496000000000", BSI, 0, 4503599627370496, 0, 4503599627370496000 },
        { "3Ei", "3458764513820540928000000000", BSI, 0, 3458764513820540928, -ERANGE, 0 },
        { "0Ki", "0", BSI, 0, 0, 0, 0 },
        { "0n", "0", DSI, 0, 0, 0, 0 },
        { "5n", "5", DSI, 0, 1, 0, 1 },
        { "4u", "4000", DSI, 0, 1, 0, 1 },
        { "3m", "3000000", DSI, 0, 1, 0, 3 },
        { "8k", "8000000000000", DSI, 0, 8000, 0, 8000000 },
        { "50k", "50000000000000", DSI, 0, 50000, 0, 50000000 },
        { "7M", "7000000000000000", DSI, 0, 7000000, 0, 7000000000 },
        { "6G", "6000000000000000000", DSI, 0, 6000000000, 0, 6000000000000 },
        { "40T", "40000000000000000000000", DSI, 0, 40000000000000, 0, 40000000000000000 },
        { "2P", "2000000000000000000000000", DSI, 0, 2000000000000000, 0, 2000000000000000000 },
        { "1E", "1000000000000000000000000000", DSI, 0, 1000000000000000000, -ERANGE, 0 },
        { "1.01E", "1010000000000000000000000000", DSI, 0, 1010000000000000000, -ERANGE, 0 },
        { "1E-3", "1000000", DEX, 0, 1, 0, 1 },
        { "1e3", "1000000000000", DEX, 0, 1000, 0, 1000000 },
        { "1E18", "1000000000000000000000000000", DEX, 0, 1000000000000000000, -ERANGE, 0 },
        { "1.2e3", "1200000000000", DEX, 0, 1200, 0, 1200000 },
        { "1.3E+6", "1300000000000000", DEX, 0, 1300000, 0, 1300000000 },
        { "1.40e9", "1400000000000000000", DEX, 0, 1400000000, 0, 1400000000000 },
        { "0.5e-1", "50000000", DEX, 0, 1, 0, 50 },
        { "100.035k", "100035000000000", DSI, 0, 100035, 0, 100035000 },
        { "0.0005k", "500000000", DSI, 0, 1, 0, 500 },
        { "0.00050k", "500000000", DSI, 0, 1, 0, 500 },
        { "10.035M", "10035000000000000", DSI, 0, 10035000, 0, 10035000000 },
        { "7.123456M", "7123456000000000", DSI, 0, 7123456, 0, 7123456000 },
        { "6.987654321G", "6987654321000000000", DSI, 0, 6987654321, 0, 6987654321000 },
        { "9.01", "9010000000", DSI, 0, 10, 0, 9010 },
        { "3.001n", "4", DSI, 0, 1, 0, 1 },
        { "1.1E-9", "2", DEX, 0, 1, 0, 1 },
        { "0.0000000001", "1", DSI, 0, 1, 0, 1 },
        { "0.0000000005", "1", DSI, 0, 1, 0, 1 },
        { "0.5e-9", "1", DEX, 0, 1, 0, 1 },
        { "0.9n", "1", DSI, 0, 1, 0, 1 },
        { "0.00000012345", "124", DSI, 0, 1, 0, 1 },
        { "0.00000012354", "124", DSI, 0, 1, 0, 1 },
        { "9Ei", "9223372036854775807000000000", BSI, 0, INT64_MAX, -ERANGE, 0 },
        { "9223372036854775807Ki", "9223372036854775807000000000", BSI, 0, INT64_MAX, -ERANGE, 0 },
        { "12E", "12000000000000000000000000000", DSI, -ERANGE, 0, -ERANGE, 0 },
        { "100.035Ki", "102435840000000", BSI, 0, 102436, 0, 102435840 },
        { "0.5Mi", "524288000000000", BSI, 0, 524288, 0, 524288000 },
        { "0.05Gi", "53687091200000000", BSI, 0, 53687092, 0, 53687091200 },
        { "0.025Ti", "27487790694400000000", BSI, 0, 27487790695, 0, 27487790694400 },
        /* The reference says 1e-9 here; Kubernetes (TestQuantityParse) gives 2n, since
         * 1e-12 x 1024 = 1.024n rounds up. */
        { "0.000000000001Ki", "2", DSI, 0, 1, 0, 1 },
        { ".001", "1000000", DSI, 0, 1, 0, 1 },
        { ".0001k", "100000000", DSI, 0, 1, 0, 100 },
        { "1.", "1000000000", DSI, 0, 1, 0, 1000 },
        { "1.G", "1000000000000000000", DSI, 0, 1000000000, 0, 1000000000000 },
        /* Rounding of Value() and MilliValue(). */
        { "100m", "100000000", DSI, 0, 1, 0, 100 },
        { "1.5", "1500000000", DSI, 0, 2, 0, 1500 },
        { "2.5", "2500000000", DSI, 0, 3, 0, 2500 },
        { "0.1m", "100000", DSI, 0, 1, 0, 1 },
        { "250m", "250000000", DSI, 0, 1, 0, 250 },
        { "1.5Gi", "1610612736000000000", BSI, 0, 1610612736, 0, 1610612736000 },
        { "128Mi", "134217728000000000", BSI, 0, 134217728, 0, 134217728000 },
};

static void check_vector(const struct parse_vector *v, const char *prefix, int sign)
{
        char input[64], expect[64];
        int64_t got;
        snprintf(input, sizeof(input), "%s%s", prefix, v->input);
        snprintf(expect, sizeof(expect), "%s%s", sign < 0 && strcmp(v->nanos, "0") != 0 ? "-" : "",
                 v->nanos);

        struct quantity q = must_parse(input);
        assert_nanos(input, &q, expect);
        cr_assert_eq(q.format, v->format, "'%s': format %d", input, q.format);
        cr_assert_eq(quantity_value(&q, &got), v->value_r, "'%s': value", input);
        if (v->value_r == 0)
                cr_assert_eq(got, sign * v->value, "'%s': value %ld", input, (long)got);
        cr_assert_eq(quantity_milli_value(&q, &got), v->milli_r, "'%s': milli", input);
        if (v->milli_r == 0)
                cr_assert_eq(got, sign * v->milli, "'%s': milli %ld", input, (long)got);
}

Test(quantity, parse_vectors)
{
        for (size_t i = 0; i < ELEMENTSOF(parse_vectors); i++)
                check_vector(&parse_vectors[i], "", 1);
}

/* As Kubernetes' own test does: every vector with an explicit sign. Negative values round
 * away from zero, so Value("-1.5") is -2. */
Test(quantity, parse_vectors_signed)
{
        for (size_t i = 0; i < ELEMENTSOF(parse_vectors); i++) {
                check_vector(&parse_vectors[i], "+", 1);
                check_vector(&parse_vectors[i], "-", -1);
        }
}

struct invalid_vector {
        const char *input;
        const char *reason;
};

static const struct invalid_vector invalid_vectors[] = {
        { "", "empty quantity" },
        { "1.1.M", "invalid number" },
        { "1+1.0M", "invalid number" },
        { "0.1mi", "invalid suffix" },
        { "0.1am", "invalid number" },
        { "aoeu", "invalid number" },
        { ".5i", "invalid suffix" },
        { "1i", "invalid suffix" },
        { "-3.01i", "invalid suffix" },
        { "-3.01e-", "invalid suffix" },
        { " 1", "invalid number" },
        { "1 ", "invalid number" },
        { "1K", "invalid suffix" },
        { "1gi", "invalid number" },
        /* Section 2 lists these suffixes as invalid; with and without a number. */
        { "K", "invalid suffix" },
        { "ki", "invalid suffix" },
        { "mi", "invalid suffix" },
        { "KB", "invalid number" },
        { "Gb", "invalid number" },
        { "1ki", "invalid suffix" },
        { "1mi", "invalid suffix" },
        { "1KB", "invalid number" },
        { "1Gb", "invalid number" },
        { "1.1.1Gi", "invalid number" },
        /* Exponent past int32: Kubernetes refuses it rather than truncating it. */
        { "1e4294967297", "invalid suffix" },
        { "1e2147483648", "invalid suffix" },
        { "1e-2147483648", "invalid suffix" },
        { "1e99999999999999999999", "invalid suffix" },
        { "1e", "invalid suffix" },
        { "1E+", "invalid suffix" },
        { "1ee3", "invalid suffix" },
        { "1eKi", "invalid suffix" },
        { "1Kii", "invalid suffix" },
        { "--1", "invalid suffix" },
        { "1e3.5", "invalid number" },
        { "1e3e", "invalid number" },
        { "0x10", "invalid number" },
        { "1_000", "invalid number" },
        { "1,5", "invalid number" },
        { "1\t", "invalid number" },
        { "\n1", "invalid number" },
        { "1Mi ", "invalid number" },
};

Test(quantity, invalid_forms)
{
        for (size_t i = 0; i < ELEMENTSOF(invalid_vectors); i++) {
                const struct invalid_vector *v = &invalid_vectors[i];
                struct quantity q = { .nanos = 42, .format = BSI };
                const char *reason = NULL;
                cr_assert_eq(quantity_parse(v->input, &q, &reason), -EINVAL, "'%s' parsed",
                             v->input);
                cr_assert_str_eq(reason, v->reason, "'%s': reason '%s'", v->input, reason);
                cr_assert(q.nanos == 42 && q.format == BSI, "'%s': ret written on failure",
                          v->input);
        }
}

Test(quantity, invalid_without_reason_pointer)
{
        struct quantity q;
        cr_assert_eq(quantity_parse("1.1.1Gi", &q, NULL), -EINVAL);
        cr_assert_eq(quantity_parse("1e100", &q, NULL), -ERANGE);
}

/* One test per rule of the grammar in section 2. */
struct grammar_vector {
        const char *input;
        const char *nanos;
        enum quantity_format format;
};

static void check_grammar(const struct grammar_vector *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                struct quantity q = must_parse(v[i].input);
                assert_nanos(v[i].input, &q, v[i].nanos);
                cr_assert_eq(q.format, v[i].format, "'%s': format %d", v[i].input, q.format);
        }
}

Test(quantity, grammar_sign)
{
        static const struct grammar_vector v[] = {
                { "+5", "5000000000", DSI },
                { "-5", "-5000000000", DSI },
                { "-0", "0", DSI },
                { "+0.5Ki", "512000000000", BSI },
                { "-0.5Ki", "-512000000000", BSI },
        };
        check_grammar(v, ELEMENTSOF(v));
}

Test(quantity, grammar_number_forms)
{
        static const struct grammar_vector v[] = {
                { "12", "12000000000", DSI },
                { "12.25", "12250000000", DSI },
                { "12.", "12000000000", DSI },
                { ".25", "250000000", DSI },
                { ".", "0", DSI },
                { "-.", "0", DSI },
                { "007", "7000000000", DSI },
                { "007.500", "7500000000", DSI },
                { "0.000", "0", DSI },
                { "1.Ki", "1024000000000", BSI },
                { ".5Ki", "512000000000", BSI },
                { "000000000000000000000000000000001", "1000000000", DSI },
        };
        check_grammar(v, ELEMENTSOF(v));
}

/* Kubernetes' scanner treats a missing number as zero: "-", "m" and "Ki" parse as 0. */
Test(quantity, grammar_missing_number_is_zero)
{
        static const struct grammar_vector v[] = {
                { "-", "0", DSI },  { "+", "0", DSI },   { "m", "0", DSI },
                { "Ki", "0", BSI }, { "-Mi", "0", BSI }, { "e5", "0", DEX },
        };
        check_grammar(v, ELEMENTSOF(v));
}

Test(quantity, grammar_decimal_si_suffixes)
{
        static const struct grammar_vector v[] = {
                { "1n", "1", DSI },
                { "1u", "1000", DSI },
                { "1m", "1000000", DSI },
                { "1k", "1000000000000", DSI },
                { "1M", "1000000000000000", DSI },
                { "1G", "1000000000000000000", DSI },
                { "1T", "1000000000000000000000", DSI },
                { "1P", "1000000000000000000000000", DSI },
                { "1E", "1000000000000000000000000000", DSI },
        };
        check_grammar(v, ELEMENTSOF(v));
}

Test(quantity, grammar_binary_si_suffixes)
{
        static const struct grammar_vector v[] = {
                { "1Ki", "1024000000000", BSI },
                { "1Mi", "1048576000000000", BSI },
                { "1Gi", "1073741824000000000", BSI },
                { "1Ti", "1099511627776000000000", BSI },
                { "1Pi", "1125899906842624000000000", BSI },
                { "1Ei", "1152921504606846976000000000", BSI },
        };
        check_grammar(v, ELEMENTSOF(v));
}

Test(quantity, grammar_exponent)
{
        static const struct grammar_vector v[] = {
                { "1e3", "1000000000000", DEX },
                { "1E3", "1000000000000", DEX },
                { "1e+3", "1000000000000", DEX },
                { "1e-3", "1000000", DEX },
                { "1E-3", "1000000", DEX },
                { "1e0", "1000000000", DEX },
                { "1e007", "10000000000000000", DEX },
                { "2.5e-10", "1", DEX },
                { "1e-2147483647", "1", DEX },
                { "0e2147483647", "0", DEX },
                { "0e-2147483647", "0", DEX },
                { "1e29", "100000000000000000000000000000000000000", DEX },
        };
        check_grammar(v, ELEMENTSOF(v));
}

/* "E" alone is exa; only "E" followed by a signed integer is an exponent. */
Test(quantity, grammar_E_is_exa)
{
        struct quantity exa = must_parse("2E"), exp = must_parse("2E2");
        assert_nanos("2E", &exa, "2000000000000000000000000000");
        cr_assert_eq(exa.format, DSI);
        assert_nanos("2E2", &exp, "200000000000");
        cr_assert_eq(exp.format, DEX);
}

Test(quantity, grammar_rounds_up_to_nano)
{
        static const struct grammar_vector v[] = {
                { "0.5n", "1", DSI },
                { "1.0000000001", "1000000001", DSI },
                { "-1.0000000001", "-1000000001", DSI },
                { "0.0000000000000000000000000000000000000000000000001", "1", DSI },
                { "1.000000000000000000000000000000000000000000000000", "1000000000", DSI },
                { "0.000000001Ki", "1024", DSI },
                { "0.0000000000009765625Ki", "1", DSI },
                { "0.00000000000097656251Ki", "2", DSI },
        };
        check_grammar(v, ELEMENTSOF(v));
}

Test(quantity, binary_below_one_becomes_decimal)
{
        static const struct grammar_vector v[] = {
                { "0.0001Ki", "102400000", DSI },
                { "-0.0001Ki", "-102400000", DSI },
                { "0.0009765625Ki", "1000000000", BSI },
        };
        check_grammar(v, ELEMENTSOF(v));
}

/* BinarySI is capped at 2^63-1 however large the digits, so it never gives -ERANGE. */
Test(quantity, binary_cap)
{
        static const struct grammar_vector v[] = {
                { "8Ei", "9223372036854775807000000000", BSI },
                { "-8Ei", "-9223372036854775807000000000", BSI },
                { "9223372036854775807Ki", "9223372036854775807000000000", BSI },
                { "999999999999999999999999999999999999999999999999Ei",
                  "9223372036854775807000000000", BSI },
                { "7Ei", "8070450532247928832000000000", BSI },
        };
        check_grammar(v, ELEMENTSOF(v));
}

Test(quantity, too_large_is_erange)
{
        static const char *const inputs[] = {
                "1e100",
                "-1e100",
                "2e29",
                "1e2147483647",
                "1000000000000000000000000000000",
                "170141183460469231731.687303715884105728E",
                "100000000000000000000000E",
        };
        for (size_t i = 0; i < ELEMENTSOF(inputs); i++) {
                struct quantity q = { .nanos = 42 };
                const char *reason = NULL;
                cr_assert_eq(quantity_parse(inputs[i], &q, &reason), -ERANGE, "'%s'", inputs[i]);
                cr_assert_str_eq(reason, "quantity too large");
                cr_assert(q.nanos == 42, "'%s': ret written", inputs[i]);
        }
}

/* The largest nanos int128 holds parses; one more nano does not. */
Test(quantity, int128_edge)
{
        struct quantity q = must_parse("170141183460469231731687303715.884105727");
        assert_nanos("max", &q, "170141183460469231731687303715884105727");
        cr_assert_eq(quantity_parse("170141183460469231731687303715.8841057271", &q, NULL),
                     -ERANGE);
        cr_assert_eq(quantity_parse("170141183460469231731687303715.884105728", &q, NULL), -ERANGE);
        q = must_parse("-170141183460469231731687303715.884105727");
        assert_nanos("min", &q, "-170141183460469231731687303715884105727");
}

Test(quantity, user_cases)
{
        struct quantity q;
        int64_t v;

        q = must_parse("1.1Gi");
        cr_assert_eq(quantity_value(&q, &v), 0);
        cr_assert_eq(v, 1181116007);

        q = must_parse("0.1");
        cr_assert_eq(quantity_milli_value(&q, &v), 0);
        cr_assert_eq(v, 100);

        q = must_parse("129e6");
        cr_assert_eq(quantity_value(&q, &v), 0);
        cr_assert_eq(v, 129000000);

        q = must_parse("400m");
        assert_nanos("400m", &q, "400000000");
        cr_assert_eq(quantity_value(&q, &v), 0);
        cr_assert_eq(v, 1);
        cr_assert_eq(quantity_milli_value(&q, &v), 0);
        cr_assert_eq(v, 400);

        cr_assert_eq(quantity_parse("1.1.1Gi", &q, NULL), -EINVAL);

        q = must_parse("-1");
        cr_assert(quantity_is_negative(&q));
        cr_assert_eq(quantity_value(&q, &v), 0);
        cr_assert_eq(v, -1);

        q = must_parse("12E");
        assert_nanos("12E", &q, "12000000000000000000000000000");
        cr_assert_eq(quantity_value(&q, &v), -ERANGE);
}

struct value_vector {
        const char *input;
        int value_r;
        int64_t value;
        int milli_r;
        int64_t milli;
};

Test(quantity, value_edges)
{
        static const struct value_vector vs[] = {
                { "9223372036854775807", 0, INT64_MAX, -ERANGE, 0 },
                { "9223372036854775808", -ERANGE, 0, -ERANGE, 0 },
                { "9223372036854775806.000000001", 0, INT64_MAX, -ERANGE, 0 },
                { "9223372036854775807.000000001", -ERANGE, 0, -ERANGE, 0 },
                { "-9223372036854775808", 0, INT64_MIN, -ERANGE, 0 },
                { "-9223372036854775809", -ERANGE, 0, -ERANGE, 0 },
                { "-9223372036854775807.5", 0, INT64_MIN, -ERANGE, 0 },
                { "9223372036854775807m", 0, 9223372036854776, 0, INT64_MAX },
                { "9223372036854775808m", 0, 9223372036854776, -ERANGE, 0 },
                { "-9223372036854775808m", 0, -9223372036854776, 0, INT64_MIN },
                { "-1.5", 0, -2, 0, -1500 },
                { "-400m", 0, -1, 0, -400 },
                { "-0.1m", 0, -1, 0, -1 },
                { "-1n", 0, -1, 0, -1 },
                { "0", 0, 0, 0, 0 },
        };
        for (size_t i = 0; i < ELEMENTSOF(vs); i++) {
                struct quantity q = must_parse(vs[i].input);
                int64_t got = 12345;
                cr_assert_eq(quantity_value(&q, &got), vs[i].value_r, "'%s'", vs[i].input);
                cr_assert_eq(got, vs[i].value_r ? 12345 : vs[i].value, "'%s': value %ld",
                             vs[i].input, (long)got);
                got = 12345;
                cr_assert_eq(quantity_milli_value(&q, &got), vs[i].milli_r, "'%s'", vs[i].input);
                cr_assert_eq(got, vs[i].milli_r ? 12345 : vs[i].milli, "'%s': milli %ld",
                             vs[i].input, (long)got);
        }
}

struct cmp_vector {
        const char *a, *b;
        int expect;
};

Test(quantity, cmp)
{
        static const struct cmp_vector vs[] = {
                { "0", "0", 0 },          { "100m", "50m", 1 }, { "50m", "100m", -1 },
                { "10000T", "100Gi", 1 }, { "1", "1000m", 0 },  { "1Ki", "1024", 0 },
                { "-1", "0", -1 },        { "-2", "-1", -1 },   { "12E", "9Ei", 1 },
                { "0Ki", "0", 0 },
        };
        for (size_t i = 0; i < ELEMENTSOF(vs); i++) {
                struct quantity a = must_parse(vs[i].a), b = must_parse(vs[i].b);
                cr_assert_eq(quantity_cmp(&a, &b), vs[i].expect, "%s vs %s", vs[i].a, vs[i].b);
                cr_assert_eq(quantity_cmp(&b, &a), -vs[i].expect, "%s vs %s", vs[i].b, vs[i].a);
        }
}

Test(quantity, zero_and_negative_helpers)
{
        struct quantity z = must_parse("0Mi"), n = must_parse("-1m"), p = must_parse("1n");
        cr_assert(quantity_is_zero(&z) && !quantity_is_negative(&z));
        cr_assert(!quantity_is_zero(&n) && quantity_is_negative(&n));
        cr_assert(!quantity_is_zero(&p) && !quantity_is_negative(&p));
}

/* Canonical strings of parsed input: Kubernetes' TestQuantityParseEmit and more. */
struct emit_vector {
        const char *input;
        const char *expect;
};

static const struct emit_vector emit_vectors[] = {
        { "1.5", "1500m" },
        { "1.5Gi", "1536Mi" },
        { "1000", "1k" },
        { "1024Ki", "1Mi" },
        { "1Ki", "1Ki" },
        { "1Mi", "1Mi" },
        { "1Gi", "1Gi" },
        { "1024Mi", "1Gi" },
        { "1000M", "1G" },
        { ".001Ki", "1024m" },
        { ".000001Ki", "1024u" },
        { ".000000001Ki", "1024n" },
        { ".000000000001Ki", "2n" },
        { "0.5Mi", "512Ki" },
        { "0.5Ki", "512" },
        { "1.5Ki", "1536" },
        { "100.035Ki", "102435840m" },
        { "0.05Gi", "53687091200m" },
        { "9Ei", "9223372036854775807" },
        { "2000Ki", "2000Ki" },
        { "1025Ki", "1025Ki" },
        { "12E", "12E" },
        { "1000E", "1e21" },
        { "5000E", "5e21" },
        { "12000E", "12e21" },
        { "1e3", "1e3" },
        { "1E-3", "1e-3" },
        { "0.5e-9", "1e-9" },
        { "300e6", "300e6" },
        { "3e3", "3e3" },
        { "1.2e3", "1200" },
        { "1200e0", "1200" },
        { "1e29", "100e27" },
        { "0", "0" },
        { "0Ki", "0" },
        { "0e3", "0" },
        { "100m", "100m" },
        { "0.1m", "100u" },
        { "1080m", "1080m" },
        { "1.08", "1080m" },
        { "10800000000n", "10800m" },
        { "80n", "80n" },
        { "1000u", "1m" },
        { "3.001n", "4n" },
        { "7.123456M", "7123456" },
        { "6.987654321G", "6987654321" },
        { "100.035k", "100035" },
        { "1.01E", "1010P" },
        { "1.G", "1G" },
        { "128974848", "128974848" },
        { "129e6", "129e6" },
        { "129M", "129M" },
        { "123Mi", "123Mi" },
};

Test(quantity, canonical_strings)
{
        for (size_t i = 0; i < ELEMENTSOF(emit_vectors); i++) {
                const struct emit_vector *v = &emit_vectors[i];
                struct quantity q = must_parse(v->input);
                _cleanup_free_ char *s = quantity_to_string(&q);
                cr_assert_not_null(s);
                cr_assert_str_eq(s, v->expect, "'%s' -> '%s', want '%s'", v->input, s, v->expect);
        }
}

/* A negative canonical string is "-" and the positive one; the string parses back to the
 * same value. */
Test(quantity, canonical_negative_and_round_trip)
{
        for (size_t i = 0; i < ELEMENTSOF(emit_vectors); i++) {
                const struct emit_vector *v = &emit_vectors[i];
                char neg_in[64], neg_out[64];
                snprintf(neg_in, sizeof(neg_in), "-%s", v->input);
                snprintf(neg_out, sizeof(neg_out), "%s%s", strcmp(v->expect, "0") ? "-" : "",
                         v->expect);

                struct quantity q = must_parse(neg_in);
                _cleanup_free_ char *s = quantity_to_string(&q);
                cr_assert_not_null(s);
                cr_assert_str_eq(s, neg_out, "'%s' -> '%s'", neg_in, s);
                struct quantity back = must_parse(s);
                cr_assert_eq(quantity_cmp(&q, &back), 0, "'%s' does not round-trip", s);
        }
}

/* Kubernetes' TestQuantityString, built from value and format rather than parsed. */
struct string_vector {
        int64_t mantissa;
        int exp10;
        enum quantity_format format;
        const char *expect;
};

static __int128 make_nanos(int64_t mantissa, int exp10)
{
        __int128 v = mantissa;
        for (int e = exp10 + 9; e > 0; e--)
                v *= 10;
        for (int e = exp10 + 9; e < 0; e++)
                v /= 10;
        return v;
}

Test(quantity, canonical_from_value)
{
        static const struct string_vector vs[] = {
                { 1024 * 1024 * 1024, 0, BSI, "1Gi" },
                { 300 * 1024 * 1024, 0, BSI, "300Mi" },
                { 6 * 1024, 0, BSI, "6Ki" },
                { 1001LL * 1024 * 1024 * 1024, 0, BSI, "1001Gi" },
                { 1024LL * 1024 * 1024 * 1024, 0, BSI, "1Ti" },
                { 5, 0, BSI, "5" },
                { 500, -3, BSI, "500m" },
                { 1, 9, DSI, "1G" },
                { 1000, 6, DSI, "1G" },
                { 1000000, 3, DSI, "1G" },
                { 1000000000, 0, DSI, "1G" },
                { 1, -3, DSI, "1m" },
                { 80, -3, DSI, "80m" },
                { 1080, -3, DSI, "1080m" },
                { 108, -2, DSI, "1080m" },
                { 10800, -4, DSI, "1080m" },
                { 300, 6, DSI, "300M" },
                { 1, 12, DSI, "1T" },
                { 1, 18, DSI, "1E" },
                { 1, 21, DSI, "1e21" },
                { 5, 21, DSI, "5e21" },
                { 1, 24, DSI, "1e24" },
                { 1234567, 6, DSI, "1234567M" },
                { 1234567, -3, BSI, "1234567m" },
                { 3, 3, DSI, "3k" },
                { 1025, 0, BSI, "1025" },
                { 2000, 0, BSI, "2000" },
                { -2000, 0, BSI, "-2000" },
                { 0, 0, DSI, "0" },
                { 0, 0, BSI, "0" },
                { 0, 0, DEX, "0" },
                { 1, 9, DEX, "1e9" },
                { 1, -3, DEX, "1e-3" },
                { 1, -9, DEX, "1e-9" },
                { 80, -3, DEX, "80e-3" },
                { 300, 6, DEX, "300e6" },
                { 1, 12, DEX, "1e12" },
                { 1, 3, DEX, "1e3" },
                { 3, 3, DEX, "3e3" },
                { 1, -9, DSI, "1n" },
                { 80, -9, DSI, "80n" },
                { 1080, -9, DSI, "1080n" },
                { 108, -8, DSI, "1080n" },
                { 10800, -10, DSI, "1080n" },
                { 1, -6, DSI, "1u" },
                { 80, -6, DSI, "80u" },
                { 1080, -6, DSI, "1080u" },
                { 901, -2, DSI, "9010m" },
                { -901, -2, DSI, "-9010m" },
        };
        for (size_t i = 0; i < ELEMENTSOF(vs); i++) {
                struct quantity q = { make_nanos(vs[i].mantissa, vs[i].exp10), vs[i].format };
                _cleanup_free_ char *s = quantity_to_string(&q);
                cr_assert_not_null(s);
                cr_assert_str_eq(s, vs[i].expect, "%ld e%d -> '%s', want '%s'",
                                 (long)vs[i].mantissa, vs[i].exp10, s, vs[i].expect);
        }
}

/* The extremes of the representation print without overflowing. */
Test(quantity, canonical_extremes)
{
        struct quantity max = must_parse("170141183460469231731687303715.884105727");
        _cleanup_free_ char *s = quantity_to_string(&max);
        cr_assert_str_eq(s, "170141183460469231731687303715884105727n");
        max.nanos = -max.nanos;
        _cleanup_free_ char *n = quantity_to_string(&max);
        cr_assert_str_eq(n, "-170141183460469231731687303715884105727n");
        struct quantity big = must_parse("170141183460469231731687303715e0");
        _cleanup_free_ char *b = quantity_to_string(&big);
        cr_assert_str_eq(b, "170141183460469231731687303715");
}
