/*
 * ai_provider.c — the AI provider protocol (ai_provider.h): request bodies
 * for OpenAI Chat Completions and Gemini generateContent, and the
 * classification of their answers (external-apis.md §5).
 *
 * Classification:
 *   status 0 (no answer)                     RETRY  timeout | network
 *   429 insufficient_quota                   FALLBACK
 *   429 other                                RETRY  rate_limit_exceeded |
 *                                                   RESOURCE_EXHAUSTED
 *   408, 409, 5xx                            RETRY  (with the hint)
 *   400, 401, 403, 404, other 4xx, other     FALLBACK
 *   2xx: refusal, content_filter, Gemini
 *        SAFETY-like finishReason or
 *        promptFeedback.blockReason          FALLBACK refusal | blocked
 *   2xx: finish length / MAX_TOKENS          RETRY  truncated
 *   2xx: not JSON, not the asked shape       RETRY  malformed
 *   2xx: no text, no non-blank variant       RETRY  empty
 *   2xx: >= 1 non-blank variant              OK
 * Retry hints, first found wins: retry-after-ms, retry-after (seconds or an
 * HTTP date), Gemini RetryInfo.retryDelay, "try again in X" in the error
 * message, x-ratelimit-reset-{requests,tokens} (the exhausted one, else the
 * longest).
 *
 * Remote input: bodies go through jansson with ADAPTERS_JSON_MAX, every
 * value is type-checked, counts and token numbers are clamped, at most
 * AI_MAX_VARIANTS variants of at most AI_VARIANT_MAX bytes are kept.
 * Messages pass through adapters_message_copy with the API key as the
 * secret; the assistant's text and the prompt never reach a message.
 *
 * Memory: see ai_provider.h.  No global state.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "adapters/common.h"
#include "ai_provider.h"

#define AI_MESSAGE_MAX		(1024 * 1024)	/* bytes of one prompt message */
#define TOKENS_MAX		1000000000L	/* a token count is clamped here */
#define HINT_MAX_MS		INT64_C(1000000000000)
#define DURATION_NS_MAX		INT64_C(1000000000000000000)
#define NS_PER_S		INT64_C(1000000000)
#define SCAN_MAX		(64 * 1024)	/* bytes of a message searched */
#define DETAILS_MAX		32		/* Gemini error details looked at */

/* ==== requests */

/* lit appends a string literal of ours (never remote or user text). */
static int
lit(struct buf *b, const char *s)
{
	return (buf_append(b, s, strlen(s)));
}

static int
jstr(struct buf *b, const char *s)
{
	return (buf_append_json_string(b, s, strlen(s)));
}

/* num appends a finite real, locale-free. */
static int
num(struct buf *b, double v)
{
	char	 s[40], *p;

	snprintf(s, sizeof(s), "%.6g", v);
	for (p = s; *p != '\0'; p++)
		if (*p == ',')
			*p = '.';
	return (lit(b, s));
}

/* visible: only printable ASCII, no blank (header values, URLs). */
static bool
visible(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x21 || *s > 0x7e)
			return (false);
	return (true);
}

static int
fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return (-1);
}

/* role_known: system, user or assistant. */
static bool
role_known(const char *role)
{
	return (role != NULL && (strcmp(role, "system") == 0 ||
	    strcmp(role, "user") == 0 || strcmp(role, "assistant") == 0));
}

static int
check_messages(const char *name, const struct ai_message *msgs, size_t n,
    char *err, size_t errlen)
{
	size_t	 i, turns = 0;

	if (msgs == NULL || n == 0 || n > 64)
		return (fail(err, errlen, "%s: 1..64 messages are needed", name));
	for (i = 0; i < n; i++) {
		if (!role_known(msgs[i].role) || msgs[i].text == NULL)
			return (fail(err, errlen, "%s: message %zu has an unknown "
			    "role or no text", name, i + 1));
		if (strlen(msgs[i].text) > AI_MESSAGE_MAX)
			return (fail(err, errlen, "%s: message %zu is longer than "
			    "%d bytes", name, i + 1, AI_MESSAGE_MAX));
		if (strcmp(msgs[i].role, "system") != 0)
			turns++;
	}
	if (turns == 0)
		return (fail(err, errlen, "%s: no user message", name));
	return (0);
}

/* base_len: length of base without trailing slashes; 0 when unusable. */
static size_t
base_len(const char *base)
{
	size_t	 n;

	if (base == NULL || (strncasecmp(base, "http://", 7) != 0 &&
	    strncasecmp(base, "https://", 8) != 0) || !visible(base))
		return (0);
	n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	return (n);
}

/* generation: "temperature" (when >= 0) and the token cap (when > 0). */
static int
openai_generation(const struct ai_provider *p, struct buf *b)
{
	if (isfinite(p->temperature) && p->temperature >= 0 &&
	    (lit(b, ",\"temperature\":") == -1 || num(b, p->temperature) == -1))
		return (-1);
	if (p->max_output_tokens > 0 &&
	    buf_appendf(b, ",\"max_completion_tokens\":%d", p->max_output_tokens) == -1)
		return (-1);
	return (0);
}

