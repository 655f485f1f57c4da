/* report_data: collection and aggregation of what streamscore-report draws (see report_data.h). */
#include "report_data.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "churn_features.h"
#include "drift_stats.h"
#include "report_svg.h"
#include "ss_demand.h"
#include "ss_kafka.h"
#include "ss_log.h"

static const char *const default_topics[RDATA_N_TOPICS] = {"transactions",      "transactions.dlq",
                                                           "customer-features", "churn-scores",
                                                           "demand-forecasts",  "drift-alerts"};

static void vec_push(rdata_vec_t *v, int64_t x) {
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 256;
        v->v = ss_xrealloc(v->v, v->cap * sizeof(*v->v));
    }
    v->v[v->n++] = x;
}

static void copy_str(char *dst, size_t size, const char *src) {
    snprintf(dst, size, "%s", src ? src : "");
}

/* snprintf into a fixed field, truncating on purpose (notes and messages). */
static void __attribute__((format(printf, 3, 4)))
note_set(char *dst, size_t size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, size, fmt, ap);
    va_end(ap);
}

void rdata_init(rdata_t *d, const char *const *topics) {
    memset(d, 0, sizeof(*d));
    for (int t = 0; t < RDATA_N_TOPICS; t++)
        copy_str(d->topic[t], sizeof d->topic[t],
                 topics && topics[t] && *topics[t] ? topics[t] : default_topics[t]);
}

void rdata_release(rdata_t *d) {
    for (int t = 0; t < RDATA_N_TOPICS; t++)
        free(d->ts[t].v);
    for (size_t i = 0; i < d->n_parts; i++) {
        free(d->parts[i].ts);
        free(d->parts[i].done_ts);
    }
    free(d->parts);
    free(d->lag_at.v);
    free(d->lag_ms.v);
    free(d->feat_t.v);
    free(d->feat_v);
    free(d->score_t.v);
    free(d->score_risk.v);
    for (size_t i = 0; i < d->n_fc; i++)
        free(d->fc[i].act);
    free(d->fc);
    free(d->fc_index);
    free(d->alerts);
    memset(d, 0, sizeof(*d));
}

/* ---- adders ---------------------------------------------------------------------------------- */

void rdata_add_msg(rdata_t *d, int t, int64_t ts_ms) {
    if (t >= 0 && t < RDATA_N_TOPICS && ts_ms >= 0)
        vec_push(&d->ts[t], ts_ms);
}

/* Offsets far from the ones already stored are not tracked (a corrupt offset must not make us
 * allocate gigabytes); 50 M per partition is far above the mock's retention. */
#define RDATA_MAX_SPAN 50000000

static int64_t *slot(rdata_t *d, int32_t partition, int64_t offset, int create, int64_t **done) {
    if (partition < 0 || partition > 100000 || offset < 0)
        return NULL;
    if ((size_t)partition >= d->n_parts) {
        if (!create)
            return NULL;
        d->parts = ss_xrealloc(d->parts, ((size_t)partition + 1) * sizeof(*d->parts));
        memset(d->parts + d->n_parts, 0, ((size_t)partition + 1 - d->n_parts) * sizeof(*d->parts));
        d->n_parts = (size_t)partition + 1;
    }
    rdata_part_t *p = &d->parts[partition];
    if (p->n == 0) {
        if (!create)
            return NULL;
        p->base = offset;
    }
    if (offset < p->base)
        return NULL;
    size_t i = (size_t)(offset - p->base);
    if (i >= p->n) {
        if (!create || i >= RDATA_MAX_SPAN)
            return NULL;
        if (i >= p->cap) {
            size_t cap = p->cap ? p->cap : 1024;
            while (cap <= i)
                cap *= 2;
            p->ts = ss_xrealloc(p->ts, cap * sizeof(*p->ts));
            p->done_ts = ss_xrealloc(p->done_ts, cap * sizeof(*p->done_ts));
            p->cap = cap;
        }
        for (size_t k = p->n; k <= i; k++)
            p->ts[k] = p->done_ts[k] = -1;
        p->n = i + 1;
    }
    *done = &p->done_ts[i];
    return &p->ts[i];
}

void rdata_add_txn(rdata_t *d, int32_t partition, int64_t offset, int64_t ts_ms, int is_customer) {
    int64_t *done;
    int64_t *ts = slot(d, partition, offset, 1, &done);
    if (ts)
        *ts = is_customer && ts_ms >= 0 ? ts_ms : -1;
}

