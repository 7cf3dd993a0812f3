/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "basic/error.h"

/* qerr_wrap() that returns r itself, so the errno survives when the caller passed err ==
 * NULL (qerr_wrap() then has no code to return). */
#define qerr_wrap_r(r, err, ...)                           \
        ({                                                 \
                int _wr = (r);                             \
                if ((err) && *(err))                       \
                        (void)qerr_wrap(err, __VA_ARGS__); \
                _wr;                                       \
        })
