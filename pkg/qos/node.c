/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <inttypes.h>
#include <sched.h>
#include <string.h>

#include "basic/fileio.h"
#include "qos/plan.h"

#define HUGEPAGES_DIR "/sys/kernel/mm/hugepages"

void node_info_done(struct node_info *n)
{
        free(n->hugepage_sizes);
        free(n->hugepage_totals);
        free(n->cgroup_root);
        *n = (struct node_info){ 0 };
}

static int read_int64_file(const char *path, int64_t *ret, struct qerr **err)
{
        _cleanup_free_ char *s = NULL;
        char *end;
        int r = read_one_line_file(path, &s, err);
        if (r < 0)
                return r;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno != 0 || end == s || (*end && *end != '\n'))
                return qerr_set(err, EINVAL, "parse '%s' in '%s'", s, path);
        *ret = v;
        return 0;
}

static int read_mem_total(uint64_t *ret, struct qerr **err)
{
        _cleanup_free_ char *buf = NULL;
        unsigned long long kb;
        int r = read_full_file("/proc/meminfo", 1 << 20, &buf, NULL, err);
        if (r < 0)
                return r;
        const char *line = strstr(buf, "MemTotal:");
        if (!line || sscanf(line, "MemTotal: %llu kB", &kb) != 1)
                return qerr_set(err, EINVAL, "find 'MemTotal' in '/proc/meminfo'");
        *ret = (uint64_t)kb * 1024;
        return 0;
}

static int64_t online_cpus(void)
{
        /* The machine's capacity, as cAdvisor reports it: online CPUs, not this process's
         * affinity mask; the mask only stands in when sysconf cannot tell. */
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        if (n > 0)
                return n;
        cpu_set_t set;
        if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
                return CPU_COUNT(&set);
        return 1;
}

static int read_pid_capacity(int64_t *ret, struct qerr **err)
{
        int64_t pid_max, threads_max;
        int r = read_int64_file("/proc/sys/kernel/pid_max", &pid_max, err);
        if (r >= 0)
                r = read_int64_file("/proc/sys/kernel/threads-max", &threads_max, err);
        if (r < 0)
                return r;
        *ret = MIN(pid_max, threads_max);
        return 0;
}

static int add_hugepage_size(struct node_info *n, uint64_t size, uint64_t total)
{
        uint64_t *s = realloc(n->hugepage_sizes, (n->n_hugepage_sizes + 1) * sizeof(*s));
        if (!s)
                return -ENOMEM;
        n->hugepage_sizes = s;
        uint64_t *t = realloc(n->hugepage_totals, (n->n_hugepage_sizes + 1) * sizeof(*t));
        if (!t)
                return -ENOMEM;
        n->hugepage_totals = t;
        /* insertion keeps the sizes ascending */
        size_t i = n->n_hugepage_sizes;
        for (; i > 0 && s[i - 1] > size; i--) {
                s[i] = s[i - 1];
                t[i] = t[i - 1];
        }
        s[i] = size;
        t[i] = total;
        n->n_hugepage_sizes++;
        return 0;
}

static int read_hugepages(struct node_info *n, struct qerr **err)
{
        _cleanup_(closedirp) DIR *d = opendir(HUGEPAGES_DIR);
        struct dirent *de;

        /* A kernel without huge page support has no directory: no sizes. */
        if (!d)
                return errno == ENOENT ? 0 : qerr_set_errno(err, errno, "open '%s'", HUGEPAGES_DIR);
        while ((de = readdir(d))) {
                unsigned long long kb;
                char path[512];
                int64_t count;
                if (sscanf(de->d_name, "hugepages-%llukB", &kb) != 1)
                        continue;
                snprintf(path, sizeof(path), HUGEPAGES_DIR "/%s/nr_hugepages", de->d_name);
                int r = read_int64_file(path, &count, err);
                if (r < 0)
                        return r;
                if (add_hugepage_size(n, (uint64_t)kb * 1024, (uint64_t)MAX(count, 0) * kb * 1024) <
                    0)
                        return qerr_set(err, ENOMEM, "read huge page sizes");
        }
        return 0;
}

int node_info_from_host(struct node_info *ret, struct qerr **err)
{
        struct node_info n = {
                .driver = CGROUP_DRIVER_CGROUPFS,
                .pod_pids_limit = -1,
        };
        int r;

        n.cpu_capacity_milli = online_cpus() * 1000;
        n.cgroup_root = strdup("/");
        r = n.cgroup_root ? 0 : qerr_set(err, ENOMEM, "read node resources");
        if (r >= 0)
                r = read_mem_total(&n.memory_capacity, err);
        if (r >= 0)
                r = read_pid_capacity(&n.pid_capacity, err);
        if (r >= 0)
                r = read_hugepages(&n, err);
        if (r < 0) {
                node_info_done(&n);
                return qerr_wrap(err, "read node resources");
        }
        *ret = n;
        return 0;
}
