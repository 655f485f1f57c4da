/* flocal: in-process state and batch arithmetic of the `local` state mode. String-keyed open
 * addressing maps (FNV-1a, linear probing, no deletion: flocal_clear drops everything). */
#include "flocal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crec.h"
#include "rfm.h"
#include "ss_demand.h"

extern const char flocal_write_lua_source[]; /* generated from features_write.lua */

const char *flocal_write_script_source(void) { return flocal_write_lua_source; }

/* ---------------------------------------------------------------- map: string -> uint64 */

typedef struct fl_ent {
    char *key;  /* owned; NULL = empty slot */
    uint64_t h; /* fnv(key): compared before the string, and reused when growing */
    uint64_t val;
} fl_ent_t;

typedef struct fl_map {
    fl_ent_t *e;
    size_t cap, n; /* cap is a power of two (or 0) */
} fl_map_t;

static uint64_t fnv(const char *s) {
    uint64_t h = UINT64_C(1469598103934665603);
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
    /* FNV's low bits depend only on the low bits of the input: mix before masking. */
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    return h;
}

static fl_ent_t *map_find_h(const fl_map_t *m, const char *key, uint64_t h) {
    if (!m->cap)
        return NULL;
    size_t i = (size_t)h & (m->cap - 1);
    while (m->e[i].key) {
        if (m->e[i].h == h && strcmp(m->e[i].key, key) == 0)
            return &m->e[i];
        i = (i + 1) & (m->cap - 1);
    }
    return NULL;
}

static fl_ent_t *map_find(const fl_map_t *m, const char *key) {
    return m->cap ? map_find_h(m, key, fnv(key)) : NULL;
}

static void map_clear(fl_map_t *m) {
    for (size_t i = 0; i < m->cap; i++)
        free(m->e[i].key);
    free(m->e);
    memset(m, 0, sizeof(*m));
}

static fl_ent_t *map_slot(fl_map_t *m, const char *key, int *created);

static void map_grow(fl_map_t *m) {
    fl_map_t nm = {0};
    nm.cap = m->cap ? m->cap * 2 : 8;
    nm.e = ss_xcalloc(nm.cap, sizeof(*nm.e));
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->e[i].key)
            continue;
        size_t j = (size_t)m->e[i].h & (nm.cap - 1);
        while (nm.e[j].key)
            j = (j + 1) & (nm.cap - 1);
        nm.e[j] = m->e[i];
        nm.n++;
    }
    free(m->e);
    *m = nm;
}

/* Finds or inserts key (copied; value 0 when created). The returned pointer is valid until the
 * next insert; the key string itself stays valid until map_clear. */
static fl_ent_t *map_slot(fl_map_t *m, const char *key, int *created) {
    uint64_t h = fnv(key);
    fl_ent_t *f = map_find_h(m, key, h);
    if (created)
        *created = !f;
    if (f)
        return f;
    if ((m->n + 1) * 4 > m->cap * 3)
        map_grow(m);
    size_t i = (size_t)h & (m->cap - 1);
    while (m->e[i].key)
        i = (i + 1) & (m->cap - 1);
    m->e[i].key = ss_xstrdup(key);
    m->e[i].h = h;
    m->e[i].val = 0;
    m->n++;
    return &m->e[i];
}

/* ---------------------------------------------------------------- state */

typedef struct fl_cust {
    char *key; /* "<prefix>c:{<cid>}" */
    rfm_state_t st;
    fl_map_t orders;    /* order id -> fingerprint */
    fl_map_t products;  /* product id -> offset of its quantity (int64, LE) in penc */
    ss_buf_t oenc;      /* the record's order items, kept encoded (crec.h): orders only grow */
    ss_buf_t penc;      /* the record's product items; quantities are updated in place */
    size_t idx;         /* index in flocal's cust array */
    size_t batch;       /* batch number of the last touch (0 = none) */
    uint64_t ttl_at_ms; /* wall time of the last PEXPIRE this process sent (0 = none) */
    int dirty;          /* changed in the current batch */
    int has_rec;        /* loaded from a record (field `r`): other fields are ignored */
    int legacy;         /* loaded from the per-field layout: the next write replaces the key */
} fl_cust_t;

typedef struct fl_store {
    size_t idx; /* index in flocal's stores array */
    int has_wm, has_wmin;
    int64_t wm, wmin; /* event time ms */
    size_t batch;     /* batch number of the last touch */
} fl_store_t;

