/* ss_cfg: see ss_cfg.h. Loading collects (key, value, origin) settings from the command line,
 * the files and the environment into three lists, then applies them once in the order
 * defaults < file < env < cli, so the last source wins on purpose (redis server.c main).
 * Depends on ss_err, ss_log and (for -X list only) librdkafka. */
#include "ss_cfg.h"

#include <ctype.h>
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ss_log.h"

#define MASK "********"

enum src { SRC_DEFAULT, SRC_FILE, SRC_ENV, SRC_CLI, SRC_SET };
static const char *const src_names[] = {"default", "file", "env", "cli", "set"};

/* Keys every executable has; appended after the service's own table. */
static const ss_cfg_def_t builtin_defs[] = {
    {"log.level", SS_CFG_STR, "info", 0, 0,
     "log verbosity (SS_LOG_LEVEL is read too, with lower priority)", 0,
     "err|warning|notice|info|debug"},
    {"log.format", SS_CFG_STR, "text", 0, 0,
     "log line format (SS_LOG_FORMAT is read too, with lower priority)", 0, "text|json"},
};
#define N_BUILTIN (sizeof(builtin_defs) / sizeof(builtin_defs[0]))

/* Long options that are not keys; a key may not use these names. */
static const char *const reserved_opts[] = {"help", "dump-config", "config-markdown", "config"};

typedef struct cfg_key {
    const ss_cfg_def_t *def;
    char *env;         /* SS_<SERVICE>_<KEY> */
    char *text;        /* effective value as text; NULL = unset */
    int64_t i;         /* parsed, for SS_CFG_INT */
    double d;          /* parsed, for SS_CFG_DOUBLE */
    int b;             /* parsed, for SS_CFG_BOOL */
    int src;           /* enum src of the effective value */
    char *origin;      /* "conf:3", "SS_FEATURES_REDIS_PORT", "--redis.port"; NULL for default */
    char *secret_file; /* path a secret was read from (`@file`), for the dump; else NULL */
} cfg_key_t;

typedef struct setting {
    long key;     /* index into cfg->keys; -1 for a librdkafka pass-through pair */
    char *name;   /* librdkafka property name (key == -1), else NULL */
    char *value;  /* as given (before `@file` resolution) */
    char *origin; /* see cfg_key_t.origin */
    int src;      /* enum src */
} setting_t;

typedef struct setlist {
    setting_t *v;
    size_t n, cap;
} setlist_t;

struct ss_cfg {
    char *service;          /* "features" */
    char *summary;          /* one line for --help and docs; may be empty */
    char *prog;             /* basename of argv[0], or "streamscore-<service>" */
    const char *usage_args; /* borrowed literal, may be NULL */
    cfg_key_t *keys;
    size_t nkeys;
    setlist_t kafka; /* applied pass-through pairs, in order (value already resolved) */
    const char **args;
    int nargs;
};

/* ---------------------------------------------------------------- small helpers */

static char *trim(char *s) {
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static void setlist_push(setlist_t *l, long key, const char *name, const char *value,
                         const char *origin, int src) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->v = ss_xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    setting_t *st = &l->v[l->n++];
    st->key = key;
    st->name = name ? ss_xstrdup(name) : NULL;
    st->value = ss_xstrdup(value);
    st->origin = origin ? ss_xstrdup(origin) : NULL;
    st->src = src;
}

static void setlist_release(setlist_t *l) {
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].value);
        free(l->v[i].origin);
    }
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

/* Upper-cases s into a new string with '.' and '-' as '_'. */
static char *env_part(const char *s) {
    char *r = ss_xstrdup(s);
    for (char *p = r; *p; p++) {
        if (*p == '.' || *p == '-')
            *p = '_';
        else
            *p = (char)toupper((unsigned char)*p);
    }
    return r;
}

static char *make_env_name(const char *service, const char *key) {
    char *sv = env_part(service), *k = env_part(key);
    size_t n = strlen(sv) + strlen(k) + 5;
    char *r = ss_xmalloc(n);
    snprintf(r, n, "SS_%s_%s", sv, k);
    free(sv);
    free(k);
    return r;
}

