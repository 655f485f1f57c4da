/* Unit tests of drift_alert: fingerprints, firing once on the transition, repeat interval,
 * escalation and de-escalation, hysteresis and consecutive-window rules (no flapping), BELOW
 * alerts, the table limit, and the DriftAlert Avro and Alertmanager JSON renderings. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "drift_alert.h"
#include "ss_avro.h"
#include "ss_test.h"

#define DAY INT64_C(86400000)
#define T0 INT64_C(1704067200000) /* 2024-01-01T00:00:00Z */
#define MAXEV 32

typedef struct rec {
    int n;
    dalert_status_t status[MAXEV];
    dalert_severity_t sev[MAXEV];
    dalert_reason_t reason[MAXEV];
    int64_t starts[MAXEV], ends[MAXEV];
    char fp[MAXEV][DALERT_FP_LEN];
} rec_t;

static void on_emit(const dalert_event_t *ev, void *opaque) {
    rec_t *r = opaque;
    ck_assert_int_lt(r->n, MAXEV);
    r->status[r->n] = ev->status;
    r->sev[r->n] = ev->severity;
    r->reason[r->n] = ev->reason;
    r->starts[r->n] = ev->starts_at_ms;
    r->ends[r->n] = ev->ends_at_ms;
    snprintf(r->fp[r->n], sizeof(r->fp[r->n]), "%s", ev->fingerprint);
    r->n++;
}

static const dalert_label_t LBL[2] = {{"model_version", "m1"}, {"feature", "avg_order"}};

/* Feeds PSI value v for the window starting at day d (evaluated at its end). */
static int feed(dalert_t *a, rec_t *r, int d, double v) {
    ss_err_t err = SS_ERR_INIT;
    dalert_eval_t e = {.name = "FeatureDrift",
                       .labels = LBL,
                       .n_labels = 2,
                       .value = v,
                       .warning = 0.1,
                       .critical = 0.25,
                       .dir = DALERT_ABOVE,
                       .since_ms = T0 + d * DAY,
                       .summary = "drift"};
    int rc = dalert_evaluate(a, &e, T0 + (d + 1) * DAY, on_emit, r, &err);
    ck_assert_int_ge(rc, 0);
    return rc;
}

START_TEST(fingerprint_is_stable_and_order_free) {
    char a[DALERT_FP_LEN], b[DALERT_FP_LEN], c[DALERT_FP_LEN];
    ss_err_t err = SS_ERR_INIT;
    dalert_label_t rev[2] = {LBL[1], LBL[0]};
    ck_assert_int_eq(dalert_fingerprint("FeatureDrift", LBL, 2, a, &err), 0);
    ck_assert_int_eq(dalert_fingerprint("FeatureDrift", rev, 2, b, &err), 0);
    ck_assert_str_eq(a, b);
    ck_assert_uint_eq(strlen(a), 16);
    dalert_label_t other[2] = {{"model_version", "m1"}, {"feature", "total_spent"}};
    ck_assert_int_eq(dalert_fingerprint("FeatureDrift", other, 2, c, &err), 0);
    ck_assert_str_ne(a, c);
    /* FNV-1a 64 of "alertname" 0xff "A" 0xff (hand-checked with Python:
     * h=0xcbf29ce484222325; for b in b"alertname\xffA\xff": h=((h^b)*0x100000001b3)%2**64). */
    ck_assert_int_eq(dalert_fingerprint("A", NULL, 0, c, &err), 0);
    ck_assert_str_eq(c, "d2c6efc389df0927");
    dalert_label_t bad[1] = {{"alertname", "x"}};
    ck_assert_int_eq(dalert_fingerprint("A", bad, 1, c, &err), SS_ERR_INVAL);
}
END_TEST

