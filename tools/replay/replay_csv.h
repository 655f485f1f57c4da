/* rcsv: turns CSV rows (native, UCI Online Retail, Kaggle store-item) into Transaction orders in
 * event-time order. Pure: bytes in (rcsv_feed), orders out (rcsv_get); no Kafka, no files.
 * Every data row is accounted for: it ends up in exactly one produced order or is rejected with
 * its line number and a reason (rcsv_stats balances). Not thread-safe; one reader per thread. */
#ifndef SS_REPLAY_CSV_H
#define SS_REPLAY_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "ss_err.h"
#include "ss_txn.h"

typedef enum rcsv_format {
    RCSV_NATIVE = 0,        /* order_id,customer_id,store_id,event_time,kind,product_id,quantity,
                               unit_price,currency (docs/tools.md) */
    RCSV_ONLINE_RETAIL = 1, /* UCI Online Retail (InvoiceNo,StockCode,...,CustomerID,Country) */
    RCSV_STORE_ITEM = 2,    /* date,store,item,sales */
} rcsv_format_t;

/* Why a row was rejected; each has a fixed short name (rcsv_reason_name) used in summaries. */
typedef enum rcsv_reason {
    RCSV_R_FIELDS = 0,    /* wrong number of fields */
    RCSV_R_ORDER_ID,      /* empty, too long or not printable UTF-8 order / invoice id */
    RCSV_R_ADJUSTMENT,    /* online-retail 'A' invoice (bad-debt adjustment, not a sale) */
    RCSV_R_CUSTOMER,      /* malformed customer id */
    RCSV_R_STORE,         /* empty or malformed store id / country */
    RCSV_R_PRODUCT,       /* empty or malformed product id / stock code */
    RCSV_R_TIME,          /* unparseable or out-of-range event time / date */
    RCSV_R_KIND,          /* unknown kind (native) */
    RCSV_R_QUANTITY,      /* not an integer, out of range */
    RCSV_R_WRITE_OFF,     /* online-retail: quantity <= 0 on a non-cancellation invoice */
    RCSV_R_CANCEL_SIGN,   /* online-retail: quantity >= 0 on a cancellation invoice */
    RCSV_R_PRICE,         /* not a number, negative, not finite or too large */
    RCSV_R_CURRENCY,      /* native: empty or malformed currency */
    RCSV_R_CONFLICT,      /* order-level field differs from the order's first row */
    RCSV_R_ZERO_SALES,    /* store-item: sales 0 (nothing was sold: no event) */
    RCSV_R_ORDER_INVALID, /* the assembled order failed ss_txn_validate (all its rows) */
    RCSV_R_COUNT
} rcsv_reason_t;

/* Returns the short name of a reason ("write-off", "adjustment", ...), static. */
const char *rcsv_reason_name(rcsv_reason_t r);

/* Parses "native", "online-retail" or "store-item"; returns 0 or SS_ERR_INVAL. */
int rcsv_format_parse(const char *s, rcsv_format_t *out, ss_err_t *err);

/* One rejected row (all fields borrowed for the duration of the callback). */
typedef struct rcsv_reject {
    uint64_t line; /* 1-based physical line where the row starts (header = line 1) */
    rcsv_reason_t reason;
    const char *message; /* e.g. "quantity -5 <= 0 on purchase invoice '536589'" */
} rcsv_reject_t;

/* Called for each rejected row, from inside rcsv_feed / rcsv_finish (the caller's thread).
 * Row-level rejects arrive in input order during rcsv_feed; whole-order rejects (ORDER_INVALID)
 * arrive during rcsv_finish. */
typedef void(rcsv_reject_cb_t)(const rcsv_reject_t *rej, void *opaque);

/* Zero means default for every field. */
typedef struct rcsv_opts {
    rcsv_format_t format;
    double item_price;           /* store-item: unit price of every line; 0 = 1.0 */
    const char *currency;        /* store-item currency (default "USD"); online-retail uses "GBP" */
    rcsv_reject_cb_t *on_reject; /* NULL: rejects are only counted */
    void *opaque;                /* passed to on_reject */
} rcsv_opts_t;

typedef struct rcsv_stats {
    uint64_t rows_read;               /* data rows (header excluded) */
    uint64_t rows_in_orders;          /* rows that are a line of a produced order */
    uint64_t rows_rejected;           /* sum of by_reason */
    uint64_t by_reason[RCSV_R_COUNT]; /* rejected rows per reason */
    uint64_t orders;                  /* produced orders = purchases + returns */
    uint64_t purchases;
    uint64_t returns;
    uint64_t anonymous; /* produced orders without customer */
} rcsv_stats_t;

typedef struct rcsv rcsv_t;

/* Returns new: a reader for one input. Copies opts. */
rcsv_t *rcsv_new(const rcsv_opts_t *opts);
void rcsv_destroy(rcsv_t *r); /* NULL is a no-op */

/* Parses the next n bytes of the input (any split, even mid-row). Bad rows are data (rejected
 * through on_reject and counted); the return is SS_ERR_INVAL only for a wrong header line of the
 * online-retail or store-item formats (the native header is optional). Sticky: after an error
 * every later call returns it again. Copies buf. */
int rcsv_feed(rcsv_t *r, const void *buf, size_t n, ss_err_t *err);

/* Ends the input: completes a last row without newline, validates every order (rejecting the
 * rows of invalid ones) and sorts the orders by event time (ties: order of first appearance).
 * Returns 0 or the sticky error. Call once; rcsv_feed is not allowed afterwards. */
int rcsv_finish(rcsv_t *r, ss_err_t *err);

/* Number of produced orders (after rcsv_finish). */
size_t rcsv_count(const rcsv_t *r);

/* Fills t (cleared first, lines in input order) with order i, 0 <= i < rcsv_count, in event-time
 * order. Copies into t. */
void rcsv_get(const rcsv_t *r, size_t i, ss_txn_t *t);

/* First input line of order i (for messages). */
uint64_t rcsv_line(const rcsv_t *r, size_t i);

/* Borrows the counters (valid until destroy). Complete after rcsv_finish:
 * rows_read == rows_in_orders + rows_rejected. */
const rcsv_stats_t *rcsv_stats(const rcsv_t *r);

/* ---- helpers shared with the generator and tests (pure) ---- */

/* Parses an event time: epoch milliseconds (digits, optional '-'), or ISO-8601 UTC
 * "YYYY-MM-DD[T| ]HH:MM[:SS[.fff]][Z|+00:00]" or a bare date "YYYY-MM-DD" (midnight UTC).
 * Returns 0 or SS_ERR_INVAL. */
int rcsv_parse_time(const char *s, int64_t *ms, ss_err_t *err);

/* Formats ms as "YYYY-MM-DDTHH:MM:SS.fffZ" into out (at least 32 bytes). */
void rcsv_format_time(int64_t ms, char *out, size_t size);

#endif
