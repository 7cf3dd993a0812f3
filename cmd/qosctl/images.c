/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <jansson.h>
#include <string.h>

#include "basic/log.h"
#include "config/config.h"
#include "image/gc.h"
#include "image/import.h"
#include "image/manifest.h"
#include "image/reference.h"
#include "image/registry.h"
#include "image/store.h"
#include "qosctl.h"

#define DEFAULT_ROOT_DIR "/var/lib/qoslet"

/* Options every image verb takes. Without a daemon the verbs work on the root dir directly,
 * under the store's lock (the daemon takes the same lock). */
struct image_args {
        const char *root_dir, *run_dir, *config, *auth_file, *ca_file;
        char **insecure; /* from flags, NULL-terminated */
        size_t n_insecure;
        bool json, unpack, prune;
        unsigned parallel;
};

static const char common_help[] =
        "      --root-dir DIR        qoslet's root dir (default " DEFAULT_ROOT_DIR ")\n"
        "      --run-dir DIR         qoslet's run dir (accepted; the store is used directly)\n"
        "      --config FILE         config file (rootDir, insecureRegistries)\n"
        "      --insecure-registry HOST  reach HOST[:PORT] over plain HTTP when pulling\n"
        "                                (repeatable; adds to the config's list)\n";

static int add_insecure(struct image_args *a, const char *host)
{
        char **v = realloc(a->insecure, (a->n_insecure + 2) * sizeof(char *));
        if (!v)
                return -ENOMEM;
        a->insecure = v;
        v[a->n_insecure++] = (char *)host;
        v[a->n_insecure] = NULL;
        return 0;
}

