/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/pod.h"
#include "basic/error.h"
#include "basic/strbuf.h"

/* A container's security settings, resolved from the pod model into what the kernel takes:
 * capability masks, ids, a seccomp choice, paths to hide. No pod model inside, so the shim can
 * read it from a text file and apply it in the container's child process. */

/* containerd's capabilities for a container that is not privileged: CHOWN, DAC_OVERRIDE,
 * FOWNER, FSETID, KILL, SETGID, SETUID, SETPCAP, NET_BIND_SERVICE, NET_RAW, SYS_CHROOT, MKNOD,
 * AUDIT_WRITE, SETFCAP. */
#define SEC_DEFAULT_CAPS UINT64_C(0x00000000a80425fb)

/* The highest capability number qoslet knows by name (CAP_CHECKPOINT_RESTORE). */
#define SEC_CAP_LAST_KNOWN 40

enum sec_seccomp {
        SEC_SECCOMP_UNCONFINED,
        SEC_SECCOMP_RUNTIME_DEFAULT,
        SEC_SECCOMP_LOCALHOST,
        _SEC_SECCOMP_MAX,
        _SEC_SECCOMP_INVALID = -EINVAL,
};

struct sec_sysctl {
        char *name; /* dot form: net.ipv4.ip_local_port_range */
        char *value;
};

struct sec_plan {
        bool privileged;
        uint64_t cap_bounding, cap_permitted, cap_effective, cap_inheritable, cap_ambient;
        /* Capabilities the pod asked for that qoslet itself does not hold: left out of the sets
         * above, so that the caller can warn. */
        uint64_t cap_unavailable;
        bool no_new_privs;
        enum sec_seccomp seccomp;
        char *seccomp_profile; /* SEC_SECCOMP_LOCALHOST: relative to the profile directory */
        char **masked_paths; /* NULL-terminated; NULL for none */
        char **readonly_paths;
        bool read_only_rootfs;
        uint32_t uid, gid;
        uint32_t *groups; /* supplementary groups, the primary group first */
        size_t n_groups;
        struct sec_sysctl *sysctls;
        size_t n_sysctls;
};

void sec_plan_done(struct sec_plan *p);
#define _cleanup_sec_plan_ _cleanup_(sec_plan_done)

/* What the image says about its user. */
struct sec_image_user {
        const char *user; /* the image config's User: "", "uid", "name", "uid:gid", "name:group" */
        const char *rootfs; /* the image's root filesystem, for /etc/passwd and /etc/group;
                             * NULL: no lookups, so a user name cannot be resolved */
};

/* Resolves the container's security settings the way the kubelet and containerd do. Fails with
 * the kubelet's CreateContainerConfigError message for a runAsNonRoot violation, and with a
 * clear message for an unknown capability, a forbidden sysctl or a user the image does not
 * know. own_bounding_set is qoslet's own (sec_own_bounding_set()). */
int sec_plan_for_container(const struct pod *pod, const struct container *c,
                           const struct sec_image_user *img, uint64_t own_bounding_set,
                           struct sec_plan *ret, struct qerr **err);

/* Capability number from a name, with or without "CAP_", any case; -EINVAL when unknown. */
int sec_cap_from_name(const char *name);
/* "CAP_CHOWN"; NULL for a number qoslet has no name for. */
const char *sec_cap_to_name(int cap);
/* The calling process's capability bounding set. */
int sec_own_bounding_set(uint64_t *ret, struct qerr **err);

/* True for the sysctls the kubelet lets any pod set (dot or slash form). */
bool sec_sysctl_is_safe(const char *name);
/* Turns a sysctl name in slash form (net/ipv4/conf/eth0.1/rp_filter) into dot form
 * (net.ipv4.conf.eth0/1.rp_filter); a dot form comes back as it is. Caller frees. */
char *sec_sysctl_normalize(const char *name);

/* The text form: "key value" lines with keys that all start with "sec-", values escaped as in
 * a container spec (\\ \s \n \xHH), so the lines can sit inside one. format appends to sb
 * (check sb->oom). parse_line returns -ENOENT for a key that is not a sec- key, -EINVAL for a
 * bad value. */
void sec_plan_format(const struct sec_plan *p, struct strbuf *sb);
int sec_plan_parse_line(struct sec_plan *p, const char *key, const char *value);
int sec_plan_parse(const char *text, struct sec_plan *ret, struct qerr **err);

/* A compiled seccomp program: classic BPF, ready for seccomp(2). */
struct sec_filter {
        struct sock_filter *insns;
        size_t n;
};

void sec_filter_free(struct sec_filter *f);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct sec_filter *, sec_filter_free)
#define _cleanup_sec_filter_ _cleanup_(sec_filter_freep)

/* Compiles the plan's seccomp profile (RuntimeDefault: the built-in profile; Localhost: the
 * file under profile_dir, which the path may not leave) for the plan's capabilities. Sets
 * *ret to NULL for Unconfined. Run it before the container's child gives up the host's
 * filesystem: the profile file and the libraries are read here, not in the child. */
int sec_seccomp_compile(const struct sec_plan *p, const char *profile_dir, struct sec_filter **ret,
                        struct qerr **err);

/* Compiled filters by profile text and capabilities. libseccomp takes about 30 ms to build the
 * default profile for three architectures, and most containers share one profile and one
 * capability set: a daemon keeps one cache for all its pods. Not thread-safe. */
struct sec_filter_cache;
struct sec_filter_cache *sec_filter_cache_new(void);
void sec_filter_cache_free(struct sec_filter_cache *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct sec_filter_cache *, sec_filter_cache_free)
/* sec_seccomp_compile() through a cache (NULL: none); *ret is the caller's own copy. */
int sec_seccomp_compile_cached(struct sec_filter_cache *cache, const struct sec_plan *p,
                               const char *profile_dir, struct sec_filter **ret, struct qerr **err);

/* Raw BPF on disk, so that a program can load a filter another one compiled: the static shim
 * needs only libcap (sec_plan_parse, sec_filter_read_file and the three calls below), not
 * libseccomp or jansson. */
int sec_filter_write_file(const struct sec_filter *f, const char *path, struct qerr **err);
int sec_filter_read_file(const char *path, struct sec_filter **ret, struct qerr **err);

/* In the container's child, in this order, once /proc is mounted in its mount namespace:
 *   1. sec_apply_sysctls(): writes the sysctls under <proc>/sys (the pod's net and ipc
 *      namespaces must be joined already).
 *   2. sec_mask_paths(): hides the masked paths and makes the read-only ones read-only, under
 *      root ("/" after pivot_root, or the rootfs before it).
 *   3. sec_apply_in_child(): ids, capabilities, no_new_privs and the seccomp filter, just
 *      before execve(). */
int sec_apply_sysctls(const struct sec_plan *p, const char *proc, struct qerr **err);
int sec_mask_paths(const struct sec_plan *p, const char *root, struct qerr **err);
int sec_apply_in_child(const struct sec_plan *p, const struct sec_filter *filter,
                       struct qerr **err);
