/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "cgroups/cgroups.h"
#include "config/config.h"
#include "node/state.h"
#include "ns/paths.h"
#include "qos/plan.h"
#include "qoslet.h"
#include "runtime/process.h"
#include "runtime/shimclient.h"

/* `qoslet reset`: tears down what qoslet left on the node, with no daemon running. What it
 * removes, and only that: the shims (and so the containers) of the pods under <run>/pods, the
 * kubepods tree under the cgroup root, every mount under <root>/pods and <run>/pods, and those
 * two directories. Images, logs, the root and run dirs themselves, the cgroup root and its
 * other children stay. */

struct reset_args {
        const char *root_dir, *run_dir, *driver, *cgroup_root, *config;
};

static void reset_help(void)
{
        printf("usage: qoslet reset [OPTIONS]\n\n"
               "Stops every pod qoslet left running (shims, containers) and removes its\n"
               "cgroups (the kubepods tree under the cgroup root), pod mounts and pod state.\n"
               "Images and logs stay. Refuses while a daemon or 'qoslet run' holds the root dir.\n"
               "Give the same directories, driver and cgroup root the daemon ran with.\n\n"
               "      --root-dir DIR       state, volumes (default /var/lib/qoslet)\n"
               "      --run-dir DIR        shim sockets, exit records (default /run/qoslet)\n"
               "      --cgroup-driver D    cgroupfs (default) or systemd\n"
               "      --cgroup-root PATH   parent of the kubepods tree (default /)\n"
               "      --config FILE        config file (KubeletConfiguration keys)\n");
}

