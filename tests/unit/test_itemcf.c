/* Unit tests of icf (services/recommender/itemcf.h): the incremental state and recommendations
 * against a brute-force batch implementation of the four steps on small random matrices, identical
 * columns (the product itself never counts as its own neighbour), ties by product id, the popular
 * fallback, dedupe by order id, RETURN/anonymous orders, and snapshot round trips. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itemcf.h"
#include "reco_api.h"
#include "ss_avro.h"
#include "ss_buf.h"
#include "ss_test.h"
#include "ss_txn.h"

/* ---------------- deterministic random numbers ---------------- */

static uint64_t rng_state;
static uint32_t rnd(uint32_t n) {
    rng_state = rng_state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return (uint32_t)((rng_state >> 33) % n);
}

/* ---------------- orders ---------------- */

static void make_order(ss_txn_t *t, const char *order_id, const char *customer, ss_txn_kind_t kind,
                       int64_t time_ms) {
    ss_txn_clear(t);
    snprintf(t->order_id, sizeof(t->order_id), "%s", order_id);
    if (customer) {
        snprintf(t->customer_id, sizeof(t->customer_id), "%s", customer);
        t->has_customer = 1;
    }
    snprintf(t->store_id, sizeof(t->store_id), "s1");
    snprintf(t->currency, sizeof(t->currency), "GBP");
    t->kind = kind;
    t->event_time_ms = time_ms;
}

static void add_line(ss_txn_t *t, const char *product, int32_t qty) {
    ss_txn_line_t *l = ss_txn_add_line(t);
    snprintf(l->product_id, sizeof(l->product_id), "%s", product);
    l->quantity = qty;
    l->unit_price = 1.0;
}

static void apply_ok(icf_t *m, const ss_txn_t *t, icf_status_t want) {
    ss_err_t err = SS_ERR_INIT;
    icf_status_t st = ICF_IGNORED;
    ck_assert_msg(icf_apply(m, t, &st, &err) == 0, "apply: %s", err.msg);
    ck_assert_int_eq(st, want);
}

/* ---------------- brute-force batch method ---------------- */

#define MAXC 40
#define MAXP 40

typedef struct batch {
    int nc, np;
    char cid[MAXC][16];
    char pid[MAXP][16];
    int64_t q[MAXC][MAXP]; /* summed purchased quantities */
} batch_t;

static double bcos(const batch_t *b, int x, int y, int64_t *dotp) {
    int64_t dot = 0, nx = 0, ny = 0;
    for (int c = 0; c < b->nc; c++) {
        dot += b->q[c][x] * b->q[c][y];
        nx += b->q[c][x] * b->q[c][x];
        ny += b->q[c][y] * b->q[c][y];
    }
    if (dotp)
        *dotp = dot;
    return dot == 0 ? 0.0 : (double)dot / sqrt((double)nx * (double)ny);
}

typedef struct bsc {
    double s;
    const char *id;
    int p;
} bsc_t;

static int bsc_cmp(const void *x, const void *y) {
    const bsc_t *a = x, *b = y;
    if (a->s != b->s)
        return a->s < b->s ? 1 : -1;
    return strcmp(a->id, b->id);
}

