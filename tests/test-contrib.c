/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/macro.h"
#include "helpers/paths.h"

/* contrib/: the systemd unit. Tests run from the top of the source tree (hack/run-suite). */

#define UNIT "contrib/systemd/qoslet.service"

static char *read_unit(void)
{
        _cleanup_free_ char *text = NULL;
        cr_assert_eq(read_full_file(UNIT, 1 << 20, &text, NULL, NULL), 0, "read '%s'", UNIT);
        return TAKE_PTR(text);
}

/* The value of key in [Service], or NULL; the last assignment wins, as in systemd. */
static char *service_value(const char *text, const char *key)
{
        _cleanup_free_ char *copy = strdup(text);
        char *value = NULL;
        bool in_service = false;
        for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l;
             l = strtok_r(NULL, "\n", &save)) {
                if (*l == '[')
                        in_service = strcmp(l, "[Service]") == 0;
                else if (in_service && strncmp(l, key, strlen(key)) == 0 && l[strlen(key)] == '=') {
                        free(value);
                        value = strdup(l + strlen(key) + 1);
                }
        }
        return value;
}

Test(contrib, unit_keeps_pods_across_restarts_and_notifies)
{
        _cleanup_free_ char *text = read_unit();
        const struct {
                const char *key, *want;
        } keys[] = {
                { "Type", "notify" },
                /* the shims and containers survive a restart of the daemon */
                { "KillMode", "process" },
                { "Delegate", "yes" },
                /* the daemon pings WATCHDOG=1 (sd_event_set_watchdog in cmd/qoslet/daemon.c) */
                { "WatchdogSec", "30s" },
        };
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                _cleanup_free_ char *v = service_value(text, keys[i].key);
                cr_assert_not_null(v, "no %s= in [Service]", keys[i].key);
                cr_assert_str_eq(v, keys[i].want, "%s=", keys[i].key);
        }
        _cleanup_free_ char *exec = service_value(text, "ExecStart");
        cr_assert_not_null(exec);
        cr_assert_not_null(strstr(exec, " --pod-manifest-path=/etc/qoslet/manifests"), "%s", exec);
        /* RuntimeDirectory= would remove the shims' sockets at every stop. */
        _cleanup_free_ char *rd = service_value(text, "RuntimeDirectory");
        cr_assert_null(rd, "RuntimeDirectory=%s", rd);
}

/* systemd-analyze verify, with ExecStart pointing at the qoslet just built (verify checks
 * that the program exists): no error and no warning. */
Test(contrib, unit_passes_systemd_analyze_verify)
{
        if (system("command -v systemd-analyze >/dev/null 2>&1") != 0)
                cr_skip_test("systemd-analyze is not installed");
        _cleanup_free_ char *text = read_unit(), *qoslet = test_program_path("qoslet");
        cr_assert_eq(access(qoslet, X_OK), 0, "no '%s': run make first", qoslet);
        char dir[] = "/tmp/qoslet-unit-XXXXXX";
        cr_assert_not_null(mkdtemp(dir));
        _cleanup_free_ char *path = NULL, *cmd = NULL, *out = NULL;
        cr_assert(asprintf(&path, "%s/qoslet.service", dir) > 0);
        FILE *f = fopen(path, "we");
        cr_assert_not_null(f);
        const char *old = "/usr/local/bin/qoslet";
        char *at = strstr(text, old);
        cr_assert_not_null(at, "ExecStart does not run %s", old);
        fprintf(f, "%.*s%s%s", (int)(at - text), text, qoslet, at + strlen(old));
        cr_assert_eq(fclose(f), 0);
        cr_assert(asprintf(&cmd, "systemd-analyze verify '%s' 2>&1", path) > 0);
        int rc = test_run_capture(cmd, &out);
        (void)unlink(path);
        (void)rmdir(dir);
        cr_assert_eq(rc, 0, "%s", out);
        cr_assert_str_eq(out ? out : "", "", "systemd-analyze verify warns");
}
