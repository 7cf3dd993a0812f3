/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "basic/error.h"
#include "node/backoff.h"

/* The node's state on disk, under the root dir, so that a restarted daemon knows which pods
 * it ran, from where, since when, and how often and how soon their containers may restart:
 *
 *   <root>/pods/<uid>/pod.json    what the node knows of the pod (below), mode 0600
 *   <root>/pods/<uid>/manifest    the bytes the pod was decoded from, mode 0600
 *
 * Directories are 0700. Every file is written to a temporary name in the same directory,
 * flushed and renamed over the old one, so a crash leaves the old or the new file, never a
 * half-written one. */

#define STATE_VERSION 1

struct container_record {
        char *name;
        unsigned restart_count;
        struct backoff backoff;
};

struct pod_record {
        char *uid, *name, *namespace;
        char *origin; /* file path as listed, or URL */
        char *source_kind; /* "file" or "http" */
        char *uid_source; /* what the UID hashes: the file's realpath or the URL */
        char *config_hash;
        unsigned doc_index, item_index;
        int64_t accepted_at; /* usec, CLOCK_REALTIME: status.startTime */
        bool stopping; /* the source dropped it; stop it even if the daemon restarts */
        struct container_record *containers;
        size_t n_containers;
        char *manifest; /* raw bytes (NUL-terminated); NULL when not loaded or not kept */
        size_t manifest_len;
};

void pod_record_done(struct pod_record *r);
struct container_record *pod_record_container(struct pod_record *r, const char *name, bool create);

/* Whether a string may name a pod's directory: 1 to 64 of [a-z0-9-] (a UUID fits). */
bool state_uid_is_safe(const char *uid);

/* Writes pod.json, and the manifest file when r->manifest is set. */
int state_save_pod(const char *root, const struct pod_record *r, struct qerr **err);
/* Reads pod.json and (when with_manifest) the manifest file. */
int state_load_pod(const char *root, const char *uid, bool with_manifest, struct pod_record *ret,
                   struct qerr **err);
/* The UIDs that have a pod directory, sorted; names that are not safe UIDs are skipped. */
int state_list_pods(const char *root, char ***ret_uids, struct qerr **err);
/* Removes the pod's directory and everything below it, without following symbolic links
 * and without crossing into another file system (a volume still mounted stays, and the call
 * fails with EBUSY). A missing directory is not an error. */
int state_remove_pod(const char *root, const char *uid, struct qerr **err);

/* Helpers, exposed for the lock file and tests. */
int state_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                       struct qerr **err);
