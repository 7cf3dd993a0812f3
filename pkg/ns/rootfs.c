/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "ns/mount.h"
#include "ns/rootfs.h"

static int mount_at(int dirfd, const char *path, const char *fstype, const char *const *options,
                    unsigned attrs, struct qerr **err)
{
        _cleanup_close_ int t = open_in_root(dirfd, path, IN_ROOT_DIR, err);
        if (t < 0)
                return t;
        int r = fs_mount_fd(fstype, options, attrs, t, err);
        return r < 0 ? qerr_wrap(err, "mount '%s' on '/%s'", fstype, path) : 0;
}

static int bind_at(int dirfd, const char *path, const char *source, bool read_only,
                   struct qerr **err)
{
        struct stat st;
        if (stat(source, &st) < 0)
                return qerr_set_errno(err, errno, "stat '%s'", source);
        _cleanup_close_ int t = open_in_root(dirfd, path,
                                             S_ISDIR(st.st_mode) ? IN_ROOT_DIR : IN_ROOT_FILE, err);
        if (t < 0)
                return t;
        int r = bind_mount_fd(source, t, read_only, err);
        return r < 0 ? qerr_wrap(err, "mount on '%s'", path) : 0;
}

static int make_device(int devfd, const char *name, unsigned major, unsigned minor,
                       struct qerr **err)
{
        if (mknodat(devfd, name, S_IFCHR | 0666, makedev(major, minor)) == 0)
                return fchmodat(devfd, name, 0666, 0) < 0
                               ? qerr_set_errno(err, errno, "chmod '/dev/%s'", name)
                               : 0;
        if (errno != EPERM)
                return qerr_set_errno(err, errno, "mknod '/dev/%s'", name);
        /* A devices cgroup that refuses mknod still lets a bind mount of the host's node in. */
        _cleanup_free_ char *host = NULL;
        if (asprintf(&host, "/dev/%s", name) < 0)
                return qerr_set(err, ENOMEM, "bind '/dev/%s'", name);
        return bind_at(devfd, name, host, false, err);
}

static int setup_dev(int rootfd, const char *shm, struct qerr **err)
{
        static const char *const dev_opts[] = { "mode=755", "size=65536k", NULL };
        static const char *const pts_opts[] = { "newinstance", "ptmxmode=0666", "mode=0620",
                                                "gid=5", NULL };
        static const char *const shm_opts[] = { "mode=1777", "size=65536k", NULL };
        static const struct {
                const char *name;
                unsigned major, minor;
        } devices[] = { { "null", 1, 3 },   { "zero", 1, 5 },    { "full", 1, 7 },
                        { "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 } };
        static const char *const links[][2] = { { "fd", "/proc/self/fd" },
                                                { "stdin", "/proc/self/fd/0" },
                                                { "stdout", "/proc/self/fd/1" },
                                                { "stderr", "/proc/self/fd/2" },
                                                { "ptmx", "pts/ptmx" } };
        int r = mount_at(rootfd, "dev", "tmpfs", dev_opts,
                         MOUNT_ATTR_NOSUID | MOUNT_ATTR_STRICTATIME, err);
        if (r < 0)
                return r;
        _cleanup_close_ int devfd = open_in_root(rootfd, "dev", IN_ROOT_NO_CREATE, err);
        if (devfd < 0)
                return devfd;
        for (size_t i = 0; i < ELEMENTSOF(devices); i++) {
                r = make_device(devfd, devices[i].name, devices[i].major, devices[i].minor, err);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(links); i++)
                if (symlinkat(links[i][1], devfd, links[i][0]) < 0)
                        return qerr_set_errno(err, errno, "symlink '/dev/%s'", links[i][0]);
        r = mount_at(devfd, "pts", "devpts", pts_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, err);
        if (r >= 0 && shm)
                r = bind_at(devfd, "shm", shm, false, err);
        else if (r >= 0)
                r = mount_at(devfd, "shm", "tmpfs", shm_opts,
                             MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, err);
        if (r >= 0)
                r = mount_at(devfd, "mqueue", "mqueue", NULL,
                             MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, err);
        return r;
}

static int pivot_into(int rootfd, bool read_only, struct qerr **err)
{
        if (fchdir(rootfd) < 0)
                return qerr_set_errno(err, errno, "enter rootfs");
        /* pivot_root(".", ".") stacks the old root on top of the new one; detaching "."
         * then drops the whole host tree from this mount namespace. */
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                return qerr_set_errno(err, errno, "pivot_root");
        if (umount2(".", MNT_DETACH) < 0)
                return qerr_set_errno(err, errno, "detach old root");
        if (chdir("/") < 0)
                return qerr_set_errno(err, errno, "chdir '/'");
        if (read_only && mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
                return qerr_set_errno(err, errno, "make rootfs read-only");
        return 0;
}

int container_fs_setup(const struct container_fs *fs, struct qerr **err)
{
        const unsigned common = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return qerr_set_errno(err, errno, "make mounts private");
        if (mount(fs->rootfs, fs->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
                return qerr_set_errno(err, errno, "bind rootfs '%s'", fs->rootfs);
        _cleanup_close_ int rootfd = open(fs->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return qerr_set_errno(err, errno, "open rootfs '%s'", fs->rootfs);
        int r = mount_at(rootfd, "proc", "proc", NULL, common, err);
        if (r >= 0)
                r = setup_dev(rootfd, fs->shm, err);
        if (r >= 0)
                r = mount_at(rootfd, "sys", "sysfs", NULL, common | MOUNT_ATTR_RDONLY, err);
        for (size_t i = 0; r >= 0 && i < fs->n_mounts; i++)
                r = bind_at(rootfd, fs->mounts[i].target, fs->mounts[i].source,
                            fs->mounts[i].read_only, err);
        if (r >= 0 && fs->workdir) {
                int fd = open_in_root(rootfd, fs->workdir, IN_ROOT_DIR, err);
                r = fd < 0 ? fd : close(fd);
        }
        if (r < 0)
                return r;
        return pivot_into(rootfd, fs->read_only_rootfs, err);
}
