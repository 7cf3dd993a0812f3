/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/strbuf.h"
#include "cgroups/cgroup-internal.h"

/* cgroup v2 through cgroupfs: one tree under the cgroup2 mount. */

static char *v2_dir(const struct cg_manager *m, const char *path)
{
        return cg_path_join(m->mounts.unified, path, NULL);
}

/* Controllers a set of values needs, beyond the ones the kubelet always enables. */
static int values_mask(const struct cg_values *v, unsigned *ret, struct qerr **err)
{
        unsigned mask = 0;
        for (size_t i = 0; i < v->n; i++) {
                enum cg_controller c;
                int r = cg_file_controller(v->files[i].name, false, &c, err);
                if (r < 0)
                        return r;
                if (c != _CG_CONTROLLER_MAX)
                        mask |= CG_MASK(c);
        }
        *ret = mask;
        return 0;
}

/* Adds the controllers of mask that are missing from dir's cgroup.subtree_control, in one
 * write, so that its children get their files. */
static int enable_controllers(const char *dir, unsigned mask, struct qerr **err)
{
        _cleanup_free_ char *cur = NULL;
        int r = cg_read_file(dir, "cgroup.subtree_control", &cur, err);
        if (r < 0)
                return r;
        unsigned missing = mask & ~cg_parse_controller_list(cur);
        if (!missing)
                return 0;
        _cleanup_strbuf_ struct strbuf sb = { 0 };
        for (int c = 0; c < _CG_CONTROLLER_MAX; c++)
                if (missing & CG_MASK(c))
                        strbuf_printf(&sb, "%s+%s", sb.len ? " " : "", cg_controller_to_string(c));
        if (sb.oom)
                return qerr_set(err, ENOMEM, "enable controllers in '%s'", dir);
        return cg_write_file(dir, "cgroup.subtree_control", sb.buf, err);
}

static int make_dir(const char *dir, struct qerr **err)
{
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return qerr_set_errno(err, errno, "create '%s'", dir);
        return 0;
}

static int v2_create(struct cg_manager *m, const char *path, const struct cg_values *v, pid_t pid,
                     struct qerr **err)
{
        unsigned mask;
        int r = values_mask(v, &mask, err);
        if (r < 0)
                return r;
        mask = (mask | CG_V2_WANTED) & m->v2_available;
        _cleanup_strv_free_ char **prefixes = NULL;
        if (cg_path_prefixes(path, &prefixes) < 0)
                return qerr_set(err, ENOMEM, "create '%s'", path);
        _cleanup_free_ char *parent = strdup(m->mounts.unified);
        if (!parent)
                return qerr_set(err, ENOMEM, "create '%s'", path);
        /* Parents first: a controller can be enabled only where the parent has it. */
        STRV_FOREACH (p, prefixes) {
                r = enable_controllers(parent, mask, err);
                if (r < 0)
                        return r;
                char *dir = v2_dir(m, *p);
                if (!dir)
                        return qerr_set(err, ENOMEM, "create '%s'", path);
                r = make_dir(dir, err);
                free(parent);
                parent = dir;
                if (r < 0)
                        return r;
        }
        return 0;
}

static int v2_set(struct cg_manager *m, const char *path, const struct cg_values *v, bool update,
                  char ***skipped, struct qerr **err)
{
        _cleanup_free_ char *dir = v2_dir(m, path);
        _cleanup_free_ const char **dirs = calloc(v->n + 1, sizeof(char *));
        _cleanup_free_ const char **files = calloc(v->n + 1, sizeof(char *));
        if (!dir || !dirs || !files)
                return qerr_set(err, ENOMEM, "write values of '%s'", path);
        for (size_t i = 0; i < v->n; i++) {
                enum cg_controller c;
                int r = cg_file_controller(v->files[i].name, false, &c, err);
                if (r < 0)
                        return r;
                if (c != _CG_CONTROLLER_MAX && !(m->v2_available & CG_MASK(c))) {
                        if (cg_strv_push(skipped, v->files[i].name) < 0)
                                return qerr_set(err, ENOMEM, "write values of '%s'", path);
                        continue;
                }
                dirs[i] = dir;
                files[i] = v->files[i].name;
        }
        return cg_write_values(path, v, dirs, files, err);
}

