/* streamscore-metricsdemo: the smallest service shape around ss_metrics and ss_http. It ticks a
 * main loop every 100 ms (heartbeat, counters, a processing-time histogram) and serves /metrics,
 * /livez, /readyz and GET /v1/echo until SIGTERM or SIGINT. Signals drive the health endpoints
 * for tests: it starts not ready ("warming up"); SIGUSR1 makes it ready, SIGUSR2 stops the
 * heartbeat (the loop keeps running) so /livez fails after live.timeout.s. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ss_cfg.h"
#include "ss_err.h"
#include "ss_http.h"
#include "ss_log.h"
#include "ss_metrics.h"

static const ss_cfg_def_t defs[] = {
    {"metrics.port", SS_CFG_INT, "0", 0, 65535,
     "port of the /metrics, /livez, /readyz listener (0 = a free port, printed)", 0, NULL},
    {"metrics.bind", SS_CFG_STR, "127.0.0.1", 0, 0, "numeric address the listener binds", 0, NULL},
    {"live.timeout.s", SS_CFG_DOUBLE, "30", 0.1, 3600,
     "/livez fails when the loop has not ticked for this long", 0, NULL},
    {"port.file", SS_CFG_STR, "", 0, 0, "write the bound port to this file once listening (tests)",
     0, NULL},
};

static volatile sig_atomic_t stop, ready, stalled;

static void on_signal(int sig) {
    if (sig == SIGUSR1)
        ready = 1;
    else if (sig == SIGUSR2)
        stalled = 1;
    else
        stop = 1;
}

static int demo_ready(ss_http_t *h, char *reason, size_t size, void *opaque) {
    (void)h;
    (void)opaque;
    if (!ready)
        snprintf(reason, size, "warming up");
    return ready != 0;
}

/* GET /v1/echo?msg=...: shows the route hook the lookup API will use. */
static void echo_handler(ss_http_t *h, const ss_http_request_t *req, ss_http_response_t *resp,
                         void *opaque) {
    (void)h;
    (void)opaque;
    char msg[128];
    if (ss_http_query_param(req->query, "msg", msg, sizeof msg) < 0 ||
        strpbrk(msg, "\"\\\n\r\t") != NULL) { /* keeps the JSON below valid without escaping */
        resp->status = 400;
        ss_http_response_printf(resp, "missing or bad 'msg' parameter\n");
        return;
    }
    resp->content_type = "application/json";
    ss_http_response_printf(resp, "{\"echo\":\"%s\"}\n", msg);
}

/* Writes the port to path via a temp file + rename, so a reader never sees half a number. */
static int write_port_file(const char *path, int port, ss_err_t *err) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 || rename(tmp, path) != 0)
        return ss_err_set(err, SS_ERR_IO, "cannot write port file '%s'", path);
    return 0;
}

int main(int argc, char **argv) {
    ss_err_t err = SS_ERR_INIT;
    ss_log_init("metricsdemo");
    ss_cfg_t *cfg = ss_cfg_new("metricsdemo", "serve a demo metrics registry and health endpoints",
                               defs, sizeof defs / sizeof defs[0]);
    int rc = ss_cfg_load(cfg, argc, argv, &err);
    if (rc == SS_ERR_EXIT) {
        ss_cfg_destroy(cfg);
        return 0;
    }
    if (rc < 0) {
        fprintf(stderr, "metricsdemo: %s\n", err.msg);
        ss_cfg_destroy(cfg);
        return 2;
    }
    rc = 1; /* until the loop ends cleanly */

    ss_metrics_t *m = ss_metrics_new();
    ss_metrics_add_build_info(m, "metricsdemo", NULL);
    ss_metrics_add_process(m);
    ss_metrics_counter_t *ticks =
        ss_metrics_counter(m, "streamscore_demo_ticks_total", "Main loop iterations.");
    ss_metrics_histogram_t *work =
        ss_metrics_histogram(m, "streamscore_demo_tick_processing_seconds",
                             "Time spent in one loop iteration.", NULL, 0);
    ss_metrics_family_t *dlq = ss_metrics_counter_family(
        m, "streamscore_dlq_messages_total", "Messages sent to the dead-letter topic, by reason.",
        (const char *[]){"reason"}, 1);
    ss_metrics_counter_t *dlq_decode = ss_metrics_counter_child(dlq, (const char *[]){"decode"});
    ss_metrics_counter_child(dlq, (const char *[]){"validation \"quoted\"\\path"});
    ss_metrics_family_t *lag = ss_metrics_gauge_family(m, "streamscore_consumer_lag_messages",
                                                       "Consumer lag per partition, in messages.",
                                                       (const char *[]){"topic", "partition"}, 2);
    ss_metrics_gauge_t *lag0 = ss_metrics_gauge_child(lag, (const char *[]){"transactions", "0"});
    ss_metrics_gauge_t *lag1 = ss_metrics_gauge_child(lag, (const char *[]){"transactions", "1"});

    /* before the port file exists, so a test's first signal never meets the default action */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);

    int port = (int)ss_cfg_int(cfg, "metrics.port");
    ss_http_opts_t hopts = {
        .bind_addr = ss_cfg_str(cfg, "metrics.bind"),
        .port = port,
        .flags = SS_HTTP_EPHEMERAL, /* a demo always listens; 0 asks the kernel for a port */
        .metrics = m,
        .live_timeout_s = ss_cfg_double(cfg, "live.timeout.s"),
        .ready = demo_ready,
    };
    ss_http_t *h = ss_http_new(&hopts, &err);
    if (!h || ss_http_route(h, "/v1/echo", echo_handler, NULL) < 0 || ss_http_start(h, &err) < 0)
        goto out;
    printf("listening on %s:%d\n", hopts.bind_addr, ss_http_port(h));
    fflush(stdout);
    const char *port_file = ss_cfg_str(cfg, "port.file");
    if (port_file[0] && write_port_file(port_file, ss_http_port(h), &err) < 0)
        goto out;

    for (unsigned long n = 0; !stop; n++) {
        double t0 = ss_metrics_now();
        if (!stalled)
            ss_http_heartbeat(h);
        ss_metrics_counter_inc(ticks);
        if (n % 10 == 0)
            ss_metrics_counter_inc(dlq_decode);
        ss_metrics_gauge_set(lag0, (double)(n % 7));
        ss_metrics_gauge_set(lag1, (double)(n % 3));
        ss_metrics_histogram_observe(work, ss_metrics_now() - t0);
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL); /* EINTR on a signal is fine: the loop re-checks stop */
    }
    SS_LOG(LOG_INFO, "main", "stopping");
    rc = 0;
out:
    if (err.code) {
        fprintf(stderr, "metricsdemo: %s\n", err.msg);
        rc = 1;
    }
    ss_http_destroy(h);
    ss_metrics_destroy(m);
    ss_cfg_destroy(cfg);
    return rc;
}
