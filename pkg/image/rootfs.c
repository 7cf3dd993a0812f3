/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/strbuf.h"
#include "image/fsutil.h"
#include "image/rootfs.h"

#define COPY_BUF (128u << 10)

static char *join(const char *a, const char *b)
{
        char *p = NULL;
        return asprintf(&p, "%s/%s", a, b) < 0 ? NULL : p;
}

/* The legacy mount(2) takes the options in one page; lowerdir+ (Linux 6.8) has no such limit
 * since each layer is its own fsconfig call. */
static int mount_overlay_fsconfig(char *const *layers, size_t n, const char *upper,
                                  const char *work, const char *merged, struct qerr **err)
{
        _cleanup_close_ int fs = fsopen("overlay", FSOPEN_CLOEXEC);
        if (fs < 0)
                return qerr_set_errno(err, errno, "open overlay filesystem context");
        for (size_t i = n; i > 0; i--)
                if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", layers[i - 1], 0) < 0)
                        return qerr_set_errno(err, errno, "add overlay layer '%s'", layers[i - 1]);
        if (fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0 ||
            fsconfig(fs, FSCONFIG_SET_STRING, "workdir", work, 0) < 0 ||
            fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return qerr_set_errno(err, errno, "create overlay on '%s'", merged);
        _cleanup_close_ int mnt = fsmount(fs, FSMOUNT_CLOEXEC, 0);
        if (mnt < 0)
                return qerr_set_errno(err, errno, "mount overlay on '%s'", merged);
        if (move_mount(mnt, "", AT_FDCWD, merged, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return qerr_set_errno(err, errno, "attach overlay to '%s'", merged);
        return 0;
}

static int mount_overlay(char *const *layers, size_t n, const char *upper, const char *work,
                         const char *merged, struct qerr **err)
{
        _cleanup_strbuf_ struct strbuf o = { 0 };
        strbuf_append(&o, "lowerdir=");
        for (size_t i = n; i > 0; i--) {
                if (strpbrk(layers[i - 1], ":,"))
                        return qerr_set(err, EINVAL, "layer path '%s' has ':' or ','",
                                        layers[i - 1]);
                strbuf_printf(&o, "%s%s", i < n ? ":" : "", layers[i - 1]);
        }
        strbuf_printf(&o, ",upperdir=%s,workdir=%s", upper, work);
        if (o.oom)
                return qerr_set(err, ENOMEM, "mount overlay");
        if ((size_t)sysconf(_SC_PAGESIZE) > o.len) {
                if (mount("overlay", merged, "overlay", 0, o.buf) < 0)
                        return qerr_set_errno(err, errno, "mount overlay on '%s'", merged);
                return 0;
        }
        return mount_overlay_fsconfig(layers, n, upper, work, merged, err);
}

static bool is_whiteout(const struct stat *st)
{
        return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static bool is_opaque(int fd)
{
        char v[2] = { 0 };
        return fgetxattr(fd, "trusted.overlay.opaque", v, sizeof(v)) == 1 && v[0] == 'y';
}

/* Every xattr except overlayfs's own, which mean nothing in a plain copy. */
static int copy_xattrs(int src, int dst, const char *name, struct qerr **err)
{
        char list[4096];
        ssize_t n = flistxattr(src, list, sizeof(list));
        if (n < 0)
                return errno == ENOTSUP ? 0
                                        : qerr_set_errno(err, errno, "list xattrs of '%s'", name);
        for (char *k = list; k < list + n; k += strlen(k) + 1) {
                if (strncmp(k, "trusted.overlay.", 16) == 0)
                        continue;
                char val[4096];
                ssize_t vn = fgetxattr(src, k, val, sizeof(val));
                if (vn < 0 || fsetxattr(dst, k, val, (size_t)vn, 0) < 0)
                        return qerr_set_errno(err, errno, "copy xattr '%s' of '%s'", k, name);
        }
        return 0;
}

/* Owner before mode (chown clears set-id bits), times last. */
static int copy_meta_fd(int dst, const struct stat *st, int src, const char *name,
                        struct qerr **err)
{
        if (fchown(dst, st->st_uid, st->st_gid) < 0 || fchmod(dst, st->st_mode & 07777) < 0)
                return qerr_set_errno(err, errno, "set owner and mode of '%s'", name);
        int r = copy_xattrs(src, dst, name, err);
        if (r < 0)
                return r;
        struct timespec ts[2] = { st->st_atim, st->st_mtim };
        if (futimens(dst, ts) < 0)
                return qerr_set_errno(err, errno, "set times of '%s'", name);
        return 0;
}

/* copy_file_range() where the kernel can (same filesystem: reflinks, no copy through user
 * space), read and write where it cannot (EXDEV between filesystems). */
static int copy_data(int in, int out, const char *name, struct qerr **err)
{
        bool fallback = false;
        _cleanup_free_ char *buf = NULL;
        for (;;) {
                ssize_t n;
                if (!fallback) {
                        n = copy_file_range(in, NULL, out, NULL, COPY_BUF, 0);
                        if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
                                      errno == EOPNOTSUPP)) {
                                fallback = true;
                                if (!(buf = malloc(COPY_BUF)))
                                        return qerr_set(err, ENOMEM, "copy '%s'", name);
                                continue;
                        }
                } else {
                        n = read(in, buf, COPY_BUF);
                        for (ssize_t off = 0, w; n > 0 && off < n; off += w) {
                                w = write(out, buf + off, (size_t)(n - off));
                                if (w <= 0)
                                        return qerr_set_errno(err, w < 0 ? errno : EIO, "copy '%s'",
                                                              name);
                        }
                }
                if (n == 0)
                        return 0;
                if (n < 0 && errno != EINTR)
                        return qerr_set_errno(err, errno, "copy '%s'", name);
        }
}

static int copy_file(int sdfd, int ddfd, const char *name, const struct stat *st, struct qerr **err)
{
        _cleanup_close_ int in = openat(sdfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_close_ int out = openat(
                ddfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (in < 0 || out < 0)
                return qerr_set_errno(err, errno, "copy '%s'", name);
        int r = copy_data(in, out, name, err);
        if (r < 0)
                return r;
        return copy_meta_fd(out, st, in, name, err);
}

static int copy_special(int sdfd, int ddfd, const char *name, const struct stat *st,
                        struct qerr **err)
{
        if (S_ISLNK(st->st_mode)) {
                char target[PATH_MAX];
                ssize_t n = readlinkat(sdfd, name, target, sizeof(target) - 1);
                if (n < 0)
                        return qerr_set_errno(err, errno, "read link '%s'", name);
                target[n] = 0;
                if (symlinkat(target, ddfd, name) < 0)
                        return qerr_set_errno(err, errno, "create link '%s'", name);
        } else if (mknodat(ddfd, name, st->st_mode, st->st_rdev) < 0) {
                return qerr_set_errno(err, errno, "create '%s'", name);
        }
        struct timespec ts[2] = { st->st_atim, st->st_mtim };
        if (fchownat(ddfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
            (!S_ISLNK(st->st_mode) && fchmodat(ddfd, name, st->st_mode & 07777, 0) < 0) ||
            utimensat(ddfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
                return qerr_set_errno(err, errno, "set metadata of '%s'", name);
        return 0;
}

static int clear_dir(int dfd, struct qerr **err)
{
        _cleanup_close_ int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d)
                return qerr_set_errno(err, errno, "read directory");
        fd = -1;
        int r = 0;
        struct dirent *de;
        while (r >= 0 && (de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        r = rm_rf_at(dfd, de->d_name, err);
        closedir(d);
        return r;
}

static int copy_tree(int sdfd, int ddfd, struct qerr **err);

/* A layer's directory over whatever is below: a non-directory there goes (overlayfs hides
 * it too), an opaque one hides what lower layers put in it. Never follows a symlink. */
static int copy_dir(int sdfd, int ddfd, const char *name, const struct stat *st, bool exists,
                    struct qerr **err)
{
        if (!exists && mkdirat(ddfd, name, 0700) < 0)
                return qerr_set_errno(err, errno, "create directory '%s'", name);
        _cleanup_close_ int s = openat(sdfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_close_ int d = openat(ddfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (s < 0 || d < 0)
                return qerr_set_errno(err, errno, "open directory '%s'", name);
        int r = exists && is_opaque(s) ? clear_dir(d, err) : 0;
        if (r >= 0)
                r = copy_tree(s, d, err);
        if (r >= 0)
                r = copy_meta_fd(d, st, s, name, err);
        return r;
}

static int copy_entry(int sdfd, int ddfd, const char *name, struct qerr **err)
{
        struct stat st, dst;
        if (fstatat(sdfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return qerr_set_errno(err, errno, "stat '%s'", name);
        bool exists = fstatat(ddfd, name, &dst, AT_SYMLINK_NOFOLLOW) == 0;
        if (exists && !(S_ISDIR(st.st_mode) && S_ISDIR(dst.st_mode))) {
                int r = rm_rf_at(ddfd, name, err);
                if (r < 0)
                        return r;
                exists = false;
        }
        if (is_whiteout(&st))
                return 0;
        if (S_ISDIR(st.st_mode))
                return copy_dir(sdfd, ddfd, name, &st, exists, err);
        if (S_ISREG(st.st_mode))
                return copy_file(sdfd, ddfd, name, &st, err);
        return copy_special(sdfd, ddfd, name, &st, err);
}

static int copy_tree(int sdfd, int ddfd, struct qerr **err)
{
        _cleanup_close_ int fd = fcntl(sdfd, F_DUPFD_CLOEXEC, 3);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d)
                return qerr_set_errno(err, errno, "read layer directory");
        fd = -1;
        int r = 0;
        struct dirent *de;
        while (r >= 0 && (de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        r = copy_entry(sdfd, ddfd, de->d_name, err);
        closedir(d);
        return r;
}

static int copy_layers(char *const *layers, size_t n, const char *merged, struct qerr **err)
{
        _cleanup_close_ int d = open(merged, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (d < 0)
                return qerr_set_errno(err, errno, "open '%s'", merged);
        for (size_t i = 0; i < n; i++) {
                _cleanup_close_ int s = open(layers[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (s < 0)
                        return qerr_set_errno(err, errno, "open layer '%s'", layers[i]);
                int r = copy_tree(s, d, err);
                if (r < 0)
                        return qerr_wrap_r(r, err, "copy layer '%s'", layers[i]);
                struct stat st;
                if (fstat(s, &st) < 0)
                        return qerr_set_errno(err, errno, "stat layer '%s'", layers[i]);
                r = copy_meta_fd(d, &st, s, merged, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int image_rootfs_create(char *const *layers, size_t n, const char *dir, bool force_copy,
                        enum rootfs_kind *ret_kind, char **ret_path, struct qerr **err)
{
        _cleanup_free_ char *upper = join(dir, "upper"), *work = join(dir, "work"),
                            *merged = join(dir, "merged");
        if (!upper || !work || !merged)
                return qerr_set(err, ENOMEM, "create rootfs '%s'", dir);
        if (mkdir(dir, 0700) < 0)
                return qerr_set_errno(err, errno, "create rootfs directory '%s'", dir);
        int r = 0;
        const char *dirs[] = { upper, work, merged };
        for (size_t i = 0; i < ELEMENTSOF(dirs) && r >= 0; i++)
                if (mkdir(dirs[i], 0755) < 0)
                        r = qerr_set_errno(err, errno, "create '%s'", dirs[i]);
        enum rootfs_kind kind = ROOTFS_OVERLAY;
        struct qerr *mount_err = NULL;
        if (r >= 0 && (force_copy || n == 0 ||
                       mount_overlay(layers, n, upper, work, merged, &mount_err) < 0)) {
                if (mount_err)
                        log_debug("rootfs: %s; copying the layers instead", qerr_msg(mount_err));
                kind = ROOTFS_COPY;
                r = copy_layers(layers, n, merged, err);
        }
        qerr_free(mount_err);
        if (r < 0) {
                (void)image_rootfs_remove(dir, NULL);
                return r;
        }
        if (ret_kind)
                *ret_kind = kind;
        *ret_path = TAKE_PTR(merged);
        return 0;
}

int image_rootfs_remove(const char *dir, struct qerr **err)
{
        _cleanup_free_ char *merged = join(dir, "merged");
        if (!merged)
                return qerr_set(err, ENOMEM, "remove rootfs '%s'", dir);
        if (umount2(merged, UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT) {
                if (errno != EBUSY || umount2(merged, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
                        return qerr_set_errno(err, errno, "unmount '%s'", merged);
        }
        return rm_rf(dir, err);
}
