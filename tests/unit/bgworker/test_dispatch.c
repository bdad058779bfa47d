/*
 * test_dispatch.c — bgworker/src/dispatch.c and refresh.c: a claimed post's
 * way through its adapter to a recorded outcome, without a database or a
 * network.
 *
 * Everything dispatch.c reaches is faked here: the adapter ("fake", a
 * script of per-step verdicts), the store (caas.dispatch_* calls, answered
 * from this file's state), the HTTP transport (calls are captured and
 * answered by the test), and the clocks (advanced by the test).  Tokens
 * are really sealed and opened with a test key ring, so the AAD binding is
 * exercised too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../suites.h"
#include "adapter.h"
#include "dispatch.h"
#include "log.h"
#include "queue.h"
#include "seal.h"

#define ORG	"11111111-1111-4111-8111-111111111111"
#define ACC	"22222222-2222-4222-8222-222222222222"
#define POST1	"33333333-3333-4333-8333-333333333331"
#define POST2	"33333333-3333-4333-8333-333333333332"
#define WALL0	1800000000000LL
#define LEASE_S	300
#define REQ_MS	10000

/* ------------------------------------------------------------ clock */

static int64_t	 now_ms;

static int64_t
t_mono(void *ctx)
{
	(void)ctx;
	return (now_ms);
}

static int64_t
t_wall(void *ctx)
{
	(void)ctx;
	return (WALL0 + now_ms);
}

static uint32_t
t_rand(void *ctx)
{
	(void)ctx;
	return (0);	/* jitter at its floor: half the nominal delay */
}

/* ---------------------------------------------------------- adapter */

struct step_script {
	enum adapter_prepare	 prep;
	enum adapter_outcome	 outcome;
	const char		*ref;
	int64_t			 continue_ms;
	int64_t			 retry_ms;
	bool			 idempotent;
	bool			 got_remote_id;	/* classify notes a remote id in the state */
};

static struct step_script	 script[DISPATCH_MAX_STEPS + 2];
static bool			 script_loop;	/* every step is script[0] */
static int			 prepares, classifies;
static int			 prepared_step[16];
static char			 seen_token[16][64];
static char			 seen_ref[64];
static enum adapter_outcome	 refresh_outcome;
static const char		*refresh_access, *refresh_refresh;
static char			 refresh_seen_token[64];

static const struct step_script *
step_of(const struct adapter_state *st)
{
	return (&script[script_loop ? 0 : st->step]);
}

static void
fill(const struct step_script *s, struct adapter_result *r)
{
	memset(r, 0, sizeof(*r));
	r->outcome = s->outcome;
	r->retry_after_ms = s->retry_ms;
	r->continue_after_ms = s->continue_ms;
	if (s->ref != NULL)
		snprintf(r->remote_ref, sizeof(r->remote_ref), "%s", s->ref);
	if (s->outcome == ADAPTER_PUBLISHED)
		snprintf(r->remote_id, sizeof(r->remote_id), "r-1");
	snprintf(r->message, sizeof(r->message), "fake says %d", (int)s->outcome);
}

static enum adapter_prepare
f_prepare(const struct adapter_post *p, struct adapter_state *st,
    struct adapter_request *req, struct adapter_result *r)
{
	const struct step_script *s = step_of(st);

	if (prepares < 16) {
		prepared_step[prepares] = st->step;
		snprintf(seen_token[prepares], sizeof(seen_token[0]), "%s",
		    p->access_token != NULL ? p->access_token : "(null)");
	}
	snprintf(seen_ref, sizeof(seen_ref), "%s", p->remote_ref != NULL ? p->remote_ref : "");
	prepares++;
	if (s->prep == ADAPTER_DONE) {
		fill(s, r);
		if (s->outcome == ADAPTER_CONTINUE)
			st->step++;
		return (ADAPTER_DONE);
	}
	snprintf(req->method, sizeof(req->method), "POST");
	snprintf(req->url, sizeof(req->url), "http://fake.invalid/step%d", st->step);
	req->headers = curl_slist_append(req->headers, "Authorization: Bearer x");
	req->idempotent = s->idempotent;
	return (ADAPTER_SEND);
}

static void
f_classify(const struct adapter_post *p, struct adapter_state *st,
    const struct adapter_response *resp, struct adapter_result *r)
{
	const struct step_script *s = step_of(st);

	(void)p;
	(void)resp;
	classifies++;
	fill(s, r);
	if (s->got_remote_id)
		snprintf(st->remote_id, sizeof(st->remote_id), "m-9");
	if (s->outcome == ADAPTER_CONTINUE)
		st->step++;
}

static enum adapter_prepare
f_refresh_prepare(const struct adapter_account *a, struct adapter_request *req,
    struct adapter_tokens *t)
{
	(void)t;
	snprintf(refresh_seen_token, sizeof(refresh_seen_token), "%s",
	    a->refresh_token != NULL ? a->refresh_token : "(null)");
	snprintf(req->method, sizeof(req->method), "POST");
	snprintf(req->url, sizeof(req->url), "http://fake.invalid/token");
	return (ADAPTER_SEND);
}

static void
f_refresh_classify(const struct adapter_account *a,
    const struct adapter_response *resp, struct adapter_tokens *t)
{
	(void)a;
	(void)resp;
	t->outcome = refresh_outcome;
	snprintf(t->access_token, sizeof(t->access_token), "%s", refresh_access);
	snprintf(t->refresh_token, sizeof(t->refresh_token), "%s", refresh_refresh);
	t->expires_in_s = 7200;
	t->refresh_expires_in_s = -1;
	snprintf(t->message, sizeof(t->message), "refresh said %d", (int)refresh_outcome);
}

static const struct caas_adapter fake_adapter = {
	.name = "fake",
	.prepare = f_prepare,
	.classify = f_classify,
	.refresh_prepare = f_refresh_prepare,
	.refresh_classify = f_refresh_classify,
};

