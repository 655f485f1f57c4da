/* ss_schemareg: Confluent Schema Registry client (see ss_schemareg.h). One curl easy handle per
 * client, reused under a lock so keep-alive connections survive between requests. */
#include "ss_schemareg.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "ss_log.h"

/* ss_avro takes schemas up to 1 MiB; registry answers are small */
#define MAX_RESPONSE_BYTES (4 << 20)
#define MAX_URLS 8
#define NEG_SLOTS 64
/* writer schemas fetched by id are kept for the life of the process (ids are immutable); a
 * registry holding more distinct schemas than this for our topics is not plausible, so beyond it
 * ids are treated as unknown instead of growing the cache without bound */
#define MAX_FETCHED 1024

struct ss_schemareg {
    pthread_mutex_t lock; /* guards curl, neg[] and the request counter */
    CURL *curl;
    char *urls[MAX_URLS]; /* base URLs without trailing '/', tried in order on network errors */
    int n_urls;
    int cur; /* index of the URL that answered last */
    char *userinfo;
    long timeout_ms, connect_timeout_ms;
    int64_t neg_ttl_ms;
    struct {
        int32_t id;
        int64_t until_ms; /* monotonic; 0 = free slot */
    } neg[NEG_SLOTS];
    int neg_next;
    uint64_t requests;
    int fetched; /* schemas added by ss_schemareg_fetch_cb (guarded by lock) */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ================================ pure helpers ================================ */

void ss_schemareg_body(const char *schema_json, ss_buf_t *out) {
    json_t *o = json_object();
    json_object_set_new(o, "schema", json_string(schema_json ? schema_json : ""));
    char *s = json_dumps(o, JSON_COMPACT);
    if (!s) /* invalid UTF-8 in the schema: jansson refuses it; so does the registry */
        s = ss_xstrdup("{\"schema\":\"\"}");
    ss_buf_adds(out, s);
    free(s);
    json_decref(o);
}

static json_t *parse_object(const char *body, size_t len, ss_err_t *err) {
    json_error_t je;
    json_t *o = json_loadb(body ? body : "", body ? len : 0, 0, &je);
    if (!o) {
        ss_err_set(err, SS_ERR_INVAL, "schema registry response: malformed JSON: %s", je.text);
        return NULL;
    }
    if (!json_is_object(o)) {
        json_decref(o);
        ss_err_set(err, SS_ERR_INVAL, "schema registry response: not a JSON object");
        return NULL;
    }
    return o;
}

int ss_schemareg_parse_id(const char *body, size_t len, int32_t *id, ss_err_t *err) {
    json_t *o = parse_object(body, len, err);
    if (!o)
        return SS_ERR_INVAL;
    json_t *v = json_object_get(o, "id");
    int rc = 0;
    if (!v)
        rc = ss_err_set(err, SS_ERR_INVAL, "schema registry response: no 'id'");
    else if (!json_is_integer(v))
        rc = ss_err_set(err, SS_ERR_INVAL, "schema registry response: 'id' is not an integer");
    else if (json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX)
        rc = ss_err_set(err, SS_ERR_INVAL,
                        "schema registry response: id %" JSON_INTEGER_FORMAT " out of range",
                        json_integer_value(v));
    else
        *id = (int32_t)json_integer_value(v);
    json_decref(o);
    return rc;
}

int ss_schemareg_parse_schema(int32_t id, const char *body, size_t len, ss_buf_t *out,
                              ss_err_t *err) {
    json_t *o = parse_object(body, len, err);
    if (!o)
        return SS_ERR_INVAL;
    int rc = 0;
    json_t *t = json_object_get(o, "schemaType");
    json_t *s = json_object_get(o, "schema");
    if (t && !json_is_null(t) && (!json_is_string(t) || strcmp(json_string_value(t), "AVRO") != 0))
        rc = ss_err_set(err, SS_ERR_INVAL, "schema id %d is %s, not AVRO", (int)id,
                        json_is_string(t) ? json_string_value(t) : "of a non-string type");
    else if (!s)
        rc = ss_err_set(err, SS_ERR_INVAL, "schema registry response: no 'schema'");
    else if (!json_is_string(s))
        rc = ss_err_set(err, SS_ERR_INVAL, "schema registry response: 'schema' is not a string");
    else
        ss_buf_add(out, json_string_value(s), json_string_length(s));
    json_decref(o);
    return rc;
}

int ss_schemareg_http_error(const char *what, long status, const char *body, size_t len,
                            ss_err_t *err) {
    int code;
    if (status == 0 || status >= 500)
        code = SS_ERR_RETRIABLE;
    else if (status == 404)
        code = SS_ERR_NOTFOUND;
    else if (status == 409)
        code = SS_ERR_CONFLICT;
    else if (status == 401 || status == 403)
        code = SS_ERR_FATAL;
    else
        code = SS_ERR_INVAL;

    ss_buf_t detail = SS_BUF_INIT;
    json_t *o = body && len ? json_loadb(body, len, 0, NULL) : NULL;
    json_t *m = json_is_object(o) ? json_object_get(o, "message") : NULL;
    json_t *ec = json_is_object(o) ? json_object_get(o, "error_code") : NULL;
    if (json_is_string(m)) {
        ss_buf_adds(&detail, json_string_value(m));
        if (json_is_integer(ec))
            ss_buf_addf(&detail, " (error_code %" JSON_INTEGER_FORMAT ")", json_integer_value(ec));
    } else {
        /* not the registry's error shape (a proxy page?): show the start, printable only */
        for (size_t i = 0; body && i < len && i < 120; i++)
            ss_buf_addch(&detail, isprint((unsigned char)body[i]) ? body[i] : ' ');
    }
    json_decref(o);
    if (detail.len)
        ss_err_set(err, code, "%s: HTTP %ld: %s", what, status, detail.buf);
    else
        ss_err_set(err, code, "%s: HTTP %ld", what, status);
    ss_buf_release(&detail);
    return code;
}

void ss_schemareg_subject(const char *topic, int escape, ss_buf_t *out) {
    static const char hex[] = "0123456789ABCDEF";
    const char *parts[2] = {topic, "-value"};
    for (int k = 0; k < 2; k++) {
        for (const unsigned char *p = (const unsigned char *)parts[k]; *p; p++) {
            if (!escape || isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
                ss_buf_addch(out, *p);
            } else {
                ss_buf_addch(out, '%');
                ss_buf_addch(out, hex[*p >> 4]);
                ss_buf_addch(out, hex[*p & 15]);
            }
        }
    }
}

/* ================================ client ================================ */

ss_schemareg_t *ss_schemareg_new(const ss_schemareg_opts_t *opts, ss_err_t *err) {
    if (!opts || !opts->url || !*opts->url) {
        ss_err_set(err, SS_ERR_INVAL, "schema registry URL is empty");
        return NULL;
    }
    pthread_once(&curl_once, curl_init_once);
    ss_schemareg_t *sr = ss_xcalloc(1, sizeof(*sr));
    pthread_mutex_init(&sr->lock, NULL);
    /* a comma-separated list, as Confluent clients accept */
    const char *p = opts->url;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n && isspace((unsigned char)*p))
            p++, n--;
        while (n && (isspace((unsigned char)p[n - 1]) || p[n - 1] == '/'))
            n--;
        if (n) {
            char *u = ss_xstrndup(p, n);
            if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) {
                ss_err_set(err, SS_ERR_INVAL,
                           "schema registry URL '%s' does not start with http:// or https://", u);
                free(u);
                ss_schemareg_destroy(sr);
                return NULL;
            }
            if (sr->n_urls == MAX_URLS) {
                ss_err_set(err, SS_ERR_INVAL, "more than %d schema registry URLs", MAX_URLS);
                free(u);
                ss_schemareg_destroy(sr);
                return NULL;
            }
            sr->urls[sr->n_urls++] = u;
        }
        if (!end)
            break;
        p = end + 1;
    }
    if (!sr->n_urls) {
        ss_err_set(err, SS_ERR_INVAL, "schema registry URL '%s' holds no URL", opts->url);
        ss_schemareg_destroy(sr);
        return NULL;
    }
    sr->userinfo = opts->userinfo && *opts->userinfo ? ss_xstrdup(opts->userinfo) : NULL;
    sr->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 5000;
    sr->connect_timeout_ms = opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 2000;
    if (sr->connect_timeout_ms > sr->timeout_ms)
        sr->connect_timeout_ms = sr->timeout_ms;
    sr->neg_ttl_ms = opts->negative_ttl_ms > 0 ? opts->negative_ttl_ms : 30000;
    if (!(sr->curl = curl_easy_init())) {
        ss_err_set(err, SS_ERR_FATAL, "cannot create a curl handle");
        ss_schemareg_destroy(sr);
        return NULL;
    }
    return sr;
}

