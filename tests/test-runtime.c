/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/strbuf.h"
#include "image/fsutil.h"
#include "runtime/crilog.h"
#include "runtime/cspec.h"
#include "runtime/exitrec.h"
#include "runtime/podrt.h"
#include "runtime/process.h"

static char *env_vars[] = { "VAR_A=A", "VAR_B=B", "VAR_C=C", "VAR_EMPTY=", NULL };

static const char *lookup(const char *name, size_t len, void *userdata)
{
        return strv_env_lookup(userdata, name, len);
}

static void check_expand(const char *in, const char *want)
{
        _cleanup_free_ char *out = expand_var_refs(in, lookup, env_vars);
        cr_assert_not_null(out);
        cr_expect_str_eq(out, want, "expand '%s': got '%s', want '%s'", in, out, want);
}

Test(runtime, expand_vectors)
{
        check_expand("$(VAR_A)", "A");
        check_expand("___$(VAR_B)___", "___B___");
        check_expand("$(VAR_A)-$(VAR_A)", "A-A");
        check_expand("$$(VAR_B)_$(VAR_A)", "$(VAR_B)_A");
        check_expand("$$$(VAR_A)", "$A");
        check_expand("$$$$$$(BIG_MONEY)", "$$$(BIG_MONEY)");
        check_expand("$(VAR_DNE)", "$(VAR_DNE)");
        check_expand("$(VAR_EMPTY)", "");
        check_expand("$(VAR_A", "$(VAR_A");
        check_expand("$VAR_A", "$VAR_A");
        check_expand("f000-$$VAR_A", "f000-$VAR_A");
        check_expand("$)", "$)");
        check_expand("$", "$");
        check_expand("$(", "$(");
        check_expand("$()", "$()");
        check_expand("$(VAR_A$(VAR_B))", "$(VAR_A$(VAR_B))");
        check_expand("foo$(VAR_C)bar$$", "fooCbar$");
        check_expand("", "");
}

static char **cmdline(struct image_process *img, char **command, char **args)
{
        char **v = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        int r = container_command_line(img, command, args, env_vars, &v, &e);
        cr_assert_eq(r, 0, "%s", qerr_msg(e));
        return v;
}

static void check_strv(char **got, const char *const *want)
{
        size_t i = 0;
        for (; want[i]; i++) {
                cr_assert_not_null(got[i], "element %zu missing, want '%s'", i, want[i]);
                cr_expect_str_eq(got[i], want[i]);
        }
        cr_expect_null(got[i], "extra element '%s'", got[i]);
}

Test(runtime, command_args_rules)
{
        char *ep[] = { "/ep", NULL }, *cmd[] = { "c1", "c2", NULL };
        struct image_process img = { .entrypoint = ep, .cmd = cmd };
        char *command[] = { "/bin/sh", "-c", NULL }, *args[] = { "echo $(VAR_A)", NULL };

        _cleanup_strv_free_ char **neither = cmdline(&img, NULL, NULL);
        check_strv(neither, (const char *[]){ "/ep", "c1", "c2", NULL });
        _cleanup_strv_free_ char **only_cmd = cmdline(&img, command, NULL);
        check_strv(only_cmd, (const char *[]){ "/bin/sh", "-c", NULL });
        _cleanup_strv_free_ char **only_args = cmdline(&img, NULL, args);
        check_strv(only_args, (const char *[]){ "/ep", "echo A", NULL });
        _cleanup_strv_free_ char **both = cmdline(&img, command, args);
        check_strv(both, (const char *[]){ "/bin/sh", "-c", "echo A", NULL });
}

Test(runtime, command_image_words_not_expanded)
{
        char *ep[] = { "$(VAR_A)", NULL };
        struct image_process img = { .entrypoint = ep };
        _cleanup_strv_free_ char **v = cmdline(&img, NULL, NULL);
        check_strv(v, (const char *[]){ "$(VAR_A)", NULL });
}

Test(runtime, command_empty_is_error)
{
        char **v = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(container_command_line(NULL, NULL, NULL, NULL, &v, &e), -EINVAL);
        cr_assert_null(v);
        /* dir:// images have no config: args alone are the whole command line. */
        char *args[] = { "/bin/true", NULL };
        _cleanup_strv_free_ char **a = cmdline(NULL, NULL, args);
        check_strv(a, (const char *[]){ "/bin/true", NULL });
}

