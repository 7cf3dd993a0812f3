/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "node/runtime-ops.h"

/* The plan-only runtime: it remembers which pods the node started and nothing else. */
struct runtime_none {
        char **uids; /* NULL-terminated */
        size_t n;
};

static ssize_t find(const struct runtime_none *rt, const char *uid)
{
        for (size_t i = 0; i < rt->n; i++)
                if (strcmp(rt->uids[i], uid) == 0)
                        return (ssize_t)i;
        return -1;
}

static int none_start_pod(void *data, const struct pod *pod, const struct pod_plan *plan,
                          struct qerr **err)
{
        struct runtime_none *rt = data;
        if (find(rt, pod->metadata.uid) >= 0)
                return 0;
        char **n = realloc(rt->uids, (rt->n + 2) * sizeof(char *));
        if (!n)
                return qerr_set(err, ENOMEM, "record pod '%s'", pod->metadata.uid);
        rt->uids = n;
        if (!(n[rt->n] = strdup(pod->metadata.uid)))
                return qerr_set(err, ENOMEM, "record pod '%s'", pod->metadata.uid);
        n[++rt->n] = NULL;
        return 0;
}

static int none_stop_pod(void *data, const char *uid, int64_t grace_seconds, struct qerr **err)
{
        struct runtime_none *rt = data;
        ssize_t i = find(rt, uid);
        if (i < 0)
                return 0;
        free(rt->uids[i]);
        memmove(&rt->uids[i], &rt->uids[i + 1], (rt->n - (size_t)i) * sizeof(char *));
        rt->n--;
        return 0;
}

static int none_pod_status(void *data, const char *uid, struct runtime_pod_status *ret,
                           struct qerr **err)
{
        struct runtime_none *rt = data;
        if (find(rt, uid) < 0)
                return -ENOENT;
        struct runtime_pod_status s = {
                .message = strdup("planned only (qoslet --runtime=none): no cgroup, sandbox or "
                                  "container was created"),
        };
        if (!s.message)
                return qerr_set(err, ENOMEM, "status of pod '%s'", uid);
        *ret = s;
        return 0;
}

static int none_list_running(void *data, char ***ret_uids, struct qerr **err)
{
        /* Nothing it records outlives the daemon, so there is never anything to adopt. */
        char **l = calloc(1, sizeof(char *));
        if (!l)
                return qerr_set(err, ENOMEM, "list pods");
        *ret_uids = l;
        return 0;
}

static void none_free(void *data)
{
        struct runtime_none *rt = data;
        strv_free(rt->uids);
        free(rt);
}

static const struct pod_runtime_ops none_ops = {
        .name = "none",
        .start_pod = none_start_pod,
        .stop_pod = none_stop_pod,
        .pod_status = none_pod_status,
        .list_running = none_list_running,
        .free = none_free,
};

int runtime_none_new(const struct pod_runtime_env *env, struct node_runtime **ret,
                     struct qerr **err)
{
        struct node_runtime *p = calloc(1, sizeof(*p));
        struct runtime_none *rt = calloc(1, sizeof(*rt));
        if (!p || !rt) {
                free(p);
                free(rt);
                return qerr_set(err, ENOMEM, "create the plan-only runtime");
        }
        p->ops = &none_ops;
        p->data = rt;
        *ret = p;
        return 0;
}
