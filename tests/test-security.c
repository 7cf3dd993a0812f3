/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "basic/fileio.h"
#include "helpers/pod-builder.h"
#include "security/internal.h"
#include "security/profile.h"
#include "security/security.h"

#define U POD_BUILDER_UNSET
#define BIT(c) (UINT64_C(1) << (c))
/* This machine's bounding set: every capability up to 40 but CAP_SYS_RESOURCE. */
#define OWN_BSET UINT64_C(0x000001fffeffffff)
#define FULL_BSET UINT64_C(0x000001ffffffffff)

/* A NULL-terminated heap list of strings, owned by the pod it goes into. */
static char **strv(const char *first, ...)
{
        char **l = calloc(16, sizeof(char *));
        va_list ap;
        va_start(ap, first);
        size_t n = 0;
        for (const char *s = first; s; s = va_arg(ap, const char *))
                l[n++] = strdup(s);
        va_end(ap);
        return l;
}

static struct pod *one_container_pod(struct container **ret_c)
{
        struct pod *p = pod_builder_new("web", "uid1");
        *ret_c = pod_builder_add_container(p, "app", U, U, U, U);
        return p;
}

static int plan_of(const struct pod *p, const struct container *c, const char *image_user,
                   const char *rootfs, uint64_t bset, struct sec_plan *ret, struct qerr **err)
{
        struct sec_image_user img = { .user = image_user, .rootfs = rootfs };
        return sec_plan_for_container(p, c, image_user || rootfs ? &img : NULL, bset, ret, err);
}

Test(security, cap_names)
{
        for (int cap = 0; cap <= SEC_CAP_LAST_KNOWN; cap++) {
                const char *n = sec_cap_to_name(cap);
                cr_assert_not_null(n, "no name for %d", cap);
                cr_expect_eq(sec_cap_from_name(n), cap, "%s", n);
                cr_expect_eq(sec_cap_from_name(n + 4), cap, "%s without prefix", n);
        }
        cr_expect_eq(sec_cap_from_name("net_admin"), CAP_NET_ADMIN);
        cr_expect_eq(sec_cap_from_name("cap_sys_admin"), CAP_SYS_ADMIN);
        cr_expect_eq(sec_cap_from_name("CAP_BPF"), CAP_BPF);
        cr_expect_eq(sec_cap_from_name("FOO"), -EINVAL);
        cr_expect_eq(sec_cap_from_name("CAP_"), -EINVAL);
        cr_expect_eq(sec_cap_from_name(""), -EINVAL);
        cr_expect_eq(sec_cap_from_name("ALL"), -EINVAL);
        cr_expect_null(sec_cap_to_name(41));
        cr_expect_null(sec_cap_to_name(-1));
}

Test(security, default_caps_are_containerds_list)
{
        static const int caps[] = {
                CAP_CHOWN,   CAP_DAC_OVERRIDE, CAP_FSETID,           CAP_FOWNER,
                CAP_MKNOD,   CAP_NET_RAW,      CAP_SETGID,           CAP_SETUID,
                CAP_SETFCAP, CAP_SETPCAP,      CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT,
                CAP_KILL,    CAP_AUDIT_WRITE
        };
        uint64_t m = 0;
        for (size_t i = 0; i < ELEMENTSOF(caps); i++)
                m |= BIT(caps[i]);
        cr_expect_eq(m, SEC_DEFAULT_CAPS, "%016llx", (unsigned long long)m);
}

Test(security, capability_table)
{
        static const struct {
                const char *add[4], *drop[4];
                bool privileged;
                uint64_t bset, want, unavailable;
        } v[] = {
                { { NULL }, { NULL }, false, OWN_BSET, 0xa80425fb, 0 },
                { { NULL }, { "ALL" }, false, OWN_BSET, 0, 0 },
                { { NULL }, { "all" }, false, OWN_BSET, 0, 0 },
                { { "NET_ADMIN" }, { NULL }, false, OWN_BSET, 0xa80435fb, 0 },
                { { "CAP_NET_ADMIN" }, { NULL }, false, OWN_BSET, 0xa80435fb, 0 },
                { { "net_admin" }, { NULL }, false, OWN_BSET, 0xa80435fb, 0 },
                { { "SYS_TIME" },
                  { "NET_RAW", "CAP_MKNOD" },
                  false,
                  OWN_BSET,
                  (0xa80425fb | BIT(CAP_SYS_TIME)) & ~BIT(CAP_NET_RAW) & ~BIT(CAP_MKNOD),
                  0 },
                { { "NET_BIND_SERVICE" }, { "ALL" }, false, OWN_BSET, BIT(CAP_NET_BIND_SERVICE), 0 },
                { { "ALL" }, { "CHOWN" }, false, OWN_BSET, OWN_BSET & ~BIT(CAP_CHOWN), 0 },
                { { "NET_ADMIN" }, { "NET_ADMIN" }, false, OWN_BSET, 0xa80425fb, 0 },
                { { "SYS_RESOURCE" }, { NULL }, false, OWN_BSET, 0xa80425fb, BIT(CAP_SYS_RESOURCE) },
                { { "SYS_RESOURCE" },
                  { NULL },
                  false,
                  FULL_BSET,
                  0xa80425fb | BIT(CAP_SYS_RESOURCE),
                  0 },
                { { NULL }, { NULL }, true, OWN_BSET, OWN_BSET, 0 },
                { { NULL }, { NULL }, true, FULL_BSET, FULL_BSET, 0 },
                { { NULL }, { "ALL" }, true, OWN_BSET, OWN_BSET, 0 },
        };
        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                struct container *c;
                _cleanup_pod_ struct pod *p = one_container_pod(&c);
                c->security.capabilities.add = strv(v[i].add[0], v[i].add[1], NULL);
                c->security.capabilities.drop = strv(v[i].drop[0], v[i].drop[1], NULL);
                c->security.has_privileged = true;
                c->security.privileged = v[i].privileged;
                _cleanup_sec_plan_ struct sec_plan pl = { 0 };
                _cleanup_qerr_ struct qerr *e = NULL;
                cr_assert_eq(plan_of(p, c, NULL, NULL, v[i].bset, &pl, &e), 0, "case %zu: %s", i,
                             qerr_msg(e));
                cr_expect_eq(pl.cap_bounding, v[i].want, "case %zu: bounding %016llx, want %016llx",
                             i, (unsigned long long)pl.cap_bounding, (unsigned long long)v[i].want);
                cr_expect_eq(pl.cap_effective, v[i].want, "case %zu", i);
                cr_expect_eq(pl.cap_permitted, v[i].want, "case %zu", i);
                cr_expect_eq(pl.cap_inheritable, 0, "case %zu", i);
                cr_expect_eq(pl.cap_ambient, 0, "case %zu", i);
                cr_expect_eq(pl.cap_unavailable, v[i].unavailable, "case %zu", i);
        }
}

