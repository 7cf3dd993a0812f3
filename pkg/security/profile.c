/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <jansson.h>
#include <seccomp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "security/profile.h"

extern const char sec_default_profile_data[];
extern const size_t sec_default_profile_data_len;

const char *sec_default_profile_json(size_t *ret_len)
{
        if (ret_len)
                *ret_len = sec_default_profile_data_len;
        return sec_default_profile_data;
}

static void rule_done(struct sec_rule *r)
{
        strv_free(r->names);
        free(r->args);
        strv_free(r->includes_arches);
        strv_free(r->excludes_arches);
}

void sec_profile_free(struct sec_profile *p)
{
        for (size_t i = 0; i < p->n_rules; i++)
                rule_done(&p->rules[i]);
        free(p->rules);
        free(p->arches);
        free(p);
}

static const struct {
        const char *name;
        enum sec_action action;
} action_names[] = {
        { "SCMP_ACT_KILL", SEC_ACT_KILL_THREAD },
        { "SCMP_ACT_KILL_THREAD", SEC_ACT_KILL_THREAD },
        { "SCMP_ACT_KILL_PROCESS", SEC_ACT_KILL_PROCESS },
        { "SCMP_ACT_TRAP", SEC_ACT_TRAP },
        { "SCMP_ACT_ERRNO", SEC_ACT_ERRNO },
        { "SCMP_ACT_TRACE", SEC_ACT_TRACE },
        { "SCMP_ACT_ALLOW", SEC_ACT_ALLOW },
        { "SCMP_ACT_LOG", SEC_ACT_LOG },
};

static const struct {
        const char *name;
        int op;
} op_names[] = {
        { "SCMP_CMP_NE", SCMP_CMP_NE },
        { "SCMP_CMP_LT", SCMP_CMP_LT },
        { "SCMP_CMP_LE", SCMP_CMP_LE },
        { "SCMP_CMP_EQ", SCMP_CMP_EQ },
        { "SCMP_CMP_GE", SCMP_CMP_GE },
        { "SCMP_CMP_GT", SCMP_CMP_GT },
        { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
};

static int parse_action(const json_t *v, enum sec_action *ret, struct qerr **err)
{
        const char *s = json_string_value(v);
        for (size_t i = 0; s && i < ELEMENTSOF(action_names); i++)
                if (strcmp(s, action_names[i].name) == 0) {
                        *ret = action_names[i].action;
                        return 0;
                }
        return qerr_set(err, EINVAL, "unsupported seccomp action '%s'", s ? s : "(not a string)");
}

/* "SCMP_ARCH_X86_64" -> SCMP_ARCH_X86_64 through libseccomp's own names ("x86_64"). */
static uint32_t arch_token(const char *name)
{
        char buf[32];
        if (!name || strncmp(name, "SCMP_ARCH_", 10) != 0 || strlen(name + 10) >= sizeof(buf))
                return 0;
        size_t i = 0;
        for (const char *p = name + 10; *p; p++)
                buf[i++] = (char)tolower((unsigned char)*p);
        buf[i] = 0;
        return seccomp_arch_resolve_name(buf);
}

static int arches_add(struct sec_profile *p, uint32_t a)
{
        for (size_t i = 0; i < p->n_arches; i++)
                if (p->arches[i] == a)
                        return 0;
        uint32_t *l = realloc(p->arches, (p->n_arches + 1) * sizeof(*l));
        if (!l)
                return -ENOMEM;
        l[p->n_arches++] = a;
        p->arches = l;
        return 0;
}

/* Docker's archMap names sub-architectures per native one; OCI's "architectures" lists them.
 * The native architecture always comes first. */
static int parse_arches(const json_t *root, struct sec_profile *p, struct qerr **err)
{
        uint32_t native = seccomp_arch_native();
        if (arches_add(p, native) < 0)
                return qerr_set(err, ENOMEM, "parse seccomp profile");
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(root, "archMap"), i, e)
        {
                if (arch_token(json_string_value(json_object_get(e, "architecture"))) != native)
                        continue;
                size_t j;
                json_t *sub;
                json_array_foreach(json_object_get(e, "subArchitectures"), j, sub)
                {
                        uint32_t a = arch_token(json_string_value(sub));
                        if (a == 0)
                                return qerr_set(err, EINVAL, "unknown seccomp architecture '%s'",
                                                json_string_value(sub) ?: "");
                        if (arches_add(p, a) < 0)
                                return qerr_set(err, ENOMEM, "parse seccomp profile");
                }
        }
        json_array_foreach(json_object_get(root, "architectures"), i, e)
        {
                uint32_t a = arch_token(json_string_value(e));
                if (a == 0)
                        return qerr_set(err, EINVAL, "unknown seccomp architecture '%s'",
                                        json_string_value(e) ?: "");
                if (arches_add(p, a) < 0)
                        return qerr_set(err, ENOMEM, "parse seccomp profile");
        }
        return 0;
}

