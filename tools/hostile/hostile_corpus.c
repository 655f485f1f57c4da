/* hostile_corpus: the catalogue of bad events and our own raw Transaction encoder; see
 * hostile_corpus.h. Pure: no I/O besides hcorp_manifest's FILE. */
#include "hostile_corpus.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_BASE_MS 1717200000000LL /* 2024-06-01T00:00:00Z */
#define DAY_MS 86400000LL
#define MAX_RLINES 4

/* ================================ raw encoder ================================ */

/* An order as bytes on the wire: every field can hold what ss_txn_t cannot (long ids, NULs,
 * 64-bit quantities, any union or enum index). */
typedef struct rline {
    const char *pid;
    size_t pid_len;
    int64_t qty; /* written as an Avro int varint, unchecked */
    double price;
} rline_t;

typedef struct rorder {
    const char *oid;
    size_t oid_len;
    int64_t cust_branch; /* union index: 0 null, 1 string, anything else as is */
    const char *cid;
    size_t cid_len;
    const char *sid;
    size_t sid_len;
    int64_t time_ms;
    int64_t kind; /* enum index: 0 PURCHASE, 1 RETURN */
    rline_t lines[MAX_RLINES];
    size_t n_lines;
    const char *cur;
    size_t cur_len;
} rorder_t;

static void put_long(ss_buf_t *out, int64_t v) {
    uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    while (u >= 0x80) {
        ss_buf_addch(out, (int)(u | 0x80) & 0xff);
        u >>= 7;
    }
    ss_buf_addch(out, (int)u);
}

static void put_str(ss_buf_t *out, const char *p, size_t n) {
    put_long(out, (int64_t)n);
    ss_buf_add(out, p, n);
}

static void put_double(ss_buf_t *out, double d) {
    uint64_t u;
    memcpy(&u, &d, 8);
    for (int i = 0; i < 8; i++)
        ss_buf_addch(out, (int)(u >> (8 * i)) & 0xff);
}

static void put_header(ss_buf_t *out, int magic, uint32_t id) {
    ss_buf_addch(out, magic);
    for (int i = 3; i >= 0; i--)
        ss_buf_addch(out, (int)(id >> (8 * i)) & 0xff);
}

/* Offsets (in out) recorded while encoding, for entries that cut or patch the bytes. */
typedef struct roffs {
    size_t time;       /* start of event_time */
    size_t lines;      /* start of the lines array (first block count) */
    size_t last_price; /* start of the last line's unit_price */
    size_t currency;   /* start of currency */
} roffs_t;

static void put_line(ss_buf_t *out, const rline_t *l, roffs_t *off) {
    put_str(out, l->pid, l->pid_len);
    put_long(out, l->qty);
    off->last_price = out->len;
    put_double(out, l->price);
}

/* The Transaction v2 body (schemas/Transaction.avsc field order), lines in one block. */
static void put_body(ss_buf_t *out, const rorder_t *r, roffs_t *off) {
    put_str(out, r->oid, r->oid_len);
    put_long(out, r->cust_branch);
    if (r->cust_branch == 1)
        put_str(out, r->cid, r->cid_len);
    put_str(out, r->sid, r->sid_len);
    off->time = out->len;
    put_long(out, r->time_ms);
    put_long(out, r->kind);
    off->lines = out->len;
    if (r->n_lines) {
        put_long(out, (int64_t)r->n_lines);
        for (size_t i = 0; i < r->n_lines; i++)
            put_line(out, &r->lines[i], off);
    }
    put_long(out, 0);
    off->currency = out->len;
    put_str(out, r->cur, r->cur_len);
}

