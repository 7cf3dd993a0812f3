/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "api/pod.h"
#include "manifest/manifest.h"

/* Pod sources (kubelet-reference.md section 7): the manifest directory and the manifest URL.
 * A source is a list of origins (a file, or the URL); each origin keeps the pods of its last
 * good read. A read that fails (empty, half-written, broken) keeps those pods, with a
 * warning event that says why, and the origin is read again on its next change. The node
 * merges the origins of all sources into the desired set, keyed by UID. */

/* The bytes a pod was decoded from, shared by every pod of one read. */
struct manifest_blob {
        unsigned n_ref;
        size_t len;
        char data[];
};

struct manifest_blob *manifest_blob_new(const char *data, size_t len);
struct manifest_blob *manifest_blob_ref(struct manifest_blob *b);
void manifest_blob_unref(struct manifest_blob *b);

/* A decoded pod, reference counted so that the node can keep it after its origin moved on
 * (a pod whose file was deleted is still being stopped). */
struct source_pod {
        unsigned n_ref;
        struct pod *pod;
        char *origin; /* the file path as listed, or the URL */
        const char *kind; /* "file" or "http": kubernetes.io/config.source */
        struct manifest_blob *raw;
};

struct source_pod *source_pod_ref(struct source_pod *p);
void source_pod_unref(struct source_pod *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct source_pod *, source_pod_unref)

struct source_origin {
        char *name; /* file path or URL */
        struct source_pod **pods; /* the last good read; n_pods == 0 when never good */
        size_t n_pods;
        bool ever_good;
        char *error; /* why the last read failed; NULL when it was good */
};

void source_origin_free(struct source_origin *o);

enum source_event_type {
        SOURCE_EVENT_NORMAL,
        SOURCE_EVENT_WARNING,
};

/* Something a person should know about a source: a manifest that does not parse (and
 * whether its pods were kept), a duplicate pod, a path that vanished. */
struct source_event {
        enum source_event_type type;
        const char *reason; /* CamelCase, as Kubernetes events have it */
        const char *origin;
        const char *message;
        const char *pod_uid; /* the pod concerned, NULL when none */
};

struct source_callbacks {
        /* The pods of an origin changed; called once per batch of changes. */
        void (*changed)(void *userdata);
        void (*event)(const struct source_event *e, void *userdata);
};

/* Reads bytes into an origin: decodes them and, when they are good, replaces the origin's
 * pods; when not, keeps them and records the error. uid_source is hashed into UIDs (the
 * file's realpath, or the URL). Returns 1 when the origin's pods changed (UIDs or content),
 * 0 when not. Events go to cb. */
int source_origin_update(struct source_origin *o, const char *data, size_t len,
                         const char *uid_source, const char *kind,
                         const struct manifest_options *opts, const struct source_callbacks *cb,
                         void *userdata);

/* Records a read that failed before any bytes came (file unreadable, fetch failed): keeps the
 * pods; an event tells the first time this error is seen. */
void source_origin_fail(struct source_origin *o, const char *error,
                        const struct source_callbacks *cb, void *userdata);

/* The desired set: the pods of all origins, keyed by UID. Two pods with the same
 * namespace/name (or the same UID) cannot both run: the one whose origin sorts first in byte
 * order wins (so a file in the manifest directory beats the URL, and `a.yaml` beats
 * `b.yaml`), then the first in its file. Each loser is named in `conflicts`. */
struct desired_set {
        struct source_pod **pods; /* references; sorted by UID */
        size_t n;
        char **conflicts; /* NULL-terminated messages naming both origins */
};

int desired_set_build(struct source_origin *const *origins, size_t n_origins,
                      struct desired_set *ret);
void desired_set_done(struct desired_set *s);
struct source_pod *desired_set_find(const struct desired_set *s, const char *uid);
