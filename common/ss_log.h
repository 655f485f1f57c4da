/* ss_log: one line per event on stderr, built in one buffer and written with one write(2) so
 * lines from librdkafka's threads never interleave. Thread-safe. Depends on nothing but libc.
 * Format (text): 2026-11-26T07:00:00.123Z info features rfm: message key=value ...
 * Format (json): {"ts":"...","level":"info","service":"features","module":"rfm","msg":"..."} */
#ifndef SS_LOG_H
#define SS_LOG_H

#include <syslog.h> /* LOG_ERR ... LOG_DEBUG: the numbers librdkafka's log_cb passes */

/* Sets the service name printed on each line (borrows: must outlive logging; a literal). */
void ss_log_init(const char *service);
/* Sets the maximum level printed (default LOG_INFO). Also read from SS_LOG_LEVEL
 * (err|warning|notice|info|debug) by ss_log_init. */
void ss_log_set_level(int level);
int ss_log_level(void);
/* Chooses JSON lines (1) or text (0). Also read from SS_LOG_FORMAT=json by ss_log_init. */
void ss_log_set_json(int json);
/* Parses "debug", "info", ... into a syslog level; -1 when unknown. */
int ss_log_parse_level(const char *s);

/* Writes one log line. Prefer SS_LOG, which skips argument evaluation below the level. */
void ss_log_write(int level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define SS_LOG(level, module, ...)                                                                 \
    do {                                                                                           \
        if ((level) <= ss_log_level())                                                             \
            ss_log_write((level), (module), __VA_ARGS__);                                          \
    } while (0)

#endif
