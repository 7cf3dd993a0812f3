/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Shared by the files of pkg/cgroups only: the ops table, the manager and helpers. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroups/cgroups.h"

typedef struct sd_bus sd_bus;

/* Controllers qoslet knows by name, in v1 and v2. */
enum cg_controller {
        CG_CPU,
        CG_CPUACCT,
        CG_CPUSET,
        CG_MEMORY,
        CG_PIDS,
        CG_HUGETLB,
        CG_FREEZER,
        CG_IO,
        CG_BLKIO,
        CG_DEVICES,
        CG_RDMA,
        CG_MISC,
        CG_NET_CLS,
        CG_NET_PRIO,
        CG_PERF_EVENT,
        _CG_CONTROLLER_MAX,
        _CG_CONTROLLER_INVALID = -EINVAL,
};

#define CG_MASK(c) (1u << (c))

/* v2: what the kubelet enables (intersected with the root's cgroup.controllers). */
#define CG_V2_WANTED                                                                    \
        (CG_MASK(CG_CPU) | CG_MASK(CG_CPUSET) | CG_MASK(CG_MEMORY) | CG_MASK(CG_PIDS) | \
         CG_MASK(CG_HUGETLB))
/* v1: where every cgroup is created, besides the controllers its values touch: cpuacct for
 * usage, freezer to stop forks while killing. */
#define CG_V1_ALWAYS                                                                       \
        (CG_MASK(CG_CPU) | CG_MASK(CG_CPUACCT) | CG_MASK(CG_CPUSET) | CG_MASK(CG_MEMORY) | \
         CG_MASK(CG_PIDS) | CG_MASK(CG_FREEZER) | CG_MASK(CG_HUGETLB))

const char *cg_controller_to_string(enum cg_controller c);
enum cg_controller cg_controller_from_string(const char *s);
enum cg_controller cg_controller_from_stringn(const char *s, size_t n);

/* The controller of a value's file name: "cpu/cpu.shares" (v1) or "cpu.max" (v2). v2 core
 * files ("cgroup.*") give _CG_CONTROLLER_MAX. */
int cg_file_controller(const char *name, bool v1, enum cg_controller *ret, struct qerr **err);

struct cg_mounts {
        char *unified; /* cgroup2 mount point, NULL when none */
        char *v1[_CG_CONTROLLER_MAX]; /* v1 mount of each controller, NULL when none */
        unsigned v1_mask; /* controllers with a v1 mount */
};

void cg_mounts_done(struct cg_mounts *m);
int cg_mounts_parse(const char *text, struct cg_mounts *ret, struct qerr **err);
int cg_mounts_mode(const struct cg_mounts *m, enum cg_mode *ret, struct qerr **err);
/* Parses "cpu memory pids" (cgroup.controllers) into a mask; unknown names are ignored. */
unsigned cg_parse_controller_list(const char *text);

/* The driver interface. `path` is the form of the driver (cgroupfs or systemd), already
 * checked to lie below the cgroup root. */
struct cg_ops {
        const char *name;
        /* Creates the cgroup and missing parents (parents first) for the values given. */
        int (*create)(struct cg_manager *m, const char *path, const struct cg_values *v, pid_t pid,
                      struct qerr **err);
        /* Writes values; a file of a missing controller goes into *skipped. update: the cgroup
         * existed (systemd then changes its unit properties too). */
        int (*set)(struct cg_manager *m, const char *path, const struct cg_values *v, bool update,
                   char ***skipped, struct qerr **err);
        int (*attach)(struct cg_manager *m, const char *path, pid_t pid, struct qerr **err);
        int (*stats)(struct cg_manager *m, const char *path, struct cg_stats *ret,
                     struct qerr **err);
        /* Kills what runs in the cgroup and below; returns once it is empty. */
        int (*kill)(struct cg_manager *m, const char *path, struct qerr **err);
        /* Removes the cgroup and every child, depth-first. */
        int (*remove)(struct cg_manager *m, const char *path, struct qerr **err);
        /* 1 when the cgroup exists, 0 when not. */
        int (*exists)(struct cg_manager *m, const char *path);
        int (*file_path)(struct cg_manager *m, const char *path, const char *name, char **ret,
                         struct qerr **err);
        /* Names of the child cgroups (union over hierarchies). */
        int (*children)(struct cg_manager *m, const char *path, char ***ret, struct qerr **err);
};

extern const struct cg_ops cg_v1_ops;
extern const struct cg_ops cg_v2_ops;
extern const struct cg_ops cg_systemd_ops;

