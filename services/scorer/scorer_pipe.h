/* scorer_pipe: the scoring steps between Kafka and the state: a batch of decoded events is
 * scored with one churn_model_predict call and applied in order; due inactivity sweeps run in
 * chunks. Every score to publish goes to an emit callback with its encoded ChurnScore. No Kafka
 * here (main.c produces in the callback; the replay at start-up passes no callback).
 * Depends on scorer_state, scorer_codec, churn_model. Threads: the state's mutator thread. */
#ifndef SS_SCORER_PIPE_H
#define SS_SCORER_PIPE_H

#include <stddef.h>
#include <stdint.h>

#include "churn_model.h"
#include "scorer_codec.h"
#include "scorer_state.h"
#include "ss_err.h"

/* Called for each score to publish, on the calling thread; s and the payload are borrowed for the
 * call. Returns 0, or a negative SS_ERR_* that stops the batch and is returned by the caller. */
typedef int(scorer_emit_fn)(const scorer_score_t *s, const void *payload, size_t len, void *opaque);

typedef struct scorer_pipe_stats {
    uint64_t events;        /* events applied (scored) */
    uint64_t stale;         /* events skipped as stale or duplicate */
    uint64_t emitted[2][3]; /* [reason][risk] scores emitted */
    uint64_t sweeps;        /* sweeps completed */
    uint64_t swept;         /* customers re-scored by sweeps */
    double sweep_seconds;   /* monotonic time spent in sweeps and catch-ups */
} scorer_pipe_stats_t;

/* Scores and applies evs[0..n) with model m (its version recorded with the scores, and written
 * into the payloads), calling emit (may be NULL: nothing encoded) for each applied event.
 * rows/p scratch is internal. Returns 0, SS_ERR_FATAL (prediction failed) or emit's error. */
int scorer_pipe_events(scorer_state_t *st, scorer_codec_t *codec, churn_model_t *m,
                       const scorer_event_t *evs, size_t n, scorer_emit_fn *emit, void *opaque,
                       scorer_pipe_stats_t *stats, ss_err_t *err);

/* Runs the due sweep (scorer_state_sweep_due) in chunks of chunk rows (0 = 8192), or else a
 * catch-up of late customers (scorer_state_catchup_begin), emitting the level changes.
 * *ran (may be NULL) gets 1 when a full sweep ran. Returns as above. */
int scorer_pipe_sweeps(scorer_state_t *st, scorer_codec_t *codec, churn_model_t *m, size_t chunk,
                       scorer_emit_fn *emit, void *opaque, scorer_pipe_stats_t *stats, int *ran,
                       ss_err_t *err);

/* The whole step for one consumed batch: evs[0..n) are cut into segments that end where an
 * event moves the event-time clock into a new day; each segment is scored and applied
 * (scorer_pipe_events), then, when sweep is set, the due sweep or catch-up runs
 * (scorer_pipe_sweeps). So a backlog still gets one sweep per day its clock passes, at that
 * day's midnight, with the day's earlier events applied. *sweeps (may be NULL) gets the number
 * of full sweeps run. Returns as above. */
int scorer_pipe_batch(scorer_state_t *st, scorer_codec_t *codec, churn_model_t *m,
                      const scorer_event_t *evs, size_t n, int sweep, size_t chunk,
                      scorer_emit_fn *emit, void *opaque, scorer_pipe_stats_t *stats, int *sweeps,
                      ss_err_t *err);

#endif
