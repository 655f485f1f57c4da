/* churn_model: the versioned churn model artifact (XGBoost trees + manifest) and batch scoring.
 * Depends on ss_common, jansson and Debian's libxgboost (C API); nothing about Kafka or Redis.
 * Thread rules: a churn_model_t is used by one thread at a time (XGBoost's prediction buffers are
 * per booster); load a second copy for another thread. The pure helpers (risk levels, reference
 * distributions) are thread-safe.
 *
 * Artifact layout (docs/churn.md): a directory holding
 *   manifest.json  {"format": "streamscore-churn-model", "format_version": 1, "version",
 * "trained_at", "features": [...], "thresholds": {"high", "medium"}, "model_file", "model_fnv1a64",
 * "metrics": {...}, "training": {...}, "reference": {"features": {name: refdist}, "score":
 * refdist}} xgboost.json   the booster in XGBoost's own JSON model format (XGBoosterSaveModel) A
 * bare XGBoost JSON model (e.g. saved by the Python package's Booster.save_model("m.json")) loads
 * too: feature names come from the model, thresholds are the defaults, no references. */
#ifndef SS_CHURN_MODEL_H
#define SS_CHURN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "ss_err.h"

#define CHURN_MAX_FEATURES 32 /* features per row */
#define CHURN_NAME_MAX 48     /* bytes of a feature name, with the NUL */
#define CHURN_QBINS 10        /* reference-quantile bins per distribution */
#define CHURN_MAX_CUTOFFS 64  /* cut-offs recorded in the manifest */
#define CHURN_FORMAT_VERSION 1

/* ---- risk levels -------------------------------------------------------------------------- */

typedef enum churn_risk {
    CHURN_RISK_LOW = 0,
    CHURN_RISK_MEDIUM = 1,
    CHURN_RISK_HIGH = 2
} churn_risk_t;

typedef struct churn_thresholds {
    double high;   /* probability strictly above this is high risk; 0 = default 0.7 */
    double medium; /* strictly above this (and not high) is medium; 0 = default 0.4 */
} churn_thresholds_t;

#define CHURN_HIGH_DEFAULT 0.7
#define CHURN_MEDIUM_DEFAULT 0.4

/* Fills zero fields of t with the defaults, then checks 0 <= medium < high <= 1.
 * Returns 0 or SS_ERR_INVAL ("thresholds: medium 0.8 must be below high 0.7"). */
int churn_thresholds_check(churn_thresholds_t *t, ss_err_t *err);

/* Maps a probability to a level: p > high -> HIGH, p > medium -> MEDIUM, else (and NaN) LOW.
 * t must have passed churn_thresholds_check. */
churn_risk_t churn_risk_level(const churn_thresholds_t *t, double p);

/* Returns "low", "medium" or "high" (static). */
const char *churn_risk_name(churn_risk_t r);
/* Parses those names; returns 0 or SS_ERR_INVAL. */
int churn_risk_parse(const char *s, churn_risk_t *out, ss_err_t *err);

/* ---- reference distributions (for drift) -------------------------------------------------- */

/* A reference sample summarised as CHURN_QBINS bins between its deciles. Bin rule (shared with
 * the drift service through churn_refdist_bin): x goes to the first bin i whose upper edge
 * edges[i + 1] is >= x, the last bin taking everything above edges[CHURN_QBINS - 1]. With ties
 * (e.g. a feature that is 0 for 70% of customers) several edges coincide, some bins are empty
 * and frac says so. NaN values are counted in n_missing and left out of the bins. */
typedef struct churn_refdist {
    uint64_t n;         /* non-missing values in the sample */
    uint64_t n_missing; /* NaN values (e.g. order_std with one order) */
    double mean, std;   /* of the non-missing values; std with ddof 1 (0 when n < 2) */
    double min, max;
    double edges[CHURN_QBINS + 1]; /* quantiles 0, 0.1, ..., 1 (linear interpolation, numpy's
                                      default); edges[0] = min, edges[CHURN_QBINS] = max */
    double frac[CHURN_QBINS];      /* share of the n values falling in each bin; sums to 1 */
} churn_refdist_t;

/* Summarises values[0..n) (NaN = missing) into d; works on a copy, values are unchanged.
 * With no non-missing value, d->n is 0 and edges/frac are 0. */
void churn_refdist_compute(churn_refdist_t *d, const double *values, size_t n);

/* Returns the bin (0..CHURN_QBINS-1) of x by the rule above, or -1 for NaN. */
int churn_refdist_bin(const churn_refdist_t *d, double x);

/* ---- metrics kept in the artifact ---------------------------------------------------------- */

/* Classification report for "churn predicted when score > threshold". */
typedef struct churn_cls_report {
    double threshold;
    uint64_t tp, fp, tn, fn;
    double precision; /* tp / (tp + fp); 0 when nothing is predicted positive */
    double recall;    /* tp / (tp + fn); 0 when there is no positive */
    double f1;
    double accuracy;
} churn_cls_report_t;

