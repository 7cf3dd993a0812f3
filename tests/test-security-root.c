/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/keyctl.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "basic/fileio.h"
#include "basic/strbuf.h"
#include "helpers/pod-builder.h"
#include "security/profile.h"
#include "security/security.h"

#define U POD_BUILDER_UNSET
#define BIT(c) (UINT64_C(1) << (c))

static void need_root(void)
{
        if (geteuid() != 0)
                cr_skip_test("needs root");
}

static char **strv(const char *first, ...)
{
        char **l = calloc(8, sizeof(char *));
        va_list ap;
        va_start(ap, first);
        size_t n = 0;
        for (const char *s = first; s; s = va_arg(ap, const char *))
                l[n++] = strdup(s);
        va_end(ap);
        return l;
}

static uint64_t own_bset(void)
{
        uint64_t b;
        cr_assert_eq(sec_own_bounding_set(&b, NULL), 0);
        return b;
}

/* Runs fn in a forked child whose stdout is collected; returns the exit status. */
static int run_child(int (*fn)(void *), void *arg, char **ret_out)
{
        int p[2];
        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        pid_t pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                close(p[0]);
                if (dup2(p[1], 1) < 0)
                        _exit(120);
                fflush(stdout);
                int rc = fn(arg);
                fflush(stdout);
                _exit(rc);
        }
        close(p[1]);
        _cleanup_strbuf_ struct strbuf sb = { 0 };
        strbuf_append(&sb, "");
        char buf[4096];
        ssize_t n;
        while ((n = read(p[0], buf, sizeof(buf))) > 0)
                strbuf_append_n(&sb, buf, (size_t)n);
        close(p[0]);
        int st;
        cr_assert_eq(waitpid(pid, &st, 0), pid);
        *ret_out = strbuf_steal(&sb);
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

struct child_plan {
        const struct sec_plan *plan;
        const struct sec_filter *filter;
};

static int report_error(struct qerr *e)
{
        printf("error: %s\n", qerr_msg(e));
        qerr_free(e);
        return 99;
}

/* The container's last steps: apply the plan, then exec a shell that shows the result. */
static int exec_status_child(void *arg)
{
        const struct child_plan *cp = arg;
        struct qerr *e = NULL;
        if (sec_apply_in_child(cp->plan, cp->filter, &e) < 0)
                return report_error(e);
        fflush(stdout);
        execl("/bin/busybox", "sh", "-c", "cat /proc/self/status", (char *)NULL);
        printf("error: exec busybox: %m\n");
        return 98;
}

/* The value of "Key:" in /proc/<pid>/status text, tabs squeezed to spaces. */
static char *status_field(const char *status, const char *key)
{
        char k[32];
        snprintf(k, sizeof(k), "\n%s:", key);
        const char *p = strstr(status, k);
        cr_assert_not_null(p, "no %s in:\n%s", key, status);
        p += strlen(k);
        p += strspn(p, "\t ");
        char *v = strndup(p, strcspn(p, "\n"));
        for (char *c = v; *c; c++)
                if (*c == '\t')
                        *c = ' ';
        for (size_t n = strlen(v); n > 0 && v[n - 1] == ' ';)
                v[--n] = 0;
        return v;
}

static void expect_field(const char *status, const char *key, const char *want)
{
        _cleanup_free_ char *v = status_field(status, key);
        cr_expect_str_eq(v, want, "%s: '%s', want '%s'", key, v, want);
}

static void expect_cap_field(const char *status, const char *key, uint64_t want)
{
        char w[20];
        snprintf(w, sizeof(w), "%016llx", (unsigned long long)want);
        expect_field(status, key, w);
}

/* Plans for a one-container pod, changed by setup, and runs the status child under it. */
static char *status_under(void (*setup)(struct pod *, struct container *), struct sec_plan *ret)
{
        struct pod *p = pod_builder_new("sec", "uid-root-test");
        struct container *c = pod_builder_add_container(p, "c", U, U, U, U);
        if (setup)
                setup(p, c);
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(sec_plan_for_container(p, c, NULL, own_bset(), ret, &e), 0, "%s", qerr_msg(e));
        pod_free(p);
        _cleanup_sec_filter_ struct sec_filter *f = NULL;
        cr_assert_eq(sec_seccomp_compile(ret, NULL, &f, &e), 0, "%s", qerr_msg(e));
        struct child_plan cp = { ret, f };
        char *out = NULL;
        int rc = run_child(exec_status_child, &cp, &out);
        cr_assert_eq(rc, 0, "child exited with %d:\n%s", rc, out);
        return out;
}

