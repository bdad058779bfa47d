/*
 * tests/fakes/fake_ai.c — fake AI providers (OpenAI Chat Completions,
 * Gemini generateContent, an OpenAI-compatible server) for the
 * dispatcher's tests and benchmarks: the HTTP server, the scripts, the
 * request log, the control API and main().  The protocols themselves are
 * in fake_ai_proto.c.
 *
 *   fake_ai [--port N] [--openai-key K] [--gemini-key K] [--compat-key K]
 *           [--threads N] [--log-max N]
 *
 * Listens on 127.0.0.1 (port 0 = any free one) and prints "listening on N"
 * once it accepts connections.  Base URLs: http://127.0.0.1:N/openai/v1,
 * …/compat/v1 and …/gemini/v1beta.  A key given is the only one accepted;
 * without one, OpenAI and Gemini take any non-empty key and compat none.
 * SIGTERM or SIGINT: every held connection is closed, everything freed,
 * exit 0.
 *
 * Control API:
 *   POST /_fake/script   {"provider": "openai"|"gemini"|"compat"|"*",
 *                         "steps": ["ok", "rate_limit", …], "default": "ok",
 *                         "delay_ms": n, "length": n, "retry_after_ms": n}
 *                        replaces the provider's script: each valid request
 *                        takes the next step, then the default.
 *   GET  /_fake/requests [?provider=] every request, oldest first (the last
 *                        --log-max, 10,000 by default)
 *   GET  /_fake/stats    counts per provider and per step, in flight, peak
 *   POST /_fake/reset    default scripts, empty log and counters; held
 *                        ("hang") connections closed unanswered
 *
 * Threads: libmicrohttpd's pool (epoll, --threads, 4 by default) runs the
 * handlers and never waits: a delayed or hung request is suspended and put
 * on the held list.  One watcher thread resumes delayed requests when due
 * and, with poll(2) on their sockets, closes hung ones whose client went
 * away; an eventfd wakes it when the list changes.  The store (scripts,
 * log, counters) has one mutex; the held list another, taken before
 * libmicrohttpd's own.
 *
 * Memory: a struct req per HTTP request owns its body, parsed body and
 * reply; libmicrohttpd's completion callback frees it.  Held requests are
 * released (resumed) before the daemon stops, so none is freed while
 * listed.  Log entries are JSON values the store owns; GET /_fake/requests
 * takes references under the lock and dumps them outside it.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <microhttpd.h>

#include "fake_ai.h"

#define BODY_MAX	(4 * 1024 * 1024)
#define STEPS_MAX	10000
#define DELAY_MAX	600000

enum req_phase {
	R_NEW,		/* being read or handled */
	R_DELAY,	/* suspended until due_ms */
	R_HANG,		/* suspended until reset, shutdown or the client leaves */
	R_READY,	/* resumed: queue the reply */
	R_CLOSE		/* resumed: drop the connection */
};

struct req {
	struct fc_body		 body;
	bool			 counted;	/* a provider request, in flight */
	bool			 close_after;	/* step "close" after a delay */
	int64_t			 at_ms;		/* wall clock at receive time */
	enum req_phase		 phase;
	struct fc_reply	 reply;
	struct MHD_Connection	*conn;
	int			 fd;
	uint64_t		 serial;	/* on the held list */
	int64_t			 due_ms;
	struct req		*next;
};

struct script {
	int		*steps;		/* malloc'd */
	size_t		 nsteps, pos;
	int		 dflt;
	int		 delay_ms;
	struct fai_params params;
};

static struct {
	pthread_mutex_t	 lock;
	struct script	 scripts[FAI_NPROVIDERS];
	struct fc_ring	 log;		/* the last --log-max requests */
	uint64_t	 seq, requests, other;
	uint64_t	 prov_requests[FAI_NPROVIDERS];
	uint64_t	 prov_rejected[FAI_NPROVIDERS];
	uint64_t	 steps[FAI_NPROVIDERS][FAI_NSTEPS];
	int64_t		 in_flight, max_in_flight;
	const char	*keys[FAI_NPROVIDERS];	/* argv; NULL = not configured */
} st = { .lock = PTHREAD_MUTEX_INITIALIZER };

