/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "manifest/manifest.h"

static int resource_list_add(struct resource_list *l, const struct resource_entry *from)
{
        struct resource_entry *ni = realloc(l->items, (l->n + 1) * sizeof(*ni));
        if (!ni)
                return -ENOMEM;
        l->items = ni;
        struct resource_entry e = *from;
        e.name = strdup(from->name);
        e.text = strdup(from->text ? from->text : "");
        if (!e.name || !e.text) {
                free(e.name);
                free(e.text);
                return -ENOMEM;
        }
        l->items[l->n++] = e;
        return 0;
}

/* The API server copies every limit without a request into requests (any resource name); a
 * request that is present, even "0", is kept. */
static void default_requests(struct resources *r)
{
        for (size_t i = 0; i < r->limits.n; i++)
                if (!resource_list_find(&r->requests, r->limits.items[i].name))
                        (void)resource_list_add(&r->requests, &r->limits.items[i]);
}

static bool image_has_tag_or_digest(const char *image)
{
        if (strchr(image, '@'))
                return true;
        const char *slash = strrchr(image, '/');
        const char *colon = strrchr(slash ? slash : image, ':');
        return colon != NULL;
}

static enum pull_policy default_pull_policy(const char *image)
{
        if (!image)
                return PULL_POLICY_IF_NOT_PRESENT;
        if (strncmp(image, "dir://", 6) == 0)
                return PULL_POLICY_NEVER;
        if (!image_has_tag_or_digest(image))
                return PULL_POLICY_ALWAYS;
        size_t n = strlen(image);
        if (!strchr(image, '@') && n >= 7 && strcmp(image + n - 7, ":latest") == 0)
                return PULL_POLICY_ALWAYS;
        return PULL_POLICY_IF_NOT_PRESENT;
}

static void default_probe(struct probe *p)
{
        if (!p->present)
                return;
        if (p->timeout_seconds == 0)
                p->timeout_seconds = 1;
        if (p->period_seconds == 0)
                p->period_seconds = 10;
        if (p->success_threshold == 0)
                p->success_threshold = 1;
        if (p->failure_threshold == 0)
                p->failure_threshold = 3;
        if (p->handler.kind == HANDLER_HTTP_GET) {
                if (!p->handler.http_path)
                        p->handler.http_path = strdup("/");
                if (!p->handler.http_scheme)
                        p->handler.http_scheme = strdup("HTTP");
        }
}

static void default_container(struct container *c)
{
        default_requests(&c->resources);
        if (c->image_pull_policy == PULL_POLICY_UNSET)
                c->image_pull_policy = default_pull_policy(c->image);
        for (size_t i = 0; i < c->n_ports; i++)
                if (!c->ports[i].protocol)
                        c->ports[i].protocol = strdup("TCP");
        default_probe(&c->liveness);
        default_probe(&c->readiness);
        default_probe(&c->startup);
        if (!c->termination_message_path)
                c->termination_message_path = strdup("/dev/termination-log");
}

void manifest_apply_defaults(struct pod *p)
{
        if (!p->metadata.namespace || !p->metadata.namespace[0]) {
                free(p->metadata.namespace);
                p->metadata.namespace = strdup("default");
        }
        struct pod_spec *s = &p->spec;
        if (s->restart_policy == RESTART_POLICY_UNSET)
                s->restart_policy = RESTART_POLICY_ALWAYS;
        if (!s->has_termination_grace_period_seconds) {
                s->has_termination_grace_period_seconds = true;
                s->termination_grace_period_seconds = 30;
        }
        if (!s->dns_policy)
                s->dns_policy = strdup("ClusterFirst");
        for (size_t i = 0; i < s->n_containers; i++)
                default_container(&s->containers[i]);
        for (size_t i = 0; i < s->n_init_containers; i++)
                default_container(&s->init_containers[i]);
        default_requests(&s->resources);
        for (size_t i = 0; i < s->n_volumes; i++)
                if (s->volumes[i].kind == VOLUME_HOST_PATH && !s->volumes[i].host_path_type)
                        s->volumes[i].host_path_type = strdup("");
}