void hcorp_encode_txn(const ss_txn_t *t, int32_t schema_id, ss_buf_t *out) {
    roffs_t off;
    put_header(out, 0, (uint32_t)(schema_id ? schema_id : 1));
    put_str(out, t->order_id, strlen(t->order_id));
    if (t->has_customer) {
        put_long(out, 1);
        put_str(out, t->customer_id, strlen(t->customer_id));
    } else {
        put_long(out, 0);
    }
    put_str(out, t->store_id, strlen(t->store_id));
    put_long(out, t->event_time_ms);
    put_long(out, (int64_t)t->kind);
    if (t->n_lines) {
        put_long(out, (int64_t)t->n_lines);
        for (size_t i = 0; i < t->n_lines; i++) {
            const ss_txn_line_t *l = &t->lines[i];
            rline_t rl = {l->product_id, strlen(l->product_id), l->quantity, l->unit_price};
            put_line(out, &rl, &off);
        }
    }
    put_long(out, 0);
    put_str(out, t->currency, strlen(t->currency));
}

/* ================================ the catalogue ================================ */

typedef struct ctx {
    const hcorp_opts_t *o;
    int32_t sid; /* schema id */
    int64_t base;
    ss_buf_t *out;
    rorder_t r;       /* the base order, mutated by builders */
    char oid[96];     /* "<tag>-<name>" */
    char cid[96];     /* "<tag>-hc" */
    ss_buf_t scratch; /* for big ids; released by hcorp_build */
    roffs_t off;
} ctx_t;

static void s_set(const char **p, size_t *n, const char *s) {
    *p = s;
    *n = strlen(s);
}

/* Header + the (possibly mutated) base order. */
static void emit(ctx_t *c) {
    put_header(c->out, 0, (uint32_t)c->sid);
    put_body(c->out, &c->r, &c->off);
}

static void big_id(ctx_t *c, const char **p, size_t *n) {
    ss_buf_reset(&c->scratch);
    for (int i = 0; i < 10240; i++)
        ss_buf_addch(&c->scratch, 'A' + i % 26);
    *p = c->scratch.buf;
    *n = c->scratch.len;
}

/* --- framing --- */
static void b_empty(ctx_t *c) { (void)c; }
static void b_short_header(ctx_t *c) { ss_buf_add(c->out, "\0\0\0", 3); }
static void b_header_only(ctx_t *c) { put_header(c->out, 0, (uint32_t)c->sid); }
static void b_wrong_magic(ctx_t *c) {
    put_header(c->out, 0x07, (uint32_t)c->sid);
    put_body(c->out, &c->r, &c->off);
}
static void b_unknown_schema(ctx_t *c) {
    put_header(c->out, 0, 4242);
    put_body(c->out, &c->r, &c->off);
}
static void b_negative_schema(ctx_t *c) {
    put_header(c->out, 0, 0xfffffffdu);
    put_body(c->out, &c->r, &c->off);
}
static void b_other_record(ctx_t *c) {
    put_header(c->out, 0, 2); /* DeadLetter */
    put_body(c->out, &c->r, &c->off);
}
static void b_json(ctx_t *c) {
    ss_buf_addf(c->out,
                "{\"order_id\":\"%s\",\"customer_id\":\"%s\",\"store_id\":\"S1\","
                "\"event_time\":%" PRId64 ",\"kind\":\"PURCHASE\",\"lines\":[{\"product_id\":"
                "\"P1\",\"quantity\":2,\"unit_price\":3.5}],\"currency\":\"GBP\"}",
                c->oid, c->cid, c->base);
}
static void b_json_after_header(ctx_t *c) {
    put_header(c->out, 0, (uint32_t)c->sid);
    b_json(c);
}
static void b_text(ctx_t *c) { ss_buf_adds(c->out, "not avro at all"); }