struct cg_manager {
        const struct cg_ops *ops; /* the driver */
        const struct cg_ops *fs; /* files: v1 or v2; systemd writes through it */
        enum cg_mode mode;
        char *root; /* cgroupfs form */
        char *systemd_root; /* systemd form */
        struct cg_mounts mounts;
        unsigned v2_available; /* controllers of the v2 root's cgroup.controllers */
        sd_bus *bus;
};

/* Concatenation of path pieces with single '/' between them. NULL on OOM. */
char *cg_path_join(const char *a, const char *b, const char *c);

/* Every prefix of a cgroup path, shortest first: "/a/b" -> "/a", "/a/b". */
int cg_path_prefixes(const char *path, char ***ret);

/* A path is absolute, without empty, "." or ".." components and without a final '/'. */
bool cg_path_is_valid(const char *path);
/* True when path lies strictly below root ("/" holds everything but itself). */
bool cg_path_is_below(const char *path, const char *root);

int cg_write_file(const char *dir, const char *file, const char *value, struct qerr **err);
int cg_read_file(const char *dir, const char *file, char **ret, struct qerr **err);
/* Reads the whole file; a missing file gives *ret = NULL and 0. */
int cg_read_file_optional(const char *dir, const char *file, char **ret, struct qerr **err);

/* Writes every value v->files[i] to dirs[i]/files[i], skipping entries whose dir is NULL. A
 * write refused with EINVAL is tried again after the others, since the kernel checks some
 * values against others (v1 quota against period, parent and children). */
int cg_write_values(const char *path, const struct cg_values *v, const char *const *dirs,
                    const char *const *files, struct qerr **err);
/* A keyed value of an optional file: 0 when the file or the key is missing. */
int cg_read_keyed_optional(const char *dir, const char *file, const char *key, uint64_t *ret,
                           struct qerr **err);
/* A number of an optional file: 0 when the file is missing or holds "max". */
int cg_read_u64_optional(const char *dir, const char *file, uint64_t *ret, struct qerr **err);

/* Appends a copy of s to a NULL-terminated list. */
int cg_strv_push(char ***l, const char *s);
size_t cg_strv_length(char *const *l);
bool cg_strv_contains(char *const *l, const char *s);

/* Names of the subdirectories of dir (an empty list when dir does not exist). */
int cg_list_subdirs(const char *dir, char ***ret, struct qerr **err);

/* Pids of cgroup.procs of dir and, recursively, of every child cgroup. */
int cg_collect_pids(const char *dir, pid_t **pids, size_t *n, struct qerr **err);

/* rmdir of dir after all its subdirectories, depth-first; ENOENT is success. Returns -EBUSY
 * when a cgroup still had processes. */
int cg_rmdir_tree(const char *dir, struct qerr **err);

/* Bounded exponential back-off: first sleep 1 ms, doubling up to 256 ms, until the deadline. */
struct cg_backoff {
        uint64_t deadline_us;
        unsigned delay_us;
};

#define CG_KILL_TIMEOUT_US (5u * 1000 * 1000)

void cg_backoff_init(struct cg_backoff *b, uint64_t timeout_us);
/* Sleeps the next delay; false (without sleeping) when the deadline has passed. */
bool cg_backoff_wait(struct cg_backoff *b);
/* The next delay in ms for poll(2), 0 when the deadline has passed. */
int cg_backoff_next_ms(struct cg_backoff *b);
uint64_t cg_now_us(void);

/* How to freeze a cgroup (v1 freezer.state, v2 cgroup.freeze); dir NULL: no freezer. */
struct cg_freezer {
        const char *dir;
        int (*freeze)(const char *dir, bool on);
        bool frozen;
};

/* Kills every process in the cgroups dirs and their children: freeze (so that nothing forks),
 * SIGKILL each through a pidfd, thaw, wait for the exits; again while processes are found,
 * with a bounded back-off. EBUSY when some are still there after CG_KILL_TIMEOUT_US. */
int cg_kill_procs(char *const *dirs, struct cg_freezer *fz, const char *path, struct qerr **err);

/* qerr_wrap() that returns r, also when the caller passed no error sink (err == NULL). */
#define cg_wrap(r, err, ...)                               \
        ({                                                 \
                int _r = (r);                              \
                if ((err) && *(err))                       \
                        (void)qerr_wrap(err, __VA_ARGS__); \
                _r;                                        \
        })

/* Validations the entry points share. */
int cg_check_container_id(const char *id, struct qerr **err);

/* systemd: a connection to PID 1 (its private socket as root, else the system bus), checked
 * by reading the manager's version. */
int cg_systemd_connect(sd_bus **ret, struct qerr **err);
void cg_systemd_disconnect(sd_bus *bus);
