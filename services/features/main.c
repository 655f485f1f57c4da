/* streamscore-features: consumes `transactions` (consumer group, at-least-once), keeps the Redis
 * feature store (one EVALSHA per micro-batch, see fstore.h and docs/features.md), produces one
 * CustomerFeatures per applied customer order on `customer-features`, dead-letters bad input.
 *   streamscore-features [-c conf] [run]                 the service
 *   streamscore-features [-c conf] dump [--as-of T]      features of every customer, JSON lines
 *   streamscore-features [-c conf] dump-demand | dump-state
 * The loop: poll micro-batch -> decode + check (bad -> DLQ) -> fstore_apply (Redis down: pause,
 * back off, retry the same batch) -> produce features -> flush -> store offsets. */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fcheck.h"
#include "fstore.h"
#include "rfm.h"
#include "ss_avro.h"
#include "ss_cfg.h"
#include "ss_dlq.h"
#include "ss_err.h"
#include "ss_http.h"
#include "ss_kafka.h"
#include "ss_log.h"
#include "ss_metrics.h"
#include "ss_redis.h"
#include "ss_schemareg.h"

static const ss_cfg_def_t defs[] = {
    {"brokers", SS_CFG_STR, "127.0.0.1:9092", 0, 0, "Kafka bootstrap servers", 0},
    {"group.id", SS_CFG_STR, "streamscore-features", 0, 0, "consumer group", 0},
    {"topic.transactions", SS_CFG_STR, "transactions", 0, 0, "input topic", 0},
    {"topic.dlq", SS_CFG_STR, "transactions.dlq", 0, 0, "dead-letter topic", 0},
    {"topic.features", SS_CFG_STR, "customer-features", 0, 0, "CustomerFeatures output topic", 0},
    {"schemas.dir", SS_CFG_STR, SS_SOURCE_DIR "/schemas", 0, 0, "schema manifest directory", 0},
    SS_SCHEMAREG_CFG_DEFS,
    {"redis.host", SS_CFG_STR, "127.0.0.1", 0, 0, "Redis host", 0},
    {"redis.port", SS_CFG_INT, "6379", 1, 65535, "Redis port", 0},
    {"redis.user", SS_CFG_STR, "", 0, 0, "Redis ACL user (empty: the default user)", 0},
    {"redis.password", SS_CFG_STR, "", 0, 0, "Redis AUTH password", SS_CFG_SECRET},
    {"redis.prefix", SS_CFG_STR, "ss:", 0, 0, "prefix of every Redis key (docs/redis.md)", 0},
    {"redis.timeout.ms", SS_CFG_INT, "10000", 100, 600000, "Redis command timeout", 0},
    {"redis.backoff.max.ms", SS_CFG_INT, "5000", 10, 600000, "cap of the reconnect backoff", 0},
    {"metrics.port", SS_CFG_INT, "0", 0, 65535, "HTTP port of /metrics /livez /readyz (0 = off)",
     0},
    {"metrics.bind", SS_CFG_STR, "127.0.0.1", 0, 0, "numeric address of the HTTP listener", 0},
    {"batch.size", SS_CFG_INT, "8000", 1, 20000,
     "max orders per micro-batch (one atomic write; larger batches sum more demand per write)", 0},
    {"state.mode", SS_CFG_STR, "local", 0, 0,
     "script: the batch's arithmetic runs in Redis (features.lua); local: customer state cached "
     "in process for the assigned partitions, arithmetic in C, one fenced MULTI/EXEC write per "
     "batch (the write-only script with check.key=false; docs/features.md)",
     0},
    {"state.cache_max_customers", SS_CFG_INT, "1000000", 1, 1e9,
     "local mode: drop the in-process cache when it holds more customers, demand records and "
     "anonymous order ids together (reloads on touch)",
     0},
    {"batch.wait.ms", SS_CFG_INT, "20", 0, 10000, "max wait to fill a micro-batch", 0},
    {"output.max_pending_batches", SS_CFG_INT, "16", 1, 64,
     "batches whose outputs may be in flight before the loop waits for delivery (offsets are "
     "stored only after delivery)",
     0},
    {"session.timeout.ms", SS_CFG_INT, "45000", 1000, 300000, "consumer session timeout", 0},
    {"demand.allowed_lateness_ms", SS_CFG_INT, "3600000", -1, 1e12,
     "a store's day closes when its watermark passes day end + this; later sales of a closed "
     "day are still counted but flagged late (metric) (-1: days never close)",
     0},
    {"demand.tz_offset_min", SS_CFG_INT, "0", -840, 840,
     "event-time day = UTC + this offset in minutes", 0},
    {"retention.customer_days", SS_CFG_INT, "400", 0, 36500,
     "TTL of a customer's hash, refreshed on each update (0 = keep forever)", 0},
    {"retention.demand_days", SS_CFG_INT, "800", 0, 36500,
     "TTL of a (store, day) demand hash, refreshed on update (0 = keep forever)", 0},
    {"check.max_amount", SS_CFG_DOUBLE, "1e8", 0, 1e15, "orders above this amount are invalid", 0},
    {"check.max_future_ms", SS_CFG_INT, "7776000000", 1, 1e13,
     "events this far ahead of their partition's stream clock (max event time), or of the wall "
     "clock, are invalid (default 90 days)",
     0},
    {"check.max_past_ms", SS_CFG_INT, "34560000000", 1, 1e13,
     "events this far behind their partition's stream clock are invalid (default 400 days)", 0},
    {"check.max_bytes", SS_CFG_INT, "1048576", 64, 1e9, "larger messages are invalid", 0},
    {"check.key", SS_CFG_BOOL, "true", 0, 0,
     "dead-letter orders whose message key is not their customer_id (store_id when anonymous): "
     "a customer's state is owned by the consumer of its partition",
     0},
    {"as-of", SS_CFG_STR, "", 0, 0,
     "dump: as-of time, epoch ms or ISO UTC (default: latest event time in the store)", 0},
};

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

