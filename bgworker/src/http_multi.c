/*
 * http_multi.c — libcurl multi wrapper (http_multi.h).
 *
 * Wording: a call is the caller's request and callback (struct
 * http_call); a transfer (struct http_xfer) is this file's state for one
 * call in flight: the easy handle, the response body and headers.
 * Transfers are pooled: a finished one keeps its easy handle for the next
 * call (curl_easy_reset keeps the handle's caches), while connections live
 * in the multi handle's cache and are reused across calls to the same
 * host (keep-alive), at most max_host_connections per host — for
 * idempotent requests only: a request that must not be applied twice
 * (req.idempotent false: publishing, token refresh) gets a fresh
 * connection closed after it, because curl resends a request whose reused
 * connection died before answering, and the server may have applied it.
 *
 * Every easy handle gets explicit CONNECTTIMEOUT_MS and TIMEOUT_MS, no
 * redirects, http and https only, and CURLOPT_PRIVATE pointing at its
 * transfer.  "Sent" means curl wrote request bytes to a connection
 * (CURLINFO_REQUEST_SIZE > 0): before that a failure is surely harmless,
 * after it the platform may have acted.  A transfer that failed reports
 * status 0 with curl's message and which phase timed out; a body longer
 * than response_max_bytes is read to the end but only its start is kept.
 *
 * Memory: transfers and their buffers are owned by the struct http_multi
 * and freed by http_multi_destroy; a pooled transfer keeps at most 64 KiB
 * of body buffer.  Request headers and bodies belong to the call (wiped by
 * http_call_reset: they carry tokens).
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "buf.h"
#include "http_multi.h"

#define HEADERS_MAX		(64 * 1024)
#define POOLED_BODY_MAX		(64 * 1024)
#define USER_AGENT		"caas-dispatcher/0.2"

struct http_xfer {
	CURL			*easy;
	struct http_multi	*m;
	struct http_call	*call;
	struct buf		 body;
	bool			 truncated;
	struct buf		 headers;	/* "name\0value\0" of the last response */
	char			 errbuf[CURL_ERROR_SIZE];
	TAILQ_ENTRY(http_xfer)	 link;		/* active or pool */
};

TAILQ_HEAD(xfer_list, http_xfer);

struct http_multi {
	CURLM			*multi;
	struct http_multi_config cfg;
	struct xfer_list	 active;	/* in the multi handle */
	struct xfer_list	 pool;
	int			 in_flight;
};

/* ------------------------------------------------------------ calls */

void
http_call_init(struct http_call *call)
{
	memset(call, 0, sizeof(*call));
	buf_init(&call->req.body);
}

/* The whole-transfer limit of call: its own, or the client's default. */
static long
call_timeout_ms(const struct http_multi *m, const struct http_call *call)
{
	return (call->timeout_ms > 0 ? call->timeout_ms : m->cfg.request_timeout_ms);
}

void
http_call_reset(struct http_call *call)
{
	struct curl_slist	*h;

	for (h = call->req.headers; h != NULL; h = h->next)
		if (h->data != NULL)
			explicit_bzero(h->data, strlen(h->data));
	curl_slist_free_all(call->req.headers);
	call->req.headers = NULL;
	if (call->req.body.data != NULL)
		explicit_bzero(call->req.body.data, call->req.body.cap);
	buf_cleanup(&call->req.body);
	call->req.method[0] = '\0';
	call->req.url[0] = '\0';
	call->req.idempotent = false;
}

/* -------------------------------------------------------- callbacks */

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct http_xfer	*x = arg;
	size_t			 len = size * n, room;

	room = x->body.len < x->m->cfg.response_max_bytes ?
	    x->m->cfg.response_max_bytes - x->body.len : 0;
	if (len > room)
		x->truncated = true;
	/* Out of memory reads as a truncated body, never as a crash. */
	if (room > 0 && buf_append(&x->body, data, len < room ? len : room) == -1)
		x->truncated = true;
	return (len);
}

