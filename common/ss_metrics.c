/* ss_metrics: see ss_metrics.h. Values live in _Atomic uint64_t words (doubles stored as their
 * bit patterns, updated by compare-and-swap); the family and child lists are guarded by one
 * registry mutex that updates never take. */
#include "ss_metrics.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "ss_err.h"

enum metric_type { MT_COUNTER, MT_GAUGE, MT_HISTOGRAM };
static const char *const type_names[] = {"counter", "gauge", "histogram"};

/* Common head of every series; the concrete structs below start with it. */
struct child {
    struct ss_metrics_family *fam; /* owner */
    char **values;                 /* fam->nlabels label values, owned */
};

struct ss_metrics_counter {
    struct child hdr;
    _Atomic uint64_t n;     /* integral increments (inc) */
    _Atomic uint64_t dbits; /* double bits: fractional adds and set */
};

struct ss_metrics_gauge {
    struct child hdr;
    _Atomic uint64_t bits; /* double bits */
    atomic_int hidden;     /* 1: left out of the rendered text until the next update */
};

struct ss_metrics_histogram {
    struct child hdr;
    const double *bounds;     /* fam->bounds, nb entries */
    size_t nb;                /* finite bounds; counts has nb + 1 entries (last is +Inf) */
    _Atomic uint64_t *counts; /* per bucket, NOT cumulative */
    _Atomic uint64_t sumbits; /* double bits: sum of observations */
};

struct ss_metrics_family {
    ss_metrics_t *m;
    enum metric_type type;
    char *name;
    char *help;
    char **labels; /* nlabels names, owned */
    size_t nlabels;
    double *bounds; /* histograms: nb upper bounds, owned */
    size_t nb;
    struct child **children; /* in creation order */
    size_t nchildren, capchildren;
};

struct collector {
    ss_metrics_collect_fn fn;
    void *opaque;
    int owned; /* 1: opaque was allocated here and is freed by ss_metrics_destroy */
};

struct ss_metrics {
    pthread_mutex_t lock; /* families, children, collectors; never taken by updates */
    /* held while collectors run (render) and by ss_metrics_remove_collector, so a removed
     * collector is never running once removal returns; taken before `lock`, never after */
    pthread_mutex_t collect_lock;
    ss_metrics_family_t **fams;
    size_t nfams, capfams;
    struct collector *collectors;
    size_t ncollectors, capcollectors;
};

const double ss_metrics_default_buckets[] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                             0.005,   0.01,   0.025,   0.05,   0.1,   0.25,
                                             0.5,     1,      2.5,     5,      10};
const size_t ss_metrics_default_nbuckets =
    sizeof(ss_metrics_default_buckets) / sizeof(ss_metrics_default_buckets[0]);

/* ---------- atomic doubles ---------- */

