/*
 * handlers/health.c — GET /api/v1/health/: is the server up and can it
 * reach the database?
 *
 * 200 {"status":"ok","database":"ok"} or 503
 * {"status":"degraded","database":"unreachable"}; no details, because the
 * endpoint is anonymous (the reason is in the log, from db.c).
 */
#include "api.h"
#include "db.h"
#include "handlers.h"

int
handle_health(struct api_request *req, struct api_response *resp)
{
	static const char ok[] = "{\"status\":\"ok\",\"database\":\"ok\"}";
	static const char down[] =
	    "{\"status\":\"degraded\",\"database\":\"unreachable\"}";

	(void)req;
	if (db_ping())
		return (respond_json(resp, 200, ok, sizeof(ok) - 1));
	return (respond_json(resp, 503, down, sizeof(down) - 1));
}
