/* ss_cfg: table-driven configuration. Each executable declares every key once in a table of
 * ss_cfg_def_t; parsing, validation, --help, --dump-config and docs/configuration.md all come
 * from that table. Precedence, lowest to highest: defaults < file (-c path) < environment
 * (SS_<SERVICE>_<KEY>, key upper-cased with '.' and '-' as '_'; empty counts as unset) <
 * command line (--key=value or --key value). Every source is collected first, then applied once
 * in that order. `-X name=value` and `kafka.<name>=value` file lines are kept verbatim for
 * librdkafka (ss_kafka applies them; `topic.` names go to the topic conf).
 * Config file syntax: one `key=value` per line; key and value are trimmed of surrounding
 * whitespace and otherwise taken verbatim (no quoting, no inline comments); lines starting with
 * `#` and blank lines are skipped; errors read "path:line: message".
 * Secrets: a SS_CFG_SECRET key (and a secret-looking kafka.* / -X name, see
 * ss_cfg_name_is_secret) given as `@/path/file` takes the first line of that file (trailing
 * newline trimmed) as its value; `@@x` means the literal `@x`. Secrets are never printed.
 * Not thread-safe while loading; read-only afterwards, safe from any thread. */
#ifndef SS_CFG_H
#define SS_CFG_H

#include <stdint.h>
#include <stdio.h>

#include "ss_err.h"

typedef enum ss_cfg_type {
    SS_CFG_STR = 0,
    SS_CFG_INT,    /* int64 */
    SS_CFG_DOUBLE, /* double */
    SS_CFG_BOOL,   /* true/false/1/0/yes/no/on/off */
} ss_cfg_type_t;

enum ss_cfg_flags {
    SS_CFG_SECRET = 1 << 0, /* masked by --dump-config, never logged */
};

typedef struct ss_cfg_def {
    const char *name; /* "redis.port": lowercase, '.'-separated */
    ss_cfg_type_t type;
    const char *def;     /* default as text; NULL means "unset" (empty string for STR) */
    double min, max;     /* inclusive range for INT/DOUBLE; both 0 means unbounded */
    const char *help;    /* one line for --help and docs */
    int flags;           /* enum ss_cfg_flags */
    const char *choices; /* STR only: "a|b|c" allowed values (case-insensitive input, stored
                          * as written here); NULL means any string */
} ss_cfg_def_t;

typedef struct ss_cfg ss_cfg_t;

/* Returns new: a config for `service` ("features": env prefix SS_FEATURES_) over `defs`
 * (borrowed; a static table that outlives the config), `n` entries; copies service and summary.
 * Keys common to every executable (log.level, log.format) are added by ss_cfg itself, after the
 * table's keys. A malformed table (duplicate or reserved name, bad default, kafka.* name) is a
 * programming error (SS_BUG), so any test that creates the config checks the table. */
ss_cfg_t *ss_cfg_new(const char *service, const char *summary, const ss_cfg_def_t *defs, size_t n);
void ss_cfg_destroy(ss_cfg_t *cfg); /* NULL is a no-op */

/* Sets what follows "[options]" on the --help usage line, e.g. "FILE..." (borrowed: a literal).
 * Default: nothing (the executable takes no positional arguments). */
void ss_cfg_set_usage(ss_cfg_t *cfg, const char *args);