static int parse_strv(const json_t *v, char ***ret, struct qerr **err)
{
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_array(v))
                return qerr_set(err, EINVAL, "expected a list of strings");
        char **l = calloc(json_array_size(v) + 1, sizeof(char *));
        if (!l)
                return qerr_set(err, ENOMEM, "parse seccomp profile");
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
                if (!json_is_string(e) || !(l[i] = strdup(json_string_value(e)))) {
                        strv_free(l);
                        return qerr_set(err, EINVAL, "expected a list of strings");
                }
        }
        *ret = l;
        return 0;
}

static int parse_caps(const json_t *v, uint64_t *ret, struct qerr **err)
{
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
                int cap = sec_cap_from_name(json_string_value(e) ?: "");
                if (cap < 0)
                        return qerr_set(err, EINVAL, "unknown capability '%s'",
                                        json_string_value(e) ?: "");
                *ret |= UINT64_C(1) << cap;
        }
        return 0;
}

static int parse_kernel_version(const char *s, unsigned *major, unsigned *minor)
{
        return s && sscanf(s, "%u.%u", major, minor) == 2 ? 0 : -EINVAL;
}

static int parse_filter(const json_t *v, struct sec_rule *r, bool includes, struct qerr **err)
{
        if (!v || json_is_null(v))
                return 0;
        int q = parse_caps(json_object_get(v, "caps"),
                           includes ? &r->includes_caps : &r->excludes_caps, err);
        if (q < 0)
                return q;
        q = parse_strv(json_object_get(v, "arches"),
                       includes ? &r->includes_arches : &r->excludes_arches, err);
        if (q < 0)
                return q;
        const json_t *mk = json_object_get(v, "minKernel");
        if (includes && mk &&
            parse_kernel_version(json_string_value(mk), &r->min_kernel_major,
                                 &r->min_kernel_minor) < 0)
                return qerr_set(err, EINVAL, "bad minKernel");
        return 0;
}

static int parse_args(const json_t *v, struct sec_rule *r, struct qerr **err)
{
        size_t n = json_array_size(v);
        if (n == 0)
                return 0;
        if (n > 6 || !(r->args = calloc(n, sizeof(*r->args))))
                return qerr_set(err, n > 6 ? EINVAL : ENOMEM, "parse seccomp arguments");
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
                struct sec_arg *a = &r->args[i];
                json_int_t index = json_integer_value(json_object_get(e, "index"));
                const char *op = json_string_value(json_object_get(e, "op"));
                a->op = -1;
                for (size_t j = 0; op && j < ELEMENTSOF(op_names); j++)
                        if (strcmp(op, op_names[j].name) == 0)
                                a->op = op_names[j].op;
                if (index < 0 || index > 5 || a->op < 0)
                        return qerr_set(err, EINVAL, "bad seccomp argument rule");
                a->index = (unsigned)index;
                a->value = (uint64_t)json_integer_value(json_object_get(e, "value"));
                a->value_two = (uint64_t)json_integer_value(json_object_get(e, "valueTwo"));
        }
        r->n_args = n;
        return 0;
}

/* Older docker profiles name one syscall per rule with "name". */
static int parse_names(const json_t *v, struct sec_rule *r, struct qerr **err)
{
        const json_t *name = json_object_get(v, "name");
        if (!json_is_string(name))
                return parse_strv(json_object_get(v, "names"), &r->names, err);
        r->names = calloc(2, sizeof(char *));
        if (!r->names || !(r->names[0] = strdup(json_string_value(name))))
                return qerr_set(err, ENOMEM, "parse seccomp profile");
        return 0;
}

static int parse_rule(const json_t *v, struct sec_rule *r, struct qerr **err)
{
        *r = (struct sec_rule){ .errno_ret = -1 };
        int q = parse_names(v, r, err);
        if (q < 0 || (q = parse_action(json_object_get(v, "action"), &r->action, err)) < 0)
                return q;
        const json_t *e = json_object_get(v, "errnoRet");
        if (json_is_integer(e))
                r->errno_ret = (int)json_integer_value(e);
        if ((q = parse_args(json_object_get(v, "args"), r, err)) < 0 ||
            (q = parse_filter(json_object_get(v, "includes"), r, true, err)) < 0 ||
            (q = parse_filter(json_object_get(v, "excludes"), r, false, err)) < 0)
                return q;
        return 0;
}

