/* report_svg: SVG chart primitives (see report_svg.h). Pure; thread-safe. */
#include "report_svg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_err.h"

static const char *const palette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                      "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

const char *rsvg_color(size_t i) { return palette[i % (sizeof(palette) / sizeof(palette[0]))]; }

void rsvg_escape(ss_buf_t *out, const char *s) { ss_buf_add_xml(out, s); }

void rsvg_fmt_num(double v, double step, char *out, size_t size) {
    if (!isfinite(v)) {
        snprintf(out, size, "-");
        return;
    }
    double a = fabs(v), div = 1;
    const char *suffix = "";
    if (a >= 1e6 - 0.5) {
        div = 1e6;
        suffix = "M";
    } else if (a >= 1e4) {
        div = 1e3;
        suffix = "k";
    }
    double st = step > 0 && isfinite(step) ? step / div : 0;
    int dec = 0; /* the fewest decimals that show the step exactly (2.5 -> 1, 0.05 -> 2) */
    for (double sc = st; st > 0 && dec < 6 && fabs(sc - round(sc)) > 1e-9 * fmax(1, sc); sc *= 10)
        dec++;
    double x = v / div;
    if (fabs(x) < 0.5 * pow(10, -dec))
        x = 0; /* no "-0" */
    snprintf(out, size, "%.*f%s", dec, x, suffix);
}

/* Civil date of a day number (Howard Hinnant's days_from_civil inverse). */
static void civil(int64_t z, int *y, int *m, int *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}

static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

void rsvg_day_text(int64_t day, char *out, size_t size) {
    int y, m, d;
    civil(day, &y, &m, &d);
    snprintf(out, size, "%04d-%02d-%02d", y, m, d);
}

void rsvg_fmt_time(int64_t ms, int64_t step_ms, char *out, size_t size) {
    int64_t day = floor_div(ms, RSVG_DAY_MS);
    int64_t in = ms - day * RSVG_DAY_MS;
    int h = (int)(in / 3600000), mi = (int)(in / 60000 % 60), s = (int)(in / 1000 % 60);
    if (step_ms >= RSVG_DAY_MS)
        rsvg_day_text(day, out, size);
    else if (step_ms >= 60000)
        snprintf(out, size, "%02d:%02d", h, mi);
    else
        snprintf(out, size, "%02d:%02d:%02d", h, mi, s);
}

double rsvg_scale_map(const rsvg_scale_t *s, double x) {
    if (s->d1 == s->d0)
        return (s->r0 + s->r1) / 2;
    return s->r0 + (x - s->d0) / (s->d1 - s->d0) * (s->r1 - s->r0);
}

size_t rsvg_nice_ticks(double *lo, double *hi, size_t max_ticks, double *ticks, double *step) {
    double a = *lo, b = *hi;
    if (!isfinite(a) || !isfinite(b)) {
        a = 0;
        b = 1;
    }
    if (a > b) {
        double t = a;
        a = b;
        b = t;
    }
    if (a == b) {
        double pad = a == 0 ? 1 : fabs(a) * 0.1;
        a -= pad;
        b += pad;
    }
    if (max_ticks < 2)
        max_ticks = 2;
    if (max_ticks > RSVG_MAX_TICKS)
        max_ticks = RSVG_MAX_TICKS;
    double raw = (b - a) / (double)(max_ticks - 1), mag = pow(10, floor(log10(raw))), st = mag;
    static const double mult[] = {1, 2, 5, 10, 20};
    for (size_t i = 0; i < sizeof(mult) / sizeof(mult[0]); i++) {
        st = mult[i] * mag;
        if (floor(b / st) - ceil(a / st) + 1 <= (double)max_ticks &&
            ceil(b / st) - floor(a / st) + 1 <= (double)max_ticks)
            break;
    }
    double t0 = floor(a / st) * st, t1 = ceil(b / st) * st;
    size_t n = 0;
    for (double t = t0; t <= t1 + st * 0.5 && n < RSVG_MAX_TICKS; t += st) {
        double r = round(t / st) * st; /* no drift from repeated addition */
        ticks[n++] = fabs(r) < st * 1e-9 ? 0 : r;
    }
    if (n < 2) {
        ticks[0] = t0;
        ticks[1] = t0 + st;
        n = 2;
    }
    *lo = ticks[0];
    *hi = ticks[n - 1];
    if (step)
        *step = st;
    return n;
}

