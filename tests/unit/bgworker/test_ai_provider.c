/*
 * test_ai_provider.c — bgworker/src/ai_provider.c: the request bodies of
 * OpenAI Chat Completions and Gemini generateContent (parsed back with
 * jansson), and the classification of every kind of answer
 * (external-apis.md §5), built here as strings.
 */
#include <string.h>

#include <jansson.h>

#include "../suites.h"
#include "adapters/common.h"
#include "adapters/fixture.h"
#include "ai_provider.h"
#include "buf.h"

#define KEY	"sk-test-K3y/abc+123="
#define GKEY	"AIzaSyTEST-gemini_key"
#define PROMPT	"Write about \"tea\" \xe2\x98\x95 SECRET-PROMPT-MARKER"

static const struct ai_provider openai = {
	.name = "openai", .api = AI_API_OPENAI_CHAT,
	.base_url = "http://127.0.0.1:9/openai/v1/", .api_key = KEY,
	.model = "gpt-4.1-mini", .json_schema = true,
	.max_output_tokens = 1024, .temperature = 0.8,
};

static const struct ai_provider compat = {
	.name = "compat", .api = AI_API_OPENAI_CHAT,
	.base_url = "http://127.0.0.1:9/compat/v1", .api_key = "",
	.model = "llama3", .json_schema = false,
	.max_output_tokens = 512, .temperature = 0.5,
};

static const struct ai_provider gemini = {
	.name = "gemini", .api = AI_API_GEMINI,
	.base_url = "http://127.0.0.1:9/gemini/v1beta", .api_key = GKEY,
	.model = "gemini-2.5-flash", .json_schema = true,
	.max_output_tokens = 1024, .temperature = 0.8,
};

static const struct ai_message msgs[] = {
	{ "system", "You write posts. Answer JSON." },
	{ "user", PROMPT },
	{ "assistant", "{\"variants\":[\"too long\"]}" },
	{ "user", "Shorter, please." },
};

/* ---- fake answers */

struct fake {
	struct adapter_response	 resp;
	const char		*names[8];
	const char		*values[8];
	int			 n;
};

static const char *
fake_header(const struct adapter_response *resp, const char *name)
{
	const struct fake	*f = resp->header_ctx;
	int			 i;

	for (i = 0; i < f->n; i++)
		if (strcasecmp(f->names[i], name) == 0)
			return (f->values[i]);
	return (NULL);
}

/* fake_init: an answer with status and body; headers with fake_add. */
static void
fake_init(struct fake *f, long status, const char *body)
{
	memset(f, 0, sizeof(*f));
	f->resp.status = status;
	f->resp.sent = true;
	f->resp.body = body;
	f->resp.body_len = strlen(body);
	f->resp.now_ms = FIXTURE_NOW_MS;
	f->resp.header = fake_header;
	f->resp.header_ctx = f;
}

static void
fake_add(struct fake *f, const char *name, const char *value)
{
	ck_assert_int_lt(f->n, 8);
	f->names[f->n] = name;
	f->values[f->n++] = value;
}

/* parse runs ai_parse_response on status/body and checks the invariants. */
static void
parse(const struct ai_provider *p, struct fake *f, int wanted,
    struct ai_result *r)
{
	size_t	 i;

	ai_result_free(r);	/* the previous answer of the test, if any */
	ai_parse_response(p, &f->resp, wanted, r);
	ck_assert_ptr_null(strstr(r->message, KEY));
	ck_assert_ptr_null(strstr(r->message, GKEY));
	ck_assert_ptr_null(strstr(r->message, "SECRET-PROMPT-MARKER"));
	ck_assert_ptr_null(strstr(r->message, "VARIANT-TEXT"));
	ck_assert_int_ge(r->retry_after_ms, -1);
	ck_assert(r->cls == AI_OK || r->nvariants == 0);
	ck_assert(r->cls != AI_OK || r->nvariants >= 1);
	ck_assert_uint_le(r->nvariants, AI_MAX_VARIANTS);
	for (i = 0; i < r->nvariants; i++)
		ck_assert_uint_le(strlen(r->variants[i]), AI_VARIANT_MAX);
}

static void
parse_body(const struct ai_provider *p, long status, const char *body,
    int wanted, struct ai_result *r)
{
	struct fake	 f;

	fake_init(&f, status, body);
	parse(p, &f, wanted, r);
}

/* openai_content: a 200 chat completion whose message content is text. */
static void
openai_content(const char *content, const char *finish, int wanted,
    const struct ai_provider *p, struct ai_result *r)
{
	json_t	*root;
	char	*body;

	root = json_pack("{s:s, s:s, s:[{s:i, s:{s:s, s:s, s:n}, s:s}], "
	    "s:{s:i, s:i, s:i, s:{s:i}}}",
	    "object", "chat.completion", "model", "gpt-4.1-mini-2025-04-14",
	    "choices", "index", 0, "message", "role", "assistant",
	    "content", content, "refusal", "finish_reason", finish,
	    "usage", "prompt_tokens", 19, "completion_tokens", 10,
	    "total_tokens", 29, "completion_tokens_details",
	    "reasoning_tokens", 4);
	ck_assert_ptr_nonnull(root);
	body = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	parse_body(p, 200, body, wanted, r);
	free(body);
}

static void
gemini_content(const char *content, const char *finish, int wanted,
    struct ai_result *r)
{
	json_t	*root;
	char	*body;

	root = json_pack("{s:[{s:{s:s, s:[{s:s, s:b}, {s:s}]}, s:s, s:i}], "
	    "s:{s:i, s:i, s:i, s:i, s:i}, s:s, s:s}",
	    "candidates", "content", "role", "model", "parts",
	    "text", "thinking about VARIANT-TEXT", "thought", 1, "text", content,
	    "finishReason", finish, "index", 0,
	    "usageMetadata", "promptTokenCount", 20, "candidatesTokenCount", 60,
	    "thoughtsTokenCount", 15, "toolUsePromptTokenCount", 3,
	    "totalTokenCount", 98,
	    "modelVersion", "gemini-2.5-flash-001", "responseId", "r1");
	ck_assert_ptr_nonnull(root);
	body = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	parse_body(&gemini, 200, body, wanted, r);
	free(body);
}

/* ---- requests */

static json_t *
body_json(const struct adapter_request *req)
{
	json_error_t	 err;
	json_t		*v;

	ck_assert_ptr_nonnull(req->body.data);
	v = json_loadb(req->body.data, req->body.len, 0, &err);
	ck_assert_msg(v != NULL, "body is not JSON: %s", err.text);
	return (v);
}

