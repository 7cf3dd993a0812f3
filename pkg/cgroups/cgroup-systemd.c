/* SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "cgroups/cgroup-internal.h"

/* The systemd driver, as the kubelet's: every cgroup is a unit (a slice for kubepods, the QoS
 * tiers and pods; a scope per container), created over sd-bus with StartTransientUnit and the
 * resource properties systemd knows; then the values are written into the files directly, as
 * with cgroupfs, since systemd knows only some of them. */

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define SD_JOB_TIMEOUT_US (10u * 1000 * 1000)

static bool ends_with(const char *s, const char *suffix)
{
        size_t n = strlen(s), k = strlen(suffix);
        return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int bus_error(struct qerr **err, int r, const sd_bus_error *e, const char *what,
                     const char *unit)
{
        if (e && e->message)
                return qerr_set(err, -r, "%s '%s': %s", what, unit, e->message);
        return qerr_set_errno(err, -r, "%s '%s'", what, unit);
}

int cg_systemd_connect(sd_bus **ret, struct qerr **err)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        /* As root, PID 1's private socket works without a D-Bus broker (early boot, small
         * targets); the system bus otherwise. */
        if (geteuid() == 0 && access("/run/systemd/private", F_OK) == 0 && sd_bus_new(&bus) >= 0 &&
            (sd_bus_set_address(bus, "unix:path=/run/systemd/private") < 0 ||
             sd_bus_start(bus) < 0))
                bus = sd_bus_flush_close_unref(bus);
        if (!bus) {
                int r = sd_bus_open_system(&bus);
                if (r < 0)
                        return qerr_set_errno(err, -r, "connect to the system bus");
        }
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *version = NULL;
        int r = sd_bus_get_property_string(bus, SD_DEST, SD_PATH, SD_MANAGER, "Version", &e,
                                           &version);
        if (r < 0)
                return bus_error(err, r, &e, "ask systemd for its version", SD_DEST);
        *ret = TAKE_PTR(bus);
        return 0;
}

void cg_systemd_disconnect(sd_bus *bus)
{
        if (bus)
                (void)sd_bus_flush_close_unref(bus);
}

static const char *value_of(const struct cg_values *v, const char *name)
{
        for (size_t i = 0; i < v->n; i++)
                if (strcmp(v->files[i].name, name) == 0)
                        return v->files[i].value;
        return NULL;
}

/* A limit: a number, or "max" / "-1" for none (systemd's infinity, UINT64_MAX). */
static int parse_limit(const char *s, uint64_t *ret)
{
        if (strcmp(s, "max") == 0 || strcmp(s, "-1") == 0) {
                *ret = UINT64_MAX;
                return 0;
        }
        char *end;
        errno = 0;
        unsigned long long x = strtoull(s, &end, 10);
        if (errno != 0 || end == s || (*end && *end != ' ') || s[0] == '-')
                return -EINVAL;
        *ret = x;
        return 0;
}

static int append_u64(sd_bus_message *msg, const char *prop, const char *value, uint64_t *ret)
{
        uint64_t x;
        if (parse_limit(value, &x) < 0)
                return -EINVAL;
        if (ret)
                *ret = x;
        return sd_bus_message_append(msg, "(sv)", prop, "t", x);
}

/* CPUQuotaPerSecUSec is the quota per second of wall time; the plan's quota already carries
 * systemd's rounding to 10 ms per second, so what systemd writes equals the plan. */
static int append_quota(sd_bus_message *msg, const char *quota, const char *period)
{
        uint64_t q, p = 100000;
        if (period && (parse_limit(period, &p) < 0 || p == 0 || p == UINT64_MAX))
                return -EINVAL;
        if (parse_limit(quota, &q) < 0)
                return -EINVAL;
        uint64_t per_sec = q == UINT64_MAX ? UINT64_MAX : q * 1000000 / p;
        int r = sd_bus_message_append(msg, "(sv)", "CPUQuotaPerSecUSec", "t", per_sec);
        if (r >= 0)
                r = sd_bus_message_append(msg, "(sv)", "CPUQuotaPeriodUSec", "t", p);
        return r;
}

static int append_resources_v2(sd_bus_message *msg, const struct cg_values *v)
{
        const char *s;
        int r = 0;
        if (r >= 0 && (s = value_of(v, "cpu.weight")))
                r = append_u64(msg, "CPUWeight", s, NULL);
        if (r >= 0 && (s = value_of(v, "cpu.max"))) {
                _cleanup_free_ char *quota = strndup(s, strcspn(s, " "));
                const char *period = strchr(s, ' ');
                r = quota ? append_quota(msg, quota, period ? period + 1 : NULL) : -ENOMEM;
        }
        if (r >= 0 && (s = value_of(v, "memory.max")))
                r = append_u64(msg, "MemoryMax", s, NULL);
        return r;
}

