/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "qos/podres.h"

static __int128 q_ceil_div(__int128 n, int64_t unit)
{
        if (n >= 0)
                return (n + unit - 1) / unit;
        return -((-n + unit - 1) / unit);
}

int64_t podres_ceil_div(__int128 nanos, int64_t unit)
{
        __int128 v = q_ceil_div(nanos, unit);
        if (v > INT64_MAX)
                return INT64_MAX;
        if (v < INT64_MIN)
                return INT64_MIN;
        return (int64_t)v;
}

__int128 podres_get(const struct resource_list *l, const char *name)
{
        const struct resource_entry *e = resource_list_find(l, name);
        return e ? e->value.nanos : 0;
}

static bool has_cpu_or_memory(const struct resource_list *l)
{
        return resource_list_find(l, "cpu") || resource_list_find(l, "memory");
}

bool podres_pod_level_requests_set(const struct pod *p)
{
        return has_cpu_or_memory(&p->spec.resources.requests);
}

bool podres_pod_level_limits_set(const struct pod *p)
{
        return has_cpu_or_memory(&p->spec.resources.limits);
}

bool podres_pod_level_set(const struct pod *p)
{
        return podres_pod_level_requests_set(p) || podres_pod_level_limits_set(p);
}

static const struct resource_list *side(const struct container *c, bool limits)
{
        return limits ? &c->resources.limits : &c->resources.requests;
}

__int128 podres_aggregate(const struct pod *p, bool limits, const char *name, bool *ret_found)
{
        __int128 sum = 0, sidecars = 0, init_max = 0;
        bool found = false;

        for (size_t i = 0; i < p->spec.n_containers; i++) {
                const struct resource_entry *e = resource_list_find(
                        side(&p->spec.containers[i], limits), name);
                if (e) {
                        found = true;
                        sum += e->value.nanos;
                }
        }
        for (size_t i = 0; i < p->spec.n_init_containers; i++) {
                const struct container *c = &p->spec.init_containers[i];
                const struct resource_entry *e = resource_list_find(side(c, limits), name);
                __int128 v = e ? e->value.nanos : 0, term;
                found = found || e;
                if (container_is_sidecar(c)) {
                        sum += v;
                        sidecars += v;
                        term = sidecars;
                } else
                        term = v + sidecars;
                init_max = MAX(init_max, term);
        }
        if (ret_found)
                *ret_found = found;
        return MAX(sum, init_max);
}

__int128 podres_pod_total(const struct pod *p, bool limits, const char *name, bool *ret_found)
{
        if (strcmp(name, "cpu") == 0 || strcmp(name, "memory") == 0) {
                const struct resource_list *l = limits ? &p->spec.resources.limits
                                                       : &p->spec.resources.requests;
                const struct resource_entry *e = resource_list_find(l, name);
                if (e) {
                        if (ret_found)
                                *ret_found = true;
                        return e->value.nanos;
                }
        }
        return podres_aggregate(p, limits, name, ret_found);
}

static const struct {
        const char *suffix;
        uint64_t factor;
} hugepage_suffixes[] = {
        { "Ki", 1ULL << 10 },
        { "Mi", 1ULL << 20 },
        { "Gi", 1ULL << 30 },
        { "Ti", 1ULL << 40 },
        { "Pi", 1ULL << 50 },
        { "Ei", 1ULL << 60 },
        { "k", 1000ULL },
        { "M", 1000000ULL },
        { "G", 1000000000ULL },
        { "T", 1000000000000ULL },
        { "", 1 },
};

uint64_t podres_hugepage_size(const char *name)
{
        const char *prefix = "hugepages-";
        if (strncmp(name, prefix, strlen(prefix)) != 0)
                return 0;
        const char *s = name + strlen(prefix);
        uint64_t n = 0;
        const char *d = s;
        for (; *d >= '0' && *d <= '9'; d++) {
                if (n > UINT64_MAX / 10)
                        return 0;
                n = n * 10 + (uint64_t)(*d - '0');
        }
        if (d == s)
                return 0;
        /* Whole numbers with a binary or decimal suffix cover every page size a kernel has;
         * a fractional size names no page size. */
        for (size_t i = 0; i < ELEMENTSOF(hugepage_suffixes); i++)
                if (strcmp(d, hugepage_suffixes[i].suffix) == 0) {
                        if (n > UINT64_MAX / hugepage_suffixes[i].factor)
                                return 0;
                        return n * hugepage_suffixes[i].factor;
                }
        return 0;
}
