/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "basic/fileio.h"
#include "helpers/rootfs.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define QOSLET_ASAN 1
#endif
#endif
#include "ns/paths.h"
#include "ns/volumes.h"
#include "runtime/cspec.h"
#include "runtime/exitrec.h"
#include "runtime/podrt.h"
#include "runtime/process.h"
#include "runtime/shimclient.h"

static char *dir, *rootfs, *run, *logs, *shim_path;
static pid_t shim_pid;
static struct pod_runtime *cur_pod; /* torn down by the fixture if a test fails */
static pid_t extra_shims[64]; /* more shims a test started, killed by the fixture */
static struct test_cgroup test_cg; /* a cgroup a test made, removed by the fixture */

static void setup(void)
{
        if (geteuid() != 0)
                cr_skip_test("needs root");
        dir = test_tmpdir_tagged("rt");
        rootfs = test_busybox_rootfs(dir);
        run = path_join(dir, "run/pods/uid1");
        logs = path_join(dir, "log");
        cr_assert_eq(mkdir_p(run, 0755, NULL), 0);
        cr_assert_eq(mkdir_p(logs, 0755, NULL), 0);
        shim_path = shim_default_path();
        cr_assert_eq(access(shim_path, X_OK), 0, "no shim at '%s'", shim_path);
}

static void teardown(void)
{
        if (cur_pod)
                (void)pod_runtime_teardown(TAKE_PTR(cur_pod), NULL);
        if (shim_pid > 0) {
                (void)shim_request(run, "shutdown", 10000, NULL, NULL);
                if (wait_process_exit(shim_pid, 2000) < 0)
                        (void)kill(shim_pid, SIGKILL);
        }
        shim_pid = 0;
        for (size_t i = 0; i < ELEMENTSOF(extra_shims); i++)
                if (extra_shims[i] > 0) {
                        (void)kill(extra_shims[i], SIGKILL);
                        extra_shims[i] = 0;
                }
        test_cgroup_remove(&test_cg);
        test_rm_rf(dir);
        free(dir);
        free(rootfs);
        free(run);
        free(logs);
        free(shim_path);
}

TestSuite(runtime_root, .init = setup, .fini = teardown, .timeout = 60);

static void launch(enum pid_ns_mode mode, const char *hostname)
{
        struct shim_options o = {
                .shim_path = shim_path, .dir = run, .hostname = hostname, .pid_mode = mode
        };
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(shim_launch(&o, &shim_pid, &e), 0, "launch: %s", qerr_msg(e));
}

static char *log_path(const char *name)
{
        char *p = NULL;
        cr_assert(asprintf(&p, "%s/%s.log", logs, name) > 0);
        return p;
}

/* Writes a spec for `sh -c script` and asks the shim to start it; returns the pid. No
 * Criterion assertions: a forked starter process uses it too. */
static int try_start(const char *name, const char *script, char **pre_stop, pid_t *ret_pid,
                     struct qerr **err)
{
        char *argv[] = { "sh", "-c", (char *)script, NULL };
        char *env[] = { DEFAULT_PATH_ENV, NULL };
        _cleanup_free_ char *lp = NULL, *spec = NULL, *req = NULL, *reply = NULL;
        if (asprintf(&lp, "%s/%s.log", logs, name) < 0 ||
            asprintf(&spec, "%s/%s.spec", run, name) < 0 || asprintf(&req, "start %s", spec) < 0)
                return -ENOMEM;
        struct cspec s = { .name = (char *)name,
                           .rootfs = rootfs,
                           .argv = argv,
                           .env = env,
                           .cwd = "/",
                           .log_path = lp,
                           .pre_stop = pre_stop };
        int r = cspec_write_file(&s, spec, err);
        if (r >= 0)
                r = shim_request(run, req, 10000, &reply, err);
        if (r >= 0)
                *ret_pid = (pid_t)atoi(reply);
        return r;
}

static pid_t start_full(const char *name, const char *script, char **pre_stop)
{
        pid_t pid = 0;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(try_start(name, script, pre_stop, &pid, &e), 0, "start: %s", qerr_msg(e));
        return pid;
}

static pid_t start(const char *name, const char *script)
{
        return start_full(name, script, NULL);
}

static int wait_exit(const char *name)
{
        _cleanup_free_ char *req = NULL, *reply = NULL;
        cr_assert(asprintf(&req, "wait %s", name) > 0);
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(shim_request(run, req, 30000, &reply, &e), 0, "wait: %s", qerr_msg(e));
        return atoi(reply);
}

