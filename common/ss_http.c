/* ss_http: see ss_http.h. Routing (ss_http_handle) is socket-free and unit-tested; the MHD glue
 * below only turns an MHD request into ss_http_request_t and the response back. The raw URI,
 * needed for the undecoded query string, comes from MHD's URI log callback. */
#include "ss_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ss_log.h"

#define TEXT_PLAIN "text/plain; charset=utf-8"

struct route {
    char *pattern;
    ss_http_handler_fn fn;
    void *opaque;
};

struct ss_http {
    ss_http_opts_t opts;        /* copy; bind_addr points at bind_addr below */
    char bind_addr[64];         /* numeric address */
    int ipv6;                   /* 1: bind_addr is IPv6 */
    double live_timeout_s;      /* effective limit, seconds */
    _Atomic uint64_t heartbeat; /* double bits: last tick, seconds on ss_metrics_now's clock */
    struct route *routes;
    size_t nroutes;
    int started;                    /* ss_http_start was called (routes frozen) */
    struct MHD_Daemon *daemon;      /* NULL when not listening */
    int port;                       /* bound port, 0 when not listening */
    char last_log[200];             /* last MHD error message, for start failures */
    ss_metrics_family_t *requests;  /* streamscore_http_requests_total{handler,code}, or NULL */
    ss_metrics_family_t *durations; /* streamscore_http_request_duration_seconds{handler} */
};

/* Per-request state: created by the URI log callback, freed when the request completes. */
struct req_ctx {
    char *raw_uri;
};

/* ---------- response buffer ---------- */

void ss_http_response_append(ss_http_response_t *resp, const void *data, size_t len) {
    if (resp->len + len + 1 > resp->cap) {
        size_t cap = resp->cap ? resp->cap : 256;
        while (cap < resp->len + len + 1)
            cap *= 2;
        resp->body = ss_xrealloc(resp->body, cap);
        resp->cap = cap;
    }
    if (len)
        memcpy(resp->body + resp->len, data, len);
    resp->len += len;
    resp->body[resp->len] = '\0';
}

void ss_http_response_printf(ss_http_response_t *resp, const char *fmt, ...) {
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        ss_http_response_append(resp, small, (size_t)n);
        return;
    }
    char *big = ss_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    ss_http_response_append(resp, big, (size_t)n);
    free(big);
}

void ss_http_response_release(ss_http_response_t *resp) {
    if (!resp)
        return;
    free(resp->body);
    *resp = (ss_http_response_t)SS_HTTP_RESPONSE_INIT;
}

/* ---------- query strings ---------- */

static int hexval(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes s[0..n) (percent escapes, '+' as space) into out; returns length or SS_ERR_INVAL. */
static int url_decode(const char *s, size_t n, char *out, size_t size) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return SS_ERR_INVAL;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (o + 1 >= size)
            return SS_ERR_INVAL;
        out[o++] = c;
    }
    if (size == 0)
        return SS_ERR_INVAL;
    out[o] = '\0';
    return (int)o;
}

int ss_http_query_param(const char *query, const char *name, char *out, size_t size) {
    if (!query || !name)
        return SS_ERR_NOTFOUND;
    size_t nlen = strlen(name);
    const char *p = query;
    while (*p) {
        const char *end = strchr(p, '&');
        size_t plen = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', plen);
        size_t klen = eq ? (size_t)(eq - p) : plen;
        if (klen == nlen && memcmp(p, name, nlen) == 0) {
            const char *v = eq ? eq + 1 : p + plen;
            return url_decode(v, (size_t)(p + plen - v), out, size);
        }
        if (!end)
            break;
        p = end + 1;
    }
    return SS_ERR_NOTFOUND;
}

/* ---------- routing ---------- */

