/* report_page: the report's sections (see report_page.h). Pure. */
#include "report_page.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "churn_features.h"
#include "report_html.h"
#include "report_svg.h"
#include "ss_err.h"

const char *const rpage_section_ids[RPAGE_N_SECTIONS] = {"throughput", "churn-risk", "importance",
                                                         "forecasts", "psi"};

static const char *const topic_colors[RDATA_N_TOPICS] = {"#4e79a7", "#9c755f", "#f28e2b",
                                                         "#e15759", "#59a14f", "#b07aa1"};

/* snprintf into a fixed table cell, truncating on purpose. */
static void __attribute__((format(printf, 3, 4)))
cell(char *dst, size_t size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, size, fmt, ap);
    va_end(ap);
}

static void fmt_ts(int64_t ms, char *out, size_t size) {
    char day[16], tod[16];
    rsvg_fmt_time(ms, RSVG_DAY_MS, day, sizeof day);
    rsvg_fmt_time(ms, 1000, tod, sizeof tod);
    snprintf(out, size, "%s %s", day, tod);
}

static void bucket_text(int64_t b, char *out, size_t size) {
    if (b % RSVG_DAY_MS == 0)
        snprintf(out, size, "%lld d", (long long)(b / RSVG_DAY_MS));
    else if (b % 3600000 == 0)
        snprintf(out, size, "%lld h", (long long)(b / 3600000));
    else if (b % 60000 == 0)
        snprintf(out, size, "%lld min", (long long)(b / 60000));
    else if (b % 1000 == 0)
        snprintf(out, size, "%lld s", (long long)(b / 1000));
    else
        snprintf(out, size, "%lld ms", (long long)b);
}

static int64_t floor_to(int64_t x, int64_t b) {
    int64_t q = x / b;
    if (x % b != 0 && x < 0)
        q--;
    return q * b;
}

/* ---- 1. throughput and lag ---------------------------------------------------------------------
 */

