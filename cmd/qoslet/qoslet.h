/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* `qoslet run POD.yaml`: runs one pod in the foreground until it ends or is interrupted,
 * then tears it down. */
int qoslet_run(int argc, char **argv);
