/*
 * tests/fakes/fake_endpoints.c — what the fake platform answers when it
 * behaves: X, LinkedIn and Instagram (Graph) publishing, their OAuth 2.0
 * endpoints and identity endpoints, in the shapes external-apis.md §3.1–3.3
 * describes.
 *
 *   X          POST /2/tweets, POST /2/oauth2/token, GET /2/users/me,
 *              GET /i/oauth2/authorize
 *   LinkedIn   POST /rest/posts, POST /oauth/v2/accessToken,
 *              GET /v2/userinfo, GET /oauth/v2/authorization
 *   Instagram  POST /{ver}/{ig}/media, GET /{ver}/{id}?fields=…,
 *              POST /{ver}/{ig}/media_publish, GET /{ver}/oauth/access_token,
 *              GET /{ver}/me, GET /{ver}/dialog/oauth,
 *              GET /refresh_access_token        ({ver} = v<digits>.<digits>)
 *
 * Each handler reads a complete struct fake_call and fills a struct
 * fake_reply; misbehaviour (modes) is applied around them by
 * fake_platform.c.  Valid tokens: any the fake issued for the platform,
 * and any "tok-…" (fake_state.c says whose).  The user of an
 * authorization is the "user" query parameter, "fakeuser" by default.
 *
 * Memory: handlers allocate only through the reply (freed by the caller)
 * and free their own temporaries before returning.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake.h"

#define USER_MAX	64
#define TOKEN_MAX	256

/* ==== identities derived from a user name */

static uint64_t
fnv64(const char *s)
{
	uint64_t	 h = UINT64_C(1469598103934665603);

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
	return (h);
}

static void
x_user_id(const char *user, char *out, size_t len)
{
	snprintf(out, len, "%" PRIu64, UINT64_C(1000000000) +
	    fnv64(user) % UINT64_C(999000000000000000));
}

static void
linkedin_sub(const char *user, char *out, size_t len)
{
	static const char	 b62[] =
	    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	uint64_t		 h = fnv64(user);
	size_t			 i;

	for (i = 0; i < 10 && i + 1 < len; i++, h /= 62)
		out[i] = b62[h % 62];
	out[i] = '\0';
}

static void
ig_user_id(const char *user, char *out, size_t len)
{
	snprintf(out, len, "178414%011" PRIu64, fnv64(user) % UINT64_C(100000000000));
}

/* ==== routing */

/* graph_version: length of a "/v<digits>.<digits>" prefix, 0 if none. */
static size_t
graph_version(const char *path)
{
	const char	*p = path;

	if (strncmp(p, "/v", 2) != 0 || !isdigit((unsigned char)p[2]))
		return (0);
	for (p += 2; isdigit((unsigned char)*p); p++)
		;
	if (*p++ != '.' || !isdigit((unsigned char)*p))
		return (0);
	while (isdigit((unsigned char)*p))
		p++;
	return (*p == '/' || *p == '\0' ? (size_t)(p - path) : 0);
}

enum fake_platform
endpoint_platform(const char *path)
{
	if (strncmp(path, "/2/", 3) == 0 || strncmp(path, "/i/oauth2/", 10) == 0)
		return (FAKE_X);
	if (strncmp(path, "/rest/", 6) == 0 || strncmp(path, "/oauth/v2/", 10) == 0 ||
	    strcmp(path, "/v2/userinfo") == 0)
		return (FAKE_LINKEDIN);
	if (graph_version(path) > 0 || strcmp(path, "/refresh_access_token") == 0)
		return (FAKE_INSTAGRAM);
	return (FAKE_NONE);
}

bool
endpoint_is_publish(const char *method, const char *path)
{
	size_t	 n = strlen(path);

	return (strcmp(method, "POST") == 0 && (strcmp(path, "/2/tweets") == 0 ||
	    strcmp(path, "/rest/posts") == 0 ||
	    (n > 14 && strcmp(path + n - 14, "/media_publish") == 0)));
}