START_TEST(test_openai_request)
{
	struct adapter_request	 req;
	json_t			*b, *m, *schema;
	char			 err[128];

	request_init(&req);
	ck_assert_int_eq(ai_build_request(&openai, msgs, 4, 3, &req, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(req.method, "POST");
	ck_assert(req.idempotent);
	ck_assert_str_eq(req.url, "http://127.0.0.1:9/openai/v1/chat/completions");
	ck_assert_str_eq(request_header(&req, "Authorization"), "Bearer " KEY);
	ck_assert_str_eq(request_header(&req, "Content-Type"), "application/json");
	ck_assert_ptr_null(request_header(&req, "x-goog-api-key"));

	b = body_json(&req);
	ck_assert_str_eq(json_string_value(json_object_get(b, "model")), "gpt-4.1-mini");
	m = json_object_get(b, "messages");
	ck_assert_uint_eq(json_array_size(m), 4);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(m, 0), "role")), "system");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(m, 1), "role")), "user");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(m, 1), "content")), PROMPT);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(m, 2), "role")), "assistant");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(m, 3), "content")), "Shorter, please.");
	ck_assert(json_is_real(json_object_get(b, "temperature")));
	ck_assert_double_eq_tol(json_real_value(json_object_get(b, "temperature")), 0.8, 1e-9);
	ck_assert_int_eq(json_integer_value(json_object_get(b, "max_completion_tokens")), 1024);
	ck_assert_ptr_null(json_object_get(b, "n"));
	ck_assert_ptr_null(json_object_get(b, "max_tokens"));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(b,
	    "response_format"), "type")), "json_schema");
	ck_assert(json_is_true(adapters_json_get(b, "response_format",
	    "json_schema", "strict", NULL)));
	ck_assert_ptr_nonnull(adapters_json_str(b, "response_format",
	    "json_schema", "name", NULL));
	schema = adapters_json_get(b, "response_format", "json_schema", "schema", NULL);
	ck_assert_str_eq(adapters_json_str(schema, "type", NULL), "object");
	ck_assert_str_eq(adapters_json_str(schema, "properties", "variants", "type", NULL), "array");
	ck_assert_str_eq(adapters_json_str(schema, "properties", "variants",
	    "items", "type", NULL), "string");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(schema,
	    "required"), 0)), "variants");
	ck_assert(json_is_false(json_object_get(schema, "additionalProperties")));
	ck_assert_ptr_null(strstr(req.url, KEY));
	json_decref(b);
	request_cleanup(&req);
}
END_TEST

START_TEST(test_compat_request)
{
	struct adapter_request	 req;
	struct ai_provider	 p = compat;
	json_t			*b;
	char			 err[128];

	request_init(&req);
	ck_assert_int_eq(ai_build_request(&p, msgs, 2, 1, &req, err, sizeof(err)), 0);
	ck_assert_str_eq(req.url, "http://127.0.0.1:9/compat/v1/chat/completions");
	ck_assert_ptr_null(request_header(&req, "Authorization"));
	b = body_json(&req);
	ck_assert_ptr_null(json_object_get(b, "response_format"));
	ck_assert_int_eq(json_integer_value(json_object_get(b, "max_completion_tokens")), 512);
	ck_assert_uint_eq(json_array_size(json_object_get(b, "messages")), 2);
	json_decref(b);
	request_cleanup(&req);

	/* Several trailing slashes; NULL key; negative temperature is left out. */
	p.base_url = "https://llm.example.com/v1//";
	p.api_key = NULL;
	p.temperature = -1;
	p.max_output_tokens = 0;
	request_init(&req);
	ck_assert_int_eq(ai_build_request(&p, msgs, 2, 1, &req, err, sizeof(err)), 0);
	ck_assert_str_eq(req.url, "https://llm.example.com/v1/chat/completions");
	ck_assert_ptr_null(request_header(&req, "Authorization"));
	b = body_json(&req);
	ck_assert_ptr_null(json_object_get(b, "temperature"));
	ck_assert_ptr_null(json_object_get(b, "max_completion_tokens"));
	json_decref(b);
	request_cleanup(&req);
}
END_TEST

START_TEST(test_gemini_request)
{
	struct adapter_request	 req;
	json_t			*b, *c, *gc;
	char			 err[128];

	request_init(&req);
	ck_assert_int_eq(ai_build_request(&gemini, msgs, 4, 3, &req, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(req.method, "POST");
	ck_assert(req.idempotent);
	ck_assert_str_eq(req.url, "http://127.0.0.1:9/gemini/v1beta/models/"
	    "gemini-2.5-flash:generateContent");
	ck_assert_ptr_null(strstr(req.url, GKEY));
	ck_assert_ptr_null(strstr(req.url, "key="));
	ck_assert_str_eq(request_header(&req, "x-goog-api-key"), GKEY);
	ck_assert_ptr_null(request_header(&req, "Authorization"));
	ck_assert_str_eq(request_header(&req, "Content-Type"), "application/json");

	b = body_json(&req);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(
	    adapters_json_get(b, "systemInstruction", "parts", NULL), 0), "text")),
	    "You write posts. Answer JSON.");
	c = json_object_get(b, "contents");
	ck_assert_uint_eq(json_array_size(c), 3);
	ck_assert_str_eq(adapters_json_str(json_array_get(c, 0), "role", NULL), "user");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(
	    json_object_get(json_array_get(c, 0), "parts"), 0), "text")), PROMPT);
	ck_assert_str_eq(adapters_json_str(json_array_get(c, 1), "role", NULL), "model");
	ck_assert_str_eq(adapters_json_str(json_array_get(c, 2), "role", NULL), "user");
	gc = json_object_get(b, "generationConfig");
	ck_assert_int_eq(json_integer_value(json_object_get(gc, "candidateCount")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(gc, "maxOutputTokens")), 1024);
	ck_assert_double_eq_tol(json_real_value(json_object_get(gc, "temperature")), 0.8, 1e-9);
	ck_assert_str_eq(adapters_json_str(gc, "responseMimeType", NULL), "application/json");
	ck_assert_str_eq(adapters_json_str(gc, "responseSchema", "type", NULL), "OBJECT");
	ck_assert_str_eq(adapters_json_str(gc, "responseSchema", "properties",
	    "variants", "type", NULL), "ARRAY");
	ck_assert_str_eq(adapters_json_str(gc, "responseSchema", "properties",
	    "variants", "items", "type", NULL), "STRING");
	ck_assert_int_eq(json_integer_value(adapters_json_get(gc, "responseSchema",
	    "properties", "variants", "maxItems", NULL)), 3);
	ck_assert_ptr_null(json_object_get(b, "model"));
	ck_assert_ptr_null(json_object_get(b, "messages"));
	json_decref(b);
	request_cleanup(&req);
}
END_TEST

