/* SPDX-License-Identifier: Apache-2.0 */
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include "manifest/decode.h"

/* A table-driven decoder: each struct of the model has a table of its fields, so unknown
 * fields, type errors and field paths are handled in one place. */

enum ftype {
        F_STRING,
        F_BOOL,
        F_INT, /* int64_t, with range */
        F_STRV, /* char ** (NULL-terminated) from a list of strings */
        F_OBJECT,
        F_ARRAY, /* array of structs: pointer at offset, size_t count at count_offset */
        F_CUSTOM,
        F_IGNORE, /* known, meaningless on a node: silently ignored */
        F_UNSUPPORTED, /* known, not implemented by qoslet: a warning */
};

struct objdesc;
struct field;
typedef void (*custom_fn)(struct dctx *c, const struct ynode *n, void *obj, const struct field *f);

struct field {
        const char *key;
        enum ftype type;
        size_t offset;
        size_t has_offset; /* offset of a bool has_ flag, or 0 */
        const struct objdesc *sub;
        size_t count_offset;
        custom_fn custom;
        int64_t min, max;
};

struct objdesc {
        const char *name;
        size_t size;
        size_t pos_offset; /* offset of a struct api_pos, or SIZE_MAX */
        const struct field *fields;
};

#define NO_POS SIZE_MAX

_printf_(5, 0) static void dctx_vadd(struct dctx *c, enum diag_severity s, unsigned line,
                                     unsigned col, const char *fmt, va_list ap)
{
        _cleanup_free_ char *m = NULL;
        if (vasprintf(&m, fmt, ap) < 0)
                m = NULL;
        (void)diag_add(c->diags, s, c->file, line, col, c->path.buf ? c->path.buf : "", "%s",
                       m ? m : "out of memory");
        if (s == DIAG_ERROR)
                c->n_errors++;
}

void dctx_error(struct dctx *c, const struct ynode *at, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        dctx_vadd(c, DIAG_ERROR, at ? at->line : 0, at ? at->column : 0, fmt, ap);
        va_end(ap);
}

void dctx_error_pos(struct dctx *c, struct api_pos pos, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        dctx_vadd(c, DIAG_ERROR, pos.line, pos.column, fmt, ap);
        va_end(ap);
}

void dctx_warning(struct dctx *c, const struct ynode *at, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        dctx_vadd(c, DIAG_WARNING, at ? at->line : 0, at ? at->column : 0, fmt, ap);
        va_end(ap);
}

size_t dctx_push_key(struct dctx *c, const char *key)
{
        size_t mark = c->path.len;
        if (mark > 0)
                strbuf_append_char(&c->path, '.');
        strbuf_append(&c->path, key);
        return mark;
}

size_t dctx_push_index(struct dctx *c, size_t i)
{
        /* every list item of every manifest passes here: no printf */
        char buf[24];
        size_t k = sizeof(buf);
        buf[--k] = ']';
        do {
                buf[--k] = (char)('0' + i % 10);
                i /= 10;
        } while (i > 0);
        buf[--k] = '[';
        size_t mark = c->path.len;
        strbuf_append_n(&c->path, buf + k, sizeof(buf) - k);
        return mark;
}

void dctx_pop(struct dctx *c, size_t mark)
{
        if (c->path.buf && mark <= c->path.len) {
                c->path.len = mark;
                c->path.buf[mark] = 0;
        }
}

#define AT(obj, off, type) ((type *)((char *)(obj) + (off)))

static const char *kind_name(const struct ynode *n)
{
        if (n->kind == YNODE_MAPPING)
                return "a mapping";
        if (n->kind == YNODE_SEQUENCE)
                return "a list";
        return yscalar_type_to_string(ynode_scalar_type(n));
}

/* A string field takes only strings: Kubernetes' YAML decoding turns `name: 123` into a JSON
 * number, which a string field refuses; so do we. */
static bool expect_string(struct dctx *c, const struct ynode *n)
{
        if (n->kind == YNODE_SCALAR && ynode_scalar_type(n) == YSCALAR_STRING)
                return true;
        dctx_error(c, n, "expected a string, got %s", kind_name(n));
        return false;
}

static char *decode_string(struct dctx *c, const struct ynode *n)
{
        if (ynode_is_null(n) || !expect_string(c, n))
                return NULL;
        char *s = strndup(n->value, n->len);
        if (!s)
                dctx_error(c, n, "out of memory");
        if (s && strlen(s) != n->len) {
                dctx_error(c, n, "string contains a NUL character");
                free(s);
                return NULL;
        }
        return s;
}

static int decode_bool(struct dctx *c, const struct ynode *n, bool *ret)
{
        if (n->kind == YNODE_SCALAR && ynode_scalar_type(n) == YSCALAR_BOOL) {
                *ret = strchr("yYtTo", n->value[0]) && strcmp(n->value, "off") != 0 &&
                       strcmp(n->value, "Off") != 0 && strcmp(n->value, "OFF") != 0;
                return 0;
        }
        dctx_error(c, n, "expected a boolean, got %s", kind_name(n));
        return -EINVAL;
}