static double bits_to_double(uint64_t b) {
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

static uint64_t double_to_bits(double d) {
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

static void atomic_add_double(_Atomic uint64_t *p, double v) {
    uint64_t old = atomic_load_explicit(p, memory_order_relaxed);
    for (;;) {
        uint64_t nw = double_to_bits(bits_to_double(old) + v);
        if (atomic_compare_exchange_weak_explicit(p, &old, nw, memory_order_relaxed,
                                                  memory_order_relaxed))
            return;
    }
}

static double atomic_load_double(const _Atomic uint64_t *p) {
    return bits_to_double(atomic_load_explicit((_Atomic uint64_t *)p, memory_order_relaxed));
}

static void atomic_store_double(_Atomic uint64_t *p, double v) {
    atomic_store_explicit(p, double_to_bits(v), memory_order_relaxed);
}

/* ---------- growing text buffer ---------- */

struct sbuf {
    char *p;
    size_t len, cap;
};

static void sbuf_grow(struct sbuf *b, size_t extra) {
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->p = ss_xrealloc(b->p, cap);
    b->cap = cap;
}

static void sbuf_add(struct sbuf *b, const char *s, size_t n) {
    sbuf_grow(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sbuf_adds(struct sbuf *b, const char *s) { sbuf_add(b, s, strlen(s)); }

static void sbuf_addc(struct sbuf *b, char c) { sbuf_add(b, &c, 1); }

static void sbuf_add_double(struct sbuf *b, double v) {
    char tmp[64];
    size_t n = ss_metrics_format_double(v, tmp, sizeof tmp);
    sbuf_add(b, tmp, n);
}

/* HELP text escapes backslash and newline; label values also escape the double quote. */
static void sbuf_add_escaped(struct sbuf *b, const char *s, int quote) {
    for (; *s; s++) {
        if (*s == '\\')
            sbuf_add(b, "\\\\", 2);
        else if (*s == '\n')
            sbuf_add(b, "\\n", 2);
        else if (*s == '"' && quote)
            sbuf_add(b, "\\\"", 2);
        else
            sbuf_addc(b, *s);
    }
}

/* ---------- number formatting ---------- */

size_t ss_metrics_format_double(double v, char *buf, size_t size) {
    int n;
    if (isnan(v))
        n = snprintf(buf, size, "NaN");
    else if (isinf(v))
        n = snprintf(buf, size, "%s", v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) <= 9007199254740992.0)
        n = snprintf(buf, size, "%.0f", v);
    else {
        /* shortest representation that reads back to the same double */
        char tmp[40];
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(tmp, sizeof tmp, "%.*g", prec, v);
            if (strtod(tmp, NULL) == v)
                break;
        }
        n = snprintf(buf, size, "%s", tmp);
    }
    if (n < 0)
        n = 0;
    if (size == 0)
        return 0;
    return (size_t)n < size ? (size_t)n : size - 1;
}

/* ---------- names ---------- */

static int valid_metric_name(const char *s) {
    if (!s || !*s)
        return 0;
    for (const char *p = s; *p; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                 (p != s && c >= '0' && c <= '9');
        if (!ok)
            return 0;
    }
    return 1;
}

static int valid_label_name(const char *s) {
    if (!s || !*s || (s[0] == '_' && s[1] == '_'))
        return 0;
    for (const char *p = s; *p; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                 (p != s && c >= '0' && c <= '9');
        if (!ok)
            return 0;
    }
    return 1;
}

/* ---------- registry ---------- */

ss_metrics_t *ss_metrics_new(void) {
    ss_metrics_t *m = ss_xcalloc(1, sizeof *m);
    pthread_mutex_init(&m->lock, NULL);
    pthread_mutex_init(&m->collect_lock, NULL);
    return m;
}

static void child_free(ss_metrics_family_t *f, struct child *c) {
    for (size_t i = 0; i < f->nlabels; i++)
        free(c->values[i]);
    free(c->values);
    if (f->type == MT_HISTOGRAM)
        free(((ss_metrics_histogram_t *)c)->counts);
    free(c);
}

static void family_free(ss_metrics_family_t *f) {
    for (size_t i = 0; i < f->nchildren; i++)
        child_free(f, f->children[i]);
    free(f->children);
    for (size_t i = 0; i < f->nlabels; i++)
        free(f->labels[i]);
    free(f->labels);
    free(f->bounds);
    free(f->name);
    free(f->help);
    free(f);
}

void ss_metrics_destroy(ss_metrics_t *m) {
    if (!m)
        return;
    for (size_t i = 0; i < m->nfams; i++)
        family_free(m->fams[i]);
    free(m->fams);
    for (size_t i = 0; i < m->ncollectors; i++)
        if (m->collectors[i].owned)
            free(m->collectors[i].opaque);
    free(m->collectors);
    pthread_mutex_destroy(&m->collect_lock);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

/* Creates the series for `values` in f (lock held). */
static struct child *child_new(ss_metrics_family_t *f, const char *const *values) {
    struct child *c;
    switch (f->type) {
    case MT_COUNTER:
        c = ss_xcalloc(1, sizeof(ss_metrics_counter_t));
        break;
    case MT_GAUGE:
        c = ss_xcalloc(1, sizeof(ss_metrics_gauge_t));
        break;
    default: {
        ss_metrics_histogram_t *h = ss_xcalloc(1, sizeof *h);
        h->bounds = f->bounds;
        h->nb = f->nb;
        h->counts = ss_xcalloc(f->nb + 1, sizeof *h->counts);
        c = &h->hdr;
        break;
    }
    }
    c->fam = f;
    c->values = ss_xcalloc(f->nlabels ? f->nlabels : 1, sizeof *c->values);
    for (size_t i = 0; i < f->nlabels; i++) {
        if (!values || !values[i])
            SS_BUG("metric '%s': label value %zu is NULL", f->name, i);
        c->values[i] = ss_xstrdup(values[i]);
    }
    if (f->nchildren == f->capchildren) {
        f->capchildren = f->capchildren ? f->capchildren * 2 : 4;
        f->children = ss_xrealloc(f->children, f->capchildren * sizeof *f->children);
    }
    f->children[f->nchildren++] = c;
    return c;
}

static int same_family(const ss_metrics_family_t *f, enum metric_type type,
                       const char *const *labels, size_t nlabels, const double *bounds, size_t nb) {
    if (f->type != type || f->nlabels != nlabels || f->nb != nb)
        return 0;
    for (size_t i = 0; i < nlabels; i++)
        if (strcmp(f->labels[i], labels[i]) != 0)
            return 0;
    for (size_t i = 0; i < nb; i++)
        if (f->bounds[i] != bounds[i])
            return 0;
    return 1;
}

static ss_metrics_family_t *family_register(ss_metrics_t *m, enum metric_type type,
                                            const char *name, const char *help,
                                            const char *const *labels, size_t nlabels,
                                            const double *bounds, size_t nb) {
    SS_ASSERT(m);
    if (!valid_metric_name(name))
        SS_BUG("invalid metric name '%s'", name ? name : "(null)");
    for (size_t i = 0; i < nlabels; i++) {
        if (!valid_label_name(labels[i]))
            SS_BUG("metric '%s': invalid label name '%s'", name, labels[i] ? labels[i] : "(null)");
        if (type == MT_HISTOGRAM && strcmp(labels[i], "le") == 0)
            SS_BUG("metric '%s': histograms cannot have a label named 'le'", name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(labels[i], labels[j]) == 0)
                SS_BUG("metric '%s': duplicate label name '%s'", name, labels[i]);
    }
    if (type == MT_HISTOGRAM) {
        if (!bounds) {
            bounds = ss_metrics_default_buckets;
            nb = ss_metrics_default_nbuckets;
        }
        for (size_t i = 0; i < nb; i++) {
            if (!isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1])))
                SS_BUG("metric '%s': bucket bounds must be finite and strictly increasing", name);
        }
    } else {
        bounds = NULL;
        nb = 0;
    }

    pthread_mutex_lock(&m->lock);
    ss_metrics_family_t *f = NULL;
    for (size_t i = 0; i < m->nfams; i++) {
        if (strcmp(m->fams[i]->name, name) == 0) {
            f = m->fams[i];
            break;
        }
    }
    if (f) {
        int same = same_family(f, type, labels, nlabels, bounds, nb);
        pthread_mutex_unlock(&m->lock);
        if (!same)
            SS_BUG("metric '%s' registered twice with different type, labels or buckets", name);
        return f;
    }
    f = ss_xcalloc(1, sizeof *f);
    f->m = m;
    f->type = type;
    f->name = ss_xstrdup(name);
    f->help = ss_xstrdup(help ? help : "");
    f->nlabels = nlabels;
    if (nlabels) {
        f->labels = ss_xcalloc(nlabels, sizeof *f->labels);
        for (size_t i = 0; i < nlabels; i++)
            f->labels[i] = ss_xstrdup(labels[i]);
    }
    if (type == MT_HISTOGRAM) {
        f->nb = nb;
        f->bounds = ss_xcalloc(nb ? nb : 1, sizeof *f->bounds);
        if (nb)
            memcpy(f->bounds, bounds, nb * sizeof *bounds);
    }
    if (nlabels == 0)
        child_new(f, NULL);
    if (m->nfams == m->capfams) {
        m->capfams = m->capfams ? m->capfams * 2 : 16;
        m->fams = ss_xrealloc(m->fams, m->capfams * sizeof *m->fams);
    }
    m->fams[m->nfams++] = f;
    pthread_mutex_unlock(&m->lock);
    return f;
}