Test(security_root, default_root_caps)
{
        need_root();
        _cleanup_sec_plan_ struct sec_plan pl = { 0 };
        _cleanup_free_ char *st = status_under(NULL, &pl);
        expect_cap_field(st, "CapEff", 0xa80425fb);
        expect_cap_field(st, "CapPrm", 0xa80425fb);
        expect_cap_field(st, "CapBnd", 0xa80425fb);
        expect_cap_field(st, "CapInh", 0);
        expect_cap_field(st, "CapAmb", 0);
        expect_field(st, "NoNewPrivs", "0");
        expect_field(st, "Seccomp", "0");
        expect_field(st, "Uid", "0 0 0 0");
        expect_field(st, "Groups", "0");
}

static void drop_all(struct pod *p, struct container *c)
{
        c->security.capabilities.drop = strv("ALL", NULL);
}

Test(security_root, drop_all)
{
        need_root();
        _cleanup_sec_plan_ struct sec_plan pl = { 0 };
        _cleanup_free_ char *st = status_under(drop_all, &pl);
        expect_cap_field(st, "CapEff", 0);
        expect_cap_field(st, "CapPrm", 0);
        expect_cap_field(st, "CapBnd", 0);
}

static void add_net_admin(struct pod *p, struct container *c)
{
        c->security.capabilities.add = strv("NET_ADMIN", NULL);
}

Test(security_root, add_net_admin)
{
        need_root();
        _cleanup_sec_plan_ struct sec_plan pl = { 0 };
        _cleanup_free_ char *st = status_under(add_net_admin, &pl);
        expect_cap_field(st, "CapEff", 0xa80435fb);
        expect_cap_field(st, "CapBnd", 0xa80435fb);
}

static void privileged(struct pod *p, struct container *c)
{
        c->security.has_privileged = true;
        c->security.privileged = true;
        p->spec.security.seccomp.type = SECCOMP_RUNTIME_DEFAULT;
}

Test(security_root, privileged_gets_own_bounding_set)
{
        need_root();
        _cleanup_free_ char *own = NULL;
        cr_assert_eq(read_full_file("/proc/self/status", 1 << 16, &own, NULL, NULL), 0);
        _cleanup_free_ char *own_bnd = status_field(own, "CapBnd");
        _cleanup_sec_plan_ struct sec_plan pl = { 0 };
        _cleanup_free_ char *st = status_under(privileged, &pl);
        expect_field(st, "CapBnd", own_bnd);
        expect_field(st, "CapEff", own_bnd);
        expect_field(st, "Seccomp", "0");
}

static void no_escalation(struct pod *p, struct container *c)
{
        c->security.has_allow_privilege_escalation = true;
        c->security.allow_privilege_escalation = false;
}

Test(security_root, no_new_privs)
{
        need_root();
        _cleanup_sec_plan_ struct sec_plan pl = { 0 };
        _cleanup_free_ char *st = status_under(no_escalation, &pl);
        expect_field(st, "NoNewPrivs", "1");
}

static void user_1000(struct pod *p, struct container *c)
{
        c->security.has_run_as_user = true;
        c->security.run_as_user = 1000;
}

Test(security_root, run_as_user)
{
        need_root();
        _cleanup_sec_plan_ struct sec_plan pl = { 0 };
        _cleanup_free_ char *st = status_under(user_1000, &pl);
        expect_field(st, "Uid", "1000 1000 1000 1000");
        expect_field(st, "Gid", "0 0 0 0");
        /* execve() as a non-root user without file capabilities empties the permitted and
         * effective sets; the bounding set stays. */
        expect_cap_field(st, "CapEff", 0);
        expect_cap_field(st, "CapPrm", 0);
        expect_cap_field(st, "CapBnd", 0xa80425fb);
}

