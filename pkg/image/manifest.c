/* SPDX-License-Identifier: Apache-2.0 */
#include <jansson.h>
#include <string.h>

#include "basic/strbuf.h"
#include "image/gc.h"
#include "image/manifest.h"
#include "image/reference.h"
#include "image/unpack.h"

#define DOC_MAX (4u << 20)

static bool str_eq(const char *a, const char *b)
{
        return a && b && strcmp(a, b) == 0;
}

enum image_doc_kind image_doc_kind(const char *media_type, const char *buf, size_t len)
{
        if (str_eq(media_type, MEDIA_OCI_INDEX) || str_eq(media_type, MEDIA_DOCKER_LIST))
                return IMAGE_DOC_INDEX;
        if (str_eq(media_type, MEDIA_OCI_MANIFEST) || str_eq(media_type, MEDIA_DOCKER_MANIFEST))
                return IMAGE_DOC_MANIFEST;
        if (!buf)
                return IMAGE_DOC_UNKNOWN;
        json_t *j = json_loadb(buf, len, 0, NULL);
        enum image_doc_kind k = IMAGE_DOC_UNKNOWN;
        const char *mt = json_string_value(json_object_get(j, "mediaType"));
        if (mt && !str_eq(mt, media_type))
                k = image_doc_kind(mt, NULL, 0);
        else if (json_is_array(json_object_get(j, "manifests")))
                k = IMAGE_DOC_INDEX;
        else if (json_is_object(json_object_get(j, "config")))
                k = IMAGE_DOC_MANIFEST;
        json_decref(j);
        return k;
}

static int desc_from_json(json_t *o, struct image_desc *d, const char *what, struct qerr **err)
{
        const char *mt = json_string_value(json_object_get(o, "mediaType"));
        const char *dg = json_string_value(json_object_get(o, "digest"));
        json_t *size = json_object_get(o, "size");
        if (!json_is_object(o) || !dg || !json_is_integer(size) || json_integer_value(size) < 0)
                return qerr_set(err, EBADMSG, "%s: a descriptor lacks digest or size", what);
        if (image_digest_validate(dg, NULL) < 0)
                return qerr_set(err, EBADMSG, "%s: invalid digest '%s'", what, dg);
        struct image_desc tmp = { (char *)mt, (char *)dg, json_integer_value(size) };
        if (image_desc_copy(&tmp, d) < 0)
                return qerr_set(err, ENOMEM, "%s", what);
        return 0;
}

void image_manifest_free(struct image_manifest *m)
{
        if (!m)
                return;
        free(m->media_type);
        image_desc_done(&m->config);
        for (size_t i = 0; i < m->n_layers; i++)
                image_desc_done(&m->layers[i]);
        free(m->layers);
        free(m);
}

static int manifest_from_json(json_t *j, struct image_manifest *m, struct qerr **err)
{
        json_t *sv = json_object_get(j, "schemaVersion");
        if (!json_is_integer(sv) || json_integer_value(sv) != 2)
                return qerr_set(err, EPROTONOSUPPORT, "manifest schema version is not 2");
        const char *mt = json_string_value(json_object_get(j, "mediaType"));
        m->media_type = strdup(mt ? mt : MEDIA_OCI_MANIFEST);
        if (!m->media_type)
                return qerr_set(err, ENOMEM, "parse manifest");
        int r = desc_from_json(json_object_get(j, "config"), &m->config, "manifest config", err);
        if (r < 0)
                return r;
        json_t *layers = json_object_get(j, "layers");
        if (!json_is_array(layers))
                return qerr_set(err, EBADMSG, "manifest has no layers array");
        m->layers = calloc(json_array_size(layers) + 1, sizeof(*m->layers));
        if (!m->layers)
                return qerr_set(err, ENOMEM, "parse manifest");
        size_t i;
        json_t *l;
        json_array_foreach(layers, i, l)
        {
                r = desc_from_json(l, &m->layers[i], "manifest layer", err);
                if (r < 0)
                        return r;
                m->n_layers++;
        }
        return 0;
}

