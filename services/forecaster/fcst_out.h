/* fcst_out: the DemandForecast record (schemas/DemandForecast.avsc) of one (store, product,
 * day) from a demand_prep result, and its Kafka key. Depends on ss_avro and demand_prep; no
 * I/O. A writer is used by one thread at a time (ss_avro rule). */
#ifndef SS_FCST_OUT_H
#define SS_FCST_OUT_H

#include <stddef.h>
#include <stdint.h>

#include "demand_prep.h"
#include "ss_avro.h"
#include "ss_buf.h"
#include "ss_err.h"

#define FCST_MODEL_SARIMA "sarima(1,1,1)(1,1,1,7)"
#define FCST_MODEL_MA7 "ma7"
#define FCST_KEY_SEP '/' /* key = store_id + '/' + product_id (docs/schemas.md) */

/* Model name of r: FCST_MODEL_MA7 for a fallback, else FCST_MODEL_SARIMA (static). */
const char *fcst_out_model(const dprep_result_t *r);

/* Writes the message key "<store>/<product>" into out[0..size). Returns its length (>= size
 * means truncated, as snprintf). */
int fcst_out_key(char *out, size_t size, const char *store, const char *product);

/* Appends the framed DemandForecast of (store, product) generated for event-time day `day`
 * (the last observed day; horizon days are day + 1 ..) from r to out, using w (a writer of the
 * current DemandForecast schema). params and llf are set only when the model was used;
 * holdout_mae/rmse are null when NaN (no test part). Returns 0 or SS_ERR_INVAL (avro-c's
 * message, or a day out of the int range). Borrows everything. */
int fcst_out_encode(ss_avro_writer_t *w, const char *store, const char *product, int64_t day,
                    const dprep_result_t *r, ss_buf_t *out, ss_err_t *err);

#endif
