/* SPDX-License-Identifier: Apache-2.0 */
/* The quick start's pieces: hack/make-demo-image builds the image the example manifests name,
 * qosctl imports it, its default command idles and ends on SIGTERM, and hack/demo leaves
 * nothing behind. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "helpers/image-helpers.h"
#include "helpers/paths.h"
#include "image/manifest.h"
#include "image/store.h"

#define DEMO_REF "docker.io/library/qoslet-demo:latest"

static char *tmp;

static void setup(void)
{
        if (geteuid() != 0)
                cr_skip_test("needs root (chroot, cgroups, mounts)");
        if (!test_have_program("jq") || access("/bin/busybox", X_OK) != 0)
                cr_skip_test("jq or busybox-static missing (hack/install-deps.sh)");
        tmp = test_tmpdir();
        cr_assert_not_null(tmp);
}

static void teardown(void)
{
        if (!tmp)
                return;
        test_rmdir(tmp);
        free(tmp);
        tmp = NULL;
}

/* build/tests/test-demo-root -> the checkout's hack/NAME */
static char *hack_path(const char *name)
{
        _cleanup_free_ char *rel = NULL;
        cr_assert_geq(asprintf(&rel, "../hack/%s", name), 0);
        return test_program_path(rel);
}

static char *make_image(const char *name)
{
        _cleanup_free_ char *script = hack_path("make-demo-image");
        char *out = NULL;
        cr_assert_geq(asprintf(&out, "%s/%s", tmp, name), 0);
        cr_assert_eq(test_sh("%s %s >/dev/null", script, out), 0, "make-demo-image failed");
        return out;
}

/* The manifest digest the archive's index.json names. */
static char *archive_manifest_digest(const char *archive)
{
        _cleanup_free_ char *cmd = NULL, *out = NULL;
        cr_assert_geq(
                asprintf(&cmd, "tar -xOf %s index.json | jq -r '.manifests[0].digest'", archive),
                0);
        cr_assert_eq(test_run_capture(cmd, &out), 0);
        out[strcspn(out, "\n")] = 0;
        cr_assert(strncmp(out, "sha256:", 7) == 0, "digest '%s'", out);
        return TAKE_PTR(out);
}

Test(demo_image, reproducible, .init = setup, .fini = teardown)
{
        _cleanup_free_ char *a = make_image("a.tar"), *b = make_image("b.tar");
        cr_assert_eq(test_sh("cmp -s %s %s", a, b), 0, "two builds differ");
        if (test_have_program("skopeo"))
                cr_assert_eq(test_sh("skopeo inspect oci-archive:%s >/dev/null", a), 0,
                             "skopeo does not read the archive");
}

static void import(const char *archive, const char *root)
{
        _cleanup_free_ char *qosctl = test_program_path("qosctl");
        cr_assert_eq(test_sh("%s import %s qoslet-demo:latest --root-dir %s >/dev/null", qosctl,
                             archive, root),
                     0, "qosctl import failed");
}

static bool strv_has(char **v, const char *s)
{
        for (; v && *v; v++)
                if (strcmp(*v, s) == 0)
                        return true;
        return false;
}

Test(demo_image, imports_and_lists, .init = setup, .fini = teardown)
{
        _cleanup_free_ char *archive = make_image("demo.tar"), *root = NULL, *cmd = NULL;
        _cleanup_free_ char *out = NULL, *digest = archive_manifest_digest(archive);
        _cleanup_free_ char *qosctl = test_program_path("qosctl");
        cr_assert_geq(asprintf(&root, "%s/root", tmp), 0);
        import(archive, root);

        cr_assert_geq(asprintf(&cmd, "%s images -o json --root-dir %s", qosctl, root), 0);
        cr_assert_eq(test_run_capture(cmd, &out), 0);
        json_t *j = json_loads(out, 0, NULL);
        cr_assert_not_null(j, "not JSON: %s", out);
        json_t *imgs = json_object_get(j, "images");
        cr_assert_eq(json_array_size(imgs), 1, "%s", out);
        json_t *img = json_array_get(imgs, 0);
        cr_assert_str_eq(json_string_value(json_object_get(img, "ref")), DEMO_REF);
        cr_assert_str_eq(json_string_value(json_object_get(img, "digest")), digest);
        json_decref(j);

        _cleanup_image_store_ struct image_store *s = NULL;
        _cleanup_image_manifest_ struct image_manifest *m = NULL;
        _cleanup_image_config_ struct image_config *c = NULL;
        cr_assert_eq(image_store_open(root, &s, NULL), 0);
        cr_assert_eq(image_store_load(s, DEMO_REF, &m, &c, NULL), 0);
        cr_assert_eq(m->n_layers, 1);
        cr_assert_str_eq(c->os, "linux");
        cr_assert_str_eq(c->architecture, "amd64");
        cr_assert_null(c->entrypoint);
        cr_assert(c->cmd && strcmp(c->cmd[0], "sh") == 0 && strcmp(c->cmd[1], "-c") == 0 &&
                  strstr(c->cmd[2], "trap") && strstr(c->cmd[2], "sleep") && !c->cmd[3]);
        cr_assert(strv_has(c->env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
                                   "/sbin:/bin"));
}

