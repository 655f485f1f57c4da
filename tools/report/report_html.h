/* report_html: the HTML page around the charts of streamscore-report - one self-contained file
 * (inline CSS, inline SVG, no scripts, no external resources). Pure: appends text to an ss_buf;
 * thread-safe. Every text argument is HTML-escaped (rsvg_escape); only rhtml_raw inserts markup
 * as is (for SVG made by report_svg). */
#ifndef SS_REPORT_HTML_H
#define SS_REPORT_HTML_H

#include <stddef.h>

#include "ss_buf.h"

/* Opens the document: doctype, <head> with the title and the style sheet, <body>, the <h1> and a
 * subtitle paragraph (may be NULL). */
void rhtml_begin(ss_buf_t *out, const char *title, const char *subtitle);
/* Closes <body> and <html>. */
void rhtml_end(ss_buf_t *out);

/* <section id="id"><h2>title</h2> ... </section>. id must be a plain identifier. */
void rhtml_section_begin(ss_buf_t *out, const char *id, const char *title);
void rhtml_section_end(ss_buf_t *out);

/* <h3>text</h3>. */
void rhtml_h3(ss_buf_t *out, const char *text);
/* <p class="cls">formatted text</p> (cls may be NULL); the formatted text is escaped. */
void rhtml_para(ss_buf_t *out, const char *cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Appends markup verbatim (SVG from report_svg). */
void rhtml_raw(ss_buf_t *out, const char *markup);

/* A table: head[0..cols) and cells[r * cols + c] for rows rows (NULL cell = empty). Escaped. */
void rhtml_table(ss_buf_t *out, const char *const *head, size_t cols, const char *const *cells,
                 size_t rows);

#endif
