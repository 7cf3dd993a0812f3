/* SPDX-License-Identifier: Apache-2.0 */
#include <archive.h>
#include <archive_entry.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "basic/fileio.h"
#include "basic/strbuf.h"
#include "helpers/image-helpers.h"
#include "image/digest.h"
#include "image/fsutil.h"

static la_ssize_t mem_write(struct archive *a, void *data, const void *buf, size_t n)
{
        strbuf_append_n(data, buf, n);
        return (la_ssize_t)n;
}

static int add_entry(struct archive *a, const struct test_tar_entry *t)
{
        _cleanup_free_ char *content = NULL;
        size_t len = 0;
        if (t->src_file && read_full_file(t->src_file, 64u << 20, &content, &len, NULL) < 0)
                return -EIO;
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, t->path);
        archive_entry_set_uid(e, t->uid);
        archive_entry_set_gid(e, t->gid);
        archive_entry_set_mtime(e, 1700000000, 0);
        const char *data = content ? content : t->data;
        if (!content && data)
                len = strlen(data);
        switch (t->type) {
        case TE_FILE:
                archive_entry_set_filetype(e, AE_IFREG);
                archive_entry_set_perm(e, t->mode ? t->mode : 0644);
                archive_entry_set_size(e, (la_int64_t)len);
                break;
        case TE_DIR:
                archive_entry_set_filetype(e, AE_IFDIR);
                archive_entry_set_perm(e, t->mode ? t->mode : 0755);
                break;
        case TE_SYMLINK:
                archive_entry_set_filetype(e, AE_IFLNK);
                archive_entry_set_perm(e, 0777);
                archive_entry_set_symlink(e, t->data);
                break;
        case TE_HARDLINK:
                archive_entry_set_filetype(e, AE_IFREG);
                archive_entry_set_perm(e, t->mode ? t->mode : 0644);
                archive_entry_set_hardlink(e, t->data);
                archive_entry_set_size(e, 0);
                break;
        case TE_CHAR:
        case TE_FIFO:
                archive_entry_set_filetype(e, t->type == TE_CHAR ? AE_IFCHR : AE_IFIFO);
                archive_entry_set_perm(e, t->mode ? t->mode : 0600);
                archive_entry_set_rdev(e, makedev(t->rdev_major, t->rdev_minor));
                break;
        }
        if (t->xattr_name)
                archive_entry_xattr_add_entry(e, t->xattr_name, t->xattr_value,
                                              t->xattr_len ? t->xattr_len : strlen(t->xattr_value));
        int r = archive_write_header(a, e);
        if (r == ARCHIVE_OK && t->type == TE_FILE && len > 0)
                r = archive_write_data(a, data, len) == (la_ssize_t)len ? ARCHIVE_OK : -1;
        archive_entry_free(e);
        return r == ARCHIVE_OK ? 0 : -EIO;
}

int test_tar_build(const struct test_tar_entry *e, size_t n, char compression, void **ret,
                   size_t *ret_len)
{
        struct strbuf sb = { 0 };
        struct archive *a = archive_write_new();
        archive_write_set_format_pax_restricted(a);
        if (compression == 'g')
                archive_write_add_filter_gzip(a);
        else if (compression == 'z')
                archive_write_add_filter_zstd(a);
        archive_write_set_bytes_in_last_block(a, 1);
        int r = archive_write_open(a, &sb, NULL, mem_write, NULL) == ARCHIVE_OK ? 0 : -EIO;
        for (size_t i = 0; r == 0 && i < n; i++)
                r = add_entry(a, &e[i]);
        if (archive_write_close(a) != ARCHIVE_OK)
                r = -EIO;
        archive_write_free(a);
        if (r < 0 || sb.oom) {
                strbuf_done(&sb);
                return r < 0 ? r : -ENOMEM;
        }
        *ret_len = sb.len;
        *ret = strbuf_steal(&sb);
        return 0;
}

static json_t *store_layer(const struct image_store *s, const struct test_layer *l,
                           json_t *diff_ids)
{
        _cleanup_free_ void *plain = NULL, *packed = NULL;
        size_t plain_len = 0, packed_len = 0;
        if (test_tar_build(l->entries, l->n, 0, &plain, &plain_len) < 0 ||
            test_tar_build(l->entries, l->n, l->compression, &packed, &packed_len) < 0)
                return NULL;
        char diff_id[72];
        if (sha256_digest_of(plain, plain_len, diff_id, NULL) < 0)
                return NULL;
        json_array_append_new(diff_ids, json_string(diff_id));
        _cleanup_free_ char *digest = NULL;
        if (image_store_put_blob(s, packed, packed_len, NULL, &digest, NULL) < 0)
                return NULL;
        const char *mt = l->compression == 'g'   ? MEDIA_OCI_LAYER_GZIP
                         : l->compression == 'z' ? MEDIA_OCI_LAYER_ZSTD
                                                 : MEDIA_OCI_LAYER;
        return json_pack("{s:s, s:s, s:I}", "mediaType", mt, "digest", digest, "size",
                         (json_int_t)packed_len);
}

