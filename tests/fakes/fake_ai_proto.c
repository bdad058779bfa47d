/*
 * tests/fakes/fake_ai_proto.c — the fake AI providers' protocols: OpenAI
 * Chat Completions (also the "compat" provider: any OpenAI-compatible
 * server) and Gemini generateContent, as ../shared/reference/
 * external-apis.md §5 describes them.
 *
 * fai_validate checks a request as the real API does (route, credentials,
 * body shape) and answers the real API's error when it fails; fai_answer
 * answers a valid request with the scripted step: a generated success,
 * truncated, blocked or malformed answer, or one of the providers' error
 * bodies (with their headers and retry hints).
 *
 * Generated text is deterministic: the first user message is read as the
 * dispatcher's JSON data ({"brief":{"topic"…}, "variants": N,
 * "max_length": L}); variant i reads "<topic> — take <i>: a draft by the
 * fake <provider>. …", cut to min(L, 200) characters (X's weighted count,
 * so it fits X too).  Token counts: prompt = characters of every message
 * text / 4 (at least 1), completion = characters of the output / 4 (at
 * least 1 when there is output) plus 3 reasoning ("thoughts") tokens.
 *
 * Memory: every function here fills a caller's reply (fc_reply_clear
 * frees it) and frees what it allocates itself; nothing is kept.
 * No state, no locks: safe from any thread.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fake_ai.h"

#define OK_MAX		200	/* characters of an "ok" variant, at most */
#define MAX_VARIANTS	10

const char *const fai_step_names[FAI_NSTEPS] = {
	"ok", "long", "long_one", "text", "fenced", "empty", "rate_limit",
	"insufficient_quota", "server_error", "unavailable", "bad_request",
	"unauthorized", "forbidden", "not_found", "malformed", "truncated",
	"blocked", "prompt_blocked", "refusal", "hang", "close"
};

const char *const fai_provider_names[FAI_NPROVIDERS] = {
	"openai", "gemini", "compat"
};

int
fai_step_of(const char *name)
{
	int	 i;

	for (i = 0; name != NULL && i < FAI_NSTEPS; i++)
		if (strcmp(name, fai_step_names[i]) == 0)
			return (i);
	return (-1);
}

/* The 500 answered when a JSON reply cannot be built (fake_common.h). */
const char fc_json_error[] = "{\"error\":\"fake_ai: cannot build the answer\"}";

/* ==== small helpers */

static json_t *
str_or_null(const char *s)
{
	return (s != NULL ? json_string(s) : json_null());
}

static char *
xstrdup(const char *s)
{
	char	*d = strdup(s);

	if (d == NULL)
		abort();
	return (d);
}

static char *
xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
xasprintf(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	return (s);
}

struct sbuf {
	char	*p;
	size_t	 len, cap;
};

static void
sb_add(struct sbuf *b, const char *s)
{
	size_t	 n = strlen(s);

	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		if ((b->p = realloc(b->p, b->cap)) == NULL)
			abort();
	}
	memcpy(b->p + b->len, s, n + 1);
	b->len += n;
}

/* ==== UTF-8 and lengths */

/* utf8_next decodes the code point at *sp and advances; a bad byte is one U+FFFD. */
static uint32_t
utf8_next(const char **sp)
{
	const unsigned char	*s = (const unsigned char *)*sp;
	uint32_t		 cp;
	int			 n, i;

	if (s[0] < 0x80) {
		*sp += 1;
		return (s[0]);
	}
	if ((s[0] & 0xe0) == 0xc0) {
		n = 1;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 2;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 3;
		cp = s[0] & 0x07;
	} else {
		*sp += 1;
		return (0xfffd);
	}
	for (i = 1; i <= n; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*sp += 1;
			return (0xfffd);
		}
		cp = cp << 6 | (s[i] & 0x3f);
	}
	*sp += n + 1;
	return (cp);
}

static size_t
chars(const char *s)
{
	size_t	 n = 0;

	while (*s != '\0') {
		utf8_next(&s);
		n++;
	}
	return (n);
}

/* x_weight: twitter-text's weight of a code point (URLs aside). */
static int
x_weight(uint32_t cp)
{
	if (cp <= 4351 || (cp >= 8192 && cp <= 8205) ||
	    (cp >= 8208 && cp <= 8223) || (cp >= 8242 && cp <= 8247))
		return (1);
	return (2);
}

/* cut_at: bytes of the longest prefix of s within limit (weighted or not). */
static size_t
cut_at(const char *s, size_t limit, bool weighted)
{
	const char	*p = s, *q;
	size_t		 used = 0;
	uint32_t	 cp;
	int		 w;

	while (*p != '\0') {
		q = p;
		cp = utf8_next(&q);
		w = weighted ? x_weight(cp) : 1;
		if (used + (size_t)w > limit)
			break;
		used += (size_t)w;
		p = q;
	}
	return ((size_t)(p - s));
}

static void
rstrip(char *s)
{
	size_t	 n = strlen(s);

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
}

/* ==== error bodies */

static void
openai_error(struct fc_reply *r, unsigned int status, const char *message,
    const char *type, const char *param, const char *code)
{
	fc_reply_json(r, status, json_pack("{s:{s:s, s:s, s:o, s:o}}", "error",
	    "message", message, "type", type, "param", str_or_null(param),
	    "code", str_or_null(code)));
}

static void
gemini_error(struct fc_reply *r, unsigned int status, const char *gstatus,
    const char *message, json_t *details)
{
	fc_reply_json(r, status, json_pack("{s:{s:i, s:s, s:s, s:o}}", "error",
	    "code", (int)status, "message", message, "status", gstatus,
	    "details", details != NULL ? details : json_array()));
}

/* gemini_bad_request: 400 INVALID_ARGUMENT with a BadRequest field violation. */
static void
gemini_bad_request(struct fc_reply *r, const char *field, const char *message)
{
	json_t	*v = json_pack("{s:s}", "description", message);

	if (field != NULL)
		json_object_set_new(v, "field", json_string(field));
	gemini_error(r, 400, "INVALID_ARGUMENT", message, json_pack("[{s:s, s:[o]}]",
	    "@type", "type.googleapis.com/google.rpc.BadRequest",
	    "fieldViolations", v));
}

/* ==== durations (retry hints) */

/* go_duration: "250ms", "1s", "1.5s", "6m0s" — OpenAI's x-ratelimit-reset-*. */
static void
go_duration(char *buf, size_t len, int64_t ms)
{
	char	*dot;
	size_t	 n;

	if (ms < 1000)
		snprintf(buf, len, "%lldms", (long long)ms);
	else if (ms >= 60000)
		snprintf(buf, len, "%lldm%llds", (long long)(ms / 60000),
		    (long long)(ms % 60000 / 1000));
	else if (ms % 1000 == 0)
		snprintf(buf, len, "%llds", (long long)(ms / 1000));
	else {
		snprintf(buf, len, "%lld.%03lld", (long long)(ms / 1000),
		    (long long)(ms % 1000));
		if ((dot = strchr(buf, '.')) != NULL) {
			n = strlen(buf);
			while (n > 0 && buf[n - 1] == '0')
				buf[--n] = '\0';
		}
		n = strlen(buf);
		snprintf(buf + n, len - n, "s");
	}
}

