/* dprep suite: daily series, clipping, split, fallback and the forecast origin, against the
 * notebook's numbers in ../shared/golden/sarima, plus degenerate inputs. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demand_prep.h"
#include "sarima.h"
#include "ss_test.h"

#define N_SERIES 14

static double *json_doubles(json_t *a, size_t *n) {
    size_t len = json_array_size(a);
    double *v = calloc(len + 1, sizeof(double));
    for (size_t i = 0; i < len; i++)
        v[i] = json_number_value(json_array_get(a, i));
    if (n)
        *n = len;
    return v;
}

static double jnum(json_t *o, const char *key) {
    return json_number_value(json_object_get(o, key));
}

/* Reads series_<id>.csv (date,quantity_sold; every day present) into a new array. */
static double *read_csv(const char *dir, int id, size_t *n) {
    char path[1024], line[256];
    snprintf(path, sizeof(path), "%s/golden/sarima/series_%02d.csv", dir, id);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open '%s'", path);
    size_t cap = 1024, len = 0;
    double *y = malloc(cap * sizeof(double));
    ck_assert_ptr_nonnull(fgets(line, sizeof(line), f)); /* header */
    while (fgets(line, sizeof(line), f)) {
        char *comma = strchr(line, ',');
        ck_assert_ptr_nonnull(comma);
        if (len == cap)
            y = realloc(y, (cap *= 2) * sizeof(double));
        y[len++] = strtod(comma + 1, NULL);
    }
    fclose(f);
    *n = len;
    return y;
}

static json_t *load_expected(const char *dir, int id) {
    char path[1024];
    snprintf(path, sizeof(path), "%s/golden/sarima/expected_%02d.json", dir, id);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    ck_assert_msg(j != NULL, "cannot load '%s': %s", path, je.text);
    return j;
}

static int close_rel(double a, double b, double tol) {
    return fabs(a - b) <= tol * fmax(1.0, fabs(b));
}

/* Clipping with pandas' linear quantiles over the whole series, the split and the fallback. */
START_TEST(clip_split_fallback_match_notebook) {
    int id = _i + 1;
    const char *dir = ss_test_shared_dir();
    if (!dir) {
        printf("SKIP: ../shared absent\n");
        return;
    }
    size_t n, nc;
    double *y = read_csv(dir, id, &n);
    json_t *j = load_expected(dir, id);
    ck_assert_uint_eq(n, (size_t)json_integer_value(json_object_get(j, "n")));
    dprep_clip_t c;
    dprep_clip(y, n, &c);
    json_t *gc = json_object_get(j, "clip");
    ck_assert(c.q1 == jnum(gc, "q1"));
    ck_assert(c.q3 == jnum(gc, "q3"));
    ck_assert(c.iqr == jnum(gc, "iqr"));
    ck_assert(c.lower == jnum(gc, "lower"));
    ck_assert(c.upper == jnum(gc, "upper"));
    ck_assert_int_eq(c.n_low, (int)json_integer_value(json_object_get(gc, "n_clipped_low")));
    ck_assert_int_eq(c.n_high, (int)json_integer_value(json_object_get(gc, "n_clipped_high")));
    double *want = json_doubles(json_object_get(j, "clipped_series"), &nc);
    ck_assert_uint_eq(nc, n);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(y[i] == want[i], "series %d clipped[%zu] %g want %g", id, i, y[i], want[i]);
    size_t ntr = dprep_n_train(n);
    ck_assert_uint_eq(ntr, (size_t)json_integer_value(json_object_get(j, "n_train")));
    double fb = dprep_ma7(y, ntr);
    ck_assert_msg(close_rel(fb, jnum(j, "fallback_ma7_value"), 1e-12), "ma7 %.17g", fb);
    double *pred = malloc(sizeof(double) * (n - ntr)), mae, rmse;
    for (size_t i = 0; i < n - ntr; i++)
        pred[i] = fb;
    dprep_errors(y + ntr, pred, n - ntr, &mae, &rmse);
    ck_assert_msg(close_rel(mae, jnum(j, "fallback_ma7_mae"), 1e-12), "mae %.17g", mae);
    ck_assert_msg(close_rel(rmse, jnum(j, "fallback_ma7_rmse"), 1e-12), "rmse %.17g", rmse);
    free(pred);
    free(want);
    free(y);
    json_decref(j);
}
END_TEST

