/*
 * test_ai.c — bgworker/src/ai.c: a claimed AI job through the provider
 * chain to a recorded outcome, without a database or a network.
 *
 * The providers are real (ai_provider.c builds the requests and reads the
 * answers); what they would say is fed back as HTTP answers in OpenAI's
 * and Gemini's own formats.  Faked here: the HTTP transport (calls are
 * captured and answered by the test), the store (ai_job_result_batch
 * calls, answered as each test says) and the clocks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "../suites.h"
#include "ai.h"
#include "ai_provider.h"
#include "log.h"
#include "queue.h"

#define ORG		"11111111-1111-4111-8111-111111111111"
#define JOB1		"44444444-4444-4444-8444-444444444441"
#define JOB2		"44444444-4444-4444-8444-444444444442"
#define WALL0		1800000000000LL
#define LEASE_S		600
#define REQ_MS		10000
#define HINT_MAX_MS	30000
#define OPENAI_KEY	"sk-test-OPENAIKEY123"
#define GEMINI_KEY	"gm-test-GEMINIKEY456"

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

/* -------------------------------------------------------- transport */

#define MAX_CALLS	32

static struct http_call	*calls[MAX_CALLS];
static int		 ncalls, cancels;
static char		 call_url[MAX_CALLS][ADAPTER_URL_MAX];
static char		*call_body[MAX_CALLS];
static bool		 call_keyed[MAX_CALLS];	/* carried an API key header */
static bool		 send_fails;
static int		 xfer_token;

static int
t_send(void *ctx, struct http_call *c, char *err, size_t errlen)
{
	struct curl_slist	*h;

	(void)ctx;
	if (send_fails) {
		snprintf(err, errlen, "could not start the transfer (test)");
		return (-1);
	}
	ck_assert_int_lt(ncalls, MAX_CALLS);
	snprintf(call_url[ncalls], sizeof(call_url[0]), "%s", c->req.url);
	call_body[ncalls] = strdup(c->req.body.data != NULL ? c->req.body.data : "");
	call_keyed[ncalls] = false;
	for (h = c->req.headers; h != NULL; h = h->next)
		if (strstr(h->data, OPENAI_KEY) != NULL || strstr(h->data, GEMINI_KEY) != NULL)
			call_keyed[ncalls] = true;
	ck_assert(c->req.idempotent);
	calls[ncalls++] = c;
	c->xfer = (struct http_xfer *)(void *)&xfer_token;
	return (0);
}

static void
t_cancel(void *ctx, struct http_call *c)
{
	(void)ctx;
	if (c->xfer != NULL)
		cancels++;
	c->xfer = NULL;
}

/* The answer's headers: "name", "value" pairs, NULL-terminated. */
static const char *const	*answer_headers;

static const char *
t_header(const struct adapter_response *r, const char *name)
{
	const char *const	*h;

	(void)r;
	for (h = answer_headers; h != NULL && h[0] != NULL; h += 2)
		if (strcasecmp(h[0], name) == 0)
			return (h[1]);
	return (NULL);
}

/* answer completes captured call i with status and body (0: no answer). */
static void
answer_h(int i, long status, const char *body, const char *const *headers)
{
	struct adapter_response	 resp;
	struct http_call	*c = calls[i];

	ck_assert_ptr_nonnull(c->xfer);
	memset(&resp, 0, sizeof(resp));
	resp.status = status;
	resp.sent = true;
	resp.body = body;
	resp.body_len = strlen(body);
	resp.transport_error = status == 0 ? "connection reset (test)" : NULL;
	resp.now_ms = WALL0 + now_ms;
	resp.header = t_header;
	answer_headers = headers;
	c->xfer = NULL;
	c->done(c, &resp);
	answer_headers = NULL;
}

/* answer_timeout: the transport gave call i up after request_timeout_ms. */
static void
answer_timeout(int i)
{
	struct adapter_response	 resp;
	struct http_call	*c = calls[i];

	ck_assert_ptr_nonnull(c->xfer);
	memset(&resp, 0, sizeof(resp));
	resp.sent = true;
	resp.timed_out = true;
	resp.body = "";
	resp.transport_error = "no response within 10000 ms (request sent)";
	resp.now_ms = WALL0 + now_ms;
	resp.header = t_header;
	c->xfer = NULL;
	c->done(c, &resp);
}

static void
answer(int i, long status, const char *body)
{
	answer_h(i, status, body, NULL);
}

/* ------------------------------------------------- provider answers */

