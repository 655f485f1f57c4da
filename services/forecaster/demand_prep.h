/* demand_prep: the batch notebook's demand-forecast preparation, as pure functions: daily series
 * with missing days as 0, IQR clipping (pandas linear quantiles), 80/20 split, MAE/RMSE, the
 * 7-day moving-average fallback, and the SARIMA(1,1,1)(1,1,1,7) run around them. No I/O, no
 * clock. Depends on sarima. Functions are reentrant; a dprep_result_t belongs to one thread. */
#ifndef SS_DEMAND_PREP_H
#define SS_DEMAND_PREP_H

#include <stddef.h>
#include <stdint.h>

#include "sarima.h"
#include "ss_err.h"

#define DPREP_HORIZON 30   /* days forecast by default */
#define DPREP_MIN_TRAIN 18 /* train days needed: more than the 17-observation burn-in */

/* Builds the daily series from n (day, quantity) pairs: days are event-time day numbers (e.g.
 * days since 1970-01-01), in any order, repeated days are summed, days without an event are 0.
 * The series covers [first_day, last_day]: pass first_day/last_day < 0 to use the min/max of
 * days. Returns 0 and a new array in *out (free()) with *n_out entries, or SS_ERR_INVAL when the
 * range is empty or longer than 100000 days. Non-finite quantities are kept (dprep_run reports
 * them). */
int dprep_daily(const int64_t *days, const double *qty, size_t n, int64_t first_day,
                int64_t last_day, double **out, size_t *n_out, ss_err_t *err);

/* pandas Series.quantile(q) with linear interpolation on x[0..n) (n > 0; x is not modified). */
double dprep_quantile(const double *x, size_t n, double q);

typedef struct dprep_clip {
    double q1, q3, iqr;  /* quartiles of the whole series and q3 - q1 */
    double lower, upper; /* q1 - 1.5 iqr, q3 + 1.5 iqr */
    int n_low, n_high;   /* values raised to lower / lowered to upper */
} dprep_clip_t;

/* Clips x[0..n) in place to [Q1 - 1.5 IQR, Q3 + 1.5 IQR]; fills *info. n > 0. */
void dprep_clip(double *x, size_t n, dprep_clip_t *info);

/* Number of training days: int(0.8 n). */
size_t dprep_n_train(size_t n);

/* Mean absolute and root mean squared error of pred against actual over n > 0 entries. */
void dprep_errors(const double *actual, const double *pred, size_t n, double *mae, double *rmse);

/* pandas x.rolling(7).mean().iloc[-1]: mean of the last 7 values; NAN when n < 7. */
double dprep_ma7(const double *x, size_t n);

/* Options; zero means default. */
typedef struct dprep_opts {
    int mode;            /* enum sarima_mode for the fit; default SARIMA_MODE_FAST */
    int horizon;         /* days to forecast past the last observed day; default DPREP_HORIZON */
    const double *start; /* fit start parameters (ar.L1 ma.L1 ar.S.L7 ma.S.L7 sigma2, sigma2 as a
                            variance), e.g. the previous day's fit (warm start), or NULL for
                            statsmodels' start values; borrowed. Leave NULL in match mode */
    const double *warm;  /* fast mode: the previous fit's parameters (same layout), refined by
                            Newton steps with the cold fit as fallback (sarima_fit_opts_t.warm;
                            res->fit.warm says which ran); borrowed; ignored in match mode */
} dprep_opts_t;

typedef struct dprep_result {
    size_t n, n_train, n_test;  /* series length and split */
    dprep_clip_t clip;          /* clipping applied to the whole series */
    int fallback;               /* 1: the forecast is the 7-day moving average, see reason */
    char reason[160];           /* why the fallback was used ("" when the model was used) */
    sarima_fit_result_t fit;    /* the SARIMA fit on the train part (valid when !fallback) */
    double test_mae, test_rmse; /* forecast of the test span from the end of train vs actuals
                                   (the notebook's evaluation; NAN when n_test == 0) */
    double fallback_value;      /* train.rolling(7).mean().iloc[-1] (the notebook's fallback) */
    double fallback_mae, fallback_rmse; /* that constant against the test part */
    int horizon;                        /* entries in mean/lower/upper */
    double *mean, *lower, *upper;       /* forecast for the days after the LAST OBSERVED day */
} dprep_result_t;

#define DPREP_RESULT_INIT                                                                          \
    { 0 }

/* The whole preparation on a daily series y[0..n) (copied): clip, split, fit SARIMA(1,1,1)
 * (1,1,1,7) on the train part, evaluate on the test part, then re-filter the whole clipped series
 * with the fitted parameters and forecast opts->horizon days starting the day after y[n-1] (the
 * notebook forecast from the end of train; we do not). Degenerate input - empty, non-finite
 * values, constant (or all-zero) after clipping, too short for the seasonal burn-in, a failed or
 * non-finite fit or forecast - is not an error: res->fallback = 1, res->reason says why, and the
 * forecast is the 7-day moving average of the whole clipped series with zero-width bounds.
 * Returns 0 (res filled; release with dprep_result_release) or SS_ERR_INVAL for bad arguments
 * (NULL y with n > 0, horizon > 3650). */
int dprep_run(const double *y, size_t n, const dprep_opts_t *opts, dprep_result_t *res,
              ss_err_t *err);

/* Frees the arrays of res and resets it to DPREP_RESULT_INIT; NULL is a no-op. */
void dprep_result_release(dprep_result_t *res);

#endif
