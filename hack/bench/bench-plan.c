/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <yaml.h>

#include "basic/fileio.h"
#include "manifest/manifest.h"
#include "qos/plan.h"

/* A benchmark, not a test: decodes and plans the manifests of a directory from memory, over
 * and over, and prints pods per second beside libyaml's bare event parse of the same bytes
 * (the floor for any decoder built on it), and the peak RSS.
 *   bench-plan [DIR] [SECONDS]     (default tests/corpus/manifests, 2 seconds per side) */

struct input {
        char *name, *buf;
        size_t len;
};

struct corpus {
        struct input *items;
        size_t n, bytes;
};

static uint64_t hugepage_sizes[] = { 2ULL << 20, 1ULL << 30 };
static uint64_t hugepage_totals[] = { 0, 2ULL << 30 };

static double now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int load_corpus(const char *dir, struct corpus *c)
{
        _cleanup_strv_free_ char **files = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        if (manifest_list_dir(dir, &files, &e) < 0) {
                fprintf(stderr, "bench-plan: %s\n", qerr_msg(e));
                return -1;
        }
        STRV_FOREACH (f, files) {
                struct input in = { .name = strdup(*f) };
                if (read_full_file(*f, MANIFEST_MAX_SIZE, &in.buf, &in.len, &e) < 0) {
                        fprintf(stderr, "bench-plan: %s\n", qerr_msg(e));
                        return -1;
                }
                c->items = realloc(c->items, (c->n + 1) * sizeof(*c->items));
                if (!c->items || !in.name)
                        return -1;
                c->items[c->n++] = in;
                c->bytes += in.len;
        }
        return c->n > 0 ? 0 : -1;
}

/* One pass of libyaml's event parser over every input; returns the documents seen. */
static size_t libyaml_pass(const struct corpus *c)
{
        size_t docs = 0;
        for (size_t i = 0; i < c->n; i++) {
                yaml_parser_t p;
                if (!yaml_parser_initialize(&p))
                        abort();
                yaml_parser_set_input_string(&p, (const unsigned char *)c->items[i].buf,
                                             c->items[i].len);
                for (bool done = false; !done;) {
                        yaml_event_t ev;
                        if (!yaml_parser_parse(&p, &ev))
                                break;
                        docs += ev.type == YAML_DOCUMENT_START_EVENT;
                        done = ev.type == YAML_STREAM_END_EVENT;
                        yaml_event_delete(&ev);
                }
                yaml_parser_delete(&p);
        }
        return docs;
}

struct plans {
        struct pod_plan *items;
        size_t n, cap;
};

static void plan_pods(const struct pod_list *l, const struct node_info *node, struct plans *out)
{
        for (size_t i = 0; i < l->n; i++) {
                _cleanup_qerr_ struct qerr *e = NULL;
                if (out->n == out->cap) {
                        out->cap = out->cap ? out->cap * 2 : 64;
                        out->items = realloc(out->items, out->cap * sizeof(*out->items));
                        if (!out->items)
                                abort();
                }
                if (plan_pod(l->pods[i], node, &out->items[out->n], &e) == 0)
                        out->n++;
        }
}

/* One pass of decode and plan over every input, as `qosctl plan` does with the corpus on
 * its command line: each pod planned, then the QoS tiers once; returns the pods planned. */
static size_t qoslet_pass(const struct corpus *c, const struct node_info *node)
{
        const struct manifest_options o = { .node_name = "bench-node" };
        struct plans plans = { 0 };
        for (size_t i = 0; i < c->n; i++) {
                struct pod_list l = { 0 };
                struct diag_list d = { 0 };
                if (manifest_decode(c->items[i].buf, c->items[i].len, c->items[i].name,
                                    c->items[i].name, &o, &l, &d) == 0)
                        plan_pods(&l, node, &plans);
                pod_list_done(&l);
                diag_list_done(&d);
        }
        struct tiers_plan t = { 0 };
        _cleanup_qerr_ struct qerr *e = NULL;
        if (plan_tiers(plans.items, plans.n, node, &t, &e) == 0)
                tiers_plan_done(&t);
        size_t n = plans.n;
        for (size_t i = 0; i < plans.n; i++)
                pod_plan_done(&plans.items[i]);
        free(plans.items);
        return n;
}

struct rate {
        double seconds;
        size_t passes;
};

static struct rate run_for(double seconds, const struct corpus *c, const struct node_info *node,
                           bool libyaml)
{
        struct rate r = { 0 };
        double start = now();
        do {
                if (libyaml)
                        (void)libyaml_pass(c);
                else
                        (void)qoslet_pass(c, node);
                r.passes++;
                r.seconds = now() - start;
        } while (r.seconds < seconds);
        return r;
}

int main(int argc, char **argv)
{
        const char *dir = argc > 1 ? argv[1] : "tests/corpus/manifests";
        double seconds = argc > 2 ? atof(argv[2]) : 2.0;
        struct corpus c = { 0 };
        if (load_corpus(dir, &c) < 0)
                return 1;
        const struct node_info node = {
                .memory_capacity = 8ULL << 30,
                .cpu_capacity_milli = 4000,
                .pid_capacity = 4194304,
                .hugepage_sizes = hugepage_sizes,
                .hugepage_totals = hugepage_totals,
                .n_hugepage_sizes = 2,
                .cgroup_root = (char *)"/",
                .driver = CGROUP_DRIVER_CGROUPFS,
                .pod_pids_limit = -1,
        };
        size_t pods = qoslet_pass(&c, &node), docs = libyaml_pass(&c);
        /* warm both up, then measure */
        (void)run_for(0.2, &c, &node, true);
        struct rate y = run_for(seconds, &c, &node, true);
        (void)run_for(0.2, &c, &node, false);
        struct rate q = run_for(seconds, &c, &node, false);

        double y_pass = y.seconds / (double)y.passes, q_pass = q.seconds / (double)q.passes;
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        printf("corpus: %zu files, %zu documents, %zu pods accepted, %zu bytes (%s)\n", c.n, docs,
               pods, c.bytes, dir);
        printf("libyaml events:   %9.0f docs/s  %9.0f pods/s  %7.1f MB/s  (%zu passes, %.2f s)\n",
               (double)docs / y_pass, (double)pods / y_pass, (double)c.bytes / y_pass / 1e6,
               y.passes, y.seconds);
        printf("decode and plan:  %9.0f docs/s  %9.0f pods/s  %7.1f MB/s  (%zu passes, %.2f s)\n",
               (double)docs / q_pass, (double)pods / q_pass, (double)c.bytes / q_pass / 1e6,
               q.passes, q.seconds);
        printf("ratio: %.0f%% of libyaml's event rate (target 70%%)\n", 100.0 * y_pass / q_pass);
        printf("peak RSS: %ld kB\n", ru.ru_maxrss);
        for (size_t i = 0; i < c.n; i++) {
                free(c.items[i].name);
                free(c.items[i].buf);
        }
        free(c.items);
        return 0;
}
