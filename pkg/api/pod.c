/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "api/pod.h"

static void kvs_free(struct kv *l, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(l[i].key);
                free(l[i].value);
        }
        free(l);
}

static void resource_list_done(struct resource_list *l)
{
        for (size_t i = 0; i < l->n; i++) {
                free(l->items[i].name);
                free(l->items[i].text);
        }
        free(l->items);
}

static void resources_done(struct resources *r)
{
        resource_list_done(&r->requests);
        resource_list_done(&r->limits);
}

static void handler_done(struct handler *h)
{
        strv_free(h->exec.command);
        free(h->http_path);
        free(h->http_host);
        free(h->http_scheme);
        for (size_t i = 0; i < h->n_http_headers; i++) {
                free(h->http_headers[i].name);
                free(h->http_headers[i].value);
        }
        free(h->http_headers);
        free(h->port.str);
        free(h->tcp_host);
        free(h->grpc_service);
}

static void security_context_done(struct security_context *s)
{
        free(s->seccomp.localhost_profile);
        strv_free(s->capabilities.add);
        strv_free(s->capabilities.drop);
        free(s->proc_mount);
        free(s->supplemental_groups);
        for (size_t i = 0; i < s->n_sysctls; i++) {
                free(s->sysctls[i].name);
                free(s->sysctls[i].value);
        }
        free(s->sysctls);
}

static void container_done(struct container *c)
{
        free(c->name);
        free(c->image);
        strv_free(c->command);
        strv_free(c->args);
        free(c->working_dir);
        for (size_t i = 0; i < c->n_env; i++) {
                free(c->env[i].name);
                free(c->env[i].value);
                free(c->env[i].source_ref);
        }
        free(c->env);
        for (size_t i = 0; i < c->n_env_from; i++) {
                free(c->env_from[i].prefix);
                free(c->env_from[i].name);
        }
        free(c->env_from);
        for (size_t i = 0; i < c->n_ports; i++) {
                free(c->ports[i].name);
                free(c->ports[i].host_ip);
                free(c->ports[i].protocol);
        }
        free(c->ports);
        resources_done(&c->resources);
        for (size_t i = 0; i < c->n_volume_mounts; i++) {
                free(c->volume_mounts[i].name);
                free(c->volume_mounts[i].mount_path);
                free(c->volume_mounts[i].sub_path);
                free(c->volume_mounts[i].mount_propagation);
        }
        free(c->volume_mounts);
        handler_done(&c->liveness.handler);
        handler_done(&c->readiness.handler);
        handler_done(&c->startup.handler);
        handler_done(&c->lifecycle.post_start);
        handler_done(&c->lifecycle.pre_stop);
        free(c->lifecycle.stop_signal);
        security_context_done(&c->security);
        free(c->termination_message_path);
}

static void volume_done(struct volume *v)
{
        free(v->name);
        free(v->kind_name);
        free(v->medium);
        free(v->host_path);
        free(v->host_path_type);
        strv_free(v->refs);
}

static void pod_spec_done(struct pod_spec *s)
{
        for (size_t i = 0; i < s->n_containers; i++)
                container_done(&s->containers[i]);
        free(s->containers);
        for (size_t i = 0; i < s->n_init_containers; i++)
                container_done(&s->init_containers[i]);
        free(s->init_containers);
        for (size_t i = 0; i < s->n_volumes; i++)
                volume_done(&s->volumes[i]);
        free(s->volumes);
        resources_done(&s->resources);
        free(s->hostname);
        free(s->subdomain);
        free(s->node_name);
        free(s->priority_class_name);
        free(s->service_account_name);
        free(s->dns_policy);
        for (size_t i = 0; i < s->n_host_aliases; i++) {
                free(s->host_aliases[i].ip);
                strv_free(s->host_aliases[i].hostnames);
        }
        free(s->host_aliases);
        security_context_done(&s->security);
        strv_free(s->image_pull_secrets);
}

void pod_free(struct pod *p)
{
        if (!p)
                return;
        free(p->metadata.name);
        free(p->metadata.namespace);
        free(p->metadata.uid);
        kvs_free(p->metadata.labels, p->metadata.n_labels);
        kvs_free(p->metadata.annotations, p->metadata.n_annotations);
        pod_spec_done(&p->spec);
        free(p->source);
        free(p->config_hash);
        free(p);
}

const struct resource_entry *resource_list_find(const struct resource_list *l, const char *name)
{
        for (size_t i = 0; i < l->n; i++)
                if (strcmp(l->items[i].name, name) == 0)
                        return &l->items[i];
        return NULL;
}

const char *restart_policy_to_string(enum restart_policy p)
{
        switch (p) {
        case RESTART_POLICY_ALWAYS:
                return "Always";
        case RESTART_POLICY_ON_FAILURE:
                return "OnFailure";
        case RESTART_POLICY_NEVER:
                return "Never";
        default:
                return "";
        }
}

const char *pull_policy_to_string(enum pull_policy p)
{
        switch (p) {
        case PULL_POLICY_ALWAYS:
                return "Always";
        case PULL_POLICY_IF_NOT_PRESENT:
                return "IfNotPresent";
        case PULL_POLICY_NEVER:
                return "Never";
        default:
                return "";
        }
}
