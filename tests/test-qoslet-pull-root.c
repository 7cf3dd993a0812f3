/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/fileio.h"
#include "helpers/image-helpers.h"
#include "helpers/paths.h"
#include "helpers/qoslet-run.h"
#include "helpers/rootfs.h"
#include "image/manifest.h"
#include "image/reference.h"
#include "image/store.h"
#include "ns/paths.h"

/* Images from a real registry (Debian's docker-registry on 127.0.0.1, plain HTTP) and from
 * skopeo's OCI archives run through `qoslet run`; qosctl's pull, import, rmi and gc on the
 * same store. */

#define POD_HEAD(name) "apiVersion: v1\nkind: Pod\nmetadata: {name: " name "}\nspec:\n"

static struct qrun q;
static struct test_registry reg;
static char *src; /* a store the images are built in before they are pushed */
static const char *insecure_args[3];

static void setup(void)
{
        qrun_setup(&q, "qpull");
        if (!test_have_program("docker-registry") || !test_have_program("skopeo"))
                cr_skip_test("docker-registry or skopeo missing (hack/install-deps.sh)");
        cr_assert_eq(test_registry_start(&reg, NULL), 0, "registry did not start");
        src = path_join(q.dir, "src");
        insecure_args[0] = "--insecure-registry";
        insecure_args[1] = reg.addr;
        q.args = insecure_args;
}

static void teardown(void)
{
        test_registry_stop(&reg);
        free(src);
        src = NULL;
        qrun_teardown(&q);
}

TestSuite(qoslet_pull_root, .init = setup, .fini = teardown, .timeout = 180);

static void push(const char *src_ref, const char *dest, const char *flags)
{
        cr_assert_eq(test_sh("skopeo copy -q %s --dest-tls-verify=false oci:%s/images:%s "
                             "docker://%s/%s",
                             flags, src, src_ref, reg.addr, dest),
                     0, "push to the registry failed");
}

static char *run(const char *body, int want)
{
        _cleanup_free_ char *m = qrun_manifest(&q, "pod.yaml", body);
        char *err = NULL;
        int rc = qrun_run(&q, m, &err);
        cr_expect_eq(rc, want, "qoslet run:\n%s", err);
        cr_expect(qrun_dir_empty(&q, "root/pods"), "pod state removed");
        cr_expect(!qrun_mounts_left(&q), "no mount left");
        return err;
}

static void expect_output(const char *container, const char *want)
{
        _cleanup_free_ char *out = qrun_output(&q, container, 0);
        cr_expect(out && strcmp(out, want) == 0, "%s: want '%s', got '%s'", container, want, out);
}

