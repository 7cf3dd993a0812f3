/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/strbuf.h"
#include "source/dir.h"

#define DEFAULT_CHECK_FREQUENCY (20 * UINT64_C(1000000))

#define TARGET_MASK                                                                              \
        (IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF | \
         IN_MOVE_SELF | IN_ONLYDIR)
/* The parent is watched for the target's own name: a directory that is replaced, created
 * late or removed, or the one file when the path is a file. */
#define PARENT_MASK                                                                              \
        (IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF | \
         IN_MOVE_SELF | IN_ONLYDIR)

struct dir_source {
        sd_event *event;
        char *path, *parent, *base;
        char *node_name;
        struct manifest_options mopts;
        uint64_t period;
        bool no_inotify;
        int ifd;
        int wd_target, wd_parent;
        sd_event_source *io, *timer;
        struct source_origin **origins;
        size_t n_origins;
        struct source_callbacks cb;
        void *userdata;
        bool missing_reported;
        struct dir_source_stats stats;
};

static void emit(struct dir_source *s, enum source_event_type t, const char *reason,
                 const char *origin, const char *message)
{
        struct source_event e = {
                .type = t, .reason = reason, .origin = origin, .message = message
        };
        if (s->cb.event)
                s->cb.event(&e, s->userdata);
}

static char *join(const char *dir, const char *name)
{
        char *p = NULL;
        size_t l = strlen(dir);
        /* the same spelling as manifest_list_dir(), so both name an origin alike */
        if (asprintf(&p, "%s%s%s", dir, l > 0 && dir[l - 1] == '/' ? "" : "/", name) < 0)
                return NULL;
        return p;
}

static ssize_t origin_index(const struct dir_source *s, const char *name)
{
        for (size_t i = 0; i < s->n_origins; i++)
                if (strcmp(s->origins[i]->name, name) == 0)
                        return (ssize_t)i;
        return -1;
}

/* Returns 1 when the removed origin had pods. */
static int origin_remove(struct dir_source *s, size_t i, const char *why)
{
        struct source_origin *o = s->origins[i];
        int changed = o->n_pods > 0;
        if (changed) {
                _cleanup_free_ char *m = NULL;
                if (asprintf(&m, "%s: stopping its %zu pod%s", why, o->n_pods,
                             o->n_pods == 1 ? "" : "s") >= 0)
                        emit(s, SOURCE_EVENT_NORMAL, "ManifestRemoved", o->name, m);
        }
        source_origin_free(o);
        memmove(&s->origins[i], &s->origins[i + 1], (s->n_origins - i - 1) * sizeof(*s->origins));
        s->n_origins--;
        return changed;
}

static struct source_origin *origin_get(struct dir_source *s, const char *name)
{
        ssize_t i = origin_index(s, name);
        if (i >= 0)
                return s->origins[i];
        struct source_origin **n = realloc(s->origins, (s->n_origins + 1) * sizeof(*n));
        if (!n)
                return NULL;
        s->origins = n;
        struct source_origin *o = calloc(1, sizeof(*o));
        if (!o || !(o->name = strdup(name))) {
                free(o);
                return NULL;
        }
        s->origins[s->n_origins++] = o;
        return o;
}

/* Reads one file again; a file that is gone (or no longer a regular file) drops its origin.
 * Returns 1 when the pods changed. */
static int reread(struct dir_source *s, const char *path)
{
        struct stat st;
        ssize_t i = origin_index(s, path);
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
                return i >= 0 ? origin_remove(s, (size_t)i, "the file was removed") : 0;
        struct source_origin *o = origin_get(s, path);
        if (!o)
                return -ENOMEM;
        _cleanup_free_ char *buf = NULL, *real = realpath(path, NULL);
        size_t len = 0;
        _cleanup_qerr_ struct qerr *e = NULL;
        /* A file gone between stat() and here is not an error: its delete event follows. */
        if (!real) {
                if (errno != ENOENT)
                        source_origin_fail(o, "resolve path: cannot resolve the file's path",
                                           &s->cb, s->userdata);
                return 0;
        }
        if (read_full_file(path, MANIFEST_MAX_SIZE, &buf, &len, &e) < 0) {
                if (e->code != ENOENT)
                        source_origin_fail(o, qerr_msg(e), &s->cb, s->userdata);
                return 0;
        }
        return source_origin_update(o, buf, len, real, "file", &s->mopts, &s->cb, s->userdata);
}

