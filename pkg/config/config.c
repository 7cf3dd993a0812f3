/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "api/quantity.h"
#include "basic/fileio.h"
#include "basic/strbuf.h"
#include "config/config.h"
#include "manifest/ytree.h"

void config_init(struct qoslet_config *c)
{
        *c = (struct qoslet_config){
                .pod_pids_limit = -1,
                .system_reserved = { -1, -1, -1 },
                .kube_reserved = { -1, -1, -1 },
                .container_log_max_files = -1,
                .read_only_port = -1,
                .file_check_frequency_s = -1,
                .http_check_frequency_s = -1,
        };
}

void config_done(struct qoslet_config *c)
{
        free(c->static_pod_path);
        free(c->static_pod_url);
        strv_free(c->static_pod_url_headers);
        free(c->cgroup_driver);
        free(c->cgroup_root);
        strv_free(c->eviction_hard);
        free(c->container_log_max_size);
        free(c->root_dir);
        free(c->run_dir);
        free(c->node_name);
        strv_free(c->insecure_registries);
        config_init(c);
}

static int set_reservation_item(struct reservation *r, const char *key, const char *val,
                                struct qerr **err)
{
        struct quantity q;
        const char *reason = NULL;
        int64_t v;
        if (quantity_parse(val, &q, &reason) < 0 || quantity_is_negative(&q))
                return qerr_set(err, EINVAL, "invalid quantity \"%s\" for '%s'", val, key);
        if (strcmp(key, "cpu") == 0) {
                if (quantity_milli_value(&q, &v) < 0)
                        return qerr_set(err, ERANGE, "quantity \"%s\" is too large", val);
                r->cpu_milli = v;
                return 0;
        }
        if (quantity_value(&q, &v) < 0)
                return qerr_set(err, ERANGE, "quantity \"%s\" is too large", val);
        if (strcmp(key, "memory") == 0)
                r->memory = v;
        else if (strcmp(key, "pid") == 0)
                r->pids = v;
        else if (strcmp(key, "ephemeral-storage") != 0)
                return qerr_set(err, EINVAL, "unsupported reservation '%s'", key);
        return 0;
}

int config_parse_reservation(const char *s, struct reservation *ret, struct qerr **err)
{
        struct reservation r = *ret;
        _cleanup_free_ char *copy = strdup(s);
        if (!copy)
                return qerr_set(err, ENOMEM, "parse reservation");
        char *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(tok, '=');
                if (!eq)
                        return qerr_set(err, EINVAL, "invalid reservation '%s': want name=quantity",
                                        tok);
                *eq = 0;
                int q = set_reservation_item(&r, tok, eq + 1, err);
                if (q < 0)
                        return q;
        }
        *ret = r;
        return 0;
}

int config_parse_duration(const char *s, int64_t *ret_seconds, struct qerr **err)
{
        int64_t total = 0;
        const char *p = s;
        if (!*p)
                return qerr_set(err, EINVAL, "invalid duration ''");
        while (*p) {
                char *end = NULL;
                errno = 0;
                long long v = strtoll(p, &end, 10);
                if (errno || end == p || v < 0 || v > 1000000000)
                        return qerr_set(err, EINVAL, "invalid duration '%s'", s);
                int64_t mul = 1;
                if (*end == 'h')
                        mul = 3600, end++;
                else if (*end == 'm' && end[1] != 's')
                        mul = 60, end++;
                else if (*end == 's')
                        end++;
                else if (*end)
                        return qerr_set(err, EINVAL, "invalid duration '%s'", s);
                total += v * mul;
                p = end;
        }
        *ret_seconds = total;
        return 0;
}

static bool is_str(const struct ynode *n)
{
        return n && n->kind == YNODE_SCALAR && !ynode_is_null(n);
}

