/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "security/internal.h"
#include "security/security.h"

/* The escaping of the container spec (pkg/runtime/cspec.c): '\\', space, newline and other
 * control characters, so that any path or value fits on one line after its key. */
char *sec_escape(const char *s)
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

static int hex_digit(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

char *sec_unescape(const char *s, size_t n)
{
        _cleanup_free_ char *r = malloc(n + 1);
        char *o = r;
        if (!r)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] != '\\') {
                        *o++ = s[i];
                        continue;
                }
                char c = ++i < n ? s[i] : 0;
                if (c == '\\' || c == 's' || c == 'n') {
                        *o++ = c == 's' ? ' ' : c == 'n' ? '\n' : '\\';
                        continue;
                }
                int hi = c == 'x' && i + 2 < n ? hex_digit(s[i + 1]) : -1;
                int lo = hi >= 0 ? hex_digit(s[i + 2]) : -1;
                if (lo < 0 || hi * 16 + lo == 0)
                        return NULL;
                *o++ = (char)(hi * 16 + lo);
                i += 2;
        }
        *o = 0;
        return TAKE_PTR(r);
}

static const char *const seccomp_names[_SEC_SECCOMP_MAX] = {
        [SEC_SECCOMP_UNCONFINED] = "unconfined",
        [SEC_SECCOMP_RUNTIME_DEFAULT] = "runtime-default",
        [SEC_SECCOMP_LOCALHOST] = "localhost",
};

static void put_str(struct strbuf *sb, const char *key, const char *value)
{
        _cleanup_free_ char *e = sec_escape(value);
        if (!e) {
                sb->oom = true;
                return;
        }
        strbuf_printf(sb, "%s %s\n", key, e);
}

static const struct {
        const char *key;
        size_t offset;
} cap_keys[] = {
        { "sec-cap-bounding", offsetof(struct sec_plan, cap_bounding) },
        { "sec-cap-permitted", offsetof(struct sec_plan, cap_permitted) },
        { "sec-cap-effective", offsetof(struct sec_plan, cap_effective) },
        { "sec-cap-inheritable", offsetof(struct sec_plan, cap_inheritable) },
        { "sec-cap-ambient", offsetof(struct sec_plan, cap_ambient) },
        { "sec-cap-unavailable", offsetof(struct sec_plan, cap_unavailable) },
};

#define CAP_FIELD(p, i) ((uint64_t *)((char *)(p) + cap_keys[i].offset))

void sec_plan_format(const struct sec_plan *p, struct strbuf *sb)
{
        if (p->privileged)
                strbuf_append(sb, "sec-privileged 1\n");
        for (size_t i = 0; i < ELEMENTSOF(cap_keys); i++)
                strbuf_printf(sb, "%s %016llx\n", cap_keys[i].key,
                              (unsigned long long)*CAP_FIELD(p, i));
        if (p->no_new_privs)
                strbuf_append(sb, "sec-no-new-privs 1\n");
        strbuf_printf(sb, "sec-seccomp %s\n", seccomp_names[p->seccomp]);
        if (p->seccomp_profile)
                put_str(sb, "sec-seccomp-profile", p->seccomp_profile);
        STRV_FOREACH (s, p->masked_paths)
                put_str(sb, "sec-masked", *s);
        STRV_FOREACH (s, p->readonly_paths)
                put_str(sb, "sec-readonly", *s);
        if (p->read_only_rootfs)
                strbuf_append(sb, "sec-read-only-rootfs 1\n");
        strbuf_printf(sb, "sec-uid %u\nsec-gid %u\n", p->uid, p->gid);
        for (size_t i = 0; i < p->n_groups; i++)
                strbuf_printf(sb, "sec-group %u\n", p->groups[i]);
        for (size_t i = 0; i < p->n_sysctls; i++) {
                _cleanup_free_ char *kv = NULL;
                if (asprintf(&kv, "%s=%s", p->sysctls[i].name, p->sysctls[i].value) < 0) {
                        sb->oom = true;
                        return;
                }
                put_str(sb, "sec-sysctl", kv);
        }
}

static int parse_hex64(const char *v, uint64_t *ret)
{
        if (strlen(v) != 16)
                return -EINVAL;
        uint64_t x = 0;
        for (const char *p = v; *p; p++) {
                int d = hex_digit(*p);
                if (d < 0)
                        return -EINVAL;
                x = x << 4 | (uint64_t)d;
        }
        *ret = x;
        return 0;
}

