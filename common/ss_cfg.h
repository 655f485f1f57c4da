/* ss_cfg: table-driven configuration. Each executable declares every key once in a table of
 * ss_cfg_def_t; parsing, validation, --help, --dump-config and docs/configuration.md all come
 * from that table. Precedence, lowest to highest: defaults < file (-c path) < environment
 * (SS_<SERVICE>_<KEY>, key upper-cased with '.' and '-' as '_'; empty counts as unset) <
 * command line (--key=value or --key value). Every source is collected first, then applied once
 * in that order. `-X name=value` and `kafka.<name>=value` file lines are kept verbatim for
 * librdkafka (ss_kafka applies them; `topic.` names go to the topic conf).
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
    const char *name;  /* "redis.port": lowercase, '.'-separated */
    ss_cfg_type_t type;
    const char *def;   /* default as text; NULL means "unset" (empty string for STR) */
    double min, max;   /* inclusive range for INT/DOUBLE; both 0 means unbounded */
    const char *help;  /* one line for --help and docs */
    int flags;         /* enum ss_cfg_flags */
} ss_cfg_def_t;

typedef struct ss_cfg ss_cfg_t;

/* Returns new: a config for `service` ("features": env prefix SS_FEATURES_) over `defs`
 * (borrowed; a static table that outlives the config), `n` entries. Keys common to every
 * executable (log.level, log.format) are added by ss_cfg itself. */
ss_cfg_t *ss_cfg_new(const char *service, const char *summary, const ss_cfg_def_t *defs, size_t n);
void ss_cfg_destroy(ss_cfg_t *cfg); /* NULL is a no-op */

/* Loads every source. Options handled here: -c FILE, -X name=value, --help/-h, --dump-config,
 * --config-markdown (prints the table as a markdown section for docs/configuration.md),
 * --key=value / --key value for every declared key. Arguments that are not options are kept as
 * positional (ss_cfg_argc/ss_cfg_arg). Returns 0; SS_ERR_EXIT after printing --help,
 * --dump-config or --config-markdown to stdout; SS_ERR_INVAL with err->msg such as
 * "conf.txt:3: unknown key 'redis.prot'" or "invalid value 'x' for 'redis.port': not an integer".
 * Also applies log.level/log.format to ss_log. */
int ss_cfg_load(ss_cfg_t *cfg, int argc, char **argv, ss_err_t *err);

/* Accessors: borrow from cfg (valid until ss_cfg_destroy). Asking for an undeclared name or the
 * wrong type is a programming error (SS_BUG). */
const char *ss_cfg_str(const ss_cfg_t *cfg, const char *name);
int64_t ss_cfg_int(const ss_cfg_t *cfg, const char *name);
double ss_cfg_double(const ss_cfg_t *cfg, const char *name);
int ss_cfg_bool(const ss_cfg_t *cfg, const char *name);

/* Sets a value programmatically (tests, derived settings), with the same validation. */
int ss_cfg_set(ss_cfg_t *cfg, const char *name, const char *value, ss_err_t *err);

/* librdkafka pass-through pairs, in the order given (file first, then -X). */
size_t ss_cfg_kafka_count(const ss_cfg_t *cfg);
const char *ss_cfg_kafka_name(const ss_cfg_t *cfg, size_t i);
const char *ss_cfg_kafka_value(const ss_cfg_t *cfg, size_t i);

/* Positional arguments left after option parsing (borrowed from argv). */
int ss_cfg_argc(const ss_cfg_t *cfg);
const char *ss_cfg_arg(const ss_cfg_t *cfg, int i);

/* Printers used by ss_cfg_load; exposed for tests. */
void ss_cfg_print_help(const ss_cfg_t *cfg, FILE *out);
void ss_cfg_print_dump(const ss_cfg_t *cfg, FILE *out); /* secrets and secret-looking -X masked */
void ss_cfg_print_markdown(const ss_cfg_t *cfg, FILE *out);

#endif
