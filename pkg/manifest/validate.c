/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <string.h>

#include "basic/strbuf.h"
#include "manifest/validate.h"

static bool is_lower_alnum(char ch)
{
        return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

static bool is_label_n(const char *s, size_t n)
{
        if (n == 0 || n > 63 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_lower_alnum(s[i]) && s[i] != '-')
                        return false;
        return true;
}

bool is_dns1123_label(const char *s)
{
        return s && is_label_n(s, strlen(s));
}

bool is_dns1123_subdomain(const char *s)
{
        if (!s || !*s || strlen(s) > 253)
                return false;
        for (const char *p = s;;) {
                const char *dot = strchr(p, '.');
                size_t n = dot ? (size_t)(dot - p) : strlen(p);
                /* labels of a subdomain have no 63 limit of their own but the total's */
                if (n == 0 || !is_lower_alnum(p[0]) || !is_lower_alnum(p[n - 1]))
                        return false;
                for (size_t i = 0; i < n; i++)
                        if (!is_lower_alnum(p[i]) && p[i] != '-')
                                return false;
                if (!dot)
                        return true;
                p = dot + 1;
        }
}

/* The UID becomes part of cgroup and state paths, so it is held to a path-safe form. A
 * lowercase UUID is of that form; an upper-case one is refused, as the state directory
 * (pkg/node/state.c) refuses it: a pod whose state could not be kept would not be adopted
 * after a restart. */
bool is_valid_pod_uid(const char *s)
{
        if (!s || !*s)
                return false;
        size_t n = strlen(s);
        if (n > 64)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_lower_alnum(s[i]) && s[i] != '-')
                        return false;
        return true;
}

bool is_iana_svc_name(const char *s)
{
        size_t n = s ? strlen(s) : 0;
        bool letter = false;
        if (n == 0 || n > 15 || s[0] == '-' || s[n - 1] == '-' || strstr(s, "--"))
                return false;
        for (size_t i = 0; i < n; i++) {
                if (!is_lower_alnum(s[i]) && s[i] != '-')
                        return false;
                letter |= s[i] >= 'a' && s[i] <= 'z';
        }
        return letter;
}

/* A field the decoder already refused (a wrong type) is not also reported missing. */
static bool has_error_at(const struct dctx *c)
{
        for (size_t i = 0; i < c->diags->n; i++)
                if (c->diags->items[i].severity == DIAG_ERROR &&
                    strcmp(c->diags->items[i].path, c->path.buf ? c->path.buf : "") == 0)
                        return true;
        return false;
}

static void check_name(struct dctx *c, struct api_pos pos, const char *key, const char *v,
                       bool subdomain)
{
        size_t mark = dctx_push_key(c, key);
        if ((!v || !*v) && has_error_at(c))
                ;
        else if (!v || !*v)
                dctx_error_pos(c, pos, "%s is required", c->path.buf);
        else if (subdomain ? !is_dns1123_subdomain(v) : !is_dns1123_label(v))
                dctx_error_pos(c, pos, "invalid name \"%s\": must be a lowercase RFC 1123 %s (%s)",
                               v, subdomain ? "subdomain" : "label",
                               subdomain ? "at most 253 characters of [a-z0-9-.]"
                                         : "at most 63 characters of [a-z0-9-]");
        dctx_pop(c, mark);
}

/* The pod name is checked with the static-pod suffix; the message says so, as the file does
 * not have "-<node>". */
static void check_pod_name(struct dctx *c, const struct pod *p)
{
        const char *name = p->metadata.name, *node = p->spec.node_name;
        size_t n = name ? strlen(name) : 0, k = node ? strlen(node) : 0;
        bool suffixed = k > 0 && n > k + 1 && name[n - k - 1] == '-' &&
                        strcmp(name + n - k, node) == 0;
        if (!suffixed || is_dns1123_subdomain(name)) {
                check_name(c, p->metadata.pos, "name", name, true);
                return;
        }
        size_t mark = dctx_push_key(c, "name");
        dctx_error_pos(c, p->metadata.pos,
                       "invalid name \"%.*s\" (\"%s\" with the node name): must be a lowercase RFC "
                       "1123 subdomain (at most 253 characters of [a-z0-9-.])",
                       (int)(n - k - 1), name, name);
        dctx_pop(c, mark);
}

