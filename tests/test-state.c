/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "image/fsutil.h"
#include "node/state.h"

/* State on disk under a temporary root dir: round trips, modes, unsafe names, removal that
 * does not follow links. */

static char root[64];

static void setup(void)
{
        snprintf(root, sizeof(root), "/tmp/qoslet-state-XXXXXX");
        cr_assert_not_null(mkdtemp(root));
}

static void teardown(void)
{
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        cr_expect_eq(system(cmd), 0);
}

TestSuite(state, .init = setup, .fini = teardown);

static const char uid[] = "3f2a9c1e0b7d4e5f8a6b1c2d3e4f5a6b";

static struct pod_record sample(void)
{
        static const char manifest[] = "apiVersion: v1\nkind: Pod\n\0binary\xff";
        struct pod_record r = {
                .uid = strdup(uid),
                .name = strdup("web-node1"),
                .namespace = strdup("default"),
                .origin = strdup("/etc/qoslet/manifests/web.yaml"),
                .source_kind = strdup("file"),
                .uid_source = strdup("/etc/qoslet/manifests/web.yaml"),
                .config_hash = strdup(uid),
                .doc_index = 2,
                .item_index = 1,
                .accepted_at = INT64_C(1700000000123456),
                .manifest = malloc(sizeof(manifest)),
                .manifest_len = sizeof(manifest) - 1,
        };
        memcpy(r.manifest, manifest, sizeof(manifest));
        struct container_record *c = pod_record_container(&r, "web", true);
        c->restart_count = 4;
        c->backoff = (struct backoff){ .delay = 40 * USEC_PER_SEC,
                                       .last_update = INT64_C(1700000100000000) };
        cr_assert_not_null(pod_record_container(&r, "sidecar", true));
        return r;
}

/* Mode of <root>/pods/<rel> ("" for the pods dir itself). */
static mode_t mode_of(const char *rel)
{
        char p[256];
        snprintf(p, sizeof(p), "%s/pods/%s", root, rel);
        struct stat st;
        cr_assert_eq(stat(p, &st), 0, "stat '%s'", p);
        return st.st_mode & 07777;
}

Test(state, save_load_round_trip_with_safe_modes)
{
        _cleanup_(pod_record_done) struct pod_record r = sample();
        struct qerr *e = NULL;
        cr_assert_eq(state_save_pod(root, &r, &e), 0, "%s", qerr_msg(e));
        cr_expect_eq(mode_of(""), 0700);
        cr_expect_eq(mode_of(uid), 0700);
        char f[200];
        snprintf(f, sizeof(f), "%s/pod.json", uid);
        cr_expect_eq(mode_of(f), 0600);
        snprintf(f, sizeof(f), "%s/manifest", uid);
        cr_expect_eq(mode_of(f), 0600);

        /* nothing but the two files: no temporary file left behind */
        char dir[200];
        snprintf(dir, sizeof(dir), "%s/pods/%s", root, uid);
        DIR *d = opendir(dir);
        size_t n = 0;
        for (struct dirent *de; (de = readdir(d));)
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        cr_expect_eq(n, 2);

        _cleanup_(pod_record_done) struct pod_record got = { 0 };
        cr_assert_eq(state_load_pod(root, uid, true, &got, &e), 0, "%s", qerr_msg(e));
        cr_expect_str_eq(got.uid, uid);
        cr_expect_str_eq(got.name, "web-node1");
        cr_expect_str_eq(got.namespace, "default");
        cr_expect_str_eq(got.origin, r.origin);
        cr_expect_str_eq(got.source_kind, "file");
        cr_expect_str_eq(got.uid_source, r.uid_source);
        cr_expect_str_eq(got.config_hash, uid);
        cr_expect_eq(got.doc_index, 2);
        cr_expect_eq(got.item_index, 1);
        cr_expect_eq(got.accepted_at, r.accepted_at);
        cr_expect_not(got.stopping);
        cr_assert_eq(got.manifest_len, r.manifest_len);
        cr_expect_eq(memcmp(got.manifest, r.manifest, r.manifest_len), 0);
        cr_assert_eq(got.n_containers, 2);
        const struct container_record *c = pod_record_container(&got, "web", false);
        cr_assert_not_null(c);
        cr_expect_eq(c->restart_count, 4);
        cr_expect_eq(c->backoff.delay, 40 * USEC_PER_SEC);
        cr_expect_eq(c->backoff.last_update, INT64_C(1700000100000000));
        cr_expect_null(pod_record_container(&got, "nope", false));
}

Test(state, overwrite_and_without_manifest)
{
        _cleanup_(pod_record_done) struct pod_record r = sample();
        cr_assert_eq(state_save_pod(root, &r, NULL), 0);
        r.stopping = true;
        pod_record_container(&r, "web", false)->restart_count = 5;
        free(r.manifest);
        r.manifest = NULL; /* the manifest file stays as it was */
        cr_assert_eq(state_save_pod(root, &r, NULL), 0);
        _cleanup_(pod_record_done) struct pod_record got = { 0 };
        cr_assert_eq(state_load_pod(root, uid, false, &got, NULL), 0);
        cr_expect(got.stopping);
        cr_expect_eq(pod_record_container(&got, "web", false)->restart_count, 5);
        cr_expect_null(got.manifest);
        pod_record_done(&got);
        cr_assert_eq(state_load_pod(root, uid, true, &got, NULL), 0);
        cr_expect_not_null(got.manifest);
}

