/* streamscore-drifttool: drives the drift monitor without the feature and scorer services. It
 * runs the generator model (tools/gen) and, for every customer transaction, applies it to that
 * customer's RFM state with the feature service's own code (services/features/rfm.h) and
 * produces the resulting CustomerFeatures to topic.features (key customer_id), exactly as the
 * feature service would. Options add: a price shift on the first S stores between two days
 * (--shift-day, --shift-end: the generator's own shift never ends); synthetic churn scores to
 * topic.scores (--scores: an oracle from the generator's churn days with noise, turned into
 * coin flips from --scores-degrade-day); dead letters to topic.dlq for the generator's bad
 * records (--bad-rate). --from-day/--to-day produce only part of the days (the state is built
 * from day 0 anyway), so a test can feed a stream in phases. Prints "produced=N delivered=N
 * failed=N" and exits non-zero on any delivery failure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen_model.h"
#include "rfm.h"
#include "ss_avro.h"
#include "ss_buf.h"
#include "ss_cfg.h"
#include "ss_dlq.h"
#include "ss_err.h"
#include "ss_kafka.h"
#include "ss_log.h"
#include "ss_txn.h"

#define DAY_MS INT64_C(86400000)

static const ss_cfg_def_t defs[] = {
    {"brokers", SS_CFG_STR, "127.0.0.1:9092", 0, 0, "Kafka bootstrap servers", 0},
    {"redis.host", SS_CFG_STR, "127.0.0.1", 0, 0, "unused (accepted from the stack conf)", 0},
    {"redis.port", SS_CFG_INT, "6379", 0, 65535, "unused (accepted from the stack conf)", 0},
    {"schemas.dir", SS_CFG_STR, SS_SOURCE_DIR "/schemas", 0, 0,
     "directory with the schema manifest", 0},
    {"topic.features", SS_CFG_STR, "customer-features", 0, 0, "CustomerFeatures topic", 0},
    {"topic.scores", SS_CFG_STR, "churn-scores", 0, 0, "ChurnScore topic (with --scores)", 0},
    {"topic.dlq", SS_CFG_STR, "transactions.dlq", 0, 0, "dead-letter topic (bad records)", 0},
    {"seed", SS_CFG_INT, "1", 1, 9e18, "generator seed", 0},
    {"customers", SS_CFG_INT, "1000", 1, 1e8, "generator customers", 0},
    {"stores", SS_CFG_INT, "10", 1, 999, "generator stores", 0},
    {"days", SS_CFG_INT, "90", 1, 36500, "generator days (from 2024-01-01)", 0},
    {"bad-rate", SS_CFG_DOUBLE, "0", 0, 1, "generator bad records, sent as dead letters", 0},
    {"shift-day", SS_CFG_INT, "-1", -1, 36500, "first day of the price shift (-1 = none)", 0},
    {"shift-end", SS_CFG_INT, "-1", -1, 36500, "first day after the shift (-1 = never ends)", 0},
    {"shift-stores", SS_CFG_INT, "1", 1, 999, "stores s001.. shifted", 0},
    {"shift-factor", SS_CFG_DOUBLE, "3", 0.001, 1000, "unit prices x F during the shift", 0},
    {"scores", SS_CFG_BOOL, "false", 0, 0, "also produce synthetic churn scores", 0},
    {"scores-degrade-day", SS_CFG_INT, "-1", -1, 36500,
     "from this day the scores are coin flips (-1 = never)", 0},
    {"horizon-days", SS_CFG_INT, "90", 1, 3650, "churn horizon of the oracle scores", 0},
    {"from-day", SS_CFG_INT, "0", 0, 36500, "produce only events of days >= this", 0},
    {"to-day", SS_CFG_INT, "-1", -1, 36500, "produce only events of days < this (-1 = all)", 0},
    {"flush.timeout.ms", SS_CFG_INT, "60000", 1, 3600000, "final flush timeout", 0},
};

static uint64_t mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

/* Deterministic uniform in [0, 1) from two integers. */
static double unif(uint64_t a, uint64_t b) {
    return (double)(mix(a * 0x9E3779B97F4A7C15ULL + b) >> 11) / 9007199254740992.0;
}

