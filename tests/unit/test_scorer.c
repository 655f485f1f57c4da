/* Unit tests of the scorer's modules: risk transitions, stale events, the inactivity sweep
 * schedule and its recomputed features (checked against the feature service's rfm reference on
 * order streams), 30-day window reconciliation, event checks, the Avro codec, the lookup API
 * through ss_http_handle, batch scoring against churn_model_predict, and model hot reload. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "churn_train.h"
#include "rfm.h"
#include "scorer_api.h"
#include "scorer_codec.h"
#include "scorer_model.h"
#include "scorer_pipe.h"
#include "scorer_state.h"
#include "ss_avro.h"
#include "ss_http.h"
#include "ss_test.h"
#include "stool_feed.h"

#define DAY SCORER_DAY_MS
#define D0 INT64_C(1704067200000) /* 2024-01-01 00:00 UTC */

/* An event for customer id with one purchase per time in ts[0..n) (ascending), as of ts[n-1]. */
static scorer_event_t ev_of(const char *id, const int64_t *ts, size_t n, int64_t as_of) {
    rfm_state_t st = RFM_STATE_INIT;
    scorer_event_t ev;
    memset(&ev, 0, sizeof ev);
    for (size_t i = 0; i < n; i++)
        rfm_apply_purchase(&st, ts[i], 10.0 * (double)(i + 1));
    snprintf(ev.customer_id, sizeof ev.customer_id, "%s", id);
    snprintf(ev.order_id, sizeof ev.order_id, "o%zu", n);
    rfm_features(&st, as_of, &ev.f);
    ev.first_ms = st.agg.first_ms;
    ev.last_ms = st.agg.last_ms;
    ev.source_partition = -1;
    ev.source_offset = -1;
    rfm_state_release(&st);
    return ev;
}

static scorer_state_t *new_state(double high, double medium, int64_t active_ms) {
    ss_err_t err = SS_ERR_INIT;
    scorer_opts_t o = {.thresholds = {.high = high, .medium = medium}, .active_ms = active_ms};
    scorer_state_t *st = scorer_state_new(&o, &err);
    ck_assert_msg(st != NULL, "%s", err.msg);
    return st;
}

START_TEST(risk_transitions) {
    scorer_state_t *st = new_state(0, 0, 0);
    int64_t t[3] = {D0, D0 + DAY, D0 + 2 * DAY};
    scorer_score_t s;
    scorer_event_t e1 = ev_of("C1", t, 1, t[0]);
    ck_assert_int_eq(scorer_state_apply(st, &e1, 0.2, &s), SCORER_APPLIED);
    ck_assert_str_eq(s.customer_id, "C1");
    ck_assert_int_eq(s.risk, CHURN_RISK_LOW);
    ck_assert_int_eq(s.has_prev, 0);
    ck_assert_int_eq(s.reason, SCORER_EVENT);
    ck_assert_int_eq(s.features_as_of_ms, t[0]);
    scorer_event_t e2 = ev_of("C1", t, 2, t[1]);
    ck_assert_int_eq(scorer_state_apply(st, &e2, 0.5, &s), SCORER_APPLIED);
    ck_assert_int_eq(s.risk, CHURN_RISK_MEDIUM);
    ck_assert_int_eq(s.has_prev, 1);
    ck_assert_int_eq(s.prev, CHURN_RISK_LOW);
    scorer_event_t e3 = ev_of("C1", t, 3, t[2]);
    ck_assert_int_eq(scorer_state_apply(st, &e3, 0.7, &s), SCORER_APPLIED);
    ck_assert_int_eq(s.risk, CHURN_RISK_MEDIUM); /* high is strictly above 0.7 */
    ck_assert_int_eq(s.prev, CHURN_RISK_MEDIUM);
    scorer_event_t e4 = ev_of("C1", t, 3, t[2] + 1000);
    e4.f.return_count = 1; /* a later return order: fresh */
    ck_assert_int_eq(scorer_state_apply(st, &e4, 0.7000001, &s), SCORER_APPLIED);
    ck_assert_int_eq(s.risk, CHURN_RISK_HIGH);
    ck_assert_int_eq(s.prev, CHURN_RISK_MEDIUM);
    uint64_t n[3];
    scorer_state_risk_counts(st, n);
    ck_assert_uint_eq(n[CHURN_RISK_HIGH], 1);
    ck_assert_uint_eq(n[CHURN_RISK_LOW] + n[CHURN_RISK_MEDIUM], 0);
    ck_assert_uint_eq(scorer_state_customers(st), 1);
    scorer_state_destroy(st);

    /* configured thresholds */
    st = new_state(0.8, 0.3, 0);
    scorer_event_t e = ev_of("C2", t, 1, t[0]);
    ck_assert_int_eq(scorer_state_apply(st, &e, 0.75, &s), SCORER_APPLIED);
    ck_assert_int_eq(s.risk, CHURN_RISK_MEDIUM);
    scorer_state_destroy(st);
    ss_err_t err = SS_ERR_INIT;
    scorer_opts_t bad = {.thresholds = {.high = 0.3, .medium = 0.5}};
    ck_assert_ptr_null(scorer_state_new(&bad, &err));
    ck_assert_int_eq(err.code, SS_ERR_INVAL);
}
END_TEST

