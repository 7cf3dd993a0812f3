/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/fileio.h"
#include "ns/etcfiles.h"
#include "ns/paths.h"
#include "ns/hostname.h"

static char *hostname_of(const char *name, const char *spec)
{
        char *h = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        int r = pod_hostname(name, spec, &h, &e);
        cr_assert_eq(r, 0, "pod_hostname: %s", qerr_msg(e));
        return h;
}

static char *repeat(char c, size_t n, const char *tail)
{
        char *s = malloc(n + strlen(tail) + 1);
        memset(s, c, n);
        strcpy(s + n, tail);
        return s;
}

Test(ns, hostname_63_unchanged)
{
        _cleanup_free_ char *name = repeat('a', 63, "");
        _cleanup_free_ char *h = hostname_of(name, NULL);
        cr_assert_str_eq(h, name);
}

Test(ns, hostname_64_cut)
{
        _cleanup_free_ char *name = repeat('a', 64, "");
        _cleanup_free_ char *h = hostname_of(name, NULL);
        cr_assert_eq(strlen(h), 63);
        cr_assert_eq(strncmp(h, name, 63), 0);
}

Test(ns, hostname_cut_strips_dash)
{
        _cleanup_free_ char *name = repeat('a', 62, "-bcdefg");
        cr_assert_eq(strlen(name), 69);
        _cleanup_free_ char *h = hostname_of(name, NULL);
        cr_assert_eq(strlen(h), 62);
        cr_assert_eq(h[61], 'a');
}

Test(ns, hostname_cut_strips_dot_and_dash)
{
        _cleanup_free_ char *name = repeat('a', 61, ".-x");
        _cleanup_free_ char *h = hostname_of(name, NULL);
        cr_assert_eq(strlen(h), 61);
        cr_assert_eq(strspn(h, "a"), 61);
}

Test(ns, hostname_70_chars_no_trailing_dash)
{
        /* A static pod name with its node suffix, cut where a dash falls at 63. */
        _cleanup_free_ char *name = repeat('w', 62, "-node-12");
        cr_assert_eq(strlen(name), 70);
        _cleanup_free_ char *h = hostname_of(name, NULL);
        cr_assert_eq(strlen(h), 62);
        cr_assert_neq(h[strlen(h) - 1], '-');
}

Test(ns, hostname_spec_wins)
{
        _cleanup_free_ char *h = hostname_of("web-node1", "frontend");
        cr_assert_str_eq(h, "frontend");
        _cleanup_free_ char *h2 = hostname_of("web-node1", "");
        cr_assert_str_eq(h2, "web-node1");
}

Test(ns, hostname_all_dashes_is_error)
{
        _cleanup_free_ char *name = repeat('-', 70, "");
        char *h = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(pod_hostname(name, NULL, &h, &e), -EINVAL);
        cr_assert_null(h);
        cr_assert_not_null(e);
}

static const char hosts_head[] = "# Kubernetes-managed hosts file.\n"
                                 "127.0.0.1\tlocalhost\n"
                                 "::1\tlocalhost ip6-localhost ip6-loopback\n"
                                 "fe00::0\tip6-localnet\n"
                                 "fe00::0\tip6-mcastprefix\n"
                                 "fe00::1\tip6-allnodes\n"
                                 "fe00::2\tip6-allrouters\n";

Test(ns, hosts_file_plain)
{
        _cleanup_free_ char *s = hosts_file_content("127.0.0.1", "web", NULL, 0);
        _cleanup_free_ char *want = NULL;
        cr_assert(asprintf(&want, "%s127.0.0.1\tweb\n", hosts_head) > 0);
        cr_assert_str_eq(s, want);
}

Test(ns, hosts_file_aliases)
{
        char *n1[] = { "foo.local", "bar.local", NULL };
        char *n2[] = { "foo.remote", NULL };
        struct host_alias a[] = { { "127.0.0.1", n1 }, { "10.1.2.3", n2 } };
        _cleanup_free_ char *s = hosts_file_content("127.0.0.1", "web", a, 2);
        _cleanup_free_ char *want = NULL;
        cr_assert(asprintf(&want,
                           "%s127.0.0.1\tweb\n\n# Entries added by HostAliases.\n"
                           "127.0.0.1\tfoo.local\tbar.local\n10.1.2.3\tfoo.remote\n",
                           hosts_head) > 0);
        cr_assert_str_eq(s, want);
}

Test(ns, host_network_hosts_keeps_node_file)
{
        char *n1[] = { "x", NULL };
        struct host_alias a[] = { { "1.2.3.4", n1 } };
        _cleanup_free_ char *s = host_network_hosts_content("127.0.0.1 localhost", a, 1);
        cr_assert_str_eq(s, "127.0.0.1 localhost\n\n# Entries added by HostAliases.\n1.2.3.4\tx\n");
}