size_t rsvg_time_ticks(int64_t lo, int64_t hi, int64_t min_step_ms, size_t max_ticks,
                       int64_t *ticks, int64_t *step_ms) {
    static const int64_t steps[] = {
        1000,     2000,     5000,      10000,     15000,      30000,      60000,      120000,
        300000,   600000,   900000,    1800000,   3600000,    7200000,    10800000,   21600000,
        43200000, 86400000, 172800000, 604800000, 1209600000, 2419200000, 7862400000, 31449600000};
    size_t ns = sizeof(steps) / sizeof(steps[0]);
    int64_t st = steps[ns - 1];
    if (max_ticks < 2)
        max_ticks = 2;
    if (max_ticks > RSVG_MAX_TICKS)
        max_ticks = RSVG_MAX_TICKS;
    if (hi < lo) {
        int64_t t = lo;
        lo = hi;
        hi = t;
    }
    for (size_t i = 0; i < ns; i++) {
        if (steps[i] < min_step_ms)
            continue;
        if ((hi - lo) / steps[i] + 1 <= (int64_t)max_ticks) {
            st = steps[i];
            break;
        }
    }
    size_t n = 0;
    for (int64_t t = floor_div(lo + st - 1, st) * st; t <= hi && n < RSVG_MAX_TICKS; t += st)
        ticks[n++] = t;
    *step_ms = st;
    return n;
}

/* ---- chart frame ---------------------------------------------------------------------------- */

typedef struct frame {
    int w, h;
    double left, right, top, bottom; /* plot area in pixels */
} frame_t;

#define FONT "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\""

static void svg_open(ss_buf_t *out, const rsvg_chart_t *c, int w, int h) {
    ss_buf_addf(out,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"%d\" "
                "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" " FONT ">\n",
                w, h, w, h);
    ss_buf_adds(out, "<title>");
    rsvg_escape(out, c->title ? c->title : "chart");
    ss_buf_adds(out, "</title>\n<text class=\"title\" x=\"10\" y=\"20\" font-size=\"15\" "
                     "font-weight=\"bold\" fill=\"#222\">");
    rsvg_escape(out, c->title);
    ss_buf_adds(out, "</text>\n");
}

static int no_data(ss_buf_t *out, const rsvg_chart_t *c) {
    int w = c->width > 0 ? c->width : 960;
    svg_open(out, c, w, 80);
    ss_buf_adds(out, "<text class=\"nodata\" x=\"20\" y=\"55\" font-size=\"14\" fill=\"#a33\">no "
                     "data: ");
    rsvg_escape(out, c->no_data && *c->no_data ? c->no_data : "nothing to plot");
    ss_buf_adds(out, "</text>\n</svg>\n");
    return 0;
}

static void frame_init(frame_t *f, const rsvg_chart_t *c, double left) {
    f->w = c->width > 0 ? c->width : 960;
    f->h = c->height > 0 ? c->height : 340;
    f->left = left;
    f->right = f->w - 20;
    f->top = 52;
    f->bottom = f->h - 48;
}

/* Legend entries in one row under the title, from x = frame left. */
typedef struct legend {
    double x, y;
} legend_t;

