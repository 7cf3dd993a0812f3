/* SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>
#include <string.h>
#include <yaml.h>

#include "basic/strbuf.h"
#include "manifest/ytree.h"

/* Nodes and strings of one stream come from a chunked bump allocator: a stream is parsed
 * once and freed whole, and alias targets are shared, so no node is freed on its own. */
struct arena_chunk {
        struct arena_chunk *next;
        size_t used, size;
        char data[];
};

struct ystream {
        struct arena_chunk *chunks;
        struct ydoc *docs;
        size_t n_docs, cap_docs;
};

/* seq orders anchor definitions: an anchor is defined where its node starts. */
struct anchor {
        char *name;
        struct ynode *node;
        uint64_t seq;
};

/* One open collection while the tree is built. */
struct frame {
        struct ynode *node;
        struct ynode **items;
        size_t n, cap;
        char *anchor;
        uint64_t anchor_seq;
};

struct builder {
        struct ystream *s;
        struct frame stack[YTREE_MAX_DEPTH + 1];
        size_t depth;
        struct anchor *anchors;
        size_t n_anchors, cap_anchors;
        uint64_t n_defined;
        struct ynode *root;
        size_t expanded_total;
        unsigned err_line, err_column;
        char *err_path;
};

static void *arena_alloc(struct ystream *s, size_t size)
{
        size = (size + 15) & ~(size_t)15;
        struct arena_chunk *c = s->chunks;
        if (!c || c->used + size > c->size) {
                size_t csize = MAX(size, (size_t)64 * 1024);
                c = malloc(sizeof(*c) + csize);
                if (!c)
                        return NULL;
                c->size = csize;
                c->used = 0;
                c->next = s->chunks;
                s->chunks = c;
        }
        void *p = c->data + c->used;
        c->used += size;
        memset(p, 0, size);
        return p;
}

static char *arena_strndup(struct ystream *s, const char *v, size_t n)
{
        char *p = arena_alloc(s, n + 1);
        if (!p)
                return NULL;
        memcpy(p, v, n);
        p[n] = 0;
        return p;
}

void ystream_free(struct ystream *s)
{
        if (!s)
                return;
        while (s->chunks) {
                struct arena_chunk *next = s->chunks->next;
                free(s->chunks);
                s->chunks = next;
        }
        free(s->docs);
        free(s);
}

size_t ystream_n_docs(const struct ystream *s)
{
        return s->n_docs;
}

const struct ydoc *ystream_doc(const struct ystream *s, size_t i)
{
        return i < s->n_docs ? &s->docs[i] : NULL;
}

static size_t sat_add(size_t a, size_t b)
{
        return a + b < a ? SIZE_MAX : a + b;
}

/* Field path of the position being built, for errors: spec.containers[0].name */
static char *builder_path(const struct builder *b)
{
        _cleanup_strbuf_ struct strbuf sb = { 0 };
        for (size_t i = 0; i < b->depth; i++) {
                const struct frame *f = &b->stack[i];
                if (f->node->kind == YNODE_SEQUENCE) {
                        strbuf_printf(&sb, "[%zu]", f->n);
                } else if (f->n % 2 == 1) {
                        const struct ynode *k = f->items[f->n - 1];
                        if (sb.len > 0)
                                strbuf_append_char(&sb, '.');
                        strbuf_append(&sb, k->kind == YNODE_SCALAR ? k->value : "?");
                } else if (i + 1 < b->depth) {
                        /* a collection used as a mapping key */
                        strbuf_append(&sb, sb.len > 0 ? ".?" : "?");
                }
        }
        return strbuf_steal(&sb);
}

static int builder_fail(struct builder *b, unsigned line, unsigned column, int code,
                        const char *msg, const char *arg, struct qerr **err)
{
        b->err_line = line;
        b->err_column = column;
        free(b->err_path);
        b->err_path = builder_path(b);
        if (arg)
                return qerr_set(err, code, "%s '%s'", msg, arg);
        return qerr_set(err, code, "%s", msg);
}