/* proto_duration: "1s", "0.250s" — google.protobuf.Duration in JSON. */
static void
proto_duration(char *buf, size_t len, int64_t ms)
{
	if (ms % 1000 == 0)
		snprintf(buf, len, "%llds", (long long)(ms / 1000));
	else
		snprintf(buf, len, "%lld.%03llds", (long long)(ms / 1000),
		    (long long)(ms % 1000));
}

/* ==== routes */

enum fai_provider
fai_provider_of(const char *path)
{
	if (strncmp(path, "/openai/", 8) == 0)
		return (FAI_OPENAI);
	if (strncmp(path, "/gemini/", 8) == 0)
		return (FAI_GEMINI);
	if (strncmp(path, "/compat/", 8) == 0)
		return (FAI_COMPAT);
	return (FAI_NONE);
}

static bool
route(struct fai_call *c, struct fc_reply *r)
{
	static const char	 gprefix[] = "/gemini/v1beta/models/";
	static const char	 gsuffix[] = ":generateContent";
	const char		*m, *end;
	char			 msg[512];
	size_t			 n;

	switch (c->provider) {
	case FAI_OPENAI:
	case FAI_COMPAT:
		if (strcmp(c->method, "POST") == 0 && strcmp(c->path + 7,
		    "/v1/chat/completions") == 0)
			return (true);
		snprintf(msg, sizeof(msg), "Invalid URL (%s %s)", c->method, c->path + 7);
		openai_error(r, 404, msg, "invalid_request_error", NULL, NULL);
		return (false);
	case FAI_GEMINI:
		m = c->path + sizeof(gprefix) - 1;
		end = strstr(c->path, gsuffix);
		if (strncmp(c->path, gprefix, sizeof(gprefix) - 1) == 0 &&
		    end != NULL && end > m && end[sizeof(gsuffix) - 1] == '\0' &&
		    memchr(m, '/', (size_t)(end - m)) == NULL &&
		    strcmp(c->method, "POST") == 0) {
			n = (size_t)(end - m);
			if (n >= sizeof(c->model))
				n = sizeof(c->model) - 1;
			memcpy(c->model, m, n);
			c->model[n] = '\0';
			return (true);
		}
		gemini_error(r, 404, "NOT_FOUND",
		    "The requested URL was not found on this server.", NULL);
		return (false);
	default:
		fc_reply_json(r, 404, json_pack("{s:s}", "error", "fake_ai: no such "
		    "path (providers are under /openai/v1, /compat/v1, /gemini/v1beta)"));
		return (false);
	}
}

/* ==== credentials */

static bool
openai_auth(const struct fai_call *c, struct fc_reply *r)
{
	const char	*tok = NULL;

	if (c->authorization != NULL && strncasecmp(c->authorization, "Bearer ", 7) == 0) {
		tok = c->authorization + 7;
		while (*tok == ' ')
			tok++;
	}
	if (c->provider == FAI_COMPAT && (c->want_key == NULL || *c->want_key == '\0'))
		return (true);
	if (tok != NULL && *tok != '\0' &&
	    (c->want_key == NULL || strcmp(tok, c->want_key) == 0))
		return (true);
	if (tok == NULL || *tok == '\0')
		openai_error(r, 401, "You didn't provide an API key. You need to "
		    "provide your API key in an Authorization header using Bearer "
		    "auth (i.e. Authorization: Bearer YOUR_KEY), or as the password "
		    "field (with blank username) if you're accessing the API from "
		    "your browser and are prompted for a username and password. You "
		    "can obtain an API key from https://platform.openai.com/account/"
		    "api-keys.", "invalid_request_error", NULL, NULL);
	else	/* the real API shows the key masked; the fake shows none of it */
		openai_error(r, 401, "Incorrect API key provided. You can find your "
		    "API key at https://platform.openai.com/account/api-keys.",
		    "invalid_request_error", NULL, "invalid_api_key");
	return (false);
}

static bool
gemini_auth(const struct fai_call *c, struct fc_reply *r)
{
	const char	*k = c->goog_key;
	static const char bad[] = "API key not valid. Please pass a valid API key.";

	if (k != NULL && *k != '\0' && (c->want_key == NULL || strcmp(k, c->want_key) == 0))
		return (true);
	if (k == NULL || *k == '\0') {
		gemini_error(r, 403, "PERMISSION_DENIED", "Method doesn't allow "
		    "unregistered callers (callers without established identity). "
		    "Please use API Key or other form of API consumer identity to "
		    "call this API.", NULL);
		return (false);
	}
	gemini_error(r, 400, "INVALID_ARGUMENT", bad, json_pack("[{s:s, s:s, s:s, "
	    "s:{s:s}}, {s:s, s:s, s:s}]",
	    "@type", "type.googleapis.com/google.rpc.ErrorInfo", "reason",
	    "API_KEY_INVALID", "domain", "googleapis.com", "metadata", "service",
	    "generativelanguage.googleapis.com",
	    "@type", "type.googleapis.com/google.rpc.LocalizedMessage", "locale",
	    "en-US", "message", bad));
	return (false);
}

/* ==== message texts */

/* openai_content_text appends the text of a message's content (string or parts). */
static void
openai_content_text(json_t *content, struct sbuf *b)
{
	json_t	*part;
	size_t	 i;

	if (json_is_string(content)) {
		sb_add(b, json_string_value(content));
		return;
	}
	json_array_foreach(content, i, part)
		if (json_is_string(json_object_get(part, "text")))
			sb_add(b, json_string_value(json_object_get(part, "text")));
}

static void
gemini_parts_text(json_t *content, struct sbuf *b)
{
	json_t	*part;
	size_t	 i;

	json_array_foreach(json_object_get(content, "parts"), i, part)
		if (json_is_string(json_object_get(part, "text")))
			sb_add(b, json_string_value(json_object_get(part, "text")));
}

static json_t *
gemini_system(json_t *body)
{
	json_t	*s = json_object_get(body, "systemInstruction");

	return (s != NULL ? s : json_object_get(body, "system_instruction"));
}

static json_t *
gemini_generation_config(json_t *body)
{
	json_t	*g = json_object_get(body, "generationConfig");

	return (g != NULL ? g : json_object_get(body, "generation_config"));
}

