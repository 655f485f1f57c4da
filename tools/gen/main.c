/* streamscore-gen: deterministic synthetic transactions (tools/gen/gen_model.h) written as
 * native CSV (--out FILE or -) or produced, Avro-encoded, to the transactions topic. Bad records
 * (--bad-rate) go to Kafka as raw bad payloads so the features service dead-letters them.
 * Exits non-zero if any message failed delivery. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gen_csv.h"
#include "gen_model.h"
#include "replay_csv.h"
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
    {"out", SS_CFG_STR, "", 0, 0, "write native CSV to this file ('-' = stdout) instead of Kafka",
     0, NULL},
    {"shape", SS_CFG_BOOL, "false", 0, 0,
     "print the workload shape (lines per order, distinct products ...) and exit", 0, NULL},
    {"seed", SS_CFG_INT, "1", 1, 9e18, "random seed: same seed and options, same events", 0, NULL},
    {"customers", SS_CFG_INT, "1000", 1, 1e8, "number of customers", 0, NULL},
    {"products", SS_CFG_INT, "200", 1, 99999, "number of products", 0, NULL},
    {"stores", SS_CFG_INT, "10", 1, 999, "number of stores", 0, NULL},
    {"groups", SS_CFG_INT, "0", 0, 99999, "product groups bought together (0 = products / 10)", 0,
     NULL},
    {"days", SS_CFG_INT, "90", 1, 36500, "event-time days to generate", 0, NULL},
    {"start", SS_CFG_STR, "2024-01-01", 0, 0, "first day (YYYY-MM-DD, UTC)", 0, NULL},
    {"orders-per-week", SS_CFG_DOUBLE, "1.5", 0.001, 1000,
     "mean orders per active customer per week", 0, NULL},
    {"churn-share", SS_CFG_DOUBLE, "0.2", 0, 1, "share of customers who stop buying at some day", 0,
     NULL},
    {"return-share", SS_CFG_DOUBLE, "0.03", 0, 1, "share of customer purchases returned later", 0,
     NULL},
    {"anon-share", SS_CFG_DOUBLE, "0.1", 0, 0.99, "share of anonymous (walk-in) purchases", 0,
     NULL},
    {"bad-rate", SS_CFG_DOUBLE, "0", 0, 1, "probability of a bad record after each event", 0, NULL},
    {"shift-day", SS_CFG_INT, "0", 0, 36500, "first day of the price shift", 0, NULL},
    {"shift-stores", SS_CFG_INT, "1", 1, 999, "number of stores (s001..) shifted", 0, NULL},
    {"shift-factor", SS_CFG_DOUBLE, "1", 0.001, 1000,
     "unit prices x F in shifted stores from shift-day (1 = no shift)", 0, NULL},
    {"rate", SS_CFG_DOUBLE, "0", 0, 1e9, "Kafka: at most R events per second (0 = unlimited)", 0,
     NULL},
    {"flush.timeout.ms", SS_CFG_INT, "60000", 1, 3600000,
     "Kafka: how long to wait at the end for every delivery report", 0, NULL},
};

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Zero in the config means "none" for the shares; zero in gen_opts_t means "default". */
static double share(const ss_cfg_t *cfg, const char *name) {
    double v = ss_cfg_double(cfg, name);
    return v == 0 ? -1 : v;
}

static void print_shape(const gen_shape_t *s) {
    printf("events             %llu (purchases %llu, returns %llu, anonymous %llu)\n",
           (unsigned long long)s->events, (unsigned long long)s->purchases,
           (unsigned long long)s->returns, (unsigned long long)s->anonymous);
    printf("bad records        %llu\n", (unsigned long long)s->bad);
    printf("lines per order    %.2f\n", s->lines_per_order);
    printf("units per line     %.2f\n", s->units_per_line);
    printf("mean purchase      %.2f\n", s->mean_amount);
    printf("buying customers   %d (churners %d)\n", s->buying_customers, s->churners);
    printf("distinct products  %.1f per buying customer\n", s->distinct_products);
    printf("same-group pairs   %.1f%% of line pairs in an order\n", 100 * s->same_group_pairs);
    printf("weekday ratio      %.2f (busiest / quietest weekday)\n", s->weekday_ratio);
}

/* Builds the Kafka payload of one event; bad raw kinds are broken on purpose. */
static int encode(ss_avro_txn_codec_t *codec, const ss_txn_t *t, gen_bad_t bad, ss_buf_t *out,
                  ss_err_t *err) {
    ss_buf_reset(out);
    if (bad == GEN_BAD_RAW_JSON) {
        ss_buf_addf(out, "{\"order_id\":\"%s\",\"note\":\"json instead of avro\"}", t->order_id);
        return 0;
    }
    if (ss_avro_txn_encode(codec, t, out, err))
        return -1;
    if (bad == GEN_BAD_RAW_TRUNC)
        ss_buf_setlen(out, SS_AVRO_HDR_LEN + (out->len - SS_AVRO_HDR_LEN) / 2);
    return 0;
}