static void user_group_seccomp(struct pod *p, struct container *c)
{
        user_1000(p, c);
        p->spec.security.has_run_as_group = true;
        p->spec.security.run_as_group = 3000;
        p->spec.security.has_fs_group = true;
        p->spec.security.fs_group = 2000;
        p->spec.security.supplemental_groups = calloc(1, sizeof(int64_t));
        p->spec.security.supplemental_groups[0] = 4000;
        p->spec.security.n_supplemental_groups = 1;
        p->spec.security.seccomp.type = SECCOMP_RUNTIME_DEFAULT;
}

/* Without no_new_privs the filter goes in while the child is still root, and must let the
 * switch to the user through. */
Test(security_root, user_groups_under_seccomp)
{
        need_root();
        _cleanup_sec_plan_ struct sec_plan pl = { 0 };
        _cleanup_free_ char *st = status_under(user_group_seccomp, &pl);
        expect_field(st, "Uid", "1000 1000 1000 1000");
        expect_field(st, "Gid", "3000 3000 3000 3000");
        expect_field(st, "Groups", "2000 3000 4000");
        expect_field(st, "Seccomp", "2");
        expect_field(st, "NoNewPrivs", "0");
}

static void user_seccomp_nnp(struct pod *p, struct container *c)
{
        user_group_seccomp(p, c);
        no_escalation(p, c);
}

Test(security_root, user_under_seccomp_with_no_new_privs)
{
        need_root();
        _cleanup_sec_plan_ struct sec_plan pl = { 0 };
        _cleanup_free_ char *st = status_under(user_seccomp_nnp, &pl);
        expect_field(st, "Uid", "1000 1000 1000 1000");
        expect_field(st, "Seccomp", "2");
        expect_field(st, "NoNewPrivs", "1");
}

/* Calls whose result tells whether the filter is there, printed as "name=result" where the
 * result is the return value or -errno. */
static long errno_of(long r)
{
        return r < 0 ? -errno : r;
}