static int register_anchor(struct builder *b, const char *name, struct ynode *n, uint64_t seq)
{
        if (!name)
                return 0;
        /* A later anchor of the same name shadows the earlier one, as YAML says. */
        for (size_t i = b->n_anchors; i > 0; i--)
                if (strcmp(b->anchors[i - 1].name, name) == 0) {
                        b->anchors[i - 1].node = n;
                        b->anchors[i - 1].seq = seq;
                        return 0;
                }
        if (b->n_anchors == b->cap_anchors) {
                size_t ncap = b->cap_anchors ? b->cap_anchors * 2 : 8;
                struct anchor *na = realloc(b->anchors, ncap * sizeof(*na));
                if (!na)
                        return -ENOMEM;
                b->anchors = na;
                b->cap_anchors = ncap;
        }
        char *copy = strdup(name);
        if (!copy)
                return -ENOMEM;
        b->anchors[b->n_anchors++] = (struct anchor){ .name = copy, .node = n, .seq = seq };
        return 0;
}

int ynode_key_cmp(const struct ynode *x, const struct ynode *y)
{
        if (x->kind != YNODE_SCALAR || y->kind != YNODE_SCALAR)
                return (int)x->kind - (int)y->kind;
        size_t n = MIN(x->len, y->len);
        int c = memcmp(x->value, y->value, n);
        if (c != 0)
                return c;
        return x->len < y->len ? -1 : x->len > y->len;
}

static int cmp_key_ptr(const void *a, const void *b)
{
        return ynode_key_cmp(*(struct ynode *const *)a, *(struct ynode *const *)b);
}

/* The kubelet keeps the last of duplicate keys; qoslet refuses them, since the user cannot
 * tell which one wins. Sorting keeps hostile mappings with many keys at n log n. */
/* Of two equal keys, the one later in the file is the duplicate. */
static const struct ynode *later_key(const struct ynode *a, const struct ynode *b)
{
        if (b->line > a->line || (b->line == a->line && b->column > a->column))
                return b;
        return a;
}

static void note_duplicate(const struct ynode *a, const struct ynode *b, const struct ynode **dup)
{
        const struct ynode *k = later_key(a, b);
        if (!*dup || k->line < (*dup)->line)
                *dup = k;
}

static const struct ynode *find_duplicate_key(const struct frame *f)
{
        size_t nk = f->n / 2;
        const struct ynode *dup = NULL;
        if (nk < 2)
                return NULL;
        /* Most mappings of a manifest are small: comparing every pair is cheaper than sorting
         * a copy, and needs no allocation. */
        if (nk <= 16) {
                for (size_t j = 1; j < nk; j++)
                        for (size_t i = 0; i < j; i++)
                                if (f->items[2 * j]->kind == YNODE_SCALAR &&
                                    cmp_key_ptr(&f->items[2 * i], &f->items[2 * j]) == 0)
                                        note_duplicate(f->items[2 * i], f->items[2 * j], &dup);
                return dup;
        }
        _cleanup_free_ struct ynode **keys = malloc(nk * sizeof(*keys));
        if (!keys)
                return NULL;
        for (size_t i = 0; i < nk; i++)
                keys[i] = f->items[2 * i];
        qsort(keys, nk, sizeof(*keys), cmp_key_ptr);
        for (size_t i = 1; i < nk; i++)
                if (keys[i]->kind == YNODE_SCALAR && cmp_key_ptr(&keys[i - 1], &keys[i]) == 0)
                        note_duplicate(keys[i - 1], keys[i], &dup);
        return dup;
}

