/* Unit tests of flocal (the `local` state mode's C arithmetic): random order streams with
 * duplicates, conflicts, returns, anonymous and out-of-order orders, applied in random batches;
 * each batch's write plan is executed on an in-memory fake Redis (jansson), the cache is dropped
 * and reloaded from it now and then, and everything is compared with fmodel (the reference
 * model of features.lua): statuses, late flags, stored state bit for bit, demand. No network. */
#include <check.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crec.h"
#include "flocal.h"
#include "fmodel.h"
#include "rfm.h"
#include "ss_demand.h"

static uint64_t rng_state;
static uint32_t rnd(uint32_t n) {
    rng_state = rng_state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return (uint32_t)(rng_state >> 33) % n;
}

#define T0 INT64_C(1291190760000)
#define DAY RFM_DAY_MS
#define NOW_MS INT64_C(1700000000000) /* wall clock given to flocal_apply */

static void make_order(ss_txn_t *t, int i) {
    ss_txn_clear(t);
    snprintf(t->order_id, sizeof(t->order_id), "%06d", 500000 + i);
    t->has_customer = rnd(5) != 0;
    if (t->has_customer)
        snprintf(t->customer_id, sizeof(t->customer_id), "C%02u", rnd(25));
    snprintf(t->store_id, sizeof(t->store_id), "S%u", rnd(3));
    t->event_time_ms =
        T0 + (int64_t)i * 7 * 3600000 - (rnd(10) == 0 ? (int64_t)rnd(45) * DAY : 0) + rnd(3600000);
    t->kind = rnd(8) == 0 ? SS_TXN_RETURN : SS_TXN_PURCHASE;
    snprintf(t->currency, sizeof(t->currency), "GBP");
    int nl = 1 + (int)rnd(5);
    static const double prices[] = {0.29, 0.85, 1.25, 2.55, 4.95, 12.75, 165.0};
    for (int j = 0; j < nl; j++) {
        ss_txn_line_t *l = ss_txn_add_line(t);
        snprintf(l->product_id, sizeof(l->product_id), "P%u", rnd(8));
        l->quantity = 1 + (int32_t)rnd(24);
        l->unit_price = prices[rnd(7)] * (rnd(4) == 0 ? 3 : 1);
    }
}

/* ---- the fake Redis: key -> {field -> string} ---- */

static json_t *fake_hash(json_t *db, const char *key) {
    json_t *h = json_object_get(db, key);
    if (!h) {
        h = json_object();
        json_object_set_new(db, key, h);
    }
    return h;
}

/* Fields may be binary (st, w): stored as jansson strings with length. */
static void fake_set(json_t *db, const char *key, const char *f, const char *v, size_t vlen) {
    json_object_set_new(fake_hash(db, key), f, json_stringn_nocheck(v, vlen));
}

/* Splits a RESP plan (n bulk strings) into offsets and lengths (static arrays: one plan at a
 * time); checks the framing on the way. */
static void plan_split(const ss_buf_t *buf, size_t n, const size_t **off, const size_t **len) {
    static size_t *o, *l, cap;
    if (n > cap) {
        cap = n * 2;
        o = realloc(o, cap * sizeof(*o));
        l = realloc(l, cap * sizeof(*l));
    }
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(pos < buf->len && buf->buf[pos] == '$', "argument %zu is not a bulk string",
                      i);
        char *end = NULL;
        l[i] = strtoul(buf->buf + pos + 1, &end, 10);
        ck_assert(end[0] == '\r' && end[1] == '\n');
        o[i] = (size_t)(end + 2 - buf->buf);
        pos = o[i] + l[i];
        ck_assert(pos + 2 <= buf->len && buf->buf[pos] == '\r' && buf->buf[pos + 1] == '\n');
        pos += 2;
    }
    ck_assert_uint_eq(pos, buf->len);
    *off = o;
    *len = l;
}

/* Number of operations `op` in a plan. */
static size_t plan_count(const ss_buf_t *buf, size_t n, char op) {
    const size_t *off, *len;
    plan_split(buf, n, &off, &len);
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += len[i] == 1 && buf->buf[off[i]] == op;
    return c;
}