static int syscalls_child(void *arg)
{
        const struct child_plan *cp = arg;
        struct qerr *e = NULL;
        if (sec_apply_in_child(cp->plan, cp->filter, &e) < 0)
                return report_error(e);
        long keyctl = errno_of(
                syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
        union bpf_attr attr = { .map_fd = (uint32_t)-1 };
        long bpf = errno_of(syscall(SYS_bpf, BPF_MAP_LOOKUP_ELEM, &attr, sizeof(attr)));
        struct clone_args {
                uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
        } ca = { .flags = CLONE_NEWUTS, .exit_signal = SIGCHLD };
        long clone3 = errno_of(syscall(SYS_clone3, &ca, sizeof(ca)));
        if (clone3 == 0)
                _exit(0);
        if (clone3 > 0)
                waitpid((pid_t)clone3, NULL, 0);
        pid_t pid = fork();
        if (pid == 0)
                _exit(7);
        int st = 0;
        if (pid > 0)
                waitpid(pid, &st, 0);
        long unshare_ns = errno_of(unshare(CLONE_NEWUSER));
        printf("keyctl=%ld bpf=%ld clone3=%ld fork=%d unshare=%ld\n", keyctl, bpf,
               clone3 > 0 ? 0 : clone3, pid > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1,
               unshare_ns);
        return 0;
}

static char *syscalls_under(const struct sec_plan *pl, const struct sec_filter *f)
{
        struct child_plan cp = { pl, f };
        char *out = NULL;
        int rc = run_child(syscalls_child, &cp, &out);
        cr_assert_eq(rc, 0, "child exited with %d: %s", rc, out);
        return out;
}

static long result_of(const char *out, const char *name)
{
        char k[32];
        snprintf(k, sizeof(k), "%s=", name);
        const char *p = strstr(out, k);
        cr_assert_not_null(p, "no %s in '%s'", name, out);
        return strtol(p + strlen(k), NULL, 10);
}

static void plan_with(enum seccomp_kind kind, const char *add_cap, struct sec_plan *ret,
                      struct sec_filter **ret_filter)
{
        struct pod *p = pod_builder_new("sec", "uid-root-test");
        struct container *c = pod_builder_add_container(p, "c", U, U, U, U);
        c->security.seccomp.type = kind;
        if (add_cap)
                c->security.capabilities.add = strv(add_cap, NULL);
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(sec_plan_for_container(p, c, NULL, own_bset(), ret, &e), 0, "%s", qerr_msg(e));
        pod_free(p);
        cr_assert_eq(sec_seccomp_compile(ret, NULL, ret_filter, &e), 0, "%s", qerr_msg(e));
}

/* A 64-bit process can make i386 system calls through int $0x80; the filter sees them with
 * the x86 architecture, which it must cover (else the process is killed). */
static long int80(long nr, long a, long b, long c)
{
        long r;
        __asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
        return r;
}

#define I386_GETPID 20
#define I386_KEYCTL 288
#define I386_UNSHARE 310

static int i386_child(void *arg)
{
        const struct child_plan *cp = arg;
        struct qerr *e = NULL;
        if (sec_apply_in_child(cp->plan, cp->filter, &e) < 0)
                return report_error(e);
        long pid = int80(I386_GETPID, 0, 0, 0);
        long keyctl = int80(I386_KEYCTL, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
        long unshare_ns = int80(I386_UNSHARE, CLONE_NEWUSER, 0, 0);
        printf("getpid=%d keyctl=%ld unshare=%ld\n", pid == getpid(), keyctl, unshare_ns);
        return 0;
}

Test(security_root, i386_calls_are_filtered)
{
        need_root();
        _cleanup_sec_plan_ struct sec_plan pl = { 0 }, unconf = { 0 };
        _cleanup_sec_filter_ struct sec_filter *f = NULL, *none = NULL;
        plan_with(SECCOMP_RUNTIME_DEFAULT, NULL, &pl, &f);
        plan_with(SECCOMP_UNCONFINED, NULL, &unconf, &none);
        struct child_plan cp = { &pl, f }, cu = { &unconf, NULL };
        _cleanup_free_ char *o1 = NULL, *o2 = NULL;
        int rc = run_child(i386_child, &cp, &o1);
        cr_assert_eq(rc, 0, "child exited with %d: %s", rc, o1);
        cr_expect_eq(result_of(o1, "getpid"), 1, "%s", o1);
        cr_expect_eq(result_of(o1, "keyctl"), -EPERM, "%s", o1);
        cr_expect_eq(result_of(o1, "unshare"), -EPERM, "%s", o1);
        rc = run_child(i386_child, &cu, &o2);
        cr_assert_eq(rc, 0, "child exited with %d: %s", rc, o2);
        cr_expect_gt(result_of(o2, "keyctl"), 0, "%s", o2);
        cr_expect_eq(result_of(o2, "unshare"), 0, "%s", o2);
}

Test(security_root, runtime_default_blocks)
{
        need_root();
        _cleanup_sec_plan_ struct sec_plan pl = { 0 };
        _cleanup_sec_filter_ struct sec_filter *f = NULL;
        plan_with(SECCOMP_RUNTIME_DEFAULT, NULL, &pl, &f);
        cr_assert_not_null(f);
        _cleanup_free_ char *out = syscalls_under(&pl, f);
        cr_expect_eq(result_of(out, "keyctl"), -EPERM, "%s", out);
        cr_expect_eq(result_of(out, "unshare"), -EPERM, "%s", out);
        cr_expect_eq(result_of(out, "bpf"), -EPERM, "%s", out);
        cr_expect_eq(result_of(out, "clone3"), -ENOSYS, "libc falls back to clone: %s", out);
        cr_expect_eq(result_of(out, "fork"), 7, "clone without namespace flags: %s", out);
}

Test(security_root, unconfined_allows)
{
        need_root();
        _cleanup_sec_plan_ struct sec_plan pl = { 0 };
        _cleanup_sec_filter_ struct sec_filter *f = NULL;
        plan_with(SECCOMP_UNCONFINED, NULL, &pl, &f);
        cr_assert_null(f);
        _cleanup_free_ char *out = syscalls_under(&pl, NULL);
        cr_expect_gt(result_of(out, "keyctl"), 0, "%s", out);
        cr_expect_eq(result_of(out, "unshare"), 0, "%s", out);
        /* Without CAP_BPF, kernels before 6.5 refuse every bpf command themselves
         * (kernel.unprivileged_bpf_disabled); later ones check the fd first. */
        long bpf = result_of(out, "bpf");
        cr_expect(bpf == -EBADF || bpf == -EPERM, "%s", out);
        /* Without CAP_SYS_ADMIN the kernel refuses a new UTS namespace. */
        cr_expect_eq(result_of(out, "clone3"), -EPERM, "%s", out);
}

/* With CAP_BPF the kernel would let bpf(2) reach the fd check (EBADF); the filter decides. */
Test(security_root, bpf_with_cap_bpf)
{
        need_root();
        _cleanup_sec_plan_ struct sec_plan pl = { 0 }, unconf = { 0 }, plain = { 0 };
        _cleanup_sec_filter_ struct sec_filter *f = NULL, *none = NULL, *plain_f = NULL;
        plan_with(SECCOMP_RUNTIME_DEFAULT, "BPF", &pl, &f);
        plan_with(SECCOMP_UNCONFINED, "BPF", &unconf, &none);
        plan_with(SECCOMP_RUNTIME_DEFAULT, NULL, &plain, &plain_f);

        _cleanup_free_ char *o1 = syscalls_under(&unconf, NULL);
        cr_expect_eq(result_of(o1, "bpf"), -EBADF, "unconfined: %s", o1);
        /* The default profile allows bpf to a container that holds CAP_BPF. */
        _cleanup_free_ char *o2 = syscalls_under(&pl, f);
        cr_expect_eq(result_of(o2, "bpf"), -EBADF, "RuntimeDefault with CAP_BPF: %s", o2);
        /* The same capabilities under the filter built without CAP_BPF. */
        _cleanup_free_ char *o3 = syscalls_under(&pl, plain_f);
        cr_expect_eq(result_of(o3, "bpf"), -EPERM, "filter without the CAP_BPF rule: %s", o3);
}

Test(security_root, filter_from_file)
{
        need_root();
        _cleanup_sec_plan_ struct sec_plan pl = { 0 };
        _cleanup_sec_filter_ struct sec_filter *f = NULL, *back = NULL;
        plan_with(SECCOMP_RUNTIME_DEFAULT, NULL, &pl, &f);
        char path[] = "/tmp/qoslet-sec-root-bpf-XXXXXX";
        int fd = mkstemp(path);
        cr_assert_geq(fd, 0);
        close(fd);
        cr_assert_eq(sec_filter_write_file(f, path, NULL), 0);
        cr_assert_eq(sec_filter_read_file(path, &back, NULL), 0);
        unlink(path);
        _cleanup_free_ char *out = syscalls_under(&pl, back);
        cr_expect_eq(result_of(out, "keyctl"), -EPERM, "%s", out);
}

struct mask_args {
        const struct sec_plan *plan;
        const char *root;
};

static int check_empty_read(const char *path, struct strbuf *out, const char *name)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                strbuf_printf(out, "%s=open-%d ", name, errno);
                return 0;
        }
        char buf[256];
        ssize_t n = read(fd, buf, sizeof(buf));
        close(fd);
        strbuf_printf(out, "%s=%zd ", name, n);
        return 0;
}

