/* SPDX-License-Identifier: Apache-2.0 */
/* End to end in the cgroup v2 VM: the qoslet daemon is given every manifest of tests/corpus/,
 * one file at a time, its images rewritten to the demo image (imagePullPolicy Never). Every
 * pod must get the class of tests/corpus/expected-qos.tsv and the plan's cgroup values; every
 * REJECT file is refused with an error naming it and creates nothing; every accepted pod's
 * containers end Running or waiting/terminated with a reason and a message. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "helpers/image-helpers.h"
#include "helpers/paths.h"

static char *work, *root, *run, *mdir, *cgroot, *log_path;
static const char *runtime = "none";
static pid_t daemon_pid;

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

static json_t *run_json(const char *cmd)
{
        _cleanup_free_ char *out = NULL;
        (void)test_run_capture(cmd, &out);
        return out ? json_loads(out, 0, NULL) : NULL;
}

static json_t *daemon_pods(void)
{
        _cleanup_free_ char *qosctl = test_program_path("qosctl"), *cmd = NULL;
        cr_assert_geq(asprintf(&cmd, "%s get pods -A -o json --run-dir %s", qosctl, run), 0);
        return run_json(cmd);
}

static void start_daemon(void)
{
        _cleanup_free_ char *qoslet = test_program_path("qoslet");
        const char *driver = getenv("QOSLET_TEST_CGROUP_DRIVER");
        if (test_sh("%s --help 2>&1 | grep -A2 -- --runtime | grep -qw shim", qoslet) == 0)
                runtime = "shim";
        daemon_pid = fork();
        cr_assert_geq(daemon_pid, 0);
        if (daemon_pid == 0) {
                int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
                        _exit(126);
                _cleanup_free_ char *rt = fmt("--runtime=%s", runtime);
                _cleanup_free_ char *drv = fmt("--cgroup-driver=%s", driver ? driver : "cgroupfs");
                execl(qoslet, qoslet, rt, drv, "--pod-manifest-path", mdir, "--root-dir", root,
                      "--run-dir", run, "--cgroup-root", cgroot, "--node-name", "e2e",
                      "--read-only-port", "0", NULL);
                _exit(127);
        }
        for (int i = 0; i < 300; i++) {
                json_t *j = daemon_pods();
                bool up = j != NULL;
                json_decref(j);
                if (up)
                        return;
                usleep(100000);
        }
        cr_assert_fail("the daemon did not come up; log %s", log_path);
}

static void setup(void)
{
        if (!getenv("QOSLET_VM"))
                cr_skip_test("not inside the cgroup v2 VM (run through hack/test-vm)");
        if (geteuid() != 0 || access("/usr/bin/python3", X_OK) != 0)
                cr_skip_test("needs root and python3 (hack/install-deps.sh)");
        /* the VM's / is an overlay, which refuses overlay upper dirs: a tmpfs of our own */
        cr_assert_geq(asprintf(&work, "/var/lib/qoslet/e2e-%d", (int)getpid()), 0);
        cr_assert_eq(mkdir(work, 0700), 0);
        cr_assert_eq(mount("tmpfs", work, "tmpfs", 0, "mode=0700"), 0);
        root = fmt("%s/root", work);
        run = fmt("%s/run", work);
        mdir = fmt("%s/manifests", work);
        log_path = fmt("%s/qoslet.log", work);
        cr_assert_geq(asprintf(&cgroot, "/qoslet-e2e-%d", (int)getpid()), 0);
        cr_assert_eq(test_sh("mkdir -p %s %s/in", mdir, work), 0);
        _cleanup_free_ char *qosctl = test_program_path("qosctl");
        _cleanup_free_ char *mk = test_program_path("../hack/make-demo-image");
        cr_assert_eq(test_sh("%s %s/demo.tar >/dev/null && %s import %s/demo.tar "
                             "qoslet-demo:latest --root-dir %s >/dev/null",
                             mk, work, qosctl, work, root),
                     0, "make or import the demo image");
        start_daemon();
}

