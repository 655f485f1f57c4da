/* sarima_bench: fits per second of SARIMA(1,1,1)(1,1,1,7) in match and fast mode on the golden
 * series (../shared/golden/sarima), per train length, next to statsmodels' timing.
 * Build by hand from the repository root after building build-sarima:
 *   B=build-sarima; cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Iservices/forecaster -Icommon \
 *     bench/sarima_bench.c $B/services/forecaster/libss_forecaster.a $B/common/libss_common.a \
 *     /usr/lib/x86_64-linux-gnu/liblbfgsb.a -llapack -lblas -lgfortran -lgsl -lgslcblas \
 *     -ljansson -lm -o /tmp/sarima_bench
 *   /tmp/sarima_bench [shared-dir] [seconds-per-cell]
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sarima.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "../shared";
    double budget = argc > 2 ? atof(argv[2]) : 1.0;
    /* regular series grouped by length; 11 and 13 (constant) are left out */
    const int groups[3][4] = {{1, 2, 3, 0}, {4, 5, 6, 7}, {8, 9, 10, 14}};
    const char *sm_time[3] = {"0.09-0.16 s", "0.46 s", "1.0 s"};
    sarima_order_t o = {1, 1, 1, 1, 1, 1, 7};
    ss_err_t err = SS_ERR_INIT;
    sarima_model_t *m = sarima_new(&o, &err);
    printf("%-6s %-6s %12s %12s %12s %12s %14s\n", "n", "train", "match fit/s", "match ms",
           "fast fit/s", "fast ms", "statsmodels");
    for (int gi = 0; gi < 3; gi++) {
        double *ys[4] = {0};
        size_t ntr[4] = {0}, n = 0;
        int cnt = 0;
        for (int k = 0; k < 4 && groups[gi][k]; k++) {
            char path[1024];
            snprintf(path, sizeof(path), "%s/golden/sarima/expected_%02d.json", dir, groups[gi][k]);
            json_error_t je;
            json_t *j = json_load_file(path, 0, &je);
            if (!j) {
                fprintf(stderr, "cannot load '%s': %s\n", path, je.text);
                return 1;
            }
            json_t *a = json_object_get(j, "clipped_series");
            n = json_array_size(a);
            ntr[cnt] = (size_t)json_integer_value(json_object_get(j, "n_train"));
            ys[cnt] = malloc(sizeof(double) * n);
            for (size_t i = 0; i < n; i++)
                ys[cnt][i] = json_number_value(json_array_get(a, i));
            cnt++;
            json_decref(j);
        }
        double rate[2];
        for (int mode = 0; mode < 2; mode++) {
            sarima_fit_opts_t fo = {.mode = mode == 0 ? SARIMA_MODE_MATCH : SARIMA_MODE_FAST};
            int fits = 0;
            double t0 = now();
            while (now() - t0 < budget || fits < cnt) {
                sarima_fit_result_t r;
                sarima_fit(m, ys[fits % cnt], ntr[fits % cnt], &fo, &r, &err);
                fits++;
            }
            rate[mode] = fits / (now() - t0);
        }
        printf("%-6zu %-6zu %12.1f %12.2f %12.1f %12.2f %14s\n", n, ntr[0], rate[0],
               1000.0 / rate[0], rate[1], 1000.0 / rate[1], sm_time[gi]);
        for (int k = 0; k < cnt; k++)
            free(ys[k]);
    }
    sarima_destroy(m);
    return 0;
}