static struct child *family_child(ss_metrics_family_t *f, enum metric_type type,
                                  const char *const *values) {
    SS_ASSERT(f);
    if (f->type != type)
        SS_BUG("metric '%s' is a %s, not a %s", f->name, type_names[f->type], type_names[type]);
    pthread_mutex_lock(&f->m->lock);
    struct child *c = NULL;
    for (size_t i = 0; i < f->nchildren && !c; i++) {
        struct child *it = f->children[i];
        size_t j = 0;
        while (j < f->nlabels && values && values[j] && strcmp(it->values[j], values[j]) == 0)
            j++;
        if (j == f->nlabels)
            c = it;
    }
    if (!c)
        c = child_new(f, values);
    pthread_mutex_unlock(&f->m->lock);
    return c;
}

ss_metrics_counter_t *ss_metrics_counter(ss_metrics_t *m, const char *name, const char *help) {
    ss_metrics_family_t *f = family_register(m, MT_COUNTER, name, help, NULL, 0, NULL, 0);
    return (ss_metrics_counter_t *)family_child(f, MT_COUNTER, NULL);
}

ss_metrics_gauge_t *ss_metrics_gauge(ss_metrics_t *m, const char *name, const char *help) {
    ss_metrics_family_t *f = family_register(m, MT_GAUGE, name, help, NULL, 0, NULL, 0);
    return (ss_metrics_gauge_t *)family_child(f, MT_GAUGE, NULL);
}