static const struct caas_adapter *
find_fake(const char *platform)
{
	return (strcmp(platform, "fake") == 0 ? &fake_adapter : NULL);
}

/* -------------------------------------------------------- transport */

static struct http_call	*calls[32];
static int		 ncalls, cancels;
static char		 call_url[32][ADAPTER_URL_MAX];
static int		 xfer_token;	/* a non-NULL "in flight" mark */

static int
t_send(void *ctx, struct http_call *c, char *err, size_t errlen)
{
	(void)ctx;
	(void)err;
	(void)errlen;
	ck_assert_int_lt(ncalls, 32);
	snprintf(call_url[ncalls], sizeof(call_url[0]), "%s", c->req.url);
	calls[ncalls++] = c;
	c->xfer = (struct http_xfer *)(void *)&xfer_token;
	return (0);
}

static void
t_cancel(void *ctx, struct http_call *c)
{
	(void)ctx;
	cancels++;
	c->xfer = NULL;
}

static const char *
no_header(const struct adapter_response *r, const char *name)
{
	(void)r;
	(void)name;
	return (NULL);
}

/* answer completes captured call i with status (0: no answer). */
static void
answer(int i, long status, bool sent)
{
	struct adapter_response	 resp;
	struct http_call	*c = calls[i];

	ck_assert_ptr_nonnull(c->xfer);
	memset(&resp, 0, sizeof(resp));
	resp.status = status;
	resp.sent = sent;
	resp.body = "";
	resp.transport_error = status == 0 ? "no answer (test)" : NULL;
	resp.now_ms = WALL0 + now_ms;
	resp.header = no_header;
	c->xfer = NULL;
	c->done(c, &resp);
}

/* ------------------------------------------------------------ store */

enum poll_mode { POLL_OK, POLL_WAIT, POLL_DOWN, POLL_CA002_FIRST };

static bool		 store_down;
static const char	*progress_refuse;	/* SQLSTATE, or NULL */
static int		 progress_calls;
static char		 progress_ref[64];
static int		 sends, last_slot;
static bool		 send_breaks;	/* the connection breaks as outcomes go */
static size_t		 sent_n;
static char		 sent_outcome[8][16], sent_post[8][40], sent_msg[8][600];
static char		 sent_remote_id[8][64];
static int64_t		 sent_retry[8];
static long		 sent_status[8];
static enum poll_mode	 poll_mode;
static bool		 account_leased;
static int		 refresh_account_calls;
static int		 token_stores, token_fails;
static char		 stored_access[64], stored_refresh[64];
static bool		 stored_refresh_null, failed_reauth;
static struct seal_ring	 ring;
static char		 access_b64[256], refresh_b64[256];

static void
refuse(struct queue_error *qerr, const char *state)
{
	snprintf(qerr->sqlstate, sizeof(qerr->sqlstate), "%s", state);
	snprintf(qerr->message, sizeof(qerr->message), "refused (test)");
}

static int
s_progress(void *ctx, const char *org, const char *post, int attempt,
    const char *ref, int lease, struct queue_error *qerr)
{
	(void)ctx;
	(void)org;
	(void)post;
	(void)attempt;
	ck_assert_int_eq(lease, LEASE_S);
	if (store_down)
		return (QUEUE_DOWN);
	progress_calls++;
	snprintf(progress_ref, sizeof(progress_ref), "%s", ref);
	if (progress_refuse != NULL) {
		refuse(qerr, progress_refuse);
		return (QUEUE_REFUSED);
	}
	return (QUEUE_OK);
}

static bool
s_record_up(void *ctx, int slot)
{
	(void)ctx;
	(void)slot;
	return (!store_down);
}

static int
s_record_send(void *ctx, int slot, const struct queue_outcome *out, size_t n,
    struct queue_error *qerr)
{
	size_t	 i;

	(void)ctx;
	(void)qerr;
	if (store_down || send_breaks)
		return (QUEUE_DOWN);
	sends++;
	last_slot = slot;
	sent_n = n;
	for (i = 0; i < n && i < 8; i++) {
		snprintf(sent_outcome[i], sizeof(sent_outcome[0]), "%s", out[i].outcome);
		snprintf(sent_post[i], sizeof(sent_post[0]), "%s", out[i].post_id);
		snprintf(sent_msg[i], sizeof(sent_msg[0]), "%s",
		    out[i].error_message != NULL ? out[i].error_message : "");
		snprintf(sent_remote_id[i], sizeof(sent_remote_id[0]), "%s",
		    out[i].remote_id != NULL ? out[i].remote_id : "");
		sent_retry[i] = out[i].retry_at_ms;
		sent_status[i] = out[i].http_status;
	}
	return (QUEUE_OK);
}

static int
s_record_poll(void *ctx, int slot, struct queue_recorded *res, size_t n,
    bool *ready, struct queue_error *qerr)
{
	size_t	 i;

	(void)ctx;
	(void)slot;
	(void)qerr;
	*ready = false;
	if (poll_mode == POLL_WAIT)
		return (QUEUE_OK);
	if (poll_mode == POLL_DOWN)
		return (QUEUE_DOWN);
	for (i = 0; i < n; i++) {
		res[i].ok = !(poll_mode == POLL_CA002_FIRST && i == 0);
		snprintf(res[i].state, sizeof(res[i].state), "%s", res[i].ok ? "published" : "");
		snprintf(res[i].sqlstate, sizeof(res[i].sqlstate), "%s", res[i].ok ? "" : "CA002");
	}
	*ready = true;
	return (QUEUE_OK);
}

