/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "node/node.h"
#include "node/state.h"

/* The node's reconcile loop against a fake runtime that the test drives: start, restart
 * after the kubelet's back-off, CrashLoopBackOff in /pods, stop with the pod's grace period,
 * tiers, adoption of pods an earlier daemon left, and orphans. */

#define MSEC 1000ULL
#define S 1000000LL

struct fake_pod {
        char uid[80];
        struct runtime_container cs[4];
        size_t n;
};

static struct fake {
        struct pod_runtime_env env;
        struct fake_pod pods[8];
        size_t n;
        unsigned starts, restarts, stops, tiers;
        int64_t last_grace;
        const char *orphan; /* a UID list_running reports without state */
} fake;

static int64_t now_rt(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * S + ts.tv_nsec / 1000;
}

static struct fake_pod *fake_find(const char *uid)
{
        for (size_t i = 0; i < fake.n; i++)
                if (strcmp(fake.pods[i].uid, uid) == 0)
                        return &fake.pods[i];
        return NULL;
}

static void add_container(struct fake_pod *fp, const char *name)
{
        struct runtime_container *c = &fp->cs[fp->n++];
        *c = (struct runtime_container){ .name = strdup(name),
                                         .state = RUNTIME_CONTAINER_RUNNING,
                                         .started_at = now_rt() };
        cr_assert_geq(asprintf(&c->id, "%s-%s-0", fp->uid, name), 0);
}

static int fake_start(void *data, const struct pod *pod, const struct pod_plan *plan,
                      struct qerr **err)
{
        cr_assert_not_null(plan->cgroupfs);
        if (fake_find(pod->metadata.uid))
                return 0;
        struct fake_pod *fp = &fake.pods[fake.n++];
        *fp = (struct fake_pod){ 0 };
        snprintf(fp->uid, sizeof(fp->uid), "%s", pod->metadata.uid);
        for (size_t i = 0; i < pod->spec.n_containers; i++)
                add_container(fp, pod->spec.containers[i].name);
        fake.starts++;
        return 0;
}

static int fake_restart(void *data, const struct pod *pod, const struct pod_plan *plan,
                        const char *name, struct qerr **err)
{
        struct fake_pod *fp = fake_find(pod->metadata.uid);
        cr_assert_not_null(fp);
        for (size_t i = 0; i < fp->n; i++) {
                struct runtime_container *c = &fp->cs[i];
                if (strcmp(c->name, name) != 0)
                        continue;
                runtime_exit_done(&c->previous);
                c->previous = c->exit;
                c->exit = (struct runtime_exit){ 0 };
                c->has_previous = true;
                c->state = RUNTIME_CONTAINER_RUNNING;
                c->started_at = now_rt();
                c->restart_count++;
        }
        fake.restarts++;
        return 0;
}

static void fake_pod_done(struct fake_pod *fp)
{
        for (size_t i = 0; i < fp->n; i++)
                runtime_container_done(&fp->cs[i]);
        fp->n = 0;
}

static int fake_stop(void *data, const char *uid, int64_t grace, struct qerr **err)
{
        fake.stops++;
        fake.last_grace = grace;
        struct fake_pod *fp = fake_find(uid);
        if (fp) {
                fake_pod_done(fp);
                *fp = fake.pods[--fake.n];
        }
        return 0;
}

static char *dup0(const char *s)
{
        return s ? strdup(s) : NULL;
}

static int fake_status(void *data, const char *uid, struct runtime_pod_status *ret,
                       struct qerr **err)
{
        struct fake_pod *fp = fake_find(uid);
        if (!fp)
                return -ENOENT;
        struct runtime_pod_status s = { .sandbox_ready = true,
                                        .pod_ip = strdup("10.0.0.9"),
                                        .containers = calloc(fp->n + 1, sizeof(*s.containers)),
                                        .n_containers = fp->n };
        for (size_t i = 0; i < fp->n; i++) {
                struct runtime_container *c = &s.containers[i];
                *c = fp->cs[i];
                c->name = dup0(c->name);
                c->id = dup0(c->id);
                c->exit.id = dup0(c->exit.id);
                c->previous.id = dup0(c->previous.id);
                c->image = c->image_id = c->error_reason = c->error_message = NULL;
        }
        *ret = s;
        return 0;
}

static int fake_list(void *data, char ***ret, struct qerr **err)
{
        char **l = calloc(fake.n + 2, sizeof(char *));
        size_t k = 0;
        for (size_t i = 0; i < fake.n; i++)
                l[k++] = strdup(fake.pods[i].uid);
        if (fake.orphan)
                l[k++] = strdup(fake.orphan);
        *ret = l;
        return 0;
}