/* The text of each CRI line of a container's log, one per line. */
static char *log_text(const char *name, size_t *ret_lines)
{
        _cleanup_free_ char *p = log_path(name);
        _cleanup_free_ char *buf = test_read_file(p);
        cr_assert_not_null(buf, "no log '%s'", p);
        char *out = calloc(1, strlen(buf) + 1), *o = out;
        size_t lines = 0;
        for (char *l = buf; *l;) {
                char *nl = strchr(l, '\n');
                cr_assert_not_null(nl, "unterminated CRI line");
                *nl = 0;
                char ts[64], stream[16], tag[4];
                int off = 0;
                cr_assert_eq(sscanf(l, "%63s %15s %3s %n", ts, stream, tag, &off), 3, "line '%s'",
                             l);
                o += sprintf(o, "%s\n", l + off);
                lines++;
                l = nl + 1;
        }
        *ret_lines = lines;
        return out;
}

/* Waits until a container's log holds n lines. */
static char *log_wait_lines(const char *name, size_t n)
{
        _cleanup_free_ char *p = log_path(name);
        for (int i = 0; i < 500; i++) {
                size_t got = 0;
                if (access(p, F_OK) < 0) {
                        usleep(10000);
                        continue;
                }
                char *t = log_text(name, &got);
                if (got >= n)
                        return t;
                free(t);
                usleep(10000);
        }
        cr_assert_fail("log of '%s' never reached %zu lines", name, n);
        return NULL;
}

static char *nth_line(const char *s, int n)
{
        for (int i = 0; i < n && s; i++)
                s = strchr(s, '\n') ? strchr(s, '\n') + 1 : NULL;
        cr_assert_not_null(s);
        return strndup(s, strcspn(s, "\n"));
}

Test(runtime_root, cri_log_three_lines)
{
        launch(PID_NS_CONTAINER, "logs");
        start("c", "echo one; echo two >&2; printf 'three\\n'");
        cr_assert_eq(wait_exit("c"), 0);
        _cleanup_free_ char *p = log_path("c");
        _cleanup_free_ char *raw = test_read_file(p);
        size_t lines = 0;
        _cleanup_free_ char *text = log_text("c", &lines);
        cr_assert_eq(lines, 3, "log:\n%s", raw);
        /* Two pipes: the order between stdout and stderr is not kept, within each it is. */
        cr_expect(strstr(text, "one\n") && strstr(text, "two\n") && strstr(text, "three\n"));
        char *one = strstr(raw, " stdout F one\n"), *three = strstr(raw, " stdout F three\n");
        cr_expect(one && three && one < three, "%s", raw);
        cr_expect(strstr(raw, " stderr F two\n"), "%s", raw);
        cr_expect(raw[4] == '-' && raw[10] == 'T', "RFC 3339 time first: %s", raw);
}

static char *status(void)
{
        char *reply = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(shim_request(run, "status", 10000, &reply, &e), 0, "%s", qerr_msg(e));
        return reply;
}

Test(runtime_root, shim_containers_share_pod_namespaces)
{
        launch(PID_NS_CONTAINER, "pod-b");
        const char *script = "for n in net ipc uts mnt pid; do readlink /proc/self/ns/$n; done;"
                             " hostname; exec sleep 60";
        pid_t a = start("a", script), b = start("b", script);
        _cleanup_free_ char *ta = log_wait_lines("a", 6), *tb = log_wait_lines("b", 6);
        for (int i = 0; i < 5; i++) {
                _cleanup_free_ char *x = nth_line(ta, i), *y = nth_line(tb, i);
                if (i < 3)
                        cr_expect_str_eq(x, y, "namespace line %d shared", i);
                else
                        cr_expect_str_neq(x, y, "namespace line %d private", i);
        }
        _cleanup_free_ char *host_net = test_ns_link(getpid(), "net");
        _cleanup_free_ char *shim_net = test_ns_link(shim_pid, "net");
        _cleanup_free_ char *a_net = test_ns_link(a, "net"), *b_net = test_ns_link(b, "net");
        _cleanup_free_ char *net = nth_line(ta, 0), *hn = nth_line(ta, 5);
        cr_expect_str_eq(a_net, shim_net, "the shim holds the pod's net namespace");
        cr_expect_str_eq(b_net, shim_net);
        cr_expect_str_neq(net, host_net);
        cr_expect_str_eq(hn, "pod-b");
        _cleanup_free_ char *st = status();
        cr_expect(strstr(st, " a:0:running:") && strstr(st, " b:0:running:"), "%s", st);
}

static bool in_pidns(pid_t pid, const char *ns)
{
        char p[64], buf[128];
        snprintf(p, sizeof(p), "/proc/%d/ns/pid", (int)pid);
        ssize_t n = readlink(p, buf, sizeof(buf) - 1);
        if (n <= 0)
                return false;
        buf[n] = 0;
        return strcmp(buf, ns) == 0;
}

/* Host pids of the processes in a pid namespace whose comm is name (NULL: all), and how many
 * of them are zombies. */
