/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "basic/fileio.h"
#include "security/profile.h"

#define PROFILE_MAX (1u << 20)

/* Reads <profile_dir>/<name>; the name may not lead out of the directory, by ".." or by a
 * link. */
static int read_localhost_profile(const char *profile_dir, const char *name, char **ret,
                                  size_t *ret_len, struct qerr **err)
{
        if (!profile_dir)
                return qerr_set(err, EINVAL, "no seccomp profile directory for '%s'", name);
        _cleanup_close_ int dir = open(profile_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0)
                return qerr_set_errno(err, errno, "open seccomp profile directory '%s'",
                                      profile_dir);
        struct open_how how = {
                .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
        };
        _cleanup_close_ int fd = (int)syscall(SYS_openat2, dir, name, &how, sizeof(how));
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0)
                return qerr_set_errno(err, errno, "open seccomp profile '%s' in '%s'", name,
                                      profile_dir);
        if (!S_ISREG(st.st_mode))
                return qerr_set(err, EINVAL, "seccomp profile '%s' is not a regular file", name);
        _cleanup_fclose_ FILE *f = fdopen(fd, "r");
        if (!f)
                return qerr_set_errno(err, errno, "open seccomp profile '%s'", name);
        TAKE_FD(fd);
        return read_full_stream(f, name, PROFILE_MAX, ret, ret_len, err);
}

int sec_seccomp_compile(const struct sec_plan *p, const char *profile_dir, struct sec_filter **ret,
                        struct qerr **err)
{
        _cleanup_free_ char *buf = NULL;
        const char *json;
        size_t len;
        int r;
        switch (p->seccomp) {
        case SEC_SECCOMP_UNCONFINED:
                *ret = NULL;
                return 0;
        case SEC_SECCOMP_RUNTIME_DEFAULT:
                json = sec_default_profile_json(&len);
                break;
        case SEC_SECCOMP_LOCALHOST:
                r = read_localhost_profile(profile_dir, p->seccomp_profile, &buf, &len, err);
                if (r < 0)
                        return r;
                json = buf;
                break;
        default:
                return qerr_set(err, EINVAL, "unknown seccomp mode %d", (int)p->seccomp);
        }
        _cleanup_sec_profile_ struct sec_profile *prof = NULL;
        r = sec_profile_parse(json, len, &prof, err);
        if (r >= 0)
                r = sec_profile_compile(prof, p->cap_bounding, ret, err);
        if (r < 0 && p->seccomp == SEC_SECCOMP_LOCALHOST)
                return qerr_wrap(err, "seccomp profile '%s'", p->seccomp_profile);
        return r;
}
