/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "api/pod.h"
#include "basic/error.h"
#include "manifest/manifest.h"
#include "qos/plan.h"

/* The interface between the node (reconcile loop, status, back-off) and whatever creates pods:
 * the real runtime (cgroups, sandbox, shim, containers) or the plan-only runtime of
 * --runtime=none. Every call is made from the daemon's event loop thread and must not block
 * for long: work that waits (a grace period, an image pull) is done behind the runtime's own
 * event sources, and the runtime tells the node with `pod_changed` when a pod's status moved
 * (a container started or exited, a stop finished). Times are CLOCK_REALTIME microseconds. */

enum runtime_container_state {
        RUNTIME_CONTAINER_CREATED, /* exists, its process did not start yet */
        RUNTIME_CONTAINER_RUNNING,
        RUNTIME_CONTAINER_EXITED,
        RUNTIME_CONTAINER_UNKNOWN, /* the runtime lost track of it (shim gone, no exit record) */
};

/* How one run of a container ended. */
struct runtime_exit {
        int exit_code; /* 128 + signal when a signal ended it, as a shell reports it */
        int signal; /* 0 when it exited on its own */
        bool oom_killed;
        int64_t started_at, finished_at;
        char *id;
};

struct runtime_container {
        char *name;
        char *id; /* the current run's id; NULL when nothing was created */
        char *image, *image_id;
        enum runtime_container_state state;
        int64_t started_at; /* RUNNING */
        struct runtime_exit exit; /* EXITED */
        bool has_previous;
        struct runtime_exit previous; /* the run before this one */
        unsigned restart_count; /* runs started so far, minus one */
        /* A start that failed before a process existed: ErrImagePull, ImagePullBackOff,
         * CreateContainerError, RunContainerError, ... with a message. NULL otherwise. */
        char *error_reason, *error_message;
};

struct runtime_pod_status {
        bool sandbox_ready; /* namespaces exist and the network is set up */
        char *pod_ip;
        /* A note for the pod's status.message (the plan-only runtime says it created nothing). */
        char *message;
        struct runtime_container *containers; /* init containers and regular ones, by name */
        size_t n_containers;
};

void runtime_exit_done(struct runtime_exit *e);
void runtime_container_done(struct runtime_container *c);
void runtime_pod_status_done(struct runtime_pod_status *s);
const struct runtime_container *runtime_pod_status_find(const struct runtime_pod_status *s,
                                                        const char *name);

struct pod_runtime_ops {
        const char *name; /* "none", "shim", ... as --runtime takes it */
        /* Creates what the pod needs (cgroups, sandbox) and starts its containers in the
         * kubelet's order: init containers one by one, sidecars, then regular containers.
         * Idempotent: called again for a pod that exists, it does nothing. Returns 1 when
         * the pod was still running from an earlier daemon and was taken over as it runs
         * (adopted), 0 when it was started (or is starting). */
        int (*start_pod)(void *data, const struct pod *pod, const struct pod_plan *plan,
                         struct qerr **err);
        /* Starts one container of a running pod again, after the node decided that its
         * restart policy and back-off allow it. NULL when the runtime cannot restart single
         * containers; the node then reports the exit and does not restart. */
        int (*restart_container)(void *data, const struct pod *pod, const struct pod_plan *plan,
                                 const char *name, struct qerr **err);
        /* Stops every container (stop signal, then SIGKILL after grace_seconds), then the
         * sandbox, and removes what start_pod created. Returns at once; `pod_changed` reports
         * the end. Works from the UID alone, since the spec may be gone. */
        int (*stop_pod)(void *data, const char *uid, int64_t grace_seconds, struct qerr **err);
        /* What the runtime knows of the pod now; -ENOENT when it knows nothing of it. */
        int (*pod_status)(void *data, const char *uid, struct runtime_pod_status *ret,
                          struct qerr **err);
        /* UIDs of the pods that exist in the runtime (left by an earlier daemon), so the
         * node can adopt those it still wants and stop the others. NULL-terminated. */
        int (*list_running)(void *data, char ***ret_uids, struct qerr **err);
        /* The QoS tier values (kubepods, burstable, besteffort) for the pods the node wants
         * now; called when pods come and go. NULL when the runtime does not manage tiers. */
        int (*update_tiers)(void *data, const struct tiers_plan *tiers, struct qerr **err);
        void (*free)(void *data);
};

struct pod_runtime_env {
        sd_event *event;
        const char *root_dir, *run_dir;
        const char *log_dir; /* container logs; NULL: /var/log/pods */
        const char *shim_path; /* NULL: next to the running program */
        const char *host_ip;
        /* Registries pulled from over plain HTTP ("host[:port]"); NULL-terminated, or NULL.
         * Borrowed, like info: must outlive the runtime. */
        char *const *insecure_registries;
        const struct node_info *info; /* cgroup root and driver, for the plan */
        const struct manifest_options *manifest; /* to decode the manifests kept in state */
        /* Called from the event loop when something of the pod changed. */
        void (*pod_changed)(const char *uid, void *userdata);
        void *userdata;
};

struct node_runtime {
        const struct pod_runtime_ops *ops;
        void *data;
};

void node_runtime_free(struct node_runtime *rt);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct node_runtime *, node_runtime_free)

/* The plan-only runtime (--runtime=none): creates nothing, records which pods were started
 * so that status reports them Pending with every container ContainerCreating (or
 * PodInitializing), and says so in the pod's status message. A dry run of the daemon. */
int runtime_none_new(const struct pod_runtime_env *env, struct node_runtime **ret,
                     struct qerr **err);

/* The real runtime (--runtime=shim): pod cgroups from the plan (runtime/podcg.h), the pod's
 * sandbox and shim, its containers (runtime/podrt.h). Pods outlive the daemon: their shims
 * keep running, and a new daemon adopts them from the run dir. */
int runtime_shim_new(const struct pod_runtime_env *env, struct node_runtime **ret,
                     struct qerr **err);
