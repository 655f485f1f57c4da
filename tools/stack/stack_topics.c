/* stack_topics: parsing of the topic list and --partitions (see stack_topics.h). */
#include "stack_topics.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int stk_topics_default_partitions(const char *name) {
    size_t n = strlen(name);
    if (strcmp(name, "transactions") == 0)
        return 12;
    if (n >= 4 && strcmp(name + n - 4, ".dlq") == 0)
        return 3;
    return 6;
}

static int valid_name(const char *s, size_t n) {
    if (n == 0 || n > 249)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return 0;
    }
    return 1;
}

static stk_topic_t *find_or_add(stk_topics_t *t, const char *name, size_t n, ss_err_t *err) {
    for (int i = 0; i < t->n; i++)
        if (strlen(t->v[i].name) == n && strncmp(t->v[i].name, name, n) == 0)
            return &t->v[i];
    if (!valid_name(name, n)) {
        ss_err_set(err, SS_ERR_INVAL, "bad topic name '%.*s'", (int)(n > 300 ? 300 : n), name);
        return NULL;
    }
    if (t->n >= STK_TOPICS_MAX) {
        ss_err_set(err, SS_ERR_INVAL, "too many topics (max %d)", STK_TOPICS_MAX);
        return NULL;
    }
    memcpy(t->v[t->n].name, name, n);
    t->v[t->n].name[n] = '\0';
    t->v[t->n].partitions = stk_topics_default_partitions(t->v[t->n].name);
    return &t->v[t->n++];
}

/* Trims spaces around s[0..*n) in place of the pointer/length. */
static const char *trim(const char *s, size_t *n) {
    while (*n && (*s == ' ' || *s == '\t')) {
        s++;
        (*n)--;
    }
    while (*n && (s[*n - 1] == ' ' || s[*n - 1] == '\t'))
        (*n)--;
    return s;
}

int stk_topics_parse(stk_topics_t *t, const char *names, const char *spec, ss_err_t *err) {
    const char *p;

    memset(t, 0, sizeof(*t));
    for (p = names ? names : ""; *p;) {
        size_t n = strcspn(p, ",");
        const char *s = trim(p, &n);
        if (n && !find_or_add(t, s, n, err))
            return SS_ERR_INVAL;
        p += strcspn(p, ",");
        if (*p)
            p++;
    }
    for (p = spec ? spec : ""; *p;) {
        size_t len = strcspn(p, ","), n = len;
        const char *s = trim(p, &n), *eq = memchr(s, '=', n);
        if (n) {
            char num[16], *end;
            size_t nl = eq ? n - (size_t)(eq + 1 - s) : 0;
            long v;
            stk_topic_t *tp;
            if (!eq || eq == s || nl == 0 || nl >= sizeof(num))
                return ss_err_set(err, SS_ERR_INVAL,
                                  "bad --partitions entry '%.*s': expected topic=N",
                                  (int)(n > 300 ? 300 : n), s);
            memcpy(num, eq + 1, nl);
            num[nl] = '\0';
            errno = 0;
            v = strtol(num, &end, 10);
            if (errno || *end || v < 1 || v > 1000)
                return ss_err_set(err, SS_ERR_INVAL,
                                  "bad --partitions entry '%.*s': partition count must be 1..1000",
                                  (int)(n > 300 ? 300 : n), s);
            size_t kl = (size_t)(eq - s);
            s = trim(s, &kl);
            if (!(tp = find_or_add(t, s, kl, err)))
                return SS_ERR_INVAL;
            tp->partitions = (int)v;
        }
        p += len;
        if (*p)
            p++;
    }
    return 0;
}
