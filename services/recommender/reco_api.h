/* reco: the recommender's outputs - the Recommendation Avro record for the `recommendations`
 * topic, the JSON body of GET /v1/customers/{id}/recommendations, and the parsing of that path
 * and its `n` parameter. Pure apart from the avro-c writer value; depends on itemcf, ss_avro,
 * ss_buf, jansson. One thread at a time per writer. */
#ifndef SS_RECO_API_H
#define SS_RECO_API_H

#include <stddef.h>
#include <stdint.h>

#include "itemcf.h"
#include "ss_avro.h"
#include "ss_buf.h"
#include "ss_err.h"

#define RECO_PATH_PREFIX "/v1/customers/"
#define RECO_PATH_SUFFIX "/recommendations"
#define RECO_N_MAX 100 /* largest n accepted by the lookup API */

/* One computed recommendation (items borrowed by the caller's array). */
typedef struct reco_result {
    const char *customer_id;
    const icf_item_t *items;
    size_t n;
    icf_method_t method;
    int64_t as_of_ms; /* event time the recommendation was computed for, epoch ms UTC */
} reco_result_t;

/* Appends r as a framed Recommendation record written by w (a writer of the Recommendation
 * schema) to out. Returns 0 or SS_ERR_INVAL with avro-c's message. */
int reco_encode(ss_avro_writer_t *w, const reco_result_t *r, ss_buf_t *out, ss_err_t *err);

/* Appends the lookup API's JSON object for r to out:
 * {"customer_id":"C1","method":"item-cosine","as_of":1291190760000,
 *  "items":[{"product_id":"85123A","score":1.2345678901234567},...]}
 * Scores print with 17 significant digits (they read back exactly). */
void reco_json(const reco_result_t *r, ss_buf_t *out);

/* Parses "/v1/customers/{id}/recommendations" (path already percent-decoded) into id[0..size).
 * Returns 0, or SS_ERR_NOTFOUND when the path has another shape (empty id, id with '/', longer
 * than SS_ID_MAX bytes). */
int reco_parse_path(const char *path, char *id, size_t size);

/* Reads the `n` query parameter (raw query string): absent means def; otherwise an integer in
 * 1..RECO_N_MAX. Returns 0 and *n, or SS_ERR_INVAL with "n must be an integer in 1..100". */
int reco_parse_n(const char *query, size_t def, size_t *n, ss_err_t *err);

#endif
