/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <string.h>

#include "basic/fileio.h"
#include "basic/strbuf.h"
#include "helpers/qoslet-run.h"
#include "helpers/rootfs.h"

/* Container security through `qoslet run`: capabilities, seccomp, masked and read-only paths,
 * users and groups, no_new_privs, sysctls, runAsNonRoot, each seen from inside a container
 * that runs from an image in the store. */

#define IMAGE "example.com/qoslet/busybox:1"

static struct qrun q;

static void setup(void)
{
        qrun_setup(&q, "qsec");
        qrun_busybox_image(&q, IMAGE, NULL);
}

static void teardown(void)
{
        qrun_teardown(&q);
}

TestSuite(qoslet_sec_root, .init = setup, .fini = teardown, .timeout = 120);

/* A pod named name with restartPolicy Never; "IMG" in spec stands for the test image. */
static char *pod_manifest(const char *name, const char *spec)
{
        _cleanup_strbuf_ struct strbuf sb = { 0 };
        strbuf_printf(&sb,
                      "apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec:\n"
                      "  restartPolicy: Never\n",
                      name);
        for (const char *p = spec, *k; *p; p = k + 3) {
                k = strstr(p, "IMG");
                if (!k) {
                        strbuf_append(&sb, p);
                        break;
                }
                strbuf_append_n(&sb, p, (size_t)(k - p));
                strbuf_append(&sb, IMAGE);
        }
        cr_assert(!sb.oom);
        return qrun_manifest(&q, "pod.yaml", sb.buf);
}

/* Runs a pod that must end with 0 and leave nothing behind. */
static void run_ok(const char *name, const char *spec)
{
        _cleanup_free_ char *m = pod_manifest(name, spec), *err = NULL;
        int rc = qrun_run(&q, m, &err);
        cr_assert_eq(rc, 0, "qoslet run:\n%s", err);
        cr_expect(qrun_dir_empty(&q, "root/pods"), "pod state removed");
        cr_expect(!qrun_mounts_left(&q), "no mount left");
}

/* Runs a pod that must be refused before any container runs. */
static char *run_refused(const char *name, const char *spec)
{
        _cleanup_free_ char *m = pod_manifest(name, spec);
        char *err = NULL;
        int rc = qrun_run(&q, m, &err);
        cr_expect_eq(rc, 1, "%s", err);
        cr_expect(qrun_dir_empty(&q, "root/pods") && qrun_dir_empty(&q, "run/pods"),
                  "nothing left");
        cr_expect(!qrun_mounts_left(&q), "no mount left");
        return err;
}

static char *field_of(const char *container, const char *name)
{
        _cleanup_free_ char *out = qrun_output(&q, container, 0);
        cr_assert_not_null(out, "no log of '%s'", container);
        char *v = qrun_status_field(out, name);
        cr_assert_not_null(v, "no %s in %s", name, out);
        return v;
}

Test(qoslet_sec_root, capabilities)
{
        run_ok("caps", "  containers:\n"
                       "  - {name: def, image: IMG, command: [cat, /proc/self/status]}\n"
                       "  - name: none\n    image: IMG\n    command: [cat, /proc/self/status]\n"
                       "    securityContext: {capabilities: {drop: [ALL]}}\n"
                       "  - name: netadmin\n    image: IMG\n    command: [cat, /proc/self/status]\n"
                       "    securityContext: {capabilities: {add: [NET_ADMIN]}}\n"
                       "  - name: priv\n    image: IMG\n    command: [cat, /proc/self/status]\n"
                       "    securityContext: {privileged: true}\n");
        _cleanup_free_ char *def = field_of("def", "CapEff"), *none = field_of("none", "CapEff"),
                            *net = field_of("netadmin", "CapEff"),
                            *priv = field_of("priv", "CapEff"),
                            *def_bnd = field_of("def", "CapBnd");
        cr_expect_str_eq(def, "00000000a80425fb");
        cr_expect_str_eq(def_bnd, "00000000a80425fb");
        cr_expect_str_eq(none, "0000000000000000");
        cr_expect_str_eq(net, "00000000a80435fb", "NET_ADMIN is bit 12");
        _cleanup_free_ char *own = test_read_file("/proc/self/status");
        _cleanup_free_ char *own_bnd = qrun_status_field(own, "CapBnd");
        cr_expect_str_eq(priv, own_bnd, "privileged: qoslet's own bounding set");
}

