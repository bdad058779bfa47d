/*
 * router.c — route lookup: 200, 404 or 405 with an Allow list.
 *
 * Paths arrive already percent-decoded by request.c, which refuses encoded
 * slashes and NULs, so here a path is plain bytes.  The router accepts only
 * printable ASCII without '%', rejects empty segments ("//") and dot
 * segments, and compares segment by segment; a trailing slash is optional
 * on both the path and the pattern.
 *
 * Parameters are validated by name (router_param_kind): every {name} is a
 * canonical UUID unless listed in param_kinds[]; a parameter that fails its
 * kind makes the route not match, so the answer is 404, never a database
 * error about a malformed uuid.
 */
#include <string.h>

#include "router.h"

static const struct {
	const char		*name;
	enum router_param_kind	 kind;
} param_kinds[] = {
	{ "version",	ROUTER_PARAM_INT },
	{ "token",	ROUTER_PARAM_TOKEN },
	{ "file",	ROUTER_PARAM_TOKEN },	/* a file name; "." and ".." never reach here */
	{ "platform",	ROUTER_PARAM_SLUG },
	{ "provider",	ROUTER_PARAM_SLUG },
	{ NULL,		ROUTER_PARAM_UUID },
};

enum router_param_kind
router_param_kind(const char *name, size_t len)
{
	int	 i;

	for (i = 0; param_kinds[i].name != NULL; i++)
		if (strlen(param_kinds[i].name) == len &&
		    memcmp(param_kinds[i].name, name, len) == 0)
			return (param_kinds[i].kind);
	return (ROUTER_PARAM_UUID);
}

static bool
is_hex(char c)
{
	return ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F'));
}

bool
router_uuid_valid(const char *s, size_t len)
{
	size_t	 i;

	if (len != API_UUID_LEN)
		return (false);
	for (i = 0; i < len; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return (false);
		} else if (!is_hex(s[i]))
			return (false);
	}
	return (true);
}

bool
router_uuid_text(const char *s)
{
	return (s != NULL && router_uuid_valid(s, strlen(s)));
}

/* all_of is true when s[0..len) is 1..max bytes, each in the set. */
static bool
all_of(const char *s, size_t len, size_t max, const char *set)
{
	size_t	 i;

	if (len == 0 || len > max)
		return (false);
	for (i = 0; i < len; i++)
		if (s[i] == '\0' || strchr(set, s[i]) == NULL)	/* strchr finds NUL */
			return (false);
	return (true);
}

#define DIGITS	"0123456789"
#define LOWER	"abcdefghijklmnopqrstuvwxyz"
#define UPPER	"ABCDEFGHIJKLMNOPQRSTUVWXYZ"

static bool
param_valid(enum router_param_kind kind, const char *s, size_t len)
{
	switch (kind) {
	case ROUTER_PARAM_INT:
		return (all_of(s, len, 9, DIGITS));
	case ROUTER_PARAM_TOKEN:
		return (all_of(s, len, ROUTER_PARAM_MAX, DIGITS LOWER UPPER "-_."));
	case ROUTER_PARAM_SLUG:
		return (all_of(s, len, 32, DIGITS LOWER "-_"));
	case ROUTER_PARAM_UUID:
	default:
		return (router_uuid_valid(s, len));
	}
}

/*
 * path_valid refuses what no route can mean: no leading '/', control or
 * non-ASCII bytes, '%' (request.c decodes), "//", "." and ".." segments.
 */
static bool
path_valid(const char *path)
{
	const char	*p, *seg;
	size_t		 len;

	if (path[0] != '/' || strnlen(path, ROUTER_PATH_MAX + 1) > ROUTER_PATH_MAX)
		return (false);
	for (p = path; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    *p == '%' || *p == '\\')
			return (false);
	for (seg = path + 1; *seg != '\0'; seg += len + (seg[len] == '/')) {
		len = strcspn(seg, "/");
		if (len == 0)
			return (false);
		if ((len == 1 && seg[0] == '.') ||
		    (len == 2 && seg[0] == '.' && seg[1] == '.'))
			return (false);
	}
	return (true);
}

/*
 * match_pattern compares path with pattern segment by segment, copying
 * parameter values into m.  Returns true on a full match (m->nparams set).
 */
static bool
match_pattern(const char *pattern, const char *path, struct router_match *m)
{
	const char	*pp = pattern, *sp = path;
	size_t		 plen, slen;
	int		 n = 0;

	for (;;) {
		while (*pp == '/')
			pp++;
		while (*sp == '/')
			sp++;
		if (*pp == '\0' || *sp == '\0')
			break;
		plen = strcspn(pp, "/");
		slen = strcspn(sp, "/");
		if (pp[0] == '{' && plen >= 2 && pp[plen - 1] == '}') {
			if (n == API_MAX_PARAMS ||
			    !param_valid(router_param_kind(pp + 1, plen - 2), sp, slen))
				return (false);
			memcpy(m->params[n], sp, slen);
			m->params[n][slen] = '\0';
			n++;
		} else if (plen != slen || memcmp(pp, sp, plen) != 0)
			return (false);
		pp += plen;
		sp += slen;
	}
	if (*pp != '\0' || *sp != '\0')
		return (false);
	m->nparams = n;
	return (true);
}

/* allow_add appends method to the Allow list unless already there. */
static void
allow_add(char *allow, const char *method)
{
	size_t	 used = strlen(allow), mlen = strlen(method);
	const char *p;

	for (p = allow; (p = strstr(p, method)) != NULL; p += mlen)
		if ((p == allow || p[-1] == ' ') && (p[mlen] == ',' || p[mlen] == '\0'))
			return;
	if (used + mlen + 3 > ROUTER_ALLOW_MAX)
		return;
	if (used > 0) {
		memcpy(allow + used, ", ", 2);
		used += 2;
	}
	memcpy(allow + used, method, mlen + 1);
}

int
router_lookup(const struct api_route *table, const char *method,
    const char *path, struct router_match *m)
{
	const struct api_route	*r;
	struct router_match	 scratch;

	memset(m, 0, sizeof(*m));
	if (method == NULL || path == NULL || !path_valid(path))
		return (404);
	for (r = table; r->method != NULL; r++) {
		if (strcmp(r->method, method) != 0)
			continue;
		if (match_pattern(r->pattern, path, m)) {
			m->route = r;
			return (200);
		}
	}
	for (r = table; r->method != NULL; r++)
		if (match_pattern(r->pattern, path, &scratch))
			allow_add(m->allow, r->method);
	m->nparams = 0;
	return (m->allow[0] != '\0' ? 405 : 404);
}
