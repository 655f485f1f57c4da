/* fcst_series: per-product dense daily arrays behind an open-addressing hash of product ids. */
#include "fcst_series.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcst_sched.h"
#include "ss_demand.h"

#define LOAD_CHUNK 64 /* HGETALLs per pipeline round trip */

typedef struct product {
    char *id;       /* NUL-terminated copy */
    size_t len;     /* bytes of id */
    int64_t first;  /* first day with a recorded sale (event-time day number) */
    double *values; /* n_days entries, day first_day + i of the window */
} product_t;

struct fcst_series {
    int64_t first_day, last_day; /* the window, inclusive */
    size_t n_days;
    product_t *products; /* n entries */
    size_t n, cap;
    long *slots; /* hash table of product indexes, -1 = empty; nslots is a power of two */
    size_t nslots;
    int finished;
};

static uint64_t hash_bytes(const char *p, size_t n) {
    uint64_t h = UINT64_C(1469598103934665603);
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

static void rehash(fcst_series_t *s, size_t nslots) {
    free(s->slots);
    s->nslots = nslots;
    s->slots = ss_xmalloc(nslots * sizeof(long));
    for (size_t i = 0; i < nslots; i++)
        s->slots[i] = -1;
    for (size_t k = 0; k < s->n; k++) {
        size_t j = hash_bytes(s->products[k].id, s->products[k].len) & (nslots - 1);
        while (s->slots[j] >= 0)
            j = (j + 1) & (nslots - 1);
        s->slots[j] = (long)k;
    }
}

fcst_series_t *fcst_series_new(int64_t first_day, int64_t last_day, ss_err_t *err) {
    if (last_day < first_day || last_day - first_day >= FCST_SERIES_MAX_DAYS) {
        ss_err_set(err, SS_ERR_INVAL, "bad series window %lld..%lld (1 to %d days)",
                   (long long)first_day, (long long)last_day, FCST_SERIES_MAX_DAYS);
        return NULL;
    }
    fcst_series_t *s = ss_xcalloc(1, sizeof(*s));
    s->first_day = first_day;
    s->last_day = last_day;
    s->n_days = (size_t)(last_day - first_day + 1);
    rehash(s, 64);
    return s;
}

void fcst_series_destroy(fcst_series_t *s) {
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->products[i].id);
        free(s->products[i].values);
    }
    free(s->products);
    free(s->slots);
    free(s);
}

long fcst_series_find(const fcst_series_t *s, const char *product, size_t plen) {
    if (s->finished) { /* sorted: binary search */
        size_t lo = 0, hi = s->n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            const product_t *p = &s->products[mid];
            size_t m = p->len < plen ? p->len : plen;
            int c = memcmp(p->id, product, m);
            if (c == 0)
                c = p->len < plen ? -1 : p->len > plen ? 1 : 0;
            if (c == 0)
                return (long)mid;
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        return -1;
    }
    size_t j = hash_bytes(product, plen) & (s->nslots - 1);
    while (s->slots[j] >= 0) {
        const product_t *p = &s->products[s->slots[j]];
        if (p->len == plen && memcmp(p->id, product, plen) == 0)
            return s->slots[j];
        j = (j + 1) & (s->nslots - 1);
    }
    return -1;
}

int fcst_series_add(fcst_series_t *s, int64_t day, const char *product, size_t plen, double qty,
                    ss_err_t *err) {
    SS_ASSERT(!s->finished);
    if (day < s->first_day || day > s->last_day)
        return ss_err_set(err, SS_ERR_INVAL, "day %lld outside the window %lld..%lld",
                          (long long)day, (long long)s->first_day, (long long)s->last_day);
    if (plen == 0)
        return ss_err_set(err, SS_ERR_INVAL, "empty product id");
    if (!isfinite(qty))
        return ss_err_set(err, SS_ERR_INVAL, "non-finite quantity for product '%.*s'",
                          (int)(plen > 64 ? 64 : plen), product);
    long k = fcst_series_find(s, product, plen);
    if (k < 0) {
        if (s->n == s->cap) {
            s->cap = s->cap ? 2 * s->cap : 64;
            s->products = ss_xrealloc(s->products, s->cap * sizeof(product_t));
        }
        product_t *p = &s->products[s->n];
        p->id = ss_xstrndup(product, plen);
        p->len = plen;
        p->first = day;
        p->values = ss_xcalloc(s->n_days, sizeof(double));
        k = (long)s->n++;
        if (2 * s->n > s->nslots)
            rehash(s, 2 * s->nslots);
        else {
            size_t j = hash_bytes(product, plen) & (s->nslots - 1);
            while (s->slots[j] >= 0)
                j = (j + 1) & (s->nslots - 1);
            s->slots[j] = k;
        }
    }
    product_t *p = &s->products[k];
    if (day < p->first)
        p->first = day;
    p->values[day - s->first_day] += qty;
    return 0;
}