/* The whole run in match mode: notebook's test MAE/RMSE; our forecast starts after the last day. */
START_TEST(run_matches_notebook_and_forecasts_from_last_day) {
    int id = _i + 1;
    const char *dir = ss_test_shared_dir();
    if (!dir) {
        printf("SKIP: ../shared absent\n");
        return;
    }
    size_t n;
    double *y = read_csv(dir, id, &n);
    json_t *j = load_expected(dir, id);
    dprep_opts_t opts = {.mode = SARIMA_MODE_MATCH};
    dprep_result_t res = DPREP_RESULT_INIT;
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(dprep_run(y, n, &opts, &res, &err), 0);
    ck_assert_int_eq(res.horizon, DPREP_HORIZON);
    double *clipped = json_doubles(json_object_get(j, "clipped_series"), NULL);
    double mean_train = 0.0;
    for (size_t i = 0; i < res.n_train; i++)
        mean_train += clipped[i];
    mean_train /= (double)res.n_train;
    double scale = fmax(1.0, mean_train);
    if (id == 11 || id == 13) {
        /* constant after clipping: the fallback, exactly the constant, with a reason */
        ck_assert_int_eq(res.fallback, 1);
        ck_assert_ptr_nonnull(strstr(res.reason, "constant"));
        for (int i = 0; i < res.horizon; i++) {
            ck_assert(res.mean[i] == clipped[0]);
            ck_assert(res.lower[i] == clipped[0] && res.upper[i] == clipped[0]);
        }
        ck_assert(res.test_mae == jnum(j, "mae"));
    } else {
        ck_assert_msg(res.fallback == 0, "series %d fell back: %s", id, res.reason);
        ck_assert_msg(fabs(res.test_mae - jnum(j, "mae")) <= 1e-4 * scale, "series %d mae %.10g",
                      id, res.test_mae);
        ck_assert_msg(fabs(res.test_rmse - jnum(j, "rmse")) <= 1e-4 * scale, "series %d rmse %.10g",
                      id, res.test_rmse);
        /* the forecast continues the WHOLE series, not the end of train (the notebook's bug) */
        double mean[DPREP_HORIZON], var[DPREP_HORIZON];
        sarima_order_t o = {1, 1, 1, 1, 1, 1, 7};
        sarima_model_t *m = sarima_new(&o, &err);
        ck_assert_int_eq(
            sarima_forecast(m, clipped, n, res.fit.params, DPREP_HORIZON, mean, var, &err), 0);
        for (int i = 0; i < DPREP_HORIZON; i++) {
            ck_assert(res.mean[i] == mean[i]);
            ck_assert(fabs(res.upper[i] - res.mean[i] - SARIMA_Z95 * sqrt(var[i])) < 1e-9);
            ck_assert(res.lower[i] < res.mean[i] && res.mean[i] < res.upper[i]);
        }
        double *from_train_end = json_doubles(json_object_get(j, "forecast_30"), NULL);
        double gap = 0.0;
        for (int i = 0; i < DPREP_HORIZON; i++)
            gap = fmax(gap, fabs(from_train_end[i] - res.mean[i]));
        ck_assert_msg(gap > 1e-3 * scale, "series %d forecast equals the end-of-train one", id);
        free(from_train_end);
        sarima_destroy(m);
    }
    dprep_result_release(&res);
    ck_assert_ptr_null(res.mean);
    free(clipped);
    free(y);
    json_decref(j);
}
END_TEST

START_TEST(daily_fills_missing_days_and_sums_repeats) {
    int64_t days[] = {19000, 19003, 19000, 19001};
    double qty[] = {2, 5, 3, 1};
    double *y;
    size_t n;
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(dprep_daily(days, qty, 4, -1, -1, &y, &n, &err), 0);
    ck_assert_uint_eq(n, 4);
    ck_assert(y[0] == 5 && y[1] == 1 && y[2] == 0 && y[3] == 5);
    free(y);
    /* explicit range: leading and trailing empty days, events outside ignored */
    ck_assert_int_eq(dprep_daily(days, qty, 4, 18998, 19002, &y, &n, &err), 0);
    ck_assert_uint_eq(n, 5);
    ck_assert(y[0] == 0 && y[1] == 0 && y[2] == 5 && y[3] == 1 && y[4] == 0);
    free(y);
    ck_assert_int_eq(dprep_daily(NULL, NULL, 0, -1, -1, &y, &n, &err), SS_ERR_INVAL);
    ck_assert_int_eq(dprep_daily(days, qty, 4, 19005, 19001, &y, &n, &err), SS_ERR_INVAL);
    ck_assert_ptr_null(y);
}
END_TEST