ss_metrics_histogram_t *ss_metrics_histogram(ss_metrics_t *m, const char *name, const char *help,
                                             const double *bounds, size_t nbounds) {
    ss_metrics_family_t *f = family_register(m, MT_HISTOGRAM, name, help, NULL, 0, bounds, nbounds);
    return (ss_metrics_histogram_t *)family_child(f, MT_HISTOGRAM, NULL);
}

ss_metrics_family_t *ss_metrics_counter_family(ss_metrics_t *m, const char *name, const char *help,
                                               const char *const *labels, size_t nlabels) {
    SS_ASSERT(labels && nlabels > 0);
    return family_register(m, MT_COUNTER, name, help, labels, nlabels, NULL, 0);
}

ss_metrics_family_t *ss_metrics_gauge_family(ss_metrics_t *m, const char *name, const char *help,
                                             const char *const *labels, size_t nlabels) {
    SS_ASSERT(labels && nlabels > 0);
    return family_register(m, MT_GAUGE, name, help, labels, nlabels, NULL, 0);
}

ss_metrics_family_t *ss_metrics_histogram_family(ss_metrics_t *m, const char *name,
                                                 const char *help, const char *const *labels,
                                                 size_t nlabels, const double *bounds,
                                                 size_t nbounds) {
    SS_ASSERT(labels && nlabels > 0);
    return family_register(m, MT_HISTOGRAM, name, help, labels, nlabels, bounds, nbounds);
}

ss_metrics_counter_t *ss_metrics_counter_child(ss_metrics_family_t *f, const char *const *values) {
    return (ss_metrics_counter_t *)family_child(f, MT_COUNTER, values);
}

ss_metrics_gauge_t *ss_metrics_gauge_child(ss_metrics_family_t *f, const char *const *values) {
    return (ss_metrics_gauge_t *)family_child(f, MT_GAUGE, values);
}

ss_metrics_histogram_t *ss_metrics_histogram_child(ss_metrics_family_t *f,
                                                   const char *const *values) {
    return (ss_metrics_histogram_t *)family_child(f, MT_HISTOGRAM, values);
}