START_TEST(test_gemini_request_variations)
{
	struct adapter_request	 req;
	struct ai_provider	 p = gemini;
	json_t			*b;
	char			 err[128];

	/* No system message: no systemInstruction; "models/" prefix; slash. */
	p.model = "models/gemini-2.5-pro";
	p.base_url = "http://127.0.0.1:9/gemini/v1beta/";
	request_init(&req);
	ck_assert_int_eq(ai_build_request(&p, msgs + 1, 1, 1, &req, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(req.url, "http://127.0.0.1:9/gemini/v1beta/models/"
	    "gemini-2.5-pro:generateContent");
	b = body_json(&req);
	ck_assert_ptr_null(json_object_get(b, "systemInstruction"));
	ck_assert_uint_eq(json_array_size(json_object_get(b, "contents")), 1);
	json_decref(b);
	request_cleanup(&req);

	/* A model name with URL characters is percent-encoded. */
	p.model = "a/b?c";
	request_init(&req);
	ck_assert_int_eq(ai_build_request(&p, msgs, 2, 1, &req, err, sizeof(err)), 0);
	ck_assert_str_eq(req.url, "http://127.0.0.1:9/gemini/v1beta/models/"
	    "a%2Fb%3Fc:generateContent");
	request_cleanup(&req);
}
END_TEST

START_TEST(test_build_request_errors)
{
	struct adapter_request	 req;
	struct ai_provider	 p;
	struct ai_message	 bad[2] = { { "system", "x" }, { "tool", "y" } };
	char			 err[128], longurl[2200];

	memset(longurl, 'a', sizeof(longurl));
	memcpy(longurl, "https://", 8);
	longurl[sizeof(longurl) - 1] = '\0';

#define EXPECT_FAIL(prov, m, n, v) do {					\
	request_init(&req);						\
	ck_assert_int_eq(ai_build_request(prov, m, n, v, &req, err,	\
	    sizeof(err)), -1);						\
	ck_assert_str_ne(err, "");					\
	ck_assert_ptr_null(strstr(err, KEY));				\
	ck_assert_ptr_null(strstr(err, "SECRET-PROMPT-MARKER"));	\
	request_cleanup(&req);						\
} while (0)

	p = openai;
	p.base_url = "ftp://example.com";
	EXPECT_FAIL(&p, msgs, 2, 1);
	p.base_url = NULL;
	EXPECT_FAIL(&p, msgs, 2, 1);
	p.base_url = "http://exa mple.com";
	EXPECT_FAIL(&p, msgs, 2, 1);
	p.base_url = longurl;
	EXPECT_FAIL(&p, msgs, 2, 1);
	p = openai;
	p.model = "";
	EXPECT_FAIL(&p, msgs, 2, 1);
	p = gemini;
	p.model = "models/";
	EXPECT_FAIL(&p, msgs, 2, 1);
	p = openai;
	EXPECT_FAIL(&p, msgs, 2, 0);
	EXPECT_FAIL(&p, msgs, 2, AI_MAX_VARIANTS + 1);
	EXPECT_FAIL(&p, msgs, 0, 1);
	EXPECT_FAIL(&p, NULL, 2, 1);
	EXPECT_FAIL(&p, bad, 2, 1);
	EXPECT_FAIL(&p, msgs, 1, 1);		/* system only */
	p.api_key = KEY "\r\nX-Evil: 1";
	EXPECT_FAIL(&p, msgs, 2, 1);
	p = gemini;
	p.api_key = GKEY "\n";
	EXPECT_FAIL(&p, msgs, 2, 1);
#undef EXPECT_FAIL
}
END_TEST

/* ---- durations */

START_TEST(test_parse_duration)
{
	ck_assert_int_eq(ai_parse_duration_ms("1s"), 1000);
	ck_assert_int_eq(ai_parse_duration_ms("6m0s"), 360000);
	ck_assert_int_eq(ai_parse_duration_ms("41.724s"), 41724);
	ck_assert_int_eq(ai_parse_duration_ms("250ms"), 250);
	ck_assert_int_eq(ai_parse_duration_ms("31s"), 31000);
	ck_assert_int_eq(ai_parse_duration_ms("1h2m3s"), 3723000);
	ck_assert_int_eq(ai_parse_duration_ms("1.5h"), 5400000);
	ck_assert_int_eq(ai_parse_duration_ms("1m30.5s"), 90500);
	ck_assert_int_eq(ai_parse_duration_ms(".5s"), 500);
	ck_assert_int_eq(ai_parse_duration_ms("0"), 0);
	ck_assert_int_eq(ai_parse_duration_ms("0s"), 0);
	ck_assert_int_eq(ai_parse_duration_ms(" 2s "), 2000);
	ck_assert_int_eq(ai_parse_duration_ms("+3s"), 3000);
	/* Rounded up: never earlier than asked. */
	ck_assert_int_eq(ai_parse_duration_ms("1us"), 1);
	ck_assert_int_eq(ai_parse_duration_ms("2\xc2\xb5s"), 1);
	ck_assert_int_eq(ai_parse_duration_ms("1500000ns"), 2);
	ck_assert_int_eq(ai_parse_duration_ms("0.0001s"), 1);
	ck_assert_int_eq(ai_parse_duration_ms("1.000340012s"), 1001);
	/* Saturated, not overflowed. */
	ck_assert_int_eq(ai_parse_duration_ms("99999999999999999999999h"),
	    INT64_C(1000000000000));
	ck_assert_int_eq(ai_parse_duration_ms("9999999999h9999999999h"),
	    INT64_C(1000000000000));

	ck_assert_int_eq(ai_parse_duration_ms(NULL), -1);
	ck_assert_int_eq(ai_parse_duration_ms(""), -1);
	ck_assert_int_eq(ai_parse_duration_ms("   "), -1);
	ck_assert_int_eq(ai_parse_duration_ms("s"), -1);
	ck_assert_int_eq(ai_parse_duration_ms("5"), -1);
	ck_assert_int_eq(ai_parse_duration_ms("-1s"), -1);
	ck_assert_int_eq(ai_parse_duration_ms("1x"), -1);
	ck_assert_int_eq(ai_parse_duration_ms("1s2"), -1);
	ck_assert_int_eq(ai_parse_duration_ms("1..2s"), -1);
	ck_assert_int_eq(ai_parse_duration_ms("1s 2s"), -1);
	ck_assert_int_eq(ai_parse_duration_ms("abc"), -1);
	ck_assert_int_eq(ai_parse_duration_ms("."), -1);
}
END_TEST

/* ---- successes */

START_TEST(test_openai_ok)
{
	struct ai_result	 r = { .variants = NULL };

	openai_content("{\"variants\":[\"First \xe2\x98\x95\",\"Second\","
	    "\" Third \\n\"]}", "stop", 3, &openai, &r);
	ck_assert_int_eq(r.cls, AI_OK);
	ck_assert_str_eq(r.code, "");
	ck_assert_int_eq(r.http_status, 200);
	ck_assert_str_eq(r.model, "gpt-4.1-mini-2025-04-14");
	ck_assert_int_eq(r.prompt_tokens, 19);
	ck_assert_int_eq(r.completion_tokens, 10);	/* reasoning included */
	ck_assert_uint_eq(r.nvariants, 3);
	ck_assert_str_eq(r.variants[0], "First \xe2\x98\x95");
	ck_assert_str_eq(r.variants[1], "Second");
	ck_assert_str_eq(r.variants[2], "Third");
	ck_assert_str_eq(r.raw_text, "{\"variants\":[\"First \xe2\x98\x95\","
	    "\"Second\",\" Third \\n\"]}");
	ck_assert_int_eq(r.retry_after_ms, -1);
	ck_assert_str_eq(ai_class_name(r.cls), "ok");
	ai_result_free(&r);
}
END_TEST

START_TEST(test_gemini_ok)
{
	struct ai_result	 r = { .variants = NULL };

	gemini_content("{\"variants\": [\"Tea time\", \"Brew it\"]}", "STOP", 2, &r);
	ck_assert_int_eq(r.cls, AI_OK);
	ck_assert_str_eq(r.model, "gemini-2.5-flash-001");
	ck_assert_int_eq(r.prompt_tokens, 23);		/* + toolUsePrompt */
	ck_assert_int_eq(r.completion_tokens, 75);	/* + thoughts */
	ck_assert_uint_eq(r.nvariants, 2);
	ck_assert_str_eq(r.variants[0], "Tea time");
	ck_assert_str_eq(r.variants[1], "Brew it");
	/* The thought part is not the answer. */
	ck_assert_ptr_null(strstr(r.raw_text, "thinking"));
	ai_result_free(&r);
}
END_TEST

START_TEST(test_model_defaults_to_configured)
{
	struct ai_result	 r = { .variants = NULL };

	parse_body(&openai, 200, "{\"choices\":[{\"message\":{\"content\":"
	    "\"{\\\"variants\\\":[\\\"A\\\"]}\"},\"finish_reason\":\"stop\"}]}",
	    1, &r);
	ck_assert_int_eq(r.cls, AI_OK);
	ck_assert_str_eq(r.model, "gpt-4.1-mini");
	ck_assert_int_eq(r.prompt_tokens, 0);
	ck_assert_int_eq(r.completion_tokens, 0);
	ai_result_free(&r);
}
END_TEST

START_TEST(test_fenced_json)
{
	struct ai_result	 r = { .variants = NULL };

	openai_content("```json\n{\"variants\":[\"A\",\"B\"]}\n```", "stop", 2,
	    &openai, &r);
	ck_assert_int_eq(r.cls, AI_OK);
	ck_assert_uint_eq(r.nvariants, 2);
	ck_assert_str_eq(r.variants[1], "B");
	ai_result_free(&r);

	openai_content("Here you go:\n```\n{\"variants\":[\"A\"]}\n```\nEnjoy!",
	    "stop", 1, &openai, &r);
	ck_assert_int_eq(r.cls, AI_OK);
	ck_assert_str_eq(r.variants[0], "A");
	ai_result_free(&r);

	/* Unclosed fence (still JSON inside). */
	gemini_content("```json\n{\"variants\":[\"G\"]}", "STOP", 1, &r);
	ck_assert_int_eq(r.cls, AI_OK);
	ck_assert_str_eq(r.variants[0], "G");
	ai_result_free(&r);

	/* JSON in prose, without a fence. */
	openai_content("Sure! {\"variants\":[\"P\"]} Hope it helps.", "stop", 1,
	    &openai, &r);
	ck_assert_int_eq(r.cls, AI_OK);
	ck_assert_str_eq(r.variants[0], "P");
	ai_result_free(&r);
}
END_TEST

START_TEST(test_bare_array)
{
	struct ai_result	 r = { .variants = NULL };

	openai_content("[\"One\", \"Two\"]", "stop", 2, &openai, &r);
	ck_assert_int_eq(r.cls, AI_OK);
	ck_assert_uint_eq(r.nvariants, 2);
	ck_assert_str_eq(r.variants[0], "One");
	ai_result_free(&r);

	/* Items as {"text": …} objects; another single key than variants. */
	openai_content("{\"posts\":[{\"text\":\"Obj\"}, 7, \"Str\"]}", "stop", 3,
	    &openai, &r);
	ck_assert_int_eq(r.cls, AI_OK);
	ck_assert_uint_eq(r.nvariants, 2);
	ck_assert_str_eq(r.variants[0], "Obj");
	ck_assert_str_eq(r.variants[1], "Str");
	ai_result_free(&r);
}
END_TEST

START_TEST(test_plain_text)
{
	struct ai_result	 r = { .variants = NULL };

	/* json_schema off, one variant: the text itself. */
	openai_content("  Tea is great. Top 3 tips [1, 2, 3] inside.\n", "stop", 1,
	    &compat, &r);
	ck_assert_int_eq(r.cls, AI_OK);
	ck_assert_uint_eq(r.nvariants, 1);
	ck_assert_str_eq(r.variants[0], "Tea is great. Top 3 tips [1, 2, 3] inside.");
	ai_result_free(&r);

	/* A fenced plain text: the inside. */
	openai_content("```\nJust text\n```", "stop", 1, &compat, &r);
	ck_assert_int_eq(r.cls, AI_OK);
	ck_assert_str_eq(r.variants[0], "Just text");
	ai_result_free(&r);

	/* Two wanted: plain text is not enough. */
	openai_content("Tea is great.", "stop", 2, &compat, &r);
	ck_assert_int_eq(r.cls, AI_RETRY);
	ck_assert_str_eq(r.code, "malformed");
	ai_result_free(&r);

	/* json_schema on (OpenAI, Gemini): never plain text. */
	openai_content("Tea is great.", "stop", 1, &openai, &r);
	ck_assert_int_eq(r.cls, AI_RETRY);
	ck_assert_str_eq(r.code, "malformed");
	ck_assert_ptr_null(r.variants);
	ck_assert_str_eq(r.raw_text, "Tea is great.");
	ai_result_free(&r);
	gemini_content("Tea is great.", "STOP", 1, &r);
	ck_assert_int_eq(r.cls, AI_RETRY);
	ck_assert_str_eq(r.code, "malformed");
	ai_result_free(&r);
}
END_TEST

START_TEST(test_variant_counts)
{
	struct ai_result	 r = { .variants = NULL };

	/* Fewer than asked: OK with what came. */
	openai_content("{\"variants\":[\"A\",\"B\"]}", "stop", 3, &openai, &r);
	ck_assert_int_eq(r.cls, AI_OK);
	ck_assert_uint_eq(r.nvariants, 2);
	ck_assert_ptr_nonnull(strstr(r.message, "2 of 3"));
	ai_result_free(&r);

	/* More than asked: the first ones. */
	openai_content("{\"variants\":[\"A\",\"B\",\"C\",\"D\"]}", "stop", 2,
	    &openai, &r);
	ck_assert_uint_eq(r.nvariants, 2);
	ck_assert_str_eq(r.variants[1], "B");
	ai_result_free(&r);

	/* Never more than AI_MAX_VARIANTS, whatever is asked. */
	openai_content("[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\"]", "stop", 50,
	    &openai, &r);
	ck_assert_uint_eq(r.nvariants, AI_MAX_VARIANTS);
	ai_result_free(&r);
	openai_content("[\"1\",\"2\"]", "stop", 0, &openai, &r);
	ck_assert_uint_eq(r.nvariants, 1);
	ai_result_free(&r);

	/* Blank ones do not count. */
	openai_content("{\"variants\":[\"  \",\"\",\"Real\"]}", "stop", 3,
	    &openai, &r);
	ck_assert_int_eq(r.cls, AI_OK);
	ck_assert_uint_eq(r.nvariants, 1);
	ck_assert_str_eq(r.variants[0], "Real");
	ai_result_free(&r);
}
END_TEST

START_TEST(test_variant_size_bound)
{
	struct ai_result	 r = { .variants = NULL };
	struct buf		 content;
	size_t			 i;

	/* 70 000 bytes of 3-byte characters: cut on a character boundary. */
	buf_init(&content);
	ck_assert_int_eq(buf_append(&content, "[\"", 2), 0);
	for (i = 0; i < 70000 / 3; i++)
		ck_assert_int_eq(buf_append(&content, "\xe2\x98\x95", 3), 0);
	ck_assert_int_eq(buf_append(&content, "\"]", 2), 0);
	openai_content(content.data, "stop", 1, &openai, &r);
	ck_assert_int_eq(r.cls, AI_OK);
	ck_assert_uint_le(strlen(r.variants[0]), AI_VARIANT_MAX);
	ck_assert_uint_ge(strlen(r.variants[0]), AI_VARIANT_MAX - 3);
	ck_assert(buf_utf8_valid(r.variants[0], strlen(r.variants[0])));
	ai_result_free(&r);
	buf_cleanup(&content);
}
END_TEST

/* ---- failures of a 2xx answer */

START_TEST(test_empty)
{
	struct ai_result	 r = { .variants = NULL };

	openai_content("{\"variants\":[]}", "stop", 1, &openai, &r);
	ck_assert_int_eq(r.cls, AI_RETRY);
	ck_assert_str_eq(r.code, "empty");
	ck_assert_ptr_null(r.variants);
	ai_result_free(&r);

	openai_content("{\"variants\":[\" \",\"\\n\"]}", "stop", 2, &openai, &r);
	ck_assert_str_eq(r.code, "empty");
	ai_result_free(&r);

	openai_content("   ", "stop", 1, &compat, &r);
	ck_assert_int_eq(r.cls, AI_RETRY);
	ck_assert_str_eq(r.code, "empty");
	ai_result_free(&r);

	parse_body(&openai, 200, "{\"choices\":[]}", 1, &r);
	ck_assert_str_eq(r.code, "empty");
	parse_body(&openai, 200, "{\"choices\":[{\"message\":{\"content\":null},"
	    "\"finish_reason\":\"tool_calls\"}]}", 1, &r);
	ck_assert_int_eq(r.cls, AI_RETRY);
	ck_assert_str_eq(r.code, "empty");
	ck_assert_ptr_nonnull(strstr(r.message, "tool_calls"));
	parse_body(&gemini, 200, "{\"candidates\":[]}", 1, &r);
	ck_assert_str_eq(r.code, "empty");
	parse_body(&gemini, 200, "{\"candidates\":[{\"content\":{\"parts\":[]},"
	    "\"finishReason\":\"STOP\"}]}", 1, &r);
	ck_assert_str_eq(r.code, "empty");
	ai_result_free(&r);
}
END_TEST

START_TEST(test_malformed)
{
	struct ai_result	 r = { .variants = NULL };

	parse_body(&openai, 200, "not json at all", 1, &r);
	ck_assert_int_eq(r.cls, AI_RETRY);
	ck_assert_str_eq(r.code, "malformed");
	parse_body(&openai, 200, "", 1, &r);
	ck_assert_str_eq(r.code, "malformed");
	parse_body(&openai, 200, "{\"choices\":[{\"message\":{\"content\":\"{\\\"variants\\\"",
	    1, &r);
	ck_assert_str_eq(r.code, "malformed");
	parse_body(&gemini, 200, "[1,2,3]", 1, &r);
	ck_assert_str_eq(r.code, "malformed");
	parse_body(&openai, 200, "\"just a string\"", 1, &r);
	ck_assert_str_eq(r.code, "malformed");
	/* Invalid UTF-8 in the body. */
	parse_body(&openai, 200, "{\"choices\":[{\"message\":{\"content\":\"\xff\"}}]}",
	    1, &r);
	ck_assert_str_eq(r.code, "malformed");

	/* Content that is JSON but not ours, with a schema: malformed. */
	openai_content("{\"a\":1,\"b\":2}", "stop", 1, &openai, &r);
	ck_assert_str_eq(r.code, "malformed");
	ai_result_free(&r);
	openai_content("[1, 2]", "stop", 1, &openai, &r);
	ck_assert_str_eq(r.code, "malformed");
	ck_assert_ptr_null(strstr(r.message, "[1, 2]"));
	ai_result_free(&r);

	/* Wrong types everywhere: still a verdict, tokens clamped. */
	parse_body(&openai, 200, "{\"model\":7,\"choices\":{\"a\":1},\"usage\":"
	    "{\"prompt_tokens\":-5,\"completion_tokens\":1e300}}", 1, &r);
	ck_assert_int_eq(r.cls, AI_RETRY);
	ck_assert_str_eq(r.model, "gpt-4.1-mini");
	ck_assert_int_eq(r.prompt_tokens, 0);
	ck_assert_int_ge(r.completion_tokens, 0);
	parse_body(&openai, 200, "{\"usage\":{\"prompt_tokens\":99999999999999}}",
	    1, &r);
	ck_assert_int_eq(r.prompt_tokens, 1000000000L);
}
END_TEST

START_TEST(test_truncated)
{
	struct ai_result	 r = { .variants = NULL };

	openai_content("{\"variants\":[\"VARIANT-TEXT cut", "length", 1, &openai, &r);
	ck_assert_int_eq(r.cls, AI_RETRY);
	ck_assert_str_eq(r.code, "truncated");
	ck_assert_int_eq(r.completion_tokens, 10);
	ck_assert_ptr_null(r.variants);
	ai_result_free(&r);

	/* Even when what came parses. */
	gemini_content("{\"variants\":[\"VARIANT-TEXT\"]}", "MAX_TOKENS", 1, &r);
	ck_assert_int_eq(r.cls, AI_RETRY);
	ck_assert_str_eq(r.code, "truncated");
	ck_assert_uint_eq(r.nvariants, 0);
	ai_result_free(&r);
}
END_TEST

START_TEST(test_blocked)
{
	struct ai_result	 r = { .variants = NULL };

	openai_content("VARIANT-TEXT", "content_filter", 1, &openai, &r);
	ck_assert_int_eq(r.cls, AI_FALLBACK);
	ck_assert_str_eq(r.code, "blocked");
	ck_assert_ptr_nonnull(strstr(r.message, "content_filter"));
	ai_result_free(&r);

	gemini_content("", "SAFETY", 1, &r);
	ck_assert_int_eq(r.cls, AI_FALLBACK);
	ck_assert_str_eq(r.code, "blocked");
	ck_assert_ptr_nonnull(strstr(r.message, "SAFETY"));
	ai_result_free(&r);

	gemini_content("{\"variants\":[\"x\"]}", "PROHIBITED_CONTENT", 1, &r);
	ck_assert_int_eq(r.cls, AI_FALLBACK);
	ai_result_free(&r);

	parse_body(&gemini, 200, "{\"candidates\":[{\"finishReason\":\"RECITATION\","
	    "\"index\":0}]}", 1, &r);
	ck_assert_int_eq(r.cls, AI_FALLBACK);
	ck_assert_str_eq(r.code, "blocked");

	parse_body(&gemini, 200, "{\"promptFeedback\":{\"blockReason\":\"OTHER\","
	    "\"safetyRatings\":[]},\"usageMetadata\":{\"promptTokenCount\":7},"
	    "\"modelVersion\":\"gemini-2.5-flash\"}", 1, &r);
	ck_assert_int_eq(r.cls, AI_FALLBACK);
	ck_assert_str_eq(r.code, "blocked");
	ck_assert_ptr_nonnull(strstr(r.message, "OTHER"));
	ck_assert_int_eq(r.prompt_tokens, 7);
	ai_result_free(&r);
}
END_TEST

START_TEST(test_refusal)
{
	struct ai_result	 r = { .variants = NULL };

	parse_body(&openai, 200, "{\"model\":\"gpt-4.1-mini\",\"choices\":[{"
	    "\"message\":{\"role\":\"assistant\",\"content\":null,\"refusal\":"
	    "\"I can't help with VARIANT-TEXT SECRET-PROMPT-MARKER\"},"
	    "\"finish_reason\":\"stop\"}]}", 1, &r);
	ck_assert_int_eq(r.cls, AI_FALLBACK);
	ck_assert_str_eq(r.code, "refusal");
	ck_assert_ptr_null(r.variants);
	ck_assert_str_eq(ai_class_name(r.cls), "fallback");
	ai_result_free(&r);
}
END_TEST

/* ---- HTTP errors */

#define OPENAI_429 "{\"error\":{\"message\":\"Rate limit reached for " \
	"gpt-4.1-mini in organization org-abc on tokens per min (TPM): " \
	"Limit 30000, Used 29000, Requested 1500. Please try again in " \
	"41.724s. Visit https://platform.openai.com/account/rate-limits to " \
	"learn more.\",\"type\":\"tokens\",\"param\":null,\"code\":" \
	"\"rate_limit_exceeded\"}}"

START_TEST(test_openai_rate_limited)
{
	struct ai_result	 r = { .variants = NULL };
	struct fake		 f;

	/* The message's "try again in". */
	fake_init(&f, 429, OPENAI_429);
	parse(&openai, &f, 1, &r);
	ck_assert_int_eq(r.cls, AI_RETRY);
	ck_assert_str_eq(r.code, "rate_limit_exceeded");
	ck_assert_int_eq(r.http_status, 429);
	ck_assert_int_eq(r.retry_after_ms, 41724);
	ck_assert_ptr_nonnull(strstr(r.message, "HTTP 429"));
	ck_assert_ptr_nonnull(strstr(r.message, "Rate limit reached"));
	ck_assert_uint_le(strlen(r.message), sizeof(r.message) - 1);

	/* retry-after wins over the message. */
	fake_add(&f, "retry-after", "20");
	parse(&openai, &f, 1, &r);
	ck_assert_int_eq(r.retry_after_ms, 20000);

	/* retry-after-ms wins over retry-after. */
	fake_add(&f, "retry-after-ms", "1500");
	parse(&openai, &f, 1, &r);
	ck_assert_int_eq(r.retry_after_ms, 1500);

	/* The reset headers alone. */
	fake_init(&f, 429, "{\"error\":{\"message\":\"slow down\","
	    "\"code\":\"rate_limit_exceeded\"}}");
	fake_add(&f, "x-ratelimit-reset-tokens", "6m0s");
	parse(&openai, &f, 1, &r);
	ck_assert_int_eq(r.cls, AI_RETRY);
	ck_assert_int_eq(r.retry_after_ms, 360000);

	/* The exhausted limit's reset, not the longest. */
	fake_add(&f, "x-ratelimit-remaining-tokens", "1000");
	fake_add(&f, "x-ratelimit-reset-requests", "1s");
	fake_add(&f, "x-ratelimit-remaining-requests", "0");
	parse(&openai, &f, 1, &r);
	ck_assert_int_eq(r.retry_after_ms, 1000);

	/* No hint at all; no code from the provider. */
	fake_init(&f, 429, "{}");
	parse(&openai, &f, 1, &r);
	ck_assert_int_eq(r.cls, AI_RETRY);
	ck_assert_str_eq(r.code, "rate_limit_exceeded");
	ck_assert_int_eq(r.retry_after_ms, -1);

	/* A fractional retry-after; an HTTP date. */
	fake_init(&f, 429, "{}");
	fake_add(&f, "Retry-After", "2.5");
	parse(&openai, &f, 1, &r);
	ck_assert_int_eq(r.retry_after_ms, 2500);
	fake_init(&f, 429, "{}");
	fake_add(&f, "Retry-After", "Thu, 01 Jan 2026 00:01:00 GMT");
	parse(&openai, &f, 1, &r);
	ck_assert_int_eq(r.retry_after_ms, 60000);

	/* "try again in 20 seconds" (other wording of compat servers). */
	parse_body(&compat, 429, "{\"error\":{\"message\":\"Please try again in "
	    "20 seconds.\"}}", 1, &r);
	ck_assert_int_eq(r.retry_after_ms, 20000);
	parse_body(&compat, 429, "{\"error\":{\"message\":\"try again in 1m30s\"}}",
	    1, &r);
	ck_assert_int_eq(r.retry_after_ms, 90000);
	parse_body(&compat, 429, "{\"error\":{\"message\":\"try again in a bit\"}}",
	    1, &r);
	ck_assert_int_eq(r.retry_after_ms, -1);
}
END_TEST

START_TEST(test_insufficient_quota)
{
	struct ai_result	 r = { .variants = NULL };

	parse_body(&openai, 429, "{\"error\":{\"message\":\"You exceeded your "
	    "current quota, please check your plan and billing details.\","
	    "\"type\":\"insufficient_quota\",\"param\":null,\"code\":"
	    "\"insufficient_quota\"}}", 1, &r);
	ck_assert_int_eq(r.cls, AI_FALLBACK);
	ck_assert_str_eq(r.code, "insufficient_quota");
	ck_assert_ptr_nonnull(strstr(r.message, "exceeded your current quota"));
	ck_assert_int_eq(r.retry_after_ms, -1);
}
END_TEST

#define GEMINI_429 "{\"error\":{\"code\":429,\"message\":\"You exceeded your " \
	"current quota. Please retry in 31.5s.\",\"status\":\"RESOURCE_EXHAUSTED\"," \
	"\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.QuotaFailure\"," \
	"\"violations\":[]},{\"@type\":\"type.googleapis.com/google.rpc.Help\"}," \
	"{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":" \
	"\"31s\"}]}}"

START_TEST(test_gemini_resource_exhausted)
{
	struct ai_result	 r = { .variants = NULL };

	parse_body(&gemini, 429, GEMINI_429, 1, &r);
	ck_assert_int_eq(r.cls, AI_RETRY);
	ck_assert_str_eq(r.code, "RESOURCE_EXHAUSTED");
	ck_assert_int_eq(r.retry_after_ms, 31000);
	ck_assert_ptr_nonnull(strstr(r.message, "RESOURCE_EXHAUSTED"));

	/* Wrapped in an array, as Gemini sometimes answers. */
	parse_body(&gemini, 429, "[" GEMINI_429 "]", 1, &r);
	ck_assert_int_eq(r.cls, AI_RETRY);
	ck_assert_int_eq(r.retry_after_ms, 31000);

	/* Without RetryInfo. */
	parse_body(&gemini, 429, "{\"error\":{\"code\":429,\"status\":"
	    "\"RESOURCE_EXHAUSTED\",\"details\":[{\"@type\":\"x.RetryInfo\","
	    "\"retryDelay\":\"soon\"}]}}", 1, &r);
	ck_assert_int_eq(r.cls, AI_RETRY);
	ck_assert_int_eq(r.retry_after_ms, -1);
}
END_TEST

START_TEST(test_server_errors)
{
	struct ai_result	 r = { .variants = NULL };
	struct fake		 f;

	parse_body(&openai, 500, "{\"error\":{\"message\":\"The server had an "
	    "error while processing your request.\",\"type\":\"server_error\","
	    "\"code\":null}}", 1, &r);
	ck_assert_int_eq(r.cls, AI_RETRY);
	ck_assert_str_eq(r.code, "server_error");
	ck_assert_int_eq(r.retry_after_ms, -1);

	fake_init(&f, 503, "{\"error\":{\"code\":503,\"message\":\"The model is "
	    "overloaded. Please try again later.\",\"status\":\"UNAVAILABLE\"}}");
	fake_add(&f, "Retry-After", "7");
	parse(&gemini, &f, 1, &r);
	ck_assert_int_eq(r.cls, AI_RETRY);
	ck_assert_str_eq(r.code, "server_error");
	ck_assert_int_eq(r.retry_after_ms, 7000);
	ck_assert_ptr_nonnull(strstr(r.message, "UNAVAILABLE"));

	parse_body(&gemini, 504, "{\"error\":{\"code\":504,\"message\":\"Deadline "
	    "expired before operation could complete.\",\"status\":"
	    "\"DEADLINE_EXCEEDED\"}}", 1, &r);
	ck_assert_int_eq(r.cls, AI_RETRY);
	ck_assert_int_eq(r.http_status, 504);

	/* A proxy's HTML page: no provider text, no HTML in the message. */
	parse_body(&openai, 502, "<html><body>Bad Gateway VARIANT-TEXT</body></html>",
	    1, &r);
	ck_assert_int_eq(r.cls, AI_RETRY);
	ck_assert_ptr_null(strstr(r.message, "<html>"));

	parse_body(&openai, 408, "", 1, &r);
	ck_assert_int_eq(r.cls, AI_RETRY);
	ck_assert_str_eq(r.code, "request_timeout");
	parse_body(&openai, 409, "{}", 1, &r);
	ck_assert_int_eq(r.cls, AI_RETRY);
	ck_assert_str_eq(r.code, "conflict");
}
END_TEST

START_TEST(test_client_errors)
{
	struct ai_result	 r = { .variants = NULL };

	parse_body(&openai, 400, "{\"error\":{\"message\":\"Invalid value for "
	    "'temperature'.\",\"type\":\"invalid_request_error\",\"param\":"
	    "\"temperature\",\"code\":\"invalid_value\"}}", 1, &r);
	ck_assert_int_eq(r.cls, AI_FALLBACK);
	ck_assert_str_eq(r.code, "bad_request");
	ck_assert_ptr_nonnull(strstr(r.message, "invalid_value"));
	ck_assert_ptr_nonnull(strstr(r.message, "Invalid value"));

	/* A provider echoing the key: redacted. */
	parse_body(&openai, 401, "{\"error\":{\"message\":\"Incorrect API key "
	    "provided: " KEY ". You can find your API key at https://platform."
	    "openai.com/account/api-keys.\",\"type\":\"invalid_request_error\","
	    "\"code\":\"invalid_api_key\"}}", 1, &r);
	ck_assert_int_eq(r.cls, AI_FALLBACK);
	ck_assert_str_eq(r.code, "unauthorized");
	ck_assert_ptr_nonnull(strstr(r.message, "[redacted]"));

	parse_body(&gemini, 400, "{\"error\":{\"code\":400,\"message\":\"API key "
	    "not valid. Please pass a valid API key.\",\"status\":"
	    "\"INVALID_ARGUMENT\"}}", 1, &r);
	ck_assert_int_eq(r.cls, AI_FALLBACK);
	ck_assert_str_eq(r.code, "bad_request");

	parse_body(&gemini, 403, "{\"error\":{\"code\":403,\"message\":\"denied\","
	    "\"status\":\"PERMISSION_DENIED\"}}", 1, &r);
	ck_assert_int_eq(r.cls, AI_FALLBACK);
	ck_assert_str_eq(r.code, "forbidden");

	parse_body(&openai, 404, "{\"error\":{\"message\":\"The model `gpt-9` does "
	    "not exist\",\"type\":\"invalid_request_error\",\"code\":"
	    "\"model_not_found\"}}", 1, &r);
	ck_assert_int_eq(r.cls, AI_FALLBACK);
	ck_assert_str_eq(r.code, "not_found");

	parse_body(&compat, 422, "{\"detail\":\"bad field\"}", 1, &r);
	ck_assert_int_eq(r.cls, AI_FALLBACK);
	ck_assert_str_eq(r.code, "client_error");
	ck_assert_ptr_nonnull(strstr(r.message, "bad field"));

	parse_body(&compat, 400, "{\"error\":\"plain string error\"}", 1, &r);
	ck_assert_ptr_nonnull(strstr(r.message, "plain string error"));

	parse_body(&openai, 302, "", 1, &r);
	ck_assert_int_eq(r.cls, AI_FALLBACK);
	ck_assert_str_eq(r.code, "unexpected_status");

	/* An error body's usage and model are still read. */
	parse_body(&openai, 400, "{\"model\":\"m2\",\"error\":{}}", 1, &r);
	ck_assert_str_eq(r.model, "m2");
	ck_assert_ptr_nonnull(strstr(r.message, "no details"));
}
END_TEST

START_TEST(test_no_answer)
{
	struct ai_result	 r = { .variants = NULL };
	struct fake		 f;

	fake_init(&f, 0, "");
	f.resp.timed_out = true;
	f.resp.transport_error = "Operation timed out after 60000 milliseconds "
	    "with 0 bytes received; key " KEY;
	parse(&openai, &f, 1, &r);
	ck_assert_int_eq(r.cls, AI_RETRY);
	ck_assert_str_eq(r.code, "timeout");
	ck_assert_int_eq(r.http_status, 0);
	ck_assert_ptr_nonnull(strstr(r.message, "timed out"));

	fake_init(&f, 0, "");
	f.resp.sent = false;
	f.resp.transport_error = "Failed to connect to 127.0.0.1 port 9";
	parse(&gemini, &f, 1, &r);
	ck_assert_int_eq(r.cls, AI_RETRY);
	ck_assert_str_eq(r.code, "network");
	ck_assert_ptr_nonnull(strstr(r.message, "Failed to connect"));

	fake_init(&f, 0, "");
	f.resp.transport_error = NULL;
	f.resp.body = NULL;
	parse(&openai, &f, 1, &r);
	ck_assert_str_eq(r.code, "network");
	ck_assert_str_eq(r.model, "gpt-4.1-mini");
}
END_TEST

START_TEST(test_result_free)
{
	struct ai_result	 r = { .variants = NULL };

	ai_result_free(NULL);
	openai_content("{\"variants\":[\"A\",\"B\"]}", "stop", 2, &openai, &r);
	ck_assert_uint_eq(r.nvariants, 2);
	ai_result_free(&r);
	ck_assert_ptr_null(r.variants);
	ck_assert_ptr_null(r.raw_text);
	ck_assert_uint_eq(r.nvariants, 0);
	ai_result_free(&r);		/* twice is fine */
	/* Re-usable. */
	gemini_content("{\"variants\":[\"C\"]}", "STOP", 1, &r);
	ck_assert_str_eq(r.variants[0], "C");
	ai_result_free(&r);
	ck_assert_str_eq(ai_class_name(AI_RETRY), "retry");
}
END_TEST

Suite *
ai_provider_suite(void)
{
	Suite	*s = suite_create("ai_provider");
	TCase	*tq = tcase_create("request");
	TCase	*ta = tcase_create("answer");
	TCase	*te = tcase_create("error");

	tcase_add_test(tq, test_openai_request);
	tcase_add_test(tq, test_compat_request);
	tcase_add_test(tq, test_gemini_request);
	tcase_add_test(tq, test_gemini_request_variations);
	tcase_add_test(tq, test_build_request_errors);
	tcase_add_test(tq, test_parse_duration);
	suite_add_tcase(s, tq);
	tcase_add_test(ta, test_openai_ok);
	tcase_add_test(ta, test_gemini_ok);
	tcase_add_test(ta, test_model_defaults_to_configured);
	tcase_add_test(ta, test_fenced_json);
	tcase_add_test(ta, test_bare_array);
	tcase_add_test(ta, test_plain_text);
	tcase_add_test(ta, test_variant_counts);
	tcase_add_test(ta, test_variant_size_bound);
	tcase_add_test(ta, test_empty);
	tcase_add_test(ta, test_malformed);
	tcase_add_test(ta, test_truncated);
	tcase_add_test(ta, test_blocked);
	tcase_add_test(ta, test_refusal);
	tcase_add_test(ta, test_result_free);
	suite_add_tcase(s, ta);
	tcase_add_test(te, test_openai_rate_limited);
	tcase_add_test(te, test_insufficient_quota);
	tcase_add_test(te, test_gemini_resource_exhausted);
	tcase_add_test(te, test_server_errors);
	tcase_add_test(te, test_client_errors);
	tcase_add_test(te, test_no_answer);
	suite_add_tcase(s, te);
	return s;
}
