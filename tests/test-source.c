/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "source/dir.h"

/* The manifest directory source on a temporary directory with a real inotify descriptor and a
 * real sd-event loop. */

#define MSEC 1000ULL

struct fixture {
        sd_event *event;
        char dir[64];
        char path[128]; /* the manifest path: <dir>/manifests */
        unsigned changed;
        char events[8192]; /* "Reason|origin|message\n" lines */
        struct dir_source *src;
};

static struct fixture fx;

static void on_changed(void *userdata)
{
        ((struct fixture *)userdata)->changed++;
}

static void on_event(const struct source_event *e, void *userdata)
{
        struct fixture *f = userdata;
        size_t l = strlen(f->events);
        snprintf(f->events + l, sizeof(f->events) - l, "%s|%s|%s\n", e->reason, e->origin,
                 e->message);
}

static const struct source_callbacks callbacks = { .changed = on_changed, .event = on_event };

static void setup(void)
{
        memset(&fx, 0, sizeof(fx));
        snprintf(fx.dir, sizeof(fx.dir), "/tmp/qoslet-source-XXXXXX");
        cr_assert_not_null(mkdtemp(fx.dir));
        snprintf(fx.path, sizeof(fx.path), "%s/manifests", fx.dir);
        cr_assert_eq(mkdir(fx.path, 0700), 0);
        cr_assert_geq(sd_event_new(&fx.event), 0);
}

static void teardown(void)
{
        dir_source_free(fx.src);
        sd_event_unref(fx.event);
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.dir);
        cr_expect_eq(system(cmd), 0);
}

static void start_source(const char *path, bool no_inotify, uint64_t period)
{
        struct dir_source_options o = {
                .path = path,
                .manifest = { .node_name = "node1" },
                .no_inotify = no_inotify,
                .check_frequency_usec = period,
        };
        struct qerr *e = NULL;
        int r = dir_source_new(fx.event, &o, &callbacks, &fx, &fx.src, &e);
        cr_assert_eq(r, 0, "dir_source_new: %s", qerr_msg(e));
}

static uint64_t now_usec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Runs the loop until `changed` moved past `from`, or for at most timeout. */
static bool run_until_changed(unsigned from, uint64_t timeout)
{
        uint64_t end = now_usec() + timeout;
        while (fx.changed <= from && now_usec() < end)
                cr_assert_geq(sd_event_run(fx.event, 20 * MSEC), 0);
        return fx.changed > from;
}

/* Runs the loop for a while, dispatching whatever comes. */
static void run_for(uint64_t usec)
{
        uint64_t end = now_usec() + usec;
        while (now_usec() < end)
                cr_assert_geq(sd_event_run(fx.event, 10 * MSEC), 0);
}

static void write_file(const char *dir, const char *name, const char *content)
{
        char p[256];
        snprintf(p, sizeof(p), "%s/%s", dir, name);
        FILE *f = fopen(p, "w");
        cr_assert_not_null(f, "open '%s'", p);
        fputs(content, f);
        cr_assert_eq(fclose(f), 0);
}

static char *pod_yaml(const char *name, const char *image)
{
        char *s = NULL;
        cr_assert_geq(asprintf(&s,
                               "apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\nspec:\n"
                               "  containers:\n  - name: c\n    image: %s\n",
                               name, image),
                      0);
        return s;
}

static void write_pod(const char *name, const char *pod, const char *image)
{
        _cleanup_free_ char *y = pod_yaml(pod, image);
        write_file(fx.path, name, y);
}

/* The desired set now, as "name@origin-basename uid" lines sorted by UID. */
static size_t desired(struct desired_set *ret)
{
        size_t n;
        struct source_origin *const *o = dir_source_origins(fx.src, &n);
        cr_assert_eq(desired_set_build(o, n, ret), 0);
        return ret->n;
}

static const char *only_pod_name(void)
{
        static char name[128];
        struct desired_set d;
        cr_assert_eq(desired(&d), 1, "one pod");
        snprintf(name, sizeof(name), "%s", d.pods[0]->pod->metadata.name);
        desired_set_done(&d);
        return name;
}

static char *only_pod_uid(void)
{
        struct desired_set d;
        cr_assert_eq(desired(&d), 1, "one pod");
        char *u = strdup(d.pods[0]->pod->metadata.uid);
        desired_set_done(&d);
        return u;
}

TestSuite(dirsource, .init = setup, .fini = teardown, .timeout = 60);