static long find_keyn(const ss_cfg_t *cfg, const char *name, size_t len) {
    for (size_t i = 0; i < cfg->nkeys; i++) {
        const char *kn = cfg->keys[i].def->name;
        if (strlen(kn) == len && strncmp(kn, name, len) == 0)
            return (long)i;
    }
    return -1;
}

static long find_key(const ss_cfg_t *cfg, const char *name) {
    return find_keyn(cfg, name, strlen(name));
}

static const cfg_key_t *must_key(const ss_cfg_t *cfg, const char *name) {
    long i = find_key(cfg, name);
    if (i < 0)
        SS_BUG("config key '%s' is not declared", name);
    return &cfg->keys[i];
}

static const char *type_name(const ss_cfg_def_t *def) {
    switch (def->type) {
    case SS_CFG_STR:
        return def->choices ? "enum" : "string";
    case SS_CFG_INT:
        return "int";
    case SS_CFG_DOUBLE:
        return "double";
    case SS_CFG_BOOL:
        return "bool";
    }
    return "?";
}

static int bounded(const ss_cfg_def_t *def) {
    return (def->type == SS_CFG_INT || def->type == SS_CFG_DOUBLE) &&
           !(def->min == 0 && def->max == 0);
}

/* Formats "[min, max]" for messages and docs; integers without a fraction. */
static void range_text(const ss_cfg_def_t *def, char *buf, size_t cap) {
    if (def->type == SS_CFG_INT)
        snprintf(buf, cap, "[%.0f, %.0f]", def->min, def->max);
    else
        snprintf(buf, cap, "[%g, %g]", def->min, def->max);
}

/* 1 and *b set when s is a boolean word, else 0. */
static int parse_bool(const char *s, int *b) {
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *b = 1;
            return 1;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *b = 0;
            return 1;
        }
    }
    return 0;
}

/* Returns the canonical choice (pointer into choices, length in *len) matching s, or NULL. */
static const char *match_choice(const char *choices, const char *s, size_t *len) {
    size_t sl = strlen(s);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == sl && strncasecmp(p, s, n) == 0) {
            *len = n;
            return p;
        }
        p += n + (bar ? 1 : 0);
    }
    return NULL;
}

typedef struct parsed {
    char *text; /* canonical text (returns new) */
    int64_t i;
    double d;
    int b;
} parsed_t;

/* Validates text for def. Messages never show a secret's value. `where` prefixes the message
 * ("conf:3: "), may be "". */
static int parse_value(const ss_cfg_def_t *def, const char *text, const char *where, parsed_t *out,
                       ss_err_t *err) {
    const char *shown = (def->flags & SS_CFG_SECRET) ? MASK : text;
    memset(out, 0, sizeof(*out));
    const char *why = NULL;
    int out_of_range = 0;
    switch (def->type) {
    case SS_CFG_STR:
        if (def->choices) {
            size_t n;
            const char *c = match_choice(def->choices, text, &n);
            if (!c)
                return ss_err_set(err, SS_ERR_INVAL,
                                  "%sinvalid value '%s' for '%s': expected one of %s", where, shown,
                                  def->name, def->choices);
            out->text = ss_xstrndup(c, n);
            return 0;
        }
        break;
    case SS_CFG_INT: {
        char *end;
        errno = 0;
        long long v = strtoll(text, &end, 10);
        if (end == text || *end || isspace((unsigned char)text[0]))
            why = "not an integer";
        else if (errno == ERANGE)
            why = "not a 64-bit integer";
        else if (bounded(def) && ((double)v < def->min || (double)v > def->max))
            out_of_range = 1;
        out->i = v;
        break;
    }
    case SS_CFG_DOUBLE: {
        char *end;
        errno = 0;
        double v = strtod(text, &end);
        if (end == text || *end || isspace((unsigned char)text[0]))
            why = "not a number";
        else if (!isfinite(v) || errno == ERANGE)
            why = "not a finite number";
        else if (bounded(def) && (v < def->min || v > def->max))
            out_of_range = 1;
        out->d = v;
        break;
    }
    case SS_CFG_BOOL:
        if (!parse_bool(text, &out->b))
            why = "not a boolean (true/false/1/0/yes/no/on/off)";
        break;
    }
    if (why)
        return ss_err_set(err, SS_ERR_INVAL, "%sinvalid value '%s' for '%s': %s", where, shown,
                          def->name, why);
    if (out_of_range) {
        char r[96];
        range_text(def, r, sizeof(r));
        return ss_err_set(err, SS_ERR_INVAL, "%svalue %s for '%s' out of range %s", where, shown,
                          def->name, r);
    }
    out->text = ss_xstrdup(text);
    return 0;
}

