/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* The kubelet's container restart back-off (kubelet-reference.md section 8): the first
 * restart happens at once; after that a restart waits 10 s, 20 s, 40 s ... up to 300 s,
 * measured from the container's last exit. The window goes back to the start when the
 * container ran for more than 10 minutes (2 x the maximum) since its last restart. Pure
 * functions over a small per-container entry that the node keeps on disk. Times in usec. */

#define USEC_PER_SEC INT64_C(1000000)
#define BACKOFF_INITIAL (10 * USEC_PER_SEC)
#define BACKOFF_MAX (300 * USEC_PER_SEC)

struct backoff {
        int64_t delay; /* the current window; 0: no entry (no restart yet) */
        int64_t last_update; /* when the window last moved: the last restart */
};

/* Whether a container that exited at finished_at must still wait at `now` before it may
 * restart; *ret_remaining (if not NULL) is the time left, 0 when it may restart now. */
bool backoff_waiting(const struct backoff *b, int64_t finished_at, int64_t now,
                     int64_t *ret_remaining);

/* Records a restart made at `now` of a container that exited at finished_at: widens the
 * window (or starts it at 10 s when there was none, or the last one expired). */
void backoff_next(struct backoff *b, int64_t finished_at, int64_t now);

/* An entry nobody touched for 10 minutes can be dropped. */
bool backoff_stale(const struct backoff *b, int64_t now);
