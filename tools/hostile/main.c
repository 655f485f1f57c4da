/* streamscore-hostile: the hostile input corpus (hostile_corpus.h) for reliability tests.
 *   streamscore-hostile manifest
 *       prints the manifest as TSV: name, code (DeadLetter.error_code), level, reason
 *       (substring of the dead letter's reason), what.
 *   streamscore-hostile check
 *       decodes and validates each entry (ss_avro_txn_decode + ss_txn_validate) and prints name,
 *       expected class, actual class, actual reason; exit 1 if a pure entry is not rejected as
 *       expected (stream and state entries are ACCEPTED at this level).
 *   streamscore-hostile write DIR
 *       writes each entry's payload to DIR/<name>.bin (seeds for fuzzing, manual replays).
 *   streamscore-hostile -c stack.conf produce [--valid N] [--every K] [--only a,b] ...
 *       produces to topic.transactions: `every` valid orders, then each bad entry (key
 *       "hostile/<name>") followed by `every` valid orders, then the rest of the N valid orders;
 *       the original of the conflicting duplicate goes out with the first valid orders, under the
 *       same key as its conflicting copy. Every `dup-every`-th valid order is sent twice (a
 *       redelivery: must be ignored, not dead-lettered). Writes the valid orders (each once) as
 *       JSON lines to --valid-out, and prints "valid N", "duplicates D", "hostile H",
 *       "messages M" on stdout. The stream checks of some entries assume a topic with a single
 *       partition (docs/reliability.md).
 * Exit status: 0 ok, 1 error (delivery failed), 2 usage. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostile_corpus.h"
#include "ss_avro.h"
#include "ss_cfg.h"
#include "ss_dlq.h"
#include "ss_err.h"
#include "ss_kafka.h"
#include "ss_log.h"

static const ss_cfg_def_t defs[] = {
    {"brokers", SS_CFG_STR, "127.0.0.1:9092", 0, 0, "Kafka bootstrap servers", 0, NULL},
    {"redis.host", SS_CFG_STR, "127.0.0.1", 0, 0, "unused (accepted from the stack conf)", 0, NULL},
    {"redis.port", SS_CFG_INT, "6379", 0, 65535, "unused (accepted from the stack conf)", 0, NULL},
    {"topic.transactions", SS_CFG_STR, "transactions", 0, 0, "topic the events are produced to", 0,
     NULL},
    {"schemas.dir", SS_CFG_STR, SS_SOURCE_DIR "/schemas", 0, 0,
     "schema manifest directory (for the Transaction schema id)", 0, NULL},
    {"valid", SS_CFG_INT, "300", 0, 1e9, "valid orders to produce", 0, NULL},
    {"every", SS_CFG_INT, "3", 1, 1e6, "valid orders between two bad entries", 0, NULL},
    {"dup-every", SS_CFG_INT, "10", 0, 1e9, "send every Nth valid order twice (0: never)", 0, NULL},
    {"customers", SS_CFG_INT, "40", 1, 1e8, "distinct customers of the valid orders", 0, NULL},
    {"tag", SS_CFG_STR, "h", 0, 0, "prefix of every order and customer id (<= 16 bytes)", 0, NULL},
    {"base-ms", SS_CFG_INT, "1717200000000", 946684800000, 4000000000000,
     "event time of the first orders, epoch ms (default 2024-06-01)", 0, NULL},
    {"only", SS_CFG_STR, "", 0, 0, "comma-separated entry names to produce (default: all)", 0,
     NULL},
    {"valid-out", SS_CFG_STR, "", 0, 0, "write the valid orders as JSON lines to this file", 0,
     NULL},
};

static volatile sig_atomic_t stop;
static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

static int selected(const char *only, const char *name) {
    if (!*only)
        return 1;
    size_t n = strlen(name);
    for (const char *p = only; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return 1;
        p += len + (e ? 1 : 0);
    }
    return 0;
}

static int write_dir(const char *dir, ss_err_t *err) {
    ss_buf_t b = SS_BUF_INIT, path = SS_BUF_INIT;
    int rc = 0;
    for (size_t i = 0; i < hcorp_count() && rc == 0; i++) {
        ss_buf_reset(&b);
        ss_buf_reset(&path);
        hcorp_build(i, NULL, &b, err);
        ss_buf_addf(&path, "%s/%s.bin", dir, hcorp_kind(i)->name);
        FILE *f = fopen(path.buf, "wb");
        if (!f) {
            rc = ss_err_set_errno(err, SS_ERR_IO, errno, "cannot create '%s'", path.buf);
            break;
        }
        if (fwrite(b.buf, 1, b.len, f) != b.len || fclose(f) != 0)
            rc = ss_err_set_errno(err, SS_ERR_IO, errno, "cannot write '%s'", path.buf);
    }
    ss_buf_release(&b);
    ss_buf_release(&path);
    return rc;
}

/* Decodes and validates every entry as the service's first two steps do and prints
 * name, expected class, actual class, actual reason (TSV); returns SS_ERR_INVAL if a pure entry
 * is accepted or its reason lacks the expected text. */
