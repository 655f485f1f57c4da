/* Suite "replay": CSV -> Transaction parsing rules of tools/replay (rcsv), on literal snippets,
 * plus the full-file accounting of the UCI Online Retail file when ../shared is present. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "replay_csv.h"
#include "replay_input.h"
#include "ss_test.h"
#include "ss_txn.h"

#define MAX_REJ 64

typedef struct rejects {
    size_t n;
    uint64_t line[MAX_REJ];
    rcsv_reason_t reason[MAX_REJ];
    char msg[MAX_REJ][160];
} rejects_t;

static void on_reject(const rcsv_reject_t *rej, void *opaque) {
    rejects_t *rj = opaque;
    if (rj->n < MAX_REJ) {
        rj->line[rj->n] = rej->line;
        rj->reason[rj->n] = rej->reason;
        snprintf(rj->msg[rj->n], sizeof(rj->msg[0]), "%s", rej->message);
    }
    rj->n++;
}

/* Parses text fed in chunks of `chunk` bytes (0 = all at once) and finishes. */
static rcsv_t *parse(rcsv_format_t fmt, const char *text, size_t chunk, rejects_t *rj) {
    memset(rj, 0, sizeof(*rj));
    rcsv_opts_t o = {.format = fmt, .on_reject = on_reject, .opaque = rj};
    rcsv_t *r = rcsv_new(&o);
    ss_err_t err = SS_ERR_INIT;
    size_t n = strlen(text);
    if (chunk == 0)
        chunk = n ? n : 1;
    for (size_t off = 0; off < n; off += chunk) {
        size_t k = n - off < chunk ? n - off : chunk;
        ck_assert_msg(rcsv_feed(r, text + off, k, &err) == 0, "feed: %s", err.msg);
    }
    ck_assert_msg(rcsv_finish(r, &err) == 0, "finish: %s", err.msg);
    const rcsv_stats_t *st = rcsv_stats(r);
    ck_assert_uint_eq(st->rows_read, st->rows_in_orders + st->rows_rejected);
    ck_assert_uint_eq(st->orders, st->purchases + st->returns);
    ck_assert_uint_eq(st->orders, rcsv_count(r));
    return r;
}

#define OR_HEADER                                                                                  \
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"

START_TEST(or_cancellation_is_return_with_positive_units) {
    rejects_t rj;
    rcsv_t *r = parse(RCSV_ONLINE_RETAIL,
                      OR_HEADER "C536379,D,Discount,-1,2010-12-01 09:41:00,27.5,14527.0,United "
                                "Kingdom\nC536379,22556,PLASTERS,-12,2010-12-01 09:41:00,1.65,"
                                "14527.0,United Kingdom\n",
                      0, &rj);
    ck_assert_uint_eq(rj.n, 0);
    ck_assert_uint_eq(rcsv_count(r), 1);
    ss_txn_t t = SS_TXN_INIT;
    rcsv_get(r, 0, &t);
    ck_assert_str_eq(t.order_id, "C536379");
    ck_assert_int_eq(t.kind, SS_TXN_RETURN);
    ck_assert_uint_eq(t.n_lines, 2);
    ck_assert_int_eq(t.lines[0].quantity, 1);
    ck_assert_int_eq(t.lines[1].quantity, 12);
    ck_assert_str_eq(t.lines[1].product_id, "22556");
    ck_assert_double_eq_tol(t.lines[1].unit_price, 1.65, 1e-9);
    ck_assert_str_eq(t.currency, "GBP");
    ck_assert_uint_eq(rcsv_stats(r)->returns, 1);
    ss_err_t err = SS_ERR_INIT;
    ck_assert_msg(ss_txn_validate(&t, NULL, &err) == 0, "%s", err.msg);
    ss_txn_release(&t);
    rcsv_destroy(r);
}
END_TEST