static int
s_refresh_account(void *ctx, const char *org, const char *account, int lease,
    queue_account_fn fn, void *arg, bool *found, struct queue_error *qerr)
{
	struct queue_account	 row;

	(void)ctx;
	(void)lease;
	(void)qerr;
	if (store_down)
		return (QUEUE_DOWN);
	refresh_account_calls++;
	*found = account_leased;
	if (!account_leased)
		return (QUEUE_OK);
	memset(&row, 0, sizeof(row));
	row.org_id = org;
	row.account_id = account;
	row.platform = "fake";
	row.external_id = "ext-1";
	row.token_key_id = "k1";
	row.access_token_enc = access_b64;
	row.refresh_token_enc = refresh_b64;
	fn(arg, &row);
	return (QUEUE_OK);
}

static void
open_sealed(const uint8_t *enc, size_t len, const char *kind, char *out, size_t outlen)
{
	ck_assert_int_ge(seal_open(&ring, "k1", ORG, "fake:ext-1", kind, enc, len, out, outlen), 0);
}

static int
s_token_store(void *ctx, const char *org, const char *account,
    const uint8_t *a, size_t alen, const uint8_t *r, size_t rlen,
    const char *kid, int64_t exp, int64_t rexp, struct queue_error *qerr)
{
	(void)ctx;
	(void)rexp;
	(void)qerr;
	if (store_down)
		return (QUEUE_DOWN);
	ck_assert_str_eq(org, ORG);
	ck_assert_str_eq(account, ACC);
	ck_assert_str_eq(kid, "k1");
	ck_assert_int_eq(exp, WALL0 + now_ms + 7200 * 1000);
	token_stores++;
	open_sealed(a, alen, "access", stored_access, sizeof(stored_access));
	stored_refresh_null = r == NULL;
	if (r != NULL)
		open_sealed(r, rlen, "refresh", stored_refresh, sizeof(stored_refresh));
	return (QUEUE_OK);
}

static int
s_token_failed(void *ctx, const char *org, const char *account, bool reauth,
    const char *message, struct queue_error *qerr)
{
	(void)ctx;
	(void)org;
	(void)account;
	(void)message;
	(void)qerr;
	if (store_down)
		return (QUEUE_DOWN);
	token_fails++;
	failed_reauth = reauth;
	return (QUEUE_OK);
}

/* ---------------------------------------------------------- fixture */

static struct dispatch	 d;
static char		 last_log[1024];
static int		 record_slots = 1;

static void
quiet(enum log_level level, const char *line)
{
	(void)level;
	snprintf(last_log, sizeof(last_log), "%s", line);
}

static void
seal_b64(const char *kind, const char *plain, char *out, size_t outlen)
{
	uint8_t		 sealed[256];
	long		 n;

	/* Sealed for the account's identity "<platform>:<external_id>". */
	n = seal_token(&ring, ORG, "fake:ext-1", kind, plain, strlen(plain), sealed, sizeof(sealed));
	ck_assert_int_gt(n, 0);
	ck_assert_int_gt(seal_b64_encode(sealed, (size_t)n, out, outlen), 0);
}

static void
setup_dispatch(void)
{
	struct dispatch_params	 p;
	struct dispatch_store	 store = { NULL, s_progress, s_record_up, s_record_send,
	    s_record_poll, s_refresh_account, s_token_store, s_token_failed };
	struct http_transport	 http = { NULL, t_send, t_cancel };
	struct dispatch_env	 env = { NULL, t_mono, t_wall, t_rand };
	char			 err[128];

	memset(script, 0, sizeof(script));
	script_loop = false;
	prepares = classifies = ncalls = cancels = 0;
	memset(prepared_step, 0, sizeof(prepared_step));
	store_down = send_breaks = false;
	progress_refuse = NULL;
	progress_calls = sends = refresh_account_calls = token_stores = token_fails = 0;
	sent_n = 0;
	poll_mode = POLL_OK;
	account_leased = true;
	refresh_outcome = ADAPTER_PUBLISHED;
	refresh_access = "tok-new";
	refresh_refresh = "";
	stored_access[0] = stored_refresh[0] = '\0';
	now_ms = 1000;
	last_log[0] = '\0';
	log_set_sink(quiet);

	ck_assert_int_eq(seal_ring_parse(&ring,
	    "k1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=", "k1", err, sizeof(err)), 0);
	seal_b64("access", "tok-1", access_b64, sizeof(access_b64));
	seal_b64("refresh", "rtok-1", refresh_b64, sizeof(refresh_b64));

	memset(&p, 0, sizeof(p));
	p.name = "test";
	p.lease_seconds = LEASE_S;
	p.request_timeout_ms = REQ_MS;
	p.backoff.base_ms = 1000;
	p.backoff.cap_ms = 60000;
	p.backoff.hint_max_ms = 3600000;
	p.ring = &ring;
	p.record_slots = record_slots;
	p.find_adapter = find_fake;
	dispatch_init(&d, &p, &store, &http, &env);
}

static void
setup(void)
{
	setup_dispatch();
}

static void
teardown(void)
{
	dispatch_cleanup(&d);
	ck_assert_int_eq(d.jobs, 0);
	seal_ring_clear(&ring);
	log_set_sink(NULL);
}

/* claim hands dispatch.c one claimed post. */
static void
claim(const char *post, const char *platform, const char *status,
    const char *access, const char *refresh, const char *remote_ref)
{
	struct queue_post	 row;

	memset(&row, 0, sizeof(row));
	row.org_id = ORG;
	row.post_id = post;
	row.account_id = ACC;
	row.platform = platform;
	row.external_id = "ext-1";
	row.handle = "@h";
	row.account_status = status;
	row.token_key_id = "k1";
	row.access_token_enc = access;
	row.refresh_token_enc = refresh;
	row.text = "hello";
	row.remote_ref = remote_ref;
	row.attempt = 1;
	row.attempts = 1;
	row.max_attempts = 3;
	ck_assert_int_eq(dispatch_claimed(&d, &row), 0);
}