Test(state, unsafe_uids_are_refused)
{
        const char *bad[] = { "", "../../etc", "ABC", "a/b", "a.b", "a b", NULL };
        char long_uid[66];
        memset(long_uid, 'a', 65);
        long_uid[65] = 0;
        bad[ELEMENTSOF(bad) - 1] = long_uid;
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                cr_expect_not(state_uid_is_safe(bad[i]), "'%s'", bad[i]);
                struct pod_record r = { .uid = (char *)bad[i],
                                        .name = (char *)"n",
                                        .namespace = (char *)"default" };
                struct qerr *e = NULL;
                cr_expect_eq(state_save_pod(root, &r, &e), -EINVAL);
                qerr_free(e);
        }
        cr_expect(state_uid_is_safe("0b7ef0c2-5d3a-4a7e-9a5e-1f3c9b2a7d10"));
        cr_expect(state_uid_is_safe(uid));
}

Test(state, list_skips_foreign_names_and_remove_stays_inside)
{
        const char *uids[] = { "bbb", "aaa", "ccc-1" };
        for (size_t i = 0; i < ELEMENTSOF(uids); i++) {
                struct pod_record r = { .uid = (char *)uids[i],
                                        .name = (char *)"n",
                                        .namespace = (char *)"default" };
                cr_assert_eq(state_save_pod(root, &r, NULL), 0);
        }
        char p[256];
        snprintf(p, sizeof(p), "%s/pods/Not_A_Uid", root);
        cr_assert_eq(mkdir(p, 0700), 0);
        snprintf(p, sizeof(p), "%s/pods/stray-file", root);
        FILE *f = fopen(p, "w");
        fclose(f);
        _cleanup_strv_free_ char **l = NULL;
        cr_assert_eq(state_list_pods(root, &l, NULL), 0);
        cr_assert_not_null(l[2]);
        cr_expect_str_eq(l[0], "aaa");
        cr_expect_str_eq(l[1], "bbb");
        cr_expect_str_eq(l[2], "ccc-1");
        cr_expect_null(l[3]);

        /* a pod dir with nested dirs and a link to a file outside: the link goes, the
         * file it points to stays */
        char outside[200], nested[200], link[200];
        snprintf(outside, sizeof(outside), "%s/outside", root);
        f = fopen(outside, "w");
        fputs("keep", f);
        fclose(f);
        snprintf(nested, sizeof(nested), "%s/pods/aaa/volumes/cache/deep", root);
        cr_assert_eq(mkdir_p(nested, 0700, NULL), 0);
        snprintf(link, sizeof(link), "%s/pods/aaa/volumes/link", root);
        cr_assert_eq(symlink(outside, link), 0);
        struct qerr *e = NULL;
        cr_assert_eq(state_remove_pod(root, "aaa", &e), 0, "%s", qerr_msg(e));
        cr_expect_eq(access(outside, F_OK), 0);
        snprintf(p, sizeof(p), "%s/pods/aaa", root);
        cr_expect_neq(access(p, F_OK), 0);
        cr_expect_eq(state_remove_pod(root, "aaa", NULL), 0, "a missing pod is not an error");
        l = (strv_free(l), NULL);
        cr_assert_eq(state_list_pods(root, &l, NULL), 0);
        cr_expect_str_eq(l[0], "bbb");
}

Test(state, broken_records_are_reported)
{
        char dir[200], file[220];
        snprintf(dir, sizeof(dir), "%s/pods/abc", root);
        cr_assert_eq(mkdir_p(dir, 0700, NULL), 0);
        snprintf(file, sizeof(file), "%s/pod.json", dir);
        cr_assert_eq(state_write_atomic(file, "{\"version\": 1, \"uid\": ", 22, 0600, NULL), 0);
        struct pod_record r = { 0 };
        struct qerr *e = NULL;
        cr_expect_eq(state_load_pod(root, "abc", false, &r, &e), -EINVAL);
        cr_expect(strstr(qerr_msg(e), "pod.json"), "%s", qerr_msg(e));
        qerr_free(e);
        e = NULL;
        const char *other = "{\"version\": 99, \"uid\": \"abc\", \"name\": \"n\", "
                            "\"namespace\": \"default\"}";
        cr_assert_eq(state_write_atomic(file, other, strlen(other), 0600, NULL), 0);
        cr_expect_eq(state_load_pod(root, "abc", false, &r, &e), -EINVAL);
        cr_expect(strstr(qerr_msg(e), "version"), "%s", qerr_msg(e));
        qerr_free(e);
        e = NULL;
        const char *wrong = "{\"version\": 1, \"uid\": \"xyz\", \"name\": \"n\", "
                            "\"namespace\": \"default\"}";
        cr_assert_eq(state_write_atomic(file, wrong, strlen(wrong), 0600, NULL), 0);
        cr_expect_eq(state_load_pod(root, "abc", false, &r, &e), -EINVAL);
        qerr_free(e);
}
