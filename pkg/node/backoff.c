/* SPDX-License-Identifier: Apache-2.0 */
#include "node/backoff.h"

/* The window expires when the container's exit came more than twice the maximum after the
 * last restart: it ran long enough to count as healthy again. */
static bool expired(const struct backoff *b, int64_t finished_at)
{
        return finished_at - b->last_update > 2 * BACKOFF_MAX;
}

bool backoff_waiting(const struct backoff *b, int64_t finished_at, int64_t now,
                     int64_t *ret_remaining)
{
        int64_t left = 0;
        if (b->delay > 0 && !expired(b, finished_at) && now - finished_at < b->delay)
                left = b->delay - (now - finished_at);
        if (ret_remaining)
                *ret_remaining = left;
        return left > 0;
}

void backoff_next(struct backoff *b, int64_t finished_at, int64_t now)
{
        if (b->delay <= 0 || expired(b, finished_at))
                b->delay = BACKOFF_INITIAL;
        else
                b->delay = b->delay > BACKOFF_MAX / 2 ? BACKOFF_MAX : 2 * b->delay;
        b->last_update = now;
}

bool backoff_stale(const struct backoff *b, int64_t now)
{
        return b->delay > 0 && now - b->last_update > 2 * BACKOFF_MAX;
}