/* Runs a write plan like features_write.lua; returns 1 (nothing written) when a fence fails. */
static int run_plan(json_t *db, const ss_buf_t *buf, size_t n) {
    const size_t *off, *len;
    plan_split(buf, n, &off, &len);
    char *a[5];
#define ARG(k) (buf->buf + off[(k)])
#define DUP(k) strndup(ARG(k), len[(k)])
    size_t i = 0;
    for (; i < n && (ARG(i)[0] == 'F' || ARG(i)[0] == 'A'); i += 3) {
        a[0] = DUP(i + 1);
        a[1] = DUP(i + 2);
        json_t *h = json_object_get(db, a[0]);
        int stale;
        if (ARG(i)[0] == 'F') { /* the fence key holds the owner's epoch as a string */
            stale = !json_is_string(h) || strcmp(json_string_value(h), a[1]) != 0;
        } else {
            stale = json_object_get(h, a[1]) != NULL;
        }
        free(a[0]);
        free(a[1]);
        if (stale)
            return 1;
    }
    while (i < n) {
        char op = ARG(i)[0];
        if (op == 'H') {
            a[0] = DUP(i + 1);
            a[1] = DUP(i + 2);
            long c = atol(a[1]);
            for (long k = 0; k < c; k++) {
                char *f = DUP(i + 3 + 2 * k);
                fake_set(db, a[0], f, ARG(i + 4 + 2 * k), len[i + 4 + 2 * k]);
                free(f);
            }
            free(a[0]);
            free(a[1]);
            i += 3 + 2 * (size_t)c;
        } else if (op == 'D') {
            a[0] = DUP(i + 1);
            json_object_del(db, a[0]);
            free(a[0]);
            i += 2;
        } else if (op == 'X') {
            i += 3;
        } else if (op == 'M' || op == 'm') {
            a[0] = DUP(i + 1);
            a[1] = DUP(i + 2);
            a[2] = DUP(i + 3);
            json_t *h = fake_hash(db, a[0]);
            json_t *cur = json_object_get(h, a[1]);
            long long v = atoll(a[2]);
            if (!cur || (op == 'M' && v > atoll(json_string_value(cur))) ||
                (op == 'm' && v < atoll(json_string_value(cur))))
                json_object_set_new(h, a[1], json_string(a[2]));
            for (int k = 0; k < 3; k++)
                free(a[k]);
            i += 4;
        } else {
            ck_abort_msg("bad plan op '%c' at %zu", op, i);
        }
    }
#undef ARG
#undef DUP
    return 0;
}

/* One partition (0) whose fence key holds the owner's epoch in the fake Redis. */
#define FENCE_KEY "ss:fence:{transactions:0}"

/* Makes `epoch` the current owner epoch of partition 0 (what INCR of the fence key does). */
static void fake_fence(json_t *db, int64_t epoch) {
    char b[32];
    snprintf(b, sizeof(b), "%" PRId64, epoch);
    json_object_set_new(db, FENCE_KEY, json_string(b));
}

/* The input partition of an order, as keyed production would give it: one of three, by
 * customer (by store for anonymous orders). Demand records are per partition. */
static int32_t part_of_txn(const ss_txn_t *t) {
    const char *k = t->has_customer ? t->customer_id : t->store_id;
    unsigned h = 0;
    for (; *k; k++)
        h = h * 31 + (unsigned char)*k;
    return (int32_t)(h % 3);
}

/* flocal_apply fenced by partition 0's epoch (the fence stands for all three partitions). */
static size_t apply_fenced(flocal_t *l, const ss_txn_t *const *t, size_t n, int64_t now_ms,
                           int64_t epoch, fstore_result_t *res, ss_buf_t *plan) {
    const char *keys[1] = {FENCE_KEY};
    int32_t parts[128];
    ck_assert_uint_le(n, 128);
    for (size_t i = 0; i < n; i++)
        parts[i] = part_of_txn(t[i]);
    return flocal_apply(l, t, parts, n, now_ms, keys, &epoch, 1, res, plan);
}

/* What fstore's local_load does, against the fake Redis. */
static void fake_load(flocal_t *l, json_t *db, const ss_txn_t *const *txns, size_t n) {
    ss_buf_t k = SS_BUF_INIT, f = SS_BUF_INIT;
    ss_err_t err = SS_ERR_INIT;
    for (size_t i = 0; i < n; i++) {
        const ss_txn_t *t = txns[i];
        if (t->has_customer && !flocal_has_customer(l, t->customer_id)) {
            flocal_customer_begin(l, t->customer_id);
            ss_buf_reset(&k);
            ss_buf_addf(&k, "ss:c:{%s}", t->customer_id);
            json_t *h = json_object_get(db, k.buf);
            const char *field;
            json_t *v;
            json_object_foreach(h, field, v) {
                ck_assert_int_eq(flocal_customer_field(l, t->customer_id, field, strlen(field),
                                                       json_string_value(v), json_string_length(v),
                                                       &err),
                                 0);
            }
        } else if (!t->has_customer && flocal_anon_need(l, t, &k, &f)) {
            json_t *v = json_object_get(json_object_get(db, k.buf), f.buf);
            flocal_anon_set(l, k.buf, f.buf, v ? json_string_value(v) : NULL,
                            v ? json_string_length(v) : 0);
        }
        if (t->kind == SS_TXN_PURCHASE && flocal_demand_need(l, t, part_of_txn(t), &k, &f)) {
            json_t *v = json_object_get(json_object_get(db, k.buf), f.buf);
            ck_assert_int_eq(flocal_demand_set(l, k.buf, part_of_txn(t),
                                               v ? json_string_value(v) : NULL,
                                               v ? json_string_length(v) : 0, &err),
                             0);
        }
        if (!flocal_has_store(l, t->store_id)) {
            json_t *a = json_object_get(json_object_get(db, "ss:wm"), t->store_id);
            json_t *b = json_object_get(json_object_get(db, "ss:wmin"), t->store_id);
            flocal_store_set(l, t->store_id, a != NULL, a ? atoll(json_string_value(a)) : 0,
                             b != NULL, b ? atoll(json_string_value(b)) : 0);
        }
    }
    ss_buf_release(&k);
    ss_buf_release(&f);
}