static int idx_by_id_cmp_ctx_ids(const void *x, const void *y) {
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* Step 2 for product x: its k most similar other products (cosine > 0), ties by id. */
static int bneighbours(const batch_t *b, int x, int k, bsc_t *out) {
    int n = 0;
    for (int y = 0; y < b->np; y++) {
        double s;
        if (y == x || (s = bcos(b, x, y, NULL)) <= 0)
            continue;
        out[n].s = s;
        out[n].id = b->pid[y];
        out[n++].p = y;
    }
    qsort(out, (size_t)n, sizeof(*out), bsc_cmp);
    return n < k ? n : k;
}

/* Steps 2-4 for customer c: top n (score desc, id asc); returns count, 0 if no candidate. */
static int brecommend(const batch_t *b, int c, int k, int n, bsc_t *out) {
    const char *bought[MAXP];
    double score[MAXP] = {0};
    int nb = 0, nc = 0;
    for (int p = 0; p < b->np; p++)
        if (b->q[c][p] > 0)
            bought[nb++] = b->pid[p];
    qsort(bought, (size_t)nb, sizeof(bought[0]), idx_by_id_cmp_ctx_ids);
    for (int i = 0; i < nb; i++) {
        bsc_t nbs[MAXP];
        int x = 0, cnt;
        while (strcmp(b->pid[x], bought[i]) != 0)
            x++;
        cnt = bneighbours(b, x, k, nbs);
        for (int j = 0; j < cnt; j++)
            if (b->q[c][nbs[j].p] == 0)
                score[nbs[j].p] += nbs[j].s;
    }
    for (int p = 0; p < b->np; p++)
        if (score[p] > 0) {
            out[nc].s = score[p];
            out[nc].id = b->pid[p];
            out[nc++].p = p;
        }
    qsort(out, (size_t)nc, sizeof(*out), bsc_cmp);
    return nc < n ? nc : n;
}

/* Random orders into both the model and the batch matrix. Product ids are random strings so
 * that id order differs from arrival order; small quantities make ties common. */
static void random_world(icf_t *m, batch_t *b, int nc, int np, int norders, int maxq) {
    ss_txn_t t = SS_TXN_INIT;
    memset(b, 0, sizeof(*b));
    b->nc = nc;
    b->np = np;
    for (int c = 0; c < nc; c++)
        snprintf(b->cid[c], sizeof(b->cid[c]), "c%03u", rnd(1000));
    for (int c = 0; c < nc; c++) /* make them distinct */
        snprintf(b->cid[c] + 4, sizeof(b->cid[c]) - 4, "-%d", c);
    for (int p = 0; p < np; p++)
        snprintf(b->pid[p], sizeof(b->pid[p]), "%c%02u-%d", 'A' + (int)rnd(26), rnd(100), p);
    for (int o = 0; o < norders; o++) {
        char oid[32];
        int c = (int)rnd((uint32_t)nc), lines = 1 + (int)rnd(6);
        snprintf(oid, sizeof(oid), "o%d", o);
        make_order(&t, oid, b->cid[c], SS_TXN_PURCHASE, 1000 + o);
        for (int l = 0; l < lines; l++) {
            int p = (int)rnd((uint32_t)np), q = 1 + (int)rnd((uint32_t)maxq);
            add_line(&t, b->pid[p], q);
            b->q[c][p] += q;
        }
        apply_ok(m, &t, ICF_APPLIED);
    }
    ss_txn_release(&t);
}

static void check_against_batch(icf_t *m, const batch_t *b, int k, int n) {
    icf_item_t got[MAXP];
    bsc_t want[MAXP];
    for (int c = 0; c < b->nc; c++) {
        icf_method_t method;
        size_t ng = icf_recommend(m, b->cid[c], (size_t)n, got, &method);
        int nw = brecommend(b, c, k, n, want);
        if (nw == 0) {
            int any = 0;
            for (int p = 0; p < b->np; p++)
                any |= b->q[c][p] > 0;
            ck_assert_int_eq(method, ICF_METHOD_POPULAR);
            (void)any;
            continue;
        }
        ck_assert_int_eq(method, ICF_METHOD_COSINE);
        ck_assert_int_eq((int)ng, nw);
        for (int i = 0; i < nw; i++) {
            ck_assert_str_eq(got[i].product_id, want[i].id);
            ck_assert_msg(fabs(got[i].score - want[i].s) <= 1e-9 * fabs(want[i].s),
                          "customer %s item %d: %.17g vs %.17g", b->cid[c], i, got[i].score,
                          want[i].s);
        }
    }
}

/* ---------------- tests ---------------- */

START_TEST(state_matches_batch) {
    batch_t *b = malloc(sizeof(*b));
    icf_t *m = icf_new(NULL);
    icf_stats_t st;
    uint64_t pairs = 0, entries = 0;
    rng_state = 7;
    random_world(m, b, 25, 30, 120, 4);
    for (int x = 0; x < b->np; x++) {
        int64_t n2 = 0;
        for (int c = 0; c < b->nc; c++) {
            n2 += b->q[c][x] * b->q[c][x];
            entries += b->q[c][x] > 0;
            ck_assert_int_eq(icf_quantity(m, b->cid[c], b->pid[x]), b->q[c][x]);
        }
        ck_assert_int_eq(icf_norm2(m, b->pid[x]), n2);
        for (int y = 0; y < b->np; y++) {
            int64_t dot;
            bcos(b, x, y, &dot);
            ck_assert_int_eq(icf_dot(m, b->pid[x], b->pid[y]), x == y ? 0 : dot);
            pairs += x < y && dot > 0;
        }
    }
    icf_stats(m, &st);
    ck_assert_uint_eq(st.pairs, pairs);
    ck_assert_uint_eq(st.entries, entries);
    ck_assert_uint_eq(st.orders, 120);
    icf_destroy(m);
    free(b);
}
END_TEST

START_TEST(recommend_matches_batch) {
    /* many seeds, sparse and dense worlds, several k and n */
    static const struct {
        int nc, np, orders, maxq, k, n;
    } cases[] = {
        {20, 15, 30, 3, 10, 5}, {30, 35, 80, 5, 10, 5}, {40, 40, 300, 2, 10, 5},
        {25, 30, 60, 1, 3, 8},  {10, 12, 40, 6, 2, 40}, {35, 38, 150, 1, 10, 40},
    };
    batch_t *b = malloc(sizeof(*b));
    for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++) {
        for (uint64_t seed = 1; seed <= 12; seed++) {
            icf_opts_t o = {.neighbours = (uint32_t)cases[ci].k};
            icf_t *m = icf_new(&o);
            rng_state = seed * 1000 + ci;
            random_world(m, b, cases[ci].nc, cases[ci].np, cases[ci].orders, cases[ci].maxq);
            check_against_batch(m, b, cases[ci].k, cases[ci].n);
            icf_destroy(m);
        }
    }
    free(b);
}
END_TEST

