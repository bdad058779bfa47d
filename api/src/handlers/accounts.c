/*
 * handlers/accounts.c — connecting social accounts: the OAuth 2.0 flow
 * (start, callback) and pasted tokens.  Listing and disconnecting are
 * plain SQL rows in routes.c.
 *
 * The flow: start makes a random state (only its SHA-256 is stored) and,
 * on PKCE platforms, a verifier sealed like a token (subject: the
 * platform, kind "verifier"); caas.oauth_begin stores both after checking
 * account.manage.  The callback consumes the state once
 * (caas.oauth_finish), exchanges the code and fetches the identity with
 * the platform (outbound.c: the one slow call DESIGN.md allows here, and
 * the user waits for it anyway), seals the tokens (subject
 * "<platform>:<external_id>") and calls caas.account_connect as the user
 * who started the flow, so the database decides permission again.
 *
 * Who hears what: a platform's error bodies are never echoed (the client
 * gets a code, the log gets the status); tokens, codes, verifiers and
 * client secrets never reach a log or a response.  Clear tokens live in
 * malloc'd buffers wiped before they are freed; only sealed values reach
 * the request's arena.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "../auth_jwt.h"
#include "../config.h"
#include "../db.h"
#include "../handlers.h"
#include "../oauth.h"
#include "../outbound.h"
#include "seal.h"

static const struct seal_ring	*accounts_ring;

void
accounts_configure(const struct seal_ring *ring)
{
	accounts_ring = ring;
}

/* What a connection needs, gathered from the flow or the pasted body. */
struct connect_input {
	const char		*org;
	const char		*platform;
	struct oauth_tokens	 tokens;
	struct oauth_identity	 who;
};

/* ------------------------------------------------------------ helpers */

/* random_text writes 32 random bytes as base64url (43 characters). */
static int
random_text(char out[OAUTH_SECRET_TEXT])
{
	unsigned char	raw[32];
	size_t		pos = 0;
	int		rc;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return (-1);
	rc = jwt_b64url_encode(raw, sizeof(raw), out, OAUTH_SECRET_TEXT, &pos);
	OPENSSL_cleanse(raw, sizeof(raw));
	return (rc);
}

/* bytea_param formats bytes as a bytea text parameter ("\x<hex>", arena). */
static const char *
bytea_param(struct api_request *req, const unsigned char *p, size_t n)
{
	static const char	 hex[] = "0123456789abcdef";
	char			*out;
	size_t			 i;

	if ((out = arena_alloc(req->arena, 2 * n + 3)) == NULL)
		return (NULL);
	out[0] = '\\';
	out[1] = 'x';
	for (i = 0; i < n; i++) {
		out[2 + 2 * i] = hex[p[i] >> 4];
		out[3 + 2 * i] = hex[p[i] & 0x0f];
	}
	out[2 + 2 * n] = '\0';
	return (out);
}

static const char *
sha256_param(struct api_request *req, const char *s)
{
	unsigned char	d[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)s, strlen(s), d);
	return (bytea_param(req, d, sizeof(d)));
}

/*
 * seal_param seals plain for (org, subject, kind) with the current key and
 * returns it as a bytea parameter (arena), or NULL.  NULL plain: NULL.
 */
static const char *
seal_param(struct api_request *req, const char *org, const char *subject,
    const char *kind, const char *plain, bool *failed)
{
	uint8_t		 sealed[SEAL_MAX_PLAIN + SEAL_OVERHEAD];
	long		 n;

	if (plain == NULL)
		return (NULL);
	n = seal_token(accounts_ring, org, subject, kind, plain, strlen(plain),
	    sealed, sizeof(sealed));
	if (n < 0) {
		*failed = true;
		return (NULL);
	}
	return (bytea_param(req, sealed, (size_t)n));
}

/* expires_param: the lifetime in seconds as text (arena), or NULL. */
static const char *
expires_param(struct api_request *req, long expires_in)
{
	char	 s[24];

	if (expires_in <= 0)
		return (NULL);
	snprintf(s, sizeof(s), "%ld", expires_in);
	return (arena_strndup(req->arena, s, sizeof(s)));
}