static char *qosctl(int want, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Runs qosctl with the arguments after --root-dir <qoslet's root>; returns its output. */
static char *qosctl(int want, const char *fmt, ...)
{
        _cleanup_free_ char *bin = test_program_path("qosctl"), *args = NULL, *cmd = NULL;
        va_list ap;
        va_start(ap, fmt);
        cr_assert_geq(vasprintf(&args, fmt, ap), 0);
        va_end(ap);
        cr_assert_geq(asprintf(&cmd, "%s %s --root-dir %s 2>&1", bin, args, q.root), 0);
        char *out = NULL;
        int rc = test_run_capture(cmd, &out);
        cr_assert_eq(rc, want, "%s:\n%s", cmd, out);
        return out;
}

Test(qoslet_pull_root, runs_an_image_pulled_from_the_registry)
{
        qrun_busybox_image_in(src, "local/bb:1", NULL, NULL, 0);
        push("local/bb:1", "busybox:1.35", "");
        _cleanup_free_ char *body = NULL;
        cr_assert_geq(asprintf(&body,
                               POD_HEAD("pulled") "  restartPolicy: Never\n  containers:\n"
                                                  "  - name: a\n    image: %s/busybox:1.35\n"
                                                  "    command: [sh, -c, 'echo pulled-and-ran "
                                                  "$(cat /etc/group | wc -l)']\n",
                               reg.addr),
                      0);
        _cleanup_free_ _unused_ char *err = run(body, 0);
        expect_output("a", "pulled-and-ran 2\n");
        _cleanup_free_ char *list = qosctl(0, "images");
        cr_expect(strstr(list, "/busybox:1.35"), "%s", list);

        /* The flag is what let the pull through: without it Always cannot reach the
         * registry. */
        q.args = NULL;
        _cleanup_free_ char *always = NULL;
        cr_assert_geq(asprintf(&always,
                               POD_HEAD("again") "  restartPolicy: Never\n  containers:\n"
                                                 "  - name: a\n    image: %s/busybox:1.35\n"
                                                 "    imagePullPolicy: Always\n"
                                                 "    command: [echo, not-reached]\n",
                               reg.addr),
                      0);
        _cleanup_free_ char *err2 = run(always, 1);
        cr_expect(strstr(err2, "ErrImagePull: ") && strstr(err2, "insecure registry"), "%s", err2);
}

static const struct test_tar_entry middle[] = {
        { .type = TE_DIR, .path = "srv" },
        { .type = TE_FILE, .path = "srv/gone", .data = "soon whited out\n" },
        { .type = TE_FILE, .path = "srv/keep", .data = "kept\n" },
        { .type = TE_DIR, .path = "var/cache" },
        { .type = TE_FILE, .path = "var/cache/old", .data = "old" },
};
static const struct test_tar_entry top[] = {
        { .type = TE_DIR, .path = "srv" },
        { .type = TE_FILE, .path = "srv/.wh.gone" },
        { .type = TE_DIR, .path = "var/cache" },
        { .type = TE_FILE, .path = "var/cache/.wh..wh..opq" },
        { .type = TE_FILE, .path = "var/cache/new", .data = "new" },
        { .type = TE_FILE, .path = "data/top", .data = "top\n" },
};

#define PROBE_FILES                                                                 \
        "for f in /srv/gone /srv/keep /var/cache/old /var/cache/new /data/top; do " \
        "if test -e $f; then echo \"$f yes\"; else echo \"$f no\"; fi; done"
#define PROBE_WANT \
        "/srv/gone no\n/srv/keep yes\n/var/cache/old no\n/var/cache/new yes\n/data/top yes\n"

Test(qoslet_pull_root, three_layers_with_whiteouts)
{
        struct test_layer more[] = { { middle, ELEMENTSOF(middle), 'g' },
                                     { top, ELEMENTSOF(top), 'g' } };
        qrun_busybox_image_in(src, "local/three:1", NULL, more, ELEMENTSOF(more));
        push("local/three:1", "team/three:v1", "--format v2s2");
        _cleanup_free_ char *body = NULL;
        cr_assert_geq(asprintf(&body,
                               POD_HEAD("three") "  restartPolicy: Never\n  containers:\n"
                                                 "  - name: a\n    image: %s/team/three:v1\n"
                                                 "    command: [sh, -c, '" PROBE_FILES "']\n",
                               reg.addr),
                      0);
        _cleanup_free_ _unused_ char *err = run(body, 0);
        expect_output("a", PROBE_WANT);
        _cleanup_free_ char *layers = path_join(q.root, "layers/sha256");
        cr_expect_eq(test_sh("test $(ls %s | wc -l) = 3", layers), 0, "three layers unpacked");
}

Test(qoslet_pull_root, imports_a_skopeo_oci_archive_and_runs_it)
{
        struct test_layer more[] = { { middle, ELEMENTSOF(middle), 'g' },
                                     { top, ELEMENTSOF(top), 'z' } };
        qrun_busybox_image_in(src, "local/arch:1", NULL, more, ELEMENTSOF(more));
        _cleanup_free_ char *archive = path_join(q.dir, "image.tar");
        cr_assert_eq(
                test_sh("skopeo copy -q oci:%s/images:local/arch:1 oci-archive:%s", src, archive),
                0);
        _cleanup_free_ char *out = qosctl(0, "import %s example.com/imported/arch:2", archive);
        cr_expect(strstr(out, "imported example.com/imported/arch:2"), "%s", out);
        _cleanup_free_ _unused_ char *err = run(
                POD_HEAD("imported") "  restartPolicy: Never\n  containers:\n"
                                     "  - name: a\n    image: example.com/imported/arch:2\n"
                                     "    imagePullPolicy: Never\n"
                                     "    command: [sh, -c, '" PROBE_FILES "']\n",
                0);
        expect_output("a", PROBE_WANT);
}

Test(qoslet_pull_root, qosctl_pull_needs_insecure_registry_for_plain_http)
{
        qrun_busybox_image_in(src, "local/bb:1", NULL, NULL, 0);
        push("local/bb:1", "busybox:1.35", "");
        _cleanup_free_ char *out = qosctl(1, "pull %s/busybox:1.35", reg.addr);
        cr_expect(strstr(out, "ErrImagePull: pull image '") &&
                          strstr(out, "a registry serving plain HTTP must be listed as an "
                                      "insecure registry: --insecure-registry HOST[:PORT]"),
                  "%s", out);
        _cleanup_free_ char *out2 = qosctl(0, "pull --insecure-registry %s %s/busybox:1.35",
                                           reg.addr, reg.addr);
        cr_expect(strstr(out2, "2 blobs fetched"), "%s", out2);
        /* Every image verb takes the flag. */
        _cleanup_free_ char *out3 = qosctl(0, "images --insecure-registry %s", reg.addr);
        cr_expect(strstr(out3, "/busybox:1.35"), "%s", out3);
        const char *verbs[] = { "import", "rmi", "gc", "images", "pull" };
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
                _cleanup_free_ char *help = qosctl(0, "%s --insecure-registry %s --help", verbs[i],
                                                   reg.addr);
                cr_expect(strstr(help, "--insecure-registry HOST"), "%s", help);
        }
}

