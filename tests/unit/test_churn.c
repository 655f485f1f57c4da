/* Unit tests of the churn model: metrics against scikit-learn values, reference distributions,
 * point-in-time set construction (no leakage), cut-off rules, artifact round trip, risk levels.
 * No network, no clock; temporary artifact directories under $TMPDIR (removed). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "churn_features.h"
#include "churn_metrics.h"
#include "churn_model.h"
#include "churn_train.h"
#include "ss_buf.h"
#include "ss_txn.h"

#define DAY CHURN_DAY_MS
#define D0 INT64_C(1609459200000) /* 2021-01-01T00:00:00Z */

/* ---- metrics ------------------------------------------------------------------------------- */

/* Expected values computed once with scikit-learn 1.2 (Debian 12):
 *   /usr/bin/python3 -c "from sklearn.metrics import roc_auc_score, average_precision_score;
 *     y=[1,0,1,1,0,0,1,0,1,0]; s=[0.9,0.8,0.8,0.7,0.5,0.5,0.5,0.3,0.2,0.2];
 *     print(repr(roc_auc_score(y,s)), repr(average_precision_score(y,s)))"
 *   -> 0.6799999999999999 0.6976190476190476
 *   same with y=[0,0,1,1], s=[0.1,0.4,0.35,0.8] -> 0.75 0.8333333333333333 */
START_TEST(auc_with_ties_matches_sklearn) {
    const int y[] = {1, 0, 1, 1, 0, 0, 1, 0, 1, 0};
    const double s[] = {0.9, 0.8, 0.8, 0.7, 0.5, 0.5, 0.5, 0.3, 0.2, 0.2};
    ck_assert_double_eq_tol(churn_roc_auc(s, y, 10), 0.6799999999999999, 1e-12);
    ck_assert_double_eq_tol(churn_pr_auc(s, y, 10), 0.6976190476190476, 1e-12);
    const int y2[] = {0, 0, 1, 1};
    const double s2[] = {0.1, 0.4, 0.35, 0.8};
    ck_assert_double_eq_tol(churn_roc_auc(s2, y2, 4), 0.75, 1e-12);
    ck_assert_double_eq_tol(churn_pr_auc(s2, y2, 4), 0.8333333333333333, 1e-12);
}
END_TEST

START_TEST(auc_edge_cases) {
    const int y[] = {1, 1, 0, 0};
    const double perfect[] = {0.9, 0.8, 0.2, 0.1};
    const double flat[] = {0.5, 0.5, 0.5, 0.5};
    const double inverse[] = {0.1, 0.2, 0.8, 0.9};
    ck_assert_double_eq(churn_roc_auc(perfect, y, 4), 1.0);
    ck_assert_double_eq(churn_pr_auc(perfect, y, 4), 1.0);
    ck_assert_double_eq(churn_roc_auc(flat, y, 4), 0.5); /* all tied: one half each */
    ck_assert_double_eq(churn_pr_auc(flat, y, 4), 0.5);  /* = positive rate */
    ck_assert_double_eq(churn_roc_auc(inverse, y, 4), 0.0);
    const int one_class[] = {1, 1, 1, 1};
    ck_assert(isnan(churn_roc_auc(perfect, one_class, 4)));
    const double with_nan[] = {0.9, NAN, 0.2, 0.1};
    ck_assert(isnan(churn_roc_auc(with_nan, y, 4)));
    ck_assert(isnan(churn_roc_auc(NULL, NULL, 0)));
}
END_TEST

START_TEST(classification_report_counts) {
    const int y[] = {1, 1, 1, 0, 0, 0};
    const double s[] = {0.95, 0.7, 0.5, 0.71, 0.3, 0.1};
    churn_cls_report_t r;
    churn_cls_report(s, y, 6, 0.7, &r); /* strictly above: 0.7 is not predicted */
    ck_assert_uint_eq(r.tp, 1);
    ck_assert_uint_eq(r.fp, 1);
    ck_assert_uint_eq(r.fn, 2);
    ck_assert_uint_eq(r.tn, 2);
    ck_assert_double_eq_tol(r.precision, 0.5, 1e-12);
    ck_assert_double_eq_tol(r.recall, 1.0 / 3, 1e-12);
    ck_assert_double_eq_tol(r.f1, 0.4, 1e-12);
    ck_assert_double_eq_tol(r.accuracy, 0.5, 1e-12);
}
END_TEST