/* Compares the fake Redis customer hashes with the model, field by field and bit for bit. */
static void compare_state(const fmodel_t *m, json_t *db) {
    char *buf = NULL;
    size_t sz = 0;
    FILE *f = open_memstream(&buf, &sz);
    fmodel_dump_state(m, f);
    fclose(f);
    size_t n_cust = 0;
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_error_t je;
        json_t *j = json_loads(line, 0, &je);
        ck_assert_ptr_nonnull(j);
        const char *cid = json_string_value(json_object_get(j, "customer_id"));
        char key[64];
        snprintf(key, sizeof(key), "ss:c:{%s}", cid);
        json_t *h = json_object_get(db, key);
        ck_assert_msg(h != NULL, "customer %s missing", cid);
        ss_err_t err = SS_ERR_INIT;
        json_t *rv = json_object_get(h, CREC_FIELD);
        ck_assert_msg(rv != NULL && json_object_size(h) == 1, "customer %s: not one record", cid);
        crec_t r;
        ck_assert_int_eq(crec_decode(json_string_value(rv), json_string_length(rv), &r, &err), 0);
        const rfm_agg_t a = r.agg;
        ck_assert_int_eq(a.n, json_integer_value(json_object_get(j, "n")));
        ck_assert(a.sum == json_real_value(json_object_get(j, "s")) ||
                  a.sum == json_number_value(json_object_get(j, "s")));
        ck_assert(a.mean == json_number_value(json_object_get(j, "mu")));
        ck_assert(a.m2 == json_number_value(json_object_get(j, "m2")));
        ck_assert(a.sum_c == json_number_value(json_object_get(j, "sc")));
        ck_assert_int_eq(a.first_ms, json_integer_value(json_object_get(j, "f")));
        ck_assert_int_eq(a.last_ms, json_integer_value(json_object_get(j, "l")));
        ck_assert_int_eq(a.ret_n, json_integer_value(json_object_get(j, "rn")));
        ck_assert(a.ret_amount == json_number_value(json_object_get(j, "ra")));
        ss_buf_t ws = SS_BUF_INIT;
        ss_buf_adds(&ws, "");
        for (size_t k = 0; k < r.n_win; k++)
            ss_buf_addf(&ws, "%s%" PRId64, k ? "," : "", r.win[k]);
        ck_assert_str_eq(ws.buf, json_string_value(json_object_get(j, "w")));
        ss_buf_release(&ws);
        ck_assert_int_eq(r.n_orders, json_integer_value(json_object_get(j, "orders")));
        ck_assert_int_eq(r.n_products, json_object_size(json_object_get(j, "products")));
        for (size_t k = 0; k < r.n_products; k++) {
            char pid[SS_ID_MAX + 1];
            memcpy(pid, r.products[k].id, r.products[k].len);
            pid[r.products[k].len] = '\0';
            json_t *q = json_object_get(json_object_get(j, "products"), pid);
            ck_assert_msg(q && json_integer_value(q) == (int64_t)r.products[k].val,
                          "customer %s product %s", cid, pid);
        }
        crec_release(&r);
        json_decref(j);
        n_cust++;
    }
    free(buf);
    size_t n_keys = 0;
    const char *key;
    json_t *v;
    json_object_foreach(db, key, v) n_keys += strncmp(key, "ss:c:{", 6) == 0;
    ck_assert_int_eq(n_keys, n_cust);
}

static int sum_cb(const char *product, size_t len, double qty, void *opaque, ss_err_t *err) {
    (void)err;
    json_t *sums = opaque;
    char id[SS_ID_MAX + 1];
    memcpy(id, product, len);
    id[len] = '\0';
    json_t *cur = json_object_get(sums, id);
    json_object_set_new(sums, id,
                        json_integer((cur ? json_integer_value(cur) : 0) + (json_int_t)qty));
    return 0;
}

/* Compares the fake Redis demand (p: fields plus q: records, summed per product) with the
 * model's. */