static int
openai_body(const struct ai_provider *p, const struct ai_message *msgs,
    size_t n, struct buf *b)
{
	size_t	 i;

	if (lit(b, "{\"model\":") == -1 || jstr(b, p->model) == -1 ||
	    lit(b, ",\"messages\":[") == -1)
		return (-1);
	for (i = 0; i < n; i++)
		if (lit(b, i > 0 ? ",{\"role\":" : "{\"role\":") == -1 ||
		    jstr(b, msgs[i].role) == -1 ||
		    lit(b, ",\"content\":") == -1 || jstr(b, msgs[i].text) == -1 ||
		    lit(b, "}") == -1)
			return (-1);
	if (lit(b, "]") == -1 || openai_generation(p, b) == -1)
		return (-1);
	if (p->json_schema && lit(b, ",\"response_format\":{"
	    "\"type\":\"json_schema\",\"json_schema\":{\"name\":\"variants\","
	    "\"strict\":true,\"schema\":{\"type\":\"object\",\"properties\":"
	    "{\"variants\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}},"
	    "\"required\":[\"variants\"],\"additionalProperties\":false}}}") == -1)
		return (-1);
	return (lit(b, "}"));
}

static int
openai_request(const struct ai_provider *p, const char *key, size_t blen,
    const struct ai_message *msgs, size_t n, struct adapter_request *req)
{
	if (adapters_request_url(req, "%.*s/chat/completions", (int)blen,
	    p->base_url) == -1)
		return (-2);
	if ((key[0] != '\0' && adapters_bearer(req, key) == -1) ||
	    adapters_header_add(req, "Content-Type: application/json") == -1 ||
	    openai_body(p, msgs, n, &req->body) == -1)
		return (-1);
	return (0);
}

/*
 * gemini_contents appends "contents" (after lead, "," or ""): the user and
 * assistant messages, assistant as role "model".
 */
static int
gemini_contents(const struct ai_message *msgs, size_t n, const char *lead,
    struct buf *b)
{
	size_t	 i;
	bool	 first = true;

	if (lit(b, lead) == -1 || lit(b, "\"contents\":[") == -1)
		return (-1);
	for (i = 0; i < n; i++) {
		if (strcmp(msgs[i].role, "system") == 0)
			continue;
		if (lit(b, first ? "{\"role\":" : ",{\"role\":") == -1 ||
		    lit(b, strcmp(msgs[i].role, "assistant") == 0 ?
		    "\"model\"" : "\"user\"") == -1 ||
		    lit(b, ",\"parts\":[{\"text\":") == -1 ||
		    jstr(b, msgs[i].text) == -1 || lit(b, "}]}") == -1)
			return (-1);
		first = false;
	}
	return (lit(b, "]"));
}

static int
gemini_body(const struct ai_provider *p, const struct ai_message *msgs,
    size_t n, int variants, struct buf *b)
{
	size_t	 i;
	bool	 sys = false;

	if (lit(b, "{") == -1)
		return (-1);
	for (i = 0; i < n; i++) {
		if (strcmp(msgs[i].role, "system") != 0)
			continue;
		if (lit(b, sys ? ",{\"text\":" :
		    "\"systemInstruction\":{\"parts\":[{\"text\":") == -1 ||
		    jstr(b, msgs[i].text) == -1 || lit(b, "}") == -1)
			return (-1);
		sys = true;
	}
	if (sys && lit(b, "]}") == -1)
		return (-1);
	if (gemini_contents(msgs, n, sys ? "," : "", b) == -1)
		return (-1);
	if (lit(b, ",\"generationConfig\":{\"candidateCount\":1") == -1 ||
	    (p->max_output_tokens > 0 && buf_appendf(b, ",\"maxOutputTokens\":%d",
	    p->max_output_tokens) == -1) ||
	    (isfinite(p->temperature) && p->temperature >= 0 &&
	    (lit(b, ",\"temperature\":") == -1 || num(b, p->temperature) == -1)))
		return (-1);
	if (buf_appendf(b, ",\"responseMimeType\":\"application/json\","
	    "\"responseSchema\":{\"type\":\"OBJECT\",\"properties\":{\"variants\":"
	    "{\"type\":\"ARRAY\",\"items\":{\"type\":\"STRING\"},"
	    "\"minItems\":%d,\"maxItems\":%d}},\"required\":[\"variants\"]}}}",
	    variants, variants) == -1)
		return (-1);
	return (0);
}

static int
gemini_request(const struct ai_provider *p, const char *key, size_t blen,
    const struct ai_message *msgs, size_t n, int variants,
    struct adapter_request *req)
{
	struct buf	 model;
	const char	*m = p->model;
	int		 rc;

