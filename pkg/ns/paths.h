/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "basic/error.h"
/* mkdir_p(), rm_rf() and write_file_atomic() are shared with the image store. */
#include "image/fsutil.h"

/* Copies a small regular file (at most 1 MiB). */
int copy_small_file(const char *from, const char *to, mode_t mode, struct qerr **err);

/* Joins two path pieces with one '/'. NULL on allocation failure. */
char *path_join(const char *a, const char *b);
