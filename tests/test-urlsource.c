/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "source/url.h"

/* The manifest URL source against a real HTTP server on 127.0.0.1 (Python's http.server with
 * ETags, tests/helpers/manifest-server.py), started and stopped by each test. */

#define MSEC 1000ULL

static struct {
        sd_event *event;
        char dir[64], www[96], port_file[96], log_file[96];
        pid_t server;
        int port;
        unsigned changed;
        char events[8192];
        struct url_source *src;
} fx;

static void on_changed(void *userdata)
{
        fx.changed++;
}

static void on_event(const struct source_event *e, void *userdata)
{
        size_t l = strlen(fx.events);
        snprintf(fx.events + l, sizeof(fx.events) - l, "%s|%s\n", e->reason, e->message);
}

static const struct source_callbacks callbacks = { .changed = on_changed, .event = on_event };

static uint64_t now_usec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void start_server(void)
{
        fx.server = fork();
        cr_assert_geq(fx.server, 0);
        if (fx.server == 0) {
                execlp("python3", "python3", "tests/helpers/manifest-server.py", fx.www,
                       fx.port_file, fx.log_file, (char *)NULL);
                _exit(127);
        }
        uint64_t end = now_usec() + 10000 * MSEC;
        _cleanup_free_ char *port = NULL;
        while (read_one_line_file(fx.port_file, &port, NULL) < 0) {
                cr_assert_lt(now_usec(), end, "the test server did not start");
                usleep(20000);
        }
        fx.port = atoi(port);
        cr_assert_gt(fx.port, 0);
}

static void stop_server(void)
{
        if (fx.server <= 0)
                return;
        kill(fx.server, SIGTERM);
        waitpid(fx.server, NULL, 0);
        fx.server = 0;
}

static void setup(void)
{
        memset(&fx, 0, sizeof(fx));
        snprintf(fx.dir, sizeof(fx.dir), "/tmp/qoslet-url-XXXXXX");
        cr_assert_not_null(mkdtemp(fx.dir));
        snprintf(fx.www, sizeof(fx.www), "%s/www", fx.dir);
        snprintf(fx.port_file, sizeof(fx.port_file), "%s/port", fx.dir);
        snprintf(fx.log_file, sizeof(fx.log_file), "%s/requests.log", fx.dir);
        cr_assert_eq(mkdir(fx.www, 0700), 0);
        cr_assert_geq(sd_event_new(&fx.event), 0);
        start_server();
}

static void teardown(void)
{
        url_source_free(fx.src);
        stop_server();
        sd_event_unref(fx.event);
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.dir);
        cr_expect_eq(system(cmd), 0);
}

TestSuite(urlsource, .init = setup, .fini = teardown, .timeout = 60);

static void serve(const char *name, const char *content)
{
        char p[160], tmp[170];
        snprintf(p, sizeof(p), "%s/%s", fx.www, name);
        snprintf(tmp, sizeof(tmp), "%s.tmp", p);
        FILE *f = fopen(tmp, "w");
        cr_assert_not_null(f);
        fputs(content, f);
        cr_assert_eq(fclose(f), 0);
        cr_assert_eq(rename(tmp, p), 0);
}

static void start_source(const char *path, uint64_t period)
{
        char url[128];
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/%s", fx.port, path);
        char *headers[] = { (char *)"X-Qoslet-Test: yes", (char *)"Authorization: Bearer t0k",
                            NULL };
        struct url_source_options o = {
                .url = url,
                .headers = headers,
                .manifest = { .node_name = "node1" },
                .check_frequency_usec = period,
        };
        struct qerr *e = NULL;
        cr_assert_eq(url_source_new(fx.event, &o, &callbacks, NULL, &fx.src, &e), 0, "%s",
                     qerr_msg(e));
}

/* Runs the loop until the number of finished fetches reaches n. */
static void run_fetches(unsigned n)
{
        uint64_t end = now_usec() + 15000 * MSEC;
        while (url_source_get_stats(fx.src).fetches < n) {
                cr_assert_lt(now_usec(), end, "fetch %u did not finish", n);
                cr_assert_geq(sd_event_run(fx.event, 50 * MSEC), 0);
        }
}

static size_t pods(struct desired_set *d)
{
        size_t n;
        struct source_origin *const *o = url_source_origins(fx.src, &n);
        cr_assert_eq(desired_set_build(o, n, d), 0);
        return d->n;
}

static bool has_pod(const struct desired_set *d, const char *name)
{
        for (size_t i = 0; i < d->n; i++)
                if (strcmp(d->pods[i]->pod->metadata.name, name) == 0)
                        return true;
        return false;
}

static const char pod_list_yaml[] = "apiVersion: v1\nkind: PodList\nitems:\n"
                                    "- metadata: {name: web}\n"
                                    "  spec:\n    containers: [{name: c, image: nginx}]\n"
                                    "- metadata: {name: db}\n"
                                    "  spec:\n    containers: [{name: c, image: postgres}]\n";

static const char pod_json[] = "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": "
                               "{\"name\": \"web\"}, \"spec\": {\"containers\": [{\"name\": "
                               "\"c\", \"image\": \"nginx\"}]}}";

