/* ss_metrics: a small Prometheus registry (counters, gauges, fixed-bucket histograms, optional
 * low-cardinality labels) and its text renderer (exposition format 0.0.4). Depends on ss_err only;
 * no I/O except /proc reads in the process collector. Thread rules: registration, child lookup and
 * rendering take one registry mutex; updates (inc/add/set/observe) are lock-free C11 atomics and
 * safe from any thread. Metrics are never removed while the registry lives, so a child pointer is
 * valid until ss_metrics_destroy: look it up once, keep it, update it in the hot path.
 *
 *   ss_metrics_t *m = ss_metrics_new();
 *   ss_metrics_counter_t *ev = ss_metrics_counter(m, "streamscore_events_processed_total", "...");
 *   ss_metrics_family_t *dlq = ss_metrics_counter_family(m, "streamscore_dlq_messages_total",
 *                                                        "...", (const char *[]){"reason"}, 1);
 *   ss_metrics_counter_t *dlq_decode = ss_metrics_counter_child(dlq, (const char *[]){"decode"});
 *   ss_metrics_counter_inc(ev);
 */
#ifndef SS_METRICS_H
#define SS_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* The Content-Type of ss_metrics_render's output. */
#define SS_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct ss_metrics ss_metrics_t;                     /* the registry */
typedef struct ss_metrics_family ss_metrics_family_t;       /* one metric name + label names */
typedef struct ss_metrics_counter ss_metrics_counter_t;     /* one counter series */
typedef struct ss_metrics_gauge ss_metrics_gauge_t;         /* one gauge series */
typedef struct ss_metrics_histogram ss_metrics_histogram_t; /* one histogram series */

/* ======================== Registry ======================== */

/* Returns new: an empty registry. Never NULL (OOM aborts). */
ss_metrics_t *ss_metrics_new(void);
/* Frees the registry and every family and child it handed out. NULL is a no-op. No other thread
 * may use the registry or its children any more (stop the HTTP server first). */
void ss_metrics_destroy(ss_metrics_t *m);

/* ======================== Registration ========================
 * Names must match [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* without a
 * leading "__" (and not "le" for histograms). Counters should end in _total, durations in
 * _seconds (base units). name, help and label names are copied. Registering a name again with the
 * same type, label names (and buckets) returns the existing metric, so modules may register
 * idempotently. A bad name or a conflicting re-registration is a programming error: SS_BUG
 * (abort with a message), like client_golang's MustRegister. Families render in registration
 * order, children in creation order. Thread-safe (registry mutex). */

/* Unlabelled metrics: return the single series (borrowed; valid until ss_metrics_destroy). */
ss_metrics_counter_t *ss_metrics_counter(ss_metrics_t *m, const char *name, const char *help);
ss_metrics_gauge_t *ss_metrics_gauge(ss_metrics_t *m, const char *name, const char *help);
/* bounds: strictly increasing finite upper bounds (copied), without +Inf, which is implicit.
 * bounds NULL (nbounds ignored) means ss_metrics_default_buckets. */
ss_metrics_histogram_t *ss_metrics_histogram(ss_metrics_t *m, const char *name, const char *help,
                                             const double *bounds, size_t nbounds);

/* Labelled families (borrowed; valid until ss_metrics_destroy). labels: nlabels names, copied;
 * nlabels >= 1. Keep the value sets small and bounded (topic, partition, reason), never
 * customer or store ids. */
ss_metrics_family_t *ss_metrics_counter_family(ss_metrics_t *m, const char *name, const char *help,
                                               const char *const *labels, size_t nlabels);
ss_metrics_family_t *ss_metrics_gauge_family(ss_metrics_t *m, const char *name, const char *help,
                                             const char *const *labels, size_t nlabels);
ss_metrics_family_t *ss_metrics_histogram_family(ss_metrics_t *m, const char *name,
                                                 const char *help, const char *const *labels,
                                                 size_t nlabels, const double *bounds,
                                                 size_t nbounds);

/* Return the series of family f for the label values `values` (nlabels strings, copied; any
 * bytes, escaped when rendered), creating it at zero on first use. Borrowed; valid until
 * ss_metrics_destroy. Takes the registry mutex and does a linear search: cache the result rather
 * than calling this per event. Asking a counter family for a gauge child is SS_BUG. */
ss_metrics_counter_t *ss_metrics_counter_child(ss_metrics_family_t *f, const char *const *values);
ss_metrics_gauge_t *ss_metrics_gauge_child(ss_metrics_family_t *f, const char *const *values);
ss_metrics_histogram_t *ss_metrics_histogram_child(ss_metrics_family_t *f,
                                                   const char *const *values);

/* Default histogram buckets for per-event processing times, in seconds: 50 us .. 10 s in
 * 1-2.5-5 steps (17 bounds). A superset of client_golang's DefBuckets (.005 .. 10), so
 * dashboards written for those still line up. */
extern const double ss_metrics_default_buckets[];
extern const size_t ss_metrics_default_nbuckets;
/* Fills out[0..n) with start, start*factor, ... (start > 0, factor > 1). */
void ss_metrics_buckets_exponential(double start, double factor, size_t n, double *out);

