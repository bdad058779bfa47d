/*
 * tests/fakes/fake_stripe.c — a fake Stripe API for the billing tests: the
 * HTTP server, idempotency, the request log, the failure mode, the control
 * API and main().  Stripe's formats (form encoding, credentials,
 * validation, objects, errors) are in fake_stripe_api.c.
 *
 *   fake_stripe [--port N] [--secret-key sk_test_…] [--prices price_a,price_b]
 *               [--threads N] [--log-max N]
 *
 * Listens on 127.0.0.1 (port 0 = any free one) and prints "listening on N"
 * once it accepts connections; the base URL is http://127.0.0.1:N.
 * Endpoints: POST /v1/checkout/sessions, POST /v1/billing_portal/sessions,
 * GET /v1/checkout/sessions/{id} (a session this fake created).
 * --secret-key K: only K is accepted; without it any sk_/rk_ test or live
 * key.  --prices: the only prices a Checkout Session may use; without it
 * any "price_…".  SIGTERM or SIGINT: held connections closed, everything
 * freed, exit 0.
 *
 * Idempotency (docs.stripe.com/idempotency): the first answer to a POST
 * with an Idempotency-Key is stored once the endpoint "executes" — a
 * success, or a failure of the mode (500 and 402 too, as Stripe stores
 * 500s); a request that fails validation stores nothing.  The same key with
 * the same path and parameters replays the stored status and body byte for
 * byte with "Idempotent-Replayed: true"; other parameters or another path
 * → 400 idempotency_error; while the first request is still held ("hang")
 * → 409 idempotency_key_in_use.  A hung request that ends unanswered
 * leaves no key behind.
 *
 * Control API (never affected by the mode, no credentials):
 *   POST /_fake/mode      {"fail": "none"|"server_error"|"card_declined"|
 *                          "hang", "count": n, "endpoint": "checkout"|
 *                          "portal"|"*"}: the next n executed POSTs (-1,
 *                          the default: until changed) fail so
 *   GET  /_fake/requests  [?path=] every request, oldest first (the last
 *                          --log-max, 10,000 by default)
 *   GET  /_fake/stats     counters, held requests, keys, the mode
 *   POST /_fake/reset     empty log (seq from 1 again), keys, sessions,
 *                          counters; mode none; held connections closed
 *                          unanswered
 *
 * Threads: libmicrohttpd's pool (epoll, --threads, 4 by default) runs the
 * handlers, which never wait: a hung request is suspended and held
 * (fake_stripe_hold.c, whose watcher thread closes it when its client goes
 * away).  The store (log, keys, sessions, mode, counters) has one mutex,
 * never taken together with the held list's.  Validation and answers are
 * built under the store lock, so two requests with one key are decided one
 * after the other.
 *
 * Memory: a struct req per HTTP request owns its body and reply;
 * libmicrohttpd's completion callback frees it (and drops the key a hung
 * request reserved).  Held requests are resumed before the daemon stops.
 * The store owns its log entries, keys and sessions; GET /_fake/requests
 * takes references under the lock and dumps them outside it.  Keys never
 * reach the log, an answer or stderr.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "fake_stripe.h"

#define BODY_MAX	(1024 * 1024)
#define STRIPE_VERSION	"2025-03-31.basil"

struct req {
	struct fc_body		 body;
	int64_t			 at_ms;		/* wall clock at receive time */
	struct fc_reply		 reply;
	struct MHD_Connection	*conn;
	struct fs_hold		 hold;		/* while hung (fake_stripe_hold.c) */
	uint64_t		 idem_id;	/* key reserved while hung, or 0 */
};

/* A stored Idempotency-Key: pending while its request hangs, then done. */
struct idem {
	char		*key, *path, *params;	/* params: canonical JSON */
	uint64_t	 id;
	bool		 done;
	unsigned int	 status;
	char		*body, *request_id;
	char		*object_id;		/* what the first request created, or NULL */
	size_t		 len;
	struct idem	*next;
};

