/* SPDX-License-Identifier: Apache-2.0 */
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/strbuf.h"
#include "image/digest.h"
#include "image/gc.h"
#include "image/manifest.h"
#include "image/reference.h"
#include "image/registry.h"

#define MANIFEST_MAX (4u << 20)
#define ERROR_BODY_MAX (64u << 10)
#define AUTH_FILE_MAX (1u << 20)
#define USER_AGENT "qoslet/0.1"

#define ACCEPT_MANIFESTS                                                          \
        "Accept: " MEDIA_OCI_INDEX ", " MEDIA_DOCKER_LIST ", " MEDIA_OCI_MANIFEST \
        ", " MEDIA_DOCKER_MANIFEST

/* One HTTP response: small bodies (manifests, tokens, errors) go to body; a 2xx blob body
 * streams into a blob writer instead. Headers are those of the last response after
 * redirects. */
struct http_resp {
        CURL *h;
        struct strbuf body;
        size_t body_max;
        struct blob_writer *blob;
        struct qerr *write_err;
        char *www_authenticate, *content_type, *docker_digest;
        char errbuf[CURL_ERROR_SIZE];
};

static void http_resp_done(struct http_resp *r)
{
        strbuf_done(&r->body);
        qerr_free(r->write_err);
        free(r->www_authenticate);
        free(r->content_type);
        free(r->docker_digest);
        *r = (struct http_resp){ 0 };
}

struct reg_client {
        const struct registry_opts *o;
        const struct image_store *store;
        const struct image_ref *ref;
        const char *host;
        char *base; /* scheme://host/v2/<repository> */
        char *user, *password;
        char *authz; /* "Authorization: ..." once the registry asked for it */
        struct pull_stats stats;
};

static void reg_client_done(struct reg_client *c)
{
        free(c->base);
        free(c->user);
        if (c->password)
                explicit_bzero(c->password, strlen(c->password));
        free(c->password);
        if (c->authz)
                explicit_bzero(c->authz, strlen(c->authz));
        free(c->authz);
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
        (void)curl_global_init(CURL_GLOBAL_DEFAULT);
}

static char *trim_dup(const char *s, size_t n)
{
        while (n > 0 && (*s == ' ' || *s == '\t')) {
                s++;
                n--;
        }
        while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == '\n' || s[n - 1] == ' '))
                n--;
        return strndup(s, n);
}

static size_t on_header(char *buf, size_t size, size_t n, void *data)
{
        struct http_resp *r = data;
        size_t len = size * n;
        /* A status line starts a new response (after a redirect): forget the old headers. */
        if (len > 5 && strncmp(buf, "HTTP/", 5) == 0) {
                free(r->www_authenticate);
                free(r->content_type);
                free(r->docker_digest);
                r->www_authenticate = r->content_type = r->docker_digest = NULL;
                return len;
        }
        const char *colon = memchr(buf, ':', len);
        if (!colon)
                return len;
        size_t klen = (size_t)(colon - buf);
        char **slot = NULL;
        if (klen == 16 && strncasecmp(buf, "www-authenticate", klen) == 0)
                slot = &r->www_authenticate;
        else if (klen == 12 && strncasecmp(buf, "content-type", klen) == 0)
                slot = &r->content_type;
        else if (klen == 21 && strncasecmp(buf, "docker-content-digest", klen) == 0)
                slot = &r->docker_digest;
        if (slot && !*slot)
                *slot = trim_dup(colon + 1, len - klen - 1);
        return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *data)
{
        struct http_resp *r = data;
        size_t len = size * n;
        long status = 0;
        curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &status);
        if (r->blob && status >= 200 && status < 300) {
                if (image_blob_write(r->blob, buf, len, &r->write_err) < 0)
                        return 0;
                return len;
        }
        if (r->body.len + len > r->body_max) {
                qerr_set(&r->write_err, EFBIG, "response is larger than %zu bytes", r->body_max);
                return 0;
        }
        strbuf_append_n(&r->body, buf, len);
        return len;
}

