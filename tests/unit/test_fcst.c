/* fcst suite: the forecaster service's pure modules - event-time days and the closed-day rule
 * with lateness and time-zone offsets, catch-up planning and done-tracking decisions, series
 * assembly from demand-hash fields (gaps, repeats, product discovery), parallel fits equal to
 * single dprep_run calls, warm-start parameter text, and the DemandForecast record. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demand_prep.h"
#include "fcst_fit.h"
#include "fcst_out.h"
#include "fcst_sched.h"
#include "fcst_series.h"
#include "fstore.h"
#include "ss_avro.h"
#include "ss_demand.h"
#include "ss_test.h"

#define DAY FCST_DAY_MS

/* ------------------------------------------------------------------ days */

START_TEST(day_text_and_parse) {
    char t[FCST_DAY_TEXT];
    int64_t d = 0;
    ss_err_t err = SS_ERR_INIT;
    fcst_day_text(0, t);
    ck_assert_str_eq(t, "1970-01-01");
    fcst_day_text(-1, t);
    ck_assert_str_eq(t, "1969-12-31");
    fcst_day_text(15706, t); /* first day of the store-item file */
    ck_assert_str_eq(t, "2013-01-01");
    ck_assert_int_eq(fcst_day_parse("2000-02-29", &d, &err), 0);
    ck_assert_int_eq(d, 11016);
    ck_assert_int_eq(fcst_day_parse("2017-12-31", &d, &err), 0);
    ck_assert_int_eq(d, 17531);
    /* every day of four centuries round-trips and is consecutive */
    for (int64_t x = -146097; x <= 146097; x++) {
        int64_t back = -999999;
        fcst_day_text(x, t);
        ck_assert_int_eq(fcst_day_parse(t, &back, &err), 0);
        ck_assert_int_eq(back, x);
    }
    const char *bad[] = {"2001-02-29",  "1900-02-29", "2021-13-01", "2021-04-31", "2021-4-01",
                         "2021-04-01x", "",           "20210401",   "2021/04/01", "2021-00-10"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ss_err_t e = SS_ERR_INIT;
        ck_assert_int_eq(fcst_day_parse(bad[i], &d, &e), SS_ERR_INVAL);
        ck_assert_msg(strstr(e.msg, "expected YYYY-MM-DD"), "%s", e.msg);
    }
    ck_assert_int_eq(fcst_day_parse(NULL, &d, NULL), SS_ERR_INVAL);
}
END_TEST

/* Our day numbers and texts are the features service's (fstore_day): the demand keys agree. */
START_TEST(days_agree_with_features_service) {
    const int offsets[] = {0, 60, -300, 330, 840, -840};
    for (size_t k = 0; k < sizeof(offsets) / sizeof(offsets[0]); k++)
        for (int64_t t = INT64_C(1356998400000) - 3 * DAY; t < INT64_C(1356998400000) + 3 * DAY;
             t += 7 * 60000 + 13) {
            char fday[11], oday[FCST_DAY_TEXT];
            int64_t fend;
            fstore_day(t, offsets[k], fday, &fend);
            int64_t d = fcst_day_of(t, offsets[k]);
            fcst_day_text(d, oday);
            ck_assert_str_eq(oday, fday);
            ck_assert_int_eq(fcst_day_end_ms(d, offsets[k]), fend);
        }
    ck_assert_int_eq(fcst_day_of(-1, 0), -1);
    ck_assert_int_eq(fcst_day_of(0, 0), 0);
    ck_assert_int_eq(fcst_day_of(DAY - 1, 0), 0);
}
END_TEST

START_TEST(parse_redis_numbers) {
    int64_t v = 0;
    ck_assert_int_eq(fcst_parse_i64("1356998400000", 13, &v), 0);
    ck_assert_int_eq(v, INT64_C(1356998400000));
    ck_assert_int_eq(fcst_parse_i64("1.3569984e+12", 13, &v), 0); /* %.17g of Lua */
    ck_assert_int_eq(v, INT64_C(1356998400000));
    ck_assert_int_eq(fcst_parse_i64("-5", 2, &v), 0);
    ck_assert_int_eq(v, -5);
    ck_assert_int_eq(fcst_parse_i64("12x", 3, &v), SS_ERR_INVAL);
    ck_assert_int_eq(fcst_parse_i64("1.5", 3, &v), SS_ERR_INVAL);
    ck_assert_int_eq(fcst_parse_i64("nan", 3, &v), SS_ERR_INVAL);
    ck_assert_int_eq(fcst_parse_i64("", 0, &v), SS_ERR_INVAL);
    ck_assert_int_eq(fcst_parse_i64("123456", 3, &v), 0); /* only len bytes count */
    ck_assert_int_eq(v, 123);
}
END_TEST

