/* Unit tests of drift_stats: quantile bins and the bin rule, PSI (with empty bins), the
 * two-sample KS statistic and its exact and asymptotic p-values against scipy, ROC-AUC, Brier,
 * ECE against scikit-learn / numpy, MAE and RMSE.
 *
 * Reference numbers come from /usr/bin/python3 (scipy 1.10.1, sklearn, numpy) with:
 *   import numpy as np, scipy.stats as st
 *   from sklearn.metrics import roc_auc_score, brier_score_loss
 *   st.ks_2samp(KS_A, KS_B, method='exact')                  # 0.55, 0.048886098421702134
 *   en = 12*10/22; st.kstwobign.sf(np.sqrt(en)*0.55)         # 0.0737626336003375
 *   rng = np.random.default_rng(7)
 *   x = np.round(rng.normal(0, 1, 300), 3); y = np.round(rng.normal(0.3, 1.2, 200), 3)
 *   st.ks_2samp(x[:60], y[:50], method='exact')              # 0.25333333333333335,
 * 0.05011449908256787 en = 60*50/110; st.kstwobign.sf(np.sqrt(en)*0.25333333333333335)  #
 * 0.06035651601455914 [st.kstwobign.sf(v) for v in (0.3, 0.5, 1.0, 1.5, 2.0)] roc_auc_score(L, S),
 * brier_score_loss(L, S)              # 0.82, 0.1695 bins = np.minimum((S*5).astype(int), 4)
 *   sum(abs(L[bins==k].sum() - S[bins==k].sum()) for k in range(5)) / len(S)   # ECE 0.16
 *   q = np.quantile(np.arange(1, 101), np.linspace(0, 1, 11))  # edges 1, 10.9, ..., 100
 * Our ASYMP mode is the Kolmogorov limit (kstwobign), not scipy's method='asymp' (which uses
 * kstwo.sf(D, round(en)), the finite-n one-sample distribution): docs/drift.md. */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "drift_stats.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const double KS_A[] = {0.61,  1.23, -0.35, 2.10, 0.05,  1.87,
                              -1.20, 0.44, 0.98,  1.51, -0.62, 0.27};
static const double KS_B[] = {1.90, 2.45, 0.88, 3.10, 1.42, 2.76, 0.15, 1.66, 2.21, 3.55};

static const double X60[] = {
    0.001,  0.299,  -0.274, -0.891, -0.455, -0.992, 0.06,   1.34,   -0.492, -0.62,  0.49,   0.357,
    0.105,  -0.93,  -0.029, 0.695,  -1.344, -0.458, -1.901, -1.29,  -1.842, -0.235, -1.267, 0.271,
    0.157,  -0.187, -2.517, -0.539, -0.049, 0.113,  -1.53,  -0.478, -0.979, -0.809, 1.061,  -0.808,
    -0.033, 0.884,  -0.584, -0.112, 0.11,   0.064,  -1.225, 0.076,  1.359,  -1.547, 0.859,  0.119,
    -0.641, 2.0,    0.762,  -1.199, 0.075,  0.577,  -0.189, 0.683,  -0.067, 0.667,  1.439,  -0.676};
static const double Y50[] = {2.114,  0.967,  0.23,   -0.395, -0.462, 2.223,  0.908,  0.381,  -0.115,
                             -1.031, 0.22,   1.348,  -0.171, 0.027,  0.035,  0.432,  -1.612, 0.018,
                             -0.725, 1.362,  -0.625, 0.992,  2.129,  -0.076, -0.422, 0.53,   0.298,
                             -0.892, 0.853,  2.719,  -0.01,  0.057,  -0.954, 0.683,  -1.196, -1.028,
                             1.836,  -0.787, 1.598,  2.129,  0.611,  0.964,  2.643,  0.064,  -0.412,
                             -1.324, 0.35,   2.075,  1.452,  -0.831};

START_TEST(bins_from_sample_numpy_quantiles) {
    double ref[100];
    for (int i = 0; i < 100; i++)
        ref[i] = i + 1;
    dstat_bins_t b;
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(dstat_bins_from_sample(&b, ref, 100, 10, &err), 0);
    ck_assert_uint_eq(b.n_bins, 10);
    ck_assert_uint_eq(b.ref_n, 100);
    ck_assert_double_eq_tol(b.edges[0], 1.0, 1e-12);
    ck_assert_double_eq_tol(b.edges[1], 10.9, 1e-12);
    ck_assert_double_eq_tol(b.edges[5], 50.5, 1e-12);
    ck_assert_double_eq_tol(b.edges[10], 100.0, 1e-12);
    for (int i = 0; i < 10; i++)
        ck_assert_double_eq_tol(b.ref_frac[i], 0.1, 1e-12);
    /* The bin rule: first bin whose upper edge is >= x; outside values go to the end bins. */
    ck_assert_int_eq(dstat_bin_index(&b, -5), 0);
    ck_assert_int_eq(dstat_bin_index(&b, 10.9), 0);
    ck_assert_int_eq(dstat_bin_index(&b, 10.91), 1);
    ck_assert_int_eq(dstat_bin_index(&b, 100), 9);
    ck_assert_int_eq(dstat_bin_index(&b, 1e9), 9);
    ck_assert_int_eq(dstat_bin_index(&b, NAN), -1);
}
END_TEST

