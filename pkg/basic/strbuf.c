/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <string.h>

#include "basic/strbuf.h"

static bool strbuf_reserve(struct strbuf *sb, size_t extra)
{
        if (sb->oom)
                return false;
        if (sb->len + extra + 1 <= sb->cap)
                return true;
        size_t ncap = sb->cap ? sb->cap : 64;
        while (ncap < sb->len + extra + 1)
                ncap *= 2;
        char *nb = realloc(sb->buf, ncap);
        if (!nb) {
                sb->oom = true;
                return false;
        }
        sb->buf = nb;
        sb->cap = ncap;
        return true;
}

void strbuf_append_n(struct strbuf *sb, const char *s, size_t n)
{
        if (!strbuf_reserve(sb, n))
                return;
        memcpy(sb->buf + sb->len, s, n);
        sb->len += n;
        sb->buf[sb->len] = 0;
}

void strbuf_append(struct strbuf *sb, const char *s)
{
        strbuf_append_n(sb, s, strlen(s));
}

void strbuf_append_char(struct strbuf *sb, char c)
{
        strbuf_append_n(sb, &c, 1);
}

void strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
        va_list ap, ap2;
        va_start(ap, fmt);
        va_copy(ap2, ap);
        int n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n >= 0 && strbuf_reserve(sb, (size_t)n)) {
                vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap2);
                sb->len += (size_t)n;
        }
        va_end(ap2);
}

char *strbuf_steal(struct strbuf *sb)
{
        if (sb->oom) {
                strbuf_done(sb);
                return NULL;
        }
        char *r = sb->buf ? sb->buf : strdup("");
        *sb = (struct strbuf){ 0 };
        return r;
}

void strbuf_done(struct strbuf *sb)
{
        free(sb->buf);
        *sb = (struct strbuf){ 0 };
}
