/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The node daemon: flags and config, lock, sources, node, HTTP server, sd-event loop. */
int qoslet_daemon(int argc, char **argv);