START_TEST(or_adjustment_invoice_rejected_with_line) {
    rejects_t rj;
    rcsv_t *r = parse(RCSV_ONLINE_RETAIL,
                      OR_HEADER "536365,85123A,HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United "
                                "Kingdom\nA563185,B,Adjust bad debt,1,2011-08-12 14:50:00,11062.06,"
                                ",United Kingdom\nA563186,B,Adjust bad debt,1,2011-08-12 14:51:00,"
                                "-11062.06,,United Kingdom\n",
                      0, &rj);
    ck_assert_uint_eq(rj.n, 2);
    ck_assert_uint_eq(rj.line[0], 3);
    ck_assert_uint_eq(rj.line[1], 4);
    ck_assert_int_eq(rj.reason[0], RCSV_R_ADJUSTMENT);
    ck_assert_int_eq(rj.reason[1], RCSV_R_ADJUSTMENT);
    ck_assert_ptr_nonnull(strstr(rj.msg[0], "A563185"));
    ck_assert_uint_eq(rcsv_count(r), 1);
    ck_assert_uint_eq(rcsv_stats(r)->by_reason[RCSV_R_ADJUSTMENT], 2);
    ck_assert_str_eq(rcsv_reason_name(RCSV_R_ADJUSTMENT), "adjustment");
    rcsv_destroy(r);
}
END_TEST

START_TEST(or_customer_float_and_anonymous) {
    rejects_t rj;
    rcsv_t *r =
        parse(RCSV_ONLINE_RETAIL,
              OR_HEADER "536365,85123A,HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United "
                        "Kingdom\n536414,22139,,56,2010-12-01 11:52:00,0.0,,United "
                        "Kingdom\n536415,22139,X,1,2010-12-01 11:53:00,1.0,17850.5,France\n",
              0, &rj);
    ck_assert_uint_eq(rcsv_count(r), 2);
    ss_txn_t t = SS_TXN_INIT;
    rcsv_get(r, 0, &t);
    ck_assert_int_eq(t.has_customer, 1);
    ck_assert_str_eq(t.customer_id, "17850");
    ck_assert_str_eq(t.store_id, "United Kingdom");
    rcsv_get(r, 1, &t);
    ck_assert_int_eq(t.has_customer, 0);
    ck_assert_str_eq(t.customer_id, "");
    /* price 0 with positive quantity is a valid line */
    ck_assert_double_eq(t.lines[0].unit_price, 0.0);
    ck_assert_uint_eq(rcsv_stats(r)->anonymous, 1);
    /* a customer id with a fraction is not an id */
    ck_assert_uint_eq(rj.n, 1);
    ck_assert_int_eq(rj.reason[0], RCSV_R_CUSTOMER);
    ck_assert_uint_eq(rj.line[0], 4);
    ss_txn_release(&t);
    rcsv_destroy(r);
}
END_TEST

START_TEST(or_non_adjacent_rows_merge_timed_by_first) {
    rejects_t rj;
    const char *csv = OR_HEADER "536365,A1,x,1,2010-12-01 08:26:00,1.0,17850.0,United Kingdom\n"
                                "536366,B1,x,2,2010-12-01 08:27:00,1.0,17851.0,United Kingdom\n"
                                "536365,A2,x,3,2010-12-01 08:28:00,2.0,17850.0,United Kingdom\n"
                                "536367,C1,x,4,2010-12-01 08:27:30,1.0,,France\n";
    for (size_t chunk = 0; chunk < 12; chunk += 5) {
        rcsv_t *r = parse(RCSV_ONLINE_RETAIL, csv, chunk, &rj);
        ck_assert_uint_eq(rj.n, 0);
        ck_assert_uint_eq(rcsv_count(r), 3);
        ss_txn_t t = SS_TXN_INIT;
        rcsv_get(r, 0, &t);
        ck_assert_str_eq(t.order_id, "536365");
        ck_assert_uint_eq(t.n_lines, 2);
        ck_assert_str_eq(t.lines[0].product_id, "A1");
        ck_assert_str_eq(t.lines[1].product_id, "A2");
        ck_assert_int_eq(t.lines[1].quantity, 3);
        /* 2010-12-01 08:26:00 UTC */
        ck_assert_int_eq(t.event_time_ms, 1291191960000LL);
        ck_assert_uint_eq(rcsv_line(r, 0), 2);
        rcsv_get(r, 1, &t);
        ck_assert_str_eq(t.order_id, "536366");
        rcsv_get(r, 2, &t);
        ck_assert_str_eq(t.order_id, "536367");
        ck_assert_str_eq(t.store_id, "France");
        ck_assert_uint_eq(rcsv_stats(r)->rows_in_orders, 4);
        ss_txn_release(&t);
        rcsv_destroy(r);
    }
}
END_TEST