static bool is_standard_resource(const char *n, bool pod_level)
{
        if (strcmp(n, "cpu") == 0 || strcmp(n, "memory") == 0 ||
            strcmp(n, "ephemeral-storage") == 0)
                return true;
        if (strncmp(n, "hugepages-", 10) == 0) {
                struct quantity q;
                return quantity_parse(n + 10, &q, NULL) == 0 && q.nanos > 0;
        }
        return pod_level && strcmp(n, "pids") == 0;
}

/* Extended resources are fully qualified (domain/name) outside kubernetes.io. */
static bool is_extended_resource(const char *n)
{
        const char *slash = strchr(n, '/');
        if (!slash || slash == n || !slash[1] || strchr(slash + 1, '/'))
                return false;
        _cleanup_free_ char *domain = strndup(n, (size_t)(slash - n));
        if (!domain || !is_dns1123_subdomain(domain))
                return false;
        if (strcmp(domain, "kubernetes.io") == 0 || strstr(domain, ".kubernetes.io"))
                return false;
        for (const char *p = slash + 1; *p; p++)
                if (!isalnum((unsigned char)*p) && !strchr("-_.", *p))
                        return false;
        return true;
}

/* A request defaulted from its limit keeps the limit's position: only the limit is checked,
 * so that an error names the field the file has. */
static bool is_defaulted_copy(const struct resource_entry *e, const struct resource_list *limits)
{
        const struct resource_entry *lim = limits ? resource_list_find(limits, e->name) : NULL;
        return lim && lim->pos.line == e->pos.line && lim->pos.column == e->pos.column;
}

static void check_resource_list(struct dctx *c, const struct resource_list *l, const char *key,
                                bool pod_level, const struct resource_list *limits)
{
        size_t mark = dctx_push_key(c, key);
        for (size_t i = 0; i < l->n; i++) {
                const struct resource_entry *e = &l->items[i];
                if (is_defaulted_copy(e, limits))
                        continue;
                size_t m2 = dctx_push_key(c, e->name);
                int64_t v;
                bool cpu = strcmp(e->name, "cpu") == 0;
                if (!is_standard_resource(e->name, pod_level) && !is_extended_resource(e->name))
                        dctx_error_pos(c, e->pos, "invalid resource name \"%s\"", e->name);
                else if (quantity_is_negative(&e->value))
                        dctx_error_pos(c, e->pos, "quantity \"%s\" must not be negative", e->text);
                else if ((cpu ? quantity_milli_value(&e->value, &v)
                              : quantity_value(&e->value, &v)) < 0)
                        dctx_error_pos(c, e->pos, "quantity \"%s\" is too large", e->text);
                dctx_pop(c, m2);
        }
        dctx_pop(c, mark);
}

static void check_resources(struct dctx *c, const struct resources *r, bool pod_level)
{
        size_t mark = dctx_push_key(c, "resources");
        check_resource_list(c, &r->requests, "requests", pod_level, &r->limits);
        check_resource_list(c, &r->limits, "limits", pod_level, NULL);
        for (size_t i = 0; i < r->requests.n; i++) {
                const struct resource_entry *req = &r->requests.items[i];
                const struct resource_entry *lim = resource_list_find(&r->limits, req->name);
                if (!lim || quantity_cmp(&req->value, &lim->value) <= 0)
                        continue;
                size_t m2 = dctx_push_key(c, "requests");
                size_t m3 = dctx_push_key(c, req->name);
                dctx_error_pos(c, req->pos,
                               "request \"%s\" must be less than or equal to %s limit \"%s\"",
                               req->text, req->name, lim->text);
                dctx_pop(c, m3);
                dctx_pop(c, m2);
        }
        dctx_pop(c, mark);
}

static void check_port_ref(struct dctx *c, const struct int_or_string *p, const char *key)
{
        size_t mark = dctx_push_key(c, key);
        if (!p->set)
                dctx_error_pos(c, p->pos, "port is required");
        else if (p->is_string && !is_iana_svc_name(p->str))
                dctx_error_pos(c, p->pos,
                               "invalid port \"%s\": must be a number from 1 to 65535 or a "
                               "port name (at most 15 characters of [a-z0-9-])",
                               p->str);
        else if (!p->is_string && (p->num < 1 || p->num > 65535))
                dctx_error_pos(c, p->pos, "invalid port %lld: must be from 1 to 65535",
                               (long long)p->num);
        dctx_pop(c, mark);
}

