/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include "basic/fileio.h"
#include "basic/strbuf.h"
#include "helpers/image-helpers.h"
#include "helpers/paths.h"
#include "image/digest.h"
#include "image/fsutil.h"
#include "image/import.h"
#include "image/manifest.h"
#include "image/reference.h"
#include "image/registry.h"
#include "image/store.h"
#include "image/unpack.h"

#define D64 "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct ref_case {
        const char *in;
        const char *domain, *path, *tag, *digest, *full, *host;
};

static const struct ref_case valid_refs[] = {
        { "busybox", "docker.io", "library/busybox", "latest", NULL,
          "docker.io/library/busybox:latest", "registry-1.docker.io" },
        { "busybox:1.35", "docker.io", "library/busybox", "1.35", NULL,
          "docker.io/library/busybox:1.35", "registry-1.docker.io" },
        { "library/busybox", "docker.io", "library/busybox", "latest", NULL,
          "docker.io/library/busybox:latest", "registry-1.docker.io" },
        { "docker.io/busybox", "docker.io", "library/busybox", "latest", NULL,
          "docker.io/library/busybox:latest", "registry-1.docker.io" },
        { "index.docker.io/busybox", "docker.io", "library/busybox", "latest", NULL,
          "docker.io/library/busybox:latest", "registry-1.docker.io" },
        { "user/app:v1", "docker.io", "user/app", "v1", NULL, "docker.io/user/app:v1",
          "registry-1.docker.io" },
        { "quay.io/coreos/etcd:v3.5.0", "quay.io", "coreos/etcd", "v3.5.0", NULL,
          "quay.io/coreos/etcd:v3.5.0", "quay.io" },
        { "quay.io/etcd", "quay.io", "etcd", "latest", NULL, "quay.io/etcd:latest", "quay.io" },
        { "localhost/app", "localhost", "app", "latest", NULL, "localhost/app:latest",
          "localhost" },
        { "localhost:5000/a/b/c:x", "localhost:5000", "a/b/c", "x", NULL, "localhost:5000/a/b/c:x",
          "localhost:5000" },
        { "127.0.0.1:5000/busybox:1.35", "127.0.0.1:5000", "busybox", "1.35", NULL,
          "127.0.0.1:5000/busybox:1.35", "127.0.0.1:5000" },
        { "[::1]:5000/busybox", "[::1]:5000", "busybox", "latest", NULL,
          "[::1]:5000/busybox:latest", "[::1]:5000" },
        { "Registry.Example.COM/app", "Registry.Example.COM", "app", "latest", NULL,
          "Registry.Example.COM/app:latest", "Registry.Example.COM" },
        { "busybox@" D64, "docker.io", "library/busybox", NULL, D64,
          "docker.io/library/busybox@" D64, "registry-1.docker.io" },
        { "busybox:1.35@" D64, "docker.io", "library/busybox", "1.35", D64,
          "docker.io/library/busybox:1.35@" D64, "registry-1.docker.io" },
        { "docker.io/a_b__c.d-e---f/g:_Tag.9-x", "docker.io", "a_b__c.d-e---f/g", "_Tag.9-x", NULL,
          "docker.io/a_b__c.d-e---f/g:_Tag.9-x", "registry-1.docker.io" },
        { "localhost:5000", "docker.io", "library/localhost", "5000", NULL,
          "docker.io/library/localhost:5000", "registry-1.docker.io" },
        { "my-registry.local:443/team/app", "my-registry.local:443", "team/app", "latest", NULL,
          "my-registry.local:443/team/app:latest", "my-registry.local:443" },
};

static void check_null_or_eq(const char *got, const char *want, const char *in, const char *what)
{
        if (!want)
                cr_assert_null(got, "%s of '%s' should be unset, is '%s'", what, in, got);
        else
                cr_assert_str_eq(got ? got : "(null)", want, "%s of '%s'", what, in);
}

Test(image_ref, valid_table)
{
        for (size_t i = 0; i < ELEMENTSOF(valid_refs); i++) {
                const struct ref_case *c = &valid_refs[i];
                _cleanup_image_ref_ struct image_ref *r = NULL;
                _cleanup_qerr_ struct qerr *e = NULL;
                int k = image_ref_parse(c->in, &r, &e);
                cr_assert_eq(k, 0, "parse '%s': %s", c->in, qerr_msg(e));
                cr_assert_str_eq(r->domain, c->domain, "domain of '%s'", c->in);
                cr_assert_str_eq(r->path, c->path, "path of '%s'", c->in);
                check_null_or_eq(r->tag, c->tag, c->in, "tag");
                check_null_or_eq(r->digest, c->digest, c->in, "digest");
                cr_assert_str_eq(r->full, c->full, "full form of '%s'", c->in);
                cr_assert_str_eq(image_ref_registry_host(r), c->host, "host of '%s'", c->in);
                cr_assert_str_eq(image_ref_manifest_key(r), c->digest ? c->digest : c->tag);
        }
}

Test(image_ref, full_form_is_a_fixed_point)
{
        for (size_t i = 0; i < ELEMENTSOF(valid_refs); i++) {
                _cleanup_image_ref_ struct image_ref *a = NULL, *b = NULL;
                cr_assert_eq(image_ref_parse(valid_refs[i].in, &a, NULL), 0);
                cr_assert_eq(image_ref_parse(a->full, &b, NULL), 0, "reparse '%s'", a->full);
                cr_assert_str_eq(a->full, b->full);
        }
}

struct bad_case {
        const char *in;
        const char *msg_part;
};