/* ---- risk levels --------------------------------------------------------------------------- */

START_TEST(risk_levels_and_thresholds) {
    ss_err_t err = SS_ERR_INIT;
    churn_thresholds_t t = {0};
    ck_assert_int_eq(churn_thresholds_check(&t, &err), 0);
    ck_assert_double_eq(t.high, 0.7);
    ck_assert_double_eq(t.medium, 0.4);
    ck_assert_int_eq(churn_risk_level(&t, 0.71), CHURN_RISK_HIGH);
    ck_assert_int_eq(churn_risk_level(&t, 0.7), CHURN_RISK_MEDIUM); /* strictly above */
    ck_assert_int_eq(churn_risk_level(&t, 0.41), CHURN_RISK_MEDIUM);
    ck_assert_int_eq(churn_risk_level(&t, 0.4), CHURN_RISK_LOW);
    ck_assert_int_eq(churn_risk_level(&t, 0.0), CHURN_RISK_LOW);
    ck_assert_int_eq(churn_risk_level(&t, NAN), CHURN_RISK_LOW);
    ck_assert_str_eq(churn_risk_name(CHURN_RISK_HIGH), "high");
    churn_risk_t r;
    ck_assert_int_eq(churn_risk_parse("medium", &r, &err), 0);
    ck_assert_int_eq(r, CHURN_RISK_MEDIUM);
    ck_assert_int_eq(churn_risk_parse("severe", &r, &err), SS_ERR_INVAL);
    churn_thresholds_t custom = {.high = 0.9, .medium = 0.5};
    ck_assert_int_eq(churn_thresholds_check(&custom, &err), 0);
    ck_assert_int_eq(churn_risk_level(&custom, 0.8), CHURN_RISK_MEDIUM);
    churn_thresholds_t bad = {.high = 0.3, .medium = 0.5};
    ck_assert_int_eq(churn_thresholds_check(&bad, &err), SS_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "medium"));
}
END_TEST

/* ---- reference distributions --------------------------------------------------------------- */

/* Edges from /usr/bin/python3 -c "import numpy as np;
 *   print(list(np.quantile([0,0,0,0,0,0,0,1,2,5.5,3,0,10], np.linspace(0,1,11))))"
 * -> [0, 0, 0, 0, 0, 0, 0.2, 1.4, 2.6, 5.0, 10.0] (up to 1e-15) */
START_TEST(refdist_quantile_bins_with_ties) {
    const double v[] = {0, 0, 0, 0, 0, 0, 0, 1, 2, 5.5, 3, 0, 10, NAN};
    const double want[] = {0, 0, 0, 0, 0, 0, 0.2, 1.4, 2.6, 5.0, 10.0};
    churn_refdist_t d;
    churn_refdist_compute(&d, v, 14);
    ck_assert_uint_eq(d.n, 13);
    ck_assert_uint_eq(d.n_missing, 1);
    for (int b = 0; b <= CHURN_QBINS; b++)
        ck_assert_double_eq_tol(d.edges[b], want[b], 1e-12);
    ck_assert_double_eq_tol(d.mean, 21.5 / 13, 1e-12);
    ck_assert_double_eq(d.min, 0);
    ck_assert_double_eq(d.max, 10);
    /* Eight zeros fall in bin 0 (x <= edges[1]); bins 1..5 are empty. */
    ck_assert_double_eq_tol(d.frac[0], 8.0 / 13, 1e-12);
    for (int b = 1; b <= 5; b++)
        ck_assert_double_eq(d.frac[b], 0);
    ck_assert_double_eq_tol(d.frac[6], 1.0 / 13, 1e-12); /* 1 in (0.2, 1.4] */
    ck_assert_double_eq_tol(d.frac[9], 2.0 / 13, 1e-12); /* 5.5 and 10 */
    ck_assert_int_eq(churn_refdist_bin(&d, -5), 0);
    ck_assert_int_eq(churn_refdist_bin(&d, 1e9), CHURN_QBINS - 1);
    ck_assert_int_eq(churn_refdist_bin(&d, NAN), -1);
    churn_refdist_t empty;
    churn_refdist_compute(&empty, v + 13, 1);
    ck_assert_uint_eq(empty.n, 0);
    ck_assert_uint_eq(empty.n_missing, 1);
}
END_TEST

