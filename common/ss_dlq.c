/* ss_dlq: dead-letter envelopes and publishing (see ss_dlq.h). */
#include "ss_dlq.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ss_log.h"

#define SS_DLQ_CODES_MAX 16

struct ss_dlq {
    ss_kafka_producer_t *p; /* borrowed */
    ss_avro_reg_t *reg;     /* borrowed: tells an unknown writer id from a bad payload */
    ss_avro_writer_t *w;
    char *topic, *service;
    ss_buf_t buf;       /* reused encoding buffer */
    pthread_mutex_t mu; /* guards the counters below */
    char *codes[SS_DLQ_CODES_MAX];
    uint64_t counts[SS_DLQ_CODES_MAX];
    size_t ncodes;
    uint64_t total;
};

const char *ss_dlq_code_for(int ss_err_code) {
    switch (ss_err_code) {
    case SS_ERR_DECODE:
        return SS_DLQ_DECODE;
    case SS_ERR_CONFLICT:
        return SS_DLQ_CONFLICT;
    case SS_ERR_NOTFOUND:
        return SS_DLQ_UNKNOWN_SCHEMA;
    default:
        return SS_DLQ_INVALID;
    }
}

const char *ss_dlq_code_for_payload(ss_avro_reg_t *reg, int ss_err_code, const void *payload,
                                    size_t len) {
    if (reg && (ss_err_code == SS_ERR_DECODE || ss_err_code == SS_ERR_NOTFOUND)) {
        int32_t id;
        const uint8_t *body;
        size_t blen;
        ss_err_t e = SS_ERR_INIT;
        if (ss_avro_frame_parse(payload, len, &id, &body, &blen, &e) == 0) {
            /* with a Schema Registry attached this asks it (or its negative cache) again; a
             * registry that went away meanwhile answers RETRIABLE: keep DECODE then */
            if (ss_avro_reg_json(reg, id, &e))
                return SS_DLQ_DECODE;
            if (e.code == SS_ERR_NOTFOUND)
                return SS_DLQ_UNKNOWN_SCHEMA;
        }
    }
    return ss_dlq_code_for(ss_err_code);
}

static int64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *nz(const char *s) { return s ? s : ""; }

int ss_dlq_encode(ss_avro_writer_t *w, const ss_dlq_entry_t *e, ss_buf_t *out, ss_err_t *err) {
    avro_value_t *v = ss_avro_writer_value(w);
    static const char empty[1] = "";
    int rc;

    if ((rc = ss_avro_set_str(v, "source_topic", nz(e->source_topic), err)) < 0 ||
        (rc = ss_avro_set_int(v, "partition", e->partition, err)) < 0 ||
        (rc = ss_avro_set_long(v, "offset", e->offset, err)) < 0 ||
        (rc = e->key ? ss_avro_set_bytes(v, "key", e->key, e->keylen, err)
                     : ss_avro_set_null(v, "key", err)) < 0 ||
        (rc = ss_avro_set_bytes(v, "payload", e->payload ? e->payload : empty,
                                e->payload ? e->len : 0, err)) < 0 ||
        (rc = ss_avro_set_str(v, "reason", nz(e->reason), err)) < 0 ||
        (rc = ss_avro_set_str(v, "error_code", e->error_code ? e->error_code : SS_DLQ_INVALID,
                              err)) < 0 ||
        (rc = ss_avro_set_str(v, "service", nz(e->service), err)) < 0 ||
        (rc = ss_avro_set_long(v, "failed_at", e->failed_at_ms, err)) < 0)
        return rc;
    return ss_avro_writer_encode(w, out, err);
}

static void hdr_str(rd_kafka_headers_t *h, const char *name, const char *val) {
    rd_kafka_header_add(h, name, -1, val, -1);
}

rd_kafka_headers_t *ss_dlq_headers(const ss_dlq_entry_t *e) {
    rd_kafka_headers_t *h = rd_kafka_headers_new(8);
    char num[64], src[512];

    hdr_str(h, "dlq.reason", nz(e->reason));
    hdr_str(h, "dlq.error_code", e->error_code ? e->error_code : SS_DLQ_INVALID);
    hdr_str(h, "dlq.service", nz(e->service));
    snprintf(src, sizeof(src), "%s/%" PRId32 "@%" PRId64, nz(e->source_topic), e->partition,
             e->offset);
    hdr_str(h, "dlq.source", src);
    hdr_str(h, "dlq.source.topic", nz(e->source_topic));
    snprintf(num, sizeof(num), "%" PRId32, e->partition);
    hdr_str(h, "dlq.source.partition", num);
    snprintf(num, sizeof(num), "%" PRId64, e->offset);
    hdr_str(h, "dlq.source.offset", num);
    snprintf(num, sizeof(num), "%" PRId64, e->failed_at_ms);
    hdr_str(h, "dlq.failed_at", num);
    return h;
}

