/*
 * handlers/schema.c — GET /api/schema/: the OpenAPI 3.1 document, built at
 * run time from api_routes so every route is in it by construction.
 *
 * Per route: its pattern's {params} become path parameters (typed by
 * router_param_kind, so the document says what the router accepts); one
 * operation per method with summary and tag; bearerAuth (JWT) security for
 * API_AUTH_USER routes; a JSON request body when body_max > 0; the success
 * response and the standard error responses, all pointing at the Error
 * schema {code,message,details,hint}.  The document is built with jansson
 * on each request (a few kB; this endpoint is not hot).
 *
 * Routes whose request or answer is not plain JSON-in, JSON-out (streams,
 * redirects, bodies a handler of its own reads, long-polls) say more in
 * route_docs[]: the request body's schema, the success media type and
 * schema, extra responses, required query parameters and the schemas of
 * query parameters that are not plain strings.
 */
#include <ctype.h>
#include <stdlib.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "handlers.h"
#include "router.h"

#define ORG	"/api/v1/organizations/{org}"

static const char account_schema[] =
    "{\"type\":\"object\",\"properties\":{\"account_id\":{\"type\":\"string\",\"format\":\"uuid\"},"
    "\"platform\":{\"type\":\"string\"},\"external_id\":{\"type\":\"string\"},"
    "\"handle\":{\"type\":\"string\"},\"status\":{\"type\":\"string\"},"
    "\"token_expires_at\":{\"type\":[\"string\",\"null\"],\"format\":\"date-time\"}}}";

/* AI generation: what caas.ai_generate takes (less org_id) ... */
#define AI_GENERATE_PROPS \
    "\"workspace_id\":{\"type\":\"string\",\"format\":\"uuid\"," \
    "\"description\":\"Required unless content_id is given\"}," \
    "\"content_id\":{\"type\":\"string\",\"format\":\"uuid\",\"description\":" \
    "\"Add the variants to this item (its workspace and platform are used); without it a new item is created\"}," \
    "\"title\":{\"type\":\"string\",\"description\":\"Of a new item; default: the topic\"}," \
    "\"platform\":{\"enum\":[\"x\",\"linkedin\",\"instagram\",\"sandbox\"]," \
    "\"description\":\"Required unless the content item has one; sets the length limit\"}," \
    "\"tone\":{\"type\":\"string\",\"default\":\"professional\"," \
    "\"description\":\"One of GET /api/v1/ai/tones/\"}," \
    "\"variants\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":5,\"default\":1," \
    "\"description\":\"Versions to write; each counts as one generation\"}," \
    "\"language\":{\"type\":\"string\",\"default\":\"en\"," \
    "\"pattern\":\"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$\"}," \
    "\"brief\":{\"type\":\"object\",\"required\":[\"topic\"],\"additionalProperties\":false," \
    "\"properties\":{\"topic\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":500}," \
    "\"key_points\":{\"type\":\"array\",\"maxItems\":10,\"items\":{\"type\":\"string\",\"maxLength\":300}}," \
    "\"link\":{\"type\":\"string\",\"format\":\"uri\",\"maxLength\":2000}," \
    "\"audience\":{\"type\":\"string\",\"maxLength\":300}}}"

