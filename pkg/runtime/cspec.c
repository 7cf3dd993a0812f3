/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "basic/fileio.h"
#include "basic/strbuf.h"
#include "ns/paths.h"
#include "runtime/cspec.h"

void cspec_done(struct cspec *s)
{
        free(s->name);
        free(s->rootfs);
        strv_free(s->argv);
        strv_free(s->env);
        free(s->cwd);
        for (size_t i = 0; i < s->n_mounts; i++) {
                free(s->mounts[i].source);
                free(s->mounts[i].target);
        }
        free(s->mounts);
        free(s->shm);
        free(s->cgroup_v2);
        strv_free(s->cgroup_procs);
        free(s->oom_events);
        free(s->log_path);
        strv_free(s->pre_stop);
        if (s->sec) {
                sec_plan_done(s->sec);
                free(s->sec);
        }
        free(s->seccomp_filter);
        *s = (struct cspec){ 0 };
}

char *cspec_escape(const char *s)
{
        _cleanup_strbuf_ struct strbuf sb = { 0 };
        strbuf_append(&sb, "");
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                if (*p == '\\')
                        strbuf_append(&sb, "\\\\");
                else if (*p == ' ')
                        strbuf_append(&sb, "\\s");
                else if (*p == '\n')
                        strbuf_append(&sb, "\\n");
                else if (*p < 0x20 || *p == 0x7f)
                        strbuf_printf(&sb, "\\x%02x", *p);
                else
                        strbuf_append_char(&sb, (char)*p);
        }
        return sb.oom ? NULL : strbuf_steal(&sb);
}

static int hexval(char c)
{
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Unescapes token [s, s+n) into a new string; NULL when malformed. */
static char *unescape(const char *s, size_t n)
{
        char *r = malloc(n + 1), *o = r;
        if (!r)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] != '\\') {
                        *o++ = s[i];
                        continue;
                }
                char c = ++i < n ? s[i] : 0;
                if (c == '\\' || c == 's' || c == 'n')
                        *o++ = c == 's' ? ' ' : c == 'n' ? '\n' : '\\';
                else if (c == 'x' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0 &&
                         hexval(s[i + 1]) * 16 + hexval(s[i + 2]) > 0) {
                        *o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
                        i += 2;
                } else {
                        free(r);
                        return NULL;
                }
        }
        *o = 0;
        return r;
}

static void put(struct strbuf *sb, const char *key, const char *value)
{
        if (!value)
                return;
        _cleanup_free_ char *e = cspec_escape(value);
        if (!e) {
                sb->oom = true;
                return;
        }
        strbuf_printf(sb, "%s %s\n", key, e);
}

static void put_strv(struct strbuf *sb, const char *key, char *const *l)
{
        for (size_t i = 0; l && l[i]; i++)
                put(sb, key, l[i]);
}

