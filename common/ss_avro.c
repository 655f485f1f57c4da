/* ss_avro: Confluent-framed Avro with our own binary decoder and schema resolution; see ss_avro.h
 * and docs/schemas.md. Layout of this file:
 *   schema model   .avsc JSON (jansson) -> node graph; defaults validated against their types
 *   registry       id -> {original text, avro-c schema, node graph}, manifest loading
 *   plans          (writer node, reader node) -> resolution plan, cached per (writer, reader) id
 *   decoding       bounds-checked cursor; executors into avro-c values, ss_txn_t, JSON, skip
 *   encoding       ss_txn_t and JSON defaults -> Avro binary; avro-c generic writer
 * avro-c is used for schemas and generic values only: its reader trusts lengths and counts, and its
 * resolver cannot fill reader defaults (docs/schemas.md "Why not avro-c's resolver"). */
#include "ss_avro.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64         /* nesting of records/arrays/maps/unions in one datum */
#define MAX_ZERO_ITEMS 65536 /* items of zero encoded size (e.g. null) in one array or map */
#define MAX_SCHEMA_BYTES (1 << 20)

/* ================================ schema model ================================ */

enum nt {
    NT_NULL,
    NT_BOOL,
    NT_INT,
    NT_LONG,
    NT_FLOAT,
    NT_DOUBLE,
    NT_BYTES,
    NT_STRING,
    NT_RECORD,
    NT_ENUM,
    NT_ARRAY,
    NT_MAP,
    NT_UNION,
    NT_FIXED,
};

static const char *const nt_names[] = {"null",   "boolean", "int",    "long",   "float",
                                       "double", "bytes",   "string", "record", "enum",
                                       "array",  "map",     "union",  "fixed"};

typedef struct node node_t;

typedef struct field {
    char *name;
    node_t *type;
    json_t *def; /* borrowed from the schema's JSON root; NULL = no default */
} field_t;

struct node {
    enum nt t;
    char *name;       /* full name of records, enums, fixed; NULL otherwise */
    const char *lt;   /* logicalType or NULL (borrowed from the JSON root) */
    size_t n;         /* fields, symbols, branches or fixed size */
    field_t *fields;  /* record */
    char **symbols;   /* enum */
    int enum_default; /* enum: index of the reader default symbol, -1 none */
    node_t **branches;
    node_t *items;   /* array items, map values */
    size_t min_size; /* fewest bytes one value can be encoded in */
    int sizing;      /* guard while computing min_size of recursive types */
};

typedef struct sch {
    json_t *root;
    node_t *top;
    node_t **nodes; /* every node, for freeing (named references make a graph) */
    size_t n_nodes, cap_nodes;
} sch_t;

static node_t *node_new(sch_t *s, enum nt t) {
    node_t *n = ss_xcalloc(1, sizeof(*n));
    n->t = t;
    n->enum_default = -1;
    if (s->n_nodes == s->cap_nodes) {
        s->cap_nodes = s->cap_nodes ? s->cap_nodes * 2 : 16;
        s->nodes = ss_xrealloc(s->nodes, s->cap_nodes * sizeof(*s->nodes));
    }
    s->nodes[s->n_nodes++] = n;
    return n;
}

static void sch_free(sch_t *s) {
    if (!s)
        return;
    for (size_t i = 0; i < s->n_nodes; i++) {
        node_t *n = s->nodes[i];
        free(n->name);
        if (n->t == NT_RECORD)
            for (size_t k = 0; k < n->n; k++)
                free(n->fields[k].name);
        if (n->t == NT_ENUM)
            for (size_t k = 0; k < n->n; k++)
                free(n->symbols[k]);
        free(n->fields);
        free(n->symbols);
        free(n->branches);
        free(n);
    }
    free(s->nodes);
    json_decref(s->root);
    free(s);
}

static const char *short_name(const char *full) {
    const char *d = strrchr(full, '.');
    return d ? d + 1 : full;
}

static node_t *find_named(sch_t *s, const char *full) {
    for (size_t i = 0; i < s->n_nodes; i++)
        if (s->nodes[i]->name && strcmp(s->nodes[i]->name, full) == 0)
            return s->nodes[i];
    return NULL;
}

static int prim_type(const char *name, enum nt *t) {
    for (int i = NT_NULL; i <= NT_STRING; i++)
        if (strcmp(name, nt_names[i]) == 0) {
            *t = (enum nt)i;
            return 1;
        }
    return 0;
}

static char *make_full(const char *name, const char *ns) {
    if (strchr(name, '.') || !ns || !*ns)
        return ss_xstrdup(name);
    size_t n = strlen(ns) + strlen(name) + 2;
    char *f = ss_xmalloc(n);
    snprintf(f, n, "%s.%s", ns, name);
    return f;
}

static int valid_name(const char *s) {
    if (!*s)
        return 0;
    for (const char *p = s; *p; p++) {
        int ok = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '_' ||
                 (p != s && *p >= '0' && *p <= '9');
        if (!ok)
            return 0;
    }
    return 1;
}

static int check_default(const node_t *n, json_t *j, int depth, ss_err_t *err);

static int parse_node(sch_t *s, json_t *j, const char *ns, node_t **out, int depth, ss_err_t *err);

static int parse_record(sch_t *s, json_t *j, node_t *n, const char *ns, int depth, ss_err_t *err) {
    json_t *fields = json_object_get(j, "fields");
    if (!json_is_array(fields))
        return ss_err_set(err, SS_ERR_INVAL, "record '%s' has no \"fields\" array", n->name);
    n->n = json_array_size(fields);
    n->fields = ss_xcalloc(n->n ? n->n : 1, sizeof(field_t));
    for (size_t i = 0; i < n->n; i++) {
        json_t *f = json_array_get(fields, i);
        const char *fname = json_string_value(json_object_get(f, "name"));
        if (!fname || !valid_name(fname))
            return ss_err_set(err, SS_ERR_INVAL, "record '%s': field %zu has no valid name",
                              n->name, i);
        for (size_t k = 0; k < i; k++)
            if (strcmp(n->fields[k].name, fname) == 0)
                return ss_err_set(err, SS_ERR_INVAL, "record '%s': duplicate field '%s'", n->name,
                                  fname);
        n->fields[i].name = ss_xstrdup(fname);
        json_t *ft = json_object_get(f, "type");
        if (!ft)
            return ss_err_set(err, SS_ERR_INVAL, "record '%s': field '%s' has no type", n->name,
                              fname);
        int rc = parse_node(s, ft, ns, &n->fields[i].type, depth + 1, err);
        if (rc < 0) {
            char m[sizeof(err->msg)];
            snprintf(m, sizeof(m), "%s", err->msg);
            return ss_err_set(err, rc, "field '%s': %s", fname, m);
        }
        n->fields[i].def = json_object_get(f, "default");
    }
    return 0;
}

static int parse_node(sch_t *s, json_t *j, const char *ns, node_t **out, int depth, ss_err_t *err) {
    if (depth > MAX_DEPTH)
        return ss_err_set(err, SS_ERR_INVAL, "schema nested deeper than %d", MAX_DEPTH);
    enum nt t;
    if (json_is_string(j)) {
        const char *name = json_string_value(j);
        if (prim_type(name, &t)) {
            *out = node_new(s, t);
            return 0;
        }
        char *full = make_full(name, ns);
        node_t *n = find_named(s, full);
        if (!n)
            n = find_named(s, name);
        free(full);
        if (!n)
            return ss_err_set(err, SS_ERR_INVAL, "unknown type '%s'", name);
        *out = n;
        return 0;
    }
    if (json_is_array(j)) {
        node_t *n = node_new(s, NT_UNION);
        n->n = json_array_size(j);
        if (n->n == 0)
            return ss_err_set(err, SS_ERR_INVAL, "empty union");
        n->branches = ss_xcalloc(n->n, sizeof(node_t *));
        for (size_t i = 0; i < n->n; i++) {
            int rc = parse_node(s, json_array_get(j, i), ns, &n->branches[i], depth + 1, err);
            if (rc < 0)
                return rc;
            if (n->branches[i]->t == NT_UNION)
                return ss_err_set(err, SS_ERR_INVAL, "union directly inside a union");
        }
        *out = n;
        return 0;
    }
    if (!json_is_object(j))
        return ss_err_set(err, SS_ERR_INVAL, "a type must be a string, array or object");
    json_t *jt = json_object_get(j, "type");
    const char *tn = json_string_value(jt);
    if (!tn) {
        if (json_is_object(jt) || json_is_array(jt))
            return parse_node(s, jt, ns, out, depth + 1, err);
        return ss_err_set(err, SS_ERR_INVAL, "type object without \"type\"");
    }
    const char *lt = json_string_value(json_object_get(j, "logicalType"));
    if (prim_type(tn, &t)) {
        node_t *n = node_new(s, t);
        n->lt = lt;
        *out = n;
        return 0;
    }
    if (strcmp(tn, "array") == 0 || strcmp(tn, "map") == 0) {
        node_t *n = node_new(s, tn[0] == 'a' ? NT_ARRAY : NT_MAP);
        json_t *it = json_object_get(j, tn[0] == 'a' ? "items" : "values");
        if (!it)
            return ss_err_set(err, SS_ERR_INVAL, "%s without \"%s\"", tn,
                              tn[0] == 'a' ? "items" : "values");
        *out = n;
        return parse_node(s, it, ns, &n->items, depth + 1, err);
    }
    int is_rec = strcmp(tn, "record") == 0 || strcmp(tn, "error") == 0;
    int is_enum = strcmp(tn, "enum") == 0, is_fixed = strcmp(tn, "fixed") == 0;
    if (!is_rec && !is_enum && !is_fixed) {
        /* a reference to a named type written as {"type": "Name"} */
        char *full = make_full(tn, ns);
        node_t *n = find_named(s, full);
        free(full);
        if (!n)
            return ss_err_set(err, SS_ERR_INVAL, "unknown type '%s'", tn);
        *out = n;
        return 0;
    }
    const char *name = json_string_value(json_object_get(j, "name"));
    if (!name || !*name)
        return ss_err_set(err, SS_ERR_INVAL, "%s without a name", tn);
    const char *own_ns = json_string_value(json_object_get(j, "namespace"));
    char *full = make_full(name, own_ns ? own_ns : ns);
    if (find_named(s, full)) {
        ss_err_set(err, SS_ERR_INVAL, "type '%s' defined twice", full);
        free(full);
        return SS_ERR_INVAL;
    }
    node_t *n = node_new(s, is_rec ? NT_RECORD : is_enum ? NT_ENUM : NT_FIXED);
    n->name = full;
    n->lt = lt;
    *out = n;
    if (is_fixed) {
        json_t *sz = json_object_get(j, "size");
        if (!json_is_integer(sz) || json_integer_value(sz) < 0 ||
            json_integer_value(sz) > (1 << 24))
            return ss_err_set(err, SS_ERR_INVAL, "fixed '%s' needs a size", full);
        n->n = (size_t)json_integer_value(sz);
        return 0;
    }
    if (is_enum) {
        json_t *syms = json_object_get(j, "symbols");
        if (!json_is_array(syms) || json_array_size(syms) == 0)
            return ss_err_set(err, SS_ERR_INVAL, "enum '%s' needs symbols", full);
        n->n = json_array_size(syms);
        n->symbols = ss_xcalloc(n->n, sizeof(char *));
        for (size_t i = 0; i < n->n; i++) {
            const char *sym = json_string_value(json_array_get(syms, i));
            if (!sym || !valid_name(sym))
                return ss_err_set(err, SS_ERR_INVAL, "enum '%s': bad symbol %zu", full, i);
            n->symbols[i] = ss_xstrdup(sym);
        }
        json_t *d = json_object_get(j, "default");
        if (d) {
            const char *ds = json_string_value(d);
            for (size_t i = 0; ds && i < n->n; i++)
                if (strcmp(ds, n->symbols[i]) == 0)
                    n->enum_default = (int)i;
            if (n->enum_default < 0)
                return ss_err_set(err, SS_ERR_INVAL, "enum '%s': default is not a symbol", full);
        }
        return 0;
    }
    char *rec_ns = ss_xstrdup(n->name);
    char *dot = strrchr(rec_ns, '.');
    if (dot)
        *dot = '\0';
    else
        rec_ns[0] = '\0';
    int rc = parse_record(s, j, n, rec_ns, depth, err);
    free(rec_ns);
    return rc;
}

static size_t min_size(node_t *n) {
    switch (n->t) {
    case NT_NULL:
        return 0;
    case NT_FLOAT:
        return 4;
    case NT_DOUBLE:
        return 8;
    case NT_FIXED:
        return n->n;
    case NT_RECORD: {
        if (n->sizing)
            return 0;
        n->sizing = 1;
        size_t sum = 0;
        for (size_t i = 0; i < n->n; i++)
            sum += min_size(n->fields[i].type);
        n->sizing = 0;
        return sum;
    }
    default:
        return 1; /* varint, length, count or union index */
    }
}

/* Decodes the UTF-8 JSON string of a bytes/fixed default into bytes (each code point <= 255). */
static int json_latin1(const char *s, size_t n, ss_buf_t *out) {
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        if (p[i] < 0x80) {
            ss_buf_addch(out, p[i]);
            i++;
        } else if ((p[i] == 0xc2 || p[i] == 0xc3) && i + 1 < n) {
            ss_buf_addch(out, ((p[i] & 0x1f) << 6) | (p[i + 1] & 0x3f));
            i += 2;
        } else {
            return -1;
        }
    }
    return 0;
}