START_TEST(bins_with_ties_leave_empty_bins) {
    /* 70% zeros (like return_count): the first seven edges are 0, so everything equal to 0 lands
     * in bin 0 and bins 1..6 are empty in the reference. */
    double ref[10] = {0, 0, 0, 0, 0, 0, 0, 1, 2, 3};
    dstat_bins_t b;
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(dstat_bins_from_sample(&b, ref, 10, 10, &err), 0);
    ck_assert_double_eq_tol(b.ref_frac[0], 0.7, 1e-12);
    for (int i = 1; i < 7; i++)
        ck_assert_double_eq(b.ref_frac[i], 0.0);
    double sum = 0;
    for (int i = 0; i < 10; i++)
        sum += b.ref_frac[i];
    ck_assert_double_eq_tol(sum, 1.0, 1e-12);
    /* The same sample as current: PSI is exactly 0 despite the empty bins. */
    uint64_t counts[10] = {0};
    for (int i = 0; i < 10; i++)
        counts[dstat_bin_index(&b, ref[i])]++;
    ck_assert_double_eq_tol(dstat_psi_counts(&b, counts, 0), 0.0, 1e-15);
}
END_TEST

START_TEST(bins_errors) {
    dstat_bins_t b;
    ss_err_t err = SS_ERR_INIT;
    double nan_only[2] = {NAN, NAN};
    ck_assert_int_eq(dstat_bins_from_sample(&b, nan_only, 2, 10, &err), SS_ERR_INVAL);
    ck_assert_str_eq(err.msg, "reference sample is empty");
    ck_assert_int_eq(dstat_bins_from_sample(&b, KS_A, 12, 0, &err), SS_ERR_INVAL);
    double edges[3] = {0, 2, 1}, frac[2] = {0.5, 0.5};
    ck_assert_int_eq(dstat_bins_from_edges(&b, edges, frac, 2, 10, &err), SS_ERR_INVAL);
    ck_assert_str_eq(err.msg, "edges not sorted at 2");
    double edges2[3] = {0, 1, 2}, frac2[2] = {0.5, 0.3};
    ck_assert_int_eq(dstat_bins_from_edges(&b, edges2, frac2, 2, 10, &err), SS_ERR_INVAL);
    ck_assert_str_eq(err.msg, "reference shares sum to 0.8");
    double frac3[2] = {0.4, 0.6};
    ck_assert_int_eq(dstat_bins_from_edges(&b, edges2, frac3, 2, 10, &err), 0);
    ck_assert_int_eq(dstat_bin_index(&b, 1.0), 0);
    ck_assert_int_eq(dstat_bin_index(&b, 1.5), 1);
}
END_TEST

START_TEST(psi_literal_and_numpy) {
    /* Hand computation: (0.5-0.25) ln 2 + (0.25-0.25) ln 1 + (0.25-0.5) ln 0.5 = 0.5 ln 2. */
    double ref[3] = {0.25, 0.25, 0.5}, cur[3] = {0.5, 0.25, 0.25};
    ck_assert_double_eq_tol(dstat_psi(ref, cur, 3, 0), 0.5 * log(2.0), 1e-15);
    ck_assert_double_eq_tol(dstat_psi(ref, ref, 3, 0), 0.0, 1e-15);
    /* numpy (header): reference 1..100 in deciles; current = 5,15,...,95 and 96..100, twice. */
    double r[100];
    for (int i = 0; i < 100; i++)
        r[i] = i + 1;
    dstat_bins_t b;
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(dstat_bins_from_sample(&b, r, 100, 10, &err), 0);
    const double c[] = {5, 15, 25, 35, 45, 55, 65, 75, 85, 95, 96, 97, 98, 99, 100};
    uint64_t counts[10] = {0};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < NELEM(c); i++)
            counts[dstat_bin_index(&b, c[i])]++;
    ck_assert_uint_eq(counts[9], 12);
    ck_assert_double_eq_tol(dstat_psi_counts(&b, counts, 0), 0.5375278407684165, 1e-12);
    uint64_t none[10] = {0};
    ck_assert(isnan(dstat_psi_counts(&b, none, 0)));
}
END_TEST