/*
 * on_header keeps the last response's header fields as "name\0value\0"
 * pairs, so header() hands out NUL-terminated values without copying.
 */
static size_t
on_header(char *data, size_t size, size_t n, void *arg)
{
	struct http_xfer	*x = arg;
	size_t			 len = size * n, nlen;
	const char		*colon, *v, *end;

	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		x->headers.len = 0;	/* a new response (after 100 Continue) */
		return (len);
	}
	end = data + len;
	while (end > data && (end[-1] == '\r' || end[-1] == '\n'))
		end--;
	if ((colon = memchr(data, ':', (size_t)(end - data))) == NULL ||
	    colon == data || x->headers.len + (size_t)(end - data) + 2 > HEADERS_MAX)
		return (len);
	nlen = (size_t)(colon - data);
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (buf_append(&x->headers, data, nlen) == 0 &&
	    buf_append(&x->headers, "", 1) == 0 &&
	    buf_append(&x->headers, v, (size_t)(end - v)) == 0)
		buf_append(&x->headers, "", 1);
	return (len);
}

/* header_get is adapter_response.header: the value of name, or NULL. */
static const char *
header_get(const struct adapter_response *resp, const char *name)
{
	const struct http_xfer	*x = resp->header_ctx;
	const char		*p, *end, *value, *found = NULL;

	if (x == NULL || x->headers.len == 0)
		return (NULL);
	p = x->headers.data;
	end = p + x->headers.len;
	while (p < end) {
		value = p + strlen(p) + 1;
		if (value >= end)
			break;
		if (strcasecmp(p, name) == 0)
			found = value;	/* the last one wins, as for Location */
		p = value + strlen(value) + 1;
	}
	return (found);
}

/* --------------------------------------------------------- transfers */

static struct http_xfer *
xfer_get(struct http_multi *m)
{
	struct http_xfer	*x;

	if ((x = TAILQ_FIRST(&m->pool)) != NULL) {
		TAILQ_REMOVE(&m->pool, x, link);
		curl_easy_reset(x->easy);
	} else {
		if ((x = calloc(1, sizeof(*x))) == NULL)
			return (NULL);
		if ((x->easy = curl_easy_init()) == NULL) {
			free(x);
			return (NULL);
		}
		buf_init(&x->body);
		buf_init(&x->headers);
		x->m = m;
	}
	x->call = NULL;
	x->truncated = false;
	x->body.len = 0;
	x->headers.len = 0;
	x->errbuf[0] = '\0';
	return (x);
}

/* xfer_put returns a transfer, out of the multi handle, to the pool. */
static void
xfer_put(struct http_multi *m, struct http_xfer *x)
{
	if (x->body.cap > POOLED_BODY_MAX)
		buf_cleanup(&x->body);
	if (x->headers.cap > POOLED_BODY_MAX)
		buf_cleanup(&x->headers);
	x->call = NULL;
	TAILQ_INSERT_HEAD(&m->pool, x, link);
}

static void
xfer_free(struct http_xfer *x)
{
	curl_easy_cleanup(x->easy);
	buf_cleanup(&x->body);
	buf_cleanup(&x->headers);
	free(x);
}