static int frame_push_item(struct frame *f, struct ynode *n)
{
        if (f->n == f->cap) {
                size_t ncap = f->cap ? f->cap * 2 : 8;
                struct ynode **ni = realloc(f->items, ncap * sizeof(*ni));
                if (!ni)
                        return -ENOMEM;
                f->items = ni;
                f->cap = ncap;
        }
        f->items[f->n++] = n;
        f->node->expanded = sat_add(f->node->expanded, n->expanded);
        return 0;
}

/* Adds a finished node to its parent, or makes it the document's root. */
static int builder_add(struct builder *b, struct ynode *n, struct qerr **err)
{
        if (b->depth == 0) {
                b->root = n;
                return 0;
        }
        if (frame_push_item(&b->stack[b->depth - 1], n) < 0)
                return qerr_set(err, ENOMEM, "build yaml tree");
        return 0;
}

static struct ynode *new_node(struct builder *b, enum ynode_kind kind, const yaml_mark_t *m)
{
        struct ynode *n = arena_alloc(b->s, sizeof(*n));
        if (!n)
                return NULL;
        n->kind = kind;
        n->line = (unsigned)m->line + 1;
        n->column = (unsigned)m->column + 1;
        n->expanded = 1;
        return n;
}

static int on_scalar(struct builder *b, const yaml_event_t *ev, struct qerr **err)
{
        /* A "\0" escape would cut the value short wherever it is used as a C string: "1\0Gi"
         * would pass as the quantity "1". */
        if (memchr(ev->data.scalar.value, 0, ev->data.scalar.length))
                return builder_fail(b, (unsigned)ev->start_mark.line + 1,
                                    (unsigned)ev->start_mark.column + 1, EINVAL,
                                    "NUL character in a value", NULL, err);
        struct ynode *n = new_node(b, YNODE_SCALAR, &ev->start_mark);
        if (!n)
                return qerr_set(err, ENOMEM, "build yaml tree");
        n->value = arena_strndup(b->s, (const char *)ev->data.scalar.value, ev->data.scalar.length);
        if (!n->value)
                return qerr_set(err, ENOMEM, "build yaml tree");
        n->len = ev->data.scalar.length;
        const char *tag = (const char *)ev->data.scalar.tag;
        n->tagged_str = tag && strcmp(tag, YAML_STR_TAG) == 0;
        n->plain = ev->data.scalar.plain_implicit && !tag;
        if (ev->data.scalar.anchor &&
            register_anchor(b, (const char *)ev->data.scalar.anchor, n, ++b->n_defined) < 0)
                return qerr_set(err, ENOMEM, "build yaml tree");
        return builder_add(b, n, err);
}

static int on_alias(struct builder *b, const yaml_event_t *ev, struct qerr **err)
{
        const char *name = (const char *)ev->data.alias.anchor;
        struct ynode *target = NULL;
        uint64_t seq = 0;
        for (size_t i = b->n_anchors; i > 0 && !target; i--)
                if (strcmp(b->anchors[i - 1].name, name) == 0) {
                        target = b->anchors[i - 1].node;
                        seq = b->anchors[i - 1].seq;
                }
        unsigned line = (unsigned)ev->start_mark.line + 1;
        unsigned col = (unsigned)ev->start_mark.column + 1;
        /* The latest definition of the name may be a collection still open: an alias inside
         * its own anchor's node would make a cycle. */
        for (size_t i = 0; i < b->depth; i++)
                if (b->stack[i].anchor && b->stack[i].anchor_seq > seq &&
                    strcmp(b->stack[i].anchor, name) == 0)
                        return builder_fail(b, line, col, EINVAL, "recursive alias", name, err);
        if (!target)
                return builder_fail(b, line, col, EINVAL, "unknown alias", name, err);
        b->expanded_total = sat_add(b->expanded_total, target->expanded);
        if (b->expanded_total > YTREE_MAX_EXPANDED_NODES)
                return builder_fail(b, line, col, E2BIG,
                                    "alias expansion exceeds the limit of 100000 nodes at alias",
                                    name, err);
        return builder_add(b, target, err);
}

