/* crec: the customer record, the value of field `r` of `<prefix>c:{<cid>}` in the `local` state
 * mode (docs/redis.md). One value holds everything about a customer - RFM aggregates, 30-day
 * window, applied order ids with fingerprints, customer x product quantities - so that a write is
 * one field however many orders and products it touches: Redis's cost per written field, not per
 * byte, is what limited ingest (docs/benchmarks.md).
 *
 * Layout, little-endian, no padding:
 *   u8  version (CREC_VERSION)
 *   64  RFM aggregates (rfm_agg_encode)
 *   u32 window count, then that many i64 purchase times (epoch ms)
 *   u32 order count, then per order: u8 id length, id bytes, u64 fingerprint
 *   u32 product count, then per product: u8 id length, id bytes, i64 quantity
 * Ids are at most SS_ID_MAX (64) bytes. */
#ifndef CREC_H
#define CREC_H

#include <stddef.h>
#include <stdint.h>

#include "rfm.h"
#include "ss_buf.h"
#include "ss_err.h"

#define CREC_FIELD "r"
#define CREC_VERSION 1

/* ---- encoding: crec_begin, then two crec_section (orders, then products), appended to out.
 * A section's items are encoded with crec_item into a buffer of their own, so that a writer can
 * keep them encoded between writes (orders only grow; a product's quantity, the last 8 bytes of
 * its item, can be updated in place). ---- */
void crec_begin(ss_buf_t *out, const rfm_agg_t *agg, const int64_t *win, size_t n_win);
void crec_section(ss_buf_t *out, size_t n_items, const void *items, size_t len);
/* Appends one item (id of at most SS_ID_MAX bytes, value) to a section's buffer. */
void crec_item(ss_buf_t *items, const char *id, uint64_t val);
/* Size of the record crec_begin + crec_section x 2 produce. */
size_t crec_size(size_t n_win, size_t orders_len, size_t products_len);

/* ---- decoding ---- */
typedef struct crec_item {
    const char *id; /* borrowed from the decoded buffer: not NUL-terminated */
    size_t len;
    uint64_t val; /* fingerprint, or quantity as int64 bits */
} crec_item_t;

typedef struct crec {
    rfm_agg_t agg;
    int64_t *win; /* owned */
    size_t n_win;
    crec_item_t *orders; /* owned array; ids borrowed */
    size_t n_orders;
    crec_item_t *products; /* owned array; ids borrowed */
    size_t n_products;
} crec_t;

/* Decodes buf[0..len) into r (released by crec_release; ids point into buf, which must outlive
 * r). SS_ERR_INVAL on a truncated or malformed record or an unknown version; r is then empty. */
int crec_decode(const void *buf, size_t len, crec_t *r, ss_err_t *err);
void crec_release(crec_t *r);

#endif