/* --- Avro structure --- */
static void b_truncated(ctx_t *c) {
    emit(c);
    ss_buf_setlen(c->out, c->off.time + 3); /* inside event_time's 6-byte varint */
}
static void b_length_exceeds(ctx_t *c) {
    put_header(c->out, 0, (uint32_t)c->sid);
    put_long(c->out, 1000);
    ss_buf_adds(c->out, c->oid);
}
static void b_negative_length(ctx_t *c) {
    put_header(c->out, 0, (uint32_t)c->sid);
    put_long(c->out, -5);
    ss_buf_adds(c->out, c->oid);
}
static void b_length_overflow(ctx_t *c) {
    put_header(c->out, 0, (uint32_t)c->sid);
    for (int i = 0; i < 9; i++)
        ss_buf_addch(c->out, 0xff);
    ss_buf_addch(c->out, 0x7f); /* 10th byte > 1: more than 64 bits */
    ss_buf_adds(c->out, c->oid);
}
static void b_unterminated_varint(ctx_t *c) {
    emit(c);
    ss_buf_setlen(c->out, c->off.lines - 1); /* at kind */
    ss_buf_add(c->out, "\x80\x80\x80\x80", 4);
}
/* Rewrites the lines array from off.lines: the block count `count` (and `size` if count < 0),
 * then `items` copies of the first line, then the end of the record. */
static void lines_block(ctx_t *c, int64_t count, int64_t size, int items, int raw_count) {
    emit(c);
    ss_buf_setlen(c->out, c->off.lines);
    if (raw_count) {
        for (int i = 0; i < 9; i++)
            ss_buf_addch(c->out, 0xff);
        ss_buf_addch(c->out, 0x01); /* zigzag 2^64-1 = INT64_MIN */
    } else {
        put_long(c->out, count);
    }
    if (count < 0 && !raw_count)
        put_long(c->out, size);
    for (int i = 0; i < items; i++)
        put_line(c->out, &c->r.lines[0], &c->off);
    put_long(c->out, 0);
    put_str(c->out, c->r.cur, c->r.cur_len);
}
static void b_negative_count(ctx_t *c) { lines_block(c, -2, 1000000, 2, 0); }
static void b_huge_count(ctx_t *c) { lines_block(c, 1000000000, 0, 1, 0); }
static void b_count_int64_min(ctx_t *c) { lines_block(c, 0, 0, 1, 1); }
static void b_count_more_than_items(ctx_t *c) { lines_block(c, 3, 0, 1, 0); }
static void b_union_index(ctx_t *c) {
    c->r.cust_branch = 5;
    emit(c);
}
static void b_enum_index(ctx_t *c) {
    c->r.kind = 7;
    emit(c);
}
static void b_negative_enum(ctx_t *c) {
    c->r.kind = -1;
    emit(c);
}
static void b_trailing(ctx_t *c) {
    emit(c);
    ss_buf_add(c->out, "XYZ", 3);
}
static void b_quantity_overflow(ctx_t *c) {
    c->r.lines[0].qty = 1LL << 40;
    emit(c);
}
static void b_id_nul(ctx_t *c) {
    c->r.oid = "A\0B";
    c->r.oid_len = 3;
    emit(c);
}
static void b_oid_10kb(ctx_t *c) {
    big_id(c, &c->r.oid, &c->r.oid_len);
    emit(c);
}
static void b_cid_10kb(ctx_t *c) {
    big_id(c, &c->r.cid, &c->r.cid_len);
    emit(c);
}
static void b_pid_10kb(ctx_t *c) {
    big_id(c, &c->r.lines[1].pid, &c->r.lines[1].pid_len);
    emit(c);
}
static void b_sid_65(ctx_t *c) {
    big_id(c, &c->r.sid, &c->r.sid_len);
    c->r.sid_len = SS_ID_MAX + 1;
    emit(c);
}
static void b_currency_long(ctx_t *c) {
    s_set(&c->r.cur, &c->r.cur_len, "GBPGBPGB");
    emit(c);
}