/* prompt_text: every message text of the call, concatenated (malloc'd). */
static char *
prompt_text(const struct fai_call *c)
{
	struct sbuf	 b = { NULL, 0, 0 };
	json_t		*m;
	size_t		 i;

	sb_add(&b, "");
	if (c->provider == FAI_GEMINI) {
		gemini_parts_text(gemini_system(c->body), &b);
		json_array_foreach(json_object_get(c->body, "contents"), i, m)
			gemini_parts_text(m, &b);
	} else
		json_array_foreach(json_object_get(c->body, "messages"), i, m)
			openai_content_text(json_object_get(m, "content"), &b);
	return (b.p);
}

/* first_user_text: the text of the first user message (malloc'd; "" if none). */
static char *
first_user_text(const struct fai_call *c)
{
	struct sbuf	 b = { NULL, 0, 0 };
	json_t		*m;
	const char	*role;
	size_t		 i;

	sb_add(&b, "");
	if (c->provider == FAI_GEMINI) {
		json_array_foreach(json_object_get(c->body, "contents"), i, m) {
			role = json_string_value(json_object_get(m, "role"));
			if (role == NULL || strcmp(role, "user") == 0) {
				gemini_parts_text(m, &b);
				break;
			}
		}
	} else
		json_array_foreach(json_object_get(c->body, "messages"), i, m) {
			role = json_string_value(json_object_get(m, "role"));
			if (role != NULL && strcmp(role, "user") == 0) {
				openai_content_text(json_object_get(m, "content"), &b);
				break;
			}
		}
	return (b.p);
}

/* ==== OpenAI request validation */

static bool
openai_known_param(const char *k)
{
	static const char *const known[] = {
		"model", "messages", "temperature", "top_p", "n", "stream",
		"stream_options", "stop", "max_tokens", "max_completion_tokens",
		"presence_penalty", "frequency_penalty", "logit_bias", "logprobs",
		"top_logprobs", "user", "response_format", "seed", "tools",
		"tool_choice", "parallel_tool_calls", "store", "metadata",
		"reasoning_effort", "service_tier", "modalities", "audio",
		"prediction", "web_search_options", "verbosity",
		"prompt_cache_key", "safety_identifier", "functions",
		"function_call"
	};
	size_t	 i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(k, known[i]) == 0)
			return (true);
	return (false);
}

/*
 * strict_check: NULL when a strict json_schema obeys OpenAI's rules for
 * structured outputs (every object: additionalProperties false and every
 * property required), else the rule broken; ctx names where.
 */
static const char *
strict_check(json_t *s, char *ctx, size_t ctxlen)
{
	json_t		*props = json_object_get(s, "properties"), *req, *v, *e;
	const char	*key, *err;
	size_t		 n = strlen(ctx), i;
	bool		 found;

	if (!json_is_object(s))
		return (NULL);
	if (json_is_object(props) || (json_is_string(json_object_get(s, "type")) &&
	    strcmp(json_string_value(json_object_get(s, "type")), "object") == 0)) {
		if (!json_is_false(json_object_get(s, "additionalProperties")))
			return ("'additionalProperties' is required to be supplied "
			    "and to be false.");
		req = json_object_get(s, "required");
		json_object_foreach(props, key, v) {
			found = false;
			json_array_foreach(req, i, e)
				if (json_is_string(e) && strcmp(json_string_value(e), key) == 0)
					found = true;
			if (!found)
				return ("'required' is required to be supplied and to be "
				    "an array including every key in properties.");
		}
		json_object_foreach(props, key, v) {
			snprintf(ctx + n, ctxlen - n, "%s'properties', '%s'",
			    n > 0 ? ", " : "", key);
			if ((err = strict_check(v, ctx, ctxlen)) != NULL)
				return (err);
			ctx[n] = '\0';
		}
	}
	if ((v = json_object_get(s, "items")) != NULL) {
		snprintf(ctx + n, ctxlen - n, "%s'items'", n > 0 ? ", " : "");
		if ((err = strict_check(v, ctx, ctxlen)) != NULL)
			return (err);
		ctx[n] = '\0';
	}
	json_array_foreach(json_object_get(s, "anyOf"), i, v) {
		snprintf(ctx + n, ctxlen - n, "%s'anyOf', '%zu'", n > 0 ? ", " : "", i);
		if ((err = strict_check(v, ctx, ctxlen)) != NULL)
			return (err);
		ctx[n] = '\0';
	}
	return (NULL);
}