START_TEST(or_quoted_descriptions) {
    rejects_t rj;
    rcsv_t *r =
        parse(RCSV_ONLINE_RETAIL,
              OR_HEADER "536365,21,\"SET 2 TEA TOWELS, I LOVE LONDON\",1,2010-12-01 "
                        "08:26:00,2.95,17850.0,United Kingdom\n536365,22,\"LETTER \"\"D\"\" "
                        "BLING, KEY RING\",2,2010-12-01 08:26:00,1.25,17850.0,United "
                        "Kingdom\n536365,23,\"bad, row\",zero,2010-12-01 08:26:00,1.25,"
                        "17850.0,United Kingdom\n",
              0, &rj);
    ck_assert_uint_eq(rcsv_count(r), 1);
    ss_txn_t t = SS_TXN_INIT;
    rcsv_get(r, 0, &t);
    ck_assert_uint_eq(t.n_lines, 2);
    ck_assert_str_eq(t.lines[1].product_id, "22");
    ck_assert_int_eq(t.lines[1].quantity, 2);
    ck_assert_uint_eq(rj.n, 1);
    ck_assert_uint_eq(rj.line[0], 4);
    ck_assert_int_eq(rj.reason[0], RCSV_R_QUANTITY);
    ss_txn_release(&t);
    rcsv_destroy(r);
}
END_TEST

START_TEST(or_write_offs_and_bad_rows_reported_by_line) {
    rejects_t rj;
    rcsv_t *r = parse(
        RCSV_ONLINE_RETAIL,
        OR_HEADER
        "536365,A1,x,1,2010-12-01 08:26:00,1.0,17850.0,United Kingdom\n"     /* 2 ok */
        "536589,21777,damaged,-10,2010-12-01 16:50:00,0.0,,United Kingdom\n" /* 3 write-off */
        "C536390,22941,x,5,2010-12-01 10:19:00,1.0,17511.0,United Kingdom\n" /* 4 cancel-sign */
        "536365,A2,x,1,2010-12-01 08:26:00,-1.0,17850.0,United Kingdom\n"    /* 5 price */
        "536365,A3,x,1,2010-13-01 08:26:00,1.0,17850.0,United Kingdom\n"     /* 6 time */
        "536365,A4,x,1,2010-12-01 08:26:00,1.0,17850.0\n"                    /* 7 fields */
        "536365,A5,x,1,2010-12-01 08:26:00,1.0,17851.0,United Kingdom\n"     /* 8 conflict */
        "536365,,x,1,2010-12-01 08:26:00,1.0,17850.0,United Kingdom\n"       /* 9 product */
        "536365,A6,x,1,2010-12-01 08:26:00,nan,17850.0,United Kingdom\n"     /* 10 price */
        "536365,A7,x,1,2010-12-01 08:26:00,1.0,17850.0,\n",                  /* 11 store */
        0, &rj);
    ck_assert_uint_eq(rcsv_count(r), 1);
    ck_assert_uint_eq(rj.n, 9);
    static const rcsv_reason_t want[] = {RCSV_R_WRITE_OFF, RCSV_R_CANCEL_SIGN, RCSV_R_PRICE,
                                         RCSV_R_TIME,      RCSV_R_FIELDS,      RCSV_R_CONFLICT,
                                         RCSV_R_PRODUCT,   RCSV_R_PRICE,       RCSV_R_STORE};
    for (size_t i = 0; i < 9; i++) {
        ck_assert_uint_eq(rj.line[i], i + 3);
        ck_assert_msg(rj.reason[i] == want[i], "line %zu: reason %s (%s)", i + 3,
                      rcsv_reason_name(rj.reason[i]), rj.msg[i]);
    }
    ck_assert_ptr_nonnull(strstr(rj.msg[0], "536589"));
    const rcsv_stats_t *st = rcsv_stats(r);
    ck_assert_uint_eq(st->rows_read, 10);
    ck_assert_uint_eq(st->rows_in_orders, 1);
    ck_assert_uint_eq(st->rows_rejected, 9);
    rcsv_destroy(r);
}
END_TEST

