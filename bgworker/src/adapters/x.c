/*
 * adapters/x.c — X (Twitter) API v2: POST /2/tweets with an OAuth 2.0 user
 * token, and the token's refresh (external-apis.md §3.1).
 *
 * One request per attempt.  Outcomes:
 *   2xx with data.id          PUBLISHED, permalink x.com/{handle}/status/{id}
 *   2xx without an id         UNKNOWN (it may be live; nothing to check)
 *   401                       REAUTH
 *   403 "duplicate content"   PERMANENT "duplicate content"
 *   400, other 403, other 4xx PERMANENT with the platform's detail
 *   408, 429, 503             RETRY (429: x-rate-limit-reset / Retry-After)
 *   other 5xx, no answer      UNKNOWN: the post may have been created, and
 *                             X has no idempotency key, so never retried
 *                             blindly.
 * Media upload is not done here: the post goes out with its text only,
 * and the result's message says so.
 *
 * Memory: the request body and headers are the core's (adapter.h); nothing
 * is kept between calls.
 */
#include <stdio.h>
#include <string.h>

#include "adapter.h"
#include "common.h"

extern const struct caas_adapter adapter_x;

static const struct adapter_setting x_settings[] = {
	{ "base_url", "https://api.x.com", false,
	    "X API base URL (tests point it at the fake platform)" },
	{ "token_url", "https://api.x.com/2/oauth2/token", false,
	    "OAuth 2.0 token endpoint, for refreshing access tokens" },
	{ "client_id", "", false, "OAuth 2.0 client id of the X app" },
	{ "client_secret", "", true,
	    "OAuth 2.0 client secret (confidential clients; empty for public)" },
	{ NULL, NULL, false, NULL }
};

static enum adapter_prepare
x_prepare(const struct adapter_post *post, struct adapter_state *state,
    struct adapter_request *req, struct adapter_result *result)
{
	char	 base[ADAPTER_URL_MAX];

	(void)state;
	adapters_result_reset(result);
	if (adapters_base_url(base, sizeof(base), &adapter_x, "base_url") == -1 ||
	    adapters_request_url(req, "%s/2/tweets", base) == -1) {
		adapters_result_set(result, ADAPTER_RETRY,
		    "x.base_url is not a usable http(s) URL");
		return (ADAPTER_DONE);
	}
	if (post->text == NULL || post->text[0] == '\0') {
		adapters_result_set(result, ADAPTER_PERMANENT, "X needs text");
		return (ADAPTER_DONE);
	}
	snprintf(req->method, sizeof(req->method), "POST");
	req->idempotent = false;
	if (adapters_bearer(req, post->access_token) == -1) {
		adapters_result_set(result, ADAPTER_REAUTH,
		    "no usable access token");
		return (ADAPTER_DONE);
	}
	if (adapters_header_add(req, "Content-Type: application/json") == -1 ||
	    buf_append(&req->body, "{\"text\":", 8) == -1 ||
	    buf_append_json_string(&req->body, post->text, strlen(post->text)) == -1 ||
	    buf_append(&req->body, "}", 1) == -1) {
		adapters_result_set(result, ADAPTER_RETRY, "out of memory");
		return (ADAPTER_DONE);
	}
	return (ADAPTER_SEND);
}

/*
 * error_detail copies the most specific text of an X error body: the first
 * errors[].detail or .message, else the top-level detail, title or
 * message.
 */
static void
error_detail(const struct adapter_response *resp, const char *secret,
    char *dst, size_t cap)
{
	json_t		*root, *errors;
	const char	*d = NULL;

	dst[0] = '\0';
	if ((root = adapters_json_parse(resp)) == NULL)
		return;
	errors = adapters_json_get(root, "errors", NULL);
	if (json_is_array(errors) && json_array_size(errors) > 0) {
		d = adapters_json_str(json_array_get(errors, 0), "detail", NULL);
		if (d == NULL)
			d = adapters_json_str(json_array_get(errors, 0), "message", NULL);
	}
	if (d == NULL)
		d = adapters_json_str(root, "detail", NULL);
	if (d == NULL)
		d = adapters_json_str(root, "title", NULL);
	if (d == NULL)
		d = adapters_json_str(root, "message", NULL);
	adapters_message_copy(dst, cap, d, secret);
	json_decref(root);
}

