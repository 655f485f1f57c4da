/* icf: incremental item-item cosine. See itemcf.h and docs/recommendations.md.
 *
 * Layout: products and customers are interned to dense indexes (arrival order). A customer's row
 * of the matrix is a small open-addressing map product -> summed quantity. A product's pair row
 * maps every co-bought product to the exact column dot product; it starts as an open-addressing
 * map and turns into a dense array indexed by product once that is smaller (popular products
 * co-occur with most of the catalogue). Every pair is stored in both rows, so the neighbours of a
 * product are one scan of its row. Quantities only grow (returns are ignored), so entries are
 * never removed and no tombstones are needed. Each row caches its neighbour selection; dot and
 * norm updates drop exactly the caches they can change (cache_dot, cache_norm). */
#include "itemcf.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================================
 * Small helpers
 * ====================================================================================== */

static uint64_t fnv1a(const void *p, size_t n, uint64_t h) {
    const unsigned char *u = p;
    for (size_t i = 0; i < n; i++) {
        h ^= u[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}
#define FNV_INIT UINT64_C(0xcbf29ce484222325)

/* ---- string -> uint64 map (owns its key strings) ---- */

typedef struct strmap {
    char **keys;    /* cap slots, NULL = empty; owned */
    uint64_t *vals; /* parallel to keys */
    size_t cap;     /* power of two, or 0 */
    size_t count;
} strmap_t;

static void strmap_release(strmap_t *sm) {
    for (size_t i = 0; i < sm->cap; i++)
        free(sm->keys[i]);
    free(sm->keys);
    free(sm->vals);
    memset(sm, 0, sizeof(*sm));
}

/* Returns the slot of key (occupied or the empty one where it would go). cap must be > 0. */
static size_t strmap_slot(const strmap_t *sm, const char *key, size_t len) {
    size_t i = (size_t)fnv1a(key, len, FNV_INIT) & (sm->cap - 1);
    while (sm->keys[i] && (strncmp(sm->keys[i], key, len) != 0 || sm->keys[i][len] != '\0'))
        i = (i + 1) & (sm->cap - 1);
    return i;
}

static void strmap_grow(strmap_t *sm) {
    strmap_t n = {0};
    n.cap = sm->cap ? sm->cap * 2 : 16;
    n.keys = ss_xcalloc(n.cap, sizeof(*n.keys));
    n.vals = ss_xcalloc(n.cap, sizeof(*n.vals));
    for (size_t i = 0; i < sm->cap; i++) {
        if (!sm->keys[i])
            continue;
        size_t j = strmap_slot(&n, sm->keys[i], strlen(sm->keys[i]));
        n.keys[j] = sm->keys[i];
        n.vals[j] = sm->vals[i];
    }
    n.count = sm->count;
    free(sm->keys);
    free(sm->vals);
    *sm = n;
}

/* Returns 1 and *val if key is present, else 0. */
static int strmap_get(const strmap_t *sm, const char *key, uint64_t *val) {
    size_t i;
    if (!sm->cap)
        return 0;
    i = strmap_slot(sm, key, strlen(key));
    if (!sm->keys[i])
        return 0;
    *val = sm->vals[i];
    return 1;
}

/* Inserts key (copied) -> val; key must be absent. Returns the map's copy of the key. */
static const char *strmap_put(strmap_t *sm, const char *key, uint64_t val) {
    size_t i, len = strlen(key);
    if ((sm->count + 1) * 4 > sm->cap * 3)
        strmap_grow(sm);
    i = strmap_slot(sm, key, len);
    SS_ASSERT(!sm->keys[i]);
    sm->keys[i] = ss_xstrndup(key, len);
    sm->vals[i] = val;
    sm->count++;
    return sm->keys[i];
}

/* ---- product index -> int64 vector: sparse map or dense array ---- */

typedef struct vec {
    uint32_t *keys; /* sparse: product index + 1 per slot, 0 = empty; NULL when dense */
    int64_t *vals;  /* sparse: parallel to keys; dense: value of product i at vals[i] */
    uint32_t cap;   /* sparse: slots (power of two); dense: entries allocated */
    uint32_t count; /* non-zero entries */
    int dense;
} vec_t;

static inline uint32_t vec_hash(uint32_t k, uint32_t cap) {
    return (uint32_t)((k * UINT32_C(0x9E3779B1)) >> 7) & (cap - 1);
}

static int64_t vec_get(const vec_t *v, uint32_t k) {
    uint32_t i;
    if (v->dense)
        return k < v->cap ? v->vals[k] : 0;
    if (!v->cap)
        return 0;
    for (i = vec_hash(k, v->cap); v->keys[i]; i = (i + 1) & (v->cap - 1))
        if (v->keys[i] == k + 1)
            return v->vals[i];
    return 0;
}

static size_t vec_bytes(const vec_t *v) {
    return v->dense ? (size_t)v->cap * sizeof(int64_t)
                    : (size_t)v->cap * (sizeof(uint32_t) + sizeof(int64_t));
}

static void vec_release(vec_t *v) {
    free(v->keys);
    free(v->vals);
    memset(v, 0, sizeof(*v));
}

static void vec_make_dense(vec_t *v, uint32_t len) {
    int64_t *d = ss_xcalloc(len, sizeof(*d));
    for (uint32_t i = 0; i < v->cap; i++)
        if (v->keys[i])
            d[v->keys[i] - 1] = v->vals[i];
    free(v->keys);
    free(v->vals);
    v->keys = NULL;
    v->vals = d;
    v->cap = len;
    v->dense = 1;
}

static void vec_rehash(vec_t *v, uint32_t cap) {
    vec_t n = {ss_xcalloc(cap, sizeof(uint32_t)), ss_xcalloc(cap, sizeof(int64_t)), cap, v->count,
               0};
    for (uint32_t i = 0; i < v->cap; i++) {
        uint32_t j;
        if (!v->keys[i])
            continue;
        for (j = vec_hash(v->keys[i] - 1, cap); n.keys[j]; j = (j + 1) & (cap - 1))
            ;
        n.keys[j] = v->keys[i];
        n.vals[j] = v->vals[i];
    }
    free(v->keys);
    free(v->vals);
    *v = n;
}

/* Returns a pointer to the value of k, inserting 0 if absent (*isnew = 1). dense_len > 0 allows
 * the switch to a dense array of at least dense_len entries when that takes fewer bytes than the
 * grown map; dense_len is also the length a dense vector grows to. */
static int64_t *vec_slot(vec_t *v, uint32_t k, uint32_t dense_len, int *isnew) {
    uint32_t i;
    if (!v->dense && (v->count + 1) * 4 > v->cap * 3) {
        uint32_t ncap = v->cap ? v->cap * 2 : 8;
        if (dense_len && (uint64_t)ncap * 12 >= (uint64_t)dense_len * 8)
            vec_make_dense(v, dense_len > k ? dense_len : k + 1);
        else
            vec_rehash(v, ncap);
    }
    if (v->dense) {
        if (k >= v->cap) {
            uint32_t len = dense_len > k ? dense_len : k + 1;
            v->vals = ss_xrealloc(v->vals, (size_t)len * sizeof(int64_t));
            memset(v->vals + v->cap, 0, (size_t)(len - v->cap) * sizeof(int64_t));
            v->cap = len;
        }
        *isnew = v->vals[k] == 0;
        v->count += (uint32_t)*isnew;
        return &v->vals[k];
    }
    for (i = vec_hash(k, v->cap); v->keys[i]; i = (i + 1) & (v->cap - 1))
        if (v->keys[i] == k + 1) {
            *isnew = 0;
            return &v->vals[i];
        }
    v->keys[i] = k + 1;
    v->vals[i] = 0;
    v->count++;
    *isnew = 1;
    return &v->vals[i];
}

/* ======================================================================================
 * The model
 * ====================================================================================== */

typedef struct nb {
    double cos;
    int64_t dot;
    uint32_t b;
    const char *name;
} nb_t;

typedef struct scored {
    double score;
    uint32_t p;
    const char *name;
} scored_t;

/* Cached neighbour selection of one product row (for k = the model's neighbours). Valid while
 * no change can alter it: see cache_dot and cache_norm. */
typedef struct rcache {
    uint32_t *s; /* survivors: row entries with key >= lo at computation (top k + ties band) */
    uint32_t n, cap;
    double lo;      /* low-water key at computation; DBL_MIN when the row had fewer than k */
    uint32_t epoch; /* bumped at every recomputation (stale watcher entries carry an old one) */
    uint8_t valid;
} rcache_t;

/* Rows whose survivors include a product: they depend on that product's norm. */
typedef struct watch {
    struct {
        uint32_t a, epoch;
    } * e;
    uint32_t n, cap;
} watch_t;

struct icf {
    uint32_t k; /* neighbours per bought product */

    /* products */
    strmap_t prod_ix;   /* id -> index */
    const char **pname; /* index -> id (borrowed from prod_ix) */
    int64_t *norm2;     /* squared column norm, exact */
    double *inv_norm;   /* 1 / sqrt(norm2), for the selection key */
    uint32_t *buyers;   /* distinct customers with a non-zero cell */
    vec_t *rows;        /* pair dot products, both directions */
    rcache_t *cache;    /* per row: cached top-k selection */
    watch_t *watch;     /* per product: rows whose cached selection holds it */
    uint32_t np, np_alloc;
    uint64_t cache_hits, cache_misses;

    /* customers */
    strmap_t cust_ix; /* id -> index */
    vec_t *cust;      /* product -> summed quantity */
    uint32_t nc, nc_alloc;

    strmap_t orders; /* order id -> content fingerprint (dedupe) */

    uint64_t entries, pairs, saturated;
    int64_t as_of_ms;

    /* scratch, sized np_alloc */
    double *score;
    uint8_t *mark;  /* 1 = bought by the customer at hand, 2 = candidate */
    int64_t *delta; /* per-order summed quantities */
    double *kbuf;   /* top-k selection keys, one per row slot */
    size_t kbuf_cap;
    double *heap; /* min-heap of the k best keys */
    size_t heap_cap;
    nb_t *nbuf;
    size_t nbuf_cap;
};

icf_t *icf_new(const icf_opts_t *opts) {
    icf_t *m = ss_xcalloc(1, sizeof(*m));
    m->k = opts && opts->neighbours ? opts->neighbours : ICF_NEIGHBOURS_DEFAULT;
    return m;
}

void icf_destroy(icf_t *m) {
    if (!m)
        return;
    for (uint32_t i = 0; i < m->np; i++) {
        vec_release(&m->rows[i]);
        free(m->cache[i].s);
        free(m->watch[i].e);
    }
    free(m->cache);
    free(m->watch);
    for (uint32_t i = 0; i < m->nc; i++)
        vec_release(&m->cust[i]);
    strmap_release(&m->prod_ix);
    strmap_release(&m->cust_ix);
    strmap_release(&m->orders);
    free(m->pname);
    free(m->norm2);
    free(m->inv_norm);
    free(m->buyers);
    free(m->rows);
    free(m->cust);
    free(m->score);
    free(m->mark);
    free(m->delta);
    free(m->kbuf);
    free(m->heap);
    free(m->nbuf);
    free(m);
}

const char *icf_method_name(icf_method_t method) {
    return method == ICF_METHOD_POPULAR ? "popular" : "item-cosine";
}

static int64_t sat_add(icf_t *m, int64_t a, int64_t b) {
    int64_t r;
    if (__builtin_add_overflow(a, b, &r)) {
        m->saturated++;
        return INT64_MAX;
    }
    return r;
}

static int64_t sat_mul(icf_t *m, int64_t a, int64_t b) {
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r)) {
        m->saturated++;
        return INT64_MAX;
    }
    return r;
}

