/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <string.h>

#include "basic/fileio.h"
#include "helpers/qoslet-run.h"
#include "helpers/rootfs.h"
#include "ns/paths.h"

/* Containers from images in the local store through `qoslet run`: the image config combined
 * with the pod spec, pull policies, a root filesystem per container removed at the end. */

#define POD_HEAD(name) "apiVersion: v1\nkind: Pod\nmetadata: {name: " name "}\nspec:\n"

static struct qrun q;

static void setup(void)
{
        qrun_setup(&q, "qimg");
}

static void teardown(void)
{
        qrun_teardown(&q);
}

TestSuite(qoslet_image_root, .init = setup, .fini = teardown, .timeout = 120);

static void run_ok(const char *body)
{
        _cleanup_free_ char *m = qrun_manifest(&q, "pod.yaml", body), *err = NULL;
        int rc = qrun_run(&q, m, &err);
        cr_assert_eq(rc, 0, "qoslet run:\n%s", err);
        cr_expect(qrun_dir_empty(&q, "root/pods"), "pod state removed");
        cr_expect(!qrun_mounts_left(&q), "no mount left");
}

Test(qoslet_image_root, image_stop_signal)
{
        qrun_busybox_image(&q, "example.com/qoslet/stop:1", "{\"StopSignal\": \"SIGUSR1\"}");
        _cleanup_free_ char *m = qrun_manifest(
                &q, "pod.yaml",
                POD_HEAD("stop") "  terminationGracePeriodSeconds: 5\n  containers:\n"
                                 "  - name: a\n    image: example.com/qoslet/stop:1\n"
                                 "    command: [sh, -c, \"trap 'echo got-usr1; exit 0' USR1; "
                                 "trap 'echo got-term; exit 0' TERM; echo up; "
                                 "while :; do sleep 0.05; done\"]\n");
        int pid = qrun_spawn(&q, m);
        bool up = false;
        for (int i = 0; i < 1000 && !up; i++) {
                _cleanup_free_ char *out = qrun_output(&q, "a", 0);
                up = out && strstr(out, "up\n");
                if (!up)
                        usleep(10000);
        }
        cr_expect(up, "the container started");
        cr_assert_eq(kill(pid, SIGINT), 0);
        _cleanup_free_ char *err = NULL;
        cr_expect_eq(qrun_wait(&q, pid, &err), 0, "%s", err);
        _cleanup_free_ char *out = qrun_output(&q, "a", 0);
        cr_expect(out && strstr(out, "got-usr1\n") && !strstr(out, "got-term"), "%s", out);
}

static char *run_failing(const char *body)
{
        _cleanup_free_ char *m = qrun_manifest(&q, "pod.yaml", body);
        char *err = NULL;
        int rc = qrun_run(&q, m, &err);
        cr_expect_eq(rc, 1, "%s", err);
        cr_expect(qrun_dir_empty(&q, "root/pods") && qrun_dir_empty(&q, "run/pods"),
                  "nothing left");
        cr_expect(!qrun_mounts_left(&q), "no mount left");
        return err;
}

static void expect_output(const char *container, const char *want)
{
        _cleanup_free_ char *out = qrun_output(&q, container, 0);
        cr_expect(out && strcmp(out, want) == 0, "%s: want '%s', got '%s'", container, want, out);
}

#define PROC_IMAGE "example.com/qoslet/proc:1"
#define PROC_CONFIG                                                                        \
        "{\"Entrypoint\": [\"/bin/sh\", \"-c\"], \"Cmd\": [\"echo cmd $IMGVAR $(pwd)\"], " \
        "\"Env\": [\"PATH=/bin\", \"IMGVAR=img\", \"OTHER=x\"], \"WorkingDir\": \"/work\"}"

Test(qoslet_image_root, image_config_and_spec_combined)
{
        qrun_busybox_image(&q, PROC_IMAGE, PROC_CONFIG);
        run_ok(POD_HEAD("proc") "  restartPolicy: Never\n  containers:\n"
                                "  - name: plain\n    image: " PROC_IMAGE "\n"
                                "  - name: args\n    image: " PROC_IMAGE "\n"
                                "    args: ['echo args $IMGVAR $OTHER']\n"
                                "  - name: command\n    image: " PROC_IMAGE "\n"
                                "    command: [/bin/echo, command-only]\n"
                                "  - name: both\n    image: " PROC_IMAGE "\n"
                                "    command: [/bin/sh, -c]\n"
                                "    args: ['echo both $IMGVAR $(pwd) $(NEW)']\n"
                                "    workingDir: /srv\n"
                                "    env: [{name: IMGVAR, value: pod}, {name: NEW, value: new}]\n");
        /* Neither: Entrypoint + Cmd, with the image's Env and WorkingDir. */
        expect_output("plain", "cmd img /work\n");
        /* args only: Entrypoint + args. */
        expect_output("args", "args img x\n");
        /* command only: the image's Cmd is dropped. */
        expect_output("command", "command-only\n");
        /* both, with the spec's env over the image's, and its workingDir; $(NEW) expands from
         * the spec's env, $(pwd) stays for the shell. */
        expect_output("both", "both pod /srv new\n");
}