START_TEST(psi_empty_bin_uses_epsilon) {
    /* An empty current bin with reference share 0.5: (1e-4 - 0.5) ln(1e-4 / 0.5) +
     * (1 - 0.5) ln(1 / 0.5), finite. */
    double ref[2] = {0.5, 0.5}, cur[2] = {0.0, 1.0};
    double want = (1e-4 - 0.5) * log(1e-4 / 0.5) + 0.5 * log(2.0);
    ck_assert_double_eq_tol(dstat_psi(ref, cur, 2, 0), want, 1e-12);
    ck_assert_double_eq_tol(dstat_psi(ref, cur, 2, 1e-3),
                            (1e-3 - 0.5) * log(1e-3 / 0.5) + 0.5 * log(2.0), 1e-12);
}
END_TEST

START_TEST(ks_exact_matches_scipy) {
    dstat_ks_t ks;
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(dstat_ks_2samp(KS_A, 12, KS_B, 10, DSTAT_KS_EXACT, &ks, &err), 0);
    ck_assert_double_eq_tol(ks.d, 0.55, 1e-12);
    ck_assert_double_eq_tol(ks.p, 0.048886098421702134, 1e-10);
    /* AUTO picks EXACT for 12 x 10. */
    ck_assert_int_eq(dstat_ks_2samp(KS_A, 12, KS_B, 10, DSTAT_KS_AUTO, &ks, &err), 0);
    ck_assert_int_eq(ks.mode, DSTAT_KS_EXACT);
    ck_assert_int_eq(dstat_ks_2samp(X60, 60, Y50, 50, DSTAT_KS_EXACT, &ks, &err), 0);
    ck_assert_double_eq_tol(ks.d, 0.25333333333333335, 1e-12);
    ck_assert_double_eq_tol(ks.p, 0.05011449908256787, 1e-10);
    /* Symmetric in its arguments. */
    ck_assert_int_eq(dstat_ks_2samp(Y50, 50, X60, 60, DSTAT_KS_EXACT, &ks, &err), 0);
    ck_assert_double_eq_tol(ks.p, 0.05011449908256787, 1e-10);
}
END_TEST

START_TEST(ks_asymp_matches_kstwobign) {
    dstat_ks_t ks;
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(dstat_ks_2samp(KS_A, 12, KS_B, 10, DSTAT_KS_ASYMP, &ks, &err), 0);
    ck_assert_double_eq_tol(ks.p, 0.0737626336003375, 1e-12);
    ck_assert_int_eq(dstat_ks_2samp(X60, 60, Y50, 50, DSTAT_KS_ASYMP, &ks, &err), 0);
    ck_assert_double_eq_tol(ks.p, 0.06035651601455914, 1e-12);
    /* 60 x 50 = 3000 <= 10000: AUTO is exact. */
    ck_assert_int_eq(dstat_ks_2samp(X60, 60, Y50, 50, DSTAT_KS_AUTO, &ks, &err), 0);
    ck_assert_int_eq(ks.mode, DSTAT_KS_EXACT);
    ck_assert_double_eq_tol(dstat_kolmogorov_sf(0.3), 0.9999906941986655, 1e-12);
    ck_assert_double_eq_tol(dstat_kolmogorov_sf(0.5), 0.9639452436648751, 1e-12);
    ck_assert_double_eq_tol(dstat_kolmogorov_sf(1.0), 0.26999967167735456, 1e-12);
    ck_assert_double_eq_tol(dstat_kolmogorov_sf(1.5), 0.022217962616525127, 1e-12);
    ck_assert_double_eq_tol(dstat_kolmogorov_sf(2.0), 0.0006709252557796953, 1e-14);
    ck_assert_double_eq(dstat_kolmogorov_sf(0), 1.0);
}
END_TEST

START_TEST(ks_ties_nan_and_errors) {
    /* Identical samples with ties: D = 0, p = 1. */
    double a[6] = {1, 1, 2, 2, 3, NAN};
    dstat_ks_t ks;
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(dstat_ks_2samp(a, 6, a, 5, DSTAT_KS_AUTO, &ks, &err), 0);
    ck_assert_double_eq(ks.d, 0.0);
    ck_assert_double_eq(ks.p, 1.0);
    /* Disjoint samples: D = 1. */
    double lo[3] = {1, 2, 3}, hi[3] = {4, 5, 6};
    ck_assert_int_eq(dstat_ks_2samp(lo, 3, hi, 3, DSTAT_KS_EXACT, &ks, &err), 0);
    ck_assert_double_eq(ks.d, 1.0);
    ck_assert_double_eq_tol(ks.p, 0.1, 1e-12); /* 2 / C(6,3) */
    double n1[1] = {NAN};
    ck_assert_int_eq(dstat_ks_2samp(n1, 1, hi, 3, DSTAT_KS_AUTO, &ks, &err), SS_ERR_INVAL);
    ck_assert_str_eq(err.msg, "ks: sample a has no value");
}
END_TEST