/* One micro-batch: the decoded orders that reach the store and where they came from. */
typedef struct fbatch {
    size_t cap, k; /* k orders in txns/ptrs/parts/msg_of/res */
    ss_txn_t *txns;
    const ss_txn_t **ptrs;
    int32_t *parts;
    size_t *msg_of; /* txns[i] came from msgs[msg_of[i]] */
    fstore_result_t *res;
    rd_kafka_message_t **msgs; /* borrowed from the pending list */
    uint64_t seq;              /* the pending entry's sequence number (output accounting) */
    double t0;                 /* processing start (metrics) */
} fbatch_t;

#define SS_FEATURES_RING 256 /* > output.max_pending_batches + 2 */

/* A polled batch's messages, kept until its offsets are stored (see complete_pending). */
typedef struct pending {
    rd_kafka_message_t **msgs;
    size_t n;
    uint64_t seq;
} pending_t;

typedef struct app {
    const ss_cfg_t *cfg;
    ss_redis_t *r;
    fstore_t *fs;
    fcheck_t check;
    ss_avro_reg_t *reg;
    ss_avro_txn_codec_t *codec;
    ss_avro_flat_t *fw; /* CustomerFeatures */
    ss_kafka_producer_t *prod;
    ss_kafka_consumer_t *cons;
    ss_dlq_t *dlq;
    const char *topic_features;
    size_t max_bytes;
    /* Three batch slots (local mode): while Redis writes the held batch, the acknowledged one
     * before it emits its outputs and the next one is decoded and computed. */
    fbatch_t slot[3];
    int cur;         /* slot of the batch being processed */
    fbatch_t *held;  /* local mode: the batch staged but not written yet (NULL: none) */
    fbatch_t *acked; /* local mode: written, outputs not emitted yet (NULL: none) */
    pending_t *pend; /* polled batches whose offsets are not stored yet, oldest first */
    size_t npend, max_pend;
    int completed; /* process_batch stored the complete offsets while Redis wrote */
    int check_key; /* check.key: message key must be the customer or store id */
    /* Outputs not yet delivered, per pending batch (ring indexed by batch sequence number; the
     * delivery callback decrements), and whether the batch produced dead letters (those are not
     * tracked per batch: such a batch waits until the producer is drained). */
    uint64_t seq;     /* sequence number of the last polled batch */
    uint64_t out_seq; /* batch whose outputs are being produced */
    int64_t undelivered[SS_FEATURES_RING];
    uint8_t dead[SS_FEATURES_RING];
    ss_buf_t out;
    /* metrics */
    ss_metrics_t *m;
    ss_metrics_counter_t *c_applied, *c_dup, *c_conflict, *c_late, *c_invalid, *c_retry,
        *c_features;
    ss_metrics_histogram_t *h_batch, *h_batch_msgs;
    ss_metrics_counter_t *c_stall;
    atomic_int redis_up;
} app_t;

static int ready(ss_http_t *h, char *reason, size_t size, void *opaque) {
    (void)h;
    app_t *a = opaque;
    if (!atomic_load(&a->redis_up)) {
        snprintf(reason, size, "redis unavailable");
        return 0;
    }
    if (a->cons && ss_kafka_consumer_assigned_count(a->cons) == 0) {
        snprintf(reason, size, "no partitions assigned");
        return 0;
    }
    return 1;
}

static int produce_features(app_t *a, const ss_txn_t *t, const fstore_result_t *r,
                            const rd_kafka_message_t *rkm, ss_err_t *err) {
    const rfm_features_t *f = &r->feat;
    /* The flat writer encodes in schema order without avro-c values (this runs per order);
     * a field out of order or of another type is a bug, reported by ss_avro_flat_end. */
    ss_avro_flat_t *w = a->fw;
    ss_buf_reset(&a->out);
    ss_avro_flat_begin(w, &a->out);
    ss_avro_flat_str(w, t->customer_id);
    ss_avro_flat_long(w, f->as_of_ms);
    ss_avro_flat_str(w, t->order_id);
    ss_avro_flat_long(w, f->recency_days);
    ss_avro_flat_long(w, f->frequency);
    ss_avro_flat_double(w, f->total_spent);
    ss_avro_flat_double(w, f->avg_order);
    ss_avro_flat_double(w, f->order_std);
    ss_avro_flat_long(w, f->days_since_first_order);
    ss_avro_flat_double(w, f->purchase_frequency);
    ss_avro_flat_long(w, f->recent_orders_30d);
    ss_avro_flat_long(w, f->return_count);
    ss_avro_flat_double(w, f->return_amount);
    ss_avro_flat_long(w, r->agg.first_ms);
    ss_avro_flat_long(w, r->agg.last_ms);
    ss_avro_flat_long(w, rkm->partition);
    ss_avro_flat_long(w, rkm->offset);
    if (ss_avro_flat_end(w, err) < 0)
        return SS_ERR_FATAL;
    int rc;
    rc = ss_kafka_produce_ex(a->prod, a->topic_features, t->customer_id, strlen(t->customer_id),
                             a->out.buf, a->out.len, NULL, (void *)(uintptr_t)a->out_seq, err);
    if (rc == 0) {
        a->undelivered[a->out_seq % SS_FEATURES_RING]++;
        ss_metrics_counter_inc(a->c_features);
    }
    return rc < 0 ? SS_ERR_FATAL : 0;
}

