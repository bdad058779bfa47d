/*
 * tests/fakes/fake_platform.c — a fake X / LinkedIn / Instagram server for
 * the dispatcher's tests and benchmarks: the HTTP server, the control API,
 * the modes (misbehaviour on demand) and main().
 *
 *   fake_platform [--port N] [--log FILE] [--threads N]
 *
 * Listens on 127.0.0.1 (port 0 = any free one) and prints "listening on N"
 * once it accepts connections.  SIGTERM or SIGINT: every held connection
 * is closed, everything freed, exit 0.
 *
 * Control API (never affected by modes):
 *   POST /_fake/mode   {"platform": "x"|"linkedin"|"instagram"|"*",
 *                       "mode": "ok"|"500"|"503"|"429"|"garbage"|"hang"|
 *                               "close"|"401"|"duplicate"|"slow",
 *                       "count": n (-1 = until changed, the default),
 *                       "retry_after": s, "path_contains": "…" (optional:
 *                       only matching requests), "in_progress_polls": n
 *                       (optional: new Instagram containers answer
 *                       IN_PROGRESS n times)}
 *   GET  /_fake/posts  every accepted post, in order
 *   GET  /_fake/stats  {"received", "duplicates", "requests"}
 *   POST /_fake/reset  forget posts, containers and modes; close held
 *                      connections (issued tokens stay valid)
 *   GET  /_fake/authorize?platform=&redirect_uri=&state=&code_challenge=
 *                      [&user=] — the user's consent: a code, as JSON
 *
 * Modes: "hang" and "close" apply the request (the post is live) and then
 * never answer / drop the connection; "slow" applies it and answers after
 * retry_after seconds; "garbage" applies it and answers 2xx with a body
 * that is not JSON (and no x-restli-id); the error modes answer in the
 * platform's own shape without applying anything.  "duplicate" only counts
 * publishing requests.
 *
 * Threads: libmicrohttpd's pool (epoll, --threads, 2 by default) runs the
 * handlers; one timer thread resumes "slow" connections when they are due.
 * The store (fake_state.c) has its own lock; the list of suspended
 * connections has another, always taken before libmicrohttpd's own.
 *
 * Memory: a struct req per HTTP request owns its body and reply; it is
 * freed by libmicrohttpd's completion callback.  Suspended requests are on
 * the held list, which is emptied (resumed, then closed) before the daemon
 * stops, so a request is never freed while listed.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "fake.h"

#define BODY_MAX	(1024 * 1024)

enum req_phase {
	R_NEW,		/* being read or handled */
	R_SLOW,		/* suspended until due_ms */
	R_HANG,		/* suspended until reset or shutdown */
	R_READY,	/* resumed: queue the reply */
	R_CLOSE		/* resumed: drop the connection */
};

struct req {
	int64_t			 received_us;
	struct fc_body		 body;
	enum req_phase		 phase;
	struct fc_reply	 reply;
	struct MHD_Connection	*conn;
	int64_t			 due_ms;
	struct req		*next;		/* on the held list */
};

FILE	*fake_log;

static struct {
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct req		*head;
	bool			 stopping;
} held = { .lock = PTHREAD_MUTEX_INITIALIZER };

static const char *const mode_names[] = {
	"ok", "500", "503", "429", "garbage", "hang", "close", "401",
	"duplicate", "slow"
};

/* ==== replies */

/* The 500 answered when a JSON reply cannot be built (fake_common.h). */
const char fc_json_error[] = "{\"error\":\"fake: json\"}";

void
reply_graph_error(struct fc_reply *r, unsigned int status, int code,
    int subcode, const char *message)
{
	json_t	*e = json_pack("{s:s, s:s, s:i, s:s}", "message", message,
		    "type", "OAuthException", "code", code, "fbtrace_id", "FakeTrace");

	if (subcode != 0)
		json_object_set_new(e, "error_subcode", json_integer(subcode));
	fc_reply_json(r, status, json_pack("{s:o}", "error", e));
}

void
reply_oauth_error(struct fc_reply *r, unsigned int status, const char *error,
    const char *description)
{
	fc_reply_json(r, status, json_pack("{s:s, s:s}", "error", error,
	    "error_description", description));
}

