/*
 * api.h — the types every part of the HTTP layer shares.
 *
 * A request arrives through libmicrohttpd (request.c hides its callback
 * phases), is matched against the route table (routes.c, router.c), has its
 * JWT verified when the route needs one (auth_jwt.c), and reaches one
 * handler (handlers/<resource>.c).  A handler reads the request, makes one
 * database call through db.c with the caller's claims, and fills the
 * response; respond.c turns errors into the JSON envelope
 * {"code","message","details","hint"}.
 *
 * Memory: everything a request allocates comes from its arena
 * (arena_alloc), freed when libmicrohttpd reports the request completed.
 * Handlers never free.  Response bodies are struct buf owned by the response.
 */
#ifndef CAAS_API_H
#define CAAS_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"

#define API_MAX_PARAMS		4
#define API_MAX_HEADERS		8
#define API_UUID_LEN		36

/* A bump allocator for one request (arena.c). */
struct api_arena;
struct api_arena	*arena_create(void);
void			 arena_destroy(struct api_arena *);
void			*arena_alloc(struct api_arena *, size_t);
char			*arena_strndup(struct api_arena *, const char *, size_t);

/* Who is calling, from a verified access token (auth_jwt.c). */
struct api_claims {
	char		sub[API_UUID_LEN + 1];	/* user id */
	int64_t		iat;
	int64_t		exp;
};

enum api_auth {
	API_AUTH_NONE,		/* anyone: runs as caas_anon */
	API_AUTH_USER,		/* a valid access token: runs as caas_user */
};

struct api_request;
struct api_response;
typedef int (*api_handler)(struct api_request *, struct api_response *);

/* One row of the route table.  pattern segments "{name}" are parameters. */
struct api_route {
	const char	*method;	/* "GET", "POST", "PATCH", "DELETE" */
	const char	*pattern;	/* "/api/v1/organizations/{org}/" */
	api_handler	 handler;
	enum api_auth	 auth;
	size_t		 body_max;	/* bytes; 0 = no body accepted */
	const char	*summary;	/* for the OpenAPI document */
	const char	*tag;
	/*
	 * Routes served by handle_sql (handlers/sql.c) say which SQL API call
	 * they make: sql has $1..$n, args names where each comes from,
	 * space-separated: "p0".."p3" path parameters, "q:<name>" a query
	 * parameter, "b:<name>" a scalar field of the JSON body (strings as
	 * is, numbers and booleans as text; an object or array is a 400),
	 * "j:<name>" a field as its JSON text, "b" the whole body (jsonb).
	 * ok_status is the status of a success (200, 201, 204).  Rows with
	 * a handler of their own leave sql NULL and may still list in args
	 * the query parameters they read, for the OpenAPI document.
	 */
	const char	*sql;
	const char	*args;
	int		 ok_status;
};

extern const struct api_route api_routes[];	/* NULL-terminated (routes.c) */

struct api_header {
	const char	*name;
	const char	*value;
};

struct api_request {
	struct api_arena	*arena;
	const char		*method;
	const char		*path;		/* without the query string */
	const char		*query;		/* raw, "" when none */
	const char		*body;		/* NUL-terminated copy, or NULL */
	size_t			 body_len;
	const char		*content_type;	/* or NULL */
	const char		*authorization;	/* or NULL */
	const char		*client_ip;
	char			 request_id[33];
	const struct api_route	*route;
	const char		*params[API_MAX_PARAMS];	/* path parameters, in order */
	int			 nparams;
	bool			 authenticated;
	struct api_claims	 claims;
	void			*conn;		/* struct MHD_Connection *, for headers */
};

struct api_response {
	int			 status;
	const char		*content_type;	/* default application/json */
	struct buf		 body;
	struct api_header	 headers[API_MAX_HEADERS];
	int			 nheaders;
	/*
	 * A streamed body (handlers/events.c): when stream_read is set, the
	 * body is produced by it (a libmicrohttpd content reader, length
	 * unknown) instead of body, and stream_free(stream_cls) runs when
	 * libmicrohttpd is done with it — request.c guarantees it runs
	 * exactly once, also when the response cannot be queued.
	 */
	ssize_t			(*stream_read)(void *cls, uint64_t pos, char *buf, size_t max);
	void			(*stream_free)(void *cls);
	void			*stream_cls;
	/*
	 * A handler that waits without holding a thread (handlers/ai.c's
	 * long-poll) suspends its connection (MHD_suspend_connection) and
	 * sets suspended instead of a status: request.c then queues nothing
	 * and, once the connection is resumed, calls the handler again with
	 * the same request and response.  wait_state is the handler's own
	 * across those calls; wait_free(wait_state), when set, runs exactly
	 * once when the request ends, however it ends.
	 */
	bool			 suspended;
	void			*wait_state;
	void			(*wait_free)(void *state);
};

/*
 * respond.c: respond_error always returns -1, so a handler can end with
 * "return respond_error(...)"; respond_json and respond_header return 0,
 * or -1 when out of memory or headers.  request.c ignores a handler's
 * return value and sends the response as it is (no status → 500).
 */
int	respond_json(struct api_response *, int status, const char *json, size_t len);
int	respond_error(struct api_response *, int status, const char *code,
	    const char *message, const char *details, const char *hint);
int	respond_header(struct api_response *, const char *name, const char *value);
/* respond_unconfigured: 503 naming the setting an operator must add (-1). */
int	respond_unconfigured(struct api_response *, const char *key);

/* request.c helpers for handlers. */
const char	*request_header(struct api_request *, const char *name);
/* The value of a query parameter, decoded, or NULL (arena-owned). */
const char	*request_query(struct api_request *, const char *name);

#endif /* CAAS_API_H */