typedef struct add_ctx {
    fcst_series_t *s;
    int64_t day;
} add_ctx_t;

static int add_cb(const char *product, size_t len, double qty, void *opaque, ss_err_t *err) {
    add_ctx_t *c = opaque;
    return fcst_series_add(c->s, c->day, product, len, qty, err);
}

int fcst_series_add_field(fcst_series_t *s, int64_t day, const char *field, size_t flen,
                          const char *val, size_t vlen, ss_err_t *err) {
    add_ctx_t c = {s, day};
    return ss_demand_field(field, flen, val, vlen, add_cb, &c, err);
}

static int cmp_product(const void *a, const void *b) {
    const product_t *x = a, *y = b;
    size_t m = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->id, y->id, m);
    if (c)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

void fcst_series_finish(fcst_series_t *s) {
    if (s->finished)
        return;
    if (s->n > 1)
        qsort(s->products, s->n, sizeof(product_t), cmp_product);
    s->finished = 1; /* lookups switch to binary search; the hash slots are stale now */
}

int64_t fcst_series_first_day(const fcst_series_t *s) { return s->first_day; }
int64_t fcst_series_last_day(const fcst_series_t *s) { return s->last_day; }
size_t fcst_series_count(const fcst_series_t *s) { return s->n; }

const char *fcst_series_product(const fcst_series_t *s, size_t i) {
    SS_ASSERT(i < s->n);
    return s->products[i].id;
}

const double *fcst_series_values(const fcst_series_t *s, size_t i, int64_t *first_day, size_t *n) {
    SS_ASSERT(i < s->n);
    const product_t *p = &s->products[i];
    size_t off = (size_t)(p->first - s->first_day);
    if (first_day)
        *first_day = p->first;
    if (n)
        *n = s->n_days - off;
    return p->values + off;
}

int fcst_series_key(char *out, size_t size, const char *prefix, const char *store, int64_t day) {
    char d[FCST_DAY_TEXT];
    fcst_day_text(day, d);
    return snprintf(out, size, "%sdm:{%s:%s}", prefix, store, d);
}

int fcst_series_load(fcst_series_t *s, ss_redis_t *rc, const char *prefix, const char *store,
                     size_t *n_bad, ss_err_t *err) {
    char key[1024];
    size_t bad = 0;
    int rc_ = 0;
    for (int64_t d0 = s->first_day; d0 <= s->last_day; d0 += LOAD_CHUNK) {
        int64_t d1 = d0 + LOAD_CHUNK - 1 < s->last_day ? d0 + LOAD_CHUNK - 1 : s->last_day;
        for (int64_t d = d0; d <= d1; d++) {
            int len = fcst_series_key(key, sizeof(key), prefix, store, d);
            if (len < 0 || (size_t)len >= sizeof(key))
                return ss_err_set(err, SS_ERR_INVAL, "store id '%.64s' too long", store);
            const char *argv[2] = {"HGETALL", key};
            if ((rc_ = ss_redis_appendv(rc, 2, argv, NULL, err)) < 0)
                return rc_;
        }
        for (int64_t d = d0; d <= d1; d++) {
            redisReply *rep = NULL;
            if ((rc_ = ss_redis_get_reply(rc, &rep, err)) < 0)
                return rc_;
            if (rep->type == REDIS_REPLY_ERROR) {
                rc_ = ss_redis_reply_class(rep->str);
                ss_err_set(err, rc_, "HGETALL of store '%.64s' day %lld: %s", store, (long long)d,
                           rep->str);
                freeReplyObject(rep);
                /* the remaining replies of the chunk are still unread: drop the connection */
                ss_redis_disconnect(rc);
                return rc_;
            }
            if (rep->type == REDIS_REPLY_ARRAY)
                for (size_t j = 0; j + 1 < rep->elements; j += 2) {
                    const redisReply *f = rep->element[j], *v = rep->element[j + 1];
                    if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
                        continue;
                    if (fcst_series_add_field(s, d, f->str, f->len, v->str, v->len, NULL) < 0)
                        bad++;
                }
            freeReplyObject(rep);
        }
    }
    if (n_bad)
        *n_bad = bad;
    fcst_series_finish(s);
    return 0;
}