/* openai_ok writes a chat completion whose content is {"variants":[v]}. */
static void
openai_ok(char *out, size_t len, const char *v, int prompt, int completion)
{
	snprintf(out, len,
	    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1730000000,"
	    "\"model\":\"gpt-4.1-mini-2025-04-14\",\"choices\":[{\"index\":0,\"message\":"
	    "{\"role\":\"assistant\",\"content\":\"{\\\"variants\\\":[\\\"%s\\\"]}\","
	    "\"refusal\":null},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":%d,"
	    "\"completion_tokens\":%d,\"total_tokens\":%d}}", v, prompt, completion,
	    prompt + completion);
}

static void
gemini_ok(char *out, size_t len, const char *v)
{
	snprintf(out, len,
	    "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":"
	    "\"{\\\"variants\\\":[\\\"%s\\\"]}\"}]},\"finishReason\":\"STOP\",\"index\":0}],"
	    "\"usageMetadata\":{\"promptTokenCount\":7,\"candidatesTokenCount\":5,"
	    "\"thoughtsTokenCount\":3,\"totalTokenCount\":15},\"modelVersion\":\"gemini-2.5-flash\"}",
	    v);
}

#define OPENAI_RATE_LIMIT \
	"{\"error\":{\"message\":\"Rate limit reached for gpt-4.1-mini on requests per min. " \
	"Please try again in 3s.\",\"type\":\"requests\",\"param\":null,\"code\":\"rate_limit_exceeded\"}}"
#define OPENAI_NO_QUOTA \
	"{\"error\":{\"message\":\"You exceeded your current quota, please check your plan and " \
	"billing details.\",\"type\":\"insufficient_quota\",\"param\":null,\"code\":\"insufficient_quota\"}}"
#define OPENAI_SERVER_ERROR \
	"{\"error\":{\"message\":\"The server had an error while processing your request.\"," \
	"\"type\":\"server_error\",\"param\":null,\"code\":null}}"
#define OPENAI_BAD_REQUEST \
	"{\"error\":{\"message\":\"Invalid value for 'temperature'.\",\"type\":" \
	"\"invalid_request_error\",\"param\":\"temperature\",\"code\":null}}"
#define GEMINI_FORBIDDEN \
	"{\"error\":{\"code\":403,\"message\":\"Method doesn't allow unregistered callers.\"," \
	"\"status\":\"PERMISSION_DENIED\"}}"

/* ------------------------------------------------------------ store */

enum poll_mode { POLL_OK, POLL_WAIT, POLL_DOWN, POLL_REFUSED, POLL_LOST };

static bool		 store_up;
static int		 sends;
static size_t		 sent_n;
static struct {
	enum queue_ai_kind	 kind;
	char			 job_id[40];
	int			 claim;
	char			 provider[32], model[128];
	long			 prompt_tokens, completion_tokens;
	size_t			 nvariants;
	char			 variant0[256];
	bool			 final;
	int			 reprompts;
	char			 error_code[64], message[600];
	int64_t			 requeue_after_ms;
	char			 attempts[8192];
} sent[8];
static enum poll_mode	 poll_mode;
static const char	*answer_state;	/* for every element */
static const char	*answer_reprompt;

static bool
s_up(void *ctx)
{
	(void)ctx;
	return (store_up);
}

static int
s_send(void *ctx, const struct queue_ai_outcome *out, size_t n,
    struct queue_error *qerr)
{
	size_t	 i;

	(void)ctx;
	(void)qerr;
	if (!store_up)
		return (QUEUE_DOWN);
	sends++;
	sent_n = n;
	memset(sent, 0, sizeof(sent));
	for (i = 0; i < n && i < 8; i++) {
		sent[i].kind = out[i].kind;
		snprintf(sent[i].job_id, sizeof(sent[i].job_id), "%s", out[i].job_id);
		sent[i].claim = out[i].claim;
		snprintf(sent[i].provider, sizeof(sent[i].provider), "%s",
		    out[i].provider != NULL ? out[i].provider : "");
		snprintf(sent[i].model, sizeof(sent[i].model), "%s",
		    out[i].model != NULL ? out[i].model : "");
		sent[i].prompt_tokens = out[i].prompt_tokens;
		sent[i].completion_tokens = out[i].completion_tokens;
		sent[i].nvariants = out[i].nvariants;
		if (out[i].nvariants > 0)
			snprintf(sent[i].variant0, sizeof(sent[i].variant0), "%s", out[i].variants[0]);
		sent[i].final = out[i].final;
		sent[i].reprompts = out[i].reprompts;
		snprintf(sent[i].error_code, sizeof(sent[i].error_code), "%s",
		    out[i].error_code != NULL ? out[i].error_code : "");
		snprintf(sent[i].message, sizeof(sent[i].message), "%s",
		    out[i].message != NULL ? out[i].message : "");
		sent[i].requeue_after_ms = out[i].requeue_after_ms;
		snprintf(sent[i].attempts, sizeof(sent[i].attempts), "%s",
		    out[i].attempts != NULL ? out[i].attempts : "[]");
	}
	return (QUEUE_OK);
}

