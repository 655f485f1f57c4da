/* streamscore-fstoretool: test driver of the features store (services/features fstore) without
 * Kafka. Orders are JSON lines shaped like the Transaction record (streamscore-tail output):
 *   {"order_id":..,"customer_id":..|null,"store_id":..,"event_time":ms,"kind":"PURCHASE"|"RETURN",
 *    "lines":[{"product_id":..,"quantity":N,"unit_price":X}],"currency":"GBP"}
 * Commands (config as usual: -c file, --redis.port N, --redis.prefix P, ...):
 *   apply        reads orders from stdin, applies them in batches of batch.size through one
 *                EVALSHA each (retrying with backoff while Redis is down), prints one result line
 *                per order: {"order_id":..,"status":"applied|duplicate|conflict","late":0|1}
 *   model        applies stdin to the in-memory reference model (fmodel) and prints its state
 *                (dump-state format), or with --what=demand|customers the other dumps
 *   dump-state | dump-demand | dump [--as-of ms]    read the Redis store back
 * Invalid lines (bad JSON, ss_txn_validate failures) are reported on stderr and skipped. */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmodel.h"
#include "fstore.h"
#include "ss_buf.h"
#include "ss_cfg.h"
#include "ss_log.h"
#include "ss_redis.h"
#include "ss_txn.h"

static const ss_cfg_def_t defs[] = {
    {"redis.host", SS_CFG_STR, "127.0.0.1", 0, 0, "Redis host", 0},
    {"redis.port", SS_CFG_INT, "6379", 1, 65535, "Redis port", 0},
    {"redis.user", SS_CFG_STR, "", 0, 0, "Redis ACL user (empty: the default user)", 0},
    {"redis.password", SS_CFG_STR, "", 0, 0, "Redis AUTH password", SS_CFG_SECRET},
    {"redis.prefix", SS_CFG_STR, "ss:", 0, 0, "key prefix", 0},
    {"brokers", SS_CFG_STR, "127.0.0.1:9092", 0, 0, "unused (accepted from the stack conf)", 0},
    {"batch.size", SS_CFG_INT, "500", 1, 100000, "orders per EVALSHA (apply)", 0},
    {"demand.allowed_lateness_ms", SS_CFG_INT, "3600000", -1, 1e12,
     "allowed lateness of demand days (-1: never close)", 0},
    {"demand.tz_offset_min", SS_CFG_INT, "0", -840, 840, "event-time day offset from UTC", 0},
    {"as-of", SS_CFG_INT, "-1", -1, 1e15, "dump: as-of epoch ms (-1: latest event)", 0},
    {"script.file", SS_CFG_STR, "", 0, 0, "apply: use this Lua file instead of the embedded one",
     0},
    {"what", SS_CFG_STR, "state", 0, 0, "model: state|demand|customers", 0},
    {"local.tx", SS_CFG_BOOL, "true", 0, 0,
     "apply in local mode (SS_FSTORE_STATE_MODE=local): write as WATCH/MULTI transactions, the "
     "service's default (this tool is the only writer); false: through the write script",
     0},
};

