/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>

#include "basic/log.h"
#include "qoslet.h"

static void usage(void)
{
        fprintf(stderr, "usage: qoslet run [OPTIONS] POD.yaml\n"
                        "       qoslet run --help\n");
}

int main(int argc, char **argv)
{
        log_set_prefix("qoslet");
        if (argc < 2) {
                usage();
                return 2;
        }
        if (strcmp(argv[1], "run") == 0)
                return qoslet_run(argc - 1, argv + 1);
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
                usage();
                return 0;
        }
        log_error("unknown command '%s'", argv[1]);
        usage();
        return 2;
}