static void legend_item(ss_buf_t *out, legend_t *lg, const char *name, const char *color,
                        int kind /* 0 swatch, 1 line, 2 dashed line, 3 band */) {
    if (!name || !*name)
        return;
    if (kind == 0 || kind == 3)
        ss_buf_addf(out,
                    "<rect class=\"key\" x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" "
                    "fill=\"%s\"%s/>",
                    lg->x, lg->y - 10, color, kind == 3 ? " fill-opacity=\"0.25\"" : "");
    else
        ss_buf_addf(out,
                    "<line class=\"key\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                    "stroke=\"%s\" stroke-width=\"2.5\"%s/>",
                    lg->x, lg->y - 4, lg->x + 18, lg->y - 4, color,
                    kind == 2 ? " stroke-dasharray=\"6 3\"" : "");
    ss_buf_addf(out, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#333\">", lg->x + 23, lg->y);
    rsvg_escape(out, name);
    ss_buf_adds(out, "</text>\n");
    lg->x += 23 + 7.0 * (double)strlen(name) + 22;
}

static void y_axis(ss_buf_t *out, const frame_t *f, const rsvg_chart_t *c, const rsvg_scale_t *ys,
                   const double *ticks, size_t nt, double step) {
    char lab[64];
    for (size_t i = 0; i < nt; i++) {
        double y = rsvg_scale_map(ys, ticks[i]);
        ss_buf_addf(out,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e3e3\"/>"
                    "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#444\">",
                    f->left, y, f->right, y, f->left - 6, y + 4);
        rsvg_fmt_num(ticks[i], step, lab, sizeof lab);
        rsvg_escape(out, lab);
        ss_buf_adds(out, "</text>\n");
    }
    if (c->y_label && *c->y_label) {
        double cy = (f->top + f->bottom) / 2;
        ss_buf_addf(out,
                    "<text x=\"14\" y=\"%.1f\" transform=\"rotate(-90 14 %.1f)\" "
                    "text-anchor=\"middle\" fill=\"#333\">",
                    cy, cy);
        rsvg_escape(out, c->y_label);
        ss_buf_adds(out, "</text>\n");
    }
    ss_buf_addf(out,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\"/>"
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\"/>\n",
                f->left, f->top, f->left, f->bottom, f->left, f->bottom, f->right, f->bottom);
}

/* x-axis ticks and labels for the chart's x kind over the domain of xs. */
static void x_axis(ss_buf_t *out, const frame_t *f, const rsvg_chart_t *c, const rsvg_scale_t *xs) {
    char lab[64];
    size_t max_ticks = (size_t)((f->right - f->left) / 95);
    if (c->x_kind == RSVG_X_NUMBER) {
        double lo = xs->d0, hi = xs->d1, ticks[RSVG_MAX_TICKS], step;
        size_t nt = rsvg_nice_ticks(&lo, &hi, max_ticks, ticks, &step);
        for (size_t i = 0; i < nt; i++) {
            if (ticks[i] < xs->d0 - 1e-9 * fabs(step) || ticks[i] > xs->d1 + 1e-9 * fabs(step))
                continue;
            double x = rsvg_scale_map(xs, ticks[i]);
            rsvg_fmt_num(ticks[i], step, lab, sizeof lab);
            ss_buf_addf(out,
                        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\"/>"
                        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#444\">",
                        x, f->bottom, x, f->bottom + 5, x, f->bottom + 18);
            rsvg_escape(out, lab);
            ss_buf_adds(out, "</text>\n");
        }
    } else {
        int64_t mul = c->x_kind == RSVG_X_DAY ? RSVG_DAY_MS : 1;
        int64_t lo = (int64_t)floor(xs->d0 * (double)mul), hi = (int64_t)ceil(xs->d1 * (double)mul);
        int64_t ticks[RSVG_MAX_TICKS], step;
        size_t nt = rsvg_time_ticks(lo, hi, c->x_kind == RSVG_X_DAY ? RSVG_DAY_MS : 1000, max_ticks,
                                    ticks, &step);
        for (size_t i = 0; i < nt; i++) {
            double x = rsvg_scale_map(xs, (double)ticks[i] / (double)mul);
            rsvg_fmt_time(ticks[i], step, lab, sizeof lab);
            ss_buf_addf(out,
                        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\"/>"
                        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#444\">",
                        x, f->bottom, x, f->bottom + 5, x, f->bottom + 18);
            rsvg_escape(out, lab);
            ss_buf_adds(out, "</text>\n");
        }
    }
    if (c->x_label && *c->x_label) {
        ss_buf_addf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#333\">",
                    (f->left + f->right) / 2, f->bottom + 38);
        rsvg_escape(out, c->x_label);
        ss_buf_adds(out, "</text>\n");
    }
}