static void check_write_open(const char *path, struct strbuf *out, const char *name)
{
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        /* Nothing is written: a successful open is result enough. */
        strbuf_printf(out, "%s=%d ", name, fd < 0 ? -errno : 0);
        if (fd >= 0)
                close(fd);
}

static void check_dir_empty(const char *path, struct strbuf *out, const char *name)
{
        DIR *d = opendir(path);
        if (!d) {
                strbuf_printf(out, "%s=open-%d ", name, errno);
                return;
        }
        int n = 0;
        for (struct dirent *de; (de = readdir(d));)
                n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
        closedir(d);
        struct statfs sf;
        bool tmpfs = statfs(path, &sf) == 0 && sf.f_type == TMPFS_MAGIC;
        strbuf_printf(out, "%s=%d%s ", name, n, tmpfs ? "-tmpfs" : "");
}

static int mount_proc_sys(const char *root)
{
        char path[256];
        if (unshare(CLONE_NEWNS | CLONE_NEWUTS) < 0 ||
            mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return -errno;
        snprintf(path, sizeof(path), "%s/proc", root);
        if (mount("proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                return -errno;
        snprintf(path, sizeof(path), "%s/sys", root);
        if (mount("sysfs", path, "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL) < 0)
                return -errno;
        return 0;
}

static int mask_child(void *arg)
{
        const struct mask_args *a = arg;
        int r = mount_proc_sys(a->root);
        if (r < 0) {
                printf("error: mount: %s\n", strerror(-r));
                return 97;
        }
        struct qerr *e = NULL;
        if (sec_mask_paths(a->plan, a->root, &e) < 0)
                return report_error(e);
        _cleanup_strbuf_ struct strbuf out = { 0 };
        char p[256];
#define AT(rel) (snprintf(p, sizeof(p), "%s%s", a->root, rel), p)
        check_empty_read(AT("/proc/timer_list"), &out, "timer_list");
        check_empty_read(AT("/proc/keys"), &out, "keys");
        check_write_open(AT("/proc/sysrq-trigger"), &out, "sysrq");
        check_write_open(AT("/proc/sys/kernel/hostname"), &out, "hostname");
        check_write_open(AT("/proc/irq/default_smp_affinity"), &out, "irq");
        check_dir_empty(AT("/sys/firmware"), &out, "firmware");
        check_dir_empty(AT("/proc/acpi"), &out, "acpi");
        struct stat st;
        bool devnull = stat(AT("/proc/timer_list"), &st) == 0 && S_ISCHR(st.st_mode) &&
                       st.st_rdev == makedev(1, 3);
        strbuf_printf(&out, "timer_list_is_null=%d ", devnull);
        /* Writable only when nothing is read-only: a new UTS namespace makes this harmless. */
        int fd = open(AT("/proc/sys/kernel/hostname"), O_WRONLY | O_CLOEXEC);
        bool set = fd >= 0 && write(fd, "qoslet-sec", 10) == 10;
        if (fd >= 0)
                close(fd);
        struct utsname u;
        strbuf_printf(&out, "hostname_set=%d ",
                      set && uname(&u) == 0 && strcmp(u.nodename, "qoslet-sec") == 0);
        /* Sysctls must be written before /proc/sys turns read-only. */
        struct sec_sysctl sc = { .name = (char *)"kernel.hostname", .value = (char *)"late" };
        struct sec_plan late = { .sysctls = &sc, .n_sysctls = 1 };
        r = sec_apply_sysctls(&late, AT("/proc"), &e);
        strbuf_printf(&out, "late_sysctl=%d\n", r);
        qerr_free(e);
#undef AT
        fputs(out.buf, stdout);
        return 0;
}

static char *make_root(void)
{
        char *root = strdup("/tmp/qoslet-sec-mask-XXXXXX");
        cr_assert_not_null(mkdtemp(root));
        char path[256];
        snprintf(path, sizeof(path), "%s/proc", root);
        cr_assert_eq(mkdir(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/sys", root);
        cr_assert_eq(mkdir(path, 0755), 0);
        return root;
}

static void remove_root(const char *root)
{
        char path[256];
        snprintf(path, sizeof(path), "%s/proc", root);
        cr_expect_eq(rmdir(path), 0, "the mounts went with the child's namespace");
        snprintf(path, sizeof(path), "%s/sys", root);
        cr_expect_eq(rmdir(path), 0);
        cr_expect_eq(rmdir(root), 0);
}

static char *mask_under(bool priv, struct sec_plan *ret)
{
        struct pod *p = pod_builder_new("sec", "uid-root-test");
        struct container *c = pod_builder_add_container(p, "c", U, U, U, U);
        c->security.has_privileged = true;
        c->security.privileged = priv;
        cr_assert_eq(sec_plan_for_container(p, c, NULL, own_bset(), ret, NULL), 0);
        pod_free(p);
        _cleanup_free_ char *root = make_root();
        struct mask_args a = { ret, root };
        char *out = NULL;
        int rc = run_child(mask_child, &a, &out);
        remove_root(root);
        cr_assert_eq(rc, 0, "child exited with %d: %s", rc, out);
        return out;
}

Test(security_root, masked_paths)
{
        need_root();
        _cleanup_sec_plan_ struct sec_plan pl = { 0 };
        _cleanup_free_ char *out = mask_under(false, &pl);
        cr_expect(strstr(out, "timer_list=0 "), "%s", out);
        cr_expect(strstr(out, "keys=0 "), "%s", out);
        cr_expect(strstr(out, "timer_list_is_null=1 "), "%s", out);
        /* Some kernels are built without magic SysRq. */
        cr_expect(
                strstr(out, access("/proc/sysrq-trigger", F_OK) == 0 ? "sysrq=-30 " : "sysrq=-2 "),
                "%s", out);
        cr_expect(strstr(out, "irq=-30 "), "EROFS: %s", out);
        cr_expect(strstr(out, "hostname=-30 "), "EROFS: %s", out);
        cr_expect(strstr(out, "firmware=0-tmpfs "), "%s", out);
        cr_expect(strstr(out, "acpi=0-tmpfs "), "%s", out);
        cr_expect(strstr(out, "hostname_set=0"), "%s", out);
        cr_expect(strstr(out, "late_sysctl=-30"), "EROFS: %s", out);
}

Test(security_root, privileged_masks_nothing)
{
        need_root();
        _cleanup_sec_plan_ struct sec_plan pl = { 0 };
        _cleanup_free_ char *out = mask_under(true, &pl);
        cr_expect(!strstr(out, "timer_list=0 "), "%s", out);
        cr_expect(!strstr(out, "keys=0 "), "%s", out);
        cr_expect(strstr(out, "timer_list_is_null=0 "), "%s", out);
        cr_expect(strstr(out, "hostname=0 "), "%s", out);
        cr_expect(strstr(out, "hostname_set=1"), "%s", out);
        cr_expect(strstr(out, "late_sysctl=0"), "%s", out);
}

static int sysctl_child(void *arg)
{
        const struct sec_plan *pl = arg;
        if (unshare(CLONE_NEWNET | CLONE_NEWIPC) < 0) {
                printf("error: unshare: %m\n");
                return 97;
        }
        struct qerr *e = NULL;
        if (sec_apply_sysctls(pl, "/proc", &e) < 0)
                return report_error(e);
        _cleanup_free_ char *port = NULL, *shm = NULL;
        if (read_one_line_file("/proc/sys/net/ipv4/ip_unprivileged_port_start", &port, &e) < 0 ||
            read_one_line_file("/proc/sys/kernel/shm_rmid_forced", &shm, &e) < 0)
                return report_error(e);
        printf("port=%s shm=%s\n", port, shm);
        return 0;
}

Test(security_root, sysctls_in_pod_namespaces)
{
        need_root();
        struct pod *p = pod_builder_new("sec", "uid-root-test");
        struct container *c = pod_builder_add_container(p, "c", U, U, U, U);
        struct security_context *s = &p->spec.security;
        s->sysctls = calloc(2, sizeof(*s->sysctls));
        s->sysctls[0] = (struct sysctl){ .name = strdup("net/ipv4/ip_unprivileged_port_start"),
                                         .value = strdup("123") };
        s->sysctls[1] = (struct sysctl){ .name = strdup("kernel.shm_rmid_forced"),
                                         .value = strdup("1") };
        s->n_sysctls = 2;
        _cleanup_sec_plan_ struct sec_plan pl = { 0 };
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(sec_plan_for_container(p, c, NULL, own_bset(), &pl, &e), 0, "%s", qerr_msg(e));
        pod_free(p);
        _cleanup_free_ char *host_port = NULL, *after = NULL, *out = NULL;
        cr_assert_eq(read_one_line_file("/proc/sys/net/ipv4/ip_unprivileged_port_start", &host_port,
                                        NULL),
                     0);
        int rc = run_child(sysctl_child, &pl, &out);
        cr_assert_eq(rc, 0, "child exited with %d: %s", rc, out);
        cr_expect_str_eq(out, "port=123 shm=1\n");
        cr_assert_eq(
                read_one_line_file("/proc/sys/net/ipv4/ip_unprivileged_port_start", &after, NULL),
                0);
        cr_expect_str_eq(after, host_port, "the host's value is untouched");
}