/* --- validation --- */
static void b_empty_oid(ctx_t *c) {
    s_set(&c->r.oid, &c->r.oid_len, "");
    emit(c);
}
static void b_empty_cid(ctx_t *c) {
    s_set(&c->r.cid, &c->r.cid_len, "");
    emit(c);
}
static void b_empty_sid(ctx_t *c) {
    s_set(&c->r.sid, &c->r.sid_len, "");
    emit(c);
}
static void b_empty_pid(ctx_t *c) {
    s_set(&c->r.lines[1].pid, &c->r.lines[1].pid_len, "");
    emit(c);
}
static void b_utf8_oid(ctx_t *c) {
    s_set(&c->r.oid, &c->r.oid_len, "H\xc3\x28");
    emit(c);
}
static void b_overlong_cid(ctx_t *c) {
    s_set(&c->r.cid, &c->r.cid_len, "C\xc0\xaf");
    emit(c);
}
static void b_ctrl_sid(ctx_t *c) {
    s_set(&c->r.sid, &c->r.sid_len, "S\x01");
    emit(c);
}
static void b_ansi_oid(ctx_t *c) {
    s_set(&c->r.oid, &c->r.oid_len, "\x1b[31mH1");
    emit(c);
}
static void b_surrogate_pid(ctx_t *c) {
    s_set(&c->r.lines[0].pid, &c->r.lines[0].pid_len, "P\xed\xa0\x80");
    emit(c);
}
static void b_no_lines(ctx_t *c) {
    c->r.n_lines = 0;
    emit(c);
}
static void b_too_many_lines(ctx_t *c) {
    emit(c);
    ss_buf_setlen(c->out, c->off.lines);
    put_long(c->out, 10001);
    for (int i = 0; i < 10001; i++)
        put_line(c->out, &c->r.lines[0], &c->off);
    put_long(c->out, 0);
    put_str(c->out, c->r.cur, c->r.cur_len);
}
static void b_qty_zero(ctx_t *c) {
    c->r.lines[0].qty = 0;
    emit(c);
}
static void b_qty_negative(ctx_t *c) {
    c->r.lines[1].qty = -3;
    emit(c);
}
static void b_qty_absurd(ctx_t *c) {
    c->r.lines[0].qty = 2000000;
    emit(c);
}
static void b_price_nan(ctx_t *c) {
    c->r.lines[0].price = NAN;
    emit(c);
}
static void b_price_inf(ctx_t *c) {
    c->r.lines[0].price = INFINITY;
    emit(c);
}
static void b_price_ninf(ctx_t *c) {
    c->r.lines[1].price = -INFINITY;
    emit(c);
}
static void b_price_negative(ctx_t *c) {
    c->r.lines[0].price = -1.5;
    emit(c);
}
static void b_price_absurd(ctx_t *c) {
    c->r.lines[0].price = 1e9;
    emit(c);
}
static void b_time_1970(ctx_t *c) {
    c->r.time_ms = 0;
    emit(c);
}
static void b_time_2100(ctx_t *c) {
    c->r.time_ms = 4102444800000LL;
    emit(c);
}
static void b_time_negative(ctx_t *c) {
    c->r.time_ms = -DAY_MS;
    emit(c);
}
static void b_bad_currency(ctx_t *c) {
    s_set(&c->r.cur, &c->r.cur_len, "gbp");
    emit(c);
}

/* --- stream and state --- */
static void b_amount(ctx_t *c) {
    c->r.lines[0].qty = 1000000; /* both at their per-line maximum: 1e12 per order */
    c->r.lines[0].price = 1e6;
    emit(c);
}
static void b_far_future(ctx_t *c) {
    c->r.time_ms = 4070908800000LL; /* 2099-01-01: inside ss_txn_validate's range */
    emit(c);
}
static void b_far_past(ctx_t *c) {
    c->r.time_ms = c->base - 500 * DAY_MS;
    emit(c);
}
static void b_conflict(ctx_t *c) {
    c->r.lines[0].qty = 3; /* the original has 2 */
    emit(c);
}

typedef struct entry {
    hcorp_kind_t k;
    void (*build)(ctx_t *c);
} entry_t;

