/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "basic/fileio.h"
#include "basic/macro.h"
#include "helpers/cgtest.h"

const char *cgtest_driver(void)
{
        const char *d = getenv("QOSLET_TEST_CGROUP_DRIVER");
        return d && *d ? d : "cgroupfs";
}

int cgtest_manager(struct cg_manager **ret, char **ret_root, struct qerr **err)
{
        static unsigned counter;
        char *root = NULL;
        if (asprintf(&root, "/qoslet-test-%d-%u", (int)getpid(), ++counter) < 0)
                return -ENOMEM;
        int r = cg_manager_new(cgtest_driver(), root, ret, err);
        if (r < 0) {
                free(root);
                return r;
        }
        *ret_root = root;
        return 0;
}

char *cgtest_systemd(const char *cgroupfs_path)
{
        char *s = NULL;
        if (cg_path_to_systemd(cgroupfs_path, &s, NULL) < 0)
                abort();
        return s;
}

pid_t cgtest_spawn(int (*fn)(void *arg), void *arg)
{
        pid_t pid = fork();
        if (pid != 0)
                return pid;
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        _exit(fn(arg));
}

static int sleep_forever(void *arg)
{
        for (;;)
                pause();
        return 0;
}

pid_t cgtest_spawn_sleeper(void)
{
        return cgtest_spawn(sleep_forever, NULL);
}

unsigned long long cgtest_now_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000;
}

int cgtest_wait(pid_t pid, int timeout_ms, int *ret_status)
{
        unsigned long long deadline = cgtest_now_us() + (unsigned long long)timeout_ms * 1000;
        for (;;) {
                int status;
                pid_t r = waitpid(pid, &status, WNOHANG);
                if (r == pid) {
                        if (ret_status)
                                *ret_status = status;
                        return 0;
                }
                if (r < 0)
                        return -errno;
                if (cgtest_now_us() > deadline)
                        return -ETIMEDOUT;
                struct timespec ts = { .tv_nsec = 5 * 1000 * 1000 };
                nanosleep(&ts, NULL);
        }
}

static int check_mount(const char *mount, const char *path, char **ret_where)
{
        _cleanup_free_ char *p = NULL;
        struct stat sb;
        if (asprintf(&p, "%s%s", mount, path) < 0)
                return -ENOMEM;
        if (stat(p, &sb) < 0)
                return 0;
        *ret_where = TAKE_PTR(p);
        return 1;
}

int cgtest_find_leftover(const char *cgroupfs_path, const char *systemd_path, char **ret_where)
{
        _cleanup_free_ char *text = NULL;
        int r = read_full_file("/proc/self/mountinfo", 16u << 20, &text, NULL, NULL);
        if (r < 0)
                return r;
        for (char *save = NULL, *l = strtok_r(text, "\n", &save); l;
             l = strtok_r(NULL, "\n", &save)) {
                char mount[4096], fstype[64];
                const char *sep = strstr(l, " - ");
                if (!sep || sscanf(l, "%*s %*s %*s %*s %4095s", mount) != 1 ||
                    sscanf(sep + 3, "%63s", fstype) != 1)
                        continue;
                if (strcmp(fstype, "cgroup") != 0 && strcmp(fstype, "cgroup2") != 0)
                        continue;
                const char *paths[] = { cgroupfs_path, systemd_path };
                for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                        if (!paths[i])
                                continue;
                        r = check_mount(mount, paths[i], ret_where);
                        if (r != 0)
                                return r;
                }
        }
        return 0;
}

bool cgtest_procs_has(const char *dir, pid_t pid)
{
        _cleanup_free_ char *p = NULL, *text = NULL;
        if (asprintf(&p, "%s/cgroup.procs", dir) < 0 ||
            read_full_file(p, 1 << 20, &text, NULL, NULL) < 0)
                return false;
        for (char *save = NULL, *l = strtok_r(text, "\n", &save); l;
             l = strtok_r(NULL, "\n", &save))
                if (atoi(l) == pid)
                        return true;
        return false;
}

static int push(char ***l, size_t *n, char *s)
{
        char **nl = realloc(*l, (*n + 2) * sizeof(char *));
        if (!nl || !s) {
                free(s);
                return -ENOMEM;
        }
        nl[(*n)++] = s;
        nl[*n] = NULL;
        *l = nl;
        return 0;
}

static char *size_string(unsigned long long kb)
{
        char *s = NULL;
        int r;
        if (kb % (1024 * 1024) == 0)
                r = asprintf(&s, "%lluGB", kb / (1024 * 1024));
        else if (kb % 1024 == 0)
                r = asprintf(&s, "%lluMB", kb / 1024);
        else
                r = asprintf(&s, "%lluKB", kb);
        return r < 0 ? NULL : s;
}

char **cgtest_hugepage_sizes(void)
{
        char **l = calloc(1, sizeof(char *));
        size_t n = 0;
        unsigned long long kbs[16];
        size_t nk = 0;
        DIR *d = opendir("/sys/kernel/mm/hugepages");
        for (struct dirent *de; d && (de = readdir(d)) && nk < ELEMENTSOF(kbs);) {
                unsigned long long kb;
                if (sscanf(de->d_name, "hugepages-%llukB", &kb) == 1)
                        kbs[nk++] = kb;
        }
        if (d)
                closedir(d);
        /* Ascending, as the plan lists them. */
        for (size_t i = 0; i < nk; i++)
                for (size_t j = i + 1; j < nk; j++)
                        if (kbs[j] < kbs[i]) {
                                unsigned long long t = kbs[i];
                                kbs[i] = kbs[j];
                                kbs[j] = t;
                        }
        for (size_t i = 0; l && i < nk; i++)
                if (push(&l, &n, size_string(kbs[i])) < 0)
                        abort();
        return l;
}

char *cgtest_unit_state(const char *unit)
{
        if (strspn(unit, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
            strlen(unit))
                return NULL;
        _cleanup_free_ char *cmd = NULL;
        if (asprintf(&cmd, "systemctl show --value -p ActiveState %s 2>/dev/null", unit) < 0)
                return NULL;
        FILE *f = popen(cmd, "r");
        if (!f)
                return NULL;
        char buf[64] = { 0 };
        char *ok = fgets(buf, sizeof(buf), f);
        pclose(f);
        if (!ok)
                return NULL;
        buf[strcspn(buf, "\n")] = 0;
        return strdup(buf);
}
