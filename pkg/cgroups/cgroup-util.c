/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <poll.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "basic/fileio.h"
#include "basic/strbuf.h"
#include "cgroups/cgroup-internal.h"

static const char *const controller_names[_CG_CONTROLLER_MAX] = {
        [CG_CPU] = "cpu",
        [CG_CPUACCT] = "cpuacct",
        [CG_CPUSET] = "cpuset",
        [CG_MEMORY] = "memory",
        [CG_PIDS] = "pids",
        [CG_HUGETLB] = "hugetlb",
        [CG_FREEZER] = "freezer",
        [CG_IO] = "io",
        [CG_BLKIO] = "blkio",
        [CG_DEVICES] = "devices",
        [CG_RDMA] = "rdma",
        [CG_MISC] = "misc",
        [CG_NET_CLS] = "net_cls",
        [CG_NET_PRIO] = "net_prio",
        [CG_PERF_EVENT] = "perf_event",
};

const char *cg_controller_to_string(enum cg_controller c)
{
        if (c < 0 || c >= _CG_CONTROLLER_MAX)
                return NULL;
        return controller_names[c];
}

enum cg_controller cg_controller_from_stringn(const char *s, size_t n)
{
        for (int c = 0; c < _CG_CONTROLLER_MAX; c++)
                if (strlen(controller_names[c]) == n && strncmp(controller_names[c], s, n) == 0)
                        return c;
        return _CG_CONTROLLER_INVALID;
}

enum cg_controller cg_controller_from_string(const char *s)
{
        return cg_controller_from_stringn(s, strlen(s));
}

int cg_file_controller(const char *name, bool v1, enum cg_controller *ret, struct qerr **err)
{
        const char *sep = strchr(name, v1 ? '/' : '.');
        if (!sep || sep == name || !sep[1] || (v1 && strchr(sep + 1, '/')) ||
            (!v1 && strchr(name, '/')))
                return qerr_set(err, EINVAL, "bad cgroup file name '%s'", name);
        if (!v1 && strncmp(name, "cgroup.", 7) == 0) {
                *ret = _CG_CONTROLLER_MAX;
                return 0;
        }
        enum cg_controller c = cg_controller_from_stringn(name, sep - name);
        if (c < 0)
                return qerr_set(err, EINVAL, "unknown cgroup controller in '%s'", name);
        *ret = c;
        return 0;
}

unsigned cg_parse_controller_list(const char *text)
{
        unsigned mask = 0;
        const char *p = text;
        while (*p) {
                size_t skip = strspn(p, " \t\n,");
                p += skip;
                size_t n = strcspn(p, " \t\n,");
                if (n == 0)
                        break;
                enum cg_controller c = cg_controller_from_stringn(p, n);
                if (c >= 0)
                        mask |= CG_MASK(c);
                p += n;
        }
        return mask;
}

void cg_mounts_done(struct cg_mounts *m)
{
        free(m->unified);
        for (int c = 0; c < _CG_CONTROLLER_MAX; c++)
                free(m->v1[c]);
        *m = (struct cg_mounts){ 0 };
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static char *unescape_octal(const char *s)
{
        char *r = malloc(strlen(s) + 1), *o = r;
        if (!r)
                return NULL;
        while (*s) {
                if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
                    s[3] >= '0' && s[3] <= '7') {
                        *o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
                        s += 4;
                } else
                        *o++ = *s++;
        }
        *o = 0;
        return r;
}

/* Keeps the shortest mount point per controller, as the kubelet does. */
static int keep_shortest(char **slot, const char *mount_point)
{
        if (*slot && strlen(*slot) <= strlen(mount_point))
                return 0;
        char *d = strdup(mount_point);
        if (!d)
                return -ENOMEM;
        free(*slot);
        *slot = d;
        return 0;
}

static int mounts_add_v1(struct cg_mounts *m, const char *mount_point, const char *superopts)
{
        const char *p = superopts;
        while (*p) {
                size_t n = strcspn(p, ",");
                enum cg_controller c = cg_controller_from_stringn(p, n);
                if (c >= 0) {
                        if (keep_shortest(&m->v1[c], mount_point) < 0)
                                return -ENOMEM;
                        m->v1_mask |= CG_MASK(c);
                }
                p += n;
                if (*p == ',')
                        p++;
        }
        return 0;
}