START_TEST(fires_once_repeats_and_resolves) {
    ss_err_t err = SS_ERR_INIT;
    dalert_opts_t o = {.repeat_ms = 3 * DAY};
    dalert_t *a = dalert_new(&o, &err);
    rec_t r = {0};
    ck_assert_int_eq(feed(a, &r, 0, 0.02), 0);
    ck_assert_int_eq(feed(a, &r, 1, 0.4), 1); /* straight to critical */
    ck_assert_int_eq(r.status[0], DALERT_FIRING);
    ck_assert_int_eq(r.sev[0], DALERT_CRITICAL);
    ck_assert_int_eq(r.reason[0], DALERT_NEW);
    ck_assert_int_eq(r.starts[0], T0 + 1 * DAY);
    ck_assert_int_eq(r.ends[0], 0);
    ck_assert_uint_eq(dalert_firing(a), 1);
    ck_assert_int_eq(feed(a, &r, 2, 0.5), 0); /* still firing, no repeat yet */
    ck_assert_int_eq(feed(a, &r, 3, 0.5), 0);
    ck_assert_int_eq(feed(a, &r, 4, 0.5), 1); /* 3 days after the first emission */
    ck_assert_int_eq(r.reason[1], DALERT_REPEAT);
    ck_assert_int_eq(r.starts[1], T0 + 1 * DAY);
    /* Clears only after two windows below 0.25 * 0.8 = 0.2 ... and 0.1 * 0.8 for warning. */
    ck_assert_int_eq(feed(a, &r, 5, 0.01), 0);
    ck_assert_int_eq(feed(a, &r, 6, 0.01), 1);
    ck_assert_int_eq(r.status[2], DALERT_RESOLVED);
    ck_assert_int_eq(r.reason[2], DALERT_CLEARED);
    ck_assert_int_eq(r.ends[2], T0 + 7 * DAY);
    ck_assert_str_eq(r.fp[2], r.fp[0]);
    ck_assert_uint_eq(dalert_firing(a), 0);
    /* Nothing more while clear. */
    ck_assert_int_eq(feed(a, &r, 7, 0.01), 0);
    ck_assert_int_eq(r.n, 3);
    dalert_destroy(a);
    dalert_destroy(NULL);
}
END_TEST

START_TEST(hysteresis_prevents_flapping) {
    ss_err_t err = SS_ERR_INIT;
    dalert_opts_t o = {.repeat_ms = -1};
    dalert_t *a = dalert_new(&o, &err);
    rec_t r = {0};
    /* Hovering around the warning threshold 0.1: fires once, never resolves while it stays above
     * 0.08, and one clear window alone does not resolve. */
    const double v[] = {0.11, 0.095, 0.105, 0.09, 0.07, 0.12, 0.07, 0.099};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        feed(a, &r, (int)i, v[i]);
    ck_assert_int_eq(r.n, 1);
    ck_assert_int_eq(r.sev[0], DALERT_WARNING);
    ck_assert_uint_eq(dalert_firing(a), 1);
    dalert_destroy(a);
}
END_TEST

START_TEST(for_windows_and_escalation) {
    ss_err_t err = SS_ERR_INIT;
    dalert_opts_t o = {.for_windows = 2, .clear_windows = 1, .repeat_ms = -1};
    dalert_t *a = dalert_new(&o, &err);
    rec_t r = {0};
    ck_assert_int_eq(feed(a, &r, 0, 0.15), 0); /* one breach is not enough */
    ck_assert_int_eq(feed(a, &r, 1, 0.05), 0); /* run broken */
    ck_assert_int_eq(feed(a, &r, 2, 0.15), 0);
    ck_assert_int_eq(feed(a, &r, 3, 0.15), 1);
    ck_assert_int_eq(r.sev[0], DALERT_WARNING);
    ck_assert_int_eq(r.starts[0], T0 + 2 * DAY); /* the start of the breaching run */
    ck_assert_int_eq(feed(a, &r, 4, 0.3), 0);
    ck_assert_int_eq(feed(a, &r, 5, 0.3), 1);
    ck_assert_int_eq(r.reason[1], DALERT_ESCALATED);
    ck_assert_int_eq(r.sev[1], DALERT_CRITICAL);
    ck_assert_int_eq(feed(a, &r, 6, 0.22), 0); /* inside the critical band: stays */
    ck_assert_int_eq(feed(a, &r, 7, 0.15), 1); /* below 0.2: de-escalates to warning */
    ck_assert_int_eq(r.reason[2], DALERT_DEESCALATED);
    ck_assert_int_eq(r.sev[2], DALERT_WARNING);
    ck_assert_int_eq(feed(a, &r, 8, NAN), 0); /* not judged: nothing changes */
    ck_assert_int_eq(feed(a, &r, 9, 0.01), 1);
    ck_assert_int_eq(r.status[3], DALERT_RESOLVED);
    ck_assert_int_eq(r.sev[3], DALERT_WARNING);
    dalert_destroy(a);
}
END_TEST

