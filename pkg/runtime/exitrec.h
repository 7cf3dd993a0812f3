/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "basic/error.h"

/* What the shim records when a container ends, one file per run:
 * <pod run dir>/exits/<container>.<attempt>, so the node learns exit codes across its own
 * restarts. */
struct exit_record {
        pid_t pid;
        int exit_code; /* the status, or 128 + signal */
        int signal; /* 0 when it exited */
        bool oom_killed;
        struct timespec started_at, finished_at; /* CLOCK_REALTIME */
};

/* "Completed", "Error" or "OOMKilled", as containerd reports the reason. */
const char *exit_record_reason(const struct exit_record *r);

/* Fills exit_code and signal from a wait status. */
void exit_record_set_status(struct exit_record *r, int wait_status);

/* The text of a record ("key value" lines); caller frees. */
char *exit_record_format(const struct exit_record *r);
int exit_record_parse(const char *text, struct exit_record *ret, struct qerr **err);

/* dir/<name>.<attempt>, written atomically; and read back. */
int exit_record_write(const char *dir, const char *name, unsigned attempt,
                      const struct exit_record *r, struct qerr **err);
int exit_record_read(const char *dir, const char *name, unsigned attempt, struct exit_record *ret,
                     struct qerr **err);