static int section_throughput(ss_buf_t *out, const rdata_t *d, const rpage_opts_t *o) {
    static const int shown[] = {RDATA_TXN, RDATA_FEAT, RDATA_SCORE, RDATA_FCST};
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    int charts = 0;
    char bt[32], title[256];

    rhtml_section_begin(out, rpage_section_ids[0], "1. Throughput and consumer lag");
    for (size_t k = 0; k < sizeof(shown) / sizeof(shown[0]); k++) {
        const rdata_vec_t *v = &d->ts[shown[k]];
        for (size_t i = 0; i < v->n; i++) {
            lo = v->v[i] < lo ? v->v[i] : lo;
            hi = v->v[i] > hi ? v->v[i] : hi;
        }
    }
    size_t maxb = o->max_time_buckets ? o->max_time_buckets : 90;
    int64_t bucket = lo <= hi ? rdata_pick_bucket(hi - lo, maxb) : 60000;
    bucket_text(bucket, bt, sizeof bt);
    rhtml_para(out, "note",
               "Messages per %s bucket of their Kafka timestamp (the time the producing service "
               "wrote them, UTC wall clock), for every message on the topics from the first "
               "offset to the end at the time of the report.",
               bt);
    size_t nb = lo <= hi ? (size_t)((hi - floor_to(lo, bucket)) / bucket + 1) : 0;
    int64_t t0 = lo <= hi ? floor_to(lo, bucket) : 0;
    double *x = ss_xcalloc(nb + 1, sizeof(double)), *y = ss_xcalloc((nb + 1) * 4, sizeof(double));
    rsvg_series_t s[4];
    size_t ns = 0;
    for (size_t i = 0; i < nb; i++)
        x[i] = (double)(t0 + (int64_t)i * bucket + bucket / 2);
    for (size_t k = 0; k < 4; k++) {
        const rdata_vec_t *v = &d->ts[shown[k]];
        if (!v->n)
            continue;
        rdata_bucket_counts(v->v, v->n, t0, bucket, nb, y + ns * (nb + 1));
        s[ns] = (rsvg_series_t){.name = d->topic[shown[k]],
                                .color = topic_colors[shown[k]],
                                .x = x,
                                .y = y + ns * (nb + 1),
                                .n = nb,
                                .markers = nb <= 40};
        ns++;
    }
    snprintf(title, sizeof title, "Messages produced per %s, by topic", bt);
    char ylab[64];
    snprintf(ylab, sizeof ylab, "messages per %s", bt);
    rsvg_chart_t c = {.title = title,
                      .x_label = "Kafka message timestamp (UTC)",
                      .y_label = ylab,
                      .x_kind = RSVG_X_TIME_MS,
                      .y_zero = 1,
                      .no_data = "no messages on transactions, customer-features, churn-scores or "
                                 "demand-forecasts"};
    charts += rsvg_line_chart(out, &c, s, ns) > 0;

    /* Backlog at the end of each bucket. */
    int64_t *at = ss_xcalloc(nb + 1, sizeof(int64_t));
    double *backlog = ss_xcalloc(nb + 1, sizeof(double));
    for (size_t i = 0; i < nb; i++)
        at[i] = t0 + (int64_t)(i + 1) * bucket - 1;
    rdata_backlog(d, at, nb, backlog);
    int any_cust = 0;
    for (size_t p = 0; p < d->n_parts && !any_cust; p++)
        for (size_t i = 0; i < d->parts[p].n && !any_cust; i++)
            any_cust = d->parts[p].ts[i] >= 0;
    rhtml_para(out, "note",
               "Consumer lag of the feature service, in messages: at the end of each bucket, the "
               "customer transactions already on '%s' whose outcome was not yet produced. The "
               "outcome is the CustomerFeatures event that names the transaction by its "
               "source_partition and source_offset, or the dead letter on '%s' that names it. "
               "Anonymous sales produce no CustomerFeatures and are left out; a transaction the "
               "service dropped as a duplicate stays in the backlog.",
               d->topic[RDATA_TXN], d->topic[RDATA_DLQ]);
    rsvg_series_t bs = {.name = "backlog (customer transactions)",
                        .color = "#4e79a7",
                        .x = x,
                        .y = backlog,
                        .n = any_cust ? nb : 0};
    rsvg_chart_t bc = {.title = "Feature-service lag: transactions waiting for their features",
                       .x_label = "Kafka message timestamp (UTC)",
                       .y_label = "messages behind",
                       .x_kind = RSVG_X_TIME_MS,
                       .y_zero = 1,
                       .height = 280,
                       .no_data = "no customer transactions on the transactions topic"};
    charts += rsvg_line_chart(out, &bc, &bs, 1) > 0;

    double *p50 = ss_xcalloc(nb + 1, sizeof(double)), *mx = ss_xcalloc(nb + 1, sizeof(double));
    rdata_lag_stats(d, t0, bucket, nb, p50, mx);
    rsvg_series_t ls[2] = {{.name = "median",
                            .color = "#4e79a7",
                            .x = x,
                            .y = p50,
                            .n = d->lag_at.n ? nb : 0,
                            .markers = nb <= 40},
                           {.name = "maximum",
                            .color = "#e15759",
                            .x = x,
                            .y = mx,
                            .n = d->lag_at.n ? nb : 0,
                            .dashed = 1}};
    snprintf(title, sizeof title,
             "End-to-end latency: transaction to customer-features, per %s bucket", bt);
    rsvg_chart_t lc = {.title = title,
                       .x_label = "customer-features timestamp (UTC)",
                       .y_label = "seconds",
                       .x_kind = RSVG_X_TIME_MS,
                       .y_zero = 1,
                       .height = 280,
                       .no_data = "no customer-features event could be matched to its transaction"};
    charts += rsvg_line_chart(out, &lc, ls, 2) > 0;

    /* The table of what was read. */
    const char *head[] = {"topic", "messages", "undecodable", "first", "last", "note"};
    char cells[RDATA_N_TOPICS][6][160];
    const char *cp[RDATA_N_TOPICS * 6];
    for (int t = 0; t < RDATA_N_TOPICS; t++) {
        const rdata_vec_t *v = &d->ts[t];
        int64_t a = INT64_MAX, b = INT64_MIN;
        for (size_t i = 0; i < v->n; i++) {
            a = v->v[i] < a ? v->v[i] : a;
            b = v->v[i] > b ? v->v[i] : b;
        }
        cell(cells[t][0], sizeof cells[t][0], "%s", d->topic[t]);
        cell(cells[t][1], sizeof cells[t][1], "%zu", v->n);
        cell(cells[t][2], sizeof cells[t][2], "%llu", (unsigned long long)d->bad[t]);
        if (v->n) {
            fmt_ts(a, cells[t][3], sizeof cells[t][3]);
            fmt_ts(b, cells[t][4], sizeof cells[t][4]);
        } else {
            cell(cells[t][3], sizeof cells[t][3], "-");
            cell(cells[t][4], sizeof cells[t][4], "-");
        }
        cell(cells[t][5], sizeof cells[t][5], "%s", d->note[t]);
        for (int k = 0; k < 6; k++)
            cp[t * 6 + k] = cells[t][k];
    }
    rhtml_table(out, head, 6, cp, RDATA_N_TOPICS);
    rhtml_section_end(out);
    free(x);
    free(y);
    free(at);
    free(backlog);
    free(p50);
    free(mx);
    return charts;
}