static bool
openai_response_format(const struct fai_call *c, struct fc_reply *r)
{
	json_t		*rf = json_object_get(c->body, "response_format"), *js;
	const char	*type = json_string_value(json_object_get(rf, "type"));
	const char	*name, *err;
	char		*text, *p, msg[1024], ctx[512] = "";

	if (rf == NULL || json_is_null(rf))
		return (true);
	if (type == NULL || (strcmp(type, "text") != 0 && strcmp(type, "json_object") != 0 &&
	    strcmp(type, "json_schema") != 0)) {
		snprintf(msg, sizeof(msg), "Invalid value: '%s'. Supported values are: "
		    "'json_object', 'json_schema', and 'text'.", type != NULL ? type : "");
		openai_error(r, 400, msg, "invalid_request_error",
		    "response_format.type", "invalid_value");
		return (false);
	}
	if (strcmp(type, "json_object") == 0) {
		text = prompt_text(c);
		for (p = text; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		p = strstr(text, "json");
		free(text);
		if (p == NULL) {
			openai_error(r, 400, "'messages' must contain the word 'json' in "
			    "some form, to use 'response_format' of type 'json_object'.",
			    "invalid_request_error", "messages", NULL);
			return (false);
		}
	}
	if (strcmp(type, "json_schema") != 0)
		return (true);
	js = json_object_get(rf, "json_schema");
	if (!json_is_object(js)) {
		openai_error(r, 400, "Missing required parameter: "
		    "'response_format.json_schema'.", "invalid_request_error",
		    "response_format.json_schema", "missing_required_parameter");
		return (false);
	}
	if ((name = json_string_value(json_object_get(js, "name"))) == NULL) {
		openai_error(r, 400, "Missing required parameter: "
		    "'response_format.json_schema.name'.", "invalid_request_error",
		    "response_format.json_schema.name", "missing_required_parameter");
		return (false);
	}
	if (json_is_true(json_object_get(js, "strict")) &&
	    (err = strict_check(json_object_get(js, "schema"), ctx, sizeof(ctx))) != NULL) {
		snprintf(msg, sizeof(msg), "Invalid schema for response_format '%s': "
		    "In context=(%s), %s", name, ctx, err);
		openai_error(r, 400, msg, "invalid_request_error", "response_format", NULL);
		return (false);
	}
	return (true);
}

static bool
openai_messages(const struct fai_call *c, struct fc_reply *r)
{
	json_t		*msgs = json_object_get(c->body, "messages"), *m, *content, *part;
	const char	*role, *pt;
	char		 msg[512], param[64];
	size_t		 i, j;

	if (msgs == NULL) {
		openai_error(r, 400, "Missing required parameter: 'messages'.",
		    "invalid_request_error", "messages", "missing_required_parameter");
		return (false);
	}
	if (!json_is_array(msgs)) {
		openai_error(r, 400, "Invalid type for 'messages': expected an array.",
		    "invalid_request_error", "messages", "invalid_type");
		return (false);
	}
	if (json_array_size(msgs) == 0) {
		openai_error(r, 400, "Invalid 'messages': empty array. Expected an "
		    "array with minimum length 1, but got an empty array instead.",
		    "invalid_request_error", "messages", "empty_array");
		return (false);
	}
	json_array_foreach(msgs, i, m) {
		snprintf(param, sizeof(param), "messages[%zu]", i);
		if (!json_is_object(m)) {
			snprintf(msg, sizeof(msg), "Invalid type for '%s': expected an "
			    "object.", param);
			openai_error(r, 400, msg, "invalid_request_error", param, "invalid_type");
			return (false);
		}
		role = json_string_value(json_object_get(m, "role"));
		snprintf(param, sizeof(param), "messages[%zu].role", i);
		if (role == NULL) {
			snprintf(msg, sizeof(msg), "Missing required parameter: '%s'.", param);
			openai_error(r, 400, msg, "invalid_request_error", param,
			    "missing_required_parameter");
			return (false);
		}
		if (strcmp(role, "system") != 0 && strcmp(role, "user") != 0 &&
		    strcmp(role, "assistant") != 0 && strcmp(role, "developer") != 0 &&
		    strcmp(role, "tool") != 0 && strcmp(role, "function") != 0) {
			snprintf(msg, sizeof(msg), "Invalid value: '%.200s'. Supported "
			    "values are: 'system', 'assistant', 'user', 'function', "
			    "'tool', and 'developer'.", role);
			openai_error(r, 400, msg, "invalid_request_error", param, "invalid_value");
			return (false);
		}
		content = json_object_get(m, "content");
		snprintf(param, sizeof(param), "messages[%zu].content", i);
		if (content == NULL || (json_is_null(content) && strcmp(role, "assistant") != 0)) {
			snprintf(msg, sizeof(msg), "Missing required parameter: '%s'.", param);
			openai_error(r, 400, msg, "invalid_request_error", param,
			    "missing_required_parameter");
			return (false);
		}
		if (!json_is_string(content) && !json_is_array(content) && !json_is_null(content)) {
			snprintf(msg, sizeof(msg), "Invalid type for '%s': expected one "
			    "of a string or array of objects.", param);
			openai_error(r, 400, msg, "invalid_request_error", param, "invalid_type");
			return (false);
		}
		json_array_foreach(content, j, part) {
			pt = json_string_value(json_object_get(part, "type"));
			if (pt == NULL || strcmp(pt, "text") != 0 ||
			    !json_is_string(json_object_get(part, "text"))) {
				snprintf(param, sizeof(param), "messages[%zu].content[%zu]", i, j);
				snprintf(msg, sizeof(msg), "Invalid value for '%s': the fake "
				    "accepts text parts only ({\"type\":\"text\",\"text\":…}).",
				    param);
				openai_error(r, 400, msg, "invalid_request_error", param,
				    "invalid_value");
				return (false);
			}
		}
	}
	return (true);
}

static bool
openai_number(const struct fai_call *c, struct fc_reply *r, const char *name,
    double min, double max, bool integer)
{
	json_t	*v = json_object_get(c->body, name);
	char	 msg[256];

	if (v == NULL || json_is_null(v))
		return (true);
	if (integer ? !json_is_integer(v) : !json_is_number(v)) {
		snprintf(msg, sizeof(msg), "Invalid type for '%s': expected %s.", name,
		    integer ? "an integer" : "a decimal");
		openai_error(r, 400, msg, "invalid_request_error", name, "invalid_type");
		return (false);
	}
	if (json_number_value(v) < min) {
		snprintf(msg, sizeof(msg), "Invalid '%s': %s below minimum value. "
		    "Expected a value >= %g, but got %g instead.", name,
		    integer ? "integer" : "decimal", min, json_number_value(v));
		openai_error(r, 400, msg, "invalid_request_error", name,
		    integer ? "integer_below_min_value" : "decimal_below_min_value");
		return (false);
	}
	if (json_number_value(v) > max) {
		snprintf(msg, sizeof(msg), "Invalid '%s': %s above maximum value. "
		    "Expected a value <= %g, but got %g instead.", name,
		    integer ? "integer" : "decimal", max, json_number_value(v));
		openai_error(r, 400, msg, "invalid_request_error", name,
		    integer ? "integer_above_max_value" : "decimal_above_max_value");
		return (false);
	}
	return (true);
}

static bool
openai_validate(struct fai_call *c, struct fc_reply *r)
{
	const char	*key, *model;
	json_t		*v;
	char		 msg[512];

	if (!json_is_object(c->body)) {
		openai_error(r, 400, "We could not parse the JSON body of your request. "
		    "(HINT: This likely means you aren't using your HTTP library "
		    "correctly. The OpenAI API expects a JSON payload, but what was "
		    "sent was not valid JSON. If you have trouble figuring out how to "
		    "fix this, please contact us through our help center at "
		    "help.openai.com.)", "invalid_request_error", NULL, NULL);
		return (false);
	}
	if (c->provider == FAI_OPENAI)	/* compatible servers are lenient */
		json_object_foreach(c->body, key, v)
			if (!openai_known_param(key)) {
				snprintf(msg, sizeof(msg), "Unrecognized request argument "
				    "supplied: %.200s", key);
				openai_error(r, 400, msg, "invalid_request_error", NULL, NULL);
				return (false);
			}
	model = json_string_value(json_object_get(c->body, "model"));
	if (model == NULL || *model == '\0') {
		openai_error(r, 400, "you must provide a model parameter",
		    "invalid_request_error", NULL, NULL);
		return (false);
	}
	snprintf(c->model, sizeof(c->model), "%s", model);
	if (!openai_messages(c, r))
		return (false);
	if (json_is_true(json_object_get(c->body, "stream"))) {
		openai_error(r, 400, "fake_ai: stream is not supported",
		    "invalid_request_error", "stream", NULL);
		return (false);
	}
	if (!openai_number(c, r, "temperature", 0, 2, false) ||
	    !openai_number(c, r, "top_p", 0, 1, false) ||
	    !openai_number(c, r, "n", 1, 128, true) ||
	    !openai_number(c, r, "max_tokens", 1, 1e9, true) ||
	    !openai_number(c, r, "max_completion_tokens", 1, 1e9, true))
		return (false);
	return (openai_response_format(c, r));
}

/* ==== Gemini request validation */

/* camel: "system_instruction" → "systemInstruction" (proto JSON takes both). */
static void
camel(const char *in, char *out, size_t len)
{
	size_t	 n = 0;
	bool	 up = false;

	for (; *in != '\0' && n + 1 < len; in++) {
		if (*in == '_') {
			up = true;
			continue;
		}
		out[n++] = up ? (char)toupper((unsigned char)*in) : *in;
		up = false;
	}
	out[n] = '\0';
}

static bool
in_list(const char *name, const char *const *list)
{
	char	 c[128];

	camel(name, c, sizeof(c));
	for (; *list != NULL; list++)
		if (strcmp(c, *list) == 0)
			return (true);
	return (false);
}

/* gemini_fields: false (r set) when obj has a field the API does not know. */
static bool
gemini_fields(json_t *obj, const char *const *known, const char *at,
    struct fc_reply *r)
{
	const char	*key;
	json_t		*v;
	char		 msg[512];

	json_object_foreach(obj, key, v) {
		if (in_list(key, known))
			continue;
		if (at != NULL)
			snprintf(msg, sizeof(msg), "Invalid JSON payload received. Unknown "
			    "name \"%.100s\" at '%s': Cannot find field.", key, at);
		else
			snprintf(msg, sizeof(msg), "Invalid JSON payload received. Unknown "
			    "name \"%.100s\": Cannot find field.", key);
		gemini_bad_request(r, at, msg);
		return (false);
	}
	return (true);
}

static bool
gemini_schema(json_t *s, char *at, size_t atlen, struct fc_reply *r)
{
	static const char *const known[] = {
		"type", "format", "title", "description", "nullable", "enum",
		"maxItems", "minItems", "properties", "required", "minProperties",
		"maxProperties", "minLength", "maxLength", "pattern", "example",
		"anyOf", "propertyOrdering", "default", "items", "minimum",
		"maximum", NULL
	};
	static const char *const types[] = {
		"TYPE_UNSPECIFIED", "STRING", "NUMBER", "INTEGER", "BOOLEAN",
		"ARRAY", "OBJECT", "NULL", NULL
	};
	const char	*key, *type;
	json_t		*v;
	char		 msg[512];
	size_t		 n = strlen(at), i;
	bool		 ok = false;

	if (!json_is_object(s))
		return (true);
	if (!gemini_fields(s, known, at, r))
		return (false);
	if ((type = json_string_value(json_object_get(s, "type"))) != NULL) {
		for (i = 0; types[i] != NULL; i++)
			if (strcasecmp(type, types[i]) == 0)
				ok = true;
		if (!ok) {
			snprintf(msg, sizeof(msg), "Invalid value at '%s.type' "
			    "(type.googleapis.com/google.ai.generativelanguage.v1beta.Type), "
			    "\"%.100s\"", at, type);
			gemini_bad_request(r, at, msg);
			return (false);
		}
	}
	json_object_foreach(json_object_get(s, "properties"), key, v) {
		snprintf(at + n, atlen - n, ".properties[%.60s].value", key);
		if (!gemini_schema(v, at, atlen, r))
			return (false);
		at[n] = '\0';
	}
	if ((v = json_object_get(s, "items")) != NULL) {
		snprintf(at + n, atlen - n, ".items");
		if (!gemini_schema(v, at, atlen, r))
			return (false);
		at[n] = '\0';
	}
	return (true);
}

static bool
gemini_generation(const struct fai_call *c, struct fc_reply *r)
{
	static const char *const known[] = {
		"stopSequences", "responseMimeType", "responseSchema",
		"responseJsonSchema", "responseModalities", "candidateCount",
		"maxOutputTokens", "temperature", "topP", "topK", "seed",
		"presencePenalty", "frequencyPenalty", "responseLogprobs",
		"logprobs", "enableEnhancedCivicAnswers", "speechConfig",
		"thinkingConfig", "mediaResolution", "imageConfig", NULL
	};
	json_t		*g = gemini_generation_config(c->body), *v, *schema;
	const char	*mime;
	char		 at[512] = "generation_config.response_schema";

	if (g == NULL)
		return (true);
	if (!gemini_fields(g, known, "generation_config", r))
		return (false);
	v = json_object_get(g, "maxOutputTokens");
	if (v == NULL)
		v = json_object_get(g, "max_output_tokens");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 1)) {
		gemini_bad_request(r, "generation_config.max_output_tokens",
		    "* GenerateContentRequest.generation_config.max_output_tokens: "
		    "max_output_tokens must be positive.\n");
		return (false);
	}
	v = json_object_get(g, "temperature");
	if (v != NULL && (!json_is_number(v) || json_number_value(v) < 0 ||
	    json_number_value(v) > 2)) {
		gemini_bad_request(r, "generation_config.temperature",
		    "* GenerateContentRequest.generation_config.temperature: "
		    "temperature must be in the range [0.0, 2.0].\n");
		return (false);
	}
	mime = json_string_value(json_object_get(g, "responseMimeType"));
	if (mime == NULL)
		mime = json_string_value(json_object_get(g, "response_mime_type"));
	if (mime != NULL && strcmp(mime, "text/plain") != 0 &&
	    strcmp(mime, "application/json") != 0 && strcmp(mime, "text/x.enum") != 0) {
		gemini_bad_request(r, "generation_config.response_mime_type",
		    "* GenerateContentRequest.generation_config.response_mime_type: "
		    "allowed mimetypes are `text/plain`, `application/json`, "
		    "`text/x.enum`.\n");
		return (false);
	}
	schema = json_object_get(g, "responseSchema");
	if (schema == NULL)
		schema = json_object_get(g, "response_schema");
	if (schema == NULL)
		return (true);
	if (mime == NULL || strcmp(mime, "text/plain") == 0) {
		gemini_bad_request(r, "generation_config.response_mime_type",
		    "* GenerateContentRequest.generation_config.response_mime_type: "
		    "response_mime_type must be one of ['application/json', "
		    "'text/x.enum'] when response_schema is set.\n");
		return (false);
	}
	return (gemini_schema(schema, at, sizeof(at), r));
}

