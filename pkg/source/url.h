/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "basic/error.h"
#include "source/source.h"

/* The manifest URL source (--manifest-url, staticPodURL): a GET every check_frequency (20 s by
 * default) with the configured headers, If-None-Match with the last ETag, and a 10 s timeout.
 * The body is one Pod or a PodList (or anything manifest_decode takes), YAML or JSON. A fetch
 * that fails, a status other than 200 or 304, or a body that does not decode keeps the pods
 * of the last good body, with an event that says why. A body equal to the last one changes
 * nothing. libcurl's multi interface runs on the sd-event loop: no thread, no blocking. */

struct url_source;

struct url_source_options {
        const char *url;
        char *const *headers; /* "Key: value", NULL-terminated; may be NULL */
        struct manifest_options manifest;
        uint64_t check_frequency_usec; /* 0: 20 s */
        uint64_t timeout_usec; /* 0: 10 s */
};

struct url_source_stats {
        unsigned fetches; /* requests finished, whatever their result */
        unsigned not_modified; /* 304 answers */
        unsigned unchanged; /* 200 with the same body as before */
        unsigned failures; /* transport errors, bad statuses, empty bodies */
};

/* Starts the first fetch at once; `changed` is called when it brings pods. */
int url_source_new(sd_event *event, const struct url_source_options *o,
                   const struct source_callbacks *cb, void *userdata, struct url_source **ret,
                   struct qerr **err);
void url_source_free(struct url_source *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct url_source *, url_source_free)

/* Fetches now (unless a fetch is running), then every check_frequency again. */
void url_source_fetch_now(struct url_source *s);

struct source_origin *const *url_source_origins(const struct url_source *s, size_t *ret_n);
struct url_source_stats url_source_get_stats(const struct url_source *s);
