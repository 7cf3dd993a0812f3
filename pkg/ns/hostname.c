/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "ns/hostname.h"

int pod_hostname(const char *pod_name, const char *spec_hostname, char **ret, struct qerr **err)
{
        const char *src = spec_hostname && *spec_hostname ? spec_hostname : pod_name;
        if (!src)
                return qerr_set(err, EINVAL, "pod has no name");
        size_t n = strnlen(src, POD_HOSTNAME_MAX + 1);
        if (n > POD_HOSTNAME_MAX) {
                /* Only a name cut here loses its tail; a spec.hostname that long failed
                 * validation, but is cut the same way rather than handed to sethostname(). */
                n = POD_HOSTNAME_MAX;
                while (n > 0 && (src[n - 1] == '-' || src[n - 1] == '.'))
                        n--;
        }
        if (n == 0)
                return qerr_set(err, EINVAL, "hostname of pod '%s' is empty",
                                pod_name ? pod_name : "");
        char *h = strndup(src, n);
        if (!h)
                return qerr_set(err, ENOMEM, "copy hostname");
        *ret = h;
        return 0;
}
