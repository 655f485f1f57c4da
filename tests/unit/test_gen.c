/* Suite "gen": the synthetic workload model of streamscore-gen (tools/gen/gen_model.h):
 * determinism, churners, weekly seasonality, co-purchase structure, returns, bad records, shift,
 * and the native CSV round trip through the replay parser. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen_csv.h"
#include "gen_model.h"
#include "replay_csv.h"
#include "ss_txn.h"

#define DAY_MS 86400000LL

static gen_t *gen_ok(const gen_opts_t *o) {
    ss_err_t err = SS_ERR_INIT;
    gen_t *g = gen_new(o, &err);
    ck_assert_msg(g != NULL, "%s", err.msg);
    return g;
}

/* Fingerprint of the whole stream (good and bad events, in order). */
static uint64_t stream_hash(const gen_opts_t *o, uint64_t *count) {
    gen_t *g = gen_ok(o);
    ss_txn_t t = SS_TXN_INIT;
    gen_bad_t bad;
    uint64_t h = 1469598103934665603ULL;
    *count = 0;
    while (gen_next(g, &t, &bad)) {
        h = (h ^ ss_txn_fingerprint(&t) ^ (uint64_t)bad) * 1099511628211ULL;
        (*count)++;
    }
    ss_txn_release(&t);
    gen_destroy(g);
    return h;
}

START_TEST(same_seed_same_stream) {
    gen_opts_t o = {.seed = 7, .customers = 200, .days = 30, .bad_rate = 0.02};
    uint64_t n1, n2, n3;
    uint64_t h1 = stream_hash(&o, &n1);
    uint64_t h2 = stream_hash(&o, &n2);
    ck_assert_uint_gt(n1, 100);
    ck_assert_uint_eq(n1, n2);
    ck_assert_uint_eq(h1, h2);
    o.seed = 8;
    uint64_t h3 = stream_hash(&o, &n3);
    ck_assert_uint_ne(h1, h3);
}
END_TEST

START_TEST(events_valid_and_in_time_order) {
    gen_opts_t o = {.seed = 3, .customers = 300, .days = 40};
    gen_t *g = gen_ok(&o);
    ss_txn_t t = SS_TXN_INIT;
    gen_bad_t bad;
    int64_t prev = 0;
    uint64_t n = 0, returns = 0, anon = 0;
    const int64_t start = 1704067200000LL;
    while (gen_next(g, &t, &bad)) {
        ck_assert_int_eq(bad, GEN_BAD_NONE);
        ss_err_t err = SS_ERR_INIT;
        ck_assert_msg(ss_txn_validate(&t, NULL, &err) == 0, "%s: %s", t.order_id, err.msg);
        ck_assert_int_ge(t.event_time_ms, prev);
        ck_assert_int_ge(t.event_time_ms, start);
        ck_assert_int_lt(t.event_time_ms, start + 40 * DAY_MS);
        prev = t.event_time_ms;
        returns += t.kind == SS_TXN_RETURN;
        anon += !t.has_customer;
        if (t.kind == SS_TXN_RETURN) {
            ck_assert_int_eq(t.has_customer, 1);
            ck_assert_ptr_nonnull(strstr(t.order_id, "-r"));
        }
        n++;
    }
    ck_assert_uint_gt(returns, 0);
    ck_assert_uint_lt(returns, n / 10);
    /* anonymous share 0.1 of purchases, loosely */
    ck_assert_uint_gt(anon, n / 20);
    ck_assert_uint_lt(anon, n / 5);
    ss_txn_release(&t);
    gen_destroy(g);
}
END_TEST

START_TEST(churners_stop_buying) {
    gen_opts_t o = {.seed = 11, .customers = 400, .days = 120, .orders_per_week = 3};
    gen_t *g = gen_ok(&o);
    int *last_day = calloc(400, sizeof(int));
    int *orders = calloc(400, sizeof(int));
    for (int c = 0; c < 400; c++)
        last_day[c] = -1;
    ss_txn_t t = SS_TXN_INIT;
    gen_bad_t bad;
    const int64_t start = 1704067200000LL;
    while (gen_next(g, &t, &bad)) {
        if (!t.has_customer || t.kind != SS_TXN_PURCHASE)
            continue;
        int c = gen_id_index(t.customer_id, 'c');
        ck_assert_int_ge(c, 0);
        int day = (int)((t.event_time_ms - start) / DAY_MS);
        if (day > last_day[c])
            last_day[c] = day;
        orders[c]++;
    }
    int churners = 0, active_churners = 0;
    for (int c = 0; c < 400; c++) {
        int cd = gen_customer_churn_day(g, c);
        if (cd < 0)
            continue;
        churners++;
        ck_assert_int_ge(cd, 30);
        ck_assert_int_le(cd, 90);
        ck_assert_int_lt(last_day[c], cd); /* nothing bought on or after the churn day */
        active_churners += orders[c] > 0;
    }
    /* 20% by default */
    ck_assert_int_gt(churners, 40);
    ck_assert_int_lt(churners, 130);
    ck_assert_int_gt(active_churners, churners / 2);
    ss_txn_release(&t);
    free(last_day);
    free(orders);
    gen_destroy(g);
}
END_TEST

