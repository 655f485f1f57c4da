/* ss-bench-null-consumer: the ceiling for streamscore-features' ingest figure. The same group
 * consumer as the service (ss_kafka: cooperative-sticky, micro-batches from the poll loop,
 * offsets stored after each batch) doing no work, or with --decode only the Avro decode.
 *   ss-bench-null-consumer -c stack.conf --count N [--topic T] [--group.id G] [--batch.size B]
 *       [--decode] [--timeout S]
 * Prints one JSON line on stdout: messages, seconds from the first message received to the
 * last, rate, join seconds (start to first message), bytes, decode failures and the process's
 * CPU seconds so far (cpu_service). Exit 1 when fewer than N messages arrived before the
 * timeout. Single-threaded (bench/run starts it). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "ss_avro.h"
#include "ss_cfg.h"
#include "ss_err.h"
#include "ss_kafka.h"
#include "ss_log.h"
#include "ss_txn.h"

static const ss_cfg_def_t defs[] = {
    {"brokers", SS_CFG_STR, "127.0.0.1:9092", 0, 0, "Kafka bootstrap servers", 0, NULL},
    {"redis.host", SS_CFG_STR, "127.0.0.1", 0, 0, "unused (accepted from the stack conf)", 0, NULL},
    {"redis.port", SS_CFG_INT, "6379", 0, 65535, "unused (accepted from the stack conf)", 0, NULL},
    {"group.id", SS_CFG_STR, "bench-null", 0, 0, "consumer group", 0, NULL},
    {"topic.transactions", SS_CFG_STR, "transactions", 0, 0, "topic to consume", 0, NULL},
    {"schemas.dir", SS_CFG_STR, SS_SOURCE_DIR "/schemas", 0, 0, "schema manifest (--decode)", 0,
     NULL},
    {"count", SS_CFG_INT, "0", 0, 1e10, "stop after this many messages (required)", 0, NULL},
    {"batch.size", SS_CFG_INT, "1000", 1, 100000, "messages per micro-batch", 0, NULL},
    {"decode", SS_CFG_BOOL, "false", 0, 0, "decode every Transaction (ss_avro_txn_decode)", 0,
     NULL},
    {"timeout", SS_CFG_INT, "300", 1, 86400, "give up after this many seconds", 0, NULL},
    {"session.timeout.ms", SS_CFG_INT, "6000", 1000, 300000, "consumer session timeout", 0, NULL},
};

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU seconds (user + system) of the whole process, librdkafka's threads included. */
static double cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

static int run(const ss_cfg_t *cfg, ss_err_t *err) {
    const char *topic = ss_cfg_str(cfg, "topic.transactions");
    ss_kafka_consumer_opts_t o = {.topics = &topic,
                                  .topic_count = 1,
                                  .client_id = "ss-bench-null-consumer",
                                  .stats_interval_ms = -1,
                                  .session_timeout_ms = (int)ss_cfg_int(cfg, "session.timeout.ms")};
    size_t batch = (size_t)ss_cfg_int(cfg, "batch.size");
    int64_t count = ss_cfg_int(cfg, "count"), got = 0, bad = 0, bytes = 0;
    int decode = ss_cfg_bool(cfg, "decode");
    double t_start = now_s(), t_first = 0, t_last = 0;
    double deadline = t_start + (double)ss_cfg_int(cfg, "timeout");
    rd_kafka_message_t **msgs = ss_xcalloc(batch, sizeof(*msgs));
    ss_avro_reg_t *reg = NULL;
    ss_avro_txn_codec_t *codec = NULL;
    ss_kafka_consumer_t *c = NULL;
    ss_txn_t t = SS_TXN_INIT;
    int rc = 0;

    if (count <= 0) {
        rc = ss_err_set(err, SS_ERR_INVAL, "--count N is required");
        goto out;
    }
    if (decode && (!(reg = ss_avro_reg_new(ss_cfg_str(cfg, "schemas.dir"), err)) ||
                   !(codec = ss_avro_txn_codec_new(reg, err)))) {
        rc = err->code;
        goto out;
    }
    if (!(c = ss_kafka_consumer_new(cfg, &o, err))) {
        rc = err->code;
        goto out;
    }
    while (!g_stop && got < count && now_s() < deadline) {
        int n = ss_kafka_consumer_poll_batch(c, msgs, batch, 20, err);
        if (n < 0) {
            rc = n;
            break;
        }
        if (n == 0)
            continue;
        if (got == 0)
            t_first = now_s();
        for (int i = 0; i < n; i++)
            bytes += (int64_t)msgs[i]->len;
        for (int i = 0; decode && i < n; i++) {
            ss_err_t derr = SS_ERR_INIT;
            if (ss_avro_txn_decode(codec, msgs[i]->payload, msgs[i]->len, &t, &derr) < 0)
                bad++;
        }
        rc = ss_kafka_consumer_store(c, msgs, (size_t)n, err);
        ss_kafka_msgs_destroy(msgs, (size_t)n);
        if (rc < 0)
            break;
        got += n;
        t_last = now_s();
    }
    double secs = t_last - t_first;
    printf("{\"messages\":%lld,\"seconds\":%.6f,\"rate\":%.1f,\"join_seconds\":%.3f,"
           "\"bytes\":%lld,\"decode_failures\":%lld,\"decode\":%s,\"cpu_service\":%.3f}\n",
           (long long)got, secs, secs > 0 ? (double)got / secs : 0.0,
           t_first > 0 ? t_first - t_start : -1.0, (long long)bytes, (long long)bad,
           decode ? "true" : "false", cpu_s());
    fflush(stdout);
    if (rc == 0 && got < count)
        rc = ss_err_set(err, SS_ERR_IO, "only %lld of %lld messages before the timeout",
                        (long long)got, (long long)count);
out:
    ss_txn_release(&t);
    if (c) {
        ss_err_t cerr = SS_ERR_INIT;
        ss_kafka_consumer_close(c, &cerr);
    }
    ss_kafka_consumer_destroy(c);
    ss_avro_txn_codec_destroy(codec);
    ss_avro_reg_destroy(reg);
    free(msgs);
    return rc;
}

int main(int argc, char **argv) {
    ss_err_t err = SS_ERR_INIT;
    ss_log_init("bench-null-consumer");
    ss_cfg_t *cfg = ss_cfg_new("bench_null", "do-nothing consumer (benchmark ceiling)", defs,
                               sizeof(defs) / sizeof(defs[0]));
    int rc = ss_cfg_load(cfg, argc, argv, &err);
    if (rc == SS_ERR_EXIT) {
        ss_cfg_destroy(cfg);
        return 0;
    }
    if (rc == 0) {
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        rc = run(cfg, &err);
    }
    if (rc < 0)
        fprintf(stderr, "ss-bench-null-consumer: %s\n", err.msg);
    ss_cfg_destroy(cfg);
    return rc < 0 ? 1 : 0;
}