/* ==== helpers */

/* call_param: a form field, else a query argument; free() the result. */
static char *
call_param(const struct fake_call *c, const char *name)
{
	const char	*q;
	char		*v;

	if ((v = call_form(c, name)) != NULL)
		return (v);
	q = call_arg(c, name);
	return (q != NULL ? strdup(q) : NULL);
}

static const char *
authorization_user(const struct fake_call *c)
{
	const char	*u = call_arg(c, "user");

	return (u != NULL && u[0] != '\0' && strlen(u) < USER_MAX ? u : "fakeuser");
}

/* need_token: the caller's user, or false with a 401-style reply set. */
static bool
need_token(struct fake_call *c, struct fc_reply *r, char *user)
{
	const char	*tok = call_bearer(c);

	if (state_token_valid(c->platform, tok, user, USER_MAX))
		return (true);
	if (c->platform == FAKE_INSTAGRAM)
		reply_graph_error(r, 400, 190, 463,
		    "Error validating access token: Session has expired.");
	else
		reply_error(r, c->platform, 401, "Unauthorized");
	return (false);
}

static json_t *
body_json(const struct fake_call *c)
{
	json_error_t	 e;

	return (c->body_len > 0 ? json_loadb(c->body, c->body_len, 0, &e) : NULL);
}

static char *
urlencode(const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	char			*out = malloc(strlen(s) * 3 + 1), *o = out;

	if (out == NULL)
		abort();
	for (; *s != '\0'; s++) {
		if (isalnum((unsigned char)*s) || strchr("-._~", *s) != NULL)
			*o++ = *s;
		else {
			*o++ = '%';
			*o++ = hex[(unsigned char)*s >> 4];
			*o++ = hex[*s & 15];
		}
	}
	*o = '\0';
	return (out);
}

/* ==== X */

static void
x_tweets(struct fake_call *c, struct fc_reply *r)
{
	char		 user[USER_MAX], author[32], id[32];
	json_t		*j;
	const char	*text;

	if (!need_token(c, r, user))
		return;
	j = body_json(c);
	text = json_string_value(json_object_get(j, "text"));
	if (text == NULL || text[0] == '\0') {
		fc_reply_json(r, 400, json_pack("{s:[{s:s}], s:s, s:s, s:s}",
		    "errors", "message", "text is required", "title", "Invalid Request",
		    "detail", "One or more parameters to your request was invalid.",
		    "type", "https://api.twitter.com/2/problems/invalid-request"));
		json_decref(j);
		return;
	}
	x_user_id(user, author, sizeof(author));
	snprintf(id, sizeof(id), "%" PRIu64, state_next_id());
	state_record_post(FAKE_X, id, text, author, call_bearer(c), c->received_us);
	fc_reply_json(r, 201, json_pack("{s:{s:s, s:s, s:[s]}}", "data", "id", id,
	    "text", text, "edit_history_tweet_ids", id));
	fc_reply_header(r, "x-rate-limit-limit", "200");
	fc_reply_header(r, "x-rate-limit-remaining", "199");
	fc_reply_header(r, "x-rate-limit-reset", "%" PRId64,
	    fc_wall_us() / 1000000 + 900);
	json_decref(j);
}

static void
x_me(struct fake_call *c, struct fc_reply *r)
{
	char	 user[USER_MAX], id[32];

	if (!need_token(c, r, user))
		return;
	x_user_id(user, id, sizeof(id));
	fc_reply_json(r, 200, json_pack("{s:{s:s, s:s, s:s}}", "data", "id", id,
	    "name", user, "username", user));
}

/* ==== OAuth 2.0 token endpoints (X and LinkedIn; RFC 6749 §5) */

