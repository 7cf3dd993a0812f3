/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "basic/error.h"
#include "ns/rootfs.h"
#include "security/security.h"

/* A container as the shim starts it: everything resolved (paths on the host, the final
 * command line and environment, cgroup files), so the shim needs no pod model and no YAML.
 * Written by the node as a text file, one "key value" per line; values escape '\\', space,
 * and control characters, so any argv or env entry survives. */
struct cspec {
        char *name;
        unsigned attempt; /* restart count: names the log file and the exit record */
        char *rootfs;
        bool read_only_rootfs;
        char **argv;
        char **env;
        char *cwd;
        struct ns_mount *mounts;
        size_t n_mounts;
        char *shm; /* NULL: a private tmpfs */
        char *cgroup_v2; /* a cgroup2 directory for CLONE_INTO_CGROUP */
        char **cgroup_procs; /* cgroup v1: cgroup.procs files that get the pid */
        char *oom_events; /* memory.events (v2) or memory.oom_control (v1): "oom_kill N" */
        bool has_oom_score_adj;
        int oom_score_adj;
        char *log_path;
        uint64_t log_max_size;
        unsigned log_max_files;
        int stop_signal; /* 0: SIGTERM */
        char **pre_stop; /* exec hook command; NULL: none */
        struct sec_plan *sec; /* "sec-" lines; NULL: the shim's own privileges */
        char *seccomp_filter; /* a compiled filter (sec_filter_write_file); NULL: none */
};

void cspec_done(struct cspec *s);

/* Writes the spec in its text form. */
int cspec_write(const struct cspec *s, FILE *f, struct qerr **err);
int cspec_write_file(const struct cspec *s, const char *path, struct qerr **err);

/* Parses the text form. Unknown keys are errors: shim and node come from one build. */
int cspec_parse(const char *text, struct cspec *ret, struct qerr **err);
int cspec_read_file(const char *path, struct cspec *ret, struct qerr **err);

/* Escapes one value for the text form; caller frees. */
char *cspec_escape(const char *s);