void ss_schemareg_destroy(ss_schemareg_t *sr) {
    if (!sr)
        return;
    if (sr->curl)
        curl_easy_cleanup(sr->curl);
    for (int i = 0; i < sr->n_urls; i++)
        free(sr->urls[i]);
    if (sr->userinfo) {
        memset(sr->userinfo, 0, strlen(sr->userinfo));
        free(sr->userinfo);
    }
    pthread_mutex_destroy(&sr->lock);
    free(sr);
}

uint64_t ss_schemareg_requests(const ss_schemareg_t *sr) {
    ss_schemareg_t *m = (ss_schemareg_t *)sr;
    pthread_mutex_lock(&m->lock);
    uint64_t n = m->requests;
    pthread_mutex_unlock(&m->lock);
    return n;
}

typedef struct sink {
    ss_buf_t *buf;
    int overflow;
} sink_t;

static size_t on_body(char *p, size_t size, size_t nmemb, void *opaque) {
    sink_t *s = opaque;
    size_t n = size * nmemb;
    if (s->buf->len + n > MAX_RESPONSE_BYTES) {
        s->overflow = 1;
        return 0; /* makes curl fail with CURLE_WRITE_ERROR */
    }
    ss_buf_add(s->buf, p, n);
    return n;
}

/* One request against the URL list: a network failure moves on to the next URL. *status gets
 * the HTTP status; resp the body. Returns 0 when some server answered (any status), or
 * SS_ERR_RETRIABLE when none did. Call with sr->lock held. */