/* One line: id parent maj:min root mount-point options [optional...] - fstype source superopts */
static int mounts_parse_line(struct cg_mounts *m, char *line)
{
        char *tok[64];
        size_t n = 0;
        for (char *save = NULL, *t = strtok_r(line, " ", &save); t && n < ELEMENTSOF(tok);
             t = strtok_r(NULL, " ", &save))
                tok[n++] = t;
        size_t sep = 6;
        while (sep < n && strcmp(tok[sep], "-") != 0)
                sep++;
        if (n < 7 || sep + 1 >= n)
                return -EINVAL;
        const char *fstype = tok[sep + 1];
        const char *superopts = sep + 3 < n ? tok[sep + 3] : "";
        if (strcmp(fstype, "cgroup2") != 0 && strcmp(fstype, "cgroup") != 0)
                return 0;
        _cleanup_free_ char *mp = unescape_octal(tok[4]);
        if (!mp)
                return -ENOMEM;
        if (strcmp(fstype, "cgroup2") == 0)
                return keep_shortest(&m->unified, mp);
        return mounts_add_v1(m, mp, superopts);
}

int cg_mounts_parse(const char *text, struct cg_mounts *ret, struct qerr **err)
{
        struct cg_mounts m = { 0 };
        _cleanup_free_ char *copy = strdup(text);
        if (!copy)
                return qerr_set(err, ENOMEM, "parse mountinfo");
        unsigned lineno = 0;
        for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l;
             l = strtok_r(NULL, "\n", &save)) {
                lineno++;
                int r = mounts_parse_line(&m, l);
                if (r < 0) {
                        cg_mounts_done(&m);
                        return qerr_set(err, -r, "parse mountinfo line %u", lineno);
                }
        }
        *ret = m;
        return 0;
}

int cg_mounts_mode(const struct cg_mounts *m, enum cg_mode *ret, struct qerr **err)
{
        if (m->v1_mask == 0 && !m->unified)
                return qerr_set(err, ENOMEDIUM, "find cgroup hierarchy: none is mounted");
        if (m->v1_mask == 0)
                *ret = CG_MODE_UNIFIED;
        else if (m->unified)
                *ret = CG_MODE_HYBRID;
        else
                *ret = CG_MODE_LEGACY;
        return 0;
}

int cg_parse_keyed(const char *text, const char *key, uint64_t *ret)
{
        size_t kl = strlen(key);
        for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
                if (strncmp(p, key, kl) != 0 || (p[kl] != ' ' && p[kl] != '\t'))
                        continue;
                const char *v = p + kl + strspn(p + kl, " \t");
                if (*v < '0' || *v > '9')
                        return -EINVAL;
                char *end;
                errno = 0;
                unsigned long long x = strtoull(v, &end, 10);
                if (errno != 0 || (*end && *end != '\n' && *end != ' '))
                        return -EINVAL;
                *ret = x;
                return 0;
        }
        return -ENOENT;
}

char *cg_path_join(const char *a, const char *b, const char *c)
{
        _cleanup_strbuf_ struct strbuf sb = { 0 };
        const char *parts[] = { a, b, c };
        for (size_t i = 0; i < ELEMENTSOF(parts); i++) {
                const char *s = parts[i];
                if (!s || !*s)
                        continue;
                if (sb.len > 0 && sb.buf[sb.len - 1] == '/')
                        s += strspn(s, "/");
                else if (sb.len > 0 && *s != '/')
                        strbuf_append_char(&sb, '/');
                strbuf_append(&sb, s);
        }
        if (sb.len == 0)
                strbuf_append(&sb, "");
        if (sb.oom)
                return NULL;
        return strbuf_steal(&sb);
}

bool cg_path_is_valid(const char *path)
{
        if (!path || path[0] != '/')
                return false;
        if (strcmp(path, "/") == 0)
                return true;
        const char *p = path + 1;
        for (;;) {
                size_t n = strcspn(p, "/");
                if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
                        return false;
                p += n;
                if (!*p)
                        return true;
                p++;
        }
}

bool cg_path_is_below(const char *path, const char *root)
{
        if (strcmp(root, "/") == 0)
                return strcmp(path, "/") != 0;
        size_t n = strlen(root);
        return strncmp(path, root, n) == 0 && path[n] == '/' && path[n + 1];
}