/* Loads every source. Options handled here: -c FILE, -X name=value, --help/-h, --dump-config,
 * --config-markdown (prints the table as a markdown section for docs/configuration.md),
 * --key=value / --key value for every declared key. Arguments that are not options are kept as
 * positional (ss_cfg_argc/ss_cfg_arg): anything not starting with '-' (and "-" itself), and
 * everything after "--". Also -cFILE, --config=FILE, -Xname=value; -c may repeat (files are
 * read in order, all at the "file" level). A BOOL key given as a bare `--key` means true unless
 * the next argument is a boolean word. --help, -X list and --config-markdown win over any other
 * argument and read no file or environment.
 * Returns 0; SS_ERR_EXIT after printing --help, -X list, --dump-config or --config-markdown to
 * stdout (err->code is set to SS_ERR_EXIT too, msg "exit after --help": main exits 0);
 * SS_ERR_INVAL with err->msg such as "conf.txt:3: unknown key 'redis.prot'",
 * "invalid value 'x' for 'redis.port': not an integer" (prefixed "path:line: " for file values
 * and "environment SS_X_Y: " for environment values), "unknown option '--foo'";
 * SS_ERR_IO for "cannot open config file 'x': No such file or directory" or an unreadable
 * `@file` secret. The generic SS_LOG_LEVEL / SS_LOG_FORMAT variables are read as lower-priority
 * environment values of log.level / log.format. On success applies log.level/log.format to
 * ss_log (call ss_log_init(service) before, it sets the service name). Call once per cfg. */
int ss_cfg_load(ss_cfg_t *cfg, int argc, char **argv, ss_err_t *err);

/* Accessors: borrow from cfg (valid until ss_cfg_destroy or the next ss_cfg_set of that key).
 * Asking for an undeclared name or the wrong type is a programming error (SS_BUG), except that
 * ss_cfg_str works for every type and returns the effective text ("" when unset). An unset
 * INT/DOUBLE/BOOL (NULL default, never given) reads as 0. */
const char *ss_cfg_str(const ss_cfg_t *cfg, const char *name);
int64_t ss_cfg_int(const ss_cfg_t *cfg, const char *name);
double ss_cfg_double(const ss_cfg_t *cfg, const char *name);
int ss_cfg_bool(const ss_cfg_t *cfg, const char *name);

/* Sets a value programmatically (tests, derived settings), with the same validation (and the
 * same `@file` rule for secrets). Returns 0, SS_ERR_NOTFOUND for an undeclared name,
 * SS_ERR_INVAL for a bad value, SS_ERR_IO for an unreadable secret file. Copies value. */
int ss_cfg_set(ss_cfg_t *cfg, const char *name, const char *value, ss_err_t *err);

/* 1 when the key has a value (a non-NULL default or any source gave one), else 0. */
int ss_cfg_is_set(const ss_cfg_t *cfg, const char *name);
/* Where the effective value came from: "default", "file", "env", "cli" or "set" (static). */
const char *ss_cfg_source(const ss_cfg_t *cfg, const char *name);

/* 1 when a librdkafka property name must never be printed: contains "password" or "secret"
 * (sasl.password, ssl.key.password, ssl.keystore.password, sasl.oauthbearer.client.secret), or
 * is ssl.key.pem / sasl.oauthbearer.config. ss_kafka should mask these when it logs. */
int ss_cfg_name_is_secret(const char *name);

/* librdkafka pass-through pairs, in the order to apply them: every file's kafka.* lines first
 * (file order), then -X (command-line order); a name may repeat, the later one wins. Values of
 * secret-looking names have `@file` already resolved. Borrowed from cfg (until destroy). */
size_t ss_cfg_kafka_count(const ss_cfg_t *cfg);
const char *ss_cfg_kafka_name(const ss_cfg_t *cfg, size_t i);
const char *ss_cfg_kafka_value(const ss_cfg_t *cfg, size_t i);

/* Positional arguments left after option parsing (borrowed from argv). */
int ss_cfg_argc(const ss_cfg_t *cfg);
const char *ss_cfg_arg(const ss_cfg_t *cfg, int i);

/* Printers used by ss_cfg_load; exposed for tests. */
void ss_cfg_print_help(const ss_cfg_t *cfg, FILE *out);
/* Dump: "# <source> [origin]" comment line, then "key=value", for every key in table order,
 * then the librdkafka pairs as "kafka.<name>=value" in the order they will be applied; secrets
 * print as ********, so the output (minus secrets) can be fed back with -c. */
void ss_cfg_print_dump(const ss_cfg_t *cfg, FILE *out);
void ss_cfg_print_markdown(const ss_cfg_t *cfg, FILE *out);

#endif
