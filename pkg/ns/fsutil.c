/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/fileio.h"
#include "ns/fsutil.h"

char *path_join(const char *a, const char *b)
{
        size_t la = strlen(a);
        while (la > 1 && a[la - 1] == '/')
                la--;
        while (*b == '/')
                b++;
        char *r = NULL;
        if (asprintf(&r, "%.*s%s%s", (int)la, a, la == 1 && a[0] == '/' ? "" : "/", b) < 0)
                return NULL;
        return r;
}

int mkdir_p(const char *path, mode_t mode, struct qerr **err)
{
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return qerr_set(err, ENOMEM, "mkdir '%s'", path);
        for (char *s = p + 1;; s++) {
                if (*s != '/' && *s != 0)
                        continue;
                char c = *s;
                *s = 0;
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return qerr_set_errno(err, errno, "mkdir '%s'", p);
                *s = c;
                if (c == 0)
                        break;
        }
        struct stat st;
        if (stat(path, &st) < 0)
                return qerr_set_errno(err, errno, "stat '%s'", path);
        if (!S_ISDIR(st.st_mode))
                return qerr_set(err, ENOTDIR, "'%s' is not a directory", path);
        return 0;
}

int write_file_atomic(const char *path, const char *content, size_t len, mode_t mode,
                      struct qerr **err)
{
        _cleanup_free_ char *tmp = NULL;
        if (asprintf(&tmp, "%s.tmp-%d", path, (int)getpid()) < 0)
                return qerr_set(err, ENOMEM, "write '%s'", path);
        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0)
                return qerr_set_errno(err, errno, "create '%s'", tmp);
        for (size_t off = 0; off < len;) {
                ssize_t w = write(fd, content + off, len - off);
                if (w < 0) {
                        int e = errno;
                        (void)unlink(tmp);
                        return qerr_set_errno(err, e, "write '%s'", tmp);
                }
                off += (size_t)w;
        }
        if (fchmod(fd, mode) < 0 || rename(tmp, path) < 0) {
                int e = errno;
                (void)unlink(tmp);
                return qerr_set_errno(err, e, "write '%s'", path);
        }
        return 0;
}

static int rm_rf_at(int parent, const char *name, dev_t dev, const char *top, struct qerr **err)
{
        struct stat st;
        if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : qerr_set_errno(err, errno, "stat in '%s'", top);
        if (!S_ISDIR(st.st_mode)) {
                if (unlinkat(parent, name, 0) < 0 && errno != ENOENT)
                        return qerr_set_errno(err, errno, "remove '%s' in '%s'", name, top);
                return 0;
        }
        if (st.st_dev != dev)
                return qerr_set(err, EBUSY, "'%s' in '%s' is a mount point", name, top);
        int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return qerr_set_errno(err, errno, "open '%s' in '%s'", name, top);
        DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return qerr_set_errno(err, ENOMEM, "open '%s' in '%s'", name, top);
        }
        int r = 0;
        for (struct dirent *de; r == 0 && (de = readdir(d));) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                r = rm_rf_at(dirfd(d), de->d_name, dev, top, err);
        }
        closedir(d);
        if (r < 0)
                return r;
        if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return qerr_set_errno(err, errno, "remove directory '%s' in '%s'", name, top);
        return 0;
}

int rm_rf(const char *path, struct qerr **err)
{
        struct stat st;
        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : qerr_set_errno(err, errno, "stat '%s'", path);
        return rm_rf_at(AT_FDCWD, path, st.st_dev, path, err);
}

int copy_small_file(const char *from, const char *to, mode_t mode, struct qerr **err)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int r = read_full_file(from, 1 << 20, &buf, &len, err);
        if (r < 0)
                return r;
        return write_file_atomic(to, buf, len, mode, err);
}