typedef struct churn_metrics {
    double roc_auc, pr_auc;           /* XGBoost on the evaluation cut-offs */
    double base_roc_auc, base_pr_auc; /* logistic-regression baseline on the same rows */
    double rule_roc_auc, rule_pr_auc; /* one-feature rule: score = recency_days (NaN if absent) */
    uint64_t n_train, n_eval;         /* rows (customer x cut-off) */
    double train_pos_rate, eval_pos_rate; /* share of churners (label 1) */
    double scale_pos_weight;              /* negatives / positives of the training rows */
    churn_cls_report_t at_high, at_medium;
} churn_metrics_t;

/* Training provenance kept in the artifact. */
typedef struct churn_training_info {
    int horizon_days;                            /* label window (T, T + horizon] */
    size_t n_train_cutoffs, n_eval_cutoffs;      /* used entries of the arrays below */
    int64_t train_cutoffs_ms[CHURN_MAX_CUTOFFS]; /* event time, epoch ms UTC */
    int64_t eval_cutoffs_ms[CHURN_MAX_CUTOFFS];
    char source[256]; /* input description, e.g. "online_retail.csv.gz (online-retail)" */
    char params[512]; /* XGBoost parameters as "k=v k=v" */
} churn_training_info_t;

/* ---- the model ------------------------------------------------------------------------------ */

typedef struct churn_meta {
    char version[64];    /* e.g. "20240501T101500Z-3f2a9c1d" (set by the trainer) */
    char trained_at[32]; /* ISO-8601 UTC wall-clock time of training, "" if unknown */
    size_t n_features;
    char features[CHURN_MAX_FEATURES][CHURN_NAME_MAX]; /* column order of every row */
    churn_thresholds_t thresholds;
    int has_metrics; /* 0 for a bare XGBoost model */
    churn_metrics_t metrics;
    churn_training_info_t training;
    int has_reference; /* 1 when feature_ref/score_ref are filled */
    churn_refdist_t feature_ref[CHURN_MAX_FEATURES];
    churn_refdist_t score_ref;
} churn_meta_t;

typedef struct churn_model churn_model_t;

/* Loads an artifact: path is the artifact directory, its manifest.json, or a bare XGBoost JSON
 * model file. Checks format and format_version, that the model file's FNV-1a hash matches the
 * manifest (a model replaced under a reader fails instead of pairing with the wrong manifest),
 * and that the booster's feature count (and names, when it has them) match the manifest.
 * Returns new (free with churn_model_destroy) or NULL with err set (SS_ERR_IO, SS_ERR_INVAL). */
churn_model_t *churn_model_load(const char *path, ss_err_t *err);

/* Saves m into directory dir (created if missing, parents must exist): the model file and then
 * manifest.json, each written to a temporary file and renamed, so a reader sees the old or the
 * new pair (the hash check catches a torn pair). Returns 0 or SS_ERR_IO. */
int churn_model_save(const churn_model_t *m, const char *dir, ss_err_t *err);

void churn_model_destroy(churn_model_t *m); /* NULL is a no-op */

/* Borrows the metadata (valid until destroy). churn_model_meta_mut is for the trainer, which
 * fills metrics and references after training and before saving. */
const churn_meta_t *churn_model_meta(const churn_model_t *m);
churn_meta_t *churn_model_meta_mut(churn_model_t *m);

/* Scores n rows of meta->n_features floats each (row-major, NaN = missing) into out[0..n) as
 * churn probabilities. n may be 0. Returns 0 or SS_ERR_FATAL with XGBoost's message. */
int churn_model_predict(churn_model_t *m, const float *rows, size_t n, double *out, ss_err_t *err);

/* Sets XGBoost's thread count for predictions (0 = library default, all cores). */
int churn_model_set_threads(churn_model_t *m, int nthread, ss_err_t *err);

/* Fills gain[0..n_features) with XGBoost's "total_gain" importance (0 for unused features).
 * Returns 0 or SS_ERR_FATAL. */
int churn_model_importance(churn_model_t *m, double *gain, ss_err_t *err);

/* Number of boosting rounds (trees) of the model. */
int churn_model_rounds(const churn_model_t *m);

/* ---- used by the trainer ------------------------------------------------------------------- */

/* Wraps a trained booster (an XGBoost BoosterHandle passed as void *; takes it: freed by
 * churn_model_destroy). names[0..n_features) become the feature order and are also set on the
 * booster. Returns new, or NULL with SS_ERR_INVAL for a bad feature count or name. */
churn_model_t *churn_model_wrap(void *booster, const char *const *names, size_t n_features,
                                ss_err_t *err);

/* Version string for a model trained at wall time now_ms: "YYYYMMDDTHHMMSSZ-<8 hex of the
 * model's FNV-1a hash>". Writes into out (at least 64 bytes). Returns 0 or SS_ERR_FATAL. */
int churn_model_make_version(const churn_model_t *m, int64_t now_ms, char *out, size_t size,
                             ss_err_t *err);

/* Formats epoch ms as "YYYY-MM-DDTHH:MM:SSZ" (UTC) into out (at least 32 bytes). */
void churn_format_time(int64_t ms, char *out, size_t size);

#endif