/* Hands an error kept from a callback to the caller (or drops it), returning its code. */
static int pass_err(struct qerr **from, struct qerr **err)
{
        int code = (*from)->code;
        if (err && !*err)
                *err = TAKE_PTR(*from);
        qerr_free(TAKE_PTR(*from));
        return -code;
}

static int curl_errno(CURLcode cc)
{
        switch (cc) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return EHOSTUNREACH;
        case CURLE_COULDNT_CONNECT:
                return ECONNREFUSED;
        case CURLE_OPERATION_TIMEDOUT:
                return ETIMEDOUT;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CACERT_BADFILE:
                return EPROTO;
        case CURLE_OUT_OF_MEMORY:
                return ENOMEM;
        default:
                return EIO;
        }
}

static struct curl_slist *make_headers(const struct reg_client *c, const char *accept)
{
        struct curl_slist *l = NULL, *t;
        if (accept && !(l = curl_slist_append(NULL, accept)))
                return NULL;
        if (c->authz) {
                if (!(t = curl_slist_append(l, c->authz))) {
                        curl_slist_free_all(l);
                        return NULL;
                }
                l = t;
        }
        return l;
}

static int setup_easy(const struct reg_client *c, CURL *h, const char *url,
                      struct curl_slist *headers, struct http_resp *r)
{
        r->h = h;
        CURLcode cc = CURLE_OK;
#define SET(opt, val)                                       \
        do {                                                \
                if (cc == CURLE_OK)                         \
                        cc = curl_easy_setopt(h, opt, val); \
        } while (0)
        SET(CURLOPT_URL, url);
        SET(CURLOPT_PROTOCOLS_STR, "http,https");
        SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        SET(CURLOPT_FOLLOWLOCATION, 1L);
        SET(CURLOPT_MAXREDIRS, 5L);
        SET(CURLOPT_NOSIGNAL, 1L);
        SET(CURLOPT_CONNECTTIMEOUT, 30L);
        /* A stalled transfer fails instead of hanging a pod start forever. */
        SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
        SET(CURLOPT_LOW_SPEED_TIME, 60L);
        SET(CURLOPT_USERAGENT, USER_AGENT);
        SET(CURLOPT_HTTPHEADER, headers);
        SET(CURLOPT_HEADERFUNCTION, on_header);
        SET(CURLOPT_HEADERDATA, r);
        SET(CURLOPT_WRITEFUNCTION, on_body);
        SET(CURLOPT_WRITEDATA, r);
        SET(CURLOPT_ERRORBUFFER, r->errbuf);
        if (c->o->ca_file)
                SET(CURLOPT_CAINFO, c->o->ca_file);
#undef SET
        return cc == CURLE_OK ? 0 : -EINVAL;
}

/* The registry's JSON errors ({"errors":[{"code","message"}]}) as "CODE: message; ...". */
static char *registry_message(const struct http_resp *r)
{
        _cleanup_strbuf_ struct strbuf sb = { 0 };
        json_t *j = r->body.len ? json_loadb(r->body.buf, r->body.len, 0, NULL) : NULL;
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(j, "errors"), i, e)
        {
                const char *code = json_string_value(json_object_get(e, "code"));
                const char *msg = json_string_value(json_object_get(e, "message"));
                strbuf_printf(&sb, "%s%s%s%s", sb.len ? "; " : "", code ? code : "",
                              code && msg ? ": " : "", msg ? msg : "");
        }
        json_decref(j);
        if (sb.len == 0 && r->body.len > 0) {
                /* Not the registry's JSON (a proxy's page): its start, printable only. */
                for (size_t k = 0; k < r->body.len && k < 200; k++) {
                        char ch = r->body.buf[k];
                        strbuf_append_char(&sb, ch >= 0x20 && ch < 0x7f ? ch : ' ');
                }
        }
        return sb.len ? strbuf_steal(&sb) : NULL;
}

static int status_errno(long status)
{
        if (status == 401 || status == 403)
                return EACCES;
        if (status == 404)
                return ENOENT;
        if (status == 429)
                return EAGAIN;
        return EIO;
}

