/* hostile_corpus (hcorp_): a catalogue of bad `transactions` events, each with a name, the class
 * its dead letter must carry and a substring its reason must contain, plus a deterministic
 * generator of valid orders to interleave with them. Pure: builds bytes into buffers, no I/O, no
 * clock (event times are derived from opts->base_ms). Depends on ss_buf, ss_txn, ss_err.
 * Payloads are written by our own minimal Avro encoder so that they can break the schema in ways
 * ss_avro_txn_encode refuses to (10 KB ids, bad counts, lengths past the end ...).
 * Threads: any thread (the catalogue is constant; buffers and txns belong to the caller). */
#ifndef HOSTILE_CORPUS_H
#define HOSTILE_CORPUS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ss_buf.h"
#include "ss_err.h"
#include "ss_txn.h"

/* What it takes to recognise an entry as bad. */
typedef enum hcorp_level {
    HCORP_PURE = 0,   /* ss_avro_txn_decode + ss_txn_validate reject it, with no context */
    HCORP_STREAM = 1, /* the service's stream checks (amount, stream clock): needs a valid order
                       * at opts->base_ms seen first on the same partition */
    HCORP_STATE = 2,  /* needs state: the conflicting duplicate (hcorp_build_original first) */
} hcorp_level_t;

typedef struct hcorp_kind {
    const char *name; /* stable identifier, e.g. "truncated-avro" (letters, digits, '-') */
    const char
        *code; /* expected DeadLetter.error_code: DECODE, INVALID, CONFLICT, UNKNOWN_SCHEMA */
    const char *reason; /* substring the dead letter's reason must contain */
    hcorp_level_t level;
    const char *what; /* one-line description (docs/reliability.md) */
} hcorp_kind_t;

typedef struct hcorp_opts {
    int32_t schema_id; /* Transaction schema id of the framing; 0 = 1 (schemas/manifest) */
    int64_t base_ms;   /* event time of the corpus' orders; 0 = 2024-06-01T00:00:00Z */
    const char *tag;   /* prefix making order ids unique per run (<= 16 bytes); NULL = "h" */
} hcorp_opts_t;

/* Number of catalogue entries (>= 30), and entry i (borrows: static), NULL if i is too big. */
size_t hcorp_count(void);
const hcorp_kind_t *hcorp_kind(size_t i);
/* Index of the entry named name, or -1. */
int hcorp_find(const char *name);

/* Appends the payload (Confluent-framed, or deliberately not) of entry i to out.
 * Returns 0, or SS_ERR_INVAL if i is out of range. */
int hcorp_build(size_t i, const hcorp_opts_t *o, ss_buf_t *out, ss_err_t *err);

/* For HCORP_STATE entries: appends the valid order that must be applied before entry i (the
 * same order_id with other content). Returns 0, SS_ERR_INVAL if i is not a HCORP_STATE entry.
 * If t is not NULL it receives the order (for the caller's record of valid orders). */
int hcorp_build_original(size_t i, const hcorp_opts_t *o, ss_buf_t *out, ss_txn_t *t,
                         ss_err_t *err);

/* Kafka key to produce entry i with: "hostile/<name>" (the dead letter keeps it). */
void hcorp_key(size_t i, ss_buf_t *out);

/* Fills t with valid order number seq (deterministic in seq, opts and n_customers): customers
 * "<tag>-c<k>" for k < n_customers (0 = 50), about 1 in 10 anonymous, 1 in 8 a RETURN, 1 to 4
 * lines, event time base_ms + seq minutes + jitter. Passes ss_txn_validate and the default
 * amount check. */
void hcorp_valid_txn(uint64_t seq, const hcorp_opts_t *o, unsigned n_customers, ss_txn_t *t);

/* Appends t framed with schema_id (0 = 1) in the Transaction v2 layout, by our own encoder.
 * No validation: t is written as it is. */
void hcorp_encode_txn(const ss_txn_t *t, int32_t schema_id, ss_buf_t *out);

/* Appends t as one JSON object line (rfm_reference.py input: order_id, customer_id or null,
 * store_id, event_time, kind, currency, lines[product_id, quantity, unit_price]). */
void hcorp_txn_json(const ss_txn_t *t, ss_buf_t *out);

/* Writes the manifest as TSV: a header line "name\tcode\tlevel\treason\twhat", then one line
 * per entry (level as pure|stream|state). */
void hcorp_manifest(FILE *out);

#endif
