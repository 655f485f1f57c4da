/* Unit tests of drift_window: window assignment and closing on the watermark, lateness, late
 * and far-future events, empty windows, learnt and frozen references, minimum sample sizes, and
 * the data-quality history (volume ratio, dead-letter rate); the partition watermark; drift_cust
 * (per-order amounts, realised churn labels); drift_monitor (windows -> alerts and gauges).
 * Event time and wall time are passed in. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drift_cust.h"
#include "drift_monitor.h"
#include "drift_window.h"

#define DAY DWIN_DAY_MS
#define T0 INT64_C(1704067200000) /* 2024-01-01T00:00:00Z */
#define MAXREP 64

typedef struct got {
    int n;
    dwin_report_t r[MAXREP];
    dwin_series_report_t s[MAXREP][2];
} got_t;

static void on_close(dwin_t *w, const dwin_report_t *r, void *opaque) {
    (void)w;
    got_t *g = opaque;
    ck_assert_int_lt(g->n, MAXREP);
    g->r[g->n] = *r;
    for (size_t i = 0; i < r->n_series && i < 2; i++)
        g->s[g->n][i] = r->series[i];
    g->r[g->n].series = g->s[g->n];
    g->n++;
}

static const char *const NAMES[2] = {"amount", "score"};

/* A deterministic stream of values in [0, 100): x_j = (j * 37 + phase) mod 100 plus a fraction. */
static double val(int j, int phase) { return (double)((j * 37 + phase) % 100) + 0.25; }

static void fill_day(dwin_t *w, int day, int n, double factor, int phase) {
    for (int j = 0; j < n; j++) {
        int64_t t = T0 + day * DAY + (int64_t)j * (DAY / n);
        ck_assert_int_eq(dwin_add(w, 0, t, val(j, phase) * factor), DWIN_OK);
        ck_assert_int_eq(dwin_count_event(w, t), DWIN_OK);
    }
}

START_TEST(windows_close_on_watermark) {
    ss_err_t err = SS_ERR_INIT;
    dwin_opts_t o = {.min_samples = 5, .reference_windows = 1};
    dwin_t *w = dwin_new(&o, NAMES, 2, &err);
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(dwin_get_opts(w)->window_ms, DAY);
    ck_assert_int_eq(dwin_watermark(w), INT64_MIN);
    got_t g = {0};
    ck_assert_int_eq(dwin_add(w, 0, T0 + 1000, 4.0), DWIN_OK);
    ck_assert_int_eq(dwin_add(w, 0, T0 + 2000, 6.0), DWIN_OK);
    ck_assert_int_eq(dwin_add(w, 0, T0 + 3000, NAN), DWIN_OK);
    ck_assert_int_eq(dwin_count_event(w, T0 + 1000), DWIN_OK);
    ck_assert_int_eq(dwin_add(w, 1, T0 + DAY + 5, 0.5), DWIN_OK);
    /* The watermark is at day 1 + 5 ms: day 0 closes, day 1 stays open. */
    ck_assert_int_eq(dwin_watermark(w), T0 + DAY + 5);
    ck_assert_int_eq(dwin_advance(w, dwin_watermark(w), on_close, &g), 1);
    ck_assert_int_eq(g.n, 1);
    ck_assert_int_eq(g.r[0].start_ms, T0);
    ck_assert_int_eq(g.r[0].end_ms, T0 + DAY);
    ck_assert_uint_eq(g.r[0].events, 1);
    ck_assert_uint_eq(g.r[0].n_series, 2);
    ck_assert_str_eq(g.s[0][0].name, "amount");
    ck_assert_uint_eq(g.s[0][0].n, 2);
    ck_assert_uint_eq(g.s[0][0].n_missing, 1);
    ck_assert_double_eq_tol(g.s[0][0].mean, 5.0, 1e-12);
    ck_assert_uint_eq(g.s[0][1].n, 0);
    ck_assert(isnan(g.s[0][1].mean));
    ck_assert_int_eq(g.s[0][0].judged, 0); /* 2 < min_samples: neither learnt nor judged */
    ck_assert_int_eq(g.s[0][0].learning, 0);
    /* A value for the closed day is late and dropped. */
    ck_assert_int_eq(dwin_add(w, 0, T0 + 10, 1.0), DWIN_LATE);
    ck_assert_uint_eq(dwin_dropped_late(w), 1);
    /* Advancing to the same watermark again closes nothing. */
    ck_assert_int_eq(dwin_advance(w, dwin_watermark(w), on_close, &g), 0);
    ck_assert_uint_eq(dwin_closed(w), 1);
    dwin_destroy(w);
    dwin_destroy(NULL);
}
END_TEST