Test(dirsource, initial_list_skips_dot_files_and_subdirectories)
{
        write_pod("a.yaml", "a", "busybox");
        write_pod("b.json.bak", "b", "busybox");
        write_pod(".hidden.yaml", "hidden", "busybox");
        char sub[200];
        snprintf(sub, sizeof(sub), "%s/sub", fx.path);
        cr_assert_eq(mkdir(sub, 0700), 0);
        write_file(sub, "c.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: c}\n");
        start_source(fx.path, false, 0);
        cr_assert(dir_source_watching(fx.src));
        struct desired_set d;
        cr_assert_eq(desired(&d), 2);
        const char *n0 = d.pods[0]->pod->metadata.name, *n1 = d.pods[1]->pod->metadata.name;
        cr_expect((strcmp(n0, "a-node1") == 0 && strcmp(n1, "b-node1") == 0) ||
                  (strcmp(n0, "b-node1") == 0 && strcmp(n1, "a-node1") == 0));
        cr_expect_str_eq(d.pods[0]->kind, "file");
        cr_expect_not_null(d.pods[0]->raw);
        desired_set_done(&d);
}

Test(dirsource, nothing_wakes_when_nothing_changes)
{
        write_pod("a.yaml", "a", "busybox");
        start_source(fx.path, false, 100 * MSEC);
        /* even with a 100 ms check frequency, inotify works, so no timer runs */
        for (int i = 0; i < 5; i++)
                cr_expect_eq(sd_event_run(fx.event, 100 * MSEC), 0, "woke without a change");
        cr_expect_eq(dir_source_get_stats(fx.src).relists, 1);
        cr_expect_eq(fx.changed, 0);
}

Test(dirsource, write_rename_delete)
{
        start_source(fx.path, false, 0);
        struct desired_set d;
        cr_assert_eq(desired(&d), 0);
        desired_set_done(&d);

        write_pod("web.yaml", "web", "nginx");
        cr_assert(run_until_changed(0, 5000 * MSEC), "no change after write");
        cr_expect_str_eq(only_pod_name(), "web-node1");

        /* written under a dot-name, then renamed into place: one change, for the rename */
        unsigned before = fx.changed;
        write_pod(".db.yaml.tmp", "db", "postgres");
        run_for(200 * MSEC);
        cr_expect_eq(fx.changed, before, "a dot-file changed the pods");
        char from[256], to[256];
        snprintf(from, sizeof(from), "%s/.db.yaml.tmp", fx.path);
        snprintf(to, sizeof(to), "%s/db.yaml", fx.path);
        cr_assert_eq(rename(from, to), 0);
        cr_assert(run_until_changed(before, 5000 * MSEC), "no change after rename");
        cr_assert_eq(desired(&d), 2);
        desired_set_done(&d);

        /* moved out of the directory: its pod goes */
        before = fx.changed;
        snprintf(from, sizeof(from), "%s/db-moved.yaml", fx.dir);
        cr_assert_eq(rename(to, from), 0);
        cr_assert(run_until_changed(before, 5000 * MSEC));
        cr_expect_str_eq(only_pod_name(), "web-node1");

        before = fx.changed;
        snprintf(to, sizeof(to), "%s/web.yaml", fx.path);
        cr_assert_eq(unlink(to), 0);
        cr_assert(run_until_changed(before, 5000 * MSEC), "no change after delete");
        cr_assert_eq(desired(&d), 0);
        desired_set_done(&d);
        cr_expect(strstr(fx.events, "ManifestRemoved|"), "events: %s", fx.events);
}

Test(dirsource, empty_file_filled_later_gives_one_pod)
{
        start_source(fx.path, false, 0);
        char p[256];
        snprintf(p, sizeof(p), "%s/late.yaml", fx.path);
        int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        cr_assert_geq(fd, 0);
        run_for(200 * MSEC);
        struct desired_set d;
        cr_expect_eq(desired(&d), 0, "an empty file gave a pod");
        desired_set_done(&d);
        /* still open for writing: no warning yet, its close will tell */
        cr_expect_eq(fx.events[0], 0, "events: %s", fx.events);
        _cleanup_free_ char *y = pod_yaml("late", "busybox");
        cr_assert_eq(write(fd, y, strlen(y)), (ssize_t)strlen(y));
        cr_assert_eq(close(fd), 0);
        cr_assert(run_until_changed(0, 5000 * MSEC));
        run_for(100 * MSEC);
        cr_expect_eq(fx.changed, 1, "changed %u times", fx.changed);
        cr_expect_str_eq(only_pod_name(), "late-node1");
        cr_expect_eq(fx.events[0], 0, "events: %s", fx.events);
}