START_TEST(or_wrong_header_is_an_error) {
    rcsv_opts_t o = {.format = RCSV_ONLINE_RETAIL};
    rcsv_t *r = rcsv_new(&o);
    ss_err_t err = SS_ERR_INIT;
    const char *csv = "date,store,item,sales\n2013-01-01,1,1,13\n";
    ck_assert_int_eq(rcsv_feed(r, csv, strlen(csv), &err), SS_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "unexpected header"));
    ss_err_t err2 = SS_ERR_INIT;
    ck_assert_int_eq(rcsv_finish(r, &err2), SS_ERR_INVAL);
    ck_assert_uint_eq(rcsv_count(r), 0);
    rcsv_destroy(r);
}
END_TEST

START_TEST(native_rows_grouped_and_sorted) {
    rejects_t rj;
    const char *csv =
        "order_id,customer_id,store_id,event_time,kind,product_id,quantity,unit_price,currency\n"
        "o2,c1,s1,2024-01-02T10:00:00Z,purchase,p1,2,3.5,EUR\n"
        "o2,c1,s1,2024-01-02T10:00:00Z,purchase,p2,1,1.25,EUR\n"
        "o1,,s2,1704103200000,return,p3,4,2,EUR\n"
        "o3,c2,s1,2024-01-03 09:30:15.250,purchase,p1,0,3.5,EUR\n"
        "o3,c2,s1,2024-01-03 09:30:15.250,sale,p1,1,3.5,EUR\n"
        "o2,c1,s1,2024-01-02T10:00:01Z,purchase,p3,1,1,EUR\n"
        "o4,c2,s1,2024-01-03T09:30:15.250Z,purchase,p1,1,3.5,EU\n"
        "o5,c2,s1,2024-01-04T00:00:00Z,purchase,p1,1,3.5,EUR";
    rcsv_t *r = parse(RCSV_NATIVE, csv, 7, &rj);
    ck_assert_uint_eq(rcsv_count(r), 3);
    ss_txn_t t = SS_TXN_INIT;
    rcsv_get(r, 0, &t);
    ck_assert_str_eq(t.order_id, "o1"); /* 2024-01-01T10:00:00Z, earlier than o2 */
    ck_assert_int_eq(t.kind, SS_TXN_RETURN);
    ck_assert_int_eq(t.has_customer, 0);
    ck_assert_int_eq(t.event_time_ms, 1704103200000LL);
    rcsv_get(r, 1, &t);
    ck_assert_str_eq(t.order_id, "o2");
    ck_assert_uint_eq(t.n_lines, 2);
    ck_assert_str_eq(t.currency, "EUR");
    ck_assert_double_eq_tol(ss_txn_amount(&t), 8.25, 1e-9);
    rcsv_get(r, 2, &t);
    ck_assert_str_eq(t.order_id, "o5"); /* no newline at the end */
    ck_assert_uint_eq(rj.n, 4);
    ck_assert_int_eq(rj.reason[0], RCSV_R_QUANTITY);
    ck_assert_uint_eq(rj.line[0], 5);
    ck_assert_int_eq(rj.reason[1], RCSV_R_KIND);
    ck_assert_int_eq(rj.reason[2], RCSV_R_CONFLICT); /* event time differs */
    ck_assert_uint_eq(rj.line[2], 7);
    ck_assert_int_eq(rj.reason[3], RCSV_R_CURRENCY);
    ss_txn_release(&t);
    rcsv_destroy(r);
}
END_TEST

/* A byte order mark is dropped however the input is split across feeds (the replay tool reads
 * the first two bytes on their own to sniff gzip); a partial BOM-like prefix stays data. */
