/* drift_monitor: events -> windows -> gauges and alert evaluations (drift_monitor.h). */
#include "drift_monitor.h"

#include "ss_log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const dmon_series_names[DMON_N_SERIES] = {
    "recency_days",       "frequency",         "total_spent",
    "avg_order",          "order_std",         "days_since_first_order",
    "purchase_frequency", "recent_orders_30d", "return_count",
    "return_amount",      "order_amount",      "score",
    "high_risk",
};

typedef struct gauges {
    ss_metrics_gauge_t *psi, *ks_d, *ks_p, *n, *mean, *judged;
    ss_metrics_counter_t *judged_total;
} gauges_t;

struct dmon {
    dmon_opts_t o;
    char *model_version;
    dwin_t *win;
    dalert_t *alerts;
    dcust_t *cust;
    int widx[DMON_N_SERIES]; /* dwin series index, -1 when not monitored */
    int frozen[DMON_N_SERIES];
    gauges_t g[DMON_N_SERIES];
    ss_metrics_gauge_t *g_events, *g_dlq_rate, *g_volume_ratio, *g_window_end, *g_firing;
    ss_metrics_gauge_t *g_auc, *g_brier, *g_ece, *g_quality_n, *g_auc_baseline, *g_pending;
    ss_metrics_counter_t *c_windows;
    ss_metrics_family_t *c_alerts;
    /* labelled scores waiting for a quality evaluation */
    double *qp;
    int *qy;
    size_t qn, qcap;
    double auc_baseline;
    /* during dmon_advance */
    dmon_alert_fn fn;
    void *opaque;
    int rc;
    ss_err_t *err;
};

static int parse_series(const char *list, int *on, ss_err_t *err) {
    if (!list || !*list) {
        for (int i = 0; i < DMON_N_SERIES; i++)
            on[i] = 1;
        return 0;
    }
    const char *p = list;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        while (n && (*p == ' '))
            p++, n--;
        while (n && p[n - 1] == ' ')
            n--;
        if (n) {
            int found = -1;
            for (int i = 0; i < DMON_N_SERIES; i++)
                if (strlen(dmon_series_names[i]) == n && strncmp(dmon_series_names[i], p, n) == 0)
                    found = i;
            if (found < 0)
                return ss_err_set(err, SS_ERR_INVAL, "unknown series '%.*s'", (int)n, p);
            on[found] = 1;
        }
        if (!e)
            break;
        p = e + 1;
    }
    return 0;
}

static void make_gauges(dmon_t *d, ss_metrics_t *m) {
    if (!m)
        return;
    const char *lbl[1] = {"series"};
    ss_metrics_family_t *psi = ss_metrics_gauge_family(
        m, "streamscore_drift_psi", "PSI of the last closed window against the reference", lbl, 1);
    ss_metrics_family_t *ksd =
        ss_metrics_gauge_family(m, "streamscore_drift_ks_statistic",
                                "two-sample KS statistic D of the last window", lbl, 1);
    ss_metrics_family_t *ksp = ss_metrics_gauge_family(m, "streamscore_drift_ks_pvalue",
                                                       "KS p-value of the last window", lbl, 1);
    ss_metrics_family_t *n = ss_metrics_gauge_family(
        m, "streamscore_drift_window_samples", "non-missing values in the last window", lbl, 1);
    ss_metrics_family_t *mean = ss_metrics_gauge_family(m, "streamscore_drift_window_mean",
                                                        "mean of the last window's values", lbl, 1);
    ss_metrics_family_t *judged = ss_metrics_gauge_family(
        m, "streamscore_drift_window_judged",
        "1 when the last window was judged (reference and minimum samples)", lbl, 1);
    ss_metrics_family_t *judged_total =
        ss_metrics_counter_family(m, "streamscore_drift_windows_judged_total",
                                  "windows judged against the reference", lbl, 1);
    for (int i = 0; i < DMON_N_SERIES; i++) {
        if (d->widx[i] < 0)
            continue;
        const char *v[1] = {dmon_series_names[i]};
        d->g[i].judged_total = ss_metrics_counter_child(judged_total, v);
        d->g[i].psi = ss_metrics_gauge_child(psi, v);
        d->g[i].ks_d = ss_metrics_gauge_child(ksd, v);
        d->g[i].ks_p = ss_metrics_gauge_child(ksp, v);
        d->g[i].n = ss_metrics_gauge_child(n, v);
        d->g[i].mean = ss_metrics_gauge_child(mean, v);
        d->g[i].judged = ss_metrics_gauge_child(judged, v);
    }
    d->g_events = ss_metrics_gauge(m, "streamscore_drift_window_events",
                                   "customer-features events in the last closed window");
    d->g_dlq_rate = ss_metrics_gauge(m, "streamscore_drift_window_dlq_rate",
                                     "dead letters / (events + dead letters) in the last window");
    d->g_volume_ratio =
        ss_metrics_gauge(m, "streamscore_drift_window_volume_ratio",
                         "events of the last window / median of the previous history windows");
    d->g_window_end = ss_metrics_gauge(m, "streamscore_drift_window_end_timestamp_seconds",
                                       "event-time end of the last closed window");
    d->g_firing = ss_metrics_gauge(m, "streamscore_drift_alerts_firing", "alerts now firing");
    d->g_auc = ss_metrics_gauge(m, "streamscore_drift_model_roc_auc",
                                "realised ROC-AUC of churn scores whose label window passed");
    d->g_auc_baseline = ss_metrics_gauge(m, "streamscore_drift_model_roc_auc_baseline",
                                         "ROC-AUC the realised one is compared with");
    d->g_brier = ss_metrics_gauge(m, "streamscore_drift_model_brier",
                                  "realised Brier score of labelled churn scores");
    d->g_ece = ss_metrics_gauge(m, "streamscore_drift_model_ece",
                                "realised expected calibration error (10 bins)");
    d->g_quality_n = ss_metrics_gauge(m, "streamscore_drift_model_quality_samples",
                                      "labelled scores in the last quality evaluation");
    d->g_pending = ss_metrics_gauge(m, "streamscore_drift_scores_pending_label",
                                    "churn scores waiting for their label window to pass");
    d->c_windows = ss_metrics_counter(m, "streamscore_drift_windows_closed_total",
                                      "event-time windows closed");
    const char *al[1] = {"status"};
    d->c_alerts = ss_metrics_counter_family(m, "streamscore_drift_alert_events_total",
                                            "alert events emitted", al, 1);
}

