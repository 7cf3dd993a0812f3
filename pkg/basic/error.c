/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <string.h>

#include <stdbool.h>

#include "basic/error.h"

/* The code of the last error set by this thread, for qerr_wrap(NULL, ...). */
static _Thread_local int last_code = EIO;

_printf_(4, 0) static int qerr_vset(struct qerr **err, int code, bool add_errno, const char *fmt,
                                    va_list ap)
{
        if (code < 0)
                code = -code;
        if (code == 0)
                code = EIO;
        last_code = code;
        if (!err || *err)
                return -code;

        struct qerr *e = calloc(1, sizeof(*e));
        if (!e)
                return -code;
        e->code = code;
        char *m = NULL;
        if (vasprintf(&m, fmt, ap) < 0)
                m = NULL;
        if (m && add_errno) {
                char *full = NULL;
                if (asprintf(&full, "%s: %s", m, strerror(code)) >= 0) {
                        free(m);
                        m = full;
                }
        }
        e->msg = m;
        *err = e;
        return -code;
}

int qerr_set(struct qerr **err, int code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = qerr_vset(err, code, false, fmt, ap);
        va_end(ap);
        return r;
}

int qerr_set_errno(struct qerr **err, int code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = qerr_vset(err, code, true, fmt, ap);
        va_end(ap);
        return r;
}

int qerr_wrap(struct qerr **err, const char *fmt, ...)
{
        if (!err || !*err)
                return -last_code;
        struct qerr *e = *err;
        char *ctx = NULL, *full = NULL;
        va_list ap;
        va_start(ap, fmt);
        int n = vasprintf(&ctx, fmt, ap);
        va_end(ap);
        if (n >= 0 && asprintf(&full, "%s: %s", ctx, qerr_msg(e)) >= 0) {
                free(e->msg);
                e->msg = full;
        }
        free(ctx);
        return -e->code;
}

void qerr_free(struct qerr *e)
{
        if (!e)
                return;
        free(e->msg);
        free(e);
}

void strv_free(char **l)
{
        if (!l)
                return;
        for (char **s = l; *s; s++)
                free(*s);
        free(l);
}