static void
tokens_reply(struct fake_call *c, struct fc_reply *r, const char *user)
{
	char	 access[TOKEN_MAX], refresh[TOKEN_MAX];

	state_issue_tokens(c->platform, user, access, refresh, sizeof(access));
	if (c->platform == FAKE_X)
		fc_reply_json(r, 200, json_pack("{s:s, s:i, s:s, s:s, s:s}",
		    "token_type", "bearer", "expires_in", 7200, "access_token", access,
		    "scope", "tweet.read tweet.write users.read offline.access",
		    "refresh_token", refresh));
	else
		fc_reply_json(r, 200, json_pack("{s:s, s:i, s:s, s:i, s:s}",
		    "access_token", access, "expires_in", 5184000,
		    "refresh_token", refresh, "refresh_token_expires_in", 31536000,
		    "scope", "openid profile w_member_social"));
}

static void
oauth_token(struct fake_call *c, struct fc_reply *r)
{
	char	*grant = call_form(c, "grant_type");
	char	*code = call_form(c, "code"), *verifier = call_form(c, "code_verifier");
	char	*redirect = call_form(c, "redirect_uri");
	char	*refresh = call_form(c, "refresh_token");
	char	 user[USER_MAX];
	int	 rc;

	if (grant != NULL && strcmp(grant, "authorization_code") == 0) {
		rc = state_use_code(c->platform, code,
		    c->platform == FAKE_X ? verifier : NULL, redirect, user, sizeof(user));
		if (rc == 0)
			tokens_reply(c, r, user);
		else
			reply_oauth_error(r, 400, "invalid_grant", rc == -2 ?
			    "code_verifier does not match the code_challenge" : rc == -3 ?
			    "redirect_uri does not match" : "unknown or used authorization code");
	} else if (grant != NULL && strcmp(grant, "refresh_token") == 0) {
		rc = state_use_refresh(c->platform, refresh, user, sizeof(user));
		if (rc == 0)
			tokens_reply(c, r, user);
		else
			reply_oauth_error(r, 400, "invalid_grant", rc == -2 ?
			    "refresh token already used" : "unknown refresh token");
	} else
		reply_oauth_error(r, 400, grant == NULL ? "invalid_request" :
		    "unsupported_grant_type", "grant_type is missing or not supported");
	free(grant);
	free(code);
	free(verifier);
	free(redirect);
	free(refresh);
}

/* ==== authorization (the user's consent, simulated) */

static enum fake_platform
platform_named(const char *name)
{
	if (name == NULL)
		return (FAKE_NONE);
	if (strcmp(name, "x") == 0)
		return (FAKE_X);
	if (strcmp(name, "linkedin") == 0)
		return (FAKE_LINKEDIN);
	if (strcmp(name, "instagram") == 0)
		return (FAKE_INSTAGRAM);
	return (FAKE_NONE);
}

/* grant_code makes a code and the redirect URL; NULL when the request is bad. */
static char *
grant_code(struct fake_call *c, enum fake_platform p, char *code, size_t len)
{
	const char	*redirect = call_arg(c, "redirect_uri");
	const char	*state = call_arg(c, "state");
	const char	*challenge = call_arg(c, "code_challenge");
	char		*es, *url;
	size_t		 n;

	if (redirect == NULL || strncmp(redirect, "http", 4) != 0 ||
	    (p == FAKE_X && (challenge == NULL || challenge[0] == '\0')))
		return (NULL);
	if (state_new_code(p, authorization_user(c), challenge != NULL ? challenge : "",
	    redirect, code, len) == -1)
		return (NULL);
	es = urlencode(state != NULL ? state : "");
	n = strlen(redirect) + strlen(code) + strlen(es) + 16;
	if ((url = malloc(n)) == NULL)
		abort();
	snprintf(url, n, "%s%ccode=%s&state=%s", redirect,
	    strchr(redirect, '?') != NULL ? '&' : '?', code, es);
	free(es);
	return (url);
}

