/* Micro benchmark of the Transaction codec and the generic reader (not built by CMake).
 * Build and run (after building ss_common in build-avro):
 *   cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Icommon bench/avro_decode.c \
 *      build-avro/common/libss_common.a $(pkg-config --cflags --libs avro-c jansson) -lpthread -lm
 * \ -o /tmp/avro_decode && /tmp/avro_decode schemas */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ss_avro.h"

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv) {
    ss_err_t err = SS_ERR_INIT;
    ss_avro_reg_t *reg = ss_avro_reg_new(argc > 1 ? argv[1] : "schemas", &err);
    if (!reg) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    ss_avro_txn_codec_t *c = ss_avro_txn_codec_new(reg, &err);
    ss_txn_t t = SS_TXN_INIT, d = SS_TXN_INIT;
    snprintf(t.order_id, sizeof(t.order_id), "C581587");
    snprintf(t.customer_id, sizeof(t.customer_id), "12680");
    t.has_customer = 1;
    snprintf(t.store_id, sizeof(t.store_id), "United Kingdom");
    t.event_time_ms = 1323435000000LL;
    snprintf(t.currency, sizeof(t.currency), "GBP");
    for (int i = 0; i < 3; i++) {
        ss_txn_line_t *l = ss_txn_add_line(&t);
        snprintf(l->product_id, sizeof(l->product_id), "8512%dA", i);
        l->quantity = 6 * (i + 1);
        l->unit_price = 2.55 + i;
    }
    ss_buf_t p = SS_BUF_INIT, v1 = SS_BUF_INIT, out = SS_BUF_INIT;
    ss_avro_txn_encode(c, &t, &p, &err);
    ss_avro_txn_encode_id(c, 100, &t, &v1, &err);
    const int n = 2000000;
    double t0 = now_ns();
    for (int i = 0; i < n; i++)
        if (ss_avro_txn_decode(c, p.buf, p.len, &d, &err) < 0)
            return 1;
    double t1 = now_ns();
    for (int i = 0; i < n; i++)
        if (ss_avro_txn_decode(c, v1.buf, v1.len, &d, &err) < 0)
            return 1;
    double t2 = now_ns();
    for (int i = 0; i < n; i++) {
        ss_buf_reset(&out);
        ss_avro_txn_encode(c, &t, &out, &err);
    }
    double t3 = now_ns();
    ss_avro_reader_t *r = ss_avro_reader_new(reg, 1, &err);
    avro_value_t *val;
    for (int i = 0; i < n / 4; i++)
        if (ss_avro_reader_decode(r, p.buf, p.len, &val, NULL, &err) < 0)
            return 1;
    double t4 = now_ns();
    for (int i = 0; i < n / 4; i++) {
        ss_buf_reset(&out);
        ss_avro_to_json(reg, p.buf, p.len, &out, &err);
    }
    double t5 = now_ns();
    printf("record: %zu bytes, 3 lines\n", p.len);
    printf("txn decode (current writer): %6.1f ns/record\n", (t1 - t0) / n);
    printf("txn decode (v1 writer, resolved with defaults): %6.1f ns/record\n", (t2 - t1) / n);
    printf("txn encode: %6.1f ns/record\n", (t3 - t2) / n);
    printf("generic reader decode (avro-c value): %6.1f ns/record\n", (t4 - t3) / (n / 4));
    printf("to_json: %6.1f ns/record\n", (t5 - t4) / (n / 4));
    ss_avro_reader_destroy(r);
    ss_buf_release(&p);
    ss_buf_release(&v1);
    ss_buf_release(&out);
    ss_txn_release(&t);
    ss_txn_release(&d);
    ss_avro_txn_codec_destroy(c);
    ss_avro_reg_destroy(reg);
    return 0;
}