START_TEST(interleaved_updates_match_batch) {
    /* recommend after every order (the service's pattern): cached neighbour selections must be
     * dropped whenever a dot product or a norm they depend on changes */
    batch_t *b = malloc(sizeof(*b));
    ss_txn_t t = SS_TXN_INIT;
    for (uint64_t seed = 1; seed <= 16; seed++) {
        icf_opts_t o = {.neighbours = seed % 2 ? 10 : 3};
        icf_t *m = icf_new(&o);
        icf_stats_t st;
        rng_state = seed * 77;
        memset(b, 0, sizeof(*b));
        b->nc = 15;
        b->np = 25;
        for (int c = 0; c < b->nc; c++)
            snprintf(b->cid[c], sizeof(b->cid[c]), "c%02d", c);
        for (int p = 0; p < b->np; p++)
            snprintf(b->pid[p], sizeof(b->pid[p]), "%c%02u-%d", 'A' + (int)rnd(26), rnd(100), p);
        for (int ord = 0; ord < 250; ord++) {
            char oid[32];
            int c = (int)rnd((uint32_t)b->nc), lines = 1 + (int)rnd(4);
            icf_item_t got[MAXP];
            bsc_t want[MAXP];
            snprintf(oid, sizeof(oid), "o%d", ord);
            make_order(&t, oid, b->cid[c], SS_TXN_PURCHASE, ord);
            for (int l = 0; l < lines; l++) {
                int p = (int)rnd((uint32_t)b->np), q = 1 + (int)rnd(3);
                add_line(&t, b->pid[p], q);
                b->q[c][p] += q;
            }
            apply_ok(m, &t, ICF_APPLIED);
            /* the buyer, and one other customer whose lists may have gone stale */
            for (int x = 0; x < 2; x++) {
                int cc = x == 0 ? c : (int)rnd((uint32_t)b->nc);
                icf_method_t method;
                size_t ng = icf_recommend(m, b->cid[cc], 5, got, &method);
                int nw = brecommend(b, cc, (int)o.neighbours, 5, want);
                if (nw == 0) {
                    ck_assert_int_eq(method, ICF_METHOD_POPULAR);
                    continue;
                }
                ck_assert_int_eq((int)ng, nw);
                for (int i = 0; i < nw; i++) {
                    ck_assert_msg(strcmp(got[i].product_id, want[i].id) == 0,
                                  "seed %d order %d customer %s item %d: %s vs %s", (int)seed, ord,
                                  b->cid[cc], i, got[i].product_id, want[i].id);
                    ck_assert(fabs(got[i].score - want[i].s) <= 1e-9 * want[i].s);
                }
            }
        }
        icf_stats(m, &st);
        ck_assert_uint_gt(st.cache_hits, 0);
        icf_destroy(m);
    }
    ss_txn_release(&t);
    free(b);
}
END_TEST

START_TEST(neighbours_match_batch_and_exclude_self) {
    batch_t *b = malloc(sizeof(*b));
    icf_t *m = icf_new(NULL);
    rng_state = 99;
    random_world(m, b, 30, 30, 200, 1);
    for (int x = 0; x < b->np; x++) {
        icf_neighbour_t got[MAXP];
        bsc_t want[MAXP];
        int nw = bneighbours(b, x, 10, want);
        size_t ng = icf_neighbours(m, b->pid[x], 10, got);
        ck_assert_int_eq((int)ng, nw);
        for (int i = 0; i < nw; i++) {
            ck_assert_str_ne(got[i].product_id, b->pid[x]);
            ck_assert_str_eq(got[i].product_id, want[i].id);
            ck_assert(got[i].cosine == want[i].s);
        }
    }
    icf_destroy(m);
    free(b);
}
END_TEST

