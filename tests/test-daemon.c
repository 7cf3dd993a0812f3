/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/strbuf.h"
#include "helpers/paths.h"

/* The qoslet binary end to end with the plan-only runtime: a temporary manifest directory,
 * root dir and run dir; /pods over the unix socket and the read-only TCP port, compared with
 * `qosctl plan -o json` for the same manifests and node name; `qosctl get pods`; the lock;
 * inotify changes; stop and adoption. */

#define MSEC 1000ULL

static struct {
        char dir[64], manifests[96], root[96], run[96], sock[128], log[96];
        pid_t daemon;
        int port;
} fx;

static uint64_t now_usec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int free_port(void)
{
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET,
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(sa);
        cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
        close(fd);
        return ntohs(sa.sin_port);
}

static void sh(const char *cmd)
{
        cr_assert_eq(system(cmd), 0, "%s", cmd);
}

static void setup(void)
{
        memset(&fx, 0, sizeof(fx));
        snprintf(fx.dir, sizeof(fx.dir), "/tmp/qoslet-daemon-XXXXXX");
        cr_assert_not_null(mkdtemp(fx.dir));
        snprintf(fx.manifests, sizeof(fx.manifests), "%s/manifests", fx.dir);
        snprintf(fx.root, sizeof(fx.root), "%s/root", fx.dir);
        snprintf(fx.run, sizeof(fx.run), "%s/run", fx.dir);
        snprintf(fx.sock, sizeof(fx.sock), "%s/qoslet.sock", fx.run);
        snprintf(fx.log, sizeof(fx.log), "%s/qoslet.log", fx.dir);
        cr_assert_eq(mkdir(fx.manifests, 0700), 0);
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "cp manifests/*.yaml '%s'/", fx.manifests);
        sh(cmd);
        fx.port = free_port();
}

static void stop_daemon(int *ret_status)
{
        if (fx.daemon <= 0)
                return;
        kill(fx.daemon, SIGTERM);
        int st = 0;
        waitpid(fx.daemon, &st, 0);
        fx.daemon = 0;
        if (ret_status)
                *ret_status = st;
}

static void teardown(void)
{
        stop_daemon(NULL);
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.dir);
        sh(cmd);
}

TestSuite(daemon, .init = setup, .fini = teardown, .timeout = 120);

/* Starts qoslet with the fixture's dirs and extra arguments (NULL-terminated). */
static pid_t spawn(const char *log, char *const *extra)
{
        _cleanup_free_ char *bin = test_program_path("qoslet");
        char port[16];
        snprintf(port, sizeof(port), "%d", fx.port);
        char *argv[32] = { bin,
                           (char *)"--runtime=none",
                           (char *)"--root-dir",
                           fx.root,
                           (char *)"--run-dir",
                           fx.run,
                           (char *)"--read-only-port",
                           port };
        size_t n = 8;
        for (char *const *e = extra; e && *e && n < 30; e++)
                argv[n++] = *e;
        argv[n] = NULL;
        pid_t pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                FILE *f = freopen(log, "a", stderr);
                if (!f)
                        _exit(126);
                execv(bin, argv);
                _exit(127);
        }
        return pid;
}

static void start_daemon(char *const *extra)
{
        fx.daemon = spawn(fx.log, extra);
}

struct http_reply {
        long status;
        char *body;
};

static size_t on_data(char *d, size_t s, size_t n, void *u)
{
        strbuf_append_n(u, d, s * n);
        return s * n;
}

/* GET (or another method) over the unix socket (tcp false) or the TCP port. */
static int http(bool tcp, const char *method, const char *path, struct http_reply *ret)
{
        CURL *c = curl_easy_init();
        struct strbuf sb = { 0 };
        char url[128];
        snprintf(url, sizeof(url), "http://%s:%d%s", "127.0.0.1", tcp ? fx.port : 80, path);
        if (!tcp)
                curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, fx.sock);
        curl_easy_setopt(c, CURLOPT_URL, url);
        if (strcmp(method, "HEAD") == 0)
                curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        else
                curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &sb);
        CURLcode r = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &ret->status);
        curl_easy_cleanup(c);
        strbuf_append(&sb, "");
        ret->body = strbuf_steal(&sb);
        return r == CURLE_OK ? 0 : -1;
}