static int relist_dir(struct dir_source *s, bool *listed)
{
        _cleanup_strv_free_ char **files = NULL;
        _cleanup_qerr_ struct qerr *e = NULL;
        int changed = 0;
        if (manifest_list_dir(s->path, &files, &e) < 0) {
                emit(s, SOURCE_EVENT_WARNING, "ManifestPathUnreadable", s->path, qerr_msg(e));
                return 0;
        }
        *listed = true;
        STRV_FOREACH (f, files) {
                int r = reread(s, *f);
                if (r < 0)
                        return r;
                changed |= r;
        }
        /* origins whose file is no longer listed */
        for (size_t i = 0; i < s->n_origins;) {
                bool found = false;
                STRV_FOREACH (f, files)
                        if (strcmp(*f, s->origins[i]->name) == 0)
                                found = true;
                if (found)
                        i++;
                else
                        changed |= origin_remove(s, i, "the file is no longer in the directory");
        }
        return changed;
}

static int relist_path(struct dir_source *s)
{
        struct stat st;
        s->stats.relists++;
        bool listed = false;
        int changed = 0;
        if (stat(s->path, &st) == 0 && S_ISDIR(st.st_mode)) {
                changed = relist_dir(s, &listed);
                if (changed < 0)
                        return changed;
        } else if (stat(s->path, &st) == 0 && S_ISREG(st.st_mode)) {
                changed = reread(s, s->path);
                if (changed < 0)
                        return changed;
                listed = true;
                for (size_t i = 0; i < s->n_origins;)
                        if (strcmp(s->origins[i]->name, s->path) == 0)
                                i++;
                        else
                                changed |= origin_remove(s, i, "the path is a file now");
        } else if (!s->missing_reported) {
                /* The kubelet also reports an empty set for a missing path. */
                emit(s, SOURCE_EVENT_WARNING, "ManifestPathMissing", s->path,
                     "the manifest path does not exist (or is neither a directory nor a file)");
                s->missing_reported = true;
        }
        if (listed)
                s->missing_reported = false;
        else
                while (s->n_origins > 0)
                        changed |= origin_remove(s, s->n_origins - 1, "the manifest path is gone");
        return changed;
}

int dir_source_relist(struct dir_source *s)
{
        int r = relist_path(s);
        if (r > 0 && s->cb.changed)
                s->cb.changed(s->userdata);
        return r;
}

static void arm_timer(struct dir_source *s, bool on)
{
        if (!s->timer)
                return;
        if (on)
                (void)sd_event_source_set_time_relative(s->timer, s->period);
        (void)sd_event_source_set_enabled(s->timer, on ? SD_EVENT_ONESHOT : SD_EVENT_OFF);
}

/* (Re)creates the watches. The fallback timer runs while the parent cannot be watched. */
static void watch_setup(struct dir_source *s)
{
        if (s->ifd < 0) {
                arm_timer(s, true);
                return;
        }
        /* The same inode keeps its watch descriptor; a new directory at the path gets a new
         * one, and the old directory (moved away) must not report into ours any more. */
        int wd = inotify_add_watch(s->ifd, s->path, TARGET_MASK);
        if (s->wd_target >= 0 && s->wd_target != wd)
                (void)inotify_rm_watch(s->ifd, s->wd_target);
        s->wd_target = wd;
        if (s->wd_parent < 0)
                s->wd_parent = inotify_add_watch(s->ifd, s->parent, PARENT_MASK);
        if (s->wd_parent < 0)
                log_debug("watch '%s': %m, checking every %llu s", s->parent,
                          (unsigned long long)(s->period / 1000000));
        arm_timer(s, s->wd_parent < 0);
}