static int http_do_locked(ss_schemareg_t *sr, const char *method, const char *path,
                          const char *body, long *status, ss_buf_t *resp, ss_err_t *err) {
    CURL *c = sr->curl;
    char errbuf[CURL_ERROR_SIZE];
    struct curl_slist *hdrs = NULL;
    hdrs = curl_slist_append(hdrs, "Accept: " SS_SCHEMAREG_CONTENT_TYPE ", application/json");
    if (body)
        hdrs = curl_slist_append(hdrs, "Content-Type: " SS_SCHEMAREG_CONTENT_TYPE);
    int rc = SS_ERR_RETRIABLE;
    ss_buf_t url = SS_BUF_INIT;
    for (int k = 0; k < sr->n_urls; k++) {
        int i = (sr->cur + k) % sr->n_urls;
        sink_t sink = {resp, 0};
        ss_buf_reset(resp);
        ss_buf_reset(&url);
        ss_buf_addf(&url, "%s%s", sr->urls[i], path);
        curl_easy_reset(c);
        errbuf[0] = 0;
        curl_easy_setopt(c, CURLOPT_URL, url.buf);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, sr->timeout_ms);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, sr->connect_timeout_ms);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
        curl_easy_setopt(c, CURLOPT_USERAGENT, "streamscore/" SS_VERSION);
#if LIBCURL_VERSION_NUM >= 0x075500
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
        curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
        if (sr->userinfo) {
            curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
            curl_easy_setopt(c, CURLOPT_USERPWD, sr->userinfo);
        }
        if (body) {
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
        }
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        sr->requests++;
        CURLcode cc = curl_easy_perform(c);
        if (cc == CURLE_OK) {
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
            sr->cur = i;
            rc = 0;
            break;
        }
        if (sink.overflow) {
            rc = ss_err_set(err, SS_ERR_INVAL, "%s %s: response larger than %d bytes", method,
                            url.buf, MAX_RESPONSE_BYTES);
            break;
        }
        /* never print userinfo: the URL we built holds none, errbuf neither */
        ss_err_set(err, SS_ERR_RETRIABLE, "schema registry '%s' unreachable: %s", sr->urls[i],
                   errbuf[0] ? errbuf : curl_easy_strerror(cc));
    }
    ss_buf_release(&url);
    curl_slist_free_all(hdrs);
    return rc;
}