/* ---- line chart ----------------------------------------------------------------------------- */

static int finite2(double a, double b) { return isfinite(a) && isfinite(b); }

int rsvg_line_chart(ss_buf_t *out, const rsvg_chart_t *c, const rsvg_series_t *s, size_t n) {
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    size_t points = 0;
    for (size_t k = 0; k < n; k++) {
        for (size_t i = 0; i < s[k].n; i++) {
            double x = s[k].x[i];
            if (!isfinite(x))
                continue;
            int any = 0;
            if (isfinite(s[k].y[i])) {
                y0 = fmin(y0, s[k].y[i]);
                y1 = fmax(y1, s[k].y[i]);
                any = 1;
                points++;
            }
            if (s[k].lo && s[k].hi && finite2(s[k].lo[i], s[k].hi[i])) {
                y0 = fmin(y0, fmin(s[k].lo[i], s[k].hi[i]));
                y1 = fmax(y1, fmax(s[k].lo[i], s[k].hi[i]));
                any = 1;
            }
            if (any) {
                x0 = fmin(x0, x);
                x1 = fmax(x1, x);
            }
        }
    }
    if (points == 0)
        return no_data(out, c);
    if (x0 == x1) {
        double pad = c->x_kind == RSVG_X_TIME_MS ? 30000 : 1;
        x0 -= pad;
        x1 += pad;
    }
    if (c->y_zero) {
        y0 = fmin(y0, 0);
        y1 = fmax(y1, 0);
    }
    frame_t f;
    frame_init(&f, c, 78);
    double ticks[RSVG_MAX_TICKS], step;
    size_t nt = rsvg_nice_ticks(&y0, &y1, (size_t)((f.bottom - f.top) / 40) + 1, ticks, &step);
    rsvg_scale_t xs = {x0, x1, f.left, f.right}, ys = {y0, y1, f.bottom, f.top};
    int marks = 0;

    svg_open(out, c, f.w, f.h);
    legend_t lg = {f.left, 40};
    for (size_t k = 0; k < n; k++) {
        const char *col = s[k].color ? s[k].color : rsvg_color(k);
        legend_item(out, &lg, s[k].name, col, s[k].dashed ? 2 : 1);
        if (s[k].lo && s[k].hi)
            legend_item(out, &lg, s[k].band_name, col, 3);
    }
    y_axis(out, &f, c, &ys, ticks, nt, step);
    x_axis(out, &f, c, &xs);
    /* Bands first, so lines stay on top. A band is one closed path per run of finite points. */
    for (size_t k = 0; k < n; k++) {
        if (!s[k].lo || !s[k].hi)
            continue;
        const char *col = s[k].color ? s[k].color : rsvg_color(k);
        size_t i = 0;
        while (i < s[k].n) {
            while (i < s[k].n && !(isfinite(s[k].x[i]) && finite2(s[k].lo[i], s[k].hi[i])))
                i++;
            size_t a = i;
            while (i < s[k].n && isfinite(s[k].x[i]) && finite2(s[k].lo[i], s[k].hi[i]))
                i++;
            if (i == a)
                continue;
            ss_buf_addf(out, "<path class=\"mark band\" fill=\"%s\" fill-opacity=\"0.22\" d=\"",
                        col);
            for (size_t j = a; j < i; j++)
                ss_buf_addf(out, "%c%.1f,%.1f ", j == a ? 'M' : 'L', rsvg_scale_map(&xs, s[k].x[j]),
                            rsvg_scale_map(&ys, s[k].hi[j]));
            for (size_t j = i; j-- > a;)
                ss_buf_addf(out, "L%.1f,%.1f ", rsvg_scale_map(&xs, s[k].x[j]),
                            rsvg_scale_map(&ys, s[k].lo[j]));
            ss_buf_adds(out, "Z\"/>\n");
            marks++;
        }
    }
    for (size_t k = 0; k < n; k++) {
        const char *col = s[k].color ? s[k].color : rsvg_color(k);
        int pen = 0, open = 0;
        for (size_t i = 0; i < s[k].n; i++) {
            if (!finite2(s[k].x[i], s[k].y[i])) {
                pen = 0;
                continue;
            }
            if (!open) {
                ss_buf_addf(out,
                            "<path class=\"mark line\" fill=\"none\" stroke=\"%s\" "
                            "stroke-width=\"2\" stroke-linejoin=\"round\"%s d=\"",
                            col, s[k].dashed ? " stroke-dasharray=\"6 3\"" : "");
                open = 1;
            }
            ss_buf_addf(out, "%c%.1f,%.1f ", pen ? 'L' : 'M', rsvg_scale_map(&xs, s[k].x[i]),
                        rsvg_scale_map(&ys, s[k].y[i]));
            pen = 1;
        }
        if (open) {
            ss_buf_adds(out, "\"/>\n");
            marks++;
        }
        if (s[k].markers) {
            for (size_t i = 0; i < s[k].n; i++) {
                if (!finite2(s[k].x[i], s[k].y[i]))
                    continue;
                ss_buf_addf(out,
                            "<circle class=\"mark dot\" cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" "
                            "fill=\"%s\"/>",
                            rsvg_scale_map(&xs, s[k].x[i]), rsvg_scale_map(&ys, s[k].y[i]), col);
                marks++;
            }
            ss_buf_addch(out, '\n');
        }
    }
    ss_buf_adds(out, "</svg>\n");
    return marks;
}