static int put_json(const struct image_store *s, json_t *j, const char *media_type,
                    json_t **ret_desc, char **ret_digest)
{
        _cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
        _cleanup_free_ char *digest = NULL;
        if (!text || image_store_put_blob(s, text, strlen(text), NULL, &digest, NULL) < 0)
                return -EIO;
        *ret_desc = json_pack("{s:s, s:s, s:I}", "mediaType", media_type, "digest", digest, "size",
                              (json_int_t)strlen(text));
        if (ret_digest)
                *ret_digest = TAKE_PTR(digest);
        return 0;
}

int test_image_create(const struct image_store *s, const char *ref, const struct test_layer *l,
                      size_t n, const char *config_json, char **ret_manifest_digest)
{
        json_t *diff_ids = json_array(), *layers = json_array();
        for (size_t i = 0; i < n; i++) {
                json_t *d = store_layer(s, &l[i], diff_ids);
                if (!d)
                        return -EIO;
                json_array_append_new(layers, d);
        }
        json_t *cfg = json_pack("{s:s, s:s, s:{s:s, s:o}}", "architecture", "amd64", "os", "linux",
                                "rootfs", "type", "layers", "diff_ids", diff_ids);
        if (config_json)
                json_object_set_new(cfg, "config", json_loads(config_json, 0, NULL));
        json_t *cfg_desc = NULL, *manifest_desc = NULL;
        int r = put_json(s, cfg, MEDIA_OCI_CONFIG, &cfg_desc, NULL);
        json_decref(cfg);
        if (r < 0)
                return r;
        json_t *m = json_pack("{s:i, s:s, s:o, s:o}", "schemaVersion", 2, "mediaType",
                              MEDIA_OCI_MANIFEST, "config", cfg_desc, "layers", layers);
        _cleanup_free_ char *digest = NULL;
        r = put_json(s, m, MEDIA_OCI_MANIFEST, &manifest_desc, &digest);
        json_decref(m);
        if (r < 0)
                return r;
        struct image_desc d = { MEDIA_OCI_MANIFEST, digest,
                                json_integer_value(json_object_get(manifest_desc, "size")) };
        json_decref(manifest_desc);
        r = image_store_tag(s, ref, &d, NULL);
        if (r == 0 && ret_manifest_digest)
                *ret_manifest_digest = TAKE_PTR(digest);
        return r;
}

char *test_tmpdir(void)
{
        char *p = strdup("/tmp/qoslet-test-XXXXXX");
        if (p && !mkdtemp(p)) {
                free(p);
                return NULL;
        }
        return p;
}

void test_rmdir(const char *path)
{
        if (path)
                (void)rm_rf(path, NULL);
}

int test_write_file(const char *path, const void *buf, size_t n)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        return write(fd, buf, n) == (ssize_t)n ? 0 : -EIO;
}

int test_sh(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *cmd = NULL;
        int k = vasprintf(&cmd, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -1;
        int st = system(cmd);
        if (st < 0 || !WIFEXITED(st))
                return -1;
        return WEXITSTATUS(st);
}

bool test_have_program(const char *name)
{
        return test_sh("command -v '%s' >/dev/null 2>&1", name) == 0;
}

static int free_port(void)
{
        _cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(a);
        if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
            getsockname(fd, (struct sockaddr *)&a, &len) < 0)
                return -1;
        return ntohs(a.sin_port);
}