/* Fills t from one JSON order; 0 or SS_ERR_INVAL. */
static int txn_from_json(const char *text, ss_txn_t *t, ss_err_t *err) {
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    int rc = 0;
    if (!o || !json_is_object(o)) {
        rc = ss_err_set(err, SS_ERR_INVAL, "bad JSON: %s", o ? "not an object" : je.text);
        goto out;
    }
    ss_txn_clear(t);
    const char *oid = json_string_value(json_object_get(o, "order_id"));
    const char *store = json_string_value(json_object_get(o, "store_id"));
    json_t *cid = json_object_get(o, "customer_id");
    json_t *et = json_object_get(o, "event_time");
    const char *kind = json_string_value(json_object_get(o, "kind"));
    const char *cur = json_string_value(json_object_get(o, "currency"));
    json_t *lines = json_object_get(o, "lines");
    if (!oid || !store || !json_is_integer(et) || !json_is_array(lines) ||
        strlen(oid) > SS_ID_MAX || strlen(store) > SS_ID_MAX) {
        rc = ss_err_set(err, SS_ERR_INVAL, "missing or bad field");
        goto out;
    }
    snprintf(t->order_id, sizeof(t->order_id), "%s", oid);
    snprintf(t->store_id, sizeof(t->store_id), "%s", store);
    if (json_is_string(cid)) {
        if (strlen(json_string_value(cid)) > SS_ID_MAX) {
            rc = ss_err_set(err, SS_ERR_INVAL, "customer_id too long");
            goto out;
        }
        snprintf(t->customer_id, sizeof(t->customer_id), "%s", json_string_value(cid));
        t->has_customer = 1;
    }
    t->event_time_ms = json_integer_value(et);
    t->kind = kind && strcmp(kind, "RETURN") == 0 ? SS_TXN_RETURN : SS_TXN_PURCHASE;
    snprintf(t->currency, sizeof(t->currency), "%s", cur ? cur : "GBP");
    size_t i;
    json_t *l;
    json_array_foreach(lines, i, l) {
        const char *pid = json_string_value(json_object_get(l, "product_id"));
        json_t *q = json_object_get(l, "quantity"), *p = json_object_get(l, "unit_price");
        if (!pid || strlen(pid) > SS_ID_MAX || !json_is_integer(q) || !json_is_number(p)) {
            rc = ss_err_set(err, SS_ERR_INVAL, "bad line %zu", i);
            goto out;
        }
        ss_txn_line_t *ln = ss_txn_add_line(t);
        snprintf(ln->product_id, sizeof(ln->product_id), "%s", pid);
        ln->quantity = (int32_t)json_integer_value(q);
        ln->unit_price = json_number_value(p);
    }
    rc = ss_txn_validate(t, NULL, err);
out:
    json_decref(o);
    return rc;
}

/* Reads the next valid order from stdin into t; 1 on success, 0 at EOF. */
static int next_txn(ss_txn_t *t, char **line, size_t *cap, long *lineno) {
    ssize_t n;
    while ((n = getline(line, cap, stdin)) > 0) {
        (*lineno)++;
        if (n == 1)
            continue;
        ss_err_t err = SS_ERR_INIT;
        if (txn_from_json(*line, t, &err) == 0)
            return 1;
        fprintf(stderr, "stdin:%ld: skipped: %s\n", *lineno, err.msg);
    }
    return 0;
}

static const char *status_name(fstore_status_t s) {
    return s == FSTORE_APPLIED ? "applied" : s == FSTORE_DUPLICATE ? "duplicate" : "conflict";
}

static int cmd_apply(const ss_cfg_t *cfg, ss_redis_t *r, fstore_t *fs, ss_err_t *err) {
    size_t bs = (size_t)ss_cfg_int(cfg, "batch.size");
    ss_txn_t *txns = ss_xcalloc(bs, sizeof(*txns));
    const ss_txn_t **ptrs = ss_xcalloc(bs, sizeof(*ptrs));
    fstore_result_t *res = ss_xcalloc(bs, sizeof(*res));
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    int rc = 0, eof = 0;
    while (!eof && rc == 0) {
        size_t n = 0;
        while (n < bs && !(eof = !next_txn(&txns[n], &line, &cap, &lineno))) {
            ptrs[n] = &txns[n];
            n++;
        }
        if (n == 0)
            break;
        for (;;) {
            rc = fstore_apply(fs, ptrs, n, res, err);
            if (rc != SS_ERR_RETRIABLE)
                break;
            SS_LOG(LOG_WARNING, "fstoretool", "redis unavailable, retrying batch: %s", err->msg);
            ss_err_clear(err);
            ss_redis_backoff(r);
        }
        for (size_t i = 0; rc == 0 && i < n; i++)
            printf("{\"order_id\":\"%s\",\"status\":\"%s\",\"late\":%d}\n", txns[i].order_id,
                   status_name(res[i].status), res[i].late);
        fflush(stdout);
    }
    free(line);
    for (size_t i = 0; i < bs; i++)
        ss_txn_release(&txns[i]);
    free(txns);
    free(ptrs);
    free(res);
    return rc;
}