static int count_in_pidns(const char *ns, const char *name, int *zombies)
{
        DIR *d = opendir("/proc");
        cr_assert_not_null(d);
        int n = 0;
        *zombies = 0;
        for (struct dirent *de; (de = readdir(d));) {
                pid_t pid = (pid_t)atoi(de->d_name);
                if (pid <= 0 || !in_pidns(pid, ns))
                        continue;
                char p[64], comm[64] = "";
                char state = 0;
                snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
                _cleanup_free_ char *st = test_read_file(p);
                if (!st || sscanf(st, "%*d (%63[^)]) %c", comm, &state) != 2)
                        continue;
                if (name && strcmp(comm, name) != 0)
                        continue;
                n++;
                *zombies += state == 'Z';
        }
        closedir(d);
        return n;
}

Test(runtime_root, shared_pid_namespace_reaps_orphans)
{
        launch(PID_NS_POD, "shared");
        start("a", "echo a-up; exec sleep 61");
        free(log_wait_lines("a", 1));
        start("b", "ps; for i in $(seq 20); do sh -c 'sleep 30 & exit 0'; done; echo spawned; "
                   "exec sleep 62");
        _cleanup_free_ char *tb = log_wait_lines("b", 3);
        cr_expect(strstr(tb, "sleep 61"), "b sees a's process:\n%s", tb);
        _cleanup_free_ char *st = status();
        int pause = 0;
        cr_assert(sscanf(strstr(st, "pause:"), "pause:%d", &pause) == 1 && pause > 0, "%s", st);
        _cleanup_free_ char *ns = test_ns_link(pause, "pid");
        /* Wait until the 20 orphans exist (the last loop turn may still be running). */
        int zombies = 0, sleeps = 0;
        for (int i = 0; i < 300 && (sleeps = count_in_pidns(ns, "sleep", &zombies)) < 22; i++)
                usleep(10000);
        cr_assert_eq(sleeps, 22, "20 orphaned sleeps plus the two containers' own");
        /* Kill the orphans: each becomes a zombie until the pod's init reaps it. */
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "pkill -KILL -f '^sleep 30$' --ns %d --nslist pid", pause);
        cr_assert_eq(system(cmd), 0);
        int total = 0;
        for (int i = 0; i < 300; i++) {
                total = count_in_pidns(ns, NULL, &zombies);
                if (zombies == 0 && count_in_pidns(ns, "sleep", &zombies) == 2)
                        break;
                usleep(10000);
        }
        count_in_pidns(ns, NULL, &zombies);
        cr_expect_eq(zombies, 0, "no zombie remains in the pod");
        cr_expect_eq(total, 3, "pause and the two containers' sleeps are left, not %d", total);
}

static double mono_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

Test(runtime_root, stop_prestop_shares_grace_then_sigkill)
{
        launch(PID_NS_CONTAINER, "stop");
        char *hook[] = { "sleep", "60", NULL };
        start_full("c", "trap '' TERM; echo up; while :; do sleep 1; done", hook);
        free(log_wait_lines("c", 1));
        double t0 = mono_s();
        _cleanup_free_ char *reply = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(shim_request(run, "stop c 3", 30000, &reply, &e), 0, "%s", qerr_msg(e));
        double took = mono_s() - t0;
        /* 3 s of preStop, then the 2 s the kubelet always leaves, then SIGKILL. */
        cr_expect(took > 4.8 && took < 6.0, "stopped after %.2f s", took);
        cr_expect_str_eq(reply, "137");
        _cleanup_free_ char *exits = path_join(run, "exits");
        struct exit_record r;
        cr_assert_eq(exit_record_read(exits, "c", 0, &r, NULL), 0);
        cr_expect_eq(r.exit_code, 137);
        cr_expect_eq(r.signal, SIGKILL);
        cr_expect_str_eq(exit_record_reason(&r), "Error");
}

Test(runtime_root, stop_without_hook_term_is_enough)
{
        launch(PID_NS_CONTAINER, "stop2");
        start("c", "trap 'exit 0' TERM; echo up; while :; do sleep 0.1; done");
        free(log_wait_lines("c", 1));
        double t0 = mono_s();
        _cleanup_free_ char *reply = NULL;
        cr_assert_eq(shim_request(run, "stop c 30", 30000, &reply, NULL), 0);
        cr_expect_lt(mono_s() - t0, 1.5);
        cr_expect_str_eq(reply, "0");
}