static struct {
	pthread_mutex_t	 lock;
	struct req	*head;
	int		 efd;
	bool		 stopping;
	uint64_t	 serial;
} held = { .lock = PTHREAD_MUTEX_INITIALIZER, .efd = -1 };

/* ==== the store */

static void
script_default(struct script *s)
{
	free(s->steps);
	memset(s, 0, sizeof(*s));
	s->dflt = FAI_OK;
	s->params.length = 400;
	s->params.retry_after_ms = 1000;
}

/* store_reset: default scripts, empty log, zero counters.  Lock held. */
static void
store_reset_locked(void)
{
	int	 p;

	for (p = 0; p < FAI_NPROVIDERS; p++)
		script_default(&st.scripts[p]);
	fc_ring_clear(&st.log);
	st.requests = st.other = 0;
	memset(st.prov_requests, 0, sizeof(st.prov_requests));
	memset(st.prov_rejected, 0, sizeof(st.prov_rejected));
	memset(st.steps, 0, sizeof(st.steps));
	st.max_in_flight = st.in_flight;
}

static void
in_flight_add(int d)
{
	pthread_mutex_lock(&st.lock);
	st.in_flight += d;
	if (st.in_flight > st.max_in_flight)
		st.max_in_flight = st.in_flight;
	pthread_mutex_unlock(&st.lock);
}

/* ==== held (suspended) requests */

static void
wake_watcher(void)
{
	uint64_t	 one = 1;

	if (write(held.efd, &one, sizeof(one)) == -1 && errno != EAGAIN)
		perror("fake_ai: eventfd");
}

/* hold suspends q's connection and lists it.  Called from the handler. */
static void
hold(struct req *q, enum req_phase phase, int64_t due_ms)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(q->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	pthread_mutex_lock(&held.lock);
	q->phase = phase;
	q->due_ms = due_ms;
	q->fd = ci != NULL ? ci->connect_fd : -1;
	q->serial = ++held.serial;
	MHD_suspend_connection(q->conn);
	q->next = held.head;
	held.head = q;
	pthread_mutex_unlock(&held.lock);
	wake_watcher();
}

/* unhold_locked unlinks *pp and resumes it.  Caller holds held.lock. */
static void
unhold_locked(struct req **pp, enum req_phase phase)
{
	struct req	*q = *pp;

	*pp = q->next;
	q->next = NULL;
	q->phase = phase;
	MHD_resume_connection(q->conn);
}

/*
 * release_locked resumes the due delayed requests (every one when all),
 * with their reply, and with all also the hung ones, to be closed.
 */
static void
release_locked(bool all, bool hung, int64_t now_ms)
{
	struct req	**pp = &held.head, *q;

	while ((q = *pp) != NULL) {
		if (q->phase == R_DELAY && (all || q->due_ms <= now_ms))
			unhold_locked(pp, q->close_after ? R_CLOSE : R_READY);
		else if (q->phase == R_HANG && hung)
			unhold_locked(pp, R_CLOSE);
		else
			pp = &q->next;
	}
}

/*
 * release_hung closes every hung request, then wakes the watcher: while
 * it sits in poll(2) on a socket, closing that socket sends nothing.
 */
static void
release_hung(void)
{
	pthread_mutex_lock(&held.lock);
	release_locked(false, true, INT64_MIN);
	pthread_mutex_unlock(&held.lock);
	wake_watcher();
}

/*
 * watcher_main: resume delayed requests when due; close hung requests
 * whose client hung up (POLLRDHUP on their socket).  Blocks in poll(2)
 * until the next due time, a socket event or a wake-up.
 */
