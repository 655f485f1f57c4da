/* churn_features: the model's feature vector, in the one column order shared by training and
 * scoring, built from the feature service's RFM definitions (services/features/rfm.h).
 * Pure; thread-safe. */
#ifndef SS_CHURN_FEATURES_H
#define SS_CHURN_FEATURES_H

#include <stddef.h>

#include "rfm.h"

#define CHURN_N_FEATURES 10

/* Column names in order (static): recency_days, frequency, total_spent, avg_order, order_std,
 * days_since_first_order, purchase_frequency, recent_orders_30d, return_count, return_amount. */
extern const char *const churn_feature_names[CHURN_N_FEATURES];

/* Writes the CHURN_N_FEATURES columns of f into row. A customer without purchases
 * (has_purchase 0) gets NaN (missing) recency_days and days_since_first_order. */
void churn_row_from_rfm(const rfm_features_t *f, float *row);

/* Returns the column of name, or -1. */
int churn_feature_index(const char *name);

#endif