/* scopes_param turns "a b" or "a,b" into the array literal {"a","b"}. */
static const char *
scopes_param(struct api_request *req, const char *scope)
{
	struct buf	 b;
	const char	*p = scope, *out;
	size_t		 len, i;
	int		 n = 0;

	if (scope == NULL)
		return (NULL);
	buf_init(&b);
	buf_append(&b, "{", 1);
	while (*(p += strspn(p, " ,")) != '\0') {
		len = strcspn(p, " ,");
		buf_appendf(&b, "%s\"", n++ > 0 ? "," : "");
		for (i = 0; i < len; i++) {
			if (p[i] == '"' || p[i] == '\\')
				buf_append(&b, "\\", 1);
			buf_append(&b, &p[i], 1);
		}
		buf_append(&b, "\"", 1);
		p += len;
	}
	buf_append(&b, "}", 1);
	out = arena_strndup(req->arena, b.data, b.len);
	buf_cleanup(&b);
	return (out);
}

/* --------------------------------------------------- talking to platforms */

/*
 * platform_call runs rq and leaves the answer in out.  Returns the HTTP
 * status, or 0 when no answer came (logged).
 */
static long
platform_call(struct api_request *req, const char *platform, const char *what,
    const struct oauth_http *rq, struct buf *out)
{
	char	 err[256];
	long	 status;

	if (outbound_fetch(rq, api_config.outbound_timeout_ms, &status, out,
	    err, sizeof(err)) == -1) {
		fprintf(stderr, "caas-api: request %s: %s %s: no answer: %s\n",
		    req->request_id, platform, what, err);
		return (0);
	}
	if (status < 200 || status > 299)
		fprintf(stderr, "caas-api: request %s: %s %s: HTTP %ld\n",
		    req->request_id, platform, what, status);
	return (status);
}

/* wipe_buf clears an answer that may hold tokens, then frees it. */
static void
wipe_buf(struct buf *b)
{
	if (b->data != NULL)
		OPENSSL_cleanse(b->data, b->cap);
	buf_cleanup(b);
}

/*
 * fetch_identity asks the platform whose in->tokens.access is.  Returns 0,
 * or -1 with rejected_status (the platform refused the token: 4xx) or 502
 * (no usable answer) set in resp.
 */
static int
fetch_identity(struct api_request *req, struct api_response *resp,
    const struct oauth_platform *p, struct connect_input *in, int rejected_status)
{
	struct oauth_http	 rq;
	struct buf		 ans;
	long			 status;
	int			 rc;

	oauth_http_init(&rq);
	buf_init(&ans);
	if (oauth_identity_request(p, &api_config, in->tokens.access, &rq) == -1) {
		oauth_http_cleanup(&rq);
		return (respond_error(resp, 500, "internal_error", "Out of memory.", NULL, NULL));
	}
	status = platform_call(req, in->platform, "identity", &rq, &ans);
	oauth_http_cleanup(&rq);
	rc = status >= 200 && status <= 299 ?
	    oauth_identity_parse(p, ans.data, ans.len, &in->who) : -1;
	wipe_buf(&ans);
	if (rc == 0)
		return (0);
	if (status >= 400 && status <= 499)
		return (respond_error(resp, rejected_status, "token_rejected",
		    "the platform rejected the access token", NULL,
		    "Connect the account again."));
	return (respond_error(resp, 502, "platform_error",
	    "the platform did not say whose the token is", NULL, "Try again later."));
}

/*
 * exchange_code trades the authorisation code for tokens.  Returns 0, or
 * -1 with 400 (the platform refused the code) or 502 set in resp.
 */
static int
exchange_code(struct api_request *req, struct api_response *resp,
    const struct oauth_platform *p, const char *code, const char *verifier,
    const char *redirect_uri, struct connect_input *in)
{
	struct oauth_http	 rq;
	struct buf		 ans;
	long			 status;
	int			 rc;

	oauth_http_init(&rq);
	buf_init(&ans);
	if (oauth_token_request(p, &api_config, code, verifier, redirect_uri, &rq) == -1) {
		oauth_http_cleanup(&rq);
		return (respond_error(resp, 500, "internal_error", "Out of memory.", NULL, NULL));
	}
	status = platform_call(req, in->platform, "token exchange", &rq, &ans);
	oauth_http_cleanup(&rq);
	rc = status >= 200 && status <= 299 ?
	    oauth_tokens_parse(ans.data, ans.len, &in->tokens) : -1;
	wipe_buf(&ans);
	if (rc == 0)
		return (0);
	if (status >= 400 && status <= 499)
		return (respond_error(resp, 400, "oauth_exchange_failed",
		    "the platform refused the authorisation code", NULL,
		    "Start connecting the account again."));
	return (respond_error(resp, 502, "platform_error",
	    "the platform did not answer the code exchange", NULL, "Try again later."));
}