dmon_t *dmon_new(const dmon_opts_t *opts, ss_metrics_t *m, ss_err_t *err) {
    dmon_opts_t o = opts ? *opts : (dmon_opts_t){0};
    int on[DMON_N_SERIES] = {0};
    if (parse_series(o.series, on, err) < 0)
        return NULL;
    if (!o.psi_warning)
        o.psi_warning = 0.1;
    if (!o.psi_critical)
        o.psi_critical = 0.25;
    if (!o.volume_low)
        o.volume_low = 0.5;
    if (!o.volume_high)
        o.volume_high = 3.0;
    if (!o.dlq_rate_warning)
        o.dlq_rate_warning = 0.01;
    if (!o.dlq_rate_critical)
        o.dlq_rate_critical = 0.05;
    if (!o.dlq_ratio)
        o.dlq_ratio = 3.0;
    if (!o.high_risk)
        o.high_risk = o.artifact && o.artifact->thresholds.high > 0 ? o.artifact->thresholds.high
                                                                    : CHURN_HIGH_DEFAULT;
    if (!o.quality_min_samples)
        o.quality_min_samples = 200;
    if (!o.auc_drop_warning)
        o.auc_drop_warning = 0.05;
    if (!o.auc_drop_critical)
        o.auc_drop_critical = 0.10;
    if (o.psi_warning > o.psi_critical) {
        ss_err_set(err, SS_ERR_INVAL, "psi warning %g above critical %g", o.psi_warning,
                   o.psi_critical);
        return NULL;
    }
    const char *names[DMON_N_SERIES];
    size_t k = 0;
    dmon_t *d = ss_xcalloc(1, sizeof(*d));
    for (int i = 0; i < DMON_N_SERIES; i++) {
        d->widx[i] = on[i] ? (int)k : -1;
        if (on[i])
            names[k++] = dmon_series_names[i];
    }
    d->win = dwin_new(&o.win, names, k, err);
    d->alerts = d->win ? dalert_new(&o.alert, err) : NULL;
    if (!d->win || !d->alerts) {
        dwin_destroy(d->win);
        free(d);
        return NULL;
    }
    d->cust = dcust_new(&o.cust);
    const churn_meta_t *a = o.artifact;
    if (o.model_version && *o.model_version)
        d->model_version = ss_xstrdup(o.model_version);
    else
        d->model_version = ss_xstrdup(a && a->version[0] ? a->version : "stream-reference");
    d->auc_baseline = o.auc_baseline > 0                                ? o.auc_baseline
                      : (a && a->has_metrics && a->metrics.roc_auc > 0) ? a->metrics.roc_auc
                                                                        : NAN;
    if (a && a->has_reference) {
        for (int i = 0; i < DMON_N_SERIES; i++) {
            if (d->widx[i] < 0)
                continue;
            const churn_refdist_t *ref = NULL;
            if (i == DMON_SERIES_SCORE)
                ref = &a->score_ref;
            for (size_t f = 0; f < a->n_features && !ref; f++)
                if (strcmp(a->features[f], dmon_series_names[i]) == 0)
                    ref = &a->feature_ref[f];
            if (!ref || ref->n == 0)
                continue;
            dstat_bins_t b;
            if (dstat_bins_from_edges(&b, ref->edges, ref->frac, CHURN_QBINS, ref->n, err) < 0 ||
                dwin_set_reference(d->win, (size_t)d->widx[i], &b, err) < 0) {
                dmon_destroy(d);
                return NULL;
            }
            d->frozen[i] = 1;
        }
    }
    d->o = o;
    d->o.artifact = NULL;
    d->o.series = NULL;
    d->o.model_version = NULL;
    make_gauges(d, m);
    ss_metrics_gauge_set(d->g_auc_baseline, d->auc_baseline);
    return d;
}

