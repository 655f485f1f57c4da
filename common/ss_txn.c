/* ss_txn: the in-memory Transaction event; see ss_txn.h. Pure data, no I/O. */
#include "ss_txn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ss_txn_clear(ss_txn_t *t) {
    t->order_id[0] = '\0';
    t->customer_id[0] = '\0';
    t->has_customer = 0;
    t->store_id[0] = '\0';
    t->event_time_ms = 0;
    t->kind = SS_TXN_PURCHASE;
    t->currency[0] = '\0';
    t->n_lines = 0;
}

void ss_txn_release(ss_txn_t *t) {
    free(t->lines);
    ss_txn_t init = SS_TXN_INIT;
    *t = init;
}

static void reserve(ss_txn_t *t, size_t n) {
    if (n <= t->cap_lines)
        return;
    size_t cap = t->cap_lines ? t->cap_lines : 4;
    while (cap < n)
        cap *= 2;
    t->lines = ss_xrealloc(t->lines, cap * sizeof(*t->lines));
    t->cap_lines = cap;
}

ss_txn_line_t *ss_txn_add_line(ss_txn_t *t) {
    reserve(t, t->n_lines + 1);
    ss_txn_line_t *l = &t->lines[t->n_lines++];
    memset(l, 0, sizeof(*l));
    return l;
}

void ss_txn_copy(ss_txn_t *dst, const ss_txn_t *src) {
    if (dst == src)
        return;
    reserve(dst, src->n_lines);
    ss_txn_line_t *lines = dst->lines;
    size_t cap = dst->cap_lines;
    *dst = *src;
    dst->lines = lines;
    dst->cap_lines = cap;
    if (src->n_lines)
        memcpy(dst->lines, src->lines, src->n_lines * sizeof(*src->lines));
}

double ss_txn_amount(const ss_txn_t *t) {
    double sum = 0;
    for (size_t i = 0; i < t->n_lines; i++)
        sum += (double)t->lines[i].quantity * t->lines[i].unit_price;
    return sum;
}

/* FNV-1a 64 over a canonical serialisation: every field in declaration order, strings as a
 * 4-byte little-endian length then the bytes, integers as 8 little-endian bytes, doubles as
 * their IEEE bits with -0.0 folded into 0.0 and every NaN into one NaN. Never change this
 * encoding: fingerprints are compared across processes and versions. */
#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static uint64_t fnv_bytes(uint64_t h, const void *p, size_t n) {
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= FNV_PRIME;
    }
    return h;
}

static uint64_t fnv_u64(uint64_t h, uint64_t x) {
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(x >> (8 * i));
    return fnv_bytes(h, b, 8);
}

static uint64_t fnv_str(uint64_t h, const char *s) {
    size_t n = strnlen(s, SS_ID_MAX + 1);
    unsigned char b[4] = {(unsigned char)n, (unsigned char)(n >> 8), (unsigned char)(n >> 16),
                          (unsigned char)(n >> 24)};
    h = fnv_bytes(h, b, 4);
    return fnv_bytes(h, s, n);
}

static uint64_t fnv_double(uint64_t h, double d) {
    uint64_t bits;
    if (d == 0)
        d = 0.0;
    if (isnan(d))
        bits = 0x7ff8000000000000ULL;
    else
        memcpy(&bits, &d, 8);
    return fnv_u64(h, bits);
}

uint64_t ss_txn_fingerprint(const ss_txn_t *t) {
    uint64_t h = FNV_OFFSET;
    h = fnv_str(h, t->order_id);
    h = fnv_u64(h, t->has_customer ? 1 : 0);
    h = fnv_str(h, t->has_customer ? t->customer_id : "");
    h = fnv_str(h, t->store_id);
    h = fnv_u64(h, (uint64_t)t->event_time_ms);
    h = fnv_u64(h, (uint64_t)t->kind);
    h = fnv_str(h, t->currency);
    h = fnv_u64(h, (uint64_t)t->n_lines);
    for (size_t i = 0; i < t->n_lines; i++) {
        h = fnv_str(h, t->lines[i].product_id);
        h = fnv_u64(h, (uint64_t)(int64_t)t->lines[i].quantity);
        h = fnv_double(h, t->lines[i].unit_price);
    }
    return h;
}

