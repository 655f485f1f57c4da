/* streamscore-scorertool: drives and measures the scorer without the rest of the pipeline.
 *   features HISTORY.csv   replays a history (replay formats) through the feature service's rfm
 *                          code and writes the CustomerFeatures events it would publish: to Kafka
 *                          (--produce, topic.features) and/or as JSON lines (--jsonl FILE)
 *   bench                  loads --customers synthetic customers into the scorer state, then
 *                          times --days inactivity sweeps (and --lookups HTTP lookups)
 * Examples:
 *   streamscore-scorertool -c .stack/stack.conf features --format native --produce gen.csv
 *   streamscore-scorertool bench --model.path churn-model --customers 1000000 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "replay_csv.h"
#include "replay_input.h"
#include "scorer_api.h"
#include "scorer_codec.h"
#include "scorer_pipe.h"
#include "scorer_state.h"
#include "ss_avro.h"
#include "ss_buf.h"
#include "ss_cfg.h"
#include "ss_err.h"
#include "ss_http.h"
#include "ss_kafka.h"
#include "ss_log.h"
#include "stool_feed.h"

static const ss_cfg_def_t defs[] = {
    {"brokers", SS_CFG_STR, "127.0.0.1:9092", 0, 0, "Kafka bootstrap servers", 0},
    {"redis.host", SS_CFG_STR, "127.0.0.1", 0, 0, "unused (accepted from the stack conf)", 0},
    {"redis.port", SS_CFG_INT, "6379", 0, 65535, "unused (accepted from the stack conf)", 0},
    {"schemas.dir", SS_CFG_STR, SS_SOURCE_DIR "/schemas", 0, 0,
     "directory with the schema manifest", 0},
    {"topic.features", SS_CFG_STR, "customer-features", 0, 0, "features: topic to produce to", 0},
    {"format", SS_CFG_STR, "native", 0, 0, "features: input format", 0,
     "native|online-retail|store-item"},
    {"produce", SS_CFG_BOOL, "false", 0, 0, "features: produce the events to Kafka", 0},
    {"jsonl", SS_CFG_STR, "", 0, 0, "features: also write the events as JSON lines here", 0},
    {"until", SS_CFG_STR, "", 0, 0, "features: only orders before this time (ISO or epoch ms)", 0},
    {"from", SS_CFG_STR, "", 0, 0,
     "features: write/produce only orders from this time on (earlier ones still count)", 0},
    {"model.path", SS_CFG_STR, "churn-model", 0, 0, "bench: churn model artifact", 0},
    {"model.threads", SS_CFG_INT, "1", 0, 64, "bench: XGBoost threads (0 = all cores)", 0},
    {"customers", SS_CFG_INT, "1000000", 1, 100000000, "bench: synthetic customers", 0},
    {"days", SS_CFG_INT, "3", 1, 3650, "bench: sweeps (event-time days) to time", 0},
    {"sweep.chunk", SS_CFG_INT, "8192", 1, 1000000, "bench: rows per prediction call", 0},
    {"lookups", SS_CFG_INT, "0", 0, 100000000, "bench: HTTP lookups to time (0 = none)", 0},
    {"seed", SS_CFG_INT, "1", 1, 1e15, "bench: random seed", 0},
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- features ---- */

static void event_json(const scorer_event_t *ev, FILE *out) {
    const rfm_features_t *f = &ev->f;
    fprintf(out,
            "{\"customer_id\":\"%s\",\"order_id\":\"%s\",\"as_of\":%lld,\"recency_days\":%lld,"
            "\"frequency\":%lld,\"total_spent\":%.17g,\"avg_order\":%.17g,\"order_std\":%.17g,"
            "\"days_since_first_order\":%lld,\"purchase_frequency\":%.17g,"
            "\"recent_orders_30d\":%lld,\"return_count\":%lld,\"return_amount\":%.17g,"
            "\"first_order_time\":%lld,\"last_order_time\":%lld}\n",
            ev->customer_id, ev->order_id, (long long)f->as_of_ms, (long long)f->recency_days,
            (long long)f->frequency, f->total_spent, f->avg_order, f->order_std,
            (long long)f->days_since_first_order, f->purchase_frequency,
            (long long)f->recent_orders_30d, (long long)f->return_count, f->return_amount,
            (long long)ev->first_ms, (long long)ev->last_ms);
}