static json_t *get_pods(bool tcp)
{
        struct http_reply r;
        cr_assert_eq(http(tcp, "GET", "/pods", &r), 0, "GET /pods (%s)", tcp ? "tcp" : "unix");
        cr_assert_eq(r.status, 200);
        json_error_t je;
        json_t *j = json_loads(r.body, 0, &je);
        cr_assert_not_null(j, "not JSON: %s: %s", je.text, r.body);
        free(r.body);
        cr_assert_str_eq(json_string_value(json_object_get(j, "kind")), "PodList");
        cr_assert_str_eq(json_string_value(json_object_get(j, "apiVersion")), "v1");
        return j;
}

/* Waits until /pods holds n pods (and says so), or fails after 10 s. */
static json_t *wait_pods(size_t n)
{
        uint64_t end = now_usec() + 10000 * MSEC;
        for (;;) {
                struct http_reply r = { 0 };
                if (http(false, "GET", "/pods", &r) == 0 && r.status == 200) {
                        json_t *j = json_loads(r.body, 0, NULL);
                        free(r.body);
                        if (j && json_array_size(json_object_get(j, "items")) == n)
                                return j;
                        json_decref(j);
                } else
                        free(r.body);
                if (now_usec() > end) {
                        _cleanup_free_ char *log = NULL;
                        (void)read_full_file(fx.log, 1 << 20, &log, NULL, NULL);
                        cr_assert_fail("no %zu pods after 10 s; log:\n%s", n, log ? log : "");
                }
                usleep(50000);
        }
}

static json_t *find_item(json_t *list, const char *uid)
{
        size_t i;
        json_t *it;
        json_array_foreach(
                json_object_get(list, "items"), i,
                it) if (strcmp(json_string_value(json_object_get(json_object_get(it, "metadata"),
                                                                 "uid")),
                               uid) == 0) return it;
        return NULL;
}

static json_t *plan_json(void)
{
        _cleanup_free_ char *qosctl = test_program_path("qosctl"), *cmd = NULL, *out = NULL;
        cr_assert_geq(asprintf(&cmd, "%s plan -o json --node-name node1 %s", qosctl, fx.manifests),
                      0);
        cr_assert_eq(test_run_capture(cmd, &out), 0);
        json_t *j = json_loads(out, 0, NULL);
        cr_assert_not_null(j);
        return j;
}

static char *const node1_args[] = { (char *)"--node-name", (char *)"node1",
                                    (char *)"--pod-manifest-path", NULL, NULL };

static void start_default(void)
{
        char *args[5];
        memcpy(args, node1_args, sizeof(args));
        args[3] = fx.manifests;
        start_daemon(args);
}