static void *
watcher_main(void *unused)
{
	struct pollfd	*pfd = NULL;
	uint64_t	*serial = NULL, v;
	size_t		 cap = 0, n, i;
	struct req	*q, **pp;
	int64_t		 now, next;

	(void)unused;
	pthread_mutex_lock(&held.lock);
	while (!held.stopping) {
		now = fc_mono_ms();
		release_locked(false, false, now);
		n = 1;
		for (q = held.head; q != NULL; q = q->next)
			n++;
		if (n > cap) {
			cap = n * 2;
			if ((pfd = realloc(pfd, cap * sizeof(*pfd))) == NULL ||
			    (serial = realloc(serial, cap * sizeof(*serial))) == NULL)
				abort();
		}
		pfd[0].fd = held.efd;
		pfd[0].events = POLLIN;
		n = 1;
		next = -1;
		for (q = held.head; q != NULL; q = q->next) {
			if (q->phase == R_DELAY && (next == -1 || q->due_ms < next))
				next = q->due_ms;
			if (q->phase != R_HANG || q->fd < 0)
				continue;
			pfd[n].fd = q->fd;
			pfd[n].events = POLLRDHUP;
			serial[n++] = q->serial;
		}
		pthread_mutex_unlock(&held.lock);
		if (poll(pfd, n, next == -1 ? -1 : (int)(next > now ? next - now : 0)) > 0 &&
		    (pfd[0].revents & POLLIN) != 0 &&
		    read(held.efd, &v, sizeof(v)) == -1 && errno != EAGAIN)
			perror("fake_ai: eventfd");
		pthread_mutex_lock(&held.lock);
		/* A listed request still owns its socket: the event is its own. */
		for (i = 1; i < n; i++) {
			if ((pfd[i].revents & (POLLRDHUP | POLLHUP | POLLERR)) == 0)
				continue;
			for (pp = &held.head; *pp != NULL; pp = &(*pp)->next)
				if ((*pp)->serial == serial[i]) {
					unhold_locked(pp, R_CLOSE);
					break;
				}
		}
	}
	pthread_mutex_unlock(&held.lock);
	free(pfd);
	free(serial);
	return (NULL);
}

/* ==== control API */

static int
provider_of_name(const char *name)
{
	int	 i;

	for (i = 0; name != NULL && i < FAI_NPROVIDERS; i++)
		if (strcmp(name, fai_provider_names[i]) == 0)
			return (i);
	if (name != NULL && strcmp(name, "*") == 0)
		return (-1);
	return (-2);
}

static bool
int_field(json_t *j, const char *name, int min, int max, int *out)
{
	json_t	*v = json_object_get(j, name);

	if (v == NULL)
		return (true);
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max)
		return (false);
	*out = (int)json_integer_value(v);
	return (true);
}

static void
control_script(const char *body, size_t len, struct fc_reply *r)
{
	json_t		*j = json_loadb(body, len, 0, NULL), *steps, *v;
	struct script	 s;
	int		 p = provider_of_name(json_string_value(json_object_get(j,
			    "provider"))), i, retry = 1000;
	size_t		 k;
	const char	*err = NULL;

	memset(&s, 0, sizeof(s));
	script_default(&s);
	steps = json_object_get(j, "steps");
	if (p == -2)
		err = "provider must be openai, gemini, compat or *";
	else if (steps != NULL && (!json_is_array(steps) ||
	    json_array_size(steps) > STEPS_MAX))
		err = "steps must be an array of at most 10000 step names";
	else if ((v = json_object_get(j, "default")) != NULL &&
	    ((s.dflt = fai_step_of(json_string_value(v))) < 0))
		err = "default must be a step name";
	else if (!int_field(j, "delay_ms", 0, DELAY_MAX, &s.delay_ms) ||
	    !int_field(j, "length", 1, 1000000, &s.params.length) ||
	    !int_field(j, "retry_after_ms", 0, 86400000, &retry))
		err = "delay_ms (0..600000), length (1..1000000) and "
		    "retry_after_ms (0..86400000) are integers";
	s.params.retry_after_ms = retry;
	if (err == NULL && json_array_size(steps) > 0) {
		if ((s.steps = calloc(json_array_size(steps), sizeof(int))) == NULL)
			abort();
		json_array_foreach(steps, k, v)
			if ((s.steps[s.nsteps++] = fai_step_of(json_string_value(v))) < 0)
				err = "unknown step: steps are ok long long_one text fenced "
				    "empty rate_limit insufficient_quota server_error "
				    "unavailable bad_request unauthorized forbidden "
				    "not_found malformed truncated blocked prompt_blocked "
				    "refusal hang close";
	}
	if (err != NULL) {
		fc_reply_json(r, 400, json_pack("{s:s}", "error", err));
		free(s.steps);
		json_decref(j);
		return;
	}
	pthread_mutex_lock(&st.lock);
	for (i = 0; i < FAI_NPROVIDERS; i++) {
		if (p != -1 && p != i)
			continue;
		script_default(&st.scripts[i]);
		st.scripts[i] = s;
		if (s.nsteps > 0) {	/* each provider its own copy */
			if ((st.scripts[i].steps = malloc(s.nsteps * sizeof(int))) == NULL)
				abort();
			memcpy(st.scripts[i].steps, s.steps, s.nsteps * sizeof(int));
		}
	}
	pthread_mutex_unlock(&st.lock);
	free(s.steps);
	json_decref(j);
	fc_reply_json(r, 200, json_pack("{s:b}", "ok", 1));
}

