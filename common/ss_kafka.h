/* ss_kafka: librdkafka 2.0.2 wrappers for our consumers and producers: config application
 * (kcat's -X habit), an at-least-once group consumer (cooperative-sticky, store-after-work,
 * poll-loop micro-batches, pause/resume, stats lag), and an idempotent producer whose delivery
 * failures and fatal errors reach the caller, and their export to /metrics. Depends on ss_err,
 * ss_log, ss_cfg, ss_metrics, jansson.
 * Threads: a consumer or producer handle is used by one thread (the one that polls it); the
 * counters and snapshots marked "any thread" may be read from others (e.g. /metrics). */
#ifndef SS_KAFKA_H
#define SS_KAFKA_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "ss_cfg.h"
#include "ss_err.h"
#include "ss_metrics.h"

/* ======================================================================================
 * Configuration
 * ====================================================================================== */

/* Sets one librdkafka property on conf, the way `kcat -X` does. A name with the `topic.` prefix
 * that is not itself a global property (e.g. topic.metadata.refresh.interval.ms is global) goes,
 * without the prefix, to conf's default topic conf (created when absent). Everything else goes to
 * rd_kafka_conf_set. Returns 0, or SS_ERR_INVAL with librdkafka's errstr verbatim in err->msg,
 * e.g. "No such configuration property: \"foo\"". Copies name and value. */
int ss_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, ss_err_t *err);

/* Returns new (free with rd_kafka_conf_destroy, or hand to rd_kafka_new) a conf holding, in
 * order: bootstrap.servers from `brokers` (argument if not NULL, else cfg key "brokers"), then
 * every -X / kafka.* pass-through pair of cfg (may be NULL), and the log_cb/error_cb that route
 * librdkafka's logs and errors into ss_log (module "kafka"). NULL on error, err->msg names the
 * offending property. The cfg must declare "brokers" unless `brokers` is given. */
rd_kafka_conf_t *ss_kafka_conf_new(const ss_cfg_t *cfg, const char *brokers, ss_err_t *err);

/* Returns 0, or SS_ERR_FATAL with "kafka fatal error: <reason>" when librdkafka has raised a
 * fatal error on rk (rd_kafka_fatal_error). Any thread. */
int ss_kafka_check_fatal(rd_kafka_t *rk, ss_err_t *err);

/* Maps a librdkafka error code to an SS_ERR_* class: 0 for NO_ERROR, SS_ERR_FATAL for
 * ERR__FATAL and authentication/authorization/config-type failures, SS_ERR_RETRIABLE for
 * transport/timeout/queue-full/leader-change style errors, SS_ERR_INVAL otherwise. Pure. */
int ss_kafka_err_class(rd_kafka_resp_err_t code);

/* ======================================================================================
 * Statistics (statistics.interval.ms JSON)
 * ====================================================================================== */

typedef struct ss_kafka_lag {
    char topic[128];
    int32_t partition;
    int64_t consumer_lag;     /* messages; -1 while unknown (librdkafka's value as is) */
    int64_t committed_offset; /* -1001 when nothing committed */
    int64_t hi_offset;        /* high watermark */
} ss_kafka_lag_t;

/* Parses the per-partition consumer lag out of a librdkafka statistics JSON document (pure).
 * Only partitions this client consumes are returned (entries with "fetch_state" other than
 * "none"; partition -1 skipped). Fills up to `max` entries of out and returns how many partitions
 * were found (may exceed max), or SS_ERR_DECODE on malformed JSON. */
int ss_kafka_stats_parse_lag(const char *json, ss_kafka_lag_t *out, size_t max, ss_err_t *err);

typedef struct ss_kafka_broker_stat {
    int32_t nodeid;     /* broker id; entries without one (bootstrap, coordinators) are skipped */
    char name[128];     /* librdkafka's "host:port/id" */
    char state[16];     /* "UP", "DOWN", "INIT", ... */
    int64_t rtt_avg_us; /* mean request round-trip time over the last window, microseconds;
                         * -1 when the window had no sample */
    int64_t rtt_p99_us; /* 99th percentile of the same window; -1 when no sample */
} ss_kafka_broker_stat_t;

/* Parses the per-broker round-trip times out of a librdkafka statistics JSON document (pure):
 * fills up to max entries of out (brokers with nodeid >= 0, sorted by nodeid) and returns how
 * many brokers were found (may exceed max), or SS_ERR_DECODE on malformed JSON. *rebalances (may
 * be NULL) gets cgrp.rebalance_cnt, or -1 without a consumer group. */
