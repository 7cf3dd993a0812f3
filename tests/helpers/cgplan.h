/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "cgroups/cgroups.h"

/* The cgroup tests take their values from the plan as `qosctl plan -o json` prints it (the
 * program built beside the test binary), so that what a driver writes is checked against what
 * the user is shown, file for file and string for string. */

struct cgplan_cgroup {
        char *name; /* pod or container name; "kubepods", "burstable", "besteffort" */
        char *fs, *sd; /* cgroupfs and systemd paths, the cgroup root included */
        struct cg_values v2, v1;
};

struct cgplan_pod {
        struct cgplan_cgroup cg;
        char *uid, *qos; /* "Guaranteed", "Burstable", "BestEffort" */
        struct cgplan_cgroup *containers; /* cg_container_paths(), id "<pod uid>-<name>" */
        size_t n_containers;
};

struct cgplan {
        struct cgplan_pod *pods;
        size_t n_pods;
        struct cgplan_cgroup kubepods, burstable, besteffort;
};

/* Runs `qosctl plan -o json --node-name cgtest --cgroup-root ROOT --cgroup-driver DRIVER
 * EXTRA FILES...` and reads what it prints. extra: more flags (trusted text), or NULL. */
int cgplan_run(const char *root, const char *driver, const char *extra, char *const *files,
               struct cgplan *ret, struct qerr **err);
void cgplan_done(struct cgplan *p);

const struct cgplan_pod *cgplan_find_pod(const struct cgplan *p, const char *uid);

/* Writes text to dir/name; returns the path (caller frees) or NULL. */
char *cgplan_write_file(const char *dir, const char *name, const char *text);

/* The value set of the manager's mode. */
const struct cg_values *cgplan_values(const struct cg_manager *m, const struct cgplan_cgroup *c);

/* Reads back every file the plan names for the cgroup and compares it with the plan's string.
 * A file of a controller the host lacks is not read but counted in *n_lacking. -EBADMSG (with
 * the file, the cgroup, what it holds and what the plan says) on the first difference. */
int cgplan_check(struct cg_manager *m, const struct cgplan_cgroup *c, size_t *n_checked,
                 size_t *n_lacking, struct qerr **err);

/* Does this host lack the controller of a cgroup file (v2 name, or v1 "controller/file")? */
bool cgplan_host_lacks(const struct cg_manager *m, const char *name);