START_TEST(lateness_gaps_and_future_outliers) {
    ss_err_t err = SS_ERR_INIT;
    dwin_opts_t o = {.lateness_ms = 2 * 3600 * 1000, .max_ahead_windows = 30};
    dwin_t *w = dwin_new(&o, NAMES, 1, &err);
    got_t g = {0};
    dwin_count_event(w, T0 + 23 * 3600 * 1000);
    dwin_count_event(w, T0 + DAY + 3600 * 1000); /* 01:00 on day 1: watermark 23:00 on day 0 */
    ck_assert_int_eq(dwin_advance(w, dwin_watermark(w), on_close, &g), 0);
    /* Within lateness: a day-0 event still counts. */
    ck_assert_int_eq(dwin_count_event(w, T0 + 100), DWIN_OK);
    /* A timestamp a year ahead is an outlier: dropped, the watermark does not move. */
    ck_assert_int_eq(dwin_count_event(w, T0 + 365 * DAY), DWIN_FUTURE);
    ck_assert_uint_eq(dwin_dropped_future(w), 1);
    ck_assert_int_eq(dwin_watermark(w), T0 + DAY + 3600 * 1000 - 2 * 3600 * 1000);
    /* Day 4 02:30: watermark 00:30 on day 4 closes days 0..3 (days 2 and 3 empty). */
    dwin_count_event(w, T0 + 4 * DAY + 9000 * 1000);
    ck_assert_int_eq(dwin_advance(w, dwin_watermark(w), on_close, &g), 4);
    ck_assert_uint_eq(g.r[0].events, 2);
    ck_assert_uint_eq(g.r[1].events, 1);
    ck_assert_uint_eq(g.r[2].events, 0);
    ck_assert_uint_eq(g.r[3].events, 0);
    ck_assert_int_eq(g.r[3].start_ms, T0 + 3 * DAY);
    ck_assert(isnan(g.r[2].dlq_rate));
    dwin_destroy(w);
}
END_TEST

START_TEST(learnt_reference_judges_later_windows) {
    ss_err_t err = SS_ERR_INIT;
    dwin_opts_t o = {.min_samples = 50, .reference_windows = 3, .history_windows = 3};
    dwin_t *w = dwin_new(&o, NAMES, 2, &err);
    got_t g = {0};
    for (int d = 0; d < 3; d++)
        fill_day(w, d, 200, 1.0, d * 11);
    fill_day(w, 3, 200, 1.0, 5); /* same distribution */
    fill_day(w, 4, 200, 3.0, 7); /* amounts x 3 */
    fill_day(w, 5, 30, 1.0, 0);  /* too few values */
    fill_day(w, 6, 200, 1.0, 9); /* back to normal */
    dwin_count_event(w, T0 + 7 * DAY);
    ck_assert_int_eq(dwin_advance(w, dwin_watermark(w), on_close, &g), 7);
    for (int d = 0; d < 3; d++) {
        ck_assert_int_eq(g.s[d][0].learning, 1);
        ck_assert_int_eq(g.s[d][0].judged, 0);
        ck_assert(isnan(g.s[d][0].psi));
    }
    ck_assert_int_eq(g.s[2][0].has_reference, 1); /* completed by the third window */
    ck_assert_int_eq(g.s[0][1].learning, 0);      /* the empty score series learns nothing */
    ck_assert_ptr_nonnull(dwin_reference(w, 0));
    ck_assert_ptr_null(dwin_reference(w, 1));
    ck_assert_uint_eq(dwin_reference(w, 0)->ref_n, 600);
    /* Stationary window: small PSI, KS does not reject. */
    ck_assert_int_eq(g.s[3][0].judged, 1);
    ck_assert_double_lt(g.s[3][0].psi, 0.05);
    ck_assert_double_gt(g.s[3][0].ks_p, 0.05);
    /* Shifted window: critical PSI, KS rejects. */
    ck_assert_int_eq(g.s[4][0].judged, 1);
    ck_assert_double_gt(g.s[4][0].psi, 1.0);
    ck_assert_double_gt(g.s[4][0].ks_d, 0.5);
    ck_assert_double_lt(g.s[4][0].ks_p, 1e-10);
    /* Too few values: not judged. */
    ck_assert_int_eq(g.s[5][0].judged, 0);
    ck_assert_uint_eq(g.s[5][0].n, 30);
    ck_assert_int_eq(g.s[6][0].judged, 1);
    ck_assert_double_lt(g.s[6][0].psi, 0.05);
    dwin_destroy(w);
}
END_TEST