Test(dirsource, empty_file_closed_is_reported)
{
        write_pod("web.yaml", "web", "nginx");
        start_source(fx.path, false, 0);
        /* created and closed empty (touch): a warning that says why, no pod */
        write_file(fx.path, "empty.yaml", "");
        run_for(300 * MSEC);
        cr_expect(strstr(fx.events, "ManifestInvalid|") && strstr(fx.events, "empty manifest"),
                  "events: %s", fx.events);
        /* a good file truncated and left empty keeps its pod */
        _cleanup_free_ char *uid = only_pod_uid();
        write_file(fx.path, "web.yaml", "");
        run_for(300 * MSEC);
        cr_expect_eq(fx.changed, 0);
        _cleanup_free_ char *still = only_pod_uid();
        cr_expect_str_eq(still, uid);
        cr_expect(strstr(fx.events, "ManifestKept|"), "events: %s", fx.events);
}

Test(dirsource, broken_edit_keeps_the_pod)
{
        write_pod("web.yaml", "web", "nginx:1.25");
        start_source(fx.path, false, 0);
        _cleanup_free_ char *uid = only_pod_uid();

        write_file(fx.path, "web.yaml",
                   "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n"
                   "  - name: c\n    image: nginx\n    resources:\n      limits: {cpu: 5OOm}\n");
        run_for(300 * MSEC);
        cr_expect_eq(fx.changed, 0, "a broken edit changed the pods");
        _cleanup_free_ char *still = only_pod_uid();
        cr_expect_str_eq(still, uid);
        cr_expect(strstr(fx.events, "ManifestKept|"), "events: %s", fx.events);
        cr_expect(strstr(fx.events, "keeping its 1 pod"), "events: %s", fx.events);
        cr_expect(strstr(fx.events, "5OOm"), "the warning says why: %s", fx.events);

        /* the same error again is not news */
        size_t len = strlen(fx.events);
        write_file(fx.path, "web.yaml",
                   "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n"
                   "  - name: c\n    image: nginx\n    resources:\n      limits: {cpu: 5OOm}\n");
        run_for(200 * MSEC);
        cr_expect_eq(strlen(fx.events), len, "repeated event: %s", fx.events + len);

        /* the fixed edit replaces the pod (a new UID, as the kubelet does) */
        write_pod("web.yaml", "web", "nginx:1.26");
        cr_assert(run_until_changed(0, 5000 * MSEC));
        _cleanup_free_ char *fixed = only_pod_uid();
        cr_expect_str_neq(fixed, uid);
        cr_expect(strstr(fx.events, "ManifestValid|"), "events: %s", fx.events);
}

static unsigned max_queued_events(void)
{
        _cleanup_free_ char *s = NULL;
        cr_assert_eq(read_one_line_file("/proc/sys/fs/inotify/max_queued_events", &s, NULL), 0);
        return (unsigned)strtoul(s, NULL, 10);
}

Test(dirsource, queue_overflow_lists_again)
{
        start_source(fx.path, false, 0);
        /* Fill the kernel's queue without running the loop: create and delete a dot-file
         * (two events that never merge) until it overflows; then the new manifest's own
         * events are dropped, and only the re-list after IN_Q_OVERFLOW can find it. */
        unsigned max = max_queued_events();
        char p[256];
        snprintf(p, sizeof(p), "%s/.flood", fx.path);
        for (unsigned i = 0; i < max / 2 + 16; i++) {
                int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
                cr_assert_geq(fd, 0);
                close(fd);
                cr_assert_eq(unlink(p), 0);
        }
        write_pod("missed.yaml", "missed", "busybox");
        cr_assert(run_until_changed(0, 10000 * MSEC), "the missed file was not found");
        struct dir_source_stats st = dir_source_get_stats(fx.src);
        cr_expect_eq(st.overflows, 1, "overflows %u", st.overflows);
        cr_expect_geq(st.relists, 2);
        cr_expect_str_eq(only_pod_name(), "missed-node1");

        /* and events flow again afterwards */
        write_pod("after.yaml", "after", "busybox");
        unsigned before = fx.changed;
        cr_assert(run_until_changed(before, 5000 * MSEC));
        struct desired_set d;
        cr_expect_eq(desired(&d), 2);
        desired_set_done(&d);
}

Test(dirsource, explicit_relist_finds_what_was_missed)
{
        start_source(fx.path, false, 0);
        write_pod("a.yaml", "a", "busybox");
        /* without running the loop, a re-list reads the file */
        cr_expect_eq(dir_source_relist(fx.src), 1);
        cr_expect_eq(fx.changed, 1);
        cr_expect_str_eq(only_pod_name(), "a-node1");
        /* the queued events then find nothing new */
        run_for(200 * MSEC);
        cr_expect_eq(fx.changed, 1);
}

