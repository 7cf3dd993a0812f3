/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "basic/macro.h"
#include "ns/paths.h"
#include "qoslet.h"

/* The holder's pid as it wrote it, for the message; "unknown" when it wrote none. */
static void holder_pid(int fd, char *buf, size_t size)
{
        ssize_t n = pread(fd, buf, size - 1, 0);
        buf[n > 0 ? n : 0] = 0;
        buf[strcspn(buf, "\n")] = 0;
        if (!buf[0])
                snprintf(buf, size, "unknown");
}

int root_lock_take(const char *root_dir, bool create, int *ret_fd, struct qerr **err)
{
        _cleanup_free_ char *p = path_join(root_dir, "qoslet.lock");
        if (!p)
                return qerr_set(err, ENOMEM, "lock root dir '%s'", root_dir);
        int flags = O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0);
        _cleanup_close_ int fd = open(p, flags, 0600);
        if (fd < 0 && errno == ENOENT && !create) {
                *ret_fd = -1;
                return 0;
        }
        if (fd < 0)
                return qerr_set_errno(err, errno, "open lock file '%s'", p);
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno != EWOULDBLOCK)
                        return qerr_set_errno(err, errno, "lock '%s'", p);
                char pid[32];
                holder_pid(fd, pid, sizeof(pid));
                return qerr_set(err, EBUSY,
                                "root dir '%s' is in use by a qoslet daemon or another 'qoslet "
                                "run' (pid %s holds '%s'): only one daemon or 'qoslet run' may "
                                "use a root dir; stop it or pass another --root-dir",
                                root_dir, pid, p);
        }
        /* the pid is only for the message above: a failure to write it changes nothing */
        char pid[32];
        int len = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
        if (ftruncate(fd, 0) == 0)
                (void)!pwrite(fd, pid, (size_t)len, 0);
        *ret_fd = TAKE_FD(fd);
        return 0;
}