Test(ns, etc_files_written)
{
        char dir[] = "/tmp/qoslet-test-etc-XXXXXX";
        cr_assert_not_null(mkdtemp(dir));
        char src[PATH_MAX];
        snprintf(src, sizeof(src), "%s/src", dir);
        cr_assert_eq(write_file_atomic(src, "nameserver 9.9.9.9\n", 19, 0644, NULL), 0);
        struct pod_etc_files f = { .hosts = "h\n", .hostname = "web", .resolv_conf_source = src };
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(pod_etc_files_write(dir, &f, &e), 0, "%s", qerr_msg(e));
        const char *names[] = { "hosts", "hostname", "resolv.conf" };
        const char *want[] = { "h\n", "web\n", "nameserver 9.9.9.9\n" };
        for (size_t i = 0; i < 3; i++) {
                _cleanup_free_ char *p = path_join(dir, names[i]);
                _cleanup_free_ char *buf = NULL;
                cr_assert_eq(read_full_file(p, 4096, &buf, NULL, NULL), 0);
                cr_assert_str_eq(buf, want[i]);
        }
        cr_assert_eq(rm_rf(dir, NULL), 0);
        cr_assert_eq(access(dir, F_OK), -1);
}

Test(ns, path_join_slashes)
{
        _cleanup_free_ char *a = path_join("/a/", "/b");
        _cleanup_free_ char *b = path_join("/", "etc");
        cr_assert_str_eq(a, "/a/b");
        cr_assert_str_eq(b, "/etc");
}

/* A volume beside a directory it must not reach: dir/vol and dir/outside. */
struct beneath_fx {
        char dir[64];
        char *vol, *outside;
};

static void beneath_setup(struct beneath_fx *f)
{
        snprintf(f->dir, sizeof(f->dir), "/tmp/qoslet-test-beneath-XXXXXX");
        cr_assert_not_null(mkdtemp(f->dir));
        f->vol = path_join(f->dir, "vol");
        f->outside = path_join(f->dir, "outside");
        cr_assert_eq(mkdir(f->vol, 0755), 0);
        cr_assert_eq(mkdir(f->outside, 0755), 0);
}

static void beneath_done(struct beneath_fx *f)
{
        cr_assert_eq(rm_rf(f->dir, NULL), 0);
        free(f->vol);
        free(f->outside);
}

static void plant_symlink(const struct beneath_fx *f, const char *name, const char *target)
{
        _cleanup_free_ char *p = path_join(f->vol, name);
        cr_assert_eq(symlink(target, p), 0, "symlink '%s': %m", p);
}

Test(ns, resolve_beneath_creates_and_resolves)
{
        struct beneath_fx f;
        beneath_setup(&f);
        _cleanup_free_ char *got = NULL, *want = NULL, *via = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(path_resolve_beneath(f.vol, "a/./b//c", true, &got, &e), 0, "%s", qerr_msg(e));
        want = path_join(f.vol, "a/b/c");
        cr_assert_str_eq(got, want);
        struct stat st;
        cr_assert_eq(stat(want, &st), 0);
        cr_assert(S_ISDIR(st.st_mode));
        /* A symlink that stays inside is followed; the result has no symlink left. */
        plant_symlink(&f, "in", "a/b");
        cr_assert_eq(path_resolve_beneath(f.vol, "in/c", false, &via, &e), 0, "%s", qerr_msg(e));
        cr_assert_str_eq(via, want);
        beneath_done(&f);
}

Test(ns, resolve_beneath_refuses_escapes)
{
        struct beneath_fx f;
        beneath_setup(&f);
        _cleanup_free_ char *abs_target = path_join(f.outside, "");
        plant_symlink(&f, "up", "../outside");
        plant_symlink(&f, "abs", abs_target);
        plant_symlink(&f, "root", "/");
        static const struct {
                const char *rel;
                int code;
        } cases[] = {
                { "up/made", -EPERM },         { "up/deeper/made", -EPERM },
                { "abs/made", -EPERM },        { "root/tmp", -EPERM },
                { "../outside/made", -EPERM }, { "a/../../outside/made", -EPERM },
                { "/tmp", -EINVAL },           { "up", -EPERM },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *got = NULL;
                _cleanup_qerr_ struct qerr *e = NULL;
                int r = path_resolve_beneath(f.vol, cases[i].rel, true, &got, &e);
                cr_expect_eq(r, cases[i].code, "'%s': %d (%s)", cases[i].rel, r, qerr_msg(e));
                cr_expect_null(got, "'%s' resolved to '%s'", cases[i].rel, got);
                free(got);
        }
        /* Nothing was made outside the volume, not even a directory on the way. */
        _cleanup_(closedirp) DIR *d = opendir(f.outside);
        cr_assert_not_null(d);
        for (struct dirent *de; (de = readdir(d));)
                cr_expect(strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0,
                          "'%s' was made outside the volume", de->d_name);
        cr_expect_eq(access("/tmp/made", F_OK), -1);
        char *missing = NULL;
        cr_expect_eq(path_resolve_beneath(f.vol, "no/such", false, &missing, NULL), -ENOENT);
        beneath_done(&f);
}
