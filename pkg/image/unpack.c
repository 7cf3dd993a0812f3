/* SPDX-License-Identifier: Apache-2.0 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "basic/log.h"
#include "image/digest.h"
#include "image/fsutil.h"
#include "image/reference.h"
#include "image/unpack.h"

#define UNPACK_BUF (256u << 10)
#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"

struct dir_meta {
        char *path;
        mode_t mode;
        struct timespec times[2];
};

struct unpack {
        int rootfd;
        const char *dest;
        struct archive *outer, *inner;
        struct sha256_ctx *sha;
        char *buf;
        bool privileged;
        struct unpack_stats stats;
        /* The directory of the previous entry, reused while entries stay in it. */
        char *parent_path;
        int parent_fd;
        struct dir_meta *dirs;
        size_t n_dirs, cap_dirs;
};

static void unpack_done(struct unpack *u)
{
        if (u->inner)
                archive_read_free(u->inner);
        if (u->outer)
                archive_read_free(u->outer);
        sha256_free(u->sha);
        free(u->buf);
        free(u->parent_path);
        if (u->parent_fd >= 0)
                close(u->parent_fd);
        if (u->rootfd >= 0)
                close(u->rootfd);
        for (size_t i = 0; i < u->n_dirs; i++)
                free(u->dirs[i].path);
        free(u->dirs);
}

/* Turns an archive path into clean components ("a/b/c"), "" for the root itself. */
static int clean_path(const char *in, char **ret, struct qerr **err)
{
        if (!in)
                return qerr_set(err, EILSEQ, "entry without a usable path");
        if (in[0] == '/')
                return qerr_set(err, EPERM, "refusing absolute path '%s'", in);
        char *out = malloc(strlen(in) + 1);
        if (!out)
                return qerr_set(err, ENOMEM, "clean path '%s'", in);
        size_t len = 0;
        for (const char *p = in; *p;) {
                size_t n = strcspn(p, "/");
                if (n == 2 && p[0] == '.' && p[1] == '.') {
                        free(out);
                        return qerr_set(err, EPERM, "refusing path '%s' with '..'", in);
                }
                if (n > 0 && !(n == 1 && p[0] == '.')) {
                        if (len > 0)
                                out[len++] = '/';
                        memcpy(out + len, p, n);
                        len += n;
                }
                p += n;
                while (*p == '/')
                        p++;
        }
        out[len] = 0;
        *ret = out;
        return 0;
}

static int openat2_dir(int dfd, const char *name)
{
        struct open_how how = {
                .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
                           RESOLVE_NO_XDEV,
        };
        return (int)syscall(SYS_openat2, dfd, name, &how, sizeof(how));
}

/* Opens rel (clean components) beneath the root one component at a time: no component may
 * be a symlink, so nothing an earlier entry planted can send a later one elsewhere. */
static int open_dir_beneath(const struct unpack *u, const char *rel, bool create, struct qerr **err)
{
        _cleanup_close_ int fd = fcntl(u->rootfd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return qerr_set_errno(err, errno, "duplicate directory fd");
        _cleanup_free_ char *copy = strdup(rel);
        if (!copy)
                return qerr_set(err, ENOMEM, "open '%s'", rel);
        char *save = NULL;
        for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                int next = openat2_dir(fd, c);
                if (next < 0 && errno == ENOENT && create) {
                        if (mkdirat(fd, c, 0755) < 0 && errno != EEXIST)
                                return qerr_set_errno(err, errno, "create directory '%s'", rel);
                        next = openat2_dir(fd, c);
                }
                if (next < 0 && (errno == ELOOP || errno == EXDEV))
                        return qerr_set(err, EPERM, "refusing path '%s' through symlink '%s'", rel,
                                        c);
                if (next < 0)
                        return qerr_set_errno(err, errno, "open directory '%s'", rel);
                close(fd);
                fd = next;
        }
        return TAKE_FD(fd);
}