static int parse_rules(const json_t *root, struct sec_profile *p, struct qerr **err)
{
        const json_t *l = json_object_get(root, "syscalls");
        size_t n = json_array_size(l);
        if (n == 0)
                return 0;
        p->rules = calloc(n, sizeof(*p->rules));
        if (!p->rules)
                return qerr_set(err, ENOMEM, "parse seccomp profile");
        size_t i;
        json_t *e;
        json_array_foreach(l, i, e)
        {
                int r = parse_rule(e, &p->rules[i], err);
                p->n_rules = i + 1;
                if (r < 0)
                        return qerr_wrap(err, "seccomp rule %zu", i + 1);
        }
        return 0;
}

int sec_profile_parse(const char *json, size_t len, struct sec_profile **ret, struct qerr **err)
{
        json_error_t je;
        json_auto_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
        if (!root)
                return qerr_set(err, EINVAL, "parse seccomp profile: line %d: %s", je.line,
                                je.text);
        if (!json_is_object(root))
                return qerr_set(err, EINVAL, "parse seccomp profile: not an object");
        _cleanup_sec_profile_ struct sec_profile *p = calloc(1, sizeof(*p));
        if (!p)
                return qerr_set(err, ENOMEM, "parse seccomp profile");
        p->default_errno = EPERM;
        int r = parse_action(json_object_get(root, "defaultAction"), &p->default_action, err);
        if (r < 0)
                return qerr_wrap(err, "defaultAction");
        const json_t *de = json_object_get(root, "defaultErrnoRet");
        if (de && json_is_integer(de))
                p->default_errno = (int)json_integer_value(de);
        if ((r = parse_arches(root, p, err)) < 0 || (r = parse_rules(root, p, err)) < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}

/* The Go name of the native architecture, which docker profiles use in includes and
 * excludes. */
static const char *native_go_arch(void)
{
        switch (seccomp_arch_native()) {
        case SCMP_ARCH_X86_64:
                return "amd64";
        case SCMP_ARCH_X86:
                return "386";
        case SCMP_ARCH_X32:
                return "x32";
        case SCMP_ARCH_AARCH64:
                return "arm64";
        case SCMP_ARCH_ARM:
                return "arm";
        case SCMP_ARCH_PPC64LE:
                return "ppc64le";
        case SCMP_ARCH_S390X:
                return "s390x";
        case SCMP_ARCH_RISCV64:
                return "riscv64";
        default:
                return "";
        }
}

static bool strv_contains(char *const *l, const char *s)
{
        for (size_t i = 0; l && l[i]; i++)
                if (strcmp(l[i], s) == 0)
                        return true;
        return false;
}

static bool kernel_at_least(unsigned major, unsigned minor)
{
        struct utsname u;
        unsigned ma, mi;
        if (uname(&u) < 0 || parse_kernel_version(u.release, &ma, &mi) < 0)
                return false;
        return ma > major || (ma == major && mi >= minor);
}

bool sec_rule_applies(const struct sec_rule *r, uint64_t caps)
{
        if ((caps & r->includes_caps) != r->includes_caps || (caps & r->excludes_caps) != 0)
                return false;
        const char *arch = native_go_arch();
        if (r->includes_arches && r->includes_arches[0] && !strv_contains(r->includes_arches, arch))
                return false;
        if (strv_contains(r->excludes_arches, arch))
                return false;
        if ((r->min_kernel_major || r->min_kernel_minor) &&
            !kernel_at_least(r->min_kernel_major, r->min_kernel_minor))
                return false;
        return true;
}

const struct sec_rule *sec_profile_unconditional(const struct sec_profile *p, const char *name,
                                                 uint64_t caps)
{
        for (size_t i = 0; i < p->n_rules; i++) {
                const struct sec_rule *r = &p->rules[i];
                if (r->n_args == 0 && strv_contains(r->names, name) && sec_rule_applies(r, caps))
                        return r;
        }
        return NULL;
}

static uint32_t scmp_action(enum sec_action a, int errno_ret)
{
        switch (a) {
        case SEC_ACT_KILL_THREAD:
                return SCMP_ACT_KILL_THREAD;
        case SEC_ACT_KILL_PROCESS:
                return SCMP_ACT_KILL_PROCESS;
        case SEC_ACT_TRAP:
                return SCMP_ACT_TRAP;
        case SEC_ACT_ERRNO:
                return SCMP_ACT_ERRNO((uint16_t)errno_ret);
        case SEC_ACT_TRACE:
                return SCMP_ACT_TRACE((uint16_t)errno_ret);
        case SEC_ACT_LOG:
                return SCMP_ACT_LOG;
        default:
                return SCMP_ACT_ALLOW;
        }
}

static inline void seccomp_releasep(scmp_filter_ctx *ctx)
{
        if (*ctx)
                seccomp_release(*ctx);
}

/* Conditions on distinct arguments must all hold (one rule). libseccomp refuses two conditions
 * on one argument in a rule, so those become one rule each, as runc does: any of them allows. */
static int add_rule(scmp_filter_ctx ctx, uint32_t act, int nr, const struct sec_rule *r)
{
        struct scmp_arg_cmp c[6];
        bool distinct = true;
        for (size_t i = 0; i < r->n_args; i++) {
                c[i] = (struct scmp_arg_cmp){ .arg = r->args[i].index,
                                              .op = (enum scmp_compare)r->args[i].op,
                                              .datum_a = r->args[i].value,
                                              .datum_b = r->args[i].value_two };
                for (size_t j = 0; j < i; j++)
                        if (c[j].arg == c[i].arg)
                                distinct = false;
        }
        if (distinct)
                return seccomp_rule_add_array(ctx, act, nr, (unsigned)r->n_args, c);
        for (size_t i = 0; i < r->n_args; i++) {
                int q = seccomp_rule_add_array(ctx, act, nr, 1, &c[i]);
                if (q < 0)
                        return q;
        }
        return 0;
}

static int add_rules(scmp_filter_ctx ctx, const struct sec_profile *p, uint32_t def, uint64_t caps,
                     struct qerr **err)
{
        for (size_t i = 0; i < p->n_rules; i++) {
                const struct sec_rule *r = &p->rules[i];
                uint32_t act = scmp_action(r->action, r->errno_ret >= 0 ? r->errno_ret : EPERM);
                /* libseccomp refuses a rule that repeats the default action. */
                if (act == def || !sec_rule_applies(r, caps))
                        continue;
                STRV_FOREACH (name, r->names) {
                        int nr = seccomp_syscall_resolve_name(*name);
                        if (nr == __NR_SCMP_ERROR)
                                continue; /* not a syscall this libseccomp knows */
                        int q = add_rule(ctx, act, nr, r);
                        if (q < 0)
                                return qerr_set_errno(err, -q, "add seccomp rule for '%s'", *name);
                }
        }
        return 0;
}

static int export_bpf(scmp_filter_ctx ctx, struct sec_filter **ret, struct qerr **err)
{
        _cleanup_close_ int fd = memfd_create("qoslet-seccomp", MFD_CLOEXEC);
        if (fd < 0)
                return qerr_set_errno(err, errno, "create memfd for seccomp filter");
        int r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return qerr_set_errno(err, -r, "generate seccomp filter");
        struct stat st;
        if (fstat(fd, &st) < 0)
                return qerr_set_errno(err, errno, "read seccomp filter");
        size_t size = (size_t)st.st_size, n = size / sizeof(struct sock_filter);
        if (n == 0 || size % sizeof(struct sock_filter) != 0 || n > BPF_MAXINSNS)
                return qerr_set(err, E2BIG, "seccomp filter has %zu instructions", n);
        _cleanup_sec_filter_ struct sec_filter *f = calloc(1, sizeof(*f));
        if (!f || !(f->insns = malloc(size)))
                return qerr_set(err, ENOMEM, "read seccomp filter");
        if (pread(fd, f->insns, size, 0) != (ssize_t)size)
                return qerr_set_errno(err, errno ?: EIO, "read seccomp filter");
        f->n = n;
        *ret = TAKE_PTR(f);
        return 0;
}

int sec_profile_compile(const struct sec_profile *p, uint64_t caps, struct sec_filter **ret,
                        struct qerr **err)
{
        uint32_t def = scmp_action(p->default_action, p->default_errno);
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = seccomp_init(def);
        if (!ctx)
                return qerr_set(err, EINVAL, "create seccomp filter");
        /* no_new_privs is the plan's decision (allowPrivilegeEscalation), not libseccomp's. */
        int r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
        if (r < 0)
                return qerr_set_errno(err, -r, "configure seccomp filter");
        for (size_t i = 1; i < p->n_arches; i++) {
                r = seccomp_arch_add(ctx, p->arches[i]);
                if (r < 0 && r != -EEXIST)
                        return qerr_set_errno(err, -r, "add seccomp architecture");
        }
        if ((r = add_rules(ctx, p, def, caps, err)) < 0)
                return r;
        return export_bpf(ctx, ret, err);
}
