/* Unit tests for ss_metrics (registry, exact exposition text, concurrency) and the socket-free
 * part of ss_http (routing, liveness and readiness answers, query parsing). No network: the
 * listener itself is covered by tests/integration/test_http.sh. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_http.h"
#include "ss_metrics.h"

/* Renders m and compares with the expected text exactly. */
#define ck_assert_render(m, expected)                                                              \
    do {                                                                                           \
        size_t len_;                                                                               \
        char *text_ = ss_metrics_render((m), &len_);                                               \
        ck_assert_str_eq(text_, (expected));                                                       \
        ck_assert_uint_eq(len_, strlen(expected));                                                 \
        free(text_);                                                                               \
    } while (0)

/* ======================== rendering ======================== */

START_TEST(empty_registry_renders_nothing) {
    ss_metrics_t *m = ss_metrics_new();
    ck_assert_render(m, "");
    ss_metrics_destroy(m);
    ss_metrics_destroy(NULL);
}
END_TEST

START_TEST(counter_and_gauge_text) {
    ss_metrics_t *m = ss_metrics_new();
    ss_metrics_counter_t *c =
        ss_metrics_counter(m, "streamscore_events_processed_total", "Events processed.");
    ss_metrics_gauge_t *g = ss_metrics_gauge(m, "streamscore_queue_depth", "Queue depth.");
    ss_metrics_counter_inc(c);
    ss_metrics_counter_inc(c);
    ss_metrics_counter_add(c, 3);
    ss_metrics_gauge_set(g, 4);
    ss_metrics_gauge_dec(g);
    ss_metrics_gauge_add(g, -4.5);
    ck_assert_render(m, "# HELP streamscore_events_processed_total Events processed.\n"
                        "# TYPE streamscore_events_processed_total counter\n"
                        "streamscore_events_processed_total 5\n"
                        "# HELP streamscore_queue_depth Queue depth.\n"
                        "# TYPE streamscore_queue_depth gauge\n"
                        "streamscore_queue_depth -1.5\n");
    ss_metrics_destroy(m);
}
END_TEST

START_TEST(counter_ignores_negative_and_nan) {
    ss_metrics_t *m = ss_metrics_new();
    ss_metrics_counter_t *c = ss_metrics_counter(m, "x_total", "X.");
    ss_metrics_counter_add(c, 1.25);
    ss_metrics_counter_add(c, -7);
    ss_metrics_counter_add(c, NAN);
    ss_metrics_counter_inc(c);
    ck_assert_double_eq(ss_metrics_counter_value(c), 2.25);
    ck_assert_render(m, "# HELP x_total X.\n# TYPE x_total counter\nx_total 2.25\n");
    ss_metrics_counter_set(c, 1e6);
    ck_assert_double_eq(ss_metrics_counter_value(c), 1e6);
    /* NULL series are no-ops so modules can run without metrics */
    ss_metrics_counter_inc(NULL);
    ss_metrics_gauge_set(NULL, 1);
    ss_metrics_histogram_observe(NULL, 1);
    ck_assert_double_eq(ss_metrics_counter_value(NULL), 0);
    ss_metrics_destroy(m);
}
END_TEST