static int http_error_from(const char *who, const char *what, long status,
                           const struct http_resp *r, struct qerr **err)
{
        _cleanup_free_ char *msg = registry_message(r);
        return qerr_set(err, status_errno(status), "%s: %s answered %ld%s%s", what, who, status,
                        msg ? ": " : "", msg ? msg : "");
}

static int http_error(const struct reg_client *c, const char *what, long status,
                      const struct http_resp *r, struct qerr **err)
{
        _cleanup_free_ char *who = NULL;
        if (asprintf(&who, "registry '%s'", c->host) < 0)
                who = NULL;
        return http_error_from(who ? who : "registry", what, status, r, err);
}

static int perform(const struct reg_client *c, const char *url, const char *accept,
                   struct http_resp *r, long *ret_status, struct qerr **err)
{
        CURL *h = curl_easy_init();
        struct curl_slist *headers = make_headers(c, accept);
        int k = h && (headers || (!accept && !c->authz)) ? setup_easy(c, h, url, headers, r)
                                                         : -ENOMEM;
        if (k < 0) {
                curl_slist_free_all(headers);
                if (h)
                        curl_easy_cleanup(h);
                return qerr_set(err, -k, "set up request for '%s'", url);
        }
        CURLcode cc = curl_easy_perform(h);
        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(h);
        curl_slist_free_all(headers);
        r->h = NULL;
        if (r->write_err)
                return pass_err(&r->write_err, err);
        /* HTTPS to a plain-HTTP server fails in the TLS handshake ("wrong version number"). */
        bool hint = cc == CURLE_SSL_CONNECT_ERROR && strncmp(url, "https://", 8) == 0;
        if (cc != CURLE_OK)
                return qerr_set(err, curl_errno(cc), "GET '%s': %s%s", url,
                                r->errbuf[0] ? r->errbuf : curl_easy_strerror(cc),
                                hint ? " (a registry serving plain HTTP must be listed as an "
                                       "insecure registry: --insecure-registry HOST[:PORT] or "
                                       "insecureRegistries in the config)"
                                     : "");
        *ret_status = status;
        return 0;
}

void auth_challenge_done(struct auth_challenge *c)
{
        free(c->scheme);
        free(c->realm);
        free(c->service);
        free(c->scope);
        *c = (struct auth_challenge){ 0 };
}

/* key=value or key="quoted \" value", separated by commas. */
static const char *parse_param(const char *p, struct auth_challenge *c, struct qerr **err)
{
        while (*p == ' ' || *p == ',')
                p++;
        const char *eq = strchr(p, '=');
        if (!*p || !eq)
                return *p ? NULL : p;
        size_t klen = (size_t)(eq - p);
        const char *key = p;
        p = eq + 1;
        _cleanup_strbuf_ struct strbuf v = { 0 };
        if (*p == '"') {
                for (p++; *p && *p != '"'; p++) {
                        if (*p == '\\' && p[1])
                                p++;
                        strbuf_append_char(&v, *p);
                }
                if (*p != '"')
                        return NULL;
                p++;
        } else {
                size_t n = strcspn(p, ", ");
                strbuf_append_n(&v, p, n);
                p += n;
        }
        char **slot = klen == 5 && strncasecmp(key, "realm", 5) == 0     ? &c->realm
                      : klen == 7 && strncasecmp(key, "service", 7) == 0 ? &c->service
                      : klen == 5 && strncasecmp(key, "scope", 5) == 0   ? &c->scope
                                                                         : NULL;
        if (slot && !*slot) {
                *slot = strbuf_steal(&v);
                if (!*slot) {
                        qerr_set(err, ENOMEM, "parse challenge");
                        return NULL;
                }
        }
        return p;
}

int registry_parse_challenge(const char *header, struct auth_challenge *ret, struct qerr **err)
{
        struct auth_challenge c = { 0 };
        const char *p = header;
        while (*p == ' ')
                p++;
        size_t n = strcspn(p, " ");
        if (n == 0 || !(c.scheme = strndup(p, n)))
                return qerr_set(err, EBADMSG, "bad WWW-Authenticate header '%s'", header);
        p += n;
        while (p && *p)
                p = parse_param(p, &c, err);
        if (!p) {
                auth_challenge_done(&c);
                return qerr_set(err, EBADMSG, "bad WWW-Authenticate header '%s'", header);
        }
        *ret = c;
        return 0;
}

