/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "ns/paths.h"
#include "ns/volumes.h"

#define EMPTY_DIR_PLUGIN "kubernetes.io~empty-dir"

char *empty_dir_path(const char *pod_dir, const char *name)
{
        char *p = NULL;
        if (asprintf(&p, "%s/volumes/" EMPTY_DIR_PLUGIN "/%s", pod_dir, name) < 0)
                return NULL;
        return p;
}

static int check_mode(const char *path, const char *type, mode_t want, const char *what,
                      struct qerr **err)
{
        struct stat st;
        if (stat(path, &st) < 0)
                return qerr_set_errno(err, errno, "hostPath type check failed: '%s'", path);
        if ((st.st_mode & S_IFMT) != want)
                return qerr_set(err, EINVAL, "hostPath type check failed: '%s' is not a %s", path,
                                what);
        return 0;
}

int host_path_check(const char *path, const char *type, struct qerr **err)
{
        if (!type || !*type)
                return 0;
        if (strcmp(type, "DirectoryOrCreate") == 0) {
                if (access(path, F_OK) < 0 && mkdir_p(path, 0755, err) < 0)
                        return qerr_wrap(err, "hostPath '%s'", path);
                return check_mode(path, type, S_IFDIR, "directory", err);
        }
        if (strcmp(type, "FileOrCreate") == 0) {
                /* Like the kubelet: the file is made, its parent directory is not. */
                int fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
                if (fd < 0)
                        return qerr_set_errno(err, errno, "hostPath: create '%s'", path);
                close(fd);
                return check_mode(path, type, S_IFREG, "file", err);
        }
        static const struct {
                const char *type, *what;
                mode_t mode;
        } kinds[] = {
                { "Directory", "directory", S_IFDIR },
                { "File", "file", S_IFREG },
                { "Socket", "socket", S_IFSOCK },
                { "CharDevice", "character device", S_IFCHR },
                { "BlockDevice", "block device", S_IFBLK },
        };
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++)
                if (strcmp(type, kinds[i].type) == 0)
                        return check_mode(path, type, kinds[i].mode, kinds[i].what, err);
        return qerr_set(err, EINVAL, "hostPath '%s': unknown type '%s'", path, type);
}

static int empty_dir_prepare(const struct volume *v, const char *pod_dir, char **ret,
                             struct qerr **err)
{
        _cleanup_free_ char *p = empty_dir_path(pod_dir, v->name);
        if (!p)
                return qerr_set(err, ENOMEM, "emptyDir '%s'", v->name);
        int r = mkdir_p(p, 0755, err);
        if (r < 0)
                return r;
        if (chmod(p, 0777) < 0)
                return qerr_set_errno(err, errno, "chmod '%s'", p);
        bool memory = v->medium && strcmp(v->medium, "Memory") == 0;
        if (v->medium && *v->medium && !memory)
                return qerr_set(err, ENOTSUP, "emptyDir '%s': medium '%s' is not supported",
                                v->name, v->medium);
        if (memory) {
                char opts[64] = "mode=0777";
                int64_t size = 0;
                if (v->has_size_limit && quantity_value(&v->size_limit, &size) == 0 && size > 0)
                        snprintf(opts, sizeof(opts), "mode=0777,size=%lld", (long long)size);
                if (mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
                        return qerr_set_errno(err, errno, "mount tmpfs for emptyDir '%s'", v->name);
        }
        *ret = TAKE_PTR(p);
        return 0;
}

int volume_prepare(const struct volume *v, const char *pod_dir, char **ret_source,
                   struct qerr **err)
{
        if (v->kind == VOLUME_EMPTY_DIR)
                return empty_dir_prepare(v, pod_dir, ret_source, err);
        if (v->kind != VOLUME_HOST_PATH)
                return qerr_set(err, ENOTSUP, "volume '%s': %s volumes are not supported", v->name,
                                v->kind_name ? v->kind_name : "these");
        if (!v->host_path || v->host_path[0] != '/')
                return qerr_set(err, EINVAL, "volume '%s': hostPath must be absolute", v->name);
        int r = host_path_check(v->host_path, v->host_path_type, err);
        if (r < 0)
                return r;
        *ret_source = strdup(v->host_path);
        return *ret_source ? 0 : qerr_set(err, ENOMEM, "volume '%s'", v->name);
}

int volumes_teardown(const char *pod_dir, struct qerr **err)
{
        _cleanup_free_ char *ed = NULL, *vols = NULL;
        if (asprintf(&vols, "%s/volumes", pod_dir) < 0 ||
            asprintf(&ed, "%s/" EMPTY_DIR_PLUGIN, vols) < 0)
                return qerr_set(err, ENOMEM, "tear down volumes");
        DIR *d = opendir(ed);
        for (struct dirent *de; d && (de = readdir(d));) {
                if (de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *p = path_join(ed, de->d_name);
                /* Only a memory-backed emptyDir is a mount point; EINVAL means not mounted. */
                if (p && umount2(p, MNT_DETACH) < 0 && errno != EINVAL) {
                        int e = errno;
                        closedir(d);
                        return qerr_set_errno(err, e, "unmount '%s'", p);
                }
        }
        if (d)
                closedir(d);
        return rm_rf(vols, err);
}
