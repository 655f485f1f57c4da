/* streamscore-replay: reads a CSV file (native, UCI Online Retail or store-item), turns its rows
 * into Transaction orders in event-time order and produces them, Avro-encoded, to the
 * transactions topic with the idempotent producer. Every row is accounted for: in an event or
 * rejected with its line and reason. Exits non-zero if any message failed delivery. */
#include <csv.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "replay_csv.h"
#include "replay_input.h"
#include "ss_avro.h"
#include "ss_buf.h"
#include "ss_cfg.h"
#include "ss_err.h"
#include "ss_kafka.h"
#include "ss_log.h"
#include "ss_schemareg.h"
#include "ss_txn.h"

static const ss_cfg_def_t defs[] = {
    {"brokers", SS_CFG_STR, "127.0.0.1:9092", 0, 0, "Kafka bootstrap servers", 0, NULL},
    {"redis.host", SS_CFG_STR, "127.0.0.1", 0, 0, "unused (accepted from the stack conf)", 0, NULL},
    {"redis.port", SS_CFG_INT, "6379", 0, 65535, "unused (accepted from the stack conf)", 0, NULL},
    {"topic.transactions", SS_CFG_STR, "transactions", 0, 0, "topic the events are produced to", 0,
     NULL},
    {"schemas.dir", SS_CFG_STR, SS_SOURCE_DIR "/schemas", 0, 0,
     "directory with the schema manifest", 0, NULL},
    SS_SCHEMAREG_CFG_DEFS,
    {"format", SS_CFG_STR, "native", 0, 0, "input format", 0, "native|online-retail|store-item"},
    {"speed", SS_CFG_DOUBLE, "0", 0, 1e12, "replay at N x event time (0 = as fast as possible)", 0,
     NULL},
    {"rate", SS_CFG_DOUBLE, "0", 0, 1e9, "at most R events per second (0 = unlimited)", 0, NULL},
    {"limit", SS_CFG_INT, "0", 0, 1e15, "produce only the first N events (0 = all)", 0, NULL},
    {"rejects", SS_CFG_STR, "", 0, 0,
     "write rejected rows as CSV (line,reason,message) to this file instead of stderr", 0, NULL},
    {"item.price", SS_CFG_DOUBLE, "1.0", 0, 1e6, "store-item: unit price of every line", 0, NULL},
    {"item.currency", SS_CFG_STR, "USD", 0, 0, "store-item: currency of the events", 0, NULL},
    {"dry-run", SS_CFG_BOOL, "false", 0, 0, "parse and print the accounting, produce nothing", 0,
     NULL},
    {"flush.timeout.ms", SS_CFG_INT, "60000", 1, 3600000,
     "how long to wait at the end for every delivery report", 0, NULL},
};

typedef struct rejects_out {
    FILE *f; /* rejects file, or NULL: stderr */
    uint64_t n;
} rejects_out_t;

