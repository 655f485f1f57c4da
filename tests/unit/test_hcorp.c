/* hcorp: every hostile corpus entry is rejected with its expected class and reason by the same
 * code path the features service uses (ss_avro_txn_decode, ss_txn_validate, fcheck_txn), and the
 * valid orders it interleaves pass. No network, no clock. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "fcheck.h"
#include "hostile_corpus.h"
#include "ss_avro.h"
#include "ss_dlq.h"
#include "ss_test.h"
#include "ss_txn.h"

#define BASE 1717200000000LL /* 2024-06-01 */

static ss_avro_reg_t *reg;
static ss_avro_txn_codec_t *codec;

static void setup(void) {
    char dir[1024];
    ss_err_t err = SS_ERR_INIT;
    snprintf(dir, sizeof(dir), "%s/schemas", ss_test_source_dir());
    reg = ss_avro_reg_new(dir, &err);
    ck_assert_msg(reg != NULL, "registry: %s", err.msg);
    codec = ss_avro_txn_codec_new(reg, &err);
    ck_assert_msg(codec != NULL, "codec: %s", err.msg);
}

static void teardown(void) {
    ss_avro_txn_codec_destroy(codec);
    ss_avro_reg_destroy(reg);
}

static const hcorp_opts_t opts = {.schema_id = 1, .base_ms = BASE, .tag = "ut"};

/* decode + validate, the features service's first two steps. */
static int check_pure(const ss_buf_t *b, ss_txn_t *t, ss_err_t *err) {
    int rc = ss_avro_txn_decode(codec, b->len ? b->buf : NULL, b->len, t, err);
    if (rc == 0)
        rc = ss_txn_validate(t, NULL, err);
    return rc;
}

