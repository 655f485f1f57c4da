/* Unit tests of ss_schemareg's offline parts: request body, response parsing (ids, schemas,
 * errors), status classification, subjects, URL validation and attach without a registry. The
 * HTTP paths are covered by tests/integration/test_schemareg.sh. */
#include <check.h>
#include <string.h>

#include <jansson.h>

#include "ss_schemareg.h"
#include "ss_test.h"

#define S(lit) lit, sizeof(lit) - 1

START_TEST(body_escapes_the_schema_as_a_json_string) {
    ss_buf_t b = SS_BUF_INIT;
    const char *schema =
        "{\"type\": \"record\", \"name\": \"R\",\n \"doc\": \"tab\\there \\u00e9\"}";
    ss_schemareg_body(schema, &b);
    json_t *o = json_loads(b.buf, 0, NULL);
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(json_object_size(o), 1);
    ck_assert_str_eq(json_string_value(json_object_get(o, "schema")), schema);
    ck_assert_ptr_null(strchr(b.buf, '\n')); /* compact: one line */
    json_decref(o);
    ss_buf_release(&b);
}
END_TEST

START_TEST(parse_id_accepts_register_and_lookup_answers) {
    ss_err_t err = SS_ERR_INIT;
    int32_t id = -1;
    ck_assert_int_eq(ss_schemareg_parse_id(S("{\"id\":7}"), &id, &err), 0);
    ck_assert_int_eq(id, 7);
    ck_assert_int_eq(ss_schemareg_parse_id(S("{\"subject\":\"t-value\",\"id\":2147483647,"
                                             "\"version\":3,\"schema\":\"{}\"}"),
                                           &id, &err),
                     0);
    ck_assert_int_eq(id, 2147483647);
    ck_assert_int_eq(err.code, 0);
}
END_TEST

