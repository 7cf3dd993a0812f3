/* SPDX-License-Identifier: Apache-2.0 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/fileio.h"
#include "basic/macro.h"
#include "cgroups/cgroup-internal.h"
#include "helpers/cgplan.h"
#include "helpers/paths.h"

static void cgroup_done(struct cgplan_cgroup *c)
{
        free(c->name);
        free(c->fs);
        free(c->sd);
        cg_values_done(&c->v2);
        cg_values_done(&c->v1);
        *c = (struct cgplan_cgroup){ 0 };
}

void cgplan_done(struct cgplan *p)
{
        for (size_t i = 0; i < p->n_pods; i++) {
                struct cgplan_pod *pod = &p->pods[i];
                for (size_t k = 0; k < pod->n_containers; k++)
                        cgroup_done(&pod->containers[k]);
                free(pod->containers);
                cgroup_done(&pod->cg);
                free(pod->uid);
                free(pod->qos);
        }
        free(p->pods);
        cgroup_done(&p->kubepods);
        cgroup_done(&p->burstable);
        cgroup_done(&p->besteffort);
        *p = (struct cgplan){ 0 };
}

/* A JSON object of file name to string, in the order the plan prints it (the order the
 * kernel needs: the v1 period before the quota). */
static int values_from_json(json_t *obj, struct cg_values *ret, struct qerr **err)
{
        if (!json_is_object(obj))
                return qerr_set(err, EBADMSG, "values are not an object");
        struct cg_values v = { .files = calloc(json_object_size(obj) + 1, sizeof(struct cg_file)) };
        if (!v.files)
                return qerr_set(err, ENOMEM, "values");
        const char *k;
        json_t *val;
        json_object_foreach(obj, k, val)
        {
                if (!json_is_string(val)) {
                        cg_values_done(&v);
                        return qerr_set(err, EBADMSG, "value of '%s' is not a string", k);
                }
                struct cg_file *f = &v.files[v.n++];
                f->name = strdup(k);
                f->value = strdup(json_string_value(val));
                if (!f->name || !f->value) {
                        cg_values_done(&v);
                        return qerr_set(err, ENOMEM, "values");
                }
        }
        *ret = v;
        return 0;
}

static char *dup_string(json_t *obj, const char *key)
{
        const char *s = json_string_value(json_object_get(obj, key));
        return s ? strdup(s) : NULL;
}

/* An object with "cgroup" {cgroupfs, systemd}, "v2" and "v1". */
static int cgroup_from_json(json_t *obj, const char *name, struct cgplan_cgroup *ret,
                            struct qerr **err)
{
        json_t *cg = json_object_get(obj, "cgroup");
        struct cgplan_cgroup c = { .name = strdup(name),
                                   .fs = dup_string(cg, "cgroupfs"),
                                   .sd = dup_string(cg, "systemd") };
        int r = c.name && c.fs && c.sd ? 0
                                       : qerr_set(err, EBADMSG, "no cgroup paths of '%s'", name);
        if (r >= 0)
                r = values_from_json(json_object_get(obj, "v2"), &c.v2, err);
        if (r >= 0)
                r = values_from_json(json_object_get(obj, "v1"), &c.v1, err);
        if (r < 0) {
                cgroup_done(&c);
                return qerr_wrap(err, "'%s'", name);
        }
        *ret = c;
        return 0;
}

static int container_from_json(json_t *obj, const struct cgplan_cgroup *pod, const char *pod_uid,
                               struct cgplan_cgroup *ret, struct qerr **err)
{
        const char *name = json_string_value(json_object_get(obj, "name"));
        if (!name)
                return qerr_set(err, EBADMSG, "container without a name");
        /* Container ids are unique on the node: a systemd scope is named by its id alone. */
        _cleanup_free_ char *id = NULL;
        struct cgplan_cgroup c = { .name = strdup(name) };
        int r = c.name && asprintf(&id, "%s-%s", pod_uid, name) > 0
                        ? cg_container_paths(pod->fs, pod->sd, id, &c.fs, &c.sd, err)
                        : qerr_set(err, ENOMEM, "container");
        if (r >= 0)
                r = values_from_json(json_object_get(obj, "v2"), &c.v2, err);
        if (r >= 0)
                r = values_from_json(json_object_get(obj, "v1"), &c.v1, err);
        if (r < 0) {
                cgroup_done(&c);
                return qerr_wrap(err, "container '%s'", name);
        }
        *ret = c;
        return 0;
}

static int pod_from_json(json_t *obj, struct cgplan_pod *ret, struct qerr **err)
{
        const char *name = json_string_value(json_object_get(obj, "name"));
        json_t *cs = json_object_get(obj, "containers");
        struct cgplan_pod p = { .uid = dup_string(obj, "uid"), .qos = dup_string(obj, "qosClass") };
        int r = name && p.uid && p.qos && json_is_array(cs)
                        ? cgroup_from_json(obj, name, &p.cg, err)
                        : qerr_set(err, EBADMSG, "pod without name, uid, class or containers");
        if (r >= 0 && !(p.containers = calloc(json_array_size(cs) + 1, sizeof(*p.containers))))
                r = qerr_set(err, ENOMEM, "containers");
        for (size_t i = 0; r >= 0 && i < json_array_size(cs); i++) {
                r = container_from_json(json_array_get(cs, i), &p.cg, p.uid, &p.containers[i], err);
                p.n_containers += r >= 0;
        }
        if (r < 0) {
                struct cgplan one = { .pods = &p, .n_pods = 1 };
                cgplan_done(&one); /* frees the members, not the array */
                return r;
        }
        *ret = p;
        return 0;
}

