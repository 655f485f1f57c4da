/* streamscore-drift: watches customer-features, churn-scores and transactions.dlq in its own
 * consumer group; event-time windows close on the partitions' watermark; each closed window is
 * judged for feature, prediction and data-quality drift and live model quality
 * (drift_monitor.c); alert events go to drift-alerts as DriftAlert (key = fingerprint) and,
 * when alertmanager.url is set, to Alertmanager's POST /api/v2/alerts. Gauges on /metrics.
 * docs/drift.md describes methods, alerts and what on-call should do. */
#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "churn_model.h"
#include "drift_monitor.h"
#include "ss_avro.h"
#include "ss_buf.h"
#include "ss_cfg.h"
#include "ss_err.h"
#include "ss_http.h"
#include "ss_kafka.h"
#include "ss_log.h"
#include "ss_metrics.h"
#include "ss_schemareg.h"

static const ss_cfg_def_t defs[] = {
    {"brokers", SS_CFG_STR, "127.0.0.1:9092", 0, 0, "bootstrap servers", 0},
    {"redis.host", SS_CFG_STR, "127.0.0.1", 0, 0, "unused (accepted from the stack conf)", 0},
    {"redis.port", SS_CFG_INT, "6379", 0, 65535, "unused (accepted from the stack conf)", 0},
    {"redis.password", SS_CFG_STR, "", 0, 0, "unused (accepted from the stack conf)",
     SS_CFG_SECRET},
    {"schemas.dir", SS_CFG_STR, SS_SOURCE_DIR "/schemas", 0, 0,
     "directory with the schema manifest", 0},
    SS_SCHEMAREG_CFG_DEFS,
    {"group.id", SS_CFG_STR, "streamscore-drift", 0, 0, "consumer group", 0},
    {"session.timeout.ms", SS_CFG_INT, "45000", 1000, 300000, "group session timeout", 0},
    {"topic.features", SS_CFG_STR, "customer-features", 0, 0, "CustomerFeatures input topic", 0},
    {"topic.scores", SS_CFG_STR, "churn-scores", 0, 0, "ChurnScore input topic ('' = none)", 0},
    {"topic.dlq", SS_CFG_STR, "transactions.dlq", 0, 0, "dead-letter topic ('' = none)", 0},
    {"topic.alerts", SS_CFG_STR, "drift-alerts", 0, 0, "DriftAlert output topic", 0},
    {"metrics.port", SS_CFG_INT, "0", 0, 65535, "port of /metrics /livez /readyz (0 = off)", 0},
    {"metrics.bind", SS_CFG_STR, "127.0.0.1", 0, 0, "address of the metrics listener", 0},
    {"model.path", SS_CFG_STR, "", 0, 0,
     "churn model artifact: frozen reference distributions and baseline metrics ('' = learn "
     "the reference from the first reference.windows windows)",
     0},
    {"model.version", SS_CFG_STR, "", 0, 0,
     "model_version label of the alerts ('' = the artifact's, else 'stream-reference')", 0},
    {"series", SS_CFG_STR, "", 0, 0,
     "comma-separated series to monitor ('' = all): the ten churn features, order_amount, "
     "score, high_risk",
     0},
    {"window.ms", SS_CFG_INT, "86400000", 60000, 366 * 86400000.0,
     "tumbling window length in event time", 0},
    {"window.lateness.ms", SS_CFG_INT, "600000", 0, 30 * 86400000.0,
     "allowed lateness: the watermark trails the partitions' event time by this much", 0},
    {"watermark.idle.ms", SS_CFG_INT, "5000", 100, 3600000,
     "a partition silent this long (wall clock) no longer holds the watermark back", 0},
    {"min.samples", SS_CFG_INT, "100", 1, 1e9, "values a series needs in a window to be judged", 0},
    {"reference.windows", SS_CFG_INT, "7", 1, 1000,
     "windows (with min.samples values) a learnt reference is made of", 0},
    {"sample.cap", SS_CFG_INT, "5000", 10, 1e7, "raw values kept per series per window (KS)", 0},
    {"psi.warning", SS_CFG_DOUBLE, "0.1", 0.0001, 100, "PSI of a warning drift alert", 0},
    {"psi.critical", SS_CFG_DOUBLE, "0.25", 0.0001, 100, "PSI of a critical drift alert", 0},
    {"alert.for.windows", SS_CFG_INT, "1", 1, 100,
     "consecutive breaching windows before an alert fires or escalates", 0},
    {"alert.clear.windows", SS_CFG_INT, "2", 1, 100,
     "consecutive clear windows before an alert resolves or de-escalates", 0},
    {"alert.clear.ratio", SS_CFG_DOUBLE, "0.8", 0.01, 1,
     "hysteresis: clear means below threshold x ratio (above threshold / ratio for low alerts)", 0},
    {"alert.repeat.ms", SS_CFG_INT, "86400000", -1, 1e12,
     "event time between repeats of a firing alert on drift-alerts (-1 = never)", 0},
    {"dq.history.windows", SS_CFG_INT, "7", 1, 1000,
     "data quality: compare with the median of this many previous windows", 0},
    {"dq.volume.low", SS_CFG_DOUBLE, "0.5", -1, 1e6,
     "EventVolumeLow below this ratio to the median (negative = off)", 0},
    {"dq.volume.high", SS_CFG_DOUBLE, "3", -1, 1e6,
     "EventVolumeHigh above this ratio to the median (negative = off)", 0},
    {"dq.dlq.rate.warning", SS_CFG_DOUBLE, "0.01", 0, 1, "DeadLetterRate warning floor", 0},
    {"dq.dlq.rate.critical", SS_CFG_DOUBLE, "0.05", 0, 1, "DeadLetterRate critical floor", 0},
    {"dq.dlq.ratio", SS_CFG_DOUBLE, "3", 1, 1e6,
     "DeadLetterRate thresholds are at least this x the median rate", 0},
    {"quality.horizon.days", SS_CFG_INT, "90", 1, 3650, "churn label window of a score", 0},
    {"quality.min.samples", SS_CFG_INT, "200", 10, 1e9,
     "labelled scores per ModelQualityDrop evaluation", 0},
    {"quality.auc.baseline", SS_CFG_DOUBLE, "0", 0, 1,
     "baseline ROC-AUC (0 = the artifact's, else the first realised one)", 0},
    {"quality.auc.drop.warning", SS_CFG_DOUBLE, "0.05", 0.001, 1,
     "ModelQualityDrop warning when the AUC fell this much", 0},
    {"quality.auc.drop.critical", SS_CFG_DOUBLE, "0.1", 0.001, 1,
     "ModelQualityDrop critical when the AUC fell this much", 0},
    {"alertmanager.url", SS_CFG_STR, "", 0, 0,
     "Alertmanager base URL, e.g. http://127.0.0.1:9093 ('' = do not push)", 0},
    {"alertmanager.resend.ms", SS_CFG_INT, "60000", 1000, 3600000,
     "wall-clock interval of re-sending firing alerts to Alertmanager", 0},
    {"alertmanager.timeout.ms", SS_CFG_INT, "3000", 100, 60000, "HTTP timeout of a push", 0},
};

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