static char *url_escape(const char *s)
{
        char *e = curl_easy_escape(NULL, s, 0);
        char *out = e ? strdup(e) : NULL;
        curl_free(e);
        return out;
}

static int fetch_token(struct reg_client *c, const struct auth_challenge *ch, struct qerr **err)
{
        if (!ch->realm)
                return qerr_set(err, EBADMSG, "registry '%s' asked for a token without a realm",
                                c->host);
        _cleanup_free_ char *scope_default = NULL;
        if (asprintf(&scope_default, "repository:%s:pull", c->ref->path) < 0)
                return qerr_set(err, ENOMEM, "fetch token");
        _cleanup_free_ char *svc = ch->service ? url_escape(ch->service) : NULL;
        _cleanup_free_ char *scope = url_escape(ch->scope ? ch->scope : scope_default);
        _cleanup_free_ char *url = NULL;
        if (!scope ||
            asprintf(&url, "%s%sscope=%s%s%s", ch->realm, strchr(ch->realm, '?') ? "&" : "?", scope,
                     svc ? "&service=" : "", svc ? svc : "") < 0)
                return qerr_set(err, ENOMEM, "fetch token");
        /* The token endpoint sees the basic credentials, never the registry itself. */
        struct reg_client tc = *c;
        _cleanup_free_ char *basic = NULL;
        if (c->user) {
                _cleanup_free_ char *plain = NULL;
                if (asprintf(&plain, "%s:%s", c->user, c->password) < 0)
                        return qerr_set(err, ENOMEM, "fetch token");
                size_t n = strlen(plain);
                _cleanup_free_ unsigned char *b64 = malloc(4 * ((n + 2) / 3) + 1);
                if (!b64)
                        return qerr_set(err, ENOMEM, "fetch token");
                EVP_EncodeBlock(b64, (const unsigned char *)plain, (int)n);
                explicit_bzero(plain, n);
                if (asprintf(&basic, "Authorization: Basic %s", b64) < 0)
                        return qerr_set(err, ENOMEM, "fetch token");
        }
        tc.authz = basic;
        struct http_resp r = { .body_max = MANIFEST_MAX };
        long status = 0;
        int k = perform(&tc, url, NULL, &r, &status, err);
        _cleanup_free_ char *who = NULL;
        if (k >= 0 && status != 200)
                k = http_error_from(
                        asprintf(&who, "token server '%s'", ch->realm) < 0 ? "token server" : who,
                        "get token", status, &r, err);
        json_t *j = k >= 0 ? json_loadb(r.body.buf, r.body.len, 0, NULL) : NULL;
        const char *tok = json_string_value(json_object_get(j, "token"));
        if (!tok)
                tok = json_string_value(json_object_get(j, "access_token"));
        if (k >= 0 && !tok)
                k = qerr_set(err, EBADMSG, "token endpoint of '%s' sent no token", c->host);
        if (k >= 0) {
                free(c->authz);
                if (asprintf(&c->authz, "Authorization: Bearer %s", tok) < 0) {
                        c->authz = NULL;
                        k = qerr_set(err, ENOMEM, "fetch token");
                }
        }
        json_decref(j);
        http_resp_done(&r);
        return k;
}

static int set_basic(struct reg_client *c, struct qerr **err)
{
        _cleanup_free_ char *plain = NULL;
        if (asprintf(&plain, "%s:%s", c->user, c->password) < 0)
                return qerr_set(err, ENOMEM, "authenticate");
        size_t n = strlen(plain);
        _cleanup_free_ unsigned char *b64 = malloc(4 * ((n + 2) / 3) + 1);
        if (!b64)
                return qerr_set(err, ENOMEM, "authenticate");
        EVP_EncodeBlock(b64, (const unsigned char *)plain, (int)n);
        explicit_bzero(plain, n);
        free(c->authz);
        if (asprintf(&c->authz, "Authorization: Basic %s", b64) < 0) {
                c->authz = NULL;
                return qerr_set(err, ENOMEM, "authenticate");
        }
        return 0;
}