int main(int argc, char **argv) {
    ss_err_t err = SS_ERR_INIT;
    int status = 1;
    gen_t *g = NULL;
    ss_avro_reg_t *reg = NULL;
    ss_avro_writer_t *fw = NULL, *sw = NULL;
    ss_kafka_producer_t *p = NULL;
    ss_dlq_t *dlq = NULL;
    rfm_state_t *st = NULL;
    ss_buf_t out = SS_BUF_INIT;
    ss_txn_t t = SS_TXN_INIT;
    uint64_t produced = 0;

    ss_log_init("drifttool");
    ss_cfg_t *cfg = ss_cfg_new("drifttool", "drive the drift monitor with generated features", defs,
                               sizeof(defs) / sizeof(defs[0]));
    int rc = ss_cfg_load(cfg, argc, argv, &err);
    if (rc < 0) {
        status = rc == SS_ERR_EXIT ? 0 : 2;
        if (status)
            fprintf(stderr, "streamscore-drifttool: %s\n", err.msg);
        goto out;
    }
    gen_opts_t o = {.seed = (uint64_t)ss_cfg_int(cfg, "seed"),
                    .customers = (int)ss_cfg_int(cfg, "customers"),
                    .stores = (int)ss_cfg_int(cfg, "stores"),
                    .days = (int)ss_cfg_int(cfg, "days"),
                    .bad_rate = ss_cfg_double(cfg, "bad-rate")};
    if (!(g = gen_new(&o, &err)))
        goto fail;
    const gen_opts_t *eo = gen_opts(g);
    int shift_day = (int)ss_cfg_int(cfg, "shift-day"),
        shift_end = (int)ss_cfg_int(cfg, "shift-end");
    int shift_stores = (int)ss_cfg_int(cfg, "shift-stores");
    double factor = ss_cfg_double(cfg, "shift-factor");
    int from_day = (int)ss_cfg_int(cfg, "from-day"), to_day = (int)ss_cfg_int(cfg, "to-day");
    int scores = ss_cfg_bool(cfg, "scores");
    int degrade = (int)ss_cfg_int(cfg, "scores-degrade-day");
    int64_t horizon = ss_cfg_int(cfg, "horizon-days") * DAY_MS;
    const char *ftopic = ss_cfg_str(cfg, "topic.features"),
               *stopic = ss_cfg_str(cfg, "topic.scores");
    int32_t fid, sid;
    if (!(reg = ss_avro_reg_new(ss_cfg_str(cfg, "schemas.dir"), &err)) ||
        ss_avro_reg_current_id(reg, "streamscore.CustomerFeatures", &fid, &err) < 0 ||
        ss_avro_reg_current_id(reg, "streamscore.ChurnScore", &sid, &err) < 0 ||
        !(fw = ss_avro_writer_new(reg, fid, &err)) || !(sw = ss_avro_writer_new(reg, sid, &err)))
        goto fail;
    ss_kafka_producer_opts_t po = {.client_id = "streamscore-drifttool"};
    if (!(p = ss_kafka_producer_new(cfg, &po, &err)) ||
        !(dlq = ss_dlq_new(p, reg, ss_cfg_str(cfg, "topic.dlq"), "features", &err)))
        goto fail;
    st = ss_xcalloc((size_t)eo->customers, sizeof(*st));

    gen_bad_t bad;
    while (gen_next(g, &t, &bad)) {
        int day = (int)((t.event_time_ms - eo->start_ms) / DAY_MS);
        int emit = day >= from_day && (to_day < 0 || day < to_day);
        if (bad != GEN_BAD_NONE) {
            if (emit) {
                ss_dlq_entry_t e = {.source_topic = "transactions",
                                    .partition = 0,
                                    .offset = (int64_t)produced,
                                    .payload = t.order_id,
                                    .len = strlen(t.order_id),
                                    .reason = gen_bad_name(bad),
                                    .error_code = SS_DLQ_INVALID};
                if (ss_dlq_publish_entry(dlq, &e, &err) < 0)
                    goto fail;
                produced++;
            }
            continue;
        }
        if (!t.has_customer)
            continue;
        int ci = gen_id_index(t.customer_id, 'c'), si = gen_id_index(t.store_id, 's');
        if (ci < 0 || ci >= eo->customers)
            continue;
        double amount = ss_txn_amount(&t);
        if (shift_day >= 0 && day >= shift_day && (shift_end < 0 || day < shift_end) && si >= 0 &&
            si < shift_stores)
            amount *= factor;
        if (t.kind == SS_TXN_PURCHASE)
            rfm_apply_purchase(&st[ci], t.event_time_ms, amount);
        else
            rfm_apply_return(&st[ci], t.event_time_ms, amount);
        if (!emit)
            continue;
        rfm_features_t f;
        rfm_features(&st[ci], t.event_time_ms, &f);
        avro_value_t *v = ss_avro_writer_value(fw);
        rc = 0;
        rc |= ss_avro_set_str(v, "customer_id", t.customer_id, &err);
        rc |= ss_avro_set_long(v, "as_of", t.event_time_ms, &err);
        rc |= ss_avro_set_str(v, "order_id", t.order_id, &err);
        rc |= ss_avro_set_int(v, "recency_days", (int32_t)f.recency_days, &err);
        rc |= ss_avro_set_long(v, "frequency", f.frequency, &err);
        rc |= ss_avro_set_double(v, "total_spent", f.total_spent, &err);
        rc |= ss_avro_set_double(v, "avg_order", f.avg_order, &err);
        rc |= ss_avro_set_double(v, "order_std", f.order_std, &err);
        rc |= ss_avro_set_int(v, "days_since_first_order", (int32_t)f.days_since_first_order, &err);
        rc |= ss_avro_set_double(v, "purchase_frequency", f.purchase_frequency, &err);
        rc |= ss_avro_set_int(v, "recent_orders_30d", (int32_t)f.recent_orders_30d, &err);
        rc |= ss_avro_set_long(v, "return_count", f.return_count, &err);
        rc |= ss_avro_set_double(v, "return_amount", f.return_amount, &err);
        rc |= ss_avro_set_long(v, "first_order_time", st[ci].agg.first_ms, &err);
        rc |= ss_avro_set_long(v, "last_order_time", st[ci].agg.last_ms, &err);
        ss_buf_reset(&out);
        if (rc || ss_avro_writer_encode(fw, &out, &err) < 0 ||
            ss_kafka_produce(p, ftopic, t.customer_id, strlen(t.customer_id), out.buf, out.len,
                             &err) < 0)
            goto fail;
        produced++;
        if (!scores)
            continue;
        /* Oracle: high when the customer's churn day falls within the horizon, plus noise;
         * coin flips once degraded. */
        int cd = gen_customer_churn_day(g, ci);
        int64_t churn_ms = cd < 0 ? INT64_MAX : eo->start_ms + cd * DAY_MS;
        int will_churn = churn_ms <= t.event_time_ms + horizon;
        double u = unif((uint64_t)ci, (uint64_t)t.event_time_ms);
        double prob = (degrade >= 0 && day >= degrade)
                          ? u
                          : fmin(1, fmax(0, (will_churn ? 0.6 : 0.2) + 0.3 * (u - 0.5)));
        v = ss_avro_writer_value(sw);
        rc = 0;
        rc |= ss_avro_set_str(v, "customer_id", t.customer_id, &err);
        rc |= ss_avro_set_double(v, "probability", prob, &err);
        rc |= ss_avro_set_enum(v, "risk_level",
                               prob > 0.7   ? "HIGH"
                               : prob > 0.4 ? "MEDIUM"
                                            : "LOW",
                               &err);
        rc |= ss_avro_set_str(v, "model_version", "drifttool-oracle", &err);
        rc |= ss_avro_set_long(v, "features_as_of", t.event_time_ms, &err);
        rc |= ss_avro_set_long(v, "scored_at", t.event_time_ms, &err);
        ss_buf_reset(&out);
        if (rc || ss_avro_writer_encode(sw, &out, &err) < 0 ||
            ss_kafka_produce(p, stopic, t.customer_id, strlen(t.customer_id), out.buf, out.len,
                             &err) < 0)
            goto fail;
        produced++;
    }
    rc = ss_kafka_producer_flush(p, (int)ss_cfg_int(cfg, "flush.timeout.ms"), &err);
    uint64_t delivered = ss_kafka_producer_delivered(p), failed = ss_kafka_producer_failed_total(p);
    printf("produced=%llu delivered=%llu failed=%llu\n", (unsigned long long)produced,
           (unsigned long long)delivered, (unsigned long long)failed);
    if (rc < 0)
        goto fail;
    status = failed || delivered != produced ? 1 : 0;
    goto out;
fail:
    fprintf(stderr, "streamscore-drifttool: %s\n", err.msg);
    status = 1;
out:
    if (st)
        for (int i = 0; i < gen_opts(g)->customers; i++)
            rfm_state_release(&st[i]);
    free(st);
    ss_txn_release(&t);
    ss_buf_release(&out);
    ss_dlq_destroy(dlq);
    ss_kafka_producer_destroy(p);
    ss_avro_writer_destroy(fw);
    ss_avro_writer_destroy(sw);
    ss_avro_reg_destroy(reg);
    gen_destroy(g);
    ss_cfg_destroy(cfg);
    return status;
}
