/* scorer_api: the lookup API of streamscore-scorer on ss_http:
 *   GET /v1/customers/{id}/churn -> 200 application/json (latest score, risk, features, model)
 *                                   404 {"error": "unknown customer 'X'"} / other paths
 * Depends on scorer_state and ss_http. The handler runs on the HTTP thread and only calls
 * scorer_state_lookup (which copies under the state's mutex). */
#ifndef SS_SCORER_API_H
#define SS_SCORER_API_H

#include "scorer_state.h"
#include "ss_buf.h"
#include "ss_http.h"

#define SCORER_API_PREFIX "/v1/customers/"

/* Appends the JSON document of a view (docs/churn.md "Lookup API") to out. Pure. */
void scorer_view_json(const scorer_view_t *v, ss_buf_t *out);

/* Extracts {id} from "/v1/customers/{id}/churn" into id (SS_ID_MAX + 1 bytes). Returns 0, or
 * SS_ERR_NOTFOUND for another path or an empty / too long id. Pure. */
int scorer_api_parse_path(const char *path, char *id);

/* The ss_http route handler; opaque is the scorer_state_t (borrowed, must outlive the server).
 * Register with ss_http_route(h, SCORER_API_PREFIX, scorer_api_handle, st). */
void scorer_api_handle(ss_http_t *h, const ss_http_request_t *req, ss_http_response_t *resp,
                       void *opaque);

#endif
