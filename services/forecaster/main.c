/* streamscore-forecaster: polls the features service's per-store watermarks in Redis; when a
 * store's event-time day closes, fits SARIMA(1,1,1)(1,1,1,7) (demand_prep) to every product of
 * the store over the last history.days days and produces one DemandForecast per (store, product)
 * on `demand-forecasts` (key "<store>/<product>"). A (store, day) is recorded as done in Redis
 * only after every forecast of it was delivered. Design and numbers: docs/forecasting.md.
 *   streamscore-forecaster -c stack.conf [--key=value ...]          the service
 *   streamscore-forecaster backfill --day YYYY-MM-DD [-c ...]         every store as of a day
 *   streamscore-forecaster fit --csv FILE [--mode match|fast]          one series, JSON out */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "demand_prep.h"
#include "fcst_fit.h"
#include "fcst_out.h"
#include "fcst_sched.h"
#include "fcst_series.h"
#include "ss_avro.h"
#include "ss_buf.h"
#include "ss_cfg.h"
#include "ss_err.h"
#include "ss_http.h"
#include "ss_kafka.h"
#include "ss_log.h"
#include "ss_metrics.h"
#include "ss_redis.h"
#include "ss_schemareg.h"

static const ss_cfg_def_t defs[] = {
    {"brokers", SS_CFG_STR, "127.0.0.1:9092", 0, 0, "Kafka bootstrap servers", 0, NULL},
    {"redis.host", SS_CFG_STR, "127.0.0.1", 0, 0, "Redis host (the features store)", 0, NULL},
    {"redis.port", SS_CFG_INT, "6379", 1, 65535, "Redis port", 0, NULL},
    {"redis.user", SS_CFG_STR, "", 0, 0, "Redis ACL user (empty: the default user)", 0},
    {"redis.password", SS_CFG_STR, "", 0, 0, "Redis AUTH password (@file reads a file)",
     SS_CFG_SECRET, NULL},
    {"redis.prefix", SS_CFG_STR, "ss:", 0, 0,
     "key prefix of the features store (demand and watermarks) and of our fc:* keys", 0, NULL},
    {"topic.forecasts", SS_CFG_STR, "demand-forecasts", 0, 0, "output topic", 0, NULL},
    {"schemas.dir", SS_CFG_STR, SS_SOURCE_DIR "/schemas", 0, 0,
     "directory with the schema manifest", 0, NULL},
    SS_SCHEMAREG_CFG_DEFS,
    {"metrics.port", SS_CFG_INT, "0", 0, 65535, "port of /metrics, /livez, /readyz (0 = off)", 0,
     NULL},
    {"metrics.bind", SS_CFG_STR, "127.0.0.1", 0, 0, "numeric address of the HTTP listener", 0,
     NULL},
    {"demand.allowed_lateness_ms", SS_CFG_INT, "3600000", -1, 1e12,
     "allowed lateness of demand days, as configured in the features service (-1: days never "
     "close)",
     0, NULL},
    {"demand.tz_offset_min", SS_CFG_INT, "0", -840, 840,
     "event-time day offset from UTC, as configured in the features service", 0, NULL},
    {"poll.interval.ms", SS_CFG_INT, "1000", 10, 3600000, "how often the watermarks are read", 0,
     NULL},
    {"history.days", SS_CFG_INT, "730", 1, FCST_SERIES_MAX_DAYS,
     "days of history per forecast, ending at the closed day", 0, NULL},
    {"catchup", SS_CFG_STR, "latest", 0, 0,
     "when several days of a store closed since the last forecast: forecast only the latest, or "
     "all of them in order",
     0, "latest|all"},
    {"mode", SS_CFG_STR, "fast", 0, 0,
     "SARIMA fit: fast (exact gradient) or match (reproduces statsmodels)", 0, "fast|match"},
    {"fit.threads", SS_CFG_INT, "0", 0, FCST_MAX_THREADS,
     "threads fitting products in parallel (0 = online CPUs)", 0, NULL},
    {"fit.warm_start", SS_CFG_BOOL, "false", 0, 0,
     "fast mode: start each product's fit from its previous fitted parameters (fc:params); "
     "2-6x faster (Newton steps from yesterday's optimum, cold fit when unsafe), but some "
     "products stay at another local optimum (docs/forecasting.md)",
     0, NULL},
    {"horizon", SS_CFG_INT, "30", 1, 3650, "days forecast after the closed day", 0, NULL},
    {"day", SS_CFG_STR, "", 0, 0, "backfill: the day (YYYY-MM-DD) to forecast every store for", 0,
     NULL},
    {"csv", SS_CFG_STR, "", 0, 0, "fit: input CSV with a header and date,quantity_sold rows", 0,
     NULL},
};

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