START_TEST(below_direction) {
    ss_err_t err = SS_ERR_INIT;
    dalert_t *a = dalert_new(NULL, &err);
    rec_t r = {0};
    dalert_eval_t e = {.name = "EventVolumeLow",
                       .value = 0.3,
                       .warning = 0.5,
                       .critical = NAN,
                       .dir = DALERT_BELOW};
    ck_assert_int_eq(dalert_evaluate(a, &e, T0, on_emit, &r, &err), 1);
    ck_assert_int_eq(r.sev[0], DALERT_WARNING);
    ck_assert_int_eq(r.starts[0], T0); /* since 0: now */
    e.value = 0.55;                    /* not above 0.5 / 0.8 = 0.625: not clear */
    dalert_evaluate(a, &e, T0 + DAY, on_emit, &r, &err);
    dalert_evaluate(a, &e, T0 + 2 * DAY, on_emit, &r, &err);
    ck_assert_int_eq(r.n, 3); /* repeated every day (the default) */
    ck_assert_int_eq(r.reason[1], DALERT_REPEAT);
    ck_assert_int_eq(r.reason[2], DALERT_REPEAT);
    e.value = 1.0;
    dalert_evaluate(a, &e, T0 + 3 * DAY, on_emit, &r, &err);
    dalert_evaluate(a, &e, T0 + 4 * DAY, on_emit, &r, &err);
    ck_assert_int_eq(r.status[r.n - 1], DALERT_RESOLVED);
    dalert_destroy(a);
}
END_TEST

START_TEST(limits_and_errors) {
    ss_err_t err = SS_ERR_INIT;
    dalert_opts_t bad = {.clear_ratio = 1.5};
    ck_assert_ptr_null(dalert_new(&bad, &err));
    ck_assert_str_eq(err.msg, "clear_ratio 1.5 out of range (0, 1]");
    dalert_opts_t o = {.max_alerts = 2};
    dalert_t *a = dalert_new(&o, &err);
    rec_t r = {0};
    char v[3][4] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        dalert_label_t l = {"feature", v[i]};
        dalert_eval_t e = {.name = "FeatureDrift",
                           .labels = &l,
                           .n_labels = 1,
                           .value = 1,
                           .warning = 0.1,
                           .critical = 0.25};
        int rc = dalert_evaluate(a, &e, T0, on_emit, &r, &err);
        ck_assert_int_eq(rc, i < 2 ? 1 : SS_ERR_FATAL);
    }
    ck_assert_str_eq(err.msg, "too many alerts (2)");
    /* Values that never breach create nothing. */
    dalert_label_t l = {"feature", "d"};
    dalert_eval_t e = {.name = "FeatureDrift",
                       .labels = &l,
                       .n_labels = 1,
                       .value = 0,
                       .warning = 0.1,
                       .critical = 0.25};
    ck_assert_int_eq(dalert_evaluate(a, &e, T0, on_emit, &r, &err), 0);
    dalert_eval_t noname = {.value = 1};
    ck_assert_int_eq(dalert_evaluate(a, &noname, T0, on_emit, &r, &err), SS_ERR_INVAL);
    dalert_destroy(a);
}
END_TEST

typedef struct cap {
    ss_avro_writer_t *w;
    ss_buf_t out;
    json_t *am;
    int n;
} cap_t;

static void on_render(const dalert_event_t *ev, void *opaque) {
    cap_t *c = opaque;
    ss_err_t err = SS_ERR_INIT;
    avro_value_t *v = ss_avro_writer_value(c->w);
    ck_assert_int_eq(dalert_to_avro(ev, v, &err), 0);
    ss_buf_reset(&c->out);
    ck_assert_int_eq(ss_avro_writer_encode(c->w, &c->out, &err), 0);
    dalert_am_append(c->am, ev, "http://drift/");
    c->n++;
}

