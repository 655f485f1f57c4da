/* ss_avro: Avro payloads on Kafka (Confluent framing), the schema registry, schema resolution
 * with reader defaults, the Transaction hot-path codec, generic readers/writers for the other
 * record types and a JSON renderer. Depends on ss_err, ss_buf, ss_txn, avro-c and jansson; no I/O
 * except reading the manifest directory.
 * Threads: a registry may be shared between threads (it locks internally). Codecs, readers and
 * writers created from it are used by one thread at a time and must be destroyed before it.
 *
 * Binary decoding is our own (never avro-c's reader): every length, count, index and varint is
 * checked against the bytes left, so hostile payloads give SS_ERR_DECODE with a message, never a
 * crash or a large allocation. See docs/schemas.md. */
#ifndef SS_AVRO_H
#define SS_AVRO_H

#include <avro.h>
#include <stddef.h>
#include <stdint.h>

#include "ss_buf.h"
#include "ss_err.h"
#include "ss_txn.h"

/* ================================ Confluent framing ================================ */

#define SS_AVRO_MAGIC 0x00
#define SS_AVRO_HDR_LEN 5 /* magic byte + big-endian int32 schema id */

/* Splits a framed payload: *schema_id = bytes 1-4 (big-endian), *body and *body_len = the Avro
 * datum (borrows buf). Errors: SS_ERR_DECODE "payload too short: N bytes, need at least 5", "bad
 * magic byte 0x07, expected 0x00", "negative schema id -3". */
int ss_avro_frame_parse(const void *buf, size_t len, int32_t *schema_id, const uint8_t **body,
                        size_t *body_len, ss_err_t *err);
/* Appends the 5-byte header for schema_id to out. */
void ss_avro_frame_put(ss_buf_t *out, int32_t schema_id);

/* ================================ Schema registry ================================ */

typedef struct ss_avro_reg ss_avro_reg_t;

/* Called when a schema id is not in the registry (e.g. a Schema Registry HTTP client). It should
 * call ss_avro_reg_add(reg, id, NULL, json, err) and return 0, or return a negative SS_ERR_*
 * (SS_ERR_NOTFOUND if the id does not exist, SS_ERR_RETRIABLE if the registry is unreachable).
 * Runs on the thread doing the lookup, without the registry lock held. */
typedef int (*ss_avro_fetch_cb)(ss_avro_reg_t *reg, int32_t id, void *opaque, ss_err_t *err);

/* Returns a new registry loaded from <schemas_dir>/manifest (lines `<id> <topic> <file.avsc>
 * [historical]`, # comments), or an empty one if schemas_dir is NULL. Errors (NULL returned):
 * unreadable manifest/file, "manifest:3: ...", schema parse errors, bad defaults. */
ss_avro_reg_t *ss_avro_reg_new(const char *schemas_dir, ss_err_t *err);
/* NULL is a no-op. Every codec/reader/writer made from reg must be destroyed first. */
void ss_avro_reg_destroy(ss_avro_reg_t *reg);

/* Adds schema `id` from its JSON text (copies). topic (may be NULL) makes it the current schema
 * for that topic and for its record name; NULL adds a writer schema only (fetched by id, or
 * historical). Adding an existing id with identical text is a no-op; with other text it fails with
 * SS_ERR_CONFLICT. Parse errors: SS_ERR_INVAL with avro-c's or our message. */
int ss_avro_reg_add(ss_avro_reg_t *reg, int32_t id, const char *topic, const char *json_text,
                    ss_err_t *err);
/* Installs the fetch callback for unknown ids (NULL removes it). */
void ss_avro_reg_set_fetch(ss_avro_reg_t *reg, ss_avro_fetch_cb cb, void *opaque);

/* Returns the parsed avro-c schema of id (borrows: valid until ss_avro_reg_destroy), or NULL with
 * SS_ERR_NOTFOUND "unknown schema id 42" (or the fetch callback's error). */
avro_schema_t ss_avro_reg_schema(ss_avro_reg_t *reg, int32_t id, ss_err_t *err);
/* Returns the original JSON text of id (borrows, as above; keeps logicalType, docs, defaults:
 * register this text, never avro-c's re-emitted JSON). NULL with SS_ERR_NOTFOUND. */
const char *ss_avro_reg_json(ss_avro_reg_t *reg, int32_t id, ss_err_t *err);
/* Looks up the current (non-historical) schema id for name: a manifest topic ("transactions"), a
 * record full name ("streamscore.ChurnScore") or short name ("ChurnScore"). SS_ERR_NOTFOUND. */
int ss_avro_reg_current_id(ss_avro_reg_t *reg, const char *name, int32_t *id, ss_err_t *err);
/* Returns the manifest topic of id, or NULL (borrows, as above). */
const char *ss_avro_reg_topic(ss_avro_reg_t *reg, int32_t id);

/* ================================ Transaction codec ================================ */

/* Hot path for the `transactions` topic: decodes straight into ss_txn_t (no avro-c values),
 * resolving any registered Transaction writer schema against the current one (reader defaults
 * filled, promotions, enum by symbol). One per thread; borrows reg. */
