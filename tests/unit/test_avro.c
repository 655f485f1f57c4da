/* Unit tests for ss_avro: registry, framing, Transaction codec, resolution with defaults,
 * generic reader/writer for every schema, JSON rendering and hostile input. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ss_avro.h"
#include "ss_test.h"

#define T0 1323435000000LL

static ss_avro_reg_t *reg;
static ss_avro_txn_codec_t *codec;

static void setup(void) {
    char dir[1024];
    ss_err_t err = SS_ERR_INIT;
    snprintf(dir, sizeof(dir), "%s/schemas", ss_test_source_dir());
    reg = ss_avro_reg_new(dir, &err);
    ck_assert_msg(reg != NULL, "%s", err.msg);
    codec = ss_avro_txn_codec_new(reg, &err);
    ck_assert_msg(codec != NULL, "%s", err.msg);
}

static void teardown(void) {
    ss_avro_txn_codec_destroy(codec);
    ss_avro_reg_destroy(reg);
    codec = NULL;
    reg = NULL;
}

#define EXPECT_ERR(call, err, want_code, substr)                                                   \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        ck_assert_msg(rc_ == (want_code), "rc %d, want %d (%s)", rc_, (want_code), (err).msg);     \
        ck_assert_int_eq((err).code, (want_code));                                                 \
        ck_assert_msg(strstr((err).msg, (substr)) != NULL, "message '%s' lacks '%s'", (err).msg,   \
                      (substr));                                                                   \
    } while (0)

static int32_t id_of(const char *name) {
    int32_t id = -1;
    ss_err_t err = SS_ERR_INIT;
    ck_assert_msg(ss_avro_reg_current_id(reg, name, &id, &err) == 0, "%s", err.msg);
    return id;
}

static void fill_txn(ss_txn_t *t, int n_lines) {
    ss_txn_clear(t);
    snprintf(t->order_id, sizeof(t->order_id), "581587");
    snprintf(t->customer_id, sizeof(t->customer_id), "12680");
    t->has_customer = 1;
    snprintf(t->store_id, sizeof(t->store_id), "France");
    t->event_time_ms = T0;
    t->kind = SS_TXN_PURCHASE;
    snprintf(t->currency, sizeof(t->currency), "EUR");
    for (int i = 0; i < n_lines; i++) {
        ss_txn_line_t *l = ss_txn_add_line(t);
        snprintf(l->product_id, sizeof(l->product_id), "2261%d", i);
        l->quantity = 12 + i;
        l->unit_price = 0.85 * (i + 1);
    }
}

static void assert_txn_eq(const ss_txn_t *a, const ss_txn_t *b) {
    ck_assert_str_eq(a->order_id, b->order_id);
    ck_assert_int_eq(a->has_customer, b->has_customer);
    ck_assert_str_eq(a->customer_id, b->customer_id);
    ck_assert_str_eq(a->store_id, b->store_id);
    ck_assert_int_eq(a->event_time_ms, b->event_time_ms);
    ck_assert_int_eq(a->kind, b->kind);
    ck_assert_str_eq(a->currency, b->currency);
    ck_assert_uint_eq(a->n_lines, b->n_lines);
    for (size_t i = 0; i < a->n_lines; i++) {
        ck_assert_str_eq(a->lines[i].product_id, b->lines[i].product_id);
        ck_assert_int_eq(a->lines[i].quantity, b->lines[i].quantity);
        ck_assert(a->lines[i].unit_price == b->lines[i].unit_price);
    }
    ck_assert_uint_eq(ss_txn_fingerprint(a), ss_txn_fingerprint(b));
}

/* ---- tiny Avro builder for hand-made (hostile) payloads ---- */

static void b_long(ss_buf_t *b, int64_t v) {
    uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    while (u >= 0x80) {
        ss_buf_addch(b, (int)(u | 0x80));
        u >>= 7;
    }
    ss_buf_addch(b, (int)u);
}
static void b_str(ss_buf_t *b, const char *s) {
    b_long(b, (int64_t)strlen(s));
    ss_buf_adds(b, s);
}
static void b_double(ss_buf_t *b, double d) {
    uint64_t u;
    memcpy(&u, &d, 8);
    for (int i = 0; i < 8; i++)
        ss_buf_addch(b, (int)(u >> (8 * i)) & 0xff);
}

/* Pieces of a schema-1 Transaction; each hostile test swaps one. */
typedef struct {
    const char *order_id_raw; /* if set, raw bytes replace the whole order_id encoding */
    size_t order_id_raw_len;
    int64_t union_idx;
    int64_t kind;
    int64_t count;      /* lines block count */
    int64_t block_size; /* used when count < 0 */
    int64_t quantity;
    const char *event_time_raw;
    const char *trailer;
} parts_t;

static parts_t good_parts(void) {
    parts_t p = {NULL, 0, 1, 0, 1, 0, 2, NULL, NULL};
    return p;
}

static void build(ss_buf_t *b, const parts_t *p) {
    ss_buf_reset(b);
    ss_avro_frame_put(b, 1);
    if (p->order_id_raw)
        ss_buf_add(b, p->order_id_raw, p->order_id_raw_len);
    else
        b_str(b, "o1");
    b_long(b, p->union_idx);
    if (p->union_idx == 1)
        b_str(b, "c1");
    b_str(b, "s1");
    if (p->event_time_raw)
        ss_buf_adds(b, p->event_time_raw);
    else
        b_long(b, T0);
    b_long(b, p->kind);
    b_long(b, p->count);
    if (p->count < 0)
        b_long(b, p->block_size);
    if (p->count != 0) {
        b_str(b, "p1");
        b_long(b, p->quantity);
        b_double(b, 1.5);
        b_long(b, 0);
    }
    b_str(b, "GBP");
    if (p->trailer)
        ss_buf_adds(b, p->trailer);
}

/* ================================ registry ================================ */

START_TEST(manifest_loads_every_schema) {
    ck_assert_int_eq(id_of("transactions"), 1);
    ck_assert_int_eq(id_of("streamscore.Transaction"), 1);
    ck_assert_int_eq(id_of("Transaction"), 1);
    ck_assert_int_eq(id_of("transactions.dlq"), 2);
    ck_assert_int_eq(id_of("DeadLetter"), 2);
    ck_assert_int_eq(id_of("customer-features"), 3);
    ck_assert_int_eq(id_of("churn-scores"), 4);
    ck_assert_int_eq(id_of("recommendations"), 5);
    ck_assert_int_eq(id_of("demand-forecasts"), 6);
    ck_assert_int_eq(id_of("drift-alerts"), 7);
    ck_assert_int_eq(ss_avro_txn_codec_schema_id(codec), 1);
    ss_err_t err = SS_ERR_INIT;
    /* historical v1 is a writer schema only */
    ck_assert_ptr_nonnull(ss_avro_reg_schema(reg, 100, &err));
    ck_assert_str_eq(ss_avro_reg_topic(reg, 100), "transactions");
    /* the original text is kept (avro-c would drop logicalType) */
    const char *json = ss_avro_reg_json(reg, 1, &err);
    ck_assert_ptr_nonnull(json);
    ck_assert_ptr_nonnull(strstr(json, "timestamp-millis"));
    ck_assert_ptr_null(ss_avro_reg_schema(reg, 42, &err));
    ck_assert_int_eq(err.code, SS_ERR_NOTFOUND);
    ck_assert_str_eq(err.msg, "unknown schema id 42");
    int32_t id;
    EXPECT_ERR(ss_avro_reg_current_id(reg, "nope", &id, &err), err, SS_ERR_NOTFOUND,
               "no current schema for 'nope'");
}
END_TEST

/* Walks a schema JSON checking that every record field has a non-empty doc. */
static void check_docs(json_t *t, const char *file) {
    if (json_is_array(t)) {
        for (size_t i = 0; i < json_array_size(t); i++)
            check_docs(json_array_get(t, i), file);
        return;
    }
    if (!json_is_object(t))
        return;
    json_t *fields = json_object_get(t, "fields");
    for (size_t i = 0; i < json_array_size(fields); i++) {
        json_t *f = json_array_get(fields, i);
        const char *doc = json_string_value(json_object_get(f, "doc"));
        ck_assert_msg(doc && *doc, "%s: field '%s' has no doc", file,
                      json_string_value(json_object_get(f, "name")));
        check_docs(json_object_get(f, "type"), file);
    }
    check_docs(json_object_get(t, "items"), file);
    check_docs(json_object_get(t, "values"), file);
    json_t *inner = json_object_get(t, "type");
    if (json_is_object(inner) || json_is_array(inner))
        check_docs(inner, file);
}

START_TEST(every_field_has_doc_and_namespace) {
    int ids[] = {1, 2, 3, 4, 5, 6, 7, 100};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        ss_err_t err = SS_ERR_INIT;
        const char *text = ss_avro_reg_json(reg, ids[i], &err);
        ck_assert_ptr_nonnull(text);
        json_t *j = json_loads(text, 0, NULL);
        ck_assert_ptr_nonnull(j);
        ck_assert_str_eq(json_string_value(json_object_get(j, "namespace")), "streamscore");
        char name[32];
        snprintf(name, sizeof(name), "schema %d", ids[i]);
        check_docs(j, name);
        json_decref(j);
    }
}
END_TEST

