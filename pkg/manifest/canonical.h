/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>

#include "manifest/ytree.h"

/* The canonical form of a manifest item, hashed into its UID. Caller frees. */
char *manifest_canonical(const struct ynode *n, size_t *ret_len);