#define PROBE "[sh, -c, 'sec-probe; grep Seccomp: /proc/self/status']"

static long probe_result(const char *container, const char *name)
{
        _cleanup_free_ char *out = qrun_output(&q, container, 0), *key = NULL;
        cr_assert_not_null(out, "no log of '%s'", container);
        cr_assert(asprintf(&key, "%s=", name) > 0);
        const char *p = strstr(out, key);
        cr_assert_not_null(p, "no %s in %s", name, out);
        return strtol(p + strlen(key), NULL, 10);
}

Test(qoslet_sec_root, seccomp_runtime_default_and_unconfined)
{
        run_ok("seccomp", "  securityContext: {seccompProfile: {type: RuntimeDefault}}\n"
                          "  containers:\n"
                          "  - {name: rd, image: IMG, command: " PROBE "}\n"
                          "  - name: un\n    image: IMG\n    command: " PROBE "\n"
                          "    securityContext: {seccompProfile: {type: Unconfined}}\n"
                          "  - name: none\n    image: IMG\n    command: " PROBE "\n"
                          "    securityContext: {runAsUser: 0}\n");
        cr_expect_eq(probe_result("rd", "keyctl"), -EPERM);
        cr_expect_eq(probe_result("rd", "unshare"), -EPERM);
        cr_expect_eq(probe_result("rd", "bpf"), -EPERM);
        cr_expect_gt(probe_result("un", "keyctl"), 0);
        cr_expect_eq(probe_result("un", "unshare"), 0);
        /* No CAP_BPF: the kernel itself checks the fd first (6.5 and later). */
        cr_expect_eq(probe_result("un", "bpf"), -EBADF);
        _cleanup_free_ char *rd = field_of("rd", "Seccomp"), *un = field_of("un", "Seccomp");
        cr_expect_str_eq(rd, "2", "filter mode");
        cr_expect_str_eq(un, "0");
        _cleanup_free_ char *none = field_of("none", "Seccomp");
        cr_expect_str_eq(none, "2", "the pod's profile");
}

Test(qoslet_sec_root, masked_and_read_only_paths)
{
        const char *script =
                "'echo timer_list=$(cat /proc/timer_list | wc -c) keys=$(cat /proc/keys | wc -c); "
                "if [ ! -e /proc/sysrq-trigger ]; then echo sysrq=absent; "
                "elif [ \"$PRIV\" = 1 ]; then echo sysrq=untried; "
                "elif echo h 2>/dev/null >/proc/sysrq-trigger; then echo sysrq=written; "
                "else echo sysrq=refused; fi; "
                /* kernel.shm_rmid_forced belongs to the pod's own IPC namespace: a privileged
                 * write there leaves the host's value alone */
                "if echo 1 2>/dev/null >/proc/sys/kernel/shm_rmid_forced; then echo "
                "procsys=written; "
                "else echo procsys=refused; fi'";
        _cleanup_free_ char *body = NULL;
        cr_assert(asprintf(&body,
                           "  containers:\n"
                           "  - {name: def, image: IMG, command: [sh, -c, %s]}\n"
                           "  - name: priv\n    image: IMG\n    command: [sh, -c, %s]\n"
                           "    env: [{name: PRIV, value: '1'}]\n"
                           "    securityContext: {privileged: true}\n",
                           script, script) > 0);
        run_ok("masked", body);
        _cleanup_free_ char *def = qrun_output(&q, "def", 0), *priv = qrun_output(&q, "priv", 0);
        cr_assert_not_null(def);
        cr_assert_not_null(priv);
        cr_expect(strstr(def, "timer_list=0 keys=0\n"), "%s", def);
        cr_expect(strstr(def, "sysrq=refused") || strstr(def, "sysrq=absent"), "%s", def);
        cr_expect(strstr(def, "procsys=refused"), "/proc/sys is read-only: %s", def);
        /* A privileged container sees them: the masks above are the runtime's. */
        cr_expect(!strstr(priv, "timer_list=0 "), "%s", priv);
        cr_expect(strstr(priv, "procsys=written"), "privileged writes /proc/sys: %s", priv);
}