/* Answers a 401 challenge; the caller then repeats the request once. */
static int authenticate(struct reg_client *c, const struct http_resp *r, struct qerr **err)
{
        if (!r->www_authenticate)
                return http_error(c, "authenticate", 401, r, err);
        struct auth_challenge ch = { 0 };
        int k = registry_parse_challenge(r->www_authenticate, &ch, err);
        if (k < 0)
                return k;
        if (strcasecmp(ch.scheme, "bearer") == 0) {
                k = fetch_token(c, &ch, err);
        } else if (strcasecmp(ch.scheme, "basic") == 0) {
                if (!c->user)
                        k = http_error(c, "no credentials for it in the auth file", 401, r, err);
                else
                        k = set_basic(c, err);
        } else {
                k = qerr_set(err, EPROTONOSUPPORT, "registry '%s' asks for '%s' authentication",
                             c->host, ch.scheme);
        }
        auth_challenge_done(&ch);
        return k;
}

/* GET with the registry's auth dance: on 401, answer the challenge and try once more. */
static int get(struct reg_client *c, const char *url, const char *accept, const char *what,
               struct http_resp *r, struct qerr **err)
{
        for (int attempt = 0;; attempt++) {
                long status = 0;
                int k = perform(c, url, accept, r, &status, err);
                if (k < 0)
                        return k;
                if (status >= 200 && status < 300)
                        return 0;
                if (status != 401 || attempt > 0)
                        return http_error(c, what, status, r, err);
                k = authenticate(c, r, err);
                if (k < 0)
                        return k;
                strbuf_done(&r->body);
        }
}

static int fetch_manifest(struct reg_client *c, const char *key, const char *want_digest,
                          struct image_desc *ret, char **ret_buf, size_t *ret_len,
                          struct qerr **err)
{
        _cleanup_free_ char *url = NULL, *what = NULL;
        if (asprintf(&url, "%s/manifests/%s", c->base, key) < 0 ||
            asprintf(&what, "get manifest '%s'", key) < 0)
                return qerr_set(err, ENOMEM, "get manifest");
        struct http_resp r = { .body_max = MANIFEST_MAX };
        int k = get(c, url, ACCEPT_MANIFESTS, what, &r, err);
        char got[72];
        if (k >= 0)
                k = sha256_digest_of(r.body.buf ? r.body.buf : "", r.body.len, got, err);
        /* By digest, the bytes must hash to it; by tag, to what the registry says they are. */
        const char *want = want_digest ? want_digest : r.docker_digest;
        if (k >= 0 && want && strncmp(want, "sha256:", 7) == 0 && strcmp(want, got) != 0)
                k = qerr_set(err, EBADMSG, "manifest '%s' has digest '%s', expected '%s'", key, got,
                             want);
        if (k >= 0)
                k = image_store_put_blob(c->store, r.body.buf ? r.body.buf : "", r.body.len, got,
                                         NULL, err);
        if (k >= 0) {
                /* "application/json; charset=utf-8" says nothing: the body decides. */
                const char *ct = r.content_type;
                size_t ctlen = ct ? strcspn(ct, ";") : 0;
                ret->media_type = ctlen ? strndup(ct, ctlen) : strdup("");
                ret->digest = strdup(got);
                ret->size = (int64_t)r.body.len;
                *ret_len = r.body.len;
                *ret_buf = strbuf_steal(&r.body);
                if (!ret->media_type || !ret->digest || !*ret_buf)
                        k = qerr_set(err, ENOMEM, "get manifest");
        }
        http_resp_done(&r);
        return k;
}

struct transfer {
        CURL *h;
        struct curl_slist *headers;
        char *url;
        struct http_resp resp;
        const struct image_desc *desc;
        bool done;
};

static void transfer_done(struct transfer *t, CURLM *m)
{
        if (t->h) {
                curl_multi_remove_handle(m, t->h);
                curl_easy_cleanup(t->h);
        }
        curl_slist_free_all(t->headers);
        free(t->url);
        image_blob_abort(t->resp.blob);
        t->resp.blob = NULL;
        http_resp_done(&t->resp);
}

