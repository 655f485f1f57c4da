/* Unit tests of ss_dlq's pure parts: error-code mapping, dlq.* headers, and the DeadLetter
 * envelope encoding (round trip through ss_avro's generic reader). No broker. */
#include <check.h>
#include <string.h>

#include "ss_avro.h"
#include "ss_dlq.h"
#include "ss_test.h"

static const unsigned char payload[] = {0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0x00, 0x7f};

static ss_dlq_entry_t sample(void) {
    ss_dlq_entry_t e = {
        .source_topic = "transactions",
        .partition = 7,
        .offset = 123456789012LL,
        .key = "C42",
        .keylen = 3,
        .payload = payload,
        .len = sizeof(payload),
        .reason = "lines: item 2: quantity: truncated varint",
        .error_code = SS_DLQ_DECODE,
        .service = "features",
        .failed_at_ms = 1764140400123LL,
    };
    return e;
}

START_TEST(code_for_maps_error_classes) {
    ck_assert_str_eq(ss_dlq_code_for(SS_ERR_DECODE), "DECODE");
    ck_assert_str_eq(ss_dlq_code_for(SS_ERR_INVAL), "INVALID");
    ck_assert_str_eq(ss_dlq_code_for(SS_ERR_CONFLICT), "CONFLICT");
    ck_assert_str_eq(ss_dlq_code_for(SS_ERR_NOTFOUND), "UNKNOWN_SCHEMA");
    ck_assert_str_eq(ss_dlq_code_for(SS_ERR_IO), "INVALID");
}
END_TEST

/* A stand-in for the Schema Registry fetch hook: id 500 exists, 600 finds the registry down,
 * every other id is unknown. */
static int fake_fetch(ss_avro_reg_t *reg, int32_t id, void *opaque, ss_err_t *err) {
    (*(int *)opaque)++;
    if (id == 500)
        return ss_avro_reg_add(reg, 500, NULL, "{\"type\":\"record\",\"name\":\"P\",\"fields\":[]}",
                               err);
    if (id == 600)
        return ss_err_set(err, SS_ERR_RETRIABLE, "registry unreachable");
    return ss_err_set(err, SS_ERR_NOTFOUND, "schema %d not found", (int)id);
}

START_TEST(code_for_payload_tells_unknown_schema_ids) {
    char dir[1024];
    ss_err_t err = SS_ERR_INIT;
    snprintf(dir, sizeof(dir), "%s/schemas", ss_test_source_dir());
    ss_avro_reg_t *reg = ss_avro_reg_new(dir, &err);
    ck_assert_msg(reg != NULL, "%s", err.msg);
    const unsigned char id1[] = {0, 0, 0, 0, 1, 0xff};     /* Transaction: known, bad body */
    const unsigned char id4242[] = {0, 0, 0, 0x10, 0x92};  /* not in the manifest */
    const unsigned char id100[] = {0, 0, 0, 0, 100, 0x02}; /* historical: known */
    const unsigned char magic[] = {7, 0, 0, 0x10, 0x92};
    ck_assert_str_eq(ss_dlq_code_for_payload(reg, SS_ERR_DECODE, id1, sizeof(id1)), "DECODE");
    ck_assert_str_eq(ss_dlq_code_for_payload(reg, SS_ERR_DECODE, id4242, sizeof(id4242)),
                     "UNKNOWN_SCHEMA");
    ck_assert_str_eq(ss_dlq_code_for_payload(reg, SS_ERR_DECODE, id100, sizeof(id100)), "DECODE");
    ck_assert_str_eq(ss_dlq_code_for_payload(reg, SS_ERR_DECODE, magic, sizeof(magic)), "DECODE");
    ck_assert_str_eq(ss_dlq_code_for_payload(reg, SS_ERR_DECODE, id4242, 3), "DECODE");
    ck_assert_str_eq(ss_dlq_code_for_payload(reg, SS_ERR_DECODE, NULL, 0), "DECODE");
    /* other classes are not about the schema */
    ck_assert_str_eq(ss_dlq_code_for_payload(reg, SS_ERR_INVAL, id4242, sizeof(id4242)), "INVALID");
    ck_assert_str_eq(ss_dlq_code_for_payload(NULL, SS_ERR_DECODE, id4242, sizeof(id4242)),
                     "DECODE");

    /* with a registry hook: what it knows is DECODE, what it does not is UNKNOWN_SCHEMA, and an
     * unreachable registry does not turn a message into UNKNOWN_SCHEMA */
    int calls = 0;
    ss_avro_reg_set_fetch(reg, fake_fetch, &calls);
    const unsigned char id500[] = {0, 0, 0, 0x01, 0xf4, 0x01};
    const unsigned char id600[] = {0, 0, 0, 0x02, 0x58};
    ck_assert_str_eq(ss_dlq_code_for_payload(reg, SS_ERR_DECODE, id500, sizeof(id500)), "DECODE");
    ck_assert_str_eq(ss_dlq_code_for_payload(reg, SS_ERR_DECODE, id600, sizeof(id600)), "DECODE");
    ck_assert_str_eq(ss_dlq_code_for_payload(reg, SS_ERR_DECODE, id4242, sizeof(id4242)),
                     "UNKNOWN_SCHEMA");
    ck_assert_int_eq(calls, 3);
    ss_avro_reg_destroy(reg);
}
END_TEST

static void assert_header(rd_kafka_headers_t *h, const char *name, const char *want) {
    const void *v = NULL;
    size_t n = 0;
    ck_assert_msg(rd_kafka_header_get_last(h, name, &v, &n) == RD_KAFKA_RESP_ERR_NO_ERROR,
                  "header %s missing", name);
    ck_assert_msg(n == strlen(want) && memcmp(v, want, n) == 0, "header %s = '%.*s', want '%s'",
                  name, (int)n, (const char *)v, want);
}