START_TEST(identical_columns) {
    /* A, B, C always bought together in equal quantities: cos = 1 exactly between them. The
     * batch ancestor's [1:11] assumed the product itself sorts first; here it ties with B and C
     * and, by id, would not even be first for C. */
    icf_t *m = icf_new(NULL);
    ss_txn_t t = SS_TXN_INIT;
    icf_neighbour_t nb[10];
    icf_item_t rec[10];
    icf_method_t method;
    size_t n;

    make_order(&t, "o1", "c1", SS_TXN_PURCHASE, 1);
    add_line(&t, "C", 2);
    add_line(&t, "A", 2);
    add_line(&t, "B", 2);
    apply_ok(m, &t, ICF_APPLIED);
    make_order(&t, "o2", "c2", SS_TXN_PURCHASE, 2);
    add_line(&t, "B", 1);
    add_line(&t, "A", 1);
    add_line(&t, "C", 1);
    add_line(&t, "D", 1);
    apply_ok(m, &t, ICF_APPLIED);

    n = icf_neighbours(m, "C", 10, nb);
    ck_assert_int_eq((int)n, 3);
    ck_assert_str_eq(nb[0].product_id, "A");
    ck_assert_str_eq(nb[1].product_id, "B");
    ck_assert_str_eq(nb[2].product_id, "D");
    ck_assert(nb[0].cosine == 1.0);
    ck_assert(nb[1].cosine == 1.0);
    ck_assert_double_eq_tol(nb[2].cosine, 1.0 / sqrt(5.0), 1e-15);

    /* c3 bought only D: A, B, C tie at 1/sqrt(5), broken by id */
    make_order(&t, "o3", "c3", SS_TXN_PURCHASE, 3);
    add_line(&t, "D", 1);
    apply_ok(m, &t, ICF_APPLIED);
    n = icf_recommend(m, "c3", 2, rec, &method);
    ck_assert_int_eq(method, ICF_METHOD_COSINE);
    ck_assert_int_eq((int)n, 2);
    ck_assert_str_eq(rec[0].product_id, "A");
    ck_assert_str_eq(rec[1].product_id, "B");
    ck_assert(rec[0].score == rec[1].score);

    /* with k = 1 the single neighbour of D is A */
    {
        icf_opts_t o = {.neighbours = 1};
        icf_t *m1 = icf_new(&o);
        make_order(&t, "o1", "c1", SS_TXN_PURCHASE, 1);
        add_line(&t, "C", 2);
        add_line(&t, "A", 2);
        add_line(&t, "B", 2);
        add_line(&t, "D", 2);
        apply_ok(m1, &t, ICF_APPLIED);
        make_order(&t, "o2", "c2", SS_TXN_PURCHASE, 1);
        add_line(&t, "D", 5);
        apply_ok(m1, &t, ICF_APPLIED);
        n = icf_recommend(m1, "c2", 5, rec, &method);
        ck_assert_int_eq((int)n, 1);
        ck_assert_str_eq(rec[0].product_id, "A");
        icf_destroy(m1);
    }
    ss_txn_release(&t);
    icf_destroy(m);
}
END_TEST

START_TEST(score_ties_by_product_id) {
    /* X bought with P and with Q by separate, identical customers: P and Q score the same for a
     * buyer of X alone; the smaller id comes first whatever the arrival order. */
    icf_t *m = icf_new(NULL);
    icf_item_t rec[5];
    ss_err_t err = SS_ERR_INIT;
    icf_method_t method;
    ck_assert_int_eq(icf_add(m, "c1", "X", 1, &err), 0);
    ck_assert_int_eq(icf_add(m, "c1", "zz", 1, &err), 0);
    ck_assert_int_eq(icf_add(m, "c2", "X", 1, &err), 0);
    ck_assert_int_eq(icf_add(m, "c2", "Q", 1, &err), 0);
    ck_assert_int_eq(icf_add(m, "c3", "X", 1, &err), 0);
    ck_assert_int_eq(icf_add(m, "c3", "P", 1, &err), 0);
    ck_assert_int_eq(icf_add(m, "c4", "X", 3, &err), 0);
    ck_assert_int_eq((int)icf_recommend(m, "c4", 5, rec, &method), 3);
    ck_assert_int_eq(method, ICF_METHOD_COSINE);
    ck_assert_str_eq(rec[0].product_id, "P");
    ck_assert_str_eq(rec[1].product_id, "Q");
    ck_assert_str_eq(rec[2].product_id, "zz");
    ck_assert(rec[0].score == rec[1].score && rec[1].score == rec[2].score);
    /* 1 / sqrt(norm_X * 1) with norm_X = 1 + 1 + 1 + 9 */
    ck_assert_double_eq_tol(rec[0].score, 1.0 / sqrt(12.0), 1e-15);
    icf_destroy(m);
}
END_TEST