static void check_handler(struct dctx *c, const struct handler *h, struct api_pos pos)
{
        switch (h->kind) {
        case HANDLER_NONE:
                dctx_error_pos(c, pos, "must specify a handler type");
                break;
        case HANDLER_EXEC:
                if (!h->exec.command || !h->exec.command[0])
                        dctx_error_pos(c, h->pos, "exec.command is required");
                break;
        case HANDLER_HTTP_GET: {
                size_t mark = dctx_push_key(c, "httpGet");
                check_port_ref(c, &h->port, "port");
                dctx_pop(c, mark);
                break;
        }
        case HANDLER_TCP_SOCKET: {
                size_t mark = dctx_push_key(c, "tcpSocket");
                check_port_ref(c, &h->port, "port");
                dctx_pop(c, mark);
                break;
        }
        case HANDLER_GRPC: {
                size_t mark = dctx_push_key(c, "grpc");
                check_port_ref(c, &h->port, "port");
                dctx_pop(c, mark);
                break;
        }
        case HANDLER_SLEEP:
                break;
        }
}

static void check_probe(struct dctx *c, const struct probe *p, const char *key, bool single)
{
        if (!p->present)
                return;
        size_t mark = dctx_push_key(c, key);
        check_handler(c, &p->handler, p->pos);
        if (p->initial_delay_seconds < 0 || p->timeout_seconds < 0 || p->period_seconds < 0 ||
            p->success_threshold < 0 || p->failure_threshold < 0)
                dctx_error_pos(c, p->pos, "probe durations and thresholds must not be negative");
        if (single && p->success_threshold != 1)
                dctx_error_pos(c, p->pos, "successThreshold must be 1");
        dctx_pop(c, mark);
}

static void check_ports(struct dctx *c, const struct container *ct, bool host_network)
{
        for (size_t i = 0; i < ct->n_ports; i++) {
                const struct container_port *p = &ct->ports[i];
                size_t m1 = dctx_push_key(c, "ports"), m2 = dctx_push_index(c, i);
                if (p->container_port < 1 || p->container_port > 65535)
                        dctx_error_pos(c, p->pos, "containerPort %lld must be from 1 to 65535",
                                       (long long)p->container_port);
                if (p->host_port < 0 || p->host_port > 65535)
                        dctx_error_pos(c, p->pos, "hostPort %lld must be from 0 to 65535",
                                       (long long)p->host_port);
                else if (p->host_port > 0 && !host_network)
                        dctx_error_pos(c, p->pos,
                                       "hostPort is not supported without hostNetwork: qoslet "
                                       "pods have no pod network yet");
                else if (p->host_port > 0 && p->host_port != p->container_port)
                        dctx_error_pos(c, p->pos,
                                       "hostPort must equal containerPort with hostNetwork");
                if (p->protocol && strcmp(p->protocol, "TCP") != 0 &&
                    strcmp(p->protocol, "UDP") != 0 && strcmp(p->protocol, "SCTP") != 0)
                        dctx_error_pos(c, p->pos, "unsupported protocol \"%s\"", p->protocol);
                if (p->name && !is_iana_svc_name(p->name))
                        dctx_error_pos(c, p->pos, "invalid port name \"%s\"", p->name);
                dctx_pop(c, m2);
                dctx_pop(c, m1);
        }
}

static bool has_dotdot(const char *path)
{
        for (const char *p = path; (p = strstr(p, "..")); p += 2) {
                bool start = p == path || p[-1] == '/';
                bool end = p[2] == 0 || p[2] == '/';
                if (start && end)
                        return true;
        }
        return false;
}

