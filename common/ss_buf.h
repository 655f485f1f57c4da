/* ss_buf: a growable byte buffer (git strbuf-like) for encoded payloads and rendered text.
 * Depends only on ss_err (OOM aborts there). buf is always NUL-terminated (a NUL beyond len), so
 * text can be used as a C string; binary content may hold NULs. Not thread-safe; one per user. */
#ifndef SS_BUF_H
#define SS_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct ss_buf {
    char *buf;    /* never NULL: points at a shared empty string until the first growth */
    size_t len;   /* bytes used, excluding the trailing NUL */
    size_t alloc; /* bytes allocated; 0 while buf is the shared empty string */
} ss_buf_t;

extern char ss_buf_slopbuf[];
#define SS_BUF_INIT                                                                                \
    { ss_buf_slopbuf, 0, 0 }

/* Initialises b to empty, preallocating hint bytes (0 = none). */
void ss_buf_init(ss_buf_t *b, size_t hint);
/* Frees b's memory; b is SS_BUF_INIT afterwards (reusable). */
void ss_buf_release(ss_buf_t *b);
/* Empties b, keeping its memory (for reuse in a loop). */
void ss_buf_reset(ss_buf_t *b);
/* Makes room for extra more bytes (plus the NUL) without changing len. */
void ss_buf_grow(ss_buf_t *b, size_t extra);
/* Sets len to n (n must be <= alloc - 1 after a grow) and writes the NUL; for callers that wrote
 * into buf + len directly after ss_buf_grow. */
void ss_buf_setlen(ss_buf_t *b, size_t n);
/* Appends n bytes (copies). */
void ss_buf_add(ss_buf_t *b, const void *data, size_t n);
/* Appends one byte. */
void ss_buf_addch(ss_buf_t *b, int c);
/* Appends a C string (copies). */
void ss_buf_adds(ss_buf_t *b, const char *s);
/* Appends s (NUL-terminated; NULL appends nothing) escaped for XML/HTML text and attribute
 * values: & < > " ' as entities; control characters other than tab and newline dropped (they
 * are not allowed in XML 1.0). */
void ss_buf_add_xml(ss_buf_t *b, const char *s);
/* Appends s[0..n) as a JSON string literal, quotes included: " and \ escaped with a backslash,
 * bytes below 0x20 as \u00XX, every other byte as is (the caller vouches for UTF-8). */
void ss_buf_add_json_str(ss_buf_t *b, const char *s, size_t n);
/* Appends printf-formatted text. */
void ss_buf_addf(ss_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ss_buf_vaddf(ss_buf_t *b, const char *fmt, va_list ap);
/* Hands the buffer to the caller (returns new, free with free(); never NULL) and stores its length
 * in *len if len is not NULL; b is SS_BUF_INIT afterwards. */
char *ss_buf_detach(ss_buf_t *b, size_t *len);

#endif