static int
s_poll(void *ctx, struct queue_ai_recorded *res, size_t n, bool *ready,
    struct queue_error *qerr)
{
	size_t	 i;

	(void)ctx;
	*ready = false;
	switch (poll_mode) {
	case POLL_WAIT:
		return (QUEUE_OK);
	case POLL_DOWN:
		return (QUEUE_DOWN);
	case POLL_REFUSED:
		snprintf(qerr->sqlstate, sizeof(qerr->sqlstate), "XX000");
		snprintf(qerr->message, sizeof(qerr->message), "refused (test)");
		return (QUEUE_REFUSED);
	default:
		break;
	}
	for (i = 0; i < n; i++) {
		memset(&res[i], 0, sizeof(res[i]));
		if (poll_mode == POLL_LOST) {
			snprintf(res[i].sqlstate, sizeof(res[i].sqlstate), "CA002");
			snprintf(res[i].message, sizeof(res[i].message), "AI job is not running");
			continue;
		}
		res[i].ok = true;
		snprintf(res[i].state, sizeof(res[i].state), "%s", answer_state);
		if (answer_reprompt != NULL && strcmp(answer_state, "too_long") == 0)
			res[i].reprompt = strdup(answer_reprompt);
	}
	*ready = true;
	return (QUEUE_OK);
}

/* ---------------------------------------------------------- fixture */

static struct ai	 ai;
static char		 last_log[1024];
static int		 warnings;
static char		 body[4096];

static void
quiet(enum log_level level, const char *line)
{
	if (level <= LOG_LEVEL_WARNING)
		warnings++;
	/* No key ever reaches a log line. */
	ck_assert_ptr_null(strstr(line, "OPENAIKEY"));
	ck_assert_ptr_null(strstr(line, "GEMINIKEY"));
	snprintf(last_log, sizeof(last_log), "%s", line);
}

static const struct ai_provider openai_p = {
	"openai", AI_API_OPENAI_CHAT, "http://fake.invalid/openai/v1", OPENAI_KEY,
	"gpt-4.1-mini", true, 512, 0.8
};
static const struct ai_provider gemini_p = {
	"gemini", AI_API_GEMINI, "http://fake.invalid/gemini/v1beta", GEMINI_KEY,
	"gemini-2.5-flash", true, 512, 0.8
};

static void
init_ai(int nproviders, int max_attempts, int max_reprompts)
{
	struct ai_params	 p;
	struct ai_store		 store = { NULL, s_up, s_send, s_poll };
	struct http_transport	 http = { NULL, t_send, t_cancel };
	struct dispatch_env	 env = { NULL, t_mono, t_wall, t_rand };

	memset(&p, 0, sizeof(p));
	p.name = "test";
	p.providers[0] = openai_p;
	p.providers[1] = gemini_p;
	p.nproviders = nproviders;
	p.max_in_flight = 4;
	p.lease_seconds = LEASE_S;
	p.request_timeout_ms = REQ_MS;
	p.max_attempts = max_attempts;
	p.max_reprompts = max_reprompts;
	p.retry_hint_max_ms = HINT_MAX_MS;
	ai_init(&ai, &p, &store, &http, &env);
}

static void
setup(void)
{
	ncalls = cancels = sends = warnings = 0;
	memset(call_body, 0, sizeof(call_body));
	send_fails = false;
	store_up = true;
	sent_n = 0;
	poll_mode = POLL_OK;
	answer_state = "succeeded";
	answer_reprompt = NULL;
	now_ms = 1000;
	last_log[0] = '\0';
	log_set_sink(quiet);
	init_ai(2, 3, 2);
}

static void
teardown(void)
{
	int	 i;

	ai_cleanup(&ai);
	ck_assert_int_eq(ai.jobs, 0);
	for (i = 0; i < MAX_CALLS; i++)
		free(call_body[i]);
	log_set_sink(NULL);
}

/* claim hands ai.c one claimed job. */
static void
claim(const char *job, int variants)
{
	struct queue_ai_job	 row;

	memset(&row, 0, sizeof(row));
	row.org_id = ORG;
	row.job_id = job;
	row.claim = 1;
	row.platform = "x";
	row.max_length = 280;
	row.unit = "characters";
	row.variants = variants;
	row.language = "en";
	row.system_prompt = "You write X posts. Answer {\"variants\": [...]}.";
	row.user_prompt = "{\"task\":\"write social media post variants\",\"brief\":{\"topic\":\"launch\"}}";
	ck_assert_int_eq(ai_claimed(&ai, &row), 0);
}

