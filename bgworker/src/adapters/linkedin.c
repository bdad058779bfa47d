/*
 * adapters/linkedin.c — LinkedIn Posts API: POST /rest/posts as a member or
 * an organisation, and the token's refresh (external-apis.md §3.2).
 *
 * The author URN is the account's external_id ("urn:li:person:…" or
 * "urn:li:organization:…"; a bare member id gets "urn:li:person:").  The
 * commentary is written in LinkedIn's "little text format", where
 * \ | { } @ [ ] ( ) < > # * _ ~ are reserved: each gets a backslash, since
 * an unescaped one silently truncates the post while the API says 201.
 *
 * One request per attempt.  Outcomes:
 *   2xx with x-restli-id      PUBLISHED, permalink linkedin.com/feed/update/{urn}/
 *   2xx without it            UNKNOWN (it may be live)
 *   401                       REAUTH
 *   422 DUPLICATE_POST        PERMANENT "duplicate content"
 *   400, 403, 422, other 4xx  PERMANENT with the platform's message
 *   408, 429, 503             RETRY (429 carries no hint headers)
 *   other 5xx, no answer      UNKNOWN: never retried blindly.
 * Images are not uploaded here: the post goes out with its text only,
 * and the result's message says so.
 *
 * Memory: the request body and headers are the core's (adapter.h).
 */
#include <stdio.h>
#include <string.h>

#include "adapter.h"
#include "common.h"

extern const struct caas_adapter adapter_linkedin;

static const struct adapter_setting linkedin_settings[] = {
	{ "base_url", "https://api.linkedin.com", false,
	    "LinkedIn API base URL (tests point it at the fake platform)" },
	{ "version", "202601", false,
	    "LinkedIn-Version header (YYYYMM); versions are sunset, keep it current" },
	{ "token_url", "https://www.linkedin.com/oauth/v2/accessToken", false,
	    "OAuth 2.0 token endpoint, for refreshing access tokens" },
	{ "client_id", "", false, "OAuth 2.0 client id of the LinkedIn app" },
	{ "client_secret", "", true, "OAuth 2.0 client secret of the LinkedIn app" },
	{ NULL, NULL, false, NULL }
};

/*
 * linkedin_escape appends text with every little-text-format reserved
 * character preceded by a backslash.  Returns 0 or -1 (out of memory).
 */
static int
linkedin_escape(struct buf *b, const char *text)
{
	const char	*p, *run;

	for (run = p = text; *p != '\0'; p++) {
		if (strchr("\\|{}@[]()<>#*_~", *p) == NULL)
			continue;
		if (buf_append(b, run, (size_t)(p - run)) == -1 ||
		    buf_append(b, "\\", 1) == -1)
			return (-1);
		run = p;
	}
	return (buf_append(b, run, (size_t)(p - run)));
}

/* build_body writes the JSON post; -1 when memory runs out. */
static int
build_body(struct buf *body, const char *author, const char *text)
{
	struct buf	 esc;
	int		 rc;

	buf_init(&esc);
	if (linkedin_escape(&esc, text) == -1) {
		buf_cleanup(&esc);
		return (-1);
	}
	rc = buf_append(body, "{\"author\":", 10);
	rc |= buf_append_json_string(body, author, strlen(author));
	rc |= buf_append(body, ",\"commentary\":", 14);
	rc |= buf_append_json_string(body, esc.len > 0 ? esc.data : "", esc.len);
	rc |= buf_appendf(body, ",\"visibility\":\"PUBLIC\","
	    "\"distribution\":{\"feedDistribution\":\"MAIN_FEED\","
	    "\"targetEntities\":[],\"thirdPartyDistributionChannels\":[]},"
	    "\"lifecycleState\":\"PUBLISHED\",\"isReshareDisabledByAuthor\":false}");
	buf_cleanup(&esc);
	return (rc == 0 ? 0 : -1);
}

/* author_urn writes the author URN for external_id; false when invalid. */
static bool
author_urn(const char *ext, char *dst, size_t cap)
{
	char	 urn[ADAPTER_ID_MAX];
	int	 n;

	if (ext[0] == '\0')
		return (false);
	n = snprintf(urn, sizeof(urn), "%s%s",
	    strncmp(ext, "urn:li:", 7) == 0 ? "" : "urn:li:person:", ext);
	if (n < 0 || (size_t)n >= sizeof(urn))
		return (false);
	return (adapters_id_copy(dst, cap, urn));
}

static enum adapter_prepare
linkedin_prepare(const struct adapter_post *post, struct adapter_state *state,
    struct adapter_request *req, struct adapter_result *result)
{
	char		 base[ADAPTER_URL_MAX], author[ADAPTER_ID_MAX];
	const char	*ext = post->external_id != NULL ? post->external_id : "";
	const char	*version = adapter_conf(&adapter_linkedin, "version");

