/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>

#include "basic/log.h"

int main(int argc, char **argv)
{
        log_set_prefix("qosctl");
        if (argc < 2) {
                fprintf(stderr, "usage: qosctl plan [OPTIONS] FILE|DIR|- ...\n");
                return 2;
        }
        log_error("unknown command '%s'", argv[1]);
        return 2;
}
