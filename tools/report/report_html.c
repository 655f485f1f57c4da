/* report_html: the page around the charts (see report_html.h). Pure; thread-safe. */
#include "report_html.h"

#include <stdarg.h>

#include "report_svg.h"

static const char style[] =
    "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;margin:24px auto;max-width:1000px;"
    "color:#222;background:#fff;line-height:1.45}\n"
    "h1{font-size:26px;margin-bottom:4px}h2{font-size:20px;border-bottom:2px solid #4e79a7;"
    "padding-bottom:4px;margin-top:36px}h3{font-size:15px;margin:18px 0 6px}\n"
    "p.sub{color:#555;margin-top:0}p.note{color:#444;font-size:13px}p.warn{color:#a33}\n"
    "svg.chart{display:block;margin:8px 0 14px;border:1px solid #ddd;background:#fff}\n"
    "table{border-collapse:collapse;font-size:13px;margin:8px 0}td,th{border:1px solid #ccc;"
    "padding:3px 8px;text-align:left}th{background:#f2f2f2}\n"
    "nav a{margin-right:14px}\n";

void rhtml_begin(ss_buf_t *out, const char *title, const char *subtitle) {
    ss_buf_adds(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
                     "<title>");
    rsvg_escape(out, title);
    ss_buf_adds(out, "</title>\n<style>\n");
    ss_buf_adds(out, style);
    ss_buf_adds(out, "</style>\n</head>\n<body>\n<h1>");
    rsvg_escape(out, title);
    ss_buf_adds(out, "</h1>\n");
    if (subtitle) {
        ss_buf_adds(out, "<p class=\"sub\">");
        rsvg_escape(out, subtitle);
        ss_buf_adds(out, "</p>\n");
    }
}

void rhtml_end(ss_buf_t *out) { ss_buf_adds(out, "</body>\n</html>\n"); }

void rhtml_section_begin(ss_buf_t *out, const char *id, const char *title) {
    ss_buf_adds(out, "<section id=\"");
    rsvg_escape(out, id);
    ss_buf_adds(out, "\">\n<h2>");
    rsvg_escape(out, title);
    ss_buf_adds(out, "</h2>\n");
}

void rhtml_section_end(ss_buf_t *out) { ss_buf_adds(out, "</section>\n"); }

void rhtml_h3(ss_buf_t *out, const char *text) {
    ss_buf_adds(out, "<h3>");
    rsvg_escape(out, text);
    ss_buf_adds(out, "</h3>\n");
}

void rhtml_para(ss_buf_t *out, const char *cls, const char *fmt, ...) {
    ss_buf_t t = SS_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    ss_buf_vaddf(&t, fmt, ap);
    va_end(ap);
    if (cls) {
        ss_buf_adds(out, "<p class=\"");
        rsvg_escape(out, cls);
        ss_buf_adds(out, "\">");
    } else {
        ss_buf_adds(out, "<p>");
    }
    rsvg_escape(out, t.buf);
    ss_buf_adds(out, "</p>\n");
    ss_buf_release(&t);
}

void rhtml_raw(ss_buf_t *out, const char *markup) { ss_buf_adds(out, markup); }

void rhtml_table(ss_buf_t *out, const char *const *head, size_t cols, const char *const *cells,
                 size_t rows) {
    ss_buf_adds(out, "<table>\n<tr>");
    for (size_t c = 0; c < cols; c++) {
        ss_buf_adds(out, "<th>");
        rsvg_escape(out, head[c]);
        ss_buf_adds(out, "</th>");
    }
    ss_buf_adds(out, "</tr>\n");
    for (size_t r = 0; r < rows; r++) {
        ss_buf_adds(out, "<tr>");
        for (size_t c = 0; c < cols; c++) {
            ss_buf_adds(out, "<td>");
            rsvg_escape(out, cells[r * cols + c]);
            ss_buf_adds(out, "</td>");
        }
        ss_buf_adds(out, "</tr>\n");
    }
    ss_buf_adds(out, "</table>\n");
}
