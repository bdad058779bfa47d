/*
 * adapters/oauth.c — a token endpoint's answer to a refresh (RFC 6749
 * §5.1, §5.2), shared by the X and LinkedIn adapters (common.h, "OAuth
 * token answers").
 *
 * Tokens are copied only when they are visible ASCII and fit; the copies
 * jansson made while parsing are wiped before the JSON is freed.  Error
 * texts pass through adapters_message_copy with both of the account's
 * tokens as secrets.
 *
 * Memory: the parsed answer is freed before returning; tokens land in the
 * caller's struct adapter_tokens.
 */
#include <stdio.h>
#include <string.h>

#include "common.h"

/* token_copy copies a token of visible ASCII that fits; false otherwise. */
static bool
token_copy(char *dst, size_t cap, const char *src)
{
	size_t	 i;

	for (i = 0; src[i] != '\0'; i++)
		if (i + 1 >= cap || src[i] < 0x21 || src[i] > 0x7e) {
			explicit_bzero(dst, cap);
			return (false);
		}
	/* Not empty, and never "." or ".." when it becomes a path segment. */
	if (i == 0 || src[0] == '.')
		return (false);
	memcpy(dst, src, i + 1);
	return (true);
}

/* wipe_str zeroes a JSON string's bytes in place (a token), if it is one. */
static void
wipe_str(json_t *v)
{
	if (json_is_string(v))
		explicit_bzero((char *)json_string_value(v), json_string_length(v));
}

static void
oauth_success(const struct adapter_response *resp, struct adapter_tokens *tok)
{
	json_t		*root;
	const char	*access, *refresh;
	int64_t		 n;

	if ((root = adapters_json_parse(resp)) == NULL) {
		adapters_tokens_set(tok, ADAPTER_RETRY,
		    "token endpoint answered %ld with a body that is not JSON",
		    resp->status);
		return;
	}
	access = adapters_json_str(root, "access_token", NULL);
	refresh = adapters_json_str(root, "refresh_token", NULL);
	if (access == NULL || !token_copy(tok->access_token,
	    sizeof(tok->access_token), access)) {
		adapters_tokens_set(tok, ADAPTER_RETRY,
		    "token endpoint answered %ld without a usable access_token",
		    resp->status);
	} else if (refresh != NULL && *refresh != '\0' &&
	    !token_copy(tok->refresh_token, sizeof(tok->refresh_token), refresh)) {
		explicit_bzero(tok->access_token, sizeof(tok->access_token));
		adapters_tokens_set(tok, ADAPTER_RETRY,
		    "token endpoint answered an unusable refresh_token");
	} else {
		tok->outcome = ADAPTER_PUBLISHED;
		if (adapters_json_int(&n, root, "expires_in", NULL) && n >= 0 &&
		    n <= INT64_C(315360000))
			tok->expires_in_s = n;
		if (adapters_json_int(&n, root, "refresh_token_expires_in", NULL) &&
		    n >= 0 && n <= INT64_C(315360000))
			tok->refresh_expires_in_s = n;
		snprintf(tok->message, sizeof(tok->message), "refreshed");
	}
	wipe_str(json_object_get(root, "access_token"));
	wipe_str(json_object_get(root, "refresh_token"));
	json_decref(root);
}

static void
oauth_refused(const struct adapter_response *resp,
    const struct adapter_account *acct, struct adapter_tokens *tok)
{
	json_t		*root;
	const char	*error = NULL, *desc = NULL;
	char		 e[64], d[300];

	if ((root = adapters_json_parse(resp)) != NULL) {
		error = adapters_json_str(root, "error", NULL);
		desc = adapters_json_str(root, "error_description", NULL);
		if (desc == NULL)
			desc = adapters_json_str(root, "message", NULL);
	}
	adapters_message_copy(e, sizeof(e), error != NULL ? error : "",
	    acct->refresh_token);
	adapters_message_copy(d, sizeof(d), desc != NULL ? desc : "",
	    acct->refresh_token);
	adapters_tokens_set(tok, ADAPTER_REAUTH, "token refresh refused (HTTP %ld)%s%s%s%s",
	    resp->status, e[0] != '\0' ? ": " : "", e,
	    d[0] != '\0' ? ": " : "", d);
	adapters_message_scrub(tok->message, sizeof(tok->message),
	    acct->access_token);
	json_decref(root);
}

void
adapters_oauth_classify(const struct adapter_response *resp,
    const struct adapter_account *acct, struct adapter_tokens *tok)
{
	adapters_tokens_reset(tok);
	if (resp->status == 0) {
		/* Sent or not, a refresh is retried: nothing else can be done. */
		(void)adapters_transport_outcome(resp, true, tok->message,
		    sizeof(tok->message));
		tok->outcome = ADAPTER_RETRY;
		return;
	}
	if (resp->status >= 200 && resp->status < 300) {
		oauth_success(resp, tok);
		return;
	}
	if (resp->status == 429 || resp->status == 408 || resp->status >= 500) {
		tok->retry_after_ms = adapters_retry_after_ms(resp);
		adapters_tokens_set(tok, ADAPTER_RETRY,
		    "token endpoint answered HTTP %ld", resp->status);
		return;
	}
	if (resp->status >= 400) {
		oauth_refused(resp, acct, tok);
		return;
	}
	adapters_tokens_set(tok, ADAPTER_RETRY,
	    "token endpoint answered unexpected HTTP %ld", resp->status);
}

enum adapter_prepare
adapters_oauth_refresh_request(const struct caas_adapter *a,
    const struct adapter_account *acct, struct adapter_request *req,
    struct adapter_tokens *tok)
{
	adapters_tokens_reset(tok);
	if (acct->refresh_token == NULL || acct->refresh_token[0] == '\0') {
		adapters_tokens_set(tok, ADAPTER_REAUTH, "no refresh token");
		return (ADAPTER_DONE);
	}
	if (adapters_request_url(req, "%s", adapter_conf(a, "token_url")) == -1 ||
	    (strncmp(req->url, "http://", 7) != 0 &&
	    strncmp(req->url, "https://", 8) != 0)) {
		adapters_tokens_set(tok, ADAPTER_RETRY,
		    "%s.token_url is not a usable http(s) URL", a->name);
		return (ADAPTER_DONE);
	}
	snprintf(req->method, sizeof(req->method), "POST");
	req->idempotent = false;
	if (adapters_header_add(req,
	    "Content-Type: application/x-www-form-urlencoded") == -1 ||
	    adapters_form_add(&req->body, "grant_type", "refresh_token") == -1 ||
	    adapters_form_add(&req->body, "refresh_token", acct->refresh_token) == -1 ||
	    adapters_form_add(&req->body, "client_id",
	    adapter_conf(a, "client_id")) == -1) {
		adapters_tokens_set(tok, ADAPTER_RETRY, "out of memory");
		return (ADAPTER_DONE);
	}
	return (ADAPTER_SEND);
}
