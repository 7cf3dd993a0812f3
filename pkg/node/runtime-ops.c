/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "node/runtime-ops.h"

void runtime_exit_done(struct runtime_exit *e)
{
        free(e->id);
        e->id = NULL;
}

void runtime_container_done(struct runtime_container *c)
{
        free(c->name);
        free(c->id);
        free(c->image);
        free(c->image_id);
        runtime_exit_done(&c->exit);
        runtime_exit_done(&c->previous);
        free(c->error_reason);
        free(c->error_message);
        *c = (struct runtime_container){ 0 };
}

void runtime_pod_status_done(struct runtime_pod_status *s)
{
        for (size_t i = 0; i < s->n_containers; i++)
                runtime_container_done(&s->containers[i]);
        free(s->containers);
        free(s->pod_ip);
        free(s->message);
        *s = (struct runtime_pod_status){ 0 };
}

const struct runtime_container *runtime_pod_status_find(const struct runtime_pod_status *s,
                                                        const char *name)
{
        for (size_t i = 0; i < s->n_containers; i++)
                if (s->containers[i].name && strcmp(s->containers[i].name, name) == 0)
                        return &s->containers[i];
        return NULL;
}

void node_runtime_free(struct node_runtime *rt)
{
        if (!rt)
                return;
        if (rt->ops && rt->ops->free)
                rt->ops->free(rt->data);
        free(rt);
}
