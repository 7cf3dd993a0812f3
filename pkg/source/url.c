/* SPDX-License-Identifier: Apache-2.0 */
#include <curl/curl.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include "basic/log.h"
#include "basic/strbuf.h"
#include "source/url.h"

#define DEFAULT_PERIOD (20 * UINT64_C(1000000))
#define DEFAULT_TIMEOUT (10 * UINT64_C(1000000))

struct url_source {
        sd_event *event;
        char *url, *node_name;
        struct curl_slist *headers;
        struct manifest_options mopts;
        uint64_t period, timeout;
        CURLM *multi;
        CURL *easy; /* the fetch in flight, NULL between fetches */
        struct curl_slist *req_headers; /* headers of the fetch in flight */
        sd_event_source *curl_timer, *poll_timer;
        struct strbuf body;
        bool body_too_large;
        char *etag, *new_etag;
        char errbuf[CURL_ERROR_SIZE];
        char *last_body;
        size_t last_len;
        struct source_origin *origin;
        struct source_origin *origins[1];
        struct source_callbacks cb;
        void *userdata;
        struct url_source_stats stats;
        sd_event_source **ios; /* io sources of curl's sockets, also kept here so that free
                                * releases those of cached connections */
        size_t n_ios;
};

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
        struct url_source *s = userdata;
        if (s->body.len + size * n > MANIFEST_MAX_SIZE) {
                s->body_too_large = true;
                return 0; /* makes curl fail the transfer */
        }
        strbuf_append_n(&s->body, data, size * n);
        return s->body.oom ? 0 : size * n;
}

static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
        struct url_source *s = userdata;
        size_t len = size * n;
        if (len > 5 && strncasecmp(data, "ETag:", 5) == 0) {
                const char *v = data + 5;
                size_t l = len - 5;
                while (l > 0 && (*v == ' ' || *v == '\t'))
                        v++, l--;
                while (l > 0 && (v[l - 1] == '\r' || v[l - 1] == '\n' || v[l - 1] == ' '))
                        l--;
                free(s->new_etag);
                s->new_etag = strndup(v, l);
        }
        return len;
}

static void fail(struct url_source *s, const char *fmt, ...) _printf_(2, 3);
static void fail(struct url_source *s, const char *fmt, ...)
{
        va_list ap;
        _cleanup_free_ char *m = NULL;
        va_start(ap, fmt);
        int r = vasprintf(&m, fmt, ap);
        va_end(ap);
        s->stats.failures++;
        source_origin_fail(s->origin, r < 0 ? "fetch failed" : m, &s->cb, s->userdata);
}

static void accept_body(struct url_source *s)
{
        if (s->body.len == 0) {
                fail(s, "fetch '%s': empty body", s->url);
                return;
        }
        if (s->last_body && s->last_len == s->body.len &&
            memcmp(s->last_body, s->body.buf, s->body.len) == 0 && !s->origin->error) {
                s->stats.unchanged++;
                return;
        }
        int r = source_origin_update(s->origin, s->body.buf, s->body.len, s->url, "http", &s->mopts,
                                     &s->cb, s->userdata);
        free(s->last_body);
        s->last_len = s->body.len;
        s->last_body = strbuf_steal(&s->body);
        /* the ETag names this body: a 304 later means "still this one" */
        free(s->etag);
        s->etag = TAKE_PTR(s->new_etag);
        if (r > 0 && s->cb.changed)
                s->cb.changed(s->userdata);
}

static void finish(struct url_source *s, CURLcode code)
{
        long status = 0;
        s->stats.fetches++;
        (void)curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
        if (code != CURLE_OK) {
                if (s->body_too_large)
                        fail(s, "fetch '%s': body larger than %d bytes", s->url, MANIFEST_MAX_SIZE);
                else
                        fail(s, "fetch '%s': %s", s->url,
                             s->errbuf[0] ? s->errbuf : curl_easy_strerror(code));
        } else if (status == 304)
                s->stats.not_modified++;
        else if (status != 200)
                fail(s, "fetch '%s': HTTP status %ld", s->url, status);
        else
                accept_body(s);
        (void)curl_multi_remove_handle(s->multi, s->easy);
        curl_easy_cleanup(s->easy);
        s->easy = NULL;
        curl_slist_free_all(s->req_headers);
        s->req_headers = NULL;
        strbuf_done(&s->body);
        free(s->new_etag);
        s->new_etag = NULL;
        (void)sd_event_source_set_time_relative(s->poll_timer, s->period);
        (void)sd_event_source_set_enabled(s->poll_timer, SD_EVENT_ONESHOT);
}

