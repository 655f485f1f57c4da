/* ss_buf: growable byte buffer; see ss_buf.h. */
#include "ss_buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_err.h"

char ss_buf_slopbuf[1];

void ss_buf_init(ss_buf_t *b, size_t hint) {
    b->buf = ss_buf_slopbuf;
    b->len = 0;
    b->alloc = 0;
    if (hint)
        ss_buf_grow(b, hint);
}

void ss_buf_release(ss_buf_t *b) {
    if (b->alloc)
        free(b->buf);
    ss_buf_init(b, 0);
}

void ss_buf_reset(ss_buf_t *b) { ss_buf_setlen(b, 0); }

void ss_buf_grow(ss_buf_t *b, size_t extra) {
    if (extra > SIZE_MAX / 2 - b->len - 1)
        SS_BUG("ss_buf_grow: %zu + %zu bytes overflows", b->len, extra);
    size_t need = b->len + extra + 1;
    if (need <= b->alloc)
        return;
    size_t n = b->alloc ? b->alloc : 64;
    while (n < need)
        n = n / 2 * 3 + 16;
    if (b->alloc == 0) {
        b->buf = ss_xmalloc(n);
        b->buf[0] = '\0';
    } else {
        b->buf = ss_xrealloc(b->buf, n);
    }
    b->alloc = n;
}

void ss_buf_setlen(ss_buf_t *b, size_t n) {
    if (b->alloc == 0) {
        SS_ASSERT(n == 0);
        return; /* the shared empty string is never written */
    }
    SS_ASSERT(n < b->alloc);
    b->len = n;
    b->buf[n] = '\0';
}

void ss_buf_add(ss_buf_t *b, const void *data, size_t n) {
    if (n == 0)
        return;
    ss_buf_grow(b, n);
    memcpy(b->buf + b->len, data, n);
    ss_buf_setlen(b, b->len + n);
}

void ss_buf_addch(ss_buf_t *b, int c) {
    ss_buf_grow(b, 1);
    b->buf[b->len] = (char)c;
    ss_buf_setlen(b, b->len + 1);
}

void ss_buf_adds(ss_buf_t *b, const char *s) { ss_buf_add(b, s, strlen(s)); }

void ss_buf_vaddf(ss_buf_t *b, const char *fmt, va_list ap) {
    va_list cp;
    va_copy(cp, ap);
    ss_buf_grow(b, 64);
    int n = vsnprintf(b->buf + b->len, b->alloc - b->len, fmt, cp);
    va_end(cp);
    if (n < 0)
        SS_BUG("ss_buf_vaddf: bad format '%s'", fmt);
    if ((size_t)n >= b->alloc - b->len) {
        ss_buf_grow(b, (size_t)n);
        n = vsnprintf(b->buf + b->len, b->alloc - b->len, fmt, ap);
    }
    ss_buf_setlen(b, b->len + (size_t)n);
}

void ss_buf_addf(ss_buf_t *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    ss_buf_vaddf(b, fmt, ap);
    va_end(ap);
}

char *ss_buf_detach(ss_buf_t *b, size_t *len) {
    char *r;
    if (len)
        *len = b->len;
    if (b->alloc == 0) {
        r = ss_xmalloc(1);
        r[0] = '\0';
    } else {
        r = b->buf;
    }
    ss_buf_init(b, 0);
    return r;
}

void ss_buf_add_xml(ss_buf_t *b, const char *s) {
    if (!s)
        return;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '&':
            ss_buf_add(b, "&amp;", 5);
            break;
        case '<':
            ss_buf_add(b, "&lt;", 4);
            break;
        case '>':
            ss_buf_add(b, "&gt;", 4);
            break;
        case '"':
            ss_buf_add(b, "&quot;", 6);
            break;
        case '\'':
            ss_buf_add(b, "&#39;", 5);
            break;
        default:
            if (*p >= 0x20 || *p == '\t' || *p == '\n')
                ss_buf_addch(b, *p);
        }
    }
}

void ss_buf_add_json_str(ss_buf_t *b, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    ss_buf_addch(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            ss_buf_add(b, e, 2);
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            ss_buf_add(b, e, 6);
        } else {
            ss_buf_addch(b, c);
        }
    }
    ss_buf_addch(b, '"');
}
