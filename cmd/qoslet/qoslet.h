/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* `qoslet run POD.yaml`: runs one pod in the foreground until it ends or is interrupted,
 * then tears it down. */
int qoslet_run(int argc, char **argv);

/* `qoslet reset`: stops the pods qoslet left running and removes their cgroups (the kubepods
 * tree), mounts and state; says what it removed. */
int qoslet_reset(int argc, char **argv);

/* The node daemon: flags and config, lock, sources, node, HTTP server, sd-event loop. */
int qoslet_daemon(int argc, char **argv);