static void expect_plan_error(struct pod *p, const struct container *c, const char *image_user,
                              const char *rootfs, const char *want)
{
        _cleanup_sec_plan_ struct sec_plan pl = { 0 };
        _cleanup_qerr_ struct qerr *e = NULL;
        int r = plan_of(p, c, image_user, rootfs, OWN_BSET, &pl, &e);
        cr_assert_lt(r, 0, "expected an error: %s", want);
        cr_expect_str_eq(qerr_msg(e), want);
}

Test(security, unknown_capability_refused)
{
        struct container *c;
        _cleanup_pod_ struct pod *p = one_container_pod(&c);
        c->security.capabilities.add = strv("NET_ADMIN", "CAP_FLY", NULL);
        expect_plan_error(p, c, NULL, NULL,
                          "container 'app': unknown capability 'CAP_FLY' in capabilities.add");
        strv_free(c->security.capabilities.add);
        c->security.capabilities.add = NULL;
        c->security.capabilities.drop = strv("CAP_", NULL);
        expect_plan_error(p, c, NULL, NULL,
                          "container 'app': unknown capability 'CAP_' in capabilities.drop");
}

Test(security, run_as_non_root)
{
        static const struct {
                bool has_uid;
                int64_t uid;
                const char *image_user; /* NULL: no image information */
                const char *want; /* NULL: allowed */
                uint32_t want_uid;
        } v[] = {
                { true, 0, "1000",
                  "container's runAsUser breaks non-root policy (pod: "
                  "\"web_default(uid1)\", container: app)",
                  0 },
                { true, 1000, "", NULL, 1000 },
                { true, 1000, "app", NULL, 1000 },
                { false, 0, "app",
                  "container has runAsNonRoot and image has non-numeric user "
                  "(app), cannot verify user is non-root (pod: "
                  "\"web_default(uid1)\", container: app)",
                  0 },
                { false, 0, "app:1000",
                  "container has runAsNonRoot and image has non-numeric "
                  "user (app), cannot verify user is non-root (pod: "
                  "\"web_default(uid1)\", container: app)",
                  0 },
                { false, 0, "",
                  "container has runAsNonRoot and image will run as root (pod: "
                  "\"web_default(uid1)\", container: app)",
                  0 },
                { false, 0, NULL,
                  "container has runAsNonRoot and image will run as root (pod: "
                  "\"web_default(uid1)\", container: app)",
                  0 },
                { false, 0, "0",
                  "container has runAsNonRoot and image will run as root (pod: "
                  "\"web_default(uid1)\", container: app)",
                  0 },
                { false, 0, "0:1000",
                  "container has runAsNonRoot and image will run as root "
                  "(pod: \"web_default(uid1)\", container: app)",
                  0 },
                { false, 0, "1000", NULL, 1000 },
                { false, 0, "65534:65534", NULL, 65534 },
        };
        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                struct container *c;
                _cleanup_pod_ struct pod *p = one_container_pod(&c);
                c->security.has_run_as_non_root = true;
                c->security.run_as_non_root = true;
                c->security.has_run_as_user = v[i].has_uid;
                c->security.run_as_user = v[i].uid;
                _cleanup_sec_plan_ struct sec_plan pl = { 0 };
                _cleanup_qerr_ struct qerr *e = NULL;
                int r = plan_of(p, c, v[i].image_user, NULL, OWN_BSET, &pl, &e);
                if (v[i].want) {
                        cr_expect_lt(r, 0, "case %zu allowed", i);
                        cr_expect_str_eq(qerr_msg(e), v[i].want, "case %zu", i);
                } else {
                        cr_expect_eq(r, 0, "case %zu: %s", i, qerr_msg(e));
                        cr_expect_eq(pl.uid, v[i].want_uid, "case %zu", i);
                }
        }
}

Test(security, run_as_non_root_from_pod_level)
{
        struct container *c;
        _cleanup_pod_ struct pod *p = one_container_pod(&c);
        p->spec.security.has_run_as_non_root = true;
        p->spec.security.run_as_non_root = true;
        expect_plan_error(p, c, "", NULL,
                          "container has runAsNonRoot and image will run as root (pod: "
                          "\"web_default(uid1)\", container: app)");
        /* The pod's runAsUser satisfies the pod's policy. */
        p->spec.security.has_run_as_user = true;
        p->spec.security.run_as_user = 4242;
        _cleanup_sec_plan_ struct sec_plan pl = { 0 };
        cr_assert_eq(plan_of(p, c, "", NULL, OWN_BSET, &pl, NULL), 0);
        cr_expect_eq(pl.uid, 4242);
        sec_plan_done(&pl);
        /* A container may opt out of the pod's policy. */
        p->spec.security.has_run_as_user = false;
        c->security.has_run_as_non_root = true;
        c->security.run_as_non_root = false;
        cr_assert_eq(plan_of(p, c, "", NULL, OWN_BSET, &pl, NULL), 0);
        cr_expect_eq(pl.uid, 0);
        /* The container's runAsUser wins over the pod's. */
        sec_plan_done(&pl);
        c->security.has_run_as_user = true;
        c->security.run_as_user = 7;
        p->spec.security.has_run_as_user = true;
        p->spec.security.run_as_user = 8;
        cr_assert_eq(plan_of(p, c, "", NULL, OWN_BSET, &pl, NULL), 0);
        cr_expect_eq(pl.uid, 7);
}

