/* streamscore-train: trains the churn model from a transaction history CSV (replay formats, gzip
 * allowed). Builds point-in-time sets at cut-offs (features from orders at t <= T with the
 * feature service's rfm code, label = no purchase in (T, T + horizon]), trains XGBoost and a
 * logistic-regression baseline, prints the report and writes the versioned artifact, the report
 * and an importance chart (SVG). With --eval.model it scores the evaluation set with an existing
 * model instead (e.g. one trained by the Python xgboost package). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "churn_metrics.h"
#include "churn_model.h"
#include "churn_train.h"
#include "replay_csv.h"
#include "replay_input.h"
#include "ss_buf.h"
#include "ss_cfg.h"
#include "ss_err.h"
#include "ss_log.h"

static const ss_cfg_def_t defs[] = {
    {"format", SS_CFG_STR, "online-retail", 0, 0, "input format", 0,
     "native|online-retail|store-item"},
    {"out", SS_CFG_STR, "churn-model", 0, 0, "artifact directory to write (created)", 0, NULL},
    {"chart", SS_CFG_STR, "", 0, 0, "importance chart SVG path (default <out>/importance.svg)", 0,
     NULL},
    {"report", SS_CFG_STR, "", 0, 0, "report text path (default <out>/report.txt)", 0, NULL},
    {"horizon.days", SS_CFG_INT, "90", 1, 3650, "label window: churned = no purchase in (T, T+N]",
     0, NULL},
    {"step.days", SS_CFG_INT, "30", 1, 3650, "days between planned cut-offs", 0, NULL},
    {"eval.cutoffs", SS_CFG_INT, "1", 1, 64, "number of (latest) evaluation cut-offs", 0, NULL},
    {"min.history.days", SS_CFG_INT, "60", 0, 3650,
     "days of history before the first planned training cut-off", 0, NULL},
    {"train.at", SS_CFG_STR, "", 0, 0,
     "explicit training cut-offs, comma-separated dates (with eval.at; overrides the plan)", 0,
     NULL},
    {"eval.at", SS_CFG_STR, "", 0, 0, "explicit evaluation cut-offs, comma-separated dates", 0,
     NULL},
    {"xgb.rounds", SS_CFG_INT, "200", 1, 100000, "boosting rounds", 0, NULL},
    {"xgb.max-depth", SS_CFG_INT, "2", 1, 32, "tree depth", 0, NULL},
    {"xgb.eta", SS_CFG_DOUBLE, "0.05", 0.0001, 1, "learning rate", 0, NULL},
    {"xgb.subsample", SS_CFG_DOUBLE, "0.8", 0.01, 1, "row subsample per tree", 0, NULL},
    {"xgb.colsample", SS_CFG_DOUBLE, "0.8", 0.01, 1, "column subsample per tree", 0, NULL},
    {"xgb.min-child-weight", SS_CFG_DOUBLE, "50", 0.0001, 1e6, "minimum hessian per leaf", 0, NULL},
    {"xgb.seed", SS_CFG_INT, "42", 1, 2147483647, "random seed", 0, NULL},
    {"xgb.nthread", SS_CFG_INT, "2", 1, 256, "training threads", 0, NULL},
    {"xgb.balance", SS_CFG_BOOL, "true", 0, 0,
     "set scale_pos_weight = negatives / positives of the training rows", 0, NULL},
    {"risk.high", SS_CFG_DOUBLE, "0.7", 0.0001, 1, "high risk: probability above this", 0, NULL},
    {"risk.medium", SS_CFG_DOUBLE, "0.4", 0.0001, 1, "medium risk: probability above this", 0,
     NULL},
    {"version", SS_CFG_STR, "", 0, 0,
     "model version (default: training time UTC + model hash, e.g. 20240501T101500Z-3f2a9c1d)", 0,
     NULL},
    {"export.sets", SS_CFG_STR, "", 0, 0,
     "also write the point-in-time sets as <prefix>train.csv and <prefix>eval.csv", 0, NULL},
    {"eval.model", SS_CFG_STR, "", 0, 0,
     "do not train: score the evaluation set with this artifact or bare XGBoost JSON model", 0,
     NULL},
    {"predictions", SS_CFG_STR, "", 0, 0,
     "write evaluation rows' scores as CSV customer_id,cutoff_ms,label,score", 0, NULL},
};

/* Reads every order of the file into h. */
static int read_history(const char *path, rcsv_format_t fmt, churn_history_t *h, ss_err_t *err) {
    rcsv_opts_t ro = {.format = fmt};
    rcsv_t *r = rcsv_new(&ro);
    rin_t *in = rin_open(path, err);
    int rc = in ? 0 : SS_ERR_IO;
    char buf[1 << 16];
    while (rc == 0) {
        ssize_t got = rin_read(in, buf, sizeof buf, err);
        if (got < 0)
            rc = (int)got;
        else if (got == 0)
            break;
        else
            rc = rcsv_feed(r, buf, (size_t)got, err);
    }
    if (rc == 0)
        rc = rcsv_finish(r, err);
    if (in && rin_close(in, rc ? NULL : err) != 0 && rc == 0)
        rc = SS_ERR_IO;
    ss_txn_t t = SS_TXN_INIT;
    for (size_t i = 0; rc == 0 && i < rcsv_count(r); i++) {
        rcsv_get(r, i, &t);
        rc = churn_history_add(h, &t, err);
    }
    if (rc == 0) {
        const rcsv_stats_t *st = rcsv_stats(r);
        SS_LOG(LOG_INFO, "train",
               "read '%s': rows=%llu rejected=%llu orders=%llu purchases=%llu returns=%llu "
               "anonymous=%llu customers=%zu",
               path, (unsigned long long)st->rows_read, (unsigned long long)st->rows_rejected,
               (unsigned long long)st->orders, (unsigned long long)st->purchases,
               (unsigned long long)st->returns, (unsigned long long)st->anonymous,
               churn_history_customers(h));
    }
    ss_txn_release(&t);
    rcsv_destroy(r);
    return rc;
}