/* ---- point-in-time sets -------------------------------------------------------------------- */

static void add_order(churn_history_t *h, const char *cust, int64_t t_ms, ss_txn_kind_t kind,
                      double amount) {
    static int seq;
    ss_txn_t t = SS_TXN_INIT;
    snprintf(t.order_id, sizeof t.order_id, "o%d", ++seq);
    snprintf(t.customer_id, sizeof t.customer_id, "%s", cust);
    t.has_customer = cust[0] != '\0';
    snprintf(t.store_id, sizeof t.store_id, "s1");
    snprintf(t.currency, sizeof t.currency, "GBP");
    t.event_time_ms = t_ms;
    t.kind = kind;
    ss_txn_line_t *l = ss_txn_add_line(&t);
    snprintf(l->product_id, sizeof l->product_id, "p1");
    l->quantity = 1;
    l->unit_price = amount;
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(churn_history_add(h, &t, &err), 0);
    ss_txn_release(&t);
}

/* A: buys day 1, 5 and 20, returns on day 8; B: buys day 2 only; C: first buys after T;
 * E: only a return before T; anonymous sales are ignored. T = day 10. */
static churn_history_t *small_history(void) {
    churn_history_t *h = churn_history_new();
    add_order(h, "A", D0 + 1 * DAY, SS_TXN_PURCHASE, 10);
    add_order(h, "B", D0 + 2 * DAY, SS_TXN_PURCHASE, 100);
    add_order(h, "A", D0 + 5 * DAY, SS_TXN_PURCHASE, 20);
    add_order(h, "E", D0 + 6 * DAY, SS_TXN_RETURN, 7);
    add_order(h, "A", D0 + 8 * DAY, SS_TXN_RETURN, 5);
    add_order(h, "", D0 + 9 * DAY, SS_TXN_PURCHASE, 1000);
    add_order(h, "C", D0 + 12 * DAY, SS_TXN_PURCHASE, 50);
    add_order(h, "A", D0 + 20 * DAY, SS_TXN_PURCHASE, 30);
    return h;
}

static const float *row_of(const churn_history_t *h, const churn_set_t *s, const char *cust,
                           int64_t cutoff, int *label) {
    for (size_t i = 0; i < s->n; i++) {
        if (s->cutoff[i] == cutoff &&
            strcmp(churn_history_customer_id(h, s->customer[i]), cust) == 0) {
            *label = s->y[i];
            return s->x + i * CHURN_N_FEATURES;
        }
    }
    return NULL;
}

#define COL(name) churn_feature_index(name)

START_TEST(point_in_time_rows_and_labels) {
    churn_history_t *h = small_history();
    ck_assert_uint_eq(churn_history_customers(h), 4); /* A B E C; the anonymous sale is skipped */
    ck_assert_uint_eq(churn_history_orders(h), 7);
    ss_err_t err = SS_ERR_INIT;
    churn_set_t s = CHURN_SET_INIT;
    int64_t T = D0 + 10 * DAY;
    ck_assert_int_eq(churn_build_set(h, &T, 1, 90 * DAY, &s, &err), 0);
    ck_assert_uint_eq(s.n, 2); /* A and B: C has not bought yet, E never bought */
    int y = -1;
    const float *a = row_of(h, &s, "A", T, &y);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(y, 0); /* buys again on day 20 */
    ck_assert_float_eq(a[COL("frequency")], 2);
    ck_assert_float_eq(a[COL("total_spent")], 30);
    ck_assert_float_eq(a[COL("avg_order")], 15);
    ck_assert_float_eq(a[COL("recency_days")], 5);
    ck_assert_float_eq(a[COL("days_since_first_order")], 4);
    ck_assert_float_eq(a[COL("recent_orders_30d")], 2);
    ck_assert_float_eq(a[COL("return_count")], 1);
    ck_assert_float_eq(a[COL("return_amount")], 5);
    const float *b = row_of(h, &s, "B", T, &y);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(y, 1); /* nothing after day 2 */
    ck_assert_float_eq(b[COL("recency_days")], 8);
    ck_assert_float_eq(b[COL("order_std")], 0);
    ck_assert_ptr_null(row_of(h, &s, "C", T, &y));
    ck_assert_ptr_null(row_of(h, &s, "E", T, &y));
    churn_set_release(&s);
    churn_history_destroy(h);
}
END_TEST

