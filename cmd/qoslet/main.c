/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "basic/log.h"
#include "qoslet.h"

/* qoslet [FLAGS]: the daemon; `qoslet run POD.yaml` runs one pod in the foreground;
 * `qoslet reset` removes what qoslet left on the node. */
int main(int argc, char **argv)
{
        log_set_prefix("qoslet");
        if (argc >= 2 && strcmp(argv[1], "run") == 0)
                return qoslet_run(argc - 1, argv + 1);
        if (argc >= 2 && strcmp(argv[1], "reset") == 0)
                return qoslet_reset(argc - 1, argv + 1);
        return qoslet_daemon(argc, argv);
}
