/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <string.h>

#include "image/reference.h"

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
