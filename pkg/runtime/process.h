/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>

#include "api/pod.h"
#include "basic/error.h"

/* The PATH containerd puts into every container's environment before the image's own. */
#define DEFAULT_PATH_ENV "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Returns the value of the variable name[0..len), or NULL when it is not defined. */
typedef const char *(*var_lookup_fn)(const char *name, size_t len, void *userdata);

/* Kubernetes' $(VAR) expansion: "$(NAME)" becomes the value of NAME, or stays as written when
 * NAME is undefined; "$$" becomes "$"; any other '$' stays. NULL on allocation failure. */
char *expand_var_refs(const char *in, var_lookup_fn lookup, void *userdata);

/* Looks name[0..len) up in a strv of "KEY=VALUE" entries; the last entry wins. */
const char *strv_env_lookup(char *const *env, const char *name, size_t len);

/* What an image says about its process; every field may be NULL (dir:// images have none). */
struct image_process {
        char **entrypoint;
        char **cmd;
        char **env; /* "KEY=VALUE" */
        char *working_dir;
};

/* The command line by Kubernetes' rules: command and args given: command + args; command only:
 * command (the image's Cmd is dropped); args only: image Entrypoint + args; neither: image
 * Entrypoint + Cmd. Every element of command and args is $(VAR)-expanded against env. An empty
 * result is an error (EINVAL). */
int container_command_line(const struct image_process *img, char *const *command, char *const *args,
                           char *const *env, char ***ret, struct qerr **err);

/* What fieldRef environment variables can read. */
struct pod_env_context {
        const struct pod *pod;
        const char *hostname;
        const char *pod_ip;
        const char *host_ip;
};

/* The environment the kubelet sends for a container: its env entries in order, each value
 * $(VAR)-expanded against the entries before it, fieldRef values resolved; a later entry with
 * the same name replaces an earlier one in place. Secret, ConfigMap and resourceFieldRef
 * sources and envFrom are refused (ENOTSUP). */
int container_kube_env(const struct container *c, const struct pod_env_context *ctx, char ***ret,
                       struct qerr **err);

/* The final environment of the process, as containerd composes it: the default PATH, the
 * image's env, HOSTNAME, then kube_env; each later entry replaces an earlier one of the same
 * name in place. */
int container_final_env(const struct image_process *img, const char *hostname,
                        char *const *kube_env, char ***ret, struct qerr **err);

size_t strv_length(char *const *l);