static int run_features(ss_cfg_t *cfg, const char *path, ss_err_t *err) {
    rcsv_format_t fmt;
    int rc = rcsv_format_parse(ss_cfg_str(cfg, "format"), &fmt, err);
    if (rc < 0)
        return rc;
    int64_t until = INT64_MAX, from = INT64_MIN;
    if (*ss_cfg_str(cfg, "until") &&
        (rc = rcsv_parse_time(ss_cfg_str(cfg, "until"), &until, err)) < 0)
        return rc;
    if (*ss_cfg_str(cfg, "from") && (rc = rcsv_parse_time(ss_cfg_str(cfg, "from"), &from, err)) < 0)
        return rc;
    rcsv_opts_t ro = {.format = fmt};
    rcsv_t *r = rcsv_new(&ro);
    rin_t *in = NULL;
    FILE *out = NULL;
    ss_avro_reg_t *reg = NULL;
    scorer_codec_t *codec = NULL;
    ss_kafka_producer_t *prod = NULL;
    stool_feed_t *fd = stool_feed_new();
    ss_txn_t t = SS_TXN_INIT;
    ss_buf_t buf = SS_BUF_INIT;
    uint64_t n = 0;
    char chunk[65536];

    if (!(in = rin_open(path, err))) {
        rc = err->code;
        goto out;
    }
    for (;;) {
        ssize_t got = rin_read(in, chunk, sizeof chunk, err);
        if (got < 0) {
            rc = (int)got;
            goto out;
        }
        if (got == 0)
            break;
        if ((rc = rcsv_feed(r, chunk, (size_t)got, err)) < 0)
            goto out;
    }
    if ((rc = rcsv_finish(r, err)) < 0)
        goto out;
    if (*ss_cfg_str(cfg, "jsonl") && !(out = fopen(ss_cfg_str(cfg, "jsonl"), "w"))) {
        rc = ss_err_set_errno(err, SS_ERR_IO, errno, "cannot open '%s'", ss_cfg_str(cfg, "jsonl"));
        goto out;
    }
    if (ss_cfg_bool(cfg, "produce")) {
        ss_kafka_producer_opts_t po = {.client_id = "streamscore-scorertool"};
        if (!(reg = ss_avro_reg_new(ss_cfg_str(cfg, "schemas.dir"), err)) ||
            !(codec = scorer_codec_new(reg, err)) ||
            !(prod = ss_kafka_producer_new(cfg, &po, err))) {
            rc = err->code;
            goto out;
        }
    }
    for (size_t i = 0; i < rcsv_count(r); i++) {
        scorer_event_t ev;
        rcsv_get(r, i, &t);
        if (t.event_time_ms >= until)
            break;
        if (!stool_feed_apply(fd, &t, &ev) || t.event_time_ms < from)
            continue;
        n++;
        if (out)
            event_json(&ev, out);
        if (prod) {
            ss_buf_reset(&buf);
            if ((rc = scorer_codec_encode_features(codec, &ev, &buf, err)) < 0 ||
                (rc = ss_kafka_produce(prod, ss_cfg_str(cfg, "topic.features"), ev.customer_id,
                                       strlen(ev.customer_id), buf.buf, buf.len, err)) < 0)
                goto out;
        }
    }
    if (prod) {
        if ((rc = ss_kafka_producer_flush(prod, 60000, err)) < 0)
            goto out;
        if (ss_kafka_producer_failed_take(prod)) {
            rc = ss_err_set(err, SS_ERR_FATAL, "some events were not delivered");
            goto out;
        }
    }
    printf("events=%llu customers=%zu delivered=%llu\n", (unsigned long long)n,
           stool_feed_customers(fd),
           prod ? (unsigned long long)ss_kafka_producer_delivered(prod) : 0ULL);
    rc = 0;
out:
    if (out && fclose(out) != 0 && rc == 0)
        rc = ss_err_set_errno(err, SS_ERR_IO, errno, "cannot write '%s'", ss_cfg_str(cfg, "jsonl"));
    ss_kafka_producer_destroy(prod);
    scorer_codec_destroy(codec);
    ss_avro_reg_destroy(reg);
    rin_close(in, NULL);
    rcsv_destroy(r);
    stool_feed_destroy(fd);
    ss_txn_release(&t);
    ss_buf_release(&buf);
    return rc;
}

/* ---- bench ---- */

static uint64_t rng_state;

static double rnd(void) { /* xorshift64*, uniform [0, 1) */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * UINT64_C(2685821657736338717)) >> 11) / 9007199254740992.0;
}

