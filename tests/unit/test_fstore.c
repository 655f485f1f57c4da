/* Unit tests of fstore's pure parts (no Redis): event-time days, script reply parsing, the
 * embedded script, and ss_redis error classification. Redis itself is exercised by
 * tests/integration/test_fstore.sh. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "fcheck.h"
#include "fstore.h"
#include "ss_redis.h"

#define DAY RFM_DAY_MS

START_TEST(day_utc_and_offset) {
    char d[11];
    int64_t end;
    /* 2011-12-09 12:50:00 UTC */
    int64_t t = INT64_C(1323435000000);
    fstore_day(t, 0, d, &end);
    ck_assert_str_eq(d, "2011-12-09");
    ck_assert_int_eq(end, INT64_C(1323475200000)); /* 2011-12-10 00:00 UTC */
    /* +12h: 2011-12-10 00:50 local */
    fstore_day(t, 720, d, &end);
    ck_assert_str_eq(d, "2011-12-10");
    ck_assert_int_eq(end, INT64_C(1323475200000) + DAY - 720 * 60000);
    /* exactly midnight belongs to the new day */
    fstore_day(INT64_C(1323475200000), 0, d, &end);
    ck_assert_str_eq(d, "2011-12-10");
    /* before the epoch */
    fstore_day(-1, 0, d, &end);
    ck_assert_str_eq(d, "1969-12-31");
    ck_assert_int_eq(end, 0);
}
END_TEST

START_TEST(parse_statuses) {
    fstore_result_t r;
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(fstore_parse_result("D", 1, 0, &r, &err), 0);
    ck_assert_int_eq(r.status, FSTORE_DUPLICATE);
    ck_assert_int_eq(fstore_parse_result("C", 1, 0, &r, &err), 0);
    ck_assert_int_eq(r.status, FSTORE_CONFLICT);
    ck_assert_int_eq(fstore_parse_result("A", 1, 0, &r, &err), 0);
    ck_assert_int_eq(r.status, FSTORE_APPLIED);
    ck_assert_int_eq(r.has_features, 0);
    ck_assert_int_eq(fstore_parse_result("AL", 2, 0, &r, &err), 0);
    ck_assert_int_eq(r.late, 1);
    ck_assert_int_eq(fstore_parse_result("X", 1, 0, &r, &err), SS_ERR_INVAL);
    ck_assert_int_eq(fstore_parse_result("A|1|2", 5, 0, &r, &err), SS_ERR_INVAL);
    ck_assert_int_eq(fstore_parse_result("", 0, 0, &r, &err), SS_ERR_INVAL);
}
END_TEST

START_TEST(parse_features) {
    fstore_result_t r;
    ss_err_t err = SS_ERR_INIT;
    /* n=2 s=30 mu=15 m2=50 f=0 l=10d rn=1 ra=2.5 r30=2; order at 3 days: late arrival */
    const char *s = "A|2|30|15|50|0|864000000|1|2.5|2";
    ck_assert_int_eq(fstore_parse_result(s, strlen(s), 3 * DAY, &r, &err), 0);
    ck_assert_int_eq(r.status, FSTORE_APPLIED);
    ck_assert_int_eq(r.has_features, 1);
    ck_assert_int_eq(r.agg.n, 2);
    ck_assert_int_eq(r.agg.last_ms, 10 * DAY);
    /* as of the last purchase, not the late order's time */
    ck_assert_int_eq(r.feat.as_of_ms, 10 * DAY);
    ck_assert_int_eq(r.feat.recency_days, 0);
    ck_assert_int_eq(r.feat.days_since_first_order, 10);
    ck_assert_double_eq_tol(r.feat.order_std, 7.0710678118654755, 1e-15); /* sqrt(50 / 1) */
    ck_assert_int_eq(r.feat.recent_orders_30d, 2);
    ck_assert_double_eq(r.feat.return_amount, 2.5);
    const char *l = "AL|1|5|5|0|100|100|0|0|1";
    ck_assert_int_eq(fstore_parse_result(l, strlen(l), 200, &r, &err), 0);
    ck_assert_int_eq(r.late, 1);
    ck_assert_int_eq(r.feat.as_of_ms, 200);
}
END_TEST

START_TEST(script_is_embedded) {
    const char *src = fstore_script_source();
    ck_assert_ptr_nonnull(strstr(src, "redis.call('HMGET'"));
    ck_assert_ptr_nonnull(strstr(src, "return out"));
}
END_TEST

START_TEST(redis_error_classes) {
    ck_assert_int_eq(ss_redis_reply_class("BUSY Redis is busy running a script"), SS_ERR_RETRIABLE);
    ck_assert_int_eq(ss_redis_reply_class("LOADING Redis is loading"), SS_ERR_RETRIABLE);
    ck_assert_int_eq(ss_redis_reply_class("OOM command not allowed"), SS_ERR_RETRIABLE);
    ck_assert_int_eq(ss_redis_reply_class("READONLY You can't write"), SS_ERR_RETRIABLE);
    ck_assert_int_eq(ss_redis_reply_class("ERR Error running script"), SS_ERR_INVAL);
    ck_assert_int_eq(ss_redis_reply_class("WRONGTYPE Operation"), SS_ERR_INVAL);
    ck_assert_int_eq(ss_redis_reply_class("BUSYKEY x"), SS_ERR_INVAL);
    ck_assert_int_eq(ss_redis_reply_class(NULL), SS_ERR_INVAL);
}
END_TEST