static void
control_requests(struct MHD_Connection *conn, struct fc_reply *r)
{
	const char	*prov = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
			    "provider");
	json_t		*arr;

	pthread_mutex_lock(&st.lock);
	arr = fc_ring_select(&st.log, "provider", prov);
	pthread_mutex_unlock(&st.lock);
	fc_reply_json(r, 200, arr);
}

/* held_json: {"delayed", "hung"} — the requests on the held list now. */
static json_t *
held_json(void)
{
	struct req	*q;
	json_int_t	 delayed = 0, hung = 0;

	pthread_mutex_lock(&held.lock);
	for (q = held.head; q != NULL; q = q->next) {
		if (q->phase == R_DELAY)
			delayed++;
		else if (q->phase == R_HANG)
			hung++;
	}
	pthread_mutex_unlock(&held.lock);
	return (json_pack("{s:I, s:I}", "delayed", delayed, "hung", hung));
}

static json_t *
stats_json(void)
{
	json_t	*provs = json_object(), *steps = json_object(), *ps, *left;
	uint64_t total[FAI_NSTEPS];
	size_t	 k;
	int	 p, s;

	memset(total, 0, sizeof(total));
	pthread_mutex_lock(&st.lock);
	for (p = 0; p < FAI_NPROVIDERS; p++) {
		ps = json_object();
		for (s = 0; s < FAI_NSTEPS; s++) {
			total[s] += st.steps[p][s];
			if (st.steps[p][s] > 0)
				json_object_set_new(ps, fai_step_names[s],
				    json_integer((json_int_t)st.steps[p][s]));
		}
		left = json_array();
		for (k = st.scripts[p].pos; k < st.scripts[p].nsteps; k++)
			json_array_append_new(left,
			    json_string(fai_step_names[st.scripts[p].steps[k]]));
		json_object_set_new(provs, fai_provider_names[p], json_pack(
		    "{s:I, s:I, s:o, s:{s:o, s:s, s:i, s:i, s:I}}",
		    "requests", (json_int_t)st.prov_requests[p],
		    "rejected", (json_int_t)st.prov_rejected[p], "steps", ps,
		    "script", "steps_left", left, "default",
		    fai_step_names[st.scripts[p].dflt], "delay_ms",
		    st.scripts[p].delay_ms, "length", st.scripts[p].params.length,
		    "retry_after_ms", (json_int_t)st.scripts[p].params.retry_after_ms));
	}
	for (s = 0; s < FAI_NSTEPS; s++)
		if (total[s] > 0)
			json_object_set_new(steps, fai_step_names[s],
			    json_integer((json_int_t)total[s]));
	ps = json_pack("{s:I, s:I, s:o, s:o, s:I, s:I, s:I, s:I}",
	    "requests", (json_int_t)st.requests, "other", (json_int_t)st.other,
	    "providers", provs, "steps", steps,
	    "in_flight", (json_int_t)st.in_flight,
	    "max_in_flight", (json_int_t)st.max_in_flight,
	    "logged", (json_int_t)st.log.n, "dropped", (json_int_t)st.log.dropped);
	pthread_mutex_unlock(&st.lock);
	json_object_set_new(ps, "held", held_json());
	return (ps);
}

