/* scorer_state: the scorer's in-memory customer table: the latest CustomerFeatures of every
 * customer, the purchase times still inside a 30-day window, the latest score and risk level, the
 * event-time clock and the inactivity sweep schedule. Pure: no Kafka, no model, no clock (event
 * time comes in with the events). Depends on rfm (feature formulas) and churn_model (risk levels).
 * Threads: ONE mutator thread (apply, sweep_*, set_model_version); scorer_state_lookup and the
 * counters may run on any thread at the same time (an internal mutex is held while the mutator
 * writes and while a lookup copies). See docs/churn.md "Scoring service". */
#ifndef SS_SCORER_STATE_H
#define SS_SCORER_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "churn_features.h"
#include "churn_model.h"
#include "rfm.h"
#include "ss_err.h"
#include "ss_txn.h"

#define SCORER_DAY_MS INT64_C(86400000)
#define SCORER_ACTIVE_DEFAULT_MS (365 * SCORER_DAY_MS)

typedef enum scorer_reason { SCORER_EVENT = 0, SCORER_INACTIVITY = 1 } scorer_reason_t;

/* Returns "EVENT" or "INACTIVITY" (static; the ChurnScore enum symbols). */
const char *scorer_reason_name(scorer_reason_t r);

/* One CustomerFeatures event, decoded (scorer_codec) or built by a test. */
typedef struct scorer_event {
    char customer_id[SS_ID_MAX + 1];
    char order_id[SS_ID_MAX + 1];
    rfm_features_t f;         /* the features as sent; f.as_of_ms = as_of (epoch ms);
                                 f.has_purchase = frequency > 0 */
    int64_t first_ms;         /* first purchase time, epoch ms (0 without purchases) */
    int64_t last_ms;          /* latest purchase time, epoch ms (0 without purchases) */
    int32_t source_partition; /* of the triggering transaction; -1 if unknown */
    int64_t source_offset;
} scorer_event_t;

/* Checks what the state relies on: non-empty id, as_of within the ss_txn default time limits,
 * counts >= 0, finite amounts, last >= first and as_of >= last when frequency > 0, 0 <=
 * recent_orders_30d <= frequency. Returns 0 or SS_ERR_INVAL ("customer 'C1': last_order_time
 * before first_order_time"). */
int scorer_event_check(const scorer_event_t *ev, ss_err_t *err);

/* The model row of the event's own features (churn_row_from_rfm). */
void scorer_event_row(const scorer_event_t *ev, float *row);

/* A score to publish (or just recorded). */
typedef struct scorer_score {
    const char *customer_id; /* borrows the state's copy: valid until scorer_state_destroy */
    double probability;
    churn_risk_t risk;
    int has_prev;              /* 0 on the customer's first score */
    churn_risk_t prev;         /* risk level before this score */
    int64_t features_as_of_ms; /* as_of of the scored features (event time) */
    int64_t scored_at_ms;      /* the event's as_of, or the sweep time */
    scorer_reason_t reason;
} scorer_score_t;

/* Zero means default for every field. */
typedef struct scorer_opts {
    churn_thresholds_t thresholds; /* zero fields: 0.7 / 0.4 */
    int64_t active_ms;             /* swept when T - last purchase <= this; 0 = 365 days */
} scorer_opts_t;

typedef struct scorer_state scorer_state_t;

/* Returns new, or NULL with SS_ERR_INVAL for bad thresholds or a negative active_ms. */
scorer_state_t *scorer_state_new(const scorer_opts_t *opts, ss_err_t *err);
void scorer_state_destroy(scorer_state_t *st); /* NULL is a no-op */

/* Replaces the thresholds (e.g. with a reloaded model's); levels already recorded stay.
 * Returns 0 or SS_ERR_INVAL. Mutator thread. */
int scorer_state_set_thresholds(scorer_state_t *st, const churn_thresholds_t *t, ss_err_t *err);
const churn_thresholds_t *scorer_state_thresholds(const scorer_state_t *st);

/* Sets the model version recorded with the following scores (copied; a short table of distinct
 * versions is kept, lookups show each customer's). Mutator thread. */
void scorer_state_set_model_version(scorer_state_t *st, const char *version);

/* ---- events ---- */

typedef enum scorer_apply_result {
    SCORER_APPLIED = 0, /* state updated, *out is the score to publish */
    SCORER_STALE = 1,   /* older than (or the same as) the stored features: nothing changed */
} scorer_apply_result_t;

