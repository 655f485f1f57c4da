/* reco_eval: hit rate at n on held-out next purchases and per-purchase cost. See reco_eval.h. */
#include "reco_eval.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "replay_csv.h"
#include "ss_buf.h"

typedef struct pe {
    char *customer; /* owned */
    size_t idx;     /* order index */
    int64_t t;      /* event time, ms */
} pe_t;

typedef struct test {
    const char *customer; /* borrowed from the pe array */
    size_t next;          /* index of the customer's first purchase at/after the cutoff */
} test_t;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int pe_cmp(const void *x, const void *y) {
    const pe_t *a = x, *b = y;
    int c = strcmp(a->customer, b->customer);
    return c ? c : (a->idx > b->idx) - (a->idx < b->idx);
}

static int dbl_cmp(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double quantile(const double *sorted, size_t n, double q) {
    size_t i;
    if (n == 0)
        return 0;
    i = (size_t)(q * (double)(n - 1) + 0.5);
    return sorted[i < n ? i : n - 1];
}

static int in_items(const char *product, const icf_item_t *items, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(items[i].product_id, product) == 0)
            return 1;
    return 0;
}

static void evaluate(icf_t *m, const test_t *tests, size_t ntests, size_t n, reco_eval_get_fn *get,
                     void *opaque, reco_eval_result_t *r) {
    icf_item_t *rec = ss_xcalloc(n, sizeof(*rec)), *pop = ss_xcalloc(n, sizeof(*pop));
    ss_txn_t held = SS_TXN_INIT;

    for (size_t i = 0; i < ntests; i++) {
        icf_method_t method;
        size_t nr = icf_recommend(m, tests[i].customer, n, rec, &method);
        size_t np = icf_popular_for(m, tests[i].customer, n, pop);
        int hit_r = 0, hit_p = 0, fresh = 0;
        get(opaque, tests[i].next, &held);
        for (size_t l = 0; l < held.n_lines; l++) {
            const char *p = held.lines[l].product_id;
            fresh |= icf_quantity(m, tests[i].customer, p) == 0;
            hit_r |= in_items(p, rec, nr);
            hit_p |= in_items(p, pop, np);
        }
        r->test_customers++;
        r->test_new += (uint64_t)fresh;
        r->hits_cosine += (uint64_t)hit_r;
        r->hits_popular += (uint64_t)hit_p;
        r->cosine_answers += method == ICF_METHOD_COSINE;
    }
    ss_txn_release(&held);
    free(rec);
    free(pop);
}

int reco_eval_run(size_t count, reco_eval_get_fn *get, void *opaque, const reco_eval_opts_t *o,
                  reco_eval_result_t *r, ss_err_t *err) {
    icf_opts_t io = {.neighbours = o->neighbours};
    size_t n = o->n ? o->n : ICF_TOP_N_DEFAULT, npe = 0, ntests = 0, ntimes = 0;
    pe_t *pes = ss_xcalloc(count ? count : 1, sizeof(*pes));
    test_t *tests = NULL;
    double *times = NULL;
    icf_item_t *rec = ss_xcalloc(n, sizeof(*rec));
    ss_txn_t t = SS_TXN_INIT;
    icf_t *m = NULL;
    int evaluated = 0, rc = 0;
    char largest[SS_ID_MAX + 1] = "";

    memset(r, 0, sizeof(*r));
    /* Pass 1: the identified purchases, to place the cutoff and find each customer's next one */
    for (size_t i = 0; i < count; i++) {
        get(opaque, i, &t);
        if (t.kind != SS_TXN_PURCHASE || !t.has_customer)
            continue;
        pes[npe].customer = ss_xstrdup(t.customer_id);
        pes[npe].idx = i;
        pes[npe++].t = t.event_time_ms;
    }
    if (npe == 0) {
        rc = ss_err_set(err, SS_ERR_INVAL, "no purchase of an identified customer in the input");
        goto out;
    }
    r->cutoff_ms = o->cutoff_ms ? o->cutoff_ms : pes[(size_t)((double)npe * 0.8)].t;
    qsort(pes, npe, sizeof(*pes), pe_cmp);
    tests = ss_xcalloc(npe, sizeof(*tests));
    for (size_t i = 0; i < npe;) {
        size_t j = i, next = SIZE_MAX;
        int before = 0;
        for (; j < npe && strcmp(pes[j].customer, pes[i].customer) == 0; j++) {
            before |= pes[j].t < r->cutoff_ms;
            if (pes[j].t >= r->cutoff_ms && next == SIZE_MAX)
                next = pes[j].idx;
        }
        if (before && next != SIZE_MAX) {
            tests[ntests].customer = pes[i].customer;
            tests[ntests++].next = next;
        }
        i = j;
    }

    /* Pass 2: the stream, as the service sees it */
    m = icf_new(&io);
    if (o->timing)
        times = ss_xcalloc(npe, sizeof(*times));
    for (size_t i = 0; i < count; i++) {
        icf_status_t st;
        double t0;
        get(opaque, i, &t);
        if (!evaluated && t.event_time_ms >= r->cutoff_ms) {
            evaluate(m, tests, ntests, n, get, opaque, r);
            evaluated = 1;
        }
        t0 = now_s();
        if (icf_apply(m, &t, &st, err) < 0) {
            rc = SS_ERR_INVAL;
            goto out;
        }
        if (st != ICF_APPLIED)
            continue;
        r->purchases++;
        if (o->timing) {
            double dt;
            size_t bought;
            icf_recommend(m, t.customer_id, n, rec, NULL);
            dt = now_s() - t0;
            times[ntimes++] = dt;
            bought = icf_customer_products(m, t.customer_id);
            if (dt > r->max_s) {
                r->max_s = dt;
                r->max_customer_products = bought;
            }
            r->total_s += dt;
        }
        if (icf_customer_products(m, t.customer_id) > r->largest_customer) {
            r->largest_customer = icf_customer_products(m, t.customer_id);
            snprintf(largest, sizeof(largest), "%s", t.customer_id);
        }
    }
    if (!evaluated)
        evaluate(m, tests, ntests, n, get, opaque, r);
    if (ntimes) {
        qsort(times, ntimes, sizeof(*times), dbl_cmp);
        r->timed = ntimes;
        r->p50_s = quantile(times, ntimes, 0.50);
        r->p90_s = quantile(times, ntimes, 0.90);
        r->p99_s = quantile(times, ntimes, 0.99);
    }
    {
        double t0 = now_s();
        icf_recommend(m, largest, n, rec, NULL);
        r->largest_recommend_s = now_s() - t0;
    }
    icf_stats(m, &r->stats);
    {
        ss_buf_t snap = SS_BUF_INIT;
        icf_t *back;
        double t0 = now_s();
        icf_snapshot(m, &snap);
        r->snapshot_s = now_s() - t0;
        r->snapshot_bytes = snap.len;
        t0 = now_s();
        back = icf_restore(snap.buf, snap.len, &io, err);
        r->restore_s = now_s() - t0;
        if (!back)
            rc = SS_ERR_INVAL;
        icf_destroy(back);
        ss_buf_release(&snap);
    }
out:
    for (size_t i = 0; i < npe; i++)
        free(pes[i].customer);
    free(pes);
    free(tests);
    free(times);
    free(rec);
    ss_txn_release(&t);
    icf_destroy(m);
    return rc;
}