static int check_default(const node_t *n, json_t *j, int depth, ss_err_t *err) {
    if (depth > MAX_DEPTH)
        return ss_err_set(err, SS_ERR_INVAL, "default nested deeper than %d", MAX_DEPTH);
    const char *tn = nt_names[n->t];
    switch (n->t) {
    case NT_NULL:
        if (json_is_null(j))
            return 0;
        break;
    case NT_BOOL:
        if (json_is_boolean(j))
            return 0;
        break;
    case NT_INT:
        if (json_is_integer(j) && json_integer_value(j) >= INT32_MIN &&
            json_integer_value(j) <= INT32_MAX)
            return 0;
        break;
    case NT_LONG:
        if (json_is_integer(j))
            return 0;
        break;
    case NT_FLOAT:
    case NT_DOUBLE:
        if (json_is_number(j))
            return 0;
        break;
    case NT_STRING:
        if (json_is_string(j))
            return 0;
        break;
    case NT_BYTES:
    case NT_FIXED:
        if (json_is_string(j)) {
            ss_buf_t b = SS_BUF_INIT;
            int bad = json_latin1(json_string_value(j), json_string_length(j), &b);
            size_t len = b.len;
            ss_buf_release(&b);
            if (!bad && (n->t == NT_BYTES || len == n->n))
                return 0;
        }
        break;
    case NT_ENUM:
        if (json_is_string(j))
            for (size_t i = 0; i < n->n; i++)
                if (strcmp(json_string_value(j), n->symbols[i]) == 0)
                    return 0;
        break;
    case NT_ARRAY:
        if (json_is_array(j)) {
            for (size_t i = 0; i < json_array_size(j); i++)
                if (check_default(n->items, json_array_get(j, i), depth + 1, err) < 0)
                    return SS_ERR_INVAL;
            return 0;
        }
        break;
    case NT_MAP:
        if (json_is_object(j)) {
            const char *k;
            json_t *v;
            json_object_foreach(j, k, v) {
                if (check_default(n->items, v, depth + 1, err) < 0)
                    return SS_ERR_INVAL;
            }
            return 0;
        }
        break;
    case NT_RECORD:
        if (json_is_object(j)) {
            for (size_t i = 0; i < n->n; i++) {
                json_t *v = json_object_get(j, n->fields[i].name);
                if (!v)
                    v = n->fields[i].def;
                if (!v)
                    return ss_err_set(err, SS_ERR_INVAL, "default lacks field '%s'",
                                      n->fields[i].name);
                if (check_default(n->fields[i].type, v, depth + 1, err) < 0)
                    return SS_ERR_INVAL;
            }
            return 0;
        }
        break;
    case NT_UNION:
        /* the Avro rule: a union's default belongs to its first branch */
        return check_default(n->branches[0], j, depth + 1, err);
    }
    return ss_err_set(err, SS_ERR_INVAL, "default does not match type %s", tn);
}

static int check_all_defaults(const sch_t *s, ss_err_t *err) {
    for (size_t i = 0; i < s->n_nodes; i++) {
        const node_t *n = s->nodes[i];
        if (n->t != NT_RECORD)
            continue;
        for (size_t k = 0; k < n->n; k++) {
            if (!n->fields[k].def)
                continue;
            ss_err_t e = SS_ERR_INIT;
            if (check_default(n->fields[k].type, n->fields[k].def, 0, &e) < 0)
                return ss_err_set(err, SS_ERR_INVAL, "record '%s' field '%s': %s", n->name,
                                  n->fields[k].name, e.msg);
        }
    }
    return 0;
}

static sch_t *sch_parse(const char *text, size_t len, ss_err_t *err) {
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_DECODE_ANY, &je);
    if (!root) {
        ss_err_set(err, SS_ERR_INVAL, "invalid schema JSON at line %d column %d: %s", je.line,
                   je.column, je.text);
        return NULL;
    }
    sch_t *s = ss_xcalloc(1, sizeof(*s));
    s->root = root;
    if (parse_node(s, root, NULL, &s->top, 0, err) < 0 || check_all_defaults(s, err) < 0) {
        sch_free(s);
        return NULL;
    }
    for (size_t i = 0; i < s->n_nodes; i++)
        s->nodes[i]->min_size = min_size(s->nodes[i]);
    return s;
}

/* ================================ registry ================================ */

typedef struct entry {
    int32_t id;
    char *topic; /* NULL for writer-only schemas */
    int current; /* the topic's schema producers write */
    char *json;  /* original .avsc text */
    size_t json_len;
    avro_schema_t as;
    sch_t *sch;
    avro_value_iface_t *iface; /* generic class, built on first use */
    struct entry *next;
} entry_t;

typedef struct plan plan_t;

typedef struct pcache {
    int32_t wid, rid;
    plan_t *plan; /* NULL if incompatible; msg says why */
    char msg[200];
    plan_t **all; /* every plan node, for freeing */
    size_t n_all, cap_all;
    struct pcache *next;
} pcache_t;

struct ss_avro_reg {
    pthread_mutex_t lock;
    entry_t *entries;
    pcache_t *plans;
    ss_avro_fetch_cb fetch;
    void *fetch_opaque;
};

static entry_t *find_entry(ss_avro_reg_t *reg, int32_t id) {
    for (entry_t *e = reg->entries; e; e = e->next)
        if (e->id == id)
            return e;
    return NULL;
}

/* Returns the entry for id, fetching it through the callback if needed; never freed before the
 * registry, so the pointer may be kept. */
static entry_t *lookup(ss_avro_reg_t *reg, int32_t id, ss_err_t *err) {
    pthread_mutex_lock(&reg->lock);
    entry_t *e = find_entry(reg, id);
    ss_avro_fetch_cb cb = reg->fetch;
    void *opaque = reg->fetch_opaque;
    pthread_mutex_unlock(&reg->lock);
    if (e)
        return e;
    if (cb) {
        int rc = cb(reg, id, opaque, err);
        if (rc < 0)
            return NULL;
        pthread_mutex_lock(&reg->lock);
        e = find_entry(reg, id);
        pthread_mutex_unlock(&reg->lock);
        if (e)
            return e;
    }
    ss_err_set(err, SS_ERR_NOTFOUND, "unknown schema id %d", (int)id);
    return NULL;
}

/* Like lookup for decoders: an unknown id is SS_ERR_DECODE (the message is bad), but a fetch
 * callback's SS_ERR_RETRIABLE stays retriable (the registry is down, the message may be fine). */
static entry_t *lookup_writer(ss_avro_reg_t *reg, int32_t id, int *rc, ss_err_t *err) {
    ss_err_t e2 = SS_ERR_INIT;
    entry_t *e = lookup(reg, id, &e2);
    if (e)
        return e;
    *rc = e2.code == SS_ERR_NOTFOUND || e2.code == 0 ? SS_ERR_DECODE : e2.code;
    ss_err_set(err, *rc, "%s", e2.msg);
    return NULL;
}

static avro_value_iface_t *entry_iface(ss_avro_reg_t *reg, entry_t *e, ss_err_t *err) {
    pthread_mutex_lock(&reg->lock);
    if (!e->iface) {
        e->iface = avro_generic_class_from_schema(e->as);
        if (!e->iface)
            ss_err_set(err, SS_ERR_INVAL, "schema %d: cannot build avro-c class: %s", (int)e->id,
                       avro_strerror());
    }
    avro_value_iface_t *i = e->iface;
    pthread_mutex_unlock(&reg->lock);
    return i;
}

static int reg_add(ss_avro_reg_t *reg, int32_t id, const char *topic, int current,
                   const char *json_text, size_t len, ss_err_t *err) {
    if (id < 0)
        return ss_err_set(err, SS_ERR_INVAL, "negative schema id %d", (int)id);
    if (len > MAX_SCHEMA_BYTES)
        return ss_err_set(err, SS_ERR_INVAL, "schema %d: %zu bytes, larger than %d", (int)id, len,
                          MAX_SCHEMA_BYTES);
    pthread_mutex_lock(&reg->lock);
    entry_t *old = find_entry(reg, id);
    pthread_mutex_unlock(&reg->lock);
    if (old) {
        if (old->json_len == len && memcmp(old->json, json_text, len) == 0)
            return 0;
        return ss_err_set(err, SS_ERR_CONFLICT, "schema id %d already registered with other text",
                          (int)id);
    }
    ss_err_t e2 = SS_ERR_INIT;
    sch_t *s = sch_parse(json_text, len, &e2);
    if (!s)
        return ss_err_set(err, SS_ERR_INVAL, "schema %d: %s", (int)id, e2.msg);
    avro_schema_t as = NULL;
    if (avro_schema_from_json_length(json_text, len, &as) != 0) {
        sch_free(s);
        return ss_err_set(err, SS_ERR_INVAL, "schema %d: avro-c rejects it: %s", (int)id,
                          avro_strerror());
    }
    entry_t *e = ss_xcalloc(1, sizeof(*e));
    e->id = id;
    e->topic = topic ? ss_xstrdup(topic) : NULL;
    e->json = ss_xstrndup(json_text, len);
    e->json_len = len;
    e->as = as;
    e->sch = s;
    pthread_mutex_lock(&reg->lock);
    if (find_entry(reg, id)) { /* lost a race with another adder */
        pthread_mutex_unlock(&reg->lock);
        avro_schema_decref(as);
        sch_free(s);
        free(e->topic);
        free(e->json);
        free(e);
        return 0;
    }
    if (topic && current) {
        for (entry_t *o = reg->entries; o; o = o->next)
            if (o->topic && strcmp(o->topic, topic) == 0)
                o->current = 0;
        e->current = 1;
    }
    e->next = reg->entries;
    reg->entries = e;
    pthread_mutex_unlock(&reg->lock);
    return 0;
}

int ss_avro_reg_add(ss_avro_reg_t *reg, int32_t id, const char *topic, const char *json_text,
                    ss_err_t *err) {
    return reg_add(reg, id, topic, 1, json_text, strlen(json_text), err);
}

void ss_avro_reg_set_fetch(ss_avro_reg_t *reg, ss_avro_fetch_cb cb, void *opaque) {
    pthread_mutex_lock(&reg->lock);
    reg->fetch = cb;
    reg->fetch_opaque = opaque;
    pthread_mutex_unlock(&reg->lock);
}

static int read_file(const char *path, ss_buf_t *out, ss_err_t *err) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return ss_err_set_errno(err, SS_ERR_IO, errno, "cannot open '%s'", path);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        ss_buf_add(out, chunk, n);
        if (out->len > MAX_SCHEMA_BYTES) {
            fclose(f);
            return ss_err_set(err, SS_ERR_INVAL, "'%s' is larger than %d bytes", path,
                              MAX_SCHEMA_BYTES);
        }
    }
    int bad = ferror(f);
    int saved = errno;
    fclose(f);
    if (bad)
        return ss_err_set_errno(err, SS_ERR_IO, saved, "cannot read '%s'", path);
    return 0;
}

static int load_manifest(ss_avro_reg_t *reg, const char *dir, ss_err_t *err) {
    ss_buf_t path = SS_BUF_INIT, text = SS_BUF_INIT, avsc = SS_BUF_INIT;
    int rc;
    ss_buf_addf(&path, "%s/manifest", dir);
    if ((rc = read_file(path.buf, &text, err)) < 0)
        goto out;
    char *line = text.buf;
    for (int lineno = 1; line && *line; lineno++) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *tok[5];
        int nt = 0;
        for (char *p = line; *p && nt < 5;) {
            while (*p == ' ' || *p == '\t' || *p == '\r')
                *p++ = '\0';
            if (!*p)
                break;
            tok[nt++] = p;
            while (*p && *p != ' ' && *p != '\t' && *p != '\r')
                p++;
        }
        line = nl ? nl + 1 : NULL;
        if (nt == 0)
            continue;
        int historical = nt == 4 && strcmp(tok[3], "historical") == 0;
        if (nt < 3 || nt > 4 || (nt == 4 && !historical)) {
            rc = ss_err_set(err, SS_ERR_INVAL,
                            "%s:%d: expected '<id> <topic> <file.avsc> [historical]'", path.buf,
                            lineno);
            goto out;
        }
        char *end;
        errno = 0;
        long id = strtol(tok[0], &end, 10);
        if (*end || errno || id < 0 || id > INT32_MAX) {
            rc = ss_err_set(err, SS_ERR_INVAL, "%s:%d: bad schema id '%s'", path.buf, lineno,
                            tok[0]);
            goto out;
        }
        if (!historical) {
            int32_t other;
            if (ss_avro_reg_current_id(reg, tok[1], &other, NULL) == 0 &&
                ss_avro_reg_topic(reg, other) &&
                strcmp(ss_avro_reg_topic(reg, other), tok[1]) == 0) {
                rc =
                    ss_err_set(err, SS_ERR_INVAL, "%s:%d: topic '%s' already has current schema %d",
                               path.buf, lineno, tok[1], (int)other);
                goto out;
            }
        }
        ss_buf_reset(&avsc);
        ss_buf_t fpath = SS_BUF_INIT;
        ss_buf_addf(&fpath, "%s/%s", dir, tok[2]);
        rc = read_file(fpath.buf, &avsc, err);
        ss_buf_release(&fpath);
        if (rc < 0)
            goto out;
        ss_err_t e2 = SS_ERR_INIT;
        if ((rc = reg_add(reg, (int32_t)id, tok[1], !historical, avsc.buf, avsc.len, &e2)) < 0) {
            rc = ss_err_set(err, rc, "%s:%d: %s: %s", path.buf, lineno, tok[2], e2.msg);
            goto out;
        }
    }
    rc = 0;
out:
    ss_buf_release(&path);
    ss_buf_release(&text);
    ss_buf_release(&avsc);
    return rc;
}

ss_avro_reg_t *ss_avro_reg_new(const char *schemas_dir, ss_err_t *err) {
    ss_avro_reg_t *reg = ss_xcalloc(1, sizeof(*reg));
    pthread_mutex_init(&reg->lock, NULL);
    if (schemas_dir && load_manifest(reg, schemas_dir, err) < 0) {
        ss_avro_reg_destroy(reg);
        return NULL;
    }
    return reg;
}

static void pcache_free(pcache_t *pc);

void ss_avro_reg_destroy(ss_avro_reg_t *reg) {
    if (!reg)
        return;
    while (reg->plans) {
        pcache_t *pc = reg->plans;
        reg->plans = pc->next;
        pcache_free(pc);
    }
    while (reg->entries) {
        entry_t *e = reg->entries;
        reg->entries = e->next;
        if (e->iface)
            avro_value_iface_decref(e->iface);
        avro_schema_decref(e->as);
        sch_free(e->sch);
        free(e->topic);
        free(e->json);
        free(e);
    }
    pthread_mutex_destroy(&reg->lock);
    free(reg);
}

avro_schema_t ss_avro_reg_schema(ss_avro_reg_t *reg, int32_t id, ss_err_t *err) {
    entry_t *e = lookup(reg, id, err);
    return e ? e->as : NULL;
}

const char *ss_avro_reg_json(ss_avro_reg_t *reg, int32_t id, ss_err_t *err) {
    entry_t *e = lookup(reg, id, err);
    return e ? e->json : NULL;
}

const char *ss_avro_reg_topic(ss_avro_reg_t *reg, int32_t id) {
    pthread_mutex_lock(&reg->lock);
    entry_t *e = find_entry(reg, id);
    pthread_mutex_unlock(&reg->lock);
    return e ? e->topic : NULL;
}

