/*
 * request.c — libmicrohttpd's callback phases turned into one complete
 * struct api_request per HTTP request.
 *
 * Phases (libmicrohttpd calls us several times per request):
 *   1. request_uri_begin: headers not yet parsed; creates the per-request
 *      state from the raw, undecoded URI (so "%2F" can be told from "/")
 *      and returns it as *req_cls.
 *   2. first request_access call: route, authenticate and check the body's
 *      declared type and size; any refusal is queued at once, before a
 *      byte of body is read.
 *   3. request_access with upload data: chunks are appended up to the
 *      route's limit; past it the rest is dropped and 413 answered.
 *   4. request_access with *upload_data_size == 0: body checks, handler,
 *      response queued — unless the handler suspended the connection to
 *      wait (api.h: resp.suspended), in which case this phase runs again
 *      when the connection is resumed.
 *   5. request_completed: metrics, one access log line, state freed.
 *
 * Memory: struct request_state lives in its own arena (arena.c), with
 * every string of the request; the body buffer and the response body are
 * struct bufs freed in request_completed.  Only libmicrohttpd's thread serving
 * the connection touches the state, so nothing here is locked.
 *
 * The access log (stderr) carries time, request id, client address,
 * method, path without query string, status, latency and response bytes —
 * never headers, bodies or tokens.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/rand.h>

#include "api.h"
#include "buf.h"
#include "config.h"
#include "db.h"
#include "handlers.h"
#include "metrics.h"
#include "request.h"
#include "router.h"

#define QUERY_MAX	8192	/* longer query strings are not parsed */
#define LOG_PATH_MAX	256

struct request_state {
	struct api_request	 req;
	struct api_response	 resp;
	struct buf		 body;
	const char		*raw_path;	/* as sent, for the log */
	size_t			 body_limit;
	size_t			 discarded;
	uint64_t		 start_us;
	int			 status;	/* queued status, 0 = none */
	size_t			 bytes_out;
	bool			 started;
	bool			 queued;
	bool			 too_large;
	bool			 preflight;
	bool			 pending;	/* refusal set, queue at the end */
	char			 allow[ROUTER_ALLOW_MAX + 16];
};

static pthread_key_t	thread_key;

static void
thread_exit(void *unused)
{
	(void)unused;
	db_thread_cleanup();
}

int
request_init(void)
{
	return (pthread_key_create(&thread_key, thread_exit) == 0 ? 0 : -1);
}

static uint64_t
now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
}

/* make_request_id writes 32 hex chars from RAND_bytes (counter fallback). */
static void
make_request_id(char out[33])
{
	static _Atomic unsigned long	 counter;
	unsigned char			 r[16];
	unsigned long			 c;
	int				 i;

	if (RAND_bytes(r, sizeof(r)) != 1) {
		c = ++counter;
		memset(r, 0, sizeof(r));
		memcpy(r, &c, sizeof(c));
		c = (unsigned long)now_us();
		memcpy(r + 8, &c, sizeof(c));
	}
	for (i = 0; i < 16; i++)
		snprintf(out + i * 2, 3, "%02x", r[i]);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	c = tolower(c);
	return (c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1);
}

char *
request_percent_decode(struct api_arena *a, const char *s, size_t len,
    bool plus_space)
{
	char	*out, *o;
	size_t	 i;
	int	 hi, lo;

	if ((out = arena_alloc(a, len + 1)) == NULL)
		return (NULL);
	for (i = 0, o = out; i < len; i++) {
		if (s[i] == '%') {
			if (len - i < 3 || (hi = hexval((unsigned char)s[i + 1])) < 0 ||
			    (lo = hexval((unsigned char)s[i + 2])) < 0 || (hi | lo) == 0)
				return (NULL);
			*o++ = (char)(hi << 4 | lo);
			i += 2;
		} else if (s[i] == '\0')
			return (NULL);
		else
			*o++ = (plus_space && s[i] == '+') ? ' ' : s[i];
	}
	*o = '\0';
	return (out);
}

void *
request_uri_begin(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct api_arena	*a;
	struct request_state	*st;
	size_t			 plen;

	(void)cls;
	if ((a = arena_create()) == NULL)
		return (NULL);
	if ((st = arena_alloc(a, sizeof(*st))) == NULL) {
		arena_destroy(a);
		return (NULL);
	}
	memset(st, 0, sizeof(*st));
	st->req.arena = a;
	st->req.conn = conn;
	st->start_us = now_us();
	buf_init(&st->body);
	buf_init(&st->resp.body);
	make_request_id(st->req.request_id);
	plen = strcspn(uri, "?");
	st->raw_path = arena_strndup(a, uri, plen);
	st->req.query = arena_strndup(a, uri[plen] == '?' ? uri + plen + 1 : "", SIZE_MAX);
	if (st->raw_path == NULL || st->req.query == NULL) {
		arena_destroy(a);
		return (NULL);
	}
	metrics_request_begin();
	if (pthread_getspecific(thread_key) == NULL)
		(void)pthread_setspecific(thread_key, &thread_key);	/* a marker */
	return (st);
}