static struct {
	pthread_mutex_t	 lock;
	struct fc_ring	 log;		/* the last --log-max requests */
	uint64_t	 seq, objects, idem_ids;
	uint64_t	 requests, rejected, replayed, failed;
	uint64_t	 checkout_sessions, portal_sessions;
	struct idem	*keys;
	json_t		*sessions;	/* [checkout.session…] for retrieval */
	int		 fail;		/* enum fs_fail */
	int64_t		 fail_count;	/* -1: until changed */
	int		 fail_endpoint;	/* enum fs_endpoint, FS_NONE = all */
	const char	*want_key;	/* argv */
	char		**prices;	/* NULL-terminated, or NULL */
} st = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* ==== the store */

static void
idem_free(struct idem *e)
{
	free(e->key);
	free(e->path);
	free(e->params);
	free(e->body);
	free(e->request_id);
	free(e->object_id);
	free(e);
}

/* store_reset_locked: empty log, keys and sessions, zero counters, mode none. */
static void
store_reset_locked(void)
{
	struct idem	*e;

	fc_ring_clear(&st.log);
	while ((e = st.keys) != NULL) {
		st.keys = e->next;
		idem_free(e);
	}
	json_decref(st.sessions);
	st.sessions = json_array();
	st.seq = st.requests = st.rejected = st.replayed = st.failed = 0;
	st.checkout_sessions = st.portal_sessions = 0;
	st.fail = FS_FAIL_NONE;
	st.fail_count = -1;
	st.fail_endpoint = FS_NONE;
}

static struct idem *
idem_find_locked(const char *key)
{
	struct idem	*e;

	for (e = st.keys; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0)
			return (e);
	return (NULL);
}

static struct idem *
idem_add_locked(const char *key, const char *path, const char *params)
{
	struct idem	*e;

	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->key = strdup(key)) == NULL || (e->path = strdup(path)) == NULL ||
	    (e->params = strdup(params)) == NULL)
		abort();
	e->id = ++st.idem_ids;
	e->next = st.keys;
	st.keys = e;
	return (e);
}

/* idem_drop: forget the pending key of a hung request that ended unanswered. */
static void
idem_drop(uint64_t id)
{
	struct idem	**pp, *e;

	pthread_mutex_lock(&st.lock);
	for (pp = &st.keys; (e = *pp) != NULL; pp = &e->next)
		if (e->id == id && !e->done) {
			*pp = e->next;
			idem_free(e);
			break;
		}
	pthread_mutex_unlock(&st.lock);
}

/* take_fail_locked: the failure this executed POST gets; counts it down. */
static enum fs_fail
take_fail_locked(enum fs_endpoint ep)
{
	enum fs_fail	 f = (enum fs_fail)st.fail;

	if (f == FS_FAIL_NONE || st.fail_count == 0 ||
	    (st.fail_endpoint != FS_NONE && st.fail_endpoint != (int)ep))
		return (FS_FAIL_NONE);
	if (st.fail_count > 0 && --st.fail_count == 0)
		st.fail = FS_FAIL_NONE;
	st.failed++;
	return (f);
}

/* ==== control API */

static void
control_mode(const char *body, size_t len, struct fc_reply *r)
{
	json_t		*j = json_loadb(body, len, 0, NULL), *v;
	const char	*ep = "*";
	int		 fail, endpoint = FS_NONE;
	json_int_t	 count = -1;

	fail = fs_fail_of(json_string_value(json_object_get(j, "fail")));
	if ((v = json_object_get(j, "count")) != NULL)
		count = json_is_integer(v) ? json_integer_value(v) : -2;
	if ((v = json_object_get(j, "endpoint")) != NULL)
		ep = json_is_string(v) ? json_string_value(v) : "";
	if (strcmp(ep, "checkout") == 0)
		endpoint = FS_CHECKOUT;
	else if (strcmp(ep, "portal") == 0)
		endpoint = FS_PORTAL;
	else if (strcmp(ep, "*") != 0)
		endpoint = -2;
	if (fail < 0 || count < -1 || count > 1000000000 || endpoint == -2) {
		fc_reply_json(r, 400, json_pack("{s:s}", "error", "mode is {\"fail\": "
		    "none|server_error|card_declined|hang, \"count\": -1 or n >= 0, "
		    "\"endpoint\": checkout|portal|*}"));
		json_decref(j);
		return;
	}
	pthread_mutex_lock(&st.lock);
	st.fail = count == 0 ? FS_FAIL_NONE : fail;
	st.fail_count = count;
	st.fail_endpoint = endpoint;
	pthread_mutex_unlock(&st.lock);
	json_decref(j);
	fc_reply_json(r, 200, json_pack("{s:b}", "ok", 1));
}

