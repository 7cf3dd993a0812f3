/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>

#include "basic/fileio.h"
#include "helpers/image-helpers.h"
#include "image/digest.h"
#include "image/reference.h"
#include "image/store.h"

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
