/* SPDX-License-Identifier: Apache-2.0 */
/* End to end in the cgroup v2 VM: one qoslet daemon (the real runtime, the driver of
 * QOSLET_TEST_CGROUP_DRIVER) is given every manifest of tests/corpus/, one file at a time, its
 * images rewritten to the demo image with imagePullPolicy Never (done at build time by
 * tests/helpers/e2e-rewrite.py: python is slow under emulation; it also shortens the grace
 * period to 1 s). Every pod must get the class
 * of tests/corpus/expected-qos.tsv and the cgroup values of `qosctl plan -o json`; every
 * REJECT file is refused with an error naming it and creates nothing; every accepted pod's
 * containers end running, or waiting or terminated with a kubelet reason (and a message when
 * waiting). The daemon is polled over its socket in this process: no process per poll. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/strbuf.h"
#include "cgroups/cgroups.h"
#include "helpers/image-helpers.h"
#include "helpers/paths.h"

/* How long one file may take to settle, and to go away once removed. */
#define SETTLE_MS 20000
#define GONE_MS 20000
#define POLL_US 50000

static char *work, *stage, *mdir, *root, *run, *log_path, *cgroot;
static const char *driver;
static json_t *plan;
static pid_t daemon_pid;
static CURL *curl;
static unsigned failures, containers_checked, pods_checked, start_failed;

__attribute__((format(printf, 1, 2))) static char *fmt(const char *f, ...)
{
        char *s = NULL;
        va_list ap;
        va_start(ap, f);
        int r = vasprintf(&s, f, ap);
        va_end(ap);
        cr_assert_geq(r, 0);
        return s;
}

__attribute__((format(printf, 2, 3))) static void fail(const char *file, const char *f, ...)
{
        _cleanup_free_ char *s = NULL;
        va_list ap;
        va_start(ap, f);
        int r = vasprintf(&s, f, ap);
        va_end(ap);
        cr_log_error("%s: %s", file, r >= 0 ? s : f);
        failures++;
}

static long long now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t on_data(char *data, size_t size, size_t n, void *userdata)
{
        struct strbuf *sb = userdata;
        strbuf_append_n(sb, data, size * n);
        return sb->oom ? 0 : size * n;
}

/* The daemon's pod list (GET /pods on its socket), or NULL when it does not answer. */
static json_t *daemon_pods(void)
{
        _cleanup_strbuf_ struct strbuf sb = { 0 };
        long status = 0;
        (void)curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sb);
        if (curl_easy_perform(curl) != CURLE_OK)
                return NULL;
        (void)curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        _cleanup_free_ char *body = strbuf_steal(&sb);
        return status == 200 && body ? json_loads(body, 0, NULL) : NULL;
}

static size_t n_pods(void)
{
        json_t *j = daemon_pods();
        size_t n = j ? json_array_size(json_object_get(j, "items")) : SIZE_MAX;
        json_decref(j);
        return n;
}

static void connect_daemon(void)
{
        _cleanup_free_ char *sock = fmt("%s/qoslet.sock", run);
        curl = curl_easy_init();
        cr_assert_not_null(curl);
        (void)curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, sock);
        (void)curl_easy_setopt(curl, CURLOPT_URL, "http://localhost/pods");
        (void)curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
        (void)curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
}

static void start_daemon(void)
{
        _cleanup_free_ char *qoslet = test_program_path("qoslet");
        _cleanup_free_ char *drv = fmt("--cgroup-driver=%s", driver);
        _cleanup_free_ char *logs = fmt("%s/logs", work);
        daemon_pid = fork();
        cr_assert_geq(daemon_pid, 0);
        if (daemon_pid == 0) {
                int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
                        _exit(126);
                execl(qoslet, qoslet, "--runtime=shim", drv, "--pod-manifest-path", mdir,
                      "--root-dir", root, "--run-dir", run, "--log-dir", logs, "--cgroup-root",
                      cgroot, "--node-name", "e2e", "--read-only-port", "0", NULL);
                _exit(127);
        }
        connect_daemon();
        for (long long end = now_ms() + 30000; now_ms() < end; usleep(POLL_US)) {
                if (n_pods() == 0)
                        return;
                cr_assert_eq(waitpid(daemon_pid, NULL, WNOHANG), 0, "the daemon ended; log %s",
                             log_path);
        }
        cr_assert_fail("the daemon did not come up in 30 s; log %s", log_path);
}