START_TEST(stale_and_duplicate_events) {
    scorer_state_t *st = new_state(0, 0, 0);
    int64_t t[3] = {D0, D0 + DAY, D0 + DAY};
    scorer_score_t s;
    scorer_event_t e2 = ev_of("C1", t, 2, t[1]);
    ck_assert_int_eq(scorer_state_apply(st, &e2, 0.1, &s), SCORER_APPLIED);
    ck_assert_int_eq(scorer_state_apply(st, &e2, 0.9, &s), SCORER_STALE); /* duplicate */
    scorer_event_t e1 = ev_of("C1", t, 1, t[0]);
    ck_assert_int_eq(scorer_state_apply(st, &e1, 0.9, &s), SCORER_STALE); /* older */
    scorer_event_t e3 = ev_of("C1", t, 3, t[2]); /* same as_of, one more order */
    ck_assert_int_eq(scorer_state_apply(st, &e3, 0.9, &s), SCORER_APPLIED);
    ck_assert_int_eq(s.prev, CHURN_RISK_LOW);
    scorer_view_t v;
    ck_assert_int_eq(scorer_state_lookup(st, "C1", &v), 0);
    ck_assert_int_eq(v.features.frequency, 3);
    ck_assert_double_eq(v.score.probability, 0.9);
    ck_assert_int_eq(scorer_state_lookup(st, "nobody", &v), SS_ERR_NOTFOUND);
    scorer_state_destroy(st);
}
END_TEST

START_TEST(sweep_schedule) {
    scorer_state_t *st = new_state(0, 0, 100 * DAY);
    scorer_score_t s;
    int64_t t;
    float rows[8 * CHURN_N_FEATURES];
    ck_assert_int_eq(scorer_state_sweep_due(st, &t), 0); /* no event yet */
    int64_t a[1] = {D0 + 10 * DAY + 3600000}, b[1] = {D0 + 10 * DAY + 7200000};
    int64_t old[1] = {D0 - 95 * DAY};
    scorer_event_t ea = ev_of("A", a, 1, a[0]), eb = ev_of("B", b, 1, b[0]);
    scorer_event_t eo = ev_of("OLD", old, 1, D0 + 10 * DAY); /* a return-less re-send, old buyer */
    ck_assert_int_eq(scorer_state_apply(st, &ea, 0.1, &s), SCORER_APPLIED);
    ck_assert_int_eq(scorer_state_apply(st, &eo, 0.1, &s), SCORER_APPLIED);
    ck_assert_int_eq(scorer_state_sweep_due(st, &t), 0); /* the first day is not swept */
    ck_assert_int_eq(scorer_state_apply(st, &eb, 0.1, &s), SCORER_APPLIED);
    ck_assert_int_eq(scorer_state_sweep_due(st, &t), 0);

    /* the clock enters the next day: one sweep at its midnight */
    int64_t c[1] = {D0 + 11 * DAY + 60000};
    scorer_event_t ec = ev_of("C", c, 1, c[0]);
    ck_assert_int_eq(scorer_state_apply(st, &ec, 0.1, &s), SCORER_APPLIED);
    ck_assert_int_eq(scorer_state_sweep_due(st, &t), 1);
    ck_assert_int_eq(t, D0 + 11 * DAY);
    scorer_state_sweep_begin(st, t);
    /* A and B are due; OLD bought 106 days before T (outside 100); C is newer than T */
    ck_assert_uint_eq(scorer_state_sweep_rows(st, rows, 1), 1);
    double p1[1] = {0.1};
    ck_assert_uint_eq(scorer_state_sweep_apply(st, p1, 1, &s), 0);
    ck_assert_uint_eq(scorer_state_sweep_rows(st, rows, 8), 1);
    ck_assert_uint_eq(scorer_state_sweep_apply(st, p1, 1, &s), 0);
    ck_assert_uint_eq(scorer_state_sweep_rows(st, rows, 8), 0);
    scorer_state_sweep_end(st);
    ck_assert_int_eq(scorer_state_last_sweep(st), D0 + 11 * DAY);
    ck_assert_int_eq(scorer_state_sweep_due(st, &t), 0);

    /* a jump of several days: one sweep, at the latest midnight; A and B scored at T */
    scorer_state_advance_clock(st, D0 + 14 * DAY + 5);
    ck_assert_int_eq(scorer_state_sweep_due(st, &t), 1);
    ck_assert_int_eq(t, D0 + 14 * DAY);
    scorer_state_sweep_begin(st, t);
    ck_assert_uint_eq(scorer_state_sweep_rows(st, rows, 8), 3); /* A, B and now C */
    double p3[3] = {0.1, 0.1, 0.1};
    scorer_state_sweep_apply(st, p3, 3, &s);
    scorer_state_sweep_end(st);
    scorer_view_t v;
    ck_assert_int_eq(scorer_state_lookup(st, "A", &v), 0);
    ck_assert_int_eq(v.score.features_as_of_ms, D0 + 14 * DAY);
    ck_assert_int_eq(v.score.reason, SCORER_INACTIVITY);
    ck_assert_int_eq(v.features.recency_days, 3);
    ck_assert_int_eq(v.updated_as_of_ms, a[0]);
    ck_assert_int_eq(scorer_state_lookup(st, "OLD", &v), 0);
    ck_assert_int_eq(v.score.reason, SCORER_EVENT); /* never swept */
    /* same day again: nothing due, a second sweep at the same T finds nobody */
    ck_assert_int_eq(scorer_state_sweep_due(st, &t), 0);
    scorer_state_sweep_begin(st, D0 + 14 * DAY);
    ck_assert_uint_eq(scorer_state_sweep_rows(st, rows, 8), 0);
    scorer_state_sweep_end(st);
    scorer_state_destroy(st);
}
END_TEST

