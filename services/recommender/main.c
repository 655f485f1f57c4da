/* streamscore-recommender: consumes `transactions` in its own consumer group, keeps the
 * incremental item-item cosine state (itemcf.h) in memory, produces a Recommendation after every
 * applied purchase of an identified customer on `recommendations` (key customer_id), answers
 * GET /v1/customers/{id}/recommendations?n=5 and /metrics, and checkpoints: flush the producer,
 * write a snapshot of the state to Redis, then store the offsets of everything it covers.
 *   streamscore-recommender -c stack.conf [--key=value ...]
 *   streamscore-recommender evaluate [--format online-retail] [--eval.cutoff DATE] FILE
 * Design and numbers: docs/recommendations.md. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itemcf.h"
#include "reco_api.h"
#include "reco_eval.h"
#include "replay_csv.h"
#include "replay_input.h"
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
#include "ss_txn.h"

static const ss_cfg_def_t defs[] = {
    {"brokers", SS_CFG_STR, "127.0.0.1:9092", 0, 0, "Kafka bootstrap servers", 0, NULL},
    {"redis.host", SS_CFG_STR, "127.0.0.1", 0, 0, "Redis host (snapshots)", 0, NULL},
    {"redis.port", SS_CFG_INT, "6379", 1, 65535, "Redis port", 0, NULL},
    {"redis.user", SS_CFG_STR, "", 0, 0, "Redis ACL user (empty: the default user)", 0},
    {"redis.password", SS_CFG_STR, "", 0, 0, "Redis AUTH password", SS_CFG_SECRET, NULL},
    {"redis.prefix", SS_CFG_STR, "ss:reco:", 0, 0,
     "prefix of the Redis keys (the snapshot is <prefix>snapshot)", 0, NULL},
    {"group.id", SS_CFG_STR, "streamscore-recommender", 0, 0,
     "consumer group: its own, so the features service's ingest is never slowed", 0, NULL},
    {"topic.transactions", SS_CFG_STR, "transactions", 0, 0, "input topic", 0, NULL},
    {"topic.recommendations", SS_CFG_STR, "recommendations", 0, 0, "output topic", 0, NULL},
    {"schemas.dir", SS_CFG_STR, SS_SOURCE_DIR "/schemas", 0, 0,
     "directory with the schema manifest", 0, NULL},
    SS_SCHEMAREG_CFG_DEFS,
    {"metrics.port", SS_CFG_INT, "0", 0, 65535,
     "port of /metrics, /livez, /readyz and the lookup API (0 = off)", 0, NULL},
    {"metrics.bind", SS_CFG_STR, "127.0.0.1", 0, 0, "numeric address of the HTTP listener", 0,
     NULL},
    {"session.timeout.ms", SS_CFG_INT, "45000", 1000, 300000, "consumer group session timeout", 0,
     NULL},
    {"batch.size", SS_CFG_INT, "500", 1, 100000, "messages per poll batch", 0, NULL},
    {"reco.n", SS_CFG_INT, "5", 1, RECO_N_MAX, "products per Recommendation event", 0, NULL},
    {"reco.neighbours", SS_CFG_INT, "10", 1, 1000,
     "most similar other products taken per bought product", 0, NULL},
    {"snapshot.interval.ms", SS_CFG_INT, "10000", 100, 86400000,
     "checkpoint period: flush, snapshot to Redis, store offsets", 0, NULL},
    {"format", SS_CFG_STR, "native", 0, 0, "evaluate: input format", 0,
     "native|online-retail|store-item"},
    {"eval.cutoff", SS_CFG_STR, "", 0, 0,
     "evaluate: train before this time (ISO date), test each customer's next purchase at/after "
     "it; empty = the purchase at 80 %",
     0, NULL},
    {"eval.timing", SS_CFG_BOOL, "true", 0, 0,
     "evaluate: recommend after every purchase and report the per-purchase cost", 0, NULL},
};

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

typedef struct app {
    const ss_cfg_t *cfg;
    icf_t *icf; /* guarded by lock (main thread writes, HTTP thread reads) */
    pthread_mutex_t lock;
    ss_redis_t *redis;
    char snap_key[256];
    ss_kafka_consumer_t *consumer;
    ss_kafka_producer_t *producer;
    ss_avro_writer_t *writer;
    const char *topic_out;
    size_t n;
    rd_kafka_topic_partition_list_t *pending; /* next offsets covered by the next snapshot */
    double last_ckpt_s;
    atomic_int loaded; /* 1 once the state is restored (readiness) */
    int failed;        /* 1 after a fatal error: no checkpoint on the way out */
    /* metrics (borrowed from the registry) */
    ss_metrics_counter_t *processed, *produced, *snapshots, *snapshot_failures;
    ss_metrics_counter_t *res[5]; /* applied, duplicate, conflict, ignored, invalid */
    ss_metrics_histogram_t *h_update, *h_recommend, *h_snapshot;
    ss_metrics_gauge_t *g_products, *g_customers, *g_pairs, *g_cells, *g_bytes, *g_snap_bytes;
    ss_metrics_gauge_t *g_as_of;
    ss_metrics_counter_t *lookups[2]; /* by icf_method_t */
} app_t;