/* Unpacks the image and returns its one layer directory. */
static char *unpacked_layer(const char *root, struct image_config **ret_config)
{
        _cleanup_image_store_ struct image_store *s = NULL;
        cr_assert_eq(image_store_open(root, &s, NULL), 0);
        char **dirs = NULL;
        size_t n = 0;
        cr_assert_eq(image_store_unpack(s, DEMO_REF, &dirs, &n, NULL), 0);
        cr_assert_eq(n, 1);
        char *d = strdup(dirs[0]);
        strv_free(dirs);
        cr_assert_eq(image_store_load(s, DEMO_REF, NULL, ret_config, NULL), 0);
        return d;
}

static int wait_ms(pid_t pid, int ms, int *ret_status)
{
        for (int i = 0; i < ms / 10; i++) {
                pid_t r = waitpid(pid, ret_status, WNOHANG);
                if (r != 0)
                        return r;
                usleep(10000);
        }
        return 0;
}

/* The default command keeps a container running, and SIGTERM ends it at once (status 0)
 * without leaving its sleep behind. */
Test(demo_image, default_command_idles_and_stops_on_sigterm, .init = setup, .fini = teardown)
{
        _cleanup_free_ char *archive = make_image("demo.tar"), *root = NULL;
        cr_assert_geq(asprintf(&root, "%s/root", tmp), 0);
        import(archive, root);
        _cleanup_image_config_ struct image_config *c = NULL;
        _cleanup_free_ char *layer = unpacked_layer(root, &c);
        cr_assert_eq(test_sh("test \"$(readlink %s/bin/sh)\" = /bin/busybox", layer), 0);

        pid_t pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                /* a container has /dev: the shell needs /dev/null to start a job in the
                 * background */
                _cleanup_free_ char *dev = NULL;
                setpgid(0, 0);
                if (asprintf(&dev, "%s/dev", layer) < 0 || unshare(CLONE_NEWNS) < 0 ||
                    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
                    mount("/dev", dev, NULL, MS_BIND, NULL) < 0 || chroot(layer) < 0 ||
                    chdir("/") < 0)
                        _exit(126);
                execve("/bin/sh", c->cmd, c->env);
                _exit(127);
        }
        setpgid(pid, pid);
        int status = 0;
        cr_assert_eq(wait_ms(pid, 500, &status), 0, "the default command ended: %#x", status);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        cr_assert_eq(kill(pid, SIGTERM), 0);
        pid_t r = wait_ms(pid, 3000, &status);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (r == 0)
                kill(-pid, SIGKILL);
        cr_assert_eq(r, pid, "SIGTERM did not end the default command within 3 s");
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
        double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        cr_expect_lt(ms, 1000.0, "SIGTERM took %.0f ms", ms);
        /* the killed sleep may stay a zombie until init reaps it */
        bool left = true;
        for (int i = 0; i < 200 && left; i++) {
                left = kill(-pid, 0) == 0;
                if (left)
                        usleep(10000);
        }
        if (left)
                kill(-pid, SIGKILL);
        cr_assert_not(left, "the default command left a process behind");
}

