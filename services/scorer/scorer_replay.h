/* scorer_replay: rebuilds the scorer's state at start-up by reading the features topic from
 * each partition's first retained offset up to the consumer group's committed offset
 * (exclusive), scoring every event and running the inactivity sweeps exactly as the live loop
 * does, but publishing nothing: what the previous run already published is not repeated, and the
 * group consumer then continues at the committed offsets with the risk levels it had.
 * Partitions without a committed offset are not replayed (the group starts them at the
 * beginning anyway). Depends on ss_kafka (config), librdkafka, scorer_pipe. Runs on the main
 * thread before the group consumer is created. */
#ifndef SS_SCORER_REPLAY_H
#define SS_SCORER_REPLAY_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "churn_model.h"
#include "scorer_codec.h"
#include "scorer_pipe.h"
#include "scorer_state.h"
#include "ss_cfg.h"
#include "ss_err.h"

typedef struct scorer_replay_opts {
    const char *topic;           /* features topic */
    const char *group_id;        /* the scorer's consumer group */
    int sweep;                   /* run the inactivity sweeps (as the live loop does) */
    size_t sweep_chunk;          /* as scorer_pipe_sweeps */
    int timeout_ms;              /* whole replay; 0 = 120000 */
    volatile sig_atomic_t *stop; /* may be NULL; nonzero aborts (SS_ERR_EXIT) */
} scorer_replay_opts_t;

/* Replays into st with model m. *events (may be NULL) gets the number of events read.
 * Returns 0; SS_ERR_RETRIABLE when the brokers, metadata or committed offsets are unreachable or
 * the replay did not finish within the timeout; SS_ERR_FATAL on a model failure; SS_ERR_EXIT when
 * stopped. Undecodable or invalid events are skipped (they were dead-lettered when first read). */
int scorer_replay(const ss_cfg_t *cfg, const scorer_replay_opts_t *o, scorer_state_t *st,
                  scorer_codec_t *codec, churn_model_t *m, scorer_pipe_stats_t *stats,
                  uint64_t *events, ss_err_t *err);

#endif
