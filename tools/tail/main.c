/* streamscore-tail: prints the events of any of our topics, one JSON object per line:
 *   {"topic":"churn-scores","partition":3,"offset":17,"timestamp":1764140400123,"key":"C42",
 *    "headers":{"dlq.reason":"..."},"value":{...decoded Avro...}}
 * Values are Confluent-framed Avro decoded with the schema registry of schemas.dir (or, with
 * schema.registry.url, writer schemas fetched from the Schema Registry); a value that
 * does not decode gets "value":null and "error":"<why>" (and its bytes as "raw"), and tail goes on.
 *   streamscore-tail -c .stack/stack.conf [--from beginning|end] [--group.id G] [--count N]
 *                    [--timeout S] [--raw] TOPIC...
 * Without a group every partition is read from --from; with one, the group's committed offsets
 * are used and offsets are stored after each printed batch. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ss_avro.h"
#include "ss_buf.h"
#include "ss_cfg.h"
#include "ss_err.h"
#include "ss_kafka.h"
#include "ss_log.h"
#include "ss_schemareg.h"

static const ss_cfg_def_t defs[] = {
    {"brokers", SS_CFG_STR, "127.0.0.1:9092", 0, 0, "bootstrap servers", 0},
    {"redis.host", SS_CFG_STR, "127.0.0.1", 0, 0, "unused (accepted from the stack conf)", 0},
    {"redis.port", SS_CFG_INT, "6379", 0, 65535, "unused (accepted from the stack conf)", 0},
    {"schemas.dir", SS_CFG_STR, SS_SOURCE_DIR "/schemas", 0, 0,
     "directory with the schema manifest", 0},
    SS_SCHEMAREG_CFG_DEFS,
    {"group.id", SS_CFG_STR, "", 0, 0, "consumer group (empty: no group, read all partitions)", 0},
    {"from", SS_CFG_STR, "beginning", 0, 0, "without a group: 'beginning' or 'end'", 0},
    {"count", SS_CFG_INT, "0", 0, 1e12, "exit after printing this many events (0: no limit)", 0},
    {"timeout", SS_CFG_INT, "0", 0, 86400, "exit after this many seconds (0: never)", 0},
    {"session.timeout.ms", SS_CFG_INT, "6000", 1000, 300000,
     "group session timeout (short: the mock cluster delays rejoins by up to this)", 0},
    {"raw", SS_CFG_BOOL, "false", 0, 0, "do not decode values; print them as strings", 0},
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

/* A JSON string of arbitrary bytes: valid UTF-8 as is, otherwise each byte as U+00XX (the Avro
 * JSON convention for bytes). */
static json_t *bytes_json(const void *p, size_t n) {
    json_t *s = json_stringn(p ? p : "", p ? n : 0);
    ss_buf_t b = SS_BUF_INIT;
    const unsigned char *u = p;

    if (s)
        return s;
    for (size_t i = 0; i < n; i++) {
        if (u[i] < 0x80) {
            ss_buf_addch(&b, u[i]);
        } else {
            ss_buf_addch(&b, 0xc0 | (u[i] >> 6));
            ss_buf_addch(&b, 0x80 | (u[i] & 0x3f));
        }
    }
    s = json_stringn(b.buf, b.len);
    ss_buf_release(&b);
    return s;
}

static void print_event(ss_avro_reg_t *reg, const rd_kafka_message_t *rkm, int raw, ss_buf_t *tmp) {
    json_t *o = json_object();
    rd_kafka_headers_t *hdrs = NULL;
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(rkm, &tstype);
    char *line;

    json_object_set_new(o, "topic", json_string(rd_kafka_topic_name(rkm->rkt)));
    json_object_set_new(o, "partition", json_integer(rkm->partition));
    json_object_set_new(o, "offset", json_integer(rkm->offset));
    if (ts >= 0)
        json_object_set_new(o, "timestamp", json_integer(ts));
    json_object_set_new(o, "key", rkm->key ? bytes_json(rkm->key, rkm->key_len) : json_null());
    if (rd_kafka_message_headers(rkm, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs) {
        json_t *h = json_object();
        const char *name;
        const void *val;
        size_t len;
        for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &len) == 0; i++)
            json_object_set_new(h, name, val ? bytes_json(val, len) : json_null());
        json_object_set_new(o, "headers", h);
    }
    if (raw || !rkm->payload) {
        json_object_set_new(o, "value",
                            rkm->payload ? bytes_json(rkm->payload, rkm->len) : json_null());
    } else {
        ss_err_t err = SS_ERR_INIT;
        json_t *v = NULL;
        ss_buf_reset(tmp);
        if (ss_avro_to_json(reg, rkm->payload, rkm->len, tmp, &err) == 0) {
            json_error_t jerr;
            v = json_loadb(tmp->buf, tmp->len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
            if (!v)
                ss_err_set(&err, SS_ERR_DECODE, "rendered JSON does not parse: %s", jerr.text);
        }
        if (v) {
            json_object_set_new(o, "value", v);
        } else {
            json_object_set_new(o, "value", json_null());
            json_object_set_new(o, "error", json_string(err.msg));
            json_object_set_new(o, "raw", bytes_json(rkm->payload, rkm->len));
        }
    }
    line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (line) {
        fputs(line, stdout);
        fputc('\n', stdout);
        free(line);
    }
    json_decref(o);
}

