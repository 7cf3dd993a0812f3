/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "basic/error.h"

/* Creates a directory and its missing parents with the given mode (umask applies). */
int mkdir_p(const char *path, mode_t mode, struct qerr **err);

/* Writes content to path through a temporary file and rename(2), so readers never see a
 * half-written file. */
int write_file_atomic(const char *path, const char *content, size_t len, mode_t mode,
                      struct qerr **err);

/* Removes a tree without crossing into other filesystems: a mount point left inside is an
 * error (EBUSY), never something to delete through. A missing path is not an error. */
int rm_rf(const char *path, struct qerr **err);

/* Copies a small regular file (at most 1 MiB). */
int copy_small_file(const char *from, const char *to, mode_t mode, struct qerr **err);

/* Joins two path pieces with one '/'. NULL on allocation failure. */
char *path_join(const char *a, const char *b);
