/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/strbuf.h"
#include "helpers/image-helpers.h"
#include "helpers/qoslet-run.h"
#include "helpers/rootfs.h"
#include "image/store.h"
#include "ns/paths.h"
#include "runtime/shimclient.h"

void qrun_setup(struct qrun *q, const char *tag)
{
        if (geteuid() != 0)
                cr_skip_test("needs root");
        *q = (struct qrun){ .dir = test_tmpdir_tagged(tag) };
        q->root = path_join(q->dir, "root");
        _cleanup_free_ char *shim = shim_default_path();
        cr_assert_not_null(shim);
        char *slash = strrchr(shim, '/');
        cr_assert(asprintf(&q->qoslet, "%.*s/qoslet", (int)(slash - shim), shim) > 0);
        cr_assert_eq(access(q->qoslet, X_OK), 0, "no '%s'", q->qoslet);
}

void qrun_teardown(struct qrun *q)
{
        if (q->dir)
                test_rm_rf(q->dir);
        free(q->dir);
        free(q->root);
        free(q->qoslet);
        *q = (struct qrun){ 0 };
}

char *qrun_manifest(struct qrun *q, const char *name, const char *body)
{
        char *p = path_join(q->dir, name);
        cr_assert_eq(write_file_atomic(p, body, strlen(body), 0644, NULL), 0);
        return p;
}

int qrun_spawn(struct qrun *q, const char *manifest)
{
        _cleanup_free_ char *run = path_join(q->dir, "run"), *logs = path_join(q->dir, "log"),
                            *errp = path_join(q->dir, "qoslet.err");
        (void)unlink(errp);
        pid_t p = fork();
        cr_assert_geq(p, 0);
        if (p == 0) {
                FILE *f = freopen(errp, "w", stderr);
                (void)f;
                const char *argv[32] = { "qoslet",      "run",  "--root-dir", q->root,
                                         "--run-dir",   run,    "--log-dir",  logs,
                                         "--node-name", "node1" };
                size_t n = 10;
                for (const char *const *a = q->args; a && *a && n < ELEMENTSOF(argv) - 2; a++)
                        argv[n++] = *a;
                argv[n] = manifest;
                execv(q->qoslet, (char **)argv);
                _exit(127);
        }
        return (int)p;
}

int qrun_wait(struct qrun *q, int pid, char **ret_stderr)
{
        int st;
        cr_assert_eq(waitpid(pid, &st, 0), pid);
        cr_assert(WIFEXITED(st), "qoslet died of a signal");
        _cleanup_free_ char *errp = path_join(q->dir, "qoslet.err");
        char *t = test_read_file(errp);
        *ret_stderr = t ? t : strdup("");
        return WEXITSTATUS(st);
}

int qrun_run(struct qrun *q, const char *manifest, char **ret_stderr)
{
        return qrun_wait(q, qrun_spawn(q, manifest), ret_stderr);
}

static char *find_log(struct qrun *q, const char *container, unsigned attempt)
{
        _cleanup_free_ char *logs = path_join(q->dir, "log");
        _cleanup_(closedirp) DIR *d = opendir(logs);
        char *found = NULL;
        for (struct dirent *de; d && (de = readdir(d));)
                if (de->d_name[0] != '.') {
                        free(found);
                        cr_assert(asprintf(&found, "%s/%s/%s/%u.log", logs, de->d_name, container,
                                           attempt) > 0);
                }
        return found;
}

char *qrun_output(struct qrun *q, const char *container, unsigned attempt)
{
        _cleanup_free_ char *p = find_log(q, container, attempt);
        _cleanup_free_ char *t = p ? test_read_file(p) : NULL;
        if (!t)
                return NULL;
        _cleanup_strbuf_ struct strbuf sb = { 0 };
        strbuf_append(&sb, "");
        /* "<time> <stream> <F|P> <text>" */
        for (char *line = t, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                char *s = line;
                for (int i = 0; i < 3 && s; i++)
                        s = strchr(s, ' ') ? strchr(s, ' ') + 1 : NULL;
                if (s)
                        strbuf_printf(&sb, "%s%s", s, strstr(line, " F ") ? "\n" : "");
        }
        return strbuf_steal(&sb);
}