/* The blob and unpacked-layer paths of an image in qoslet's store, from the top down:
 * manifest, config, layers; then the layer directories. */
struct image_files {
        char *blobs[8];
        char *dirs[8];
        size_t n_blobs, n_dirs;
};

static void image_files_of(const char *ref, struct image_files *f)
{
        _cleanup_image_store_ struct image_store *s = NULL;
        cr_assert_eq(image_store_open(q.root, &s, NULL), 0);
        _cleanup_image_manifest_ struct image_manifest *m = NULL;
        _cleanup_image_config_ struct image_config *c = NULL;
        struct image_desc d = { 0 };
        cr_assert_eq(image_store_resolve(s, ref, &d, NULL), 0);
        cr_assert_eq(image_store_load(s, ref, &m, &c, NULL), 0);
        *f = (struct image_files){ 0 };
        f->blobs[f->n_blobs++] = image_store_blob_path(s, d.digest);
        f->blobs[f->n_blobs++] = image_store_blob_path(s, m->config.digest);
        image_desc_done(&d);
        for (size_t i = 0; i < m->n_layers; i++) {
                f->blobs[f->n_blobs++] = image_store_blob_path(s, m->layers[i].digest);
                cr_assert(asprintf(&f->dirs[f->n_dirs++], "%s/sha256/%s", s->layers,
                                   c->diff_ids[i] + strlen("sha256:")) > 0);
        }
}

static void image_files_done(struct image_files *f)
{
        for (size_t i = 0; i < f->n_blobs; i++)
                free(f->blobs[i]);
        for (size_t i = 0; i < f->n_dirs; i++)
                free(f->dirs[i]);
}

static void expect_present(char *const *paths, size_t n, size_t from, bool want)
{
        for (size_t i = from; i < n; i++)
                cr_expect_eq(access(paths[i], F_OK) == 0, want, "%s %s", paths[i],
                             want ? "was removed" : "is still there");
}

