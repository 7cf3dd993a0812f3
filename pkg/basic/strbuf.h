/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "basic/macro.h"

/* A growing string. On allocation failure it sets `oom` and ignores further appends, so
 * callers check once at the end. */
struct strbuf {
        char *buf;
        size_t len, cap;
        bool oom;
};

void strbuf_append(struct strbuf *sb, const char *s);
void strbuf_append_n(struct strbuf *sb, const char *s, size_t n);
void strbuf_append_char(struct strbuf *sb, char c);
void strbuf_printf(struct strbuf *sb, const char *fmt, ...) _printf_(2, 3);
/* Returns the string (never NULL unless oom) and resets the buffer. */
char *strbuf_steal(struct strbuf *sb);
void strbuf_done(struct strbuf *sb);
#define _cleanup_strbuf_ _cleanup_(strbuf_done)
