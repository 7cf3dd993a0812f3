/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <string.h>

#include "cgroups/cgroup-internal.h"
#include "cgroups/cgroups.h"

/* This build machine: cgroup v1 controllers under a tmpfs, cgroup2 at .../unified. */
static const char hybrid_mountinfo[] =
        "22 28 0:20 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
        "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
        "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
        "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
        "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
        "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
        "38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
        "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
        "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
        "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

/* A Debian 12 machine booted with the defaults. */
static const char unified_mountinfo[] =
        "21 26 0:20 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
        "26 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,errors=remount-ro\n"
        "24 21 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 "
        "cgroup2 rw,nsdelegate,memory_recursiveprot\n";

/* A CentOS 7 style host: co-mounted hierarchies, a name=systemd one, no cgroup2. */
static const char legacy_mountinfo[] =
        "25 18 0:21 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:8 - tmpfs tmpfs ro,mode=755\n"
        "26 25 0:22 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:9 - cgroup "
        "cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd\n"
        "29 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:10 - "
        "cgroup cgroup rw,cpu,cpuacct\n"
        "30 25 0:26 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:11 - cgroup "
        "cgroup rw,memory\n"
        "31 25 0:27 / /sys/fs/cgroup/hugetlb rw,nosuid,nodev,noexec,relatime shared:12 - cgroup "
        "cgroup rw,hugetlb\n"
        "32 25 0:28 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:13 - cgroup "
        "cgroup rw,cpuset\n"
        "33 25 0:29 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:14 - cgroup "
        "cgroup rw,pids\n";

static enum cg_mode mode_of(const char *text)
{
        enum cg_mode mode = _CG_MODE_INVALID;
        _cleanup_qerr_ struct qerr *e = NULL;
        int r = cg_mode_from_mountinfo(text, &mode, &e);
        cr_assert_eq(r, 0, "mode: %s", qerr_msg(e));
        return mode;
}

Test(cgroups, mode_from_mountinfo)
{
        cr_assert_eq(mode_of(hybrid_mountinfo), CG_MODE_HYBRID);
        cr_assert_eq(mode_of(unified_mountinfo), CG_MODE_UNIFIED);
        cr_assert_eq(mode_of(legacy_mountinfo), CG_MODE_LEGACY);
        cr_assert_str_eq(cg_mode_to_string(CG_MODE_HYBRID), "hybrid");
}

Test(cgroups, mode_without_cgroups_is_an_error)
{
        _cleanup_qerr_ struct qerr *e = NULL;
        enum cg_mode mode = CG_MODE_LEGACY;
        const char *text = "26 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n";
        cr_assert_eq(cg_mode_from_mountinfo(text, &mode, &e), -ENOMEDIUM);
        cr_assert_eq(mode, CG_MODE_LEGACY, "ret_ written on failure");
        cr_assert_str_eq(e->msg, "find cgroup hierarchy: none is mounted");
}

Test(cgroups, mountinfo_bad_line)
{
        _cleanup_qerr_ struct qerr *e = NULL;
        enum cg_mode mode;
        cr_assert_eq(cg_mode_from_mountinfo("31 23 0:28 /\n", &mode, &e), -EINVAL);
        cr_assert_str_eq(e->msg, "parse mountinfo line 1");
}

Test(cgroups, mounts_of_hybrid_host)
{
        struct cg_mounts m;
        cr_assert_eq(cg_mounts_parse(hybrid_mountinfo, &m, NULL), 0);
        cr_assert_str_eq(m.unified, "/sys/fs/cgroup/unified");
        cr_assert_str_eq(m.v1[CG_CPU], "/sys/fs/cgroup/cpu");
        cr_assert_str_eq(m.v1[CG_CPUACCT], "/sys/fs/cgroup/cpuacct");
        cr_assert_str_eq(m.v1[CG_FREEZER], "/sys/fs/cgroup/freezer");
        cr_assert_null(m.v1[CG_HUGETLB], "no v1 hugetlb on this host");
        cr_assert_eq(m.v1_mask & CG_MASK(CG_HUGETLB), 0);
        cr_assert_neq(m.v1_mask & CG_MASK(CG_PIDS), 0);
        cg_mounts_done(&m);
}