/* ---- 2. churn risk mix
 * --------------------------------------------------------------------------- */

static int64_t day_of(int64_t ms) { return floor_to(ms, RSVG_DAY_MS) / RSVG_DAY_MS; }

/* Smallest of 1, 2, 7, 14, 28, 91, 364 days giving at most max windows over ndays days. */
static int64_t pick_days(int64_t ndays, size_t max) {
    static const int64_t w[] = {1, 2, 7, 14, 28, 91, 364};
    for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
        if ((ndays + w[i] - 1) / w[i] <= (int64_t)max)
            return w[i];
    return 364;
}

static int section_risk(ss_buf_t *out, const rdata_t *d) {
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    uint64_t tot[3] = {0, 0, 0};
    rhtml_section_begin(out, rpage_section_ids[1], "2. Churn risk mix over time");
    for (size_t i = 0; i < d->score_t.n; i++) {
        int64_t day = day_of(d->score_t.v[i]);
        lo = day < lo ? day : lo;
        hi = day > hi ? day : hi;
    }
    int64_t w = lo <= hi ? pick_days(hi - lo + 1, 120) : 1;
    size_t nw = lo <= hi ? (size_t)((hi - lo) / w + 1) : 0;
    double *x = ss_xcalloc(nw + 1, sizeof(double)), *v = ss_xcalloc(3 * (nw + 1), sizeof(double));
    for (size_t i = 0; i < nw; i++)
        x[i] = (double)(lo + (int64_t)i * w);
    for (size_t i = 0; i < d->score_t.n; i++) {
        size_t k = (size_t)((day_of(d->score_t.v[i]) - lo) / w);
        int r = (int)d->score_risk.v[i];
        if (r < 0 || r > 2 || k >= nw)
            continue;
        v[(size_t)(2 - r) * (nw + 1) + k] += 1; /* layer 0 = high */
        tot[r]++;
    }
    rhtml_para(out, "note",
               "Churn scores on '%s' counted per %lld-day window of their event time (scored_at: "
               "the triggering event's time, or the inactivity sweep's clock), by risk level. "
               "Each bar holds every score produced in the window, including re-scores of the "
               "same customer.",
               d->topic[RDATA_SCORE], (long long)w);
    rsvg_layer_t layers[3] = {{"high", "#e15759", v},
                              {"medium", "#f28e2b", v + (nw + 1)},
                              {"low", "#59a14f", v + 2 * (nw + 1)}};
    char ylab[64];
    snprintf(ylab, sizeof ylab, w == 1 ? "scores per day" : "scores per %lld days", (long long)w);
    rsvg_chart_t c = {.title = "Churn scores by risk level",
                      .x_label = "event-time day (scored_at, UTC)",
                      .y_label = ylab,
                      .x_kind = RSVG_X_DAY,
                      .no_data = "no events on the churn-scores topic"};
    int charts = rsvg_stacked_bars(out, &c, x, nw, (double)w, layers, 3) > 0;
    uint64_t all = tot[0] + tot[1] + tot[2];
    if (all)
        rhtml_para(out, NULL,
                   "%llu scores: high %llu (%.1f %%), medium %llu (%.1f %%), low %llu (%.1f %%).",
                   (unsigned long long)all, (unsigned long long)tot[2],
                   100.0 * (double)tot[2] / (double)all, (unsigned long long)tot[1],
                   100.0 * (double)tot[1] / (double)all, (unsigned long long)tot[0],
                   100.0 * (double)tot[0] / (double)all);
    rhtml_section_end(out);
    free(x);
    free(v);
    return charts;
}

/* ---- 3. importance
 * -------------------------------------------------------------------------------- */

