/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/fileio.h"
#include "cgroups/cgroup-internal.h"

static const char *const mode_names[_CG_MODE_MAX] = {
        [CG_MODE_UNIFIED] = "unified",
        [CG_MODE_HYBRID] = "hybrid",
        [CG_MODE_LEGACY] = "legacy",
};

const char *cg_mode_to_string(enum cg_mode m)
{
        if (m < 0 || m >= _CG_MODE_MAX)
                return NULL;
        return mode_names[m];
}

int cg_mode_from_mountinfo(const char *text, enum cg_mode *ret, struct qerr **err)
{
        struct cg_mounts mounts;
        int r = cg_mounts_parse(text, &mounts, err);
        if (r < 0)
                return r;
        r = cg_mounts_mode(&mounts, ret, err);
        cg_mounts_done(&mounts);
        return r;
}

static int read_mounts(struct cg_mounts *ret, struct qerr **err)
{
        _cleanup_free_ char *text = NULL;
        int r = read_full_file("/proc/self/mountinfo", 16u << 20, &text, NULL, err);
        if (r < 0)
                return r;
        return cg_mounts_parse(text, ret, err);
}

int cg_mode(enum cg_mode *ret, struct qerr **err)
{
        struct cg_mounts mounts;
        int r = read_mounts(&mounts, err);
        if (r < 0)
                return r;
        r = cg_mounts_mode(&mounts, ret, err);
        cg_mounts_done(&mounts);
        return r;
}

void cg_manager_free(struct cg_manager *m)
{
        if (!m)
                return;
        cg_systemd_disconnect(m->bus);
        cg_mounts_done(&m->mounts);
        free(m->root);
        free(m->systemd_root);
        free(m);
}

static int manager_detect(struct cg_manager *m, struct qerr **err)
{
        int r = read_mounts(&m->mounts, err);
        if (r < 0)
                return r;
        r = cg_mounts_mode(&m->mounts, &m->mode, err);
        if (r < 0)
                return r;
        if (m->mode != CG_MODE_UNIFIED) {
                m->fs = &cg_v1_ops;
                return 0;
        }
        m->fs = &cg_v2_ops;
        _cleanup_free_ char *controllers = NULL;
        r = cg_read_file(m->mounts.unified, "cgroup.controllers", &controllers, err);
        if (r < 0)
                return r;
        m->v2_available = cg_parse_controller_list(controllers);
        return 0;
}

static int manager_set_root(struct cg_manager *m, const char *root, struct qerr **err)
{
        if (!root || !*root)
                root = "/";
        if (!cg_path_is_valid(root))
                return qerr_set(err, EINVAL, "bad cgroup root '%s'", root);
        m->root = strdup(root);
        if (!m->root)
                return qerr_set(err, ENOMEM, "set cgroup root");
        return cg_path_to_systemd(root, &m->systemd_root, err);
}

static bool systemd_is_running(void)
{
        return access("/run/systemd/system", F_OK) == 0;
}

static int manager_pick_driver(struct cg_manager *m, const char *driver, struct qerr **err)
{
        if (!driver || strcmp(driver, "auto") == 0) {
                m->ops = m->fs;
                if (!systemd_is_running())
                        return 0;
                _cleanup_qerr_ struct qerr *e = NULL;
                if (cg_systemd_connect(&m->bus, &e) >= 0)
                        m->ops = &cg_systemd_ops;
                return 0;
        }
        if (strcmp(driver, "cgroupfs") == 0) {
                m->ops = m->fs;
                return 0;
        }
        if (strcmp(driver, "systemd") != 0)
                return qerr_set(err, EINVAL, "unknown cgroup driver '%s'", driver);
        int r = cg_systemd_connect(&m->bus, err);
        if (r < 0)
                return cg_wrap(r, err, "use cgroup driver 'systemd'");
        m->ops = &cg_systemd_ops;
        return 0;
}

