#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ss_txn.h"

/* 2011-12-09 12:50:00 UTC, an Online Retail II timestamp */
#define T0 1323435000000LL

static void fill(ss_txn_t *t) {
    ss_txn_clear(t);
    snprintf(t->order_id, sizeof(t->order_id), "581587");
    snprintf(t->customer_id, sizeof(t->customer_id), "12680");
    t->has_customer = 1;
    snprintf(t->store_id, sizeof(t->store_id), "France");
    t->event_time_ms = T0;
    t->kind = SS_TXN_PURCHASE;
    snprintf(t->currency, sizeof(t->currency), "GBP");
    ss_txn_line_t *l = ss_txn_add_line(t);
    snprintf(l->product_id, sizeof(l->product_id), "22613");
    l->quantity = 12;
    l->unit_price = 0.85;
    l = ss_txn_add_line(t);
    snprintf(l->product_id, sizeof(l->product_id), "23256");
    l->quantity = 4;
    l->unit_price = 4.15;
}

START_TEST(lines_grow_and_clear_keeps_memory) {
    ss_txn_t t = SS_TXN_INIT;
    for (int i = 0; i < 100; i++)
        ss_txn_add_line(&t)->quantity = i;
    ck_assert_uint_eq(t.n_lines, 100);
    ck_assert_int_eq(t.lines[99].quantity, 99);
    size_t cap = t.cap_lines;
    ss_txn_clear(&t);
    ck_assert_uint_eq(t.n_lines, 0);
    ck_assert_uint_eq(t.cap_lines, cap);
    ss_txn_line_t *l = ss_txn_add_line(&t);
    ck_assert_int_eq(l->quantity, 0); /* zeroed */
    ss_txn_release(&t);
    ck_assert_ptr_null(t.lines);
    ck_assert_uint_eq(t.cap_lines, 0);
}
END_TEST

START_TEST(copy_and_amount) {
    ss_txn_t a = SS_TXN_INIT, b = SS_TXN_INIT;
    fill(&a);
    ss_txn_add_line(&b);
    ss_txn_copy(&b, &a);
    ck_assert_ptr_ne(a.lines, b.lines);
    ck_assert_uint_eq(b.n_lines, 2);
    ck_assert_str_eq(b.lines[1].product_id, "23256");
    ck_assert_str_eq(b.order_id, "581587");
    ck_assert(fabs(ss_txn_amount(&b) - (12 * 0.85 + 4 * 4.15)) < 1e-9);
    ck_assert_uint_eq(ss_txn_fingerprint(&a), ss_txn_fingerprint(&b));
    ss_txn_release(&a);
    ss_txn_release(&b);
}
END_TEST

START_TEST(fingerprint_is_stable_and_sensitive) {
    ss_txn_t a = SS_TXN_INIT, b = SS_TXN_INIT;
    fill(&a);
    uint64_t h = ss_txn_fingerprint(&a);
    /* pinned (checked with an independent Python FNV-1a): compared across processes/versions */
    ck_assert_uint_eq(h, 0x48264b23392a434cULL);
#define CHANGED(stmt)                                                                              \
    do {                                                                                           \
        ss_txn_copy(&b, &a);                                                                       \
        stmt;                                                                                      \
        ck_assert_uint_ne(ss_txn_fingerprint(&b), h);                                              \
    } while (0)
    CHANGED(b.order_id[0] = '9');
    CHANGED(b.has_customer = 0);
    CHANGED(b.customer_id[1] = '3');
    CHANGED(b.store_id[0] = 'G');
    CHANGED(b.event_time_ms++);
    CHANGED(b.kind = SS_TXN_RETURN);
    CHANGED(b.currency[0] = 'E');
    CHANGED(b.n_lines = 1);
    CHANGED(b.lines[1].product_id[0] = '1');
    CHANGED(b.lines[0].quantity = 13);
    CHANGED(b.lines[0].unit_price = 0.86);
    /* moving text between adjacent fields must change it too */
    CHANGED((snprintf(b.order_id, sizeof(b.order_id), "58158"),
             snprintf(b.customer_id, sizeof(b.customer_id), "712680")));
    /* -0.0 and 0.0 are one price */
    ss_txn_copy(&b, &a);
    a.lines[0].unit_price = 0.0;
    b.lines[0].unit_price = -0.0;
    ck_assert_uint_eq(ss_txn_fingerprint(&a), ss_txn_fingerprint(&b));
    ss_txn_release(&a);
    ss_txn_release(&b);
}
END_TEST

static void expect_invalid(const ss_txn_t *t, const char *msg) {
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(ss_txn_validate(t, NULL, &err), SS_ERR_INVAL);
    ck_assert_int_eq(err.code, SS_ERR_INVAL);
    ck_assert_msg(strstr(err.msg, msg), "'%s' lacks '%s'", err.msg, msg);
}

