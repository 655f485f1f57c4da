/* rfm: per-customer recency/frequency/monetary state and the feature formulas, as of any event
 * time T. Pure: no I/O, no clock (T is passed in). The Lua script features.lua keeps the very same
 * aggregates in Redis (same update order and arithmetic); this module is its reference model and
 * turns stored aggregates into features. Not thread-safe per object; no globals. */
#ifndef RFM_H
#define RFM_H

#include <stddef.h>
#include <stdint.h>

#include "ss_buf.h"
#include "ss_err.h"

#define RFM_DAY_MS INT64_C(86400000)
#define RFM_WINDOW_MS (30 * RFM_DAY_MS) /* recent_orders_30d: t_o >= T - 30 days */

/* The stored aggregates of one customer (Redis hash field 'st', see rfm_agg_decode). */
typedef struct rfm_agg {
    int64_t n;         /* purchase orders applied (distinct order ids) */
    double sum;        /* Kahan sum of purchase amounts (currency units) */
    double sum_c;      /* Kahan compensation of sum */
    double mean;       /* Welford running mean of purchase amounts */
    double m2;         /* Welford sum of squared deviations */
    int64_t first_ms;  /* earliest purchase event time (epoch ms); 0 when n == 0 */
    int64_t last_ms;   /* latest purchase event time (epoch ms); 0 when n == 0 */
    int64_t ret_n;     /* return orders applied */
    double ret_amount; /* sum of return amounts (positive) */
} rfm_agg_t;

/* Aggregates plus the purchase times that can still fall in a 30-day window as of any
 * T >= last_ms: sorted ascending, all >= last_ms - RFM_WINDOW_MS. */
typedef struct rfm_state {
    rfm_agg_t agg;
    int64_t *win; /* owned */
    size_t n_win, cap_win;
} rfm_state_t;

#define RFM_STATE_INIT                                                                             \
    { {0}, NULL, 0, 0 }

void rfm_state_release(rfm_state_t *st);

/* Applies one purchase (amount = sum quantity x unit price) at event time t_ms. Order of arrival
 * does not matter for counts, min/max times or the window; sums and Welford moments are exact up
 * to rounding. Dedupe by order id is the caller's job. */
void rfm_apply_purchase(rfm_state_t *st, int64_t t_ms, double amount);
/* Applies one return order (amount positive). Returns do not touch purchase fields. */
void rfm_apply_return(rfm_state_t *st, int64_t t_ms, double amount);

/* Updates only the aggregates (the window is kept elsewhere, e.g. in Redis). */
void rfm_agg_purchase(rfm_agg_t *a, int64_t t_ms, double amount);
void rfm_agg_return(rfm_agg_t *a, double amount);

/* Counts window times t with as_of_ms - RFM_WINDOW_MS <= t <= as_of_ms. win sorted ascending. */
int64_t rfm_window_count(const int64_t *win, size_t n, int64_t as_of_ms);

/* Inserts t into the sorted window (if it can still count: t >= last_ms - RFM_WINDOW_MS, with
 * last_ms the latest purchase including t) and drops times older than last_ms - RFM_WINDOW_MS. */
void rfm_window_add(rfm_state_t *st, int64_t t_ms);

/* The Redis encoding of a customer's state (features.lua): field 'st' is 64 bytes little-endian
 * int32 n, double sum, sum_c, mean, m2, int64 first_ms, last_ms, int32 ret_n, double ret_amount;
 * field 'w' is the window as little-endian int64 epoch ms. */
#define RFM_ST_BYTES 64
/* Encodes a into out[RFM_ST_BYTES]. */
void rfm_agg_encode(const rfm_agg_t *a, unsigned char out[RFM_ST_BYTES]);
/* Decodes 'st'; SS_ERR_INVAL unless n == RFM_ST_BYTES. */
int rfm_agg_decode(const void *p, size_t n, rfm_agg_t *a, ss_err_t *err);
/* Decodes 'w' into a sorted new array (*out returns new, free()); SS_ERR_INVAL unless n is a
 * multiple of 8. */
int rfm_window_decode(const void *p, size_t n, int64_t **out, size_t *count, ss_err_t *err);

typedef struct rfm_features {
    int64_t as_of_ms;               /* T */
    int has_purchase;               /* 0: only returns so far; recency/days fields are then 0 */
    int64_t recency_days;           /* floor((T - last purchase) / 1 day) */
    int64_t frequency;              /* distinct purchase orders */
    double total_spent;             /* sum of purchase amounts */
    double avg_order;               /* total_spent / frequency (0 without purchases) */
    double order_std;               /* sample std (ddof 1); 0 with fewer than 2 orders */
    int64_t days_since_first_order; /* floor((last - first) / 1 day) */
    double purchase_frequency;      /* frequency / (days_since_first_order + 1) */
    int64_t recent_orders_30d;      /* purchases with T - 30 days <= t <= T */
    int64_t return_count;
    double return_amount;
} rfm_features_t;

/* Computes features as of T from aggregates and the 30-day count (see rfm_window_count).
 * T should be >= a->last_ms (features as of an earlier T cannot be derived from aggregates). */
void rfm_compute(const rfm_agg_t *a, int64_t recent_30d, int64_t as_of_ms, rfm_features_t *f);
/* Same from a full state. */
void rfm_features(const rfm_state_t *st, int64_t as_of_ms, rfm_features_t *f);

/* floor(ms / RFM_DAY_MS) for negative values too. */
int64_t rfm_floor_days(int64_t ms);

/* Parses an as-of time: epoch milliseconds (digits, optional '-'), or ISO-8601 UTC
 * "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.mmm]][Z]" (a space may replace the 'T'). Returns 0 or
 * SS_ERR_INVAL "bad time 'x' (expected epoch ms or YYYY-MM-DD[THH:MM:SS[.mmm]][Z])". */
int rfm_parse_time(const char *s, int64_t *ms, ss_err_t *err);

/* Appends one JSON object (no newline): {"customer_id":...,"as_of_ms":...,features...}. Doubles
 * are printed with 17 significant digits; recency_days and days_since_first_order are null when
 * has_purchase is 0. customer_id is escaped. */
void rfm_features_json(const char *customer_id, const rfm_features_t *f, ss_buf_t *out);

#endif
