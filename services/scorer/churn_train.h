/* churn_train: point-in-time training sets from a transaction history, XGBoost training, the
 * logistic-regression baseline and the training report (text + SVG chart).
 * Features come from the feature service's own code (rfm.h), replayed per customer up to each
 * cut-off; nothing here reads files or Kafka (the streamscore-train tool feeds orders in).
 * Not thread-safe per object; no globals.
 *
 * Point-in-time rule, for a cut-off T (event time, epoch ms) and horizon H:
 *   - a row exists for every customer with at least one purchase at t <= T;
 *   - its features are rfm_features() after applying exactly the orders with t <= T, as of T;
 *   - its label is 1 (churned) when the customer has no purchase with T < t <= T + H, else 0.
 * Evaluation uses the latest cut-offs; a training cut-off T must satisfy T + H <= the first
 * evaluation cut-off, so no training label looks into the evaluation period (docs/churn.md). */
#ifndef SS_CHURN_TRAIN_H
#define SS_CHURN_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "churn_features.h"
#include "churn_model.h"
#include "ss_buf.h"
#include "ss_err.h"
#include "ss_txn.h"

#define CHURN_DAY_MS INT64_C(86400000)

/* ---- history ------------------------------------------------------------------------------- */

typedef struct churn_history churn_history_t;

/* Returns new: an empty history. */
churn_history_t *churn_history_new(void);
void churn_history_destroy(churn_history_t *h); /* NULL is a no-op */

/* Adds one order (copies what it needs: customer, time, kind, amount). Anonymous orders are
 * skipped (returns 0). Orders may come in any time order. */
int churn_history_add(churn_history_t *h, const ss_txn_t *t, ss_err_t *err);

/* Number of distinct customers / orders kept, and the event-time range of all kept orders
 * (0, 0 when empty). */
size_t churn_history_customers(const churn_history_t *h);
size_t churn_history_orders(const churn_history_t *h);
void churn_history_range(const churn_history_t *h, int64_t *first_ms, int64_t *last_ms);

/* ---- cut-offs ------------------------------------------------------------------------------ */

typedef struct churn_plan_opts {
    int horizon_days;     /* label window; 0 = 90 */
    int step_days;        /* between cut-offs; 0 = 30 */
    int n_eval;           /* evaluation cut-offs; 0 = 1 */
    int min_history_days; /* first training cut-off at least this long after the first order;
                             0 = 60 */
} churn_plan_opts_t;

/* Plans cut-offs at UTC midnights for a history spanning [first_ms, last_ms]: the last
 * evaluation cut-off is the latest midnight T with T + horizon <= last_ms, the others step back
 * from it; training cut-offs step back from (first evaluation cut-off - horizon). Both lists
 * ascending; at most CHURN_MAX_CUTOFFS each. Returns 0 or SS_ERR_INVAL when the history is too
 * short for one training and one evaluation cut-off. */
int churn_plan_cutoffs(int64_t first_ms, int64_t last_ms, const churn_plan_opts_t *o,
                       int64_t *train, size_t *n_train, int64_t *eval, size_t *n_eval,
                       ss_err_t *err);

/* Checks explicit cut-offs: each list non-empty and ascending, every T + horizon <= last_ms (the
 * label window is fully observed), every training T + horizon <= the first evaluation cut-off.
 * Returns 0 or SS_ERR_INVAL naming the offending cut-off. */
int churn_check_cutoffs(const int64_t *train, size_t n_train, const int64_t *eval, size_t n_eval,
                        int64_t horizon_ms, int64_t last_ms, ss_err_t *err);

/* ---- point-in-time sets -------------------------------------------------------------------- */

typedef struct churn_set {
    size_t n;         /* rows */
    size_t cap;       /* allocated rows */
    float *x;         /* n x CHURN_N_FEATURES, row-major; owned */
    int *y;           /* n labels: 1 = no purchase in (T, T + horizon]; owned */
    int64_t *cutoff;  /* n cut-offs T (epoch ms); owned */
    size_t *customer; /* n customer indexes (churn_history_customer_id); owned */
} churn_set_t;

#define CHURN_SET_INIT                                                                             \
    { 0, 0, NULL, NULL, NULL, NULL }

void churn_set_release(churn_set_t *s);

/* Customer id of index i (borrows: valid until the history is destroyed). */
const char *churn_history_customer_id(const churn_history_t *h, size_t i);

/* Appends to out one row per (cut-off, customer with a purchase at t <= cut-off), cut-offs in
 * the given (ascending) order, customers in order of first appearance in the history.
 * Returns 0 or SS_ERR_INVAL for unsorted cut-offs or a non-positive horizon. */
int churn_build_set(const churn_history_t *h, const int64_t *cutoffs, size_t n_cutoffs,
                    int64_t horizon_ms, churn_set_t *out, ss_err_t *err);