static const char *const result_names[] = {"applied", "duplicate", "conflict", "ignored",
                                           "invalid"};

static void register_metrics(app_t *a, ss_metrics_t *m) {
    ss_metrics_family_t *f;
    ss_metrics_add_build_info(m, "recommender", NULL);
    ss_metrics_add_process(m);
    a->processed = ss_metrics_counter(m, "streamscore_events_processed_total",
                                      "Transaction events consumed and handled.");
    f = ss_metrics_counter_family(m, "streamscore_reco_orders_total",
                                  "Transaction events by outcome in the recommender state.",
                                  (const char *[]){"result"}, 1);
    for (int i = 0; i < 5; i++)
        a->res[i] = ss_metrics_counter_child(f, (const char *[]){result_names[i]});
    a->produced = ss_metrics_counter(m, "streamscore_reco_produced_total",
                                     "Recommendation events produced (enqueued).");
    f = ss_metrics_histogram_family(m, "streamscore_processing_seconds",
                                    "Time to handle one event, by stage.",
                                    (const char *[]){"stage"}, 1, NULL, 0);
    a->h_update = ss_metrics_histogram_child(f, (const char *[]){"update"});
    a->h_recommend = ss_metrics_histogram_child(f, (const char *[]){"recommend"});
    a->h_snapshot = ss_metrics_histogram_child(f, (const char *[]){"snapshot"});
    a->snapshots =
        ss_metrics_counter(m, "streamscore_reco_snapshots_total",
                           "Snapshots written to Redis (each followed by an offset store).");
    a->snapshot_failures = ss_metrics_counter(m, "streamscore_reco_snapshot_failures_total",
                                              "Snapshot writes that failed (retried next period).");
    a->g_snap_bytes = ss_metrics_gauge(m, "streamscore_reco_snapshot_bytes",
                                       "Size of the last snapshot written.");
    a->g_products = ss_metrics_gauge(m, "streamscore_reco_products", "Distinct products.");
    a->g_customers = ss_metrics_gauge(m, "streamscore_reco_customers", "Distinct customers.");
    a->g_cells =
        ss_metrics_gauge(m, "streamscore_reco_cells", "Non-zero customer x product cells.");
    a->g_pairs =
        ss_metrics_gauge(m, "streamscore_reco_pairs", "Product pairs with a non-zero dot product.");
    a->g_bytes = ss_metrics_gauge(m, "streamscore_reco_state_bytes",
                                  "Bytes allocated by the in-memory state (approximate).");
    a->g_as_of = ss_metrics_gauge(m, "streamscore_reco_as_of_timestamp_seconds",
                                  "Latest event time applied (unix seconds).");
    f = ss_metrics_counter_family(m, "streamscore_reco_lookups_total",
                                  "Lookup API answers by method.", (const char *[]){"method"}, 1);
    for (int i = ICF_METHOD_COSINE; i <= ICF_METHOD_POPULAR; i++)
        a->lookups[i] = ss_metrics_counter_child(f, (const char *[]){icf_method_name(i)});
}

