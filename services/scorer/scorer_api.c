/* scorer_api: GET /v1/customers/{id}/churn. */
#include "scorer_api.h"

#include <math.h>
#include <string.h>

#include "churn_model.h"

#define SUFFIX "/churn"

int scorer_api_parse_path(const char *path, char *id) {
    size_t plen = strlen(SCORER_API_PREFIX), slen = strlen(SUFFIX), n = strlen(path);
    if (n <= plen + slen || strncmp(path, SCORER_API_PREFIX, plen) != 0 ||
        strcmp(path + n - slen, SUFFIX) != 0)
        return SS_ERR_NOTFOUND;
    size_t idlen = n - plen - slen;
    if (idlen == 0 || idlen > SS_ID_MAX)
        return SS_ERR_NOTFOUND;
    memcpy(id, path + plen, idlen);
    id[idlen] = '\0';
    return 0;
}

static void json_time(ss_buf_t *out, const char *name, int64_t ms) {
    char iso[32];
    churn_format_time(ms, iso, sizeof iso);
    ss_buf_addf(out, ",\"%s\":%lld,\"%s_iso\":\"%s\"", name, (long long)ms, name, iso);
}

static void json_num(ss_buf_t *out, const char *name, double x) {
    if (isfinite(x))
        ss_buf_addf(out, ",\"%s\":%.17g", name, x);
    else
        ss_buf_addf(out, ",\"%s\":null", name);
}

void scorer_view_json(const scorer_view_t *v, ss_buf_t *out) {
    const scorer_score_t *s = &v->score;
    const rfm_features_t *f = &v->features;
    ss_buf_adds(out, "{\"customer_id\":");
    ss_buf_add_json_str(out, v->customer_id, strlen(v->customer_id));
    if (v->has_score) {
        json_num(out, "probability", s->probability);
        ss_buf_addf(out, ",\"risk_level\":\"%s\"", churn_risk_name(s->risk));
        if (s->has_prev)
            ss_buf_addf(out, ",\"previous_risk_level\":\"%s\"", churn_risk_name(s->prev));
        else
            ss_buf_adds(out, ",\"previous_risk_level\":null");
        ss_buf_adds(out, ",\"model_version\":");
        ss_buf_add_json_str(out, v->model_version, strlen(v->model_version));
        json_time(out, "features_as_of", s->features_as_of_ms);
        json_time(out, "scored_at", s->scored_at_ms);
        ss_buf_addf(out, ",\"reason\":\"%s\"", scorer_reason_name(s->reason));
    } else {
        ss_buf_adds(out, ",\"probability\":null,\"risk_level\":null");
    }
    ss_buf_adds(out, ",\"features\":{");
    if (f->has_purchase)
        ss_buf_addf(out, "\"recency_days\":%lld", (long long)f->recency_days);
    else
        ss_buf_adds(out, "\"recency_days\":null");
    ss_buf_addf(out, ",\"frequency\":%lld", (long long)f->frequency);
    json_num(out, "total_spent", f->total_spent);
    json_num(out, "avg_order", f->avg_order);
    json_num(out, "order_std", f->order_std);
    if (f->has_purchase)
        ss_buf_addf(out, ",\"days_since_first_order\":%lld", (long long)f->days_since_first_order);
    else
        ss_buf_adds(out, ",\"days_since_first_order\":null");
    json_num(out, "purchase_frequency", f->purchase_frequency);
    ss_buf_addf(out, ",\"recent_orders_30d\":%lld,\"return_count\":%lld",
                (long long)f->recent_orders_30d, (long long)f->return_count);
    json_num(out, "return_amount", f->return_amount);
    ss_buf_adds(out, "}");
    if (f->has_purchase) {
        json_time(out, "first_order_time", v->first_ms);
        json_time(out, "last_order_time", v->last_ms);
    }
    json_time(out, "updated_as_of", v->updated_as_of_ms);
    ss_buf_adds(out, "}");
}

void scorer_api_handle(ss_http_t *h, const ss_http_request_t *req, ss_http_response_t *resp,
                       void *opaque) {
    (void)h;
    scorer_state_t *st = opaque;
    char id[SS_ID_MAX + 1];
    scorer_view_t v;
    ss_buf_t b = SS_BUF_INIT;
    resp->content_type = "application/json";
    if (scorer_api_parse_path(req->path, id) < 0) {
        resp->status = 404;
        ss_buf_adds(&b, "{\"error\":\"not found; use /v1/customers/{id}/churn\"}");
    } else if (scorer_state_lookup(st, id, &v) < 0) {
        resp->status = 404;
        ss_buf_adds(&b, "{\"error\":\"unknown customer ");
        ss_buf_t q = SS_BUF_INIT;
        ss_buf_add_json_str(&q, id, strlen(id));
        /* the quoted id inside a JSON string: escape the quotes ss_buf_add_json_str added */
        ss_buf_addf(&b, "'%.*s'\",\"customer_id\":", (int)(q.len - 2), q.buf + 1);
        ss_buf_add(&b, q.buf, q.len);
        ss_buf_adds(&b, "}");
        ss_buf_release(&q);
    } else {
        scorer_view_json(&v, &b);
    }
    ss_buf_addch(&b, '\n');
    ss_http_response_append(resp, b.buf, b.len);
    ss_buf_release(&b);
}
