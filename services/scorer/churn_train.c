/* churn_train: point-in-time sets, XGBoost + baseline training, report (see churn_train.h). */
#include "churn_train.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xgboost/c_api.h>

#include "churn_metrics.h"
#include "rfm.h"

/* ---- history ------------------------------------------------------------------------------- */

typedef struct hist_event {
    size_t cust;
    int64_t t_ms;
    int is_return;
    double amount; /* currency units, positive */
    size_t seq;    /* arrival order, breaks time ties */
} hist_event_t;

struct churn_history {
    char **ids; /* customer ids, in order of first appearance; owned */
    size_t n_cust, cap_cust;
    size_t *slots; /* open addressing: customer index + 1, 0 = empty */
    size_t n_slots;
    hist_event_t *ev;
    size_t n_ev, cap_ev;
    int64_t first_ms, last_ms;
};

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

churn_history_t *churn_history_new(void) {
    churn_history_t *h = ss_xcalloc(1, sizeof *h);
    h->n_slots = 1024;
    h->slots = ss_xcalloc(h->n_slots, sizeof *h->slots);
    return h;
}

void churn_history_destroy(churn_history_t *h) {
    if (!h)
        return;
    for (size_t i = 0; i < h->n_cust; i++)
        free(h->ids[i]);
    free(h->ids);
    free(h->slots);
    free(h->ev);
    free(h);
}

static void rehash(churn_history_t *h) {
    size_t n = h->n_slots * 2;
    size_t *slots = ss_xcalloc(n, sizeof *slots);
    for (size_t c = 0; c < h->n_cust; c++) {
        size_t i = (size_t)(hash_str(h->ids[c]) & (n - 1));
        while (slots[i])
            i = (i + 1) & (n - 1);
        slots[i] = c + 1;
    }
    free(h->slots);
    h->slots = slots;
    h->n_slots = n;
}

static size_t customer_index(churn_history_t *h, const char *id) {
    size_t i = (size_t)(hash_str(id) & (h->n_slots - 1));
    while (h->slots[i]) {
        if (strcmp(h->ids[h->slots[i] - 1], id) == 0)
            return h->slots[i] - 1;
        i = (i + 1) & (h->n_slots - 1);
    }
    if (h->n_cust == h->cap_cust) {
        h->cap_cust = h->cap_cust ? h->cap_cust * 2 : 256;
        h->ids = ss_xrealloc(h->ids, h->cap_cust * sizeof *h->ids);
    }
    h->ids[h->n_cust] = ss_xstrdup(id);
    h->slots[i] = ++h->n_cust;
    if (h->n_cust * 2 > h->n_slots)
        rehash(h);
    return h->n_cust - 1;
}

int churn_history_add(churn_history_t *h, const ss_txn_t *t, ss_err_t *err) {
    if (!t->has_customer || !t->customer_id[0])
        return 0;
    double amount = ss_txn_amount(t);
    if (!isfinite(amount) || amount < 0)
        return ss_err_set(err, SS_ERR_INVAL, "order '%s': amount %g is not a finite amount >= 0",
                          t->order_id, amount);
    size_t c = customer_index(h, t->customer_id);
    if (h->n_ev == h->cap_ev) {
        h->cap_ev = h->cap_ev ? h->cap_ev * 2 : 1024;
        h->ev = ss_xrealloc(h->ev, h->cap_ev * sizeof *h->ev);
    }
    h->ev[h->n_ev] = (hist_event_t){c, t->event_time_ms, t->kind == SS_TXN_RETURN, amount, h->n_ev};
    if (h->n_ev == 0 || t->event_time_ms < h->first_ms)
        h->first_ms = t->event_time_ms;
    if (h->n_ev == 0 || t->event_time_ms > h->last_ms)
        h->last_ms = t->event_time_ms;
    h->n_ev++;
    return 0;
}

size_t churn_history_customers(const churn_history_t *h) { return h->n_cust; }
size_t churn_history_orders(const churn_history_t *h) { return h->n_ev; }

void churn_history_range(const churn_history_t *h, int64_t *first_ms, int64_t *last_ms) {
    *first_ms = h->first_ms;
    *last_ms = h->last_ms;
}

const char *churn_history_customer_id(const churn_history_t *h, size_t i) { return h->ids[i]; }

/* ---- cut-offs ------------------------------------------------------------------------------ */

static int64_t floor_day(int64_t ms) { return rfm_floor_days(ms) * CHURN_DAY_MS; }