static int check(const ss_cfg_t *cfg, ss_err_t *err) {
    ss_avro_reg_t *reg = ss_avro_reg_new(ss_cfg_str(cfg, "schemas.dir"), err);
    ss_avro_txn_codec_t *codec = reg ? ss_avro_txn_codec_new(reg, err) : NULL;
    ss_txn_t t = SS_TXN_INIT;
    ss_buf_t b = SS_BUF_INIT;
    int bad = 0;
    if (!codec) {
        ss_avro_reg_destroy(reg);
        return err->code;
    }
    for (size_t i = 0; i < hcorp_count(); i++) {
        const hcorp_kind_t *k = hcorp_kind(i);
        ss_err_t e = SS_ERR_INIT;
        ss_buf_reset(&b);
        hcorp_build(i, NULL, &b, &e);
        int rc = ss_avro_txn_decode(codec, b.len ? b.buf : NULL, b.len, &t, &e);
        if (rc == 0)
            rc = ss_txn_validate(&t, NULL, &e);
        const char *got =
            rc < 0 ? ss_dlq_code_for_payload(reg, rc, b.len ? b.buf : NULL, b.len) : "ACCEPTED";
        if (k->level == HCORP_PURE &&
            (rc == 0 || !strstr(e.msg, k->reason) || strcmp(got, k->code) != 0))
            bad++;
        printf("%s\t%s\t%s\t%s\n", k->name, k->code, got, rc < 0 ? e.msg : "-");
    }
    ss_txn_release(&t);
    ss_buf_release(&b);
    ss_avro_txn_codec_destroy(codec);
    ss_avro_reg_destroy(reg);
    return bad ? ss_err_set(err, SS_ERR_INVAL, "%d entries not rejected as expected", bad) : 0;
}

typedef struct prod {
    ss_kafka_producer_t *p;
    const char *topic;
    hcorp_opts_t o;
    unsigned customers;
    int64_t dup_every;
    FILE *valid_out;
    uint64_t seq, valid, dups, hostile, msgs;
    ss_txn_t t;
    ss_buf_t val, key, js;
} prod_t;

/* A stateful entry (the conflicting duplicate) and its original go out under the original's
 * customer id, as a well-behaved producer keys them: the features service owns a customer's
 * state per partition and dead-letters orders keyed otherwise. Leaves s->t as the original. */
static int state_key(prod_t *s, size_t i, ss_err_t *err) {
    ss_buf_t tmp = SS_BUF_INIT;
    int rc = hcorp_build_original(i, &s->o, &tmp, &s->t, err);
    ss_buf_release(&tmp);
    if (rc < 0)
        return rc;
    ss_buf_reset(&s->key);
    ss_buf_adds(&s->key, s->t.has_customer ? s->t.customer_id : s->t.store_id);
    return 0;
}