static void
control_requests(struct MHD_Connection *conn, struct fc_reply *r)
{
	const char	*path = MHD_lookup_connection_value(conn,
			    MHD_GET_ARGUMENT_KIND, "path");
	json_t		*arr;

	pthread_mutex_lock(&st.lock);
	arr = fc_ring_select(&st.log, "path", path);
	pthread_mutex_unlock(&st.lock);
	fc_reply_json(r, 200, arr);
}

static json_t *
stats_json(void)
{
	json_t		*s;
	json_int_t	 keys = 0, pending = 0;
	struct idem	*e;

	pthread_mutex_lock(&st.lock);
	for (e = st.keys; e != NULL; e = e->next) {
		keys++;
		pending += !e->done;
	}
	s = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
	    " s:{s:s, s:I, s:s}}",
	    "requests", (json_int_t)st.requests, "rejected", (json_int_t)st.rejected,
	    "replayed", (json_int_t)st.replayed, "failed", (json_int_t)st.failed,
	    "checkout_sessions", (json_int_t)st.checkout_sessions,
	    "portal_sessions", (json_int_t)st.portal_sessions,
	    "idempotency_keys", keys, "pending_keys", pending,
	    "logged", (json_int_t)st.log.n,
	    "mode", "fail", fs_fail_names[st.fail], "count", (json_int_t)st.fail_count,
	    "endpoint", st.fail_endpoint == FS_CHECKOUT ? "checkout" :
	    st.fail_endpoint == FS_PORTAL ? "portal" : "*");
	if (s != NULL)
		json_object_set_new(s, "dropped", json_integer((json_int_t)st.log.dropped));
	pthread_mutex_unlock(&st.lock);
	if (s != NULL)
		json_object_set_new(s, "held", json_integer(fs_hold_count()));
	return (s);
}

static void
control(struct MHD_Connection *conn, const char *method, const char *path,
    const char *body, size_t len, struct fc_reply *r)
{
	bool	 get = strcmp(method, "GET") == 0;
	bool	 post = strcmp(method, "POST") == 0;

	if (post && strcmp(path, "/_fake/mode") == 0)
		control_mode(body, len, r);
	else if (get && strcmp(path, "/_fake/requests") == 0)
		control_requests(conn, r);
	else if (get && strcmp(path, "/_fake/stats") == 0)
		fc_reply_json(r, 200, stats_json());
	else if (post && strcmp(path, "/_fake/reset") == 0) {
		pthread_mutex_lock(&st.lock);
		store_reset_locked();
		pthread_mutex_unlock(&st.lock);
		fs_hold_release_all();
		fc_reply_json(r, 200, json_pack("{s:b}", "ok", 1));
	} else
		fc_reply_json(r, 404, json_pack("{s:s}", "error", "no such control"));
}

/* ==== the Stripe endpoints */

/* What one API request came to, for the log. */
struct outcome {
	bool		 auth_ok;
	bool		 replayed;
	bool		 hang;
	enum fs_fail	 fail;
	char		*object_id;	/* malloc'd, or NULL */
};

static void
retrieve(const char *path, struct fc_reply *r)
{
	const char	*id = strrchr(path, '/') + 1;
	json_t		*s, *found = NULL;
	size_t		 i;

	pthread_mutex_lock(&st.lock);
	json_array_foreach(st.sessions, i, s)
		if (strcmp(json_string_value(json_object_get(s, "id")), id) == 0) {
			found = json_incref(s);
			break;
		}
	pthread_mutex_unlock(&st.lock);
	if (found != NULL)
		fc_reply_json(r, 200, found);
	else
		fs_error(r, 404, "invalid_request_error", "resource_missing", "id",
		    "No such checkout.session: '%s'", id);
}