Test(daemon, pods_match_the_plan_on_both_listeners)
{
        start_default();
        json_t *plan = plan_json();
        json_t *planned = json_object_get(plan, "pods");
        size_t n = json_array_size(planned);
        cr_assert_geq(n, 5, "the example manifests give pods");
        json_t *viaunix = wait_pods(n), *viatcp = get_pods(true);
        size_t i;
        json_t *pp;
        json_array_foreach(planned, i, pp)
        {
                const char *uid = json_string_value(json_object_get(pp, "uid"));
                for (int k = 0; k < 2; k++) {
                        json_t *it = find_item(k ? viatcp : viaunix, uid);
                        cr_assert_not_null(it, "pod %s missing on %s", uid, k ? "tcp" : "unix");
                        json_t *meta = json_object_get(it, "metadata");
                        json_t *st = json_object_get(it, "status");
                        cr_expect_str_eq(json_string_value(json_object_get(meta, "name")),
                                         json_string_value(json_object_get(pp, "name")));
                        cr_expect_str_eq(json_string_value(json_object_get(st, "qosClass")),
                                         json_string_value(json_object_get(pp, "qosClass")));
                        cr_expect_str_eq(json_string_value(json_object_get(
                                                 json_object_get(meta, "annotations"),
                                                 "qoslet/cgroup-path")),
                                         json_string_value(json_object_get(
                                                 json_object_get(pp, "cgroup"), "cgroupfs")));
                        cr_expect_str_eq(json_string_value(json_object_get(st, "phase")),
                                         "Pending");
                        cr_expect_str_eq(json_string_value(json_object_get(
                                                 json_object_get(meta, "annotations"),
                                                 "kubernetes.io/config.source")),
                                         "file");
                }
        }
        json_decref(viaunix);
        json_decref(viatcp);
        json_decref(plan);

        struct http_reply r;
        for (int k = 0; k < 2; k++) {
                cr_assert_eq(http(k, "GET", "/healthz", &r), 0);
                cr_expect_eq(r.status, 200);
                cr_expect_str_eq(r.body, "ok");
                free(r.body);
                cr_assert_eq(http(k, "POST", "/pods", &r), 0);
                cr_expect_eq(r.status, 405, "POST answered %ld", r.status);
                free(r.body);
                cr_assert_eq(http(k, "DELETE", "/pods", &r), 0);
                cr_expect_eq(r.status, 405);
                free(r.body);
                cr_assert_eq(http(k, "GET", "/nothing", &r), 0);
                cr_expect_eq(r.status, 404);
                free(r.body);
        }
        struct stat st;
        cr_assert_eq(stat(fx.sock, &st), 0);
        cr_expect_eq(st.st_mode & 0777, 0600, "socket mode %o", st.st_mode & 0777);
        cr_assert_eq(stat(fx.run, &st), 0);
        cr_expect_eq(st.st_mode & 0777, 0700);
}

Test(daemon, qosctl_get_pods)
{
        start_default();
        json_t *j = wait_pods(8);
        json_decref(j);
        _cleanup_free_ char *qosctl = test_program_path("qosctl"), *cmd = NULL, *out = NULL;
        cr_assert_geq(asprintf(&cmd, "%s get pods --run-dir %s", qosctl, fx.run), 0);
        cr_assert_eq(test_run_capture(cmd, &out), 0);
        cr_expect(strncmp(out, "NAME ", 5) == 0, "%s", out);
        char *nl = strchr(out, '\n');
        cr_assert_not_null(nl);
        *nl = 0;
        /* the header, with kubectl's three spaces between columns */
        cr_expect(strstr(out, "   READY   STATUS") && strstr(out, "   RESTARTS   AGE   QOS"),
                  "header: %s", out);
        const char *rows = nl + 1;
        cr_expect(strstr(rows, "guaranteed-node1 "), "%s", rows);
        cr_expect(strstr(rows, "0/1     ContainerCreating   0 "), "%s", rows);
        cr_expect(strstr(rows, "Init:0/2"), "init pod: %s", rows);
        cr_expect(strstr(rows, "Guaranteed\n") && strstr(rows, "BestEffort\n") &&
                          strstr(rows, "Burstable\n"),
                  "%s", rows);
        free(out);
        free(cmd);
        cr_assert_geq(
                asprintf(&cmd, "%s get pods -o wide --run-dir %s guaranteed-node1", qosctl, fx.run),
                0);
        cr_assert_eq(test_run_capture(cmd, &out), 0);
        cr_expect(strstr(out, "   CGROUP\n"), "%s", out);
        cr_expect(strstr(out, "/kubepods/pod"), "%s", out);
        cr_expect_null(strstr(out, "burstable-node1"), "filtered by name: %s", out);
        free(out);
        free(cmd);
        cr_assert_geq(asprintf(&cmd, "%s get pods -o json --run-dir %s", qosctl, fx.run), 0);
        cr_assert_eq(test_run_capture(cmd, &out), 0);
        json_t *list = json_loads(out, 0, NULL);
        cr_expect_eq(json_array_size(json_object_get(list, "items")), 8);
        json_decref(list);
        free(cmd);
        cmd = NULL;
        cr_assert_geq(asprintf(&cmd, "%s get pods --run-dir %s/nowhere 2>&1", qosctl, fx.dir), 0);
        free(out);
        out = NULL;
        cr_expect_eq(test_run_capture(cmd, &out), 1);
        cr_expect(strstr(out, "is qoslet running"), "%s", out);
}