static double atomic_load_seconds(_Atomic uint64_t *p) {
    uint64_t b = atomic_load_explicit(p, memory_order_relaxed);
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

void ss_http_heartbeat_at(ss_http_t *h, double t_s) {
    if (!h)
        return;
    uint64_t b;
    memcpy(&b, &t_s, sizeof b);
    atomic_store_explicit(&h->heartbeat, b, memory_order_relaxed);
}

void ss_http_heartbeat(ss_http_t *h) { ss_http_heartbeat_at(h, ss_metrics_now()); }

/* Returns 1 when the main loop ticked within the limit; *age gets the seconds since the tick. */
static int check_live(ss_http_t *h, double now_s, double *age) {
    *age = now_s - atomic_load_seconds(&h->heartbeat);
    return *age <= h->live_timeout_s;
}

static void answer_text(ss_http_response_t *resp, int status, const char *text) {
    resp->status = status;
    resp->content_type = TEXT_PLAIN;
    ss_http_response_append(resp, text, strlen(text));
}

static void handle_livez(ss_http_t *h, ss_http_response_t *resp, double now_s) {
    double age;
    if (check_live(h, now_s, &age)) {
        answer_text(resp, 200, "ok\n");
        return;
    }
    resp->status = 503;
    resp->content_type = TEXT_PLAIN;
    ss_http_response_printf(resp, "main loop stalled: no heartbeat for %.1f s (limit %.1f s)\n",
                            age, h->live_timeout_s);
}

static void handle_readyz(ss_http_t *h, ss_http_response_t *resp, double now_s) {
    double age;
    char reason[256] = "";
    if (!check_live(h, now_s, &age)) {
        resp->status = 503;
        resp->content_type = TEXT_PLAIN;
        ss_http_response_printf(resp, "not ready: main loop stalled for %.1f s\n", age);
        return;
    }
    if (!h->opts.ready || h->opts.ready(h, reason, sizeof reason, h->opts.ready_opaque)) {
        answer_text(resp, 200, "ready\n");
        return;
    }
    reason[sizeof reason - 1] = '\0';
    resp->status = 503;
    resp->content_type = TEXT_PLAIN;
    ss_http_response_printf(resp, "not ready%s%s\n", reason[0] ? ": " : "", reason);
}

static int route_matches(const char *pattern, const char *path) {
    size_t n = strlen(pattern);
    if (n > 0 && pattern[n - 1] == '/')
        return strncmp(pattern, path, n) == 0;
    return strcmp(pattern, path) == 0;
}

/* Answers req; returns the handler label for the request metrics: the built-in path, the route
 * pattern, or "other" (404, 405). */
static const char *dispatch(ss_http_t *h, const ss_http_request_t *req, ss_http_response_t *resp,
                            double now_s) {
    SS_ASSERT(h && req && resp);
    const char *path = req->path ? req->path : "/";
    const char *method = req->method ? req->method : "GET";
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        resp->status = 405;
        resp->content_type = TEXT_PLAIN;
        ss_http_response_printf(resp, "method '%s' not allowed\n", method);
        return "other";
    }
    if (strcmp(path, "/metrics") == 0 && h->opts.metrics) {
        size_t len;
        char *text = ss_metrics_render(h->opts.metrics, &len);
        resp->status = 200;
        resp->content_type = SS_METRICS_CONTENT_TYPE;
        ss_http_response_append(resp, text, len);
        free(text);
        return "/metrics";
    }
    if (strcmp(path, "/livez") == 0 || strcmp(path, "/healthz") == 0) {
        handle_livez(h, resp, now_s);
        return path[1] == 'l' ? "/livez" : "/healthz";
    }
    if (strcmp(path, "/readyz") == 0) {
        handle_readyz(h, resp, now_s);
        return "/readyz";
    }
    for (size_t i = 0; i < h->nroutes; i++) {
        if (!route_matches(h->routes[i].pattern, path))
            continue;
        ss_http_request_t r = *req;
        r.method = method;
        r.path = path;
        if (!r.query)
            r.query = "";
        h->routes[i].fn(h, &r, resp, h->routes[i].opaque);
        if (resp->status == 0)
            resp->status = 200;
        if (!resp->content_type)
            resp->content_type = TEXT_PLAIN;
        if (!resp->body)
            ss_http_response_append(resp, "", 0);
        return h->routes[i].pattern;
    }
    resp->status = 404;
    resp->content_type = TEXT_PLAIN;
    ss_http_response_printf(resp, "no such endpoint '%s'\n", path);
    return "other";
}

