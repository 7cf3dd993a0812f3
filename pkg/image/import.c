/* SPDX-License-Identifier: Apache-2.0 */
#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <string.h>

#include "image/gc.h"
#include "image/import.h"
#include "image/manifest.h"
#include "image/reference.h"

#define META_MAX (16u << 20)
#define COPY_BUF (256u << 10)

/* What the first pass finds: the small metadata files at the archive's top. */
struct archive_meta {
        char *index; /* index.json (OCI layout) */
        size_t index_len;
        char *manifest; /* manifest.json (docker save) */
        size_t manifest_len;
        bool oci_layout; /* oci-layout present */
};

/* A blob of a docker save archive, by its name in the archive. */
struct named_blob {
        char *name;
        char *digest; /* NULL for a symlink not yet followed */
        char *link; /* symlink target, as a clean archive path */
        int64_t size;
        char compression; /* 0, 'g' or 'z' */
};

struct import_ctx {
        const struct image_store *store;
        const char *path;
        struct archive_meta meta;
        json_t *docker; /* parsed manifest.json */
        struct named_blob *blobs;
        size_t n_blobs;
        char *buf;
};

static void import_ctx_done(struct import_ctx *c)
{
        free(c->meta.index);
        free(c->meta.manifest);
        json_decref(c->docker);
        for (size_t i = 0; i < c->n_blobs; i++) {
                free(c->blobs[i].name);
                free(c->blobs[i].digest);
                free(c->blobs[i].link);
        }
        free(c->blobs);
        free(c->buf);
}

static const char *strip_dot(const char *p)
{
        while (p) {
                if (p[0] == '/')
                        p++;
                else if (p[0] == '.' && p[1] == '/')
                        p += 2;
                else
                        break;
        }
        return p;
}

static int open_archive(const char *path, struct archive **ret, struct qerr **err)
{
        struct archive *a = archive_read_new();
        if (!a)
                return qerr_set(err, ENOMEM, "open '%s'", path);
        archive_read_support_filter_gzip(a);
        archive_read_support_filter_zstd(a);
        archive_read_support_filter_xz(a);
        archive_read_support_filter_bzip2(a);
        archive_read_support_format_tar(a);
        if (archive_read_open_filename(a, path, COPY_BUF) != ARCHIVE_OK) {
                int r = qerr_set(err, EBADMSG, "open archive '%s': %s", path,
                                 archive_error_string(a));
                archive_read_free(a);
                return r;
        }
        *ret = a;
        return 0;
}

static int read_entry_data(struct archive *a, struct archive_entry *e, const char *name, char **ret,
                           size_t *ret_len, struct qerr **err)
{
        la_int64_t size = archive_entry_size(e);
        if (size < 0 || (uint64_t)size > META_MAX)
                return qerr_set(err, EFBIG, "'%s' in the archive is too large", name);
        _cleanup_free_ char *buf = malloc((size_t)size + 1);
        if (!buf)
                return qerr_set(err, ENOMEM, "read '%s'", name);
        la_ssize_t n = archive_read_data(a, buf, (size_t)size);
        if (n != size)
                return qerr_set(err, EBADMSG, "read '%s': %s", name,
                                n < 0 ? archive_error_string(a) : "short read");
        buf[size] = 0;
        *ret = TAKE_PTR(buf);
        *ret_len = (size_t)size;
        return 0;
}

static int scan_meta(struct import_ctx *c, struct qerr **err)
{
        struct archive *a = NULL;
        int r = open_archive(c->path, &a, err);
        if (r < 0)
                return r;
        struct archive_entry *e;
        while (r >= 0 && (r = archive_read_next_header(a, &e)) != ARCHIVE_EOF) {
                if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
                        r = qerr_set(err, EBADMSG, "read archive '%s': %s", c->path,
                                     archive_error_string(a));
                        break;
                }
                r = 0;
                const char *name = strip_dot(archive_entry_pathname(e));
                if (!name || archive_entry_filetype(e) != AE_IFREG)
                        continue;
                if (strcmp(name, "index.json") == 0 && !c->meta.index)
                        r = read_entry_data(a, e, name, &c->meta.index, &c->meta.index_len, err);
                else if (strcmp(name, "manifest.json") == 0 && !c->meta.manifest)
                        r = read_entry_data(a, e, name, &c->meta.manifest, &c->meta.manifest_len,
                                            err);
                else if (strcmp(name, "oci-layout") == 0)
                        c->meta.oci_layout = true;
        }
        archive_read_free(a);
        return r < 0 ? r : 0;
}