static const struct bad_case invalid_refs[] = {
        { "", "empty" },
        { "Busybox", "must be lowercase" },
        { "docker.io/Library/busybox", "must be lowercase" },
        { "user/App:v1", "must be lowercase" },
        { "busybox:", "invalid tag" },
        { "busybox:-x", "invalid tag" },
        { "busybox:.x", "invalid tag" },
        { "busybox:a/b", "invalid registry domain" },
        { "busybox:tag with space", "invalid tag" },
        { "busybox:"
          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
          "aaa"
          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
          "invalid tag" },
        { "busybox@sha256:abc", "invalid digest" },
        { "busybox@md5:0123456789abcdef0123456789abcdef", "invalid digest" },
        { "busybox@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
          "invalid digest" },
        { "busybox@", "invalid digest" },
        { "@" D64, "no repository name" },
        { ":tag", "no repository name" },
        { "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "image id" },
        { "-busybox", "invalid repository name" },
        { "busybox-", "invalid repository name" },
        { "bu..sybox", "invalid repository name" },
        { "bu___sybox", "invalid repository name" },
        { "a//b", "invalid repository name" },
        { "busybox/", "invalid repository name" },
        { "quay.io/", "invalid repository name" },
        { "-quay.io/app", "invalid registry domain" },
        { "quay..io/app", "invalid registry domain" },
        { "quay.io:/app", "invalid registry domain" },
        { "quay.io:12a/app", "invalid registry domain" },
        { "quay.io:123456/app", "invalid registry domain" },
        { "[::1/app", "invalid registry domain" },
        { "a b/c", "invalid repository name" },
        { "a b.io/c", "invalid registry domain" },
        { "docker.io/a%b", "invalid repository name" },
};

Test(image_ref, invalid_table)
{
        for (size_t i = 0; i < ELEMENTSOF(invalid_refs); i++) {
                const struct bad_case *c = &invalid_refs[i];
                struct image_ref *r = NULL;
                _cleanup_qerr_ struct qerr *e = NULL;
                int k = image_ref_parse(c->in, &r, &e);
                cr_assert_eq(k, -EINVAL, "'%s' should be refused", c->in);
                cr_assert_null(r);
                cr_assert(strstr(qerr_msg(e), c->msg_part), "'%s': message '%s' lacks '%s'", c->in,
                          qerr_msg(e), c->msg_part);
        }
}

Test(image_ref, name_length_limit)
{
        char name[300];
        memset(name, 'a', sizeof(name) - 1);
        name[sizeof(name) - 1] = 0;
        _cleanup_qerr_ struct qerr *e = NULL;
        struct image_ref *r = NULL;
        cr_assert_eq(image_ref_parse(name, &r, &e), -EINVAL);
        cr_assert(strstr(qerr_msg(e), "longer than 255"), "%s", qerr_msg(e));
        /* 255 in all, "docker.io/library/" included, is still fine. */
        name[255 - strlen("docker.io/library/")] = 0;
        cr_assert_eq(image_ref_parse(name, &r, NULL), 0);
        cr_assert_eq(strlen(r->name), 255);
        image_ref_free(r);
}

Test(image_ref, digest_validate)
{
        cr_assert_eq(image_digest_validate(D64, NULL), 0);
        cr_assert_eq(image_digest_validate("sha256:", NULL), -EINVAL);
        cr_assert_eq(image_digest_validate("sha512:"
                                           "00",
                                           NULL),
                     -EINVAL);
        cr_assert_eq(image_digest_validate(":00", NULL), -EINVAL);
        cr_assert_eq(image_digest_validate(D64 "0", NULL), -EINVAL);
}

/* The store. */

static char *store_dir;
static struct image_store *store;

static void store_setup(void)
{
        store_dir = test_tmpdir();
        cr_assert_not_null(store_dir);
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(image_store_open(store_dir, &store, &e), 0, "%s", qerr_msg(e));
}

static void store_teardown(void)
{
        image_store_free(store);
        store = NULL;
        test_rmdir(store_dir);
        free(store_dir);
        store_dir = NULL;
}

static size_t count_dir_entries(const char *path)
{
        DIR *d = opendir(path);
        cr_assert_not_null(d, "open '%s'", path);
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n;
}

static char *read_text(const char *dir, const char *name)
{
        _cleanup_free_ char *p = NULL;
        cr_assert_geq(asprintf(&p, "%s/%s", dir, name), 0);
        char *buf = NULL;
        cr_assert_eq(read_full_file(p, 1 << 20, &buf, NULL, NULL), 0, "read '%s'", p);
        return buf;
}

Test(image_store, open_creates_layout, .init = store_setup, .fini = store_teardown)
{
        _cleanup_free_ char *layout = read_text(store->layout, "oci-layout");
        _cleanup_free_ char *index = read_text(store->layout, "index.json");
        cr_assert_str_eq(layout, "{\"imageLayoutVersion\":\"1.0.0\"}");
        cr_assert_str_eq(index, "{\"schemaVersion\":2,\"manifests\":[]}");
        cr_assert_eq(count_dir_entries(store->blobs), 0);
        /* Opening again keeps what is there. */
        struct image_store *again = NULL;
        cr_assert_eq(image_store_open(store_dir, &again, NULL), 0);
        image_store_free(again);
}

Test(image_store, blob_digest_verified_on_write, .init = store_setup, .fini = store_teardown)
{
        const char *text = "hello blob";
        char want[72];
        cr_assert_eq(sha256_digest_of(text, strlen(text), want, NULL), 0);
        _cleanup_free_ char *got = NULL;
        cr_assert_eq(image_store_put_blob(store, text, strlen(text), want, &got, NULL), 0);
        cr_assert_str_eq(got, want);
        cr_assert(image_store_has_blob(store, want));

        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(image_store_put_blob(store, "other", 5, D64, NULL, &e), -EBADMSG);
        cr_assert(strstr(qerr_msg(e), "digest mismatch"), "%s", qerr_msg(e));
        cr_assert(!image_store_has_blob(store, D64));
        cr_assert_eq(count_dir_entries(store->blobs), 1);
        cr_assert_eq(count_dir_entries(store->ingest), 0, "a refused blob left a temporary file");
}

Test(image_store, blob_size_limit, .init = store_setup, .fini = store_teardown)
{
        struct blob_writer *w = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(image_blob_begin(store, D64, 4, &w, NULL), 0);
        cr_assert_eq(image_blob_write(w, "abc", 3, NULL), 0);
        cr_assert_eq(image_blob_write(w, "de", 2, &e), -EBADMSG);
        cr_assert(strstr(qerr_msg(e), "larger than its 4 bytes"), "%s", qerr_msg(e));
        image_blob_abort(w);
        cr_assert_eq(count_dir_entries(store->ingest), 0);
}

Test(image_store, read_blob_detects_corruption, .init = store_setup, .fini = store_teardown)
{
        _cleanup_free_ char *digest = NULL, *buf = NULL;
        cr_assert_eq(image_store_put_blob(store, "{}", 2, NULL, &digest, NULL), 0);
        cr_assert_eq(image_store_read_blob(store, digest, 100, &buf, NULL, NULL), 0);
        cr_assert_str_eq(buf, "{}");
        _cleanup_free_ char *path = image_store_blob_path(store, digest);
        cr_assert_eq(test_write_file(path, "[]", 2), 0);
        _cleanup_qerr_ struct qerr *e = NULL;
        char *bad = NULL;
        cr_assert_eq(image_store_read_blob(store, digest, 100, &bad, NULL, &e), -EBADMSG);
        cr_assert(strstr(qerr_msg(e), "corrupt"), "%s", qerr_msg(e));
}

Test(image_store, tag_resolve_list_untag, .init = store_setup, .fini = store_teardown)
{
        struct image_desc a = { MEDIA_OCI_MANIFEST, D64, 10 };
        struct image_desc b = {
                MEDIA_DOCKER_MANIFEST,
                "sha256:1111111111111111111111111111111111111111111111111111111111111111", 20
        };
        cr_assert_eq(image_store_tag(store, "docker.io/library/busybox:1.35", &a, NULL), 0);
        cr_assert_eq(image_store_tag(store, "quay.io/x/y:1", &b, NULL), 0);
        /* Tagging the same name again replaces the entry. */
        cr_assert_eq(image_store_tag(store, "docker.io/library/busybox:1.35", &b, NULL), 0);

        struct image_desc got = { 0 };
        cr_assert_eq(image_store_resolve(store, "docker.io/library/busybox:1.35", &got, NULL), 0);
        cr_assert_str_eq(got.digest, b.digest);
        cr_assert_str_eq(got.media_type, MEDIA_DOCKER_MANIFEST);
        cr_assert_eq(got.size, 20);
        image_desc_done(&got);

        struct image_entry *v = NULL;
        size_t n = 0;
        cr_assert_eq(image_store_list(store, &v, &n, NULL), 0);
        cr_assert_eq(n, 2);
        cr_assert_str_eq(v[0].ref, "quay.io/x/y:1");
        cr_assert_str_eq(v[1].ref, "docker.io/library/busybox:1.35");
        image_entries_free(v, n);

        cr_assert_eq(image_store_untag(store, "quay.io/x/y:1", NULL), 0);
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(image_store_resolve(store, "quay.io/x/y:1", &got, &e), -ENOENT);
        cr_assert(strstr(qerr_msg(e), "no image 'quay.io/x/y:1'"), "%s", qerr_msg(e));
        cr_assert_eq(image_store_untag(store, "quay.io/x/y:1", NULL), -ENOENT);
}

Test(image_store, lock_excludes_other_processes, .init = store_setup, .fini = store_teardown)
{
        int fd = image_store_lock(store, true, NULL);
        cr_assert_geq(fd, 0);
        pid_t pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                int other = open(store->lock_path, O_RDWR | O_CLOEXEC);
                bool blocked = other >= 0 && flock(other, LOCK_SH | LOCK_NB) < 0 &&
                               errno == EWOULDBLOCK;
                _exit(blocked ? 0 : 1);
        }
        int st = 0;
        cr_assert_eq(waitpid(pid, &st, 0), pid);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the lock did not exclude a reader");
        close(fd);
        /* Released: a shared lock is granted. */
        fd = image_store_lock(store, false, NULL);
        cr_assert_geq(fd, 0);
        close(fd);
}