static int http_do(ss_schemareg_t *sr, const char *method, const char *path, const char *body,
                   long *status, ss_buf_t *resp, ss_err_t *err) {
    pthread_mutex_lock(&sr->lock);
    int rc = http_do_locked(sr, method, path, body, status, resp, err);
    pthread_mutex_unlock(&sr->lock);
    return rc;
}

/* register (POST /subjects/S/versions) or lookup (POST /subjects/S) */
static int post_schema(ss_schemareg_t *sr, const char *subject, const char *schema_json,
                       int versions, int32_t *id, ss_err_t *err) {
    ss_buf_t path = SS_BUF_INIT, body = SS_BUF_INIT, resp = SS_BUF_INIT, what = SS_BUF_INIT;
    long status = 0;
    int rc;
    ss_buf_adds(&path, "/subjects/");
    for (const unsigned char *p = (const unsigned char *)subject; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~')
            ss_buf_addch(&path, *p);
        else
            ss_buf_addf(&path, "%%%02X", *p);
    }
    if (versions)
        ss_buf_adds(&path, "/versions");
    ss_schemareg_body(schema_json, &body);
    ss_buf_addf(&what, "%s subject '%s' at '%s'", versions ? "register" : "look up", subject,
                sr->urls[0]);
    if ((rc = http_do(sr, "POST", path.buf, body.buf, &status, &resp, err)) < 0)
        goto out;
    if (status < 200 || status > 299) {
        rc = ss_schemareg_http_error(what.buf, status, resp.buf, resp.len, err);
        goto out;
    }
    ss_err_t e2 = SS_ERR_INIT;
    if ((rc = ss_schemareg_parse_id(resp.buf, resp.len, id, &e2)) < 0)
        ss_err_set(err, rc, "%s: %s", what.buf, e2.msg);
out:
    ss_buf_release(&path);
    ss_buf_release(&body);
    ss_buf_release(&resp);
    ss_buf_release(&what);
    return rc;
}

int ss_schemareg_register(ss_schemareg_t *sr, const char *subject, const char *schema_json,
                          int32_t *id, ss_err_t *err) {
    return post_schema(sr, subject, schema_json, 1, id, err);
}

int ss_schemareg_lookup(ss_schemareg_t *sr, const char *subject, const char *schema_json,
                        int32_t *id, ss_err_t *err) {
    return post_schema(sr, subject, schema_json, 0, id, err);
}

static int neg_cached_locked(ss_schemareg_t *sr, int32_t id, int64_t now) {
    for (int i = 0; i < NEG_SLOTS; i++)
        if (sr->neg[i].until_ms > now && sr->neg[i].id == id)
            return 1;
    return 0;
}

int ss_schemareg_fetch(ss_schemareg_t *sr, int32_t id, ss_buf_t *out, ss_err_t *err) {
    ss_buf_t path = SS_BUF_INIT, resp = SS_BUF_INIT, what = SS_BUF_INIT;
    long status = 0;
    int rc;
    ss_buf_addf(&what, "get schema id %d from '%s'", (int)id, sr->urls[0]);
    pthread_mutex_lock(&sr->lock);
    if (neg_cached_locked(sr, id, mono_ms())) {
        pthread_mutex_unlock(&sr->lock);
        rc = ss_err_set(err, SS_ERR_NOTFOUND, "%s: unknown to the registry (cached)", what.buf);
        goto out;
    }
    ss_buf_addf(&path, "/schemas/ids/%d", (int)id);
    rc = http_do_locked(sr, "GET", path.buf, NULL, &status, &resp, err);
    if (rc == 0 && status == 404) {
        sr->neg[sr->neg_next].id = id;
        sr->neg[sr->neg_next].until_ms = mono_ms() + sr->neg_ttl_ms;
        sr->neg_next = (sr->neg_next + 1) % NEG_SLOTS;
    }
    pthread_mutex_unlock(&sr->lock);
    if (rc < 0)
        goto out;
    if (status < 200 || status > 299) {
        rc = ss_schemareg_http_error(what.buf, status, resp.buf, resp.len, err);
        goto out;
    }
    ss_err_t e2 = SS_ERR_INIT;
    if ((rc = ss_schemareg_parse_schema(id, resp.buf, resp.len, out, &e2)) < 0)
        ss_err_set(err, rc, "%s: %s", what.buf, e2.msg);
out:
    ss_buf_release(&path);
    ss_buf_release(&resp);
    ss_buf_release(&what);
    return rc;
}