static int transfer_start(struct reg_client *c, CURLM *m, struct transfer *t, struct qerr **err)
{
        t->resp.body_max = ERROR_BODY_MAX;
        if (asprintf(&t->url, "%s/blobs/%s", c->base, t->desc->digest) < 0) {
                t->url = NULL;
                return qerr_set(err, ENOMEM, "get blob");
        }
        int k = image_blob_begin(c->store, t->desc->digest, t->desc->size, &t->resp.blob, err);
        if (k < 0)
                return k;
        t->h = curl_easy_init();
        t->headers = make_headers(c, NULL);
        if (!t->h || (c->authz && !t->headers) ||
            setup_easy(c, t->h, t->url, t->headers, &t->resp) < 0 ||
            curl_multi_add_handle(m, t->h) != CURLM_OK)
                return qerr_set(err, ENOMEM, "set up request for '%s'", t->url);
        return 0;
}

static int transfer_finish(struct reg_client *c, struct transfer *t, CURLcode cc, struct qerr **err)
{
        long status = 0;
        curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &status);
        t->done = true;
        if (t->resp.write_err)
                return pass_err(&t->resp.write_err, err);
        if (cc != CURLE_OK)
                return qerr_set(err, curl_errno(cc), "get blob '%s': %s", t->desc->digest,
                                t->resp.errbuf[0] ? t->resp.errbuf : curl_easy_strerror(cc));
        if (status != 200) {
                _cleanup_free_ char *what = NULL;
                if (asprintf(&what, "get blob '%s'", t->desc->digest) < 0)
                        what = NULL;
                return http_error(c, what ? what : "get blob", status, &t->resp, err);
        }
        c->stats.bytes += image_blob_written(t->resp.blob);
        c->stats.blobs_fetched++;
        int k = image_blob_commit(t->resp.blob, NULL, err);
        return k < 0 ? qerr_wrap_r(k, err, "get blob '%s'", t->desc->digest) : 0;
}

static int multi_run(struct reg_client *c, CURLM *m, struct transfer *t, size_t n,
                     struct qerr **err)
{
        size_t left = n;
        while (left > 0) {
                int running = 0;
                if (curl_multi_perform(m, &running) != CURLM_OK)
                        return qerr_set(err, EIO, "download blobs");
                CURLMsg *msg;
                int queued;
                while ((msg = curl_multi_info_read(m, &queued))) {
                        if (msg->msg != CURLMSG_DONE)
                                continue;
                        for (size_t i = 0; i < n; i++) {
                                if (t[i].h != msg->easy_handle || t[i].done)
                                        continue;
                                int k = transfer_finish(c, &t[i], msg->data.result, err);
                                if (k < 0)
                                        return k;
                                left--;
                        }
                }
                if (left > 0 && curl_multi_poll(m, NULL, 0, 1000, NULL) != CURLM_OK)
                        return qerr_set(err, EIO, "download blobs");
        }
        return 0;
}

/* Downloads the blobs the store lacks, several at once: curl queues transfers beyond the
 * per-host connection limit. */
static int fetch_blobs(struct reg_client *c, const struct image_desc *const *descs, size_t n,
                       struct qerr **err)
{
        CURLM *m = curl_multi_init();
        struct transfer *t = calloc(n + 1, sizeof(*t));
        if (!m || !t) {
                free(t);
                if (m)
                        curl_multi_cleanup(m);
                return qerr_set(err, ENOMEM, "download blobs");
        }
        long par = c->o->max_parallel ? (long)c->o->max_parallel : 3;
        curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, par);
        int k = 0;
        size_t started = 0;
        for (size_t i = 0; i < n && k >= 0; i++) {
                if (image_store_has_blob(c->store, descs[i]->digest)) {
                        c->stats.blobs_present++;
                        continue;
                }
                t[started].desc = descs[i];
                k = transfer_start(c, m, &t[started++], err);
        }
        if (k >= 0)
                k = multi_run(c, m, t, started, err);
        for (size_t i = 0; i < started; i++)
                transfer_done(&t[i], m);
        free(t);
        curl_multi_cleanup(m);
        return k;
}