/* Parses "2011-06-01,2011-07-01" into ms; returns the count or a negative error. */
static int parse_dates(const char *s, int64_t *out, ss_err_t *err) {
    int n = 0;
    char *copy = ss_xstrdup(s), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (n == CHURN_MAX_CUTOFFS || rcsv_parse_time(tok, &out[n], err) != 0) {
            if (n == CHURN_MAX_CUTOFFS)
                ss_err_set(err, SS_ERR_INVAL, "more than %d cut-offs", CHURN_MAX_CUTOFFS);
            free(copy);
            return SS_ERR_INVAL;
        }
        n++;
    }
    free(copy);
    return n;
}

static int write_text(const char *path, const ss_buf_t *b, ss_err_t *err) {
    FILE *f = fopen(path, "w");
    if (!f)
        return ss_err_set_errno(err, SS_ERR_IO, errno, "cannot create '%s'", path);
    size_t put = fwrite(b->buf, 1, b->len, f);
    if (fclose(f) != 0 || put != b->len)
        return ss_err_set_errno(err, SS_ERR_IO, errno, "cannot write '%s'", path);
    return 0;
}

static int write_predictions(const char *path, const churn_history_t *h, const churn_set_t *s,
                             const double *score, ss_err_t *err) {
    ss_buf_t b = SS_BUF_INIT;
    ss_buf_adds(&b, "customer_id,cutoff_ms,label,score\n");
    for (size_t i = 0; i < s->n; i++)
        ss_buf_addf(&b, "%s,%lld,%d,%.9g\n", churn_history_customer_id(h, s->customer[i]),
                    (long long)s->cutoff[i], s->y[i], score[i]);
    int rc = write_text(path, &b, err);
    ss_buf_release(&b);
    return rc;
}