static int v2_attach(struct cg_manager *m, const char *path, pid_t pid, struct qerr **err)
{
        _cleanup_free_ char *dir = v2_dir(m, path);
        char buf[32];
        if (!dir)
                return qerr_set(err, ENOMEM, "attach to '%s'", path);
        (void)snprintf(buf, sizeof(buf), "%d", (int)pid);
        return cg_write_file(dir, "cgroup.procs", buf, err);
}

static int v2_stats(struct cg_manager *m, const char *path, struct cg_stats *ret, struct qerr **err)
{
        _cleanup_free_ char *dir = v2_dir(m, path);
        if (!dir)
                return qerr_set(err, ENOMEM, "read stats");
        struct stat sb;
        if (stat(dir, &sb) < 0)
                return qerr_set_errno(err, errno, "open '%s'", dir);
        uint64_t usage_us = 0;
        int r = 0;
        if (r >= 0)
                r = cg_read_keyed_optional(dir, "cpu.stat", "usage_usec", &usage_us, err);
        if (r >= 0)
                r = cg_read_keyed_optional(dir, "cpu.stat", "nr_periods", &ret->cpu_nr_periods,
                                           err);
        if (r >= 0)
                r = cg_read_keyed_optional(dir, "cpu.stat", "nr_throttled", &ret->cpu_nr_throttled,
                                           err);
        if (r >= 0)
                r = cg_read_keyed_optional(dir, "cpu.stat", "throttled_usec",
                                           &ret->cpu_throttled_us, err);
        if (r >= 0)
                r = cg_read_u64_optional(dir, "memory.current", &ret->memory_current, err);
        if (r >= 0)
                r = cg_read_keyed_optional(dir, "memory.events", "oom", &ret->oom, err);
        if (r >= 0)
                r = cg_read_keyed_optional(dir, "memory.events", "oom_kill", &ret->oom_kill, err);
        if (r >= 0)
                r = cg_read_u64_optional(dir, "pids.current", &ret->pids_current, err);
        ret->cpu_usage_ns = usage_us * 1000;
        /* A file read as missing (zeros) or dead (ENODEV) because the cgroup went away while
         * it was read, as systemd removes a scope with its last process: no stats, not zeros. */
        if ((r >= 0 || r == -ENODEV) && stat(dir, &sb) < 0) {
                qerr_free(err ? TAKE_PTR(*err) : NULL);
                return qerr_set_errno(err, errno, "open '%s'", dir);
        }
        return r < 0 ? r : 0;
}

static int populated(const char *dir, struct qerr **err)
{
        uint64_t v = 0;
        _cleanup_free_ char *text = NULL;
        int r = cg_read_file_optional(dir, "cgroup.events", &text, err);
        if (r < 0)
                return r;
        if (!text)
                return 0;
        if (cg_parse_keyed(text, "populated", &v) < 0)
                return qerr_set(err, EINVAL, "parse '%s/cgroup.events'", dir);
        return v != 0;
}

static int freeze_v2(const char *dir, bool on)
{
        return cg_write_file(dir, "cgroup.freeze", on ? "1" : "0", NULL);
}

/* Without cgroup.kill (before Linux 5.14): freeze, SIGKILL every process of the subtree. */
static int kill_by_signal(const char *dir, const char *path, struct qerr **err)
{
        char *dirs[] = { (char *)dir, NULL };
        _cleanup_free_ char *freeze_file = cg_path_join(dir, "cgroup.freeze", NULL);
        struct cg_freezer fz = { .dir = freeze_file && access(freeze_file, F_OK) == 0 ? dir : NULL,
                                 .freeze = freeze_v2 };
        return cg_kill_procs(dirs, &fz, path, err);
}

