/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "basic/fileio.h"
#include "security/security.h"

int sec_apply_sysctls(const struct sec_plan *p, const char *proc, struct qerr **err)
{
        for (size_t i = 0; i < p->n_sysctls; i++) {
                _cleanup_free_ char *path = NULL;
                if (asprintf(&path, "%s/sys/%s", proc, p->sysctls[i].name) < 0)
                        return qerr_set(err, ENOMEM, "write sysctls");
                /* Dot form to a path: dots separate, and a slash was a dot in a name. */
                for (char *c = path + strlen(proc) + 5; *c; c++)
                        *c = *c == '.' ? '/' : *c == '/' ? '.' : *c;
                int r = write_string_file(path, p->sysctls[i].value, err);
                if (r < 0)
                        return qerr_wrap(err, "set sysctl '%s'", p->sysctls[i].name);
        }
        return 0;
}

/* Opens a path inside root (links resolve inside it too); -ENOENT when it does not exist. */
static int open_in_root(int rootfd, const char *path)
{
        struct open_how how = {
                .flags = O_PATH | O_CLOEXEC,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
        return fd < 0 ? -errno : fd;
}

/* Binds the path onto itself read-only: /proc/sys is no mount of its own to remount. */
static int make_read_only(int fd)
{
        _cleanup_close_ int m = open_tree(
                fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
        if (m < 0)
                return -errno;
        struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY };
        if (mount_setattr(m, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) < 0 ||
            move_mount(m, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return -errno;
        return 0;
}

/* Covers a directory with an empty read-only tmpfs, anything else with /dev/null. */
static int mask(int fd)
{
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        _cleanup_close_ int m = -1;
        if (S_ISDIR(st.st_mode)) {
                _cleanup_close_ int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
                if (fs < 0 || fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                        return -errno;
                m = fsmount(fs, FSMOUNT_CLOEXEC,
                            MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                                    MOUNT_ATTR_NOEXEC);
        } else
                m = open_tree(AT_FDCWD, "/dev/null", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (m < 0 ||
            move_mount(m, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return -errno;
        return 0;
}

static int paths_apply(int rootfd, char **paths, int (*fn)(int fd), const char *what,
                       struct qerr **err)
{
        STRV_FOREACH (path, paths) {
                _cleanup_close_ int fd = open_in_root(rootfd, *path);
                if (fd == -ENOENT)
                        continue; /* nothing to hide: not every kernel has every file */
                int r = fd < 0 ? fd : fn(fd);
                if (r < 0)
                        return qerr_set_errno(err, -r, "%s '%s'", what, *path);
        }
        return 0;
}

int sec_mask_paths(const struct sec_plan *p, const char *root, struct qerr **err)
{
        _cleanup_close_ int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return qerr_set_errno(err, errno, "open '%s'", root);
        int r = paths_apply(rootfd, p->readonly_paths, make_read_only, "make read-only", err);
        if (r < 0)
                return r;
        return paths_apply(rootfd, p->masked_paths, mask, "mask", err);
}

static int load_filter(const struct sec_filter *f, struct qerr **err)
{
        struct sock_fprog prog = { .len = (unsigned short)f->n, .filter = f->insns };
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
                return qerr_set_errno(err, errno, "load seccomp filter");
        return 0;
}

/* Drops from the bounding set what the plan leaves out; needs CAP_SETPCAP, so it runs while
 * the process is still root with its full sets. */
static int drop_bounding(const struct sec_plan *p, struct qerr **err)
{
        for (int cap = 0; cap < 64; cap++) {
                int in = prctl(PR_CAPBSET_READ, (unsigned long)cap, 0, 0, 0);
                if (in < 0 && errno == EINVAL)
                        break;
                if (in <= 0 || (p->cap_bounding & (UINT64_C(1) << cap)))
                        continue;
                if (cap_drop_bound((cap_value_t)cap) < 0)
                        return qerr_set_errno(err, errno, "drop capability %d from bounding set",
                                              cap);
        }
        return 0;
}

/* setresuid() away from root clears the permitted set unless PR_SET_KEEPCAPS is on; the
 * effective set is cleared either way and set again from the plan afterwards. */
static int set_ids(const struct sec_plan *p, struct qerr **err)
{
        _Static_assert(sizeof(gid_t) == sizeof(uint32_t), "gid_t is 32 bits");
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
                return qerr_set_errno(err, errno, "set keep-caps");
        if (setgroups(p->n_groups, (const gid_t *)p->groups) < 0)
                return qerr_set_errno(err, errno, "set supplementary groups");
        if (setresgid(p->gid, p->gid, p->gid) < 0)
                return qerr_set_errno(err, errno, "set group id %u", p->gid);
        if (setresuid(p->uid, p->uid, p->uid) < 0)
                return qerr_set_errno(err, errno, "set user id %u", p->uid);
        if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
                return qerr_set_errno(err, errno, "clear keep-caps");
        return 0;
}

static inline void cap_freep(cap_t *c)
{
        if (*c)
                (void)cap_free(*c);
}

static int set_caps(const struct sec_plan *p, struct qerr **err)
{
        _cleanup_(cap_freep) cap_t c = cap_init();
        if (!c)
                return qerr_set_errno(err, errno, "allocate capability set");
        static const cap_flag_t flags[] = { CAP_PERMITTED, CAP_EFFECTIVE, CAP_INHERITABLE };
        const uint64_t masks[] = { p->cap_permitted, p->cap_effective, p->cap_inheritable };
        for (size_t f = 0; f < ELEMENTSOF(flags); f++)
                for (int cap = 0; cap < 64; cap++) {
                        cap_value_t v = cap;
                        if ((masks[f] & (UINT64_C(1) << cap)) &&
                            cap_set_flag(c, flags[f], 1, &v, CAP_SET) < 0)
                                return qerr_set_errno(err, errno, "set capability %d", cap);
                }
        if (cap_set_proc(c) < 0)
                return qerr_set_errno(err, errno, "set capabilities");
        /* Ambient capabilities must be permitted and inheritable already. */
        if (cap_reset_ambient() < 0)
                return qerr_set_errno(err, errno, "clear ambient capabilities");
        for (int cap = 0; cap < 64; cap++)
                if ((p->cap_ambient & (UINT64_C(1) << cap)) &&
                    cap_set_ambient((cap_value_t)cap, CAP_SET) < 0)
                        return qerr_set_errno(err, errno, "raise ambient capability %d", cap);
        return 0;
}

int sec_apply_in_child(const struct sec_plan *p, const struct sec_filter *filter, struct qerr **err)
{
        int r;
        if (p->seccomp != SEC_SECCOMP_UNCONFINED && !filter)
                return qerr_set(err, EINVAL, "seccomp filter not compiled");
        /* Without no_new_privs the kernel lets only CAP_SYS_ADMIN load a filter, so it goes in
         * now, before the ids and capabilities change (runc's order); the filter must then
         * allow setgroups, setresuid, capset and prctl, as the default profile does. With
         * no_new_privs it goes in last, so it cannot get in the way of those calls. */
        if (filter && !p->no_new_privs && (r = load_filter(filter, err)) < 0)
                return r;
        if ((r = drop_bounding(p, err)) < 0 || (r = set_ids(p, err)) < 0 ||
            (r = set_caps(p, err)) < 0)
                return r;
        if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return qerr_set_errno(err, errno, "set no_new_privs");
        if (filter && p->no_new_privs && (r = load_filter(filter, err)) < 0)
                return r;
        return 0;
}