static const struct test_tar_entry used_layer[] = {
        { .type = TE_FILE, .path = "used", .data = "u" },
};
static const struct test_tar_entry unused_layer[] = {
        { .type = TE_FILE, .path = "unused", .data = "x" },
};

#define USED "example.com/gc/used:1"
#define UNUSED "example.com/gc/unused:1"

static char *put_json(const struct image_store *s, json_t *j, int64_t *ret_size)
{
        _cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
        char *digest = NULL;
        cr_assert_eq(image_store_put_blob(s, text, strlen(text), NULL, &digest, NULL), 0);
        *ret_size = (int64_t)strlen(text);
        return digest;
}

/* USED's image with its top layer replaced by an uncompressed one made of e: the busybox
 * layer below is the same blob, which building it again would not give (tar times). */
static void sibling_image(const struct image_store *s, const struct test_tar_entry *e)
{
        _cleanup_free_ void *tar = NULL;
        size_t len = 0;
        _cleanup_free_ char *layer = NULL, *cfg_digest = NULL, *man_digest = NULL;
        cr_assert_eq(test_tar_build(e, 1, 0, &tar, &len), 0);
        cr_assert_eq(image_store_put_blob(s, tar, len, NULL, &layer, NULL), 0);
        struct image_desc d = { 0 };
        cr_assert_eq(image_store_resolve(s, USED, &d, NULL), 0);
        _cleanup_free_ char *mbuf = NULL, *cbuf = NULL;
        size_t mlen = 0, clen = 0;
        cr_assert_eq(image_store_read_blob(s, d.digest, 1 << 20, &mbuf, &mlen, NULL), 0);
        json_t *man = json_loadb(mbuf, mlen, 0, NULL);
        json_t *cfg_desc = json_object_get(man, "config");
        const char *old_cfg = json_string_value(json_object_get(cfg_desc, "digest"));
        cr_assert_eq(image_store_read_blob(s, old_cfg, 1 << 20, &cbuf, &clen, NULL), 0);
        json_t *cfg = json_loadb(cbuf, clen, 0, NULL);
        json_t *diff_ids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
        json_array_set_new(diff_ids, json_array_size(diff_ids) - 1, json_string(layer));
        int64_t size = 0;
        cfg_digest = put_json(s, cfg, &size);
        json_object_set_new(cfg_desc, "digest", json_string(cfg_digest));
        json_object_set_new(cfg_desc, "size", json_integer(size));
        json_t *layers = json_object_get(man, "layers");
        json_array_set_new(layers, json_array_size(layers) - 1,
                           json_pack("{s:s, s:s, s:I}", "mediaType", MEDIA_OCI_LAYER, "digest",
                                     layer, "size", (json_int_t)len));
        man_digest = put_json(s, man, &size);
        struct image_desc nd = { .media_type = d.media_type, .digest = man_digest, .size = size };
        cr_assert_eq(image_store_tag(s, UNUSED, &nd, NULL), 0);
        image_desc_done(&d);
        json_decref(man);
        json_decref(cfg);
}

static void two_images(struct image_files *used, struct image_files *unused)
{
        struct test_layer u = { used_layer, 1, 'g' };
        qrun_busybox_image_in(q.root, USED, NULL, &u, 1);
        _cleanup_image_store_ struct image_store *s = NULL;
        cr_assert_eq(image_store_open(q.root, &s, NULL), 0);
        sibling_image(s, unused_layer);
        const char *refs[] = { USED, UNUSED };
        for (size_t i = 0; i < ELEMENTSOF(refs); i++) {
                _cleanup_strv_free_ char **dirs = NULL;
                cr_assert_eq(image_store_unpack(s, refs[i], &dirs, NULL, NULL), 0);
        }
        image_files_of(USED, used);
        image_files_of(UNUSED, unused);
        /* The busybox layer is shared. */
        cr_assert_str_eq(used->blobs[2], unused->blobs[2]);
}

