/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <linux/magic.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>

#include "basic/fileio.h"
#include "helpers/image-helpers.h"
#include "helpers/paths.h"
#include "image/digest.h"
#include "image/fsutil.h"
#include "image/manifest.h"
#include "image/registry.h"
#include "image/rootfs.h"
#include "image/store.h"
#include "image/unpack.h"

static char *tmp;

/* Every test runs in a private mount namespace, so a crash leaves no mount behind, with its
 * files on a fresh tmpfs: in the cgroup v2 VM the root filesystem is an overlay, which
 * refuses trusted.overlay.* xattrs on its files and an overlay upper directory in it. */
static void root_setup(void)
{
        if (geteuid() != 0)
                cr_skip_test("needs root");
        tmp = test_tmpdir();
        cr_assert_not_null(tmp);
        cr_assert_eq(unshare(CLONE_NEWNS), 0);
        cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
        cr_assert_eq(mount("tmpfs", tmp, "tmpfs", 0, "mode=0700"), 0);
}

static void root_teardown(void)
{
        if (!tmp)
                return;
        test_rmdir(tmp);
        (void)umount2(tmp, MNT_DETACH);
        test_rmdir(tmp);
        free(tmp);
        tmp = NULL;
}

static char *path_in(const char *dir, const char *rel)
{
        char *p = NULL;
        cr_assert_geq(asprintf(&p, "%s/%s", dir, rel), 0);
        return p;
}

static size_t count_entries(const char *path)
{
        DIR *d = opendir(path);
        cr_assert_not_null(d, "open '%s'", path);
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        n++;
        closedir(d);
        return n;
}

static int unpack_into(const char *dest, const struct test_tar_entry *e, size_t n,
                       struct qerr **err)
{
        _cleanup_free_ void *tar = NULL;
        size_t len = 0;
        cr_assert_eq(test_tar_build(e, n, 'g', &tar, &len), 0);
        _cleanup_free_ char *blob = path_in(tmp, "blob");
        cr_assert_eq(test_write_file(blob, tar, len), 0);
        int fd = open(blob, O_RDONLY | O_CLOEXEC);
        cr_assert_geq(fd, 0);
        cr_assert_eq(mkdir(dest, 0755), 0);
        char diff_id[72];
        int r = image_unpack_layer(fd, dest, diff_id, NULL, err);
        close(fd);
        return r;
}

Test(image_unpack_root, whiteouts_become_overlay_whiteouts, .init = root_setup,
     .fini = root_teardown)
{
        static const struct test_tar_entry e[] = {
                { .type = TE_DIR, .path = "etc" },
                { .type = TE_FILE, .path = "etc/.wh.motd" },
                { .type = TE_DIR, .path = "var/cache" },
                { .type = TE_FILE, .path = "var/cache/.wh..wh..opq" },
                { .type = TE_FILE, .path = "var/cache/new", .data = "n" },
                { .type = TE_FILE, .path = ".wh..wh.plnk" },
        };
        _cleanup_free_ char *dest = path_in(tmp, "layer");
        _cleanup_qerr_ struct qerr *err = NULL;
        cr_assert_eq(unpack_into(dest, e, ELEMENTSOF(e), &err), 0, "%s", qerr_msg(err));
        _cleanup_free_ char *motd = path_in(dest, "etc/motd");
        struct stat st;
        cr_assert_eq(lstat(motd, &st), 0);
        cr_assert(S_ISCHR(st.st_mode), "whiteout is not a character device");
        cr_assert_eq(st.st_rdev, makedev(0, 0));
        _cleanup_free_ char *wh = path_in(dest, "etc/.wh.motd");
        cr_assert_eq(access(wh, F_OK), -1, "the .wh. file itself was written");
        _cleanup_free_ char *cache = path_in(dest, "var/cache");
        char v[4] = { 0 };
        cr_assert_eq(getxattr(cache, "trusted.overlay.opaque", v, sizeof(v)), 1);
        cr_assert_eq(v[0], 'y');
        _cleanup_free_ char *opq = path_in(dest, "var/cache/.wh..wh..opq");
        cr_assert_eq(access(opq, F_OK), -1);
        _cleanup_free_ char *plnk = path_in(dest, ".wh..wh.plnk");
        cr_assert_eq(access(plnk, F_OK), -1, "aufs bookkeeping was written");
}