static void
claim_ok(const char *post)
{
	claim(post, "fake", "connected", access_b64, refresh_b64, NULL);
}

/* record flushes, then answers the record call as poll_mode says. */
static void
record(void)
{
	ck_assert_int_eq(dispatch_flush(&d), 0);
	dispatch_collect(&d);
}

/* --------------------------------------------------------------- tests */

START_TEST(test_done_without_request_is_recorded)
{
	script[0] = (struct step_script){ ADAPTER_DONE, ADAPTER_PUBLISHED, NULL, 0, -1, false, false };
	claim_ok(POST1);
	dispatch_run(&d);
	ck_assert_int_eq(ncalls, 0);
	ck_assert_int_eq(d.counts[JOB_DONE], 1);
	record();
	ck_assert_int_eq(sends, 1);
	ck_assert_uint_eq(sent_n, 1);
	ck_assert_str_eq(sent_outcome[0], "published");
	ck_assert_str_eq(sent_post[0], POST1);
	ck_assert_str_eq(sent_remote_id[0], "r-1");
	ck_assert_str_eq(sent_msg[0], "");
	ck_assert_int_eq(d.jobs, 0);
	ck_assert_uint_eq(d.stats.published, 1);
	ck_assert_uint_eq(d.stats.claimed, 1);
}
END_TEST

START_TEST(test_account_not_connected_needs_reauth_without_a_call)
{
	claim(POST1, "fake", "needs_reauth", access_b64, refresh_b64, NULL);
	dispatch_run(&d);
	ck_assert_int_eq(prepares, 0);
	record();
	ck_assert_str_eq(sent_outcome[0], "needs_reauth");
	ck_assert_ptr_nonnull(strstr(sent_msg[0], "needs_reauth"));
}
END_TEST

START_TEST(test_unknown_platform_is_retryable)
{
	claim(POST1, "mastodon", "connected", access_b64, refresh_b64, NULL);
	record();
	ck_assert_str_eq(sent_outcome[0], "retryable");
	/* attempt 1, base 1 s, jitter floor: half of it. */
	ck_assert_int_eq(sent_retry[0], WALL0 + now_ms + 500);
	ck_assert_int_eq(prepares, 0);
}
END_TEST

START_TEST(test_claimed_ahead_is_held_until_its_instant)
{
	struct queue_post	 row;

	script[0] = (struct step_script){ ADAPTER_DONE, ADAPTER_PUBLISHED, NULL, 0, -1, false, false };
	memset(&row, 0, sizeof(row));
	row.org_id = ORG;
	row.post_id = POST1;
	row.account_id = ACC;
	row.platform = "fake";
	row.external_id = "ext-1";
	row.account_status = "connected";
	row.token_key_id = "k1";
	row.access_token_enc = access_b64;
	row.text = "hello";
	row.attempt = row.attempts = 1;
	row.max_attempts = 3;
	row.start_in_us = 24500;	/* due in 24.5 ms: held 25 ms */
	ck_assert_int_eq(dispatch_claimed(&d, &row), 0);
	dispatch_run(&d);
	ck_assert_int_eq(prepares, 0);
	now_ms += 24;
	dispatch_run(&d);
	ck_assert_int_eq(prepares, 0);
	now_ms += 1;
	dispatch_run(&d);
	ck_assert_int_eq(prepares, 1);
}
END_TEST

START_TEST(test_token_is_opened_for_the_adapter)
{
	script[0] = (struct step_script){ ADAPTER_DONE, ADAPTER_PUBLISHED, NULL, 0, -1, false, false };
	claim_ok(POST1);
	dispatch_run(&d);
	ck_assert_str_eq(seen_token[0], "tok-1");
}
END_TEST

START_TEST(test_token_of_another_row_does_not_open)
{
	char	 other[256];
	uint8_t	 sealed[128];
	long	 n;

	/* Sealed for another account (fake:ext-2): the AAD differs, the tag fails. */
	n = seal_token(&ring, ORG, "fake:ext-2", "access",
	    "tok-x", 5, sealed, sizeof(sealed));
	ck_assert_int_gt(seal_b64_encode(sealed, (size_t)n, other, sizeof(other)), 0);
	claim(POST1, "fake", "connected", other, refresh_b64, NULL);
	dispatch_run(&d);
	ck_assert_int_eq(prepares, 0);
	record();
	ck_assert_str_eq(sent_outcome[0], "needs_reauth");
	ck_assert_ptr_null(strstr(sent_msg[0], "tok-"));
}
END_TEST

START_TEST(test_unknown_key_is_retryable)
{
	struct queue_post	 row;

	memset(&row, 0, sizeof(row));
	row.org_id = ORG;
	row.post_id = POST1;
	row.account_id = ACC;
	row.platform = "fake";
	row.external_id = "e";
	row.token_key_id = "k9";
	row.access_token_enc = access_b64;
	row.attempt = row.attempts = 1;
	ck_assert_int_eq(dispatch_claimed(&d, &row), 0);
	record();
	ck_assert_str_eq(sent_outcome[0], "retryable");
	ck_assert_ptr_nonnull(strstr(sent_msg[0], "k9"));
}
END_TEST

START_TEST(test_request_answered_published)
{
	script[0] = (struct step_script){ ADAPTER_SEND, ADAPTER_PUBLISHED, NULL, 0, -1, false, false };
	claim_ok(POST1);
	dispatch_run(&d);
	ck_assert_int_eq(ncalls, 1);
	ck_assert_str_eq(call_url[0], "http://fake.invalid/step0");
	ck_assert_int_eq(d.counts[JOB_HTTP], 1);
	ck_assert_int_eq(dispatch_busy(&d), 1);
	answer(0, 201, true);
	/* The request (its Authorization header) is gone with the answer. */
	ck_assert_ptr_null(calls[0]->req.headers);
	record();
	ck_assert_str_eq(sent_outcome[0], "published");
	ck_assert_int_eq(sent_status[0], 201);
}
END_TEST