static int append_resources_v1(sd_bus_message *msg, const struct cg_values *v)
{
        const char *s, *period = value_of(v, "cpu/cpu.cfs_period_us");
        int r = 0;
        if (r >= 0 && (s = value_of(v, "cpu/cpu.shares")))
                r = append_u64(msg, "CPUShares", s, NULL);
        if (r >= 0 && (s = value_of(v, "cpu/cpu.cfs_quota_us")))
                r = append_quota(msg, s, period);
        if (r >= 0 && (s = value_of(v, "memory/memory.limit_in_bytes")))
                r = append_u64(msg, "MemoryLimit", s, NULL);
        return r;
}

static int append_resources(sd_bus_message *msg, const struct cg_manager *m,
                            const struct cg_values *v, bool scope)
{
        bool v2 = m->mode == CG_MODE_UNIFIED;
        int r = v2 ? append_resources_v2(msg, v) : append_resources_v1(msg, v);
        if (r < 0)
                return r;
        const char *pids = value_of(v, v2 ? "pids.max" : "pids/pids.max");
        if (pids)
                return append_u64(msg, "TasksMax", pids, NULL);
        /* systemd gives scopes DefaultTasksMax; a plan without pids.max means no limit of
         * the container's own (its pod's limit still holds). */
        if (scope)
                return sd_bus_message_append(msg, "(sv)", "TasksMax", "t", UINT64_MAX);
        return 0;
}

static int append_unit_props(sd_bus_message *msg, const char *unit, const char *parent, pid_t pid)
{
        bool scope = ends_with(unit, ".scope");
        _cleanup_free_ char *desc = NULL;
        if (asprintf(&desc, "qoslet %s", unit) < 0)
                return -ENOMEM;
        int r = sd_bus_message_append(msg, "(sv)(sv)(sv)", "Description", "s", desc,
                                      "DefaultDependencies", "b", 0, "CollectMode", "s",
                                      "inactive-or-failed");
        if (r >= 0)
                r = sd_bus_message_append(msg, "(sv)(sv)(sv)", "CPUAccounting", "b", 1,
                                          "MemoryAccounting", "b", 1, "TasksAccounting", "b", 1);
        if (r < 0)
                return r;
        /* systemd refuses Delegate= on slices; a slice's parent follows from its name. */
        if (scope)
                return sd_bus_message_append(msg, "(sv)(sv)(sv)", "Slice", "s", parent, "Delegate",
                                             "b", 1, "PIDs", "au", 1, (uint32_t)pid);
        if (strcmp(parent, "-.slice") != 0)
                return sd_bus_message_append(msg, "(sv)", "Wants", "as", 1, parent);
        return 0;
}

/* Polls the job object until systemd drops it, with a bounded back-off. */
static int wait_job(sd_bus *bus, const char *job, const char *unit, struct qerr **err)
{
        struct cg_backoff b;
        cg_backoff_init(&b, SD_JOB_TIMEOUT_US);
        do {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                _cleanup_free_ char *state = NULL;
                if (sd_bus_get_property_string(bus, SD_DEST, job, "org.freedesktop.systemd1.Job",
                                               "State", &e, &state) < 0)
                        return 0;
        } while (cg_backoff_wait(&b));
        return qerr_set(err, ETIMEDOUT, "wait for job of unit '%s'", unit);
}

static int unit_active_state(sd_bus *bus, const char *unit, char **ret, struct qerr **err)
{
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "GetUnit", &e, &reply, "s",
                                   unit);
        if (r < 0)
                return bus_error(err, r, &e, "get unit", unit);
        const char *obj;
        r = sd_bus_message_read(reply, "o", &obj);
        if (r < 0)
                return bus_error(err, r, NULL, "read unit", unit);
        r = sd_bus_get_property_string(bus, SD_DEST, obj, "org.freedesktop.systemd1.Unit",
                                       "ActiveState", &e, ret);
        if (r < 0)
                return bus_error(err, r, &e, "get state of unit", unit);
        return 0;
}

static int set_properties(struct cg_manager *m, const char *unit, const struct cg_values *v,
                          struct qerr **err)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = sd_bus_message_new_method_call(m->bus, &msg, SD_DEST, SD_PATH, SD_MANAGER,
                                               "SetUnitProperties");
        if (r >= 0)
                r = sd_bus_message_append(msg, "sb", unit, 1);
        if (r >= 0)
                r = sd_bus_message_open_container(msg, 'a', "(sv)");
        if (r >= 0)
                r = append_resources(msg, m, v, ends_with(unit, ".scope"));
        if (r >= 0)
                r = sd_bus_message_close_container(msg);
        if (r < 0)
                return qerr_set_errno(err, -r, "set properties of unit '%s'", unit);
        r = sd_bus_call(m->bus, msg, 0, &e, &reply);
        if (r < 0)
                return bus_error(err, r, &e, "set properties of unit", unit);
        return 0;
}