static void publish_gauges(app_t *a) {
    icf_stats_t st;
    pthread_mutex_lock(&a->lock);
    icf_stats(a->icf, &st);
    pthread_mutex_unlock(&a->lock);
    ss_metrics_gauge_set(a->g_products, (double)st.products);
    ss_metrics_gauge_set(a->g_customers, (double)st.customers);
    ss_metrics_gauge_set(a->g_cells, (double)st.entries);
    ss_metrics_gauge_set(a->g_pairs, (double)st.pairs);
    ss_metrics_gauge_set(a->g_bytes, (double)st.bytes_total);
    ss_metrics_gauge_set(a->g_as_of, (double)st.as_of_ms / 1000.0);
}

/* ---------------- lookup API (HTTP thread) ---------------- */

static void lookup(ss_http_t *h, const ss_http_request_t *req, ss_http_response_t *resp,
                   void *opaque) {
    app_t *a = opaque;
    char id[SS_ID_MAX + 1];
    icf_item_t items[RECO_N_MAX];
    reco_result_t r = {.customer_id = id, .items = items};
    ss_err_t err = SS_ERR_INIT;
    ss_buf_t body = SS_BUF_INIT;
    size_t n;
    (void)h;

    resp->content_type = "application/json";
    if (reco_parse_path(req->path, id, sizeof(id)) < 0) {
        resp->status = 404;
        ss_http_response_printf(resp, "{\"error\":\"no such endpoint\"}\n");
        return;
    }
    if (reco_parse_n(req->query, a->n, &n, &err) < 0) {
        resp->status = 400;
        ss_http_response_printf(resp, "{\"error\":\"%s\"}\n", err.msg);
        return;
    }
    pthread_mutex_lock(&a->lock);
    r.n = icf_recommend(a->icf, id, n, items, &r.method);
    r.as_of_ms = icf_as_of(a->icf);
    pthread_mutex_unlock(&a->lock);
    ss_metrics_counter_inc(a->lookups[r.method]);
    reco_json(&r, &body);
    ss_buf_addch(&body, '\n');
    ss_http_response_append(resp, body.buf, body.len);
    ss_buf_release(&body);
}

static int ready(ss_http_t *h, char *reason, size_t size, void *opaque) {
    app_t *a = opaque;
    (void)h;
    if (!atomic_load(&a->loaded)) {
        snprintf(reason, size, "state not loaded yet");
        return 0;
    }
    if (ss_kafka_consumer_assigned_count(a->consumer) <= 0) {
        snprintf(reason, size, "no partitions assigned");
        return 0;
    }
    return 1;
}

/* ---------------- state: load and checkpoint ---------------- */

/* Loads <prefix>snapshot, or starts empty when there is none. Waits for Redis while it is
 * unreachable (until a signal). */
static int load_state(app_t *a, ss_err_t *err) {
    redisReply *rep = NULL;
    for (;;) {
        int rc = ss_redis_command(a->redis, &rep, err, "GET %s", a->snap_key);
        if (rc == 0)
            break;
        if (rc != SS_ERR_RETRIABLE || stop)
            return rc;
        SS_LOG(LOG_WARNING, "reco", "cannot read snapshot, retrying: %s", err->msg);
        ss_err_clear(err);
        ss_redis_backoff(a->redis);
    }
    if (rep->type == REDIS_REPLY_STRING) {
        double t0 = ss_metrics_now();
        a->icf = icf_restore(
            rep->str, rep->len,
            &(icf_opts_t){.neighbours = (uint32_t)ss_cfg_int(a->cfg, "reco.neighbours")}, err);
        if (!a->icf) {
            freeReplyObject(rep);
            return ss_err_set(err, SS_ERR_FATAL,
                              "snapshot '%s' unusable (%s); delete it to start empty", a->snap_key,
                              err->msg);
        }
        SS_LOG(LOG_NOTICE, "reco", "state restored key=%s bytes=%zu seconds=%.3f", a->snap_key,
               (size_t)rep->len, ss_metrics_now() - t0);
    } else {
        a->icf =
            icf_new(&(icf_opts_t){.neighbours = (uint32_t)ss_cfg_int(a->cfg, "reco.neighbours")});
        SS_LOG(LOG_NOTICE, "reco", "no snapshot at key=%s: starting empty", a->snap_key);
    }
    freeReplyObject(rep);
    atomic_store(&a->loaded, 1);
    return 0;
}

