/* ss_log: see ss_log.h. The level is an atomic so librdkafka threads can read it. */
#include "ss_log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_level = LOG_INFO;
static atomic_int log_json = 0;
static const char *log_service = "streamscore";

static const char *level_names[] = {"emerg",   "alert",  "crit", "err",
                                    "warning", "notice", "info", "debug"};

int ss_log_parse_level(const char *s) {
    if (!s)
        return -1;
    for (int i = 0; i < 8; i++)
        if (strcasecmp(s, level_names[i]) == 0)
            return i;
    if (strcasecmp(s, "error") == 0)
        return LOG_ERR;
    if (strcasecmp(s, "warn") == 0)
        return LOG_WARNING;
    return -1;
}

void ss_log_init(const char *service) {
    if (service)
        log_service = service;
    int lvl = ss_log_parse_level(getenv("SS_LOG_LEVEL"));
    if (lvl >= 0)
        log_level = lvl;
    const char *fmt = getenv("SS_LOG_FORMAT");
    if (fmt && strcmp(fmt, "json") == 0)
        log_json = 1;
}

void ss_log_set_level(int level) { log_level = level; }
int ss_log_level(void) { return log_level; }
void ss_log_set_json(int json) { log_json = json; }

/* Appends s to buf as JSON string contents (quotes and control characters escaped). */
static size_t json_escape(char *buf, size_t cap, size_t n, const char *s) {
    for (; *s && n + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[n++] = '\\';
            buf[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)snprintf(buf + n, cap - n, "\\u%04x", c);
        } else {
            buf[n++] = (char)c;
        }
    }
    return n;
}

void ss_log_write(int level, const char *module, const char *fmt, ...) {
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[96];
    snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    const char *lname = level >= 0 && level < 8 ? level_names[level] : "info";

    char line[4096];
    size_t n;
    if (log_json) {
        n = (size_t)snprintf(line, sizeof(line),
                             "{\"ts\":\"%s\",\"level\":\"%s\",\"service\":\"%s\",\"module\":\"%s\","
                             "\"msg\":\"",
                             when, lname, log_service, module ? module : "-");
        if (n < sizeof(line))
            n = json_escape(line, sizeof(line), n, msg);
        if (n + 3 < sizeof(line)) {
            memcpy(line + n, "\"}\n", 3);
            n += 3;
        }
    } else {
        n = (size_t)snprintf(line, sizeof(line), "%s %s %s %s: %s\n", when, lname, log_service,
                             module ? module : "-", msg);
    }
    if (n >= sizeof(line)) {
        n = sizeof(line) - 1;
        line[n - 1] = '\n';
    }
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w; /* nothing sensible to do if stderr is gone */
}