int ss_schemareg_fetch_cb(ss_avro_reg_t *reg, int32_t id, void *opaque, ss_err_t *err) {
    ss_schemareg_t *sr = opaque;
    ss_buf_t text = SS_BUF_INIT;
    ss_err_t e2 = SS_ERR_INIT;
    pthread_mutex_lock(&sr->lock);
    int full = sr->fetched >= MAX_FETCHED;
    pthread_mutex_unlock(&sr->lock);
    if (full)
        return ss_err_set(err, SS_ERR_NOTFOUND,
                          "unknown schema id %d: %d writer schemas already fetched, the limit",
                          (int)id, MAX_FETCHED);
    int rc = ss_schemareg_fetch(sr, id, &text, &e2);
    if (rc == 0 && strlen(text.buf) != text.len)
        rc = ss_err_set(&e2, SS_ERR_INVAL, "schema id %d holds a NUL byte", (int)id);
    if (rc == 0 && (rc = ss_avro_reg_add(reg, id, NULL, text.buf, &e2)) < 0) {
        /* the registry answered but we cannot use the schema: do not ask again for a while */
        pthread_mutex_lock(&sr->lock);
        sr->neg[sr->neg_next].id = id;
        sr->neg[sr->neg_next].until_ms = mono_ms() + sr->neg_ttl_ms;
        sr->neg_next = (sr->neg_next + 1) % NEG_SLOTS;
        pthread_mutex_unlock(&sr->lock);
    }
    ss_buf_release(&text);
    if (rc == 0) {
        pthread_mutex_lock(&sr->lock);
        sr->fetched++;
        pthread_mutex_unlock(&sr->lock);
        SS_LOG(LOG_INFO, "schemareg", "fetched writer schema id=%d", (int)id);
        return 0;
    }
    /* a message with an unusable id is bad data (dead letter); only an unreachable registry, or
     * one failing with 5xx, is worth retrying */
    if (rc != SS_ERR_RETRIABLE && rc != SS_ERR_FATAL)
        return ss_err_set(err, SS_ERR_NOTFOUND, "unknown schema id %d: %s", (int)id, e2.msg);
    return ss_err_set(err, rc, "%s", e2.msg);
}

/* ================================ attach ================================ */

typedef struct mline {
    int32_t id;
    char *topic;
    char *file;
} mline_t;

static int read_text(const char *path, ss_buf_t *out, ss_err_t *err) {
    FILE *f = fopen(path, "r");
    if (!f)
        return ss_err_set_errno(err, SS_ERR_IO, errno, "cannot open '%s'", path);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        ss_buf_add(out, chunk, n);
    int bad = ferror(f);
    int saved = errno;
    fclose(f);
    if (bad)
        return ss_err_set_errno(err, SS_ERR_IO, saved, "cannot read '%s'", path);
    return 0;
}

