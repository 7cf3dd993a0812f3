/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "basic/macro.h"

/* The one error type: an errno-style code and a message. Functions that can fail take a
 * `struct qerr **err` last and return a negative errno (or NULL). The callee allocates the
 * error; whoever handles it (logs it, or decides to go on) frees it with qerr_free(). Passing
 * err == NULL discards the message but keeps the return value. */
struct qerr {
        int code; /* positive errno */
        char *msg;
};

/* Sets *err (if err is not NULL and *err is NULL) and returns -code. The message should name
 * the action and the object; strerror(code) is not added: qerr_text() adds it if useful. */
int qerr_set(struct qerr **err, int code, const char *fmt, ...) _printf_(3, 4);

/* Prefixes the message of *err with context ("ctx: old message") and returns -code. */
int qerr_wrap(struct qerr **err, const char *fmt, ...) _printf_(2, 3);

/* Like qerr_set() with ": <strerror(code)>" appended to the message. */
int qerr_set_errno(struct qerr **err, int code, const char *fmt, ...) _printf_(3, 4);

void qerr_free(struct qerr *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct qerr *, qerr_free)
#define _cleanup_qerr_ _cleanup_(qerr_freep)

static inline const char *qerr_msg(const struct qerr *e)
{
        return e && e->msg ? e->msg : "unknown error";
}