static void
authorize_redirect(struct fake_call *c, struct fc_reply *r)
{
	char	 code[64], *url;

	if ((url = grant_code(c, c->platform, code, sizeof(code))) == NULL) {
		fc_reply_text(r, 400, "text/plain",
		    "redirect_uri (and for X code_challenge) required\n");
		return;
	}
	fc_reply_text(r, 302, "text/plain", "");
	fc_reply_header(r, "Location", "%s", url);
	free(url);
}

void
endpoint_fake_authorize(struct fake_call *c, struct fc_reply *r)
{
	enum fake_platform	 p = platform_named(call_arg(c, "platform"));
	char			 code[64], *url;
	const char		*state = call_arg(c, "state");

	if (p == FAKE_NONE) {
		fc_reply_json(r, 400, json_pack("{s:s}", "error",
		    "platform must be x, linkedin or instagram"));
		return;
	}
	if ((url = grant_code(c, p, code, sizeof(code))) == NULL) {
		fc_reply_json(r, 400, json_pack("{s:s}", "error",
		    "redirect_uri (and for x code_challenge) required"));
		return;
	}
	fc_reply_json(r, 200, json_pack("{s:s, s:s, s:s}", "code", code,
	    "state", state != NULL ? state : "", "redirect", url));
	free(url);
}

/* ==== LinkedIn */

/*
 * little_text writes the text LinkedIn would show for commentary: "\c" is
 * c, and an unescaped reserved character silently ends the text, as the
 * real API does.
 */
static char *
little_text(const char *s)
{
	char	*out = malloc(strlen(s) + 1), *o = out;

	if (out == NULL)
		abort();
	for (; *s != '\0'; s++) {
		if (*s == '\\' && s[1] != '\0')
			*o++ = *++s;
		else if (strchr("\\|{}@[]()<>#*_~", *s) != NULL)
			break;
		else
			*o++ = *s;
	}
	*o = '\0';
	return (out);
}

static bool
linkedin_headers(struct fake_call *c, struct fc_reply *r)
{
	const char	*v = call_header(c, "LinkedIn-Version");
	const char	*p = call_header(c, "X-Restli-Protocol-Version");

	if (v == NULL || strlen(v) != 6 || strspn(v, "0123456789") != 6) {
		fc_reply_json(r, 400, json_pack("{s:i, s:s, s:s}", "status", 400,
		    "code", "VERSION_MISSING", "message",
		    "A version must be present. Please specify a version by adding "
		    "the LinkedIn-Version header."));
		return (false);
	}
	if (p == NULL || strcmp(p, "2.0.0") != 0) {
		fc_reply_json(r, 400, json_pack("{s:i, s:s}", "status", 400, "message",
		    "X-Restli-Protocol-Version 2.0.0 is required"));
		return (false);
	}
	return (true);
}

static void
li_posts(struct fake_call *c, struct fc_reply *r)
{
	char		 user[USER_MAX], id[64], *text;
	json_t		*j;
	const char	*author, *commentary, *life;

	if (!need_token(c, r, user) || !linkedin_headers(c, r))
		return;
	j = body_json(c);
	author = json_string_value(json_object_get(j, "author"));
	commentary = json_string_value(json_object_get(j, "commentary"));
	life = json_string_value(json_object_get(j, "lifecycleState"));
	if (author == NULL || strncmp(author, "urn:li:", 7) != 0 ||
	    commentary == NULL || life == NULL || strcmp(life, "PUBLISHED") != 0) {
		fc_reply_json(r, 422, json_pack("{s:i, s:s}", "status", 422, "message",
		    "ERROR :: /author, /commentary or /lifecycleState :: field is "
		    "required but not found and has no default value"));
		json_decref(j);
		return;
	}
	text = little_text(commentary);
	snprintf(id, sizeof(id), "urn:li:share:%" PRIu64, state_next_id());
	state_record_post(FAKE_LINKEDIN, id, text, author, call_bearer(c),
	    c->received_us);
	fc_reply_text(r, 201, "application/json", "");
	fc_reply_header(r, "x-restli-id", "%s", id);
	fc_reply_header(r, "x-linkedin-id", "%s", id);
	free(text);
	json_decref(j);
}

