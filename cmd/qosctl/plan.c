/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <getopt.h>
#include <jansson.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/quantity.h"
#include "basic/log.h"
#include "config/config.h"
#include "manifest/manifest.h"
#include "qos/plan.h"
#include "qosctl.h"

struct plan_args {
        bool json, strict;
        const char *node_name, *config, *driver, *cgroup_root, *node_memory, *node_cpus;
        const char *hugepage_sizes, *pods_limit, *system_reserved, *kube_reserved;
        char **inputs;
        int n_inputs;
};

struct planned {
        struct pod *pod;
        struct pod_plan plan;
};

struct plan_run {
        struct manifest_options opts;
        struct node_info node;
        struct diag_list diags;
        struct planned *items;
        size_t n;
        bool refused;
};

static void plan_help(void)
{
        printf("usage: qosctl plan [OPTIONS] FILE|DIR|- ...\n\n"
               "Shows the QoS class, cgroup paths and cgroup values each pod would get,\n"
               "without running anything.\n\n"
               "  -o, --output table|json   output format (default table)\n"
               "      --strict              unknown fields are errors\n"
               "      --node-name N         node name (default: this host's name)\n"
               "      --node-memory BYTES   node memory capacity (default: this machine's)\n"
               "      --node-cpus N         node CPUs (default: this machine's)\n"
               "      --hugepage-sizes LIST huge page sizes, e.g. 2Mi,1Gi (default: this "
               "machine's)\n"
               "      --cgroup-driver D     cgroupfs (default) or systemd\n"
               "      --cgroup-root PATH    parent of the kubepods tree (default /)\n"
               "      --pod-pids-limit N    pids.max of every pod cgroup\n"
               "      --system-reserved R   e.g. cpu=500m,memory=1Gi,pid=1000\n"
               "      --kube-reserved R     as --system-reserved\n"
               "      --config FILE         config file (KubeletConfiguration keys)\n");
}

