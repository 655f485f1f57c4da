/* crec: the customer record, the value of field `r` of `<prefix>c:{<cid>}` in the `local` state
 * mode (docs/redis.md). One value holds everything about a customer - RFM aggregates, 30-day
 * window, applied order ids with fingerprints, customer x product quantities - so that a write is
 * one field however many orders and products it touches: Redis's cost is per field written, far
 * more than per byte (docs/benchmarks.md).
 *
 * Layout, little-endian, no padding:
 *   u8  version (CREC_VERSION)
 *   64  RFM aggregates (rfm_agg_encode)
 *   u32 window count, then that many i64 purchase times (epoch ms)
 *   orders:   an ss_items section, order id -> fingerprint
 *   products: an ss_items section, product id -> quantity (int64)
 * A writer keeps both sections encoded between writes (ss_items.h): orders only grow, and a
 * product's quantity is updated in place. */
#ifndef CREC_H
#define CREC_H

#include <stddef.h>
#include <stdint.h>

#include "rfm.h"
#include "ss_buf.h"
#include "ss_err.h"
#include "ss_items.h"

#define CREC_FIELD "r"
#define CREC_VERSION 1

/* Appends a record to out: the header, then the two sections (items made by ss_items_add). */
void crec_encode(ss_buf_t *out, const rfm_agg_t *agg, const int64_t *win, size_t n_win,
                 size_t n_orders, const ss_buf_t *orders, size_t n_products,
                 const ss_buf_t *products);
/* Size of the record crec_encode appends. */
size_t crec_size(size_t n_win, size_t orders_len, size_t products_len);

typedef struct crec {
    rfm_agg_t agg;
    int64_t *win; /* owned */
    size_t n_win;
    ss_item_t *orders; /* owned array; ids borrowed from the decoded buffer */
    size_t n_orders;
    ss_item_t *products; /* owned array; ids borrowed; values are int64 bits */
    size_t n_products;
} crec_t;

/* Decodes buf[0..len) into r (released by crec_release; ids point into buf, which must outlive
 * r). SS_ERR_INVAL on a truncated or malformed record or an unknown version; r is then empty. */
int crec_decode(const void *buf, size_t len, crec_t *r, ss_err_t *err);
void crec_release(crec_t *r);

#endif
