/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>

#include "basic/log.h"
#include "qosctl.h"

static const struct {
        const char *name;
        int (*fn)(int argc, char **argv);
        const char *help;
} verbs[] = {
        { "plan", verb_plan, "show the QoS class and cgroup values each pod would get" },
        { "get", verb_get, "list the daemon's pods (qosctl get pods)" },
        { "images", verb_images, "list the images in the local store" },
        { "pull", verb_pull, "pull an image from its registry into the local store" },
        { "import", verb_import, "import an OCI archive or docker save tarball" },
        { "rmi", verb_rmi, "remove images from the local store" },
        { "gc", verb_gc, "remove the images, blobs and layers no pod uses" },
};

static void usage(FILE *f)
{
        fprintf(f, "usage: qosctl COMMAND [OPTIONS] ...\n\ncommands:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                fprintf(f, "  %-8s %s\n", verbs[i].name, verbs[i].help);
        fprintf(f, "\nRun 'qosctl COMMAND --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
        log_set_prefix("qosctl");
        if (argc < 2) {
                usage(stderr);
                return 2;
        }
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
                usage(stdout);
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (strcmp(argv[1], verbs[i].name) == 0)
                        return verbs[i].fn(argc - 1, argv + 1);
        log_error("unknown command '%s'", argv[1]);
        usage(stderr);
        return 2;
}
