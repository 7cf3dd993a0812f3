/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include "basic/strbuf.h"
#include "manifest/diag.h"

int diag_add(struct diag_list *l, enum diag_severity s, const char *file, unsigned line,
             unsigned column, const char *path, const char *fmt, ...)
{
        if (l->n == l->cap) {
                size_t ncap = l->cap ? l->cap * 2 : 8;
                struct diag *nd = realloc(l->items, ncap * sizeof(*nd));
                if (!nd)
                        return -ENOMEM;
                l->items = nd;
                l->cap = ncap;
        }
        struct diag d = {
                .severity = s,
                .line = line,
                .column = column,
                .file = strdup(file ? file : ""),
                .path = strdup(path ? path : ""),
        };
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&d.message, fmt, ap) < 0)
                d.message = NULL;
        va_end(ap);
        if (!d.file || !d.path || !d.message) {
                free(d.file);
                free(d.path);
                free(d.message);
                return -ENOMEM;
        }
        l->items[l->n++] = d;
        return 0;
}

size_t diag_count(const struct diag_list *l, enum diag_severity s)
{
        size_t n = 0;
        for (size_t i = 0; i < l->n; i++)
                n += l->items[i].severity == s;
        return n;
}

void diag_list_done(struct diag_list *l)
{
        for (size_t i = 0; i < l->n; i++) {
                free(l->items[i].file);
                free(l->items[i].path);
                free(l->items[i].message);
        }
        free(l->items);
        *l = (struct diag_list){ 0 };
}

char *diag_format(const struct diag *d)
{
        _cleanup_strbuf_ struct strbuf sb = { 0 };
        strbuf_append(&sb, d->file);
        if (d->line > 0)
                strbuf_printf(&sb, ":%u:%u", d->line, d->column);
        strbuf_append(&sb, ": ");
        /* "metadata.name is required" already names its field */
        size_t pl = strlen(d->path);
        bool named = pl > 0 && strncmp(d->message, d->path, pl) == 0 && d->message[pl] == ' ';
        if (d->path[0] && !named)
                strbuf_printf(&sb, "%s: ", d->path);
        strbuf_append(&sb, d->message);
        return strbuf_steal(&sb);
}

const char *diag_severity_to_string(enum diag_severity s)
{
        switch (s) {
        case DIAG_ERROR:
                return "error";
        case DIAG_WARNING:
                return "warning";
        default:
                return "notice";
        }
}