/* Reads the first line of path (trailing CR/LF trimmed) into *out (returns new). */
static int read_secret(const char *path, const char *what, const char *where, char **out,
                       ss_err_t *err) {
    FILE *f = fopen(path, "r");
    if (!f) {
        int e = errno;
        return ss_err_set_errno(err, SS_ERR_IO, e, "%scannot read secret file '%s' for '%s'", where,
                                path, what);
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    int e = errno;
    int bad = n < 0 && ferror(f);
    fclose(f);
    if (bad) {
        free(line);
        return ss_err_set_errno(err, SS_ERR_IO, e, "%scannot read secret file '%s' for '%s'", where,
                                path, what);
    }
    if (n < 0) { /* empty file: empty secret */
        free(line);
        *out = ss_xstrdup("");
        return 0;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    *out = line;
    return 0;
}

/* Resolves the `@file` / `@@literal` convention. *value is replaced by a string the caller frees
 * via *owned (NULL when value is used as is); *file gets the secret's path (borrowed from value)
 * or NULL. */
static int resolve_secret(const char **value, const char *what, const char *where, char **owned,
                          const char **file, ss_err_t *err) {
    const char *v = *value;
    *owned = NULL;
    *file = NULL;
    if (v[0] != '@')
        return 0;
    if (v[1] == '@') {
        *value = v + 1;
        return 0;
    }
    int rc = read_secret(v + 1, what, where, owned, err);
    if (rc)
        return rc;
    *file = v + 1;
    *value = *owned;
    return 0;
}

/* Formats the message prefix for a setting's errors: "path:line: ", "environment X: " or "". */
static void where_text(int src, const char *origin, char *buf, size_t cap) {
    if (src == SRC_FILE && origin)
        snprintf(buf, cap, "%s: ", origin);
    else if (src == SRC_ENV && origin)
        snprintf(buf, cap, "environment %s: ", origin);
    else
        buf[0] = '\0';
}

static int set_key(ss_cfg_t *cfg, size_t idx, const char *value, int src, const char *origin,
                   ss_err_t *err) {
    cfg_key_t *k = &cfg->keys[idx];
    char where[512];
    where_text(src, origin, where, sizeof(where));
    char *owned = NULL;
    const char *file = NULL;
    if (k->def->flags & SS_CFG_SECRET) {
        int rc = resolve_secret(&value, k->def->name, where, &owned, &file, err);
        if (rc)
            return rc;
    }
    parsed_t p;
    int rc = parse_value(k->def, value, where, &p, err);
    if (rc == 0) {
        free(k->text);
        free(k->origin);
        free(k->secret_file);
        k->text = p.text;
        k->i = p.i;
        k->d = p.d;
        k->b = p.b;
        k->src = src;
        k->origin = origin ? ss_xstrdup(origin) : NULL;
        k->secret_file = file ? ss_xstrdup(file) : NULL;
    }
    free(owned);
    return rc;
}

/* ---------------------------------------------------------------- new / destroy */

static void check_def(const ss_cfg_def_t *d) {
    if (!d->name || !*d->name)
        SS_BUG("config table entry without a name");
    for (const char *p = d->name; *p; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '.' || *p == '-' ||
              *p == '_'))
            SS_BUG("config key '%s': use lowercase letters, digits, '.', '-', '_'", d->name);
    if (strncmp(d->name, "kafka.", 6) == 0)
        SS_BUG("config key '%s': the kafka. prefix is reserved for librdkafka", d->name);
    for (size_t i = 0; i < sizeof(reserved_opts) / sizeof(reserved_opts[0]); i++)
        if (strcmp(d->name, reserved_opts[i]) == 0)
            SS_BUG("config key '%s' clashes with a built-in option", d->name);
    if (d->choices && d->type != SS_CFG_STR)
        SS_BUG("config key '%s': choices need SS_CFG_STR", d->name);
    if (bounded(d) && d->min > d->max)
        SS_BUG("config key '%s': min > max", d->name);
}

ss_cfg_t *ss_cfg_new(const char *service, const char *summary, const ss_cfg_def_t *defs, size_t n) {
    SS_ASSERT(service && *service);
    ss_cfg_t *cfg = ss_xcalloc(1, sizeof(*cfg));
    cfg->service = ss_xstrdup(service);
    cfg->summary = ss_xstrdup(summary ? summary : "");
    size_t pn = strlen(service) + 13;
    cfg->prog = ss_xmalloc(pn);
    snprintf(cfg->prog, pn, "streamscore-%s", service);
    cfg->nkeys = n + N_BUILTIN;
    cfg->keys = ss_xcalloc(cfg->nkeys, sizeof(*cfg->keys));
    for (size_t i = 0; i < cfg->nkeys; i++) {
        cfg_key_t *k = &cfg->keys[i];
        k->def = i < n ? &defs[i] : &builtin_defs[i - n];
        check_def(k->def);
        k->env = make_env_name(service, k->def->name);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(cfg->keys[j].def->name, k->def->name) == 0)
                SS_BUG("config key '%s' declared twice", k->def->name);
            if (strcmp(cfg->keys[j].env, k->env) == 0)
                SS_BUG("config keys '%s' and '%s' share the variable %s", cfg->keys[j].def->name,
                       k->def->name, k->env);
        }
        k->src = SRC_DEFAULT;
        if (k->def->def) {
            ss_err_t err = SS_ERR_INIT;
            parsed_t p;
            if (parse_value(k->def, k->def->def, "", &p, &err) != 0)
                SS_BUG("bad default for config key: %s", err.msg);
            k->text = p.text;
            k->i = p.i;
            k->d = p.d;
            k->b = p.b;
        }
    }
    return cfg;
}

