/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* `qoslet run` end to end from root tests: the built qoslet binary on a manifest, with its
 * root, run and log dirs in a test directory. */
struct qrun {
        char *dir; /* the test's directory */
        char *root; /* dir/root: qoslet's root dir, which holds the image store */
        char *qoslet;
        const char *const *args; /* more `qoslet run` options (NULL-terminated, or NULL) */
};

/* Skips the test without root. */
void qrun_setup(struct qrun *q, const char *tag);
void qrun_teardown(struct qrun *q);

/* Writes dir/name; returns its path. */
char *qrun_manifest(struct qrun *q, const char *name, const char *body);

/* Runs `qoslet run` on the manifest to its end; returns its exit status, its stderr in
 * *ret_stderr. */
int qrun_run(struct qrun *q, const char *manifest, char **ret_stderr);

/* The same in the background: returns the pid; qrun_wait() reaps it and returns the status. */
int qrun_spawn(struct qrun *q, const char *manifest);
int qrun_wait(struct qrun *q, int pid, char **ret_stderr);

/* What the container wrote to stdout and stderr in that run, the CRI prefixes taken off;
 * NULL when there is no log. */
char *qrun_output(struct qrun *q, const char *container, unsigned attempt);

/* True when dir/sub is missing or empty. */
bool qrun_dir_empty(struct qrun *q, const char *sub);

/* True when a mount below dir is left in this mount namespace. */
bool qrun_mounts_left(struct qrun *q);

/* Puts an image into the store under dir/root: one layer with Debian's busybox-static as
 * /bin/busybox, a link per applet in /bin, the static build/tests/sec-probe as
 * /bin/sec-probe, /etc/passwd and /etc/group with root and "app" (1234:5678), and the image
 * config config_json ({"Entrypoint": [...], ...} or NULL). */
void qrun_busybox_image(struct qrun *q, const char *ref, const char *config_json);
/* The same into the store under root, with more layers on top (test_layer of
 * image-helpers.h). */
struct test_layer;
void qrun_busybox_image_in(const char *root, const char *ref, const char *config_json,
                           const struct test_layer *more, size_t n_more);

/* The value of a "Name:\t..." line of /proc/self/status text, up to the line's end. */
char *qrun_status_field(const char *text, const char *name);