/* One store as read from Redis at a poll. */
typedef struct store {
    char *id;
    int64_t wm_ms, wmin_ms; /* max / min event time applied (features' wm / wmin) */
    int has_wmin;
    int has_done;
    int64_t done_day; /* last forecast day (fc:done) */
} store_t;

typedef struct app {
    const ss_cfg_t *cfg;
    const char *prefix, *topic;
    ss_redis_t *redis;
    ss_kafka_producer_t *producer;
    ss_avro_writer_t *writer;
    ss_http_t *http;
    fcst_fit_opts_t fo;
    int warm_start;
    int64_t lateness_ms, history_days;
    int tz_offset_min;
    fcst_catchup_t catchup;
    atomic_int redis_ok; /* last poll reached Redis (readiness) */
    /* metrics (borrowed from the registry) */
    ss_metrics_family_t *fits, *last_closed, *last_done;
    ss_metrics_histogram_t *h_fit, *h_store_day;
    ss_metrics_counter_t *produced, *store_days, *skipped_days, *delivery_failures, *bad_fields;
    ss_metrics_counter_t *redis_errors, *redis_reconnects, *polls;
} app_t;

static void register_metrics(app_t *a, ss_metrics_t *m) {
    static const double store_bounds[] = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500};
    ss_metrics_add_build_info(m, "forecaster", NULL);
    ss_metrics_add_process(m);
    a->fits = ss_metrics_counter_family(
        m, "streamscore_forecast_fits_total",
        "Products forecast, by model (sarima or ma7) and fallback reason class (none when the "
        "model was used).",
        (const char *[]){"model", "reason"}, 2);
    a->h_fit = ss_metrics_histogram(m, "streamscore_forecast_fit_seconds",
                                    "Time to prepare, fit and forecast one product.", NULL, 0);
    a->h_store_day = ss_metrics_histogram(
        m, "streamscore_forecast_store_day_seconds",
        "Time to forecast every product of one store for one day (read, fit, produce, deliver).",
        store_bounds, sizeof(store_bounds) / sizeof(store_bounds[0]));
    a->last_closed = ss_metrics_gauge_family(
        m, "streamscore_forecast_last_closed_day",
        "Latest closed event-time day of the store (days since 1970-01-01).",
        (const char *[]){"store"}, 1);
    a->last_done = ss_metrics_gauge_family(
        m, "streamscore_forecast_last_done_day",
        "Latest day the store's forecasts were delivered for (days since 1970-01-01).",
        (const char *[]){"store"}, 1);
    a->produced = ss_metrics_counter(m, "streamscore_forecasts_produced_total",
                                     "DemandForecast events produced (enqueued).");
    a->store_days = ss_metrics_counter(m, "streamscore_forecast_store_day_completed_total",
                                       "(store, day) pairs forecast, delivered and marked done.");
    a->skipped_days = ss_metrics_counter(
        m, "streamscore_forecast_store_day_skipped_total",
        "Closed days not forecast because a later day of the store closed too (catchup=latest).");
    a->delivery_failures = ss_metrics_counter(
        m, "streamscore_forecast_delivery_failures_total",
        "Forecasts whose delivery failed (the store-day is retried at a later poll).");
    a->bad_fields = ss_metrics_counter(m, "streamscore_forecast_bad_fields_total",
                                       "Demand hash fields skipped for a bad value.");
    a->redis_errors = ss_metrics_counter(m, "streamscore_redis_errors_total",
                                         "Failed Redis commands (retriable or not).");
    a->redis_reconnects =
        ss_metrics_counter(m, "streamscore_redis_reconnects_total", "Redis reconnects.");
    a->polls = ss_metrics_counter(m, "streamscore_forecast_polls_total",
                                  "Watermark polls that reached Redis.");
}

static int ready(ss_http_t *h, char *reason, size_t size, void *opaque) {
    app_t *a = opaque;
    ss_err_t err = SS_ERR_INIT;
    (void)h;
    if (!atomic_load(&a->redis_ok)) {
        snprintf(reason, size, "redis not reachable");
        return 0;
    }
    if (a->producer && ss_kafka_producer_check(a->producer, &err) < 0) {
        snprintf(reason, size, "%s", err.msg);
        return 0;
    }
    return 1;
}

/* ---------------- reading the stores ---------------- */

static void stores_free(store_t *st, size_t n) {
    for (size_t i = 0; st && i < n; i++)
        free(st[i].id);
    free(st);
}

static int cmp_store(const void *x, const void *y) {
    return strcmp(((const store_t *)x)->id, ((const store_t *)y)->id);
}

static store_t *store_find(store_t *st, size_t n, const char *id) {
    store_t key = {.id = (char *)id};
    return bsearch(&key, st, n, sizeof(*st), cmp_store);
}

