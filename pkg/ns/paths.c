/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/fileio.h"
#include "ns/paths.h"

char *path_join(const char *a, const char *b)
{
        size_t la = strlen(a);
        while (la > 1 && a[la - 1] == '/')
                la--;
        while (*b == '/')
                b++;
        char *r = NULL;
        if (asprintf(&r, "%.*s%s%s", (int)la, a, la == 1 && a[0] == '/' ? "" : "/", b) < 0)
                return NULL;
        return r;
}

int copy_small_file(const char *from, const char *to, mode_t mode, struct qerr **err)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int r = read_full_file(from, 1 << 20, &buf, &len, err);
        if (r < 0)
                return r;
        return write_file_atomic(to, buf, len, mode, err);
}
