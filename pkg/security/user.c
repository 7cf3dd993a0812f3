/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "basic/fileio.h"
#include "security/internal.h"

#define ETC_FILE_MAX (4u << 20)

int sec_parse_id(const char *s, uint32_t *ret)
{
        if (!*s || strlen(s) > 10)
                return -EINVAL;
        uint64_t v = 0;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                v = v * 10 + (uint64_t)(*p - '0');
        }
        if (v > INT32_MAX)
                return -ERANGE;
        *ret = (uint32_t)v;
        return 0;
}

int sec_ids_add(uint32_t **ids, size_t *n, uint32_t id)
{
        for (size_t i = 0; i < *n; i++)
                if ((*ids)[i] == id)
                        return 0;
        uint32_t *l = realloc(*ids, (*n + 1) * sizeof(*l));
        if (!l)
                return -ENOMEM;
        l[(*n)++] = id;
        *ids = l;
        return 0;
}

/* Reads /etc/<name> of an image. The rootfs is not ours to trust: links resolve inside it. A
 * missing file gives *ret = NULL. */
static int read_etc_file(const char *rootfs, const char *name, char **ret, struct qerr **err)
{
        _cleanup_close_ int root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return qerr_set_errno(err, errno, "open image rootfs '%s'", rootfs);
        struct open_how how = {
                .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        char path[32];
        snprintf(path, sizeof(path), "etc/%s", name);
        _cleanup_close_ int fd = (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
        if (fd < 0 && errno == ENOENT) {
                *ret = NULL;
                return 0;
        }
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0)
                return qerr_set_errno(err, errno, "open '/%s' of the image", path);
        if (!S_ISREG(st.st_mode))
                return qerr_set(err, EINVAL, "'/%s' of the image is not a regular file", path);
        _cleanup_fclose_ FILE *f = fdopen(fd, "r");
        if (!f)
                return qerr_set_errno(err, errno, "open '/%s' of the image", path);
        TAKE_FD(fd);
        return read_full_stream(f, path, ETC_FILE_MAX, ret, NULL, err);
}

/* Splits one line of /etc/passwd or /etc/group into at most max fields, in place. */
static size_t split_fields(char *line, char **fields, size_t max)
{
        size_t n = 0;
        for (char *p = line; n < max;) {
                fields[n++] = p;
                p = strchr(p, ':');
                if (!p)
                        break;
                *p++ = 0;
        }
        return n;
}

/* Calls fn on each line of an etc file (a copy it may cut up); stops when fn returns != 0. */
static int foreach_line(const char *buf, int (*fn)(char *line, void *u), void *u)
{
        for (const char *p = buf; p && *p;) {
                size_t len = strcspn(p, "\n");
                _cleanup_free_ char *line = strndup(p, len);
                if (!line)
                        return -ENOMEM;
                p += len + (p[len] == '\n');
                if (*line == 0 || *line == '#')
                        continue;
                int r = fn(line, u);
                if (r != 0)
                        return r;
        }
        return 0;
}

struct pw_query {
        const char *name; /* by name, or else by uid */
        uint32_t uid;
        uint32_t found_uid, found_gid;
        char *found_name;
};

static int match_passwd(char *line, void *u)
{
        struct pw_query *q = u;
        char *f[7];
        uint32_t uid, gid;
        if (split_fields(line, f, 7) < 4 || sec_parse_id(f[2], &uid) < 0 ||
            sec_parse_id(f[3], &gid) < 0)
                return 0;
        if (q->name ? strcmp(q->name, f[0]) != 0 : uid != q->uid)
                return 0;
        q->found_uid = uid;
        q->found_gid = gid;
        q->found_name = strdup(f[0]);
        return q->found_name ? 1 : -ENOMEM;
}

struct gr_query {
        const char *name; /* a group by name, or else the groups that list `member` */
        const char *member;
        uint32_t found_gid;
        bool found;
        uint32_t *gids;
        size_t n_gids;
};

static int match_group(char *line, void *u)
{
        struct gr_query *q = u;
        char *f[4];
        uint32_t gid;
        if (split_fields(line, f, 4) < 3 || sec_parse_id(f[2], &gid) < 0)
                return 0;
        if (q->name) {
                if (strcmp(q->name, f[0]) != 0)
                        return 0;
                q->found_gid = gid;
                q->found = true;
                return 1;
        }
        /* The group named after the user is its primary group, not a supplementary one. */
        if (!q->member || strcmp(f[0], q->member) == 0 || !f[3])
                return 0;
        char *save = NULL;
        for (char *m = strtok_r(f[3], ",", &save); m; m = strtok_r(NULL, ",", &save))
                if (strcmp(m, q->member) == 0)
                        return sec_ids_add(&q->gids, &q->n_gids, gid);
        return 0;
}

static int resolve_user_part(const char *passwd, const char *user, struct pw_query *q,
                             struct qerr **err)
{
        uint32_t uid = 0;
        bool numeric = !*user || sec_parse_id(user, &uid) == 0;
        if (!numeric && strspn(user, "0123456789") == strlen(user))
                return qerr_set(err, ERANGE, "user id '%s' is out of range", user);
        *q = (struct pw_query){ .name = numeric ? NULL : user, .uid = uid };
        int r = passwd ? foreach_line(passwd, match_passwd, q) : 0;
        if (r < 0)
                return qerr_set(err, -r, "read /etc/passwd of the image");
        if (r > 0)
                return 0;
        if (!numeric)
                return qerr_set(err, ENOENT,
                                "unable to find user '%s': no matching entries in passwd file",
                                user);
        /* A numeric user the image does not list runs with group 0, as under runc. */
        q->found_uid = uid;
        q->found_gid = 0;
        return 0;
}

static int resolve_group_part(const char *group, const char *name, uint32_t *gid, struct qerr **err)
{
        if (sec_parse_id(name, gid) == 0)
                return 0;
        struct gr_query q = { .name = name };
        int r = group ? foreach_line(group, match_group, &q) : 0;
        if (r < 0)
                return qerr_set(err, -r, "read /etc/group of the image");
        if (!q.found)
                return qerr_set(err, ENOENT,
                                "unable to find group '%s': no matching entries in group file",
                                name);
        *gid = q.found_gid;
        return 0;
}

int sec_resolve_user(const char *rootfs, const char *image_user, bool has_uid, int64_t uid,
                     bool has_gid, int64_t gid, struct sec_user *ret, struct qerr **err)
{
        _cleanup_free_ char *passwd = NULL, *group = NULL, *spec = NULL;
        int r;
        if (rootfs && ((r = read_etc_file(rootfs, "passwd", &passwd, err)) < 0 ||
                       (r = read_etc_file(rootfs, "group", &group, err)) < 0))
                return r;
        if (has_uid && asprintf(&spec, "%lld", (long long)uid) < 0)
                spec = NULL;
        else if (!has_uid)
                spec = strdup(image_user ? image_user : "");
        if (!spec)
                return qerr_set(err, ENOMEM, "resolve user");
        char *gpart = strchr(spec, ':');
        if (gpart)
                *gpart++ = 0;
        struct pw_query q;
        if ((r = resolve_user_part(passwd, spec, &q, err)) < 0)
                return r;
        _cleanup_free_ char *name = q.found_name;
        struct sec_user u = { .uid = q.found_uid, .gid = q.found_gid };
        if (gpart && *gpart && (r = resolve_group_part(group, gpart, &u.gid, err)) < 0)
                return r;
        if (has_gid)
                u.gid = (uint32_t)gid;
        struct gr_query gq = { .member = name };
        r = group ? foreach_line(group, match_group, &gq) : 0;
        if (r < 0) {
                free(gq.gids);
                return qerr_set(err, -r, "read /etc/group of the image");
        }
        u.groups = gq.gids;
        u.n_groups = gq.n_gids;
        *ret = u;
        return 0;
}
