/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "basic/strbuf.h"
#include "qos/plan.h"

static const char *const driver_names[_CGROUP_DRIVER_MAX] = {
        [CGROUP_DRIVER_CGROUPFS] = "cgroupfs",
        [CGROUP_DRIVER_SYSTEMD] = "systemd",
};

const char *cgroup_driver_to_string(enum cgroup_driver d)
{
        if (d < 0 || d >= _CGROUP_DRIVER_MAX)
                return NULL;
        return driver_names[d];
}

enum cgroup_driver cgroup_driver_from_string(const char *s)
{
        for (int i = 0; s && i < _CGROUP_DRIVER_MAX; i++)
                if (strcmp(s, driver_names[i]) == 0)
                        return (enum cgroup_driver)i;
        return _CGROUP_DRIVER_INVALID;
}

/* Appends one component escaped the way the kubelet maps names to systemd units: '-' is the
 * slice separator, so a '-' inside a component becomes '_'. */
static void append_escaped(struct strbuf *sb, const char *s)
{
        for (; *s; s++)
                strbuf_append_char(sb, *s == '-' ? '_' : *s);
}

char *cgroup_name_to_systemd(char *const *components, size_t n)
{
        _cleanup_strbuf_ struct strbuf sb = { 0 };

        if (n == 0 || (n == 1 && components[0][0] == 0))
                return strdup("/");
        /* Expanding the unit "a-b-c.slice" into the path of its parent slices:
         * /a.slice/a-b.slice/a-b-c.slice. */
        for (size_t i = 0; i < n; i++) {
                strbuf_append_char(&sb, '/');
                for (size_t j = 0; j <= i; j++) {
                        if (j > 0)
                                strbuf_append_char(&sb, '-');
                        append_escaped(&sb, components[j]);
                }
                strbuf_append(&sb, ".slice");
        }
        if (sb.oom)
                return NULL;
        return strbuf_steal(&sb);
}

static char *join_cgroupfs(char *const *components, size_t n)
{
        _cleanup_strbuf_ struct strbuf sb = { 0 };

        if (n == 0)
                return strdup("/");
        for (size_t i = 0; i < n; i++) {
                strbuf_append_char(&sb, '/');
                strbuf_append(&sb, components[i]);
        }
        if (sb.oom)
                return NULL;
        return strbuf_steal(&sb);
}

/* The cgroup root is given in cgroupfs form and split into components, as the kubelet does
 * for both drivers: with systemd, "/custom" becomes the slice "custom.slice". Empty
 * components (doubled or trailing slashes) are dropped. */
static char *build_name(const char *root, const char *const *tail, size_t n_tail,
                        enum cgroup_driver d)
{
        _cleanup_free_ char *copy = strdup(root ? root : "");
        _cleanup_free_ char **parts = NULL;
        size_t n = 0, max;
        char *save = NULL;

        if (!copy)
                return NULL;
        max = strlen(copy) / 2 + 1 + n_tail;
        parts = calloc(max, sizeof(char *));
        if (!parts)
                return NULL;
        for (char *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save))
                parts[n++] = t;
        for (size_t i = 0; i < n_tail; i++)
                parts[n++] = (char *)tail[i];
        if (d == CGROUP_DRIVER_SYSTEMD)
                return cgroup_name_to_systemd(parts, n);
        return join_cgroupfs(parts, n);
}

char *cgroup_name_kubepods(const char *root, enum cgroup_driver d)
{
        const char *tail[] = { "kubepods" };
        return build_name(root, tail, ELEMENTSOF(tail), d);
}

static size_t tier_components(enum qos_class c, const char **tail)
{
        tail[0] = "kubepods";
        /* Guaranteed pods live directly under kubepods. */
        switch (c) {
        case QOS_BURSTABLE:
                tail[1] = "burstable";
                return 2;
        case QOS_BESTEFFORT:
                tail[1] = "besteffort";
                return 2;
        default:
                return 1;
        }
}

char *cgroup_name_tier(const char *root, enum qos_class c, enum cgroup_driver d)
{
        const char *tail[3];
        size_t n = tier_components(c, tail);
        return build_name(root, tail, n, d);
}

char *cgroup_name_pod(const char *root, enum qos_class c, const char *uid, enum cgroup_driver d)
{
        _cleanup_free_ char *pod = NULL;
        const char *tail[3];
        size_t n = tier_components(c, tail);

        if (asprintf(&pod, "pod%s", uid ? uid : "") < 0)
                return NULL;
        tail[n++] = pod;
        return build_name(root, tail, n, d);
}
