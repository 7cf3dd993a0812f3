/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "basic/log.h"
#include "qoslet.h"

/* qoslet [FLAGS]: the daemon. Verbs (run, reset) are added beside it as they are built. */
int main(int argc, char **argv)
{
        log_set_prefix("qoslet");
        return qoslet_daemon(argc, argv);
}