/* record flushes, then answers the record call as poll_mode says. */
static void
record(void)
{
	ck_assert_int_eq(ai_flush(&ai), 0);
	ai_collect(&ai);
}

/* attempts_len parses the attempts JSON sent for element i. */
static json_t *
attempts_of(int i)
{
	json_error_t	 jerr;
	json_t		*a = json_loads(sent[i].attempts, 0, &jerr);

	ck_assert_msg(json_is_array(a), "attempts: %s", sent[i].attempts);
	return (a);
}

static const char *
attempt_str(json_t *a, size_t i, const char *key)
{
	const char	*s = json_string_value(json_object_get(json_array_get(a, i), key));

	return (s != NULL ? s : "(null)");
}

/* body_messages parses call i's body and returns its messages array. */
static json_t *
openai_messages(int i, json_t **root)
{
	json_error_t	 jerr;

	*root = json_loads(call_body[i], 0, &jerr);
	ck_assert_ptr_nonnull(*root);
	return (json_object_get(*root, "messages"));
}

/* --------------------------------------------------------------- tests */

START_TEST(test_success_first_try)
{
	json_t	*a, *root, *msgs;

	claim(JOB1, 1);
	ck_assert_int_eq(ai.counts[AI_JOB_READY], 1);
	ai_run(&ai);
	ck_assert_int_eq(ncalls, 1);
	ck_assert_str_eq(call_url[0], "http://fake.invalid/openai/v1/chat/completions");
	ck_assert(call_keyed[0]);
	msgs = openai_messages(0, &root);
	ck_assert_int_eq(json_array_size(msgs), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(msgs, 0), "role")), "system");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(msgs, 1), "role")), "user");
	json_decref(root);
	ck_assert_int_eq(ai_busy(&ai), 1);

	openai_ok(body, sizeof(body), "Launching today!", 10, 20);
	answer(0, 200, body);
	/* The request (its Authorization header) is gone with the answer. */
	ck_assert_ptr_null(calls[0]->req.headers);
	ck_assert_int_eq(ai.counts[AI_JOB_DONE], 1);
	ck_assert(ai_to_record(&ai));
	record();
	ck_assert_int_eq(sends, 1);
	ck_assert_uint_eq(sent_n, 1);
	ck_assert_int_eq(sent[0].kind, QUEUE_AI_SUCCESS);
	ck_assert_str_eq(sent[0].job_id, JOB1);
	ck_assert_int_eq(sent[0].claim, 1);
	ck_assert_str_eq(sent[0].provider, "openai");
	ck_assert_str_eq(sent[0].model, "gpt-4.1-mini-2025-04-14");
	ck_assert_int_eq(sent[0].prompt_tokens, 10);
	ck_assert_int_eq(sent[0].completion_tokens, 20);
	ck_assert_uint_eq(sent[0].nvariants, 1);
	ck_assert_str_eq(sent[0].variant0, "Launching today!");
	ck_assert(!sent[0].final);
	ck_assert_int_eq(sent[0].reprompts, 0);
	a = attempts_of(0);
	ck_assert_int_eq(json_array_size(a), 1);
	ck_assert_str_eq(attempt_str(a, 0, "provider"), "openai");
	ck_assert_str_eq(attempt_str(a, 0, "class"), "ok");
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(a, 0), "http_status")), 200);
	ck_assert_str_eq(attempt_str(a, 0, "at"), "2027-01-15T08:00:01.000Z");
	json_decref(a);
	ck_assert_ptr_null(strstr(sent[0].attempts, "OPENAIKEY"));
	ck_assert_int_eq(ai.jobs, 0);
	ck_assert_uint_eq(ai.stats.done, 1);
	ck_assert_uint_eq(ai.stats.calls, 1);
}
END_TEST