#define P HCORP_PURE
static const entry_t catalogue[] = {
    /* framing */
    {{"empty-payload", "DECODE", "payload too short: 0 bytes", P, "zero-length value"}, b_empty},
    {{"short-header", "DECODE", "payload too short: 3 bytes", P, "3 bytes, less than the header"},
     b_short_header},
    {{"header-only", "DECODE", "order_id: truncated varint", P, "the 5-byte header, no body"},
     b_header_only},
    {{"wrong-magic", "DECODE", "bad magic byte 0x07", P, "magic byte 0x07 instead of 0x00"},
     b_wrong_magic},
    {{"unknown-schema-id", "UNKNOWN_SCHEMA", "unknown schema id 4242", P,
      "schema id 4242, not in the registry"},
     b_unknown_schema},
    {{"negative-schema-id", "DECODE", "negative schema id", P, "schema id bytes ff ff ff fd"},
     b_negative_schema},
    {{"other-record-schema", "DECODE", "cannot be read as", P,
      "a Transaction body framed with the DeadLetter schema id 2"},
     b_other_record},
    {{"json-instead-of-avro", "DECODE", "bad magic byte 0x7b", P,
      "the order as JSON text, no framing"},
     b_json},
    {{"json-after-header", "DECODE", "negative length", P, "a valid header followed by JSON text"},
     b_json_after_header},
    {{"text-payload", "DECODE", "bad magic byte 0x6e", P, "\"not avro at all\""}, b_text},
    /* Avro structure */
    {{"truncated-avro", "DECODE", "event_time: truncated varint", P,
      "a valid order cut inside event_time"},
     b_truncated},
    {{"length-exceeds-message", "DECODE", "length 1000 exceeds the", P,
      "order_id length 1000, message much shorter"},
     b_length_exceeds},
    {{"negative-string-length", "DECODE", "negative length -5", P, "order_id length -5"},
     b_negative_length},
    {{"string-length-overflows-int64", "DECODE", "varint overflows 64 bits", P,
      "order_id length varint of 10 bytes beyond 64 bits"},
     b_length_overflow},
    {{"unterminated-varint", "DECODE", "kind: truncated varint", P,
      "the kind varint's continuation bits never stop before the end"},
     b_unterminated_varint},
    {{"negative-array-count", "DECODE", "block size 1000000 exceeds", P,
      "lines block count -2 with a byte size of 1000000"},
     b_negative_count},
    {{"huge-array-count", "DECODE", "count 1000000000 exceeds what", P,
      "lines block count 10^9 in a ~40-byte message"},
     b_huge_count},
    {{"array-count-int64-min", "DECODE", "bad block count", P, "lines block count INT64_MIN"},
     b_count_int64_min},
    {{"array-count-more-than-items", "DECODE", "count 3 exceeds what", P,
      "lines block count 3, one line present"},
     b_count_more_than_items},
    {{"union-index-out-of-range", "DECODE", "union index 5 out of range", P,
      "customer_id union branch 5 of 2"},
     b_union_index},
    {{"unknown-enum-symbol", "DECODE", "enum index 7 out of range", P,
      "kind enum index 7 (the schema has 2 symbols)"},
     b_enum_index},
    {{"negative-enum-index", "DECODE", "enum index -1 out of range", P, "kind enum index -1"},
     b_negative_enum},
    {{"trailing-garbage", "DECODE", "3 trailing bytes", P, "a valid order followed by \"XYZ\""},
     b_trailing},
    {{"quantity-overflows-int", "DECODE", "int 1099511627776 out of range", P,
      "quantity 2^40 in an Avro int field"},
     b_quantity_overflow},
    {{"id-with-nul", "INVALID", "order_id holds a NUL byte", P, "order_id \"A\\0B\""}, b_id_nul},
    {{"order-id-10kb", "INVALID", "order_id is 10240 bytes, longer than 64", P,
      "order_id of 10 KiB"},
     b_oid_10kb},
    {{"customer-id-10kb", "INVALID", "customer_id is 10240 bytes", P, "customer_id of 10 KiB"},
     b_cid_10kb},
    {{"product-id-10kb", "INVALID", "product_id is 10240 bytes", P,
      "second line's product_id of 10 KiB"},
     b_pid_10kb},
    {{"store-id-65-bytes", "INVALID", "store_id is 65 bytes, longer than 64", P,
      "store_id one byte over the limit"},
     b_sid_65},
    {{"currency-too-long", "INVALID", "currency is 8 bytes", P, "currency \"GBPGBPGB\""},
     b_currency_long},
    /* validation */
    {{"empty-order-id", "INVALID", "order_id is empty", P, "order_id \"\""}, b_empty_oid},
    {{"empty-customer-id", "INVALID", "customer_id is empty", P, "customer_id \"\" (not null)"},
     b_empty_cid},
    {{"empty-store-id", "INVALID", "store_id is empty", P, "store_id \"\""}, b_empty_sid},
    {{"empty-product-id", "INVALID", "line 2: product_id is empty", P,
      "second line's product_id \"\""},
     b_empty_pid},
    {{"invalid-utf8-order-id", "INVALID", "order_id is not printable UTF-8", P,
      "order_id with the bytes c3 28"},
     b_utf8_oid},
    {{"overlong-utf8-customer-id", "INVALID", "customer_id is not printable UTF-8", P,
      "customer_id with the overlong encoding c0 af"},
     b_overlong_cid},
    {{"control-char-store-id", "INVALID", "store_id is not printable UTF-8", P,
      "store_id with a 0x01 byte"},
     b_ctrl_sid},
    {{"ansi-escape-order-id", "INVALID", "order_id is not printable UTF-8", P,
      "order_id starting with ESC [31m (terminal injection)"},
     b_ansi_oid},
    {{"surrogate-product-id", "INVALID", "line 1: product_id is not printable UTF-8", P,
      "product_id holding a UTF-16 surrogate (ed a0 80)"},
     b_surrogate_pid},
    {{"no-lines", "INVALID", "no lines", P, "empty lines array"}, b_no_lines},
    {{"too-many-lines", "INVALID", "10001 lines, more than 10000", P, "10001 lines"},
     b_too_many_lines},
    {{"quantity-zero", "INVALID", "line 1: quantity 0 out of range", P, "quantity 0"}, b_qty_zero},
    {{"quantity-negative", "INVALID", "line 2: quantity -3 out of range", P, "quantity -3"},
     b_qty_negative},
    {{"quantity-absurd", "INVALID", "quantity 2000000 out of range", P,
      "quantity 2,000,000 on one line"},
     b_qty_absurd},
    {{"price-nan", "INVALID", "unit_price nan out of range", P, "unit_price NaN"}, b_price_nan},
    {{"price-inf", "INVALID", "unit_price inf out of range", P, "unit_price +Infinity"},
     b_price_inf},
    {{"price-negative-inf", "INVALID", "unit_price -inf out of range", P, "unit_price -Infinity"},
     b_price_ninf},
    {{"price-negative", "INVALID", "unit_price -1.5 out of range", P, "unit_price -1.5"},
     b_price_negative},
    {{"price-absurd", "INVALID", "unit_price 1e+09 out of range", P, "unit_price 10^9"},
     b_price_absurd},
    {{"time-1970", "INVALID", "event_time 0 ms out of range", P, "event_time 1970-01-01"},
     b_time_1970},
    {{"time-2100", "INVALID", "event_time 4102444800000 ms out of range", P,
      "event_time 2100-01-01"},
     b_time_2100},
    {{"time-negative", "INVALID", "event_time -86400000 ms out of range", P,
      "event_time 1969-12-31"},
     b_time_negative},
    {{"bad-currency", "INVALID", "currency 'gbp' is not 3 letters", P, "currency \"gbp\""},
     b_bad_currency},
    /* stream checks (features' fcheck) */
    {{"amount-absurd", "INVALID", "order amount", HCORP_STREAM,
      "every line within limits, order amount 10^12"},
     b_amount},
    {{"far-future", "INVALID", "days in the future", HCORP_STREAM,
      "event_time 2099-01-01 (allowed by ss_txn_validate)"},
     b_far_future},
    {{"far-past", "INVALID", "days behind the stream clock", HCORP_STREAM,
      "event_time 500 days before the stream clock"},
     b_far_past},
    /* state */
    {{"conflicting-duplicate", "CONFLICT", "already applied with different content", HCORP_STATE,
      "an applied order_id again with quantity 3 instead of 2"},
     b_conflict},
};
#undef P