START_TEST(add_is_idempotent_and_detects_conflicts) {
    ss_err_t err = SS_ERR_INIT;
    const char *a =
        "{\"type\":\"record\",\"name\":\"A\",\"fields\":[{\"name\":\"x\",\"type\":\"int\"}]}";
    const char *b =
        "{\"type\":\"record\",\"name\":\"A\",\"fields\":[{\"name\":\"y\",\"type\":\"int\"}]}";
    ck_assert_int_eq(ss_avro_reg_add(reg, 500, NULL, a, &err), 0);
    ck_assert_int_eq(ss_avro_reg_add(reg, 500, NULL, a, &err), 0);
    EXPECT_ERR(ss_avro_reg_add(reg, 500, NULL, b, &err), err, SS_ERR_CONFLICT,
               "schema id 500 already registered with other text");
    EXPECT_ERR(ss_avro_reg_add(reg, 501, NULL, "{\"type\":", &err), err, SS_ERR_INVAL,
               "invalid schema JSON");
    EXPECT_ERR(ss_avro_reg_add(reg, 502, NULL, "\"Nope\"", &err), err, SS_ERR_INVAL,
               "unknown type 'Nope'");
    EXPECT_ERR(ss_avro_reg_add(reg, 503, NULL,
                               "{\"type\":\"record\",\"name\":\"B\",\"fields\":[{\"name\":\"x\","
                               "\"type\":\"int\",\"default\":\"one\"}]}",
                               &err),
               err, SS_ERR_INVAL, "field 'x': default does not match type int");
    EXPECT_ERR(ss_avro_reg_add(reg, -1, NULL, a, &err), err, SS_ERR_INVAL, "negative schema id");
}
END_TEST

START_TEST(bad_manifest_reports_line) {
    char dir[] = "/tmp/ss_avro_test_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof(path), "%s/manifest", dir);
    FILE *f = fopen(path, "w");
    fputs("# comment\n\n1 t A.avsc\n2 t\n", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/A.avsc", dir);
    f = fopen(path, "w");
    fputs("{\"type\":\"record\",\"name\":\"A\",\"fields\":[]}", f);
    fclose(f);
    ss_err_t err = SS_ERR_INIT;
    ck_assert_ptr_null(ss_avro_reg_new(dir, &err));
    ck_assert_int_eq(err.code, SS_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "manifest:4: expected '<id> <topic> <file.avsc>"));
    snprintf(path, sizeof(path), "%s/manifest", dir);
    f = fopen(path, "w");
    fputs("1 t Missing.avsc\n", f);
    fclose(f);
    ck_assert_ptr_null(ss_avro_reg_new(dir, &err));
    ck_assert_int_eq(err.code, SS_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "Missing.avsc"));
    unlink(path);
    snprintf(path, sizeof(path), "%s/A.avsc", dir);
    unlink(path);
    rmdir(dir);
    ck_assert_ptr_null(ss_avro_reg_new("/nonexistent-ss", &err));
    ck_assert_int_eq(err.code, SS_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "cannot open '/nonexistent-ss/manifest'"));
}
END_TEST

static int fetch_calls;
static int fetch_cb(ss_avro_reg_t *r, int32_t id, void *opaque, ss_err_t *err) {
    fetch_calls++;
    if (id == 302)
        return ss_err_set(err, SS_ERR_RETRIABLE, "schema registry '127.0.0.1:1' unreachable");
    if (id != 300)
        return ss_err_set(err, SS_ERR_NOTFOUND, "registry has no schema %d", (int)id);
    return ss_avro_reg_add(r, id, NULL, (const char *)opaque, err);
}

START_TEST(fetch_callback_fills_unknown_ids) {
    ss_err_t err = SS_ERR_INIT;
    ss_avro_reg_set_fetch(reg, fetch_cb, (void *)"\"string\"");
    ck_assert_ptr_nonnull(ss_avro_reg_schema(reg, 300, &err));
    ck_assert_ptr_nonnull(ss_avro_reg_schema(reg, 300, &err));
    ck_assert_int_eq(fetch_calls, 1);
    ck_assert_ptr_null(ss_avro_reg_schema(reg, 301, &err));
    ck_assert_str_eq(err.msg, "registry has no schema 301");
    /* a fetched schema decodes */
    uint8_t p[] = {0, 0, 0, 1, 44, 4, 'h', 'i'};
    ss_buf_t out = SS_BUF_INIT;
    ck_assert_int_eq(ss_avro_to_json(reg, p, sizeof(p), &out, &err), 0);
    ck_assert_str_eq(out.buf, "\"hi\"");
    /* an unreachable registry is retriable, not a bad message; an unknown id is a bad message */
    ss_txn_t t = SS_TXN_INIT;
    uint8_t down[] = {0, 0, 0, 1, 46, 0};
    EXPECT_ERR(ss_avro_txn_decode(codec, down, sizeof(down), &t, &err), err, SS_ERR_RETRIABLE,
               "unreachable");
    uint8_t gone[] = {0, 0, 0, 1, 47, 0};
    EXPECT_ERR(ss_avro_txn_decode(codec, gone, sizeof(gone), &t, &err), err, SS_ERR_DECODE,
               "registry has no schema 303");
    ss_buf_reset(&out);
    EXPECT_ERR(ss_avro_to_json(reg, down, sizeof(down), &out, &err), err, SS_ERR_RETRIABLE,
               "unreachable");
    EXPECT_ERR(ss_avro_txn_encode_id(codec, 303, &t, &out, &err), err, SS_ERR_NOTFOUND,
               "unknown schema id 303");
    ss_txn_release(&t);
    ss_buf_release(&out);
}
END_TEST

/* ================================ framing ================================ */

START_TEST(framing) {
    ss_err_t err = SS_ERR_INIT;
    int32_t id;
    const uint8_t *body;
    size_t blen;
    uint8_t ok[] = {0, 0x01, 0x02, 0x03, 0x04, 0xaa};
    ck_assert_int_eq(ss_avro_frame_parse(ok, sizeof(ok), &id, &body, &blen, &err), 0);
    ck_assert_int_eq(id, 0x01020304);
    ck_assert_ptr_eq(body, ok + 5);
    ck_assert_uint_eq(blen, 1);
    EXPECT_ERR(ss_avro_frame_parse(ok, 4, &id, &body, &blen, &err), err, SS_ERR_DECODE,
               "payload too short: 4 bytes, need at least 5");
    EXPECT_ERR(ss_avro_frame_parse(NULL, 0, &id, &body, &blen, &err), err, SS_ERR_DECODE,
               "payload too short: 0 bytes");
    uint8_t magic[] = {7, 0, 0, 0, 1};
    EXPECT_ERR(ss_avro_frame_parse(magic, 5, &id, &body, &blen, &err), err, SS_ERR_DECODE,
               "bad magic byte 0x07, expected 0x00");
    uint8_t neg[] = {0, 0xff, 0xff, 0xff, 0xfd};
    EXPECT_ERR(ss_avro_frame_parse(neg, 5, &id, &body, &blen, &err), err, SS_ERR_DECODE,
               "negative schema id -3");
    ss_buf_t b = SS_BUF_INIT;
    ss_avro_frame_put(&b, 0x7f000102);
    ck_assert_uint_eq(b.len, 5);
    ck_assert(memcmp(b.buf, "\x00\x7f\x00\x01\x02", 5) == 0);
    ss_buf_release(&b);
}
END_TEST

/* ================================ Transaction ================================ */

START_TEST(txn_round_trip) {
    ss_txn_t a = SS_TXN_INIT, b = SS_TXN_INIT;
    ss_buf_t out = SS_BUF_INIT;
    ss_err_t err = SS_ERR_INIT;
    for (int n = 0; n < 40; n++) {
        fill_txn(&a, n);
        a.has_customer = n % 3 != 0;
        if (!a.has_customer)
            a.customer_id[0] = '\0';
        a.kind = n % 2 ? SS_TXN_RETURN : SS_TXN_PURCHASE;
        a.event_time_ms = -n * 1000003LL; /* negatives round-trip too */
        ss_buf_reset(&out);
        ck_assert_int_eq(ss_avro_txn_encode(codec, &a, &out, &err), 0);
        ck_assert_int_eq(ss_avro_txn_decode(codec, out.buf, out.len, &b, &err), 0);
        assert_txn_eq(&a, &b);
    }
    /* the exact bytes of a small event */
    ss_txn_clear(&a);
    snprintf(a.order_id, sizeof(a.order_id), "%s", "o");
    snprintf(a.store_id, sizeof(a.store_id), "%s", "s");
    snprintf(a.currency, sizeof(a.currency), "%s", "GBP");
    a.event_time_ms = 1;
    a.kind = SS_TXN_RETURN;
    ss_txn_line_t *l = ss_txn_add_line(&a);
    snprintf(l->product_id, sizeof(l->product_id), "%s", "p");
    l->quantity = -1;
    l->unit_price = 2.0;
    ss_buf_reset(&out);
    ck_assert_int_eq(ss_avro_txn_encode(codec, &a, &out, &err), 0);
    static const uint8_t want[] = {0, 0, 0, 0, 1, 2, 'o', 0, 2,    's', 2, 2,   2,   2,  'p',
                                   1, 0, 0, 0, 0, 0, 0,   0, 0x40, 0,   6, 'G', 'B', 'P'};
    ck_assert_uint_eq(out.len, sizeof(want));
    ck_assert(memcmp(out.buf, want, sizeof(want)) == 0);
    a.kind = (ss_txn_kind_t)9;
    EXPECT_ERR(ss_avro_txn_encode(codec, &a, &out, &err), err, SS_ERR_INVAL, "unknown kind 9");
    ss_buf_release(&out);
    ss_txn_release(&a);
    ss_txn_release(&b);
}
END_TEST