static int send_msg(prod_t *s, ss_err_t *err) {
    s->msgs++;
    return ss_kafka_produce(s->p, s->topic, s->key.buf, s->key.len, s->val.len ? s->val.buf : NULL,
                            s->val.len, err);
}

static void record(prod_t *s) {
    if (!s->valid_out)
        return;
    ss_buf_reset(&s->js);
    hcorp_txn_json(&s->t, &s->js);
    fwrite(s->js.buf, 1, s->js.len, s->valid_out);
}

static int send_valid(prod_t *s, int64_t n, int64_t limit, ss_err_t *err) {
    int rc = 0;
    for (int64_t i = 0; i < n && (int64_t)s->valid < limit && rc == 0 && !stop; i++) {
        hcorp_valid_txn(s->seq++, &s->o, s->customers, &s->t);
        ss_buf_reset(&s->val);
        ss_buf_reset(&s->key);
        hcorp_encode_txn(&s->t, s->o.schema_id, &s->val);
        ss_buf_adds(&s->key, s->t.has_customer ? s->t.customer_id : s->t.store_id);
        rc = send_msg(s, err);
        s->valid++;
        record(s);
        if (rc == 0 && s->dup_every && s->valid % (uint64_t)s->dup_every == 0) {
            rc = send_msg(s, err);
            s->dups++;
        }
    }
    return rc;
}

static int produce(const ss_cfg_t *cfg, ss_err_t *err) {
    prod_t s = {0};
    s.t = (ss_txn_t)SS_TXN_INIT;
    s.val = s.key = s.js = (ss_buf_t)SS_BUF_INIT;
    s.topic = ss_cfg_str(cfg, "topic.transactions");
    s.customers = (unsigned)ss_cfg_int(cfg, "customers");
    s.dup_every = ss_cfg_int(cfg, "dup-every");
    s.o.base_ms = ss_cfg_int(cfg, "base-ms");
    s.o.tag = ss_cfg_str(cfg, "tag");
    const char *only = ss_cfg_str(cfg, "only");
    const char *vpath = ss_cfg_str(cfg, "valid-out");
    int64_t every = ss_cfg_int(cfg, "every"), nvalid = ss_cfg_int(cfg, "valid");
    int rc = 0;
    uint64_t failed = 0;
    ss_avro_reg_t *reg = NULL;

    if (strlen(s.o.tag) > 16)
        return ss_err_set(err, SS_ERR_INVAL, "tag '%s' is longer than 16 bytes", s.o.tag);
    if (!(reg = ss_avro_reg_new(ss_cfg_str(cfg, "schemas.dir"), err)) ||
        ss_avro_reg_current_id(reg, "transactions", &s.o.schema_id, err) < 0) {
        rc = err->code;
        goto out;
    }
    if (*vpath && !(s.valid_out = fopen(vpath, "w"))) {
        rc = ss_err_set_errno(err, SS_ERR_IO, errno, "cannot create '%s'", vpath);
        goto out;
    }
    ss_kafka_producer_opts_t po = {.client_id = "streamscore-hostile", .linger_ms = 5};
    if (!(s.p = ss_kafka_producer_new(cfg, &po, err))) {
        rc = err->code;
        goto out;
    }
    /* Warm-up: the stream clock is set before any bad entry, the originals of stateful
     * entries are applied before their conflicting copies. */
    rc = send_valid(&s, every, nvalid, err);
    for (size_t i = 0; i < hcorp_count() && rc == 0; i++) {
        if (hcorp_kind(i)->level != HCORP_STATE || !selected(only, hcorp_kind(i)->name))
            continue;
        ss_buf_reset(&s.val);
        if ((rc = hcorp_build_original(i, &s.o, &s.val, &s.t, err)) == 0 &&
            (rc = state_key(&s, i, err)) == 0 && (rc = send_msg(&s, err)) == 0) {
            s.valid++;
            record(&s);
        }
    }
    for (size_t i = 0; i < hcorp_count() && rc == 0 && !stop; i++) {
        if (!selected(only, hcorp_kind(i)->name))
            continue;
        ss_buf_reset(&s.key);
        hcorp_key(i, &s.key);
        if (hcorp_kind(i)->level == HCORP_STATE)
            rc = state_key(&s, i, err);
        ss_buf_reset(&s.val);
        if (rc == 0 && (rc = hcorp_build(i, &s.o, &s.val, err)) == 0 &&
            (rc = send_msg(&s, err)) == 0)
            s.hostile++;
        if (rc == 0)
            rc = send_valid(&s, every, nvalid, err);
    }
    if (rc == 0)
        rc = send_valid(&s, nvalid, nvalid, err);
    if (rc == 0)
        rc = ss_kafka_producer_flush(s.p, 60000, err);
    failed = ss_kafka_producer_failed_take(s.p);
    if (rc == 0 && failed)
        rc =
            ss_err_set(err, SS_ERR_IO, "%llu messages failed delivery", (unsigned long long)failed);
    if (rc == 0 && stop)
        rc = ss_err_set(err, SS_ERR_IO, "interrupted");
    printf("valid %llu\nduplicates %llu\nhostile %llu\nmessages %llu\n",
           (unsigned long long)s.valid, (unsigned long long)s.dups, (unsigned long long)s.hostile,
           (unsigned long long)s.msgs);
out:
    if (s.valid_out && fclose(s.valid_out) != 0 && rc == 0)
        rc = ss_err_set_errno(err, SS_ERR_IO, errno, "cannot write '%s'", vpath);
    ss_kafka_producer_destroy(s.p);
    ss_avro_reg_destroy(reg);
    ss_txn_release(&s.t);
    ss_buf_release(&s.val);
    ss_buf_release(&s.key);
    ss_buf_release(&s.js);
    return rc;
}

