/* ss_txn: the in-memory Transaction event (one order), shared by the Avro codec, the replay tool,
 * the generator and the features service. Plain data: no I/O, no allocation on the hot path once
 * the line array has grown. Not thread-safe; one per thread. */
#ifndef SS_TXN_H
#define SS_TXN_H

#include <stddef.h>
#include <stdint.h>

#include "ss_err.h"

#define SS_ID_MAX 64 /* bytes, without the NUL; longer ids are invalid events */

typedef enum ss_txn_kind { SS_TXN_PURCHASE = 0, SS_TXN_RETURN = 1 } ss_txn_kind_t;

typedef struct ss_txn_line {
    char product_id[SS_ID_MAX + 1];
    int32_t quantity;  /* units; positive for purchases and for returns (units given back) */
    double unit_price; /* in `currency`, >= 0 */
} ss_txn_line_t;

typedef struct ss_txn {
    char order_id[SS_ID_MAX + 1];
    char customer_id[SS_ID_MAX + 1]; /* "" when has_customer is 0 (anonymous sale) */
    int has_customer;
    char store_id[SS_ID_MAX + 1];
    int64_t event_time_ms; /* event time, epoch milliseconds UTC */
    ss_txn_kind_t kind;
    char currency[8];     /* ISO 4217, e.g. "GBP" */
    ss_txn_line_t *lines; /* owned; n_lines used of cap_lines allocated */
    size_t n_lines;
    size_t cap_lines;
} ss_txn_t;

#define SS_TXN_INIT                                                                                \
    { {0}, {0}, 0, {0}, 0, SS_TXN_PURCHASE, {0}, NULL, 0, 0 }

/* Empties t for reuse, keeping the line array's memory. */
void ss_txn_clear(ss_txn_t *t);
/* Frees the line array; t is SS_TXN_INIT afterwards. */
void ss_txn_release(ss_txn_t *t);
/* Returns a zeroed new line at the end of t->lines (borrows: valid until the next add/release). */
ss_txn_line_t *ss_txn_add_line(ss_txn_t *t);

/* Copies src into dst (dst's lines array grows as needed). */
void ss_txn_copy(ss_txn_t *dst, const ss_txn_t *src);

/* Sum of quantity x unit_price over the lines. */
double ss_txn_amount(const ss_txn_t *t);

/* 64-bit fingerprint of the whole content (all fields, lines in order): two deliveries of one
 * order_id with different fingerprints are a conflict. Stable across processes and versions. */
uint64_t ss_txn_fingerprint(const ss_txn_t *t);

typedef struct ss_txn_limits {
    int64_t min_time_ms;   /* 0 = default 2000-01-01 */
    int64_t max_time_ms;   /* 0 = default 2100-01-01 (exclusive) */
    size_t max_lines;      /* 0 = default 10000 */
    int32_t max_quantity;  /* 0 = default 1000000 units per line */
    double max_unit_price; /* 0 = default 1e6 */
} ss_txn_limits_t;

/* Checks a decoded event: non-empty ids of printable valid UTF-8, at least one line, quantities in
 * 1..max_quantity, finite prices in 0..max_unit_price, time within limits, known kind.
 * Returns 0 or SS_ERR_INVAL with the reason in err (e.g. "line 3: quantity 0 out of range"). */
int ss_txn_validate(const ss_txn_t *t, const ss_txn_limits_t *lim, ss_err_t *err);

/* Returns 1 if s[0..n) is valid UTF-8 without control characters, else 0. */
int ss_utf8_valid(const char *s, size_t n);

#endif