START_TEST(test_too_long_reprompts_with_the_conversation)
{
	json_t	*root, *msgs, *a;

	answer_reprompt = "Variant 1 is 312 characters; make every variant at most 280.";
	claim(JOB1, 1);
	ai_run(&ai);
	openai_ok(body, sizeof(body), "A very long text", 10, 20);
	answer(0, 200, body);
	answer_state = "too_long";
	record();
	ck_assert(!sent[0].final);
	/* Back to READY with the re-prompt: the same provider is called again. */
	ck_assert_int_eq(ai.counts[AI_JOB_READY], 1);
	ai_run(&ai);
	ck_assert_int_eq(ncalls, 2);
	ck_assert_str_eq(call_url[1], "http://fake.invalid/openai/v1/chat/completions");
	msgs = openai_messages(1, &root);
	ck_assert_int_eq(json_array_size(msgs), 4);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(msgs, 2), "role")), "assistant");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(msgs, 2), "content")),
	    "{\"variants\":[\"A very long text\"]}");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(msgs, 3), "role")), "user");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(msgs, 3), "content")),
	    answer_reprompt);
	json_decref(root);

	openai_ok(body, sizeof(body), "Short", 30, 5);
	answer(1, 200, body);
	answer_state = "succeeded";
	record();
	ck_assert_int_eq(sends, 2);
	ck_assert_str_eq(sent[0].variant0, "Short");
	ck_assert_int_eq(sent[0].reprompts, 1);
	ck_assert(!sent[0].final);
	/* Tokens of every call of the job. */
	ck_assert_int_eq(sent[0].prompt_tokens, 40);
	ck_assert_int_eq(sent[0].completion_tokens, 25);
	a = attempts_of(0);
	ck_assert_int_eq(json_array_size(a), 2);
	ck_assert_str_eq(attempt_str(a, 0, "class"), "too_long");
	ck_assert_str_eq(attempt_str(a, 1, "class"), "ok");
	json_decref(a);
	ck_assert_int_eq(ai.jobs, 0);
	ck_assert_uint_eq(ai.stats.done, 1);
}
END_TEST

START_TEST(test_last_reprompt_is_final)
{
	int	 i;

	answer_state = "too_long";	/* no reprompt text: a generic one */
	claim(JOB1, 2);
	for (i = 0; i < 3; i++) {
		ai_run(&ai);
		ck_assert_int_eq(ncalls, i + 1);
		openai_ok(body, sizeof(body), "Text", 1, 1);
		answer(i, 200, body);
		if (i == 2)
			answer_state = "succeeded";
		record();
		ck_assert_int_eq(sent[0].reprompts, i);
		/* final only once max_reprompts (2) re-prompts were made. */
		ck_assert(sent[0].final == (i == 2));
	}
	ck_assert_ptr_nonnull(strstr(call_body[2], "longer than 280 characters"));
	ck_assert_int_eq(ai.jobs, 0);
}
END_TEST

START_TEST(test_retry_waits_for_the_hint)
{
	static const char *const hdr[] = { "retry-after", "3", NULL };
	json_t	*a;

	claim(JOB1, 1);
	ai_run(&ai);
	answer_h(0, 429, OPENAI_RATE_LIMIT, hdr);
	ck_assert_int_eq(ai.counts[AI_JOB_READY], 1);
	/* max(hint 3 s, backoff 500 ms): 3 s. */
	ck_assert_int_eq(ai_next_step(&ai), now_ms + 3000);
	now_ms += 2999;
	ai_run(&ai);
	ck_assert_int_eq(ncalls, 1);
	now_ms += 1;
	ai_run(&ai);
	ck_assert_int_eq(ncalls, 2);
	ck_assert_str_eq(call_url[1], "http://fake.invalid/openai/v1/chat/completions");
	openai_ok(body, sizeof(body), "Done", 3, 4);
	answer(1, 200, body);
	record();
	ck_assert_str_eq(sent[0].provider, "openai");
	a = attempts_of(0);
	ck_assert_int_eq(json_array_size(a), 2);
	ck_assert_str_eq(attempt_str(a, 0, "class"), "retry");
	ck_assert_str_eq(attempt_str(a, 0, "code"), "rate_limit_exceeded");
	json_decref(a);
}
END_TEST

START_TEST(test_retry_without_hint_backs_off)
{
	claim(JOB1, 1);
	ai_run(&ai);
	answer(0, 500, OPENAI_SERVER_ERROR);
	/* attempt 1: 1 s nominal, jitter floor: 500 ms. */
	ck_assert_int_eq(ai_next_step(&ai), now_ms + 500);
	now_ms += 500;
	ai_run(&ai);
	answer(1, 503, OPENAI_SERVER_ERROR);
	ck_assert_int_eq(ai_next_step(&ai), now_ms + 1000);
	now_ms += 1000;
	ai_run(&ai);
	ck_assert_int_eq(ncalls, 3);
	/* Third failure: attempts spent, Gemini at once. */
	answer(2, 500, OPENAI_SERVER_ERROR);
	ai_run(&ai);
	ck_assert_int_eq(ncalls, 4);
	ck_assert_str_eq(call_url[3],
	    "http://fake.invalid/gemini/v1beta/models/gemini-2.5-flash:generateContent");
	ck_assert(call_keyed[3]);
}
END_TEST

