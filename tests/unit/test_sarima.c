/* sarima suite: the filter, start values and fits against statsmodels' golden numbers in
 * ../shared/golden/sarima (14 series), plus literal statsmodels numbers for other orders. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sarima.h"
#include "sarima_int.h" /* sarima_filter_match_lanes */
#include "ss_test.h"

#define N_SERIES 14

typedef struct golden {
    json_t *j;
    double *y; /* clipped series */
    size_t n, n_train;
    double train_mean;
} golden_t;

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

/* Loads expected_<id>.json; returns 0 when ../shared is absent (the caller skips). */
static int golden_load(int id, golden_t *g) {
    const char *dir = ss_test_shared_dir();
    if (!dir)
        return 0;
    char path[1024];
    snprintf(path, sizeof(path), "%s/golden/sarima/expected_%02d.json", dir, id);
    json_error_t je;
    g->j = json_load_file(path, 0, &je);
    ck_assert_msg(g->j != NULL, "cannot load '%s': %s", path, je.text);
    g->y = json_doubles(json_object_get(g->j, "clipped_series"), &g->n);
    g->n_train = (size_t)json_integer_value(json_object_get(g->j, "n_train"));
    ck_assert_uint_eq(g->n_train, (size_t)(0.8 * (double)g->n));
    double s = 0.0;
    for (size_t i = 0; i < g->n_train; i++)
        s += g->y[i];
    g->train_mean = s / (double)g->n_train;
    return 1;
}

static void golden_free(golden_t *g) {
    json_decref(g->j);
    free(g->y);
}

static double rel_err(double a, double b) {
    double d = fabs(b) > 1e-300 ? fabs(b) : 1e-300;
    return fabs(a - b) / d;
}