/* Splits "a/b/c" into the opened directory "a/b" and the name "c". */
static int open_parent(struct unpack *u, const char *path, const char **ret_name, struct qerr **err)
{
        const char *slash = strrchr(path, '/');
        const char *name = slash ? slash + 1 : path;
        size_t plen = slash ? (size_t)(slash - path) : 0;
        if (u->parent_path && strlen(u->parent_path) == plen &&
            strncmp(u->parent_path, path, plen) == 0) {
                *ret_name = name;
                return u->parent_fd;
        }
        _cleanup_free_ char *parent = strndup(path, plen);
        if (!parent)
                return qerr_set(err, ENOMEM, "open parent of '%s'", path);
        int fd = open_dir_beneath(u, parent, true, err);
        if (fd < 0)
                return fd;
        if (u->parent_fd >= 0)
                close(u->parent_fd);
        free(u->parent_path);
        u->parent_fd = fd;
        u->parent_path = TAKE_PTR(parent);
        *ret_name = name;
        return fd;
}

/* Directories may vanish or change under the cached fd (a later entry replaces one). */
static void forget_parent(struct unpack *u)
{
        if (u->parent_fd >= 0)
                close(u->parent_fd);
        u->parent_fd = -1;
        free(u->parent_path);
        u->parent_path = NULL;
}

static bool skip_xattr(const char *name)
{
        return strncmp(name, "trusted.overlay.", 16) == 0 ||
               strncmp(name, "user.overlay.", 13) == 0;
}

/* Symlinks take xattrs only through a path, so fd-relative "/proc/self/fd/N/name" it is. */
static int apply_xattrs(const struct unpack *u, struct archive_entry *e, int fd, int pfd,
                        const char *name, const char *path, struct qerr **err)
{
        const char *key;
        const void *val;
        size_t size;
        archive_entry_xattr_reset(e);
        while (archive_entry_xattr_next(e, &key, &val, &size) == ARCHIVE_OK) {
                if (skip_xattr(key))
                        continue;
                int r;
                if (fd >= 0) {
                        r = fsetxattr(fd, key, val, size, 0);
                } else {
                        char p[64 + NAME_MAX];
                        snprintf(p, sizeof(p), "/proc/self/fd/%d/%s", pfd, name);
                        r = lsetxattr(p, key, val, size, 0);
                }
                if (r < 0 && (errno == ENOTSUP || (errno == EPERM && !u->privileged))) {
                        log_debug("unpack: xattr '%s' of '%s' not kept: %m", key, path);
                        continue;
                }
                if (r < 0)
                        return qerr_set_errno(err, errno, "set xattr '%s' on '%s'", key, path);
        }
        return 0;
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
        ts[1] = (struct timespec){ archive_entry_mtime(e), archive_entry_mtime_nsec(e) };
        ts[0] = archive_entry_atime_is_set(e)
                        ? (struct timespec){ archive_entry_atime(e), archive_entry_atime_nsec(e) }
                        : ts[1];
}

static int apply_owner(const struct unpack *u, struct archive_entry *e, int pfd, const char *name,
                       const char *path, struct qerr **err)
{
        if (!u->privileged)
                return 0;
        if (fchownat(pfd, name, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
                     AT_SYMLINK_NOFOLLOW) < 0)
                return qerr_set_errno(err, errno, "chown '%s'", path);
        return 0;
}

/* Removes whatever an earlier entry put at name, unless both are directories. */
static int clear_target(struct unpack *u, int pfd, const char *name, bool want_dir,
                        struct qerr **err)
{
        struct stat st;
        if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : qerr_set_errno(err, errno, "stat '%s'", name);
        if (want_dir && S_ISDIR(st.st_mode))
                return 1;
        /* The cached parent is pfd itself, never inside what goes here. */
        return rm_rf_at(pfd, name, err);
}

