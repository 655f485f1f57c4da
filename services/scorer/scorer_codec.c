/* scorer_codec: CustomerFeatures / ChurnScore Avro payloads <-> scorer structs. */
#include "scorer_codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct scorer_codec {
    ss_avro_reader_t *feat_r;  /* CustomerFeatures, any registered writer version */
    ss_avro_writer_t *feat_w;  /* CustomerFeatures, current version (test tool) */
    ss_avro_writer_t *score_w; /* ChurnScore */
    ss_avro_reader_t *score_r; /* ChurnScore (tests) */
    char id[SS_ID_MAX + 1];    /* customer id of the last decode_score */
};

scorer_codec_t *scorer_codec_new(ss_avro_reg_t *reg, ss_err_t *err) {
    int32_t fid, sid;
    if (ss_avro_reg_current_id(reg, "streamscore.CustomerFeatures", &fid, err) < 0 ||
        ss_avro_reg_current_id(reg, "streamscore.ChurnScore", &sid, err) < 0)
        return NULL;
    scorer_codec_t *c = ss_xcalloc(1, sizeof(*c));
    if (!(c->feat_r = ss_avro_reader_new(reg, fid, err)) ||
        !(c->feat_w = ss_avro_writer_new(reg, fid, err)) ||
        !(c->score_w = ss_avro_writer_new(reg, sid, err)) ||
        !(c->score_r = ss_avro_reader_new(reg, sid, err))) {
        scorer_codec_destroy(c);
        return NULL;
    }
    return c;
}

void scorer_codec_destroy(scorer_codec_t *c) {
    if (!c)
        return;
    ss_avro_reader_destroy(c->feat_r);
    ss_avro_writer_destroy(c->feat_w);
    ss_avro_writer_destroy(c->score_w);
    ss_avro_reader_destroy(c->score_r);
    free(c);
}

static int get_id(const avro_value_t *v, const char *field, char *out, ss_err_t *err) {
    const char *s;
    size_t len;
    if (ss_avro_get_str(v, field, &s, &len, err) < 0)
        return SS_ERR_DECODE;
    if (!s)
        return ss_err_set(err, SS_ERR_INVAL, "field '%s' is null", field);
    if (len > SS_ID_MAX || memchr(s, '\0', len))
        return ss_err_set(err, SS_ERR_INVAL, "field '%s' longer than %d bytes or holds a NUL",
                          field, SS_ID_MAX);
    memcpy(out, s, len);
    out[len] = '\0';
    return 0;
}

int scorer_codec_decode(scorer_codec_t *c, const void *payload, size_t len, scorer_event_t *ev,
                        ss_err_t *err) {
    avro_value_t *v;
    memset(ev, 0, sizeof(*ev));
    if (ss_avro_reader_decode(c->feat_r, payload, len, &v, NULL, err) < 0)
        return SS_ERR_DECODE;
    int rc;
    if ((rc = get_id(v, "customer_id", ev->customer_id, err)) < 0 ||
        (rc = get_id(v, "order_id", ev->order_id, err)) < 0)
        return rc;
    rfm_features_t *f = &ev->f;
    int32_t rec, dsf, r30, spart;
    if (ss_avro_get_long(v, "as_of", &f->as_of_ms, err) < 0 ||
        ss_avro_get_int(v, "recency_days", &rec, err) < 0 ||
        ss_avro_get_long(v, "frequency", &f->frequency, err) < 0 ||
        ss_avro_get_double(v, "total_spent", &f->total_spent, err) < 0 ||
        ss_avro_get_double(v, "avg_order", &f->avg_order, err) < 0 ||
        ss_avro_get_double(v, "order_std", &f->order_std, err) < 0 ||
        ss_avro_get_int(v, "days_since_first_order", &dsf, err) < 0 ||
        ss_avro_get_double(v, "purchase_frequency", &f->purchase_frequency, err) < 0 ||
        ss_avro_get_int(v, "recent_orders_30d", &r30, err) < 0 ||
        ss_avro_get_long(v, "return_count", &f->return_count, err) < 0 ||
        ss_avro_get_double(v, "return_amount", &f->return_amount, err) < 0 ||
        ss_avro_get_long(v, "first_order_time", &ev->first_ms, err) < 0 ||
        ss_avro_get_long(v, "last_order_time", &ev->last_ms, err) < 0 ||
        ss_avro_get_int(v, "source_partition", &spart, err) < 0 ||
        ss_avro_get_long(v, "source_offset", &ev->source_offset, err) < 0)
        return SS_ERR_DECODE;
    f->recency_days = rec;
    f->days_since_first_order = dsf;
    f->recent_orders_30d = r30;
    f->has_purchase = f->frequency > 0;
    if (!f->has_purchase) {
        /* the schema has no nulls: the features service sends zeros for customers with only
         * returns; the model sees them as missing (churn_row_from_rfm) */
        f->recency_days = 0;
        f->days_since_first_order = 0;
    }
    ev->source_partition = spart;
    return scorer_event_check(ev, err);
}

