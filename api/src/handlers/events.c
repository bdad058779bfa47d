/*
 * handlers/events.c — GET /api/v1/events/?org_id=<uuid>: an
 * organisation's status changes as Server-Sent Events (events.c).
 *
 * The database decides first, through the normal path: caas.events_channel
 * answers the channel's name to a member (content.read) and P0002 (404) to
 * anyone else, so refusals are the usual JSON envelope and no stream
 * starts.  Then the response is a stream (struct api_response's stream_*
 * fields; request.c hands them to libmicrohttpd), ended by events.c when
 * the caller's access token expires.
 */
#include <string.h>

#include "../auth_jwt.h"
#include "../db.h"
#include "../events.h"
#include "../handlers.h"

/* channel_valid: what caas.events_channel names, [a-z0-9_]{1,63}. */
static bool
channel_valid(const char *s)
{
	size_t	 n = s != NULL ? strlen(s) : 0;

	return (n > 0 && n < 64 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n);
}

int
handle_events(struct api_request *req, struct api_response *resp)
{
	const char		*org = request_query(req, "org_id"), *params[1];
	char			*channel = NULL;
	struct events_stream	*s;
	enum events_refusal	 why;

	if (org == NULL || !jwt_uuid_is_canonical(org, strlen(org)))
		return (respond_error(resp, 422, "22P02", "org_id must be an organisation id",
		    NULL, "GET /api/v1/events/?org_id=<uuid>"));
	params[0] = org;
	if (db_query(req, resp, true, "SELECT caas.events_channel($1::uuid)", 1, params,
	    &channel) == -1)
		return (-1);
	if (!channel_valid(channel))
		return (respond_error(resp, 500, "internal_error", "no event channel", NULL, NULL));
	s = events_open(req->conn, channel, req->claims.exp,
	    request_header(req, "Last-Event-ID") != NULL, &why);
	if (s == NULL) {
		respond_header(resp, "Retry-After", "5");
		return (respond_error(resp, 503, "53300", why == EVENTS_FULL ?
		    "too many event streams are open" : "the server is shutting down",
		    NULL, "Reconnect in a moment."));
	}
	resp->status = 200;
	resp->content_type = "text/event-stream";
	respond_header(resp, "Cache-Control", "no-cache");
	respond_header(resp, "X-Accel-Buffering", "no");
	resp->stream_read = events_read;
	resp->stream_free = events_close;
	resp->stream_cls = s;
	return (0);
}