static int cmd_model(const ss_cfg_t *cfg) {
    fmodel_t *m = fmodel_new(ss_cfg_int(cfg, "demand.allowed_lateness_ms"),
                             (int)ss_cfg_int(cfg, "demand.tz_offset_min"));
    ss_txn_t t = SS_TXN_INIT;
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    int64_t latest = INT64_MIN;
    while (next_txn(&t, &line, &cap, &lineno)) {
        if (fmodel_apply(m, &t, NULL) == FSTORE_APPLIED && t.event_time_ms > latest)
            latest = t.event_time_ms;
    }
    const char *what = ss_cfg_str(cfg, "what");
    int64_t as_of = ss_cfg_int(cfg, "as-of");
    if (strcmp(what, "demand") == 0)
        fmodel_dump_demand(m, stdout);
    else if (strcmp(what, "customers") == 0)
        fmodel_dump_customers(m, as_of >= 0 ? as_of : latest, stdout);
    else
        fmodel_dump_state(m, stdout);
    free(line);
    ss_txn_release(&t);
    fmodel_destroy(m);
    return 0;
}

int main(int argc, char **argv) {
    ss_log_init("fstoretool");
    signal(SIGPIPE, SIG_IGN);
    ss_err_t err = SS_ERR_INIT;
    ss_cfg_t *cfg = ss_cfg_new("fstoretool", "feature store test driver (apply|model|dump...)",
                               defs, sizeof(defs) / sizeof(defs[0]));
    int rc = ss_cfg_load(cfg, argc, argv, &err);
    if (rc == SS_ERR_EXIT) {
        ss_cfg_destroy(cfg);
        return 0;
    }
    if (rc < 0 || ss_cfg_argc(cfg) != 1) {
        fprintf(stderr, "streamscore-fstoretool: %s\n",
                rc < 0 ? err.msg : "expected one command: apply|model|dump|dump-state|dump-demand");
        ss_cfg_destroy(cfg);
        return 2;
    }
    const char *cmd = ss_cfg_arg(cfg, 0);
    if (strcmp(cmd, "model") == 0) {
        rc = cmd_model(cfg);
        ss_cfg_destroy(cfg);
        return rc;
    }
    ss_redis_opts_t ro = {.host = ss_cfg_str(cfg, "redis.host"),
                          .port = (int)ss_cfg_int(cfg, "redis.port"),
                          .user = ss_cfg_str(cfg, "redis.user"),
                          .password = ss_cfg_str(cfg, "redis.password"),
                          .backoff_max_ms = 1000};
    ss_redis_t *r = ss_redis_new(&ro);
    fstore_opts_t fo = {.prefix = ss_cfg_str(cfg, "redis.prefix"),
                        .lateness_ms = ss_cfg_int(cfg, "demand.allowed_lateness_ms"),
                        .tz_offset_min = (int)ss_cfg_int(cfg, "demand.tz_offset_min"),
                        .anon_owned = ss_cfg_bool(cfg, "local.tx")};
    char *src = NULL;
    const char *sf = ss_cfg_str(cfg, "script.file");
    if (sf && *sf) {
        FILE *f = fopen(sf, "rb");
        if (!f) {
            fprintf(stderr, "streamscore-fstoretool: cannot open '%s'\n", sf);
            return 2;
        }
        ss_buf_t b = SS_BUF_INIT;
        char chunk[4096];
        size_t k;
        while ((k = fread(chunk, 1, sizeof(chunk), f)) > 0)
            ss_buf_add(&b, chunk, k);
        fclose(f);
        src = ss_buf_detach(&b, NULL);
        fo.script_src = src;
    }
    fstore_t *fs = fstore_new(r, &fo);
    if (strcmp(cmd, "apply") == 0) {
        rc = cmd_apply(cfg, r, fs, &err);
    } else if (strcmp(cmd, "dump-state") == 0) {
        rc = fstore_dump_state(fs, stdout, NULL, &err);
    } else if (strcmp(cmd, "dump-demand") == 0) {
        rc = fstore_dump_demand(fs, stdout, NULL, &err);
    } else if (strcmp(cmd, "dump") == 0) {
        int64_t as_of = ss_cfg_int(cfg, "as-of");
        if (as_of < 0)
            rc = fstore_latest_time(fs, &as_of, &err);
        if (rc == 0)
            rc = fstore_dump_customers(fs, as_of, stdout, NULL, &err);
    } else {
        rc = ss_err_set(&err, SS_ERR_INVAL, "unknown command '%s'", cmd);
    }
    if (rc < 0)
        fprintf(stderr, "streamscore-fstoretool: %s\n", err.msg);
    fstore_destroy(fs);
    ss_redis_destroy(r);
    free(src);
    ss_cfg_destroy(cfg);
    return rc < 0 ? 1 : 0;
}