typedef struct ss_avro_txn_codec ss_avro_txn_codec_t;

/* Returns a new codec whose reader/writer schema is the current "streamscore.Transaction", or
 * NULL (err) if the registry has none or it lacks the fields ss_txn_t needs. */
ss_avro_txn_codec_t *ss_avro_txn_codec_new(ss_avro_reg_t *reg, ss_err_t *err);
void ss_avro_txn_codec_destroy(ss_avro_txn_codec_t *c);
/* The schema id the codec encodes with. */
int32_t ss_avro_txn_codec_schema_id(const ss_avro_txn_codec_t *c);

/* Decodes a framed payload into t (cleared first; its line array is reused). Returns 0,
 * SS_ERR_DECODE (framing, unknown/incompatible writer schema, malformed or trailing bytes),
 * SS_ERR_INVAL (well-formed Avro that cannot be an ss_txn_t: an id longer than SS_ID_MAX bytes or
 * holding a NUL, a kind other than PURCHASE/RETURN), or whatever the fetch callback returned for
 * an unknown id other than SS_ERR_NOTFOUND (e.g. SS_ERR_RETRIABLE: do not dead-letter, retry).
 * Messages name the field path and byte offset, e.g. "lines[2].quantity: truncated varint at
 * byte 40". Does not validate: call ss_txn_validate. On error t's content is unspecified. */
int ss_avro_txn_decode(ss_avro_txn_codec_t *c, const void *payload, size_t len, ss_txn_t *t,
                       ss_err_t *err);
/* Appends t framed with the current schema id to out. SS_ERR_INVAL if t cannot be represented
 * (unknown kind). Does not validate. */
int ss_avro_txn_encode(ss_avro_txn_codec_t *c, const ss_txn_t *t, ss_buf_t *out, ss_err_t *err);
/* Like ss_avro_txn_encode with any registered Transaction-shaped writer schema (e.g. the
 * historical v1): fields the schema lacks are dropped; fields ss_txn_t lacks get their defaults
 * (SS_ERR_INVAL if one has none). For tests and the replay tool. */
int ss_avro_txn_encode_id(ss_avro_txn_codec_t *c, int32_t schema_id, const ss_txn_t *t,
                          ss_buf_t *out, ss_err_t *err);

/* ================================ Generic reader ================================ */

/* Decodes framed payloads of any registered writer schema into one reusable avro-c generic value
 * of a reader schema (resolution as above). One per thread; borrows reg. */
typedef struct ss_avro_reader ss_avro_reader_t;

/* Returns a new reader for reader schema id, or NULL (err). */
ss_avro_reader_t *ss_avro_reader_new(ss_avro_reg_t *reg, int32_t reader_id, ss_err_t *err);
void ss_avro_reader_destroy(ss_avro_reader_t *r);
/* Decodes payload; *value borrows the reader's value (valid until the next decode or destroy).
 * Errors as ss_avro_txn_decode (SS_ERR_DECODE). *writer_id (may be NULL) gets the payload's id. */
int ss_avro_reader_decode(ss_avro_reader_t *r, const void *payload, size_t len,
                          avro_value_t **value, int32_t *writer_id, ss_err_t *err);

/* ================================ Generic writer ================================ */

/* Encodes records of one registered schema from a reusable avro-c generic value. One per thread.
 * Usage:
 *   avro_value_t *v = ss_avro_writer_value(w);          // reset, defaults filled
 *   ss_avro_set_str(v, "customer_id", id, &err);        // ... set the rest
 *   ss_buf_reset(&out); if (ss_avro_writer_encode(w, &out, &err) < 0) ... */
typedef struct ss_avro_writer ss_avro_writer_t;

ss_avro_writer_t *ss_avro_writer_new(ss_avro_reg_t *reg, int32_t schema_id, ss_err_t *err);
void ss_avro_writer_destroy(ss_avro_writer_t *w);
int32_t ss_avro_writer_schema_id(const ss_avro_writer_t *w);
/* Resets the value and fills every field that has a default in the .avsc (nullable fields become
 * null, currency "GBP" ...) and every other top-level string with "". Returns the value (borrows:
 * valid until destroy).
 * @remark avro-c leaves a reset string unencodable: set every string field of records you append
 *         to arrays (ss_avro_append), or encode fails with "Invalid bytes value length". */
avro_value_t *ss_avro_writer_value(ss_avro_writer_t *w);
/* Appends the value framed with the writer's schema id to out. SS_ERR_INVAL with avro-c's message
 * when the value is incomplete (e.g. a union never set). */
int ss_avro_writer_encode(ss_avro_writer_t *w, ss_buf_t *out, ss_err_t *err);

/* ================================ Flat record writer ================================ */

/* Encodes records of a schema whose fields are all int, long, float, double, boolean, string or
 * bytes (no union, array, map, record or enum field) straight from C values, in schema order,
 * without avro-c values: the same bytes as the generic writer, for per-event hot paths. Per
 * record: ss_avro_flat_begin, then one call per field in the schema's order, then
 * ss_avro_flat_end, which says whether the calls matched the schema. One per thread; borrows
 * reg. */