/* ... and a job, as caas.ai_job_get shows it. */
#define AI_JOB_PROPS \
    "\"job_id\":{\"type\":\"string\",\"format\":\"uuid\"}," \
    "\"org_id\":{\"type\":\"string\",\"format\":\"uuid\"}," \
    "\"workspace_id\":{\"type\":\"string\",\"format\":\"uuid\"}," \
    "\"content_id\":{\"type\":[\"string\",\"null\"],\"format\":\"uuid\"," \
    "\"description\":\"null until a new item is created at success\"}," \
    "\"title\":{\"type\":[\"string\",\"null\"]},\"platform\":{\"type\":\"string\"}," \
    "\"tone\":{\"type\":\"string\"},\"language\":{\"type\":\"string\"}," \
    "\"variants\":{\"type\":\"integer\"},\"brief\":{\"type\":\"object\"}," \
    "\"state\":{\"enum\":[\"queued\",\"running\",\"succeeded\",\"failed\"]}," \
    "\"provider\":{\"type\":[\"string\",\"null\"]},\"model\":{\"type\":[\"string\",\"null\"]}," \
    "\"prompt_tokens\":{\"type\":[\"integer\",\"null\"]}," \
    "\"completion_tokens\":{\"type\":[\"integer\",\"null\"]}," \
    "\"reprompts\":{\"type\":\"integer\"},\"trimmed\":{\"type\":\"boolean\"}," \
    "\"attempts\":{\"type\":\"array\",\"items\":{\"type\":\"object\"}," \
    "\"description\":\"The provider calls: provider, model, http_status, class, code, message, ms, at\"}," \
    "\"result\":{\"type\":[\"object\",\"null\"],\"description\":\"On success: content_id, " \
    "versions [{version, length}], current_version\"}," \
    "\"error\":{\"type\":[\"object\",\"null\"],\"properties\":{\"code\":{\"type\":\"string\"}," \
    "\"message\":{\"type\":\"string\"}}}," \
    "\"created_at\":{\"type\":\"string\",\"format\":\"date-time\"}," \
    "\"started_at\":{\"type\":[\"string\",\"null\"],\"format\":\"date-time\"}," \
    "\"finished_at\":{\"type\":[\"string\",\"null\"],\"format\":\"date-time\"}"

static const char ai_job_schema[] = "{\"type\":\"object\",\"properties\":{" AI_JOB_PROPS "}}";

static const char ai_accepted_schema[] =
    "{\"type\":\"object\",\"properties\":{" AI_JOB_PROPS ","
    "\"url\":{\"type\":\"string\",\"description\":\"The job (also in Location); "
    "?wait=S long-polls it\"},"
    "\"events_url\":{\"type\":\"string\",\"description\":\"The organisation's event stream, "
    "which carries the job's ai_job.state changes\"}}}";

static const char ai_generate_errors[] =
    "{\"402\":\"The plan's AI generations for the period are used up, counting queued jobs (CA001)\","
    "\"503\":\"No AI provider is configured, or no dispatcher is running (CA008; the message "
    "and hint name the dispatcher settings to set), or the database is unavailable\"}";

/* Billing: a Stripe session's URL, and what Stripe's answers become. */
static const char session_schema[] =
    "{\"type\":\"object\",\"required\":[\"url\"],\"properties\":{"
    "\"url\":{\"type\":\"string\",\"format\":\"uri\",\"description\":\"Send the user's browser here\"},"
    "\"session_id\":{\"type\":\"string\",\"description\":\"Checkout only: Stripe's session id (cs_...)\"}}}";

#define STRIPE_ERRORS \
    "\"502\":\"Stripe refused the request (its message is in the error, code stripe_error), " \
    "answered 5xx, or could not be reached (stripe_unavailable)\"," \
    "\"503\":\"stripe_secret_key is not configured (the message names it), or the database is unavailable\"," \
    "\"504\":\"Stripe did not answer within outbound_timeout_ms (stripe_timeout)\""

static const char stripe_event_schema[] =
    "{\"type\":\"object\",\"properties\":{\"event_id\":{\"type\":\"string\"},"
    "\"type\":{\"type\":\"string\"},"
    "\"outcome\":{\"enum\":[\"applied\",\"stale\",\"ignored\",\"unknown_type\"]},"
    "\"duplicate\":{\"type\":\"boolean\",\"description\":\"Delivered before: nothing changed, the stored outcome\"},"
    "\"org_id\":{\"type\":[\"string\",\"null\"],\"format\":\"uuid\"},"
    "\"effect\":{\"type\":[\"string\",\"null\"],\"description\":\"What was done, for people\"}}}";