Test(daemon, lock_refuses_a_second_daemon)
{
        start_default();
        json_decref(wait_pods(8));
        char log2[128];
        snprintf(log2, sizeof(log2), "%s/second.log", fx.dir);
        char *args[5];
        memcpy(args, node1_args, sizeof(args));
        args[3] = fx.manifests;
        pid_t second = spawn(log2, args);
        int st = 0;
        cr_assert_eq(waitpid(second, &st, 0), second);
        cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %d", st);
        _cleanup_free_ char *log = NULL;
        cr_assert_eq(read_full_file(log2, 1 << 20, &log, NULL, NULL), 0);
        cr_expect(strstr(log, "qoslet.lock") && strstr(log, "only one daemon"), "%s", log);
        /* the first one still answers */
        json_decref(wait_pods(8));
}

Test(daemon, unknown_runtime_is_refused)
{
        _cleanup_free_ char *bin = test_program_path("qoslet"), *cmd = NULL, *out = NULL;
        cr_assert_geq(asprintf(&cmd, "%s --runtime docker --root-dir %s --run-dir %s 2>&1", bin,
                               fx.root, fx.run),
                      0);
        cr_expect_eq(test_run_capture(cmd, &out), 2);
        cr_expect(strstr(out, "unknown runtime 'docker'"), "%s", out);
        cr_expect(strstr(out, "use 'shim'"), "%s", out);
}

static void write_pod(const char *file, const char *name)
{
        char p[256], tmp[264];
        snprintf(p, sizeof(p), "%s/%s", fx.manifests, file);
        snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", fx.manifests, file);
        FILE *f = fopen(tmp, "w");
        cr_assert_not_null(f);
        fprintf(f,
                "apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec:\n  containers:\n"
                "  - {name: c, image: busybox, resources: {limits: {cpu: 100m, memory: 10Mi}}}\n",
                name);
        cr_assert_eq(fclose(f), 0);
        cr_assert_eq(rename(tmp, p), 0);
}

static const char *created_of(json_t *list, const char *name)
{
        size_t i;
        json_t *it;
        json_array_foreach(json_object_get(list, "items"), i, it)
        {
                json_t *meta = json_object_get(it, "metadata");
                if (strcmp(json_string_value(json_object_get(meta, "name")), name) == 0)
                        return json_string_value(json_object_get(meta, "creationTimestamp"));
        }
        return NULL;
}