static int write_file_data(struct unpack *u, int fd, const char *path, la_int64_t size,
                           struct qerr **err)
{
        const void *buf;
        size_t n;
        la_int64_t off;
        int r;
        while ((r = archive_read_data_block(u->inner, &buf, &n, &off)) == ARCHIVE_OK) {
                const char *p = buf;
                while (n > 0) {
                        ssize_t w = pwrite(fd, p, n, off);
                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w <= 0)
                                return qerr_set_errno(err, w < 0 ? errno : EIO, "write '%s'", path);
                        p += w;
                        n -= (size_t)w;
                        off += w;
                }
        }
        if (r != ARCHIVE_EOF)
                return qerr_set(err, EBADMSG, "read data of '%s': %s", path,
                                archive_error_string(u->inner));
        /* A sparse file may end in a hole that no data block reached. */
        if (ftruncate(fd, size) < 0)
                return qerr_set_errno(err, errno, "truncate '%s'", path);
        return 0;
}

static int extract_file(struct unpack *u, struct archive_entry *e, int pfd, const char *name,
                        const char *path, struct qerr **err)
{
        _cleanup_close_ int fd = openat(pfd, name,
                                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return qerr_set_errno(err, errno, "create '%s'", path);
        int r = write_file_data(u, fd, path, archive_entry_size(e), err);
        if (r < 0)
                return r;
        if (u->privileged &&
            fchown(fd, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e)) < 0)
                return qerr_set_errno(err, errno, "chown '%s'", path);
        /* After chown, which clears set-id bits. */
        if (fchmod(fd, archive_entry_perm(e)) < 0)
                return qerr_set_errno(err, errno, "chmod '%s'", path);
        r = apply_xattrs(u, e, fd, pfd, name, path, err);
        if (r < 0)
                return r;
        struct timespec ts[2];
        entry_times(e, ts);
        if (futimens(fd, ts) < 0)
                return qerr_set_errno(err, errno, "set times of '%s'", path);
        return 0;
}

static int remember_dir(struct unpack *u, struct archive_entry *e, const char *path,
                        struct qerr **err)
{
        if (u->n_dirs == u->cap_dirs) {
                size_t cap = u->cap_dirs ? u->cap_dirs * 2 : 64;
                struct dir_meta *d = realloc(u->dirs, cap * sizeof(*d));
                if (!d)
                        return qerr_set(err, ENOMEM, "remember directory '%s'", path);
                u->dirs = d;
                u->cap_dirs = cap;
        }
        struct dir_meta *d = &u->dirs[u->n_dirs];
        if (!(d->path = strdup(path)))
                return qerr_set(err, ENOMEM, "remember directory '%s'", path);
        d->mode = archive_entry_perm(e);
        entry_times(e, d->times);
        u->n_dirs++;
        return 0;
}

/* Mode and times of directories are set last: creating children changes a directory's
 * times, and a read-only mode would stop an unprivileged unpack from filling it. */
static int extract_dir(struct unpack *u, struct archive_entry *e, int pfd, const char *name,
                       const char *path, struct qerr **err)
{
        int r = clear_target(u, pfd, name, true, err);
        if (r < 0)
                return r;
        if (r == 0 && mkdirat(pfd, name, 0700) < 0)
                return qerr_set_errno(err, errno, "create directory '%s'", path);
        _cleanup_close_ int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return qerr_set_errno(err, errno, "open directory '%s'", path);
        r = apply_owner(u, e, pfd, name, path, err);
        if (r >= 0)
                r = apply_xattrs(u, e, fd, pfd, name, path, err);
        if (r >= 0)
                r = remember_dir(u, e, path, err);
        return r;
}

static int extract_hardlink(struct unpack *u, struct archive_entry *e, int pfd, const char *name,
                            const char *path, struct qerr **err)
{
        _cleanup_free_ char *target = NULL;
        int r = clean_path(archive_entry_hardlink(e), &target, err);
        if (r < 0)
                return qerr_wrap_r(r, err, "hard link '%s'", path);
        const char *slash = strrchr(target, '/');
        _cleanup_free_ char *tdir = strndup(target, slash ? (size_t)(slash - target) : 0);
        if (!tdir)
                return qerr_set(err, ENOMEM, "hard link '%s'", path);
        _cleanup_close_ int tfd = open_dir_beneath(u, tdir, false, err);
        if (tfd < 0)
                return qerr_wrap_r(tfd, err, "hard link '%s'", path);
        const char *tname = slash ? slash + 1 : target;
        if (*tname == 0)
                return qerr_set(err, EPERM, "refusing hard link '%s' to the root", path);
        /* Without AT_SYMLINK_FOLLOW a symlink target is linked itself, never followed. */
        if (linkat(tfd, tname, pfd, name, 0) < 0)
                return qerr_set_errno(err, errno, "hard link '%s' to '%s'", path, target);
        return 0;
}

