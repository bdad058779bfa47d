/*
 * handlers/health.c — GET /api/v1/health/: can the server reach the
 * database, and is a dispatcher publishing?
 *
 * One anonymous call of caas.service_status() (aggregates only, no tenant
 * data) answers both:
 *   200 {"status":"ok","database":"ok","dispatcher":"ok","heartbeat_age_s":1.2}
 *   503 {"status":"degraded","database":"unreachable","dispatcher":"unknown",...}
 *   503 {"status":"degraded","database":"ok","dispatcher":"stale"|"absent",...}
 * A stale or absent dispatcher only degrades the answer while
 * health_requires_dispatcher is yes (where no dispatcher runs, say no).
 * No details beyond these, because the endpoint is anonymous (the reason
 * is in the log, from db.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "config.h"
#include "db.h"
#include "handlers.h"

int
handle_health(struct api_request *req, struct api_response *resp)
{
	char		*row = NULL;
	json_t		*st = NULL, *out;
	const char	*dispatcher = "unknown", *database = "ok";
	bool		 ok;
	char		*s;
	int		 rc;

	if (db_query(req, resp, false, "SELECT caas.service_status()", 0, NULL, &row) == -1)
		database = resp->status == 503 ? "unreachable" : "ok";
	else if ((st = row != NULL ? json_loads(row, 0, NULL) : NULL) != NULL &&
	    json_is_string(json_object_get(st, "dispatcher")))
		dispatcher = json_string_value(json_object_get(st, "dispatcher"));
	ok = strcmp(database, "ok") == 0 &&
	    (strcmp(dispatcher, "ok") == 0 || !api_config.health_requires_dispatcher);
	out = json_pack("{s:s, s:s, s:s, s:O?}", "status", ok ? "ok" : "degraded",
	    "database", database, "dispatcher", dispatcher,
	    "heartbeat_age_s", st != NULL ? json_object_get(st, "heartbeat_age_s") : NULL);
	s = out != NULL ? json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(out);
	json_decref(st);
	resp->nheaders = 0;	/* db.c's Retry-After: health is polled anyway */
	if (s == NULL)
		return (respond_error(resp, 500, "internal_error", "Out of memory.", NULL, NULL));
	rc = respond_json(resp, ok ? 200 : 503, s, strlen(s));
	free(s);
	return (rc);
}