static void compare_demand(const fmodel_t *m, json_t *db) {
    json_t *sums = json_object(); /* dm key -> {product -> units} */
    const char *key, *fk;
    json_t *h, *v;
    size_t n_fake = 0, n_records = 0;
    json_object_foreach(db, key, h) {
        if (strncmp(key, "ss:dm:{", 7) != 0)
            continue;
        json_t *per = json_object();
        json_object_foreach(h, fk, v) {
            ss_err_t err = SS_ERR_INIT;
            n_records += strncmp(fk, "q:", 2) == 0;
            ck_assert_int_eq(ss_demand_field(fk, strlen(fk), json_string_value(v),
                                             json_string_length(v), sum_cb, per, &err),
                             0);
        }
        n_fake += json_object_size(per);
        json_object_set_new(sums, key, per);
    }
    char *buf = NULL;
    size_t sz = 0;
    FILE *f = open_memstream(&buf, &sz);
    fmodel_dump_demand(m, f);
    fclose(f);
    size_t n_model = 0;
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_error_t je;
        json_t *j = json_loads(line, 0, &je);
        char dk[128];
        snprintf(dk, sizeof(dk), "ss:dm:{%s:%s}", json_string_value(json_object_get(j, "store_id")),
                 json_string_value(json_object_get(j, "day")));
        const char *pid = json_string_value(json_object_get(j, "product_id"));
        json_t *q = json_object_get(json_object_get(sums, dk), pid);
        ck_assert_msg(q != NULL, "demand %s %s missing", dk, pid);
        ck_assert_int_eq(json_integer_value(q), json_integer_value(json_object_get(j, "quantity")));
        json_decref(j);
        n_model++;
    }
    free(buf);
    ck_assert_int_eq(n_fake, n_model);
    ck_assert_uint_gt(n_records, 0);
    json_decref(sums);
}

static void run_stream(uint64_t seed, int64_t lateness, int reload_every) {
    rng_state = seed;
    enum { N = 600 };
    ss_txn_t *orders = calloc(N, sizeof(*orders));
    for (int i = 0; i < N; i++)
        make_order(&orders[i], i);
    /* Stream: each order once, ~30% twice (a copy later), 2% conflicting copies; shuffled
     * locally (out of order). */
    size_t cap = 2 * N, n = 0;
    ss_txn_t *stream = calloc(cap, sizeof(*stream));
    for (int i = 0; i < N; i++) {
        ss_txn_copy(&stream[n++], &orders[i]);
        if (rnd(10) < 3)
            ss_txn_copy(&stream[n++], &orders[rnd((uint32_t)i + 1)]);
        else if (rnd(50) == 0) {
            ss_txn_copy(&stream[n], &orders[rnd((uint32_t)i + 1)]);
            stream[n++].lines[0].quantity += 1;
        }
    }
    for (size_t i = 0; i + 1 < n; i++) {
        size_t j = i + rnd(6);
        if (j < n) {
            ss_txn_t tmp = stream[i];
            stream[i] = stream[j];
            stream[j] = tmp;
        }
    }
    fmodel_t *m = fmodel_new(lateness, 0);
    flocal_t *l =
        flocal_new("ss:", lateness, 0, seed % 3 ? 400 * DAY : 0, seed % 2 ? 800 * DAY : 0);
    json_t *db = json_object();
    fake_fence(db, 1);
    ss_buf_t plan = SS_BUF_INIT;
    fstore_result_t *res = calloc(64, sizeof(*res));
    const ss_txn_t *ptrs[64];
    size_t counts[3] = {0}, batches = 0, n_late = 0;
    for (size_t i = 0; i < n;) {
        size_t k = 1 + rnd(40);
        if (k > n - i)
            k = n - i;
        for (size_t j = 0; j < k; j++)
            ptrs[j] = &stream[i + j];
        if (reload_every && ++batches % (size_t)reload_every == 0)
            flocal_clear(l);
        fake_load(l, db, ptrs, k);
        size_t na = apply_fenced(l, ptrs, k, NOW_MS, 1, res, &plan);
        ck_assert_int_eq(run_plan(db, &plan, na), 0);
        for (size_t j = 0; j < k; j++) {
            int late = 0;
            fstore_status_t want = fmodel_apply(m, ptrs[j], &late);
            ck_assert_msg(res[j].status == want, "order %s: status %d, model %d", ptrs[j]->order_id,
                          res[j].status, want);
            counts[want]++;
            if (want == FSTORE_APPLIED)
                ck_assert_int_eq(res[j].late, late);
            n_late += (size_t)late;
            ck_assert_int_eq(res[j].has_features, ptrs[j]->has_customer && want != FSTORE_CONFLICT);
            if (res[j].has_features) {
                ck_assert_int_ge(res[j].feat.as_of_ms, ptrs[j]->event_time_ms);
                ck_assert_int_eq(res[j].feat.frequency, res[j].agg.n);
            }
        }
        i += k;
    }
    ck_assert_int_eq(counts[FSTORE_APPLIED], N);
    ck_assert_int_gt(counts[FSTORE_DUPLICATE], 50);
    ck_assert_int_gt(counts[FSTORE_CONFLICT], 0);
    if (lateness >= 0)
        ck_assert_int_gt(n_late, 0); /* 1 h lateness: the 10% late orders close days */
    compare_state(m, db);
    compare_demand(m, db);
    /* Replaying everything changes nothing: all duplicates or conflicts, empty customer writes. */
    flocal_clear(l);
    for (size_t i = 0; i < N; i += 50) {
        for (size_t j = 0; j < 50; j++)
            ptrs[j] = &orders[i + j];
        fake_load(l, db, ptrs, 50);
        size_t na = apply_fenced(l, ptrs, 50, NOW_MS, 1, res, &plan);
        for (size_t j = 0; j < 50; j++)
            ck_assert_int_ne(res[j].status, FSTORE_APPLIED);
        ck_assert_int_eq(na, 0);
    }
    ss_buf_release(&plan);
    free(res);
    json_decref(db);
    flocal_destroy(l);
    fmodel_destroy(m);
    for (size_t i = 0; i < n; i++)
        ss_txn_release(&stream[i]);
    for (int i = 0; i < N; i++)
        ss_txn_release(&orders[i]);
    free(stream);
    free(orders);
}