static int product_find(const icf_t *m, const char *id, uint32_t *p) {
    uint64_t v;
    if (!strmap_get(&m->prod_ix, id, &v))
        return 0;
    *p = (uint32_t)v;
    return 1;
}

static int customer_find(const icf_t *m, const char *id, uint32_t *c) {
    uint64_t v;
    if (!strmap_get(&m->cust_ix, id, &v))
        return 0;
    *c = (uint32_t)v;
    return 1;
}

static uint32_t product_intern(icf_t *m, const char *id) {
    uint32_t p;
    if (product_find(m, id, &p))
        return p;
    if (m->np == m->np_alloc) {
        uint32_t n = m->np_alloc ? m->np_alloc * 2 : 64;
        m->pname = ss_xrealloc(m->pname, n * sizeof(*m->pname));
        m->norm2 = ss_xrealloc(m->norm2, n * sizeof(*m->norm2));
        m->inv_norm = ss_xrealloc(m->inv_norm, n * sizeof(*m->inv_norm));
        m->buyers = ss_xrealloc(m->buyers, n * sizeof(*m->buyers));
        m->rows = ss_xrealloc(m->rows, n * sizeof(*m->rows));
        m->cache = ss_xrealloc(m->cache, n * sizeof(*m->cache));
        m->watch = ss_xrealloc(m->watch, n * sizeof(*m->watch));
        m->score = ss_xrealloc(m->score, n * sizeof(*m->score));
        m->mark = ss_xrealloc(m->mark, n * sizeof(*m->mark));
        m->delta = ss_xrealloc(m->delta, n * sizeof(*m->delta));
        memset(m->score + m->np_alloc, 0, (n - m->np_alloc) * sizeof(*m->score));
        memset(m->mark + m->np_alloc, 0, (n - m->np_alloc) * sizeof(*m->mark));
        memset(m->delta + m->np_alloc, 0, (n - m->np_alloc) * sizeof(*m->delta));
        m->np_alloc = n;
    }
    p = m->np++;
    m->pname[p] = strmap_put(&m->prod_ix, id, p);
    m->norm2[p] = 0;
    m->inv_norm[p] = 0;
    m->buyers[p] = 0;
    memset(&m->rows[p], 0, sizeof(m->rows[p]));
    memset(&m->cache[p], 0, sizeof(m->cache[p]));
    memset(&m->watch[p], 0, sizeof(m->watch[p]));
    return p;
}