/* ------------------------------------------------------------- connect */

static const char connect_sql[] =
    "SELECT caas.account_connect($1::uuid, $2, $3, $4, $5, $6::bytea, $7::bytea, $8,"
    " now() + $9::integer * interval '1 second', $10::text[])";

/*
 * connect_account seals in's tokens and calls caas.account_connect as the
 * request's caller; the account's JSON lands in *account (arena).
 * Returns 0, or -1 with the error response set.
 */
static int
connect_account(struct api_request *req, struct api_response *resp,
    struct connect_input *in, char **account)
{
	const char	*params[10];
	char		 subject[OAUTH_ID_MAX + 32];
	bool		 failed = false;

	snprintf(subject, sizeof(subject), "%s:%s", in->platform, in->who.external_id);
	params[0] = in->org;
	params[1] = in->platform;
	params[2] = in->who.external_id;
	params[3] = in->who.handle[0] != '\0' ? in->who.handle : NULL;	/* NULL keeps */
	params[4] = in->who.name[0] != '\0' ? in->who.name : NULL;
	params[5] = seal_param(req, in->org, subject, "access", in->tokens.access, &failed);
	params[6] = seal_param(req, in->org, subject, "refresh", in->tokens.refresh, &failed);
	params[7] = seal_current_kid(accounts_ring);
	params[8] = expires_param(req, in->tokens.expires_in);
	params[9] = scopes_param(req, in->tokens.scope);
	if (failed || params[5] == NULL)
		return (respond_error(resp, 500, "internal_error",
		    "could not seal the token", NULL, NULL));
	if (db_query(req, resp, true, connect_sql, 10, params, account) == -1)
		return (-1);
	return (respond_json(resp, 201, *account != NULL ? *account : "null",
	    *account != NULL ? strlen(*account) : 4));
}

/* ------------------------------------------------------ OAuth: start */

static const char begin_sql[] =
    "SELECT caas.oauth_begin($1::uuid, $2, $3::bytea, $4::bytea, $5, $6)";

