/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "basic/macro.h"

/* Levels with meaning: error = a failure propagated to the top, warning = we go on,
 * info = a state change, debug = the rest. Library code logs at debug at most. */
enum log_level {
        LOG_LEVEL_ERROR,
        LOG_LEVEL_WARNING,
        LOG_LEVEL_NOTICE,
        LOG_LEVEL_INFO,
        LOG_LEVEL_DEBUG,
};

void log_set_max_level(enum log_level l);
enum log_level log_get_max_level(void);
void log_set_prefix(const char *prefix);
void log_msg(enum log_level l, const char *fmt, ...) _printf_(2, 3);

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LEVEL_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)                                         \
        do {                                                   \
                if (log_get_max_level() >= LOG_LEVEL_DEBUG)    \
                        log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__); \
        } while (0)