START_TEST(test_hint_too_long_moves_on)
{
	static const char *const hdr[] = { "retry-after", "120", NULL };

	claim(JOB1, 1);
	ai_run(&ai);
	answer_h(0, 429, OPENAI_RATE_LIMIT, hdr);
	/* 120 s > ai.retry_hint_max_ms: the next provider, now. */
	ck_assert_int_eq(ai_next_step(&ai), now_ms);
	ai_run(&ai);
	ck_assert_int_eq(ncalls, 2);
	ck_assert_ptr_nonnull(strstr(call_url[1], ":generateContent"));
	gemini_ok(body, sizeof(body), "From Gemini");
	answer(1, 200, body);
	record();
	ck_assert_str_eq(sent[0].provider, "gemini");
	ck_assert_str_eq(sent[0].model, "gemini-2.5-flash");
	ck_assert_str_eq(sent[0].variant0, "From Gemini");
	/* Gemini's completion counts thinking tokens. */
	ck_assert_int_eq(sent[0].prompt_tokens, 7);
	ck_assert_int_eq(sent[0].completion_tokens, 8);
}
END_TEST

START_TEST(test_fallback_class_moves_on_at_once)
{
	claim(JOB1, 1);
	ai_run(&ai);
	answer(0, 429, OPENAI_NO_QUOTA);
	ai_run(&ai);
	ck_assert_int_eq(ncalls, 2);
	ck_assert_ptr_nonnull(strstr(call_url[1], ":generateContent"));
	gemini_ok(body, sizeof(body), "ok");
	answer(1, 200, body);
	record();
	ck_assert_int_eq(sent[0].kind, QUEUE_AI_SUCCESS);
	ck_assert_str_eq(sent[0].provider, "gemini");
}
END_TEST

START_TEST(test_chain_exhausted_fails_with_the_log)
{
	json_t	*a;

	claim(JOB1, 1);
	ai_run(&ai);
	answer(0, 400, OPENAI_BAD_REQUEST);
	ai_run(&ai);
	answer(1, 403, GEMINI_FORBIDDEN);
	ck_assert_int_eq(ai.counts[AI_JOB_DONE], 1);
	answer_state = "failed";
	record();
	ck_assert_int_eq(sent[0].kind, QUEUE_AI_FAILURE);
	ck_assert_ptr_nonnull(strstr(sent[0].message, "gemini"));
	ck_assert_ptr_nonnull(strstr(sent[0].message, "HTTP 403"));
	ck_assert_ptr_null(strstr(sent[0].message, "GEMINIKEY"));
	a = attempts_of(0);
	ck_assert_int_eq(json_array_size(a), 2);
	ck_assert_str_eq(attempt_str(a, 0, "provider"), "openai");
	ck_assert_str_eq(attempt_str(a, 0, "class"), "fallback");
	ck_assert_str_eq(attempt_str(a, 1, "provider"), "gemini");
	ck_assert_str_eq(attempt_str(a, 1, "class"), "fallback");
	/* The failure carries the last call's code (ai_provider.c's name for a 403). */
	ck_assert_str_ne(sent[0].error_code, "");
	ck_assert_str_eq(attempt_str(a, 1, "code"), sent[0].error_code);
	json_decref(a);
	ck_assert_uint_eq(ai.stats.failed, 1);
	ck_assert_int_eq(ai.jobs, 0);
}
END_TEST

START_TEST(test_timeout_is_retried)
{
	json_t	*a;

	claim(JOB1, 1);
	ai_run(&ai);
	/* The transport, not the job, holds the call's limit. */
	ck_assert_int_eq(calls[0]->timeout_ms, REQ_MS);
	ck_assert_int_eq(ai_next_step(&ai), -1);
	now_ms += REQ_MS;
	answer_timeout(0);
	ck_assert_int_eq(cancels, 0);
	ck_assert_ptr_null(calls[0]->req.headers);
	ck_assert_int_eq(ai.counts[AI_JOB_READY], 1);
	now_ms += 500;
	ai_run(&ai);
	ck_assert_int_eq(ncalls, 2);
	openai_ok(body, sizeof(body), "late", 1, 1);
	answer(1, 200, body);
	record();
	a = attempts_of(0);
	ck_assert_str_eq(attempt_str(a, 0, "code"), "timeout");
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(a, 0), "ms")), REQ_MS);
	json_decref(a);
}
END_TEST

START_TEST(test_send_failure_is_retried)
{
	claim(JOB1, 1);
	send_fails = true;
	ai_run(&ai);
	ck_assert_int_eq(ncalls, 0);
	ck_assert_int_eq(ai.counts[AI_JOB_READY], 1);
	send_fails = false;
	now_ms += 500;
	ai_run(&ai);
	ck_assert_int_eq(ncalls, 1);
}
END_TEST

