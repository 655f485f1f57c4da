/* report_data: what streamscore-report draws. The adders and aggregations are pure (unit-tested
 * with literal events); the collectors read the sources: every Kafka topic from its first offset
 * to the high watermark seen at start (no consumer group, nothing committed), the churn model
 * artifact, and the features service's demand hashes in Redis. Depends on ss_common, the scorer's
 * churn_model (ss_scorer) and the drift service's drift_stats (ss_drift).
 * Threads: an rdata_t is used by one thread. */
#ifndef SS_REPORT_DATA_H
#define SS_REPORT_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "churn_model.h"
#include "ss_avro.h"
#include "ss_cfg.h"
#include "ss_err.h"
#include "ss_redis.h"
#include "ss_txn.h"

/* Topics read, in the order they are read (transactions before the topics that refer to them). */
enum rdata_topic {
    RDATA_TXN = 0, /* transactions */
    RDATA_DLQ,     /* transactions.dlq */
    RDATA_FEAT,    /* customer-features */
    RDATA_SCORE,   /* churn-scores */
    RDATA_FCST,    /* demand-forecasts */
    RDATA_ALERT,   /* drift-alerts */
    RDATA_N_TOPICS
};

#define RDATA_N_FEATURES 10 /* the churn model's columns, churn_feature_names order */
#define RDATA_MAX_HORIZON 64

typedef struct rdata_vec {
    int64_t *v;
    size_t n, cap;
} rdata_vec_t;

/* One partition of `transactions`: per offset (from base), the produce time and the time its
 * outcome (a CustomerFeatures event or a dead letter) was produced. */
typedef struct rdata_part {
    int64_t base;     /* first offset stored */
    size_t n, cap;    /* offsets base .. base + n - 1 */
    int64_t *ts;      /* Kafka timestamp (ms) of the transaction; -1: absent or not a customer's */
    int64_t *done_ts; /* earliest outcome timestamp (ms); -1: none seen */
} rdata_part_t;

/* The latest DemandForecast of one (store, product) and, after rdata_collect_actuals, its
 * actual daily units. */
typedef struct rdata_fcst {
    char store[SS_ID_MAX + 1];
    char product[SS_ID_MAX + 1];
    int32_t gen_day; /* generated_for_day: last observed day (days since 1970-01-01) */
    char model[48];
    double holdout_mae;    /* NaN when null */
    double interval_level; /* e.g. 0.95 */
    size_t n;              /* horizon points */
    int32_t day[RDATA_MAX_HORIZON];
    double mean[RDATA_MAX_HORIZON], lower[RDATA_MAX_HORIZON], upper[RDATA_MAX_HORIZON];
    int has_forecast; /* 0 for a --pairs pair that has no forecast */
    double volume;    /* units sold in the 28 days up to gen_day (Redis); NaN before collected */
    int selected;     /* drawn in the report */
    size_t n_act;     /* actual days: act_day0 .. act_day0 + n_act - 1 */
    int32_t act_day0;
    double *act; /* units per day (0: no sale recorded) */
} rdata_fcst_t;

typedef struct rdata_alert {
    char name[64], feature[64], severity[16], status[16];
    int64_t starts_at, ends_at; /* event time ms; ends_at -1 when null */
    double value, threshold;
} rdata_alert_t;