typedef struct ss_avro_flat ss_avro_flat_t;

/* Returns new; NULL with SS_ERR_INVAL in err when a field is not of a flat type. */
ss_avro_flat_t *ss_avro_flat_new(ss_avro_reg_t *reg, int32_t schema_id, ss_err_t *err);
void ss_avro_flat_destroy(ss_avro_flat_t *f); /* NULL is a no-op */
/* Starts a record in out (appends the frame header; out is borrowed until ss_avro_flat_end). */
void ss_avro_flat_begin(ss_avro_flat_t *f, ss_buf_t *out);
/* Appends the next field: a string or bytes field; an int or long field (an int field checks the
 * range); a float or double field; a boolean field. */
void ss_avro_flat_str(ss_avro_flat_t *f, const char *s);
void ss_avro_flat_long(ss_avro_flat_t *f, int64_t x);
void ss_avro_flat_double(ss_avro_flat_t *f, double x);
void ss_avro_flat_bool(ss_avro_flat_t *f, int x);
/* Ends the record: 0, or SS_ERR_INVAL naming the first field that was missing, extra, of
 * another type or out of range (the bytes appended to out are then not a valid record). */
int ss_avro_flat_end(ss_avro_flat_t *f, ss_err_t *err);

/* ================================ Field helpers ================================ */

/* Setters/getters on a record value by field name. A field of type ["null", T] is handled as T
 * (setters select the T branch; a NULL string/bytes/symbol pointer selects null; getters report
 * null as *s == NULL, or SS_ERR_NOTFOUND "field 'x' is null" for numbers). Numbers convert where
 * Avro promotes (int into long/float/double fields, long into double ...); setting a long into an
 * int field checks the range. Errors: SS_ERR_NOTFOUND "no field 'x' in record 'R'", SS_ERR_INVAL
 * "field 'x' is string, not long". Strings/bytes are copied. */
int ss_avro_set_str(avro_value_t *rec, const char *field, const char *s, ss_err_t *err);
int ss_avro_set_bytes(avro_value_t *rec, const char *field, const void *p, size_t n, ss_err_t *err);
int ss_avro_set_int(avro_value_t *rec, const char *field, int32_t x, ss_err_t *err);
int ss_avro_set_long(avro_value_t *rec, const char *field, int64_t x, ss_err_t *err);
int ss_avro_set_double(avro_value_t *rec, const char *field, double x, ss_err_t *err);
int ss_avro_set_bool(avro_value_t *rec, const char *field, int x, ss_err_t *err);
/* Enum field by symbol name ("HIGH"); SS_ERR_INVAL "no symbol 'X' in enum 'RiskLevel'". */
int ss_avro_set_enum(avro_value_t *rec, const char *field, const char *symbol, ss_err_t *err);
int ss_avro_set_null(avro_value_t *rec, const char *field, ss_err_t *err);
/* Gets the field's value into *child (borrows rec's storage), selecting the non-null branch of a
 * nullable field: for filling arrays, maps and nested records. */
int ss_avro_field(avro_value_t *rec, const char *field, avro_value_t *child, ss_err_t *err);
/* Appends a new element to array field and returns it in *elem (borrows). */
int ss_avro_append(avro_value_t *rec, const char *field, avro_value_t *elem, ss_err_t *err);
/* Sets map field[key] = string value (copies). */
int ss_avro_map_put_str(avro_value_t *rec, const char *field, const char *key, const char *val,
                        ss_err_t *err);

/* *s borrows the value's string (NULL if the field is null); *len may be NULL. */
int ss_avro_get_str(const avro_value_t *rec, const char *field, const char **s, size_t *len,
                    ss_err_t *err);
int ss_avro_get_int(const avro_value_t *rec, const char *field, int32_t *x, ss_err_t *err);
int ss_avro_get_long(const avro_value_t *rec, const char *field, int64_t *x, ss_err_t *err);
int ss_avro_get_double(const avro_value_t *rec, const char *field, double *x, ss_err_t *err);
/* *symbol borrows the schema's symbol name (NULL if the field is null). */
int ss_avro_get_enum(const avro_value_t *rec, const char *field, const char **symbol,
                     ss_err_t *err);
/* 1 if the field exists and is null, 0 if not null, negative error if no such field. */
int ss_avro_is_null(const avro_value_t *rec, const char *field, ss_err_t *err);

/* ================================ JSON rendering ================================ */

/* Decodes a framed payload with its writer schema (no resolution) and appends the record as one
 * JSON object to out, fields in writer order. Timestamps are epoch-millis numbers, enums their
 * symbol, unions their plain value (null or the branch value), bytes and fixed a string with \u00XX
 * escapes, invalid UTF-8 in strings replaced by U+FFFD, NaN/Infinity as strings. Errors: as
 * ss_avro_txn_decode (out is restored). */
int ss_avro_to_json(ss_avro_reg_t *reg, const void *payload, size_t len, ss_buf_t *out,
                    ss_err_t *err);

#endif