START_TEST(test_retry_honours_a_longer_hint)
{
	script[0] = (struct step_script){ ADAPTER_SEND, ADAPTER_RETRY, NULL, 0, 120000, false, false };
	claim_ok(POST1);
	dispatch_run(&d);
	answer(0, 429, true);
	record();
	ck_assert_str_eq(sent_outcome[0], "retryable");
	ck_assert_int_eq(sent_retry[0], WALL0 + now_ms + 120000);
	ck_assert_uint_eq(d.stats.retried, 1);
}
END_TEST

START_TEST(test_unanswered_post_is_unknown_even_if_adapter_says_retry)
{
	script[0] = (struct step_script){ ADAPTER_SEND, ADAPTER_RETRY, NULL, 0, -1, false, false };
	claim_ok(POST1);
	dispatch_run(&d);
	answer(0, 0, true);
	record();
	ck_assert_str_eq(sent_outcome[0], "unknown");
}
END_TEST

START_TEST(test_unsent_failure_stays_retryable)
{
	script[0] = (struct step_script){ ADAPTER_SEND, ADAPTER_RETRY, NULL, 0, -1, false, false };
	claim_ok(POST1);
	dispatch_run(&d);
	answer(0, 0, false);
	record();
	ck_assert_str_eq(sent_outcome[0], "retryable");
}
END_TEST

START_TEST(test_unanswered_idempotent_read_may_retry)
{
	script[0] = (struct step_script){ ADAPTER_SEND, ADAPTER_RETRY, NULL, 0, -1, true, false };
	claim_ok(POST1);
	dispatch_run(&d);
	answer(0, 0, true);
	record();
	ck_assert_str_eq(sent_outcome[0], "retryable");
}
END_TEST

START_TEST(test_reference_is_stored_before_the_next_request)
{
	script[0] = (struct step_script){ ADAPTER_SEND, ADAPTER_CONTINUE, "c-1", 0, -1, false, false };
	script[1] = (struct step_script){ ADAPTER_SEND, ADAPTER_PUBLISHED, NULL, 0, -1, false, false };
	claim_ok(POST1);
	dispatch_run(&d);
	answer(0, 200, true);
	ck_assert_int_eq(d.counts[JOB_PROGRESS], 1);
	dispatch_run(&d);
	ck_assert_int_eq(ncalls, 1);		/* not before the reference is safe */

	store_down = true;
	ck_assert_int_eq(dispatch_flush(&d), -1);
	dispatch_run(&d);
	ck_assert_int_eq(ncalls, 1);		/* still not */
	ck_assert_int_eq(d.counts[JOB_PROGRESS], 1);

	store_down = false;
	ck_assert_int_eq(dispatch_flush(&d), 0);
	ck_assert_int_eq(progress_calls, 1);
	ck_assert_str_eq(progress_ref, "c-1");
	dispatch_run(&d);
	ck_assert_int_eq(ncalls, 2);
	ck_assert_str_eq(call_url[1], "http://fake.invalid/step1");
	ck_assert_str_eq(seen_ref, "c-1");
	answer(1, 200, true);
	record();
	ck_assert_str_eq(sent_outcome[0], "published");
}
END_TEST

START_TEST(test_reference_with_a_final_outcome_is_stored_first)
{
	script[0] = (struct step_script){ ADAPTER_SEND, ADAPTER_UNKNOWN, "c-9", 0, -1, false, false };
	claim_ok(POST1);
	dispatch_run(&d);
	answer(0, 0, true);
	ck_assert_int_eq(d.counts[JOB_PROGRESS], 1);
	record();
	ck_assert_int_eq(progress_calls, 1);
	ck_assert_str_eq(progress_ref, "c-9");
	ck_assert_str_eq(sent_outcome[0], "unknown");
}
END_TEST

START_TEST(test_lost_lease_on_progress_drops_the_job)
{
	script[0] = (struct step_script){ ADAPTER_SEND, ADAPTER_CONTINUE, "c-1", 0, -1, false, false };
	claim_ok(POST1);
	dispatch_run(&d);
	answer(0, 200, true);
	progress_refuse = "CA002";
	ck_assert_int_eq(dispatch_flush(&d), 0);
	ck_assert_int_eq(d.jobs, 0);
	ck_assert_uint_eq(d.stats.lost, 1);
	dispatch_run(&d);
	ck_assert_int_eq(ncalls, 1);
}
END_TEST

START_TEST(test_continue_waits_for_its_delay)
{
	script[0] = (struct step_script){ ADAPTER_SEND, ADAPTER_CONTINUE, NULL, 500, -1, true, false };
	script[1] = (struct step_script){ ADAPTER_SEND, ADAPTER_PUBLISHED, NULL, 0, -1, false, false };
	claim_ok(POST1);
	dispatch_run(&d);
	answer(0, 200, true);
	ck_assert_int_eq(dispatch_next_step(&d), now_ms + 500);
	now_ms += 499;
	dispatch_run(&d);
	ck_assert_int_eq(ncalls, 1);
	now_ms += 1;
	dispatch_run(&d);
	ck_assert_int_eq(ncalls, 2);
	ck_assert_int_eq(dispatch_next_step(&d), -1);
}
END_TEST