START_TEST(events_after_cutoff_never_change_features) {
    churn_history_t *h = small_history();
    churn_history_t *h2 = small_history();
    int64_t T = D0 + 10 * DAY;
    /* Later events, including a huge purchase one millisecond after T and a return for B. */
    add_order(h2, "A", T + 1, SS_TXN_PURCHASE, 99999);
    add_order(h2, "B", T + 3 * DAY, SS_TXN_RETURN, 100);
    add_order(h2, "A", T + 200 * DAY, SS_TXN_PURCHASE, 1);
    ss_err_t err = SS_ERR_INIT;
    churn_set_t s = CHURN_SET_INIT, s2 = CHURN_SET_INIT;
    ck_assert_int_eq(churn_build_set(h, &T, 1, 90 * DAY, &s, &err), 0);
    ck_assert_int_eq(churn_build_set(h2, &T, 1, 90 * DAY, &s2, &err), 0);
    ck_assert_uint_eq(s.n, s2.n);
    ck_assert_int_eq(memcmp(s.x, s2.x, s.n * CHURN_N_FEATURES * sizeof *s.x), 0);
    int y = -1;
    row_of(h2, &s2, "B", T, &y);
    ck_assert_int_eq(y, 1); /* a return is not a purchase: still churned */
    churn_set_release(&s);
    churn_set_release(&s2);
    churn_history_destroy(h);
    churn_history_destroy(h2);
}
END_TEST

START_TEST(label_window_boundaries) {
    ss_err_t err = SS_ERR_INIT;
    int64_t T = D0 + 10 * DAY, H = 90 * DAY;
    churn_history_t *h = churn_history_new();
    add_order(h, "at_T", T, SS_TXN_PURCHASE, 1); /* at T: a feature, not a label event */
    add_order(h, "edge", D0, SS_TXN_PURCHASE, 1);
    add_order(h, "edge", T + H, SS_TXN_PURCHASE, 1); /* last instant of (T, T+H]: not churned */
    add_order(h, "late", D0, SS_TXN_PURCHASE, 1);
    add_order(h, "late", T + H + 1, SS_TXN_PURCHASE, 1); /* after the window: churned */
    churn_set_t s = CHURN_SET_INIT;
    ck_assert_int_eq(churn_build_set(h, &T, 1, H, &s, &err), 0);
    ck_assert_uint_eq(s.n, 3);
    int y = -1;
    const float *r = row_of(h, &s, "at_T", T, &y);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(y, 1);
    ck_assert_float_eq(r[COL("recency_days")], 0);
    row_of(h, &s, "edge", T, &y);
    ck_assert_int_eq(y, 0);
    row_of(h, &s, "late", T, &y);
    ck_assert_int_eq(y, 1);
    /* Two cut-offs: rows per cut-off, features as of each. */
    churn_set_release(&s);
    int64_t two[] = {T, T + H + 1};
    ck_assert_int_eq(churn_build_set(h, two, 2, H, &s, &err), 0);
    ck_assert_uint_eq(s.n, 6);
    r = row_of(h, &s, "late", T + H + 1, &y);
    ck_assert_float_eq(r[COL("frequency")], 2);
    ck_assert_float_eq(r[COL("recency_days")], 0);
    int64_t unsorted[] = {T + DAY, T};
    ck_assert_int_eq(churn_build_set(h, unsorted, 2, H, &s, &err), SS_ERR_INVAL);
    churn_set_release(&s);
    churn_history_destroy(h);
}
END_TEST