int cg_manager_new(const char *driver, const char *cgroup_root, struct cg_manager **ret,
                   struct qerr **err)
{
        _cleanup_cg_manager_ struct cg_manager *m = calloc(1, sizeof(*m));
        if (!m)
                return qerr_set(err, ENOMEM, "create cgroup manager");
        int r = manager_set_root(m, cgroup_root, err);
        if (r < 0)
                return r;
        r = manager_detect(m, err);
        if (r < 0)
                return cg_wrap(r, err, "detect cgroup mode");
        r = manager_pick_driver(m, driver, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

enum cg_mode cg_manager_mode(const struct cg_manager *m)
{
        return m->mode;
}

const char *cg_manager_driver(const struct cg_manager *m)
{
        return m->ops == &cg_systemd_ops ? "systemd" : "cgroupfs";
}

const char *cg_manager_root(const struct cg_manager *m)
{
        return m->root;
}

const char *cg_manager_systemd_root(const struct cg_manager *m)
{
        return m->systemd_root;
}

/* The path of the manager's driver, refused unless it lies in the cgroup root's tree: a
 * manager never works on cgroups outside it. */
static int pick_path(const struct cg_manager *m, const char *cgroupfs_path,
                     const char *systemd_path, const char **ret, struct qerr **err)
{
        bool sd = m->ops == &cg_systemd_ops;
        const char *path = sd ? systemd_path : cgroupfs_path;
        const char *root = sd ? m->systemd_root : m->root;
        if (!path)
                return qerr_set(err, EINVAL, "no %s path given", sd ? "systemd" : "cgroupfs");
        if (!cg_path_is_valid(path))
                return qerr_set(err, EINVAL, "bad cgroup path '%s'", path);
        /* The root itself is the manager's too, unless it is the hierarchy's root. */
        if (!cg_path_is_below(path, root) && (strcmp(path, root) != 0 || strcmp(root, "/") == 0))
                return qerr_set(err, EPERM, "cgroup '%s' is outside cgroup root '%s'", path, root);
        *ret = path;
        return 0;
}

static const struct cg_values *pick_values(const struct cg_manager *m, const struct cg_values *v2,
                                           const struct cg_values *v1)
{
        static const struct cg_values none = { 0 };
        const struct cg_values *v = m->mode == CG_MODE_UNIFIED ? v2 : v1;
        return v ? v : &none;
}

static int finish_skipped(char **skipped, char ***ret_skipped, struct qerr **err)
{
        if (!ret_skipped) {
                strv_free(skipped);
                return 0;
        }
        if (!skipped) {
                skipped = calloc(1, sizeof(char *));
                if (!skipped)
                        return qerr_set(err, ENOMEM, "list skipped files");
        }
        *ret_skipped = skipped;
        return 0;
}

int cg_apply(struct cg_manager *m, const char *cgroupfs_path, const char *systemd_path,
             const struct cg_values *v2, const struct cg_values *v1, pid_t pid, char ***ret_skipped,
             struct qerr **err)
{
        const char *path;
        int r = pick_path(m, cgroupfs_path, systemd_path, &path, err);
        if (r < 0)
                return r;
        const struct cg_values *v = pick_values(m, v2, v1);
        int exists = m->ops->exists(m, path);
        if (!exists) {
                r = m->ops->create(m, path, v, pid, err);
                if (r < 0)
                        return cg_wrap(r, err, "create cgroup '%s'", path);
        }
        _cleanup_strv_free_ char **skipped = NULL;
        r = m->ops->set(m, path, v, exists, &skipped, err);
        if (r < 0)
                return cg_wrap(r, err, "apply cgroup '%s'", path);
        if (pid > 0) {
                r = m->ops->attach(m, path, pid, err);
                if (r < 0)
                        return cg_wrap(r, err, "apply cgroup '%s'", path);
        }
        return finish_skipped(TAKE_PTR(skipped), ret_skipped, err);
}

int cg_update(struct cg_manager *m, const char *cgroupfs_path, const char *systemd_path,
              const struct cg_values *v2, const struct cg_values *v1, char ***ret_skipped,
              struct qerr **err)
{
        const char *path;
        int r = pick_path(m, cgroupfs_path, systemd_path, &path, err);
        if (r < 0)
                return r;
        if (!m->ops->exists(m, path))
                return qerr_set(err, ENOENT, "update cgroup '%s': it does not exist", path);
        _cleanup_strv_free_ char **skipped = NULL;
        r = m->ops->set(m, path, pick_values(m, v2, v1), true, &skipped, err);
        if (r < 0)
                return cg_wrap(r, err, "update cgroup '%s'", path);
        return finish_skipped(TAKE_PTR(skipped), ret_skipped, err);
}

int cg_attach(struct cg_manager *m, const char *cgroupfs_path, const char *systemd_path, pid_t pid,
              struct qerr **err)
{
        const char *path;
        int r = pick_path(m, cgroupfs_path, systemd_path, &path, err);
        if (r < 0)
                return r;
        if (pid <= 0)
                return qerr_set(err, EINVAL, "attach pid %d to '%s'", (int)pid, path);
        r = m->ops->attach(m, path, pid, err);
        if (r < 0)
                return cg_wrap(r, err, "attach pid %d to '%s'", (int)pid, path);
        return 0;
}

int cg_open_dir(struct cg_manager *m, const char *cgroupfs_path, const char *systemd_path,
                int *ret_fd, struct qerr **err)
{
        const char *path;
        int r = pick_path(m, cgroupfs_path, systemd_path, &path, err);
        if (r < 0)
                return r;
        if (m->mode != CG_MODE_UNIFIED)
                return qerr_set(err, EOPNOTSUPP, "open cgroup '%s': cgroup v1 has no one directory",
                                path);
        _cleanup_free_ char *dir = cg_path_join(m->mounts.unified, path, NULL);
        if (!dir)
                return qerr_set(err, ENOMEM, "open cgroup '%s'", path);
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return qerr_set_errno(err, errno, "open cgroup '%s'", dir);
        *ret_fd = fd;
        return 0;
}

int cg_stats(struct cg_manager *m, const char *cgroupfs_path, const char *systemd_path,
             struct cg_stats *ret, struct qerr **err)
{
        const char *path;
        int r = pick_path(m, cgroupfs_path, systemd_path, &path, err);
        if (r < 0)
                return r;
        struct cg_stats st = { 0 };
        r = m->ops->stats(m, path, &st, err);
        if (r < 0)
                return cg_wrap(r, err, "read stats of '%s'", path);
        *ret = st;
        return 0;
}

int cg_destroy(struct cg_manager *m, const char *cgroupfs_path, const char *systemd_path,
               struct cg_stats *ret_final, struct qerr **err)
{
        const char *path;
        int r = pick_path(m, cgroupfs_path, systemd_path, &path, err);
        if (r < 0)
                return r;
        struct cg_stats st = { 0 };
        int exists = m->ops->exists(m, path);
        if (exists) {
                /* Read first: OOM counts are gone with the cgroup. */
                _cleanup_qerr_ struct qerr *e = NULL;
                r = m->ops->stats(m, path, &st, &e);
                if (r < 0 && r != -ENOENT) {
                        if (err && !*err)
                                *err = TAKE_PTR(e);
                        return cg_wrap(r, err, "destroy cgroup '%s'", path);
                }
                /* Gone meanwhile (systemd removes a scope with its last process). */
                if (r == -ENOENT)
                        exists = 0;
                r = m->ops->kill(m, path, err);
                if (r < 0)
                        return cg_wrap(r, err, "destroy cgroup '%s'", path);
        }
        r = m->ops->remove(m, path, err);
        if (r < 0)
                return cg_wrap(r, err, "destroy cgroup '%s'", path);
        if (ret_final)
                *ret_final = st;
        return exists ? 1 : 0;
}

int cg_file_path(struct cg_manager *m, const char *cgroupfs_path, const char *systemd_path,
                 const char *name, char **ret, struct qerr **err)
{
        const char *path;
        int r = pick_path(m, cgroupfs_path, systemd_path, &path, err);
        if (r < 0)
                return r;
        return m->ops->file_path(m, path, name, ret, err);
}

int cg_read(struct cg_manager *m, const char *cgroupfs_path, const char *systemd_path,
            const char *name, char **ret, struct qerr **err)
{
        _cleanup_free_ char *p = NULL;
        int r = cg_file_path(m, cgroupfs_path, systemd_path, name, &p, err);
        if (r < 0)
                return r;
        return read_one_line_file(p, ret, err);
}

void cg_pod_refs_free(struct cg_pod_ref *refs, size_t n)
{
        for (size_t i = 0; refs && i < n; i++) {
                free(refs[i].uid);
                free(refs[i].cgroupfs);
                free(refs[i].systemd);
        }
        free(refs);
}

static bool uid_is_valid(const char *uid)
{
        size_t n = strlen(uid);
        return n > 0 && n <= 64 && strspn(uid, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* The pod's UID from a child name of the tier: "pod<uid>" (cgroupfs) or
 * "<tier stem>-pod<uid with '_' for '-'>.slice" (systemd). NULL when it is no pod. */
static char *pod_uid_of(const char *name, bool sd, const char *tier_stem)
{
        char *uid = NULL;
        if (!sd) {
                if (strncmp(name, "pod", 3) == 0)
                        uid = strdup(name + 3);
        } else {
                size_t sl = strlen(tier_stem), nl = strlen(name);
                if (nl > sl + 4 + 6 && strncmp(name, tier_stem, sl) == 0 &&
                    strncmp(name + sl, "-pod", 4) == 0 && strcmp(name + nl - 6, ".slice") == 0)
                        uid = strndup(name + sl + 4, nl - sl - 4 - 6);
                for (char *p = uid; p && *p; p++)
                        if (*p == '_')
                                *p = '-';
        }
        if (uid && !uid_is_valid(uid)) {
                free(uid);
                uid = NULL;
        }
        return uid;
}

static int pod_ref_fill(struct cg_pod_ref *ref, char *uid, const char *tier_cgroupfs,
                        const char *tier_systemd, const char *tier_stem)
{
        ref->uid = uid;
        _cleanup_free_ char *fsname = NULL, *sdname = NULL;
        if (asprintf(&fsname, "pod%s", uid) < 0 ||
            asprintf(&sdname, "%s-pod%s.slice", tier_stem, uid) < 0)
                return -ENOMEM;
        for (char *p = sdname + strlen(tier_stem) + 4; *p; p++)
                if (*p == '-')
                        *p = '_';
        ref->cgroupfs = cg_path_join(tier_cgroupfs, fsname, NULL);
        ref->systemd = cg_path_join(tier_systemd, sdname, NULL);
        return ref->cgroupfs && ref->systemd ? 0 : -ENOMEM;
}

int cg_list_pods(struct cg_manager *m, const char *tier_cgroupfs, const char *tier_systemd,
                 struct cg_pod_ref **ret, size_t *ret_n, struct qerr **err)
{
        const char *path;
        int r = pick_path(m, tier_cgroupfs, tier_systemd, &path, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *tier_unit = NULL;
        r = cg_systemd_unit_of(tier_systemd, &tier_unit, NULL, err);
        if (r < 0)
                return r;
        tier_unit[strlen(tier_unit) - strlen(".slice")] = 0;
        _cleanup_strv_free_ char **children = NULL;
        r = m->ops->children(m, path, &children, err);
        if (r < 0)
                return cg_wrap(r, err, "list pods in '%s'", path);
        struct cg_pod_ref *refs = calloc(cg_strv_length(children) + 1, sizeof(*refs));
        size_t n = 0;
        if (!refs)
                return qerr_set(err, ENOMEM, "list pods in '%s'", path);
        STRV_FOREACH (c, children) {
                char *uid = pod_uid_of(*c, m->ops == &cg_systemd_ops, tier_unit);
                if (!uid)
                        continue;
                if (pod_ref_fill(&refs[n++], uid, tier_cgroupfs, tier_systemd, tier_unit) < 0) {
                        cg_pod_refs_free(refs, n);
                        return qerr_set(err, ENOMEM, "list pods in '%s'", path);
                }
        }
        *ret = refs;
        *ret_n = n;
        return 0;
}
