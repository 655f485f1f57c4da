/* rfm: feature state and formulas (pure). Keep the arithmetic in step with features.lua: the
 * integration test compares Redis state with this model bit for bit. */
#include "rfm.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void rfm_state_release(rfm_state_t *st) {
    free(st->win);
    memset(st, 0, sizeof(*st));
}

int64_t rfm_floor_days(int64_t ms) {
    int64_t q = ms / RFM_DAY_MS;
    if (ms % RFM_DAY_MS != 0 && ms < 0)
        q--;
    return q;
}

void rfm_agg_purchase(rfm_agg_t *a, int64_t t_ms, double amount) {
    /* Kahan summation: the batch reference (pandas) sums with compensation too. */
    double y = amount - a->sum_c;
    double t = a->sum + y;
    a->sum_c = (t - a->sum) - y;
    a->sum = t;
    /* Welford: stable variance whatever the magnitude of the amounts. */
    a->n++;
    double d = amount - a->mean;
    a->mean += d / (double)a->n;
    a->m2 += d * (amount - a->mean);
    if (a->n == 1 || t_ms < a->first_ms)
        a->first_ms = t_ms;
    if (a->n == 1 || t_ms > a->last_ms)
        a->last_ms = t_ms;
}

void rfm_agg_return(rfm_agg_t *a, double amount) {
    a->ret_n++;
    a->ret_amount += amount;
}

static void window_insert(rfm_state_t *st, int64_t t) {
    if (st->n_win == st->cap_win) {
        st->cap_win = st->cap_win ? st->cap_win * 2 : 8;
        st->win = ss_xrealloc(st->win, st->cap_win * sizeof(*st->win));
    }
    size_t i = st->n_win;
    while (i > 0 && st->win[i - 1] > t) {
        st->win[i] = st->win[i - 1];
        i--;
    }
    st->win[i] = t;
    st->n_win++;
}

void rfm_window_add(rfm_state_t *st, int64_t t_ms) {
    /* Called after rfm_agg_purchase, so last_ms already includes t_ms. */
    int64_t lo = st->agg.last_ms - RFM_WINDOW_MS;
    if (t_ms >= lo)
        window_insert(st, t_ms);
    size_t k = 0;
    while (k < st->n_win && st->win[k] < lo)
        k++;
    if (k > 0) {
        memmove(st->win, st->win + k, (st->n_win - k) * sizeof(*st->win));
        st->n_win -= k;
    }
}

void rfm_apply_purchase(rfm_state_t *st, int64_t t_ms, double amount) {
    rfm_agg_purchase(&st->agg, t_ms, amount);
    rfm_window_add(st, t_ms);
}

void rfm_apply_return(rfm_state_t *st, int64_t t_ms, double amount) {
    (void)t_ms; /* returns carry no time-based feature */
    rfm_agg_return(&st->agg, amount);
}