const char *
request_header(struct api_request *req, const char *name)
{
	if (req == NULL || req->conn == NULL || name == NULL)
		return (NULL);
	return (MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name));
}

/*
 * request_query returns the decoded value of the first query parameter
 * called name ("" for "?name" without '='), or NULL when absent,
 * malformed, or the query string is longer than QUERY_MAX.
 */
const char *
request_query(struct api_request *req, const char *name)
{
	const char	*p = req->query, *eq;
	size_t		 len, klen;
	char		*key;

	if (p == NULL || name == NULL || strnlen(p, QUERY_MAX + 1) > QUERY_MAX)
		return (NULL);
	while (*p != '\0') {
		len = strcspn(p, "&");
		eq = memchr(p, '=', len);
		klen = eq != NULL ? (size_t)(eq - p) : len;
		key = request_percent_decode(req->arena, p, klen, true);
		if (key != NULL && strcmp(key, name) == 0) {
			if (eq == NULL)
				return ("");
			return (request_percent_decode(req->arena, eq + 1,
			    len - klen - 1, true));
		}
		p += len + (p[len] == '&');
	}
	return (NULL);
}

/* client_ip formats the peer address into the arena ("?" if unknown). */
static const char *
client_ip(struct api_arena *a, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo	*ci;
	char				 ip[INET6_ADDRSTRLEN] = "?";
	const struct sockaddr		*sa;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci != NULL && (sa = ci->client_addr) != NULL) {
		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, ip, sizeof(ip));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, ip, sizeof(ip));
	}
	return (arena_strndup(a, ip, sizeof(ip)));
}

/* add_cors adds CORS headers when the request's Origin is allowed. */
static void
add_cors(struct request_state *st, struct MHD_Response *r)
{
	const char	*origin = request_header(&st->req, "Origin");

	if (!config_origin_allowed(&api_config, origin))
		return;
	MHD_add_response_header(r, "Access-Control-Allow-Origin", origin);
	MHD_add_response_header(r, "Vary", "Origin");
	MHD_add_response_header(r, "Access-Control-Expose-Headers", "X-Request-Id");
	if (st->preflight) {
		MHD_add_response_header(r, "Access-Control-Allow-Methods", st->allow);
		MHD_add_response_header(r, "Access-Control-Allow-Headers",
		    "Authorization, Content-Type");
		MHD_add_response_header(r, "Access-Control-Max-Age", "600");
	}
}

/*
 * make_response builds libmicrohttpd's response: a copy of the body, or
 * the stream the handler set up (whose free callback then belongs to the
 * response, or is called here when none can be made).
 */
static struct MHD_Response *
make_response(struct api_response *resp, struct MHD_Connection *conn)
{
	struct MHD_Response	*r;

	if (resp->stream_read == NULL)
		return (MHD_create_response_from_buffer(resp->body.len,
		    resp->body.data != NULL ? resp->body.data : (char *)"",
		    MHD_RESPMEM_MUST_COPY));
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096,
	    resp->stream_read, resp->stream_cls, resp->stream_free);
	if (r == NULL)
		resp->stream_free(resp->stream_cls);
	else	/* a stream is quiet for long stretches: no idle timeout */
		MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
	resp->stream_read = NULL;
	resp->stream_free = NULL;
	resp->stream_cls = NULL;
	return (r);
}

/*
 * queue_response hands st->resp to libmicrohttpd (copying the body).
 * Returns the MHD result; MHD_NO closes the connection.
 */
static enum MHD_Result
queue_response(struct request_state *st, struct MHD_Connection *conn)
{
	struct api_response	*resp = &st->resp;
	struct MHD_Response	*r;
	enum MHD_Result		 ret;
	bool			 stream = resp->stream_read != NULL;
	int			 i;

	if (resp->status < 100 || resp->status > 599)
		respond_error(resp, 500, "internal_error",
		    "The server could not complete the request.", NULL, NULL);
	if ((r = make_response(resp, conn)) == NULL)
		return (MHD_NO);
	if (resp->body.len > 0 || stream)
		MHD_add_response_header(r, "Content-Type", resp->content_type != NULL ?
		    resp->content_type : "application/json");
	MHD_add_response_header(r, "X-Request-Id", st->req.request_id);
	if (resp->status == 405 || st->preflight)
		MHD_add_response_header(r, "Allow", st->allow);
	for (i = 0; i < resp->nheaders; i++)
		MHD_add_response_header(r, resp->headers[i].name, resp->headers[i].value);
	add_cors(st, r);
	ret = MHD_queue_response(conn, (unsigned int)resp->status, r);
	MHD_destroy_response(r);
	if (ret == MHD_YES) {
		st->queued = true;
		st->status = resp->status;
		st->bytes_out = resp->body.len;
	}
	return (ret);
}