START_TEST(test_refused_token_is_refreshed_and_the_step_retried)
{
	script[0] = (struct step_script){ ADAPTER_SEND, ADAPTER_REAUTH, NULL, 0, -1, false, false };
	claim_ok(POST1);
	dispatch_run(&d);
	answer(0, 401, true);
	ck_assert_int_eq(d.counts[JOB_REFRESH], 1);

	ck_assert_int_eq(dispatch_flush(&d), 0);	/* leases the account, asks for tokens */
	ck_assert_int_eq(refresh_account_calls, 1);
	ck_assert_int_eq(ncalls, 2);
	ck_assert_str_eq(call_url[1], "http://fake.invalid/token");
	ck_assert_str_eq(refresh_seen_token, "rtok-1");
	answer(1, 200, true);
	ck_assert_int_eq(dispatch_flush(&d), 0);	/* stores them */
	ck_assert_int_eq(token_stores, 1);
	ck_assert_str_eq(stored_access, "tok-new");
	/* No new refresh token, same key: the stored one is kept (NULL). */
	ck_assert(stored_refresh_null);
	ck_assert_uint_eq(d.stats.refreshed, 1);

	script[0].outcome = ADAPTER_PUBLISHED;
	dispatch_run(&d);
	ck_assert_int_eq(ncalls, 3);
	ck_assert_int_eq(prepared_step[1], 0);		/* the same step again */
	ck_assert_str_eq(seen_token[1], "tok-new");
	answer(2, 201, true);
	record();
	ck_assert_str_eq(sent_outcome[0], "published");
}
END_TEST

START_TEST(test_second_refusal_needs_reauth)
{
	script[0] = (struct step_script){ ADAPTER_SEND, ADAPTER_REAUTH, NULL, 0, -1, false, false };
	claim_ok(POST1);
	dispatch_run(&d);
	answer(0, 401, true);
	dispatch_flush(&d);
	answer(1, 200, true);
	dispatch_flush(&d);
	dispatch_run(&d);
	answer(2, 401, true);
	ck_assert_int_eq(d.counts[JOB_DONE], 1);
	record();
	ck_assert_str_eq(sent_outcome[0], "needs_reauth");
	ck_assert_int_eq(refresh_account_calls, 1);
}
END_TEST

START_TEST(test_refresh_refused_marks_the_account)
{
	script[0] = (struct step_script){ ADAPTER_SEND, ADAPTER_REAUTH, NULL, 0, -1, false, false };
	refresh_outcome = ADAPTER_REAUTH;
	claim_ok(POST1);
	dispatch_run(&d);
	answer(0, 401, true);
	dispatch_flush(&d);
	answer(1, 400, true);
	record();
	ck_assert_int_eq(token_fails, 1);
	ck_assert(failed_reauth);
	ck_assert_int_eq(token_stores, 0);
	ck_assert_str_eq(sent_outcome[0], "needs_reauth");
	ck_assert_str_eq(sent_msg[0], "fake says 2; token refresh: refresh said 2");
}
END_TEST

START_TEST(test_refresh_failing_transiently_retries_the_post)
{
	script[0] = (struct step_script){ ADAPTER_SEND, ADAPTER_REAUTH, NULL, 0, -1, false, false };
	refresh_outcome = ADAPTER_RETRY;
	claim_ok(POST1);
	dispatch_run(&d);
	answer(0, 401, true);
	dispatch_flush(&d);
	answer(1, 503, true);
	record();
	ck_assert_int_eq(token_fails, 1);
	ck_assert(!failed_reauth);
	ck_assert_str_eq(sent_outcome[0], "retryable");
}
END_TEST

START_TEST(test_new_refresh_token_is_sealed_and_stored)
{
	script[0] = (struct step_script){ ADAPTER_SEND, ADAPTER_REAUTH, NULL, 0, -1, false, false };
	refresh_refresh = "rtok-2";
	claim_ok(POST1);
	dispatch_run(&d);
	answer(0, 401, true);
	dispatch_flush(&d);
	answer(1, 200, true);
	dispatch_flush(&d);
	ck_assert(!stored_refresh_null);
	ck_assert_str_eq(stored_refresh, "rtok-2");
}
END_TEST

START_TEST(test_jobs_of_one_account_share_one_refresh)
{
	script[0] = (struct step_script){ ADAPTER_SEND, ADAPTER_REAUTH, NULL, 0, -1, false, false };
	claim_ok(POST1);
	claim_ok(POST2);
	dispatch_run(&d);
	answer(0, 401, true);
	answer(1, 401, true);
	ck_assert_int_eq(d.counts[JOB_REFRESH], 2);
	dispatch_flush(&d);
	ck_assert_int_eq(refresh_account_calls, 1);
	answer(2, 200, true);
	dispatch_flush(&d);
	ck_assert_int_eq(d.counts[JOB_READY], 2);
	ck_assert_int_eq(token_stores, 1);
}
END_TEST

START_TEST(test_refresh_held_elsewhere_gives_the_post_back)
{
	script[0] = (struct step_script){ ADAPTER_SEND, ADAPTER_REAUTH, NULL, 0, -1, false, false };
	account_leased = false;
	claim_ok(POST1);
	dispatch_run(&d);
	answer(0, 401, true);
	record();
	ck_assert_str_eq(sent_outcome[0], "retryable");
	ck_assert_int_eq(ncalls, 1);
}
END_TEST

START_TEST(test_no_refresh_token_needs_reauth_at_once)
{
	script[0] = (struct step_script){ ADAPTER_SEND, ADAPTER_REAUTH, NULL, 0, -1, false, false };
	claim(POST1, "fake", "connected", access_b64, NULL, NULL);
	dispatch_run(&d);
	answer(0, 401, true);
	record();
	ck_assert_int_eq(refresh_account_calls, 0);
	ck_assert_str_eq(sent_outcome[0], "needs_reauth");
}
END_TEST

