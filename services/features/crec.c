/* crec: the customer record of the `local` state mode (see crec.h for the layout). */
#include "crec.h"

#include <stdlib.h>
#include <string.h>

#include "ss_txn.h"

static void put_u64(ss_buf_t *out, uint64_t x) {
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(x >> (8 * i));
    ss_buf_add(out, b, 8);
}

static void put_u32(ss_buf_t *out, uint32_t x) {
    unsigned char b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (unsigned char)(x >> (8 * i));
    ss_buf_add(out, b, 4);
}

static void put_id(ss_buf_t *out, const char *id) {
    size_t n = strlen(id);
    SS_ASSERT(n <= SS_ID_MAX); /* ss_txn_validate rejects longer ids */
    unsigned char l = (unsigned char)n;
    ss_buf_add(out, &l, 1);
    ss_buf_add(out, id, n);
}

void crec_begin(ss_buf_t *out, const rfm_agg_t *agg, const int64_t *win, size_t n_win) {
    unsigned char v = CREC_VERSION, st[RFM_ST_BYTES];
    ss_buf_add(out, &v, 1);
    rfm_agg_encode(agg, st);
    ss_buf_add(out, st, sizeof(st));
    put_u32(out, (uint32_t)n_win);
    for (size_t i = 0; i < n_win; i++)
        put_u64(out, (uint64_t)win[i]);
}

void crec_section(ss_buf_t *out, size_t n_items, const void *items, size_t len) {
    put_u32(out, (uint32_t)n_items);
    ss_buf_add(out, items, len);
}

void crec_item(ss_buf_t *items, const char *id, uint64_t val) {
    put_id(items, id);
    put_u64(items, val);
}

size_t crec_size(size_t n_win, size_t orders_len, size_t products_len) {
    return 1 + RFM_ST_BYTES + 4 + 8 * n_win + 4 + orders_len + 4 + products_len;
}

typedef struct rd {
    const unsigned char *p, *end;
} rd_t;

static int get_u64(rd_t *r, uint64_t *x) {
    if (r->end - r->p < 8)
        return -1;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)r->p[i] << (8 * i);
    r->p += 8;
    *x = v;
    return 0;
}

static int get_u32(rd_t *r, uint32_t *x) {
    if (r->end - r->p < 4)
        return -1;
    *x = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 |
         (uint32_t)r->p[3] << 24;
    r->p += 4;
    return 0;
}

/* n id/value items into *items (allocated); -1 when truncated. */
static int get_items(rd_t *r, crec_item_t **items, size_t *n) {
    uint32_t c;
    if (get_u32(r, &c) < 0 || (size_t)(r->end - r->p) < (size_t)c * 9) /* 1 + 0 + 8 at least */
        return -1;
    *items = c ? ss_xcalloc(c, sizeof(**items)) : NULL;
    *n = c;
    for (uint32_t i = 0; i < c; i++) {
        if (r->p == r->end)
            return -1;
        size_t l = r->p[0];
        r->p++;
        if (l > SS_ID_MAX || (size_t)(r->end - r->p) < l + 8)
            return -1;
        (*items)[i].id = (const char *)r->p;
        (*items)[i].len = l;
        r->p += l;
        if (get_u64(r, &(*items)[i].val) < 0)
            return -1;
    }
    return 0;
}

int crec_decode(const void *buf, size_t len, crec_t *out, ss_err_t *err) {
    memset(out, 0, sizeof(*out));
    rd_t r = {buf, (const unsigned char *)buf + len};
    if (len < 1 || r.p[0] != CREC_VERSION)
        return ss_err_set(err, SS_ERR_INVAL, "customer record: unknown version %d (expected %d)",
                          len ? r.p[0] : -1, CREC_VERSION);
    r.p++;
    const char *what = "aggregates";
    uint32_t nw;
    if ((size_t)(r.end - r.p) < RFM_ST_BYTES ||
        rfm_agg_decode(r.p, RFM_ST_BYTES, &out->agg, err) < 0)
        goto bad;
    r.p += RFM_ST_BYTES;
    what = "window";
    if (get_u32(&r, &nw) < 0 || (size_t)(r.end - r.p) / 8 < nw)
        goto bad;
    out->win = nw ? ss_xmalloc(nw * sizeof(*out->win)) : NULL;
    out->n_win = nw;
    for (uint32_t i = 0; i < nw; i++) {
        uint64_t x = 0;
        (void)get_u64(&r, &x); /* the length was checked above */
        out->win[i] = (int64_t)x;
    }
    what = "orders";
    if (get_items(&r, &out->orders, &out->n_orders) < 0)
        goto bad;
    what = "products";
    if (get_items(&r, &out->products, &out->n_products) < 0)
        goto bad;
    what = "trailing bytes";
    if (r.p != r.end)
        goto bad;
    return 0;
bad:
    crec_release(out);
    return ss_err_set(err, SS_ERR_INVAL, "customer record of %zu bytes: bad %s", len, what);
}

void crec_release(crec_t *r) {
    free(r->win);
    free(r->orders);
    free(r->products);
    memset(r, 0, sizeof(*r));
}