/* A plausible customer as of t0: 1-40 orders over up to 300 days, the last 0-200 days ago. */
static void synth_event(scorer_event_t *ev, size_t i, int64_t t0) {
    memset(ev, 0, sizeof(*ev));
    snprintf(ev->customer_id, sizeof ev->customer_id, "b%09zu", i);
    snprintf(ev->order_id, sizeof ev->order_id, "o%zu", i);
    int64_t n = 1 + (int64_t)(rnd() * rnd() * 40);
    int64_t last = t0 - (int64_t)(rnd() * rnd() * 200 * SCORER_DAY_MS);
    int64_t span = n > 1 ? (int64_t)(rnd() * 300 * SCORER_DAY_MS) : 0;
    rfm_agg_t a = {0};
    for (int64_t k = 0; k < n; k++) {
        int64_t tk = k == 0 ? last - span : k == n - 1 ? last : last - (int64_t)(rnd() * span);
        rfm_agg_purchase(&a, tk, 5 + rnd() * 300);
    }
    a.first_ms = last - span;
    a.last_ms = last;
    int64_t r30 = 0;
    if (t0 - last <= RFM_WINDOW_MS)
        r30 = 1 + (int64_t)(rnd() * (double)(n > 3 ? 3 : n - 1));
    rfm_compute(&a, r30, t0, &ev->f);
    ev->first_ms = a.first_ms;
    ev->last_ms = a.last_ms;
    ev->source_partition = -1;
    ev->source_offset = -1;
}

static int count_emit(const scorer_score_t *s, const void *payload, size_t len, void *opaque) {
    (void)s;
    (void)payload;
    *(uint64_t *)opaque += len;
    return 0;
}

static size_t sink(void *p, size_t sz, size_t n, void *opaque) {
    (void)p;
    *(size_t *)opaque += sz * n;
    return sz * n;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int bench_lookups(scorer_state_t *st, size_t customers, int64_t count, ss_err_t *err) {
    ss_http_opts_t ho = {.port = 0, .flags = SS_HTTP_EPHEMERAL};
    ss_http_t *h = ss_http_new(&ho, err);
    if (!h || ss_http_route(h, SCORER_API_PREFIX, scorer_api_handle, st) < 0 ||
        ss_http_start(h, err) < 0) {
        ss_http_destroy(h);
        return SS_ERR_IO;
    }
    CURL *curl = curl_easy_init();
    double *lat = ss_xmalloc((size_t)count * sizeof(double));
    size_t bytes = 0;
    long code = 0;
    int rc = 0;
    char url[256];
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &bytes);
    for (int64_t i = 0; i < count; i++) {
        snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/customers/b%09zu/churn", ss_http_port(h),
                 (size_t)(rnd() * (double)customers));
        curl_easy_setopt(curl, CURLOPT_URL, url);
        double t0 = now_s();
        CURLcode cc = curl_easy_perform(curl);
        lat[i] = now_s() - t0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
        if (cc != CURLE_OK || code != 200) {
            rc = ss_err_set(err, SS_ERR_IO, "lookup %s failed: %s (HTTP %ld)", url,
                            curl_easy_strerror(cc), code);
            break;
        }
    }
    if (rc == 0) {
        qsort(lat, (size_t)count, sizeof(double), cmp_double);
        printf("lookups: %lld over keep-alive HTTP/1.1 on loopback: p50 %.1f us, p99 %.1f us, "
               "max %.1f us (%.0f bytes per answer)\n",
               (long long)count, lat[count / 2] * 1e6, lat[(size_t)((double)count * 0.99)] * 1e6,
               lat[count - 1] * 1e6, (double)bytes / (double)count);
    }
    free(lat);
    curl_easy_cleanup(curl);
    ss_http_destroy(h);
    return rc;
}