/* Extra documentation for some routes; JSON texts, NULL = the default. */
static const struct route_doc {
	const char	*method;
	const char	*pattern;
	const char	*request;	/* JSON Schema of the request body */
	const char	*ok_type;	/* media type of the success, default JSON */
	const char	*ok_schema;	/* JSON Schema of the success body */
	const char	*extra;		/* more responses: {"302": {...}} */
	const char	*required_query;	/* space-separated names */
	const char	*query;		/* {"name": JSON Schema} of query parameters */
	const char	*headers;	/* [parameter objects] of request headers */
} route_docs[] = {
	{ "GET", "/api/v1/health/", NULL, NULL,
	  "{\"type\":\"object\",\"properties\":{\"status\":{\"enum\":[\"ok\",\"degraded\"]},"
	  "\"database\":{\"enum\":[\"ok\",\"unreachable\"]},"
	  "\"dispatcher\":{\"enum\":[\"ok\",\"stale\",\"absent\",\"unknown\"]},"
	  "\"heartbeat_age_s\":{\"type\":[\"number\",\"null\"]}}}",
	  "{\"503\":{\"description\":\"Degraded: the database is unreachable, or no dispatcher "
	  "sent a heartbeat recently (unless health_requires_dispatcher is no); same body\","
	  "\"content\":{\"application/json\":{\"schema\":{\"type\":\"object\"}}}}}", NULL, NULL, NULL },
	{ "POST", ORG "/accounts/",
	  "{\"type\":\"object\",\"required\":[\"platform\",\"access_token\"],\"properties\":{"
	  "\"platform\":{\"enum\":[\"x\",\"linkedin\",\"instagram\",\"sandbox\"]},"
	  "\"access_token\":{\"type\":\"string\"},\"refresh_token\":{\"type\":\"string\"},"
	  "\"expires_in\":{\"type\":\"integer\",\"minimum\":1,\"description\":\"Seconds the access token lives\"},"
	  "\"external_id\":{\"type\":\"string\",\"description\":\"sandbox only: the account's id\"},"
	  "\"handle\":{\"type\":\"string\",\"description\":\"sandbox only\"}}}",
	  NULL, account_schema,
	  "{\"502\":\"The platform did not answer\","
	  "\"503\":\"token_keys not configured, or the database is unavailable\"}", NULL, NULL, NULL },
	{ "POST", ORG "/accounts/oauth/{platform}/", NULL, NULL,
	  "{\"type\":\"object\",\"properties\":{\"authorization_url\":{\"type\":\"string\",\"format\":\"uri\","
	  "\"description\":\"Send the user's browser here\"},\"state\":{\"type\":\"string\"},"
	  "\"expires_at\":{\"type\":\"string\",\"format\":\"date-time\"}}}",
	  "{\"503\":\"The platform's client id or token_keys is not configured "
	  "(the message names the setting), or the database is unavailable\"}", NULL, NULL, NULL },
	{ "GET", "/api/v1/oauth/{platform}/callback/", NULL, NULL, account_schema,
	  "{\"302\":\"When oauth_done_url is set: to it, with "
	  "?status=connected&account_id=... or ?status=error&error=<code>\","
	  "\"502\":\"The platform did not answer the code exchange or the identity call\"}",
	  NULL, NULL, NULL },
	{ "POST", ORG "/posts/{post}/resolve/",
	  "{\"type\":\"object\",\"required\":[\"resolution\"],\"properties\":{"
	  "\"resolution\":{\"enum\":[\"published\",\"failed\"]},"
	  "\"remote_id\":{\"type\":\"string\",\"description\":\"Required when published\"},"
	  "\"remote_url\":{\"type\":\"string\"}}}", NULL, NULL, NULL, NULL, NULL, NULL },
	{ "GET", "/api/v1/events/", NULL, "text/event-stream",
	  "{\"type\":\"string\",\"description\":\"Events 'post.state', 'account.status' and 'ai_job.state' "
	  "(data: the change as JSON), 'resync' (re-fetch: events may have been missed), "
	  "'end' (the stream closes: token_expired or shutdown); ': keep-alive' comments.\"}",
	  "{\"503\":\"Too many event streams are open, or the server is shutting down\"}",
	  "org_id", NULL, NULL },
	{ "POST", ORG "/content/generate/",
	  "{\"type\":\"object\",\"required\":[\"brief\"],\"additionalProperties\":false,"
	  "\"properties\":{" AI_GENERATE_PROPS "}}",
	  NULL, ai_accepted_schema, ai_generate_errors, NULL, NULL, NULL },
	{ "POST", "/api/v1/content/generate/",
	  "{\"type\":\"object\",\"required\":[\"org_id\",\"brief\"],\"additionalProperties\":false,"
	  "\"properties\":{\"org_id\":{\"type\":\"string\",\"format\":\"uuid\"}," AI_GENERATE_PROPS "}}",
	  NULL, ai_accepted_schema, ai_generate_errors, NULL, NULL, NULL },
	{ "GET", ORG "/ai/jobs/", NULL, NULL,
	  "{\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\",\"items\":"
	  "{\"type\":\"object\",\"properties\":{" AI_JOB_PROPS "}}},"
	  "\"next_cursor\":{\"type\":[\"string\",\"null\"]}}}", NULL, NULL, NULL, NULL },
	{ "GET", ORG "/ai/jobs/{job}/", NULL, NULL, ai_job_schema,
	  "{\"503\":\"The database is unavailable (also after a wait)\"}", NULL,
	  "{\"wait\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":60,\"default\":0,"
	  "\"description\":\"Long-poll: answer when the job has succeeded or failed, or after this "
	  "many seconds with the job as it is then (always 200). 0: at once.\"}}", NULL },
	{ "POST", "/api/v1/subscriptions/checkout/",
	  "{\"type\":\"object\",\"required\":[\"org_id\",\"plan\",\"success_url\",\"cancel_url\"],"
	  "\"properties\":{\"org_id\":{\"type\":\"string\",\"format\":\"uuid\"},"
	  "\"plan\":{\"type\":\"string\",\"description\":\"A paid plan of GET /api/v1/subscriptions/plans/\"},"
	  "\"success_url\":{\"type\":\"string\",\"format\":\"uri\",\"maxLength\":2047,\"description\":"
	  "\"Absolute http(s) URL Stripe sends the browser to after paying; {CHECKOUT_SESSION_ID} is replaced\"},"
	  "\"cancel_url\":{\"type\":\"string\",\"format\":\"uri\",\"maxLength\":2047}}}",
	  NULL, session_schema,
	  "{\"409\":\"The plan has no Stripe price configured, or the organisation already has an active "
	  "subscription to it (55000)\"," STRIPE_ERRORS "}", NULL, NULL,
	  "[{\"name\":\"Idempotency-Key\",\"in\":\"header\",\"required\":false,"
	  "\"description\":\"1..200 printable ASCII characters: a retry with the same key (and body) gets the "
	  "same session from Stripe; without it every call makes a new session\","
	  "\"schema\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":200}}]" },
	{ "POST", "/api/v1/subscriptions/portal/",
	  "{\"type\":\"object\",\"required\":[\"org_id\",\"return_url\"],"
	  "\"properties\":{\"org_id\":{\"type\":\"string\",\"format\":\"uuid\"},"
	  "\"return_url\":{\"type\":\"string\",\"format\":\"uri\",\"maxLength\":2047}}}",
	  NULL, session_schema,
	  "{\"409\":\"The organisation has no Stripe customer yet: subscribe first (55000)\"," STRIPE_ERRORS "}",
	  NULL, NULL, NULL },
	{ "POST", "/api/v1/subscriptions/webhook/",
	  "{\"type\":\"object\",\"description\":\"Stripe's Event object, exactly as Stripe sent it "
	  "(the signature covers the raw bytes): id, type, created, livemode, data.object\"}",
	  NULL, stripe_event_schema,
	  "{\"400\":\"invalid Stripe signature: missing, malformed, no v1, timestamp outside the tolerance, "
	  "or no matching signature (22023; nothing changed); or not a valid event\","
	  "\"413\":\"The event is over 256 KiB\","
	  "\"503\":\"stripe_webhook_secrets is not configured (the message names it), or the database is "
	  "unavailable: Stripe retries\"}", NULL, NULL,
	  "[{\"name\":\"Stripe-Signature\",\"in\":\"header\",\"required\":true,"
	  "\"description\":\"t=<unix seconds>,v1=<hex HMAC-SHA256 of t.body under the endpoint's "
	  "signing secret>[,v1=...]\",\"schema\":{\"type\":\"string\",\"maxLength\":4096}}]" },
	{ NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
};

