/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* qoslet-shim: one per pod. It holds the pod's namespaces (it lives in them), is the parent
 * and reaper of the pod's containers, writes their output to CRI log files and their exits
 * to <dir>/exits/<container>.<attempt>, and outlives whoever started it.
 *
 * Usage: qoslet-shim --dir POD_RUN_DIR [--hostname NAME] [--host-network] [--host-ipc]
 *        [--pid container|pod|host] [--cgroup-procs FILE]... [--ready-fd FD] [--foreground]
 *
 * It listens on POD_RUN_DIR/shim.sock; one request per line, one reply line each
 * ("ok ..." or "err <message>"):
 *   start SPEC_PATH      start a container from a spec file (runtime/cspec.h) -> ok PID
 *   stop NAME GRACE_S    preStop hook, stop signal, SIGKILL after the grace period; the reply
 *                        comes when the container has exited -> ok EXIT_CODE
 *   kill NAME SIGNAL     -> ok
 *   wait NAME            -> ok EXIT_CODE once it has exited
 *   status               -> ok shim:PID pause:PID NAME:ATTEMPT:running:PID
 *                           NAME:ATTEMPT:exited:CODE ...
 *   shutdown             SIGKILL to every container, then ok, then the shim exits */
int shim_main(int argc, char **argv);
