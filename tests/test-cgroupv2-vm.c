/* SPDX-License-Identifier: Apache-2.0 */
/* Checks that the VM of hack/vm-run gives the v2 suites what they rely on: a cgroup2 root with
 * every controller the agent writes, and an init that matches the cgroup driver under test. */
#include <criterion/criterion.h>
#include <linux/magic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <systemd/sd-bus.h>

#include "basic/error.h"
#include "basic/fileio.h"

/* hack/vm-run sets QOSLET_VM inside the VM; elsewhere the host's hierarchy is v1 hybrid. */
static void require_vm(void)
{
        if (!getenv("QOSLET_VM"))
                cr_skip_test("not inside the cgroup v2 VM (run through hack/vm-run)");
}

static bool driver_is_systemd(void)
{
        const char *d = getenv("QOSLET_TEST_CGROUP_DRIVER");

        return d && strcmp(d, "systemd") == 0;
}

static bool has_word(const char *list, const char *word)
{
        size_t n = strlen(word);

        for (const char *p = list; (p = strstr(p, word)); p += n) {
                bool starts = p == list || p[-1] == ' ';
                bool ends = p[n] == '\0' || p[n] == ' ' || p[n] == '\n';
                if (starts && ends)
                        return true;
        }
        return false;
}

static char *read_line(const char *path)
{
        _cleanup_qerr_ struct qerr *e = NULL;
        char *s = NULL;

        cr_assert_geq(read_one_line_file(path, &s, &e), 0, "%s", qerr_msg(e));
        return s;
}

Test(cgroupv2_vm, root_is_cgroup2)
{
        struct statfs sfs;

        require_vm();
        cr_assert_eq(statfs("/sys/fs/cgroup", &sfs), 0, "statfs: %m");
        cr_assert_eq((unsigned long)sfs.f_type, (unsigned long)CGROUP2_SUPER_MAGIC,
                     "/sys/fs/cgroup has magic %#lx, not cgroup2", (unsigned long)sfs.f_type);
}

Test(cgroupv2_vm, root_offers_controllers)
{
        static const char *const want[] = { "cpu", "memory", "pids", "hugetlb" };
        _cleanup_free_ char *ctrl = NULL;

        require_vm();
        ctrl = read_line("/sys/fs/cgroup/cgroup.controllers");
        for (size_t i = 0; i < ELEMENTSOF(want); i++)
                cr_expect(has_word(ctrl, want[i]), "'%s' missing from cgroup.controllers '%s'",
                          want[i], ctrl);
}

/* systemd's cgroup driver talks to PID 1 over the system bus: ask systemd for its version. */
static void assert_bus_reaches_systemd(void)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error berr = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *version = NULL;
        int r;

        r = sd_bus_open_system(&bus);
        cr_assert_geq(r, 0, "open the system bus: %s", strerror(-r));
        r = sd_bus_get_property_string(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                       "org.freedesktop.systemd1.Manager", "Version", &berr,
                                       &version);
        cr_assert_geq(r, 0, "read systemd's Version: %s", berr.message ?: strerror(-r));
        cr_assert_neq(version[0], '\0');
}

Test(cgroupv2_vm, init_matches_driver)
{
        _cleanup_free_ char *comm = NULL;
        struct stat st;

        require_vm();
        comm = read_line("/proc/1/comm");
        if (driver_is_systemd()) {
                cr_assert_eq(stat("/run/systemd/system", &st), 0,
                             "/run/systemd/system: %m: systemd is not PID 1");
                cr_assert_str_eq(comm, "systemd");
                assert_bus_reaches_systemd();
        } else {
                /* cgroupfs mode: nothing else may own the cgroup tree. */
                cr_assert_neq(stat("/run/systemd/system", &st), 0, "systemd runs in the VM");
                cr_assert_str_neq(comm, "systemd");
        }
}