/* Delivery report of a CustomerFeatures event (msg opaque: its batch's sequence number). */
static void on_delivery(ss_kafka_producer_t *p, const rd_kafka_message_t *rkm, void *opaque) {
    (void)p;
    uintptr_t seq = (uintptr_t)rkm->_private;
    if (seq) /* failures are counted by the producer and end the service (complete_pending) */
        ((app_t *)opaque)->undelivered[seq % SS_FEATURES_RING]--;
}

static int dead_letter(app_t *a, const rd_kafka_message_t *rkm, const char *code,
                       const char *reason, ss_err_t *err) {
    ss_metrics_counter_inc(a->c_invalid);
    a->dead[a->out_seq % SS_FEATURES_RING] = 1;
    int rc = ss_dlq_publish(a->dlq, rkm, code, reason, err);
    return rc < 0 ? SS_ERR_FATAL : 0;
}

static void grow(fbatch_t *b, size_t n) {
    if (n <= b->cap)
        return;
    b->txns = ss_xrealloc(b->txns, n * sizeof(*b->txns));
    for (size_t i = b->cap; i < n; i++)
        memset(&b->txns[i], 0, sizeof(b->txns[i]));
    b->ptrs = ss_xrealloc(b->ptrs, n * sizeof(*b->ptrs));
    b->parts = ss_xrealloc(b->parts, n * sizeof(*b->parts));
    b->msg_of = ss_xrealloc(b->msg_of, n * sizeof(*b->msg_of));
    b->res = ss_xrealloc(b->res, n * sizeof(*b->res));
    b->cap = n;
}

/* Applies with retries while Redis is unavailable; returns the number of attempts that failed
 * (so the caller knows whether duplicates may be orders of a lost call) or a negative error. */
static int apply_with_retry(app_t *a, fbatch_t *b, ss_err_t *err) {
    int failed = 0, paused = 0;
    for (;;) {
        int rc = fstore_apply_parts(a->fs, b->ptrs, b->parts, b->k, b->res, err);
        if (rc == 0)
            break;
        if (rc != SS_ERR_RETRIABLE)
            return rc;
        atomic_store(&a->redis_up, 0);
        ss_metrics_counter_inc(a->c_retry);
        if (!paused) {
            SS_LOG(LOG_WARNING, "features", "redis unavailable, pausing consumption: %s", err->msg);
            if (ss_kafka_consumer_pause(a->cons, err) < 0)
                return SS_ERR_FATAL;
            paused = 1;
        }
        ss_err_clear(err);
        failed++;
        ss_redis_backoff(a->r);
        /* Stay in the group while paused: polls return nothing. */
        rd_kafka_message_t *extra[1] = {NULL};
        int n = ss_kafka_consumer_poll_batch(a->cons, extra, 1, 0, err);
        if (n < 0)
            return n;
        if (n > 0) {
            ss_kafka_msgs_destroy(extra, 1);
            return ss_err_set(err, SS_ERR_FATAL, "consumer delivered a message while paused");
        }
        if (g_stop)
            return ss_err_set(err, SS_ERR_RETRIABLE, "stopping while redis is unavailable");
    }
    atomic_store(&a->redis_up, 1);
    if (paused) {
        SS_LOG(LOG_NOTICE, "features", "redis back after %d failed attempts, resuming", failed);
        if (ss_kafka_consumer_resume(a->cons, err) < 0)
            return SS_ERR_FATAL;
    }
    return failed;
}

/* Decodes and checks msgs[0..n) into b; bad ones go to the DLQ. */
static int decode_batch(app_t *a, fbatch_t *b, rd_kafka_message_t **msgs, size_t n, ss_err_t *err) {
    b->t0 = ss_metrics_now();
    b->msgs = msgs;
    b->seq = a->out_seq = a->seq;
    b->k = 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    grow(b, n);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const rd_kafka_message_t *rkm = msgs[i];
        ss_err_t e = SS_ERR_INIT;
        ss_txn_t *t = &b->txns[b->k];
        if (rkm->len > a->max_bytes) {
            ss_err_set(&e, SS_ERR_INVAL, "message of %zu bytes exceeds check.max_bytes %zu",
                       rkm->len, a->max_bytes);
            rc = dead_letter(a, rkm, SS_DLQ_INVALID, e.msg, err);
            continue;
        }
        int drc = ss_avro_txn_decode(a->codec, rkm->payload, rkm->len, t, &e);
        if (drc == SS_ERR_RETRIABLE) /* the schema registry is unreachable: not the event's fault */
            return ss_err_set(err, SS_ERR_FATAL,
                              "cannot decode: %s (exiting without storing the batch's offsets)",
                              e.msg);
        if (drc == 0)
            drc = fcheck_txn(&a->check, t, rkm->partition, now_ms, &e);
        if (drc == 0 && a->check_key)
            drc = fcheck_key(t, rkm->key, rkm->key_len, &e);
        if (drc < 0) {
            rc = dead_letter(a, rkm, ss_dlq_code_for(drc), e.msg, err);
            continue;
        }
        b->ptrs[b->k] = t;
        b->parts[b->k] = rkm->partition;
        b->msg_of[b->k] = i;
        b->k++;
    }
    return rc;
}