/*
 * replay_locked answers a request whose Idempotency-Key was seen: replay,
 * 409 while the first one hangs, 400 when path or parameters differ.
 */
static void
replay_locked(const struct idem *e, const char *path, const char *params,
    struct fc_reply *r, struct outcome *o)
{
	if (!e->done)
		fs_error(r, 409, "invalid_request_error", "idempotency_key_in_use", NULL,
		    "There is currently another in-progress request using this "
		    "Idempotent Key (that probably means you submitted twice, and "
		    "the other request is still going through): %s. Please try "
		    "again later.", e->key);
	else if (strcmp(e->path, path) != 0)
		fs_error(r, 400, "idempotency_error", NULL, NULL,
		    "Keys for idempotent requests can only be used for the same "
		    "endpoint they were first used for ('%s' vs '%s'). Try using a "
		    "key other than '%s' if you meant to execute a different "
		    "request.", e->path, path, e->key);
	else if (strcmp(e->params, params) != 0)
		fs_error(r, 400, "idempotency_error", NULL, NULL,
		    "Keys for idempotent requests can only be used with the same "
		    "parameters they were first used with. Try using a key other "
		    "than '%s' if you meant to execute a different request.", e->key);
	else {
		fc_reply_raw(r, e->status, "application/json", e->body, e->len);
		fc_reply_header(r, "Idempotent-Replayed", "true");
		fc_reply_header(r, "Original-Request", "%s", e->request_id);
		if (e->object_id != NULL && (o->object_id = strdup(e->object_id)) == NULL)
			abort();
		o->replayed = true;
		st.replayed++;
	}
}

/* execute_locked: a valid create request's answer — the mode's failure or the object. */
static void
execute_locked(struct fs_call *c, struct fc_reply *r, struct outcome *o)
{
	json_t	*obj;

	o->fail = take_fail_locked(c->endpoint);
	if (o->fail == FS_FAIL_HANG) {
		o->hang = true;
		return;
	}
	if (o->fail != FS_FAIL_NONE) {
		fs_fail_reply(o->fail, r);
		return;
	}
	obj = c->endpoint == FS_CHECKOUT ? fs_checkout_session(c, ++st.objects) :
	    fs_portal_session(c, ++st.objects);
	if (obj == NULL) {
		fs_error(r, 500, "api_error", NULL, NULL, "fake_stripe: out of memory");
		return;
	}
	if ((o->object_id = strdup(json_string_value(json_object_get(obj, "id")))) == NULL)
		abort();
	if (c->endpoint == FS_CHECKOUT) {
		st.checkout_sessions++;
		json_array_append(st.sessions, obj);
	} else
		st.portal_sessions++;
	fc_reply_json(r, 200, obj);
}

/*
 * create answers POST /v1/checkout/sessions and /v1/billing_portal/sessions
 * (credentials already checked): idempotency, validation, the mode, the
 * object; stores the answer under the key.  A hang reserves the key in
 * q->idem_id.
 */
static void
create(struct req *q, struct fs_call *c, const char *key, const char *params,
    const char *request_id, struct outcome *o)
{
	struct fc_reply	*r = &q->reply;
	struct idem	*e;

	if (key != NULL && (*key == '\0' || strlen(key) > FS_IDEM_KEY_MAX)) {
		fs_error(r, 400, "invalid_request_error", NULL, NULL,
		    "Invalid Idempotency-Key header: it must be 1 to %d characters "
		    "long.", FS_IDEM_KEY_MAX);
		return;
	}
	pthread_mutex_lock(&st.lock);
	if (key != NULL && (e = idem_find_locked(key)) != NULL)
		replay_locked(e, c->path, params, r, o);
	else if (fs_validate(c, r)) {
		execute_locked(c, r, o);
		if (key != NULL) {
			e = idem_add_locked(key, c->path, params);
			if (o->hang)
				q->idem_id = e->id;
			else {
				e->done = true;
				e->status = r->status;
				e->len = r->len;
				if ((e->body = strdup(r->body)) == NULL ||
				    (e->request_id = strdup(request_id)) == NULL ||
				    (o->object_id != NULL &&
				    (e->object_id = strdup(o->object_id)) == NULL))
					abort();
			}
		}
	}
	pthread_mutex_unlock(&st.lock);
}