/* ---- stacked bars --------------------------------------------------------------------------- */

static double pos(double v) { return isfinite(v) && v > 0 ? v : 0; }

int rsvg_stacked_bars(ss_buf_t *out, const rsvg_chart_t *c, const double *x, size_t nx,
                      double bar_w, const rsvg_layer_t *layers, size_t nl) {
    double top = 0, x0 = INFINITY, x1 = -INFINITY;
    for (size_t i = 0; i < nx; i++) {
        double sum = 0;
        for (size_t l = 0; l < nl; l++)
            sum += pos(layers[l].v[i]);
        if (sum > 0 && isfinite(x[i])) {
            top = fmax(top, sum);
            x0 = fmin(x0, x[i]);
            x1 = fmax(x1, x[i] + bar_w);
        }
    }
    if (top <= 0)
        return no_data(out, c);
    frame_t f;
    frame_init(&f, c, 78);
    double y0 = 0, ticks[RSVG_MAX_TICKS], step;
    size_t nt = rsvg_nice_ticks(&y0, &top, (size_t)((f.bottom - f.top) / 40) + 1, ticks, &step);
    rsvg_scale_t xs = {x0, x1, f.left, f.right}, ys = {y0, top, f.bottom, f.top};
    int marks = 0;

    svg_open(out, c, f.w, f.h);
    legend_t lg = {f.left, 40};
    for (size_t l = 0; l < nl; l++)
        legend_item(out, &lg, layers[l].name, layers[l].color ? layers[l].color : rsvg_color(l), 0);
    y_axis(out, &f, c, &ys, ticks, nt, step);
    x_axis(out, &f, c, &xs);
    double px = rsvg_scale_map(&xs, x0 + bar_w) - rsvg_scale_map(&xs, x0);
    double gap = px > 4 ? px * 0.12 : 0;
    for (size_t i = 0; i < nx; i++) {
        if (!isfinite(x[i]))
            continue;
        double base = 0, left = rsvg_scale_map(&xs, x[i]) + gap / 2;
        for (size_t l = 0; l < nl; l++) {
            double v = pos(layers[l].v[i]);
            if (v <= 0)
                continue;
            double ya = rsvg_scale_map(&ys, base), yb = rsvg_scale_map(&ys, base + v);
            ss_buf_addf(out,
                        "<rect class=\"mark bar\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
                        "height=\"%.2f\" fill=\"%s\"><title>",
                        left, yb, fmax(px - gap, 0.5), ya - yb,
                        layers[l].color ? layers[l].color : rsvg_color(l));
            rsvg_escape(out, layers[l].name);
            ss_buf_addf(out, ": %.0f</title></rect>\n", v);
            base += v;
            marks++;
        }
    }
    ss_buf_adds(out, "</svg>\n");
    return marks;
}

