/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/fileio.h"
#include "basic/strbuf.h"
#include "manifest/canonical.h"
#include "manifest/decode.h"
#include "manifest/manifest.h"
#include "manifest/validate.h"

void pod_list_done(struct pod_list *l)
{
        for (size_t i = 0; i < l->n; i++)
                pod_free(l->pods[i]);
        free(l->pods);
        *l = (struct pod_list){ 0 };
}

static int pod_list_add(struct pod_list *l, struct pod *p)
{
        struct pod **np = realloc(l->pods, (l->n + 1) * sizeof(*np));
        if (!np)
                return -ENOMEM;
        l->pods = np;
        l->pods[l->n++] = p;
        return 0;
}

struct decode_state {
        const struct manifest_options *opts;
        const char *display, *source;
        struct diag_list *diags;
        struct pod_list pods;
        size_t n_errors;
        /* objects of other kinds: a file of nothing else is refused */
        size_t n_skipped;
        unsigned skip_line, skip_column;
        struct strbuf skipped_kinds;
};

static bool scalar_is(const struct ynode *n, const char *s)
{
        return n && n->kind == YNODE_SCALAR && strcmp(n->value, s) == 0;
}

static char *lowercase(const char *s)
{
        char *r = strdup(s ? s : "");
        for (char *p = r; p && *p; p++)
                *p = (char)tolower((unsigned char)*p);
        return r;
}

static void skip_kind(struct decode_state *st, const struct ynode *kind, unsigned line,
                      unsigned column, const char *path)
{
        const char *name = kind && kind->kind == YNODE_SCALAR ? kind->value : "";
        (void)diag_add(st->diags, DIAG_NOTICE, st->display, line, column, path,
                       "skipping kind \"%s\": not a Pod", name);
        if (st->n_skipped++ == 0) {
                st->skip_line = line;
                st->skip_column = column;
        }
        if (st->n_skipped <= 3)
                strbuf_printf(&st->skipped_kinds, "%s\"%s\"", st->n_skipped > 1 ? ", " : "", name);
        else if (st->n_skipped == 4)
                strbuf_append(&st->skipped_kinds, ", ...");
}

/* The static-pod name suffix, and the UID from the item's canonical form unless the manifest
 * sets one. Both happen before validation, so the suffixed name is the one checked. */
static void name_and_uid(struct decode_state *st, struct pod *p, const struct ynode *item,
                         unsigned doc, unsigned idx)
{
        _cleanup_free_ char *node = lowercase(st->opts->node_name);
        if (p->metadata.name && *p->metadata.name && node && *node) {
                char *n = NULL;
                if (asprintf(&n, "%s-%s", p->metadata.name, node) >= 0) {
                        free(p->metadata.name);
                        p->metadata.name = n;
                }
        }
        size_t clen = 0;
        _cleanup_free_ char *canon = manifest_canonical(item, &clen);
        if (canon)
                p->config_hash = manifest_compute_uid(node ? node : "", st->source, doc, idx, canon,
                                                      clen);
        if (!p->metadata.uid && p->config_hash)
                p->metadata.uid = strdup(p->config_hash);
        free(p->spec.node_name);
        p->spec.node_name = strdup(node ? node : "");
        p->source = strdup(st->source);
        p->doc_index = doc;
        p->item_index = idx;
}

static void decode_item(struct decode_state *st, const struct ynode *item, const char *prefix,
                        unsigned doc, unsigned idx)
{
        struct dctx c = { .file = st->display, .strict = st->opts->strict, .diags = st->diags };
        if (prefix)
                strbuf_append(&c.path, prefix);
        const struct ynode *api = ynode_get(item, "apiVersion");
        if (api && !scalar_is(api, "v1")) {
                size_t mark = dctx_push_key(&c, "apiVersion");
                dctx_error(&c, api, "unsupported apiVersion \"%s\" for kind Pod: must be \"v1\"",
                           api->kind == YNODE_SCALAR ? api->value : "");
                dctx_pop(&c, mark);
        }
        _cleanup_pod_ struct pod *p = decode_pod(&c, item);
        if (p) {
                manifest_apply_defaults(p);
                name_and_uid(st, p, item, doc, idx);
                validate_pod(&c, p);
        }
        if (c.n_errors == 0 && p && pod_list_add(&st->pods, p) == 0)
                p = NULL;
        st->n_errors += c.n_errors + (p && c.n_errors == 0);
        strbuf_done(&c.path);
}

static void decode_list(struct decode_state *st, const struct ynode *root, bool pod_list,
                        unsigned doc)
{
        const struct ynode *items = ynode_get(root, "items");
        if (ynode_is_null(items))
                return;
        if (items->kind != YNODE_SEQUENCE) {
                (void)diag_add(st->diags, DIAG_ERROR, st->display, items->line, items->column,
                               "items", "expected a list, got a %s",
                               items->kind == YNODE_MAPPING ? "mapping" : "scalar");
                st->n_errors++;
                return;
        }
        for (size_t i = 0; i < items->n; i++) {
                const struct ynode *it = items->items[i], *kind = ynode_get(it, "kind");
                char prefix[32];
                snprintf(prefix, sizeof(prefix), "items[%zu]", i);
                if (it->kind != YNODE_MAPPING) {
                        (void)diag_add(st->diags, DIAG_ERROR, st->display, it->line, it->column,
                                       prefix, "expected a mapping (a Kubernetes object)");
                        st->n_errors++;
                } else if (scalar_is(kind, "Pod") || (pod_list && !kind))
                        decode_item(st, it, prefix, doc, (unsigned)i);
                else
                        skip_kind(st, kind, it->line, it->column, prefix);
        }
}