START_TEST(frozen_reference_judges_first_window) {
    ss_err_t err = SS_ERR_INIT;
    dwin_opts_t o = {.min_samples = 10};
    dwin_t *w = dwin_new(&o, NAMES, 1, &err);
    double edges[11], frac[10];
    for (int i = 0; i <= 10; i++)
        edges[i] = 10.0 * i;
    for (int i = 0; i < 10; i++)
        frac[i] = 0.1;
    dstat_bins_t b;
    ck_assert_int_eq(dstat_bins_from_edges(&b, edges, frac, 10, 10000, &err), 0);
    ck_assert_int_eq(dwin_set_reference(w, 0, &b, &err), 0);
    ck_assert_int_eq(dwin_set_reference(w, 5, &b, &err), SS_ERR_INVAL);
    got_t g = {0};
    fill_day(w, 0, 100, 1.0, 0);
    fill_day(w, 1, 100, 0.5, 0); /* everything below 50 */
    dwin_count_event(w, T0 + 2 * DAY);
    ck_assert_int_eq(dwin_advance(w, dwin_watermark(w), on_close, &g), 2);
    ck_assert_int_eq(g.s[0][0].judged, 1);
    ck_assert_double_lt(g.s[0][0].psi, 0.01);
    ck_assert_double_lt(g.s[0][0].ks_d, 0.02);
    ck_assert_int_eq(g.s[1][0].judged, 1);
    ck_assert_double_gt(g.s[1][0].psi, 3.0);
    ck_assert_double_gt(g.s[1][0].ks_d, 0.45);
    dwin_destroy(w);
}
END_TEST

START_TEST(data_quality_history) {
    ss_err_t err = SS_ERR_INIT;
    dwin_opts_t o = {.history_windows = 3};
    dwin_t *w = dwin_new(&o, NAMES, 1, &err);
    got_t g = {0};
    dwin_count_dlq(w); /* before any event: goes to the first window */
    const int vol[6] = {100, 120, 80, 100, 30, 100};
    const int dlq[6] = {0, 1, 0, 0, 0, 25};
    for (int d = 0; d < 6; d++) {
        for (int j = 0; j < vol[d]; j++)
            dwin_count_event(w, T0 + d * DAY + j * 1000);
        for (int j = 0; j < dlq[d]; j++)
            dwin_count_dlq(w);
    }
    dwin_count_event(w, T0 + 6 * DAY);
    ck_assert_int_eq(dwin_advance(w, dwin_watermark(w), on_close, &g), 6);
    ck_assert_uint_eq(g.r[0].dlq, 1);
    ck_assert_double_eq_tol(g.r[0].dlq_rate, 1.0 / 101, 1e-12);
    ck_assert_int_eq(g.r[0].dq_judged, 0);
    ck_assert_int_eq(g.r[2].history, 2);
    ck_assert(isnan(g.r[2].volume_ratio));
    /* Day 3: median(100, 120, 80) = 100. */
    ck_assert_int_eq(g.r[3].dq_judged, 1);
    ck_assert_double_eq_tol(g.r[3].volume_median, 100, 1e-12);
    ck_assert_double_eq_tol(g.r[3].volume_ratio, 1.0, 1e-12);
    /* Day 4: median(120, 80, 100) = 100, 30 events. */
    ck_assert_double_eq_tol(g.r[4].volume_ratio, 0.3, 1e-12);
    /* Day 5: 25 dead letters of 125; the median rate of days 2..4 is 0. */
    ck_assert_double_eq_tol(g.r[5].dlq_rate, 0.2, 1e-12);
    ck_assert_double_eq_tol(g.r[5].dlq_rate_median, 0.0, 1e-12);
    dwin_destroy(w);
}
END_TEST