/* Our hand-written Transaction encoder agrees with avro-c's own binary reader. */
START_TEST(txn_encoding_matches_avro_c) {
    ss_txn_t a = SS_TXN_INIT;
    ss_buf_t out = SS_BUF_INIT;
    ss_err_t err = SS_ERR_INIT;
    fill_txn(&a, 3);
    a.kind = SS_TXN_RETURN;
    ck_assert_int_eq(ss_avro_txn_encode(codec, &a, &out, &err), 0);
    avro_schema_t sch = ss_avro_reg_schema(reg, 1, &err);
    avro_value_iface_t *iface = avro_generic_class_from_schema(sch);
    avro_value_t v, lines, l;
    avro_generic_value_new(iface, &v);
    avro_reader_t rd = avro_reader_memory(out.buf + 5, (int64_t)out.len - 5);
    ck_assert_int_eq(avro_value_read(rd, &v), 0);
    const char *s;
    int64_t x;
    double d;
    ss_avro_get_str(&v, "order_id", &s, NULL, &err);
    ck_assert_str_eq(s, "581587");
    ss_avro_get_str(&v, "customer_id", &s, NULL, &err);
    ck_assert_str_eq(s, "12680");
    ss_avro_get_long(&v, "event_time", &x, &err);
    ck_assert_int_eq(x, T0);
    ss_avro_get_enum(&v, "kind", &s, &err);
    ck_assert_str_eq(s, "RETURN");
    ss_avro_get_str(&v, "currency", &s, NULL, &err);
    ck_assert_str_eq(s, "EUR");
    avro_value_get_by_name(&v, "lines", &lines, NULL);
    size_t n;
    avro_value_get_size(&lines, &n);
    ck_assert_uint_eq(n, 3);
    avro_value_get_by_index(&lines, 2, &l, NULL);
    ss_avro_get_str(&l, "product_id", &s, NULL, &err);
    ck_assert_str_eq(s, "22612");
    ss_avro_get_double(&l, "unit_price", &d, &err);
    ck_assert(d == 0.85 * 3);
    ck_assert_int_eq(err.code, 0);
    avro_reader_free(rd);
    avro_value_decref(&v);
    avro_value_iface_decref(iface);
    ss_buf_release(&out);
    ss_txn_release(&a);
}
END_TEST

START_TEST(txn_decode_reuses_lines) {
    ss_txn_t a = SS_TXN_INIT, b = SS_TXN_INIT;
    ss_buf_t big = SS_BUF_INIT, small = SS_BUF_INIT;
    ss_err_t err = SS_ERR_INIT;
    fill_txn(&a, 20);
    ck_assert_int_eq(ss_avro_txn_encode(codec, &a, &big, &err), 0);
    fill_txn(&a, 1);
    ck_assert_int_eq(ss_avro_txn_encode(codec, &a, &small, &err), 0);
    ck_assert_int_eq(ss_avro_txn_decode(codec, big.buf, big.len, &b, &err), 0);
    ss_txn_line_t *mem = b.lines;
    ck_assert_int_eq(ss_avro_txn_decode(codec, small.buf, small.len, &b, &err), 0);
    ck_assert_ptr_eq(b.lines, mem);
    assert_txn_eq(&a, &b);
    ss_buf_release(&big);
    ss_buf_release(&small);
    ss_txn_release(&a);
    ss_txn_release(&b);
}
END_TEST

START_TEST(evolution_v1_writer_gets_defaults) {
    ss_txn_t a = SS_TXN_INIT, b = SS_TXN_INIT;
    ss_buf_t out = SS_BUF_INIT, js = SS_BUF_INIT;
    ss_err_t err = SS_ERR_INIT;
    fill_txn(&a, 2);
    a.kind = SS_TXN_RETURN; /* v1 cannot say RETURN */
    ck_assert_int_eq(ss_avro_txn_encode_id(codec, 100, &a, &out, &err), 0);
    ck_assert(memcmp(out.buf, "\x00\x00\x00\x00\x64", 5) == 0);
    ck_assert_int_eq(ss_avro_txn_decode(codec, out.buf, out.len, &b, &err), 0);
    ck_assert_str_eq(b.currency, "GBP"); /* reader default, not the EUR we had */
    ck_assert_int_eq(b.kind, SS_TXN_PURCHASE);
    ck_assert_str_eq(b.order_id, "581587");
    ck_assert_str_eq(b.customer_id, "12680");
    ck_assert_uint_eq(b.n_lines, 2);
    ck_assert_str_eq(b.lines[1].product_id, "22611");
    ck_assert(b.lines[1].unit_price == 1.7);
    /* the v1 payload renders with the v1 field list */
    ck_assert_int_eq(ss_avro_to_json(reg, out.buf, out.len, &js, &err), 0);
    ck_assert_str_eq(js.buf, "{\"order_id\":\"581587\",\"customer_id\":\"12680\",\"store_id\":"
                             "\"France\",\"event_time\":1323435000000,\"lines\":[{\"product_id\":"
                             "\"22610\",\"quantity\":12,\"unit_price\":0.85},{\"product_id\":"
                             "\"22611\",\"quantity\":13,\"unit_price\":1.7}]}");
    /* and through the generic reader */
    ss_avro_reader_t *r = ss_avro_reader_new(reg, 1, &err);
    ck_assert_ptr_nonnull(r);
    avro_value_t *v;
    int32_t wid;
    ck_assert_int_eq(ss_avro_reader_decode(r, out.buf, out.len, &v, &wid, &err), 0);
    ck_assert_int_eq(wid, 100);
    const char *s;
    ck_assert_int_eq(ss_avro_get_str(v, "currency", &s, NULL, &err), 0);
    ck_assert_str_eq(s, "GBP");
    ck_assert_int_eq(ss_avro_get_enum(v, "kind", &s, &err), 0);
    ck_assert_str_eq(s, "PURCHASE");
    ss_avro_reader_destroy(r);
    ss_buf_release(&out);
    ss_buf_release(&js);
    ss_txn_release(&a);
    ss_txn_release(&b);
}
END_TEST

/* A future writer: an extra field (with a default), customer_id no longer nullable, an extra
 * Line field, and a new TxnKind symbol. */
static const char *future_txn =
    "{\"type\":\"record\",\"name\":\"Transaction\",\"namespace\":\"streamscore\",\"fields\":["
    "{\"name\":\"order_id\",\"type\":\"string\"},"
    "{\"name\":\"customer_id\",\"type\":\"string\"},"
    "{\"name\":\"channel\",\"type\":\"string\",\"default\":\"web\"},"
    "{\"name\":\"store_id\",\"type\":\"string\"},"
    "{\"name\":\"event_time\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}},"
    "{\"name\":\"kind\",\"type\":{\"type\":\"enum\",\"name\":\"TxnKind\",\"symbols\":"
    "[\"PURCHASE\",\"RETURN\",\"EXCHANGE\"]},\"default\":\"PURCHASE\"},"
    "{\"name\":\"lines\",\"type\":{\"type\":\"array\",\"items\":{\"type\":\"record\",\"name\":"
    "\"Line\",\"fields\":[{\"name\":\"discount\",\"type\":[\"null\",\"double\"],\"default\":null},"
    "{\"name\":\"product_id\",\"type\":\"string\"},{\"name\":\"quantity\",\"type\":\"int\"},"
    "{\"name\":\"unit_price\",\"type\":\"double\"}]}}},"
    "{\"name\":\"currency\",\"type\":\"string\",\"default\":\"GBP\"},"
    "{\"name\":\"tags\",\"type\":{\"type\":\"map\",\"values\":{\"type\":\"array\",\"items\":"
    "\"string\"}},\"default\":{}}]}";