int image_manifest_parse(const char *buf, size_t len, struct image_manifest **ret,
                         struct qerr **err)
{
        json_error_t je;
        json_t *j = json_loadb(buf, len, 0, &je);
        if (!j)
                return qerr_set(err, EBADMSG, "parse manifest: %s", je.text);
        _cleanup_image_manifest_ struct image_manifest *m = calloc(1, sizeof(*m));
        int r = m ? manifest_from_json(j, m, err) : qerr_set(err, ENOMEM, "parse manifest");
        json_decref(j);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

const char *image_host_arch(void)
{
#if defined(__x86_64__)
        return "amd64";
#elif defined(__aarch64__)
        return "arm64";
#elif defined(__i386__)
        return "386";
#elif defined(__arm__)
        return "arm";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        return "ppc64le";
#elif defined(__s390x__)
        return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
        return "riscv64";
#else
        return "unknown";
#endif
}

int image_index_select(const char *buf, size_t len, const char *os, const char *arch,
                       struct image_desc *ret, struct qerr **err)
{
        json_error_t je;
        json_t *j = json_loadb(buf, len, 0, &je);
        if (!j)
                return qerr_set(err, EBADMSG, "parse image index: %s", je.text);
        json_t *ms = json_object_get(j, "manifests");
        _cleanup_strbuf_ struct strbuf offered = { 0 };
        int r = 1;
        size_t i;
        json_t *m;
        json_array_foreach(ms, i, m)
        {
                json_t *p = json_object_get(m, "platform");
                const char *pos = json_string_value(json_object_get(p, "os"));
                const char *parch = json_string_value(json_object_get(p, "architecture"));
                if (str_eq(pos, os) && str_eq(parch, arch)) {
                        r = desc_from_json(m, ret, "image index", err);
                        break;
                }
                strbuf_printf(&offered, "%s%s/%s", offered.len ? ", " : "", pos ? pos : "?",
                              parch ? parch : "?");
        }
        json_decref(j);
        if (r == 1)
                return qerr_set(err, ENOENT, "no manifest for platform %s/%s in the index (%s)", os,
                                arch, offered.len ? offered.buf : "empty");
        return r;
}

void image_config_free(struct image_config *c)
{
        if (!c)
                return;
        free(c->os);
        free(c->architecture);
        strv_free(c->entrypoint);
        strv_free(c->cmd);
        strv_free(c->env);
        free(c->working_dir);
        free(c->user);
        free(c->stop_signal);
        strv_free(c->diff_ids);
        free(c);
}

/* A JSON array of strings to a NULL-terminated array; null or missing gives NULL. */
static int strv_from_json(json_t *a, const char *what, char ***ret, size_t *ret_n,
                          struct qerr **err)
{
        *ret = NULL;
        if (!a || json_is_null(a))
                return 0;
        if (!json_is_array(a))
                return qerr_set(err, EBADMSG, "image config: '%s' is not an array", what);
        _cleanup_strv_free_ char **v = calloc(json_array_size(a) + 1, sizeof(char *));
        if (!v)
                return qerr_set(err, ENOMEM, "image config");
        size_t i;
        json_t *s;
        json_array_foreach(a, i, s)
        {
                if (!json_is_string(s))
                        return qerr_set(err, EBADMSG, "image config: '%s' holds a non-string",
                                        what);
                if (!(v[i] = strdup(json_string_value(s))))
                        return qerr_set(err, ENOMEM, "image config");
        }
        if (ret_n)
                *ret_n = json_array_size(a);
        *ret = TAKE_PTR(v);
        return 0;
}

static int dup_opt(json_t *o, const char *key, char **ret, struct qerr **err)
{
        json_t *v = json_object_get(o, key);
        *ret = NULL;
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_string(v))
                return qerr_set(err, EBADMSG, "image config: '%s' is not a string", key);
        if (!(*ret = strdup(json_string_value(v))))
                return qerr_set(err, ENOMEM, "image config");
        return 0;
}

