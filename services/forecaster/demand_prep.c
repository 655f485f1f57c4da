/* demand_prep: daily series, clipping, split, errors, fallback and the SARIMA run. */
#include "demand_prep.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dprep_daily(const int64_t *days, const double *qty, size_t n, int64_t first_day,
                int64_t last_day, double **out, size_t *n_out, ss_err_t *err) {
    *out = NULL;
    *n_out = 0;
    if (n > 0 && (!days || !qty))
        return ss_err_set(err, SS_ERR_INVAL, "dprep_daily: NULL input");
    int64_t lo = first_day, hi = last_day;
    if (lo < 0 || hi < 0) {
        if (n == 0)
            return ss_err_set(err, SS_ERR_INVAL, "no events and no day range");
        int64_t mn = days[0], mx = days[0];
        for (size_t i = 1; i < n; i++) {
            if (days[i] < mn)
                mn = days[i];
            if (days[i] > mx)
                mx = days[i];
        }
        if (lo < 0)
            lo = mn;
        if (hi < 0)
            hi = mx;
    }
    if (hi < lo)
        return ss_err_set(err, SS_ERR_INVAL, "empty day range [%lld, %lld]", (long long)lo,
                          (long long)hi);
    if (hi - lo >= 100000)
        return ss_err_set(err, SS_ERR_INVAL, "day range of %lld days is too long",
                          (long long)(hi - lo + 1));
    size_t len = (size_t)(hi - lo + 1);
    double *y = ss_xcalloc(len, sizeof(double));
    for (size_t i = 0; i < n; i++)
        if (days[i] >= lo && days[i] <= hi)
            y[days[i] - lo] += qty[i];
    *out = y;
    *n_out = len;
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double dprep_quantile(const double *x, size_t n, double q) {
    double *s = ss_xmalloc(sizeof(double) * n);
    memcpy(s, x, sizeof(double) * n);
    qsort(s, n, sizeof(double), cmp_double);
    /* numpy 1.24 'linear': virtual index n q + (1 - q) - 1, then its _lerp */
    double vi = (double)n * q + (1.0 - q) - 1.0;
    double fl = floor(vi);
    if (fl < 0)
        fl = 0;
    size_t i0 = (size_t)fl, i1 = i0 + 1 < n ? i0 + 1 : n - 1;
    if (i0 > n - 1)
        i0 = n - 1;
    double g = vi - fl, a = s[i0], b = s[i1];
    double diff = b - a;
    double r = g >= 0.5 ? b - diff * (1.0 - g) : a + diff * g;
    free(s);
    return r;
}

void dprep_clip(double *x, size_t n, dprep_clip_t *info) {
    memset(info, 0, sizeof(*info));
    info->q1 = dprep_quantile(x, n, 0.25);
    info->q3 = dprep_quantile(x, n, 0.75);
    info->iqr = info->q3 - info->q1;
    info->lower = info->q1 - 1.5 * info->iqr;
    info->upper = info->q3 + 1.5 * info->iqr;
    for (size_t i = 0; i < n; i++) {
        if (x[i] < info->lower) {
            x[i] = info->lower;
            info->n_low++;
        } else if (x[i] > info->upper) {
            x[i] = info->upper;
            info->n_high++;
        }
    }
}

size_t dprep_n_train(size_t n) { return (size_t)(0.8 * (double)n); }

void dprep_errors(const double *actual, const double *pred, size_t n, double *mae, double *rmse) {
    double sa = 0.0, ss = 0.0;
    for (size_t i = 0; i < n; i++) {
        double e = pred[i] - actual[i];
        sa += fabs(e);
        ss += e * e;
    }
    *mae = sa / (double)n;
    *rmse = sqrt(ss / (double)n);
}

double dprep_ma7(const double *x, size_t n) {
    if (n < 7)
        return NAN;
    double s = 0.0;
    int same = 1;
    for (size_t i = n - 7; i < n; i++) {
        s += x[i];
        same &= x[i] == x[n - 1];
    }
    return same ? x[n - 1] : s / 7.0; /* pandas returns a constant window exactly */
}

/* Switches res to the 7-day moving-average fallback of the whole clipped series y[0..n) (the
 * mean when n < 7, 0 when empty); the test metrics use the notebook's train fallback value. */
static void set_fallback(dprep_result_t *res, const double *y, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void set_fallback(dprep_result_t *res, const double *y, size_t n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
    va_end(ap);
    res->fallback = 1;
    double v = dprep_ma7(y, n);
    if (isnan(v)) {
        double s = 0.0;
        for (size_t i = 0; i < n; i++)
            s += y[i];
        v = n ? s / (double)n : 0.0;
    }
    for (int i = 0; i < res->horizon; i++)
        res->mean[i] = res->lower[i] = res->upper[i] = v;
    if (res->n_test > 0) {
        double fv = isnan(res->fallback_value) ? v : res->fallback_value;
        double *p = ss_xmalloc(sizeof(double) * res->n_test);
        for (size_t i = 0; i < res->n_test; i++)
            p[i] = fv;
        dprep_errors(y + res->n_train, p, res->n_test, &res->test_mae, &res->test_rmse);
        free(p);
    }
}

int dprep_run(const double *y_in, size_t n, const dprep_opts_t *opts, dprep_result_t *res,
              ss_err_t *err) {
    dprep_opts_t def = {0};
    if (!opts)
        opts = &def;
    if (n > 0 && !y_in)
        return ss_err_set(err, SS_ERR_INVAL, "dprep_run: NULL series");
    int horizon = opts->horizon > 0 ? opts->horizon : DPREP_HORIZON;
    if (horizon > 3650)
        return ss_err_set(err, SS_ERR_INVAL, "forecast horizon %d is too long", horizon);
    memset(res, 0, sizeof(*res));
    res->horizon = horizon;
    res->mean = ss_xcalloc((size_t)horizon, sizeof(double));
    res->lower = ss_xcalloc((size_t)horizon, sizeof(double));
    res->upper = ss_xcalloc((size_t)horizon, sizeof(double));
    res->test_mae = res->test_rmse = NAN;
    res->fallback_value = res->fallback_mae = res->fallback_rmse = NAN;
    res->fit.llf = NAN;
    res->n = n;
    if (n == 0) {
        set_fallback(res, NULL, 0, "empty series");
        return 0;
    }
    double *y = ss_xmalloc(sizeof(double) * n);
    memcpy(y, y_in, sizeof(double) * n);
    size_t nonfinite = 0;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(y[i])) {
            y[i] = 0.0;
            nonfinite++;
        }
    dprep_clip(y, n, &res->clip);
    res->n_train = dprep_n_train(n);
    res->n_test = n - res->n_train;
    const double *train = y, *test = y + res->n_train;
    res->fallback_value = dprep_ma7(train, res->n_train);
    if (res->n_test > 0 && !isnan(res->fallback_value)) {
        double *p = ss_xmalloc(sizeof(double) * res->n_test);
        for (size_t i = 0; i < res->n_test; i++)
            p[i] = res->fallback_value;
        dprep_errors(test, p, res->n_test, &res->fallback_mae, &res->fallback_rmse);
        free(p);
    }

    sarima_order_t order = {1, 1, 1, 1, 1, 1, 7};
    sarima_model_t *m = NULL;
    double *fc = NULL, *var = NULL;
    int constant = 1;
    for (size_t i = 1; i < res->n_train; i++)
        constant &= train[i] == train[0];
    if (nonfinite) {
        set_fallback(res, y, n, "%zu non-finite values in the series (counted as 0)", nonfinite);
        goto out;
    }
    if (res->n_train < DPREP_MIN_TRAIN) {
        set_fallback(res, y, n, "series too short: %zu train days, the model needs more than %d",
                     res->n_train, DPREP_MIN_TRAIN - 1);
        goto out;
    }
    if (constant) {
        set_fallback(res, y, n, "constant train part after clipping (value %g)", train[0]);
        goto out;
    }
    ss_err_t ferr = SS_ERR_INIT;
    m = sarima_new(&order, &ferr);
    sarima_fit_opts_t fo = {.mode = opts->mode, .start = opts->start, .warm = opts->warm};
    if (!m || sarima_fit(m, train, res->n_train, &fo, &res->fit, &ferr) != 0) {
        set_fallback(res, y, n, "sarima fit failed: %s", ferr.msg);
        goto out;
    }
    if (!isfinite(res->fit.llf)) {
        set_fallback(res, y, n, "non-finite log-likelihood after the fit");
        goto out;
    }
    size_t hmax = res->n_test > (size_t)horizon ? res->n_test : (size_t)horizon;
    fc = ss_xmalloc(sizeof(double) * hmax);
    var = ss_xmalloc(sizeof(double) * hmax);
    if (res->n_test > 0) {
        if (sarima_forecast(m, train, res->n_train, res->fit.params, (int)res->n_test, fc, NULL,
                            &ferr) != 0) {
            set_fallback(res, y, n, "sarima test forecast failed: %s", ferr.msg);
            goto out;
        }
        dprep_errors(test, fc, res->n_test, &res->test_mae, &res->test_rmse);
    }
    /* the service forecast: whole clipped series, fitted parameters, days after y[n-1] */
    if (sarima_forecast(m, y, n, res->fit.params, horizon, fc, var, &ferr) != 0) {
        set_fallback(res, y, n, "sarima forecast failed: %s", ferr.msg);
        goto out;
    }
    for (int i = 0; i < horizon; i++) {
        if (!isfinite(fc[i]) || !isfinite(var[i]) || var[i] < 0) {
            set_fallback(res, y, n, "non-finite forecast at step %d", i + 1);
            goto out;
        }
        double half = SARIMA_Z95 * sqrt(var[i]);
        res->mean[i] = fc[i];
        res->lower[i] = fc[i] - half;
        res->upper[i] = fc[i] + half;
    }
out:
    free(fc);
    free(var);
    sarima_destroy(m);
    free(y);
    return 0;
}

void dprep_result_release(dprep_result_t *res) {
    if (!res)
        return;
    free(res->mean);
    free(res->lower);
    free(res->upper);
    memset(res, 0, sizeof(*res));
}