bool registry_is_insecure(char *const *list, const char *domain)
{
        for (size_t i = 0; list && list[i]; i++)
                if (strcmp(list[i], domain) == 0)
                        return true;
        return false;
}

/* "https://index.docker.io/v1/" -> "index.docker.io" */
static bool auth_key_matches(const char *key, const char *domain)
{
        const char *p = strstr(key, "://");
        p = p ? p + 3 : key;
        size_t n = strcspn(p, "/");
        if (strlen(domain) == n && strncmp(p, domain, n) == 0)
                return true;
        if (strcmp(domain, "docker.io") != 0)
                return false;
        return (n == 15 && strncmp(p, "index.docker.io", n) == 0) ||
               (n == 20 && strncmp(p, "registry-1.docker.io", n) == 0);
}

static int decode_auth(const char *b64, char **ret_user, char **ret_password, struct qerr **err)
{
        size_t n = strlen(b64);
        if (n == 0 || n % 4 != 0)
                return qerr_set(err, EBADMSG, "auth file: 'auth' is not base64");
        _cleanup_free_ unsigned char *out = malloc(n / 4 * 3 + 1);
        if (!out)
                return qerr_set(err, ENOMEM, "auth file");
        int len = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)n);
        if (len < 0)
                return qerr_set(err, EBADMSG, "auth file: 'auth' is not base64");
        for (const char *p = b64 + n - 1; p >= b64 && *p == '='; p--)
                len--;
        out[len] = 0;
        char *colon = memchr(out, ':', (size_t)len);
        if (!colon)
                return qerr_set(err, EBADMSG, "auth file: 'auth' is not user:password");
        *colon = 0;
        *ret_user = strdup((char *)out);
        *ret_password = strdup(colon + 1);
        explicit_bzero(out, (size_t)len);
        return *ret_user && *ret_password ? 1 : qerr_set(err, ENOMEM, "auth file");
}

int registry_find_credentials(const char *auth_file, const char *domain, char **ret_user,
                              char **ret_password, struct qerr **err)
{
        if (!auth_file || access(auth_file, F_OK) < 0)
                return 0;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int k = read_full_file(auth_file, AUTH_FILE_MAX, &buf, &len, err);
        if (k < 0)
                return k;
        json_error_t je;
        json_t *j = json_loadb(buf, len, 0, &je);
        explicit_bzero(buf, len);
        if (!j)
                return qerr_set(err, EBADMSG, "parse auth file '%s': %s", auth_file, je.text);
        const char *key;
        json_t *v;
        k = 0;
        json_object_foreach(json_object_get(j, "auths"), key, v)
        {
                if (!auth_key_matches(key, domain))
                        continue;
                const char *auth = json_string_value(json_object_get(v, "auth"));
                const char *u = json_string_value(json_object_get(v, "username"));
                const char *p = json_string_value(json_object_get(v, "password"));
                if (auth && *auth) {
                        k = decode_auth(auth, ret_user, ret_password, err);
                } else if (u && p) {
                        *ret_user = strdup(u);
                        *ret_password = strdup(p);
                        k = 1;
                }
                break;
        }
        json_decref(j);
        return k < 0 ? qerr_wrap_r(k, err, "auth file '%s'", auth_file) : k;
}

static int client_init(struct reg_client *c, const struct image_store *s,
                       const struct image_ref *ref, const struct registry_opts *o,
                       struct qerr **err)
{
        c->o = o;
        c->store = s;
        c->ref = ref;
        c->host = image_ref_registry_host(ref);
        bool plain = registry_is_insecure(o->insecure_registries, ref->domain) ||
                     registry_is_insecure(o->insecure_registries, c->host);
        if (asprintf(&c->base, "%s://%s/v2/%s", plain ? "http" : "https", c->host, ref->path) < 0) {
                c->base = NULL;
                return qerr_set(err, ENOMEM, "pull");
        }
        int k = registry_find_credentials(o->auth_file, ref->domain, &c->user, &c->password, err);
        return k < 0 ? k : 0;
}