static int64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum { SRC_FEATURES = 0, SRC_SCORES = 1, SRC_DLQ = 2 };

typedef struct app {
    ss_cfg_t *cfg;
    ss_avro_reg_t *reg;
    ss_avro_reader_t *feat_reader, *score_reader;
    ss_avro_writer_t *alert_writer;
    ss_kafka_consumer_t *consumer;
    ss_kafka_producer_t *producer;
    dmon_t *mon;
    dwin_wm_t *wm;
    const char *topics[3]; /* by SRC_* ('' = not consumed) */
    ss_buf_t out;
    json_t *am_batch; /* Alertmanager alerts to push */
    CURL *curl;
    int64_t am_retry_at; /* wall ms: no push before this after a failure */
    int fatal;
    ss_err_t err;
    ss_metrics_family_t *events, *decode_errors;
    ss_metrics_counter_t *ev_c[3], *dec_c[3], *late, *produced, *am_ok, *am_fail;
    ss_metrics_gauge_t *watermark;
} app_t;

/* Partitions of the event-time inputs hold the watermark back from their assignment on. */
static void on_rebalance(ss_kafka_consumer_t *c, ss_kafka_rebalance_t kind,
                         const rd_kafka_topic_partition_list_t *parts, void *opaque) {
    (void)c;
    app_t *a = opaque;
    for (int i = 0; i < parts->cnt; i++) {
        for (int src = SRC_FEATURES; src <= SRC_SCORES; src++) {
            if (!*a->topics[src] || strcmp(parts->elems[i].topic, a->topics[src]) != 0)
                continue;
            int id = (src << 20) | parts->elems[i].partition;
            if (kind == SS_KAFKA_ASSIGNED)
                dwin_wm_add(a->wm, id, wall_ms());
            else
                dwin_wm_forget(a->wm, id);
        }
    }
}