/* After the store acknowledged b: DLQ for conflicts, CustomerFeatures for applied orders (and for
 * duplicates when failed > 0: they may be orders a lost call applied). */
static int emit_batch(app_t *a, fbatch_t *b, int failed, ss_err_t *err) {
    int rc = 0;
    a->out_seq = b->seq;
    for (size_t j = 0; j < b->k && rc == 0; j++) {
        const fstore_result_t *r = &b->res[j];
        const rd_kafka_message_t *rkm = b->msgs[b->msg_of[j]];
        switch (r->status) {
        case FSTORE_CONFLICT: {
            char reason[200];
            snprintf(reason, sizeof(reason),
                     "order_id '%.64s' was already applied with different content",
                     b->txns[j].order_id);
            ss_metrics_counter_inc(a->c_conflict);
            rc = dead_letter(a, rkm, SS_DLQ_CONFLICT, reason, err);
            break;
        }
        case FSTORE_DUPLICATE:
            ss_metrics_counter_inc(a->c_dup);
            /* After a failed attempt a duplicate may be an order the lost call applied: emit
             * its features again (consumers drop replays by source partition/offset). */
            if (failed > 0 && r->has_features)
                rc = produce_features(a, &b->txns[j], r, rkm, err);
            break;
        case FSTORE_APPLIED:
            ss_metrics_counter_inc(a->c_applied);
            if (r->late)
                ss_metrics_counter_inc(a->c_late);
            if (r->has_features)
                rc = produce_features(a, &b->txns[j], r, rkm, err);
            break;
        }
    }
    if (rc == 0)
        ss_metrics_histogram_observe(a->h_batch, ss_metrics_now() - b->t0);
    return rc;
}

/* Applies b synchronously (with retries while Redis is down), then emits its outputs. */
static int apply_and_emit(app_t *a, fbatch_t *b, int failed, ss_err_t *err) {
    int f = 0;
    if (b->k > 0 && (f = apply_with_retry(a, b, err)) < 0)
        return f;
    return emit_batch(a, b, failed + f, err);
}

/* Emits the outputs of the batch whose write was acknowledged last (it always comes before the
 * held batch, so outputs keep batch order). */
static int emit_acked(app_t *a, ss_err_t *err) {
    fbatch_t *b = a->acked;
    a->acked = NULL;
    return b ? emit_batch(a, b, 0, err) : 0;
}

#define KEEP_UNFINISHED(a) ((size_t)((a)->held ? 1 : 0) + ((a)->acked ? 1 : 0))
enum { COMPLETE_READY, COMPLETE_ROOM, COMPLETE_ALL };
/* How long complete_pending waits between batches: for room once the pending list is full. */
#define COMPLETE_STEADY(a) ((a)->npend >= (a)->max_pend ? COMPLETE_ROOM : COMPLETE_READY)
static int complete_pending(app_t *a, int wait, size_t keep, ss_err_t *err);

/* Sends the held batch's write (staged by an earlier call), waits for it and emits its outputs;
 * if the write fails on a lost connection or fence, or the held plan was dropped meanwhile (a
 * rebalance between polls drops the cache), the batch is redone synchronously from Redis. */
static int flush_held(app_t *a, ss_err_t *err) {
    int rc = emit_acked(a, err);
    fbatch_t *b = a->held;
    if (!b || rc < 0)
        return rc;
    a->held = NULL;
    if (!fstore_staged(a->fs)) /* never written: a plain synchronous apply */
        return apply_and_emit(a, b, 0, err);
    ss_err_t e = SS_ERR_INIT;
    rc = fstore_send(a->fs, &e);
    if (rc == 0)
        rc = fstore_finish(a->fs, &e);
    if (rc == 0)
        return emit_batch(a, b, 0, err);
    if (rc != SS_ERR_RETRIABLE && !(rc == SS_ERR_INVAL && strstr(e.msg, "STALE")))
        return ss_err_set(err, rc, "%s", e.msg);
    SS_LOG(LOG_WARNING, "features", "write failed (%s); redoing the batch", e.msg);
    return apply_and_emit(a, b, 1, err);
}

/* One polled micro-batch. Local mode pipelines: each batch is computed ("staged") and held; when
 * the next batch arrives, its reads and then the held batch's write go out together, so Redis
 * serves the reads first and runs the write while this thread emits the outputs of the batch
 * acknowledged before, stores the offsets that are complete, and computes the new batch from the
 * cache (as if the write had landed). Then the write's reply is read; the written batch's outputs
 * wait for the next write to be on its way (or for an idle poll), and the new batch becomes the
 * held one. A failed write drops the cache: it is redone from Redis and the new batch staged
 * again. Outputs keep batch order; offsets of a batch are stored only after its outputs
 * (complete_pending). */
