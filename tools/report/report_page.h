/* report_page: the five sections of the streamscore report (throughput and lag, churn risk mix,
 * feature importance, forecast vs actual, PSI per feature and window) rendered from an rdata_t
 * into one HTML page with report_html and report_svg. Pure: no I/O, no clock (the generation
 * time is passed in); thread-safe for distinct outputs. */
#ifndef SS_REPORT_PAGE_H
#define SS_REPORT_PAGE_H

#include <stddef.h>
#include <stdint.h>

#include "report_data.h"
#include "ss_buf.h"

/* Zero means default for every field. Strings are borrowed for the call. */
typedef struct rpage_opts {
    const char *title;       /* default "streamscore report" */
    const char *source;      /* e.g. the brokers and redis address, shown under the title */
    int64_t generated_ms;    /* wall-clock time of the report (epoch ms); 0 = not shown */
    size_t psi_min_samples;  /* values per feature and window to judge PSI; 0 = 100 */
    double psi_warning;      /* 0 = 0.1 */
    double psi_critical;     /* 0 = 0.25 */
    size_t psi_max_windows;  /* columns of the heat map; 0 = 40 */
    size_t max_time_buckets; /* throughput buckets; 0 = 90 */
} rpage_opts_t;

/* Section ids, in page order (static strings; the integration test looks for them). */
#define RPAGE_N_SECTIONS 5
extern const char *const rpage_section_ids[RPAGE_N_SECTIONS];

/* Appends the whole page for d to out. Every section is present; a chart without data says
 * "no data: <why>". Returns the number of charts that have data marks. */
int rpage_render(ss_buf_t *out, const rdata_t *d, const rpage_opts_t *opts);

#endif