static int ready_cb(ss_http_t *h, char *reason, size_t size, void *opaque) {
    (void)h;
    app_t *a = opaque;
    if (a->consumer && ss_kafka_consumer_assigned_count(a->consumer) > 0)
        return 1;
    snprintf(reason, size, "no partitions assigned");
    return 0;
}

static int decode_features(app_t *a, const rd_kafka_message_t *rkm, ss_err_t *err) {
    avro_value_t *v;
    if (ss_avro_reader_decode(a->feat_reader, rkm->payload, rkm->len, &v, NULL, err) < 0)
        return SS_ERR_DECODE;
    dmon_features_t f = {0};
    int rc = 0;
    rc |= ss_avro_get_str(v, "customer_id", &f.customer_id, NULL, err);
    rc |= ss_avro_get_long(v, "as_of", &f.as_of_ms, err);
    for (int i = 0; i < DMON_N_FEATURES; i++)
        rc |= ss_avro_get_double(v, dmon_series_names[i], &f.values[i], err);
    rc |= ss_avro_get_long(v, "frequency", &f.frequency, err);
    rc |= ss_avro_get_double(v, "avg_order", &f.avg_order, err);
    rc |= ss_avro_get_long(v, "last_order_time", &f.last_order_ms, err);
    if (rc || !f.customer_id)
        return SS_ERR_DECODE;
    /* Recency and lifetime are meaningless before the first purchase (returns only). */
    if (f.frequency == 0)
        f.values[0] = f.values[5] = NAN;
    if (dmon_features(a->mon, &f) != DWIN_OK)
        ss_metrics_counter_inc(a->late);
    dwin_wm_observe(a->wm, (SRC_FEATURES << 20) | rkm->partition, f.as_of_ms, wall_ms());
    return 0;
}

static int decode_score(app_t *a, const rd_kafka_message_t *rkm, ss_err_t *err) {
    avro_value_t *v;
    if (ss_avro_reader_decode(a->score_reader, rkm->payload, rkm->len, &v, NULL, err) < 0)
        return SS_ERR_DECODE;
    const char *cid = NULL;
    double p = NAN;
    int64_t t = 0;
    int rc = 0;
    rc |= ss_avro_get_str(v, "customer_id", &cid, NULL, err);
    rc |= ss_avro_get_double(v, "probability", &p, err);
    rc |= ss_avro_get_long(v, "scored_at", &t, err);
    if (rc || !cid)
        return SS_ERR_DECODE;
    if (dmon_score(a->mon, cid, t, p) != DWIN_OK)
        ss_metrics_counter_inc(a->late);
    dwin_wm_observe(a->wm, (SRC_SCORES << 20) | rkm->partition, t, wall_ms());
    return 0;
}