static const struct route_doc *
route_doc(const struct api_route *r)
{
	const struct route_doc	*d;

	for (d = route_docs; d->method != NULL; d++)
		if (strcmp(d->method, r->method) == 0 && strcmp(d->pattern, r->pattern) == 0)
			return (d);
	return (NULL);
}

/* doc_json parses one of route_docs' texts (a new reference, or NULL). */
static json_t *
doc_json(const char *text)
{
	return (text != NULL ? json_loads(text, 0, NULL) : NULL);
}

static json_t *
error_schema(void)
{
	return (json_pack("{s:s, s:[s,s], s:{s:{s:s}, s:{s:s}, s:{s:[s,s]}, s:{s:[s,s]}}}",
	    "type", "object", "required", "code", "message", "properties",
	    "code", "type", "string", "message", "type", "string",
	    "details", "type", "string", "null", "hint", "type", "string", "null"));
}

static json_t *
error_response(const char *description)
{
	return (json_pack("{s:s, s:{s:{s:{s:s}}}}", "description", description,
	    "content", "application/json", "schema", "$ref",
	    "#/components/schemas/Error"));
}

static json_t *
param_schema(const char *name, size_t len)
{
	switch (router_param_kind(name, len)) {
	case ROUTER_PARAM_INT:
		return (json_pack("{s:s, s:i}", "type", "integer", "minimum", 0));
	case ROUTER_PARAM_TOKEN:
		return (json_pack("{s:s, s:s}", "type", "string", "pattern", "^[A-Za-z0-9_.-]{1,256}$"));
	case ROUTER_PARAM_SLUG:
		return (json_pack("{s:s, s:s}", "type", "string", "pattern", "^[a-z0-9_-]{1,32}$"));
	case ROUTER_PARAM_UUID:
	default:
		return (json_pack("{s:s, s:s}", "type", "string", "format", "uuid"));
	}
}