Test(image_unpack_root, ownership_devices_and_xattrs, .init = root_setup, .fini = root_teardown)
{
        static const struct test_tar_entry e[] = {
                { .type = TE_DIR, .path = "./", .uid = 5, .gid = 6, .mode = 0711 },
                { .type = TE_DIR, .path = "home/app", .uid = 1000, .gid = 1001, .mode = 0700 },
                { .type = TE_FILE,
                  .path = "home/app/f",
                  .data = "x",
                  .uid = 1000,
                  .gid = 1001,
                  .mode = 02755 },
                { .type = TE_SYMLINK, .path = "home/app/l", .data = "f", .uid = 1002, .gid = 1003 },
                { .type = TE_CHAR,
                  .path = "dev/null",
                  .rdev_major = 1,
                  .rdev_minor = 3,
                  .mode = 0666 },
                { .type = TE_FILE,
                  .path = "bin/ping",
                  .data = "p",
                  .xattr_name = "security.capability",
                  /* VFS_CAP_REVISION_2 with CAP_NET_RAW permitted */
                  .xattr_value = "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00"
                                 "\x00\x00\x00\x00\x00\x00\x00\x00",
                  .xattr_len = 20 },
                { .type = TE_FILE,
                  .path = "evil",
                  .data = "e",
                  .xattr_name = "trusted.overlay.redirect",
                  .xattr_value = "/etc" },
        };
        _cleanup_free_ char *dest = path_in(tmp, "layer");
        _cleanup_qerr_ struct qerr *err = NULL;
        cr_assert_eq(unpack_into(dest, e, ELEMENTSOF(e), &err), 0, "%s", qerr_msg(err));
        struct stat st;
        cr_assert_eq(lstat(dest, &st), 0);
        cr_assert(st.st_uid == 5 && st.st_gid == 6 && (st.st_mode & 07777) == 0711,
                  "the root entry's owner or mode was not applied");
        _cleanup_free_ char *app = path_in(dest, "home/app"), *f = path_in(dest, "home/app/f"),
                            *l = path_in(dest, "home/app/l"), *null = path_in(dest, "dev/null"),
                            *ping = path_in(dest, "bin/ping"), *evil = path_in(dest, "evil");
        cr_assert_eq(lstat(app, &st), 0);
        cr_assert(st.st_uid == 1000 && st.st_gid == 1001 && (st.st_mode & 07777) == 0700);
        cr_assert_eq(lstat(f, &st), 0);
        cr_assert(st.st_uid == 1000 && st.st_gid == 1001);
        cr_assert_eq(st.st_mode & 07777, 02755, "set-gid bit lost: 0%o", st.st_mode & 07777);
        cr_assert_eq(lstat(l, &st), 0);
        cr_assert(S_ISLNK(st.st_mode) && st.st_uid == 1002 && st.st_gid == 1003);
        cr_assert_eq(lstat(null, &st), 0);
        cr_assert(S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3));
        cr_assert_eq(st.st_mode & 07777, 0666);
        char buf[64];
        cr_assert_eq(getxattr(ping, "security.capability", buf, sizeof(buf)), 20,
                     "file capability not kept");
        cr_assert_eq(getxattr(evil, "trusted.overlay.redirect", buf, sizeof(buf)), -1,
                     "an overlay attribute from the layer was applied");
        cr_assert_eq(errno, ENODATA);
}

/* Pulls from a real registry: Debian's docker-registry on a loopback port, filled with
 * skopeo. */

static struct test_registry reg;
static struct image_store *src, *dst;

static void reg_setup_with(const struct test_registry_opts *o)
{
        root_setup();
        if (!test_have_program("docker-registry") || !test_have_program("skopeo") ||
            !test_have_program("htpasswd"))
                cr_skip_test("docker-registry, skopeo or htpasswd missing (hack/install-deps.sh)");
        cr_assert_eq(test_registry_start(&reg, o), 0, "registry did not start");
        _cleanup_free_ char *a = path_in(tmp, "src"), *b = path_in(tmp, "dst");
        cr_assert_eq(image_store_open(a, &src, NULL), 0);
        cr_assert_eq(image_store_open(b, &dst, NULL), 0);
}

static void reg_setup(void)
{
        reg_setup_with(NULL);
}

static void reg_setup_auth(void)
{
        reg_setup_with(&(struct test_registry_opts){ .user = "puller", .password = "s3cret" });
}

static void reg_setup_token_tls(void)
{
        if (!test_have_program("python3") || !test_have_program("openssl"))
                cr_skip_test("python3 or openssl missing (hack/install-deps.sh)");
        reg_setup_with(&(struct test_registry_opts){
                .user = "puller", .password = "s3cret", .token = true, .tls = true });
}

static void reg_teardown(void)
{
        test_registry_stop(&reg);
        image_store_free(src);
        image_store_free(dst);
        src = dst = NULL;
        root_teardown();
}

/* Through an oci-archive, as users of skopeo do. */
static void push(const char *src_ref, const char *dest, const char *flags)
{
        _cleanup_free_ char *archive = path_in(tmp, "push.tar");
        unlink(archive);
        cr_assert_eq(test_sh("skopeo copy -q %s oci:%s:%s oci-archive:%s", flags, src->layout,
                             src_ref, archive),
                     0);
        cr_assert_eq(test_sh("skopeo copy -q %s --dest-tls-verify=false oci-archive:%s "
                             "docker://%s/%s",
                             flags, archive, reg.addr, dest),
                     0, "push to the registry failed");
}