void
reply_error(struct fc_reply *r, enum fake_platform p, unsigned int status,
    const char *message)
{
	switch (p) {
	case FAKE_X:
		fc_reply_json(r, status, json_pack("{s:s, s:s, s:s, s:i}", "title",
		    message, "detail", message, "type", "about:blank", "status",
		    (int)status));
		break;
	case FAKE_LINKEDIN:
		fc_reply_json(r, status, json_pack("{s:s, s:i}", "message", message,
		    "status", (int)status));
		break;
	case FAKE_INSTAGRAM:
		reply_graph_error(r, status, status == 401 ? 190 : 100, 0, message);
		break;
	default:
		fc_reply_json(r, status, json_pack("{s:s}", "error", message));
		break;
	}
}

/* ==== request helpers */

const char *
call_arg(const struct fake_call *c, const char *name)
{
	return (MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, name));
}

const char *
call_header(const struct fake_call *c, const char *name)
{
	return (MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, name));
}

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return (ch - '0');
	if (ch >= 'a' && ch <= 'f')
		return (ch - 'a' + 10);
	if (ch >= 'A' && ch <= 'F')
		return (ch - 'A' + 10);
	return (-1);
}

/* form_decode decodes s[0..n) (+ and %XX) into a new string. */
static char *
form_decode(const char *s, size_t n)
{
	char	*out = malloc(n + 1), *o = out;
	size_t	 i;

	if (out == NULL)
		abort();
	for (i = 0; i < n; i++) {
		if (s[i] == '+')
			*o++ = ' ';
		else if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
		    hexval(s[i + 2]) >= 0) {
			*o++ = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
			i += 2;
		} else
			*o++ = s[i];
	}
	*o = '\0';
	return (out);
}

char *
call_form(const struct fake_call *c, const char *name)
{
	const char	*p = c->body, *end = c->body + c->body_len, *amp, *eq;
	const char	*ct = call_header(c, "Content-Type");
	size_t		 nlen = strlen(name);

	if (ct == NULL || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0)
		return (NULL);
	while (p < end) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		eq = memchr(p, '=', (size_t)(amp - p));
		if (eq != NULL && (size_t)(eq - p) == nlen && memcmp(p, name, nlen) == 0)
			return (form_decode(eq + 1, (size_t)(amp - eq - 1)));
		p = amp + 1;
	}
	return (NULL);
}

const char *
call_bearer(const struct fake_call *c)
{
	struct fake_call	*mc = (struct fake_call *)c;
	const char		*h = call_header(c, "Authorization");
	char			*f;

	if (h != NULL && strncasecmp(h, "Bearer ", 7) == 0)
		return (h + 7);
	if ((h = call_arg(c, "access_token")) != NULL)
		return (h);
	if ((f = call_form(c, "access_token")) != NULL) {
		snprintf(mc->token_buf, sizeof(mc->token_buf), "%s", f);
		free(f);
		return (mc->token_buf);
	}
	return (NULL);
}

/* ==== the held (suspended) connections */

/* hold suspends q's connection and lists it.  Called from the handler. */
static void
hold(struct req *q, enum req_phase phase, int64_t due_ms)
{
	pthread_mutex_lock(&held.lock);
	q->phase = phase;
	q->due_ms = due_ms;
	MHD_suspend_connection(q->conn);
	q->next = held.head;
	held.head = q;
	pthread_cond_signal(&held.cond);
	pthread_mutex_unlock(&held.lock);
}

/*
 * release_locked resumes the listed requests that match (all = every one,
 * else the due "slow" ones), unlinking them.  Caller holds held.lock.
 */
static void
release_locked(bool all, int64_t now_ms)
{
	struct req	**pp = &held.head, *q;

	while ((q = *pp) != NULL) {
		if (!all && (q->phase != R_SLOW || q->due_ms > now_ms)) {
			pp = &q->next;
			continue;
		}
		*pp = q->next;
		q->next = NULL;
		q->phase = q->phase == R_SLOW ? R_READY : R_CLOSE;
		MHD_resume_connection(q->conn);
	}
}

/* release_all resumes every held connection: hung ones to be closed. */
static void
release_all(void)
{
	pthread_mutex_lock(&held.lock);
	release_locked(true, 0);
	pthread_mutex_unlock(&held.lock);
}