static const struct test_tar_entry busybox_layer[] = {
        { .type = TE_DIR, .path = "bin" },
        { .type = TE_FILE, .path = "bin/busybox", .src_file = "/bin/busybox", .mode = 0755 },
        { .type = TE_SYMLINK, .path = "bin/sh", .data = "busybox" },
        { .type = TE_DIR, .path = "tmp", .mode = 01777 },
};

Test(image_store, readable_by_skopeo_and_umoci, .init = store_setup, .fini = store_teardown)
{
        if (!test_have_program("skopeo") || !test_have_program("umoci"))
                cr_skip_test("skopeo or umoci is not installed (hack/install-deps.sh)");
        struct test_layer l = { busybox_layer, ELEMENTSOF(busybox_layer), 'g' };
        const char *ref = "docker.io/library/busybox:1.35";
        cr_assert_eq(test_image_create(store, ref, &l, 1, "{\"Cmd\":[\"sh\"]}", NULL), 0);
        _cleanup_free_ char *out = NULL;
        cr_assert_geq(asprintf(&out, "%s/copy", store_dir), 0);
        cr_assert_eq(test_sh("skopeo copy -q oci:%s:%s dir:%s", store->layout, ref, out), 0);
        _cleanup_free_ char *manifest = read_text(out, "manifest.json");
        cr_assert(strstr(manifest, MEDIA_OCI_LAYER_GZIP), "%s", manifest);
        cr_assert_eq(test_sh("umoci ls --layout %s | grep -qxF '%s'", store->layout, ref), 0);
}

/* Layer unpacking. Each test gets <tmp>/root to unpack into and <tmp>/outside beside it,
 * with a file that no layer may touch. */

static char *up_dir, *up_root, *up_outside;

static void unpack_setup(void)
{
        up_dir = test_tmpdir();
        cr_assert_not_null(up_dir);
        cr_assert_geq(asprintf(&up_root, "%s/root", up_dir), 0);
        cr_assert_geq(asprintf(&up_outside, "%s/outside", up_dir), 0);
        cr_assert_eq(mkdir(up_root, 0755), 0);
        cr_assert_eq(mkdir(up_outside, 0755), 0);
        _cleanup_free_ char *secret = NULL;
        cr_assert_geq(asprintf(&secret, "%s/secret", up_outside), 0);
        cr_assert_eq(test_write_file(secret, "keep", 4), 0);
}

static void unpack_teardown(void)
{
        test_rmdir(up_dir);
        free(up_dir);
        free(up_root);
        free(up_outside);
}

/* Unpacks entries into up_root; checks the diff id on success. */
static int unpack_entries(const struct test_tar_entry *e, size_t n, char compression,
                          struct qerr **err)
{
        _cleanup_free_ void *plain = NULL, *packed = NULL;
        size_t plain_len = 0, packed_len = 0;
        cr_assert_eq(test_tar_build(e, n, 0, &plain, &plain_len), 0);
        cr_assert_eq(test_tar_build(e, n, compression, &packed, &packed_len), 0);
        _cleanup_free_ char *blob = NULL;
        cr_assert_geq(asprintf(&blob, "%s/layer.blob", up_dir), 0);
        cr_assert_eq(test_write_file(blob, packed, packed_len), 0);
        int fd = open(blob, O_RDONLY | O_CLOEXEC);
        cr_assert_geq(fd, 0);
        char diff_id[72], want[72];
        struct unpack_stats st = { 0 };
        int r = image_unpack_layer(fd, up_root, diff_id, &st, err);
        close(fd);
        if (r == 0) {
                cr_assert_eq(sha256_digest_of(plain, plain_len, want, NULL), 0);
                cr_assert_str_eq(diff_id, want, "diff id is not the digest of the plain tar");
                cr_assert_eq(st.tar_bytes, plain_len);
                cr_assert_eq(st.blob_bytes, packed_len);
                cr_assert_eq(st.entries, n);
        }
        return r;
}