/* --eval.model: score the evaluation rows with an existing model and print its metrics. */
static int eval_existing(const char *model_path, const churn_history_t *h,
                         const churn_run_opts_t *o, const char *pred_path, ss_err_t *err) {
    int64_t horizon = o->plan.horizon_days * CHURN_DAY_MS, first, last;
    int64_t tc[CHURN_MAX_CUTOFFS], ec[CHURN_MAX_CUTOFFS];
    size_t nt = 0, ne = 0;
    churn_history_range(h, &first, &last);
    int rc = 0;
    if (o->eval_cutoffs) {
        ne = o->n_eval_cutoffs;
        memcpy(ec, o->eval_cutoffs, ne * sizeof *ec);
    } else {
        rc = churn_plan_cutoffs(first, last, &o->plan, tc, &nt, ec, &ne, err);
    }
    churn_model_t *m = rc ? NULL : churn_model_load(model_path, err);
    if (!m)
        return rc ? rc : SS_ERR_INVAL;
    const churn_meta_t *meta = churn_model_meta(m);
    churn_set_t s = CHURN_SET_INIT;
    double *score = NULL;
    rc = churn_build_set(h, ec, ne, horizon, &s, err);
    if (rc == 0 && meta->n_features != CHURN_N_FEATURES)
        rc = ss_err_set(err, SS_ERR_INVAL, "model '%s' has %zu features, the trainer builds %d",
                        model_path, meta->n_features, CHURN_N_FEATURES);
    for (size_t j = 0; rc == 0 && j < meta->n_features; j++) {
        char unnamed[32]; /* a model trained without feature names calls them f0, f1, ... */
        snprintf(unnamed, sizeof unnamed, "f%zu", j);
        if (strcmp(meta->features[j], churn_feature_names[j]) != 0 &&
            strcmp(meta->features[j], unnamed) != 0)
            rc = ss_err_set(err, SS_ERR_INVAL, "model feature %zu is '%s', want '%s'", j,
                            meta->features[j], churn_feature_names[j]);
    }
    if (rc == 0) {
        score = ss_xmalloc((s.n ? s.n : 1) * sizeof *score);
        rc = churn_model_predict(m, s.x, s.n, score, err);
    }
    if (rc == 0) {
        printf("model %s on %zu evaluation rows: ROC-AUC %.6f PR-AUC %.6f\n", meta->version, s.n,
               churn_roc_auc(score, s.y, s.n), churn_pr_auc(score, s.y, s.n));
        if (*pred_path)
            rc = write_predictions(pred_path, h, &s, score, err);
    }
    free(score);
    churn_set_release(&s);
    churn_model_destroy(m);
    return rc;
}