/* Reads <prefix>wm, <prefix>wmin and <prefix>fc:done in one round trip into a new array sorted
 * by store id (*stores, free with stores_free). A bad value is logged and the store skipped. */
static int read_stores(app_t *a, store_t **stores, size_t *n, ss_err_t *err) {
    char keys[3][512];
    redisReply *rep[3] = {NULL, NULL, NULL};
    store_t *st = NULL;
    size_t cnt = 0;
    int rc = 0;

    snprintf(keys[0], sizeof(keys[0]), "%swm", a->prefix);
    snprintf(keys[1], sizeof(keys[1]), "%swmin", a->prefix);
    snprintf(keys[2], sizeof(keys[2]), "%sfc:done", a->prefix);
    for (int k = 0; k < 3; k++) {
        const char *argv[2] = {"HGETALL", keys[k]};
        if ((rc = ss_redis_appendv(a->redis, 2, argv, NULL, err)) < 0)
            return rc;
    }
    for (int k = 0; k < 3; k++)
        if ((rc = ss_redis_get_reply(a->redis, &rep[k], err)) < 0)
            goto out;
    for (int k = 0; k < 3; k++)
        if (rep[k]->type != REDIS_REPLY_ARRAY) {
            rc = ss_err_set(err,
                            rep[k]->type == REDIS_REPLY_ERROR ? ss_redis_reply_class(rep[k]->str)
                                                              : SS_ERR_INVAL,
                            "HGETALL '%s': %s", keys[k],
                            rep[k]->type == REDIS_REPLY_ERROR ? rep[k]->str : "not an array");
            goto out;
        }
    st = ss_xcalloc(rep[0]->elements / 2 + 1, sizeof(*st));
    for (size_t j = 0; j + 1 < rep[0]->elements; j += 2) {
        const redisReply *f = rep[0]->element[j], *v = rep[0]->element[j + 1];
        int64_t wm;
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING || f->len == 0 ||
            memchr(f->str, '\0', f->len) || fcst_parse_i64(v->str, v->len, &wm) < 0) {
            SS_LOG(LOG_WARNING, "fcst", "skipping bad watermark entry in '%s'", keys[0]);
            continue;
        }
        st[cnt].id = ss_xstrndup(f->str, f->len);
        st[cnt].wm_ms = wm;
        cnt++;
    }
    qsort(st, cnt, sizeof(*st), cmp_store);
    for (size_t j = 0; j + 1 < rep[1]->elements; j += 2) {
        const redisReply *f = rep[1]->element[j], *v = rep[1]->element[j + 1];
        store_t *s;
        int64_t t;
        if (f->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING &&
            (s = store_find(st, cnt, f->str)) && fcst_parse_i64(v->str, v->len, &t) == 0) {
            s->wmin_ms = t;
            s->has_wmin = 1;
        }
    }
    for (size_t j = 0; j + 1 < rep[2]->elements; j += 2) {
        const redisReply *f = rep[2]->element[j], *v = rep[2]->element[j + 1];
        store_t *s;
        int64_t d;
        if (f->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING &&
            (s = store_find(st, cnt, f->str))) {
            if (fcst_day_parse(v->str, &d, NULL) == 0) {
                s->done_day = d;
                s->has_done = 1;
            } else {
                SS_LOG(LOG_WARNING, "fcst", "ignoring bad done day '%.32s' store=%s", v->str,
                       s->id);
            }
        }
    }
    *stores = st;
    *n = cnt;
    st = NULL;
out:
    for (int k = 0; k < 3; k++)
        if (rep[k])
            freeReplyObject(rep[k]);
    stores_free(st, cnt);
    return rc;
}

/* ---------------- one store-day ---------------- */

/* Loads the warm-start parameters of every product of s from <prefix>fc:params:{store}:
 * starts[i] points into params[i * FCST_N_PARAMS] or is NULL. Errors leave starts all NULL. */
static void load_warm(app_t *a, const char *store, const fcst_series_t *s, double *params,
                      const double **starts) {
    char key[512];
    redisReply *rep = NULL;
    ss_err_t err = SS_ERR_INIT;
    snprintf(key, sizeof(key), "%sfc:params:{%s}", a->prefix, store);
    if (ss_redis_command(a->redis, &rep, &err, "HGETALL %s", key) < 0) {
        ss_metrics_counter_inc(a->redis_errors);
        SS_LOG(LOG_WARNING, "fcst", "no warm starts for store=%s: %s", store, err.msg);
        return;
    }
    for (size_t j = 0; rep->type == REDIS_REPLY_ARRAY && j + 1 < rep->elements; j += 2) {
        const redisReply *f = rep->element[j], *v = rep->element[j + 1];
        long i;
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
            (i = fcst_series_find(s, f->str, f->len)) < 0)
            continue;
        if (fcst_params_parse(v->str, v->len, params + (size_t)i * FCST_N_PARAMS) == 0)
            starts[i] = params + (size_t)i * FCST_N_PARAMS;
    }
    freeReplyObject(rep);
}