static int extract_special(struct unpack *u, struct archive_entry *e, int pfd, const char *name,
                           const char *path, struct qerr **err)
{
        mode_t type = archive_entry_filetype(e);
        const char *target = archive_entry_symlink(e);
        int r;
        /* A tar header may leave the link name empty; there is no symlink to nowhere. */
        if (type == AE_IFLNK && (!target || !*target))
                return qerr_set(err, EILSEQ, "symlink '%s' has no target", path);
        if (type == AE_IFLNK)
                r = symlinkat(target, pfd, name);
        else
                r = mknodat(pfd, name, type | archive_entry_perm(e), archive_entry_rdev(e));
        if (r < 0)
                return qerr_set_errno(err, errno, "create '%s'", path);
        r = apply_owner(u, e, pfd, name, path, err);
        if (r >= 0 && type != AE_IFLNK && fchmodat(pfd, name, archive_entry_perm(e), 0) < 0)
                r = qerr_set_errno(err, errno, "chmod '%s'", path);
        if (r >= 0)
                r = apply_xattrs(u, e, -1, pfd, name, path, err);
        struct timespec ts[2];
        entry_times(e, ts);
        if (r >= 0 && utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
                r = qerr_set_errno(err, errno, "set times of '%s'", path);
        return r;
}

/* Whiteouts stay whiteouts, in the form overlayfs reads from a lower layer. */
static int extract_whiteout(struct unpack *u, int pfd, const char *name, const char *path,
                            struct qerr **err)
{
        if (strcmp(name, WHITEOUT_OPAQUE) == 0) {
                if (fsetxattr(pfd, "trusted.overlay.opaque", "y", 1, 0) < 0)
                        return qerr_set_errno(err, errno, "mark '%s' opaque", path);
                return 0;
        }
        const char *hidden = name + strlen(WHITEOUT_PREFIX);
        /* Other ".wh..wh." names are aufs bookkeeping, not whiteouts. */
        if (strncmp(hidden, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) == 0)
                return 0;
        if (*hidden == 0 || strcmp(hidden, ".") == 0 || strcmp(hidden, "..") == 0)
                return qerr_set(err, EPERM, "refusing whiteout '%s'", path);
        int r = clear_target(u, pfd, hidden, false, err);
        if (r < 0)
                return r;
        if (mknodat(pfd, hidden, S_IFCHR | 0, makedev(0, 0)) < 0)
                return qerr_set_errno(err, errno, "create whiteout for '%s'", path);
        return 0;
}

static int extract_entry(struct unpack *u, struct archive_entry *e, struct qerr **err)
{
        _cleanup_free_ char *path = NULL;
        int r = clean_path(archive_entry_pathname(e), &path, err);
        if (r < 0)
                return r;
        mode_t type = archive_entry_filetype(e);
        if (*path == 0) {
                if (type != AE_IFDIR)
                        return qerr_set(err, EPERM, "refusing a root entry that is no directory");
                if (u->privileged &&
                    fchown(u->rootfd, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e)) < 0)
                        return qerr_set_errno(err, errno, "chown the layer's root");
                return remember_dir(u, e, "", err);
        }
        const char *name = NULL;
        int pfd = open_parent(u, path, &name, err);
        if (pfd < 0)
                return pfd;
        if (strncmp(name, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) == 0)
                return extract_whiteout(u, pfd, name, path, err);
        if (type == AE_IFDIR)
                return extract_dir(u, e, pfd, name, path, err);
        r = clear_target(u, pfd, name, false, err);
        if (r < 0)
                return r;
        if (archive_entry_hardlink(e))
                return extract_hardlink(u, e, pfd, name, path, err);
        switch (type) {
        case AE_IFREG:
                return extract_file(u, e, pfd, name, path, err);
        case AE_IFLNK:
        case AE_IFCHR:
        case AE_IFBLK:
        case AE_IFIFO:
                return extract_special(u, e, pfd, name, path, err);
        default:
                log_debug("unpack: skipping '%s' of type 0%o", path, (unsigned)type);
                return 0;
        }
}