/* path_params lists the {name} segments of pattern as parameter objects. */
static json_t *
path_params(const char *pattern)
{
	json_t		*list = json_array();
	const char	*p = pattern, *close;

	while ((p = strchr(p, '{')) != NULL && (close = strchr(p, '}')) != NULL) {
		json_array_append_new(list, json_pack("{s:s%, s:s, s:b, s:o}",
		    "name", p + 1, (size_t)(close - p - 1), "in", "path",
		    "required", 1, "schema", param_schema(p + 1, (size_t)(close - p - 1))));
		p = close + 1;
	}
	return (list);
}

/* operation_id makes "get_api_v1_health" from a method and pattern. */
static json_t *
operation_id(const char *method, const char *pattern)
{
	char	 id[256];
	size_t	 o = 0, i;

	for (i = 0; method[i] != '\0' && o < sizeof(id) - 1; i++)
		id[o++] = (char)tolower((unsigned char)method[i]);
	for (i = 0; pattern[i] != '\0' && o < sizeof(id) - 1; i++) {
		if (isalnum((unsigned char)pattern[i]))
			id[o++] = pattern[i];
		else if (o > 0 && id[o - 1] != '_' && pattern[i] != '}')
			id[o++] = '_';
	}
	while (o > 0 && id[o - 1] == '_')
		o--;
	return (json_stringn(id, o));
}

