/*
 * router.h — matching a method and path against a route table.
 *
 * The table is data (routes.c holds the real one); router.c only matches.
 * Path parameters are validated by name: see router_param_kind.
 */
#ifndef CAAS_ROUTER_H
#define CAAS_ROUTER_H

#include <stddef.h>

#include "api.h"

#define ROUTER_PATH_MAX		1024	/* longer paths are 404 */
#define ROUTER_PARAM_MAX	256	/* longest accepted parameter value */
#define ROUTER_ALLOW_MAX	64	/* room for "GET, POST, PATCH, DELETE" */

enum router_param_kind {
	ROUTER_PARAM_UUID,	/* canonical 8-4-4-4-12 hex; every name not below */
	ROUTER_PARAM_INT,	/* {version}: 1..9 decimal digits */
	ROUTER_PARAM_TOKEN,	/* {token}, {file}: base64url alphabet plus '.', 1..256 */
	ROUTER_PARAM_SLUG,	/* {platform}, {provider}: [a-z0-9_-], 1..32 */
};

struct router_match {
	const struct api_route	*route;
	char			 params[API_MAX_PARAMS][ROUTER_PARAM_MAX + 1];
	int			 nparams;
	char			 allow[ROUTER_ALLOW_MAX];	/* on 405 */
};

/*
 * router_lookup finds the row of table (NULL-terminated by method) for
 * method and path.  Returns 200 with m->route and m->params filled; 405
 * when the path exists only with other methods (m->allow lists them, e.g.
 * "GET, POST"); 404 otherwise, including hostile paths ("//", "." or ".."
 * segments, control bytes, '%', over-long) and parameters that fail their
 * kind.  A trailing slash is optional on both sides.
 */
int	router_lookup(const struct api_route *table, const char *method,
	    const char *path, struct router_match *m);

/* router_uuid_valid: s[0..len) is 8-4-4-4-12 hex digits, either case. */
bool	router_uuid_valid(const char *s, size_t len);
/* router_uuid_text: the same for a string; false for NULL. */
bool	router_uuid_text(const char *s);

/* router_param_kind says how a {name} parameter is validated. */
enum router_param_kind	router_param_kind(const char *name, size_t len);

#endif /* CAAS_ROUTER_H */
