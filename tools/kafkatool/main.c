/* streamscore-kafkatool: dev and test tool exercising ss_kafka end to end.
 *   streamscore-kafkatool -c stack.conf produce --topic T --count N [--start I]
 *       produces N messages (key "k<i>", value "m<i>", i = start..start+N-1) through the
 *       idempotent producer; prints "delivered=N failed=F"; exits 1 if any delivery failed.
 *   streamscore-kafkatool -c stack.conf consume --topic T --group.id G [--count N]
 *       [--timeout S] [--idle S] [--batch B]
 *       consumes through the group consumer with store-after-work: each batch is written to
 *       stdout (one value per line) and flushed before its offsets are stored. Stops after N
 *       messages (at a batch boundary), after S seconds, or after S idle seconds once something
 *       was read; closes orderly (final commit). Prints "consumed=N" on stderr.
 *   streamscore-kafkatool -c stack.conf dlq --topic transactions.dlq --count N
 *       publishes N dead letters through ss_dlq (source transactions/0@i, key "k<i>", payload
 *       "bad<i>", error code DECODE for even i and INVALID for odd i); prints the counts.
 * Exit status: 0 ok, 1 error, 2 usage, 3 fatal Kafka error (SS_ERR_FATAL). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ss_avro.h"
#include "ss_cfg.h"
#include "ss_dlq.h"
#include "ss_err.h"
#include "ss_kafka.h"
#include "ss_log.h"

static const ss_cfg_def_t defs[] = {
    {"brokers", SS_CFG_STR, "127.0.0.1:9092", 0, 0, "bootstrap servers", 0},
    {"redis.host", SS_CFG_STR, "127.0.0.1", 0, 0, "unused (accepted from the stack conf)", 0},
    {"redis.port", SS_CFG_INT, "6379", 0, 65535, "unused (accepted from the stack conf)", 0},
    {"group.id", SS_CFG_STR, "streamscore-kafkatool", 0, 0, "consumer group (consume)", 0},
    {"topic", SS_CFG_STR, "", 0, 0, "topic to produce to or consume from", 0},
    {"count", SS_CFG_INT, "0", 0, 1e9,
     "messages to produce; consume: stop after this many (0: no limit)", 0},
    {"start", SS_CFG_INT, "0", 0, 1e12, "produce: index of the first message", 0},
    {"timeout", SS_CFG_INT, "60", 1, 86400, "consume: give up after this many seconds", 0},
    {"idle", SS_CFG_INT, "0", 0, 86400,
     "consume: stop after this many idle seconds once a message was read (0: off)", 0},
    {"batch", SS_CFG_INT, "100", 1, 100000, "consume: micro-batch size", 0},
    {"fatal-after", SS_CFG_INT, "0", 0, 1e9,
     "produce: raise a test fatal error (rd_kafka_test_fatal_error) after this many messages", 0},
    {"pause-ms", SS_CFG_INT, "0", 0, 600000,
     "consume: after the first batch, pause all partitions this long (keep polling), then resume "
     "and finish the batch",
     0},
    {"schemas.dir", SS_CFG_STR, SS_SOURCE_DIR "/schemas", 0, 0, "schema manifest dir (dlq)", 0},
    {"session.timeout.ms", SS_CFG_INT, "6000", 1000, 300000, "consumer session timeout", 0},
};

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int produce(const ss_cfg_t *cfg, ss_err_t *err) {
    ss_kafka_producer_t *p = ss_kafka_producer_new(cfg, NULL, err);
    const char *topic = ss_cfg_str(cfg, "topic");
    int64_t start = ss_cfg_int(cfg, "start"), count = ss_cfg_int(cfg, "count");
    int64_t fatal_after = ss_cfg_int(cfg, "fatal-after");
    uint64_t failed;
    int rc = 0;

    if (!p)
        return err->code;
    for (int64_t i = start; i < start + count && !stop && rc == 0; i++) {
        char key[32], val[32];
        int kl = snprintf(key, sizeof(key), "k%lld", (long long)i);
        int vl = snprintf(val, sizeof(val), "m%lld", (long long)i);
        if (fatal_after && i - start == fatal_after)
            rd_kafka_test_fatal_error(ss_kafka_producer_handle(p),
                                      RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                                      "kafkatool --fatal-after");
        rc = ss_kafka_produce(p, topic, key, (size_t)kl, val, (size_t)vl, err);
    }
    if (rc == 0)
        rc = ss_kafka_producer_flush(p, 60000, err);
    failed = ss_kafka_producer_failed_take(p);
    printf("delivered=%llu failed=%llu\n", (unsigned long long)ss_kafka_producer_delivered(p),
           (unsigned long long)failed);
    if (rc == 0 && failed)
        rc =
            ss_err_set(err, SS_ERR_IO, "%llu messages failed delivery", (unsigned long long)failed);
    ss_kafka_producer_destroy(p);
    return rc;
}

static int dlq(const ss_cfg_t *cfg, ss_err_t *err) {
    ss_avro_reg_t *reg = ss_avro_reg_new(ss_cfg_str(cfg, "schemas.dir"), err);
    ss_kafka_producer_t *p = reg ? ss_kafka_producer_new(cfg, NULL, err) : NULL;
    ss_dlq_t *d = p ? ss_dlq_new(p, reg, ss_cfg_str(cfg, "topic"), "kafkatool", err) : NULL;
    int64_t start = ss_cfg_int(cfg, "start"), count = ss_cfg_int(cfg, "count");
    uint64_t failed = 0;
    int rc = d ? 0 : err->code;

    for (int64_t i = start; d && i < start + count && !stop && rc == 0; i++) {
        char key[32], val[32], reason[64];
        ss_dlq_entry_t e = {.source_topic = "transactions", .partition = 0, .offset = i};
        e.keylen = (size_t)snprintf(key, sizeof(key), "k%lld", (long long)i);
        e.len = (size_t)snprintf(val, sizeof(val), "bad%lld", (long long)i);
        snprintf(reason, sizeof(reason), "synthetic failure %lld", (long long)i);
        e.key = key;
        e.payload = val;
        e.reason = reason;
        e.error_code = i % 2 ? SS_DLQ_INVALID : SS_DLQ_DECODE;
        rc = ss_dlq_publish_entry(d, &e, err);
    }
    if (d && rc == 0)
        rc = ss_kafka_producer_flush(p, 60000, err);
    if (p)
        failed = ss_kafka_producer_failed_take(p);
    if (d)
        printf("dead_letters=%llu DECODE=%llu INVALID=%llu delivered=%llu failed=%llu\n",
               (unsigned long long)ss_dlq_total(d),
               (unsigned long long)ss_dlq_count(d, SS_DLQ_DECODE),
               (unsigned long long)ss_dlq_count(d, SS_DLQ_INVALID),
               (unsigned long long)ss_kafka_producer_delivered(p), (unsigned long long)failed);
    if (rc == 0 && failed)
        rc = ss_err_set(err, SS_ERR_IO, "%llu dead letters failed delivery",
                        (unsigned long long)failed);
    ss_dlq_destroy(d);
    ss_kafka_producer_destroy(p);
    ss_avro_reg_destroy(reg);
    return rc;
}

static int consume(const ss_cfg_t *cfg, ss_err_t *err) {
    const char *topic = ss_cfg_str(cfg, "topic");
    ss_kafka_consumer_opts_t o = {.topics = &topic,
                                  .topic_count = 1,
                                  .client_id = "streamscore-kafkatool",
                                  .stats_interval_ms = 1000,
                                  .session_timeout_ms = (int)ss_cfg_int(cfg, "session.timeout.ms")};
    size_t batch = (size_t)ss_cfg_int(cfg, "batch");
    int64_t count = ss_cfg_int(cfg, "count"), got = 0;
    int64_t deadline = mono_ms() + ss_cfg_int(cfg, "timeout") * 1000;
    int64_t idle_ms = ss_cfg_int(cfg, "idle") * 1000, last = 0;
    int64_t pause_ms = ss_cfg_int(cfg, "pause-ms");
    rd_kafka_message_t **msgs = ss_xcalloc(batch, sizeof(*msgs));
    ss_kafka_consumer_t *c = ss_kafka_consumer_new(cfg, &o, err);
    int rc = 0;

    if (!c) {
        free(msgs);
        return err->code;
    }
    while (!stop && (count == 0 || got < count) && mono_ms() < deadline) {
        int n = ss_kafka_consumer_poll_batch(c, msgs, batch, 500, err);
        if (n < 0) {
            rc = n;
            break;
        }
        if (n == 0) {
            if (idle_ms && last && mono_ms() - last > idle_ms)
                break;
            continue;
        }
        if (pause_ms) {
            /* A Redis-outage drill: pause, keep polling (stay in the group, expect nothing),
             * resume, then finish the batch we kept. */
            int64_t until = mono_ms() + pause_ms;
            if ((rc = ss_kafka_consumer_pause(c, err)) < 0)
                break;
            while (mono_ms() < until && !stop) {
                rd_kafka_message_t *extra[16];
                int m = ss_kafka_consumer_poll_batch(c, extra, 16, 200, err);
                if (m < 0) {
                    rc = m;
                    break;
                }
                if (m > 0) {
                    fprintf(stderr, "paused consumer returned %d messages\n", m);
                    ss_kafka_msgs_destroy(extra, (size_t)m);
                    rc = ss_err_set(err, SS_ERR_INVAL, "messages delivered while paused");
                    break;
                }
            }
            if (rc < 0 || (rc = ss_kafka_consumer_resume(c, err)) < 0) {
                ss_kafka_msgs_destroy(msgs, (size_t)n);
                break;
            }
            pause_ms = 0;
        }
        /* The "work": values on stdout, flushed before the offsets are stored. */
        for (int i = 0; i < n; i++)
            printf("%.*s\n", (int)msgs[i]->len, (const char *)msgs[i]->payload);
        fflush(stdout);
        rc = ss_kafka_consumer_store(c, msgs, (size_t)n, err);
        ss_kafka_msgs_destroy(msgs, (size_t)n);
        if (rc < 0)
            break;
        got += n;
        last = mono_ms();
    }
    {
        ss_kafka_lag_t lag[64];
        size_t nl = ss_kafka_consumer_lag(c, lag, 64);
        for (size_t i = 0; i < nl; i++)
            fprintf(stderr, "lag topic=%s partition=%d consumer_lag=%lld committed=%lld\n",
                    lag[i].topic, (int)lag[i].partition, (long long)lag[i].consumer_lag,
                    (long long)lag[i].committed_offset);
    }
    fprintf(stderr, "consumed=%lld\n", (long long)got);
    if (rc == 0)
        rc = ss_kafka_consumer_close(c, err);
    ss_kafka_consumer_destroy(c);
    free(msgs);
    return rc;
}