void ss_http_handle(ss_http_t *h, const ss_http_request_t *req, ss_http_response_t *resp,
                    double now_s) {
    dispatch(h, req, resp, now_s);
}

/* Counts a served request (listener only; the socket-free ss_http_handle does not count). */
static void count_request(ss_http_t *h, const char *handler, int status, double seconds) {
    if (!h->requests)
        return;
    char code[16];
    snprintf(code, sizeof code, "%d", status);
    ss_metrics_counter_inc(ss_metrics_counter_child(h->requests, (const char *[]){handler, code}));
    ss_metrics_histogram_observe(
        ss_metrics_histogram_child(h->durations, (const char *[]){handler}), seconds);
}

/* ---------- lifecycle ---------- */

ss_http_t *ss_http_new(const ss_http_opts_t *opts, ss_err_t *err) {
    ss_http_opts_t o = opts ? *opts : (ss_http_opts_t){0};
    const char *addr = o.bind_addr ? o.bind_addr : "127.0.0.1";
    if (o.port < 0 || o.port > 65535) {
        ss_err_set(err, SS_ERR_INVAL, "invalid http port %d: not in 0..65535", o.port);
        return NULL;
    }
    if (o.live_timeout_s < 0) {
        ss_err_set(err, SS_ERR_INVAL, "invalid live timeout %g s: negative", o.live_timeout_s);
        return NULL;
    }
    unsigned char tmp[sizeof(struct in6_addr)];
    int ipv6 = 0;
    if (inet_pton(AF_INET, addr, tmp) != 1) {
        if (inet_pton(AF_INET6, addr, tmp) != 1) {
            ss_err_set(err, SS_ERR_INVAL, "invalid http bind address '%s': not a numeric address",
                       addr);
            return NULL;
        }
        ipv6 = 1;
    }
    ss_http_t *h = ss_xcalloc(1, sizeof *h);
    h->opts = o;
    snprintf(h->bind_addr, sizeof h->bind_addr, "%s", addr);
    h->opts.bind_addr = h->bind_addr;
    h->ipv6 = ipv6;
    h->live_timeout_s = o.live_timeout_s > 0 ? o.live_timeout_s : 30;
    if (o.metrics) {
        h->requests = ss_metrics_counter_family(o.metrics, "streamscore_http_requests_total",
                                                "HTTP requests served, by handler and status code.",
                                                (const char *[]){"handler", "code"}, 2);
        h->durations = ss_metrics_histogram_family(
            o.metrics, "streamscore_http_request_duration_seconds",
            "Time to answer an HTTP request, by handler.", (const char *[]){"handler"}, 1, NULL, 0);
    }
    ss_http_heartbeat(h);
    return h;
}

int ss_http_route(ss_http_t *h, const char *pattern, ss_http_handler_fn fn, void *opaque) {
    SS_ASSERT(h && fn);
    if (h->started)
        SS_BUG("ss_http_route('%s') after ss_http_start", pattern ? pattern : "(null)");
    if (!pattern || pattern[0] != '/')
        return SS_ERR_INVAL;
    h->routes = ss_xrealloc(h->routes, (h->nroutes + 1) * sizeof *h->routes);
    h->routes[h->nroutes++] = (struct route){ss_xstrdup(pattern), fn, opaque};
    return 0;
}

/* MHD's error log, routed to ss_log; the last line is kept for start failures. */
static void mhd_log(void *cls, const char *fmt, va_list ap) {
    ss_http_t *h = cls;
    char line[200];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    snprintf(h->last_log, sizeof h->last_log, "%s", line);
    SS_LOG(LOG_WARNING, "http", "%s", line);
}