int cg_path_prefixes(const char *path, char ***ret)
{
        char **l = NULL;
        for (const char *p = path + 1; *p;) {
                p += strcspn(p, "/");
                _cleanup_free_ char *prefix = strndup(path, p - path);
                if (!prefix || cg_strv_push(&l, prefix) < 0) {
                        strv_free(l);
                        return -ENOMEM;
                }
                if (*p)
                        p++;
        }
        if (!l && cg_strv_push(&l, "/") < 0)
                return -ENOMEM;
        *ret = l;
        return 0;
}

int cg_write_file(const char *dir, const char *file, const char *value, struct qerr **err)
{
        _cleanup_free_ char *p = cg_path_join(dir, file, NULL);
        if (!p)
                return qerr_set(err, ENOMEM, "write '%s'", file);
        return write_string_file(p, value, err);
}

int cg_read_file(const char *dir, const char *file, char **ret, struct qerr **err)
{
        _cleanup_free_ char *p = cg_path_join(dir, file, NULL);
        if (!p)
                return qerr_set(err, ENOMEM, "read '%s'", file);
        char *buf = NULL;
        int r = read_full_file(p, 16u << 20, &buf, NULL, err);
        if (r < 0)
                return r;
        size_t n = strlen(buf);
        while (n > 0 && buf[n - 1] == '\n')
                buf[--n] = 0;
        *ret = buf;
        return 0;
}

int cg_read_file_optional(const char *dir, const char *file, char **ret, struct qerr **err)
{
        _cleanup_qerr_ struct qerr *e = NULL;
        int r = cg_read_file(dir, file, ret, &e);
        if (r == -ENOENT) {
                *ret = NULL;
                return 0;
        }
        if (r < 0 && err && !*err)
                *err = TAKE_PTR(e);
        return r;
}

size_t cg_strv_length(char *const *l)
{
        size_t n = 0;
        while (l && l[n])
                n++;
        return n;
}

bool cg_strv_contains(char *const *l, const char *s)
{
        for (size_t i = 0; l && l[i]; i++)
                if (strcmp(l[i], s) == 0)
                        return true;
        return false;
}

int cg_strv_push(char ***l, const char *s)
{
        size_t n = cg_strv_length(*l);
        char *d = strdup(s);
        if (!d)
                return -ENOMEM;
        char **nl = realloc(*l, (n + 2) * sizeof(char *));
        if (!nl) {
                free(d);
                return -ENOMEM;
        }
        nl[n] = d;
        nl[n + 1] = NULL;
        *l = nl;
        return 0;
}

