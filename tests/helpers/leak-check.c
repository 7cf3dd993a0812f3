/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <stddef.h>
#include <string.h>

/* Criterion runs each test in a worker process and ignores how the worker exits once the test
 * has ended, so LeakSanitizer's report at exit would fail nothing. The test binaries are linked
 * with --wrap=criterion_internal_test_main, so that the worker runs a leak check right after
 * the test body, while the test can still fail. Memory a fixture still holds is reachable
 * from its globals and is not reported. */

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LEAK_CHECK 1
#endif
#endif
#if !defined(LEAK_CHECK) && defined(__SANITIZE_ADDRESS__)
#define LEAK_CHECK 1
#endif

#ifdef LEAK_CHECK
#include <sanitizer/lsan_interface.h>
#endif

void __real_criterion_internal_test_main(void (*fn)(void));
void __wrap_criterion_internal_test_main(void (*fn)(void));

static void (*test_body)(void);

static void check_leaks(void)
{
#ifdef LEAK_CHECK
        if (__lsan_do_recoverable_leak_check())
                cr_expect_fail("LeakSanitizer found memory leaked by this test (report above)");
#endif
}

static void run_body(void)
{
        test_body();
        check_leaks();
}

static void run_body_param(void *param)
{
        ((void (*)(void *))test_body)(param);
        check_leaks();
}

void __wrap_criterion_internal_test_main(void (*fn)(void))
{
        /* criterion's extra data is a packed struct: read the member without assuming its
         * alignment */
        struct criterion_test_params (*param)(void);
        memcpy(&param,
               (const char *)criterion_current_test->data +
                       offsetof(struct criterion_test_extra_data, param_),
               sizeof(param));
        test_body = fn;
        if (param)
                __real_criterion_internal_test_main((void (*)(void))run_body_param);
        else
                __real_criterion_internal_test_main(run_body);
}