Test(runtime, kube_env_expands_in_order)
{
        struct env_var env[] = {
                { .name = "A", .value = "x", .has_value = true },
                { .name = "B", .value = "$(A)-$(C)-$(POD)", .has_value = true },
                { .name = "C", .value = "c", .has_value = true },
                { .name = "POD", .source = ENV_SOURCE_FIELD_REF, .source_ref = "metadata.name" },
                { .name = "A", .value = "$(A)$(A)", .has_value = true },
                { .name = "L",
                  .source = ENV_SOURCE_FIELD_REF,
                  .source_ref = "metadata.labels['app']" },
        };
        struct kv labels[] = { { .key = "app", .value = "web" } };
        struct pod p = { .metadata = { .name = "web-1",
                                       .namespace = "default",
                                       .uid = "u1",
                                       .labels = labels,
                                       .n_labels = 1 } };
        struct container c = { .name = "c", .env = env, .n_env = 6 };
        struct pod_env_context ctx = { .pod = &p, .hostname = "web-1", .pod_ip = "127.0.0.1" };
        _cleanup_strv_free_ char **v = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(container_kube_env(&c, &ctx, &v, &e), 0, "%s", qerr_msg(e));
        check_strv(v, (const char *[]){ "A=xx", "B=x-$(C)-$(POD)", "C=c", "POD=web-1", "L=web",
                                        NULL });
}

Test(runtime, kube_env_refuses_secret)
{
        struct env_var env[] = {
                { .name = "S", .source = ENV_SOURCE_SECRET_KEY_REF, .source_ref = "s/k" }
        };
        struct pod p = { .metadata = { .name = "p" } };
        struct container c = { .name = "c", .env = env, .n_env = 1 };
        struct pod_env_context ctx = { .pod = &p };
        char **v = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(container_kube_env(&c, &ctx, &v, &e), -ENOTSUP);
        cr_assert_null(v);
}

Test(runtime, final_env_order_and_override)
{
        char *img_env[] = { "PATH=/img/bin", "LANG=C", NULL };
        struct image_process img = { .env = img_env };
        char *kube[] = { "LANG=de", "X=1", NULL };
        _cleanup_strv_free_ char **v = NULL;
        cr_assert_eq(container_final_env(&img, "web", kube, &v, NULL), 0);
        check_strv(v, (const char *[]){ "PATH=/img/bin", "LANG=de", "HOSTNAME=web", "X=1", NULL });
        _cleanup_strv_free_ char **d = NULL;
        cr_assert_eq(container_final_env(NULL, "h", NULL, &d, NULL), 0);
        check_strv(d, (const char *[]){ DEFAULT_PATH_ENV, "HOSTNAME=h", NULL });
}

static void check_ts(time_t s, long ns, const char *want)
{
        char buf[CRI_TIMESTAMP_MAX];
        struct timespec ts = { s, ns };
        size_t n = cri_timestamp(&ts, buf);
        cr_expect_str_eq(buf, want);
        cr_expect_eq(n, strlen(want));
}

Test(runtime, cri_timestamp_like_go_rfc3339nano)
{
        check_ts(1475713029, 669794202, "2016-10-06T00:17:09.669794202Z");
        check_ts(1475713029, 669794200, "2016-10-06T00:17:09.6697942Z");
        check_ts(1475713029, 500000000, "2016-10-06T00:17:09.5Z");
        check_ts(1475713029, 1, "2016-10-06T00:17:09.000000001Z");
        check_ts(1475713029, 0, "2016-10-06T00:17:09Z");
        check_ts(0, 0, "1970-01-01T00:00:00Z");
}

static int collect(const struct iovec *iov, int n, void *userdata)
{
        for (int i = 0; i < n; i++)
                strbuf_append_n(userdata, iov[i].iov_base, iov[i].iov_len);
        return 0;
}

static char *chunk(enum cri_stream s, const char *data)
{
        _cleanup_strbuf_ struct strbuf sb = { 0 };
        struct timespec ts = { 1475713029, 669794202 };
        strbuf_append(&sb, "");
        cr_assert_eq(cri_log_chunk(&ts, s, data, strlen(data), collect, &sb), 0);
        return strbuf_steal(&sb);
}

#define TS "2016-10-06T00:17:09.669794202Z"

