/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "basic/error.h"
#include "image/store.h"

/* The kubelet's reason for a failed pull; pull errors start with it. */
#define IMAGE_PULL_REASON "ErrImagePull"

struct registry_opts {
        /* docker-style config.json ({"auths": {"host": {"auth": base64(user:pass)}}}), or
         * NULL for none. A missing file means no credentials. */
        const char *auth_file;
        /* Registries ("host" or "host:port") reached over plain HTTP; all others over HTTPS
         * with the peer's certificate verified. NULL-terminated, or NULL. */
        char *const *insecure_registries;
        /* A CA bundle to verify registries with instead of the system's, or NULL. */
        const char *ca_file;
        /* Layer downloads at once; 0 picks 3. */
        unsigned max_parallel;
};

struct pull_stats {
        uint64_t bytes; /* blob bytes downloaded */
        unsigned blobs_fetched; /* config and layers fetched */
        unsigned blobs_present; /* already in the store */
        double seconds;
};

/* Pulls an image over the OCI distribution API into the store and names it by its full
 * reference: the manifest (from an index or docker manifest list, this host's linux
 * platform), the config and the layers, each checked against its digest; layers download in
 * parallel. Registries that ask for it get a bearer token (WWW-Authenticate realm, service,
 * scope) or basic credentials from the auth file. Errors begin with IMAGE_PULL_REASON and
 * carry the registry's own message; 401 and 403 give -EACCES, an unknown image -ENOENT. */
int image_pull(const struct image_store *s, const char *ref, const struct registry_opts *o,
               char **ret_full_ref, struct pull_stats *ret_stats, struct qerr **err);

/* A parsed WWW-Authenticate challenge: `Bearer realm="...",service="...",scope="..."`. */
struct auth_challenge {
        char *scheme; /* "Bearer", "Basic" */
        char *realm, *service, *scope;
};
int registry_parse_challenge(const char *header, struct auth_challenge *ret, struct qerr **err);
void auth_challenge_done(struct auth_challenge *c);

/* Looks up credentials for a registry domain in a docker-style config.json. Returns 1 and
 * sets user and password when found, 0 when not (or the file is missing). */
int registry_find_credentials(const char *auth_file, const char *domain, char **ret_user,
                              char **ret_password, struct qerr **err);

/* True when domain is in the list (also "localhost"-less exact host match only). */
bool registry_is_insecure(char *const *list, const char *domain);
