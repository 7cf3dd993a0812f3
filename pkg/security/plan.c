/* SPDX-License-Identifier: Apache-2.0 */
#include <linux/capability.h>
#include <string.h>
#include <strings.h>

#include "security/internal.h"
#include "security/security.h"

/* containerd's defaults for a container that is neither privileged nor procMount Unmasked. */
static const char *const default_masked_paths[] = {
        "/proc/acpi",
        "/proc/asound",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/proc/scsi",
        "/sys/firmware",
        "/sys/devices/virtual/powercap",
        NULL,
};

static const char *const default_readonly_paths[] = {
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

void sec_plan_done(struct sec_plan *p)
{
        free(p->seccomp_profile);
        strv_free(p->masked_paths);
        strv_free(p->readonly_paths);
        free(p->groups);
        for (size_t i = 0; i < p->n_sysctls; i++) {
                free(p->sysctls[i].name);
                free(p->sysctls[i].value);
        }
        free(p->sysctls);
        *p = (struct sec_plan){ 0 };
}

/* The securityContext fields a container inherits from its pod's. */
struct effective {
        bool has_uid, has_gid, non_root;
        int64_t uid, gid;
        const struct seccomp_profile *seccomp;
};

static struct effective effective_context(const struct pod *pod, const struct container *c)
{
        const struct security_context *ps = &pod->spec.security, *cs = &c->security;
        struct effective e = {
                .has_uid = cs->has_run_as_user || ps->has_run_as_user,
                .uid = cs->has_run_as_user ? cs->run_as_user : ps->run_as_user,
                .has_gid = cs->has_run_as_group || ps->has_run_as_group,
                .gid = cs->has_run_as_group ? cs->run_as_group : ps->run_as_group,
                .non_root = cs->has_run_as_non_root
                                    ? cs->run_as_non_root
                                    : ps->has_run_as_non_root && ps->run_as_non_root,
                .seccomp = cs->seccomp.type != SECCOMP_UNSET ? &cs->seccomp : &ps->seccomp,
        };
        return e;
}

static int cap_list_apply(const struct container *c, char *const *names, bool add, uint64_t *caps,
                          uint64_t *want, struct qerr **err)
{
        for (size_t i = 0; names && names[i]; i++) {
                if (strcasecmp(names[i], "ALL") == 0)
                        continue;
                int cap = sec_cap_from_name(names[i]);
                if (cap < 0)
                        return qerr_set(err, EINVAL,
                                        "container '%s': unknown capability '%s' in "
                                        "capabilities.%s",
                                        c->name, names[i], add ? "add" : "drop");
                uint64_t bit = UINT64_C(1) << cap;
                if (add) {
                        *caps |= bit;
                        *want |= bit;
                } else {
                        *caps &= ~bit;
                        *want &= ~bit;
                }
        }
        return 0;
}

static bool strv_has_all(char *const *l)
{
        for (size_t i = 0; l && l[i]; i++)
                if (strcasecmp(l[i], "ALL") == 0)
                        return true;
        return false;
}

/* containerd's order: add ALL, drop ALL, then single adds, then single drops, so that "drop
 * ALL, add NET_BIND_SERVICE" keeps that one and "add X, drop X" drops it. */
static int plan_caps(const struct container *c, uint64_t own, struct sec_plan *p, struct qerr **err)
{
        const struct capabilities *cc = &c->security.capabilities;
        uint64_t caps = SEC_DEFAULT_CAPS, want = 0;
        if (p->privileged)
                caps = own;
        else {
                if (strv_has_all(cc->add))
                        caps = own;
                if (strv_has_all(cc->drop))
                        caps = 0;
                int r = cap_list_apply(c, cc->add, true, &caps, &want, err);
                if (r < 0 || (r = cap_list_apply(c, cc->drop, false, &caps, &want, err)) < 0)
                        return r;
        }
        p->cap_unavailable = want & ~own;
        caps &= own;
        /* As containerd since CVE-2022-24769: no inheritable set, so that file capabilities
         * cannot be picked up across execve() by a non-root user. */
        p->cap_bounding = p->cap_permitted = p->cap_effective = caps;
        p->cap_inheritable = p->cap_ambient = 0;
        return 0;
}

static char *pod_ref(const struct pod *pod)
{
        char *s = NULL;
        if (asprintf(&s, "%s_%s(%s)", pod->metadata.name ? pod->metadata.name : "",
                     pod->metadata.namespace ? pod->metadata.namespace : "",
                     pod->metadata.uid ? pod->metadata.uid : "") < 0)
                return NULL;
        return s;
}

/* The kubelet's verifyRunAsNonRoot: only a numeric user can be proven non-root. */
static int check_non_root(const struct pod *pod, const struct container *c,
                          const struct effective *e, const struct sec_image_user *img,
                          struct qerr **err)
{
        if (!e->non_root)
                return 0;
        _cleanup_free_ char *ref = pod_ref(pod);
        if (!ref)
                return qerr_set(err, ENOMEM, "check runAsNonRoot");
        if (e->has_uid)
                return e->uid != 0 ? 0
                                   : qerr_set(err, EPERM,
                                              "container's runAsUser breaks non-root policy (pod: "
                                              "\"%s\", container: %s)",
                                              ref, c->name);
        _cleanup_free_ char *user = strndup(img && img->user ? img->user : "",
                                            strcspn(img && img->user ? img->user : "", ":"));
        if (!user)
                return qerr_set(err, ENOMEM, "check runAsNonRoot");
        uint32_t uid;
        if (!*user || (sec_parse_id(user, &uid) == 0 && uid == 0))
                return qerr_set(err, EPERM,
                                "container has runAsNonRoot and image will run as root (pod: "
                                "\"%s\", container: %s)",
                                ref, c->name);
        if (sec_parse_id(user, &uid) < 0)
                return qerr_set(err, EPERM,
                                "container has runAsNonRoot and image has non-numeric user (%s), "
                                "cannot verify user is non-root (pod: \"%s\", container: %s)",
                                user, ref, c->name);
        return 0;
}

static int plan_user(const struct pod *pod, const struct container *c, const struct effective *e,
                     const struct sec_image_user *img, struct sec_plan *p, struct qerr **err)
{
        if ((e->has_uid && (e->uid < 0 || e->uid > INT32_MAX)) ||
            (e->has_gid && (e->gid < 0 || e->gid > INT32_MAX)))
                return qerr_set(err, ERANGE,
                                "container '%s': runAsUser and runAsGroup must be between 0 and "
                                "2147483647",
                                c->name);
        int r = check_non_root(pod, c, e, img, err);
        if (r < 0)
                return r;
        struct sec_user u;
        r = sec_resolve_user(img ? img->rootfs : NULL, img ? img->user : NULL, e->has_uid, e->uid,
                             e->has_gid, e->gid, &u, err);
        if (r < 0)
                return qerr_wrap(err, "container '%s'", c->name);
        _cleanup_free_ uint32_t *image_groups = u.groups;
        p->uid = u.uid;
        p->gid = u.gid;
        /* containerd's order: the primary group, the image's memberships, then the pod's
         * fsGroup and supplementalGroups (the kubelet puts fsGroup first). */
        const struct security_context *ps = &pod->spec.security;
        bool bad = ps->has_fs_group && (ps->fs_group < 0 || ps->fs_group > INT32_MAX);
        for (size_t i = 0; i < ps->n_supplemental_groups; i++)
                bad = bad || ps->supplemental_groups[i] < 0 ||
                      ps->supplemental_groups[i] > INT32_MAX;
        if (bad)
                return qerr_set(err, ERANGE,
                                "fsGroup and supplementalGroups must be between 0 and 2147483647");
        r = sec_ids_add(&p->groups, &p->n_groups, u.gid);
        for (size_t i = 0; r >= 0 && i < u.n_groups; i++)
                r = sec_ids_add(&p->groups, &p->n_groups, image_groups[i]);
        if (r >= 0 && ps->has_fs_group)
                r = sec_ids_add(&p->groups, &p->n_groups, (uint32_t)ps->fs_group);
        for (size_t i = 0; r >= 0 && i < ps->n_supplemental_groups; i++)
                r = sec_ids_add(&p->groups, &p->n_groups, (uint32_t)ps->supplemental_groups[i]);
        return r < 0 ? qerr_set(err, -r, "add supplementary groups") : 0;
}

static bool localhost_path_ok(const char *path)
{
        if (!path || !*path || *path == '/')
                return false;
        for (const char *p = path; *p;) {
                size_t len = strcspn(p, "/");
                if ((len == 2 && strncmp(p, "..", 2) == 0))
                        return false;
                p += len + (p[len] == '/');
        }
        return true;
}

static int plan_seccomp(const struct container *c, const struct effective *e, struct sec_plan *p,
                        struct qerr **err)
{
        /* containerd loads no filter for a privileged container, whatever the profile says. */
        if (p->privileged) {
                p->seccomp = SEC_SECCOMP_UNCONFINED;
                return 0;
        }
        switch (e->seccomp->type) {
        case SECCOMP_RUNTIME_DEFAULT:
                p->seccomp = SEC_SECCOMP_RUNTIME_DEFAULT;
                return 0;
        case SECCOMP_LOCALHOST:
                if (!localhost_path_ok(e->seccomp->localhost_profile))
                        return qerr_set(
                                err, EINVAL,
                                "container '%s': localhost seccomp profile '%s' must be "
                                "a relative path inside the profile directory",
                                c->name,
                                e->seccomp->localhost_profile ? e->seccomp->localhost_profile : "");
                p->seccomp = SEC_SECCOMP_LOCALHOST;
                p->seccomp_profile = strdup(e->seccomp->localhost_profile);
                return p->seccomp_profile ? 0 : qerr_set(err, ENOMEM, "plan seccomp");
        default:
                /* The kubelet's default while seccompDefault is off. */
                p->seccomp = SEC_SECCOMP_UNCONFINED;
                return 0;
        }
}

static char **strv_copy(const char *const *l)
{
        size_t n = 0;
        while (l[n])
                n++;
        char **r = calloc(n + 1, sizeof(char *));
        for (size_t i = 0; r && i < n; i++)
                if (!(r[i] = strdup(l[i]))) {
                        strv_free(r);
                        return NULL;
                }
        return r;
}

static int plan_paths(const struct container *c, struct sec_plan *p, struct qerr **err)
{
        const char *pm = c->security.proc_mount;
        if (pm && *pm && strcmp(pm, "Default") != 0)
                return qerr_set(err, EINVAL,
                                strcmp(pm, "Unmasked") == 0
                                        ? "container '%s': procMount '%s' needs a user namespace "
                                          "(hostUsers: false), which qoslet does not support"
                                        : "container '%s': unknown procMount '%s'",
                                c->name, pm);
        if (p->privileged)
                return 0;
        p->masked_paths = strv_copy(default_masked_paths);
        p->readonly_paths = strv_copy(default_readonly_paths);
        return p->masked_paths && p->readonly_paths ? 0 : qerr_set(err, ENOMEM, "plan paths");
}

static bool has_prefix(const char *s, const char *prefix)
{
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int check_sysctl(const struct pod_spec *spec, const char *name, struct qerr **err)
{
        if (!sec_sysctl_is_safe(name))
                return qerr_set(err, EPERM, "forbidden sysctl '%s': not in the safe set", name);
        if (spec->host_network && has_prefix(name, "net."))
                return qerr_set(err, EPERM, "sysctl '%s' not allowed with hostNetwork enabled",
                                name);
        if (spec->host_ipc && (has_prefix(name, "kernel.shm") || has_prefix(name, "kernel.msg") ||
                               has_prefix(name, "kernel.sem") || has_prefix(name, "fs.mqueue.")))
                return qerr_set(err, EPERM, "sysctl '%s' not allowed with hostIPC enabled", name);
        return 0;
}

static int plan_sysctls(const struct pod *pod, struct sec_plan *p, struct qerr **err)
{
        const struct security_context *ps = &pod->spec.security;
        if (ps->n_sysctls == 0)
                return 0;
        p->sysctls = calloc(ps->n_sysctls, sizeof(*p->sysctls));
        if (!p->sysctls)
                return qerr_set(err, ENOMEM, "plan sysctls");
        for (size_t i = 0; i < ps->n_sysctls; i++) {
                const struct sysctl *s = &ps->sysctls[i];
                _cleanup_free_ char *name = sec_sysctl_normalize(s->name ? s->name : "");
                if (!name)
                        return qerr_set(err, ENOMEM, "plan sysctls");
                int r = check_sysctl(&pod->spec, name, err);
                if (r < 0)
                        return r;
                for (size_t j = 0; j < p->n_sysctls; j++)
                        if (strcmp(p->sysctls[j].name, name) == 0)
                                return qerr_set(err, EINVAL, "sysctl '%s' is set twice", name);
                struct sec_sysctl *d = &p->sysctls[p->n_sysctls];
                d->value = strdup(s->value ? s->value : "");
                if (!d->value)
                        return qerr_set(err, ENOMEM, "plan sysctls");
                d->name = TAKE_PTR(name);
                p->n_sysctls++;
        }
        return 0;
}

/* Combinations the API server refuses; a static pod never passed through one. */
static int validate(const struct container *c, struct qerr **err)
{
        const struct security_context *cs = &c->security;
        if (!cs->has_allow_privilege_escalation || cs->allow_privilege_escalation)
                return 0;
        if (cs->has_privileged && cs->privileged)
                return qerr_set(err, EINVAL,
                                "container '%s': cannot set allowPrivilegeEscalation to false and "
                                "privileged to true",
                                c->name);
        for (size_t i = 0; cs->capabilities.add && cs->capabilities.add[i]; i++)
                if (sec_cap_from_name(cs->capabilities.add[i]) == CAP_SYS_ADMIN)
                        return qerr_set(err, EINVAL,
                                        "container '%s': cannot set allowPrivilegeEscalation to "
                                        "false and capabilities.add CAP_SYS_ADMIN",
                                        c->name);
        return 0;
}

int sec_plan_for_container(const struct pod *pod, const struct container *c,
                           const struct sec_image_user *img, uint64_t own_bounding_set,
                           struct sec_plan *ret, struct qerr **err)
{
        _cleanup_sec_plan_ struct sec_plan p = { 0 };
        const struct security_context *cs = &c->security;
        struct effective e = effective_context(pod, c);
        int r = validate(c, err);
        if (r < 0)
                return r;
        p.privileged = cs->has_privileged && cs->privileged;
        p.no_new_privs = cs->has_allow_privilege_escalation && !cs->allow_privilege_escalation;
        p.read_only_rootfs = cs->has_read_only_root_filesystem && cs->read_only_root_filesystem;
        if ((r = plan_caps(c, own_bounding_set, &p, err)) < 0 ||
            (r = plan_user(pod, c, &e, img, &p, err)) < 0 ||
            (r = plan_seccomp(c, &e, &p, err)) < 0 || (r = plan_paths(c, &p, err)) < 0 ||
            (r = plan_sysctls(pod, &p, err)) < 0)
                return r;
        *ret = p;
        p = (struct sec_plan){ 0 };
        return 0;
}