START_TEST(cutoff_plan_and_checks) {
    ss_err_t err = SS_ERR_INIT;
    int64_t tr[CHURN_MAX_CUTOFFS], ev[CHURN_MAX_CUTOFFS];
    size_t nt = 0, ne = 0;
    /* A year of history from D0 to D0 + 364 days + 12 h. */
    churn_plan_opts_t o = {0};
    ck_assert_int_eq(churn_plan_cutoffs(D0 + 8 * 3600000, D0 + 364 * DAY + 12 * 3600000, &o, tr,
                                        &nt, ev, &ne, &err),
                     0);
    ck_assert_uint_eq(ne, 1);
    ck_assert_int_eq(ev[0], D0 + 274 * DAY); /* last midnight with T + 90 days <= last event */
    ck_assert_uint_eq(nt, 5);                /* days 184, 154, 124, 94, 64 (>= 60 days in) */
    ck_assert_int_eq(tr[nt - 1], ev[0] - 90 * DAY);
    ck_assert_int_eq(tr[0], D0 + 64 * DAY);
    ck_assert_int_eq(churn_check_cutoffs(tr, nt, ev, ne, 90 * DAY, D0 + 365 * DAY, &err), 0);
    /* A training cut-off whose label window reaches into the evaluation period is refused. */
    int64_t leak[] = {ev[0] - 60 * DAY};
    ck_assert_int_eq(churn_check_cutoffs(leak, 1, ev, ne, 90 * DAY, D0 + 365 * DAY, &err),
                     SS_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "evaluation"));
    /* A label window that is not fully observed is refused. */
    int64_t late[] = {D0 + 300 * DAY};
    ck_assert_int_eq(churn_check_cutoffs(tr, nt, late, 1, 90 * DAY, D0 + 365 * DAY, &err),
                     SS_ERR_INVAL);
    /* Too short a history. */
    ck_assert_int_eq(churn_plan_cutoffs(D0, D0 + 100 * DAY, &o, tr, &nt, ev, &ne, &err),
                     SS_ERR_INVAL);
}
END_TEST

/* ---- models -------------------------------------------------------------------------------- */

static uint32_t lcg(uint32_t *st) {
    *st = *st * 1664525u + 1013904223u;
    return *st >> 8;
}

/* n rows: churn likelier with high recency and low frequency, plus noise. */
static void synthetic_set(churn_set_t *s, size_t n, uint32_t seed) {
    s->n = s->cap = n;
    s->x = calloc(n * CHURN_N_FEATURES, sizeof *s->x);
    s->y = calloc(n, sizeof *s->y);
    s->cutoff = calloc(n, sizeof *s->cutoff);
    s->customer = calloc(n, sizeof *s->customer);
    for (size_t i = 0; i < n; i++) {
        float *r = s->x + i * CHURN_N_FEATURES;
        r[COL("recency_days")] = (float)(lcg(&seed) % 200);
        r[COL("frequency")] = (float)(1 + lcg(&seed) % 10);
        r[COL("total_spent")] = r[COL("frequency")] * (float)(lcg(&seed) % 100);
        r[COL("order_std")] = i % 7 == 0 ? NAN : 1.0f; /* some missing values */
        double risk = r[COL("recency_days")] / 200.0 - r[COL("frequency")] / 20.0;
        s->y[i] = risk + (double)(lcg(&seed) % 1000) / 2500.0 > 0.35;
        s->customer[i] = i;
    }
}

static char *temp_dir(void) {
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    size_t size = strlen(base) + 32;
    char *dir = malloc(size);
    snprintf(dir, size, "%s/churn-test-XXXXXX", base);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    return dir;
}

static void remove_dir(const char *dir) {
    const char *names[] = {"manifest.json", "xgboost.json", "copy.json", "m2"};
    char p[4096];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
}

