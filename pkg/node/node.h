/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "basic/error.h"
#include "node/runtime-ops.h"
#include "qos/plan.h"

/* The node: pod sources in, desired set keyed by UID, reconcile against the runtime (start,
 * restart after back-off, stop), status out. Everything runs on one sd-event loop; the
 * reconcile pass runs from a deferred event source, so a burst of changes costs one pass.
 * State on disk (node/state.h) lets a new daemon adopt the pods an earlier one started. */

struct node;

struct node_options {
        const char *node_name;
        const char *root_dir;
        const char *run_dir; /* handed to the runtime (shim sockets, exit records) */
        const char *log_dir; /* handed to the runtime: container logs; NULL: its default */
        const char *shim_path; /* handed to the runtime; NULL: its default */
        const char *host_ip; /* status.hostIP; NULL: none */
        /* handed to the runtime for image pulls: registries reached over plain HTTP;
         * NULL-terminated or NULL, borrowed, must outlive the node */
        char *const *insecure_registries;
        const struct node_info *info; /* for the plan; borrowed, must outlive the node */
        const char *manifest_path; /* NULL: no directory source */
        uint64_t file_check_frequency_usec;
        const char *manifest_url; /* NULL: no URL source */
        char *const *manifest_url_headers;
        uint64_t http_check_frequency_usec;
        bool strict;
        /* Creates the runtime (runtime_none_new, or the real one); the node passes the loop
         * and its pod_changed hook in env. */
        int (*runtime_new)(const struct pod_runtime_env *env, struct node_runtime **ret,
                           struct qerr **err);
};

enum node_event_type {
        NODE_EVENT_NORMAL,
        NODE_EVENT_WARNING,
};

/* Events say what a person should know: pods added, started, stopped, refused; manifests
 * that do not read; duplicates. The daemon logs them (library code does not log). */
struct node_event {
        enum node_event_type type;
        const char *reason;
        const char *object; /* "namespace/name" of a pod, or a file or URL */
        const char *pod_uid; /* NULL when not about one pod */
        const char *message;
};

struct node_callbacks {
        void (*event)(const struct node_event *e, void *userdata);
        /* A new /pods document (a v1 PodList as JSON text), after each pass that changed it. */
        void (*publish)(const char *pods_json, void *userdata);
        void *userdata;
};

/* Creates the runtime, reads state on disk and the sources; the first pass is scheduled on
 * the loop. */
int node_new(sd_event *event, const struct node_options *o, const struct node_callbacks *cb,
             struct node **ret, struct qerr **err);
void node_free(struct node *n);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct node *, node_free)

/* Schedules a reconcile pass (the runtime's pod_changed does this too). */
void node_schedule(struct node *n);

/* The /pods document now. */
char *node_pods_json(struct node *n);

/* Counts for sd_notify STATUS=. */
void node_counts(const struct node *n, unsigned *ret_pods, unsigned *ret_stopping);