/* ------------------------------------------------------------------ closed days */

START_TEST(closed_day_needs_end_plus_lateness) {
    const int64_t h = 3600000, d = 15706; /* 2013-01-01 */
    int64_t end = (d + 1) * DAY, c = 0;
    /* at exactly end + lateness the day is closed; 1 ms earlier only the day before */
    ck_assert_int_eq(fcst_last_closed(end + h, h, 0, &c), 1);
    ck_assert_int_eq(c, d);
    ck_assert_int_eq(fcst_last_closed(end + h - 1, h, 0, &c), 1);
    ck_assert_int_eq(c, d - 1);
    /* no lateness: the first event of the next day closes it */
    ck_assert_int_eq(fcst_last_closed(end, 0, 0, &c), 1);
    ck_assert_int_eq(c, d);
    /* the watermark inside the day: the day is open */
    ck_assert_int_eq(fcst_last_closed(d * DAY + 5, 0, 0, &c), 1);
    ck_assert_int_eq(c, d - 1);
    /* a long lateness keeps several days open */
    ck_assert_int_eq(fcst_last_closed(end + 2 * DAY + 1, 3 * DAY, 0, &c), 1);
    ck_assert_int_eq(c, d - 1); /* end(d - 1) + 3 days <= wm < end(d) + 3 days */
    /* lateness < 0: never */
    ck_assert_int_eq(fcst_last_closed(end + 100 * DAY, -1, 0, &c), 0);
    /* UTC+5h30: the local day ends 5.5 h earlier in UTC */
    int64_t off = 330;
    int64_t lend = fcst_day_end_ms(d, (int)off);
    ck_assert_int_eq(lend, end - off * 60000);
    ck_assert_int_eq(fcst_last_closed(lend + h, h, (int)off, &c), 1);
    ck_assert_int_eq(c, d);
    ck_assert_int_eq(fcst_last_closed(lend + h - 1, h, (int)off, &c), 1);
    ck_assert_int_eq(c, d - 1);
    /* agrees with the features script's test for a late order: w - lateness >= dend */
    for (int64_t wm = end - 2 * h; wm < end + 3 * h; wm += 600000) {
        ck_assert_int_eq(fcst_last_closed(wm, h, 0, &c), 1);
        ck_assert_int_eq(c >= d, wm - h >= end);
    }
}
END_TEST

START_TEST(plan_latest_and_all) {
    int64_t from = -1, to = -1;
    fcst_plan_in_t in = {.first_day = 100, .last_closed = 110, .catchup = FCST_CATCHUP_LATEST};
    /* nothing done yet: latest gives the newest closed day only */
    ck_assert_int_eq(fcst_plan(&in, &from, &to), 1);
    ck_assert_int_eq(from, 110);
    ck_assert_int_eq(to, 110);
    /* all: every day from the first day with data */
    in.catchup = FCST_CATCHUP_ALL;
    ck_assert_int_eq(fcst_plan(&in, &from, &to), 11);
    ck_assert_int_eq(from, 100);
    ck_assert_int_eq(to, 110);
    /* done up to 107: all resumes at 108, latest still 110 */
    in.has_done = 1;
    in.done_day = 107;
    ck_assert_int_eq(fcst_plan(&in, &from, &to), 3);
    ck_assert_int_eq(from, 108);
    in.catchup = FCST_CATCHUP_LATEST;
    ck_assert_int_eq(fcst_plan(&in, &from, &to), 1);
    ck_assert_int_eq(from, 110);
}
END_TEST

