/* churn_model: artifact load/save, batch prediction and the pure helpers (see churn_model.h). */
#include "churn_model.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xgboost/c_api.h>

#include "ss_buf.h"

#define MANIFEST_NAME "manifest.json"
#define MODEL_NAME "xgboost.json"
#define FORMAT_NAME "streamscore-churn-model"

struct churn_model {
    BoosterHandle booster; /* owned */
    churn_meta_t meta;
    int rounds; /* boosted rounds, read once after load/wrap */
};

/* ---- risk levels ---------------------------------------------------------------------------- */

int churn_thresholds_check(churn_thresholds_t *t, ss_err_t *err) {
    if (t->high == 0)
        t->high = CHURN_HIGH_DEFAULT;
    if (t->medium == 0)
        t->medium = CHURN_MEDIUM_DEFAULT;
    if (!(t->high > 0 && t->high <= 1))
        return ss_err_set(err, SS_ERR_INVAL, "thresholds: high %g must be in (0, 1]", t->high);
    if (!(t->medium > 0 && t->medium < t->high))
        return ss_err_set(err, SS_ERR_INVAL, "thresholds: medium %g must be in (0, high %g)",
                          t->medium, t->high);
    return 0;
}

churn_risk_t churn_risk_level(const churn_thresholds_t *t, double p) {
    if (p > t->high)
        return CHURN_RISK_HIGH;
    if (p > t->medium)
        return CHURN_RISK_MEDIUM;
    return CHURN_RISK_LOW; /* also NaN: every comparison above is false */
}

const char *churn_risk_name(churn_risk_t r) {
    switch (r) {
    case CHURN_RISK_HIGH:
        return "high";
    case CHURN_RISK_MEDIUM:
        return "medium";
    case CHURN_RISK_LOW:
        return "low";
    }
    return "low";
}

int churn_risk_parse(const char *s, churn_risk_t *out, ss_err_t *err) {
    static const churn_risk_t all[] = {CHURN_RISK_LOW, CHURN_RISK_MEDIUM, CHURN_RISK_HIGH};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(s, churn_risk_name(all[i])) == 0) {
            *out = all[i];
            return 0;
        }
    }
    return ss_err_set(err, SS_ERR_INVAL, "unknown risk level '%s' (low, medium, high)", s);
}

/* ---- reference distributions ---------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Quantile q of sorted v[0..n) with numpy's default linear interpolation. */
static double quantile_sorted(const double *v, size_t n, double q) {
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    if (lo + 1 >= n)
        return v[n - 1];
    return v[lo] + (pos - (double)lo) * (v[lo + 1] - v[lo]);
}

void churn_refdist_compute(churn_refdist_t *d, const double *values, size_t n) {
    memset(d, 0, sizeof *d);
    double *v = ss_xmalloc((n ? n : 1) * sizeof *v);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(values[i]))
            d->n_missing++;
        else
            v[k++] = values[i];
    }
    d->n = k;
    if (k == 0) {
        free(v);
        return;
    }
    qsort(v, k, sizeof *v, cmp_double);
    double sum = 0;
    for (size_t i = 0; i < k; i++)
        sum += v[i];
    d->mean = sum / (double)k;
    double ss = 0;
    for (size_t i = 0; i < k; i++)
        ss += (v[i] - d->mean) * (v[i] - d->mean);
    d->std = k > 1 ? sqrt(ss / (double)(k - 1)) : 0;
    d->min = v[0];
    d->max = v[k - 1];
    for (int b = 0; b <= CHURN_QBINS; b++)
        d->edges[b] = quantile_sorted(v, k, (double)b / CHURN_QBINS);
    uint64_t count[CHURN_QBINS] = {0};
    for (size_t i = 0; i < k; i++)
        count[churn_refdist_bin(d, v[i])]++;
    for (int b = 0; b < CHURN_QBINS; b++)
        d->frac[b] = (double)count[b] / (double)k;
    free(v);
}

