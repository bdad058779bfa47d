/*
 * respond.c — filling struct api_response: JSON bodies, the error
 * envelope {"code","message","details","hint"}, extra headers.
 *
 * The response owns its body (a struct buf, freed by request.c when the
 * request completes).  Header names and values are borrowed: they must be
 * static or arena strings, which outlive the response.  Error messages are
 * for HTTP clients: never put internals or secrets in them (log those).
 */
#include <stdio.h>
#include <string.h>

#include "api.h"

/* set_oom makes resp a bare 500 when memory ran out mid-build. */
static void
set_oom(struct api_response *resp)
{
	static const char body[] =
	    "{\"code\":\"internal_error\",\"message\":\"Out of memory.\",\"details\":null,\"hint\":null}";

	buf_cleanup(&resp->body);
	resp->status = 500;
	resp->content_type = "application/json";
	(void)buf_append(&resp->body, body, sizeof(body) - 1);
}

/*
 * respond_json sets status and a copy of json[0..len) as the body.
 * Returns 0, or -1 when out of memory (a 500 is set instead).
 */
int
respond_json(struct api_response *resp, int status, const char *json, size_t len)
{
	buf_cleanup(&resp->body);
	resp->status = status;
	resp->content_type = "application/json";
	if (len > 0 && buf_append(&resp->body, json, len) == -1) {
		set_oom(resp);
		return (-1);
	}
	return (0);
}

static int
append_field(struct buf *b, const char *name, const char *value, bool last)
{
	int	 rc;

	rc = buf_appendf(b, "\"%s\":", name);
	if (value == NULL)
		rc |= buf_append(b, "null", 4);
	else
		rc |= buf_append_json_string(b, value, strlen(value));
	rc |= buf_append(b, last ? "}" : ",", 1);
	return (rc);
}

/*
 * respond_error sets status and the error envelope; NULL fields become
 * JSON null.  Always returns -1, so a handler can "return respond_error()".
 */
int
respond_error(struct api_response *resp, int status, const char *code,
    const char *message, const char *details, const char *hint)
{
	struct buf	*b = &resp->body;
	int		 rc;

	buf_cleanup(b);
	resp->status = status;
	resp->content_type = "application/json";
	rc = buf_append(b, "{", 1);
	rc |= append_field(b, "code", code, false);
	rc |= append_field(b, "message", message, false);
	rc |= append_field(b, "details", details, false);
	rc |= append_field(b, "hint", hint, true);
	if (rc != 0)
		set_oom(resp);
	return (-1);
}

/*
 * respond_header adds a header (borrowed strings).  Returns 0, or -1 when
 * API_MAX_HEADERS are already set (the header is dropped).
 */
int
respond_header(struct api_response *resp, const char *name, const char *value)
{
	if (resp->nheaders >= API_MAX_HEADERS)
		return (-1);
	resp->headers[resp->nheaders].name = name;
	resp->headers[resp->nheaders].value = value;
	resp->nheaders++;
	return (0);
}

int
respond_unconfigured(struct api_response *resp, const char *key)
{
	char	msg[160];

	snprintf(msg, sizeof(msg), "%s is not configured", key);
	return (respond_error(resp, 503, "unconfigured", msg, NULL,
	    "Set it (conf/api.conf, or for a secret the environment or its _file) and restart caas-api."));
}
