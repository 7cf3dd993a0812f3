/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>

#include "security/security.h"

/* Indexed by capability number (linux/capability.h). */
static const char *const cap_names[SEC_CAP_LAST_KNOWN + 1] = {
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_DAC_READ_SEARCH",
        "CAP_FOWNER",
        "CAP_FSETID",
        "CAP_KILL",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETPCAP",
        "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN",
        "CAP_NET_RAW",
        "CAP_IPC_LOCK",
        "CAP_IPC_OWNER",
        "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO",
        "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN",
        "CAP_SYS_BOOT",
        "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG",
        "CAP_MKNOD",
        "CAP_LEASE",
        "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE",
        "CAP_MAC_ADMIN",
        "CAP_SYSLOG",
        "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ",
        "CAP_PERFMON",
        "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
};

int sec_cap_from_name(const char *name)
{
        const char *bare = strncasecmp(name, "CAP_", 4) == 0 ? name + 4 : name;
        if (!*bare)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(cap_names); i++)
                if (strcasecmp(cap_names[i] + 4, bare) == 0)
                        return (int)i;
        return -EINVAL;
}

const char *sec_cap_to_name(int cap)
{
        return cap >= 0 && cap <= SEC_CAP_LAST_KNOWN ? cap_names[cap] : NULL;
}

int sec_own_bounding_set(uint64_t *ret, struct qerr **err)
{
        uint64_t set = 0;
        for (int cap = 0; cap < 64; cap++) {
                int r = prctl(PR_CAPBSET_READ, (unsigned long)cap, 0, 0, 0);
                if (r < 0 && errno == EINVAL)
                        break; /* past the kernel's last capability */
                if (r < 0)
                        return qerr_set_errno(err, errno, "read capability bounding set");
                if (r > 0)
                        set |= UINT64_C(1) << cap;
        }
        *ret = set;
        return 0;
}
