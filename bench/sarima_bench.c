/* sarima_bench: fits per second of SARIMA(1,1,1)(1,1,1,7) in match and fast mode on the golden
 * series (../shared/golden/sarima), per train length, next to statsmodels' timing.
 * Build by hand from the repository root after building build-sarima:
 *   B=build-sarima; cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Iservices/forecaster -Icommon \
 *     bench/sarima_bench.c $B/services/forecaster/libss_forecaster.a $B/common/libss_common.a \
 *     /usr/lib/x86_64-linux-gnu/liblbfgsb.a -llapack -lblas -lgfortran -lgsl -lgslcblas \
 *     -ljansson -lm -o /tmp/sarima_bench
 *   /tmp/sarima_bench [shared-dir] [seconds-per-cell]
 * Then the warm-start rows ("warm <set> n train warm_fits/s warm_ms evals used/total worst_rel
 * cold_ms"): day d+1 = a 730-day series, day d = the same series one day earlier (golden: its
 * first 729 days; store-item: the window shifted back by one day), each clipped and split as
 * dprep_run does. Day d is fitted cold (fast mode, untimed); the timed fit is day d+1 in fast
 * mode warm-started from day d's parameters. worst_rel: the worst (llf - reference) / |reference|
 * over the set, reference = statsmodels' golden llf (golden) or our cold fast fit (store-item;
 * bench/sarima_sm.py times statsmodels on the same day d+1 series). cold_ms: cold fast fit of
 * the same day d+1 series in the same run.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "demand_prep.h"
#include "sarima.h"

#define WARM_MAX 32     /* series per warm set */
#define WARM_WINDOW 730 /* days per series (the service's history.days) */

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct warm_set {
    const char *name;
    int cnt;
    double *d0[WARM_MAX], *d1[WARM_MAX]; /* train parts of day d and day d+1 */
    size_t n0[WARM_MAX], n1[WARM_MAX];
    double ref[WARM_MAX]; /* reference llf on day d+1, NAN: our cold fast fit */
} warm_set_t;

/* clipped train part of y[0..n) as dprep_run builds it; returns new */
static double *train_part(const double *y, size_t n, size_t *ntr) {
    double *c = malloc(sizeof(double) * n);
    dprep_clip_t ci;
    memcpy(c, y, sizeof(double) * n);
    dprep_clip(c, n, &ci);
    *ntr = dprep_n_train(n);
    return c;
}

static void warm_add(warm_set_t *ws, const double *y0, size_t n0, const double *y1, size_t n1,
                     double ref) {
    if (ws->cnt >= WARM_MAX)
        return;
    ws->d0[ws->cnt] = train_part(y0, n0, &ws->n0[ws->cnt]);
    ws->d1[ws->cnt] = train_part(y1, n1, &ws->n1[ws->cnt]);
    ws->ref[ws->cnt] = ref;
    ws->cnt++;
}

/* golden 730-day series: day d+1 = the series, day d = its first 729 days */
static void warm_golden(const char *dir, warm_set_t *ws) {
    const int ids[4] = {8, 9, 10, 14};
    for (int k = 0; k < 4; k++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/golden/sarima/expected_%02d.json", dir, ids[k]);
        json_t *j = json_load_file(path, 0, NULL);
        snprintf(path, sizeof(path), "%s/golden/sarima/series_%02d.csv", dir, ids[k]);
        FILE *f = fopen(path, "r");
        double y[WARM_WINDOW + 1];
        size_t n = 0;
        char line[256];
        while (f && fgets(line, sizeof(line), f) && n <= WARM_WINDOW) {
            char *comma = strchr(line, ',');
            if (comma && line[0] >= '0' && line[0] <= '9')
                y[n++] = atof(comma + 1);
        }
        if (f)
            fclose(f);
        if (j && n == WARM_WINDOW)
            warm_add(ws, y, n - 1, y, n, json_number_value(json_object_get(j, "llf")));
        json_decref(j);
    }
}

