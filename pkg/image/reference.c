/* SPDX-License-Identifier: Apache-2.0 */
#include <stdbool.h>
#include <string.h>

#include "image/reference.h"

#define DEFAULT_DOMAIN "docker.io"
#define LEGACY_DEFAULT_DOMAIN "index.docker.io"
#define DOCKER_PULL_HOST "registry-1.docker.io"
#define NAME_MAX_LEN 255
#define TAG_MAX_LEN 128

static bool is_lower_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
        return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool is_hex_lower(char c)
{
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool span_all(const char *s, size_t n, bool (*pred)(char))
{
        for (size_t i = 0; i < n; i++)
                if (!pred(s[i]))
                        return false;
        return true;
}

int image_digest_validate(const char *digest, struct qerr **err)
{
        const char *colon = strchr(digest, ':');
        if (!colon || colon == digest)
                return qerr_set(err, EINVAL, "invalid digest '%s'", digest);
        size_t alg_len = (size_t)(colon - digest);
        if (alg_len != 6 || strncmp(digest, "sha256", 6) != 0)
                return qerr_set(err, EINVAL, "unsupported digest algorithm in '%s'", digest);
        const char *hex = colon + 1;
        if (strlen(hex) != 64 || !span_all(hex, 64, is_hex_lower))
                return qerr_set(err, EINVAL, "invalid sha256 digest '%s'", digest);
        return 0;
}

/* One path component: alnum runs joined by '.', '_', "__" or any run of '-'. */
static bool path_component_valid(const char *s, size_t n)
{
        size_t i = 0;
        if (n == 0 || !is_lower_alnum(s[0]))
                return false;
        while (i < n) {
                while (i < n && is_lower_alnum(s[i]))
                        i++;
                if (i == n)
                        return true;
                size_t sep = i;
                if (s[i] == '.')
                        i++;
                else if (s[i] == '_')
                        i += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
                else
                        while (i < n && s[i] == '-')
                                i++;
                if (i == sep || i == n || !is_lower_alnum(s[i]))
                        return false;
        }
        return true;
}

static bool path_valid(const char *s, size_t n)
{
        size_t start = 0;
        for (size_t i = 0; i <= n; i++) {
                if (i < n && s[i] != '/')
                        continue;
                if (!path_component_valid(s + start, i - start))
                        return false;
                start = i + 1;
        }
        return true;
}

static bool domain_label_valid(const char *s, size_t n)
{
        if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_alnum(s[i]) && s[i] != '-')
                        return false;
        return true;
}

static bool port_valid(const char *s, size_t n)
{
        if (n == 0 || n > 5)
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return true;
}

static bool ipv6_char(char c)
{
        return is_hex_lower(c) || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
}

/* host[:port], host being dot-separated labels or a bracketed IPv6 address. */
static bool domain_valid(const char *s, size_t n)
{
        size_t host_end = n;
        if (n > 0 && s[0] == '[') {
                const char *close = memchr(s, ']', n);
                if (!close || close == s + 1 ||
                    !span_all(s + 1, (size_t)(close - s - 1), ipv6_char))
                        return false;
                host_end = (size_t)(close - s) + 1;
                if (host_end == n)
                        return true;
                return s[host_end] == ':' && port_valid(s + host_end + 1, n - host_end - 1);
        }
        const char *colon = memchr(s, ':', n);
        if (colon) {
                host_end = (size_t)(colon - s);
                if (!port_valid(colon + 1, n - host_end - 1))
                        return false;
        }
        size_t start = 0;
        for (size_t i = 0; i <= host_end; i++) {
                if (i < host_end && s[i] != '.')
                        continue;
                if (!domain_label_valid(s + start, i - start))
                        return false;
                start = i + 1;
        }
        return true;
}

static bool tag_char(char c)
{
        return is_alnum(c) || c == '_' || c == '.' || c == '-';
}

static bool tag_valid(const char *t)
{
        size_t n = strlen(t);
        if (n == 0 || n > TAG_MAX_LEN || t[0] == '.' || t[0] == '-')
                return false;
        return span_all(t, n, tag_char);
}

static bool has_upper(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (s[i] >= 'A' && s[i] <= 'Z')
                        return true;
        return false;
}

/* docker's rule: the first component is a domain when it has a '.' or ':', is "localhost",
 * or has an upper-case letter (which a repository path may not have). */
static bool first_is_domain(const char *name, size_t i)
{
        if (memchr(name, '.', i) || memchr(name, ':', i))
                return true;
        if (i == strlen("localhost") && strncmp(name, "localhost", i) == 0)
                return true;
        return has_upper(name, i);
}

