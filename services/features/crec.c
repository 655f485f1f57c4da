/* crec: the customer record of the `local` state mode (see crec.h for the layout). */
#include "crec.h"

#include <stdlib.h>
#include <string.h>

void crec_encode(ss_buf_t *out, const rfm_agg_t *agg, const int64_t *win, size_t n_win,
                 size_t n_orders, const ss_buf_t *orders, size_t n_products,
                 const ss_buf_t *products) {
    unsigned char v = CREC_VERSION, st[RFM_ST_BYTES];
    ss_buf_add(out, &v, 1);
    rfm_agg_encode(agg, st);
    ss_buf_add(out, st, sizeof(st));
    ss_items_put_u32(out, (uint32_t)n_win);
    for (size_t i = 0; i < n_win; i++)
        ss_items_put_u64(out, (uint64_t)win[i]);
    ss_items_section(out, n_orders, orders->buf, orders->len);
    ss_items_section(out, n_products, products->buf, products->len);
}

size_t crec_size(size_t n_win, size_t orders_len, size_t products_len) {
    return 1 + RFM_ST_BYTES + 4 + 8 * n_win + 4 + orders_len + 4 + products_len;
}

int crec_decode(const void *buf, size_t len, crec_t *out, ss_err_t *err) {
    memset(out, 0, sizeof(*out));
    const unsigned char *p = buf, *end = p + len;
    if (len < 1 || p[0] != CREC_VERSION)
        return ss_err_set(err, SS_ERR_INVAL, "customer record: unknown version %d (expected %d)",
                          len ? p[0] : -1, CREC_VERSION);
    p++;
    const char *what = "aggregates";
    if ((size_t)(end - p) < RFM_ST_BYTES || rfm_agg_decode(p, RFM_ST_BYTES, &out->agg, err) < 0)
        goto bad;
    p += RFM_ST_BYTES;
    what = "window";
    if (end - p < 4)
        goto bad;
    size_t nw = (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
    p += 4;
    if ((size_t)(end - p) / 8 < nw)
        goto bad;
    out->win = nw ? ss_xmalloc(nw * sizeof(*out->win)) : NULL;
    out->n_win = nw;
    for (size_t i = 0; i < nw; i++, p += 8)
        out->win[i] = (int64_t)ss_items_get_u64(p);
    what = "orders";
    if (ss_items_decode(&p, end, &out->orders, &out->n_orders) < 0)
        goto bad;
    what = "products";
    if (ss_items_decode(&p, end, &out->products, &out->n_products) < 0)
        goto bad;
    what = "trailing bytes";
    if (p != end)
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