int ss_kafka_stats_parse_brokers(const char *json, ss_kafka_broker_stat_t *out, size_t max,
                                 int64_t *rebalances, ss_err_t *err);

/* ======================================================================================
 * Consumer
 * ====================================================================================== */

typedef struct ss_kafka_consumer ss_kafka_consumer_t;

typedef enum ss_kafka_rebalance {
    SS_KAFKA_ASSIGNED = 1, /* partitions were added to the assignment */
    SS_KAFKA_REVOKED = 2,  /* partitions are about to leave the assignment (orderly) */
    SS_KAFKA_LOST = 3,     /* partitions were lost (session timeout): do not commit for them */
} ss_kafka_rebalance_t;

/* Called from inside ss_kafka_consumer_poll_batch (the polling thread) on every rebalance, with
 * the delta (borrowed for the call). For REVOKED it runs before the partitions are unassigned, so
 * the application can flush per-partition state; every batch it already got back from
 * poll_batch must be finished (stored or abandoned) by then - see poll_batch. */
typedef void(ss_kafka_rebalance_cb_t)(ss_kafka_consumer_t *c, ss_kafka_rebalance_t kind,
                                      const rd_kafka_topic_partition_list_t *parts, void *opaque);

typedef enum ss_kafka_start {
    SS_KAFKA_START_STORED = 0, /* group: committed offset, else auto.offset.reset (earliest) */
    SS_KAFKA_START_BEGINNING,  /* no group: every partition from its first offset */
    SS_KAFKA_START_END,        /* no group: only messages produced after start */
} ss_kafka_start_t;

/* Zero means default for every field. */
typedef struct ss_kafka_consumer_opts {
    const char *brokers;       /* NULL: cfg key "brokers" */
    const char *group_id;      /* NULL: cfg key "group.id" (declare it); required unless no_group */
    const char *const *topics; /* borrowed during ss_kafka_consumer_new */
    size_t topic_count;
    int no_group;           /* 1: never join a group, assign all partitions (tools) */
    ss_kafka_start_t start; /* where a no-group consumer starts; groups: STORED */
    int session_timeout_ms; /* 0: librdkafka default (45000); tests use 6000 */
    int stats_interval_ms;  /* 0: 5000; -1: statistics off */
    const char *client_id;  /* NULL: "streamscore" */
    ss_kafka_rebalance_cb_t *on_rebalance; /* NULL: none */
    void *opaque;                          /* passed to on_rebalance */
} ss_kafka_consumer_opts_t;

/* Returns new: a consumer subscribed to opts->topics (group) or assigned to every partition of
 * them (no group). Group consumers use partition.assignment.strategy=cooperative-sticky,
 * enable.auto.commit=true, enable.auto.offset.store=false, auto.offset.reset=earliest; the
 * -X pairs of cfg are applied after our defaults, then enable.auto.offset.store=false is forced
 * again (at-least-once depends on it; -X enable.auto.commit=false leaves ss_kafka_consumer_commit
 * as the only commit). NULL on error (bad property: librdkafka's text verbatim;
 * no-group mode: metadata failure for a topic). Joining the group happens during polls. */
ss_kafka_consumer_t *ss_kafka_consumer_new(const ss_cfg_t *cfg,
                                           const ss_kafka_consumer_opts_t *opts, ss_err_t *err);

/* Fills msgs[0..max) with up to `max` messages (returns new: release with
 * ss_kafka_msgs_destroy) and returns how many (0 on timeout), polling rd_kafka_consumer_poll in a
 * loop until `max` messages or `max_wait_ms` since the call. Error events are logged and
 * skipped; partition EOF is skipped. Rebalances happen inside this call: if partitions are
 * revoked while the batch is being built, messages of those partitions already collected are
 * dropped (not yet worked on, not stored: the next owner reads them) and the call returns
 * early. Contract: finish (store) or abandon the previous batch before calling again - then a
 * revoke always falls between batches and only finished work is committed.
 * Returns SS_ERR_FATAL on a fatal consumer error (drain and exit), SS_ERR_INVAL if max is 0. */
int ss_kafka_consumer_poll_batch(ss_kafka_consumer_t *c, rd_kafka_message_t **msgs, size_t max,
                                 int max_wait_ms, ss_err_t *err);

/* Destroys msgs[0..n) (NULL entries skipped) and sets them to NULL. */
void ss_kafka_msgs_destroy(rd_kafka_message_t **msgs, size_t n);