void ss_metrics_buckets_exponential(double start, double factor, size_t n, double *out) {
    SS_ASSERT(start > 0 && factor > 1);
    double v = start;
    for (size_t i = 0; i < n; i++, v *= factor)
        out[i] = v;
}

/* ---------- updates ---------- */

void ss_metrics_counter_inc(ss_metrics_counter_t *c) {
    if (c)
        atomic_fetch_add_explicit(&c->n, 1, memory_order_relaxed);
}

void ss_metrics_counter_add(ss_metrics_counter_t *c, double v) {
    if (!c || !(v >= 0))
        return;
    /* integral steps take the fetch_add path, which never retries */
    if (v == floor(v) && v < 9007199254740992.0)
        atomic_fetch_add_explicit(&c->n, (uint64_t)v, memory_order_relaxed);
    else
        atomic_add_double(&c->dbits, v);
}

void ss_metrics_counter_set(ss_metrics_counter_t *c, double v) {
    if (!c)
        return;
    atomic_store_explicit(&c->n, 0, memory_order_relaxed);
    atomic_store_double(&c->dbits, v);
}

double ss_metrics_counter_value(const ss_metrics_counter_t *c) {
    if (!c)
        return 0;
    uint64_t n = atomic_load_explicit((_Atomic uint64_t *)&c->n, memory_order_relaxed);
    return (double)n + atomic_load_double(&c->dbits);
}

void ss_metrics_gauge_set(ss_metrics_gauge_t *g, double v) {
    if (!g)
        return;
    atomic_store_double(&g->bits, v);
    if (atomic_load_explicit(&g->hidden, memory_order_relaxed))
        atomic_store_explicit(&g->hidden, 0, memory_order_relaxed);
}

void ss_metrics_gauge_add(ss_metrics_gauge_t *g, double v) {
    if (!g)
        return;
    atomic_add_double(&g->bits, v);
    if (atomic_load_explicit(&g->hidden, memory_order_relaxed))
        atomic_store_explicit(&g->hidden, 0, memory_order_relaxed);
}

void ss_metrics_gauge_inc(ss_metrics_gauge_t *g) { ss_metrics_gauge_add(g, 1); }
void ss_metrics_gauge_dec(ss_metrics_gauge_t *g) { ss_metrics_gauge_add(g, -1); }

double ss_metrics_gauge_value(const ss_metrics_gauge_t *g) {
    return g ? atomic_load_double(&g->bits) : 0;
}

void ss_metrics_gauge_hide(ss_metrics_gauge_t *g) {
    if (g)
        atomic_store_explicit(&g->hidden, 1, memory_order_relaxed);
}

void ss_metrics_gauge_family_hide(ss_metrics_family_t *f) {
    SS_ASSERT(f);
    if (f->type != MT_GAUGE)
        SS_BUG("metric '%s' is a %s, not a gauge", f->name, type_names[f->type]);
    pthread_mutex_lock(&f->m->lock);
    for (size_t i = 0; i < f->nchildren; i++)
        ss_metrics_gauge_hide((ss_metrics_gauge_t *)f->children[i]);
    pthread_mutex_unlock(&f->m->lock);
}

void ss_metrics_histogram_observe(ss_metrics_histogram_t *h, double v) {
    if (!h || isnan(v))
        return;
    size_t i = 0;
    while (i < h->nb && v > h->bounds[i])
        i++;
    atomic_fetch_add_explicit(&h->counts[i], 1, memory_order_relaxed);
    atomic_add_double(&h->sumbits, v);
}

uint64_t ss_metrics_histogram_count(const ss_metrics_histogram_t *h) {
    if (!h)
        return 0;
    uint64_t n = 0;
    for (size_t i = 0; i <= h->nb; i++)
        n += atomic_load_explicit(&h->counts[i], memory_order_relaxed);
    return n;
}

double ss_metrics_histogram_sum(const ss_metrics_histogram_t *h) {
    return h ? atomic_load_double(&h->sumbits) : 0;
}