START_TEST(bom_split_over_feeds_is_dropped) {
    static const char text[] =
        "\xEF\xBB\xBF" OR_HEADER
        "536365,85123A,X,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n";
    for (size_t chunk = 1; chunk <= 5; chunk++) {
        rejects_t rj;
        rcsv_t *r = parse(RCSV_ONLINE_RETAIL, text, chunk, &rj);
        ck_assert_uint_eq(rj.n, 0);
        ck_assert_uint_eq(rcsv_count(r), 1);
        rcsv_destroy(r);
    }
    /* Two BOMs: only the first is a BOM; the second makes the header wrong. */
    rcsv_opts_t o = {.format = RCSV_ONLINE_RETAIL};
    rcsv_t *r = rcsv_new(&o);
    ss_err_t err = SS_ERR_INIT;
    const char twice[] = "\xEF\xBB\xBF\xEF\xBB\xBF" OR_HEADER;
    int rc = rcsv_feed(r, twice, 3, &err);
    if (rc == 0)
        rc = rcsv_feed(r, twice + 3, strlen(twice) - 3, &err);
    if (rc == 0)
        rc = rcsv_finish(r, &err);
    ck_assert_int_eq(rc, SS_ERR_INVAL);
    rcsv_destroy(r);
}
END_TEST

START_TEST(native_header_optional_and_crlf) {
    rejects_t rj;
    rcsv_t *r = parse(RCSV_NATIVE,
                      "a,c,s,2024-01-01T00:00:00Z,purchase,p,1,1.0,GBP\r\n"
                      "\r\n"
                      "b,c,s,2024-01-01T00:00:00Z,purchase,\"p,q\",1,1.0,GBP\r\n",
                      3, &rj);
    ck_assert_uint_eq(rj.n, 0);
    ck_assert_uint_eq(rcsv_count(r), 2);
    ss_txn_t t = SS_TXN_INIT;
    rcsv_get(r, 1, &t);
    ck_assert_str_eq(t.lines[0].product_id, "p,q");
    ck_assert_str_eq(t.currency, "GBP");
    ss_txn_release(&t);
    rcsv_destroy(r);
}
END_TEST

START_TEST(store_item_sorted_by_date) {
    rejects_t rj;
    rcsv_t *r = parse(RCSV_STORE_ITEM,
                      "date,store,item,sales\n"
                      "2013-01-02,1,1,11\n"
                      "2013-01-01,1,1,13\n"
                      "2014-01-15,6,4,0\n"
                      "2013-01-01,2,1,12\n"
                      "2013-01-01,1,2,33\n"
                      "2013-01-01,1,1,99\n"
                      "2013-02-30,1,1,1\n",
                      0, &rj);
    ck_assert_uint_eq(rcsv_count(r), 4);
    ss_txn_t t = SS_TXN_INIT;
    rcsv_get(r, 0, &t);
    ck_assert_str_eq(t.order_id, "si-2013-01-01-1-1");
    ck_assert_int_eq(t.has_customer, 0);
    ck_assert_str_eq(t.store_id, "1");
    ck_assert_str_eq(t.lines[0].product_id, "1");
    ck_assert_int_eq(t.lines[0].quantity, 13);
    ck_assert_double_eq(t.lines[0].unit_price, 1.0);
    ck_assert_str_eq(t.currency, "USD");
    ck_assert_int_eq(t.event_time_ms, 1356998400000LL);
    rcsv_get(r, 1, &t);
    ck_assert_str_eq(t.order_id, "si-2013-01-01-2-1");
    rcsv_get(r, 2, &t);
    ck_assert_str_eq(t.order_id, "si-2013-01-01-1-2");
    rcsv_get(r, 3, &t);
    ck_assert_str_eq(t.order_id, "si-2013-01-02-1-1");
    ck_assert_uint_eq(rj.n, 3);
    ck_assert_int_eq(rj.reason[0], RCSV_R_ZERO_SALES);
    ck_assert_uint_eq(rj.line[0], 4);
    ck_assert_int_eq(rj.reason[1], RCSV_R_CONFLICT);
    ck_assert_uint_eq(rj.line[1], 7);
    ck_assert_int_eq(rj.reason[2], RCSV_R_TIME);
    ss_txn_release(&t);
    rcsv_destroy(r);
}
END_TEST

START_TEST(store_item_price_option) {
    rejects_t rj;
    memset(&rj, 0, sizeof(rj));
    rcsv_opts_t o = {.format = RCSV_STORE_ITEM, .item_price = 2.5, .currency = "EUR"};
    rcsv_t *r = rcsv_new(&o);
    const char *csv = "date,store,item,sales\n2013-01-01,1,1,4\n";
    ck_assert_int_eq(rcsv_feed(r, csv, strlen(csv), NULL), 0);
    ck_assert_int_eq(rcsv_finish(r, NULL), 0);
    ss_txn_t t = SS_TXN_INIT;
    rcsv_get(r, 0, &t);
    ck_assert_double_eq(ss_txn_amount(&t), 10.0);
    ck_assert_str_eq(t.currency, "EUR");
    ss_txn_release(&t);
    rcsv_destroy(r);
}
END_TEST