void image_ref_free(struct image_ref *r)
{
        if (!r)
                return;
        free(r->domain);
        free(r->path);
        free(r->tag);
        free(r->digest);
        free(r->name);
        free(r->full);
        free(r);
}

static int split_name(const char *name, struct image_ref *r, const char *s, struct qerr **err)
{
        const char *slash = strchr(name, '/');
        const char *rest = name;
        if (slash && first_is_domain(name, (size_t)(slash - name))) {
                r->domain = strndup(name, (size_t)(slash - name));
                rest = slash + 1;
        } else {
                r->domain = strdup(DEFAULT_DOMAIN);
        }
        if (!r->domain)
                return qerr_set(err, ENOMEM, "parse reference '%s'", s);
        if (!domain_valid(r->domain, strlen(r->domain)))
                return qerr_set(err, EINVAL, "invalid registry domain in reference '%s'", s);
        if (strcmp(r->domain, LEGACY_DEFAULT_DOMAIN) == 0) {
                free(r->domain);
                r->domain = strdup(DEFAULT_DOMAIN);
        }
        if (has_upper(rest, strlen(rest)))
                return qerr_set(err, EINVAL,
                                "invalid reference '%s': repository name must be lowercase", s);
        if (!path_valid(rest, strlen(rest)))
                return qerr_set(err, EINVAL, "invalid repository name in reference '%s'", s);
        bool library = r->domain && strcmp(r->domain, DEFAULT_DOMAIN) == 0 && !strchr(rest, '/');
        if (asprintf(&r->path, "%s%s", library ? "library/" : "", rest) < 0)
                r->path = NULL;
        if (!r->domain || !r->path || asprintf(&r->name, "%s/%s", r->domain, r->path) < 0)
                return qerr_set(err, ENOMEM, "parse reference '%s'", s);
        if (strlen(r->name) > NAME_MAX_LEN)
                return qerr_set(err, EINVAL, "repository name in '%s' is longer than %d characters",
                                s, NAME_MAX_LEN);
        return 0;
}

/* Splits "name[:tag][@digest]" in place; a ':' after the last '/' starts the tag. */
static int split_tag_digest(char *buf, const char *s, struct image_ref *r, struct qerr **err)
{
        char *at = strchr(buf, '@');
        if (at) {
                *at = 0;
                if (image_digest_validate(at + 1, NULL) < 0)
                        return qerr_set(err, EINVAL, "invalid digest in reference '%s'", s);
                r->digest = strdup(at + 1);
                if (!r->digest)
                        return qerr_set(err, ENOMEM, "parse reference '%s'", s);
        }
        char *colon = strrchr(buf, ':');
        char *slash = strrchr(buf, '/');
        if (colon && (!slash || colon > slash)) {
                *colon = 0;
                if (!tag_valid(colon + 1))
                        return qerr_set(err, EINVAL, "invalid tag in reference '%s'", s);
                r->tag = strdup(colon + 1);
        } else if (!r->digest) {
                r->tag = strdup("latest");
        }
        if (!r->tag && !r->digest)
                return qerr_set(err, ENOMEM, "parse reference '%s'", s);
        if (buf[0] == 0)
                return qerr_set(err, EINVAL, "invalid reference '%s': no repository name", s);
        return 0;
}

int image_ref_parse(const char *s, struct image_ref **ret, struct qerr **err)
{
        size_t n = strlen(s);
        if (n == 0)
                return qerr_set(err, EINVAL, "empty image reference");
        if (n == 64 && span_all(s, n, is_hex_lower))
                return qerr_set(err, EINVAL,
                                "invalid reference '%s': a 64-digit hex string is an image id, "
                                "not a repository name",
                                s);
        _cleanup_image_ref_ struct image_ref *r = calloc(1, sizeof(*r));
        _cleanup_free_ char *buf = strdup(s);
        if (!r || !buf)
                return qerr_set(err, ENOMEM, "parse reference '%s'", s);
        int k = split_tag_digest(buf, s, r, err);
        if (k < 0)
                return k;
        k = split_name(buf, r, s, err);
        if (k < 0)
                return k;
        if (asprintf(&r->full, "%s%s%s%s%s", r->name, r->tag ? ":" : "", r->tag ? r->tag : "",
                     r->digest ? "@" : "", r->digest ? r->digest : "") < 0) {
                r->full = NULL;
                return qerr_set(err, ENOMEM, "parse reference '%s'", s);
        }
        *ret = TAKE_PTR(r);
        return 0;
}

const char *image_ref_registry_host(const struct image_ref *r)
{
        return strcmp(r->domain, DEFAULT_DOMAIN) == 0 ? DOCKER_PULL_HOST : r->domain;
}

const char *image_ref_manifest_key(const struct image_ref *r)
{
        return r->digest ? r->digest : r->tag;
}