int64_t rdata_add_outcome(rdata_t *d, int32_t partition, int64_t offset, int64_t ts_ms) {
    int64_t *done;
    int64_t *ts = slot(d, partition, offset, 0, &done);
    if (!ts || *ts < 0 || ts_ms < 0)
        return -1;
    if (*done < 0 || ts_ms < *done)
        *done = ts_ms;
    return ts_ms - *ts;
}

void rdata_add_features(rdata_t *d, int64_t ts_ms, int32_t src_partition, int64_t src_offset,
                        int64_t as_of_ms, const double *values) {
    int64_t lag = rdata_add_outcome(d, src_partition, src_offset, ts_ms);
    if (lag >= 0) {
        vec_push(&d->lag_at, ts_ms);
        vec_push(&d->lag_ms, lag);
    }
    if (d->feat_t.n == d->feat_cap) {
        d->feat_cap = d->feat_cap ? d->feat_cap * 2 : 256;
        d->feat_v = ss_xrealloc(d->feat_v, d->feat_cap * RDATA_N_FEATURES * sizeof(double));
    }
    memcpy(d->feat_v + d->feat_t.n * RDATA_N_FEATURES, values, RDATA_N_FEATURES * sizeof(double));
    vec_push(&d->feat_t, as_of_ms);
}

void rdata_add_score(rdata_t *d, int64_t scored_at_ms, churn_risk_t risk) {
    vec_push(&d->score_t, scored_at_ms);
    vec_push(&d->score_risk, (int64_t)risk);
}

static uint64_t pair_hash(const char *store, const char *product) {
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = store; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL;
    for (const char *p = product; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return h;
}

static void index_put(rdata_t *d, size_t i) {
    size_t m = d->fc_slots - 1, h = (size_t)pair_hash(d->fc[i].store, d->fc[i].product) & m;
    while (d->fc_index[h])
        h = (h + 1) & m;
    d->fc_index[h] = i + 1;
}

rdata_fcst_t *rdata_find_forecast(rdata_t *d, const char *store, const char *product) {
    if (!d->fc_slots)
        return NULL;
    size_t m = d->fc_slots - 1, h = (size_t)pair_hash(store, product) & m;
    for (; d->fc_index[h]; h = (h + 1) & m) {
        rdata_fcst_t *f = &d->fc[d->fc_index[h] - 1];
        if (strcmp(f->store, store) == 0 && strcmp(f->product, product) == 0)
            return f;
    }
    return NULL;
}

static rdata_fcst_t *pair_entry(rdata_t *d, const char *store, const char *product, int *fresh) {
    rdata_fcst_t *f = rdata_find_forecast(d, store, product);
    *fresh = 0;
    if (f)
        return f;
    if (d->n_fc == d->cap_fc) {
        d->cap_fc = d->cap_fc ? d->cap_fc * 2 : 64;
        d->fc = ss_xrealloc(d->fc, d->cap_fc * sizeof(*d->fc));
    }
    if ((d->n_fc + 1) * 2 > d->fc_slots) {
        free(d->fc_index);
        d->fc_slots = d->fc_slots ? d->fc_slots * 2 : 128;
        d->fc_index = ss_xcalloc(d->fc_slots, sizeof(*d->fc_index));
        for (size_t i = 0; i < d->n_fc; i++)
            index_put(d, i);
    }
    f = &d->fc[d->n_fc];
    memset(f, 0, sizeof(*f));
    copy_str(f->store, sizeof f->store, store);
    copy_str(f->product, sizeof f->product, product);
    f->volume = NAN;
    f->holdout_mae = NAN;
    index_put(d, d->n_fc++);
    *fresh = 1;
    return f;
}

rdata_fcst_t *rdata_add_forecast(rdata_t *d, const char *store, const char *product,
                                 int32_t gen_day, const char *model, double holdout_mae,
                                 double interval_level, const int32_t *day, const double *mean,
                                 const double *lower, const double *upper, size_t n) {
    int fresh;
    rdata_fcst_t *f = pair_entry(d, store, product, &fresh);
    if (!fresh && f->has_forecast && gen_day < f->gen_day)
        return f;
    f->has_forecast = 1;
    f->gen_day = gen_day;
    copy_str(f->model, sizeof f->model, model);
    f->holdout_mae = holdout_mae;
    f->interval_level = interval_level;
    f->n = n > RDATA_MAX_HORIZON ? RDATA_MAX_HORIZON : n;
    for (size_t i = 0; i < f->n; i++) {
        f->day[i] = day[i];
        f->mean[i] = mean[i];
        f->lower[i] = lower[i];
        f->upper[i] = upper[i];
    }
    return f;
}

void rdata_add_alert(rdata_t *d, const rdata_alert_t *a) {
    if (d->n_alerts == d->cap_alerts) {
        d->cap_alerts = d->cap_alerts ? d->cap_alerts * 2 : 32;
        d->alerts = ss_xrealloc(d->alerts, d->cap_alerts * sizeof(*d->alerts));
    }
    d->alerts[d->n_alerts++] = *a;
}

void rdata_set_model(rdata_t *d, const churn_meta_t *meta, const double *gain) {
    d->meta = *meta;
    for (size_t i = 0; i < meta->n_features && i < CHURN_MAX_FEATURES; i++)
        d->gain[i] = gain ? gain[i] : 0;
    d->has_model = 1;
    d->model_msg[0] = 0;
}

/* ---- aggregations ------------------------------------------------------------------------------
 */

int64_t rdata_pick_bucket(int64_t span_ms, size_t max_buckets) {
    static const int64_t b[] = {100,      200,      500,      1000,      2000,      5000,
                                10000,    15000,    30000,    60000,     120000,    300000,
                                600000,   900000,   1800000,  3600000,   7200000,   10800000,
                                21600000, 43200000, 86400000, 604800000, 2419200000};
    size_t nb = sizeof(b) / sizeof(b[0]);
    if (max_buckets == 0)
        max_buckets = 1;
    for (size_t i = 0; i < nb; i++)
        if (span_ms / b[i] + 1 <= (int64_t)max_buckets)
            return b[i];
    return b[nb - 1];
}

void rdata_bucket_counts(const int64_t *v, size_t n, int64_t t0, int64_t bucket, size_t nb,
                         double *out) {
    for (size_t i = 0; i < nb; i++)
        out[i] = 0;
    if (bucket <= 0)
        return;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < t0)
            continue;
        int64_t k = (v[i] - t0) / bucket;
        if (k < (int64_t)nb)
            out[k] += 1;
    }
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Number of sorted[0..n) values <= t. */
static size_t count_le(const int64_t *sorted, size_t n, int64_t t) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sorted[mid] <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void rdata_backlog(const rdata_t *d, const int64_t *at, size_t n, double *out) {
    rdata_vec_t prod = {0}, done = {0};
    for (size_t p = 0; p < d->n_parts; p++) {
        for (size_t i = 0; i < d->parts[p].n; i++) {
            if (d->parts[p].ts[i] < 0)
                continue;
            vec_push(&prod, d->parts[p].ts[i]);
            if (d->parts[p].done_ts[i] >= 0)
                vec_push(&done, d->parts[p].done_ts[i]);
        }
    }
    if (prod.n)
        qsort(prod.v, prod.n, sizeof(int64_t), cmp_i64);
    if (done.n)
        qsort(done.v, done.n, sizeof(int64_t), cmp_i64);
    for (size_t i = 0; i < n; i++) {
        double b =
            (double)count_le(prod.v, prod.n, at[i]) - (double)count_le(done.v, done.n, at[i]);
        out[i] = b > 0 ? b : 0;
    }
    free(prod.v);
    free(done.v);
}

