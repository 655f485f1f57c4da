/* Unit tests of streamscore-report's pure modules: report_svg (escaping, number and time labels,
 * scales, ticks, charts and their "no data" form), report_html and report_page (well-formed
 * page, every section present, escaping of hostile names), report_data (latency, backlog,
 * buckets, latest forecast per pair, pair selection, PSI against artifact references). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_data.h"
#include "report_html.h"
#include "report_page.h"
#include "report_svg.h"

/* Checks that every tag is closed in order (a tiny XML well-formedness check: comments,
 * doctype and self-closing tags handled; attribute values must not hold '<' or '>', which
 * rsvg_escape guarantees). Returns NULL or a static description of the first problem. */
static const char *balanced(const char *s) {
    static char msg[160];
    char stack[256][32];
    size_t depth = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '>')
            return "stray '>' in text";
        if (*p != '<')
            continue;
        const char *end = strchr(p, '>');
        if (!end)
            return "unterminated tag";
        if (p[1] == '!') {
            p = end;
            continue;
        }
        int closing = p[1] == '/';
        const char *n = p + 1 + closing;
        size_t len = strcspn(n, " \t\n/>");
        if (len == 0 || len >= 32)
            return "bad tag name";
        for (const char *q = p + 1; q < end; q++)
            if (*q == '<')
                return "'<' inside a tag";
        if (closing) {
            if (depth == 0 || strncmp(stack[depth - 1], n, len) != 0 || stack[depth - 1][len]) {
                snprintf(msg, sizeof msg, "closing </%.*s> does not match <%s>", (int)len, n,
                         depth ? stack[depth - 1] : "(none)");
                return msg;
            }
            depth--;
        } else if (end[-1] != '/') {
            if (depth == 256)
                return "too deep";
            memcpy(stack[depth], n, len);
            stack[depth++][len] = 0;
        }
        p = end;
    }
    if (depth) {
        snprintf(msg, sizeof msg, "<%s> never closed", stack[depth - 1]);
        return msg;
    }
    return NULL;
}