struct batch {
        bool relist, resetup;
        char **names; /* NULL-terminated full paths, without repeats */
        uint32_t *masks; /* the events seen for each name, or'ed */
        size_t n;
};

static void batch_done(struct batch *b)
{
        strv_free(b->names);
        free(b->masks);
}

static int batch_add(struct batch *b, char *path, uint32_t mask)
{
        for (size_t i = 0; i < b->n; i++)
                if (strcmp(b->names[i], path) == 0) {
                        b->masks[i] |= mask;
                        free(path);
                        return 0;
                }
        char **n = realloc(b->names, (b->n + 2) * sizeof(char *));
        uint32_t *m = n ? realloc(b->masks, (b->n + 1) * sizeof(uint32_t)) : NULL;
        if (n)
                b->names = n;
        if (!m) {
                free(path);
                return -ENOMEM;
        }
        b->masks = m;
        m[b->n] = mask;
        n[b->n++] = path;
        n[b->n] = NULL;
        return 0;
}

/* A file just created and still empty is being written: its IN_CLOSE_WRITE follows, so
 * reading it now would only warn about an empty manifest (every `cp` would). A file that is
 * created non-empty (a hard link) is read at once. */
static bool still_being_written(const char *path, uint32_t mask)
{
        struct stat st;
        if ((mask & (IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO)) != IN_CREATE)
                return false;
        return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0;
}

static int classify(struct dir_source *s, const struct inotify_event *ev, struct batch *b)
{
        s->stats.events++;
        if (ev->mask & IN_Q_OVERFLOW) {
                s->stats.overflows++;
                b->relist = true;
                return 0;
        }
        if (ev->wd == s->wd_parent) {
                if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
                        if (ev->mask & IN_IGNORED)
                                s->wd_parent = -1;
                        b->resetup = true;
                } else if (ev->len > 0 && strcmp(ev->name, s->base) == 0)
                        b->resetup = true;
                return 0;
        }
        if (ev->wd != s->wd_target)
                return 0; /* a watch we dropped */
        if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
                if (ev->mask & IN_IGNORED)
                        s->wd_target = -1;
                b->resetup = true;
                return 0;
        }
        if (ev->len == 0 || ev->name[0] == '.')
                return 0;
        char *p = join(s->path, ev->name);
        return p ? batch_add(b, p, ev->mask) : -ENOMEM;
}

static int read_events(struct dir_source *s, struct batch *b)
{
        _Alignas(struct inotify_event) char buf[16384];
        for (;;) {
                ssize_t n = read(s->ifd, buf, sizeof(buf));
                if (n < 0)
                        return errno == EAGAIN ? 0 : (errno == EINTR ? 0 : -errno);
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *ev = (const struct inotify_event *)p;
                        int r = classify(s, ev, b);
                        if (r < 0)
                                return r;
                        p += sizeof(*ev) + ev->len;
                }
        }
}

static int apply_batch(struct dir_source *s, struct batch *b)
{
        if (b->resetup)
                watch_setup(s);
        if (b->resetup || b->relist)
                return relist_path(s);
        int changed = 0;
        for (size_t i = 0; i < b->n; i++) {
                if (still_being_written(b->names[i], b->masks[i]))
                        continue;
                int r = reread(s, b->names[i]);
                if (r < 0)
                        return r;
                changed |= r;
        }
        return changed;
}

static int on_inotify(sd_event_source *es, int fd, uint32_t revents, void *userdata)
{
        struct dir_source *s = userdata;
        _cleanup_(batch_done) struct batch b = { 0 };
        int r = read_events(s, &b);
        if (r < 0) {
                log_debug("read inotify events of '%s': %s, listing again", s->path, strerror(-r));
                b.relist = true;
        }
        r = apply_batch(s, &b);
        if (r < 0)
                log_debug("read manifests of '%s': %s", s->path, strerror(-r));
        if (r > 0 && s->cb.changed)
                s->cb.changed(s->userdata);
        return 0;
}

