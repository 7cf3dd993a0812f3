/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/quantity.h"

/* The pod model: what a node reads from a Pod spec. Every string is owned by the struct that
 * holds it and freed by pod_free(). Arrays are (pointer, count) pairs. Optional scalars carry
 * a `has_` flag. `pos` fields give the 1-based line and column of the entry in its source (0
 * when the pod did not come from a file), so validation can name where a bad value is. */

struct api_pos {
        unsigned line, column;
};

struct kv {
        char *key;
        char *value;
        struct api_pos pos;
};

struct resource_entry {
        char *name; /* cpu, memory, ephemeral-storage, hugepages-2Mi, pids, example.com/x */
        struct quantity value;
        char *text; /* as written */
        struct api_pos pos;
};

struct resource_list {
        struct resource_entry *items;
        size_t n;
};

struct resources {
        bool present; /* the manifest had a `resources` mapping */
        struct resource_list requests, limits;
};

enum pull_policy {
        PULL_POLICY_UNSET,
        PULL_POLICY_ALWAYS,
        PULL_POLICY_IF_NOT_PRESENT,
        PULL_POLICY_NEVER,
};

enum restart_policy {
        RESTART_POLICY_UNSET,
        RESTART_POLICY_ALWAYS,
        RESTART_POLICY_ON_FAILURE,
        RESTART_POLICY_NEVER,
};

/* IntOrString: a port number or a port name. */
struct int_or_string {
        bool set;
        bool is_string;
        int64_t num;
        char *str;
        struct api_pos pos;
};

struct container_port {
        char *name;
        int64_t container_port;
        int64_t host_port; /* 0: unset */
        char *host_ip;
        char *protocol; /* TCP (default), UDP, SCTP */
        struct api_pos pos;
};

enum env_source_kind {
        ENV_SOURCE_NONE,
        ENV_SOURCE_FIELD_REF,
        ENV_SOURCE_RESOURCE_FIELD_REF,
        ENV_SOURCE_SECRET_KEY_REF,
        ENV_SOURCE_CONFIG_MAP_KEY_REF,
};

struct env_var {
        char *name;
        char *value;
        bool has_value;
        enum env_source_kind source;
        char *source_ref; /* fieldPath, resource, or "<name>/<key>" of a secret or config map */
        struct api_pos pos;
};

struct env_from {
        char *prefix;
        bool is_secret; /* else a config map */
        char *name;
        struct api_pos pos;
};

struct exec_action {
        char **command; /* NULL-terminated */
};

struct http_header {
        char *name;
        char *value;
};

enum handler_kind {
        HANDLER_NONE,
        HANDLER_EXEC,
        HANDLER_HTTP_GET,
        HANDLER_TCP_SOCKET,
        HANDLER_GRPC,
        HANDLER_SLEEP,
};

struct handler {
        enum handler_kind kind;
        struct exec_action exec;
        char *http_path;
        char *http_host;
        char *http_scheme;
        struct http_header *http_headers;
        size_t n_http_headers;
        struct int_or_string port; /* httpGet, tcpSocket, grpc */
        char *tcp_host;
        char *grpc_service;
        int64_t sleep_seconds;
        struct api_pos pos;
};

struct probe {
        bool present;
        struct handler handler;
        int64_t initial_delay_seconds; /* default 0 */
        int64_t timeout_seconds; /* default 1 */
        int64_t period_seconds; /* default 10 */
        int64_t success_threshold; /* default 1 */
        int64_t failure_threshold; /* default 3 */
        bool has_termination_grace_period_seconds;
        int64_t termination_grace_period_seconds;
        struct api_pos pos;
};

struct lifecycle {
        struct handler post_start;
        struct handler pre_stop;
        char *stop_signal;
};

struct capabilities {
        char **add; /* NULL-terminated, as written (with or without CAP_) */
        char **drop; /* NULL-terminated */
};

enum seccomp_kind {
        SECCOMP_UNSET,
        SECCOMP_RUNTIME_DEFAULT,
        SECCOMP_UNCONFINED,
        SECCOMP_LOCALHOST,
};

struct seccomp_profile {
        enum seccomp_kind type;
        char *localhost_profile;
        struct api_pos pos;
};

struct sysctl {
        char *name;
        char *value;
        struct api_pos pos;
};

/* Fields shared by the pod-level and the container-level securityContext. */
struct security_context {
        bool present;
        bool has_run_as_user, has_run_as_group, has_run_as_non_root;
        int64_t run_as_user, run_as_group;
        bool run_as_non_root;
        struct seccomp_profile seccomp;
        /* container only */
        bool has_privileged, has_allow_privilege_escalation, has_read_only_root_filesystem;
        bool privileged, allow_privilege_escalation, read_only_root_filesystem;
        struct capabilities capabilities;
        char *proc_mount;
        /* pod only */
        int64_t *supplemental_groups;
        size_t n_supplemental_groups;
        bool has_fs_group;
        int64_t fs_group;
        struct sysctl *sysctls;
        size_t n_sysctls;
        struct api_pos pos;
};

