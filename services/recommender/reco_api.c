/* reco: Recommendation record, lookup JSON, lookup path parsing. See reco_api.h. */
#include "reco_api.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ss_http.h"

int reco_encode(ss_avro_writer_t *w, const reco_result_t *r, ss_buf_t *out, ss_err_t *err) {
    avro_value_t *v = ss_avro_writer_value(w);
    int rc = 0;

    rc = rc ? rc : ss_avro_set_str(v, "customer_id", r->customer_id, err);
    rc = rc ? rc : ss_avro_set_str(v, "method", icf_method_name(r->method), err);
    rc = rc ? rc : ss_avro_set_long(v, "as_of", r->as_of_ms, err);
    for (size_t i = 0; i < r->n && rc == 0; i++) {
        avro_value_t item;
        rc = ss_avro_append(v, "items", &item, err);
        rc = rc ? rc : ss_avro_set_str(&item, "product_id", r->items[i].product_id, err);
        rc = rc ? rc : ss_avro_set_double(&item, "score", r->items[i].score, err);
    }
    return rc ? rc : ss_avro_writer_encode(w, out, err);
}

void reco_json(const reco_result_t *r, ss_buf_t *out) {
    json_t *o = json_object(), *items = json_array();
    char *s;

    json_object_set_new(o, "customer_id", json_string(r->customer_id));
    json_object_set_new(o, "method", json_string(icf_method_name(r->method)));
    json_object_set_new(o, "as_of", json_integer(r->as_of_ms));
    for (size_t i = 0; i < r->n; i++) {
        json_t *it = json_object();
        json_object_set_new(it, "product_id", json_string(r->items[i].product_id));
        json_object_set_new(it, "score", json_real(r->items[i].score));
        json_array_append_new(items, it);
    }
    json_object_set_new(o, "items", items);
    s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    SS_ASSERT(s != NULL);
    ss_buf_adds(out, s);
    free(s);
    json_decref(o);
}

int reco_parse_path(const char *path, char *id, size_t size) {
    size_t plen = strlen(RECO_PATH_PREFIX), slen = strlen(RECO_PATH_SUFFIX), len = strlen(path),
           idlen;
    if (len <= plen + slen || strncmp(path, RECO_PATH_PREFIX, plen) != 0 ||
        strcmp(path + len - slen, RECO_PATH_SUFFIX) != 0)
        return SS_ERR_NOTFOUND;
    idlen = len - plen - slen;
    if (idlen > SS_ID_MAX || idlen + 1 > size || memchr(path + plen, '/', idlen))
        return SS_ERR_NOTFOUND;
    memcpy(id, path + plen, idlen);
    id[idlen] = '\0';
    return 0;
}

int reco_parse_n(const char *query, size_t def, size_t *n, ss_err_t *err) {
    char val[32], *end;
    long x;
    int rc = ss_http_query_param(query ? query : "", "n", val, sizeof(val));
    if (rc == SS_ERR_NOTFOUND) {
        *n = def;
        return 0;
    }
    errno = 0;
    x = rc < 0 ? 0 : strtol(val, &end, 10);
    if (rc < 0 || errno || end == val || *end || x < 1 || x > RECO_N_MAX)
        return ss_err_set(err, SS_ERR_INVAL, "n must be an integer in 1..%d", RECO_N_MAX);
    *n = (size_t)x;
    return 0;
}