static void decode_document(struct decode_state *st, const struct ydoc *d, unsigned doc)
{
        const struct ynode *root = d->root;
        if (root->kind != YNODE_MAPPING) {
                (void)diag_add(st->diags, DIAG_ERROR, st->display, root->line, root->column, "",
                               "expected a mapping (a Kubernetes object), got a %s",
                               root->kind == YNODE_SEQUENCE ? "list" : "scalar");
                st->n_errors++;
                return;
        }
        const struct ynode *kind = ynode_get(root, "kind");
        if (scalar_is(kind, "Pod"))
                decode_item(st, root, NULL, doc, 0);
        else if (scalar_is(kind, "PodList") || scalar_is(kind, "List"))
                decode_list(st, root, scalar_is(kind, "PodList"), doc);
        else if (ynode_is_null(kind)) {
                (void)diag_add(st->diags, DIAG_ERROR, st->display, root->line, root->column, "kind",
                               "kind is required");
                st->n_errors++;
        } else
                skip_kind(st, kind, kind->line, kind->column, "kind");
}

int manifest_decode(const char *buf, size_t len, const char *display, const char *source,
                    const struct manifest_options *o, struct pod_list *ret, struct diag_list *diags)
{
        struct decode_state st = {
                .opts = o,
                .display = display,
                .source = source,
                .diags = diags,
        };
        _cleanup_(ystream_freep) struct ystream *s = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        unsigned line = 0, col = 0;
        _cleanup_free_ char *path = NULL;
        if (ystream_parse(buf, len, &s, &line, &col, &path, &e) < 0) {
                (void)diag_add(diags, DIAG_ERROR, display, line, col, path, "%s", qerr_msg(e));
                return -EINVAL;
        }
        size_t non_empty = 0;
        for (size_t i = 0; i < ystream_n_docs(s); i++) {
                const struct ydoc *d = ystream_doc(s, i);
                if (!d->root || ynode_is_null(d->root))
                        continue;
                non_empty++;
                decode_document(&st, d, (unsigned)i);
        }
        if (non_empty == 0) {
                (void)diag_add(diags, DIAG_ERROR, display, 0, 0, "",
                               "empty manifest: no Kubernetes object found");
                st.n_errors++;
        } else if (st.n_errors == 0 && st.pods.n == 0 && st.n_skipped > 0) {
                /* A file of other objects is most likely the wrong file. */
                (void)diag_add(diags, DIAG_ERROR, display, st.skip_line, st.skip_column, "kind",
                               "no Pod in manifest: only other kinds (%s)",
                               st.skipped_kinds.buf ? st.skipped_kinds.buf : "");
                st.n_errors++;
        }
        strbuf_done(&st.skipped_kinds);
        if (st.n_errors > 0) {
                pod_list_done(&st.pods);
                return -EINVAL;
        }
        *ret = st.pods;
        return 0;
}

int manifest_load_file(const char *path, const struct manifest_options *o, struct pod_list *ret,
                       struct diag_list *diags)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        _cleanup_qerr_ struct qerr *e = NULL;
        if (read_full_file(path, MANIFEST_MAX_SIZE, &buf, &len, &e) < 0) {
                (void)diag_add(diags, DIAG_ERROR, path, 0, 0, "", "%s", qerr_msg(e));
                return -EINVAL;
        }
        _cleanup_free_ char *real = NULL;
        if (strcmp(path, "-") == 0)
                real = strdup("stdin");
        else
                real = realpath(path, NULL);
        if (!real) {
                (void)diag_add(diags, DIAG_ERROR, path, 0, 0, "", "resolve path: %m");
                return -EINVAL;
        }
        return manifest_decode(buf, len, strcmp(path, "-") == 0 ? "stdin" : path, real, o, ret,
                               diags);
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int manifest_list_dir(const char *dir, char ***ret, struct qerr **err)
{
        _cleanup_(closedirp) DIR *d = opendir(dir);
        if (!d)
                return qerr_set_errno(err, errno, "open directory '%s'", dir);
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        size_t n = 0;
        if (!l)
                return qerr_set(err, ENOMEM, "list '%s'", dir);
        for (struct dirent *de; (de = readdir(d));) {
                if (de->d_name[0] == '.')
                        continue;
                char *p = NULL;
                if (asprintf(&p, "%s%s%s", dir, dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/",
                             de->d_name) < 0)
                        return qerr_set(err, ENOMEM, "list '%s'", dir);
                struct stat st;
                if (stat(p, &st) < 0 || !S_ISREG(st.st_mode)) {
                        free(p);
                        continue;
                }
                char **nl = realloc(l, (n + 2) * sizeof(char *));
                if (!nl) {
                        free(p);
                        return qerr_set(err, ENOMEM, "list '%s'", dir);
                }
                l = nl;
                l[n++] = p;
                l[n] = NULL;
        }
        qsort(l, n, sizeof(char *), cmp_str);
        *ret = TAKE_PTR(l);
        return 0;
}