static int parse_bool(const char *v, bool *ret)
{
        if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0)
                return -EINVAL;
        *ret = *v == '1';
        return 0;
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

static int parse_sysctl(struct sec_plan *p, char *kv)
{
        _cleanup_free_ char *s = kv;
        char *eq = strchr(s, '=');
        if (!eq || eq == s)
                return -EINVAL;
        struct sec_sysctl *l = realloc(p->sysctls, (p->n_sysctls + 1) * sizeof(*l));
        if (!l)
                return -ENOMEM;
        p->sysctls = l;
        char *name = strndup(s, (size_t)(eq - s)), *value = strdup(eq + 1);
        if (!name || !value) {
                free(name);
                free(value);
                return -ENOMEM;
        }
        l[p->n_sysctls++] = (struct sec_sysctl){ .name = name, .value = value };
        return 0;
}

/* Keys whose value is an escaped string. */
static int parse_string_line(struct sec_plan *p, const char *key, const char *value)
{
        bool seccomp_profile = strcmp(key, "sec-seccomp-profile") == 0;
        bool masked = strcmp(key, "sec-masked") == 0, ro = strcmp(key, "sec-readonly") == 0;
        bool sysctl = strcmp(key, "sec-sysctl") == 0;
        if (!seccomp_profile && !masked && !ro && !sysctl)
                return -ENOENT;
        char *u = sec_unescape(value, strlen(value));
        if (!u)
                return -EINVAL;
        if (sysctl)
                return parse_sysctl(p, u);
        if (masked || ro)
                return strv_push(masked ? &p->masked_paths : &p->readonly_paths, u);
        free(p->seccomp_profile);
        p->seccomp_profile = u;
        return 0;
}

int sec_plan_parse_line(struct sec_plan *p, const char *key, const char *value)
{
        for (size_t i = 0; i < ELEMENTSOF(cap_keys); i++)
                if (strcmp(key, cap_keys[i].key) == 0)
                        return parse_hex64(value, CAP_FIELD(p, i));
        if (strcmp(key, "sec-privileged") == 0)
                return parse_bool(value, &p->privileged);
        if (strcmp(key, "sec-no-new-privs") == 0)
                return parse_bool(value, &p->no_new_privs);
        if (strcmp(key, "sec-read-only-rootfs") == 0)
                return parse_bool(value, &p->read_only_rootfs);
        if (strcmp(key, "sec-uid") == 0)
                return sec_parse_id(value, &p->uid) < 0 ? -EINVAL : 0;
        if (strcmp(key, "sec-gid") == 0)
                return sec_parse_id(value, &p->gid) < 0 ? -EINVAL : 0;
        if (strcmp(key, "sec-group") == 0) {
                uint32_t g;
                if (sec_parse_id(value, &g) < 0)
                        return -EINVAL;
                return sec_ids_add(&p->groups, &p->n_groups, g);
        }
        if (strcmp(key, "sec-seccomp") == 0) {
                for (int i = 0; i < _SEC_SECCOMP_MAX; i++)
                        if (strcmp(value, seccomp_names[i]) == 0) {
                                p->seccomp = (enum sec_seccomp)i;
                                return 0;
                        }
                return -EINVAL;
        }
        return parse_string_line(p, key, value);
}

int sec_plan_parse(const char *text, struct sec_plan *ret, struct qerr **err)
{
        _cleanup_sec_plan_ struct sec_plan p = { 0 };
        unsigned lineno = 0;
        for (const char *s = text; *s;) {
                size_t len = strcspn(s, "\n");
                lineno++;
                _cleanup_free_ char *line = strndup(s, len);
                s += len + (s[len] == '\n');
                if (!line)
                        return qerr_set(err, ENOMEM, "parse security plan");
                if (!*line)
                        continue;
                char *sp = strchr(line, ' ');
                int r = sp ? (*sp = 0, sec_plan_parse_line(&p, line, sp + 1)) : -EINVAL;
                if (r < 0)
                        return qerr_set(err, r == -ENOMEM ? ENOMEM : EINVAL,
                                        "security plan line %u: %s '%s'", lineno,
                                        r == -ENOENT ? "unknown key" : "bad value for", line);
        }
        if (p.seccomp == SEC_SECCOMP_LOCALHOST && !p.seccomp_profile)
                return qerr_set(err, EINVAL, "security plan: localhost seccomp without a profile");
        *ret = p;
        p = (struct sec_plan){ 0 };
        return 0;
}