static void assert_outside_untouched(void)
{
        cr_assert_eq(count_dir_entries(up_outside), 1, "something was written outside the root");
        _cleanup_free_ char *secret = read_text(up_outside, "secret");
        cr_assert_str_eq(secret, "keep");
        cr_assert_eq(count_dir_entries(up_dir), 3, "something was written beside the root");
}

static void assert_lstat(const char *rel, mode_t type, mode_t perm)
{
        _cleanup_free_ char *p = NULL;
        cr_assert_geq(asprintf(&p, "%s/%s", up_root, rel), 0);
        struct stat st;
        cr_assert_eq(lstat(p, &st), 0, "'%s' is missing", rel);
        cr_assert_eq(st.st_mode & S_IFMT, type, "'%s' has type 0%o", rel, st.st_mode & S_IFMT);
        if (perm)
                cr_assert_eq(st.st_mode & 07777, perm, "'%s' has mode 0%o", rel,
                             st.st_mode & 07777);
}

static const struct test_tar_entry tree_layer[] = {
        { .type = TE_DIR, .path = "./" },
        { .type = TE_DIR, .path = "./etc", .mode = 0750 },
        { .type = TE_FILE, .path = "./etc/hostname", .data = "box\n", .mode = 0640 },
        { .type = TE_FILE, .path = "usr/bin/tool", .data = "#!/bin/sh\n", .mode = 04755 },
        { .type = TE_SYMLINK, .path = "usr/bin/alias", .data = "tool" },
        { .type = TE_SYMLINK, .path = "abs", .data = "/etc/passwd" },
        { .type = TE_HARDLINK, .path = "usr/bin/tool2", .data = "usr/bin/tool" },
        { .type = TE_FIFO, .path = "run/fifo", .mode = 0600 },
        { .type = TE_DIR, .path = "ro", .mode = 0555 },
        { .type = TE_FILE,
          .path = "ro/f",
          .data = "x",
          .xattr_name = "user.qoslet",
          .xattr_value = "v1" },
        { .type = TE_FILE, .path = "etc/hostname", .data = "replaced\n", .mode = 0644 },
};

static void check_tree(void)
{
        assert_lstat("etc", S_IFDIR, 0750);
        assert_lstat("etc/hostname", S_IFREG, 0644);
        _cleanup_free_ char *etc = NULL, *host = NULL, *tool = NULL, *tool2 = NULL;
        cr_assert_geq(asprintf(&etc, "%s/etc", up_root), 0);
        host = read_text(etc, "hostname");
        cr_assert_str_eq(host, "replaced\n");
        assert_lstat("usr/bin/tool", S_IFREG, 04755);
        assert_lstat("usr/bin/alias", S_IFLNK, 0);
        assert_lstat("abs", S_IFLNK, 0);
        assert_lstat("run/fifo", S_IFIFO, 0600);
        assert_lstat("ro", S_IFDIR, 0555);
        assert_lstat("ro/f", S_IFREG, 0644);
        cr_assert_geq(asprintf(&tool, "%s/usr/bin/tool", up_root), 0);
        cr_assert_geq(asprintf(&tool2, "%s/usr/bin/tool2", up_root), 0);
        struct stat a, b;
        cr_assert_eq(stat(tool, &a), 0);
        cr_assert_eq(stat(tool2, &b), 0);
        cr_assert_eq(a.st_ino, b.st_ino, "the hard link is a copy");
        cr_assert_eq(a.st_mtime, 1700000000);
        char target[64] = { 0 };
        _cleanup_free_ char *abs = NULL;
        cr_assert_geq(asprintf(&abs, "%s/abs", up_root), 0);
        cr_assert_gt(readlink(abs, target, sizeof(target) - 1), 0);
        cr_assert_str_eq(target, "/etc/passwd");
        _cleanup_free_ char *ro = NULL;
        cr_assert_geq(asprintf(&ro, "%s/ro/f", up_root), 0);
        char v[8] = { 0 };
        ssize_t n = getxattr(ro, "user.qoslet", v, sizeof(v) - 1);
        if (n < 0 && errno == ENOTSUP)
                return;
        cr_assert_eq(n, 2, "xattr not kept");
        cr_assert_str_eq(v, "v1");
}

Test(image_unpack, tree_gzip, .init = unpack_setup, .fini = unpack_teardown)
{
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(unpack_entries(tree_layer, ELEMENTSOF(tree_layer), 'g', &e), 0, "%s",
                     qerr_msg(e));
        check_tree();
        assert_outside_untouched();
}

Test(image_unpack, tree_plain, .init = unpack_setup, .fini = unpack_teardown)
{
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(unpack_entries(tree_layer, ELEMENTSOF(tree_layer), 0, &e), 0, "%s",
                     qerr_msg(e));
        check_tree();
}

Test(image_unpack, tree_zstd, .init = unpack_setup, .fini = unpack_teardown)
{
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(unpack_entries(tree_layer, ELEMENTSOF(tree_layer), 'z', &e), 0, "%s",
                     qerr_msg(e));
        check_tree();
}

struct evil_case {
        const char *what;
        struct test_tar_entry e[3];
        size_t n;
        const char *msg_part;
};

static const struct evil_case evil_layers[] = {
        { "dotdot", { { .type = TE_FILE, .path = "../outside/evil", .data = "x" } }, 1, "'..'" },
        { "dotdot deep",
          { { .type = TE_FILE, .path = "a/b/../../../outside/evil", .data = "x" } },
          1,
          "'..'" },
        { "absolute",
          { { .type = TE_FILE, .path = "/tmp/qoslet-evil", .data = "x" } },
          1,
          "absolute" },
        { "symlink dir escape",
          { { .type = TE_SYMLINK, .path = "link", .data = "../outside" },
            { .type = TE_FILE, .path = "link/evil", .data = "x" } },
          2,
          "through symlink" },
        { "absolute symlink escape",
          { { .type = TE_SYMLINK, .path = "link", .data = "/tmp" },
            { .type = TE_FILE, .path = "link/qoslet-evil", .data = "x" } },
          2,
          "through symlink" },
        { "symlink in the middle",
          { { .type = TE_DIR, .path = "d" },
            { .type = TE_SYMLINK, .path = "d/up", .data = "../.." },
            { .type = TE_FILE, .path = "d/up/outside/evil", .data = "x" } },
          3,
          "through symlink" },
        { "symlink then directory",
          { { .type = TE_SYMLINK, .path = "link", .data = "../outside" },
            { .type = TE_DIR, .path = "link/sub" } },
          2,
          "through symlink" },
        { "hardlink dotdot",
          { { .type = TE_HARDLINK, .path = "stolen", .data = "../outside/secret" } },
          1,
          "'..'" },
        { "hardlink absolute",
          { { .type = TE_HARDLINK, .path = "stolen", .data = "/etc/passwd" } },
          1,
          "absolute" },
        { "hardlink through symlink",
          { { .type = TE_SYMLINK, .path = "link", .data = "../outside" },
            { .type = TE_HARDLINK, .path = "stolen", .data = "link/secret" } },
          2,
          "through symlink" },
        { "whiteout dotdot", { { .type = TE_FILE, .path = "a/.wh..." } }, 1, "whiteout" },
        /* Found by hack/fuzz/fuzz-unpack.c: an empty link name reached symlinkat() as NULL. */
        { "symlink without target", { { .type = TE_SYMLINK, .path = "alias" } }, 1, "no target" },
        { "symlink to empty",
          { { .type = TE_SYMLINK, .path = "alias", .data = "" } },
          1,
          "no target" },
};