/* gemini_content: one Content (contents[i] or the system instruction). */
static bool
gemini_content(json_t *m, const char *at, bool system, struct fc_reply *r)
{
	static const char *const known[] = { "role", "parts", NULL };
	json_t		*parts = json_object_get(m, "parts"), *part;
	const char	*role = json_string_value(json_object_get(m, "role"));
	char		 msg[512];
	size_t		 j;

	if (!json_is_object(m)) {
		snprintf(msg, sizeof(msg), "Invalid JSON payload received. Expected an "
		    "object at '%s'.", at);
		gemini_bad_request(r, at, msg);
		return (false);
	}
	if (!gemini_fields(m, known, at, r))
		return (false);
	if (!system && role != NULL && *role != '\0' && strcmp(role, "user") != 0 &&
	    strcmp(role, "model") != 0) {
		gemini_bad_request(r, at, "Please use a valid role: user, model.");
		return (false);
	}
	if (!json_is_array(parts) || json_array_size(parts) == 0) {
		snprintf(msg, sizeof(msg), "* GenerateContentRequest.%s.parts: "
		    "contents.parts must not be empty.\n", at);
		gemini_bad_request(r, at, msg);
		return (false);
	}
	json_array_foreach(parts, j, part)
		if (!json_is_string(json_object_get(part, "text"))) {
			snprintf(msg, sizeof(msg), "* GenerateContentRequest.%s.parts[%zu]"
			    ".data: required oneof field 'data' must have one initialized "
			    "field (the fake takes text parts only)\n", at, j);
			gemini_bad_request(r, at, msg);
			return (false);
		}
	return (true);
}

