/* ss_schemareg: a Confluent Schema Registry client (REST over libcurl, JSON with jansson).
 * Registers our original .avsc texts under TopicNameStrategy subjects (`<topic>-value`) and
 * fetches writer schemas by id for ss_avro (ss_avro_reg_set_fetch); ss_avro's registry is the
 * cache (ids are immutable), plus a short negative cache of ids the registry does not know.
 * Depends on ss_avro, ss_buf, ss_cfg, ss_err, ss_log, libcurl and jansson; no other I/O.
 * Threads: a client may be used from any thread (requests are serialised by an internal lock);
 * the response parsers are pure functions. See docs/schemas.md "Schema Registry". */
#ifndef SS_SCHEMAREG_H
#define SS_SCHEMAREG_H

#include <stddef.h>
#include <stdint.h>

#include "ss_avro.h"
#include "ss_buf.h"
#include "ss_cfg.h"
#include "ss_err.h"

#define SS_SCHEMAREG_CONTENT_TYPE "application/vnd.schemaregistry.v1+json"

typedef struct ss_schemareg ss_schemareg_t;

typedef struct ss_schemareg_opts {
    const char *url;        /* base URL, e.g. "http://schema-registry:8081" (required) */
    const char *userinfo;   /* "user:password" for HTTP basic auth; NULL or "" = none (secret) */
    int timeout_ms;         /* whole-request timeout; 0 = 5000 */
    int connect_timeout_ms; /* 0 = 2000 */
    int negative_ttl_ms;    /* how long an unknown id (404) is not asked again; 0 = 30000 */
} ss_schemareg_opts_t;

/* Returns a new client (copies opts' strings), or NULL with SS_ERR_INVAL for a missing/non-http
 * URL. Makes no request. */
ss_schemareg_t *ss_schemareg_new(const ss_schemareg_opts_t *opts, ss_err_t *err);
/* NULL is a no-op. Destroy every ss_avro registry it is attached to first. */
void ss_schemareg_destroy(ss_schemareg_t *sr);

/* POST /subjects/{subject}/versions with {"schema": schema_json} (the text verbatim): registers
 * it (idempotent: an already registered schema returns its existing id) and stores the id.
 * Errors: SS_ERR_RETRIABLE (cannot connect, timeout, HTTP 5xx), SS_ERR_CONFLICT (409: not
 * compatible with the subject's earlier versions), SS_ERR_INVAL (422 invalid schema, other 4xx,
 * malformed response), SS_ERR_FATAL (401/403: credentials). Messages quote subject and URL. */
int ss_schemareg_register(ss_schemareg_t *sr, const char *subject, const char *schema_json,
                          int32_t *id, ss_err_t *err);
/* POST /subjects/{subject}: the id under which schema_json is registered in subject, without
 * registering it. SS_ERR_NOTFOUND (404: unknown subject or schema), other errors as above. */
int ss_schemareg_lookup(ss_schemareg_t *sr, const char *subject, const char *schema_json,
                        int32_t *id, ss_err_t *err);
/* GET /schemas/ids/{id}: appends the schema text to out. SS_ERR_NOTFOUND (404, remembered for
 * negative_ttl_ms: no request is made again until then), SS_ERR_RETRIABLE (network, 5xx),
 * SS_ERR_INVAL (not an Avro schema, malformed response). */
int ss_schemareg_fetch(ss_schemareg_t *sr, int32_t id, ss_buf_t *out, ss_err_t *err);

/* Number of HTTP requests made so far (for tests and metrics). */
uint64_t ss_schemareg_requests(const ss_schemareg_t *sr);

/* The ss_avro fetch callback (opaque = the client): fetches id and adds it to reg as a writer
 * schema. 404, a non-Avro schema or one ss_avro cannot parse give SS_ERR_NOTFOUND (the payload is
 * dead-lettered as UNKNOWN_SCHEMA, see ss_dlq_publish); network/5xx give SS_ERR_RETRIABLE (pause,
 * retry). The cache is bounded: after 1024 fetched schemas further unknown ids are NOTFOUND. */
int ss_schemareg_fetch_cb(ss_avro_reg_t *reg, int32_t id, void *opaque, ss_err_t *err);

/* ================================ attaching to a service ================================ */

typedef struct ss_schemareg_attach_opts {
    const char *schemas_dir; /* directory with `manifest` and the .avsc files (required) */
    const char *url;         /* NULL or "": no registry, the manifest ids are used */
    const char *userinfo;    /* as ss_schemareg_opts_t */
    int timeout_ms;          /* as ss_schemareg_opts_t */
    int lookup_only;         /* 1: look ids up (ss_schemareg_lookup) instead of registering */
    /* Manifest topic -> deployed topic name, as pairs {"transactions", "txn-prod", ..., NULL};
     * the subject is "<deployed topic>-value". NULL = the manifest names are the topic names. */
    const char *const *topics;
    /* Called once per registered subject (may be NULL), on the calling thread. */
    void (*on_subject)(const char *subject, int32_t registry_id, int32_t manifest_id, void *opaque);
    void *opaque;
} ss_schemareg_attach_opts_t;

/* Returns a new schema registry for a service (free with ss_avro_reg_destroy, then destroy
 * *sr). Without a URL: ss_avro_reg_new(schemas_dir) and *sr = NULL. With one: every current
 * (non-historical) manifest schema, in manifest order, is registered under
 * "<topic>-value" (or looked up), and added to a fresh registry under the id the Schema Registry
 * gave, as the current schema of its manifest topic; historical manifest ids are not used (old
 * writer schemas are fetched by id on demand); *sr gets the client, installed as fetch callback.
 * A registry id that differs from the manifest id is logged at notice level (producers that use
 * the manifest, like streamscore-replay, must then use the registry too).
 * Errors (NULL returned, nothing left allocated): manifest errors as ss_avro_reg_new; the client's
 * errors as ss_schemareg_register, the message prefixed with the subject. */