static int process_batch(app_t *a, rd_kafka_message_t **msgs, size_t n, ss_err_t *err) {
    fbatch_t *b = &a->slot[a->cur];
    a->cur = (a->cur + 1) % 3;
    int rc = decode_batch(a, b, msgs, n, err);
    if (rc < 0)
        return rc;
    if (fstore_mode(a->fs) != FSTORE_MODE_LOCAL || b->k == 0) {
        if ((rc = flush_held(a, err)) < 0)
            return rc;
        return apply_and_emit(a, b, 0, err);
    }
    fbatch_t *s = a->held;
    if (s && fstore_staged(a->fs)) {
        ss_err_t e = SS_ERR_INIT;
        a->held = NULL;
        if (fstore_prefetch(a->fs, b->ptrs, b->parts, b->k, &e) < 0 || fstore_send(a->fs, &e) < 0) {
            /* the connection is gone (fstore dropped the cache): redo s, then stage b below */
            SS_LOG(LOG_WARNING, "features", "pipelined send failed (%s); applying synchronously",
                   e.msg);
            if ((rc = emit_acked(a, err)) < 0 || (rc = apply_and_emit(a, s, 1, err)) < 0)
                return rc;
        } else {
            /* Redis is busy with s: meanwhile emit the batch before it and store what is done
             * (all but s and b, the last two pending batches), waiting for the oldest one's
             * deliveries if the pending list is full - here, not once Redis is idle again */
            if ((rc = emit_acked(a, err)) < 0 ||
                (rc = complete_pending(a, COMPLETE_STEADY(a), 2, err)) < 0)
                return rc;
            a->completed = 1;
            int staged = fstore_stage(a->fs, b->ptrs, b->parts, b->k, b->res, &e) == 0;
            ss_err_t fe = SS_ERR_INIT;
            int frc = fstore_finish(a->fs, &fe);
            if (frc == 0) {
                a->acked = s;
            } else if (frc == SS_ERR_RETRIABLE ||
                       (frc == SS_ERR_INVAL && strstr(fe.msg, "STALE"))) {
                SS_LOG(LOG_WARNING, "features", "pipelined write failed (%s); redoing the batch",
                       fe.msg);
                rc = apply_and_emit(a, s, 1, err);
            } else {
                return ss_err_set(err, frc, "%s", fe.msg);
            }
            if (rc < 0)
                return rc;
            if (staged && fstore_staged(a->fs)) {
                a->held = b;
                return 0;
            }
            /* b was computed from a cache the failure dropped: stage it again below */
        }
    } else if ((rc = flush_held(a, err)) < 0) {
        return rc;
    }
    ss_err_t e = SS_ERR_INIT;
    if (fstore_stage(a->fs, b->ptrs, b->parts, b->k, b->res, &e) < 0)
        return apply_and_emit(a, b, 0, err); /* synchronously, with the outage pause */
    a->held = b;
    return 0;
}

/* Batches whose Redis work is done but whose outputs may still be in flight: a batch's offsets
 * are stored once all of its CustomerFeatures events are delivered (and, if it produced dead
 * letters, once the producer is drained), in order, so delivery of batch i overlaps the work of
 * the next batches; after output.max_pending_batches the loop flushes. */

/* Stores the offsets of the leading pending batches whose outputs are delivered, except the last
 * `keep`, whose outputs are not produced yet (KEEP_UNFINISHED: the held batch, always the last
 * one, and the acknowledged one before it). `wait` says whether to wait for deliveries first:
 * COMPLETE_READY not at all, COMPLETE_ROOM until the oldest batch is delivered (the pending
 * list is full: waiting for the newest outputs too would leave Redis idle for a delivery round
 * trip), COMPLETE_ALL until the producer is drained (idle or stopping). Returns 0 or
 * SS_ERR_FATAL (lost output: exit without storing). */
static int complete_pending(app_t *a, int wait, size_t keep, ss_err_t *err) {
    pending_t *pend = a->pend;
    size_t *npend = &a->npend;
    if (*npend <= keep)
        return 0;
    ss_kafka_producer_poll(a->prod, 0);
    int drained = ss_kafka_producer_in_flight(a->prod) == 0;
    if (!drained && wait == COMPLETE_ALL) {
        if (ss_kafka_producer_flush(a->prod, 60000, err) < 0)
            return SS_ERR_FATAL;
        drained = 1;
    } else if (!drained && wait == COMPLETE_ROOM) {
        uint64_t r = pend[0].seq % SS_FEATURES_RING;
        /* a batch with dead letters waits for the drain (they are not tracked per batch) */
        for (int polls = 0; !drained && (a->undelivered[r] > 0 || a->dead[r]); polls++) {
            if (polls == 6000) /* 60 s, as the flush above */
                return ss_err_set(err, SS_ERR_FATAL, "outputs not delivered within 60 s");
            ss_kafka_producer_poll(a->prod, 10);
            drained = ss_kafka_producer_in_flight(a->prod) == 0;
        }
    }
    uint64_t lost = ss_kafka_producer_failed_take(a->prod);
    if (lost)
        return ss_err_set(err, SS_ERR_FATAL, "%llu output messages failed delivery",
                          (unsigned long long)lost);
    size_t done = 0;
    while (done < *npend - keep) {
        uint64_t r = pend[done].seq % SS_FEATURES_RING;
        if (!drained && (a->undelivered[r] > 0 || a->dead[r]))
            break;
        int rc = ss_kafka_consumer_store(a->cons, pend[done].msgs, pend[done].n, err);
        ss_kafka_msgs_destroy(pend[done].msgs, pend[done].n);
        pend[done].n = 0;
        done++;
        if (rc < 0)
            return rc;
    }
    /* Rotate the stored entries (their message arrays) behind the remaining ones. */
    for (size_t k = 0; k < done; k++) {
        pending_t tmp = pend[0];
        memmove(pend, pend + 1, (*npend - 1) * sizeof(*pend));
        pend[*npend - 1] = tmp;
    }
    *npend -= done;
    return 0;
}