void rdata_lag_stats(const rdata_t *d, int64_t t0, int64_t bucket, size_t nb, double *p50,
                     double *max) {
    rdata_vec_t *per = ss_xcalloc(nb ? nb : 1, sizeof(*per));
    for (size_t i = 0; i < d->lag_at.n && bucket > 0; i++) {
        int64_t k = (d->lag_at.v[i] - t0) / bucket;
        if (d->lag_at.v[i] >= t0 && k < (int64_t)nb)
            vec_push(&per[k], d->lag_ms.v[i]);
    }
    for (size_t k = 0; k < nb; k++) {
        p50[k] = max[k] = NAN;
        if (!per[k].n)
            continue;
        qsort(per[k].v, per[k].n, sizeof(int64_t), cmp_i64);
        size_t n = per[k].n;
        double med = n % 2 ? (double)per[k].v[n / 2]
                           : ((double)per[k].v[n / 2 - 1] + (double)per[k].v[n / 2]) / 2;
        p50[k] = med / 1000.0;
        max[k] = (double)per[k].v[n - 1] / 1000.0;
        free(per[k].v);
    }
    free(per);
}

static int64_t day_of_ms(int64_t ms) {
    return ms >= 0 ? ms / RSVG_DAY_MS : -((-ms + RSVG_DAY_MS - 1) / RSVG_DAY_MS);
}