typedef struct fl_dpart {
    char *key;      /* "<prefix>dm:{<store>:<day>}" */
    char field[16]; /* "q:<partition>" */
    fl_map_t prod;  /* product id -> offset of its quantity in enc */
    ss_buf_t enc;   /* the record's items (ss_items), quantities updated in place */
    size_t idx;     /* index in flocal's dparts array */
    size_t batch;   /* batch number of the last touch (0 = none) */
} fl_dpart_t;

struct flocal {
    char *prefix;
    int64_t lateness_ms; /* 2^52 when days never close */
    int tz_offset_min;
    int64_t cttl_ms, dttl_ms;
    fl_map_t cust_idx; /* cid -> index into cust */
    fl_cust_t **cust;
    size_t n_cust, cap_cust;
    fl_map_t store_idx; /* store -> index into stores */
    fl_store_t *stores;
    char **store_names;
    size_t n_store, cap_store;
    fl_map_t anon;     /* "<dm key>\x1f<order id>" -> fingerprint, or 0 when known absent */
    fl_map_t anon_set; /* same keys: 1 when present in anon as a seen order */
    size_t batch;      /* batch counter */
    uint64_t gen;      /* flocal_clear count */
    /* batch scratch */
    size_t *touched_c, n_touched_c, cap_touched_c;
    size_t *touched_s, n_touched_s, cap_touched_s;
    /* Demand records: per (store, day) hash and input partition, the quantities applied from
     * that partition (ss_demand.h), cached like the customers and written absolute. */
    fl_map_t dpart_idx; /* "<dm key>\x1f<partition>" -> index in dparts */
    struct fl_dpart **dparts;
    size_t n_dpart, cap_dpart;
    size_t *touched_d, n_touched_d, cap_touched_d;
    fl_map_t dkeys;        /* dm key -> wall time of the last PEXPIRE this process sent */
    int64_t now_ms;        /* wall time of the current batch */
    char **anon_keys;      /* applied anonymous orders of the batch: dm key (owned), */
    const char **anon_ids; /* order id (borrowed from the txn), */
    uint64_t *anon_fps;    /* fingerprint */
    size_t n_anon, cap_anon;
    ss_buf_t key, key2;
    int64_t day_idx;
    char day_txt[11];
    int day_valid;
};

flocal_t *flocal_new(const char *prefix, int64_t lateness_ms, int tz_offset_min,
                     int64_t customer_ttl_ms, int64_t demand_ttl_ms) {
    flocal_t *l = ss_xcalloc(1, sizeof(*l));
    l->prefix = ss_xstrdup(prefix && *prefix ? prefix : "ss:");
    l->lateness_ms = lateness_ms < 0 ? INT64_C(1) << 52 : lateness_ms;
    l->tz_offset_min = tz_offset_min;
    l->cttl_ms = customer_ttl_ms;
    l->dttl_ms = demand_ttl_ms;
    ss_buf_init(&l->key, 0);
    ss_buf_init(&l->key2, 0);
    return l;
}

static void cust_free(fl_cust_t *c) {
    free(c->key);
    rfm_state_release(&c->st);
    map_clear(&c->orders);
    map_clear(&c->products);
    ss_buf_release(&c->oenc);
    ss_buf_release(&c->penc);
    free(c);
}

uint64_t flocal_generation(const flocal_t *l) { return l->gen; }

void flocal_clear(flocal_t *l) {
    l->gen++;
    for (size_t i = 0; i < l->n_cust; i++)
        cust_free(l->cust[i]);
    l->n_cust = 0;
    map_clear(&l->cust_idx);
    for (size_t i = 0; i < l->n_store; i++)
        free(l->store_names[i]);
    l->n_store = 0;
    map_clear(&l->store_idx);
    map_clear(&l->anon);
    map_clear(&l->anon_set);
    for (size_t i = 0; i < l->n_dpart; i++) {
        fl_dpart_t *d = l->dparts[i];
        free(d->key);
        map_clear(&d->prod);
        ss_buf_release(&d->enc);
        free(d);
    }
    l->n_dpart = 0;
    map_clear(&l->dpart_idx);
    map_clear(&l->dkeys);
}

