/* SPDX-License-Identifier: Apache-2.0 */
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <string.h>
#include <time.h>

#include "basic/log.h"
#include "basic/strbuf.h"
#include "node/podtable.h"
#include "qosctl.h"

#define DEFAULT_RUN_DIR "/run/qoslet"

struct get_args {
        const char *output, *run_dir, *namespace;
        bool all_namespaces;
        char **names;
        int n_names;
};

static void get_help(void)
{
        printf("usage: qosctl get pods [NAME...] [OPTIONS]\n\n"
               "Lists the daemon's pods, as kubectl prints them, with their QoS class.\n\n"
               "  -o, --output wide|json     more columns, or the PodList as JSON\n"
               "  -n, --namespace NS         pods of this namespace (default: default)\n"
               "  -A, --all-namespaces       pods of every namespace\n"
               "      --run-dir DIR          where the daemon's socket is (default %s)\n"
               "      --root-dir DIR         accepted for symmetry; not needed here\n",
               DEFAULT_RUN_DIR);
}

static int parse_get_args(int argc, char **argv, struct get_args *a)
{
        enum { O_RUN_DIR = 256, O_ROOT_DIR };
        static const struct option opts[] = {
                { "output", required_argument, NULL, 'o' },
                { "namespace", required_argument, NULL, 'n' },
                { "all-namespaces", no_argument, NULL, 'A' },
                { "run-dir", required_argument, NULL, O_RUN_DIR },
                { "root-dir", required_argument, NULL, O_ROOT_DIR },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        for (int c; (c = getopt_long(argc, argv, "o:n:Ah", opts, NULL)) >= 0;) {
                if (c == 'o')
                        a->output = optarg;
                else if (c == 'n')
                        a->namespace = optarg;
                else if (c == 'A')
                        a->all_namespaces = true;
                else if (c == O_RUN_DIR)
                        a->run_dir = optarg;
                else if (c == O_ROOT_DIR)
                        continue;
                else if (c == 'h') {
                        get_help();
                        return 1;
                } else
                        return -EINVAL;
        }
        if (a->output && strcmp(a->output, "wide") != 0 && strcmp(a->output, "json") != 0) {
                log_error("unknown output format '%s': use wide or json", a->output);
                return -EINVAL;
        }
        if (optind >= argc ||
            (strcmp(argv[optind], "pods") != 0 && strcmp(argv[optind], "pod") != 0 &&
             strcmp(argv[optind], "po") != 0)) {
                log_error("qosctl get knows one resource: 'pods'");
                return -EINVAL;
        }
        a->names = argv + optind + 1;
        a->n_names = argc - optind - 1;
        return 0;
}

static size_t on_data(char *data, size_t size, size_t n, void *userdata)
{
        struct strbuf *sb = userdata;
        strbuf_append_n(sb, data, size * n);
        return sb->oom ? 0 : size * n;
}

/* GET a path from the daemon over its unix socket. */
static int daemon_get(const char *run_dir, const char *path, char **ret)
{
        _cleanup_free_ char *sock = NULL, *url = NULL;
        _cleanup_strbuf_ struct strbuf sb = { 0 };
        char errbuf[CURL_ERROR_SIZE] = "";
        long status = 0;
        if (asprintf(&sock, "%s/qoslet.sock", run_dir) < 0 ||
            asprintf(&url, "http://localhost%s", path) < 0)
                return -ENOMEM;
        CURL *c = curl_easy_init();
        if (!c)
                return -ENOMEM;
        (void)curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
        (void)curl_easy_setopt(c, CURLOPT_URL, url);
        (void)curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
        (void)curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
        (void)curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        (void)curl_easy_setopt(c, CURLOPT_WRITEDATA, &sb);
        CURLcode r = curl_easy_perform(c);
        (void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(c);
        if (r != CURLE_OK) {
                log_error("connect to the daemon at '%s': %s (is qoslet running? --run-dir?)", sock,
                          errbuf[0] ? errbuf : curl_easy_strerror(r));
                return -ECONNREFUSED;
        }
        if (status != 200) {
                log_error("GET %s from '%s': HTTP status %ld", path, sock, status);
                return -EIO;
        }
        *ret = strbuf_steal(&sb);
        return *ret ? 0 : -ENOMEM;
}

static bool wanted(const struct get_args *a, json_t *pod)
{
        json_t *meta = json_object_get(pod, "metadata");
        const char *ns = json_string_value(json_object_get(meta, "namespace"));
        const char *name = json_string_value(json_object_get(meta, "name"));
        if (!a->all_namespaces &&
            strcmp(ns ? ns : "default", a->namespace ? a->namespace : "default") != 0)
                return false;
        if (a->n_names == 0)
                return true;
        for (int i = 0; i < a->n_names; i++)
                if (name && strcmp(a->names[i], name) == 0)
                        return true;
        return false;
}

#define MAX_COLUMNS 12

struct table {
        const char *header[MAX_COLUMNS];
        size_t n_columns;
        char ***cells; /* rows of n_columns borrowed strings */
        size_t n_rows;
        size_t width[MAX_COLUMNS];
};

static void table_columns(struct table *t, const struct get_args *a, bool wide)
{
        static const char *base[] = { "NAME", "READY", "STATUS", "RESTARTS", "AGE", "QOS" };
        static const char *more[] = { "IP", "NODE", "CGROUP" };
        if (a->all_namespaces)
                t->header[t->n_columns++] = "NAMESPACE";
        for (size_t i = 0; i < ELEMENTSOF(base); i++)
                t->header[t->n_columns++] = base[i];
        for (size_t i = 0; wide && i < ELEMENTSOF(more); i++)
                t->header[t->n_columns++] = more[i];
}

static void row_cells(const struct pod_row *r, const struct get_args *a, bool wide, char **c)
{
        size_t k = 0;
        if (a->all_namespaces)
                c[k++] = r->namespace;
        c[k++] = r->name;
        c[k++] = r->ready;
        c[k++] = r->status;
        c[k++] = r->restarts;
        c[k++] = r->age;
        c[k++] = r->qos;
        if (wide) {
                c[k++] = r->ip;
                c[k++] = r->node;
                c[k++] = r->cgroup;
        }
}

/* kubectl's layout: left-aligned columns, three spaces apart, no trailing blanks. */
static void table_print(struct table *t)
{
        for (size_t c = 0; c < t->n_columns; c++) {
                t->width[c] = strlen(t->header[c]);
                for (size_t r = 0; r < t->n_rows; r++)
                        t->width[c] = MAX(t->width[c], strlen(t->cells[r][c]));
        }
        for (size_t r = 0; r <= t->n_rows; r++)
                for (size_t c = 0; c < t->n_columns; c++) {
                        const char *s = r == 0 ? t->header[c] : t->cells[r - 1][c];
                        if (c + 1 < t->n_columns)
                                printf("%-*s   ", (int)t->width[c], s);
                        else
                                printf("%s\n", s);
                }
}

static int print_pods(const struct get_args *a, json_t *list)
{
        bool wide = a->output && strcmp(a->output, "wide") == 0;
        json_t *items = json_object_get(list, "items");
        size_t n = json_array_size(items);
        _cleanup_free_ struct pod_row *rows = calloc(n + 1, sizeof(*rows));
        _cleanup_free_ char **cells = calloc((n + 1) * MAX_COLUMNS, sizeof(char *));
        _cleanup_free_ char ***row_ptrs = calloc(n + 1, sizeof(char **));
        struct table t = { .cells = row_ptrs };
        if (!rows || !cells || !row_ptrs)
                return -ENOMEM;
        table_columns(&t, a, wide);
        int64_t now = (int64_t)time(NULL);
        int r = 0;
        for (size_t i = 0; i < n && r >= 0; i++) {
                if (!wanted(a, json_array_get(items, i)))
                        continue;
                r = podtable_row(json_array_get(items, i), now, &rows[t.n_rows]);
                if (r < 0)
                        break;
                row_ptrs[t.n_rows] = cells + t.n_rows * MAX_COLUMNS;
                row_cells(&rows[t.n_rows], a, wide, row_ptrs[t.n_rows]);
                t.n_rows++;
        }
        if (r >= 0 && t.n_rows == 0)
                fprintf(stderr, "No resources found%s%s%s.\n", a->all_namespaces ? "" : " in ",
                        a->all_namespaces ? ""
                        : a->namespace    ? a->namespace
                                          : "default",
                        a->all_namespaces ? "" : " namespace");
        else if (r >= 0)
                table_print(&t);
        for (size_t i = 0; i < t.n_rows; i++)
                pod_row_done(&rows[i]);
        return r;
}

int verb_get(int argc, char **argv)
{
        struct get_args a = { .run_dir = DEFAULT_RUN_DIR };
        int r = parse_get_args(argc, argv, &a);
        if (r != 0)
                return r > 0 ? 0 : 2;
        _cleanup_free_ char *body = NULL;
        if (daemon_get(a.run_dir, "/pods", &body) < 0)
                return 1;
        json_error_t je;
        json_t *list = json_loads(body, 0, &je);
        if (!list) {
                log_error("the daemon sent no JSON: %s", je.text);
                return 1;
        }
        if (a.output && strcmp(a.output, "json") == 0) {
                r = json_dumpf(list, stdout, JSON_INDENT(4)) < 0 ? -EIO : 0;
                fputc('\n', stdout);
        } else
                r = print_pods(&a, list);
        json_decref(list);
        if (r < 0)
                log_error("print pods: %s", strerror(-r));
        return r < 0 ? 1 : 0;
}
