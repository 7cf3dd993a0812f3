/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "ns/mount.h"

static int openat2_in_root(int rootfd, const char *path, int flags)
{
        struct open_how how = {
                .flags = (unsigned)flags | O_CLOEXEC,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
        return fd < 0 ? -errno : fd;
}

/* Creates the missing component name in the directory pfd. A dangling symlink there is not
 * missing: *ret_link gets its target, and the caller resolves again through it. */
static int create_at(int pfd, const char *name, bool file, char **ret_link)
{
        struct stat st;
        if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
                char buf[PATH_MAX];
                ssize_t n = readlinkat(pfd, name, buf, sizeof(buf) - 1);
                if (n < 0)
                        return -errno;
                buf[n] = 0;
                *ret_link = strdup(buf);
                return *ret_link ? 0 : -ENOMEM;
        }
        if (!file)
                return mkdirat(pfd, name, 0755) < 0 && errno != EEXIST ? -errno : 0;
        int fd = openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return errno == EEXIST ? 0 : -errno;
        close(fd);
        return 0;
}

/* Walks path under root component by component, creating what is missing. Returns 0 when the
 * whole path exists, or 1 with *ret_next set to the path to try instead (a symlink was met). */
static int create_path(int rootfd, const char *path, bool last_is_file, char **ret_next)
{
        size_t len = strlen(path);
        for (size_t start = 0, end; start < len; start = end + 1) {
                end = start + strcspn(path + start, "/");
                if (end == start)
                        continue;
                _cleanup_free_ char *prefix = strndup(path, end);
                _cleanup_free_ char *dir = start ? strndup(path, start - 1) : strdup(".");
                _cleanup_free_ char *name = strndup(path + start, end - start);
                if (!prefix || !dir || !name)
                        return -ENOMEM;
                int fd = openat2_in_root(rootfd, prefix, O_PATH);
                if (fd >= 0) {
                        close(fd);
                        continue;
                }
                if (fd != -ENOENT)
                        return fd;
                _cleanup_close_ int pfd = openat2_in_root(rootfd, dir, O_PATH);
                if (pfd < 0)
                        return pfd;
                _cleanup_free_ char *link = NULL;
                bool last = path[end] == 0;
                int r = create_at(pfd, name, last && last_is_file, &link);
                if (r < 0)
                        return r;
                if (link) {
                        /* A relative target is relative to the symlink's directory. */
                        bool abs = link[0] == '/';
                        const char *rest = last ? "" : path + end + 1;
                        if (asprintf(ret_next, "%s%s%s%s%s", abs ? "" : dir, abs ? "" : "/", link,
                                     *rest ? "/" : "", rest) < 0)
                                return -ENOMEM;
                        return 1;
                }
        }
        return 0;
}

int open_in_root(int rootfd, const char *path, enum in_root_create create, struct qerr **err)
{
        while (*path == '/')
                path++;
        _cleanup_free_ char *cur = strdup(*path ? path : ".");
        if (!cur)
                return qerr_set(err, ENOMEM, "open '/%s' in rootfs", path);
        /* Each round follows one dangling symlink; 40 is the kernel's own limit. */
        for (int round = 0; round < 40; round++) {
                int fd = openat2_in_root(rootfd, cur, O_PATH);
                if (fd >= 0)
                        return fd;
                if (fd != -ENOENT || create == IN_ROOT_NO_CREATE)
                        return qerr_set_errno(err, -fd, "open '/%s' in rootfs", path);
                char *next = NULL;
                int r = create_path(rootfd, cur, create == IN_ROOT_FILE, &next);
                if (r < 0)
                        return qerr_set_errno(err, -r, "create '/%s' in rootfs", path);
                if (r == 1) {
                        free(cur);
                        cur = next;
                        size_t skip = strspn(cur, "/");
                        memmove(cur, cur + skip, strlen(cur + skip) + 1);
                        if (!*cur)
                                strcpy(cur, ".");
                }
        }
        return qerr_set(err, ELOOP, "create '/%s' in rootfs", path);
}

static int attach(int mfd, int target)
{
        return move_mount(mfd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

int bind_mount_fd(const char *source, int target, bool read_only, struct qerr **err)
{
        _cleanup_close_ int mfd = open_tree(AT_FDCWD, source,
                                            OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (mfd < 0)
                return qerr_set_errno(err, errno, "clone mount of '%s'", source);
        if (read_only) {
                struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY };
                if (mount_setattr(mfd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) < 0)
                        return qerr_set_errno(err, errno, "make '%s' read-only", source);
        }
        if (attach(mfd, target) < 0)
                return qerr_set_errno(err, errno, "bind-mount '%s'", source);
        return 0;
}

int fs_mount_fd(const char *fstype, const char *const *options, unsigned attrs, int target,
                struct qerr **err)
{
        _cleanup_close_ int fs = fsopen(fstype, FSOPEN_CLOEXEC);
        if (fs < 0)
                return qerr_set_errno(err, errno, "open filesystem '%s'", fstype);
        for (size_t i = 0; options && options[i]; i++) {
                const char *eq = strchr(options[i], '=');
                int r;
                if (eq) {
                        _cleanup_free_ char *key = strndup(options[i], (size_t)(eq - options[i]));
                        if (!key)
                                return qerr_set(err, ENOMEM, "mount '%s'", fstype);
                        r = fsconfig(fs, FSCONFIG_SET_STRING, key, eq + 1, 0);
                } else
                        r = fsconfig(fs, FSCONFIG_SET_FLAG, options[i], NULL, 0);
                if (r < 0)
                        return qerr_set_errno(err, errno, "set '%s' on '%s'", options[i], fstype);
        }
        if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return qerr_set_errno(err, errno, "create '%s' filesystem", fstype);
        _cleanup_close_ int mfd = fsmount(fs, FSMOUNT_CLOEXEC, attrs);
        if (mfd < 0)
                return qerr_set_errno(err, errno, "mount '%s'", fstype);
        if (attach(mfd, target) < 0)
                return qerr_set_errno(err, errno, "attach '%s' mount", fstype);
        return 0;
}