static int start_message(struct cg_manager *m, const char *unit, const char *parent,
                         const struct cg_values *v, pid_t pid, sd_bus_message **ret)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        int r = sd_bus_message_new_method_call(m->bus, &msg, SD_DEST, SD_PATH, SD_MANAGER,
                                               "StartTransientUnit");
        if (r >= 0)
                r = sd_bus_message_append(msg, "ss", unit, "fail");
        if (r >= 0)
                r = sd_bus_message_open_container(msg, 'a', "(sv)");
        if (r >= 0)
                r = append_unit_props(msg, unit, parent, pid);
        if (r >= 0)
                r = append_resources(msg, m, v, ends_with(unit, ".scope"));
        if (r >= 0)
                r = sd_bus_message_close_container(msg);
        if (r >= 0)
                r = sd_bus_message_append(msg, "a(sa(sv))", 0);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(msg);
        return 0;
}

static int unit_call(struct cg_manager *m, const char *method, const char *unit, char **ret_job,
                     struct qerr **err);

/* Waits for the job of a StartTransientUnit reply; the unit must be active then. */
static int finish_start(struct cg_manager *m, const char *unit, sd_bus_message *reply,
                        struct qerr **err)
{
        _cleanup_free_ char *state = NULL;
        const char *job;
        int r = sd_bus_message_read(reply, "o", &job);
        if (r < 0)
                return bus_error(err, r, NULL, "read job of unit", unit);
        r = wait_job(m->bus, job, unit, err);
        if (r >= 0)
                r = unit_active_state(m->bus, unit, &state, err);
        if (r < 0)
                return r;
        if (strcmp(state, "active") != 0)
                return qerr_set(err, EIO, "start unit '%s': it is %s", unit, state);
        return 0;
}

static int restart_scope(struct cg_manager *m, const char *unit, sd_bus_message *msg,
                         struct qerr **err)
{
        struct cg_backoff b;
        cg_backoff_init(&b, SD_JOB_TIMEOUT_US);
        do {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                (void)unit_call(m, "ResetFailedUnit", unit, NULL, NULL);
                int r = sd_bus_message_rewind(msg, true);
                if (r >= 0)
                        r = sd_bus_call(m->bus, msg, 0, &e, &reply);
                if (r >= 0)
                        return finish_start(m, unit, reply, err);
                if (!sd_bus_error_has_name(&e, "org.freedesktop.systemd1.UnitExists"))
                        return bus_error(err, r, &e, "start unit", unit);
        } while (cg_backoff_wait(&b));
        return qerr_set(err, EEXIST, "start unit '%s': an old unit of that name stays", unit);
}

static int start_unit(struct cg_manager *m, const char *path, const struct cg_values *v, pid_t pid,
                      struct qerr **err)
{
        _cleanup_free_ char *unit = NULL, *parent = NULL;
        int r = cg_systemd_unit_of(path, &unit, &parent, err);
        if (r < 0)
                return r;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        r = start_message(m, unit, parent, v, pid, &msg);
        if (r < 0)
                return qerr_set(err, r == -ENOMEM ? ENOMEM : EINVAL,
                                "build properties of unit '%s'", unit);
        r = sd_bus_call(m->bus, msg, 0, &e, &reply);
        if (r < 0 && sd_bus_error_has_name(&e, "org.freedesktop.systemd1.UnitExists")) {
                /* A scope of that name whose processes are gone (a container restarted) is
                 * still loaded until systemd collects it: start anew once it has. */
                if (pid > 0 && !m->fs->exists(m, path))
                        return restart_scope(m, unit, msg, err);
                return set_properties(m, unit, v, err);
        }
        if (r < 0)
                return bus_error(err, r, &e, "start unit", unit);
        return finish_start(m, unit, reply, err);
}

