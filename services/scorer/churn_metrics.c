/* churn_metrics: ROC-AUC, average precision and threshold reports (see churn_metrics.h). */
#include "churn_metrics.h"

#include <math.h>
#include <stdlib.h>

#include "ss_err.h"

typedef struct scored {
    double s;
    int y;
} scored_t;

static int cmp_desc(const void *a, const void *b) {
    double x = ((const scored_t *)a)->s, y = ((const scored_t *)b)->s;
    return (x < y) - (x > y);
}

/* Returns new: pairs sorted by descending score, or NULL if a score is NaN or n is 0. */
static scored_t *sorted_pairs(const double *score, const int *label, size_t n) {
    if (n == 0)
        return NULL;
    scored_t *p = ss_xmalloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) {
        if (isnan(score[i])) {
            free(p);
            return NULL;
        }
        p[i].s = score[i];
        p[i].y = label[i] ? 1 : 0;
    }
    qsort(p, n, sizeof *p, cmp_desc);
    return p;
}

double churn_roc_auc(const double *score, const int *label, size_t n) {
    scored_t *p = sorted_pairs(score, label, n);
    if (!p)
        return NAN;
    double pos = 0, neg = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i].y)
            pos++;
        else
            neg++;
    }
    if (pos == 0 || neg == 0) {
        free(p);
        return NAN;
    }
    /* Walk distinct thresholds from the top; each tie group adds a trapezoid. */
    double tp = 0, fp = 0, area = 0;
    for (size_t i = 0; i < n;) {
        double gtp = 0, gfp = 0;
        size_t j = i;
        for (; j < n && p[j].s == p[i].s; j++) {
            if (p[j].y)
                gtp++;
            else
                gfp++;
        }
        area += gfp * (tp + gtp / 2);
        tp += gtp;
        fp += gfp;
        i = j;
    }
    free(p);
    return area / (pos * neg);
}

double churn_pr_auc(const double *score, const int *label, size_t n) {
    scored_t *p = sorted_pairs(score, label, n);
    if (!p)
        return NAN;
    double pos = 0;
    for (size_t i = 0; i < n; i++)
        pos += p[i].y;
    if (pos == 0) {
        free(p);
        return NAN;
    }
    double tp = 0, seen = 0, prev_recall = 0, ap = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        for (; j < n && p[j].s == p[i].s; j++) {
            tp += p[j].y;
            seen++;
        }
        double recall = tp / pos, precision = tp / seen;
        ap += (recall - prev_recall) * precision;
        prev_recall = recall;
        i = j;
    }
    free(p);
    return ap;
}

void churn_cls_report(const double *score, const int *label, size_t n, double threshold,
                      churn_cls_report_t *r) {
    *r = (churn_cls_report_t){.threshold = threshold};
    for (size_t i = 0; i < n; i++) {
        int pred = score[i] > threshold;
        int y = label[i] ? 1 : 0;
        if (pred && y)
            r->tp++;
        else if (pred)
            r->fp++;
        else if (y)
            r->fn++;
        else
            r->tn++;
    }
    r->precision = r->tp + r->fp ? (double)r->tp / (double)(r->tp + r->fp) : 0;
    r->recall = r->tp + r->fn ? (double)r->tp / (double)(r->tp + r->fn) : 0;
    r->f1 = r->precision + r->recall > 0 ? 2 * r->precision * r->recall / (r->precision + r->recall)
                                         : 0;
    r->accuracy = n ? (double)(r->tp + r->tn) / (double)n : 0;
}