int main(int argc, char **argv) {
    ss_err_t err = SS_ERR_INIT;
    ss_cfg_t *cfg;
    ss_avro_reg_t *reg = NULL;
    ss_schemareg_t *sr = NULL;
    ss_kafka_consumer_t *c = NULL;
    ss_kafka_consumer_opts_t o = {0};
    rd_kafka_message_t *msgs[100];
    const char **topics = NULL;
    ss_buf_t tmp = SS_BUF_INIT;
    int64_t count, printed = 0, deadline;
    int rc = 1, raw;

    ss_log_init("tail");
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    cfg = ss_cfg_new("tail", "print events of streamscore topics as JSON lines", defs,
                     sizeof(defs) / sizeof(defs[0]));
    ss_cfg_set_usage(cfg, "TOPIC...");
    if ((rc = ss_cfg_load(cfg, argc, argv, &err)) < 0) {
        rc = rc == SS_ERR_EXIT ? 0 : 2;
        if (rc)
            fprintf(stderr, "streamscore-tail: %s\n", err.msg);
        goto out;
    }
    rc = 1;
    if (ss_cfg_argc(cfg) < 1) {
        fprintf(stderr, "streamscore-tail: expected at least one TOPIC\n");
        rc = 2;
        goto out;
    }
    raw = ss_cfg_bool(cfg, "raw");
    count = ss_cfg_int(cfg, "count");
    deadline = ss_cfg_int(cfg, "timeout") ? mono_ms() + ss_cfg_int(cfg, "timeout") * 1000 : 0;
    if (strcmp(ss_cfg_str(cfg, "from"), "beginning") != 0 &&
        strcmp(ss_cfg_str(cfg, "from"), "end") != 0) {
        fprintf(stderr, "streamscore-tail: --from must be 'beginning' or 'end'\n");
        rc = 2;
        goto out;
    }
    if (!raw && !(reg = ss_schemareg_open_reader(cfg, &sr, &err)))
        goto fail;

    topics = ss_xcalloc((size_t)ss_cfg_argc(cfg), sizeof(*topics));
    for (int i = 0; i < ss_cfg_argc(cfg); i++)
        topics[i] = ss_cfg_arg(cfg, i);
    o.topics = topics;
    o.topic_count = (size_t)ss_cfg_argc(cfg);
    o.client_id = "streamscore-tail";
    o.stats_interval_ms = -1;
    o.session_timeout_ms = (int)ss_cfg_int(cfg, "session.timeout.ms");
    o.no_group = !*ss_cfg_str(cfg, "group.id");
    o.start =
        strcmp(ss_cfg_str(cfg, "from"), "end") == 0 ? SS_KAFKA_START_END : SS_KAFKA_START_BEGINNING;
    if (!(c = ss_kafka_consumer_new(cfg, &o, &err)))
        goto fail;

    while (!stop && (count == 0 || printed < count) && (!deadline || mono_ms() < deadline)) {
        size_t want = sizeof(msgs) / sizeof(msgs[0]);
        int n;
        if (count && (int64_t)want > count - printed)
            want = (size_t)(count - printed);
        n = ss_kafka_consumer_poll_batch(c, msgs, want, 200, &err);
        if (n < 0)
            goto fail;
        for (int i = 0; i < n; i++)
            print_event(reg, msgs[i], raw, &tmp);
        fflush(stdout);
        if (ss_kafka_consumer_store(c, msgs, (size_t)n, &err) < 0) {
            ss_kafka_msgs_destroy(msgs, (size_t)n);
            goto fail;
        }
        ss_kafka_msgs_destroy(msgs, (size_t)n);
        printed += n;
    }
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "streamscore-tail: %s\n", err.msg);
    rc = 1;
out:
    ss_kafka_consumer_destroy(c);
    ss_avro_reg_destroy(reg);
    ss_schemareg_destroy(sr);
    ss_buf_release(&tmp);
    free(topics);
    ss_cfg_destroy(cfg);
    return rc;
}