/* Streams the current entry into the store; ret_magic gets its first bytes. */
static int store_entry(struct import_ctx *c, struct archive *a, struct archive_entry *e,
                       const char *expected, char **ret_digest, unsigned char ret_magic[4],
                       struct qerr **err)
{
        _cleanup_blob_writer_ struct blob_writer *w = NULL;
        int r = image_blob_begin(c->store, expected, archive_entry_size(e), &w, err);
        if (r < 0)
                return r;
        la_ssize_t n;
        bool first = true;
        while ((n = archive_read_data(a, c->buf, COPY_BUF)) > 0) {
                if (first && ret_magic)
                        memcpy(ret_magic, c->buf, (size_t)MIN(n, 4));
                first = false;
                r = image_blob_write(w, c->buf, (size_t)n, err);
                if (r < 0)
                        return r;
        }
        if (n < 0)
                return qerr_set(err, EBADMSG, "read '%s': %s", archive_entry_pathname(e),
                                archive_error_string(a));
        return image_blob_commit(w, ret_digest, err);
}

static int store_oci_blob(struct import_ctx *c, struct archive *a, struct archive_entry *e,
                          const char *name, struct qerr **err)
{
        const char *hex = name + strlen("blobs/sha256/");
        _cleanup_free_ char *digest = NULL;
        if (asprintf(&digest, "sha256:%s", hex) < 0)
                return qerr_set(err, ENOMEM, "import '%s'", name);
        if (image_digest_validate(digest, NULL) < 0)
                return 0;
        if (image_store_has_blob(c->store, digest))
                return 0;
        int r = store_entry(c, a, e, digest, NULL, NULL, err);
        return r < 0 ? qerr_wrap_r(r, err, "import '%s'", name) : 0;
}

static struct named_blob *find_named(struct import_ctx *c, const char *name)
{
        for (size_t i = 0; i < c->n_blobs; i++)
                if (strcmp(c->blobs[i].name, name) == 0)
                        return &c->blobs[i];
        return NULL;
}

/* docker save names its blobs in manifest.json; newer versions make some of them symlinks
 * to others, relative to the link's directory. */
static char *resolve_link(const char *name, const char *target)
{
        if (target[0] == '/')
                return strdup(strip_dot(target));
        const char *slash = strrchr(name, '/');
        size_t dlen = slash ? (size_t)(slash - name) : 0;
        _cleanup_free_ char *dir = strndup(name, dlen);
        if (!dir)
                return NULL;
        const char *t = strip_dot(target);
        while (strncmp(t, "../", 3) == 0) {
                char *up = strrchr(dir, '/');
                if (up)
                        *up = 0;
                else
                        dir[0] = 0;
                t = strip_dot(t + 3);
        }
        char *out = NULL;
        if (asprintf(&out, "%s%s%s", dir, dir[0] ? "/" : "", t) < 0)
                return NULL;
        return out;
}