START_TEST(random_streams_match_model) {
    for (uint64_t seed = 1; seed <= 8; seed++)
        run_stream(seed * 7919, seed % 2 ? 3600000 : -1, 0);
}
END_TEST

START_TEST(reloads_from_redis_match_model) {
    /* The cache is dropped every few batches (rebalance, failed write) and reloaded. */
    for (uint64_t seed = 1; seed <= 8; seed++)
        run_stream(seed * 104729, 3600000, (int)(1 + seed % 4));
}
END_TEST

START_TEST(stale_writer_is_fenced) {
    /* Two writers of one customer (a zombie that lost its partition and the new owner): the
     * zombie's batch, computed from its stale cache, must fail its fence and write nothing;
     * after a reload it sees the order as known. Same for an anonymous order. */
    rng_state = 42;
    ss_txn_t o[3] = {SS_TXN_INIT, SS_TXN_INIT, SS_TXN_INIT};
    for (int i = 0; i < 3; i++) {
        make_order(&o[i], i);
        o[i].has_customer = i < 2;
        snprintf(o[i].customer_id, sizeof(o[i].customer_id), "%s", i < 2 ? "C1" : "");
    }
    json_t *db = json_object();
    flocal_t *zombie = flocal_new("ss:", 3600000, 0, 0, 0);
    flocal_t *owner = flocal_new("ss:", 3600000, 0, 0, 0);
    ss_buf_t plan = SS_BUF_INIT;
    size_t na;
    fstore_result_t res[2];
    const ss_txn_t *b0[1] = {&o[0]}, *b1[2] = {&o[1], &o[2]};
    fake_fence(db, 1); /* the zombie's epoch while it owned the partition */
    fake_load(zombie, db, b0, 1);
    na = apply_fenced(zombie, b0, 1, NOW_MS, 1, res, &plan);
    ck_assert_int_eq(run_plan(db, &plan, na), 0);
    /* The partition moves: the owner takes epoch 2, applies order 1 and the anonymous order 2. */
    fake_fence(db, 2);
    fake_load(owner, db, b1, 2);
    na = apply_fenced(owner, b1, 2, NOW_MS, 2, res, &plan);
    ck_assert_int_eq(res[0].status, FSTORE_APPLIED);
    ck_assert_int_eq(run_plan(db, &plan, na), 0);
    json_t *before = json_deep_copy(db);
    /* The zombie, still caching C1 and holding epoch 1, gets the same batch: stale. */
    fake_load(zombie, db, b1, 2);
    na = apply_fenced(zombie, b1, 2, NOW_MS, 1, res, &plan);
    ck_assert_int_eq(res[0].status, FSTORE_APPLIED); /* wrongly, from its stale cache */
    ck_assert_int_eq(run_plan(db, &plan, na), 1);
    ck_assert(json_equal(before, db));
    /* Reloaded under a new epoch, it sees both orders as duplicates and writes nothing. */
    flocal_clear(zombie);
    fake_fence(db, 3);
    fake_load(zombie, db, b1, 2);
    na = apply_fenced(zombie, b1, 2, NOW_MS, 3, res, &plan);
    ck_assert_int_eq(res[0].status, FSTORE_DUPLICATE);
    ck_assert_int_eq(res[1].status, FSTORE_DUPLICATE);
    ck_assert_int_eq(na, 0);
    /* An anonymous order alone, even under the current epoch: fenced by its order id (a copy
     * produced under another key, consumed from another partition). */
    flocal_t *z2 = flocal_new("ss:", 3600000, 0, 0, 0);
    const ss_txn_t *b2[1] = {&o[2]};
    na = apply_fenced(z2, b2, 1, NOW_MS, 3, res, &plan);
    ck_assert_int_eq(res[0].status, FSTORE_APPLIED);
    ck_assert_int_eq(run_plan(db, &plan, na), 1);
    json_decref(before);
    flocal_destroy(z2);
    flocal_destroy(zombie);
    flocal_destroy(owner);
    ss_buf_release(&plan);
    json_decref(db);
    for (int i = 0; i < 3; i++)
        ss_txn_release(&o[i]);
}
END_TEST