/* ======================== Updates ========================
 * Lock-free, any thread. A NULL series is a no-op, so a module can run with metrics off. */

void ss_metrics_counter_inc(ss_metrics_counter_t *c);
/* Adds v; v < 0 or NaN is ignored (a counter never goes down). */
void ss_metrics_counter_add(ss_metrics_counter_t *c, double v);
/* Sets the value: only for mirroring a monotonic total kept elsewhere (librdkafka statistics,
 * getrusage). Do not mix with inc/add from other threads. */
void ss_metrics_counter_set(ss_metrics_counter_t *c, double v);
double ss_metrics_counter_value(const ss_metrics_counter_t *c);

void ss_metrics_gauge_set(ss_metrics_gauge_t *g, double v);
void ss_metrics_gauge_add(ss_metrics_gauge_t *g, double v);
void ss_metrics_gauge_inc(ss_metrics_gauge_t *g);
void ss_metrics_gauge_dec(ss_metrics_gauge_t *g);
double ss_metrics_gauge_value(const ss_metrics_gauge_t *g);
/* Leaves the series out of the rendered text until its next set/add (e.g. the lag of a
 * partition that was revoked), without invalidating the pointer. */
void ss_metrics_gauge_hide(ss_metrics_gauge_t *g);
/* Hides every series of gauge family f (SS_BUG for another type). A collector mirroring a
 * changing set (the assigned partitions' lag) hides all, then sets the current ones; series not
 * set again stay out of the text. Takes the registry mutex. */
void ss_metrics_gauge_family_hide(ss_metrics_family_t *f);

/* Counts v into the first bucket with v <= bound (else +Inf) and adds it to the sum. NaN is
 * ignored. */
void ss_metrics_histogram_observe(ss_metrics_histogram_t *h, double v);
uint64_t ss_metrics_histogram_count(const ss_metrics_histogram_t *h);
double ss_metrics_histogram_sum(const ss_metrics_histogram_t *h);

/* Seconds on CLOCK_MONOTONIC, for timing: t0 = ss_metrics_now(); ...; observe(h, now() - t0). */
double ss_metrics_now(void);

/* ======================== Collectors and rendering ======================== */

/* A collector refreshes metrics that are cheaper to read at scrape time than to maintain (process
 * memory, librdkafka statistics snapshots). Runs on the thread calling ss_metrics_render (the
 * HTTP thread), before rendering, without the registry mutex held: it may register metrics,
 * look up children and update them. opaque is borrowed and must outlive the registry. */
typedef void (*ss_metrics_collect_fn)(ss_metrics_t *m, void *opaque);
void ss_metrics_add_collector(ss_metrics_t *m, ss_metrics_collect_fn fn, void *opaque);
/* Removes every collector added as (fn, opaque), waiting for a render that is running collectors
 * to finish: once it returns, fn is never called with opaque again, so opaque may be freed (a
 * handle that registered itself calls this from its destroy). NULL m or an unknown pair is a
 * no-op. Any thread except a collector (that would deadlock). */
void ss_metrics_remove_collector(ss_metrics_t *m, ss_metrics_collect_fn fn, void *opaque);

/* Returns new (free with free()): the exposition text of every family with at least one visible
 * series, NUL-terminated; *len (if not NULL) gets its length. Runs the collectors first.
 * Thread-safe. */
char *ss_metrics_render(ss_metrics_t *m, size_t *len);

/* ======================== Standard metrics ======================== */

/* Registers streamscore_build_info{service="...",version="..."} 1 (gauge). version NULL means the
 * SS_VERSION compile definition if there is one, else "unknown". Strings are copied. */
void ss_metrics_add_build_info(ss_metrics_t *m, const char *service, const char *version);

/* Registers the process collector (client_golang names, refreshed at each scrape):
 * process_cpu_seconds_total (getrusage user+system), process_resident_memory_bytes and
 * process_virtual_memory_bytes (/proc/self/statm), process_start_time_seconds (/proc/self/stat
 * starttime + /proc/stat btime; falls back to the time of this call), process_open_fds,
 * process_max_fds. Call once per registry. */
void ss_metrics_add_process(ss_metrics_t *m);

/* ======================== Pure helpers (exposed for tests) ======================== */

/* Formats v the way the exposition format expects: integral values up to 2^53 without a
 * fraction ("42"), others in the shortest %g form that reads back exactly ("0.00025", "5e-05"),
 * "+Inf", "-Inf", "NaN". Returns the length (truncated to size-1 like snprintf). */
size_t ss_metrics_format_double(double v, char *buf, size_t size);

/* Parses /proc/self/statm text ("size resident shared ...", in pages). Returns 0 or
 * SS_ERR_INVAL. */
int ss_metrics_parse_statm(const char *text, long page_size, double *vm_bytes, double *rss_bytes);
/* Parses /proc/<pid>/stat text for field 22, starttime (clock ticks after boot); the command
 * name in parentheses may contain spaces and ')'. Returns 0 or SS_ERR_INVAL. */
int ss_metrics_parse_stat_starttime(const char *text, unsigned long long *ticks);
/* Parses the "btime N" line of /proc/stat. Returns 0 or SS_ERR_INVAL. */
int ss_metrics_parse_btime(const char *text, long long *btime);

#endif