static int sd_create(struct cg_manager *m, const char *path, const struct cg_values *v, pid_t pid,
                     struct qerr **err)
{
        static const struct cg_values none = { 0 };
        bool scope = ends_with(path, ".scope");
        if (!scope && !ends_with(path, ".slice"))
                return qerr_set(err, EINVAL, "'%s' is neither a slice nor a scope", path);
        if (scope && pid <= 0)
                return qerr_set(err, EINVAL,
                                "start scope '%s': systemd starts a scope only "
                                "around a process",
                                path);
        _cleanup_strv_free_ char **prefixes = NULL;
        if (cg_path_prefixes(path, &prefixes) < 0)
                return qerr_set(err, ENOMEM, "create '%s'", path);
        for (size_t i = 0; prefixes[i + 1]; i++) {
                if (!ends_with(prefixes[i], ".slice"))
                        return qerr_set(err, EINVAL, "parent '%s' is not a slice", prefixes[i]);
                if (m->fs->exists(m, prefixes[i]))
                        continue;
                int r = start_unit(m, prefixes[i], &none, 0, err);
                if (r < 0)
                        return r;
        }
        int r = start_unit(m, path, v, pid, err);
        if (r < 0)
                return r;
        /* Controllers systemd does not manage (cpuset, hugetlb; every v1 hierarchy but its
         * own) still need the cgroup and, on v2, the parents' subtree_control. */
        return m->fs->create(m, path, v, 0, err);
}

static int sd_set(struct cg_manager *m, const char *path, const struct cg_values *v, bool update,
                  char ***skipped, struct qerr **err)
{
        if (update) {
                _cleanup_free_ char *unit = NULL;
                int r = cg_systemd_unit_of(path, &unit, NULL, err);
                if (r >= 0)
                        r = set_properties(m, unit, v, err);
                if (r < 0)
                        return r;
        }
        return m->fs->set(m, path, v, update, skipped, err);
}

/* Calls a method that takes a unit name and ignores "no such unit"; returns the job path of
 * StopUnit, when there is one. */
static int unit_call(struct cg_manager *m, const char *method, const char *unit, char **ret_job,
                     struct qerr **err)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = ret_job ? sd_bus_call_method(m->bus, SD_DEST, SD_PATH, SD_MANAGER, method, &e,
                                             &reply, "ss", unit, "replace")
                        : sd_bus_call_method(m->bus, SD_DEST, SD_PATH, SD_MANAGER, method, &e,
                                             &reply, "s", unit);
        if (r < 0 && (sd_bus_error_has_name(&e, "org.freedesktop.systemd1.NoSuchUnit") ||
                      sd_bus_error_has_name(&e, "org.freedesktop.systemd1.LoadFailed")))
                return 0;
        if (r < 0)
                return bus_error(err, r, &e, method, unit);
        if (!ret_job)
                return 0;
        const char *job;
        r = sd_bus_message_read(reply, "o", &job);
        if (r < 0)
                return bus_error(err, r, NULL, "read job of unit", unit);
        *ret_job = strdup(job);
        return *ret_job ? 1 : qerr_set(err, ENOMEM, "stop unit '%s'", unit);
}

static int sd_remove(struct cg_manager *m, const char *path, struct qerr **err)
{
        _cleanup_free_ char *unit = NULL, *job = NULL;
        int r = cg_systemd_unit_of(path, &unit, NULL, err);
        if (r < 0)
                return r;
        /* Stopping a slice stops the units in it; the processes are gone already (kill), so
         * systemd sends no signal and waits for nothing. */
        r = unit_call(m, "StopUnit", unit, &job, err);
        if (r > 0)
                r = wait_job(m->bus, job, unit, err);
        if (r < 0)
                return r;
        (void)unit_call(m, "ResetFailedUnit", unit, NULL, NULL);
        /* What systemd left: cgroups that are not units, other v1 hierarchies. */
        return m->fs->remove(m, path, err);
}

static int sd_attach(struct cg_manager *m, const char *path, pid_t pid, struct qerr **err)
{
        return m->fs->attach(m, path, pid, err);
}

static int sd_stats(struct cg_manager *m, const char *path, struct cg_stats *ret, struct qerr **err)
{
        return m->fs->stats(m, path, ret, err);
}

static int sd_kill(struct cg_manager *m, const char *path, struct qerr **err)
{
        return m->fs->kill(m, path, err);
}

static int sd_exists(struct cg_manager *m, const char *path)
{
        return m->fs->exists(m, path);
}

static int sd_file_path(struct cg_manager *m, const char *path, const char *name, char **ret,
                        struct qerr **err)
{
        return m->fs->file_path(m, path, name, ret, err);
}

static int sd_children(struct cg_manager *m, const char *path, char ***ret, struct qerr **err)
{
        return m->fs->children(m, path, ret, err);
}

const struct cg_ops cg_systemd_ops = {
        .name = "systemd",
        .create = sd_create,
        .set = sd_set,
        .attach = sd_attach,
        .stats = sd_stats,
        .kill = sd_kill,
        .remove = sd_remove,
        .exists = sd_exists,
        .file_path = sd_file_path,
        .children = sd_children,
};
