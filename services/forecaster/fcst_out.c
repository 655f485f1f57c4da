/* fcst_out: DemandForecast encoding. */
#include "fcst_out.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const param_names[] = {"ar.L1", "ma.L1", "ar.S.L7", "ma.S.L7", "sigma2"};

const char *fcst_out_model(const dprep_result_t *r) {
    return r->fallback ? FCST_MODEL_MA7 : FCST_MODEL_SARIMA;
}

int fcst_out_key(char *out, size_t size, const char *store, const char *product) {
    return snprintf(out, size, "%s%c%s", store, FCST_KEY_SEP, product);
}

static int set_opt_double(avro_value_t *v, const char *field, double x, ss_err_t *err) {
    return isfinite(x) ? ss_avro_set_double(v, field, x, err) : ss_avro_set_null(v, field, err);
}

int fcst_out_encode(ss_avro_writer_t *w, const char *store, const char *product, int64_t day,
                    const dprep_result_t *r, ss_buf_t *out, ss_err_t *err) {
    avro_value_t *v = ss_avro_writer_value(w);
    avro_value_t pt, map, elem;
    int rc = 0;

    if (day < -(INT64_C(1) << 31) || day + r->horizon >= (INT64_C(1) << 31))
        return ss_err_set(err, SS_ERR_INVAL, "day %lld out of the Avro date range", (long long)day);
    if ((rc = ss_avro_set_str(v, "store_id", store, err)) < 0 ||
        (rc = ss_avro_set_str(v, "product_id", product, err)) < 0 ||
        (rc = ss_avro_set_int(v, "generated_for_day", (int32_t)day, err)) < 0 ||
        (rc = ss_avro_set_str(v, "model", fcst_out_model(r), err)) < 0 ||
        (rc = ss_avro_set_str(v, "fallback_reason", r->fallback ? r->reason : NULL, err)) < 0 ||
        (rc = ss_avro_set_double(v, "interval_level", 0.95, err)) < 0 ||
        (rc = set_opt_double(v, "holdout_mae", r->test_mae, err)) < 0 ||
        (rc = set_opt_double(v, "holdout_rmse", r->test_rmse, err)) < 0)
        return rc;
    for (int i = 0; i < r->horizon; i++) {
        if ((rc = ss_avro_append(v, "horizon", &pt, err)) < 0 ||
            (rc = ss_avro_set_int(&pt, "day", (int32_t)(day + 1 + i), err)) < 0 ||
            (rc = ss_avro_set_double(&pt, "mean", r->mean[i], err)) < 0 ||
            (rc = ss_avro_set_double(&pt, "lower", r->lower[i], err)) < 0 ||
            (rc = ss_avro_set_double(&pt, "upper", r->upper[i], err)) < 0)
            return rc;
    }
    if (r->fallback || !isfinite(r->fit.llf)) {
        /* params stays the empty map the writer reset it to */
        if ((rc = ss_avro_set_null(v, "llf", err)) < 0)
            return rc;
        return ss_avro_writer_encode(w, out, err);
    }
    if ((rc = ss_avro_set_double(v, "llf", r->fit.llf, err)) < 0 ||
        (rc = ss_avro_field(v, "params", &map, err)) < 0)
        return rc;
    for (int i = 0; i < r->fit.n_params && i < (int)(sizeof(param_names) / sizeof(*param_names));
         i++) {
        if (avro_value_add(&map, param_names[i], &elem, NULL, NULL) != 0 ||
            avro_value_set_double(&elem, r->fit.params[i]) != 0)
            return ss_err_set(err, SS_ERR_INVAL, "cannot set params['%s']: %s", param_names[i],
                              avro_strerror());
    }
    return ss_avro_writer_encode(w, out, err);
}