static int section_importance(ss_buf_t *out, const rdata_t *d) {
    rhtml_section_begin(out, rpage_section_ids[2], "3. Churn model feature importance");
    double share[CHURN_MAX_FEATURES], sum = 0;
    const char *names[CHURN_MAX_FEATURES];
    size_t n = d->has_model ? d->meta.n_features : 0;
    for (size_t i = 0; i < n; i++)
        sum += d->gain[i] > 0 ? d->gain[i] : 0;
    for (size_t i = 0; i < n; i++) {
        names[i] = d->meta.features[i];
        share[i] = sum > 0 && d->gain[i] > 0 ? 100.0 * d->gain[i] / sum : 0;
    }
    if (d->has_model) {
        rhtml_para(out, "note",
                   "Share of the total gain (XGBoost importance_type total_gain, read from the "
                   "booster of the model artifact with XGBoosterFeatureScore) per feature: how "
                   "much the splits on each feature reduced the training loss. Model '%s' in "
                   "'%s', trained %s.",
                   d->meta.version, d->model_dir,
                   d->meta.trained_at[0] ? d->meta.trained_at : "at an unknown time");
        if (d->meta.has_metrics)
            rhtml_para(out, "note",
                       "Evaluation in the artifact: ROC-AUC %.3f, PR-AUC %.3f (logistic baseline "
                       "%.3f / %.3f) on %llu rows.",
                       d->meta.metrics.roc_auc, d->meta.metrics.pr_auc,
                       d->meta.metrics.base_roc_auc, d->meta.metrics.base_pr_auc,
                       (unsigned long long)d->meta.metrics.n_eval);
    }
    rsvg_chart_t c = {.title = "Feature importance (share of total gain)",
                      .x_label = "share of total gain (%)",
                      .no_data = d->has_model
                                     ? "the model has no split with gain"
                                     : (d->model_msg[0] ? d->model_msg : "no model artifact")};
    int charts = rsvg_hbar_chart(out, &c, names, share, n, " %") > 0;
    rhtml_section_end(out);
    return charts;
}

/* ---- 4. forecasts -------------------------------------------------------------------------------
 */

static int section_forecasts(ss_buf_t *out, const rdata_t *d) {
    rhtml_section_begin(out, rpage_section_ids[3], "4. Demand forecast vs actual");
    size_t n = 0, with_fc = 0;
    rdata_fcst_t **sel = ss_xcalloc(d->n_fc + 1, sizeof(*sel));
    for (size_t i = 0; i < d->n_fc; i++) {
        with_fc += d->fc[i].has_forecast;
        if (d->fc[i].selected)
            sel[n++] = &d->fc[i];
    }
    qsort(sel, n, sizeof(*sel), rdata_fcst_cmp);
    rhtml_para(out, "note",
               "For each chosen (store, product): the latest DemandForecast on '%s' (largest "
               "generated_for_day) as its mean and interval band, and the actual units sold per "
               "event-time day from the feature store's demand hashes in Redis (dm:{store:day} "
               "field p:<product>; a day without a field sold 0), up to the last complete day "
               "before the store's watermark. %zu pairs have a forecast.",
               d->topic[RDATA_FCST], with_fc);
    int charts = 0;
    if (n == 0) {
        rsvg_chart_t c = {.title = "Forecast vs actual",
                          .no_data = with_fc ? "no pair selected"
                                             : "no events on the demand-forecasts topic"};
        rsvg_line_chart(out, &c, NULL, 0);
    }
    for (size_t k = 0; k < n; k++) {
        const rdata_fcst_t *f = sel[k];
        double *ax = ss_xcalloc(f->n_act + 1, sizeof(double));
        double fx[RDATA_MAX_HORIZON];
        for (size_t i = 0; i < f->n_act; i++)
            ax[i] = (double)(f->act_day0 + (int32_t)i);
        for (size_t i = 0; i < f->n; i++)
            fx[i] = f->day[i];
        char title[256], gen[16], band[48];
        rsvg_day_text(f->gen_day, gen, sizeof gen);
        snprintf(band, sizeof band, "%.0f %% interval",
                 100 * (f->interval_level > 0 ? f->interval_level : 0.95));
        if (f->has_forecast)
            snprintf(title, sizeof title, "Store %s, product %s: %s forecast after %s vs actual",
                     f->store, f->product, f->model, gen);
        else
            snprintf(title, sizeof title, "Store %s, product %s: actual (no forecast)", f->store,
                     f->product);
        rsvg_series_t s[2] = {{.name = "actual units",
                               .color = "#222222",
                               .x = ax,
                               .y = f->act,
                               .n = f->act ? f->n_act : 0,
                               .markers = 1},
                              {.name = "forecast mean",
                               .color = "#4e79a7",
                               .x = fx,
                               .y = f->mean,
                               .n = f->has_forecast ? f->n : 0,
                               .lo = f->lower,
                               .hi = f->upper,
                               .band_name = band,
                               .dashed = 1}};
        rsvg_chart_t c = {.title = title,
                          .x_label = "event-time day (UTC)",
                          .y_label = "units per day",
                          .x_kind = RSVG_X_DAY,
                          .y_zero = 1,
                          .height = 300,
                          .no_data = "neither a forecast nor actual demand for this pair"};
        charts += rsvg_line_chart(out, &c, s, 2) > 0;
        free(ax);
    }
    if (n) {
        const char *head[] = {"store", "product",     "forecast for day after",
                              "model", "holdout MAE", "units in the 28 days up to it"};
        char(*cells)[6][64] = ss_xcalloc(n, sizeof(*cells));
        const char **cp = ss_xcalloc(n * 6, sizeof(*cp));
        for (size_t k = 0; k < n; k++) {
            const rdata_fcst_t *f = sel[k];
            cell(cells[k][0], 64, "%s", f->store);
            cell(cells[k][1], 64, "%s", f->product);
            if (f->has_forecast)
                rsvg_day_text(f->gen_day, cells[k][2], 64);
            else
                cell(cells[k][2], 64, "-");
            cell(cells[k][3], 64, "%s", f->has_forecast ? f->model : "-");
            if (isfinite(f->holdout_mae))
                cell(cells[k][4], 64, "%.2f", f->holdout_mae);
            else
                cell(cells[k][4], 64, "-");
            if (isfinite(f->volume))
                cell(cells[k][5], 64, "%.0f", f->volume);
            else
                cell(cells[k][5], 64, "-");
            for (int j = 0; j < 6; j++)
                cp[k * 6 + j] = cells[k][j];
        }
        rhtml_table(out, head, 6, cp, n);
        free(cells);
        free(cp);
    }
    rhtml_section_end(out);
    free(sel);
    return charts;
}