Test(urlsource, pods_added_unchanged_removed)
{
        serve("pods.yaml", pod_list_yaml);
        start_source("pods.yaml", 0);
        run_fetches(1);
        cr_expect_eq(fx.changed, 1);
        struct desired_set d;
        cr_assert_eq(pods(&d), 2, "events: %s", fx.events);
        cr_expect(has_pod(&d, "web-node1"));
        cr_expect(has_pod(&d, "db-node1"));
        cr_expect_str_eq(d.pods[0]->kind, "http");
        cr_expect(strstr(d.pods[0]->origin, "/pods.yaml"));
        _cleanup_free_ char *web_uid = NULL;
        for (size_t i = 0; i < d.n; i++)
                if (strcmp(d.pods[i]->pod->metadata.name, "web-node1") == 0)
                        web_uid = strdup(d.pods[i]->pod->metadata.uid);
        desired_set_done(&d);

        /* the same body: the server answers 304 to our If-None-Match */
        url_source_fetch_now(fx.src);
        run_fetches(2);
        cr_expect_eq(url_source_get_stats(fx.src).not_modified, 1);
        cr_expect_eq(fx.changed, 1);

        /* one pod left, now as JSON */
        serve("pods.yaml", pod_json);
        url_source_fetch_now(fx.src);
        run_fetches(3);
        cr_expect_eq(fx.changed, 2);
        cr_assert_eq(pods(&d), 1);
        cr_expect_str_eq(d.pods[0]->pod->metadata.name, "web-node1");
        /* a bare Pod carries apiVersion and kind, the list item did not: another UID */
        cr_expect_str_neq(d.pods[0]->pod->metadata.uid, web_uid);
        desired_set_done(&d);

        _cleanup_free_ char *log = NULL;
        cr_assert_eq(read_full_file(fx.log_file, 1 << 20, &log, NULL, NULL), 0);
        cr_expect(strstr(log, "X-Qoslet-Test: yes"), "log: %s", log);
        cr_expect(strstr(log, "Authorization: Bearer t0k"), "log: %s", log);
        cr_expect(strstr(log, "If-None-Match: \""), "log: %s", log);
}

Test(urlsource, bad_body_and_stopped_server_keep_pods)
{
        serve("pods.yaml", pod_list_yaml);
        start_source("pods.yaml", 0);
        run_fetches(1);
        struct desired_set d;
        cr_assert_eq(pods(&d), 2);
        desired_set_done(&d);

        serve("pods.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: [\n");
        url_source_fetch_now(fx.src);
        run_fetches(2);
        cr_expect_eq(fx.changed, 1);
        cr_expect_eq(pods(&d), 2, "a bad body dropped pods");
        desired_set_done(&d);
        cr_expect(strstr(fx.events, "ManifestKept|"), "events: %s", fx.events);

        serve("pods.yaml", "");
        url_source_fetch_now(fx.src);
        run_fetches(3);
        cr_expect(strstr(fx.events, "empty body"), "events: %s", fx.events);
        cr_expect_eq(pods(&d), 2);
        desired_set_done(&d);

        stop_server();
        url_source_fetch_now(fx.src);
        run_fetches(4);
        cr_expect_eq(fx.changed, 1);
        cr_expect_eq(pods(&d), 2, "a stopped server dropped pods");
        desired_set_done(&d);
        cr_expect_geq(url_source_get_stats(fx.src).failures, 2);
        cr_expect(strstr(fx.events, "keeping its 2 pods"), "events: %s", fx.events);
}

Test(urlsource, missing_document_gives_no_pods)
{
        start_source("nothing.yaml", 0);
        run_fetches(1);
        struct desired_set d;
        cr_expect_eq(pods(&d), 0);
        desired_set_done(&d);
        cr_expect(strstr(fx.events, "ManifestInvalid|") && strstr(fx.events, "HTTP status 404"),
                  "events: %s", fx.events);
        cr_expect_eq(fx.changed, 0);
}

Test(urlsource, polls_on_its_timer)
{
        serve("pods.yaml", pod_json);
        start_source("pods.yaml", 200 * MSEC);
        run_fetches(1);
        cr_expect_eq(fx.changed, 1);
        serve("pods.yaml", pod_list_yaml);
        uint64_t end = now_usec() + 5000 * MSEC;
        while (fx.changed < 2 && now_usec() < end)
                cr_assert_geq(sd_event_run(fx.event, 50 * MSEC), 0);
        cr_expect_eq(fx.changed, 2, "the timer did not fetch again");
        struct desired_set d;
        cr_expect_eq(pods(&d), 2);
        desired_set_done(&d);
}

Test(urlsource, refuses_other_schemes_and_bad_headers)
{
        struct url_source *s = NULL;
        struct qerr *e = NULL;
        struct url_source_options o = { .url = "file:///etc/passwd" };
        cr_expect_eq(url_source_new(fx.event, &o, &callbacks, NULL, &s, &e), -EINVAL);
        cr_expect(strstr(qerr_msg(e), "http"));
        qerr_free(e);
        e = NULL;
        char *bad[] = { (char *)"NoColonHere", NULL };
        o = (struct url_source_options){ .url = "http://127.0.0.1:1/", .headers = bad };
        cr_expect_eq(url_source_new(fx.event, &o, &callbacks, NULL, &s, &e), -EINVAL);
        cr_expect(strstr(qerr_msg(e), "NoColonHere"));
        qerr_free(e);
}
