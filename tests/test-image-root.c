/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "basic/fileio.h"
#include "helpers/image-helpers.h"
#include "image/digest.h"
#include "image/fsutil.h"
#include "image/store.h"
#include "image/unpack.h"

static char *tmp;

static void root_setup(void)
{
        if (geteuid() != 0)
                cr_skip_test("needs root");
        tmp = test_tmpdir();
        cr_assert_not_null(tmp);
}

static void root_teardown(void)
{
        test_rmdir(tmp);
        free(tmp);
        tmp = NULL;
}

static char *path_in(const char *dir, const char *rel)
{
        char *p = NULL;
        cr_assert_geq(asprintf(&p, "%s/%s", dir, rel), 0);
        return p;
}

static int unpack_into(const char *dest, const struct test_tar_entry *e, size_t n,
                       struct qerr **err)
{
        _cleanup_free_ void *tar = NULL;
        size_t len = 0;
        cr_assert_eq(test_tar_build(e, n, 'g', &tar, &len), 0);
        _cleanup_free_ char *blob = path_in(tmp, "blob");
        cr_assert_eq(test_write_file(blob, tar, len), 0);
        int fd = open(blob, O_RDONLY | O_CLOEXEC);
        cr_assert_geq(fd, 0);
        cr_assert_eq(mkdir(dest, 0755), 0);
        char diff_id[72];
        int r = image_unpack_layer(fd, dest, diff_id, NULL, err);
        close(fd);
        return r;
}

Test(image_unpack_root, whiteouts_become_overlay_whiteouts, .init = root_setup,
     .fini = root_teardown)
{
        static const struct test_tar_entry e[] = {
                { .type = TE_DIR, .path = "etc" },
                { .type = TE_FILE, .path = "etc/.wh.motd" },
                { .type = TE_DIR, .path = "var/cache" },
                { .type = TE_FILE, .path = "var/cache/.wh..wh..opq" },
                { .type = TE_FILE, .path = "var/cache/new", .data = "n" },
                { .type = TE_FILE, .path = ".wh..wh.plnk" },
        };
        _cleanup_free_ char *dest = path_in(tmp, "layer");
        _cleanup_qerr_ struct qerr *err = NULL;
        cr_assert_eq(unpack_into(dest, e, ELEMENTSOF(e), &err), 0, "%s", qerr_msg(err));
        _cleanup_free_ char *motd = path_in(dest, "etc/motd");
        struct stat st;
        cr_assert_eq(lstat(motd, &st), 0);
        cr_assert(S_ISCHR(st.st_mode), "whiteout is not a character device");
        cr_assert_eq(st.st_rdev, makedev(0, 0));
        _cleanup_free_ char *wh = path_in(dest, "etc/.wh.motd");
        cr_assert_eq(access(wh, F_OK), -1, "the .wh. file itself was written");
        _cleanup_free_ char *cache = path_in(dest, "var/cache");
        char v[4] = { 0 };
        cr_assert_eq(getxattr(cache, "trusted.overlay.opaque", v, sizeof(v)), 1);
        cr_assert_eq(v[0], 'y');
        _cleanup_free_ char *opq = path_in(dest, "var/cache/.wh..wh..opq");
        cr_assert_eq(access(opq, F_OK), -1);
        _cleanup_free_ char *plnk = path_in(dest, ".wh..wh.plnk");
        cr_assert_eq(access(plnk, F_OK), -1, "aufs bookkeeping was written");
}

Test(image_unpack_root, ownership_devices_and_xattrs, .init = root_setup, .fini = root_teardown)
{
        static const struct test_tar_entry e[] = {
                { .type = TE_DIR, .path = "home/app", .uid = 1000, .gid = 1001, .mode = 0700 },
                { .type = TE_FILE,
                  .path = "home/app/f",
                  .data = "x",
                  .uid = 1000,
                  .gid = 1001,
                  .mode = 02755 },
                { .type = TE_SYMLINK, .path = "home/app/l", .data = "f", .uid = 1002, .gid = 1003 },
                { .type = TE_CHAR,
                  .path = "dev/null",
                  .rdev_major = 1,
                  .rdev_minor = 3,
                  .mode = 0666 },
                { .type = TE_FILE,
                  .path = "bin/ping",
                  .data = "p",
                  .xattr_name = "security.capability",
                  /* VFS_CAP_REVISION_2 with CAP_NET_RAW permitted */
                  .xattr_value = "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00"
                                 "\x00\x00\x00\x00\x00\x00\x00\x00",
                  .xattr_len = 20 },
                { .type = TE_FILE,
                  .path = "evil",
                  .data = "e",
                  .xattr_name = "trusted.overlay.redirect",
                  .xattr_value = "/etc" },
        };
        _cleanup_free_ char *dest = path_in(tmp, "layer");
        _cleanup_qerr_ struct qerr *err = NULL;
        cr_assert_eq(unpack_into(dest, e, ELEMENTSOF(e), &err), 0, "%s", qerr_msg(err));
        struct stat st;
        _cleanup_free_ char *app = path_in(dest, "home/app"), *f = path_in(dest, "home/app/f"),
                            *l = path_in(dest, "home/app/l"), *null = path_in(dest, "dev/null"),
                            *ping = path_in(dest, "bin/ping"), *evil = path_in(dest, "evil");
        cr_assert_eq(lstat(app, &st), 0);
        cr_assert(st.st_uid == 1000 && st.st_gid == 1001 && (st.st_mode & 07777) == 0700);
        cr_assert_eq(lstat(f, &st), 0);
        cr_assert(st.st_uid == 1000 && st.st_gid == 1001);
        cr_assert_eq(st.st_mode & 07777, 02755, "set-gid bit lost: 0%o", st.st_mode & 07777);
        cr_assert_eq(lstat(l, &st), 0);
        cr_assert(S_ISLNK(st.st_mode) && st.st_uid == 1002 && st.st_gid == 1003);
        cr_assert_eq(lstat(null, &st), 0);
        cr_assert(S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3));
        cr_assert_eq(st.st_mode & 07777, 0666);
        char buf[64];
        cr_assert_eq(getxattr(ping, "security.capability", buf, sizeof(buf)), 20,
                     "file capability not kept");
        cr_assert_eq(getxattr(evil, "trusted.overlay.redirect", buf, sizeof(buf)), -1,
                     "an overlay attribute from the layer was applied");
        cr_assert_eq(errno, ENODATA);
}