static int plan_from_json(json_t *root, struct cgplan *ret, struct qerr **err)
{
        json_t *pods = json_object_get(root, "pods"), *tiers = json_object_get(root, "tiers");
        if (!json_is_array(pods) || !json_is_object(tiers))
                return qerr_set(err, EBADMSG, "plan without pods or tiers");
        struct cgplan p = { .pods = calloc(json_array_size(pods) + 1, sizeof(*p.pods)) };
        int r = p.pods ? 0 : qerr_set(err, ENOMEM, "plan");
        for (size_t i = 0; r >= 0 && i < json_array_size(pods); i++) {
                r = pod_from_json(json_array_get(pods, i), &p.pods[i], err);
                p.n_pods += r >= 0;
        }
        const char *names[] = { "kubepods", "burstable", "besteffort" };
        struct cgplan_cgroup *dst[] = { &p.kubepods, &p.burstable, &p.besteffort };
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(names); i++)
                r = cgroup_from_json(json_object_get(tiers, names[i]), names[i], dst[i], err);
        if (r < 0) {
                cgplan_done(&p);
                return r;
        }
        *ret = p;
        return 0;
}

int cgplan_run(const char *root, const char *driver, const char *extra, char *const *files,
               struct cgplan *ret, struct qerr **err)
{
        _cleanup_free_ char *qosctl = test_program_path("qosctl"), *cmd = NULL, *out = NULL;
        if (!qosctl || asprintf(&cmd,
                                "%s plan -o json --node-name cgtest --cgroup-root %s "
                                "--cgroup-driver %s %s",
                                qosctl, root, driver, extra ? extra : "") < 0)
                return qerr_set(err, ENOMEM, "plan command");
        for (char *const *f = files; f && *f; f++) {
                char *c = NULL;
                if (asprintf(&c, "%s '%s'", cmd, *f) < 0)
                        return qerr_set(err, ENOMEM, "plan command");
                free(cmd);
                cmd = c;
        }
        int status = test_run_capture(cmd, &out);
        if (status != 0 || !out)
                return qerr_set(err, EIO, "'%s' exited with %d", cmd, status);
        json_error_t je;
        json_t *j = json_loads(out, 0, &je);
        if (!j)
                return qerr_set(err, EBADMSG, "output of '%s': %s", cmd, je.text);
        int r = plan_from_json(j, ret, err);
        json_decref(j);
        return r < 0 ? qerr_wrap(err, "plan of '%s'", cmd) : 0;
}

const struct cgplan_pod *cgplan_find_pod(const struct cgplan *p, const char *uid)
{
        for (size_t i = 0; i < p->n_pods; i++)
                if (strcmp(p->pods[i].uid, uid) == 0)
                        return &p->pods[i];
        return NULL;
}

char *cgplan_write_file(const char *dir, const char *name, const char *text)
{
        char *path = NULL;
        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return NULL;
        FILE *f = fopen(path, "we");
        if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
                free(path);
                return NULL;
        }
        return path;
}

const struct cg_values *cgplan_values(const struct cg_manager *m, const struct cgplan_cgroup *c)
{
        return cg_manager_mode(m) == CG_MODE_UNIFIED ? &c->v2 : &c->v1;
}

/* Read from the system, not from the manager, so that the manager's own view is checked. */
bool cgplan_host_lacks(const struct cg_manager *m, const char *name)
{
        bool v2 = cg_manager_mode(m) == CG_MODE_UNIFIED;
        enum cg_controller c;
        if (cg_file_controller(name, !v2, &c, NULL) < 0 || c == _CG_CONTROLLER_MAX)
                return false;
        _cleanup_free_ char *text = NULL;
        if (v2) {
                if (read_full_file("/sys/fs/cgroup/cgroup.controllers", 4096, &text, NULL, NULL) <
                    0)
                        return true;
                return !(cg_parse_controller_list(text) & CG_MASK(c));
        }
        struct cg_mounts mounts;
        if (read_full_file("/proc/self/mountinfo", 1 << 20, &text, NULL, NULL) < 0 ||
            cg_mounts_parse(text, &mounts, NULL) < 0)
                return true;
        bool lacks = !mounts.v1[c];
        cg_mounts_done(&mounts);
        return lacks;
}

int cgplan_check(struct cg_manager *m, const struct cgplan_cgroup *c, size_t *n_checked,
                 size_t *n_lacking, struct qerr **err)
{
        const struct cg_values *v = cgplan_values(m, c);
        for (size_t i = 0; i < v->n; i++) {
                const struct cg_file *f = &v->files[i];
                if (cgplan_host_lacks(m, f->name)) {
                        (*n_lacking)++;
                        continue;
                }
                _cleanup_free_ char *got = NULL;
                int r = cg_read(m, c->fs, c->sd, f->name, &got, err);
                if (r < 0)
                        return qerr_wrap(err, "read back");
                if (strcmp(got, f->value) != 0)
                        return qerr_set(err, EBADMSG,
                                        "%s of '%s' holds \"%s\", the plan says \"%s\"", f->name,
                                        c->fs, got, f->value);
                (*n_checked)++;
        }
        return 0;
}