void ss_cfg_destroy(ss_cfg_t *cfg) {
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->nkeys; i++) {
        free(cfg->keys[i].env);
        free(cfg->keys[i].text);
        free(cfg->keys[i].origin);
        free(cfg->keys[i].secret_file);
    }
    free(cfg->keys);
    setlist_release(&cfg->kafka);
    free(cfg->args);
    free(cfg->service);
    free(cfg->summary);
    free(cfg->prog);
    free(cfg);
}

void ss_cfg_set_usage(ss_cfg_t *cfg, const char *args) { cfg->usage_args = args; }

/* ---------------------------------------------------------------- sources */

static int read_file(const ss_cfg_t *cfg, const char *path, setlist_t *out, ss_err_t *err) {
    FILE *f = fopen(path, "r");
    if (!f) {
        int e = errno;
        return ss_err_set_errno(err, SS_ERR_IO, e, "cannot open config file '%s'", path);
    }
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, rc = 0;
    char origin[512];
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        char *s = line;
        if (lineno == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0) /* UTF-8 BOM from editors */
            s += 3;
        s = trim(s);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = ss_err_set(err, SS_ERR_INVAL, "%s:%d: expected key=value", path, lineno);
            break;
        }
        *eq = '\0';
        char *k = trim(s), *v = trim(eq + 1);
        snprintf(origin, sizeof(origin), "%s:%d", path, lineno);
        if (!*k) {
            rc = ss_err_set(err, SS_ERR_INVAL, "%s:%d: expected key=value", path, lineno);
            break;
        }
        if (strncmp(k, "kafka.", 6) == 0) {
            if (!k[6]) {
                rc = ss_err_set(err, SS_ERR_INVAL, "%s:%d: expected kafka.<name>=value", path,
                                lineno);
                break;
            }
            setlist_push(out, -1, k + 6, v, origin, SRC_FILE);
            continue;
        }
        long idx = find_key(cfg, k);
        if (idx < 0) {
            rc = ss_err_set(err, SS_ERR_INVAL, "%s:%d: unknown key '%s'", path, lineno, k);
            break;
        }
        setlist_push(out, idx, NULL, v, origin, SRC_FILE);
    }
    if (rc == 0 && ferror(f)) {
        int e = errno;
        rc = ss_err_set_errno(err, SS_ERR_IO, e, "cannot read config file '%s'", path);
    }
    free(line);
    fclose(f);
    return rc;
}

