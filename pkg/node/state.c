/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "image/fsutil.h"
#include "node/state.h"

void pod_record_done(struct pod_record *r)
{
        free(r->uid);
        free(r->name);
        free(r->namespace);
        free(r->origin);
        free(r->source_kind);
        free(r->uid_source);
        free(r->config_hash);
        for (size_t i = 0; i < r->n_containers; i++)
                free(r->containers[i].name);
        free(r->containers);
        free(r->manifest);
        *r = (struct pod_record){ 0 };
}

struct container_record *pod_record_container(struct pod_record *r, const char *name, bool create)
{
        for (size_t i = 0; i < r->n_containers; i++)
                if (strcmp(r->containers[i].name, name) == 0)
                        return &r->containers[i];
        if (!create)
                return NULL;
        struct container_record *n = realloc(r->containers, (r->n_containers + 1) * sizeof(*n));
        if (!n)
                return NULL;
        r->containers = n;
        n = &r->containers[r->n_containers];
        *n = (struct container_record){ .name = strdup(name) };
        if (!n->name)
                return NULL;
        r->n_containers++;
        return n;
}

bool state_uid_is_safe(const char *uid)
{
        size_t n = uid ? strlen(uid) : 0;
        if (n == 0 || n > 64)
                return false;
        return strspn(uid, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

static int write_all(int fd, const char *p, size_t len)
{
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

static void fsync_dir_of(const char *path)
{
        _cleanup_free_ char *d = strdup(path);
        char *slash = d ? strrchr(d, '/') : NULL;
        if (!slash)
                return;
        *slash = 0;
        _cleanup_close_ int fd = open(d[0] ? d : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0)
                (void)fsync(fd);
}

int state_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                       struct qerr **err)
{
        _cleanup_free_ char *tmp = NULL;
        if (asprintf(&tmp, "%s.tmp-XXXXXX", path) < 0)
                return qerr_set(err, ENOMEM, "write '%s'", path);
        /* mkostemp creates the file 0600: it is never readable by others, not even briefly */
        _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return qerr_set_errno(err, errno, "create '%s'", tmp);
        int r = write_all(fd, data, len);
        if (r >= 0 && fchmod(fd, mode) < 0)
                r = -errno;
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (r >= 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0) {
                (void)unlink(tmp);
                return qerr_set_errno(err, -r, "write '%s'", path);
        }
        fsync_dir_of(path);
        return 0;
}

static char *pod_dir(const char *root, const char *uid)
{
        char *p = NULL;
        if (!state_uid_is_safe(uid) || asprintf(&p, "%s/pods/%s", root, uid) < 0)
                return NULL;
        return p;
}

static json_t *record_to_json(const struct pod_record *r)
{
        json_t *cs = json_array();
        for (size_t i = 0; cs && i < r->n_containers; i++) {
                const struct container_record *c = &r->containers[i];
                json_array_append_new(cs, json_pack("{s:s, s:I, s:I, s:I}", "name", c->name,
                                                    "restartCount", (json_int_t)c->restart_count,
                                                    "backoffUsec", (json_int_t)c->backoff.delay,
                                                    "backoffUpdatedUsec",
                                                    (json_int_t)c->backoff.last_update));
        }
        return json_pack("{s:i, s:s, s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:I, s:I, s:I, s:b, s:o*}",
                         "version", STATE_VERSION, "uid", r->uid, "name", r->name, "namespace",
                         r->namespace, "origin", r->origin, "sourceKind", r->source_kind,
                         "uidSource", r->uid_source, "configHash", r->config_hash, "docIndex",
                         (json_int_t)r->doc_index, "itemIndex", (json_int_t)r->item_index,
                         "acceptedAtUsec", (json_int_t)r->accepted_at, "stopping", r->stopping,
                         "containers", cs);
}

int state_save_pod(const char *root, const struct pod_record *r, struct qerr **err)
{
        _cleanup_free_ char *dir = pod_dir(root, r->uid), *file = NULL, *man = NULL;
        if (!dir)
                return qerr_set(err, EINVAL, "save pod: unsafe UID '%s'", r->uid ? r->uid : "");
        int q = mkdir_p(dir, 0700, err);
        if (q < 0)
                return q;
        _cleanup_(json_decrefp) json_t *j = record_to_json(r);
        _cleanup_free_ char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
        if (!text || asprintf(&file, "%s/pod.json", dir) < 0)
                return qerr_set(err, ENOMEM, "save pod '%s'", r->uid);
        if (r->manifest) {
                if (asprintf(&man, "%s/manifest", dir) < 0)
                        return qerr_set(err, ENOMEM, "save pod '%s'", r->uid);
                q = state_write_atomic(man, r->manifest, r->manifest_len, 0600, err);
                if (q < 0)
                        return q;
        }
        return state_write_atomic(file, text, strlen(text), 0600, err);
}

static int dup_field(json_t *o, const char *key, char **ret)
{
        json_t *v = json_object_get(o, key);
        *ret = NULL;
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_string(v))
                return -EINVAL;
        *ret = strdup(json_string_value(v));
        return *ret ? 0 : -ENOMEM;
}

static int containers_from_json(json_t *a, struct pod_record *r)
{
        size_t i;
        json_t *c;
        json_array_foreach(a, i, c)
        {
                const char *name = json_string_value(json_object_get(c, "name"));
                if (!name)
                        return -EINVAL;
                struct container_record *cr = pod_record_container(r, name, true);
                if (!cr)
                        return -ENOMEM;
                cr->restart_count = (unsigned)json_integer_value(
                        json_object_get(c, "restartCount"));
                cr->backoff.delay = json_integer_value(json_object_get(c, "backoffUsec"));
                cr->backoff.last_update = json_integer_value(
                        json_object_get(c, "backoffUpdatedUsec"));
        }
        return 0;
}

static int record_from_json(json_t *j, struct pod_record *r)
{
        if (!json_is_object(j) ||
            json_integer_value(json_object_get(j, "version")) != STATE_VERSION)
                return -EINVAL;
        int q = 0;
        q = q < 0 ? q : dup_field(j, "uid", &r->uid);
        q = q < 0 ? q : dup_field(j, "name", &r->name);
        q = q < 0 ? q : dup_field(j, "namespace", &r->namespace);
        q = q < 0 ? q : dup_field(j, "origin", &r->origin);
        q = q < 0 ? q : dup_field(j, "sourceKind", &r->source_kind);
        q = q < 0 ? q : dup_field(j, "uidSource", &r->uid_source);
        q = q < 0 ? q : dup_field(j, "configHash", &r->config_hash);
        if (q < 0)
                return q;
        if (!r->uid || !r->name || !r->namespace)
                return -EINVAL;
        r->doc_index = (unsigned)json_integer_value(json_object_get(j, "docIndex"));
        r->item_index = (unsigned)json_integer_value(json_object_get(j, "itemIndex"));
        r->accepted_at = json_integer_value(json_object_get(j, "acceptedAtUsec"));
        r->stopping = json_is_true(json_object_get(j, "stopping"));
        return containers_from_json(json_object_get(j, "containers"), r);
}

int state_load_pod(const char *root, const char *uid, bool with_manifest, struct pod_record *ret,
                   struct qerr **err)
{
        _cleanup_free_ char *dir = pod_dir(root, uid), *file = NULL, *text = NULL;
        if (!dir)
                return qerr_set(err, EINVAL, "load pod: unsafe UID '%s'", uid);
        if (asprintf(&file, "%s/pod.json", dir) < 0)
                return qerr_set(err, ENOMEM, "load pod '%s'", uid);
        int q = read_full_file(file, 16 << 20, &text, NULL, err);
        if (q < 0)
                return q;
        json_error_t je;
        _cleanup_(json_decrefp) json_t *j = json_loads(text, 0, &je);
        if (!j)
                return qerr_set(err, EINVAL, "parse '%s': line %d: %s", file, je.line, je.text);
        _cleanup_(pod_record_done) struct pod_record r = { 0 };
        q = record_from_json(j, &r);
        if (q < 0)
                return qerr_set(err, -q, "read '%s': not a pod record of version %d", file,
                                STATE_VERSION);
        if (strcmp(r.uid, uid) != 0)
                return qerr_set(err, EINVAL, "read '%s': it names pod '%s'", file, r.uid);
        if (with_manifest) {
                _cleanup_free_ char *man = NULL;
                if (asprintf(&man, "%s/manifest", dir) < 0)
                        return qerr_set(err, ENOMEM, "load pod '%s'", uid);
                q = read_full_file(man, (size_t)16 << 20, &r.manifest, &r.manifest_len, err);
                if (q < 0 && q != -ENOENT)
                        return q;
                if (q == -ENOENT && err && *err) {
                        qerr_free(*err);
                        *err = NULL;
                }
        }
        *ret = r;
        r = (struct pod_record){ 0 };
        return 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int state_list_pods(const char *root, char ***ret_uids, struct qerr **err)
{
        _cleanup_free_ char *dir = NULL;
        if (asprintf(&dir, "%s/pods", root) < 0)
                return qerr_set(err, ENOMEM, "list pods");
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        size_t n = 0;
        if (!l)
                return qerr_set(err, ENOMEM, "list pods");
        _cleanup_(closedirp) DIR *d = opendir(dir);
        if (!d && errno != ENOENT)
                return qerr_set_errno(err, errno, "open '%s'", dir);
        for (struct dirent *de; d && (de = readdir(d));) {
                if (!state_uid_is_safe(de->d_name) || de->d_type != DT_DIR)
                        continue;
                char **nl = realloc(l, (n + 2) * sizeof(char *));
                if (!nl)
                        return qerr_set(err, ENOMEM, "list pods");
                l = nl;
                if (!(l[n] = strdup(de->d_name)))
                        return qerr_set(err, ENOMEM, "list pods");
                l[++n] = NULL;
        }
        qsort(l, n, sizeof(char *), cmp_str);
        *ret_uids = TAKE_PTR(l);
        return 0;
}

/* Removes what is below dirfd, staying on device dev. */
static int remove_below(int dirfd, dev_t dev)
{
        _cleanup_(closedirp) DIR *d = fdopendir(dirfd);
        if (!d) {
                (void)close(dirfd);
                return -errno;
        }
        int r = 0;
        for (struct dirent *de; (de = readdir(d));) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                struct stat st;
                if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (!S_ISDIR(st.st_mode)) {
                        if (unlinkat(dirfd, de->d_name, 0) < 0 && r == 0)
                                r = -errno;
                        continue;
                }
                /* a mount point (a volume still mounted) is not ours to empty */
                if (st.st_dev != dev) {
                        r = -EBUSY;
                        continue;
                }
                int fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                int q = fd < 0 ? -errno : remove_below(fd, dev);
                if (q >= 0 && unlinkat(dirfd, de->d_name, AT_REMOVEDIR) < 0)
                        q = -errno;
                if (q < 0 && r == 0)
                        r = q;
        }
        return r;
}

int state_remove_pod(const char *root, const char *uid, struct qerr **err)
{
        _cleanup_free_ char *dir = pod_dir(root, uid);
        if (!dir)
                return qerr_set(err, EINVAL, "remove pod: unsafe UID '%s'", uid);
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : qerr_set_errno(err, errno, "open '%s'", dir);
        struct stat st;
        if (fstat(fd, &st) < 0) {
                (void)close(fd);
                return qerr_set_errno(err, errno, "stat '%s'", dir);
        }
        int r = remove_below(fd, st.st_dev);
        if (r >= 0 && rmdir(dir) < 0)
                r = -errno;
        if (r < 0)
                return qerr_set_errno(err, -r, "remove '%s'", dir);
        return 0;
}