/* The rewritten corpus, planned once where the daemon will read each file (a static pod's
 * UID depends on its file's path), then moved aside to be handed over one at a time. */
static void stage_and_plan(void)
{
        _cleanup_free_ char *corpus = test_program_path("tests/e2e-corpus");
        _cleanup_free_ char *qosctl = test_program_path("qosctl"), *cmd = NULL, *out = NULL;
        cr_assert_eq(test_sh("cp %s/*.yaml %s/", corpus, mdir), 0,
                     "no rewritten corpus in %s (make tests)", corpus);
        cmd = fmt("%s plan -o json --node-name e2e --cgroup-root %s --cgroup-driver %s %s "
                  "2>/dev/null",
                  qosctl, cgroot, driver, mdir);
        (void)test_run_capture(cmd, &out);
        plan = out ? json_loads(out, 0, NULL) : NULL;
        cr_assert_not_null(plan, "qosctl plan gave no JSON");
        cr_assert_eq(test_sh("mv %s/*.yaml %s/", mdir, stage), 0);
}

static void setup(void)
{
        if (!getenv("QOSLET_VM"))
                cr_skip_test("not inside the cgroup v2 VM (run through hack/test-vm)");
        if (geteuid() != 0)
                cr_skip_test("needs root");
        driver = getenv("QOSLET_TEST_CGROUP_DRIVER");
        if (!driver || !*driver)
                driver = "cgroupfs";
        /* the VM's / is an overlay, which refuses overlay upper dirs: a tmpfs of our own */
        work = fmt("/var/lib/qoslet/e2e-%d", (int)getpid());
        cr_assert_eq(mkdir(work, 0700), 0);
        cr_assert_eq(mount("tmpfs", work, "tmpfs", 0, "mode=0700"), 0);
        root = fmt("%s/root", work);
        run = fmt("%s/run", work);
        mdir = fmt("%s/manifests", work);
        stage = fmt("%s/stage", work);
        log_path = fmt("%s/qoslet.log", work);
        cgroot = fmt("/qoslet-e2e-%d", (int)getpid());
        cr_assert_eq(test_sh("mkdir -p %s %s", mdir, stage), 0);
        _cleanup_free_ char *qosctl = test_program_path("qosctl");
        _cleanup_free_ char *image = test_program_path("tests/e2e-demo-image.tar");
        cr_assert_eq(test_sh("%s import %s qoslet-demo:latest --root-dir %s >/dev/null", qosctl,
                             image, root),
                     0, "import the demo image %s (make tests builds it)", image);
        stage_and_plan();
        start_daemon();
}

static void teardown(void)
{
        if (!work)
                return;
        if (failures > 0)
                (void)test_sh("echo '== the daemon log, last lines' >&2; grep -v hugetlb %s | tail "
                              "-n 60 >&2",
                              log_path);
        if (daemon_pid > 0) {
                (void)test_sh("rm -f %s/*", mdir);
                for (long long end = now_ms() + GONE_MS; now_ms() < end && n_pods() != 0;)
                        usleep(POLL_US);
                kill(daemon_pid, SIGTERM);
                waitpid(daemon_pid, NULL, 0);
        }
        if (curl)
                curl_easy_cleanup(curl);
        _cleanup_cg_manager_ struct cg_manager *m = NULL;
        _cleanup_free_ char *sd = NULL;
        if (cg_path_to_systemd(cgroot, &sd, NULL) == 0 &&
            cg_manager_new("cgroupfs", "/", &m, NULL) == 0)
                (void)cg_destroy(m, cgroot, sd, NULL, NULL);
        (void)umount2(work, MNT_DETACH);
        (void)rmdir(work);
        json_decref(plan);
        free(work), free(root), free(run), free(mdir), free(stage), free(cgroot);
        free(log_path);
        work = NULL;
}

static const char *str_at(json_t *o, const char *k1, const char *k2)
{
        json_t *v = json_object_get(o, k1);
        return json_string_value(k2 ? json_object_get(v, k2) : v);
}

static json_t *find_pod(json_t *pods, const char *uid)
{
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(pods, "items"), i, p)
        {
                const char *u = str_at(p, "metadata", "uid");
                if (u && strcmp(u, uid) == 0)
                        return p;
        }
        return NULL;
}

/* A container is settled when it runs, waits with a reason that is not a start's and a
 * message, or ended with a reason. PodInitializing is settled when an init container is
 * stuck (then the app containers never start). */