Test(runtime, cri_lines_full_and_partial)
{
        _cleanup_free_ char *a = chunk(CRI_STDOUT, "one\ntwo\n");
        cr_assert_str_eq(a, TS " stdout F one\n" TS " stdout F two\n");
        _cleanup_free_ char *b = chunk(CRI_STDERR, "x\npart");
        cr_assert_str_eq(b, TS " stderr F x\n" TS " stderr P part\n");
        _cleanup_free_ char *c = chunk(CRI_STDOUT, "\n\n");
        cr_assert_str_eq(c, TS " stdout F \n" TS " stdout F \n");
        _cleanup_free_ char *d = chunk(CRI_STDOUT, "");
        cr_assert_str_eq(d, "");
}

Test(runtime, cri_many_lines_batched)
{
        _cleanup_strbuf_ struct strbuf in = { 0 };
        for (int i = 0; i < 1000; i++)
                strbuf_printf(&in, "%d\n", i);
        _cleanup_free_ char *out = chunk(CRI_STDOUT, in.buf);
        size_t lines = 0;
        for (char *p = out; (p = strchr(p, '\n')); p++)
                lines++;
        cr_assert_eq(lines, 1000);
        cr_assert(strstr(out, TS " stdout F 999\n"));
        cr_assert(strstr(out, TS " stdout F 64\n" TS " stdout F 65\n"));
}

static char log_dir[] = "/tmp/qoslet-test-log-XXXXXX";
static bool log_dir_made;

static void log_dir_remove(void)
{
        if (!log_dir_made)
                return;
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", log_dir);
        cr_expect_eq(system(cmd), 0);
}

Test(runtime, cri_log_rotates_and_prunes, .fini = log_dir_remove)
{
        char *dir = log_dir;
        cr_assert_not_null(mkdtemp(dir));
        log_dir_made = true;
        char path[256];
        snprintf(path, sizeof(path), "%s/0.log", dir);
        struct cri_log l;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(cri_log_open(&l, path, 100, 3, &e), 0, "%s", qerr_msg(e));
        struct timespec ts = { 1475713029, 0 };
        for (int i = 0; i < 20; i++)
                cr_assert_eq(cri_log_write(&l, &ts, CRI_STDOUT, "0123456789abcdef\n", 17, &e), 0,
                             "%s", qerr_msg(e));
        cri_log_close(&l);
        /* Rotated once a file holds >= 100 bytes: 3 lines per file, so 20 lines leave 2 in
         * the current file. */
        const off_t line = (off_t)strlen("2016-10-06T00:17:09Z stdout F 0123456789abcdef\n");
        struct dirent **list;
        int n = scandir(dir, &list, NULL, alphasort);
        int files = 0;
        for (int i = 0; i < n; i++) {
                if (list[i]->d_name[0] != '.')
                        files++;
                free(list[i]);
        }
        free(list);
        cr_assert_eq(files, 3, "want 3 files (current + 2 rotated), got %d", files);
        struct stat st;
        cr_assert_eq(stat(path, &st), 0);
        cr_assert_eq(st.st_size, 2 * line, "size %lld", (long long)st.st_size);
        /* Container logs are not for everyone: 0640, as containerd makes them. */
        cr_assert_eq(st.st_mode & 07777, 0640, "log mode %o", st.st_mode & 07777);
}