static void
li_userinfo(struct fake_call *c, struct fc_reply *r)
{
	char	 user[USER_MAX], sub[16], email[USER_MAX + 16];

	if (!need_token(c, r, user))
		return;
	linkedin_sub(user, sub, sizeof(sub));
	snprintf(email, sizeof(email), "%s@example.com", user);
	fc_reply_json(r, 200, json_pack("{s:s, s:s, s:s, s:s, s:b}", "sub", sub,
	    "name", user, "given_name", user, "email", email, "email_verified", 1));
}

/* ==== Instagram (Graph) */

static void
ig_media(struct fake_call *c, struct fc_reply *r, const char *ig)
{
	char	 user[USER_MAX], id[32];
	char	*image = call_param(c, "image_url"), *caption = call_param(c, "caption");

	if (need_token(c, r, user)) {
		if (image == NULL || strncmp(image, "http", 4) != 0)
			reply_graph_error(r, 400, 100, 0,
			    "The parameter image_url is required.");
		else {
			state_container_new(ig, caption != NULL ? caption : "", image,
			    id, sizeof(id));
			fc_reply_json(r, 200, json_pack("{s:s}", "id", id));
		}
	}
	free(image);
	free(caption);
}

static void
ig_publish(struct fake_call *c, struct fc_reply *r, const char *ig)
{
	char	 user[USER_MAX], media[32];
	char	*creation = call_param(c, "creation_id");
	int	 rc;

	if (!need_token(c, r, user)) {
		free(creation);
		return;
	}
	rc = state_container_publish(creation, ig, call_bearer(c), c->received_us,
	    media, sizeof(media));
	if (rc == 0)
		fc_reply_json(r, 200, json_pack("{s:s}", "id", media));
	else if (rc == -2)
		reply_graph_error(r, 400, 9007, 2207027,
		    "The media is not ready for publishing, please wait for a moment");
	else if (rc == -3)
		reply_graph_error(r, 400, 9007, 2207008,
		    "The media has already been published");
	else
		reply_graph_error(r, 400, 100, 33, "Unsupported post request: "
		    "unknown creation_id");
	free(creation);
}

static void
ig_object(struct fake_call *c, struct fc_reply *r, const char *id)
{
	static const char *const names[] = {
		"IN_PROGRESS", "FINISHED", "PUBLISHED", "ERROR"
	};
	char		 user[USER_MAX], url[96];
	const char	*fields = call_arg(c, "fields");
	int		 s;

	if (!need_token(c, r, user))
		return;
	if (fields != NULL && strstr(fields, "status_code") != NULL &&
	    (s = state_container_status(id)) >= 0)
		fc_reply_json(r, 200, json_pack("{s:s, s:s}", "status_code", names[s],
		    "id", id));
	else if (state_media_exists(id)) {
		snprintf(url, sizeof(url), "https://www.instagram.com/p/F%" PRIx64 "/",
		    fnv64(id));
		fc_reply_json(r, 200, json_pack("{s:s, s:s}", "permalink", url, "id", id));
	} else
		reply_graph_error(r, 400, 100, 33, "Unsupported get request. Object "
		    "does not exist, cannot be loaded due to missing permissions, or "
		    "does not support this operation.");
}

static void
ig_token_reply(struct fake_call *c, struct fc_reply *r, const char *user)
{
	char	 access[TOKEN_MAX], unused[TOKEN_MAX];

	state_issue_tokens(c->platform, user, access, unused, sizeof(access));
	fc_reply_json(r, 200, json_pack("{s:s, s:s, s:i}", "access_token", access,
	    "token_type", "bearer", "expires_in", 5183944));
}