/* Stores offset+1 of the highest offset per partition among msgs[0..n) (borrowed; call after
 * the work for them is durable). The auto-committer commits stored offsets every
 * auto.commit.interval.ms and on close. Partitions no longer assigned (ERR__STATE) are logged and
 * ignored (the new owner re-reads them). Returns 0, SS_ERR_FATAL on a fatal error, or
 * SS_ERR_INVAL if storing is impossible. No-op for no-group consumers. */
int ss_kafka_consumer_store(ss_kafka_consumer_t *c, rd_kafka_message_t *const *msgs, size_t n,
                            ss_err_t *err);

/* Synchronously commits the stored offsets now (e.g. before a planned exit). Returns 0 (also
 * when nothing was stored), SS_ERR_RETRIABLE on a commit failure (logged). */
int ss_kafka_consumer_commit(ss_kafka_consumer_t *c, ss_err_t *err);

/* Pauses every assigned partition (and any assigned later, until resume). Keep calling
 * poll_batch while paused: it returns no messages but keeps the consumer in the group. The
 * application keeps and retries the batch it could not finish: after resume, fetching continues
 * after the last message handed out, not from the stored offset. */
int ss_kafka_consumer_pause(ss_kafka_consumer_t *c, ss_err_t *err);
int ss_kafka_consumer_resume(ss_kafka_consumer_t *c, ss_err_t *err);
int ss_kafka_consumer_paused(const ss_kafka_consumer_t *c); /* 1 while paused; any thread */

/* Number of partitions currently assigned (for /readyz). Any thread. */
int ss_kafka_consumer_assigned_count(const ss_kafka_consumer_t *c);

/* Copies up to max entries of the latest statistics lag snapshot into out; returns the number
 * copied (0 before the first statistics event). Any thread. */
size_t ss_kafka_consumer_lag(ss_kafka_consumer_t *c, ss_kafka_lag_t *out, size_t max);

/* Counters since creation. Any thread. */
uint64_t ss_kafka_consumer_rebalances(const ss_kafka_consumer_t *c);
uint64_t ss_kafka_consumer_errors(const ss_kafka_consumer_t *c);

/* Copies up to max entries of the latest statistics broker snapshot (see
 * ss_kafka_stats_parse_brokers) into out; returns the number copied. Any thread. */
size_t ss_kafka_consumer_brokers(ss_kafka_consumer_t *c, ss_kafka_broker_stat_t *out, size_t max);

/* Exports the consumer on /metrics: installs a collector on m (borrowed: must outlive c, or c
 * must be destroyed first - destroy removes the collector) that refreshes at each scrape
 *   streamscore_consumer_lag_messages{topic,partition}   gauge, statistics consumer_lag of each
 *       assigned partition; partitions whose lag librdkafka does not know yet (-1) and revoked
 *       ones are left out
 *   streamscore_consumer_assigned_partitions             gauge
 *   streamscore_consumer_paused                          gauge 0/1
 *   streamscore_consumer_rebalances_total                counter (ss_kafka_consumer_rebalances)
 *   streamscore_consumer_errors_total                    counter (ss_kafka_consumer_errors)
 *   streamscore_kafka_broker_rtt_seconds{broker}         gauge, mean round-trip time of the
 *       last statistics window per broker id (left out when the window had no request)
 * Statistics arrive every statistics.interval.ms (5000 unless opts or -X say otherwise) and
 * only while the consumer is polled. One consumer per registry. Call once, from the thread that
 * created c, before other threads scrape. NULL m is a no-op. */
void ss_kafka_consumer_metrics(ss_kafka_consumer_t *c, ss_metrics_t *m);

/* Borrows the librdkafka handle (valid until destroy) for metadata, seek, tests. */
rd_kafka_t *ss_kafka_consumer_handle(ss_kafka_consumer_t *c);

/* Orderly close: leaves the group (revoke callback runs), commits stored offsets, closes.
 * Every message from poll_batch must be destroyed before. Returns 0 or SS_ERR_RETRIABLE if the
 * final commit or close reported an error (logged). Idempotent; destroy calls it if needed. */
int ss_kafka_consumer_close(ss_kafka_consumer_t *c, ss_err_t *err);
void ss_kafka_consumer_destroy(ss_kafka_consumer_t *c); /* NULL is a no-op */

/* ======================================================================================
 * Producer
 * ====================================================================================== */

typedef struct ss_kafka_producer ss_kafka_producer_t;