static int on_start(struct builder *b, const yaml_event_t *ev, enum ynode_kind kind,
                    struct qerr **err)
{
        unsigned line = (unsigned)ev->start_mark.line + 1;
        unsigned col = (unsigned)ev->start_mark.column + 1;
        if (b->depth >= YTREE_MAX_DEPTH)
                return builder_fail(b, line, col, E2BIG, "nesting deeper than 64 levels", NULL,
                                    err);
        struct ynode *n = new_node(b, kind, &ev->start_mark);
        if (!n)
                return qerr_set(err, ENOMEM, "build yaml tree");
        const yaml_char_t *anchor = kind == YNODE_MAPPING ? ev->data.mapping_start.anchor
                                                          : ev->data.sequence_start.anchor;
        struct frame *f = &b->stack[b->depth++];
        *f = (struct frame){ .node = n };
        if (anchor) {
                f->anchor = strdup((const char *)anchor);
                if (!f->anchor)
                        return qerr_set(err, ENOMEM, "build yaml tree");
                f->anchor_seq = ++b->n_defined;
        }
        return 0;
}

static int on_end(struct builder *b, struct qerr **err)
{
        struct frame *f = &b->stack[b->depth - 1];
        struct ynode *n = f->node;
        if (n->kind == YNODE_MAPPING) {
                const struct ynode *dup = find_duplicate_key(f);
                if (dup) {
                        /* name the path of the mapping, not of its last key */
                        f->n = 0;
                        return builder_fail(b, dup->line, dup->column, EINVAL, "duplicate key",
                                            dup->value, err);
                }
        }
        n->items = arena_alloc(b->s, sizeof(*n->items) * (f->n ? f->n : 1));
        if (!n->items)
                return qerr_set(err, ENOMEM, "build yaml tree");
        if (f->n)
                memcpy(n->items, f->items, sizeof(*n->items) * f->n);
        n->n = n->kind == YNODE_MAPPING ? f->n : f->n;
        free(f->items);
        f->items = NULL;
        _cleanup_free_ char *anchor = TAKE_PTR(f->anchor);
        uint64_t seq = f->anchor_seq;
        b->depth--;
        if (anchor && register_anchor(b, anchor, n, seq) < 0)
                return qerr_set(err, ENOMEM, "build yaml tree");
        return builder_add(b, n, err);
}

static int add_doc(struct builder *b, const yaml_event_t *ev, struct qerr **err)
{
        struct ystream *s = b->s;
        if (s->n_docs == s->cap_docs) {
                size_t ncap = s->cap_docs ? s->cap_docs * 2 : 4;
                struct ydoc *nd = realloc(s->docs, ncap * sizeof(*nd));
                if (!nd)
                        return qerr_set(err, ENOMEM, "build yaml tree");
                s->docs = nd;
                s->cap_docs = ncap;
        }
        s->docs[s->n_docs++] = (struct ydoc){
                .root = b->root,
                .line = (unsigned)ev->start_mark.line + 1,
                .column = (unsigned)ev->start_mark.column + 1,
        };
        b->root = NULL;
        /* anchors are scoped to their document */
        for (size_t i = 0; i < b->n_anchors; i++)
                free(b->anchors[i].name);
        b->n_anchors = 0;
        return 0;
}

static int handle_event(struct builder *b, const yaml_event_t *ev, struct qerr **err)
{
        switch (ev->type) {
        case YAML_SCALAR_EVENT:
                return on_scalar(b, ev, err);
        case YAML_ALIAS_EVENT:
                return on_alias(b, ev, err);
        case YAML_SEQUENCE_START_EVENT:
                return on_start(b, ev, YNODE_SEQUENCE, err);
        case YAML_MAPPING_START_EVENT:
                return on_start(b, ev, YNODE_MAPPING, err);
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
                return on_end(b, err);
        case YAML_DOCUMENT_END_EVENT:
                return add_doc(b, ev, err);
        default:
                return 0;
        }
}