/* Keeps the fitted parameters for tomorrow's warm start, then records day as done. */
static int mark_done(app_t *a, const char *store, int64_t day, const fcst_series_t *s,
                     const fcst_fit_t *fits, ss_err_t *err) {
    char key[512], dtext[FCST_DAY_TEXT];
    size_t n = fcst_series_count(s), argc = 2;
    const char **argv = ss_xcalloc(2 + 2 * n, sizeof(char *));
    char *texts = ss_xcalloc(n ? n : 1, 128);
    redisReply *rep = NULL;
    int rc = 0;

    snprintf(key, sizeof(key), "%sfc:params:{%s}", a->prefix, store);
    argv[0] = "HSET";
    argv[1] = key;
    for (size_t i = 0; i < n; i++)
        if (fits[i].done && fcst_params_format(&fits[i].res, texts + 128 * i, 128) > 0) {
            argv[argc++] = fcst_series_product(s, i);
            argv[argc++] = texts + 128 * i;
        }
    if (argc > 2 && (rc = ss_redis_commandv(a->redis, (int)argc, argv, NULL, &rep, err)) < 0)
        goto out;
    if (rep)
        freeReplyObject(rep);
    rep = NULL;
    fcst_day_text(day, dtext);
    snprintf(key, sizeof(key), "%sfc:done", a->prefix);
    rc = ss_redis_command(a->redis, &rep, err, "HSET %s %s %s", key, store, dtext);
out:
    if (rep)
        freeReplyObject(rep);
    free(argv);
    free(texts);
    return rc;
}

static void on_fit_done(size_t i, const fcst_fit_t *f, void *opaque) {
    app_t *a = opaque;
    (void)i;
    ss_http_heartbeat(a->http); /* a store of 1,000 products takes longer than live_timeout */
    ss_metrics_histogram_observe(a->h_fit, f->seconds);
}

/* Forecasts every product of store for `day` (history from first_day at the earliest) and
 * produces the DemandForecasts; with `record`, marks the day done once all are delivered.
 * Returns 0; SS_ERR_RETRIABLE when Redis or delivery failed (the day stays due); SS_ERR_EXIT when
 * a signal interrupted the fits; SS_ERR_FATAL. */
