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

/* The path of rel inside the directory dir, resolved by the kernel so that it cannot leave
 * dir: an absolute rel, a ".." component, an absolute symlink or one that points above dir
 * is refused with -EPERM (-EINVAL for an absolute rel). With create, missing directories
 * are made (0755) on the way, never through a symlink. The result names the same file with
 * no symlink left in it. A subPath goes through here. */
int path_resolve_beneath(const char *dir, const char *rel, bool create, char **ret,
                         struct qerr **err);