size_t rdata_psi(const rdata_t *d, int64_t day0, int64_t win_days, size_t nw, size_t min_samples,
                 double *out, size_t *rows) {
    if (!d->has_model || !d->meta.has_reference || win_days <= 0 || nw == 0)
        return 0;
    size_t nr = 0;
    for (size_t mf = 0; mf < d->meta.n_features; mf++) {
        int col = churn_feature_index(d->meta.features[mf]);
        const churn_refdist_t *ref = &d->meta.feature_ref[mf];
        dstat_bins_t b;
        ss_err_t err = SS_ERR_INIT;
        if (col < 0 || col >= RDATA_N_FEATURES || ref->n == 0 ||
            dstat_bins_from_edges(&b, ref->edges, ref->frac, CHURN_QBINS, ref->n, &err) < 0)
            continue;
        uint64_t *counts = ss_xcalloc(nw * b.n_bins, sizeof(uint64_t));
        uint64_t *tot = ss_xcalloc(nw, sizeof(uint64_t));
        for (size_t i = 0; i < d->feat_t.n; i++) {
            int64_t day = day_of_ms(d->feat_t.v[i]);
            if (day < day0)
                continue;
            int64_t w = (day - day0) / win_days;
            if (w >= (int64_t)nw)
                continue;
            int bin = dstat_bin_index(&b, d->feat_v[i * RDATA_N_FEATURES + (size_t)col]);
            if (bin < 0)
                continue;
            counts[(size_t)w * b.n_bins + (size_t)bin]++;
            tot[w]++;
        }
        for (size_t w = 0; w < nw; w++)
            out[nr * nw + w] = tot[w] >= min_samples && tot[w] > 0
                                   ? dstat_psi_counts(&b, counts + w * b.n_bins, 0)
                                   : NAN;
        rows[nr++] = (size_t)col;
        free(counts);
        free(tot);
    }
    return nr;
}

int rdata_fcst_cmp(const void *a, const void *b) {
    const rdata_fcst_t *x = *(rdata_fcst_t *const *)a, *y = *(rdata_fcst_t *const *)b;
    int xn = isnan(x->volume), yn = isnan(y->volume);
    if (xn != yn)
        return xn - yn;
    if (!xn && x->volume != y->volume)
        return x->volume < y->volume ? 1 : -1;
    int c = strcmp(x->store, y->store);
    return c ? c : strcmp(x->product, y->product);
}

int rdata_select_pairs(rdata_t *d, const char *pairs, size_t top_n, ss_err_t *err) {
    size_t n = 0;
    for (size_t i = 0; i < d->n_fc; i++)
        d->fc[i].selected = 0;
    if (pairs && *pairs) {
        char *copy = ss_xstrdup(pairs), *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            while (*tok == ' ')
                tok++;
            char *colon = strchr(tok, ':');
            if (!colon || colon == tok || !colon[1] || strlen(tok) > 2 * SS_ID_MAX) {
                ss_err_set(err, SS_ERR_INVAL, "pair '%s' is not store:product", tok);
                free(copy);
                return SS_ERR_INVAL;
            }
            *colon = 0;
            int fresh;
            rdata_fcst_t *f = pair_entry(d, tok, colon + 1, &fresh);
            if (!f->selected)
                n++;
            f->selected = 1;
        }
        free(copy);
        return (int)n;
    }
    rdata_fcst_t **v = ss_xcalloc(d->n_fc ? d->n_fc : 1, sizeof(*v));
    for (size_t i = 0; i < d->n_fc; i++)
        v[i] = &d->fc[i];
    qsort(v, d->n_fc, sizeof(*v), rdata_fcst_cmp);
    for (size_t i = 0; i < d->n_fc && n < top_n; i++, n++)
        v[i]->selected = 1;
    free(v);
    return (int)n;
}

/* ---- Kafka ------------------------------------------------------------------------------------
 */

typedef struct ctx {
    rdata_t *d;
    ss_avro_txn_codec_t *txn;
    ss_avro_reader_t *rd[RDATA_N_TOPICS];
    ss_txn_t t;
} ctx_t;

static int decode_dlq(ctx_t *x, avro_value_t *v, ss_err_t *err) {
    const char *src = NULL;
    int32_t part = -1;
    int64_t off = -1;
    if (ss_avro_get_str(v, "source_topic", &src, NULL, err) < 0 ||
        ss_avro_get_int(v, "partition", &part, err) < 0 ||
        ss_avro_get_long(v, "offset", &off, err) < 0)
        return SS_ERR_DECODE;
    return src && strcmp(src, x->d->topic[RDATA_TXN]) == 0 ? 1 : 0;
}