Test(daemon, follows_the_directory_and_adopts_after_a_restart)
{
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -f '%s'/*.yaml", fx.manifests);
        sh(cmd);
        write_pod("a.yaml", "alpha");
        start_default();
        json_decref(wait_pods(1));
        write_pod("b.yaml", "beta");
        json_t *two = wait_pods(2);
        _cleanup_free_ char *created = strdup(created_of(two, "beta-node1"));
        json_decref(two);
        char p[256];
        snprintf(p, sizeof(p), "%s/a.yaml", fx.manifests);
        cr_assert_eq(unlink(p), 0);
        json_decref(wait_pods(1));

        /* a broken edit keeps the pod */
        snprintf(p, sizeof(p), "%s/b.yaml", fx.manifests);
        FILE *f = fopen(p, "w");
        fputs("apiVersion: v1\nkind: Pod\nmetadata: {name: beta\n", f);
        fclose(f);
        usleep(300000);
        json_decref(wait_pods(1));

        int st = 0;
        stop_daemon(&st);
        cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "SIGTERM: status %d", st);
        char pods_dir[128];
        snprintf(pods_dir, sizeof(pods_dir), "%s/pods", fx.root);
        struct stat sst;
        cr_expect_eq(stat(pods_dir, &sst), 0, "state kept after the daemon stopped");

        /* the file is still broken: the restarted daemon keeps the pod from its state */
        sleep(1);
        start_default();
        json_t *again = wait_pods(1);
        cr_expect_str_eq(created_of(again, "beta-node1"), created,
                         "adopted pods keep their creation time");
        json_decref(again);
        _cleanup_free_ char *log = NULL;
        cr_assert_eq(read_full_file(fx.log, 1 << 20, &log, NULL, NULL), 0);
        cr_expect(strstr(log, "(Adopted)"), "%s", log);
        cr_expect(strstr(log, "pods keep running"), "%s", log);
        cr_expect(strstr(log, "(ManifestKept)") || strstr(log, "(ManifestInvalid)"), "%s", log);
}

Test(daemon, config_file_and_flags)
{
        char cfg[128];
        snprintf(cfg, sizeof(cfg), "%s/config.yaml", fx.dir);
        FILE *f = fopen(cfg, "w");
        fprintf(f, "staticPodPath: %s\nnodeName: fromconfig\ncgroupDriver: systemd\n",
                fx.manifests);
        fclose(f);
        char *args[] = { (char *)"--config", cfg, (char *)"--node-name", (char *)"fromflag", NULL };
        start_daemon(args);
        json_t *l = wait_pods(8);
        size_t i;
        json_t *it;
        json_array_foreach(json_object_get(l, "items"), i, it)
        {
                json_t *meta = json_object_get(it, "metadata");
                const char *name = json_string_value(json_object_get(meta, "name"));
                cr_expect(strstr(name, "-fromflag"), "flag overrides the file: %s", name);
                const char *cg = json_string_value(json_object_get(
                        json_object_get(meta, "annotations"), "qoslet/cgroup-path"));
                cr_expect(strstr(cg, ".slice"), "systemd driver from the file: %s", cg);
        }
        json_decref(l);
}

Test(daemon, manifest_url_source)
{
        char www[128], port_file[128], reqlog[128];
        snprintf(www, sizeof(www), "%s/www", fx.dir);
        snprintf(port_file, sizeof(port_file), "%s/http.port", fx.dir);
        snprintf(reqlog, sizeof(reqlog), "%s/requests.log", fx.dir);
        cr_assert_eq(mkdir(www, 0700), 0);
        char body[160];
        snprintf(body, sizeof(body), "%s/pods.yaml", www);
        FILE *f = fopen(body, "w");
        fputs("apiVersion: v1\nkind: PodList\nitems:\n"
              "- metadata: {name: remote}\n  spec: {containers: [{name: c, image: busybox}]}\n",
              f);
        fclose(f);
        pid_t server = fork();
        cr_assert_geq(server, 0);
        if (server == 0) {
                execlp("python3", "python3", "tests/helpers/manifest-server.py", www, port_file,
                       reqlog, (char *)NULL);
                _exit(127);
        }
        _cleanup_free_ char *port = NULL;
        uint64_t end = now_usec() + 10000 * MSEC;
        while (read_one_line_file(port_file, &port, NULL) < 0 && now_usec() < end)
                usleep(20000);
        cr_assert_not_null(port, "the test server did not start");
        char url[128];
        snprintf(url, sizeof(url), "http://127.0.0.1:%s/pods.yaml", port);
        char *args[] = { (char *)"--node-name",
                         (char *)"node1",
                         (char *)"--manifest-url",
                         url,
                         (char *)"--manifest-url-header",
                         (char *)"X-Node: node1",
                         NULL };
        start_daemon(args);
        json_t *l = wait_pods(1);
        json_t *meta = json_object_get(json_array_get(json_object_get(l, "items"), 0), "metadata");
        cr_expect_str_eq(json_string_value(json_object_get(meta, "name")), "remote-node1");
        cr_expect_str_eq(json_string_value(json_object_get(json_object_get(meta, "annotations"),
                                                           "kubernetes.io/config.source")),
                         "http");
        json_decref(l);
        kill(server, SIGTERM);
        waitpid(server, NULL, 0);
        _cleanup_free_ char *log = NULL;
        cr_assert_eq(read_full_file(reqlog, 1 << 20, &log, NULL, NULL), 0);
        cr_expect(strstr(log, "X-Node: node1"), "%s", log);
}