static int set_string(char **dst, const struct ynode *v, const char *key, struct qerr **err)
{
        if (!is_str(v))
                return qerr_set(err, EINVAL, "%u:%u: %s: expected a string", v->line, v->column,
                                key);
        free(*dst);
        *dst = strdup(v->value);
        return *dst ? 0 : qerr_set(err, ENOMEM, "read config");
}

static int set_int(int64_t *dst, const struct ynode *v, const char *key, struct qerr **err)
{
        char *end = NULL;
        if (!is_str(v) || ynode_scalar_type(v) != YSCALAR_INT)
                return qerr_set(err, EINVAL, "%u:%u: %s: expected an integer", v->line, v->column,
                                key);
        errno = 0;
        long long x = strtoll(v->value, &end, 10);
        if (errno || *end)
                return qerr_set(err, EINVAL, "%u:%u: %s: invalid integer", v->line, v->column, key);
        *dst = x;
        return 0;
}

static int set_strv(char ***dst, const struct ynode *v, const char *key, struct qerr **err)
{
        if (v->kind != YNODE_SEQUENCE)
                return qerr_set(err, EINVAL, "%u:%u: %s: expected a list of strings", v->line,
                                v->column, key);
        char **l = calloc(v->n + 1, sizeof(char *));
        if (!l)
                return qerr_set(err, ENOMEM, "read config");
        for (size_t i = 0; i < v->n; i++) {
                if (!is_str(v->items[i]) || !(l[i] = strdup(v->items[i]->value))) {
                        strv_free(l);
                        return qerr_set(err, EINVAL, "%u:%u: %s[%zu]: expected a string",
                                        v->items[i]->line, v->items[i]->column, key, i);
                }
        }
        strv_free(*dst);
        *dst = l;
        return 0;
}

/* evictionHard and the reservations are mappings of name to quantity string. */
static int set_map_pairs(const struct ynode *v, const char *key, const char *sep,
                         struct strbuf *out, struct qerr **err)
{
        if (v->kind != YNODE_MAPPING)
                return qerr_set(err, EINVAL, "%u:%u: %s: expected a mapping", v->line, v->column,
                                key);
        for (size_t i = 0; i + 1 < v->n; i += 2) {
                if (!is_str(v->items[i]) || !is_str(v->items[i + 1]))
                        return qerr_set(err, EINVAL, "%u:%u: %s: expected string values",
                                        v->items[i]->line, v->items[i]->column, key);
                strbuf_printf(out, "%s%s%s%s", out->len ? "," : "", v->items[i]->value, sep,
                              v->items[i + 1]->value);
        }
        return 0;
}

static int set_reservation(struct reservation *r, const struct ynode *v, const char *key,
                           struct qerr **err)
{
        _cleanup_strbuf_ struct strbuf sb = { 0 };
        int q = set_map_pairs(v, key, "=", &sb, err);
        if (q < 0)
                return q;
        if (!sb.buf)
                return 0;
        q = config_parse_reservation(sb.buf, r, err);
        return q < 0 ? qerr_wrap(err, "%u:%u: %s", v->line, v->column, key) : 0;
}

static int set_duration(int64_t *dst, const struct ynode *v, const char *key, struct qerr **err)
{
        if (!is_str(v))
                return qerr_set(err, EINVAL, "%u:%u: %s: expected a duration", v->line, v->column,
                                key);
        int q = config_parse_duration(v->value, dst, err);
        return q < 0 ? qerr_wrap(err, "%u:%u: %s", v->line, v->column, key) : 0;
}

static int set_eviction(struct qoslet_config *c, const struct ynode *v, struct qerr **err)
{
        _cleanup_strbuf_ struct strbuf sb = { 0 };
        int q = set_map_pairs(v, "evictionHard", "<", &sb, err);
        if (q < 0)
                return q;
        strv_free(c->eviction_hard);
        c->eviction_hard = calloc(2, sizeof(char *));
        if (!c->eviction_hard || !(c->eviction_hard[0] = strdup(sb.buf ? sb.buf : "")))
                return qerr_set(err, ENOMEM, "read config");
        return 0;
}