/* Called for every delivery report from inside ss_kafka_produce/poll/flush (the producing
 * thread); rkm is borrowed for the call, rkm->err != 0 on failure, rkm->_private is the msg
 * opaque given to ss_kafka_produce_ex. */
typedef void(ss_kafka_delivery_cb_t)(ss_kafka_producer_t *p, const rd_kafka_message_t *rkm,
                                     void *opaque);

/* Zero means default for every field. */
typedef struct ss_kafka_producer_opts {
    const char *brokers;    /* NULL: cfg key "brokers" */
    const char *client_id;  /* NULL: "streamscore" */
    int linger_ms;          /* 0: 5 ms */
    int message_timeout_ms; /* 0: librdkafka default (300000) */
    int queue_full_wait_ms; /* 0: 30000; how long ss_kafka_produce waits on QUEUE_FULL */
    int stats_interval_ms;  /* 0 or -1: statistics off */
    ss_kafka_delivery_cb_t *on_delivery; /* NULL: counting only */
    void *opaque;                        /* passed to on_delivery */
} ss_kafka_producer_opts_t;

/* Returns new: an idempotent producer (enable.idempotence=true forced after the -X pairs).
 * NULL on error with librdkafka's text verbatim. */
ss_kafka_producer_t *ss_kafka_producer_new(const ss_cfg_t *cfg,
                                           const ss_kafka_producer_opts_t *opts, ss_err_t *err);

/* Produces one message (copies key, value and topic name) to a partition picked by the key's
 * hash (librdkafka's default partitioner, consistent_random). On QUEUE_FULL it serves delivery
 * reports and retries for up to queue_full_wait_ms. Returns 0 when enqueued (delivery is
 * reported later: see ss_kafka_producer_failed_take), SS_ERR_FATAL when the producer has a fatal
 * error, SS_ERR_RETRIABLE when the queue stayed full, SS_ERR_INVAL for unknown partition/topic
 * or a message too large. */
int ss_kafka_produce(ss_kafka_producer_t *p, const char *topic, const void *key, size_t keylen,
                     const void *val, size_t vallen, ss_err_t *err);

/* Like ss_kafka_produce, plus `hdrs` (takes on success; on failure the caller still owns them
 * and must rd_kafka_headers_destroy) and a per-message opaque given back to on_delivery. */
int ss_kafka_produce_ex(ss_kafka_producer_t *p, const char *topic, const void *key, size_t keylen,
                        const void *val, size_t vallen, rd_kafka_headers_t *hdrs, void *msg_opaque,
                        ss_err_t *err);

/* Serves delivery reports for up to timeout_ms; returns how many events were served. */
int ss_kafka_producer_poll(ss_kafka_producer_t *p, int timeout_ms);

/* Waits until every enqueued message is delivered or failed. Returns 0, SS_ERR_RETRIABLE with
 * "N messages still in flight" on timeout, SS_ERR_FATAL on a fatal error. */
int ss_kafka_producer_flush(ss_kafka_producer_t *p, int timeout_ms, ss_err_t *err);

/* Returns 0, or SS_ERR_FATAL (err set) once librdkafka raised a fatal error. */
int ss_kafka_producer_check(ss_kafka_producer_t *p, ss_err_t *err);

/* Delivery counters. `failed_take` returns the failures since its previous call and resets
 * that count: a lost output is a bug, so callers check it after every flush. Any thread. */
uint64_t ss_kafka_producer_delivered(const ss_kafka_producer_t *p);
uint64_t ss_kafka_producer_failed_total(const ss_kafka_producer_t *p);
uint64_t ss_kafka_producer_failed_take(ss_kafka_producer_t *p);
int ss_kafka_producer_in_flight(ss_kafka_producer_t *p); /* rd_kafka_outq_len */

rd_kafka_t *ss_kafka_producer_handle(ss_kafka_producer_t *p); /* borrows */

/* Exports the producer on /metrics through a collector on m (borrowed; destroy removes it):
 *   streamscore_producer_delivered_total          counter, messages acknowledged by the broker
 *   streamscore_producer_delivery_failures_total  counter, messages that failed for good
 *   streamscore_producer_in_flight_messages       gauge, messages queued or awaiting an ack
 * One producer per registry; NULL m is a no-op. */
void ss_kafka_producer_metrics(ss_kafka_producer_t *p, ss_metrics_t *m);

/* Flushes for up to 10 s (logging what is left) and destroys. NULL is a no-op. */
void ss_kafka_producer_destroy(ss_kafka_producer_t *p);

#endif