static int finish_dirs(struct unpack *u, struct qerr **err)
{
        forget_parent(u);
        for (size_t i = u->n_dirs; i > 0; i--) {
                const struct dir_meta *d = &u->dirs[i - 1];
                _cleanup_close_ int fd = open_dir_beneath(u, d->path, false, err);
                if (fd < 0)
                        return fd;
                if (fchmod(fd, d->mode) < 0)
                        return qerr_set_errno(err, errno, "chmod '%s'", d->path);
                if (futimens(fd, d->times) < 0)
                        return qerr_set_errno(err, errno, "set times of '%s'", d->path);
        }
        return 0;
}

/* The tar reader pulls decompressed bytes from the outer reader through here, so the diff id
 * is hashed in the same single pass as the extraction. */
static la_ssize_t inner_read(struct archive *a, void *data, const void **buf)
{
        struct unpack *u = data;
        la_ssize_t n = archive_read_data(u->outer, u->buf, UNPACK_BUF);
        if (n < 0) {
                archive_set_error(a, EIO, "decompress: %s", archive_error_string(u->outer));
                return -1;
        }
        sha256_update(u->sha, u->buf, (size_t)n);
        u->stats.tar_bytes += (uint64_t)n;
        *buf = u->buf;
        return n;
}

static int open_readers(struct unpack *u, int blob_fd, struct qerr **err)
{
        u->outer = archive_read_new();
        u->inner = archive_read_new();
        u->buf = malloc(UNPACK_BUF);
        if (!u->outer || !u->inner || !u->buf)
                return qerr_set(err, ENOMEM, "open layer");
        /* The compressions docker and containerd accept for layers, and nothing else: a
         * bidder for an exotic format could take a plain tar for its own. */
        archive_read_support_filter_gzip(u->outer);
        archive_read_support_filter_zstd(u->outer);
        archive_read_support_filter_xz(u->outer);
        archive_read_support_filter_bzip2(u->outer);
        archive_read_support_format_raw(u->outer);
        if (archive_read_open_fd(u->outer, blob_fd, UNPACK_BUF) != ARCHIVE_OK)
                return qerr_set(err, EBADMSG, "open layer: %s", archive_error_string(u->outer));
        struct archive_entry *raw;
        if (archive_read_next_header(u->outer, &raw) != ARCHIVE_OK)
                return qerr_set(err, EBADMSG, "read layer: %s", archive_error_string(u->outer));
        archive_read_support_format_tar(u->inner);
        if (archive_read_open(u->inner, u, NULL, inner_read, NULL) != ARCHIVE_OK)
                return qerr_set(err, EBADMSG, "read layer: %s", archive_error_string(u->inner));
        return 0;
}

static int extract_all(struct unpack *u, struct qerr **err)
{
        struct archive_entry *e;
        for (;;) {
                int r = archive_read_next_header(u->inner, &e);
                if (r == ARCHIVE_EOF)
                        break;
                if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
                        return qerr_set(err, EBADMSG, "read layer: %s",
                                        archive_error_string(u->inner));
                u->stats.entries++;
                r = extract_entry(u, e, err);
                if (r < 0)
                        return r;
        }
        /* The tar reader stops at the end-of-archive blocks; the diff id covers every byte
         * of the stream, padding included. */
        la_ssize_t n;
        while ((n = archive_read_data(u->outer, u->buf, UNPACK_BUF)) > 0) {
                sha256_update(u->sha, u->buf, (size_t)n);
                u->stats.tar_bytes += (uint64_t)n;
        }
        if (n < 0)
                return qerr_set(err, EBADMSG, "read layer: %s", archive_error_string(u->outer));
        return finish_dirs(u, err);
}