static int config_key(struct qoslet_config *c, const char *k, const struct ynode *v, bool *known,
                      struct qerr **err)
{
        *known = true;
        if (strcmp(k, "staticPodPath") == 0)
                return set_string(&c->static_pod_path, v, k, err);
        if (strcmp(k, "staticPodURL") == 0)
                return set_string(&c->static_pod_url, v, k, err);
        if (strcmp(k, "cgroupDriver") == 0)
                return set_string(&c->cgroup_driver, v, k, err);
        if (strcmp(k, "cgroupRoot") == 0)
                return set_string(&c->cgroup_root, v, k, err);
        if (strcmp(k, "podPidsLimit") == 0)
                return set_int(&c->pod_pids_limit, v, k, err);
        if (strcmp(k, "systemReserved") == 0)
                return set_reservation(&c->system_reserved, v, k, err);
        if (strcmp(k, "kubeReserved") == 0)
                return set_reservation(&c->kube_reserved, v, k, err);
        if (strcmp(k, "evictionHard") == 0)
                return set_eviction(c, v, err);
        if (strcmp(k, "containerLogMaxSize") == 0)
                return set_string(&c->container_log_max_size, v, k, err);
        if (strcmp(k, "containerLogMaxFiles") == 0)
                return set_int(&c->container_log_max_files, v, k, err);
        if (strcmp(k, "readOnlyPort") == 0)
                return set_int(&c->read_only_port, v, k, err);
        if (strcmp(k, "fileCheckFrequency") == 0)
                return set_duration(&c->file_check_frequency_s, v, k, err);
        if (strcmp(k, "httpCheckFrequency") == 0)
                return set_duration(&c->http_check_frequency_s, v, k, err);
        if (strcmp(k, "rootDir") == 0)
                return set_string(&c->root_dir, v, k, err);
        if (strcmp(k, "runDir") == 0)
                return set_string(&c->run_dir, v, k, err);
        if (strcmp(k, "nodeName") == 0 || strcmp(k, "hostnameOverride") == 0)
                return set_string(&c->node_name, v, k, err);
        if (strcmp(k, "insecureRegistries") == 0)
                return set_strv(&c->insecure_registries, v, k, err);
        if (strcmp(k, "kind") == 0 || strcmp(k, "apiVersion") == 0)
                return 0;
        *known = false;
        return 0;
}

int config_load(struct qoslet_config *c, const char *path, char ***ret_warnings, struct qerr **err)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int r = read_full_file(path, 1 << 20, &buf, &len, err);
        if (r < 0)
                return qerr_wrap(err, "read config '%s'", path);
        _cleanup_(ystream_freep) struct ystream *s = NULL;
        unsigned line = 0, col = 0;
        r = ystream_parse(buf, len, &s, &line, &col, NULL, err);
        if (r < 0)
                return qerr_wrap(err, "%s:%u:%u", path, line, col);
        const struct ydoc *d = ystream_doc(s, 0);
        if (!d || !d->root || ynode_is_null(d->root))
                return 0;
        if (d->root->kind != YNODE_MAPPING)
                return qerr_set(err, EINVAL, "%s: expected a mapping", path);
        _cleanup_strv_free_ char **warnings = calloc(d->root->n / 2 + 1, sizeof(char *));
        size_t nw = 0;
        for (size_t i = 0; i + 1 < d->root->n; i += 2) {
                const struct ynode *k = d->root->items[i], *v = d->root->items[i + 1];
                bool known = false;
                if (!is_str(k))
                        continue;
                r = config_key(c, k->value, v, &known, err);
                if (r < 0)
                        return qerr_wrap(err, "%s", path);
                if (!known && warnings &&
                    asprintf(&warnings[nw], "%s:%u:%u: %s: unknown field, ignored", path, k->line,
                             k->column, k->value) >= 0)
                        nw++;
        }
        if (ret_warnings)
                *ret_warnings = TAKE_PTR(warnings);
        return 0;
}