Test(cgroups, mounts_co_mounted_and_shortest)
{
        struct cg_mounts m;
        char text[sizeof(legacy_mountinfo) + 200];
        /* A second, longer mount of the memory hierarchy (a bind mount) is not used. */
        snprintf(
                text, sizeof(text), "%s%s", legacy_mountinfo,
                "90 30 0:26 / /run/qoslet-bind-mount/memory\\040bind rw - cgroup cgroup rw,memory\n"
                "91 25 0:26 / /a\\040b rw - cgroup cgroup rw,rdma\n");
        cr_assert_eq(cg_mounts_parse(text, &m, NULL), 0);
        cr_assert_null(m.unified);
        cr_assert_str_eq(m.v1[CG_CPU], "/sys/fs/cgroup/cpu,cpuacct");
        cr_assert_str_eq(m.v1[CG_CPUACCT], "/sys/fs/cgroup/cpu,cpuacct");
        cr_assert_str_eq(m.v1[CG_MEMORY], "/sys/fs/cgroup/memory");
        cr_assert_str_eq(m.v1[CG_HUGETLB], "/sys/fs/cgroup/hugetlb");
        cr_assert_str_eq(m.v1[CG_RDMA], "/a b", "octal escapes decoded");
        cg_mounts_done(&m);
}

Test(cgroups, file_controller)
{
        enum cg_controller c;
        cr_assert_eq(cg_file_controller("cpu/cpu.shares", true, &c, NULL), 0);
        cr_assert_eq(c, CG_CPU);
        cr_assert_eq(cg_file_controller("hugetlb/hugetlb.2MB.limit_in_bytes", true, &c, NULL), 0);
        cr_assert_eq(c, CG_HUGETLB);
        cr_assert_eq(cg_file_controller("hugetlb.1GB.max", false, &c, NULL), 0);
        cr_assert_eq(c, CG_HUGETLB);
        cr_assert_eq(cg_file_controller("memory.oom.group", false, &c, NULL), 0);
        cr_assert_eq(c, CG_MEMORY);
        cr_assert_eq(cg_file_controller("cgroup.procs", false, &c, NULL), 0);
        cr_assert_eq(c, _CG_CONTROLLER_MAX);
        cr_assert_eq(cg_file_controller("cpu.shares", true, &c, NULL), -EINVAL);
        cr_assert_eq(cg_file_controller("cpu/cpu.max", false, &c, NULL), -EINVAL);
        cr_assert_eq(cg_file_controller("../x/y", true, &c, NULL), -EINVAL);
        cr_assert_eq(cg_file_controller("cpu/../../etc", true, &c, NULL), -EINVAL);
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(cg_file_controller("bogus.max", false, &c, &e), -EINVAL);
        cr_assert_str_eq(e->msg, "unknown cgroup controller in 'bogus.max'");
}

Test(cgroups, controller_list)
{
        unsigned m = cg_parse_controller_list("cpuset cpu io memory hugetlb pids rdma misc\n");
        cr_assert_eq(m, CG_MASK(CG_CPUSET) | CG_MASK(CG_CPU) | CG_MASK(CG_IO) | CG_MASK(CG_MEMORY) |
                                CG_MASK(CG_HUGETLB) | CG_MASK(CG_PIDS) | CG_MASK(CG_RDMA) |
                                CG_MASK(CG_MISC));
        cr_assert_eq(cg_parse_controller_list(""), 0);
        cr_assert_eq(cg_parse_controller_list("hugetlb"), CG_MASK(CG_HUGETLB));
}