static void read_env(const ss_cfg_t *cfg, setlist_t *out) {
    /* The generic variables first, so the service's own variable wins. */
    static const char *const generic[][2] = {{"SS_LOG_LEVEL", "log.level"},
                                             {"SS_LOG_FORMAT", "log.format"}};
    for (size_t i = 0; i < 2; i++) {
        const char *v = getenv(generic[i][0]);
        if (v && *v)
            setlist_push(out, find_key(cfg, generic[i][1]), NULL, v, generic[i][0], SRC_ENV);
    }
    for (size_t i = 0; i < cfg->nkeys; i++) {
        const char *v = getenv(cfg->keys[i].env);
        if (v && *v)
            setlist_push(out, (long)i, NULL, v, cfg->keys[i].env, SRC_ENV);
    }
}

typedef struct cli {
    setlist_t set;      /* --key and -X settings in order */
    const char **files; /* -c FILE, in order (borrowed from argv) */
    size_t nfiles;
    int help, xlist, dump, markdown;
    ss_err_t err; /* first error; reported only if no help-like option wins */
} cli_t;

static void cli_error(cli_t *c, const char *fmt, const char *arg) {
    if (c->err.code == 0)
        ss_err_set(&c->err, SS_ERR_INVAL, fmt, arg);
}

static void cli_add_x(cli_t *c, const char *v) {
    if (strcmp(v, "list") == 0) {
        c->xlist = 1;
        return;
    }
    const char *eq = strchr(v, '=');
    if (!eq || eq == v) {
        cli_error(c, "expected name=value after -X, got '%s'", v);
        return;
    }
    char *name = ss_xstrndup(v, (size_t)(eq - v));
    setlist_push(&c->set, -1, name, eq + 1, "-X", SRC_CLI);
    free(name);
}

/* Parses argv into c and the positional list of cfg. Never stops early: --help must win even
 * after a bad option. */
