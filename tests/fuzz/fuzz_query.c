/*
 * tests/fuzz/fuzz_query.c — libFuzzer target for the query-string parsing
 * of api/src/request.c: request_query (api.h) and request_percent_decode
 * (request.h), linked with the rest of the API's objects.
 *
 * Input: the bytes up to the first NUL are the raw query string (a URI
 * holds no NUL); the bytes after it, if any, are one more parameter name.
 * Each input is tried as:
 *   1. request_query for every query parameter name routes.c uses and the
 *      fuzzed one: the answer is NULL or a string no longer than the query;
 *   2. request_percent_decode of the whole input (NULs included), with and
 *      without '+' as space: NULL, or at most as long as the input and,
 *      when the input has no '%', '+' or NUL, the input itself;
 *   3. a known first parameter "limit=<value percent-encoded>&" put in
 *      front of the fuzzed query: request_query("limit") must give the value
 *      back exactly (the first occurrence wins), whatever follows.
 * A crash, leak or sanitizer report is a bug, and a broken property aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "request.h"

#define QUERY_MAX	8192	/* request.c: longer query strings are not parsed */

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const names[] = {
	"cursor", "limit", "workspace", "status", "platform", "account",
	"from", "to", "", "a b",
};

static void
check(int cond)
{
	if (!cond)
		abort();
}

static void
try_decode(struct api_arena *a, const uint8_t *data, size_t size, bool plus)
{
	const char	*out;
	size_t		 i;
	bool		 plain = true;

	out = request_percent_decode(a, (const char *)data, size, plus);
	for (i = 0; i < size; i++)
		if (data[i] == '%' || data[i] == '+' || data[i] == '\0')
			plain = false;
	if (plain)
		check(out != NULL && strlen(out) == size &&
		    memcmp(out, data, size) == 0);
	if (out != NULL)
		check(strlen(out) <= size);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char	 hex[] = "0123456789ABCDEF";
	struct api_request	 req;
	struct api_arena	*a;
	const char		*v;
	char			*query, *name = NULL, *framed, *o;
	size_t			 qlen, i, vlen;

	if ((a = arena_create()) == NULL)
		return (0);
	qlen = strnlen((const char *)data, size);
	query = arena_strndup(a, (const char *)data, qlen);
	if (qlen + 1 < size)
		name = arena_strndup(a, (const char *)data + qlen + 1,
		    size - qlen - 1);
	check(query != NULL);
	memset(&req, 0, sizeof(req));
	req.arena = a;
	req.query = query;

	/* 1. every name the routes use, and the fuzzed one */
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((v = request_query(&req, names[i])) != NULL)
			check(strlen(v) <= qlen && qlen <= QUERY_MAX);
	if (name != NULL && (v = request_query(&req, name)) != NULL)
		check(strlen(v) <= qlen && qlen <= QUERY_MAX);

	/* 2. the decoder on its own */
	try_decode(a, data, size, false);
	try_decode(a, data, size, true);

	/* 3. a known first parameter survives whatever follows */
	vlen = qlen < 256 ? qlen : 256;
	framed = arena_alloc(a, 6 + vlen * 3 + 1 + qlen + 1);
	check(framed != NULL);
	o = framed;
	memcpy(o, "limit=", 6);
	o += 6;
	for (i = 0; i < vlen; i++) {
		unsigned char c = (unsigned char)query[i];

		if (c == 0) {	/* cannot happen: query stops at the first NUL */
			vlen = i;
			break;
		}
		*o++ = '%';
		*o++ = hex[c >> 4];
		*o++ = hex[c & 15];
	}
	*o++ = '&';
	memcpy(o, query, qlen + 1);
	req.query = framed;
	v = request_query(&req, "limit");
	if (strlen(framed) <= QUERY_MAX)
		check(v != NULL && strlen(v) == vlen && memcmp(v, query, vlen) == 0);
	else
		check(v == NULL);

	arena_destroy(a);
	return (0);
}
