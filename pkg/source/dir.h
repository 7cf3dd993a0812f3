/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "basic/error.h"
#include "source/source.h"

/* The manifest directory source (--pod-manifest-path, staticPodPath). The path is a directory
 * (every regular file whose name does not start with '.' is read, sorted, no extension
 * filter, no recursion: `web.yaml.bak` is read too, and the duplicate rule of source.h picks
 * one of two pods with the same name) or a single file.
 *
 * It reacts to inotify events only: a file created, written and closed, moved in or out, or
 * deleted is read again (or dropped); the whole directory is listed again when the kernel's
 * queue overflowed or when the directory itself was replaced, deleted or moved (a watch on
 * its parent sees it come back). Nothing wakes when nothing changes. Only when inotify is
 * unavailable (or the parent directory is missing) does a timer list the directory every
 * check_frequency. */

struct dir_source;
struct dir_source_stats;

struct dir_source_options {
        const char *path;
        struct manifest_options manifest;
        uint64_t check_frequency_usec; /* fallback period; 0: 20 s as the kubelet's */
        bool no_inotify; /* use the fallback timer even when inotify works */
};

/* Reads the path once (the origins are ready when this returns) and starts watching. */
int dir_source_new(sd_event *event, const struct dir_source_options *o,
                   const struct source_callbacks *cb, void *userdata, struct dir_source **ret,
                   struct qerr **err);
void dir_source_free(struct dir_source *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct dir_source *, dir_source_free)

/* Lists the path again and reads every file, as after a queue overflow. Returns 1 when the
 * pods changed (and calls `changed`), 0 when not. */
int dir_source_relist(struct dir_source *s);

struct source_origin *const *dir_source_origins(const struct dir_source *s, size_t *ret_n);
bool dir_source_watching(const struct dir_source *s);

/* Counters, for tests and debugging. */
struct dir_source_stats {
        unsigned events; /* inotify events read */
        unsigned overflows; /* IN_Q_OVERFLOW seen */
        unsigned relists; /* full listings, the first one included */
};

struct dir_source_stats dir_source_get_stats(const struct dir_source *s);