typedef struct rdata {
    char topic[RDATA_N_TOPICS][128]; /* names (set by rdata_init) */
    rdata_vec_t ts[RDATA_N_TOPICS];  /* Kafka message timestamps (ms), every message read */
    uint64_t bad[RDATA_N_TOPICS];    /* messages that did not decode */
    char note[RDATA_N_TOPICS][256];  /* why a topic could not be read ("" if it was) */

    rdata_part_t *parts; /* transactions by partition */
    size_t n_parts;

    rdata_vec_t lag_at; /* customer-features timestamp (ms) ... */
    rdata_vec_t lag_ms; /* ... and its latency after its transaction's timestamp (ms) */

    rdata_vec_t feat_t; /* as_of of each CustomerFeatures (event time ms) ... */
    double *feat_v;     /* ... and its RDATA_N_FEATURES values (NaN = missing), row-major */
    size_t feat_cap;

    rdata_vec_t score_t;    /* scored_at (event time ms) ... */
    rdata_vec_t score_risk; /* ... and the risk level (churn_risk_t) */

    rdata_fcst_t *fc; /* one per (store, product) */
    size_t n_fc, cap_fc;
    size_t *fc_index; /* open-addressing hash of fc entries (index + 1; 0 = empty) */
    size_t fc_slots;

    rdata_alert_t *alerts;
    size_t n_alerts, cap_alerts;

    int has_model;       /* 1 after rdata_set_model */
    char model_msg[256]; /* why there is no model, or "" */
    char model_dir[512];
    churn_meta_t meta;
    double gain[CHURN_MAX_FEATURES]; /* XGBoost total_gain per meta.features column */
} rdata_t;

/* Initialises d (all empty) with topic names topics[RDATA_N_TOPICS] (copied; NULL entries get
 * the defaults transactions, transactions.dlq, customer-features, churn-scores,
 * demand-forecasts, drift-alerts). */
void rdata_init(rdata_t *d, const char *const *topics);
/* Frees everything d holds; d must be initialised again before reuse. */
void rdata_release(rdata_t *d);

/* ---- pure adders (event order: transactions and dead letters before customer-features) ----- */

/* Counts one message of topic t produced at ts_ms (Kafka timestamp). */
void rdata_add_msg(rdata_t *d, int t, int64_t ts_ms);
/* A transaction at (partition, offset) produced at ts_ms; is_customer 0 for anonymous sales,
 * which produce no CustomerFeatures and are left out of the backlog. */
void rdata_add_txn(rdata_t *d, int32_t partition, int64_t offset, int64_t ts_ms, int is_customer);
/* The transaction at (partition, offset) got an outcome at ts_ms (a CustomerFeatures event or a
 * dead letter). Returns the latency ts_ms - transaction time, or -1 when the transaction is
 * unknown (not read, anonymous, or partition/offset -1). The earliest outcome counts. */
int64_t rdata_add_outcome(rdata_t *d, int32_t partition, int64_t offset, int64_t ts_ms);
/* One CustomerFeatures event: produced at ts_ms for transaction (src_partition, src_offset),
 * as_of event time, values[RDATA_N_FEATURES] (copied). Records the latency when known. */
void rdata_add_features(rdata_t *d, int64_t ts_ms, int32_t src_partition, int64_t src_offset,
                        int64_t as_of_ms, const double *values);
/* One ChurnScore. */
void rdata_add_score(rdata_t *d, int64_t scored_at_ms, churn_risk_t risk);
/* One DemandForecast: kept when it is the first of its (store, product) or its gen_day is >=
 * the kept one's (the later message wins a tie). Points beyond RDATA_MAX_HORIZON are dropped.
 * Returns the entry (borrows: valid until the next add or release). */
rdata_fcst_t *rdata_add_forecast(rdata_t *d, const char *store, const char *product,
                                 int32_t gen_day, const char *model, double holdout_mae,
                                 double interval_level, const int32_t *day, const double *mean,
                                 const double *lower, const double *upper, size_t n);
/* Finds the entry of (store, product), or NULL. */
rdata_fcst_t *rdata_find_forecast(rdata_t *d, const char *store, const char *product);
/* One DriftAlert (copied; long strings truncated). */
void rdata_add_alert(rdata_t *d, const rdata_alert_t *a);
/* The churn model's metadata (copied) and gain[0..meta->n_features). */
void rdata_set_model(rdata_t *d, const churn_meta_t *meta, const double *gain);

/* ---- aggregations --------------------------------------------------------------------------- */