/* ---- 5. PSI
 * --------------------------------------------------------------------------------------- */

static int section_psi(ss_buf_t *out, const rdata_t *d, const rpage_opts_t *o) {
    rhtml_section_begin(out, rpage_section_ids[4], "5. Feature drift: PSI per feature and window");
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; i < d->feat_t.n; i++) {
        int64_t day = day_of(d->feat_t.v[i]);
        lo = day < lo ? day : lo;
        hi = day > hi ? day : hi;
    }
    size_t maxw = o->psi_max_windows ? o->psi_max_windows : 40;
    int64_t w = lo <= hi ? pick_days(hi - lo + 1, maxw) : 1;
    size_t nw = lo <= hi ? (size_t)((hi - lo) / w + 1) : 0;
    size_t min_n = o->psi_min_samples ? o->psi_min_samples : 100;
    double warn = o->psi_warning > 0 ? o->psi_warning : 0.1;
    double crit = o->psi_critical > 0 ? o->psi_critical : 0.25;
    double *v = ss_xcalloc(RDATA_N_FEATURES * (nw + 1), sizeof(double));
    size_t rows_idx[CHURN_MAX_FEATURES];
    size_t nr = nw ? rdata_psi(d, lo, w, nw, min_n, v, rows_idx) : 0;
    const char *rows[CHURN_MAX_FEATURES];
    for (size_t r = 0; r < nr; r++)
        rows[r] = churn_feature_names[rows_idx[r]];
    char(*cols)[16] = ss_xcalloc(nw + 1, sizeof(*cols));
    const char **cp = ss_xcalloc(nw + 1, sizeof(*cp));
    for (size_t i = 0; i < nw; i++) {
        rsvg_day_text(lo + (int64_t)i * w, cols[i], sizeof cols[i]);
        cp[i] = cols[i];
    }
    rhtml_para(out, "note",
               "The drift service publishes PSI only in its alerts and as gauges of the last "
               "window, so this report computes PSI itself: every CustomerFeatures event on '%s' "
               "goes to the %lld-day window of its as_of event time; each feature's values are "
               "counted into the model artifact's 10 reference-quantile bins and compared with "
               "the reference shares, with the drift service's own functions (drift_stats: "
               "dstat_bins_from_edges, dstat_bin_index, dstat_psi_counts; empty-bin floor 1e-4). "
               "A window with fewer than %zu values of a feature is not judged. Most features are "
               "cumulative (frequency, total_spent, ...), so a stream that starts from empty "
               "histories drifts from a training reference by construction (docs/drift.md).",
               d->topic[RDATA_FEAT], (long long)w, min_n);
    char xl[96];
    snprintf(xl, sizeof xl, "start of each %lld-day window of as_of (UTC)", (long long)w);
    rsvg_chart_t c = {
        .title = "PSI against the model's reference distributions",
        .x_label = xl,
        .no_data = !d->has_model            ? (d->model_msg[0] ? d->model_msg : "no model artifact")
                   : !d->meta.has_reference ? "the model artifact has no reference distributions"
                   : d->feat_t.n == 0       ? "no events on the customer-features topic"
                                            : "no window has enough values"};
    int charts = rsvg_heatmap(out, &c, rows, nr, cp, nw, v, warn, crit) > 0;

    rhtml_h3(out, "Alerts published by the drift service");
    if (d->n_alerts == 0) {
        rhtml_para(out, "note", "No events on '%s'%s%s.", d->topic[RDATA_ALERT],
                   d->note[RDATA_ALERT][0] ? ": " : "", d->note[RDATA_ALERT]);
    } else {
        /* The latest event of each alert (name and feature/source), at most 40, in topic order:
         * a firing alert is re-emitted every window, so the raw tail repeats itself. */
        size_t *pick = ss_xcalloc(d->n_alerts, sizeof(*pick)), n = 0;
        for (size_t i = d->n_alerts; i-- > 0 && n < 40;) {
            int seen = 0;
            for (size_t j = 0; j < n && !seen; j++)
                seen = strcmp(d->alerts[pick[j]].name, d->alerts[i].name) == 0 &&
                       strcmp(d->alerts[pick[j]].feature, d->alerts[i].feature) == 0;
            if (!seen)
                pick[n++] = i;
        }
        const char *head[] = {"alert",     "feature / source", "severity", "status",
                              "starts at", "ends at",          "value",    "threshold"};
        char(*cells)[8][48] = ss_xcalloc(n, sizeof(*cells));
        const char **tp = ss_xcalloc(n * 8, sizeof(*tp));
        for (size_t k = 0; k < n; k++) {
            const rdata_alert_t *a = &d->alerts[pick[n - 1 - k]];
            cell(cells[k][0], 48, "%s", a->name);
            cell(cells[k][1], 48, "%s", a->feature);
            cell(cells[k][2], 48, "%s", a->severity);
            cell(cells[k][3], 48, "%s", a->status);
            fmt_ts(a->starts_at, cells[k][4], 48);
            if (a->ends_at >= 0)
                fmt_ts(a->ends_at, cells[k][5], 48);
            else
                cell(cells[k][5], 48, "-");
            cell(cells[k][6], 48, "%.3f", a->value);
            cell(cells[k][7], 48, "%.3f", a->threshold);
            for (int j = 0; j < 8; j++)
                tp[k * 8 + j] = cells[k][j];
        }
        rhtml_para(out, "note",
                   "%zu alert events on '%s'; the latest event of each of %zu alerts (alert name "
                   "and feature or source%s):",
                   d->n_alerts, d->topic[RDATA_ALERT], n, n == 40 ? ", at most 40" : "");
        rhtml_table(out, head, 8, tp, n);
        free(cells);
        free(tp);
        free(pick);
    }
    rhtml_section_end(out);
    free(v);
    free(cols);
    free(cp);
    return charts;
}