struct volume_mount {
        char *name;
        char *mount_path;
        char *sub_path;
        bool read_only;
        char *mount_propagation;
        struct api_pos pos;
};

enum volume_kind {
        VOLUME_UNSUPPORTED, /* a kind qoslet does not implement; see `kind_name` */
        VOLUME_EMPTY_DIR,
        VOLUME_HOST_PATH,
        VOLUME_SECRET,
        VOLUME_CONFIG_MAP,
        VOLUME_PROJECTED,
        VOLUME_DOWNWARD_API,
        VOLUME_PVC,
        VOLUME_CSI,
        VOLUME_EPHEMERAL,
};

struct volume {
        char *name;
        enum volume_kind kind;
        char *kind_name; /* the field name, e.g. "hostPath" */
        /* emptyDir */
        char *medium; /* "" or "Memory" */
        bool has_size_limit;
        struct quantity size_limit;
        /* hostPath */
        char *host_path;
        char *host_path_type; /* "", DirectoryOrCreate, Directory, FileOrCreate, File, ... */
        /* references to API objects (secret, configMap, projected, PVC, ...) */
        char **refs; /* NULL-terminated descriptions, e.g. "secret \"s\"" */
        struct api_pos pos;
};

struct container {
        char *name;
        char *image;
        enum pull_policy image_pull_policy;
        char **command; /* NULL-terminated; NULL when unset */
        char **args; /* NULL-terminated; NULL when unset */
        char *working_dir;
        struct env_var *env;
        size_t n_env;
        struct env_from *env_from;
        size_t n_env_from;
        struct container_port *ports;
        size_t n_ports;
        struct resources resources;
        struct volume_mount *volume_mounts;
        size_t n_volume_mounts;
        struct probe liveness, readiness, startup;
        struct lifecycle lifecycle;
        struct security_context security;
        enum restart_policy restart_policy; /* init containers: Always makes a sidecar */
        bool stdin_open, tty;
        char *termination_message_path;
        struct api_pos pos;
};

struct host_alias {
        char *ip;
        char **hostnames;
};

struct pod_spec {
        struct container *containers;
        size_t n_containers;
        struct container *init_containers;
        size_t n_init_containers;
        struct volume *volumes;
        size_t n_volumes;
        struct resources resources; /* pod-level resources (PodLevelResources) */
        enum restart_policy restart_policy;
        bool has_termination_grace_period_seconds;
        int64_t termination_grace_period_seconds;
        bool has_active_deadline_seconds;
        int64_t active_deadline_seconds;
        bool host_network, host_pid, host_ipc, share_process_namespace;
        char *hostname;
        char *subdomain;
        char *node_name;
        char *priority_class_name;
        bool has_priority;
        int64_t priority;
        char *service_account_name;
        char *dns_policy;
        struct host_alias *host_aliases;
        size_t n_host_aliases;
        struct security_context security;
        char **image_pull_secrets; /* NULL-terminated names */
};

struct pod_metadata {
        char *name;
        char *namespace;
        char *uid;
        struct kv *labels;
        size_t n_labels;
        struct kv *annotations;
        size_t n_annotations;
        struct api_pos pos;
};

struct pod {
        struct pod_metadata metadata;
        struct pod_spec spec;
        /* where the pod came from */
        char *source; /* realpath of the file, a URL or "stdin" */
        char *config_hash; /* the UID when computed from content */
        unsigned doc_index; /* document index in the stream */
        unsigned item_index;
};

void pod_free(struct pod *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct pod *, pod_free)
#define _cleanup_pod_ _cleanup_(pod_freep)

/* Looks a resource up by name; NULL when absent. */
const struct resource_entry *resource_list_find(const struct resource_list *l, const char *name);

static inline bool container_is_sidecar(const struct container *c)
{
        return c->restart_policy == RESTART_POLICY_ALWAYS;
}

/* Init containers, then regular ones: index i of pod_spec_n_containers(s). */
static inline size_t pod_spec_n_containers(const struct pod_spec *s)
{
        return s->n_init_containers + s->n_containers;
}

static inline const struct container *pod_spec_container(const struct pod_spec *s, size_t i)
{
        return i < s->n_init_containers ? &s->init_containers[i]
                                        : &s->containers[i - s->n_init_containers];
}

const char *restart_policy_to_string(enum restart_policy p);
const char *pull_policy_to_string(enum pull_policy p);
