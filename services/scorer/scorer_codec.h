/* scorer_codec: CustomerFeatures payloads -> scorer_event_t, scorer_score_t -> ChurnScore
 * payloads (Confluent-framed Avro through ss_avro's generic reader and writer). No Kafka.
 * Threads: one codec per thread; it borrows the registry (which must outlive it). */
#ifndef SS_SCORER_CODEC_H
#define SS_SCORER_CODEC_H

#include <stddef.h>

#include "scorer_state.h"
#include "ss_avro.h"
#include "ss_buf.h"
#include "ss_err.h"

typedef struct scorer_codec scorer_codec_t;

/* Returns new: reader of the current "streamscore.CustomerFeatures" schema, writers of it and of
 * "streamscore.ChurnScore". NULL with err when the registry lacks either. */
scorer_codec_t *scorer_codec_new(ss_avro_reg_t *reg, ss_err_t *err);
void scorer_codec_destroy(scorer_codec_t *c); /* NULL is a no-op */

/* Decodes a framed CustomerFeatures payload into *ev (overwritten) and checks it
 * (scorer_event_check). Returns 0, SS_ERR_DECODE (framing, unknown schema, malformed Avro) or
 * SS_ERR_INVAL (an id longer than SS_ID_MAX bytes, a failed check). */
int scorer_codec_decode(scorer_codec_t *c, const void *payload, size_t len, scorer_event_t *ev,
                        ss_err_t *err);

/* Appends s as a framed ChurnScore (model_version copied) to out. Returns 0 or SS_ERR_INVAL. */
int scorer_codec_encode_score(scorer_codec_t *c, const scorer_score_t *s, const char *model_version,
                              ss_buf_t *out, ss_err_t *err);

/* Appends ev as a framed CustomerFeatures (the test tool's producer). Returns 0 or
 * SS_ERR_INVAL. */
int scorer_codec_encode_features(scorer_codec_t *c, const scorer_event_t *ev, ss_buf_t *out,
                                 ss_err_t *err);

/* Decodes a framed ChurnScore (tests). customer_id of *s points into the codec (valid until the
 * next call); model_version is copied into ver (size bytes). */
int scorer_codec_decode_score(scorer_codec_t *c, const void *payload, size_t len, scorer_score_t *s,
                              char *ver, size_t size, ss_err_t *err);

#endif