/* ---- horizontal bars ------------------------------------------------------------------------ */

typedef struct hbar_item {
    const char *label;
    double v;
} hbar_item_t;

static int hbar_cmp(const void *a, const void *b) {
    const hbar_item_t *x = a, *y = b;
    if (x->v != y->v)
        return x->v < y->v ? 1 : -1;
    return strcmp(x->label, y->label);
}

int rsvg_hbar_chart(ss_buf_t *out, const rsvg_chart_t *c, const char *const *labels,
                    const double *values, size_t n, const char *unit) {
    double max = 0;
    for (size_t i = 0; i < n; i++)
        max = fmax(max, pos(values[i]));
    if (max <= 0)
        return no_data(out, c);
    hbar_item_t *it = ss_xcalloc(n, sizeof(*it));
    for (size_t i = 0; i < n; i++) {
        it[i].label = labels[i] ? labels[i] : "";
        it[i].v = pos(values[i]);
    }
    qsort(it, n, sizeof(*it), hbar_cmp);
    rsvg_chart_t cc = *c;
    cc.height = 52 + 26 * (int)n + 48;
    frame_t f;
    frame_init(&f, &cc, 190);
    f.right -= 70; /* room for the value text */
    double lo = 0, hi = max, ticks[RSVG_MAX_TICKS], step;
    size_t nt = rsvg_nice_ticks(&lo, &hi, (size_t)((f.right - f.left) / 80), ticks, &step);
    rsvg_scale_t xs = {0, hi, f.left, f.right};
    char lab[64];
    int marks = 0;

    svg_open(out, &cc, f.w, f.h);
    for (size_t i = 0; i < nt; i++) {
        double x = rsvg_scale_map(&xs, ticks[i]);
        rsvg_fmt_num(ticks[i], step, lab, sizeof lab);
        ss_buf_addf(out,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e3e3\"/>"
                    "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#444\">",
                    x, f.top, x, f.bottom, x, f.bottom + 18);
        rsvg_escape(out, lab);
        ss_buf_adds(out, "</text>\n");
    }
    if (c->x_label && *c->x_label) {
        ss_buf_addf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#333\">",
                    (f.left + f.right) / 2, f.bottom + 38);
        rsvg_escape(out, c->x_label);
        ss_buf_adds(out, "</text>\n");
    }
    for (size_t i = 0; i < n; i++) {
        double y = f.top + 26 * (double)i + 4, w = rsvg_scale_map(&xs, it[i].v) - f.left;
        ss_buf_addf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#333\">",
                    f.left - 8, y + 13);
        rsvg_escape(out, it[i].label);
        ss_buf_addf(out,
                    "</text><rect class=\"mark bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.2f\" "
                    "height=\"18\" fill=\"%s\"/><text x=\"%.1f\" y=\"%.1f\" fill=\"#333\">",
                    f.left, y, fmax(w, 0.5), rsvg_color(0), f.left + w + 6, y + 13);
        rsvg_fmt_num(it[i].v, max >= 10 ? 0.1 : 0.001, lab, sizeof lab);
        rsvg_escape(out, lab);
        rsvg_escape(out, unit);
        ss_buf_adds(out, "</text>\n");
        marks++;
    }
    ss_buf_addf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\"/>\n",
                f.left, f.top, f.left, f.bottom);
    ss_buf_adds(out, "</svg>\n");
    free(it);
    return marks;
}