Test(qoslet_image_root, rootfs_per_container_removed_at_the_end)
{
        qrun_busybox_image(&q, "example.com/qoslet/busybox:1", NULL);
        run_ok(POD_HEAD("fs") "  restartPolicy: Never\n  containers:\n"
                              "  - name: a\n    image: example.com/qoslet/busybox:1\n"
                              "    command: [sh, -c, 'echo a > /mark; sleep 0.6; cat /mark']\n"
                              "  - name: b\n    image: example.com/qoslet/busybox:1\n"
                              "    command: [sh, -c, 'sleep 0.3; cat /mark 2>/dev/null || echo "
                              "private; grep -c \" / / \" /proc/self/mountinfo']\n");
        expect_output("a", "a\n");
        _cleanup_free_ char *b = qrun_output(&q, "b", 0);
        cr_expect(b && strncmp(b, "private\n", 8) == 0, "%s", b);
        /* The layer cache keeps the image as it was. */
        _cleanup_free_ char *layers = path_join(q.root, "layers/sha256");
        _cleanup_(closedirp) DIR *d = opendir(layers);
        cr_assert_not_null(d);
        int n = 0;
        for (struct dirent *de; (de = readdir(d));) {
                if (de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *mark = NULL;
                cr_assert(asprintf(&mark, "%s/%s/mark", layers, de->d_name) > 0);
                cr_expect_neq(access(mark, F_OK), 0, "a container wrote into the layer cache");
                n++;
        }
        cr_expect_eq(n, 1);
}

Test(qoslet_image_root, never_without_the_image)
{
        _cleanup_free_ char *err = run_failing(
                POD_HEAD("never") "  restartPolicy: Never\n  containers:\n"
                                  "  - name: a\n    image: example.com/qoslet/missing:1\n"
                                  "    imagePullPolicy: Never\n    command: [sh]\n");
        cr_expect(strstr(err, "ErrImageNeverPull: Container image "
                              "\"example.com/qoslet/missing:1\" is not present with pull policy "
                              "of Never"),
                  "%s", err);
        cr_expect(qrun_dir_empty(&q, "root/ingest"), "no download begun");
        cr_expect(qrun_dir_empty(&q, "root/layers"));
}

/* 127.0.0.1:1 refuses connections: a pull there fails at once. */
#define UNREACHABLE "127.0.0.1:1/qoslet/busybox:1"

Test(qoslet_image_root, if_not_present_uses_the_store_and_always_pulls)
{
        qrun_busybox_image(&q, UNREACHABLE, NULL);
        run_ok(POD_HEAD("present") "  restartPolicy: Never\n  containers:\n"
                                   "  - name: a\n    image: " UNREACHABLE "\n"
                                   "    command: [echo, from-store]\n");
        expect_output("a", "from-store\n");
        _cleanup_free_ char *err = run_failing(
                POD_HEAD("always") "  restartPolicy: Never\n  containers:\n"
                                   "  - name: a\n    image: " UNREACHABLE "\n"
                                   "    imagePullPolicy: Always\n    command: [echo, pulled]\n");
        cr_expect(strstr(err, "ErrImagePull: pull image '" UNREACHABLE "'"), "%s", err);
}

Test(qoslet_image_root, if_not_present_pulls_a_missing_image)
{
        _cleanup_free_ char *err = run_failing(
                POD_HEAD("missing") "  restartPolicy: Never\n  containers:\n"
                                    "  - name: a\n    image: 127.0.0.1:1/qoslet/none:1\n"
                                    "    command: [sh]\n");
        cr_expect(strstr(err, "ErrImagePull: pull image '127.0.0.1:1/qoslet/none:1'"), "%s", err);
}

Test(qoslet_image_root, bad_reference)
{
        _cleanup_free_ char *err = run_failing(
                POD_HEAD("badref") "  restartPolicy: Never\n  containers:\n"
                                   "  - name: a\n    image: 'Example.com/UPPER:1'\n"
                                   "    command: [sh]\n");
        cr_expect(strstr(err, "InvalidImageName: "), "%s", err);
}