/* setup sets every option of x's easy handle for call.  Returns a code. */
static CURLcode
setup(struct http_multi *m, struct http_xfer *x, struct http_call *call)
{
	CURL			*e = x->easy;
	struct adapter_request	*r = &call->req;
	struct curl_slist	*h;
	CURLcode		 rc = CURLE_OK;

	/* No "Expect: 100-continue" round trip before a body. */
	if ((h = curl_slist_append(r->headers, "Expect:")) == NULL)
		return (CURLE_OUT_OF_MEMORY);
	r->headers = h;

#define SET(opt, val)	do { if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val); } while (0)
	SET(CURLOPT_URL, r->url);
	SET(CURLOPT_PRIVATE, x);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_CONNECTTIMEOUT_MS, m->cfg.connect_timeout_ms);
	SET(CURLOPT_TIMEOUT_MS, call_timeout_ms(m, call));
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_USERAGENT, USER_AGENT);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_ERRORBUFFER, x->errbuf);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, x);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, x);
	SET(CURLOPT_HTTPHEADER, r->headers);
	if (!r->idempotent) {
		/*
		 * curl silently sends a request again on a fresh connection when
		 * a reused one dies before any answer byte — also a POST the
		 * server may have applied before dying.  A request that must go
		 * once gets a connection of its own, closed after it, so that
		 * retry can never happen; reads keep the pool.
		 */
		SET(CURLOPT_FRESH_CONNECT, 1L);
		SET(CURLOPT_FORBID_REUSE, 1L);
	}
	if (strcmp(r->method, "GET") == 0 || r->method[0] == '\0')
		SET(CURLOPT_HTTPGET, 1L);
	else {
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body.len);
		SET(CURLOPT_POSTFIELDS, r->body.len > 0 ? r->body.data : "");
		if (strcmp(r->method, "POST") != 0)
			SET(CURLOPT_CUSTOMREQUEST, r->method);
	}
#undef SET
	return (rc);
}

int
http_multi_send(struct http_multi *m, struct http_call *call, char *err,
    size_t errlen)
{
	struct http_xfer	*x;
	CURLcode		 rc;
	CURLMcode		 mrc;

	if ((x = xfer_get(m)) == NULL)
		return (snprintf(err, errlen, "out of memory"), -1);
	if ((rc = setup(m, x, call)) != CURLE_OK) {
		xfer_put(m, x);
		return (snprintf(err, errlen, "%s", curl_easy_strerror(rc)), -1);
	}
	if ((mrc = curl_multi_add_handle(m->multi, x->easy)) != CURLM_OK) {
		xfer_put(m, x);
		return (snprintf(err, errlen, "%s", curl_multi_strerror(mrc)), -1);
	}
	x->call = call;
	call->xfer = x;
	TAILQ_INSERT_TAIL(&m->active, x, link);
	m->in_flight++;
	return (0);
}

void
http_multi_cancel(struct http_multi *m, struct http_call *call)
{
	struct http_xfer	*x = call->xfer;

	if (x == NULL)
		return;
	curl_multi_remove_handle(m->multi, x->easy);
	TAILQ_REMOVE(&m->active, x, link);
	call->xfer = NULL;
	m->in_flight--;
	xfer_put(m, x);
}

/*
 * describe_failure writes what went wrong for people: curl's message and,
 * for a timeout, the phase it hit.
 */
static void
describe_failure(struct http_multi *m, struct http_xfer *x, CURLcode code,
    bool sent, char *out, size_t outlen)
{
	const char	*what = x->errbuf[0] != '\0' ? x->errbuf : curl_easy_strerror(code);
	curl_off_t	 connect_us = 0, start_us = 0;
	long		 limit = call_timeout_ms(m, x->call);

	if (code != CURLE_OPERATION_TIMEDOUT) {
		snprintf(out, outlen, "%s%s", what, sent ? " (request sent)" : " (nothing sent)");
		return;
	}
	curl_easy_getinfo(x->easy, CURLINFO_CONNECT_TIME_T, &connect_us);
	curl_easy_getinfo(x->easy, CURLINFO_STARTTRANSFER_TIME_T, &start_us);
	if (!sent)
		snprintf(out, outlen, "timed out %s after %ld ms, nothing sent",
		    connect_us == 0 ? "connecting" : "before sending",
		    connect_us == 0 ? m->cfg.connect_timeout_ms : limit);
	else if (start_us == 0)
		snprintf(out, outlen, "no response within %ld ms (request sent)", limit);
	else
		snprintf(out, outlen, "response incomplete after %ld ms", limit);
}