static int store_docker_blob(struct import_ctx *c, struct archive *a, struct archive_entry *e,
                             struct named_blob *b, struct qerr **err)
{
        if (archive_entry_filetype(e) == AE_IFLNK) {
                b->link = resolve_link(b->name, archive_entry_symlink(e));
                return b->link ? 0 : qerr_set(err, ENOMEM, "import '%s'", b->name);
        }
        if (archive_entry_filetype(e) != AE_IFREG)
                return qerr_set(err, EBADMSG, "'%s' in the archive is not a file", b->name);
        unsigned char magic[4] = { 0 };
        b->size = archive_entry_size(e);
        int r = store_entry(c, a, e, NULL, &b->digest, magic, err);
        if (r < 0)
                return qerr_wrap_r(r, err, "import '%s'", b->name);
        if (magic[0] == 0x1f && magic[1] == 0x8b)
                b->compression = 'g';
        else if (magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
                b->compression = 'z';
        return 0;
}

static int add_named(struct import_ctx *c, const char *name, struct qerr **err)
{
        if (!name)
                return qerr_set(err, EBADMSG, "manifest.json: an entry lacks a file name");
        if (find_named(c, strip_dot(name)))
                return 0;
        struct named_blob *v = realloc(c->blobs, (c->n_blobs + 1) * sizeof(*v));
        if (!v)
                return qerr_set(err, ENOMEM, "import");
        c->blobs = v;
        v[c->n_blobs] = (struct named_blob){ .name = strdup(strip_dot(name)) };
        if (!v[c->n_blobs].name)
                return qerr_set(err, ENOMEM, "import");
        c->n_blobs++;
        return 0;
}

static int docker_collect_names(struct import_ctx *c, struct qerr **err)
{
        json_error_t je;
        c->docker = json_loadb(c->meta.manifest, c->meta.manifest_len, 0, &je);
        if (!json_is_array(c->docker))
                return qerr_set(err, EBADMSG, "manifest.json is not a list: %s", je.text);
        size_t i, k;
        json_t *item, *l;
        json_array_foreach(c->docker, i, item)
        {
                int r = add_named(c, json_string_value(json_object_get(item, "Config")), err);
                if (r < 0)
                        return r;
                json_array_foreach(json_object_get(item, "Layers"), k, l)
                {
                        r = add_named(c, json_string_value(l), err);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int store_blobs(struct import_ctx *c, bool oci, struct qerr **err)
{
        struct archive *a = NULL;
        int r = open_archive(c->path, &a, err);
        if (r < 0)
                return r;
        struct archive_entry *e;
        while (r >= 0 && (r = archive_read_next_header(a, &e)) != ARCHIVE_EOF) {
                if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
                        r = qerr_set(err, EBADMSG, "read archive '%s': %s", c->path,
                                     archive_error_string(a));
                        break;
                }
                r = 0;
                const char *name = strip_dot(archive_entry_pathname(e));
                if (!name)
                        continue;
                if (oci && strncmp(name, "blobs/sha256/", 13) == 0 &&
                    archive_entry_filetype(e) == AE_IFREG) {
                        r = store_oci_blob(c, a, e, name, err);
                        continue;
                }
                struct named_blob *b = oci ? NULL : find_named(c, name);
                if (b && !b->digest && !b->link)
                        r = store_docker_blob(c, a, e, b, err);
        }
        archive_read_free(a);
        return r < 0 ? r : 0;
}

static int add_ref(char ***refs, size_t *n, const char *full, struct qerr **err)
{
        char **v = realloc(*refs, (*n + 2) * sizeof(char *));
        if (!v)
                return qerr_set(err, ENOMEM, "import");
        *refs = v;
        if (!(v[*n] = strdup(full)))
                return qerr_set(err, ENOMEM, "import");
        v[++*n] = NULL;
        return 0;
}

/* Checks the image is whole, then names it. */
static int tag_checked(struct import_ctx *c, const char *name, const struct image_desc *d,
                       char ***refs, size_t *n, struct qerr **err)
{
        _cleanup_image_ref_ struct image_ref *ref = NULL;
        int r = image_ref_parse(name, &ref, err);
        if (r < 0)
                return r;
        struct image_desc md = { 0 };
        r = image_store_platform_manifest(c->store, d, &md, err);
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        if (r >= 0)
                r = image_store_read_blob(c->store, md.digest, META_MAX, &buf, &len, err);
        image_desc_done(&md);
        _cleanup_image_manifest_ struct image_manifest *m = NULL;
        if (r >= 0)
                r = image_manifest_parse(buf, len, &m, err);
        if (r >= 0)
                r = image_store_check_complete(c->store, m, err);
        if (r >= 0)
                r = image_store_tag(c->store, ref->full, d, err);
        if (r < 0)
                return qerr_wrap_r(r, err, "import image '%s'", name);
        return add_ref(refs, n, ref->full, err);
}

static const char *oci_entry_name(json_t *m)
{
        json_t *ann = json_object_get(m, "annotations");
        const char *n = json_string_value(json_object_get(ann, "io.containerd.image.name"));
        return n ? n : json_string_value(json_object_get(ann, OCI_REF_NAME_ANNOTATION));
}

static int tag_oci(struct import_ctx *c, const char *ref, char ***refs, size_t *n,
                   struct qerr **err)
{
        json_error_t je;
        json_t *idx = json_loadb(c->meta.index, c->meta.index_len, 0, &je);
        json_t *ms = json_object_get(idx, "manifests");
        int r = 0;
        if (!json_is_array(ms) || json_array_size(ms) == 0)
                r = qerr_set(err, EBADMSG, "index.json of '%s' lists no image", c->path);
        if (r == 0 && ref && json_array_size(ms) > 1)
                r = qerr_set(err, EINVAL, "'%s' holds %zu images: import it without a name",
                             c->path, json_array_size(ms));
        size_t i;
        json_t *m;
        json_array_foreach(ms, i, m)
        {
                if (r < 0)
                        break;
                const char *name = ref ? ref : oci_entry_name(m);
                if (!name) {
                        r = qerr_set(err, EINVAL, "image %zu of '%s' has no name: give one", i,
                                     c->path);
                        break;
                }
                struct image_desc d = { 0 };
                d.media_type = (char *)json_string_value(json_object_get(m, "mediaType"));
                d.digest = (char *)json_string_value(json_object_get(m, "digest"));
                d.size = json_integer_value(json_object_get(m, "size"));
                if (!d.digest || !d.media_type)
                        r = qerr_set(err, EBADMSG, "index.json of '%s': bad entry %zu", c->path, i);
                else
                        r = tag_checked(c, name, &d, refs, n, err);
        }
        json_decref(idx);
        return r;
}

static struct named_blob *follow(struct import_ctx *c, const char *name)
{
        struct named_blob *b = find_named(c, strip_dot(name));
        for (int hops = 0; b && !b->digest && b->link && hops < 8; hops++)
                b = find_named(c, b->link);
        return b && b->digest ? b : NULL;
}

static json_t *docker_to_oci(struct import_ctx *c, json_t *item, struct qerr **err)
{
        const char *cfg_name = json_string_value(json_object_get(item, "Config"));
        struct named_blob *cfg = follow(c, cfg_name);
        if (!cfg) {
                qerr_set(err, EBADMSG, "'%s' is missing from the archive", cfg_name);
                return NULL;
        }
        json_t *layers = json_array();
        size_t i;
        json_t *l;
        json_array_foreach(json_object_get(item, "Layers"), i, l)
        {
                struct named_blob *b = follow(c, json_string_value(l));
                if (!b) {
                        qerr_set(err, EBADMSG, "'%s' is missing from the archive",
                                 json_string_value(l));
                        json_decref(layers);
                        return NULL;
                }
                const char *mt = b->compression == 'g'   ? MEDIA_OCI_LAYER_GZIP
                                 : b->compression == 'z' ? MEDIA_OCI_LAYER_ZSTD
                                                         : MEDIA_OCI_LAYER;
                json_array_append_new(layers,
                                      json_pack("{s:s, s:s, s:I}", "mediaType", mt, "digest",
                                                b->digest, "size", (json_int_t)b->size));
        }
        return json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:o}", "schemaVersion", 2, "mediaType",
                         MEDIA_OCI_MANIFEST, "config", "mediaType", MEDIA_OCI_CONFIG, "digest",
                         cfg->digest, "size", (json_int_t)cfg->size, "layers", layers);
}

static int tag_docker_item(struct import_ctx *c, json_t *item, const char *ref, char ***refs,
                           size_t *n, struct qerr **err)
{
        json_t *m = docker_to_oci(c, item, err);
        if (!m)
                return -EBADMSG;
        _cleanup_free_ char *text = json_dumps(m, JSON_COMPACT);
        json_decref(m);
        _cleanup_free_ char *digest = NULL;
        if (!text)
                return qerr_set(err, ENOMEM, "import");
        int r = image_store_put_blob(c->store, text, strlen(text), NULL, &digest, err);
        if (r < 0)
                return r;
        struct image_desc d = { MEDIA_OCI_MANIFEST, digest, (int64_t)strlen(text) };
        json_t *tags = json_object_get(item, "RepoTags");
        if (ref)
                return tag_checked(c, ref, &d, refs, n, err);
        if (json_array_size(tags) == 0)
                return qerr_set(err, EINVAL, "an image in '%s' has no RepoTags: give a name",
                                c->path);
        size_t i;
        json_t *t;
        json_array_foreach(tags, i, t)
        {
                r = tag_checked(c, json_string_value(t) ? json_string_value(t) : "", &d, refs, n,
                                err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int tag_docker(struct import_ctx *c, const char *ref, char ***refs, size_t *n,
                      struct qerr **err)
{
        size_t count = json_array_size(c->docker);
        if (count == 0)
                return qerr_set(err, EBADMSG, "manifest.json of '%s' lists no image", c->path);
        if (ref && count > 1)
                return qerr_set(err, EINVAL, "'%s' holds %zu images: import it without a name",
                                c->path, count);
        size_t i;
        json_t *item;
        json_array_foreach(c->docker, i, item)
        {
                int r = tag_docker_item(c, item, ref, refs, n, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int import_run(struct import_ctx *c, const char *ref, char ***refs, size_t *n,
                      struct qerr **err)
{
        int r = scan_meta(c, err);
        if (r < 0)
                return r;
        bool oci = c->meta.oci_layout && c->meta.index;
        if (!oci && !c->meta.manifest)
                return qerr_set(err, EBADMSG,
                                "'%s' is neither an OCI archive (oci-layout, index.json) nor a "
                                "docker save archive (manifest.json)",
                                c->path);
        if (!oci && (r = docker_collect_names(c, err)) < 0)
                return r;
        if (!(c->buf = malloc(COPY_BUF)))
                return qerr_set(err, ENOMEM, "import");
        r = store_blobs(c, oci, err);
        if (r < 0)
                return r;
        return oci ? tag_oci(c, ref, refs, n, err) : tag_docker(c, ref, refs, n, err);
}

int image_import(const struct image_store *s, const char *path, const char *ref, char ***ret_refs,
                 struct qerr **err)
{
        _cleanup_close_ int lock = image_store_gc_lock(s, false, err);
        if (lock < 0)
                return lock;
        struct import_ctx c = { .store = s, .path = path };
        _cleanup_strv_free_ char **refs = NULL;
        size_t n = 0;
        int r = import_run(&c, ref, &refs, &n, err);
        import_ctx_done(&c);
        if (r < 0)
                return qerr_wrap_r(r, err, "import '%s'", path);
        if (ret_refs)
                *ret_refs = TAKE_PTR(refs);
        return 0;
}