void flocal_destroy(flocal_t *l) {
    if (!l)
        return;
    flocal_clear(l);
    free(l->cust);
    free(l->stores);
    free(l->store_names);
    free(l->touched_c);
    free(l->touched_s);
    free(l->dparts);
    free(l->touched_d);
    free(l->anon_keys);
    free(l->anon_ids);
    free(l->anon_fps);
    ss_buf_release(&l->key);
    ss_buf_release(&l->key2);
    free(l->prefix);
    free(l);
}

size_t flocal_customers(const flocal_t *l) { return l->n_cust; }

size_t flocal_cached(const flocal_t *l) { return l->n_cust + l->n_dpart + l->anon_set.n; }

int flocal_has_customer(const flocal_t *l, const char *cid) {
    return map_find(&l->cust_idx, cid) != NULL;
}

static fl_cust_t *cust_get(flocal_t *l, const char *cid) {
    int created;
    fl_ent_t *e = map_slot(&l->cust_idx, cid, &created);
    if (!created)
        return l->cust[e->val];
    if (l->n_cust == l->cap_cust) {
        l->cap_cust = l->cap_cust ? l->cap_cust * 2 : 64;
        l->cust = ss_xrealloc(l->cust, l->cap_cust * sizeof(*l->cust));
    }
    e->val = l->n_cust;
    fl_cust_t *c = ss_xcalloc(1, sizeof(*c));
    c->idx = l->n_cust;
    c->oenc = (ss_buf_t)SS_BUF_INIT;
    c->penc = (ss_buf_t)SS_BUF_INIT;
    ss_buf_t k = SS_BUF_INIT;
    ss_buf_addf(&k, "%sc:{%s}", l->prefix, cid);
    c->key = ss_buf_detach(&k, NULL);
    l->cust[l->n_cust++] = c;
    return c;
}

void flocal_customer_begin(flocal_t *l, const char *cid) { (void)cust_get(l, cid); }

static uint64_t parse_hex(const char *s, size_t n) {
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : 0;
        x = (x << 4) | (uint64_t)d;
    }
    return x;
}

static void cust_add_order(fl_cust_t *c, const char *id, uint64_t fp) {
    map_slot(&c->orders, id, NULL)->val = fp;
    ss_items_add(&c->oenc, id, fp);
}

/* Adds q to the quantity of product id in an encoded item list (ss_items) indexed by m (id ->
 * offset of the quantity): a new item when first seen, else updated in place. Customer records
 * and demand records both keep their products this way. */
static void qty_add(fl_map_t *m, ss_buf_t *items, const char *id, int64_t q) {
    int created;
    fl_ent_t *e = map_slot(m, id, &created);
    if (created)
        e->val = ss_items_add(items, id, 0);
    char *v = items->buf + e->val;
    ss_items_set_u64(v, ss_items_get_u64(v) + (uint64_t)q);
}

static void cust_add_product(fl_cust_t *c, const char *id, int64_t q) {
    qty_add(&c->products, &c->penc, id, q);
}

/* The record replaces whatever was loaded for the customer. */
static int load_record(fl_cust_t *c, const char *v, size_t vlen, ss_err_t *err) {
    crec_t r;
    if (crec_decode(v, vlen, &r, err) < 0)
        return SS_ERR_INVAL;
    c->has_rec = 1;
    c->st.agg = r.agg;
    free(c->st.win);
    c->st.win = r.win; /* taken over */
    c->st.n_win = c->st.cap_win = r.n_win;
    r.win = NULL;
    map_clear(&c->orders);
    map_clear(&c->products);
    ss_buf_reset(&c->oenc);
    ss_buf_reset(&c->penc);
    char id[SS_ID_MAX + 1];
    for (size_t i = 0; i < r.n_orders; i++) {
        memcpy(id, r.orders[i].id, r.orders[i].len);
        id[r.orders[i].len] = '\0';
        cust_add_order(c, id, r.orders[i].val);
    }
    for (size_t i = 0; i < r.n_products; i++) {
        memcpy(id, r.products[i].id, r.products[i].len);
        id[r.products[i].len] = '\0';
        cust_add_product(c, id, (int64_t)r.products[i].val);
    }
    crec_release(&r);
    return 0;
}