ss_dlq_t *ss_dlq_new(ss_kafka_producer_t *p, ss_avro_reg_t *reg, const char *topic,
                     const char *service, ss_err_t *err) {
    int32_t id;
    ss_avro_writer_t *w;
    ss_dlq_t *d;

    if (ss_avro_reg_current_id(reg, "streamscore.DeadLetter", &id, err) < 0)
        return NULL;
    if (!(w = ss_avro_writer_new(reg, id, err)))
        return NULL;
    d = ss_xcalloc(1, sizeof(*d));
    d->p = p;
    d->reg = reg;
    d->w = w;
    d->topic = ss_xstrdup(topic);
    d->service = ss_xstrdup(service ? service : "");
    ss_buf_init(&d->buf, 1024);
    pthread_mutex_init(&d->mu, NULL);
    return d;
}

void ss_dlq_destroy(ss_dlq_t *d) {
    if (!d)
        return;
    ss_avro_writer_destroy(d->w);
    ss_buf_release(&d->buf);
    for (size_t i = 0; i < d->ncodes; i++)
        free(d->codes[i]);
    pthread_mutex_destroy(&d->mu);
    free(d->topic);
    free(d->service);
    free(d);
}

static void count(ss_dlq_t *d, const char *code) {
    size_t i;

    pthread_mutex_lock(&d->mu);
    d->total++;
    for (i = 0; i < d->ncodes; i++)
        if (strcmp(d->codes[i], code) == 0)
            break;
    if (i == d->ncodes && d->ncodes < SS_DLQ_CODES_MAX)
        d->codes[d->ncodes++] = ss_xstrdup(code);
    if (i < d->ncodes)
        d->counts[i]++;
    pthread_mutex_unlock(&d->mu);
}

int ss_dlq_publish_entry(ss_dlq_t *d, const ss_dlq_entry_t *in, ss_err_t *err) {
    ss_dlq_entry_t e = *in;
    rd_kafka_headers_t *h;
    int rc;

    if (!e.service)
        e.service = d->service;
    if (!e.error_code)
        e.error_code = SS_DLQ_INVALID;
    if (e.failed_at_ms == 0)
        e.failed_at_ms = wall_ms();
    ss_buf_reset(&d->buf);
    if ((rc = ss_dlq_encode(d->w, &e, &d->buf, err)) < 0)
        return rc;
    h = ss_dlq_headers(&e);
    rc = ss_kafka_produce_ex(d->p, d->topic, e.key, e.key ? e.keylen : 0, d->buf.buf, d->buf.len, h,
                             NULL, err);
    if (rc < 0) {
        rd_kafka_headers_destroy(h); /* not taken on failure */
        return rc;
    }
    count(d, e.error_code);
    SS_LOG(LOG_NOTICE, "dlq",
           "dead-lettered: %s topic=%s partition=%" PRId32 " offset=%" PRId64 " code=%s",
           nz(e.reason), nz(e.source_topic), e.partition, e.offset, e.error_code);
    return 0;
}

int ss_dlq_publish(ss_dlq_t *d, const rd_kafka_message_t *rkm, const char *error_code,
                   const char *reason, ss_err_t *err) {
    /* callers map decode errors with ss_dlq_code_for, which cannot see the payload: an unknown
     * writer schema id is reported as its own class */
    if (error_code && strcmp(error_code, SS_DLQ_DECODE) == 0)
        error_code = ss_dlq_code_for_payload(d->reg, SS_ERR_DECODE, rkm->payload, rkm->len);
    ss_dlq_entry_t e = {
        .source_topic = rkm->rkt ? rd_kafka_topic_name(rkm->rkt) : "",
        .partition = rkm->partition,
        .offset = rkm->offset,
        .key = rkm->key,
        .keylen = rkm->key_len,
        .payload = rkm->payload,
        .len = rkm->len,
        .reason = reason,
        .error_code = error_code,
    };
    return ss_dlq_publish_entry(d, &e, err);
}

uint64_t ss_dlq_count(ss_dlq_t *d, const char *error_code) {
    uint64_t n = 0;
    pthread_mutex_lock(&d->mu);
    for (size_t i = 0; i < d->ncodes; i++)
        if (strcmp(d->codes[i], error_code) == 0)
            n = d->counts[i];
    pthread_mutex_unlock(&d->mu);
    return n;
}

size_t ss_dlq_counts(ss_dlq_t *d, const char **codes, uint64_t *counts, size_t max) {
    size_t n;
    pthread_mutex_lock(&d->mu);
    n = d->ncodes < max ? d->ncodes : max;
    for (size_t i = 0; i < n; i++) {
        codes[i] = d->codes[i];
        counts[i] = d->counts[i];
    }
    pthread_mutex_unlock(&d->mu);
    return n;
}

uint64_t ss_dlq_total(ss_dlq_t *d) {
    uint64_t n;
    pthread_mutex_lock(&d->mu);
    n = d->total;
    pthread_mutex_unlock(&d->mu);
    return n;
}
