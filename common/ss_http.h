/* ss_http: the small HTTP listener every service runs for /metrics, /livez, /readyz (and
 * /healthz, the older alias of /livez), plus extra GET routes registered by the service (the
 * lookup API). libmicrohttpd with one internal polling thread: every handler, the readiness
 * callback and the metrics collectors run on that thread, one request at a time. Depends on
 * ss_metrics and ss_err. The main loop calls ss_http_heartbeat (lock-free) once per iteration.
 *
 *   ss_http_opts_t o = {.port = 9100, .metrics = m, .ready = my_ready, .ready_opaque = app};
 *   ss_http_t *h = ss_http_new(&o, &err);
 *   ss_http_route(h, "/v1/customers/", lookup_handler, app);
 *   if (ss_http_start(h, &err) < 0) ...
 *   while (running) { ss_http_heartbeat(h); ... }
 *   ss_http_destroy(h);
 */
#ifndef SS_HTTP_H
#define SS_HTTP_H

#include <stddef.h>

#include "ss_err.h"
#include "ss_metrics.h"

typedef struct ss_http ss_http_t;

/* A request as handlers see it. All strings are borrowed for the duration of the call. */
typedef struct ss_http_request {
    const char *method; /* "GET" or "HEAD" (other methods are answered 405 before routing) */
    const char *path;   /* percent-decoded path without the query, e.g. "/v1/customers/C1/rfm" */
    const char *query;  /* raw query string after '?', not decoded; "" when absent */
} ss_http_request_t;

/* The response a handler fills. status 0 means 200; content_type NULL means
 * "text/plain; charset=utf-8" (borrowed: use a literal). The body is appended with
 * ss_http_response_append/printf (never NULL after the first append). */
typedef struct ss_http_response {
    int status;
    const char *content_type;
    char *body;      /* owned by the response; NUL-terminated */
    size_t len, cap; /* bytes used (excluding the NUL) / allocated */
} ss_http_response_t;

#define SS_HTTP_RESPONSE_INIT                                                                      \
    { 0, NULL, NULL, 0, 0 }

/* Readiness callback: returns 1 when the service is ready (partitions assigned, Redis reachable),
 * else 0 with a short reason written to reason[0..size) ("no partitions assigned"). Runs on the
 * HTTP thread for every /readyz request: read state the main loop publishes (atomics), do not
 * block. */
typedef int (*ss_http_ready_fn)(ss_http_t *h, char *reason, size_t size, void *opaque);

/* Route handler for GET/HEAD requests whose path matches the route. Fills resp (status, content
 * type, body); for HEAD the body is computed and then dropped. Runs on the HTTP thread. */
typedef void (*ss_http_handler_fn)(ss_http_t *h, const ss_http_request_t *req,
                                   ss_http_response_t *resp, void *opaque);

enum ss_http_flags {
    SS_HTTP_EPHEMERAL =
        1 << 0, /* port 0 means "a free port chosen by the kernel" (tests), not off */
};

typedef struct ss_http_opts {
    const char *bind_addr;  /* numeric IPv4 or IPv6 address; NULL = "127.0.0.1";
                               "0.0.0.0" or "::" listen on every interface */
    int port;               /* TCP port; 0 = no listener unless SS_HTTP_EPHEMERAL */
    int flags;              /* enum ss_http_flags */
    ss_metrics_t *metrics;  /* borrowed, must outlive the server; NULL: /metrics is 404 */
    double live_timeout_s;  /* /livez fails when the loop has not ticked for this long; 0 = 30 */
    ss_http_ready_fn ready; /* NULL: always ready */
    void *ready_opaque;     /* passed to ready; borrowed */
} ss_http_opts_t;

/* Returns new: a server configured by opts (copied; NULL = all defaults), not yet listening.
 * The heartbeat starts at "now", so /livez has live_timeout_s of grace before the first tick.
 * NULL with err set (SS_ERR_INVAL) for a bad bind address or port. */
ss_http_t *ss_http_new(const ss_http_opts_t *opts, ss_err_t *err);

/* Adds a route: `pattern` matches a path exactly, or, when it ends with '/', every path that
 * starts with it ("/v1/customers/"). Routes are tried in the order added, after the built-in
 * endpoints. pattern is copied, opaque borrowed. Only before ss_http_start (SS_BUG after).
 * Returns 0, or SS_ERR_INVAL for a pattern not starting with '/'. */
int ss_http_route(ss_http_t *h, const char *pattern, ss_http_handler_fn fn, void *opaque);

/* Starts listening and serving on the internal thread. With port 0 and no SS_HTTP_EPHEMERAL it
 * does nothing and returns 0 (metrics.port=0 turns the listener off; the handle still works).
 * Returns 0 or SS_ERR_IO ("cannot listen on '127.0.0.1:9100'"). */
int ss_http_start(ss_http_t *h, ss_err_t *err);

/* Returns the bound TCP port (the kernel's choice with SS_HTTP_EPHEMERAL), 0 when not
 * listening. */
int ss_http_port(const ss_http_t *h);

/* Records that the main loop is alive. Lock-free, any thread; a NULL handle is a no-op. */
void ss_http_heartbeat(ss_http_t *h);

/* Stops the listener (waits for the request in progress) and frees the server. NULL is a
 * no-op. Must not be called from a handler. */
void ss_http_destroy(ss_http_t *h);

/* ---- Without a socket: the routing itself (unit tests, embedding) ---- */

/* Answers req into resp exactly as the listener would, judging liveness at now_s (seconds on
 * ss_metrics_now's monotonic clock). Built-ins: /metrics, /livez, /healthz, /readyz; then the
 * routes; then 404. Methods other than GET and HEAD get 405. */
void ss_http_handle(ss_http_t *h, const ss_http_request_t *req, ss_http_response_t *resp,
                    double now_s);
/* Records a heartbeat at t_s (same clock as now_s). */
void ss_http_heartbeat_at(ss_http_t *h, double t_s);

/* Appends to the response body (copies). */
void ss_http_response_append(ss_http_response_t *resp, const void *data, size_t len);
void ss_http_response_printf(ss_http_response_t *resp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Frees the body and resets resp to SS_HTTP_RESPONSE_INIT. */
void ss_http_response_release(ss_http_response_t *resp);

/* Finds `name` in a raw query string ("a=1&b=x%20y") and writes its percent-decoded value ('+'
 * is a space) to out[0..size). Returns the value length, SS_ERR_NOTFOUND when absent, or
 * SS_ERR_INVAL when it does not fit or has a bad escape. */
int ss_http_query_param(const char *query, const char *name, char *out, size_t size);

#endif