Test(image_unpack, refuses_escapes, .init = unpack_setup, .fini = unpack_teardown)
{
        for (size_t i = 0; i < ELEMENTSOF(evil_layers); i++) {
                const struct evil_case *c = &evil_layers[i];
                _cleanup_qerr_ struct qerr *e = NULL;
                int r = unpack_entries(c->e, c->n, 'g', &e);
                cr_assert_lt(r, 0, "%s: layer was accepted", c->what);
                cr_assert(strstr(qerr_msg(e), c->msg_part), "%s: message '%s' lacks '%s'", c->what,
                          qerr_msg(e), c->msg_part);
                assert_outside_untouched();
                cr_assert_eq(access("/tmp/qoslet-evil", F_OK), -1, "%s wrote /tmp", c->what);
                cr_assert_eq(rm_rf(up_root, NULL), 0);
                cr_assert_eq(mkdir(up_root, 0755), 0);
        }
}

Test(image_unpack, replaces_symlink_without_following, .init = unpack_setup,
     .fini = unpack_teardown)
{
        _cleanup_free_ char *target = NULL;
        cr_assert_geq(asprintf(&target, "%s/secret", up_outside), 0);
        struct test_tar_entry e[] = {
                { .type = TE_SYMLINK, .path = "f", .data = target },
                { .type = TE_FILE, .path = "f", .data = "new" },
                { .type = TE_SYMLINK, .path = "g", .data = target },
                { .type = TE_HARDLINK, .path = "h", .data = "g" },
        };
        _cleanup_qerr_ struct qerr *err = NULL;
        cr_assert_eq(unpack_entries(e, ELEMENTSOF(e), 0, &err), 0, "%s", qerr_msg(err));
        assert_lstat("f", S_IFREG, 0644);
        /* A hard link to a symlink is a second name of the symlink. */
        assert_lstat("h", S_IFLNK, 0);
        assert_outside_untouched();
}

Test(image_unpack, rejects_garbage, .init = unpack_setup, .fini = unpack_teardown)
{
        _cleanup_free_ char *blob = NULL;
        cr_assert_geq(asprintf(&blob, "%s/layer.blob", up_dir), 0);
        char junk[4096];
        memset(junk, 'j', sizeof(junk));
        cr_assert_eq(test_write_file(blob, junk, sizeof(junk)), 0);
        int fd = open(blob, O_RDONLY | O_CLOEXEC);
        char diff_id[72];
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_lt(image_unpack_layer(fd, up_root, diff_id, NULL, &e), 0);
        close(fd);
        cr_assert(strstr(qerr_msg(e), "layer"), "%s", qerr_msg(e));
}

Test(image_unpack, layer_cache_checks_diff_id, .init = store_setup, .fini = store_teardown)
{
        void *tar = NULL;
        size_t len = 0;
        cr_assert_eq(test_tar_build(tree_layer, ELEMENTSOF(tree_layer), 'g', &tar, &len), 0);
        _cleanup_free_ char *digest = NULL;
        cr_assert_eq(image_store_put_blob(store, tar, len, NULL, &digest, NULL), 0);
        free(tar);
        cr_assert_eq(test_tar_build(tree_layer, ELEMENTSOF(tree_layer), 0, &tar, &len), 0);
        char diff_id[72];
        cr_assert_eq(sha256_digest_of(tar, len, diff_id, NULL), 0);
        free(tar);
        struct image_desc layer = { MEDIA_OCI_LAYER_GZIP, digest, (int64_t)len };

        _cleanup_qerr_ struct qerr *e = NULL;
        char *path = NULL;
        cr_assert_eq(image_layer_ensure(store, &layer, D64, &path, NULL, &e), -EBADMSG);
        cr_assert(strstr(qerr_msg(e), "the image says"), "%s", qerr_msg(e));
        cr_assert_eq(count_dir_entries(store->layers), 1, "a refused layer stayed");

        struct unpack_stats st;
        cr_assert_eq(image_layer_ensure(store, &layer, diff_id, &path, &st, NULL), 0);
        cr_assert_gt(st.entries, 0);
        _cleanup_free_ char *want = NULL;
        cr_assert_geq(asprintf(&want, "%s/sha256/%s", store->layers, digest_hex(diff_id)), 0);
        cr_assert_str_eq(path, want);
        free(path);
        /* In the cache now: nothing is unpacked again. */
        cr_assert_eq(image_layer_ensure(store, &layer, diff_id, &path, &st, NULL), 0);
        cr_assert_eq(st.entries, 0);
        free(path);
}

/* Import. */

static const char *busybox_config = "{\"Cmd\":[\"sh\",\"-c\",\"sleep 3600\"],"
                                    "\"Env\":[\"PATH=/bin\"],\"WorkingDir\":\"/tmp\","
                                    "\"StopSignal\":\"SIGINT\"}";

/* Makes an oci-archive of a busybox image with skopeo; returns its path. */
static char *make_oci_archive(const char *name_in_archive)
{
        _cleanup_free_ char *src = NULL;
        cr_assert_geq(asprintf(&src, "%s/src", store_dir), 0);
        struct image_store *s = NULL;
        cr_assert_eq(image_store_open(src, &s, NULL), 0);
        struct test_layer l = { busybox_layer, ELEMENTSOF(busybox_layer), 'g' };
        cr_assert_eq(test_image_create(s, "tmp/busybox:src", &l, 1, busybox_config, NULL), 0);
        char *archive = NULL;
        cr_assert_geq(asprintf(&archive, "%s/busybox-oci.tar", store_dir), 0);
        cr_assert_eq(test_sh("skopeo copy -q oci:%s:tmp/busybox:src oci-archive:%s:%s", s->layout,
                             archive, name_in_archive),
                     0);
        image_store_free(s);
        return archive;
}