bool qrun_dir_empty(struct qrun *q, const char *sub)
{
        _cleanup_free_ char *p = path_join(q->dir, sub);
        _cleanup_(closedirp) DIR *d = opendir(p);
        int n = 0;
        for (struct dirent *de; d && (de = readdir(d));)
                n += de->d_name[0] != '.';
        return n == 0;
}

bool qrun_mounts_left(struct qrun *q)
{
        _cleanup_free_ char *mi = test_read_file("/proc/self/mountinfo");
        return mi && strstr(mi, q->dir);
}

static void add_entry(struct test_tar_entry **l, size_t *n, struct test_tar_entry e)
{
        *l = realloc(*l, (*n + 1) * sizeof(**l));
        cr_assert_not_null(*l);
        (*l)[(*n)++] = e;
}

void qrun_busybox_image(struct qrun *q, const char *ref, const char *config_json)
{
        qrun_busybox_image_in(q->root, ref, config_json, NULL, 0);
}

void qrun_busybox_image_in(const char *root, const char *ref, const char *config_json,
                           const struct test_layer *more, size_t n_more)
{
        cr_assert_eq(access("/bin/busybox", X_OK), 0, "busybox-static is not installed");
        _cleanup_free_ char *shim = shim_default_path(), *probe = NULL;
        char *slash = strrchr(shim, '/');
        cr_assert(asprintf(&probe, "%.*s/tests/sec-probe", (int)(slash - shim), shim) > 0);
        cr_assert_eq(access(probe, X_OK), 0, "no '%s' (make tests builds it)", probe);
        _cleanup_free_ struct test_tar_entry *e = NULL;
        size_t n = 0;
        static char names[512][32];
        add_entry(&e, &n, (struct test_tar_entry){ .type = TE_DIR, .path = "bin" });
        add_entry(&e, &n, (struct test_tar_entry){ .type = TE_DIR, .path = "etc" });
        add_entry(&e, &n, (struct test_tar_entry){ .type = TE_DIR, .path = "tmp", .mode = 01777 });
        add_entry(&e, &n,
                  (struct test_tar_entry){ .type = TE_FILE,
                                           .path = "bin/busybox",
                                           .mode = 0755,
                                           .src_file = "/bin/busybox" });
        add_entry(&e, &n,
                  (struct test_tar_entry){ .type = TE_FILE,
                                           .path = "bin/sec-probe",
                                           .mode = 0755,
                                           .src_file = probe });
        add_entry(&e, &n,
                  (struct test_tar_entry){ .type = TE_FILE,
                                           .path = "etc/passwd",
                                           .data = "root:x:0:0:root:/root:/bin/sh\n"
                                                   "app:x:1234:5678:app:/home/app:/bin/sh\n" });
        add_entry(&e, &n,
                  (struct test_tar_entry){ .type = TE_FILE,
                                           .path = "etc/group",
                                           .data = "root:x:0:\napp:x:5678:\n" });
        FILE *list = popen("/bin/busybox --list", "re");
        cr_assert_not_null(list);
        for (size_t k = 0; k < ELEMENTSOF(names) && fgets(names[k], sizeof(names[k]), list); k++) {
                names[k][strcspn(names[k], "\n")] = 0;
                if (!*names[k] || strcmp(names[k], "busybox") == 0)
                        continue;
                char *path = NULL;
                cr_assert(asprintf(&path, "bin/%s", names[k]) > 0);
                add_entry(&e, &n,
                          (struct test_tar_entry){
                                  .type = TE_SYMLINK, .path = path, .data = "busybox" });
        }
        pclose(list);
        _cleanup_image_store_ struct image_store *s = NULL;
        cr_assert_eq(image_store_open(root, &s, NULL), 0);
        struct test_layer layers[8] = { { e, n, 'g' } };
        cr_assert_lt(n_more, ELEMENTSOF(layers));
        for (size_t i = 0; i < n_more; i++)
                layers[i + 1] = more[i];
        cr_assert_eq(test_image_create(s, ref, layers, n_more + 1, config_json, NULL), 0);
        for (size_t i = 0; i < n; i++)
                if (e[i].type == TE_SYMLINK)
                        free((char *)e[i].path);
}

char *qrun_status_field(const char *text, const char *name)
{
        _cleanup_free_ char *key = NULL;
        cr_assert(asprintf(&key, "%s:\t", name) > 0);
        const char *p = text ? strstr(text, key) : NULL;
        if (!p)
                return NULL;
        p += strlen(key);
        return strndup(p, strcspn(p, "\n"));
}
