/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>
#include <sys/stat.h>

#include "cgroups/cgroup-internal.h"

/* cgroup v1 through cgroupfs: one tree per hierarchy (a hierarchy may hold several
 * controllers, e.g. "cpu,cpuacct"); hybrid hosts included, where cgroup2 holds few or no
 * controllers and is not used. */

static bool dir_exists(const char *dir)
{
        struct stat sb;
        return stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* The directory of path in each distinct hierarchy of the controllers in mask. */
static int v1_dirs(const struct cg_manager *m, const char *path, unsigned mask, char ***ret)
{
        _cleanup_strv_free_ char **mounts = NULL, **dirs = NULL;
        for (int c = 0; c < _CG_CONTROLLER_MAX; c++) {
                const char *mount = m->mounts.v1[c];
                if (!(mask & CG_MASK(c)) || !mount || cg_strv_contains(mounts, mount))
                        continue;
                _cleanup_free_ char *dir = cg_path_join(mount, path, NULL);
                if (!dir || cg_strv_push(&mounts, mount) < 0 || cg_strv_push(&dirs, dir) < 0)
                        return -ENOMEM;
        }
        if (!dirs && !(dirs = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret = TAKE_PTR(dirs);
        return 0;
}

static int values_mask(const struct cg_values *v, unsigned *ret, struct qerr **err)
{
        unsigned mask = 0;
        for (size_t i = 0; i < v->n; i++) {
                enum cg_controller c;
                int r = cg_file_controller(v->files[i].name, true, &c, err);
                if (r < 0)
                        return r;
                mask |= CG_MASK(c);
        }
        *ret = mask;
        return 0;
}

/* A new v1 cpuset cgroup starts with empty cpus and mems (cgroup.clone_children is 0 by
 * default), and attaching a task to it fails with ENOSPC: copy the parent's. */
static int cpuset_fill(const char *parent, const char *dir, struct qerr **err)
{
        static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *cur = NULL, *from = NULL;
                int r = cg_read_file(dir, files[i], &cur, err);
                if (r < 0)
                        return r;
                if (*cur)
                        continue;
                r = cg_read_file(parent, files[i], &from, err);
                if (r < 0)
                        return r;
                r = cg_write_file(dir, files[i], from, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* mkdir -p from the deepest level up: in an existing tree it costs one mkdir per hierarchy.
 * Every level made in the cpuset hierarchy gets its parent's cpus and mems. */
static int make_levels(const char *mount, char **prefixes, size_t idx, bool cpuset,
                       struct qerr **err)
{
        _cleanup_free_ char *dir = cg_path_join(mount, prefixes[idx], NULL);
        _cleanup_free_ char *parent = idx > 0 ? cg_path_join(mount, prefixes[idx - 1], NULL)
                                              : strdup(mount);
        if (!dir || !parent)
                return qerr_set(err, ENOMEM, "create cgroup");
        if (mkdir(dir, 0755) < 0) {
                if (errno == EEXIST)
                        return 0;
                if (errno != ENOENT || idx == 0)
                        return qerr_set_errno(err, errno, "create '%s'", dir);
                int r = make_levels(mount, prefixes, idx - 1, cpuset, err);
                if (r < 0)
                        return r;
                if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                        return qerr_set_errno(err, errno, "create '%s'", dir);
        }
        return cpuset ? cpuset_fill(parent, dir, err) : 0;
}

static int v1_create(struct cg_manager *m, const char *path, const struct cg_values *v, pid_t pid,
                     struct qerr **err)
{
        unsigned mask;
        int r = values_mask(v, &mask, err);
        if (r < 0)
                return r;
        mask = (mask | CG_V1_ALWAYS) & m->mounts.v1_mask;
        _cleanup_strv_free_ char **prefixes = NULL, **mounts = NULL;
        if (cg_path_prefixes(path, &prefixes) < 0)
                return qerr_set(err, ENOMEM, "create '%s'", path);
        for (int c = 0; c < _CG_CONTROLLER_MAX; c++) {
                const char *mount = m->mounts.v1[c];
                if (!(mask & CG_MASK(c)) || cg_strv_contains(mounts, mount))
                        continue;
                if (cg_strv_push(&mounts, mount) < 0)
                        return qerr_set(err, ENOMEM, "create '%s'", path);
                bool cpuset = m->mounts.v1[CG_CPUSET] &&
                              strcmp(mount, m->mounts.v1[CG_CPUSET]) == 0;
                r = make_levels(mount, prefixes, cg_strv_length(prefixes) - 1, cpuset, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int v1_set(struct cg_manager *m, const char *path, const struct cg_values *v, bool update,
                  char ***skipped, struct qerr **err)
{
        _cleanup_free_ const char **files = calloc(v->n + 1, sizeof(char *));
        _cleanup_free_ char **dirs = calloc(v->n + 1, sizeof(char *));
        if (!dirs || !files)
                return qerr_set(err, ENOMEM, "write values of '%s'", path);
        int r = 0;
        for (size_t i = 0; i < v->n && r >= 0; i++) {
                const char *name = v->files[i].name;
                enum cg_controller c;
                r = cg_file_controller(name, true, &c, err);
                if (r < 0)
                        break;
                if (!m->mounts.v1[c]) {
                        /* As the kubelet: no hierarchy, no limit (hugetlb on many hosts). */
                        if (cg_strv_push(skipped, name) < 0)
                                r = qerr_set(err, ENOMEM, "write values of '%s'", path);
                        continue;
                }
                dirs[i] = cg_path_join(m->mounts.v1[c], path, NULL);
                files[i] = strchr(name, '/') + 1;
                if (!dirs[i])
                        r = qerr_set(err, ENOMEM, "write values of '%s'", path);
        }
        if (r >= 0)
                r = cg_write_values(path, v, (const char *const *)dirs, files, err);
        /* dirs has holes (skipped files): not a NULL-terminated list. */
        for (size_t i = 0; i < v->n; i++)
                free(dirs[i]);
        return r;
}

static int v1_attach(struct cg_manager *m, const char *path, pid_t pid, struct qerr **err)
{
        _cleanup_strv_free_ char **dirs = NULL;
        if (v1_dirs(m, path, m->mounts.v1_mask, &dirs) < 0)
                return qerr_set(err, ENOMEM, "attach to '%s'", path);
        char buf[32];
        (void)snprintf(buf, sizeof(buf), "%d", (int)pid);
        STRV_FOREACH (d, dirs) {
                if (!dir_exists(*d))
                        continue;
                int r = cg_write_file(*d, "cgroup.procs", buf, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int v1_exists(struct cg_manager *m, const char *path)
{
        _cleanup_strv_free_ char **dirs = NULL;
        if (v1_dirs(m, path, m->mounts.v1_mask, &dirs) < 0)
                return 0;
        STRV_FOREACH (d, dirs)
                if (dir_exists(*d))
                        return 1;
        return 0;
}

static char *ctrl_dir(const struct cg_manager *m, enum cg_controller c, const char *path)
{
        if (!m->mounts.v1[c])
                return strdup("/nonexistent");
        return cg_path_join(m->mounts.v1[c], path, NULL);
}

static int v1_stats(struct cg_manager *m, const char *path, struct cg_stats *ret, struct qerr **err)
{
        if (!v1_exists(m, path))
                return qerr_set(err, ENOENT, "read stats of '%s': no such cgroup", path);
        _cleanup_free_ char *cpu = ctrl_dir(m, CG_CPU, path);
        _cleanup_free_ char *acct = ctrl_dir(m, CG_CPUACCT, path);
        _cleanup_free_ char *mem = ctrl_dir(m, CG_MEMORY, path);
        _cleanup_free_ char *pids = ctrl_dir(m, CG_PIDS, path);
        if (!cpu || !acct || !mem || !pids)
                return qerr_set(err, ENOMEM, "read stats of '%s'", path);
        uint64_t throttled_ns = 0;
        int r = cg_read_u64_optional(acct, "cpuacct.usage", &ret->cpu_usage_ns, err);
        if (r >= 0)
                r = cg_read_keyed_optional(cpu, "cpu.stat", "nr_periods", &ret->cpu_nr_periods,
                                           err);
        if (r >= 0)
                r = cg_read_keyed_optional(cpu, "cpu.stat", "nr_throttled", &ret->cpu_nr_throttled,
                                           err);
        if (r >= 0)
                r = cg_read_keyed_optional(cpu, "cpu.stat", "throttled_time", &throttled_ns, err);
        if (r >= 0)
                r = cg_read_u64_optional(mem, "memory.usage_in_bytes", &ret->memory_current, err);
        if (r >= 0)
                r = cg_read_keyed_optional(mem, "memory.oom_control", "under_oom", &ret->oom, err);
        if (r >= 0)
                r = cg_read_keyed_optional(mem, "memory.oom_control", "oom_kill", &ret->oom_kill,
                                           err);
        if (r >= 0)
                r = cg_read_u64_optional(pids, "pids.current", &ret->pids_current, err);
        ret->cpu_throttled_us = throttled_ns / 1000;
        return r < 0 ? r : 0;
}

static int freeze_v1(const char *dir, bool on)
{
        return cg_write_file(dir, "freezer.state", on ? "FROZEN" : "THAWED", NULL);
}

static int v1_kill(struct cg_manager *m, const char *path, struct qerr **err)
{
        _cleanup_strv_free_ char **dirs = NULL;
        if (v1_dirs(m, path, m->mounts.v1_mask, &dirs) < 0)
                return qerr_set(err, ENOMEM, "kill '%s'", path);
        _cleanup_free_ char *freezer = ctrl_dir(m, CG_FREEZER, path);
        if (!freezer)
                return qerr_set(err, ENOMEM, "kill '%s'", path);
        struct cg_freezer fz = { .dir = dir_exists(freezer) ? freezer : NULL, .freeze = freeze_v1 };
        return cg_kill_procs(dirs, &fz, path, err);
}

static int v1_remove(struct cg_manager *m, const char *path, struct qerr **err)
{
        _cleanup_strv_free_ char **dirs = NULL;
        if (v1_dirs(m, path, m->mounts.v1_mask, &dirs) < 0)
                return qerr_set(err, ENOMEM, "remove '%s'", path);
        struct cg_backoff b;
        cg_backoff_init(&b, CG_KILL_TIMEOUT_US);
        for (;;) {
                bool busy = false;
                STRV_FOREACH (d, dirs) {
                        int r = cg_rmdir_tree(*d, err);
                        if (r == -EBUSY)
                                busy = true;
                        else if (r < 0)
                                return r;
                }
                if (!busy)
                        return 0;
                if (!cg_backoff_wait(&b))
                        return qerr_set(err, EBUSY, "remove '%s': processes are left", path);
        }
}

static int v1_file_path(struct cg_manager *m, const char *path, const char *name, char **ret,
                        struct qerr **err)
{
        enum cg_controller c;
        int r = cg_file_controller(name, true, &c, err);
        if (r < 0)
                return r;
        if (!m->mounts.v1[c])
                return qerr_set(err, ENOENT, "controller '%s' is not mounted",
                                cg_controller_to_string(c));
        char *p = cg_path_join(m->mounts.v1[c], path, strchr(name, '/') + 1);
        if (!p)
                return qerr_set(err, ENOMEM, "name '%s'", name);
        *ret = p;
        return 0;
}

static int v1_children(struct cg_manager *m, const char *path, char ***ret, struct qerr **err)
{
        _cleanup_strv_free_ char **dirs = NULL, **all = NULL;
        if (v1_dirs(m, path, m->mounts.v1_mask, &dirs) < 0)
                return qerr_set(err, ENOMEM, "list '%s'", path);
        STRV_FOREACH (d, dirs) {
                _cleanup_strv_free_ char **subs = NULL;
                int r = cg_list_subdirs(*d, &subs, err);
                if (r < 0)
                        return r;
                STRV_FOREACH (s, subs)
                        if (!cg_strv_contains(all, *s) && cg_strv_push(&all, *s) < 0)
                                return qerr_set(err, ENOMEM, "list '%s'", path);
        }
        *ret = TAKE_PTR(all);
        return 0;
}

const struct cg_ops cg_v1_ops = {
        .name = "cgroupfs-v1",
        .create = v1_create,
        .set = v1_set,
        .attach = v1_attach,
        .stats = v1_stats,
        .kill = v1_kill,
        .remove = v1_remove,
        .exists = v1_exists,
        .file_path = v1_file_path,
        .children = v1_children,
};