static void check_busybox_image(const char *ref)
{
        _cleanup_image_manifest_ struct image_manifest *m = NULL;
        _cleanup_image_config_ struct image_config *c = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(image_store_load(store, ref, &m, &c, &e), 0, "%s", qerr_msg(e));
        cr_assert_eq(m->n_layers, 1);
        cr_assert_str_eq(c->cmd[2], "sleep 3600");
        cr_assert_str_eq(c->working_dir, "/tmp");
        _cleanup_strv_free_ char **dirs = NULL;
        size_t n = 0;
        cr_assert_eq(image_store_unpack(store, ref, &dirs, &n, &e), 0, "%s", qerr_msg(e));
        cr_assert_eq(n, 1);
        _cleanup_free_ char *sh = NULL, *bb = NULL;
        cr_assert_geq(asprintf(&sh, "%s/bin/sh", dirs[0]), 0);
        cr_assert_geq(asprintf(&bb, "%s/bin/busybox", dirs[0]), 0);
        struct stat a, b;
        cr_assert_eq(stat(bb, &b), 0);
        cr_assert_eq(stat("/bin/busybox", &a), 0);
        cr_assert_eq(a.st_size, b.st_size);
        cr_assert_eq(b.st_mode & 0777, 0755);
        cr_assert_eq(stat(sh, &a), 0, "bin/sh does not lead to busybox");
        cr_assert_eq(a.st_ino, b.st_ino);
}

Test(image_import, oci_archive_from_skopeo, .init = store_setup, .fini = store_teardown)
{
        if (!test_have_program("skopeo"))
                cr_skip_test("skopeo is not installed (hack/install-deps.sh)");
        _cleanup_free_ char *archive = make_oci_archive("busybox:1.35");
        _cleanup_strv_free_ char **refs = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(image_import(store, archive, NULL, &refs, &e), 0, "%s", qerr_msg(e));
        cr_assert_str_eq(refs[0], "docker.io/library/busybox:1.35");
        cr_assert_null(refs[1]);
        check_busybox_image("docker.io/library/busybox:1.35");

        /* The same archive under a name given by the caller. */
        _cleanup_strv_free_ char **refs2 = NULL;
        cr_assert_eq(image_import(store, archive, "127.0.0.1:5000/tools/bb:v2", &refs2, &e), 0,
                     "%s", qerr_msg(e));
        cr_assert_str_eq(refs2[0], "127.0.0.1:5000/tools/bb:v2");
        check_busybox_image("127.0.0.1:5000/tools/bb:v2");
        cr_assert_eq(count_dir_entries(store->ingest), 0);
}

/* A docker save archive as docker 1.10 to 24 write it: <id>/layer.tar, <id>.json config,
 * manifest.json; the second image's layer is a symlink to the first's, as docker dedupes. */
Test(image_import, docker_save_archive, .init = store_setup, .fini = store_teardown)
{
        _cleanup_free_ void *layer = NULL;
        size_t layer_len = 0;
        cr_assert_eq(
                test_tar_build(busybox_layer, ELEMENTSOF(busybox_layer), 0, &layer, &layer_len), 0);
        char diff_id[72];
        cr_assert_eq(sha256_digest_of(layer, layer_len, diff_id, NULL), 0);
        _cleanup_free_ char *layer_file = NULL, *cfg = NULL, *manifest = NULL, *archive = NULL;
        cr_assert_geq(asprintf(&layer_file, "%s/layer.tar", store_dir), 0);
        cr_assert_eq(test_write_file(layer_file, layer, layer_len), 0);
        cr_assert_geq(asprintf(&cfg,
                               "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":%s,"
                               "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
                               busybox_config, diff_id),
                      0);
        cr_assert_geq(asprintf(&manifest,
                               "[{\"Config\":\"cfg1.json\",\"RepoTags\":[\"busybox:1.35\","
                               "\"example.com/bb:x\"],\"Layers\":[\"aaa/layer.tar\"]},"
                               "{\"Config\":\"cfg1.json\",\"RepoTags\":[\"other:1\"],"
                               "\"Layers\":[\"bbb/layer.tar\"]}]"),
                      0);
        const struct test_tar_entry e[] = {
                { .type = TE_DIR, .path = "aaa" },
                { .type = TE_FILE, .path = "aaa/layer.tar", .src_file = layer_file },
                { .type = TE_FILE, .path = "aaa/VERSION", .data = "1.0" },
                { .type = TE_DIR, .path = "bbb" },
                { .type = TE_SYMLINK, .path = "bbb/layer.tar", .data = "../aaa/layer.tar" },
                { .type = TE_FILE, .path = "cfg1.json", .data = cfg },
                { .type = TE_FILE, .path = "manifest.json", .data = manifest },
                { .type = TE_FILE, .path = "repositories", .data = "{}" },
        };
        _cleanup_free_ void *tar = NULL;
        size_t len = 0;
        cr_assert_eq(test_tar_build(e, ELEMENTSOF(e), 'g', &tar, &len), 0);
        cr_assert_geq(asprintf(&archive, "%s/saved.tar.gz", store_dir), 0);
        cr_assert_eq(test_write_file(archive, tar, len), 0);

        _cleanup_strv_free_ char **refs = NULL;
        _cleanup_qerr_ struct qerr *err = NULL;
        cr_assert_eq(image_import(store, archive, NULL, &refs, &err), 0, "%s", qerr_msg(err));
        cr_assert_str_eq(refs[0], "docker.io/library/busybox:1.35");
        cr_assert_str_eq(refs[1], "example.com/bb:x");
        cr_assert_str_eq(refs[2], "docker.io/library/other:1");
        cr_assert_null(refs[3]);
        check_busybox_image("example.com/bb:x");
        check_busybox_image("docker.io/library/other:1");
        /* Two images with a name for one: refused. */
        cr_assert_eq(image_import(store, archive, "x:1", NULL, NULL), -EINVAL);
}