START_TEST(parse_id_rejects_bad_answers) {
    static const struct {
        const char *body, *msg;
    } cases[] = {
        {"", "malformed JSON"},
        {"{\"id\":", "malformed JSON"},
        {"[1]", "not a JSON object"},
        {"{\"version\":1}", "no 'id'"},
        {"{\"id\":\"7\"}", "'id' is not an integer"},
        {"{\"id\":7.5}", "'id' is not an integer"},
        {"{\"id\":-1}", "id -1 out of range"},
        {"{\"id\":2147483648}", "id 2147483648 out of range"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ss_err_t err = SS_ERR_INIT;
        int32_t id = 99;
        ck_assert_int_eq(ss_schemareg_parse_id(cases[i].body, strlen(cases[i].body), &id, &err),
                         SS_ERR_INVAL);
        ck_assert_int_eq(id, 99);
        ck_assert_msg(strstr(err.msg, cases[i].msg), "case %zu: '%s'", i, err.msg);
        ck_assert_msg(strncmp(err.msg, "schema registry response: ", 26) == 0, "%s", err.msg);
    }
}
END_TEST

START_TEST(parse_schema_returns_the_text_verbatim) {
    ss_err_t err = SS_ERR_INIT;
    ss_buf_t out = SS_BUF_INIT;
    ck_assert_int_eq(
        ss_schemareg_parse_schema(1,
                                  S("{\"schema\":\"{\\\"type\\\":\\\"long\\\",\\\"logicalType\\\":"
                                    "\\\"timestamp-millis\\\"}\"}"),
                                  &out, &err),
        0);
    ck_assert_str_eq(out.buf, "{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}");
    /* explicit AVRO and a null schemaType are Avro too; text is appended */
    ck_assert_int_eq(
        ss_schemareg_parse_schema(2, S("{\"schemaType\":\"AVRO\",\"schema\":\"x\"}"), &out, &err),
        0);
    ck_assert_int_eq(
        ss_schemareg_parse_schema(3, S("{\"schemaType\":null,\"schema\":\"y\"}"), &out, &err), 0);
    ck_assert_str_eq(out.buf + out.len - 2, "xy");
    ck_assert_int_eq(err.code, 0);
    ss_buf_release(&out);
}
END_TEST

START_TEST(parse_schema_rejects_other_types_and_bad_answers) {
    static const struct {
        const char *body, *msg;
    } cases[] = {
        {"{\"schemaType\":\"PROTOBUF\",\"schema\":\"syntax\"}",
         "schema id 9 is PROTOBUF, not AVRO"},
        {"{\"schemaType\":\"JSON\",\"schema\":\"{}\"}", "schema id 9 is JSON, not AVRO"},
        {"{\"schemaType\":3,\"schema\":\"{}\"}", "not AVRO"},
        {"{\"subject\":\"x\"}", "no 'schema'"},
        {"{\"schema\":{\"type\":\"int\"}}", "'schema' is not a string"},
        {"<html>bad gateway</html>", "malformed JSON"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ss_err_t err = SS_ERR_INIT;
        ss_buf_t out = SS_BUF_INIT;
        ck_assert_int_eq(
            ss_schemareg_parse_schema(9, cases[i].body, strlen(cases[i].body), &out, &err),
            SS_ERR_INVAL);
        ck_assert_uint_eq(out.len, 0);
        ck_assert_msg(strstr(err.msg, cases[i].msg), "case %zu: '%s'", i, err.msg);
        ss_buf_release(&out);
    }
}
END_TEST

START_TEST(http_error_classifies_status_codes) {
    static const struct {
        long status;
        int code;
    } cases[] = {
        {0, SS_ERR_RETRIABLE},  {500, SS_ERR_RETRIABLE}, {503, SS_ERR_RETRIABLE},
        {404, SS_ERR_NOTFOUND}, {409, SS_ERR_CONFLICT},  {401, SS_ERR_FATAL},
        {403, SS_ERR_FATAL},    {422, SS_ERR_INVAL},     {415, SS_ERR_INVAL},
        {400, SS_ERR_INVAL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ss_err_t err = SS_ERR_INIT;
        ck_assert_int_eq(ss_schemareg_http_error("op", cases[i].status, NULL, 0, &err),
                         cases[i].code);
        ck_assert_int_eq(err.code, cases[i].code);
    }
}
END_TEST

START_TEST(http_error_quotes_the_registry_message) {
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(ss_schemareg_http_error("get schema id 5 from 'http://r:8081'", 404,
                                             S("{\"error_code\":40403,\"message\":\"Schema 5 not "
                                               "found\"}"),
                                             &err),
                     SS_ERR_NOTFOUND);
    ck_assert_str_eq(err.msg, "get schema id 5 from 'http://r:8081': HTTP 404: Schema 5 not found "
                              "(error_code 40403)");
    /* a non-registry body (a proxy's page): its printable start, no newline */
    ss_err_t e2 = SS_ERR_INIT;
    ss_schemareg_http_error("op", 502, S("<html>\nBad Gateway</html>"), &e2);
    ck_assert_str_eq(e2.msg, "op: HTTP 502: <html> Bad Gateway</html>");
    ss_err_t e3 = SS_ERR_INIT;
    ss_schemareg_http_error("op", 409, NULL, 0, &e3);
    ck_assert_str_eq(e3.msg, "op: HTTP 409");
}
END_TEST

START_TEST(subject_uses_topic_name_strategy) {
    ss_buf_t b = SS_BUF_INIT;
    ss_schemareg_subject("transactions", 0, &b);
    ck_assert_str_eq(b.buf, "transactions-value");
    ss_buf_reset(&b);
    ss_schemareg_subject("a b/c", 1, &b);
    ck_assert_str_eq(b.buf, "a%20b%2Fc-value");
    ss_buf_reset(&b);
    ss_schemareg_subject("transactions.dlq", 1, &b);
    ck_assert_str_eq(b.buf, "transactions.dlq-value");
    ss_buf_release(&b);
}
END_TEST

START_TEST(new_validates_urls_without_network) {
    ss_err_t err = SS_ERR_INIT;
    ck_assert_ptr_null(ss_schemareg_new(&(ss_schemareg_opts_t){.url = ""}, &err));
    ck_assert_int_eq(err.code, SS_ERR_INVAL);
    ss_err_t e2 = SS_ERR_INIT;
    ck_assert_ptr_null(ss_schemareg_new(&(ss_schemareg_opts_t){.url = "ftp://x"}, &e2));
    ck_assert_str_eq(e2.msg,
                     "schema registry URL 'ftp://x' does not start with http:// or https://");
    ss_err_t e3 = SS_ERR_INIT;
    ck_assert_ptr_null(ss_schemareg_new(&(ss_schemareg_opts_t){.url = " , /"}, &e3));
    ck_assert_int_eq(e3.code, SS_ERR_INVAL);
    ss_schemareg_t *sr = ss_schemareg_new(
        &(ss_schemareg_opts_t){.url = "http://a:8081/, https://b:8081", .userinfo = "u:p"}, &err);
    ck_assert_ptr_nonnull(sr);
    ck_assert_uint_eq(ss_schemareg_requests(sr), 0);
    ss_schemareg_destroy(sr);
    ss_schemareg_destroy(NULL);
}
END_TEST

START_TEST(attach_without_url_is_the_manifest) {
    ss_err_t err = SS_ERR_INIT;
    ss_schemareg_t *sr = (ss_schemareg_t *)&err; /* must be overwritten with NULL */
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/schemas", ss_test_source_dir());
    ss_avro_reg_t *reg = ss_schemareg_attach(
        &(ss_schemareg_attach_opts_t){.schemas_dir = dir, .url = ""}, &sr, &err);
    ck_assert_msg(reg != NULL, "%s", err.msg);
    ck_assert_ptr_null(sr);
    int32_t id = 0;
    ck_assert_int_eq(ss_avro_reg_current_id(reg, "transactions", &id, &err), 0);
    ck_assert_int_eq(id, 1);
    ck_assert_ptr_nonnull(ss_avro_reg_json(reg, 100, &err)); /* historical ids kept */
    ss_avro_reg_destroy(reg);

    /* a bad manifest fails before any request is made */
    ss_err_t e2 = SS_ERR_INIT;
    ck_assert_ptr_null(ss_schemareg_attach(
        &(ss_schemareg_attach_opts_t){.schemas_dir = "/nonexistent-ss", .url = "http://x:1"}, &sr,
        &e2));
    ck_assert_ptr_null(sr);
    ck_assert_int_eq(e2.code, SS_ERR_IO);
}
END_TEST

static const ss_cfg_def_t svc_defs[] = {
    {"schemas.dir", SS_CFG_STR, "", 0, 0, "schemas", 0, NULL},
    {"topic.transactions", SS_CFG_STR, "transactions", 0, 0, "in", 0, NULL},
    {"topic.dlq", SS_CFG_STR, "transactions.dlq", 0, 0, "dlq", 0, NULL},
    SS_SCHEMAREG_CFG_DEFS,
};

/* The one-call service entry points: without a URL they are the manifest, with nothing else. */
START_TEST(open_without_url_is_the_manifest) {
    ss_err_t err = SS_ERR_INIT;
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/schemas", ss_test_source_dir());
    ss_cfg_t *cfg = ss_cfg_new("t", "t", svc_defs, sizeof(svc_defs) / sizeof(svc_defs[0]));
    ck_assert_int_eq(ss_cfg_set(cfg, "schemas.dir", dir, &err), 0);
    ck_assert_int_eq(ss_cfg_set(cfg, "topic.transactions", "txn-prod", &err), 0);
    ss_schemareg_t *sr = (ss_schemareg_t *)&err;
    ss_avro_reg_t *reg = ss_schemareg_open(
        cfg, (const char *[]){"topic.transactions", "topic.dlq", NULL}, &sr, &err);
    ck_assert_msg(reg != NULL, "%s", err.msg);
    ck_assert_ptr_null(sr);
    int32_t id = 0;
    ck_assert_int_eq(ss_avro_reg_current_id(reg, "streamscore.DeadLetter", &id, &err), 0);
    ck_assert_int_eq(id, 2);
    ss_avro_reg_destroy(reg);
    sr = (ss_schemareg_t *)&err;
    reg = ss_schemareg_open_reader(cfg, &sr, &err);
    ck_assert_msg(reg != NULL, "%s", err.msg);
    ck_assert_ptr_null(sr);
    ck_assert_ptr_nonnull(ss_avro_reg_json(reg, 100, &err));
    ss_avro_reg_destroy(reg);
    /* with a URL the reader registry starts empty and makes no request before a lookup */
    ck_assert_int_eq(ss_cfg_set(cfg, "schema.registry.url", "http://127.0.0.1:1", &err), 0);
    reg = ss_schemareg_open_reader(cfg, &sr, &err);
    ck_assert_msg(reg != NULL, "%s", err.msg);
    ck_assert_ptr_nonnull(sr);
    ck_assert_uint_eq(ss_schemareg_requests(sr), 0);
    ss_avro_reg_destroy(reg);
    ss_schemareg_destroy(sr);
    ss_cfg_destroy(cfg);

    ck_assert_str_eq(ss_schemareg_topic_key("churn-scores"), "topic.scores");
    ck_assert_str_eq(ss_schemareg_topic_key("transactions.dlq"), "topic.dlq");
    ck_assert_str_eq(ss_schemareg_topic_key("drift-alerts"), "topic.alerts");
    ck_assert_ptr_null(ss_schemareg_topic_key("nope"));
}
END_TEST

Suite *schemareg_suite(void) {
    Suite *s = suite_create("schemareg");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, body_escapes_the_schema_as_a_json_string);
    tcase_add_test(tc, open_without_url_is_the_manifest);
    tcase_add_test(tc, parse_id_accepts_register_and_lookup_answers);
    tcase_add_test(tc, parse_id_rejects_bad_answers);
    tcase_add_test(tc, parse_schema_returns_the_text_verbatim);
    tcase_add_test(tc, parse_schema_rejects_other_types_and_bad_answers);
    tcase_add_test(tc, http_error_classifies_status_codes);
    tcase_add_test(tc, http_error_quotes_the_registry_message);
    tcase_add_test(tc, subject_uses_topic_name_strategy);
    tcase_add_test(tc, new_validates_urls_without_network);
    tcase_add_test(tc, attach_without_url_is_the_manifest);
    suite_add_tcase(s, tc);
    return s;
}
