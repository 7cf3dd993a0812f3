/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "api/pod.h"
#include "basic/error.h"

/* Pod volumes on the host side: what a container's volumeMount binds from. */

/* <pod_dir>/volumes/kubernetes.io~empty-dir/<name>, as the kubelet lays it out. */
char *empty_dir_path(const char *pod_dir, const char *name);

/* Makes the volume ready and returns the host path containers bind: an emptyDir directory
 * (mode 0777; a tmpfs of sizeLimit bytes when medium is Memory) or a checked hostPath (created
 * for DirectoryOrCreate and FileOrCreate). Other kinds are refused with ENOTSUP. */
int volume_prepare(const struct volume *v, const char *pod_dir, char **ret_source,
                   struct qerr **err);

/* Checks a hostPath against its type, creating it where the type says so. */
int host_path_check(const char *path, const char *type, struct qerr **err);

/* Unmounts memory-backed emptyDirs and removes <pod_dir>/volumes. */
int volumes_teardown(const char *pod_dir, struct qerr **err);