int cspec_write(const struct cspec *s, FILE *f, struct qerr **err)
{
        _cleanup_strbuf_ struct strbuf sb = { 0 };
        put(&sb, "name", s->name);
        strbuf_printf(&sb, "attempt %u\n", s->attempt);
        put(&sb, "rootfs", s->rootfs);
        if (s->read_only_rootfs)
                strbuf_append(&sb, "read-only-rootfs 1\n");
        put_strv(&sb, "arg", s->argv);
        put_strv(&sb, "env", s->env);
        put(&sb, "cwd", s->cwd);
        for (size_t i = 0; i < s->n_mounts; i++) {
                _cleanup_free_ char *src = cspec_escape(s->mounts[i].source);
                _cleanup_free_ char *dst = cspec_escape(s->mounts[i].target);
                if (!src || !dst)
                        return qerr_set(err, ENOMEM, "write container spec");
                strbuf_printf(&sb, "mount %s %s %s\n", s->mounts[i].read_only ? "ro" : "rw", src,
                              dst);
        }
        put(&sb, "shm", s->shm);
        put(&sb, "cgroup-v2", s->cgroup_v2);
        put_strv(&sb, "cgroup-procs", s->cgroup_procs);
        put(&sb, "oom-events", s->oom_events);
        if (s->has_oom_score_adj)
                strbuf_printf(&sb, "oom-score-adj %d\n", s->oom_score_adj);
        put(&sb, "log", s->log_path);
        if (s->log_max_size)
                strbuf_printf(&sb, "log-max-size %llu\n", (unsigned long long)s->log_max_size);
        if (s->log_max_files)
                strbuf_printf(&sb, "log-max-files %u\n", s->log_max_files);
        if (s->stop_signal)
                strbuf_printf(&sb, "stop-signal %d\n", s->stop_signal);
        put_strv(&sb, "pre-stop", s->pre_stop);
        put(&sb, "seccomp-filter", s->seccomp_filter);
        if (s->sec)
                sec_plan_format(s->sec, &sb);
        if (sb.oom)
                return qerr_set(err, ENOMEM, "write container spec");
        if (fwrite(sb.buf, 1, sb.len, f) != sb.len || fflush(f) != 0)
                return qerr_set_errno(err, errno ? errno : EIO, "write container spec");
        return 0;
}

int cspec_write_file(const struct cspec *s, const char *path, struct qerr **err)
{
        char *buf = NULL;
        size_t len = 0;
        _cleanup_fclose_ FILE *f = open_memstream(&buf, &len);
        if (!f)
                return qerr_set_errno(err, errno, "write '%s'", path);
        int r = cspec_write(s, f, err);
        fclose(TAKE_PTR(f));
        _cleanup_free_ char *b = buf;
        if (r < 0)
                return r;
        return write_file_atomic(path, b, len, 0600, err);
}

static int strv_push(char ***l, char *s)
{
        size_t n = 0;
        while (*l && (*l)[n])
                n++;
        char **nl = realloc(*l, (n + 2) * sizeof(char *));
        if (!nl) {
                free(s);
                return -ENOMEM;
        }
        nl[n] = s;
        nl[n + 1] = NULL;
        *l = nl;
        return 0;
}

static int parse_uint(const char *v, unsigned long long max, unsigned long long *ret)
{
        char *end;
        errno = 0;
        unsigned long long x = strtoull(v, &end, 10);
        if (errno || end == v || *end || x > max || *v == '-')
                return -EINVAL;
        *ret = x;
        return 0;
}

static int parse_mount(struct cspec *s, const char *v)
{
        size_t a = strcspn(v, " ");
        if (v[a] != ' ')
                return -EINVAL;
        const char *src = v + a + 1;
        size_t b = strcspn(src, " ");
        if (src[b] != ' ' || (strncmp(v, "ro", a) != 0 && strncmp(v, "rw", a) != 0) || a != 2)
                return -EINVAL;
        struct ns_mount *m = realloc(s->mounts, (s->n_mounts + 1) * sizeof(*m));
        if (!m)
                return -ENOMEM;
        s->mounts = m;
        m = &s->mounts[s->n_mounts];
        *m = (struct ns_mount){ .read_only = v[1] == 'o' };
        m->source = unescape(src, b);
        m->target = unescape(src + b + 1, strlen(src + b + 1));
        s->n_mounts++;
        return m->source && m->target ? 0 : -EINVAL;
}

