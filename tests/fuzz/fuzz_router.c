/*
 * tests/fuzz/fuzz_router.c — libFuzzer target for router_lookup
 * (api/src/router.c) against the real route table api_routes
 * (api/src/routes.c, linked with the rest of the API's objects).
 *
 * Input: the first byte picks the method (one of the table's, OPTIONS,
 * HEAD, or — for the last choices — the bytes up to the first ' ' as the
 * method); the rest, up to a NUL, is the path, as request.c would pass it
 * after decoding.  A crash or sanitizer report is a bug, and so is a broken
 * contract, checked with abort():
 *   - the answer is 200, 404 or 405;
 *   - 200: m.route is a row of api_routes with this method, nparams is the
 *     number of {params} in its pattern, each parameter is NUL-terminated
 *     within ROUTER_PARAM_MAX, and the pattern with the parameters put back
 *     is the path (a trailing slash aside);
 *   - 405: the Allow list is non-empty, NUL-terminated, and does not
 *     contain the method asked for;
 *   - 404: no Allow list.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "router.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const methods[] = {
	"GET", "POST", "PATCH", "DELETE", "PUT", "OPTIONS", "HEAD", "get",
};
#define NMETHODS	(sizeof(methods) / sizeof(methods[0]))

static void
check(int cond)
{
	if (!cond)
		abort();
}

/* rebuild writes pattern with m's parameters substituted into out. */
static size_t
rebuild(const char *pattern, const struct router_match *m, char *out, size_t cap)
{
	size_t	 o = 0, len;
	int	 n = 0;
	const char *p = pattern, *close;

	while (*p != '\0') {
		if (*p == '{' && (close = strchr(p, '}')) != NULL) {
			check(n < m->nparams);
			len = strnlen(m->params[n], ROUTER_PARAM_MAX + 1);
			check(len >= 1 && len <= ROUTER_PARAM_MAX);
			check(o + len < cap);
			memcpy(out + o, m->params[n], len);
			o += len;
			n++;
			p = close + 1;
		} else {
			check(o + 1 < cap);
			out[o++] = *p++;
		}
	}
	check(n == m->nparams);
	out[o] = '\0';
	return (o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char		 method[64], path[ROUTER_PATH_MAX * 2 + 2];
	static char		 back[ROUTER_PATH_MAX + ROUTER_PARAM_MAX * API_MAX_PARAMS + 2];
	struct router_match	 m;
	const struct api_route	*r;
	size_t			 i = 1, n, plen, blen;
	int			 rc;

	if (size < 1)
		return (0);
	if (data[0] % (NMETHODS + 2) < NMETHODS)
		strcpy(method, methods[data[0] % (NMETHODS + 2)]);
	else {
		for (n = 0; i < size && data[i] != ' ' && data[i] != '\0' &&
		    n < sizeof(method) - 1; i++)
			method[n++] = (char)data[i];
		method[n] = '\0';
		i += i < size;
	}
	n = size - i < sizeof(path) - 1 ? size - i : sizeof(path) - 1;
	memcpy(path, data + i, n);
	path[n] = '\0';

	rc = router_lookup(api_routes, method, path, &m);
	check(rc == 200 || rc == 404 || rc == 405);
	check(memchr(m.allow, '\0', sizeof(m.allow)) != NULL);
	if (rc == 200) {
		for (r = api_routes; r->method != NULL && r != m.route; r++)
			;
		check(r == m.route && r->method != NULL);
		check(strcmp(r->method, method) == 0);
		check(m.nparams >= 0 && m.nparams <= API_MAX_PARAMS);
		blen = rebuild(r->pattern, &m, back, sizeof(back));
		plen = strlen(path);
		while (plen > 1 && path[plen - 1] == '/')
			plen--;
		while (blen > 1 && back[blen - 1] == '/')
			blen--;
		check(plen == blen && memcmp(path, back, plen) == 0);
	} else if (rc == 405) {
		check(m.allow[0] != '\0');
		for (i = 0; i < NMETHODS; i++)
			if (strcmp(methods[i], method) == 0) {
				const char *p = strstr(m.allow, method);
				size_t ml = strlen(method);

				/* the method may occur inside another ("GET" in none) */
				for (; p != NULL; p = strstr(p + 1, method))
					check(!((p == m.allow || p[-1] == ' ') &&
					    (p[ml] == ',' || p[ml] == '\0')));
			}
	} else
		check(m.allow[0] == '\0');
	return (0);
}