START_TEST(sweep_emits_level_changes_only) {
    scorer_state_t *st = new_state(0, 0, 0);
    scorer_score_t s, ch[4];
    float rows[4 * CHURN_N_FEATURES];
    int64_t a[1] = {D0}, b[1] = {D0 + 3600000};
    scorer_event_t ea = ev_of("A", a, 1, a[0]), eb = ev_of("B", b, 1, b[0]);
    scorer_state_apply(st, &ea, 0.3, &s);
    scorer_state_apply(st, &eb, 0.5, &s);
    scorer_state_advance_clock(st, D0 + 40 * DAY);
    int64_t t;
    ck_assert_int_eq(scorer_state_sweep_due(st, &t), 1);
    scorer_state_sweep_begin(st, t);
    ck_assert_uint_eq(scorer_state_sweep_rows(st, rows, 4), 2);
    /* recomputed features as of T: 40 days of recency, nothing left in the 30-day window */
    ck_assert_float_eq(rows[0], 40.0f);
    ck_assert_float_eq(rows[7], 0.0f);
    ck_assert_float_eq(rows[1], 1.0f);
    ck_assert_float_eq(rows[2], 10.0f);
    double p[2] = {0.35, 0.9}; /* A stays low, B goes medium -> high */
    ck_assert_uint_eq(scorer_state_sweep_apply(st, p, 2, ch), 1);
    ck_assert_str_eq(ch[0].customer_id, "B");
    ck_assert_int_eq(ch[0].risk, CHURN_RISK_HIGH);
    ck_assert_int_eq(ch[0].has_prev, 1);
    ck_assert_int_eq(ch[0].prev, CHURN_RISK_MEDIUM);
    ck_assert_int_eq(ch[0].reason, SCORER_INACTIVITY);
    ck_assert_int_eq(ch[0].features_as_of_ms, D0 + 40 * DAY);
    ck_assert_int_eq(ch[0].scored_at_ms, D0 + 40 * DAY);
    ck_assert_double_eq(ch[0].probability, 0.9);
    scorer_state_sweep_end(st);
    scorer_view_t v;
    ck_assert_int_eq(scorer_state_lookup(st, "A", &v), 0);
    ck_assert_double_eq(v.score.probability, 0.35); /* recorded although not published */
    ck_assert_int_eq(v.score.has_prev, 0);
    /* the next event's previous level is the sweep's */
    int64_t b2[2] = {D0 + 3600000, D0 + 41 * DAY};
    scorer_event_t eb2 = ev_of("B", b2, 2, b2[1]);
    ck_assert_int_eq(scorer_state_apply(st, &eb2, 0.1, &s), SCORER_APPLIED);
    ck_assert_int_eq(s.prev, CHURN_RISK_HIGH);
    ck_assert_int_eq(s.risk, CHURN_RISK_LOW);
    scorer_state_destroy(st);
}
END_TEST

/* An event from a lagging partition, older than the last sweep: re-scored as of that sweep by
 * the catch-up, so the end state does not depend on how partitions interleave. */
START_TEST(catchup_of_late_events) {
    scorer_state_t *st = new_state(0, 0, 0);
    scorer_score_t s, ch[4];
    float rows[4 * CHURN_N_FEATURES];
    int64_t a[1] = {D0}, late[1] = {D0 + 3 * DAY};
    scorer_event_t ea = ev_of("A", a, 1, a[0]);
    scorer_state_apply(st, &ea, 0.1, &s);
    scorer_state_advance_clock(st, D0 + 10 * DAY + 5);
    int64_t t;
    ck_assert_int_eq(scorer_state_sweep_due(st, &t), 1);
    scorer_state_sweep_begin(st, t);
    ck_assert_uint_eq(scorer_state_sweep_rows(st, rows, 4), 1);
    double p1[1] = {0.1};
    scorer_state_sweep_apply(st, p1, 1, ch);
    scorer_state_sweep_end(st);
    ck_assert_int_eq(scorer_state_catchup_begin(st), 0);
    /* B's only event (day 3) arrives after the day-10 sweep */
    scorer_event_t eb = ev_of("B", late, 1, late[0]);
    ck_assert_int_eq(scorer_state_apply(st, &eb, 0.1, &s), SCORER_APPLIED);
    ck_assert_uint_eq(scorer_state_late(st), 1);
    ck_assert_int_eq(scorer_state_sweep_due(st, &t), 0);
    ck_assert_int_eq(scorer_state_catchup_begin(st), 1);
    ck_assert_uint_eq(scorer_state_sweep_rows(st, rows, 4), 1);
    ck_assert_float_eq(rows[0], 7.0f); /* recency as of the day-10 sweep */
    double p2[1] = {0.95};
    ck_assert_uint_eq(scorer_state_sweep_apply(st, p2, 1, ch), 1);
    ck_assert_str_eq(ch[0].customer_id, "B");
    ck_assert_int_eq(ch[0].features_as_of_ms, D0 + 10 * DAY);
    ck_assert_int_eq(ch[0].reason, SCORER_INACTIVITY);
    ck_assert_int_eq(ch[0].prev, CHURN_RISK_LOW);
    ck_assert_uint_eq(scorer_state_sweep_rows(st, rows, 4), 0);
    scorer_state_sweep_end(st);
    ck_assert_uint_eq(scorer_state_late(st), 0);
    ck_assert_int_eq(scorer_state_catchup_begin(st), 0);
    scorer_state_destroy(st);
}
END_TEST