START_TEST(popular_fallback) {
    icf_t *m = icf_new(NULL);
    icf_item_t rec[5];
    ss_err_t err = SS_ERR_INIT;
    icf_method_t method = ICF_METHOD_COSINE;
    size_t n;

    /* empty model: nothing to recommend, still "popular" */
    ck_assert_int_eq((int)icf_recommend(m, "nobody", 5, rec, &method), 0);
    ck_assert_int_eq(method, ICF_METHOD_POPULAR);
    /* buyers: B 3 (one of them buys 100 units of nothing else), A 2, C 2, D 1 (big quantity) */
    icf_add(m, "c1", "B", 1, &err);
    icf_add(m, "c1", "A", 1, &err);
    icf_add(m, "c2", "B", 1, &err);
    icf_add(m, "c2", "C", 1, &err);
    icf_add(m, "c3", "B", 1, &err);
    icf_add(m, "c3", "A", 1, &err);
    icf_add(m, "c3", "C", 1, &err);
    icf_add(m, "c4", "D", 500, &err);
    ck_assert_int_eq(err.code, 0);
    n = icf_recommend(m, "new-customer", 3, rec, &method);
    ck_assert_int_eq(method, ICF_METHOD_POPULAR);
    ck_assert_int_eq((int)n, 3);
    ck_assert_str_eq(rec[0].product_id, "B");
    ck_assert_str_eq(rec[1].product_id, "A"); /* ties with C: by id */
    ck_assert_str_eq(rec[2].product_id, "C");
    ck_assert_double_eq(rec[0].score, 3.0);
    ck_assert_double_eq(rec[2].score, 2.0);
    /* c4's only product has no co-buyer: popular, minus what c4 bought */
    n = icf_recommend(m, "c4", 10, rec, &method);
    ck_assert_int_eq(method, ICF_METHOD_POPULAR);
    ck_assert_int_eq((int)n, 3);
    ck_assert_str_eq(rec[0].product_id, "B");
    ck_assert_str_eq(rec[2].product_id, "C");
    /* c3 bought every co-bought product: no candidate left, popular minus bought gives D */
    n = icf_recommend(m, "c3", 10, rec, &method);
    ck_assert_int_eq(method, ICF_METHOD_POPULAR);
    ck_assert_int_eq((int)n, 1);
    ck_assert_str_eq(rec[0].product_id, "D");
    ck_assert_int_eq((int)icf_popular(m, 2, rec), 2);
    ck_assert_str_eq(rec[1].product_id, "A");
    icf_destroy(m);
}
END_TEST