static void
ig_code_exchange(struct fake_call *c, struct fc_reply *r)
{
	char	 user[USER_MAX];
	int	 rc = state_use_code(FAKE_INSTAGRAM, call_arg(c, "code"), NULL,
		    call_arg(c, "redirect_uri"), user, sizeof(user));

	if (rc == 0)
		ig_token_reply(c, r, user);
	else
		reply_graph_error(r, 400, 100, 36009,
		    "This authorization code has been used or is invalid.");
}

static void
ig_refresh(struct fake_call *c, struct fc_reply *r)
{
	const char	*grant = call_arg(c, "grant_type");
	char		 user[USER_MAX];

	if (grant == NULL || strcmp(grant, "ig_refresh_token") != 0) {
		reply_graph_error(r, 400, 100, 0, "grant_type must be ig_refresh_token");
		return;
	}
	if (need_token(c, r, user))
		ig_token_reply(c, r, user);
}

static void
ig_me(struct fake_call *c, struct fc_reply *r)
{
	char	 user[USER_MAX], id[32];

	if (!need_token(c, r, user))
		return;
	ig_user_id(user, id, sizeof(id));
	fc_reply_json(r, 200, json_pack("{s:s, s:s}", "id", id, "username", user));
}

/* graph_dispatch routes "/{ver}/…" (rest = what follows the version). */
static void
graph_dispatch(struct fake_call *c, struct fc_reply *r, const char *rest)
{
	char		 seg[128];
	const char	*slash;
	size_t		 n;

	if (*rest == '/')
		rest++;
	if (strcmp(c->method, "GET") == 0 && strcmp(rest, "dialog/oauth") == 0)
		authorize_redirect(c, r);
	else if (strcmp(c->method, "GET") == 0 && strcmp(rest, "oauth/access_token") == 0)
		ig_code_exchange(c, r);
	else if (strcmp(c->method, "GET") == 0 && strcmp(rest, "me") == 0)
		ig_me(c, r);
	else if ((slash = strchr(rest, '/')) == NULL) {
		if (strcmp(c->method, "GET") == 0 && rest[0] != '\0')
			ig_object(c, r, rest);
		else
			reply_graph_error(r, 400, 100, 33, "Unsupported request");
	} else {
		n = (size_t)(slash - rest);
		snprintf(seg, sizeof(seg), "%.*s", (int)(n < sizeof(seg) ? n : 0), rest);
		if (strcmp(c->method, "POST") == 0 && strcmp(slash, "/media") == 0 && n > 0)
			ig_media(c, r, seg);
		else if (strcmp(c->method, "POST") == 0 &&
		    strcmp(slash, "/media_publish") == 0 && n > 0)
			ig_publish(c, r, seg);
		else
			reply_graph_error(r, 400, 100, 33, "Unsupported request");
	}
}

/* ==== dispatch */

static const struct {
	const char	*method;
	const char	*path;
	void		(*fn)(struct fake_call *, struct fc_reply *);
} routes[] = {
	{ "POST",	"/2/tweets",			x_tweets },
	{ "POST",	"/2/oauth2/token",		oauth_token },
	{ "GET",	"/2/users/me",			x_me },
	{ "GET",	"/i/oauth2/authorize",		authorize_redirect },
	{ "POST",	"/rest/posts",			li_posts },
	{ "POST",	"/oauth/v2/accessToken",	oauth_token },
	{ "GET",	"/oauth/v2/authorization",	authorize_redirect },
	{ "GET",	"/v2/userinfo",			li_userinfo },
	{ "GET",	"/refresh_access_token",	ig_refresh },
};

void
endpoint_dispatch(struct fake_call *c, struct fc_reply *r)
{
	size_t	 i, v;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strcmp(c->path, routes[i].path) == 0) {
			if (strcmp(c->method, routes[i].method) == 0)
				routes[i].fn(c, r);
			else
				reply_error(r, c->platform, 405, "Method Not Allowed");
			return;
		}
	if ((v = graph_version(c->path)) > 0) {
		graph_dispatch(c, r, c->path + v);
		return;
	}
	reply_error(r, c->platform, 404, "Not Found");
}