/* Rewrites the fake Redis in the per-field layout of earlier versions (and of script mode):
 * customers as st, w, o:<id> -> 16 hex digits, p:<id> -> decimal; demand records as p:<id>
 * fields (summed over partitions). Returns the number of customers. */
static size_t to_legacy(json_t *db) {
    size_t n = 0;
    const char *key;
    json_t *h;
    void *tmp;
    json_object_foreach_safe(db, tmp, key, h) {
        if (strncmp(key, "ss:dm:{", 7) == 0) {
            json_t *per = json_object();
            const char *fk;
            json_t *v;
            void *tmp2;
            json_object_foreach_safe(h, tmp2, fk, v) {
                ss_err_t err = SS_ERR_INIT;
                if (strncmp(fk, "q:", 2) != 0)
                    continue;
                ck_assert_int_eq(ss_demand_field(fk, strlen(fk), json_string_value(v),
                                                 json_string_length(v), sum_cb, per, &err),
                                 0);
                json_object_del(h, fk);
            }
            json_object_foreach(per, fk, v) {
                char f[80], q[32];
                snprintf(f, sizeof(f), "p:%s", fk);
                snprintf(q, sizeof(q), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                json_object_set_new(h, f, json_string(q));
            }
            json_decref(per);
            continue;
        }
        if (strncmp(key, "ss:c:{", 6) != 0)
            continue;
        json_t *rv = json_object_get(h, CREC_FIELD);
        ck_assert_ptr_nonnull(rv);
        crec_t r;
        ss_err_t err = SS_ERR_INIT;
        ck_assert_int_eq(crec_decode(json_string_value(rv), json_string_length(rv), &r, &err), 0);
        json_t *nh = json_object();
        unsigned char st[RFM_ST_BYTES];
        rfm_agg_encode(&r.agg, st);
        json_object_set_new(nh, "st", json_stringn_nocheck((const char *)st, sizeof(st)));
        ss_buf_t w = SS_BUF_INIT;
        for (size_t k = 0; k < r.n_win; k++)
            for (int z = 0; z < 8; z++) {
                unsigned char b = (unsigned char)((uint64_t)r.win[k] >> (8 * z));
                ss_buf_add(&w, &b, 1);
            }
        json_object_set_new(nh, "w", json_stringn_nocheck(w.buf ? w.buf : "", w.len));
        ss_buf_release(&w);
        char f[80], v[32];
        for (size_t k = 0; k < r.n_orders; k++) {
            snprintf(f, sizeof(f), "o:%.*s", (int)r.orders[k].len, r.orders[k].id);
            snprintf(v, sizeof(v), "%016" PRIx64, r.orders[k].val);
            json_object_set_new(nh, f, json_string(v));
        }
        for (size_t k = 0; k < r.n_products; k++) {
            snprintf(f, sizeof(f), "p:%.*s", (int)r.products[k].len, r.products[k].id);
            snprintf(v, sizeof(v), "%" PRId64, (int64_t)r.products[k].val);
            json_object_set_new(nh, f, json_string(v));
        }
        crec_release(&r);
        json_object_set_new(db, key, nh);
        n++;
    }
    return n;
}

/* A store written by an earlier version (one field per order and product; demand as p: fields)
 * is read, its orders are recognised as duplicates, each customer's next write replaces the
 * fields with one record (DEL first), and new demand goes to records next to the p: fields:
 * afterwards the store equals the model's, one record per customer. */
START_TEST(per_field_layout_is_migrated) {
    rng_state = 99991;
    enum { N = 600, B = 30 };
    ss_txn_t *orders = calloc(N, sizeof(*orders));
    for (int i = 0; i < N; i++)
        make_order(&orders[i], i);
    fmodel_t *m = fmodel_new(3600000, 0);
    flocal_t *l = flocal_new("ss:", 3600000, 0, 400 * DAY, 800 * DAY);
    json_t *db = json_object();
    fake_fence(db, 1);
    ss_buf_t plan = SS_BUF_INIT;
    fstore_result_t res[2 * B];
    const ss_txn_t *ptrs[2 * B];
    int late;
    for (int i = 0; i < N / 2; i += B) {
        for (int j = 0; j < B; j++) {
            ptrs[j] = &orders[i + j];
            fmodel_apply(m, ptrs[j], &late);
        }
        fake_load(l, db, ptrs, B);
        ck_assert_int_eq(run_plan(db, &plan, apply_fenced(l, ptrs, B, NOW_MS, 1, res, &plan)), 0);
    }
    size_t n_legacy = to_legacy(db), n_del = 0;
    ck_assert_uint_gt(n_legacy, 20);
    flocal_clear(l); /* a new process, or the upgraded one */
    /* Each batch: B new orders and B copies of first-half orders (duplicates). */
    for (int i = N / 2; i < N; i += B) {
        for (int j = 0; j < B; j++) {
            ptrs[2 * j] = &orders[i + j];
            ptrs[2 * j + 1] = &orders[i - N / 2 + j];
        }
        fake_load(l, db, ptrs, 2 * B);
        size_t na = apply_fenced(l, ptrs, 2 * B, NOW_MS, 1, res, &plan);
        for (int j = 0; j < 2 * B; j++) {
            fstore_status_t want = fmodel_apply(m, ptrs[j], &late);
            ck_assert_int_eq(res[j].status, want);
            if (j % 2)
                ck_assert_int_eq(res[j].status, FSTORE_DUPLICATE);
        }
        n_del += plan_count(&plan, na, 'D');
        ck_assert_int_eq(run_plan(db, &plan, na), 0);
    }
    ck_assert_uint_eq(n_del, n_legacy); /* every customer had new orders: each migrated once */
    compare_state(m, db);               /* asserts one record field per customer */
    compare_demand(m, db);
    ss_buf_release(&plan);
    json_decref(db);
    flocal_destroy(l);
    fmodel_destroy(m);
    for (int i = 0; i < N; i++)
        ss_txn_release(&orders[i]);
    free(orders);
}
END_TEST

/* A first batch without any purchase (returns only) writes the customer and no demand. */
START_TEST(returns_only_batch) {
    ss_txn_t o = SS_TXN_INIT;
    make_order(&o, 0);
    o.has_customer = 1;
    snprintf(o.customer_id, sizeof(o.customer_id), "C1");
    o.kind = SS_TXN_RETURN;
    flocal_t *l = flocal_new("ss:", 3600000, 0, 0, 0);
    json_t *db = json_object();
    fake_fence(db, 1);
    ss_buf_t plan = SS_BUF_INIT;
    fstore_result_t res[1];
    const ss_txn_t *b[1] = {&o};
    size_t na = apply_fenced(l, b, 1, NOW_MS, 1, res, &plan);
    ck_assert_int_eq(res[0].status, FSTORE_APPLIED);
    ck_assert_uint_eq(plan_count(&plan, na, 'J'), 0);
    ck_assert_uint_eq(plan_count(&plan, na, 'H'), 1);
    ck_assert_int_eq(run_plan(db, &plan, na), 0);
    ck_assert_ptr_nonnull(json_object_get(db, "ss:c:{C1}"));
    ss_buf_release(&plan);
    json_decref(db);
    flocal_destroy(l);
    ss_txn_release(&o);
}
END_TEST

/* Records survive a round trip exactly; every truncation, a wrong version and trailing bytes
 * are refused. */
START_TEST(customer_record_round_trip) {
    rfm_agg_t a = {.n = 3,
                   .sum = 12.5,
                   .sum_c = 1e-17,
                   .mean = 4.1666,
                   .m2 = 0.25,
                   .first_ms = T0,
                   .last_ms = T0 + DAY,
                   .ret_n = 1,
                   .ret_amount = 2.55};
    int64_t win[2] = {T0, T0 + DAY};
    char longid[SS_ID_MAX + 1];
    memset(longid, 'x', SS_ID_MAX);
    longid[SS_ID_MAX] = '\0';
    ss_buf_t b = SS_BUF_INIT, o = SS_BUF_INIT, p = SS_BUF_INIT;
    ss_items_add(&o, "536365", UINT64_C(0xfedcba9876543210));
    ss_items_add(&o, longid, 1);
    size_t qoff = ss_items_add(&p, "85123A", 0);
    ss_items_set_u64(p.buf + qoff, (uint64_t)INT64_C(-6)); /* in place, as the cache does */
    crec_encode(&b, &a, win, 2, 2, &o, 1, &p);
    ck_assert_uint_eq(b.len, crec_size(2, o.len, p.len));
    ss_buf_release(&o);
    ss_buf_release(&p);
    crec_t r;
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(crec_decode(b.buf, b.len, &r, &err), 0);
    ck_assert(memcmp(&r.agg, &a, sizeof(a)) == 0);
    ck_assert_uint_eq(r.n_win, 2);
    ck_assert_int_eq(r.win[1], T0 + DAY);
    ck_assert_uint_eq(r.n_orders, 2);
    ck_assert_uint_eq(r.orders[0].len, 6);
    ck_assert(memcmp(r.orders[0].id, "536365", 6) == 0);
    ck_assert_uint_eq(r.orders[0].val, UINT64_C(0xfedcba9876543210));
    ck_assert_uint_eq(r.orders[1].len, SS_ID_MAX);
    ck_assert_uint_eq(r.n_products, 1);
    ck_assert_int_eq((int64_t)r.products[0].val, -6);
    crec_release(&r);
    for (size_t n = 0; n < b.len; n++) {
        ck_assert_int_eq(crec_decode(b.buf, n, &r, &err), SS_ERR_INVAL);
        ck_assert_ptr_null(r.win);
        ck_assert_ptr_null(r.orders);
    }
    ss_buf_addch(&b, 0);
    ck_assert_int_eq(crec_decode(b.buf, b.len, &r, &err), SS_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "trailing"));
    b.buf[0] = CREC_VERSION + 1;
    ck_assert_int_eq(crec_decode(b.buf, b.len - 1, &r, &err), SS_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "version"));
    ss_buf_release(&b);
}
END_TEST

