/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>

#include "api/pod.h"
#include "basic/error.h"

/* The kubelet's managed /etc/hosts for a pod with its own network namespace: the header, the
 * localhost lines, "<ip>\t<hostname>", then the pod's hostAliases. Caller frees; NULL on
 * allocation failure. */
char *hosts_file_content(const char *ip, const char *hostname, const struct host_alias *aliases,
                         size_t n_aliases);

/* A hostNetwork pod's /etc/hosts: the node's file as it is, then the hostAliases block. */
char *host_network_hosts_content(const char *node_hosts, const struct host_alias *aliases,
                                 size_t n_aliases);

/* The files a pod's containers get as /etc/hosts, /etc/hostname and /etc/resolv.conf. */
struct pod_etc_files {
        const char *hosts; /* file contents */
        const char *hostname; /* without newline */
        const char *resolv_conf_source; /* a file to copy, usually /etc/resolv.conf */
};

/* Writes "hosts", "hostname" and "resolv.conf" into dir, which must exist. */
int pod_etc_files_write(const char *dir, const struct pod_etc_files *f, struct qerr **err);