Test(cgroups, keyed_memory_events)
{
        const char *events = "low 0\nhigh 0\nmax 17\noom 3\noom_kill 2\noom_group_kill 1\n";
        uint64_t v = 99;
        cr_assert_eq(cg_parse_keyed(events, "oom", &v), 0);
        cr_assert_eq(v, 3, "'oom' must not match 'oom_kill'");
        cr_assert_eq(cg_parse_keyed(events, "oom_kill", &v), 0);
        cr_assert_eq(v, 2);
        cr_assert_eq(cg_parse_keyed(events, "oom_group_kill", &v), 0);
        cr_assert_eq(v, 1);
        cr_assert_eq(cg_parse_keyed(events, "max", &v), 0);
        cr_assert_eq(v, 17);
        cr_assert_eq(cg_parse_keyed(events, "sock", &v), -ENOENT);
}

Test(cgroups, keyed_oom_control_v1)
{
        const char *oc = "oom_kill_disable 0\nunder_oom 1\noom_kill 4\n";
        uint64_t v;
        cr_assert_eq(cg_parse_keyed(oc, "under_oom", &v), 0);
        cr_assert_eq(v, 1);
        cr_assert_eq(cg_parse_keyed(oc, "oom_kill", &v), 0);
        cr_assert_eq(v, 4);
        cr_assert_eq(cg_parse_keyed(oc, "oom_kill_disable", &v), 0);
        cr_assert_eq(v, 0);
}

Test(cgroups, keyed_cpu_stat)
{
        const char *v2 = "usage_usec 9223372036854775807\nuser_usec 10\nsystem_usec 5\n"
                         "nr_periods 40\nnr_throttled 12\nthrottled_usec 1500000\n"
                         "nr_bursts 0\nburst_usec 0";
        const char *v1 = "nr_periods 7\nnr_throttled 3\nthrottled_time 123456789\n";
        uint64_t v;
        cr_assert_eq(cg_parse_keyed(v2, "usage_usec", &v), 0);
        cr_assert_eq(v, UINT64_C(9223372036854775807));
        cr_assert_eq(cg_parse_keyed(v2, "nr_throttled", &v), 0);
        cr_assert_eq(v, 12);
        cr_assert_eq(cg_parse_keyed(v2, "burst_usec", &v), 0, "last line without newline");
        cr_assert_eq(v, 0);
        cr_assert_eq(cg_parse_keyed(v1, "throttled_time", &v), 0);
        cr_assert_eq(v, 123456789);
        cr_assert_eq(cg_parse_keyed("nr_periods x\n", "nr_periods", &v), -EINVAL);
        cr_assert_eq(cg_parse_keyed("nr_periods -1\n", "nr_periods", &v), -EINVAL);
        cr_assert_eq(cg_parse_keyed("nr_periods 99999999999999999999\n", "nr_periods", &v),
                     -EINVAL);
}

Test(cgroups, path_validity)
{
        cr_assert(cg_path_is_valid("/"));
        cr_assert(cg_path_is_valid("/kubepods/burstable/pod1"));
        cr_assert(!cg_path_is_valid(""));
        cr_assert(!cg_path_is_valid("kubepods"));
        cr_assert(!cg_path_is_valid("/kubepods/"));
        cr_assert(!cg_path_is_valid("/kubepods//x"));
        cr_assert(!cg_path_is_valid("/kubepods/../etc"));
        cr_assert(!cg_path_is_valid("/./x"));
        cr_assert(cg_path_is_valid("/x/..y"));
}

Test(cgroups, path_below_root)
{
        cr_assert(cg_path_is_below("/kubepods", "/"));
        cr_assert(!cg_path_is_below("/", "/"));
        cr_assert(cg_path_is_below("/custom/kubepods", "/custom"));
        cr_assert(!cg_path_is_below("/custom", "/custom"));
        cr_assert(!cg_path_is_below("/customer/kubepods", "/custom"));
        cr_assert(!cg_path_is_below("/system.slice", "/custom"));
}

Test(cgroups, path_prefixes_and_join)
{
        _cleanup_strv_free_ char **l = NULL;
        cr_assert_eq(cg_path_prefixes("/a/b/c", &l), 0);
        cr_assert_eq(cg_strv_length(l), 3);
        cr_assert_str_eq(l[0], "/a");
        cr_assert_str_eq(l[1], "/a/b");
        cr_assert_str_eq(l[2], "/a/b/c");
        _cleanup_free_ char *j1 = cg_path_join("/sys/fs/cgroup", "/kubepods", "cpu.max");
        _cleanup_free_ char *j2 = cg_path_join("/sys/fs/cgroup/", "/", NULL);
        cr_assert_str_eq(j1, "/sys/fs/cgroup/kubepods/cpu.max");
        cr_assert_str_eq(j2, "/sys/fs/cgroup/");
}