static void check_mounts(struct dctx *c, const struct pod *pod, const struct container *ct)
{
        for (size_t i = 0; i < ct->n_volume_mounts; i++) {
                const struct volume_mount *m = &ct->volume_mounts[i];
                size_t m1 = dctx_push_key(c, "volumeMounts"), m2 = dctx_push_index(c, i);
                bool found = false;
                for (size_t v = 0; m->name && v < pod->spec.n_volumes; v++)
                        found |= pod->spec.volumes[v].name &&
                                 strcmp(pod->spec.volumes[v].name, m->name) == 0;
                if (!m->name)
                        dctx_error_pos(c, m->pos, "name is required");
                else if (!found)
                        dctx_error_pos(c, m->pos, "volume \"%s\" is not defined in spec.volumes",
                                       m->name);
                if (!m->mount_path || m->mount_path[0] != '/')
                        dctx_error_pos(c, m->pos, "mountPath must be an absolute path");
                else if (has_dotdot(m->mount_path))
                        dctx_error_pos(c, m->pos, "mountPath must not contain '..'");
                if (m->sub_path && (m->sub_path[0] == '/' || has_dotdot(m->sub_path)))
                        dctx_error_pos(c, m->pos, "subPath must be a relative path without '..'");
                dctx_pop(c, m2);
                dctx_pop(c, m1);
        }
}

static void check_env(struct dctx *c, const struct container *ct)
{
        for (size_t i = 0; i < ct->n_env; i++) {
                const struct env_var *e = &ct->env[i];
                size_t m1 = dctx_push_key(c, "env"), m2 = dctx_push_index(c, i);
                if (!e->name || !*e->name)
                        dctx_error_pos(c, e->pos, "name is required");
                else if (strchr(e->name, '='))
                        dctx_error_pos(c, e->pos, "invalid name \"%s\": must not contain '='",
                                       e->name);
                else
                        for (const char *p = e->name; *p; p++)
                                if (*p < 32 || *p > 126) {
                                        dctx_error_pos(c, e->pos, "name must be printable ASCII");
                                        break;
                                }
                if (e->has_value && e->source != ENV_SOURCE_NONE)
                        dctx_error_pos(c, e->pos, "may not have both value and valueFrom");
                dctx_pop(c, m2);
                dctx_pop(c, m1);
        }
}

static void check_container(struct dctx *c, const struct pod *p, const struct container *ct,
                            bool init)
{
        check_name(c, ct->pos, "name", ct->name, false);
        if (!ct->image || !*ct->image) {
                size_t mark = dctx_push_key(c, "image");
                dctx_error_pos(c, ct->pos, "image is required");
                dctx_pop(c, mark);
        }
        if (ct->restart_policy != RESTART_POLICY_UNSET &&
            (!init || ct->restart_policy != RESTART_POLICY_ALWAYS)) {
                size_t mark = dctx_push_key(c, "restartPolicy");
                dctx_error_pos(c, ct->pos,
                               "only init containers may set restartPolicy, and only "
                               "to \"Always\" (a sidecar)");
                dctx_pop(c, mark);
        }
        check_resources(c, &ct->resources, false);
        check_ports(c, ct, p->spec.host_network);
        check_env(c, ct);
        check_mounts(c, p, ct);
        bool sidecar = container_is_sidecar(ct);
        if (init && !sidecar &&
            (ct->liveness.present || ct->readiness.present || ct->startup.present))
                dctx_error_pos(c, ct->pos, "init containers may not have probes");
        check_probe(c, &ct->liveness, "livenessProbe", true);
        check_probe(c, &ct->readiness, "readinessProbe", false);
        check_probe(c, &ct->startup, "startupProbe", true);
        if (ct->lifecycle.post_start.kind != HANDLER_NONE) {
                size_t mark = dctx_push_key(c, "lifecycle.postStart");
                check_handler(c, &ct->lifecycle.post_start, ct->pos);
                dctx_pop(c, mark);
        }
        if (ct->lifecycle.pre_stop.kind != HANDLER_NONE) {
                size_t mark = dctx_push_key(c, "lifecycle.preStop");
                check_handler(c, &ct->lifecycle.pre_stop, ct->pos);
                dctx_pop(c, mark);
        }
}

static void check_containers(struct dctx *c, const struct pod *p, bool init)
{
        const struct container *l = init ? p->spec.init_containers : p->spec.containers;
        size_t n = init ? p->spec.n_init_containers : p->spec.n_containers;
        size_t mark = dctx_push_key(c, init ? "initContainers" : "containers");
        for (size_t i = 0; i < n; i++) {
                size_t m2 = dctx_push_index(c, i);
                check_container(c, p, &l[i], init);
                dctx_pop(c, m2);
        }
        dctx_pop(c, mark);
}