Test(dirsource, directory_replaced)
{
        write_pod("old.yaml", "old", "busybox");
        start_source(fx.path, false, 0);
        cr_expect_str_eq(only_pod_name(), "old-node1");
        char next[200], aside[200];
        snprintf(next, sizeof(next), "%s/manifests.next", fx.dir);
        snprintf(aside, sizeof(aside), "%s/manifests.old", fx.dir);
        cr_assert_eq(mkdir(next, 0700), 0);
        _cleanup_free_ char *y = pod_yaml("new", "busybox");
        write_file(next, "new.yaml", y);
        cr_assert_eq(rename(fx.path, aside), 0);
        cr_assert_eq(rename(next, fx.path), 0);
        cr_assert(run_until_changed(0, 5000 * MSEC));
        run_for(100 * MSEC);
        cr_expect_str_eq(only_pod_name(), "new-node1");
        /* the old directory, moved aside, no longer reports into the source */
        unsigned before = fx.changed;
        write_file(aside, "ghost.yaml", y);
        run_for(200 * MSEC);
        cr_expect_eq(fx.changed, before);
        /* the new directory is watched */
        write_pod("more.yaml", "more", "busybox");
        cr_assert(run_until_changed(before, 5000 * MSEC));
}

Test(dirsource, directory_created_late)
{
        char late[200];
        snprintf(late, sizeof(late), "%s/later", fx.dir);
        start_source(late, false, 0);
        cr_expect(strstr(fx.events, "ManifestPathMissing|"), "events: %s", fx.events);
        cr_assert_eq(mkdir(late, 0700), 0);
        run_for(100 * MSEC);
        _cleanup_free_ char *y = pod_yaml("late", "busybox");
        write_file(late, "late.yaml", y);
        cr_assert(run_until_changed(0, 5000 * MSEC));
        cr_expect_str_eq(only_pod_name(), "late-node1");
        /* the directory removed: its pods go */
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", late);
        cr_assert_eq(system(cmd), 0);
        unsigned before = fx.changed;
        cr_assert(run_until_changed(before, 5000 * MSEC));
        struct desired_set d;
        cr_expect_eq(desired(&d), 0);
        desired_set_done(&d);
}

Test(dirsource, single_file_path)
{
        write_pod("only.yaml", "one", "busybox");
        write_pod("other.yaml", "other", "busybox");
        char p[256];
        snprintf(p, sizeof(p), "%s/only.yaml", fx.path);
        start_source(p, false, 0);
        _cleanup_free_ char *uid = only_pod_uid();
        write_pod("only.yaml", "one", "busybox:1.36");
        cr_assert(run_until_changed(0, 5000 * MSEC));
        _cleanup_free_ char *uid2 = only_pod_uid();
        cr_expect_str_neq(uid, uid2);
}

Test(dirsource, fallback_timer_without_inotify)
{
        start_source(fx.path, true, 100 * MSEC);
        cr_expect_not(dir_source_watching(fx.src));
        write_pod("a.yaml", "a", "busybox");
        cr_assert(run_until_changed(0, 3000 * MSEC), "the timer did not find the file");
        cr_expect_str_eq(only_pod_name(), "a-node1");
        cr_expect_geq(dir_source_get_stats(fx.src).relists, 2);
}

Test(dirsource, duplicate_names_first_path_wins)
{
        write_pod("web.yaml", "web", "nginx:1.25");
        write_pod("web.yaml.bak", "web", "nginx:1.24");
        write_pod("z.yaml", "other", "busybox");
        start_source(fx.path, false, 0);
        struct desired_set d;
        cr_assert_eq(desired(&d), 2);
        bool found = false;
        for (size_t i = 0; i < d.n; i++)
                if (strcmp(d.pods[i]->pod->metadata.name, "web-node1") == 0) {
                        found = true;
                        cr_expect(strstr(d.pods[i]->origin, "/web.yaml") &&
                                  !strstr(d.pods[i]->origin, ".bak"));
                        cr_expect_str_eq(d.pods[i]->pod->spec.containers[0].image, "nginx:1.25");
                }
        cr_expect(found);
        cr_assert_not_null(d.conflicts[0]);
        cr_expect_null(d.conflicts[1]);
        cr_expect(strstr(d.conflicts[0], "web.yaml'") && strstr(d.conflicts[0], "web.yaml.bak'"),
                  "conflict: %s", d.conflicts[0]);
        cr_expect(strstr(d.conflicts[0], "default/web-node1"), "conflict: %s", d.conflicts[0]);
        desired_set_done(&d);
}