/* One "key value" line; v is the raw (escaped) value. */
static int parse_line(struct cspec *s, const char *key, const char *v)
{
        unsigned long long n;
        char **str = NULL, ***strv = NULL;
        if (strcmp(key, "mount") == 0)
                return parse_mount(s, v);
        if (strncmp(key, "sec-", 4) == 0) {
                if (!s->sec && !(s->sec = calloc(1, sizeof(*s->sec))))
                        return -ENOMEM;
                return sec_plan_parse_line(s->sec, key, v);
        }
        if (strcmp(key, "log-max-size") == 0) {
                if (parse_uint(v, UINT64_MAX, &n) < 0)
                        return -EINVAL;
                s->log_max_size = n;
                return 0;
        }
        static const char *const uint_keys[] = { "attempt", "log-max-files", "stop-signal" };
        unsigned *uint_fields[] = { &s->attempt, &s->log_max_files, (unsigned *)&s->stop_signal };
        for (size_t i = 0; i < ELEMENTSOF(uint_keys); i++)
                if (strcmp(key, uint_keys[i]) == 0) {
                        if (parse_uint(v, i == 2 ? 64 : 1u << 30, &n) < 0)
                                return -EINVAL;
                        *uint_fields[i] = (unsigned)n;
                        return 0;
                }
        if (strcmp(key, "read-only-rootfs") == 0) {
                s->read_only_rootfs = strcmp(v, "1") == 0;
                return 0;
        }
        if (strcmp(key, "oom-score-adj") == 0) {
                char *end;
                long x = strtol(v, &end, 10);
                if (*end || end == v || x < -1000 || x > 1000)
                        return -EINVAL;
                s->has_oom_score_adj = true;
                s->oom_score_adj = (int)x;
                return 0;
        }
        static const char *const str_keys[] = {
                "name", "rootfs", "cwd", "shm", "cgroup-v2", "oom-events", "log", "seccomp-filter"
        };
        char **str_fields[] = { &s->name,      &s->rootfs,     &s->cwd,      &s->shm,
                                &s->cgroup_v2, &s->oom_events, &s->log_path, &s->seccomp_filter };
        for (size_t i = 0; i < ELEMENTSOF(str_keys); i++)
                if (strcmp(key, str_keys[i]) == 0)
                        str = str_fields[i];
        if (strcmp(key, "arg") == 0)
                strv = &s->argv;
        else if (strcmp(key, "env") == 0)
                strv = &s->env;
        else if (strcmp(key, "cgroup-procs") == 0)
                strv = &s->cgroup_procs;
        else if (strcmp(key, "pre-stop") == 0)
                strv = &s->pre_stop;
        if (!str && !strv)
                return -ENOENT;
        char *u = unescape(v, strlen(v));
        if (!u)
                return -EINVAL;
        if (strv)
                return strv_push(strv, u);
        free(*str);
        *str = u;
        return 0;
}

int cspec_parse(const char *text, struct cspec *ret, struct qerr **err)
{
        struct cspec s = { 0 };
        unsigned lineno = 0;
        for (const char *p = text; *p;) {
                size_t len = strcspn(p, "\n");
                lineno++;
                _cleanup_free_ char *line = strndup(p, len);
                p += len + (p[len] == '\n');
                if (!line) {
                        cspec_done(&s);
                        return qerr_set(err, ENOMEM, "parse container spec");
                }
                if (!*line)
                        continue;
                char *sp = strchr(line, ' ');
                int r = sp ? (*sp = 0, parse_line(&s, line, sp + 1)) : -EINVAL;
                if (r < 0) {
                        cspec_done(&s);
                        return qerr_set(err, -r, "container spec line %u: %s '%s'", lineno,
                                        r == -ENOENT ? "unknown key" : "bad value for", line);
                }
        }
        if (!s.name || !s.rootfs || !s.argv || !s.log_path) {
                cspec_done(&s);
                return qerr_set(err, EINVAL, "container spec lacks name, rootfs, arg or log");
        }
        if (s.sec && s.sec->seccomp != SEC_SECCOMP_UNCONFINED && !s.seccomp_filter) {
                cspec_done(&s);
                return qerr_set(err, EINVAL, "container spec has seccomp but no filter file");
        }
        *ret = s;
        return 0;
}

int cspec_read_file(const char *path, struct cspec *ret, struct qerr **err)
{
        _cleanup_free_ char *buf = NULL;
        int r = read_full_file(path, 4 << 20, &buf, NULL, err);
        if (r < 0)
                return r;
        r = cspec_parse(buf, ret, err);
        return r < 0 ? qerr_wrap(err, "read '%s'", path) : 0;
}