#define N_ENTRIES (sizeof(catalogue) / sizeof(catalogue[0]))

size_t hcorp_count(void) { return N_ENTRIES; }

const hcorp_kind_t *hcorp_kind(size_t i) { return i < N_ENTRIES ? &catalogue[i].k : NULL; }

int hcorp_find(const char *name) {
    for (size_t i = 0; i < N_ENTRIES; i++)
        if (strcmp(catalogue[i].k.name, name) == 0)
            return (int)i;
    return -1;
}

static void ctx_init(ctx_t *c, size_t i, const hcorp_opts_t *o, ss_buf_t *out) {
    static const hcorp_opts_t none = {0};
    if (!o)
        o = &none;
    memset(c, 0, sizeof(*c));
    c->o = o;
    c->sid = o->schema_id ? o->schema_id : 1;
    c->base = o->base_ms ? o->base_ms : DEFAULT_BASE_MS;
    c->out = out;
    c->scratch = (ss_buf_t)SS_BUF_INIT;
    const char *tag = o->tag && *o->tag ? o->tag : "h";
    snprintf(c->oid, sizeof(c->oid), "%.16s-%.40s", tag, catalogue[i].k.name);
    snprintf(c->cid, sizeof(c->cid), "%.16s-hc", tag);
    rorder_t *r = &c->r;
    s_set(&r->oid, &r->oid_len, c->oid);
    r->cust_branch = 1;
    s_set(&r->cid, &r->cid_len, c->cid);
    s_set(&r->sid, &r->sid_len, "S1");
    r->time_ms = c->base;
    r->kind = 0;
    r->lines[0] = (rline_t){"P1", 2, 2, 3.5};
    r->lines[1] = (rline_t){"P2", 2, 1, 10.25};
    r->n_lines = 2;
    s_set(&r->cur, &r->cur_len, "GBP");
}