static void
control(struct MHD_Connection *conn, const char *method, const char *path,
    const char *body, size_t len, struct fc_reply *r)
{
	bool	 get = strcmp(method, "GET") == 0;
	bool	 post = strcmp(method, "POST") == 0;

	if (post && strcmp(path, "/_fake/script") == 0)
		control_script(body, len, r);
	else if (get && strcmp(path, "/_fake/requests") == 0)
		control_requests(conn, r);
	else if (get && strcmp(path, "/_fake/stats") == 0)
		fc_reply_json(r, 200, stats_json());
	else if (post && strcmp(path, "/_fake/reset") == 0) {
		pthread_mutex_lock(&st.lock);
		store_reset_locked();
		pthread_mutex_unlock(&st.lock);
		release_hung();
		fc_reply_json(r, 200, json_pack("{s:b}", "ok", 1));
	} else
		fc_reply_json(r, 404, json_pack("{s:s}", "error", "no such control"));
}

/* ==== the request handler */

/* body_json: what the log shows of a body: parsed JSON, else the text, else null. */
static json_t *
body_json(json_t *parsed, const char *raw, size_t len)
{
	json_t	*j;

	if (parsed != NULL)
		return (json_incref(parsed));
	if (len > 0 && (j = json_stringn(raw, len)) != NULL)
		return (j);
	return (json_null());
}

/*
 * provider_request validates and answers one provider request, records
 * it, and says how: queue now, hold (delay or hang), or close.
 */
static enum MHD_Result
provider_request(struct req *q, const char *url, const char *method)
{
	struct fai_call	 c;
	struct script	*s;
	json_t		*body, *rec;
	bool		 valid, auth_ok;
	int		 step = -1, delay = 0;
	struct fai_params params = { 400, 1000 };

	memset(&c, 0, sizeof(c));
	c.provider = fai_provider_of(url);
	c.method = method;
	c.path = url;
	body = json_loadb(fc_body_str(&q->body), q->body.len, 0, NULL);
	c.body = json_is_object(body) ? body : NULL;
	c.authorization = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND,
	    "Authorization");
	c.goog_key = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND,
	    "x-goog-api-key");
	if (c.goog_key == NULL)
		c.goog_key = MHD_lookup_connection_value(q->conn,
		    MHD_GET_ARGUMENT_KIND, "key");
	c.want_key = c.provider != FAI_NONE ? st.keys[c.provider] : NULL;
	valid = fai_validate(&c, &q->reply, &auth_ok);

	pthread_mutex_lock(&st.lock);
	c.seq = ++st.seq;
	st.requests++;
	if (c.provider == FAI_NONE)
		st.other++;
	else {
		s = &st.scripts[c.provider];
		st.prov_requests[c.provider]++;
		delay = s->delay_ms;
		params = s->params;
		if (!valid)
			st.prov_rejected[c.provider]++;
		else {
			step = s->pos < s->nsteps ? s->steps[s->pos++] : s->dflt;
			st.steps[c.provider][step]++;
		}
	}
	pthread_mutex_unlock(&st.lock);

	if (valid && step != FAI_HANG && step != FAI_CLOSE)
		fai_answer(&c, step, &params, &q->reply);
	/* Never a header or query string: they carry the keys. */
	rec = json_pack("{s:I, s:o, s:s, s:o, s:b, s:o, s:i, s:o, s:I, s:i}",
	    "seq", (json_int_t)c.seq,
	    "provider", c.provider != FAI_NONE ?
	    json_string(fai_provider_names[c.provider]) : json_null(),
	    "path", url, "model", c.model[0] != '\0' ? json_string(c.model) : json_null(),
	    "auth_ok", auth_ok,
	    "step", step >= 0 ? json_string(fai_step_names[step]) : json_null(),
	    "status", step == FAI_HANG || step == FAI_CLOSE ? 0 : (int)q->reply.status,
	    "body", body_json(body, q->body.buf, q->body.len),
	    "at_ms", (json_int_t)q->at_ms, "delay_ms", delay);
	json_decref(body);
	pthread_mutex_lock(&st.lock);
	fc_ring_push(&st.log, rec);
	pthread_mutex_unlock(&st.lock);

	if (step == FAI_HANG) {
		hold(q, R_HANG, 0);
		return (MHD_YES);
	}
	if (delay > 0) {
		q->close_after = step == FAI_CLOSE;
		hold(q, R_DELAY, fc_mono_ms() + delay);
		return (MHD_YES);
	}
	if (step == FAI_CLOSE)
		return (MHD_NO);
	return (fc_queue_reply(q->conn, &q->reply));
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
		q->at_ms = fc_wall_ms();
		q->conn = conn;
		q->fd = -1;
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
	case R_DELAY:
	case R_HANG:
		return (MHD_YES);
	default:
		break;
	}
	if (q->body.too_large) {
		fc_reply_text(&q->reply, 413, "text/plain", "too large\n");
		return (fc_queue_reply(conn, &q->reply));
	}
	if (strncmp(url, "/_fake/", 7) == 0) {
		control(conn, method, url, fc_body_str(&q->body), q->body.len,
		    &q->reply);
		return (fc_queue_reply(conn, &q->reply));
	}
	q->counted = true;
	in_flight_add(1);
	return (provider_request(q, url, method));
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
	if (q->counted)
		in_flight_add(-1);
	fc_reply_clear(&q->reply);
	fc_body_free(&q->body);
	free(q);
	*req_cls = NULL;
}