START_TEST(artifact_round_trip) {
    ss_err_t err = SS_ERR_INIT;
    churn_set_t s = CHURN_SET_INIT;
    synthetic_set(&s, 600, 7);
    churn_xgb_opts_t o = {.rounds = 20, .nthread = 1, .min_child_weight = 1};
    double spw = 0;
    char params[512];
    churn_model_t *m = churn_train_xgb(&s, &o, &spw, params, sizeof params, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    ck_assert(spw > 0);
    ck_assert_int_eq(churn_model_rounds(m), 20);
    ck_assert_ptr_nonnull(strstr(params, "scale_pos_weight="));
    churn_meta_t *meta = churn_model_meta_mut(m);
    snprintf(meta->version, sizeof meta->version, "test-1");
    snprintf(meta->trained_at, sizeof meta->trained_at, "2021-01-01T00:00:00Z");
    meta->thresholds = (churn_thresholds_t){.high = 0.8, .medium = 0.3};
    meta->has_metrics = 1;
    meta->metrics.roc_auc = 0.75;
    meta->metrics.rule_pr_auc = NAN; /* stored as null, read back as NaN */
    meta->metrics.n_train = 600;
    meta->metrics.at_high.tp = 17;
    meta->training.horizon_days = 90;
    meta->training.n_train_cutoffs = 2;
    meta->training.train_cutoffs_ms[0] = D0;
    meta->training.train_cutoffs_ms[1] = D0 + 30 * DAY;
    meta->training.n_eval_cutoffs = 1;
    meta->training.eval_cutoffs_ms[0] = D0 + 120 * DAY;
    double *score = malloc(s.n * sizeof *score), *col = malloc(s.n * sizeof *col);
    ck_assert_int_eq(churn_model_predict(m, s.x, s.n, score, &err), 0);
    for (int j = 0; j < CHURN_N_FEATURES; j++) {
        for (size_t i = 0; i < s.n; i++)
            col[i] = s.x[i * CHURN_N_FEATURES + j];
        churn_refdist_compute(&meta->feature_ref[j], col, s.n);
    }
    churn_refdist_compute(&meta->score_ref, score, s.n);
    meta->has_reference = 1;
    ck_assert(churn_roc_auc(score, s.y, s.n) > 0.8); /* learned the synthetic rule */

    char *dir = temp_dir();
    ck_assert_int_eq(churn_model_save(m, dir, &err), 0);
    churn_model_t *m2 = churn_model_load(dir, &err);
    ck_assert_msg(m2 != NULL, "%s", err.msg);
    const churn_meta_t *g = churn_model_meta(m2);
    ck_assert_str_eq(g->version, "test-1");
    ck_assert_str_eq(g->trained_at, "2021-01-01T00:00:00Z");
    ck_assert_uint_eq(g->n_features, CHURN_N_FEATURES);
    for (int j = 0; j < CHURN_N_FEATURES; j++)
        ck_assert_str_eq(g->features[j], churn_feature_names[j]);
    ck_assert_double_eq(g->thresholds.high, 0.8);
    ck_assert_double_eq(g->thresholds.medium, 0.3);
    ck_assert_double_eq(g->metrics.roc_auc, 0.75);
    ck_assert(isnan(g->metrics.rule_pr_auc));
    ck_assert_uint_eq(g->metrics.n_train, 600);
    ck_assert_uint_eq(g->metrics.at_high.tp, 17);
    ck_assert_uint_eq(g->training.n_train_cutoffs, 2);
    ck_assert_int_eq(g->training.train_cutoffs_ms[1], D0 + 30 * DAY);
    ck_assert_int_eq(g->training.eval_cutoffs_ms[0], D0 + 120 * DAY);
    ck_assert_int_eq(g->has_reference, 1);
    ck_assert_int_eq(memcmp(&g->score_ref, &meta->score_ref, sizeof g->score_ref), 0);
    for (int j = 0; j < CHURN_N_FEATURES; j++) {
        ck_assert_uint_eq(g->feature_ref[j].n, meta->feature_ref[j].n);
        ck_assert_uint_eq(g->feature_ref[j].n_missing, meta->feature_ref[j].n_missing);
        for (int b = 0; b <= CHURN_QBINS; b++)
            ck_assert_double_eq(g->feature_ref[j].edges[b], meta->feature_ref[j].edges[b]);
    }
    ck_assert_int_eq(churn_model_rounds(m2), 20);
    double *score2 = malloc(s.n * sizeof *score2);
    ck_assert_int_eq(churn_model_predict(m2, s.x, s.n, score2, &err), 0);
    for (size_t i = 0; i < s.n; i++)
        ck_assert_double_eq(score[i], score2[i]);
    ck_assert_int_eq(churn_model_predict(m2, s.x, 0, score2, &err), 0);

    /* The bare XGBoost file loads on its own: names from the booster, default thresholds. */
    char p[4096];
    snprintf(p, sizeof p, "%s/xgboost.json", dir);
    churn_model_t *bare = churn_model_load(p, &err);
    ck_assert_msg(bare != NULL, "%s", err.msg);
    ck_assert_str_eq(churn_model_meta(bare)->features[0], "recency_days");
    ck_assert_double_eq(churn_model_meta(bare)->thresholds.high, 0.7);
    ck_assert_int_eq(strncmp(churn_model_meta(bare)->version, "xgb-", 4), 0);
    ck_assert_int_eq(churn_model_predict(bare, s.x, s.n, score2, &err), 0);
    ck_assert_double_eq(score[3], score2[3]);
    churn_model_destroy(bare);

    /* A model file replaced under the manifest is detected. */
    FILE *f = fopen(p, "a");
    fputs(" ", f);
    fclose(f);
    ss_err_clear(&err);
    ck_assert_ptr_null(churn_model_load(dir, &err));
    ck_assert_int_eq(err.code, SS_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "does not match"));

    /* A broken manifest is an error, not a crash. */
    snprintf(p, sizeof p, "%s/manifest.json", dir);
    f = fopen(p, "w");
    fputs("{\"format\": \"streamscore-churn-model\", \"format_version\": 99}", f);
    fclose(f);
    ck_assert_ptr_null(churn_model_load(dir, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "format_version"));
    f = fopen(p, "w");
    fputs("{not json", f);
    fclose(f);
    ck_assert_ptr_null(churn_model_load(dir, &err));
    ck_assert_ptr_null(churn_model_load("/nonexistent/churn-model", &err));
    ck_assert_int_eq(err.code, SS_ERR_IO);

    remove_dir(dir);
    free(dir);
    free(score);
    free(score2);
    free(col);
    churn_model_destroy(m);
    churn_model_destroy(m2);
    churn_set_release(&s);
}
END_TEST

