/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "manifest/manifest.h"

/* Every file of tests/bad-manifests must be refused, with the first error that EXPECTED.tsv
 * names, both by the decoder and by `qosctl plan -o json`. The binary lives in BUILD/tests/,
 * so the checkout and the qosctl of the same build are found from it. */

#define NODE_NAME "n1"

struct expected {
        char *file;
        unsigned line, column;
        char *path;
        char *message;
};

struct expected_list {
        struct expected *items;
        size_t n;
        char *dir; /* tests/bad-manifests of the checkout */
        char *qosctl;
};

static char *build_dir(void)
{
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        cr_assert_gt(n, 0, "readlink /proc/self/exe");
        exe[n] = 0;
        /* BUILD/tests/test-bad-manifests -> BUILD */
        char *d = strdup(dirname(dirname(exe)));
        cr_assert_not_null(d);
        return d;
}

static void parse_line(struct expected_list *l, char *line, unsigned lineno)
{
        char *fields[5] = { 0 };
        size_t n = 0;
        for (char *p = line; n < ELEMENTSOF(fields); n++) {
                fields[n] = p;
                p = strchr(p, '\t');
                if (!p)
                        break;
                *p++ = 0;
        }
        cr_assert_eq(n, 4, "EXPECTED.tsv:%u: want 5 tab-separated fields", lineno);
        struct expected *ni = realloc(l->items, (l->n + 1) * sizeof(*ni));
        cr_assert_not_null(ni);
        l->items = ni;
        l->items[l->n++] = (struct expected){
                .file = strdup(fields[0]),
                .line = (unsigned)strtoul(fields[1], NULL, 10),
                .column = (unsigned)strtoul(fields[2], NULL, 10),
                .path = strdup(fields[3]),
                .message = strdup(fields[4]),
        };
}

static void load_expected(struct expected_list *l)
{
        _cleanup_free_ char *build = build_dir();
        _cleanup_free_ char *tsv = NULL, *buf = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_geq(asprintf(&l->dir, "%s/../tests/bad-manifests", build), 0);
        cr_assert_geq(asprintf(&l->qosctl, "%s/qosctl", build), 0);
        cr_assert_geq(asprintf(&tsv, "%s/EXPECTED.tsv", l->dir), 0);
        cr_assert_eq(read_full_file(tsv, 1 << 20, &buf, NULL, &e), 0, "read '%s': %s", tsv,
                     qerr_msg(e));
        unsigned lineno = 0;
        for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
                lineno++;
                if (line[0] != '#')
                        parse_line(l, line, lineno);
        }
}

static void expected_list_done(struct expected_list *l)
{
        for (size_t i = 0; i < l->n; i++) {
                free(l->items[i].file);
                free(l->items[i].path);
                free(l->items[i].message);
        }
        free(l->items);
        free(l->dir);
        free(l->qosctl);
}

static void expect_error(const struct expected *x, const char *via, unsigned line, unsigned column,
                         const char *path, const char *message)
{
        cr_expect(line == x->line && column == x->column, "%s: %s: error at %u:%u, want %u:%u (%s)",
                  x->file, via, line, column, x->line, x->column, message);
        cr_expect_str_eq(path, x->path, "%s: %s: error path '%s', want '%s' (%s)", x->file, via,
                         path, x->path, message);
        cr_expect(strstr(message, x->message), "%s: %s: error '%s' does not contain '%s'", x->file,
                  via, message, x->message);
}

static void check_decoder(const char *file, const struct expected *x)
{
        const struct manifest_options o = { .node_name = NODE_NAME };
        struct pod_list pods = { 0 };
        struct diag_list diags = { 0 };
        int r = manifest_load_file(file, &o, &pods, &diags);
        cr_expect_lt(r, 0, "%s: accepted with %zu pods", x->file, pods.n);
        const struct diag *first = NULL;
        for (size_t i = 0; i < diags.n && !first; i++)
                if (diags.items[i].severity == DIAG_ERROR)
                        first = &diags.items[i];
        cr_expect_not_null(first, "%s: no error reported", x->file);
        if (first)
                expect_error(x, "decoder", first->line, first->column, first->path, first->message);
        pod_list_done(&pods);
        diag_list_done(&diags);
}

/* Runs qosctl plan -o json on a file (or on stdin from it) and checks exit status 1 and the
 * first error of the JSON document. */
