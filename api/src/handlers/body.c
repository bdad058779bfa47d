/*
 * handlers/body.c — the request body as a JSON object, for every handler
 * that reads one (sql.c, auth.c).  request.c has already bounded its size
 * and checked its content type and UTF-8.
 */
#include <jansson.h>

#include "../handlers.h"

int
body_object_or_reply(struct api_request *req, struct api_response *resp, json_t **root)
{
	json_error_t	err;

	*root = NULL;
	if (req->body == NULL || req->body_len == 0)
		return (respond_error(resp, 400, "22P02", "a JSON object body is required",
		    NULL, NULL));
	*root = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &err);
	if (*root == NULL || !json_is_object(*root)) {
		json_decref(*root);
		*root = NULL;
		return (respond_error(resp, 400, "22P02", "malformed JSON body",
		    err.text[0] != '\0' ? err.text : "expected a JSON object", NULL));
	}
	return (0);
}