static void teardown(void)
{
        if (!work)
                return;
        if (daemon_pid > 0) {
                (void)test_sh("rm -f %s/*", mdir);
                for (int i = 0; i < 300; i++) {
                        json_t *j = daemon_pods();
                        size_t n = json_array_size(json_object_get(j, "items"));
                        json_decref(j);
                        if (n == 0)
                                break;
                        usleep(100000);
                }
                kill(daemon_pid, SIGTERM);
                waitpid(daemon_pid, NULL, 0);
        }
        (void)test_sh("find /sys/fs/cgroup%s -depth -type d -exec rmdir {} + 2>/dev/null", cgroot);
        (void)umount2(work, MNT_DETACH);
        (void)rmdir(work);
        free(work), free(root), free(run), free(mdir), free(cgroot), free(log_path);
        work = NULL;
}

/* The plan of a rewritten file, as `qosctl plan -o json` gives it for the daemon's settings. */
static json_t *plan_of(const char *path)
{
        _cleanup_free_ char *qosctl = test_program_path("qosctl"), *cmd = NULL;
        const char *driver = getenv("QOSLET_TEST_CGROUP_DRIVER");
        cr_assert_geq(asprintf(&cmd,
                               "%s plan -o json --node-name e2e --cgroup-root %s "
                               "--cgroup-driver %s %s 2>/dev/null",
                               qosctl, cgroot, driver ? driver : "cgroupfs", path),
                      0);
        json_t *j = run_json(cmd);
        cr_assert_not_null(j, "no plan for %s", path);
        return j;
}

static json_t *find_pod(json_t *pods, const char *uid)
{
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(pods, "items"), i, p)
        {
                const char *u = json_string_value(
                        json_object_get(json_object_get(p, "metadata"), "uid"));
                if (u && strcmp(u, uid) == 0)
                        return p;
        }
        return NULL;
}

/* A container is settled when it runs, or waits or ended with a reason and a message that
 * are not the transient ones of a start. */
static bool settled(json_t *cs, char **why)
{
        json_t *st = json_object_get(cs, "state");
        if (json_object_get(st, "running"))
                return true;
        json_t *w = json_object_get(st, "waiting"), *t = json_object_get(st, "terminated");
        json_t *s = w ? w : t;
        const char *reason = json_string_value(json_object_get(s, "reason"));
        const char *msg = json_string_value(json_object_get(s, "message"));
        bool ok = reason && *reason && strcmp(reason, "ContainerCreating") != 0 &&
                  strcmp(reason, "PodInitializing") != 0 && (t || (msg && *msg));
        free(*why);
        *why = json_dumps(cs, JSON_COMPACT);
        return ok;
}

static bool pod_settled(json_t *p, char **why)
{
        static const char *const keys[] = { "initContainerStatuses", "containerStatuses" };
        bool any = false;
        for (size_t k = 0; k < 2; k++) {
                size_t i;
                json_t *cs;
                json_array_foreach(json_object_get(json_object_get(p, "status"), keys[k]), i, cs)
                {
                        any = true;
                        if (!settled(cs, why))
                                return false;
                }
        }
        return any;
}

static void assert_cgroup_files(json_t *planned, const char *file)
{
        const char *driver = getenv("QOSLET_TEST_CGROUP_DRIVER");
        const char *path = json_string_value(
                json_object_get(json_object_get(planned, "cgroup"), driver ? driver : "cgroupfs"));
        cr_assert_not_null(path);
        const char *key;
        json_t *v;
        json_object_foreach(json_object_get(planned, "v2"), key, v)
        {
                _cleanup_free_ char *fp = NULL, *have = NULL;
                cr_assert_geq(asprintf(&fp, "/sys/fs/cgroup%s/%s", path, key), 0);
                cr_assert_geq(read_full_file(fp, 4096, &have, NULL, NULL), 0, "%s: no %s", file,
                              fp);
                have[strcspn(have, "\n")] = 0;
                cr_expect_str_eq(have, json_string_value(v), "%s: %s", file, fp);
        }
}