/* The lines of tests/bad-manifests/EXPECTED.tsv: file name and a part of its first error. */
struct bad_file {
        char *name, *reason;
};

static size_t load_bad_files(struct bad_file **ret)
{
        _cleanup_free_ char *buf = NULL;
        cr_assert_eq(read_full_file("tests/bad-manifests/EXPECTED.tsv", 1 << 20, &buf, NULL, NULL),
                     0);
        struct bad_file *v = NULL;
        size_t n = 0;
        for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l;
             l = strtok_r(NULL, "\n", &save)) {
                char *tab = strchr(l, '\t'), *last = strrchr(l, '\t');
                if (l[0] == '#' || !tab)
                        continue;
                v = realloc(v, (n + 1) * sizeof(*v));
                cr_assert_not_null(v);
                v[n].name = strndup(l, (size_t)(tab - l));
                v[n].reason = strdup(last + 1);
                n++;
        }
        *ret = v;
        return n;
}

static char *tree_listing(const char *dir)
{
        _cleanup_free_ char *cmd = NULL;
        char *out = NULL;
        cr_assert_geq(asprintf(&cmd, "cd '%s' && find . | sort", dir), 0);
        cr_assert_eq(test_run_capture(cmd, &out), 0);
        return out;
}

/* Waits until the log names every bad file with its reason; fails after 60 s (the sanitizer
 * build on a busy machine is slow). */
static void wait_for_reasons(const struct bad_file *bad, size_t n)
{
        uint64_t end = now_usec() + 60000 * MSEC;
        for (;;) {
                _cleanup_free_ char *log = NULL;
                (void)read_full_file(fx.log, 16 << 20, &log, NULL, NULL);
                size_t missing = n;
                for (size_t i = 0; log && i < n; i++) {
                        char want[256];
                        snprintf(want, sizeof(want), "%s/%s:", fx.manifests, bad[i].name);
                        const char *at = strstr(log, want);
                        const char *eol = at ? strchr(at, '\n') : NULL;
                        _cleanup_free_ char *line = at ? strndup(at, eol ? (size_t)(eol - at)
                                                                         : strlen(at))
                                                       : NULL;
                        if (line && strstr(line, bad[i].reason) &&
                            strstr(line, "(ManifestInvalid)"))
                                missing--;
                        else if (now_usec() > end)
                                cr_expect_fail("'%s' not logged with '%s': %s", bad[i].name,
                                               bad[i].reason, line ? line : "no line");
                }
                if (missing == 0)
                        return;
                cr_assert(now_usec() <= end, "%zu of %zu bad files not logged as expected", missing,
                          n);
                usleep(100000);
        }
}

