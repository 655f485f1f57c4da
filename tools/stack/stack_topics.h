/* stack_topics: the topic list of the local stack and its partition counts (pure; no I/O).
 * Default counts: transactions 12, *.dlq 3, everything else 6; `--partitions a=N,b=M` overrides
 * them and adds topics not in the list (tests create their own topics this way).
 * Not thread-safe; used by main only. */
#ifndef STACK_TOPICS_H
#define STACK_TOPICS_H

#include "ss_err.h"

#define STK_TOPICS_MAX 64

typedef struct stk_topic {
    char name[250]; /* Kafka's limit is 249 characters */
    int partitions;
} stk_topic_t;

typedef struct stk_topics {
    stk_topic_t v[STK_TOPICS_MAX];
    int n;
} stk_topics_t;

/* Default partition count for a topic name (12 for "transactions", 3 for "*.dlq", else 6). */
int stk_topics_default_partitions(const char *name);

/* Fills t from `names` (comma-separated topic names, default counts) then applies `spec`
 * (comma-separated name=N, N in 1..1000; may be NULL or empty). Returns 0 or SS_ERR_INVAL with
 * "bad --partitions entry 'x': expected topic=N" / "... partition count must be 1..1000" /
 * "bad topic name 'a b'" / "too many topics". */
int stk_topics_parse(stk_topics_t *t, const char *names, const char *spec, ss_err_t *err);

#endif