static int forecast_store_day(app_t *a, const char *store, int64_t day, int64_t first_day,
                              int record, ss_err_t *err) {
    double t0 = ss_metrics_now(), t_fit, t_fitted;
    int64_t from = fcst_window_start(day, a->history_days, first_day);
    fcst_series_t *s = NULL;
    fcst_fit_t *fits = NULL;
    double *params = NULL;
    const double **starts = NULL;
    ss_buf_t out = SS_BUF_INIT;
    size_t n = 0, n_bad = 0, n_fallback = 0, n_warm = 0;
    char dtext[FCST_DAY_TEXT], key[1024];
    uint64_t failed;
    int rc = 0;

    fcst_day_text(day, dtext);
    if (!(s = fcst_series_new(from, day, err))) {
        rc = SS_ERR_FATAL;
        goto out;
    }
    if ((rc = fcst_series_load(s, a->redis, a->prefix, store, &n_bad, err)) < 0) {
        ss_metrics_counter_inc(a->redis_errors);
        if (rc != SS_ERR_FATAL)
            rc = SS_ERR_RETRIABLE;
        goto out;
    }
    ss_metrics_counter_add(a->bad_fields, (double)n_bad);
    n = fcst_series_count(s);
    fits = ss_xcalloc(n ? n : 1, sizeof(*fits));
    starts = ss_xcalloc(n ? n : 1, sizeof(*starts));
    if (a->warm_start && a->fo.mode == SARIMA_MODE_FAST && n > 0) {
        params = ss_xcalloc(n * FCST_N_PARAMS, sizeof(double));
        load_warm(a, store, s, params, starts);
    }
    t_fit = ss_metrics_now();
    if (fcst_fit_all(s, starts, &a->fo, fits, err) < (long)n) {
        rc = stop ? SS_ERR_EXIT : SS_ERR_FATAL;
        goto out;
    }
    t_fitted = ss_metrics_now();
    for (size_t i = 0; i < n; i++) {
        const dprep_result_t *r = &fits[i].res;
        const char *product = fcst_series_product(s, i);
        n_fallback += r->fallback != 0;
        n_warm += fits[i].warm != 0;
        ss_metrics_counter_inc(
            ss_metrics_counter_child(a->fits, (const char *[]){r->fallback ? "ma7" : "sarima",
                                                               fcst_reason_class(r->reason)}));
        ss_buf_reset(&out);
        if ((rc = fcst_out_encode(a->writer, store, product, day, r, &out, err)) < 0) {
            rc = ss_err_set(err, SS_ERR_FATAL,
                            "cannot encode DemandForecast store=%s product=%s: %s", store, product,
                            err->msg);
            goto out;
        }
        fcst_out_key(key, sizeof(key), store, product);
        if ((rc = ss_kafka_produce(a->producer, a->topic, key, strlen(key), out.buf, out.len,
                                   err)) < 0) {
            if (rc != SS_ERR_FATAL)
                rc = SS_ERR_RETRIABLE;
            goto out;
        }
        ss_metrics_counter_inc(a->produced);
        ss_http_heartbeat(a->http);
    }
    /* Exactly-once in effect: the day is recorded only after every forecast is delivered or
     * failed. Waiting out an outage (message.timeout.ms bounds it) rather than giving up on a
     * timeout avoids producing the same store-day twice. */
    while ((rc = ss_kafka_producer_flush(a->producer, 1000, err)) == SS_ERR_RETRIABLE && !stop) {
        ss_http_heartbeat(a->http);
        ss_err_clear(err);
    }
    if (rc < 0) {
        rc = rc == SS_ERR_RETRIABLE ? SS_ERR_EXIT : rc; /* stopped while waiting */
        goto out;
    }
    if ((failed = ss_kafka_producer_failed_take(a->producer)) > 0) {
        ss_metrics_counter_add(a->delivery_failures, (double)failed);
        rc = ss_err_set(err, SS_ERR_RETRIABLE,
                        "%llu forecast(s) of store '%s' day %s failed delivery",
                        (unsigned long long)failed, store, dtext);
        goto out;
    }
    if (record && (rc = mark_done(a, store, day, s, fits, err)) < 0) {
        ss_metrics_counter_inc(a->redis_errors);
        goto out;
    }
    ss_metrics_counter_inc(a->store_days);
    ss_metrics_histogram_observe(a->h_store_day, ss_metrics_now() - t0);
    if (record)
        ss_metrics_gauge_set(ss_metrics_gauge_child(a->last_done, (const char *[]){store}),
                             (double)day);
    SS_LOG(LOG_NOTICE, "fcst",
           "forecast store=%s day=%s products=%zu fallback=%zu warm=%zu history_from=%lld "
           "read_s=%.3f fit_s=%.3f total_s=%.3f",
           store, dtext, n, n_fallback, n_warm, (long long)from, t_fit - t0, t_fitted - t_fit,
           ss_metrics_now() - t0);
out:
    ss_buf_release(&out);
    fcst_fit_release(fits, n);
    free(fits);
    free(starts);
    free(params);
    fcst_series_destroy(s);
    return rc;
}

/* ---------------- one poll ---------------- */

/* Reads the stores and forecasts every due (store, day). A store-day that fails for a retriable
 * reason is logged and left due (retried at the next poll). Returns 0, SS_ERR_RETRIABLE (the
 * stores could not be read), SS_ERR_EXIT (signal) or SS_ERR_FATAL. */
static int poll_once(app_t *a, ss_err_t *err) {
    store_t *st = NULL;
    size_t n = 0;
    int rc;

    if ((rc = read_stores(a, &st, &n, err)) < 0) {
        ss_metrics_counter_inc(a->redis_errors);
        atomic_store(&a->redis_ok, 0);
        return rc == SS_ERR_FATAL ? rc : SS_ERR_RETRIABLE;
    }
    atomic_store(&a->redis_ok, 1);
    ss_metrics_counter_inc(a->polls);
    for (size_t i = 0; i < n && !stop; i++) {
        fcst_plan_in_t in = {
            .catchup = a->catchup, .has_done = st[i].has_done, .done_day = st[i].done_day};
        int64_t from, to, due;
        if (!fcst_last_closed(st[i].wm_ms, a->lateness_ms, a->tz_offset_min, &in.last_closed))
            continue;
        ss_metrics_gauge_set(ss_metrics_gauge_child(a->last_closed, (const char *[]){st[i].id}),
                             (double)in.last_closed);
        if (st[i].has_done)
            ss_metrics_gauge_set(ss_metrics_gauge_child(a->last_done, (const char *[]){st[i].id}),
                                 (double)st[i].done_day);
        in.first_day = fcst_day_of(st[i].has_wmin ? st[i].wmin_ms : st[i].wm_ms, a->tz_offset_min);
        if ((due = fcst_plan(&in, &from, &to)) <= 0)
            continue;
        for (int64_t d = from; d <= to && !stop; d++) {
            rc = forecast_store_day(a, st[i].id, d, in.first_day, 1, err);
            if (rc == SS_ERR_RETRIABLE) {
                /* this store waits for the next poll; the other stores go on */
                SS_LOG(LOG_WARNING, "fcst", "store-day left due, retried at the next poll: %s",
                       err->msg);
                ss_err_clear(err);
                break;
            }
            if (rc < 0)
                goto out;
            if (d == from && a->catchup == FCST_CATCHUP_LATEST) {
                /* days between the last done one and the latest closed one were skipped */
                int64_t lo = st[i].has_done ? st[i].done_day + 1 : in.first_day;
                if (to > lo)
                    ss_metrics_counter_add(a->skipped_days, (double)(to - lo));
            }
        }
    }
    rc = stop ? SS_ERR_EXIT : 0;
out:
    stores_free(st, n);
    ss_metrics_counter_set(a->redis_reconnects, (double)ss_redis_reconnects(a->redis));
    return rc;
}