START_TEST(shape_has_seasonality_and_copurchase) {
    gen_opts_t o = {.seed = 5, .customers = 500, .days = 56};
    gen_shape_t s;
    ck_assert_int_eq(gen_measure(&o, &s, NULL), 0);
    ck_assert_uint_gt(s.purchases, 2000);
    /* weekly profile: Saturday 1.35 vs Sunday 0.8 in the base profile */
    ck_assert_double_gt(s.weekday_ratio, 1.3);
    /* 20 groups: random pairs would be in one group ~5% of the time */
    ck_assert_double_gt(s.same_group_pairs, 0.4);
    ck_assert_double_gt(s.lines_per_order, 2.0);
    ck_assert_double_lt(s.lines_per_order, 4.0);
    ck_assert_double_gt(s.distinct_products, 5);
    ck_assert_int_gt(s.churners, 0);
    ck_assert_uint_gt(s.returns, 0);
    /* no co-purchase structure with a single product per group... */
    gen_opts_t flat = o;
    flat.groups = flat.products = 200;
    ck_assert_int_eq(gen_measure(&flat, &s, NULL), 0);
    ck_assert_double_lt(s.same_group_pairs, 0.05);
}
END_TEST

START_TEST(bad_records_on_request_leave_good_stream_alone) {
    gen_opts_t o = {.seed = 9, .customers = 200, .days = 20};
    gen_opts_t ob = o;
    ob.bad_rate = 0.05;
    gen_t *g = gen_ok(&o), *gb = gen_ok(&ob);
    ss_txn_t t = SS_TXN_INIT, tb = SS_TXN_INIT;
    gen_bad_t bad;
    uint64_t kinds[GEN_BAD_COUNT] = {0}, good = 0;
    while (gen_next(gb, &tb, &bad)) {
        kinds[bad]++;
        ss_err_t err = SS_ERR_INIT;
        if (bad == GEN_BAD_NONE) {
            ck_assert_int_eq(gen_next(g, &t, &bad), 1);
            ck_assert_uint_eq(ss_txn_fingerprint(&t), ss_txn_fingerprint(&tb));
            good++;
        } else if (bad < GEN_BAD_RAW_JSON) {
            ck_assert_int_eq(ss_txn_validate(&tb, NULL, &err), SS_ERR_INVAL);
        }
    }
    ck_assert_int_eq(gen_next(g, &t, &bad), 0);
    uint64_t nbad = 0;
    for (int k = 1; k < GEN_BAD_COUNT; k++) {
        ck_assert_msg(kinds[k] > 0, "no bad record of kind %s", gen_bad_name((gen_bad_t)k));
        nbad += kinds[k];
    }
    ck_assert_uint_gt(nbad, good / 40);
    ck_assert_uint_lt(nbad, good / 10);
    ss_txn_release(&t);
    ss_txn_release(&tb);
    gen_destroy(g);
    gen_destroy(gb);
}
END_TEST

static double mean_amount(const gen_opts_t *o, const char *store, int from_day, int to_day) {
    gen_t *g = gen_ok(o);
    ss_txn_t t = SS_TXN_INIT;
    gen_bad_t bad;
    double sum = 0;
    int n = 0;
    while (gen_next(g, &t, &bad)) {
        int day = (int)((t.event_time_ms - 1704067200000LL) / DAY_MS);
        if (t.kind != SS_TXN_PURCHASE || strcmp(t.store_id, store) || day < from_day ||
            day >= to_day)
            continue;
        sum += ss_txn_amount(&t);
        n++;
    }
    ss_txn_release(&t);
    gen_destroy(g);
    ck_assert_int_gt(n, 50);
    return sum / n;
}