static bool
gemini_validate(struct fai_call *c, struct fc_reply *r)
{
	static const char *const known[] = {
		"model", "contents", "tools", "toolConfig", "safetySettings",
		"systemInstruction", "generationConfig", "cachedContent", NULL
	};
	json_t		*contents, *m, *sys;
	char		 at[64];
	size_t		 i;

	if (!json_is_object(c->body)) {
		gemini_bad_request(r, NULL, "Invalid JSON payload received. "
		    "Unexpected token.");
		return (false);
	}
	if (!gemini_fields(c->body, known, NULL, r))
		return (false);
	contents = json_object_get(c->body, "contents");
	if (!json_is_array(contents) || json_array_size(contents) == 0) {
		gemini_bad_request(r, "contents", "* GenerateContentRequest.contents: "
		    "contents is not specified\n");
		return (false);
	}
	json_array_foreach(contents, i, m) {
		snprintf(at, sizeof(at), "contents[%zu]", i);
		if (!gemini_content(m, at, false, r))
			return (false);
	}
	if ((sys = gemini_system(c->body)) != NULL &&
	    !gemini_content(sys, "system_instruction", true, r))
		return (false);
	return (gemini_generation(c, r));
}

bool
fai_validate(struct fai_call *c, struct fc_reply *r, bool *auth_ok)
{
	*auth_ok = false;
	if (!route(c, r))
		return (false);
	if (c->provider == FAI_GEMINI) {
		if (!(*auth_ok = gemini_auth(c, r)))
			return (false);
		return (gemini_validate(c, r));
	}
	if (!(*auth_ok = openai_auth(c, r)))
		return (false);
	return (openai_validate(c, r));
}

/* ==== generated text */

struct brief {
	char	*topic;		/* malloc'd */
	int	 variants;
	int	 max_length;
};

/* brief_of reads the first user message as the dispatcher's JSON data. */
static void
brief_of(const struct fai_call *c, struct brief *b)
{
	char		*text = first_user_text(c), *t;
	json_t		*j = json_loads(text, 0, NULL), *v;
	const char	*topic = json_string_value(json_object_get(json_object_get(j,
			    "brief"), "topic"));

	b->variants = 1;
	b->max_length = OK_MAX;
	if (json_is_object(j)) {
		v = json_object_get(j, "variants");
		if (json_is_integer(v) && json_integer_value(v) >= 1)
			b->variants = json_integer_value(v) > MAX_VARIANTS ?
			    MAX_VARIANTS : (int)json_integer_value(v);
		v = json_object_get(j, "max_length");
		if (json_is_integer(v) && json_integer_value(v) >= 1 &&
		    json_integer_value(v) < 1000000)
			b->max_length = (int)json_integer_value(v);
	}
	t = xstrdup(topic != NULL ? topic : "");
	while (*t != '\0' && isspace((unsigned char)t[strlen(t) - 1]))
		t[strlen(t) - 1] = '\0';
	b->topic = t;
	if (*t == '\0' || isspace((unsigned char)*t)) {
		free(t);
		b->topic = xstrdup("post");
	}
	json_decref(j);
	free(text);
}

static char *
variant_ok(const struct fai_call *c, const struct brief *b, int i)
{
	size_t	 lim = (size_t)(b->max_length < OK_MAX ? b->max_length : OK_MAX);
	char	*s = xasprintf("%s \xe2\x80\x94 take %d: a draft by the fake %s. "
		    "Short, clear and within the limit.", b->topic, i,
		    fai_provider_names[c->provider]);

	s[cut_at(s, lim, true)] = '\0';
	rstrip(s);
	return (s);
}

/* variant_long: sentences ending with ". ", cut to length characters. */
static char *
variant_long(const struct fai_call *c, const struct brief *b, int i, int length)
{
	struct sbuf	 sb = { NULL, 0, 0 };
	char		*s;
	size_t		 n;
	int		 k;

	s = xasprintf("%s \xe2\x80\x94 take %d: ", b->topic, i);
	sb_add(&sb, s);
	free(s);
	for (k = 1, n = chars(sb.p); n < (size_t)length; k++) {
		s = xasprintf("Sentence %d of a long draft by the fake %s. ", k,
		    fai_provider_names[c->provider]);
		sb_add(&sb, s);
		n += chars(s);
		free(s);
	}
	sb.p[cut_at(sb.p, (size_t)length, false)] = '\0';
	rstrip(sb.p);
	return (sb.p);
}

/*
 * content_of: the assistant's text for a content step (malloc'd):
 * {"variants":[…]} (compact JSON), fenced, plain text, or cut in half.
 */
static char *
content_of(const struct fai_call *c, enum fai_step step, const struct fai_params *p)
{
	struct brief	 b;
	json_t		*arr = json_array(), *obj;
	char		*v, *s, *f;
	int		 i;

	brief_of(c, &b);
	if (step == FAI_TEXT) {
		s = variant_ok(c, &b, 1);
		free(b.topic);
		json_decref(arr);
		return (s);
	}
	for (i = 1; step != FAI_EMPTY && i <= b.variants; i++) {
		if (step == FAI_LONG || (step == FAI_LONG_ONE && i == 1))
			v = variant_long(c, &b, i, p->length);
		else
			v = variant_ok(c, &b, i);
		json_array_append_new(arr, json_string(v));
		free(v);
	}
	free(b.topic);
	obj = json_pack("{s:o}", "variants", arr);
	if ((f = json_dumps(obj, JSON_COMPACT)) == NULL)
		abort();
	json_decref(obj);
	if (step == FAI_FENCED) {
		s = xasprintf("```json\n%s\n```", f);
		free(f);
		return (s);
	}
	if (step == FAI_TRUNCATED)
		f[cut_at(f, chars(f) / 2, false)] = '\0';
	return (f);
}

static long
tokens_of(const char *text)
{
	return (text != NULL && *text != '\0' ? (long)(chars(text) / 4 > 0 ?
	    chars(text) / 4 : 1) : 0);
}

static long
prompt_tokens(const struct fai_call *c)
{
	char	*t = prompt_text(c);
	long	 n = (long)(chars(t) / 4);

	free(t);
	return (n > 0 ? n : 1);
}