/* ==== main */

static int
usage(void)
{
	fprintf(stderr, "usage: fake_ai [--port N] [--openai-key K] [--gemini-key K] "
	    "[--compat-key K] [--threads N] [--log-max N]\n");
	return (2);
}

int
main(int argc, char **argv)
{
	static const struct fc_limits lim = { 8192, 4096, 300 };
	struct MHD_Daemon	*d;
	pthread_t		 watcher;
	sigset_t		 set;
	int			 i, port = 0, threads = 4;
	long			 log_max = 10000;
	char			*end;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
			port = atoi(argv[++i]);
		else if (strcmp(argv[i], "--openai-key") == 0 && i + 1 < argc)
			st.keys[FAI_OPENAI] = argv[++i];
		else if (strcmp(argv[i], "--gemini-key") == 0 && i + 1 < argc)
			st.keys[FAI_GEMINI] = argv[++i];
		else if (strcmp(argv[i], "--compat-key") == 0 && i + 1 < argc)
			st.keys[FAI_COMPAT] = argv[++i];
		else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
			threads = atoi(argv[++i]);
		else if (strcmp(argv[i], "--log-max") == 0 && i + 1 < argc) {
			log_max = strtol(argv[++i], &end, 10);
			if (*end != '\0')
				return (usage());
		} else
			return (usage());
	}
	if (port < 0 || port > 65535 || threads < 1 || threads > 64 ||
	    log_max < 1 || log_max > 10000000)
		return (usage());
	/* An empty OpenAI or Gemini key would accept any key: say so instead. */
	if ((st.keys[FAI_OPENAI] != NULL && *st.keys[FAI_OPENAI] == '\0') ||
	    (st.keys[FAI_GEMINI] != NULL && *st.keys[FAI_GEMINI] == '\0')) {
		fprintf(stderr, "fake_ai: --openai-key and --gemini-key cannot be empty\n");
		return (2);
	}
	if (fc_ring_init(&st.log, (size_t)log_max) == -1)
		return (1);
	json_object_seed(0);
	pthread_mutex_lock(&st.lock);
	store_reset_locked();
	pthread_mutex_unlock(&st.lock);

	/* Every thread started from here on inherits the blocked signals. */
	fc_block_signals(&set);

	if ((held.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    pthread_create(&watcher, NULL, watcher_main, NULL) != 0) {
		perror("fake_ai: watcher");
		return (1);
	}
	if ((d = fc_listen("fake_ai", port, threads, &lim, on_request,
	    on_completed)) == NULL)
		return (1);
	fc_wait_stop(&set);

	pthread_mutex_lock(&held.lock);
	held.stopping = true;
	pthread_mutex_unlock(&held.lock);
	wake_watcher();
	pthread_join(watcher, NULL);
	pthread_mutex_lock(&held.lock);
	release_locked(true, true, 0);
	pthread_mutex_unlock(&held.lock);
	MHD_stop_daemon(d);
	pthread_mutex_lock(&st.lock);
	store_reset_locked();
	pthread_mutex_unlock(&st.lock);
	for (i = 0; i < FAI_NPROVIDERS; i++) {
		free(st.scripts[i].steps);
		st.scripts[i].steps = NULL;
	}
	fc_ring_free(&st.log);
	close(held.efd);
	return (0);
}
