/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "basic/strbuf.h"
#include "ns/etcfiles.h"
#include "ns/paths.h"

static void append_aliases(struct strbuf *sb, const struct host_alias *aliases, size_t n)
{
        if (n == 0)
                return;
        strbuf_append(sb, "\n# Entries added by HostAliases.\n");
        for (size_t i = 0; i < n; i++) {
                strbuf_append(sb, aliases[i].ip);
                STRV_FOREACH (h, aliases[i].hostnames) {
                        strbuf_append_char(sb, '\t');
                        strbuf_append(sb, *h);
                }
                strbuf_append_char(sb, '\n');
        }
}

char *hosts_file_content(const char *ip, const char *hostname, const struct host_alias *aliases,
                         size_t n_aliases)
{
        _cleanup_strbuf_ struct strbuf sb = { 0 };
        strbuf_append(&sb, "# Kubernetes-managed hosts file.\n"
                           "127.0.0.1\tlocalhost\n"
                           "::1\tlocalhost ip6-localhost ip6-loopback\n"
                           "fe00::0\tip6-localnet\n"
                           "fe00::0\tip6-mcastprefix\n"
                           "fe00::1\tip6-allnodes\n"
                           "fe00::2\tip6-allrouters\n");
        strbuf_printf(&sb, "%s\t%s\n", ip, hostname);
        append_aliases(&sb, aliases, n_aliases);
        return sb.oom ? NULL : strbuf_steal(&sb);
}

char *host_network_hosts_content(const char *node_hosts, const struct host_alias *aliases,
                                 size_t n_aliases)
{
        _cleanup_strbuf_ struct strbuf sb = { 0 };
        strbuf_append(&sb, node_hosts);
        if (sb.len > 0 && sb.buf[sb.len - 1] != '\n')
                strbuf_append_char(&sb, '\n');
        append_aliases(&sb, aliases, n_aliases);
        if (sb.len == 0)
                return strdup("");
        return sb.oom ? NULL : strbuf_steal(&sb);
}

int pod_etc_files_write(const char *dir, const struct pod_etc_files *f, struct qerr **err)
{
        _cleanup_free_ char *hosts = path_join(dir, "hosts");
        _cleanup_free_ char *hostname = path_join(dir, "hostname");
        _cleanup_free_ char *resolv = path_join(dir, "resolv.conf");
        _cleanup_free_ char *hn = NULL;
        if (!hosts || !hostname || !resolv || asprintf(&hn, "%s\n", f->hostname) < 0)
                return qerr_set(err, ENOMEM, "write files of '%s'", dir);
        int r = write_file_atomic(hosts, f->hosts, strlen(f->hosts), 0644, err);
        if (r >= 0)
                r = write_file_atomic(hostname, hn, strlen(hn), 0644, err);
        if (r >= 0 && f->resolv_conf_source)
                r = copy_small_file(f->resolv_conf_source, resolv, 0644, err);
        else if (r >= 0)
                r = write_file_atomic(resolv, "", 0, 0644, err);
        return r;
}
