/* ss_err: error detail formatting and the process-wide OOM policy. */
#include "ss_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ss_err_set(ss_err_t *err, int code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

int ss_err_set_errno(ss_err_t *err, int code, int errnum, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < sizeof(err->msg)) {
            char buf[128];
            const char *s = buf;
#if (_POSIX_C_SOURCE >= 200112L) && !defined(_GNU_SOURCE)
            if (strerror_r(errnum, buf, sizeof(buf)) != 0)
                snprintf(buf, sizeof(buf), "errno %d", errnum);
#else
            s = strerror_r(errnum, buf, sizeof(buf));
#endif
            snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s", s);
        }
        err->code = code;
    }
    return code;
}

void ss_err_clear(ss_err_t *err) {
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}

static void oom(size_t n) {
    fprintf(stderr, "out of memory allocating %zu bytes\n", n);
    abort();
}

void *ss_xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *ss_xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}

void *ss_xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *ss_xstrdup(const char *s) {
    size_t n = strlen(s);
    char *p = ss_xmalloc(n + 1);
    memcpy(p, s, n + 1);
    return p;
}

char *ss_xstrndup(const char *s, size_t n) {
    char *p = ss_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void ss_bug(const char *file, int line, const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    fprintf(stderr, "BUG %s:%d: %s\n", file, line, buf);
    abort();
}