START_TEST(renders_avro_and_alertmanager_json) {
    ss_err_t err = SS_ERR_INIT;
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/schemas", ss_test_source_dir());
    ss_avro_reg_t *reg = ss_avro_reg_new(dir, &err);
    ck_assert_msg(reg != NULL, "%s", err.msg);
    int32_t id;
    ck_assert_int_eq(ss_avro_reg_current_id(reg, "drift-alerts", &id, &err), 0);
    cap_t c = {.w = ss_avro_writer_new(reg, id, &err), .out = SS_BUF_INIT, .am = json_array()};
    ck_assert_ptr_nonnull(c.w);
    dalert_t *a = dalert_new(NULL, &err);
    dalert_eval_t e = {.name = "FeatureDrift",
                       .labels = LBL,
                       .n_labels = 2,
                       .value = 0.15,
                       .warning = 0.1,
                       .critical = 0.25,
                       .since_ms = T0,
                       .summary = "avg_order drifted",
                       .description = "PSI 0.15"};
    ck_assert_int_eq(dalert_evaluate(a, &e, T0 + DAY, on_render, &c, &err), 1);
    ss_buf_t js = SS_BUF_INIT;
    ck_assert_int_eq(ss_avro_to_json(reg, c.out.buf, c.out.len, &js, &err), 0);
    json_t *doc = json_loadb(js.buf, js.len, 0, NULL);
    ck_assert_ptr_nonnull(doc);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "status")), "FIRING");
    ck_assert_str_eq(json_string_value(json_object_get(doc, "severity")), "warning");
    ck_assert_str_eq(json_string_value(json_object_get(doc, "name")), "FeatureDrift");
    json_t *labels = json_object_get(doc, "labels");
    ck_assert_str_eq(json_string_value(json_object_get(labels, "feature")), "avg_order");
    ck_assert_str_eq(json_string_value(json_object_get(labels, "alertname")), "FeatureDrift");
    ck_assert(json_is_null(json_object_get(doc, "ends_at")));
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "starts_at")), T0);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(doc, "annotations"), "value")), "0.15");
    json_decref(doc);
    /* Escalation: Alertmanager gets the warning variant resolved and the critical one firing. */
    e.value = 0.4;
    ck_assert_int_eq(dalert_evaluate(a, &e, T0 + 2 * DAY, on_render, &c, &err), 1);
    ck_assert_uint_eq(json_array_size(c.am), 3);
    json_t *old = json_array_get(c.am, 1), *cur = json_array_get(c.am, 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(old, "labels"), "severity")),
                     "warning");
    ck_assert_str_eq(json_string_value(json_object_get(old, "endsAt")), "2024-01-03T00:00:00.000Z");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(cur, "labels"), "severity")),
                     "critical");
    ck_assert_ptr_null(json_object_get(cur, "endsAt"));
    ck_assert_str_eq(json_string_value(json_object_get(cur, "startsAt")),
                     "2024-01-01T00:00:00.000Z");
    ck_assert_str_eq(json_string_value(json_object_get(cur, "generatorURL")), "http://drift/");
    /* Resolution renders ends_at. */
    e.value = 0.0;
    dalert_evaluate(a, &e, T0 + 3 * DAY, on_render, &c, &err);
    dalert_evaluate(a, &e, T0 + 4 * DAY, on_render, &c, &err);
    ss_buf_reset(&js);
    ck_assert_int_eq(ss_avro_to_json(reg, c.out.buf, c.out.len, &js, &err), 0);
    doc = json_loadb(js.buf, js.len, 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "status")), "RESOLVED");
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "ends_at")), T0 + 4 * DAY);
    json_decref(doc);
    ss_buf_release(&js);
    json_decref(c.am);
    ss_buf_release(&c.out);
    dalert_destroy(a);
    ss_avro_writer_destroy(c.w);
    ss_avro_reg_destroy(reg);
}
END_TEST

START_TEST(foreach_active_in_firing_order) {
    ss_err_t err = SS_ERR_INIT;
    dalert_t *a = dalert_new(NULL, &err);
    rec_t r = {0};
    const char *f[3] = {"x", "y", "z"};
    for (int i = 0; i < 3; i++) {
        dalert_label_t l = {"feature", f[i]};
        dalert_eval_t e = {.name = "FeatureDrift",
                           .labels = &l,
                           .n_labels = 1,
                           .value = i == 1 ? 0 : 0.3,
                           .warning = 0.1,
                           .critical = 0.25};
        dalert_evaluate(a, &e, T0, on_emit, &r, &err);
    }
    rec_t act = {0};
    dalert_foreach_active(a, on_emit, &act);
    ck_assert_int_eq(act.n, 2);
    ck_assert_int_eq(act.reason[0], DALERT_ACTIVE);
    ck_assert_str_eq(act.fp[0], r.fp[0]);
    ck_assert_str_eq(act.fp[1], r.fp[1]);
    dalert_destroy(a);
}
END_TEST

START_TEST(rfc3339) {
    char b[40];
    dalert_rfc3339(T0 + 1234, b, sizeof(b));
    ck_assert_str_eq(b, "2024-01-01T00:00:01.234Z");
    dalert_rfc3339(-1, b, sizeof(b));
    ck_assert_str_eq(b, "1969-12-31T23:59:59.999Z");
}
END_TEST

Suite *dalert_suite(void) {
    Suite *s = suite_create("dalert");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, fingerprint_is_stable_and_order_free);
    tcase_add_test(tc, fires_once_repeats_and_resolves);
    tcase_add_test(tc, hysteresis_prevents_flapping);
    tcase_add_test(tc, for_windows_and_escalation);
    tcase_add_test(tc, below_direction);
    tcase_add_test(tc, limits_and_errors);
    tcase_add_test(tc, renders_avro_and_alertmanager_json);
    tcase_add_test(tc, foreach_active_in_firing_order);
    tcase_add_test(tc, rfc3339);
    suite_add_tcase(s, tc);
    return s;
}
