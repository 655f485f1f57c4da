/* report_svg: SVG chart primitives for streamscore-report - scales, "nice" ticks, time and number
 * labels, a line chart with an optional interval band, stacked bars, a horizontal bar chart and a
 * heat-map table. Pure: each function appends self-contained SVG text to an ss_buf; no I/O, no
 * clock, no globals; thread-safe. Every text put into the SVG is XML-escaped.
 * Data marks (lines, bands, bars, cells) carry class="mark"; a chart with nothing to plot is an
 * SVG holding only its title and the text "no data: <why>" (class "nodata"), without any mark. */
#ifndef SS_REPORT_SVG_H
#define SS_REPORT_SVG_H

#include <stddef.h>
#include <stdint.h>

#include "ss_buf.h"

#define RSVG_MAX_TICKS 32
#define RSVG_DAY_MS 86400000LL

/* ---- text ---------------------------------------------------------------------------------- */

/* Appends s XML-escaped for text and attribute values: & < > " ' become entities; control
 * characters other than tab/newline are dropped (they are not allowed in XML 1.0). NULL appends
 * nothing. */
void rsvg_escape(ss_buf_t *out, const char *s);

/* Formats v for an axis whose tick step is step: as many decimals as the step needs (at most 6),
 * thousands as "12k" / "1.5M" when |v| >= 10000. NaN gives "-". */
void rsvg_fmt_num(double v, double step, char *out, size_t size);

/* Formats event-time day (days since 1970-01-01) as "YYYY-MM-DD" (out: at least 11 bytes). */
void rsvg_day_text(int64_t day, char *out, size_t size);

/* Formats epoch ms (UTC) for an axis whose tick step is step_ms: "HH:MM:SS" below a minute,
 * "HH:MM" below a day, "YYYY-MM-DD" otherwise. */
void rsvg_fmt_time(int64_t ms, int64_t step_ms, char *out, size_t size);

/* ---- scales and ticks ---------------------------------------------------------------------- */

/* A linear map of the domain [d0, d1] onto the range [r0, r1] (pixels; r0 > r1 for a y axis). */
typedef struct rsvg_scale {
    double d0, d1;
    double r0, r1;
} rsvg_scale_t;

/* Maps x. A degenerate domain (d0 == d1) maps everything to the middle of the range. */
double rsvg_scale_map(const rsvg_scale_t *s, double x);

/* Ticks at multiples of a "nice" step (1, 2 or 5 x 10^k) covering [lo, hi] with at most
 * max_ticks ticks (clamped to 2..RSVG_MAX_TICKS): fills ticks[] (room for RSVG_MAX_TICKS), sets
 * *step (may be NULL), and widens *lo / *hi outwards to the first and last tick. Returns the
 * number of ticks (>= 2). Non-finite input is treated as [0, 1]; lo == hi is widened. */
size_t rsvg_nice_ticks(double *lo, double *hi, size_t max_ticks, double *ticks, double *step);

/* Ticks for a time axis of epoch ms inside [lo, hi] (not widened): the smallest step of 1 s, 2 s,
 * 5 s, 10 s, 15 s, 30 s, 1 min, ... 12 h, 1 d, 2 d, 7 d, 14 d, 28 d, 91 d, 364 d that is at least
 * min_step_ms and gives at most max_ticks ticks; ticks at multiples of the step since the epoch.
 * Fills ticks[] (room for RSVG_MAX_TICKS) and *step_ms; returns the count (may be 0 for a range
 * shorter than the step). */
size_t rsvg_time_ticks(int64_t lo, int64_t hi, int64_t min_step_ms, size_t max_ticks,
                       int64_t *ticks, int64_t *step_ms);

/* ---- charts -------------------------------------------------------------------------------- */

typedef enum rsvg_xkind {
    RSVG_X_NUMBER = 0, /* plain numbers */
    RSVG_X_TIME_MS,    /* epoch milliseconds, labels in UTC */
    RSVG_X_DAY,        /* days since 1970-01-01, labels YYYY-MM-DD */
} rsvg_xkind_t;

/* Common chart settings; zero means default for every field. Strings are borrowed for the call. */
typedef struct rsvg_chart {
    const char *title;   /* drawn at the top */
    const char *x_label; /* under the x axis */
    const char *y_label; /* rotated, left of the y axis */
    int width, height;   /* pixels; 0 = 960 x 340 */
    rsvg_xkind_t x_kind;
    int y_zero;          /* 1: the y range includes 0 */
    const char *no_data; /* reason shown after "no data: " when nothing can be drawn */
} rsvg_chart_t;

/* One line: points (x[i], y[i]); NaN y breaks the line. lo/hi (both or neither) draw a shaded
 * band between them (NaN breaks it). Arrays are borrowed for the call. */
typedef struct rsvg_series {
    const char *name;  /* legend text */
    const char *color; /* CSS colour; NULL = palette by index */
    const double *x, *y;
    size_t n;
    const double *lo, *hi; /* optional band */
    const char *band_name; /* legend text of the band, e.g. "95 % interval" */
    int dashed;            /* 1: dashed stroke */
    int markers;           /* 1: a dot at each point */
} rsvg_series_t;

/* Appends a line chart of s[0..n). Returns the number of data marks drawn (0: the "no data"
 * chart was drawn instead, because no series has a finite point). */
int rsvg_line_chart(ss_buf_t *out, const rsvg_chart_t *c, const rsvg_series_t *s, size_t n);

/* One layer of a stacked bar chart: v[0..nx) (NaN or negative counts as 0). */
typedef struct rsvg_layer {
    const char *name;
    const char *color; /* NULL = palette by index */
    const double *v;
} rsvg_layer_t;

/* Appends stacked bars: bar i starts at x[i] and is bar_w x-units wide; layers stack from the
 * first (bottom) up. Returns the number of bar segments drawn (0: "no data" chart, when nx is 0
 * or every value is 0). */
int rsvg_stacked_bars(ss_buf_t *out, const rsvg_chart_t *c, const double *x, size_t nx,
                      double bar_w, const rsvg_layer_t *layers, size_t nl);

/* Appends a horizontal bar chart of values[0..n) labelled labels[], largest first, each bar
 * followed by its value and unit (e.g. "%"). Non-finite values are drawn as 0. Returns the number
 * of bars (0: "no data" chart, when n is 0 or every value is 0). */
int rsvg_hbar_chart(ss_buf_t *out, const rsvg_chart_t *c, const char *const *labels,
                    const double *values, size_t n, const char *unit);

/* Appends a heat-map table: rows x cols cells v[r * cols + c] (NaN: not judged, grey), coloured
 * by the bands: below warn green, up to crit amber, above red, with the value printed when the
 * cells are wide enough and a <title> tooltip always. The chart's height follows the rows
 * (c->height is ignored). Returns the number of cells with a value (0: "no data" chart). */
int rsvg_heatmap(ss_buf_t *out, const rsvg_chart_t *c, const char *const *row_labels, size_t rows,
                 const char *const *col_labels, size_t cols, const double *v, double warn,
                 double crit);

/* The palette colour i (cycled; static string). */
const char *rsvg_color(size_t i);

#endif