/* An image rootfs with its own /etc/passwd and /etc/group. */
static char *make_rootfs(void)
{
        char *dir = strdup("/tmp/qoslet-sec-test-XXXXXX");
        cr_assert_not_null(mkdtemp(dir));
        char path[256];
        snprintf(path, sizeof(path), "%s/etc", dir);
        cr_assert_eq(mkdir(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/etc/passwd", dir);
        FILE *f = fopen(path, "w");
        fputs("root:x:0:0:root:/root:/bin/sh\n"
              "# a comment\n"
              "daemon:x:1:1::/:/bin/false\n"
              "app:x:1001:1002:App:/home/app:/bin/sh\n"
              "broken line\n"
              "web:x:33:33::/var/www:/bin/false\n",
              f);
        fclose(f);
        snprintf(path, sizeof(path), "%s/etc/group", dir);
        f = fopen(path, "w");
        fputs("root:x:0:\n"
              "wheel:x:10:root,app\n"
              "app:x:1002:app\n"
              "staff:x:50:web,app\n"
              "audio:x:29:web\n",
              f);
        fclose(f);
        return dir;
}

static int write_file_for_test(const char *path, const char *content)
{
        FILE *f = fopen(path, "w");
        if (!f)
                return -errno;
        fputs(content, f);
        return fclose(f) == 0 ? 0 : -errno;
}

static void remove_rootfs(const char *dir)
{
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        cr_assert_eq(system(cmd), 0);
}

static void expect_groups(const struct sec_plan *pl, const uint32_t *want, size_t n)
{
        cr_assert_eq(pl->n_groups, n, "got %zu groups, want %zu", pl->n_groups, n);
        for (size_t i = 0; i < n; i++)
                cr_expect_eq(pl->groups[i], want[i], "group %zu: %u, want %u", i, pl->groups[i],
                             want[i]);
}

Test(security, image_user_from_passwd)
{
        _cleanup_free_ char *root = make_rootfs();
        struct container *c;
        _cleanup_pod_ struct pod *p = one_container_pod(&c);
        _cleanup_sec_plan_ struct sec_plan pl = { 0 };
        _cleanup_qerr_ struct qerr *e = NULL;

        cr_assert_eq(plan_of(p, c, "app", root, OWN_BSET, &pl, &e), 0, "%s", qerr_msg(e));
        cr_expect_eq(pl.uid, 1001);
        cr_expect_eq(pl.gid, 1002);
        expect_groups(&pl, (const uint32_t[]){ 1002, 10, 50 }, 3);
        sec_plan_done(&pl);

        cr_assert_eq(plan_of(p, c, "app:staff", root, OWN_BSET, &pl, &e), 0, "%s", qerr_msg(e));
        cr_expect_eq(pl.uid, 1001);
        cr_expect_eq(pl.gid, 50);
        expect_groups(&pl, (const uint32_t[]){ 50, 10 }, 2);
        sec_plan_done(&pl);

        /* A numeric user: its passwd entry gives the group and the name for memberships. */
        cr_assert_eq(plan_of(p, c, "33", root, OWN_BSET, &pl, &e), 0, "%s", qerr_msg(e));
        cr_expect_eq(pl.uid, 33);
        cr_expect_eq(pl.gid, 33);
        expect_groups(&pl, (const uint32_t[]){ 33, 50, 29 }, 3);
        sec_plan_done(&pl);

        /* Unknown to the image: group 0, no memberships. */
        cr_assert_eq(plan_of(p, c, "5000", root, OWN_BSET, &pl, &e), 0, "%s", qerr_msg(e));
        cr_expect_eq(pl.uid, 5000);
        cr_expect_eq(pl.gid, 0);
        expect_groups(&pl, (const uint32_t[]){ 0 }, 1);
        sec_plan_done(&pl);

        /* Root by default, with root's memberships. */
        cr_assert_eq(plan_of(p, c, "", root, OWN_BSET, &pl, &e), 0, "%s", qerr_msg(e));
        cr_expect_eq(pl.uid, 0);
        expect_groups(&pl, (const uint32_t[]){ 0, 10 }, 2);
        sec_plan_done(&pl);

        cr_assert_eq(plan_of(p, c, "web:5", root, OWN_BSET, &pl, &e), 0, "%s", qerr_msg(e));
        cr_expect_eq(pl.gid, 5);
        remove_rootfs(root);
}

Test(security, image_user_errors)
{
        _cleanup_free_ char *root = make_rootfs();
        struct container *c;
        _cleanup_pod_ struct pod *p = one_container_pod(&c);
        expect_plan_error(p, c, "ghost", root,
                          "container 'app': unable to find user 'ghost': no matching entries in "
                          "passwd file");
        expect_plan_error(p, c, "app:nogroup", root,
                          "container 'app': unable to find group 'nogroup': no matching entries "
                          "in group file");
        expect_plan_error(p, c, "app", NULL,
                          "container 'app': unable to find user 'app': no matching entries in "
                          "passwd file");
        expect_plan_error(p, c, "99999999999", root,
                          "container 'app': user id '99999999999' is out of range");
        remove_rootfs(root);
}

Test(security, passwd_link_stays_in_rootfs)
{
        _cleanup_free_ char *root = make_rootfs();
        char path[256], target[256];
        /* An absolute link must resolve inside the image, never to the host's /etc/passwd. */
        snprintf(path, sizeof(path), "%s/etc/passwd", root);
        snprintf(target, sizeof(target), "%s/etc/passwd.real", root);
        cr_assert_eq(rename(path, target), 0);
        cr_assert_eq(symlink("/etc/passwd.real", path), 0);
        struct container *c;
        _cleanup_pod_ struct pod *p = one_container_pod(&c);
        _cleanup_sec_plan_ struct sec_plan pl = { 0 };
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(plan_of(p, c, "app", root, OWN_BSET, &pl, &e), 0, "%s", qerr_msg(e));
        cr_expect_eq(pl.uid, 1001);
        sec_plan_done(&pl);
        /* A link that climbs out stays in the rootfs: the host has /etc/hostname, the image
         * does not. */
        cr_assert_eq(unlink(path), 0);
        cr_assert_eq(symlink("../../../../../../../etc/hostname", path), 0);
        expect_plan_error(p, c, "root", root,
                          "container 'app': unable to find user 'root': no matching entries in "
                          "passwd file");
        remove_rootfs(root);
}

Test(security, run_as_group_and_pod_groups)
{
        _cleanup_free_ char *root = make_rootfs();
        struct container *c;
        _cleanup_pod_ struct pod *p = one_container_pod(&c);
        p->spec.security.has_run_as_user = true;
        p->spec.security.run_as_user = 1001;
        p->spec.security.has_run_as_group = true;
        p->spec.security.run_as_group = 3000;
        p->spec.security.has_fs_group = true;
        p->spec.security.fs_group = 2000;
        p->spec.security.supplemental_groups = calloc(3, sizeof(int64_t));
        p->spec.security.supplemental_groups[0] = 4000;
        p->spec.security.supplemental_groups[1] = 2000;
        p->spec.security.supplemental_groups[2] = 5000;
        p->spec.security.n_supplemental_groups = 3;
        _cleanup_sec_plan_ struct sec_plan pl = { 0 };
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(plan_of(p, c, "web", root, OWN_BSET, &pl, &e), 0, "%s", qerr_msg(e));
        cr_expect_eq(pl.uid, 1001);
        cr_expect_eq(pl.gid, 3000);
        /* Primary group, the image's memberships of user 1001 ("app"), fsGroup, then
         * supplementalGroups without repeats. */
        expect_groups(&pl, (const uint32_t[]){ 3000, 10, 50, 2000, 4000, 5000 }, 6);
        sec_plan_done(&pl);

        p->spec.security.supplemental_groups[1] = -2;
        expect_plan_error(p, c, "", NULL,
                          "fsGroup and supplementalGroups must be between 0 and 2147483647");
        p->spec.security.run_as_user = -1;
        expect_plan_error(p, c, "", NULL,
                          "container 'app': runAsUser and runAsGroup must be between 0 and "
                          "2147483647");
        remove_rootfs(root);
}

Test(security, sysctls)
{
        cr_expect(sec_sysctl_is_safe("kernel.shm_rmid_forced"));
        cr_expect(sec_sysctl_is_safe("net.ipv4.tcp_rmem"));
        cr_expect(sec_sysctl_is_safe("net/ipv4/ip_local_port_range"));
        cr_expect(sec_sysctl_is_safe("net.ipv4.tcp_keepalive_probes"));
        cr_expect(!sec_sysctl_is_safe("kernel.msgmax"));
        cr_expect(!sec_sysctl_is_safe("net.core.somaxconn"));
        cr_expect(!sec_sysctl_is_safe("net.ipv4.ip_local_port_range.x"));
        cr_expect(!sec_sysctl_is_safe("vm.overcommit_memory"));

        static const struct {
                const char *in, *out;
        } norm[] = {
                { "net.ipv4.tcp_rmem", "net.ipv4.tcp_rmem" },
                { "net/ipv4/tcp_rmem", "net.ipv4.tcp_rmem" },
                { "net/ipv4/conf/eth0.100/rp_filter", "net.ipv4.conf.eth0/100.rp_filter" },
                { "net.ipv4.conf.eth0/100.rp_filter", "net.ipv4.conf.eth0/100.rp_filter" },
        };
        for (size_t i = 0; i < ELEMENTSOF(norm); i++) {
                _cleanup_free_ char *n = sec_sysctl_normalize(norm[i].in);
                cr_expect_str_eq(n, norm[i].out);
        }
}

static void add_sysctl(struct pod *p, const char *name, const char *value)
{
        struct security_context *s = &p->spec.security;
        s->sysctls = realloc(s->sysctls, (s->n_sysctls + 1) * sizeof(*s->sysctls));
        s->sysctls[s->n_sysctls++] = (struct sysctl){ .name = strdup(name),
                                                      .value = strdup(value) };
}

Test(security, pod_sysctls)
{
        struct container *c;
        _cleanup_pod_ struct pod *p = one_container_pod(&c);
        add_sysctl(p, "net/ipv4/ip_unprivileged_port_start", "80");
        add_sysctl(p, "kernel.shm_rmid_forced", "1");
        _cleanup_sec_plan_ struct sec_plan pl = { 0 };
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(plan_of(p, c, NULL, NULL, OWN_BSET, &pl, &e), 0, "%s", qerr_msg(e));
        cr_assert_eq(pl.n_sysctls, 2);
        cr_expect_str_eq(pl.sysctls[0].name, "net.ipv4.ip_unprivileged_port_start");
        cr_expect_str_eq(pl.sysctls[0].value, "80");
        cr_expect_str_eq(pl.sysctls[1].name, "kernel.shm_rmid_forced");

        p->spec.host_ipc = true;
        expect_plan_error(p, c, NULL, NULL,
                          "sysctl 'kernel.shm_rmid_forced' not allowed with hostIPC enabled");
        p->spec.host_ipc = false;
        p->spec.host_network = true;
        expect_plan_error(p, c, NULL, NULL,
                          "sysctl 'net.ipv4.ip_unprivileged_port_start' not allowed with "
                          "hostNetwork enabled");
        p->spec.host_network = false;
        add_sysctl(p, "kernel.msgmax", "65536");
        expect_plan_error(p, c, NULL, NULL,
                          "forbidden sysctl 'kernel.msgmax': not in the safe set");
        free(p->spec.security.sysctls[2].name);
        p->spec.security.sysctls[2].name = strdup("net.ipv4.ip_unprivileged_port_start");
        expect_plan_error(p, c, NULL, NULL,
                          "sysctl 'net.ipv4.ip_unprivileged_port_start' is set twice");
}

Test(security, no_new_privs_and_read_only_rootfs)
{
        struct container *c;
        _cleanup_pod_ struct pod *p = one_container_pod(&c);
        _cleanup_sec_plan_ struct sec_plan pl = { 0 };
        cr_assert_eq(plan_of(p, c, NULL, NULL, OWN_BSET, &pl, NULL), 0);
        cr_expect(!pl.no_new_privs);
        cr_expect(!pl.read_only_rootfs);
        sec_plan_done(&pl);
        c->security.has_allow_privilege_escalation = true;
        c->security.allow_privilege_escalation = true;
        cr_assert_eq(plan_of(p, c, NULL, NULL, OWN_BSET, &pl, NULL), 0);
        cr_expect(!pl.no_new_privs);
        sec_plan_done(&pl);
        c->security.allow_privilege_escalation = false;
        c->security.has_read_only_root_filesystem = true;
        c->security.read_only_root_filesystem = true;
        cr_assert_eq(plan_of(p, c, NULL, NULL, OWN_BSET, &pl, NULL), 0);
        cr_expect(pl.no_new_privs);
        cr_expect(pl.read_only_rootfs);
        sec_plan_done(&pl);

        c->security.has_privileged = true;
        c->security.privileged = true;
        expect_plan_error(p, c, NULL, NULL,
                          "container 'app': cannot set allowPrivilegeEscalation to false and "
                          "privileged to true");
        c->security.privileged = false;
        c->security.capabilities.add = strv("SYS_ADMIN", NULL);
        expect_plan_error(p, c, NULL, NULL,
                          "container 'app': cannot set allowPrivilegeEscalation to false and "
                          "capabilities.add CAP_SYS_ADMIN");
}

Test(security, seccomp_choice)
{
        struct container *c;
        _cleanup_pod_ struct pod *p = one_container_pod(&c);
        _cleanup_sec_plan_ struct sec_plan pl = { 0 };
        cr_assert_eq(plan_of(p, c, NULL, NULL, OWN_BSET, &pl, NULL), 0);
        cr_expect_eq(pl.seccomp, SEC_SECCOMP_UNCONFINED, "seccompDefault is off");
        sec_plan_done(&pl);

        p->spec.security.seccomp.type = SECCOMP_RUNTIME_DEFAULT;
        cr_assert_eq(plan_of(p, c, NULL, NULL, OWN_BSET, &pl, NULL), 0);
        cr_expect_eq(pl.seccomp, SEC_SECCOMP_RUNTIME_DEFAULT, "inherited from the pod");
        sec_plan_done(&pl);

        c->security.seccomp.type = SECCOMP_UNCONFINED;
        cr_assert_eq(plan_of(p, c, NULL, NULL, OWN_BSET, &pl, NULL), 0);
        cr_expect_eq(pl.seccomp, SEC_SECCOMP_UNCONFINED, "the container's wins");
        sec_plan_done(&pl);

        c->security.seccomp.type = SECCOMP_LOCALHOST;
        c->security.seccomp.localhost_profile = strdup("profiles/audit.json");
        cr_assert_eq(plan_of(p, c, NULL, NULL, OWN_BSET, &pl, NULL), 0);
        cr_expect_eq(pl.seccomp, SEC_SECCOMP_LOCALHOST);
        cr_expect_str_eq(pl.seccomp_profile, "profiles/audit.json");
        sec_plan_done(&pl);

        c->security.has_privileged = true;
        c->security.privileged = true;
        cr_assert_eq(plan_of(p, c, NULL, NULL, OWN_BSET, &pl, NULL), 0);
        cr_expect_eq(pl.seccomp, SEC_SECCOMP_UNCONFINED, "privileged gets no filter");
        cr_expect_null(pl.seccomp_profile);
        c->security.privileged = false;

        static const char *const bad[] = { "../escape.json", "/etc/profile.json", "a/../../b", "" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                free(c->security.seccomp.localhost_profile);
                c->security.seccomp.localhost_profile = strdup(bad[i]);
                char want[200];
                snprintf(want, sizeof(want),
                         "container 'app': localhost seccomp profile '%s' must be a relative "
                         "path inside the profile directory",
                         bad[i]);
                expect_plan_error(p, c, NULL, NULL, want);
        }
}

Test(security, masked_paths)
{
        struct container *c;
        _cleanup_pod_ struct pod *p = one_container_pod(&c);
        _cleanup_sec_plan_ struct sec_plan pl = { 0 };
        cr_assert_eq(plan_of(p, c, NULL, NULL, OWN_BSET, &pl, NULL), 0);
        static const char *const masked[] = { "/proc/acpi",
                                              "/proc/asound",
                                              "/proc/kcore",
                                              "/proc/keys",
                                              "/proc/latency_stats",
                                              "/proc/timer_list",
                                              "/proc/timer_stats",
                                              "/proc/sched_debug",
                                              "/proc/scsi",
                                              "/sys/firmware",
                                              "/sys/devices/virtual/powercap" };
        static const char *const ro[] = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                          "/proc/sysrq-trigger" };
        for (size_t i = 0; i < ELEMENTSOF(masked); i++)
                cr_expect_str_eq(pl.masked_paths[i], masked[i]);
        cr_expect_null(pl.masked_paths[ELEMENTSOF(masked)]);
        for (size_t i = 0; i < ELEMENTSOF(ro); i++)
                cr_expect_str_eq(pl.readonly_paths[i], ro[i]);
        cr_expect_null(pl.readonly_paths[ELEMENTSOF(ro)]);
        sec_plan_done(&pl);

        c->security.proc_mount = strdup("Default");
        c->security.has_privileged = true;
        c->security.privileged = true;
        cr_assert_eq(plan_of(p, c, NULL, NULL, OWN_BSET, &pl, NULL), 0);
        cr_expect_null(pl.masked_paths);
        cr_expect_null(pl.readonly_paths);

        free(c->security.proc_mount);
        c->security.proc_mount = strdup("Unmasked");
        expect_plan_error(p, c, NULL, NULL,
                          "container 'app': procMount 'Unmasked' needs a user namespace "
                          "(hostUsers: false), which qoslet does not support");
}

static void expect_plans_equal(const struct sec_plan *a, const struct sec_plan *b)
{
        cr_expect_eq(a->privileged, b->privileged);
        cr_expect_eq(a->cap_bounding, b->cap_bounding);
        cr_expect_eq(a->cap_permitted, b->cap_permitted);
        cr_expect_eq(a->cap_effective, b->cap_effective);
        cr_expect_eq(a->cap_inheritable, b->cap_inheritable);
        cr_expect_eq(a->cap_ambient, b->cap_ambient);
        cr_expect_eq(a->cap_unavailable, b->cap_unavailable);
        cr_expect_eq(a->no_new_privs, b->no_new_privs);
        cr_expect_eq(a->seccomp, b->seccomp);
        cr_expect_str_eq(a->seccomp_profile ?: "-", b->seccomp_profile ?: "-");
        for (size_t i = 0; a->masked_paths && a->masked_paths[i]; i++)
                cr_expect_str_eq(a->masked_paths[i], b->masked_paths[i]);
        for (size_t i = 0; a->readonly_paths && a->readonly_paths[i]; i++)
                cr_expect_str_eq(a->readonly_paths[i], b->readonly_paths[i]);
        cr_expect_eq(a->read_only_rootfs, b->read_only_rootfs);
        cr_expect_eq(a->uid, b->uid);
        cr_expect_eq(a->gid, b->gid);
        cr_assert_eq(a->n_groups, b->n_groups);
        for (size_t i = 0; i < a->n_groups; i++)
                cr_expect_eq(a->groups[i], b->groups[i]);
        cr_assert_eq(a->n_sysctls, b->n_sysctls);
        for (size_t i = 0; i < a->n_sysctls; i++) {
                cr_expect_str_eq(a->sysctls[i].name, b->sysctls[i].name);
                cr_expect_str_eq(a->sysctls[i].value, b->sysctls[i].value);
        }
}

Test(security, text_round_trip)
{
        struct container *c;
        _cleanup_pod_ struct pod *p = one_container_pod(&c);
        c->security.capabilities.add = strv("NET_ADMIN", "SYS_RESOURCE", NULL);
        c->security.has_allow_privilege_escalation = true;
        c->security.seccomp.type = SECCOMP_LOCALHOST;
        c->security.seccomp.localhost_profile = strdup("my profiles/a\\b\n.json");
        c->security.has_read_only_root_filesystem = true;
        c->security.read_only_root_filesystem = true;
        c->security.has_run_as_user = true;
        c->security.run_as_user = 1000;
        p->spec.security.has_fs_group = true;
        p->spec.security.fs_group = 2000;
        add_sysctl(p, "net.ipv4.ip_local_port_range", "1024 65000");
        add_sysctl(p, "net.ipv4.tcp_rmem", "4096\t87380 6291456");
        _cleanup_sec_plan_ struct sec_plan pl = { 0 }, back = { 0 };
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(plan_of(p, c, NULL, NULL, OWN_BSET, &pl, &e), 0, "%s", qerr_msg(e));

        _cleanup_strbuf_ struct strbuf sb = { 0 };
        sec_plan_format(&pl, &sb);
        cr_assert(!sb.oom);
        cr_expect(strstr(sb.buf, "sec-cap-bounding 00000000a80435fb\n"), "%s", sb.buf);
        cr_expect(strstr(sb.buf, "sec-cap-unavailable 0000000001000000\n"), "%s", sb.buf);
        cr_expect(strstr(sb.buf, "sec-sysctl net.ipv4.ip_local_port_range=1024\\s65000\n"), "%s",
                  sb.buf);
        cr_expect(strstr(sb.buf, "sec-seccomp-profile my\\sprofiles/a\\\\b\\n.json\n"), "%s",
                  sb.buf);
        cr_expect(strstr(sb.buf, "sec-masked /proc/kcore\n"), "%s", sb.buf);
        /* Every line is "key value" with one space, as in a container spec. */
        for (const char *l = sb.buf; *l; l = strchr(l, '\n') + 1) {
                size_t len = strcspn(l, "\n");
                cr_expect_eq(memchr(l, ' ', len) != NULL, true);
                cr_expect_eq(strchr(strchr(l, ' ') + 1, ' ') == NULL ||
                                     strchr(strchr(l, ' ') + 1, ' ') > l + len,
                             true, "line has a second space: %.*s", (int)len, l);
        }
        cr_assert_eq(sec_plan_parse(sb.buf, &back, &e), 0, "%s", qerr_msg(e));
        expect_plans_equal(&pl, &back);
}

Test(security, text_privileged_round_trip)
{
        struct container *c;
        _cleanup_pod_ struct pod *p = one_container_pod(&c);
        c->security.has_privileged = true;
        c->security.privileged = true;
        _cleanup_sec_plan_ struct sec_plan pl = { 0 }, back = { 0 };
        cr_assert_eq(plan_of(p, c, NULL, NULL, OWN_BSET, &pl, NULL), 0);
        _cleanup_strbuf_ struct strbuf sb = { 0 };
        sec_plan_format(&pl, &sb);
        cr_expect(strstr(sb.buf, "sec-privileged 1\n"));
        cr_expect(!strstr(sb.buf, "sec-masked"));
        cr_assert_eq(sec_plan_parse(sb.buf, &back, NULL), 0);
        expect_plans_equal(&pl, &back);
        cr_expect_null(back.masked_paths);
}

Test(security, text_parse_errors)
{
        struct sec_plan pl = { 0 };
        cr_expect_eq(sec_plan_parse_line(&pl, "name", "x"), -ENOENT, "a cspec key");
        cr_expect_eq(sec_plan_parse_line(&pl, "sec-cap-bounding", "a80425fb"), -EINVAL);
        cr_expect_eq(sec_plan_parse_line(&pl, "sec-cap-bounding", "00000000a80425fg"), -EINVAL);
        cr_expect_eq(sec_plan_parse_line(&pl, "sec-uid", "-1"), -EINVAL);
        cr_expect_eq(sec_plan_parse_line(&pl, "sec-uid", "4294967295"), -EINVAL);
        cr_expect_eq(sec_plan_parse_line(&pl, "sec-seccomp", "strict"), -EINVAL);
        cr_expect_eq(sec_plan_parse_line(&pl, "sec-privileged", "yes"), -EINVAL);
        cr_expect_eq(sec_plan_parse_line(&pl, "sec-sysctl", "novalue"), -EINVAL);
        cr_expect_eq(sec_plan_parse_line(&pl, "sec-masked", "bad\\q"), -EINVAL);
        cr_expect_eq(sec_plan_parse_line(&pl, "sec-masked", "nul\\x00"), -EINVAL);
        cr_expect_eq(sec_plan_parse_line(&pl, "sec-masked", "/a\\sb\\x09c"), 0);
        cr_expect_str_eq(pl.masked_paths[0], "/a b\tc");
        sec_plan_done(&pl);

        _cleanup_qerr_ struct qerr *e = NULL;
        cr_expect_lt(sec_plan_parse("sec-uid 1\nsec-fly 1\n", &pl, &e), 0);
        cr_expect_str_eq(qerr_msg(e), "security plan line 2: unknown key 'sec-fly'");
        qerr_free(TAKE_PTR(e));
        cr_expect_lt(sec_plan_parse("sec-seccomp localhost\n", &pl, &e), 0);
        cr_expect_str_eq(qerr_msg(e), "security plan: localhost seccomp without a profile");
}

static struct sec_profile *default_profile(void)
{
        size_t len;
        const char *json = sec_default_profile_json(&len);
        cr_assert_gt(len, 1000);
        cr_assert_eq(json[len], 0, "embedded data ends with a NUL");
        struct sec_profile *p = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(sec_profile_parse(json, len, &p, &e), 0, "%s", qerr_msg(e));
        return p;
}

static bool allowed(const struct sec_profile *p, const char *name, uint64_t caps)
{
        const struct sec_rule *r = sec_profile_unconditional(p, name, caps);
        return r && r->action == SEC_ACT_ALLOW;
}

Test(security, default_profile)
{
        _cleanup_sec_profile_ struct sec_profile *p = default_profile();
        cr_expect_eq(p->default_action, SEC_ACT_ERRNO);
        cr_expect_eq(p->default_errno, EPERM);
        cr_assert_eq(p->n_arches, 3, "x86_64 with x86 and x32");

        static const char *const allow[] = { "read",       "write",  "openat", "execve",
                                             "exit_group", "mmap",   "futex",  "setuid",
                                             "capset",     "prctl",  "wait4",  "socketpair",
                                             "arch_prctl", "seccomp" };
        for (size_t i = 0; i < ELEMENTSOF(allow); i++)
                cr_expect(allowed(p, allow[i], SEC_DEFAULT_CAPS), "%s", allow[i]);

        static const char *const deny[] = {
                "keyctl",          "add_key",     "request_key",  "bpf",
                "mount",           "umount2",     "unshare",      "setns",
                "kexec_load",      "init_module", "finit_module", "delete_module",
                "reboot",          "swapon",      "swapoff",      "open_by_handle_at",
                "perf_event_open", "userfaultfd", "settimeofday", "clock_settime",
                "clone3",          "clone",       "iopl"
        };
        for (size_t i = 0; i < ELEMENTSOF(deny); i++)
                cr_expect(!allowed(p, deny[i], SEC_DEFAULT_CAPS), "%s", deny[i]);

        /* Capability-conditional entries. */
        cr_expect(allowed(p, "bpf", SEC_DEFAULT_CAPS | BIT(CAP_BPF)));
        cr_expect(allowed(p, "bpf", SEC_DEFAULT_CAPS | BIT(CAP_SYS_ADMIN)));
        cr_expect(allowed(p, "unshare", SEC_DEFAULT_CAPS | BIT(CAP_SYS_ADMIN)));
        cr_expect(allowed(p, "clock_settime", SEC_DEFAULT_CAPS | BIT(CAP_SYS_TIME)));
        cr_expect(allowed(p, "reboot", SEC_DEFAULT_CAPS | BIT(CAP_SYS_BOOT)));
        cr_expect(allowed(p, "open_by_handle_at", SEC_DEFAULT_CAPS | BIT(CAP_DAC_READ_SEARCH)));
        cr_expect(allowed(p, "chroot", SEC_DEFAULT_CAPS), "SYS_CHROOT is a default capability");
        cr_expect(!allowed(p, "chroot", 0));
        cr_expect(!allowed(p, "keyctl", UINT64_MAX), "keyctl: never");

        /* clone3 gets ENOSYS (libc then falls back to clone) unless CAP_SYS_ADMIN. */
        const struct sec_rule *r = sec_profile_unconditional(p, "clone3", SEC_DEFAULT_CAPS);
        cr_assert_not_null(r);
        cr_expect_eq(r->action, SEC_ACT_ERRNO);
        cr_expect_eq(r->errno_ret, ENOSYS);
        r = sec_profile_unconditional(p, "clone3", BIT(CAP_SYS_ADMIN));
        cr_assert_not_null(r);
        cr_expect_eq(r->action, SEC_ACT_ALLOW);

        /* clone without namespace flags; personality with five values; socket not AF_VSOCK. */
        size_t clone_rules = 0, personality_rules = 0, socket_rules = 0;
        for (size_t i = 0; i < p->n_rules; i++) {
                const struct sec_rule *x = &p->rules[i];
                if (x->n_args == 0 || !sec_rule_applies(x, SEC_DEFAULT_CAPS))
                        continue;
                if (strcmp(x->names[0], "clone") == 0) {
                        clone_rules++;
                        cr_expect_eq(x->args[0].value, 0x7e020000);
                        cr_expect_eq(x->args[0].value_two, 0);
                }
                personality_rules += strcmp(x->names[0], "personality") == 0;
                if (strcmp(x->names[0], "socket") == 0) {
                        socket_rules++;
                        cr_expect_eq(x->args[0].value, 40);
                }
        }
        cr_expect_eq(clone_rules, 1);
        cr_expect_eq(personality_rules, 5);
        cr_expect_eq(socket_rules, 1);
        cr_expect_eq(clone_rules, 1);
}

Test(security, default_profile_compiles)
{
        _cleanup_sec_profile_ struct sec_profile *p = default_profile();
        _cleanup_sec_filter_ struct sec_filter *a = NULL, *b = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(sec_profile_compile(p, SEC_DEFAULT_CAPS, &a, &e), 0, "%s", qerr_msg(e));
        cr_assert_eq(sec_profile_compile(p, FULL_BSET, &b, &e), 0, "%s", qerr_msg(e));
        cr_expect_gt(a->n, 100);
        cr_expect_lt(a->n, BPF_MAXINSNS);
        cr_expect_neq(a->n, b->n, "capabilities change the filter");
}

Test(security, profile_errors)
{
        static const struct {
                const char *json, *want;
        } v[] = {
                { "{", "parse seccomp profile: line 1: " },
                { "[]", "parse seccomp profile: not an object" },
                { "{\"defaultAction\":\"SCMP_ACT_NOTIFY\"}",
                  "defaultAction: unsupported seccomp action 'SCMP_ACT_NOTIFY'" },
                { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_PDP11\"]}",
                  "unknown seccomp architecture 'SCMP_ARCH_PDP11'" },
                { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
                  "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":7,\"value\":1,"
                  "\"op\":\"SCMP_CMP_EQ\"}]}]}",
                  "seccomp rule 1: bad seccomp argument rule" },
                { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
                  "\"action\":\"SCMP_ACT_ERRNO\",\"includes\":{\"caps\":[\"CAP_FLY\"]}}]}",
                  "seccomp rule 1: unknown capability 'CAP_FLY'" },
        };
        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                struct sec_profile *p = NULL;
                _cleanup_qerr_ struct qerr *e = NULL;
                cr_expect_lt(sec_profile_parse(v[i].json, strlen(v[i].json), &p, &e), 0, "case %zu",
                             i);
                cr_expect_eq(strncmp(qerr_msg(e), v[i].want, strlen(v[i].want)), 0,
                             "case %zu: '%s'", i, qerr_msg(e));
        }
}

