/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "basic/error.h"

/* The longest hostname the kubelet gives a pod (a DNS-1123 label). */
#define POD_HOSTNAME_MAX 63

/* The sandbox hostname, as the kubelet's GeneratePodHostNameAndDomain makes it: spec_hostname
 * when set and not empty, else the pod name cut to 63 characters with trailing '-' and '.'
 * removed. -EINVAL when nothing is left. */
int pod_hostname(const char *pod_name, const char *spec_hostname, char **ret, struct qerr **err);
