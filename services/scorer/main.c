/* streamscore-scorer: customer-features -> churn model -> churn-scores, with inactivity
 * re-scoring once per event-time day, model hot reload and the lookup API
 * GET /v1/customers/{id}/churn. See docs/churn.md "Scoring service".
 *   streamscore-scorer -c .stack/stack.conf --model.path churn-model [--metrics.port 9102]
 * Loop: poll a batch -> decode (bad events to the DLQ) -> score and apply -> due sweeps ->
 * flush the producer -> store the batch's offsets (only after every score was delivered). */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scorer_api.h"
#include "scorer_codec.h"
#include "scorer_model.h"
#include "scorer_pipe.h"
#include "scorer_replay.h"
#include "scorer_state.h"
#include "ss_avro.h"
#include "ss_cfg.h"
#include "ss_dlq.h"
#include "ss_err.h"
#include "ss_http.h"
#include "ss_kafka.h"
#include "ss_log.h"
#include "ss_metrics.h"
#include "ss_schemareg.h"

static const ss_cfg_def_t defs[] = {
    {"brokers", SS_CFG_STR, "127.0.0.1:9092", 0, 0, "Kafka bootstrap servers", 0},
    {"redis.host", SS_CFG_STR, "127.0.0.1", 0, 0, "unused (accepted from the stack conf)", 0},
    {"redis.port", SS_CFG_INT, "6379", 0, 65535, "unused (accepted from the stack conf)", 0},
    {"group.id", SS_CFG_STR, "streamscore-scorer", 0, 0, "consumer group of the scorer", 0},
    {"topic.features", SS_CFG_STR, "customer-features", 0, 0, "topic of CustomerFeatures", 0},
    {"topic.scores", SS_CFG_STR, "churn-scores", 0, 0, "topic the ChurnScore events go to", 0},
    {"topic.dlq", SS_CFG_STR, "transactions.dlq", 0, 0,
     "dead-letter topic for undecodable or invalid CustomerFeatures", 0},
    {"schemas.dir", SS_CFG_STR, SS_SOURCE_DIR "/schemas", 0, 0,
     "directory with the schema manifest", 0},
    SS_SCHEMAREG_CFG_DEFS,
    {"metrics.port", SS_CFG_INT, "0", 0, 65535,
     "port of /metrics, /livez, /readyz and the lookup API (0 = off)", 0},
    {"metrics.bind", SS_CFG_STR, "127.0.0.1", 0, 0, "address the HTTP listener binds", 0},
    {"model.path", SS_CFG_STR, "churn-model", 0, 0,
     "churn model artifact: directory, its manifest.json, or a bare XGBoost JSON model", 0},
    {"model.check.interval.ms", SS_CFG_INT, "5000", 0, 86400000,
     "how often the artifact's manifest is checked for a new model (0 = only on SIGHUP)", 0},
    {"model.threads", SS_CFG_INT, "1", 0, 64, "XGBoost prediction threads (0 = all cores)", 0},
    {"risk.high", SS_CFG_DOUBLE, "0", 0, 1,
     "probability above which risk is high (0 = the model's threshold, default 0.7)", 0},
    {"risk.medium", SS_CFG_DOUBLE, "0", 0, 1,
     "probability above which risk is medium (0 = the model's threshold, default 0.4)", 0},
    {"inactivity.enabled", SS_CFG_BOOL, "true", 0, 0,
     "re-score active customers once per event-time day", 0},
    {"inactivity.active.days", SS_CFG_INT, "365", 1, 36500,
     "customers with a purchase within this many days are re-scored", 0},
    {"sweep.chunk", SS_CFG_INT, "8192", 1, 1000000, "rows per prediction call during sweeps", 0},
    {"batch.size", SS_CFG_INT, "500", 1, 100000, "events per scoring batch", 0},
    {"batch.wait.ms", SS_CFG_INT, "100", 1, 60000, "longest wait to fill a batch", 0},
    {"session.timeout.ms", SS_CFG_INT, "45000", 1000, 300000, "group session timeout", 0},
    {"replay", SS_CFG_BOOL, "true", 0, 0,
     "rebuild the state at start from the features topic up to the committed offsets", 0},
    {"replay.timeout.ms", SS_CFG_INT, "120000", 1000, 86400000, "limit of the start-up replay", 0},
    {"flush.timeout.ms", SS_CFG_INT, "30000", 100, 3600000,
     "how long a batch waits for its scores' delivery reports", 0},
};