Test(security, oci_profile_and_repeated_arguments)
{
        /* The OCI form: "architectures", and two conditions on one argument, which become
         * alternatives. Unknown syscall names are skipped. */
        const char *json = "{\"defaultAction\":\"SCMP_ACT_ALLOW\","
                           "\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\"],"
                           "\"syscalls\":[{\"names\":[\"personality\",\"no_such_call\"],"
                           "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":22,\"args\":["
                           "{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"},"
                           "{\"index\":0,\"value\":2,\"op\":\"SCMP_CMP_EQ\"}]},"
                           "{\"name\":\"getpid\",\"action\":\"SCMP_ACT_KILL_PROCESS\"}]}";
        _cleanup_sec_profile_ struct sec_profile *p = NULL;
        _cleanup_sec_filter_ struct sec_filter *f = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(sec_profile_parse(json, strlen(json), &p, &e), 0, "%s", qerr_msg(e));
        cr_expect_eq(p->n_arches, 2);
        cr_expect_eq(p->rules[0].errno_ret, 22);
        cr_expect_str_eq(p->rules[1].names[0], "getpid");
        cr_expect_eq(p->rules[1].action, SEC_ACT_KILL_PROCESS);
        cr_assert_eq(sec_profile_compile(p, 0, &f, &e), 0, "%s", qerr_msg(e));
        cr_expect_gt(f->n, 0);
}

