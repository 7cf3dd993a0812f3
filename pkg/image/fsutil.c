/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "image/fsutil.h"

int mkdir_p(const char *path, mode_t mode, struct qerr **err)
{
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return qerr_set(err, ENOMEM, "create directory '%s'", path);
        for (char *s = p + 1;; s++) {
                if (*s != '/' && *s != 0)
                        continue;
                char c = *s;
                *s = 0;
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return qerr_set_errno(err, errno, "create directory '%s'", p);
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

static int rm_rf_children(int dfd, dev_t dev, const char *path, struct qerr **err);

static int rm_rf_entry(int dfd, const char *name, dev_t dev, const char *path, struct qerr **err)
{
        struct stat st;
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : qerr_set_errno(err, errno, "stat in '%s'", path);
        if (!S_ISDIR(st.st_mode)) {
                if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
                        return qerr_set_errno(err, errno, "remove '%s/%s'", path, name);
                return 0;
        }
        if (st.st_dev != dev)
                return qerr_set(err, EBUSY, "'%s/%s' is another mount", path, name);
        int cfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (cfd < 0)
                return qerr_set_errno(err, errno, "open '%s/%s'", path, name);
        /* A read-only directory (a layer's 0555 /proc) keeps its entries from an owner
         * without CAP_DAC_OVERRIDE. */
        if ((st.st_mode & 0700) != 0700)
                (void)fchmod(cfd, 0700);
        int r = rm_rf_children(cfd, dev, path, err);
        if (r < 0)
                return r;
        if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return qerr_set_errno(err, errno, "remove '%s/%s'", path, name);
        return 0;
}

/* Takes ownership of dfd. */
static int rm_rf_children(int dfd, dev_t dev, const char *path, struct qerr **err)
{
        DIR *d = fdopendir(dfd);
        if (!d) {
                close(dfd);
                return qerr_set_errno(err, errno, "open '%s'", path);
        }
        int r = 0;
        struct dirent *de;
        while (r >= 0 && (de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                r = rm_rf_entry(dirfd(d), de->d_name, dev, path, err);
        }
        closedir(d);
        return r;
}

int rm_rf_at(int dfd, const char *name, struct qerr **err)
{
        struct stat st;
        if (fstat(dfd, &st) < 0)
                return qerr_set_errno(err, errno, "stat directory of '%s'", name);
        return rm_rf_entry(dfd, name, st.st_dev, ".", err);
}

int rm_rf(const char *path, struct qerr **err)
{
        struct stat st;
        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : qerr_set_errno(err, errno, "stat '%s'", path);
        if (!S_ISDIR(st.st_mode)) {
                if (unlink(path) < 0 && errno != ENOENT)
                        return qerr_set_errno(err, errno, "remove '%s'", path);
                return 0;
        }
        int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return qerr_set_errno(err, errno, "open '%s'", path);
        int r = rm_rf_children(dfd, st.st_dev, path, err);
        if (r < 0)
                return r;
        if (rmdir(path) < 0 && errno != ENOENT)
                return qerr_set_errno(err, errno, "remove '%s'", path);
        return 0;
}

int write_file_atomic(const char *path, const void *buf, size_t n, mode_t mode, struct qerr **err)
{
        _cleanup_free_ char *tmp = NULL;
        if (asprintf(&tmp, "%s.tmp-XXXXXX", path) < 0)
                return qerr_set(err, ENOMEM, "write '%s'", path);
        _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return qerr_set_errno(err, errno, "create temporary file for '%s'", path);
        const char *p = buf;
        size_t left = n;
        int r = 0;
        while (left > 0 && r == 0) {
                ssize_t w = write(fd, p, left);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        r = qerr_set_errno(err, w < 0 ? errno : EIO, "write '%s'", tmp);
                else {
                        p += w;
                        left -= (size_t)w;
                }
        }
        if (r == 0 && fchmod(fd, mode) < 0)
                r = qerr_set_errno(err, errno, "chmod '%s'", tmp);
        if (r == 0 && fsync(fd) < 0)
                r = qerr_set_errno(err, errno, "sync '%s'", tmp);
        if (r == 0 && rename(tmp, path) < 0)
                r = qerr_set_errno(err, errno, "rename '%s' to '%s'", tmp, path);
        if (r < 0)
                (void)unlink(tmp);
        return r;
}