START_TEST(dedupe_and_ignored) {
    icf_t *m = icf_new(NULL);
    ss_txn_t t = SS_TXN_INIT;
    icf_stats_t st;

    make_order(&t, "o1", "c1", SS_TXN_PURCHASE, 5000);
    add_line(&t, "A", 2);
    add_line(&t, "B", 3);
    add_line(&t, "A", 1); /* same product twice in one order: summed */
    apply_ok(m, &t, ICF_APPLIED);
    ck_assert_int_eq(icf_quantity(m, "c1", "A"), 3);
    ck_assert_int_eq(icf_dot(m, "A", "B"), 9);
    ck_assert_int_eq(icf_norm2(m, "A"), 9);
    /* redelivery: duplicate, nothing changes */
    apply_ok(m, &t, ICF_DUPLICATE);
    ck_assert_int_eq(icf_quantity(m, "c1", "A"), 3);
    ck_assert_int_eq(icf_dot(m, "A", "B"), 9);
    /* same id, other content: conflict, first delivery wins */
    t.lines[1].quantity = 4;
    apply_ok(m, &t, ICF_CONFLICT);
    ck_assert_int_eq(icf_quantity(m, "c1", "B"), 3);
    /* a return and an anonymous sale change nothing and are not remembered */
    make_order(&t, "r1", "c1", SS_TXN_RETURN, 6000);
    add_line(&t, "A", 3);
    apply_ok(m, &t, ICF_IGNORED);
    apply_ok(m, &t, ICF_IGNORED);
    make_order(&t, "a1", NULL, SS_TXN_PURCHASE, 7000);
    add_line(&t, "A", 3);
    apply_ok(m, &t, ICF_IGNORED);
    ck_assert_int_eq(icf_quantity(m, "c1", "A"), 3);
    ck_assert_int_eq(icf_norm2(m, "A"), 9);
    icf_stats(m, &st);
    ck_assert_uint_eq(st.orders, 1);
    ck_assert_uint_eq(st.customers, 1);
    ck_assert_int_eq(st.as_of_ms, 5000);
    /* a second order of the same customer updates the pair with the current quantities */
    make_order(&t, "o2", "c1", SS_TXN_PURCHASE, 4000);
    add_line(&t, "B", 1);
    add_line(&t, "C", 2);
    apply_ok(m, &t, ICF_APPLIED);
    ck_assert_int_eq(icf_dot(m, "A", "B"), 12);
    ck_assert_int_eq(icf_dot(m, "B", "C"), 8);
    ck_assert_int_eq(icf_dot(m, "A", "C"), 6);
    ck_assert_int_eq(icf_norm2(m, "B"), 16);
    icf_stats(m, &st);
    ck_assert_int_eq(st.as_of_ms, 5000); /* late order: as-of stays at the maximum */
    ss_txn_release(&t);
    icf_destroy(m);
}
END_TEST

START_TEST(invalid_orders_change_nothing) {
    icf_t *m = icf_new(NULL);
    ss_txn_t t = SS_TXN_INIT;
    ss_err_t err = SS_ERR_INIT;
    icf_status_t st;
    icf_stats_t s;
    make_order(&t, "o1", "c1", SS_TXN_PURCHASE, 1);
    ck_assert_int_eq(icf_apply(m, &t, &st, &err), SS_ERR_INVAL); /* no lines */
    add_line(&t, "A", 0);
    ck_assert_int_eq(icf_apply(m, &t, &st, &err), SS_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "line 1"));
    icf_stats(m, &s);
    ck_assert_uint_eq(s.orders, 0);
    ck_assert_uint_eq(s.products, 0);
    ck_assert_int_eq(icf_add(m, "c1", "", 1, &err), SS_ERR_INVAL);
    ck_assert_int_eq(icf_add(m, "c1", "A", 0, &err), SS_ERR_INVAL);
    ss_txn_release(&t);
    icf_destroy(m);
}
END_TEST

START_TEST(dense_rows_match_batch) {
    /* few customers with many products each: rows turn dense; results still match */
    batch_t *b = malloc(sizeof(*b));
    icf_t *m = icf_new(NULL);
    icf_stats_t st;
    rng_state = 4242;
    random_world(m, b, 12, 40, 400, 3);
    icf_stats(m, &st);
    ck_assert_uint_gt(st.dense_rows, 0);
    check_against_batch(m, b, 10, 5);
    check_against_batch(m, b, 10, 40);
    icf_destroy(m);
    free(b);
}
END_TEST