static bool settled(json_t *cs, bool init_stuck)
{
        json_t *st = json_object_get(cs, "state");
        if (json_object_get(st, "running"))
                return true;
        json_t *w = json_object_get(st, "waiting"), *t = json_object_get(st, "terminated");
        const char *reason = str_at(w ? w : t, "reason", NULL);
        const char *msg = str_at(w ? w : t, "message", NULL);
        if (!reason || !*reason)
                return false;
        if (t)
                return true;
        if (strcmp(reason, "PodInitializing") == 0)
                return init_stuck;
        return strcmp(reason, "ContainerCreating") != 0 && msg && *msg;
}

/* An init container that waits with an error or a back-off blocks the app containers. */
static bool init_stuck(json_t *p)
{
        size_t i;
        json_t *cs;
        json_array_foreach(json_object_get(json_object_get(p, "status"), "initContainerStatuses"),
                           i, cs)
        {
                json_t *w = json_object_get(json_object_get(cs, "state"), "waiting");
                const char *reason = str_at(w, "reason", NULL);
                if (reason && strcmp(reason, "PodInitializing") != 0 &&
                    strcmp(reason, "ContainerCreating") != 0)
                        return true;
        }
        return false;
}

static bool pod_settled(json_t *p, char **why)
{
        static const char *const keys[] = { "initContainerStatuses", "containerStatuses" };
        bool stuck = init_stuck(p), any = false;
        for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
                size_t i;
                json_t *cs;
                json_array_foreach(json_object_get(json_object_get(p, "status"), keys[k]), i, cs)
                {
                        any = true;
                        if (!settled(cs, stuck)) {
                                free(*why);
                                *why = json_dumps(cs, JSON_COMPACT);
                                return false;
                        }
                }
        }
        return any;
}

/* Compares the plan's values (an object of file -> value) with the files in a cgroup
 * directory. A missing directory is "gone" (1) and left to the caller. */
static int compare_files(const char *file, const char *dir, json_t *values)
{
        if (access(dir, F_OK) < 0)
                return 1;
        const char *key;
        json_t *v;
        json_object_foreach(values, key, v)
        {
                _cleanup_free_ char *fp = fmt("%s/%s", dir, key), *have = NULL;
                if (read_full_file(fp, 4096, &have, NULL, NULL) < 0) {
                        fail(file, "cannot read %s", fp);
                        continue;
                }
                have[strcspn(have, "\n")] = 0;
                if (strcmp(have, json_string_value(v)) != 0)
                        fail(file, "%s is '%s', the plan says '%s'", fp, have,
                             json_string_value(v));
        }
        return 0;
}

/* Whether the runtime failed the pod's start as a whole: then every container waits with
 * the start's error (RunContainerError...) and the runtime has removed the pod's cgroup. */
static bool pod_start_failed(json_t *pod)
{
        static const char *const keys[] = { "initContainerStatuses", "containerStatuses" };
        bool any = false;
        for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
                size_t i;
                json_t *cs;
                json_array_foreach(json_object_get(json_object_get(pod, "status"), keys[k]), i, cs)
                {
                        json_t *w = json_object_get(json_object_get(cs, "state"), "waiting");
                        const char *reason = str_at(w, "reason", NULL);
                        size_t n = reason ? strlen(reason) : 0;
                        if (n < 5 || strcmp(reason + n - 5, "Error") != 0)
                                return false;
                        any = true;
                }
        }
        return any;
}

/* Pod cgroup values, and under cgroupfs those of each running container (its cgroup is
 * <pod>/<name>; under systemd the containers' cgroups are the driver's business). */
static void check_cgroups(const char *file, json_t *planned, json_t *pod)
{
        _cleanup_free_ char *dir = fmt("/sys/fs/cgroup%s", str_at(planned, "cgroup", driver));
        if (compare_files(file, dir, json_object_get(planned, "v2")) > 0) {
                if (pod_start_failed(pod))
                        start_failed++;
                else
                        fail(file, "no pod cgroup %s", dir);
                return;
        }
        pods_checked++;
        if (strcmp(driver, "cgroupfs") != 0)
                return;
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(planned, "containers"), i, c)
        {
                const char *name = str_at(c, "name", NULL);
                _cleanup_free_ char *cdir = fmt("%s/%s", dir, name);
                bool running = false;
                static const char *const keys[] = { "initContainerStatuses", "containerStatuses" };
                for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
                        size_t j;
                        json_t *cs;
                        json_array_foreach(json_object_get(json_object_get(pod, "status"), keys[k]),
                                           j, cs)
                        {
                                if (strcmp(str_at(cs, "name", NULL), name) == 0)
                                        running = json_object_get(json_object_get(cs, "state"),
                                                                  "running") != NULL;
                        }
                }
                /* a container that ended may have taken its cgroup with it */
                if (running && compare_files(file, cdir, json_object_get(c, "v2")) == 0)
                        containers_checked++;
        }
}