/* Waits for the file's pods and checks each; returns with the pods listed. */
static void check_accepted(const char *file, json_t *plan, const char *class)
{
        json_t *planned_pods = json_object_get(plan, "pods");
        cr_assert_gt(json_array_size(planned_pods), 0, "%s: nothing planned", file);
        _cleanup_free_ char *why = NULL;
        bool done = false;
        for (int i = 0; i < 600 && !done; i++) {
                json_t *pods = daemon_pods();
                done = pods != NULL;
                size_t k;
                json_t *pp;
                json_array_foreach(planned_pods, k, pp)
                {
                        json_t *p = pods ? find_pod(pods,
                                                    json_string_value(json_object_get(pp, "uid")))
                                         : NULL;
                        done = done && p && (strcmp(runtime, "none") == 0 || pod_settled(p, &why));
                }
                if (done) {
                        json_array_foreach(planned_pods, k, pp)
                        {
                                json_t *p = find_pod(pods,
                                                     json_string_value(json_object_get(pp, "uid")));
                                const char *got = json_string_value(
                                        json_object_get(json_object_get(p, "status"), "qosClass"));
                                cr_expect_str_eq(got, class, "%s: class", file);
                                cr_expect_str_eq(json_string_value(json_object_get(pp, "qosClass")),
                                                 class, "%s: planned class", file);
                                if (strcmp(runtime, "none") != 0)
                                        assert_cgroup_files(pp, file);
                        }
                }
                json_decref(pods);
                if (!done)
                        usleep(100000);
        }
        cr_assert(done, "%s: pods not listed or not settled in 60 s: %s", file, why ? why : "");
}

static void check_rejected(const char *file, const char *in_dir_path)
{
        bool logged = false;
        for (int i = 0; i < 100 && !logged; i++) {
                logged = test_sh("grep -F '%s' %s | grep -qi error", file, log_path) == 0;
                if (!logged)
                        usleep(100000);
        }
        cr_assert(logged, "%s: no error naming it in the daemon's log", file);
        json_t *pods = daemon_pods();
        cr_expect_eq(json_array_size(json_object_get(pods, "items")), 0, "%s: pods created", file);
        json_decref(pods);
        cr_expect_neq(test_sh("find /sys/fs/cgroup%s -type d -name 'pod*' | grep -q .", cgroot), 0,
                      "%s: a pod cgroup was created", file);
        (void)in_dir_path;
}

static void remove_and_wait(const char *dest)
{
        cr_assert_eq(unlink(dest), 0);
        for (int i = 0; i < 600; i++) {
                json_t *pods = daemon_pods();
                size_t n = json_array_size(json_object_get(pods, "items"));
                json_decref(pods);
                if (n == 0)
                        return;
                usleep(100000);
        }
        cr_assert_fail("pods of %s still listed 60 s after its removal", dest);
}

Test(e2e_vm, corpus, .init = setup, .fini = teardown, .timeout = 1200)
{
        _cleanup_free_ char *corpus = test_program_path("../tests/corpus");
        _cleanup_free_ char *rewrite = test_program_path("../tests/helpers/e2e-rewrite.py");
        _cleanup_free_ char *tsv = fmt("%s/expected-qos.tsv", corpus);
        _cleanup_fclose_ FILE *f = fopen(tsv, "re");
        cr_assert_not_null(f);
        char line[1024];
        unsigned n = 0, rejected = 0;
        while (fgets(line, sizeof(line), f)) {
                char *file = strtok(line, "\t\n"), *class = strtok(NULL, "\t\n");
                char *reason = strtok(NULL, "\n");
                if (!file || !class || strcmp(file, "file") == 0)
                        continue;
                bool reject = reason && strncmp(reason, "REJECT", 6) == 0;
                _cleanup_free_ char *staged = NULL, *dest = NULL;
                cr_assert_geq(asprintf(&staged, "%s/in/%s", work, file), 0);
                cr_assert_geq(asprintf(&dest, "%s/%s", mdir, file), 0);
                cr_assert_eq(test_sh("%s %s/manifests/%s %s", rewrite, corpus, file, staged), 0,
                             "rewrite %s", file);
                json_t *plan = plan_of(staged);
                /* a rename, so that the daemon sees the whole file at once */
                cr_assert_eq(rename(staged, dest), 0);
                if (reject) {
                        cr_expect_gt(json_array_size(json_object_get(plan, "errors")), 0,
                                     "%s: the plan accepts it", file);
                        check_rejected(file, dest);
                        rejected++;
                } else {
                        check_accepted(file, plan, class);
                }
                json_decref(plan);
                remove_and_wait(dest);
                n++;
        }
        cr_assert_gt(n, 20, "only %u corpus files", n);
        cr_log_info("e2e: %u files, %u refused, runtime %s", n, rejected, runtime);
        if (strcmp(runtime, "none") == 0)
                cr_skip_test("classes and refusals checked for %u files; cgroup files and "
                             "container states need the daemon's real runtime (--runtime=shim)",
                             n);
}