Test(runtime_root, starter_killed_shim_keeps_running)
{
        _cleanup_free_ char *exits = path_join(run, "exits");
        pid_t starter = fork();
        cr_assert_geq(starter, 0);
        if (starter == 0) {
                struct shim_options o = { .shim_path = shim_path,
                                          .dir = run,
                                          .hostname = "orphan" };
                pid_t pid;
                if (shim_launch(&o, &pid, NULL) < 0 ||
                    try_start("c", "echo started; sleep 1.5; exit 7", NULL, &pid, NULL) < 0)
                        _exit(1);
                pause();
                _exit(0);
        }
        free(log_wait_lines("c", 1));
        cr_assert_eq(kill(starter, SIGKILL), 0);
        cr_assert_eq(waitpid(starter, NULL, 0), starter);
        _cleanup_free_ char *st = status();
        cr_assert(sscanf(st, "shim:%d", &shim_pid) == 1 && shim_pid > 0, "%s", st);
        cr_expect(strstr(st, " c:0:running:"), "the container outlived its starter: %s", st);
        struct exit_record r;
        int got = -1;
        for (int i = 0; i < 500 && (got = exit_record_read(exits, "c", 0, &r, NULL)) < 0; i++)
                usleep(10000);
        cr_assert_eq(got, 0, "an exit record landed on disk");
        cr_expect_eq(r.exit_code, 7);
        cr_expect_eq(r.signal, 0);
        cr_expect_gt(r.finished_at.tv_sec * 1000 + r.finished_at.tv_nsec / 1000000,
                     r.started_at.tv_sec * 1000 + r.started_at.tv_nsec / 1000000 + 1000);
}

Test(runtime_root, kill_records_signal)
{
        launch(PID_NS_CONTAINER, "kill");
        start("c", "echo up; exec sleep 60");
        free(log_wait_lines("c", 1));
        cr_assert_eq(shim_request(run, "kill c 9", 5000, NULL, NULL), 0);
        cr_expect_eq(wait_exit("c"), 137);
        _cleanup_free_ char *st = status();
        cr_expect(strstr(st, " c:0:exited:137"), "%s", st);
        /* A new attempt of the same container gets its own log and record. */
        cr_assert_eq(shim_request(run, "kill c 9", 5000, NULL, NULL), -EIO);
}

Test(runtime_root, start_failure_is_reported)
{
        launch(PID_NS_CONTAINER, "fail");
        char *argv[] = { "/no/such/binary", NULL };
        _cleanup_free_ char *lp = log_path("c");
        struct cspec s = { .name = "c", .rootfs = rootfs, .argv = argv, .log_path = lp };
        _cleanup_free_ char *spec = path_join(run, "c.spec"), *req = NULL;
        cr_assert_eq(cspec_write_file(&s, spec, NULL), 0);
        cr_assert(asprintf(&req, "start %s", spec) > 0);
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(shim_request(run, req, 10000, NULL, &e), -EIO);
        cr_expect(strstr(qerr_msg(e), "exec '/no/such/binary'"), "%s", qerr_msg(e));
}

/* Pods built in C, freed with pod_free(). */

static char **strv_new(const char *const *l)
{
        size_t n = 0;
        while (l[n])
                n++;
        char **v = calloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
                v[i] = strdup(l[i]);
        return v;
}

static struct pod *make_pod(const char *name, size_t n_containers)
{
        struct pod *p = calloc(1, sizeof(*p));
        p->metadata.name = strdup(name);
        p->metadata.namespace = strdup("default");
        p->metadata.uid = strdup("0123456789abcdef0123456789abcdef");
        p->spec.containers = calloc(n_containers, sizeof(struct container));
        p->spec.n_containers = n_containers;
        return p;
}

static void set_container(struct container *c, const char *name, const char *script)
{
        c->name = strdup(name);
        cr_assert(asprintf(&c->image, "dir://%s", rootfs) > 0);
        c->command = strv_new((const char *[]){ "sh", "-c", script, NULL });
}

static struct pod_runtime_config pod_config(void)
{
        static char *root, *prun;
        free(root);
        free(prun);
        root = path_join(dir, "root");
        prun = path_join(dir, "prun");
        return (struct pod_runtime_config){
                .root_dir = root, .run_dir = prun, .log_dir = logs, .shim_path = shim_path
        };
}

/* The CRI log text of a container of a started pod. */
static char *pod_log_wait(struct pod_runtime *pr, const char *name, size_t n)
{
        char *saved = logs;
        _cleanup_free_ char *d = path_join(pr->log_pod_dir, name);
        logs = d;
        char *t = log_wait_lines("0", n);
        logs = saved;
        return t;
}

static struct pod_runtime *pod_start(const struct pod *p)
{
        struct pod_runtime_config cfg = pod_config();
        struct pod_runtime *pr = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(pod_runtime_start(p, &cfg, &pr, &e), 0, "start pod: %s", qerr_msg(e));
        shim_pid = 0; /* the pod's own teardown stops its shim */
        cur_pod = pr;
        return pr;
}

static void pod_done(struct pod_runtime *pr)
{
        cur_pod = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_expect_eq(pod_runtime_stop(pr, 2, &e), 0, "stop: %s", qerr_msg(e));
        qerr_free(TAKE_PTR(e));
        cr_expect_eq(pod_runtime_teardown(pr, &e), 0, "teardown: %s", qerr_msg(e));
}

