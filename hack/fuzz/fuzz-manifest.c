/* SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/manifest.h"
#include "qos/plan.h"

/* libFuzzer target: a manifest (YAML or JSON) through the decoder, then every pod it accepts
 * through the plan, as `qosctl plan` does. Everything is freed, so LeakSanitizer sees leaks. */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t hugepage_sizes[] = { 2ULL << 20, 1ULL << 30 };
static uint64_t hugepage_totals[] = { 0, 2ULL << 30 };

static void plan_all(const struct pod_list *l)
{
        struct node_info node = {
                .memory_capacity = 8ULL << 30,
                .cpu_capacity_milli = 4000,
                .pid_capacity = 4194304,
                .hugepage_sizes = hugepage_sizes,
                .hugepage_totals = hugepage_totals,
                .n_hugepage_sizes = 2,
                .cgroup_root = (char *)"/",
                .driver = CGROUP_DRIVER_SYSTEMD,
                .pod_pids_limit = 1024,
        };
        struct pod_plan *plans = calloc(l->n + 1, sizeof(*plans));
        size_t n = 0;
        if (!plans)
                return;
        for (size_t i = 0; i < l->n; i++) {
                _cleanup_qerr_ struct qerr *e = NULL;
                if (plan_pod(l->pods[i], &node, &plans[n], &e) == 0)
                        n++;
        }
        struct tiers_plan tiers = { 0 };
        _cleanup_qerr_ struct qerr *e = NULL;
        if (plan_tiers(plans, n, &node, &tiers, &e) == 0)
                tiers_plan_done(&tiers);
        for (size_t i = 0; i < n; i++)
                pod_plan_done(&plans[i]);
        free(plans);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const struct manifest_options opts = { .node_name = "Fuzz-Node", .strict = size % 2 };
        struct pod_list pods = { 0 };
        struct diag_list diags = { 0 };
        int r = manifest_decode((const char *)data, size, "fuzz.yaml", "/fuzz/fuzz.yaml", &opts,
                                &pods, &diags);
        if (r == 0 && diag_count(&diags, DIAG_ERROR) != 0)
                abort(); /* an accepted manifest has no errors */
        if (r < 0 && diag_count(&diags, DIAG_ERROR) == 0)
                abort(); /* a refused one says why */
        for (size_t i = 0; i < diags.n; i++)
                free(diag_format(&diags.items[i]));
        if (r == 0)
                plan_all(&pods);
        pod_list_done(&pods);
        diag_list_done(&diags);
        return 0;
}