START_TEST(done_tracking_decisions) {
    int64_t from = -7, to = -7;
    fcst_plan_in_t in = {.first_day = 100, .last_closed = 110, .has_done = 1, .done_day = 110};
    /* a restart after the day was done: nothing to redo, in either mode */
    ck_assert_int_eq(fcst_plan(&in, &from, &to), 0);
    in.catchup = FCST_CATCHUP_ALL;
    ck_assert_int_eq(fcst_plan(&in, &from, &to), 0);
    ck_assert_int_eq(from, -7); /* untouched */
    /* done ahead of the watermark (e.g. the lateness was raised): nothing, no regression */
    in.done_day = 115;
    ck_assert_int_eq(fcst_plan(&in, &from, &to), 0);
    /* the next day closes: exactly that day */
    in.done_day = 110;
    in.last_closed = 111;
    ck_assert_int_eq(fcst_plan(&in, &from, &to), 1);
    ck_assert_int_eq(from, 111);
    ck_assert_int_eq(to, 111);
    /* no closed day with data yet (watermark inside the first day) */
    fcst_plan_in_t fresh = {.first_day = 100, .last_closed = 99};
    ck_assert_int_eq(fcst_plan(&fresh, &from, &to), 0);
    fresh.catchup = FCST_CATCHUP_ALL;
    ck_assert_int_eq(fcst_plan(&fresh, &from, &to), 0);
    /* the first day closes */
    fresh.last_closed = 100;
    ck_assert_int_eq(fcst_plan(&fresh, &from, &to), 1);
    ck_assert_int_eq(from, 100);
    /* a done day before the data (store data replaced): all starts at the data */
    fcst_plan_in_t old = {.first_day = 100,
                          .last_closed = 102,
                          .has_done = 1,
                          .done_day = 50,
                          .catchup = FCST_CATCHUP_ALL};
    ck_assert_int_eq(fcst_plan(&old, &from, &to), 3);
    ck_assert_int_eq(from, 100);
}
END_TEST

START_TEST(history_window) {
    ck_assert_int_eq(fcst_window_start(1000, 730, 0), 271);
    ck_assert_int_eq(fcst_window_start(1000, 730, 500), 500); /* no days before the data */
    ck_assert_int_eq(fcst_window_start(1000, 1, 0), 1000);
    ck_assert_int_eq(fcst_window_start(1000, 0, 0), 1000);
}
END_TEST

/* ------------------------------------------------------------------ series */

static void add_field(fcst_series_t *s, int64_t day, const char *f, const char *v, int want) {
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(fcst_series_add_field(s, day, f, strlen(f), v, strlen(v), &err), want);
}

START_TEST(series_fills_gaps_and_discovers_products) {
    ss_err_t err = SS_ERR_INIT;
    fcst_series_t *s = fcst_series_new(100, 109, &err);
    ck_assert_ptr_nonnull(s);
    add_field(s, 100, "p:B", "3", 0);
    add_field(s, 100, "o:si-2013-01-01-1-1", "fp", 0); /* dedupe marks are ignored */
    add_field(s, 103, "p:B", "2", 0);
    add_field(s, 103, "p:B", "1.5", 0); /* repeats are summed */
    add_field(s, 105, "p:A", "7", 0);   /* A first sold on day 105 */
    add_field(s, 109, "p:A", "1e1", 0);
    add_field(s, 104, "p:C", "abc", SS_ERR_INVAL);
    add_field(s, 104, "p:C", "", SS_ERR_INVAL);
    add_field(s, 104, "p:C", "inf", SS_ERR_INVAL);
    add_field(s, 110, "p:C", "1", SS_ERR_INVAL); /* outside the window */
    add_field(s, 99, "p:C", "1", SS_ERR_INVAL);
    add_field(s, 104, "p:", "1", SS_ERR_INVAL); /* empty product id */
    add_field(s, 104, "x", "1", 0);
    fcst_series_finish(s);
    fcst_series_finish(s); /* idempotent */
    ck_assert_int_eq(fcst_series_count(s), 2);
    ck_assert_str_eq(fcst_series_product(s, 0), "A"); /* sorted */
    ck_assert_str_eq(fcst_series_product(s, 1), "B");
    ck_assert_int_eq(fcst_series_find(s, "B", 1), 1);
    ck_assert_int_eq(fcst_series_find(s, "C", 1), -1);
    int64_t first;
    size_t n;
    const double *a = fcst_series_values(s, 0, &first, &n);
    ck_assert_int_eq(first, 105);
    ck_assert_int_eq(n, 5);
    const double want_a[] = {7, 0, 0, 0, 10};
    for (size_t i = 0; i < n; i++)
        ck_assert_double_eq(a[i], want_a[i]);
    const double *b = fcst_series_values(s, 1, &first, &n);
    ck_assert_int_eq(first, 100);
    ck_assert_int_eq(n, 10);
    const double want_b[] = {3, 0, 0, 3.5, 0, 0, 0, 0, 0, 0};
    for (size_t i = 0; i < n; i++)
        ck_assert_double_eq(b[i], want_b[i]);
    ck_assert_int_eq(fcst_series_first_day(s), 100);
    ck_assert_int_eq(fcst_series_last_day(s), 109);
    fcst_series_destroy(s);
    fcst_series_destroy(NULL);
    ck_assert_ptr_null(fcst_series_new(10, 9, &err));
    ck_assert_ptr_null(fcst_series_new(0, FCST_SERIES_MAX_DAYS, &err));
}
END_TEST