int ss_avro_reg_current_id(ss_avro_reg_t *reg, const char *name, int32_t *id, ss_err_t *err) {
    int found = 0;
    pthread_mutex_lock(&reg->lock);
    /* entries are newest first: prefer the latest current schema */
    for (entry_t *e = reg->entries; e && !found; e = e->next) {
        if (!e->current)
            continue;
        const char *rn = e->sch->top->name;
        if (strcmp(e->topic, name) == 0 ||
            (rn && (strcmp(rn, name) == 0 || strcmp(short_name(rn), name) == 0))) {
            *id = e->id;
            found = 1;
        }
    }
    pthread_mutex_unlock(&reg->lock);
    if (!found)
        return ss_err_set(err, SS_ERR_NOTFOUND, "no current schema for '%s'", name);
    return 0;
}

/* ================================ framing ================================ */

int ss_avro_frame_parse(const void *buf, size_t len, int32_t *schema_id, const uint8_t **body,
                        size_t *body_len, ss_err_t *err) {
    const uint8_t *p = buf;
    if (!p || len < SS_AVRO_HDR_LEN)
        return ss_err_set(err, SS_ERR_DECODE, "payload too short: %zu bytes, need at least %d",
                          p ? len : 0, SS_AVRO_HDR_LEN);
    if (p[0] != SS_AVRO_MAGIC)
        return ss_err_set(err, SS_ERR_DECODE, "bad magic byte 0x%02x, expected 0x00", p[0]);
    uint32_t id = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
    if (id > INT32_MAX)
        return ss_err_set(err, SS_ERR_DECODE, "negative schema id %d", (int)(int32_t)id);
    *schema_id = (int32_t)id;
    *body = p + SS_AVRO_HDR_LEN;
    *body_len = len - SS_AVRO_HDR_LEN;
    return 0;
}

void ss_avro_frame_put(ss_buf_t *out, int32_t schema_id) {
    uint32_t id = (uint32_t)schema_id;
    uint8_t h[SS_AVRO_HDR_LEN] = {SS_AVRO_MAGIC, (uint8_t)(id >> 24), (uint8_t)(id >> 16),
                                  (uint8_t)(id >> 8), (uint8_t)id};
    ss_buf_add(out, h, sizeof(h));
}

/* ================================ plans ================================ */

/* A plan reads one writer value and says where it goes in the reader's type. */
struct plan {
    const node_t *w; /* writer type */
    const node_t *r; /* reader type after union branch selection */
    int rbranch;     /* reader is a union: branch to select, else -1 */
    plan_t **wb;     /* writer union: per branch plan, NULL = no reader match */
    struct step {
        plan_t *p; /* NULL: skip the writer field */
        const node_t *w;
        const char *name;
        int ridx; /* reader field index, -1 when skipped */
    } * steps;    /* writer record: one per writer field */
    size_t n_steps;
    int *missing; /* reader record: fields absent from the writer (defaults) */
    size_t n_missing;
    int *emap;     /* writer enum index -> reader index, -1 = unknown symbol */
    plan_t *items; /* array items, map values */
};

static plan_t *plan_alloc(pcache_t *pc) {
    plan_t *p = ss_xcalloc(1, sizeof(*p));
    p->rbranch = -1;
    if (pc->n_all == pc->cap_all) {
        pc->cap_all = pc->cap_all ? pc->cap_all * 2 : 16;
        pc->all = ss_xrealloc(pc->all, pc->cap_all * sizeof(plan_t *));
    }
    pc->all[pc->n_all++] = p;
    return p;
}

static void pcache_free(pcache_t *pc) {
    for (size_t i = 0; i < pc->n_all; i++) {
        plan_t *p = pc->all[i];
        free(p->wb);
        free(p->steps);
        free(p->missing);
        free(p->emap);
        free(p);
    }
    free(pc->all);
    free(pc);
}

static int names_match(const node_t *w, const node_t *r) {
    return strcmp(w->name, r->name) == 0 || strcmp(short_name(w->name), short_name(r->name)) == 0;
}

/* 2 = same type, 1 = the writer's type promotes to the reader's, 0 = no match (shallow). */
static int type_match(const node_t *w, const node_t *r) {
    if (w->t == r->t) {
        if (w->t == NT_RECORD || w->t == NT_ENUM)
            return names_match(w, r) ? 2 : 0;
        if (w->t == NT_FIXED)
            return names_match(w, r) && w->n == r->n ? 2 : 0;
        return 2;
    }
    switch (w->t) {
    case NT_INT:
        return r->t == NT_LONG || r->t == NT_FLOAT || r->t == NT_DOUBLE;
    case NT_LONG:
        return r->t == NT_FLOAT || r->t == NT_DOUBLE;
    case NT_FLOAT:
        return r->t == NT_DOUBLE;
    case NT_STRING:
        return r->t == NT_BYTES;
    case NT_BYTES:
        return r->t == NT_STRING;
    default:
        return 0;
    }
}

static const char *type_desc(const node_t *n) { return n->name ? n->name : nt_names[n->t]; }

static int compile(pcache_t *pc, const node_t *w, const node_t *r, plan_t **out, int depth,
                   ss_err_t *err) {
    if (depth > MAX_DEPTH)
        return ss_err_set(err, SS_ERR_DECODE, "schemas nested deeper than %d", MAX_DEPTH);
    if (w->t == NT_UNION) {
        plan_t *p = plan_alloc(pc);
        p->w = w;
        p->r = r;
        p->wb = ss_xcalloc(w->n, sizeof(plan_t *));
        int any = 0;
        ss_err_t first = SS_ERR_INIT;
        for (size_t i = 0; i < w->n; i++) {
            ss_err_t e2 = SS_ERR_INIT;
            if (compile(pc, w->branches[i], r, &p->wb[i], depth + 1, &e2) == 0)
                any = 1;
            else if (!first.code)
                first = e2;
        }
        if (!any)
            return ss_err_set(err, SS_ERR_DECODE, "%s", first.msg);
        *out = p;
        return 0;
    }
    int rbranch = -1;
    if (r->t == NT_UNION) {
        int best = 0;
        for (size_t i = 0; i < r->n; i++) {
            int m = type_match(w, r->branches[i]);
            if (m > best) {
                best = m;
                rbranch = (int)i;
            }
            if (m == 2)
                break;
        }
        if (rbranch < 0)
            return ss_err_set(err, SS_ERR_DECODE,
                              "writer type %s matches no branch of the reader union", type_desc(w));
        r = r->branches[rbranch];
    } else if (!type_match(w, r)) {
        return ss_err_set(err, SS_ERR_DECODE, "writer type %s does not match reader type %s",
                          type_desc(w), type_desc(r));
    }
    if (w->t == NT_RECORD) { /* recursive types: reuse the plan being built */
        for (size_t i = 0; i < pc->n_all; i++)
            if (pc->all[i]->w == w && pc->all[i]->r == r && pc->all[i]->rbranch == rbranch) {
                *out = pc->all[i];
                return 0;
            }
    }
    plan_t *p = plan_alloc(pc);
    p->w = w;
    p->r = r;
    p->rbranch = rbranch;
    *out = p;
    switch (w->t) {
    case NT_ENUM:
        p->emap = ss_xcalloc(w->n, sizeof(int));
        for (size_t i = 0; i < w->n; i++) {
            p->emap[i] = r->enum_default;
            for (size_t k = 0; k < r->n; k++)
                if (strcmp(w->symbols[i], r->symbols[k]) == 0)
                    p->emap[i] = (int)k;
        }
        return 0;
    case NT_ARRAY:
    case NT_MAP:
        return compile(pc, w->items, r->items, &p->items, depth + 1, err);
    case NT_RECORD: {
        p->n_steps = w->n;
        p->steps = ss_xcalloc(w->n ? w->n : 1, sizeof(*p->steps));
        char *seen = ss_xcalloc(r->n ? r->n : 1, 1);
        int rc = 0;
        for (size_t i = 0; i < w->n && rc == 0; i++) {
            struct step *s = &p->steps[i];
            s->w = w->fields[i].type;
            s->name = w->fields[i].name;
            s->ridx = -1;
            for (size_t k = 0; k < r->n; k++)
                if (strcmp(r->fields[k].name, s->name) == 0) {
                    s->ridx = (int)k;
                    seen[k] = 1;
                }
            if (s->ridx >= 0) {
                ss_err_t e2 = SS_ERR_INIT;
                rc = compile(pc, s->w, r->fields[s->ridx].type, &s->p, depth + 1, &e2);
                if (rc < 0)
                    ss_err_set(err, rc, "field '%s': %s", s->name, e2.msg);
            }
        }
        p->missing = ss_xcalloc(r->n ? r->n : 1, sizeof(int));
        for (size_t k = 0; k < r->n && rc == 0; k++) {
            if (seen[k])
                continue;
            if (!r->fields[k].def)
                rc = ss_err_set(err, SS_ERR_DECODE,
                                "reader field '%s' of %s is missing from the writer and has no "
                                "default",
                                r->fields[k].name, r->name);
            p->missing[p->n_missing++] = (int)k;
        }
        free(seen);
        return rc;
    }
    default:
        return 0;
    }
}

/* Returns the cached plan for (writer id, reader id), compiling it on first use. */
static const plan_t *get_plan(ss_avro_reg_t *reg, entry_t *we, entry_t *re, ss_err_t *err) {
    pthread_mutex_lock(&reg->lock);
    pcache_t *pc;
    for (pc = reg->plans; pc; pc = pc->next)
        if (pc->wid == we->id && pc->rid == re->id)
            break;
    if (!pc) {
        pc = ss_xcalloc(1, sizeof(*pc));
        pc->wid = we->id;
        pc->rid = re->id;
        ss_err_t e2 = SS_ERR_INIT;
        if (compile(pc, we->sch->top, re->sch->top, &pc->plan, 0, &e2) < 0) {
            pc->plan = NULL;
            snprintf(pc->msg, sizeof(pc->msg), "%.199s", e2.msg);
        }
        pc->next = reg->plans;
        reg->plans = pc;
    }
    pthread_mutex_unlock(&reg->lock);
    if (!pc->plan)
        ss_err_set(err, SS_ERR_DECODE, "writer schema %d cannot be read as schema %d: %s",
                   (int)we->id, (int)re->id, pc->msg);
    return pc->plan;
}

/* ================================ decoding ================================ */

typedef struct dctx {
    const uint8_t *p, *end, *base; /* base = start of the framed payload, for byte offsets */
    ss_err_t *err;
    int code; /* SS_ERR_DECODE, or SS_ERR_INVAL for representability */
    int depth;
    char path[128]; /* built while unwinding after an error */
    size_t plen;
    ss_buf_t *scratch;
} dctx_t;