START_TEST(deterministic_and_capped) {
    /* With a reservoir smaller than the window, two runs give the same figures. */
    double psi[2], ksd[2];
    for (int run = 0; run < 2; run++) {
        ss_err_t err = SS_ERR_INIT;
        dwin_opts_t o = {.min_samples = 20,
                         .reference_windows = 1,
                         .sample_cap = 50,
                         .reference_cap = 60,
                         .seed = 42};
        dwin_t *w = dwin_new(&o, NAMES, 1, &err);
        got_t g = {0};
        fill_day(w, 0, 300, 1.0, 1);
        fill_day(w, 1, 300, 1.3, 2);
        dwin_count_event(w, T0 + 2 * DAY);
        dwin_advance(w, dwin_watermark(w), on_close, &g);
        ck_assert_int_eq(g.n, 2);
        ck_assert_uint_eq(dwin_reference(w, 0)->ref_n, 50);
        ck_assert_uint_eq(g.s[1][0].n, 300);
        psi[run] = g.s[1][0].psi;
        ksd[run] = g.s[1][0].ks_d;
        dwin_destroy(w);
    }
    ck_assert_double_eq(psi[0], psi[1]);
    ck_assert_double_eq(ksd[0], ksd[1]);
}
END_TEST

START_TEST(bad_options) {
    ss_err_t err = SS_ERR_INIT;
    dwin_opts_t o = {.window_ms = -5};
    ck_assert_ptr_null(dwin_new(&o, NAMES, 1, &err));
    ck_assert_str_eq(err.msg, "window_ms -5 must be positive");
    dwin_opts_t o2 = {.n_bins = 1000};
    ck_assert_ptr_null(dwin_new(&o2, NAMES, 1, &err));
    dwin_t *w = dwin_new(NULL, NAMES, 2, &err);
    ck_assert_int_eq(dwin_series_index(w, "score"), 1);
    ck_assert_int_eq(dwin_series_index(w, "nope"), -1);
    dwin_destroy(w);
}
END_TEST

START_TEST(partition_watermark) {
    dwin_wm_t *m = dwin_wm_new(1000, 100);
    ck_assert_int_eq(dwin_wm_get(m, 0), INT64_MIN);
    dwin_wm_add(m, 1, 0);
    dwin_wm_add(m, 2, 0);
    /* Partition 1 runs ahead; 2 has delivered nothing and is not idle: no watermark. */
    dwin_wm_observe(m, 1, 5000, 10);
    ck_assert_int_eq(dwin_wm_get(m, 20), INT64_MIN);
    dwin_wm_observe(m, 2, 3000, 30);
    ck_assert_int_eq(dwin_wm_get(m, 40), 3000 - 100); /* the slowest partition */
    /* Partition 2 goes quiet for the idle time: partition 1 alone. */
    dwin_wm_observe(m, 1, 6000, 900);
    ck_assert_int_eq(dwin_wm_get(m, 1100), 6000 - 100);
    /* Everything idle: the largest event time. */
    ck_assert_int_eq(dwin_wm_get(m, 5000), 6000 - 100);
    /* Resume after the pause: partition 2 gets a fresh grace period and holds it back. */
    dwin_wm_observe(m, 1, 9000, 6000);
    ck_assert_int_eq(dwin_wm_get(m, 6010), 3000 - 100);
    dwin_wm_forget(m, 2);
    ck_assert_int_eq(dwin_wm_get(m, 6010), 9000 - 100);
    dwin_wm_destroy(m);
    dwin_wm_destroy(NULL);
}
END_TEST

typedef struct labels {
    int n, pos;
    double p[8];
    int y[8];
} labels_t;

static void on_label(double p, int label, int64_t t, void *opaque) {
    (void)t;
    labels_t *l = opaque;
    l->p[l->n] = p;
    l->y[l->n] = label;
    l->pos += label;
    l->n++;
}