static void builder_done(struct builder *b)
{
        for (size_t i = 0; i < b->depth; i++) {
                free(b->stack[i].items);
                free(b->stack[i].anchor);
        }
        for (size_t i = 0; i < b->n_anchors; i++)
                free(b->anchors[i].name);
        free(b->anchors);
        free(b->err_path);
}

/* The reader decodes ahead of the scanner, so its marks do not point at a bad byte; its
 * offset does. Columns count characters, as libyaml's do. */
static void offset_position(const char *buf, size_t len, size_t offset, unsigned *ret_line,
                            unsigned *ret_column)
{
        unsigned line = 1, column = 1;
        for (size_t i = 0; i < MIN(offset, len); i++) {
                if (buf[i] == '\n') {
                        line++;
                        column = 1;
                } else if (((unsigned char)buf[i] & 0xc0) != 0x80)
                        column++;
        }
        *ret_line = line;
        *ret_column = column;
}

static int parser_error(const yaml_parser_t *p, const char *buf, size_t len, struct builder *b,
                        struct qerr **err)
{
        const yaml_mark_t *m = p->problem ? &p->problem_mark : &p->mark;
        b->err_line = (unsigned)m->line + 1;
        b->err_column = (unsigned)m->column + 1;
        const char *problem = p->problem ? p->problem : "syntax error";
        if (p->error == YAML_MEMORY_ERROR)
                return qerr_set(err, ENOMEM, "parse yaml: out of memory");
        if (p->error == YAML_READER_ERROR) {
                offset_position(buf, len, p->problem_offset, &b->err_line, &b->err_column);
                if (p->problem_value >= 0)
                        return qerr_set(err, EINVAL, "yaml: %s (0x%x at byte %zu)", problem,
                                        (unsigned)p->problem_value, p->problem_offset);
                return qerr_set(err, EINVAL, "yaml: %s (at byte %zu)", problem, p->problem_offset);
        }
        if (p->context)
                return qerr_set(err, EINVAL, "yaml: %s %s", problem, p->context);
        return qerr_set(err, EINVAL, "yaml: %s", problem);
}

int ystream_parse(const char *buf, size_t len, struct ystream **ret, unsigned *ret_line,
                  unsigned *ret_column, char **ret_path, struct qerr **err)
{
        _cleanup_(ystream_freep) struct ystream *s = calloc(1, sizeof(*s));
        if (!s)
                return qerr_set(err, ENOMEM, "parse yaml");
        yaml_parser_t parser;
        if (!yaml_parser_initialize(&parser))
                return qerr_set(err, ENOMEM, "initialize yaml parser");
        yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);

        struct builder b = { .s = s };
        int r = 0;
        for (bool done = false; !done && r == 0;) {
                yaml_event_t ev;
                if (!yaml_parser_parse(&parser, &ev)) {
                        r = parser_error(&parser, buf, len, &b, err);
                        break;
                }
                done = ev.type == YAML_STREAM_END_EVENT;
                r = handle_event(&b, &ev, err);
                yaml_event_delete(&ev);
        }
        yaml_parser_delete(&parser);
        if (r < 0) {
                if (ret_line)
                        *ret_line = b.err_line;
                if (ret_column)
                        *ret_column = b.err_column;
                if (ret_path)
                        *ret_path = TAKE_PTR(b.err_path);
                builder_done(&b);
                return r;
        }
        builder_done(&b);
        *ret = TAKE_PTR(s);
        return 0;
}

const struct ynode *ynode_get(const struct ynode *map, const char *key)
{
        if (!map || map->kind != YNODE_MAPPING)
                return NULL;
        size_t klen = strlen(key);
        for (size_t i = 0; i + 1 < map->n; i += 2) {
                const struct ynode *k = map->items[i];
                if (k->kind == YNODE_SCALAR && k->len == klen && memcmp(k->value, key, klen) == 0)
                        return map->items[i + 1];
        }
        return NULL;
}