/* ==== OpenAI answers */

#define REASONING_TOKENS	3

static void
openai_rate_limit(const struct fai_call *c, const struct fai_params *p,
    struct fc_reply *r)
{
	char	 dur[32], msg[512];

	go_duration(dur, sizeof(dur), p->retry_after_ms);
	snprintf(msg, sizeof(msg), "Rate limit reached for %.100s in organization "
	    "org-fake on requests per min (RPM): Limit 500, Used 500, Requested 1. "
	    "Please try again in %s. Visit https://platform.openai.com/account/"
	    "rate-limits to learn more.", c->model, dur);
	openai_error(r, 429, msg, "requests", NULL, "rate_limit_exceeded");
	fc_reply_header(r, "retry-after", "%lld",
	    (long long)((p->retry_after_ms + 999) / 1000));
	fc_reply_header(r, "x-ratelimit-limit-requests", "500");
	fc_reply_header(r, "x-ratelimit-remaining-requests", "0");
	fc_reply_header(r, "x-ratelimit-reset-requests", "%s", dur);
}

static bool
openai_error_step(const struct fai_call *c, enum fai_step step,
    const struct fai_params *p, struct fc_reply *r)
{
	char	 msg[512];

	switch (step) {
	case FAI_RATE_LIMIT:
		openai_rate_limit(c, p, r);
		break;
	case FAI_INSUFFICIENT_QUOTA:
		openai_error(r, 429, "You exceeded your current quota, please check "
		    "your plan and billing details. For more information on this "
		    "error, read the docs: https://platform.openai.com/docs/guides/"
		    "error-codes/api-errors.", "insufficient_quota", NULL,
		    "insufficient_quota");
		break;
	case FAI_SERVER_ERROR:
		openai_error(r, 500, "The server had an error while processing your "
		    "request. Sorry about that!", "server_error", NULL, NULL);
		break;
	case FAI_UNAVAILABLE:
		openai_error(r, 503, "The server is overloaded or not ready yet.",
		    "server_error", NULL, NULL);
		break;
	case FAI_BAD_REQUEST:
		openai_error(r, 400, "Invalid 'messages[0].content': string too long. "
		    "Expected a string with maximum length 10485760, but got a string "
		    "with length 10485761 instead.", "invalid_request_error",
		    "messages[0].content", "string_above_max_length");
		break;
	case FAI_UNAUTHORIZED:
		openai_error(r, 401, "Incorrect API key provided. You can find your "
		    "API key at https://platform.openai.com/account/api-keys.",
		    "invalid_request_error", NULL, "invalid_api_key");
		break;
	case FAI_FORBIDDEN:
		openai_error(r, 403, "Country, region, or territory not supported",
		    "request_forbidden", NULL, "unsupported_country_region_territory");
		break;
	case FAI_NOT_FOUND:
		snprintf(msg, sizeof(msg), "The model `%.100s` does not exist or you "
		    "do not have access to it.", c->model);
		openai_error(r, 404, msg, "invalid_request_error", NULL, "model_not_found");
		break;
	case FAI_MALFORMED:
		fc_reply_text(r, 200, "application/json", "{\"id\":\"chatcmpl-fake\","
		    "\"object\":\"chat.completion\",\"choices\":[{\"index\":0,"
		    "\"message\":{\"role\":\"assi");
		break;
	default:
		return (false);
	}
	if (c->provider == FAI_OPENAI)
		fc_reply_header(r, "x-request-id", "req_fake%llu", (unsigned long long)c->seq);
	return (true);
}

static void
openai_answer(const struct fai_call *c, enum fai_step step,
    const struct fai_params *p, struct fc_reply *r)
{
	json_t		*choices, *v = json_object_get(c->body, "n");
	const char	*finish = "stop";
	char		*content = NULL, id[64];
	long		 pt = prompt_tokens(c), ct;
	int		 i, n = json_is_integer(v) ? (int)json_integer_value(v) : 1;

	if (openai_error_step(c, step, p, r))
		return;
	if (step == FAI_TRUNCATED)
		finish = "length";
	else if (step == FAI_BLOCKED || step == FAI_PROMPT_BLOCKED)
		finish = "content_filter";
	if (step != FAI_BLOCKED && step != FAI_PROMPT_BLOCKED && step != FAI_REFUSAL)
		content = content_of(c, step, p);
	ct = tokens_of(content) + REASONING_TOKENS;
	choices = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(choices, json_pack("{s:i, s:{s:s, s:o, s:o, s:[]}, "
		    "s:n, s:s}", "index", i, "message", "role", "assistant",
		    "content", str_or_null(content), "refusal",
		    str_or_null(step == FAI_REFUSAL ?
		    "I'm sorry, but I can't assist with that request." : NULL),
		    "annotations", "logprobs", "finish_reason", finish));
	free(content);
	snprintf(id, sizeof(id), "chatcmpl-fake%llu", (unsigned long long)c->seq);
	fc_reply_json(r, 200, json_pack("{s:s, s:s, s:I, s:s, s:o, "
	    "s:{s:I, s:I, s:I, s:{s:i, s:i}, s:{s:i, s:i, s:i, s:i}}, "
	    "s:s, s:s}",
	    "id", id, "object", "chat.completion", "created",
	    (json_int_t)(fc_wall_ms() / 1000), "model", c->model, "choices", choices,
	    "usage", "prompt_tokens", (json_int_t)pt, "completion_tokens",
	    (json_int_t)ct, "total_tokens", (json_int_t)(pt + ct),
	    "prompt_tokens_details", "cached_tokens", 0, "audio_tokens", 0,
	    "completion_tokens_details", "reasoning_tokens", REASONING_TOKENS,
	    "audio_tokens", 0, "accepted_prediction_tokens", 0,
	    "rejected_prediction_tokens", 0,
	    "service_tier", "default", "system_fingerprint", "fp_fake"));
	if (c->provider == FAI_OPENAI) {
		fc_reply_header(r, "x-request-id", "req_fake%llu", (unsigned long long)c->seq);
		fc_reply_header(r, "x-ratelimit-limit-requests", "500");
		fc_reply_header(r, "x-ratelimit-remaining-requests", "499");
		fc_reply_header(r, "x-ratelimit-reset-requests", "120ms");
		fc_reply_header(r, "openai-processing-ms", "1");
	}
}

/* ==== Gemini answers */

static json_t *
safety_ratings(bool blocked)
{
	return (json_pack("[{s:s, s:s, s:b}, {s:s, s:s}, {s:s, s:s}, {s:s, s:s}]",
	    "category", "HARM_CATEGORY_HARASSMENT", "probability",
	    blocked ? "HIGH" : "NEGLIGIBLE", "blocked", blocked,
	    "category", "HARM_CATEGORY_HATE_SPEECH", "probability", "NEGLIGIBLE",
	    "category", "HARM_CATEGORY_SEXUALLY_EXPLICIT", "probability", "NEGLIGIBLE",
	    "category", "HARM_CATEGORY_DANGEROUS_CONTENT", "probability", "NEGLIGIBLE"));
}