static int64_t
wall_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* finish hands a completed transfer's response to its call. */
static void
finish(struct http_multi *m, struct http_xfer *x, CURLcode code)
{
	struct adapter_response	 resp;
	struct http_call	*call = x->call;
	char			 failure[CURL_ERROR_SIZE + 96];
	long			 status = 0, request_size = 0;

	curl_multi_remove_handle(m->multi, x->easy);
	TAILQ_REMOVE(&m->active, x, link);
	m->in_flight--;
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(x->easy, CURLINFO_REQUEST_SIZE, &request_size);

	memset(&resp, 0, sizeof(resp));
	resp.sent = request_size > 0 || status > 0;
	resp.timed_out = code == CURLE_OPERATION_TIMEDOUT;
	resp.status = code == CURLE_OK ? status : 0;
	if (code != CURLE_OK) {
		describe_failure(m, x, code, resp.sent, failure, sizeof(failure));
		resp.transport_error = failure;
	}
	resp.body = x->body.len > 0 ? x->body.data : "";
	resp.body_len = x->body.len;
	resp.now_ms = wall_ms();
	resp.header = header_get;
	resp.header_ctx = x;

	call->xfer = NULL;
	if (call->done != NULL)
		call->done(call, &resp);
	xfer_put(m, x);
}

int
http_multi_process(struct http_multi *m)
{
	CURLMsg			*msg;
	struct http_xfer	*x;
	CURL			*easy;
	CURLcode		 code;
	int			 running, msgs, finished = 0;

	curl_multi_perform(m->multi, &running);
	while ((msg = curl_multi_info_read(m->multi, &msgs)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		easy = msg->easy_handle;
		code = msg->data.result;
		x = NULL;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
		if (x == NULL || x->call == NULL)
			continue;
		finish(m, x, code);
		finished++;
	}
	return (finished);
}

int
http_multi_wait(struct http_multi *m, struct curl_waitfd *extra,
    unsigned int nextra, int timeout_ms)
{
	int	 numfds;

	return (curl_multi_poll(m->multi, extra, nextra, timeout_ms, &numfds) == CURLM_OK ? 0 : -1);
}

int
http_multi_in_flight(const struct http_multi *m)
{
	return (m->in_flight);
}

/* ------------------------------------------------------ life cycle */

struct http_multi *
http_multi_create(const struct http_multi_config *cfg, char *err,
    size_t errlen)
{
	struct http_multi	*m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return (snprintf(err, errlen, "out of memory"), NULL);
	m->cfg = *cfg;
	TAILQ_INIT(&m->active);
	TAILQ_INIT(&m->pool);
	if ((m->multi = curl_multi_init()) == NULL) {
		free(m);
		return (snprintf(err, errlen, "curl_multi_init failed"), NULL);
	}
	if (cfg->max_host_connections > 0)
		curl_multi_setopt(m->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
		    cfg->max_host_connections);
	return (m);
}

void
http_multi_destroy(struct http_multi *m)
{
	struct http_xfer	*x;

	if (m == NULL)
		return;
	while ((x = TAILQ_FIRST(&m->active)) != NULL) {
		TAILQ_REMOVE(&m->active, x, link);
		curl_multi_remove_handle(m->multi, x->easy);
		if (x->call != NULL)
			x->call->xfer = NULL;
		xfer_free(x);
	}
	while ((x = TAILQ_FIRST(&m->pool)) != NULL) {
		TAILQ_REMOVE(&m->pool, x, link);
		xfer_free(x);
	}
	curl_multi_cleanup(m->multi);
	free(m);
}

/* Transport glue. */
static int
transport_send(void *ctx, struct http_call *call, char *err, size_t errlen)
{
	return (http_multi_send(ctx, call, err, errlen));
}

static void
transport_cancel(void *ctx, struct http_call *call)
{
	http_multi_cancel(ctx, call);
}

void
http_multi_transport(struct http_multi *m, struct http_transport *t)
{
	t->ctx = m;
	t->send = transport_send;
	t->cancel = transport_cancel;
}
