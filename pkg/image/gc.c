/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <jansson.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "basic/fileio.h"
#include "image/digest.h"
#include "image/fsutil.h"
#include "image/gc.h"
#include "image/manifest.h"
#include "image/reference.h"
#include "ns/paths.h"

#define DOC_MAX (4u << 20)
#define USAGE_MAX (64u << 10)

int image_store_gc_lock(const struct image_store *s, bool exclusive, struct qerr **err)
{
        _cleanup_free_ char *p = NULL;
        if (asprintf(&p, "%s/gc.lock", s->root) < 0)
                return qerr_set(err, ENOMEM, "gc lock");
        _cleanup_close_ int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return qerr_set_errno(err, errno, "open lock '%s'", p);
        while (flock(fd, exclusive ? LOCK_EX : LOCK_SH) < 0)
                if (errno != EINTR)
                        return qerr_set_errno(err, errno, "lock '%s'", p);
        return TAKE_FD(fd);
}

int image_usage_record(const struct image_store *s, const char *ref, const char *dir,
                       struct qerr **err)
{
        struct image_desc d = { 0 };
        int r = image_store_resolve(s, ref, &d, err);
        if (r < 0)
                return r;
        json_t *j = json_pack("{s:s, s:s, s:s?}", "ref", ref, "digest", d.digest, "mediaType",
                              d.media_type);
        _cleanup_free_ char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
        _cleanup_free_ char *path = path_join(dir, IMAGE_USAGE_FILE);
        json_decref(j);
        image_desc_done(&d);
        if (!text || !path)
                return qerr_set(err, ENOMEM, "record image '%s'", ref);
        return write_file_atomic(path, text, strlen(text), 0644, err);
}

/* Sets of sha256 hex strings; stores hold tens of images, so a list does. */
struct hexset {
        char **v;
        size_t n;
};

static void hexset_done(struct hexset *h)
{
        for (size_t i = 0; i < h->n; i++)
                free(h->v[i]);
        free(h->v);
}

static bool hexset_has(const struct hexset *h, const char *hex)
{
        for (size_t i = 0; i < h->n; i++)
                if (strcmp(h->v[i], hex) == 0)
                        return true;
        return false;
}

/* Returns 1 when added, 0 when already there or not a digest, -ENOMEM. */
static int hexset_add(struct hexset *h, const char *digest)
{
        if (!digest || image_digest_validate(digest, NULL) < 0)
                return 0;
        const char *hex = digest_hex(digest);
        if (hexset_has(h, hex))
                return 0;
        char **v = realloc(h->v, (h->n + 1) * sizeof(char *));
        if (!v)
                return -ENOMEM;
        h->v = v;
        if (!(v[h->n] = strdup(hex)))
                return -ENOMEM;
        h->n++;
        return 1;
}

struct marks {
        const struct image_store *s;
        struct hexset blobs, layers;
};

static int mark_manifest(struct marks *m, const char *buf, size_t len)
{
        _cleanup_image_manifest_ struct image_manifest *man = NULL;
        if (image_manifest_parse(buf, len, &man, NULL) < 0)
                return 0;
        int r = hexset_add(&m->blobs, man->config.digest);
        for (size_t i = 0; r >= 0 && i < man->n_layers; i++)
                r = hexset_add(&m->blobs, man->layers[i].digest);
        _cleanup_free_ char *cbuf = NULL;
        size_t clen = 0;
        _cleanup_image_config_ struct image_config *c = NULL;
        if (r < 0 ||
            image_store_read_blob(m->s, man->config.digest, DOC_MAX, &cbuf, &clen, NULL) < 0 ||
            image_config_parse(cbuf, clen, &c, NULL) < 0)
                return r < 0 ? r : 0;
        for (size_t i = 0; r >= 0 && i < c->n_diff_ids; i++)
                r = hexset_add(&m->layers, c->diff_ids[i]);
        return r < 0 ? r : 0;
}

/* Marks a manifest or an index and all it references; depth bounds nested indexes. */
static int mark_doc(struct marks *m, const char *digest, const char *media_type, int depth)
{
        int r = hexset_add(&m->blobs, digest);
        if (r <= 0 || depth > 4)
                return r;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        if (image_store_read_blob(m->s, digest, DOC_MAX, &buf, &len, NULL) < 0)
                return 0;
        if (image_doc_kind(media_type, buf, len) == IMAGE_DOC_MANIFEST)
                return mark_manifest(m, buf, len);
        json_t *j = json_loadb(buf, len, 0, NULL);
        json_t *list = json_object_get(j, "manifests");
        for (size_t i = 0; r >= 0 && i < json_array_size(list); i++) {
                json_t *e = json_array_get(list, i);
                r = mark_doc(m, json_string_value(json_object_get(e, "digest")),
                             json_string_value(json_object_get(e, "mediaType")), depth + 1);
        }
        json_decref(j);
        return r < 0 ? r : 0;
}