Test(security, localhost_profile)
{
        char dir[] = "/tmp/qoslet-sec-profiles-XXXXXX";
        cr_assert_not_null(mkdtemp(dir));
        char path[256];
        snprintf(path, sizeof(path), "%s/deny-getcwd.json", dir);
        FILE *f = fopen(path, "w");
        fputs("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getcwd\"],"
              "\"action\":\"SCMP_ACT_ERRNO\"}]}",
              f);
        fclose(f);
        snprintf(path, sizeof(path), "%s/escape.json", dir);
        cr_assert_eq(symlink("/etc/passwd", path), 0);

        struct sec_plan pl = { .seccomp = SEC_SECCOMP_LOCALHOST };
        _cleanup_sec_filter_ struct sec_filter *flt = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        pl.seccomp_profile = (char *)"deny-getcwd.json";
        cr_assert_eq(sec_seccomp_compile(&pl, dir, &flt, &e), 0, "%s", qerr_msg(e));
        cr_expect_gt(flt->n, 0);

        pl.seccomp_profile = (char *)"escape.json";
        cr_expect_lt(sec_seccomp_compile(&pl, dir, &flt, &e), 0);
        cr_expect(strstr(qerr_msg(e), "open seccomp profile 'escape.json'"), "%s", qerr_msg(e));
        qerr_free(TAKE_PTR(e));
        pl.seccomp_profile = (char *)"missing.json";
        cr_expect_lt(sec_seccomp_compile(&pl, dir, &flt, &e), 0);
        cr_expect(strstr(qerr_msg(e), "No such file"), "%s", qerr_msg(e));

        pl.seccomp = SEC_SECCOMP_UNCONFINED;
        struct sec_filter *none = (struct sec_filter *)&pl;
        cr_assert_eq(sec_seccomp_compile(&pl, dir, &none, NULL), 0);
        cr_expect_null(none);

        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        cr_assert_eq(system(cmd), 0);
}