static int fake_tiers(void *data, const struct tiers_plan *t, struct qerr **err)
{
        cr_assert_not_null(t->burstable.cgroupfs);
        fake.tiers++;
        return 0;
}

static void fake_free(void *data)
{
}

static const struct pod_runtime_ops fake_ops = {
        .name = "fake",
        .start_pod = fake_start,
        .restart_container = fake_restart,
        .stop_pod = fake_stop,
        .pod_status = fake_status,
        .list_running = fake_list,
        .update_tiers = fake_tiers,
        .free = fake_free,
};

static int fake_new(const struct pod_runtime_env *env, struct node_runtime **ret, struct qerr **err)
{
        struct node_runtime *rt = calloc(1, sizeof(*rt));
        rt->ops = &fake_ops;
        fake.env = *env;
        *ret = rt;
        return 0;
}

static struct {
        char dir[64], manifests[96], root[96];
        sd_event *event;
        struct node *node;
        struct node_info info;
        char *published;
        unsigned n_published;
        char events[16384];
} fx;

static void on_event(const struct node_event *e, void *userdata)
{
        size_t l = strlen(fx.events);
        snprintf(fx.events + l, sizeof(fx.events) - l, "%s|%s|%s\n", e->reason, e->object,
                 e->message);
}

static void on_publish(const char *json, void *userdata)
{
        free(fx.published);
        fx.published = strdup(json);
        fx.n_published++;
}

static void setup(void)
{
        memset(&fx, 0, sizeof(fx));
        memset(&fake, 0, sizeof(fake));
        snprintf(fx.dir, sizeof(fx.dir), "/tmp/qoslet-node-XXXXXX");
        cr_assert_not_null(mkdtemp(fx.dir));
        snprintf(fx.manifests, sizeof(fx.manifests), "%s/manifests", fx.dir);
        snprintf(fx.root, sizeof(fx.root), "%s/root", fx.dir);
        cr_assert_eq(mkdir(fx.manifests, 0700), 0);
        cr_assert_geq(sd_event_new(&fx.event), 0);
        fx.info = (struct node_info){ .memory_capacity = 8ULL << 30,
                                      .cpu_capacity_milli = 4000,
                                      .cgroup_root = (char *)"/" };
}

static void teardown(void)
{
        node_free(fx.node);
        for (size_t i = 0; i < fake.n; i++)
                fake_pod_done(&fake.pods[i]);
        sd_event_unref(fx.event);
        free(fx.published);
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.dir);
        cr_expect_eq(system(cmd), 0);
}

TestSuite(node, .init = setup, .fini = teardown, .timeout = 60);

static void start_node(void)
{
        struct node_options o = {
                .node_name = "node1",
                .root_dir = fx.root,
                .host_ip = "192.0.2.10",
                .info = &fx.info,
                .manifest_path = fx.manifests,
                .runtime_new = fake_new,
        };
        struct node_callbacks cb = { .event = on_event, .publish = on_publish };
        struct qerr *e = NULL;
        cr_assert_eq(node_new(fx.event, &o, &cb, &fx.node, &e), 0, "%s", qerr_msg(e));
}

