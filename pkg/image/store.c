/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <jansson.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "basic/fileio.h"
#include "image/digest.h"
#include "image/fsutil.h"
#include "image/reference.h"
#include "image/store.h"

#define INDEX_MAX (16u << 20)

void image_store_free(struct image_store *s)
{
        if (!s)
                return;
        free(s->root);
        free(s->layout);
        free(s->blobs);
        free(s->ingest);
        free(s->layers);
        free(s->lock_path);
        free(s);
}

static int write_if_missing(const char *path, const char *content, struct qerr **err)
{
        if (access(path, F_OK) == 0)
                return 0;
        return write_file_atomic(path, content, strlen(content), 0644, err);
}

int image_store_open(const char *root_dir, struct image_store **ret, struct qerr **err)
{
        _cleanup_image_store_ struct image_store *s = calloc(1, sizeof(*s));
        if (!s)
                return qerr_set(err, ENOMEM, "open image store");
        s->root = strdup(root_dir);
        if (!s->root || asprintf(&s->layout, "%s/images", root_dir) < 0 ||
            asprintf(&s->blobs, "%s/images/blobs/sha256", root_dir) < 0 ||
            asprintf(&s->ingest, "%s/ingest", root_dir) < 0 ||
            asprintf(&s->layers, "%s/layers", root_dir) < 0 ||
            asprintf(&s->lock_path, "%s/images.lock", root_dir) < 0)
                return qerr_set(err, ENOMEM, "open image store");
        const char *dirs[] = { s->blobs, s->ingest, s->layers };
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                int r = mkdir_p(dirs[i], 0700, err);
                if (r < 0)
                        return qerr_wrap_r(r, err, "open image store '%s'", root_dir);
        }
        _cleanup_close_ int lock = image_store_lock(s, true, err);
        if (lock < 0)
                return lock;
        _cleanup_free_ char *oci_layout = NULL, *index = NULL;
        if (asprintf(&oci_layout, "%s/oci-layout", s->layout) < 0 ||
            asprintf(&index, "%s/index.json", s->layout) < 0)
                return qerr_set(err, ENOMEM, "open image store");
        int r = write_if_missing(oci_layout, "{\"imageLayoutVersion\":\"1.0.0\"}", err);
        if (r >= 0)
                r = write_if_missing(index, "{\"schemaVersion\":2,\"manifests\":[]}", err);
        if (r < 0)
                return qerr_wrap_r(r, err, "open image store '%s'", root_dir);
        *ret = TAKE_PTR(s);
        return 0;
}

int image_store_lock(const struct image_store *s, bool exclusive, struct qerr **err)
{
        _cleanup_close_ int fd = open(s->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
                                      0600);
        if (fd < 0)
                return qerr_set_errno(err, errno, "open lock '%s'", s->lock_path);
        while (flock(fd, exclusive ? LOCK_EX : LOCK_SH) < 0)
                if (errno != EINTR)
                        return qerr_set_errno(err, errno, "lock '%s'", s->lock_path);
        return TAKE_FD(fd);
}

void image_desc_done(struct image_desc *d)
{
        free(d->media_type);
        free(d->digest);
        d->media_type = d->digest = NULL;
        d->size = 0;
}

int image_desc_copy(const struct image_desc *from, struct image_desc *to)
{
        to->media_type = from->media_type ? strdup(from->media_type) : NULL;
        to->digest = strdup(from->digest);
        to->size = from->size;
        if ((from->media_type && !to->media_type) || !to->digest) {
                image_desc_done(to);
                return -ENOMEM;
        }
        return 0;
}

char *image_store_blob_path(const struct image_store *s, const char *digest)
{
        char *p = NULL;
        if (image_digest_validate(digest, NULL) < 0)
                return NULL;
        if (asprintf(&p, "%s/%s", s->blobs, digest_hex(digest)) < 0)
                return NULL;
        return p;
}

