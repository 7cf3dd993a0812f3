/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "runtime/process.h"

struct env_list {
        char **v;
        size_t n;
};

static void env_list_done(struct env_list *l)
{
        strv_free(l->v);
}

/* Sets name=value, replacing an earlier entry of that name in place. Takes entry. */
static int env_list_put(struct env_list *l, char *entry)
{
        size_t klen = strcspn(entry, "=");
        for (size_t i = 0; i < l->n; i++)
                if (strncmp(l->v[i], entry, klen) == 0 && l->v[i][klen] == '=') {
                        free(l->v[i]);
                        l->v[i] = entry;
                        return 0;
                }
        char **nv = realloc(l->v, (l->n + 2) * sizeof(char *));
        if (!nv) {
                free(entry);
                return -ENOMEM;
        }
        l->v = nv;
        l->v[l->n++] = entry;
        l->v[l->n] = NULL;
        return 0;
}

static int env_list_putf(struct env_list *l, const char *name, const char *value)
{
        char *e = NULL;
        if (asprintf(&e, "%s=%s", name, value) < 0)
                return -ENOMEM;
        return env_list_put(l, e);
}

/* metadata.labels['key'] and metadata.annotations['key'] */
static const char *kv_subscript(const char *path, const char *prefix, const struct kv *l, size_t n)
{
        size_t pl = strlen(prefix);
        if (strncmp(path, prefix, pl) != 0)
                return NULL;
        const char *key = path + pl;
        size_t len = strlen(key);
        if (len < 4 || key[0] != '[' || key[1] != '\'' || strcmp(key + len - 2, "']") != 0)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (strlen(l[i].key) == len - 4 && strncmp(l[i].key, key + 2, len - 4) == 0)
                        return l[i].value;
        return "";
}

static const char *field_ref_value(const char *path, const struct pod_env_context *ctx)
{
        const struct pod *p = ctx->pod;
        const char *v;
        if (strcmp(path, "metadata.name") == 0)
                return p->metadata.name;
        if (strcmp(path, "metadata.namespace") == 0)
                return p->metadata.namespace;
        if (strcmp(path, "metadata.uid") == 0)
                return p->metadata.uid;
        if (strcmp(path, "spec.nodeName") == 0)
                return p->spec.node_name;
        if (strcmp(path, "spec.serviceAccountName") == 0)
                return p->spec.service_account_name;
        if (strcmp(path, "status.podIP") == 0 || strcmp(path, "status.podIPs") == 0)
                return ctx->pod_ip;
        if (strcmp(path, "status.hostIP") == 0 || strcmp(path, "status.hostIPs") == 0)
                return ctx->host_ip;
        v = kv_subscript(path, "metadata.labels", p->metadata.labels, p->metadata.n_labels);
        if (v)
                return v;
        return kv_subscript(path, "metadata.annotations", p->metadata.annotations,
                            p->metadata.n_annotations);
}

static const char *env_lookup_cb(const char *name, size_t len, void *userdata)
{
        const struct env_list *l = userdata;
        return strv_env_lookup(l->v, name, len);
}

static int env_value(const struct env_var *e, const struct pod_env_context *ctx,
                     const struct env_list *sofar, char **ret, struct qerr **err)
{
        const char *v;
        switch (e->source) {
        case ENV_SOURCE_NONE:
                *ret = expand_var_refs(e->value ? e->value : "", env_lookup_cb, (void *)sofar);
                return *ret ? 0 : qerr_set(err, ENOMEM, "expand env '%s'", e->name);
        case ENV_SOURCE_FIELD_REF:
                v = field_ref_value(e->source_ref ? e->source_ref : "", ctx);
                if (!v)
                        return qerr_set(err, ENOTSUP, "env '%s': fieldRef '%s' is not supported",
                                        e->name, e->source_ref ? e->source_ref : "");
                *ret = strdup(v);
                return *ret ? 0 : qerr_set(err, ENOMEM, "copy env '%s'", e->name);
        default:
                return qerr_set(err, ENOTSUP, "env '%s': this valueFrom source is not supported",
                                e->name);
        }
}

int container_kube_env(const struct container *c, const struct pod_env_context *ctx, char ***ret,
                       struct qerr **err)
{
        if (c->n_env_from > 0)
                return qerr_set(err, ENOTSUP, "container '%s': envFrom is not supported", c->name);
        _cleanup_(env_list_done) struct env_list l = { .v = calloc(1, sizeof(char *)) };
        if (!l.v)
                return qerr_set(err, ENOMEM, "build env");
        for (size_t i = 0; i < c->n_env; i++) {
                _cleanup_free_ char *value = NULL;
                int r = env_value(&c->env[i], ctx, &l, &value, err);
                if (r < 0)
                        return r;
                if (env_list_putf(&l, c->env[i].name, value) < 0)
                        return qerr_set(err, ENOMEM, "build env");
        }
        *ret = TAKE_PTR(l.v);
        return 0;
}

int container_final_env(const struct image_process *img, const char *hostname,
                        char *const *kube_env, char ***ret, struct qerr **err)
{
        _cleanup_(env_list_done) struct env_list l = { 0 };
        char *path = strdup(DEFAULT_PATH_ENV);
        int r = path ? env_list_put(&l, path) : -ENOMEM;
        for (size_t i = 0; r == 0 && img && img->env && img->env[i]; i++) {
                char *e = strchr(img->env[i], '=') ? strdup(img->env[i]) : NULL;
                if (e)
                        r = env_list_put(&l, e);
        }
        if (r == 0)
                r = env_list_putf(&l, "HOSTNAME", hostname);
        for (size_t i = 0; r == 0 && kube_env && kube_env[i]; i++) {
                char *e = strdup(kube_env[i]);
                r = e ? env_list_put(&l, e) : -ENOMEM;
        }
        if (r < 0)
                return qerr_set(err, -r, "build env");
        *ret = TAKE_PTR(l.v);
        return 0;
}
