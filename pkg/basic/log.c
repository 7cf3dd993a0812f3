/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>

#include "basic/log.h"

static enum log_level arg_max_level = LOG_LEVEL_INFO;
static const char *arg_prefix = NULL;

void log_set_max_level(enum log_level l)
{
        arg_max_level = l;
}

enum log_level log_get_max_level(void)
{
        return arg_max_level;
}

void log_set_prefix(const char *prefix)
{
        arg_prefix = prefix;
}

void log_msg(enum log_level l, const char *fmt, ...)
{
        static const char *const names[] = {
                [LOG_LEVEL_ERROR] = "error",   [LOG_LEVEL_WARNING] = "warning",
                [LOG_LEVEL_NOTICE] = "notice", [LOG_LEVEL_INFO] = "info",
                [LOG_LEVEL_DEBUG] = "debug",
        };
        if (l > arg_max_level)
                return;
        int saved = errno;
        va_list ap;
        va_start(ap, fmt);
        flockfile(stderr);
        if (arg_prefix)
                fprintf(stderr, "%s: ", arg_prefix);
        fprintf(stderr, "%s: ", names[l]);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        funlockfile(stderr);
        va_end(ap);
        errno = saved;
}