int scorer_codec_encode_score(scorer_codec_t *c, const scorer_score_t *s, const char *model_version,
                              ss_buf_t *out, ss_err_t *err) {
    avro_value_t *v = ss_avro_writer_value(c->score_w);
    static const char *const sym[3] = {"LOW", "MEDIUM", "HIGH"};
    if (ss_avro_set_str(v, "customer_id", s->customer_id, err) < 0 ||
        ss_avro_set_double(v, "probability", s->probability, err) < 0 ||
        ss_avro_set_enum(v, "risk_level", sym[s->risk], err) < 0 ||
        ss_avro_set_enum(v, "previous_risk_level", s->has_prev ? sym[s->prev] : NULL, err) < 0 ||
        ss_avro_set_str(v, "model_version", model_version, err) < 0 ||
        ss_avro_set_long(v, "features_as_of", s->features_as_of_ms, err) < 0 ||
        ss_avro_set_long(v, "scored_at", s->scored_at_ms, err) < 0 ||
        ss_avro_set_enum(v, "reason", scorer_reason_name(s->reason), err) < 0)
        return SS_ERR_INVAL;
    return ss_avro_writer_encode(c->score_w, out, err);
}

int scorer_codec_encode_features(scorer_codec_t *c, const scorer_event_t *ev, ss_buf_t *out,
                                 ss_err_t *err) {
    const rfm_features_t *f = &ev->f;
    avro_value_t *v = ss_avro_writer_value(c->feat_w);
    if (ss_avro_set_str(v, "customer_id", ev->customer_id, err) < 0 ||
        ss_avro_set_long(v, "as_of", f->as_of_ms, err) < 0 ||
        ss_avro_set_str(v, "order_id", ev->order_id, err) < 0 ||
        ss_avro_set_int(v, "recency_days", (int32_t)f->recency_days, err) < 0 ||
        ss_avro_set_long(v, "frequency", f->frequency, err) < 0 ||
        ss_avro_set_double(v, "total_spent", f->total_spent, err) < 0 ||
        ss_avro_set_double(v, "avg_order", f->avg_order, err) < 0 ||
        ss_avro_set_double(v, "order_std", f->order_std, err) < 0 ||
        ss_avro_set_int(v, "days_since_first_order", (int32_t)f->days_since_first_order, err) < 0 ||
        ss_avro_set_double(v, "purchase_frequency", f->purchase_frequency, err) < 0 ||
        ss_avro_set_int(v, "recent_orders_30d", (int32_t)f->recent_orders_30d, err) < 0 ||
        ss_avro_set_long(v, "return_count", f->return_count, err) < 0 ||
        ss_avro_set_double(v, "return_amount", f->return_amount, err) < 0 ||
        ss_avro_set_long(v, "first_order_time", ev->first_ms, err) < 0 ||
        ss_avro_set_long(v, "last_order_time", ev->last_ms, err) < 0 ||
        ss_avro_set_int(v, "source_partition", ev->source_partition, err) < 0 ||
        ss_avro_set_long(v, "source_offset", ev->source_offset, err) < 0)
        return SS_ERR_INVAL;
    return ss_avro_writer_encode(c->feat_w, out, err);
}

static int risk_of(const char *sym, churn_risk_t *r) {
    if (!sym)
        return 0;
    if (strcmp(sym, "HIGH") == 0)
        *r = CHURN_RISK_HIGH;
    else if (strcmp(sym, "MEDIUM") == 0)
        *r = CHURN_RISK_MEDIUM;
    else
        *r = CHURN_RISK_LOW;
    return 1;
}

int scorer_codec_decode_score(scorer_codec_t *c, const void *payload, size_t len, scorer_score_t *s,
                              char *ver, size_t size, ss_err_t *err) {
    avro_value_t *v;
    memset(s, 0, sizeof(*s));
    if (ss_avro_reader_decode(c->score_r, payload, len, &v, NULL, err) < 0)
        return SS_ERR_DECODE;
    const char *risk, *prev, *reason, *mv;
    int rc = get_id(v, "customer_id", c->id, err);
    if (rc < 0)
        return rc;
    if (ss_avro_get_double(v, "probability", &s->probability, err) < 0 ||
        ss_avro_get_enum(v, "risk_level", &risk, err) < 0 ||
        ss_avro_get_enum(v, "previous_risk_level", &prev, err) < 0 ||
        ss_avro_get_str(v, "model_version", &mv, NULL, err) < 0 ||
        ss_avro_get_long(v, "features_as_of", &s->features_as_of_ms, err) < 0 ||
        ss_avro_get_long(v, "scored_at", &s->scored_at_ms, err) < 0 ||
        ss_avro_get_enum(v, "reason", &reason, err) < 0)
        return SS_ERR_DECODE;
    s->customer_id = c->id;
    risk_of(risk, &s->risk);
    s->has_prev = risk_of(prev, &s->prev);
    s->reason = reason && strcmp(reason, "INACTIVITY") == 0 ? SCORER_INACTIVITY : SCORER_EVENT;
    snprintf(ver, size, "%s", mv ? mv : "");
    return 0;
}