int churn_plan_cutoffs(int64_t first_ms, int64_t last_ms, const churn_plan_opts_t *o,
                       int64_t *train, size_t *n_train, int64_t *eval, size_t *n_eval,
                       ss_err_t *err) {
    int64_t horizon = (o->horizon_days ? o->horizon_days : 90) * CHURN_DAY_MS;
    int64_t step = (o->step_days ? o->step_days : 30) * CHURN_DAY_MS;
    int ne = o->n_eval ? o->n_eval : 1;
    int64_t min_hist = (o->min_history_days ? o->min_history_days : 60) * CHURN_DAY_MS;
    if (ne < 1 || ne > CHURN_MAX_CUTOFFS || horizon <= 0 || step <= 0 || min_hist < 0)
        return ss_err_set(err, SS_ERR_INVAL, "cut-off plan: bad horizon, step or evaluation count");
    int64_t earliest = floor_day(first_ms) + min_hist;
    int64_t last_eval = floor_day(last_ms - horizon);
    int64_t first_eval = last_eval - (int64_t)(ne - 1) * step;
    if (first_eval - horizon < earliest) {
        char a[32], b[32];
        churn_format_time(first_ms, a, sizeof a);
        churn_format_time(last_ms, b, sizeof b);
        return ss_err_set(err, SS_ERR_INVAL,
                          "history %s .. %s too short for %d evaluation cut-off(s), a %lld-day "
                          "horizon and %lld days of history before the first training cut-off",
                          a, b, ne, (long long)(horizon / CHURN_DAY_MS),
                          (long long)(min_hist / CHURN_DAY_MS));
    }
    for (int k = 0; k < ne; k++)
        eval[k] = first_eval + (int64_t)k * step;
    *n_eval = (size_t)ne;
    int64_t tmp[CHURN_MAX_CUTOFFS];
    size_t nt = 0;
    for (int64_t t = first_eval - horizon; t >= earliest && nt < CHURN_MAX_CUTOFFS; t -= step)
        tmp[nt++] = t;
    for (size_t i = 0; i < nt; i++)
        train[i] = tmp[nt - 1 - i];
    *n_train = nt;
    return 0;
}

int churn_check_cutoffs(const int64_t *train, size_t n_train, const int64_t *eval, size_t n_eval,
                        int64_t horizon_ms, int64_t last_ms, ss_err_t *err) {
    char a[32], b[32];
    if (n_train == 0 || n_eval == 0)
        return ss_err_set(err, SS_ERR_INVAL,
                          "need at least one training and one evaluation "
                          "cut-off");
    if (n_train > CHURN_MAX_CUTOFFS || n_eval > CHURN_MAX_CUTOFFS)
        return ss_err_set(err, SS_ERR_INVAL, "at most %d cut-offs per list", CHURN_MAX_CUTOFFS);
    if (horizon_ms <= 0)
        return ss_err_set(err, SS_ERR_INVAL, "horizon must be positive");
    for (int list = 0; list < 2; list++) {
        const int64_t *c = list ? eval : train;
        size_t n = list ? n_eval : n_train;
        for (size_t i = 0; i < n; i++) {
            churn_format_time(c[i], a, sizeof a);
            if (i > 0 && c[i] <= c[i - 1])
                return ss_err_set(err, SS_ERR_INVAL, "%s cut-offs must be ascending at '%s'",
                                  list ? "evaluation" : "training", a);
            if (c[i] + horizon_ms > last_ms) {
                churn_format_time(last_ms, b, sizeof b);
                return ss_err_set(err, SS_ERR_INVAL,
                                  "cut-off '%s': label window ends after the history's last "
                                  "event %s (label not observable)",
                                  a, b);
            }
        }
    }
    for (size_t i = 0; i < n_train; i++) {
        if (train[i] + horizon_ms > eval[0]) {
            churn_format_time(train[i], a, sizeof a);
            churn_format_time(eval[0], b, sizeof b);
            return ss_err_set(err, SS_ERR_INVAL,
                              "training cut-off '%s': its label window reaches past the first "
                              "evaluation cut-off %s (training labels would see the evaluation "
                              "period)",
                              a, b);
        }
    }
    return 0;
}

/* ---- point-in-time sets -------------------------------------------------------------------- */

void churn_set_release(churn_set_t *s) {
    free(s->x);
    free(s->y);
    free(s->cutoff);
    free(s->customer);
    *s = (churn_set_t)CHURN_SET_INIT;
}