static int parse_plan_args(int argc, char **argv, struct plan_args *a)
{
        enum {
                O_STRICT = 256,
                O_NODE,
                O_MEM,
                O_CPUS,
                O_HP,
                O_DRIVER,
                O_ROOT,
                O_PIDS,
                O_CONFIG,
                O_SYSRES,
                O_KUBERES
        };
        static const struct option opts[] = {
                { "output", required_argument, NULL, 'o' },
                { "strict", no_argument, NULL, O_STRICT },
                { "node-name", required_argument, NULL, O_NODE },
                { "node-memory", required_argument, NULL, O_MEM },
                { "node-cpus", required_argument, NULL, O_CPUS },
                { "hugepage-sizes", required_argument, NULL, O_HP },
                { "cgroup-driver", required_argument, NULL, O_DRIVER },
                { "cgroup-root", required_argument, NULL, O_ROOT },
                { "pod-pids-limit", required_argument, NULL, O_PIDS },
                { "config", required_argument, NULL, O_CONFIG },
                { "system-reserved", required_argument, NULL, O_SYSRES },
                { "kube-reserved", required_argument, NULL, O_KUBERES },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        for (int c; (c = getopt_long(argc, argv, "o:h", opts, NULL)) >= 0;) {
                switch (c) {
                case 'o':
                        if (strcmp(optarg, "json") != 0 && strcmp(optarg, "table") != 0) {
                                log_error("unknown output format '%s': use table or json", optarg);
                                return -EINVAL;
                        }
                        a->json = strcmp(optarg, "json") == 0;
                        break;
                case O_STRICT:
                        a->strict = true;
                        break;
                case O_NODE:
                        a->node_name = optarg;
                        break;
                case O_MEM:
                        a->node_memory = optarg;
                        break;
                case O_CPUS:
                        a->node_cpus = optarg;
                        break;
                case O_HP:
                        a->hugepage_sizes = optarg;
                        break;
                case O_DRIVER:
                        a->driver = optarg;
                        break;
                case O_ROOT:
                        a->cgroup_root = optarg;
                        break;
                case O_PIDS:
                        a->pods_limit = optarg;
                        break;
                case O_CONFIG:
                        a->config = optarg;
                        break;
                case O_SYSRES:
                        a->system_reserved = optarg;
                        break;
                case O_KUBERES:
                        a->kube_reserved = optarg;
                        break;
                case 'h':
                        plan_help();
                        return 1;
                default:
                        return -EINVAL;
                }
        }
        a->inputs = argv + optind;
        a->n_inputs = argc - optind;
        if (a->n_inputs == 0) {
                log_error("no manifest given: pass files, directories or '-'");
                return -EINVAL;
        }
        return 0;
}

/* A whole number of bytes or CPUs, given as a quantity ("8Gi", "2"). */
static int parse_amount(const char *s, const char *what, bool milli, int64_t *ret)
{
        struct quantity q;
        int64_t v;
        if (quantity_parse(s, &q, NULL) < 0 || quantity_is_negative(&q) ||
            (milli ? quantity_milli_value(&q, &v) : quantity_value(&q, &v)) < 0) {
                log_error("invalid %s '%s'", what, s);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

static int parse_hugepage_sizes(const char *list, struct node_info *n)
{
        free(n->hugepage_sizes);
        free(n->hugepage_totals);
        n->hugepage_sizes = n->hugepage_totals = NULL;
        n->n_hugepage_sizes = 0;
        _cleanup_free_ char *copy = strdup(list);
        if (!copy)
                return -ENOMEM;
        size_t cap = strlen(list) + 1;
        n->hugepage_sizes = calloc(cap, sizeof(uint64_t));
        n->hugepage_totals = calloc(cap, sizeof(uint64_t));
        if (!n->hugepage_sizes || !n->hugepage_totals)
                return -ENOMEM;
        char *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                int64_t v;
                if (parse_amount(t, "huge page size", false, &v) < 0 || v <= 0)
                        return -EINVAL;
                size_t i = n->n_hugepage_sizes++;
                /* keep ascending order, as the plan expects */
                while (i > 0 && n->hugepage_sizes[i - 1] > (uint64_t)v) {
                        n->hugepage_sizes[i] = n->hugepage_sizes[i - 1];
                        i--;
                }
                n->hugepage_sizes[i] = (uint64_t)v;
        }
        return 0;
}

static char *default_node_name(void)
{
        char host[256] = "";
        if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
                return strdup("localhost");
        for (char *p = host; *p; p++)
                *p = (char)tolower((unsigned char)*p);
        return strdup(host);
}

static void add_reservation(struct node_info *n, const struct reservation *r)
{
        if (r->cpu_milli > 0)
                n->reserved_cpu_milli += r->cpu_milli;
        if (r->memory > 0)
                n->reserved_memory += (uint64_t)r->memory;
        if (r->pids > 0)
                n->reserved_pids += r->pids;
}

static int apply_reservation_flag(const char *flag, const char *value, struct reservation *r)
{
        _cleanup_qerr_ struct qerr *e = NULL;
        if (value && config_parse_reservation(value, r, &e) < 0) {
                log_error("%s: %s", flag, qerr_msg(e));
                return -EINVAL;
        }
        return 0;
}

/* Node facts: this machine first, then the config file, then flags. */
static int setup_node(const struct plan_args *a, const struct qoslet_config *cfg,
                      struct node_info *n)
{
        _cleanup_qerr_ struct qerr *e = NULL;
        if (node_info_from_host(n, &e) < 0) {
                log_error("read node capacity: %s", qerr_msg(e));
                return -EIO;
        }
        int64_t v;
        if (a->node_memory) {
                if (parse_amount(a->node_memory, "node memory", false, &v) < 0)
                        return -EINVAL;
                n->memory_capacity = (uint64_t)v;
        }
        if (a->node_cpus) {
                if (parse_amount(a->node_cpus, "node cpus", true, &v) < 0)
                        return -EINVAL;
                n->cpu_capacity_milli = v;
        }
        if (a->hugepage_sizes && parse_hugepage_sizes(a->hugepage_sizes, n) < 0)
                return -EINVAL;
        const char *driver = a->driver ? a->driver : cfg->cgroup_driver;
        if (driver) {
                int d = cgroup_driver_from_string(driver);
                if (d < 0) {
                        log_error("unknown cgroup driver '%s': use cgroupfs or systemd", driver);
                        return -EINVAL;
                }
                n->driver = d;
        }
        const char *root = a->cgroup_root ? a->cgroup_root : cfg->cgroup_root;
        if (root) {
                free(n->cgroup_root);
                n->cgroup_root = strdup(root);
        }
        n->pod_pids_limit = cfg->pod_pids_limit;
        if (a->pods_limit &&
            parse_amount(a->pods_limit, "pod pids limit", false, &n->pod_pids_limit) < 0)
                return -EINVAL;
        struct reservation sys = cfg->system_reserved, kube = cfg->kube_reserved;
        if (apply_reservation_flag("--system-reserved", a->system_reserved, &sys) < 0 ||
            apply_reservation_flag("--kube-reserved", a->kube_reserved, &kube) < 0)
                return -EINVAL;
        add_reservation(n, &sys);
        add_reservation(n, &kube);
        return 0;
}

static void plan_file(struct plan_run *run, const char *path)
{
        struct pod_list l = { 0 };
        if (manifest_load_file(path, &run->opts, &l, &run->diags) < 0) {
                run->refused = true;
                return;
        }
        for (size_t i = 0; i < l.n; i++) {
                struct planned *ni = realloc(run->items, (run->n + 1) * sizeof(*ni));
                _cleanup_qerr_ struct qerr *e = NULL;
                if (!ni)
                        break;
                run->items = ni;
                struct planned *it = &run->items[run->n];
                *it = (struct planned){ .pod = l.pods[i] };
                l.pods[i] = NULL;
                if (plan_pod(it->pod, &run->node, &it->plan, &e) < 0) {
                        (void)diag_add(&run->diags, DIAG_ERROR, path, 0, 0, "", "plan pod: %s",
                                       qerr_msg(e));
                        pod_free(it->pod);
                        run->refused = true;
                        continue;
                }
                run->n++;
        }
        pod_list_done(&l);
}

static void plan_input(struct plan_run *run, const char *in)
{
        struct stat st;
        if (strcmp(in, "-") != 0 && stat(in, &st) == 0 && S_ISDIR(st.st_mode)) {
                _cleanup_strv_free_ char **files = NULL;
                _cleanup_qerr_ struct qerr *e = NULL;
                if (manifest_list_dir(in, &files, &e) < 0) {
                        (void)diag_add(&run->diags, DIAG_ERROR, in, 0, 0, "", "%s", qerr_msg(e));
                        run->refused = true;
                        return;
                }
                STRV_FOREACH (f, files)
                        plan_file(run, *f);
                return;
        }
        plan_file(run, in);
}

static json_t *values_json(const struct cg_values *v)
{
        json_t *o = json_object();
        for (size_t i = 0; i < v->n; i++)
                json_object_set_new(o, v->files[i].name, json_string(v->files[i].value));
        return o;
}

static json_t *cgroup_json(const char *cgroupfs, const char *systemd)
{
        return json_pack("{s:s, s:s}", "cgroupfs", cgroupfs, "systemd", systemd);
}

static json_t *pod_json(const struct planned *it)
{
        const struct pod_plan *pl = &it->plan;
        json_t *containers = json_array();
        for (size_t i = 0; i < pl->n_containers; i++) {
                const struct container_plan *c = &pl->containers[i];
                json_array_append_new(containers,
                                      json_pack("{s:s, s:b, s:b, s:i, s:o, s:o}", "name", c->name,
                                                "init", c->init, "sidecar", c->sidecar,
                                                "oomScoreAdj", c->oom_score_adj, "v2",
                                                values_json(&c->v2), "v1", values_json(&c->v1)));
        }
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "name",
                         it->pod->metadata.name, "namespace", it->pod->metadata.namespace, "uid",
                         it->pod->metadata.uid, "qosClass", qos_class_to_string(pl->qos), "source",
                         it->pod->source, "cgroup", cgroup_json(pl->cgroupfs, pl->systemd), "v2",
                         values_json(&pl->v2), "v1", values_json(&pl->v1), "containers",
                         containers);
}

static json_t *tier_json(const struct tier_plan *t)
{
        return json_pack("{s:o, s:o, s:o}", "cgroup", cgroup_json(t->cgroupfs, t->systemd), "v2",
                         values_json(&t->v2), "v1", values_json(&t->v1));
}

static json_t *diags_json(const struct diag_list *l, enum diag_severity s)
{
        json_t *a = json_array();
        for (size_t i = 0; i < l->n; i++) {
                const struct diag *d = &l->items[i];
                if (d->severity != s)
                        continue;
                json_array_append_new(a, json_pack("{s:s, s:I, s:I, s:s, s:s}", "file", d->file,
                                                   "line", (json_int_t)d->line, "column",
                                                   (json_int_t)d->column, "path", d->path,
                                                   "message", d->message));
        }
        return a;
}

static int print_json(const struct plan_run *run, const struct tiers_plan *t)
{
        json_t *pods = json_array();
        for (size_t i = 0; i < run->n; i++)
                json_array_append_new(pods, pod_json(&run->items[i]));
        json_t *tiers = json_pack("{s:o, s:o, s:o}", "kubepods", tier_json(&t->kubepods),
                                  "burstable", tier_json(&t->burstable), "besteffort",
                                  tier_json(&t->besteffort));
        json_t *root = json_pack("{s:o, s:o, s:o, s:o, s:o}", "pods", pods, "tiers", tiers,
                                 "errors", diags_json(&run->diags, DIAG_ERROR), "warnings",
                                 diags_json(&run->diags, DIAG_WARNING), "notices",
                                 diags_json(&run->diags, DIAG_NOTICE));
        if (!root)
                return -ENOMEM;
        int r = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(root);
        return r < 0 ? -EIO : 0;
}

static void print_values(const char *label, const struct cg_values *v)
{
        printf("      %s:", label);
        for (size_t i = 0; i < v->n; i++)
                printf(" %s=%s%s%s", v->files[i].name, strchr(v->files[i].value, ' ') ? "\"" : "",
                       v->files[i].value, strchr(v->files[i].value, ' ') ? "\"" : "");
        printf("\n");
}

static void print_table(const struct plan_run *run, const struct tiers_plan *t, bool systemd)
{
        printf("%-40s %-11s %-33s %s\n", "POD", "QOS", "UID", "CGROUP");
        for (size_t i = 0; i < run->n; i++) {
                const struct planned *it = &run->items[i];
                _cleanup_free_ char *name = NULL;
                if (asprintf(&name, "%s/%s", it->pod->metadata.namespace, it->pod->metadata.name) <
                    0)
                        continue;
                printf("%-40s %-11s %-33s %s\n", name, qos_class_to_string(it->plan.qos),
                       it->pod->metadata.uid, systemd ? it->plan.systemd : it->plan.cgroupfs);
                printf("    pod cgroup\n");
                print_values("v2", &it->plan.v2);
                print_values("v1", &it->plan.v1);
                for (size_t k = 0; k < it->plan.n_containers; k++) {
                        const struct container_plan *c = &it->plan.containers[k];
                        printf("    container %s%s  oom_score_adj=%d\n", c->name,
                               c->sidecar ? " (sidecar)"
                               : c->init  ? " (init)"
                                          : "",
                               c->oom_score_adj);
                        print_values("v2", &c->v2);
                        print_values("v1", &c->v1);
                }
        }
        printf("\nTIERS (with these pods running)\n");
        const struct tier_plan *tiers[] = { &t->kubepods, &t->burstable, &t->besteffort };
        for (size_t i = 0; i < ELEMENTSOF(tiers); i++) {
                printf("    %-10s %s\n", tiers[i]->name,
                       systemd ? tiers[i]->systemd : tiers[i]->cgroupfs);
                print_values("v2", &tiers[i]->v2);
                print_values("v1", &tiers[i]->v1);
        }
}

static void print_diags(const struct diag_list *l)
{
        for (size_t i = 0; i < l->n; i++) {
                _cleanup_free_ char *s = diag_format(&l->items[i]);
                fprintf(stderr, "%s: %s\n", diag_severity_to_string(l->items[i].severity),
                        s ? s : l->items[i].message);
        }
}

static void plan_run_done(struct plan_run *run)
{
        for (size_t i = 0; i < run->n; i++) {
                pod_plan_done(&run->items[i].plan);
                pod_free(run->items[i].pod);
        }
        free(run->items);
        diag_list_done(&run->diags);
        node_info_done(&run->node);
}

static int load_config(const char *path, struct qoslet_config *cfg)
{
        _cleanup_qerr_ struct qerr *e = NULL;
        _cleanup_strv_free_ char **warnings = NULL;
        if (!path)
                return 0;
        if (config_load(cfg, path, &warnings, &e) < 0) {
                log_error("%s", qerr_msg(e));
                return -EINVAL;
        }
        STRV_FOREACH (w, warnings)
                log_warning("%s", *w);
        return 0;
}

int verb_plan(int argc, char **argv)
{
        struct plan_args a = { 0 };
        int r = parse_plan_args(argc, argv, &a);
        if (r != 0)
                return r > 0 ? 0 : 2;
        _cleanup_(config_done) struct qoslet_config cfg;
        config_init(&cfg);
        if (load_config(a.config, &cfg) < 0)
                return 2;
        _cleanup_free_ char *node_name = a.node_name     ? strdup(a.node_name)
                                         : cfg.node_name ? strdup(cfg.node_name)
                                                         : default_node_name();
        _cleanup_(plan_run_done) struct plan_run run = {
                .opts = { .node_name = node_name, .strict = a.strict },
        };
        if (setup_node(&a, &cfg, &run.node) < 0)
                return 2;
        for (int i = 0; i < a.n_inputs; i++)
                plan_input(&run, a.inputs[i]);

        _cleanup_(tiers_plan_done) struct tiers_plan tiers = { 0 };
        _cleanup_qerr_ struct qerr *e = NULL;
        struct pod_plan *plans = calloc(run.n + 1, sizeof(*plans));
        for (size_t i = 0; plans && i < run.n; i++)
                plans[i] = run.items[i].plan;
        r = plans ? plan_tiers(plans, run.n, &run.node, &tiers, &e) : -ENOMEM;
        free(plans);
        if (r < 0) {
                log_error("plan tiers: %s", qerr_msg(e));
                return 2;
        }
        if (a.json)
                r = print_json(&run, &tiers);
        else {
                print_diags(&run.diags);
                print_table(&run, &tiers, run.node.driver == CGROUP_DRIVER_SYSTEMD);
        }
        if (r < 0)
                log_error("write output: %s", strerror(-r));
        return run.refused || r < 0 ? 1 : 0;
}