static void check_systemd(const char *fs, const char *want)
{
        _cleanup_free_ char *got = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(cg_path_to_systemd(fs, &got, &e), 0, "%s: %s", fs, qerr_msg(e));
        cr_assert_str_eq(got, want);
}

Test(cgroups, systemd_form_of_cgroupfs_paths)
{
        check_systemd("/", "/");
        check_systemd("/kubepods", "/kubepods.slice");
        check_systemd("/kubepods/burstable", "/kubepods.slice/kubepods-burstable.slice");
        check_systemd("/kubepods/besteffort/pod0123456789abcdef0123456789abcdef",
                      "/kubepods.slice/kubepods-besteffort.slice/"
                      "kubepods-besteffort-pod0123456789abcdef0123456789abcdef.slice");
        check_systemd("/kubepods/pod8dcd9d8e-7c4d-4a1f-a55b-1f6e12a1b4f1",
                      "/kubepods.slice/kubepods-pod8dcd9d8e_7c4d_4a1f_a55b_1f6e12a1b4f1.slice");
        check_systemd("/qoslet-test-12-3/kubepods",
                      "/qoslet_test_12_3.slice/qoslet_test_12_3-kubepods.slice");
        _cleanup_free_ char *got = NULL;
        cr_assert_eq(cg_path_to_systemd("/a_b", &got, NULL), -EINVAL);
        cr_assert_eq(cg_path_to_systemd("relative", &got, NULL), -EINVAL);
        cr_assert_null(got);
}

static void check_expand(const char *slice, const char *want)
{
        _cleanup_free_ char *got = NULL;
        cr_assert_eq(cg_systemd_expand_slice(slice, &got, NULL), 0, "%s", slice);
        cr_assert_str_eq(got, want);
}

Test(cgroups, systemd_expand_slice)
{
        check_expand("-.slice", "/");
        check_expand("kubepods.slice", "/kubepods.slice");
        check_expand("kubepods-burstable-podx.slice",
                     "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podx.slice");
        _cleanup_free_ char *got = NULL;
        cr_assert_eq(cg_systemd_expand_slice("a--b.slice", &got, NULL), -EINVAL);
        cr_assert_eq(cg_systemd_expand_slice("-a.slice", &got, NULL), -EINVAL);
        cr_assert_eq(cg_systemd_expand_slice("a-.slice", &got, NULL), -EINVAL);
        cr_assert_eq(cg_systemd_expand_slice("a.scope", &got, NULL), -EINVAL);
        cr_assert_eq(cg_systemd_expand_slice("a/b.slice", &got, NULL), -EINVAL);
}

Test(cgroups, systemd_unit_and_parent)
{
        _cleanup_free_ char *unit = NULL, *parent = NULL, *u2 = NULL, *p2 = NULL, *u3 = NULL;
        cr_assert_eq(cg_systemd_unit_of("/kubepods.slice", &unit, &parent, NULL), 0);
        cr_assert_str_eq(unit, "kubepods.slice");
        cr_assert_str_eq(parent, "-.slice");
        cr_assert_eq(cg_systemd_unit_of("/kubepods.slice/kubepods-pod1.slice/qoslet-c1.scope", &u2,
                                        &p2, NULL),
                     0);
        cr_assert_str_eq(u2, "qoslet-c1.scope");
        cr_assert_str_eq(p2, "kubepods-pod1.slice");
        cr_assert_eq(cg_systemd_unit_of("/", &u3, NULL, NULL), -EINVAL);
        cr_assert_eq(cg_systemd_unit_of("/a.scope/b.scope", &u3, NULL, NULL), -EINVAL);
        cr_assert_null(u3);
}