static double pct(uint64_t a, uint64_t b) { return b ? 100.0 * (double)a / (double)b : 0.0; }

void reco_eval_print(const reco_eval_result_t *r, size_t n, FILE *f) {
    char day[40];
    rcsv_format_time(r->cutoff_ms, day, sizeof(day));
    fprintf(f, "cutoff                  %s\n", day);
    fprintf(f, "purchases applied       %llu\n", (unsigned long long)r->purchases);
    fprintf(f, "test customers          %llu (next order with a new product: %llu)\n",
            (unsigned long long)r->test_customers, (unsigned long long)r->test_new);
    fprintf(f, "answered item-cosine    %llu\n", (unsigned long long)r->cosine_answers);
    fprintf(f, "hit rate@%zu item-cosine %.4f (%llu; %.2f%% of new-product orders)\n", n,
            pct(r->hits_cosine, r->test_customers) / 100, (unsigned long long)r->hits_cosine,
            pct(r->hits_cosine, r->test_new));
    fprintf(f, "hit rate@%zu popular     %.4f (%llu; %.2f%% of new-product orders)\n", n,
            pct(r->hits_popular, r->test_customers) / 100, (unsigned long long)r->hits_popular,
            pct(r->hits_popular, r->test_new));
    fprintf(f, "products                %llu\n", (unsigned long long)r->stats.products);
    fprintf(f, "customers               %llu\n", (unsigned long long)r->stats.customers);
    fprintf(f, "cells                   %llu\n", (unsigned long long)r->stats.entries);
    fprintf(f, "pairs                   %llu (dense rows %llu)\n",
            (unsigned long long)r->stats.pairs, (unsigned long long)r->stats.dense_rows);
    fprintf(f, "pair bytes              %llu (%.1f per pair)\n",
            (unsigned long long)r->stats.bytes_pairs,
            r->stats.pairs ? (double)r->stats.bytes_pairs / (double)r->stats.pairs : 0.0);
    fprintf(f, "row cache               %llu hits, %llu scans\n",
            (unsigned long long)r->stats.cache_hits, (unsigned long long)r->stats.cache_misses);
    fprintf(f, "state bytes             %llu\n", (unsigned long long)r->stats.bytes_total);
    fprintf(f,
            "snapshot bytes          %llu (%.1f per cell; written in %.3f s, restored in %.3f s)\n",
            (unsigned long long)r->snapshot_bytes,
            r->stats.entries ? (double)r->snapshot_bytes / (double)r->stats.entries : 0.0,
            r->snapshot_s, r->restore_s);
    if (r->timed) {
        fprintf(f,
                "per purchase (update+recommend) p50 %.1f us p90 %.1f us p99 %.1f us max %.1f ms "
                "(customer with %llu products), total %.2f s\n",
                r->p50_s * 1e6, r->p90_s * 1e6, r->p99_s * 1e6, r->max_s * 1e3,
                (unsigned long long)r->max_customer_products, r->total_s);
    }
    fprintf(f, "largest customer        %llu products, recommend %.2f ms\n",
            (unsigned long long)r->largest_customer, r->largest_recommend_s * 1e3);
}