START_TEST(ks_vs_bins_reference) {
    /* Reference uniform on [0, 10] in 10 bins; current uniform on [0, 5]: D = 0.5 (at x = 5). */
    double edges[11], frac[10];
    for (int i = 0; i <= 10; i++)
        edges[i] = i;
    for (int i = 0; i < 10; i++)
        frac[i] = 0.1;
    dstat_bins_t b;
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(dstat_bins_from_edges(&b, edges, frac, 10, 1000, &err), 0);
    double cur[100];
    for (int i = 0; i < 100; i++)
        cur[i] = 5.0 * (i + 1) / 100.0;
    dstat_ks_t ks;
    dstat_ks_vs_bins(cur, 100, &b, &ks);
    ck_assert_double_eq_tol(ks.d, 0.5, 1e-12);
    double en = 100.0 * 1000 / 1100;
    ck_assert_double_eq_tol(ks.p, dstat_kolmogorov_sf(sqrt(en) * 0.5), 1e-15);
    ck_assert(ks.p < 1e-10);
}
END_TEST

static const double S[] = {0.1, 0.4, 0.35, 0.8, 0.65, 0.2, 0.9, 0.5, 0.5, 0.7};
static const int L[] = {0, 0, 1, 1, 0, 0, 1, 1, 0, 1};

START_TEST(auc_brier_ece_match_sklearn) {
    ck_assert_double_eq_tol(dstat_roc_auc(S, L, 10), 0.82, 1e-12);
    ck_assert_double_eq_tol(dstat_brier(S, L, 10), 0.1695, 1e-12);
    ck_assert_double_eq_tol(dstat_ece(S, L, 10, 5), 0.16, 1e-12);
    /* One class only or a NaN score: undefined. */
    int zeros[3] = {0, 0, 0};
    ck_assert(isnan(dstat_roc_auc(S, zeros, 3)));
    double withnan[2] = {0.1, NAN};
    ck_assert(isnan(dstat_roc_auc(withnan, L + 2, 2)));
    /* All tied scores: 0.5. */
    double tied[4] = {0.3, 0.3, 0.3, 0.3};
    int lab[4] = {0, 1, 0, 1};
    ck_assert_double_eq_tol(dstat_roc_auc(tied, lab, 4), 0.5, 1e-15);
    /* Perfectly calibrated in each bin: ECE 0. */
    double p[4] = {0.5, 0.5, 1.0, 1.0};
    int y[4] = {0, 1, 1, 1};
    ck_assert_double_eq_tol(dstat_ece(p, y, 4, 10), 0.0, 1e-15);
    ck_assert(isnan(dstat_brier(S, L, 0)));
}
END_TEST

START_TEST(mae_rmse_median) {
    double pred[4] = {1, 2, 3, 4}, act[4] = {2, 2, 1, 8};
    ck_assert_double_eq_tol(dstat_mae(pred, act, 4), (1 + 0 + 2 + 4) / 4.0, 1e-15);
    ck_assert_double_eq_tol(dstat_rmse(pred, act, 4), sqrt((1 + 0 + 4 + 16) / 4.0), 1e-15);
    ck_assert(isnan(dstat_mae(pred, act, 0)));
    double v[5] = {5, 1, NAN, 3, 2};
    ck_assert_double_eq(dstat_median(v, 5), 2.5);
    ck_assert(isnan(dstat_median(v, 0)));
}
END_TEST

Suite *dstat_suite(void) {
    Suite *s = suite_create("dstat");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, bins_from_sample_numpy_quantiles);
    tcase_add_test(tc, bins_with_ties_leave_empty_bins);
    tcase_add_test(tc, bins_errors);
    tcase_add_test(tc, psi_literal_and_numpy);
    tcase_add_test(tc, psi_empty_bin_uses_epsilon);
    tcase_add_test(tc, ks_exact_matches_scipy);
    tcase_add_test(tc, ks_asymp_matches_kstwobign);
    tcase_add_test(tc, ks_ties_nan_and_errors);
    tcase_add_test(tc, ks_vs_bins_reference);
    tcase_add_test(tc, auc_brier_ece_match_sklearn);
    tcase_add_test(tc, mae_rmse_median);
    suite_add_tcase(s, tc);
    return s;
}