/* PEXPIRE goes out when a key is first written, then only once the refresh interval has passed
 * on the wall clock, not with every update. */
START_TEST(ttl_refreshed_at_most_hourly) {
    ss_txn_t o[4] = {SS_TXN_INIT, SS_TXN_INIT, SS_TXN_INIT, SS_TXN_INIT};
    for (int i = 0; i < 4; i++)
        make_order(&o[i], i);
    for (int i = 0; i < 4;
         i++) { /* one customer, one store and day: one customer key, one dm key */
        o[i].has_customer = 1;
        snprintf(o[i].customer_id, sizeof(o[i].customer_id), "C1");
        o[i].event_time_ms = T0 + i;
        o[i].kind = SS_TXN_PURCHASE;
        snprintf(o[i].store_id, sizeof(o[i].store_id), "S1");
    }
    flocal_t *l = flocal_new("ss:", 3600000, 0, 400 * DAY, 800 * DAY);
    json_t *db = json_object();
    fake_fence(db, 1);
    ss_buf_t plan = SS_BUF_INIT;
    fstore_result_t res[1];
    const int64_t at[4] = {NOW_MS, NOW_MS + 60000, NOW_MS + FLOCAL_TTL_REFRESH_MS - 1,
                           NOW_MS + FLOCAL_TTL_REFRESH_MS};
    const size_t want[4] = {2, 0, 0, 2};
    for (int i = 0; i < 4; i++) {
        const ss_txn_t *b[1] = {&o[i]};
        fake_load(l, db, b, 1);
        size_t na = apply_fenced(l, b, 1, at[i], 1, res, &plan);
        ck_assert_int_eq(res[0].status, FSTORE_APPLIED);
        ck_assert_uint_eq(plan_count(&plan, na, 'X'), want[i]);
        ck_assert_int_eq(run_plan(db, &plan, na), 0);
    }
    /* A dropped cache (rebalance, failed write) forgets the refresh times: sent again. */
    flocal_clear(l);
    o[0].event_time_ms += 10;
    snprintf(o[0].order_id, sizeof(o[0].order_id), "fresh-order");
    const ss_txn_t *b[1] = {&o[0]};
    fake_load(l, db, b, 1);
    size_t na = apply_fenced(l, b, 1, at[3] + 1, 1, res, &plan);
    ck_assert_uint_eq(plan_count(&plan, na, 'X'), 2);
    for (int i = 0; i < 4; i++)
        ss_txn_release(&o[i]);
    ss_buf_release(&plan);
    json_decref(db);
    flocal_destroy(l);
}
END_TEST

START_TEST(write_script_is_embedded) {
    const char *s = flocal_write_script_source();
    ck_assert_ptr_nonnull(strstr(s, "redis.call('DEL'"));
    ck_assert_ptr_nonnull(strstr(s, "PEXPIRE"));
    ck_assert_ptr_nonnull(strstr(s, "STALE"));
}
END_TEST

Suite *flocal_suite(void) {
    Suite *s = suite_create("flocal");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, random_streams_match_model);
    tcase_add_test(tc, reloads_from_redis_match_model);
    tcase_add_test(tc, per_field_layout_is_migrated);
    tcase_add_test(tc, customer_record_round_trip);
    tcase_add_test(tc, returns_only_batch);
    tcase_add_test(tc, stale_writer_is_fenced);
    tcase_add_test(tc, ttl_refreshed_at_most_hourly);
    tcase_add_test(tc, write_script_is_embedded);
    suite_add_tcase(s, tc);
    return s;
}