START_TEST(test_single_provider_fails_naming_it)
{
	ai_cleanup(&ai);
	init_ai(1, 1, 2);
	claim(JOB1, 1);
	ai_run(&ai);
	answer(0, 0, "");
	ck_assert_int_eq(ai.counts[AI_JOB_DONE], 1);
	answer_state = "failed";
	record();
	ck_assert_str_eq(sent[0].error_code, "network");
	ck_assert_ptr_nonnull(strstr(sent[0].message, "openai: "));
	ck_assert_ptr_null(strstr(sent[0].message, "chain"));
}
END_TEST

START_TEST(test_stop_gives_every_job_back)
{
	static const char *const hdr[] = { "retry-after", "5", NULL };

	claim(JOB1, 1);
	claim(JOB2, 1);
	ai_run(&ai);
	ck_assert_int_eq(ncalls, 2);
	answer_h(0, 429, OPENAI_RATE_LIMIT, hdr);	/* JOB1 waits 5 s */
	ck_assert_int_eq(ai.counts[AI_JOB_READY], 1);
	ck_assert_int_eq(ai.counts[AI_JOB_HTTP], 1);
	ai_stop(&ai);
	ck_assert_int_eq(cancels, 1);
	ck_assert_ptr_null(calls[1]->req.headers);
	ck_assert_int_eq(ai.counts[AI_JOB_DONE], 2);
	ck_assert_int_eq(ai_room(&ai), 0);
	now_ms += 10000;
	ai_run(&ai);
	ck_assert_int_eq(ncalls, 2);
	answer_state = "queued";
	record();
	ck_assert_uint_eq(sent_n, 2);
	ck_assert_int_eq(sent[0].kind, QUEUE_AI_REQUEUE);
	ck_assert_int_eq(sent[1].kind, QUEUE_AI_REQUEUE);
	ck_assert_int_eq(sent[0].requeue_after_ms, 0);
	ck_assert_int_eq(ai.jobs, 0);
	ck_assert_uint_eq(ai.stats.requeued, 2);
}
END_TEST

START_TEST(test_too_long_while_stopping_is_given_back)
{
	claim(JOB1, 1);
	ai_run(&ai);
	openai_ok(body, sizeof(body), "long", 1, 1);
	answer(0, 200, body);
	ck_assert_int_eq(ai_flush(&ai), 0);
	ai_stop(&ai);	/* the success stays: it is being recorded */
	answer_state = "too_long";
	ai_collect(&ai);
	ck_assert_int_eq(ai.counts[AI_JOB_DONE], 1);
	answer_state = "queued";
	record();
	ck_assert_int_eq(sent[0].kind, QUEUE_AI_REQUEUE);
	ck_assert_int_eq(ai.jobs, 0);
}
END_TEST

START_TEST(test_lost_answer_is_sent_again)
{
	claim(JOB1, 1);
	ai_run(&ai);
	openai_ok(body, sizeof(body), "hello", 1, 1);
	answer(0, 200, body);
	poll_mode = POLL_WAIT;
	record();
	ck_assert(ai_recording(&ai));
	ck_assert(!ai_to_record(&ai));
	/* The connection breaks: the answer is lost, the outcome kept. */
	poll_mode = POLL_DOWN;
	ai_collect(&ai);
	ck_assert_int_eq(ai.counts[AI_JOB_DONE], 1);
	store_up = false;
	ck_assert(!ai_to_record(&ai));
	ck_assert_int_eq(ai_flush(&ai), 0);
	ck_assert_int_eq(sends, 1);
	store_up = true;
	/* The first call had applied it: "not running" now means done. */
	poll_mode = POLL_LOST;
	record();
	ck_assert_int_eq(sends, 2);
	ck_assert_int_eq(sent[0].kind, QUEUE_AI_SUCCESS);
	ck_assert_int_eq(ai.jobs, 0);
	ck_assert_uint_eq(ai.stats.lost, 0);
	ck_assert_int_eq(warnings, 0);
}
END_TEST

START_TEST(test_lease_lost_is_logged_and_dropped)
{
	claim(JOB1, 1);
	ai_run(&ai);
	openai_ok(body, sizeof(body), "hello", 1, 1);
	answer(0, 200, body);
	poll_mode = POLL_LOST;
	record();
	ck_assert_int_eq(ai.jobs, 0);
	ck_assert_uint_eq(ai.stats.lost, 1);
	ck_assert_ptr_nonnull(strstr(last_log, "CA002"));
}
END_TEST

START_TEST(test_refused_batch_is_held_then_sent_again)
{
	claim(JOB1, 1);
	ai_run(&ai);
	openai_ok(body, sizeof(body), "hello", 1, 1);
	answer(0, 200, body);
	poll_mode = POLL_REFUSED;
	record();
	ck_assert_int_eq(ai.counts[AI_JOB_DONE], 1);
	ck_assert(!ai_to_record(&ai));
	ck_assert_int_eq(ai_next_step(&ai), now_ms + 1000);
	now_ms += 1000;
	ck_assert(ai_to_record(&ai));
	poll_mode = POLL_OK;
	record();
	ck_assert_int_eq(sends, 2);
	ck_assert_int_eq(ai.jobs, 0);
}
END_TEST