static sarima_model_t *model_111_111(void) {
    sarima_order_t o = {1, 1, 1, 1, 1, 1, 7};
    ss_err_t err = SS_ERR_INIT;
    sarima_model_t *m = sarima_new(&o, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    ck_assert_int_eq(sarima_k_states(m), 17);
    ck_assert_int_eq(sarima_n_params(m), 5);
    return m;
}

#define SKIP_IF_NO_SHARED(g, id)                                                                   \
    if (!golden_load((id), (g))) {                                                                 \
        printf("SKIP: ../shared absent\n");                                                        \
        return;                                                                                    \
    }

/* Filter at the fixed parameters: llf 1e-9 relative, forecasts and variances 1e-8 relative. */
START_TEST(fixed_params_match_statsmodels) {
    int id = _i + 1;
    golden_t g;
    SKIP_IF_NO_SHARED(&g, id);
    sarima_model_t *m = model_111_111();
    json_t *fx = json_object_get(g.j, "fixed_params_check");
    size_t np, nobs, h;
    double *params = json_doubles(json_object_get(fx, "params"), &np);
    double *gobs = json_doubles(json_object_get(fx, "llf_obs"), &nobs);
    double *gf = json_doubles(json_object_get(fx, "forecast_30"), &h);
    double *gv = json_doubles(json_object_get(fx, "forecast_30_var"), NULL);
    ck_assert_uint_eq(np, 5);
    ck_assert_uint_eq(nobs, g.n_train);
    double *obs = calloc(g.n_train, sizeof(double));
    sarima_filter_out_t out = {.llf_obs = obs};
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(sarima_loglike(m, g.y, g.n_train, params, &out, &err), 0);
    double want = jnum(fx, "llf");
    ck_assert_msg(rel_err(out.llf, want) < 1e-9, "series %d llf %.17g want %.17g", id, out.llf,
                  want);
    for (size_t t = 0; t < g.n_train; t++)
        ck_assert_msg(rel_err(obs[t], gobs[t]) < 1e-9, "series %d llf_obs[%zu] %.17g want %.17g",
                      id, t, obs[t], gobs[t]);
    double mean[30], var[30];
    ck_assert_int_eq(sarima_forecast(m, g.y, g.n_train, params, 30, mean, var, &err), 0);
    for (int i = 0; i < 30; i++) {
        ck_assert_msg(fabs(mean[i] - gf[i]) <= 1e-8 * fmax(1.0, fabs(gf[i])),
                      "series %d forecast[%d] %.17g want %.17g", id, i, mean[i], gf[i]);
        ck_assert_msg(rel_err(var[i], gv[i]) < 1e-8, "series %d var[%d] %.17g want %.17g", id, i,
                      var[i], gv[i]);
    }
    free(obs);
    free(params);
    free(gobs);
    free(gf);
    free(gv);
    sarima_destroy(m);
    golden_free(&g);
}
END_TEST

/* Start values (Hannan-Rissanen-like regressions) and the llf there. */
START_TEST(start_params_match_statsmodels) {
    int id = _i + 1;
    golden_t g;
    SKIP_IF_NO_SHARED(&g, id);
    sarima_model_t *m = model_111_111();
    json_t *mo = json_object_get(g.j, "model");
    double *want = json_doubles(json_object_get(mo, "start_params"), NULL);
    double sp[5];
    int flags = -1;
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(sarima_start_params(m, g.y, g.n_train, sp, &flags, &err), 0);
    for (int i = 0; i < 5; i++)
        ck_assert_msg(fabs(sp[i] - want[i]) <= 1e-9 * fmax(1e-3, fabs(want[i])),
                      "series %d start[%d] %.17g want %.17g", id, i, sp[i], want[i]);
    /* series 12 (24 train days) is too short for the seasonal regressions: statsmodels warns */
    ck_assert_int_eq(flags, id == 12 ? SARIMA_START_FEW_OBS_SEAS : 0);
    sarima_filter_out_t out = {0};
    ck_assert_int_eq(sarima_loglike(m, g.y, g.n_train, sp, &out, &err), 0);
    ck_assert_msg(rel_err(out.llf, jnum(mo, "llf_at_start_params")) < 1e-9,
                  "series %d llf at start %.17g", id, out.llf);
    free(want);
    sarima_destroy(m);
    golden_free(&g);
}
END_TEST

/* Forecast and 95 % bounds at params against the golden arrays, scaled by max(1, train mean). */
static double forecast_gap(sarima_model_t *m, const golden_t *g, const double *params,
                           double *gap_bounds) {
    double mean[30], var[30];
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(sarima_forecast(m, g->y, g->n_train, params, 30, mean, var, &err), 0);
    double *gf = json_doubles(json_object_get(g->j, "forecast_30"), NULL);
    double *gl = json_doubles(json_object_get(g->j, "conf_int_lower"), NULL);
    double *gu = json_doubles(json_object_get(g->j, "conf_int_upper"), NULL);
    double scale = fmax(1.0, g->train_mean), ef = 0.0, eb = 0.0;
    for (int i = 0; i < 30; i++) {
        double half = SARIMA_Z95 * sqrt(var[i]);
        ef = fmax(ef, fabs(mean[i] - gf[i]) / scale);
        eb = fmax(eb, fabs(mean[i] - half - gl[i]) / scale);
        eb = fmax(eb, fabs(mean[i] + half - gu[i]) / scale);
    }
    free(gf);
    free(gl);
    free(gu);
    *gap_bounds = eb;
    return ef;
}

/* Match mode: same optimiser and gradient as statsmodels. */
START_TEST(match_fit_reproduces_statsmodels) {
    int id = _i + 1;
    golden_t g;
    SKIP_IF_NO_SHARED(&g, id);
    sarima_model_t *m = model_111_111();
    sarima_fit_opts_t fo = {.mode = SARIMA_MODE_MATCH};
    sarima_fit_result_t r;
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(sarima_fit(m, g.y, g.n_train, &fo, &r, &err), 0);
    ck_assert_int_eq(r.n_params, 5);
    int constant = id == 11 || id == 13;
    double want = jnum(g.j, "llf");
    if (!constant) {
        ck_assert_msg(rel_err(r.llf, want) < 1e-6, "series %d llf %.17g want %.17g", id, r.llf,
                      want);
        json_t *op = json_object_get(g.j, "optimizer");
        ck_assert_int_eq(r.warnflag, (int)json_integer_value(json_object_get(op, "warnflag")));
        ck_assert_msg(fabs(r.aic - jnum(g.j, "aic")) < 1e-6 * fabs(jnum(g.j, "aic")), "aic");
        ck_assert_msg(fabs(r.bic - jnum(g.j, "bic")) < 1e-6 * fabs(jnum(g.j, "bic")), "bic");
    }
    double eb;
    double ef = forecast_gap(m, &g, r.params, &eb);
    ck_assert_msg(ef <= 1e-4, "series %d forecast gap %.3g", id, ef);
    if (!constant) /* degenerate fits: sigma2 ~ 1e-10, their bounds are arbitrary */
        ck_assert_msg(eb <= 1e-4, "series %d bounds gap %.3g", id, eb);
    sarima_destroy(m);
    golden_free(&g);
}
END_TEST

/* Fast mode: any optimiser, but never a worse optimum than statsmodels (1e-6 relative). */
START_TEST(fast_fit_never_worse) {
    int id = _i + 1;
    if (id == 11 || id == 13)
        return; /* constant series: degenerate likelihood, handled by demand_prep */
    golden_t g;
    SKIP_IF_NO_SHARED(&g, id);
    sarima_model_t *m = model_111_111();
    sarima_fit_opts_t fo = {.mode = SARIMA_MODE_FAST};
    sarima_fit_result_t r;
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(sarima_fit(m, g.y, g.n_train, &fo, &r, &err), 0);
    double want = jnum(g.j, "llf");
    ck_assert_msg(r.llf >= want - 1e-6 * fabs(want), "series %d fast llf %.17g < statsmodels %.17g",
                  id, r.llf, want);
    sarima_destroy(m);
    golden_free(&g);
}
END_TEST

/* Warm start, as the service runs it: day d (the series without its last day) fitted cold,
 * then day d+1 (the golden series) warm-started from day d's parameters. Whether the warm start
 * is used or rejected, the llf is never worse than statsmodels' cold fit of day d+1 (1e-6
 * relative); a used warm start reports the fast filter's llf, equal to the match filter's. */
START_TEST(warm_fit_never_worse) {
    int id = _i + 1;
    if (id == 11 || id == 13)
        return;
    golden_t g;
    SKIP_IF_NO_SHARED(&g, id);
    sarima_model_t *m = model_111_111();
    sarima_fit_result_t d0, r;
    ss_err_t err = SS_ERR_INIT;
    size_t n0 = (size_t)(0.8 * (double)(g.n - 1));
    ck_assert_int_eq(sarima_fit(m, g.y, n0, &(sarima_fit_opts_t){0}, &d0, &err), 0);
    sarima_fit_opts_t fo = {.mode = SARIMA_MODE_FAST, .warm = d0.params};
    ck_assert_int_eq(sarima_fit(m, g.y, g.n_train, &fo, &r, &err), 0);
    double want = jnum(g.j, "llf");
    ck_assert_msg(r.llf >= want - 1e-6 * fabs(want), "series %d warm llf %.17g < statsmodels %.17g",
                  id, r.llf, want);
    ck_assert_int_ne(r.warm, SARIMA_WARM_NONE);
    if (r.warm == SARIMA_WARM_USED) {
        sarima_filter_out_t out = {0};
        ck_assert_int_eq(sarima_loglike(m, g.y, g.n_train, r.params, &out, &err), 0);
        ck_assert_msg(rel_err(r.llf, out.llf) <= 1e-10, "series %d", id);
        ck_assert_int_eq(r.warm_fcalls, 0);
        ck_assert_int_le(r.fcalls, 20);
    }
    if (g.n == 730)
        ck_assert_int_eq(r.warm, SARIMA_WARM_USED);
    sarima_destroy(m);
    golden_free(&g);
}
END_TEST

/* A rejected warm start gives exactly the cold fast fit (plus the evaluations it cost); an
 * unusable one is rejected before any filter runs; match mode ignores warm starts. */
START_TEST(warm_fallback_is_the_cold_fit) {
    golden_t g;
    SKIP_IF_NO_SHARED(&g, 8);
    sarima_model_t *m = model_111_111();
    sarima_fit_result_t cold, r, mc, mw;
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(sarima_fit(m, g.y, g.n_train, &(sarima_fit_opts_t){0}, &cold, &err), 0);
    ck_assert_int_eq(cold.warm, SARIMA_WARM_NONE);
    const double far[5] = {0.9, 0.9, 0.9, 0.9, 100.0 * cold.params[4]};
    const double nan_p[5] = {0.1, NAN, 0.1, 0.1, 1.0};
    const double neg_var[5] = {0.1, 0.1, 0.1, 0.1, -1.0};
    const double *bad[3] = {far, nan_p, neg_var};
    for (int b = 0; b < 3; b++) {
        ck_assert_int_eq(
            sarima_fit(m, g.y, g.n_train, &(sarima_fit_opts_t){.warm = bad[b]}, &r, &err), 0);
        ck_assert_int_ne(r.warm, SARIMA_WARM_NONE);
        ck_assert_int_ne(r.warm, SARIMA_WARM_USED);
        ck_assert_str_ne(sarima_warm_str(r.warm), "unknown");
        ck_assert_msg(memcmp(r.params, cold.params, sizeof(r.params)) == 0, "case %d", b);
        ck_assert_double_eq(r.llf, cold.llf);
        ck_assert_int_eq(r.fcalls, cold.fcalls + r.warm_fcalls);
        if (b > 0) {
            ck_assert_int_eq(r.warm, SARIMA_WARM_BAD_START);
            ck_assert_int_eq(r.warm_fcalls, 0);
        } else {
            ck_assert_int_gt(r.warm_fcalls, 0);
        }
    }
    sarima_fit_opts_t mo = {.mode = SARIMA_MODE_MATCH};
    ck_assert_int_eq(sarima_fit(m, g.y, g.n_train, &mo, &mc, &err), 0);
    mo.warm = cold.params;
    ck_assert_int_eq(sarima_fit(m, g.y, g.n_train, &mo, &mw, &err), 0);
    ck_assert_int_eq(mw.warm, SARIMA_WARM_NONE);
    ck_assert(memcmp(mc.params, mw.params, sizeof(mc.params)) == 0);
    ck_assert_double_eq(mc.llf, mw.llf);
    ck_assert_int_eq(mc.fcalls, mw.fcalls);
    sarima_destroy(m);
    golden_free(&g);
}
END_TEST

/* The analytic gradient of fast mode agrees with central differences of the match filter. */
START_TEST(fast_gradient_matches_differences) {
    int id = _i + 1;
    /* constant series at sigma2 = 1e-10: F sits in the rounding noise of the 1e6 diffuse start,
     * so any two filters differ there (statsmodels' llf is arbitrary too) */
    if (id == 11 || id == 13)
        return;
    golden_t g;
    SKIP_IF_NO_SHARED(&g, id);
    sarima_model_t *m = model_111_111();
    double *params =
        json_doubles(json_object_get(json_object_get(g.j, "model"), "start_params"), NULL);
    double llf, grad[5];
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(sarima_loglike_grad(m, g.y, g.n_train, params, &llf, grad, &err), 0);
    sarima_filter_out_t out = {0};
    ck_assert_int_eq(sarima_loglike(m, g.y, g.n_train, params, &out, &err), 0);
    ck_assert_msg(rel_err(llf, out.llf) < 1e-9, "llf %.17g vs %.17g", llf, out.llf);
    for (int i = 0; i < 5; i++) {
        double p[5], h = 1e-6 * fmax(1.0, fabs(params[i]));
        memcpy(p, params, sizeof(p));
        p[i] = params[i] + h;
        sarima_loglike(m, g.y, g.n_train, p, &out, &err);
        double up = out.llf;
        p[i] = params[i] - h;
        sarima_loglike(m, g.y, g.n_train, p, &out, &err);
        double fd = (up - out.llf) / (2 * h);
        ck_assert_msg(fabs(grad[i] - fd) <= 1e-4 * fmax(1.0, fabs(fd)),
                      "series %d grad[%d] %.10g vs differences %.10g", id, i, grad[i], fd);
    }
    free(params);
    sarima_destroy(m);
    golden_free(&g);
}
END_TEST

/* The 8-lane match filter that the match-mode fit uses gives, lane by lane, exactly (bit for
 * bit) the scalar filter's llf: ordinary parameters, an unusable lane (sigma2 <= 0), the
 * golden fixed parameters, parameters whose P reaches steady state (no MA term) and, on the
 * constant series, singular steps (F < 1e-12 at sigma2 = 1e-10). */
START_TEST(match_lanes_equal_scalar_filter) {
    int id = _i + 1;
    golden_t g;
    SKIP_IF_NO_SHARED(&g, id);
    sarima_model_t *m = model_111_111();
    double *fixed =
        json_doubles(json_object_get(json_object_get(g.j, "fixed_params_check"), "params"), NULL);
    const double sets[8][5] = {{0.3, -0.6, -0.2, -0.5, 4.0}, {0.1, -0.9, 0.2, -0.95, 2.5},
                               {0.3, 0.0, 0.1, 0.0, 1.0},    {0.5, 0.0, 0.0, 0.0, 3.0},
                               {-0.2, -1.0, 0.0, -1.0, 9.0}, {0.3, -0.6, -0.2, -0.5, -1.0},
                               {0.0, 0.0, 0.0, 0.0, 1e-10},  {0.2, 0.4, -0.3, 0.2, 0.5}};
    const double *pp[8];
    for (int l = 0; l < 8; l++)
        pp[l] = sets[l];
    pp[0] = fixed;
    for (int nb = 1; nb <= 8; nb += 7) {
        double llf[8];
        ck_assert_int_eq(sarima_filter_match_lanes(m, g.y, g.n_train, nb, pp, llf), 0);
        for (int l = 0; l < nb; l++) {
            sarima_filter_out_t out = {0};
            if (pp[l][4] <= 0.0) {
                ck_assert(isnan(llf[l]));
                continue;
            }
            ck_assert_int_eq(sarima_loglike(m, g.y, g.n_train, pp[l], &out, NULL), 0);
            ck_assert_msg(memcmp(&llf[l], &out.llf, sizeof(double)) == 0 ||
                              (isnan(llf[l]) && isnan(out.llf)),
                          "series %d lane %d: %.17g vs scalar %.17g", id, l, llf[l], out.llf);
        }
    }
    free(fixed);
    sarima_destroy(m);
    golden_free(&g);
}
END_TEST

/* Other orders: statsmodels 0.13.5 numbers for the train part of series 04. */
static const struct {
    sarima_order_t o;
    int k_states;
    double start[6];
    double fixed[6];
    double llf;
    double fc[5], var[5];
} other_orders[] = {
    {{2, 1, 0, 0, 1, 1, 7},
     16,
     {-0.6877823396011795, -0.34724023358266215, -0.5705033588891687, 60.49938483966496},
     {0.3, -0.2, 0.1, 61.703286451506244},
     -1168.4473182922336,
     {27.30440888320427, 27.735790281903142, 9.518454156610085, 20.581708377812163,
      13.703959446248664},
     {61.7032864515673, 165.98184055471611, 253.3598644987806, 327.61415474417475,
      401.07186851916936}},
    {{1, 0, 1, 0, 0, 0, 0},
     2,
     {0.98754932982461, -0.5405282442950038, 46.7708661922825},
     {0.3, -0.2, 61.703286451506244},
     -1422.1095240457294,
     {2.0446594221191403, 0.613397826635742, 0.18401934799072261, 0.055205804397216784,
      0.016561741319165036},
     {61.70328645152177, 62.320319316022704, 62.37585227382779, 62.38085024003024,
      62.381300056988465}},
    {{0, 2, 2, 2, 1, 0, 4},
     14,
     {-1.0392237148533232, 0.0011584415703943538, -0.6850273459193034, -0.37772107279101746,
      224.1170091527326},
     {0.3, -0.2, 0.1, -0.4, 61.703286451506244},
     -2355.755813494804,
     {40.30039377414926, 44.73996096953434, 62.679528164919404, 89.91909536030445,
      125.18909570725371},
     {61.70328645194275, 388.1136717812039, 1101.403663161811, 2350.8952138064083,
      5120.755742620617}},
    {{1, 1, 2, 1, 0, 1, 12},
     16,
     {-0.9577378769683935, 0.1589277648664485, -0.8685749713784675, -0.021037663240943957,
      0.06272550543005674, 35.72962921859979},
     {0.3, -0.2, 0.1, -0.4, 0.25, 61.703286451506244},
     -982.4113085671345,
     {18.676908686131718, 19.450193167701773, 19.119241704535877, 19.096228448776387,
      19.214638866828523},
     {61.70328645159633, 136.36426305797704, 229.7151651305395, 329.0797312039581,
      430.2849982501236}},
};

START_TEST(other_orders_match_statsmodels) {
    golden_t g;
    SKIP_IF_NO_SHARED(&g, 4);
    ss_err_t err = SS_ERR_INIT;
    sarima_model_t *m = sarima_new(&other_orders[_i].o, &err);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(sarima_k_states(m), other_orders[_i].k_states);
    int np = sarima_n_params(m);
    double sp[6], mean[5], var[5];
    ck_assert_int_eq(sarima_start_params(m, g.y, g.n_train, sp, NULL, &err), 0);
    for (int i = 0; i < np; i++)
        ck_assert_msg(fabs(sp[i] - other_orders[_i].start[i]) <=
                          1e-8 * fmax(1e-3, fabs(other_orders[_i].start[i])),
                      "case %d start[%d] %.17g", _i, i, sp[i]);
    sarima_filter_out_t out = {0};
    ck_assert_int_eq(sarima_loglike(m, g.y, g.n_train, other_orders[_i].fixed, &out, &err), 0);
    ck_assert_msg(rel_err(out.llf, other_orders[_i].llf) < 1e-9, "case %d llf %.17g", _i, out.llf);
    ck_assert_int_eq(sarima_forecast(m, g.y, g.n_train, other_orders[_i].fixed, 5, mean, var, &err),
                     0);
    for (int i = 0; i < 5; i++) {
        ck_assert_msg(rel_err(mean[i], other_orders[_i].fc[i]) < 1e-8, "case %d fc[%d]", _i, i);
        ck_assert_msg(rel_err(var[i], other_orders[_i].var[i]) < 1e-8, "case %d var[%d]", _i, i);
    }
    /* fast mode's analytic gradient for this order, against central differences */
    double llf, grad[6];
    ck_assert_int_eq(
        sarima_loglike_grad(m, g.y, g.n_train, other_orders[_i].fixed, &llf, grad, &err), 0);
    ck_assert_msg(rel_err(llf, out.llf) < 1e-9, "case %d fast llf %.17g", _i, llf);
    for (int i = 0; i < np; i++) {
        double p[6], h = 1e-6 * fmax(1.0, fabs(other_orders[_i].fixed[i]));
        memcpy(p, other_orders[_i].fixed, sizeof(p));
        p[i] += h;
        sarima_loglike(m, g.y, g.n_train, p, &out, &err);
        double up = out.llf;
        p[i] -= 2 * h;
        sarima_loglike(m, g.y, g.n_train, p, &out, &err);
        double fd = (up - out.llf) / (2 * h);
        ck_assert_msg(fabs(grad[i] - fd) <= 1e-4 * fmax(1.0, fabs(fd)),
                      "case %d grad[%d] %.10g vs differences %.10g", _i, i, grad[i], fd);
    }
    sarima_destroy(m);
    golden_free(&g);
}
END_TEST

START_TEST(bad_input_is_an_error_not_a_crash) {
    ss_err_t err = SS_ERR_INIT;
    sarima_order_t bad = {1, 1, 1, 1, 1, 1, 0};
    ck_assert_ptr_null(sarima_new(&bad, &err));
    ck_assert_int_eq(err.code, SS_ERR_INVAL);
    sarima_order_t neg = {-1, 0, 0, 0, 0, 0, 0};
    ck_assert_ptr_null(sarima_new(&neg, &err));
    sarima_destroy(NULL);

    sarima_model_t *m = model_111_111();
    double y[40], params[5] = {0.3, -0.6, -0.2, -0.5, 1.0};
    for (int i = 0; i < 40; i++)
        y[i] = 10 + (i % 7);
    sarima_filter_out_t out = {0};
    ck_assert_int_eq(sarima_loglike(m, y, 0, params, &out, &err), SS_ERR_INVAL);
    y[5] = NAN;
    ck_assert_int_eq(sarima_loglike(m, y, 40, params, &out, &err), SS_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "not finite"));
    y[5] = INFINITY;
    sarima_fit_result_t r;
    ck_assert_int_eq(sarima_fit(m, y, 40, NULL, &r, &err), SS_ERR_INVAL);
    y[5] = 10;
    params[4] = 0.0;
    ck_assert_int_eq(sarima_loglike(m, y, 40, params, &out, &err), SS_ERR_INVAL);
    params[4] = 1.0;
    params[0] = NAN;
    ck_assert_int_eq(sarima_forecast(m, y, 40, params, 5, NULL, NULL, &err), SS_ERR_INVAL);
    /* shorter than the burn-in: no likelihood term, llf 0, still no crash */
    params[0] = 0.3;
    ck_assert_int_eq(sarima_loglike(m, y, 10, params, &out, &err), 0);
    ck_assert(out.llf == 0.0);
    ck_assert_int_eq(sarima_fit(m, y, 10, NULL, &r, &err), 0);
    sarima_destroy(m);
}
END_TEST

Suite *sarima_suite(void) {
    Suite *s = suite_create("sarima");
    TCase *tc = tcase_create("golden");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, fixed_params_match_statsmodels, 0, N_SERIES);
    tcase_add_loop_test(tc, start_params_match_statsmodels, 0, N_SERIES);
    tcase_add_loop_test(tc, match_fit_reproduces_statsmodels, 0, N_SERIES);
    tcase_add_loop_test(tc, fast_fit_never_worse, 0, N_SERIES);
    tcase_add_loop_test(tc, warm_fit_never_worse, 0, N_SERIES);
    tcase_add_test(tc, warm_fallback_is_the_cold_fit);
    tcase_add_loop_test(tc, fast_gradient_matches_differences, 0, N_SERIES);
    tcase_add_loop_test(tc, match_lanes_equal_scalar_filter, 0, N_SERIES);
    tcase_add_loop_test(tc, other_orders_match_statsmodels, 0,
                        (int)(sizeof(other_orders) / sizeof(other_orders[0])));
    tcase_add_test(tc, bad_input_is_an_error_not_a_crash);
    suite_add_tcase(s, tc);
    return s;
}