int hcorp_build(size_t i, const hcorp_opts_t *o, ss_buf_t *out, ss_err_t *err) {
    if (i >= N_ENTRIES)
        return ss_err_set(err, SS_ERR_INVAL, "no hostile entry %zu (there are %zu)", i,
                          (size_t)N_ENTRIES);
    ctx_t c;
    ctx_init(&c, i, o, out);
    catalogue[i].build(&c);
    ss_buf_release(&c.scratch);
    return 0;
}

int hcorp_build_original(size_t i, const hcorp_opts_t *o, ss_buf_t *out, ss_txn_t *t,
                         ss_err_t *err) {
    if (i >= N_ENTRIES || catalogue[i].k.level != HCORP_STATE)
        return ss_err_set(err, SS_ERR_INVAL, "hostile entry %zu has no original order", i);
    ctx_t c;
    ctx_init(&c, i, o, out);
    emit(&c);
    if (t) {
        const rorder_t *r = &c.r;
        ss_txn_clear(t);
        snprintf(t->order_id, sizeof(t->order_id), "%.*s", (int)r->oid_len, r->oid);
        t->has_customer = 1;
        snprintf(t->customer_id, sizeof(t->customer_id), "%.*s", (int)r->cid_len, r->cid);
        snprintf(t->store_id, sizeof(t->store_id), "%.*s", (int)r->sid_len, r->sid);
        t->event_time_ms = r->time_ms;
        t->kind = SS_TXN_PURCHASE;
        snprintf(t->currency, sizeof(t->currency), "%.*s", (int)r->cur_len, r->cur);
        for (size_t k = 0; k < r->n_lines; k++) {
            ss_txn_line_t *l = ss_txn_add_line(t);
            snprintf(l->product_id, sizeof(l->product_id), "%.*s", (int)r->lines[k].pid_len,
                     r->lines[k].pid);
            l->quantity = (int32_t)r->lines[k].qty;
            l->unit_price = r->lines[k].price;
        }
    }
    ss_buf_release(&c.scratch);
    return 0;
}