static int config_from_json(json_t *j, struct image_config *c, struct qerr **err)
{
        json_t *cfg = json_object_get(j, "config");
        json_t *rootfs = json_object_get(j, "rootfs");
        int r = dup_opt(j, "os", &c->os, err);
        if (r >= 0)
                r = dup_opt(j, "architecture", &c->architecture, err);
        if (r >= 0)
                r = strv_from_json(json_object_get(cfg, "Entrypoint"), "Entrypoint", &c->entrypoint,
                                   NULL, err);
        if (r >= 0)
                r = strv_from_json(json_object_get(cfg, "Cmd"), "Cmd", &c->cmd, NULL, err);
        if (r >= 0)
                r = strv_from_json(json_object_get(cfg, "Env"), "Env", &c->env, NULL, err);
        if (r >= 0)
                r = dup_opt(cfg, "WorkingDir", &c->working_dir, err);
        if (r >= 0)
                r = dup_opt(cfg, "User", &c->user, err);
        if (r >= 0)
                r = dup_opt(cfg, "StopSignal", &c->stop_signal, err);
        if (r >= 0)
                r = strv_from_json(json_object_get(rootfs, "diff_ids"), "rootfs.diff_ids",
                                   &c->diff_ids, &c->n_diff_ids, err);
        for (size_t i = 0; r >= 0 && i < c->n_diff_ids; i++)
                if (image_digest_validate(c->diff_ids[i], NULL) < 0)
                        r = qerr_set(err, EBADMSG, "image config: invalid diff id '%s'",
                                     c->diff_ids[i]);
        return r;
}

int image_config_parse(const char *buf, size_t len, struct image_config **ret, struct qerr **err)
{
        json_error_t je;
        json_t *j = json_loadb(buf, len, 0, &je);
        if (!j)
                return qerr_set(err, EBADMSG, "parse image config: %s", je.text);
        _cleanup_image_config_ struct image_config *c = calloc(1, sizeof(*c));
        int r = c ? config_from_json(j, c, err) : qerr_set(err, ENOMEM, "parse image config");
        json_decref(j);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

static size_t strv_len(char *const *v)
{
        size_t n = 0;
        while (v && v[n])
                n++;
        return n;
}

int image_config_argv(const struct image_config *c, char *const *command, char *const *args,
                      char ***ret_argv, struct qerr **err)
{
        char *const *head = c ? c->entrypoint : NULL;
        char *const *tail = c ? c->cmd : NULL;
        if (strv_len(command) > 0) {
                head = command;
                tail = NULL;
        }
        if (strv_len(args) > 0)
                tail = args;
        size_t nh = strv_len(head), nt = strv_len(tail);
        if (nh + nt == 0)
                return qerr_set(err, EINVAL,
                                "no command: the image has neither Entrypoint nor "
                                "Cmd, and the container sets no command");
        _cleanup_strv_free_ char **v = calloc(nh + nt + 1, sizeof(char *));
        if (!v)
                return qerr_set(err, ENOMEM, "build command line");
        for (size_t i = 0; i < nh + nt; i++)
                if (!(v[i] = strdup(i < nh ? head[i] : tail[i - nh])))
                        return qerr_set(err, ENOMEM, "build command line");
        *ret_argv = TAKE_PTR(v);
        return 0;
}

int image_store_platform_manifest(const struct image_store *s, const struct image_desc *desc,
                                  struct image_desc *ret, struct qerr **err)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int r = image_store_read_blob(s, desc->digest, DOC_MAX, &buf, &len, err);
        if (r < 0)
                return r;
        switch (image_doc_kind(desc->media_type, buf, len)) {
        case IMAGE_DOC_MANIFEST:
                return image_desc_copy(desc, ret) < 0 ? qerr_set(err, ENOMEM, "copy") : 0;
        case IMAGE_DOC_INDEX:
                return image_index_select(buf, len, "linux", image_host_arch(), ret, err);
        default:
                return qerr_set(err, EPROTONOSUPPORT, "'%s' is neither manifest nor index",
                                desc->digest);
        }
}

