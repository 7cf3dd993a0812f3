/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "api/pod.h"
#include "basic/error.h"
#include "image/registry.h"
#include "runtime/cspec.h"
#include "security/security.h"

/* Running one pod: its directories, /etc files, /dev/shm and volumes, its shim (the
 * sandbox), its containers. The node's reconciler and `qoslet run` build on this. */

/* Where a container's (or the shim's) processes go in the cgroup tree. */
struct cgroup_target {
        char *v2_dir; /* cgroup2: the directory for CLONE_INTO_CGROUP */
        char **v1_procs; /* cgroup v1: cgroup.procs files, one per controller */
        char *oom_events; /* a file with an "oom_kill N" line */
};
void cgroup_target_done(struct cgroup_target *t);

/* Supplied by the cgroup layer; a NULL function means no cgroup for that part. */
struct pod_cgroup_ops {
        int (*container)(void *userdata, const struct pod *pod, const struct container *c,
                         struct cgroup_target *ret, struct qerr **err);
        int (*shim)(void *userdata, const struct pod *pod, struct cgroup_target *ret,
                    struct qerr **err);
        /* the container's oom_score_adj from the plan; NULL: leave it */
        int (*oom_score_adj)(void *userdata, const struct pod *pod, const struct container *c,
                             int *ret);
        void *userdata;
};

struct pod_runtime_config {
        const char *root_dir; /* /var/lib/qoslet */
        const char *run_dir; /* /run/qoslet */
        const char *log_dir; /* /var/log/pods */
        const char *shim_path;
        const char *resolv_conf; /* NULL: /etc/resolv.conf */
        const char *node_ip; /* status.hostIP for env; NULL: "" */
        const struct pod_cgroup_ops *cgroups; /* NULL: none */
        uint64_t log_max_size; /* 0: 10 MiB */
        unsigned log_max_files; /* 0: 5 */
        /* Image pulls (the store is <root_dir>/images); NULL: HTTPS, no credentials. */
        const struct registry_opts *registry;
        /* Localhost seccomp profiles; NULL: <root_dir>/seccomp (the kubelet's
         * <root-dir>/seccomp). */
        const char *seccomp_profile_dir;
        /* Shared by the daemon's pods; NULL: each pod keeps its own. */
        struct sec_filter_cache *seccomp_cache;
};

struct pod_runtime {
        const struct pod *pod;
        struct pod_runtime_config cfg;
        char *uid, *hostname;
        char *pod_dir; /* <root>/pods/<uid> */
        char *run_pod_dir; /* <run>/pods/<uid> */
        char *log_pod_dir; /* <log>/<ns>_<name>_<uid> */
        char *shm; /* <run>/pods/<uid>/shm, or /dev/shm with hostIPC */
        char **volume_names, **volume_sources; /* prepared volumes, in spec order */
        size_t n_volumes;
        pid_t shim_pid;
        struct sec_filter_cache *own_cache; /* when cfg.seccomp_cache is NULL */
        char **warnings; /* things qoslet does not do for this pod yet */
};

/* Prepares the pod's directories and files, starts its shim, runs its init containers one by
 * one (each must exit 0) and starts its containers. Returns once every container has exec'd.
 * On failure everything made so far is torn down. */
int pod_runtime_start(const struct pod *pod, const struct pod_runtime_config *cfg,
                      struct pod_runtime **ret, struct qerr **err);

/* The pod_runtime of a pod whose shim an earlier process started (a daemon restart): names
 * and paths as pod_runtime_start made them, nothing created or mounted again. Used to restart,
 * stop and tear down a pod it did not start. */
int pod_runtime_adopt(const struct pod *pod, const struct pod_runtime_config *cfg, pid_t shim_pid,
                      struct pod_runtime **ret, struct qerr **err);

/* Frees pr and nothing else: the pod keeps running (a daemon that exits leaves its pods). */
void pod_runtime_forget(struct pod_runtime *pr);

/* Builds the shim's spec for one container (exposed for tests and for restarts): its image
 * (pulled by its imagePullPolicy) and a root filesystem of its own under
 * <pod_dir>/containers/<name>/<attempt>-rootfs, the process from the image config and the
 * spec, the security plan and its compiled seccomp filter. Errors that the kubelet reports
 * with a reason start with it: ErrImagePull, ErrImageNeverPull, InvalidImageName,
 * CreateContainerConfigError. */
int pod_runtime_container_spec(struct pod_runtime *pr, const struct container *c, unsigned attempt,
                               struct cspec *ret, struct qerr **err);

/* The kubelet reason a start error carries ("ErrImagePull", "ErrImageNeverPull",
 * "InvalidImageName", "CreateContainerConfigError", "CreateContainerError") after any
 * "context: " prefixes; NULL when it carries none. */
const char *pod_runtime_error_reason(const char *msg);

/* Starts (or restarts, with a higher attempt) one container. */
int pod_runtime_start_container(struct pod_runtime *pr, const struct container *c, unsigned attempt,
                                pid_t *ret_pid, struct qerr **err);

/* Stops every container, the kubelet's way: regular containers side by side, then sidecars in
 * reverse order; each gets its preStop hook, the stop signal, and SIGKILL after grace_s
 * (negative: the pod's terminationGracePeriodSeconds, 30 by default). */
int pod_runtime_stop(struct pod_runtime *pr, int64_t grace_s, struct qerr **err);

/* Shuts the shim down and removes the pod's mounts, volumes and directories (the logs stay).
 * Frees pr. */
int pod_runtime_teardown(struct pod_runtime *pr, struct qerr **err);

/* Signal number of a lifecycle.stopSignal name ("SIGTERM", "SIGUSR1", ...); -EINVAL else. */
int stop_signal_from_string(const char *s);
