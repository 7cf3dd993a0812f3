/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "ns/paths.h"

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

int copy_small_file(const char *from, const char *to, mode_t mode, struct qerr **err)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int r = read_full_file(from, 1 << 20, &buf, &len, err);
        if (r < 0)
                return r;
        return write_file_atomic(to, buf, len, mode, err);
}

/* openat2 with RESOLVE_BENEATH: no absolute path, no absolute symlink, no ".." and no
 * symlink whose target leaves dfd, checked by the kernel at each step. */
static int open_beneath(int dfd, const char *rel, int flags)
{
        struct open_how how = {
                .flags = (uint64_t)flags | O_CLOEXEC,
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
        };
        return (int)syscall(SYS_openat2, dfd, rel, &how, sizeof(how));
}

static int refuse_escape(const char *dir, const char *rel, struct qerr **err)
{
        if (errno == EXDEV || errno == ELOOP)
                return qerr_set(err, EPERM, "'%s' leaves '%s'", rel, dir);
        return qerr_set_errno(err, errno, "open '%s' in '%s'", rel, dir);
}

/* Makes the directory prefix (relative to rootfd) unless it is there; the parent is opened
 * beneath the root, and mkdirat never follows a symlink in its last component. */
static int make_component(int rootfd, const char *dir, char *prefix, struct qerr **err)
{
        char *slash = strrchr(prefix, '/');
        _cleanup_close_ int pfd = -1;
        if (slash) {
                *slash = 0;
                pfd = open_beneath(rootfd, prefix, O_PATH | O_DIRECTORY);
                *slash = '/';
        } else {
                pfd = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
        }
        if (pfd < 0)
                return refuse_escape(dir, prefix, err);
        if (mkdirat(pfd, slash ? slash + 1 : prefix, 0755) < 0 && errno != EEXIST)
                return qerr_set_errno(err, errno, "create '%s' in '%s'", prefix, dir);
        return 0;
}

/* Checks the leading components prefix of rel, making the directory when it is missing. */
static int ensure_component(int rootfd, const char *dir, const char *rel, char *prefix, bool create,
                            struct qerr **err)
{
        _cleanup_close_ int fd = open_beneath(rootfd, prefix, O_PATH);
        if (fd >= 0)
                return 0;
        if (errno != ENOENT || !create)
                return refuse_escape(dir, rel, err);
        return make_component(rootfd, dir, prefix, err);
}

int path_resolve_beneath(const char *dir, const char *rel, bool create, char **ret,
                         struct qerr **err)
{
        if (rel[0] == '/')
                return qerr_set(err, EINVAL, "'%s' is not a relative path", rel);
        _cleanup_close_ int rootfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return qerr_set_errno(err, errno, "open '%s'", dir);
        _cleanup_free_ char *prefix = strdup(rel);
        if (!prefix)
                return qerr_set(err, ENOMEM, "resolve '%s'", rel);
        for (char *p = prefix;;) {
                size_t n = strcspn(p, "/");
                char end = p[n];
                if (n == 2 && p[0] == '.' && p[1] == '.')
                        return qerr_set(err, EPERM, "'%s' contains '..'", rel);
                p[n] = 0;
                int r = n > 0 ? ensure_component(rootfd, dir, rel, prefix, create, err) : 0;
                if (r < 0)
                        return r;
                if (!end)
                        break;
                p[n] = end;
                p += n + 1;
        }
        _cleanup_close_ int fd = open_beneath(rootfd, rel, O_PATH);
        if (fd < 0)
                return refuse_escape(dir, rel, err);
        /* The path the kernel resolved, with no symlink left in it. */
        char link[64], buf[PATH_MAX];
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        ssize_t len = readlink(link, buf, sizeof(buf) - 1);
        if (len < 0)
                return qerr_set_errno(err, errno, "resolve '%s' in '%s'", rel, dir);
        buf[len] = 0;
        char *s = strdup(buf);
        if (!s)
                return qerr_set(err, ENOMEM, "resolve '%s'", rel);
        *ret = s;
        return 0;
}