static void *
timer_main(void *unused)
{
	struct timespec	 ts;
	struct req	*q;
	int64_t		 next, now;

	(void)unused;
	pthread_mutex_lock(&held.lock);
	while (!held.stopping) {
		now = fc_mono_ms();
		release_locked(false, now);
		next = -1;
		for (q = held.head; q != NULL; q = q->next)
			if (q->phase == R_SLOW && (next == -1 || q->due_ms < next))
				next = q->due_ms;
		if (next == -1) {
			pthread_cond_wait(&held.cond, &held.lock);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += (next - now) / 1000;
		ts.tv_nsec += ((next - now) % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&held.cond, &held.lock, &ts);
	}
	pthread_mutex_unlock(&held.lock);
	return (NULL);
}

/* ==== control API */

static int
mode_kind(const char *name)
{
	size_t	 i;

	for (i = 0; name != NULL && i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		if (strcmp(name, mode_names[i]) == 0)
			return ((int)i);
	return (-1);
}

static void
control_mode(struct fake_call *c, struct fc_reply *r)
{
	static const char *const plats[] = { "x", "linkedin", "instagram" };
	struct fake_mode	 m;
	json_error_t		 e;
	json_t			*j = json_loadb(c->body, c->body_len, 0, &e), *v;
	const char		*p = json_string_value(json_object_get(j, "platform"));
	int			 kind = mode_kind(json_string_value(json_object_get(j, "mode")));
	int			 platform = -2, i;

	for (i = 0; p != NULL && i < FAKE_NPLATFORMS; i++)
		if (strcmp(p, plats[i]) == 0)
			platform = i;
	if (p != NULL && strcmp(p, "*") == 0)
		platform = -1;
	if (platform == -2 || kind < 0) {
		fc_reply_json(r, 400, json_pack("{s:s}", "error",
		    "platform must be x, linkedin, instagram or *; mode one of "
		    "ok 500 503 429 garbage hang close 401 duplicate slow"));
		json_decref(j);
		return;
	}
	memset(&m, 0, sizeof(m));
	m.kind = kind;
	v = json_object_get(j, "count");
	m.count = json_is_integer(v) ? (int)json_integer_value(v) : -1;
	v = json_object_get(j, "retry_after");
	m.retry_after = json_is_integer(v) ? (int)json_integer_value(v) : 0;
	if (m.kind == MODE_SLOW && m.retry_after <= 0)
		m.retry_after = 2;
	snprintf(m.path_contains, sizeof(m.path_contains), "%s",
	    json_string_value(json_object_get(j, "path_contains")) != NULL ?
	    json_string_value(json_object_get(j, "path_contains")) : "");
	state_set_mode(platform, &m);
	if (json_is_integer(v = json_object_get(j, "in_progress_polls")))
		state_set_in_progress_polls((int)json_integer_value(v));
	fc_reply_json(r, 200, json_pack("{s:b}", "ok", 1));
	json_decref(j);
}

static void
control(struct fake_call *c, struct fc_reply *r)
{
	bool	 get = strcmp(c->method, "GET") == 0;
	bool	 post = strcmp(c->method, "POST") == 0;

	if (post && strcmp(c->path, "/_fake/mode") == 0)
		control_mode(c, r);
	else if (get && strcmp(c->path, "/_fake/posts") == 0)
		fc_reply_json(r, 200, state_posts_json());
	else if (get && strcmp(c->path, "/_fake/stats") == 0)
		fc_reply_json(r, 200, state_stats_json());
	else if (post && strcmp(c->path, "/_fake/reset") == 0) {
		state_reset();
		release_all();
		fc_reply_json(r, 200, json_pack("{s:b}", "ok", 1));
	} else if (get && strcmp(c->path, "/_fake/authorize") == 0)
		endpoint_fake_authorize(c, r);
	else
		fc_reply_json(r, 404, json_pack("{s:s}", "error", "no such control"));
}

/* ==== modes */

static bool
is_token_endpoint(const char *path)
{
	return (strcmp(path, "/2/oauth2/token") == 0 ||
	    strcmp(path, "/oauth/v2/accessToken") == 0 ||
	    strcmp(path, "/refresh_access_token") == 0 ||
	    strstr(path, "/oauth/access_token") != NULL);
}

static void
mode_429(struct fake_call *c, const struct fake_mode *m, struct fc_reply *r)
{
	int	 wait = m->retry_after > 0 ? m->retry_after : 60;

	if (c->platform == FAKE_INSTAGRAM) {
		reply_graph_error(r, 400, 4, 0, "(#4) Application request limit reached");
		if (m->retry_after > 0)
			fc_reply_header(r, "X-Business-Use-Case-Usage", "{\"17841400000000000\":"
			    "[{\"type\":\"instagram\",\"call_count\":100,\"total_cputime\":1,"
			    "\"total_time\":1,\"estimated_time_to_regain_access\":%d}]}",
			    (m->retry_after + 59) / 60);
		return;
	}
	reply_error(r, c->platform, 429, c->platform == FAKE_X ? "Too Many Requests" :
	    "Resource level throttle APPLICATION DAY limit for calls to this "
	    "resource is reached.");
	if (c->platform == FAKE_X) {
		fc_reply_header(r, "x-rate-limit-limit", "200");
		fc_reply_header(r, "x-rate-limit-remaining", "0");
		fc_reply_header(r, "x-rate-limit-reset", "%lld",
		    (long long)(fc_wall_us() / 1000000 + wait));
	}
	if (m->retry_after > 0)
		fc_reply_header(r, "Retry-After", "%d", m->retry_after);
}

static void
mode_duplicate(struct fake_call *c, struct fc_reply *r)
{
	if (c->platform == FAKE_X)
		fc_reply_json(r, 403, json_pack("{s:s, s:s, s:s, s:i}", "detail",
		    "You are not allowed to create a Tweet with duplicate content.",
		    "type", "about:blank", "title", "Forbidden", "status", 403));
	else if (c->platform == FAKE_LINKEDIN)
		fc_reply_json(r, 422, json_pack("{s:s, s:s, s:s, s:i}", "errorDetailType",
		    "com.linkedin.common.error.BadRequest", "code", "DUPLICATE_POST",
		    "message", "Content is a duplicate of urn:li:share:1880000000000000000",
		    "status", 422));
	else
		reply_graph_error(r, 400, 506, 0, "Duplicate status message");
}

/* mode_error fills the reply of an error mode (nothing is applied). */
static void
mode_error(struct fake_call *c, const struct fake_mode *m, struct fc_reply *r)
{
	switch (m->kind) {
	case MODE_500:
		if (c->platform == FAKE_INSTAGRAM)
			reply_graph_error(r, 500, 1, 0, "An unknown error has occurred.");
		else
			reply_error(r, c->platform, 500, "Internal Server Error");
		break;
	case MODE_503:
		if (c->platform == FAKE_INSTAGRAM)
			reply_graph_error(r, 503, 2, 0, "Service temporarily unavailable");
		else
			reply_error(r, c->platform, 503, "Service Unavailable");
		if (m->retry_after > 0)
			fc_reply_header(r, "Retry-After", "%d", m->retry_after);
		break;
	case MODE_429:
		mode_429(c, m, r);
		break;
	case MODE_401:
		if (is_token_endpoint(c->path) && c->platform != FAKE_INSTAGRAM)
			reply_oauth_error(r, 401, "invalid_client",
			    "Client authentication failed");
		else if (c->platform == FAKE_INSTAGRAM)
			reply_graph_error(r, 400, 190, 463,
			    "Error validating access token: Session has expired.");
		else
			reply_error(r, c->platform, 401, "Unauthorized");
		break;
	default:
		mode_duplicate(c, r);
		break;
	}
}

static void
garbage(struct fake_call *c, struct fc_reply *r)
{
	unsigned int	 status = r->status >= 200 && r->status < 300 ? r->status :
	    c->publish && c->platform != FAKE_INSTAGRAM ? 201 : 200;

	fc_reply_text(r, status, "text/html",
	    "<html><body>Fake platform: not JSON \x01\xff {\"id\":</body>");
}

/* ==== the request handler */

static void
log_request(const struct fake_call *c, const struct fc_reply *r,
    const struct fake_mode *m)
{
	if (fake_log == NULL)
		return;
	/* The path only: query strings can carry tokens. */
	fprintf(fake_log, "%lld %s %s %u %s\n", (long long)c->received_us,
	    c->method, c->path, r->status, mode_names[m->kind]);
}

static enum MHD_Result
handle(struct req *q, const char *url, const char *method)
{
	struct fake_call	 c;
	struct fake_mode	 m = { .kind = MODE_OK };

	memset(&c, 0, sizeof(c));
	c.conn = q->conn;
	c.method = method;
	c.path = url;
	c.body = fc_body_str(&q->body);
	c.body_len = q->body.len;
	c.received_us = q->received_us;
	if (q->body.too_large) {
		fc_reply_text(&q->reply, 413, "text/plain", "too large\n");
		return (fc_queue_reply(q->conn, &q->reply));
	}
	if (strncmp(url, "/_fake/", 7) == 0) {
		control(&c, &q->reply);
		return (fc_queue_reply(q->conn, &q->reply));
	}
	c.platform = endpoint_platform(url);
	c.publish = endpoint_is_publish(method, url);
	state_count_request();
	m = state_take_mode(c.platform, url, c.publish);
	if (m.kind >= MODE_500 && m.kind <= MODE_429)
		mode_error(&c, &m, &q->reply);
	else if (m.kind == MODE_401 || m.kind == MODE_DUPLICATE)
		mode_error(&c, &m, &q->reply);
	else if (c.platform == FAKE_NONE)
		reply_error(&q->reply, FAKE_NONE, 404, "Not Found");
	else
		endpoint_dispatch(&c, &q->reply);
	if (m.kind == MODE_GARBAGE)
		garbage(&c, &q->reply);
	log_request(&c, &q->reply, &m);
	switch (m.kind) {
	case MODE_CLOSE:
		return (MHD_NO);
	case MODE_HANG:
		hold(q, R_HANG, 0);
		return (MHD_YES);
	case MODE_SLOW:
		hold(q, R_SLOW, fc_mono_ms() + (int64_t)m.retry_after * 1000);
		return (MHD_YES);
	default:
		return (fc_queue_reply(q->conn, &q->reply));
	}
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **req_cls)
{
	struct req	*q = *req_cls;
	size_t		 n = *upload_data_size;

	(void)cls;
	(void)version;
	if (q == NULL) {
		if ((q = calloc(1, sizeof(*q))) == NULL)
			return (MHD_NO);
		q->received_us = fc_wall_us();
		q->conn = conn;
		*req_cls = q;
		return (MHD_YES);
	}
	if (n > 0) {
		fc_body_add(&q->body, upload_data, n, BODY_MAX);
		*upload_data_size = 0;
		return (MHD_YES);
	}
	switch (q->phase) {
	case R_READY:
		return (fc_queue_reply(conn, &q->reply));
	case R_CLOSE:
		return (MHD_NO);
	case R_SLOW:
	case R_HANG:
		return (MHD_YES);
	default:
		return (handle(q, url, method));
	}
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct req	*q = *req_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (q == NULL)
		return;
	fc_reply_clear(&q->reply);
	fc_body_free(&q->body);
	free(q);
	*req_cls = NULL;
}

/* ==== main */

static int
usage(void)
{
	fprintf(stderr, "usage: fake_platform [--port N] [--log FILE] [--threads N]\n");
	return (2);
}

int
main(int argc, char **argv)
{
	static const struct fc_limits lim = { 8192, 4096, 120 };
	struct MHD_Daemon	*d;
	pthread_t		 timer;
	sigset_t		 set;
	int			 i, port = 0, threads = 2;
	const char		*log = NULL;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
			port = atoi(argv[++i]);
		else if (strcmp(argv[i], "--log") == 0 && i + 1 < argc)
			log = argv[++i];
		else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
			threads = atoi(argv[++i]);
		else
			return (usage());
	}
	if (port < 0 || port > 65535 || threads < 1 || threads > 64)
		return (usage());
	if (log != NULL && (fake_log = fopen(log, "a")) == NULL) {
		fprintf(stderr, "fake_platform: %s: %s\n", log, strerror(errno));
		return (1);
	}
	if (fake_log != NULL)
		setvbuf(fake_log, NULL, _IOLBF, 0);

	/* Every thread started from here on inherits the blocked signals. */
	fc_block_signals(&set);

	pthread_cond_init(&held.cond, NULL);
	if (state_init() == -1 || pthread_create(&timer, NULL, timer_main, NULL) != 0)
		return (1);
	if ((d = fc_listen("fake_platform", port, threads, &lim, on_request,
	    on_completed)) == NULL)
		return (1);
	fc_wait_stop(&set);

	pthread_mutex_lock(&held.lock);
	held.stopping = true;
	pthread_cond_signal(&held.cond);
	pthread_mutex_unlock(&held.lock);
	pthread_join(timer, NULL);
	release_all();
	MHD_stop_daemon(d);
	state_free();
	pthread_cond_destroy(&held.cond);
	if (fake_log != NULL)
		fclose(fake_log);
	return (0);
}