START_TEST(evolution_extra_writer_fields_are_skipped) {
    ss_err_t err = SS_ERR_INIT;
    ck_assert_msg(ss_avro_reg_add(reg, 200, NULL, future_txn, &err) == 0, "%s", err.msg);
    ss_txn_t a = SS_TXN_INIT, b = SS_TXN_INIT;
    ss_buf_t out = SS_BUF_INIT;
    fill_txn(&a, 3);
    a.kind = SS_TXN_RETURN;
    ck_assert_int_eq(ss_avro_txn_encode_id(codec, 200, &a, &out, &err), 0);
    ck_assert_int_eq(ss_avro_txn_decode(codec, out.buf, out.len, &b, &err), 0);
    assert_txn_eq(&a, &b);

    /* the same through the generic writer, with the extra fields set */
    ss_avro_writer_t *w = ss_avro_writer_new(reg, 200, &err);
    ck_assert_ptr_nonnull(w);
    avro_value_t *v = ss_avro_writer_value(w), line, tags, arr, item;
    ck_assert_int_eq(ss_avro_set_str(v, "order_id", "o9", &err), 0);
    ck_assert_int_eq(ss_avro_set_str(v, "customer_id", "c9", &err), 0);
    ck_assert_int_eq(ss_avro_set_str(v, "channel", "till", &err), 0);
    ck_assert_int_eq(ss_avro_set_str(v, "store_id", "s9", &err), 0);
    ck_assert_int_eq(ss_avro_set_long(v, "event_time", T0, &err), 0);
    ck_assert_int_eq(ss_avro_set_enum(v, "kind", "RETURN", &err), 0);
    ck_assert_int_eq(ss_avro_append(v, "lines", &line, &err), 0);
    ck_assert_int_eq(ss_avro_set_double(&line, "discount", 0.5, &err), 0);
    ck_assert_int_eq(ss_avro_set_str(&line, "product_id", "p9", &err), 0);
    ck_assert_int_eq(ss_avro_set_int(&line, "quantity", 3, &err), 0);
    ck_assert_int_eq(ss_avro_set_double(&line, "unit_price", 2.5, &err), 0);
    ck_assert_int_eq(ss_avro_field(v, "tags", &tags, &err), 0);
    ck_assert_int_eq(avro_value_add(&tags, "k", &arr, NULL, NULL), 0);
    ck_assert_int_eq(avro_value_append(&arr, &item, NULL), 0);
    ck_assert_int_eq(avro_value_set_string(&item, "x"), 0);
    ss_buf_reset(&out);
    ck_assert_msg(ss_avro_writer_encode(w, &out, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(ss_avro_txn_decode(codec, out.buf, out.len, &b, &err), 0);
    ck_assert_str_eq(b.order_id, "o9");
    ck_assert_str_eq(b.customer_id, "c9");
    ck_assert_int_eq(b.has_customer, 1);
    ck_assert_int_eq(b.kind, SS_TXN_RETURN);
    ck_assert_str_eq(b.currency, "GBP"); /* writer default filled by the writer value */
    ck_assert_uint_eq(b.n_lines, 1);
    ck_assert_str_eq(b.lines[0].product_id, "p9");
    ck_assert_int_eq(b.lines[0].quantity, 3);
    ck_assert(b.lines[0].unit_price == 2.5);

    /* a symbol the reader does not know is an error, not a guess */
    v = ss_avro_writer_value(w);
    ss_avro_set_str(v, "order_id", "o9", &err);
    ss_avro_set_str(v, "customer_id", "c9", &err);
    ss_avro_set_str(v, "store_id", "s9", &err);
    ck_assert_int_eq(ss_avro_set_enum(v, "kind", "EXCHANGE", &err), 0);
    ss_buf_reset(&out);
    ck_assert_int_eq(ss_avro_writer_encode(w, &out, &err), 0);
    EXPECT_ERR(ss_avro_txn_decode(codec, out.buf, out.len, &b, &err), err, SS_ERR_DECODE,
               "kind: enum symbol 'EXCHANGE' unknown to the reader");
    ss_avro_writer_destroy(w);
    ss_buf_release(&out);
    ss_txn_release(&a);
    ss_txn_release(&b);
}
END_TEST

START_TEST(incompatible_writer_is_a_decode_error) {
    ss_err_t err = SS_ERR_INIT;
    /* CustomerFeatures bytes on the transactions topic */
    ss_avro_writer_t *w = ss_avro_writer_new(reg, 3, &err);
    ss_buf_t out = SS_BUF_INIT;
    ss_avro_writer_value(w);
    ck_assert_int_eq(ss_avro_writer_encode(w, &out, &err), 0);
    ss_txn_t t = SS_TXN_INIT;
    EXPECT_ERR(
        ss_avro_txn_decode(codec, out.buf, out.len, &t, &err), err, SS_ERR_DECODE,
        "writer schema 3 cannot be read as schema 1: writer type streamscore.CustomerFeatures "
        "does not match reader type streamscore.Transaction");
    /* twice: the failed plan is cached with its reason */
    EXPECT_ERR(ss_avro_txn_decode(codec, out.buf, out.len, &t, &err), err, SS_ERR_DECODE,
               "cannot be read as schema 1");
    /* a reader field without default that the writer lacks */
    ck_assert_int_eq(ss_avro_reg_add(reg, 201, NULL,
                                     "{\"type\":\"record\",\"name\":\"Transaction\",\"namespace\":"
                                     "\"streamscore\",\"fields\":[{\"name\":\"order_id\",\"type\":"
                                     "\"string\"}]}",
                                     &err),
                     0);
    uint8_t p[] = {0, 0, 0, 0, 201, 2, 'o'};
    EXPECT_ERR(ss_avro_txn_decode(codec, p, sizeof(p), &t, &err), err, SS_ERR_DECODE,
               "reader field 'store_id' of streamscore.Transaction is missing from the writer "
               "and has no default");
    uint8_t unk[] = {0, 0, 0, 0, 77, 0};
    EXPECT_ERR(ss_avro_txn_decode(codec, unk, sizeof(unk), &t, &err), err, SS_ERR_DECODE,
               "unknown schema id 77");
    ss_avro_writer_destroy(w);
    ss_buf_release(&out);
    ss_txn_release(&t);
}
END_TEST

/* ================================ resolution (generic) ================================ */

START_TEST(promotions_enum_reorder_unions_defaults) {
    ss_err_t err = SS_ERR_INIT;
    const char *wj = "{\"type\":\"record\",\"name\":\"R\",\"fields\":["
                     "{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"b\",\"type\":\"float\"},"
                     "{\"name\":\"c\",\"type\":\"string\"},{\"name\":\"l\",\"type\":\"long\"},"
                     "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":"
                     "[\"A\",\"B\",\"Z\"]}},"
                     "{\"name\":\"u\",\"type\":[\"null\",\"int\"]},"
                     "{\"name\":\"v\",\"type\":\"int\"},"
                     "{\"name\":\"gone\",\"type\":{\"type\":\"array\",\"items\":\"string\"}}]}";
    const char *rj =
        "{\"type\":\"record\",\"name\":\"R\",\"fields\":["
        "{\"name\":\"a\",\"type\":\"long\"},{\"name\":\"b\",\"type\":\"double\"},"
        "{\"name\":\"c\",\"type\":\"bytes\"},{\"name\":\"l\",\"type\":\"double\"},"
        "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"Y\",\"B\","
        "\"A\"],\"default\":\"Y\"}},"
        "{\"name\":\"u\",\"type\":[\"null\",\"long\"]},"
        "{\"name\":\"v\",\"type\":[\"null\",\"string\",\"double\"]},"
        "{\"name\":\"d\",\"type\":\"string\",\"default\":\"dflt\"},"
        "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"int\"},\"default\":{\"k\":7}},"
        "{\"name\":\"n\",\"type\":[\"null\",\"string\"],\"default\":null},"
        "{\"name\":\"f\",\"type\":{\"type\":\"fixed\",\"name\":\"F\",\"size\":2},\"default\":"
        "\"\\u00ff\\u0001\"}]}";
    ck_assert_msg(ss_avro_reg_add(reg, 400, NULL, wj, &err) == 0, "%s", err.msg);
    ck_assert_msg(ss_avro_reg_add(reg, 401, NULL, rj, &err) == 0, "%s", err.msg);
    ss_avro_writer_t *w = ss_avro_writer_new(reg, 400, &err);
    ss_avro_reader_t *r = ss_avro_reader_new(reg, 401, &err);
    ck_assert_ptr_nonnull(w);
    ck_assert_ptr_nonnull(r);
    ss_buf_t out = SS_BUF_INIT;
    for (int round = 0; round < 2; round++) {
        avro_value_t *v = ss_avro_writer_value(w), g, it;
        ss_avro_set_int(v, "a", -5, &err);
        ss_avro_set_double(v, "b", 1.5, &err);
        ss_avro_set_str(v, "c", "hey", &err);
        ss_avro_set_long(v, "l", 1LL << 40, &err);
        ss_avro_set_enum(v, "e", round ? "Z" : "A", &err);
        if (round)
            ss_avro_set_null(v, "u", &err);
        else
            ss_avro_set_int(v, "u", 9, &err);
        ss_avro_set_int(v, "v", 3, &err);
        ck_assert_int_eq(ss_avro_field(v, "gone", &g, &err), 0);
        avro_value_append(&g, &it, NULL);
        avro_value_set_string(&it, "skipped");
        ss_buf_reset(&out);
        ck_assert_msg(ss_avro_writer_encode(w, &out, &err) == 0, "%s", err.msg);
        avro_value_t *rv;
        ck_assert_msg(ss_avro_reader_decode(r, out.buf, out.len, &rv, NULL, &err) == 0, "%s",
                      err.msg);
        int64_t l;
        double d;
        const char *s;
        size_t n;
        ck_assert_int_eq(ss_avro_get_long(rv, "a", &l, &err), 0);
        ck_assert_int_eq(l, -5);
        ck_assert_int_eq(ss_avro_get_double(rv, "b", &d, &err), 0);
        ck_assert(d == 1.5);
        ck_assert_int_eq(ss_avro_get_str(rv, "c", &s, &n, &err), 0);
        ck_assert_uint_eq(n, 3);
        ck_assert(memcmp(s, "hey", 3) == 0);
        ck_assert_int_eq(ss_avro_get_double(rv, "l", &d, &err), 0);
        ck_assert(d == (double)(1LL << 40));
        ck_assert_int_eq(ss_avro_get_enum(rv, "e", &s, &err), 0);
        ck_assert_str_eq(s, round ? "Y" : "A"); /* Z unknown: reader enum default */
        if (round) {
            ck_assert_int_eq(ss_avro_is_null(rv, "u", &err), 1);
            EXPECT_ERR(ss_avro_get_long(rv, "u", &l, &err), err, SS_ERR_NOTFOUND,
                       "field 'u' is null");
        } else {
            ck_assert_int_eq(ss_avro_get_long(rv, "u", &l, &err), 0);
            ck_assert_int_eq(l, 9);
        }
        ck_assert_int_eq(ss_avro_get_double(rv, "v", &d, &err), 0); /* int -> double branch */
        ck_assert(d == 3.0);
        ck_assert_int_eq(ss_avro_get_str(rv, "d", &s, NULL, &err), 0);
        ck_assert_str_eq(s, "dflt");
        ck_assert_int_eq(ss_avro_get_str(rv, "n", &s, NULL, &err), 0);
        ck_assert_ptr_null(s);
        avro_value_t m, mv, f;
        ck_assert_int_eq(avro_value_get_by_name(rv, "m", &m, NULL), 0);
        size_t sz;
        avro_value_get_size(&m, &sz);
        ck_assert_uint_eq(sz, 1);
        ck_assert_int_eq(avro_value_get_by_name(&m, "k", &mv, NULL), 0);
        int32_t iv;
        avro_value_get_int(&mv, &iv);
        ck_assert_int_eq(iv, 7);
        ck_assert_int_eq(avro_value_get_by_name(rv, "f", &f, NULL), 0);
        const void *fp;
        avro_value_get_fixed(&f, &fp, &sz);
        ck_assert_uint_eq(sz, 2);
        ck_assert(memcmp(fp, "\xff\x01", 2) == 0);
    }
    ss_avro_reader_destroy(r);
    ss_avro_writer_destroy(w);
    ss_buf_release(&out);
}
END_TEST

/* ================================ generic writer, every schema ================================ */

static void encode_ok(ss_avro_writer_t *w, ss_buf_t *out) {
    ss_err_t err = SS_ERR_INIT;
    ss_buf_reset(out);
    ck_assert_msg(ss_avro_writer_encode(w, out, &err) == 0, "%s", err.msg);
}

static void json_of(const ss_buf_t *payload, ss_buf_t *js) {
    ss_err_t err = SS_ERR_INIT;
    ss_buf_reset(js);
    ck_assert_msg(ss_avro_to_json(reg, payload->buf, payload->len, js, &err) == 0, "%s", err.msg);
}

static avro_value_t *decode_as(ss_avro_reader_t **r, int32_t id, const ss_buf_t *payload) {
    ss_err_t err = SS_ERR_INIT;
    *r = ss_avro_reader_new(reg, id, &err);
    ck_assert_ptr_nonnull(*r);
    avro_value_t *v = NULL;
    ck_assert_msg(ss_avro_reader_decode(*r, payload->buf, payload->len, &v, NULL, &err) == 0, "%s",
                  err.msg);
    return v;
}

START_TEST(churn_score_round_trip) {
    ss_err_t err = SS_ERR_INIT;
    ss_avro_writer_t *w = ss_avro_writer_new(reg, id_of("churn-scores"), &err);
    ss_buf_t out = SS_BUF_INIT, js = SS_BUF_INIT;
    avro_value_t *v = ss_avro_writer_value(w);
    ck_assert_int_eq(ss_avro_set_str(v, "customer_id", "12680", &err), 0);
    ck_assert_int_eq(ss_avro_set_double(v, "probability", 0.8125, &err), 0);
    ck_assert_int_eq(ss_avro_set_enum(v, "risk_level", "HIGH", &err), 0);
    ck_assert_int_eq(ss_avro_set_str(v, "model_version", "xgb-1", &err), 0);
    ck_assert_int_eq(ss_avro_set_long(v, "features_as_of", T0, &err), 0);
    ck_assert_int_eq(ss_avro_set_long(v, "scored_at", T0 + 1, &err), 0);
    encode_ok(w, &out);
    json_of(&out, &js);
    ck_assert_str_eq(js.buf, "{\"customer_id\":\"12680\",\"probability\":0.8125,\"risk_level\":"
                             "\"HIGH\",\"previous_risk_level\":null,\"model_version\":\"xgb-1\","
                             "\"features_as_of\":1323435000000,\"scored_at\":1323435000001,"
                             "\"reason\":\"EVENT\"}");
    v = ss_avro_writer_value(w); /* reset: defaults again, previous values gone */
    ss_avro_set_str(v, "customer_id", "1", &err);
    ck_assert_int_eq(ss_avro_set_enum(v, "previous_risk_level", "LOW", &err), 0);
    ck_assert_int_eq(ss_avro_set_enum(v, "reason", "INACTIVITY", &err), 0);
    encode_ok(w, &out);
    ss_avro_reader_t *r;
    avro_value_t *rv = decode_as(&r, 4, &out);
    const char *s;
    ck_assert_int_eq(ss_avro_get_enum(rv, "previous_risk_level", &s, &err), 0);
    ck_assert_str_eq(s, "LOW");
    ck_assert_int_eq(ss_avro_get_enum(rv, "reason", &s, &err), 0);
    ck_assert_str_eq(s, "INACTIVITY");
    ck_assert_int_eq(ss_avro_get_enum(rv, "risk_level", &s, &err), 0);
    ck_assert_str_eq(s, "LOW"); /* reset to the first symbol */
    double d;
    ck_assert_int_eq(ss_avro_get_double(rv, "probability", &d, &err), 0);
    ck_assert(d == 0.0);
    /* setter errors */
    EXPECT_ERR(ss_avro_set_enum(v, "risk_level", "EXTREME", &err), err, SS_ERR_INVAL,
               "no symbol 'EXTREME' in enum 'RiskLevel'");
    EXPECT_ERR(ss_avro_set_str(v, "nope", "x", &err), err, SS_ERR_NOTFOUND,
               "no field 'nope' in record 'ChurnScore'");
    EXPECT_ERR(ss_avro_set_str(v, "probability", "x", &err), err, SS_ERR_INVAL,
               "field 'probability' is double, not string");
    EXPECT_ERR(ss_avro_set_long(v, "customer_id", 1, &err), err, SS_ERR_INVAL,
               "field 'customer_id' is string, not an integer");
    EXPECT_ERR(ss_avro_set_null(v, "customer_id", &err), err, SS_ERR_INVAL,
               "field 'customer_id' is string, not null");
    int64_t l;
    EXPECT_ERR(ss_avro_get_long(rv, "probability", &l, &err), err, SS_ERR_INVAL,
               "field 'probability' is a floating-point number, not long");
    ss_avro_reader_destroy(r);
    ss_avro_writer_destroy(w);
    ss_buf_release(&out);
    ss_buf_release(&js);
}
END_TEST

START_TEST(customer_features_round_trip) {
    ss_err_t err = SS_ERR_INIT;
    ss_avro_writer_t *w = ss_avro_writer_new(reg, id_of("customer-features"), &err);
    ss_buf_t out = SS_BUF_INIT;
    avro_value_t *v = ss_avro_writer_value(w);
    ss_avro_set_str(v, "customer_id", "12680", &err);
    ss_avro_set_long(v, "as_of", T0, &err);
    ss_avro_set_str(v, "order_id", "581587", &err);
    ss_avro_set_int(v, "recency_days", 3, &err);
    ss_avro_set_long(v, "frequency", 11, &err);
    ss_avro_set_double(v, "total_spent", 1234.5, &err);
    ss_avro_set_double(v, "avg_order", 112.2, &err);
    ss_avro_set_double(v, "order_std", 20.25, &err);
    ss_avro_set_int(v, "days_since_first_order", 300, &err);
    ss_avro_set_double(v, "purchase_frequency", 11.0 / 300, &err);
    ss_avro_set_int(v, "recent_orders_30d", 2, &err);
    ss_avro_set_long(v, "return_count", 1, &err);
    ss_avro_set_double(v, "return_amount", 9.95, &err);
    ss_avro_set_long(v, "first_order_time", T0 - 300LL * 86400000, &err);
    ck_assert_int_eq(ss_avro_set_long(v, "last_order_time", T0, &err), 0);
    EXPECT_ERR(ss_avro_set_long(v, "recency_days", 1LL << 40, &err), err, SS_ERR_INVAL,
               "field 'recency_days': 1099511627776 does not fit an int");
    encode_ok(w, &out);
    ss_avro_reader_t *r;
    avro_value_t *rv = decode_as(&r, 3, &out);
    int32_t i;
    int64_t l;
    double d;
    ck_assert_int_eq(ss_avro_get_int(rv, "recency_days", &i, &err), 0);
    ck_assert_int_eq(i, 3);
    ck_assert_int_eq(ss_avro_get_long(rv, "frequency", &l, &err), 0);
    ck_assert_int_eq(l, 11);
    ck_assert_int_eq(ss_avro_get_int(rv, "source_partition", &i, &err), 0);
    ck_assert_int_eq(i, -1); /* default */
    ck_assert_int_eq(ss_avro_get_long(rv, "source_offset", &l, &err), 0);
    ck_assert_int_eq(l, -1);
    ck_assert_int_eq(ss_avro_get_double(rv, "return_amount", &d, &err), 0);
    ck_assert(d == 9.95);
    ck_assert_int_eq(ss_avro_get_long(rv, "first_order_time", &l, &err), 0);
    ck_assert_int_eq(l, T0 - 300LL * 86400000);
    ss_avro_reader_destroy(r);
    ss_avro_writer_destroy(w);
    ss_buf_release(&out);
}
END_TEST

START_TEST(recommendation_round_trip) {
    ss_err_t err = SS_ERR_INIT;
    ss_avro_writer_t *w = ss_avro_writer_new(reg, id_of("recommendations"), &err);
    ss_buf_t out = SS_BUF_INIT, js = SS_BUF_INIT;
    avro_value_t *v = ss_avro_writer_value(w), it;
    ss_avro_set_str(v, "customer_id", "c1", &err);
    for (int k = 0; k < 3; k++) {
        char p[8];
        snprintf(p, sizeof(p), "p%d", k);
        ck_assert_int_eq(ss_avro_append(v, "items", &it, &err), 0);
        ss_avro_set_str(&it, "product_id", p, &err);
        ss_avro_set_double(&it, "score", 1.0 / (k + 1), &err);
    }
    ss_avro_set_str(v, "method", "item-cosine", &err);
    ss_avro_set_long(v, "as_of", T0, &err);
    encode_ok(w, &out);
    json_of(&out, &js);
    ck_assert_str_eq(js.buf,
                     "{\"customer_id\":\"c1\",\"items\":[{\"product_id\":\"p0\",\"score\":1},"
                     "{\"product_id\":\"p1\",\"score\":0.5},{\"product_id\":\"p2\","
                     "\"score\":0.3333333333333333}],\"method\":\"item-cosine\",\"as_of\":"
                     "1323435000000}");
    ss_avro_reader_t *r;
    avro_value_t *rv = decode_as(&r, 5, &out), items, e;
    ck_assert_int_eq(avro_value_get_by_name(rv, "items", &items, NULL), 0);
    size_t n;
    avro_value_get_size(&items, &n);
    ck_assert_uint_eq(n, 3);
    avro_value_get_by_index(&items, 2, &e, NULL);
    const char *s;
    ss_avro_get_str(&e, "product_id", &s, NULL, &err);
    ck_assert_str_eq(s, "p2");
    ss_avro_reader_destroy(r);
    /* reset empties the array */
    v = ss_avro_writer_value(w);
    ss_avro_set_str(v, "customer_id", "c2", &err);
    ss_avro_set_str(v, "method", "popular", &err);
    encode_ok(w, &out);
    json_of(&out, &js);
    ck_assert_str_eq(js.buf,
                     "{\"customer_id\":\"c2\",\"items\":[],\"method\":\"popular\",\"as_of\":0}");
    ss_avro_writer_destroy(w);
    ss_buf_release(&out);
    ss_buf_release(&js);
}
END_TEST

static void fill_forecast(avro_value_t *v, int fallback) {
    ss_err_t err = SS_ERR_INIT;
    avro_value_t pt, params, pv;
    ss_avro_set_str(v, "store_id", "United Kingdom", &err);
    ss_avro_set_str(v, "product_id", "85123A", &err);
    ss_avro_set_int(v, "generated_for_day", 15317, &err);
    ss_avro_set_str(v, "model", fallback ? "ma7" : "sarima(1,1,1)(1,1,1,7)", &err);
    if (fallback)
        ss_avro_set_str(v, "fallback_reason", "history 20 days < 28", &err);
    for (int k = 1; k <= 7; k++) {
        ck_assert_int_eq(ss_avro_append(v, "horizon", &pt, &err), 0);
        ss_avro_set_int(&pt, "day", 15317 + k, &err);
        ss_avro_set_double(&pt, "mean", 10.0 + k, &err);
        ss_avro_set_double(&pt, "lower", 5.0 + k, &err);
        ss_avro_set_double(&pt, "upper", 15.0 + k, &err);
    }
    if (!fallback) {
        ss_avro_set_double(v, "holdout_mae", 2.5, &err);
        ss_avro_set_double(v, "holdout_rmse", 3.25, &err);
        ck_assert_int_eq(ss_avro_field(v, "params", &params, &err), 0);
        avro_value_add(&params, "ar.L1", &pv, NULL, NULL);
        avro_value_set_double(&pv, 0.25);
        avro_value_add(&params, "sigma2", &pv, NULL, NULL);
        avro_value_set_double(&pv, 4.0);
        ss_avro_set_double(v, "llf", -123.5, &err);
    }
    ck_assert_int_eq(err.code, 0);
}

START_TEST(demand_forecast_round_trip) {
    ss_err_t err = SS_ERR_INIT;
    ss_avro_writer_t *w = ss_avro_writer_new(reg, id_of("demand-forecasts"), &err);
    ss_buf_t out = SS_BUF_INIT, js = SS_BUF_INIT;
    fill_forecast(ss_avro_writer_value(w), 0);
    encode_ok(w, &out);
    ss_avro_reader_t *r;
    avro_value_t *rv = decode_as(&r, 6, &out);
    double d;
    ck_assert_int_eq(ss_avro_get_double(rv, "holdout_rmse", &d, &err), 0);
    ck_assert(d == 3.25);
    ck_assert_int_eq(ss_avro_get_double(rv, "interval_level", &d, &err), 0);
    ck_assert(d == 0.95);
    ck_assert_int_eq(ss_avro_is_null(rv, "fallback_reason", &err), 1);
    ss_avro_reader_destroy(r);
    fill_forecast(ss_avro_writer_value(w), 1);
    encode_ok(w, &out);
    json_of(&out, &js);
    ck_assert_ptr_nonnull(strstr(js.buf, "\"fallback_reason\":\"history 20 days < 28\""));
    ck_assert_ptr_nonnull(strstr(js.buf, "\"params\":{},\"llf\":null"));
    ck_assert_ptr_nonnull(strstr(js.buf, "{\"day\":15324,\"mean\":17,\"lower\":12,\"upper\":22}]"));
    ss_avro_writer_destroy(w);
    ss_buf_release(&out);
    ss_buf_release(&js);
}
END_TEST

START_TEST(drift_alert_round_trip) {
    ss_err_t err = SS_ERR_INIT;
    ss_avro_writer_t *w = ss_avro_writer_new(reg, id_of("drift-alerts"), &err);
    ss_buf_t out = SS_BUF_INIT, js = SS_BUF_INIT;
    avro_value_t *v = ss_avro_writer_value(w);
    ss_avro_set_str(v, "fingerprint", "a1b2", &err);
    ss_avro_set_str(v, "name", "FeatureDriftPSI", &err);
    ss_avro_set_str(v, "severity", "warning", &err);
    ss_avro_set_enum(v, "status", "RESOLVED", &err);
    ck_assert_int_eq(ss_avro_map_put_str(v, "labels", "feature", "avg_order", &err), 0);
    ck_assert_int_eq(ss_avro_map_put_str(v, "annotations", "summary", "PSI \"0.31\"\n", &err), 0);
    ss_avro_set_long(v, "starts_at", T0, &err);
    ss_avro_set_long(v, "ends_at", T0 + 60000, &err);
    ss_avro_set_double(v, "value", 0.31, &err);
    ss_avro_set_double(v, "threshold", 0.2, &err);
    ck_assert_int_eq(err.code, 0);
    EXPECT_ERR(ss_avro_map_put_str(v, "value", "k", "v", &err), err, SS_ERR_INVAL,
               "field 'value' is double, not a map");
    encode_ok(w, &out);
    json_of(&out, &js);
    ck_assert_str_eq(js.buf,
                     "{\"fingerprint\":\"a1b2\",\"name\":\"FeatureDriftPSI\",\"severity\":"
                     "\"warning\",\"status\":\"RESOLVED\",\"labels\":{\"feature\":"
                     "\"avg_order\"},\"annotations\":{\"summary\":\"PSI \\\"0.31\\\"\\u000a\"},"
                     "\"starts_at\":1323435000000,\"ends_at\":1323435060000,\"value\":0.31,"
                     "\"threshold\":0.2}");
    ss_avro_reader_t *r;
    avro_value_t *rv = decode_as(&r, 7, &out);
    int64_t l;
    ck_assert_int_eq(ss_avro_get_long(rv, "ends_at", &l, &err), 0);
    ck_assert_int_eq(l, T0 + 60000);
    ss_avro_reader_destroy(r);
    ss_avro_writer_destroy(w);
    ss_buf_release(&out);
    ss_buf_release(&js);
}
END_TEST

START_TEST(dead_letter_round_trip) {
    ss_err_t err = SS_ERR_INIT;
    ss_avro_writer_t *w = ss_avro_writer_new(reg, id_of("transactions.dlq"), &err);
    ss_buf_t out = SS_BUF_INIT, js = SS_BUF_INIT;
    avro_value_t *v = ss_avro_writer_value(w);
    static const char payload[] = {0, 0, 0, 0, 1, (char)0xff, 'x'};
    ss_avro_set_str(v, "source_topic", "transactions", &err);
    ss_avro_set_int(v, "partition", 2, &err);
    ss_avro_set_long(v, "offset", 1234567890123LL, &err);
    ss_avro_set_bytes(v, "payload", payload, sizeof(payload), &err);
    ss_avro_set_str(v, "reason", "order_id: truncated varint at byte 5", &err);
    ss_avro_set_str(v, "error_code", "DECODE", &err);
    ss_avro_set_str(v, "service", "features", &err);
    ss_avro_set_long(v, "failed_at", T0, &err);
    ck_assert_int_eq(err.code, 0);
    encode_ok(w, &out);
    json_of(&out, &js);
    ck_assert_ptr_nonnull(strstr(js.buf, "\"key\":null,\"payload\":\"\\u0000\\u0000\\u0000\\u0000"
                                         "\\u0001\\u00ffx\""));
    ck_assert_int_eq(ss_avro_set_bytes(v, "key", "k\0", 2, &err), 0);
    encode_ok(w, &out);
    ss_avro_reader_t *r;
    avro_value_t *rv = decode_as(&r, 2, &out);
    const char *s;
    size_t n;
    ck_assert_int_eq(ss_avro_get_str(rv, "payload", &s, &n, &err), 0);
    ck_assert_uint_eq(n, sizeof(payload));
    ck_assert(memcmp(s, payload, n) == 0);
    ck_assert_int_eq(ss_avro_get_str(rv, "key", &s, &n, &err), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert(memcmp(s, "k\0", 2) == 0);
    ss_avro_reader_destroy(r);
    ss_avro_writer_destroy(w);
    ss_buf_release(&out);
    ss_buf_release(&js);
}
END_TEST

/* ================================ hostile input ================================ */

static void expect_txn_err(const parts_t *p, int code, const char *substr) {
    ss_buf_t b = SS_BUF_INIT;
    ss_txn_t t = SS_TXN_INIT;
    ss_err_t err = SS_ERR_INIT;
    build(&b, p);
    EXPECT_ERR(ss_avro_txn_decode(codec, b.buf, b.len, &t, &err), err, code, substr);
    if (code == SS_ERR_DECODE) { /* the other decoders agree */
        ss_buf_t js = SS_BUF_INIT;
        ss_err_t e2 = SS_ERR_INIT;
        EXPECT_ERR(ss_avro_to_json(reg, b.buf, b.len, &js, &e2), e2, SS_ERR_DECODE, substr);
        ck_assert_uint_eq(js.len, 0); /* restored on error */
        ss_avro_reader_t *r = ss_avro_reader_new(reg, 1, &e2);
        avro_value_t *v;
        EXPECT_ERR(ss_avro_reader_decode(r, b.buf, b.len, &v, NULL, &e2), e2, SS_ERR_DECODE,
                   substr);
        ss_avro_reader_destroy(r);
        ss_buf_release(&js);
    }
    ss_buf_release(&b);
    ss_txn_release(&t);
}

START_TEST(hostile_cases_have_specific_errors) {
    parts_t p = good_parts();
    ss_buf_t b = SS_BUF_INIT;
    ss_txn_t t = SS_TXN_INIT;
    ss_err_t err = SS_ERR_INIT;
    build(&b, &p);
    ck_assert_msg(ss_avro_txn_decode(codec, b.buf, b.len, &t, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(t.lines[0].product_id, "p1");

    /* truncated */
    EXPECT_ERR(ss_avro_txn_decode(codec, b.buf, b.len - 2, &t, &err), err, SS_ERR_DECODE,
               "currency: length 3 exceeds the 1 bytes left at byte");
    EXPECT_ERR(ss_avro_txn_decode(codec, b.buf, 5, &t, &err), err, SS_ERR_DECODE,
               "order_id: truncated varint at byte 5");
    /* wrong magic */
    b.buf[0] = 1;
    EXPECT_ERR(ss_avro_txn_decode(codec, b.buf, b.len, &t, &err), err, SS_ERR_DECODE,
               "bad magic byte 0x01");

    /* length larger than the message */
    p = good_parts();
    p.order_id_raw = "\xd0\x0f"; /* 1000 */
    p.order_id_raw_len = 2;
    expect_txn_err(&p, SS_ERR_DECODE, "order_id: length 1000 exceeds the");
    /* negative length */
    p.order_id_raw = "\x09"; /* -5 */
    p.order_id_raw_len = 1;
    expect_txn_err(&p, SS_ERR_DECODE, "order_id: negative length -5 at byte 5");
    /* varint overflowing 64 bits */
    p = good_parts();
    p.event_time_raw = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f";
    expect_txn_err(&p, SS_ERR_DECODE, "event_time: varint overflows 64 bits");
    /* union index out of range */
    p = good_parts();
    p.union_idx = 5;
    expect_txn_err(&p, SS_ERR_DECODE, "customer_id: union index 5 out of range (2 branches)");
    p.union_idx = -1;
    expect_txn_err(&p, SS_ERR_DECODE, "customer_id: union index -1 out of range");
    /* enum index out of range */
    p = good_parts();
    p.kind = 9;
    expect_txn_err(&p, SS_ERR_DECODE, "kind: enum index 9 out of range (2 symbols)");
    /* huge array count: guarded before any allocation */
    p = good_parts();
    p.count = 1LL << 40;
    expect_txn_err(&p, SS_ERR_DECODE, "lines: count 1099511627776 exceeds what the");
    /* negative count with a huge block size */
    p.count = -1;
    p.block_size = 1LL << 40;
    expect_txn_err(&p, SS_ERR_DECODE, "lines: block size 1099511627776 exceeds the");
    p.block_size = -3;
    expect_txn_err(&p, SS_ERR_DECODE, "lines: block size -3 exceeds the");
    p.count = INT64_MIN;
    expect_txn_err(&p, SS_ERR_DECODE, "lines: bad block count");
    /* a negative count with a sane block size is valid Avro */
    p = good_parts();
    p.count = -1;
    p.block_size = 12;
    build(&b, &p);
    ck_assert_msg(ss_avro_txn_decode(codec, b.buf, b.len, &t, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(t.n_lines, 1);
    /* int out of range */
    p = good_parts();
    p.quantity = 1LL << 33;
    expect_txn_err(&p, SS_ERR_DECODE, "lines[0].quantity: int 8589934592 out of range");
    /* trailing garbage */
    p = good_parts();
    p.trailer = "xy";
    expect_txn_err(&p, SS_ERR_DECODE, "2 trailing bytes after the record");
    /* unknown schema id */
    p = good_parts();
    build(&b, &p);
    b.buf[4] = 99;
    EXPECT_ERR(ss_avro_txn_decode(codec, b.buf, b.len, &t, &err), err, SS_ERR_DECODE,
               "unknown schema id 99");

    /* well-formed Avro that ss_txn_t cannot hold */
    char longid[80];
    memset(longid, 'a', 67);
    longid[0] = (char)0x82; /* varint of zigzag(65) = 130 */
    longid[1] = 0x01;
    p = good_parts();
    p.order_id_raw = longid;
    p.order_id_raw_len = 67;
    expect_txn_err(&p, SS_ERR_INVAL, "order_id is 65 bytes, longer than 64");
    p.order_id_raw = "\x06"
                     "a\0b";
    p.order_id_raw_len = 4;
    expect_txn_err(&p, SS_ERR_INVAL, "order_id holds a NUL byte");
    /* invalid UTF-8 decodes (bytes kept) and validation rejects it */
    p.order_id_raw = "\x04\xc3\x28";
    p.order_id_raw_len = 3;
    build(&b, &p);
    ck_assert_int_eq(ss_avro_txn_decode(codec, b.buf, b.len, &t, &err), 0);
    ck_assert(memcmp(t.order_id, "\xc3\x28", 3) == 0);
    EXPECT_ERR(ss_txn_validate(&t, NULL, &err), err, SS_ERR_INVAL,
               "order_id is not printable UTF-8");
    ss_buf_t js = SS_BUF_INIT;
    ck_assert_int_eq(ss_avro_to_json(reg, b.buf, b.len, &js, &err), 0);
    ck_assert_ptr_nonnull(strstr(js.buf, "{\"order_id\":\"\\ufffd(\""));
    ss_buf_release(&js);
    ss_buf_release(&b);
    ss_txn_release(&t);
}
END_TEST

START_TEST(hostile_schemas_and_zero_size_items) {
    ss_err_t err = SS_ERR_INIT;
    /* an array of nulls: items take 0 bytes, so counts are capped, not trusted */
    ck_assert_int_eq(
        ss_avro_reg_add(reg, 600, NULL, "{\"type\":\"array\",\"items\":\"null\"}", &err), 0);
    ss_buf_t b = SS_BUF_INIT, js = SS_BUF_INIT;
    ss_avro_frame_put(&b, 600);
    b_long(&b, 1LL << 50);
    b_long(&b, 0);
    EXPECT_ERR(ss_avro_to_json(reg, b.buf, b.len, &js, &err), err, SS_ERR_DECODE,
               "count 1125899906842624 of zero-size items exceeds the limit 65536");
    ss_buf_reset(&b);
    ss_avro_frame_put(&b, 600);
    b_long(&b, 3);
    b_long(&b, 0);
    ck_assert_int_eq(ss_avro_to_json(reg, b.buf, b.len, &js, &err), 0);
    ck_assert_str_eq(js.buf, "[null,null,null]");
    /* a recursive type: nesting is bounded */
    ck_assert_int_eq(ss_avro_reg_add(reg, 601, NULL,
                                     "{\"type\":\"record\",\"name\":\"N\",\"fields\":[{\"name\":"
                                     "\"next\",\"type\":[\"null\",\"N\"]}]}",
                                     &err),
                     0);
    ss_buf_reset(&b);
    ss_avro_frame_put(&b, 601);
    for (int i = 0; i < 1000; i++)
        b_long(&b, 1);
    b_long(&b, 0);
    ss_buf_reset(&js);
    EXPECT_ERR(ss_avro_to_json(reg, b.buf, b.len, &js, &err), err, SS_ERR_DECODE,
               "nesting deeper than 64");
    ss_avro_reader_t *r = ss_avro_reader_new(reg, 601, &err);
    ck_assert_ptr_nonnull(r);
    avro_value_t *v;
    EXPECT_ERR(ss_avro_reader_decode(r, b.buf, b.len, &v, NULL, &err), err, SS_ERR_DECODE,
               "nesting deeper than 64");
    ss_buf_reset(&b);
    ss_avro_frame_put(&b, 601);
    b_long(&b, 1);
    b_long(&b, 1);
    b_long(&b, 0);
    ck_assert_int_eq(ss_avro_reader_decode(r, b.buf, b.len, &v, NULL, &err), 0);
    ss_buf_reset(&js);
    ck_assert_int_eq(ss_avro_to_json(reg, b.buf, b.len, &js, &err), 0);
    ck_assert_str_eq(js.buf, "{\"next\":{\"next\":{\"next\":null}}}");
    ss_avro_reader_destroy(r);
    ss_buf_release(&b);
    ss_buf_release(&js);
}
END_TEST

/* ================================ fuzz ================================ */

static uint64_t rng = 0x5eed5eed12345678ULL;
static uint64_t next_rand(void) { /* xorshift64*: deterministic */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1DULL;
}

static int fuzz_cases;

/* Feeds one input to every decoder; none may crash, each error has a message, and the
 * decoders agree on what is well-formed. */
static void feed(const uint8_t *p, size_t n, int32_t reader_id, ss_avro_reader_t *r) {
    ss_err_t e1 = SS_ERR_INIT, e2 = SS_ERR_INIT, e3 = SS_ERR_INIT;
    ss_buf_t js = SS_BUF_INIT;
    avro_value_t *v;
    static ss_txn_t t = SS_TXN_INIT;
    int rj = ss_avro_to_json(reg, p, n, &js, &e1);
    int rr = ss_avro_reader_decode(r, p, n, &v, NULL, &e2);
    if (rj < 0)
        ck_assert_msg(e1.msg[0] && rj == e1.code, "empty or mismatched json error");
    if (rr < 0)
        ck_assert_msg(e2.msg[0] && rr == e2.code, "empty or mismatched reader error");
    if (rj == 0) {
        json_error_t je;
        json_t *j = json_loadb(js.buf, js.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        ck_assert_msg(j != NULL, "invalid JSON '%s': %s", js.buf, je.text);
        json_decref(j);
    }
    int32_t wid = -1;
    if (n >= 5)
        wid = (int32_t)((uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4]);
    if (wid == reader_id && p[0] == 0) /* same schema: same acceptance */
        ck_assert_msg((rj == 0) == (rr == 0), "json %d '%s' vs reader %d '%s'", rj, e1.msg, rr,
                      e2.msg);
    if (reader_id == 1) {
        int rt = ss_avro_txn_decode(codec, p, n, &t, &e3);
        if (rt < 0)
            ck_assert_msg(e3.msg[0] && rt == e3.code, "empty txn error");
        if (rr == 0)
            ck_assert_msg(rt == 0 || rt == SS_ERR_INVAL, "reader ok, txn '%s'", e3.msg);
        if (rt == 0)
            ck_assert_msg(rr == 0, "txn ok, reader '%s'", e2.msg);
    }
    ss_buf_release(&js);
    fuzz_cases++;
}

static void fuzz_payload(const ss_buf_t *good, int32_t reader_id) {
    ss_err_t err = SS_ERR_INIT;
    ss_avro_reader_t *r = ss_avro_reader_new(reg, reader_id, &err);
    ck_assert_ptr_nonnull(r);
    uint8_t *m = malloc(good->len + 64);
    /* every truncation fails: Avro data is self-delimiting */
    for (size_t n = 0; n < good->len; n++) {
        memcpy(m, good->buf, n);
        ss_buf_t js = SS_BUF_INIT;
        ck_assert_int_lt(ss_avro_to_json(reg, m, n, &js, &err), 0);
        avro_value_t *v;
        ck_assert_int_lt(ss_avro_reader_decode(r, m, n, &v, NULL, &err), 0);
        ss_buf_release(&js);
        feed(m, n, reader_id, r);
    }
    /* every single bit flip in the body */
    for (size_t i = 5; i < good->len; i++)
        for (int bit = 0; bit < 8; bit++) {
            memcpy(m, good->buf, good->len);
            m[i] ^= (uint8_t)(1 << bit);
            feed(m, good->len, reader_id, r);
        }
    /* random multi-byte mutations, random tails and pure random bodies */
    for (int k = 0; k < 1500; k++) {
        memcpy(m, good->buf, good->len);
        size_t n = good->len;
        switch (next_rand() % 3) {
        case 0:
            for (int j = 0; j < 3; j++)
                m[5 + next_rand() % (good->len - 5)] = (uint8_t)next_rand();
            break;
        case 1:
            n = 5 + next_rand() % (good->len - 4);
            for (size_t j = n; j < n + 40 && j < good->len + 64; j++)
                m[j] = (uint8_t)next_rand();
            n = n + 40 < good->len + 64 ? n + 40 : good->len + 64;
            break;
        default:
            n = 5 + next_rand() % (good->len + 59);
            for (size_t j = 5; j < n; j++)
                m[j] = (uint8_t)next_rand();
            break;
        }
        feed(m, n, reader_id, r);
    }
    free(m);
    ss_avro_reader_destroy(r);
}

START_TEST(fuzz_mutations_never_crash) {
    ss_err_t err = SS_ERR_INIT;
    ss_buf_t good = SS_BUF_INIT;
    ss_txn_t a = SS_TXN_INIT;
    fill_txn(&a, 3);
    ck_assert_int_eq(ss_avro_txn_encode(codec, &a, &good, &err), 0);
    fuzz_payload(&good, 1);
    ss_buf_reset(&good);
    ck_assert_int_eq(ss_avro_txn_encode_id(codec, 100, &a, &good, &err), 0);
    fuzz_payload(&good, 1); /* v1 writer, resolved */

    ss_avro_writer_t *w = ss_avro_writer_new(reg, 6, &err);
    fill_forecast(ss_avro_writer_value(w), 0);
    ss_buf_reset(&good);
    encode_ok(w, &good);
    fuzz_payload(&good, 6);
    ss_avro_writer_destroy(w);

    w = ss_avro_writer_new(reg, 7, &err);
    avro_value_t *v = ss_avro_writer_value(w);
    ss_avro_set_str(v, "fingerprint", "f", &err);
    ss_avro_map_put_str(v, "labels", "a", "b", &err);
    ss_avro_map_put_str(v, "labels", "c", "d", &err);
    ss_avro_set_long(v, "ends_at", 5, &err);
    ss_buf_reset(&good);
    encode_ok(w, &good);
    fuzz_payload(&good, 7);
    ss_avro_writer_destroy(w);
    ck_assert_int_ge(fuzz_cases, 10000);
    ss_buf_release(&good);
    ss_txn_release(&a);
}
END_TEST

/* The flat writer produces the generic writer's bytes for CustomerFeatures, and says which field
 * went wrong when the calls do not match the schema. */
START_TEST(flat_writer_matches_generic) {
    ss_err_t err = SS_ERR_INIT;
    int32_t id = 0;
    ck_assert_int_eq(ss_avro_reg_current_id(reg, "customer-features", &id, &err), 0);
    ss_avro_flat_t *f = ss_avro_flat_new(reg, id, &err);
    ck_assert_msg(f != NULL, "%s", err.msg);
    ss_avro_writer_t *w = ss_avro_writer_new(reg, id, &err);
    ck_assert_ptr_nonnull(w);
    ss_buf_t a = SS_BUF_INIT, b = SS_BUF_INIT;
    const char *ints[] = {"recency_days", "days_since_first_order", "recent_orders_30d",
                          "source_partition"};
    const char *longs[] = {"as_of",           "frequency",    "return_count", "first_order_time",
                           "last_order_time", "source_offset"};
    const char *dbls[] = {"total_spent", "avg_order", "order_std", "purchase_frequency",
                          "return_amount"};
    for (int r = 0; r < 50; r++) {
        /* Values in schema order (checked against the .avsc by the writer below). */
        int64_t li[4] = {r * 7 - 3, r, r % 5, r % 12};
        int64_t ll[6] = {INT64_C(1700000000000) + r, r * 1000003LL, -r,
                         INT64_C(-62135596800000),   INT64_MAX - r, r * 97};
        double dd[5] = {r * 1.5, -0.0, 1e300 / (r + 1), 1.0 / 3, r ? NAN : INFINITY};
        char cid[32], oid[32];
        snprintf(cid, sizeof(cid), "C%d\xc3\xa9", r);
        snprintf(oid, sizeof(oid), "%s", r % 3 ? "O-1" : "");
        avro_value_t *v = ss_avro_writer_value(w);
        ck_assert_int_eq(ss_avro_set_str(v, "customer_id", cid, &err), 0);
        ck_assert_int_eq(ss_avro_set_str(v, "order_id", oid, &err), 0);
        for (int k = 0; k < 4; k++)
            ck_assert_int_eq(ss_avro_set_int(v, ints[k], (int32_t)li[k], &err), 0);
        for (int k = 0; k < 6; k++)
            ck_assert_int_eq(ss_avro_set_long(v, longs[k], ll[k], &err), 0);
        for (int k = 0; k < 5; k++)
            ck_assert_int_eq(ss_avro_set_double(v, dbls[k], dd[k], &err), 0);
        ss_buf_reset(&a);
        ck_assert_int_eq(ss_avro_writer_encode(w, &a, &err), 0);
        ss_buf_reset(&b);
        ss_avro_flat_begin(f, &b);
        ss_avro_flat_str(f, cid);
        ss_avro_flat_long(f, ll[0]);
        ss_avro_flat_str(f, oid);
        ss_avro_flat_long(f, li[0]);
        ss_avro_flat_long(f, ll[1]);
        ss_avro_flat_double(f, dd[0]);
        ss_avro_flat_double(f, dd[1]);
        ss_avro_flat_double(f, dd[2]);
        ss_avro_flat_long(f, li[1]);
        ss_avro_flat_double(f, dd[3]);
        ss_avro_flat_long(f, li[2]);
        ss_avro_flat_long(f, ll[2]);
        ss_avro_flat_double(f, dd[4]);
        ss_avro_flat_long(f, ll[3]);
        ss_avro_flat_long(f, ll[4]);
        ss_avro_flat_long(f, li[3]);
        ss_avro_flat_long(f, ll[5]);
        ck_assert_msg(ss_avro_flat_end(f, &err) == 0, "%s", err.msg);
        ck_assert_uint_eq(a.len, b.len);
        ck_assert_int_eq(memcmp(a.buf, b.buf, a.len), 0);
    }
    /* a double where the schema has a string; a missing field; an int out of range */
    ss_buf_reset(&b);
    ss_avro_flat_begin(f, &b);
    ss_avro_flat_double(f, 1.0);
    ck_assert_int_eq(ss_avro_flat_end(f, &err), SS_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "field 'customer_id' did not get a number"));
    ss_avro_flat_begin(f, &b);
    ss_avro_flat_str(f, "c");
    ck_assert_int_eq(ss_avro_flat_end(f, &err), SS_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "field 'as_of' missing"));
    ss_avro_flat_begin(f, &b);
    ss_avro_flat_str(f, "c");
    ss_avro_flat_long(f, 1);
    ss_avro_flat_str(f, "o");
    ss_avro_flat_long(f, INT64_C(1) << 40); /* recency_days is an int */
    ck_assert_int_eq(ss_avro_flat_end(f, &err), SS_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "field 'recency_days' did not get an int in range"));
    /* Transaction has an array of lines: not flat */
    ck_assert_ptr_null(ss_avro_flat_new(reg, ss_avro_txn_codec_schema_id(codec), &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "is not of a flat type"));
    ss_avro_flat_destroy(f);
    ss_avro_writer_destroy(w);
    ss_buf_release(&a);
    ss_buf_release(&b);
}
END_TEST

Suite *avro_suite(void) {
    Suite *s = suite_create("avro");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, manifest_loads_every_schema);
    tcase_add_test(tc, every_field_has_doc_and_namespace);
    tcase_add_test(tc, add_is_idempotent_and_detects_conflicts);
    tcase_add_test(tc, bad_manifest_reports_line);
    tcase_add_test(tc, fetch_callback_fills_unknown_ids);
    tcase_add_test(tc, framing);
    tcase_add_test(tc, txn_round_trip);
    tcase_add_test(tc, txn_encoding_matches_avro_c);
    tcase_add_test(tc, txn_decode_reuses_lines);
    tcase_add_test(tc, evolution_v1_writer_gets_defaults);
    tcase_add_test(tc, evolution_extra_writer_fields_are_skipped);
    tcase_add_test(tc, incompatible_writer_is_a_decode_error);
    tcase_add_test(tc, promotions_enum_reorder_unions_defaults);
    tcase_add_test(tc, churn_score_round_trip);
    tcase_add_test(tc, customer_features_round_trip);
    tcase_add_test(tc, recommendation_round_trip);
    tcase_add_test(tc, demand_forecast_round_trip);
    tcase_add_test(tc, drift_alert_round_trip);
    tcase_add_test(tc, dead_letter_round_trip);
    tcase_add_test(tc, hostile_cases_have_specific_errors);
    tcase_add_test(tc, hostile_schemas_and_zero_size_items);
    tcase_add_test(tc, fuzz_mutations_never_crash);
    tcase_add_test(tc, flat_writer_matches_generic);
    suite_add_tcase(s, tc);
    return s;
}