static uint32_t customer_intern(icf_t *m, const char *id) {
    uint32_t c;
    if (customer_find(m, id, &c))
        return c;
    if (m->nc == m->nc_alloc) {
        uint32_t n = m->nc_alloc ? m->nc_alloc * 2 : 64;
        m->cust = ss_xrealloc(m->cust, n * sizeof(*m->cust));
        m->nc_alloc = n;
    }
    c = m->nc++;
    strmap_put(&m->cust_ix, id, c);
    memset(&m->cust[c], 0, sizeof(m->cust[c]));
    return c;
}

/* Row a's dot with b grew to dot. Its cached selection stays exact unless b's key now reaches the
 * low-water mark: a survivor's key only grows here (its norm has not changed, or the watcher
 * rule already dropped the cache), and a non-survivor still below the mark cannot enter. */
static void cache_dot(icf_t *m, uint32_t a, uint32_t b, int64_t dot) {
    rcache_t *rc = &m->cache[a];
    if (rc->valid && (double)dot * m->inv_norm[b] >= rc->lo)
        rc->valid = 0;
}

/* Product b's norm grew: the key of b falls in every row, which only matters to rows whose
 * selection holds b. */
static void cache_norm(icf_t *m, uint32_t b) {
    watch_t *w = &m->watch[b];
    for (uint32_t i = 0; i < w->n; i++) {
        rcache_t *rc = &m->cache[w->e[i].a];
        if (rc->epoch == w->e[i].epoch)
            rc->valid = 0;
    }
    w->n = 0;
}