START_TEST(test_lease_running_out_gives_back)
{
	static const char *const hdr[] = { "retry-after", "20", NULL };

	ai_cleanup(&ai);
	init_ai(2, 3, 2);
	ai.p.lease_seconds = 30;	/* 30 s: one call, a 20 s wait, no room left */
	claim(JOB1, 1);
	ai_run(&ai);
	answer_h(0, 429, OPENAI_RATE_LIMIT, hdr);
	now_ms += 20000;
	ai_run(&ai);
	ck_assert_int_eq(ncalls, 1);
	ck_assert_int_eq(ai.counts[AI_JOB_DONE], 1);
	answer_state = "queued";
	record();
	ck_assert_int_eq(sent[0].kind, QUEUE_AI_REQUEUE);
}
END_TEST

START_TEST(test_claim_without_prompts_fails)
{
	struct queue_ai_job	 row;

	memset(&row, 0, sizeof(row));
	row.org_id = ORG;
	row.job_id = JOB1;
	row.claim = 2;
	row.variants = 1;
	ck_assert_int_eq(ai_claimed(&ai, &row), 0);
	ai_run(&ai);
	ck_assert_int_eq(ncalls, 0);
	answer_state = "failed";
	record();
	ck_assert_int_eq(sent[0].kind, QUEUE_AI_FAILURE);
	ck_assert_int_eq(sent[0].claim, 2);
	ck_assert_str_eq(sent[0].error_code, "bad_claim");
	row.job_id = NULL;
	ck_assert_int_eq(ai_claimed(&ai, &row), -1);
}
END_TEST

START_TEST(test_room_and_heartbeat)
{
	struct queue_ai_stats	 st;

	ck_assert_int_eq(ai_room(&ai), 4);
	claim(JOB1, 1);
	ck_assert_int_eq(ai_room(&ai), 3);
	ai_heartbeat_stats(&ai, &st);
	ck_assert_int_eq(st.nproviders, 2);
	ck_assert_str_eq(st.providers[0], "openai");
	ck_assert_str_eq(st.providers[1], "gemini");
	ck_assert_int_eq(st.in_flight, 1);

	/* No provider: nothing is ever claimed, and the heartbeat says so. */
	ai_cleanup(&ai);
	init_ai(0, 3, 2);
	ck_assert(!ai_enabled(&ai));
	ck_assert_int_eq(ai_room(&ai), 0);
	ai_heartbeat_stats(&ai, &st);
	ck_assert_int_eq(st.nproviders, 0);
}
END_TEST

START_TEST(test_cleanup_cancels_calls_in_flight)
{
	claim(JOB1, 1);
	ai_run(&ai);
	ai_cleanup(&ai);
	ck_assert_int_eq(cancels, 1);
	ck_assert_int_eq(ai.jobs, 0);
}
END_TEST

Suite *
ai_suite(void)
{
	Suite	*s = suite_create("ai");
	TCase	*tc = tcase_create("jobs");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_success_first_try);
	tcase_add_test(tc, test_too_long_reprompts_with_the_conversation);
	tcase_add_test(tc, test_last_reprompt_is_final);
	tcase_add_test(tc, test_retry_waits_for_the_hint);
	tcase_add_test(tc, test_retry_without_hint_backs_off);
	tcase_add_test(tc, test_hint_too_long_moves_on);
	tcase_add_test(tc, test_fallback_class_moves_on_at_once);
	tcase_add_test(tc, test_chain_exhausted_fails_with_the_log);
	tcase_add_test(tc, test_timeout_is_retried);
	tcase_add_test(tc, test_send_failure_is_retried);
	tcase_add_test(tc, test_single_provider_fails_naming_it);
	tcase_add_test(tc, test_stop_gives_every_job_back);
	tcase_add_test(tc, test_too_long_while_stopping_is_given_back);
	tcase_add_test(tc, test_lost_answer_is_sent_again);
	tcase_add_test(tc, test_lease_lost_is_logged_and_dropped);
	tcase_add_test(tc, test_refused_batch_is_held_then_sent_again);
	tcase_add_test(tc, test_lease_running_out_gives_back);
	tcase_add_test(tc, test_claim_without_prompts_fails);
	tcase_add_test(tc, test_room_and_heartbeat);
	tcase_add_test(tc, test_cleanup_cancels_calls_in_flight);
	suite_add_tcase(s, tc);
	return s;
}
