/* libFuzzer target: the event decoders on untrusted Kafka payloads. Each input is one framed
 * payload, given to ss_avro_txn_decode (+ ss_txn_validate), to the generic reader of the writer
 * topic's current schema, and to ss_avro_to_json. Besides "no crash, no leak, no UB" it checks:
 *   - a payload the Transaction codec accepts re-encodes and decodes to the same fingerprint;
 *   - ss_avro_to_json output is valid JSON, and on failure leaves the buffer as it was.
 * Built by scripts/fuzz (clang -fsanitize=fuzzer,address,undefined). */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_avro.h"
#include "ss_txn.h"

#define N_READERS 8

static ss_avro_reg_t *reg;
static ss_avro_txn_codec_t *codec;
static ss_avro_reader_t *readers[N_READERS]; /* index = current schema id (1..7) */

static void die(const char *what, const ss_err_t *err) {
    fprintf(stderr, "fuzz_decode: %s: %s\n", what, err ? err->msg : "");
    abort();
}

/* Frees the globals at exit (runs before LeakSanitizer's own exit check, registered earlier):
 * avro-c values hold memory LSan cannot see through, reported as leaks otherwise. */
static void cleanup(void) {
    for (int i = 0; i < N_READERS; i++)
        ss_avro_reader_destroy(readers[i]);
    ss_avro_txn_codec_destroy(codec);
    ss_avro_reg_destroy(reg);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    ss_err_t err = SS_ERR_INIT;
    const char *dir = getenv("SS_SCHEMAS_DIR");
    if (!(reg = ss_avro_reg_new(dir ? dir : SS_SOURCE_DIR "/schemas", &err)))
        die("registry", &err);
    if (!(codec = ss_avro_txn_codec_new(reg, &err)))
        die("codec", &err);
    for (int32_t id = 1; id < N_READERS; id++)
        readers[id] = ss_avro_reader_new(reg, id, &err); /* NULL if the id is not current */
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ss_err_t err = SS_ERR_INIT;
    ss_txn_t t = SS_TXN_INIT, t2 = SS_TXN_INIT;
    ss_buf_t out = SS_BUF_INIT;

    /* 1. the hot path */
    int rc = ss_avro_txn_decode(codec, data, size, &t, &err);
    if (rc == 0) {
        ss_err_t verr = SS_ERR_INIT;
        (void)ss_txn_validate(&t, NULL, &verr);
        ss_err_t e2 = SS_ERR_INIT;
        if (ss_avro_txn_encode(codec, &t, &out, &e2) < 0)
            die("re-encode of a decoded transaction failed", &e2);
        if (ss_avro_txn_decode(codec, out.buf, out.len, &t2, &e2) < 0)
            die("decode of a re-encoded transaction failed", &e2);
        if (ss_txn_fingerprint(&t) != ss_txn_fingerprint(&t2))
            die("re-encoded transaction differs", NULL);
    } else if (rc != SS_ERR_DECODE && rc != SS_ERR_INVAL) {
        die("ss_avro_txn_decode returned an unexpected code", &err);
    } else if (!err.msg[0]) {
        die("decode error without a message", &err);
    }

    /* 2. the generic reader of the writer's topic */
    int32_t id;
    const uint8_t *body;
    size_t body_len;
    ss_err_t ferr = SS_ERR_INIT;
    if (ss_avro_frame_parse(data, size, &id, &body, &body_len, &ferr) == 0) {
        const char *topic = ss_avro_reg_topic(reg, id);
        int32_t cur;
        if (topic && ss_avro_reg_current_id(reg, topic, &cur, NULL) == 0 && cur > 0 &&
            cur < N_READERS && readers[cur]) {
            avro_value_t *v;
            ss_err_t e3 = SS_ERR_INIT;
            int r3 = ss_avro_reader_decode(readers[cur], data, size, &v, NULL, &e3);
            if (r3 < 0 && r3 != SS_ERR_DECODE && r3 != SS_ERR_INVAL)
                die("ss_avro_reader_decode returned an unexpected code", &e3);
        }
    }

    /* 3. JSON rendering with the writer schema */
    ss_buf_reset(&out);
    ss_buf_adds(&out, "[");
    ss_err_t e4 = SS_ERR_INIT;
    if (ss_avro_to_json(reg, data, size, &out, &e4) == 0) {
        json_error_t je;
        /* \u0000 is valid JSON, but jansson refuses it in object keys: check a copy with
         * \u0001 instead (same validity either way) */
        for (char *q = out.buf; (q = strstr(q, "\\u0000")) != NULL; q += 6)
            q[5] = '1';
        json_t *j = json_loadb(out.buf + 1, out.len - 1, JSON_DECODE_ANY, &je);
        if (!j) {
            fprintf(stderr, "invalid JSON (%s): %s\n", je.text, out.buf + 1);
            die("ss_avro_to_json produced invalid JSON", NULL);
        }
        json_decref(j);
    } else if (out.len != 1) {
        die("ss_avro_to_json changed the buffer on failure", &e4);
    }

    ss_txn_release(&t);
    ss_txn_release(&t2);
    ss_buf_release(&out);
    return 0;
}