static void one_line_txn(ss_txn_t *t, const char *oid, int64_t ms, int32_t q, double price) {
    ss_txn_clear(t);
    snprintf(t->order_id, sizeof(t->order_id), "%s", oid);
    snprintf(t->customer_id, sizeof(t->customer_id), "c1");
    t->has_customer = 1;
    snprintf(t->store_id, sizeof(t->store_id), "s1");
    snprintf(t->currency, sizeof(t->currency), "GBP");
    t->event_time_ms = ms;
    ss_txn_line_t *l = ss_txn_add_line(t);
    snprintf(l->product_id, sizeof(l->product_id), "p1");
    l->quantity = q;
    l->unit_price = price;
}

START_TEST(check_amount_and_clock) {
    fcheck_t c = {0};
    ss_txn_t t = SS_TXN_INIT;
    ss_err_t err = SS_ERR_INIT;
    int64_t t0 = INT64_C(1323435000000), now = t0 + 5000 * DAY;
    one_line_txn(&t, "o1", t0, 2, 3.5);
    ck_assert_int_eq(fcheck_txn(&c, &t, 0, now, &err), 0);
    /* 1e6 units x 1e6 is within line limits but an absurd order */
    one_line_txn(&t, "o2", t0, 1000000, 1e6);
    ck_assert_int_eq(fcheck_txn(&c, &t, 0, now, &err), SS_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "amount"));
    /* 100 days ahead of partition 0's clock: invalid; the clock does not move */
    one_line_txn(&t, "o3", t0 + 100 * DAY, 1, 1.0);
    ck_assert_int_eq(fcheck_txn(&c, &t, 0, now, &err), SS_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "ahead of the stream clock"));
    /* a 12-day holiday gap is fine */
    one_line_txn(&t, "o3b", t0 + 12 * DAY, 1, 1.0);
    ck_assert_int_eq(fcheck_txn(&c, &t, 0, now, &err), 0);
    /* partition 1 starts a year behind partition 0 (a backlog): fine */
    one_line_txn(&t, "o4", t0 - 365 * DAY, 1, 1.0);
    ck_assert_int_eq(fcheck_txn(&c, &t, 1, now, &err), 0);
    /* 500 days behind its partition's clock: invalid */
    one_line_txn(&t, "o5", t0 - 500 * DAY, 1, 1.0);
    ck_assert_int_eq(fcheck_txn(&c, &t, 0, now, &err), SS_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "behind"));
    /* the first event of a partition 500 days behind the others: valid (a backfill, a restart:
     * partitions are far apart); then that partition's own clock applies */
    ck_assert_int_eq(fcheck_txn(&c, &t, 7, now, &err), 0);
    one_line_txn(&t, "o5b", t0 - 1000 * DAY, 1, 1.0);
    ck_assert_int_eq(fcheck_txn(&c, &t, 7, now, &err), SS_ERR_INVAL);
    /* beyond the wall clock */
    one_line_txn(&t, "o6", now + 91 * DAY, 1, 1.0);
    ck_assert_int_eq(fcheck_txn(&c, &t, 9, now, &err), SS_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "in the future"));
    /* ss_txn_validate runs first */
    one_line_txn(&t, "o7", t0, 0, 1.0);
    ck_assert_int_eq(fcheck_txn(&c, &t, 0, now, &err), SS_ERR_INVAL);
    ss_txn_release(&t);
    fcheck_release(&c);
}
END_TEST

START_TEST(check_key_is_customer_or_store) {
    ss_txn_t t = SS_TXN_INIT;
    ss_err_t err = SS_ERR_INIT;
    one_line_txn(&t, "o1", INT64_C(1323435000000), 1, 1.0);
    ck_assert_int_eq(fcheck_key(&t, "c1", 2, &err), 0);
    ck_assert_int_eq(fcheck_key(&t, "c10", 3, &err), SS_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "is not the order's customer_id 'c1'"));
    ck_assert_int_eq(fcheck_key(&t, "s1", 2, &err),
                     SS_ERR_INVAL); /* the store: not for a customer */
    ck_assert_int_eq(fcheck_key(&t, NULL, 0, &err), SS_ERR_INVAL);
    ck_assert_int_eq(fcheck_key(&t, "c", 1, &err), SS_ERR_INVAL);
    t.has_customer = 0; /* anonymous: keyed by store */
    t.customer_id[0] = '\0';
    ck_assert_int_eq(fcheck_key(&t, "s1", 2, &err), 0);
    ck_assert_int_eq(fcheck_key(&t, "", 0, &err), SS_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "store_id 's1'"));
    ss_txn_release(&t);
}
END_TEST

Suite *fstore_suite(void) {
    Suite *s = suite_create("fstore");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, day_utc_and_offset);
    tcase_add_test(tc, parse_statuses);
    tcase_add_test(tc, parse_features);
    tcase_add_test(tc, script_is_embedded);
    tcase_add_test(tc, redis_error_classes);
    tcase_add_test(tc, check_amount_and_clock);
    tcase_add_test(tc, check_key_is_customer_or_store);
    suite_add_tcase(s, tc);
    return s;
}