static void parse_argv(ss_cfg_t *cfg, int argc, char **argv, cli_t *c) {
    int only_pos = 0;
    free(cfg->args); /* a second load starts over */
    cfg->nargs = 0;
    setlist_release(&cfg->kafka);
    cfg->args = ss_xcalloc((size_t)(argc > 0 ? argc : 1), sizeof(*cfg->args));
    c->files = ss_xcalloc((size_t)(argc > 0 ? argc : 1), sizeof(*c->files));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == '\0') {
            cfg->args[cfg->nargs++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (a[1] != '-') {
            if (a[1] == 'h' && !a[2]) {
                c->help = 1;
            } else if (a[1] == 'c' || a[1] == 'X') {
                const char *v = a[2] ? a + 2 : i + 1 < argc ? argv[++i] : NULL;
                if (!v)
                    cli_error(c, "option '%s' needs a value", a);
                else if (a[1] == 'c')
                    c->files[c->nfiles++] = v;
                else
                    cli_add_x(c, v);
            } else {
                cli_error(c, "unknown option '%s'", a);
            }
            continue;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        char opt[256];
        snprintf(opt, sizeof(opt), "--%.*s", (int)(nlen < 200 ? nlen : 200), name);
        if (!eq && strcmp(name, "help") == 0) {
            c->help = 1;
            continue;
        }
        if (!eq && strcmp(name, "dump-config") == 0) {
            c->dump = 1;
            continue;
        }
        if (!eq && strcmp(name, "config-markdown") == 0) {
            c->markdown = 1;
            continue;
        }
        if (nlen == 6 && strncmp(name, "config", 6) == 0) {
            const char *v = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
            if (!v)
                cli_error(c, "option '%s' needs a value", opt);
            else
                c->files[c->nfiles++] = v;
            continue;
        }
        long idx = find_keyn(cfg, name, nlen);
        if (idx < 0) {
            cli_error(c, "unknown option '%s'", opt);
            continue;
        }
        const char *v;
        int b;
        if (eq)
            v = eq + 1;
        else if (cfg->keys[idx].def->type == SS_CFG_BOOL)
            v = i + 1 < argc && parse_bool(argv[i + 1], &b) ? argv[++i] : "true";
        else if (i + 1 < argc)
            v = argv[++i];
        else {
            cli_error(c, "option '%s' needs a value", opt);
            continue;
        }
        setlist_push(&c->set, idx, NULL, v, opt, SRC_CLI);
    }
}

static int apply(ss_cfg_t *cfg, const setlist_t *l, ss_err_t *err) {
    for (size_t i = 0; i < l->n; i++) {
        const setting_t *st = &l->v[i];
        if (st->key >= 0) {
            int rc = set_key(cfg, (size_t)st->key, st->value, st->src, st->origin, err);
            if (rc)
                return rc;
            continue;
        }
        const char *value = st->value, *file = NULL;
        char *owned = NULL;
        if (ss_cfg_name_is_secret(st->name)) {
            char where[512];
            where_text(st->src, st->origin, where, sizeof(where));
            int rc = resolve_secret(&value, st->name, where, &owned, &file, err);
            if (rc)
                return rc;
        }
        setlist_push(&cfg->kafka, -1, st->name, value, st->origin, st->src);
        free(owned);
    }
    return 0;
}

int ss_cfg_load(ss_cfg_t *cfg, int argc, char **argv, ss_err_t *err) {
    if (argc > 0 && argv[0] && *argv[0]) {
        const char *slash = strrchr(argv[0], '/');
        free(cfg->prog);
        cfg->prog = ss_xstrdup(slash ? slash + 1 : argv[0]);
    }
    cli_t c = {0};
    setlist_t file = {0}, env = {0};
    int rc = 0;
    parse_argv(cfg, argc, argv, &c);
    if (c.help) {
        ss_cfg_print_help(cfg, stdout);
        rc = ss_err_set(err, SS_ERR_EXIT, "exit after --help");
        goto out;
    }
    if (c.xlist) {
        rd_kafka_conf_properties_show(stdout);
        rc = ss_err_set(err, SS_ERR_EXIT, "exit after -X list");
        goto out;
    }
    if (c.markdown) {
        ss_cfg_print_markdown(cfg, stdout);
        rc = ss_err_set(err, SS_ERR_EXIT, "exit after --config-markdown");
        goto out;
    }
    if (c.err.code) {
        rc = ss_err_set(err, c.err.code, "%s", c.err.msg);
        goto out;
    }
    for (size_t i = 0; i < c.nfiles; i++)
        if ((rc = read_file(cfg, c.files[i], &file, err)) != 0)
            goto out;
    read_env(cfg, &env);
    if ((rc = apply(cfg, &file, err)) != 0 || (rc = apply(cfg, &env, err)) != 0 ||
        (rc = apply(cfg, &c.set, err)) != 0)
        goto out;
    if (c.dump) {
        ss_cfg_print_dump(cfg, stdout);
        rc = ss_err_set(err, SS_ERR_EXIT, "exit after --dump-config");
        goto out;
    }
    ss_log_set_level(ss_log_parse_level(ss_cfg_str(cfg, "log.level")));
    ss_log_set_json(strcmp(ss_cfg_str(cfg, "log.format"), "json") == 0);
out:
    setlist_release(&file);
    setlist_release(&env);
    setlist_release(&c.set);
    free(c.files);
    return rc;
}

/* ---------------------------------------------------------------- accessors */

const char *ss_cfg_str(const ss_cfg_t *cfg, const char *name) {
    const cfg_key_t *k = must_key(cfg, name);
    return k->text ? k->text : "";
}

static const cfg_key_t *typed_key(const ss_cfg_t *cfg, const char *name, ss_cfg_type_t t) {
    const cfg_key_t *k = must_key(cfg, name);
    if (k->def->type != t)
        SS_BUG("config key '%s' is a %s", name, type_name(k->def));
    return k;
}

int64_t ss_cfg_int(const ss_cfg_t *cfg, const char *name) {
    return typed_key(cfg, name, SS_CFG_INT)->i;
}

double ss_cfg_double(const ss_cfg_t *cfg, const char *name) {
    return typed_key(cfg, name, SS_CFG_DOUBLE)->d;
}

int ss_cfg_bool(const ss_cfg_t *cfg, const char *name) {
    return typed_key(cfg, name, SS_CFG_BOOL)->b;
}

int ss_cfg_set(ss_cfg_t *cfg, const char *name, const char *value, ss_err_t *err) {
    long idx = find_key(cfg, name);
    if (idx < 0)
        return ss_err_set(err, SS_ERR_NOTFOUND, "unknown key '%s'", name);
    return set_key(cfg, (size_t)idx, value, SRC_SET, NULL, err);
}

int ss_cfg_is_set(const ss_cfg_t *cfg, const char *name) {
    return must_key(cfg, name)->text != NULL;
}

const char *ss_cfg_source(const ss_cfg_t *cfg, const char *name) {
    return src_names[must_key(cfg, name)->src];
}

int ss_cfg_name_is_secret(const char *name) {
    char low[256];
    size_t i;
    for (i = 0; name[i] && i + 1 < sizeof(low); i++)
        low[i] = (char)tolower((unsigned char)name[i]);
    low[i] = '\0';
    const char *n = strncmp(low, "topic.", 6) == 0 ? low + 6 : low;
    return strstr(n, "password") || strstr(n, "secret") || strcmp(n, "ssl.key.pem") == 0 ||
           strcmp(n, "sasl.oauthbearer.config") == 0;
}

size_t ss_cfg_kafka_count(const ss_cfg_t *cfg) { return cfg->kafka.n; }

const char *ss_cfg_kafka_name(const ss_cfg_t *cfg, size_t i) {
    SS_ASSERT(i < cfg->kafka.n);
    return cfg->kafka.v[i].name;
}

const char *ss_cfg_kafka_value(const ss_cfg_t *cfg, size_t i) {
    SS_ASSERT(i < cfg->kafka.n);
    return cfg->kafka.v[i].value;
}

int ss_cfg_argc(const ss_cfg_t *cfg) { return cfg->nargs; }

const char *ss_cfg_arg(const ss_cfg_t *cfg, int i) {
    SS_ASSERT(i >= 0 && i < cfg->nargs);
    return cfg->args[i];
}

/* ---------------------------------------------------------------- printers */

static const char *metavar(const ss_cfg_def_t *def) {
    switch (def->type) {
    case SS_CFG_INT:
        return "INT";
    case SS_CFG_DOUBLE:
        return "NUM";
    case SS_CFG_BOOL:
        return "BOOL";
    case SS_CFG_STR:
        break;
    }
    return def->choices ? "WORD" : "STR";
}

void ss_cfg_print_help(const ss_cfg_t *cfg, FILE *out) {
    char *sv = env_part(cfg->service);
    fprintf(out, "usage: %s [options]%s%s\n", cfg->prog, cfg->usage_args ? " " : "",
            cfg->usage_args ? cfg->usage_args : "");
    if (*cfg->summary)
        fprintf(out, "%s\n", cfg->summary);
    fprintf(
        out,
        "\noptions:\n"
        "  -c FILE            read key=value lines from FILE (repeatable; '#' starts a comment\n"
        "                     line; kafka.NAME=VALUE lines go to librdkafka like -X)\n"
        "  -X NAME=VALUE      set a librdkafka property (topic.* names go to the topic conf);\n"
        "                     -X list shows every property\n"
        "  --dump-config      print the effective configuration with the source of each\n"
        "                     value (secrets masked) and exit\n"
        "  --config-markdown  print the key table as markdown (docs/configuration.md), exit\n"
        "  -h, --help         show this help and exit\n"
        "  --                 everything after this is a positional argument\n"
        "\nconfiguration keys (precedence: default < -c file < environment < command line;\n"
        "environment variable SS_%s_<KEY>, upper-cased, '.' and '-' as '_'):\n",
        sv);
    free(sv);
    for (size_t i = 0; i < cfg->nkeys; i++) {
        const ss_cfg_def_t *d = cfg->keys[i].def;
        fprintf(out, "  --%s=%s  (%s", d->name, metavar(d), type_name(d));
        if (d->choices)
            fprintf(out, ": %s", d->choices);
        if (bounded(d)) {
            char r[96];
            range_text(d, r, sizeof(r));
            fprintf(out, " in %s", r);
        }
        if (!d->def)
            fprintf(out, ", default unset");
        else
            fprintf(out, ", default '%s'", d->def);
        fprintf(out, ")\n      %s%s\n      env %s\n", d->help ? d->help : "",
                (d->flags & SS_CFG_SECRET) ? " (secret; @FILE reads it from FILE)" : "",
                cfg->keys[i].env);
    }
}

void ss_cfg_print_dump(const ss_cfg_t *cfg, FILE *out) {
    fprintf(out, "# %s effective configuration (default < file < env < cli); secrets masked\n",
            cfg->prog);
    for (size_t i = 0; i < cfg->nkeys; i++) {
        const cfg_key_t *k = &cfg->keys[i];
        fprintf(out, "# %s", src_names[k->src]);
        if (k->origin)
            fprintf(out, " %s", k->origin);
        if (k->secret_file)
            fprintf(out, " (read from %s)", k->secret_file);
        if (!k->text)
            fprintf(out, " (unset)");
        int mask = (k->def->flags & SS_CFG_SECRET) && k->text && *k->text;
        fprintf(out, "\n%s=%s\n", k->def->name, mask ? MASK : k->text ? k->text : "");
    }
    if (cfg->kafka.n)
        fprintf(out, "# librdkafka properties, in the order they are applied\n");
    for (size_t i = 0; i < cfg->kafka.n; i++) {
        const setting_t *st = &cfg->kafka.v[i];
        int mask = ss_cfg_name_is_secret(st->name) && *st->value;
        fprintf(out, "# %s %s\nkafka.%s=%s\n", src_names[st->src], st->origin ? st->origin : "",
                st->name, mask ? MASK : st->value);
    }
}

/* Writes s for a markdown table cell: '|' escaped, newlines as spaces. */
static void md_cell(FILE *out, const char *s) {
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", out);
        else if (*s == '\n' || *s == '\r')
            fputc(' ', out);
        else
            fputc(*s, out);
    }
}