static void *mhd_uri_log(void *cls, const char *uri, struct MHD_Connection *conn) {
    (void)cls;
    (void)conn;
    struct req_ctx *ctx = ss_xcalloc(1, sizeof *ctx);
    ctx->raw_uri = ss_xstrdup(uri ? uri : "/");
    return ctx;
}

static void mhd_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                          enum MHD_RequestTerminationCode toe) {
    (void)cls;
    (void)conn;
    (void)toe;
    struct req_ctx *ctx = *con_cls;
    if (ctx) {
        free(ctx->raw_uri);
        free(ctx);
        *con_cls = NULL;
    }
}

static enum MHD_Result mhd_access(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
    (void)version;
    (void)upload_data;
    ss_http_t *h = cls;
    struct req_ctx *ctx = *con_cls;
    /* a request body is not for us: swallow it and answer (405) once it has been read */
    if (*upload_data_size) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    const char *q = ctx ? strchr(ctx->raw_uri, '?') : NULL;
    char *query = ss_xstrdup(q ? q + 1 : "");
    char *hash = strchr(query, '#');
    if (hash)
        *hash = '\0';
    ss_http_request_t req = {method, url, query};
    ss_http_response_t resp = SS_HTTP_RESPONSE_INIT;
    double t0 = ss_metrics_now();
    const char *handler = dispatch(h, &req, &resp, t0);
    count_request(h, handler, resp.status, ss_metrics_now() - t0);
    free(query);

    unsigned int status = (unsigned int)resp.status;
    const char *ctype = resp.content_type ? resp.content_type : TEXT_PLAIN;
    struct MHD_Response *r;
    if (resp.len) {
        r = MHD_create_response_from_buffer(resp.len, resp.body, MHD_RESPMEM_MUST_FREE);
        if (r)
            resp.body = NULL; /* MHD frees it */
    } else {
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    ss_http_response_release(&resp);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (status == 405)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

int ss_http_start(ss_http_t *h, ss_err_t *err) {
    SS_ASSERT(h);
    if (h->started)
        SS_BUG("ss_http_start called twice");
    h->started = 1;
    if (h->opts.port == 0 && !(h->opts.flags & SS_HTTP_EPHEMERAL))
        return 0;

    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    if (h->ipv6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)h->opts.port);
        inet_pton(AF_INET6, h->bind_addr, &sin6->sin6_addr);
        flags |= MHD_USE_IPv6;
    } else {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)h->opts.port);
        inet_pton(AF_INET, h->bind_addr, &sin->sin_addr);
    }
    h->last_log[0] = '\0';
    errno = 0;
    h->daemon = MHD_start_daemon(
        flags, (uint16_t)h->opts.port, NULL, NULL, mhd_access, h, MHD_OPTION_EXTERNAL_LOGGER,
        mhd_log, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_URI_LOG_CALLBACK,
        mhd_uri_log, h, MHD_OPTION_NOTIFY_COMPLETED, mhd_completed, h, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)64, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10, MHD_OPTION_END);
    int saved = errno;
    if (!h->daemon) {
        const char *why = h->last_log[0] ? h->last_log : (saved ? strerror(saved) : "unknown");
        return ss_err_set(err, SS_ERR_IO, "cannot listen on '%s%s%s:%d': %s", h->ipv6 ? "[" : "",
                          h->bind_addr, h->ipv6 ? "]" : "", h->opts.port, why);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? (int)info->port : h->opts.port;
    SS_LOG(LOG_INFO, "http", "listening on %s%s%s:%d (/metrics /livez /readyz)", h->ipv6 ? "[" : "",
           h->bind_addr, h->ipv6 ? "]" : "", h->port);
    return 0;
}

int ss_http_port(const ss_http_t *h) { return h ? h->port : 0; }

void ss_http_destroy(ss_http_t *h) {
    if (!h)
        return;
    if (h->daemon)
        MHD_stop_daemon(h->daemon);
    for (size_t i = 0; i < h->nroutes; i++)
        free(h->routes[i].pattern);
    free(h->routes);
    free(h);
}
