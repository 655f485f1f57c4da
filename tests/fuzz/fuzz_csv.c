/* libFuzzer target: the replay CSV reader (tools/replay/replay_csv.h), all three formats.
 * Input byte 0 selects the format (mod 3) and byte 1 a split point; the rest is the CSV text.
 * Each input is parsed twice, in one piece and in three pieces split inside rows, and the two
 * runs must agree (stats and every order's fingerprint). Also checked: the row accounting
 * balances (rows_read == rows_in_orders + rows_rejected), every produced order passes
 * ss_txn_validate, and encodes/decodes through the Avro codec unchanged.
 * Built by scripts/fuzz (clang -fsanitize=fuzzer,address,undefined). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay_csv.h"
#include "ss_avro.h"
#include "ss_txn.h"

static ss_avro_reg_t *reg;
static ss_avro_txn_codec_t *codec;

static void cleanup(void) {
    ss_avro_txn_codec_destroy(codec);
    ss_avro_reg_destroy(reg);
}

static void die(const char *what, const char *detail) {
    fprintf(stderr, "fuzz_csv: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    ss_err_t err = SS_ERR_INIT;
    const char *dir = getenv("SS_SCHEMAS_DIR");
    if (!(reg = ss_avro_reg_new(dir ? dir : SS_SOURCE_DIR "/schemas", &err)) ||
        !(codec = ss_avro_txn_codec_new(reg, &err)))
        die("registry", err.msg);
    atexit(cleanup);
    return 0;
}

/* Parses text in the given pieces; returns the reader (after finish) and its feed result. */
static rcsv_t *parse(rcsv_format_t fmt, const uint8_t *p, size_t n, const size_t *cuts,
                     size_t ncuts, int *rc) {
    rcsv_t *r = rcsv_new(&(rcsv_opts_t){.format = fmt});
    ss_err_t err = SS_ERR_INIT;
    size_t off = 0;
    *rc = 0;
    for (size_t i = 0; i <= ncuts && *rc == 0; i++) {
        size_t end = i < ncuts ? cuts[i] : n;
        *rc = rcsv_feed(r, p + off, end - off, &err);
        off = end;
    }
    int frc = rcsv_finish(r, &err);
    if (*rc == 0)
        *rc = frc;
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2)
        return 0;
    rcsv_format_t fmt = (rcsv_format_t)(data[0] % 3);
    const uint8_t *p = data + 2;
    size_t n = size - 2;
    size_t cut1 = n * data[1] / 256, cut2;
    cut2 = cut1 + (n - cut1) / 2;
    size_t cuts[2] = {cut1, cut2};
    int rc1, rc2;
    rcsv_t *a = parse(fmt, p, n, NULL, 0, &rc1);
    rcsv_t *b = parse(fmt, p, n, cuts, 2, &rc2);

    if (rc1 != rc2)
        die("one-piece and split parses disagree on the result", NULL);
    const rcsv_stats_t *sa = rcsv_stats(a), *sb = rcsv_stats(b);
    if (memcmp(sa, sb, sizeof(*sa)) != 0)
        die("one-piece and split parses disagree on the stats", NULL);
    if (rc1 == 0 && sa->rows_read != sa->rows_in_orders + sa->rows_rejected)
        die("row accounting does not balance", NULL);
    if (rcsv_count(a) != rcsv_count(b) || (rc1 == 0 && rcsv_count(a) != sa->orders))
        die("order counts differ", NULL);

    ss_txn_t t = SS_TXN_INIT, t2 = SS_TXN_INIT, t3 = SS_TXN_INIT;
    ss_buf_t buf = SS_BUF_INIT;
    for (size_t i = 0; i < rcsv_count(a); i++) {
        ss_err_t err = SS_ERR_INIT;
        rcsv_get(a, i, &t);
        rcsv_get(b, i, &t2);
        if (ss_txn_fingerprint(&t) != ss_txn_fingerprint(&t2))
            die("one-piece and split parses produced different orders", t.order_id);
        if (ss_txn_validate(&t, NULL, &err) < 0)
            die("a produced order fails validation", err.msg);
        ss_buf_reset(&buf);
        if (ss_avro_txn_encode(codec, &t, &buf, &err) < 0 ||
            ss_avro_txn_decode(codec, buf.buf, buf.len, &t3, &err) < 0)
            die("a produced order does not round-trip through Avro", err.msg);
        if (ss_txn_fingerprint(&t) != ss_txn_fingerprint(&t3))
            die("a produced order changed through Avro", t.order_id);
    }
    ss_txn_release(&t);
    ss_txn_release(&t2);
    ss_txn_release(&t3);
    ss_buf_release(&buf);
    rcsv_destroy(a);
    rcsv_destroy(b);
    return 0;
}