/* Applies a checked event scored p (the model's probability for scorer_event_row(ev)):
 * a customer's event is stale when its as_of is earlier than the stored one, or equal with no
 * more orders (frequency + return_count) - a replay or duplicate. Otherwise the features and the
 * 30-day purchase window are updated (a later last_order_time is a purchase at that time; the
 * window is then reconciled with the event's recent_orders_30d: purchases it cannot place are put
 * at last_order_time, extra ones dropped oldest first), the event-time clock advances to as_of,
 * and *out gets the score with the level transition (reason EVENT). Mutator thread. */
scorer_apply_result_t scorer_state_apply(scorer_state_t *st, const scorer_event_t *ev, double p,
                                         scorer_score_t *out);

/* Event-time clock: the largest as_of applied (0 before the first event). */
int64_t scorer_state_clock(const scorer_state_t *st);
/* Advances the clock to t_ms if later (e.g. the features service's watermark). */
void scorer_state_advance_clock(scorer_state_t *st, int64_t t_ms);

/* ---- inactivity sweep ----
 * Once per event-time day: when the clock has entered a day later than the last swept one, every
 * customer with a purchase within active_ms of T = that day's midnight (UTC) and features older
 * than T is re-scored as of T (recency_days and recent_orders_30d recomputed; the other features
 * do not change without an order). A score is published only when the level changes.
 *
 *   int64_t T;
 *   if (scorer_state_sweep_due(st, &T)) {
 *       scorer_state_sweep_begin(st, T);
 *       while ((n = scorer_state_sweep_rows(st, rows, max)) > 0) {
 *           churn_model_predict(m, rows, n, p, &err);
 *           k = scorer_state_sweep_apply(st, p, n, changed);  // publish changed[0..k)
 *       }
 *       scorer_state_sweep_end(st);
 *   }
 */

/* Returns 1 and sets *t_ms to the midnight starting the clock's day when that day has not been
 * swept yet, else 0. The first day seen is not swept (nobody can be a day older than the clock). */
int scorer_state_sweep_due(const scorer_state_t *st, int64_t *t_ms);
void scorer_state_sweep_begin(scorer_state_t *st, int64_t t_ms);
/* Writes the rows (CHURN_N_FEATURES floats each) of up to max next due customers; returns how
 * many (0: the sweep has visited everyone). Mutator thread. */
size_t scorer_state_sweep_rows(scorer_state_t *st, float *rows, size_t max);
/* Records p[0..n) for the rows of the last sweep_rows call and writes the scores whose level
 * changed into changed[0..k) (reason INACTIVITY); returns k. */
size_t scorer_state_sweep_apply(scorer_state_t *st, const double *p, size_t n,
                                scorer_score_t *changed);
void scorer_state_sweep_end(scorer_state_t *st);

/* Catch-up: an event applied with as_of before the last sweep's T (its partition lagged behind
 * another) leaves the customer scored as of that older time. Such customers are listed, and a
 * catch-up re-scores them as of the last sweep's T with the same rows/apply/end calls (level
 * changes published, reason INACTIVITY). Afterwards, as after a full sweep, every active
 * customer's level is that of their features as of max(latest as_of, last sweep T), whatever
 * the interleaving of partitions - so a replay reproduces the live state.
 * Returns 1 and begins when customers are waiting (then call rows/apply/end), else 0. */
int scorer_state_catchup_begin(scorer_state_t *st);
size_t scorer_state_late(const scorer_state_t *st);        /* customers waiting for a catch-up */
int64_t scorer_state_last_sweep(const scorer_state_t *st); /* midnight ms; 0 = none */

/* ---- lookups (any thread) ---- */

typedef struct scorer_view {
    char customer_id[SS_ID_MAX + 1];
    int has_score;
    scorer_score_t score;    /* customer_id points into this view */
    char model_version[64];  /* of the model that produced the score */
    rfm_features_t features; /* as of score.features_as_of_ms (or the event's as_of) */
    int64_t first_ms, last_ms;
    int64_t updated_as_of_ms; /* as_of of the latest CustomerFeatures received */
    size_t n_window;          /* purchase times kept for the 30-day window */
} scorer_view_t;

/* Copies customer id's record into *out. Returns 0 or SS_ERR_NOTFOUND. Any thread. */
int scorer_state_lookup(scorer_state_t *st, const char *id, scorer_view_t *out);

/* Counters (any thread). */
size_t scorer_state_customers(const scorer_state_t *st);
/* Customers per current risk level (out[3], indexed by churn_risk_t). Any thread. */
void scorer_state_risk_counts(const scorer_state_t *st, uint64_t out[3]);

/* Writes the stored features of record i (0 <= i < customers, in first-seen order) as of t_ms.
 * For tests and the bench; mutator thread. Returns SS_ERR_NOTFOUND when i is out of range. */
int scorer_state_features_at(const scorer_state_t *st, size_t i, int64_t t_ms, rfm_features_t *f);

#endif