double ss_metrics_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---------- rendering ---------- */

/* Appends a collector (lock held). */
static void collector_push(ss_metrics_t *m, ss_metrics_collect_fn fn, void *opaque, int owned) {
    if (m->ncollectors == m->capcollectors) {
        m->capcollectors = m->capcollectors ? m->capcollectors * 2 : 4;
        m->collectors = ss_xrealloc(m->collectors, m->capcollectors * sizeof *m->collectors);
    }
    m->collectors[m->ncollectors++] = (struct collector){fn, opaque, owned};
}

void ss_metrics_add_collector(ss_metrics_t *m, ss_metrics_collect_fn fn, void *opaque) {
    SS_ASSERT(m && fn);
    pthread_mutex_lock(&m->lock);
    collector_push(m, fn, opaque, 0);
    pthread_mutex_unlock(&m->lock);
}

void ss_metrics_remove_collector(ss_metrics_t *m, ss_metrics_collect_fn fn, void *opaque) {
    if (!m)
        return;
    pthread_mutex_lock(&m->collect_lock);
    pthread_mutex_lock(&m->lock);
    /* the slot stays (a tombstone): render indexes the list without holding the lock */
    for (size_t i = 0; i < m->ncollectors; i++)
        if (m->collectors[i].fn == fn && m->collectors[i].opaque == opaque &&
            !m->collectors[i].owned)
            m->collectors[i].fn = NULL;
    pthread_mutex_unlock(&m->lock);
    pthread_mutex_unlock(&m->collect_lock);
}

/* Writes `name{l1="v1",...[,le="x"]} `; `le` may be NULL. */
static void render_series_head(struct sbuf *b, const ss_metrics_family_t *f, const char *suffix,
                               const struct child *c, const char *le) {
    sbuf_adds(b, f->name);
    sbuf_adds(b, suffix);
    if (f->nlabels || le) {
        sbuf_addc(b, '{');
        for (size_t i = 0; i < f->nlabels; i++) {
            if (i)
                sbuf_addc(b, ',');
            sbuf_adds(b, f->labels[i]);
            sbuf_adds(b, "=\"");
            sbuf_add_escaped(b, c->values[i], 1);
            sbuf_addc(b, '"');
        }
        if (le) {
            if (f->nlabels)
                sbuf_addc(b, ',');
            sbuf_adds(b, "le=\"");
            sbuf_adds(b, le);
            sbuf_addc(b, '"');
        }
        sbuf_addc(b, '}');
    }
    sbuf_addc(b, ' ');
}

static int child_visible(const ss_metrics_family_t *f, const struct child *c) {
    if (f->type != MT_GAUGE)
        return 1;
    return !atomic_load_explicit(&((const ss_metrics_gauge_t *)c)->hidden, memory_order_relaxed);
}

static void render_histogram(struct sbuf *b, const ss_metrics_family_t *f,
                             const ss_metrics_histogram_t *h) {
    /* one snapshot of the buckets, so _count always equals the +Inf bucket */
    uint64_t cum = 0;
    char le[64];
    for (size_t i = 0; i <= h->nb; i++) {
        cum += atomic_load_explicit(&h->counts[i], memory_order_relaxed);
        if (i < h->nb)
            ss_metrics_format_double(h->bounds[i], le, sizeof le);
        else
            snprintf(le, sizeof le, "+Inf");
        render_series_head(b, f, "_bucket", &h->hdr, le);
        sbuf_add_double(b, (double)cum);
        sbuf_addc(b, '\n');
    }
    render_series_head(b, f, "_sum", &h->hdr, NULL);
    sbuf_add_double(b, atomic_load_double(&h->sumbits));
    sbuf_addc(b, '\n');
    render_series_head(b, f, "_count", &h->hdr, NULL);
    sbuf_add_double(b, (double)cum);
    sbuf_addc(b, '\n');
}