static volatile sig_atomic_t stop;
static volatile sig_atomic_t reload;

static void on_stop(int sig) {
    (void)sig;
    stop = 1;
}

static void on_hup(int sig) {
    (void)sig;
    reload = 1;
}

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Everything the callbacks need. */
typedef struct app {
    ss_kafka_producer_t *prod;
    ss_kafka_consumer_t *cons;
    const char *topic_scores;
    scorer_state_t *st;
    atomic_int ready;                   /* replay done */
    ss_metrics_counter_t *scores[2][3]; /* [reason][risk] */
    ss_metrics_family_t *model_info;
    ss_metrics_gauge_t *customers, *clock, *by_risk[3], *last_sweep;
} app_t;

static int emit(const scorer_score_t *s, const void *payload, size_t len, void *opaque) {
    app_t *a = opaque;
    ss_err_t err = SS_ERR_INIT;
    int rc = ss_kafka_produce(a->prod, a->topic_scores, s->customer_id, strlen(s->customer_id),
                              payload, len, &err);
    if (rc < 0) {
        SS_LOG(LOG_ERR, "scorer", "cannot produce score: %s key=%s", err.msg, s->customer_id);
        return rc;
    }
    ss_metrics_counter_inc(a->scores[s->reason][s->risk]);
    return 0;
}

static int ready(ss_http_t *h, char *reason, size_t size, void *opaque) {
    app_t *a = opaque;
    (void)h;
    if (!atomic_load(&a->ready)) {
        snprintf(reason, size, "rebuilding state");
        return 0;
    }
    if (!a->cons || ss_kafka_consumer_assigned_count(a->cons) == 0) {
        snprintf(reason, size, "no partitions assigned");
        return 0;
    }
    return 1;
}

static void collect(ss_metrics_t *m, void *opaque) {
    app_t *a = opaque;
    uint64_t n[3];
    (void)m;
    scorer_state_risk_counts(a->st, n);
    for (int i = 0; i < 3; i++)
        ss_metrics_gauge_set(a->by_risk[i], (double)n[i]);
    ss_metrics_gauge_set(a->customers, (double)scorer_state_customers(a->st));
}

static void metrics_init(ss_metrics_t *m, app_t *a) {
    static const char *const reasons[2] = {"event", "inactivity"};
    ss_metrics_family_t *f =
        ss_metrics_counter_family(m, "streamscore_churn_scores_total", "ChurnScore events produced",
                                  (const char *[]){"risk_level", "reason"}, 2);
    for (int r = 0; r < 2; r++)
        for (int k = 0; k < 3; k++)
            a->scores[r][k] = ss_metrics_counter_child(
                f, (const char *[]){churn_risk_name((churn_risk_t)k), reasons[r]});
    a->model_info =
        ss_metrics_gauge_family(m, "streamscore_churn_model_info", "the model in use (value 1)",
                                (const char *[]){"version"}, 1);
    a->customers = ss_metrics_gauge(m, "streamscore_churn_customers", "customers in the state");
    ss_metrics_family_t *br = ss_metrics_gauge_family(m, "streamscore_churn_customers_by_risk",
                                                      "customers per current risk level",
                                                      (const char *[]){"risk_level"}, 1);
    for (int k = 0; k < 3; k++)
        a->by_risk[k] =
            ss_metrics_gauge_child(br, (const char *[]){churn_risk_name((churn_risk_t)k)});
    a->clock = ss_metrics_gauge(m, "streamscore_churn_event_clock_seconds",
                                "event-time clock: largest features as_of seen (epoch s)");
    a->last_sweep =
        ss_metrics_gauge(m, "streamscore_churn_last_sweep_seconds",
                         "event-time midnight of the latest inactivity sweep (epoch s)");
    ss_metrics_add_collector(m, collect, a);
}

static void set_model_info(app_t *a, const char *version) {
    ss_metrics_gauge_family_hide(a->model_info);
    ss_metrics_gauge_set(ss_metrics_gauge_child(a->model_info, (const char *[]){version}), 1);
}