START_TEST(labels_and_escaping) {
    ss_metrics_t *m = ss_metrics_new();
    ss_metrics_family_t *f =
        ss_metrics_counter_family(m, "streamscore_dlq_messages_total",
                                  "Messages sent to the dead-letter topic, by \"reason\".\\\nok",
                                  (const char *[]){"reason"}, 1);
    ss_metrics_counter_t *dec = ss_metrics_counter_child(f, (const char *[]){"decode"});
    ss_metrics_counter_t *odd = ss_metrics_counter_child(f, (const char *[]){"a\"b\\c\nd"});
    ss_metrics_counter_add(dec, 2);
    ss_metrics_counter_inc(odd);
    /* the same values give back the same series */
    ck_assert_ptr_eq(ss_metrics_counter_child(f, (const char *[]){"decode"}), dec);
    ss_metrics_counter_inc(ss_metrics_counter_child(f, (const char *[]){"decode"}));

    ss_metrics_family_t *lag = ss_metrics_gauge_family(
        m, "streamscore_consumer_lag_messages", "Lag.", (const char *[]){"topic", "partition"}, 2);
    ss_metrics_gauge_set(ss_metrics_gauge_child(lag, (const char *[]){"transactions", "0"}), 12);
    ss_metrics_gauge_set(ss_metrics_gauge_child(lag, (const char *[]){"transactions", "1"}), 0);
    ck_assert_render(
        m, "# HELP streamscore_dlq_messages_total Messages sent to the dead-letter topic, by "
           "\"reason\".\\\\\\nok\n"
           "# TYPE streamscore_dlq_messages_total counter\n"
           "streamscore_dlq_messages_total{reason=\"decode\"} 3\n"
           "streamscore_dlq_messages_total{reason=\"a\\\"b\\\\c\\nd\"} 1\n"
           "# HELP streamscore_consumer_lag_messages Lag.\n"
           "# TYPE streamscore_consumer_lag_messages gauge\n"
           "streamscore_consumer_lag_messages{topic=\"transactions\",partition=\"0\"} 12\n"
           "streamscore_consumer_lag_messages{topic=\"transactions\",partition=\"1\"} 0\n");
    ss_metrics_destroy(m);
}
END_TEST

START_TEST(family_without_series_is_omitted) {
    ss_metrics_t *m = ss_metrics_new();
    ss_metrics_counter_family(m, "a_total", "A.", (const char *[]){"k"}, 1);
    ck_assert_render(m, "");
    ss_metrics_destroy(m);
}
END_TEST

START_TEST(hidden_gauge_is_omitted_until_set) {
    ss_metrics_t *m = ss_metrics_new();
    ss_metrics_family_t *f = ss_metrics_gauge_family(m, "lag", "L.", (const char *[]){"p"}, 1);
    ss_metrics_gauge_t *p0 = ss_metrics_gauge_child(f, (const char *[]){"0"});
    ss_metrics_gauge_t *p1 = ss_metrics_gauge_child(f, (const char *[]){"1"});
    ss_metrics_gauge_set(p0, 1);
    ss_metrics_gauge_set(p1, 2);
    ss_metrics_gauge_hide(p0);
    ck_assert_render(m, "# HELP lag L.\n# TYPE lag gauge\nlag{p=\"1\"} 2\n");
    ss_metrics_gauge_hide(p1);
    ck_assert_render(m, "");
    ss_metrics_gauge_set(p0, 5);
    ck_assert_render(m, "# HELP lag L.\n# TYPE lag gauge\nlag{p=\"0\"} 5\n");
    /* a collector mirroring the assignment: hide all, set the current ones */
    ss_metrics_gauge_set(p1, 7);
    ss_metrics_gauge_family_hide(f);
    ss_metrics_gauge_set(ss_metrics_gauge_child(f, (const char *[]){"1"}), 8);
    ck_assert_render(m, "# HELP lag L.\n# TYPE lag gauge\nlag{p=\"1\"} 8\n");
    ss_metrics_destroy(m);
}
END_TEST

START_TEST(histogram_buckets_are_cumulative) {
    ss_metrics_t *m = ss_metrics_new();
    const double bounds[] = {0.25, 0.5, 1};
    ss_metrics_histogram_t *h = ss_metrics_histogram(m, "h_seconds", "Help.", bounds, 3);
    ss_metrics_histogram_observe(h, 0.125);
    ss_metrics_histogram_observe(h, 0.25); /* on the bound: le is inclusive */
    ss_metrics_histogram_observe(h, 0.75);
    ss_metrics_histogram_observe(h, 2);
    ss_metrics_histogram_observe(h, NAN); /* ignored */
    ck_assert_uint_eq(ss_metrics_histogram_count(h), 4);
    ck_assert_double_eq(ss_metrics_histogram_sum(h), 3.125);
    ck_assert_render(m, "# HELP h_seconds Help.\n"
                        "# TYPE h_seconds histogram\n"
                        "h_seconds_bucket{le=\"0.25\"} 2\n"
                        "h_seconds_bucket{le=\"0.5\"} 2\n"
                        "h_seconds_bucket{le=\"1\"} 3\n"
                        "h_seconds_bucket{le=\"+Inf\"} 4\n"
                        "h_seconds_sum 3.125\n"
                        "h_seconds_count 4\n");
    ss_metrics_destroy(m);
}
END_TEST