static pid_t pod_ctr_pid(struct pod_runtime *pr, const char *name)
{
        _cleanup_free_ char *st = NULL;
        cr_assert_eq(shim_request(pr->run_pod_dir, "status", 5000, &st, NULL), 0);
        char key[128];
        snprintf(key, sizeof(key), " %s:0:running:", name);
        char *k = strstr(st, key);
        cr_assert_not_null(k, "'%s' not running: %s", name, st);
        return (pid_t)atoi(k + strlen(key));
}

#define LOOP_UNTIL_TERM "trap 'exit 0' TERM; while :; do sleep 0.05; done"
/* The trap is set before the echo: once the line is logged, SIGTERM ends the container. */
#define LOOP_UNTIL_TERM_ECHO(word) "trap 'exit 0' TERM; echo " word "; while :; do sleep 0.05; done"

Test(runtime_root, pod_two_containers_start_and_teardown)
{
        _cleanup_pod_ struct pod *p = make_pod("web", 2);
        set_container(&p->spec.containers[0], "a", LOOP_UNTIL_TERM_ECHO("a"));
        set_container(&p->spec.containers[1], "b", LOOP_UNTIL_TERM_ECHO("b"));
        double t0 = mono_s();
        struct pod_runtime *pr = pod_start(p);
        double took = mono_s() - t0;
        cr_log_info("pod start, 2 containers, dir rootfs: %.2f ms", took * 1000);
        fprintf(stderr, "measured: pod start (2 containers exec'd): %.2f ms\n", took * 1000);
        pid_t a = pod_ctr_pid(pr, "a"), b = pod_ctr_pid(pr, "b");
        const char *shared[] = { "net", "ipc", "uts" }, *own[] = { "mnt", "pid" };
        for (size_t i = 0; i < 3; i++) {
                _cleanup_free_ char *x = test_ns_link(a, shared[i]),
                                    *y = test_ns_link(b, shared[i]);
                cr_expect_str_eq(x, y);
        }
        for (size_t i = 0; i < 2; i++) {
                _cleanup_free_ char *x = test_ns_link(a, own[i]), *y = test_ns_link(b, own[i]);
                cr_expect_str_neq(x, y);
        }
        _cleanup_free_ char *la = pod_log_wait(pr, "a", 1), *lb = pod_log_wait(pr, "b", 1);
        cr_expect_str_eq(la, "a\n");
        cr_expect_str_eq(lb, "b\n");
        _cleanup_free_ char *shm = strdup(pr->shm), *pod_dir = strdup(pr->pod_dir);
        t0 = mono_s();
        pod_done(pr);
        double stop_s = mono_s() - t0;
        cr_expect_lt(stop_s, 1.5, "containers that exit on SIGTERM stop at once, not %.2f s",
                     stop_s);
        cr_expect_neq(access(pod_dir, F_OK), 0, "pod dir removed");
        cr_expect_neq(access(shm, F_OK), 0, "shm removed");
        _cleanup_free_ char *mi = test_read_file("/proc/self/mountinfo");
        cr_expect_null(strstr(mi, dir), "no mount left under '%s'", dir);
}

Test(runtime_root, pod_hostname_70_chars_and_etc_files)
{
        char name[71];
        memset(name, 'h', 62);
        strcpy(name + 62, "-node-12");
        cr_assert_eq(strlen(name), 70);
        _cleanup_pod_ struct pod *p = make_pod(name, 1);
        set_container(
                &p->spec.containers[0], "c",
                "hostname; cat /etc/hostname; grep -c \"$(hostname)\" /etc/hosts; "
                "head -1 /etc/hosts; test -f /dev/termination-log && echo tlog; " LOOP_UNTIL_TERM);
        struct pod_runtime *pr = pod_start(p);
        _cleanup_free_ char *t = pod_log_wait(pr, "c", 5);
        _cleanup_free_ char *want = NULL;
        cr_assert(asprintf(&want, "%.62s\n%.62s\n1\n# Kubernetes-managed hosts file.\ntlog\n", name,
                           name) > 0);
        cr_expect_str_eq(t, want);
        pod_done(pr);
}

static void add_volume(struct pod *p, enum volume_kind kind, const char *name)
{
        p->spec.volumes = realloc(p->spec.volumes, (p->spec.n_volumes + 1) * sizeof(struct volume));
        struct volume *v = &p->spec.volumes[p->spec.n_volumes++];
        *v = (struct volume){ .name = strdup(name), .kind = kind };
}

static void add_mount(struct container *c, const char *vol, const char *path, bool ro)
{
        c->volume_mounts = realloc(c->volume_mounts,
                                   (c->n_volume_mounts + 1) * sizeof(struct volume_mount));
        c->volume_mounts[c->n_volume_mounts++] = (struct volume_mount){ .name = strdup(vol),
                                                                        .mount_path = strdup(path),
                                                                        .read_only = ro };
}