/* Container names are unique across init and regular containers. */
static void check_unique_names(struct dctx *c, const struct pod *p)
{
        size_t total = p->spec.n_init_containers + p->spec.n_containers;
        for (size_t i = 0; i < total; i++) {
                bool init_i = i < p->spec.n_init_containers;
                const struct container *a =
                        init_i ? &p->spec.init_containers[i]
                               : &p->spec.containers[i - p->spec.n_init_containers];
                for (size_t j = 0; a->name && j < i; j++) {
                        bool init_j = j < p->spec.n_init_containers;
                        const struct container *b =
                                init_j ? &p->spec.init_containers[j]
                                       : &p->spec.containers[j - p->spec.n_init_containers];
                        if (!b->name || strcmp(a->name, b->name) != 0)
                                continue;
                        size_t m1 = dctx_push_key(c, init_i ? "initContainers" : "containers");
                        size_t m2 = dctx_push_index(c, init_i ? i : i - p->spec.n_init_containers);
                        size_t m3 = dctx_push_key(c, "name");
                        dctx_error_pos(c, a->pos, "duplicate container name \"%s\"", a->name);
                        dctx_pop(c, m3);
                        dctx_pop(c, m2);
                        dctx_pop(c, m1);
                        break;
                }
        }
}

static void check_volume(struct dctx *c, const struct pod *p, size_t i)
{
        const struct volume *v = &p->spec.volumes[i];
        check_name(c, v->pos, "name", v->name, false);
        for (size_t j = 0; v->name && j < i; j++)
                if (p->spec.volumes[j].name && strcmp(p->spec.volumes[j].name, v->name) == 0)
                        dctx_error_pos(c, v->pos, "duplicate volume name \"%s\"", v->name);
        if (!v->kind_name) {
                dctx_error_pos(c, v->pos, "must specify a volume type");
                return;
        }
        size_t mark = dctx_push_key(c, v->kind_name);
        if (v->kind == VOLUME_UNSUPPORTED)
                dctx_error_pos(c, v->pos, "volume type \"%s\" is not supported by qoslet",
                               v->kind_name);
        else if (v->kind == VOLUME_EMPTY_DIR && v->medium && *v->medium &&
                 strcmp(v->medium, "Memory") != 0)
                dctx_error_pos(c, v->pos, "unsupported medium \"%s\"", v->medium);
        else if (v->kind == VOLUME_EMPTY_DIR && v->has_size_limit &&
                 quantity_is_negative(&v->size_limit))
                dctx_error_pos(c, v->pos, "sizeLimit must not be negative");
        else if (v->kind == VOLUME_HOST_PATH) {
                static const char *const types[] = { "",           "DirectoryOrCreate",
                                                     "Directory",  "FileOrCreate",
                                                     "File",       "Socket",
                                                     "CharDevice", "BlockDevice",
                                                     NULL };
                bool ok = false;
                for (const char *const *t = types; *t; t++)
                        ok |= v->host_path_type && strcmp(*t, v->host_path_type) == 0;
                if (!v->host_path || v->host_path[0] != '/')
                        dctx_error_pos(c, v->pos, "path must be an absolute path");
                else if (has_dotdot(v->host_path))
                        dctx_error_pos(c, v->pos, "path must not contain '..'");
                if (!ok)
                        dctx_error_pos(c, v->pos, "unsupported hostPath type \"%s\"",
                                       v->host_path_type ? v->host_path_type : "");
        } else if (v->kind == VOLUME_DOWNWARD_API)
                (void)diag_add(c->diags, DIAG_WARNING, c->file, v->pos.line, v->pos.column,
                               c->path.buf,
                               "downwardAPI volumes are not supported by qoslet "
                               "yet: the volume is an empty directory");
        dctx_pop(c, mark);
}