Test(qoslet_sec_root, read_only_rootfs_and_no_new_privs)
{
        const char *script = "[sh, -c, 'touch /x 2>/dev/null && echo rootfs=rw || echo "
                             "rootfs=ro; touch /scratch/x && echo emptydir=rw; "
                             "grep NoNewPrivs /proc/self/status']";
        _cleanup_free_ char *body = NULL;
        cr_assert(asprintf(&body,
                           "  volumes: [{name: scratch, emptyDir: {}}]\n"
                           "  containers:\n"
                           "  - name: def\n    image: IMG\n    command: %s\n"
                           "    volumeMounts: [{name: scratch, mountPath: /scratch}]\n"
                           "  - name: locked\n    image: IMG\n    command: %s\n"
                           "    volumeMounts: [{name: scratch, mountPath: /scratch}]\n"
                           "    securityContext:\n"
                           "      readOnlyRootFilesystem: true\n"
                           "      allowPrivilegeEscalation: false\n",
                           script, script) > 0);
        run_ok("ro", body);
        _cleanup_free_ char *def = qrun_output(&q, "def", 0),
                            *locked = qrun_output(&q, "locked", 0);
        cr_assert_not_null(def);
        cr_assert_not_null(locked);
        cr_expect(strstr(def, "rootfs=rw\nemptydir=rw\nNoNewPrivs:\t0\n"), "%s", def);
        cr_expect(strstr(locked, "rootfs=ro\nemptydir=rw\nNoNewPrivs:\t1\n"), "%s", locked);
}

Test(qoslet_sec_root, users_and_groups)
{
        run_ok("users", "  securityContext:\n"
                        "    {runAsUser: 1000, runAsGroup: 3000, supplementalGroups: [4000]}\n"
                        "  containers:\n"
                        "  - {name: a, image: IMG, command: [cat, /proc/self/status]}\n"
                        "  - name: b\n    image: IMG\n    command: [cat, /proc/self/status]\n"
                        "    securityContext: {runAsUser: 2000}\n");
        _cleanup_free_ char *uid = field_of("a", "Uid"), *gid = field_of("a", "Gid"),
                            *groups = field_of("a", "Groups"), *uid_b = field_of("b", "Uid"),
                            *eff = field_of("a", "CapEff");
        cr_expect_str_eq(uid, "1000\t1000\t1000\t1000");
        cr_expect_str_eq(gid, "3000\t3000\t3000\t3000");
        cr_expect_str_eq(groups, "3000 4000 ");
        cr_expect_str_eq(uid_b, "2000\t2000\t2000\t2000", "the container's runAsUser wins");
        cr_expect_str_eq(eff, "0000000000000000", "a non-root user holds no capability");
}

Test(qoslet_sec_root, image_user_by_name)
{
        qrun_busybox_image(&q, "example.com/qoslet/app:1", "{\"User\": \"app\"}");
        run_ok("imguser", "  containers:\n"
                          "  - name: a\n    image: example.com/qoslet/app:1\n"
                          "    command: [cat, /proc/self/status]\n");
        _cleanup_free_ char *uid = field_of("a", "Uid"), *gid = field_of("a", "Gid");
        cr_expect_str_eq(uid, "1234\t1234\t1234\t1234", "from the image's /etc/passwd");
        cr_expect_str_eq(gid, "5678\t5678\t5678\t5678");
}

