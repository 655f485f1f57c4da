/* Writes the seed corpus of fuzz_decode: valid framed payloads of every schema in the manifest
 * (Transactions with several shapes through the codec, current and historical writer ids; the
 * other record types from the generic writer with their defaults), plus a few classic broken
 * ones. Usage: make_seeds OUTDIR [SCHEMAS_DIR]. Built and run by scripts/fuzz. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_avro.h"
#include "ss_txn.h"

static int n_written;

static void put(const char *dir, const char *name, const void *p, size_t n) {
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n) {
        perror(path);
        exit(1);
    }
    fclose(f);
    n_written++;
}

static void txn(ss_txn_t *t, int variant) {
    ss_txn_clear(t);
    snprintf(t->order_id, sizeof(t->order_id), "o-%d", 1000 + variant);
    t->has_customer = variant % 3 != 0;
    if (t->has_customer)
        snprintf(t->customer_id, sizeof(t->customer_id), "C%05d", 17 * variant);
    snprintf(t->store_id, sizeof(t->store_id), "s%03d", variant % 10);
    t->event_time_ms = 1704067200000LL + variant * 86400123LL;
    t->kind = variant % 4 == 3 ? SS_TXN_RETURN : SS_TXN_PURCHASE;
    snprintf(t->currency, sizeof(t->currency), "%s", variant % 2 ? "GBP" : "USD");
    for (int i = 0; i < 1 + variant % 4; i++) {
        ss_txn_line_t *l = ss_txn_add_line(t);
        snprintf(l->product_id, sizeof(l->product_id), "p%04d", 31 * i + variant);
        l->quantity = 1 + i * 7;
        l->unit_price = 0.5 + i * 2.25;
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: make_seeds OUTDIR [SCHEMAS_DIR]\n");
        return 2;
    }
    const char *out = argv[1];
    ss_err_t err = SS_ERR_INIT;
    ss_avro_reg_t *reg = ss_avro_reg_new(argc > 2 ? argv[2] : SS_SOURCE_DIR "/schemas", &err);
    ss_avro_txn_codec_t *codec = reg ? ss_avro_txn_codec_new(reg, &err) : NULL;
    if (!codec) {
        fprintf(stderr, "make_seeds: %s\n", err.msg);
        return 1;
    }
    ss_txn_t t = SS_TXN_INIT;
    ss_buf_t b = SS_BUF_INIT;
    char name[64];
    for (int v = 0; v < 6; v++) {
        txn(&t, v);
        ss_buf_reset(&b);
        if (ss_avro_txn_encode(codec, &t, &b, &err) == 0) {
            snprintf(name, sizeof(name), "txn-%d", v);
            put(out, name, b.buf, b.len);
        }
        ss_buf_reset(&b);
        if (ss_avro_txn_encode_id(codec, 100, &t, &b, &err) == 0) {
            snprintf(name, sizeof(name), "txn-v1-%d", v);
            put(out, name, b.buf, b.len);
        }
    }
    /* every other current schema, with defaults */
    for (int32_t id = 2; id <= 7; id++) {
        ss_err_t e2 = SS_ERR_INIT;
        ss_avro_writer_t *w = ss_avro_writer_new(reg, id, &e2);
        if (!w)
            continue;
        avro_value_t *v = ss_avro_writer_value(w);
        if (id == 2) { /* DeadLetter: bytes fields have no default; set them */
            ss_avro_set_bytes(v, "payload", "\0\0\0\0\1\2", 6, &e2);
            ss_avro_set_bytes(v, "key", "C42", 3, &e2);
        }
        ss_buf_reset(&b);
        if (ss_avro_writer_encode(w, &b, &e2) == 0) {
            snprintf(name, sizeof(name), "schema-%d", (int)id);
            put(out, name, b.buf, b.len);
        } else {
            fprintf(stderr, "make_seeds: schema %d: %s (skipped)\n", (int)id, e2.msg);
        }
        ss_avro_writer_destroy(w);
    }
    /* classic broken ones: short, bad magic, unknown id, truncated body */
    put(out, "short", "\0\0\0", 3);
    put(out, "magic", "\1\0\0\0\1\2", 6);
    put(out, "unknown-id", "\0\0\0\0\x63\2", 6);
    txn(&t, 1);
    ss_buf_reset(&b);
    ss_avro_txn_encode(codec, &t, &b, &err);
    put(out, "truncated", b.buf, b.len / 2);
    printf("make_seeds: %d seeds in %s\n", n_written, out);
    ss_buf_release(&b);
    ss_txn_release(&t);
    ss_avro_txn_codec_destroy(codec);
    ss_avro_reg_destroy(reg);
    return 0;
}