static void run_for(uint64_t usec)
{
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (;;) {
                cr_assert_geq(sd_event_run(fx.event, 20 * MSEC), 0);
                clock_gettime(CLOCK_MONOTONIC, &b);
                if ((uint64_t)((b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000) >=
                    usec)
                        return;
        }
}

static void write_pod(const char *file, int grace)
{
        char p[160];
        snprintf(p, sizeof(p), "%s/%s", fx.manifests, file);
        FILE *f = fopen(p, "w");
        fprintf(f,
                "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n"
                "  terminationGracePeriodSeconds: %d\n  containers:\n"
                "  - name: c\n    image: busybox\n"
                "    resources: {requests: {cpu: 100m}}\n",
                grace);
        fclose(f);
}

static json_t *pod0(json_t **ret_list)
{
        json_t *l = json_loads(fx.published, 0, NULL);
        cr_assert_not_null(l);
        *ret_list = l;
        return json_array_get(json_object_get(l, "items"), 0);
}

static json_t *cstatus(json_t *pod)
{
        return json_array_get(json_object_get(json_object_get(pod, "status"), "containerStatuses"),
                              0);
}

static void crash(int code)
{
        cr_assert_eq(fake.n, 1);
        struct runtime_container *c = &fake.pods[0].cs[0];
        c->state = RUNTIME_CONTAINER_EXITED;
        c->exit = (struct runtime_exit){ .exit_code = code,
                                         .started_at = c->started_at,
                                         .finished_at = now_rt() };
        cr_assert_geq(asprintf(&c->exit.id, "run-%u", c->restart_count), 0);
        fake.env.pod_changed(fake.pods[0].uid, fake.env.userdata);
}

Test(node, start_restart_back_off_and_stop)
{
        write_pod("web.yaml", 7);
        start_node();
        run_for(200 * MSEC);
        cr_assert_eq(fake.starts, 1, "events: %s", fx.events);
        cr_expect_geq(fake.tiers, 1);
        json_t *l, *p = pod0(&l);
        cr_expect_str_eq(json_string_value(json_object_get(json_object_get(p, "status"), "phase")),
                         "Running");
        cr_expect(json_is_true(json_object_get(cstatus(p), "ready")));
        const char *uid = json_string_value(json_object_get(json_object_get(p, "metadata"), "uid"));
        char uidbuf[80];
        snprintf(uidbuf, sizeof(uidbuf), "%s", uid);
        json_decref(l);

        /* first crash: restarted at once */
        crash(1);
        run_for(200 * MSEC);
        cr_expect_eq(fake.restarts, 1);
        p = pod0(&l);
        cr_expect_eq(json_integer_value(json_object_get(cstatus(p), "restartCount")), 1);
        cr_expect_str_eq(
                json_string_value(json_object_get(
                        json_object_get(json_object_get(cstatus(p), "lastState"), "terminated"),
                        "reason")),
                "Error");
        json_decref(l);

        /* second crash: CrashLoopBackOff for 10 s */
        crash(2);
        run_for(300 * MSEC);
        cr_expect_eq(fake.restarts, 1, "restarted inside the back-off window");
        p = pod0(&l);
        json_t *w = json_object_get(json_object_get(cstatus(p), "state"), "waiting");
        cr_expect_str_eq(json_string_value(json_object_get(w, "reason")), "CrashLoopBackOff");
        char want[200];
        snprintf(want, sizeof(want),
                 "back-off 10s restarting failed container=c pod=web-node1_default(%s)", uidbuf);
        cr_expect_str_eq(json_string_value(json_object_get(w, "message")), want);
        json_decref(l);
        struct pod_record rec = { 0 };
        cr_assert_eq(state_load_pod(fx.root, uidbuf, false, &rec, NULL), 0);
        cr_expect_eq(pod_record_container(&rec, "c", false)->backoff.delay, 10 * S);
        pod_record_done(&rec);

        /* the node's own timer restarts it when the window ends */
        run_for(10500 * MSEC);
        cr_expect_eq(fake.restarts, 2, "no restart after the back-off window");

        /* the file goes: stopped with the pod's grace period, state removed */
        char path[160];
        snprintf(path, sizeof(path), "%s/web.yaml", fx.manifests);
        cr_assert_eq(unlink(path), 0);
        run_for(300 * MSEC);
        cr_expect_eq(fake.stops, 1);
        cr_expect_eq(fake.last_grace, 7);
        p = pod0(&l);
        cr_expect_null(p, "the stopped pod is still listed");
        json_decref(l);
        _cleanup_strv_free_ char **left = NULL;
        cr_assert_eq(state_list_pods(fx.root, &left, NULL), 0);
        cr_expect_null(left[0], "state left: %s", left[0]);
        cr_expect(strstr(fx.events, "Killing|") && strstr(fx.events, "Stopped|"), "%s", fx.events);
}

Test(node, adopts_what_an_earlier_daemon_left_and_stops_orphans)
{
        write_pod("web.yaml", 30);
        start_node();
        run_for(200 * MSEC);
        cr_assert_eq(fake.starts, 1);
        json_t *l, *p = pod0(&l);
        char created[64];
        snprintf(created, sizeof(created), "%s",
                 json_string_value(
                         json_object_get(json_object_get(p, "metadata"), "creationTimestamp")));
        json_decref(l);

        /* the daemon stops; its pods keep running in the runtime */
        node_free(fx.node);
        fx.node = NULL;
        cr_expect_eq(fake.stops, 0, "stopping the daemon stopped a pod");
        sleep(1);
        fake.orphan = "0123456789abcdef";
        fake.starts = 0;
        start_node();
        run_for(300 * MSEC);
        cr_expect_eq(fake.stops, 1, "the orphan was not stopped");
        cr_expect_eq(fake.n, 1, "the adopted pod was stopped");
        p = pod0(&l);
        cr_expect_str_eq(json_string_value(json_object_get(json_object_get(p, "metadata"),
                                                           "creationTimestamp")),
                         created);
        cr_expect_str_eq(json_string_value(json_object_get(json_object_get(p, "status"), "phase")),
                         "Running");
        json_decref(l);
        cr_expect(strstr(fx.events, "Adopted|"), "%s", fx.events);
}