int64_t rfm_window_count(const int64_t *win, size_t n, int64_t as_of_ms) {
    int64_t lo = as_of_ms - RFM_WINDOW_MS, c = 0;
    for (size_t i = 0; i < n; i++)
        if (win[i] >= lo && win[i] <= as_of_ms)
            c++;
    return c;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void put_le(unsigned char *p, uint64_t x, int n) {
    for (int i = 0; i < n; i++)
        p[i] = (unsigned char)(x >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int n) {
    uint64_t x = 0;
    for (int i = 0; i < n; i++)
        x |= (uint64_t)p[i] << (8 * i);
    return x;
}

static void put_dbl(unsigned char *p, double d) {
    uint64_t x;
    memcpy(&x, &d, 8);
    put_le(p, x, 8);
}

static double get_dbl(const unsigned char *p) {
    uint64_t x = get_le(p, 8);
    double d;
    memcpy(&d, &x, 8);
    return d;
}

void rfm_agg_encode(const rfm_agg_t *a, unsigned char out[RFM_ST_BYTES]) {
    put_le(out, (uint64_t)(uint32_t)(int32_t)a->n, 4);
    put_dbl(out + 4, a->sum);
    put_dbl(out + 12, a->sum_c);
    put_dbl(out + 20, a->mean);
    put_dbl(out + 28, a->m2);
    put_le(out + 36, (uint64_t)a->first_ms, 8);
    put_le(out + 44, (uint64_t)a->last_ms, 8);
    put_le(out + 52, (uint64_t)(uint32_t)(int32_t)a->ret_n, 4);
    put_dbl(out + 56, a->ret_amount);
}

int rfm_agg_decode(const void *p, size_t n, rfm_agg_t *a, ss_err_t *err) {
    const unsigned char *b = p;
    if (n != RFM_ST_BYTES)
        return ss_err_set(err, SS_ERR_INVAL, "customer state of %zu bytes, expected %d", n,
                          RFM_ST_BYTES);
    a->n = (int32_t)(uint32_t)get_le(b, 4);
    a->sum = get_dbl(b + 4);
    a->sum_c = get_dbl(b + 12);
    a->mean = get_dbl(b + 20);
    a->m2 = get_dbl(b + 28);
    a->first_ms = (int64_t)get_le(b + 36, 8);
    a->last_ms = (int64_t)get_le(b + 44, 8);
    a->ret_n = (int32_t)(uint32_t)get_le(b + 52, 4);
    a->ret_amount = get_dbl(b + 56);
    return 0;
}

int rfm_window_decode(const void *p, size_t n, int64_t **out, size_t *count, ss_err_t *err) {
    *out = NULL;
    *count = 0;
    if (n % 8)
        return ss_err_set(err, SS_ERR_INVAL, "window of %zu bytes is not a multiple of 8", n);
    if (n == 0)
        return 0;
    int64_t *v = ss_xmalloc(n);
    for (size_t i = 0; i < n / 8; i++)
        v[i] = (int64_t)get_le((const unsigned char *)p + 8 * i, 8);
    qsort(v, n / 8, sizeof(*v), cmp_i64);
    *out = v;
    *count = n / 8;
    return 0;
}

void rfm_compute(const rfm_agg_t *a, int64_t recent_30d, int64_t as_of_ms, rfm_features_t *f) {
    memset(f, 0, sizeof(*f));
    f->as_of_ms = as_of_ms;
    f->return_count = a->ret_n;
    f->return_amount = a->ret_amount;
    if (a->n <= 0)
        return;
    f->has_purchase = 1;
    f->frequency = a->n;
    f->recency_days = rfm_floor_days(as_of_ms - a->last_ms);
    f->total_spent = a->sum;
    f->avg_order = a->sum / (double)a->n;
    f->order_std = a->n > 1 && a->m2 > 0 ? sqrt(a->m2 / (double)(a->n - 1)) : 0.0;
    f->days_since_first_order = rfm_floor_days(a->last_ms - a->first_ms);
    f->purchase_frequency = (double)a->n / (double)(f->days_since_first_order + 1);
    f->recent_orders_30d = recent_30d;
}

void rfm_features(const rfm_state_t *st, int64_t as_of_ms, rfm_features_t *f) {
    rfm_compute(&st->agg, rfm_window_count(st->win, st->n_win, as_of_ms), as_of_ms, f);
}

void rfm_features_json(const char *customer_id, const rfm_features_t *f, ss_buf_t *out) {
    ss_buf_adds(out, "{\"customer_id\":");
    ss_buf_add_json_str(out, customer_id, strlen(customer_id));
    ss_buf_addf(out, ",\"as_of_ms\":%lld", (long long)f->as_of_ms);
    if (f->has_purchase)
        ss_buf_addf(out, ",\"recency_days\":%lld", (long long)f->recency_days);
    else
        ss_buf_adds(out, ",\"recency_days\":null");
    ss_buf_addf(out, ",\"frequency\":%lld,\"total_spent\":%.17g,\"avg_order\":%.17g",
                (long long)f->frequency, f->total_spent, f->avg_order);
    ss_buf_addf(out, ",\"order_std\":%.17g", f->order_std);
    if (f->has_purchase)
        ss_buf_addf(out, ",\"days_since_first_order\":%lld", (long long)f->days_since_first_order);
    else
        ss_buf_adds(out, ",\"days_since_first_order\":null");
    ss_buf_addf(out, ",\"purchase_frequency\":%.17g,\"recent_orders_30d\":%lld",
                f->purchase_frequency, (long long)f->recent_orders_30d);
    ss_buf_addf(out, ",\"return_count\":%lld,\"return_amount\":%.17g}", (long long)f->return_count,
                f->return_amount);
}

int rfm_parse_time(const char *s, int64_t *ms, ss_err_t *err) {
    const char *p = s;
    if (*p == '-' || (*p >= '0' && *p <= '9')) {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (!errno && end != s && *end == '\0') {
            *ms = v;
            return 0;
        }
    }
    int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, n = 0;
    if (sscanf(p, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
        goto bad;
    p += n;
    if (*p == 'T' || *p == ' ') {
        p++;
        n = 0;
        if (sscanf(p, "%2d:%2d%n", &h, &mi, &n) != 2 || n != 5)
            goto bad;
        p += n;
        if (*p == ':') {
            n = 0;
            if (sscanf(p, ":%2d%n", &sec, &n) != 1 || n != 3)
                goto bad;
            p += n;
            if (*p == '.') {
                int digits = 0;
                p++;
                while (*p >= '0' && *p <= '9' && digits < 3) {
                    frac = frac * 10 + (*p++ - '0');
                    digits++;
                }
                if (digits == 0)
                    goto bad;
                while (digits++ < 3)
                    frac *= 10;
            }
        }
        if (*p == 'Z')
            p++;
    }
    if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        goto bad;
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    *ms = (int64_t)timegm(&tm) * 1000 + frac;
    return 0;
bad:
    return ss_err_set(err, SS_ERR_INVAL,
                      "bad time '%s' (expected epoch ms or YYYY-MM-DD[THH:MM:SS[.mmm]][Z])", s);
}
