/* SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "image/manifest.h"
#include "image/reference.h"
#include "image/registry.h"

/* libFuzzer target: what qoslet reads from a registry or beside it. Every input goes through
 * each parser: the document kind, an image manifest, an image index (platform selection), an
 * image config (and the command line built from it), a WWW-Authenticate challenge and a
 * docker-style auth file. What a parser accepts must hold together (valid digests, sizes);
 * what it refuses it must say why. */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_desc(const struct image_desc *d)
{
        if (!d->digest || image_digest_validate(d->digest, NULL) < 0 || d->size < 0)
                abort();
}

static void refused(int r, const struct qerr *e)
{
        if (r >= 0 || !e || !qerr_msg(e))
                abort();
}

static void fuzz_manifest(const char *buf, size_t len)
{
        _cleanup_image_manifest_ struct image_manifest *m = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        int r = image_manifest_parse(buf, len, &m, &e);
        if (r < 0) {
                refused(r, e);
                return;
        }
        if (!m->media_type)
                abort();
        check_desc(&m->config);
        for (size_t i = 0; i < m->n_layers; i++)
                check_desc(&m->layers[i]);
}

static void fuzz_index(const char *buf, size_t len)
{
        struct image_desc d = { 0 };
        _cleanup_qerr_ struct qerr *e = NULL;
        int r = image_index_select(buf, len, "linux", "amd64", &d, &e);
        if (r < 0) {
                refused(r, e);
                return;
        }
        check_desc(&d);
        image_desc_done(&d);
}

static void fuzz_config(const char *buf, size_t len)
{
        _cleanup_image_config_ struct image_config *c = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        int r = image_config_parse(buf, len, &c, &e);
        if (r < 0) {
                refused(r, e);
                return;
        }
        for (size_t i = 0; i < c->n_diff_ids; i++)
                if (image_digest_validate(c->diff_ids[i], NULL) < 0)
                        abort();
        char **argv = NULL;
        _cleanup_qerr_ struct qerr *ae = NULL;
        if (image_config_argv(c, NULL, NULL, &argv, &ae) == 0) {
                if (!argv[0])
                        abort();
                strv_free(argv);
        }
}

static void fuzz_challenge(const char *s)
{
        struct auth_challenge c = { 0 };
        _cleanup_qerr_ struct qerr *e = NULL;
        int r = registry_parse_challenge(s, &c, &e);
        if (r < 0) {
                refused(r, e);
                return;
        }
        if (!c.scheme || !*c.scheme)
                abort();
        auth_challenge_done(&c);
}

/* The auth file is read by path: a memfd stands in for it. */
static void fuzz_auth_file(const char *buf, size_t len)
{
        static int fd = -1;
        static char path[64];
        if (fd < 0) {
                fd = memfd_create("fuzz-auth", MFD_CLOEXEC);
                if (fd < 0)
                        abort();
                snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        }
        if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, len, 0) != (ssize_t)len)
                abort();
        const char *domains[] = { "docker.io", "127.0.0.1:5000" };
        for (size_t i = 0; i < ELEMENTSOF(domains); i++) {
                _cleanup_free_ char *user = NULL, *password = NULL;
                _cleanup_qerr_ struct qerr *e = NULL;
                int r = registry_find_credentials(path, domains[i], &user, &password, &e);
                if (r < 0)
                        refused(r, e);
                else if (r == 1 && (!user || !password))
                        abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *buf = (const char *)data;
        (void)image_doc_kind(NULL, buf, size);
        (void)image_doc_kind("application/json", buf, size);
        fuzz_manifest(buf, size);
        fuzz_index(buf, size);
        fuzz_config(buf, size);
        fuzz_auth_file(buf, size);
        _cleanup_free_ char *s = strndup(buf, size);
        if (s)
                fuzz_challenge(s);
        return 0;
}