/* json_content_type accepts application/json with an optional utf-8 charset. */
static bool
json_content_type(const char *ct)
{
	const char	*p;

	if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0)
		return (false);
	p = ct + 16;
	p += strspn(p, " \t");
	if (*p == '\0')
		return (true);
	if (*p++ != ';')
		return (false);
	p += strspn(p, " \t");
	return (strncasecmp(p, "charset=", 8) == 0 &&
	    (strcasecmp(p + 8, "utf-8") == 0 || strcasecmp(p + 8, "\"utf-8\"") == 0));
}

/* has_body is true when the request announces a body. */
static bool
has_body(struct request_state *st, unsigned long long *declared)
{
	const char	*cl = request_header(&st->req, "Content-Length");
	char		*end;

	*declared = 0;
	if (cl != NULL) {
		*declared = strtoull(cl, &end, 10);
		return (*declared > 0);
	}
	return (request_header(&st->req, "Transfer-Encoding") != NULL);
}

/*
 * route_request matches the path and copies the parameters.  Returns 0, or
 * -1 with the error (or the preflight answer) set in st->resp.
 */
static int
route_request(struct request_state *st)
{
	struct api_request	*req = &st->req;
	struct router_match	 m;
	int			 rc, i;

	if (strcasestr(st->raw_path, "%2f") != NULL || strstr(st->raw_path, "%00") != NULL ||
	    (req->path = request_percent_decode(req->arena, st->raw_path,
	    strlen(st->raw_path), false)) == NULL)
		return (respond_error(&st->resp, 404, "not_found", "No such resource.", NULL, NULL));
	rc = router_lookup(api_routes, req->method, req->path, &m);
	if (rc == 405 && strcmp(req->method, "OPTIONS") == 0) {
		st->preflight = true;
		snprintf(st->allow, sizeof(st->allow), "%s, OPTIONS", m.allow);
		return (respond_json(&st->resp, 204, NULL, 0), -1);
	}
	if (rc == 405) {
		memcpy(st->allow, m.allow, sizeof(m.allow));
		return (respond_error(&st->resp, 405, "method_not_allowed",
		    "This resource does not support that method.", NULL, NULL));
	}
	if (rc != 200)
		return (respond_error(&st->resp, 404, "not_found", "No such resource.", NULL, NULL));
	req->route = m.route;
	for (i = 0; i < m.nparams; i++)
		if ((req->params[i] = arena_strndup(req->arena, m.params[i], ROUTER_PARAM_MAX)) == NULL)
			return (respond_error(&st->resp, 500, "internal_error", "Out of memory.", NULL, NULL));
	req->nparams = m.nparams;
	return (0);
}

/* check_body_headers refuses a body the route cannot take.  0 or -1. */
static int
check_body_headers(struct request_state *st)
{
	unsigned long long	 declared;
	size_t			 cap = (size_t)api_config.max_body_bytes;

	st->body_limit = st->req.route->body_max < cap ? st->req.route->body_max : cap;
	if (!has_body(st, &declared))
		return (0);
	if (st->body_limit == 0)
		return (respond_error(&st->resp, 413, "payload_too_large",
		    "This endpoint takes no request body.", NULL, NULL));
	if (!json_content_type(st->req.content_type))
		return (respond_error(&st->resp, 415, "unsupported_media_type",
		    "The request body must be JSON.", NULL,
		    "Send Content-Type: application/json."));
	if (declared > st->body_limit)
		return (respond_error(&st->resp, 413, "payload_too_large",
		    "The request body is too large.", NULL, NULL));
	return (0);
}

/*
 * refuse queues a refusal decided from the headers.  With a body announced
 * it goes out now, unread body and all (libmicrohttpd then closes the
 * connection); without one it waits for the final call, so the connection
 * can be kept alive.
 */
static enum MHD_Result
refuse(struct request_state *st, struct MHD_Connection *conn)
{
	unsigned long long	 declared;

	if (has_body(st, &declared))
		return (queue_response(st, conn));
	st->pending = true;
	return (MHD_YES);
}