START_TEST(test_outcomes_survive_a_database_outage)
{
	script[0] = (struct step_script){ ADAPTER_DONE, ADAPTER_PUBLISHED, NULL, 0, -1, false, false };
	claim_ok(POST1);
	dispatch_run(&d);
	store_down = true;
	dispatch_flush(&d);
	ck_assert_int_eq(d.counts[JOB_DONE], 1);
	ck_assert_int_eq(sends, 0);
	ck_assert(!dispatch_to_record(&d));	/* no connection: nothing to do now */
	store_down = false;
	ck_assert(dispatch_to_record(&d));
	send_breaks = true;
	ck_assert_int_eq(dispatch_flush(&d), -1);
	ck_assert_int_eq(d.counts[JOB_DONE], 1);
	ck_assert_uint_eq(d.recording, 0);
	send_breaks = false;
	record();
	ck_assert_int_eq(d.jobs, 0);
	ck_assert_uint_eq(d.stats.published, 1);
}
END_TEST

START_TEST(test_one_record_call_in_flight_at_a_time)
{
	script[0] = (struct step_script){ ADAPTER_DONE, ADAPTER_PUBLISHED, NULL, 0, -1, false, false };
	claim_ok(POST1);
	dispatch_run(&d);
	poll_mode = POLL_WAIT;
	record();
	ck_assert_int_eq(d.counts[JOB_RECORDING], 1);
	claim_ok(POST2);
	dispatch_run(&d);
	record();
	ck_assert_int_eq(sends, 1);		/* the second waits its turn */
	ck_assert(!dispatch_to_record(&d));
	poll_mode = POLL_OK;
	record();				/* collects the first */
	ck_assert_int_eq(d.counts[JOB_DONE], 1);
	record();
	ck_assert_int_eq(sends, 2);
	ck_assert_int_eq(d.jobs, 0);
	ck_assert_uint_eq(d.stats.published, 2);
}
END_TEST

START_TEST(test_outcomes_are_shared_between_recording_slots)
{
	dispatch_cleanup(&d);
	record_slots = 2;
	setup_dispatch();
	record_slots = 1;
	script[0] = (struct step_script){ ADAPTER_DONE, ADAPTER_PUBLISHED, NULL, 0, -1, false, false };
	claim_ok(POST1);
	claim_ok(POST2);
	dispatch_run(&d);
	poll_mode = POLL_WAIT;
	ck_assert_int_eq(dispatch_flush(&d), 0);
	ck_assert_int_eq(sends, 2);		/* one call per slot, in parallel */
	ck_assert_int_eq(last_slot, 1);
	ck_assert_uint_eq(sent_n, 1);
	ck_assert(dispatch_slot_busy(&d, 0));
	ck_assert(dispatch_slot_busy(&d, 1));
	ck_assert_uint_eq(d.recording, 2);
	poll_mode = POLL_OK;
	dispatch_collect(&d);
	ck_assert_int_eq(d.jobs, 0);
	ck_assert_uint_eq(d.recording, 0);
	ck_assert_uint_eq(d.stats.published, 2);
}
END_TEST

START_TEST(test_lost_answer_then_refusal_is_not_counted_lost)
{
	script[0] = (struct step_script){ ADAPTER_DONE, ADAPTER_PUBLISHED, NULL, 0, -1, false, false };
	claim_ok(POST1);
	dispatch_run(&d);
	poll_mode = POLL_DOWN;
	record();
	ck_assert_int_eq(d.counts[JOB_DONE], 1);	/* back, to send again */
	poll_mode = POLL_CA002_FIRST;
	record();
	ck_assert_int_eq(d.jobs, 0);
	ck_assert_uint_eq(d.stats.lost, 0);
}
END_TEST

START_TEST(test_refused_outcome_is_counted_lost)
{
	script[0] = (struct step_script){ ADAPTER_DONE, ADAPTER_PUBLISHED, NULL, 0, -1, false, false };
	claim_ok(POST1);
	dispatch_run(&d);
	poll_mode = POLL_CA002_FIRST;
	record();
	ck_assert_int_eq(d.jobs, 0);
	ck_assert_uint_eq(d.stats.lost, 1);
	ck_assert_ptr_nonnull(strstr(last_log, "published as r-1 but not recorded"));
}
END_TEST

START_TEST(test_stop_gives_back_unsent_steps_and_waits_for_answers)
{
	script[0] = (struct step_script){ ADAPTER_SEND, ADAPTER_PUBLISHED, NULL, 0, -1, false, false };
	claim_ok(POST1);
	dispatch_run(&d);			/* POST1 in flight */
	script[0] = (struct step_script){ ADAPTER_SEND, ADAPTER_CONTINUE, NULL, 60000, -1, true, false };
	claim_ok(POST2);
	dispatch_run(&d);
	answer(1, 200, true);			/* POST2 waits a minute for step 1 */
	dispatch_stop(&d);
	dispatch_run(&d);
	ck_assert_int_eq(ncalls, 2);		/* nothing new starts */
	ck_assert_int_eq(d.counts[JOB_DONE], 1);
	ck_assert_int_eq(dispatch_busy(&d), 1);
	script[0] = (struct step_script){ ADAPTER_SEND, ADAPTER_PUBLISHED, NULL, 0, -1, false, false };
	answer(0, 201, true);
	record();
	ck_assert_uint_eq(sent_n, 2);
	ck_assert_str_eq(sent_outcome[0], "retryable");
	ck_assert_str_eq(sent_post[0], POST2);
	ck_assert_int_eq(sent_retry[0], WALL0 + now_ms);
	ck_assert_str_eq(sent_outcome[1], "published");
	ck_assert_int_eq(d.jobs, 0);
}
END_TEST

START_TEST(test_stop_after_the_publishing_step_records_published)
{
	/* Published by step 0; step 1 (a permalink, a minute later) is left. */
	script[0] = (struct step_script){ ADAPTER_SEND, ADAPTER_CONTINUE, NULL, 60000, -1, false, true };
	claim_ok(POST1);
	dispatch_run(&d);
	answer(0, 200, true);
	dispatch_stop(&d);
	record();
	ck_assert_str_eq(sent_outcome[0], "published");
	ck_assert_str_eq(sent_remote_id[0], "m-9");
}
END_TEST

