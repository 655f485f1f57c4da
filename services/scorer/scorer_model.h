/* scorer_model: the scorer's current churn model with hot reload. Watches the artifact (its
 * manifest.json, or the bare model file) by inode, size and mtime, and on a change (or when
 * forced, e.g. by SIGHUP) loads the new artifact completely before swapping it in; a failed load
 * (torn write: the manifest's hash check fails; bad file) keeps the old model and is retried at
 * the next check. Depends on churn_model. Threads: one thread (the scoring loop) owns it, so the
 * swap happens between two batches and every score names the model that produced it. */
#ifndef SS_SCORER_MODEL_H
#define SS_SCORER_MODEL_H

#include "churn_model.h"
#include "ss_err.h"

typedef struct scorer_model scorer_model_t;

/* Returns new: the artifact at path (directory, manifest.json or bare XGBoost JSON) loaded,
 * with nthread XGBoost prediction threads (0 = library default). NULL with err on failure. */
scorer_model_t *scorer_model_new(const char *path, int nthread, ss_err_t *err);
void scorer_model_destroy(scorer_model_t *sm); /* NULL is a no-op */

/* Borrows the current model (valid until the next successful scorer_model_check). */
churn_model_t *scorer_model_current(scorer_model_t *sm);
/* Borrows the current version string (same lifetime). */
const char *scorer_model_version(const scorer_model_t *sm);

/* Reloads when the watched file changed since the last load, or always when force is set.
 * Returns 1 when a new model was swapped in, 0 when nothing changed, or a negative SS_ERR_* with
 * err when the load failed (the previous model stays current). */
int scorer_model_check(scorer_model_t *sm, int force, ss_err_t *err);

/* Successful reloads since creation. */
unsigned scorer_model_reloads(const scorer_model_t *sm);

#endif