static int decode_features(ctx_t *x, const rd_kafka_message_t *rkm, int64_t ts, avro_value_t *v,
                           ss_err_t *err) {
    double vals[RDATA_N_FEATURES];
    int64_t as_of = 0, freq = 0, off = -1;
    int32_t part = -1;
    int rc = 0;
    (void)rkm;
    rc |= ss_avro_get_long(v, "as_of", &as_of, err);
    rc |= ss_avro_get_long(v, "frequency", &freq, err);
    rc |= ss_avro_get_int(v, "source_partition", &part, err);
    rc |= ss_avro_get_long(v, "source_offset", &off, err);
    for (int i = 0; i < RDATA_N_FEATURES; i++)
        rc |= ss_avro_get_double(v, churn_feature_names[i], &vals[i], err);
    if (rc)
        return SS_ERR_DECODE;
    if (freq == 0) /* recency and lifetime mean nothing before the first purchase (drift does so) */
        vals[0] = vals[5] = NAN;
    rdata_add_features(x->d, ts, part, off, as_of, vals);
    return 0;
}

static int decode_score(ctx_t *x, avro_value_t *v, ss_err_t *err) {
    const char *sym = NULL;
    int64_t at = 0;
    if (ss_avro_get_long(v, "scored_at", &at, err) < 0 ||
        ss_avro_get_enum(v, "risk_level", &sym, err) < 0 || !sym)
        return SS_ERR_DECODE;
    churn_risk_t r = strcmp(sym, "HIGH") == 0     ? CHURN_RISK_HIGH
                     : strcmp(sym, "MEDIUM") == 0 ? CHURN_RISK_MEDIUM
                                                  : CHURN_RISK_LOW;
    rdata_add_score(x->d, at, r);
    return 0;
}

static int decode_forecast(ctx_t *x, avro_value_t *v, ss_err_t *err) {
    const char *store = NULL, *product = NULL, *model = NULL;
    int32_t gen = 0, day[RDATA_MAX_HORIZON];
    double mae = NAN, level = 0.95, mean[RDATA_MAX_HORIZON], lo[RDATA_MAX_HORIZON],
           hi[RDATA_MAX_HORIZON];
    avro_value_t arr;
    size_t n = 0;
    int rc = 0;
    rc |= ss_avro_get_str(v, "store_id", &store, NULL, err);
    rc |= ss_avro_get_str(v, "product_id", &product, NULL, err);
    rc |= ss_avro_get_int(v, "generated_for_day", &gen, err);
    rc |= ss_avro_get_str(v, "model", &model, NULL, err);
    rc |= ss_avro_get_double(v, "interval_level", &level, err);
    if (rc || !store || !product)
        return SS_ERR_DECODE;
    if (ss_avro_is_null(v, "holdout_mae", err) == 0)
        ss_avro_get_double(v, "holdout_mae", &mae, err);
    if (ss_avro_field(v, "horizon", &arr, err) < 0 || avro_value_get_size(&arr, &n) != 0)
        return SS_ERR_DECODE;
    if (n > RDATA_MAX_HORIZON)
        n = RDATA_MAX_HORIZON;
    for (size_t i = 0; i < n; i++) {
        avro_value_t el;
        if (avro_value_get_by_index(&arr, i, &el, NULL) != 0 ||
            ss_avro_get_int(&el, "day", &day[i], err) < 0 ||
            ss_avro_get_double(&el, "mean", &mean[i], err) < 0 ||
            ss_avro_get_double(&el, "lower", &lo[i], err) < 0 ||
            ss_avro_get_double(&el, "upper", &hi[i], err) < 0)
            return SS_ERR_DECODE;
    }
    rdata_add_forecast(x->d, store, product, gen, model, mae, level, day, mean, lo, hi, n);
    return 0;
}

static int decode_alert(ctx_t *x, avro_value_t *v, ss_err_t *err) {
    rdata_alert_t a = {.ends_at = -1};
    const char *s = NULL;
    avro_value_t map, child;
    int rc = 0;
    rc |= ss_avro_get_str(v, "name", &s, NULL, err);
    copy_str(a.name, sizeof a.name, s);
    rc |= ss_avro_get_str(v, "severity", &s, NULL, err);
    copy_str(a.severity, sizeof a.severity, s);
    rc |= ss_avro_get_enum(v, "status", &s, err);
    copy_str(a.status, sizeof a.status, s);
    rc |= ss_avro_get_long(v, "starts_at", &a.starts_at, err);
    rc |= ss_avro_get_double(v, "value", &a.value, err);
    rc |= ss_avro_get_double(v, "threshold", &a.threshold, err);
    if (rc)
        return SS_ERR_DECODE;
    if (ss_avro_is_null(v, "ends_at", err) == 0)
        ss_avro_get_long(v, "ends_at", &a.ends_at, err);
    if (ss_avro_field(v, "labels", &map, err) == 0) {
        const char *name = "feature";
        if (avro_value_get_by_name(&map, name, &child, NULL) != 0)
            name = "source";
        if (avro_value_get_by_name(&map, name, &child, NULL) == 0) {
            size_t len = 0;
            if (avro_value_get_string(&child, &s, &len) == 0)
                copy_str(a.feature, sizeof a.feature, s);
        }
    }
    rdata_add_alert(x->d, &a);
    return 0;
}