static void watch_add(icf_t *m, uint32_t b, uint32_t a, uint32_t epoch) {
    watch_t *w = &m->watch[b];
    if (w->n == w->cap) {
        /* drop entries of rows recomputed since (their epoch moved on) before growing */
        uint32_t keep = 0;
        for (uint32_t i = 0; i < w->n; i++)
            if (m->cache[w->e[i].a].epoch == w->e[i].epoch && m->cache[w->e[i].a].valid)
                w->e[keep++] = w->e[i];
        w->n = keep;
        if (w->n * 2 >= w->cap) {
            w->cap = w->cap ? w->cap * 2 : 8;
            w->e = ss_xrealloc(w->e, w->cap * sizeof(*w->e));
        }
    }
    w->e[w->n].a = a;
    w->e[w->n++].epoch = epoch;
}

static void row_add(icf_t *m, uint32_t a, uint32_t b, int64_t inc, int *isnew) {
    int64_t *d = vec_slot(&m->rows[a], b, m->np_alloc, isnew);
    *d = sat_add(m, *d, inc);
    cache_dot(m, a, b, *d);
}

/* Adds delta (>= 1) units of product p to customer c: a rank-one update of the pair dots with
 * every other product of c (at its current quantity), then of p's norm and the cell itself. */
static void add_cell(icf_t *m, uint32_t c, uint32_t p, int64_t delta) {
    vec_t *cv = &m->cust[c];
    int64_t q = vec_get(cv, p), *cell;
    int isnew;

    /* The norm first: the cache checks of the dot updates below then see p's final key (a new
     * product's key would otherwise read as 0 and slip under every low-water mark). */
    /* (q + delta)^2 - q^2 = delta * (2q + delta) */
    m->norm2[p] = sat_add(m, m->norm2[p], sat_mul(m, delta, sat_add(m, sat_mul(m, 2, q), delta)));
    m->inv_norm[p] = 1.0 / sqrt((double)m->norm2[p]);
    cache_norm(m, p);
    for (uint32_t i = 0; i < cv->cap; i++) {
        uint32_t r;
        int64_t inc;
        if (!cv->keys[i] || (r = cv->keys[i] - 1) == p)
            continue;
        inc = sat_mul(m, delta, cv->vals[i]);
        row_add(m, p, r, inc, &isnew);
        row_add(m, r, p, inc, &isnew);
        m->pairs += (uint64_t)isnew;
    }
    cell = vec_slot(cv, p, 0, &isnew);
    if (isnew) {
        m->buyers[p]++;
        m->entries++;
    }
    *cell = sat_add(m, *cell, delta);
}

static int id_ok(const char *s) {
    size_t n = strlen(s);
    return n > 0 && n <= SS_ID_MAX;
}

int icf_add(icf_t *m, const char *customer, const char *product, int64_t qty, ss_err_t *err) {
    if (!id_ok(customer))
        return ss_err_set(err, SS_ERR_INVAL, "bad customer id '%.80s'", customer);
    if (!id_ok(product))
        return ss_err_set(err, SS_ERR_INVAL, "bad product id '%.80s'", product);
    if (qty < 1)
        return ss_err_set(err, SS_ERR_INVAL, "quantity %lld < 1", (long long)qty);
    add_cell(m, customer_intern(m, customer), product_intern(m, product), qty);
    return 0;
}

int icf_apply(icf_t *m, const ss_txn_t *t, icf_status_t *status, ss_err_t *err) {
    uint64_t fp, seen;
    uint32_t c, *order_products;
    size_t n = 0;

    if (t->kind != SS_TXN_PURCHASE || !t->has_customer) {
        *status = ICF_IGNORED;
        return 0;
    }
    if (!id_ok(t->order_id) || !id_ok(t->customer_id))
        return ss_err_set(err, SS_ERR_INVAL, "order '%.80s': empty or too long id", t->order_id);
    if (t->n_lines == 0)
        return ss_err_set(err, SS_ERR_INVAL, "order '%s': no lines", t->order_id);
    for (size_t i = 0; i < t->n_lines; i++)
        if (t->lines[i].quantity < 1 || !id_ok(t->lines[i].product_id))
            return ss_err_set(err, SS_ERR_INVAL, "order '%s': line %zu: bad product or quantity",
                              t->order_id, i + 1);
    fp = ss_txn_fingerprint(t);
    if (strmap_get(&m->orders, t->order_id, &seen)) {
        *status = seen == fp ? ICF_DUPLICATE : ICF_CONFLICT;
        return 0;
    }
    strmap_put(&m->orders, t->order_id, fp);

    /* Sum the lines per product (first-appearance order), then one update per product. */
    order_products = ss_xmalloc(t->n_lines * sizeof(*order_products));
    for (size_t i = 0; i < t->n_lines; i++) {
        uint32_t p = product_intern(m, t->lines[i].product_id);
        if (m->delta[p] == 0)
            order_products[n++] = p;
        m->delta[p] = sat_add(m, m->delta[p], t->lines[i].quantity);
    }
    c = customer_intern(m, t->customer_id);
    for (size_t i = 0; i < n; i++) {
        add_cell(m, c, order_products[i], m->delta[order_products[i]]);
        m->delta[order_products[i]] = 0;
    }
    free(order_products);
    if (t->event_time_ms > m->as_of_ms)
        m->as_of_ms = t->event_time_ms;
    *status = ICF_APPLIED;
    return 0;
}