static void handle(app_t *a, const rd_kafka_message_t *rkm) {
    const char *topic = rd_kafka_topic_name(rkm->rkt);
    int src = -1;
    for (int i = 0; i < 3; i++)
        if (*a->topics[i] && strcmp(topic, a->topics[i]) == 0)
            src = i;
    if (src < 0)
        return;
    ss_metrics_counter_inc(a->ev_c[src]);
    ss_err_t err = SS_ERR_INIT;
    int rc = 0;
    if (src == SRC_DLQ)
        dmon_dlq(a->mon); /* any envelope counts: the payload is the broken input itself */
    else if (!rkm->payload)
        rc = ss_err_set(&err, SS_ERR_DECODE, "empty value");
    else if (src == SRC_FEATURES)
        rc = decode_features(a, rkm, &err);
    else
        rc = decode_score(a, rkm, &err);
    if (rc < 0 && (err.code == SS_ERR_RETRIABLE || err.code == SS_ERR_FATAL)) {
        /* the Schema Registry is unreachable: the event may be fine; stop without storing */
        SS_LOG(LOG_ERR, "drift", "cannot decode event: %s topic=%s partition=%d offset=%lld",
               err.msg, topic, (int)rkm->partition, (long long)rkm->offset);
        a->fatal = 1;
    } else if (rc < 0) {
        /* Our inputs are other services' outputs: a bad one is counted and skipped. */
        ss_metrics_counter_inc(a->dec_c[src]);
        SS_LOG(LOG_WARNING, "drift", "cannot decode event: %s topic=%s partition=%d offset=%lld",
               err.msg, topic, (int)rkm->partition, (long long)rkm->offset);
    }
}

/* Each alert event: DriftAlert to Kafka (key = fingerprint), and queued for Alertmanager. */
static void on_alert(const dalert_event_t *ev, void *opaque) {
    app_t *a = opaque;
    ss_err_t err = SS_ERR_INIT;
    avro_value_t *v = ss_avro_writer_value(a->alert_writer);
    ss_buf_reset(&a->out);
    if (dalert_to_avro(ev, v, &err) < 0 ||
        ss_avro_writer_encode(a->alert_writer, &a->out, &err) < 0) {
        SS_LOG(LOG_ERR, "drift", "cannot encode alert: %s", err.msg);
        a->fatal = 1;
        return;
    }
    int rc = ss_kafka_produce(a->producer, ss_cfg_str(a->cfg, "topic.alerts"), ev->fingerprint,
                              strlen(ev->fingerprint), a->out.buf, a->out.len, &err);
    if (rc < 0) {
        SS_LOG(LOG_ERR, "drift", "cannot produce alert: %s", err.msg);
        if (rc == SS_ERR_FATAL)
            a->fatal = 1;
    } else {
        ss_metrics_counter_inc(a->produced);
    }
    SS_LOG(LOG_NOTICE, "drift", "alert %s %s severity=%s fingerprint=%s value=%.4g: %s", ev->name,
           ev->status == DALERT_FIRING ? "firing" : "resolved", dalert_severity_name(ev->severity),
           ev->fingerprint, ev->value, ev->summary);
    if (a->am_batch && ev->reason != DALERT_REPEAT)
        dalert_am_append(a->am_batch, ev, NULL);
}

static void queue_active(const dalert_event_t *ev, void *opaque) {
    app_t *a = opaque;
    dalert_am_append(a->am_batch, ev, NULL);
}

static size_t curl_discard(char *p, size_t size, size_t n, void *opaque) {
    (void)p;
    (void)opaque;
    return size * n;
}

/* POSTs the queued alerts. On failure they stay queued for the next loop (up to 1000; beyond
 * that they are dropped: the periodic resend carries every firing alert again, and a lost
 * RESOLVED times out in Alertmanager after its resolve_timeout). */
