/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>

#include "api/pod.h"

/* Builds pods by hand for unit tests, filling quantities directly so the tests do not depend
 * on the quantity parser. Every value argument is an integer; POD_BUILDER_UNSET (-1) leaves
 * the entry out. cpu values are millicores, memory values bytes. Allocation failures abort
 * the test binary. */

#define POD_BUILDER_UNSET (-1)

struct pod *pod_builder_new(const char *name, const char *uid);

struct container *pod_builder_add_container(struct pod *p, const char *name, int64_t cpu_req_milli,
                                            int64_t mem_req, int64_t cpu_lim_milli,
                                            int64_t mem_lim);
/* An init container; a sidecar when `sidecar` (restartPolicy Always). */
struct container *pod_builder_add_init_container(struct pod *p, const char *name, bool sidecar,
                                                 int64_t cpu_req_milli, int64_t mem_req,
                                                 int64_t cpu_lim_milli, int64_t mem_lim);
/* Pod-level spec.resources. */
void pod_builder_set_pod_resources(struct pod *p, int64_t cpu_req_milli, int64_t mem_req,
                                   int64_t cpu_lim_milli, int64_t mem_lim);

/* Adds (or replaces) one entry of any name; the amount is in nanos. */
void pod_builder_set(struct resources *r, bool limit, const char *name, __int128 nanos);

/* What the manifest decoder does: copies each limit into requests where no request exists. */
void pod_builder_default(struct pod *p);

void pod_builder_set_priority_class(struct pod *p, const char *class_name, int64_t priority);