START_TEST(time_parse_and_format) {
    int64_t ms;
    ck_assert_int_eq(rcsv_parse_time("2011-12-09 12:50:00", &ms, NULL), 0);
    ck_assert_int_eq(ms, 1323435000000LL);
    ck_assert_int_eq(rcsv_parse_time("2011-12-09T12:50:00.5Z", &ms, NULL), 0);
    ck_assert_int_eq(ms, 1323435000500LL);
    ck_assert_int_eq(rcsv_parse_time("2000-02-29", &ms, NULL), 0);
    ck_assert_int_eq(ms, 951782400000LL);
    ck_assert_int_eq(rcsv_parse_time("1323435000123", &ms, NULL), 0);
    ck_assert_int_eq(ms, 1323435000123LL);
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(rcsv_parse_time("2011-02-29", &ms, &err), SS_ERR_INVAL);
    ck_assert_str_eq(err.msg, "invalid time '2011-02-29'");
    ck_assert_int_eq(rcsv_parse_time("2011-12-09 12:50:00+01:00", &ms, NULL), SS_ERR_INVAL);
    ck_assert_int_eq(rcsv_parse_time("12x", &ms, NULL), SS_ERR_INVAL);
    char buf[32];
    rcsv_format_time(1323435000123LL, buf, sizeof(buf));
    ck_assert_str_eq(buf, "2011-12-09T12:50:00.123Z");
    rcsv_format_time(0, buf, sizeof(buf));
    ck_assert_str_eq(buf, "1970-01-01T00:00:00.000Z");
}
END_TEST

static size_t read_all(rin_t *in, char *buf, size_t cap) {
    size_t len = 0;
    ssize_t n;
    ss_err_t err = SS_ERR_INIT;
    while ((n = rin_read(in, buf + len, cap - len, &err)) > 0)
        len += (size_t)n;
    ck_assert_msg(n == 0, "%s", err.msg);
    return len;
}

START_TEST(input_plain_gzip_and_corrupt) {
    char dir[] = "/tmp/ss-replay-test.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char plain[128], gz[128], bad[128], cmd[512];
    snprintf(plain, sizeof(plain), "%s/a.csv", dir);
    snprintf(gz, sizeof(gz), "%s/a.csv.gz", dir);
    snprintf(bad, sizeof(bad), "%s/bad.gz", dir);
    FILE *f = fopen(plain, "w");
    fputs("date,store,item,sales\n2013-01-01,1,1,13\n", f);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "gzip -c '%s' > '%s'", plain, gz);
    ck_assert_int_eq(system(cmd), 0);
    f = fopen(bad, "w");
    fputs("\x1f\x8b\x08garbage that is not deflate", f);
    fclose(f);

    char buf[256];
    ss_err_t err = SS_ERR_INIT;
    rin_t *in = rin_open(plain, &err);
    ck_assert_ptr_nonnull(in);
    ck_assert_int_eq(rin_compressed(in), 0);
    ck_assert_uint_eq(read_all(in, buf, sizeof(buf)), 40);
    ck_assert_int_eq(rin_close(in, &err), 0);

    in = rin_open(gz, &err);
    ck_assert_ptr_nonnull(in);
    ck_assert_int_eq(rin_compressed(in), 1);
    size_t n = read_all(in, buf, sizeof(buf));
    ck_assert_uint_eq(n, 40);
    ck_assert_int_eq(memcmp(buf, "date,store,item,sales\n2013", 26), 0);
    ck_assert_int_eq(rin_close(in, &err), 0);

    in = rin_open(bad, &err);
    ck_assert_ptr_nonnull(in);
    read_all(in, buf, sizeof(buf));
    ck_assert_int_eq(rin_close(in, &err), SS_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "gzip -dc"));

    ss_err_t err2 = SS_ERR_INIT;
    ck_assert_ptr_null(rin_open("/nonexistent/x.csv", &err2));
    ck_assert_str_eq(err2.msg, "cannot open '/nonexistent/x.csv': No such file or directory");
    unlink(plain);
    unlink(gz);
    unlink(bad);
    rmdir(dir);
}
END_TEST

