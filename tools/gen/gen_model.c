/* gen: the synthetic workload model. See gen_model.h and docs/tools.md.
 * Events are built one event-time day at a time (purchases of the day plus returns that fall due
 * on it), sorted, then handed out; memory is O(customers + products + one day). */
#include "gen_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL
#define DEFAULT_START_MS 1704067200000LL /* 2024-01-01T00:00:00Z */
#define MAX_LINES 20

/* ---- random numbers: xoshiro256** seeded by splitmix64 ---- */

typedef struct rng {
    uint64_t s[4];
} rng_t;

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void rng_seed(rng_t *r, uint64_t seed) {
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_u64(rng_t *r) {
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

/* Uniform in [0, 1). */
static double rng_unif(rng_t *r) { return (double)(rng_u64(r) >> 11) * 0x1.0p-53; }

/* Uniform integer in [0, n). */
static uint32_t rng_below(rng_t *r, uint32_t n) { return (uint32_t)(rng_unif(r) * n); }

static double rng_normal(rng_t *r) {
    double u1 = rng_unif(r), u2 = rng_unif(r);
    return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI * u2);
}

static int rng_poisson(rng_t *r, double lambda) {
    if (lambda <= 0)
        return 0;
    if (lambda > 30) {
        double x = lambda + sqrt(lambda) * rng_normal(r) + 0.5;
        return x < 0 ? 0 : (int)x;
    }
    double l = exp(-lambda), p = 1.0;
    int k = 0;
    do {
        k++;
        p *= rng_unif(r);
    } while (p > l);
    return k - 1;
}

/* Index i with probability w[i] / total, given the running sums cum[0..n). */
static int pick_cum(rng_t *r, const double *cum, int n) {
    double x = rng_unif(r) * cum[n - 1];
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (cum[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* ---- the model ---- */

typedef struct customer {
    double rate;   /* orders per day at profile 1.0 */
    int home;      /* store index */
    int pref[2];   /* preferred groups */
    int churn_day; /* -1: never */
} customer_t;

typedef struct product {
    int group;
    double price; /* base unit price */
    double pop;   /* popularity weight within the group */
    double trend; /* per day, multiplicative exp(trend * day) */
} product_t;

typedef struct store {
    double weight; /* size */
    double trend;  /* per day */
    double dow[7]; /* weekday profile, Monday first, mean 1 */
} store_t;

struct gen {
    gen_opts_t o;
    char currency[8];
    rng_t rng;     /* the good stream */
    rng_t bad_rng; /* bad records only: good events do not depend on bad_rate */
    customer_t *cust;
    product_t *prod;
    store_t *store;
    double *group_amp; /* weekend amplitude per group */
    int *group_first;  /* products of group g are group_first[g] .. group_first[g+1]-1 */
    double *store_cum; /* static store choice by weight */
    double *prod_cum;  /* per day: running popularity within each group (indexes products) */
    double *group_cum; /* per day: group choice for random picks */

    int day;       /* next day to build */
    ss_txn_t *evs; /* the current day's events, sorted */
    size_t nevs, capevs, next_ev;
    ss_txn_t *pending; /* returns not yet due */
    size_t npending, cappending;
    uint64_t order_seq; /* per day */
    ss_txn_t last;      /* last good event handed out (source of a bad copy) */
    int bad_pending;
};

static const double base_dow[7] = {0.85, 0.9, 0.95, 1.0, 1.15, 1.35, 0.8};

static const char *const bad_names[GEN_BAD_COUNT] = {
    [GEN_BAD_NONE] = "none",
    [GEN_BAD_QUANTITY] = "quantity",
    [GEN_BAD_PRICE] = "price",
    [GEN_BAD_ID] = "id",
    [GEN_BAD_NO_LINES] = "no-lines",
    [GEN_BAD_RAW_JSON] = "raw-json",
    [GEN_BAD_RAW_TRUNC] = "raw-truncated",
};

const char *gen_bad_name(gen_bad_t b) {
    return b >= 0 && b < GEN_BAD_COUNT ? bad_names[b] : "unknown";
}

static int check_range(const char *what, double v, double lo, double hi, ss_err_t *err) {
    if (v < lo || v > hi || v != v)
        return ss_err_set(err, SS_ERR_INVAL, "%s %g out of range %g..%g", what, v, lo, hi);
    return 0;
}

static int weekday(const gen_t *g, int day) {
    int64_t d = g->o.start_ms / DAY_MS + day;
    return (int)(((d + 3) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
}

gen_t *gen_new(const gen_opts_t *opts, ss_err_t *err) {
    gen_opts_t o = opts ? *opts : (gen_opts_t){0};
    if (!o.seed)
        o.seed = 1;
    if (!o.customers)
        o.customers = 1000;
    if (!o.products)
        o.products = 200;
    if (!o.stores)
        o.stores = 10;
    if (!o.groups)
        o.groups = o.products / 10 ? o.products / 10 : 1;
    if (!o.days)
        o.days = 90;
    if (!o.start_ms)
        o.start_ms = DEFAULT_START_MS;
    if (!o.orders_per_week)
        o.orders_per_week = 1.5;
    if (!o.churn_share)
        o.churn_share = 0.2;
    if (!o.return_share)
        o.return_share = 0.03;
    if (!o.anon_share)
        o.anon_share = 0.1;
    if (o.churn_share < 0)
        o.churn_share = 0;
    if (o.return_share < 0)
        o.return_share = 0;
    if (o.anon_share < 0)
        o.anon_share = 0;
    if (!o.shift_stores)
        o.shift_stores = 1;
    if (!o.shift_factor)
        o.shift_factor = 1;
    if (check_range("customers", o.customers, 1, 1e8, err) ||
        check_range("products", o.products, 1, 99999, err) ||
        check_range("stores", o.stores, 1, 999, err) ||
        check_range("groups", o.groups, 1, o.products, err) ||
        check_range("days", o.days, 1, 36500, err) ||
        check_range("orders per week", o.orders_per_week, 0, 1000, err) ||
        check_range("churn share", o.churn_share, 0, 1, err) ||
        check_range("return share", o.return_share, 0, 1, err) ||
        check_range("anonymous share", o.anon_share, 0, 0.99, err) ||
        check_range("bad rate", o.bad_rate, 0, 1, err) ||
        check_range("shift day", o.shift_day, 0, 1e6, err) ||
        check_range("shift stores", o.shift_stores, 1, o.stores, err) ||
        check_range("shift factor", o.shift_factor, 1e-3, 1e3, err) ||
        check_range("start", (double)o.start_ms, 946684800000.0, 4102444800000.0 - o.days * DAY_MS,
                    err))
        return NULL;
    gen_t *g = ss_xcalloc(1, sizeof(*g));
    snprintf(g->currency, sizeof(g->currency), "%s",
             o.currency && *o.currency ? o.currency : "GBP");
    o.currency = g->currency;
    g->o = o;
    rng_seed(&g->rng, o.seed);
    rng_seed(&g->bad_rng, o.seed ^ 0x5bd1e9955bd1e995ULL);
    rng_t *r = &g->rng;

    g->store = ss_xcalloc((size_t)o.stores, sizeof(*g->store));
    g->store_cum = ss_xmalloc((size_t)o.stores * sizeof(double));
    for (int s = 0; s < o.stores; s++) {
        store_t *st = &g->store[s];
        st->weight = exp(0.5 * rng_normal(r));
        st->trend = 0.003 * rng_normal(r);
        double sum = 0;
        for (int d = 0; d < 7; d++) {
            st->dow[d] = base_dow[d] * (1 + 0.05 * rng_normal(r));
            sum += st->dow[d];
        }
        for (int d = 0; d < 7; d++)
            st->dow[d] *= 7 / sum;
        g->store_cum[s] = (s ? g->store_cum[s - 1] : 0) + st->weight;
    }

    g->group_amp = ss_xmalloc((size_t)o.groups * sizeof(double));
    g->group_first = ss_xmalloc(((size_t)o.groups + 1) * sizeof(int));
    for (int k = 0; k < o.groups; k++) {
        g->group_amp[k] = 0.6 * rng_unif(r) - 0.3;
        g->group_first[k] = (int)((int64_t)k * o.products / o.groups);
    }
    g->group_first[o.groups] = o.products;
    g->prod = ss_xcalloc((size_t)o.products, sizeof(*g->prod));
    for (int k = 0; k < o.groups; k++)
        for (int p = g->group_first[k]; p < g->group_first[k + 1]; p++) {
            product_t *pr = &g->prod[p];
            pr->group = k;
            pr->price = round(exp(1.5 + 0.8 * rng_normal(r)) * 100) / 100;
            if (pr->price < 0.1)
                pr->price = 0.1;
            pr->pop = 1.0 / pow(1.0 + (p - g->group_first[k]), 0.8) * exp(0.3 * rng_normal(r));
            pr->trend = 0.004 * rng_normal(r);
        }
    g->prod_cum = ss_xmalloc((size_t)o.products * sizeof(double));
    g->group_cum = ss_xmalloc((size_t)o.groups * sizeof(double));

    g->cust = ss_xcalloc((size_t)o.customers, sizeof(*g->cust));
    for (int c = 0; c < o.customers; c++) {
        customer_t *cu = &g->cust[c];
        /* lognormal with mean 1: heavy buyers and occasional ones */
        cu->rate = o.orders_per_week / 7.0 * exp(0.8 * rng_normal(r) - 0.32);
        cu->home = pick_cum(r, g->store_cum, o.stores);
        cu->pref[0] = (int)rng_below(r, (uint32_t)o.groups);
        cu->pref[1] = (int)rng_below(r, (uint32_t)o.groups);
        cu->churn_day = -1;
        if (rng_unif(r) < o.churn_share)
            cu->churn_day = o.days / 4 + (int)rng_below(r, (uint32_t)(o.days / 2 + 1));
    }
    return g;
}

static void free_txns(ss_txn_t *v, size_t cap) {
    for (size_t i = 0; i < cap; i++)
        ss_txn_release(&v[i]);
    free(v);
}

void gen_destroy(gen_t *g) {
    if (!g)
        return;
    free(g->cust);
    free(g->prod);
    free(g->store);
    free(g->group_amp);
    free(g->group_first);
    free(g->store_cum);
    free(g->prod_cum);
    free(g->group_cum);
    free_txns(g->evs, g->capevs);
    free_txns(g->pending, g->cappending);
    ss_txn_release(&g->last);
    free(g);
}

const gen_opts_t *gen_opts(const gen_t *g) { return &g->o; }

int gen_customer_churn_day(const gen_t *g, int customer) {
    return customer >= 0 && customer < g->o.customers ? g->cust[customer].churn_day : -1;
}

int gen_product_group(const gen_t *g, int product) {
    return product >= 0 && product < g->o.products ? g->prod[product].group : -1;
}

int gen_id_index(const char *id, char kind) {
    if (id[0] != kind || !id[1])
        return -1;
    long v = 0;
    for (const char *p = id + 1; *p; p++) {
        if (*p < '0' || *p > '9' || v > 100000000)
            return -1;
        v = v * 10 + (*p - '0');
    }
    return v >= 1 ? (int)(v - 1) : -1;
}

/* Appends a new (cleared) event slot to a growing txn array. */
static ss_txn_t *push_txn(ss_txn_t **v, size_t *n, size_t *cap) {
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        *v = ss_xrealloc(*v, ncap * sizeof(**v));
        for (size_t i = *cap; i < ncap; i++) {
            ss_txn_t init = SS_TXN_INIT;
            (*v)[i] = init;
        }
        *cap = ncap;
    }
    ss_txn_t *t = &(*v)[(*n)++];
    ss_txn_clear(t);
    return t;
}

static void day_weights(gen_t *g, int day, int wd) {
    for (int k = 0; k < g->o.groups; k++) {
        double sum = 0;
        for (int p = g->group_first[k]; p < g->group_first[k + 1]; p++) {
            sum += g->prod[p].pop * exp(g->prod[p].trend * day);
            g->prod_cum[p] = sum;
        }
        double amp = 1 + g->group_amp[k] * (wd >= 5 ? 1.0 : -0.4);
        g->group_cum[k] = (k ? g->group_cum[k - 1] : 0) + sum * amp;
    }
}

static int pick_product(gen_t *g, int group) {
    int first = g->group_first[group], n = g->group_first[group + 1] - first;
    /* prod_cum restarts at each group: search the group's slice */
    return first + pick_cum(&g->rng, g->prod_cum + first, n);
}

/* Fills a purchase for customer c (or -1: anonymous at store s) at time ts. */
static void make_purchase(gen_t *g, ss_txn_t *t, int c, int s, int day, int64_t ts) {
    rng_t *r = &g->rng;
    snprintf(t->order_id, sizeof(t->order_id), "g%llu-%05d-%06llu", (unsigned long long)g->o.seed,
             day, (unsigned long long)g->order_seq++);
    if (c >= 0) {
        t->has_customer = 1;
        snprintf(t->customer_id, sizeof(t->customer_id), "c%06d", c + 1);
        s = rng_unif(r) < 0.8 ? g->cust[c].home : pick_cum(r, g->store_cum, g->o.stores);
    }
    snprintf(t->store_id, sizeof(t->store_id), "s%03d", s + 1);
    snprintf(t->currency, sizeof(t->currency), "%s", g->currency);
    t->event_time_ms = ts;
    t->kind = SS_TXN_PURCHASE;
    int primary;
    if (c >= 0 && rng_unif(r) < 0.8)
        primary = g->cust[c].pref[rng_below(r, 2)];
    else
        primary = pick_cum(r, g->group_cum, g->o.groups);
    int n = 1 + rng_poisson(r, 1.8);
    if (n > MAX_LINES)
        n = MAX_LINES;
    double factor = s < g->o.shift_stores && day >= g->o.shift_day ? g->o.shift_factor : 1.0;
    for (int i = 0; i < n; i++) {
        int group = rng_unif(r) < 0.75 ? primary : pick_cum(r, g->group_cum, g->o.groups);
        int p = -1;
        for (int tries = 0; tries < 5 && p < 0; tries++) {
            int cand = pick_product(g, group);
            p = cand;
            for (size_t k = 0; k < t->n_lines; k++)
                if (gen_id_index(t->lines[k].product_id, 'p') == cand)
                    p = -1;
        }
        if (p < 0)
            continue; /* a small group already fully in the basket */
        ss_txn_line_t *ln = ss_txn_add_line(t);
        snprintf(ln->product_id, sizeof(ln->product_id), "p%05d", p + 1);
        ln->quantity = 1 + rng_poisson(r, 0.8);
        ln->unit_price = round(g->prod[p].price * factor * 100) / 100;
    }
}

/* Maybe schedules a return of some lines of purchase t (customer orders only). */
static void maybe_return(gen_t *g, const ss_txn_t *t) {
    rng_t *r = &g->rng;
    if (!t->has_customer || rng_unif(r) >= g->o.return_share)
        return;
    int64_t when = t->event_time_ms + (1 + (int64_t)rng_below(r, 14)) * DAY_MS +
                   (int64_t)rng_below(r, 8 * 3600) * 1000;
    int whole = rng_unif(r) < 0.3;
    size_t which = rng_below(r, (uint32_t)t->n_lines);
    if (when >= g->o.start_ms + (int64_t)g->o.days * DAY_MS)
        return;
    ss_txn_t *rt = push_txn(&g->pending, &g->npending, &g->cappending);
    size_t idlen = strlen(t->order_id);
    SS_ASSERT(idlen + 2 <= SS_ID_MAX); /* generated ids are at most 32 bytes */
    memcpy(rt->order_id, t->order_id, idlen);
    memcpy(rt->order_id + idlen, "-r", 3);
    rt->has_customer = 1;
    memcpy(rt->customer_id, t->customer_id, sizeof(rt->customer_id));
    memcpy(rt->store_id, t->store_id, sizeof(rt->store_id));
    memcpy(rt->currency, t->currency, sizeof(rt->currency));
    rt->event_time_ms = when;
    rt->kind = SS_TXN_RETURN;
    for (size_t i = 0; i < t->n_lines; i++) {
        if (!whole && i != which)
            continue;
        ss_txn_line_t *ln = ss_txn_add_line(rt);
        *ln = t->lines[i];
        if (!whole)
            ln->quantity = 1 + (int32_t)rng_below(r, (uint32_t)t->lines[i].quantity);
    }
}

static int cmp_txn(const void *a, const void *b) {
    const ss_txn_t *x = a, *y = b;
    if (x->event_time_ms != y->event_time_ms)
        return x->event_time_ms < y->event_time_ms ? -1 : 1;
    return strcmp(x->order_id, y->order_id);
}

static void build_day(gen_t *g) {
    rng_t *r = &g->rng;
    int day = g->day++;
    int wd = weekday(g, day);
    int64_t day_start = g->o.start_ms + (int64_t)day * DAY_MS;
    g->nevs = 0;
    g->next_ev = 0;
    g->order_seq = 0;
    day_weights(g, day, wd);
    double total_rate = 0;
    for (int c = 0; c < g->o.customers; c++) {
        const customer_t *cu = &g->cust[c];
        if (cu->churn_day >= 0 && day >= cu->churn_day)
            continue;
        const store_t *st = &g->store[cu->home];
        double lambda = cu->rate * st->dow[wd] * exp(st->trend * day);
        total_rate += lambda;
        int n = rng_poisson(r, lambda);
        for (int k = 0; k < n; k++) {
            /* opening hours 08:00-20:00, second resolution */
            int64_t ts = day_start + (8 * 3600 + (int64_t)rng_below(r, 12 * 3600)) * 1000;
            ss_txn_t *t = push_txn(&g->evs, &g->nevs, &g->capevs);
            make_purchase(g, t, c, 0, day, ts);
            if (t->n_lines == 0) {
                g->nevs--;
                continue;
            }
            maybe_return(g, t);
        }
    }
    /* walk-ins: the anonymous share of all purchases, spread by store size, weekday and trend */
    double anon_total = total_rate * g->o.anon_share / (1 - g->o.anon_share);
    double norm = 0;
    for (int s = 0; s < g->o.stores; s++)
        norm += g->store[s].weight * g->store[s].dow[wd] * exp(g->store[s].trend * day);
    for (int s = 0; s < g->o.stores && norm > 0; s++) {
        const store_t *st = &g->store[s];
        double lambda = anon_total * st->weight * st->dow[wd] * exp(st->trend * day) / norm;
        int n = rng_poisson(r, lambda);
        for (int k = 0; k < n; k++) {
            int64_t ts = day_start + (8 * 3600 + (int64_t)rng_below(r, 12 * 3600)) * 1000;
            ss_txn_t *t = push_txn(&g->evs, &g->nevs, &g->capevs);
            make_purchase(g, t, -1, s, day, ts);
            if (t->n_lines == 0)
                g->nevs--;
        }
    }
    /* returns that fall due today */
    int64_t day_end = day_start + DAY_MS;
    for (size_t i = 0; i < g->npending;) {
        if (g->pending[i].event_time_ms < day_end) {
            ss_txn_copy(push_txn(&g->evs, &g->nevs, &g->capevs), &g->pending[i]);
            /* swap-remove; the order is fixed by the sort below */
            ss_txn_t tmp = g->pending[i];
            g->pending[i] = g->pending[g->npending - 1];
            g->pending[g->npending - 1] = tmp;
            g->npending--;
        } else {
            i++;
        }
    }
    qsort(g->evs, g->nevs, sizeof(*g->evs), cmp_txn);
}

static void make_bad(gen_t *g, ss_txn_t *t, gen_bad_t kind) {
    ss_txn_copy(t, &g->last);
    size_t n = strlen(t->order_id);
    if (n + 4 <= SS_ID_MAX)
        memcpy(t->order_id + n, "-bad", 5);
    size_t i = t->n_lines ? rng_below(&g->bad_rng, (uint32_t)t->n_lines) : 0;
    switch (kind) {
    case GEN_BAD_QUANTITY:
        t->lines[i].quantity = 0;
        break;
    case GEN_BAD_PRICE:
        t->lines[i].unit_price = NAN;
        break;
    case GEN_BAD_ID:
        t->order_id[0] = '\0';
        break;
    case GEN_BAD_NO_LINES:
        t->n_lines = 0;
        break;
    default:
        break; /* raw kinds: the content is the source for the producer's broken payload */
    }
}

int gen_next(gen_t *g, ss_txn_t *t, gen_bad_t *bad) {
    if (g->bad_pending) {
        g->bad_pending = 0;
        gen_bad_t kind = (gen_bad_t)(1 + rng_below(&g->bad_rng, GEN_BAD_COUNT - 1));
        make_bad(g, t, kind);
        *bad = kind;
        return 1;
    }
    while (g->next_ev == g->nevs) {
        if (g->day >= g->o.days)
            return 0;
        build_day(g);
    }
    ss_txn_copy(t, &g->evs[g->next_ev++]);
    *bad = GEN_BAD_NONE;
    if (g->o.bad_rate > 0 && rng_unif(&g->bad_rng) < g->o.bad_rate) {
        ss_txn_copy(&g->last, t);
        g->bad_pending = 1;
    }
    return 1;
}

int gen_measure(const gen_opts_t *opts, gen_shape_t *shape, ss_err_t *err) {
    gen_t *g = gen_new(opts, err);
    if (!g)
        return err ? err->code : SS_ERR_INVAL;
    memset(shape, 0, sizeof(*shape));
    const gen_opts_t *o = &g->o;
    size_t bits = (size_t)o->customers * (size_t)o->products;
    uint8_t *seen = bits <= (size_t)1 << 33 ? ss_xcalloc(bits / 8 + 1, 1) : NULL;
    uint32_t *distinct = ss_xcalloc((size_t)o->customers, sizeof(uint32_t));
    uint64_t lines = 0, units = 0, pairs = 0, same = 0, per_wd[7] = {0};
    double amount = 0;
    ss_txn_t t = SS_TXN_INIT;
    gen_bad_t bad;
    while (gen_next(g, &t, &bad)) {
        if (bad) {
            shape->bad++;
            continue;
        }
        shape->events++;
        lines += t.n_lines;
        for (size_t i = 0; i < t.n_lines; i++)
            units += (uint64_t)t.lines[i].quantity;
        if (t.kind == SS_TXN_RETURN) {
            shape->returns++;
            continue;
        }
        shape->purchases++;
        amount += ss_txn_amount(&t);
        per_wd[weekday(g, (int)((t.event_time_ms - o->start_ms) / DAY_MS))]++;
        for (size_t i = 0; i < t.n_lines; i++)
            for (size_t j = i + 1; j < t.n_lines; j++) {
                pairs++;
                same += gen_product_group(g, gen_id_index(t.lines[i].product_id, 'p')) ==
                        gen_product_group(g, gen_id_index(t.lines[j].product_id, 'p'));
            }
        if (!t.has_customer) {
            shape->anonymous++;
            continue;
        }
        int c = gen_id_index(t.customer_id, 'c');
        for (size_t i = 0; seen && i < t.n_lines; i++) {
            size_t bit =
                (size_t)c * (size_t)o->products + (size_t)gen_id_index(t.lines[i].product_id, 'p');
            if (!(seen[bit / 8] & (1u << (bit % 8)))) {
                seen[bit / 8] |= (uint8_t)(1u << (bit % 8));
                distinct[c]++;
            }
        }
    }
    uint64_t dsum = 0;
    for (int c = 0; c < o->customers; c++) {
        if (distinct[c]) {
            shape->buying_customers++;
            dsum += distinct[c];
        }
        shape->churners += g->cust[c].churn_day >= 0;
    }
    shape->lines_per_order = shape->events ? (double)lines / (double)shape->events : 0;
    shape->units_per_line = lines ? (double)units / (double)lines : 0;
    shape->mean_amount = shape->purchases ? amount / (double)shape->purchases : 0;
    shape->distinct_products = shape->buying_customers ? (double)dsum / shape->buying_customers : 0;
    shape->same_group_pairs = pairs ? (double)same / (double)pairs : 0;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (int d = 0; d < 7; d++) {
        if (per_wd[d] < lo)
            lo = per_wd[d];
        if (per_wd[d] > hi)
            hi = per_wd[d];
    }
    shape->weekday_ratio = lo ? (double)hi / (double)lo : 0;
    ss_txn_release(&t);
    free(seen);
    free(distinct);
    gen_destroy(g);
    return 0;
}