static void render_family(struct sbuf *b, const ss_metrics_family_t *f) {
    size_t visible = 0;
    for (size_t i = 0; i < f->nchildren; i++)
        visible += (size_t)child_visible(f, f->children[i]);
    if (!visible)
        return;
    sbuf_adds(b, "# HELP ");
    sbuf_adds(b, f->name);
    sbuf_addc(b, ' ');
    sbuf_add_escaped(b, f->help, 0);
    sbuf_adds(b, "\n# TYPE ");
    sbuf_adds(b, f->name);
    sbuf_addc(b, ' ');
    sbuf_adds(b, type_names[f->type]);
    sbuf_addc(b, '\n');
    for (size_t i = 0; i < f->nchildren; i++) {
        const struct child *c = f->children[i];
        if (!child_visible(f, c))
            continue;
        switch (f->type) {
        case MT_COUNTER:
            render_series_head(b, f, "", c, NULL);
            sbuf_add_double(b, ss_metrics_counter_value((const ss_metrics_counter_t *)c));
            sbuf_addc(b, '\n');
            break;
        case MT_GAUGE:
            render_series_head(b, f, "", c, NULL);
            sbuf_add_double(b, ss_metrics_gauge_value((const ss_metrics_gauge_t *)c));
            sbuf_addc(b, '\n');
            break;
        case MT_HISTOGRAM:
            render_histogram(b, f, (const ss_metrics_histogram_t *)c);
            break;
        }
    }
}

char *ss_metrics_render(ss_metrics_t *m, size_t *len) {
    SS_ASSERT(m);
    /* collectors may register metrics, so they run without the lock (but under collect_lock,
     * which removal waits for); the list only grows */
    pthread_mutex_lock(&m->collect_lock);
    pthread_mutex_lock(&m->lock);
    size_t ncol = m->ncollectors;
    pthread_mutex_unlock(&m->lock);
    for (size_t i = 0; i < ncol; i++) {
        pthread_mutex_lock(&m->lock);
        struct collector col = m->collectors[i];
        pthread_mutex_unlock(&m->lock);
        if (col.fn)
            col.fn(m, col.opaque);
    }
    pthread_mutex_unlock(&m->collect_lock);

    struct sbuf b = {0};
    sbuf_add(&b, "", 0); /* an empty registry still returns "" */
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->nfams; i++)
        render_family(&b, m->fams[i]);
    pthread_mutex_unlock(&m->lock);
    if (len)
        *len = b.len;
    return b.p;
}

/* ---------- standard metrics ---------- */

void ss_metrics_add_build_info(ss_metrics_t *m, const char *service, const char *version) {
#ifdef SS_VERSION
    const char *def_version = SS_VERSION;
#else
    const char *def_version = "unknown";
#endif
    ss_metrics_family_t *f = ss_metrics_gauge_family(
        m, "streamscore_build_info",
        "A metric with a constant '1' value labelled by the service and its version",
        (const char *[]){"service", "version"}, 2);
    ss_metrics_gauge_set(
        ss_metrics_gauge_child(
            f, (const char *[]){service ? service : "unknown", version ? version : def_version}),
        1);
}

int ss_metrics_parse_statm(const char *text, long page_size, double *vm_bytes, double *rss_bytes) {
    unsigned long long size, resident;
    if (!text || page_size <= 0 || sscanf(text, "%llu %llu", &size, &resident) != 2)
        return SS_ERR_INVAL;
    *vm_bytes = (double)size * (double)page_size;
    *rss_bytes = (double)resident * (double)page_size;
    return 0;
}