static void collect_container_refs(const struct container *l, size_t n, const char *key,
                                   struct strbuf *sb, size_t *count)
{
        for (size_t i = 0; i < n; i++) {
                const struct container *ct = &l[i];
                for (size_t j = 0; j < ct->n_env; j++) {
                        const struct env_var *e = &ct->env[j];
                        bool secret = e->source == ENV_SOURCE_SECRET_KEY_REF;
                        if (!secret && e->source != ENV_SOURCE_CONFIG_MAP_KEY_REF)
                                continue;
                        strbuf_printf(sb, "%s%s \"%s\" (%s[%zu].env[%zu])", *count ? "; " : "",
                                      secret ? "secret" : "config map", e->source_ref, key, i, j);
                        (*count)++;
                }
                for (size_t j = 0; j < ct->n_env_from; j++) {
                        const struct env_from *e = &ct->env_from[j];
                        strbuf_printf(sb, "%s%s \"%s\" (%s[%zu].envFrom[%zu])", *count ? "; " : "",
                                      e->is_secret ? "secret" : "config map", e->name, key, i, j);
                        (*count)++;
                }
        }
}

/* A static pod cannot resolve API objects; every reference is listed in one error. */
static void check_api_refs(struct dctx *c, const struct pod *p)
{
        _cleanup_strbuf_ struct strbuf sb = { 0 };
        size_t count = 0;
        const struct pod_spec *s = &p->spec;
        if (s->service_account_name && *s->service_account_name) {
                strbuf_printf(&sb, "service account \"%s\" (serviceAccountName)",
                              s->service_account_name);
                count++;
        }
        STRV_FOREACH (ps, s->image_pull_secrets) {
                strbuf_printf(&sb, "%ssecret \"%s\" (imagePullSecrets)", count ? "; " : "", *ps);
                count++;
        }
        collect_container_refs(s->init_containers, s->n_init_containers, "initContainers", &sb,
                               &count);
        collect_container_refs(s->containers, s->n_containers, "containers", &sb, &count);
        for (size_t i = 0; i < s->n_volumes; i++)
                STRV_FOREACH (r, s->volumes[i].refs) {
                        strbuf_printf(&sb, "%s%s (volumes[%zu])", count ? "; " : "", *r, i);
                        count++;
                }
        if (count == 0)
                return;
        size_t mark = dctx_push_key(c, "spec");
        dctx_error_pos(c, p->metadata.pos,
                       "static pods may not reference API objects; found %zu: %s", count,
                       sb.buf ? sb.buf : "");
        dctx_pop(c, mark);
}

static void check_spec(struct dctx *c, const struct pod *p)
{
        const struct pod_spec *s = &p->spec;
        size_t mark = dctx_push_key(c, "spec");
        if (s->n_containers == 0) {
                size_t m2 = dctx_push_key(c, "containers");
                dctx_error_pos(c, p->metadata.pos, "at least one container is required");
                dctx_pop(c, m2);
        }
        check_containers(c, p, true);
        check_containers(c, p, false);
        check_unique_names(c, p);
        for (size_t i = 0; i < s->n_volumes; i++) {
                size_t m2 = dctx_push_key(c, "volumes"), m3 = dctx_push_index(c, i);
                check_volume(c, p, i);
                dctx_pop(c, m3);
                dctx_pop(c, m2);
        }
        if (s->resources.present)
                check_resources(c, &s->resources, true);
        if (s->termination_grace_period_seconds < 0)
                dctx_error_pos(c, p->metadata.pos,
                               "terminationGracePeriodSeconds must not be negative");
        if (s->has_active_deadline_seconds && s->active_deadline_seconds <= 0)
                dctx_error_pos(c, p->metadata.pos, "activeDeadlineSeconds must be positive");
        if (s->hostname)
                check_name(c, p->metadata.pos, "hostname", s->hostname, false);
        if (s->subdomain)
                check_name(c, p->metadata.pos, "subdomain", s->subdomain, false);
        dctx_pop(c, mark);
}

static void check_metadata(struct dctx *c, const struct pod *p)
{
        size_t mark = dctx_push_key(c, "metadata");
        check_pod_name(c, p);
        check_name(c, p->metadata.pos, "namespace", p->metadata.namespace, false);
        if (p->metadata.uid && !is_valid_pod_uid(p->metadata.uid)) {
                size_t m2 = dctx_push_key(c, "uid");
                dctx_error_pos(c, p->metadata.pos,
                               "invalid uid \"%s\": must be a UUID or 1 to 64 characters of "
                               "[a-z0-9-], all lowercase",
                               p->metadata.uid);
                dctx_pop(c, m2);
        }
        dctx_pop(c, mark);
}

void validate_pod(struct dctx *c, const struct pod *p)
{
        check_metadata(c, p);
        check_spec(c, p);
        check_api_refs(c, p);
}