static uint64_t lcg(uint64_t *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

static void check_against_reference(const scorer_state_t *st, const int *order, size_t n,
                                    rfm_state_t *ref, int64_t at) {
    for (size_t k = 0; k < n; k++) {
        rfm_features_t got, want;
        ck_assert_int_eq(scorer_state_features_at(st, k, at, &got), 0);
        rfm_features(&ref[order[k]], at, &want);
        ck_assert_int_eq(got.has_purchase, want.has_purchase);
        ck_assert_int_eq(got.return_count, want.return_count);
        if (!want.has_purchase)
            continue;
        ck_assert_int_eq(got.recency_days, want.recency_days);
        ck_assert_int_eq(got.recent_orders_30d, want.recent_orders_30d);
        ck_assert_int_eq(got.frequency, want.frequency);
        ck_assert_double_eq(got.total_spent, want.total_spent);
        ck_assert_double_eq(got.order_std, want.order_std);
        ck_assert_int_eq(got.days_since_first_order, want.days_since_first_order);
        ck_assert_double_eq(got.purchase_frequency, want.purchase_frequency);
    }
}

/* Order streams through stool_feed (the features service's events) into the state: the
 * features a sweep recomputes at any later T equal rfm's reference computed from all orders. */
START_TEST(sweep_features_match_reference) {
    scorer_state_t *st = new_state(0, 0, 0);
    stool_feed_t *fd = stool_feed_new();
    rfm_state_t ref[5];
    int seen[5] = {0}, order[5];
    size_t n_seen = 0;
    uint64_t seed = 42;
    ss_txn_t t = SS_TXN_INIT;
    scorer_score_t s;
    for (int c = 0; c < 5; c++)
        ref[c] = (rfm_state_t)RFM_STATE_INIT;
    snprintf(t.store_id, sizeof t.store_id, "s1");
    snprintf(t.currency, sizeof t.currency, "GBP");
    t.has_customer = 1;
    ss_txn_line_t *l = ss_txn_add_line(&t);
    snprintf(l->product_id, sizeof l->product_id, "p1");
    l->quantity = 1;
    int64_t now = D0;
    for (int i = 0; i < 600; i++) {
        int c = (int)(lcg(&seed) % 5);
        now += (int64_t)(lcg(&seed) % (3 * DAY));
        t.kind = lcg(&seed) % 10 == 0 ? SS_TXN_RETURN : SS_TXN_PURCHASE;
        t.event_time_ms = now;
        l->unit_price = (double)(1 + lcg(&seed) % 100);
        snprintf(t.customer_id, sizeof t.customer_id, "c%d", c);
        snprintf(t.order_id, sizeof t.order_id, "o%d", i);
        if (t.kind == SS_TXN_PURCHASE)
            rfm_apply_purchase(&ref[c], now, l->unit_price);
        else
            rfm_apply_return(&ref[c], now, l->unit_price);
        scorer_event_t ev;
        ck_assert_int_eq(stool_feed_apply(fd, &t, &ev), 1);
        ck_assert_int_eq(scorer_event_check(&ev, NULL), 0);
        ck_assert_int_eq(scorer_state_apply(st, &ev, 0.5, &s), SCORER_APPLIED);
        if (!seen[c]) {
            seen[c] = 1;
            order[n_seen++] = c;
        }
        if (i % 17 == 0) {
            /* T at or after every customer's as_of: the clock (now) and later */
            for (int64_t at = now; at < now + 40 * DAY; at += DAY / 3 + 7)
                check_against_reference(st, order, n_seen, ref, at);
        }
    }
    check_against_reference(st, order, n_seen, ref, now + 400 * DAY);
    for (int c = 0; c < 5; c++)
        rfm_state_release(&ref[c]);
    ss_txn_release(&t);
    stool_feed_destroy(fd);
    scorer_state_destroy(st);
}
END_TEST

START_TEST(window_reconciled_without_history) {
    scorer_state_t *st = new_state(0, 0, 0);
    scorer_score_t s;
    /* first event seen mid-stream: 3 purchases in the window, times unknown but the last */
    int64_t ts[4] = {D0, D0 + 20 * DAY, D0 + 25 * DAY, D0 + 28 * DAY};
    scorer_event_t e = ev_of("X", ts, 4, ts[3]);
    ck_assert_int_eq(e.f.recent_orders_30d, 4);
    scorer_state_apply(st, &e, 0.1, &s);
    rfm_features_t f;
    ck_assert_int_eq(scorer_state_features_at(st, 0, ts[3], &f), 0);
    ck_assert_int_eq(f.recent_orders_30d, 4);
    /* placed at last_order_time: they count until last + 30 days, then all leave */
    ck_assert_int_eq(scorer_state_features_at(st, 0, ts[3] + 30 * DAY, &f), 0);
    ck_assert_int_eq(f.recent_orders_30d, 4);
    ck_assert_int_eq(scorer_state_features_at(st, 0, ts[3] + 30 * DAY + 1, &f), 0);
    ck_assert_int_eq(f.recent_orders_30d, 0);
    ck_assert_int_eq(f.recency_days, 30);
    /* the next in-order purchase is placed exactly; the count follows the event again */
    int64_t ts5[5] = {D0, D0 + 20 * DAY, D0 + 25 * DAY, D0 + 28 * DAY, D0 + 52 * DAY};
    scorer_event_t e5 = ev_of("X", ts5, 5, ts5[4]);
    ck_assert_int_eq(e5.f.recent_orders_30d, 3); /* 25, 28 and 52 */
    scorer_state_apply(st, &e5, 0.1, &s);
    scorer_view_t v;
    ck_assert_int_eq(scorer_state_lookup(st, "X", &v), 0);
    ck_assert_uint_eq(v.n_window, 3); /* 28, 28, 52: two placeholders were dropped */
    ck_assert_int_eq(scorer_state_features_at(st, 0, D0 + 58 * DAY, &f), 0);
    ck_assert_int_eq(f.recent_orders_30d, 3); /* true count 2 (28, 52): 25 is placed at 28 */
    ck_assert_int_eq(scorer_state_features_at(st, 0, D0 + 58 * DAY + 1, &f), 0);
    ck_assert_int_eq(f.recent_orders_30d, 1); /* exact again */
    scorer_state_destroy(st);
}
END_TEST

START_TEST(event_checks) {
    ss_err_t err = SS_ERR_INIT;
    int64_t ts[2] = {D0, D0 + DAY};
    scorer_event_t e = ev_of("C", ts, 2, ts[1]);
    ck_assert_int_eq(scorer_event_check(&e, &err), 0);
    scorer_event_t b = e;
    b.customer_id[0] = '\0';
    ck_assert_int_eq(scorer_event_check(&b, &err), SS_ERR_INVAL);
    b = e;
    b.f.as_of_ms = 5;
    ck_assert_int_eq(scorer_event_check(&b, &err), SS_ERR_INVAL);
    b = e;
    b.last_ms = b.first_ms - 1;
    ck_assert_int_eq(scorer_event_check(&b, &err), SS_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "customer 'C'"));
    b = e;
    b.f.total_spent = NAN;
    ck_assert_int_eq(scorer_event_check(&b, &err), SS_ERR_INVAL);
    b = e;
    b.f.recent_orders_30d = 3;
    ck_assert_int_eq(scorer_event_check(&b, &err), SS_ERR_INVAL);
    b = e;
    b.last_ms = b.f.as_of_ms + 1;
    ck_assert_int_eq(scorer_event_check(&b, &err), SS_ERR_INVAL);
    float row[CHURN_N_FEATURES];
    scorer_event_row(&e, row);
    ck_assert_float_eq(row[1], 2.0f);
    ck_assert_float_eq(row[0], 0.0f);
}
END_TEST