Test(cgroups, container_paths)
{
        _cleanup_free_ char *fs = NULL, *sd = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(cg_container_paths("/kubepods/burstable/podabc",
                                        "/kubepods.slice/kubepods-burstable.slice/"
                                        "kubepods-burstable-podabc.slice",
                                        "0f1e2d", &fs, &sd, &e),
                     0);
        cr_assert_str_eq(fs, "/kubepods/burstable/podabc/0f1e2d");
        cr_assert_str_eq(sd, "/kubepods.slice/kubepods-burstable.slice/"
                             "kubepods-burstable-podabc.slice/qoslet-0f1e2d.scope");
        _cleanup_free_ char *f2 = NULL, *s2 = NULL;
        cr_assert_eq(cg_container_paths("/p", "/p.slice", "../x", &f2, &s2, &e), -EINVAL);
        cr_assert_str_eq(e->msg, "bad container id '../x'");
        cr_assert_eq(cg_container_paths("/p", "/p.slice", "a/b", &f2, &s2, NULL), -EINVAL);
        cr_assert_eq(cg_container_paths("/p", "/p.slice", "", &f2, &s2, NULL), -EINVAL);
        cr_assert_null(f2);
}

Test(cgroups, backoff_is_bounded)
{
        struct cg_backoff b;
        uint64_t start = cg_now_us();
        unsigned waits = 0;
        cg_backoff_init(&b, 50 * 1000);
        while (cg_backoff_wait(&b))
                waits++;
        uint64_t took = cg_now_us() - start;
        /* 1 + 2 + 4 + 8 + 16 ms, then the rest up to 50 ms: few wake-ups, no spinning. */
        cr_assert_leq(waits, 7, "waits %u", waits);
        cr_assert_geq(waits, 5, "waits %u", waits);
        cr_assert_geq(took, 50 * 1000);
        cr_assert_lt(took, 150 * 1000, "took %llu us", (unsigned long long)took);
}

Test(cgroups, manager_refuses_paths_outside_its_root)
{
        _cleanup_cg_manager_ struct cg_manager *m = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        int r = cg_manager_new("cgroupfs", "/qoslet-unit-root", &m, &e);
        cr_assert_eq(r, 0, "%s", qerr_msg(e));
        cr_assert_str_eq(cg_manager_root(m), "/qoslet-unit-root");
        cr_assert_str_eq(cg_manager_systemd_root(m), "/qoslet_unit_root.slice");
        cr_assert_str_eq(cg_manager_driver(m), "cgroupfs");
        struct cg_values none = { 0 };
        cr_assert_eq(cg_apply(m, "/system.slice", "/system.slice", &none, &none, 0, NULL, &e),
                     -EPERM);
        cr_assert_str_eq(e->msg, "cgroup '/system.slice' is outside cgroup root "
                                 "'/qoslet-unit-root'");
        qerr_free(TAKE_PTR(e));
        cr_assert_eq(cg_destroy(m, "/qoslet-unit-rootx", "/x.slice", NULL, &e), -EPERM);
        qerr_free(TAKE_PTR(e));
        cr_assert_eq(cg_destroy(m, "/qoslet-unit-root/../etc", "/x.slice", NULL, &e), -EINVAL);
}

Test(cgroups, manager_never_takes_the_hierarchy_root)
{
        _cleanup_cg_manager_ struct cg_manager *m = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(cg_manager_new("cgroupfs", NULL, &m, &e), 0, "%s", qerr_msg(e));
        cr_assert_str_eq(cg_manager_root(m), "/");
        cr_assert_eq(cg_destroy(m, "/", "/", NULL, &e), -EPERM);
}

Test(cgroups, manager_unknown_driver)
{
        struct cg_manager *m = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(cg_manager_new("docker", "/", &m, &e), -EINVAL);
        cr_assert_str_eq(e->msg, "unknown cgroup driver 'docker'");
        cr_assert_null(m);
        qerr_free(TAKE_PTR(e));
        cr_assert_eq(cg_manager_new("cgroupfs", "relative", &m, &e), -EINVAL);
}