static void check_done(struct url_source *s)
{
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(s->multi, &left)))
                if (m->msg == CURLMSG_DONE && m->easy_handle == s->easy)
                        finish(s, m->data.result);
}

static int on_curl_io(sd_event_source *es, int fd, uint32_t revents, void *userdata)
{
        struct url_source *s = userdata;
        int action = 0, running;
        if (revents & EPOLLIN)
                action |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                action |= CURL_CSELECT_OUT;
        if (revents & (EPOLLERR | EPOLLHUP))
                action |= CURL_CSELECT_ERR;
        (void)curl_multi_socket_action(s->multi, fd, action, &running);
        check_done(s);
        return 0;
}

static int on_curl_timer(sd_event_source *es, uint64_t usec, void *userdata)
{
        struct url_source *s = userdata;
        int running;
        (void)curl_multi_socket_action(s->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        check_done(s);
        return 0;
}

static uint32_t poll_events(int what)
{
        switch (what) {
        case CURL_POLL_IN:
                return EPOLLIN;
        case CURL_POLL_OUT:
                return EPOLLOUT;
        default:
                return EPOLLIN | EPOLLOUT;
        }
}

/* curl tells which sockets to watch for what; each one gets an sd-event io source, stored
 * as the socket's private pointer. */
static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userdata, void *socketp)
{
        struct url_source *s = userdata;
        sd_event_source *io = socketp;
        if (what == CURL_POLL_REMOVE) {
                for (size_t i = 0; i < s->n_ios; i++)
                        if (s->ios[i] == io)
                                s->ios[i] = s->ios[--s->n_ios];
                sd_event_source_disable_unref(io);
                (void)curl_multi_assign(s->multi, fd, NULL);
                return 0;
        }
        if (io)
                return sd_event_source_set_io_events(io, poll_events(what)) < 0 ? -1 : 0;
        sd_event_source **n = realloc(s->ios, (s->n_ios + 1) * sizeof(*n));
        if (!n)
                return -1;
        s->ios = n;
        if (sd_event_add_io(s->event, &io, fd, poll_events(what), on_curl_io, s) < 0)
                return -1;
        s->ios[s->n_ios++] = io;
        (void)curl_multi_assign(s->multi, fd, io);
        return 0;
}

static int on_curl_timeout(CURLM *multi, long timeout_ms, void *userdata)
{
        struct url_source *s = userdata;
        if (timeout_ms < 0)
                return sd_event_source_set_enabled(s->curl_timer, SD_EVENT_OFF) < 0 ? -1 : 0;
        if (sd_event_source_set_time_relative(s->curl_timer, (uint64_t)timeout_ms * 1000) < 0 ||
            sd_event_source_set_enabled(s->curl_timer, SD_EVENT_ONESHOT) < 0)
                return -1;
        return 0;
}

static int setup_easy(struct url_source *s, CURL *e)
{
        struct curl_slist *h = NULL;
        for (struct curl_slist *i = s->headers; i; i = i->next) {
                struct curl_slist *n = curl_slist_append(h, i->data);
                if (!n) {
                        curl_slist_free_all(h);
                        return -ENOMEM;
                }
                h = n;
        }
        if (s->etag) {
                _cleanup_free_ char *inm = NULL;
                struct curl_slist *n = NULL;
                if (asprintf(&inm, "If-None-Match: %s", s->etag) < 0 ||
                    !(n = curl_slist_append(h, inm))) {
                        curl_slist_free_all(h);
                        return -ENOMEM;
                }
                h = n;
        }
        s->req_headers = h;
        s->errbuf[0] = 0;
        s->body_too_large = false;
        if (curl_easy_setopt(e, CURLOPT_URL, s->url) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_HTTPHEADER, h) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(s->timeout / 1000)) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->errbuf) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_WRITEDATA, s) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_HEADERDATA, s) != CURLE_OK)
                return -EINVAL;
        return 0;
}

void url_source_fetch_now(struct url_source *s)
{
        if (s->easy)
                return;
        (void)sd_event_source_set_enabled(s->poll_timer, SD_EVENT_OFF);
        CURL *e = curl_easy_init();
        if (!e || setup_easy(s, e) < 0 || curl_multi_add_handle(s->multi, e) != CURLM_OK) {
                curl_easy_cleanup(e);
                curl_slist_free_all(s->req_headers);
                s->req_headers = NULL;
                fail(s, "fetch '%s': cannot set up the request", s->url);
                (void)sd_event_source_set_time_relative(s->poll_timer, s->period);
                (void)sd_event_source_set_enabled(s->poll_timer, SD_EVENT_ONESHOT);
                return;
        }
        s->easy = e;
}