Test(runtime, cspec_round_trip)
{
        char *argv[] = { "sh", "-c", "echo 'a b'\n\tx\\y", NULL };
        char *env[] = { "A=1 2", "B=", NULL };
        char *procs[] = { "/sys/fs/cgroup/pids/x/cgroup.procs", NULL };
        char *hook[] = { "sleep", "60", NULL };
        struct ns_mount m[] = { { "/src dir", "/dst", true }, { "/a", "/b c", false } };
        struct cspec s = { .name = "web",
                           .attempt = 3,
                           .rootfs = "/r",
                           .read_only_rootfs = true,
                           .argv = argv,
                           .env = env,
                           .cwd = "/w",
                           .mounts = m,
                           .n_mounts = 2,
                           .shm = "/shm",
                           .cgroup_v2 = "/sys/fs/cgroup/p",
                           .cgroup_procs = procs,
                           .oom_events = "/e",
                           .has_oom_score_adj = true,
                           .oom_score_adj = -997,
                           .log_path = "/l/3.log",
                           .log_max_size = 1ULL << 33,
                           .log_max_files = 7,
                           .stop_signal = 10,
                           .pre_stop = hook };
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        cr_assert_eq(cspec_write(&s, f, NULL), 0);
        fclose(f);
        cr_assert(strstr(buf, "arg echo\\s'a\\sb'\\n\\x09x\\\\y\n"), "%s", buf);
        struct cspec r;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(cspec_parse(buf, &r, &e), 0, "%s", qerr_msg(e));
        free(buf);
        cr_expect_str_eq(r.name, "web");
        cr_expect_eq(r.attempt, 3);
        cr_expect(r.read_only_rootfs);
        check_strv(r.argv, (const char *const *)argv);
        check_strv(r.env, (const char *const *)env);
        check_strv(r.cgroup_procs, (const char *const *)procs);
        check_strv(r.pre_stop, (const char *const *)hook);
        cr_assert_eq(r.n_mounts, 2);
        cr_expect_str_eq(r.mounts[0].source, "/src dir");
        cr_expect(r.mounts[0].read_only && !r.mounts[1].read_only);
        cr_expect_str_eq(r.mounts[1].target, "/b c");
        cr_expect(r.has_oom_score_adj && r.oom_score_adj == -997);
        cr_expect_eq(r.log_max_size, 1ULL << 33);
        cr_expect_eq(r.log_max_files, 7);
        cr_expect_eq(r.stop_signal, 10);
        cr_expect_str_eq(r.cgroup_v2, "/sys/fs/cgroup/p");
        cr_expect_str_eq(r.oom_events, "/e");
        cspec_done(&r);
}

Test(runtime, cspec_carries_security_plan)
{
        char *argv[] = { "sh", NULL };
        char *masked[] = { "/proc/kcore", "/proc/a b", NULL };
        uint32_t groups[] = { 3000, 4000 };
        struct sec_sysctl sysctls[] = { { "kernel.shm_rmid_forced", "1" } };
        struct sec_plan p = { .cap_bounding = SEC_DEFAULT_CAPS,
                              .cap_permitted = SEC_DEFAULT_CAPS,
                              .cap_effective = SEC_DEFAULT_CAPS,
                              .no_new_privs = true,
                              .seccomp = SEC_SECCOMP_RUNTIME_DEFAULT,
                              .masked_paths = masked,
                              .uid = 1000,
                              .gid = 3000,
                              .groups = groups,
                              .n_groups = 2,
                              .sysctls = sysctls,
                              .n_sysctls = 1 };
        struct cspec s = { .name = "web",
                           .rootfs = "/r",
                           .argv = argv,
                           .log_path = "/l",
                           .sec = &p,
                           .seccomp_filter = "/run/x/web.0.bpf" };
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        cr_assert_eq(cspec_write(&s, f, NULL), 0);
        fclose(f);
        struct cspec r;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(cspec_parse(buf, &r, &e), 0, "%s\n%s", qerr_msg(e), buf);
        free(buf);
        cr_assert_not_null(r.sec);
        cr_expect_str_eq(r.seccomp_filter, "/run/x/web.0.bpf");
        cr_expect_eq(r.sec->cap_effective, SEC_DEFAULT_CAPS);
        cr_expect_eq(r.sec->cap_inheritable, 0);
        cr_expect(r.sec->no_new_privs);
        cr_expect_eq(r.sec->seccomp, SEC_SECCOMP_RUNTIME_DEFAULT);
        check_strv(r.sec->masked_paths, (const char *const *)masked);
        cr_expect(r.sec->uid == 1000 && r.sec->gid == 3000);
        cr_assert_eq(r.sec->n_groups, 2);
        cr_expect(r.sec->groups[0] == 3000 && r.sec->groups[1] == 4000);
        cr_assert_eq(r.sec->n_sysctls, 1);
        cr_expect_str_eq(r.sec->sysctls[0].value, "1");
        cspec_done(&r);
        /* Without sec- lines the shim keeps its own privileges. */
        cr_assert_eq(cspec_parse("name a\nrootfs /r\narg x\nlog /l\n", &r, NULL), 0);
        cr_expect_null(r.sec);
        cspec_done(&r);
}