/* Returns the index of the first operand, or -1 (help printed: exit 0) or -2 (usage error). */
static int parse_image_args(int argc, char **argv, struct image_args *a, void (*help)(void))
{
        enum { O_ROOT = 256, O_RUN, O_CONFIG, O_AUTH, O_CA, O_INSECURE, O_UNPACK, O_PAR, O_PRUNE };
        static const struct option opts[] = {
                { "root-dir", required_argument, NULL, O_ROOT },
                { "run-dir", required_argument, NULL, O_RUN },
                { "config", required_argument, NULL, O_CONFIG },
                { "auth-file", required_argument, NULL, O_AUTH },
                { "ca-file", required_argument, NULL, O_CA },
                { "insecure-registry", required_argument, NULL, O_INSECURE },
                { "unpack", no_argument, NULL, O_UNPACK },
                { "parallel", required_argument, NULL, O_PAR },
                { "prune", no_argument, NULL, O_PRUNE },
                { "output", required_argument, NULL, 'o' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        for (int c; (c = getopt_long(argc, argv, "o:h", opts, NULL)) >= 0;) {
                switch (c) {
                case O_ROOT:
                        a->root_dir = optarg;
                        break;
                case O_RUN:
                        a->run_dir = optarg;
                        break;
                case O_CONFIG:
                        a->config = optarg;
                        break;
                case O_AUTH:
                        a->auth_file = optarg;
                        break;
                case O_CA:
                        a->ca_file = optarg;
                        break;
                case O_INSECURE:
                        if (add_insecure(a, optarg) < 0)
                                return -2;
                        break;
                case O_UNPACK:
                        a->unpack = true;
                        break;
                case O_PRUNE:
                        a->prune = true;
                        break;
                case O_PAR:
                        a->parallel = (unsigned)strtoul(optarg, NULL, 10);
                        break;
                case 'o':
                        if (strcmp(optarg, "json") != 0 && strcmp(optarg, "table") != 0) {
                                log_error("unknown output format '%s'", optarg);
                                return -2;
                        }
                        a->json = strcmp(optarg, "json") == 0;
                        break;
                case 'h':
                        help();
                        return -1;
                default:
                        return -2;
                }
        }
        return optind;
}

/* Flags over the config file over the defaults; cfg is initialized. */
static int open_store(const struct image_args *a, struct qoslet_config *cfg,
                      struct image_store **ret)
{
        _cleanup_qerr_ struct qerr *e = NULL;
        if (a->config && config_load(cfg, a->config, NULL, &e) < 0) {
                log_error("%s", qerr_msg(e));
                return -1;
        }
        const char *root = a->root_dir     ? a->root_dir
                           : cfg->root_dir ? cfg->root_dir
                                           : DEFAULT_ROOT_DIR;
        if (image_store_open(root, ret, &e) < 0) {
                log_error("%s", qerr_msg(e));
                return -1;
        }
        return 0;
}

static void images_help(void)
{
        printf("usage: qosctl images [OPTIONS]\n\nLists the images in the local store.\n\n"
               "  -o, --output table|json   output format (default table)\n%s",
               common_help);
}

static int64_t image_size(const struct image_store *s, const char *ref)
{
        _cleanup_image_manifest_ struct image_manifest *m = NULL;
        if (image_store_load(s, ref, &m, NULL, NULL) < 0)
                return -1;
        int64_t n = m->config.size;
        for (size_t i = 0; i < m->n_layers; i++)
                n += m->layers[i].size;
        return n;
}

static void print_images(const struct image_store *s, const struct image_entry *v, size_t n,
                         bool json)
{
        json_t *arr = json ? json_array() : NULL;
        if (!json)
                printf("%-60s %-19s %10s\n", "IMAGE", "DIGEST", "SIZE");
        for (size_t i = 0; i < n; i++) {
                int64_t size = image_size(s, v[i].ref);
                if (json) {
                        json_array_append_new(arr,
                                              json_pack("{s:s, s:s, s:s, s:I}", "ref", v[i].ref,
                                                        "digest", v[i].desc.digest, "mediaType",
                                                        v[i].desc.media_type ?: "", "size",
                                                        (json_int_t)size));
                        continue;
                }
                char sz[32] = "-";
                if (size >= 0)
                        snprintf(sz, sizeof(sz), "%.1fMB", (double)size / 1e6);
                printf("%-60s %.19s %10s\n", v[i].ref, v[i].desc.digest, sz);
        }
        if (json) {
                json_t *top = json_pack("{s:o}", "images", arr);
                json_dumpf(top, stdout, JSON_INDENT(2));
                json_decref(top);
                printf("\n");
        }
}

int verb_images(int argc, char **argv)
{
        struct image_args a = { 0 };
        int k = parse_image_args(argc, argv, &a, images_help);
        free(a.insecure);
        if (k < 0)
                return k == -1 ? 0 : 2;
        _cleanup_(config_done) struct qoslet_config cfg;
        config_init(&cfg);
        _cleanup_image_store_ struct image_store *s = NULL;
        if (open_store(&a, &cfg, &s) < 0)
                return 1;
        struct image_entry *v = NULL;
        size_t n = 0;
        _cleanup_qerr_ struct qerr *e = NULL;
        if (image_store_list(s, &v, &n, &e) < 0) {
                log_error("%s", qerr_msg(e));
                return 1;
        }
        print_images(s, v, n, a.json);
        image_entries_free(v, n);
        return 0;
}

static void pull_help(void)
{
        printf("usage: qosctl pull [OPTIONS] IMAGE\n\n"
               "Pulls an image from its registry into the local store.\n\n"
               "      --auth-file FILE      docker-style config.json with credentials (default:\n"
               "                            $REGISTRY_AUTH_FILE, $DOCKER_CONFIG/config.json,\n"
               "                            ~/.docker/config.json)\n"
               "      --ca-file FILE        CA bundle to verify registries with\n"
               "      --parallel N          layer downloads at once (default 3)\n"
               "      --unpack              also unpack the layers into the layer cache\n%s",
               common_help);
}

static char *default_auth_file(void)
{
        const char *env = getenv("REGISTRY_AUTH_FILE");
        char *p = NULL;
        if (env && *env)
                return strdup(env);
        if ((env = getenv("DOCKER_CONFIG")) && *env)
                return asprintf(&p, "%s/config.json", env) < 0 ? NULL : p;
        if ((env = getenv("HOME")) && *env)
                return asprintf(&p, "%s/.docker/config.json", env) < 0 ? NULL : p;
        return NULL;
}

static int merge_insecure(struct image_args *a, const struct qoslet_config *cfg)
{
        STRV_FOREACH (h, cfg->insecure_registries)
                if (add_insecure(a, *h) < 0)
                        return -ENOMEM;
        return 0;
}

static int do_pull(const struct image_store *s, struct image_args *a, const char *ref)
{
        _cleanup_free_ char *auth = a->auth_file ? NULL : default_auth_file();
        struct registry_opts o = {
                .auth_file = a->auth_file ? a->auth_file : auth,
                .insecure_registries = a->insecure,
                .ca_file = a->ca_file,
                .max_parallel = a->parallel,
        };
        _cleanup_free_ char *full = NULL;
        struct pull_stats st = { 0 };
        _cleanup_qerr_ struct qerr *e = NULL;
        if (image_pull(s, ref, &o, &full, &st, &e) < 0) {
                log_error("%s", qerr_msg(e));
                return 1;
        }
        printf("pulled %s: %u blobs fetched (%.1f MB in %.2f s), %u already present\n", full,
               st.blobs_fetched, (double)st.bytes / 1e6, st.seconds, st.blobs_present);
        if (!a->unpack)
                return 0;
        _cleanup_strv_free_ char **dirs = NULL;
        size_t n = 0;
        if (image_store_unpack(s, full, &dirs, &n, &e) < 0) {
                log_error("%s", qerr_msg(e));
                return 1;
        }
        printf("unpacked %zu layers\n", n);
        return 0;
}

int verb_pull(int argc, char **argv)
{
        struct image_args a = { 0 };
        int k = parse_image_args(argc, argv, &a, pull_help);
        int ret = 2;
        _cleanup_(config_done) struct qoslet_config cfg;
        config_init(&cfg);
        _cleanup_image_store_ struct image_store *s = NULL;
        if (k == -1)
                ret = 0;
        else if (k >= 0 && argc - k != 1)
                log_error("pull takes one image reference");
        else if (k >= 0 && open_store(&a, &cfg, &s) < 0)
                ret = 1;
        else if (k >= 0 && merge_insecure(&a, &cfg) < 0)
                ret = 1;
        else if (k >= 0)
                ret = do_pull(s, &a, argv[k]);
        free(a.insecure);
        return ret;
}

static void import_help(void)
{
        printf("usage: qosctl import [OPTIONS] FILE [IMAGE]\n\n"
               "Imports an OCI archive (skopeo copy ... oci-archive:FILE) or a docker save\n"
               "tarball into the local store, under IMAGE or the names the archive holds.\n\n%s",
               common_help);
}

int verb_import(int argc, char **argv)
{
        struct image_args a = { 0 };
        int k = parse_image_args(argc, argv, &a, import_help);
        free(a.insecure);
        if (k < 0)
                return k == -1 ? 0 : 2;
        if (argc - k < 1 || argc - k > 2) {
                log_error("import takes a file and at most one image reference");
                return 2;
        }
        _cleanup_(config_done) struct qoslet_config cfg;
        config_init(&cfg);
        _cleanup_image_store_ struct image_store *s = NULL;
        if (open_store(&a, &cfg, &s) < 0)
                return 1;
        _cleanup_strv_free_ char **refs = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        if (image_import(s, argv[k], argc - k == 2 ? argv[k + 1] : NULL, &refs, &e) < 0) {
                log_error("%s", qerr_msg(e));
                return 1;
        }
        STRV_FOREACH (r, refs)
                printf("imported %s\n", *r);
        return 0;
}

static void rmi_help(void)
{
        printf("usage: qosctl rmi [OPTIONS] IMAGE...\n       qosctl rmi --prune [OPTIONS]\n\n"
               "Removes images from the local store, then the blobs and unpacked layers no\n"
               "image left and no pod uses. The content of an image a pod uses stays until\n"
               "the pod is gone.\n\n"
               "      --prune               remove every image no pod uses (as 'qosctl gc')\n%s",
               common_help);
}

static void gc_help(void)
{
        printf("usage: qosctl gc [OPTIONS]\n\n"
               "Removes the images no pod uses, then every blob and unpacked layer no image\n"
               "left references, and leftovers of interrupted pulls.\n\n%s",
               common_help);
}

static void print_gc(const struct image_gc_stats *st)
{
        printf("removed %u images, %u blobs (%.1f MB), %u unpacked layers\n", st->images, st->blobs,
               (double)st->bytes / 1e6, st->layers);
}

/* The full references of the operands, each of which the store must hold. */
static int rmi_refs(const struct image_store *s, char **argv, int n, char ***ret)
{
        _cleanup_strv_free_ char **v = calloc((size_t)n + 1, sizeof(char *));
        if (!v)
                return log_error("out of memory"), -1;
        for (int i = 0; i < n; i++) {
                _cleanup_image_ref_ struct image_ref *r = NULL;
                struct image_desc d = { 0 };
                _cleanup_qerr_ struct qerr *e = NULL;
                if (image_ref_parse(argv[i], &r, &e) < 0 ||
                    image_store_resolve(s, r->full, &d, &e) < 0) {
                        log_error("%s", qerr_msg(e));
                        return -1;
                }
                image_desc_done(&d);
                if (!(v[i] = strdup(r->full)))
                        return log_error("out of memory"), -1;
        }
        *ret = TAKE_PTR(v);
        return 0;
}

static int run_gc(const struct image_args *a, char **argv, int n)
{
        _cleanup_(config_done) struct qoslet_config cfg;
        config_init(&cfg);
        _cleanup_image_store_ struct image_store *s = NULL;
        if (open_store(a, &cfg, &s) < 0)
                return 1;
        _cleanup_strv_free_ char **refs = NULL;
        if (n > 0 && rmi_refs(s, argv, n, &refs) < 0)
                return 1;
        struct image_gc_opts o = { .prune = a->prune, .remove = refs };
        struct image_gc_stats st = { 0 };
        _cleanup_qerr_ struct qerr *e = NULL;
        if (image_store_gc(s, &o, &st, &e) < 0) {
                log_error("%s", qerr_msg(e));
                return 1;
        }
        print_gc(&st);
        return 0;
}

int verb_rmi(int argc, char **argv)
{
        struct image_args a = { 0 };
        int k = parse_image_args(argc, argv, &a, rmi_help);
        free(a.insecure);
        if (k < 0)
                return k == -1 ? 0 : 2;
        if ((argc - k == 0) == !a.prune) {
                log_error("rmi takes image references or --prune");
                return 2;
        }
        return run_gc(&a, argv + k, argc - k);
}

int verb_gc(int argc, char **argv)
{
        struct image_args a = { 0 };
        int k = parse_image_args(argc, argv, &a, gc_help);
        free(a.insecure);
        if (k < 0)
                return k == -1 ? 0 : 2;
        if (argc - k != 0) {
                log_error("gc takes no operands");
                return 2;
        }
        a.prune = true;
        return run_gc(&a, NULL, 0);
}