static void set_push(churn_set_t *s, const float *row, int y, int64_t cutoff, size_t cust) {
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->x = ss_xrealloc(s->x, s->cap * CHURN_N_FEATURES * sizeof *s->x);
        s->y = ss_xrealloc(s->y, s->cap * sizeof *s->y);
        s->cutoff = ss_xrealloc(s->cutoff, s->cap * sizeof *s->cutoff);
        s->customer = ss_xrealloc(s->customer, s->cap * sizeof *s->customer);
    }
    memcpy(s->x + s->n * CHURN_N_FEATURES, row, CHURN_N_FEATURES * sizeof *row);
    s->y[s->n] = y;
    s->cutoff[s->n] = cutoff;
    s->customer[s->n] = cust;
    s->n++;
}

static int cmp_event(const void *a, const void *b) {
    const hist_event_t *x = a, *y = b;
    if (x->cust != y->cust)
        return x->cust < y->cust ? -1 : 1;
    if (x->t_ms != y->t_ms)
        return x->t_ms < y->t_ms ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

int churn_build_set(const churn_history_t *h, const int64_t *cutoffs, size_t n_cutoffs,
                    int64_t horizon_ms, churn_set_t *out, ss_err_t *err) {
    if (horizon_ms <= 0)
        return ss_err_set(err, SS_ERR_INVAL, "horizon must be positive");
    for (size_t k = 1; k < n_cutoffs; k++) {
        if (cutoffs[k] <= cutoffs[k - 1])
            return ss_err_set(err, SS_ERR_INVAL, "cut-offs must be ascending");
    }
    hist_event_t *ev = ss_xmalloc((h->n_ev ? h->n_ev : 1) * sizeof *ev);
    memcpy(ev, h->ev, h->n_ev * sizeof *ev);
    qsort(ev, h->n_ev, sizeof *ev, cmp_event);
    size_t nc = h->n_cust;
    size_t *next = ss_xcalloc(nc + 1, sizeof *next); /* next event to apply per customer */
    size_t *end = ss_xcalloc(nc + 1, sizeof *end);
    for (size_t i = 0; i < h->n_ev; i++)
        end[ev[i].cust] = i + 1;
    for (size_t c = 0, i = 0; c < nc; c++) {
        next[c] = i;
        i = end[c] > i ? end[c] : i;
        end[c] = i;
    }
    rfm_state_t *st = ss_xcalloc(nc + 1, sizeof *st);
    float row[CHURN_N_FEATURES];
    for (size_t k = 0; k < n_cutoffs; k++) {
        int64_t T = cutoffs[k];
        for (size_t c = 0; c < nc; c++) {
            size_t i = next[c];
            /* The features see exactly the orders at t <= T, nothing later. */
            for (; i < end[c] && ev[i].t_ms <= T; i++) {
                if (ev[i].is_return)
                    rfm_apply_return(&st[c], ev[i].t_ms, ev[i].amount);
                else
                    rfm_apply_purchase(&st[c], ev[i].t_ms, ev[i].amount);
            }
            next[c] = i;
            if (st[c].agg.n == 0)
                continue; /* no purchase yet: not a customer at T */
            int churned = 1;
            for (; i < end[c] && ev[i].t_ms <= T + horizon_ms; i++) {
                if (!ev[i].is_return) {
                    churned = 0;
                    break;
                }
            }
            rfm_features_t f;
            rfm_features(&st[c], T, &f);
            churn_row_from_rfm(&f, row);
            set_push(out, row, churned, T, c);
        }
    }
    for (size_t c = 0; c < nc; c++)
        rfm_state_release(&st[c]);
    free(st);
    free(next);
    free(end);
    free(ev);
    return 0;
}

/* ---- XGBoost ------------------------------------------------------------------------------- */

static int xgb_fail(ss_err_t *err, const char *what) {
    return ss_err_set(err, SS_ERR_FATAL, "xgboost %s failed: %s", what, XGBGetLastError());
}

churn_model_t *churn_train_xgb(const churn_set_t *s, const churn_xgb_opts_t *o, double *spw,
                               char *params, size_t size, ss_err_t *err) {
    size_t pos = 0;
    for (size_t i = 0; i < s->n; i++)
        pos += s->y[i] != 0;
    if (s->n == 0 || pos == 0 || pos == s->n) {
        ss_err_set(err, SS_ERR_INVAL, "training set has %zu rows, %zu churners: need both classes",
                   s->n, pos);
        return NULL;
    }
    double w = o->no_balance ? 1.0 : (double)(s->n - pos) / (double)pos;
    if (spw)
        *spw = w;
    char kv[12][2][32];
    size_t nkv = 0;
#define KV(k, ...)                                                                                 \
    do {                                                                                           \
        snprintf(kv[nkv][0], sizeof kv[nkv][0], "%s", k);                                          \
        snprintf(kv[nkv][1], sizeof kv[nkv][1], __VA_ARGS__);                                      \
        nkv++;                                                                                     \
    } while (0)
    KV("objective", "binary:logistic");
    KV("tree_method", "hist");
    KV("max_depth", "%d", o->max_depth ? o->max_depth : 2);
    KV("eta", "%g", o->eta ? o->eta : 0.05);
    KV("subsample", "%g", o->subsample ? o->subsample : 0.8);
    KV("colsample_bytree", "%g", o->colsample ? o->colsample : 0.8);
    KV("min_child_weight", "%g", o->min_child_weight ? o->min_child_weight : 50);
    KV("scale_pos_weight", "%.6g", w);
    KV("seed", "%d", o->seed ? o->seed : 42);
    KV("nthread", "%d", o->nthread ? o->nthread : 2);
    KV("verbosity", "0");
#undef KV
    int rounds = o->rounds ? o->rounds : 200;
    if (params && size) {
        size_t used = (size_t)snprintf(params, size, "rounds=%d", rounds);
        for (size_t i = 0; i < nkv && used < size; i++)
            used += (size_t)snprintf(params + used, size - used, " %s=%s", kv[i][0], kv[i][1]);
    }
    DMatrixHandle dm = NULL;
    BoosterHandle b = NULL;
    float *labels = ss_xmalloc(s->n * sizeof *labels);
    for (size_t i = 0; i < s->n; i++)
        labels[i] = (float)s->y[i];
    churn_model_t *m = NULL;
    if (XGDMatrixCreateFromMat(s->x, s->n, CHURN_N_FEATURES, NAN, &dm) != 0) {
        xgb_fail(err, "DMatrixCreateFromMat");
        goto out;
    }
    if (XGDMatrixSetFloatInfo(dm, "label", labels, s->n) != 0) {
        xgb_fail(err, "DMatrixSetFloatInfo");
        goto out;
    }
    if (XGBoosterCreate(&dm, 1, &b) != 0) {
        xgb_fail(err, "BoosterCreate");
        goto out;
    }
    for (size_t i = 0; i < nkv; i++) {
        if (XGBoosterSetParam(b, kv[i][0], kv[i][1]) != 0) {
            xgb_fail(err, "SetParam");
            goto out;
        }
    }
    for (int it = 0; it < rounds; it++) {
        if (XGBoosterUpdateOneIter(b, it, dm) != 0) {
            xgb_fail(err, "UpdateOneIter");
            goto out;
        }
    }
    m = churn_model_wrap(b, churn_feature_names, CHURN_N_FEATURES, err);
    b = NULL; /* taken by wrap, freed with it on failure */
out:
    if (b)
        XGBoosterFree(b);
    if (dm)
        XGDMatrixFree(dm);
    free(labels);
    return m;
}

/* ---- logistic regression baseline ---------------------------------------------------------- */

static double signed_log1p(double x) { return x < 0 ? -log1p(-x) : log1p(x); }

static void lr_transform(const churn_logreg_t *lr, const float *row, double *z) {
    for (int j = 0; j < CHURN_N_FEATURES; j++)
        z[j] = isnan(row[j]) ? 0 : (signed_log1p(row[j]) - lr->mean[j]) / lr->sd[j];
}

static double sigmoid(double a) { return a >= 0 ? 1 / (1 + exp(-a)) : exp(a) / (1 + exp(a)); }

double churn_logreg_predict(const churn_logreg_t *lr, const float *row) {
    double z[CHURN_N_FEATURES], a = lr->bias;
    lr_transform(lr, row, z);
    for (int j = 0; j < CHURN_N_FEATURES; j++)
        a += lr->w[j] * z[j];
    return sigmoid(a);
}

int churn_logreg_fit(churn_logreg_t *lr, const churn_set_t *s, double l2, ss_err_t *err) {
    enum { K = CHURN_N_FEATURES, P = CHURN_N_FEATURES + 1 };
    memset(lr, 0, sizeof *lr);
    size_t pos = 0;
    for (size_t i = 0; i < s->n; i++)
        pos += s->y[i] != 0;
    if (s->n == 0 || pos == 0 || pos == s->n)
        return ss_err_set(err, SS_ERR_INVAL, "baseline: need both classes (%zu rows, %zu churners)",
                          s->n, pos);
    for (int j = 0; j < K; j++) {
        double sum = 0, ss = 0;
        size_t cnt = 0;
        for (size_t i = 0; i < s->n; i++) {
            float v = s->x[i * K + j];
            if (!isnan(v)) {
                sum += signed_log1p(v);
                cnt++;
            }
        }
        lr->mean[j] = cnt ? sum / (double)cnt : 0;
        for (size_t i = 0; i < s->n; i++) {
            float v = s->x[i * K + j];
            if (!isnan(v))
                ss += (signed_log1p(v) - lr->mean[j]) * (signed_log1p(v) - lr->mean[j]);
        }
        lr->sd[j] = cnt > 1 && ss > 0 ? sqrt(ss / (double)(cnt - 1)) : 1;
    }
    double *z = ss_xmalloc(s->n * P * sizeof *z);
    for (size_t i = 0; i < s->n; i++) {
        z[i * P] = 1;
        lr_transform(lr, s->x + i * K, z + i * P + 1);
    }
    double beta[P] = {0};
    beta[0] = log((double)pos / (double)(s->n - pos));
    gsl_matrix *H = gsl_matrix_alloc(P, P);
    gsl_vector *g = gsl_vector_alloc(P), *d = gsl_vector_alloc(P);
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    int rc = 0, it;
    for (it = 0; it < 100; it++) {
        gsl_matrix_set_zero(H);
        gsl_vector_set_zero(g);
        for (size_t i = 0; i < s->n; i++) {
            const double *zi = z + i * P;
            double a = 0;
            for (int j = 0; j < P; j++)
                a += beta[j] * zi[j];
            double p = sigmoid(a), wgt = p * (1 - p), r = (s->y[i] ? 1.0 : 0.0) - p;
            for (int j = 0; j < P; j++) {
                *gsl_vector_ptr(g, (size_t)j) += zi[j] * r;
                for (int l = 0; l <= j; l++)
                    *gsl_matrix_ptr(H, (size_t)j, (size_t)l) += wgt * zi[j] * zi[l];
            }
        }
        for (int j = 1; j < P; j++) {
            *gsl_matrix_ptr(H, (size_t)j, (size_t)j) += l2;
            *gsl_vector_ptr(g, (size_t)j) -= l2 * beta[j];
        }
        for (int j = 0; j < P; j++)
            for (int l = 0; l < j; l++)
                gsl_matrix_set(H, (size_t)l, (size_t)j, gsl_matrix_get(H, (size_t)j, (size_t)l));
        if (gsl_linalg_cholesky_decomp1(H) != 0 || gsl_linalg_cholesky_solve(H, g, d) != 0) {
            rc = ss_err_set(err, SS_ERR_INVAL, "baseline: singular system at iteration %d", it);
            break;
        }
        double step = 0;
        for (int j = 0; j < P; j++) {
            beta[j] += gsl_vector_get(d, (size_t)j);
            step = fmax(step, fabs(gsl_vector_get(d, (size_t)j)));
        }
        if (step < 1e-9)
            break;
    }
    gsl_set_error_handler(old);
    gsl_matrix_free(H);
    gsl_vector_free(g);
    gsl_vector_free(d);
    free(z);
    lr->bias = beta[0];
    for (int j = 0; j < K; j++)
        lr->w[j] = beta[j + 1];
    lr->iterations = it + 1;
    return rc;
}

/* ---- the whole run ------------------------------------------------------------------------- */

void churn_run_release(churn_run_t *r) {
    churn_model_destroy(r->model);
    churn_set_release(&r->train);
    churn_set_release(&r->eval);
    free(r->eval_score);
    free(r->base_score);
    *r = (churn_run_t)CHURN_RUN_INIT;
}

int churn_train_run(const churn_history_t *h, const churn_run_opts_t *o, churn_run_t *r,
                    ss_err_t *err) {
    int64_t horizon = (o->plan.horizon_days ? o->plan.horizon_days : 90) * CHURN_DAY_MS;
    int64_t train_c[CHURN_MAX_CUTOFFS], eval_c[CHURN_MAX_CUTOFFS];
    size_t nt = 0, ne = 0;
    int64_t first, last;
    churn_history_range(h, &first, &last);
    if (h->n_ev == 0)
        return ss_err_set(err, SS_ERR_INVAL, "history has no customer orders");
    int rc = 0;
    if (o->train_cutoffs || o->eval_cutoffs) {
        if (!o->train_cutoffs || !o->eval_cutoffs)
            return ss_err_set(err, SS_ERR_INVAL, "give both training and evaluation cut-offs");
        nt = o->n_train_cutoffs < CHURN_MAX_CUTOFFS ? o->n_train_cutoffs : CHURN_MAX_CUTOFFS;
        ne = o->n_eval_cutoffs < CHURN_MAX_CUTOFFS ? o->n_eval_cutoffs : CHURN_MAX_CUTOFFS;
        memcpy(train_c, o->train_cutoffs, nt * sizeof *train_c);
        memcpy(eval_c, o->eval_cutoffs, ne * sizeof *eval_c);
    } else {
        rc = churn_plan_cutoffs(first, last, &o->plan, train_c, &nt, eval_c, &ne, err);
        if (rc)
            return rc;
    }
    rc = churn_check_cutoffs(train_c, nt, eval_c, ne, horizon, last, err);
    if (rc)
        return rc;
    churn_thresholds_t th = o->thresholds;
    rc = churn_thresholds_check(&th, err);
    if (rc)
        return rc;
    rc = churn_build_set(h, train_c, nt, horizon, &r->train, err);
    if (rc == 0)
        rc = churn_build_set(h, eval_c, ne, horizon, &r->eval, err);
    if (rc)
        return rc;
    size_t epos = 0, tpos = 0;
    for (size_t i = 0; i < r->eval.n; i++)
        epos += r->eval.y[i] != 0;
    for (size_t i = 0; i < r->train.n; i++)
        tpos += r->train.y[i] != 0;
    if (r->eval.n == 0 || epos == 0 || epos == r->eval.n)
        return ss_err_set(err, SS_ERR_INVAL,
                          "evaluation set has %zu rows, %zu churners: need both classes", r->eval.n,
                          epos);
    churn_metrics_t mt = {0};
    char params[512] = "";
    r->model =
        churn_train_xgb(&r->train, &o->xgb, &mt.scale_pos_weight, params, sizeof params, err);
    if (!r->model)
        return err ? err->code : SS_ERR_FATAL;
    r->eval_score = ss_xmalloc(r->eval.n * sizeof *r->eval_score);
    rc = churn_model_predict(r->model, r->eval.x, r->eval.n, r->eval_score, err);
    if (rc)
        return rc;
    rc = churn_logreg_fit(&r->baseline, &r->train, 1.0, err);
    if (rc)
        return rc;
    r->base_score = ss_xmalloc(r->eval.n * sizeof *r->base_score);
    double *rule = ss_xmalloc(r->eval.n * sizeof *rule);
    double *col = ss_xmalloc(r->eval.n * sizeof *col);
    for (size_t i = 0; i < r->eval.n; i++) {
        r->base_score[i] = churn_logreg_predict(&r->baseline, r->eval.x + i * CHURN_N_FEATURES);
        rule[i] = r->eval.x[i * CHURN_N_FEATURES + churn_feature_index("recency_days")];
    }
    mt.roc_auc = churn_roc_auc(r->eval_score, r->eval.y, r->eval.n);
    mt.pr_auc = churn_pr_auc(r->eval_score, r->eval.y, r->eval.n);
    mt.base_roc_auc = churn_roc_auc(r->base_score, r->eval.y, r->eval.n);
    mt.base_pr_auc = churn_pr_auc(r->base_score, r->eval.y, r->eval.n);
    mt.rule_roc_auc = churn_roc_auc(rule, r->eval.y, r->eval.n);
    mt.rule_pr_auc = churn_pr_auc(rule, r->eval.y, r->eval.n);
    mt.n_train = r->train.n;
    mt.n_eval = r->eval.n;
    mt.train_pos_rate = (double)tpos / (double)r->train.n;
    mt.eval_pos_rate = (double)epos / (double)r->eval.n;
    churn_cls_report(r->eval_score, r->eval.y, r->eval.n, th.high, &mt.at_high);
    churn_cls_report(r->eval_score, r->eval.y, r->eval.n, th.medium, &mt.at_medium);
    rc = churn_model_importance(r->model, r->importance, err);
    churn_meta_t *meta = churn_model_meta_mut(r->model);
    for (int j = 0; rc == 0 && j < CHURN_N_FEATURES; j++) {
        for (size_t i = 0; i < r->eval.n; i++)
            col[i] = r->eval.x[i * CHURN_N_FEATURES + j];
        churn_refdist_compute(&meta->feature_ref[j], col, r->eval.n);
    }
    churn_refdist_compute(&meta->score_ref, r->eval_score, r->eval.n);
    meta->has_reference = 1;
    free(rule);
    free(col);
    if (rc)
        return rc;
    meta->thresholds = th;
    meta->metrics = mt;
    meta->has_metrics = 1;
    churn_training_info_t *ti = &meta->training;
    ti->horizon_days = (int)(horizon / CHURN_DAY_MS);
    ti->n_train_cutoffs = nt;
    ti->n_eval_cutoffs = ne;
    memcpy(ti->train_cutoffs_ms, train_c, nt * sizeof *train_c);
    memcpy(ti->eval_cutoffs_ms, eval_c, ne * sizeof *eval_c);
    snprintf(ti->source, sizeof ti->source, "%s", o->source ? o->source : "");
    snprintf(ti->params, sizeof ti->params, "%s", params);
    churn_format_time(o->now_ms, meta->trained_at, sizeof meta->trained_at);
    if (o->version && *o->version) {
        if (strlen(o->version) >= sizeof meta->version)
            return ss_err_set(err, SS_ERR_INVAL, "version '%s' too long", o->version);
        snprintf(meta->version, sizeof meta->version, "%s", o->version);
    } else {
        rc =
            churn_model_make_version(r->model, o->now_ms, meta->version, sizeof meta->version, err);
    }
    return rc;
}

/* ---- report -------------------------------------------------------------------------------- */

static void add_report_row(ss_buf_t *out, const char *label, const churn_cls_report_t *c) {
    ss_buf_addf(out,
                "  %-22s threshold > %.2f: precision %.3f recall %.3f f1 %.3f accuracy %.3f "
                "(tp %llu fp %llu tn %llu fn %llu)\n",
                label, c->threshold, c->precision, c->recall, c->f1, c->accuracy,
                (unsigned long long)c->tp, (unsigned long long)c->fp, (unsigned long long)c->tn,
                (unsigned long long)c->fn);
}

void churn_report_text(const churn_run_t *r, ss_buf_t *out) {
    const churn_meta_t *m = churn_model_meta(r->model);
    const churn_metrics_t *mt = &m->metrics;
    const churn_training_info_t *ti = &m->training;
    char t[32];
    ss_buf_addf(out, "churn model %s (trained %s)\n", m->version, m->trained_at);
    ss_buf_addf(out, "label: no purchase in (T, T + %d days]; features: orders at t <= T\n",
                ti->horizon_days);
    ss_buf_adds(out, "training cut-offs:");
    for (size_t i = 0; i < ti->n_train_cutoffs; i++) {
        churn_format_time(ti->train_cutoffs_ms[i], t, sizeof t);
        ss_buf_addf(out, " %.10s", t);
    }
    ss_buf_adds(out, "\nevaluation cut-offs:");
    for (size_t i = 0; i < ti->n_eval_cutoffs; i++) {
        churn_format_time(ti->eval_cutoffs_ms[i], t, sizeof t);
        ss_buf_addf(out, " %.10s", t);
    }
    ss_buf_addf(out,
                "\nrows: train %llu (churn rate %.3f), eval %llu (churn rate %.3f); "
                "scale_pos_weight %.4f\n",
                (unsigned long long)mt->n_train, mt->train_pos_rate, (unsigned long long)mt->n_eval,
                mt->eval_pos_rate, mt->scale_pos_weight);
    ss_buf_addf(out, "xgboost: %s\n\n", ti->params);
    ss_buf_addf(out, "%-34s %8s %8s\n", "model (evaluation cut-offs)", "ROC-AUC", "PR-AUC");
    ss_buf_addf(out, "%-34s %8.4f %8.4f\n", "xgboost", mt->roc_auc, mt->pr_auc);
    ss_buf_addf(out, "%-34s %8.4f %8.4f\n", "baseline: logistic regression", mt->base_roc_auc,
                mt->base_pr_auc);
    ss_buf_addf(out, "%-34s %8.4f %8.4f\n", "baseline: rule score = recency_days", mt->rule_roc_auc,
                mt->rule_pr_auc);
    ss_buf_addf(out, "%-34s %8.4f\n\n", "chance (PR-AUC = churn rate)", mt->eval_pos_rate);
    ss_buf_adds(out, "classification report (churn predicted when score > threshold):\n");
    add_report_row(out, "high risk", &mt->at_high);
    add_report_row(out, "medium or high risk", &mt->at_medium);
    uint64_t n[3] = {0}, churned[3] = {0};
    for (size_t i = 0; i < r->eval.n; i++) {
        churn_risk_t lv = churn_risk_level(&m->thresholds, r->eval_score[i]);
        n[lv]++;
        churned[lv] += r->eval.y[i] != 0;
    }
    ss_buf_adds(out, "\nrisk level    customers  churned  churn rate\n");
    for (int lv = CHURN_RISK_HIGH; lv >= CHURN_RISK_LOW; lv--)
        ss_buf_addf(out, "  %-10s %10llu %8llu  %10.3f\n", churn_risk_name((churn_risk_t)lv),
                    (unsigned long long)n[lv], (unsigned long long)churned[lv],
                    n[lv] ? (double)churned[lv] / (double)n[lv] : 0.0);
    double total = 0;
    for (int j = 0; j < CHURN_N_FEATURES; j++)
        total += r->importance[j];
    ss_buf_adds(out, "\nfeature importance (xgboost total gain, share):\n");
    int order[CHURN_N_FEATURES];
    for (int j = 0; j < CHURN_N_FEATURES; j++)
        order[j] = j;
    for (int a = 1; a < CHURN_N_FEATURES; a++)
        for (int b = a; b > 0 && r->importance[order[b]] > r->importance[order[b - 1]]; b--) {
            int tmp = order[b];
            order[b] = order[b - 1];
            order[b - 1] = tmp;
        }
    for (int k = 0; k < CHURN_N_FEATURES; k++) {
        int j = order[k];
        ss_buf_addf(out, "  %-24s %12.1f  %5.1f%%\n", churn_feature_names[j], r->importance[j],
                    total > 0 ? 100 * r->importance[j] / total : 0.0);
    }
}

void churn_bar_svg(const char *title, const char *const *names, const double *values, size_t n,
                   ss_buf_t *out) {
    const int label_w = 200, bar_w = 440, row_h = 26, top = 50, width = label_w + bar_w + 90;
    size_t *order = ss_xmalloc((n ? n : 1) * sizeof *order);
    double max = 0, total = 0;
    for (size_t i = 0; i < n; i++) {
        order[i] = i;
        max = fmax(max, values[i]);
        total += values[i];
    }
    for (size_t a = 1; a < n; a++)
        for (size_t b = a; b > 0 && values[order[b]] > values[order[b - 1]]; b--) {
            size_t tmp = order[b];
            order[b] = order[b - 1];
            order[b - 1] = tmp;
        }
    int height = top + (int)n * row_h + 20;
    ss_buf_addf(out,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"13\">\n"
                "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
                "<text x=\"%d\" y=\"28\" font-size=\"16\" font-weight=\"bold\">",
                width, height, width, height, 10);
    ss_buf_add_xml(out, title);
    ss_buf_adds(out, "</text>\n");
    for (size_t k = 0; k < n; k++) {
        size_t i = order[k];
        int y = top + (int)k * row_h;
        double frac = max > 0 ? values[i] / max : 0;
        ss_buf_addf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", label_w - 8,
                    y + row_h / 2 + 4);
        ss_buf_add_xml(out, names[i]);
        ss_buf_addf(out,
                    "</text>\n<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
                    "fill=\"#3b6ea5\"/>\n<text x=\"%.1f\" y=\"%d\">%.1f%%</text>\n",
                    label_w, y + 3, frac * bar_w, row_h - 6, label_w + frac * bar_w + 6,
                    y + row_h / 2 + 4, total > 0 ? 100 * values[i] / total : 0.0);
    }
    ss_buf_adds(out, "</svg>\n");
    free(order);
}

void churn_set_csv(const churn_history_t *h, const churn_set_t *s, ss_buf_t *out) {
    ss_buf_adds(out, "customer_id,cutoff_ms");
    for (int j = 0; j < CHURN_N_FEATURES; j++)
        ss_buf_addf(out, ",%s", churn_feature_names[j]);
    ss_buf_adds(out, ",label\n");
    for (size_t i = 0; i < s->n; i++) {
        ss_buf_addf(out, "%s,%lld", h->ids[s->customer[i]], (long long)s->cutoff[i]);
        for (int j = 0; j < CHURN_N_FEATURES; j++) {
            float v = s->x[i * CHURN_N_FEATURES + j];
            if (isnan(v))
                ss_buf_addch(out, ',');
            else
                ss_buf_addf(out, ",%.9g", (double)v);
        }
        ss_buf_addf(out, ",%d\n", s->y[i] ? 1 : 0);
    }
}