/* The usage records of every pod's rootfs, as {ref, digest, mediaType} objects. */
static int load_usage(const struct image_store *s, json_t **ret, struct qerr **err)
{
        _cleanup_free_ char *pattern = path_join(s->root, IMAGE_USAGE_GLOB);
        json_t *all = json_array();
        if (!pattern || !all)
                return json_decref(all), qerr_set(err, ENOMEM, "find image users");
        glob_t g = { 0 };
        int k = glob(pattern, GLOB_NOSORT, NULL, &g);
        for (size_t i = 0; k == 0 && i < g.gl_pathc; i++) {
                _cleanup_free_ char *buf = NULL;
                size_t len = 0;
                if (read_full_file(g.gl_pathv[i], USAGE_MAX, &buf, &len, NULL) < 0)
                        continue; /* the pod went meanwhile */
                json_t *u = json_loadb(buf, len, 0, NULL);
                if (json_is_string(json_object_get(u, "digest")))
                        json_array_append(all, u);
                json_decref(u);
        }
        globfree(&g);
        if (k != 0 && k != GLOB_NOMATCH) {
                json_decref(all);
                return qerr_set(err, EIO, "find image users in '%s'", s->root);
        }
        *ret = all;
        return 0;
}

static bool used_digest(json_t *usage, const char *digest)
{
        size_t i;
        json_t *u;
        json_array_foreach(usage, i, u) if (strcmp(json_string_value(json_object_get(u, "digest")),
                                                   digest) == 0) return true;
        return false;
}

static bool in_strv(char *const *v, const char *s)
{
        for (; v && *v; v++)
                if (strcmp(*v, s) == 0)
                        return true;
        return false;
}

/* Untags the images o asks for; marks what the images left and the pods reference. */
static int untag_and_mark(const struct image_store *s, const struct image_gc_opts *o, json_t *usage,
                          struct marks *m, unsigned *ret_untagged, struct qerr **err)
{
        struct image_entry *v = NULL;
        size_t n = 0;
        int r = image_store_list(s, &v, &n, err);
        if (r < 0)
                return r;
        unsigned untagged = 0;
        for (size_t i = 0; r >= 0 && i < n; i++) {
                bool drop = in_strv(o->remove, v[i].ref) ||
                            (o->prune && !used_digest(usage, v[i].desc.digest));
                if (drop && (r = image_store_untag(s, v[i].ref, err)) >= 0)
                        untagged++;
                else if (!drop)
                        r = mark_doc(m, v[i].desc.digest, v[i].desc.media_type, 0);
        }
        image_entries_free(v, n);
        size_t i;
        json_t *u;
        json_array_foreach(usage, i, u)
        {
                if (r < 0)
                        break;
                r = mark_doc(m, json_string_value(json_object_get(u, "digest")),
                             json_string_value(json_object_get(u, "mediaType")), 0);
        }
        if (r == -ENOMEM)
                qerr_set(err, ENOMEM, "garbage collection");
        *ret_untagged = untagged;
        return r;
}

/* Removes the entries of dir whose names keep does not hold (or all, keep NULL); counts them
 * and, for files, their bytes. */
static int sweep_dir(const char *dir, const struct hexset *keep, unsigned *ret_n,
                     uint64_t *ret_bytes, struct qerr **err)
{
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return errno == ENOENT ? 0 : qerr_set_errno(err, errno, "open '%s'", dir);
        _cleanup_(closedirp) DIR *d = fdopendir(dup(dfd));
        if (!d)
                return qerr_set_errno(err, errno, "open '%s'", dir);
        for (struct dirent *de; (de = readdir(d));) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
                    (keep && hexset_has(keep, de->d_name)))
                        continue;
                struct stat st;
                if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                int r = rm_rf_at(dfd, de->d_name, err);
                if (r < 0)
                        return qerr_wrap_r(r, err, "garbage collection in '%s'", dir);
                (*ret_n)++;
                if (ret_bytes && S_ISREG(st.st_mode))
                        *ret_bytes += (uint64_t)st.st_size;
        }
        return 0;
}

static int sweep(const struct image_store *s, const struct marks *m, struct image_gc_stats *st,
                 struct qerr **err)
{
        _cleanup_free_ char *layers = path_join(s->layers, "sha256");
        if (!layers)
                return qerr_set(err, ENOMEM, "garbage collection");
        unsigned leftovers = 0;
        int r = sweep_dir(s->blobs, &m->blobs, &st->blobs, &st->bytes, err);
        if (r >= 0)
                r = sweep_dir(layers, &m->layers, &st->layers, NULL, err);
        if (r >= 0)
                r = sweep_dir(s->ingest, NULL, &leftovers, NULL, err);
        /* Interrupted unpacks leave layers/tmp-*; layers/sha256 is kept by name. */
        _cleanup_(closedirp) DIR *d = r >= 0 ? opendir(s->layers) : NULL;
        for (struct dirent *de; r >= 0 && d && (de = readdir(d));) {
                if (strncmp(de->d_name, "tmp-", 4) != 0)
                        continue;
                _cleanup_free_ char *p = path_join(s->layers, de->d_name);
                r = p ? rm_rf(p, err) : qerr_set(err, ENOMEM, "garbage collection");
        }
        return r;
}

int image_store_gc(const struct image_store *s, const struct image_gc_opts *o,
                   struct image_gc_stats *ret, struct qerr **err)
{
        static const struct image_gc_opts none = { 0 };
        _cleanup_close_ int lock = image_store_gc_lock(s, true, err);
        if (lock < 0)
                return lock;
        json_t *usage = NULL;
        int r = load_usage(s, &usage, err);
        if (r < 0)
                return r;
        struct marks m = { .s = s };
        struct image_gc_stats st = { 0 };
        r = untag_and_mark(s, o ? o : &none, usage, &m, &st.images, err);
        json_decref(usage);
        if (r >= 0)
                r = sweep(s, &m, &st, err);
        hexset_done(&m.blobs);
        hexset_done(&m.layers);
        if (r < 0)
                return r;
        if (ret)
                *ret = st;
        return 0;
}