int main(int argc, char **argv) {
    ss_err_t err = SS_ERR_INIT;
    ss_cfg_t *cfg;
    const char *mode;
    int rc;

    ss_log_init("kafkatool");
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    cfg = ss_cfg_new("kafkatool", "produce/consume test messages through ss_kafka", defs,
                     sizeof(defs) / sizeof(defs[0]));
    ss_cfg_set_usage(cfg, "produce|consume|dlq");
    rc = ss_cfg_load(cfg, argc, argv, &err);
    if (rc < 0) {
        ss_cfg_destroy(cfg);
        if (rc == SS_ERR_EXIT)
            return 0;
        fprintf(stderr, "streamscore-kafkatool: %s\n", err.msg);
        return 2;
    }
    mode = ss_cfg_argc(cfg) == 1 ? ss_cfg_arg(cfg, 0) : "";
    if (!*ss_cfg_str(cfg, "topic")) {
        rc = ss_err_set(&err, SS_ERR_INVAL, "--topic is required");
    } else if (strcmp(mode, "produce") == 0) {
        rc = produce(cfg, &err);
    } else if (strcmp(mode, "consume") == 0) {
        rc = consume(cfg, &err);
    } else if (strcmp(mode, "dlq") == 0) {
        rc = dlq(cfg, &err);
    } else {
        rc = ss_err_set(&err, SS_ERR_INVAL, "expected one mode: produce, consume or dlq");
    }
    if (rc < 0)
        fprintf(stderr, "streamscore-kafkatool: %s\n", err.msg);
    ss_cfg_destroy(cfg);
    return rc == SS_ERR_FATAL ? 3 : rc < 0 ? 1 : 0;
}