Test(runtime, start_error_reasons)
{
        cr_expect_str_eq(pod_runtime_error_reason("pod 'x': container 'a': ErrImagePull: pull "
                                                  "image 'b': ErrImageNeverPull later"),
                         "ErrImagePull");
        cr_expect_str_eq(pod_runtime_error_reason("ErrImageNeverPull: Container image \"b\" is "
                                                  "not present with pull policy of Never"),
                         "ErrImageNeverPull");
        cr_expect_str_eq(pod_runtime_error_reason("pod 'x': CreateContainerConfigError: container "
                                                  "has runAsNonRoot"),
                         "CreateContainerConfigError");
        cr_expect_null(pod_runtime_error_reason("pod 'x': exec 'sh': ErrImagePullish"));
        cr_expect_null(pod_runtime_error_reason("open 'ErrImagePull: x'"));
        cr_expect_null(pod_runtime_error_reason(NULL));
}

Test(runtime, cspec_rejects_bad_input)
{
        const char *bad[] = {
                "name a\nrootfs /r\narg x\nlog /l\nbogus 1\n", /* unknown key */
                "name a\nrootfs /r\narg x\nlog /l\nattempt -1\n",
                "name a\nrootfs /r\narg \\q\nlog /l\n", /* bad escape */
                "name a\nrootfs /r\narg \\x00\nlog /l\n", /* NUL */
                "name a\nrootfs /r\nlog /l\n", /* no arg */
                "name a\nrootfs /r\narg x\nlog /l\nmount rx /a /b\n",
                "name a\nrootfs /r\narg x\nlog /l\noom-score-adj -1001\n",
                "name a\nrootfs /r\narg x\nlog /l\nsec-uid x\n",
                "name a\nrootfs /r\narg x\nlog /l\nsec-bogus 1\n",
                /* a filter is required for anything but unconfined */
                "name a\nrootfs /r\narg x\nlog /l\nsec-seccomp runtime-default\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct cspec r;
                _cleanup_qerr_ struct qerr *e = NULL;
                cr_expect_lt(cspec_parse(bad[i], &r, &e), 0, "accepted: %s", bad[i]);
        }
}

Test(runtime, exit_record_round_trip)
{
        struct exit_record r = { .pid = 42,
                                 .oom_killed = true,
                                 .started_at = { 1475713029, 5 },
                                 .finished_at = { 1475713030, 669794202 } };
        exit_record_set_status(&r, 9); /* killed by SIGKILL */
        cr_expect_eq(r.exit_code, 137);
        cr_expect_eq(r.signal, 9);
        cr_expect_str_eq(exit_record_reason(&r), "OOMKilled");
        _cleanup_free_ char *text = exit_record_format(&r);
        cr_expect(strstr(text, "finished-at 1475713030.669794202 2016-10-06T00:17:10.669794202Z\n"),
                  "%s", text);
        struct exit_record p;
        cr_assert_eq(exit_record_parse(text, &p, NULL), 0);
        cr_expect_eq(p.pid, 42);
        cr_expect_eq(p.exit_code, 137);
        cr_expect(p.oom_killed);
        cr_expect_eq(p.started_at.tv_nsec, 5);
        cr_expect_eq(p.finished_at.tv_sec, 1475713030);
        struct exit_record ok = { 0 };
        exit_record_set_status(&ok, 3 << 8);
        cr_expect_eq(ok.exit_code, 3);
        cr_expect_str_eq(exit_record_reason(&ok), "Error");
        ok.exit_code = 0;
        cr_expect_str_eq(exit_record_reason(&ok), "Completed");
        cr_expect_lt(exit_record_parse("pid 1\n", &p, NULL), 0);
}

Test(runtime, exit_record_file_is_private)
{
        char dir[] = "/tmp/qoslet-test-exits-XXXXXX";
        cr_assert_not_null(mkdtemp(dir));
        struct exit_record r = { .pid = 7, .finished_at = { 1475713030, 0 } };
        exit_record_set_status(&r, 0);
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(exit_record_write(dir, "app", 2, &r, &e), 0, "%s", qerr_msg(e));
        char path[128];
        snprintf(path, sizeof(path), "%s/app.2", dir);
        struct stat st;
        cr_assert_eq(stat(path, &st), 0);
        cr_expect_eq(st.st_mode & 07777, 0600, "exit record mode %o", st.st_mode & 07777);
        cr_assert_eq(rm_rf(dir, NULL), 0);
}

Test(runtime, stop_signal_names)
{
        cr_expect_eq(stop_signal_from_string("SIGTERM"), 15);
        cr_expect_eq(stop_signal_from_string("SIGUSR1"), 10);
        cr_expect_eq(stop_signal_from_string("TERM"), -EINVAL);
        cr_expect_eq(stop_signal_from_string(NULL), -EINVAL);
}