int ss_utf8_valid(const char *str, size_t n) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return 0;
            i++;
            continue;
        }
        unsigned need, cp, min;
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1, cp = c & 0x1f, min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2, cp = c & 0x0f, min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0; /* continuation byte first, overlong 2-byte lead, or > U+10FFFF lead */
        }
        if (n - i <= need)
            return 0;
        for (unsigned k = 1; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        if (cp >= 0x80 && cp <= 0x9f) /* C1 controls */
            return 0;
        i += need + 1;
    }
    return 1;
}

static int check_id(const char *what, const char *s, ss_err_t *err) {
    size_t n = strnlen(s, SS_ID_MAX + 1);
    if (n == 0)
        return ss_err_set(err, SS_ERR_INVAL, "%s is empty", what);
    if (n > SS_ID_MAX)
        return ss_err_set(err, SS_ERR_INVAL, "%s is longer than %d bytes", what, SS_ID_MAX);
    if (!ss_utf8_valid(s, n))
        return ss_err_set(err, SS_ERR_INVAL, "%s is not printable UTF-8", what);
    return 0;
}

int ss_txn_validate(const ss_txn_t *t, const ss_txn_limits_t *lim, ss_err_t *err) {
    ss_txn_limits_t d = {0};
    if (lim)
        d = *lim;
    if (!d.min_time_ms)
        d.min_time_ms = 946684800000LL; /* 2000-01-01T00:00:00Z */
    if (!d.max_time_ms)
        d.max_time_ms = 4102444800000LL; /* 2100-01-01T00:00:00Z */
    if (!d.max_lines)
        d.max_lines = 10000;
    if (!d.max_quantity)
        d.max_quantity = 1000000;
    if (!(d.max_unit_price > 0))
        d.max_unit_price = 1e6;

    int rc;
    if ((rc = check_id("order_id", t->order_id, err)) < 0)
        return rc;
    if (t->has_customer) {
        if ((rc = check_id("customer_id", t->customer_id, err)) < 0)
            return rc;
    } else if (t->customer_id[0]) {
        return ss_err_set(err, SS_ERR_INVAL, "customer_id set on an anonymous sale");
    }
    if ((rc = check_id("store_id", t->store_id, err)) < 0)
        return rc;
    if (t->event_time_ms < d.min_time_ms || t->event_time_ms >= d.max_time_ms)
        return ss_err_set(err, SS_ERR_INVAL, "event_time %lld ms out of range [%lld, %lld)",
                          (long long)t->event_time_ms, (long long)d.min_time_ms,
                          (long long)d.max_time_ms);
    if (t->kind != SS_TXN_PURCHASE && t->kind != SS_TXN_RETURN)
        return ss_err_set(err, SS_ERR_INVAL, "unknown kind %d", (int)t->kind);
    const char *c = t->currency;
    if (strnlen(c, sizeof(t->currency)) != 3 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' ||
        c[1] > 'Z' || c[2] < 'A' || c[2] > 'Z')
        return ss_err_set(err, SS_ERR_INVAL, "currency '%.*s' is not 3 letters A-Z",
                          (int)strnlen(c, sizeof(t->currency)), c);
    if (t->n_lines == 0)
        return ss_err_set(err, SS_ERR_INVAL, "no lines");
    if (t->n_lines > d.max_lines)
        return ss_err_set(err, SS_ERR_INVAL, "%zu lines, more than %zu", t->n_lines, d.max_lines);
    for (size_t i = 0; i < t->n_lines; i++) {
        const ss_txn_line_t *l = &t->lines[i];
        char what[48];
        snprintf(what, sizeof(what), "line %zu: product_id", i + 1);
        if ((rc = check_id(what, l->product_id, err)) < 0)
            return rc;
        if (l->quantity < 1 || l->quantity > d.max_quantity)
            return ss_err_set(err, SS_ERR_INVAL, "line %zu: quantity %d out of range", i + 1,
                              (int)l->quantity);
        if (!isfinite(l->unit_price) || l->unit_price < 0 || l->unit_price > d.max_unit_price)
            return ss_err_set(err, SS_ERR_INVAL, "line %zu: unit_price %g out of range", i + 1,
                              l->unit_price);
    }
    return 0;
}