START_TEST(snapshot_round_trip) {
    batch_t *b = malloc(sizeof(*b));
    icf_t *m = icf_new(NULL), *r;
    ss_buf_t snap = SS_BUF_INIT, snap2 = SS_BUF_INIT;
    ss_err_t err = SS_ERR_INIT;
    ss_txn_t t = SS_TXN_INIT;
    icf_stats_t s1, s2;

    rng_state = 17;
    random_world(m, b, 30, 35, 150, 4);
    icf_snapshot(m, &snap);
    r = icf_restore(snap.buf, snap.len, NULL, &err);
    ck_assert_msg(r != NULL, "restore: %s", err.msg);
    icf_stats(m, &s1);
    icf_stats(r, &s2);
    ck_assert_uint_eq(s1.pairs, s2.pairs);
    ck_assert_uint_eq(s1.entries, s2.entries);
    ck_assert_uint_eq(s1.orders, s2.orders);
    ck_assert_int_eq(s1.as_of_ms, s2.as_of_ms);
    for (int x = 0; x < b->np; x++) {
        ck_assert_int_eq(icf_norm2(r, b->pid[x]), icf_norm2(m, b->pid[x]));
        for (int y = 0; y < b->np; y++)
            ck_assert_int_eq(icf_dot(r, b->pid[x], b->pid[y]), icf_dot(m, b->pid[x], b->pid[y]));
    }
    check_against_batch(r, b, 10, 5);
    /* dedupe survives the restore */
    make_order(&t, "o3", "x", SS_TXN_PURCHASE, 1);
    add_line(&t, "A", 1);
    apply_ok(r, &t, ICF_CONFLICT);
    /* a snapshot of the restored model restores to the same state again */
    icf_snapshot(r, &snap2);
    icf_destroy(r);
    r = icf_restore(snap2.buf, snap2.len, NULL, &err);
    ck_assert_ptr_nonnull(r);
    check_against_batch(r, b, 10, 5);
    icf_destroy(r);

    /* corruption is an error, never a crash */
    snap.buf[snap.len / 2] ^= 0x40;
    ck_assert_ptr_null(icf_restore(snap.buf, snap.len, NULL, &err));
    ck_assert_int_eq(err.code, SS_ERR_DECODE);
    ck_assert_ptr_nonnull(strstr(err.msg, "checksum"));
    snap.buf[snap.len / 2] ^= 0x40;
    ck_assert_ptr_null(icf_restore(snap.buf, 10, NULL, &err));
    ck_assert_ptr_null(icf_restore("nonsense-nonsense", 17, NULL, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "magic"));
    for (size_t cut = 8; cut < snap.len; cut += 7)
        ck_assert_ptr_null(icf_restore(snap.buf, cut, NULL, &err));

    /* empty model */
    icf_destroy(m);
    m = icf_new(NULL);
    ss_buf_reset(&snap);
    icf_snapshot(m, &snap);
    r = icf_restore(snap.buf, snap.len, NULL, &err);
    ck_assert_ptr_nonnull(r);
    icf_destroy(r);

    ss_txn_release(&t);
    ss_buf_release(&snap);
    ss_buf_release(&snap2);
    icf_destroy(m);
    free(b);
}
END_TEST

START_TEST(many_ties_in_one_row) {
    /* one customer buys 300 products once each, nobody else buys them: 299 neighbours tie at
     * cosine 1 (the selection buffer must keep every tie to order them by id) */
    icf_t *m = icf_new(NULL);
    ss_err_t err = SS_ERR_INIT;
    icf_neighbour_t nb[10];
    icf_item_t rec[5];
    icf_method_t method;
    char id[16];
    for (int i = 299; i >= 0; i--) {
        snprintf(id, sizeof(id), "p%03d", i);
        ck_assert_int_eq(icf_add(m, "big", id, 1, &err), 0);
    }
    ck_assert_int_eq((int)icf_neighbours(m, "p150", 10, nb), 10);
    ck_assert_str_eq(nb[0].product_id, "p000");
    ck_assert_str_eq(nb[9].product_id, "p009");
    ck_assert(nb[9].cosine == 1.0);
    icf_add(m, "small", "p299", 1, &err);
    /* small's neighbours of p299: p000..p009 at 1/sqrt(2) */
    ck_assert_int_eq((int)icf_recommend(m, "small", 5, rec, &method), 5);
    ck_assert_int_eq(method, ICF_METHOD_COSINE);
    ck_assert_str_eq(rec[0].product_id, "p000");
    ck_assert_str_eq(rec[4].product_id, "p004");
    icf_destroy(m);
}
END_TEST

/* ---------------- reco_api: path, n, JSON, Avro ---------------- */

START_TEST(api_path_and_n) {
    char id[SS_ID_MAX + 1];
    char longid[200];
    ss_err_t err = SS_ERR_INIT;
    size_t n;
    ck_assert_int_eq(reco_parse_path("/v1/customers/17850/recommendations", id, sizeof(id)), 0);
    ck_assert_str_eq(id, "17850");
    ck_assert_int_eq(reco_parse_path("/v1/customers/a b/recommendations", id, sizeof(id)), 0);
    ck_assert_str_eq(id, "a b");
    ck_assert_int_eq(reco_parse_path("/v1/customers//recommendations", id, sizeof(id)),
                     SS_ERR_NOTFOUND);
    ck_assert_int_eq(reco_parse_path("/v1/customers/a/b/recommendations", id, sizeof(id)),
                     SS_ERR_NOTFOUND);
    ck_assert_int_eq(reco_parse_path("/v1/customers/x/rfm", id, sizeof(id)), SS_ERR_NOTFOUND);
    ck_assert_int_eq(reco_parse_path("/v1/customers/", id, sizeof(id)), SS_ERR_NOTFOUND);
    memset(longid, 'x', sizeof(longid));
    memcpy(longid, "/v1/customers/", 14);
    snprintf(longid + 14 + 70, sizeof(longid) - 84, "/recommendations");
    ck_assert_int_eq(reco_parse_path(longid, id, sizeof(id)), SS_ERR_NOTFOUND);

    ck_assert_int_eq(reco_parse_n("", 5, &n, &err), 0);
    ck_assert_uint_eq(n, 5);
    ck_assert_int_eq(reco_parse_n("a=1&n=12", 5, &n, &err), 0);
    ck_assert_uint_eq(n, 12);
    ck_assert_int_eq(reco_parse_n("n=0", 5, &n, &err), SS_ERR_INVAL);
    ck_assert_int_eq(reco_parse_n("n=101", 5, &n, &err), SS_ERR_INVAL);
    ck_assert_int_eq(reco_parse_n("n=3x", 5, &n, &err), SS_ERR_INVAL);
    ck_assert_int_eq(reco_parse_n("n=", 5, &n, &err), SS_ERR_INVAL);
    ck_assert_str_eq(err.msg, "n must be an integer in 1..100");
}
END_TEST

