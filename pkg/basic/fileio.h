/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>

#include "basic/error.h"

/* Reads a whole regular file (or a stream, when path is "-") of at most max bytes. A larger
 * file is refused with EFBIG before it is read. The buffer is NUL-terminated. */
int read_full_file(const char *path, size_t max, char **ret_buf, size_t *ret_len,
                   struct qerr **err);

/* Reads all of an open stream, refusing more than max bytes. */
int read_full_stream(FILE *f, const char *name, size_t max, char **ret_buf, size_t *ret_len,
                     struct qerr **err);

/* Writes a string to a file that exists (cgroupfs, procfs): one write(2), no O_CREAT. */
int write_string_file(const char *path, const char *value, struct qerr **err);

/* Reads a small file and strips the final newline. */
int read_one_line_file(const char *path, char **ret, struct qerr **err);