Test(runtime_root, pod_volumes_init_container_env)
{
        _cleanup_pod_ struct pod *p = make_pod("vols", 1);
        _cleanup_free_ char *hp = path_join(dir, "host/created");
        _cleanup_free_ char *hro = path_join(dir, "host-ro");
        cr_assert_eq(mkdir_p(hro, 0755, NULL), 0);
        add_volume(p, VOLUME_EMPTY_DIR, "scratch");
        add_volume(p, VOLUME_EMPTY_DIR, "mem");
        p->spec.volumes[1].medium = strdup("Memory");
        p->spec.volumes[1].has_size_limit = true;
        p->spec.volumes[1].size_limit.nanos = (__int128)8 * 1024 * 1024 * 1000000000;
        add_volume(p, VOLUME_HOST_PATH, "hp");
        p->spec.volumes[2].host_path = strdup(hp);
        p->spec.volumes[2].host_path_type = strdup("DirectoryOrCreate");
        add_volume(p, VOLUME_HOST_PATH, "hro");
        p->spec.volumes[3].host_path = strdup(hro);
        p->spec.volumes[3].host_path_type = strdup("Directory");
        p->spec.init_containers = calloc(1, sizeof(struct container));
        p->spec.n_init_containers = 1;
        set_container(&p->spec.init_containers[0], "init", "echo from-init > /scratch/f");
        add_mount(&p->spec.init_containers[0], "scratch", "/scratch", false);
        struct container *c = &p->spec.containers[0];
        set_container(c, "main", "x");
        strv_free(c->command);
        c->command = strv_new((const char *[]){ "sh", "-c", NULL });
        c->args = strv_new((const char *[]){
                "cat /scratch/f; echo $(GREETING) '$$(GREETING)' '$(NOPE)'; pwd;"
                "grep ' /mem tmpfs' /proc/mounts | grep -o 'size=[0-9]*k';"
                "echo hp > /hp/x && echo hp-ok; (echo no > /hro/x) 2>/dev/null || echo ro-ok;"
                "echo $GREETING2; " LOOP_UNTIL_TERM,
                NULL });
        c->working_dir = strdup("/work");
        c->env = calloc(2, sizeof(struct env_var));
        c->n_env = 2;
        c->env[0] = (struct env_var){ .name = strdup("GREETING"),
                                      .value = strdup("hello"),
                                      .has_value = true };
        c->env[1] = (struct env_var){ .name = strdup("GREETING2"),
                                      .value = strdup("$(GREETING)-2"),
                                      .has_value = true };
        add_mount(c, "scratch", "/scratch", true);
        add_mount(c, "mem", "/mem", false);
        add_mount(c, "hp", "/hp", false);
        add_mount(c, "hro", "/hro", true);
        struct pod_runtime *pr = pod_start(p);
        _cleanup_free_ char *t = pod_log_wait(pr, "main", 7);
        cr_expect_str_eq(t, "from-init\nhello $(GREETING) $(NOPE)\n/work\nsize=8192k\nhp-ok\n"
                            "ro-ok\nhello-2\n");
        _cleanup_free_ char *hx = path_join(hp, "x");
        cr_expect_eq(access(hx, F_OK), 0, "DirectoryOrCreate made the host dir");
        _cleanup_free_ char *ed = empty_dir_path(pr->pod_dir, "scratch");
        cr_expect(strstr(ed, "/volumes/kubernetes.io~empty-dir/scratch"));
        pod_done(pr);
        cr_expect_neq(access(ed, F_OK), 0, "emptyDir removed with the pod");
        cr_expect_eq(access(hx, F_OK), 0, "hostPath data stays");
        _cleanup_free_ char *mi = test_read_file("/proc/self/mountinfo");
        cr_expect_null(strstr(mi, dir), "no mount left under '%s'", dir);
}

/* A subPath whose way leads through a symlink out of the volume (a container may plant one
 * in a shared volume) is refused, and nothing is made outside on the way; one that stays
 * inside is made and mounted. */