/* Demand records (q:<partition>, local mode) add every product they hold, next to p: fields
 * of the same day; malformed records add nothing. */
START_TEST(series_reads_demand_records) {
    ss_err_t err = SS_ERR_INIT;
    fcst_series_t *s = fcst_series_new(100, 101, &err);
    ck_assert_ptr_nonnull(s);
    ss_buf_t items = SS_BUF_INIT, rec = SS_BUF_INIT;
    ss_items_add(&items, "A", 4);
    ss_items_add(&items, "B", 6);
    ss_demand_record(&rec, 2, &items);
    ck_assert_uint_eq(rec.len, ss_demand_record_size(items.len));
    ck_assert_int_eq(fcst_series_add_field(s, 100, "q:3", 3, rec.buf, rec.len, &err), 0);
    ck_assert_int_eq(fcst_series_add_field(s, 100, "q:7", 3, rec.buf, rec.len, &err), 0);
    add_field(s, 100, "p:A", "1", 0);
    /* truncated, wrong version, trailing byte: refused whole */
    ck_assert_int_eq(fcst_series_add_field(s, 101, "q:3", 3, rec.buf, rec.len - 1, &err),
                     SS_ERR_INVAL);
    rec.buf[0] = SS_DEMAND_VERSION + 1;
    ck_assert_int_eq(fcst_series_add_field(s, 101, "q:3", 3, rec.buf, rec.len, &err), SS_ERR_INVAL);
    rec.buf[0] = SS_DEMAND_VERSION;
    ss_buf_addch(&rec, 0);
    ck_assert_int_eq(fcst_series_add_field(s, 101, "q:3", 3, rec.buf, rec.len, &err), SS_ERR_INVAL);
    /* an item with an empty product id spoils the record: nothing of it is added */
    ss_buf_t bad = SS_BUF_INIT, rec2 = SS_BUF_INIT;
    ss_items_add(&bad, "C", 1);
    ss_items_add(&bad, "", 1);
    ss_demand_record(&rec2, 2, &bad);
    ck_assert_int_eq(fcst_series_add_field(s, 101, "q:1", 3, rec2.buf, rec2.len, &err),
                     SS_ERR_INVAL);
    fcst_series_finish(s);
    ck_assert_int_eq(fcst_series_count(s), 2); /* C never added */
    int64_t first;
    size_t n;
    const double *a = fcst_series_values(s, 0, &first, &n);
    ck_assert_double_eq(a[0], 9); /* 4 + 4 + 1 */
    ck_assert_double_eq(a[1], 0);
    const double *b = fcst_series_values(s, 1, &first, &n);
    ck_assert_double_eq(b[0], 12);
    fcst_series_destroy(s);
    ss_buf_release(&items);
    ss_buf_release(&rec);
    ss_buf_release(&bad);
    ss_buf_release(&rec2);
}
END_TEST

/* Many products added in day order, like the loader does: the hash grows, binary ids work,
 * and every product gets its own series. */
