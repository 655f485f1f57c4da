/* scorer_model: current churn model + change detection by stat(2). */
#include "scorer_model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct scorer_model {
    char *path;  /* as given */
    char *watch; /* the file whose change triggers a reload */
    int nthread;
    churn_model_t *m;
    struct stat seen; /* of watch at the last successful load (st_ino 0: unknown) */
    unsigned reloads;
};

static int same_stat(const struct stat *a, const struct stat *b) {
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static churn_model_t *load(scorer_model_t *sm, struct stat *st, ss_err_t *err) {
    /* stat before loading: a change during the load is then seen by the next check */
    if (stat(sm->watch, st) != 0)
        memset(st, 0, sizeof(*st));
    churn_model_t *m = churn_model_load(sm->path, err);
    if (m && churn_model_set_threads(m, sm->nthread, err) < 0) {
        churn_model_destroy(m);
        return NULL;
    }
    return m;
}

scorer_model_t *scorer_model_new(const char *path, int nthread, ss_err_t *err) {
    scorer_model_t *sm = ss_xcalloc(1, sizeof(*sm));
    sm->path = ss_xstrdup(path);
    sm->nthread = nthread;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        size_t n = strlen(path) + sizeof "/manifest.json";
        sm->watch = ss_xmalloc(n);
        snprintf(sm->watch, n, "%s/manifest.json", path);
    } else {
        sm->watch = ss_xstrdup(path);
    }
    if (!(sm->m = load(sm, &sm->seen, err))) {
        scorer_model_destroy(sm);
        return NULL;
    }
    return sm;
}

void scorer_model_destroy(scorer_model_t *sm) {
    if (!sm)
        return;
    churn_model_destroy(sm->m);
    free(sm->path);
    free(sm->watch);
    free(sm);
}

churn_model_t *scorer_model_current(scorer_model_t *sm) { return sm->m; }

const char *scorer_model_version(const scorer_model_t *sm) {
    return churn_model_meta(sm->m)->version;
}

int scorer_model_check(scorer_model_t *sm, int force, ss_err_t *err) {
    struct stat st;
    if (!force) {
        if (stat(sm->watch, &st) != 0 || same_stat(&st, &sm->seen))
            return 0; /* a missing file is a replacement in progress: keep the model */
    }
    churn_model_t *m = load(sm, &st, err);
    if (!m)
        return err ? err->code : SS_ERR_INVAL;
    churn_model_destroy(sm->m);
    sm->m = m;
    sm->seen = st;
    sm->reloads++;
    return 1;
}

unsigned scorer_model_reloads(const scorer_model_t *sm) { return sm->reloads; }