/* ======================================================================================
 * Queries
 * ====================================================================================== */

static int nb_cmp(const void *x, const void *y) {
    const nb_t *a = x, *b = y;
    if (a->cos != b->cos)
        return a->cos < b->cos ? 1 : -1;
    return strcmp(a->name, b->name);
}

static int scored_cmp(const void *x, const void *y) {
    const scored_t *a = x, *b = y;
    if (a->score != b->score)
        return a->score < b->score ? 1 : -1;
    return strcmp(a->name, b->name);
}

/* Relative margin of the selection key: keys and exact cosines differ by a few ulps, so a member
 * of the exact top k always has key >= (k-th best key) * (1 - KEY_EPS). */
#define KEY_EPS 1e-9

static void heap_sift_down(double *h, size_t n, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, s = i;
        double t;
        if (l < n && h[l] < h[s])
            s = l;
        if (r < n && h[r] < h[s])
            s = r;
        if (s == i)
            return;
        t = h[i];
        h[i] = h[s];
        h[s] = t;
        i = s;
    }
}

static void heap_push(double *h, size_t *n, double v) {
    size_t i = (*n)++;
    h[i] = v;
    while (i > 0 && h[(i - 1) / 2] > h[i]) {
        double t = h[i];
        h[i] = h[(i - 1) / 2];
        h[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static nb_t *nbuf_push(icf_t *m, size_t *n) {
    if (*n == m->nbuf_cap) {
        m->nbuf_cap = m->nbuf_cap ? m->nbuf_cap * 2 : 32;
        m->nbuf = ss_xrealloc(m->nbuf, m->nbuf_cap * sizeof(*m->nbuf));
    }
    return &m->nbuf[(*n)++];
}

static void nb_fill(icf_t *m, nb_t *e, uint32_t a, uint32_t b, int64_t dot) {
    e->b = b;
    e->dot = dot;
    e->cos = (double)dot / sqrt((double)m->norm2[a] * (double)m->norm2[b]);
    e->name = m->pname[b];
}

/* The selection of row a into m->nbuf (unsorted), returning how many: pass 1 computes a cheap key
 * per entry (dot / sqrt(norm_b), proportional to the cosine within rounding) and the k-th largest
 * key with a min-heap; pass 2 keeps the entries within KEY_EPS of it, so every member of the exact
 * top k and every tie at its boundary survives. *lo gets the low-water key. O(row length). */
static size_t select_row(icf_t *m, uint32_t a, size_t k, double *lo) {
    const vec_t *row = &m->rows[a];
    uint32_t len = row->cap;
    size_t n = 0, hn = 0;
    double *key;

    if (len > m->kbuf_cap) {
        m->kbuf_cap = len;
        m->kbuf = ss_xrealloc(m->kbuf, (size_t)len * sizeof(*m->kbuf));
    }
    if (k > m->heap_cap) {
        m->heap_cap = k;
        m->heap = ss_xrealloc(m->heap, k * sizeof(*m->heap));
    }
    key = m->kbuf;
    if (row->dense) {
        for (uint32_t b = 0; b < len; b++)
            key[b] = (double)row->vals[b] * m->inv_norm[b];
    } else {
        for (uint32_t i = 0; i < len; i++)
            key[i] = row->keys[i] ? (double)row->vals[i] * m->inv_norm[row->keys[i] - 1] : 0;
    }
    for (uint32_t i = 0; i < len; i++) {
        if (hn == k) {
            if (key[i] > m->heap[0]) {
                m->heap[0] = key[i];
                heap_sift_down(m->heap, hn, 0);
            }
        } else if (key[i] > 0) {
            heap_push(m->heap, &hn, key[i]);
        }
    }
    *lo = hn < k ? DBL_MIN : m->heap[0] * (1 - KEY_EPS);
    for (uint32_t i = 0; i < len; i++)
        if (key[i] >= *lo)
            nb_fill(m, nbuf_push(m, &n), a, row->dense ? i : row->keys[i] - 1, row->vals[i]);
    return n;
}

/* The k most similar other products of a, exact order (cosine desc, id asc), in *out (m->nbuf,
 * valid until the next call); returns how many. For the model's k the survivors are cached per
 * row, and a valid cache only needs its few exact cosines recomputed with the current norms. */
static size_t topk(icf_t *m, uint32_t a, size_t k, nb_t **out) {
    rcache_t *rc = &m->cache[a];
    size_t n = 0;

    *out = m->nbuf;
    if (k == 0 || m->rows[a].count == 0)
        return 0;
    if (k == m->k && rc->valid) {
        m->cache_hits++;
        for (uint32_t i = 0; i < rc->n; i++)
            nb_fill(m, nbuf_push(m, &n), a, rc->s[i], vec_get(&m->rows[a], rc->s[i]));
    } else {
        double lo;
        n = select_row(m, a, k, &lo);
        if (k == m->k) {
            m->cache_misses++;
            if (n > rc->cap) {
                rc->cap = (uint32_t)n;
                rc->s = ss_xrealloc(rc->s, n * sizeof(*rc->s));
            }
            rc->n = (uint32_t)n;
            rc->lo = lo;
            rc->epoch++;
            rc->valid = 1;
            for (size_t i = 0; i < n; i++) {
                rc->s[i] = m->nbuf[i].b;
                watch_add(m, m->nbuf[i].b, a, rc->epoch);
            }
        }
    }
    qsort(m->nbuf, n, sizeof(*m->nbuf), nb_cmp);
    *out = m->nbuf;
    return n < k ? n : k;
}

size_t icf_neighbours(icf_t *m, const char *product, size_t k, icf_neighbour_t *out) {
    uint32_t a;
    nb_t *nbs;
    size_t n;
    if (!product_find(m, product, &a))
        return 0;
    n = topk(m, a, k, &nbs);
    for (size_t i = 0; i < n; i++) {
        snprintf(out[i].product_id, sizeof(out[i].product_id), "%s", nbs[i].name);
        out[i].cosine = nbs[i].cos;
        out[i].dot = nbs[i].dot;
    }
    return n;
}

/* Popular products whose mark is 0, best first, into out[0..n). */
static size_t popular_unmarked(icf_t *m, size_t n, icf_item_t *out) {
    scored_t *best;
    size_t cnt = 0;
    if (n == 0)
        return 0;
    best = ss_xmalloc(n * sizeof(*best));
    for (uint32_t p = 0; p < m->np; p++) {
        scored_t s = {(double)m->buyers[p], p, m->pname[p]};
        size_t i;
        if (m->mark[p] || m->buyers[p] == 0)
            continue;
        if (cnt == n && scored_cmp(&s, &best[n - 1]) >= 0)
            continue;
        i = cnt < n ? cnt++ : n - 1;
        while (i > 0 && scored_cmp(&s, &best[i - 1]) < 0) {
            best[i] = best[i - 1];
            i--;
        }
        best[i] = s;
    }
    for (size_t i = 0; i < cnt; i++) {
        snprintf(out[i].product_id, sizeof(out[i].product_id), "%s", best[i].name);
        out[i].score = best[i].score;
    }
    free(best);
    return cnt;
}

size_t icf_popular(icf_t *m, size_t n, icf_item_t *out) { return popular_unmarked(m, n, out); }

size_t icf_popular_for(icf_t *m, const char *customer, size_t n, icf_item_t *out) {
    uint32_t c;
    size_t cnt;
    const vec_t *cv;
    if (!customer_find(m, customer, &c))
        return popular_unmarked(m, n, out);
    cv = &m->cust[c];
    for (uint32_t i = 0; i < cv->cap; i++)
        if (cv->keys[i])
            m->mark[cv->keys[i] - 1] = 1;
    cnt = popular_unmarked(m, n, out);
    for (uint32_t i = 0; i < cv->cap; i++)
        if (cv->keys[i])
            m->mark[cv->keys[i] - 1] = 0;
    return cnt;
}

int64_t icf_as_of(const icf_t *m) { return m->as_of_ms; }

typedef struct named {
    const char *name;
    uint32_t p;
} named_t;

static int named_cmp(const void *x, const void *y) {
    return strcmp(((const named_t *)x)->name, ((const named_t *)y)->name);
}

size_t icf_recommend(icf_t *m, const char *customer, size_t n, icf_item_t *out,
                     icf_method_t *method) {
    uint32_t c;
    const vec_t *cv;
    named_t *bought;
    uint32_t *cands = NULL;
    size_t nb = 0, ncand = 0, cnt;
    scored_t *sc;

    if (n == 0)
        n = ICF_TOP_N_DEFAULT;
    if (!customer_find(m, customer, &c)) {
        if (method)
            *method = ICF_METHOD_POPULAR;
        return popular_unmarked(m, n, out);
    }
    cv = &m->cust[c];
    /* The bought products, in product id order: the sums below are then added in one fixed
     * order, so equal scores are bit-identical to the reference and ties are real ties. */
    bought = ss_xmalloc(cv->count * sizeof(*bought));
    for (uint32_t i = 0; i < cv->cap; i++)
        if (cv->keys[i]) {
            bought[nb].p = cv->keys[i] - 1;
            bought[nb++].name = m->pname[cv->keys[i] - 1];
            m->mark[cv->keys[i] - 1] = 1;
        }
    qsort(bought, nb, sizeof(*bought), named_cmp);
    cands = ss_xmalloc(((size_t)m->np + 1) * sizeof(*cands));
    for (size_t i = 0; i < nb; i++) {
        nb_t *nbs;
        size_t k = topk(m, bought[i].p, m->k, &nbs);
        for (size_t j = 0; j < k; j++) {
            uint32_t b = nbs[j].b;
            if (m->mark[b] == 1)
                continue;
            if (m->mark[b] == 0) {
                m->mark[b] = 2;
                m->score[b] = 0;
                cands[ncand++] = b;
            }
            m->score[b] += nbs[j].cos;
        }
    }
    if (ncand == 0) {
        if (method)
            *method = ICF_METHOD_POPULAR;
        cnt = popular_unmarked(m, n, out);
    } else {
        sc = ss_xmalloc(ncand * sizeof(*sc));
        for (size_t i = 0; i < ncand; i++) {
            sc[i].score = m->score[cands[i]];
            sc[i].p = cands[i];
            sc[i].name = m->pname[cands[i]];
        }
        qsort(sc, ncand, sizeof(*sc), scored_cmp);
        cnt = ncand < n ? ncand : n;
        for (size_t i = 0; i < cnt; i++) {
            snprintf(out[i].product_id, sizeof(out[i].product_id), "%s", sc[i].name);
            out[i].score = sc[i].score;
        }
        free(sc);
        if (method)
            *method = ICF_METHOD_COSINE;
    }
    for (size_t i = 0; i < ncand; i++) {
        m->mark[cands[i]] = 0;
        m->score[cands[i]] = 0;
    }
    for (uint32_t i = 0; i < cv->cap; i++)
        if (cv->keys[i])
            m->mark[cv->keys[i] - 1] = 0;
    free(cands);
    free(bought);
    return cnt;
}

int64_t icf_quantity(const icf_t *m, const char *customer, const char *product) {
    uint32_t c, p;
    if (!customer_find(m, customer, &c) || !product_find(m, product, &p))
        return 0;
    return vec_get(&m->cust[c], p);
}

int64_t icf_norm2(const icf_t *m, const char *product) {
    uint32_t p;
    return product_find(m, product, &p) ? m->norm2[p] : 0;
}

int64_t icf_dot(const icf_t *m, const char *a, const char *b) {
    uint32_t pa, pb;
    if (!product_find(m, a, &pa) || !product_find(m, b, &pb) || pa == pb)
        return 0;
    return vec_get(&m->rows[pa], pb);
}

size_t icf_customer_products(const icf_t *m, const char *customer) {
    uint32_t c;
    return customer_find(m, customer, &c) ? m->cust[c].count : 0;
}

int icf_has_customer(const icf_t *m, const char *customer) {
    uint32_t c;
    return customer_find(m, customer, &c);
}

void icf_stats(const icf_t *m, icf_stats_t *st) {
    uint64_t pb = 0, tb = 0;
    memset(st, 0, sizeof(*st));
    st->products = m->np;
    st->customers = m->nc;
    st->entries = m->entries;
    st->pairs = m->pairs;
    st->orders = m->orders.count;
    st->as_of_ms = m->as_of_ms;
    st->saturated = m->saturated;
    st->cache_hits = m->cache_hits;
    st->cache_misses = m->cache_misses;
    for (uint32_t i = 0; i < m->np; i++) {
        pb += vec_bytes(&m->rows[i]);
        st->dense_rows += (uint64_t)m->rows[i].dense;
    }
    for (uint32_t i = 0; i < m->nc; i++)
        tb += vec_bytes(&m->cust[i]);
    tb += (uint64_t)m->np_alloc *
          (sizeof(char *) + sizeof(int64_t) + sizeof(double) + sizeof(uint32_t) + sizeof(vec_t) +
           sizeof(double) + 1 + sizeof(int64_t));
    tb += (uint64_t)m->nc_alloc * sizeof(vec_t);
    /* string maps: slot arrays plus the key strings (~16 bytes of malloc overhead each) */
    tb += (m->prod_ix.cap + m->cust_ix.cap + m->orders.cap) * (sizeof(char *) + sizeof(uint64_t));
    tb += (m->prod_ix.count + m->cust_ix.count + m->orders.count) * 32;
    st->bytes_pairs = pb;
    st->bytes_total = pb + tb;
}

/* ======================================================================================
 * Snapshots
 * ====================================================================================== */

#define SNAP_MAGIC "SSRECO\x01\n" /* 8 bytes: name, format version 1, newline */

static void put_varint(ss_buf_t *b, uint64_t v) {
    while (v >= 0x80) {
        ss_buf_addch(b, (int)((v & 0x7f) | 0x80));
        v >>= 7;
    }
    ss_buf_addch(b, (int)v);
}

static void put_str(ss_buf_t *b, const char *s) {
    size_t n = strlen(s);
    put_varint(b, n);
    ss_buf_add(b, s, n);
}

static void put_u64(ss_buf_t *b, uint64_t v) {
    for (int i = 0; i < 8; i++)
        ss_buf_addch(b, (int)((v >> (8 * i)) & 0xff));
}

void icf_snapshot(const icf_t *m, ss_buf_t *out) {
    size_t start = out->len;
    ss_buf_add(out, SNAP_MAGIC, 8);
    put_varint(out, (uint64_t)m->as_of_ms);
    put_varint(out, m->np);
    for (uint32_t p = 0; p < m->np; p++)
        put_str(out, m->pname[p]);
    put_varint(out, m->nc);
    for (size_t i = 0; i < m->cust_ix.cap; i++) {
        const vec_t *cv;
        if (!m->cust_ix.keys[i])
            continue;
        cv = &m->cust[m->cust_ix.vals[i]];
        put_str(out, m->cust_ix.keys[i]);
        put_varint(out, cv->count);
        for (uint32_t j = 0; j < cv->cap; j++)
            if (cv->keys[j]) {
                put_varint(out, cv->keys[j] - 1);
                put_varint(out, (uint64_t)cv->vals[j]);
            }
    }
    put_varint(out, m->orders.count);
    for (size_t i = 0; i < m->orders.cap; i++)
        if (m->orders.keys[i]) {
            put_str(out, m->orders.keys[i]);
            put_u64(out, m->orders.vals[i]);
        }
    put_u64(out, fnv1a(out->buf + start, out->len - start, FNV_INIT));
}

typedef struct rd {
    const uint8_t *p, *end;
    const char *bad; /* first problem, or NULL */
} rd_t;

static uint64_t get_varint(rd_t *r) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) {
            r->bad = r->bad ? r->bad : "truncated";
            return 0;
        }
        v |= (uint64_t)(*r->p & 0x7f) << shift;
        if (!(*r->p++ & 0x80))
            return v;
    }
    r->bad = r->bad ? r->bad : "varint too long";
    return 0;
}