/* Remembers that everything up to rkm is applied (stored at the next checkpoint). */
static void pending_add(app_t *a, const rd_kafka_message_t *rkm) {
    const char *topic = rd_kafka_topic_name(rkm->rkt);
    rd_kafka_topic_partition_t *tp =
        rd_kafka_topic_partition_list_find(a->pending, topic, rkm->partition);
    if (!tp)
        tp = rd_kafka_topic_partition_list_add(a->pending, topic, rkm->partition);
    if (tp->offset < rkm->offset + 1)
        tp->offset = rkm->offset + 1;
}

/* Flush the producer (every Recommendation of the covered events is delivered), write the
 * snapshot, then store the covered offsets. A failed delivery is fatal (restart replays from the
 * last stored offsets); a failed Redis write keeps the offsets pending for the next period. */
static int checkpoint(app_t *a, ss_err_t *err) {
    ss_buf_t snap = SS_BUF_INIT;
    const char *argv[3] = {"SET", a->snap_key, NULL};
    size_t argvlen[3];
    redisReply *rep = NULL;
    uint64_t failed;
    double t0 = ss_metrics_now();
    int rc;

    a->last_ckpt_s = t0;
    if (a->pending->cnt == 0)
        return 0;
    if ((rc = ss_kafka_producer_flush(a->producer, 30000, err)) < 0)
        return rc == SS_ERR_FATAL ? rc : 0;
    if ((failed = ss_kafka_producer_failed_take(a->producer)) > 0)
        return ss_err_set(err, SS_ERR_FATAL, "%llu recommendation(s) failed delivery",
                          (unsigned long long)failed);
    pthread_mutex_lock(&a->lock);
    icf_snapshot(a->icf, &snap);
    pthread_mutex_unlock(&a->lock);
    argv[2] = snap.buf;
    argvlen[0] = 3;
    argvlen[1] = strlen(a->snap_key);
    argvlen[2] = snap.len;
    rc = ss_redis_commandv(a->redis, 3, argv, argvlen, &rep, err);
    if (rep)
        freeReplyObject(rep);
    if (rc < 0) {
        ss_metrics_counter_inc(a->snapshot_failures);
        SS_LOG(LOG_WARNING, "reco", "snapshot not written, offsets stay pending: %s", err->msg);
        ss_buf_release(&snap);
        if (rc == SS_ERR_FATAL)
            return rc;
        ss_err_clear(err);
        return 0;
    }
    rd_kafka_offsets_store(ss_kafka_consumer_handle(a->consumer), a->pending);
    for (int i = 0; i < a->pending->cnt; i++)
        if (a->pending->elems[i].err)
            SS_LOG(LOG_NOTICE, "reco", "offset not stored: %s topic=%s partition=%d",
                   rd_kafka_err2str(a->pending->elems[i].err), a->pending->elems[i].topic,
                   (int)a->pending->elems[i].partition);
    rd_kafka_topic_partition_list_destroy(a->pending);
    a->pending = rd_kafka_topic_partition_list_new(16);
    ss_metrics_counter_inc(a->snapshots);
    ss_metrics_gauge_set(a->g_snap_bytes, (double)snap.len);
    ss_metrics_histogram_observe(a->h_snapshot, ss_metrics_now() - t0);
    SS_LOG(LOG_DEBUG, "reco", "checkpoint bytes=%zu seconds=%.3f", snap.len, ss_metrics_now() - t0);
    ss_buf_release(&snap);
    return 0;
}

static void on_rebalance(ss_kafka_consumer_t *c, ss_kafka_rebalance_t kind,
                         const rd_kafka_topic_partition_list_t *parts, void *opaque) {
    app_t *a = opaque;
    ss_err_t err = SS_ERR_INIT;
    (void)c;
    SS_LOG(LOG_NOTICE, "reco", "rebalance: %s %d partition(s)",
           kind == SS_KAFKA_ASSIGNED  ? "assigned"
           : kind == SS_KAFKA_REVOKED ? "revoked"
                                      : "lost",
           parts->cnt);
    /* store what the state covers while the partitions are still ours */
    if (kind == SS_KAFKA_REVOKED && a->icf && !a->failed && checkpoint(a, &err) < 0)
        SS_LOG(LOG_ERR, "reco", "checkpoint at revoke failed: %s", err.msg);
}

