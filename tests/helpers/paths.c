/* SPDX-License-Identifier: Apache-2.0 */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "helpers/paths.h"

char *test_program_path(const char *name)
{
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n < 0)
                return NULL;
        exe[n] = 0;
        char *dir = dirname(dirname(exe));
        char *r = NULL;
        if (asprintf(&r, "%s/%s", dir, name) < 0)
                return NULL;
        return r;
}

int test_run_capture(const char *cmd, char **ret_out)
{
        FILE *p = popen(cmd, "r");
        if (!p)
                return -1;
        char *out = NULL;
        size_t len = 0;
        if (read_full_stream(p, cmd, 64 << 20, &out, &len, NULL) < 0)
                out = NULL;
        int status = pclose(p);
        if (ret_out)
                *ret_out = out;
        else
                free(out);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}