/* ---------------- backfill ---------------- */

/* Forecasts every store as of `day` (which must be closed for it), without touching fc:done. */
static int backfill(app_t *a, int64_t day, ss_err_t *err) {
    store_t *st = NULL;
    size_t n = 0, done = 0;
    int rc;
    if ((rc = read_stores(a, &st, &n, err)) < 0)
        return rc;
    for (size_t i = 0; i < n && !stop; i++) {
        int64_t closed,
            first = fcst_day_of(st[i].has_wmin ? st[i].wmin_ms : st[i].wm_ms, a->tz_offset_min);
        if (!fcst_last_closed(st[i].wm_ms, a->lateness_ms, a->tz_offset_min, &closed) ||
            closed < day || day < first) {
            SS_LOG(LOG_WARNING, "fcst",
                   "backfill: day not closed or before the data, skipped store=%s", st[i].id);
            continue;
        }
        if ((rc = forecast_store_day(a, st[i].id, day, first, 0, err)) < 0)
            goto out;
        done++;
    }
    printf("backfill: %zu store(s) forecast, %zu skipped\n", done, n - done);
    rc = 0;
out:
    stores_free(st, n);
    return rc;
}

/* ---------------- fit (one CSV series) ---------------- */

static json_t *json_num(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static json_t *json_arr(const double *x, int n) {
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_num(x[i]));
    return a;
}

/* Reads `date,quantity_sold` rows (header first) into dprep_daily and prints dprep_run's result
 * as JSON on stdout. */
static int fit_csv(const char *path, int mode, int horizon, ss_err_t *err) {
    static const char *const names[] = {"ar.L1", "ma.L1", "ar.S.L7", "ma.S.L7", "sigma2"};
    FILE *f = fopen(path, "r");
    char line[512], dtext[FCST_DAY_TEXT];
    int64_t *days = NULL;
    double *qty = NULL, *y = NULL;
    size_t n = 0, cap = 0, ny = 0, lineno = 0;
    dprep_result_t r = DPREP_RESULT_INIT;
    int rc = 0;

    if (!f)
        return ss_err_set_errno(err, SS_ERR_IO, errno, "cannot open '%s'", path);
    while (fgets(line, sizeof(line), f)) {
        char *comma = strchr(line, ','), *end = NULL;
        lineno++;
        if (lineno == 1 || line[0] == '\n')
            continue;
        if (!comma) {
            rc = ss_err_set(err, SS_ERR_INVAL, "%s:%zu: expected date,quantity_sold", path, lineno);
            goto out;
        }
        *comma = '\0';
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            days = ss_xrealloc(days, cap * sizeof(*days));
            qty = ss_xrealloc(qty, cap * sizeof(*qty));
        }
        if (fcst_day_parse(line, &days[n], err) < 0) {
            rc = ss_err_set(err, SS_ERR_INVAL, "%s:%zu: %s", path, lineno, err->msg);
            goto out;
        }
        qty[n] = strtod(comma + 1, &end);
        if (end == comma + 1) {
            rc = ss_err_set(err, SS_ERR_INVAL, "%s:%zu: bad quantity", path, lineno);
            goto out;
        }
        n++;
    }
    if ((rc = dprep_daily(days, qty, n, -1, -1, &y, &ny, err)) < 0 && n > 0)
        goto out;
    rc = dprep_run(y, ny, &(dprep_opts_t){.mode = mode, .horizon = horizon}, &r, err);
    if (rc < 0)
        goto out;
    {
        json_t *o = json_object(), *p = json_object(), *h = json_array();
        int64_t last = 0;
        for (size_t i = 0; i < n; i++)
            if (i == 0 || days[i] > last)
                last = days[i];
        json_object_set_new(o, "n", json_integer((json_int_t)r.n));
        json_object_set_new(o, "n_train", json_integer((json_int_t)r.n_train));
        fcst_day_text(last, dtext);
        json_object_set_new(o, "last_day", json_string(n ? dtext : ""));
        json_object_set_new(o, "model", json_string(fcst_out_model(&r)));
        json_object_set_new(o, "fallback_reason", r.fallback ? json_string(r.reason) : json_null());
        for (int i = 0; !r.fallback && i < r.fit.n_params && i < 5; i++)
            json_object_set_new(p, names[i], json_num(r.fit.params[i]));
        json_object_set_new(o, "params", p);
        json_object_set_new(o, "llf", r.fallback ? json_null() : json_num(r.fit.llf));
        json_object_set_new(o, "iterations", json_integer(r.fit.iterations));
        json_object_set_new(o, "test_mae", json_num(r.test_mae));
        json_object_set_new(o, "test_rmse", json_num(r.test_rmse));
        json_object_set_new(o, "mean", json_arr(r.mean, r.horizon));
        json_object_set_new(o, "lower", json_arr(r.lower, r.horizon));
        json_object_set_new(o, "upper", json_arr(r.upper, r.horizon));
        for (int i = 0; i < r.horizon && n; i++) {
            fcst_day_text(last + 1 + i, dtext);
            json_array_append_new(h, json_string(dtext));
        }
        json_object_set_new(o, "days", h);
        char *text = json_dumps(o, JSON_REAL_PRECISION(17));
        printf("%s\n", text);
        free(text);
        json_decref(o);
    }