START_TEST(cust_amounts_and_labels) {
    dcust_opts_t o = {.horizon_ms = 10 * DAY};
    dcust_t *c = dcust_new(&o);
    /* First order 20, then 30 (avg 25), then a return (frequency unchanged), then 40. */
    ck_assert_double_eq_tol(dcust_features(c, "c1", 1, 20.0, T0), 20.0, 1e-12);
    ck_assert_double_eq_tol(dcust_features(c, "c1", 2, 25.0, T0 + DAY), 30.0, 1e-12);
    ck_assert(isnan(dcust_features(c, "c1", 2, 25.0, T0 + DAY)));
    ck_assert_double_eq_tol(dcust_features(c, "c1", 3, 30.0, T0 + 2 * DAY), 40.0, 1e-9);
    /* A replayed older update changes nothing. */
    ck_assert(isnan(dcust_features(c, "c1", 2, 25.0, T0 + DAY)));
    /* First sighting with history: unknown amount. */
    ck_assert(isnan(dcust_features(c, "c2", 5, 10.0, T0)));
    ck_assert_uint_eq(dcust_count(c), 2);
    /* Labels: c1 scored at day 3, buys at day 8 -> 0; c2 scored at day 3, never again -> 1. */
    dcust_score(c, "c1", T0 + 3 * DAY, 0.2);
    dcust_score(c, "c1", T0 + 4 * DAY, 0.9); /* one pending per customer */
    dcust_score(c, "c2", T0 + 3 * DAY, 0.7);
    dcust_score(c, "c3", T0 + 3 * DAY, NAN);
    ck_assert_uint_eq(dcust_pending(c), 2);
    dcust_features(c, "c1", 4, 30.0, T0 + 8 * DAY);
    labels_t l = {0};
    ck_assert_uint_eq(dcust_release(c, T0 + 12 * DAY, on_label, &l), 0); /* window not over */
    ck_assert_uint_eq(dcust_release(c, T0 + 13 * DAY, on_label, &l), 2);
    ck_assert_int_eq(l.n, 2);
    ck_assert_int_eq(l.pos, 1);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(l.y[i], l.p[i] > 0.5 ? 1 : 0);
    ck_assert_uint_eq(dcust_pending(c), 0);
    /* A purchase after the label window does not make it retained. */
    dcust_score(c, "c2", T0 + 20 * DAY, 0.6);
    dcust_features(c, "c2", 6, 10.0, T0 + 31 * DAY);
    labels_t l2 = {0};
    dcust_release(c, T0 + 40 * DAY, on_label, &l2);
    ck_assert_int_eq(l2.n, 1);
    ck_assert_int_eq(l2.y[0], 1);
    dcust_opts_t small = {.max_customers = 1};
    dcust_t *s = dcust_new(&small);
    dcust_features(s, "a", 1, 1, T0);
    ck_assert(isnan(dcust_features(s, "b", 1, 1, T0)));
    ck_assert_uint_eq(dcust_ignored(s), 1);
    dcust_destroy(s);
    dcust_destroy(c);
    dcust_destroy(NULL);
}
END_TEST

typedef struct mon_got {
    int n;
    char name[16][32];
    dalert_status_t status[16];
    int64_t starts[16];
} mon_got_t;

static void on_mon_alert(const dalert_event_t *ev, void *opaque) {
    mon_got_t *g = opaque;
    if (g->n >= 16 || ev->reason == DALERT_REPEAT)
        return;
    snprintf(g->name[g->n], sizeof(g->name[0]), "%s", ev->name);
    g->status[g->n] = ev->status;
    g->starts[g->n] = ev->starts_at_ms;
    g->n++;
}

/* Feeds customers' orders for one day: n customers, each one order of amount a(j) x factor. */
static void mon_day(dmon_t *d, int day, int n, double factor, int64_t *freq, double *spent) {
    char id[16];
    for (int j = 0; j < n; j++) {
        snprintf(id, sizeof(id), "c%d", j);
        double amount = val(j, day) * factor + 1;
        freq[j]++;
        spent[j] += amount;
        dmon_features_t f = {.customer_id = id,
                             .as_of_ms = T0 + day * DAY + j * 1000,
                             .frequency = freq[j],
                             .avg_order = spent[j] / (double)freq[j],
                             .last_order_ms = T0 + day * DAY + j * 1000};
        for (int i = 0; i < DMON_N_FEATURES; i++)
            f.values[i] = NAN;
        ck_assert_int_eq(dmon_features(d, &f), DWIN_OK);
    }
}

