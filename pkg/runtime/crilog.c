/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/crilog.h"

size_t cri_timestamp(const struct timespec *ts, char buf[static CRI_TIMESTAMP_MAX])
{
        struct tm tm;
        time_t t = ts->tv_sec;
        gmtime_r(&t, &tm);
        size_t n = strftime(buf, CRI_TIMESTAMP_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
        long ns = ts->tv_nsec;
        if (ns > 0) {
                int digits = 9;
                while (ns % 10 == 0) {
                        ns /= 10;
                        digits--;
                }
                n += (size_t)snprintf(buf + n, CRI_TIMESTAMP_MAX - n, ".%0*ld", digits, ns);
        }
        buf[n++] = 'Z';
        buf[n] = 0;
        return n;
}

#define CRI_BATCH_LINES 64

int cri_log_chunk(const struct timespec *ts, enum cri_stream s, const char *data, size_t len,
                  cri_emit_fn emit, void *userdata)
{
        char full[CRI_TIMESTAMP_MAX + 16], part[CRI_TIMESTAMP_MAX + 16];
        size_t tl = cri_timestamp(ts, full);
        const char *name = s == CRI_STDOUT ? " stdout " : " stderr ";
        memcpy(full + tl, name, 8);
        memcpy(full + tl + 8, "F ", 3);
        memcpy(part, full, tl + 8);
        memcpy(part + tl + 8, "P ", 3);
        size_t pl = tl + 10;

        struct iovec iov[CRI_BATCH_LINES * 3];
        int n = 0;
        while (len > 0) {
                const char *nl = memchr(data, '\n', len);
                size_t line = nl ? (size_t)(nl - data) : len;
                iov[n++] = (struct iovec){ nl ? full : part, pl };
                iov[n++] = (struct iovec){ (void *)data, line };
                iov[n++] = (struct iovec){ "\n", 1 };
                data += line + (nl ? 1 : 0);
                len -= line + (nl ? 1 : 0);
                if (n == (int)(sizeof(iov) / sizeof(iov[0])) || len == 0) {
                        int r = emit(iov, n, userdata);
                        if (r < 0)
                                return r;
                        n = 0;
                }
        }
        return 0;
}

int cri_log_open(struct cri_log *l, const char *path, off_t max_size, unsigned max_files,
                 struct qerr **err)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
        if (fd < 0)
                return qerr_set_errno(err, errno, "open log '%s'", path);
        struct stat st;
        if (fstat(fd, &st) < 0) {
                int e = errno;
                close(fd);
                return qerr_set_errno(err, e, "stat log '%s'", path);
        }
        char *p = strdup(path);
        if (!p) {
                close(fd);
                return qerr_set(err, ENOMEM, "open log '%s'", path);
        }
        *l = (struct cri_log){ .fd = fd, .path = p, .size = st.st_size };
        l->max_size = max_size > 0 ? max_size : CRI_LOG_DEFAULT_MAX_SIZE;
        l->max_files = max_files > 0 ? max_files : CRI_LOG_DEFAULT_MAX_FILES;
        return 0;
}

void cri_log_close(struct cri_log *l)
{
        if (l->fd >= 0)
                close(l->fd);
        l->fd = -1;
        free(l->path);
        l->path = NULL;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Keeps the newest max_files - 1 rotated files of l->path. Names sort by time. */
static void cri_log_prune(const struct cri_log *l)
{
        char dir[PATH_MAX];
        const char *slash = strrchr(l->path, '/');
        const char *base = slash ? slash + 1 : l->path;
        snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - l->path) : 1,
                 slash ? l->path : ".");
        struct dirent **list = NULL;
        int n = scandir(dir, &list, NULL, NULL);
        if (n < 0)
                return;
        char **names = malloc(sizeof(char *) * (size_t)(n > 0 ? n : 1));
        size_t bl = strlen(base), k = 0;
        for (int i = 0; names && i < n; i++)
                if (strncmp(list[i]->d_name, base, bl) == 0 && list[i]->d_name[bl] == '.')
                        names[k++] = list[i]->d_name;
        qsort(names, k, sizeof(char *), cmp_str);
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        for (size_t i = 0; dfd >= 0 && k >= l->max_files && i <= k - l->max_files; i++)
                (void)unlinkat(dfd, names[i], 0);
        if (dfd >= 0)
                close(dfd);
        free(names);
        for (int i = 0; i < n; i++)
                free(list[i]);
        free(list);
}

static int cri_log_rotate(struct cri_log *l, const struct timespec *ts, struct qerr **err)
{
        char stamp[32], to[PATH_MAX];
        struct tm tm;
        time_t t = ts->tv_sec;
        gmtime_r(&t, &tm);
        strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
        if (snprintf(to, sizeof(to), "%s.%s", l->path, stamp) >= (int)sizeof(to))
                return qerr_set(err, ENAMETOOLONG, "rotate log '%s'", l->path);
        /* Two rotations within one second get a counter, so none overwrites another. */
        for (unsigned i = 1; access(to, F_OK) == 0 && i < 1000; i++)
                if (snprintf(to, sizeof(to), "%s.%s-%03u", l->path, stamp, i) >= (int)sizeof(to))
                        return qerr_set(err, ENAMETOOLONG, "rotate log '%s'", l->path);
        if (rename(l->path, to) < 0)
                return qerr_set_errno(err, errno, "rotate log '%s'", l->path);
        int fd = open(l->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
        if (fd < 0)
                return qerr_set_errno(err, errno, "open log '%s'", l->path);
        close(l->fd);
        l->fd = fd;
        l->size = 0;
        cri_log_prune(l);
        return 0;
}

static int emit_to_log(const struct iovec *iov, int n, void *userdata)
{
        struct cri_log *l = userdata;
        size_t want = 0;
        for (int i = 0; i < n; i++)
                want += iov[i].iov_len;
        ssize_t w = writev(l->fd, iov, n);
        if (w < 0)
                return -errno;
        l->size += w;
        /* O_APPEND writes to a regular file are not short unless the disk is full. */
        return (size_t)w == want ? 0 : -ENOSPC;
}

int cri_log_write(struct cri_log *l, const struct timespec *ts, enum cri_stream s, const char *data,
                  size_t len, struct qerr **err)
{
        if (l->size >= l->max_size) {
                int r = cri_log_rotate(l, ts, err);
                if (r < 0)
                        return r;
        }
        int r = cri_log_chunk(ts, s, data, len, emit_to_log, l);
        if (r < 0)
                return qerr_set_errno(err, -r, "write log '%s'", l->path);
        return 0;
}