int cg_list_subdirs(const char *dir, char ***ret, struct qerr **err)
{
        _cleanup_(closedirp) DIR *d = opendir(dir);
        _cleanup_strv_free_ char **l = NULL;
        if (!d) {
                if (errno == ENOENT) {
                        *ret = NULL;
                        return 0;
                }
                return qerr_set_errno(err, errno, "open directory '%s'", dir);
        }
        for (;;) {
                errno = 0;
                struct dirent *de = readdir(d);
                if (!de) {
                        if (errno != 0)
                                return qerr_set_errno(err, errno, "read directory '%s'", dir);
                        break;
                }
                if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 ||
                    strcmp(de->d_name, "..") == 0)
                        continue;
                if (cg_strv_push(&l, de->d_name) < 0)
                        return qerr_set(err, ENOMEM, "read directory '%s'", dir);
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int parse_pids(const char *text, pid_t **pids, size_t *n)
{
        for (const char *p = text; *p;) {
                char *end;
                long v = strtol(p, &end, 10);
                if (end == p)
                        break;
                if (v > 0) {
                        pid_t *np = realloc(*pids, (*n + 1) * sizeof(pid_t));
                        if (!np)
                                return -ENOMEM;
                        np[(*n)++] = (pid_t)v;
                        *pids = np;
                }
                p = end + strspn(end, "\n");
        }
        return 0;
}

int cg_collect_pids(const char *dir, pid_t **pids, size_t *n, struct qerr **err)
{
        _cleanup_free_ char *procs = NULL;
        int r = cg_read_file_optional(dir, "cgroup.procs", &procs, err);
        if (r < 0)
                return r;
        if (!procs)
                return 0; /* gone meanwhile */
        if (parse_pids(procs, pids, n) < 0)
                return qerr_set(err, ENOMEM, "read processes of '%s'", dir);
        _cleanup_strv_free_ char **subs = NULL;
        r = cg_list_subdirs(dir, &subs, err);
        if (r < 0)
                return r;
        STRV_FOREACH (s, subs) {
                _cleanup_free_ char *child = cg_path_join(dir, *s, NULL);
                if (!child)
                        return qerr_set(err, ENOMEM, "read processes of '%s'", dir);
                r = cg_collect_pids(child, pids, n, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int cg_rmdir_tree(const char *dir, struct qerr **err)
{
        _cleanup_strv_free_ char **subs = NULL;
        int r = cg_list_subdirs(dir, &subs, err);
        if (r < 0)
                return r;
        bool busy = false;
        STRV_FOREACH (s, subs) {
                _cleanup_free_ char *child = cg_path_join(dir, *s, NULL);
                if (!child)
                        return qerr_set(err, ENOMEM, "remove '%s'", dir);
                r = cg_rmdir_tree(child, err);
                if (r == -EBUSY)
                        busy = true;
                else if (r < 0)
                        return r;
        }
        if (busy)
                return -EBUSY;
        if (rmdir(dir) < 0) {
                if (errno == ENOENT)
                        return 0;
                if (errno == EBUSY)
                        return -EBUSY;
                return qerr_set_errno(err, errno, "remove '%s'", dir);
        }
        return 0;
}

uint64_t cg_now_us(void)
{
        struct timespec ts;
        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void cg_backoff_init(struct cg_backoff *b, uint64_t timeout_us)
{
        b->deadline_us = cg_now_us() + timeout_us;
        b->delay_us = 1000;
}

static unsigned backoff_step(struct cg_backoff *b)
{
        uint64_t now = cg_now_us();
        if (now >= b->deadline_us)
                return 0;
        unsigned d = b->delay_us;
        if (d > b->deadline_us - now)
                d = (unsigned)(b->deadline_us - now);
        if (b->delay_us < 256000)
                b->delay_us *= 2;
        return d;
}

bool cg_backoff_wait(struct cg_backoff *b)
{
        unsigned d = backoff_step(b);
        if (d == 0)
                return false;
        struct timespec ts = { .tv_sec = d / 1000000, .tv_nsec = (long)(d % 1000000) * 1000 };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
        return true;
}

int cg_backoff_next_ms(struct cg_backoff *b)
{
        unsigned d = backoff_step(b);
        if (d == 0)
                return 0;
        return (int)((d + 999) / 1000);
}

/* Signals through a pidfd where the kernel has them (Linux 5.3): the process cannot be swapped
 * for another one with the same pid between opening and signalling, and its exit can be
 * waited for with poll(2), whoever its parent is. */
static void kill_and_wait(const pid_t *pids, size_t n, const struct cg_freezer *fz,
                          uint64_t deadline_us)
{
        _cleanup_free_ struct pollfd *fds = calloc(n + 1, sizeof(struct pollfd));
        size_t nfds = 0;
        for (size_t i = 0; i < n; i++) {
                int fd = fds ? (int)syscall(SYS_pidfd_open, pids[i], 0) : -1;
                if (fd < 0) {
                        (void)kill(pids[i], SIGKILL);
                        continue;
                }
                if (syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0) < 0)
                        (void)kill(pids[i], SIGKILL);
                fds[nfds++] = (struct pollfd){ .fd = fd, .events = POLLIN };
        }
        /* A frozen task dies of SIGKILL only once thawed. */
        if (fz && fz->frozen)
                (void)fz->freeze(fz->dir, false);
        for (size_t left = nfds; left > 0;) {
                uint64_t now = cg_now_us();
                if (now >= deadline_us)
                        break;
                int ms = (int)MIN((deadline_us - now + 999) / 1000, 1000u);
                if (poll(fds, nfds, ms) < 0 && errno != EINTR)
                        break;
                for (size_t i = 0; i < nfds; i++)
                        if (fds[i].fd >= 0 && fds[i].revents) {
                                (void)close(fds[i].fd);
                                fds[i].fd = -1;
                                left--;
                        }
        }
        for (size_t i = 0; i < nfds; i++)
                if (fds[i].fd >= 0)
                        (void)close(fds[i].fd);
}

static int collect_all(char *const *dirs, pid_t **pids, size_t *n, struct qerr **err)
{
        for (size_t i = 0; dirs && dirs[i]; i++) {
                int r = cg_collect_pids(dirs[i], pids, n, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The same process shows in each v1 hierarchy: one pidfd each is enough. */
static size_t dedup_pids(pid_t *pids, size_t n)
{
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                bool seen = false;
                for (size_t j = 0; j < k && !seen; j++)
                        seen = pids[j] == pids[i];
                if (!seen)
                        pids[k++] = pids[i];
        }
        return k;
}

int cg_kill_procs(char *const *dirs, struct cg_freezer *fz, const char *path, struct qerr **err)
{
        struct cg_backoff b;
        cg_backoff_init(&b, CG_KILL_TIMEOUT_US);
        for (bool first = true;; first = false) {
                _cleanup_free_ pid_t *pids = NULL;
                size_t n = 0;
                int r = collect_all(dirs, &pids, &n, err);
                if (r < 0 || n == 0)
                        return r;
                /* Frozen, nothing forks while the signals go out; a child forked between the
                 * reading and the freezing is found by the next round. */
                if (fz && fz->dir)
                        fz->frozen = fz->freeze(fz->dir, true) >= 0;
                kill_and_wait(pids, dedup_pids(pids, n), fz, b.deadline_us);
                if (fz)
                        fz->frozen = false;
                /* Processes attached meanwhile, or without a pidfd: look again, later. */
                if (!first && !cg_backoff_wait(&b))
                        return qerr_set(err, EBUSY, "kill processes of '%s': still running", path);
        }
}

int cg_check_container_id(const char *id, struct qerr **err)
{
        size_t n = id ? strlen(id) : 0;
        if (n == 0 || n > 128 || id[0] == '.' || id[0] == '-' ||
            strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != n)
                return qerr_set(err, EINVAL, "bad container id '%s'", id ? id : "");
        return 0;
}

int cg_container_paths(const char *pod_cgroupfs, const char *pod_systemd, const char *id,
                       char **ret_cgroupfs, char **ret_systemd, struct qerr **err)
{
        int r = cg_check_container_id(id, err);
        if (r < 0)
                return r;
        if (!cg_path_is_valid(pod_cgroupfs) || !cg_path_is_valid(pod_systemd))
                return qerr_set(err, EINVAL, "bad pod cgroup path '%s'", pod_cgroupfs);
        _cleanup_free_ char *scope = NULL;
        if (asprintf(&scope, "qoslet-%s.scope", id) < 0)
                return qerr_set(err, ENOMEM, "name container cgroup '%s'", id);
        _cleanup_free_ char *fs = cg_path_join(pod_cgroupfs, id, NULL);
        _cleanup_free_ char *sd = cg_path_join(pod_systemd, scope, NULL);
        if (!fs || !sd)
                return qerr_set(err, ENOMEM, "name container cgroup '%s'", id);
        *ret_cgroupfs = TAKE_PTR(fs);
        *ret_systemd = TAKE_PTR(sd);
        return 0;
}

int cg_path_to_systemd(const char *cgroupfs_path, char **ret, struct qerr **err)
{
        if (!cg_path_is_valid(cgroupfs_path))
                return qerr_set(err, EINVAL, "bad cgroup path '%s'", cgroupfs_path);
        _cleanup_strbuf_ struct strbuf out = { 0 }, stem = { 0 };
        const char *p = cgroupfs_path + 1;
        while (*p) {
                size_t n = strcspn(p, "/");
                if (memchr(p, '_', n))
                        return qerr_set(err, EINVAL,
                                        "cgroup name '%.*s' holds '_': no systemd form", (int)n, p);
                if (stem.len > 0)
                        strbuf_append_char(&stem, '-');
                for (size_t i = 0; i < n; i++)
                        strbuf_append_char(&stem, p[i] == '-' ? '_' : p[i]);
                strbuf_printf(&out, "/%s.slice", stem.buf);
                p += n;
                if (*p)
                        p++;
        }
        if (out.len == 0)
                strbuf_append(&out, "/");
        if (out.oom || stem.oom)
                return qerr_set(err, ENOMEM, "convert '%s' to systemd", cgroupfs_path);
        *ret = strbuf_steal(&out);
        return 0;
}

static bool slice_name_is_valid(const char *slice)
{
        size_t n = strlen(slice);
        if (n <= 6 || strcmp(slice + n - 6, ".slice") != 0 || strchr(slice, '/'))
                return false;
        if (slice[0] == '-' || slice[n - 7] == '-')
                return false;
        return !strstr(slice, "--");
}

int cg_systemd_expand_slice(const char *slice, char **ret, struct qerr **err)
{
        if (strcmp(slice, "-.slice") == 0) {
                char *r = strdup("/");
                if (!r)
                        return qerr_set(err, ENOMEM, "expand '%s'", slice);
                *ret = r;
                return 0;
        }
        if (!slice_name_is_valid(slice))
                return qerr_set(err, EINVAL, "bad slice name '%s'", slice);
        _cleanup_strbuf_ struct strbuf out = { 0 };
        size_t stem_len = strlen(slice) - 6;
        for (size_t i = 0; i <= stem_len; i++) {
                if (i < stem_len && slice[i] != '-')
                        continue;
                strbuf_printf(&out, "/%.*s.slice", (int)i, slice);
        }
        if (out.oom)
                return qerr_set(err, ENOMEM, "expand '%s'", slice);
        *ret = strbuf_steal(&out);
        return 0;
}

int cg_systemd_unit_of(const char *systemd_path, char **ret_unit, char **ret_parent,
                       struct qerr **err)
{
        if (!cg_path_is_valid(systemd_path) || strcmp(systemd_path, "/") == 0)
                return qerr_set(err, EINVAL, "bad systemd cgroup path '%s'", systemd_path);
        const char *base = strrchr(systemd_path, '/') + 1;
        const char *pbase = "-.slice";
        size_t plen = strlen(pbase);
        if (base - 1 > systemd_path) {
                const char *q = base - 1;
                while (q > systemd_path && q[-1] != '/')
                        q--;
                pbase = q;
                plen = (size_t)(base - 1 - q);
        }
        _cleanup_free_ char *unit = strdup(base);
        _cleanup_free_ char *parent = strndup(pbase, plen);
        if (!unit || !parent)
                return qerr_set(err, ENOMEM, "name unit of '%s'", systemd_path);
        if (plen < 7 || strcmp(parent + plen - 6, ".slice") != 0)
                return qerr_set(err, EINVAL, "parent of '%s' is not a slice", systemd_path);
        *ret_unit = TAKE_PTR(unit);
        if (ret_parent)
                *ret_parent = TAKE_PTR(parent);
        return 0;
}

int cg_write_values(const char *path, const struct cg_values *v, const char *const *dirs,
                    const char *const *files, struct qerr **err)
{
        _cleanup_free_ bool *retry = calloc(v->n + 1, sizeof(bool));
        if (!retry)
                return qerr_set(err, ENOMEM, "write values of '%s'", path);
        bool again = false;
        for (int pass = 0; pass < 2; pass++) {
                for (size_t i = 0; i < v->n; i++) {
                        if (!dirs[i] || (pass == 1 && !retry[i]))
                                continue;
                        _cleanup_qerr_ struct qerr *e = NULL;
                        int r = cg_write_file(dirs[i], files[i], v->files[i].value, &e);
                        if (r == -EINVAL && pass == 0) {
                                retry[i] = again = true;
                                continue;
                        }
                        if (r < 0) {
                                if (err && !*err)
                                        *err = TAKE_PTR(e);
                                return r;
                        }
                }
                if (!again)
                        break;
        }
        return 0;
}

int cg_read_keyed_optional(const char *dir, const char *file, const char *key, uint64_t *ret,
                           struct qerr **err)
{
        _cleanup_free_ char *text = NULL;
        int r = cg_read_file_optional(dir, file, &text, err);
        if (r < 0)
                return r;
        *ret = 0;
        if (!text)
                return 0;
        r = cg_parse_keyed(text, key, ret);
        if (r == -EINVAL)
                return qerr_set(err, EINVAL, "parse '%s' in '%s/%s'", key, dir, file);
        return 0;
}

int cg_read_u64_optional(const char *dir, const char *file, uint64_t *ret, struct qerr **err)
{
        _cleanup_free_ char *text = NULL;
        int r = cg_read_file_optional(dir, file, &text, err);
        if (r < 0)
                return r;
        *ret = 0;
        if (!text || strcmp(text, "max") == 0)
                return 0;
        char *end;
        errno = 0;
        unsigned long long x = strtoull(text, &end, 10);
        if (errno != 0 || end == text || *end)
                return qerr_set(err, EINVAL, "parse '%s/%s'", dir, file);
        *ret = x;
        return 0;
}