static int on_timer(sd_event_source *es, uint64_t usec, void *userdata)
{
        struct dir_source *s = userdata;
        watch_setup(s);
        (void)dir_source_relist(s);
        /* watch_setup() left the timer off when the watches work now */
        return 0;
}

static int split_path(struct dir_source *s)
{
        _cleanup_free_ char *a = strdup(s->path), *b = strdup(s->path);
        if (!a || !b)
                return -ENOMEM;
        /* "manifests/" names the directory "manifests" */
        for (size_t l = strlen(a); l > 1 && a[l - 1] == '/'; l--)
                a[l - 1] = b[l - 1] = 0;
        s->parent = strdup(dirname(a));
        s->base = strdup(basename(b));
        return s->parent && s->base ? 0 : -ENOMEM;
}

static int setup_inotify(struct dir_source *s, struct qerr **err)
{
        if (!s->no_inotify)
                s->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (s->ifd < 0) {
                if (!s->no_inotify)
                        log_debug("inotify: %m, checking '%s' every %llu s", s->path,
                                  (unsigned long long)(s->period / 1000000));
        } else {
                int r = sd_event_add_io(s->event, &s->io, s->ifd, EPOLLIN, on_inotify, s);
                if (r < 0)
                        return qerr_set_errno(err, -r, "watch '%s'", s->path);
        }
        int r = sd_event_add_time_relative(s->event, &s->timer, CLOCK_MONOTONIC, s->period, 0,
                                           on_timer, s);
        if (r < 0)
                return qerr_set_errno(err, -r, "add check timer of '%s'", s->path);
        (void)sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
        return 0;
}

int dir_source_new(sd_event *event, const struct dir_source_options *o,
                   const struct source_callbacks *cb, void *userdata, struct dir_source **ret,
                   struct qerr **err)
{
        _cleanup_(dir_source_freep) struct dir_source *s = calloc(1, sizeof(*s));
        if (!s)
                return qerr_set(err, ENOMEM, "watch '%s'", o->path);
        *s = (struct dir_source){
                .event = sd_event_ref(event),
                .path = strdup(o->path),
                .node_name = o->manifest.node_name ? strdup(o->manifest.node_name) : NULL,
                .mopts = o->manifest,
                .period = o->check_frequency_usec ? o->check_frequency_usec
                                                  : DEFAULT_CHECK_FREQUENCY,
                .no_inotify = o->no_inotify,
                .ifd = -1,
                .wd_target = -1,
                .wd_parent = -1,
                .cb = cb ? *cb : (struct source_callbacks){ 0 },
                .userdata = userdata,
        };
        s->mopts.node_name = s->node_name;
        if (!s->path || (o->manifest.node_name && !s->node_name) || split_path(s) < 0)
                return qerr_set(err, ENOMEM, "watch '%s'", o->path);
        int r = setup_inotify(s, err);
        if (r < 0)
                return r;
        /* Watch first, then list: a change made between the two is seen twice rather than
         * never. */
        watch_setup(s);
        r = relist_path(s);
        if (r < 0)
                return qerr_set_errno(err, -r, "read '%s'", o->path);
        *ret = TAKE_PTR(s);
        return 0;
}

void dir_source_free(struct dir_source *s)
{
        if (!s)
                return;
        sd_event_source_disable_unref(s->io);
        sd_event_source_disable_unref(s->timer);
        if (s->ifd >= 0)
                (void)close(s->ifd);
        for (size_t i = 0; i < s->n_origins; i++)
                source_origin_free(s->origins[i]);
        free(s->origins);
        free(s->path);
        free(s->parent);
        free(s->base);
        free(s->node_name);
        sd_event_unref(s->event);
        free(s);
}

struct source_origin *const *dir_source_origins(const struct dir_source *s, size_t *ret_n)
{
        *ret_n = s->n_origins;
        return s->origins;
}

bool dir_source_watching(const struct dir_source *s)
{
        return s->ifd >= 0 && s->wd_parent >= 0;
}

struct dir_source_stats dir_source_get_stats(const struct dir_source *s)
{
        return s->stats;
}
