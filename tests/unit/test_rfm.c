/* Unit tests of rfm: feature formulas, out-of-order arrival, as-of later than the last event,
 * single order, returns, the 30-day window and its text form. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rfm.h"

#define DAY RFM_DAY_MS
#define T0 INT64_C(1291190760000) /* 2010-12-01 08:06:00 UTC */

START_TEST(single_order_std_zero) {
    rfm_state_t st = RFM_STATE_INIT;
    rfm_apply_purchase(&st, T0, 12.5);
    rfm_features_t f;
    rfm_features(&st, T0, &f);
    ck_assert_int_eq(f.has_purchase, 1);
    ck_assert_int_eq(f.frequency, 1);
    ck_assert_int_eq(f.recency_days, 0);
    ck_assert_double_eq(f.total_spent, 12.5);
    ck_assert_double_eq(f.avg_order, 12.5);
    ck_assert_double_eq(f.order_std, 0.0);
    ck_assert_int_eq(f.days_since_first_order, 0);
    ck_assert_double_eq(f.purchase_frequency, 1.0);
    ck_assert_int_eq(f.recent_orders_30d, 1);
    ck_assert_int_eq(f.return_count, 0);
    rfm_state_release(&st);
}
END_TEST

START_TEST(three_orders_formulas) {
    rfm_state_t st = RFM_STATE_INIT;
    rfm_apply_purchase(&st, T0, 10.0);
    rfm_apply_purchase(&st, T0 + 10 * DAY + 5, 20.0);
    rfm_apply_purchase(&st, T0 + 40 * DAY, 60.0);
    rfm_features_t f;
    /* As of 2.5 days after the last order. */
    rfm_features(&st, T0 + 42 * DAY + DAY / 2, &f);
    ck_assert_int_eq(f.frequency, 3);
    ck_assert_int_eq(f.recency_days, 2);
    ck_assert_double_eq_tol(f.total_spent, 90.0, 1e-12);
    ck_assert_double_eq_tol(f.avg_order, 30.0, 1e-12);
    /* sample std of 10, 20, 60: mean 30, squared deviations 400+100+900 = 1400, /2 = 700 */
    ck_assert_double_eq_tol(f.order_std, sqrt(700.0), 1e-12);
    ck_assert_int_eq(f.days_since_first_order, 40);
    ck_assert_double_eq_tol(f.purchase_frequency, 3.0 / 41.0, 1e-15);
    /* window as of T: [T - 30d, T] holds the order at +40d only (+10d is 32.5 days back) */
    ck_assert_int_eq(f.recent_orders_30d, 1);
    rfm_state_release(&st);
}
END_TEST

START_TEST(out_of_order_equals_in_order) {
    int64_t t[] = {T0 + 5 * DAY, T0, T0 + 50 * DAY, T0 + 31 * DAY, T0 + 49 * DAY};
    double a[] = {3.25, 7.5, 1.0, 100.0, 42.0};
    int perm[] = {2, 0, 4, 1, 3}; /* arrival order */
    rfm_state_t in = RFM_STATE_INIT, out = RFM_STATE_INIT;
    /* in event-time order: 1, 0, 3, 4, 2 */
    int sorted[] = {1, 0, 3, 4, 2};
    for (int i = 0; i < 5; i++)
        rfm_apply_purchase(&in, t[sorted[i]], a[sorted[i]]);
    for (int i = 0; i < 5; i++)
        rfm_apply_purchase(&out, t[perm[i]], a[perm[i]]);
    rfm_features_t fi, fo;
    int64_t T = T0 + 55 * DAY;
    rfm_features(&in, T, &fi);
    rfm_features(&out, T, &fo);
    ck_assert_int_eq(fo.frequency, 5);
    ck_assert_int_eq(fo.recency_days, fi.recency_days);
    ck_assert_int_eq(fo.recency_days, 5);
    ck_assert_int_eq(fo.days_since_first_order, 50);
    ck_assert_int_eq(out.agg.first_ms, T0);
    ck_assert_int_eq(out.agg.last_ms, T0 + 50 * DAY);
    ck_assert_double_eq_tol(fo.total_spent, fi.total_spent, 1e-12);
    ck_assert_double_eq_tol(fo.order_std, fi.order_std, 1e-12);
    /* window [T0+25d, T0+55d]: +31, +49, +50 */
    ck_assert_int_eq(fo.recent_orders_30d, 3);
    ck_assert_int_eq(fi.recent_orders_30d, 3);
    /* the late +5d order arrived after +50d: it is older than last - 30d, never stored */
    for (size_t i = 0; i < out.n_win; i++)
        ck_assert(out.win[i] >= out.agg.last_ms - RFM_WINDOW_MS);
    rfm_state_release(&in);
    rfm_state_release(&out);
}
END_TEST