Test(runtime_root, pod_sub_path_stays_in_its_volume)
{
        _cleanup_free_ char *vol = path_join(dir, "hostvol"), *outside = path_join(dir, "outside");
        _cleanup_free_ char *esc = path_join(vol, "esc"), *made = path_join(outside, "made");
        cr_assert_eq(mkdir_p(vol, 0755, NULL), 0);
        cr_assert_eq(mkdir_p(outside, 0755, NULL), 0);
        cr_assert_eq(symlink("../outside", esc), 0);
        static const char *const subs[] = { "ok/deeper", "esc/made" };
        for (size_t i = 0; i < ELEMENTSOF(subs); i++) {
                _cleanup_pod_ struct pod *p = make_pod("subp", 1);
                add_volume(p, VOLUME_HOST_PATH, "hv");
                p->spec.volumes[0].host_path = strdup(vol);
                p->spec.volumes[0].host_path_type = strdup("Directory");
                struct container *c = &p->spec.containers[0];
                set_container(c, "c", "echo in > /data/f && " LOOP_UNTIL_TERM_ECHO("up"));
                add_mount(c, "hv", "/data", false);
                c->volume_mounts[0].sub_path = strdup(subs[i]);
                if (i == 0) {
                        struct pod_runtime *pr = pod_start(p);
                        free(pod_log_wait(pr, "c", 1));
                        _cleanup_free_ char *f = path_join(vol, "ok/deeper/f");
                        cr_expect_eq(access(f, F_OK), 0, "the subPath was not mounted");
                        pod_done(pr);
                        continue;
                }
                struct pod_runtime_config cfg = pod_config();
                struct pod_runtime *pr = NULL;
                _cleanup_qerr_ struct qerr *e = NULL;
                int r = pod_runtime_start(p, &cfg, &pr, &e);
                if (r == 0)
                        pod_done(pr);
                cr_expect_lt(r, 0, "subPath '%s' was accepted", subs[i]);
                cr_expect(strstr(qerr_msg(e), "leaves"), "%s", qerr_msg(e));
                cr_expect_neq(access(made, F_OK), 0, "'%s' was made outside the volume", made);
        }
}

Test(runtime_root, pod_host_path_type_mismatch_fails_clean)
{
        _cleanup_pod_ struct pod *p = make_pod("bad", 1);
        add_volume(p, VOLUME_HOST_PATH, "f");
        p->spec.volumes[0].host_path = strdup(dir);
        p->spec.volumes[0].host_path_type = strdup("File");
        set_container(&p->spec.containers[0], "c", "true");
        struct pod_runtime_config cfg = pod_config();
        struct pod_runtime *pr = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_lt(pod_runtime_start(p, &cfg, &pr, &e), 0);
        cr_expect(strstr(qerr_msg(e), "is not a file"), "%s", qerr_msg(e));
        _cleanup_free_ char *pods = path_join(cfg.root_dir,
                                              "pods/0123456789abcdef0123456789abcdef");
        cr_expect_neq(access(pods, F_OK), 0, "nothing left behind");
        _cleanup_free_ char *mi = test_read_file("/proc/self/mountinfo");
        cr_expect_null(strstr(mi, dir), "no mount left under '%s'", dir);
}

Test(runtime_root, pod_host_network_and_ipc)
{
        _cleanup_pod_ struct pod *p = make_pod("hostnet", 1);
        p->spec.host_network = true;
        p->spec.host_ipc = true;
        set_container(&p->spec.containers[0], "c", LOOP_UNTIL_TERM_ECHO("up"));
        struct pod_runtime *pr = pod_start(p);
        free(pod_log_wait(pr, "c", 1));
        pid_t c = pod_ctr_pid(pr, "c");
        const char *host[] = { "net", "uts", "ipc" };
        for (size_t i = 0; i < 3; i++) {
                _cleanup_free_ char *x = test_ns_link(c, host[i]),
                                    *y = test_ns_link(getpid(), host[i]);
                cr_expect_str_eq(x, y, "%s namespace is the host's", host[i]);
        }
        _cleanup_free_ char *m = test_ns_link(c, "mnt"), *hm = test_ns_link(getpid(), "mnt");
        cr_expect_str_neq(m, hm);
        cr_expect_str_eq(pr->shm, "/dev/shm");
        pod_done(pr);
}

static long pss_kb(pid_t pid)
{
        char p[64];
        snprintf(p, sizeof(p), "/proc/%d/smaps_rollup", (int)pid);
        _cleanup_free_ char *s = test_read_file(p);
        const char *k = s ? strstr(s, "\nPss:") : NULL;
        return k ? strtol(k + 5, NULL, 10) : -1;
}