static void
gemini_rate_limit(const struct fai_call *c, const struct fai_params *p,
    struct fc_reply *r)
{
	char	 dur[32], msg[1024];

	proto_duration(dur, sizeof(dur), p->retry_after_ms);
	snprintf(msg, sizeof(msg), "You exceeded your current quota, please check "
	    "your plan and billing details. For more information on this error, "
	    "head to: https://ai.google.dev/gemini-api/docs/rate-limits.\n"
	    "* Quota exceeded for metric: generativelanguage.googleapis.com/"
	    "generate_content_requests, limit: 10, model: %.100s\n"
	    "Please retry in %s.", c->model, dur);
	gemini_error(r, 429, "RESOURCE_EXHAUSTED", msg, json_pack("[{s:s, s:[{s:s, "
	    "s:s, s:{s:s, s:s}, s:s}]}, {s:s, s:[{s:s, s:s}]}, {s:s, s:s}]",
	    "@type", "type.googleapis.com/google.rpc.QuotaFailure", "violations",
	    "quotaMetric", "generativelanguage.googleapis.com/generate_content_requests",
	    "quotaId", "GenerateRequestsPerMinutePerProjectPerModel",
	    "quotaDimensions", "location", "global", "model", c->model,
	    "quotaValue", "10",
	    "@type", "type.googleapis.com/google.rpc.Help", "links", "description",
	    "Learn more about Gemini API quotas", "url",
	    "https://ai.google.dev/gemini-api/docs/rate-limits",
	    "@type", "type.googleapis.com/google.rpc.RetryInfo", "retryDelay", dur));
}

static bool
gemini_error_step(const struct fai_call *c, enum fai_step step,
    const struct fai_params *p, struct fc_reply *r)
{
	char	 msg[512];

	switch (step) {
	case FAI_RATE_LIMIT:
		gemini_rate_limit(c, p, r);
		return (true);
	case FAI_INSUFFICIENT_QUOTA:	/* billing: Gemini's is a precondition */
		gemini_error(r, 400, "FAILED_PRECONDITION", "Gemini API free tier is "
		    "not available in your country. Please enable billing on your "
		    "project in Google AI Studio.", NULL);
		return (true);
	case FAI_SERVER_ERROR:
		gemini_error(r, 500, "INTERNAL", "An internal error has occurred. "
		    "Please retry or report in https://developers.generativeai.google/"
		    "guide/troubleshooting", NULL);
		return (true);
	case FAI_UNAVAILABLE:
		gemini_error(r, 503, "UNAVAILABLE", "The model is overloaded. Please "
		    "try again later.", NULL);
		return (true);
	case FAI_BAD_REQUEST:
		gemini_bad_request(r, "contents", "Request contains an invalid argument.");
		return (true);
	case FAI_UNAUTHORIZED:
		gemini_error(r, 401, "UNAUTHENTICATED", "Request had invalid "
		    "authentication credentials. Expected OAuth 2 access token, login "
		    "cookie or other valid authentication credential. See https://"
		    "developers.google.com/identity/sign-in/web/devconsole-project.",
		    json_pack("[{s:s, s:s, s:s}]", "@type",
		    "type.googleapis.com/google.rpc.ErrorInfo", "reason",
		    "ACCESS_TOKEN_TYPE_UNSUPPORTED", "domain", "googleapis.com"));
		return (true);
	case FAI_FORBIDDEN:
		gemini_error(r, 403, "PERMISSION_DENIED", "The caller does not have "
		    "permission", NULL);
		return (true);
	case FAI_NOT_FOUND:
		snprintf(msg, sizeof(msg), "models/%.100s is not found for API version "
		    "v1beta, or is not supported for generateContent. Call ListModels "
		    "to see the list of available models and their supported methods.",
		    c->model);
		gemini_error(r, 404, "NOT_FOUND", msg, NULL);
		return (true);
	case FAI_MALFORMED:
		fc_reply_text(r, 200, "application/json; charset=UTF-8",
		    "{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"{\\\"var");
		return (true);
	default:
		return (false);
	}
}

static void
gemini_answer(const struct fai_call *c, enum fai_step step,
    const struct fai_params *p, struct fc_reply *r)
{
	json_t		*out, *usage, *cand;
	char		*text = NULL, rid[64];
	long		 pt = prompt_tokens(c), ct;

	if (gemini_error_step(c, step, p, r))
		return;
	snprintf(rid, sizeof(rid), "fakeResp%llu", (unsigned long long)c->seq);
	if (step == FAI_PROMPT_BLOCKED) {
		fc_reply_json(r, 200, json_pack("{s:{s:s, s:o}, s:{s:I, s:I}, s:s, s:s}",
		    "promptFeedback", "blockReason", "SAFETY", "safetyRatings",
		    safety_ratings(true), "usageMetadata", "promptTokenCount",
		    (json_int_t)pt, "totalTokenCount", (json_int_t)pt,
		    "modelVersion", c->model, "responseId", rid));
		return;
	}
	if (step == FAI_BLOCKED || step == FAI_REFUSAL)
		cand = json_pack("{s:s, s:i, s:o}", "finishReason", step == FAI_BLOCKED ?
		    "SAFETY" : "PROHIBITED_CONTENT", "index", 0, "safetyRatings",
		    safety_ratings(step == FAI_BLOCKED));
	else {
		text = content_of(c, step, p);
		cand = json_pack("{s:{s:[{s:s}], s:s}, s:s, s:i}", "content", "parts",
		    "text", text, "role", "model", "finishReason",
		    step == FAI_TRUNCATED ? "MAX_TOKENS" : "STOP", "index", 0);
	}
	ct = tokens_of(text);
	usage = json_pack("{s:I, s:I, s:[{s:s, s:I}], s:i}", "promptTokenCount",
	    (json_int_t)pt, "totalTokenCount", (json_int_t)(pt + ct + REASONING_TOKENS),
	    "promptTokensDetails", "modality", "TEXT", "tokenCount", (json_int_t)pt,
	    "thoughtsTokenCount", REASONING_TOKENS);
	if (ct > 0)
		json_object_set_new(usage, "candidatesTokenCount", json_integer(ct));
	out = json_pack("{s:[o], s:o, s:s, s:s}", "candidates", cand,
	    "usageMetadata", usage, "modelVersion", c->model, "responseId", rid);
	free(text);
	fc_reply_json(r, 200, out);
}

void
fai_answer(const struct fai_call *c, enum fai_step step,
    const struct fai_params *p, struct fc_reply *r)
{
	if (c->provider == FAI_GEMINI)
		gemini_answer(c, step, p, r);
	else
		openai_answer(c, step, p, r);
}
