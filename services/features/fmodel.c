/* fmodel: reference model of features.lua. Maps are jansson objects (hash tables keyed by
 * string); customers index into an array of rfm_state_t. */
#include "fmodel.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "rfm.h"
#include "ss_buf.h"

typedef struct fm_customer {
    char *cid;
    rfm_state_t st;
    json_t *products; /* pid -> integer */
    size_t n_orders;
} fm_customer_t;

struct fmodel {
    int64_t lateness_ms;
    int tz_offset_min;
    json_t *seen;     /* "<domain>\x1f<order_id>" -> fingerprint string */
    json_t *cust_idx; /* cid -> index */
    fm_customer_t *cust;
    size_t n_cust, cap_cust;
    json_t *demand; /* "<store>\x1f<day>" -> {pid -> integer} */
    json_t *wm;     /* store -> integer */
};

fmodel_t *fmodel_new(int64_t lateness_ms, int tz_offset_min) {
    fmodel_t *m = ss_xcalloc(1, sizeof(*m));
    m->lateness_ms = lateness_ms < 0 ? INT64_C(1) << 52 : lateness_ms;
    m->tz_offset_min = tz_offset_min;
    m->seen = json_object();
    m->cust_idx = json_object();
    m->demand = json_object();
    m->wm = json_object();
    return m;
}

void fmodel_destroy(fmodel_t *m) {
    if (!m)
        return;
    for (size_t i = 0; i < m->n_cust; i++) {
        free(m->cust[i].cid);
        rfm_state_release(&m->cust[i].st);
        json_decref(m->cust[i].products);
    }
    free(m->cust);
    json_decref(m->seen);
    json_decref(m->cust_idx);
    json_decref(m->demand);
    json_decref(m->wm);
    free(m);
}

static fm_customer_t *customer(fmodel_t *m, const char *cid) {
    json_t *ix = json_object_get(m->cust_idx, cid);
    if (ix)
        return &m->cust[json_integer_value(ix)];
    if (m->n_cust == m->cap_cust) {
        m->cap_cust = m->cap_cust ? m->cap_cust * 2 : 64;
        m->cust = ss_xrealloc(m->cust, m->cap_cust * sizeof(*m->cust));
    }
    fm_customer_t *c = &m->cust[m->n_cust];
    memset(c, 0, sizeof(*c));
    c->cid = ss_xstrdup(cid);
    c->products = json_object();
    json_object_set_new(m->cust_idx, cid, json_integer((json_int_t)m->n_cust));
    m->n_cust++;
    return c;
}

static void add_qty(json_t *obj, const char *key, int64_t q) {
    json_t *v = json_object_get(obj, key);
    int64_t cur = v ? json_integer_value(v) : 0;
    json_object_set_new(obj, key, json_integer((json_int_t)(cur + q)));
}

fstore_status_t fmodel_apply(fmodel_t *m, const ss_txn_t *t, int *late) {
    char day[11];
    int64_t day_end;
    fstore_day(t->event_time_ms, m->tz_offset_min, day, &day_end);
    ss_buf_t k = SS_BUF_INIT;
    if (t->has_customer)
        ss_buf_addf(&k, "c\x1f%s\x1f%s", t->customer_id, t->order_id);
    else
        ss_buf_addf(&k, "d\x1f%s\x1f%s\x1f%s", t->store_id, day, t->order_id);
    char fp[17];
    snprintf(fp, sizeof(fp), "%016" PRIx64, ss_txn_fingerprint(t));
    if (late)
        *late = 0;
    json_t *prev = json_object_get(m->seen, k.buf);
    if (prev) {
        int same = strcmp(json_string_value(prev), fp) == 0;
        ss_buf_release(&k);
        return same ? FSTORE_DUPLICATE : FSTORE_CONFLICT;
    }
    json_object_set_new(m->seen, k.buf, json_string(fp));
    ss_buf_release(&k);

    json_t *w = json_object_get(m->wm, t->store_id);
    if (t->kind == SS_TXN_PURCHASE) {
        if (w && json_integer_value(w) - m->lateness_ms >= day_end && late)
            *late = 1;
        {
            ss_buf_t dk = SS_BUF_INIT;
            ss_buf_addf(&dk, "%s\x1f%s", t->store_id, day);
            json_t *d = json_object_get(m->demand, dk.buf);
            if (!d) {
                d = json_object();
                json_object_set_new(m->demand, dk.buf, d);
            }
            for (size_t i = 0; i < t->n_lines; i++)
                add_qty(d, t->lines[i].product_id, t->lines[i].quantity);
            ss_buf_release(&dk);
        }
    }
    if (!w || t->event_time_ms > json_integer_value(w))
        json_object_set_new(m->wm, t->store_id, json_integer((json_int_t)t->event_time_ms));
    if (t->has_customer) {
        fm_customer_t *c = customer(m, t->customer_id);
        c->n_orders++;
        /* The script receives the amount as "%.17g" text: exactly this double. */
        double amount = ss_txn_amount(t);
        if (t->kind == SS_TXN_PURCHASE) {
            rfm_apply_purchase(&c->st, t->event_time_ms, amount);
            for (size_t i = 0; i < t->n_lines; i++)
                add_qty(c->products, t->lines[i].product_id, t->lines[i].quantity);
        } else {
            rfm_apply_return(&c->st, t->event_time_ms, amount);
        }
    }
    return FSTORE_APPLIED;
}