/* reply_begin answers {authorization_url, state, expires_at}. */
static int
reply_begin(struct api_response *resp, const char *url, const char *state,
    const char *row)
{
	json_t	*r, *out;
	char	*s;
	int	 rc;

	r = row != NULL ? json_loads(row, 0, NULL) : NULL;
	out = json_pack("{s:s, s:s, s:O?}", "authorization_url", url, "state", state,
	    "expires_at", r != NULL ? json_object_get(r, "expires_at") : NULL);
	json_decref(r);
	if (out == NULL || (s = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL) {
		json_decref(out);
		return (respond_error(resp, 500, "internal_error", "Out of memory.", NULL, NULL));
	}
	rc = respond_json(resp, 201, s, strlen(s));
	json_decref(out);
	free(s);
	return (rc);
}

/*
 * handle_accounts_oauth_begin: POST .../accounts/oauth/{platform}/ → 201
 * {authorization_url, state, expires_at}.  503 naming the setting when
 * the platform's client or the sealing keys are not configured.
 */
int
handle_accounts_oauth_begin(struct api_request *req, struct api_response *resp)
{
	const struct oauth_platform	*p = oauth_platform_find(req->params[1]);
	const char			*missing, *params[6];
	char				 state[OAUTH_SECRET_TEXT], verifier[OAUTH_SECRET_TEXT];
	char				 challenge[OAUTH_SECRET_TEXT], *row = NULL;
	struct buf			 redirect, url;
	bool				 failed = false;
	int				 rc;

	if (p == NULL)
		return (respond_error(resp, 422, "22023", "this platform cannot be connected by OAuth",
		    NULL, "Use x, linkedin or instagram."));
	if ((missing = oauth_missing_config(p, &api_config)) != NULL)
		return (respond_unconfigured(resp, missing));
	if (!seal_ring_ready(accounts_ring))
		return (respond_unconfigured(resp, "token_keys"));
	if (random_text(state) == -1 || random_text(verifier) == -1 ||
	    oauth_pkce_challenge(verifier, challenge, sizeof(challenge)) == -1)
		return (respond_error(resp, 500, "internal_error", "no randomness", NULL, NULL));
	buf_init(&redirect);
	buf_init(&url);
	params[0] = req->params[0];
	params[1] = oauth_platform_name(p);
	params[2] = sha256_param(req, state);
	params[3] = oauth_platform_pkce(p) ? seal_param(req, req->params[0],
	    params[1], "verifier", verifier, &failed) : NULL;
	params[4] = seal_current_kid(accounts_ring);
	params[5] = oauth_redirect_uri(p, &api_config, &redirect) == 0 ? redirect.data : NULL;
	OPENSSL_cleanse(verifier, sizeof(verifier));
	if (failed || params[2] == NULL || params[5] == NULL ||
	    oauth_authorize_url(p, &api_config, state, challenge, redirect.data, &url) == -1)
		rc = respond_error(resp, 500, "internal_error", "could not start the flow", NULL, NULL);
	else if ((rc = db_query(req, resp, true, begin_sql, 6, params, &row)) == 0)
		rc = reply_begin(resp, url.data, state, row);
	buf_cleanup(&redirect);
	buf_cleanup(&url);
	return (rc);
}

/* --------------------------------------------------- OAuth: callback */

/* The row caas.oauth_finish hands back, parsed (strings borrowed from json). */
struct flow {
	json_t		*json;
	const char	*org, *user, *platform, *verifier_enc, *kid, *redirect_uri;
};

static const char finish_sql[] = "SELECT caas.oauth_finish($1::bytea)";

/*
 * finish_flow consumes the state (single use) and parses its row.
 * Returns 0, or -1 with the error set: 404 unknown or used, 422 expired
 * (the database's), 400 a state begun for another platform.
 */
static int
finish_flow(struct api_request *req, struct api_response *resp, const char *state,
    struct flow *f)
{
	const char	*params[1];
	char		*row = NULL;

	params[0] = sha256_param(req, state);
	if (db_query(req, resp, false, finish_sql, 1, params, &row) == -1)
		return (-1);
	if (row == NULL || (f->json = json_loads(row, 0, NULL)) == NULL)
		return (respond_error(resp, 404, "P0002", "unknown or used OAuth state", NULL, NULL));
	f->org = json_string_value(json_object_get(f->json, "org_id"));
	f->user = json_string_value(json_object_get(f->json, "user_id"));
	f->platform = json_string_value(json_object_get(f->json, "platform"));
	f->verifier_enc = json_string_value(json_object_get(f->json, "verifier_enc"));
	f->kid = json_string_value(json_object_get(f->json, "token_key_id"));
	f->redirect_uri = json_string_value(json_object_get(f->json, "redirect_uri"));
	if (f->org == NULL || f->user == NULL || f->platform == NULL || f->redirect_uri == NULL ||
	    !jwt_uuid_is_canonical(f->user, strlen(f->user)))
		return (respond_error(resp, 500, "internal_error", "malformed OAuth state", NULL, NULL));
	if (strcmp(f->platform, req->params[0]) != 0)
		return (respond_error(resp, 400, "invalid_state",
		    "this state was issued for another platform", NULL, NULL));
	return (0);
}

/* open_verifier opens the sealed PKCE verifier into out.  0 / -1 (500 set). */
static int
open_verifier(struct api_response *resp, const struct flow *f, char *out, size_t outlen)
{
	uint8_t		 sealed[OAUTH_SECRET_TEXT + SEAL_OVERHEAD + 8];
	long		 n;

	out[0] = '\0';
	if (f->verifier_enc == NULL || f->kid == NULL ||
	    (n = seal_b64_decode(f->verifier_enc, strlen(f->verifier_enc), sealed, sizeof(sealed))) < 0 ||
	    seal_open(accounts_ring, f->kid, f->org, f->platform, "verifier", sealed,
	    (size_t)n, out, outlen) < 0)
		return (respond_error(resp, 500, "internal_error",
		    "could not open the PKCE verifier", NULL, "Check token_keys."));
	return (0);
}

/*
 * done_redirect turns the answer into a 302 to oauth_done_url with
 * ?status=connected&account_id=... or ?status=error&error=<code>, when
 * that setting is not empty.  The JSON body stays, for clients that look.
 */
static void
done_redirect(struct api_request *req, struct api_response *resp, const char *account)
{
	const char	*base = api_config.oauth_done_url, *id = NULL, *code = NULL;
	json_t		*j;
	struct buf	 loc;

	if (base == NULL || base[0] == '\0')
		return;
	if (resp->status == 201 && account != NULL) {
		j = json_loads(account, 0, NULL);
		id = json_string_value(json_object_get(j, "account_id"));
	} else {
		j = json_loadb(resp->body.data != NULL ? resp->body.data : "", resp->body.len, 0, NULL);
		code = json_string_value(json_object_get(j, "code"));
	}
	buf_init(&loc);
	buf_appendf(&loc, "%s%c%s", base, strchr(base, '?') != NULL ? '&' : '?',
	    id != NULL ? "status=connected&account_id=" : "status=error&error=");
	oauth_append_encoded(&loc, id != NULL ? id : code != NULL ? code : "error");
	if (loc.data != NULL)
		respond_header(resp, "Location", arena_strndup(req->arena, loc.data, loc.len));
	resp->status = 302;
	buf_cleanup(&loc);
	json_decref(j);
}

/* platform_denied answers the platform's ?error= (access_denied, ...). */
static int
platform_denied(struct api_response *resp, const char *error)
{
	size_t	 n = strspn(error, "abcdefghijklmnopqrstuvwxyz_");
	bool	 safe = n > 0 && n < 64 && error[n] == '\0';

	return (respond_error(resp, 400, "oauth_denied",
	    "the platform did not authorise the connection", safe ? error : "error",
	    "Start connecting the account again and allow access."));
}

/*
 * callback_steps: state → exchange → identity → connect as the flow's user.
 * Returns 0 or -1 with the answer set; *account is the account's JSON.
 */
static int
callback_steps(struct api_request *req, struct api_response *resp,
    struct connect_input *in, struct flow *f, char **account)
{
	const struct oauth_platform	*p = oauth_platform_find(req->params[0]);
	const char			*code = request_query(req, "code");
	const char			*state = request_query(req, "state");
	const char			*error = request_query(req, "error");
	char				 verifier[OAUTH_SECRET_TEXT + 1];
	int				 rc;

	if (p == NULL)
		return (respond_error(resp, 404, "not_found", "No such resource.", NULL, NULL));
	if (error != NULL)
		return (platform_denied(resp, error));
	if (code == NULL || state == NULL || code[0] == '\0' || state[0] == '\0')
		return (respond_error(resp, 400, "invalid_request",
		    "code and state are required", NULL, NULL));
	if (finish_flow(req, resp, state, f) == -1)
		return (-1);
	in->org = f->org;
	in->platform = f->platform;
	verifier[0] = '\0';
	if (oauth_platform_pkce(p) && open_verifier(resp, f, verifier, sizeof(verifier)) == -1)
		return (-1);
	rc = exchange_code(req, resp, p, code, verifier[0] != '\0' ? verifier : NULL,
	    f->redirect_uri, in);
	OPENSSL_cleanse(verifier, sizeof(verifier));
	if (rc == -1 || fetch_identity(req, resp, p, in, 502) == -1)
		return (-1);
	/* From here on the database sees the user who started the flow. */
	memcpy(req->claims.sub, f->user, API_UUID_LEN);
	req->claims.sub[API_UUID_LEN] = '\0';
	req->authenticated = true;
	return (connect_account(req, resp, in, account));
}

/*
 * handle_accounts_oauth_callback: GET /api/v1/oauth/{platform}/callback/
 * → 201 the account, or 302 to oauth_done_url when set.
 */
int
handle_accounts_oauth_callback(struct api_request *req, struct api_response *resp)
{
	struct connect_input	 in;
	struct flow		 f;
	char			*account = NULL;

	memset(&in, 0, sizeof(in));
	memset(&f, 0, sizeof(f));
	in.tokens.expires_in = -1;
	(void)callback_steps(req, resp, &in, &f, &account);
	done_redirect(req, resp, account);
	oauth_tokens_cleanup(&in.tokens);
	json_decref(f.json);
	return (0);
}

/* ------------------------------------------------------ pasted tokens */

/* string_field copies an optional string member; -1 (400 set) if not a string. */
static int
string_field(struct api_response *resp, json_t *root, const char *name, char **out)
{
	json_t	*v = json_object_get(root, name);
	char	 msg[96];

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return (0);
	if (!json_is_string(v)) {
		snprintf(msg, sizeof(msg), "%s must be a string", name);
		return (respond_error(resp, 400, "22P02", msg, NULL, NULL));
	}
	if ((*out = strndup(json_string_value(v), json_string_length(v))) == NULL)
		return (respond_error(resp, 500, "internal_error", "Out of memory.", NULL, NULL));
	return (0);
}

/*
 * paste_input reads {platform, access_token, refresh_token?, expires_in?,
 * external_id?, handle?} into in.  Returns 0 or -1 with 400/422 set.
 */
static int
paste_input(struct api_response *resp, json_t *root, struct connect_input *in)
{
	json_t	*v;
	char	*id = NULL, *handle = NULL;
	int	 rc;

	if ((in->platform = json_string_value(json_object_get(root, "platform"))) == NULL)
		return (respond_error(resp, 422, "23502", "platform is required", NULL, NULL));
	if (string_field(resp, root, "access_token", &in->tokens.access) == -1 ||
	    string_field(resp, root, "refresh_token", &in->tokens.refresh) == -1)
		return (-1);
	if (in->tokens.access == NULL || in->tokens.access[0] == '\0')
		return (respond_error(resp, 422, "23502", "access_token is required", NULL, NULL));
	if (in->tokens.refresh != NULL && in->tokens.refresh[0] == '\0') {
		free(in->tokens.refresh);	/* an empty refresh token is none */
		in->tokens.refresh = NULL;
	}
	if ((v = json_object_get(root, "expires_in")) != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
		    json_integer_value(v) > 400L * 86400)
			return (respond_error(resp, 422, "22023",
			    "expires_in must be a positive number of seconds", NULL, NULL));
		in->tokens.expires_in = (long)json_integer_value(v);
	}
	if (strcmp(in->platform, "sandbox") != 0)
		return (0);
	/* The sandbox platform publishes locally: the body says who it is. */
	rc = string_field(resp, root, "external_id", &id) == -1 ||
	    string_field(resp, root, "handle", &handle) == -1 ? -1 : 0;
	if (rc == 0 && (id == NULL || id[0] == '\0' || strlen(id) >= OAUTH_ID_MAX ||
	    (handle != NULL && strlen(handle) >= OAUTH_ID_MAX)))
		rc = respond_error(resp, 422, "22023",
		    "a sandbox account needs an external_id (and at most a 255-byte handle)", NULL, NULL);
	if (rc == 0) {
		snprintf(in->who.external_id, OAUTH_ID_MAX, "%s", id);
		snprintf(in->who.handle, OAUTH_ID_MAX, "%s", handle != NULL ? handle : id);
		snprintf(in->who.name, OAUTH_ID_MAX, "%s", in->who.handle);
	}
	free(id);
	free(handle);
	return (rc);
}