static ss_redis_t *redis_from_cfg(const ss_cfg_t *cfg) {
    ss_redis_opts_t ro = {.host = ss_cfg_str(cfg, "redis.host"),
                          .port = (int)ss_cfg_int(cfg, "redis.port"),
                          .user = ss_cfg_str(cfg, "redis.user"),
                          .password = ss_cfg_str(cfg, "redis.password"),
                          .timeout_ms = (int)ss_cfg_int(cfg, "redis.timeout.ms"),
                          .backoff_max_ms = (int)ss_cfg_int(cfg, "redis.backoff.max.ms")};
    return ss_redis_new(&ro);
}

static fstore_t *fstore_from_cfg(const ss_cfg_t *cfg, ss_redis_t *r) {
    const char *mode = ss_cfg_str(cfg, "state.mode");
    fstore_opts_t fo = {
        .mode = mode && strcmp(mode, "local") == 0 ? FSTORE_MODE_LOCAL : FSTORE_MODE_SCRIPT,
        .cache_max_customers = (size_t)ss_cfg_int(cfg, "state.cache_max_customers"),
        .prefix = ss_cfg_str(cfg, "redis.prefix"),
        .lateness_ms = ss_cfg_int(cfg, "demand.allowed_lateness_ms"),
        .tz_offset_min = (int)ss_cfg_int(cfg, "demand.tz_offset_min"),
        .customer_ttl_ms = ss_cfg_int(cfg, "retention.customer_days") * RFM_DAY_MS,
        .demand_ttl_ms = ss_cfg_int(cfg, "retention.demand_days") * RFM_DAY_MS,
        .fence_topic = ss_cfg_str(cfg, "topic.transactions"),
        /* check.key puts every copy of an anonymous order on its store's partition */
        .anon_owned = ss_cfg_bool(cfg, "check.key"),
    };
    return fstore_new(r, &fo);
}

static int run_dump(const ss_cfg_t *cfg, const char *cmd, ss_err_t *err) {
    ss_redis_t *r = redis_from_cfg(cfg);
    fstore_t *fs = fstore_from_cfg(cfg, r);
    int rc = ss_redis_connect(r, err);
    if (rc == 0 && strcmp(cmd, "dump") == 0) {
        int64_t as_of = 0;
        const char *t = ss_cfg_str(cfg, "as-of");
        rc = t && *t ? rfm_parse_time(t, &as_of, err) : fstore_latest_time(fs, &as_of, err);
        if (rc == 0)
            rc = fstore_dump_customers(fs, as_of, stdout, NULL, err);
    } else if (rc == 0 && strcmp(cmd, "dump-demand") == 0) {
        rc = fstore_dump_demand(fs, stdout, NULL, err);
    } else if (rc == 0) {
        rc = fstore_dump_state(fs, stdout, NULL, err);
    }
    fflush(stdout);
    fstore_destroy(fs);
    ss_redis_destroy(r);
    return rc;
}

static void app_metrics(app_t *a) {
    a->m = ss_metrics_new();
    ss_metrics_add_build_info(a->m, "features", NULL);
    a->c_applied = ss_metrics_counter(a->m, "streamscore_features_orders_applied_total",
                                      "orders applied to the feature store");
    a->c_dup = ss_metrics_counter(a->m, "streamscore_features_orders_duplicate_total",
                                  "redelivered orders (same id and content) ignored");
    a->c_conflict = ss_metrics_counter(a->m, "streamscore_features_orders_conflict_total",
                                       "orders with a known id and different content (DLQ)");
    a->c_late =
        ss_metrics_counter(a->m, "streamscore_features_late_events_total",
                           "purchases applied after their store day was closed by the watermark");
    a->c_invalid = ss_metrics_counter(a->m, "streamscore_features_dead_letters_total",
                                      "messages sent to the dead-letter topic");
    a->c_retry = ss_metrics_counter(a->m, "streamscore_features_redis_retries_total",
                                    "micro-batches retried because Redis was unavailable");
    a->c_features = ss_metrics_counter(a->m, "streamscore_features_events_produced_total",
                                       "CustomerFeatures events produced");
    a->h_batch = ss_metrics_histogram(a->m, "streamscore_features_batch_seconds",
                                      "micro-batch processing time", NULL, 0);
    static const double sizes[] = {1, 10, 100, 500, 1000, 2000, 4000, 8000, 16000};
    a->h_batch_msgs = ss_metrics_histogram(a->m, "streamscore_features_batch_messages",
                                           "messages per polled micro-batch", sizes,
                                           sizeof(sizes) / sizeof(sizes[0]));
    a->c_stall = ss_metrics_counter(
        a->m, "streamscore_features_pipeline_stalls_total",
        "held batches written without overlap because the next poll found nothing fetched");
}