static void json_str(ss_buf_t *out, const char *s) {
    json_t *j = json_string(s);
    char *e = json_dumps(j, JSON_ENCODE_ANY);
    ss_buf_adds(out, e ? e : "\"\"");
    free(e);
    json_decref(j);
}

void fmodel_dump_state(const fmodel_t *m, FILE *out) {
    ss_buf_t line = SS_BUF_INIT;
    for (size_t i = 0; i < m->n_cust; i++) {
        const fm_customer_t *c = &m->cust[i];
        const rfm_agg_t *a = &c->st.agg;
        ss_buf_reset(&line);
        ss_buf_adds(&line, "{\"customer_id\":");
        json_str(&line, c->cid);
        ss_buf_addf(&line, ",\"n\":%" PRId64 ",\"s\":%.17g,\"sc\":%.17g,\"mu\":%.17g,\"m2\":%.17g",
                    a->n, a->sum, a->sum_c, a->mean, a->m2);
        ss_buf_addf(&line, ",\"f\":%" PRId64 ",\"l\":%" PRId64 ",\"rn\":%" PRId64 ",\"ra\":%.17g",
                    a->first_ms, a->last_ms, a->ret_n, a->ret_amount);
        ss_buf_adds(&line, ",\"w\":\"");
        for (size_t j = 0; j < c->st.n_win; j++)
            ss_buf_addf(&line, "%s%" PRId64, j ? "," : "", c->st.win[j]);
        ss_buf_addf(&line, "\",\"orders\":%zu,\"products\":", c->n_orders);
        char *p = json_dumps(c->products, JSON_COMPACT);
        ss_buf_adds(&line, p);
        free(p);
        ss_buf_adds(&line, "}\n");
        fwrite(line.buf, 1, line.len, out);
    }
    ss_buf_release(&line);
}

void fmodel_dump_demand(const fmodel_t *m, FILE *out) {
    const char *key;
    json_t *d;
    json_object_foreach(m->demand, key, d) {
        const char *sep = strchr(key, '\x1f');
        if (!sep)
            continue;
        char *store = ss_xstrndup(key, (size_t)(sep - key));
        const char *pid;
        json_t *q;
        json_object_foreach(d, pid, q) {
            ss_buf_t line = SS_BUF_INIT;
            ss_buf_adds(&line, "{\"store_id\":");
            json_str(&line, store);
            ss_buf_addf(&line, ",\"day\":\"%s\",\"product_id\":", sep + 1);
            json_str(&line, pid);
            ss_buf_addf(&line, ",\"quantity\":%" PRId64 "}\n", (int64_t)json_integer_value(q));
            fwrite(line.buf, 1, line.len, out);
            ss_buf_release(&line);
        }
        free(store);
    }
}

void fmodel_dump_customers(const fmodel_t *m, int64_t as_of_ms, FILE *out) {
    ss_buf_t line = SS_BUF_INIT;
    for (size_t i = 0; i < m->n_cust; i++) {
        rfm_features_t f;
        rfm_features(&m->cust[i].st, as_of_ms, &f);
        ss_buf_reset(&line);
        rfm_features_json(m->cust[i].cid, &f, &line);
        ss_buf_addch(&line, '\n');
        fwrite(line.buf, 1, line.len, out);
    }
    ss_buf_release(&line);
}