/*
 * handle_accounts_paste: POST .../accounts/ {platform, access_token,
 * refresh_token?, expires_in?} → 201 the account.  The token is checked
 * with the platform's identity endpoint first (422 when it refuses it);
 * the sandbox platform takes external_id and handle from the body.
 */
int
handle_accounts_paste(struct api_request *req, struct api_response *resp)
{
	const struct oauth_platform	*p;
	struct connect_input		 in;
	json_t				*root;
	char				*account = NULL;
	int				 rc;

	if (body_object_or_reply(req, resp, &root) == -1)
		return (-1);
	memset(&in, 0, sizeof(in));
	in.tokens.expires_in = -1;
	in.org = req->params[0];
	rc = paste_input(resp, root, &in);
	p = rc == 0 ? oauth_platform_find(in.platform) : NULL;
	if (rc == 0 && p == NULL && strcmp(in.platform, "sandbox") != 0)
		rc = respond_error(resp, 422, "22023", "unknown platform", NULL,
		    "Use x, linkedin, instagram or sandbox.");
	if (rc == 0 && !seal_ring_ready(accounts_ring))
		rc = respond_unconfigured(resp, "token_keys");
	if (rc == 0 && p != NULL)
		rc = fetch_identity(req, resp, p, &in, 422);
	if (rc == 0)
		rc = connect_account(req, resp, &in, &account);
	oauth_tokens_cleanup(&in.tokens);
	json_decref(root);	/* in.platform pointed into it */
	return (rc);
}