START_TEST(validate_rules) {
    ss_txn_t t = SS_TXN_INIT;
    ss_err_t err = SS_ERR_INIT;
    fill(&t);
    ck_assert_int_eq(ss_txn_validate(&t, NULL, &err), 0);
    ck_assert_int_eq(err.code, 0);

    fill(&t), t.order_id[0] = '\0', expect_invalid(&t, "order_id is empty");
    fill(&t), snprintf(t.order_id, sizeof(t.order_id), "a\tb"),
        expect_invalid(&t, "order_id is not printable UTF-8");
    fill(&t), snprintf(t.store_id, sizeof(t.store_id), "\xc3\x28"),
        expect_invalid(&t, "store_id is not printable UTF-8");
    fill(&t), t.customer_id[0] = '\0', expect_invalid(&t, "customer_id is empty");
    fill(&t), t.has_customer = 0, expect_invalid(&t, "customer_id set on an anonymous sale");
    fill(&t), t.has_customer = 0, t.customer_id[0] = '\0';
    ck_assert_int_eq(ss_txn_validate(&t, NULL, &err), 0);
    fill(&t), t.event_time_ms = 0, expect_invalid(&t, "event_time 0 ms out of range");
    fill(&t), t.event_time_ms = 4102444800000LL, expect_invalid(&t, "event_time");
    fill(&t), t.kind = (ss_txn_kind_t)7, expect_invalid(&t, "unknown kind 7");
    fill(&t), snprintf(t.currency, sizeof(t.currency), "gbp"),
        expect_invalid(&t, "currency 'gbp' is not 3 letters");
    fill(&t), t.currency[0] = '\0', expect_invalid(&t, "currency");
    fill(&t), t.n_lines = 0, expect_invalid(&t, "no lines");
    fill(&t), t.lines[1].quantity = 0, expect_invalid(&t, "line 2: quantity 0 out of range");
    fill(&t), t.lines[0].quantity = -3, expect_invalid(&t, "line 1: quantity -3 out of range");
    fill(&t), t.lines[0].quantity = 1000001, expect_invalid(&t, "quantity 1000001");
    fill(&t), t.lines[0].unit_price = NAN, expect_invalid(&t, "line 1: unit_price");
    fill(&t), t.lines[0].unit_price = -0.01, expect_invalid(&t, "unit_price -0.01 out of range");
    fill(&t), t.lines[1].product_id[0] = '\0', expect_invalid(&t, "line 2: product_id is empty");

    /* explicit limits */
    ss_txn_limits_t lim = {.max_lines = 1, .max_quantity = 5, .max_unit_price = 1.0};
    fill(&t);
    ck_assert_int_eq(ss_txn_validate(&t, &lim, &err), SS_ERR_INVAL);
    ck_assert_str_eq(err.msg, "2 lines, more than 1");
    lim.max_lines = 0;
    ck_assert_int_eq(ss_txn_validate(&t, &lim, &err), SS_ERR_INVAL);
    ck_assert_str_eq(err.msg, "line 1: quantity 12 out of range");
    t.lines[0].quantity = 5;
    ck_assert_int_eq(ss_txn_validate(&t, &lim, &err), SS_ERR_INVAL);
    ck_assert_str_eq(err.msg, "line 2: unit_price 4.15 out of range");
    ss_txn_release(&t);
}
END_TEST

START_TEST(utf8) {
    ck_assert_int_eq(ss_utf8_valid("abc", 3), 1);
    ck_assert_int_eq(ss_utf8_valid("", 0), 1);
    ck_assert_int_eq(ss_utf8_valid("caf\xc3\xa9", 5), 1);      /* é */
    ck_assert_int_eq(ss_utf8_valid("\xe2\x82\xac", 3), 1);     /* € */
    ck_assert_int_eq(ss_utf8_valid("\xf0\x9f\x98\x80", 4), 1); /* U+1F600 */
    ck_assert_int_eq(ss_utf8_valid("\xc3", 1), 0);             /* truncated */
    ck_assert_int_eq(ss_utf8_valid("\xe2\x82", 2), 0);
    ck_assert_int_eq(ss_utf8_valid("\x80", 1), 0);             /* lone continuation */
    ck_assert_int_eq(ss_utf8_valid("\xc0\xaf", 2), 0);         /* overlong '/' */
    ck_assert_int_eq(ss_utf8_valid("\xe0\x80\xaf", 3), 0);     /* overlong */
    ck_assert_int_eq(ss_utf8_valid("\xed\xa0\x80", 3), 0);     /* surrogate */
    ck_assert_int_eq(ss_utf8_valid("\xf4\x90\x80\x80", 4), 0); /* > U+10FFFF */
    ck_assert_int_eq(ss_utf8_valid("\xff", 1), 0);
    ck_assert_int_eq(ss_utf8_valid("a\nb", 3), 0); /* control */
    ck_assert_int_eq(ss_utf8_valid("\x7f", 1), 0);
    ck_assert_int_eq(ss_utf8_valid("\xc2\x85", 2), 0); /* C1 control NEL */
    ck_assert_int_eq(ss_utf8_valid("a\0b", 3), 0);
}
END_TEST

Suite *txn_suite(void) {
    Suite *s = suite_create("txn");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, lines_grow_and_clear_keeps_memory);
    tcase_add_test(tc, copy_and_amount);
    tcase_add_test(tc, fingerprint_is_stable_and_sensitive);
    tcase_add_test(tc, validate_rules);
    tcase_add_test(tc, utf8);
    suite_add_tcase(s, tc);
    return s;
}