/* permalink: https://x.com/{handle}/status/{id}, i/web when no handle. */
static void
permalink(const struct adapter_post *post, const char *id, char *dst,
    size_t cap)
{
	const char	*h = post->handle != NULL ? post->handle : "";
	size_t		 n = strlen(h);

	if (n == 0 || n > 50 || strspn(h, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != n)
		h = "i/web";
	snprintf(dst, cap, "https://x.com/%s/status/%s", h, id);
}

static void
x_accepted(const struct adapter_post *post, const struct adapter_response *resp,
    struct adapter_result *result)
{
	json_t	*root = adapters_json_parse(resp);

	if (!adapters_id_copy(result->remote_id, sizeof(result->remote_id),
	    adapters_json_str(root, "data", "id", NULL))) {
		adapters_result_set(result, ADAPTER_UNKNOWN,
		    "HTTP %ld without a post id: it may have been published",
		    resp->status);
	} else {
		permalink(post, result->remote_id, result->remote_url,
		    sizeof(result->remote_url));
		adapters_result_set(result, ADAPTER_PUBLISHED, "%s", post->n_media > 0 ?
		    "published, text only: images are not uploaded to X yet" :
		    "published");
	}
	json_decref(root);
}

static void
x_refused(const struct adapter_post *post, const struct adapter_response *resp,
    struct adapter_result *result)
{
	char	 detail[ADAPTER_MSG_MAX - 32];

	error_detail(resp, post->access_token, detail, sizeof(detail));
	if (resp->status == 403 && (strcasestr(detail, "duplicate content") != NULL ||
	    adapters_body_contains(resp, "duplicate content"))) {
		adapters_result_set(result, ADAPTER_PERMANENT, "duplicate content");
		return;
	}
	adapters_result_set(result, ADAPTER_PERMANENT, "HTTP %ld: %s",
	    resp->status, detail[0] != '\0' ? detail : "refused by X");
}

static void
x_classify(const struct adapter_post *post, struct adapter_state *state,
    const struct adapter_response *resp, struct adapter_result *result)
{
	(void)state;
	adapters_classify_status(post, resp, result, x_accepted, x_refused);
}

/* ---- token refresh */

static enum adapter_prepare
x_refresh_prepare(const struct adapter_account *acct,
    struct adapter_request *req, struct adapter_tokens *tok)
{
	const char	*client_id = adapter_conf(&adapter_x, "client_id");
	const char	*secret = adapter_conf(&adapter_x, "client_secret");
	struct buf	 cred, b64;

	if (adapters_oauth_refresh_request(&adapter_x, acct, req, tok) != ADAPTER_SEND)
		return (ADAPTER_DONE);
	if (secret == NULL || secret[0] == '\0')
		return (ADAPTER_SEND);

	/* Confidential client: HTTP Basic with the url-encoded id and secret. */
	buf_init(&cred);
	buf_init(&b64);
	if (adapters_urlencode(&cred, client_id) == -1 ||
	    buf_append(&cred, ":", 1) == -1 ||
	    adapters_urlencode(&cred, secret) == -1 ||
	    adapters_base64(&b64, cred.data, cred.len) == -1 ||
	    adapters_header_add(req, "Authorization: Basic %s", b64.data) == -1) {
		adapters_tokens_set(tok, ADAPTER_RETRY, "out of memory");
		adapters_buf_wipe(&cred);
		adapters_buf_wipe(&b64);
		return (ADAPTER_DONE);
	}
	adapters_buf_wipe(&cred);
	adapters_buf_wipe(&b64);
	return (ADAPTER_SEND);
}

static void
x_refresh_classify(const struct adapter_account *acct,
    const struct adapter_response *resp, struct adapter_tokens *tok)
{
	adapters_oauth_classify(resp, acct, tok);
}

const struct caas_adapter adapter_x = {
	.name = "x",
	.settings = x_settings,
	.prepare = x_prepare,
	.classify = x_classify,
	.refresh_prepare = x_refresh_prepare,
	.refresh_classify = x_refresh_classify,
};