START_TEST(series_many_products) {
    ss_err_t err = SS_ERR_INIT;
    fcst_series_t *s = fcst_series_new(0, 29, &err);
    char id[32];
    for (int64_t d = 0; d < 30; d++)
        for (int p = 0; p < 1000; p++) {
            int len = snprintf(id, sizeof(id), "P%04d", (p * 7919) % 1000);
            if (d % 2 == 0 || p % 3 == 0)
                ck_assert_int_eq(fcst_series_add(s, d, id, (size_t)len, (double)(p + d), &err), 0);
        }
    ck_assert_int_eq(fcst_series_add(s, 3, "a\0b", 3, 2.0, &err), 0);
    fcst_series_finish(s);
    ck_assert_int_eq(fcst_series_count(s), 1001);
    ck_assert_int_eq(fcst_series_find(s, "a\0b", 3), 1000); /* bytewise: "a" after "P" */
    for (size_t i = 0; i < 1000; i++) {
        int p = atoi(fcst_series_product(s, i) + 1), pi = -1;
        for (int q = 0; q < 1000; q++)
            if ((q * 7919) % 1000 == p)
                pi = q;
        size_t n;
        const double *v = fcst_series_values(s, i, NULL, &n);
        ck_assert_int_eq(n, 30);
        for (int64_t d = 0; d < 30; d++)
            ck_assert_double_eq(v[d], (d % 2 == 0 || pi % 3 == 0) ? (double)(pi + d) : 0.0);
    }
    fcst_series_destroy(s);
}
END_TEST

START_TEST(series_key_format) {
    char k[128];
    ck_assert_int_eq(fcst_series_key(k, sizeof(k), "ss:", "7", 15706), 20);
    ck_assert_str_eq(k, "ss:dm:{7:2013-01-01}");
}
END_TEST

/* ------------------------------------------------------------------ fits */

/* A weekly pattern with deterministic noise: y = 20 + weekday effect + trend + noise. */
static void synth(double *y, size_t n, unsigned seed, double level) {
    static const double wk[7] = {-4, -2, 0, 1, 3, 6, -4};
    uint64_t x = seed * UINT64_C(6364136223846793005) + 1442695040888963407;
    for (size_t i = 0; i < n; i++) {
        x = x * UINT64_C(6364136223846793005) + 1442695040888963407;
        double u = (double)(x >> 11) / 9007199254740992.0;
        y[i] = floor(level + wk[i % 7] + 0.01 * (double)i + 6.0 * (u - 0.5));
        if (y[i] < 0)
            y[i] = 0;
    }
}

static fcst_series_t *three_products(void) {
    ss_err_t err = SS_ERR_INIT;
    double y[140];
    fcst_series_t *s = fcst_series_new(1000, 1139, &err);
    synth(y, 140, 1, 20);
    for (int i = 0; i < 140; i++)
        fcst_series_add(s, 1000 + i, "p1", 2, y[i], &err);
    synth(y, 140, 2, 35);
    for (int i = 40; i < 140; i++) /* sold from day 1040 on */
        fcst_series_add(s, 1000 + i, "p2", 2, y[i], &err);
    for (int i = 0; i < 140; i += 1) /* constant: the ma7 fallback */
        fcst_series_add(s, 1000 + i, "p3", 2, 4.0, &err);
    fcst_series_finish(s);
    return s;
}

static void on_done_count(size_t i, const fcst_fit_t *f, void *opaque) {
    (void)i;
    (void)f;
    __atomic_add_fetch((int *)opaque, 1, __ATOMIC_SEQ_CST);
}