/* An OCI archive by hand, whose blob does not match its name, or that lacks a layer. */
static char *make_bad_oci_archive(bool corrupt)
{
        const char *cfg = "{\"rootfs\":{\"diff_ids\":[]}}";
        char cfg_digest[72];
        cr_assert_eq(sha256_digest_of(cfg, strlen(cfg), cfg_digest, NULL), 0);
        _cleanup_free_ char *manifest = NULL, *index = NULL, *cfg_path = NULL;
        cr_assert_geq(asprintf(&manifest,
                               "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"%s\","
                               "\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":\"%s\","
                               "\"digest\":\"%s\",\"size\":3}]}",
                               MEDIA_OCI_CONFIG, cfg_digest, strlen(cfg), MEDIA_OCI_LAYER, D64),
                      0);
        char m_digest[72];
        cr_assert_eq(sha256_digest_of(manifest, strlen(manifest), m_digest, NULL), 0);
        cr_assert_geq(asprintf(&index,
                               "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"%s\","
                               "\"digest\":\"%s\",\"size\":%zu,\"annotations\":{\"%s\":"
                               "\"bad:1\"}}]}",
                               MEDIA_OCI_MANIFEST, m_digest, strlen(manifest),
                               OCI_REF_NAME_ANNOTATION),
                      0);
        _cleanup_free_ char *mpath = NULL;
        cr_assert_geq(asprintf(&cfg_path, "blobs/sha256/%s", digest_hex(cfg_digest)), 0);
        cr_assert_geq(asprintf(&mpath, "blobs/sha256/%s", digest_hex(m_digest)), 0);
        const struct test_tar_entry e[] = {
                { .type = TE_FILE,
                  .path = "oci-layout",
                  .data = "{\"imageLayoutVersion\":\"1.0.0\"}" },
                { .type = TE_FILE, .path = "index.json", .data = index },
                { .type = TE_FILE, .path = mpath, .data = manifest },
                { .type = TE_FILE, .path = cfg_path, .data = corrupt ? "{\"evil\":1}" : cfg },
        };
        _cleanup_free_ void *tar = NULL;
        size_t len = 0;
        cr_assert_eq(test_tar_build(e, ELEMENTSOF(e), 0, &tar, &len), 0);
        char *archive = NULL;
        cr_assert_geq(asprintf(&archive, "%s/bad.tar", store_dir), 0);
        cr_assert_eq(test_write_file(archive, tar, len), 0);
        return archive;
}

Test(image_import, refuses_corrupt_and_incomplete, .init = store_setup, .fini = store_teardown)
{
        _cleanup_free_ char *corrupt = make_bad_oci_archive(true);
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(image_import(store, corrupt, NULL, NULL, &e), -EBADMSG);
        cr_assert(strstr(qerr_msg(e), "digest mismatch"), "%s", qerr_msg(e));
        qerr_free(e);
        e = NULL;
        _cleanup_free_ char *incomplete = make_bad_oci_archive(false);
        cr_assert_eq(image_import(store, incomplete, NULL, NULL, &e), -ENOENT);
        cr_assert(strstr(qerr_msg(e), "layer blob '" D64 "' is missing"), "%s", qerr_msg(e));
        struct image_entry *v = NULL;
        size_t n = 99;
        cr_assert_eq(image_store_list(store, &v, &n, NULL), 0);
        cr_assert_eq(n, 0, "a refused archive was named in the store");
        image_entries_free(v, n);
        qerr_free(e);
        e = NULL;
        cr_assert_eq(image_import(store, "/etc/hostname", NULL, NULL, &e), -EBADMSG);
}

/* Image config. */