static void handle(ctx_t *x, int t, const rd_kafka_message_t *rkm) {
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(rkm, &tstype);
    ss_err_t err = SS_ERR_INIT;
    avro_value_t *v = NULL;
    int rc = 0;
    rdata_add_msg(x->d, t, ts);
    if (!rkm->payload) {
        rc = SS_ERR_DECODE;
    } else if (t == RDATA_TXN) {
        rc = ss_avro_txn_decode(x->txn, rkm->payload, rkm->len, &x->t, &err);
        rdata_add_txn(x->d, rkm->partition, rkm->offset, ts, rc == 0 && x->t.has_customer);
    } else if (ss_avro_reader_decode(x->rd[t], rkm->payload, rkm->len, &v, NULL, &err) < 0) {
        rc = SS_ERR_DECODE;
    } else if (t == RDATA_DLQ) {
        /* The envelope points at the transaction it replaces; its outcome is the dead letter. */
        int32_t part = -1;
        int64_t off = -1;
        rc = decode_dlq(x, v, &err);
        if (rc == 1 && ss_avro_get_int(v, "partition", &part, &err) == 0 &&
            ss_avro_get_long(v, "offset", &off, &err) == 0)
            rdata_add_outcome(x->d, part, off, ts);
        rc = rc < 0 ? rc : 0;
    } else if (t == RDATA_FEAT) {
        rc = decode_features(x, rkm, ts, v, &err);
    } else if (t == RDATA_SCORE) {
        rc = decode_score(x, v, &err);
    } else if (t == RDATA_FCST) {
        rc = decode_forecast(x, v, &err);
    } else if (t == RDATA_ALERT) {
        rc = decode_alert(x, v, &err);
    }
    if (rc < 0) {
        if (x->d->bad[t]++ == 0)
            SS_LOG(LOG_WARNING, "report",
                   "cannot decode event: %s topic=%s partition=%d offset=%lld",
                   err.msg[0] ? err.msg : "empty value", x->d->topic[t], (int)rkm->partition,
                   (long long)rkm->offset);
    }
}

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads topic t from its first offset up to the high watermark of each partition at start. */
static int read_topic(ctx_t *x, int t, const ss_cfg_t *cfg, int timeout_ms, ss_err_t *err) {
    rdata_t *d = x->d;
    const char *name = d->topic[t];
    const char *topics[1] = {name};
    ss_kafka_consumer_opts_t o = {.topics = topics,
                                  .topic_count = 1,
                                  .no_group = 1,
                                  .start = SS_KAFKA_START_BEGINNING,
                                  .stats_interval_ms = -1,
                                  .client_id = "streamscore-report"};
    ss_err_t cerr = SS_ERR_INIT;
    ss_kafka_consumer_t *c = ss_kafka_consumer_new(cfg, &o, &cerr);
    rd_kafka_message_t *msgs[500];
    int64_t *want = NULL, *lo = NULL;
    int rc = 0;
    if (!c) {
        note_set(d->note[t], sizeof d->note[t], "topic '%s' not read: %s", name, cerr.msg);
        SS_LOG(LOG_WARNING, "report", "%s", d->note[t]);
        return 0;
    }
    rd_kafka_t *rk = ss_kafka_consumer_handle(c);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, name, NULL);
    const struct rd_kafka_metadata *md = NULL;
    int np = 0, pending = 0;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR && md &&
        md->topic_cnt == 1)
        np = md->topics[0].partition_cnt;
    want = ss_xcalloc((size_t)(np ? np : 1), sizeof(*want));
    lo = ss_xcalloc((size_t)(np ? np : 1), sizeof(*lo));
    for (int i = 0; i < np; i++) {
        int32_t p = md->topics[0].partitions[i].id;
        int64_t l = 0, h = 0;
        if (p < 0 || p >= np || rd_kafka_query_watermark_offsets(rk, name, p, &l, &h, 10000) != 0) {
            note_set(d->note[t], sizeof d->note[t], "topic '%s': no offsets for partition %d", name,
                     (int)p);
            continue;
        }
        want[p] = h;
        lo[p] = l;
        if (h > l)
            pending++;
    }
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    int64_t deadline = mono_ms() + timeout_ms;
    while (pending > 0 && mono_ms() < deadline) {
        int n = ss_kafka_consumer_poll_batch(c, msgs, sizeof(msgs) / sizeof(msgs[0]), 200, err);
        if (n < 0) {
            rc = n;
            break;
        }
        for (int i = 0; i < n; i++) {
            const rd_kafka_message_t *rkm = msgs[i];
            int32_t p = rkm->partition;
            if (rkm->err || p < 0 || p >= np || rkm->offset >= want[p])
                continue;
            handle(x, t, rkm);
            if (rkm->offset + 1 == want[p]) {
                pending--;
                want[p] = -1; /* done: later messages of p are past the end we read to */
            }
        }
        ss_kafka_msgs_destroy(msgs, (size_t)n);
    }
    if (rc == 0 && pending > 0)
        note_set(d->note[t], sizeof d->note[t],
                 "topic '%s' incomplete: %d partitions not read to their end within %d s", name,
                 pending, timeout_ms / 1000);
    SS_LOG(LOG_INFO, "report", "read topic=%s messages=%zu undecodable=%llu", name, d->ts[t].n,
           (unsigned long long)d->bad[t]);
    free(want);
    free(lo);
    ss_kafka_consumer_destroy(c);
    return rc;
}