START_TEST(labelled_histogram_puts_le_last) {
    ss_metrics_t *m = ss_metrics_new();
    const double bounds[] = {1};
    ss_metrics_family_t *f = ss_metrics_histogram_family(m, "stage_seconds", "S.",
                                                         (const char *[]){"stage"}, 1, bounds, 1);
    ss_metrics_histogram_observe(ss_metrics_histogram_child(f, (const char *[]){"decode"}), 0.5);
    ck_assert_render(m, "# HELP stage_seconds S.\n"
                        "# TYPE stage_seconds histogram\n"
                        "stage_seconds_bucket{stage=\"decode\",le=\"1\"} 1\n"
                        "stage_seconds_bucket{stage=\"decode\",le=\"+Inf\"} 1\n"
                        "stage_seconds_sum{stage=\"decode\"} 0.5\n"
                        "stage_seconds_count{stage=\"decode\"} 1\n");
    ss_metrics_destroy(m);
}
END_TEST

START_TEST(default_buckets_span_50us_to_10s) {
    ck_assert_uint_eq(ss_metrics_default_nbuckets, 17);
    ck_assert_double_eq(ss_metrics_default_buckets[0], 0.00005);
    ck_assert_double_eq(ss_metrics_default_buckets[16], 10);
    ss_metrics_t *m = ss_metrics_new();
    ss_metrics_histogram_t *h = ss_metrics_histogram(m, "p_seconds", "P.", NULL, 0);
    ss_metrics_histogram_observe(h, 0.0003); /* 300 us: first bucket holding it is 500 us */
    char *text = ss_metrics_render(m, NULL);
    ck_assert_ptr_nonnull(strstr(text, "p_seconds_bucket{le=\"5e-05\"} 0\n"
                                       "p_seconds_bucket{le=\"0.0001\"} 0\n"
                                       "p_seconds_bucket{le=\"0.00025\"} 0\n"
                                       "p_seconds_bucket{le=\"0.0005\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(text, "p_seconds_bucket{le=\"10\"} 1\n"
                                       "p_seconds_bucket{le=\"+Inf\"} 1\n"
                                       "p_seconds_sum 0.0003\n"
                                       "p_seconds_count 1\n"));
    free(text);
    double exp[4];
    ss_metrics_buckets_exponential(0.001, 2, 4, exp);
    ck_assert_double_eq(exp[3], 0.008);
    ss_metrics_destroy(m);
}
END_TEST

START_TEST(number_formatting) {
    char buf[64];
    struct {
        double v;
        const char *s;
    } cases[] = {{0, "0"},
                 {42, "42"},
                 {-3, "-3"},
                 {0.1, "0.1"},
                 {2.5, "2.5"},
                 {1e-05, "1e-05"},
                 {0.00025, "0.00025"},
                 {1.0 / 3, "0.3333333333333333"},
                 {1.5e300, "1.5e+300"},
                 {9007199254740994.0 * 2, "18014398509481988"},
                 {1e20, "1e+20"},
                 {INFINITY, "+Inf"},
                 {-INFINITY, "-Inf"},
                 {NAN, "NaN"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = ss_metrics_format_double(cases[i].v, buf, sizeof buf);
        ck_assert_str_eq(buf, cases[i].s);
        ck_assert_uint_eq(n, strlen(cases[i].s));
    }
    ck_assert_uint_eq(ss_metrics_format_double(12345, buf, 3), 2);
    ck_assert_str_eq(buf, "12");
}
END_TEST

START_TEST(reregistration_returns_same_series) {
    ss_metrics_t *m = ss_metrics_new();
    ss_metrics_counter_t *a = ss_metrics_counter(m, "a_total", "A.");
    ck_assert_ptr_eq(ss_metrics_counter(m, "a_total", "A again."), a);
    ss_metrics_family_t *f = ss_metrics_gauge_family(m, "g", "G.", (const char *[]){"x"}, 1);
    ck_assert_ptr_eq(ss_metrics_gauge_family(m, "g", "G.", (const char *[]){"x"}, 1), f);
    ss_metrics_destroy(m);
}
END_TEST

/* Programming errors abort (SS_BUG), like client_golang's MustRegister panics. */
START_TEST(conflicting_registration_aborts) {
    ss_metrics_t *m = ss_metrics_new();
    ss_metrics_counter(m, "a_total", "A.");
    ss_metrics_gauge(m, "a_total", "A.");
}
END_TEST

START_TEST(invalid_name_aborts) {
    ss_metrics_t *m = ss_metrics_new();
    ss_metrics_counter(m, "bad-name", "B.");
}
END_TEST

START_TEST(histogram_le_label_aborts) {
    ss_metrics_t *m = ss_metrics_new();
    ss_metrics_histogram_family(m, "h", "H.", (const char *[]){"le"}, 1, NULL, 0);
}
END_TEST

START_TEST(wrong_child_type_aborts) {
    ss_metrics_t *m = ss_metrics_new();
    ss_metrics_family_t *f =
        ss_metrics_counter_family(m, "c_total", "C.", (const char *[]){"k"}, 1);
    ss_metrics_gauge_child(f, (const char *[]){"v"});
}
END_TEST

START_TEST(build_info_is_one) {
    ss_metrics_t *m = ss_metrics_new();
    ss_metrics_add_build_info(m, "features", "1.2.3");
    ck_assert_render(m, "# HELP streamscore_build_info A metric with a constant '1' value labelled "
                        "by the service and its version\n"
                        "# TYPE streamscore_build_info gauge\n"
                        "streamscore_build_info{service=\"features\",version=\"1.2.3\"} 1\n");
    ss_metrics_destroy(m);
}
END_TEST

static void count_collect(ss_metrics_t *m, void *opaque) {
    int *calls = opaque;
    (*calls)++;
    /* collectors may register and update metrics at scrape time */
    ss_metrics_gauge_set(ss_metrics_gauge(m, "scrapes", "Scrapes."), *calls);
}

START_TEST(collectors_run_before_render) {
    ss_metrics_t *m = ss_metrics_new();
    int calls = 0;
    ss_metrics_add_collector(m, count_collect, &calls);
    ck_assert_render(m, "# HELP scrapes Scrapes.\n# TYPE scrapes gauge\nscrapes 1\n");
    ck_assert_render(m, "# HELP scrapes Scrapes.\n# TYPE scrapes gauge\nscrapes 2\n");
    ck_assert_int_eq(calls, 2);
    ss_metrics_destroy(m);
}
END_TEST

/* A removed collector is not called again; others keep running; unknown pairs are no-ops. */
START_TEST(removed_collector_is_not_called) {
    ss_metrics_t *m = ss_metrics_new();
    int a = 0, b = 0, other = 0;
    ss_metrics_add_collector(m, count_collect, &a);
    ss_metrics_add_collector(m, count_collect, &b);
    free(ss_metrics_render(m, NULL));
    ss_metrics_remove_collector(m, count_collect, &a);
    ss_metrics_remove_collector(m, count_collect, &other);
    ss_metrics_remove_collector(NULL, count_collect, &a);
    free(ss_metrics_render(m, NULL));
    free(ss_metrics_render(m, NULL));
    ck_assert_int_eq(a, 1);
    ck_assert_int_eq(b, 3);
    ss_metrics_add_collector(m, count_collect, &a); /* may come back */
    free(ss_metrics_render(m, NULL));
    ck_assert_int_eq(a, 2);
    ss_metrics_destroy(m);
}
END_TEST

/* ======================== concurrency ======================== */

#define NTHREADS 8
#define NITER 100000

struct hammer {
    ss_metrics_counter_t *c;
    ss_metrics_counter_t *frac;
    ss_metrics_gauge_t *g;
    ss_metrics_histogram_t *h;
    ss_metrics_family_t *fam;
};

static void *hammer_run(void *arg) {
    struct hammer *hm = arg;
    for (int i = 0; i < NITER; i++) {
        ss_metrics_counter_inc(hm->c);
        ss_metrics_counter_add(hm->frac, 0.5);
        ss_metrics_gauge_add(hm->g, 0.25);
        ss_metrics_histogram_observe(hm->h, (i % 4) * 0.5); /* 0, .5, 1, 1.5 */
        if (i % 1000 == 0) /* child lookups race with updates and renders */
            ss_metrics_counter_inc(ss_metrics_counter_child(hm->fam, (const char *[]){"shared"}));
    }
    return NULL;
}

START_TEST(concurrent_updates_are_exact) {
    ss_metrics_t *m = ss_metrics_new();
    const double bounds[] = {0.5, 1};
    struct hammer hm = {
        ss_metrics_counter(m, "c_total", "C."),
        ss_metrics_counter(m, "f_total", "F."),
        ss_metrics_gauge(m, "g", "G."),
        ss_metrics_histogram(m, "h_seconds", "H.", bounds, 2),
        ss_metrics_counter_family(m, "l_total", "L.", (const char *[]){"k"}, 1),
    };
    pthread_t t[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, hammer_run, &hm), 0);
    for (int i = 0; i < 20; i++) /* scrapes during the updates must not crash or deadlock */
        free(ss_metrics_render(m, NULL));
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    ck_assert_double_eq(ss_metrics_counter_value(hm.c), NTHREADS * NITER);
    ck_assert_double_eq(ss_metrics_counter_value(hm.frac), NTHREADS * NITER * 0.5);
    ck_assert_double_eq(ss_metrics_gauge_value(hm.g), NTHREADS * NITER * 0.25);
    ck_assert_uint_eq(ss_metrics_histogram_count(hm.h), NTHREADS * NITER);
    ck_assert_double_eq(ss_metrics_histogram_sum(hm.h), NTHREADS * (NITER / 4) * 3.0);
    ck_assert_double_eq(
        ss_metrics_counter_value(ss_metrics_counter_child(hm.fam, (const char *[]){"shared"})),
        NTHREADS * (NITER / 1000));
    char *text = ss_metrics_render(m, NULL);
    ck_assert_ptr_nonnull(strstr(text, "\nc_total 800000\n"));
    ck_assert_ptr_nonnull(strstr(text, "h_seconds_bucket{le=\"0.5\"} 400000\n"
                                       "h_seconds_bucket{le=\"1\"} 600000\n"
                                       "h_seconds_bucket{le=\"+Inf\"} 800000\n"
                                       "h_seconds_sum 600000\n"
                                       "h_seconds_count 800000\n"));
    free(text);
    ss_metrics_destroy(m);
}
END_TEST

/* ======================== process metrics ======================== */

START_TEST(parse_proc_files) {
    double vm = 0, rss = 0;
    ck_assert_int_eq(ss_metrics_parse_statm("100 25 3 4 0 5 0\n", 4096, &vm, &rss), 0);
    ck_assert_double_eq(vm, 409600);
    ck_assert_double_eq(rss, 102400);
    ck_assert_int_lt(ss_metrics_parse_statm("garbage", 4096, &vm, &rss), 0);

    /* comm with spaces and ')' must not shift the fields; starttime (22) is 777 */
    const char *stat = "1234 (we ird) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 "
                       "777 1000000 200 18446744073709551615\n";
    unsigned long long ticks = 0;
    ck_assert_int_eq(ss_metrics_parse_stat_starttime(stat, &ticks), 0);
    ck_assert_uint_eq(ticks, 777);
    ck_assert_int_lt(ss_metrics_parse_stat_starttime("1234 (x) S 1 2", &ticks), 0);
    ck_assert_int_lt(ss_metrics_parse_stat_starttime("no parens", &ticks), 0);

    long long btime = 0;
    ck_assert_int_eq(
        ss_metrics_parse_btime("cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n", &btime), 0);
    ck_assert_int_eq(btime, 1700000000LL);
    ck_assert_int_lt(ss_metrics_parse_btime("cpu 1\n", &btime), 0);
}
END_TEST

START_TEST(process_metrics_are_rendered) {
    ss_metrics_t *m = ss_metrics_new();
    ss_metrics_add_process(m);
    ss_metrics_add_process(m); /* idempotent */
    char *text = ss_metrics_render(m, NULL);
    ck_assert_ptr_nonnull(strstr(text, "# TYPE process_cpu_seconds_total counter\n"));
    ck_assert_ptr_nonnull(strstr(text, "# TYPE process_resident_memory_bytes gauge\n"));
    ck_assert_ptr_nonnull(strstr(text, "# TYPE process_start_time_seconds gauge\n"));
    ck_assert_ptr_null(strstr(text, "process_resident_memory_bytes 0\n"));
    ck_assert_ptr_null(strstr(text, "process_start_time_seconds 0\n"));
    const char *p = strstr(text, "\nprocess_resident_memory_bytes ");
    ck_assert_ptr_nonnull(p);
    ck_assert_double_gt(strtod(p + strlen("\nprocess_resident_memory_bytes "), NULL), 0);
    /* exactly one TYPE line per family */
    const char *first = strstr(text, "# TYPE process_open_fds");
    ck_assert_ptr_nonnull(first);
    ck_assert_ptr_null(strstr(first + 1, "# TYPE process_open_fds"));
    free(text);
    ss_metrics_destroy(m);
}
END_TEST

/* ======================== http routing (no socket) ======================== */

struct app {
    int ready;
    int handled;
};

static int app_ready(ss_http_t *h, char *reason, size_t size, void *opaque) {
    (void)h;
    struct app *a = opaque;
    if (!a->ready)
        snprintf(reason, size, "no partitions assigned");
    return a->ready;
}

static void customer_handler(ss_http_t *h, const ss_http_request_t *req, ss_http_response_t *resp,
                             void *opaque) {
    (void)h;
    struct app *a = opaque;
    char fields[64];
    a->handled++;
    if (ss_http_query_param(req->query, "fields", fields, sizeof fields) < 0)
        snprintf(fields, sizeof fields, "all");
    resp->content_type = "application/json";
    ss_http_response_printf(resp, "{\"path\":\"%s\",\"fields\":\"%s\"}", req->path, fields);
}

static void ping_handler(ss_http_t *h, const ss_http_request_t *req, ss_http_response_t *resp,
                         void *opaque) {
    (void)h;
    (void)req;
    (void)opaque;
    (void)resp; /* status, type and body left at their defaults */
}

/* Runs one request through h and returns its status; the body goes to *body (caller frees). */
static int do_req(ss_http_t *h, const char *method, const char *path, const char *query, double now,
                  char **body, const char **ctype) {
    ss_http_request_t req = {method, path, query};
    ss_http_response_t resp = SS_HTTP_RESPONSE_INIT;
    ss_http_handle(h, &req, &resp, now);
    int status = resp.status;
    if (ctype)
        *ctype = resp.content_type;
    *body = ss_xstrdup(resp.body ? resp.body : "");
    ss_http_response_release(&resp);
    return status;
}

#define ck_assert_req(h, method, path, query, now, status, text)                                   \
    do {                                                                                           \
        char *b_;                                                                                  \
        ck_assert_int_eq(do_req((h), (method), (path), (query), (now), &b_, NULL), (status));      \
        ck_assert_str_eq(b_, (text));                                                              \
        free(b_);                                                                                  \
    } while (0)

START_TEST(livez_follows_heartbeat) {
    ss_http_opts_t o = {.live_timeout_s = 5};
    ss_err_t err = SS_ERR_INIT;
    ss_http_t *h = ss_http_new(&o, &err);
    ck_assert_ptr_nonnull(h);
    ss_http_heartbeat_at(h, 100);
    ck_assert_req(h, "GET", "/livez", "", 104, 200, "ok\n");
    ck_assert_req(h, "GET", "/healthz", "", 105, 200, "ok\n");
    ck_assert_req(h, "GET", "/livez", "", 106, 503,
                  "main loop stalled: no heartbeat for 6.0 s (limit 5.0 s)\n");
    ck_assert_req(h, "GET", "/healthz", "", 106, 503,
                  "main loop stalled: no heartbeat for 6.0 s (limit 5.0 s)\n");
    ck_assert_req(h, "GET", "/readyz", "", 106, 503, "not ready: main loop stalled for 6.0 s\n");
    ss_http_heartbeat_at(h, 106);
    ck_assert_req(h, "GET", "/livez", "", 106.5, 200, "ok\n");
    ck_assert_req(h, "GET", "/readyz", "", 106.5, 200, "ready\n"); /* no callback: ready */
    ss_http_destroy(h);
    ss_http_destroy(NULL);
}
END_TEST

START_TEST(readyz_asks_the_callback) {
    struct app a = {0, 0};
    ss_http_opts_t o = {.ready = app_ready, .ready_opaque = &a};
    ss_http_t *h = ss_http_new(&o, NULL);
    ss_http_heartbeat_at(h, 10);
    ck_assert_req(h, "GET", "/readyz", "", 11, 503, "not ready: no partitions assigned\n");
    a.ready = 1;
    ck_assert_req(h, "GET", "/readyz", "", 11, 200, "ready\n");
    /* default live timeout is 30 s */
    ck_assert_req(h, "GET", "/livez", "", 40, 200, "ok\n");
    ck_assert_req(h, "GET", "/livez", "", 40.5, 503,
                  "main loop stalled: no heartbeat for 30.5 s (limit 30.0 s)\n");
    ss_http_destroy(h);
}
END_TEST

START_TEST(metrics_endpoint_serves_registry) {
    ss_metrics_t *m = ss_metrics_new();
    ss_metrics_counter_inc(ss_metrics_counter(m, "x_total", "X."));
    ss_http_opts_t o = {.metrics = m};
    ss_http_t *h = ss_http_new(&o, NULL);
    char *body;
    const char *ctype;
    ck_assert_int_eq(do_req(h, "GET", "/metrics", "", ss_metrics_now(), &body, &ctype), 200);
    ck_assert_str_eq(ctype, "text/plain; version=0.0.4; charset=utf-8");
    ck_assert_str_eq(body, "# HELP x_total X.\n# TYPE x_total counter\nx_total 1\n");
    free(body);
    ss_http_destroy(h);
    /* without a registry /metrics does not exist */
    h = ss_http_new(NULL, NULL);
    ck_assert_req(h, "GET", "/metrics", "", 0, 404, "no such endpoint '/metrics'\n");
    ss_http_destroy(h);
    ss_metrics_destroy(m);
}
END_TEST

START_TEST(routes_methods_and_404) {
    struct app a = {1, 0};
    ss_http_t *h = ss_http_new(NULL, NULL);
    ck_assert_int_eq(ss_http_route(h, "/v1/customers/", customer_handler, &a), 0);
    ck_assert_int_eq(ss_http_route(h, "/v1/ping", ping_handler, NULL), 0);
    ck_assert_int_eq(ss_http_route(h, "nope", ping_handler, NULL), SS_ERR_INVAL);
    char *body;
    const char *ctype;
    ck_assert_int_eq(
        do_req(h, "GET", "/v1/customers/C42/features", "fields=rfm%2Cchurn&x=1", 0, &body, &ctype),
        200);
    ck_assert_str_eq(ctype, "application/json");
    ck_assert_str_eq(body, "{\"path\":\"/v1/customers/C42/features\",\"fields\":\"rfm,churn\"}");
    free(body);
    ck_assert_req(h, "HEAD", "/v1/customers/C1", NULL, 0, 200,
                  "{\"path\":\"/v1/customers/C1\",\"fields\":\"all\"}");
    ck_assert_int_eq(a.handled, 2);
    ck_assert_int_eq(do_req(h, "GET", "/v1/ping", "", 0, &body, &ctype), 200);
    ck_assert_str_eq(ctype, "text/plain; charset=utf-8");
    ck_assert_str_eq(body, "");
    free(body);
    ck_assert_req(h, "GET", "/v1/ping/x", "", 0, 404, "no such endpoint '/v1/ping/x'\n");
    ck_assert_req(h, "GET", "/v1/customers", "", 0, 404, "no such endpoint '/v1/customers'\n");
    ck_assert_req(h, "POST", "/livez", "", 0, 405, "method 'POST' not allowed\n");
    ck_assert_int_eq(a.handled, 2);
    /* port 0 without SS_HTTP_EPHEMERAL: the listener is off, the handle still works */
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(ss_http_start(h, &err), 0);
    ck_assert_int_eq(ss_http_port(h), 0);
    ss_http_heartbeat(h);
    ss_http_destroy(h);
}
END_TEST

START_TEST(bad_options_are_rejected) {
    ss_err_t err = SS_ERR_INIT;
    ss_http_opts_t o = {.bind_addr = "localhost", .port = 9100};
    ck_assert_ptr_null(ss_http_new(&o, &err));
    ck_assert_int_eq(err.code, SS_ERR_INVAL);
    ck_assert_str_eq(err.msg, "invalid http bind address 'localhost': not a numeric address");
    o = (ss_http_opts_t){.port = 70000};
    ck_assert_ptr_null(ss_http_new(&o, &err));
    ck_assert_str_eq(err.msg, "invalid http port 70000: not in 0..65535");
    o = (ss_http_opts_t){.bind_addr = "::1"};
    ss_http_t *h = ss_http_new(&o, &err);
    ck_assert_ptr_nonnull(h);
    ss_http_destroy(h);
}
END_TEST

START_TEST(query_param_decoding) {
    char out[16];
    ck_assert_int_eq(ss_http_query_param("a=1&name=x%20y+z&b", "name", out, sizeof out), 5);
    ck_assert_str_eq(out, "x y z");
    ck_assert_int_eq(ss_http_query_param("a=1&b", "b", out, sizeof out), 0);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(ss_http_query_param("a=1", "ab", out, sizeof out), SS_ERR_NOTFOUND);
    ck_assert_int_eq(ss_http_query_param("", "a", out, sizeof out), SS_ERR_NOTFOUND);
    ck_assert_int_eq(ss_http_query_param("a=%zz", "a", out, sizeof out), SS_ERR_INVAL);
    ck_assert_int_eq(ss_http_query_param("a=%4", "a", out, sizeof out), SS_ERR_INVAL);
    ck_assert_int_eq(ss_http_query_param("a=0123456789abcdef", "a", out, sizeof out), SS_ERR_INVAL);
    ck_assert_int_eq(ss_http_query_param("a=%41", "a", out, sizeof out), 1);
    ck_assert_str_eq(out, "A");
}
END_TEST

Suite *metrics_suite(void) {
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("render");
    tcase_add_test(tc, empty_registry_renders_nothing);
    tcase_add_test(tc, counter_and_gauge_text);
    tcase_add_test(tc, counter_ignores_negative_and_nan);
    tcase_add_test(tc, labels_and_escaping);
    tcase_add_test(tc, family_without_series_is_omitted);
    tcase_add_test(tc, hidden_gauge_is_omitted_until_set);
    tcase_add_test(tc, histogram_buckets_are_cumulative);
    tcase_add_test(tc, labelled_histogram_puts_le_last);
    tcase_add_test(tc, default_buckets_span_50us_to_10s);
    tcase_add_test(tc, number_formatting);
    tcase_add_test(tc, reregistration_returns_same_series);
    tcase_add_test_raise_signal(tc, conflicting_registration_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, invalid_name_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, histogram_le_label_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, wrong_child_type_aborts, SIGABRT);
    tcase_add_test(tc, build_info_is_one);
    tcase_add_test(tc, collectors_run_before_render);
    tcase_add_test(tc, removed_collector_is_not_called);
    suite_add_tcase(s, tc);

    tc = tcase_create("concurrency");
    tcase_add_test(tc, concurrent_updates_are_exact);
    suite_add_tcase(s, tc);

    tc = tcase_create("process");
    tcase_add_test(tc, parse_proc_files);
    tcase_add_test(tc, process_metrics_are_rendered);
    suite_add_tcase(s, tc);

    tc = tcase_create("http");
    tcase_add_test(tc, livez_follows_heartbeat);
    tcase_add_test(tc, readyz_asks_the_callback);
    tcase_add_test(tc, metrics_endpoint_serves_registry);
    tcase_add_test(tc, routes_methods_and_404);
    tcase_add_test(tc, bad_options_are_rejected);
    tcase_add_test(tc, query_param_decoding);
    suite_add_tcase(s, tc);
    return s;
}