static void check_qosctl(const char *qosctl, const char *file, bool stdin_input,
                         const struct expected *x)
{
        _cleanup_free_ char *cmd = NULL, *out = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_geq(asprintf(&cmd, "'%s' plan -o json --node-name %s %s'%s'", qosctl, NODE_NAME,
                               stdin_input ? "- < " : "", file),
                      0);
        FILE *f = popen(cmd, "r");
        cr_assert_not_null(f, "popen '%s'", cmd);
        int rr = read_full_stream(f, "qosctl", 64 << 20, &out, NULL, &e);
        int status = pclose(f);
        cr_assert_eq(rr, 0, "%s: read qosctl output: %s", x->file, qerr_msg(e));
        cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 1,
                  "%s: qosctl exit status %d, want 1", x->file,
                  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        json_error_t jerr;
        json_t *root = json_loads(out, 0, &jerr);
        cr_assert_not_null(root, "%s: qosctl output is not JSON: %s", x->file, jerr.text);
        json_t *err0 = json_array_get(json_object_get(root, "errors"), 0);
        cr_expect_eq(json_array_size(json_object_get(root, "pods")), 0, "%s: qosctl planned pods",
                     x->file);
        cr_expect_not_null(err0, "%s: qosctl reported no error", x->file);
        if (err0)
                expect_error(x, "qosctl",
                             (unsigned)json_integer_value(json_object_get(err0, "line")),
                             (unsigned)json_integer_value(json_object_get(err0, "column")),
                             json_string_value(json_object_get(err0, "path")) ?: "",
                             json_string_value(json_object_get(err0, "message")) ?: "");
        json_decref(root);
}

static bool listed(const struct expected_list *l, const char *name)
{
        for (size_t i = 0; i < l->n; i++)
                if (strcmp(l->items[i].file, name) == 0)
                        return true;
        return false;
}

Test(bad_manifests, every_file_has_an_expected_error)
{
        struct expected_list l = { 0 };
        load_expected(&l);
        cr_expect_geq(l.n, 60, "only %zu bad manifests", l.n);
        _cleanup_(closedirp) DIR *d = opendir(l.dir);
        cr_assert_not_null(d, "open '%s'", l.dir);
        size_t n_files = 0;
        for (struct dirent *de; (de = readdir(d));) {
                if (de->d_name[0] == '.' || strcmp(de->d_name, "EXPECTED.tsv") == 0)
                        continue;
                n_files++;
                cr_expect(listed(&l, de->d_name), "'%s' has no line in EXPECTED.tsv", de->d_name);
        }
        cr_expect_eq(n_files, l.n, "%zu files, %zu lines in EXPECTED.tsv", n_files, l.n);
        expected_list_done(&l);
}

Test(bad_manifests, decoder_refuses_each)
{
        struct expected_list l = { 0 };
        load_expected(&l);
        for (size_t i = 0; i < l.n; i++) {
                _cleanup_free_ char *file = NULL;
                cr_assert_geq(asprintf(&file, "%s/%s", l.dir, l.items[i].file), 0);
                check_decoder(file, &l.items[i]);
        }
        expected_list_done(&l);
}

Test(bad_manifests, qosctl_refuses_each, .timeout = 300)
{
        struct expected_list l = { 0 };
        load_expected(&l);
        for (size_t i = 0; i < l.n; i++) {
                _cleanup_free_ char *file = NULL;
                cr_assert_geq(asprintf(&file, "%s/%s", l.dir, l.items[i].file), 0);
                check_qosctl(l.qosctl, file, false, &l.items[i]);
        }
        expected_list_done(&l);
}

/* Over 10 MiB: written at run time rather than kept in the tree. A valid pod comes first, so
 * only the size refuses it; the same limit holds for stdin. */
Test(bad_manifests, file_over_10_mib)
{
        struct expected_list l = { 0 };
        load_expected(&l);
        char path[] = "/tmp/qoslet-test-big-XXXXXX";
        int fd = mkstemp(path);
        cr_assert_geq(fd, 0);
        _cleanup_fclose_ FILE *f = fdopen(fd, "w");
        cr_assert_not_null(f);
        fputs("apiVersion: v1\nkind: Pod\nmetadata:\n  name: big\nspec:\n  containers:\n"
              "  - name: app\n    image: busybox\n",
              f);
        static char filler[4096];
        memset(filler, 'x', sizeof(filler) - 2);
        filler[0] = '#';
        filler[sizeof(filler) - 2] = '\n';
        for (size_t written = 0; written <= MANIFEST_MAX_SIZE; written += sizeof(filler) - 1)
                fputs(filler, f);
        cr_assert_eq(fflush(f), 0);
        const struct expected x = { .file = path,
                                    .path = (char *)"",
                                    .message = (char *)"file is larger than 10485760 bytes" };
        check_decoder(path, &x);
        check_qosctl(l.qosctl, path, false, &x);
        check_qosctl(l.qosctl, path, true, &x);
        (void)unlink(path);
        expected_list_done(&l);
}