Test(image_config, fields_and_argv)
{
        const char *j = "{\"os\":\"linux\",\"architecture\":\"amd64\",\"config\":{"
                        "\"Entrypoint\":[\"/entry\",\"-x\"],\"Cmd\":[\"serve\"],"
                        "\"Env\":[\"A=1\",\"B=2\"],\"WorkingDir\":\"/srv\",\"User\":\"1000:1000\","
                        "\"StopSignal\":\"SIGQUIT\"},\"rootfs\":{\"type\":\"layers\","
                        "\"diff_ids\":[\"" D64 "\"]}}";
        _cleanup_image_config_ struct image_config *c = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(image_config_parse(j, strlen(j), &c, &e), 0, "%s", qerr_msg(e));
        cr_assert_str_eq(c->entrypoint[1], "-x");
        cr_assert_null(c->entrypoint[2]);
        cr_assert_str_eq(c->env[1], "B=2");
        cr_assert_str_eq(c->working_dir, "/srv");
        cr_assert_str_eq(c->user, "1000:1000");
        cr_assert_str_eq(c->stop_signal, "SIGQUIT");
        cr_assert_eq(c->n_diff_ids, 1);

        struct {
                char *command[3], *args[3];
                const char *want;
        } cases[] = {
                { { NULL }, { NULL }, "/entry -x serve" },
                { { NULL }, { "a", "b", NULL }, "/entry -x a b" },
                { { "/bin/sh", NULL }, { NULL }, "/bin/sh" },
                { { "/bin/sh", NULL }, { "-c", "true", NULL }, "/bin/sh -c true" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_strv_free_ char **argv = NULL;
                cr_assert_eq(image_config_argv(c, cases[i].command, cases[i].args, &argv, NULL), 0);
                _cleanup_strbuf_ struct strbuf sb = { 0 };
                STRV_FOREACH (a, argv)
                        strbuf_printf(&sb, "%s%s", sb.len ? " " : "", *a);
                cr_assert_str_eq(sb.buf, cases[i].want, "case %zu", i);
        }
}

Test(image_config, empty_and_bad)
{
        const char *j = "{\"config\":{\"Cmd\":null}}";
        _cleanup_image_config_ struct image_config *c = NULL;
        cr_assert_eq(image_config_parse(j, strlen(j), &c, NULL), 0);
        cr_assert_null(c->cmd);
        cr_assert_null(c->stop_signal);
        char **argv = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(image_config_argv(c, NULL, NULL, &argv, &e), -EINVAL);
        cr_assert(strstr(qerr_msg(e), "no command"));
        const char *bad[] = { "{\"config\":{\"Cmd\":\"sh\"}}", "{\"config\":{\"Env\":[1]}}",
                              "{\"rootfs\":{\"diff_ids\":[\"sha256:x\"]}}", "[" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct image_config *x = NULL;
                cr_assert_eq(image_config_parse(bad[i], strlen(bad[i]), &x, NULL), -EBADMSG,
                             "'%s' accepted", bad[i]);
        }
}

Test(image_manifest, index_selects_platform)
{
        const char *idx =
                "{\"schemaVersion\":2,\"manifests\":["
                "{\"mediaType\":\"" MEDIA_OCI_MANIFEST "\",\"digest\":\"" D64 "\","
                "\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}},"
                "{\"mediaType\":\"" MEDIA_OCI_MANIFEST "\",\"digest\":\"sha256:"
                "1111111111111111111111111111111111111111111111111111111111111111\","
                "\"size\":2,\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}";
        struct image_desc d = { 0 };
        cr_assert_eq(image_index_select(idx, strlen(idx), "linux", "amd64", &d, NULL), 0);
        cr_assert_eq(d.size, 2);
        image_desc_done(&d);
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(image_index_select(idx, strlen(idx), "linux", "s390x", &d, &e), -ENOENT);
        cr_assert(strstr(qerr_msg(e), "linux/arm64, linux/amd64"), "%s", qerr_msg(e));
        cr_assert_eq(image_doc_kind(NULL, idx, strlen(idx)), IMAGE_DOC_INDEX);
        cr_assert_eq(image_doc_kind(MEDIA_DOCKER_LIST, NULL, 0), IMAGE_DOC_INDEX);
        cr_assert_eq(image_doc_kind(MEDIA_DOCKER_MANIFEST, NULL, 0), IMAGE_DOC_MANIFEST);
        cr_assert_eq(image_doc_kind("application/json", "{\"config\":{}}", 13), IMAGE_DOC_MANIFEST);
}

/* Registry helpers that need no registry. */

Test(image_registry, parse_challenge)
{
        struct auth_challenge c = { 0 };
        cr_assert_eq(registry_parse_challenge(
                             "Bearer realm=\"https://auth.docker.io/token\",service=\"registry."
                             "docker.io\",scope=\"repository:library/busybox:pull,push\"",
                             &c, NULL),
                     0);
        cr_assert_str_eq(c.scheme, "Bearer");
        cr_assert_str_eq(c.realm, "https://auth.docker.io/token");
        cr_assert_str_eq(c.service, "registry.docker.io");
        cr_assert_str_eq(c.scope, "repository:library/busybox:pull,push");
        auth_challenge_done(&c);

        cr_assert_eq(
                registry_parse_challenge("Basic realm=\"a \\\"b\\\"\", charset=UTF-8", &c, NULL),
                0);
        cr_assert_str_eq(c.scheme, "Basic");
        cr_assert_str_eq(c.realm, "a \"b\"");
        cr_assert_null(c.service);
        auth_challenge_done(&c);

        cr_assert_eq(registry_parse_challenge("Bearer realm=x,scope", &c, NULL), -EBADMSG);
        cr_assert_eq(registry_parse_challenge("Bearer realm=\"unterminated", &c, NULL), -EBADMSG);
        cr_assert_eq(registry_parse_challenge("", &c, NULL), -EBADMSG);
}

Test(image_registry, credentials_from_config_json, .init = store_setup, .fini = store_teardown)
{
        _cleanup_free_ char *p = NULL;
        cr_assert_geq(asprintf(&p, "%s/config.json", store_dir), 0);
        const char *j = "{\"auths\":{"
                        "\"https://index.docker.io/v1/\":{\"auth\":\"aHViOnB3\"},"
                        "\"quay.io\":{\"username\":\"q\",\"password\":\"p:w\"},"
                        "\"http://127.0.0.1:5000\":{\"auth\":\"dTphOmI=\"},"
                        "\"bad.example\":{\"auth\":\"!!!\"}}}";
        cr_assert_eq(test_write_file(p, j, strlen(j)), 0);
        struct {
                const char *domain, *user, *password;
        } cases[] = {
                { "docker.io", "hub", "pw" },
                { "quay.io", "q", "p:w" },
                { "127.0.0.1:5000", "u", "a:b" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *u = NULL, *pw = NULL;
                _cleanup_qerr_ struct qerr *e = NULL;
                cr_assert_eq(registry_find_credentials(p, cases[i].domain, &u, &pw, &e), 1,
                             "%s: %s", cases[i].domain, qerr_msg(e));
                cr_assert_str_eq(u, cases[i].user);
                cr_assert_str_eq(pw, cases[i].password);
        }
        char *u = NULL, *pw = NULL;
        cr_assert_eq(registry_find_credentials(p, "ghcr.io", &u, &pw, NULL), 0);
        cr_assert_eq(registry_find_credentials(p, "127.0.0.1", &u, &pw, NULL), 0);
        cr_assert_eq(registry_find_credentials(p, "bad.example", &u, &pw, NULL), -EBADMSG);
        cr_assert_eq(
                registry_find_credentials("/nonexistent/config.json", "quay.io", &u, &pw, NULL), 0);
        cr_assert_null(u);
        char *insecure[] = { "127.0.0.1:5000", "reg.local", NULL };
        cr_assert(registry_is_insecure(insecure, "reg.local"));
        cr_assert(!registry_is_insecure(insecure, "127.0.0.1"));
        cr_assert(!registry_is_insecure(NULL, "reg.local"));
}

/* The command line over the same store. */

Test(image_qosctl, import_then_images, .init = store_setup, .fini = store_teardown)
{
        if (!test_have_program("skopeo"))
                cr_skip_test("skopeo is not installed (hack/install-deps.sh)");
        _cleanup_free_ char *archive = make_oci_archive("busybox:1.35");
        _cleanup_free_ char *qosctl = test_program_path("qosctl");
        _cleanup_free_ char *cmd = NULL, *out = NULL, *cmd2 = NULL, *out2 = NULL;
        cr_assert_geq(asprintf(&cmd, "%s import --root-dir %s %s 2>&1", qosctl, store_dir, archive),
                      0);
        cr_assert_eq(test_run_capture(cmd, &out), 0, "%s", out);
        cr_assert_str_eq(out, "imported docker.io/library/busybox:1.35\n");
        cr_assert_geq(asprintf(&cmd2, "%s images --root-dir %s -o json", qosctl, store_dir), 0);
        cr_assert_eq(test_run_capture(cmd2, &out2), 0, "%s", out2);
        json_t *j = json_loads(out2, 0, NULL);
        cr_assert_not_null(j, "%s", out2);
        json_t *img = json_array_get(json_object_get(j, "images"), 0);
        cr_assert_str_eq(json_string_value(json_object_get(img, "ref")),
                         "docker.io/library/busybox:1.35");
        cr_assert_gt(json_integer_value(json_object_get(img, "size")), 900000);
        json_decref(j);

        _cleanup_free_ char *bad = NULL, *bad_out = NULL;
        cr_assert_geq(
                asprintf(&bad, "%s import --root-dir %s /etc/hostname 2>&1", qosctl, store_dir), 0);
        cr_assert_eq(test_run_capture(bad, &bad_out), 1);
        cr_assert(strstr(bad_out, "open archive '/etc/hostname'"), "%s", bad_out);
}