int flocal_customer_field(flocal_t *l, const char *cid, const char *f, size_t flen, const char *v,
                          size_t vlen, ss_err_t *err) {
    fl_cust_t *c = cust_get(l, cid);
    if (flen == 1 && f[0] == CREC_FIELD[0])
        return load_record(c, v, vlen, err);
    if (c->has_rec)
        return 0; /* left over from the per-field layout: the record is newer */
    if ((flen == 2 && memcmp(f, "st", 2) == 0) || (flen == 1 && f[0] == 'w') ||
        (flen > 2 && (f[0] == 'o' || f[0] == 'p') && f[1] == ':'))
        c->legacy = 1;
    if (flen == 2 && memcmp(f, "st", 2) == 0)
        return rfm_agg_decode(v, vlen, &c->st.agg, err);
    if (flen == 1 && f[0] == 'w') {
        int64_t *w = NULL;
        size_t nw = 0;
        if (rfm_window_decode(v, vlen, &w, &nw, err) < 0)
            return SS_ERR_INVAL;
        free(c->st.win);
        c->st.win = w;
        c->st.n_win = c->st.cap_win = nw;
        return 0;
    }
    if (flen > 2 && (f[0] == 'o' || f[0] == 'p') && f[1] == ':') {
        char *name = ss_xstrndup(f + 2, flen - 2);
        if (f[0] == 'o') {
            cust_add_order(c, name, parse_hex(v, vlen));
        } else {
            char *s = ss_xstrndup(v, vlen);
            cust_add_product(c, name, strtoll(s, NULL, 10));
            free(s);
        }
        free(name);
    }
    return 0;
}

int flocal_has_store(const flocal_t *l, const char *store) {
    return map_find(&l->store_idx, store) != NULL;
}

static fl_store_t *store_get(flocal_t *l, const char *store) {
    int created;
    fl_ent_t *e = map_slot(&l->store_idx, store, &created);
    if (!created)
        return &l->stores[e->val];
    if (l->n_store == l->cap_store) {
        l->cap_store = l->cap_store ? l->cap_store * 2 : 16;
        l->stores = ss_xrealloc(l->stores, l->cap_store * sizeof(*l->stores));
        l->store_names = ss_xrealloc(l->store_names, l->cap_store * sizeof(*l->store_names));
    }
    e->val = l->n_store;
    memset(&l->stores[l->n_store], 0, sizeof(*l->stores));
    l->stores[l->n_store].idx = l->n_store;
    l->store_names[l->n_store] = ss_xstrdup(store);
    return &l->stores[l->n_store++];
}

void flocal_store_set(flocal_t *l, const char *store, int has_wm, int64_t wm, int has_wmin,
                      int64_t wmin) {
    fl_store_t *s = store_get(l, store);
    s->has_wm = has_wm;
    s->wm = wm;
    s->has_wmin = has_wmin;
    s->wmin = wmin;
}

static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

/* "<prefix>dm:{<store>:<day>}" into out; *day_end_ms the exclusive end of the day. */
static void demand_key(flocal_t *l, const ss_txn_t *t, ss_buf_t *out, int64_t *day_end_ms) {
    int64_t off = (int64_t)l->tz_offset_min * 60000;
    int64_t idx = floor_div(t->event_time_ms + off, RFM_DAY_MS);
    if (!l->day_valid || idx != l->day_idx) {
        int64_t end;
        fstore_day(t->event_time_ms, l->tz_offset_min, l->day_txt, &end);
        l->day_idx = idx;
        l->day_valid = 1;
    }
    *day_end_ms = (idx + 1) * RFM_DAY_MS - off;
    ss_buf_reset(out);
    ss_buf_adds(out, l->prefix);
    ss_buf_add(out, "dm:{", 4);
    ss_buf_adds(out, t->store_id);
    ss_buf_addch(out, ':');
    ss_buf_add(out, l->day_txt, 10);
    ss_buf_addch(out, '}');
}

/* "<a>\x1f<pre><b>" into out (map keys of the batch scratch). */
static void join_key(ss_buf_t *out, const char *a, size_t alen, const char *pre, const char *b) {
    ss_buf_reset(out);
    ss_buf_add(out, a, alen);
    ss_buf_addch(out, '\x1f');
    ss_buf_adds(out, pre);
    ss_buf_adds(out, b);
}

int flocal_anon_need(flocal_t *l, const ss_txn_t *t, ss_buf_t *key, ss_buf_t *field) {
    int64_t end;
    demand_key(l, t, key, &end);
    ss_buf_reset(field);
    ss_buf_add(field, "o:", 2);
    ss_buf_adds(field, t->order_id);
    join_key(&l->key2, key->buf, key->len, "", t->order_id); /* per anonymous order: no printf */
    return map_find(&l->anon_set, l->key2.buf) == NULL;
}

