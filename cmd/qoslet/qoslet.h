/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>

#include "basic/error.h"

/* `qoslet run POD.yaml`: runs one pod in the foreground until it ends or is interrupted,
 * then tears it down. */
int qoslet_run(int argc, char **argv);

/* `qoslet reset`: stops the pods qoslet left running and removes their cgroups (the kubepods
 * tree), mounts and state; says what it removed. */
int qoslet_reset(int argc, char **argv);

/* The node daemon: flags and config, lock, sources, node, HTTP server, sd-event loop. */
int qoslet_daemon(int argc, char **argv);

/* Takes the root dir's lock file (qoslet.lock): one daemon or `qoslet run` per root dir; the
 * kernel drops it when the process exits. Without create, a missing lock file means nobody
 * holds it: *ret_fd is then -1. */
int root_lock_take(const char *root_dir, bool create, int *ret_fd, struct qerr **err);
