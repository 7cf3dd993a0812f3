/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "basic/fileio.h"
#include "ns/paths.h"
#include "runtime/crilog.h"
#include "runtime/exitrec.h"

const char *exit_record_reason(const struct exit_record *r)
{
        if (r->oom_killed)
                return "OOMKilled";
        return r->exit_code == 0 ? "Completed" : "Error";
}

void exit_record_set_status(struct exit_record *r, int wait_status)
{
        if (WIFSIGNALED(wait_status)) {
                r->signal = WTERMSIG(wait_status);
                r->exit_code = 128 + r->signal;
        } else {
                r->signal = 0;
                r->exit_code = WEXITSTATUS(wait_status);
        }
}

char *exit_record_format(const struct exit_record *r)
{
        char started[CRI_TIMESTAMP_MAX], finished[CRI_TIMESTAMP_MAX];
        cri_timestamp(&r->started_at, started);
        cri_timestamp(&r->finished_at, finished);
        char *s = NULL;
        if (asprintf(&s,
                     "pid %d\nexit-code %d\nsignal %d\noom-killed %d\nreason %s\n"
                     "started-at %lld.%09ld %s\nfinished-at %lld.%09ld %s\n",
                     (int)r->pid, r->exit_code, r->signal, r->oom_killed ? 1 : 0,
                     exit_record_reason(r), (long long)r->started_at.tv_sec, r->started_at.tv_nsec,
                     started, (long long)r->finished_at.tv_sec, r->finished_at.tv_nsec,
                     finished) < 0)
                return NULL;
        return s;
}

static int parse_time(const char *v, struct timespec *ret)
{
        long long s;
        long ns;
        if (sscanf(v, "%lld.%9ld", &s, &ns) != 2 || ns < 0 || ns > 999999999)
                return -EINVAL;
        *ret = (struct timespec){ (time_t)s, ns };
        return 0;
}

int exit_record_parse(const char *text, struct exit_record *ret, struct qerr **err)
{
        struct exit_record r = { 0 };
        unsigned seen = 0;
        for (const char *p = text; *p;) {
                char key[32], val[128];
                int n = 0, oom = 0, pid = 0;
                if (sscanf(p, "%31s %127[^\n]%n", key, val, &n) != 2)
                        return qerr_set(err, EINVAL, "bad exit record line");
                p += n + (p[n] == '\n');
                int ok = 1;
                if (strcmp(key, "pid") == 0)
                        ok = sscanf(val, "%d", &pid) == 1, r.pid = pid, seen |= 1;
                else if (strcmp(key, "exit-code") == 0)
                        ok = sscanf(val, "%d", &r.exit_code) == 1, seen |= 2;
                else if (strcmp(key, "signal") == 0)
                        ok = sscanf(val, "%d", &r.signal) == 1;
                else if (strcmp(key, "oom-killed") == 0)
                        ok = sscanf(val, "%d", &oom) == 1, r.oom_killed = oom != 0;
                else if (strcmp(key, "started-at") == 0)
                        ok = parse_time(val, &r.started_at) == 0;
                else if (strcmp(key, "finished-at") == 0)
                        ok = parse_time(val, &r.finished_at) == 0, seen |= 4;
                if (!ok)
                        return qerr_set(err, EINVAL, "bad exit record value for '%s'", key);
        }
        if (seen != 7)
                return qerr_set(err, EINVAL, "exit record lacks pid, exit-code or finished-at");
        *ret = r;
        return 0;
}

static char *record_path(const char *dir, const char *name, unsigned attempt)
{
        char *p = NULL;
        if (asprintf(&p, "%s/%s.%u", dir, name, attempt) < 0)
                return NULL;
        return p;
}

int exit_record_write(const char *dir, const char *name, unsigned attempt,
                      const struct exit_record *r, struct qerr **err)
{
        _cleanup_free_ char *path = record_path(dir, name, attempt);
        _cleanup_free_ char *text = exit_record_format(r);
        if (!path || !text)
                return qerr_set(err, ENOMEM, "write exit record of '%s'", name);
        return write_file_atomic(path, text, strlen(text), 0600, err);
}

int exit_record_read(const char *dir, const char *name, unsigned attempt, struct exit_record *ret,
                     struct qerr **err)
{
        _cleanup_free_ char *path = record_path(dir, name, attempt);
        _cleanup_free_ char *text = NULL;
        if (!path)
                return qerr_set(err, ENOMEM, "read exit record of '%s'", name);
        int r = read_full_file(path, 4096, &text, NULL, err);
        if (r < 0)
                return r;
        r = exit_record_parse(text, ret, err);
        return r < 0 ? qerr_wrap(err, "read '%s'", path) : 0;
}