int main(int argc, char **argv) {
    ss_log_init("hostile");
    ss_err_t err = SS_ERR_INIT;
    ss_cfg_t *cfg = ss_cfg_new("hostile",
                               "hostile input corpus: manifest | check | write DIR | produce (to "
                               "Kafka, interleaved with valid orders)",
                               defs, sizeof(defs) / sizeof(defs[0]));
    ss_cfg_set_usage(cfg, "manifest|check|write DIR|produce");
    int rc = ss_cfg_load(cfg, argc, argv, &err);
    if (rc == SS_ERR_EXIT) {
        ss_cfg_destroy(cfg);
        return 0;
    }
    const char *cmd = rc == 0 && ss_cfg_argc(cfg) > 0 ? ss_cfg_arg(cfg, 0) : NULL;
    if (rc == 0 && !cmd)
        rc = ss_err_set(&err, SS_ERR_INVAL,
                        "missing command (manifest, check, write DIR or produce)");
    if (rc < 0) {
        fprintf(stderr, "streamscore-hostile: %s\n", err.msg);
        ss_cfg_destroy(cfg);
        return 2;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (strcmp(cmd, "manifest") == 0) {
        hcorp_manifest(stdout);
    } else if (strcmp(cmd, "write") == 0 && ss_cfg_argc(cfg) == 2) {
        rc = write_dir(ss_cfg_arg(cfg, 1), &err);
    } else if (strcmp(cmd, "check") == 0) {
        rc = check(cfg, &err);
    } else if (strcmp(cmd, "produce") == 0) {
        rc = produce(cfg, &err);
    } else {
        fprintf(stderr, "streamscore-hostile: unknown command '%s'\n", cmd);
        ss_cfg_destroy(cfg);
        return 2;
    }
    if (rc < 0)
        fprintf(stderr, "streamscore-hostile: %s\n", err.msg);
    ss_cfg_destroy(cfg);
    return rc < 0 ? 1 : 0;
}