START_TEST(headers_describe_the_source) {
    ss_dlq_entry_t e = sample();
    rd_kafka_headers_t *h = ss_dlq_headers(&e);

    assert_header(h, "dlq.reason", "lines: item 2: quantity: truncated varint");
    assert_header(h, "dlq.error_code", "DECODE");
    assert_header(h, "dlq.service", "features");
    assert_header(h, "dlq.source", "transactions/7@123456789012");
    assert_header(h, "dlq.source.topic", "transactions");
    assert_header(h, "dlq.source.partition", "7");
    assert_header(h, "dlq.source.offset", "123456789012");
    assert_header(h, "dlq.failed_at", "1764140400123");
    rd_kafka_headers_destroy(h);
}
END_TEST

START_TEST(headers_tolerate_missing_text) {
    ss_dlq_entry_t e = {.partition = 0, .offset = 0};
    rd_kafka_headers_t *h = ss_dlq_headers(&e);
    assert_header(h, "dlq.reason", "");
    assert_header(h, "dlq.error_code", "INVALID");
    assert_header(h, "dlq.source", "/0@0");
    rd_kafka_headers_destroy(h);
}
END_TEST

/* Encodes e and decodes it back with the registry's DeadLetter reader. */
static void roundtrip(const ss_dlq_entry_t *e) {
    ss_err_t err = SS_ERR_INIT;
    char dir[4096];
    ss_avro_reg_t *reg;
    ss_avro_writer_t *w;
    ss_avro_reader_t *r;
    ss_buf_t out = SS_BUF_INIT;
    avro_value_t *v;
    int32_t id, wid, part;
    int64_t off, at;
    const char *s;
    size_t n;

    snprintf(dir, sizeof(dir), "%s/schemas", ss_test_source_dir());
    reg = ss_avro_reg_new(dir, &err);
    ck_assert_msg(reg != NULL, "%s", err.msg);
    ck_assert_msg(ss_avro_reg_current_id(reg, "streamscore.DeadLetter", &id, &err) == 0, "%s",
                  err.msg);
    w = ss_avro_writer_new(reg, id, &err);
    ck_assert_msg(w != NULL, "%s", err.msg);
    ck_assert_msg(ss_dlq_encode(w, e, &out, &err) == 0, "%s", err.msg);
    ck_assert_int_eq((unsigned char)out.buf[0], 0x00); /* Confluent framing */

    r = ss_avro_reader_new(reg, id, &err);
    ck_assert_msg(r != NULL, "%s", err.msg);
    ck_assert_msg(ss_avro_reader_decode(r, out.buf, out.len, &v, &wid, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(wid, id);
    ck_assert_int_eq(ss_avro_get_str(v, "source_topic", &s, NULL, &err), 0);
    ck_assert_str_eq(s, e->source_topic);
    ck_assert_int_eq(ss_avro_get_int(v, "partition", &part, &err), 0);
    ck_assert_int_eq(part, e->partition);
    ck_assert_int_eq(ss_avro_get_long(v, "offset", &off, &err), 0);
    ck_assert_int_eq(off, e->offset);
    ck_assert_int_eq(ss_avro_get_long(v, "failed_at", &at, &err), 0);
    ck_assert_int_eq(at, e->failed_at_ms);
    ck_assert_int_eq(ss_avro_get_str(v, "reason", &s, NULL, &err), 0);
    ck_assert_str_eq(s, e->reason);
    ck_assert_int_eq(ss_avro_get_str(v, "error_code", &s, NULL, &err), 0);
    ck_assert_str_eq(s, e->error_code);
    ck_assert_int_eq(ss_avro_get_str(v, "service", &s, NULL, &err), 0);
    ck_assert_str_eq(s, e->service);
    ck_assert_int_eq(ss_avro_is_null(v, "key", &err), e->key == NULL);
    {
        /* payload bytes survive verbatim, NULs included */
        avro_value_t field;
        const void *bytes = NULL;
        ck_assert_int_eq(avro_value_get_by_name(v, "payload", &field, NULL), 0);
        ck_assert_int_eq(avro_value_get_bytes(&field, &bytes, &n), 0);
        ck_assert_uint_eq(n, e->len);
        ck_assert(e->len == 0 || memcmp(bytes, e->payload, n) == 0);
    }
    ss_avro_reader_destroy(r);
    ss_avro_writer_destroy(w);
    ss_buf_release(&out);
    ss_avro_reg_destroy(reg);
}

START_TEST(envelope_round_trips) {
    ss_dlq_entry_t e = sample();
    roundtrip(&e);
}
END_TEST

START_TEST(envelope_without_key_or_payload) {
    ss_dlq_entry_t e = sample();
    e.key = NULL;
    e.keylen = 0;
    e.payload = NULL;
    e.len = 0;
    e.error_code = SS_DLQ_UNKNOWN_SCHEMA;
    roundtrip(&e);
}
END_TEST

Suite *dlq_suite(void) {
    Suite *s = suite_create("dlq");
    TCase *tc = tcase_create("pure");
    tcase_add_test(tc, code_for_maps_error_classes);
    tcase_add_test(tc, code_for_payload_tells_unknown_schema_ids);
    tcase_add_test(tc, headers_describe_the_source);
    tcase_add_test(tc, headers_tolerate_missing_text);
    suite_add_tcase(s, tc);
    tc = tcase_create("avro");
    tcase_add_test(tc, envelope_round_trips);
    tcase_add_test(tc, envelope_without_key_or_payload);
    suite_add_tcase(s, tc);
    return s;
}