START_TEST(shift_scales_amounts_of_shifted_stores) {
    gen_opts_t o = {.seed = 4, .customers = 600, .days = 40, .stores = 4};
    gen_opts_t os = o;
    os.shift_day = 20;
    os.shift_stores = 1;
    os.shift_factor = 3;
    /* identical before the shift day; x3 after it in s001, untouched in s002 */
    ck_assert_double_eq_tol(mean_amount(&o, "s001", 0, 20), mean_amount(&os, "s001", 0, 20), 1e-9);
    double before = mean_amount(&o, "s001", 20, 40), after = mean_amount(&os, "s001", 20, 40);
    ck_assert_double_eq_tol(after / before, 3.0, 0.01);
    ck_assert_double_eq_tol(mean_amount(&o, "s002", 20, 40), mean_amount(&os, "s002", 20, 40),
                            1e-9);
}
END_TEST

START_TEST(options_checked) {
    ss_err_t err = SS_ERR_INIT;
    gen_opts_t o = {.customers = -3};
    ck_assert_ptr_null(gen_new(&o, &err));
    ck_assert_int_eq(err.code, SS_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "customers"));
    gen_opts_t o2 = {.products = 10, .groups = 11};
    ck_assert_ptr_null(gen_new(&o2, NULL));
    ck_assert_int_eq(gen_id_index("c000012", 'c'), 11);
    ck_assert_int_eq(gen_id_index("p00001", 'p'), 0);
    ck_assert_int_eq(gen_id_index("p00001", 'c'), -1);
    ck_assert_int_eq(gen_id_index("cx", 'c'), -1);
}
END_TEST

/* gen -> native CSV -> replay parser gives back the same events (bad ones rejected). */
START_TEST(csv_round_trip_through_replay) {
    gen_opts_t o = {.seed = 2, .customers = 100, .days = 15, .bad_rate = 0.02};
    gen_t *g = gen_ok(&o);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    fprintf(f, "%s\n", gen_csv_header);
    ss_txn_t t = SS_TXN_INIT;
    gen_bad_t bad;
    ss_txn_t *good = NULL;
    size_t ngood = 0, nbad = 0;
    while (gen_next(g, &t, &bad)) {
        ck_assert_int_eq(gen_csv_write(f, &t, bad, NULL), 0);
        if (bad) {
            nbad++;
            continue;
        }
        good = realloc(good, (ngood + 1) * sizeof(*good));
        ss_txn_t init = SS_TXN_INIT;
        good[ngood] = init;
        ss_txn_copy(&good[ngood++], &t);
    }
    fclose(f);
    ck_assert_uint_gt(nbad, 0);
    rcsv_opts_t ro = {.format = RCSV_NATIVE};
    rcsv_t *r = rcsv_new(&ro);
    ck_assert_int_eq(rcsv_feed(r, text, len, NULL), 0);
    ck_assert_int_eq(rcsv_finish(r, NULL), 0);
    /* every good event comes back, in the same order; partly bad orders keep their good lines
     * under their own "-bad" id */
    size_t k = 0;
    for (size_t i = 0; i < rcsv_count(r); i++) {
        rcsv_get(r, i, &t);
        if (strstr(t.order_id, "-bad"))
            continue;
        ck_assert_uint_lt(k, ngood);
        ck_assert_str_eq(t.order_id, good[k].order_id);
        ck_assert_uint_eq(ss_txn_fingerprint(&t), ss_txn_fingerprint(&good[k]));
        k++;
    }
    ck_assert_uint_eq(k, ngood);
    ck_assert_uint_gt(rcsv_stats(r)->rows_rejected, 0);
    for (size_t i = 0; i < ngood; i++)
        ss_txn_release(&good[i]);
    free(good);
    free(text);
    rcsv_destroy(r);
    ss_txn_release(&t);
    gen_destroy(g);
}
END_TEST

Suite *gen_suite(void) {
    Suite *s = suite_create("gen");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, same_seed_same_stream);
    tcase_add_test(tc, events_valid_and_in_time_order);
    tcase_add_test(tc, churners_stop_buying);
    tcase_add_test(tc, shape_has_seasonality_and_copurchase);
    tcase_add_test(tc, bad_records_on_request_leave_good_stream_alone);
    tcase_add_test(tc, shift_scales_amounts_of_shifted_stores);
    tcase_add_test(tc, options_checked);
    tcase_add_test(tc, csv_round_trip_through_replay);
    suite_add_tcase(s, tc);
    return s;
}