	if (strncmp(m, "models/", 7) == 0)
		m += 7;
	if (m[0] == '\0')
		return (-3);
	buf_init(&model);
	if (adapters_urlencode(&model, m) == -1) {
		buf_cleanup(&model);
		return (-1);
	}
	rc = adapters_request_url(req, "%.*s/models/%s:generateContent",
	    (int)blen, p->base_url, model.data);
	buf_cleanup(&model);
	if (rc == -1)
		return (-2);
	if ((key[0] != '\0' &&
	    adapters_header_add(req, "x-goog-api-key: %s", key) == -1) ||
	    adapters_header_add(req, "Content-Type: application/json") == -1 ||
	    gemini_body(p, msgs, n, variants, &req->body) == -1)
		return (-1);
	return (0);
}

int
ai_build_request(const struct ai_provider *p, const struct ai_message *msgs,
    size_t n, int variants, struct adapter_request *req, char *err,
    size_t errlen)
{
	const char	*name, *key;
	size_t		 blen;
	int		 rc;

	if (errlen > 0)
		err[0] = '\0';
	if (p == NULL || req == NULL)
		return (fail(err, errlen, "no provider"));
	name = p->name != NULL ? p->name : "provider";
	key = p->api_key != NULL ? p->api_key : "";
	if ((blen = base_len(p->base_url)) == 0)
		return (fail(err, errlen, "%s: base_url is not an http(s) URL", name));
	if (p->model == NULL || p->model[0] == '\0')
		return (fail(err, errlen, "%s: no model is configured", name));
	if (variants < 1 || variants > AI_MAX_VARIANTS)
		return (fail(err, errlen, "%s: variants must be 1..%d", name,
		    AI_MAX_VARIANTS));
	if (check_messages(name, msgs, n, err, errlen) == -1)
		return (-1);
	if (!visible(key))
		return (fail(err, errlen, "%s: the API key has characters a "
		    "header cannot carry", name));

	snprintf(req->method, sizeof(req->method), "POST");
	req->idempotent = true;
	req->body.len = 0;
	rc = p->api == AI_API_GEMINI ?
	    gemini_request(p, key, blen, msgs, n, variants, req) :
	    openai_request(p, key, blen, msgs, n, req);
	if (rc == -2)
		return (fail(err, errlen, "%s: the request URL is longer than %d "
		    "bytes", name, ADAPTER_URL_MAX - 1));
	if (rc == -3)
		return (fail(err, errlen, "%s: no model is configured", name));
	if (rc == -1)
		return (fail(err, errlen, "%s: out of memory", name));
	return (0);
}

/* ==== durations and hints */

static int64_t
sat_add(int64_t a, int64_t b)
{
	return (a > DURATION_NS_MAX - b ? DURATION_NS_MAX : a + b);
}

/* unit_ns: nanoseconds of the Go duration unit s[0..len), 0 when unknown. */
static int64_t
unit_ns(const char *s, size_t len)
{
	static const struct {
		const char	*name;
		int64_t		 ns;
	} units[] = {
		{ "ns", 1 }, { "us", 1000 }, { "\xc2\xb5s", 1000 },
		{ "\xce\xbcs", 1000 }, { "ms", 1000000 }, { "s", NS_PER_S },
		{ "m", 60 * NS_PER_S }, { "h", 3600 * NS_PER_S },
	};
	size_t	 i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i].name) == len &&
		    memcmp(units[i].name, s, len) == 0)
			return (units[i].ns);
	return (0);
}

/*
 * component reads one "<number><unit>" at *sp into *ns (saturated);
 * returns false when it is not one.
 */
static bool
component(const char **sp, int64_t *ns)
{
	const char	*s = *sp, *u;
	int64_t		 ip = 0, frac = 0, unit;
	int		 digits = 0, fdigits = 0;

	for (; isdigit((unsigned char)*s); s++, digits++)
		ip = ip > DURATION_NS_MAX / 10 ? DURATION_NS_MAX :
		    ip * 10 + (*s - '0');
	if (*s == '.')
		for (s++; isdigit((unsigned char)*s); s++, digits++)
			if (fdigits < 9) {
				frac = frac * 10 + (*s - '0');
				fdigits++;
			}
	if (digits == 0)
		return (false);
	for (; fdigits < 9; fdigits++)
		frac *= 10;
	for (u = s; *s != '\0' && !isdigit((unsigned char)*s) && *s != '.' &&
	    !isspace((unsigned char)*s); s++)
		;
	if ((unit = unit_ns(u, (size_t)(s - u))) == 0)
		return (false);
	*ns = ip > DURATION_NS_MAX / unit ? DURATION_NS_MAX : ip * unit;
	*ns = sat_add(*ns, unit >= NS_PER_S ? frac * (unit / NS_PER_S) :
	    frac * unit / NS_PER_S);
	*sp = s;
	return (true);
}

int64_t
ai_parse_duration_ms(const char *s)
{
	int64_t	 total = 0, ns;

	if (s == NULL)
		return (-1);
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '+')
		s++;
	if (s[0] == '0' && (s[1] == '\0' || isspace((unsigned char)s[1])))
		s++;
	else {
		if (*s == '\0')
			return (-1);
		while (*s != '\0' && !isspace((unsigned char)*s)) {
			if (!component(&s, &ns))
				return (-1);
			total = sat_add(total, ns);
		}
	}
	while (isspace((unsigned char)*s))
		s++;
	if (*s != '\0')
		return (-1);
	return ((total + 999999) / 1000000);
}