int main(int argc, char **argv) {
    ss_log_init("train");
    ss_err_t err = SS_ERR_INIT;
    ss_cfg_t *cfg = ss_cfg_new("train", "trains the churn model from a transaction history", defs,
                               sizeof defs / sizeof defs[0]);
    ss_cfg_set_usage(cfg, "HISTORY.csv[.gz]");
    churn_history_t *h = churn_history_new();
    churn_run_t run = CHURN_RUN_INIT;
    ss_buf_t text = SS_BUF_INIT, svg = SS_BUF_INIT, csv = SS_BUF_INIT;
    int64_t train_at[CHURN_MAX_CUTOFFS], eval_at[CHURN_MAX_CUTOFFS];
    int n_train_at = 0, n_eval_at = 0;
    rcsv_format_t fmt = RCSV_ONLINE_RETAIL;
    int rc = ss_cfg_load(cfg, argc, argv, &err);
    if (rc == 0 && ss_cfg_argc(cfg) != 1)
        rc = ss_err_set(&err, SS_ERR_INVAL, "give exactly one history file (see --help)");
    if (rc == 0)
        rc = rcsv_format_parse(ss_cfg_str(cfg, "format"), &fmt, &err);
    if (rc == 0 && *ss_cfg_str(cfg, "train.at"))
        rc = (n_train_at = parse_dates(ss_cfg_str(cfg, "train.at"), train_at, &err)) < 0;
    if (rc == 0 && *ss_cfg_str(cfg, "eval.at"))
        rc = (n_eval_at = parse_dates(ss_cfg_str(cfg, "eval.at"), eval_at, &err)) < 0;
    if (rc == 0)
        rc = read_history(ss_cfg_arg(cfg, 0), fmt, h, &err);
    if (rc != 0)
        goto out;

    char source[256];
    snprintf(source, sizeof source, "%s (%s)", ss_cfg_arg(cfg, 0), ss_cfg_str(cfg, "format"));
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    churn_run_opts_t o = {
        .plan = {.horizon_days = (int)ss_cfg_int(cfg, "horizon.days"),
                 .step_days = (int)ss_cfg_int(cfg, "step.days"),
                 .n_eval = (int)ss_cfg_int(cfg, "eval.cutoffs"),
                 .min_history_days = (int)ss_cfg_int(cfg, "min.history.days")},
        .train_cutoffs = n_train_at > 0 ? train_at : NULL,
        .n_train_cutoffs = (size_t)n_train_at,
        .eval_cutoffs = n_eval_at > 0 ? eval_at : NULL,
        .n_eval_cutoffs = (size_t)n_eval_at,
        .xgb = {.rounds = (int)ss_cfg_int(cfg, "xgb.rounds"),
                .max_depth = (int)ss_cfg_int(cfg, "xgb.max-depth"),
                .eta = ss_cfg_double(cfg, "xgb.eta"),
                .subsample = ss_cfg_double(cfg, "xgb.subsample"),
                .colsample = ss_cfg_double(cfg, "xgb.colsample"),
                .min_child_weight = ss_cfg_double(cfg, "xgb.min-child-weight"),
                .seed = (int)ss_cfg_int(cfg, "xgb.seed"),
                .nthread = (int)ss_cfg_int(cfg, "xgb.nthread"),
                .no_balance = !ss_cfg_bool(cfg, "xgb.balance")},
        .thresholds = {.high = ss_cfg_double(cfg, "risk.high"),
                       .medium = ss_cfg_double(cfg, "risk.medium")},
        .now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000,
        .version = ss_cfg_str(cfg, "version"),
        .source = source,
    };
    if (*ss_cfg_str(cfg, "eval.model")) {
        rc = eval_existing(ss_cfg_str(cfg, "eval.model"), h, &o, ss_cfg_str(cfg, "predictions"),
                           &err);
        goto out;
    }

    rc = churn_train_run(h, &o, &run, &err);
    if (rc != 0)
        goto out;
    const char *dir = ss_cfg_str(cfg, "out");
    rc = churn_model_save(run.model, dir, &err);
    if (rc != 0)
        goto out;
    churn_report_text(&run, &text);
    fputs(text.buf, stdout);
    char path[4096];
    if (*ss_cfg_str(cfg, "report"))
        snprintf(path, sizeof path, "%s", ss_cfg_str(cfg, "report"));
    else
        snprintf(path, sizeof path, "%s/report.txt", dir);
    rc = write_text(path, &text, &err);
    char title[160];
    snprintf(title, sizeof title, "churn model %s: feature importance (total gain)",
             churn_model_meta(run.model)->version);
    churn_bar_svg(title, churn_feature_names, run.importance, CHURN_N_FEATURES, &svg);
    if (*ss_cfg_str(cfg, "chart"))
        snprintf(path, sizeof path, "%s", ss_cfg_str(cfg, "chart"));
    else
        snprintf(path, sizeof path, "%s/importance.svg", dir);
    if (rc == 0)
        rc = write_text(path, &svg, &err);
    const char *prefix = ss_cfg_str(cfg, "export.sets");
    for (int k = 0; rc == 0 && *prefix && k < 2; k++) {
        ss_buf_reset(&csv);
        churn_set_csv(h, k ? &run.eval : &run.train, &csv);
        snprintf(path, sizeof path, "%s%s.csv", prefix, k ? "eval" : "train");
        rc = write_text(path, &csv, &err);
    }
    if (rc == 0 && *ss_cfg_str(cfg, "predictions"))
        rc = write_predictions(ss_cfg_str(cfg, "predictions"), h, &run.eval, run.eval_score, &err);
    if (rc == 0)
        printf("\nartifact: %s (version %s)\n", dir, churn_model_meta(run.model)->version);
out:
    if (rc != 0 && rc != SS_ERR_EXIT)
        fprintf(stderr, "streamscore-train: %s\n", err.msg);
    ss_buf_release(&csv);
    ss_buf_release(&svg);
    ss_buf_release(&text);
    churn_run_release(&run);
    churn_history_destroy(h);
    ss_cfg_destroy(cfg);
    return rc == 0 || rc == SS_ERR_EXIT ? 0 : 1;
}