START_TEST(monitor_fires_and_resolves_feature_drift) {
    ss_err_t err = SS_ERR_INIT;
    ss_metrics_t *m = ss_metrics_new();
    dmon_opts_t o = {.win = {.min_samples = 50, .reference_windows = 2, .history_windows = 3},
                     .series = "order_amount"};
    dmon_t *d = dmon_new(&o, m, &err);
    ck_assert_msg(d != NULL, "%s", err.msg);
    int64_t freq[200] = {0};
    double spent[200] = {0};
    mon_got_t g = {0};
    for (int day = 0; day < 10; day++) {
        mon_day(d, day, 200, day >= 5 && day < 7 ? 3.0 : 1.0, freq, spent);
        if (day > 0)
            ck_assert_int_ge(dmon_advance(d, T0 + day * DAY, on_mon_alert, &g, &err), 0);
    }
    /* Day 5 fires (starts at day 5), days 7 and 8 are clear: resolved at the end of day 8. */
    ck_assert_int_eq(g.n, 2);
    ck_assert_str_eq(g.name[0], "FeatureDrift");
    ck_assert_int_eq(g.status[0], DALERT_FIRING);
    ck_assert_int_eq(g.starts[0], T0 + 5 * DAY);
    ck_assert_int_eq(g.status[1], DALERT_RESOLVED);
    char *text = ss_metrics_render(m, NULL);
    ck_assert_ptr_nonnull(strstr(text, "streamscore_drift_psi{series=\"order_amount\"}"));
    ck_assert_ptr_nonnull(strstr(text, "streamscore_drift_windows_closed_total 9"));
    ck_assert_ptr_nonnull(
        strstr(text, "streamscore_drift_alert_events_total{status=\"resolved\"} 1"));
    free(text);
    dmon_destroy(d);
    ss_metrics_destroy(m);
    dmon_opts_t bad = {.series = "order_amount,nope"};
    ck_assert_ptr_null(dmon_new(&bad, NULL, &err));
    ck_assert_str_eq(err.msg, "unknown series 'nope'");
}
END_TEST

START_TEST(monitor_data_quality_and_model_quality) {
    ss_err_t err = SS_ERR_INIT;
    dmon_opts_t o = {.win = {.min_samples = 1000, .history_windows = 3},
                     .series = "score",
                     .cust = {.horizon_ms = 2 * DAY},
                     .quality_min_samples = 20,
                     .auc_baseline = 0.9};
    dmon_t *d = dmon_new(&o, NULL, &err);
    ck_assert_ptr_nonnull(d);
    int64_t freq[100] = {0};
    double spent[100] = {0};
    mon_got_t g = {0};
    char id[16];
    for (int day = 0; day < 8; day++) {
        /* Volume collapses on day 5; dead letters pile up on day 6. */
        mon_day(d, day, day == 5 ? 20 : 100, 1.0, freq, spent);
        for (int j = 0; day == 6 && j < 20; j++)
            dmon_dlq(d);
        /* Uninformative scores on day 0: customers with odd ids churn (never buy again)... */
        for (int j = 0; day == 0 && j < 100; j++) {
            snprintf(id, sizeof(id), "c%d", j);
            dmon_score(d, id, T0 + j * 1000, (double)((j * 7) % 10) / 10.0);
        }
        dmon_advance(d, T0 + (day + 1) * DAY, on_mon_alert, &g, &err);
    }
    int low = 0, dlq = 0, quality = 0;
    for (int i = 0; i < g.n; i++) {
        low += strcmp(g.name[i], "EventVolumeLow") == 0 && g.status[i] == DALERT_FIRING;
        dlq += strcmp(g.name[i], "DeadLetterRate") == 0 && g.status[i] == DALERT_FIRING;
        quality += strcmp(g.name[i], "ModelQualityDrop") == 0 && g.status[i] == DALERT_FIRING;
    }
    ck_assert_int_eq(low, 1);
    ck_assert_int_eq(dlq, 1);
    /* Every customer bought again within 2 days: all labels 0, one class -> no AUC, no alert. */
    ck_assert_int_eq(quality, 0);
    dmon_destroy(d);
}
END_TEST

Suite *dwin_suite(void) {
    Suite *s = suite_create("dwin");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, windows_close_on_watermark);
    tcase_add_test(tc, lateness_gaps_and_future_outliers);
    tcase_add_test(tc, learnt_reference_judges_later_windows);
    tcase_add_test(tc, frozen_reference_judges_first_window);
    tcase_add_test(tc, data_quality_history);
    tcase_add_test(tc, deterministic_and_capped);
    tcase_add_test(tc, bad_options);
    tcase_add_test(tc, partition_watermark);
    suite_add_tcase(s, tc);
    TCase *tc2 = tcase_create("cust");
    tcase_add_test(tc2, cust_amounts_and_labels);
    suite_add_tcase(s, tc2);
    TCase *tc3 = tcase_create("monitor");
    tcase_add_test(tc3, monitor_fires_and_resolves_feature_drift);
    tcase_add_test(tc3, monitor_data_quality_and_model_quality);
    suite_add_tcase(s, tc3);
    return s;
}