START_TEST(parallel_fits_equal_single_runs) {
    ss_err_t err = SS_ERR_INIT;
    fcst_series_t *s = three_products();
    fcst_fit_t fits[3];
    int calls = 0;
    fcst_fit_opts_t o = {.threads = 2, .on_done = on_done_count, .opaque = &calls};
    ck_assert_int_eq(fcst_fit_all(s, NULL, &o, fits, &err), 3);
    ck_assert_int_eq(calls, 3);
    for (size_t i = 0; i < 3; i++) {
        size_t n;
        const double *y = fcst_series_values(s, i, NULL, &n);
        dprep_result_t r = DPREP_RESULT_INIT;
        ck_assert_int_eq(dprep_run(y, n, NULL, &r, &err), 0);
        ck_assert(fits[i].done);
        ck_assert(!fits[i].warm);
        ck_assert_int_eq(fits[i].res.n, n);
        ck_assert_int_eq(fits[i].res.fallback, r.fallback);
        ck_assert_str_eq(fits[i].res.reason, r.reason);
        ck_assert_int_eq(fits[i].res.horizon, DPREP_HORIZON);
        for (int h = 0; h < r.horizon; h++) {
            ck_assert_double_eq(fits[i].res.mean[h], r.mean[h]);
            ck_assert_double_eq(fits[i].res.upper[h], r.upper[h]);
        }
        dprep_result_release(&r);
    }
    ck_assert_int_eq(fits[1].res.n, 100); /* p2 starts at its first sale */
    ck_assert_int_eq(fits[2].res.fallback, 1);
    ck_assert_str_eq(fcst_reason_class(fits[2].res.reason), "constant");
    ck_assert_double_eq(fits[2].res.mean[0], 4.0);
    ck_assert_str_eq(fcst_reason_class(fits[0].res.reason), "none");
    fcst_fit_release(fits, 3);
    fcst_series_destroy(s);
}
END_TEST

/* Warm start from yesterday's parameters: used in fast mode, ignored in match mode, and the
 * likelihood is not worse than the cold fit's beyond the fast-mode bound. */
START_TEST(warm_start_from_previous_params) {
    ss_err_t err = SS_ERR_INIT;
    fcst_series_t *s = three_products();
    fcst_fit_t cold[3], warm[3], match[3];
    ck_assert_int_eq(fcst_fit_all(s, NULL, &(fcst_fit_opts_t){.threads = 1}, cold, &err), 3);
    double p0[FCST_N_PARAMS];
    char text[128];
    ck_assert_int_gt(fcst_params_format(&cold[0].res, text, sizeof(text)), 0);
    ck_assert_int_eq(fcst_params_parse(text, strlen(text), p0), 0);
    for (int i = 0; i < FCST_N_PARAMS; i++)
        ck_assert_double_eq(p0[i], cold[0].res.fit.params[i]); /* %.17g round-trips */
    const double bad[FCST_N_PARAMS] = {0.1, 0.1, 0.1, 0.1, -1};
    const double *starts[3] = {p0, bad, NULL};
    ck_assert_int_eq(fcst_fit_all(s, starts, &(fcst_fit_opts_t){.threads = 2}, warm, &err), 3);
    ck_assert(warm[0].warm);
    ck_assert(!warm[1].warm); /* sigma2 <= 0: not a usable start */
    ck_assert(!warm[2].warm);
    ck_assert(warm[0].res.fit.llf >= cold[0].res.fit.llf - 1e-6 * fabs(cold[0].res.fit.llf));
    ck_assert_int_le(warm[0].res.fit.iterations, cold[0].res.fit.iterations);
    ck_assert_int_eq(fcst_fit_all(s, starts,
                                  &(fcst_fit_opts_t){.threads = 2, .mode = SARIMA_MODE_MATCH},
                                  match, &err),
                     3);
    ck_assert(!match[0].warm);
    ck_assert_int_eq(fcst_params_format(&cold[2].res, text, sizeof(text)), SS_ERR_INVAL);
    fcst_fit_release(cold, 3);
    fcst_fit_release(warm, 3);
    fcst_fit_release(match, 3);
    fcst_series_destroy(s);
}
END_TEST

START_TEST(params_text_rejects_garbage) {
    double p[FCST_N_PARAMS];
    const char *bad[] = {"",           "1,2,3,4",     "1,2,3,4,5,6", "1,2,x,4,5", "1,2,3,4,0",
                         "1,2,3,4,-2", "1,2,3,4,nan", "1,,3,4,5",    "1,2,3,4,5 "};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(fcst_params_parse(bad[i], strlen(bad[i]), p) == SS_ERR_INVAL, "%s", bad[i]);
    ck_assert_int_eq(fcst_params_parse("0.5,-1,0,-0.9,12.5", 18, p), 0);
    ck_assert_double_eq(p[3], -0.9);
    ck_assert_double_eq(p[4], 12.5);
}
END_TEST