/* ---------------- one event ---------------- */

/* Decodes, applies and, for an applied purchase, produces its Recommendation. Bad input is
 * counted and skipped (the features service dead-letters it). Returns 0 or a fatal error. */
static int handle(app_t *a, ss_avro_txn_codec_t *codec, const rd_kafka_message_t *rkm, ss_txn_t *t,
                  ss_buf_t *out, ss_err_t *err) {
    ss_err_t why = SS_ERR_INIT;
    icf_item_t items[RECO_N_MAX];
    reco_result_t r = {.items = items};
    icf_status_t st;
    double t0, t1;
    int rc;

    ss_metrics_counter_inc(a->processed);
    rc = ss_avro_txn_decode(codec, rkm->payload, rkm->len, t, &why);
    if (rc == SS_ERR_RETRIABLE || rc == SS_ERR_FATAL) /* Schema Registry unreachable */
        return ss_err_set(err, rc, "%s", why.msg);
    if (rc < 0 || ss_txn_validate(t, NULL, &why) < 0) {
        ss_metrics_counter_inc(a->res[4]);
        SS_LOG(LOG_DEBUG, "reco", "skipped invalid event: %s partition=%d offset=%lld", why.msg,
               (int)rkm->partition, (long long)rkm->offset);
        return 0;
    }
    t0 = ss_metrics_now();
    pthread_mutex_lock(&a->lock);
    rc = icf_apply(a->icf, t, &st, &why);
    t1 = ss_metrics_now();
    if (rc == 0 && st == ICF_APPLIED)
        r.n = icf_recommend(a->icf, t->customer_id, a->n, items, &r.method);
    pthread_mutex_unlock(&a->lock);
    if (rc < 0) {
        ss_metrics_counter_inc(a->res[4]);
        return 0;
    }
    ss_metrics_counter_inc(a->res[st]);
    ss_metrics_histogram_observe(a->h_update, t1 - t0);
    if (st != ICF_APPLIED)
        return 0;
    ss_metrics_histogram_observe(a->h_recommend, ss_metrics_now() - t1);
    r.customer_id = t->customer_id;
    r.as_of_ms = t->event_time_ms;
    ss_buf_reset(out);
    if ((rc = reco_encode(a->writer, &r, out, err)) < 0)
        return ss_err_set(err, SS_ERR_FATAL, "cannot encode Recommendation: %s", err->msg);
    if ((rc = ss_kafka_produce(a->producer, a->topic_out, t->customer_id, strlen(t->customer_id),
                               out->buf, out->len, err)) < 0)
        return rc;
    ss_metrics_counter_inc(a->produced);
    return 0;
}

/* ---------------- evaluate ---------------- */

static void eval_get(void *opaque, size_t i, ss_txn_t *t) { rcsv_get(opaque, i, t); }

static int evaluate(const ss_cfg_t *cfg, const char *path, ss_err_t *err) {
    rcsv_opts_t ro = {0};
    rcsv_t *csv = NULL;
    rin_t *in = NULL;
    reco_eval_opts_t eo = {0};
    reco_eval_result_t res;
    char buf[1 << 16];
    ssize_t got;
    int rc;

    if ((rc = rcsv_format_parse(ss_cfg_str(cfg, "format"), &ro.format, err)) < 0)
        return rc;
    if (*ss_cfg_str(cfg, "eval.cutoff") &&
        (rc = rcsv_parse_time(ss_cfg_str(cfg, "eval.cutoff"), &eo.cutoff_ms, err)) < 0)
        return rc;
    eo.n = (size_t)ss_cfg_int(cfg, "reco.n");
    eo.neighbours = (uint32_t)ss_cfg_int(cfg, "reco.neighbours");
    eo.timing = ss_cfg_bool(cfg, "eval.timing");
    if (!(in = rin_open(path, err)))
        return SS_ERR_IO;
    csv = rcsv_new(&ro);
    while ((got = rin_read(in, buf, sizeof(buf), err)) > 0)
        if ((rc = rcsv_feed(csv, buf, (size_t)got, err)) < 0)
            goto out;
    if (got < 0 || (rc = rin_close(in, err)) < 0 || (rc = rcsv_finish(csv, err)) < 0) {
        rc = rc ? rc : SS_ERR_IO;
        in = NULL;
        goto out;
    }
    in = NULL;
    if ((rc = reco_eval_run(rcsv_count(csv), eval_get, csv, &eo, &res, err)) == 0)
        reco_eval_print(&res, eo.n, stdout);
out:
    rin_close(in, NULL);
    rcsv_destroy(csv);
    return rc;
}

