/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/fileio.h"
#include "image/gc.h"
#include "image/reference.h"
#include "image/rootfs.h"
#include "ns/paths.h"
#include "runtime/ctrimage.h"

void ctr_image_done(struct ctr_image *i)
{
        free(i->rootfs);
        free(i->rootfs_dir);
        image_config_free(i->config);
        *i = (struct ctr_image){ 0 };
}

static int dir_image(const char *image, struct ctr_image *ret, struct qerr **err)
{
        if (image[6] != '/')
                return qerr_set(err, EINVAL, "InvalidImageName: image '%s' is not dir:///path",
                                image);
        _cleanup_free_ char *p = realpath(image + 6, NULL);
        if (!p)
                return qerr_set_errno(err, errno, "image '%s'", image);
        struct stat st;
        if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode))
                return qerr_set(err, ENOTDIR, "image '%s' is not a directory", image);
        *ret = (struct ctr_image){ .rootfs = TAKE_PTR(p) };
        return 0;
}

/* True when the store holds the whole image (manifest, config, layers). */
static bool image_present(const struct image_store *s, const char *full)
{
        _cleanup_image_manifest_ struct image_manifest *m = NULL;
        _cleanup_image_config_ struct image_config *c = NULL;
        if (image_store_load(s, full, &m, &c, NULL) < 0)
                return false;
        return image_store_check_complete(s, m, NULL) >= 0;
}

/* The kubelet's pull policies: Never uses only what is there, IfNotPresent pulls what is
 * missing, Always asks the registry every time (and fails when it cannot). */
static int image_ensure(const struct image_store *s, const struct registry_opts *o,
                        const struct container *c, char **ret_full, struct qerr **err)
{
        _cleanup_image_ref_ struct image_ref *ref = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        if (image_ref_parse(c->image, &ref, &e) < 0)
                return qerr_set(err, EINVAL,
                                "InvalidImageName: Failed to apply default image tag \"%s\": %s",
                                c->image, qerr_msg(e));
        bool present = c->image_pull_policy != PULL_POLICY_ALWAYS && image_present(s, ref->full);
        if (c->image_pull_policy == PULL_POLICY_NEVER && !present)
                return qerr_set(err, ENOENT,
                                "ErrImageNeverPull: Container image \"%s\" is not present with "
                                "pull policy of Never",
                                c->image);
        if (!present) {
                struct registry_opts none = { 0 };
                _cleanup_free_ char *full = NULL;
                int r = image_pull(s, c->image, o ? o : &none, &full, NULL, err);
                if (r < 0)
                        return r;
                *ret_full = TAKE_PTR(full);
                return 0;
        }
        *ret_full = strdup(ref->full);
        return *ret_full ? 0 : qerr_set(err, ENOMEM, "image '%s'", c->image);
}

int ctr_image_prepare(const char *root_dir, const struct registry_opts *o,
                      const struct container *c, const char *rootfs_dir, struct ctr_image *ret,
                      struct qerr **err)
{
        if (!c->image || !*c->image)
                return qerr_set(err, EINVAL, "InvalidImageName: container '%s' has no image",
                                c->name);
        if (strncmp(c->image, "dir://", 6) == 0)
                return dir_image(c->image, ret, err);
        _cleanup_image_store_ struct image_store *s = NULL;
        _cleanup_free_ char *full = NULL;
        _cleanup_close_ int gc_lock = -1;
        int r = image_store_open(root_dir, &s, err);
        /* Until the rootfs records its image, garbage collection would take the layers. */
        if (r >= 0 && (r = gc_lock = image_store_gc_lock(s, false, err)) >= 0)
                r = image_ensure(s, o, c, &full, err);
        if (r < 0)
                return r;
        _cleanup_image_manifest_ struct image_manifest *m = NULL;
        _cleanup_image_config_ struct image_config *cfg = NULL;
        _cleanup_strv_free_ char **layers = NULL;
        size_t n = 0;
        if ((r = image_store_load(s, full, &m, &cfg, err)) < 0 ||
            (r = image_store_unpack(s, full, &layers, &n, err)) < 0)
                return r;
        struct ctr_image i = { .rootfs_dir = strdup(rootfs_dir) };
        enum rootfs_kind kind;
        if (!i.rootfs_dir)
                return qerr_set(err, ENOMEM, "rootfs of '%s'", c->image);
        r = image_rootfs_create(layers, n, rootfs_dir, false, &kind, &i.rootfs, err);
        if (r >= 0 && (r = image_usage_record(s, full, rootfs_dir, err)) < 0)
                (void)image_rootfs_remove(rootfs_dir, NULL);
        if (r < 0) {
                ctr_image_done(&i);
                return qerr_wrap(err, "rootfs of '%s'", c->image);
        }
        i.config = TAKE_PTR(cfg);
        *ret = i;
        return 0;
}

static bool is_rootfs_name(const char *n)
{
        size_t len = strlen(n);
        return len > 7 && strcmp(n + len - 7, "-rootfs") == 0;
}

int ctr_image_remove_rootfs(const char *dir, const char *keep, struct qerr **err)
{
        _cleanup_(closedirp) DIR *d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : qerr_set_errno(err, errno, "open '%s'", dir);
        int r = 0;
        for (struct dirent *de; (de = readdir(d));) {
                if (!is_rootfs_name(de->d_name))
                        continue;
                _cleanup_free_ char *p = path_join(dir, de->d_name);
                if (!p)
                        return qerr_set(err, ENOMEM, "remove rootfs");
                if (keep && strcmp(p, keep) == 0)
                        continue;
                int k = image_rootfs_remove(p, err);
                r = r < 0 ? r : k;
        }
        return r;
}