START_TEST(reason_classes) {
    ck_assert_str_eq(fcst_reason_class(""), "none");
    ck_assert_str_eq(fcst_reason_class(NULL), "none");
    ck_assert_str_eq(fcst_reason_class("empty series"), "empty");
    ck_assert_str_eq(fcst_reason_class("3 non-finite values in the series (counted as 0)"),
                     "non_finite");
    ck_assert_str_eq(fcst_reason_class("series too short: 8 train days"), "too_short");
    ck_assert_str_eq(fcst_reason_class("constant train part after clipping (value 0)"), "constant");
    ck_assert_str_eq(fcst_reason_class("sarima fit failed: x"), "fit_failed");
    ck_assert_str_eq(fcst_reason_class("non-finite log-likelihood after the fit"),
                     "llf_non_finite");
    ck_assert_str_eq(fcst_reason_class("non-finite forecast at step 3"), "forecast_failed");
    ck_assert_str_eq(fcst_reason_class("something new"), "other");
    /* the classes of real dprep_run outcomes */
    dprep_result_t r = DPREP_RESULT_INIT;
    double y[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    ck_assert_int_eq(dprep_run(y, 10, NULL, &r, NULL), 0);
    ck_assert_str_eq(fcst_reason_class(r.reason), "too_short");
    dprep_result_release(&r);
    ck_assert_int_eq(dprep_run(y, 0, NULL, &r, NULL), 0);
    ck_assert_str_eq(fcst_reason_class(r.reason), "empty");
    dprep_result_release(&r);
    y[3] = NAN;
    ck_assert_int_eq(dprep_run(y, 10, NULL, &r, NULL), 0);
    ck_assert_str_eq(fcst_reason_class(r.reason), "non_finite");
    dprep_result_release(&r);
}
END_TEST

/* ------------------------------------------------------------------ output */

START_TEST(demand_forecast_record) {
    ss_err_t err = SS_ERR_INIT;
    char dir[1024], key[64];
    snprintf(dir, sizeof(dir), "%s/schemas", ss_test_source_dir());
    ss_avro_reg_t *reg = ss_avro_reg_new(dir, &err);
    ck_assert_msg(reg != NULL, "%s", err.msg);
    int32_t id;
    ck_assert_int_eq(ss_avro_reg_current_id(reg, "streamscore.DemandForecast", &id, &err), 0);
    ss_avro_writer_t *w = ss_avro_writer_new(reg, id, &err);
    ck_assert_ptr_nonnull(w);
    fcst_series_t *s = three_products();
    fcst_fit_t fits[3];
    ck_assert_int_eq(fcst_fit_all(s, NULL, &(fcst_fit_opts_t){.threads = 2}, fits, &err), 3);
    ss_buf_t out = SS_BUF_INIT, js = SS_BUF_INIT;
    json_error_t je;

    /* the model */
    ck_assert_int_eq(fcst_out_encode(w, "7", "p1", 1139, &fits[0].res, &out, &err), 0);
    ck_assert_int_eq(ss_avro_to_json(reg, out.buf, out.len, &js, &err), 0);
    json_t *o = json_loads(js.buf, 0, &je);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(json_string_value(json_object_get(o, "store_id")), "7");
    ck_assert_str_eq(json_string_value(json_object_get(o, "product_id")), "p1");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "generated_for_day")), 1139);
    ck_assert_str_eq(json_string_value(json_object_get(o, "model")), "sarima(1,1,1)(1,1,1,7)");
    ck_assert(json_is_null(json_object_get(o, "fallback_reason")));
    json_t *h = json_object_get(o, "horizon");
    ck_assert_int_eq(json_array_size(h), 30);
    for (size_t i = 0; i < 30; i++) {
        json_t *pt = json_array_get(h, i);
        ck_assert_int_eq(json_integer_value(json_object_get(pt, "day")), 1140 + (int)i);
        ck_assert_double_eq(json_number_value(json_object_get(pt, "mean")), fits[0].res.mean[i]);
        ck_assert_double_eq(json_number_value(json_object_get(pt, "lower")), fits[0].res.lower[i]);
        ck_assert_double_eq(json_number_value(json_object_get(pt, "upper")), fits[0].res.upper[i]);
    }
    ck_assert_double_eq(json_number_value(json_object_get(o, "holdout_mae")), fits[0].res.test_mae);
    ck_assert_double_eq(json_number_value(json_object_get(o, "holdout_rmse")),
                        fits[0].res.test_rmse);
    ck_assert_double_eq(json_number_value(json_object_get(o, "llf")), fits[0].res.fit.llf);
    json_t *p = json_object_get(o, "params");
    ck_assert_int_eq(json_object_size(p), 5);
    ck_assert_double_eq(json_number_value(json_object_get(p, "ma.S.L7")),
                        fits[0].res.fit.params[3]);
    ck_assert_double_eq(json_number_value(json_object_get(p, "sigma2")), fits[0].res.fit.params[4]);
    ck_assert_double_eq(json_number_value(json_object_get(o, "interval_level")), 0.95);
    json_decref(o);

    /* the fallback: reason, empty params, null llf (the writer is reused) */
    ss_buf_reset(&out);
    ss_buf_reset(&js);
    ck_assert_int_eq(fcst_out_encode(w, "7", "p3", 1139, &fits[2].res, &out, &err), 0);
    ck_assert_int_eq(ss_avro_to_json(reg, out.buf, out.len, &js, &err), 0);
    o = json_loads(js.buf, 0, &je);
    ck_assert_str_eq(json_string_value(json_object_get(o, "model")), "ma7");
    ck_assert_str_eq(json_string_value(json_object_get(o, "fallback_reason")), fits[2].res.reason);
    ck_assert_int_eq(json_object_size(json_object_get(o, "params")), 0);
    ck_assert(json_is_null(json_object_get(o, "llf")));
    h = json_object_get(o, "horizon");
    ck_assert_double_eq(json_number_value(json_object_get(json_array_get(h, 29), "mean")), 4.0);
    ck_assert_double_eq(json_number_value(json_object_get(json_array_get(h, 29), "lower")), 4.0);
    json_decref(o);

    /* no test part: null holdout errors */
    dprep_result_t r = DPREP_RESULT_INIT;
    ck_assert_int_eq(dprep_run(NULL, 0, NULL, &r, &err), 0);
    ss_buf_reset(&out);
    ss_buf_reset(&js);
    ck_assert_int_eq(fcst_out_encode(w, "7", "p9", 1139, &r, &out, &err), 0);
    ck_assert_int_eq(ss_avro_to_json(reg, out.buf, out.len, &js, &err), 0);
    o = json_loads(js.buf, 0, &je);
    ck_assert(json_is_null(json_object_get(o, "holdout_mae")));
    ck_assert(json_is_null(json_object_get(o, "holdout_rmse")));
    json_decref(o);
    dprep_result_release(&r);

    ck_assert_int_eq(fcst_out_key(key, sizeof(key), "7", "p1"), 4);
    ck_assert_str_eq(key, "7/p1");
    ss_buf_release(&out);
    ss_buf_release(&js);
    fcst_fit_release(fits, 3);
    fcst_series_destroy(s);
    ss_avro_writer_destroy(w);
    ss_avro_reg_destroy(reg);
}
END_TEST

Suite *fcst_suite(void) {
    Suite *s = suite_create("fcst");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, day_text_and_parse);
    tcase_add_test(tc, days_agree_with_features_service);
    tcase_add_test(tc, parse_redis_numbers);
    tcase_add_test(tc, closed_day_needs_end_plus_lateness);
    tcase_add_test(tc, plan_latest_and_all);
    tcase_add_test(tc, done_tracking_decisions);
    tcase_add_test(tc, history_window);
    tcase_add_test(tc, series_fills_gaps_and_discovers_products);
    tcase_add_test(tc, series_reads_demand_records);
    tcase_add_test(tc, series_many_products);
    tcase_add_test(tc, series_key_format);
    tcase_add_test(tc, parallel_fits_equal_single_runs);
    tcase_add_test(tc, warm_start_from_previous_params);
    tcase_add_test(tc, params_text_rejects_garbage);
    tcase_add_test(tc, reason_classes);
    tcase_add_test(tc, demand_forecast_record);
    suite_add_tcase(s, tc);
    return s;
}
