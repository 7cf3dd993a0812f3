/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#include "basic/error.h"

/* CRI log files: "<RFC3339Nano time> <stdout|stderr> <F|P> <text>\n" per line, as containerd
 * and CRI-O write them and the kubelet reads them. */

#define CRI_TIMESTAMP_MAX 40
#define CRI_LOG_DEFAULT_MAX_SIZE (10 * 1024 * 1024)
#define CRI_LOG_DEFAULT_MAX_FILES 5

enum cri_stream {
        CRI_STDOUT,
        CRI_STDERR,
};

/* Go's time.RFC3339Nano in UTC: "2006-01-02T15:04:05.999999999Z", trailing zeros of the
 * fraction dropped, and the dot too when the fraction is zero. Returns the length. */
size_t cri_timestamp(const struct timespec *ts, char buf[static CRI_TIMESTAMP_MAX]);

/* Hands out a batch of iovecs that make up complete CRI lines; returns < 0 to stop. */
typedef int (*cri_emit_fn)(const struct iovec *iov, int n, void *userdata);

/* Turns one chunk read from a container's pipe into CRI lines: each piece that ends in a
 * newline is a full line (F); a tail without one is written at once as a partial line (P), so
 * the shim keeps no per-stream buffer. Returns what emit returned, or 0. */
int cri_log_chunk(const struct timespec *ts, enum cri_stream s, const char *data, size_t len,
                  cri_emit_fn emit, void *userdata);

/* An open log file with size-based rotation: when it reaches max_size it is renamed to
 * "<path>.<YYYYMMDD-HHMMSS>" (UTC) and a new one is opened; at most max_files files (the
 * current one included) are kept, the oldest rotated ones removed. */
struct cri_log {
        int fd;
        char *path;
        off_t size;
        off_t max_size;
        unsigned max_files;
};

int cri_log_open(struct cri_log *l, const char *path, off_t max_size, unsigned max_files,
                 struct qerr **err);
/* Writes one chunk as CRI lines, rotating first when the file is full. */
int cri_log_write(struct cri_log *l, const struct timespec *ts, enum cri_stream s, const char *data,
                  size_t len, struct qerr **err);
void cri_log_close(struct cri_log *l);
