/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <sys/types.h>

#include "basic/error.h"

/* Creates a directory and its missing parents. */
int mkdir_p(const char *path, mode_t mode, struct qerr **err);

/* Removes a tree without following symlinks and without crossing into other mounts. A
 * missing path is not an error. */
int rm_rf(const char *path, struct qerr **err);

/* The same for the entry name in the directory dfd. */
int rm_rf_at(int dfd, const char *name, struct qerr **err);

/* Writes a file atomically: a temporary file in the same directory, fsync, rename. */
int write_file_atomic(const char *path, const void *buf, size_t n, mode_t mode, struct qerr **err);