/* Copies a length-prefixed id into out (SS_ID_MAX + 1 bytes). */
static void get_id(rd_t *r, char *out) {
    uint64_t n = get_varint(r);
    out[0] = '\0';
    if (r->bad)
        return;
    if (n == 0 || n > SS_ID_MAX || n > (uint64_t)(r->end - r->p) || memchr(r->p, '\0', (size_t)n)) {
        r->bad = "bad id";
        return;
    }
    memcpy(out, r->p, (size_t)n);
    out[n] = '\0';
    r->p += n;
}

static uint64_t get_u64(rd_t *r) {
    uint64_t v = 0;
    if (r->end - r->p < 8) {
        r->bad = r->bad ? r->bad : "truncated";
        return 0;
    }
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)r->p[i] << (8 * i);
    r->p += 8;
    return v;
}

icf_t *icf_restore(const void *buf, size_t len, const icf_opts_t *opts, ss_err_t *err) {
    rd_t r = {buf, (const uint8_t *)buf + len, NULL};
    icf_t *m;
    char id[SS_ID_MAX + 1];
    uint64_t np, nc, no;

    if (len < 16 || memcmp(buf, SNAP_MAGIC, 6) != 0) {
        ss_err_set(err, SS_ERR_DECODE, "snapshot: bad magic or too short (%zu bytes)", len);
        return NULL;
    }
    if (memcmp(buf, SNAP_MAGIC, 8) != 0) {
        ss_err_set(err, SS_ERR_DECODE, "snapshot: unsupported format version %d",
                   ((const uint8_t *)buf)[6]);
        return NULL;
    }
    r.end -= 8;
    {
        rd_t t = {r.end, r.end + 8, NULL};
        if (get_u64(&t) != fnv1a(buf, len - 8, FNV_INIT)) {
            ss_err_set(err, SS_ERR_DECODE, "snapshot: checksum mismatch");
            return NULL;
        }
    }
    r.p += 8;
    m = icf_new(opts);
    m->as_of_ms = (int64_t)get_varint(&r);
    np = get_varint(&r);
    if (!r.bad && np > (uint64_t)(r.end - r.p))
        r.bad = "product count too large";
    for (uint64_t i = 0; i < np && !r.bad; i++) {
        uint32_t p;
        get_id(&r, id);
        if (r.bad)
            break;
        if (product_find(m, id, &p))
            r.bad = "duplicate product";
        else
            product_intern(m, id);
    }
    nc = r.bad ? 0 : get_varint(&r);
    for (uint64_t i = 0; i < nc && !r.bad; i++) {
        uint32_t c;
        uint64_t ne;
        get_id(&r, id);
        ne = get_varint(&r);
        if (r.bad)
            break;
        if (customer_find(m, id, &c)) {
            r.bad = "duplicate customer";
            break;
        }
        if (ne == 0 || ne > np) {
            r.bad = "bad entry count";
            break;
        }
        c = customer_intern(m, id);
        for (uint64_t j = 0; j < ne && !r.bad; j++) {
            uint64_t p = get_varint(&r), q = get_varint(&r);
            if (r.bad)
                break;
            if (p >= np || q == 0 || q > INT64_MAX || vec_get(&m->cust[c], (uint32_t)p)) {
                r.bad = "bad entry";
                break;
            }
            add_cell(m, c, (uint32_t)p, (int64_t)q);
        }
    }
    no = r.bad ? 0 : get_varint(&r);
    for (uint64_t i = 0; i < no && !r.bad; i++) {
        uint64_t fp, v;
        get_id(&r, id);
        fp = get_u64(&r);
        if (r.bad)
            break;
        if (strmap_get(&m->orders, id, &v))
            r.bad = "duplicate order id";
        else
            strmap_put(&m->orders, id, fp);
    }
    if (!r.bad && r.p != r.end)
        r.bad = "trailing bytes";
    if (r.bad) {
        ss_err_set(err, SS_ERR_DECODE, "snapshot: %s at byte %zu", r.bad,
                   (size_t)(r.p - (const uint8_t *)buf));
        icf_destroy(m);
        return NULL;
    }
    return m;
}
