/* drift_stats: the statistics of the drift monitor - PSI on reference-quantile bins, the
 * two-sample Kolmogorov-Smirnov test, and live model quality (ROC-AUC, Brier score, expected
 * calibration error, MAE, RMSE). Pure: no I/O, no clock, no globals; thread-safe. Depends on libc
 * and libm only. docs/drift.md explains the methods and their defaults. */
#ifndef SS_DRIFT_STATS_H
#define SS_DRIFT_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "ss_err.h"

#define DSTAT_MAX_BINS 64
#define DSTAT_DEFAULT_BINS 10
/* Floor for the share of an empty bin in PSI: ln(0) is infinite, so both the reference and the
 * current share are clamped to at least this before the sum. 1e-4 is the common choice (one
 * hit in 10,000); with it an empty current bin whose reference share is 0.1 contributes
 * (0.1 - 1e-4) * ln(0.1 / 1e-4) = 0.69, i.e. "significant" on its own. */
#define DSTAT_PSI_EPS 1e-4

/* ======================== Reference-quantile bins ======================== */

/* Bins whose edges are the quantiles of a reference sample. Bin rule (the one of the churn model
 * artifact, churn_refdist_bin): x goes to the first bin i whose upper edge edges[i + 1] >= x; the
 * last bin takes everything above edges[n_bins - 1], the first everything below edges[1]. Ties in
 * the reference make edges coincide, and the bins between them stay empty (ref_frac says so). */
typedef struct dstat_bins {
    size_t n_bins;                    /* 1..DSTAT_MAX_BINS */
    double edges[DSTAT_MAX_BINS + 1]; /* quantiles 0, 1/n_bins, ..., 1 of the reference */
    double ref_frac[DSTAT_MAX_BINS];  /* share of the reference in each bin; sums to 1 */
    uint64_t ref_n;                   /* non-missing reference values */
} dstat_bins_t;

/* Builds bins from values[0..n) (NaN = missing, skipped; values are not modified): edges are the
 * quantiles k/n_bins with linear interpolation (numpy's default), ref_frac the sample counted
 * into them by the bin rule. Returns 0, or SS_ERR_INVAL for n_bins outside 1..DSTAT_MAX_BINS or no
 * non-missing value ("reference sample is empty"). */
int dstat_bins_from_sample(dstat_bins_t *b, const double *values, size_t n, size_t n_bins,
                           ss_err_t *err);

/* Builds bins from given edges[0..n_bins] (non-decreasing) and ref_frac[0..n_bins) (>= 0, summing
 * to 1 within 1e-6), e.g. the reference distributions of the churn model artifact. Copies.
 * Returns 0 or SS_ERR_INVAL ("edges not sorted at 3", "reference shares sum to 0.8"). */
int dstat_bins_from_edges(dstat_bins_t *b, const double *edges, const double *ref_frac,
                          size_t n_bins, uint64_t ref_n, ss_err_t *err);

/* Returns the bin of x (0..n_bins-1), or -1 for NaN. */
int dstat_bin_index(const dstat_bins_t *b, double x);

/* ======================== PSI ======================== */

/* Population stability index sum_i (cur_i - ref_i) * ln(cur_i / ref_i) over n bins of shares
 * (each side sums to 1), with both shares clamped to at least eps (eps <= 0 means DSTAT_PSI_EPS).
 * Always >= 0. */
double dstat_psi(const double *ref_frac, const double *cur_frac, size_t n, double eps);

/* PSI of current counts[0..b->n_bins) against the bins' reference shares. Returns NaN when the
 * counts sum to 0. */
double dstat_psi_counts(const dstat_bins_t *b, const uint64_t *counts, double eps);

/* ======================== Kolmogorov-Smirnov ======================== */

typedef enum dstat_ks_mode {
    DSTAT_KS_AUTO =
        0,          /* EXACT when na * nb <= 10000 (scipy's rule for method='auto'), else ASYMP */
    DSTAT_KS_EXACT, /* exact two-sided p by counting lattice paths (scipy method='exact') */
    DSTAT_KS_ASYMP, /* Kolmogorov limit: p = Q_KS(sqrt(en) * D), en = na * nb / (na + nb),
                       = scipy.stats.kstwobign.sf(sqrt(en) * D) */
} dstat_ks_mode_t;

typedef struct dstat_ks {
    double d;             /* sup |F_a(x) - F_b(x)|, 0..1 */
    double p;             /* two-sided p-value of "same distribution", 0..1 */
    dstat_ks_mode_t mode; /* EXACT or ASYMP: the method actually used */
} dstat_ks_t;

/* Two-sample two-sided KS test of a[0..na) against b[0..nb). NaN values are left out (the
 * counts na, nb then mean the non-missing ones). The arrays are not modified (sorted copies).
 * Returns 0, or SS_ERR_INVAL when a side has no non-missing value. EXACT is refused
 * (SS_ERR_INVAL) when na * nb > 1e6. */
int dstat_ks_2samp(const double *a, size_t na, const double *b, size_t nb, dstat_ks_mode_t mode,
                   dstat_ks_t *out, ss_err_t *err);

/* KS statistic of sorted a[0..na) (no NaN) against a reference known only as bins: its CDF is
 * taken as piecewise linear between the bin edges (the reference shares at each edge). The
 * p-value uses the Kolmogorov limit with en = na * ref_n / (na + ref_n) (ref_n 0: en = na).
 * For a reference from the model artifact, which keeps quantiles and no raw sample. */
void dstat_ks_vs_bins(const double *sorted_a, size_t na, const dstat_bins_t *b, dstat_ks_t *out);

/* Kolmogorov survival function Q_KS(x) = 2 sum_{k>=1} (-1)^(k-1) exp(-2 k^2 x^2) (1 for x <= 0). */
double dstat_kolmogorov_sf(double x);

/* ======================== Model quality ======================== */

/* ROC-AUC of score[0..n) for label[0..n) (1 = positive, 0 = negative), by the Mann-Whitney rank
 * sum with tied scores sharing the average rank (equal to sklearn's roc_auc_score). NaN when a
 * class is absent or a score is NaN. */
double dstat_roc_auc(const double *score, const int *label, size_t n);

/* Brier score mean((p - y)^2); NaN when n == 0. */
double dstat_brier(const double *p, const int *label, size_t n);

/* Expected calibration error over n_bins equal-width bins of [0, 1] (p = 1 in the last bin):
 * sum_b (n_b / n) |mean(y in b) - mean(p in b)|. NaN when n == 0 or n_bins == 0. */
double dstat_ece(const double *p, const int *label, size_t n, size_t n_bins);

/* Mean absolute error and root mean squared error of pred against actual; NaN when n == 0. */
double dstat_mae(const double *pred, const double *actual, size_t n);
double dstat_rmse(const double *pred, const double *actual, size_t n);

/* ======================== Helpers ======================== */

/* Quantile q (0..1) of sorted[0..n) with linear interpolation (numpy's default); NaN for n 0. */
double dstat_quantile_sorted(const double *sorted, size_t n, double q);

/* Median of recent[0..n) (copied, not modified); NaN when n == 0. */
double dstat_median(const double *values, size_t n);

#endif
