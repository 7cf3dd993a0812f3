/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "image/store.h"

/* Test images built in memory with libarchive, so that every test makes its own inputs. */
enum test_entry_type {
        TE_FILE,
        TE_DIR,
        TE_SYMLINK,
        TE_HARDLINK,
        TE_CHAR,
        TE_FIFO,
};

struct test_tar_entry {
        enum test_entry_type type;
        const char *path;
        const char *data; /* file content, or the target of a link */
        unsigned mode; /* permission bits; 0 picks 0644 (files) or 0755 (dirs) */
        unsigned uid, gid;
        const char *src_file; /* a host file whose bytes are the content */
        const char *xattr_name, *xattr_value;
        size_t xattr_len; /* 0: strlen(xattr_value) */
        unsigned rdev_major, rdev_minor;
};

/* compression: 0 (none), 'g' (gzip) or 'z' (zstd). Returns 0 or a negative errno. */
int test_tar_build(const struct test_tar_entry *e, size_t n, char compression, void **ret,
                   size_t *ret_len);

struct test_layer {
        const struct test_tar_entry *entries;
        size_t n;
        char compression;
};

/* Stores layers, a config (with "config": config_json when not NULL) and an OCI manifest,
 * and tags it as ref. */
int test_image_create(const struct image_store *s, const char *ref, const struct test_layer *l,
                      size_t n, const char *config_json, char **ret_manifest_digest);

/* A fresh directory /tmp/qoslet-test-XXXXXX. */
char *test_tmpdir(void);
void test_rmdir(const char *path);
int test_write_file(const char *path, const void *buf, size_t n);
/* Runs a shell command; returns its exit status (or -1). */
int test_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool test_have_program(const char *name);

/* A real registry (Debian's docker-registry, distribution 2.8) on 127.0.0.1 and a free port,
 * storage in a temporary directory. With a user: htpasswd basic auth, or with token, bearer
 * tokens from tests/helpers/token-server.py (which takes the user's basic credentials). With
 * tls: HTTPS with a fresh self-signed certificate for 127.0.0.1 (ca_file). The processes die
 * with the test process (PR_SET_PDEATHSIG) even when the test crashes. */
struct test_registry_opts {
        const char *user, *password;
        bool token;
        bool tls;
};

struct test_registry {
        int pid, token_pid;
        int port, token_port;
        char *dir;
        char addr[32]; /* 127.0.0.1:port */
        char *ca_file;
};
int test_registry_start(struct test_registry *r, const struct test_registry_opts *o);
void test_registry_stop(struct test_registry *r);