Test(security, filter_file_round_trip)
{
        struct sec_plan pl = { .seccomp = SEC_SECCOMP_RUNTIME_DEFAULT,
                               .cap_bounding = SEC_DEFAULT_CAPS };
        _cleanup_sec_filter_ struct sec_filter *f = NULL, *back = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(sec_seccomp_compile(&pl, NULL, &f, &e), 0, "%s", qerr_msg(e));
        char path[] = "/tmp/qoslet-sec-bpf-XXXXXX";
        int fd = mkstemp(path);
        cr_assert_geq(fd, 0);
        close(fd);
        cr_assert_eq(sec_filter_write_file(f, path, &e), 0, "%s", qerr_msg(e));
        cr_assert_eq(sec_filter_read_file(path, &back, &e), 0, "%s", qerr_msg(e));
        cr_assert_eq(back->n, f->n);
        cr_expect_eq(memcmp(back->insns, f->insns, f->n * sizeof(*f->insns)), 0);
        cr_assert_eq(truncate(path, 12), 0);
        sec_filter_free(TAKE_PTR(back));
        cr_expect_lt(sec_filter_read_file(path, &back, &e), 0);
        unlink(path);
}

Test(security, apply_needs_a_compiled_filter)
{
        struct sec_plan pl = { .seccomp = SEC_SECCOMP_RUNTIME_DEFAULT };
        _cleanup_qerr_ struct qerr *e = NULL;
        /* Refused before anything changes, so this runs unprivileged and in-process. */
        cr_expect_eq(sec_apply_in_child(&pl, NULL, &e), -EINVAL);
        cr_expect_str_eq(qerr_msg(e), "seccomp filter not compiled");
}