/* Full UCI file: 541,909 rows; 3 adjustment rows and 1,336 write-offs rejected; 24,561 orders of
 * which 3,836 returns (checked independently with pandas). */
START_TEST(online_retail_full_file_accounting) {
    const char *shared = ss_test_shared_dir();
    if (!shared) {
        printf("replay: ../shared absent, skipping the full online-retail accounting\n");
        return;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/data/online_retail.csv.gz", shared);
    ss_err_t err = SS_ERR_INIT;
    rin_t *in = rin_open(path, &err);
    if (!in) {
        printf("replay: %s, skipping the full online-retail accounting\n", err.msg);
        return;
    }
    rcsv_opts_t o = {.format = RCSV_ONLINE_RETAIL};
    rcsv_t *r = rcsv_new(&o);
    char buf[1 << 16];
    ssize_t n;
    while ((n = rin_read(in, buf, sizeof(buf), &err)) > 0)
        ck_assert_int_eq(rcsv_feed(r, buf, (size_t)n, &err), 0);
    ck_assert_msg(n == 0, "%s", err.msg);
    ck_assert_msg(rin_close(in, &err) == 0, "%s", err.msg);
    ck_assert_msg(rcsv_finish(r, &err) == 0, "%s", err.msg);
    const rcsv_stats_t *st = rcsv_stats(r);
    ck_assert_uint_eq(st->rows_read, 541909);
    ck_assert_uint_eq(st->rows_rejected, 1339);
    ck_assert_uint_eq(st->by_reason[RCSV_R_ADJUSTMENT], 3);
    ck_assert_uint_eq(st->by_reason[RCSV_R_WRITE_OFF], 1336);
    ck_assert_uint_eq(st->rows_in_orders, 541909 - 1339);
    ck_assert_uint_eq(st->orders, 24561);
    ck_assert_uint_eq(st->returns, 3836);
    ck_assert_uint_eq(st->purchases, 24561 - 3836);
    /* event-time order, first and last invoice */
    ss_txn_t t = SS_TXN_INIT;
    rcsv_get(r, 0, &t);
    ck_assert_str_eq(t.order_id, "536365");
    int64_t prev = 0;
    for (size_t i = 0; i < rcsv_count(r); i += 97) {
        rcsv_get(r, i, &t);
        ck_assert_int_ge(t.event_time_ms, prev);
        prev = t.event_time_ms;
    }
    rcsv_get(r, rcsv_count(r) - 1, &t);
    ck_assert_int_eq(t.event_time_ms, 1323435000000LL); /* 2011-12-09 12:50:00 */
    ss_txn_release(&t);
    rcsv_destroy(r);
}
END_TEST

Suite *replay_suite(void) {
    Suite *s = suite_create("replay");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, or_cancellation_is_return_with_positive_units);
    tcase_add_test(tc, bom_split_over_feeds_is_dropped);
    tcase_add_test(tc, or_adjustment_invoice_rejected_with_line);
    tcase_add_test(tc, or_customer_float_and_anonymous);
    tcase_add_test(tc, or_non_adjacent_rows_merge_timed_by_first);
    tcase_add_test(tc, or_quoted_descriptions);
    tcase_add_test(tc, or_write_offs_and_bad_rows_reported_by_line);
    tcase_add_test(tc, or_wrong_header_is_an_error);
    tcase_add_test(tc, native_rows_grouped_and_sorted);
    tcase_add_test(tc, native_header_optional_and_crlf);
    tcase_add_test(tc, store_item_sorted_by_date);
    tcase_add_test(tc, store_item_price_option);
    tcase_add_test(tc, time_parse_and_format);
    tcase_add_test(tc, input_plain_gzip_and_corrupt);
    suite_add_tcase(s, tc);
    TCase *full = tcase_create("full-file");
    tcase_set_timeout(full, 60);
    tcase_add_test(full, online_retail_full_file_accounting);
    suite_add_tcase(s, full);
    return s;
}