	(void)state;
	adapters_result_reset(result);
	if (adapters_base_url(base, sizeof(base), &adapter_linkedin, "base_url") == -1 ||
	    adapters_request_url(req, "%s/rest/posts", base) == -1) {
		adapters_result_set(result, ADAPTER_RETRY,
		    "linkedin.base_url is not a usable http(s) URL");
		return (ADAPTER_DONE);
	}
	if (!author_urn(ext, author, sizeof(author))) {
		adapters_result_set(result, ADAPTER_PERMANENT,
		    "the account has no valid LinkedIn author URN");
		return (ADAPTER_DONE);
	}
	if (post->text == NULL || post->text[0] == '\0') {
		adapters_result_set(result, ADAPTER_PERMANENT, "LinkedIn needs text");
		return (ADAPTER_DONE);
	}
	snprintf(req->method, sizeof(req->method), "POST");
	req->idempotent = false;
	if (adapters_bearer(req, post->access_token) == -1) {
		adapters_result_set(result, ADAPTER_REAUTH, "no usable access token");
		return (ADAPTER_DONE);
	}
	if (adapters_header_add(req, "Content-Type: application/json") == -1 ||
	    adapters_header_add(req, "LinkedIn-Version: %s",
	    version != NULL && version[0] != '\0' ? version : "202601") == -1 ||
	    adapters_header_add(req, "X-Restli-Protocol-Version: 2.0.0") == -1 ||
	    build_body(&req->body, author, post->text) == -1) {
		adapters_result_set(result, ADAPTER_RETRY, "out of memory");
		return (ADAPTER_DONE);
	}
	return (ADAPTER_SEND);
}

static void
linkedin_accepted(const struct adapter_post *post,
    const struct adapter_response *resp, struct adapter_result *result)
{
	const char	*urn = adapters_header(resp, "x-restli-id");

	if (!adapters_id_copy(result->remote_id, sizeof(result->remote_id), urn)) {
		adapters_result_set(result, ADAPTER_UNKNOWN,
		    "HTTP %ld without x-restli-id: it may have been published",
		    resp->status);
		return;
	}
	snprintf(result->remote_url, sizeof(result->remote_url),
	    "https://www.linkedin.com/feed/update/%s/", result->remote_id);
	adapters_result_set(result, ADAPTER_PUBLISHED, "%s", post->n_media > 0 ?
	    "published, text only: images are not uploaded to LinkedIn yet" :
	    "published");
}

static void
linkedin_refused(const struct adapter_post *post,
    const struct adapter_response *resp, struct adapter_result *result)
{
	json_t		*root = adapters_json_parse(resp);
	const char	*code = adapters_json_str(root, "code", NULL);
	const char	*msg = adapters_json_str(root, "message", NULL);
	char		 detail[ADAPTER_MSG_MAX - 32];

	adapters_message_copy(detail, sizeof(detail), msg, post->access_token);
	if ((code != NULL && strcmp(code, "DUPLICATE_POST") == 0) ||
	    adapters_body_contains(resp, "DUPLICATE_POST"))
		adapters_result_set(result, ADAPTER_PERMANENT, "duplicate content");
	else
		adapters_result_set(result, ADAPTER_PERMANENT, "HTTP %ld: %s",
		    resp->status, detail[0] != '\0' ? detail : "refused by LinkedIn");
	json_decref(root);
}

static void
linkedin_classify(const struct adapter_post *post, struct adapter_state *state,
    const struct adapter_response *resp, struct adapter_result *result)
{
	(void)state;
	adapters_classify_status(post, resp, result, linkedin_accepted, linkedin_refused);
}

/* ---- token refresh (approved partners only; others reconnect) */

static enum adapter_prepare
linkedin_refresh_prepare(const struct adapter_account *acct,
    struct adapter_request *req, struct adapter_tokens *tok)
{
	if (adapters_oauth_refresh_request(&adapter_linkedin, acct, req, tok) != ADAPTER_SEND)
		return (ADAPTER_DONE);
	if (adapters_form_add(&req->body, "client_secret",
	    adapter_conf(&adapter_linkedin, "client_secret")) == -1) {
		adapters_tokens_set(tok, ADAPTER_RETRY, "out of memory");
		return (ADAPTER_DONE);
	}
	return (ADAPTER_SEND);
}

static void
linkedin_refresh_classify(const struct adapter_account *acct,
    const struct adapter_response *resp, struct adapter_tokens *tok)
{
	adapters_oauth_classify(resp, acct, tok);
}

const struct caas_adapter adapter_linkedin = {
	.name = "linkedin",
	.settings = linkedin_settings,
	.prepare = linkedin_prepare,
	.classify = linkedin_classify,
	.refresh_prepare = linkedin_refresh_prepare,
	.refresh_classify = linkedin_refresh_classify,
};
