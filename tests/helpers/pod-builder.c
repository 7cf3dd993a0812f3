/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>

#include "helpers/pod-builder.h"

#define NANO 1000000000
#define NANO_PER_MILLI 1000000

static void *xrealloc(void *p, size_t size)
{
        void *n = realloc(p, size);
        if (!n)
                abort();
        return n;
}

static char *xstrdup(const char *s)
{
        char *n = strdup(s);
        if (!n)
                abort();
        return n;
}

struct pod *pod_builder_new(const char *name, const char *uid)
{
        struct pod *p = calloc(1, sizeof(*p));
        if (!p)
                abort();
        p->metadata.name = xstrdup(name);
        p->metadata.namespace = xstrdup("default");
        p->metadata.uid = xstrdup(uid);
        return p;
}

void pod_builder_set(struct resources *r, bool limit, const char *name, __int128 nanos)
{
        struct resource_list *l = limit ? &r->limits : &r->requests;
        struct resource_entry *e = NULL;

        r->present = true;
        for (size_t i = 0; i < l->n; i++)
                if (strcmp(l->items[i].name, name) == 0)
                        e = &l->items[i];
        if (!e) {
                l->items = xrealloc(l->items, (l->n + 1) * sizeof(*l->items));
                e = &l->items[l->n++];
                memset(e, 0, sizeof(*e));
                e->name = xstrdup(name);
                e->text = xstrdup("");
        }
        e->value.nanos = nanos;
        e->value.format = QUANTITY_DECIMAL_SI;
}

static void set_cpu_memory(struct resources *r, int64_t cpu_req_milli, int64_t mem_req,
                           int64_t cpu_lim_milli, int64_t mem_lim)
{
        if (cpu_req_milli != POD_BUILDER_UNSET)
                pod_builder_set(r, false, "cpu", (__int128)cpu_req_milli * NANO_PER_MILLI);
        if (mem_req != POD_BUILDER_UNSET)
                pod_builder_set(r, false, "memory", (__int128)mem_req * NANO);
        if (cpu_lim_milli != POD_BUILDER_UNSET)
                pod_builder_set(r, true, "cpu", (__int128)cpu_lim_milli * NANO_PER_MILLI);
        if (mem_lim != POD_BUILDER_UNSET)
                pod_builder_set(r, true, "memory", (__int128)mem_lim * NANO);
}

static struct container *append(struct container **list, size_t *n, const char *name)
{
        *list = xrealloc(*list, (*n + 1) * sizeof(**list));
        struct container *c = &(*list)[(*n)++];
        memset(c, 0, sizeof(*c));
        c->name = xstrdup(name);
        c->image = xstrdup("busybox");
        return c;
}

struct container *pod_builder_add_container(struct pod *p, const char *name, int64_t cpu_req_milli,
                                            int64_t mem_req, int64_t cpu_lim_milli, int64_t mem_lim)
{
        struct container *c = append(&p->spec.containers, &p->spec.n_containers, name);
        set_cpu_memory(&c->resources, cpu_req_milli, mem_req, cpu_lim_milli, mem_lim);
        return c;
}

struct container *pod_builder_add_init_container(struct pod *p, const char *name, bool sidecar,
                                                 int64_t cpu_req_milli, int64_t mem_req,
                                                 int64_t cpu_lim_milli, int64_t mem_lim)
{
        struct container *c = append(&p->spec.init_containers, &p->spec.n_init_containers, name);
        if (sidecar)
                c->restart_policy = RESTART_POLICY_ALWAYS;
        set_cpu_memory(&c->resources, cpu_req_milli, mem_req, cpu_lim_milli, mem_lim);
        return c;
}

void pod_builder_set_pod_resources(struct pod *p, int64_t cpu_req_milli, int64_t mem_req,
                                   int64_t cpu_lim_milli, int64_t mem_lim)
{
        set_cpu_memory(&p->spec.resources, cpu_req_milli, mem_req, cpu_lim_milli, mem_lim);
}

static void default_resources(struct resources *r)
{
        for (size_t i = 0; i < r->limits.n; i++)
                if (!resource_list_find(&r->requests, r->limits.items[i].name))
                        pod_builder_set(r, false, r->limits.items[i].name,
                                        r->limits.items[i].value.nanos);
}

void pod_builder_default(struct pod *p)
{
        for (size_t i = 0; i < p->spec.n_containers; i++)
                default_resources(&p->spec.containers[i].resources);
        for (size_t i = 0; i < p->spec.n_init_containers; i++)
                default_resources(&p->spec.init_containers[i].resources);
        default_resources(&p->spec.resources);
}

void pod_builder_set_priority_class(struct pod *p, const char *class_name, int64_t priority)
{
        free(p->spec.priority_class_name);
        p->spec.priority_class_name = xstrdup(class_name);
        p->spec.has_priority = true;
        p->spec.priority = priority;
}