/* manifest (through an index if need be), then config and layers. */
static int pull_image(struct reg_client *c, struct image_desc *ret_top, struct qerr **err)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        struct image_desc top = { 0 };
        const char *key = image_ref_manifest_key(c->ref);
        int k = fetch_manifest(c, key, c->ref->digest, &top, &buf, &len, err);
        if (k < 0)
                return k;
        enum image_doc_kind kind = image_doc_kind(top.media_type, buf, len);
        if (kind == IMAGE_DOC_INDEX) {
                struct image_desc pick = { 0 };
                k = image_index_select(buf, len, "linux", image_host_arch(), &pick, err);
                free(TAKE_PTR(buf));
                image_desc_done(&top);
                if (k >= 0)
                        k = fetch_manifest(c, pick.digest, pick.digest, &top, &buf, &len, err);
                image_desc_done(&pick);
                if (k < 0)
                        return k;
                kind = image_doc_kind(top.media_type, buf, len);
        }
        _cleanup_image_manifest_ struct image_manifest *m = NULL;
        if (kind != IMAGE_DOC_MANIFEST)
                k = qerr_set(err, EPROTONOSUPPORT, "unsupported manifest type '%s'",
                             top.media_type);
        if (k >= 0)
                k = image_manifest_parse(buf, len, &m, err);
        if (k >= 0 && !m->media_type[0]) {
                free(m->media_type);
                m->media_type = NULL;
        }
        _cleanup_free_ const struct image_desc **descs = k >= 0 ? calloc(m->n_layers + 1,
                                                                         sizeof(*descs))
                                                                : NULL;
        if (k >= 0 && !descs)
                k = qerr_set(err, ENOMEM, "pull");
        if (k >= 0) {
                descs[0] = &m->config;
                for (size_t i = 0; i < m->n_layers; i++)
                        descs[i + 1] = &m->layers[i];
                k = fetch_blobs(c, descs, m->n_layers + 1, err);
        }
        if (k >= 0 && !top.media_type[0]) {
                free(top.media_type);
                top.media_type = strdup(m->media_type ? m->media_type : MEDIA_OCI_MANIFEST);
        }
        if (k < 0) {
                image_desc_done(&top);
                return k;
        }
        *ret_top = top;
        return 0;
}

int image_pull(const struct image_store *s, const char *ref, const struct registry_opts *o,
               char **ret_full_ref, struct pull_stats *ret_stats, struct qerr **err)
{
        static const struct registry_opts none = { 0 };
        pthread_once(&curl_once, curl_init_once);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        _cleanup_image_ref_ struct image_ref *r = NULL;
        int k = image_ref_parse(ref, &r, err);
        if (k < 0)
                return qerr_wrap_r(k, err, IMAGE_PULL_REASON ": pull image '%s'", ref);
        _cleanup_close_ int gc_lock = image_store_gc_lock(s, false, err);
        if (gc_lock < 0)
                return qerr_wrap_r(gc_lock, err, IMAGE_PULL_REASON ": pull image '%s'", ref);
        struct reg_client c = { 0 };
        struct image_desc top = { 0 };
        k = client_init(&c, s, r, o ? o : &none, err);
        if (k >= 0)
                k = pull_image(&c, &top, err);
        /* Check the config parses and agrees with the manifest before naming the image. */
        if (k >= 0)
                k = image_store_tag(s, r->full, &top, err);
        if (k >= 0)
                k = image_store_load(s, r->full, NULL, NULL, err);
        image_desc_done(&top);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        c.stats.seconds = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
        struct pull_stats stats = c.stats;
        reg_client_done(&c);
        if (k < 0)
                return qerr_wrap_r(k, err, IMAGE_PULL_REASON ": pull image '%s'", r->full);
        log_debug("pulled '%s': %u blobs, %llu bytes in %.3f s", r->full, stats.blobs_fetched,
                  (unsigned long long)stats.bytes, stats.seconds);
        if (ret_stats)
                *ret_stats = stats;
        if (ret_full_ref && !(*ret_full_ref = strdup(r->full)))
                return qerr_set(err, ENOMEM, "pull");
        return 0;
}
