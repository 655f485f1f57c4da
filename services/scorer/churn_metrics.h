/* churn_metrics: ranking and classification metrics of churn scores against 0/1 labels, computed
 * as scikit-learn does (roc_auc_score, average_precision_score). Pure; thread-safe; depends only
 * on libc and churn_model.h (for churn_cls_report_t). */
#ifndef SS_CHURN_METRICS_H
#define SS_CHURN_METRICS_H

#include <stddef.h>

#include "churn_model.h"

/* Area under the ROC curve of score[0..n) for label[0..n) (1 = positive). Tied scores count one
 * half (trapezoid over distinct thresholds = sklearn's roc_auc_score). Returns NaN when a class
 * is absent or a score is NaN. */
double churn_roc_auc(const double *score, const int *label, size_t n);

/* Average precision = sum over distinct thresholds of (R_k - R_{k-1}) * P_k, the step-wise PR-AUC
 * of sklearn's average_precision_score (ties form one threshold). NaN without positives or with
 * a NaN score. */
double churn_pr_auc(const double *score, const int *label, size_t n);

/* Fills r for "predicted churn when score > threshold". */
void churn_cls_report(const double *score, const int *label, size_t n, double threshold,
                      churn_cls_report_t *r);

#endif
