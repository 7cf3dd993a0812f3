/* SPDX-License-Identifier: Apache-2.0 */
#include <net/if.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "ns/sandbox.h"

int loopback_up(struct qerr **err)
{
        _cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (s < 0)
                return qerr_set_errno(err, errno, "open socket for 'lo'");
        struct ifreq ifr = { 0 };
        strcpy(ifr.ifr_name, "lo");
        if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
                return qerr_set_errno(err, errno, "read flags of 'lo'");
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
                return qerr_set_errno(err, errno, "bring 'lo' up");
        return 0;
}

int sandbox_enter(const struct sandbox_config *c, struct qerr **err)
{
        int flags = (c->host_network ? 0 : CLONE_NEWNET | CLONE_NEWUTS) |
                    (c->host_ipc ? 0 : CLONE_NEWIPC);
        if (flags && unshare(flags) < 0)
                return qerr_set_errno(err, errno, "create pod namespaces");
        if (c->host_network)
                return 0;
        if (c->hostname && sethostname(c->hostname, strlen(c->hostname)) < 0)
                return qerr_set_errno(err, errno, "set hostname '%s'", c->hostname);
        return loopback_up(err);
}

int pod_shm_mount(const char *dir, uint64_t size, struct qerr **err)
{
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return qerr_set_errno(err, errno, "create '%s'", dir);
        char opts[64];
        snprintf(opts, sizeof(opts), "mode=1777,size=%llu", (unsigned long long)size);
        if (mount("shm", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) < 0)
                return qerr_set_errno(err, errno, "mount pod shm on '%s'", dir);
        return 0;
}

int pod_shm_umount(const char *dir, struct qerr **err)
{
        if (umount2(dir, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
                return qerr_set_errno(err, errno, "unmount '%s'", dir);
        if (rmdir(dir) < 0 && errno != ENOENT)
                return qerr_set_errno(err, errno, "remove '%s'", dir);
        return 0;
}