int image_store_check_complete(const struct image_store *s, const struct image_manifest *m,
                               struct qerr **err)
{
        if (!image_store_has_blob(s, m->config.digest))
                return qerr_set(err, ENOENT, "config blob '%s' is missing", m->config.digest);
        for (size_t i = 0; i < m->n_layers; i++)
                if (!image_store_has_blob(s, m->layers[i].digest))
                        return qerr_set(err, ENOENT, "layer blob '%s' is missing",
                                        m->layers[i].digest);
        return 0;
}

static int load_resolved(const struct image_store *s, const struct image_desc *top,
                         struct image_manifest **ret_m, struct image_config **ret_c,
                         struct qerr **err)
{
        struct image_desc md = { 0 };
        int r = image_store_platform_manifest(s, top, &md, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *mbuf = NULL, *cbuf = NULL;
        size_t mlen = 0, clen = 0;
        r = image_store_read_blob(s, md.digest, DOC_MAX, &mbuf, &mlen, err);
        image_desc_done(&md);
        if (r < 0)
                return r;
        _cleanup_image_manifest_ struct image_manifest *m = NULL;
        _cleanup_image_config_ struct image_config *c = NULL;
        r = image_manifest_parse(mbuf, mlen, &m, err);
        if (r >= 0)
                r = image_store_read_blob(s, m->config.digest, DOC_MAX, &cbuf, &clen, err);
        if (r >= 0)
                r = image_config_parse(cbuf, clen, &c, err);
        if (r >= 0 && c->n_diff_ids != m->n_layers)
                r = qerr_set(err, EBADMSG, "the manifest has %zu layers, the config %zu diff ids",
                             m->n_layers, c->n_diff_ids);
        if (r < 0)
                return r;
        if (ret_m)
                *ret_m = TAKE_PTR(m);
        if (ret_c)
                *ret_c = TAKE_PTR(c);
        return 0;
}

int image_store_load(const struct image_store *s, const char *ref,
                     struct image_manifest **ret_manifest, struct image_config **ret_config,
                     struct qerr **err)
{
        struct image_desc top = { 0 };
        int r = image_store_resolve(s, ref, &top, err);
        if (r < 0)
                return r;
        r = load_resolved(s, &top, ret_manifest, ret_config, err);
        image_desc_done(&top);
        if (r < 0)
                return qerr_wrap_r(r, err, "load image '%s'", ref);
        return 0;
}

int image_store_unpack(const struct image_store *s, const char *ref, char ***ret_dirs,
                       size_t *ret_n, struct qerr **err)
{
        _cleanup_close_ int lock = image_store_gc_lock(s, false, err);
        if (lock < 0)
                return lock;
        _cleanup_image_manifest_ struct image_manifest *m = NULL;
        _cleanup_image_config_ struct image_config *c = NULL;
        int r = image_store_load(s, ref, &m, &c, err);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **dirs = calloc(m->n_layers + 1, sizeof(char *));
        if (!dirs)
                return qerr_set(err, ENOMEM, "unpack '%s'", ref);
        for (size_t i = 0; i < m->n_layers; i++) {
                r = image_layer_ensure(s, &m->layers[i], c->diff_ids[i], &dirs[i], NULL, err);
                if (r < 0)
                        return qerr_wrap_r(r, err, "unpack image '%s'", ref);
        }
        *ret_dirs = TAKE_PTR(dirs);
        if (ret_n)
                *ret_n = m->n_layers;
        return 0;
}