/* ---- models -------------------------------------------------------------------------------- */

typedef struct churn_xgb_opts {
    int rounds;              /* boosting rounds; 0 = 200 */
    int max_depth;           /* 0 = 2 */
    double eta;              /* learning rate; 0 = 0.05 */
    double subsample;        /* 0 = 0.8 */
    double colsample;        /* colsample_bytree; 0 = 0.8 */
    double min_child_weight; /* 0 = 50 */
    int seed;                /* 0 = 42 */
    int nthread;             /* 0 = 2 */
    int no_balance;          /* 1: leave scale_pos_weight at 1 */
} churn_xgb_opts_t;

/* Trains binary:logistic trees on s with scale_pos_weight = negatives / positives (unless
 * no_balance); *spw gets the weight used. Writes the parameters as "k=v ..." into params
 * (size bytes, may be NULL). Returns new (a model with the CHURN_N_FEATURES names and default
 * thresholds, no metrics yet) or NULL with err (SS_ERR_INVAL for an empty or one-class set,
 * SS_ERR_FATAL for an XGBoost failure). */
churn_model_t *churn_train_xgb(const churn_set_t *s, const churn_xgb_opts_t *o, double *spw,
                               char *params, size_t size, ss_err_t *err);

/* Logistic regression baseline on transformed features z = (g(x) - mean) / sd with
 * g(x) = sign(x) log(1 + |x|) and missing values at the mean (z = 0); fitted by IRLS (Newton)
 * with a small L2 penalty, solved with GSL's Cholesky. */
typedef struct churn_logreg {
    double mean[CHURN_N_FEATURES], sd[CHURN_N_FEATURES];
    double w[CHURN_N_FEATURES]; /* on z */
    double bias;
    int iterations;
} churn_logreg_t;

/* Fits lr on s. Returns 0 or SS_ERR_INVAL (empty/one-class set, singular system). */
int churn_logreg_fit(churn_logreg_t *lr, const churn_set_t *s, double l2, ss_err_t *err);
/* Probability of churn for one row of CHURN_N_FEATURES values. */
double churn_logreg_predict(const churn_logreg_t *lr, const float *row);

/* ---- the whole run ------------------------------------------------------------------------- */

typedef struct churn_run_opts {
    churn_plan_opts_t plan;
    const int64_t *train_cutoffs; /* explicit cut-offs (borrowed); NULL = planned */
    size_t n_train_cutoffs;
    const int64_t *eval_cutoffs; /* explicit evaluation cut-offs; NULL = planned */
    size_t n_eval_cutoffs;
    churn_xgb_opts_t xgb;
    churn_thresholds_t thresholds; /* zero = defaults */
    int64_t now_ms;                /* wall-clock training time for version and trained_at */
    const char *version;           /* NULL = churn_model_make_version */
    const char *source;            /* described in the manifest; may be NULL */
} churn_run_opts_t;

typedef struct churn_run {
    churn_model_t *model;    /* owned: metadata, metrics and references filled */
    churn_set_t train, eval; /* the point-in-time sets */
    double *eval_score;      /* eval.n XGBoost probabilities; owned */
    double *base_score;      /* eval.n baseline probabilities; owned */
    churn_logreg_t baseline;
    double importance[CHURN_N_FEATURES]; /* total gain per feature */
} churn_run_t;

#define CHURN_RUN_INIT                                                                             \
    {                                                                                              \
        NULL, CHURN_SET_INIT, CHURN_SET_INIT, NULL, NULL, {{0}}, { 0 }                             \
    }

void churn_run_release(churn_run_t *r);

/* Plans (or checks) cut-offs, builds both sets, trains XGBoost and the baseline, evaluates on
 * the evaluation set, computes importance and the reference distributions (of the evaluation
 * rows' features and scores: the most recent population) and fills the model's metadata.
 * Returns 0 or a negative SS_ERR_* with err. */
int churn_train_run(const churn_history_t *h, const churn_run_opts_t *o, churn_run_t *r,
                    ss_err_t *err);

/* Appends the human-readable report (cut-offs, sizes, AUCs beside the baselines, the
 * classification report at both thresholds, risk-level table, importance) to out. */
void churn_report_text(const churn_run_t *r, ss_buf_t *out);

/* Appends an SVG horizontal bar chart of values[0..n) labelled names, sorted descending, with
 * title, to out. */
void churn_bar_svg(const char *title, const char *const *names, const double *values, size_t n,
                   ss_buf_t *out);

/* Writes the point-in-time set as CSV (header: customer_id,cutoff_ms,<features>,label) to out;
 * NaN is written as an empty field. */
void churn_set_csv(const churn_history_t *h, const churn_set_t *s, ss_buf_t *out);

#endif