static const struct test_tar_entry bb_layer[] = {
        { .type = TE_DIR, .path = "bin" },
        { .type = TE_FILE, .path = "bin/busybox", .src_file = "/bin/busybox", .mode = 0755 },
        { .type = TE_SYMLINK, .path = "bin/sh", .data = "busybox" },
        { .type = TE_DIR, .path = "etc" },
        { .type = TE_FILE, .path = "etc/motd", .data = "hello\n" },
        { .type = TE_DIR, .path = "var/cache" },
        { .type = TE_FILE, .path = "var/cache/a", .data = "a" },
};
static const char *bb_config = "{\"Cmd\":[\"sh\",\"-c\",\"sleep 3600\"]}";

static char *insecure[2];

static struct registry_opts plain_opts(void)
{
        insecure[0] = reg.addr;
        return (struct registry_opts){ .insecure_registries = insecure };
}

static void assert_busybox_runs(const char *layer_dir)
{
        cr_assert_eq(test_sh("test \"$(%s/bin/busybox echo pulled-ok)\" = pulled-ok", layer_dir), 0,
                     "the pulled busybox does not run");
}

Test(image_pull, one_layer_by_tag_and_digest, .init = reg_setup, .fini = reg_teardown)
{
        struct test_layer l = { bb_layer, ELEMENTSOF(bb_layer), 'g' };
        cr_assert_eq(test_image_create(src, "local/bb:1", &l, 1, bb_config, NULL), 0);
        push("local/bb:1", "busybox:1.35", "");

        _cleanup_free_ char *ref = NULL, *full = NULL;
        cr_assert_geq(asprintf(&ref, "%s/busybox:1.35", reg.addr), 0);
        struct registry_opts o = plain_opts();
        struct pull_stats st = { 0 };
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(image_pull(dst, ref, &o, &full, &st, &e), 0, "%s", qerr_msg(e));
        cr_assert_str_eq(full, ref);
        cr_assert_eq(st.blobs_fetched, 2, "config and one layer");
        cr_assert_gt(st.bytes, 900000);
        _cleanup_image_config_ struct image_config *c = NULL;
        cr_assert_eq(image_store_load(dst, ref, NULL, &c, NULL), 0);
        cr_assert_str_eq(c->cmd[2], "sleep 3600");
        _cleanup_strv_free_ char **dirs = NULL;
        cr_assert_eq(image_store_unpack(dst, ref, &dirs, NULL, &e), 0, "%s", qerr_msg(e));
        assert_busybox_runs(dirs[0]);

        /* Again: every blob is there already. */
        cr_assert_eq(image_pull(dst, ref, &o, NULL, &st, NULL), 0);
        cr_assert_eq(st.blobs_fetched, 0);
        cr_assert_eq(st.blobs_present, 2);

        /* By digest. */
        struct image_desc d = { 0 };
        cr_assert_eq(image_store_resolve(dst, ref, &d, NULL), 0);
        _cleanup_free_ char *by_digest = NULL;
        cr_assert_geq(asprintf(&by_digest, "%s/busybox@%s", reg.addr, d.digest), 0);
        image_desc_done(&d);
        cr_assert_eq(image_pull(dst, by_digest, &o, NULL, NULL, &e), 0, "%s", qerr_msg(e));
        cr_assert_eq(image_store_load(dst, by_digest, NULL, NULL, NULL), 0);
}

Test(image_pull, three_layers_docker_schema2_with_whiteouts, .init = reg_setup,
     .fini = reg_teardown)
{
        static const struct test_tar_entry l2[] = {
                { .type = TE_DIR, .path = "etc" },
                { .type = TE_FILE, .path = "etc/.wh.motd" },
                { .type = TE_DIR, .path = "var/cache" },
                { .type = TE_FILE, .path = "var/cache/.wh..wh..opq" },
                { .type = TE_FILE, .path = "var/cache/b", .data = "b" },
        };
        static const struct test_tar_entry l3[] = {
                { .type = TE_FILE, .path = "srv/data", .data = "top" },
        };
        struct test_layer l[] = { { bb_layer, ELEMENTSOF(bb_layer), 'g' },
                                  { l2, ELEMENTSOF(l2), 'g' },
                                  { l3, ELEMENTSOF(l3), 'g' } };
        cr_assert_eq(test_image_create(src, "local/three:1", l, 3, bb_config, NULL), 0);
        push("local/three:1", "team/three:v1", "--format v2s2");

        _cleanup_free_ char *ref = NULL;
        cr_assert_geq(asprintf(&ref, "%s/team/three:v1", reg.addr), 0);
        struct registry_opts o = plain_opts();
        struct pull_stats st = { 0 };
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(image_pull(dst, ref, &o, NULL, &st, &e), 0, "%s", qerr_msg(e));
        cr_assert_eq(st.blobs_fetched, 4);
        struct image_desc d = { 0 };
        cr_assert_eq(image_store_resolve(dst, ref, &d, NULL), 0);
        cr_assert_str_eq(d.media_type, MEDIA_DOCKER_MANIFEST);
        image_desc_done(&d);
        _cleanup_strv_free_ char **dirs = NULL;
        size_t n = 0;
        cr_assert_eq(image_store_unpack(dst, ref, &dirs, &n, &e), 0, "%s", qerr_msg(e));
        cr_assert_eq(n, 3);
        _cleanup_free_ char *motd = path_in(dirs[1], "etc/motd");
        _cleanup_free_ char *cache = path_in(dirs[1], "var/cache");
        struct stat s;
        cr_assert_eq(lstat(motd, &s), 0);
        cr_assert(S_ISCHR(s.st_mode) && s.st_rdev == makedev(0, 0));
        char v[2] = { 0 };
        cr_assert_eq(getxattr(cache, "trusted.overlay.opaque", v, 1), 1);
        _cleanup_free_ char *data = path_in(dirs[2], "srv/data");
        cr_assert_eq(access(data, F_OK), 0);
}

