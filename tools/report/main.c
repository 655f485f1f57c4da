/* streamscore-report: writes one self-contained HTML page (inline SVG, no scripts, no external
 * resources) about a run: throughput and consumer lag, churn risk mix, the churn model's feature
 * importance, forecast vs actual for chosen (store, product) pairs, and PSI per feature and
 * window. Reads every topic from its first offset to its end (no consumer group), the model
 * artifact, and the demand hashes in Redis.
 *   streamscore-report -c .stack/stack.conf --model .stack/churn-model --out report.html
 *                      [--pairs s001:p00012,...] [--top 4]
 * A missing source gives a chart saying "no data: <why>", never a failure. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report_data.h"
#include "report_page.h"
#include "ss_avro.h"
#include "ss_buf.h"
#include "ss_cfg.h"
#include "ss_err.h"
#include "ss_log.h"
#include "ss_redis.h"

static const ss_cfg_def_t defs[] = {
    {"brokers", SS_CFG_STR, "127.0.0.1:9092", 0, 0, "bootstrap servers", 0},
    {"redis.host", SS_CFG_STR, "127.0.0.1", 0, 0, "redis host (demand hashes)", 0},
    {"redis.port", SS_CFG_INT, "6379", 0, 65535, "redis port", 0},
    {"redis.password", SS_CFG_STR, "", 0, 0, "redis password", SS_CFG_SECRET},
    {"redis.prefix", SS_CFG_STR, "ss:", 0, 0, "key prefix of the features service", 0},
    {"schemas.dir", SS_CFG_STR, SS_SOURCE_DIR "/schemas", 0, 0,
     "directory with the schema manifest", 0},
    {"topic.transactions", SS_CFG_STR, "transactions", 0, 0, "transactions topic", 0},
    {"topic.dlq", SS_CFG_STR, "transactions.dlq", 0, 0, "dead-letter topic", 0},
    {"topic.features", SS_CFG_STR, "customer-features", 0, 0, "CustomerFeatures topic", 0},
    {"topic.scores", SS_CFG_STR, "churn-scores", 0, 0, "ChurnScore topic", 0},
    {"topic.forecasts", SS_CFG_STR, "demand-forecasts", 0, 0, "DemandForecast topic", 0},
    {"topic.alerts", SS_CFG_STR, "drift-alerts", 0, 0, "DriftAlert topic", 0},
    {"model", SS_CFG_STR, "", 0, 0, "churn model artifact directory (importance, PSI references)",
     0},
    {"out", SS_CFG_STR, "report.html", 0, 0, "HTML file to write", 0},
    {"pairs", SS_CFG_STR, "", 0, 0,
     "store:product pairs for forecast vs actual, comma-separated (default: the top by volume)", 0},
    {"top", SS_CFG_INT, "4", 0, 50, "pairs drawn when --pairs is not given", 0},
    {"history.days", SS_CFG_INT, "56", 1, 730, "actual days shown before each forecast", 0},
    {"read.timeout.ms", SS_CFG_INT, "60000", 1000, 3600000,
     "give up on a topic not read to its end after this long", 0},
    {"psi.min.samples", SS_CFG_INT, "100", 1, 1e9, "values per feature and window to judge PSI", 0},
    {"psi.warning", SS_CFG_DOUBLE, "0.1", 0, 100, "PSI band: moderate from here", 0},
    {"psi.critical", SS_CFG_DOUBLE, "0.25", 0, 100, "PSI band: significant above this", 0},
};

static int write_file(const char *path, const ss_buf_t *b, ss_err_t *err) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return ss_err_set_errno(err, SS_ERR_IO, errno, "cannot write '%s'", tmp);
    size_t n = fwrite(b->buf, 1, b->len, f);
    int e = errno;
    if (fclose(f) != 0 || n != b->len) {
        remove(tmp);
        return ss_err_set_errno(err, SS_ERR_IO, e, "cannot write '%s'", tmp);
    }
    if (rename(tmp, path) != 0) {
        e = errno;
        remove(tmp);
        return ss_err_set_errno(err, SS_ERR_IO, e, "cannot rename '%s'", tmp);
    }
    return 0;
}

int main(int argc, char **argv) {
    ss_err_t err = SS_ERR_INIT;
    ss_avro_reg_t *reg = NULL;
    ss_redis_t *r = NULL;
    ss_buf_t page = SS_BUF_INIT;
    rdata_t d;
    int rc;

    ss_log_init("report");
    ss_cfg_t *cfg = ss_cfg_new("report", "write an HTML report with charts of a streamscore run",
                               defs, sizeof(defs) / sizeof(defs[0]));
    rdata_init(&d, NULL);
    if ((rc = ss_cfg_load(cfg, argc, argv, &err)) < 0) {
        rc = rc == SS_ERR_EXIT ? 0 : 2;
        if (rc)
            fprintf(stderr, "streamscore-report: %s\n", err.msg);
        goto out;
    }
    if (ss_cfg_argc(cfg) > 0) {
        fprintf(stderr, "streamscore-report: unexpected argument '%s'\n", ss_cfg_arg(cfg, 0));
        rc = 2;
        goto out;
    }
    const char *topics[RDATA_N_TOPICS] = {
        ss_cfg_str(cfg, "topic.transactions"), ss_cfg_str(cfg, "topic.dlq"),
        ss_cfg_str(cfg, "topic.features"),     ss_cfg_str(cfg, "topic.scores"),
        ss_cfg_str(cfg, "topic.forecasts"),    ss_cfg_str(cfg, "topic.alerts")};
    rdata_init(&d, topics);
    rc = 1;

    /* The model first: a bad path is the caller's mistake, reported now, but not fatal. */
    if (rdata_collect_model(&d, ss_cfg_str(cfg, "model"), &err) < 0)
        SS_LOG(LOG_WARNING, "report", "%s", d.model_msg);
    ss_err_clear(&err);

    if (!(reg = ss_avro_reg_new(ss_cfg_str(cfg, "schemas.dir"), &err)))
        goto fail;
    if (rdata_collect_kafka(&d, cfg, reg, (int)ss_cfg_int(cfg, "read.timeout.ms"), &err) < 0)
        goto fail;

    ss_redis_opts_t ro = {.host = ss_cfg_str(cfg, "redis.host"),
                          .port = (int)ss_cfg_int(cfg, "redis.port"),
                          .password = ss_cfg_str(cfg, "redis.password"),
                          .connect_timeout_ms = 2000};
    r = ss_redis_new(&ro);
    ss_err_t rerr = SS_ERR_INIT;
    int sel = rdata_collect_actuals(&d, r, ss_cfg_str(cfg, "redis.prefix"),
                                    ss_cfg_str(cfg, "pairs"), (size_t)ss_cfg_int(cfg, "top"),
                                    (int)ss_cfg_int(cfg, "history.days"), &rerr);
    if (sel == SS_ERR_INVAL && strstr(rerr.msg, "store:product")) {
        fprintf(stderr, "streamscore-report: --pairs: %s\n", rerr.msg);
        rc = 2;
        goto out;
    }
    if (sel < 0) {
        /* Forecasts are still drawn, without actuals. */
        SS_LOG(LOG_WARNING, "report", "no actual demand from redis: %s", rerr.msg);
        rdata_select_pairs(&d, ss_cfg_str(cfg, "pairs"), (size_t)ss_cfg_int(cfg, "top"), &rerr);
    }

    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char source[1024];
    snprintf(source, sizeof source, "Kafka %s; Redis %s:%lld (prefix %s); model %s",
             ss_cfg_str(cfg, "brokers"), ss_cfg_str(cfg, "redis.host"),
             (long long)ss_cfg_int(cfg, "redis.port"), ss_cfg_str(cfg, "redis.prefix"),
             *ss_cfg_str(cfg, "model") ? ss_cfg_str(cfg, "model") : "(none)");
    rpage_opts_t po = {.source = source,
                       .generated_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000,
                       .psi_min_samples = (size_t)ss_cfg_int(cfg, "psi.min.samples"),
                       .psi_warning = ss_cfg_double(cfg, "psi.warning"),
                       .psi_critical = ss_cfg_double(cfg, "psi.critical")};
    int charts = rpage_render(&page, &d, &po);
    if (write_file(ss_cfg_str(cfg, "out"), &page, &err) < 0)
        goto fail;
    printf("report=%s charts=%d bytes=%zu\n", ss_cfg_str(cfg, "out"), charts, page.len);
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "streamscore-report: %s\n", err.msg);
    rc = 1;
out:
    ss_buf_release(&page);
    ss_redis_destroy(r);
    rdata_release(&d);
    ss_avro_reg_destroy(reg);
    ss_cfg_destroy(cfg);
    return rc;
}
