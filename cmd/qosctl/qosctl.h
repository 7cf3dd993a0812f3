/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

int verb_plan(int argc, char **argv);
int verb_get(int argc, char **argv);
int verb_images(int argc, char **argv);
int verb_pull(int argc, char **argv);
int verb_import(int argc, char **argv);
int verb_rmi(int argc, char **argv);
int verb_gc(int argc, char **argv);
