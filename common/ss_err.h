/* ss_err: error codes and the caller-owned error detail shared by every module.
 * Depends on nothing. Success leaves an ss_err_t untouched, so a sequence of calls can share one
 * and be checked once (git's strbuf *err habit). */
#ifndef SS_ERR_H
#define SS_ERR_H

#include <stdarg.h>
#include <stddef.h>

enum ss_err_code {
    SS_OK = 0,
    SS_ERR_INVAL = -1,     /* bad argument or bad input data */
    SS_ERR_NOMEM = -2,     /* never returned in practice: OOM aborts in ss_xmalloc */
    SS_ERR_IO = -3,        /* file or socket I/O; see msg */
    SS_ERR_RETRIABLE = -4, /* Kafka/Redis unavailable for now: pause, back off, retry */
    SS_ERR_FATAL = -5,     /* cannot continue: drain and exit non-zero */
    SS_ERR_NOTFOUND = -6,  /* unknown key, schema id, config name ... */
    SS_ERR_DECODE = -7,    /* undecodable payload (goes to the dead-letter topic) */
    SS_ERR_EXIT = -8,      /* not an error: work is done (e.g. --help printed), exit 0 */
    SS_ERR_CONFLICT = -9,  /* duplicate id with different content */
};

typedef struct ss_err {
    int code;      /* one of enum ss_err_code; 0 until an error is set */
    char msg[256]; /* human-readable, lowercase, names the subject first */
} ss_err_t;

#define SS_ERR_INIT                                                                                \
    {                                                                                              \
        0, { 0 }                                                                                   \
    }

/* Sets err (if not NULL) to code and a printf-formatted message; returns code, so callers can
 * `return ss_err_set(err, SS_ERR_INVAL, "bad '%s'", x);`. */
int ss_err_set(ss_err_t *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Like ss_err_set, appending ": strerror(errnum)". Save errno before calling anything else. */
int ss_err_set_errno(ss_err_t *err, int code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Resets err to SS_ERR_INIT. */
void ss_err_clear(ss_err_t *err);

/* Allocation wrappers: abort with a message on out-of-memory (one handler, as redis zmalloc). */
void *ss_xmalloc(size_t n);
void *ss_xcalloc(size_t n, size_t size);
void *ss_xrealloc(void *p, size_t n);
char *ss_xstrdup(const char *s);
char *ss_xstrndup(const char *s, size_t n);

/* "Cannot happen": print file:line and abort (redis serverPanic, git BUG). */
#define SS_BUG(...) ss_bug(__FILE__, __LINE__, __VA_ARGS__)
#define SS_ASSERT(cond)                                                                            \
    do {                                                                                           \
        if (!(cond))                                                                               \
            ss_bug(__FILE__, __LINE__, "assertion failed: %s", #cond);                             \
    } while (0)
void ss_bug(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

#endif