static int cmp_mline(const void *a, const void *b) {
    const mline_t *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

/* The current (non-historical) manifest lines, sorted by id. The registry already validated
 * the manifest (we load it with ss_avro_reg_new first), so this parse can be simple. */
static int read_manifest(const char *dir, mline_t **out, size_t *n_out, ss_err_t *err) {
    ss_buf_t path = SS_BUF_INIT, text = SS_BUF_INIT;
    ss_buf_addf(&path, "%s/manifest", dir);
    int rc = read_text(path.buf, &text, err);
    mline_t *v = NULL;
    size_t n = 0;
    for (char *line = text.buf; rc == 0 && line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char *tok[4] = {0};
        int nt = 0;
        for (char *p = line; *p && nt < 4;) {
            while (*p && isspace((unsigned char)*p))
                *p++ = 0;
            if (!*p)
                break;
            tok[nt++] = p;
            while (*p && !isspace((unsigned char)*p))
                p++;
        }
        if (nt >= 3 && !(nt == 4 && strcmp(tok[3], "historical") == 0)) {
            v = ss_xrealloc(v, (n + 1) * sizeof(*v));
            v[n].id = (int32_t)strtol(tok[0], NULL, 10);
            v[n].topic = ss_xstrdup(tok[1]);
            v[n].file = ss_xstrdup(tok[2]);
            n++;
        }
        line = nl ? nl + 1 : NULL;
    }
    ss_buf_release(&path);
    ss_buf_release(&text);
    if (n)
        qsort(v, n, sizeof(*v), cmp_mline);
    *out = v;
    *n_out = n;
    return rc;
}

static const char *deployed_topic(const char *const *topics, const char *manifest_topic) {
    for (size_t i = 0; topics && topics[i] && topics[i + 1]; i += 2)
        if (strcmp(topics[i], manifest_topic) == 0)
            return topics[i + 1];
    return manifest_topic;
}

ss_avro_reg_t *ss_schemareg_attach(const ss_schemareg_attach_opts_t *opts, ss_schemareg_t **sr,
                                   ss_err_t *err) {
    *sr = NULL;
    /* the manifest is always loaded first: it validates every file, and without a URL it is the
     * registry */
    ss_avro_reg_t *local = ss_avro_reg_new(opts->schemas_dir, err);
    if (!local || !opts->url || !*opts->url)
        return local;
    ss_avro_reg_destroy(local);

    ss_avro_reg_t *reg = NULL;
    ss_schemareg_t *client = NULL;
    mline_t *lines = NULL;
    size_t n = 0;
    ss_buf_t text = SS_BUF_INIT, path = SS_BUF_INIT, subject = SS_BUF_INIT;
    int rc = -1;

    if (!(client = ss_schemareg_new(&(ss_schemareg_opts_t){.url = opts->url,
                                                           .userinfo = opts->userinfo,
                                                           .timeout_ms = opts->timeout_ms},
                                    err)) ||
        read_manifest(opts->schemas_dir, &lines, &n, err) < 0)
        goto out;
    reg = ss_avro_reg_new(NULL, err);
    for (size_t i = 0; i < n; i++) {
        int32_t id = -1;
        ss_err_t e2 = SS_ERR_INIT;
        ss_buf_reset(&text);
        ss_buf_reset(&path);
        ss_buf_reset(&subject);
        ss_buf_addf(&path, "%s/%s", opts->schemas_dir, lines[i].file);
        ss_schemareg_subject(deployed_topic(opts->topics, lines[i].topic), 0, &subject);
        if (read_text(path.buf, &text, err) < 0)
            goto out;
        int r = opts->lookup_only ? ss_schemareg_lookup(client, subject.buf, text.buf, &id, &e2)
                                  : ss_schemareg_register(client, subject.buf, text.buf, &id, &e2);
        if (r < 0) {
            ss_err_set(err, r, "%s", e2.msg);
            goto out;
        }
        if ((r = ss_avro_reg_add(reg, id, lines[i].topic, text.buf, &e2)) < 0) {
            ss_err_set(err, r, "subject '%s' (id %d from the registry): %s", subject.buf, (int)id,
                       e2.msg);
            goto out;
        }
        if (id != lines[i].id)
            SS_LOG(LOG_NOTICE, "schemareg",
                   "subject '%s' has registry id %d, not manifest id %d: producers using the "
                   "manifest must use the registry too",
                   subject.buf, (int)id, (int)lines[i].id);
        else
            SS_LOG(LOG_INFO, "schemareg", "subject '%s' id=%d", subject.buf, (int)id);
        if (opts->on_subject)
            opts->on_subject(subject.buf, id, lines[i].id, opts->opaque);
    }
    ss_avro_reg_set_fetch(reg, ss_schemareg_fetch_cb, client);
    rc = 0;
out:
    for (size_t i = 0; i < n; i++) {
        free(lines[i].topic);
        free(lines[i].file);
    }
    free(lines);
    ss_buf_release(&text);
    ss_buf_release(&path);
    ss_buf_release(&subject);
    if (rc < 0) {
        ss_avro_reg_destroy(reg);
        ss_schemareg_destroy(client);
        return NULL;
    }
    *sr = client;
    return reg;
}

ss_avro_reg_t *ss_schemareg_attach_cfg(const ss_cfg_t *cfg, const char *const *topics,
                                       ss_schemareg_t **sr, ss_err_t *err) {
    ss_schemareg_attach_opts_t o = {
        .schemas_dir = ss_cfg_str(cfg, "schemas.dir"),
        .url = ss_cfg_str(cfg, "schema.registry.url"),
        .userinfo = ss_cfg_str(cfg, "schema.registry.basic.auth.user.info"),
        .timeout_ms = (int)ss_cfg_int(cfg, "schema.registry.timeout.ms"),
        .lookup_only = !ss_cfg_bool(cfg, "schema.registry.auto.register"),
        .topics = topics,
    };
    return ss_schemareg_attach(&o, sr, err);
}

/* Manifest topic -> config key of its deployed name, for ss_schemareg_open. */
static const char *const topic_keys[][2] = {
    {"transactions", "topic.transactions"},
    {"transactions.dlq", "topic.dlq"},
    {"customer-features", "topic.features"},
    {"churn-scores", "topic.scores"},
    {"recommendations", "topic.recommendations"},
    {"demand-forecasts", "topic.forecasts"},
    {"drift-alerts", "topic.alerts"},
};

const char *ss_schemareg_topic_key(const char *manifest_topic) {
    for (size_t i = 0; i < sizeof(topic_keys) / sizeof(topic_keys[0]); i++)
        if (strcmp(topic_keys[i][0], manifest_topic) == 0)
            return topic_keys[i][1];
    return NULL;
}

ss_avro_reg_t *ss_schemareg_open(const ss_cfg_t *cfg, const char *const *keys, ss_schemareg_t **sr,
                                 ss_err_t *err) {
    const char *pairs[2 * (sizeof(topic_keys) / sizeof(topic_keys[0])) + 1];
    size_t np = 0;
    *sr = NULL;
    for (size_t i = 0; keys && keys[i]; i++) {
        const char *manifest_topic = NULL;
        for (size_t k = 0; k < sizeof(topic_keys) / sizeof(topic_keys[0]); k++)
            if (strcmp(topic_keys[k][1], keys[i]) == 0)
                manifest_topic = topic_keys[k][0];
        if (!manifest_topic)
            SS_BUG("'%s' is not a topic key ss_schemareg knows", keys[i]);
        const char *deployed = ss_cfg_str(cfg, keys[i]);
        if (*deployed && strcmp(deployed, manifest_topic) != 0 &&
            np + 2 < sizeof(pairs) / sizeof(pairs[0])) {
            pairs[np++] = manifest_topic;
            pairs[np++] = deployed;
        }
    }
    pairs[np] = NULL;
    const char *url = ss_cfg_str(cfg, "schema.registry.url");
    ss_avro_reg_t *reg = ss_schemareg_attach_cfg(cfg, pairs, sr, err);
    if (reg && *url)
        SS_LOG(LOG_INFO, "schemareg", "using the schema registry at '%s' (%s)", url,
               ss_cfg_bool(cfg, "schema.registry.auto.register") ? "registering our schemas"
                                                                 : "lookup only");
    return reg;
}

ss_avro_reg_t *ss_schemareg_open_reader(const ss_cfg_t *cfg, ss_schemareg_t **sr, ss_err_t *err) {
    const char *url = ss_cfg_str(cfg, "schema.registry.url");
    *sr = NULL;
    if (!*url)
        return ss_avro_reg_new(ss_cfg_str(cfg, "schemas.dir"), err);
    ss_schemareg_t *client = ss_schemareg_new(
        &(ss_schemareg_opts_t){.url = url,
                               .userinfo = ss_cfg_str(cfg, "schema.registry.basic.auth.user.info"),
                               .timeout_ms = (int)ss_cfg_int(cfg, "schema.registry.timeout.ms")},
        err);
    if (!client)
        return NULL;
    ss_avro_reg_t *reg = ss_avro_reg_new(NULL, err);
    ss_avro_reg_set_fetch(reg, ss_schemareg_fetch_cb, client);
    SS_LOG(LOG_INFO, "schemareg", "decoding with writer schemas from '%s'", url);
    *sr = client;
    return reg;
}