/* begin runs at the first access call: everything decidable from headers. */
static enum MHD_Result
begin(struct request_state *st, struct MHD_Connection *conn, const char *method)
{
	struct api_request	*req = &st->req;

	st->started = true;
	req->method = arena_strndup(req->arena, method, 16);
	req->client_ip = client_ip(req->arena, conn);
	req->content_type = request_header(req, "Content-Type");
	req->authorization = request_header(req, "Authorization");
	if (req->method == NULL || req->client_ip == NULL) {
		respond_error(&st->resp, 500, "internal_error", "Out of memory.", NULL, NULL);
		return (refuse(st, conn));
	}
	if (route_request(st) == -1)
		return (refuse(st, conn));
	if (req->route->auth == API_AUTH_USER && auth_request(req, &st->resp) == -1) {
		if (st->resp.status == 0)
			respond_error(&st->resp, 401, "unauthorized", "Authentication required.", NULL, NULL);
		return (refuse(st, conn));
	}
	if (check_body_headers(st) == -1)
		return (refuse(st, conn));
	return (MHD_YES);
}

/* take_chunk stores an upload chunk, or drops it once past the limit. */
static enum MHD_Result
take_chunk(struct request_state *st, struct MHD_Connection *conn,
    const char *data, size_t size)
{
	if (st->queued || st->pending || st->too_large) {
		st->discarded += size;
		/* A client streaming far past the limit loses its connection. */
		return (st->discarded > 4 * st->body_limit + 65536 ? MHD_NO : MHD_YES);
	}
	if (size > st->body_limit - st->body.len) {
		st->too_large = true;
		buf_cleanup(&st->body);
		respond_error(&st->resp, 413, "payload_too_large",
		    "The request body is too large.", NULL, NULL);
		/* Queuing mid-upload fails in some states; then 413 at the end. */
		(void)queue_response(st, conn);
		return (MHD_YES);
	}
	if (buf_append(&st->body, data, size) == -1)
		return (MHD_NO);
	return (MHD_YES);
}

/* finish runs once the whole body is in: body checks, handler, response. */
static enum MHD_Result
finish(struct request_state *st, struct MHD_Connection *conn)
{
	struct api_request	*req = &st->req;

	if (st->too_large)
		return (queue_response(st, conn));
	if (st->body.len > 0) {
		if (!buf_utf8_valid(st->body.data, st->body.len) ||
		    memchr(st->body.data, '\0', st->body.len) != NULL) {
			respond_error(&st->resp, 400, "invalid_body",
			    "The request body is not valid UTF-8.", NULL, NULL);
			return (queue_response(st, conn));
		}
		req->body = st->body.data;
		req->body_len = st->body.len;
	}
	(void)req->route->handler(req, &st->resp);
	if (st->resp.suspended) {	/* resumed later: we are called again */
		st->resp.suspended = false;
		return (MHD_YES);
	}
	return (queue_response(st, conn));
}

enum MHD_Result
request_access(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **req_cls)
{
	struct request_state	*st = *req_cls;
	size_t			 size = *upload_data_size;

	(void)cls;
	(void)url;
	(void)version;
	if (st == NULL)
		return (MHD_NO);	/* request_uri_begin ran out of memory */
	if (!st->started)
		return (begin(st, conn, method));
	*upload_data_size = 0;
	if (size != 0)
		return (take_chunk(st, conn, upload_data, size));
	if (st->queued)
		return (MHD_YES);
	if (st->pending)
		return (queue_response(st, conn));
	return (finish(st, conn));
}

/* log_path copies the raw path for the log, escaping what is not printable. */
static void
log_path(char *out, size_t outlen, const char *path)
{
	size_t	 o = 0;

	for (; *path != '\0' && o + 5 < outlen; path++) {
		unsigned char c = (unsigned char)*path;

		if (c > 0x20 && c < 0x7f && c != '"' && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
	}
	out[o] = '\0';
}

static void
access_log(const struct request_state *st, uint64_t latency_us)
{
	char		 when[32], path[LOG_PATH_MAX * 4 + 8];
	struct timespec	 ts;
	struct tm	 tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	log_path(path, sizeof(path), st->raw_path);
	fprintf(stderr, "%s.%03ldZ %s %s \"%s %s\" %d %luus %zuB\n",
	    when, ts.tv_nsec / 1000000, st->req.request_id,
	    st->req.client_ip != NULL ? st->req.client_ip : "?",
	    st->req.method != NULL ? st->req.method : "-", path,
	    st->status, (unsigned long)latency_us, st->bytes_out);
}

void
request_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct request_state	*st = *req_cls;
	uint64_t		 latency;

	(void)cls;
	(void)conn;
	(void)toe;
	if (st == NULL)
		return;
	latency = now_us() - st->start_us;
	metrics_request_end(st->req.route, st->status, latency);
	if (api_config.access_log)
		access_log(st, latency);
	if (st->resp.wait_free != NULL)
		st->resp.wait_free(st->resp.wait_state);
	buf_cleanup(&st->body);
	buf_cleanup(&st->resp.body);
	arena_destroy(st->req.arena);
	*req_cls = NULL;
}