Test(qoslet_pull_root, gc_removes_what_no_pod_uses)
{
        struct image_files used, unused;
        two_images(&used, &unused);
        _cleanup_free_ char *m = qrun_manifest(
                &q, "pod.yaml",
                POD_HEAD("user") "  containers:\n  - name: a\n    image: " USED "\n"
                                 "    command: [sh, -c, \"trap 'exit 0' TERM; echo up; "
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
        _cleanup_free_ char *out = qosctl(0, "gc");
        cr_expect(strstr(out, "removed 1 images, 3 blobs"), "%s", out);
        cr_expect(strstr(out, "1 unpacked layers"), "%s", out);
        _cleanup_free_ char *list = qosctl(0, "images");
        cr_expect(strstr(list, USED) && !strstr(list, UNUSED), "%s", list);
        expect_present(used.blobs, used.n_blobs, 0, true);
        expect_present(used.dirs, used.n_dirs, 0, true);
        /* manifest, config and the top layer go; the shared busybox layer stays. */
        expect_present(unused.blobs, 2, 0, false);
        expect_present(unused.blobs, unused.n_blobs, 3, false);
        expect_present(unused.dirs, unused.n_dirs, 1, false);
        expect_present(unused.dirs, 1, 0, true);

        cr_assert_eq(kill(pid, SIGINT), 0);
        _cleanup_free_ char *err = NULL;
        cr_expect_eq(qrun_wait(&q, pid, &err), 0, "%s", err);
        /* The pod is gone: its image goes too, and the store is empty. */
        _cleanup_free_ char *out2 = qosctl(0, "gc");
        cr_expect(strstr(out2, "removed 1 images, 4 blobs"), "%s", out2);
        expect_present(used.blobs, used.n_blobs, 0, false);
        expect_present(used.dirs, used.n_dirs, 0, false);
        cr_expect(qrun_dir_empty(&q, "root/images/blobs/sha256"));
        cr_expect(qrun_dir_empty(&q, "root/layers/sha256"));
        image_files_done(&used);
        image_files_done(&unused);
}

Test(qoslet_pull_root, rmi_removes_a_name_and_what_only_it_used)
{
        struct image_files used, unused;
        two_images(&used, &unused);
        /* Leftovers of an interrupted pull and unpack. */
        _cleanup_free_ char *ingest = path_join(q.root, "ingest/blob-abc123"),
                            *tmpdir = path_join(q.root, "layers/tmp-abc123");
        cr_assert_eq(write_file_atomic(ingest, "x", 1, 0644, NULL), 0);
        cr_assert_eq(mkdir(tmpdir, 0700), 0);
        _cleanup_free_ char *bad = qosctl(1, "rmi example.com/gc/none:1");
        cr_expect(strstr(bad, "no image 'example.com/gc/none:1' in the store"), "%s", bad);
        _cleanup_free_ char *out = qosctl(0, "rmi " UNUSED);
        cr_expect(strstr(out, "removed 1 images, 3 blobs"), "%s", out);
        expect_present(used.blobs, used.n_blobs, 0, true);
        expect_present(used.dirs, used.n_dirs, 0, true);
        expect_present(unused.blobs, 2, 0, false);
        expect_present(unused.dirs, unused.n_dirs, 1, false);
        cr_expect_neq(access(ingest, F_OK), 0);
        cr_expect_neq(access(tmpdir, F_OK), 0);
        /* What is left still runs. */
        _cleanup_free_ _unused_ char *err = run(
                POD_HEAD("left") "  restartPolicy: Never\n  containers:\n"
                                 "  - name: a\n    image: " USED "\n"
                                 "    imagePullPolicy: Never\n"
                                 "    command: [sh, -c, 'cat /used; echo']\n",
                0);
        expect_output("a", "u\n");
        image_files_done(&used);
        image_files_done(&unused);
}
