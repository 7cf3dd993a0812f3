/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/fileio.h"

int read_full_stream(FILE *f, const char *name, size_t max, char **ret_buf, size_t *ret_len,
                     struct qerr **err)
{
        size_t cap = 4096, len = 0;
        _cleanup_free_ char *buf = malloc(cap + 1);
        if (!buf)
                return qerr_set(err, ENOMEM, "read '%s'", name);
        for (;;) {
                if (len == cap) {
                        if (cap > max)
                                break;
                        size_t ncap = cap * 2;
                        char *nb = realloc(buf, ncap + 1);
                        if (!nb)
                                return qerr_set(err, ENOMEM, "read '%s'", name);
                        buf = nb;
                        cap = ncap;
                }
                size_t n = fread(buf + len, 1, cap - len, f);
                len += n;
                if (n == 0) {
                        if (ferror(f))
                                return qerr_set_errno(err, errno ? errno : EIO, "read '%s'", name);
                        break;
                }
                if (len > max)
                        break;
        }
        if (len > max)
                return qerr_set(err, EFBIG, "file is larger than %zu bytes", max);
        buf[len] = 0;
        *ret_buf = TAKE_PTR(buf);
        if (ret_len)
                *ret_len = len;
        return 0;
}

int read_full_file(const char *path, size_t max, char **ret_buf, size_t *ret_len, struct qerr **err)
{
        if (strcmp(path, "-") == 0)
                return read_full_stream(stdin, "stdin", max, ret_buf, ret_len, err);

        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return qerr_set_errno(err, errno, "open '%s'", path);
        struct stat st;
        if (fstat(fd, &st) < 0)
                return qerr_set_errno(err, errno, "stat '%s'", path);
        if (S_ISDIR(st.st_mode))
                return qerr_set(err, EISDIR, "'%s' is a directory", path);
        if (S_ISREG(st.st_mode) && (size_t)st.st_size > max)
                return qerr_set(err, EFBIG, "file is larger than %zu bytes", max);
        FILE *f = fdopen(fd, "r");
        if (!f)
                return qerr_set_errno(err, errno, "open '%s'", path);
        fd = -1;
        _cleanup_fclose_ FILE *ff = f;
        return read_full_stream(ff, path, max, ret_buf, ret_len, err);
}

int write_string_file(const char *path, const char *value, struct qerr **err)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return qerr_set_errno(err, errno, "open '%s'", path);
        size_t n = strlen(value);
        ssize_t w = write(fd, value, n);
        if (w < 0)
                return qerr_set_errno(err, errno, "write '%s' to '%s'", value, path);
        if ((size_t)w != n)
                return qerr_set(err, EIO, "short write of '%s' to '%s'", value, path);
        return 0;
}

int read_one_line_file(const char *path, char **ret, struct qerr **err)
{
        char *buf = NULL;
        int r = read_full_file(path, 1 << 20, &buf, NULL, err);
        if (r < 0)
                return r;
        size_t n = strlen(buf);
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
                buf[--n] = 0;
        *ret = buf;
        return 0;
}