/*
 * number_with_unit: value as a duration; a bare decimal number ("1",
 * "0.5") is read in unit ("s", "ms").  -1 when neither.
 */
static int64_t
number_with_unit(const char *value, const char *unit)
{
	char	 tmp[48];
	size_t	 n;

	if (value == NULL)
		return (-1);
	while (isspace((unsigned char)*value))
		value++;
	n = strlen(value);
	while (n > 0 && isspace((unsigned char)value[n - 1]))
		n--;
	if (n == 0 || n > 32)
		return (-1);
	if (strspn(value, "0123456789.") >= n) {
		snprintf(tmp, sizeof(tmp), "%.*s%s", (int)n, value, unit);
		return (ai_parse_duration_ms(tmp));
	}
	snprintf(tmp, sizeof(tmp), "%.*s", (int)n, value);
	return (ai_parse_duration_ms(tmp));
}

/* try_again_in: "… try again in 41.724s." / "in 20 seconds" → ms, or -1. */
static int64_t
try_again_in(const char *text)
{
	static const char	 needle[] = "try again in ";
	char			 tok[40];
	const char		*s, *w;
	size_t			 n = 0, i;

	if (text == NULL)
		return (-1);
	for (i = 0; text[i] != '\0' && i < SCAN_MAX; i++)
		if (strncasecmp(text + i, needle, sizeof(needle) - 1) == 0)
			break;
	if (text[i] == '\0' || i >= SCAN_MAX)
		return (-1);
	for (s = text + i + sizeof(needle) - 1; *s == ' '; s++)
		;
	while (n < sizeof(tok) - 1 && s[n] != '\0' &&
	    (isalnum((unsigned char)s[n]) || s[n] == '.' ||
	    strchr("\xc2\xb5\xce\xbc", s[n]) != NULL))
		n++;
	memcpy(tok, s, n);
	while (n > 0 && tok[n - 1] == '.')
		n--;
	tok[n] = '\0';
	if (n > 0 && strspn(tok, "0123456789.") == n) {
		for (w = s + n; *w == ' '; w++)
			;
		if (strncasecmp(w, "second", 6) == 0 || strncasecmp(w, "sec", 3) == 0)
			return (number_with_unit(tok, "s"));
		if (strncasecmp(w, "millisecond", 11) == 0)
			return (number_with_unit(tok, "ms"));
		if (strncasecmp(w, "minute", 6) == 0)
			return (number_with_unit(tok, "m"));
		return (-1);
	}
	return (ai_parse_duration_ms(tok));
}

/* reset_hint: x-ratelimit-reset-*; the exhausted limit's, else the longest. */
static int64_t
reset_hint(const struct adapter_response *resp)
{
	static const char *const names[2][2] = {
		{ "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests" },
		{ "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens" },
	};
	int64_t	 v, exhausted = -1, any = -1;
	size_t	 i;
	const char *rem;

	for (i = 0; i < 2; i++) {
		if ((v = number_with_unit(adapters_header(resp, names[i][1]), "s")) < 0)
			continue;
		rem = adapters_header(resp, names[i][0]);
		if (rem != NULL && adapters_parse_uint(rem, INT64_C(1) << 40) == 0 &&
		    v > exhausted)
			exhausted = v;
		if (v > any)
			any = v;
	}
	return (exhausted >= 0 ? exhausted : any);
}

/*
 * retry_hint: the provider's wait, first found of retry-after-ms,
 * retry-after, RetryInfo (given), the message's "try again in", the reset
 * headers; clamped; -1 when none.
 */
static int64_t
retry_hint(const struct adapter_response *resp, int64_t retry_info,
    const char *message)
{
	const char	*after = adapters_header(resp, "retry-after");
	int64_t		 v;

	/* Retry-After: whole seconds or an HTTP date, else decimal seconds. */
	if ((v = number_with_unit(adapters_header(resp, "retry-after-ms"), "ms")) < 0 &&
	    (v = adapters_parse_retry_after(after, resp->now_ms)) < 0 &&
	    (v = number_with_unit(after, "s")) < 0 &&
	    (v = retry_info) < 0 &&
	    (v = try_again_in(message)) < 0 &&
	    (v = reset_hint(resp)) < 0)
		return (-1);
	return (v > HINT_MAX_MS ? HINT_MAX_MS : v);
}

/* ==== results */