int churn_refdist_bin(const churn_refdist_t *d, double x) {
    if (isnan(x))
        return -1;
    for (int b = 0; b < CHURN_QBINS - 1; b++) {
        if (x <= d->edges[b + 1])
            return b;
    }
    return CHURN_QBINS - 1;
}

/* ---- small helpers -------------------------------------------------------------------------- */

static uint64_t fnv1a64(const void *data, size_t n) {
    const unsigned char *p = data;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

void churn_format_time(int64_t ms, char *out, size_t size) {
    time_t s = (time_t)(ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000));
    struct tm tm;
    if (!gmtime_r(&s, &tm)) {
        snprintf(out, size, "%lld", (long long)ms);
        return;
    }
    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int xgb_fail(ss_err_t *err, const char *what) {
    return ss_err_set(err, SS_ERR_FATAL, "xgboost %s failed: %s", what, XGBGetLastError());
}

/* Reads a whole file (returns new, NUL-terminated) or NULL with err. */
static char *read_file(const char *path, size_t *len, ss_err_t *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        ss_err_set_errno(err, SS_ERR_IO, errno, "cannot open '%s'", path);
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = ss_xmalloc(cap);
    for (;;) {
        if (n + 1 >= cap) {
            cap *= 2;
            buf = ss_xrealloc(buf, cap);
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    int saved = errno;
    fclose(f);
    if (bad) {
        free(buf);
        ss_err_set_errno(err, SS_ERR_IO, saved, "cannot read '%s'", path);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Writes data to path through path.tmp and rename(2). */
static int write_file_atomic(const char *path, const void *data, size_t n, ss_err_t *err) {
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return ss_err_set(err, SS_ERR_INVAL, "path too long '%s'", path);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return ss_err_set_errno(err, SS_ERR_IO, errno, "cannot create '%s'", tmp);
    size_t put = fwrite(data, 1, n, f);
    int saved = errno;
    if (fclose(f) != 0 || put != n) {
        if (put == n)
            saved = errno;
        unlink(tmp);
        return ss_err_set_errno(err, SS_ERR_IO, saved, "cannot write '%s'", tmp);
    }
    if (rename(tmp, path) != 0) {
        saved = errno;
        unlink(tmp);
        return ss_err_set_errno(err, SS_ERR_IO, saved, "cannot rename '%s'", tmp);
    }
    return 0;
}

/* ---- JSON encoding of the manifest ---------------------------------------------------------- */

static json_t *jnum(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static double jget_num(const json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static json_t *refdist_to_json(const churn_refdist_t *d) {
    json_t *edges = json_array(), *frac = json_array();
    for (int b = 0; b <= CHURN_QBINS; b++)
        json_array_append_new(edges, jnum(d->edges[b]));
    for (int b = 0; b < CHURN_QBINS; b++)
        json_array_append_new(frac, jnum(d->frac[b]));
    return json_pack("{s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "n", (json_int_t)d->n, "n_missing",
                     (json_int_t)d->n_missing, "mean", jnum(d->mean), "std", jnum(d->std), "min",
                     jnum(d->min), "max", jnum(d->max), "edges", edges, "frac", frac);
}

static int refdist_from_json(churn_refdist_t *d, const json_t *o, const char *what, ss_err_t *err) {
    memset(d, 0, sizeof *d);
    json_t *edges = json_object_get(o, "edges"), *frac = json_object_get(o, "frac");
    if (!json_is_object(o) || json_array_size(edges) != CHURN_QBINS + 1 ||
        json_array_size(frac) != CHURN_QBINS)
        return ss_err_set(err, SS_ERR_INVAL,
                          "manifest: reference '%s' needs %d edges and %d fractions", what,
                          CHURN_QBINS + 1, CHURN_QBINS);
    d->n = (uint64_t)json_integer_value(json_object_get(o, "n"));
    d->n_missing = (uint64_t)json_integer_value(json_object_get(o, "n_missing"));
    d->mean = jget_num(o, "mean");
    d->std = jget_num(o, "std");
    d->min = jget_num(o, "min");
    d->max = jget_num(o, "max");
    for (int b = 0; b <= CHURN_QBINS; b++) {
        json_t *v = json_array_get(edges, (size_t)b);
        d->edges[b] = json_is_number(v) ? json_number_value(v) : NAN;
    }
    for (int b = 0; b < CHURN_QBINS; b++) {
        json_t *v = json_array_get(frac, (size_t)b);
        d->frac[b] = json_is_number(v) ? json_number_value(v) : NAN;
    }
    return 0;
}

static json_t *report_to_json(const churn_cls_report_t *r) {
    return json_pack("{s:o, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o}", "threshold",
                     jnum(r->threshold), "tp", (json_int_t)r->tp, "fp", (json_int_t)r->fp, "tn",
                     (json_int_t)r->tn, "fn", (json_int_t)r->fn, "precision", jnum(r->precision),
                     "recall", jnum(r->recall), "f1", jnum(r->f1), "accuracy", jnum(r->accuracy));
}

static void report_from_json(churn_cls_report_t *r, const json_t *o) {
    memset(r, 0, sizeof *r);
    r->threshold = jget_num(o, "threshold");
    r->tp = (uint64_t)json_integer_value(json_object_get(o, "tp"));
    r->fp = (uint64_t)json_integer_value(json_object_get(o, "fp"));
    r->tn = (uint64_t)json_integer_value(json_object_get(o, "tn"));
    r->fn = (uint64_t)json_integer_value(json_object_get(o, "fn"));
    r->precision = jget_num(o, "precision");
    r->recall = jget_num(o, "recall");
    r->f1 = jget_num(o, "f1");
    r->accuracy = jget_num(o, "accuracy");
}

static json_t *metrics_to_json(const churn_metrics_t *m) {
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:o, s:o, s:o, s:o, s:o}", "roc_auc",
                     jnum(m->roc_auc), "pr_auc", jnum(m->pr_auc), "baseline_roc_auc",
                     jnum(m->base_roc_auc), "baseline_pr_auc", jnum(m->base_pr_auc), "rule_roc_auc",
                     jnum(m->rule_roc_auc), "rule_pr_auc", jnum(m->rule_pr_auc), "n_train",
                     (json_int_t)m->n_train, "n_eval", (json_int_t)m->n_eval, "train_pos_rate",
                     jnum(m->train_pos_rate), "eval_pos_rate", jnum(m->eval_pos_rate),
                     "scale_pos_weight", jnum(m->scale_pos_weight), "at_high",
                     report_to_json(&m->at_high), "at_medium", report_to_json(&m->at_medium));
}

static void metrics_from_json(churn_metrics_t *m, const json_t *o) {
    m->roc_auc = jget_num(o, "roc_auc");
    m->pr_auc = jget_num(o, "pr_auc");
    m->base_roc_auc = jget_num(o, "baseline_roc_auc");
    m->base_pr_auc = jget_num(o, "baseline_pr_auc");
    m->rule_roc_auc = jget_num(o, "rule_roc_auc");
    m->rule_pr_auc = jget_num(o, "rule_pr_auc");
    m->n_train = (uint64_t)json_integer_value(json_object_get(o, "n_train"));
    m->n_eval = (uint64_t)json_integer_value(json_object_get(o, "n_eval"));
    m->train_pos_rate = jget_num(o, "train_pos_rate");
    m->eval_pos_rate = jget_num(o, "eval_pos_rate");
    m->scale_pos_weight = jget_num(o, "scale_pos_weight");
    report_from_json(&m->at_high, json_object_get(o, "at_high"));
    report_from_json(&m->at_medium, json_object_get(o, "at_medium"));
}

static json_t *cutoffs_to_json(const int64_t *ms, size_t n, int iso) {
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        if (iso) {
            char buf[32];
            churn_format_time(ms[i], buf, sizeof buf);
            json_array_append_new(a, json_string(buf));
        } else {
            json_array_append_new(a, json_integer((json_int_t)ms[i]));
        }
    }
    return a;
}

static size_t cutoffs_from_json(int64_t *ms, const json_t *a) {
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(a) && n < CHURN_MAX_CUTOFFS; i++) {
        json_t *v = json_array_get(a, i);
        if (json_is_integer(v))
            ms[n++] = (int64_t)json_integer_value(v);
    }
    return n;
}

static json_t *manifest_to_json(const churn_meta_t *meta, uint64_t model_hash) {
    json_t *features = json_array();
    for (size_t i = 0; i < meta->n_features; i++)
        json_array_append_new(features, json_string(meta->features[i]));
    char hash[17];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)model_hash);
    json_t *root = json_pack(
        "{s:s, s:i, s:s, s:s, s:o, s:{s:o, s:o}, s:s, s:s}", "format", FORMAT_NAME,
        "format_version", CHURN_FORMAT_VERSION, "version", meta->version, "trained_at",
        meta->trained_at, "features", features, "thresholds", "high", jnum(meta->thresholds.high),
        "medium", jnum(meta->thresholds.medium), "model_file", MODEL_NAME, "model_fnv1a64", hash);
    if (meta->has_metrics)
        json_object_set_new(root, "metrics", metrics_to_json(&meta->metrics));
    const churn_training_info_t *t = &meta->training;
    json_object_set_new(
        root, "training",
        json_pack("{s:i, s:o, s:o, s:o, s:o, s:s, s:s}", "horizon_days", t->horizon_days,
                  "train_cutoffs", cutoffs_to_json(t->train_cutoffs_ms, t->n_train_cutoffs, 1),
                  "eval_cutoffs", cutoffs_to_json(t->eval_cutoffs_ms, t->n_eval_cutoffs, 1),
                  "train_cutoffs_ms", cutoffs_to_json(t->train_cutoffs_ms, t->n_train_cutoffs, 0),
                  "eval_cutoffs_ms", cutoffs_to_json(t->eval_cutoffs_ms, t->n_eval_cutoffs, 0),
                  "source", t->source, "params", t->params));
    if (meta->has_reference) {
        json_t *fr = json_object();
        for (size_t i = 0; i < meta->n_features; i++)
            json_object_set_new(fr, meta->features[i], refdist_to_json(&meta->feature_ref[i]));
        json_object_set_new(
            root, "reference",
            json_pack("{s:o, s:o}", "features", fr, "score", refdist_to_json(&meta->score_ref)));
    }
    return root;
}

static int copy_str(char *dst, size_t size, const json_t *v, const char *what, ss_err_t *err) {
    if (!json_is_string(v))
        return ss_err_set(err, SS_ERR_INVAL, "manifest: '%s' must be a string", what);
    if (json_string_length(v) >= size)
        return ss_err_set(err, SS_ERR_INVAL, "manifest: '%s' longer than %zu bytes", what,
                          size - 1);
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int manifest_from_json(churn_meta_t *meta, const json_t *root, ss_err_t *err) {
    json_t *fmt = json_object_get(root, "format");
    if (!json_is_string(fmt) || strcmp(json_string_value(fmt), FORMAT_NAME) != 0)
        return ss_err_set(err, SS_ERR_INVAL, "manifest: format is not '%s'", FORMAT_NAME);
    json_int_t fv = json_integer_value(json_object_get(root, "format_version"));
    if (fv != CHURN_FORMAT_VERSION)
        return ss_err_set(err, SS_ERR_INVAL, "manifest: format_version %lld unsupported (want %d)",
                          (long long)fv, CHURN_FORMAT_VERSION);
    int rc = copy_str(meta->version, sizeof meta->version, json_object_get(root, "version"),
                      "version", err);
    if (rc == 0 && json_object_get(root, "trained_at"))
        rc = copy_str(meta->trained_at, sizeof meta->trained_at,
                      json_object_get(root, "trained_at"), "trained_at", err);
    if (rc)
        return rc;
    if (meta->version[0] == '\0')
        return ss_err_set(err, SS_ERR_INVAL, "manifest: empty version");
    json_t *features = json_object_get(root, "features");
    size_t nf = json_array_size(features);
    if (nf == 0 || nf > CHURN_MAX_FEATURES)
        return ss_err_set(err, SS_ERR_INVAL, "manifest: 'features' must list 1..%d names",
                          CHURN_MAX_FEATURES);
    meta->n_features = nf;
    for (size_t i = 0; i < nf; i++) {
        rc = copy_str(meta->features[i], CHURN_NAME_MAX, json_array_get(features, i), "features",
                      err);
        if (rc)
            return rc;
    }
    json_t *th = json_object_get(root, "thresholds");
    meta->thresholds.high = json_is_object(th) ? jget_num(th, "high") : 0;
    meta->thresholds.medium = json_is_object(th) ? jget_num(th, "medium") : 0;
    if (isnan(meta->thresholds.high) || isnan(meta->thresholds.medium))
        return ss_err_set(err, SS_ERR_INVAL, "manifest: thresholds must be numbers");
    rc = churn_thresholds_check(&meta->thresholds, err);
    if (rc)
        return rc;
    json_t *metrics = json_object_get(root, "metrics");
    if (json_is_object(metrics)) {
        meta->has_metrics = 1;
        metrics_from_json(&meta->metrics, metrics);
    }
    json_t *tr = json_object_get(root, "training");
    if (json_is_object(tr)) {
        churn_training_info_t *t = &meta->training;
        t->horizon_days = (int)json_integer_value(json_object_get(tr, "horizon_days"));
        t->n_train_cutoffs =
            cutoffs_from_json(t->train_cutoffs_ms, json_object_get(tr, "train_cutoffs_ms"));
        t->n_eval_cutoffs =
            cutoffs_from_json(t->eval_cutoffs_ms, json_object_get(tr, "eval_cutoffs_ms"));
        json_t *s = json_object_get(tr, "source");
        if (json_is_string(s))
            snprintf(t->source, sizeof t->source, "%s", json_string_value(s));
        s = json_object_get(tr, "params");
        if (json_is_string(s))
            snprintf(t->params, sizeof t->params, "%s", json_string_value(s));
    }
    json_t *ref = json_object_get(root, "reference");
    if (json_is_object(ref)) {
        json_t *fr = json_object_get(ref, "features");
        for (size_t i = 0; i < nf; i++) {
            rc = refdist_from_json(&meta->feature_ref[i], json_object_get(fr, meta->features[i]),
                                   meta->features[i], err);
            if (rc)
                return rc;
        }
        rc = refdist_from_json(&meta->score_ref, json_object_get(ref, "score"), "score", err);
        if (rc)
            return rc;
        meta->has_reference = 1;
    }
    return 0;
}

/* ---- booster handling ----------------------------------------------------------------------- */

/* Checks the booster is a binary:logistic model with n features and, when it carries names,
 * the same names; reads the round count. */
static int check_booster(churn_model_t *m, ss_err_t *err) {
    bst_ulong nfeat = 0;
    if (XGBoosterGetNumFeature(m->booster, &nfeat) != 0)
        return xgb_fail(err, "GetNumFeature");
    if (nfeat != m->meta.n_features)
        return ss_err_set(err, SS_ERR_INVAL, "model has %llu features, manifest lists %zu",
                          (unsigned long long)nfeat, m->meta.n_features);
    bst_ulong len = 0;
    const char **names = NULL;
    if (XGBoosterGetStrFeatureInfo(m->booster, "feature_name", &len, &names) != 0)
        return xgb_fail(err, "GetStrFeatureInfo");
    for (bst_ulong i = 0; i < len && i < nfeat; i++) {
        if (strcmp(names[i], m->meta.features[i]) != 0)
            return ss_err_set(err, SS_ERR_INVAL,
                              "feature %llu is '%s' in the model but '%s' in the manifest",
                              (unsigned long long)i, names[i], m->meta.features[i]);
    }
    bst_ulong cfg_len = 0;
    const char *cfg = NULL;
    if (XGBoosterSaveJsonConfig(m->booster, &cfg_len, &cfg) != 0)
        return xgb_fail(err, "SaveJsonConfig");
    json_t *root = json_loadb(cfg, cfg_len, 0, NULL);
    const char *obj = json_string_value(
        json_object_get(json_object_get(json_object_get(root, "learner"), "objective"), "name"));
    int ok = obj && strcmp(obj, "binary:logistic") == 0;
    if (!ok)
        ss_err_set(err, SS_ERR_INVAL, "model objective is '%s', want 'binary:logistic'",
                   obj ? obj : "?");
    json_decref(root);
    if (!ok)
        return SS_ERR_INVAL;
    int rounds = 0;
    if (XGBoosterBoostedRounds(m->booster, &rounds) != 0)
        return xgb_fail(err, "BoostedRounds");
    m->rounds = rounds;
    return 0;
}

static churn_model_t *model_alloc(void) {
    churn_model_t *m = ss_xcalloc(1, sizeof *m);
    return m;
}

void churn_model_destroy(churn_model_t *m) {
    if (!m)
        return;
    if (m->booster)
        XGBoosterFree(m->booster);
    free(m);
}

/* Loads a bare XGBoost JSON model whose bytes are buf[0..len). */
static churn_model_t *load_bare(const char *path, const char *buf, size_t len, ss_err_t *err) {
    churn_model_t *m = model_alloc();
    if (XGBoosterCreate(NULL, 0, &m->booster) != 0) {
        xgb_fail(err, "BoosterCreate");
        goto fail;
    }
    if (XGBoosterLoadModel(m->booster, path) != 0) {
        ss_err_set(err, SS_ERR_INVAL, "cannot load xgboost model '%s': %s", path,
                   XGBGetLastError());
        goto fail;
    }
    bst_ulong nfeat = 0, nnames = 0;
    const char **names = NULL;
    if (XGBoosterGetNumFeature(m->booster, &nfeat) != 0 ||
        XGBoosterGetStrFeatureInfo(m->booster, "feature_name", &nnames, &names) != 0) {
        xgb_fail(err, "feature info");
        goto fail;
    }
    if (nfeat == 0 || nfeat > CHURN_MAX_FEATURES) {
        ss_err_set(err, SS_ERR_INVAL, "model '%s' has %llu features (1..%d supported)", path,
                   (unsigned long long)nfeat, CHURN_MAX_FEATURES);
        goto fail;
    }
    m->meta.n_features = nfeat;
    for (bst_ulong i = 0; i < nfeat; i++) {
        if (i < nnames)
            snprintf(m->meta.features[i], CHURN_NAME_MAX, "%s", names[i]);
        else
            snprintf(m->meta.features[i], CHURN_NAME_MAX, "f%llu", (unsigned long long)i);
    }
    snprintf(m->meta.version, sizeof m->meta.version, "xgb-%08llx",
             (unsigned long long)(fnv1a64(buf, len) >> 32));
    churn_thresholds_check(&m->meta.thresholds, NULL);
    m->meta.training.horizon_days = 90;
    if (check_booster(m, err) != 0)
        goto fail;
    return m;
fail:
    churn_model_destroy(m);
    return NULL;
}

churn_model_t *churn_model_load(const char *path, ss_err_t *err) {
    char manifest_path[4096], dir[4096];
    struct stat st;
    if (stat(path, &st) != 0) {
        ss_err_set_errno(err, SS_ERR_IO, errno, "cannot open model '%s'", path);
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(dir, sizeof dir, "%s", path);
        snprintf(manifest_path, sizeof manifest_path, "%s/" MANIFEST_NAME, path);
    } else {
        snprintf(manifest_path, sizeof manifest_path, "%s", path);
        const char *slash = strrchr(path, '/');
        if (slash)
            snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
        else
            snprintf(dir, sizeof dir, ".");
    }
    size_t len = 0;
    char *text = read_file(manifest_path, &len, err);
    if (!text)
        return NULL;
    churn_model_t *m = NULL;
    char *model_bytes = NULL;
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    if (!root) {
        ss_err_set(err, SS_ERR_INVAL, "%s:%d: %s", manifest_path, jerr.line, jerr.text);
        goto out;
    }
    if (json_object_get(root, "learner")) {
        m = load_bare(manifest_path, text, len, err);
        goto out;
    }
    m = model_alloc();
    if (manifest_from_json(&m->meta, root, err) != 0)
        goto fail;
    const char *model_file = json_string_value(json_object_get(root, "model_file"));
    if (!model_file || !*model_file || strchr(model_file, '/')) {
        ss_err_set(err, SS_ERR_INVAL, "manifest '%s': model_file must be a plain file name",
                   manifest_path);
        goto fail;
    }
    char model_path[4096 + 256];
    snprintf(model_path, sizeof model_path, "%s/%s", dir, model_file);
    size_t mlen = 0;
    model_bytes = read_file(model_path, &mlen, err);
    if (!model_bytes)
        goto fail;
    const char *want = json_string_value(json_object_get(root, "model_fnv1a64"));
    if (want) {
        char got[17];
        snprintf(got, sizeof got, "%016llx", (unsigned long long)fnv1a64(model_bytes, mlen));
        if (strcmp(want, got) != 0) {
            ss_err_set(err, SS_ERR_INVAL,
                       "model file '%s' hash %s does not match manifest %s (being replaced?)",
                       model_path, got, want);
            goto fail;
        }
    }
    if (XGBoosterCreate(NULL, 0, &m->booster) != 0) {
        xgb_fail(err, "BoosterCreate");
        goto fail;
    }
    if (XGBoosterLoadModel(m->booster, model_path) != 0) {
        ss_err_set(err, SS_ERR_INVAL, "cannot load xgboost model '%s': %s", model_path,
                   XGBGetLastError());
        goto fail;
    }
    if (check_booster(m, err) != 0)
        goto fail;
    goto out;
fail:
    churn_model_destroy(m);
    m = NULL;
out:
    json_decref(root);
    free(text);
    free(model_bytes);
    return m;
}

int churn_model_save(const churn_model_t *m, const char *dir, ss_err_t *err) {
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return ss_err_set_errno(err, SS_ERR_IO, errno, "cannot create directory '%s'", dir);
    bst_ulong len = 0;
    const char *bytes = NULL;
    if (XGBoosterSaveModelToBuffer(m->booster, "{\"format\": \"json\"}", &len, &bytes) != 0)
        return xgb_fail(err, "SaveModelToBuffer");
    uint64_t hash = fnv1a64(bytes, len);
    char path[4096];
    snprintf(path, sizeof path, "%s/" MODEL_NAME, dir);
    int rc = write_file_atomic(path, bytes, len, err);
    if (rc)
        return rc;
    json_t *root = manifest_to_json(&m->meta, hash);
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(root);
    if (!text)
        return ss_err_set(err, SS_ERR_FATAL, "cannot encode manifest for '%s'", dir);
    snprintf(path, sizeof path, "%s/" MANIFEST_NAME, dir);
    ss_buf_t b = SS_BUF_INIT;
    ss_buf_adds(&b, text);
    ss_buf_addch(&b, '\n');
    free(text);
    rc = write_file_atomic(path, b.buf, b.len, err);
    ss_buf_release(&b);
    return rc;
}

const churn_meta_t *churn_model_meta(const churn_model_t *m) { return &m->meta; }
churn_meta_t *churn_model_meta_mut(churn_model_t *m) { return &m->meta; }
int churn_model_rounds(const churn_model_t *m) { return m->rounds; }

int churn_model_predict(churn_model_t *m, const float *rows, size_t n, double *out, ss_err_t *err) {
    if (n == 0)
        return 0;
    char values[256];
    snprintf(values, sizeof values,
             "{\"data\": [%llu, true], \"shape\": [%zu, %zu], \"typestr\": \"<f4\", "
             "\"version\": 3}",
             (unsigned long long)(uintptr_t)rows, n, m->meta.n_features);
    /* libxgboost 1.7 reads cache_id unconditionally in inplace prediction. */
    static const char config[] = "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, "
                                 "\"iteration_end\": 0, \"strict_shape\": false, "
                                 "\"missing\": NaN, \"cache_id\": 0}";
    const bst_ulong *shape = NULL;
    bst_ulong dim = 0;
    const float *res = NULL;
    if (XGBoosterPredictFromDense(m->booster, values, config, NULL, &shape, &dim, &res) != 0)
        return xgb_fail(err, "PredictFromDense");
    bst_ulong total = 1;
    for (bst_ulong i = 0; i < dim; i++)
        total *= shape[i];
    if (total != n)
        return ss_err_set(err, SS_ERR_FATAL, "xgboost returned %llu predictions for %zu rows",
                          (unsigned long long)total, n);
    for (size_t i = 0; i < n; i++)
        out[i] = res[i];
    return 0;
}

int churn_model_set_threads(churn_model_t *m, int nthread, ss_err_t *err) {
    char v[16];
    snprintf(v, sizeof v, "%d", nthread);
    if (XGBoosterSetParam(m->booster, "nthread", v) != 0)
        return xgb_fail(err, "SetParam(nthread)");
    return 0;
}

int churn_model_importance(churn_model_t *m, double *gain, ss_err_t *err) {
    for (size_t i = 0; i < m->meta.n_features; i++)
        gain[i] = 0;
    bst_ulong nout = 0, dim = 0;
    const char **names = NULL;
    const bst_ulong *shape = NULL;
    const float *scores = NULL;
    if (XGBoosterFeatureScore(m->booster, "{\"importance_type\": \"total_gain\"}", &nout, &names,
                              &dim, &shape, &scores) != 0)
        return xgb_fail(err, "FeatureScore");
    for (bst_ulong j = 0; j < nout; j++) {
        for (size_t i = 0; i < m->meta.n_features; i++) {
            if (strcmp(names[j], m->meta.features[i]) == 0)
                gain[i] = scores[j];
        }
    }
    return 0;
}

churn_model_t *churn_model_wrap(void *booster, const char *const *names, size_t n_features,
                                ss_err_t *err) {
    if (n_features == 0 || n_features > CHURN_MAX_FEATURES) {
        ss_err_set(err, SS_ERR_INVAL, "%zu features (1..%d supported)", n_features,
                   CHURN_MAX_FEATURES);
        return NULL;
    }
    churn_model_t *m = model_alloc();
    m->booster = booster;
    m->meta.n_features = n_features;
    for (size_t i = 0; i < n_features; i++) {
        if (strlen(names[i]) >= CHURN_NAME_MAX || !names[i][0]) {
            ss_err_set(err, SS_ERR_INVAL, "bad feature name '%s'", names[i]);
            goto fail;
        }
        snprintf(m->meta.features[i], CHURN_NAME_MAX, "%s", names[i]);
    }
    const char *copy[CHURN_MAX_FEATURES]; /* the C API takes char ** without const */
    for (size_t i = 0; i < n_features; i++)
        copy[i] = m->meta.features[i];
    if (XGBoosterSetStrFeatureInfo(m->booster, "feature_name", copy, n_features) != 0) {
        xgb_fail(err, "SetStrFeatureInfo");
        goto fail;
    }
    churn_thresholds_check(&m->meta.thresholds, NULL);
    if (check_booster(m, err) != 0)
        goto fail;
    return m;
fail:
    churn_model_destroy(m);
    return NULL;
}

int churn_model_make_version(const churn_model_t *m, int64_t now_ms, char *out, size_t size,
                             ss_err_t *err) {
    bst_ulong len = 0;
    const char *bytes = NULL;
    if (XGBoosterSaveModelToBuffer(m->booster, "{\"format\": \"json\"}", &len, &bytes) != 0)
        return xgb_fail(err, "SaveModelToBuffer");
    uint64_t hash = fnv1a64(bytes, len);
    time_t s = (time_t)(now_ms / 1000);
    struct tm tm;
    char stamp[32] = "00000000T000000Z";
    if (gmtime_r(&s, &tm))
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(out, size, "%s-%08llx", stamp, (unsigned long long)(hash >> 32));
    return 0;
}