/* The query parameters a row reads ("q:<name>" in its args). */
static json_t *
query_params(const struct api_route *r, const struct route_doc *d)
{
	json_t		*list = json_array();
	const char	*p, *end;
	char		 name[64];
	size_t		 len;
	bool		 integer;
	json_t		*docs = d != NULL ? doc_json(d->query) : NULL, *schema;

	for (p = r->args; p != NULL && (p = strstr(p, "q:")) != NULL; p = end) {
		p += 2;
		end = p + strcspn(p, " ");
		len = (size_t)(end - p);
		if (len == 0 || len >= sizeof(name))
			continue;
		memcpy(name, p, len);
		name[len] = '\0';
		integer = strcmp(name, "limit") == 0 ||
		    (strcmp(name, "from") == 0 && strstr(r->pattern, "/diff/") != NULL) ||
		    (strcmp(name, "to") == 0 && strstr(r->pattern, "/diff/") != NULL);
		if ((schema = json_object_get(docs, name)) != NULL)
			json_incref(schema);
		else
			schema = integer ? json_pack("{s:s}", "type", "integer") :
			    len > 3 && strcmp(name + len - 3, "_id") == 0 ?
			    json_pack("{s:s, s:s}", "type", "string", "format", "uuid") :
			    json_pack("{s:s}", "type", "string");
		json_array_append_new(list, json_pack("{s:s, s:s, s:b, s:o}",
		    "name", name, "in", "query", "required", d != NULL &&
		    d->required_query != NULL && strstr(d->required_query, name) != NULL,
		    "schema", schema));
	}
	json_decref(docs);
	return (list);
}

/* The success response: the row's status, and what the route answers. */
static json_t *
success_response(const struct api_route *r, const struct route_doc *d, char status[4])
{
	int	 code = r->ok_status != 0 ? r->ok_status : 200;
	json_t	*schema;

	snprintf(status, 4, "%d", code);
	if (d != NULL && d->ok_schema != NULL && (schema = doc_json(d->ok_schema)) != NULL)
		return (json_pack("{s:s, s:{s:{s:o}}}", "description", "Success", "content",
		    d->ok_type != NULL ? d->ok_type : "application/json", "schema", schema));
	if (code == 204)
		return (json_pack("{s:s}", "description", "Done; no body"));
	if (strcmp(r->pattern, "/metrics") == 0)
		return (json_pack("{s:s, s:{s:{s:{s:s}}}}", "description", "Prometheus text format",
		    "content", "text/plain", "schema", "type", "string"));
	if (strncmp(r->pattern, "/api/schema/swagger-ui/", 23) == 0)
		return (json_pack("{s:s, s:{s:{s:{s:s}}}}", "description", "Swagger UI page or file",
		    "content", "text/html", "schema", "type", "string"));
	return (json_pack("{s:s, s:{s:{s:{}}}}", "description", "Success",
	    "content", "application/json", "schema"));
}

