/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "basic/fileio.h"
#include "security/profile.h"

#define PROFILE_MAX (1u << 20)

/* Reads <profile_dir>/<name>; the name may not lead out of the directory, by ".." or by a
 * link. */
static int read_localhost_profile(const char *profile_dir, const char *name, char **ret,
                                  size_t *ret_len, struct qerr **err)
{
        if (!profile_dir)
                return qerr_set(err, EINVAL, "no seccomp profile directory for '%s'", name);
        _cleanup_close_ int dir = open(profile_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0)
                return qerr_set_errno(err, errno, "open seccomp profile directory '%s'",
                                      profile_dir);
        struct open_how how = {
                .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
        };
        _cleanup_close_ int fd = (int)syscall(SYS_openat2, dir, name, &how, sizeof(how));
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0)
                return qerr_set_errno(err, errno, "open seccomp profile '%s' in '%s'", name,
                                      profile_dir);
        if (!S_ISREG(st.st_mode))
                return qerr_set(err, EINVAL, "seccomp profile '%s' is not a regular file", name);
        _cleanup_fclose_ FILE *f = fdopen(fd, "r");
        if (!f)
                return qerr_set_errno(err, errno, "open seccomp profile '%s'", name);
        TAKE_FD(fd);
        return read_full_stream(f, name, PROFILE_MAX, ret, ret_len, err);
}

/* The profile text a plan names; *ret_buf holds it when it came from a file. */
static int profile_text(const struct sec_plan *p, const char *profile_dir, char **ret_buf,
                        const char **ret_json, size_t *ret_len, struct qerr **err)
{
        switch (p->seccomp) {
        case SEC_SECCOMP_RUNTIME_DEFAULT:
                *ret_buf = NULL;
                *ret_json = sec_default_profile_json(ret_len);
                return 0;
        case SEC_SECCOMP_LOCALHOST: {
                int r = read_localhost_profile(profile_dir, p->seccomp_profile, ret_buf, ret_len,
                                               err);
                if (r < 0)
                        return r;
                *ret_json = *ret_buf;
                return 0;
        }
        default:
                return qerr_set(err, EINVAL, "unknown seccomp mode %d", (int)p->seccomp);
        }
}

static int compile_text(const struct sec_plan *p, const char *json, size_t len,
                        struct sec_filter **ret, struct qerr **err)
{
        _cleanup_sec_profile_ struct sec_profile *prof = NULL;
        int r = sec_profile_parse(json, len, &prof, err);
        if (r >= 0)
                r = sec_profile_compile(prof, p->cap_bounding, ret, err);
        if (r < 0 && p->seccomp == SEC_SECCOMP_LOCALHOST)
                return qerr_wrap(err, "seccomp profile '%s'", p->seccomp_profile);
        return r;
}

int sec_seccomp_compile(const struct sec_plan *p, const char *profile_dir, struct sec_filter **ret,
                        struct qerr **err)
{
        return sec_seccomp_compile_cached(NULL, p, profile_dir, ret, err);
}

#define CACHE_MAX 32

struct cache_entry {
        char *json;
        size_t len;
        uint64_t caps;
        struct sec_filter *filter;
};

struct sec_filter_cache {
        struct cache_entry entries[CACHE_MAX];
        size_t n, next; /* next: the slot to reuse once full */
};

struct sec_filter_cache *sec_filter_cache_new(void)
{
        return calloc(1, sizeof(struct sec_filter_cache));
}

void sec_filter_cache_free(struct sec_filter_cache *c)
{
        if (!c)
                return;
        for (size_t i = 0; i < c->n; i++) {
                free(c->entries[i].json);
                sec_filter_free(c->entries[i].filter);
        }
        free(c);
}

static struct sec_filter *filter_dup(const struct sec_filter *f)
{
        struct sec_filter *d = calloc(1, sizeof(*d));
        if (!d || !(d->insns = malloc(f->n * sizeof(*f->insns)))) {
                free(d);
                return NULL;
        }
        memcpy(d->insns, f->insns, f->n * sizeof(*f->insns));
        d->n = f->n;
        return d;
}

static const struct sec_filter *cache_find(const struct sec_filter_cache *c, const char *json,
                                           size_t len, uint64_t caps)
{
        for (size_t i = 0; c && i < c->n; i++) {
                const struct cache_entry *e = &c->entries[i];
                if (e->caps == caps && e->len == len && memcmp(e->json, json, len) == 0)
                        return e->filter;
        }
        return NULL;
}

/* Keeps a copy; a failure to remember is no failure of the compile. */
static void cache_add(struct sec_filter_cache *c, const char *json, size_t len, uint64_t caps,
                      const struct sec_filter *f)
{
        struct cache_entry n = {
                .json = malloc(len), .len = len, .caps = caps, .filter = filter_dup(f)
        };
        if (!n.json || !n.filter) {
                free(n.json);
                sec_filter_free(n.filter);
                return;
        }
        memcpy(n.json, json, len);
        size_t slot = c->n < CACHE_MAX ? c->n++ : c->next++ % CACHE_MAX;
        if (c->entries[slot].filter) {
                free(c->entries[slot].json);
                sec_filter_free(c->entries[slot].filter);
        }
        c->entries[slot] = n;
}

int sec_seccomp_compile_cached(struct sec_filter_cache *cache, const struct sec_plan *p,
                               const char *profile_dir, struct sec_filter **ret, struct qerr **err)
{
        if (p->seccomp == SEC_SECCOMP_UNCONFINED) {
                *ret = NULL;
                return 0;
        }
        _cleanup_free_ char *buf = NULL;
        const char *json = NULL;
        size_t len = 0;
        int r = profile_text(p, profile_dir, &buf, &json, &len, err);
        if (r < 0)
                return r;
        const struct sec_filter *hit = cache_find(cache, json, len, p->cap_bounding);
        if (hit) {
                struct sec_filter *d = filter_dup(hit);
                if (!d)
                        return qerr_set(err, ENOMEM, "copy seccomp filter");
                *ret = d;
                return 0;
        }
        _cleanup_sec_filter_ struct sec_filter *f = NULL;
        if ((r = compile_text(p, json, len, &f, err)) < 0)
                return r;
        if (cache)
                cache_add(cache, json, len, p->cap_bounding, f);
        *ret = TAKE_PTR(f);
        return 0;
}