static int dfail(dctx_t *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int dfail(dctx_t *x, const char *fmt, ...) {
    if (x->err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(x->err->msg, sizeof(x->err->msg), fmt, ap);
        va_end(ap);
        size_t n = strlen(x->err->msg);
        snprintf(x->err->msg + n, sizeof(x->err->msg) - n, " at byte %zu",
                 (size_t)(x->p - x->base));
    }
    x->code = SS_ERR_DECODE;
    return -1;
}

static int dinval(dctx_t *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int dinval(dctx_t *x, const char *fmt, ...) {
    if (x->err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(x->err->msg, sizeof(x->err->msg), fmt, ap);
        va_end(ap);
    }
    x->code = SS_ERR_INVAL;
    return -1;
}

/* Prepends a path segment (".field" or "[3]") while an error unwinds. */
static void path_push(dctx_t *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void path_push(dctx_t *x, const char *fmt, ...) {
    char seg[80];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(seg, sizeof(seg), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t sn = strlen(seg);
    if (sn + x->plen >= sizeof(x->path))
        return;
    memmove(x->path + sn, x->path, x->plen + 1);
    memcpy(x->path, seg, sn);
    x->plen += sn;
}

/* Finishes an error: "lines[2].quantity: truncated varint at byte 40". */
static int dfinish(dctx_t *x) {
    if (x->err) {
        if (x->plen) {
            char m[sizeof(x->err->msg)];
            snprintf(m, sizeof(m), "%s", x->err->msg);
            const char *p = x->path[0] == '.' ? x->path + 1 : x->path;
            snprintf(x->err->msg, sizeof(x->err->msg), "%.100s: %.150s", p, m);
        }
        x->err->code = x->code;
    }
    return x->code;
}

static inline int rd_long(dctx_t *x, int64_t *out) {
    *out = 0;
    const uint8_t *p = x->p;
    uint64_t v = 0;
    for (int i = 0; i < 10; i++) {
        if (p >= x->end)
            return dfail(x, "truncated varint");
        uint8_t b = *p++;
        if (i == 9 && b > 1)
            return dfail(x, "varint overflows 64 bits");
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            x->p = p;
            *out = (int64_t)((v >> 1) ^ (~(v & 1) + 1));
            return 0;
        }
    }
    return dfail(x, "varint longer than 10 bytes"); /* not reached: i == 9 check */
}

static inline int rd_int(dctx_t *x, int32_t *out) {
    *out = 0;
    int64_t v;
    const uint8_t *start = x->p;
    if (rd_long(x, &v) < 0)
        return -1;
    if (v < INT32_MIN || v > INT32_MAX) {
        x->p = start;
        return dfail(x, "int %lld out of range", (long long)v);
    }
    *out = (int32_t)v;
    return 0;
}

static inline int rd_bytes(dctx_t *x, const uint8_t **ptr, size_t *len) {
    *ptr = NULL;
    *len = 0;
    int64_t n;
    const uint8_t *start = x->p;
    if (rd_long(x, &n) < 0)
        return -1;
    if (n < 0) {
        x->p = start;
        return dfail(x, "negative length %lld", (long long)n);
    }
    size_t left = (size_t)(x->end - x->p);
    if ((uint64_t)n > left) {
        x->p = start;
        return dfail(x, "length %lld exceeds the %zu bytes left", (long long)n, left);
    }
    *ptr = x->p;
    *len = (size_t)n;
    x->p += n;
    return 0;
}

static inline int rd_fixed(dctx_t *x, size_t n, const uint8_t **ptr) {
    *ptr = NULL;
    if (n > (size_t)(x->end - x->p))
        return dfail(x, "truncated: %zu bytes needed, %zu left", n, (size_t)(x->end - x->p));
    *ptr = x->p;
    x->p += n;
    return 0;
}

static inline int rd_double(dctx_t *x, double *out) {
    *out = 0;
    const uint8_t *b;
    if (rd_fixed(x, 8, &b) < 0)
        return -1;
    uint64_t u = 0;
    for (int i = 7; i >= 0; i--)
        u = u << 8 | b[i];
    memcpy(out, &u, 8);
    return 0;
}

static inline int rd_float(dctx_t *x, float *out) {
    *out = 0;
    const uint8_t *b;
    if (rd_fixed(x, 4, &b) < 0)
        return -1;
    uint32_t u = (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
    memcpy(out, &u, 4);
    return 0;
}

static int rd_bool(dctx_t *x, int *out) {
    *out = 0;
    const uint8_t *b;
    if (rd_fixed(x, 1, &b) < 0)
        return -1;
    if (*b > 1) {
        x->p--;
        return dfail(x, "boolean byte 0x%02x is not 0 or 1", *b);
    }
    *out = *b;
    return 0;
}

/* Reads a union branch or enum symbol index and checks it against the n choices of the node;
 * `what` names them in the error ("union index 5 out of range (2 branches)"). */
static int rd_index(dctx_t *x, const char *kind, size_t n, const char *what, size_t *idx) {
    *idx = 0;
    int64_t v;
    const uint8_t *start = x->p;
    if (rd_long(x, &v) < 0)
        return -1;
    if (v < 0 || (uint64_t)v >= n) {
        x->p = start;
        return dfail(x, "%s index %lld out of range (%zu %s)", kind, (long long)v, n, what);
    }
    *idx = (size_t)v;
    return 0;
}

static int rd_union_index(dctx_t *x, const node_t *u, size_t *idx) {
    return rd_index(x, "union", u->n, "branches", idx);
}

static int rd_enum_index(dctx_t *x, const node_t *e, size_t *idx) {
    return rd_index(x, "enum", e->n, "symbols", idx);
}

/* Reads an array/map block header: *count items follow (0 = end). Checks the count against the
 * bytes left so a hostile count cannot make us loop or allocate: each item takes at least
 * min_size bytes; items of size 0 are capped by *zero_budget. */
static int rd_block(dctx_t *x, const node_t *items, int is_map, int64_t *count,
                    size_t *zero_budget) {
    *count = 0;
    const uint8_t *start = x->p;
    int64_t n;
    if (rd_long(x, &n) < 0)
        return -1;
    if (n < 0) {
        if (n == INT64_MIN) {
            x->p = start;
            return dfail(x, "bad block count %lld", (long long)n);
        }
        n = -n;
        int64_t size;
        const uint8_t *s2 = x->p;
        if (rd_long(x, &size) < 0)
            return -1;
        size_t left = (size_t)(x->end - x->p);
        if (size < 0 || (uint64_t)size > left) {
            x->p = s2;
            return dfail(x, "block size %lld exceeds the %zu bytes left", (long long)size, left);
        }
    }
    size_t left = (size_t)(x->end - x->p);
    size_t each = items->min_size + (is_map ? 1 : 0);
    if (each > 0) {
        if ((uint64_t)n > left / each) {
            x->p = start;
            return dfail(x, "count %lld exceeds what the %zu bytes left can hold", (long long)n,
                         left);
        }
    } else {
        if ((uint64_t)n > *zero_budget) {
            x->p = start;
            return dfail(x, "count %lld of zero-size items exceeds the limit %d", (long long)n,
                         MAX_ZERO_ITEMS);
        }
        *zero_budget -= (size_t)n;
    }
    *count = n;
    return 0;
}

static int skip(dctx_t *x, const node_t *n) {
    const uint8_t *b;
    size_t len;
    int64_t v;
    int rc = 0;
    if (++x->depth > MAX_DEPTH) {
        x->depth--;
        return dfail(x, "nesting deeper than %d", MAX_DEPTH);
    }
    switch (n->t) {
    case NT_NULL:
        break;
    case NT_BOOL: {
        int bv;
        rc = rd_bool(x, &bv);
        break;
    }
    case NT_INT: {
        int32_t iv;
        rc = rd_int(x, &iv);
        break;
    }
    case NT_LONG:
        rc = rd_long(x, &v);
        break;
    case NT_FLOAT:
        rc = rd_fixed(x, 4, &b);
        break;
    case NT_DOUBLE:
        rc = rd_fixed(x, 8, &b);
        break;
    case NT_BYTES:
    case NT_STRING:
        rc = rd_bytes(x, &b, &len);
        break;
    case NT_FIXED:
        rc = rd_fixed(x, n->n, &b);
        break;
    case NT_ENUM: {
        size_t idx;
        rc = rd_enum_index(x, n, &idx);
        break;
    }
    case NT_UNION: {
        size_t idx;
        rc = rd_union_index(x, n, &idx);
        if (rc == 0)
            rc = skip(x, n->branches[idx]);
        break;
    }
    case NT_RECORD:
        for (size_t i = 0; i < n->n && rc == 0; i++)
            if ((rc = skip(x, n->fields[i].type)) < 0)
                path_push(x, ".%s", n->fields[i].name);
        break;
    case NT_ARRAY:
    case NT_MAP: {
        size_t zb = MAX_ZERO_ITEMS, item = 0;
        for (;;) {
            int64_t cnt;
            if ((rc = rd_block(x, n->items, n->t == NT_MAP, &cnt, &zb)) < 0 || cnt == 0)
                break;
            for (int64_t i = 0; i < cnt && rc == 0; i++, item++) {
                if (n->t == NT_MAP && (rc = rd_bytes(x, &b, &len)) < 0)
                    break;
                if ((rc = skip(x, n->items)) < 0)
                    path_push(x, "[%zu]", item);
            }
            if (rc < 0)
                break;
        }
        break;
    }
    }
    x->depth--;
    return rc;
}

/* ---- into avro-c generic values ---- */

static int json_to_value(const node_t *n, json_t *j, avro_value_t *v, ss_buf_t *scratch);

static int set_str_value(avro_value_t *v, const uint8_t *s, size_t len, ss_buf_t *scratch) {
    ss_buf_reset(scratch);
    ss_buf_add(scratch, s, len);
    /* avro-c strings carry their NUL in the size */
    return avro_value_set_string_len(v, scratch->buf, len + 1);
}

static int gv_exec(dctx_t *x, const plan_t *p, avro_value_t *dst);

static int avro_fail(dctx_t *x, const char *what) {
    x->code = SS_ERR_DECODE;
    if (x->err)
        snprintf(x->err->msg, sizeof(x->err->msg), "avro-c: cannot set %s: %s", what,
                 avro_strerror());
    return -1;
}

static int gv_exec(dctx_t *x, const plan_t *p, avro_value_t *dst) {
    avro_value_t br;
    const node_t *w = p->w, *r = p->r;
    int rc = 0;
    if (w->t == NT_UNION) {
        size_t idx;
        if (rd_union_index(x, w, &idx) < 0)
            return -1;
        if (!p->wb[idx])
            return dfail(x, "writer union branch %s has no match in the reader",
                         type_desc(w->branches[idx]));
        if (++x->depth > MAX_DEPTH) {
            x->depth--;
            return dfail(x, "nesting deeper than %d", MAX_DEPTH);
        }
        rc = gv_exec(x, p->wb[idx], dst);
        x->depth--;
        return rc;
    }
    if (p->rbranch >= 0) {
        if (avro_value_set_branch(dst, p->rbranch, &br) != 0)
            return avro_fail(x, "union branch");
        dst = &br;
    }
    const uint8_t *b;
    size_t len;
    int64_t lv;
    double dv;
    switch (w->t) {
    case NT_NULL:
        rc = avro_value_set_null(dst);
        break;
    case NT_BOOL: {
        int bv;
        if (rd_bool(x, &bv) < 0)
            return -1;
        rc = avro_value_set_boolean(dst, bv);
        break;
    }
    case NT_INT:
    case NT_LONG:
        if (w->t == NT_INT) {
            int32_t iv;
            if (rd_int(x, &iv) < 0)
                return -1;
            lv = iv;
        } else if (rd_long(x, &lv) < 0) {
            return -1;
        }
        switch (r->t) {
        case NT_INT:
            rc = avro_value_set_int(dst, (int32_t)lv);
            break;
        case NT_LONG:
            rc = avro_value_set_long(dst, lv);
            break;
        case NT_FLOAT:
            rc = avro_value_set_float(dst, (float)lv);
            break;
        default:
            rc = avro_value_set_double(dst, (double)lv);
            break;
        }
        break;
    case NT_FLOAT:
    case NT_DOUBLE:
        if (w->t == NT_FLOAT) {
            float fv;
            if (rd_float(x, &fv) < 0)
                return -1;
            dv = fv;
        } else if (rd_double(x, &dv) < 0) {
            return -1;
        }
        rc = r->t == NT_FLOAT ? avro_value_set_float(dst, (float)dv)
                              : avro_value_set_double(dst, dv);
        break;
    case NT_BYTES:
    case NT_STRING:
        if (rd_bytes(x, &b, &len) < 0)
            return -1;
        rc = r->t == NT_STRING ? set_str_value(dst, b, len, x->scratch)
                               : avro_value_set_bytes(dst, (void *)b, len);
        break;
    case NT_FIXED:
        if (rd_fixed(x, w->n, &b) < 0)
            return -1;
        rc = avro_value_set_fixed(dst, (void *)b, w->n);
        break;
    case NT_ENUM: {
        size_t idx;
        if (rd_enum_index(x, w, &idx) < 0)
            return -1;
        if (p->emap[idx] < 0)
            return dfail(x, "enum symbol '%s' unknown to the reader", w->symbols[idx]);
        rc = avro_value_set_enum(dst, p->emap[idx]);
        break;
    }
    case NT_RECORD:
        if (++x->depth > MAX_DEPTH) {
            x->depth--;
            return dfail(x, "nesting deeper than %d", MAX_DEPTH);
        }
        for (size_t i = 0; i < p->n_steps; i++) {
            const struct step *s = &p->steps[i];
            if (!s->p) {
                rc = skip(x, s->w);
            } else {
                avro_value_t child;
                if (avro_value_get_by_index(dst, (size_t)s->ridx, &child, NULL) != 0)
                    rc = avro_fail(x, "field");
                else
                    rc = gv_exec(x, s->p, &child);
            }
            if (rc < 0) {
                path_push(x, ".%s", s->name);
                x->depth--;
                return -1;
            }
        }
        for (size_t i = 0; i < p->n_missing; i++) {
            const field_t *f = &r->fields[p->missing[i]];
            avro_value_t child;
            if (avro_value_get_by_index(dst, (size_t)p->missing[i], &child, NULL) != 0 ||
                json_to_value(f->type, f->def, &child, x->scratch) != 0) {
                x->depth--;
                return avro_fail(x, f->name);
            }
        }
        x->depth--;
        return 0;
    case NT_ARRAY:
    case NT_MAP: {
        if (++x->depth > MAX_DEPTH) {
            x->depth--;
            return dfail(x, "nesting deeper than %d", MAX_DEPTH);
        }
        size_t zb = MAX_ZERO_ITEMS, item = 0;
        rc = 0;
        for (;;) {
            int64_t cnt;
            if ((rc = rd_block(x, w->items, w->t == NT_MAP, &cnt, &zb)) < 0 || cnt == 0)
                break;
            for (int64_t i = 0; i < cnt && rc == 0; i++, item++) {
                avro_value_t child;
                if (w->t == NT_MAP) {
                    if ((rc = rd_bytes(x, &b, &len)) < 0)
                        break;
                    ss_buf_reset(x->scratch);
                    ss_buf_add(x->scratch, b, len);
                    if (memchr(b, 0, len)) {
                        rc = dfail(x, "map key holds a NUL byte");
                        break;
                    }
                    if (avro_value_add(dst, x->scratch->buf, &child, NULL, NULL) != 0) {
                        rc = avro_fail(x, "map entry");
                        break;
                    }
                } else if (avro_value_append(dst, &child, NULL) != 0) {
                    rc = avro_fail(x, "array item");
                    break;
                }
                if ((rc = gv_exec(x, p->items, &child)) < 0)
                    path_push(x, "[%zu]", item);
            }
            if (rc < 0)
                break;
        }
        x->depth--;
        return rc;
    }
    case NT_UNION:
        break; /* handled above */
    }
    if (rc != 0)
        return avro_fail(x, nt_names[r->t]);
    return 0;
}

/* Sets v from a JSON default of type n (validated when the schema was added). */
static int json_to_value(const node_t *n, json_t *j, avro_value_t *v, ss_buf_t *scratch) {
    switch (n->t) {
    case NT_NULL:
        return avro_value_set_null(v);
    case NT_BOOL:
        return avro_value_set_boolean(v, json_is_true(j));
    case NT_INT:
        return avro_value_set_int(v, (int32_t)json_integer_value(j));
    case NT_LONG:
        return avro_value_set_long(v, (int64_t)json_integer_value(j));
    case NT_FLOAT:
        return avro_value_set_float(v, (float)json_number_value(j));
    case NT_DOUBLE:
        return avro_value_set_double(v, json_number_value(j));
    case NT_STRING:
        return set_str_value(v, (const uint8_t *)json_string_value(j), json_string_length(j),
                             scratch);
    case NT_BYTES:
    case NT_FIXED: {
        ss_buf_t b = SS_BUF_INIT;
        json_latin1(json_string_value(j), json_string_length(j), &b);
        int rc = n->t == NT_BYTES ? avro_value_set_bytes(v, b.buf, b.len)
                                  : avro_value_set_fixed(v, b.buf, b.len);
        ss_buf_release(&b);
        return rc;
    }
    case NT_ENUM:
        for (size_t i = 0; i < n->n; i++)
            if (strcmp(n->symbols[i], json_string_value(j)) == 0)
                return avro_value_set_enum(v, (int)i);
        return EINVAL;
    case NT_ARRAY:
        avro_value_reset(v);
        for (size_t i = 0; i < json_array_size(j); i++) {
            avro_value_t c;
            int rc = avro_value_append(v, &c, NULL);
            if (rc == 0)
                rc = json_to_value(n->items, json_array_get(j, i), &c, scratch);
            if (rc)
                return rc;
        }
        return 0;
    case NT_MAP: {
        avro_value_reset(v);
        const char *k;
        json_t *jv;
        json_object_foreach(j, k, jv) {
            avro_value_t c;
            int rc = avro_value_add(v, k, &c, NULL, NULL);
            if (rc == 0)
                rc = json_to_value(n->items, jv, &c, scratch);
            if (rc)
                return rc;
        }
        return 0;
    }
    case NT_RECORD:
        for (size_t i = 0; i < n->n; i++) {
            json_t *fv = json_object_get(j, n->fields[i].name);
            if (!fv)
                fv = n->fields[i].def;
            avro_value_t c;
            int rc = avro_value_get_by_index(v, i, &c, NULL);
            if (rc == 0)
                rc = json_to_value(n->fields[i].type, fv, &c, scratch);
            if (rc)
                return rc;
        }
        return 0;
    case NT_UNION: {
        avro_value_t c;
        int rc = avro_value_set_branch(v, 0, &c);
        return rc ? rc : json_to_value(n->branches[0], j, &c, scratch);
    }
    }
    return EINVAL;
}

/* ---- scalars (for the Transaction codec) ---- */

typedef struct scalar {
    enum { SC_NULL, SC_BOOL, SC_LONG, SC_DOUBLE, SC_STR, SC_ENUM } tag;
    int64_t l; /* BOOL, LONG; ENUM: reader symbol index */
    double d;
    const uint8_t *s; /* STR: borrows the payload */
    size_t len;
} scalar_t;

static int rd_scalar(dctx_t *x, const plan_t *p, scalar_t *out) {
    const node_t *w = p->w;
    if (w->t == NT_UNION) {
        size_t idx;
        if (rd_union_index(x, w, &idx) < 0)
            return -1;
        if (!p->wb[idx])
            return dfail(x, "writer union branch %s has no match in the reader",
                         type_desc(w->branches[idx]));
        p = p->wb[idx];
        w = p->w;
    }
    switch (w->t) {
    case NT_NULL:
        out->tag = SC_NULL;
        return 0;
    case NT_BOOL: {
        int b;
        out->tag = SC_BOOL;
        if (rd_bool(x, &b) < 0)
            return -1;
        out->l = b;
        return 0;
    }
    case NT_INT: {
        int32_t v;
        if (rd_int(x, &v) < 0)
            return -1;
        out->tag = SC_LONG;
        out->l = v;
        break;
    }
    case NT_LONG:
        out->tag = SC_LONG;
        if (rd_long(x, &out->l) < 0)
            return -1;
        break;
    case NT_FLOAT: {
        float f;
        if (rd_float(x, &f) < 0)
            return -1;
        out->tag = SC_DOUBLE;
        out->d = f;
        return 0;
    }
    case NT_DOUBLE:
        out->tag = SC_DOUBLE;
        return rd_double(x, &out->d);
    case NT_BYTES:
    case NT_STRING:
        out->tag = SC_STR;
        return rd_bytes(x, &out->s, &out->len);
    case NT_FIXED:
        out->tag = SC_STR;
        out->len = w->n;
        return rd_fixed(x, w->n, &out->s);
    case NT_ENUM: {
        size_t idx;
        if (rd_enum_index(x, w, &idx) < 0)
            return -1;
        if (p->emap[idx] < 0)
            return dfail(x, "enum symbol '%s' unknown to the reader", w->symbols[idx]);
        out->tag = SC_ENUM;
        out->l = p->emap[idx];
        return 0;
    }
    default:
        return dfail(x, "writer type %s where a scalar was expected", type_desc(w));
    }
    if (p->r->t == NT_FLOAT || p->r->t == NT_DOUBLE) { /* int/long promoted to a float type */
        out->tag = SC_DOUBLE;
        out->d = (double)out->l;
    }
    return 0;
}

/* ================================ Transaction codec ================================ */

enum tslot {
    TS_NONE,
    TS_ORDER_ID,
    TS_CUSTOMER_ID,
    TS_STORE_ID,
    TS_EVENT_TIME,
    TS_KIND,
    TS_LINES,
    TS_CURRENCY,
    TS_PRODUCT_ID,
    TS_QUANTITY,
    TS_UNIT_PRICE,
};

static const struct {
    const char *name;
    enum tslot slot;
    int line; /* field of Line, not of Transaction */
} tslot_names[] = {
    {"order_id", TS_ORDER_ID, 0}, {"customer_id", TS_CUSTOMER_ID, 0},
    {"store_id", TS_STORE_ID, 0}, {"event_time", TS_EVENT_TIME, 0},
    {"kind", TS_KIND, 0},         {"lines", TS_LINES, 0},
    {"currency", TS_CURRENCY, 0}, {"product_id", TS_PRODUCT_ID, 1},
    {"quantity", TS_QUANTITY, 1}, {"unit_price", TS_UNIT_PRICE, 1},
};

static enum tslot slot_of(const char *name, int line) {
    for (size_t i = 0; i < sizeof(tslot_names) / sizeof(tslot_names[0]); i++)
        if (tslot_names[i].line == line && strcmp(tslot_names[i].name, name) == 0)
            return tslot_names[i].slot;
    return TS_NONE;
}

#define PLAN_SLOTS 8

struct ss_avro_txn_codec {
    ss_avro_reg_t *reg;
    entry_t *re;         /* current Transaction schema (reader and writer) */
    const node_t *line;  /* its Line record */
    enum tslot *rslot;   /* per reader Transaction field */
    enum tslot *lslot;   /* per reader Line field */
    int kind_of_sym[16]; /* reader TxnKind symbol index -> ss_txn_kind_t, -1 unsupported */
    size_t n_kind_syms;
    struct {
        int32_t wid;
        const plan_t *plan;
    } plans[PLAN_SLOTS]; /* per-thread cache in front of the registry's */
    size_t n_plans, next_plan;
    ss_buf_t scratch;
};

/* The record node of t (through a nullable union), or NULL. */
static const node_t *unwrap(const node_t *n) {
    if (n->t == NT_UNION)
        for (size_t i = 0; i < n->n; i++)
            if (n->branches[i]->t != NT_NULL)
                return n->branches[i];
    return n;
}

ss_avro_txn_codec_t *ss_avro_txn_codec_new(ss_avro_reg_t *reg, ss_err_t *err) {
    int32_t id;
    if (ss_avro_reg_current_id(reg, "streamscore.Transaction", &id, err) < 0)
        return NULL;
    entry_t *e = lookup(reg, id, err);
    if (!e)
        return NULL;
    const node_t *top = e->sch->top;
    if (top->t != NT_RECORD) {
        ss_err_set(err, SS_ERR_INVAL, "schema %d is not a record", (int)id);
        return NULL;
    }
    ss_avro_txn_codec_t *c = ss_xcalloc(1, sizeof(*c));
    c->reg = reg;
    c->re = e;
    ss_buf_init(&c->scratch, 0);
    c->rslot = ss_xcalloc(top->n ? top->n : 1, sizeof(enum tslot));
    unsigned seen = 0;
    for (size_t i = 0; i < top->n; i++) {
        c->rslot[i] = slot_of(top->fields[i].name, 0);
        seen |= 1u << c->rslot[i];
        const node_t *ft = unwrap(top->fields[i].type);
        if (c->rslot[i] == TS_LINES) {
            if (ft->t != NT_ARRAY || ft->items->t != NT_RECORD)
                goto bad_shape;
            c->line = ft->items;
        }
        if (c->rslot[i] == TS_KIND) {
            if (ft->t != NT_ENUM || ft->n > 16)
                goto bad_shape;
            c->n_kind_syms = ft->n;
            for (size_t k = 0; k < ft->n; k++)
                c->kind_of_sym[k] = strcmp(ft->symbols[k], "PURCHASE") == 0 ? SS_TXN_PURCHASE
                                    : strcmp(ft->symbols[k], "RETURN") == 0 ? SS_TXN_RETURN
                                                                            : -1;
        }
    }
    if (!c->line)
        goto bad_shape;
    c->lslot = ss_xcalloc(c->line->n ? c->line->n : 1, sizeof(enum tslot));
    for (size_t i = 0; i < c->line->n; i++) {
        c->lslot[i] = slot_of(c->line->fields[i].name, 1);
        seen |= 1u << c->lslot[i];
    }
    for (int s = TS_ORDER_ID; s <= TS_UNIT_PRICE; s++)
        if (!(seen & (1u << s)))
            goto bad_shape;
    return c;
bad_shape:
    ss_err_set(err, SS_ERR_INVAL, "schema %d lacks a field ss_txn_t needs, or has another shape",
               (int)id);
    ss_avro_txn_codec_destroy(c);
    return NULL;
}

void ss_avro_txn_codec_destroy(ss_avro_txn_codec_t *c) {
    if (!c)
        return;
    free(c->rslot);
    free(c->lslot);
    ss_buf_release(&c->scratch);
    free(c);
}

int32_t ss_avro_txn_codec_schema_id(const ss_avro_txn_codec_t *c) { return c->re->id; }

static int put_id(dctx_t *x, const char *what, const scalar_t *v, char *dst, size_t cap) {
    if (v->tag != SC_STR)
        return dfail(x, "%s is not a string", what);
    if (v->len >= cap)
        return dinval(x, "%s is %zu bytes, longer than %zu", what, v->len, cap - 1);
    if (memchr(v->s, 0, v->len))
        return dinval(x, "%s holds a NUL byte", what);
    memcpy(dst, v->s, v->len);
    dst[v->len] = '\0';
    return 0;
}

/* Applies one scalar to the slot it belongs to. */
static int txn_put(ss_avro_txn_codec_t *c, dctx_t *x, enum tslot slot, const scalar_t *v,
                   ss_txn_t *t, ss_txn_line_t *l) {
    switch (slot) {
    case TS_ORDER_ID:
        return put_id(x, "order_id", v, t->order_id, sizeof(t->order_id));
    case TS_STORE_ID:
        return put_id(x, "store_id", v, t->store_id, sizeof(t->store_id));
    case TS_CURRENCY:
        return put_id(x, "currency", v, t->currency, sizeof(t->currency));
    case TS_PRODUCT_ID:
        return put_id(x, "product_id", v, l->product_id, sizeof(l->product_id));
    case TS_CUSTOMER_ID:
        if (v->tag == SC_NULL) {
            t->has_customer = 0;
            t->customer_id[0] = '\0';
            return 0;
        }
        t->has_customer = 1;
        return put_id(x, "customer_id", v, t->customer_id, sizeof(t->customer_id));
    case TS_EVENT_TIME:
        if (v->tag != SC_LONG)
            return dfail(x, "event_time is not a long");
        t->event_time_ms = v->l;
        return 0;
    case TS_KIND:
        if (v->tag != SC_ENUM || (size_t)v->l >= c->n_kind_syms || c->kind_of_sym[v->l] < 0)
            return dinval(x, "kind is not PURCHASE or RETURN");
        t->kind = (ss_txn_kind_t)c->kind_of_sym[v->l];
        return 0;
    case TS_QUANTITY:
        if (v->tag != SC_LONG)
            return dfail(x, "quantity is not an int");
        if (v->l < INT32_MIN || v->l > INT32_MAX)
            return dinval(x, "quantity %lld out of range", (long long)v->l);
        l->quantity = (int32_t)v->l;
        return 0;
    case TS_UNIT_PRICE:
        if (v->tag == SC_LONG)
            l->unit_price = (double)v->l;
        else if (v->tag == SC_DOUBLE)
            l->unit_price = v->d;
        else
            return dfail(x, "unit_price is not a number");
        return 0;
    default:
        return 0;
    }
}

/* Converts a JSON default into a scalar for txn_put (strings borrow the JSON). */
static int default_scalar(const node_t *n, json_t *j, scalar_t *v) {
    if (n->t == NT_UNION)
        n = n->branches[0];
    switch (n->t) {
    case NT_NULL:
        v->tag = SC_NULL;
        return 0;
    case NT_INT:
    case NT_LONG:
        v->tag = SC_LONG;
        v->l = (int64_t)json_integer_value(j);
        return 0;
    case NT_FLOAT:
    case NT_DOUBLE:
        v->tag = SC_DOUBLE;
        v->d = json_number_value(j);
        return 0;
    case NT_STRING:
        v->tag = SC_STR;
        v->s = (const uint8_t *)json_string_value(j);
        v->len = json_string_length(j);
        return 0;
    case NT_ENUM:
        for (size_t i = 0; i < n->n; i++)
            if (strcmp(n->symbols[i], json_string_value(j)) == 0) {
                v->tag = SC_ENUM;
                v->l = (int64_t)i;
                return 0;
            }
        return -1;
    default:
        return -1;
    }
}

static int txn_defaults(ss_avro_txn_codec_t *c, dctx_t *x, const plan_t *p, const enum tslot *slots,
                        ss_txn_t *t, ss_txn_line_t *l) {
    for (size_t i = 0; i < p->n_missing; i++) {
        const field_t *f = &p->r->fields[p->missing[i]];
        enum tslot s = slots[p->missing[i]];
        if (s == TS_NONE)
            continue;
        if (s == TS_LINES)
            continue; /* a default list of lines would have to be [] */
        scalar_t v;
        if (default_scalar(f->type, f->def, &v) < 0 || txn_put(c, x, s, &v, t, l) < 0) {
            if (x->code != SS_ERR_INVAL)
                dfail(x, "default of '%s' unusable", f->name);
            return -1;
        }
    }
    return 0;
}

static int txn_lines(ss_avro_txn_codec_t *c, dctx_t *x, const plan_t *ap, ss_txn_t *t) {
    const plan_t *lp = ap->items;
    if (lp->w->t != NT_RECORD)
        return dfail(x, "lines items are not records");
    size_t zb = MAX_ZERO_ITEMS;
    for (;;) {
        int64_t cnt;
        if (rd_block(x, lp->w, 0, &cnt, &zb) < 0)
            return -1;
        if (cnt == 0)
            return 0;
        for (int64_t i = 0; i < cnt; i++) {
            ss_txn_line_t *l = ss_txn_add_line(t);
            for (size_t k = 0; k < lp->n_steps; k++) {
                const struct step *s = &lp->steps[k];
                int rc;
                if (!s->p || c->lslot[s->ridx] == TS_NONE) {
                    rc = skip(x, s->w);
                } else {
                    scalar_t v;
                    rc = rd_scalar(x, s->p, &v);
                    if (rc == 0)
                        rc = txn_put(c, x, c->lslot[s->ridx], &v, t, l);
                }
                if (rc < 0) {
                    path_push(x, "[%zu].%s", t->n_lines - 1, s->name);
                    return -1;
                }
            }
            if (txn_defaults(c, x, lp, c->lslot, t, l) < 0) {
                path_push(x, "[%zu]", t->n_lines - 1);
                return -1;
            }
        }
    }
}

static const plan_t *txn_plan(ss_avro_txn_codec_t *c, int32_t wid, int *rc, ss_err_t *err) {
    for (size_t i = 0; i < c->n_plans; i++)
        if (c->plans[i].wid == wid)
            return c->plans[i].plan;
    entry_t *we = lookup_writer(c->reg, wid, rc, err);
    if (!we)
        return NULL;
    const plan_t *p = get_plan(c->reg, we, c->re, err);
    if (!p) {
        *rc = SS_ERR_DECODE;
        return NULL;
    }
    size_t slot = c->n_plans < PLAN_SLOTS ? c->n_plans++ : c->next_plan++ % PLAN_SLOTS;
    c->plans[slot].wid = wid;
    c->plans[slot].plan = p;
    return p;
}

int ss_avro_txn_decode(ss_avro_txn_codec_t *c, const void *payload, size_t len, ss_txn_t *t,
                       ss_err_t *err) {
    int32_t wid = 0;
    const uint8_t *body = NULL;
    size_t blen = 0;
    int rc = ss_avro_frame_parse(payload, len, &wid, &body, &blen, err);
    if (rc < 0)
        return rc;
    const plan_t *p = txn_plan(c, wid, &rc, err);
    if (!p)
        return rc;
    dctx_t x = {.p = body, .end = body + blen, .base = payload, .err = err, .scratch = &c->scratch};
    ss_txn_clear(t);
    if (p->w->t != NT_RECORD) {
        dfail(&x, "writer schema %d is not a record", (int)wid);
        return dfinish(&x);
    }
    for (size_t k = 0; k < p->n_steps; k++) {
        const struct step *s = &p->steps[k];
        enum tslot slot = s->p ? c->rslot[s->ridx] : TS_NONE;
        if (slot == TS_NONE) {
            rc = skip(&x, s->w);
        } else if (slot == TS_LINES) {
            rc = txn_lines(c, &x, s->p->w->t == NT_UNION ? NULL : s->p, t);
        } else {
            scalar_t v;
            rc = rd_scalar(&x, s->p, &v);
            if (rc == 0)
                rc = txn_put(c, &x, slot, &v, t, NULL);
        }
        if (rc < 0) {
            path_push(&x, ".%s", s->name);
            return dfinish(&x);
        }
    }
    if (txn_defaults(c, &x, p, c->rslot, t, NULL) < 0)
        return dfinish(&x);
    if (x.p != x.end) {
        dfail(&x, "%zu trailing bytes after the record", (size_t)(x.end - x.p));
        return dfinish(&x);
    }
    return 0;
}

/* ================================ encoding ================================ */

static inline void put_long(ss_buf_t *out, int64_t v) {
    uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    uint8_t b[10];
    size_t n = 0;
    while (u >= 0x80) {
        b[n++] = (uint8_t)(u | 0x80);
        u >>= 7;
    }
    b[n++] = (uint8_t)u;
    ss_buf_add(out, b, n);
}

static void put_double(ss_buf_t *out, double d) {
    uint64_t u;
    memcpy(&u, &d, 8);
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(u >> (8 * i));
    ss_buf_add(out, b, 8);
}

static void put_float(ss_buf_t *out, float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint8_t b[4] = {(uint8_t)u, (uint8_t)(u >> 8), (uint8_t)(u >> 16), (uint8_t)(u >> 24)};
    ss_buf_add(out, b, 4);
}

static void put_bytes(ss_buf_t *out, const void *p, size_t n) {
    put_long(out, (int64_t)n);
    ss_buf_add(out, p, n);
}

/* Encodes a (validated) JSON default of type n. */
static void put_json(ss_buf_t *out, const node_t *n, json_t *j) {
    switch (n->t) {
    case NT_NULL:
        return;
    case NT_BOOL:
        ss_buf_addch(out, json_is_true(j) ? 1 : 0);
        return;
    case NT_INT:
    case NT_LONG:
        put_long(out, (int64_t)json_integer_value(j));
        return;
    case NT_FLOAT:
        put_float(out, (float)json_number_value(j));
        return;
    case NT_DOUBLE:
        put_double(out, json_number_value(j));
        return;
    case NT_STRING:
        put_bytes(out, json_string_value(j), json_string_length(j));
        return;
    case NT_BYTES:
    case NT_FIXED: {
        ss_buf_t b = SS_BUF_INIT;
        json_latin1(json_string_value(j), json_string_length(j), &b);
        if (n->t == NT_BYTES)
            put_long(out, (int64_t)b.len);
        ss_buf_add(out, b.buf, b.len);
        ss_buf_release(&b);
        return;
    }
    case NT_ENUM:
        for (size_t i = 0; i < n->n; i++)
            if (strcmp(n->symbols[i], json_string_value(j)) == 0)
                put_long(out, (int64_t)i);
        return;
    case NT_ARRAY:
        if (json_array_size(j)) {
            put_long(out, (int64_t)json_array_size(j));
            for (size_t i = 0; i < json_array_size(j); i++)
                put_json(out, n->items, json_array_get(j, i));
        }
        put_long(out, 0);
        return;
    case NT_MAP: {
        if (json_object_size(j)) {
            put_long(out, (int64_t)json_object_size(j));
            const char *k;
            json_t *v;
            json_object_foreach(j, k, v) {
                put_bytes(out, k, strlen(k));
                put_json(out, n->items, v);
            }
        }
        put_long(out, 0);
        return;
    }
    case NT_RECORD:
        for (size_t i = 0; i < n->n; i++) {
            json_t *fv = json_object_get(j, n->fields[i].name);
            put_json(out, n->fields[i].type, fv ? fv : n->fields[i].def);
        }
        return;
    case NT_UNION:
        put_long(out, 0);
        put_json(out, n->branches[0], j);
        return;
    }
}

/* Finds the branch of a union (or the type itself) of one of the wanted types. */
static int pick(const node_t *n, unsigned wanted, const node_t **br) {
    if (n->t != NT_UNION) {
        *br = n;
        return wanted & (1u << n->t) ? -1 : -2;
    }
    for (size_t i = 0; i < n->n; i++)
        if (wanted & (1u << n->branches[i]->t)) {
            *br = n->branches[i];
            return (int)i;
        }
    return -2;
}

#define BIT(t) (1u << (t))

static int enc_str(ss_buf_t *out, const node_t *n, const char *s, const char *what, ss_err_t *err) {
    const node_t *br;
    int b = pick(n, s ? BIT(NT_STRING) | BIT(NT_BYTES) : BIT(NT_NULL), &br);
    if (b == -2)
        return ss_err_set(err, SS_ERR_INVAL, "field '%s' cannot hold %s", what,
                          s ? "a string" : "null");
    if (b >= 0)
        put_long(out, b);
    if (s)
        put_bytes(out, s, strlen(s));
    return 0;
}

static int enc_num(ss_buf_t *out, const node_t *n, int is_double, int64_t l, double d,
                   const char *what, ss_err_t *err) {
    const node_t *br;
    unsigned want = is_double ? BIT(NT_DOUBLE) | BIT(NT_FLOAT)
                              : BIT(NT_LONG) | BIT(NT_INT) | BIT(NT_DOUBLE) | BIT(NT_FLOAT);
    int b = pick(n, want, &br);
    if (b == -2)
        return ss_err_set(err, SS_ERR_INVAL, "field '%s' cannot hold a number", what);
    if (b >= 0)
        put_long(out, b);
    switch (br->t) {
    case NT_INT:
        if (l < INT32_MIN || l > INT32_MAX)
            return ss_err_set(err, SS_ERR_INVAL, "field '%s': %lld does not fit an int", what,
                              (long long)l);
        /* fall through */
    case NT_LONG:
        put_long(out, l);
        return 0;
    case NT_FLOAT:
        put_float(out, is_double ? (float)d : (float)l);
        return 0;
    default:
        put_double(out, is_double ? d : (double)l);
        return 0;
    }
}

static int enc_fields(ss_avro_txn_codec_t *c, ss_buf_t *out, const node_t *rec, int line,
                      const ss_txn_t *t, const ss_txn_line_t *l, ss_err_t *err);

static int enc_slot(ss_avro_txn_codec_t *c, ss_buf_t *out, const field_t *f, enum tslot slot,
                    const ss_txn_t *t, const ss_txn_line_t *l, ss_err_t *err) {
    const char *fn = f->name;
    switch (slot) {
    case TS_ORDER_ID:
        return enc_str(out, f->type, t->order_id, fn, err);
    case TS_STORE_ID:
        return enc_str(out, f->type, t->store_id, fn, err);
    case TS_CURRENCY:
        return enc_str(out, f->type, t->currency, fn, err);
    case TS_CUSTOMER_ID:
        return enc_str(out, f->type, t->has_customer ? t->customer_id : NULL, fn, err);
    case TS_PRODUCT_ID:
        return enc_str(out, f->type, l->product_id, fn, err);
    case TS_EVENT_TIME:
        return enc_num(out, f->type, 0, t->event_time_ms, 0, fn, err);
    case TS_QUANTITY:
        return enc_num(out, f->type, 0, l->quantity, 0, fn, err);
    case TS_UNIT_PRICE:
        return enc_num(out, f->type, 1, 0, l->unit_price, fn, err);
    case TS_KIND: {
        const char *sym = t->kind == SS_TXN_PURCHASE ? "PURCHASE"
                          : t->kind == SS_TXN_RETURN ? "RETURN"
                                                     : NULL;
        if (!sym)
            return ss_err_set(err, SS_ERR_INVAL, "unknown kind %d", (int)t->kind);
        const node_t *br;
        int b = pick(f->type, BIT(NT_ENUM) | BIT(NT_STRING), &br);
        if (b == -2)
            return ss_err_set(err, SS_ERR_INVAL, "field '%s' cannot hold a symbol", fn);
        if (b >= 0)
            put_long(out, b);
        if (br->t == NT_STRING) {
            put_bytes(out, sym, strlen(sym));
            return 0;
        }
        for (size_t i = 0; i < br->n; i++)
            if (strcmp(br->symbols[i], sym) == 0) {
                put_long(out, (int64_t)i);
                return 0;
            }
        return ss_err_set(err, SS_ERR_INVAL, "enum '%s' has no symbol '%s'", br->name, sym);
    }
    case TS_LINES: {
        const node_t *br;
        int b = pick(f->type, BIT(NT_ARRAY), &br);
        if (b == -2 || br->items->t != NT_RECORD)
            return ss_err_set(err, SS_ERR_INVAL, "field '%s' is not an array of records", fn);
        if (b >= 0)
            put_long(out, b);
        if (t->n_lines)
            put_long(out, (int64_t)t->n_lines);
        for (size_t i = 0; i < t->n_lines; i++) {
            int rc = enc_fields(c, out, br->items, 1, t, &t->lines[i], err);
            if (rc < 0)
                return rc;
        }
        put_long(out, 0);
        return 0;
    }
    default:
        if (!f->def)
            return ss_err_set(err, SS_ERR_INVAL,
                              "field '%s' has no value in ss_txn_t and no default", fn);
        put_json(out, f->type, f->def);
        return 0;
    }
}

static int enc_fields(ss_avro_txn_codec_t *c, ss_buf_t *out, const node_t *rec, int line,
                      const ss_txn_t *t, const ss_txn_line_t *l, ss_err_t *err) {
    for (size_t i = 0; i < rec->n; i++) {
        const field_t *f = &rec->fields[i];
        enum tslot slot;
        if (rec == c->re->sch->top)
            slot = c->rslot[i];
        else if (rec == c->line)
            slot = c->lslot[i];
        else
            slot = slot_of(f->name, line);
        int rc = enc_slot(c, out, f, slot, t, l, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int ss_avro_txn_encode_id(ss_avro_txn_codec_t *c, int32_t schema_id, const ss_txn_t *t,
                          ss_buf_t *out, ss_err_t *err) {
    int rc = SS_ERR_NOTFOUND;
    entry_t *e = schema_id == c->re->id ? c->re : lookup_writer(c->reg, schema_id, &rc, err);
    if (!e)
        return rc == SS_ERR_DECODE
                   ? ss_err_set(err, SS_ERR_NOTFOUND, "unknown schema id %d", (int)schema_id)
                   : rc;
    if (e->sch->top->t != NT_RECORD)
        return ss_err_set(err, SS_ERR_INVAL, "schema %d is not a record", (int)schema_id);
    size_t old = out->len;
    ss_avro_frame_put(out, schema_id);
    rc = enc_fields(c, out, e->sch->top, 0, t, NULL, err);
    if (rc < 0)
        ss_buf_setlen(out, old);
    return rc;
}

int ss_avro_txn_encode(ss_avro_txn_codec_t *c, const ss_txn_t *t, ss_buf_t *out, ss_err_t *err) {
    return ss_avro_txn_encode_id(c, c->re->id, t, out, err);
}

/* ================================ generic reader ================================ */

struct ss_avro_reader {
    ss_avro_reg_t *reg;
    entry_t *re;
    avro_value_iface_t *iface;
    avro_value_t value;
    struct {
        int32_t wid;
        const plan_t *plan;
    } plans[PLAN_SLOTS];
    size_t n_plans, next_plan;
    ss_buf_t scratch;
};

ss_avro_reader_t *ss_avro_reader_new(ss_avro_reg_t *reg, int32_t reader_id, ss_err_t *err) {
    entry_t *e = lookup(reg, reader_id, err);
    if (!e)
        return NULL;
    avro_value_iface_t *iface = entry_iface(reg, e, err);
    if (!iface)
        return NULL;
    ss_avro_reader_t *r = ss_xcalloc(1, sizeof(*r));
    if (avro_generic_value_new(iface, &r->value) != 0) {
        ss_err_set(err, SS_ERR_INVAL, "schema %d: cannot create a value: %s", (int)reader_id,
                   avro_strerror());
        free(r);
        return NULL;
    }
    r->reg = reg;
    r->re = e;
    r->iface = iface;
    ss_buf_init(&r->scratch, 0);
    return r;
}

void ss_avro_reader_destroy(ss_avro_reader_t *r) {
    if (!r)
        return;
    avro_value_decref(&r->value);
    ss_buf_release(&r->scratch);
    free(r);
}

int ss_avro_reader_decode(ss_avro_reader_t *r, const void *payload, size_t len,
                          avro_value_t **value, int32_t *writer_id, ss_err_t *err) {
    int32_t wid = 0;
    const uint8_t *body = NULL;
    size_t blen = 0;
    int rc = ss_avro_frame_parse(payload, len, &wid, &body, &blen, err);
    if (rc < 0)
        return rc;
    if (writer_id)
        *writer_id = wid;
    const plan_t *p = NULL;
    for (size_t i = 0; i < r->n_plans; i++)
        if (r->plans[i].wid == wid)
            p = r->plans[i].plan;
    if (!p) {
        entry_t *we = lookup_writer(r->reg, wid, &rc, err);
        if (!we)
            return rc;
        if (!(p = get_plan(r->reg, we, r->re, err)))
            return SS_ERR_DECODE;
        size_t slot = r->n_plans < PLAN_SLOTS ? r->n_plans++ : r->next_plan++ % PLAN_SLOTS;
        r->plans[slot].wid = wid;
        r->plans[slot].plan = p;
    }
    dctx_t x = {.p = body, .end = body + blen, .base = payload, .err = err, .scratch = &r->scratch};
    avro_value_reset(&r->value);
    if (gv_exec(&x, p, &r->value) < 0)
        return dfinish(&x);
    if (x.p != x.end) {
        dfail(&x, "%zu trailing bytes after the record", (size_t)(x.end - x.p));
        return dfinish(&x);
    }
    *value = &r->value;
    return 0;
}

/* ================================ generic writer ================================ */

struct ss_avro_writer {
    entry_t *e;
    avro_value_t value;
    avro_writer_t aw;
    ss_buf_t scratch;
};

static char dummy_dest[1];

ss_avro_writer_t *ss_avro_writer_new(ss_avro_reg_t *reg, int32_t schema_id, ss_err_t *err) {
    entry_t *e = lookup(reg, schema_id, err);
    if (!e)
        return NULL;
    avro_value_iface_t *iface = entry_iface(reg, e, err);
    if (!iface)
        return NULL;
    ss_avro_writer_t *w = ss_xcalloc(1, sizeof(*w));
    if (avro_generic_value_new(iface, &w->value) != 0) {
        ss_err_set(err, SS_ERR_INVAL, "schema %d: cannot create a value: %s", (int)schema_id,
                   avro_strerror());
        free(w);
        return NULL;
    }
    w->aw = avro_writer_memory(dummy_dest, sizeof(dummy_dest));
    if (!w->aw)
        SS_BUG("avro_writer_memory failed: %s", avro_strerror());
    w->e = e;
    ss_buf_init(&w->scratch, 0);
    return w;
}

void ss_avro_writer_destroy(ss_avro_writer_t *w) {
    if (!w)
        return;
    avro_value_decref(&w->value);
    avro_writer_free(w->aw);
    ss_buf_release(&w->scratch);
    free(w);
}

int32_t ss_avro_writer_schema_id(const ss_avro_writer_t *w) { return w->e->id; }

/* Gives every field of a reset record its default, or an empty string: avro-c's reset leaves
 * strings with size 0 (no NUL), which its encoder then rejects ("Invalid bytes value length"). */
static void fill_record(ss_avro_writer_t *w, const node_t *rec, avro_value_t *v, int depth) {
    if (depth > MAX_DEPTH)
        return;
    for (size_t i = 0; i < rec->n; i++) {
        const field_t *f = &rec->fields[i];
        avro_value_t c;
        if (avro_value_get_by_index(v, i, &c, NULL) != 0)
            SS_BUG("schema %d: no field %zu: %s", (int)w->e->id, i, avro_strerror());
        int rc = 0;
        if (f->def)
            rc = json_to_value(f->type, f->def, &c, &w->scratch);
        else if (f->type->t == NT_STRING)
            rc = avro_value_set_string(&c, "");
        else if (f->type->t == NT_RECORD)
            fill_record(w, f->type, &c, depth + 1);
        if (rc != 0)
            SS_BUG("schema %d: cannot set default of '%s': %s", (int)w->e->id, f->name,
                   avro_strerror());
    }
}

avro_value_t *ss_avro_writer_value(ss_avro_writer_t *w) {
    avro_value_reset(&w->value);
    if (w->e->sch->top->t == NT_RECORD)
        fill_record(w, w->e->sch->top, &w->value, 0);
    return &w->value;
}

int ss_avro_writer_encode(ss_avro_writer_t *w, ss_buf_t *out, ss_err_t *err) {
    size_t size;
    if (avro_value_sizeof(&w->value, &size) != 0)
        return ss_err_set(err, SS_ERR_INVAL, "cannot encode %s: %s", type_desc(w->e->sch->top),
                          avro_strerror());
    ss_buf_grow(out, SS_AVRO_HDR_LEN + size);
    size_t old = out->len;
    ss_avro_frame_put(out, w->e->id);
    ss_buf_grow(out, size);
    avro_writer_memory_set_dest(w->aw, out->buf + out->len, (int64_t)size);
    if (avro_value_write(w->aw, &w->value) != 0) {
        ss_buf_setlen(out, old);
        return ss_err_set(err, SS_ERR_INVAL, "cannot encode %s: %s", type_desc(w->e->sch->top),
                          avro_strerror());
    }
    ss_buf_setlen(out, out->len + (size_t)avro_writer_tell(w->aw));
    return 0;
}

/* ================================ field helpers ================================ */

/* avro-c represents a second use of a named type as a link schema. */
static avro_schema_t deref(avro_schema_t s) {
    while (s && is_avro_link(s))
        s = avro_schema_link_target(s);
    return s;
}

static const char *rec_name(const avro_value_t *rec) {
    avro_schema_t s = deref(avro_value_get_schema(rec));
    return s && is_avro_named_type(s) ? avro_schema_name(s) : "?";
}

static int get_field(const avro_value_t *rec, const char *field, avro_value_t *child,
                     ss_err_t *err) {
    if (avro_value_get_type(rec) != AVRO_RECORD)
        return ss_err_set(err, SS_ERR_INVAL, "cannot get field '%s' of a non-record", field);
    if (avro_value_get_by_name(rec, field, child, NULL) != 0)
        return ss_err_set(err, SS_ERR_NOTFOUND, "no field '%s' in record '%s'", field,
                          rec_name(rec));
    return 0;
}

static const char *avro_type_desc(avro_type_t t) {
    switch (t) {
    case AVRO_STRING:
        return "string";
    case AVRO_BYTES:
        return "bytes";
    case AVRO_INT32:
        return "int";
    case AVRO_INT64:
        return "long";
    case AVRO_FLOAT:
        return "float";
    case AVRO_DOUBLE:
        return "double";
    case AVRO_BOOLEAN:
        return "boolean";
    case AVRO_NULL:
        return "null";
    case AVRO_RECORD:
        return "record";
    case AVRO_ENUM:
        return "enum";
    case AVRO_FIXED:
        return "fixed";
    case AVRO_MAP:
        return "map";
    case AVRO_ARRAY:
        return "array";
    case AVRO_UNION:
        return "union";
    default:
        return "link";
    }
}

/* Gets field and, for a union, selects the first branch whose type is in `wanted` (bit per
 * avro_type_t). *out is the (branch) value. */
static int field_for_set(avro_value_t *rec, const char *field, unsigned wanted, avro_value_t *out,
                         const char *what, ss_err_t *err) {
    avro_value_t child;
    int rc = get_field(rec, field, &child, err);
    if (rc < 0)
        return rc;
    avro_type_t t = avro_value_get_type(&child);
    if (t == AVRO_UNION) {
        avro_schema_t us = avro_value_get_schema(&child);
        for (size_t i = 0; i < avro_schema_union_size(us); i++) {
            avro_type_t bt = avro_typeof(deref(avro_schema_union_branch(us, (int)i)));
            if (wanted & (1u << bt)) {
                if (avro_value_set_branch(&child, (int)i, out) != 0)
                    return ss_err_set(err, SS_ERR_INVAL, "field '%s': %s", field, avro_strerror());
                return 0;
            }
        }
        return ss_err_set(err, SS_ERR_INVAL, "field '%s' (a union) cannot hold %s", field, what);
    }
    if (!(wanted & (1u << t)))
        return ss_err_set(err, SS_ERR_INVAL, "field '%s' is %s, not %s", field, avro_type_desc(t),
                          what);
    *out = child;
    return 0;
}

#define AB(t) (1u << (t))

int ss_avro_set_null(avro_value_t *rec, const char *field, ss_err_t *err) {
    avro_value_t v;
    int rc = field_for_set(rec, field, AB(AVRO_NULL), &v, "null", err);
    if (rc == 0)
        avro_value_set_null(&v);
    return rc;
}

int ss_avro_set_str(avro_value_t *rec, const char *field, const char *s, ss_err_t *err) {
    if (!s)
        return ss_avro_set_null(rec, field, err);
    avro_value_t v;
    int rc = field_for_set(rec, field, AB(AVRO_STRING) | AB(AVRO_BYTES), &v, "string", err);
    if (rc < 0)
        return rc;
    if (avro_value_get_type(&v) == AVRO_BYTES)
        avro_value_set_bytes(&v, (void *)s, strlen(s));
    else
        avro_value_set_string(&v, s);
    return 0;
}

int ss_avro_set_bytes(avro_value_t *rec, const char *field, const void *p, size_t n,
                      ss_err_t *err) {
    if (!p)
        return ss_avro_set_null(rec, field, err);
    avro_value_t v;
    int rc = field_for_set(rec, field, AB(AVRO_BYTES), &v, "bytes", err);
    if (rc == 0)
        avro_value_set_bytes(&v, (void *)p, n);
    return rc;
}

static int set_number(avro_value_t *rec, const char *field, int is_double, int64_t l, double d,
                      ss_err_t *err) {
    avro_value_t v;
    unsigned want = AB(AVRO_DOUBLE) | AB(AVRO_FLOAT);
    if (!is_double)
        want |= AB(AVRO_INT64) | AB(AVRO_INT32);
    int rc = field_for_set(rec, field, want, &v, is_double ? "double" : "an integer", err);
    if (rc < 0)
        return rc;
    switch (avro_value_get_type(&v)) {
    case AVRO_INT32:
        if (l < INT32_MIN || l > INT32_MAX)
            return ss_err_set(err, SS_ERR_INVAL, "field '%s': %lld does not fit an int", field,
                              (long long)l);
        avro_value_set_int(&v, (int32_t)l);
        break;
    case AVRO_INT64:
        avro_value_set_long(&v, l);
        break;
    case AVRO_FLOAT:
        avro_value_set_float(&v, is_double ? (float)d : (float)l);
        break;
    default:
        avro_value_set_double(&v, is_double ? d : (double)l);
        break;
    }
    return 0;
}

int ss_avro_set_int(avro_value_t *rec, const char *field, int32_t x, ss_err_t *err) {
    return set_number(rec, field, 0, x, 0, err);
}

int ss_avro_set_long(avro_value_t *rec, const char *field, int64_t x, ss_err_t *err) {
    return set_number(rec, field, 0, x, 0, err);
}

int ss_avro_set_double(avro_value_t *rec, const char *field, double x, ss_err_t *err) {
    return set_number(rec, field, 1, 0, x, err);
}

int ss_avro_set_bool(avro_value_t *rec, const char *field, int x, ss_err_t *err) {
    avro_value_t v;
    int rc = field_for_set(rec, field, AB(AVRO_BOOLEAN), &v, "boolean", err);
    if (rc == 0)
        avro_value_set_boolean(&v, x ? 1 : 0);
    return rc;
}

int ss_avro_set_enum(avro_value_t *rec, const char *field, const char *symbol, ss_err_t *err) {
    if (!symbol)
        return ss_avro_set_null(rec, field, err);
    avro_value_t v;
    int rc = field_for_set(rec, field, AB(AVRO_ENUM), &v, "an enum symbol", err);
    if (rc < 0)
        return rc;
    avro_schema_t es = deref(avro_value_get_schema(&v));
    int idx = avro_schema_enum_get_by_name(es, symbol);
    if (idx < 0)
        return ss_err_set(err, SS_ERR_INVAL, "no symbol '%s' in enum '%s'", symbol,
                          avro_schema_name(es));
    avro_value_set_enum(&v, idx);
    return 0;
}

int ss_avro_field(avro_value_t *rec, const char *field, avro_value_t *child, ss_err_t *err) {
    return field_for_set(rec, field, ~AB(AVRO_NULL), child, "a value", err);
}

int ss_avro_append(avro_value_t *rec, const char *field, avro_value_t *elem, ss_err_t *err) {
    avro_value_t arr;
    int rc = field_for_set(rec, field, AB(AVRO_ARRAY), &arr, "an array", err);
    if (rc < 0)
        return rc;
    if (avro_value_append(&arr, elem, NULL) != 0)
        return ss_err_set(err, SS_ERR_INVAL, "field '%s': %s", field, avro_strerror());
    return 0;
}

int ss_avro_map_put_str(avro_value_t *rec, const char *field, const char *key, const char *val,
                        ss_err_t *err) {
    avro_value_t map, v;
    int rc = field_for_set(rec, field, AB(AVRO_MAP), &map, "a map", err);
    if (rc < 0)
        return rc;
    if (avro_value_add(&map, key, &v, NULL, NULL) != 0)
        return ss_err_set(err, SS_ERR_INVAL, "field '%s': %s", field, avro_strerror());
    if (avro_value_get_type(&v) != AVRO_STRING)
        return ss_err_set(err, SS_ERR_INVAL, "field '%s' is not a map of strings", field);
    avro_value_set_string(&v, val);
    return 0;
}

/* Gets field for reading: *v is the value or its current union branch; returns 1 if null. */
static int field_for_get(const avro_value_t *rec, const char *field, avro_value_t *v,
                         ss_err_t *err) {
    int rc = get_field(rec, field, v, err);
    if (rc < 0)
        return rc;
    if (avro_value_get_type(v) == AVRO_UNION) {
        avro_value_t br;
        int disc = -1;
        avro_value_get_discriminant(v, &disc);
        if (disc < 0 || avro_value_get_current_branch(v, &br) != 0)
            return 1;
        *v = br;
    }
    return avro_value_get_type(v) == AVRO_NULL ? 1 : 0;
}

int ss_avro_is_null(const avro_value_t *rec, const char *field, ss_err_t *err) {
    avro_value_t v;
    return field_for_get(rec, field, &v, err);
}

int ss_avro_get_str(const avro_value_t *rec, const char *field, const char **s, size_t *len,
                    ss_err_t *err) {
    avro_value_t v;
    int rc = field_for_get(rec, field, &v, err);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        *s = NULL;
        if (len)
            *len = 0;
        return 0;
    }
    size_t n = 0;
    avro_type_t t = avro_value_get_type(&v);
    if (t == AVRO_STRING) {
        avro_value_get_string(&v, s, &n);
        n = n ? n - 1 : 0; /* avro-c counts the NUL */
    } else if (t == AVRO_BYTES) {
        const void *p = NULL;
        avro_value_get_bytes(&v, &p, &n);
        *s = p;
    } else {
        return ss_err_set(err, SS_ERR_INVAL, "field '%s' is %s, not string", field,
                          avro_type_desc(t));
    }
    if (len)
        *len = n;
    return 0;
}

static int get_number(const avro_value_t *rec, const char *field, int64_t *l, double *d,
                      ss_err_t *err) {
    avro_value_t v;
    int rc = field_for_get(rec, field, &v, err);
    if (rc < 0)
        return rc;
    if (rc == 1)
        return ss_err_set(err, SS_ERR_NOTFOUND, "field '%s' is null", field);
    int32_t i = 0;
    float f = 0;
    avro_type_t t = avro_value_get_type(&v);
    switch (t) {
    case AVRO_INT32:
        avro_value_get_int(&v, &i);
        *l = i;
        *d = i;
        return 0;
    case AVRO_INT64:
        avro_value_get_long(&v, l);
        *d = (double)*l;
        return 0;
    case AVRO_FLOAT:
        avro_value_get_float(&v, &f);
        *d = f;
        return 1;
    case AVRO_DOUBLE:
        avro_value_get_double(&v, d);
        return 1;
    default:
        return ss_err_set(err, SS_ERR_INVAL, "field '%s' is %s, not a number", field,
                          avro_type_desc(t));
    }
}

int ss_avro_get_long(const avro_value_t *rec, const char *field, int64_t *x, ss_err_t *err) {
    int64_t l = 0;
    double d = 0;
    int rc = get_number(rec, field, &l, &d, err);
    if (rc < 0)
        return rc;
    if (rc == 1)
        return ss_err_set(err, SS_ERR_INVAL, "field '%s' is a floating-point number, not long",
                          field);
    *x = l;
    return 0;
}

int ss_avro_get_int(const avro_value_t *rec, const char *field, int32_t *x, ss_err_t *err) {
    int64_t l = 0;
    int rc = ss_avro_get_long(rec, field, &l, err);
    if (rc < 0)
        return rc;
    if (l < INT32_MIN || l > INT32_MAX)
        return ss_err_set(err, SS_ERR_INVAL, "field '%s': %lld does not fit an int", field,
                          (long long)l);
    *x = (int32_t)l;
    return 0;
}

int ss_avro_get_double(const avro_value_t *rec, const char *field, double *x, ss_err_t *err) {
    int64_t l = 0;
    double d = 0;
    int rc = get_number(rec, field, &l, &d, err);
    if (rc < 0)
        return rc;
    *x = d;
    return 0;
}

int ss_avro_get_enum(const avro_value_t *rec, const char *field, const char **symbol,
                     ss_err_t *err) {
    avro_value_t v;
    int rc = field_for_get(rec, field, &v, err);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        *symbol = NULL;
        return 0;
    }
    if (avro_value_get_type(&v) != AVRO_ENUM)
        return ss_err_set(err, SS_ERR_INVAL, "field '%s' is %s, not enum", field,
                          avro_type_desc(avro_value_get_type(&v)));
    int idx = 0;
    avro_value_get_enum(&v, &idx);
    *symbol = avro_schema_enum_get(deref(avro_value_get_schema(&v)), idx);
    return 0;
}

/* ================================ JSON rendering ================================ */

static void json_str(ss_buf_t *out, const uint8_t *s, size_t n, int is_bytes) {
    static const char hex[] = "0123456789abcdef";
    ss_buf_addch(out, '"');
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        if (c == '"' || c == '\\') {
            ss_buf_addch(out, '\\');
            ss_buf_addch(out, c);
            i++;
        } else if (c >= 0x20 && c < 0x7f) {
            ss_buf_addch(out, c);
            i++;
        } else if (c < 0x80 || is_bytes) {
            char e[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
            ss_buf_add(out, e, 6);
            i++;
        } else {
            /* copy one valid UTF-8 sequence, or replace the bad byte by U+FFFD */
            size_t k = 1;
            while (k < 4 && i + k < n && (s[i + k] & 0xc0) == 0x80)
                k++;
            size_t want = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
            if (k >= want && ss_utf8_valid((const char *)s + i, want)) {
                ss_buf_add(out, s + i, want);
                i += want;
            } else {
                ss_buf_adds(out, "\\ufffd");
                i++;
            }
        }
    }
    ss_buf_addch(out, '"');
}

static void json_num(ss_buf_t *out, double d) {
    if (isnan(d)) {
        ss_buf_adds(out, "\"NaN\"");
    } else if (isinf(d)) {
        ss_buf_adds(out, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    } else {
        char b[40];
        for (int prec = 1; prec <= 17; prec++) { /* shortest text that reads back exactly */
            snprintf(b, sizeof(b), "%.*g", prec, d);
            if (strtod(b, NULL) == d)
                break;
        }
        ss_buf_adds(out, b);
    }
}

static int json_emit(dctx_t *x, const node_t *n, ss_buf_t *out) {
    const uint8_t *b;
    size_t len;
    int rc = 0;
    if (++x->depth > MAX_DEPTH) {
        x->depth--;
        return dfail(x, "nesting deeper than %d", MAX_DEPTH);
    }
    switch (n->t) {
    case NT_NULL:
        ss_buf_adds(out, "null");
        break;
    case NT_BOOL: {
        int v;
        if ((rc = rd_bool(x, &v)) == 0)
            ss_buf_adds(out, v ? "true" : "false");
        break;
    }
    case NT_INT:
    case NT_LONG: {
        int64_t v;
        if (n->t == NT_INT) {
            int32_t iv;
            rc = rd_int(x, &iv);
            v = iv;
        } else {
            rc = rd_long(x, &v);
        }
        if (rc == 0)
            ss_buf_addf(out, "%lld", (long long)v);
        break;
    }
    case NT_FLOAT: {
        float f;
        if ((rc = rd_float(x, &f)) == 0)
            json_num(out, f);
        break;
    }
    case NT_DOUBLE: {
        double d;
        if ((rc = rd_double(x, &d)) == 0)
            json_num(out, d);
        break;
    }
    case NT_STRING:
    case NT_BYTES:
        if ((rc = rd_bytes(x, &b, &len)) == 0)
            json_str(out, b, len, n->t == NT_BYTES);
        break;
    case NT_FIXED:
        if ((rc = rd_fixed(x, n->n, &b)) == 0)
            json_str(out, b, n->n, 1);
        break;
    case NT_ENUM: {
        size_t idx;
        if ((rc = rd_enum_index(x, n, &idx)) == 0)
            json_str(out, (const uint8_t *)n->symbols[idx], strlen(n->symbols[idx]), 0);
        break;
    }
    case NT_UNION: {
        size_t idx;
        if ((rc = rd_union_index(x, n, &idx)) == 0)
            rc = json_emit(x, n->branches[idx], out);
        break;
    }
    case NT_RECORD:
        ss_buf_addch(out, '{');
        for (size_t i = 0; i < n->n && rc == 0; i++) {
            if (i)
                ss_buf_addch(out, ',');
            json_str(out, (const uint8_t *)n->fields[i].name, strlen(n->fields[i].name), 0);
            ss_buf_addch(out, ':');
            if ((rc = json_emit(x, n->fields[i].type, out)) < 0)
                path_push(x, ".%s", n->fields[i].name);
        }
        ss_buf_addch(out, '}');
        break;
    case NT_ARRAY:
    case NT_MAP: {
        size_t zb = MAX_ZERO_ITEMS, item = 0;
        ss_buf_addch(out, n->t == NT_MAP ? '{' : '[');
        for (;;) {
            int64_t cnt;
            if ((rc = rd_block(x, n->items, n->t == NT_MAP, &cnt, &zb)) < 0 || cnt == 0)
                break;
            for (int64_t i = 0; i < cnt && rc == 0; i++, item++) {
                if (item)
                    ss_buf_addch(out, ',');
                if (n->t == NT_MAP) {
                    if ((rc = rd_bytes(x, &b, &len)) < 0)
                        break;
                    json_str(out, b, len, 0);
                    ss_buf_addch(out, ':');
                }
                if ((rc = json_emit(x, n->items, out)) < 0)
                    path_push(x, "[%zu]", item);
            }
            if (rc < 0)
                break;
        }
        ss_buf_addch(out, n->t == NT_MAP ? '}' : ']');
        break;
    }
    }
    x->depth--;
    return rc;
}

int ss_avro_to_json(ss_avro_reg_t *reg, const void *payload, size_t len, ss_buf_t *out,
                    ss_err_t *err) {
    int32_t wid = 0;
    const uint8_t *body = NULL;
    size_t blen = 0;
    int rc = ss_avro_frame_parse(payload, len, &wid, &body, &blen, err);
    if (rc < 0)
        return rc;
    entry_t *e = lookup_writer(reg, wid, &rc, err);
    if (!e)
        return rc;
    size_t old = out->len;
    dctx_t x = {.p = body, .end = body + blen, .base = payload, .err = err};
    if (json_emit(&x, e->sch->top, out) < 0) {
        ss_buf_setlen(out, old);
        return dfinish(&x);
    }
    if (x.p != x.end) {
        ss_buf_setlen(out, old);
        dfail(&x, "%zu trailing bytes after the record", (size_t)(x.end - x.p));
        return dfinish(&x);
    }
    return 0;
}

/* ================================ flat record writer ================================ */

struct ss_avro_flat {
    int32_t id;
    size_t n;           /* fields */
    avro_type_t *types; /* per field */
    char **names;
    ss_buf_t *out; /* the record being written */
    size_t next;   /* index of the next field */
    int bad;       /* 0, or 1 + index of the first field that did not match */
    char why[64];
};

ss_avro_flat_t *ss_avro_flat_new(ss_avro_reg_t *reg, int32_t schema_id, ss_err_t *err) {
    entry_t *e = lookup(reg, schema_id, err);
    if (!e)
        return NULL;
    avro_schema_t s = deref(e->as);
    if (!s || !is_avro_record(s)) {
        ss_err_set(err, SS_ERR_INVAL, "schema %d is not a record", (int)schema_id);
        return NULL;
    }
    ss_avro_flat_t *f = ss_xcalloc(1, sizeof(*f));
    f->id = schema_id;
    f->n = avro_schema_record_size(s);
    f->types = ss_xcalloc(f->n ? f->n : 1, sizeof(*f->types));
    f->names = ss_xcalloc(f->n ? f->n : 1, sizeof(*f->names));
    for (size_t i = 0; i < f->n; i++) {
        avro_schema_t fs = deref(avro_schema_record_field_get_by_index(s, (int)i));
        const char *name = avro_schema_record_field_name(s, (int)i);
        f->names[i] = ss_xstrdup(name ? name : "?");
        avro_type_t t = fs ? avro_typeof(fs) : AVRO_NULL;
        if (t != AVRO_INT32 && t != AVRO_INT64 && t != AVRO_FLOAT && t != AVRO_DOUBLE &&
            t != AVRO_BOOLEAN && t != AVRO_STRING && t != AVRO_BYTES) {
            ss_err_set(err, SS_ERR_INVAL, "schema %d: field '%s' is not of a flat type",
                       (int)schema_id, f->names[i]);
            ss_avro_flat_destroy(f);
            return NULL;
        }
        f->types[i] = t;
    }
    return f;
}

void ss_avro_flat_destroy(ss_avro_flat_t *f) {
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        free(f->names[i]);
    free(f->names);
    free(f->types);
    free(f);
}

void ss_avro_flat_begin(ss_avro_flat_t *f, ss_buf_t *out) {
    f->out = out;
    f->next = 0;
    f->bad = 0;
    ss_avro_frame_put(out, f->id);
}

/* The type of the next field if it is one of a or b, else marks the record bad. */
static int flat_next(ss_avro_flat_t *f, avro_type_t a, avro_type_t b, const char *what) {
    if (f->bad)
        return -1;
    if (f->next >= f->n || (f->types[f->next] != a && f->types[f->next] != b)) {
        f->bad = 1 + (int)f->next;
        snprintf(f->why, sizeof(f->why), "%s", what);
        return -1;
    }
    return (int)f->types[f->next++];
}

void ss_avro_flat_str(ss_avro_flat_t *f, const char *s) {
    if (flat_next(f, AVRO_STRING, AVRO_BYTES, "a string") >= 0)
        put_bytes(f->out, s ? s : "", s ? strlen(s) : 0);
}

void ss_avro_flat_long(ss_avro_flat_t *f, int64_t x) {
    int t = flat_next(f, AVRO_INT64, AVRO_INT32, "an integer");
    if (t < 0)
        return;
    if (t == AVRO_INT32 && (x < INT32_MIN || x > INT32_MAX)) {
        f->bad = (int)f->next; /* next was advanced: this field */
        snprintf(f->why, sizeof(f->why), "an int in range");
        return;
    }
    put_long(f->out, x);
}

void ss_avro_flat_double(ss_avro_flat_t *f, double x) {
    int t = flat_next(f, AVRO_DOUBLE, AVRO_FLOAT, "a number");
    if (t == AVRO_DOUBLE)
        put_double(f->out, x);
    else if (t == AVRO_FLOAT)
        put_float(f->out, (float)x);
}

void ss_avro_flat_bool(ss_avro_flat_t *f, int x) {
    if (flat_next(f, AVRO_BOOLEAN, AVRO_BOOLEAN, "a boolean") >= 0)
        ss_buf_addch(f->out, x ? 1 : 0);
}

int ss_avro_flat_end(ss_avro_flat_t *f, ss_err_t *err) {
    if (f->bad)
        return ss_err_set(err, SS_ERR_INVAL, "schema %d: field '%s' did not get %s", (int)f->id,
                          f->names[f->bad - 1], f->why);
    if (f->next != f->n)
        return ss_err_set(err, SS_ERR_INVAL, "schema %d: field '%s' missing", (int)f->id,
                          f->names[f->next]);
    return 0;
}