Test(runtime_root, shim_pss_with_50_pods, .timeout = 240)
{
        enum { PODS = 50 };
        char *dirs[PODS] = { 0 };
        pid_t pids[PODS] = { 0 };
        for (int i = 0; i < PODS; i++) {
                cr_assert(asprintf(&dirs[i], "%s/run/pods/p%02d", dir, i) > 0);
                cr_assert_eq(mkdir_p(dirs[i], 0755, NULL), 0);
                struct shim_options o = { .shim_path = shim_path,
                                          .dir = dirs[i],
                                          .hostname = "pss" };
                _cleanup_qerr_ struct qerr *e = NULL;
                cr_assert_eq(shim_launch(&o, &pids[i], &e), 0, "%s", qerr_msg(e));
                extra_shims[i] = pids[i];
                char *argv[] = { "sleep", "300", NULL };
                char *env[] = { DEFAULT_PATH_ENV, NULL };
                _cleanup_free_ char *lp = NULL, *spec = NULL, *req = NULL;
                cr_assert(asprintf(&lp, "%s/c.log", dirs[i]) > 0);
                cr_assert(asprintf(&spec, "%s/c.spec", dirs[i]) > 0);
                cr_assert(asprintf(&req, "start %s", spec) > 0);
                struct cspec s = {
                        .name = "c", .rootfs = rootfs, .argv = argv, .env = env, .log_path = lp
                };
                cr_assert_eq(cspec_write_file(&s, spec, NULL), 0);
                cr_assert_eq(shim_request(dirs[i], req, 10000, NULL, &e), 0, "%s", qerr_msg(e));
        }
        long total = 0;
        for (int i = 0; i < PODS; i++) {
                _cleanup_free_ char *st = NULL;
                cr_assert_eq(shim_request(dirs[i], "status", 10000, &st, NULL), 0);
                cr_expect(strstr(st, " c:0:running:"), "pod %d: %s", i, st);
                total += pss_kb(pids[i]);
        }
        double per_pod = (double)total / PODS;
        char p[64];
        snprintf(p, sizeof(p), "/proc/%d/smaps_rollup", (int)pids[0]);
        _cleanup_free_ char *one = test_read_file(p);
        fprintf(stderr, "measured: shim PSS with %d pods: %.1f KiB per pod; one shim:\n%s", PODS,
                per_pod, one ? one : "");
        for (int i = 0; i < PODS; i++) {
                (void)shim_request(dirs[i], "shutdown", 10000, NULL, NULL);
                if (wait_process_exit(pids[i], 2000) < 0)
                        (void)kill(pids[i], SIGKILL);
                extra_shims[i] = 0;
                free(dirs[i]);
        }
#if defined(__SANITIZE_ADDRESS__) || defined(QOSLET_ASAN)
        /* Shadow memory makes sanitizer builds (not static) far larger: the 128 KiB budget
         * is for the real, static shim. */
        cr_expect_gt(per_pod, 0.0);
#else
        cr_expect_leq(per_pod, 128.0, "shim PSS per pod %.1f KiB", per_pod);
#endif
}

static void write_cg(const char *dir_, const char *file, const char *value)
{
        _cleanup_free_ char *p = path_join(dir_, file);
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(write_string_file(p, value, &e), 0, "%s", qerr_msg(e));
}

Test(runtime_root, oom_kill_is_recorded)
{
        launch(PID_NS_CONTAINER, "oom");
        struct cspec s = { .name = "c", .rootfs = rootfs, .cwd = "/" };
        char *argv[] = { "sh", "-c", "echo up; dd if=/dev/zero of=/dev/null bs=64M count=1", NULL };
        char *env[] = { DEFAULT_PATH_ENV, NULL };
        char *procs[2] = { NULL, NULL };
        s.argv = argv;
        s.env = env;
        test_cgroup_make_memory(&test_cg, "oom");
        if (test_cg.v2) {
                write_cg(test_cg.v2, "memory.max", "16777216");
                _cleanup_free_ char *swap = path_join(test_cg.v2, "memory.swap.max");
                if (access(swap, F_OK) == 0)
                        write_cg(test_cg.v2, "memory.swap.max", "0");
                s.cgroup_v2 = test_cg.v2;
                s.oom_events = path_join(test_cg.v2, "memory.events");
        } else {
                write_cg(test_cg.v1_memory, "memory.limit_in_bytes", "16777216");
                _cleanup_free_ char *sw = path_join(test_cg.v1_memory,
                                                    "memory.memsw.limit_in_bytes");
                if (access(sw, F_OK) == 0)
                        write_cg(test_cg.v1_memory, "memory.memsw.limit_in_bytes", "16777216");
                procs[0] = path_join(test_cg.v1_memory, "cgroup.procs");
                s.cgroup_procs = procs;
                s.oom_events = path_join(test_cg.v1_memory, "memory.oom_control");
        }
        _cleanup_free_ char *lp = log_path("c"), *spec = path_join(run, "c.spec"), *req = NULL;
        s.log_path = lp;
        cr_assert_eq(cspec_write_file(&s, spec, NULL), 0);
        free(s.oom_events);
        free(procs[0]);
        cr_assert(asprintf(&req, "start %s", spec) > 0);
        _cleanup_qerr_ struct qerr *e = NULL;
        cr_assert_eq(shim_request(run, req, 10000, NULL, &e), 0, "%s", qerr_msg(e));
        cr_expect_eq(wait_exit("c"), 137);
        _cleanup_free_ char *exits = path_join(run, "exits");
        struct exit_record r;
        cr_assert_eq(exit_record_read(exits, "c", 0, &r, NULL), 0);
        cr_expect(r.oom_killed, "the cgroup's oom_kill counter went up");
        cr_expect_str_eq(exit_record_reason(&r), "OOMKilled");
}