static int run_bench(ss_cfg_t *cfg, ss_err_t *err) {
    size_t nc = (size_t)ss_cfg_int(cfg, "customers");
    size_t chunk = (size_t)ss_cfg_int(cfg, "sweep.chunk");
    const size_t batch = 10000;
    const int64_t t0 = INT64_C(1717200000000); /* 2024-06-01 00:00 UTC */
    ss_avro_reg_t *reg = NULL;
    scorer_codec_t *codec = NULL;
    churn_model_t *m = NULL;
    scorer_state_t *st = NULL;
    scorer_event_t *evs = ss_xmalloc(batch * sizeof(*evs));
    scorer_pipe_stats_t stats = {0};
    int rc;

    rng_state = (uint64_t)ss_cfg_int(cfg, "seed") * UINT64_C(0x9E3779B97F4A7C15) | 1;
    if (!(reg = ss_avro_reg_new(ss_cfg_str(cfg, "schemas.dir"), err)) ||
        !(codec = scorer_codec_new(reg, err)) ||
        !(m = churn_model_load(ss_cfg_str(cfg, "model.path"), err)) ||
        churn_model_set_threads(m, (int)ss_cfg_int(cfg, "model.threads"), err) < 0 ||
        !(st = scorer_state_new(&(scorer_opts_t){.thresholds = churn_model_meta(m)->thresholds},
                                err))) {
        rc = err->code ? err->code : SS_ERR_INVAL;
        goto out;
    }
    printf("model %s (%d trees), %zu customers, sweep chunk %zu, %lld XGBoost thread(s)\n",
           churn_model_meta(m)->version, churn_model_rounds(m), nc, chunk,
           (long long)ss_cfg_int(cfg, "model.threads"));
    double t = now_s();
    for (size_t i = 0; i < nc; i += batch) {
        size_t n = nc - i < batch ? nc - i : batch;
        for (size_t k = 0; k < n; k++)
            synth_event(&evs[k], i + k, t0 + (int64_t)((i + k) % 3600000));
        if ((rc = scorer_pipe_events(st, codec, m, evs, n, NULL, NULL, &stats, err)) < 0)
            goto out;
    }
    double dt = now_s() - t;
    printf("load: %zu events scored and applied in %.2f s (%.0f events/s, batches of %zu)\n", nc,
           dt, (double)nc / dt, batch);
    for (int64_t d = 1; d <= ss_cfg_int(cfg, "days"); d++) {
        uint64_t bytes = 0, swept0 = stats.swept, emitted0 = 0, emitted1 = 0;
        for (int k = 0; k < 3; k++)
            emitted0 += stats.emitted[SCORER_INACTIVITY][k];
        scorer_state_advance_clock(st, t0 + d * SCORER_DAY_MS + 1000);
        t = now_s();
        if ((rc = scorer_pipe_sweeps(st, codec, m, chunk, count_emit, &bytes, &stats, NULL, err)) <
            0)
            goto out;
        dt = now_s() - t;
        for (int k = 0; k < 3; k++)
            emitted1 += stats.emitted[SCORER_INACTIVITY][k];
        printf("sweep day %lld: %llu customers re-scored in %.2f s (%.0f/s), %llu level changes "
               "encoded (%llu bytes)\n",
               (long long)d, (unsigned long long)(stats.swept - swept0), dt,
               (double)(stats.swept - swept0) / dt, (unsigned long long)(emitted1 - emitted0),
               (unsigned long long)bytes);
    }
    if (ss_cfg_int(cfg, "lookups") > 0 &&
        (rc = bench_lookups(st, nc, ss_cfg_int(cfg, "lookups"), err)) < 0)
        goto out;
    rc = 0;
out:
    scorer_state_destroy(st);
    churn_model_destroy(m);
    scorer_codec_destroy(codec);
    ss_avro_reg_destroy(reg);
    free(evs);
    return rc;
}

int main(int argc, char **argv) {
    ss_err_t err = SS_ERR_INIT;
    int rc;
    ss_log_init("scorertool");
    signal(SIGPIPE, SIG_IGN);
    ss_cfg_t *cfg = ss_cfg_new("scorertool", "scorer test driver and benchmark", defs,
                               sizeof(defs) / sizeof(defs[0]));
    ss_cfg_set_usage(cfg, "features HISTORY.csv | bench");
    if ((rc = ss_cfg_load(cfg, argc, argv, &err)) < 0) {
        rc = rc == SS_ERR_EXIT ? 0 : 2;
        if (rc)
            fprintf(stderr, "streamscore-scorertool: %s\n", err.msg);
        goto out;
    }
    const char *cmd = ss_cfg_argc(cfg) > 0 ? ss_cfg_arg(cfg, 0) : "";
    if (strcmp(cmd, "features") == 0 && ss_cfg_argc(cfg) == 2) {
        rc = run_features(cfg, ss_cfg_arg(cfg, 1), &err);
    } else if (strcmp(cmd, "bench") == 0 && ss_cfg_argc(cfg) == 1) {
        rc = run_bench(cfg, &err);
    } else {
        fprintf(stderr, "usage: streamscore-scorertool [options] features HISTORY.csv | bench\n");
        rc = 2;
        goto out;
    }
    if (rc < 0) {
        fprintf(stderr, "streamscore-scorertool: %s\n", err.msg);
        rc = 1;
    }
out:
    ss_cfg_destroy(cfg);
    return rc;
}
