/* drift_cust: per-customer purchase amounts and realised churn labels (drift_cust.h). */
#include "drift_cust.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ss_err.h"

typedef struct cust {
    char *id; /* NULL: empty slot */
    int64_t frequency;
    double spent; /* frequency * avg_order at the last update */
    int64_t last_order_ms;
    int has_pending;
    int retained;
    int64_t pending_ms;
    double pending_p;
} cust_t;

struct dcust {
    dcust_opts_t o;
    cust_t *t;
    size_t cap, n, pending;
    uint64_t ignored;
};

static uint64_t hash_str(const char *s) {
    uint64_t h = 14695981039346656037ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

dcust_t *dcust_new(const dcust_opts_t *opts) {
    dcust_t *c = ss_xcalloc(1, sizeof(*c));
    c->o = opts ? *opts : (dcust_opts_t){0};
    if (!c->o.horizon_ms)
        c->o.horizon_ms = 90 * INT64_C(86400000);
    if (!c->o.max_customers)
        c->o.max_customers = 2000000;
    c->cap = 1024;
    c->t = ss_xcalloc(c->cap, sizeof(cust_t));
    return c;
}

void dcust_destroy(dcust_t *c) {
    if (!c)
        return;
    for (size_t i = 0; i < c->cap; i++)
        free(c->t[i].id);
    free(c->t);
    free(c);
}

static cust_t *probe(cust_t *t, size_t cap, const char *id) {
    size_t i = (size_t)hash_str(id) & (cap - 1);
    while (t[i].id && strcmp(t[i].id, id) != 0)
        i = (i + 1) & (cap - 1);
    return &t[i];
}

static void grow(dcust_t *c) {
    size_t ncap = c->cap * 2;
    cust_t *nt = ss_xcalloc(ncap, sizeof(cust_t));
    for (size_t i = 0; i < c->cap; i++)
        if (c->t[i].id)
            *probe(nt, ncap, c->t[i].id) = c->t[i];
    free(c->t);
    c->t = nt;
    c->cap = ncap;
}

/* Returns the customer's entry (created when absent), or NULL when the table is full. */
static cust_t *get(dcust_t *c, const char *id, int *created) {
    cust_t *e = probe(c->t, c->cap, id);
    *created = 0;
    if (e->id)
        return e;
    if (c->n >= c->o.max_customers) {
        c->ignored++;
        return NULL;
    }
    if ((c->n + 1) * 2 > c->cap) {
        grow(c);
        e = probe(c->t, c->cap, id);
    }
    memset(e, 0, sizeof(*e));
    e->id = ss_xstrdup(id);
    c->n++;
    *created = 1;
    return e;
}

double dcust_features(dcust_t *c, const char *customer_id, int64_t frequency, double avg_order,
                      int64_t last_order_ms) {
    int created;
    cust_t *e = get(c, customer_id, &created);
    if (!e)
        return NAN;
    double spent = (double)frequency * avg_order;
    double amount = NAN;
    if (created) {
        if (frequency == 1)
            amount = avg_order;
    } else if (frequency == e->frequency + 1) {
        amount = spent - e->spent;
    }
    if (created || frequency > e->frequency) {
        e->frequency = frequency;
        e->spent = spent;
    }
    if (last_order_ms > e->last_order_ms)
        e->last_order_ms = last_order_ms;
    if (e->has_pending && last_order_ms > e->pending_ms &&
        last_order_ms <= e->pending_ms + c->o.horizon_ms)
        e->retained = 1;
    return amount;
}

void dcust_score(dcust_t *c, const char *customer_id, int64_t t_ms, double p) {
    if (isnan(p))
        return;
    int created;
    cust_t *e = get(c, customer_id, &created);
    if (!e || e->has_pending)
        return;
    e->has_pending = 1;
    e->retained = e->last_order_ms > t_ms && e->last_order_ms <= t_ms + c->o.horizon_ms;
    e->pending_ms = t_ms;
    e->pending_p = p;
    c->pending++;
}

size_t dcust_release(dcust_t *c, int64_t watermark_ms, dcust_label_fn fn, void *opaque) {
    size_t k = 0;
    if (c->pending == 0)
        return 0;
    for (size_t i = 0; i < c->cap; i++) {
        cust_t *e = &c->t[i];
        if (!e->id || !e->has_pending || e->pending_ms + c->o.horizon_ms > watermark_ms)
            continue;
        if (fn)
            fn(e->pending_p, e->retained ? 0 : 1, e->pending_ms, opaque);
        e->has_pending = 0;
        e->retained = 0;
        c->pending--;
        k++;
    }
    return k;
}

size_t dcust_count(const dcust_t *c) { return c->n; }
size_t dcust_pending(const dcust_t *c) { return c->pending; }
uint64_t dcust_ignored(const dcust_t *c) { return c->ignored; }