/* A process other than this one whose command line mentions s, or 0. */
static pid_t process_mentioning(const char *s)
{
        _cleanup_(closedirp) DIR *d = opendir("/proc");
        cr_assert_not_null(d);
        for (struct dirent *e; (e = readdir(d));) {
                char *end;
                long pid = strtol(e->d_name, &end, 10);
                if (*end || pid <= 0 || pid == getpid())
                        continue;
                _cleanup_free_ char *path = NULL, *buf = NULL;
                size_t n = 0;
                cr_assert_geq(asprintf(&path, "/proc/%ld/cmdline", pid), 0);
                if (read_full_file(path, 1 << 20, &buf, &n, NULL) < 0)
                        continue;
                for (size_t i = 0; i + 1 < n; i++)
                        if (!buf[i])
                                buf[i] = ' ';
                if (memmem(buf, n, s, strlen(s)))
                        return (pid_t)pid;
        }
        return 0;
}

/* What a finished demo must not leave: its directory, mounts under it, cgroups under its
 * cgroup root in any hierarchy, processes started from it. */
static void assert_nothing_left(const char *dir, const char *cg_name)
{
        cr_assert_neq(test_sh("test -e %s", dir), 0, "%s is still there", dir);
        cr_assert_neq(test_sh("grep -qF ' %s' /proc/self/mountinfo", dir), 0,
                      "a mount under %s is left", dir);
        cr_assert_neq(test_sh("for d in /sys/fs/cgroup/%s /sys/fs/cgroup/*/%s; do "
                              "test -e \"$d\" && exit 0; done; exit 1",
                              cg_name, cg_name),
                      0, "a cgroup named %s is left", cg_name);
        pid_t left = process_mentioning(dir);
        cr_assert_eq(left, 0, "process %d, started by the demo, is left", (int)left);
}

Test(demo, once_leaves_nothing, .init = setup, .fini = teardown, .timeout = 300)
{
        _cleanup_free_ char *script = hack_path("demo"), *build = test_program_path(".");
        _cleanup_free_ char *dir = NULL, *cg = NULL, *out = NULL, *cmd = NULL;
        cr_assert_geq(asprintf(&cg, "qoslet-demo-test-%d", (int)getpid()), 0);
        cr_assert_geq(asprintf(&dir, "%s/%s", tmp, cg), 0);
        cr_assert_geq(asprintf(&cmd, "DEMO_SECONDS=2 %s --no-build --build-dir %s --dir %s 2>&1",
                               script, build, dir),
                      0);
        int rc = test_run_capture(cmd, &out);
        cr_assert_eq(rc, 0, "hack/demo failed (%d):\n%s", rc, out);
        /* every example pod is listed with its class */
        cr_assert(strstr(out, "guaranteed-") && strstr(out, "Guaranteed"), "%s", out);
        cr_assert(strstr(out, "burstable-") && strstr(out, "Burstable"), "%s", out);
        cr_assert(strstr(out, "besteffort-") && strstr(out, "BestEffort"), "%s", out);
        cr_assert(strstr(out, "cpu"), "no cgroup values shown:\n%s", out);
        cr_assert_null(strstr(out, "plan: "), "a kernel value differs from the plan:\n%s", out);
        assert_nothing_left(dir, cg);
}

/* SIGINT (Ctrl-C) in the middle of the run tears down as well. */
Test(demo, sigint_leaves_nothing, .init = setup, .fini = teardown, .timeout = 300)
{
        _cleanup_free_ char *script = hack_path("demo"), *build = test_program_path(".");
        _cleanup_free_ char *dir = NULL, *cg = NULL, *log = NULL;
        cr_assert_geq(asprintf(&cg, "qoslet-demo-sig-%d", (int)getpid()), 0);
        cr_assert_geq(asprintf(&dir, "%s/%s", tmp, cg), 0);
        cr_assert_geq(asprintf(&log, "%s.log", dir), 0);
        pid_t pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
                        _exit(126);
                execl(script, script, "--no-build", "--build-dir", build, "--dir", dir, NULL);
                _exit(127);
        }
        /* wait until the pods are shown, then interrupt */
        bool shown = false;
        for (int i = 0; i < 600 && !shown; i++) {
                usleep(100000);
                shown = test_sh("grep -q \"each pod's cgroup files\" %s", log) == 0;
        }
        usleep(500000);
        kill(pid, SIGINT);
        int status = 0;
        pid_t r = wait_ms(pid, 60000, &status);
        if (r == 0)
                kill(pid, SIGKILL);
        cr_assert(shown, "the demo never showed its pods");
        cr_assert_eq(r, pid, "the demo did not end within 60 s of SIGINT");
        cr_assert(test_sh("grep -q 'tearing down' %s", log) == 0, "no teardown on SIGINT");
        assert_nothing_left(dir, cg);
}
