/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <string.h>

#include "basic/error.h"
#include "basic/fileio.h"
#include "basic/strbuf.h"

static int fail_inner(struct qerr **err)
{
        return qerr_set(err, ENOENT, "open '%s'", "x");
}

Test(basic, error_wrap_adds_context)
{
        _cleanup_qerr_ struct qerr *e = NULL;
        int r = fail_inner(&e);
        cr_assert_eq(r, -ENOENT);
        cr_assert_eq(qerr_wrap(&e, "load pod '%s'", "web"), -ENOENT);
        cr_assert_str_eq(e->msg, "load pod 'web': open 'x'");
        cr_assert_eq(e->code, ENOENT);
}

Test(basic, error_null_sink_keeps_code)
{
        cr_assert_eq(qerr_set(NULL, EINVAL, "x"), -EINVAL);
}

Test(basic, error_first_error_wins)
{
        _cleanup_qerr_ struct qerr *e = NULL;
        qerr_set(&e, EINVAL, "first");
        qerr_set(&e, ENOENT, "second");
        cr_assert_str_eq(e->msg, "first");
}

Test(basic, error_errno_text)
{
        _cleanup_qerr_ struct qerr *e = NULL;
        qerr_set_errno(&e, ENOENT, "open 'a'");
        cr_assert_str_eq(e->msg, "open 'a': No such file or directory");
}

Test(basic, strbuf_grows)
{
        _cleanup_strbuf_ struct strbuf sb = { 0 };
        for (int i = 0; i < 1000; i++)
                strbuf_printf(&sb, "%d,", i);
        cr_assert(!sb.oom);
        cr_assert_eq(strncmp(sb.buf, "0,1,2,", 6), 0);
        _cleanup_free_ char *s = strbuf_steal(&sb);
        cr_assert_eq(strlen(s), 3890);
}

Test(basic, read_file_refuses_big_files)
{
        char path[] = "/tmp/qoslet-test-XXXXXX";
        int fd = mkstemp(path);
        cr_assert_geq(fd, 0);
        char buf[100] = { 0 };
        cr_assert_eq(write(fd, buf, sizeof(buf)), 100);
        close(fd);
        _cleanup_qerr_ struct qerr *e = NULL;
        char *out = NULL;
        cr_assert_eq(read_full_file(path, 99, &out, NULL, &e), -EFBIG);
        cr_assert_null(out);
        size_t len = 0;
        cr_assert_eq(read_full_file(path, 100, &out, &len, NULL), 0);
        cr_assert_eq(len, 100);
        free(out);
        unlink(path);
}

static int fail_errno(struct qerr **err)
{
        return qerr_set(err, EACCES, "open 'y'");
}

static int wrapped(struct qerr **err)
{
        int r = fail_errno(err);
        if (r < 0)
                return qerr_wrap(err, "load");
        return 0;
}

Test(basic, wrap_without_sink_keeps_code)
{
        cr_assert_eq(wrapped(NULL), -EACCES);
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(qerr_wrap_r(-ENOENT, &e, "x"), -ENOENT);
        cr_assert_null(e);
}
