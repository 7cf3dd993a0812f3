/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "security/security.h"

/* The kubelet's safe set (pkg/kubelet/sysctl/safe_sysctls.go as of Kubernetes 1.32 and
 * later): namespaced in the pod's network or IPC namespace, and without effect on other pods.
 * The kubelet drops the newer ones on kernels older than 3.16 to 4.15; qoslet needs a newer
 * kernel than that anyway (clone3, openat2). */
static const char *const safe_sysctls[] = {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
        "net.ipv4.tcp_rmem",
        "net.ipv4.tcp_wmem",
};

char *sec_sysctl_normalize(const char *name)
{
        char *r = strdup(name);
        if (!r)
                return NULL;
        /* The kernel's convention: in slash form a '.' is part of a name (a VLAN interface
         * eth0.1), in dot form a '/' is. The first separator tells which form this is. */
        size_t first = strcspn(r, "./");
        if (r[first] != '/')
                return r;
        for (char *p = r; *p; p++)
                if (*p == '/')
                        *p = '.';
                else if (*p == '.')
                        *p = '/';
        return r;
}

bool sec_sysctl_is_safe(const char *name)
{
        _cleanup_free_ char *n = sec_sysctl_normalize(name);
        if (!n)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(safe_sysctls); i++)
                if (strcmp(n, safe_sysctls[i]) == 0)
                        return true;
        return false;
}