int rdata_collect_kafka(rdata_t *d, const ss_cfg_t *cfg, ss_avro_reg_t *reg, int timeout_ms,
                        ss_err_t *err) {
    ctx_t x = {.d = d, .t = SS_TXN_INIT};
    int rc = 0;
    static const char *const records[RDATA_N_TOPICS] = {NULL,
                                                        "streamscore.DeadLetter",
                                                        "streamscore.CustomerFeatures",
                                                        "streamscore.ChurnScore",
                                                        "streamscore.DemandForecast",
                                                        "streamscore.DriftAlert"};
    if (!(x.txn = ss_avro_txn_codec_new(reg, err)))
        return SS_ERR_INVAL;
    for (int t = 1; t < RDATA_N_TOPICS; t++) {
        int32_t id;
        if (ss_avro_reg_current_id(reg, records[t], &id, err) < 0 ||
            !(x.rd[t] = ss_avro_reader_new(reg, id, err))) {
            rc = SS_ERR_INVAL;
            goto out;
        }
    }
    for (int t = 0; t < RDATA_N_TOPICS && rc == 0; t++)
        rc = read_topic(&x, t, cfg, timeout_ms, err);
out:
    for (int t = 0; t < RDATA_N_TOPICS; t++)
        ss_avro_reader_destroy(x.rd[t]);
    ss_avro_txn_codec_destroy(x.txn);
    ss_txn_release(&x.t);
    return rc;
}

/* ---- model ------------------------------------------------------------------------------------
 */

int rdata_collect_model(rdata_t *d, const char *dir, ss_err_t *err) {
    copy_str(d->model_dir, sizeof d->model_dir, dir);
    if (!dir || !*dir) {
        copy_str(d->model_msg, sizeof d->model_msg, "no model artifact given (--model DIR)");
        return 0;
    }
    churn_model_t *m = churn_model_load(dir, err);
    if (!m) {
        note_set(d->model_msg, sizeof d->model_msg, "model artifact '%s' not loaded: %s", dir,
                 err->msg);
        return err->code ? err->code : SS_ERR_IO;
    }
    double gain[CHURN_MAX_FEATURES];
    int rc = churn_model_importance(m, gain, err);
    if (rc == 0)
        rdata_set_model(d, churn_model_meta(m), gain);
    else
        note_set(d->model_msg, sizeof d->model_msg, "importance of '%s' not computed: %s", dir,
                 err->msg);
    churn_model_destroy(m);
    return rc;
}

/* ---- Redis ------------------------------------------------------------------------------------
 */

typedef struct product_sum {
    const char *product;
    size_t len;
    double sum;
} product_sum_t;

static int product_sum_cb(const char *product, size_t len, double qty, void *opaque,
                          ss_err_t *err) {
    (void)err;
    product_sum_t *ps = opaque;
    if (len == ps->len && memcmp(product, ps->product, len) == 0)
        ps->sum += qty;
    return 0;
}