static double now_ms(void)
{
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static bool filters_equal(const struct sec_filter *a, const struct sec_filter *b)
{
        return a->n == b->n && memcmp(a->insns, b->insns, a->n * sizeof(*a->insns)) == 0;
}

Test(security, filter_cache)
{
        _cleanup_(sec_filter_cache_freep) struct sec_filter_cache *cache = sec_filter_cache_new();
        cr_assert_not_null(cache);
        struct sec_plan pl = { .seccomp = SEC_SECCOMP_RUNTIME_DEFAULT,
                               .cap_bounding = SEC_DEFAULT_CAPS };
        _cleanup_sec_filter_ struct sec_filter *a = NULL, *b = NULL, *c = NULL, *plain = NULL;
        double t0 = now_ms();
        cr_assert_eq(sec_seccomp_compile_cached(cache, &pl, NULL, &a, NULL), 0);
        double t1 = now_ms();
        cr_assert_eq(sec_seccomp_compile_cached(cache, &pl, NULL, &b, NULL), 0);
        double t2 = now_ms();
        cr_expect(filters_equal(a, b));
        cr_expect_neq(a->insns, b->insns, "each caller gets its own copy");
        cr_expect_lt((t2 - t1) * 5, t1 - t0,
                     "a hit (%.3f ms) is no faster than a compile (%.3f ms)", t2 - t1, t1 - t0);
        cr_assert_eq(sec_seccomp_compile(&pl, NULL, &plain, NULL), 0);
        cr_expect(filters_equal(a, plain), "the cache gives what a compile gives");

        pl.cap_bounding |= BIT(CAP_SYS_ADMIN);
        cr_assert_eq(sec_seccomp_compile_cached(cache, &pl, NULL, &c, NULL), 0);
        cr_expect(!filters_equal(a, c), "other capabilities, other filter");
}

Test(security, filter_cache_follows_profile_content)
{
        char dir[] = "/tmp/qoslet-sec-cache-XXXXXX";
        cr_assert_not_null(mkdtemp(dir));
        char path[256];
        snprintf(path, sizeof(path), "%s/p.json", dir);
        _cleanup_(sec_filter_cache_freep) struct sec_filter_cache *cache = sec_filter_cache_new();
        struct sec_plan pl = { .seccomp = SEC_SECCOMP_LOCALHOST,
                               .seccomp_profile = (char *)"p.json" };
        _cleanup_sec_filter_ struct sec_filter *a = NULL, *b = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(write_file_for_test(path, "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":"
                                               "[{\"names\":[\"getcwd\"],"
                                               "\"action\":\"SCMP_ACT_ERRNO\"}]}"),
                     0);
        cr_assert_eq(sec_seccomp_compile_cached(cache, &pl, dir, &a, &e), 0, "%s", qerr_msg(e));
        cr_assert_eq(write_file_for_test(path, "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":"
                                               "[{\"names\":[\"getcwd\",\"uname\"],"
                                               "\"action\":\"SCMP_ACT_ERRNO\"}]}"),
                     0);
        cr_assert_eq(sec_seccomp_compile_cached(cache, &pl, dir, &b, &e), 0, "%s", qerr_msg(e));
        cr_expect(!filters_equal(a, b), "an edited profile is compiled again");
        unlink(path);
        rmdir(dir);
}