void dmon_destroy(dmon_t *d) {
    if (!d)
        return;
    dwin_destroy(d->win);
    dalert_destroy(d->alerts);
    dcust_destroy(d->cust);
    free(d->model_version);
    free(d->qp);
    free(d->qy);
    free(d);
}

dwin_t *dmon_window(dmon_t *d) { return d->win; }
dalert_t *dmon_alerts(dmon_t *d) { return d->alerts; }

static dwin_status_t add(dmon_t *d, int series, int64_t t, double x) {
    if (d->widx[series] < 0)
        return DWIN_OK;
    return dwin_add(d->win, (size_t)d->widx[series], t, x);
}

dwin_status_t dmon_features(dmon_t *d, const dmon_features_t *f) {
    dwin_status_t st = dwin_count_event(d->win, f->as_of_ms);
    double amount =
        dcust_features(d->cust, f->customer_id, f->frequency, f->avg_order, f->last_order_ms);
    if (st != DWIN_OK)
        return st;
    for (int i = 0; i < DMON_N_FEATURES; i++)
        add(d, i, f->as_of_ms, f->values[i]);
    /* A missing amount (return, replay) is not a missing value of the series: skip it. */
    if (!isnan(amount))
        add(d, DMON_SERIES_ORDER_AMOUNT, f->as_of_ms, amount);
    return DWIN_OK;
}

dwin_status_t dmon_score(dmon_t *d, const char *customer_id, int64_t t_ms, double p) {
    dcust_score(d->cust, customer_id, t_ms, p);
    dwin_status_t st = add(d, DMON_SERIES_SCORE, t_ms, p);
    if (st == DWIN_OK && !isnan(p))
        add(d, DMON_SERIES_HIGH_RISK, t_ms, p > d->o.high_risk ? 1.0 : 0.0);
    return st;
}

void dmon_dlq(dmon_t *d) { dwin_count_dlq(d->win); }

/* ---- window close ---------------------------------------------------------------------------- */

static void on_alert(const dalert_event_t *ev, void *opaque) {
    dmon_t *d = opaque;
    if (d->c_alerts) {
        const char *v[1] = {ev->status == DALERT_FIRING ? "firing" : "resolved"};
        ss_metrics_counter_inc(ss_metrics_counter_child(d->c_alerts, v));
    }
    if (d->fn)
        d->fn(ev, d->opaque);
}

static void evaluate(dmon_t *d, const dalert_eval_t *e, int64_t now) {
    if (d->rc < 0)
        return;
    int rc = dalert_evaluate(d->alerts, e, now, on_alert, d, d->err);
    if (rc < 0)
        d->rc = rc;
}

static void day_text(int64_t ms, char *out, size_t size) {
    char b[40];
    dalert_rfc3339(ms, b, sizeof(b));
    snprintf(out, size, "%.10s", b);
}

static void quality_label(double p, int label, int64_t t_ms, void *opaque) {
    (void)t_ms;
    dmon_t *d = opaque;
    if (d->qn == d->qcap) {
        d->qcap = d->qcap ? d->qcap * 2 : 256;
        d->qp = ss_xrealloc(d->qp, d->qcap * sizeof(double));
        d->qy = ss_xrealloc(d->qy, d->qcap * sizeof(int));
    }
    d->qp[d->qn] = p;
    d->qy[d->qn] = label;
    d->qn++;
}