START_TEST(later_as_of_ages_features) {
    rfm_state_t st = RFM_STATE_INIT;
    rfm_apply_purchase(&st, T0, 5.0);
    rfm_apply_purchase(&st, T0 + 20 * DAY, 5.0);
    rfm_features_t f;
    rfm_features(&st, T0 + 20 * DAY, &f);
    ck_assert_int_eq(f.recency_days, 0);
    ck_assert_int_eq(f.recent_orders_30d, 2);
    rfm_features(&st, T0 + 31 * DAY, &f); /* first order drops out of the window */
    ck_assert_int_eq(f.recency_days, 11);
    ck_assert_int_eq(f.recent_orders_30d, 1);
    rfm_features(&st, T0 + 50 * DAY, &f); /* exactly 30 days after the last: still counted */
    ck_assert_int_eq(f.recent_orders_30d, 1);
    rfm_features(&st, T0 + 50 * DAY + 1, &f);
    ck_assert_int_eq(f.recent_orders_30d, 0);
    ck_assert_int_eq(f.recency_days, 30);
    ck_assert_int_eq(f.frequency, 2); /* frequency does not age */
    rfm_state_release(&st);
}
END_TEST

START_TEST(returns_do_not_count_as_purchases) {
    rfm_state_t st = RFM_STATE_INIT;
    rfm_apply_return(&st, T0, 4.5);
    rfm_features_t f;
    rfm_features(&st, T0, &f);
    ck_assert_int_eq(f.has_purchase, 0);
    ck_assert_int_eq(f.frequency, 0);
    ck_assert_int_eq(f.return_count, 1);
    ck_assert_double_eq(f.return_amount, 4.5);
    ck_assert_double_eq(f.total_spent, 0.0);
    rfm_apply_purchase(&st, T0 + DAY, 10.0);
    rfm_apply_return(&st, T0 + 3 * DAY, 2.0);
    rfm_features(&st, T0 + 3 * DAY, &f);
    ck_assert_int_eq(f.frequency, 1);
    ck_assert_int_eq(f.recency_days, 2); /* from the last purchase, not the return */
    ck_assert_int_eq(f.return_count, 2);
    ck_assert_double_eq_tol(f.return_amount, 6.5, 1e-15);
    ck_assert_double_eq(f.total_spent, 10.0);
    rfm_state_release(&st);
}
END_TEST

START_TEST(std_is_stable_for_large_amounts) {
    /* Naive sum of squares loses everything here; Welford keeps it. */
    rfm_state_t st = RFM_STATE_INIT;
    double base = 1e9;
    for (int i = 0; i < 1000; i++)
        rfm_apply_purchase(&st, T0 + i, base + (i % 2 ? 0.5 : -0.5));
    rfm_features_t f;
    rfm_features(&st, T0 + 1000, &f);
    /* population var 0.25; sample var = 0.25 * 1000 / 999 */
    ck_assert_double_eq_tol(f.order_std, sqrt(0.25 * 1000.0 / 999.0), 1e-9);
    ck_assert_double_eq_tol(f.avg_order, base, 1e-6);
    rfm_state_release(&st);
}
END_TEST

START_TEST(floor_days_negative) {
    ck_assert_int_eq(rfm_floor_days(0), 0);
    ck_assert_int_eq(rfm_floor_days(DAY - 1), 0);
    ck_assert_int_eq(rfm_floor_days(DAY), 1);
    ck_assert_int_eq(rfm_floor_days(-1), -1);
    ck_assert_int_eq(rfm_floor_days(-DAY), -1);
}
END_TEST