static void am_push(app_t *a) {
    if (!a->curl || json_array_size(a->am_batch) == 0 || wall_ms() < a->am_retry_at)
        return;
    char url[1024];
    snprintf(url, sizeof(url), "%s/api/v2/alerts", ss_cfg_str(a->cfg, "alertmanager.url"));
    char *body = json_dumps(a->am_batch, JSON_COMPACT);
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(a->curl, CURLOPT_URL, url);
    curl_easy_setopt(a->curl, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(a->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(a->curl, CURLOPT_TIMEOUT_MS,
                     (long)ss_cfg_int(a->cfg, "alertmanager.timeout.ms"));
    curl_easy_setopt(a->curl, CURLOPT_WRITEFUNCTION, curl_discard);
    CURLcode cc = curl_easy_perform(a->curl);
    long status = 0;
    curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &status);
    if (cc != CURLE_OK || status / 100 != 2) {
        ss_metrics_counter_inc(a->am_fail);
        SS_LOG(LOG_WARNING, "drift", "alertmanager push failed: %s url=%s status=%ld",
               cc != CURLE_OK ? curl_easy_strerror(cc) : "bad status", url, status);
        curl_slist_free_all(hdr);
        free(body);
        a->am_retry_at = wall_ms() + 1000;
        /* Keep the batch (RESOLVED events included) for the next attempt, within reason. */
        if (json_array_size(a->am_batch) > 1000)
            json_array_clear(a->am_batch);
        return;
    } else {
        ss_metrics_counter_inc(a->am_ok);
        SS_LOG(LOG_INFO, "drift", "pushed %zu alerts to alertmanager",
               json_array_size(a->am_batch));
    }
    curl_slist_free_all(hdr);
    free(body);
    json_array_clear(a->am_batch);
}

static void register_metrics(app_t *a, ss_metrics_t *m) {
    const char *lbl[1] = {"source"};
    a->events = ss_metrics_counter_family(m, "streamscore_drift_events_total",
                                          "events consumed per input", lbl, 1);
    a->decode_errors = ss_metrics_counter_family(m, "streamscore_drift_decode_errors_total",
                                                 "events that did not decode (skipped)", lbl, 1);
    const char *names[3] = {"features", "scores", "dlq"};
    for (int i = 0; i < 3; i++) {
        a->ev_c[i] = ss_metrics_counter_child(a->events, &names[i]);
        a->dec_c[i] = ss_metrics_counter_child(a->decode_errors, &names[i]);
    }
    a->late = ss_metrics_counter(m, "streamscore_drift_events_dropped_total",
                                 "events whose window had closed (late) or far ahead (outliers)");
    a->produced = ss_metrics_counter(m, "streamscore_drift_alerts_produced_total",
                                     "DriftAlert messages produced");
    a->am_ok = ss_metrics_counter(m, "streamscore_drift_alertmanager_pushes_total",
                                  "successful pushes to Alertmanager");
    a->am_fail = ss_metrics_counter(m, "streamscore_drift_alertmanager_failures_total",
                                    "failed pushes to Alertmanager");
    a->watermark = ss_metrics_gauge(m, "streamscore_drift_watermark_timestamp_seconds",
                                    "event-time watermark");
}

static int monitor_opts(const ss_cfg_t *cfg, const churn_meta_t *meta, dmon_opts_t *o) {
    memset(o, 0, sizeof(*o));
    o->win.window_ms = ss_cfg_int(cfg, "window.ms");
    o->win.lateness_ms = 0; /* applied by the partition watermark */
    o->win.min_samples = (uint64_t)ss_cfg_int(cfg, "min.samples");
    o->win.reference_windows = (int)ss_cfg_int(cfg, "reference.windows");
    o->win.sample_cap = (size_t)ss_cfg_int(cfg, "sample.cap");
    o->win.history_windows = (int)ss_cfg_int(cfg, "dq.history.windows");
    o->alert.for_windows = (int)ss_cfg_int(cfg, "alert.for.windows");
    o->alert.clear_windows = (int)ss_cfg_int(cfg, "alert.clear.windows");
    o->alert.clear_ratio = ss_cfg_double(cfg, "alert.clear.ratio");
    o->alert.repeat_ms = ss_cfg_int(cfg, "alert.repeat.ms");
    if (o->alert.repeat_ms == 0)
        o->alert.repeat_ms = -1;
    o->cust.horizon_ms = ss_cfg_int(cfg, "quality.horizon.days") * DWIN_DAY_MS;
    o->series = ss_cfg_str(cfg, "series");
    o->psi_warning = ss_cfg_double(cfg, "psi.warning");
    o->psi_critical = ss_cfg_double(cfg, "psi.critical");
    o->volume_low = ss_cfg_double(cfg, "dq.volume.low");
    o->volume_high = ss_cfg_double(cfg, "dq.volume.high");
    if (o->volume_low == 0)
        o->volume_low = -1;
    if (o->volume_high == 0)
        o->volume_high = -1;
    o->dlq_rate_warning = ss_cfg_double(cfg, "dq.dlq.rate.warning");
    o->dlq_rate_critical = ss_cfg_double(cfg, "dq.dlq.rate.critical");
    o->dlq_ratio = ss_cfg_double(cfg, "dq.dlq.ratio");
    o->quality_min_samples = (size_t)ss_cfg_int(cfg, "quality.min.samples");
    o->auc_baseline = ss_cfg_double(cfg, "quality.auc.baseline");
    o->auc_drop_warning = ss_cfg_double(cfg, "quality.auc.drop.warning");
    o->auc_drop_critical = ss_cfg_double(cfg, "quality.auc.drop.critical");
    o->model_version = ss_cfg_str(cfg, "model.version");
    o->artifact = meta;
    return 0;
}

int main(int argc, char **argv) {
    app_t a = {.out = SS_BUF_INIT};
    ss_err_t *err = &a.err;
    churn_model_t *model = NULL;
    ss_metrics_t *m = NULL;
    ss_http_t *http = NULL;
    ss_schemareg_t *sr = NULL;
    rd_kafka_message_t *msgs[500];
    int rc = 1;

    ss_log_init("drift");
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    a.cfg = ss_cfg_new("drift", "feature, prediction and data-quality drift monitor", defs,
                       sizeof(defs) / sizeof(defs[0]));
    if ((rc = ss_cfg_load(a.cfg, argc, argv, err)) < 0) {
        rc = rc == SS_ERR_EXIT ? 0 : 2;
        if (rc)
            fprintf(stderr, "streamscore-drift: %s\n", err->msg);
        goto out;
    }
    rc = 1;

    /* Schemas, the optional model artifact, metrics. */
    int32_t feat_id, score_id, alert_id;
    if (!(a.reg = ss_schemareg_open(
              a.cfg,
              (const char *[]){"topic.features", "topic.scores", "topic.dlq", "topic.alerts", NULL},
              &sr, err)) ||
        ss_avro_reg_current_id(a.reg, "streamscore.CustomerFeatures", &feat_id, err) < 0 ||
        ss_avro_reg_current_id(a.reg, "streamscore.ChurnScore", &score_id, err) < 0 ||
        ss_avro_reg_current_id(a.reg, "streamscore.DriftAlert", &alert_id, err) < 0 ||
        !(a.feat_reader = ss_avro_reader_new(a.reg, feat_id, err)) ||
        !(a.score_reader = ss_avro_reader_new(a.reg, score_id, err)) ||
        !(a.alert_writer = ss_avro_writer_new(a.reg, alert_id, err)))
        goto fail;
    if (*ss_cfg_str(a.cfg, "model.path")) {
        if (!(model = churn_model_load(ss_cfg_str(a.cfg, "model.path"), err)))
            goto fail;
        const churn_meta_t *meta = churn_model_meta(model);
        SS_LOG(LOG_INFO, "drift", "model artifact loaded version=%s references=%s", meta->version,
               meta->has_reference ? "yes" : "no");
    }
    m = ss_metrics_new();
    ss_metrics_add_build_info(m, "drift", NULL);
    ss_metrics_add_process(m);
    register_metrics(&a, m);

    /* The monitor (windows, references, alerts). */
    dmon_opts_t mo;
    monitor_opts(a.cfg, model ? churn_model_meta(model) : NULL, &mo);
    if (!(a.mon = dmon_new(&mo, m, err)))
        goto fail;
    churn_model_destroy(model); /* references were copied */
    model = NULL;
    a.wm = dwin_wm_new(ss_cfg_int(a.cfg, "watermark.idle.ms"),
                       ss_cfg_int(a.cfg, "window.lateness.ms"));

    /* Alertmanager client (optional). */
    if (*ss_cfg_str(a.cfg, "alertmanager.url")) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        a.curl = curl_easy_init();
        a.am_batch = json_array();
    }

    /* Kafka. */
    a.topics[SRC_FEATURES] = ss_cfg_str(a.cfg, "topic.features");
    a.topics[SRC_SCORES] = ss_cfg_str(a.cfg, "topic.scores");
    a.topics[SRC_DLQ] = ss_cfg_str(a.cfg, "topic.dlq");
    const char *sub[3];
    size_t nsub = 0;
    for (int i = 0; i < 3; i++)
        if (*a.topics[i])
            sub[nsub++] = a.topics[i];
    ss_kafka_consumer_opts_t co = {.topics = sub,
                                   .topic_count = nsub,
                                   .client_id = "streamscore-drift",
                                   .on_rebalance = on_rebalance,
                                   .opaque = &a,
                                   .session_timeout_ms =
                                       (int)ss_cfg_int(a.cfg, "session.timeout.ms")};
    ss_kafka_producer_opts_t po = {.client_id = "streamscore-drift"};
    if (!(a.producer = ss_kafka_producer_new(a.cfg, &po, err)) ||
        !(a.consumer = ss_kafka_consumer_new(a.cfg, &co, err)))
        goto fail;
    ss_kafka_consumer_metrics(a.consumer, m);
    ss_kafka_producer_metrics(a.producer, m);

    ss_http_opts_t ho = {.bind_addr = ss_cfg_str(a.cfg, "metrics.bind"),
                         .port = (int)ss_cfg_int(a.cfg, "metrics.port"),
                         .metrics = m,
                         .ready = ready_cb,
                         .ready_opaque = &a};
    if (!(http = ss_http_new(&ho, err)) || ss_http_start(http, err) < 0)
        goto fail;
    SS_LOG(LOG_INFO, "drift", "started group=%s features=%s scores=%s dlq=%s metrics.port=%d",
           ss_cfg_str(a.cfg, "group.id"), a.topics[0], a.topics[1], a.topics[2],
           ss_http_port(http));

    /* The loop: a batch in, windows closed on the watermark, alerts out, offsets stored. */
    int64_t next_resend = wall_ms() + ss_cfg_int(a.cfg, "alertmanager.resend.ms");
    while (!stop && !a.fatal) {
        ss_http_heartbeat(http);
        int n = ss_kafka_consumer_poll_batch(a.consumer, msgs, 500, 200, err);
        if (n < 0)
            goto fail;
        for (int i = 0; i < n; i++)
            handle(&a, msgs[i]);
        int64_t wm = dwin_wm_get(a.wm, wall_ms());
        if (wm != INT64_MIN) {
            ss_metrics_gauge_set(a.watermark, (double)wm / 1000.0);
            if (dmon_advance(a.mon, wm, on_alert, &a, err) < 0) {
                ss_kafka_msgs_destroy(msgs, (size_t)n);
                goto fail;
            }
        }
        ss_kafka_producer_poll(a.producer, 0);
        if (a.fatal || ss_kafka_producer_check(a.producer, err) < 0 ||
            ss_kafka_consumer_store(a.consumer, msgs, (size_t)n, err) < 0) {
            ss_kafka_msgs_destroy(msgs, (size_t)n);
            goto fail;
        }
        ss_kafka_msgs_destroy(msgs, (size_t)n);
        if (a.curl && wall_ms() >= next_resend) {
            dmon_foreach_active(a.mon, queue_active, &a);
            next_resend = wall_ms() + ss_cfg_int(a.cfg, "alertmanager.resend.ms");
        }
        am_push(&a);
    }
    if (a.fatal)
        goto fail;
    rc = 0;
    if (ss_kafka_producer_flush(a.producer, 10000, err) < 0)
        goto fail;
    goto out;
fail:
    SS_LOG(LOG_ERR, "drift", "%s", err->msg);
    fprintf(stderr, "streamscore-drift: %s\n", err->msg[0] ? err->msg : "fatal error");
    rc = 1;
out:
    ss_http_destroy(http);
    ss_kafka_consumer_destroy(a.consumer);
    ss_kafka_producer_destroy(a.producer);
    dmon_destroy(a.mon);
    dwin_wm_destroy(a.wm);
    churn_model_destroy(model);
    ss_avro_reader_destroy(a.feat_reader);
    ss_avro_reader_destroy(a.score_reader);
    ss_avro_writer_destroy(a.alert_writer);
    ss_avro_reg_destroy(a.reg);
    ss_schemareg_destroy(sr);
    if (a.curl) {
        curl_easy_cleanup(a.curl);
        curl_global_cleanup();
    }
    json_decref(a.am_batch);
    ss_buf_release(&a.out);
    ss_metrics_destroy(m);
    ss_cfg_destroy(a.cfg);
    return rc;
}