/* A bucket width for a time span: the smallest of 100, 200, 500 ms, 1 s, 2 s, 5 s, 10 s, 15 s, 30
 * s, 1 min, 2, 5, 10, 15, 30 min, 1, 2, 3, 6, 12 h, 1 d, 7 d, 28 d giving at most max_buckets
 * buckets. */
int64_t rdata_pick_bucket(int64_t span_ms, size_t max_buckets);

/* Counts v[0..n) into nb buckets of width bucket starting at t0 (values outside are ignored). */
void rdata_bucket_counts(const int64_t *v, size_t n, int64_t t0, int64_t bucket, size_t nb,
                         double *out);

/* Backlog at each time at[0..n): customer transactions produced at or before at[i] whose outcome
 * was not produced at or before at[i]. Transactions without an outcome count until the end. */
void rdata_backlog(const rdata_t *d, const int64_t *at, size_t n, double *out);

/* Per bucket of the lag samples (by customer-features timestamp): median and maximum latency in
 * seconds (NaN for an empty bucket). */
void rdata_lag_stats(const rdata_t *d, int64_t t0, int64_t bucket, size_t nb, double *p50,
                     double *max);

/* PSI per feature and event-time window: windows of win_days days from day0 (aligned to 00:00
 * UTC), nw of them; out[f * nw + w] for the model's features f in meta order (only features with
 * a reference, rows[] gets their churn_feature_names index; returns the row count). A window with
 * fewer than min_samples non-missing values of a feature is NaN (not judged). Uses the drift
 * service's dstat_bins_from_edges / dstat_bin_index / dstat_psi_counts on the artifact's
 * reference bins, as streamscore-drift does. Returns 0 without a model or references. */
size_t rdata_psi(const rdata_t *d, int64_t day0, int64_t win_days, size_t nw, size_t min_samples,
                 double *out, size_t *rows);

/* Selects the pairs to draw: with pairs ("store:product,store:product"), those (entries are added
 * for pairs without a forecast); otherwise the top_n with the largest volume (NaN volume last),
 * ties by store then product. Sets ->selected. Returns the number selected, or SS_ERR_INVAL
 * for a malformed pairs list ("pair 'x' is not store:product"). */
int rdata_select_pairs(rdata_t *d, const char *pairs, size_t top_n, ss_err_t *err);
/* qsort comparator of rdata_fcst_t pointers: volume descending (unknown volume last), then store,
 * then product. */
int rdata_fcst_cmp(const void *a, const void *b);

/* ---- collectors (I/O) ----------------------------------------------------------------------- */

/* Reads every topic of d from its first offset to its high watermark (queried at start; a topic
 * that does not exist or cannot be read gets a note and is skipped), decoding with reg. Stops a
 * topic after timeout_ms without reaching its end (note "incomplete"). cfg must declare
 * "brokers". Returns 0, or a negative SS_ERR_* on a fatal Kafka error. */
int rdata_collect_kafka(rdata_t *d, const ss_cfg_t *cfg, ss_avro_reg_t *reg, int timeout_ms,
                        ss_err_t *err);

/* Loads the artifact at dir (churn_model_load) and its gain importance. On failure sets
 * d->model_msg and returns the error. */
int rdata_collect_model(rdata_t *d, const char *dir, ss_err_t *err);

/* Reads the volumes of every forecast pair (28 days up to its gen_day), selects pairs
 * (rdata_select_pairs) and reads the actual units of each selected pair for days
 * [gen_day - hist_days + 1, gen_day + horizon] from <prefix>dm:{<store>:<YYYY-MM-DD>} field
 * p:<product>. Returns the number selected or a negative SS_ERR_* (Redis failure, bad pairs). */
int rdata_collect_actuals(rdata_t *d, ss_redis_t *r, const char *prefix, const char *pairs,
                          size_t top_n, int hist_days, ss_err_t *err);

#endif