static bool str_in(const char *s, size_t n, const char *const *list)
{
        for (; *list; list++)
                if (strlen(*list) == n && memcmp(*list, s, n) == 0)
                        return true;
        return false;
}

static bool digits_run(const char **p, const char *end, const char *set)
{
        const char *start = *p;
        while (*p < end && (strchr(set, **p) || **p == '_') && **p)
                (*p)++;
        return *p > start;
}

static bool is_yaml11_int(const char *s, size_t n)
{
        const char *p = s, *end = s + n;
        if (p < end && (*p == '-' || *p == '+'))
                p++;
        if (end - p > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
                p += 2;
                return digits_run(&p, end, "0123456789abcdefABCDEF") && p == end;
        }
        if (end - p > 2 && p[0] == '0' && (p[1] == 'b' || p[1] == 'o')) {
                const char *set = p[1] == 'b' ? "01" : "01234567";
                p += 2;
                return digits_run(&p, end, set) && p == end;
        }
        return digits_run(&p, end, "0123456789") && p == end;
}

static bool is_yaml11_float(const char *s, size_t n)
{
        static const char *const special[] = { ".inf",  ".Inf",  ".INF",  "-.inf", "-.Inf",
                                               "-.INF", "+.inf", "+.Inf", "+.INF", ".nan",
                                               ".NaN",  ".NAN",  NULL };
        if (str_in(s, n, special))
                return true;
        const char *p = s, *end = s + n;
        if (p < end && (*p == '-' || *p == '+'))
                p++;
        bool int_part = digits_run(&p, end, "0123456789");
        bool frac = false;
        if (p < end && *p == '.') {
                p++;
                frac = digits_run(&p, end, "0123456789");
        }
        if (!int_part && !frac)
                return false;
        if (p < end && (*p == 'e' || *p == 'E')) {
                p++;
                if (p < end && (*p == '-' || *p == '+'))
                        p++;
                if (!digits_run(&p, end, "0123456789"))
                        return false;
        }
        return p == end;
}

enum yscalar_type ynode_scalar_type(const struct ynode *n)
{
        static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
        static const char *const bools[] = { "y",    "Y",     "yes",   "Yes",   "YES",  "n",
                                             "N",    "no",    "No",    "NO",    "true", "True",
                                             "TRUE", "false", "False", "FALSE", "on",   "On",
                                             "ON",   "off",   "Off",   "OFF",   NULL };
        if (n->kind != YNODE_SCALAR || !n->plain)
                return YSCALAR_STRING;
        /* Every null, boolean and number starts with one of these: most values (names,
         * images, paths) are strings at the first byte. Decoding asks this often. */
        if (n->len > 0 && !strchr("~nNyYtTfFoO0123456789+-.", n->value[0]))
                return YSCALAR_STRING;
        if (str_in(n->value, n->len, nulls))
                return YSCALAR_NULL;
        if (str_in(n->value, n->len, bools))
                return YSCALAR_BOOL;
        if (is_yaml11_int(n->value, n->len))
                return YSCALAR_INT;
        if (is_yaml11_float(n->value, n->len))
                return YSCALAR_FLOAT;
        return YSCALAR_STRING;
}

bool ynode_is_null(const struct ynode *n)
{
        return !n || (n->kind == YNODE_SCALAR && ynode_scalar_type(n) == YSCALAR_NULL);
}

const char *yscalar_type_to_string(enum yscalar_type t)
{
        switch (t) {
        case YSCALAR_NULL:
                return "null";
        case YSCALAR_BOOL:
                return "a boolean";
        case YSCALAR_INT:
                return "an integer";
        case YSCALAR_FLOAT:
                return "a number";
        default:
                return "a string";
        }
}