Test(qoslet_sec_root, run_as_non_root_refuses_image_user_0)
{
        qrun_busybox_image(&q, "example.com/qoslet/root:1", "{\"User\": \"0\"}");
        _cleanup_free_ char *err = run_refused("nonroot",
                                               "  securityContext: {runAsNonRoot: true}\n"
                                               "  containers:\n"
                                               "  - name: a\n    image: example.com/qoslet/root:1\n"
                                               "    command: [id]\n");
        cr_expect(strstr(err, "CreateContainerConfigError: container has runAsNonRoot and image "
                              "will run as root (pod: \"nonroot-node1_default("),
                  "%s", err);
        cr_expect(strstr(err, ")\", container: a)"), "%s", err);
        cr_expect_null(qrun_output(&q, "a", 0), "the container never ran");
}

Test(qoslet_sec_root, safe_sysctls_applied_in_the_pod_only)
{
        _cleanup_free_ char *host_port = test_read_file(
                "/proc/sys/net/ipv4/ip_unprivileged_port_start");
        _cleanup_free_ char *host_shm = test_read_file("/proc/sys/kernel/shm_rmid_forced");
        cr_assert_not_null(host_port);
        cr_assert_not_null(host_shm);
        run_ok("sysctls", "  securityContext:\n    sysctls:\n"
                          "    - {name: net.ipv4.ip_unprivileged_port_start, value: '123'}\n"
                          "    - {name: kernel/shm_rmid_forced, value: '1'}\n"
                          "  containers:\n"
                          "  - name: a\n    image: IMG\n    command:\n"
                          "    - cat\n"
                          "    - /proc/sys/net/ipv4/ip_unprivileged_port_start\n"
                          "    - /proc/sys/kernel/shm_rmid_forced\n");
        _cleanup_free_ char *out = qrun_output(&q, "a", 0);
        cr_expect(out && strcmp(out, "123\n1\n") == 0, "%s", out);
        _cleanup_free_ char *port2 = test_read_file(
                "/proc/sys/net/ipv4/ip_unprivileged_port_start");
        _cleanup_free_ char *shm2 = test_read_file("/proc/sys/kernel/shm_rmid_forced");
        cr_expect_str_eq(port2, host_port, "the host keeps its value");
        cr_expect_str_eq(shm2, host_shm);
}

Test(qoslet_sec_root, unsafe_sysctl_refused)
{
        _cleanup_free_ char *err = run_refused("unsafe",
                                               "  securityContext:\n    sysctls:\n"
                                               "    - {name: net.core.somaxconn, value: '1024'}\n"
                                               "  containers:\n"
                                               "  - {name: a, image: IMG, command: [\"true\"]}\n");
        cr_expect(strstr(err, "CreateContainerConfigError: forbidden sysctl 'net.core.somaxconn'"),
                  "%s", err);
}

Test(qoslet_sec_root, run_as_non_root_refuses_named_user_and_uid_0)
{
        qrun_busybox_image(&q, "example.com/qoslet/named:1", "{\"User\": \"app\"}");
        _cleanup_free_ char *err = run_refused(
                "named", "  securityContext: {runAsNonRoot: true}\n"
                         "  containers:\n"
                         "  - name: a\n    image: example.com/qoslet/named:1\n"
                         "    command: [id]\n");
        cr_expect(strstr(err, "CreateContainerConfigError: container has runAsNonRoot and image "
                              "has non-numeric user (app), cannot verify user is non-root"),
                  "%s", err);
        cr_expect_null(qrun_output(&q, "a", 0), "the container never ran");

        _cleanup_free_ char *err0 = run_refused("uid0", "  securityContext: {runAsNonRoot: true}\n"
                                                        "  containers:\n"
                                                        "  - name: b\n    image: IMG\n"
                                                        "    command: [id]\n"
                                                        "    securityContext: {runAsUser: 0}\n");
        cr_expect(strstr(err0, "CreateContainerConfigError: container's runAsUser breaks non-root "
                               "policy"),
                  "%s", err0);
        cr_expect_null(qrun_output(&q, "b", 0), "the container never ran");
}