/* ---------------- main ---------------- */

int main(int argc, char **argv) {
    ss_err_t err = SS_ERR_INIT;
    ss_cfg_t *cfg;
    app_t a = {0};
    ss_metrics_t *metrics = NULL;
    ss_http_t *http = NULL;
    ss_avro_reg_t *reg = NULL;
    ss_schemareg_t *sr = NULL;
    ss_avro_txn_codec_t *codec = NULL;
    ss_txn_t txn = SS_TXN_INIT;
    ss_buf_t out = SS_BUF_INIT;
    rd_kafka_message_t **msgs = NULL;
    size_t batch;
    int32_t rec_id;
    int rc;

    ss_log_init("recommender");
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    cfg = ss_cfg_new("recommender", "streaming item-item recommendations", defs,
                     sizeof(defs) / sizeof(defs[0]));
    ss_cfg_set_usage(cfg, "[evaluate FILE]");
    if ((rc = ss_cfg_load(cfg, argc, argv, &err)) < 0) {
        rc = rc == SS_ERR_EXIT ? 0 : 2;
        if (rc)
            fprintf(stderr, "streamscore-recommender: %s\n", err.msg);
        ss_cfg_destroy(cfg);
        return rc;
    }
    if (ss_cfg_argc(cfg) > 0) {
        if (strcmp(ss_cfg_arg(cfg, 0), "evaluate") != 0 || ss_cfg_argc(cfg) != 2) {
            fprintf(stderr, "streamscore-recommender: usage: evaluate FILE\n");
            rc = 2;
        } else if ((rc = evaluate(cfg, ss_cfg_arg(cfg, 1), &err)) < 0) {
            fprintf(stderr, "streamscore-recommender: %s\n", err.msg);
            rc = 1;
        }
        ss_cfg_destroy(cfg);
        return rc;
    }

    a.cfg = cfg;
    a.n = (size_t)ss_cfg_int(cfg, "reco.n");
    a.topic_out = ss_cfg_str(cfg, "topic.recommendations");
    a.pending = rd_kafka_topic_partition_list_new(16);
    pthread_mutex_init(&a.lock, NULL);
    snprintf(a.snap_key, sizeof(a.snap_key), "%ssnapshot", ss_cfg_str(cfg, "redis.prefix"));
    batch = (size_t)ss_cfg_int(cfg, "batch.size");
    msgs = ss_xcalloc(batch, sizeof(*msgs));
    rc = 1;

    /* 1. metrics and the HTTP listener (ready once the state is loaded and partitions assigned) */
    metrics = ss_metrics_new();
    register_metrics(&a, metrics);
    {
        ss_http_opts_t ho = {.bind_addr = ss_cfg_str(cfg, "metrics.bind"),
                             .port = (int)ss_cfg_int(cfg, "metrics.port"),
                             .metrics = metrics,
                             .ready = ready,
                             .ready_opaque = &a};
        if (!(http = ss_http_new(&ho, &err)) ||
            ss_http_route(http, RECO_PATH_PREFIX, lookup, &a) < 0)
            goto fail;
    }

    /* 2. schemas, Redis, the state */
    if (!(reg = ss_schemareg_open(
              cfg, (const char *[]){"topic.transactions", "topic.recommendations", NULL}, &sr,
              &err)) ||
        !(codec = ss_avro_txn_codec_new(reg, &err)) ||
        ss_avro_reg_current_id(reg, "streamscore.Recommendation", &rec_id, &err) < 0 ||
        !(a.writer = ss_avro_writer_new(reg, rec_id, &err)))
        goto fail;
    a.redis = ss_redis_new(&(ss_redis_opts_t){.host = ss_cfg_str(cfg, "redis.host"),
                                              .port = (int)ss_cfg_int(cfg, "redis.port"),
                                              .user = ss_cfg_str(cfg, "redis.user"),
                                              .password = ss_cfg_str(cfg, "redis.password")});
    if (load_state(&a, &err) < 0)
        goto fail;

    /* 3. Kafka: producer first (the revoke callback may flush it), then the consumer */
    if (!(a.producer = ss_kafka_producer_new(
              cfg, &(ss_kafka_producer_opts_t){.client_id = "streamscore-recommender"}, &err)))
        goto fail;
    {
        const char *topics[] = {ss_cfg_str(cfg, "topic.transactions")};
        ss_kafka_consumer_opts_t co = {
            .topics = topics,
            .topic_count = 1,
            .client_id = "streamscore-recommender",
            .session_timeout_ms = (int)ss_cfg_int(cfg, "session.timeout.ms"),
            .on_rebalance = on_rebalance,
            .opaque = &a,
        };
        if (!(a.consumer = ss_kafka_consumer_new(cfg, &co, &err)))
            goto fail;
    }
    ss_kafka_consumer_metrics(a.consumer, metrics);
    ss_kafka_producer_metrics(a.producer, metrics);
    if (ss_http_start(http, &err) < 0)
        goto fail;
    SS_LOG(LOG_NOTICE, "reco", "running group=%s topic=%s out=%s http_port=%d",
           ss_cfg_str(cfg, "group.id"), ss_cfg_str(cfg, "topic.transactions"), a.topic_out,
           ss_http_port(http));
    a.last_ckpt_s = ss_metrics_now();

    /* 4. the loop: batch -> apply + recommend + produce -> periodic checkpoint */
    while (!stop) {
        int n;
        ss_http_heartbeat(http);
        if ((n = ss_kafka_consumer_poll_batch(a.consumer, msgs, batch, 100, &err)) < 0)
            goto fail;
        for (int i = 0; i < n; i++) {
            if (handle(&a, codec, msgs[i], &txn, &out, &err) < 0) {
                ss_kafka_msgs_destroy(msgs, (size_t)n);
                goto fail;
            }
            pending_add(&a, msgs[i]);
        }
        ss_kafka_msgs_destroy(msgs, (size_t)n);
        ss_kafka_producer_poll(a.producer, 0);
        if (n > 0)
            publish_gauges(&a);
        if (ss_metrics_now() - a.last_ckpt_s >= ss_cfg_int(cfg, "snapshot.interval.ms") / 1000.0 &&
            checkpoint(&a, &err) < 0)
            goto fail;
    }

    /* 5. orderly stop: last checkpoint, then leave the group (commits the stored offsets) */
    if (checkpoint(&a, &err) < 0)
        goto fail;
    if (ss_kafka_consumer_close(a.consumer, &err) < 0)
        SS_LOG(LOG_WARNING, "reco", "close: %s", err.msg);
    SS_LOG(LOG_NOTICE, "reco", "stopped");
    rc = 0;
    goto out;
fail:
    a.failed = 1;
    SS_LOG(LOG_ERR, "reco", "%s", err.msg);
    fprintf(stderr, "streamscore-recommender: %s\n", err.msg);
    rc = 1;
out:
    ss_http_destroy(http);
    ss_kafka_consumer_destroy(a.consumer);
    ss_kafka_producer_destroy(a.producer);
    ss_avro_writer_destroy(a.writer);
    ss_avro_txn_codec_destroy(codec);
    ss_avro_reg_destroy(reg);
    ss_schemareg_destroy(sr);
    ss_redis_destroy(a.redis);
    icf_destroy(a.icf);
    if (a.pending)
        rd_kafka_topic_partition_list_destroy(a.pending);
    ss_metrics_destroy(metrics);
    ss_txn_release(&txn);
    ss_buf_release(&out);
    free(msgs);
    pthread_mutex_destroy(&a.lock);
    ss_cfg_destroy(cfg);
    return rc;
}
