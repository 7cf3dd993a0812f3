/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "basic/error.h"

/* The config file: YAML with KubeletConfiguration's keys where they exist, plus qoslet's own
 * (rootDir, runDir, insecureRegistries). qoslet, `qoslet run` and `qosctl plan` read the same
 * file; flags override it. Unset strings are NULL, unset numbers -1. */
struct reservation {
        int64_t cpu_milli; /* -1: unset */
        int64_t memory;
        int64_t pids;
};

struct qoslet_config {
        char *static_pod_path;
        char *static_pod_url;
        char **static_pod_url_headers; /* "Key: value", NULL-terminated */
        char *cgroup_driver;
        char *cgroup_root;
        int64_t pod_pids_limit;
        struct reservation system_reserved, kube_reserved;
        char **eviction_hard; /* "memory.available<100Mi", NULL-terminated */
        char *container_log_max_size;
        int64_t container_log_max_files;
        int64_t read_only_port;
        int64_t file_check_frequency_s;
        int64_t http_check_frequency_s;
        char *root_dir;
        char *run_dir;
        char *node_name;
        char **insecure_registries;
};

void config_init(struct qoslet_config *c);
void config_done(struct qoslet_config *c);

/* Reads a config file into c (on top of what it holds). Unknown keys are reported through
 * ret_warnings (NULL-terminated "file:line:col: key: unknown field" strings) when not NULL. */
int config_load(struct qoslet_config *c, const char *path, char ***ret_warnings, struct qerr **err);

/* "cpu=500m,memory=1Gi,pid=1000" as --system-reserved takes it. */
int config_parse_reservation(const char *s, struct reservation *ret, struct qerr **err);

/* "10s", "1m30s", "20" (seconds) to seconds. */
int config_parse_duration(const char *s, int64_t *ret_seconds, struct qerr **err);