START_TEST(state_encoding_roundtrip) {
    ss_err_t err = SS_ERR_INIT;
    rfm_agg_t a = {3, 10.1, -1e-17, 3.3666666666666667, 2.5, T0, T0 + DAY, 2, 7.25};
    unsigned char buf[RFM_ST_BYTES];
    rfm_agg_encode(&a, buf);
    /* little-endian int32 n first, as struct.pack('<i...') writes it in features.lua */
    ck_assert_int_eq(buf[0], 3);
    ck_assert_int_eq(buf[1], 0);
    rfm_agg_t b;
    ck_assert_int_eq(rfm_agg_decode(buf, sizeof(buf), &b, &err), 0);
    ck_assert(memcmp(&a, &b, sizeof(a)) == 0);
    ck_assert_int_eq(rfm_agg_decode(buf, 63, &b, &err), SS_ERR_INVAL);
    /* window: '<l' int64s in any order */
    unsigned char w[16] = {0};
    w[0] = 200; /* 200 */
    w[8] = 100; /* 100 */
    int64_t *v = NULL;
    size_t n = 0;
    ck_assert_int_eq(rfm_window_decode(w, 16, &v, &n, &err), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(v[0], 100);
    ck_assert_int_eq(v[1], 200);
    ck_assert_int_eq(rfm_window_count(v, n, 150), 1);
    free(v);
    ck_assert_int_eq(rfm_window_decode(w, 0, &v, &n, &err), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(rfm_window_decode(w, 12, &v, &n, &err), SS_ERR_INVAL);
}
END_TEST

START_TEST(json_line) {
    rfm_state_t st = RFM_STATE_INIT;
    rfm_apply_purchase(&st, 0, 0.1);
    rfm_features_t f;
    rfm_features(&st, DAY, &f);
    ss_buf_t b = SS_BUF_INIT;
    rfm_features_json("c\"1", &f, &b);
    ck_assert_str_eq(b.buf, "{\"customer_id\":\"c\\\"1\",\"as_of_ms\":86400000,\"recency_days\":1,"
                            "\"frequency\":1,\"total_spent\":0.10000000000000001,"
                            "\"avg_order\":0.10000000000000001,\"order_std\":0,"
                            "\"days_since_first_order\":0,\"purchase_frequency\":1,"
                            "\"recent_orders_30d\":1,\"return_count\":0,\"return_amount\":0}");
    ss_buf_release(&b);
    rfm_state_t r = RFM_STATE_INIT;
    rfm_apply_return(&r, 0, 1.0);
    rfm_features(&r, 0, &f);
    rfm_features_json("x", &f, &b);
    ck_assert_ptr_nonnull(strstr(b.buf, "\"recency_days\":null"));
    ss_buf_release(&b);
    rfm_state_release(&st);
    rfm_state_release(&r);
}
END_TEST

START_TEST(parse_time_forms) {
    ss_err_t err = SS_ERR_INIT;
    int64_t t = 0;
    ck_assert_int_eq(rfm_parse_time("1323435000000", &t, &err), 0);
    ck_assert_int_eq(t, INT64_C(1323435000000));
    ck_assert_int_eq(rfm_parse_time("2011-12-09", &t, &err), 0);
    ck_assert_int_eq(t, INT64_C(1323388800000));
    ck_assert_int_eq(rfm_parse_time("2011-12-09T12:50:00Z", &t, &err), 0);
    ck_assert_int_eq(t, INT64_C(1323435000000));
    ck_assert_int_eq(rfm_parse_time("2011-12-09 12:50", &t, &err), 0);
    ck_assert_int_eq(t, INT64_C(1323435000000));
    ck_assert_int_eq(rfm_parse_time("2011-12-09T12:50:00.25Z", &t, &err), 0);
    ck_assert_int_eq(t, INT64_C(1323435000250));
    ck_assert_int_eq(rfm_parse_time("2011-13-09", &t, &err), SS_ERR_INVAL);
    ck_assert_int_eq(rfm_parse_time("yesterday", &t, &err), SS_ERR_INVAL);
    ck_assert_int_eq(rfm_parse_time("2011-12-09T12:50+01:00", &t, &err), SS_ERR_INVAL);
}
END_TEST

Suite *rfm_suite(void) {
    Suite *s = suite_create("rfm");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, single_order_std_zero);
    tcase_add_test(tc, three_orders_formulas);
    tcase_add_test(tc, out_of_order_equals_in_order);
    tcase_add_test(tc, later_as_of_ages_features);
    tcase_add_test(tc, returns_do_not_count_as_purchases);
    tcase_add_test(tc, std_is_stable_for_large_amounts);
    tcase_add_test(tc, floor_days_negative);
    tcase_add_test(tc, state_encoding_roundtrip);
    tcase_add_test(tc, json_line);
    tcase_add_test(tc, parse_time_forms);
    suite_add_tcase(s, tc);
    return s;
}