out:
    if (f)
        fclose(f);
    dprep_result_release(&r);
    free(days);
    free(qty);
    free(y);
    return rc;
}

/* ---------------- main ---------------- */

int main(int argc, char **argv) {
    ss_err_t err = SS_ERR_INIT;
    ss_cfg_t *cfg;
    app_t a = {0};
    ss_schemareg_t *sr = NULL;
    ss_metrics_t *metrics = NULL;
    ss_avro_reg_t *reg = NULL;
    const char *cmd = NULL;
    int32_t schema_id;
    int64_t backfill_day = 0;
    long ncpu;
    int rc;

    ss_log_init("forecaster");
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    cfg = ss_cfg_new("forecaster", "per-store SARIMA demand forecasts on closed event-time days",
                     defs, sizeof(defs) / sizeof(defs[0]));
    ss_cfg_set_usage(cfg, "[backfill --day YYYY-MM-DD | fit --csv FILE]");
    if ((rc = ss_cfg_load(cfg, argc, argv, &err)) < 0) {
        rc = rc == SS_ERR_EXIT ? 0 : 2;
        if (rc)
            fprintf(stderr, "streamscore-forecaster: %s\n", err.msg);
        ss_cfg_destroy(cfg);
        return rc;
    }
    a.fo.mode =
        strcmp(ss_cfg_str(cfg, "mode"), "match") == 0 ? SARIMA_MODE_MATCH : SARIMA_MODE_FAST;
    a.fo.horizon = (int)ss_cfg_int(cfg, "horizon");
    if (ss_cfg_argc(cfg) > 0) {
        cmd = ss_cfg_arg(cfg, 0);
        if (ss_cfg_argc(cfg) != 1 || (strcmp(cmd, "fit") != 0 && strcmp(cmd, "backfill") != 0)) {
            fprintf(stderr, "streamscore-forecaster: usage: [backfill --day YYYY-MM-DD | fit "
                            "--csv FILE]\n");
            ss_cfg_destroy(cfg);
            return 2;
        }
        if (strcmp(cmd, "fit") == 0) {
            rc = 0;
            if (!*ss_cfg_str(cfg, "csv")) {
                fprintf(stderr, "streamscore-forecaster: fit needs --csv FILE\n");
                rc = 2;
            } else if (fit_csv(ss_cfg_str(cfg, "csv"), a.fo.mode, a.fo.horizon, &err) < 0) {
                fprintf(stderr, "streamscore-forecaster: %s\n", err.msg);
                rc = 1;
            }
            ss_cfg_destroy(cfg);
            return rc;
        }
        if (fcst_day_parse(ss_cfg_str(cfg, "day"), &backfill_day, &err) < 0) {
            fprintf(stderr, "streamscore-forecaster: backfill needs --day: %s\n", err.msg);
            ss_cfg_destroy(cfg);
            return 2;
        }
    }

    a.cfg = cfg;
    a.prefix = ss_cfg_str(cfg, "redis.prefix");
    a.topic = ss_cfg_str(cfg, "topic.forecasts");
    a.lateness_ms = ss_cfg_int(cfg, "demand.allowed_lateness_ms");
    a.tz_offset_min = (int)ss_cfg_int(cfg, "demand.tz_offset_min");
    a.history_days = ss_cfg_int(cfg, "history.days");
    a.catchup =
        strcmp(ss_cfg_str(cfg, "catchup"), "all") == 0 ? FCST_CATCHUP_ALL : FCST_CATCHUP_LATEST;
    a.warm_start = ss_cfg_bool(cfg, "fit.warm_start");
    ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    a.fo.threads = ss_cfg_int(cfg, "fit.threads") > 0 ? (int)ss_cfg_int(cfg, "fit.threads")
                                                      : (ncpu > 0 ? (int)ncpu : 1);
    a.fo.stop = &stop;
    a.fo.on_done = on_fit_done;
    a.fo.opaque = &a;
    rc = 1;

    /* 1. metrics and the HTTP listener (ready once Redis answered a poll) */
    metrics = ss_metrics_new();
    register_metrics(&a, metrics);
    {
        ss_http_opts_t ho = {.bind_addr = ss_cfg_str(cfg, "metrics.bind"),
                             .port = cmd ? 0 : (int)ss_cfg_int(cfg, "metrics.port"),
                             .metrics = metrics,
                             .ready = ready,
                             .ready_opaque = &a};
        if (!(a.http = ss_http_new(&ho, &err)))
            goto fail;
    }

    /* 2. schemas, Redis, the producer */
    if (!(reg = ss_schemareg_open(cfg, (const char *[]){"topic.forecasts", NULL}, &sr, &err)) ||
        ss_avro_reg_current_id(reg, "streamscore.DemandForecast", &schema_id, &err) < 0 ||
        !(a.writer = ss_avro_writer_new(reg, schema_id, &err)))
        goto fail;
    a.redis = ss_redis_new(&(ss_redis_opts_t){.host = ss_cfg_str(cfg, "redis.host"),
                                              .port = (int)ss_cfg_int(cfg, "redis.port"),
                                              .user = ss_cfg_str(cfg, "redis.user"),
                                              .password = ss_cfg_str(cfg, "redis.password")});
    if (!(a.producer = ss_kafka_producer_new(
              cfg, &(ss_kafka_producer_opts_t){.client_id = "streamscore-forecaster"}, &err)))
        goto fail;
    ss_kafka_producer_metrics(a.producer, metrics);
    if (cmd) {
        if (backfill(&a, backfill_day, &err) < 0)
            goto fail;
        rc = 0;
        goto out;
    }
    if (ss_http_start(a.http, &err) < 0)
        goto fail;
    SS_LOG(LOG_NOTICE, "fcst",
           "running prefix=%s topic=%s mode=%s catchup=%s lateness_ms=%lld history_days=%lld "
           "threads=%d warm_start=%d http_port=%d",
           a.prefix, a.topic, ss_cfg_str(cfg, "mode"), ss_cfg_str(cfg, "catchup"),
           (long long)a.lateness_ms, (long long)a.history_days, a.fo.threads, a.warm_start,
           ss_http_port(a.http));

    /* 3. the loop: poll the watermarks, forecast what closed, sleep */
    while (!stop) {
        double next;
        ss_http_heartbeat(a.http);
        if ((rc = poll_once(&a, &err)) < 0) {
            if (rc == SS_ERR_FATAL)
                goto fail;
            if (rc == SS_ERR_RETRIABLE) {
                SS_LOG(LOG_WARNING, "fcst", "poll failed, retrying: %s", err.msg);
                ss_err_clear(&err);
            }
        }
        next = ss_metrics_now() + (double)ss_cfg_int(cfg, "poll.interval.ms") / 1000.0;
        while (!stop && ss_metrics_now() < next) {
            ss_http_heartbeat(a.http);
            ss_kafka_producer_poll(a.producer, 50);
        }
        if (ss_kafka_producer_check(a.producer, &err) < 0)
            goto fail;
    }
    SS_LOG(LOG_NOTICE, "fcst", "stopped");
    rc = 0;
    goto out;
fail:
    SS_LOG(LOG_ERR, "fcst", "%s", err.msg);
    fprintf(stderr, "streamscore-forecaster: %s\n", err.msg);
    rc = 1;
out:
    ss_http_destroy(a.http);
    ss_kafka_producer_destroy(a.producer);
    ss_avro_writer_destroy(a.writer);
    ss_avro_reg_destroy(reg);
    ss_schemareg_destroy(sr);
    ss_redis_destroy(a.redis);
    ss_metrics_destroy(metrics);
    ss_cfg_destroy(cfg);
    return rc;
}