START_TEST(api_json_and_avro) {
    icf_item_t items[2] = {{"85123A", 1.0 / 3.0}, {"22423", 2.0}};
    reco_result_t r = {"C\"1", items, 2, ICF_METHOD_COSINE, INT64_C(1291190760000)};
    ss_buf_t out = SS_BUF_INIT, json = SS_BUF_INIT;
    ss_err_t err = SS_ERR_INIT;
    char path[512];
    ss_avro_reg_t *reg;
    ss_avro_writer_t *w;
    int32_t id;

    reco_json(&r, &out);
    ck_assert_str_eq(out.buf, "{\"customer_id\":\"C\\\"1\",\"method\":\"item-cosine\","
                              "\"as_of\":1291190760000,\"items\":[{\"product_id\":\"85123A\","
                              "\"score\":0.33333333333333331},{\"product_id\":\"22423\","
                              "\"score\":2.0}]}");

    snprintf(path, sizeof(path), "%s/schemas", ss_test_source_dir());
    reg = ss_avro_reg_new(path, &err);
    ck_assert_msg(reg != NULL, "%s", err.msg);
    ck_assert_int_eq(ss_avro_reg_current_id(reg, "streamscore.Recommendation", &id, &err), 0);
    w = ss_avro_writer_new(reg, id, &err);
    ck_assert_ptr_nonnull(w);
    r.method = ICF_METHOD_POPULAR;
    ss_buf_reset(&out);
    ck_assert_int_eq(reco_encode(w, &r, &out, &err), 0);
    ck_assert_int_eq(ss_avro_to_json(reg, out.buf, out.len, &json, &err), 0);
    ck_assert_ptr_nonnull(strstr(json.buf, "\"method\":\"popular\""));
    ck_assert_ptr_nonnull(strstr(json.buf, "\"product_id\":\"22423\""));
    ck_assert_ptr_nonnull(strstr(json.buf, "\"as_of\":1291190760000"));
    /* the writer's value is reset between records: no items left from the previous one */
    r.n = 0;
    ss_buf_reset(&out);
    ss_buf_reset(&json);
    ck_assert_int_eq(reco_encode(w, &r, &out, &err), 0);
    ck_assert_int_eq(ss_avro_to_json(reg, out.buf, out.len, &json, &err), 0);
    ck_assert_ptr_nonnull(strstr(json.buf, "\"items\":[]"));
    ss_avro_writer_destroy(w);
    ss_avro_reg_destroy(reg);
    ss_buf_release(&out);
    ss_buf_release(&json);
}
END_TEST

Suite *itemcf_suite(void) {
    Suite *s = suite_create("itemcf");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, state_matches_batch);
    tcase_add_test(tc, recommend_matches_batch);
    tcase_add_test(tc, interleaved_updates_match_batch);
    tcase_add_test(tc, neighbours_match_batch_and_exclude_self);
    tcase_add_test(tc, identical_columns);
    tcase_add_test(tc, score_ties_by_product_id);
    tcase_add_test(tc, popular_fallback);
    tcase_add_test(tc, dedupe_and_ignored);
    tcase_add_test(tc, invalid_orders_change_nothing);
    tcase_add_test(tc, dense_rows_match_batch);
    tcase_add_test(tc, snapshot_round_trip);
    tcase_add_test(tc, many_ties_in_one_row);
    suite_add_tcase(s, tc);
    tc = tcase_create("api");
    tcase_add_test(tc, api_path_and_n);
    tcase_add_test(tc, api_json_and_avro);
    suite_add_tcase(s, tc);
    return s;
}