static json_t *
log_entry(const struct req *q, const char *method, const char *url,
    const char *key, json_t *params, const struct outcome *o)
{
	return (json_pack("{s:I, s:s, s:s, s:b, s:o, s:O, s:i, s:b, s:o, s:o, s:I}",
	    "seq", (json_int_t)0, "method", method, "path", url,
	    "auth_ok", o->auth_ok,
	    "idempotency_key", key != NULL ? json_string(key) : json_null(),
	    "params", params,
	    "status", o->hang ? 0 : (int)q->reply.status,
	    "replayed", o->replayed,
	    "fail", o->fail != FS_FAIL_NONE ? json_string(fs_fail_names[o->fail]) :
	    json_null(),
	    "object_id", o->object_id != NULL ? json_string(o->object_id) : json_null(),
	    "at_ms", (json_int_t)q->at_ms));
}

/*
 * api_request answers, records and (for "hang") holds one Stripe request.
 * true: held (suspended), nothing to queue now.
 */
static bool
api_request(struct req *q, const char *url, const char *method)
{
	struct fs_call	 c;
	struct fs_form	 form;
	struct outcome	 o;
	json_t		*params, *rec;
	char		*canon, *request_id = fs_random_id("req_", 14);
	const char	*key, *ver;

	memset(&c, 0, sizeof(c));
	memset(&form, 0, sizeof(form));
	memset(&o, 0, sizeof(o));
	c.endpoint = fs_route(method, url);
	c.method = method;
	c.path = url;
	c.authorization = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND,
	    "Authorization");
	c.content_type = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND,
	    "Content-Type");
	c.form = &form;
	c.want_key = st.want_key;
	c.prices = (const char *const *)st.prices;
	key = strcmp(method, "POST") == 0 ? MHD_lookup_connection_value(q->conn,
	    MHD_HEADER_KIND, "Idempotency-Key") : NULL;
	fs_form_parse(&form, fc_body_str(&q->body), q->body.len);
	params = fs_form_json(&form);
	canon = json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS);

	if (c.endpoint == FS_NONE)
		fs_not_found(&q->reply, method, url);
	else if (!(o.auth_ok = fs_auth(&c, &q->reply)))
		;
	else if (!fs_content_type_ok(&c, q->body.len, &q->reply))
		;
	else if (c.endpoint == FS_RETRIEVE)
		retrieve(url, &q->reply);
	else
		create(q, &c, key, canon != NULL ? canon : "", request_id, &o);

	if (!o.hang) {
		fc_reply_header(&q->reply, "Request-Id", "%s", request_id);
		ver = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND,
		    "Stripe-Version");
		fc_reply_header(&q->reply, "Stripe-Version", "%s",
		    ver != NULL && strlen(ver) < 64 ? ver : STRIPE_VERSION);
		if (key != NULL && strlen(key) <= FS_IDEM_KEY_MAX)
			fc_reply_header(&q->reply, "Idempotency-Key", "%s", key);
	}
	/* Never a header: they carry the key. */
	rec = log_entry(q, method, url, key, params, &o);
	pthread_mutex_lock(&st.lock);
	st.requests++;
	if (!o.hang && q->reply.status >= 400 && o.fail == FS_FAIL_NONE && !o.replayed)
		st.rejected++;
	if (rec != NULL)
		json_object_set_new(rec, "seq", json_integer((json_int_t)++st.seq));
	fc_ring_push(&st.log, rec);
	pthread_mutex_unlock(&st.lock);
	json_decref(params);
	free(canon);
	free(request_id);
	free(o.object_id);
	fs_form_clear(&form);

	if (o.hang)
		fs_hold_add(&q->hold, q->conn);
	return (o.hang);
}