/* An OCI index with an arm64 and an amd64 image, pushed whole with --all. */
Test(image_pull, index_picks_host_platform, .init = reg_setup, .fini = reg_teardown)
{
        static const struct test_tar_entry arm[] = {
                { .type = TE_FILE, .path = "arch", .data = "arm64" },
        };
        struct test_layer la = { arm, ELEMENTSOF(arm), 'g' };
        struct test_layer lb = { bb_layer, ELEMENTSOF(bb_layer), 'g' };
        cr_assert_eq(test_image_create(src, "local/arm:1", &la, 1, bb_config, NULL), 0);
        cr_assert_eq(test_image_create(src, "local/amd:1", &lb, 1, bb_config, NULL), 0);
        struct image_desc da = { 0 }, db = { 0 };
        cr_assert_eq(image_store_resolve(src, "local/arm:1", &da, NULL), 0);
        cr_assert_eq(image_store_resolve(src, "local/amd:1", &db, NULL), 0);
        _cleanup_free_ char *index = NULL, *idx_digest = NULL;
        cr_assert_geq(asprintf(&index,
                               "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":["
                               "{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%lld,"
                               "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}},"
                               "{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%lld,"
                               "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}",
                               MEDIA_OCI_INDEX, da.media_type, da.digest, (long long)da.size,
                               db.media_type, db.digest, (long long)db.size),
                      0);
        cr_assert_eq(image_store_put_blob(src, index, strlen(index), NULL, &idx_digest, NULL), 0);
        struct image_desc di = { MEDIA_OCI_INDEX, idx_digest, (int64_t)strlen(index) };
        cr_assert_eq(image_store_tag(src, "local/multi:1", &di, NULL), 0);
        push("local/multi:1", "multi:1", "--all");

        _cleanup_free_ char *ref = NULL;
        cr_assert_geq(asprintf(&ref, "%s/multi:1", reg.addr), 0);
        struct registry_opts o = plain_opts();
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(image_pull(dst, ref, &o, NULL, NULL, &e), 0, "%s", qerr_msg(e));
        struct image_desc got = { 0 };
        cr_assert_eq(image_store_resolve(dst, ref, &got, NULL), 0);
        cr_assert_str_eq(got.digest, db.digest, "the arm64 image was picked");
        cr_assert(!image_store_has_blob(dst, da.digest));
        image_desc_done(&got);

        /* The same as a docker manifest list of schema 2 manifests. */
        push("local/multi:1", "multi:v2s2", "--all --format v2s2");
        cr_assert_eq(test_sh("python3 -c 'import json,sys,urllib.request as u; "
                             "r=u.Request(\"http://%s/v2/multi/manifests/v2s2\", headers="
                             "{\"Accept\": \"%s\"}); "
                             "sys.exit(json.load(u.urlopen(r))[\"mediaType\"] != \"%s\")'",
                             reg.addr, MEDIA_DOCKER_LIST, MEDIA_DOCKER_LIST),
                     0, "the registry does not hold a docker manifest list");
        _cleanup_free_ char *ref2 = NULL;
        cr_assert_geq(asprintf(&ref2, "%s/multi:v2s2", reg.addr), 0);
        cr_assert_eq(image_pull(dst, ref2, &o, NULL, NULL, &e), 0, "%s", qerr_msg(e));
        cr_assert_eq(image_store_resolve(dst, ref2, &got, NULL), 0);
        cr_assert_str_eq(got.media_type, MEDIA_DOCKER_MANIFEST);
        image_desc_done(&got);
        _cleanup_image_config_ struct image_config *c = NULL;
        cr_assert_eq(image_store_load(dst, ref2, NULL, &c, NULL), 0);
        cr_assert_str_eq(c->architecture, "amd64");
        image_desc_done(&da);
        image_desc_done(&db);
}

static char *find_registry_blob(const char *digest)
{
        char *p = NULL;
        cr_assert_geq(asprintf(&p, "%s/data/docker/registry/v2/blobs/sha256/%.2s/%s/data", reg.dir,
                               digest + 7, digest + 7),
                      0);
        return p;
}

Test(image_pull, errors_name_the_reason, .init = reg_setup, .fini = reg_teardown)
{
        struct test_layer l = { bb_layer, ELEMENTSOF(bb_layer), 'g' };
        _cleanup_free_ char *mdigest = NULL;
        cr_assert_eq(test_image_create(src, "local/bb:1", &l, 1, bb_config, &mdigest), 0);
        push("local/bb:1", "busybox:1.35", "");
        struct registry_opts o = plain_opts();

        _cleanup_free_ char *missing = NULL;
        cr_assert_geq(asprintf(&missing, "%s/busybox:nope", reg.addr), 0);
        struct qerr *e = NULL;
        cr_assert_eq(image_pull(dst, missing, &o, NULL, NULL, &e), -ENOENT);
        cr_assert(strstr(qerr_msg(e), IMAGE_PULL_REASON ": pull image"), "%s", qerr_msg(e));
        cr_log_info("unknown tag: %s", qerr_msg(e));
        cr_assert(strstr(qerr_msg(e), "MANIFEST_UNKNOWN: manifest unknown"), "%s", qerr_msg(e));
        qerr_free(e);

        /* Not in the insecure list: HTTPS, which a plain-HTTP registry cannot speak. */
        _cleanup_free_ char *ref = NULL;
        cr_assert_geq(asprintf(&ref, "%s/busybox:1.35", reg.addr), 0);
        e = NULL;
        struct registry_opts tls = { 0 };
        cr_assert_lt(image_pull(dst, ref, &tls, NULL, NULL, &e), 0);
        cr_assert(strstr(qerr_msg(e), IMAGE_PULL_REASON), "%s", qerr_msg(e));
        cr_log_info("https to a plain registry: %s", qerr_msg(e));
        cr_assert(strstr(qerr_msg(e), "https://"), "%s", qerr_msg(e));
        qerr_free(e);

        /* A layer changed on the registry's disk: refused, and nothing named. */
        _cleanup_image_manifest_ struct image_manifest *m = NULL;
        cr_assert_eq(image_store_load(src, "local/bb:1", &m, NULL, NULL), 0);
        _cleanup_free_ char *blob = find_registry_blob(m->layers[0].digest);
        cr_assert_eq(test_sh("printf X | dd of=%s bs=1 seek=100 conv=notrunc status=none", blob),
                     0);
        e = NULL;
        cr_assert_eq(image_pull(dst, ref, &o, NULL, NULL, &e), -EBADMSG);
        cr_assert(strstr(qerr_msg(e), "digest mismatch"), "%s", qerr_msg(e));
        qerr_free(e);
        cr_assert(!image_store_has_blob(dst, m->layers[0].digest));
        struct image_desc d = { 0 };
        cr_assert_eq(image_store_resolve(dst, ref, &d, NULL), -ENOENT);
}

static char *write_auth_file(const char *host, const char *user_pass_b64)
{
        char *p = path_in(tmp, "config.json");
        _cleanup_free_ char *j = NULL;
        cr_assert_geq(asprintf(&j,
                               "{\"auths\":{\"other.example\":{\"auth\":\"eDp5\"},"
                               "\"%s\":{\"auth\":\"%s\"}}}",
                               host, user_pass_b64),
                      0);
        cr_assert_eq(test_write_file(p, j, strlen(j)), 0);
        return p;
}

Test(image_pull, basic_auth_from_config_json, .init = reg_setup_auth, .fini = reg_teardown)
{
        struct test_layer l = { bb_layer, ELEMENTSOF(bb_layer), 'g' };
        cr_assert_eq(test_image_create(src, "local/bb:1", &l, 1, bb_config, NULL), 0);
        push("local/bb:1", "private/busybox:1.35", "--dest-creds puller:s3cret");
        _cleanup_free_ char *ref = NULL;
        cr_assert_geq(asprintf(&ref, "%s/private/busybox:1.35", reg.addr), 0);
        struct registry_opts o = plain_opts();

        /* No credentials at all. */
        struct qerr *e = NULL;
        cr_assert_eq(image_pull(dst, ref, &o, NULL, NULL, &e), -EACCES);
        cr_assert(strstr(qerr_msg(e), IMAGE_PULL_REASON), "%s", qerr_msg(e));
        qerr_free(e);

        /* base64("puller:wrong") */
        _cleanup_free_ char *bad = write_auth_file(reg.addr, "cHVsbGVyOndyb25n");
        o.auth_file = bad;
        e = NULL;
        cr_assert_eq(image_pull(dst, ref, &o, NULL, NULL, &e), -EACCES);
        cr_assert(strstr(qerr_msg(e), IMAGE_PULL_REASON ": pull image"), "%s", qerr_msg(e));
        cr_assert(strstr(qerr_msg(e), "401"), "%s", qerr_msg(e));
        cr_log_info("wrong password: %s", qerr_msg(e));
        cr_assert(strstr(qerr_msg(e), "UNAUTHORIZED: authentication required"), "%s", qerr_msg(e));
        qerr_free(e);

        /* base64("puller:s3cret") */
        _cleanup_free_ char *good = write_auth_file(reg.addr, "cHVsbGVyOnMzY3JldA==");
        o.auth_file = good;
        e = NULL;
        struct pull_stats st = { 0 };
        cr_assert_eq(image_pull(dst, ref, &o, NULL, &st, &e), 0, "%s", qerr_msg(e));
        cr_assert_eq(st.blobs_fetched, 2);
        _cleanup_strv_free_ char **dirs = NULL;
        cr_assert_eq(image_store_unpack(dst, ref, &dirs, NULL, NULL), 0);
        assert_busybox_runs(dirs[0]);
}

/* Container root filesystems. */

static struct image_store *rstore;
static char *rrun;

static void rootfs_setup(void)
{
        root_setup();
        _cleanup_free_ char *st = path_in(tmp, "store");
        cr_assert_eq(image_store_open(st, &rstore, NULL), 0);
        rrun = path_in(tmp, "run");
        cr_assert_eq(mkdir(rrun, 0755), 0);
}

static void rootfs_teardown(void)
{
        free(rrun);
        rrun = NULL;
        image_store_free(rstore);
        rstore = NULL;
        root_teardown();
}

static char **three_layer_image(void)
{
        static const struct test_tar_entry l2[] = {
                { .type = TE_FILE, .path = "etc/.wh.motd" },
                { .type = TE_DIR, .path = "var/cache", .mode = 0750 },
                { .type = TE_FILE, .path = "var/cache/.wh..wh..opq" },
                { .type = TE_FILE, .path = "var/cache/b", .data = "b" },
                { .type = TE_DIR, .path = "bin/sh" },
        };
        static const struct test_tar_entry l3[] = {
                { .type = TE_FILE, .path = "srv/data", .data = "top", .uid = 33, .gid = 33 },
                { .type = TE_FILE, .path = ".wh.bin" },
                { .type = TE_DIR, .path = "bin" },
                { .type = TE_FILE, .path = "bin/busybox", .src_file = "/bin/busybox", .mode = 0755 },
                { .type = TE_SYMLINK, .path = "bin/sh", .data = "busybox" },
        };
        struct test_layer l[] = { { bb_layer, ELEMENTSOF(bb_layer), 'g' },
                                  { l2, ELEMENTSOF(l2), 'z' },
                                  { l3, ELEMENTSOF(l3), 0 } };
        cr_assert_eq(test_image_create(rstore, "local/three:1", l, 3, bb_config, NULL), 0);
        char **dirs = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(image_store_unpack(rstore, "local/three:1", &dirs, NULL, &e), 0, "%s",
                     qerr_msg(e));
        return dirs;
}

/* What the merged view must show, overlay or copy alike. */
static void check_merged(const char *m)
{
        _cleanup_free_ char *motd = path_in(m, "etc/motd"), *a = path_in(m, "var/cache/a"),
                            *b = path_in(m, "var/cache/b"), *cache = path_in(m, "var/cache"),
                            *data = path_in(m, "srv/data");
        cr_assert_eq(access(motd, F_OK), -1, "whiteout of etc/motd not applied");
        cr_assert_eq(access(a, F_OK), -1, "opaque var/cache shows a lower file");
        cr_assert_eq(access(b, F_OK), 0);
        struct stat st;
        cr_assert_eq(stat(cache, &st), 0);
        cr_assert_eq(st.st_mode & 07777, 0750);
        cr_assert_eq(stat(data, &st), 0);
        cr_assert(st.st_uid == 33 && st.st_gid == 33);
        cr_assert_eq(test_sh("test \"$(chroot %s /bin/sh -c 'busybox cat /var/cache/b "
                             "/srv/data')\" = btop",
                             m),
                     0, "busybox does not run in the merged root");
}

Test(image_rootfs, overlay_then_copy, .init = rootfs_setup, .fini = rootfs_teardown)
{
        _cleanup_strv_free_ char **dirs = three_layer_image();
        _cleanup_free_ char *c1 = path_in(rrun, "c1"), *c2 = path_in(rrun, "c2");
        _cleanup_free_ char *m1 = NULL, *m2 = NULL;
        enum rootfs_kind kind = ROOTFS_COPY;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(image_rootfs_create(dirs, 3, c1, false, &kind, &m1, &e), 0, "%s", qerr_msg(e));
        cr_assert_eq(kind, ROOTFS_OVERLAY);
        struct statfs sf;
        cr_assert_eq(statfs(m1, &sf), 0);
        cr_assert_eq(sf.f_type, OVERLAYFS_SUPER_MAGIC);
        check_merged(m1);
        /* Writes land in the container's upper directory, never in a shared layer. */
        _cleanup_free_ char *w = path_in(m1, "etc/written"), *up = path_in(c1, "upper/etc/written");
        cr_assert_eq(test_write_file(w, "w", 1), 0);
        cr_assert_eq(access(up, F_OK), 0);
        for (size_t i = 0; i < 3; i++) {
                _cleanup_free_ char *in_layer = path_in(dirs[i], "etc/written");
                cr_assert_eq(access(in_layer, F_OK), -1);
        }

        cr_assert_eq(image_rootfs_create(dirs, 3, c2, true, &kind, &m2, &e), 0, "%s", qerr_msg(e));
        cr_assert_eq(kind, ROOTFS_COPY);
        cr_assert_eq(statfs(m2, &sf), 0);
        cr_assert_neq(sf.f_type, OVERLAYFS_SUPER_MAGIC);
        check_merged(m2);

        cr_assert_eq(image_rootfs_remove(c1, &e), 0, "%s", qerr_msg(e));
        cr_assert_eq(image_rootfs_remove(c2, &e), 0, "%s", qerr_msg(e));
        cr_assert_eq(access(c1, F_OK), -1);
        cr_assert_eq(access(c2, F_OK), -1);
        cr_assert_eq(image_rootfs_remove(c1, NULL), 0, "a second remove fails");
}

/* More layers than one page of mount options can name. */
Test(image_rootfs, many_layers, .init = rootfs_setup, .fini = rootfs_teardown)
{
        enum { N = 60 };
        static struct test_tar_entry entries[N][2];
        static char names[N][2][32];
        struct test_layer l[N];
        for (int i = 0; i < N; i++) {
                snprintf(names[i][0], sizeof(names[i][0]), "f%d", i);
                snprintf(names[i][1], sizeof(names[i][1]), ".wh.f%d", i - 1);
                entries[i][0] = (struct test_tar_entry){ .type = TE_FILE,
                                                         .path = names[i][0],
                                                         .data = names[i][0] };
                entries[i][1] = (struct test_tar_entry){ .type = TE_FILE, .path = names[i][1] };
                l[i] = (struct test_layer){ entries[i], i == 0 ? 1 : 2, 'g' };
        }
        cr_assert_eq(test_image_create(rstore, "local/many:1", l, N, bb_config, NULL), 0);
        _cleanup_strv_free_ char **dirs = NULL;
        size_t n = 0;
        cr_assert_eq(image_store_unpack(rstore, "local/many:1", &dirs, &n, NULL), 0);
        cr_assert_eq(n, N);
        _cleanup_free_ char *c = path_in(rrun, "c"), *m = NULL;
        enum rootfs_kind kind;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(image_rootfs_create(dirs, n, c, false, &kind, &m, &e), 0, "%s", qerr_msg(e));
        cr_log_info("%d layers: %s", N, kind == ROOTFS_OVERLAY ? "overlay" : "copy");
        /* Only the top layer's file survives: each layer whites out the one before. */
        cr_assert_eq(count_entries(m), 1);
        _cleanup_free_ char *top = path_in(m, "f59");
        cr_assert_eq(access(top, F_OK), 0);
        cr_assert_eq(image_rootfs_remove(c, NULL), 0);
}

/* HTTPS with a certificate checked against the given CA, and the bearer token flow: the
 * registry answers 401 with a Bearer challenge, the token server takes the basic
 * credentials from config.json and signs a token the registry verifies. */
Test(image_pull, bearer_token_over_verified_https, .init = reg_setup_token_tls,
     .fini = reg_teardown)
{
        struct test_layer l = { bb_layer, ELEMENTSOF(bb_layer), 'g' };
        cr_assert_eq(test_image_create(src, "local/bb:1", &l, 1, bb_config, NULL), 0);
        push("local/bb:1", "busybox:1.35", "--dest-creds puller:s3cret");
        _cleanup_free_ char *ref = NULL;
        cr_assert_geq(asprintf(&ref, "%s/busybox:1.35", reg.addr), 0);
        _cleanup_free_ char *good = write_auth_file(reg.addr, "cHVsbGVyOnMzY3JldA==");

        /* The system CAs do not know the registry's certificate. */
        struct registry_opts o = { .auth_file = good };
        struct qerr *e = NULL;
        cr_assert_eq(image_pull(dst, ref, &o, NULL, NULL, &e), -EPROTO, "%s", qerr_msg(e));
        cr_log_info("unknown CA: %s", qerr_msg(e));
        cr_assert(strstr(qerr_msg(e), IMAGE_PULL_REASON), "%s", qerr_msg(e));
        qerr_free(e);

        o.ca_file = reg.ca_file;
        _cleanup_free_ char *bad = write_auth_file(reg.addr, "cHVsbGVyOndyb25n");
        o.auth_file = bad;
        e = NULL;
        cr_assert_eq(image_pull(dst, ref, &o, NULL, NULL, &e), -EACCES);
        cr_log_info("wrong password for the token: %s", qerr_msg(e));
        cr_assert(strstr(qerr_msg(e), "get token"), "%s", qerr_msg(e));
        cr_assert(strstr(qerr_msg(e), "token server: bad user or password"), "%s", qerr_msg(e));
        qerr_free(e);

        /* The same file again, with the right password. */
        free(good);
        good = write_auth_file(reg.addr, "cHVsbGVyOnMzY3JldA==");
        o.auth_file = good;
        e = NULL;
        struct pull_stats st = { 0 };
        cr_assert_eq(image_pull(dst, ref, &o, NULL, &st, &e), 0, "%s", qerr_msg(e));
        cr_assert_eq(st.blobs_fetched, 2);
        _cleanup_strv_free_ char **dirs = NULL;
        cr_assert_eq(image_store_unpack(dst, ref, &dirs, NULL, NULL), 0);
        assert_busybox_runs(dirs[0]);
}

static double now_s(void)
{
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Three 8 MiB layers of random bytes (so gzip gains nothing): pull and unpack rates. */
Test(image_pull, throughput, .init = reg_setup, .fini = reg_teardown)
{
        enum { LAYERS = 3, MIB = 8 };
        static struct test_tar_entry e[LAYERS];
        static char files[LAYERS][512], names[LAYERS][16];
        struct test_layer l[LAYERS];
        for (int i = 0; i < LAYERS; i++) {
                snprintf(files[i], sizeof(files[i]), "%s/random%d", tmp, i);
                snprintf(names[i], sizeof(names[i]), "data%d", i);
                cr_assert_eq(test_sh("head -c %d /dev/urandom > %s", MIB << 20, files[i]), 0);
                e[i] = (struct test_tar_entry){ .type = TE_FILE,
                                                .path = names[i],
                                                .src_file = files[i] };
                l[i] = (struct test_layer){ &e[i], 1, 'g' };
        }
        cr_assert_eq(test_image_create(src, "local/big:1", l, LAYERS, bb_config, NULL), 0);
        push("local/big:1", "big:1", "");
        _cleanup_free_ char *ref = NULL;
        cr_assert_geq(asprintf(&ref, "%s/big:1", reg.addr), 0);
        struct registry_opts o = plain_opts();
        struct pull_stats st = { 0 };
        _cleanup_qerr_ struct qerr *err = NULL;
        cr_assert_eq(image_pull(dst, ref, &o, NULL, &st, &err), 0, "%s", qerr_msg(err));
        cr_assert_gt(st.bytes, (uint64_t)LAYERS * (MIB << 20));
        double t0 = now_s();
        _cleanup_strv_free_ char **dirs = NULL;
        cr_assert_eq(image_store_unpack(dst, ref, &dirs, NULL, &err), 0, "%s", qerr_msg(err));
        double unpack = now_s() - t0;
        for (int i = 0; i < LAYERS; i++)
                cr_assert_eq(test_sh("cmp -s %s %s/%s", files[i], dirs[i], names[i]), 0,
                             "layer %d content differs", i);
        double mb = (double)st.bytes / 1e6;
        cr_log_info("pull: %.1f MB in %.3f s = %.0f MB/s; unpack: %.3f s = %.0f MB/s; "
                    "pull+unpack %.0f MB/s",
                    mb, st.seconds, mb / st.seconds, unpack, mb / unpack,
                    mb / (st.seconds + unpack));
}

Test(image_pull, with_qosctl, .init = reg_setup, .fini = reg_teardown)
{
        struct test_layer l = { bb_layer, ELEMENTSOF(bb_layer), 'g' };
        cr_assert_eq(test_image_create(src, "local/bb:1", &l, 1, bb_config, NULL), 0);
        push("local/bb:1", "busybox:1.35", "");
        _cleanup_free_ char *qosctl = test_program_path("qosctl"), *root = path_in(tmp, "cli");
        _cleanup_free_ char *cmd = NULL, *out = NULL, *cmd2 = NULL, *out2 = NULL;
        cr_assert_geq(asprintf(&cmd,
                               "%s pull --root-dir %s --insecure-registry %s --unpack "
                               "%s/busybox:1.35 2>&1",
                               qosctl, root, reg.addr, reg.addr),
                      0);
        cr_assert_eq(test_run_capture(cmd, &out), 0, "%s", out);
        cr_assert(strstr(out, "2 blobs fetched"), "%s", out);
        cr_assert(strstr(out, "unpacked 1 layers"), "%s", out);
        cr_assert_geq(asprintf(&cmd2, "%s images --root-dir %s", qosctl, root), 0);
        cr_assert_eq(test_run_capture(cmd2, &out2), 0, "%s", out2);
        cr_assert(strstr(out2, "/busybox:1.35"), "%s", out2);

        _cleanup_free_ char *cmd3 = NULL, *out3 = NULL;
        cr_assert_geq(asprintf(&cmd3, "%s pull --root-dir %s %s/busybox:1.35 2>&1", qosctl, root,
                               reg.addr),
                      0);
        cr_assert_eq(test_run_capture(cmd3, &out3), 1, "%s", out3);
        cr_assert(strstr(out3, IMAGE_PULL_REASON), "%s", out3);
}