void flocal_anon_set(flocal_t *l, const char *key, const char *field, const char *fp,
                     size_t fplen) {
    join_key(&l->key2, key, strlen(key), "", field + 2);
    map_slot(&l->anon_set, l->key2.buf, NULL)->val = fp ? 1 : 0;
    if (fp)
        map_slot(&l->anon, l->key2.buf, NULL)->val = parse_hex(fp, fplen);
}

/* ---------------------------------------------------------------- applying */

/* The plan is written in RESP form ("$<len>\r\n<bytes>\r\n" per argument) so that fstore sends
 * it as is: no argv arrays and no second formatting pass in hiredis. */
typedef struct plan {
    ss_buf_t *buf;
    size_t n;
} plan_t;

/* Decimal text of x into b (at least 21 bytes); returns its length. */
static size_t fmt_i64(char *b, int64_t x) {
    char t[24];
    size_t n = 0, k = 0;
    uint64_t u = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
    do {
        t[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (x < 0)
        b[k++] = '-';
    while (n)
        b[k++] = t[--n];
    return k;
}

static void arg_hdr(plan_t *p, size_t n) {
    char b[32];
    b[0] = '$';
    size_t k = 1 + fmt_i64(b + 1, (int64_t)n);
    b[k++] = '\r';
    b[k++] = '\n';
    ss_buf_add(p->buf, b, k);
    p->n++;
}

static void arg_end(plan_t *p) { ss_buf_add(p->buf, "\r\n", 2); }

static void arg_bin(plan_t *p, const void *b, size_t n) {
    arg_hdr(p, n);
    ss_buf_add(p->buf, b, n);
    arg_end(p);
}

static void arg_s(plan_t *p, const char *s) { arg_bin(p, s, strlen(s)); }

static void arg_pre(plan_t *p, const char *pre, const char *s) {
    size_t a = strlen(pre), b = strlen(s);
    arg_hdr(p, a + b);
    ss_buf_add(p->buf, pre, a);
    ss_buf_add(p->buf, s, b);
    arg_end(p);
}

static void arg_i64(plan_t *p, int64_t x) {
    char b[24];
    arg_bin(p, b, fmt_i64(b, x));
}

static void arg_fp(plan_t *p, uint64_t fp) {
    static const char hex[] = "0123456789abcdef";
    char b[16];
    for (int i = 15; i >= 0; i--, fp >>= 4)
        b[i] = hex[fp & 15];
    arg_bin(p, b, 16);
}

/* 1 when key's TTL should be refreshed now: never sent by this process, or sent longer ago than
 * the refresh interval (TTLs are days; refreshing each at most hourly saves one command per
 * update and moves an expiry by at most that interval). */
static int ttl_due(uint64_t *at_ms, int64_t now_ms, int64_t ttl_ms) {
    int64_t every = ttl_ms / 16 < FLOCAL_TTL_REFRESH_MS ? ttl_ms / 16 : FLOCAL_TTL_REFRESH_MS;
    int64_t at = (int64_t)*at_ms;
    if (at != 0 && now_ms >= at && now_ms - at < every)
        return 0;
    *at_ms = (uint64_t)(now_ms > 0 ? now_ms : 1);
    return 1;
}

static void touch_cust(flocal_t *l, fl_cust_t *c) {
    if (c->batch == l->batch)
        return;
    c->batch = l->batch;
    c->dirty = 0;
    if (l->n_touched_c == l->cap_touched_c) {
        l->cap_touched_c = l->cap_touched_c ? l->cap_touched_c * 2 : 256;
        l->touched_c = ss_xrealloc(l->touched_c, l->cap_touched_c * sizeof(*l->touched_c));
    }
    l->touched_c[l->n_touched_c++] = c->idx;
}

/* "<dm key>\x1f<partition>" into l->key2, the dpart_idx key. */
static void dpart_name(flocal_t *l, const char *dk, size_t dklen, int32_t part) {
    char b[24];
    b[0] = '\x1f';
    size_t n = 1 + fmt_i64(b + 1, part); /* per order: no printf */
    ss_buf_reset(&l->key2);
    ss_buf_add(&l->key2, dk, dklen);
    ss_buf_add(&l->key2, b, n);
}

/* The cached record of (dk, part), created empty when absent (the caller loaded it first). */
static fl_dpart_t *dpart_get(flocal_t *l, const char *dk, size_t dklen, int32_t part) {
    dpart_name(l, dk, dklen, part);
    int created;
    fl_ent_t *e = map_slot(&l->dpart_idx, l->key2.buf, &created);
    if (!created)
        return l->dparts[e->val];
    if (l->n_dpart == l->cap_dpart) {
        l->cap_dpart = l->cap_dpart ? l->cap_dpart * 2 : 64;
        l->dparts = ss_xrealloc(l->dparts, l->cap_dpart * sizeof(*l->dparts));
    }
    e->val = l->n_dpart;
    fl_dpart_t *d = ss_xcalloc(1, sizeof(*d));
    d->key = ss_xstrndup(dk, dklen);
    snprintf(d->field, sizeof(d->field), "q:%d", (int)part);
    d->enc = (ss_buf_t)SS_BUF_INIT;
    d->idx = l->n_dpart;
    l->dparts[l->n_dpart++] = d;
    return d;
}

static void dpart_add(fl_dpart_t *d, const char *product, int64_t q) {
    qty_add(&d->prod, &d->enc, product, q);
}

static void touch_dpart(flocal_t *l, fl_dpart_t *d) {
    if (d->batch == l->batch)
        return;
    d->batch = l->batch;
    if (l->n_touched_d == l->cap_touched_d) {
        l->cap_touched_d = l->cap_touched_d ? l->cap_touched_d * 2 : 64;
        l->touched_d = ss_xrealloc(l->touched_d, l->cap_touched_d * sizeof(*l->touched_d));
    }
    l->touched_d[l->n_touched_d++] = d->idx;
}

int flocal_demand_need(flocal_t *l, const ss_txn_t *t, int32_t part, ss_buf_t *key,
                       ss_buf_t *field) {
    int64_t end;
    demand_key(l, t, key, &end);
    dpart_name(l, key->buf, key->len, part);
    if (map_find(&l->dpart_idx, l->key2.buf))
        return 0;
    char b[24] = "q:";
    size_t n = 2 + fmt_i64(b + 2, part);
    ss_buf_reset(field);
    ss_buf_add(field, b, n);
    return 1;
}

static int dpart_load_cb(const char *product, size_t len, double qty, void *opaque, ss_err_t *err) {
    (void)err;
    char id[SS_ID_MAX + 1];
    memcpy(id, product, len);
    id[len] = '\0';
    dpart_add(opaque, id, (int64_t)qty);
    return 0;
}

int flocal_demand_set(flocal_t *l, const char *key, int32_t part, const char *v, size_t vlen,
                      ss_err_t *err) {
    fl_dpart_t *d = dpart_get(l, key, strlen(key), part);
    map_clear(&d->prod);
    ss_buf_reset(&d->enc);
    if (!v)
        return 0;
    /* A malformed record feeds nothing (ss_demand_field checks it whole first) and fails the
     * batch: the cache is dropped rather than overwrite what it cannot read. */
    return ss_demand_field(d->field, strlen(d->field), v, vlen, dpart_load_cb, d, err);
}

int flocal_demand_cached(flocal_t *l, const ss_txn_t *t, int32_t part) {
    int64_t end;
    demand_key(l, t, &l->key, &end);
    dpart_name(l, l->key.buf, l->key.len, part);
    return map_find(&l->dpart_idx, l->key2.buf) != NULL;
}

static void snapshot(const fl_cust_t *c, int64_t t, fstore_result_t *r) {
    r->has_features = 1;
    r->agg = c->st.agg;
    int64_t as_of = t;
    if (c->st.agg.n > 0 && c->st.agg.last_ms > as_of)
        as_of = c->st.agg.last_ms;
    rfm_compute(&c->st.agg, rfm_window_count(c->st.win, c->st.n_win, as_of), as_of, &r->feat);
}

size_t flocal_apply(flocal_t *l, const ss_txn_t *const *txns, const int32_t *parts, size_t n,
                    int64_t now_ms, const char *const *fence_keys, const int64_t *fence_epochs,
                    size_t n_fences, fstore_result_t *res, ss_buf_t *plan_buf) {
    plan_t p = {plan_buf, 0};
    ss_buf_reset(plan_buf);
    l->batch++;
    l->now_ms = now_ms;
    l->n_touched_c = 0;
    l->n_touched_s = 0;
    l->n_touched_d = 0;
    if (l->dkeys.n > FLOCAL_MAX_DKEYS)
        map_clear(&l->dkeys); /* bounded: forgotten keys are merely refreshed again */
    ss_buf_t dk = SS_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        const ss_txn_t *t = txns[i];
        fstore_result_t *r = &res[i];
        memset(r, 0, sizeof(*r));
        int64_t day_end;
        demand_key(l, t, &dk, &day_end);
        uint64_t fp = ss_txn_fingerprint(t);
        fl_cust_t *c = NULL;
        fl_ent_t *seen;
        if (t->has_customer) {
            c = cust_get(l, t->customer_id);
            touch_cust(l, c);
            seen = map_find(&c->orders, t->order_id);
        } else {
            join_key(&l->key2, dk.buf, dk.len, "", t->order_id);
            fl_ent_t *known = map_find(&l->anon_set, l->key2.buf);
            seen = known && known->val ? map_find(&l->anon, l->key2.buf) : NULL;
        }
        if (seen) {
            if (seen->val != fp) {
                r->status = FSTORE_CONFLICT;
            } else {
                r->status = FSTORE_DUPLICATE;
                if (c)
                    snapshot(c, t->event_time_ms, r);
            }
            continue;
        }
        r->status = FSTORE_APPLIED;
        fl_store_t *s = store_get(l, t->store_id);
        if (s->batch != l->batch) {
            s->batch = l->batch;
            if (l->n_touched_s == l->cap_touched_s) {
                l->cap_touched_s = l->cap_touched_s ? l->cap_touched_s * 2 : 16;
                l->touched_s = ss_xrealloc(l->touched_s, l->cap_touched_s * sizeof(*l->touched_s));
            }
            l->touched_s[l->n_touched_s++] = s->idx;
        }
        int purch = t->kind == SS_TXN_PURCHASE;
        if (purch) {
            if (s->has_wm && s->wm - l->lateness_ms >= day_end)
                r->late = 1;
            fl_dpart_t *d = dpart_get(l, dk.buf, dk.len, parts ? parts[i] : 0);
            touch_dpart(l, d);
            for (size_t j = 0; j < t->n_lines; j++)
                dpart_add(d, t->lines[j].product_id, t->lines[j].quantity);
        }
        if (!s->has_wm || t->event_time_ms > s->wm) {
            s->wm = t->event_time_ms;
            s->has_wm = 1;
        }
        if (!s->has_wmin || t->event_time_ms < s->wmin) {
            s->wmin = t->event_time_ms;
            s->has_wmin = 1;
        }
        if (!c) {
            join_key(&l->key2, dk.buf, dk.len, "", t->order_id);
            map_slot(&l->anon_set, l->key2.buf, NULL)->val = 1;
            map_slot(&l->anon, l->key2.buf, NULL)->val = fp;
            if (l->n_anon == l->cap_anon) {
                l->cap_anon = l->cap_anon ? l->cap_anon * 2 : 64;
                l->anon_keys = ss_xrealloc(l->anon_keys, l->cap_anon * sizeof(*l->anon_keys));
                l->anon_ids = ss_xrealloc(l->anon_ids, l->cap_anon * sizeof(*l->anon_ids));
                l->anon_fps = ss_xrealloc(l->anon_fps, l->cap_anon * sizeof(*l->anon_fps));
            }
            l->anon_keys[l->n_anon] = ss_xstrdup(dk.buf);
            l->anon_ids[l->n_anon] = t->order_id;
            l->anon_fps[l->n_anon++] = fp;
            continue;
        }
        cust_add_order(c, t->order_id, fp);
        c->dirty = 1;
        /* The script receives the amount as "%.17g" text: exactly this double. */
        double amount = ss_txn_amount(t);
        if (purch) {
            rfm_apply_purchase(&c->st, t->event_time_ms, amount);
            for (size_t j = 0; j < t->n_lines; j++) {
                cust_add_product(c, t->lines[j].product_id, t->lines[j].quantity);
            }
        } else {
            rfm_apply_return(&c->st, t->event_time_ms, amount);
        }
        snapshot(c, t->event_time_ms, r);
    }
    ss_buf_release(&dk);

    /* Fences first (the script checks them all before writing anything): each input partition's
     * epoch must still be the one this writer acquired (a writer that lost its partitions
     * without noticing yet - a zombie - cannot overwrite the new owner's state: its batch fails
     * as STALE, the cache is dropped and the batch recomputed from Redis), and each anonymous
     * order must still be unseen (a copy produced under another key is applied once). */
    for (size_t k = 0; k < n_fences; k++) {
        arg_s(&p, "F");
        arg_s(&p, fence_keys[k]);
        arg_i64(&p, fence_epochs[k]);
    }
    for (size_t k = 0; k < l->n_anon; k++) {
        arg_s(&p, "A");
        arg_s(&p, l->anon_keys[k]);
        arg_pre(&p, "o:", l->anon_ids[k]);
    }
    for (size_t k = 0; k < l->n_anon; k++) {
        arg_s(&p, "H");
        arg_s(&p, l->anon_keys[k]);
        arg_s(&p, "1");
        arg_pre(&p, "o:", l->anon_ids[k]);
        arg_fp(&p, l->anon_fps[k]);
        if (l->dttl_ms > 0 &&
            ttl_due(&map_slot(&l->dkeys, l->anon_keys[k], NULL)->val, l->now_ms, l->dttl_ms)) {
            arg_s(&p, "X");
            arg_s(&p, l->anon_keys[k]);
            arg_i64(&p, l->dttl_ms);
        }
        free(l->anon_keys[k]);
    }
    l->n_anon = 0;

    /* Customers: one field each, the whole record (crec.h): Redis's cost is per field written,
     * and a customer's record is small next to the fields it would take (docs/benchmarks.md). A
     * customer loaded from the per-field layout is replaced: DEL first (which drops its TTL: the
     * PEXPIRE below is then due). */
    for (size_t k = 0; k < l->n_touched_c; k++) {
        fl_cust_t *c = l->cust[l->touched_c[k]];
        if (!c->dirty)
            continue;
        if (c->legacy) {
            arg_s(&p, "D");
            arg_s(&p, c->key);
            c->legacy = 0;
            c->ttl_at_ms = 0;
        }
        arg_s(&p, "H");
        arg_s(&p, c->key);
        arg_s(&p, "1");
        arg_s(&p, CREC_FIELD);
        arg_hdr(&p, crec_size(c->st.n_win, c->oenc.len, c->penc.len));
        crec_encode(p.buf, &c->st.agg, c->st.win, c->st.n_win, c->orders.n, &c->oenc, c->products.n,
                    &c->penc);
        arg_end(&p);
        if (l->cttl_ms > 0 && ttl_due(&c->ttl_at_ms, l->now_ms, l->cttl_ms)) {
            arg_s(&p, "X");
            arg_s(&p, c->key);
            arg_i64(&p, l->cttl_ms);
        }
    }
    /* Demand: each touched (store, day, partition) record, absolute (this writer owns the
     * partition: the fences above guard it); other partitions' records and p: fields of the same
     * hash are other writers'. */
    for (size_t k = 0; k < l->n_touched_d; k++) {
        const fl_dpart_t *d = l->dparts[l->touched_d[k]];
        arg_s(&p, "H");
        arg_s(&p, d->key);
        arg_s(&p, "1");
        arg_s(&p, d->field);
        arg_hdr(&p, ss_demand_record_size(d->enc.len));
        ss_demand_record(p.buf, d->prod.n, &d->enc);
        arg_end(&p);
        if (l->dttl_ms > 0 &&
            ttl_due(&map_slot(&l->dkeys, d->key, NULL)->val, l->now_ms, l->dttl_ms)) {
            arg_s(&p, "X");
            arg_s(&p, d->key);
            arg_i64(&p, l->dttl_ms);
        }
    }
    /* Watermarks: max/min with the stored values (other instances advance them too). */
    ss_buf_reset(&l->key);
    ss_buf_addf(&l->key, "%swm", l->prefix);
    ss_buf_reset(&l->key2);
    ss_buf_addf(&l->key2, "%swmin", l->prefix);
    for (size_t k = 0; k < l->n_touched_s; k++) {
        const fl_store_t *s = &l->stores[l->touched_s[k]];
        const char *name = l->store_names[l->touched_s[k]];
        arg_s(&p, "M");
        arg_s(&p, l->key.buf);
        arg_s(&p, name);
        arg_i64(&p, s->wm);
        arg_s(&p, "m");
        arg_s(&p, l->key2.buf);
        arg_s(&p, name);
        arg_i64(&p, s->wmin);
    }
    if (p.n == 3 * n_fences) { /* only fences: nothing to write */
        ss_buf_reset(plan_buf);
        return 0;
    }
    return p.n;
}