int ss_metrics_parse_stat_starttime(const char *text, unsigned long long *ticks) {
    /* "pid (comm) state ppid ...": comm may hold spaces and ')', so start after the last ')' */
    const char *p = text ? strrchr(text, ')') : NULL;
    if (!p)
        return SS_ERR_INVAL;
    p++;
    /* after ')' come fields 3 (state) .. ; starttime is field 22, the 20th token */
    for (int field = 3; field < 22; field++) {
        while (*p == ' ')
            p++;
        if (!*p)
            return SS_ERR_INVAL;
        while (*p && *p != ' ')
            p++;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(p, &end, 10);
    if (end == p || errno)
        return SS_ERR_INVAL;
    *ticks = v;
    return 0;
}

int ss_metrics_parse_btime(const char *text, long long *btime) {
    for (const char *p = text; p && *p;) {
        if (strncmp(p, "btime ", 6) == 0) {
            char *end;
            long long v = strtoll(p + 6, &end, 10);
            if (end == p + 6)
                return SS_ERR_INVAL;
            *btime = v;
            return 0;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return SS_ERR_INVAL;
}

/* Reads a small /proc file into buf; returns bytes read or -1. */
static long read_small_file(const char *path, char *buf, size_t size) {
    FILE *fp = fopen(path, "r");
    if (!fp)
        return -1;
    size_t n = fread(buf, 1, size - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    return (long)n;
}

struct process_metrics {
    ss_metrics_counter_t *cpu;
    ss_metrics_gauge_t *rss, *vms, *start, *open_fds, *max_fds;
};

static double process_start_time(void) {
    char stat[4096], pstat[8192];
    unsigned long long ticks;
    long long btime;
    long hz = sysconf(_SC_CLK_TCK);
    if (hz > 0 && read_small_file("/proc/self/stat", stat, sizeof stat) > 0 &&
        read_small_file("/proc/stat", pstat, sizeof pstat) > 0 &&
        ss_metrics_parse_stat_starttime(stat, &ticks) == 0 &&
        ss_metrics_parse_btime(pstat, &btime) == 0)
        return (double)btime + (double)ticks / (double)hz;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void process_collect(ss_metrics_t *m, void *opaque) {
    (void)m;
    struct process_metrics *pm = opaque;
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        double s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                   (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
        ss_metrics_counter_set(pm->cpu, s);
    }
    char statm[256];
    double vm, rss;
    if (read_small_file("/proc/self/statm", statm, sizeof statm) > 0 &&
        ss_metrics_parse_statm(statm, sysconf(_SC_PAGESIZE), &vm, &rss) == 0) {
        ss_metrics_gauge_set(pm->rss, rss);
        ss_metrics_gauge_set(pm->vms, vm);
    }
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        double n = 0;
        struct dirent *de;
        while ((de = readdir(d)) != NULL)
            if (de->d_name[0] != '.')
                n++;
        closedir(d);
        ss_metrics_gauge_set(pm->open_fds, n - 1); /* minus the directory stream itself */
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        ss_metrics_gauge_set(pm->max_fds,
                             rl.rlim_cur == RLIM_INFINITY ? INFINITY : (double)rl.rlim_cur);
}

void ss_metrics_add_process(ss_metrics_t *m) {
    SS_ASSERT(m);
    struct process_metrics pm;
    pm.cpu = ss_metrics_counter(m, "process_cpu_seconds_total",
                                "Total user and system CPU time spent in seconds.");
    pm.rss = ss_metrics_gauge(m, "process_resident_memory_bytes", "Resident memory size in bytes.");
    pm.vms = ss_metrics_gauge(m, "process_virtual_memory_bytes", "Virtual memory size in bytes.");
    pm.start = ss_metrics_gauge(m, "process_start_time_seconds",
                                "Start time of the process since unix epoch in seconds.");
    pm.open_fds = ss_metrics_gauge(m, "process_open_fds", "Number of open file descriptors.");
    pm.max_fds = ss_metrics_gauge(m, "process_max_fds", "Maximum number of open file descriptors.");
    ss_metrics_gauge_set(pm.start, process_start_time());
    pthread_mutex_lock(&m->lock);
    int found = 0;
    for (size_t i = 0; i < m->ncollectors; i++)
        found |= m->collectors[i].fn == process_collect;
    if (!found) {
        struct process_metrics *state = ss_xmalloc(sizeof *state);
        *state = pm;
        collector_push(m, process_collect, state, 1);
    }
    pthread_mutex_unlock(&m->lock);
}
