/*
 * handlers/sql.c — the handler of every route whose row names its SQL API
 * call (api_route.sql and .args; see api.h).
 *
 * It gathers the arguments the row asks for — path parameters, query
 * parameters, fields of the JSON body ("b:" a scalar, "j:" any JSON value
 * as its JSON text), or the whole body — as text, and
 * makes the one database call.  Types are the database's business: the
 * statement casts each parameter, so a wrong type is the database's 22P02
 * (422), never a crash here.  A body must be a JSON object (400 otherwise).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../db.h"
#include "../handlers.h"

#define SQL_MAX_ARGS	10

/*
 * The text a JSON value stands for as a SQL parameter (arena-owned): a
 * string as is, any other value as its JSON text.  *bad is set when a
 * scalar was wanted and an object or array came.
 */
static const char *
value_text(struct api_request *req, json_t *v, bool scalar, bool *bad)
{
	char		*dump, *out;

	if (v == NULL || json_is_null(v))
		return (NULL);
	if (json_is_string(v))
		return (arena_strndup(req->arena, json_string_value(v), json_string_length(v)));
	if (scalar && (json_is_object(v) || json_is_array(v))) {
		*bad = true;
		return (NULL);
	}
	dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (dump == NULL)
		return (NULL);
	out = arena_strndup(req->arena, dump, strlen(dump));
	free(dump);
	return (out);
}

int
handle_sql(struct api_request *req, struct api_response *resp)
{
	const struct api_route	*rt = req->route;
	const char		*params[SQL_MAX_ARGS];
	json_t			*root = NULL;
	char			*spec, *tok, *save = NULL;
	int			 n = 0, rc;

	spec = arena_strndup(req->arena, rt->args, strlen(rt->args));
	for (tok = strtok_r(spec, " ", &save); tok != NULL && n < SQL_MAX_ARGS;
	    tok = strtok_r(NULL, " ", &save)) {
		if (tok[0] == 'p') {
			int	i = tok[1] - '0';

			params[n++] = i >= 0 && i < req->nparams ? req->params[i] : NULL;
		} else if (strncmp(tok, "q:", 2) == 0) {
			params[n++] = request_query(req, tok + 2);
		} else if (tok[0] == 'b' || tok[0] == 'j') {
			bool	bad = false;

			if (root == NULL && body_object_or_reply(req, resp, &root) == -1)
				return (-1);
			params[n++] = tok[1] == ':' ?
			    value_text(req, json_object_get(root, tok + 2), tok[0] == 'b', &bad) :
			    arena_strndup(req->arena, req->body, req->body_len);
			if (bad) {
				char	msg[96];

				json_decref(root);
				snprintf(msg, sizeof(msg), "%s must be a string, number or boolean", tok + 2);
				return (respond_error(resp, 400, "22P02", msg, NULL, NULL));
			}
		}
	}
	json_decref(root);
	rc = db_call(req, resp, rt->ok_status, rt->sql, n, params);
	return (rc);
}