/* The planned pods of one corpus file (matched by the file's name). */
static json_t *planned_pods(const char *file)
{
        json_t *r = json_array();
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(plan, "pods"), i, p)
        {
                const char *src = str_at(p, "source", NULL);
                const char *base = src ? strrchr(src, '/') : NULL;
                if (base && strcmp(base + 1, file) == 0)
                        json_array_append(r, p);
        }
        return r;
}

/* The message of the plan's error for the file, or NULL when the plan accepts it. */
static const char *plan_error(const char *file)
{
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(plan, "errors"), i, e)
        {
                const char *src = str_at(e, "file", NULL);
                const char *base = src ? strrchr(src, '/') : NULL;
                if (base && strcmp(base + 1, file) == 0)
                        return str_at(e, "message", NULL);
        }
        return NULL;
}

static void check_accepted(const char *file, const char *class)
{
        json_t *want = planned_pods(file);
        if (json_array_size(want) == 0) {
                fail(file, "nothing planned");
                json_decref(want);
                return;
        }
        _cleanup_free_ char *why = NULL;
        json_t *pods = NULL;
        bool done = false;
        for (long long end = now_ms() + SETTLE_MS; !done && now_ms() < end;) {
                json_decref(pods);
                pods = daemon_pods();
                done = pods != NULL;
                size_t k;
                json_t *pp;
                json_array_foreach(want, k, pp)
                {
                        json_t *p = find_pod(pods, str_at(pp, "uid", NULL));
                        done = done && p && pod_settled(p, &why);
                }
                if (!done)
                        usleep(POLL_US);
        }
        if (!done)
                fail(file, "not settled in %d s: %s", SETTLE_MS / 1000, why ? why : "not listed");
        size_t k;
        json_t *pp;
        json_array_foreach(want, k, pp)
        {
                json_t *p = find_pod(pods, str_at(pp, "uid", NULL));
                const char *got = p ? str_at(json_object_get(p, "status"), "qosClass", NULL) : NULL;
                if (!got || strcmp(got, class) != 0)
                        fail(file, "class %s, expected %s", got ? got : "(none)", class);
                if (strcmp(str_at(pp, "qosClass", NULL), class) != 0)
                        fail(file, "planned class %s, expected %s", str_at(pp, "qosClass", NULL),
                             class);
                if (p)
                        check_cgroups(file, pp, p);
        }
        json_decref(pods);
        json_decref(want);
}

/* The first pod cgroup below dir (caller frees), or NULL: "pod<uid>" under cgroupfs,
 * "<parent>-pod<uid>.slice" under systemd (where the tiers are "...-kubepods-...slice"). */
static char *pod_cgroup_below(const char *dir)
{
        _cleanup_(closedirp) DIR *d = opendir(dir);
        if (!d)
                return NULL;
        for (struct dirent *e; (e = readdir(d));) {
                if (e->d_type != DT_DIR || e->d_name[0] == '.')
                        continue;
                char *sub = fmt("%s/%s", dir, e->d_name), *found = NULL;
                if (strncmp(e->d_name, "pod", 3) == 0 || strstr(e->d_name, "-pod"))
                        return sub;
                found = pod_cgroup_below(sub);
                free(sub);
                if (found)
                        return found;
        }
        return NULL;
}

static char *kubepods_dir(void)
{
        json_t *tier = json_object_get(json_object_get(plan, "tiers"), "kubepods");
        return fmt("/sys/fs/cgroup%s", str_at(tier, "cgroup", driver));
}

/* Whether the daemon's log, from offset on, refuses the file: a line naming it with the
 * plan's error message and "no pod from it" (a Kubernetes event has no error type: the
 * refusal is the ManifestInvalid warning). */