int image_unpack_layer(int blob_fd, const char *dest, char ret_diff_id[static 72],
                       struct unpack_stats *ret_stats, struct qerr **err)
{
        struct unpack u = { .rootfd = -1, .parent_fd = -1, .dest = dest };
        u.privileged = geteuid() == 0;
        int r = sha256_new(&u.sha, err);
        if (r >= 0) {
                u.rootfd = open(dest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (u.rootfd < 0)
                        r = qerr_set_errno(err, errno, "open '%s'", dest);
        }
        if (r >= 0)
                r = open_readers(&u, blob_fd, err);
        if (r >= 0)
                r = extract_all(&u, err);
        if (r >= 0) {
                sha256_final_digest(u.sha, ret_diff_id);
                u.stats.blob_bytes = (uint64_t)archive_filter_bytes(u.outer, -1);
                if (ret_stats)
                        *ret_stats = u.stats;
        }
        unpack_done(&u);
        return r;
}

static char *layer_path(const struct image_store *s, const char *diff_id)
{
        char *p = NULL;
        if (image_digest_validate(diff_id, NULL) < 0 ||
            asprintf(&p, "%s/sha256/%s", s->layers, digest_hex(diff_id)) < 0)
                return NULL;
        return p;
}

static int unpack_into_tmp(const struct image_store *s, const struct image_desc *layer, char *tmp,
                           char diff_id[static 72], struct unpack_stats *stats, struct qerr **err)
{
        _cleanup_free_ char *blob = image_store_blob_path(s, layer->digest);
        if (!blob)
                return qerr_set(err, EINVAL, "invalid layer digest '%s'", layer->digest);
        _cleanup_close_ int fd = open(blob, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return qerr_set_errno(err, errno, "open layer blob '%s'", layer->digest);
        if (!mkdtemp(tmp))
                return qerr_set_errno(err, errno, "create directory in '%s'", s->layers);
        if (chmod(tmp, 0755) < 0)
                return qerr_set_errno(err, errno, "chmod '%s'", tmp);
        return image_unpack_layer(fd, tmp, diff_id, stats, err);
}

int image_layer_ensure(const struct image_store *s, const struct image_desc *layer,
                       const char *diff_id, char **ret_path, struct unpack_stats *ret_stats,
                       struct qerr **err)
{
        _cleanup_free_ char *final = layer_path(s, diff_id);
        _cleanup_free_ char *tmp = NULL, *dir = NULL;
        if (!final || asprintf(&tmp, "%s/tmp-XXXXXX", s->layers) < 0 ||
            asprintf(&dir, "%s/sha256", s->layers) < 0)
                return qerr_set(err, EINVAL, "invalid diff id '%s'", diff_id);
        struct stat st;
        if (stat(final, &st) == 0 && S_ISDIR(st.st_mode)) {
                if (ret_stats)
                        *ret_stats = (struct unpack_stats){ 0 };
                *ret_path = TAKE_PTR(final);
                return 0;
        }
        int r = mkdir_p(dir, 0700, err);
        if (r < 0)
                return r;
        char got[72];
        struct unpack_stats stats = { 0 };
        r = unpack_into_tmp(s, layer, tmp, got, &stats, err);
        if (r >= 0 && strcmp(got, diff_id) != 0)
                r = qerr_set(err, EBADMSG, "layer '%s' has diff id '%s', the image says '%s'",
                             layer->digest, got, diff_id);
        /* Another unpacker may have finished the same layer first: keep the one in place. */
        if (r >= 0 && rename(tmp, final) < 0 && errno != EEXIST && errno != ENOTEMPTY)
                r = qerr_set_errno(err, errno, "rename '%s' to '%s'", tmp, final);
        if (access(tmp, F_OK) == 0)
                (void)rm_rf(tmp, NULL);
        if (r < 0)
                return qerr_wrap_r(r, err, "unpack layer '%s'", layer->digest);
        if (ret_stats)
                *ret_stats = stats;
        *ret_path = TAKE_PTR(final);
        return 0;
}