/* Runs inside poll_batch, between batches: the cached state of partitions that moved may be
 * written by another consumer from now on, so local mode forgets it all (reloads on touch). */
static void on_rebalance(ss_kafka_consumer_t *c, ss_kafka_rebalance_t kind,
                         const rd_kafka_topic_partition_list_t *parts, void *opaque) {
    (void)c;
    (void)kind;
    (void)parts;
    fstore_invalidate(((app_t *)opaque)->fs);
}

static int run_service(const ss_cfg_t *cfg, ss_err_t *err) {
    app_t a = {0};
    a.cfg = cfg;
    a.out = (ss_buf_t)SS_BUF_INIT;
    a.topic_features = ss_cfg_str(cfg, "topic.features");
    a.max_bytes = (size_t)ss_cfg_int(cfg, "check.max_bytes");
    a.check_key = ss_cfg_bool(cfg, "check.key");
    a.check.max_amount = ss_cfg_double(cfg, "check.max_amount");
    a.check.max_future_ms = ss_cfg_int(cfg, "check.max_future_ms");
    a.check.max_past_ms = ss_cfg_int(cfg, "check.max_past_ms");
    const char *mode = ss_cfg_str(cfg, "state.mode");
    if (strcmp(mode, "script") != 0 && strcmp(mode, "local") != 0)
        return ss_err_set(err, SS_ERR_INVAL, "bad state.mode '%s' (expected script or local)",
                          mode);
    size_t bs = (size_t)ss_cfg_int(cfg, "batch.size");
    int wait_ms = (int)ss_cfg_int(cfg, "batch.wait.ms");
    size_t max_pend = (size_t)ss_cfg_int(cfg, "output.max_pending_batches");
    /* Two more entries than max_pend: the held and acknowledged batches stay pending across a
     * flush. */
    pending_t *pend = ss_xcalloc(max_pend + 2, sizeof(*pend));
    for (size_t i = 0; i < max_pend + 2; i++)
        pend[i].msgs = ss_xcalloc(bs, sizeof(*pend[i].msgs));
    a.pend = pend;
    a.max_pend = max_pend;
    ss_http_t *http = NULL;
    ss_schemareg_t *sr = NULL;
    int rc = 0;
    int32_t fid = 0;
    app_metrics(&a);

    if (!(a.reg = ss_schemareg_open(
              cfg, (const char *[]){"topic.transactions", "topic.dlq", "topic.features", NULL}, &sr,
              err)) ||
        !(a.codec = ss_avro_txn_codec_new(a.reg, err)) ||
        ss_avro_reg_current_id(a.reg, "customer-features", &fid, err) < 0 ||
        !(a.fw = ss_avro_flat_new(a.reg, fid, err))) {
        rc = SS_ERR_FATAL;
        goto out;
    }
    ss_kafka_producer_opts_t po = {.client_id = "streamscore-features",
                                   .linger_ms = 1,
                                   .on_delivery = on_delivery,
                                   .opaque = &a};
    if (!(a.prod = ss_kafka_producer_new(cfg, &po, err)) ||
        !(a.dlq = ss_dlq_new(a.prod, a.reg, ss_cfg_str(cfg, "topic.dlq"), "features", err))) {
        rc = SS_ERR_FATAL;
        goto out;
    }
    a.r = redis_from_cfg(cfg);
    a.fs = fstore_from_cfg(cfg, a.r);
    while (!g_stop && (rc = ss_redis_connect(a.r, err)) == SS_ERR_RETRIABLE) {
        SS_LOG(LOG_WARNING, "features", "waiting for redis: %s", err->msg);
        ss_err_clear(err);
        ss_redis_backoff(a.r);
    }
    if (rc < 0 || g_stop)
        goto out;
    atomic_store(&a.redis_up, 1);

    const char *topics[] = {ss_cfg_str(cfg, "topic.transactions")};
    ss_kafka_consumer_opts_t co = {.topics = topics,
                                   .topic_count = 1,
                                   .session_timeout_ms = (int)ss_cfg_int(cfg, "session.timeout.ms"),
                                   .client_id = "streamscore-features",
                                   .on_rebalance = on_rebalance,
                                   .opaque = &a};
    if (!(a.cons = ss_kafka_consumer_new(cfg, &co, err))) {
        rc = SS_ERR_FATAL;
        goto out;
    }
    ss_kafka_consumer_metrics(a.cons, a.m);
    ss_kafka_producer_metrics(a.prod, a.m);
    ss_metrics_add_process(a.m);
    if (ss_cfg_int(cfg, "metrics.port") > 0) {
        ss_http_opts_t ho = {.bind_addr = ss_cfg_str(cfg, "metrics.bind"),
                             .port = (int)ss_cfg_int(cfg, "metrics.port"),
                             .metrics = a.m,
                             .ready = ready,
                             .ready_opaque = &a};
        if (!(http = ss_http_new(&ho, err)) || ss_http_start(http, err) < 0) {
            rc = SS_ERR_FATAL;
            goto out;
        }
    }
    SS_LOG(LOG_INFO, "features", "consuming '%s' batch.size=%zu state.mode=%s", topics[0], bs,
           fstore_mode(a.fs) == FSTORE_MODE_LOCAL ? "local" : "script");
    while (!g_stop) {
        if (http)
            ss_http_heartbeat(http);
        rd_kafka_message_t **msgs = pend[a.npend].msgs;
        /* With a batch held, take only what is already fetched: if nothing is, write the held
         * batch now rather than holding its outputs for a whole batch wait. */
        int n =
            ss_kafka_consumer_poll_batch(a.cons, msgs, bs, a.held || a.acked ? 0 : wait_ms, err);
        if (n < 0) {
            rc = n;
            break;
        }
        if (n == 0) {
            if (a.held)
                ss_metrics_counter_inc(a.c_stall);
            if ((rc = flush_held(&a, err)) < 0 || (rc = ss_kafka_producer_check(a.prod, err)) < 0 ||
                (rc = complete_pending(&a, COMPLETE_ALL, KEEP_UNFINISHED(&a), err)) < 0)
                break;
            continue;
        }
        ss_metrics_histogram_observe(a.h_batch_msgs, (double)n);
        a.seq++;
        a.undelivered[a.seq % SS_FEATURES_RING] = 0;
        a.dead[a.seq % SS_FEATURES_RING] = 0;
        pend[a.npend].seq = a.seq;
        pend[a.npend++].n = (size_t)n;
        a.completed = 0;
        if ((rc = process_batch(&a, msgs, (size_t)n, err)) < 0)
            break;
        if (a.completed)
            continue;
        if ((rc = complete_pending(&a, COMPLETE_STEADY(&a), KEEP_UNFINISHED(&a), err)) < 0)
            break;
    }
    if (rc == 0)
        rc = flush_held(&a, err);
    if (rc == 0)
        rc = complete_pending(&a, COMPLETE_ALL, KEEP_UNFINISHED(&a), err);
    if (rc == SS_ERR_RETRIABLE && g_stop)
        rc = 0; /* stopped during an outage: the unfinished batch is redelivered later */
out:
    if (a.prod) {
        ss_err_t fe = SS_ERR_INIT;
        if (ss_kafka_producer_flush(a.prod, 30000, &fe) < 0)
            SS_LOG(LOG_ERR, "features", "final flush: %s", fe.msg);
    }
    for (size_t i = 0; i < max_pend + 2; i++) {
        ss_kafka_msgs_destroy(pend[i].msgs, pend[i].n); /* unfinished: not stored */
        free(pend[i].msgs);
    }
    free(pend);
    if (a.cons) {
        ss_err_t ce = SS_ERR_INIT;
        if (rc == 0)
            ss_kafka_consumer_close(a.cons, &ce);
        ss_kafka_consumer_destroy(a.cons);
    }
    ss_http_destroy(http);
    ss_dlq_destroy(a.dlq);
    ss_kafka_producer_destroy(a.prod);
    fstore_destroy(a.fs);
    ss_redis_destroy(a.r);
    ss_avro_flat_destroy(a.fw);
    ss_avro_txn_codec_destroy(a.codec);
    ss_avro_reg_destroy(a.reg);
    ss_schemareg_destroy(sr);
    fcheck_release(&a.check);
    for (int s = 0; s < 3; s++) {
        fbatch_t *b = &a.slot[s];
        for (size_t i = 0; i < b->cap; i++)
            ss_txn_release(&b->txns[i]);
        free(b->txns);
        free(b->ptrs);
        free(b->parts);
        free(b->msg_of);
        free(b->res);
    }
    ss_buf_release(&a.out);
    ss_metrics_destroy(a.m);
    return rc;
}

