/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>

#include "api/pod.h"
#include "manifest/decode.h"

/* Validation of what a node needs, after defaults and the static-pod name suffix. Errors are
 * added to the context. */
void validate_pod(struct dctx *c, const struct pod *p);

bool is_dns1123_label(const char *s);
bool is_dns1123_subdomain(const char *s);
bool is_valid_pod_uid(const char *s);
bool is_iana_svc_name(const char *s);