static void judge_quality(dmon_t *d, const dwin_report_t *r) {
    dcust_release(d->cust, r->end_ms, quality_label, d);
    ss_metrics_gauge_set(d->g_pending, (double)dcust_pending(d->cust));
    if (d->qn < d->o.quality_min_samples)
        return;
    double auc = dstat_roc_auc(d->qp, d->qy, d->qn);
    if (isnan(auc))
        return; /* one class only so far: keep collecting */
    ss_metrics_gauge_set(d->g_auc, auc);
    ss_metrics_gauge_set(d->g_brier, dstat_brier(d->qp, d->qy, d->qn));
    ss_metrics_gauge_set(d->g_ece, dstat_ece(d->qp, d->qy, d->qn, 10));
    ss_metrics_gauge_set(d->g_quality_n, (double)d->qn);
    if (isnan(d->auc_baseline)) {
        d->auc_baseline = auc; /* no artifact metric: the first realised AUC is the baseline */
        ss_metrics_gauge_set(d->g_auc_baseline, auc);
    }
    char sum[256], desc[512], day[16];
    day_text(r->start_ms, day, sizeof(day));
    snprintf(sum, sizeof(sum), "realised churn ROC-AUC %.3f vs baseline %.3f", auc,
             d->auc_baseline);
    snprintf(desc, sizeof(desc),
             "%zu churn scores whose %lld-day label window ended by %s: ROC-AUC %.4f, Brier %.4f, "
             "ECE %.4f; baseline ROC-AUC %.4f",
             d->qn, (long long)(d->o.cust.horizon_ms ? d->o.cust.horizon_ms / DWIN_DAY_MS : 90),
             day, auc, dstat_brier(d->qp, d->qy, d->qn), dstat_ece(d->qp, d->qy, d->qn, 10),
             d->auc_baseline);
    dalert_label_t l[2] = {{"model_version", d->model_version}, {"service", "drift"}};
    dalert_eval_t e = {.name = "ModelQualityDrop",
                       .labels = l,
                       .n_labels = 2,
                       .value = d->auc_baseline - auc,
                       .warning = d->o.auc_drop_warning,
                       .critical = d->o.auc_drop_critical,
                       .dir = DALERT_ABOVE,
                       .since_ms = r->start_ms,
                       .summary = sum,
                       .description = desc};
    evaluate(d, &e, r->end_ms);
    d->qn = 0;
}

static void judge_quality_data(dmon_t *d, const dwin_report_t *r) {
    char sum[256], desc[512], day[16];
    day_text(r->start_ms, day, sizeof(day));
    const char *src = "customer-features";
    if (r->dq_judged && !isnan(r->volume_ratio)) {
        snprintf(desc, sizeof(desc),
                 "%llu events in the window of %s; median of the previous %d windows %.1f",
                 (unsigned long long)r->events, day, r->history, r->volume_median);
        dalert_label_t l[2] = {{"service", "drift"}, {"source", src}};
        if (d->o.volume_low > 0) {
            snprintf(sum, sizeof(sum), "event volume %.2f x its recent median (low)",
                     r->volume_ratio);
            dalert_eval_t e = {.name = "EventVolumeLow",
                               .labels = l,
                               .n_labels = 2,
                               .value = r->volume_ratio,
                               .warning = d->o.volume_low,
                               .critical = NAN,
                               .dir = DALERT_BELOW,
                               .since_ms = r->start_ms,
                               .summary = sum,
                               .description = desc};
            evaluate(d, &e, r->end_ms);
        }
        if (d->o.volume_high > 0) {
            snprintf(sum, sizeof(sum), "event volume %.2f x its recent median (high)",
                     r->volume_ratio);
            dalert_eval_t e = {.name = "EventVolumeHigh",
                               .labels = l,
                               .n_labels = 2,
                               .value = r->volume_ratio,
                               .warning = d->o.volume_high,
                               .critical = NAN,
                               .dir = DALERT_ABOVE,
                               .since_ms = r->start_ms,
                               .summary = sum,
                               .description = desc};
            evaluate(d, &e, r->end_ms);
        }
    }
    if (!isnan(r->dlq_rate)) {
        double rel = isnan(r->dlq_rate_median) ? 0 : d->o.dlq_ratio * r->dlq_rate_median;
        double w = fmax(d->o.dlq_rate_warning, rel), c = fmax(d->o.dlq_rate_critical, rel);
        snprintf(sum, sizeof(sum), "dead-letter rate %.2f%%", 100 * r->dlq_rate);
        snprintf(desc, sizeof(desc),
                 "%llu dead letters and %llu events in the window of %s; median rate of the "
                 "previous windows %.4f",
                 (unsigned long long)r->dlq, (unsigned long long)r->events, day,
                 r->dlq_rate_median);
        dalert_label_t l[2] = {{"service", "drift"}, {"source", "transactions.dlq"}};
        dalert_eval_t e = {.name = "DeadLetterRate",
                           .labels = l,
                           .n_labels = 2,
                           .value = r->dlq_rate,
                           .warning = w,
                           .critical = c,
                           .dir = DALERT_ABOVE,
                           .since_ms = r->start_ms,
                           .summary = sum,
                           .description = desc};
        evaluate(d, &e, r->end_ms);
    }
}