bool image_store_has_blob(const struct image_store *s, const char *digest)
{
        _cleanup_free_ char *p = image_store_blob_path(s, digest);
        struct stat st;
        return p && stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

struct blob_writer {
        const struct image_store *store;
        int fd;
        char *tmp;
        struct sha256_ctx *sha;
        uint64_t size;
        char *expected;
        int64_t expected_size;
        bool committed;
};

void image_blob_abort(struct blob_writer *w)
{
        if (!w)
                return;
        if (w->fd >= 0)
                close(w->fd);
        if (w->tmp && !w->committed)
                (void)unlink(w->tmp);
        free(w->tmp);
        sha256_free(w->sha);
        free(w->expected);
        free(w);
}

int image_blob_begin(const struct image_store *s, const char *expected_digest,
                     int64_t expected_size, struct blob_writer **ret, struct qerr **err)
{
        if (expected_digest && image_digest_validate(expected_digest, err) < 0)
                return -EINVAL;
        _cleanup_blob_writer_ struct blob_writer *w = calloc(1, sizeof(*w));
        if (!w)
                return qerr_set(err, ENOMEM, "begin blob");
        w->fd = -1;
        w->store = s;
        w->expected_size = expected_size;
        if (expected_digest && !(w->expected = strdup(expected_digest)))
                return qerr_set(err, ENOMEM, "begin blob");
        if (asprintf(&w->tmp, "%s/blob-XXXXXX", s->ingest) < 0) {
                w->tmp = NULL;
                return qerr_set(err, ENOMEM, "begin blob");
        }
        int r = sha256_new(&w->sha, err);
        if (r < 0)
                return r;
        w->fd = mkostemp(w->tmp, O_CLOEXEC);
        if (w->fd < 0) {
                free(w->tmp);
                w->tmp = NULL;
                return qerr_set_errno(err, errno, "create blob file in '%s'", s->ingest);
        }
        *ret = TAKE_PTR(w);
        return 0;
}

int image_blob_write(struct blob_writer *w, const void *buf, size_t n, struct qerr **err)
{
        if (w->expected_size >= 0 && w->size + n > (uint64_t)w->expected_size)
                return qerr_set(err, EBADMSG, "blob '%s' is larger than its %lld bytes",
                                w->expected ? w->expected : "?", (long long)w->expected_size);
        sha256_update(w->sha, buf, n);
        const char *p = buf;
        while (n > 0) {
                ssize_t k = write(w->fd, p, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return qerr_set_errno(err, k < 0 ? errno : EIO, "write '%s'", w->tmp);
                p += k;
                n -= (size_t)k;
                w->size += (uint64_t)k;
        }
        return 0;
}

uint64_t image_blob_written(const struct blob_writer *w)
{
        return w->size;
}

int image_blob_commit(struct blob_writer *w, char **ret_digest, struct qerr **err)
{
        char got[72];
        sha256_final_digest(w->sha, got);
        if (w->expected && strcmp(got, w->expected) != 0)
                return qerr_set(err, EBADMSG, "blob digest mismatch: expected '%s', got '%s'",
                                w->expected, got);
        if (w->expected_size >= 0 && w->size != (uint64_t)w->expected_size)
                return qerr_set(err, EBADMSG, "blob '%s' has %llu bytes, expected %lld", got,
                                (unsigned long long)w->size, (long long)w->expected_size);
        _cleanup_free_ char *dest = image_store_blob_path(w->store, got);
        _cleanup_free_ char *digest = strdup(got);
        if (!dest || !digest)
                return qerr_set(err, ENOMEM, "commit blob '%s'", got);
        if (fchmod(w->fd, 0644) < 0 || fsync(w->fd) < 0)
                return qerr_set_errno(err, errno, "sync blob '%s'", got);
        /* Same content, same name: a rename over a blob another writer committed first
         * replaces it with identical bytes. */
        if (rename(w->tmp, dest) < 0)
                return qerr_set_errno(err, errno, "store blob '%s'", got);
        w->committed = true;
        if (ret_digest)
                *ret_digest = TAKE_PTR(digest);
        return 0;
}

int image_store_put_blob(const struct image_store *s, const void *buf, size_t n,
                         const char *expected_digest, char **ret_digest, struct qerr **err)
{
        _cleanup_blob_writer_ struct blob_writer *w = NULL;
        int r = image_blob_begin(s, expected_digest, (int64_t)n, &w, err);
        if (r < 0)
                return r;
        r = image_blob_write(w, buf, n, err);
        if (r < 0)
                return r;
        return image_blob_commit(w, ret_digest, err);
}

int image_store_read_blob(const struct image_store *s, const char *digest, size_t max,
                          char **ret_buf, size_t *ret_len, struct qerr **err)
{
        _cleanup_free_ char *p = image_store_blob_path(s, digest);
        if (!p)
                return qerr_set(err, EINVAL, "invalid digest '%s'", digest);
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int r = read_full_file(p, max, &buf, &len, err);
        if (r < 0)
                return r;
        char got[72];
        r = sha256_digest_of(buf, len, got, err);
        if (r < 0)
                return r;
        if (strcmp(got, digest) != 0)
                return qerr_set(err, EBADMSG, "blob '%s' is corrupt: its content has digest '%s'",
                                digest, got);
        *ret_buf = TAKE_PTR(buf);
        if (ret_len)
                *ret_len = len;
        return 0;
}

/* index.json is read and written whole; callers hold the lock. */
static int index_load(const struct image_store *s, json_t **ret, struct qerr **err)
{
        _cleanup_free_ char *path = NULL, *buf = NULL;
        if (asprintf(&path, "%s/index.json", s->layout) < 0)
                return qerr_set(err, ENOMEM, "load index");
        size_t len = 0;
        int r = read_full_file(path, INDEX_MAX, &buf, &len, err);
        if (r < 0)
                return r;
        json_error_t je;
        json_t *root = json_loadb(buf, len, 0, &je);
        if (!root)
                return qerr_set(err, EBADMSG, "parse '%s': %s at line %d", path, je.text, je.line);
        json_t *m = json_object_get(root, "manifests");
        if (!json_is_object(root) || (m && !json_is_array(m))) {
                json_decref(root);
                return qerr_set(err, EBADMSG, "'%s' is not an OCI image index", path);
        }
        if (!m)
                json_object_set_new(root, "manifests", json_array());
        *ret = root;
        return 0;
}

static int index_save(const struct image_store *s, json_t *root, struct qerr **err)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_free_ char *text = json_dumps(root, JSON_COMPACT);
        if (!text || asprintf(&path, "%s/index.json", s->layout) < 0)
                return qerr_set(err, ENOMEM, "save index");
        return write_file_atomic(path, text, strlen(text), 0644, err);
}

static const char *entry_ref(json_t *m)
{
        json_t *ann = json_object_get(m, "annotations");
        return json_string_value(json_object_get(ann, OCI_REF_NAME_ANNOTATION));
}

static int entry_desc(json_t *m, struct image_desc *d)
{
        const char *mt = json_string_value(json_object_get(m, "mediaType"));
        const char *dg = json_string_value(json_object_get(m, "digest"));
        json_t *size = json_object_get(m, "size");
        if (!dg || image_digest_validate(dg, NULL) < 0 || !json_is_integer(size))
                return -EBADMSG;
        struct image_desc tmp = { (char *)mt, (char *)dg, json_integer_value(size) };
        return image_desc_copy(&tmp, d);
}

/* Removes every entry named ref; returns how many. */
static size_t index_remove_ref(json_t *manifests, const char *ref)
{
        size_t removed = 0;
        for (size_t i = 0; i < json_array_size(manifests);) {
                const char *r = entry_ref(json_array_get(manifests, i));
                if (r && strcmp(r, ref) == 0) {
                        json_array_remove(manifests, i);
                        removed++;
                } else {
                        i++;
                }
        }
        return removed;
}

int image_store_tag(const struct image_store *s, const char *ref, const struct image_desc *desc,
                    struct qerr **err)
{
        if (image_digest_validate(desc->digest, NULL) < 0 || !desc->media_type)
                return qerr_set(err, EINVAL, "tag '%s': bad descriptor", ref);
        _cleanup_close_ int lock = image_store_lock(s, true, err);
        if (lock < 0)
                return lock;
        json_t *root = NULL;
        int r = index_load(s, &root, err);
        if (r < 0)
                return r;
        json_t *manifests = json_object_get(root, "manifests");
        index_remove_ref(manifests, ref);
        json_t *e = json_pack("{s:s, s:s, s:I, s:{s:s}}", "mediaType", desc->media_type, "digest",
                              desc->digest, "size", (json_int_t)desc->size, "annotations",
                              OCI_REF_NAME_ANNOTATION, ref);
        if (!e || json_array_append_new(manifests, e) < 0)
                r = qerr_set(err, ENOMEM, "tag '%s'", ref);
        else
                r = index_save(s, root, err);
        json_decref(root);
        return r;
}

int image_store_untag(const struct image_store *s, const char *ref, struct qerr **err)
{
        _cleanup_close_ int lock = image_store_lock(s, true, err);
        if (lock < 0)
                return lock;
        json_t *root = NULL;
        int r = index_load(s, &root, err);
        if (r < 0)
                return r;
        if (index_remove_ref(json_object_get(root, "manifests"), ref) == 0)
                r = qerr_set(err, ENOENT, "no image '%s' in the store", ref);
        else
                r = index_save(s, root, err);
        json_decref(root);
        return r;
}

int image_store_resolve(const struct image_store *s, const char *ref, struct image_desc *ret,
                        struct qerr **err)
{
        _cleanup_close_ int lock = image_store_lock(s, false, err);
        if (lock < 0)
                return lock;
        json_t *root = NULL;
        int r = index_load(s, &root, err);
        if (r < 0)
                return r;
        json_t *manifests = json_object_get(root, "manifests");
        r = -ENOENT;
        for (size_t i = json_array_size(manifests); i > 0; i--) {
                json_t *m = json_array_get(manifests, i - 1);
                const char *name = entry_ref(m);
                if (!name || strcmp(name, ref) != 0)
                        continue;
                r = entry_desc(m, ret);
                break;
        }
        json_decref(root);
        if (r == -ENOENT)
                return qerr_set(err, ENOENT, "no image '%s' in the store", ref);
        if (r < 0)
                return qerr_set(err, -r, "bad index entry for '%s'", ref);
        return 0;
}

void image_entries_free(struct image_entry *e, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(e[i].ref);
                image_desc_done(&e[i].desc);
        }
        free(e);
}

int image_store_list(const struct image_store *s, struct image_entry **ret, size_t *ret_n,
                     struct qerr **err)
{
        _cleanup_close_ int lock = image_store_lock(s, false, err);
        if (lock < 0)
                return lock;
        json_t *root = NULL;
        int r = index_load(s, &root, err);
        if (r < 0)
                return r;
        json_t *manifests = json_object_get(root, "manifests");
        size_t n = 0, cap = json_array_size(manifests);
        struct image_entry *v = calloc(cap + 1, sizeof(*v));
        for (size_t i = 0; v && i < cap; i++) {
                json_t *m = json_array_get(manifests, i);
                const char *name = entry_ref(m);
                if (!name || entry_desc(m, &v[n].desc) < 0)
                        continue;
                if (!(v[n].ref = strdup(name))) {
                        image_desc_done(&v[n].desc);
                        continue;
                }
                n++;
        }
        json_decref(root);
        if (!v)
                return qerr_set(err, ENOMEM, "list images");
        *ret = v;
        *ret_n = n;
        return 0;
}