static int on_poll_timer(sd_event_source *es, uint64_t usec, void *userdata)
{
        url_source_fetch_now(userdata);
        return 0;
}

static int setup_multi(struct url_source *s, struct qerr **err)
{
        s->multi = curl_multi_init();
        if (!s->multi)
                return qerr_set(err, ENOMEM, "set up fetching '%s'", s->url);
        if (curl_multi_setopt(s->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket) != CURLM_OK ||
            curl_multi_setopt(s->multi, CURLMOPT_SOCKETDATA, s) != CURLM_OK ||
            curl_multi_setopt(s->multi, CURLMOPT_TIMERFUNCTION, on_curl_timeout) != CURLM_OK ||
            curl_multi_setopt(s->multi, CURLMOPT_TIMERDATA, s) != CURLM_OK)
                return qerr_set(err, EINVAL, "set up fetching '%s'", s->url);
        int r = sd_event_add_time_relative(s->event, &s->curl_timer, CLOCK_MONOTONIC, 0, 0,
                                           on_curl_timer, s);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->curl_timer, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_time_relative(s->event, &s->poll_timer, CLOCK_MONOTONIC, s->period,
                                               0, on_poll_timer, s);
        if (r < 0)
                return qerr_set_errno(err, -r, "add timers for '%s'", s->url);
        return 0;
}

static int copy_headers(struct url_source *s, char *const *headers, struct qerr **err)
{
        for (char *const *h = headers; h && *h; h++) {
                if (!strchr(*h, ':'))
                        return qerr_set(err, EINVAL, "invalid header '%s': want 'Key: value'", *h);
                struct curl_slist *n = curl_slist_append(s->headers, *h);
                if (!n)
                        return qerr_set(err, ENOMEM, "copy headers");
                s->headers = n;
        }
        return 0;
}

int url_source_new(sd_event *event, const struct url_source_options *o,
                   const struct source_callbacks *cb, void *userdata, struct url_source **ret,
                   struct qerr **err)
{
        if (strncmp(o->url, "http://", 7) != 0 && strncmp(o->url, "https://", 8) != 0)
                return qerr_set(err, EINVAL, "invalid manifest URL '%s': want http or https",
                                o->url);
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return qerr_set(err, EIO, "initialize libcurl");
        _cleanup_(url_source_freep) struct url_source *s = calloc(1, sizeof(*s));
        if (!s) {
                curl_global_cleanup();
                return qerr_set(err, ENOMEM, "fetch '%s'", o->url);
        }
        s->event = sd_event_ref(event);
        s->url = strdup(o->url);
        s->node_name = o->manifest.node_name ? strdup(o->manifest.node_name) : NULL;
        s->mopts = o->manifest;
        s->mopts.node_name = s->node_name;
        s->period = o->check_frequency_usec ? o->check_frequency_usec : DEFAULT_PERIOD;
        s->timeout = o->timeout_usec ? o->timeout_usec : DEFAULT_TIMEOUT;
        s->cb = cb ? *cb : (struct source_callbacks){ 0 };
        s->userdata = userdata;
        s->origin = calloc(1, sizeof(*s->origin));
        if (!s->url || !s->origin || !(s->origin->name = strdup(o->url)))
                return qerr_set(err, ENOMEM, "fetch '%s'", o->url);
        s->origins[0] = s->origin;
        int r = copy_headers(s, o->headers, err);
        if (r >= 0)
                r = setup_multi(s, err);
        if (r < 0)
                return r;
        url_source_fetch_now(s);
        *ret = TAKE_PTR(s);
        return 0;
}

void url_source_free(struct url_source *s)
{
        if (!s)
                return;
        if (s->easy) {
                (void)curl_multi_remove_handle(s->multi, s->easy);
                curl_easy_cleanup(s->easy);
        }
        if (s->multi)
                curl_multi_cleanup(s->multi);
        for (size_t i = 0; i < s->n_ios; i++)
                sd_event_source_disable_unref(s->ios[i]);
        free(s->ios);
        curl_slist_free_all(s->req_headers);
        curl_slist_free_all(s->headers);
        sd_event_source_disable_unref(s->curl_timer);
        sd_event_source_disable_unref(s->poll_timer);
        strbuf_done(&s->body);
        free(s->etag);
        free(s->new_etag);
        free(s->last_body);
        source_origin_free(s->origin);
        free(s->url);
        free(s->node_name);
        sd_event_unref(s->event);
        free(s);
        curl_global_cleanup();
}

struct source_origin *const *url_source_origins(const struct url_source *s, size_t *ret_n)
{
        *ret_n = 1;
        return s->origins;
}

struct url_source_stats url_source_get_stats(const struct url_source *s)
{
        return s->stats;
}