static size_t count(const char *s, const char *needle) {
    size_t n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

#define ASSERT_WELL_FORMED(text)                                                                   \
    do {                                                                                           \
        const char *why_ = balanced(text);                                                         \
        ck_assert_msg(why_ == NULL, "not well-formed: %s", why_ ? why_ : "");                      \
    } while (0)

/* ---- text ---------------------------------------------------------------------------------- */

START_TEST(test_escape) {
    ss_buf_t b = SS_BUF_INIT;
    rsvg_escape(&b, "<a & 'b' \"c\">\x01\tz");
    ck_assert_str_eq(b.buf, "&lt;a &amp; &#39;b&#39; &quot;c&quot;&gt;\tz");
    ss_buf_reset(&b);
    rsvg_escape(&b, NULL);
    ck_assert_uint_eq(b.len, 0);
    rsvg_escape(&b, "caf\xc3\xa9");
    ck_assert_str_eq(b.buf, "caf\xc3\xa9");
    ss_buf_release(&b);
}
END_TEST

START_TEST(test_fmt_num) {
    char s[32];
    rsvg_fmt_num(12000, 1000, s, sizeof s);
    ck_assert_str_eq(s, "12k");
    rsvg_fmt_num(1500000, 500000, s, sizeof s);
    ck_assert_str_eq(s, "1.5M");
    rsvg_fmt_num(15000, 2500, s, sizeof s);
    ck_assert_str_eq(s, "15.0k");
    rsvg_fmt_num(0.25, 0.05, s, sizeof s);
    ck_assert_str_eq(s, "0.25");
    rsvg_fmt_num(40, 10, s, sizeof s);
    ck_assert_str_eq(s, "40");
    rsvg_fmt_num(-1e-12, 0.1, s, sizeof s);
    ck_assert_str_eq(s, "0.0");
    rsvg_fmt_num(NAN, 1, s, sizeof s);
    ck_assert_str_eq(s, "-");
}
END_TEST

START_TEST(test_time_text) {
    char s[32];
    rsvg_day_text(0, s, sizeof s);
    ck_assert_str_eq(s, "1970-01-01");
    rsvg_day_text(19723, s, sizeof s);
    ck_assert_str_eq(s, "2024-01-01");
    rsvg_day_text(19782, s, sizeof s);
    ck_assert_str_eq(s, "2024-02-29");
    rsvg_day_text(-1, s, sizeof s);
    ck_assert_str_eq(s, "1969-12-31");
    int64_t t = 19723LL * RSVG_DAY_MS + 10 * 3600000 + 5 * 60000 + 7000; /* 2024-01-01 10:05:07 */
    rsvg_fmt_time(t, 1000, s, sizeof s);
    ck_assert_str_eq(s, "10:05:07");
    rsvg_fmt_time(t, 300000, s, sizeof s);
    ck_assert_str_eq(s, "10:05");
    rsvg_fmt_time(t, RSVG_DAY_MS, s, sizeof s);
    ck_assert_str_eq(s, "2024-01-01");
    rsvg_fmt_time(-1000, 1000, s, sizeof s);
    ck_assert_str_eq(s, "23:59:59");
}
END_TEST

/* ---- scales and ticks ---------------------------------------------------------------------- */

START_TEST(test_scale) {
    rsvg_scale_t x = {0, 10, 100, 200}, y = {0, 4, 300, 50}, flat = {5, 5, 0, 100};
    ck_assert_double_eq_tol(rsvg_scale_map(&x, 0), 100, 1e-12);
    ck_assert_double_eq_tol(rsvg_scale_map(&x, 2.5), 125, 1e-12);
    ck_assert_double_eq_tol(rsvg_scale_map(&x, 10), 200, 1e-12);
    ck_assert_double_eq_tol(rsvg_scale_map(&y, 1), 237.5, 1e-12); /* inverted y axis */
    ck_assert_double_eq_tol(rsvg_scale_map(&flat, 123), 50, 1e-12);
}
END_TEST

START_TEST(test_nice_ticks) {
    double lo = 0, hi = 7.3, t[RSVG_MAX_TICKS], step;
    size_t n = rsvg_nice_ticks(&lo, &hi, 6, t, &step);
    ck_assert_double_eq(step, 2);
    ck_assert_uint_eq(n, 5);
    ck_assert_double_eq(t[0], 0);
    ck_assert_double_eq(t[4], 8);
    ck_assert_double_eq(lo, 0);
    ck_assert_double_eq(hi, 8);
    lo = 0.013;
    hi = 0.087;
    n = rsvg_nice_ticks(&lo, &hi, 6, t, &step);
    ck_assert_uint_eq(n, 6);
    ck_assert_double_eq_tol(step, 0.02, 1e-15);
    ck_assert_double_eq_tol(t[0], 0, 1e-15);
    ck_assert_double_eq_tol(t[n - 1], 0.1, 1e-15);
    lo = hi = 5; /* degenerate: widened */
    n = rsvg_nice_ticks(&lo, &hi, 5, t, &step);
    ck_assert(n >= 2 && lo < 5 && hi > 5);
    lo = NAN;
    hi = 3;
    n = rsvg_nice_ticks(&lo, &hi, 5, t, &step);
    ck_assert(n >= 2 && isfinite(lo) && isfinite(hi));
}
END_TEST

START_TEST(test_time_ticks) {
    int64_t t[RSVG_MAX_TICKS], step;
    int64_t t0 = 19723LL * RSVG_DAY_MS + 36000000; /* 10:00:00 */
    size_t n = rsvg_time_ticks(t0 + 500, t0 + 5000, 1000, 8, t, &step);
    ck_assert_int_eq(step, 1000);
    ck_assert_uint_eq(n, 5);
    ck_assert_int_eq(t[0], t0 + 1000);
    n = rsvg_time_ticks(t0, t0 + 3600000, 1000, 8, t, &step);
    ck_assert_int_eq(step, 600000);
    ck_assert_uint_eq(n, 7);
    n = rsvg_time_ticks(19723LL * RSVG_DAY_MS, 19723LL * RSVG_DAY_MS + 120 * RSVG_DAY_MS,
                        RSVG_DAY_MS, 8, t, &step);
    ck_assert_int_eq(step, 28 * RSVG_DAY_MS);
    ck_assert(n >= 4 && n <= 8);
    ck_assert_int_eq(t[0] % step, 0);
}
END_TEST

/* ---- charts -------------------------------------------------------------------------------- */

START_TEST(test_line_chart) {
    double x[5] = {0, 1, 2, 3, 4}, y[5] = {1, 2, NAN, 4, 5}, lo[5] = {0, 1, 1, 3, 4},
           hi[5] = {2, 3, 3, 5, 6};
    rsvg_series_t s[2] = {{.name = "a<b", .x = x, .y = y, .n = 5, .markers = 1},
                          {.name = "band",
                           .x = x,
                           .y = y,
                           .n = 5,
                           .lo = lo,
                           .hi = hi,
                           .band_name = "95 % interval",
                           .dashed = 1}};
    rsvg_chart_t c = {.title = "T & <script>", .x_label = "x", .y_label = "y", .y_zero = 1};
    ss_buf_t b = SS_BUF_INIT;
    int marks = rsvg_line_chart(&b, &c, s, 2);
    /* one path per line (the NaN starts a new piece inside it) + 4 dots, then 1 band */
    ck_assert_int_eq(marks, 1 + 4 + 1 + 1);
    ck_assert_ptr_nonnull(strstr(b.buf, " M724.5,")); /* x = 3 starts the piece after the gap */
    ck_assert_uint_eq(count(b.buf, "class=\"mark"), (size_t)marks);
    ck_assert_ptr_null(strstr(b.buf, "<script"));
    ck_assert_ptr_nonnull(strstr(b.buf, "T &amp; &lt;script&gt;"));
    ck_assert_ptr_nonnull(strstr(b.buf, "a&lt;b"));
    ck_assert_ptr_null(strstr(b.buf, "nodata"));
    ASSERT_WELL_FORMED(b.buf);
    ss_buf_release(&b);
}
END_TEST

START_TEST(test_time_axis_chart) {
    double x[3] = {1.7e12, 1.7e12 + 60000, 1.7e12 + 120000}, y[3] = {3, 1, 2};
    rsvg_series_t s = {.name = "t", .x = x, .y = y, .n = 3};
    rsvg_chart_t c = {.title = "time", .x_kind = RSVG_X_TIME_MS};
    ss_buf_t b = SS_BUF_INIT;
    ck_assert_int_eq(rsvg_line_chart(&b, &c, &s, 1), 1);
    ck_assert_ptr_nonnull(strstr(b.buf, ":")); /* HH:MM labels */
    ASSERT_WELL_FORMED(b.buf);
    ss_buf_reset(&b);
    double d[2] = {19723, 19750};
    rsvg_series_t s2 = {.name = "d", .x = d, .y = y, .n = 2};
    c.x_kind = RSVG_X_DAY;
    ck_assert_int_eq(rsvg_line_chart(&b, &c, &s2, 1), 1);
    ck_assert_ptr_nonnull(strstr(b.buf, "2024-01-"));
    ASSERT_WELL_FORMED(b.buf);
    ss_buf_release(&b);
}
END_TEST

START_TEST(test_no_data) {
    double x[2] = {0, 1}, y[2] = {NAN, NAN}, v[2] = {0, 0};
    rsvg_series_t s = {.name = "s", .x = x, .y = y, .n = 2};
    rsvg_chart_t c = {.title = "empty", .no_data = "nothing on <topic>"};
    ss_buf_t b = SS_BUF_INIT;
    ck_assert_int_eq(rsvg_line_chart(&b, &c, &s, 1), 0);
    ck_assert_ptr_nonnull(strstr(b.buf, "no data: nothing on &lt;topic&gt;"));
    ck_assert_ptr_null(strstr(b.buf, "class=\"mark"));
    ck_assert_ptr_null(strstr(b.buf, "<path"));
    ck_assert_ptr_null(strstr(b.buf, "<rect"));
    ASSERT_WELL_FORMED(b.buf);
    ss_buf_reset(&b);
    ck_assert_int_eq(rsvg_line_chart(&b, &c, NULL, 0), 0);
    ASSERT_WELL_FORMED(b.buf);
    ss_buf_reset(&b);
    rsvg_layer_t l = {"l", NULL, v};
    ck_assert_int_eq(rsvg_stacked_bars(&b, &c, x, 2, 1, &l, 1), 0);
    ck_assert_int_eq(rsvg_stacked_bars(&b, &c, x, 0, 1, &l, 1), 0);
    const char *names[2] = {"a", "b"};
    ck_assert_int_eq(rsvg_hbar_chart(&b, &c, names, v, 2, "%"), 0);
    ck_assert_int_eq(rsvg_hbar_chart(&b, &c, NULL, NULL, 0, "%"), 0);
    ck_assert_int_eq(rsvg_heatmap(&b, &c, names, 1, names, 2, y, 0.1, 0.25), 0);
    ck_assert_int_eq(rsvg_heatmap(&b, &c, NULL, 0, NULL, 0, NULL, 0.1, 0.25), 0);
    ck_assert_uint_eq(count(b.buf, "class=\"nodata\""), 6);
    ck_assert_ptr_null(strstr(b.buf, "class=\"mark"));
    ASSERT_WELL_FORMED(b.buf);
    ss_buf_release(&b);
}
END_TEST

START_TEST(test_bars_and_heatmap) {
    double x[3] = {19723, 19724, 19725}, a[3] = {1, 0, 3}, c2[3] = {2, NAN, -1};
    rsvg_layer_t layers[2] = {{"high", "#e15759", a}, {"low & \"x\"", NULL, c2}};
    rsvg_chart_t c = {.title = "bars", .x_kind = RSVG_X_DAY};
    ss_buf_t b = SS_BUF_INIT;
    ck_assert_int_eq(rsvg_stacked_bars(&b, &c, x, 3, 1, layers, 2), 3); /* 1, 3 and 2 */
    ck_assert_ptr_nonnull(strstr(b.buf, "low &amp; &quot;x&quot;"));
    ASSERT_WELL_FORMED(b.buf);
    ss_buf_reset(&b);
    const char *names[3] = {"small", "big", "<mid>"};
    double v[3] = {1, 10, 5};
    ck_assert_int_eq(rsvg_hbar_chart(&b, &c, names, v, 3, " %"), 3);
    /* largest first */
    ck_assert(strstr(b.buf, ">big<") < strstr(b.buf, "&lt;mid&gt;"));
    ck_assert(strstr(b.buf, "&lt;mid&gt;") < strstr(b.buf, ">small<"));
    ASSERT_WELL_FORMED(b.buf);
    ss_buf_reset(&b);
    double psi[4] = {0.05, NAN, 0.2, 0.9};
    const char *rows[2] = {"f1", "f2"}, *cols[2] = {"2024-01-01", "2024-01-08"};
    ck_assert_int_eq(rsvg_heatmap(&b, &c, rows, 2, cols, 2, psi, 0.1, 0.25), 3);
    ck_assert_ptr_nonnull(strstr(b.buf, "#b7e1a1")); /* stable */
    ck_assert_ptr_nonnull(strstr(b.buf, "#fdd17a")); /* moderate */
    ck_assert_ptr_nonnull(strstr(b.buf, "#f4846b")); /* significant */
    ck_assert_ptr_nonnull(strstr(b.buf, "f1, 2024-01-08: not judged"));
    ck_assert_ptr_nonnull(strstr(b.buf, "PSI 0.900"));
    ASSERT_WELL_FORMED(b.buf);
    ss_buf_release(&b);
}
END_TEST

START_TEST(test_html) {
    ss_buf_t b = SS_BUF_INIT;
    rhtml_begin(&b, "R <1>", "sub & title");
    rhtml_section_begin(&b, "s1", "One \"quoted\"");
    rhtml_para(&b, "note", "value %d <b>", 42);
    const char *head[2] = {"a", "b<"}, *cells[4] = {"1", NULL, "<x>", "y"};
    rhtml_table(&b, head, 2, cells, 2);
    rhtml_section_end(&b);
    rhtml_end(&b);
    ck_assert_ptr_nonnull(strstr(b.buf, "<title>R &lt;1&gt;</title>"));
    ck_assert_ptr_nonnull(strstr(b.buf, "value 42 &lt;b&gt;"));
    ck_assert_ptr_nonnull(strstr(b.buf, "<td>&lt;x&gt;</td>"));
    ck_assert_ptr_null(strstr(b.buf, "<b>"));
    ck_assert(strncmp(b.buf, "<!DOCTYPE html>", 15) == 0);
    ASSERT_WELL_FORMED(b.buf);
    ss_buf_release(&b);
}
END_TEST

/* ---- data ---------------------------------------------------------------------------------- */

START_TEST(test_latency_and_backlog) {
    rdata_t d;
    rdata_init(&d, NULL);
    ck_assert_str_eq(d.topic[RDATA_FEAT], "customer-features");
    rdata_add_txn(&d, 0, 10, 1000, 1);
    rdata_add_txn(&d, 0, 11, 1100, 0); /* anonymous: not in the backlog */
    rdata_add_txn(&d, 0, 12, 1200, 1);
    rdata_add_txn(&d, 3, 0, 1300, 1); /* never processed */
    double v[RDATA_N_FEATURES] = {0};
    rdata_add_features(&d, 1500, 0, 10, 5, v);                  /* latency 500 ms */
    ck_assert_int_eq(rdata_add_outcome(&d, 0, 12, 2200), 1000); /* a dead letter */
    ck_assert_int_eq(rdata_add_outcome(&d, 0, 12, 3000), 1800); /* a later duplicate */
    ck_assert_int_eq(rdata_add_outcome(&d, 0, 11, 3000), -1);   /* anonymous */
    ck_assert_int_eq(rdata_add_outcome(&d, 0, 99, 3000), -1);   /* unknown */
    ck_assert_int_eq(rdata_add_outcome(&d, 7, 0, 3000), -1);    /* unknown partition */
    ck_assert_int_eq(rdata_add_outcome(&d, -1, -1, 3000), -1);  /* not from Kafka */
    rdata_add_features(&d, 1600, -1, -1, 5, v);                 /* no latency */
    ck_assert_uint_eq(d.lag_ms.n, 1);
    ck_assert_int_eq(d.lag_ms.v[0], 500);
    ck_assert_uint_eq(d.feat_t.n, 2);
    int64_t at[5] = {999, 1000, 1400, 1500, 2200};
    double out[5];
    rdata_backlog(&d, at, 5, out);
    ck_assert_double_eq(out[0], 0);
    ck_assert_double_eq(out[1], 1);
    ck_assert_double_eq(out[2], 3);
    ck_assert_double_eq(out[3], 2);
    ck_assert_double_eq(out[4], 1); /* the earliest outcome counts; partition 3 never done */
    double p50[2], mx[2];
    rdata_lag_stats(&d, 1000, 1000, 2, p50, mx);
    ck_assert_double_eq_tol(p50[0], 0.5, 1e-12);
    ck_assert_double_eq_tol(mx[0], 0.5, 1e-12);
    ck_assert(isnan(p50[1]) && isnan(mx[1]));
    rdata_release(&d);
}
END_TEST

START_TEST(test_buckets) {
    ck_assert_int_eq(rdata_pick_bucket(5000, 90), 100);
    ck_assert_int_eq(rdata_pick_bucket(60000, 90), 1000);
    ck_assert_int_eq(rdata_pick_bucket(3600000, 90), 60000);
    ck_assert_int_eq(rdata_pick_bucket(300LL * RSVG_DAY_MS, 90), 7 * RSVG_DAY_MS);
    int64_t ts[6] = {100, 999, 1000, 2500, 50, 9000};
    double out[3];
    rdata_bucket_counts(ts, 6, 100, 1000, 3, out);
    ck_assert_double_eq(out[0], 3); /* 100, 999, 1000; 50 is before t0 */
    ck_assert_double_eq(out[1], 0);
    ck_assert_double_eq(out[2], 1); /* 2500; 9000 is after the last bucket */
}
END_TEST

START_TEST(test_forecasts) {
    rdata_t d;
    rdata_init(&d, NULL);
    int32_t day[2] = {101, 102};
    double m[2] = {1, 2}, lo[2] = {0, 0}, hi[2] = {3, 4};
    char store[16], prod[16];
    for (int s = 0; s < 3; s++) {
        for (int p = 0; p < 100; p++) {
            snprintf(store, sizeof store, "s%d", s);
            snprintf(prod, sizeof prod, "p%03d", p);
            rdata_fcst_t *f =
                rdata_add_forecast(&d, store, prod, 100, "ma7", NAN, 0.95, day, m, lo, hi, 2);
            f->volume = s * 100 + p;
        }
    }
    ck_assert_uint_eq(d.n_fc, 300);
    /* a newer forecast replaces, an older one does not */
    m[0] = 7;
    rdata_add_forecast(&d, "s1", "p005", 101, "sarima", 1.5, 0.9, day, m, lo, hi, 2);
    m[0] = 9;
    rdata_add_forecast(&d, "s1", "p005", 99, "old", 1.5, 0.9, day, m, lo, hi, 2);
    rdata_fcst_t *f = rdata_find_forecast(&d, "s1", "p005");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(f->gen_day, 101);
    ck_assert_str_eq(f->model, "sarima");
    ck_assert_double_eq(f->mean[0], 7);
    ck_assert_ptr_null(rdata_find_forecast(&d, "s1", "nope"));
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(rdata_select_pairs(&d, NULL, 2, &err), 2);
    ck_assert(rdata_find_forecast(&d, "s2", "p099")->selected);
    ck_assert(rdata_find_forecast(&d, "s2", "p098")->selected);
    ck_assert(!rdata_find_forecast(&d, "s2", "p097")->selected);
    ck_assert_int_eq(rdata_select_pairs(&d, "s0:p001, new:x", 4, &err), 2);
    ck_assert(rdata_find_forecast(&d, "s0", "p001")->selected);
    ck_assert(!rdata_find_forecast(&d, "s2", "p099")->selected);
    f = rdata_find_forecast(&d, "new", "x");
    ck_assert(f && f->selected && !f->has_forecast);
    ck_assert_int_eq(rdata_select_pairs(&d, "s0p001", 4, &err), SS_ERR_INVAL);
    ck_assert_str_eq(err.msg, "pair 's0p001' is not store:product");
    rdata_release(&d);
}
END_TEST

/* A model with one reference (recency_days, uniform on 0..10 in 10 bins). */
static void fake_model(rdata_t *d) {
    churn_meta_t *meta = ss_xcalloc(1, sizeof(*meta));
    meta->n_features = 2;
    snprintf(meta->features[0], CHURN_NAME_MAX, "recency_days");
    snprintf(meta->features[1], CHURN_NAME_MAX, "frequency");
    meta->has_reference = 1;
    meta->feature_ref[0].n = 1000;
    for (int i = 0; i <= CHURN_QBINS; i++)
        meta->feature_ref[0].edges[i] = i;
    for (int i = 0; i < CHURN_QBINS; i++)
        meta->feature_ref[0].frac[i] = 0.1;
    snprintf(meta->version, sizeof meta->version, "v<1>");
    double gain[2] = {3, 1};
    rdata_set_model(d, meta, gain);
    free(meta);
}

START_TEST(test_psi) {
    rdata_t d;
    rdata_init(&d, NULL);
    double v[RDATA_N_FEATURES] = {0};
    int64_t day0 = 19723;
    for (int i = 0; i < 200; i++) { /* day 0: like the reference; day 1: all in the top bin */
        v[0] = (i % 10) + 0.5;
        rdata_add_features(&d, 0, -1, -1, day0 * RSVG_DAY_MS + i, v);
        v[0] = 9.5;
        rdata_add_features(&d, 0, -1, -1, (day0 + 1) * RSVG_DAY_MS + i, v);
    }
    for (int i = 0; i < 10; i++) { /* day 2: too few */
        v[0] = 1;
        rdata_add_features(&d, 0, -1, -1, (day0 + 2) * RSVG_DAY_MS + i, v);
    }
    double out[3 * RDATA_N_FEATURES];
    size_t rows[CHURN_MAX_FEATURES];
    ck_assert_uint_eq(rdata_psi(&d, day0, 1, 3, 100, out, rows), 0); /* no model */
    fake_model(&d);
    ck_assert_uint_eq(rdata_psi(&d, day0, 1, 3, 100, out, rows), 1);
    ck_assert_uint_eq(rows[0], 0);
    ck_assert_double_eq_tol(out[0], 0, 1e-12);
    /* 9 empty bins at eps 1e-4 plus the full one: 9 * (1e-4 - 0.1) ln(1e-3) + 0.9 ln(10) */
    double want = 9 * (1e-4 - 0.1) * log(1e-4 / 0.1) + (1 - 0.1) * log(1 / 0.1);
    ck_assert_double_eq_tol(out[1], want, 1e-9);
    ck_assert(isnan(out[2]));
    /* one window of 2 days holds both */
    ck_assert_uint_eq(rdata_psi(&d, day0, 2, 1, 100, out, rows), 1);
    ck_assert(out[0] > 0.1 && out[0] < want);
    rdata_release(&d);
}
END_TEST

/* ---- the page ------------------------------------------------------------------------------- */

START_TEST(test_page_empty) {
    rdata_t d;
    rdata_init(&d, NULL);
    snprintf(d.note[RDATA_TXN], sizeof d.note[0], "topic 'transactions' not read: <down>");
    ss_buf_t b = SS_BUF_INIT;
    ck_assert_int_eq(rpage_render(&b, &d, NULL), 0);
    for (int i = 0; i < RPAGE_N_SECTIONS; i++) {
        char id[64];
        snprintf(id, sizeof id, "<section id=\"%s\">", rpage_section_ids[i]);
        ck_assert_ptr_nonnull(strstr(b.buf, id));
    }
    ck_assert_uint_ge(count(b.buf, "class=\"nodata\""), 5);
    ck_assert_ptr_null(strstr(b.buf, "class=\"mark"));
    ck_assert_ptr_nonnull(strstr(b.buf, "not read: &lt;down&gt;"));
    ck_assert_ptr_null(strstr(b.buf, "<script"));
    ASSERT_WELL_FORMED(b.buf);
    ss_buf_release(&b);
    rdata_release(&d);
}
END_TEST

START_TEST(test_page_data) {
    rdata_t d;
    const char *topics[RDATA_N_TOPICS] = {"tx<1>", NULL, NULL, NULL, NULL, NULL};
    rdata_init(&d, topics);
    fake_model(&d);
    double v[RDATA_N_FEATURES] = {0};
    int64_t t0 = 1700000000000LL;
    for (int i = 0; i < 300; i++) {
        rdata_add_msg(&d, RDATA_TXN, t0 + i * 100);
        rdata_add_txn(&d, i % 3, i / 3, t0 + i * 100, 1);
        rdata_add_msg(&d, RDATA_FEAT, t0 + i * 100 + 700);
        v[0] = i % 10;
        rdata_add_features(&d, t0 + i * 100 + 700, i % 3, i / 3,
                           19723LL * RSVG_DAY_MS + i * 3600000LL, v);
        rdata_add_msg(&d, RDATA_SCORE, t0 + i * 100 + 900);
        rdata_add_score(&d, 19723LL * RSVG_DAY_MS + i * 3600000LL, (churn_risk_t)(i % 3));
    }
    int32_t day[3] = {19740, 19741, 19742};
    double m[3] = {5, 6, 7}, lo[3] = {1, 2, 3}, hi[3] = {9, 10, 11};
    rdata_fcst_t *f =
        rdata_add_forecast(&d, "s<1>", "p&1", 19739, "sarima", 2.5, 0.95, day, m, lo, hi, 3);
    f->selected = 1;
    f->act_day0 = 19730;
    f->n_act = 12;
    f->act = ss_xcalloc(12, sizeof(double));
    for (int i = 0; i < 12; i++)
        f->act[i] = i;
    rdata_alert_t a = {.name = "FeatureDrift",
                       .feature = "recency<days>",
                       .severity = "warning",
                       .status = "FIRING",
                       .starts_at = t0,
                       .ends_at = -1,
                       .value = 0.3,
                       .threshold = 0.1};
    rdata_add_alert(&d, &a);
    a.value = 0.5; /* the same alert one window later: only its latest event is listed */
    rdata_add_alert(&d, &a);
    ss_buf_t b = SS_BUF_INIT;
    rpage_opts_t o = {.title = "T", .source = "src <x>", .generated_ms = t0, .psi_min_samples = 10};
    int charts = rpage_render(&b, &d, &o);
    ck_assert_int_eq(charts, 7); /* 3 + risk + importance + 1 forecast + PSI */
    ck_assert_ptr_null(strstr(b.buf, "class=\"nodata\""));
    ck_assert_ptr_nonnull(strstr(b.buf, "tx&lt;1&gt;"));
    ck_assert_ptr_nonnull(strstr(b.buf, "Store s&lt;1&gt;, product p&amp;1"));
    ck_assert_ptr_nonnull(strstr(b.buf, "recency&lt;days&gt;"));
    ck_assert_ptr_nonnull(strstr(b.buf, "v&lt;1&gt;"));
    ck_assert_ptr_nonnull(strstr(b.buf, "75.0 %")); /* importance share 3 / 4 */
    ck_assert_ptr_nonnull(strstr(b.buf, "<td>0.500</td>"));
    ck_assert_ptr_null(strstr(b.buf, "<td>0.300</td>"));
    ck_assert_ptr_nonnull(strstr(b.buf, "2 alert events"));
    ck_assert_ptr_null(strstr(b.buf, "<script"));
    ASSERT_WELL_FORMED(b.buf);
    ss_buf_release(&b);
    rdata_release(&d);
}
END_TEST

Suite *report_suite(void) {
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("svg");
    tcase_add_test(tc, test_escape);
    tcase_add_test(tc, test_fmt_num);
    tcase_add_test(tc, test_time_text);
    tcase_add_test(tc, test_scale);
    tcase_add_test(tc, test_nice_ticks);
    tcase_add_test(tc, test_time_ticks);
    tcase_add_test(tc, test_line_chart);
    tcase_add_test(tc, test_time_axis_chart);
    tcase_add_test(tc, test_no_data);
    tcase_add_test(tc, test_bars_and_heatmap);
    tcase_add_test(tc, test_html);
    suite_add_tcase(s, tc);
    tc = tcase_create("data");
    tcase_add_test(tc, test_latency_and_backlog);
    tcase_add_test(tc, test_buckets);
    tcase_add_test(tc, test_forecasts);
    tcase_add_test(tc, test_psi);
    suite_add_tcase(s, tc);
    tc = tcase_create("page");
    tcase_add_test(tc, test_page_empty);
    tcase_add_test(tc, test_page_data);
    suite_add_tcase(s, tc);
    return s;
}
