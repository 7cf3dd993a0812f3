/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <string.h>

#include "basic/fileio.h"
#include "security/security.h"

/* Kept apart from the compiler (seccomp.c, profile.c): a program that only loads a filter
 * compiled elsewhere links neither libseccomp nor jansson. */

void sec_filter_free(struct sec_filter *f)
{
        if (!f)
                return;
        free(f->insns);
        free(f);
}

int sec_filter_write_file(const struct sec_filter *f, const char *path, struct qerr **err)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return qerr_set_errno(err, errno, "create '%s'", path);
        size_t size = f->n * sizeof(struct sock_filter);
        if (write(fd, f->insns, size) != (ssize_t)size)
                return qerr_set_errno(err, errno ?: EIO, "write '%s'", path);
        return 0;
}

int sec_filter_read_file(const char *path, struct sec_filter **ret, struct qerr **err)
{
        _cleanup_free_ char *buf = NULL;
        size_t len;
        int r = read_full_file(path, BPF_MAXINSNS * sizeof(struct sock_filter), &buf, &len, err);
        if (r < 0)
                return r;
        if (len == 0 || len % sizeof(struct sock_filter) != 0)
                return qerr_set(err, EINVAL, "'%s' is not a seccomp filter", path);
        _cleanup_sec_filter_ struct sec_filter *f = calloc(1, sizeof(*f));
        if (!f || !(f->insns = malloc(len)))
                return qerr_set(err, ENOMEM, "read '%s'", path);
        memcpy(f->insns, buf, len);
        f->n = len / sizeof(struct sock_filter);
        *ret = TAKE_PTR(f);
        return 0;
}