static ss_avro_reg_t *registry(void) {
    char dir[4096];
    ss_err_t err = SS_ERR_INIT;
    snprintf(dir, sizeof dir, "%s/schemas", ss_test_source_dir());
    ss_avro_reg_t *reg = ss_avro_reg_new(dir, &err);
    ck_assert_msg(reg != NULL, "%s", err.msg);
    return reg;
}

START_TEST(codec_round_trip) {
    ss_err_t err = SS_ERR_INIT;
    ss_avro_reg_t *reg = registry();
    scorer_codec_t *c = scorer_codec_new(reg, &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    int64_t ts[3] = {D0, D0 + 3 * DAY, D0 + 40 * DAY};
    scorer_event_t e = ev_of("C\"1", ts, 3, ts[2] + DAY), d;
    e.f.return_count = 2;
    e.f.return_amount = 7.5;
    e.source_partition = 4;
    e.source_offset = 99;
    ss_buf_t b = SS_BUF_INIT;
    ck_assert_int_eq(scorer_codec_encode_features(c, &e, &b, &err), 0);
    ck_assert_int_eq(scorer_codec_decode(c, b.buf, b.len, &d, &err), 0);
    ck_assert_str_eq(d.customer_id, e.customer_id);
    ck_assert_str_eq(d.order_id, e.order_id);
    ck_assert_int_eq(d.f.as_of_ms, e.f.as_of_ms);
    ck_assert_int_eq(d.f.recency_days, 1);
    ck_assert_int_eq(d.f.frequency, 3);
    ck_assert_double_eq(d.f.total_spent, e.f.total_spent);
    ck_assert_double_eq(d.f.order_std, e.f.order_std);
    ck_assert_double_eq(d.f.purchase_frequency, e.f.purchase_frequency);
    ck_assert_int_eq(d.f.recent_orders_30d, e.f.recent_orders_30d);
    ck_assert_int_eq(d.f.return_count, 2);
    ck_assert_double_eq(d.f.return_amount, 7.5);
    ck_assert_int_eq(d.first_ms, ts[0]);
    ck_assert_int_eq(d.last_ms, ts[2]);
    ck_assert_int_eq(d.source_partition, 4);
    ck_assert_int_eq(d.source_offset, 99);
    float r1[CHURN_N_FEATURES], r2[CHURN_N_FEATURES];
    scorer_event_row(&e, r1);
    scorer_event_row(&d, r2);
    ck_assert_int_eq(memcmp(r1, r2, sizeof r1), 0);

    /* invalid content decodes but fails the check; garbage does not decode */
    scorer_event_t bad = e;
    bad.last_ms = bad.first_ms - 1;
    ss_buf_reset(&b);
    ck_assert_int_eq(scorer_codec_encode_features(c, &bad, &b, &err), 0);
    ck_assert_int_eq(scorer_codec_decode(c, b.buf, b.len, &d, &err), SS_ERR_INVAL);
    ck_assert_int_eq(scorer_codec_decode(c, "\0\0\0\0\3xyz", 8, &d, &err), SS_ERR_DECODE);
    ck_assert_int_eq(scorer_codec_decode(c, "xx", 2, &d, &err), SS_ERR_DECODE);

    scorer_score_t s = {.customer_id = "C9",
                        .probability = 0.8125,
                        .risk = CHURN_RISK_HIGH,
                        .has_prev = 1,
                        .prev = CHURN_RISK_MEDIUM,
                        .features_as_of_ms = D0,
                        .scored_at_ms = D0 + 5,
                        .reason = SCORER_INACTIVITY};
    scorer_score_t g;
    char ver[64];
    ss_buf_reset(&b);
    ck_assert_int_eq(scorer_codec_encode_score(c, &s, "v-1", &b, &err), 0);
    ck_assert_int_eq(b.buf[0], 0);
    ck_assert_int_eq(scorer_codec_decode_score(c, b.buf, b.len, &g, ver, sizeof ver, &err), 0);
    ck_assert_str_eq(g.customer_id, "C9");
    ck_assert_double_eq(g.probability, 0.8125);
    ck_assert_int_eq(g.risk, CHURN_RISK_HIGH);
    ck_assert_int_eq(g.has_prev, 1);
    ck_assert_int_eq(g.prev, CHURN_RISK_MEDIUM);
    ck_assert_int_eq(g.features_as_of_ms, D0);
    ck_assert_int_eq(g.scored_at_ms, D0 + 5);
    ck_assert_int_eq(g.reason, SCORER_INACTIVITY);
    ck_assert_str_eq(ver, "v-1");
    s.has_prev = 0;
    s.reason = SCORER_EVENT;
    ss_buf_reset(&b);
    ck_assert_int_eq(scorer_codec_encode_score(c, &s, "v-1", &b, &err), 0);
    ck_assert_int_eq(scorer_codec_decode_score(c, b.buf, b.len, &g, ver, sizeof ver, &err), 0);
    ck_assert_int_eq(g.has_prev, 0);
    ck_assert_int_eq(g.reason, SCORER_EVENT);
    ss_buf_release(&b);
    scorer_codec_destroy(c);
    ss_avro_reg_destroy(reg);
}
END_TEST

START_TEST(lookup_api) {
    ss_err_t err = SS_ERR_INIT;
    scorer_state_t *st = new_state(0, 0, 0);
    scorer_state_set_model_version(st, "m-1");
    int64_t ts[2] = {D0, D0 + 2 * DAY};
    scorer_event_t e = ev_of("C/7", ts, 2, ts[1]);
    scorer_score_t s;
    scorer_state_apply(st, &e, 0.45, &s);
    ss_http_t *h = ss_http_new(NULL, &err);
    ck_assert_ptr_nonnull(h);
    ck_assert_int_eq(ss_http_route(h, SCORER_API_PREFIX, scorer_api_handle, st), 0);

    ss_http_request_t req = {"GET", "/v1/customers/C/7/churn", ""};
    ss_http_response_t resp = SS_HTTP_RESPONSE_INIT;
    ss_http_handle(h, &req, &resp, 0);
    ck_assert_int_eq(resp.status == 0 ? 200 : resp.status, 200);
    ck_assert_str_eq(resp.content_type, "application/json");
    json_error_t jerr;
    json_t *j = json_loads(resp.body, 0, &jerr);
    ck_assert_msg(j != NULL, "%s: %s", jerr.text, resp.body);
    ck_assert_str_eq(json_string_value(json_object_get(j, "customer_id")), "C/7");
    ck_assert_double_eq(json_number_value(json_object_get(j, "probability")), 0.45);
    ck_assert_str_eq(json_string_value(json_object_get(j, "risk_level")), "medium");
    ck_assert(json_is_null(json_object_get(j, "previous_risk_level")));
    ck_assert_str_eq(json_string_value(json_object_get(j, "model_version")), "m-1");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "features_as_of")), ts[1]);
    ck_assert_str_eq(json_string_value(json_object_get(j, "features_as_of_iso")),
                     "2024-01-03T00:00:00Z");
    ck_assert_str_eq(json_string_value(json_object_get(j, "reason")), "EVENT");
    json_t *f = json_object_get(j, "features");
    ck_assert_int_eq(json_integer_value(json_object_get(f, "frequency")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(f, "recency_days")), 0);
    ck_assert_double_eq(json_number_value(json_object_get(f, "total_spent")), 30.0);
    ck_assert_int_eq(json_integer_value(json_object_get(f, "recent_orders_30d")), 2);
    json_decref(j);
    ss_http_response_release(&resp);

    req.path = "/v1/customers/unknown/churn";
    ss_http_handle(h, &req, &resp, 0);
    ck_assert_int_eq(resp.status, 404);
    j = json_loads(resp.body, 0, &jerr);
    ck_assert_msg(j != NULL, "%s: %s", jerr.text, resp.body);
    ck_assert_str_eq(json_string_value(json_object_get(j, "error")), "unknown customer 'unknown'");
    json_decref(j);
    ss_http_response_release(&resp);

    req.path = "/v1/customers/C/7/recommendations";
    ss_http_handle(h, &req, &resp, 0);
    ck_assert_int_eq(resp.status, 404);
    ss_http_response_release(&resp);

    char id[SS_ID_MAX + 1];
    ck_assert_int_eq(scorer_api_parse_path("/v1/customers//churn", id), SS_ERR_NOTFOUND);
    ck_assert_int_eq(scorer_api_parse_path("/v1/customers/churn", id), SS_ERR_NOTFOUND);
    ck_assert_int_eq(scorer_api_parse_path("/v1/customers/a b/churn", id), 0);
    ck_assert_str_eq(id, "a b");
    ss_http_destroy(h);
    scorer_state_destroy(st);
}
END_TEST

