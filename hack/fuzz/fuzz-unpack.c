/* SPDX-License-Identifier: Apache-2.0 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "image/fsutil.h"
#include "image/reference.h"
#include "image/unpack.h"

/* libFuzzer target: layer unpacking. The first byte picks the form: bit 0 set, the rest is
 * compressed with gzip first; else it is the layer as given (tar, or whatever compression
 * the unpacker recognizes). Each input unpacks into a fresh directory <base>/cage/root, which
 * is removed afterwards. Beside it lie <base>/outside/secret and nothing else: after every
 * input the tree around the root must be exactly as it was, whatever the layer held. */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *base, *root, *cage, *outside, *secret;
static struct stat secret_st;
static int blob_fd = -1;

static void cleanup_base(void)
{
        if (base)
                (void)rm_rf(base, NULL);
}

static char *join(const char *a, const char *b)
{
        char *p = NULL;
        if (asprintf(&p, "%s/%s", a, b) < 0)
                abort();
        return p;
}

static void setup(void)
{
        const char *tmp = getenv("TMPDIR");
        if (asprintf(&base, "%s/qoslet-fuzz-unpack-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0 ||
            !mkdtemp(base))
                abort();
        cage = join(base, "cage");
        root = join(cage, "root");
        outside = join(base, "outside");
        secret = join(outside, "secret");
        if (mkdir(cage, 0755) < 0 || mkdir(outside, 0755) < 0 ||
            write_file_atomic(secret, "keep", 4, 0644, NULL) < 0 || lstat(secret, &secret_st) < 0)
                abort();
        blob_fd = memfd_create("fuzz-layer", MFD_CLOEXEC);
        if (blob_fd < 0)
                abort();
        atexit(cleanup_base);
}

static size_t count_entries(const char *dir)
{
        DIR *d = opendir(dir);
        size_t n = 0;
        if (!d)
                abort();
        for (struct dirent *de; (de = readdir(d));)
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        n++;
        closedir(d);
        return n;
}

static void check_surroundings(void)
{
        struct stat st;
        _cleanup_free_ char *text = NULL;
        if (count_entries(base) != 2 || count_entries(cage) != 1 || count_entries(outside) != 1)
                abort();
        if (lstat(secret, &st) < 0 || st.st_mode != secret_st.st_mode ||
            st.st_ino != secret_st.st_ino || st.st_nlink != 1 || st.st_uid != secret_st.st_uid ||
            read_full_file(secret, 64, &text, NULL, NULL) < 0 || strcmp(text, "keep") != 0)
                abort();
        if (lstat(root, &st) < 0 || !S_ISDIR(st.st_mode))
                abort();
}

/* gzip through libarchive's raw writer: the unpacker's reader takes it apart again. */
static void *gzip(const uint8_t *data, size_t size, size_t *ret_len)
{
        size_t cap = size + size / 8 + 4096, used = 0;
        void *out = malloc(cap);
        struct archive *a = archive_write_new();
        struct archive_entry *e = archive_entry_new();
        if (!out || !a || !e)
                abort();
        archive_entry_set_pathname(e, "layer");
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_size(e, (la_int64_t)size);
        if (archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
            archive_write_set_format_raw(a) != ARCHIVE_OK ||
            archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
            archive_write_open_memory(a, out, cap, &used) != ARCHIVE_OK ||
            archive_write_header(a, e) != ARCHIVE_OK ||
            (size > 0 && archive_write_data(a, data, size) != (la_ssize_t)size) ||
            archive_write_close(a) != ARCHIVE_OK)
                abort();
        archive_entry_free(e);
        archive_write_free(a);
        *ret_len = used;
        return out;
}

static void write_blob(const void *buf, size_t len)
{
        if (ftruncate(blob_fd, 0) < 0 || pwrite(blob_fd, buf, len, 0) != (ssize_t)len ||
            lseek(blob_fd, 0, SEEK_SET) != 0)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (!base)
                setup();
        if (size == 0)
                return 0;
        if (data[0] & 1) {
                size_t len = 0;
                _cleanup_free_ void *gz = gzip(data + 1, size - 1, &len);
                write_blob(gz, len);
        } else {
                write_blob(data + 1, size - 1);
        }
        if (mkdir(root, 0755) < 0)
                abort();
        char diff_id[72];
        struct unpack_stats st = { 0 };
        _cleanup_qerr_ struct qerr *e = NULL;
        int r = image_unpack_layer(blob_fd, root, diff_id, &st, &e);
        if (r < 0 && (!e || !qerr_msg(e)))
                abort();
        if (getenv("FUZZ_VERBOSE"))
                fprintf(stderr, "fuzz-unpack: %s, %llu entries\n", r < 0 ? qerr_msg(e) : "unpacked",
                        (unsigned long long)st.entries);
        if (r == 0 && image_digest_validate(diff_id, NULL) < 0)
                abort();
        check_surroundings();
        _cleanup_qerr_ struct qerr *re = NULL;
        if (rm_rf(root, &re) < 0) {
                fprintf(stderr, "fuzz-unpack: remove '%s': %s\n", root, qerr_msg(re));
                abort();
        }
        return 0;
}
