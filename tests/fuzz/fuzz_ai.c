/*
 * tests/fuzz/fuzz_ai.c — libFuzzer target for the AI provider protocol
 * (bgworker/src/ai_provider.c): arbitrary statuses, headers and bodies fed
 * to ai_parse_response for both APIs, arbitrary prompts, models and keys
 * fed to ai_build_request, arbitrary strings to ai_parse_duration_ms.
 *
 * Input:
 *   byte 0   bit 0 API (0 OpenAI Chat, 1 Gemini), bit 1 json_schema,
 *            bits 2-4 variants wanted (0..7: out of range too),
 *            bits 5-6 mode: 0, 1 parse an answer, 2 build a request,
 *            3 parse a duration
 *   parse:   bytes 1-2 status (LE, mod 600), byte 3 flags (bit 0 sent,
 *            bit 1 timed out, bit 2 no transport error), then header lines
 *            up to the first empty line ("\n\n"), the rest the body.
 *   build:   byte 1 flags (bit 0 the key is the first chunk, bit 1 no
 *            trailing slash), then chunks separated by "\n--\n": the model,
 *            then message texts (roles system, user, assistant, user, …).
 *   duration: the rest as a string.
 *
 * A crash or sanitizer report is a bug, and so is a broken contract,
 * checked with abort():
 *   - cls is one of the enum's; code, message, model are NUL-terminated
 *     within their arrays; message never carries the API key;
 *   - OK has 1..min(max(wanted,1),AI_MAX_VARIANTS) variants, anything else
 *     none; each variant is non-blank, trimmed, <= AI_VARIANT_MAX bytes,
 *     valid UTF-8; raw_text <= AI_RAW_TEXT_MAX; tokens >= 0; hint >= -1;
 *   - a built request has a URL without the key, header lines without CR
 *     or LF, and a body that is JSON; a refused one an error without the
 *     key.
 * The key contains '/', '+' and '=' so it cannot be mistaken for words.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "adapters/common.h"
#include "ai_provider.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define KEY		"sk-FUZZ/key+7f3a9c="
#define MAX_HEADERS	16
#define MAX_MESSAGES	12

struct fresp {
	struct adapter_response	 resp;
	char			*body;
	char			*names[MAX_HEADERS];
	char			*values[MAX_HEADERS];
	int			 nheaders;
};

static void
check(int cond)
{
	if (!cond)
		abort();
}

static const char *
fresp_header(const struct adapter_response *resp, const char *name)
{
	const struct fresp	*f = resp->header_ctx;
	int			 i;

	for (i = 0; i < f->nheaders; i++)
		if (strcasecmp(f->names[i], name) == 0)
			return (f->values[i]);
	return (NULL);
}

static char *
dup_bytes(const uint8_t *p, size_t n)
{
	char	*s = malloc(n + 1);

	check(s != NULL);
	if (n > 0)
		memcpy(s, p, n);
	s[n] = '\0';
	return (s);
}

static const uint8_t *
find(const uint8_t *p, size_t n, const char *needle)
{
	size_t	 k = strlen(needle), i;

	for (i = 0; i + k <= n; i++)
		if (memcmp(p + i, needle, k) == 0)
			return (p + i);
	return (NULL);
}

static void
parse_headers(struct fresp *f, const uint8_t *p, size_t n)
{
	const uint8_t	*end = p + n, *nl, *colon;

	while (p < end && f->nheaders < MAX_HEADERS) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		colon = memchr(p, ':', (size_t)(nl - p));
		if (colon != NULL) {
			f->names[f->nheaders] = dup_bytes(p, (size_t)(colon - p));
			colon++;
			while (colon < nl && *colon == ' ')
				colon++;
			f->values[f->nheaders++] = dup_bytes(colon, (size_t)(nl - colon));
		}
		p = nl < end ? nl + 1 : end;
	}
}

static bool
is_blank(int c)
{
	return (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	    c == '\v');
}

static void
check_result(const struct ai_result *r, long status, int wanted)
{
	size_t	 i, n, limit;

	limit = wanted < 1 ? 1 : wanted > AI_MAX_VARIANTS ? AI_MAX_VARIANTS :
	    (size_t)wanted;
	check(r->cls == AI_OK || r->cls == AI_RETRY || r->cls == AI_FALLBACK);
	check(memchr(r->code, '\0', sizeof(r->code)) != NULL);
	check(memchr(r->message, '\0', sizeof(r->message)) != NULL);
	check(memchr(r->model, '\0', sizeof(r->model)) != NULL);
	check(strstr(r->message, KEY) == NULL);
	check(strstr(r->model, KEY) == NULL);
	check(r->http_status == (status > 0 ? status : 0));
	check(r->retry_after_ms >= -1);
	check(r->prompt_tokens >= 0 && r->completion_tokens >= 0);
	if (r->cls == AI_OK)
		check(r->nvariants >= 1 && r->nvariants <= limit &&
		    r->variants != NULL);
	else
		check(r->nvariants == 0);
	for (i = 0; i < r->nvariants; i++) {
		check(r->variants[i] != NULL);
		n = strlen(r->variants[i]);
		check(n > 0 && n <= AI_VARIANT_MAX);
		check(!is_blank(r->variants[i][0]) && !is_blank(r->variants[i][n - 1]));
		check(buf_utf8_valid(r->variants[i], n));
	}
	if (r->raw_text != NULL)
		check(strlen(r->raw_text) <= AI_RAW_TEXT_MAX);
}

static void
one_parse(const struct ai_provider *p, int wanted, const uint8_t *d, size_t n)
{
	struct fresp		 f;
	struct ai_result	 r;
	const uint8_t		*blank;
	int			 flags, i;

	memset(&f, 0, sizeof(f));
	f.resp.now_ms = INT64_C(1767225600000);
	f.resp.header = fresp_header;
	f.resp.header_ctx = &f;
	if (n < 3)
		return;
	f.resp.status = (long)((d[0] | d[1] << 8) % 600);
	flags = d[2];
	f.resp.sent = (flags & 1) != 0 || f.resp.status != 0;
	f.resp.timed_out = (flags & 2) != 0;
	f.resp.transport_error = (flags & 4) != 0 ? NULL :
	    "Operation timed out after 60000 ms; key " KEY;
	d += 3;
	n -= 3;
	if ((blank = find(d, n, "\n\n")) != NULL) {
		parse_headers(&f, d, (size_t)(blank - d));
		n -= (size_t)(blank - d) + 2;
		d = blank + 2;
	}
	f.body = dup_bytes(d, n);
	f.resp.body = f.body;
	f.resp.body_len = n;

	ai_parse_response(p, &f.resp, wanted, &r);
	check_result(&r, f.resp.status, wanted);
	ai_result_free(&r);
	check(r.variants == NULL && r.raw_text == NULL && r.nvariants == 0);

	for (i = 0; i < f.nheaders; i++) {
		free(f.names[i]);
		free(f.values[i]);
	}
	free(f.body);
}

static void
one_build(struct ai_provider *p, int variants, const uint8_t *d, size_t n)
{
	static const char *const roles[] = { "system", "user", "assistant", "user" };
	struct ai_message	 msgs[MAX_MESSAGES];
	struct adapter_request	 req;
	char			*chunks[MAX_MESSAGES + 1], err[256];
	const uint8_t		*sep;
	const struct curl_slist	*h;
	json_error_t		 jerr;
	json_t			*v;
	size_t			 nchunks = 0, len, i, nmsgs = 0;
	int			 flags, rc;

	if (n < 1)
		return;
	flags = d[0];
	d++;
	n--;
	while (nchunks < MAX_MESSAGES + 1) {
		sep = find(d, n, "\n--\n");
		len = sep != NULL ? (size_t)(sep - d) : n;
		chunks[nchunks++] = dup_bytes(d, len);
		if (sep == NULL)
			break;
		d += len + 4;
		n -= len + 4;
	}
	p->model = chunks[0];
	p->api_key = (flags & 1) != 0 ? chunks[0] : KEY;
	p->base_url = (flags & 2) != 0 ? "http://127.0.0.1:9/v1" :
	    "http://127.0.0.1:9/v1/";
	for (i = 1; i < nchunks; i++, nmsgs++) {
		msgs[nmsgs].role = roles[(i - 1) % 4];
		msgs[nmsgs].text = chunks[i];
	}

	memset(&req, 0, sizeof(req));
	buf_init(&req.body);
	err[0] = 'x';
	rc = ai_build_request(p, msgs, nmsgs, variants, &req, err, sizeof(err));
	check(memchr(err, '\0', sizeof(err)) != NULL);
	check(strstr(err, KEY) == NULL);
	if (rc == 0) {
		check(memchr(req.url, '\0', sizeof(req.url)) != NULL);
		check(strstr(req.url, KEY) == NULL);
		check(strcmp(req.method, "POST") == 0 && req.idempotent);
		for (h = req.headers; h != NULL; h = h->next)
			check(strpbrk(h->data, "\r\n") == NULL);
		v = json_loadb(req.body.data, req.body.len, 0, &jerr);
		check(v != NULL);
		json_decref(v);
	} else
		check(rc == -1 && err[0] != '\0');
	curl_slist_free_all(req.headers);
	buf_cleanup(&req.body);
	for (i = 0; i < nchunks; i++)
		free(chunks[i]);
}

static void
one_duration(const uint8_t *d, size_t n)
{
	char	*s = dup_bytes(d, n);
	int64_t	 v = ai_parse_duration_ms(s);

	check(v >= -1 && v <= INT64_C(1000000000000));
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ai_provider	 p;
	int			 wanted;

	if (size < 1)
		return (0);
	memset(&p, 0, sizeof(p));
	p.name = "fuzz";
	p.api = (data[0] & 1) != 0 ? AI_API_GEMINI : AI_API_OPENAI_CHAT;
	p.json_schema = (data[0] & 2) != 0;
	p.base_url = "http://127.0.0.1:9/v1";
	p.api_key = KEY;
	p.model = "fuzz-model";
	p.max_output_tokens = 1024;
	p.temperature = 0.8;
	wanted = (data[0] >> 2) & 7;
	switch ((data[0] >> 5) & 3) {
	case 2:
		one_build(&p, wanted, data + 1, size - 1);
		break;
	case 3:
		one_duration(data + 1, size - 1);
		break;
	default:
		one_parse(&p, wanted, data + 1, size - 1);
		break;
	}
	return (0);
}