void ss_cfg_print_markdown(const ss_cfg_t *cfg, FILE *out) {
    char *sv = env_part(cfg->service);
    fprintf(out, "## %s\n\n", cfg->service);
    fprintf(out, "`%s`", cfg->prog);
    if (*cfg->summary)
        fprintf(out, ": %s", cfg->summary);
    fprintf(out, "\n\nUsage: `%s [options]%s%s`. Environment prefix: `SS_%s_`.\n\n", cfg->prog,
            cfg->usage_args ? " " : "", cfg->usage_args ? cfg->usage_args : "", sv);
    free(sv);
    fprintf(out, "| name | type | default | env var | description |\n"
                 "|---|---|---|---|---|\n");
    for (size_t i = 0; i < cfg->nkeys; i++) {
        const ss_cfg_def_t *d = cfg->keys[i].def;
        fprintf(out, "| `%s` | %s", d->name, type_name(d));
        if (bounded(d)) {
            char r[96];
            range_text(d, r, sizeof(r));
            fprintf(out, " %s", r);
        }
        fputs(" | ", out);
        if (!d->def) {
            fputs("(unset)", out);
        } else if (!*d->def) {
            fputs("(empty)", out);
        } else {
            fputc('`', out);
            md_cell(out, d->def);
            fputc('`', out);
        }
        fprintf(out, " | `%s` | ", cfg->keys[i].env);
        md_cell(out, d->help ? d->help : "");
        if (d->choices) {
            fputs(" (one of `", out);
            md_cell(out, d->choices);
            fputs("`)", out);
        }
        if (d->flags & SS_CFG_SECRET)
            fputs(" (secret: masked by `--dump-config`; `@/path/file` reads it from a file)", out);
        fputs(" |\n", out);
    }
    fputc('\n', out);
}
