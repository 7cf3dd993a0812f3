/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/error.h"

/* Shared between the files of pkg/security only. */

/* The user a container runs as, before supplementary groups from the pod are added. */
struct sec_user {
        uint32_t uid, gid;
        uint32_t *groups; /* from the image's /etc/group, by membership */
        size_t n_groups;
};

/* Resolves the user the way containerd does: run_as_user (when has_uid) or else the image's
 * User string, /etc/passwd and /etc/group read inside rootfs (may be NULL), then run_as_group
 * (when has_gid). */
int sec_resolve_user(const char *rootfs, const char *image_user, bool has_uid, int64_t uid,
                     bool has_gid, int64_t gid, struct sec_user *ret, struct qerr **err);

/* Parses a decimal id in 0..2^31-1. */
int sec_parse_id(const char *s, uint32_t *ret);

/* Appends id to a list unless it is there already. */
int sec_ids_add(uint32_t **ids, size_t *n, uint32_t id);

/* Escaping of the container spec's text form. */
char *sec_escape(const char *s);
char *sec_unescape(const char *s, size_t n);