int main(int argc, char **argv) {
    ss_err_t err = SS_ERR_INIT;
    int status = 1;
    gen_t *g = NULL;
    FILE *out = NULL;
    ss_avro_reg_t *reg = NULL;
    ss_schemareg_t *sr = NULL;
    ss_avro_txn_codec_t *codec = NULL;
    ss_kafka_producer_t *p = NULL;
    ss_buf_t payload = SS_BUF_INIT;
    ss_txn_t t = SS_TXN_INIT;

    ss_log_init("gen");
    ss_cfg_t *cfg = ss_cfg_new("gen", "generate synthetic retail transactions", defs,
                               sizeof(defs) / sizeof(defs[0]));
    int rc = ss_cfg_load(cfg, argc, argv, &err);
    if (rc == SS_ERR_EXIT) {
        status = 0;
        goto out;
    }
    if (rc < 0 || ss_cfg_argc(cfg) != 0) {
        fprintf(stderr, "streamscore-gen: %s\n",
                rc < 0 ? err.msg : "unexpected positional argument; see --help");
        status = 2;
        goto out;
    }
    int64_t start_ms;
    if (rcsv_parse_time(ss_cfg_str(cfg, "start"), &start_ms, &err))
        goto fail;
    gen_opts_t o = {.seed = (uint64_t)ss_cfg_int(cfg, "seed"),
                    .customers = (int)ss_cfg_int(cfg, "customers"),
                    .products = (int)ss_cfg_int(cfg, "products"),
                    .stores = (int)ss_cfg_int(cfg, "stores"),
                    .groups = (int)ss_cfg_int(cfg, "groups"),
                    .days = (int)ss_cfg_int(cfg, "days"),
                    .start_ms = start_ms,
                    .orders_per_week = ss_cfg_double(cfg, "orders-per-week"),
                    .churn_share = share(cfg, "churn-share"),
                    .return_share = share(cfg, "return-share"),
                    .anon_share = share(cfg, "anon-share"),
                    .bad_rate = ss_cfg_double(cfg, "bad-rate"),
                    .shift_day = (int)ss_cfg_int(cfg, "shift-day"),
                    .shift_stores = (int)ss_cfg_int(cfg, "shift-stores"),
                    .shift_factor = ss_cfg_double(cfg, "shift-factor")};
    if (ss_cfg_bool(cfg, "shape")) {
        gen_shape_t shape;
        if (gen_measure(&o, &shape, &err))
            goto fail;
        print_shape(&shape);
        status = 0;
        goto out;
    }
    g = gen_new(&o, &err);
    if (!g)
        goto fail;

    const char *out_path = ss_cfg_str(cfg, "out");
    uint64_t events = 0, bad_count = 0;
    gen_bad_t bad;
    if (*out_path) {
        out = strcmp(out_path, "-") ? fopen(out_path, "w") : stdout;
        if (!out) {
            ss_err_set_errno(&err, SS_ERR_IO, errno, "cannot create '%s'", out_path);
            goto fail;
        }
        fprintf(out, "%s\n", gen_csv_header);
        while (gen_next(g, &t, &bad)) {
            if (gen_csv_write(out, &t, bad, &err))
                goto fail;
            events++;
            bad_count += bad != GEN_BAD_NONE;
        }
        int close_rc = out == stdout ? fflush(out) : fclose(out);
        out = NULL;
        if (close_rc != 0) {
            ss_err_set_errno(&err, SS_ERR_IO, errno, "cannot write '%s'", out_path);
            goto fail;
        }
        SS_LOG(LOG_INFO, "gen", "wrote %llu events (%llu bad) to '%s'", (unsigned long long)events,
               (unsigned long long)bad_count, out_path);
        status = 0;
        goto out;
    }

    reg = ss_schemareg_open(cfg, (const char *[]){"topic.transactions", NULL}, &sr, &err);
    if (!reg)
        goto fail;
    codec = ss_avro_txn_codec_new(reg, &err);
    if (!codec)
        goto fail;
    ss_kafka_producer_opts_t popts = {.client_id = "streamscore-gen"};
    p = ss_kafka_producer_new(cfg, &popts, &err);
    if (!p)
        goto fail;
    const char *topic = ss_cfg_str(cfg, "topic.transactions");
    double rate = ss_cfg_double(cfg, "rate");
    int64_t start = now_ms();
    while (gen_next(g, &t, &bad)) {
        if (rate > 0) {
            int64_t due = start + (int64_t)((double)events * 1000.0 / rate);
            for (int64_t now = now_ms(); now < due; now = now_ms())
                ss_kafka_producer_poll(p, (int)(due - now < 100 ? due - now : 100));
        }
        if (encode(codec, &t, bad, &payload, &err))
            goto fail;
        const char *key = t.has_customer && *t.customer_id ? t.customer_id : t.store_id;
        if (ss_kafka_produce(p, topic, key, strlen(key), payload.buf, payload.len, &err))
            goto fail;
        events++;
        bad_count += bad != GEN_BAD_NONE;
    }
    rc = ss_kafka_producer_flush(p, (int)ss_cfg_int(cfg, "flush.timeout.ms"), &err);
    uint64_t delivered = ss_kafka_producer_delivered(p);
    uint64_t failed = ss_kafka_producer_failed_total(p);
    printf("events %llu (bad %llu) produced, %llu delivered, %llu failed\n",
           (unsigned long long)events, (unsigned long long)bad_count, (unsigned long long)delivered,
           (unsigned long long)failed);
    if (rc)
        goto fail;
    if (failed || delivered != events) {
        fprintf(stderr, "streamscore-gen: %llu of %llu events were not delivered\n",
                (unsigned long long)(events - delivered), (unsigned long long)events);
        goto out;
    }
    status = 0;
    goto out;

fail:
    fprintf(stderr, "streamscore-gen: %s\n", err.msg);
out:
    if (out && out != stdout)
        fclose(out);
    ss_txn_release(&t);
    ss_buf_release(&payload);
    ss_kafka_producer_destroy(p);
    ss_avro_txn_codec_destroy(codec);
    ss_avro_reg_destroy(reg);
    ss_schemareg_destroy(sr);
    gen_destroy(g);
    ss_cfg_destroy(cfg);
    return status;
}