/* store-item pairs (stores 1-10, items 1-2), day d+1 = 2017-12-31 (the file's last day) */
static void warm_storeitem(const char *dir, warm_set_t *ws) {
    char cmd[1200], line[256];
    snprintf(cmd, sizeof(cmd), "gzip -dc '%s/data/store_item_sales.csv.gz' 2>/dev/null", dir);
    FILE *f = popen(cmd, "r");
    static double s[10][2][2000];
    size_t cnt[10][2] = {{0}};
    while (f && fgets(line, sizeof(line), f)) {
        int st, it;
        double v;
        char d[16];
        if (sscanf(line, "%15[^,],%d,%d,%lf", d, &st, &it, &v) == 4 && st >= 1 && st <= 10 &&
            it >= 1 && it <= 2 && cnt[st - 1][it - 1] < 2000)
            s[st - 1][it - 1][cnt[st - 1][it - 1]++] = v;
    }
    if (f)
        pclose(f);
    for (int st = 0; st < 10; st++)
        for (int it = 0; it < 2; it++) {
            size_t n = cnt[st][it];
            if (n >= WARM_WINDOW + 1)
                warm_add(ws, s[st][it] + n - WARM_WINDOW - 1, WARM_WINDOW,
                         s[st][it] + n - WARM_WINDOW, WARM_WINDOW, NAN);
        }
}

static void warm_run(sarima_model_t *m, warm_set_t *ws, double budget) {
    sarima_fit_result_t prev[WARM_MAX], r;
    sarima_fit_opts_t cold = {.mode = SARIMA_MODE_FAST};
    double worst = HUGE_VAL;
    int used = 0;
    ss_err_t err = SS_ERR_INIT;
    if (ws->cnt == 0)
        return;
    for (int k = 0; k < ws->cnt; k++) {
        sarima_fit(m, ws->d0[k], ws->n0[k], &cold, &prev[k], &err);
        sarima_fit_opts_t wo = {.mode = SARIMA_MODE_FAST, .warm = prev[k].params};
        sarima_fit(m, ws->d1[k], ws->n1[k], &wo, &r, &err);
        double ref = ws->ref[k];
        if (isnan(ref)) {
            sarima_fit_result_t c;
            sarima_fit(m, ws->d1[k], ws->n1[k], &cold, &c, &err);
            ref = c.llf;
        }
        double rel = (r.llf - ref) / fabs(ref);
        worst = rel < worst ? rel : worst;
        used += r.warm == SARIMA_WARM_USED;
        if (getenv("SS_BENCH_VERBOSE"))
            fprintf(stderr,
                    "%s %d: %s, %d evals, rel %.2e, params %.4f %.4f %.4f %.4f -> %.4f %.4f %.4f "
                    "%.4f\n",
                    ws->name, k, sarima_warm_str(r.warm), r.fcalls, rel, prev[k].params[0],
                    prev[k].params[1], prev[k].params[2], prev[k].params[3], r.params[0],
                    r.params[1], r.params[2], r.params[3]);
    }
    double rate[2];
    long evals = 0;
    for (int mode = 0; mode < 2; mode++) {
        int fits = 0;
        double t0 = now();
        while (now() - t0 < budget || fits < ws->cnt) {
            int k = fits % ws->cnt;
            sarima_fit_opts_t wo = {.mode = SARIMA_MODE_FAST, .warm = prev[k].params};
            sarima_fit(m, ws->d1[k], ws->n1[k], mode == 0 ? &wo : &cold, &r, &err);
            if (mode == 0)
                evals += r.fcalls;
            fits++;
        }
        rate[mode] = fits / (now() - t0);
        if (mode == 0)
            evals = evals / fits;
    }
    printf("warm %s %d %zu %.1f %.3f %ld %d/%d %.2e %.3f\n", ws->name, WARM_WINDOW, ws->n1[0],
           rate[0], 1000.0 / rate[0], evals, used, ws->cnt, worst, 1000.0 / rate[1]);
    for (int k = 0; k < ws->cnt; k++) {
        free(ws->d0[k]);
        free(ws->d1[k]);
    }
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
    warm_set_t golden = {.name = "golden"}, storeitem = {.name = "storeitem"};
    warm_golden(dir, &golden);
    warm_storeitem(dir, &storeitem);
    printf("# warm: set n train fits/s ms evals/fit warm-used/fits worst-rel-llf cold-ms\n");
    warm_run(m, &golden, budget);
    warm_run(m, &storeitem, budget);
    sarima_destroy(m);
    return 0;
}