START_TEST(test_short_lease_gives_the_post_back_unsent)
{
	script[0] = (struct step_script){ ADAPTER_SEND, ADAPTER_CONTINUE, NULL, 0, -1, true, false };
	claim_ok(POST1);
	dispatch_run(&d);
	now_ms += (int64_t)LEASE_S * 1000 - REQ_MS;	/* answered late */
	answer(0, 200, true);
	dispatch_run(&d);
	ck_assert_int_eq(ncalls, 1);
	record();
	ck_assert_str_eq(sent_outcome[0], "retryable");
	ck_assert_ptr_nonnull(strstr(sent_msg[0], "lease"));
}
END_TEST

START_TEST(test_short_lease_is_renewed_through_the_reference)
{
	script[0] = (struct step_script){ ADAPTER_SEND, ADAPTER_PUBLISHED, NULL, 0, -1, false, false };
	claim(POST1, "fake", "connected", access_b64, refresh_b64, "c-7");
	now_ms += (int64_t)LEASE_S * 1000 - REQ_MS;
	dispatch_run(&d);
	ck_assert_int_eq(ncalls, 0);
	ck_assert_int_eq(dispatch_flush(&d), 0);
	ck_assert_int_eq(progress_calls, 1);
	ck_assert_str_eq(progress_ref, "c-7");
	dispatch_run(&d);
	ck_assert_int_eq(ncalls, 1);
}
END_TEST

START_TEST(test_runaway_adapter_ends_unknown)
{
	script[0] = (struct step_script){ ADAPTER_DONE, ADAPTER_CONTINUE, NULL, 0, -1, false, false };
	script_loop = true;
	claim_ok(POST1);
	while (d.counts[JOB_READY] > 0)
		dispatch_run(&d);
	ck_assert_int_eq(prepares, DISPATCH_MAX_STEPS);
	record();
	ck_assert_str_eq(sent_outcome[0], "unknown");
}
END_TEST

START_TEST(test_abandon_frees_everything_in_flight)
{
	script[0] = (struct step_script){ ADAPTER_SEND, ADAPTER_REAUTH, NULL, 0, -1, false, false };
	claim_ok(POST1);
	claim_ok(POST2);
	dispatch_run(&d);
	answer(0, 401, true);
	dispatch_flush(&d);			/* POST1 waits for a refresh in flight */
	dispatch_abandon(&d);
	ck_assert_int_eq(d.jobs, 0);
	ck_assert_int_eq(d.nrefresh, 0);
	ck_assert_int_eq(cancels, 2);		/* POST2's request and the refresh */
}
END_TEST

Suite *
dispatch_suite(void)
{
	Suite	*s = suite_create("dispatch");
	TCase	*tc = tcase_create("jobs");
	TCase	*rf = tcase_create("refresh");
	TCase	*rec = tcase_create("record");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_done_without_request_is_recorded);
	tcase_add_test(tc, test_account_not_connected_needs_reauth_without_a_call);
	tcase_add_test(tc, test_unknown_platform_is_retryable);
	tcase_add_test(tc, test_claimed_ahead_is_held_until_its_instant);
	tcase_add_test(tc, test_token_is_opened_for_the_adapter);
	tcase_add_test(tc, test_token_of_another_row_does_not_open);
	tcase_add_test(tc, test_unknown_key_is_retryable);
	tcase_add_test(tc, test_request_answered_published);
	tcase_add_test(tc, test_retry_honours_a_longer_hint);
	tcase_add_test(tc, test_unanswered_post_is_unknown_even_if_adapter_says_retry);
	tcase_add_test(tc, test_unsent_failure_stays_retryable);
	tcase_add_test(tc, test_unanswered_idempotent_read_may_retry);
	tcase_add_test(tc, test_reference_is_stored_before_the_next_request);
	tcase_add_test(tc, test_reference_with_a_final_outcome_is_stored_first);
	tcase_add_test(tc, test_lost_lease_on_progress_drops_the_job);
	tcase_add_test(tc, test_continue_waits_for_its_delay);
	tcase_add_test(tc, test_stop_gives_back_unsent_steps_and_waits_for_answers);
	tcase_add_test(tc, test_stop_after_the_publishing_step_records_published);
	tcase_add_test(tc, test_short_lease_gives_the_post_back_unsent);
	tcase_add_test(tc, test_short_lease_is_renewed_through_the_reference);
	tcase_add_test(tc, test_runaway_adapter_ends_unknown);
	tcase_add_test(tc, test_abandon_frees_everything_in_flight);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(rf, setup, teardown);
	tcase_add_test(rf, test_refused_token_is_refreshed_and_the_step_retried);
	tcase_add_test(rf, test_second_refusal_needs_reauth);
	tcase_add_test(rf, test_refresh_refused_marks_the_account);
	tcase_add_test(rf, test_refresh_failing_transiently_retries_the_post);
	tcase_add_test(rf, test_new_refresh_token_is_sealed_and_stored);
	tcase_add_test(rf, test_jobs_of_one_account_share_one_refresh);
	tcase_add_test(rf, test_refresh_held_elsewhere_gives_the_post_back);
	tcase_add_test(rf, test_no_refresh_token_needs_reauth_at_once);
	suite_add_tcase(s, rf);

	tcase_add_checked_fixture(rec, setup, teardown);
	tcase_add_test(rec, test_outcomes_survive_a_database_outage);
	tcase_add_test(rec, test_one_record_call_in_flight_at_a_time);
	tcase_add_test(rec, test_outcomes_are_shared_between_recording_slots);
	tcase_add_test(rec, test_lost_answer_then_refusal_is_not_counted_lost);
	tcase_add_test(rec, test_refused_outcome_is_counted_lost);
	suite_add_tcase(s, rec);
	return s;
}
