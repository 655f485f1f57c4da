/* ss_dlq: dead-letter publishing. A message a service cannot process (undecodable, invalid,
 * conflicting) is data: it is wrapped in a DeadLetter envelope (schemas/DeadLetter.avsc, Avro,
 * Confluent-framed), published to the dead-letter topic with its original key and `dlq.*`
 * headers, and counted per error code. Depends on ss_kafka, ss_avro, ss_buf.
 * Threads: a handle is used by the thread that owns its producer; ss_dlq_count/ss_dlq_counts may
 * be called from any thread (/metrics). */
#ifndef SS_DLQ_H
#define SS_DLQ_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "ss_avro.h"
#include "ss_buf.h"
#include "ss_err.h"
#include "ss_kafka.h"

/* Machine-readable classes (DeadLetter.error_code). */
#define SS_DLQ_DECODE "DECODE"                 /* undecodable payload */
#define SS_DLQ_INVALID "INVALID"               /* decoded but failed validation */
#define SS_DLQ_CONFLICT "CONFLICT"             /* same id, other content */
#define SS_DLQ_UNKNOWN_SCHEMA "UNKNOWN_SCHEMA" /* writer schema id not known */

/* One dead letter; every pointer is borrowed for the call. */
typedef struct ss_dlq_entry {
    const char *source_topic; /* topic the message came from */
    int32_t partition;
    int64_t offset;
    const void *key; /* NULL: the message had no key */
    size_t keylen;
    const void *payload; /* the original value bytes, verbatim (may be NULL if len is 0) */
    size_t len;
    const char *reason;     /* human-readable error text (err.msg) */
    const char *error_code; /* SS_DLQ_* */
    const char *service;    /* "features", ... */
    int64_t failed_at_ms;   /* epoch ms UTC; 0: ss_dlq_publish* fills in the wall clock */
} ss_dlq_entry_t;

/* Maps an SS_ERR_* code to a DeadLetter error code: SS_ERR_DECODE -> DECODE, SS_ERR_CONFLICT ->
 * CONFLICT, SS_ERR_NOTFOUND -> UNKNOWN_SCHEMA, anything else -> INVALID. Pure. */
const char *ss_dlq_code_for(int ss_err_code);
/* Like ss_dlq_code_for for a payload that failed to decode with ss_err_code: SS_ERR_DECODE (or
 * SS_ERR_NOTFOUND) of a well-framed payload whose writer schema id reg does not know - neither
 * from the manifest nor from a Schema Registry attached to reg - is UNKNOWN_SCHEMA; every other
 * case is ss_dlq_code_for(ss_err_code). reg NULL: ss_dlq_code_for. May ask reg's fetch callback
 * (its negative cache answers an id just found unknown without a request). */
const char *ss_dlq_code_for_payload(ss_avro_reg_t *reg, int ss_err_code, const void *payload,
                                    size_t len);

/* Encodes e as a framed DeadLetter record with writer w (a writer for the DeadLetter schema) and
 * appends it to out. Pure apart from w's reusable value. Errors: as ss_avro_writer_encode. */
int ss_dlq_encode(ss_avro_writer_t *w, const ss_dlq_entry_t *e, ss_buf_t *out, ss_err_t *err);

/* Returns new (rd_kafka_headers_destroy, or hand to ss_kafka_produce_ex) the dlq.* headers of e:
 * dlq.reason, dlq.error_code, dlq.service, dlq.source ("topic/partition@offset"),
 * dlq.source.topic, dlq.source.partition, dlq.source.offset, dlq.failed_at (epoch ms). Pure. */
rd_kafka_headers_t *ss_dlq_headers(const ss_dlq_entry_t *e);

typedef struct ss_dlq ss_dlq_t;

/* Returns new: a publisher to `topic` (copied) for `service` (copied), using producer p and
 * registry reg (both borrowed: must outlive the handle). The DeadLetter schema is the registry's
 * current "streamscore.DeadLetter". NULL on error (schema not registered). */
ss_dlq_t *ss_dlq_new(ss_kafka_producer_t *p, ss_avro_reg_t *reg, const char *topic,
                     const char *service, ss_err_t *err);
void ss_dlq_destroy(ss_dlq_t *d); /* NULL is a no-op */

/* Publishes a dead letter for the consumed message rkm (borrowed): its topic, partition, offset,
 * key and value, with `error_code` (SS_DLQ_*) and `reason` (text). An error_code of DECODE is
 * refined with ss_dlq_code_for_payload (the handle's registry): a message framed with an
 * unknown schema id is published as UNKNOWN_SCHEMA. Logs one line (state change:
 * "dead-lettered"), counts it. Delivery is asynchronous: before storing rkm's offset, flush the
 * producer and check ss_kafka_producer_failed_take (a lost dead letter is a lost input).
 * Returns 0, or the producer's error (SS_ERR_FATAL/SS_ERR_RETRIABLE) or an encoding error. */
int ss_dlq_publish(ss_dlq_t *d, const rd_kafka_message_t *rkm, const char *error_code,
                   const char *reason, ss_err_t *err);
/* Same for an explicit entry (e.g. a replayed file row); e->service NULL means the handle's. */
int ss_dlq_publish_entry(ss_dlq_t *d, const ss_dlq_entry_t *e, ss_err_t *err);

/* Dead letters published for error_code (0 if never). Any thread. */
uint64_t ss_dlq_count(ss_dlq_t *d, const char *error_code);
/* Copies up to max (code, count) pairs into codes[] (borrowed: valid until destroy) and
 * counts[]; returns how many. Any thread. */
size_t ss_dlq_counts(ss_dlq_t *d, const char **codes, uint64_t *counts, size_t max);
/* Total published. Any thread. */
uint64_t ss_dlq_total(ss_dlq_t *d);

#endif