START_TEST(catalogue_is_well_formed) {
    ck_assert_uint_ge(hcorp_count(), 30);
    ck_assert_ptr_null(hcorp_kind(hcorp_count()));
    for (size_t i = 0; i < hcorp_count(); i++) {
        const hcorp_kind_t *k = hcorp_kind(i);
        ck_assert(k->name[0] && k->reason[0] && k->what[0]);
        ck_assert_int_eq(hcorp_find(k->name), (int)i);
        ck_assert_msg(strcmp(k->code, SS_DLQ_DECODE) == 0 || strcmp(k->code, SS_DLQ_INVALID) == 0 ||
                          strcmp(k->code, SS_DLQ_CONFLICT) == 0 ||
                          strcmp(k->code, SS_DLQ_UNKNOWN_SCHEMA) == 0,
                      "%s: code %s", k->name, k->code);
        for (const char *p = k->name; *p; p++)
            ck_assert((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-');
    }
    ck_assert_int_eq(hcorp_find("no-such-entry"), -1);
    ss_err_t err = SS_ERR_INIT;
    ss_buf_t b = SS_BUF_INIT;
    ck_assert_int_eq(hcorp_build(hcorp_count(), &opts, &b, &err), SS_ERR_INVAL);
    ck_assert_int_eq(hcorp_build_original(0, &opts, &b, NULL, &err), SS_ERR_INVAL);
    hcorp_key(0, &b);
    ck_assert_str_eq(b.buf, "hostile/empty-payload");
    ss_buf_release(&b);
}
END_TEST

/* Each pure entry fails decode or validation with the expected class and reason. */
START_TEST(pure_entries_rejected_with_reason) {
    ss_txn_t t = SS_TXN_INIT;
    ss_buf_t b = SS_BUF_INIT;
    size_t n_pure = 0;
    for (size_t i = 0; i < hcorp_count(); i++) {
        const hcorp_kind_t *k = hcorp_kind(i);
        if (k->level != HCORP_PURE)
            continue;
        n_pure++;
        ss_err_t err = SS_ERR_INIT;
        ss_buf_reset(&b);
        ck_assert_int_eq(hcorp_build(i, &opts, &b, &err), 0);
        int rc = check_pure(&b, &t, &err);
        ck_assert_msg(rc < 0, "%s: accepted", k->name);
        ck_assert_msg(strstr(err.msg, k->reason) != NULL, "%s: reason '%s' lacks '%s'", k->name,
                      err.msg, k->reason);
        const char *code = ss_dlq_code_for_payload(reg, rc, b.buf, b.len);
        ck_assert_msg(strcmp(code, k->code) == 0, "%s: class %s, expected %s (%s)", k->name, code,
                      k->code, err.msg);
    }
    ck_assert_uint_ge(n_pure, 30);
    ss_txn_release(&t);
    ss_buf_release(&b);
}
END_TEST

/* Stream entries decode and validate, then fail the service's amount/clock checks once a valid
 * order at base_ms has set the partition's clock. */
START_TEST(stream_entries_need_the_stream_checks) {
    ss_txn_t t = SS_TXN_INIT;
    ss_buf_t b = SS_BUF_INIT;
    size_t n = 0;
    for (size_t i = 0; i < hcorp_count(); i++) {
        const hcorp_kind_t *k = hcorp_kind(i);
        if (k->level != HCORP_STREAM)
            continue;
        n++;
        ss_err_t err = SS_ERR_INIT;
        ss_buf_reset(&b);
        ck_assert_int_eq(hcorp_build(i, &opts, &b, &err), 0);
        ck_assert_msg(check_pure(&b, &t, &err) == 0, "%s: %s", k->name, err.msg);
        fcheck_t fc = {0};
        ss_txn_t v = SS_TXN_INIT;
        hcorp_valid_txn(0, &opts, 0, &v);
        ck_assert_int_eq(fcheck_txn(&fc, &v, 0, BASE, &err), 0);
        int rc = fcheck_txn(&fc, &t, 0, BASE, &err);
        ck_assert_msg(rc < 0, "%s: accepted by fcheck", k->name);
        ck_assert_msg(strstr(err.msg, k->reason) != NULL, "%s: reason '%s' lacks '%s'", k->name,
                      err.msg, k->reason);
        ck_assert_str_eq(ss_dlq_code_for(rc), k->code);
        fcheck_release(&fc);
        ss_txn_release(&v);
    }
    ck_assert_uint_ge(n, 3);
    ss_txn_release(&t);
    ss_buf_release(&b);
}
END_TEST

/* The conflicting duplicate is valid on its own; it shares the original's order_id and differs
 * in content (fingerprint), which is what the store detects. */
START_TEST(state_entry_is_a_conflict_of_its_original) {
    int i = hcorp_find("conflicting-duplicate");
    ck_assert_int_ge(i, 0);
    ck_assert_int_eq(hcorp_kind((size_t)i)->level, HCORP_STATE);
    ss_txn_t a = SS_TXN_INIT, b = SS_TXN_INIT, rec = SS_TXN_INIT;
    ss_buf_t ba = SS_BUF_INIT, bb = SS_BUF_INIT;
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(hcorp_build_original((size_t)i, &opts, &ba, &rec, &err), 0);
    ck_assert_int_eq(hcorp_build((size_t)i, &opts, &bb, &err), 0);
    ck_assert_msg(check_pure(&ba, &a, &err) == 0, "original: %s", err.msg);
    ck_assert_msg(check_pure(&bb, &b, &err) == 0, "duplicate: %s", err.msg);
    ck_assert_str_eq(a.order_id, b.order_id);
    ck_assert_uint_ne(ss_txn_fingerprint(&a), ss_txn_fingerprint(&b));
    /* the record handed back is the original as decoded */
    ck_assert_uint_eq(ss_txn_fingerprint(&rec), ss_txn_fingerprint(&a));
    ss_txn_release(&a);
    ss_txn_release(&b);
    ss_txn_release(&rec);
    ss_buf_release(&ba);
    ss_buf_release(&bb);
}
END_TEST

/* Valid orders pass every check, our encoder writes what ss_avro_txn_encode writes, and the JSON
 * record carries the same order. */
START_TEST(valid_orders_pass_and_match_the_codec) {
    ss_txn_t t = SS_TXN_INIT, d = SS_TXN_INIT;
    ss_buf_t mine = SS_BUF_INIT, theirs = SS_BUF_INIT, js = SS_BUF_INIT;
    fcheck_t fc = {0};
    int anon = 0, ret = 0;
    for (uint64_t s = 0; s < 500; s++) {
        ss_err_t err = SS_ERR_INIT;
        hcorp_valid_txn(s, &opts, 20, &t);
        ss_buf_reset(&mine);
        ss_buf_reset(&theirs);
        hcorp_encode_txn(&t, 1, &mine);
        ck_assert_int_eq(ss_avro_txn_encode(codec, &t, &theirs, &err), 0);
        ck_assert_uint_eq(mine.len, theirs.len);
        ck_assert(memcmp(mine.buf, theirs.buf, mine.len) == 0);
        ck_assert_msg(check_pure(&mine, &d, &err) == 0, "order %llu: %s", (unsigned long long)s,
                      err.msg);
        ck_assert_uint_eq(ss_txn_fingerprint(&d), ss_txn_fingerprint(&t));
        ck_assert_msg(fcheck_txn(&fc, &d, 0, BASE, &err) == 0, "order %llu: %s",
                      (unsigned long long)s, err.msg);
        anon += !t.has_customer;
        ret += t.kind == SS_TXN_RETURN;
    }
    ck_assert_int_gt(anon, 10);
    ck_assert_int_gt(ret, 10);
    /* deterministic */
    hcorp_valid_txn(7, &opts, 20, &t);
    hcorp_valid_txn(7, &opts, 20, &d);
    ck_assert_uint_eq(ss_txn_fingerprint(&t), ss_txn_fingerprint(&d));
    hcorp_txn_json(&t, &js);
    json_error_t je;
    json_t *o = json_loads(js.buf, 0, &je);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(json_string_value(json_object_get(o, "order_id")), t.order_id);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "event_time")), t.event_time_ms);
    json_t *l0 = json_array_get(json_object_get(o, "lines"), 0);
    ck_assert(json_real_value(json_object_get(l0, "unit_price")) == t.lines[0].unit_price);
    json_decref(o);
    fcheck_release(&fc);
    ss_txn_release(&t);
    ss_txn_release(&d);
    ss_buf_release(&mine);
    ss_buf_release(&theirs);
    ss_buf_release(&js);
}
END_TEST

START_TEST(manifest_has_one_line_per_entry) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    hcorp_manifest(f);
    fclose(f);
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    ck_assert_uint_eq(lines, hcorp_count() + 1);
    ck_assert(strncmp(text, "name\tcode\tlevel\treason\twhat\n", 28) == 0);
    ck_assert_ptr_nonnull(
        strstr(text, "\nprice-nan\tINVALID\tpure\tunit_price nan out of range\t"));
    free(text);
}
END_TEST

Suite *hcorp_suite(void) {
    Suite *s = suite_create("hcorp");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, catalogue_is_well_formed);
    tcase_add_test(tc, pure_entries_rejected_with_reason);
    tcase_add_test(tc, stream_entries_need_the_stream_checks);
    tcase_add_test(tc, state_entry_is_a_conflict_of_its_original);
    tcase_add_test(tc, valid_orders_pass_and_match_the_codec);
    tcase_add_test(tc, manifest_has_one_line_per_entry);
    suite_add_tcase(s, tc);
    return s;
}