Test(daemon, bad_manifests_leave_the_good_pod_alone)
{
        char cmd[512];
        snprintf(cmd, sizeof(cmd), "rm -f '%s'/*.yaml", fx.manifests);
        sh(cmd);
        write_pod("good.yaml", "good");
        /* EXPECTED.tsv's messages are those for node "n1". */
        char *args[] = { (char *)"--node-name", (char *)"n1", (char *)"--pod-manifest-path",
                         fx.manifests, NULL };
        start_daemon(args);
        json_t *before = wait_pods(1);
        _cleanup_free_ char *tree_before = tree_listing(fx.root);
        struct bad_file *bad = NULL;
        size_t n = load_bad_files(&bad);
        cr_assert_geq(n, 60);
        /* Staged beside the directory, then moved in: each arrives whole. */
        snprintf(cmd, sizeof(cmd),
                 "mkdir '%s/staging' && cp tests/bad-manifests/* '%s/staging/' && "
                 "rm '%s/staging/EXPECTED.tsv' && mv '%s/staging/'* '%s/'",
                 fx.dir, fx.dir, fx.dir, fx.dir, fx.manifests);
        sh(cmd);
        wait_for_reasons(bad, n);

        cr_assert_eq(waitpid(fx.daemon, NULL, WNOHANG), 0, "the daemon died");
        json_t *after = get_pods(true);
        json_t *a = json_array_get(json_object_get(after, "items"), 0);
        json_t *b = json_array_get(json_object_get(before, "items"), 0);
        cr_assert_eq(json_array_size(json_object_get(after, "items")), 1);
        cr_expect(json_equal(json_object_get(a, "metadata"), json_object_get(b, "metadata")),
                  "the good pod's metadata changed");
        cr_expect(json_equal(json_object_get(a, "spec"), json_object_get(b, "spec")),
                  "the good pod's spec changed");
        cr_expect(json_equal(json_object_get(a, "status"), json_object_get(b, "status")),
                  "the good pod's status changed");
        _cleanup_free_ char *tree_after = tree_listing(fx.root);
        cr_expect_str_eq(tree_after, tree_before, "files appeared under the root dir");
        /* The state is the daemon's alone: no file or directory open to group or others. */
        _cleanup_free_ char *find = NULL, *open_to_others = NULL;
        cr_assert_geq(asprintf(&find, "find '%s' -perm /077", fx.root), 0);
        cr_assert_eq(test_run_capture(find, &open_to_others), 0);
        cr_expect_str_eq(open_to_others, "", "state open to others: %s", open_to_others);
        json_decref(before);
        json_decref(after);

        int st = 0;
        stop_daemon(&st);
        cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "SIGTERM: status %#x", st);
        for (size_t i = 0; i < n; i++) {
                free(bad[i].name);
                free(bad[i].reason);
        }
        free(bad);
}

/* The listening address of a TCP port from /proc/net/tcp (IPv4), as "0100007F", or NULL. */
static char *listen_address(int port)
{
        _cleanup_free_ char *text = NULL;
        cr_assert_eq(read_full_file("/proc/net/tcp", 16 << 20, &text, NULL, NULL), 0);
        for (char *save = NULL, *l = strtok_r(text, "\n", &save); l;
             l = strtok_r(NULL, "\n", &save)) {
                char addr[16];
                unsigned p, state;
                if (sscanf(l, " %*d: %8[0-9A-F]:%X %*[0-9A-F]:%*X %X", addr, &p, &state) == 3 &&
                    (int)p == port && state == 0x0A)
                        return strdup(addr);
        }
        return NULL;
}

Test(daemon, http_is_read_only_and_on_loopback)
{
        start_default();
        json_decref(wait_pods(8));
        _cleanup_free_ char *addr = listen_address(fx.port);
        cr_assert_not_null(addr, "nothing listens on port %d", fx.port);
        cr_expect_str_eq(addr, "0100007F", "the read-only port listens on %s, not 127.0.0.1", addr);
        static const char *const refused[] = { "POST", "PUT", "DELETE", "PATCH", "OPTIONS" };
        struct http_reply r;
        for (int k = 0; k < 2; k++) {
                cr_assert_eq(http(k, "HEAD", "/pods", &r), 0);
                cr_expect_eq(r.status, 200, "HEAD answered %ld", r.status);
                cr_expect_str_eq(r.body, "", "HEAD has no body");
                free(r.body);
                for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                        cr_assert_eq(http(k, refused[i], "/healthz", &r), 0);
                        cr_expect_eq(r.status, 405, "%s answered %ld", refused[i], r.status);
                        free(r.body);
                }
        }
}