int main(int argc, char **argv) {
    ss_log_init("features");
    ss_err_t err = SS_ERR_INIT;
    ss_cfg_t *cfg = ss_cfg_new("features",
                               "transactions -> Redis feature store + customer-features "
                               "(commands: run | dump [--as-of T] | dump-demand | dump-state)",
                               defs, sizeof(defs) / sizeof(defs[0]));
    int rc = ss_cfg_load(cfg, argc, argv, &err);
    if (rc == SS_ERR_EXIT) {
        ss_cfg_destroy(cfg);
        return 0;
    }
    if (rc < 0) {
        fprintf(stderr, "streamscore-features: %s\n", err.msg);
        ss_cfg_destroy(cfg);
        return 2;
    }
    const char *cmd = ss_cfg_argc(cfg) > 0 ? ss_cfg_arg(cfg, 0) : "run";
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (strcmp(cmd, "run") == 0) {
        rc = run_service(cfg, &err);
    } else if (!strcmp(cmd, "dump") || !strcmp(cmd, "dump-demand") || !strcmp(cmd, "dump-state")) {
        rc = run_dump(cfg, cmd, &err);
    } else {
        rc = ss_err_set(&err, SS_ERR_INVAL, "unknown command '%s'", cmd);
    }
    if (rc < 0)
        SS_LOG(LOG_ERR, "features", "exiting: %s", err.msg);
    else
        SS_LOG(LOG_INFO, "features", "stopped");
    ss_cfg_destroy(cfg);
    return rc < 0 ? 1 : 0;
}