static void on_reject(const rcsv_reject_t *rej, void *opaque) {
    rejects_out_t *ro = opaque;
    ro->n++;
    if (!ro->f) {
        fprintf(stderr, "reject line %llu: %s: %s\n", (unsigned long long)rej->line,
                rcsv_reason_name(rej->reason), rej->message);
        return;
    }
    fprintf(ro->f, "%llu,%s,", (unsigned long long)rej->line, rcsv_reason_name(rej->reason));
    csv_fwrite(ro->f, rej->message, strlen(rej->message));
    fputc('\n', ro->f);
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void progress(size_t done, size_t total, int64_t start_ms, int64_t event_ms) {
    char when[32];
    rcsv_format_time(event_ms, when, sizeof(when));
    when[16] = '\0';
    double frac = total ? (double)done / (double)total : 1.0;
    int w = (int)(frac * 30);
    double secs = (double)(now_ms() - start_ms) / 1000.0;
    fprintf(stderr, "\r[%.*s%*s] %5.1f%% %zu/%zu events %.0f/s event time %s ", w,
            "==============================", 30 - w, "", frac * 100, done, total,
            secs > 0 ? (double)done / secs : 0.0, when);
}

static void print_summary(const rcsv_stats_t *st) {
    printf("rows read        %llu\n", (unsigned long long)st->rows_read);
    printf("rows in events   %llu\n", (unsigned long long)st->rows_in_orders);
    printf("rows rejected    %llu\n", (unsigned long long)st->rows_rejected);
    for (int i = 0; i < RCSV_R_COUNT; i++)
        if (st->by_reason[i])
            printf("  %-14s %llu\n", rcsv_reason_name((rcsv_reason_t)i),
                   (unsigned long long)st->by_reason[i]);
    printf("orders           %llu (purchases %llu, returns %llu, anonymous %llu)\n",
           (unsigned long long)st->orders, (unsigned long long)st->purchases,
           (unsigned long long)st->returns, (unsigned long long)st->anonymous);
    printf("accounting       %s\n",
           st->rows_read == st->rows_in_orders + st->rows_rejected ? "balanced" : "UNBALANCED");
}

int main(int argc, char **argv) {
    ss_err_t err = SS_ERR_INIT;
    int status = 1;
    rin_t *in = NULL;
    rcsv_t *r = NULL;
    ss_avro_reg_t *reg = NULL;
    ss_schemareg_t *sr = NULL;
    ss_avro_txn_codec_t *codec = NULL;
    ss_kafka_producer_t *p = NULL;
    rejects_out_t ro = {NULL, 0};
    ss_buf_t payload = SS_BUF_INIT;
    ss_txn_t t = SS_TXN_INIT;

    ss_log_init("replay");
    ss_cfg_t *cfg = ss_cfg_new("replay", "replay a CSV file of retail transactions to Kafka", defs,
                               sizeof(defs) / sizeof(defs[0]));
    ss_cfg_set_usage(cfg, "FILE|-");
    int rc = ss_cfg_load(cfg, argc, argv, &err);
    if (rc == SS_ERR_EXIT) {
        status = 0;
        goto out;
    }
    if (rc < 0 || ss_cfg_argc(cfg) != 1) {
        fprintf(stderr, "streamscore-replay: %s\n",
                rc < 0 ? err.msg : "expected one input file (or - for stdin); see --help");
        status = 2;
        goto out;
    }

    rcsv_opts_t ro_opts = {.item_price = ss_cfg_double(cfg, "item.price"),
                           .currency = ss_cfg_str(cfg, "item.currency"),
                           .on_reject = on_reject,
                           .opaque = &ro};
    if (rcsv_format_parse(ss_cfg_str(cfg, "format"), &ro_opts.format, &err))
        goto fail;
    const char *rejects_path = ss_cfg_str(cfg, "rejects");
    if (*rejects_path) {
        ro.f = fopen(rejects_path, "w");
        if (!ro.f) {
            ss_err_set_errno(&err, SS_ERR_IO, errno, "cannot create '%s'", rejects_path);
            goto fail;
        }
        fputs("line,reason,message\n", ro.f);
    }

    /* 1. Read and order everything: online-retail invoices and store-item days are only
     * complete at the end of the file. */
    const char *path = ss_cfg_arg(cfg, 0);
    in = rin_open(path, &err);
    if (!in)
        goto fail;
    r = rcsv_new(&ro_opts);
    static char buf[1 << 16];
    ssize_t n;
    while ((n = rin_read(in, buf, sizeof(buf), &err)) > 0)
        if (rcsv_feed(r, buf, (size_t)n, &err))
            goto fail;
    rc = rin_close(in, n < 0 ? NULL : &err);
    in = NULL;
    if (n < 0 || rc)
        goto fail;
    if (rcsv_finish(r, &err))
        goto fail;
    if (ro.f && fclose(ro.f) != 0) {
        ro.f = NULL;
        ss_err_set_errno(&err, SS_ERR_IO, errno, "cannot write '%s'", rejects_path);
        goto fail;
    }
    ro.f = NULL;
    const rcsv_stats_t *st = rcsv_stats(r);
    SS_LOG(LOG_INFO, "replay", "read '%s': %llu rows, %llu orders, %llu rows rejected", path,
           (unsigned long long)st->rows_read, (unsigned long long)st->orders,
           (unsigned long long)st->rows_rejected);
    size_t total = rcsv_count(r);
    int64_t limit = ss_cfg_int(cfg, "limit");
    if (limit > 0 && (uint64_t)limit < total)
        total = (size_t)limit;
    if (ss_cfg_bool(cfg, "dry-run")) {
        print_summary(st);
        printf("events           %zu (dry run: nothing produced)\n", total);
        status = 0;
        goto out;
    }

    /* 2. Produce in event-time order, paced by --speed / --rate. */
    reg = ss_schemareg_open(cfg, (const char *[]){"topic.transactions", NULL}, &sr, &err);
    if (!reg)
        goto fail;
    codec = ss_avro_txn_codec_new(reg, &err);
    if (!codec)
        goto fail;
    ss_kafka_producer_opts_t popts = {.client_id = "streamscore-replay"};
    p = ss_kafka_producer_new(cfg, &popts, &err);
    if (!p)
        goto fail;
    const char *topic = ss_cfg_str(cfg, "topic.transactions");
    double speed = ss_cfg_double(cfg, "speed"), rate = ss_cfg_double(cfg, "rate");
    int tty = isatty(2);
    int64_t start = now_ms(), last_bar = 0, t0 = 0;
    for (size_t i = 0; i < total; i++) {
        rcsv_get(r, i, &t);
        if (i == 0)
            t0 = t.event_time_ms;
        int64_t due = start;
        if (speed > 0)
            due = start + (int64_t)((double)(t.event_time_ms - t0) / speed);
        if (rate > 0 && start + (int64_t)((double)i * 1000.0 / rate) > due)
            due = start + (int64_t)((double)i * 1000.0 / rate);
        for (int64_t now = now_ms(); now < due; now = now_ms())
            ss_kafka_producer_poll(p, (int)(due - now < 100 ? due - now : 100));
        ss_buf_reset(&payload);
        if (ss_avro_txn_encode(codec, &t, &payload, &err))
            goto fail;
        const char *key = t.has_customer ? t.customer_id : t.store_id;
        if (ss_kafka_produce(p, topic, key, strlen(key), payload.buf, payload.len, &err))
            goto fail;
        if (tty && (now_ms() - last_bar >= 250 || i + 1 == total)) {
            last_bar = now_ms();
            progress(i + 1, total, start, t.event_time_ms);
        }
    }
    if (tty && total)
        fputc('\n', stderr);
    rc = ss_kafka_producer_flush(p, (int)ss_cfg_int(cfg, "flush.timeout.ms"), &err);
    uint64_t failed = ss_kafka_producer_failed_total(p);
    uint64_t delivered = ss_kafka_producer_delivered(p);
    print_summary(st);
    printf("events           %zu produced, %llu delivered, %llu failed\n", total,
           (unsigned long long)delivered, (unsigned long long)failed);
    if (rc) {
        fprintf(stderr, "streamscore-replay: %s\n", err.msg);
        goto out;
    }
    if (failed || delivered != total) {
        fprintf(stderr, "streamscore-replay: %llu of %zu events were not delivered\n",
                (unsigned long long)(total - delivered), total);
        goto out;
    }
    status = 0;
    goto out;

fail:
    fprintf(stderr, "streamscore-replay: %s\n", err.msg);
out:
    if (ro.f)
        fclose(ro.f);
    rin_close(in, NULL);
    ss_txn_release(&t);
    ss_buf_release(&payload);
    ss_kafka_producer_destroy(p);
    ss_avro_txn_codec_destroy(codec);
    ss_avro_reg_destroy(reg);
    ss_schemareg_destroy(sr);
    rcsv_destroy(r);
    ss_cfg_destroy(cfg);
    return status;
}