ss_avro_reg_t *ss_schemareg_attach(const ss_schemareg_attach_opts_t *opts, ss_schemareg_t **sr,
                                   ss_err_t *err);

/* Config keys for a service's ss_cfg table: put SS_SCHEMAREG_CFG_DEFS in it (next to
 * schemas.dir) and call ss_schemareg_attach_cfg. */
/* clang-format off */
#define SS_SCHEMAREG_CFG_DEFS                                                                      \
    {"schema.registry.url", SS_CFG_STR, "", 0, 0,                                                  \
     "Confluent Schema Registry base URL (empty: use the ids of schemas.dir/manifest)", 0, NULL},  \
    {"schema.registry.basic.auth.user.info", SS_CFG_STR, "", 0, 0,                                 \
     "Schema Registry basic auth 'user:password' (@file reads a file)", SS_CFG_SECRET, NULL},      \
    {"schema.registry.timeout.ms", SS_CFG_INT, "5000", 100, 600000,                                \
     "Schema Registry request timeout", 0, NULL},                                                  \
    {"schema.registry.auto.register", SS_CFG_BOOL, "true", 0, 0,                                   \
     "register our schemas on start (false: look their ids up only)", 0, NULL}
/* clang-format on */

/* ss_schemareg_attach with the values of the keys above and schemas.dir from cfg (which must
 * declare them all: undeclared keys are a programming error). topics as in the opts. */
ss_avro_reg_t *ss_schemareg_attach_cfg(const ss_cfg_t *cfg, const char *const *topics,
                                       ss_schemareg_t **sr, ss_err_t *err);

/* The one call a service or tool makes for its schemas: ss_schemareg_attach_cfg with the
 * deployed topic names read from cfg. keys: NULL-terminated list of the topic config keys the
 * executable declares, among topic.transactions, topic.dlq, topic.features, topic.scores,
 * topic.recommendations, topic.forecasts, topic.alerts (each maps to its manifest topic; an
 * unknown key is SS_BUG); a key whose value differs from the manifest topic makes the subject
 * "<value>-value". cfg must declare schemas.dir and SS_SCHEMAREG_CFG_DEFS. Without
 * schema.registry.url: the manifest registry and *sr = NULL. Returns new (destroy the registry,
 * then ss_schemareg_destroy(*sr)); NULL with err as ss_schemareg_attach. Usage in main.c:
 *   ss_schemareg_t *sr = NULL;
 *   reg = ss_schemareg_open(cfg, (const char *[]){"topic.transactions", "topic.dlq", NULL},
 *                           &sr, &err);
 *   ...
 *   ss_avro_reg_destroy(reg);
 *   ss_schemareg_destroy(sr); */
ss_avro_reg_t *ss_schemareg_open(const ss_cfg_t *cfg, const char *const *keys, ss_schemareg_t **sr,
                                 ss_err_t *err);
/* For a tool that only decodes (streamscore-tail): without schema.registry.url the manifest
 * registry; with it an empty registry whose every writer schema is fetched by id (nothing is
 * registered; schema.registry.auto.register is ignored). Returns new as ss_schemareg_open. */
ss_avro_reg_t *ss_schemareg_open_reader(const ss_cfg_t *cfg, ss_schemareg_t **sr, ss_err_t *err);
/* The config key holding the deployed name of a manifest topic ("churn-scores" ->
 * "topic.scores"), or NULL. Pure. */
const char *ss_schemareg_topic_key(const char *manifest_topic);

/* ============================= pure helpers (tested offline) ============================= */

/* Appends the request body {"schema":"<schema_json as a JSON string>"} to out. */
void ss_schemareg_body(const char *schema_json, ss_buf_t *out);
/* Parses a register/lookup response {"id":N,...} into *id. SS_ERR_INVAL "schema registry
 * response: ..." for malformed JSON, a missing or non-integer id, or an id outside 0..INT32_MAX. */
int ss_schemareg_parse_id(const char *body, size_t len, int32_t *id, ss_err_t *err);
/* Parses a GET /schemas/ids response {"schema":"...","schemaType":"AVRO"?} and appends the
 * schema text to out. SS_ERR_INVAL for malformed JSON, a missing schema, or a schemaType other
 * than AVRO ("schema id 9 is PROTOBUF, not AVRO"; id only for the message). */
int ss_schemareg_parse_schema(int32_t id, const char *body, size_t len, ss_buf_t *out,
                              ss_err_t *err);
/* Turns a non-2xx answer into an error: status 0 (no HTTP answer) or >= 500 -> SS_ERR_RETRIABLE,
 * 404 -> SS_ERR_NOTFOUND, 409 -> SS_ERR_CONFLICT, 401/403 -> SS_ERR_FATAL, other ->
 * SS_ERR_INVAL. The message is "<what>: HTTP <status>: <message of the JSON body
 * {"error_code":N,"message":"..."} or the start of the raw body> (error_code N)". Returns the
 * code. */
int ss_schemareg_http_error(const char *what, long status, const char *body, size_t len,
                            ss_err_t *err);
/* Appends the subject for topic under TopicNameStrategy ("<topic>-value"), URL-escaped as one
 * path segment when used in a URL (escape = 1). */
void ss_schemareg_subject(const char *topic, int escape, ss_buf_t *out);

#endif