void hcorp_key(size_t i, ss_buf_t *out) {
    ss_buf_addf(out, "hostile/%s", i < N_ENTRIES ? catalogue[i].k.name : "?");
}

/* ================================ valid orders ================================ */

static uint64_t mix64(uint64_t x) { /* splitmix64 finaliser */
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

void hcorp_valid_txn(uint64_t seq, const hcorp_opts_t *o, unsigned n_customers, ss_txn_t *t) {
    static const hcorp_opts_t none = {0};
    if (!o)
        o = &none;
    const char *tag = o->tag && *o->tag ? o->tag : "h";
    int64_t base = o->base_ms ? o->base_ms : DEFAULT_BASE_MS;
    unsigned nc = n_customers ? n_customers : 50;
    uint64_t h = mix64(seq ^ 0x5eedULL);
    ss_txn_clear(t);
    snprintf(t->order_id, sizeof(t->order_id), "%.16s-v%" PRIu64, tag, seq);
    t->has_customer = (h % 10) != 0;
    if (t->has_customer)
        snprintf(t->customer_id, sizeof(t->customer_id), "%.16s-c%u", tag,
                 (unsigned)((h >> 4) % nc));
    snprintf(t->store_id, sizeof(t->store_id), "S%u", (unsigned)((h >> 20) % 5) + 1);
    t->event_time_ms = base + (int64_t)seq * 60000 + (int64_t)((h >> 24) % 30000);
    t->kind = ((h >> 40) % 8) == 0 ? SS_TXN_RETURN : SS_TXN_PURCHASE;
    snprintf(t->currency, sizeof(t->currency), "GBP");
    unsigned n = (unsigned)((h >> 44) % 4) + 1;
    for (unsigned k = 0; k < n; k++) {
        uint64_t g = mix64(h + k);
        ss_txn_line_t *l = ss_txn_add_line(t);
        snprintf(l->product_id, sizeof(l->product_id), "P%u", (unsigned)(g % 200) + 1);
        l->quantity = (int32_t)((g >> 8) % 10) + 1;
        l->unit_price = (double)((g >> 16) % 5000 + 10) / 100.0;
    }
}

void hcorp_txn_json(const ss_txn_t *t, ss_buf_t *out) {
    json_t *o = json_object();
    json_object_set_new(o, "order_id", json_string(t->order_id));
    json_object_set_new(o, "customer_id",
                        t->has_customer ? json_string(t->customer_id) : json_null());
    json_object_set_new(o, "store_id", json_string(t->store_id));
    json_object_set_new(o, "event_time", json_integer(t->event_time_ms));
    json_object_set_new(o, "kind", json_string(t->kind == SS_TXN_RETURN ? "RETURN" : "PURCHASE"));
    json_object_set_new(o, "currency", json_string(t->currency));
    json_t *ls = json_array();
    for (size_t i = 0; i < t->n_lines; i++) {
        json_t *l = json_object();
        json_object_set_new(l, "product_id", json_string(t->lines[i].product_id));
        json_object_set_new(l, "quantity", json_integer(t->lines[i].quantity));
        json_object_set_new(l, "unit_price", json_real(t->lines[i].unit_price));
        json_array_append_new(ls, l);
    }
    json_object_set_new(o, "lines", ls);
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    ss_buf_adds(out, s);
    ss_buf_addch(out, '\n');
    free(s);
    json_decref(o);
}

void hcorp_manifest(FILE *out) {
    static const char *levels[] = {"pure", "stream", "state"};
    fprintf(out, "name\tcode\tlevel\treason\twhat\n");
    for (size_t i = 0; i < N_ENTRIES; i++) {
        const hcorp_kind_t *k = &catalogue[i].k;
        fprintf(out, "%s\t%s\t%s\t%s\t%s\n", k->name, k->code, levels[k->level], k->reason,
                k->what);
    }
}