static void on_close(dwin_t *w, const dwin_report_t *r, void *opaque) {
    (void)w;
    dmon_t *d = opaque;
    char sum[256], desc[512], day[16];
    day_text(r->start_ms, day, sizeof(day));
    ss_metrics_counter_inc(d->c_windows);
    ss_metrics_gauge_set(d->g_window_end, (double)r->end_ms / 1000.0);
    ss_metrics_gauge_set(d->g_events, (double)r->events);
    ss_metrics_gauge_set(d->g_dlq_rate, r->dlq_rate);
    ss_metrics_gauge_set(d->g_volume_ratio, r->volume_ratio);
    for (int i = 0; i < DMON_N_SERIES; i++) {
        if (d->widx[i] < 0)
            continue;
        const dwin_series_report_t *s = &r->series[d->widx[i]];
        gauges_t *g = &d->g[i];
        ss_metrics_gauge_set(g->n, (double)s->n);
        ss_metrics_gauge_set(g->mean, s->mean);
        ss_metrics_gauge_set(g->judged, s->judged);
        SS_LOG(LOG_DEBUG, "monitor",
               "window closed start=%s series=%s n=%llu mean=%.4g judged=%d learning=%d psi=%.4f "
               "ks_d=%.4f ks_p=%.3g",
               day, s->name, (unsigned long long)s->n, s->mean, s->judged, s->learning, s->psi,
               s->ks_d, s->ks_p);
        if (!s->judged)
            continue;
        ss_metrics_counter_inc(g->judged_total);
        ss_metrics_gauge_set(g->psi, s->psi);
        ss_metrics_gauge_set(g->ks_d, s->ks_d);
        ss_metrics_gauge_set(g->ks_p, s->ks_p);
        if (i == DMON_SERIES_HIGH_RISK)
            continue; /* its window mean (the share) is a gauge; the score carries the alert */
        int pred = i == DMON_SERIES_SCORE;
        snprintf(sum, sizeof(sum), "%s '%s': PSI %.3f in the window of %s",
                 pred ? "prediction" : "feature", s->name, s->psi, day);
        snprintf(desc, sizeof(desc),
                 "PSI %.4f on %zu reference-quantile bins (warning %.2f, critical %.2f); KS D %.4f "
                 "p %.3g; %llu values, mean %.4g; reference: %s",
                 s->psi, dwin_reference(d->win, (size_t)d->widx[i])->n_bins, d->o.psi_warning,
                 d->o.psi_critical, s->ks_d, s->ks_p, (unsigned long long)s->n, s->mean,
                 d->frozen[i] ? "model artifact" : "first windows of the stream");
        dalert_label_t l[3] = {
            {"feature", s->name}, {"model_version", d->model_version}, {"service", "drift"}};
        dalert_eval_t e = {.name = pred ? "PredictionDrift" : "FeatureDrift",
                           .labels = l,
                           .n_labels = 3,
                           .value = s->psi,
                           .warning = d->o.psi_warning,
                           .critical = d->o.psi_critical,
                           .dir = DALERT_ABOVE,
                           .since_ms = r->start_ms,
                           .summary = sum,
                           .description = desc};
        evaluate(d, &e, r->end_ms);
    }
    judge_quality_data(d, r);
    judge_quality(d, r);
    ss_metrics_gauge_set(d->g_firing, (double)dalert_firing(d->alerts));
}

int dmon_advance(dmon_t *d, int64_t watermark_ms, dmon_alert_fn fn, void *opaque, ss_err_t *err) {
    d->fn = fn;
    d->opaque = opaque;
    d->rc = 0;
    d->err = err;
    int n = dwin_advance(d->win, watermark_ms, on_close, d);
    d->fn = NULL;
    d->opaque = NULL;
    d->err = NULL;
    return d->rc < 0 ? d->rc : n;
}

void dmon_foreach_active(dmon_t *d, dmon_alert_fn fn, void *opaque) {
    dalert_foreach_active(d->alerts, fn, opaque);
}
