/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/error.h"
#include "security/security.h"

/* A seccomp profile in the OCI / docker JSON format, parsed but not yet bound to a container:
 * the rules keep their conditions (capabilities, architectures, kernel version) until
 * sec_profile_compile() picks the ones that apply. */

enum sec_action {
        SEC_ACT_KILL_THREAD,
        SEC_ACT_KILL_PROCESS,
        SEC_ACT_TRAP,
        SEC_ACT_ERRNO,
        SEC_ACT_TRACE,
        SEC_ACT_ALLOW,
        SEC_ACT_LOG,
        _SEC_ACT_MAX,
        _SEC_ACT_INVALID = -EINVAL,
};

struct sec_arg {
        unsigned index;
        uint64_t value, value_two;
        int op; /* enum scmp_compare */
};

struct sec_rule {
        char **names;
        enum sec_action action;
        int errno_ret; /* SEC_ACT_ERRNO and SEC_ACT_TRACE; -1: the profile's default */
        struct sec_arg *args;
        size_t n_args;
        uint64_t includes_caps, excludes_caps; /* all of includes, none of excludes */
        char **includes_arches, **excludes_arches; /* Go names: amd64, arm64 */
        unsigned min_kernel_major, min_kernel_minor; /* 0.0: any */
};

struct sec_profile {
        enum sec_action default_action;
        int default_errno;
        uint32_t *arches; /* SCMP_ARCH_* tokens; the native one first */
        size_t n_arches;
        struct sec_rule *rules;
        size_t n_rules;
};

void sec_profile_free(struct sec_profile *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct sec_profile *, sec_profile_free)
#define _cleanup_sec_profile_ _cleanup_(sec_profile_freep)

int sec_profile_parse(const char *json, size_t len, struct sec_profile **ret, struct qerr **err);

/* The built-in RuntimeDefault profile (pkg/security/seccomp-default.json, embedded at build
 * time). */
const char *sec_default_profile_json(size_t *ret_len);

/* True when the rule applies to a container with these capabilities on this machine. */
bool sec_rule_applies(const struct sec_rule *r, uint64_t caps);

/* The first applicable rule that names the syscall without argument conditions; NULL when the
 * default action decides it. */
const struct sec_rule *sec_profile_unconditional(const struct sec_profile *p, const char *name,
                                                 uint64_t caps);

int sec_profile_compile(const struct sec_profile *p, uint64_t caps, struct sec_filter **ret,
                        struct qerr **err);
