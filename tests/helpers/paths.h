/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Path of a program built beside the running test binary (build/tests/test-x -> build/NAME).
 * Caller frees. */
char *test_program_path(const char *name);

/* Runs a shell command, returns its exit status and its stdout (caller frees). */
int test_run_capture(const char *cmd, char **ret_out);