int rpage_render(ss_buf_t *out, const rdata_t *d, const rpage_opts_t *opts) {
    rpage_opts_t o = opts ? *opts : (rpage_opts_t){0};
    char sub[768], when[48] = "";
    if (o.generated_ms > 0)
        fmt_ts(o.generated_ms, when, sizeof when);
    snprintf(sub, sizeof sub, "Generated %s UTC", when);
    rhtml_begin(out, o.title ? o.title : "streamscore report", when[0] ? sub : NULL);
    if (o.source && *o.source)
        rhtml_para(out, "sub", "Sources: %s", o.source);
    ss_buf_adds(out, "<nav>");
    static const char *const names[RPAGE_N_SECTIONS] = {
        "throughput and lag", "churn risk mix", "feature importance", "forecast vs actual", "PSI"};
    for (int i = 0; i < RPAGE_N_SECTIONS; i++) {
        ss_buf_addf(out, "<a href=\"#%s\">", rpage_section_ids[i]);
        rsvg_escape(out, names[i]);
        ss_buf_adds(out, "</a>");
    }
    ss_buf_adds(out, "</nav>\n");
    int charts = 0;
    charts += section_throughput(out, d, &o);
    charts += section_risk(out, d);
    charts += section_importance(out, d);
    charts += section_forecasts(out, d);
    charts += section_psi(out, d, &o);
    rhtml_end(out);
    return charts;
}