static int v2_kill(struct cg_manager *m, const char *path, struct qerr **err)
{
        _cleanup_free_ char *dir = v2_dir(m, path);
        _cleanup_free_ char *kill_file = cg_path_join(dir, "cgroup.kill", NULL);
        _cleanup_free_ char *events = cg_path_join(dir, "cgroup.events", NULL);
        if (!dir || !kill_file || !events)
                return qerr_set(err, ENOMEM, "kill '%s'", path);
        if (access(kill_file, F_OK) < 0)
                return kill_by_signal(dir, path, err);
        _cleanup_close_ int fd = open(events, O_RDONLY | O_CLOEXEC);
        struct cg_backoff b;
        cg_backoff_init(&b, CG_KILL_TIMEOUT_US);
        for (;;) {
                int r = populated(dir, err);
                if (r <= 0)
                        return r;
                /* The kernel kills the whole subtree, forks racing with it included. */
                _cleanup_qerr_ struct qerr *e = NULL;
                r = cg_write_file(dir, "cgroup.kill", "1", &e);
                if (r == -ENOENT || r == -ENODEV)
                        return 0; /* removed meanwhile */
                if (r < 0) {
                        if (err && !*err)
                                *err = TAKE_PTR(e);
                        return r;
                }
                /* cgroup.events signals a change of "populated" with POLLPRI; the back-off
                 * bounds each wait in case a wake-up is missed. */
                int ms = cg_backoff_next_ms(&b);
                if (ms == 0)
                        return qerr_set(err, EBUSY, "kill processes of '%s': still running", path);
                struct pollfd pfd = { .fd = fd, .events = POLLPRI };
                (void)poll(fd >= 0 ? &pfd : NULL, fd >= 0 ? 1 : 0, ms);
        }
}

static int v2_remove(struct cg_manager *m, const char *path, struct qerr **err)
{
        _cleanup_free_ char *dir = v2_dir(m, path);
        if (!dir)
                return qerr_set(err, ENOMEM, "remove '%s'", path);
        struct cg_backoff b;
        cg_backoff_init(&b, CG_KILL_TIMEOUT_US);
        for (;;) {
                int r = cg_rmdir_tree(dir, err);
                if (r != -EBUSY)
                        return r;
                if (!cg_backoff_wait(&b))
                        return qerr_set(err, EBUSY, "remove '%s': processes are left", dir);
        }
}

static int v2_exists(struct cg_manager *m, const char *path)
{
        _cleanup_free_ char *dir = v2_dir(m, path);
        struct stat sb;
        return dir && stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int v2_file_path(struct cg_manager *m, const char *path, const char *name, char **ret,
                        struct qerr **err)
{
        if (!*name || strchr(name, '/') || name[0] == '.')
                return qerr_set(err, EINVAL, "bad cgroup v2 file name '%s'", name);
        char *p = cg_path_join(m->mounts.unified, path, name);
        if (!p)
                return qerr_set(err, ENOMEM, "name '%s'", name);
        *ret = p;
        return 0;
}

static int v2_children(struct cg_manager *m, const char *path, char ***ret, struct qerr **err)
{
        _cleanup_free_ char *dir = v2_dir(m, path);
        if (!dir)
                return qerr_set(err, ENOMEM, "list '%s'", path);
        return cg_list_subdirs(dir, ret, err);
}

const struct cg_ops cg_v2_ops = {
        .name = "cgroupfs-v2",
        .create = v2_create,
        .set = v2_set,
        .attach = v2_attach,
        .stats = v2_stats,
        .kill = v2_kill,
        .remove = v2_remove,
        .exists = v2_exists,
        .file_path = v2_file_path,
        .children = v2_children,
};
