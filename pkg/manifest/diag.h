/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>

#include "basic/macro.h"

/* Diagnostics of a manifest: every error, warning and notice names the file, the 1-based line
 * and column (0 when there is no position), the field path and the reason. */
enum diag_severity {
        DIAG_ERROR,
        DIAG_WARNING,
        DIAG_NOTICE,
};

struct diag {
        enum diag_severity severity;
        char *file;
        unsigned line, column;
        char *path;
        char *message;
};

struct diag_list {
        struct diag *items;
        size_t n, cap;
};

int diag_add(struct diag_list *l, enum diag_severity s, const char *file, unsigned line,
             unsigned column, const char *path, const char *fmt, ...) _printf_(7, 8);
size_t diag_count(const struct diag_list *l, enum diag_severity s);
void diag_list_done(struct diag_list *l);
/* "web.yaml:12:18: spec.containers[0].resources.limits.cpu: invalid quantity \"5OOm\"" */
char *diag_format(const struct diag *d);
const char *diag_severity_to_string(enum diag_severity s);