/* ==== the request handler */

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
		*req_cls = q;
		return (MHD_YES);
	}
	if (n > 0) {
		fc_body_add(&q->body, upload_data, n, BODY_MAX);
		*upload_data_size = 0;
		return (MHD_YES);
	}
	if (q->hold.closing)
		return (MHD_NO);
	if (q->hold.held)
		return (MHD_YES);
	if (q->body.too_large) {
		fs_error(&q->reply, 413, "invalid_request_error", NULL, NULL,
		    "Request too large.");
		return (fc_queue_reply(conn, &q->reply));
	}
	if (strncmp(url, "/_fake/", 7) == 0)
		control(conn, method, url, fc_body_str(&q->body), q->body.len,
		    &q->reply);
	else if (api_request(q, url, method))
		return (MHD_YES);
	return (fc_queue_reply(conn, &q->reply));
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
	if (q->idem_id != 0)
		idem_drop(q->idem_id);
	fc_reply_clear(&q->reply);
	fc_body_free(&q->body);
	free(q);
	*req_cls = NULL;
}

/* ==== main */

static int
usage(void)
{
	fprintf(stderr, "usage: fake_stripe [--port N] [--secret-key sk_test_…] "
	    "[--prices price_a,price_b] [--threads N] [--log-max N]\n");
	return (2);
}

/* split_prices: "a,b" → {"a", "b", NULL}; false when one is not price_…. */
static bool
split_prices(const char *arg)
{
	char	*copy, *tok, *save = NULL;
	size_t	 n = 0;

	if ((copy = strdup(arg)) == NULL ||
	    (st.prices = calloc(strlen(arg) + 2, sizeof(char *))) == NULL)
		abort();
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (strncmp(tok, "price_", 6) != 0 || tok[6] == '\0') {
			free(copy);
			return (false);
		}
		if ((st.prices[n++] = strdup(tok)) == NULL)
			abort();
	}
	free(copy);
	return (n > 0);
}

static void
free_prices(void)
{
	size_t	 i;

	for (i = 0; st.prices != NULL && st.prices[i] != NULL; i++)
		free(st.prices[i]);
	free(st.prices);
	st.prices = NULL;
}

int
main(int argc, char **argv)
{
	static const struct fc_limits lim = { 4096, 0, 300 };
	struct MHD_Daemon	*d;
	sigset_t		 set;
	int			 i, port = 0, threads = 4;
	long			 log_max = 10000;
	char			*end;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
			port = atoi(argv[++i]);
		else if (strcmp(argv[i], "--secret-key") == 0 && i + 1 < argc)
			st.want_key = argv[++i];
		else if (strcmp(argv[i], "--prices") == 0 && i + 1 < argc &&
		    st.prices == NULL) {
			if (!split_prices(argv[++i])) {
				fprintf(stderr, "fake_stripe: --prices is a comma-separated "
				    "list of price_… ids\n");
				free_prices();
				return (2);
			}
		} else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
			threads = atoi(argv[++i]);
		else if (strcmp(argv[i], "--log-max") == 0 && i + 1 < argc) {
			log_max = strtol(argv[++i], &end, 10);
			if (*end != '\0')
				return (usage());
		} else
			return (usage());
	}
	if (port < 0 || port > 65535 || threads < 1 || threads > 64 ||
	    log_max < 1 || log_max > 10000000) {
		free_prices();
		return (usage());
	}
	if (st.want_key != NULL && *st.want_key == '\0') {
		fprintf(stderr, "fake_stripe: --secret-key cannot be empty\n");
		free_prices();
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

	if (!fs_hold_start()) {
		perror("fake_stripe: watcher");
		return (1);
	}
	if ((d = fc_listen("fake_stripe", port, threads, &lim, on_request,
	    on_completed)) == NULL)
		return (1);
	fc_wait_stop(&set);
	fs_hold_stop();
	MHD_stop_daemon(d);
	pthread_mutex_lock(&st.lock);
	store_reset_locked();
	json_decref(st.sessions);
	st.sessions = NULL;
	pthread_mutex_unlock(&st.lock);
	free_prices();
	fc_ring_free(&st.log);
	fs_hold_free();
	return (0);
}