/* A small model trained on a synthetic rule: risk grows with recency, falls with frequency. */
static churn_model_t *tiny_model(const char *version) {
    churn_set_t s = CHURN_SET_INIT;
    ss_err_t err = SS_ERR_INIT;
    uint64_t seed = 5;
    s.n = s.cap = 500;
    s.x = calloc(s.n * CHURN_N_FEATURES, sizeof(float));
    s.y = calloc(s.n, sizeof(int));
    s.cutoff = calloc(s.n, sizeof(int64_t));
    s.customer = calloc(s.n, sizeof(size_t));
    for (size_t i = 0; i < s.n; i++) {
        float *r = s.x + i * CHURN_N_FEATURES;
        r[0] = (float)(lcg(&seed) % 200);
        r[1] = (float)(1 + lcg(&seed) % 20);
        r[2] = r[1] * 10;
        r[3] = 10;
        r[6] = r[1] / 100;
        r[7] = r[0] < 30 ? 1 : 0;
        s.y[i] = r[0] / 200.0 - r[1] / 40.0 + (double)(lcg(&seed) % 100) / 400.0 > 0.3;
    }
    churn_xgb_opts_t o = {.rounds = 10, .nthread = 1, .min_child_weight = 1};
    churn_model_t *m = churn_train_xgb(&s, &o, NULL, NULL, 0, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    snprintf(churn_model_meta_mut(m)->version, 64, "%s", version);
    churn_set_release(&s);
    return m;
}

typedef struct got {
    scorer_score_t s[64];
    char ver[64][64];
    size_t n;
    scorer_codec_t *c;
} got_t;

static int collect(const scorer_score_t *s, const void *payload, size_t len, void *opaque) {
    got_t *g = opaque;
    ss_err_t err = SS_ERR_INIT;
    ck_assert_uint_lt(g->n, 64);
    ck_assert_int_eq(
        scorer_codec_decode_score(g->c, payload, len, &g->s[g->n], g->ver[g->n], 64, &err), 0);
    ck_assert_str_eq(g->s[g->n].customer_id, s->customer_id);
    g->s[g->n].customer_id = s->customer_id; /* the codec's buffer is reused */
    g->n++;
    return 0;
}

START_TEST(pipe_scores_match_model) {
    ss_err_t err = SS_ERR_INIT;
    ss_avro_reg_t *reg = registry();
    scorer_codec_t *c = scorer_codec_new(reg, &err);
    churn_model_t *m = tiny_model("tiny-1");
    scorer_state_t *st = new_state(0.6, 0.3, 0);
    scorer_event_t evs[6];
    for (int i = 0; i < 6; i++) {
        int64_t ts[3] = {D0, D0 + (i + 1) * DAY, D0 + (i + 2) * 2 * DAY};
        char id[8];
        snprintf(id, sizeof id, "k%d", i);
        evs[i] = ev_of(id, ts, (size_t)(1 + i % 3), D0 + 15 * DAY);
    }
    evs[5] = evs[4]; /* a duplicate: stale, not emitted */
    got_t g = {.c = c};
    scorer_pipe_stats_t stats = {0};
    ck_assert_int_eq(scorer_pipe_events(st, c, m, evs, 6, collect, &g, &stats, &err), 0);
    ck_assert_uint_eq(g.n, 5);
    ck_assert_uint_eq(stats.events, 5);
    ck_assert_uint_eq(stats.stale, 1);
    float rows[6 * CHURN_N_FEATURES];
    double p[6];
    for (int i = 0; i < 6; i++)
        scorer_event_row(&evs[i], rows + i * CHURN_N_FEATURES);
    ck_assert_int_eq(churn_model_predict(m, rows, 6, p, &err), 0);
    for (size_t i = 0; i < g.n; i++) {
        ck_assert_double_eq(g.s[i].probability, p[i]);
        ck_assert_int_eq(g.s[i].risk,
                         churn_risk_level(scorer_state_thresholds(st), g.s[i].probability));
        ck_assert_str_eq(g.ver[i], "tiny-1");
        ck_assert_int_eq(g.s[i].reason, SCORER_EVENT);
    }
    /* 200 days later everyone has gone quiet: the sweep re-scores all five, and what it emits
     * are exactly the level changes, with probabilities of the rows as of T */
    scorer_state_advance_clock(st, D0 + 215 * DAY + 1);
    g.n = 0;
    int ran = 0;
    ck_assert_int_eq(scorer_pipe_sweeps(st, c, m, 2, collect, &g, &stats, &ran, &err), 0);
    ck_assert_int_eq(ran, 1);
    ck_assert_uint_eq(stats.swept, 5);
    ck_assert_uint_gt(g.n, 0);
    for (size_t i = 0; i < g.n; i++) {
        ck_assert_int_eq(g.s[i].reason, SCORER_INACTIVITY);
        ck_assert_int_eq(g.s[i].features_as_of_ms, D0 + 215 * DAY);
        ck_assert_int_ne(g.s[i].risk, g.s[i].prev);
        scorer_view_t v;
        ck_assert_int_eq(scorer_state_lookup(st, g.s[i].customer_id, &v), 0);
        float row[CHURN_N_FEATURES];
        double q;
        churn_row_from_rfm(&v.features, row);
        ck_assert_float_eq(row[0], (float)v.features.recency_days);
        ck_assert_int_eq(churn_model_predict(m, row, 1, &q, &err), 0);
        ck_assert_double_eq(q, g.s[i].probability);
    }
    scorer_state_destroy(st);
    churn_model_destroy(m);
    scorer_codec_destroy(c);
    ss_avro_reg_destroy(reg);
}
END_TEST

/* One consumed batch spanning four days: cut at each day change, one sweep per day. */
START_TEST(pipe_batch_sweeps_each_day) {
    ss_err_t err = SS_ERR_INIT;
    ss_avro_reg_t *reg = registry();
    scorer_codec_t *c = scorer_codec_new(reg, &err);
    churn_model_t *m = tiny_model("tiny-1");
    scorer_state_t *st = new_state(0.6, 0.3, 0);
    scorer_event_t evs[8];
    for (int i = 0; i < 8; i++) {
        int64_t ts[1] = {D0 + (i / 2) * DAY + 3600000 * (i % 2 + 1)};
        char id[8];
        snprintf(id, sizeof id, "d%d", i);
        evs[i] = ev_of(id, ts, 1, ts[0]);
    }
    scorer_pipe_stats_t stats = {0};
    int sweeps = 0;
    ck_assert_int_eq(scorer_pipe_batch(st, c, m, evs, 8, 1, 3, NULL, NULL, &stats, &sweeps, &err),
                     0);
    ck_assert_int_eq(sweeps, 3); /* days 1, 2, 3 (day 0 is the first day seen) */
    ck_assert_uint_eq(stats.sweeps, 3);
    ck_assert_uint_eq(stats.events, 8);
    ck_assert_uint_eq(stats.swept, 2 + 4 + 6); /* everyone before each midnight */
    ck_assert_int_eq(scorer_state_last_sweep(st), D0 + 3 * DAY);
    /* without sweeps: no cut, nothing swept */
    scorer_state_t *st2 = new_state(0.6, 0.3, 0);
    scorer_pipe_stats_t s2 = {0};
    ck_assert_int_eq(scorer_pipe_batch(st2, c, m, evs, 8, 0, 3, NULL, NULL, &s2, &sweeps, &err), 0);
    ck_assert_int_eq(sweeps, 0);
    ck_assert_uint_eq(s2.swept, 0);
    scorer_state_destroy(st2);
    scorer_state_destroy(st);
    churn_model_destroy(m);
    scorer_codec_destroy(c);
    ss_avro_reg_destroy(reg);
}
END_TEST

START_TEST(model_hot_reload) {
    ss_err_t err = SS_ERR_INIT;
    char dir[256], path[512];
    snprintf(dir, sizeof dir, "%s/scorer-test-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    churn_model_t *m1 = tiny_model("v1"), *m2 = tiny_model("v2");
    ck_assert_int_eq(churn_model_save(m1, dir, &err), 0);
    scorer_model_t *sm = scorer_model_new(dir, 1, &err);
    ck_assert_msg(sm != NULL, "%s", err.msg);
    ck_assert_str_eq(scorer_model_version(sm), "v1");
    ck_assert_int_eq(scorer_model_check(sm, 0, &err), 0); /* unchanged */
    ck_assert_int_eq(churn_model_save(m2, dir, &err), 0);
    ck_assert_int_eq(scorer_model_check(sm, 0, &err), 1);
    ck_assert_str_eq(scorer_model_version(sm), "v2");
    ck_assert_uint_eq(scorer_model_reloads(sm), 1);
    /* a broken manifest: the load fails, v2 stays */
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("{\"format\": \"nope\"}", f);
    fclose(f);
    ck_assert_int_lt(scorer_model_check(sm, 0, &err), 0);
    ck_assert_str_eq(scorer_model_version(sm), "v2");
    /* forced (SIGHUP) after a good save */
    ck_assert_int_eq(churn_model_save(m1, dir, &err), 0);
    ck_assert_int_eq(scorer_model_check(sm, 1, &err), 1);
    ck_assert_str_eq(scorer_model_version(sm), "v1");
    scorer_model_destroy(sm);
    churn_model_destroy(m1);
    churn_model_destroy(m2);
    unlink(path);
    snprintf(path, sizeof path, "%s/xgboost.json", dir);
    unlink(path);
    rmdir(dir);
    ck_assert_ptr_null(scorer_model_new("/nonexistent/model", 1, &err));
}
END_TEST

Suite *scorer_suite(void) {
    Suite *s = suite_create("scorer");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, risk_transitions);
    tcase_add_test(tc, stale_and_duplicate_events);
    tcase_add_test(tc, sweep_schedule);
    tcase_add_test(tc, sweep_emits_level_changes_only);
    tcase_add_test(tc, sweep_features_match_reference);
    tcase_add_test(tc, catchup_of_late_events);
    tcase_add_test(tc, window_reconciled_without_history);
    tcase_add_test(tc, event_checks);
    tcase_add_test(tc, codec_round_trip);
    tcase_add_test(tc, lookup_api);
    tcase_add_test(tc, pipe_scores_match_model);
    tcase_add_test(tc, pipe_batch_sweeps_each_day);
    tcase_add_test(tc, model_hot_reload);
    suite_add_tcase(s, tc);
    return s;
}
