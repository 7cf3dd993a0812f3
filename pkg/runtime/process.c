/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "basic/strbuf.h"
#include "runtime/process.h"

size_t strv_length(char *const *l)
{
        size_t n = 0;
        while (l && l[n])
                n++;
        return n;
}

/* One '$' at in[0]: appends its expansion and returns how many bytes it consumed. */
static size_t expand_one(struct strbuf *sb, const char *in, var_lookup_fn lookup, void *userdata)
{
        if (in[1] == '$') {
                strbuf_append_char(sb, '$');
                return 2;
        }
        if (in[1] != '(') {
                strbuf_append_char(sb, '$');
                return 1;
        }
        const char *close = strchr(in + 2, ')');
        if (!close) {
                /* An unclosed reference is kept, and scanning goes on after the '(' */
                strbuf_append(sb, "$(");
                return 2;
        }
        size_t len = (size_t)(close - (in + 2));
        const char *v = lookup(in + 2, len, userdata);
        if (v)
                strbuf_append(sb, v);
        else
                strbuf_append_n(sb, in, len + 3);
        return len + 3;
}

char *expand_var_refs(const char *in, var_lookup_fn lookup, void *userdata)
{
        _cleanup_strbuf_ struct strbuf sb = { 0 };
        strbuf_append(&sb, "");
        while (*in) {
                const char *d = strchr(in, '$');
                if (!d || d[1] == 0) {
                        strbuf_append(&sb, in);
                        break;
                }
                strbuf_append_n(&sb, in, (size_t)(d - in));
                in = d + expand_one(&sb, d, lookup, userdata);
        }
        return sb.oom ? NULL : strbuf_steal(&sb);
}

const char *strv_env_lookup(char *const *env, const char *name, size_t len)
{
        const char *found = NULL;
        for (size_t i = 0; env && env[i]; i++)
                if (strncmp(env[i], name, len) == 0 && env[i][len] == '=')
                        found = env[i] + len + 1;
        return found;
}

static const char *env_lookup_cb(const char *name, size_t len, void *userdata)
{
        return strv_env_lookup(userdata, name, len);
}

/* Appends copies of l (expanded against env when env is not NULL) to the strv at *v. */
static int strv_extend(char ***v, size_t *n, char *const *l, char *const *env)
{
        size_t add = strv_length(l);
        char **nv = realloc(*v, (*n + add + 1) * sizeof(char *));
        if (!nv)
                return -ENOMEM;
        *v = nv;
        for (size_t i = 0; i < add; i++) {
                char *s = env ? expand_var_refs(l[i], env_lookup_cb, (void *)env) : strdup(l[i]);
                if (!s) {
                        nv[*n] = NULL;
                        return -ENOMEM;
                }
                nv[(*n)++] = s;
        }
        nv[*n] = NULL;
        return 0;
}

int container_command_line(const struct image_process *img, char *const *command, char *const *args,
                           char *const *env, char ***ret, struct qerr **err)
{
        static const struct image_process none = { 0 };
        if (!img)
                img = &none;
        /* The image's own words are not expanded: only the pod's command and args are. */
        _cleanup_strv_free_ char **v = calloc(1, sizeof(char *));
        size_t n = 0;
        int r = v ? 0 : -ENOMEM;
        if (r == 0 && command)
                r = strv_extend(&v, &n, command, env ? env : (char *const[]){ NULL });
        else if (r == 0)
                r = strv_extend(&v, &n, img->entrypoint, NULL);
        if (r == 0 && args)
                r = strv_extend(&v, &n, args, env ? env : (char *const[]){ NULL });
        else if (r == 0 && !command)
                r = strv_extend(&v, &n, img->cmd, NULL);
        if (r < 0)
                return qerr_set(err, -r, "build command line");
        if (n == 0)
                return qerr_set(err, EINVAL,
                                "no command: the container sets none and its image has no "
                                "entrypoint or cmd");
        *ret = TAKE_PTR(v);
        return 0;
}