static int parse_reset_args(int argc, char **argv, struct reset_args *a)
{
        enum { O_ROOT = 256, O_RUN, O_DRIVER, O_CGROOT, O_CONFIG };
        static const struct option opts[] = {
                { "root-dir", required_argument, NULL, O_ROOT },
                { "run-dir", required_argument, NULL, O_RUN },
                { "cgroup-driver", required_argument, NULL, O_DRIVER },
                { "cgroup-root", required_argument, NULL, O_CGROOT },
                { "config", required_argument, NULL, O_CONFIG },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char **targets[] = { &a->root_dir, &a->run_dir, &a->driver, &a->cgroup_root,
                                   &a->config };
        for (int o; (o = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
                if (o == 'h') {
                        reset_help();
                        exit(0);
                }
                if (o < O_ROOT || o > O_CONFIG)
                        return -EINVAL;
                *targets[o - O_ROOT] = optarg;
        }
        return optind == argc ? 0 : -EINVAL;
}

/* The shim's pid from its "status" reply ("shim:PID pause:PID ..."). */
static pid_t shim_pid_of(const char *reply)
{
        const char *s = strstr(reply ? reply : "", "shim:");
        return s ? (pid_t)atoi(s + 5) : 0;
}

/* Asks the shim of one pod to kill its containers and exit; SIGKILL when it does not. */
static int stop_shim(const char *pod_run_dir, const char *uid, unsigned *n_done)
{
        _cleanup_free_ char *sock = path_join(pod_run_dir, "shim.sock"), *reply = NULL;
        if (!sock || access(sock, F_OK) < 0)
                return 0;
        _cleanup_qerr_ struct qerr *e = NULL;
        if (shim_request(pod_run_dir, "status", 5000, &reply, &e) < 0) {
                log_debug("shim of pod '%s' does not answer: %s", uid, qerr_msg(e));
                return 0;
        }
        pid_t pid = shim_pid_of(reply);
        if (shim_request(pod_run_dir, "shutdown", 30000, NULL, &e) < 0)
                log_warning("shut down shim of pod '%s': %s", uid, qerr_msg(e));
        if (pid > 0 && wait_process_exit(pid, 5000) < 0 && kill(pid, SIGKILL) < 0 && errno != ESRCH)
                return log_error("kill shim of pod '%s' (pid %d): %m", uid, (int)pid), -errno;
        printf("stopped shim of pod %s (pid %d) and its containers\n", uid, (int)pid);
        (*n_done)++;
        return 0;
}

static int stop_shims(const char *run_dir, unsigned *n_done)
{
        _cleanup_strv_free_ char **uids = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        if (state_list_pods(run_dir, &uids, &e) < 0)
                return log_error("list pods in '%s': %s", run_dir, qerr_msg(e)), -EIO;
        int r = 0;
        STRV_FOREACH (u, uids) {
                _cleanup_free_ char *pods = path_join(run_dir, "pods");
                _cleanup_free_ char *d = pods ? path_join(pods, *u) : NULL;
                if (!d)
                        return log_error("out of memory"), -ENOMEM;
                int k = stop_shim(d, *u, n_done);
                r = r < 0 ? r : k;
        }
        return r;
}

/* Removes the kubepods tree under the cgroup root: every process in it is killed first. */
static int remove_cgroups(const struct reset_args *a, unsigned *n_done)
{
        _cleanup_qerr_ struct qerr *e = NULL;
        _cleanup_cg_manager_ struct cg_manager *m = NULL;
        if (cg_manager_new(a->driver, a->cgroup_root, &m, &e) < 0)
                return log_error("cgroup manager: %s", qerr_msg(e)), -EIO;
        _cleanup_free_ char *fs = cgroup_name_kubepods(a->cgroup_root, CGROUP_DRIVER_CGROUPFS);
        _cleanup_free_ char *sd = cgroup_name_kubepods(a->cgroup_root, CGROUP_DRIVER_SYSTEMD);
        if (!fs || !sd)
                return log_error("out of memory"), -ENOMEM;
        struct cg_stats st = { 0 };
        int r = cg_destroy(m, fs, sd, &st, &e);
        if (r < 0)
                return log_error("remove cgroup '%s': %s", fs, qerr_msg(e)), r;
        if (r > 0) {
                bool systemd = strcmp(cg_manager_driver(m), "systemd") == 0;
                printf("removed cgroup %s (%llu processes killed)\n", systemd ? sd : fs,
                       (unsigned long long)st.pids_current);
                (*n_done)++;
        }
        return 0;
}

/* Undoes the octal escapes of a mountinfo field ("\040" for a space) in place. */
static void unescape_mountinfo(char *s)
{
        char *w = s;
        for (char *p = s; *p; p++) {
                if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
                    p[3] >= '0' && p[3] <= '7') {
                        *w++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
                        p += 3;
                } else
                        *w++ = *p;
        }
        *w = 0;
}

/* Mount points below prefix ("<dir>/pods/"), in mountinfo order (parents before what is
 * mounted on or below them). */
static int mounts_below(const char *prefix, char ***ret, struct qerr **err)
{
        _cleanup_free_ char *text = NULL;
        int r = read_full_file("/proc/self/mountinfo", 16u << 20, &text, NULL, err);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        size_t n = 0;
        for (char *save = NULL, *line = strtok_r(text, "\n", &save); l && line;
             line = strtok_r(NULL, "\n", &save)) {
                char mp[PATH_MAX];
                if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
                        continue;
                unescape_mountinfo(mp);
                if (strncmp(mp, prefix, strlen(prefix)) != 0)
                        continue;
                char **nl = realloc(l, (n + 2) * sizeof(char *));
                if (!nl)
                        return qerr_set(err, ENOMEM, "mounts");
                l = nl;
                if (!(l[n] = strdup(mp)))
                        return qerr_set(err, ENOMEM, "mounts");
                l[++n] = NULL;
        }
        if (!l)
                return qerr_set(err, ENOMEM, "mounts");
        *ret = TAKE_PTR(l);
        return 0;
}

/* Unmounts everything below dir/pods (last mounted first), then removes dir/pods. */
static int remove_pods_dir(const char *dir, unsigned *n_done)
{
        char real[PATH_MAX];
        _cleanup_free_ char *pods = path_join(dir, "pods"), *prefix = NULL;
        if (!pods)
                return log_error("out of memory"), -ENOMEM;
        if (!realpath(pods, real))
                return errno == ENOENT ? 0 : (log_error("resolve '%s': %m", pods), -errno);
        if (asprintf(&prefix, "%s/", real) < 0)
                return log_error("out of memory"), -ENOMEM;
        _cleanup_strv_free_ char **mps = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        if (mounts_below(prefix, &mps, &e) < 0)
                return log_error("%s", qerr_msg(e)), -EIO;
        int r = 0;
        for (size_t i = strv_length(mps); i > 0; i--) {
                if (umount2(mps[i - 1], MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL &&
                    errno != ENOENT) {
                        log_error("unmount '%s': %m", mps[i - 1]);
                        r = -errno;
                        continue;
                }
                printf("unmounted %s\n", mps[i - 1]);
                (*n_done)++;
        }
        _cleanup_strv_free_ char **uids = NULL;
        (void)state_list_pods(dir, &uids, NULL);
        if (rm_rf(real, &e) < 0)
                return log_error("remove '%s': %s", real, qerr_msg(e)), -EIO;
        printf("removed %s (%zu pods)\n", real, strv_length(uids));
        (*n_done)++;
        return r;
}

static void reset_defaults(struct reset_args *a, const struct qoslet_config *c)
{
        if (!a->driver)
                a->driver = c->cgroup_driver ? c->cgroup_driver : "cgroupfs";
        if (!a->cgroup_root)
                a->cgroup_root = c->cgroup_root ? c->cgroup_root : "/";
        if (!a->root_dir)
                a->root_dir = c->root_dir ? c->root_dir : "/var/lib/qoslet";
        if (!a->run_dir)
                a->run_dir = c->run_dir ? c->run_dir : "/run/qoslet";
}

int qoslet_reset(int argc, char **argv)
{
        struct reset_args a = { 0 };
        if (parse_reset_args(argc, argv, &a) < 0) {
                fprintf(stderr, "usage: qoslet reset [OPTIONS] (--help for options)\n");
                return 2;
        }
        _cleanup_(config_done) struct qoslet_config conf;
        config_init(&conf);
        _cleanup_qerr_ struct qerr *e = NULL;
        if (a.config && config_load(&conf, a.config, NULL, &e) < 0)
                return log_error("%s", qerr_msg(e)), 1;
        reset_defaults(&a, &conf);
        _cleanup_close_ int lock = -1;
        if (root_lock_take(a.root_dir, false, &lock, &e) < 0)
                return log_error("%s", qerr_msg(e)), 1;
        unsigned done = 0;
        /* Shims first, so that no container is restarted while its cgroup goes. */
        int r = stop_shims(a.run_dir, &done);
        int k = remove_cgroups(&a, &done);
        r = r < 0 ? r : k;
        k = remove_pods_dir(a.run_dir, &done);
        r = r < 0 ? r : k;
        k = remove_pods_dir(a.root_dir, &done);
        r = r < 0 ? r : k;
        if (done == 0 && r >= 0)
                printf("nothing to remove\n");
        return r < 0 ? 1 : 0;
}