/* Thresholds: the configured ones where given, the model's otherwise. */
static int apply_thresholds(const ss_cfg_t *cfg, scorer_state_t *st, scorer_model_t *sm,
                            ss_err_t *err) {
    churn_thresholds_t t = churn_model_meta(scorer_model_current(sm))->thresholds;
    if (ss_cfg_double(cfg, "risk.high") > 0)
        t.high = ss_cfg_double(cfg, "risk.high");
    if (ss_cfg_double(cfg, "risk.medium") > 0)
        t.medium = ss_cfg_double(cfg, "risk.medium");
    return scorer_state_set_thresholds(st, &t, err);
}

int main(int argc, char **argv) {
    ss_err_t err = SS_ERR_INIT;
    ss_cfg_t *cfg;
    ss_avro_reg_t *reg = NULL;
    ss_schemareg_t *sr = NULL;
    scorer_codec_t *codec = NULL;
    scorer_model_t *sm = NULL;
    scorer_state_t *st = NULL;
    ss_metrics_t *metrics = NULL;
    ss_http_t *http = NULL;
    ss_dlq_t *dlq = NULL;
    rd_kafka_message_t **msgs = NULL;
    scorer_event_t *evs = NULL;
    scorer_pipe_stats_t stats = {0};
    app_t a = {0};
    int rc;

    ss_log_init("scorer");
    signal(SIGINT, on_stop);
    signal(SIGTERM, on_stop);
    signal(SIGHUP, on_hup);
    signal(SIGPIPE, SIG_IGN);
    cfg = ss_cfg_new("scorer", "churn scoring service: customer-features -> churn-scores", defs,
                     sizeof(defs) / sizeof(defs[0]));
    if ((rc = ss_cfg_load(cfg, argc, argv, &err)) < 0) {
        rc = rc == SS_ERR_EXIT ? 0 : 2;
        if (rc)
            fprintf(stderr, "streamscore-scorer: %s\n", err.msg);
        goto out;
    }
    rc = 1;
    const char *topic_features = ss_cfg_str(cfg, "topic.features");
    size_t batch = (size_t)ss_cfg_int(cfg, "batch.size");
    size_t chunk = (size_t)ss_cfg_int(cfg, "sweep.chunk");
    int inactivity = ss_cfg_bool(cfg, "inactivity.enabled");
    int64_t check_ms = ss_cfg_int(cfg, "model.check.interval.ms");
    a.topic_scores = ss_cfg_str(cfg, "topic.scores");

    /* model, schemas and the state */
    if (!(reg = ss_schemareg_open(
              cfg, (const char *[]){"topic.features", "topic.scores", "topic.dlq", NULL}, &sr,
              &err)) ||
        !(codec = scorer_codec_new(reg, &err)))
        goto fail;
    if (!(sm = scorer_model_new(ss_cfg_str(cfg, "model.path"),
                                (int)ss_cfg_int(cfg, "model.threads"), &err)))
        goto fail;
    scorer_opts_t so = {.active_ms = ss_cfg_int(cfg, "inactivity.active.days") * SCORER_DAY_MS};
    if (!(st = scorer_state_new(&so, &err)) || apply_thresholds(cfg, st, sm, &err) < 0)
        goto fail;
    a.st = st;
    SS_LOG(LOG_INFO, "scorer", "model loaded: version=%s high=%g medium=%g",
           scorer_model_version(sm), scorer_state_thresholds(st)->high,
           scorer_state_thresholds(st)->medium);

    /* observability and the lookup API */
    metrics = ss_metrics_new();
    ss_metrics_add_build_info(metrics, "scorer", NULL);
    ss_metrics_add_process(metrics);
    metrics_init(metrics, &a);
    set_model_info(&a, scorer_model_version(sm));
    ss_metrics_counter_t *reloads = ss_metrics_counter(
        metrics, "streamscore_churn_model_reloads_total", "models swapped in by hot reload");
    ss_metrics_counter_t *reload_failed = ss_metrics_counter(
        metrics, "streamscore_churn_model_reload_failures_total", "failed model reload attempts");
    ss_metrics_family_t *evf = ss_metrics_counter_family(
        metrics, "streamscore_churn_events_total", "CustomerFeatures events consumed by outcome",
        (const char *[]){"result"}, 1);
    ss_metrics_counter_t *ev_scored = ss_metrics_counter_child(evf, (const char *[]){"scored"});
    ss_metrics_counter_t *ev_stale = ss_metrics_counter_child(evf, (const char *[]){"stale"});
    ss_metrics_counter_t *ev_dlq = ss_metrics_counter_child(evf, (const char *[]){"dead_letter"});
    ss_metrics_histogram_t *batch_s = ss_metrics_histogram(
        metrics, "streamscore_churn_batch_seconds",
        "time to score and apply one batch of events (prediction included, sweeps excluded)", NULL,
        0);
    ss_metrics_histogram_t *sweep_s =
        ss_metrics_histogram(metrics, "streamscore_churn_sweep_seconds",
                             "time of one inactivity sweep over every active customer", NULL, 0);
    ss_metrics_counter_t *swept = ss_metrics_counter(metrics, "streamscore_churn_rescored_total",
                                                     "customers re-scored by inactivity sweeps");
    ss_http_opts_t ho = {.bind_addr = ss_cfg_str(cfg, "metrics.bind"),
                         .port = (int)ss_cfg_int(cfg, "metrics.port"),
                         .metrics = metrics,
                         .ready = ready,
                         .ready_opaque = &a};
    if (!(http = ss_http_new(&ho, &err)) ||
        ss_http_route(http, SCORER_API_PREFIX, scorer_api_handle, st) < 0 ||
        ss_http_start(http, &err) < 0)
        goto fail;

    /* producer and dead letters */
    ss_kafka_producer_opts_t po = {.client_id = "streamscore-scorer"};
    if (!(a.prod = ss_kafka_producer_new(cfg, &po, &err)) ||
        !(dlq = ss_dlq_new(a.prod, reg, ss_cfg_str(cfg, "topic.dlq"), "scorer", &err)))
        goto fail;
    ss_kafka_producer_metrics(a.prod, metrics);

    /* rebuild the state from what the group already processed */
    if (ss_cfg_bool(cfg, "replay")) {
        scorer_replay_opts_t ro = {.topic = topic_features,
                                   .group_id = ss_cfg_str(cfg, "group.id"),
                                   .sweep = inactivity,
                                   .sweep_chunk = chunk,
                                   .timeout_ms = (int)ss_cfg_int(cfg, "replay.timeout.ms"),
                                   .stop = &stop};
        scorer_pipe_stats_t rs = {0};
        uint64_t n = 0;
        if (scorer_replay(cfg, &ro, st, codec, scorer_model_current(sm), &rs, &n, &err) < 0)
            goto fail;
    }
    atomic_store(&a.ready, 1);

    ss_kafka_consumer_opts_t co = {.topics = (const char *[]){topic_features},
                                   .topic_count = 1,
                                   .client_id = "streamscore-scorer",
                                   .session_timeout_ms =
                                       (int)ss_cfg_int(cfg, "session.timeout.ms")};
    if (!(a.cons = ss_kafka_consumer_new(cfg, &co, &err)))
        goto fail;
    ss_kafka_consumer_metrics(a.cons, metrics);
    msgs = ss_xcalloc(batch, sizeof(*msgs));
    evs = ss_xcalloc(batch, sizeof(*evs));
    SS_LOG(LOG_INFO, "scorer", "consuming '%s' as group '%s', scores to '%s'", topic_features,
           ss_cfg_str(cfg, "group.id"), a.topic_scores);

    int64_t next_check = mono_ms() + check_ms;
    while (!stop) {
        ss_http_heartbeat(http);
        if (reload || (check_ms > 0 && mono_ms() >= next_check)) {
            int forced = reload;
            reload = 0;
            next_check = mono_ms() + check_ms;
            ss_err_t rerr = SS_ERR_INIT;
            int r = scorer_model_check(sm, forced, &rerr);
            if (r > 0) {
                ss_metrics_counter_inc(reloads);
                set_model_info(&a, scorer_model_version(sm));
                if (apply_thresholds(cfg, st, sm, &rerr) < 0)
                    SS_LOG(LOG_WARNING, "scorer", "keeping the thresholds: %s", rerr.msg);
                SS_LOG(LOG_NOTICE, "scorer", "model reloaded: version=%s high=%g medium=%g",
                       scorer_model_version(sm), scorer_state_thresholds(st)->high,
                       scorer_state_thresholds(st)->medium);
            } else if (r < 0) {
                ss_metrics_counter_inc(reload_failed);
                SS_LOG(LOG_WARNING, "scorer", "model reload failed, keeping version %s: %s",
                       scorer_model_version(sm), rerr.msg);
            }
        }
        int n = ss_kafka_consumer_poll_batch(a.cons, msgs, batch,
                                             (int)ss_cfg_int(cfg, "batch.wait.ms"), &err);
        if (n < 0)
            goto fail;
        size_t nev = 0;
        for (int i = 0; i < n; i++) {
            ss_err_t derr = SS_ERR_INIT;
            rd_kafka_message_t *rkm = msgs[i];
            if (scorer_codec_decode(codec, rkm->payload, rkm->len, &evs[nev], &derr) == 0) {
                nev++;
                continue;
            }
            if (derr.code == SS_ERR_RETRIABLE || derr.code == SS_ERR_FATAL) {
                /* the Schema Registry is unreachable: the event may be fine, so it is not
                 * dead-lettered; exit without storing and the restart reads it again */
                err = derr;
                goto fail_batch;
            }
            ss_metrics_counter_inc(ev_dlq);
            if (ss_dlq_publish(dlq, rkm, ss_dlq_code_for(derr.code), derr.msg, &err) < 0)
                goto fail_batch;
        }
        double t0 = ss_metrics_now();
        uint64_t before = stats.events, stale0 = stats.stale, sw0 = stats.swept;
        double sws0 = stats.sweep_seconds;
        int ran = 0;
        if (scorer_pipe_batch(st, codec, scorer_model_current(sm), evs, nev, inactivity, chunk,
                              emit, &a, &stats, &ran, &err) < 0)
            goto fail_batch;
        double dt = ss_metrics_now() - t0, dsw = stats.sweep_seconds - sws0;
        if (nev)
            ss_metrics_histogram_observe(batch_s, dt - dsw);
        if (ran) {
            /* a batch that crossed several days ran several sweeps: their mean per sweep */
            for (int k = 0; k < ran; k++)
                ss_metrics_histogram_observe(sweep_s, dsw / ran);
            ss_metrics_gauge_set(a.last_sweep, (double)scorer_state_last_sweep(st) / 1000.0);
            SS_LOG(LOG_INFO, "sweep", "%d sweep(s) up to %lld re-scored %llu customers in %.3f s",
                   ran, (long long)scorer_state_last_sweep(st),
                   (unsigned long long)(stats.swept - sw0), dt);
        }
        ss_metrics_counter_add(swept, (double)(stats.swept - sw0));
        ss_metrics_counter_add(ev_scored, (double)(stats.events - before));
        ss_metrics_counter_add(ev_stale, (double)(stats.stale - stale0));
        ss_metrics_gauge_set(a.clock, (double)scorer_state_clock(st) / 1000.0);
        /* at-least-once: offsets are stored only once every score (and dead letter) of the
         * batch is delivered */
        if (n > 0 || ss_kafka_producer_in_flight(a.prod) > 0) {
            if (ss_kafka_producer_flush(a.prod, (int)ss_cfg_int(cfg, "flush.timeout.ms"), &err) < 0)
                goto fail_batch;
            uint64_t lost = ss_kafka_producer_failed_take(a.prod);
            if (lost) {
                ss_err_set(&err, SS_ERR_FATAL, "%llu scores were not delivered",
                           (unsigned long long)lost);
                goto fail_batch;
            }
        }
        if (ss_kafka_consumer_store(a.cons, msgs, (size_t)n, &err) < 0)
            goto fail_batch;
        ss_kafka_msgs_destroy(msgs, (size_t)n);
        continue;
    fail_batch:
        ss_kafka_msgs_destroy(msgs, (size_t)n);
        goto fail;
    }
    SS_LOG(LOG_INFO, "scorer", "stopping: %llu events scored, %llu stale, %llu sweeps",
           (unsigned long long)stats.events, (unsigned long long)stats.stale,
           (unsigned long long)stats.sweeps);
    rc = 0;
    goto out;
fail:
    if (err.code == SS_ERR_EXIT) {
        rc = 0;
        goto out;
    }
    SS_LOG(LOG_ERR, "scorer", "%s", err.msg);
    rc = 1;
out:
    ss_kafka_consumer_destroy(a.cons);
    ss_dlq_destroy(dlq);
    ss_kafka_producer_destroy(a.prod);
    ss_http_destroy(http);
    ss_metrics_destroy(metrics);
    free(msgs);
    free(evs);
    scorer_state_destroy(st);
    scorer_model_destroy(sm);
    scorer_codec_destroy(codec);
    ss_avro_reg_destroy(reg);
    ss_schemareg_destroy(sr);
    ss_cfg_destroy(cfg);
    return rc;
}