/* ---- heat map ------------------------------------------------------------------------------- */

static const char *heat_color(double v, double warn, double crit) {
    if (!isfinite(v))
        return "#ececec";
    if (v < warn)
        return "#b7e1a1";
    if (v <= crit)
        return "#fdd17a";
    return "#f4846b";
}

int rsvg_heatmap(ss_buf_t *out, const rsvg_chart_t *c, const char *const *row_labels, size_t rows,
                 const char *const *col_labels, size_t cols, const double *v, double warn,
                 double crit) {
    size_t filled = 0;
    for (size_t i = 0; i < rows * cols; i++)
        filled += isfinite(v[i]) ? 1 : 0;
    if (filled == 0 || rows == 0 || cols == 0)
        return no_data(out, c);
    int w = c->width > 0 ? c->width : 960;
    double left = 190, top = 76, cw = (w - left - 20) / (double)cols, rh = 24;
    if (cw > 90)
        cw = 90;
    int h = (int)(top + rh * (double)rows + 60);
    size_t every = (size_t)ceil(84.0 / cw);
    char lab[64];
    int marks = 0;

    svg_open(out, c, w, h);
    legend_t lg = {left, 40};
    char t[96];
    snprintf(t, sizeof t, "< %g stable", warn);
    legend_item(out, &lg, t, heat_color(0, warn, crit), 0);
    snprintf(t, sizeof t, "%g to %g moderate", warn, crit);
    legend_item(out, &lg, t, heat_color(warn, warn, crit), 0);
    snprintf(t, sizeof t, "> %g significant", crit);
    legend_item(out, &lg, t, heat_color(crit * 2, warn, crit), 0);
    legend_item(out, &lg, "not judged (too few values)", heat_color(NAN, warn, crit), 0);
    for (size_t cI = 0; cI < cols; cI += every) {
        ss_buf_addf(out, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#444\">", left + cw * (double)cI,
                    top - 6);
        rsvg_escape(out, col_labels[cI]);
        ss_buf_adds(out, "</text>\n");
    }
    for (size_t r = 0; r < rows; r++) {
        double y = top + rh * (double)r;
        ss_buf_addf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#333\">", left - 8,
                    y + rh / 2 + 4);
        rsvg_escape(out, row_labels[r]);
        ss_buf_adds(out, "</text>\n");
        for (size_t cI = 0; cI < cols; cI++) {
            double x = v[r * cols + cI];
            ss_buf_addf(out,
                        "<rect class=\"%s\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" "
                        "fill=\"%s\" stroke=\"#fff\"><title>",
                        isfinite(x) ? "mark cell" : "cell", left + cw * (double)cI, y, cw, rh,
                        heat_color(x, warn, crit));
            rsvg_escape(out, row_labels[r]);
            ss_buf_adds(out, ", ");
            rsvg_escape(out, col_labels[cI]);
            if (isfinite(x))
                ss_buf_addf(out, ": PSI %.3f", x);
            else
                ss_buf_adds(out, ": not judged");
            ss_buf_adds(out, "</title></rect>");
            if (isfinite(x) && cw >= 36) {
                snprintf(lab, sizeof lab, "%.2f", x);
                ss_buf_addf(out,
                            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"10\" "
                            "fill=\"#222\">%s</text>",
                            left + cw * ((double)cI + 0.5), y + rh / 2 + 4, lab);
            }
            if (isfinite(x))
                marks++;
        }
        ss_buf_addch(out, '\n');
    }
    if (c->x_label && *c->x_label) {
        ss_buf_addf(out, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#333\">", left,
                    top + rh * (double)rows + 22);
        rsvg_escape(out, c->x_label);
        ss_buf_adds(out, "</text>\n");
    }
    ss_buf_adds(out, "</svg>\n");
    return marks;
}