static int decode_int(struct dctx *c, const struct ynode *n, int64_t min, int64_t max, int64_t *ret)
{
        if (n->kind != YNODE_SCALAR || ynode_scalar_type(n) != YSCALAR_INT) {
                dctx_error(c, n, "expected an integer, got %s", kind_name(n));
                return -EINVAL;
        }
        char *end = NULL;
        errno = 0;
        long long v = strtoll(n->value, &end, 0);
        if (errno == ERANGE || v < min || v > max) {
                dctx_error(c, n, "integer %s out of range [%lld, %lld]", n->value, (long long)min,
                           (long long)max);
                return -ERANGE;
        }
        if (!end || *end) {
                dctx_error(c, n, "invalid integer \"%s\"", n->value);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

static char **decode_strv(struct dctx *c, const struct ynode *n)
{
        if (ynode_is_null(n))
                return NULL;
        if (n->kind != YNODE_SEQUENCE) {
                dctx_error(c, n, "expected a list of strings, got %s", kind_name(n));
                return NULL;
        }
        char **l = calloc(n->n + 1, sizeof(char *));
        if (!l)
                return NULL;
        size_t k = 0;
        for (size_t i = 0; i < n->n; i++) {
                size_t mark = dctx_push_index(c, i);
                char *s = ynode_is_null(n->items[i]) ? strdup("") : decode_string(c, n->items[i]);
                if (s)
                        l[k++] = s;
                dctx_pop(c, mark);
        }
        return l;
}

static void decode_object(struct dctx *c, const struct ynode *n, const struct objdesc *d,
                          void *obj);

static void decode_array(struct dctx *c, const struct ynode *n, const struct field *f, void *obj)
{
        if (ynode_is_null(n))
                return;
        if (n->kind != YNODE_SEQUENCE) {
                dctx_error(c, n, "expected a list, got %s", kind_name(n));
                return;
        }
        if (n->n == 0)
                return;
        char *items = calloc(n->n, f->sub->size);
        if (!items) {
                dctx_error(c, n, "out of memory");
                return;
        }
        *AT(obj, f->offset, void *) = items;
        *AT(obj, f->count_offset, size_t) = n->n;
        for (size_t i = 0; i < n->n; i++) {
                size_t mark = dctx_push_index(c, i);
                decode_object(c, n->items[i], f->sub, items + i * f->sub->size);
                dctx_pop(c, mark);
        }
}

static void decode_field(struct dctx *c, const struct ynode *v, const struct field *f, void *obj)
{
        switch (f->type) {
        case F_STRING:
                free(*AT(obj, f->offset, char *));
                *AT(obj, f->offset, char *) = decode_string(c, v);
                break;
        case F_BOOL:
                if (!ynode_is_null(v) && decode_bool(c, v, AT(obj, f->offset, bool)) == 0 &&
                    f->has_offset)
                        *AT(obj, f->has_offset, bool) = true;
                break;
        case F_INT:
                if (!ynode_is_null(v) &&
                    decode_int(c, v, f->min, f->max, AT(obj, f->offset, int64_t)) == 0 &&
                    f->has_offset)
                        *AT(obj, f->has_offset, bool) = true;
                break;
        case F_STRV:
                *AT(obj, f->offset, char **) = decode_strv(c, v);
                break;
        case F_OBJECT:
                decode_object(c, v, f->sub, AT(obj, f->offset, char));
                break;
        case F_ARRAY:
                decode_array(c, v, f, obj);
                break;
        case F_CUSTOM:
                f->custom(c, v, obj, f);
                break;
        case F_IGNORE:
                break;
        case F_UNSUPPORTED:
                if (!ynode_is_null(v))
                        dctx_warning(c, v, "field not supported by qoslet, ignored");
                break;
        }
}

static const struct field *find_field(const struct objdesc *d, const struct ynode *k)
{
        for (const struct field *f = d->fields; f->key; f++)
                if (strlen(f->key) == k->len && memcmp(f->key, k->value, k->len) == 0)
                        return f;
        return NULL;
}

static void unknown_field(struct dctx *c, const struct ynode *k)
{
        if (c->strict)
                dctx_error(c, k, "unknown field");
        else
                dctx_warning(c, k, "unknown field, ignored");
}

static void decode_object(struct dctx *c, const struct ynode *n, const struct objdesc *d, void *obj)
{
        if (d->pos_offset != NO_POS)
                *AT(obj, d->pos_offset, struct api_pos) = (struct api_pos){ .line = n->line,
                                                                            .column = n->column };
        if (ynode_is_null(n))
                return;
        if (n->kind != YNODE_MAPPING) {
                dctx_error(c, n, "expected a mapping (%s), got %s", d->name, kind_name(n));
                return;
        }
        for (size_t i = 0; i + 1 < n->n; i += 2) {
                const struct ynode *k = n->items[i], *v = n->items[i + 1];
                if (k->kind != YNODE_SCALAR) {
                        dctx_error(c, k, "mapping key must be a string");
                        continue;
                }
                size_t mark = dctx_push_key(c, k->value);
                const struct field *f = find_field(d, k);
                if (f)
                        decode_field(c, v, f, obj);
                else
                        unknown_field(c, k);
                dctx_pop(c, mark);
        }
}

/* ---- custom fields ---- */

static void decode_kv_map(struct dctx *c, const struct ynode *n, void *obj, const struct field *f)
{
        if (ynode_is_null(n))
                return;
        if (n->kind != YNODE_MAPPING) {
                dctx_error(c, n, "expected a mapping of strings, got %s", kind_name(n));
                return;
        }
        size_t nk = n->n / 2;
        struct kv *l = calloc(nk ? nk : 1, sizeof(*l));
        if (!l)
                return;
        size_t k = 0;
        for (size_t i = 0; i + 1 < n->n; i += 2) {
                if (n->items[i]->kind != YNODE_SCALAR) {
                        dctx_error(c, n->items[i], "mapping key must be a string");
                        continue;
                }
                size_t mark = dctx_push_key(c, n->items[i]->value);
                char *key = strndup(n->items[i]->value, n->items[i]->len);
                char *val = ynode_is_null(n->items[i + 1]) ? strdup("")
                                                           : decode_string(c, n->items[i + 1]);
                if (key && val)
                        l[k++] = (struct kv){ key,
                                              val,
                                              { n->items[i]->line, n->items[i]->column } };
                else {
                        free(key);
                        free(val);
                }
                dctx_pop(c, mark);
        }
        *AT(obj, f->offset, struct kv *) = l;
        *AT(obj, f->count_offset, size_t) = k;
}

static void decode_resource_list(struct dctx *c, const struct ynode *n, void *obj,
                                 const struct field *f)
{
        struct resource_list *rl = AT(obj, f->offset, struct resource_list);
        if (ynode_is_null(n))
                return;
        if (n->kind != YNODE_MAPPING) {
                dctx_error(c, n, "expected a mapping of quantities, got %s", kind_name(n));
                return;
        }
        rl->items = calloc(n->n / 2 + 1, sizeof(*rl->items));
        if (!rl->items)
                return;
        for (size_t i = 0; i + 1 < n->n; i += 2) {
                const struct ynode *k = n->items[i], *v = n->items[i + 1];
                if (k->kind != YNODE_SCALAR) {
                        dctx_error(c, k, "mapping key must be a string");
                        continue;
                }
                size_t mark = dctx_push_key(c, k->value);
                struct resource_entry e = { .pos = { v->line, v->column } };
                const char *reason = NULL;
                /* A quantity may be written as a YAML number: its text is the quantity. */
                if (v->kind != YNODE_SCALAR || ynode_scalar_type(v) == YSCALAR_NULL ||
                    ynode_scalar_type(v) == YSCALAR_BOOL)
                        dctx_error(c, v, "expected a quantity, got %s", kind_name(v));
                else if (quantity_parse(v->value, &e.value, &reason) < 0)
                        dctx_error(c, v, "invalid quantity \"%s\": %s", v->value,
                                   reason ? reason : "invalid");
                else {
                        e.name = strndup(k->value, k->len);
                        e.text = strndup(v->value, v->len);
                        if (e.name && e.text)
                                rl->items[rl->n++] = e;
                        else {
                                free(e.name);
                                free(e.text);
                        }
                }
                dctx_pop(c, mark);
        }
}

struct enum_name {
        const char *name;
        int value;
};

static void decode_enum(struct dctx *c, const struct ynode *n, int *ret,
                        const struct enum_name *names)
{
        if (ynode_is_null(n) || !expect_string(c, n))
                return;
        for (const struct enum_name *e = names; e->name; e++)
                if (strcmp(e->name, n->value) == 0) {
                        *ret = e->value;
                        return;
                }
        _cleanup_strbuf_ struct strbuf sb = { 0 };
        for (const struct enum_name *e = names; e->name; e++)
                strbuf_printf(&sb, "%s\"%s\"", sb.len ? ", " : "", e->name);
        dctx_error(c, n, "unsupported value \"%s\": must be one of %s", n->value,
                   sb.buf ? sb.buf : "");
}

static void decode_restart_policy(struct dctx *c, const struct ynode *n, void *obj,
                                  const struct field *f)
{
        static const struct enum_name names[] = {
                { "Always", RESTART_POLICY_ALWAYS },
                { "OnFailure", RESTART_POLICY_ON_FAILURE },
                { "Never", RESTART_POLICY_NEVER },
                {},
        };
        int v = RESTART_POLICY_UNSET;
        decode_enum(c, n, &v, names);
        *AT(obj, f->offset, enum restart_policy) = v;
}

static void decode_pull_policy(struct dctx *c, const struct ynode *n, void *obj,
                               const struct field *f)
{
        static const struct enum_name names[] = {
                { "Always", PULL_POLICY_ALWAYS },
                { "IfNotPresent", PULL_POLICY_IF_NOT_PRESENT },
                { "Never", PULL_POLICY_NEVER },
                {},
        };
        int v = PULL_POLICY_UNSET;
        decode_enum(c, n, &v, names);
        *AT(obj, f->offset, enum pull_policy) = v;
}

static void decode_seccomp_type(struct dctx *c, const struct ynode *n, void *obj,
                                const struct field *f)
{
        static const struct enum_name names[] = {
                { "RuntimeDefault", SECCOMP_RUNTIME_DEFAULT },
                { "Unconfined", SECCOMP_UNCONFINED },
                { "Localhost", SECCOMP_LOCALHOST },
                {},
        };
        int v = SECCOMP_UNSET;
        decode_enum(c, n, &v, names);
        *AT(obj, f->offset, enum seccomp_kind) = v;
}

static void decode_int_or_string(struct dctx *c, const struct ynode *n, void *obj,
                                 const struct field *f)
{
        struct int_or_string *p = AT(obj, f->offset, struct int_or_string);
        if (ynode_is_null(n))
                return;
        p->pos = (struct api_pos){ n->line, n->column };
        if (n->kind == YNODE_SCALAR && ynode_scalar_type(n) == YSCALAR_INT) {
                if (decode_int(c, n, INT32_MIN, INT32_MAX, &p->num) == 0)
                        p->set = true;
                return;
        }
        p->str = decode_string(c, n);
        p->set = p->is_string = p->str != NULL;
}

static void decode_int64_list(struct dctx *c, const struct ynode *n, void *obj,
                              const struct field *f)
{
        if (ynode_is_null(n))
                return;
        if (n->kind != YNODE_SEQUENCE) {
                dctx_error(c, n, "expected a list of integers, got %s", kind_name(n));
                return;
        }
        int64_t *l = calloc(n->n + 1, sizeof(*l));
        if (!l)
                return;
        size_t k = 0;
        for (size_t i = 0; i < n->n; i++) {
                size_t mark = dctx_push_index(c, i);
                if (decode_int(c, n->items[i], 0, INT64_MAX, &l[k]) == 0)
                        k++;
                dctx_pop(c, mark);
        }
        *AT(obj, f->offset, int64_t *) = l;
        *AT(obj, f->count_offset, size_t) = k;
}

/* ---- tables ---- */

#define FSTR(k, T, m)                                                \
        {                                                            \
                .key = k, .type = F_STRING, .offset = offsetof(T, m) \
        }
#define FBOOL(k, T, m)                                             \
        {                                                          \
                .key = k, .type = F_BOOL, .offset = offsetof(T, m) \
        }
#define FBOOLH(k, T, m, h)                                                                       \
        {                                                                                        \
                .key = k, .type = F_BOOL, .offset = offsetof(T, m), .has_offset = offsetof(T, h) \
        }
#define FINT(k, T, m, lo, hi)                                                           \
        {                                                                               \
                .key = k, .type = F_INT, .offset = offsetof(T, m), .min = lo, .max = hi \
        }
#define FINTH(k, T, m, h, lo, hi)                                                                \
        {                                                                                        \
                .key = k, .type = F_INT, .offset = offsetof(T, m), .has_offset = offsetof(T, h), \
                .min = lo, .max = hi                                                             \
        }
#define FSTRV(k, T, m)                                             \
        {                                                          \
                .key = k, .type = F_STRV, .offset = offsetof(T, m) \
        }
#define FOBJ(k, T, m, d)                                                        \
        {                                                                       \
                .key = k, .type = F_OBJECT, .offset = offsetof(T, m), .sub = &d \
        }
#define FARR(k, T, m, n, d)                                          \
        {                                                            \
                .key = k, .type = F_ARRAY, .offset = offsetof(T, m), \
                .count_offset = offsetof(T, n), .sub = &d            \
        }
#define FCUST(k, T, m, fn)                                                         \
        {                                                                          \
                .key = k, .type = F_CUSTOM, .offset = offsetof(T, m), .custom = fn \
        }
#define FCUSTN(k, T, m, n, fn)                                        \
        {                                                             \
                .key = k, .type = F_CUSTOM, .offset = offsetof(T, m), \
                .count_offset = offsetof(T, n), .custom = fn          \
        }
#define FIGN(k)                            \
        {                                  \
                .key = k, .type = F_IGNORE \
        }
#define FUNSUP(k)                               \
        {                                       \
                .key = k, .type = F_UNSUPPORTED \
        }
#define FEND                \
        {                   \
                .key = NULL \
        }
#define DESC(nm, T, fl)                                                           \
        {                                                                         \
                .name = nm, .size = sizeof(T), .pos_offset = NO_POS, .fields = fl \
        }
#define DESC_POS(nm, T, fl)                                                                 \
        {                                                                                   \
                .name = nm, .size = sizeof(T), .pos_offset = offsetof(T, pos), .fields = fl \
        }

static const struct field resources_fields[] = {
        FCUST("requests", struct resources, requests, decode_resource_list),
        FCUST("limits", struct resources, limits, decode_resource_list),
        FUNSUP("claims"),
        FEND,
};
static const struct objdesc resources_desc = DESC("resources", struct resources, resources_fields);

static void decode_resources(struct dctx *c, const struct ynode *n, void *obj,
                             const struct field *f)
{
        struct resources *r = AT(obj, f->offset, struct resources);
        r->present = !ynode_is_null(n);
        decode_object(c, n, &resources_desc, r);
}

static const struct field port_fields[] = {
        FSTR("name", struct container_port, name),
        FINT("containerPort", struct container_port, container_port, INT32_MIN, INT32_MAX),
        FINT("hostPort", struct container_port, host_port, INT32_MIN, INT32_MAX),
        FSTR("hostIP", struct container_port, host_ip),
        FSTR("protocol", struct container_port, protocol),
        FEND,
};
static const struct objdesc port_desc = DESC_POS("port", struct container_port, port_fields);

/* A key selector of env valueFrom: the reference is kept to refuse it with the others. */
struct key_ref {
        char *name, *key;
        bool optional;
};
static const struct field key_ref_fields[] = {
        FSTR("name", struct key_ref, name),
        FSTR("key", struct key_ref, key),
        FBOOL("optional", struct key_ref, optional),
        FEND,
};
static const struct objdesc key_ref_desc = DESC("key selector", struct key_ref, key_ref_fields);

struct field_ref {
        char *field_path, *api_version, *container_name, *resource, *divisor;
};
static const struct field field_ref_fields[] = {
        FSTR("fieldPath", struct field_ref, field_path),
        FSTR("apiVersion", struct field_ref, api_version),
        FEND,
};
static const struct objdesc field_ref_desc = DESC("fieldRef", struct field_ref, field_ref_fields);

static void decode_divisor(struct dctx *c, const struct ynode *n, void *obj, const struct field *f)
{
        struct quantity q;
        const char *reason = NULL;
        if (ynode_is_null(n))
                return;
        if (n->kind != YNODE_SCALAR || quantity_parse(n->value, &q, &reason) < 0)
                dctx_error(c, n, "invalid quantity \"%s\"",
                           n->kind == YNODE_SCALAR ? n->value : "");
        else
                *AT(obj, f->offset, char *) = strndup(n->value, n->len);
}

static const struct field resource_ref_fields[] = {
        FSTR("containerName", struct field_ref, container_name),
        FSTR("resource", struct field_ref, resource),
        FCUST("divisor", struct field_ref, divisor, decode_divisor),
        FEND,
};
static const struct objdesc resource_ref_desc = DESC("resourceFieldRef", struct field_ref,
                                                     resource_ref_fields);

static void set_env_source(struct dctx *c, const struct ynode *n, struct env_var *e,
                           enum env_source_kind kind, const char *ref)
{
        if (e->source != ENV_SOURCE_NONE) {
                dctx_error(c, n, "may not have more than one source");
                return;
        }
        e->source = kind;
        e->source_ref = strdup(ref ? ref : "");
}

static void decode_key_ref(struct dctx *c, const struct ynode *n, struct env_var *e,
                           enum env_source_kind kind, const char *key)
{
        struct key_ref kr = {};
        size_t mark = dctx_push_key(c, key);
        decode_object(c, n, &key_ref_desc, &kr);
        _cleanup_free_ char *ref = NULL;
        if (asprintf(&ref, "%s/%s", kr.name ? kr.name : "", kr.key ? kr.key : "") < 0)
                ref = NULL;
        set_env_source(c, n, e, kind, ref);
        dctx_pop(c, mark);
        free(kr.name);
        free(kr.key);
}

static void decode_field_ref(struct dctx *c, const struct ynode *n, struct env_var *e,
                             bool resource)
{
        struct field_ref fr = {};
        size_t mark = dctx_push_key(c, resource ? "resourceFieldRef" : "fieldRef");
        decode_object(c, n, resource ? &resource_ref_desc : &field_ref_desc, &fr);
        set_env_source(c, n, e, resource ? ENV_SOURCE_RESOURCE_FIELD_REF : ENV_SOURCE_FIELD_REF,
                       resource ? fr.resource : fr.field_path);
        dctx_pop(c, mark);
        free(fr.field_path);
        free(fr.api_version);
        free(fr.container_name);
        free(fr.resource);
        free(fr.divisor);
}

static void decode_value_from(struct dctx *c, const struct ynode *n, void *obj,
                              const struct field *f)
{
        struct env_var *e = obj;
        if (ynode_is_null(n))
                return;
        if (n->kind != YNODE_MAPPING) {
                dctx_error(c, n, "expected a mapping (valueFrom), got %s", kind_name(n));
                return;
        }
        for (size_t i = 0; i + 1 < n->n; i += 2) {
                const struct ynode *k = n->items[i], *v = n->items[i + 1];
                const char *key = k->kind == YNODE_SCALAR ? k->value : "?";
                if (strcmp(key, "secretKeyRef") == 0)
                        decode_key_ref(c, v, e, ENV_SOURCE_SECRET_KEY_REF, key);
                else if (strcmp(key, "configMapKeyRef") == 0)
                        decode_key_ref(c, v, e, ENV_SOURCE_CONFIG_MAP_KEY_REF, key);
                else if (strcmp(key, "fieldRef") == 0)
                        decode_field_ref(c, v, e, false);
                else if (strcmp(key, "resourceFieldRef") == 0)
                        decode_field_ref(c, v, e, true);
                else {
                        size_t mark = dctx_push_key(c, key);
                        unknown_field(c, k);
                        dctx_pop(c, mark);
                }
        }
}

static void decode_env_value(struct dctx *c, const struct ynode *n, void *obj,
                             const struct field *f)
{
        struct env_var *e = obj;
        free(e->value);
        e->value = decode_string(c, n);
        e->has_value = e->value != NULL;
}

static const struct field env_fields[] = {
        FSTR("name", struct env_var, name),
        FCUST("value", struct env_var, value, decode_env_value),
        FCUST("valueFrom", struct env_var, source, decode_value_from),
        FEND,
};
static const struct objdesc env_desc = DESC_POS("env", struct env_var, env_fields);

static void decode_env_from_ref(struct dctx *c, const struct ynode *n, void *obj,
                                const struct field *f)
{
        struct env_from *e = obj;
        struct key_ref kr = {};
        decode_object(c, n, &key_ref_desc, &kr);
        e->is_secret = strcmp(f->key, "secretRef") == 0;
        free(e->name);
        e->name = kr.name ? kr.name : strdup("");
        free(kr.key);
}

static const struct field env_from_fields[] = {
        FSTR("prefix", struct env_from, prefix),
        FCUST("configMapRef", struct env_from, name, decode_env_from_ref),
        FCUST("secretRef", struct env_from, name, decode_env_from_ref),
        FEND,
};
static const struct objdesc env_from_desc = DESC_POS("envFrom", struct env_from, env_from_fields);

static const struct field mount_fields[] = {
        FSTR("name", struct volume_mount, name),
        FSTR("mountPath", struct volume_mount, mount_path),
        FSTR("subPath", struct volume_mount, sub_path),
        FBOOL("readOnly", struct volume_mount, read_only),
        FSTR("mountPropagation", struct volume_mount, mount_propagation),
        FUNSUP("subPathExpr"),
        FUNSUP("recursiveReadOnly"),
        FEND,
};
static const struct objdesc mount_desc = DESC_POS("volumeMount", struct volume_mount, mount_fields);

/* ---- handlers and probes ---- */

static const struct field exec_fields[] = {
        FSTRV("command", struct exec_action, command),
        FEND,
};
static const struct objdesc exec_desc = DESC("exec", struct exec_action, exec_fields);

static const struct field header_fields[] = {
        FSTR("name", struct http_header, name),
        FSTR("value", struct http_header, value),
        FEND,
};
static const struct objdesc header_desc = DESC("httpHeader", struct http_header, header_fields);

static const struct field http_get_fields[] = {
        FSTR("path", struct handler, http_path),
        FCUST("port", struct handler, port, decode_int_or_string),
        FSTR("host", struct handler, http_host),
        FSTR("scheme", struct handler, http_scheme),
        FARR("httpHeaders", struct handler, http_headers, n_http_headers, header_desc),
        FEND,
};
static const struct objdesc http_get_desc = DESC("httpGet", struct handler, http_get_fields);

static const struct field tcp_fields[] = {
        FCUST("port", struct handler, port, decode_int_or_string),
        FSTR("host", struct handler, tcp_host),
        FEND,
};
static const struct objdesc tcp_desc = DESC("tcpSocket", struct handler, tcp_fields);

static const struct field grpc_fields[] = {
        FCUST("port", struct handler, port, decode_int_or_string),
        FSTR("service", struct handler, grpc_service),
        FEND,
};
static const struct objdesc grpc_desc = DESC("grpc", struct handler, grpc_fields);

static const struct field sleep_fields[] = {
        FINT("seconds", struct handler, sleep_seconds, 0, INT64_MAX),
        FEND,
};
static const struct objdesc sleep_desc = DESC("sleep", struct handler, sleep_fields);

/* The handler's action keys sit in the probe or lifecycle handler mapping itself. */
static void decode_action(struct dctx *c, const struct ynode *n, void *obj, const struct field *f)
{
        struct handler *h = AT(obj, f->offset, struct handler);
        static const struct {
                const char *key;
                enum handler_kind kind;
                const struct objdesc *desc;
        } actions[] = {
                { "exec", HANDLER_EXEC, &exec_desc },
                { "httpGet", HANDLER_HTTP_GET, &http_get_desc },
                { "tcpSocket", HANDLER_TCP_SOCKET, &tcp_desc },
                { "grpc", HANDLER_GRPC, &grpc_desc },
                { "sleep", HANDLER_SLEEP, &sleep_desc },
        };
        if (ynode_is_null(n))
                return;
        for (size_t i = 0; i < ELEMENTSOF(actions); i++) {
                if (strcmp(actions[i].key, f->key) != 0)
                        continue;
                if (h->kind != HANDLER_NONE) {
                        dctx_error(c, n, "may not specify more than one handler type");
                        return;
                }
                h->kind = actions[i].kind;
                h->pos = (struct api_pos){ n->line, n->column };
                if (h->kind == HANDLER_EXEC)
                        decode_object(c, n, &exec_desc, &h->exec);
                else
                        decode_object(c, n, actions[i].desc, h);
        }
}

#define FACTION(k, T, m) FCUST(k, T, m, decode_action)

static const struct field probe_fields[] = {
        FACTION("exec", struct probe, handler),
        FACTION("httpGet", struct probe, handler),
        FACTION("tcpSocket", struct probe, handler),
        FACTION("grpc", struct probe, handler),
        FINT("initialDelaySeconds", struct probe, initial_delay_seconds, INT32_MIN, INT32_MAX),
        FINT("timeoutSeconds", struct probe, timeout_seconds, INT32_MIN, INT32_MAX),
        FINT("periodSeconds", struct probe, period_seconds, INT32_MIN, INT32_MAX),
        FINT("successThreshold", struct probe, success_threshold, INT32_MIN, INT32_MAX),
        FINT("failureThreshold", struct probe, failure_threshold, INT32_MIN, INT32_MAX),
        FINTH("terminationGracePeriodSeconds", struct probe, termination_grace_period_seconds,
              has_termination_grace_period_seconds, INT64_MIN, INT64_MAX),
        FEND,
};
static const struct objdesc probe_desc = DESC_POS("probe", struct probe, probe_fields);

static void decode_probe(struct dctx *c, const struct ynode *n, void *obj, const struct field *f)
{
        struct probe *p = AT(obj, f->offset, struct probe);
        p->present = !ynode_is_null(n);
        decode_object(c, n, &probe_desc, p);
}

static const struct field lifecycle_handler_fields[] = {
        FACTION("exec", struct handler, kind),
        FACTION("httpGet", struct handler, kind),
        FACTION("tcpSocket", struct handler, kind),
        FACTION("sleep", struct handler, kind),
        FEND,
};
static const struct objdesc lifecycle_handler_desc = DESC("handler", struct handler,
                                                          lifecycle_handler_fields);

static const struct field lifecycle_fields[] = {
        FOBJ("postStart", struct lifecycle, post_start, lifecycle_handler_desc),
        FOBJ("preStop", struct lifecycle, pre_stop, lifecycle_handler_desc),
        FSTR("stopSignal", struct lifecycle, stop_signal),
        FEND,
};
static const struct objdesc lifecycle_desc = DESC("lifecycle", struct lifecycle, lifecycle_fields);

/* ---- security contexts ---- */

static const struct field capabilities_fields[] = {
        FSTRV("add", struct capabilities, add),
        FSTRV("drop", struct capabilities, drop),
        FEND,
};
static const struct objdesc capabilities_desc = DESC("capabilities", struct capabilities,
                                                     capabilities_fields);

static const struct field seccomp_fields[] = {
        FCUST("type", struct seccomp_profile, type, decode_seccomp_type),
        FSTR("localhostProfile", struct seccomp_profile, localhost_profile),
        FEND,
};
static const struct objdesc seccomp_desc = DESC_POS("seccompProfile", struct seccomp_profile,
                                                    seccomp_fields);

static const struct field sysctl_fields[] = {
        FSTR("name", struct sysctl, name),
        FSTR("value", struct sysctl, value),
        FEND,
};
static const struct objdesc sysctl_desc = DESC_POS("sysctl", struct sysctl, sysctl_fields);

#define SECURITY_COMMON_FIELDS                                                                   \
        FINTH("runAsUser", struct security_context, run_as_user, has_run_as_user, 0, INT32_MAX), \
                FINTH("runAsGroup", struct security_context, run_as_group, has_run_as_group, 0,  \
                      INT32_MAX),                                                                \
                FBOOLH("runAsNonRoot", struct security_context, run_as_non_root,                 \
                       has_run_as_non_root),                                                     \
                FOBJ("seccompProfile", struct security_context, seccomp, seccomp_desc),          \
                FUNSUP("seLinuxOptions"), FUNSUP("windowsOptions"), FUNSUP("appArmorProfile"),   \
                FUNSUP("seLinuxChangePolicy")

static const struct field container_security_fields[] = {
        SECURITY_COMMON_FIELDS,
        FBOOLH("privileged", struct security_context, privileged, has_privileged),
        FBOOLH("allowPrivilegeEscalation", struct security_context, allow_privilege_escalation,
               has_allow_privilege_escalation),
        FBOOLH("readOnlyRootFilesystem", struct security_context, read_only_root_filesystem,
               has_read_only_root_filesystem),
        FOBJ("capabilities", struct security_context, capabilities, capabilities_desc),
        FSTR("procMount", struct security_context, proc_mount),
        FEND,
};
static const struct objdesc container_security_desc = DESC_POS(
        "securityContext", struct security_context, container_security_fields);

static const struct field pod_security_fields[] = {
        SECURITY_COMMON_FIELDS,
        FCUSTN("supplementalGroups", struct security_context, supplemental_groups,
               n_supplemental_groups, decode_int64_list),
        FINTH("fsGroup", struct security_context, fs_group, has_fs_group, 0, INT32_MAX),
        FARR("sysctls", struct security_context, sysctls, n_sysctls, sysctl_desc),
        FUNSUP("fsGroupChangePolicy"),
        FUNSUP("supplementalGroupsPolicy"),
        FEND,
};
static const struct objdesc pod_security_desc = DESC_POS("securityContext", struct security_context,
                                                         pod_security_fields);

static void decode_security(struct dctx *c, const struct ynode *n, void *obj, const struct field *f,
                            const struct objdesc *d)
{
        struct security_context *s = AT(obj, f->offset, struct security_context);
        s->present = !ynode_is_null(n);
        decode_object(c, n, d, s);
}

static void decode_container_security(struct dctx *c, const struct ynode *n, void *obj,
                                      const struct field *f)
{
        decode_security(c, n, obj, f, &container_security_desc);
}

static void decode_pod_security(struct dctx *c, const struct ynode *n, void *obj,
                                const struct field *f)
{
        decode_security(c, n, obj, f, &pod_security_desc);
}

/* ---- containers ---- */

/* stdin and tty need an attach path qoslet does not have: only `true` deserves a warning. */
static void decode_unsupported_true(struct dctx *c, const struct ynode *n, void *obj,
                                    const struct field *f)
{
        bool *b = AT(obj, f->offset, bool);
        if (ynode_is_null(n) || decode_bool(c, n, b) < 0 || !*b)
                return;
        dctx_warning(c, n, "field not supported by qoslet, ignored");
}

static const struct field container_fields[] = {
        FSTR("name", struct container, name),
        FSTR("image", struct container, image),
        FCUST("imagePullPolicy", struct container, image_pull_policy, decode_pull_policy),
        FSTRV("command", struct container, command),
        FSTRV("args", struct container, args),
        FSTR("workingDir", struct container, working_dir),
        FARR("env", struct container, env, n_env, env_desc),
        FARR("envFrom", struct container, env_from, n_env_from, env_from_desc),
        FARR("ports", struct container, ports, n_ports, port_desc),
        FCUST("resources", struct container, resources, decode_resources),
        FARR("volumeMounts", struct container, volume_mounts, n_volume_mounts, mount_desc),
        FCUST("livenessProbe", struct container, liveness, decode_probe),
        FCUST("readinessProbe", struct container, readiness, decode_probe),
        FCUST("startupProbe", struct container, startup, decode_probe),
        FOBJ("lifecycle", struct container, lifecycle, lifecycle_desc),
        FCUST("securityContext", struct container, security, decode_container_security),
        FCUST("restartPolicy", struct container, restart_policy, decode_restart_policy),
        FCUST("stdin", struct container, stdin_open, decode_unsupported_true),
        FCUST("tty", struct container, tty, decode_unsupported_true),
        FSTR("terminationMessagePath", struct container, termination_message_path),
        FIGN("terminationMessagePolicy"),
        FIGN("stdinOnce"),
        FUNSUP("volumeDevices"),
        FUNSUP("resizePolicy"),
        FUNSUP("restartPolicyRules"),
        FEND,
};
static const struct objdesc container_desc = DESC_POS("container", struct container,
                                                      container_fields);

/* ---- volumes ---- */

struct empty_dir {
        char *medium;
        char *size_limit;
        struct api_pos size_pos;
};

static void decode_size_limit(struct dctx *c, const struct ynode *n, void *obj,
                              const struct field *f)
{
        struct volume *v = obj;
        const char *reason = NULL;
        if (ynode_is_null(n))
                return;
        if (n->kind != YNODE_SCALAR || quantity_parse(n->value, &v->size_limit, &reason) < 0) {
                dctx_error(c, n, "invalid quantity \"%s\"",
                           n->kind == YNODE_SCALAR ? n->value : "");
                return;
        }
        v->has_size_limit = true;
}

static const struct field empty_dir_fields[] = {
        FSTR("medium", struct volume, medium),
        FCUST("sizeLimit", struct volume, size_limit, decode_size_limit),
        FEND,
};
static const struct objdesc empty_dir_desc = DESC("emptyDir", struct volume, empty_dir_fields);

static const struct field host_path_fields[] = {
        FSTR("path", struct volume, host_path),
        FSTR("type", struct volume, host_path_type),
        FEND,
};
static const struct objdesc host_path_desc = DESC("hostPath", struct volume, host_path_fields);

static int strv_push(char ***l, char *s)
{
        size_t n = 0;
        while (*l && (*l)[n])
                n++;
        char **nl = realloc(*l, (n + 2) * sizeof(char *));
        if (!nl) {
                free(s);
                return -ENOMEM;
        }
        nl[n] = s;
        nl[n + 1] = NULL;
        *l = nl;
        return 0;
}

/* Remembers the API objects a volume refers to, so that they are refused all together. */
static void add_volume_ref(struct volume *v, const char *what, const struct ynode *n,
                           const char *name_key)
{
        const struct ynode *name = ynode_get(n, name_key);
        char *ref = NULL;
        if (name && name->kind == YNODE_SCALAR) {
                if (asprintf(&ref, "%s \"%s\"", what, name->value) < 0)
                        ref = NULL;
        } else
                ref = strdup(what);
        if (ref)
                (void)strv_push(&v->refs, ref);
}

static void decode_projected(struct volume *v, const struct ynode *n)
{
        const struct ynode *sources = ynode_get(n, "sources");
        if (!sources || sources->kind != YNODE_SEQUENCE)
                return;
        for (size_t i = 0; i < sources->n; i++) {
                const struct ynode *s = sources->items[i];
                if (ynode_get(s, "secret"))
                        add_volume_ref(v, "secret", ynode_get(s, "secret"), "name");
                if (ynode_get(s, "configMap"))
                        add_volume_ref(v, "config map", ynode_get(s, "configMap"), "name");
                if (ynode_get(s, "serviceAccountToken"))
                        add_volume_ref(v, "service account token", s, "-");
                if (ynode_get(s, "clusterTrustBundle"))
                        add_volume_ref(v, "cluster trust bundle", s, "-");
        }
}

static void decode_volume_source(struct dctx *c, const struct ynode *n, void *obj,
                                 const struct field *f)
{
        static const struct {
                const char *key;
                enum volume_kind kind;
                const char *what, *name_key;
        } kinds[] = {
                { "emptyDir", VOLUME_EMPTY_DIR, NULL, NULL },
                { "hostPath", VOLUME_HOST_PATH, NULL, NULL },
                { "secret", VOLUME_SECRET, "secret", "secretName" },
                { "configMap", VOLUME_CONFIG_MAP, "config map", "name" },
                { "projected", VOLUME_PROJECTED, NULL, NULL },
                { "downwardAPI", VOLUME_DOWNWARD_API, NULL, NULL },
                { "persistentVolumeClaim", VOLUME_PVC, "persistent volume claim", "claimName" },
                { "csi", VOLUME_CSI, "csi driver", "driver" },
                { "ephemeral", VOLUME_EPHEMERAL, "ephemeral volume claim", "-" },
        };
        struct volume *v = obj;
        if (v->kind_name) {
                dctx_error(c, n, "may not specify more than one volume type");
                return;
        }
        v->kind_name = strdup(f->key);
        v->kind = VOLUME_UNSUPPORTED;
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
                if (strcmp(kinds[i].key, f->key) != 0)
                        continue;
                v->kind = kinds[i].kind;
                if (v->kind == VOLUME_EMPTY_DIR)
                        decode_object(c, n, &empty_dir_desc, v);
                else if (v->kind == VOLUME_HOST_PATH)
                        decode_object(c, n, &host_path_desc, v);
                else if (v->kind == VOLUME_PROJECTED)
                        decode_projected(v, n);
                else if (kinds[i].what)
                        add_volume_ref(v, kinds[i].what, n, kinds[i].name_key);
                return;
        }
}

#define FVOL(k) FCUST(k, struct volume, kind, decode_volume_source)

static const struct field volume_fields[] = {
        FSTR("name", struct volume, name),
        FVOL("emptyDir"),
        FVOL("hostPath"),
        FVOL("secret"),
        FVOL("configMap"),
        FVOL("projected"),
        FVOL("downwardAPI"),
        FVOL("persistentVolumeClaim"),
        FVOL("csi"),
        FVOL("ephemeral"),
        FVOL("nfs"),
        FVOL("iscsi"),
        FVOL("image"),
        FVOL("gitRepo"),
        FVOL("fc"),
        FVOL("cephfs"),
        FVOL("rbd"),
        FVOL("glusterfs"),
        FVOL("awsElasticBlockStore"),
        FVOL("gcePersistentDisk"),
        FVOL("azureDisk"),
        FVOL("azureFile"),
        FEND,
};
static const struct objdesc volume_desc = DESC_POS("volume", struct volume, volume_fields);

/* ---- pod ---- */

static const struct field host_alias_fields[] = {
        FSTR("ip", struct host_alias, ip),
        FSTRV("hostnames", struct host_alias, hostnames),
        FEND,
};
static const struct objdesc host_alias_desc = DESC("hostAlias", struct host_alias,
                                                   host_alias_fields);

struct name_ref {
        char *name;
};
static const struct field name_ref_fields[] = {
        FSTR("name", struct name_ref, name),
        FEND,
};
static const struct objdesc name_ref_desc = DESC("reference", struct name_ref, name_ref_fields);

static void decode_pull_secrets(struct dctx *c, const struct ynode *n, void *obj,
                                const struct field *f)
{
        char ***l = AT(obj, f->offset, char **);
        if (ynode_is_null(n))
                return;
        if (n->kind != YNODE_SEQUENCE) {
                dctx_error(c, n, "expected a list, got %s", kind_name(n));
                return;
        }
        for (size_t i = 0; i < n->n; i++) {
                struct name_ref r = {};
                size_t mark = dctx_push_index(c, i);
                decode_object(c, n->items[i], &name_ref_desc, &r);
                dctx_pop(c, mark);
                (void)strv_push(l, r.name ? r.name : strdup(""));
        }
}

static const struct field spec_fields[] = {
        FARR("containers", struct pod_spec, containers, n_containers, container_desc),
        FARR("initContainers", struct pod_spec, init_containers, n_init_containers, container_desc),
        FARR("volumes", struct pod_spec, volumes, n_volumes, volume_desc),
        FCUST("resources", struct pod_spec, resources, decode_resources),
        FCUST("restartPolicy", struct pod_spec, restart_policy, decode_restart_policy),
        FINTH("terminationGracePeriodSeconds", struct pod_spec, termination_grace_period_seconds,
              has_termination_grace_period_seconds, INT64_MIN, INT64_MAX),
        FINTH("activeDeadlineSeconds", struct pod_spec, active_deadline_seconds,
              has_active_deadline_seconds, INT64_MIN, INT64_MAX),
        FBOOL("hostNetwork", struct pod_spec, host_network),
        FBOOL("hostPID", struct pod_spec, host_pid),
        FBOOL("hostIPC", struct pod_spec, host_ipc),
        FBOOL("shareProcessNamespace", struct pod_spec, share_process_namespace),
        FSTR("hostname", struct pod_spec, hostname),
        FSTR("subdomain", struct pod_spec, subdomain),
        FSTR("nodeName", struct pod_spec, node_name),
        FSTR("priorityClassName", struct pod_spec, priority_class_name),
        FINTH("priority", struct pod_spec, priority, has_priority, INT32_MIN, INT32_MAX),
        FSTR("serviceAccountName", struct pod_spec, service_account_name),
        FSTR("serviceAccount", struct pod_spec, service_account_name),
        FSTR("dnsPolicy", struct pod_spec, dns_policy),
        FARR("hostAliases", struct pod_spec, host_aliases, n_host_aliases, host_alias_desc),
        FCUST("securityContext", struct pod_spec, security, decode_pod_security),
        FCUST("imagePullSecrets", struct pod_spec, image_pull_secrets, decode_pull_secrets),
        /* scheduling and API-server fields: meaningless on one node */
        FIGN("affinity"),
        FIGN("tolerations"),
        FIGN("nodeSelector"),
        FIGN("schedulerName"),
        FIGN("topologySpreadConstraints"),
        FIGN("preemptionPolicy"),
        FIGN("schedulingGates"),
        FIGN("enableServiceLinks"),
        FIGN("automountServiceAccountToken"),
        FIGN("readinessGates"),
        FIGN("os"),
        FUNSUP("dnsConfig"),
        FUNSUP("runtimeClassName"),
        FUNSUP("overhead"),
        FUNSUP("setHostnameAsFQDN"),
        FUNSUP("hostUsers"),
        FUNSUP("resourceClaims"),
        FUNSUP("ephemeralContainers"),
        FUNSUP("hostnameOverride"),
        FEND,
};
static const struct objdesc spec_desc = DESC("spec", struct pod_spec, spec_fields);

static const struct field metadata_fields[] = {
        FSTR("name", struct pod_metadata, name),
        FSTR("namespace", struct pod_metadata, namespace),
        FSTR("uid", struct pod_metadata, uid),
        FCUSTN("labels", struct pod_metadata, labels, n_labels, decode_kv_map),
        FCUSTN("annotations", struct pod_metadata, annotations, n_annotations, decode_kv_map),
        FIGN("generateName"),
        FIGN("creationTimestamp"),
        FIGN("resourceVersion"),
        FIGN("generation"),
        FIGN("selfLink"),
        FIGN("ownerReferences"),
        FIGN("finalizers"),
        FIGN("managedFields"),
        FIGN("deletionTimestamp"),
        FIGN("deletionGracePeriodSeconds"),
        FEND,
};
static const struct objdesc metadata_desc = DESC_POS("metadata", struct pod_metadata,
                                                     metadata_fields);

static const struct field pod_fields[] = {
        FIGN("apiVersion"),
        FIGN("kind"),
        FOBJ("metadata", struct pod, metadata, metadata_desc),
        FOBJ("spec", struct pod, spec, spec_desc),
        FIGN("status"),
        FEND,
};
static const struct objdesc pod_desc = DESC("Pod", struct pod, pod_fields);

struct pod *decode_pod(struct dctx *c, const struct ynode *root)
{
        struct pod *p = calloc(1, sizeof(*p));
        if (!p) {
                dctx_error(c, root, "out of memory");
                return NULL;
        }
        decode_object(c, root, &pod_desc, p);
        if (!ynode_get(root, "metadata"))
                p->metadata.pos = (struct api_pos){ root->line, root->column };
        return p;
}