/* Units of product in the demand hash of (store, day) for every day of [d0, d0 + n) (its p:
 * field plus every partition's demand record, ss_demand.h), pipelined; out[i] = 0 when absent. */
static int read_days(ss_redis_t *r, const char *prefix, const char *store, const char *product,
                     int64_t d0, size_t n, double *out, ss_err_t *err) {
    char key[512], day[16];
    for (size_t i = 0; i < n; i++) {
        rsvg_day_text(d0 + (int64_t)i, day, sizeof day);
        snprintf(key, sizeof key, "%sdm:{%s:%s}", prefix, store, day);
        const char *argv[2] = {"HGETALL", key};
        if (ss_redis_appendv(r, 2, argv, NULL, err) < 0)
            return SS_ERR_RETRIABLE;
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        redisReply *rep = NULL;
        if (ss_redis_get_reply(r, &rep, err) < 0)
            return SS_ERR_RETRIABLE;
        product_sum_t ps = {product, strlen(product), 0};
        for (size_t k = 0; rep->type == REDIS_REPLY_ARRAY && k + 1 < rep->elements; k += 2) {
            const redisReply *f = rep->element[k], *v = rep->element[k + 1];
            ss_err_t fe = SS_ERR_INIT;
            if (f->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING &&
                ss_demand_field(f->str, f->len, v->str, v->len, product_sum_cb, &ps, &fe) < 0 &&
                rc == 0)
                rc = ss_err_set(err, SS_ERR_INVAL, "demand of store '%s' day %lld: %s", store,
                                (long long)(d0 + (int64_t)i), fe.msg);
        }
        out[i] = ps.sum;
        if (rep->type == REDIS_REPLY_ERROR && rc == 0)
            rc = ss_err_set(err, SS_ERR_INVAL, "redis HGETALL: %s", rep->str);
        freeReplyObject(rep);
    }
    return rc;
}

/* Last complete event-time day of a store: the day before its watermark's day; -1 if unknown. */
static int64_t store_last_day(ss_redis_t *r, const char *prefix, const char *store) {
    char key[256];
    redisReply *rep = NULL;
    ss_err_t err = SS_ERR_INIT;
    int64_t day = -1;
    snprintf(key, sizeof key, "%swm", prefix);
    const char *argv[3] = {"HGET", key, store};
    if (ss_redis_commandv(r, 3, argv, NULL, &rep, &err) == 0 && rep->type == REDIS_REPLY_STRING)
        day = day_of_ms(strtoll(rep->str, NULL, 10)) - 1;
    if (rep)
        freeReplyObject(rep);
    return day;
}

#define RDATA_VOLUME_DAYS 28

int rdata_collect_actuals(rdata_t *d, ss_redis_t *r, const char *prefix, const char *pairs,
                          size_t top_n, int hist_days, ss_err_t *err) {
    double buf[RDATA_VOLUME_DAYS];
    for (size_t i = 0; i < d->n_fc; i++) {
        rdata_fcst_t *f = &d->fc[i];
        if (!f->has_forecast)
            continue;
        if (read_days(r, prefix, f->store, f->product, f->gen_day - RDATA_VOLUME_DAYS + 1,
                      RDATA_VOLUME_DAYS, buf, err) < 0)
            return err->code ? err->code : SS_ERR_RETRIABLE;
        f->volume = 0;
        for (int k = 0; k < RDATA_VOLUME_DAYS; k++)
            f->volume += buf[k];
    }
    int n = rdata_select_pairs(d, pairs, top_n, err);
    if (n < 0)
        return n;
    if (hist_days < 1)
        hist_days = 1;
    for (size_t i = 0; i < d->n_fc; i++) {
        rdata_fcst_t *f = &d->fc[i];
        if (!f->selected)
            continue;
        int64_t last = store_last_day(r, prefix, f->store);
        int64_t end = f->has_forecast ? f->gen_day + (int64_t)f->n : last;
        if (last >= 0 && end > last)
            end = last;
        if (!f->has_forecast && last < 0)
            continue;
        int64_t start = (f->has_forecast ? f->gen_day : end) - hist_days + 1;
        if (end < start)
            continue;
        f->act_day0 = (int32_t)start;
        f->n_act = (size_t)(end - start + 1);
        free(f->act);
        f->act = ss_xcalloc(f->n_act, sizeof(double));
        if (read_days(r, prefix, f->store, f->product, start, f->n_act, f->act, err) < 0)
            return err->code ? err->code : SS_ERR_RETRIABLE;
    }
    return n;
}