START_TEST(importance_and_version) {
    ss_err_t err = SS_ERR_INIT;
    churn_set_t s = CHURN_SET_INIT;
    synthetic_set(&s, 400, 3);
    churn_xgb_opts_t o = {.rounds = 10, .nthread = 1, .min_child_weight = 1};
    churn_model_t *m = churn_train_xgb(&s, &o, NULL, NULL, 0, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    double gain[CHURN_N_FEATURES];
    ck_assert_int_eq(churn_model_importance(m, gain, &err), 0);
    ck_assert(gain[COL("recency_days")] > 0);
    ck_assert_double_eq(gain[COL("return_amount")], 0); /* constant 0: never split on */
    char v[64];
    ck_assert_int_eq(churn_model_make_version(m, D0 + 1500, v, sizeof v, &err), 0);
    ck_assert_int_eq(strncmp(v, "20210101T000001Z-", 17), 0);
    ck_assert_uint_eq(strlen(v), 25);
    ss_buf_t svg = SS_BUF_INIT;
    churn_bar_svg("a <b>", churn_feature_names, gain, CHURN_N_FEATURES, &svg);
    ck_assert_ptr_nonnull(strstr(svg.buf, "<svg "));
    ck_assert_ptr_nonnull(strstr(svg.buf, "a &lt;b&gt;"));
    ck_assert_ptr_nonnull(strstr(svg.buf, "recency_days"));
    ck_assert_ptr_nonnull(strstr(svg.buf, "</svg>"));
    ss_buf_release(&svg);
    churn_model_destroy(m);
    /* One class only is refused. */
    for (size_t i = 0; i < s.n; i++)
        s.y[i] = 1;
    ck_assert_ptr_null(churn_train_xgb(&s, &o, NULL, NULL, 0, &err));
    ck_assert_int_eq(err.code, SS_ERR_INVAL);
    churn_set_release(&s);
}
END_TEST

START_TEST(logistic_baseline_learns) {
    ss_err_t err = SS_ERR_INIT;
    churn_set_t s = CHURN_SET_INIT;
    synthetic_set(&s, 800, 11);
    churn_logreg_t lr;
    ck_assert_int_eq(churn_logreg_fit(&lr, &s, 1.0, &err), 0);
    ck_assert(lr.iterations < 100);
    ck_assert(lr.w[COL("recency_days")] > 0);
    ck_assert(lr.w[COL("frequency")] < 0);
    double *p = malloc(s.n * sizeof *p);
    for (size_t i = 0; i < s.n; i++) {
        p[i] = churn_logreg_predict(&lr, s.x + i * CHURN_N_FEATURES);
        ck_assert(p[i] >= 0 && p[i] <= 1);
    }
    ck_assert(churn_roc_auc(p, s.y, s.n) > 0.8);
    free(p);
    churn_set_release(&s);
}
END_TEST

/* A synthetic history where customers buy every few days until a hidden stop day: the whole run
 * (plan, sets, XGBoost, baseline, references) must rank the stopped customers first. */
START_TEST(train_run_end_to_end) {
    churn_history_t *h = churn_history_new();
    uint32_t seed = 5;
    for (int c = 0; c < 400; c++) {
        char id[16];
        snprintf(id, sizeof id, "c%d", c);
        int start = (int)(lcg(&seed) % 120), gap = 3 + (int)(lcg(&seed) % 25);
        int stop = 60 + (int)(lcg(&seed) % 340);
        for (int d = start; d < stop && d < 400; d += gap + (int)(lcg(&seed) % 5))
            add_order(h, id, D0 + d * DAY + 3600000, SS_TXN_PURCHASE, 5 + lcg(&seed) % 50);
    }
    churn_run_opts_t o = {
        .xgb = {.rounds = 30, .nthread = 1, .min_child_weight = 1}, .now_ms = D0, .source = "test"};
    churn_run_t r = CHURN_RUN_INIT;
    ss_err_t err = SS_ERR_INIT;
    ck_assert_msg(churn_train_run(h, &o, &r, &err) == 0, "%s", err.msg);
    const churn_meta_t *m = churn_model_meta(r.model);
    ck_assert(r.train.n > 0 && r.eval.n > 0);
    ck_assert_uint_eq(m->metrics.n_eval, r.eval.n);
    ck_assert_msg(m->metrics.roc_auc > 0.7, "auc %f", m->metrics.roc_auc);
    ck_assert(!isnan(m->metrics.base_roc_auc));
    ck_assert(!isnan(m->metrics.rule_roc_auc));
    ck_assert_int_eq(m->has_reference, 1);
    ck_assert_uint_eq(m->score_ref.n, r.eval.n);
    ck_assert_int_eq(m->training.horizon_days, 90);
    for (size_t i = 0; i < m->training.n_train_cutoffs; i++)
        ck_assert(m->training.train_cutoffs_ms[i] + 90 * DAY <= m->training.eval_cutoffs_ms[0]);
    ck_assert_str_eq(m->trained_at, "2021-01-01T00:00:00Z");
    ss_buf_t text = SS_BUF_INIT, csv = SS_BUF_INIT;
    churn_report_text(&r, &text);
    ck_assert_ptr_nonnull(strstr(text.buf, "ROC-AUC"));
    ck_assert_ptr_nonnull(strstr(text.buf, "logistic regression"));
    churn_set_csv(h, &r.eval, &csv);
    ck_assert_int_eq(strncmp(csv.buf, "customer_id,cutoff_ms,recency_days,", 35), 0);
    ss_buf_release(&text);
    ss_buf_release(&csv);
    churn_run_release(&r);
    churn_history_destroy(h);
}
END_TEST

Suite *churn_suite(void) {
    Suite *s = suite_create("churn");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, auc_with_ties_matches_sklearn);
    tcase_add_test(tc, auc_edge_cases);
    tcase_add_test(tc, classification_report_counts);
    tcase_add_test(tc, risk_levels_and_thresholds);
    tcase_add_test(tc, refdist_quantile_bins_with_ties);
    tcase_add_test(tc, point_in_time_rows_and_labels);
    tcase_add_test(tc, events_after_cutoff_never_change_features);
    tcase_add_test(tc, label_window_boundaries);
    tcase_add_test(tc, cutoff_plan_and_checks);
    tcase_add_test(tc, artifact_round_trip);
    tcase_add_test(tc, importance_and_version);
    tcase_add_test(tc, logistic_baseline_learns);
    tcase_add_test(tc, train_run_end_to_end);
    suite_add_tcase(s, tc);
    return s;
}
