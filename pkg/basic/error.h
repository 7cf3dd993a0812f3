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

/* Prefixes the message of *err with context ("ctx: old message") and returns -code. With
 * err == NULL it returns the code of the last qerr_set() of this thread, so `return
 * qerr_wrap(err, ...)` keeps the errno either way. */
int qerr_wrap(struct qerr **err, const char *fmt, ...) _printf_(2, 3);

/* qerr_wrap() that returns r itself. */
#define qerr_wrap_r(r, err, ...)                           \
        ({                                                 \
                int _wr = (r);                             \
                struct qerr **_we = (err);                 \
                if (_we && *_we)                           \
                        (void)qerr_wrap(_we, __VA_ARGS__); \
                _wr;                                       \
        })

/* Like qerr_set() with ": <strerror(code)>" appended to the message. */
int qerr_set_errno(struct qerr **err, int code, const char *fmt, ...) _printf_(3, 4);

void qerr_free(struct qerr *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct qerr *, qerr_free)
#define _cleanup_qerr_ _cleanup_(qerr_freep)

static inline const char *qerr_msg(const struct qerr *e)
{
        return e && e->msg ? e->msg : "unknown error";
}