START_TEST(quantile_is_pandas_linear) {
    double x[] = {7, 1, 3, 10};
    /* pandas: [1, 3, 7, 10].quantile(0.25) = 2.5, 0.75 -> 7.75, 0.5 -> 5 */
    ck_assert(dprep_quantile(x, 4, 0.25) == 2.5);
    ck_assert(dprep_quantile(x, 4, 0.75) == 7.75);
    ck_assert(dprep_quantile(x, 4, 0.5) == 5.0);
    ck_assert(dprep_quantile(x, 1, 0.75) == 7.0);
    ck_assert(x[0] == 7); /* input untouched */
    ck_assert(isnan(dprep_ma7(x, 4)));
    ck_assert_uint_eq(dprep_n_train(30), 24);
    ck_assert_uint_eq(dprep_n_train(9), 7);
}
END_TEST

static void check_fallback(const double *y, size_t n, const char *needle, double value) {
    dprep_result_t res = DPREP_RESULT_INIT;
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(dprep_run(y, n, NULL, &res, &err), 0);
    ck_assert_int_eq(res.fallback, 1);
    ck_assert_msg(strstr(res.reason, needle) != NULL, "reason '%s' lacks '%s'", res.reason, needle);
    for (int i = 0; i < res.horizon; i++)
        ck_assert_msg(res.mean[i] == value, "fallback %g want %g", res.mean[i], value);
    dprep_result_release(&res);
}

START_TEST(degenerate_inputs_fall_back_with_a_reason) {
    double y[200] = {0};
    check_fallback(y, 0, "empty", 0.0);
    for (int i = 0; i < 200; i++)
        y[i] = 0.0;
    check_fallback(y, 200, "constant", 0.0);
    for (int i = 0; i < 200; i++)
        y[i] = 10 + (i * 7) % 5;
    check_fallback(y, 10, "too short", (y[3] + y[4] + y[5] + y[6] + y[7] + y[8] + y[9]) / 7.0);
    check_fallback(y, 3, "too short", (y[0] + y[1] + y[2]) / 3.0);
    y[50] = NAN;
    y[60] = INFINITY;
    dprep_result_t res = DPREP_RESULT_INIT;
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(dprep_run(y, 200, NULL, &res, &err), 0);
    ck_assert_int_eq(res.fallback, 1);
    ck_assert_ptr_nonnull(strstr(res.reason, "2 non-finite"));
    for (int i = 0; i < res.horizon; i++)
        ck_assert(isfinite(res.mean[i]));
    dprep_result_release(&res);
    dprep_result_release(NULL);
    dprep_opts_t bad = {.horizon = 100000};
    ck_assert_int_eq(dprep_run(y, 200, &bad, &res, &err), SS_ERR_INVAL);
    ck_assert_int_eq(dprep_run(NULL, 5, NULL, &res, &err), SS_ERR_INVAL);
}
END_TEST

/* Fast mode (the service default) on a regular series: a model forecast, finite bounds. */
START_TEST(fast_mode_run_is_usable) {
    const char *dir = ss_test_shared_dir();
    if (!dir) {
        printf("SKIP: ../shared absent\n");
        return;
    }
    size_t n;
    double *y = read_csv(dir, 4, &n);
    json_t *j = load_expected(dir, 4);
    dprep_result_t res = DPREP_RESULT_INIT;
    ss_err_t err = SS_ERR_INIT;
    dprep_opts_t opts = {.horizon = 14};
    ck_assert_int_eq(dprep_run(y, n, &opts, &res, &err), 0);
    ck_assert_int_eq(res.fallback, 0);
    ck_assert_int_eq(res.horizon, 14);
    ck_assert(res.fit.llf >= jnum(j, "llf") - 1e-6 * fabs(jnum(j, "llf")));
    for (int i = 0; i < res.horizon; i++)
        ck_assert(isfinite(res.lower[i]) && res.lower[i] < res.upper[i]);
    dprep_result_release(&res);
    free(y);
    json_decref(j);
}
END_TEST

Suite *dprep_suite(void) {
    Suite *s = suite_create("dprep");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, clip_split_fallback_match_notebook, 0, N_SERIES);
    tcase_add_loop_test(tc, run_matches_notebook_and_forecasts_from_last_day, 0, N_SERIES);
    tcase_add_test(tc, daily_fills_missing_days_and_sums_repeats);
    tcase_add_test(tc, quantile_is_pandas_linear);
    tcase_add_test(tc, degenerate_inputs_fall_back_with_a_reason);
    tcase_add_test(tc, fast_mode_run_is_usable);
    suite_add_tcase(s, tc);
    return s;
}