static bool logged_refusal(const char *file, const char *message, size_t offset)
{
        _cleanup_free_ char *text = NULL;
        size_t n = 0;
        if (read_full_file(log_path, 64 << 20, &text, &n, NULL) < 0 || n < offset)
                return false;
        for (char *l = text + offset, *nl; l && *l; l = nl ? nl + 1 : NULL) {
                nl = strchr(l, '\n');
                if (nl)
                        *nl = 0;
                if (strstr(l, file) && strstr(l, message) && strstr(l, "no pod from it") &&
                    strstr(l, "(ManifestInvalid)"))
                        return true;
        }
        return false;
}

static void check_rejected(const char *file, size_t log_offset)
{
        const char *message = plan_error(file);
        if (!message) {
                fail(file, "qosctl plan accepts it");
                return;
        }
        bool logged = false;
        for (long long end = now_ms() + SETTLE_MS; !logged && now_ms() < end;) {
                logged = logged_refusal(file, message, log_offset);
                if (!logged)
                        usleep(POLL_US);
        }
        if (!logged)
                fail(file, "no refusal naming it with '%s' in the daemon's log", message);
        if (n_pods() != 0)
                fail(file, "pods were created");
        _cleanup_free_ char *base = kubepods_dir(), *found = pod_cgroup_below(base);
        if (found)
                fail(file, "a pod cgroup was created: %s", found);
}

/* Takes the file away; its pods must go, with their cgroups. */
static void remove_and_wait(const char *file, const char *dest)
{
        cr_assert_eq(unlink(dest), 0);
        _cleanup_free_ char *base = kubepods_dir(), *found = NULL;
        size_t n = SIZE_MAX;
        for (long long end = now_ms() + GONE_MS; now_ms() < end; usleep(POLL_US)) {
                free(found);
                found = pod_cgroup_below(base);
                n = n_pods();
                if (n == 0 && !found)
                        return;
        }
        fail(file, "%zd pods listed and cgroup %s left %d s after its removal", (ssize_t)n,
             found ? found : "(none)", GONE_MS / 1000);
        cr_assert_fail("cannot go on with pods left over");
}

static size_t file_size(const char *path)
{
        struct stat st;
        return stat(path, &st) == 0 ? (size_t)st.st_size : 0;
}

static void one_file(const char *file, const char *class, bool reject)
{
        _cleanup_free_ char *staged = fmt("%s/%s", stage, file);
        _cleanup_free_ char *dest = fmt("%s/%s", mdir, file);
        long long t0 = now_ms();
        size_t offset = file_size(log_path);
        /* a rename, so that the daemon sees the whole file at once */
        cr_assert_eq(rename(staged, dest), 0, "%s: not in the rewritten corpus", file);
        if (reject)
                check_rejected(file, offset);
        else
                check_accepted(file, class);
        long long t1 = now_ms();
        remove_and_wait(file, dest);
        cr_log_info("%-48s %-10s %s settled %lld ms, gone %lld ms", file, class,
                    reject ? "refused" : "accepted", t1 - t0, now_ms() - t1);
}

Test(e2e_vm, corpus, .init = setup, .fini = teardown, .timeout = 300)
{
        _cleanup_free_ char *tsv = test_program_path("../tests/corpus/expected-qos.tsv");
        _cleanup_fclose_ FILE *f = fopen(tsv, "re");
        cr_assert_not_null(f, "%s", tsv);
        char line[1024];
        unsigned n = 0, rejected = 0;
        long long t0 = now_ms();
        while (fgets(line, sizeof(line), f)) {
                char *file = strtok(line, "\t\n"), *class = strtok(NULL, "\t\n");
                char *reason = strtok(NULL, "\n");
                if (!file || !class || strcmp(file, "file") == 0)
                        continue;
                bool reject = reason && strncmp(reason, "REJECT", 6) == 0;
                one_file(file, class, reject);
                rejected += reject;
                n++;
        }
        cr_log_info("e2e: %u files (%u refused) in %lld ms, %s driver; cgroups of %u pods and "
                    "%u containers checked; %u pods failed to start (no cgroup); %u failures",
                    n, rejected, now_ms() - t0, driver, pods_checked, containers_checked,
                    start_failed, failures);
        cr_assert_gt(n, 20, "only %u corpus files", n);
        cr_assert_eq(failures, 0, "%u failures (above); daemon log %s", failures, log_path);
        cr_assert_gt(pods_checked, 10, "only %u pod cgroups checked", pods_checked);
        if (strcmp(driver, "cgroupfs") == 0)
                cr_assert_gt(containers_checked, 0, "no running container's cgroup checked");
}