static json_t *
operation(const struct api_route *r)
{
	const struct route_doc	*d = route_doc(r);
	json_t			*op, *responses, *query, *ok, *extra, *body, *headers;
	char			 status[4];

	ok = success_response(r, d, status);	/* fills status */
	responses = json_object();
	json_object_set_new(responses, status, ok);
	json_object_set_new(responses, "400", error_response("Bad request"));
	if (r->auth == API_AUTH_USER)
		json_object_set_new(responses, "401", error_response("Missing or invalid access token"));
	json_object_set_new(responses, "403", error_response("Forbidden"));
	json_object_set_new(responses, "404", error_response("Not found"));
	if (r->body_max > 0) {
		json_object_set_new(responses, "413", error_response("Request body too large"));
		json_object_set_new(responses, "415", error_response("Request body is not JSON"));
	}
	json_object_set_new(responses, "422", error_response("Invalid input"));
	json_object_set_new(responses, "500", error_response("Internal error"));
	json_object_set_new(responses, "503", error_response("Database unavailable"));
	if (d != NULL && (extra = doc_json(d->extra)) != NULL) {
		const char	*code;
		json_t		*v;

		/* "503": "why" is an error envelope, "302": "why" has no body. */
		json_object_foreach(extra, code, v)
			json_object_set_new(responses, code, !json_is_string(v) ? json_incref(v) :
			    code[0] == '3' ? json_pack("{s:O}", "description", v) :
			    error_response(json_string_value(v)));
		json_decref(extra);
	}
	op = json_pack("{s:s, s:o, s:[s], s:o}",
	    "summary", r->summary != NULL ? r->summary : "",
	    "operationId", operation_id(r->method, r->pattern),
	    "tags", r->tag != NULL ? r->tag : "default",
	    "responses", responses);
	if (r->auth == API_AUTH_USER)
		json_object_set_new(op, "security", json_pack("[{s:[]}]", "bearerAuth"));
	query = query_params(r, d);
	if (d != NULL && (headers = doc_json(d->headers)) != NULL) {
		json_array_extend(query, headers);
		json_decref(headers);
	}
	if (json_array_size(query) > 0)
		json_object_set_new(op, "parameters", query);
	else
		json_decref(query);
	body = d != NULL ? doc_json(d->request) : NULL;
	if (r->body_max > 0)
		json_object_set_new(op, "requestBody", json_pack(
		    "{s:b, s:{s:{s:o}}}", "required", 1, "content", "application/json",
		    "schema", body != NULL ? body : json_pack("{s:s}", "type", "object")));
	else
		json_decref(body);
	return (op);
}

/* openapi_paths groups the routes by pattern, one operation per method. */
static json_t *
openapi_paths(const struct api_route *table)
{
	json_t			*paths = json_object(), *item;
	const struct api_route	*r;
	char			 method[16];
	size_t			 i;

	for (r = table; r->method != NULL; r++) {
		if ((item = json_object_get(paths, r->pattern)) == NULL) {
			item = json_object();
			json_object_set_new(item, "parameters", path_params(r->pattern));
			json_object_set_new(paths, r->pattern, item);
		}
		for (i = 0; r->method[i] != '\0' && i < sizeof(method) - 1; i++)
			method[i] = (char)tolower((unsigned char)r->method[i]);
		method[i] = '\0';
		json_object_set_new(item, method, operation(r));
	}
	return (paths);
}

/*
 * openapi_document returns a new JSON string (caller frees) for table, or
 * NULL when out of memory.
 */
static char *
openapi_document(const struct api_route *table)
{
	json_t	*doc;
	char	*s;

	doc = json_pack("{s:s, s:{s:s, s:s, s:s}, s:o, s:{s:{s:o}, s:{s:{s:s, s:s, s:s}}}}",
	    "openapi", "3.1.0",
	    "info", "title", "caas API", "version", "0.1.0",
	    "description", "Content as a service: organisations, content, versions and scheduled posts.",
	    "paths", openapi_paths(table),
	    "components", "schemas", "Error", error_schema(),
	    "securitySchemes", "bearerAuth", "type", "http", "scheme", "bearer",
	    "bearerFormat", "JWT");
	if (doc == NULL)
		return (NULL);
	s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	return (s);
}

int
handle_openapi(struct api_request *req, struct api_response *resp)
{
	char	*doc;
	int	 rc;

	(void)req;
	if ((doc = openapi_document(api_routes)) == NULL)
		return (respond_error(resp, 500, "internal_error",
		    "Could not build the API description.", NULL, NULL));
	rc = respond_json(resp, 200, doc, strlen(doc));
	free(doc);
	return (rc);
}