static bool port_answers(int port)
{
        _cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = { .sin_family = AF_INET,
                                 .sin_port = htons((uint16_t)port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        return fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
}

static int write_registry_config(struct test_registry *r, const struct test_registry_opts *o)
{
        const char *d = r->dir;
        _cleanup_free_ char *cfg = NULL, *path = NULL, *auth = NULL, *tls = NULL;
        if (o->user && !o->token &&
            (test_sh("htpasswd -Bbn '%s' '%s' > %s/htpasswd 2>/dev/null", o->user, o->password,
                     d) != 0 ||
             asprintf(&auth, "auth:\n  htpasswd:\n    realm: qoslet-test\n    path: %s/htpasswd\n",
                      d) < 0))
                return -EIO;
        if (o->token && asprintf(&auth,
                                 "auth:\n  token:\n    realm: http://127.0.0.1:%d/token\n"
                                 "    service: qoslet-registry\n    issuer: qoslet-issuer\n"
                                 "    rootcertbundle: %s/token.crt\n",
                                 r->token_port, d) < 0)
                return -ENOMEM;
        if (o->tls &&
            asprintf(&tls, "  tls:\n    certificate: %s/tls.crt\n    key: %s/tls.key\n", d, d) < 0)
                return -ENOMEM;
        if (asprintf(&cfg,
                     "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n"
                     "storage:\n  filesystem:\n    rootdirectory: %s/data\n"
                     "  delete:\n    enabled: true\n"
                     "http:\n  addr: %s\n%s%s",
                     d, r->addr, tls ? tls : "", auth ? auth : "") < 0 ||
            asprintf(&path, "%s/config.yml", d) < 0)
                return -ENOMEM;
        return test_write_file(path, cfg, strlen(cfg));
}

static int make_cert(const char *dir, const char *name, const char *subject, const char *extra)
{
        return test_sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout %s/%s.key "
                       "-out %s/%s.crt -days 2 -subj '%s' %s >/dev/null 2>&1",
                       dir, name, dir, name, subject, extra) == 0
                       ? 0
                       : -EIO;
}

static int spawn(const char *dir, const char *log_name, char *const argv[])
{
        pid_t pid = fork();
        if (pid != 0)
                return pid < 0 ? -errno : pid;
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        char log[512];
        snprintf(log, sizeof(log), "%s/%s", dir, log_name);
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
        }
        execvp(argv[0], argv);
        _exit(127);
}

static int wait_port(int pid, int port)
{
        for (int i = 0; i < 200; i++) {
                if (waitpid(pid, NULL, WNOHANG) == pid)
                        return -ECHILD;
                if (port_answers(port))
                        return 0;
                nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
        }
        return -ETIMEDOUT;
}

static int start_token_server(struct test_registry *r, const struct test_registry_opts *o)
{
        int k = make_cert(r->dir, "token", "/CN=qoslet-token", "");
        if (k < 0)
                return k;
        r->token_port = free_port();
        char port[16], key[512], cert[512], script[512];
        snprintf(port, sizeof(port), "%d", r->token_port);
        snprintf(key, sizeof(key), "%s/token.key", r->dir);
        snprintf(cert, sizeof(cert), "%s/token.crt", r->dir);
        /* Tests run from the top of the checkout (hack/run-suite changes there). */
        snprintf(script, sizeof(script), "tests/helpers/token-server.py");
        char *argv[] = { "python3",
                         script,
                         port,
                         key,
                         cert,
                         "qoslet-issuer",
                         "qoslet-registry",
                         (char *)o->user,
                         (char *)o->password,
                         NULL };
        r->token_pid = spawn(r->dir, "token.log", argv);
        if (r->token_pid < 0)
                return r->token_pid;
        k = wait_port(r->token_pid, r->token_port);
        if (k == -ECHILD)
                r->token_pid = -1;
        return k;
}

int test_registry_start(struct test_registry *r, const struct test_registry_opts *o)
{
        static const struct test_registry_opts none = { 0 };
        o = o ? o : &none;
        *r = (struct test_registry){ .pid = -1, .token_pid = -1 };
        r->dir = test_tmpdir();
        r->port = free_port();
        if (!r->dir || r->port < 0)
                return -EIO;
        snprintf(r->addr, sizeof(r->addr), "127.0.0.1:%d", r->port);
        int k = 0;
        if (o->tls) {
                k = make_cert(r->dir, "tls", "/CN=127.0.0.1",
                              "-addext subjectAltName=IP:127.0.0.1");
                if (k < 0 || asprintf(&r->ca_file, "%s/tls.crt", r->dir) < 0)
                        return -EIO;
        }
        if (o->token && (k = start_token_server(r, o)) < 0)
                return k;
        if ((k = write_registry_config(r, o)) < 0)
                return k;
        char cfg[512];
        snprintf(cfg, sizeof(cfg), "%s/config.yml", r->dir);
        char *argv[] = { "docker-registry", "serve", cfg, NULL };
        r->pid = spawn(r->dir, "registry.log", argv);
        if (r->pid < 0)
                return r->pid;
        k = wait_port(r->pid, r->port);
        if (k == -ECHILD)
                r->pid = -1;
        return k;
}

static void stop_pid(int *pid)
{
        if (*pid <= 0)
                return;
        kill(*pid, SIGTERM);
        bool gone = false;
        for (int i = 0; i < 100 && !gone; i++) {
                gone = waitpid(*pid, NULL, WNOHANG) == *pid;
                if (!gone)
                        nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
        }
        if (!gone) {
                kill(*pid, SIGKILL);
                waitpid(*pid, NULL, 0);
        }
        *pid = -1;
}

void test_registry_stop(struct test_registry *r)
{
        stop_pid(&r->pid);
        stop_pid(&r->token_pid);
        test_rmdir(r->dir);
        free(r->dir);
        free(r->ca_file);
        r->dir = r->ca_file = NULL;
}