static void
result_set(struct ai_result *r, enum ai_class cls, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
result_set(struct ai_result *r, enum ai_class cls, const char *code,
    const char *fmt, ...)
{
	va_list	 ap;

	r->cls = cls;
	snprintf(r->code, sizeof(r->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
}

void
ai_result_free(struct ai_result *r)
{
	size_t	 i;

	if (r == NULL)
		return;
	if (r->variants != NULL)
		for (i = 0; i < r->nvariants; i++)
			free(r->variants[i]);
	free(r->variants);
	free(r->raw_text);
	r->variants = NULL;
	r->nvariants = 0;
	r->raw_text = NULL;
}

const char *
ai_class_name(enum ai_class cls)
{
	switch (cls) {
	case AI_OK:
		return ("ok");
	case AI_FALLBACK:
		return ("fallback");
	default:
		return ("retry");
	}
}

/* utf8_cut: the largest n <= max such that s[0..n) ends on a character. */
static size_t
utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return (len);
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return (max);
}

static char *
dup_cut(const char *s, size_t len, size_t max)
{
	char	*d;

	len = utf8_cut(s, len, max);
	if ((d = malloc(len + 1)) == NULL)
		return (NULL);
	memcpy(d, s, len);
	d[len] = '\0';
	return (d);
}

static bool
blank(int c)
{
	return (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	    c == '\v');
}

/* trim narrows [*s, *e) past blanks at both ends. */
static void
trim(const char **s, const char **e)
{
	while (*s < *e && blank(**s))
		(*s)++;
	while (*e > *s && blank((*e)[-1]))
		(*e)--;
}

/* add_variant keeps one non-blank text; 1 kept, 0 blank, -1 no memory. */
static int
add_variant(struct ai_result *r, const char *text, size_t len)
{
	const char	*s = text, *e = text + len;
	char		*v;

	trim(&s, &e);
	if (s == e)
		return (0);
	if (r->variants == NULL &&
	    (r->variants = calloc(AI_MAX_VARIANTS, sizeof(char *))) == NULL)
		return (-1);
	if ((v = dup_cut(s, (size_t)(e - s), AI_VARIANT_MAX)) == NULL)
		return (-1);
	r->variants[r->nvariants++] = v;
	return (1);
}

/*
 * take_array keeps the string items (or {"text": …} objects) of a, up to
 * limit.  Returns the number kept, -1 when a has items but none is text
 * (not our shape), -2 when memory runs out.
 */
static int
take_array(json_t *a, struct ai_result *r, size_t limit)
{
	json_t		*v;
	const char	*s;
	size_t		 i, texts = 0;

	json_array_foreach(a, i, v) {
		if (json_is_object(v))
			v = json_object_get(v, "text");
		if (!json_is_string(v))
			continue;
		texts++;
		if (r->nvariants >= limit)
			continue;
		s = json_string_value(v);
		if (add_variant(r, s, json_string_length(v)) < 0)
			return (-2);
	}
	if (json_array_size(a) > 0 && texts == 0)
		return (-1);
	return ((int)r->nvariants);
}

/*
 * take_json reads variants out of a parsed answer: {"variants": […]}, an
 * object with a single array member, a bare array, a bare string.
 * Returns as take_array.
 */
static int
take_json(json_t *v, struct ai_result *r, size_t limit)
{
	json_t		*vs;
	const char	*key;

	if (json_is_object(v)) {
		vs = json_object_get(v, "variants");
		if (vs == NULL && json_object_size(v) == 1)
			json_object_foreach(v, key, vs)
				break;
		v = vs;
	}
	if (json_is_array(v))
		return (take_array(v, r, limit));
	if (json_is_string(v))
		return (add_variant(r, json_string_value(v),
		    json_string_length(v)) < 0 ? -2 : (int)r->nvariants);
	return (-1);
}

/* try_json parses s[0..len) and takes its variants; -1 when not JSON. */
static int
try_json(const char *s, const char *e, struct ai_result *r, size_t limit)
{
	json_error_t	 jerr;
	json_t		*v;
	int		 n;

	trim(&s, &e);
	if (s == e || (v = json_loadb(s, (size_t)(e - s), 0, &jerr)) == NULL)
		return (-1);
	n = take_json(v, r, limit);
	json_decref(v);
	return (n);
}

/* span: [first open, last close] of s[0..e), or false. */
static bool
span(const char *s, const char *e, int open, int close, const char **ps,
    const char **pe)
{
	const char	*a, *b;

	if ((a = memchr(s, open, (size_t)(e - s))) == NULL)
		return (false);
	for (b = e; b > a && b[-1] != close; b--)
		;
	if (b <= a + 1)
		return (false);
	*ps = a;
	*pe = b;
	return (true);
}

/*
 * parse_variants reads the assistant's text: JSON, the first fenced block,
 * the outermost {…} or […], and (only when json_schema is off and one
 * variant is wanted) the plain text.  Returns the number kept, -1 when the
 * text has none of these forms, -2 when memory runs out.
 */
static int
parse_variants(const char *text, size_t len, bool json_schema, size_t limit,
    struct ai_result *r)
{
	const char	*s = text, *e = text + len, *fs = NULL, *fe = NULL, *a, *b;
	const char	*plain_s, *plain_e;
	int		 n;

	trim(&s, &e);
	if (s == e)
		return (0);
	if ((n = try_json(s, e, r, limit)) != -1)
		return (n);
	plain_s = s;
	plain_e = e;
	if ((a = memmem(s, (size_t)(e - s), "```", 3)) != NULL) {
		if ((fs = memchr(a + 3, '\n', (size_t)(e - a - 3))) == NULL)
			fs = a + 3;
		if ((fe = memmem(fs, (size_t)(e - fs), "```", 3)) == NULL)
			fe = e;
		if ((n = try_json(fs, fe, r, limit)) != -1)
			return (n);
		if (a == s) {
			plain_s = fs;
			plain_e = fe;
		}
	}
	if (span(s, e, '{', '}', &a, &b) && (n = try_json(a, b, r, limit)) != -1)
		return (n);
	if (span(s, e, '[', ']', &a, &b) && (n = try_json(a, b, r, limit)) != -1)
		return (n);
	if (!json_schema && limit == 1)
		return (add_variant(r, plain_s, (size_t)(plain_e - plain_s)) < 0 ?
		    -2 : (int)r->nvariants);
	return (-1);
}

/* ==== answers */

/* What a 2xx answer says, before its text is read. */
enum verdict { V_TEXT, V_TRUNCATED, V_BLOCKED, V_REFUSED, V_EMPTY };

struct answer {
	enum verdict	 verdict;
	struct buf	 text;		/* the assistant's text */
	bool		 has_text;
	char		 reason[64];	/* finish reason / block reason, sanitised */
};

/* append_text appends a string value to the answer's text. */
static int
append_text(struct answer *a, json_t *v)
{
	if (!json_is_string(v))
		return (0);
	a->has_text = true;
	return (buf_append(&a->text, json_string_value(v), json_string_length(v)));
}

static int
openai_answer(json_t *root, struct answer *a)
{
	json_t		*c0, *msg, *content, *part;
	const char	*finish, *refusal;
	size_t		 i;

	c0 = json_array_get(json_object_get(root, "choices"), 0);
	if (!json_is_object(c0))
		return (0);
	finish = adapters_json_str(c0, "finish_reason", NULL);
	adapters_id_copy(a->reason, sizeof(a->reason), finish);
	msg = json_object_get(c0, "message");
	refusal = adapters_json_str(msg, "refusal", NULL);
	content = adapters_json_get(msg, "content", NULL);
	if (json_is_array(content)) {
		json_array_foreach(content, i, part)
			if (append_text(a, json_object_get(part, "text")) == -1)
				return (-1);
	} else if (append_text(a, content) == -1)
		return (-1);
	if (refusal != NULL && refusal[0] != '\0')
		a->verdict = V_REFUSED;
	else if (finish != NULL && strcmp(finish, "content_filter") == 0)
		a->verdict = V_BLOCKED;
	else if (finish != NULL && strcmp(finish, "length") == 0)
		a->verdict = V_TRUNCATED;
	else
		a->verdict = a->has_text ? V_TEXT : V_EMPTY;
	return (0);
}

/* gemini_blocked: a finishReason that says the output was withheld. */
static bool
gemini_blocked(const char *fr)
{
	static const char *const words[] = {
		"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED", "SPII",
		"LANGUAGE",
	};
	size_t	 i;

	for (i = 0; fr != NULL && i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(fr, words[i]) != NULL)
			return (true);
	return (false);
}

static int
gemini_answer(json_t *root, struct answer *a)
{
	json_t		*c0, *parts, *part;
	const char	*fr, *block;
	size_t		 i;

	block = adapters_json_str(root, "promptFeedback", "blockReason", NULL);
	if (block != NULL && block[0] != '\0') {
		adapters_id_copy(a->reason, sizeof(a->reason), block);
		a->verdict = V_BLOCKED;
		return (0);
	}
	c0 = json_array_get(json_object_get(root, "candidates"), 0);
	if (!json_is_object(c0))
		return (0);
	fr = adapters_json_str(c0, "finishReason", NULL);
	adapters_id_copy(a->reason, sizeof(a->reason), fr);
	parts = adapters_json_get(c0, "content", "parts", NULL);
	json_array_foreach(parts, i, part)
		if (!json_is_true(json_object_get(part, "thought")) &&
		    append_text(a, json_object_get(part, "text")) == -1)
			return (-1);
	if (gemini_blocked(fr))
		a->verdict = V_BLOCKED;
	else if (fr != NULL && strcmp(fr, "MAX_TOKENS") == 0)
		a->verdict = V_TRUNCATED;
	else
		a->verdict = a->has_text ? V_TEXT : V_EMPTY;
	return (0);
}

/* read_variants classifies the text of a V_TEXT answer. */
static void
read_variants(const struct ai_provider *p, const struct answer *a,
    int wanted, struct ai_result *out)
{
	size_t	 limit;
	int	 n;

	limit = wanted < 1 ? 1 : wanted > AI_MAX_VARIANTS ? AI_MAX_VARIANTS :
	    (size_t)wanted;
	n = parse_variants(a->text.data != NULL ? a->text.data : "",
	    a->text.len, p->json_schema || p->api == AI_API_GEMINI, limit, out);
	if (n == -2)
		result_set(out, AI_RETRY, "no_memory", "out of memory reading "
		    "the answer");
	else if (n == -1)
		result_set(out, AI_RETRY, "malformed", "HTTP %ld: the answer is "
		    "not the requested JSON {\"variants\": [...]}", out->http_status);
	else if (n == 0)
		result_set(out, AI_RETRY, "empty", "HTTP %ld: the answer has no "
		    "non-blank variant", out->http_status);
	else
		result_set(out, AI_OK, "", "%d of %zu variants", n, limit);
}

static void
parse_success(const struct ai_provider *p, json_t *root, int wanted,
    struct ai_result *out)
{
	struct answer	 a;
	int		 rc;

	memset(&a, 0, sizeof(a));
	a.verdict = V_EMPTY;
	buf_init(&a.text);
	if (!json_is_object(root)) {
		result_set(out, AI_RETRY, "malformed", "HTTP %ld: the body is not "
		    "a JSON object", out->http_status);
		return;
	}
	rc = p->api == AI_API_GEMINI ? gemini_answer(root, &a) :
	    openai_answer(root, &a);
	if (rc == -1)
		result_set(out, AI_RETRY, "no_memory", "out of memory reading "
		    "the answer");
	else if (a.verdict == V_REFUSED)
		result_set(out, AI_FALLBACK, "refusal", "the model refused");
	else if (a.verdict == V_BLOCKED)
		result_set(out, AI_FALLBACK, "blocked", "blocked by the provider "
		    "(%s)", a.reason[0] != '\0' ? a.reason : "no reason given");
	else if (a.verdict == V_TRUNCATED)
		result_set(out, AI_RETRY, "truncated", "the answer was cut at "
		    "%d output tokens (%s)", p->max_output_tokens, a.reason);
	else if (a.verdict == V_EMPTY)
		result_set(out, AI_RETRY, "empty", "HTTP %ld: no text in the "
		    "answer%s%s", out->http_status, a.reason[0] != '\0' ?
		    ", finish reason " : "", a.reason);
	else
		read_variants(p, &a, wanted, out);
	if (a.has_text && out->raw_text == NULL && a.text.data != NULL)
		out->raw_text = dup_cut(a.text.data, a.text.len, AI_RAW_TEXT_MAX);
	buf_cleanup(&a.text);
}

/* ==== errors */

/* An error body, OpenAI's {"error": {message, type, code}} or Gemini's. */
struct provider_error {
	char		 code[64];	/* its code/status, identifier characters */
	const char	*text;		/* its message (borrowed from the JSON) */
	bool		 quota;		/* insufficient_quota */
	bool		 exhausted;	/* RESOURCE_EXHAUSTED */
	int64_t		 retry_info_ms;
};

static void
retry_info(json_t *err, struct provider_error *e)
{
	json_t		*details, *d;
	const char	*type;
	size_t		 i;

	details = json_object_get(err, "details");
	json_array_foreach(details, i, d) {
		if (i >= DETAILS_MAX)
			break;
		type = adapters_json_str(d, "@type", NULL);
		if (type != NULL && strlen(type) >= 9 &&
		    strcmp(type + strlen(type) - 9, "RetryInfo") == 0 &&
		    (e->retry_info_ms = ai_parse_duration_ms(adapters_json_str(d,
		    "retryDelay", NULL))) >= 0)
			return;
	}
}

static void
provider_error(json_t *root, struct provider_error *e)
{
	json_t		*err;
	const char	*status, *code, *type;

	memset(e, 0, sizeof(*e));
	e->retry_info_ms = -1;
	if (json_is_array(root))	/* Gemini sometimes wraps it: [{"error"…}] */
		root = json_array_get(root, 0);
	err = json_object_get(root, "error");
	if (json_is_string(err)) {
		e->text = json_string_value(err);
		return;
	}
	if (!json_is_object(err)) {
		if ((e->text = adapters_json_str(root, "message", NULL)) == NULL)
			e->text = adapters_json_str(root, "detail", NULL);
		return;
	}
	e->text = adapters_json_str(err, "message", NULL);
	status = adapters_json_str(err, "status", NULL);
	code = adapters_json_str(err, "code", NULL);
	type = adapters_json_str(err, "type", NULL);
	if (!adapters_id_copy(e->code, sizeof(e->code), status) &&
	    !adapters_id_copy(e->code, sizeof(e->code), code))
		adapters_id_copy(e->code, sizeof(e->code), type);
	e->quota = (code != NULL && strcmp(code, "insufficient_quota") == 0) ||
	    (type != NULL && strcmp(type, "insufficient_quota") == 0);
	e->exhausted = status != NULL && strcmp(status, "RESOURCE_EXHAUSTED") == 0;
	retry_info(err, e);
}

static const char *
status_code(long st)
{
	switch (st) {
	case 400:
		return ("bad_request");
	case 401:
		return ("unauthorized");
	case 403:
		return ("forbidden");
	case 404:
		return ("not_found");
	case 408:
		return ("request_timeout");
	case 409:
		return ("conflict");
	default:
		if (st >= 500 && st < 600)
			return ("server_error");
		if (st >= 400 && st < 500)
			return ("client_error");
		return ("unexpected_status");
	}
}

static void
parse_error(const struct ai_provider *p, const struct adapter_response *resp,
    json_t *root, struct ai_result *out)
{
	struct provider_error	 e;
	const char		*code;
	char			 text[200];
	long			 st = resp->status;
	enum ai_class		 cls;

	provider_error(root, &e);
	adapters_message_copy(text, sizeof(text), e.text, p->api_key);
	code = status_code(st);
	cls = AI_FALLBACK;
	if (st == 429 && e.quota)
		code = "insufficient_quota";
	else if (st == 429) {
		cls = AI_RETRY;
		code = p->api == AI_API_GEMINI || e.exhausted ?
		    "RESOURCE_EXHAUSTED" : "rate_limit_exceeded";
	} else if (st == 408 || st == 409 || (st >= 500 && st < 600))
		cls = AI_RETRY;
	if (cls == AI_RETRY)
		out->retry_after_ms = retry_hint(resp, e.retry_info_ms, e.text);
	result_set(out, cls, code, "HTTP %ld%s%s: %s", st,
	    e.code[0] != '\0' ? " " : "", e.code,
	    text[0] != '\0' ? text : "no details from the provider");
}

/* ==== parse */

static long
tokens(json_t *root, const char *obj, const char *key)
{
	int64_t	 v;

	if (!adapters_json_int(&v, root, obj, key, NULL) || v < 0)
		return (0);
	return (v > TOKENS_MAX ? TOKENS_MAX : (long)v);
}

/* read_meta: the reported model and token usage, wherever the status. */
static void
read_meta(const struct ai_provider *p, json_t *root, struct ai_result *out)
{
	const char	*m;

	if (p->api == AI_API_GEMINI) {
		m = adapters_json_str(root, "modelVersion", NULL);
		out->prompt_tokens = tokens(root, "usageMetadata", "promptTokenCount") +
		    tokens(root, "usageMetadata", "toolUsePromptTokenCount");
		out->completion_tokens = tokens(root, "usageMetadata",
		    "candidatesTokenCount") + tokens(root, "usageMetadata",
		    "thoughtsTokenCount");
	} else {
		m = adapters_json_str(root, "model", NULL);
		out->prompt_tokens = tokens(root, "usage", "prompt_tokens");
		out->completion_tokens = tokens(root, "usage", "completion_tokens");
	}
	if (m != NULL && m[0] != '\0')
		adapters_message_copy(out->model, sizeof(out->model), m, p->api_key);
}

static void
result_init(const struct ai_provider *p, const struct adapter_response *resp,
    struct ai_result *out)
{
	memset(out, 0, sizeof(*out));
	out->cls = AI_RETRY;
	out->http_status = resp != NULL && resp->status > 0 ? resp->status : 0;
	out->retry_after_ms = -1;
	if (p->model != NULL)
		adapters_message_copy(out->model, sizeof(out->model), p->model,
		    NULL);
}

/* no_answer: status 0, RETRY timeout or network, curl's words (scrubbed). */
static void
no_answer(const struct ai_provider *p, const struct adapter_response *resp,
    struct ai_result *out)
{
	struct adapter_response	 tmp;
	char			 detail[200], msg[ADAPTER_MSG_MAX];

	if (resp == NULL) {
		result_set(out, AI_RETRY, "network", "no answer");
		return;
	}
	/* The key is redacted before anything can cut it in half. */
	adapters_message_copy(detail, sizeof(detail), resp->transport_error,
	    p->api_key);
	tmp = *resp;
	tmp.transport_error = detail;
	adapters_transport_outcome(&tmp, true, msg, sizeof(msg));
	result_set(out, AI_RETRY, resp->timed_out ? "timeout" : "network", "%s",
	    msg);
}

void
ai_parse_response(const struct ai_provider *p,
    const struct adapter_response *resp, int variants_wanted,
    struct ai_result *out)
{
	json_t	*root;

	result_init(p, resp, out);
	if (resp == NULL || resp->status <= 0) {
		no_answer(p, resp, out);
		return;
	}
	root = adapters_json_parse(resp);
	if (json_is_object(root))
		read_meta(p, root, out);
	if (resp->status >= 200 && resp->status < 300) {
		if (root == NULL)
			result_set(out, AI_RETRY, "malformed", "HTTP %ld: the body "
			    "is not JSON", resp->status);
		else
			parse_success(p, root, variants_wanted, out);
	} else
		parse_error(p, resp, root, out);
	json_decref(root);
	if (out->cls != AI_OK) {
		char	*raw = out->raw_text;

		out->raw_text = NULL;
		ai_result_free(out);
		out->raw_text = raw;
	}
}
