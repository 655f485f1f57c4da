/* churn_features: RFM features -> model row (see churn_features.h). */
#include "churn_features.h"

#include <math.h>
#include <string.h>

const char *const churn_feature_names[CHURN_N_FEATURES] = {
    "recency_days",       "frequency",         "total_spent",
    "avg_order",          "order_std",         "days_since_first_order",
    "purchase_frequency", "recent_orders_30d", "return_count",
    "return_amount",
};

void churn_row_from_rfm(const rfm_features_t *f, float *row) {
    row[0] = f->has_purchase ? (float)f->recency_days : NAN;
    row[1] = (float)f->frequency;
    row[2] = (float)f->total_spent;
    row[3] = (float)f->avg_order;
    row[4] = (float)f->order_std;
    row[5] = f->has_purchase ? (float)f->days_since_first_order : NAN;
    row[6] = (float)f->purchase_frequency;
    row[7] = (float)f->recent_orders_30d;
    row[8] = (float)f->return_count;
    row[9] = (float)f->return_amount;
}

int churn_feature_index(const char *name) {
    for (int i = 0; i < CHURN_N_FEATURES; i++) {
        if (strcmp(churn_feature_names[i], name) == 0)
            return i;
    }
    return -1;
}
