/*
 * oauth.c — each platform's OAuth 2.0, as one table row: where the user
 * authorises (and with which scopes), how a code becomes tokens, and how
 * a token says whose it is.  external-apis.md §3.1–3.3 has the sources.
 *
 *   X         authorization code with PKCE (S256); the code exchange is a
 *             form POST with the verifier, client_id in the body and, for
 *             a confidential client, HTTP Basic; identity GET /2/users/me
 *             → data.id, data.username, data.name.
 *   LinkedIn  authorization code; form POST with client_id and
 *             client_secret; identity GET /v2/userinfo → sub (the member
 *             is "urn:li:person:<sub>"), name.
 *   Instagram Facebook Login; the code exchange is a GET on the Graph
 *             API's /<version>/oauth/access_token; identity GET
 *             /<version>/me?fields=id,username.
 *
 * Adding a platform: one row here and its identity parser.  Settings are
 * read from struct api_config through the row's offsets; nothing is
 * cached.  No function here does I/O (outbound.c does).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "auth_jwt.h"
#include "oauth.h"

enum token_style {
	TOKEN_FORM_BASIC,	/* form POST, client_id in body, Basic when a secret is set */
	TOKEN_FORM_SECRET,	/* form POST, client_id and client_secret in body */
	TOKEN_GRAPH_GET,	/* GET <graph>/<version>/oauth/access_token?... */
};

typedef int (*identity_fn)(json_t *root, struct oauth_identity *out);

struct oauth_platform {
	const char	*name;
	size_t		 client_id;		/* offsets of char * in struct api_config */
	size_t		 client_secret;
	size_t		 authorize_url;
	size_t		 token_url;		/* unused by TOKEN_GRAPH_GET */
	size_t		 api_base;
	const char	*client_id_key;		/* setting names, for error messages */
	const char	*client_secret_key;	/* NULL: a public client is fine */
	const char	*scope;			/* as the authorize URL wants it */
	bool		 pkce;
	enum token_style token_style;
	bool		 versioned;		/* paths start with /<instagram_api_version> */
	const char	*identity_path;
	identity_fn	 identity;
};

static int	identity_x(json_t *, struct oauth_identity *);
static int	identity_linkedin(json_t *, struct oauth_identity *);
static int	identity_instagram(json_t *, struct oauth_identity *);

#define OFF(f)	offsetof(struct api_config, f)

static const struct oauth_platform platforms[] = {
	{
		.name = "x",
		.client_id = OFF(x_client_id),
		.client_secret = OFF(x_client_secret),
		.authorize_url = OFF(x_authorize_url),
		.token_url = OFF(x_token_url),
		.api_base = OFF(x_api_base),
		.client_id_key = "x_client_id",
		.client_secret_key = NULL,
		.scope = "tweet.read tweet.write users.read offline.access",
		.pkce = true,
		.token_style = TOKEN_FORM_BASIC,
		.identity_path = "/2/users/me",
		.identity = identity_x,
	},
	{
		.name = "linkedin",
		.client_id = OFF(linkedin_client_id),
		.client_secret = OFF(linkedin_client_secret),
		.authorize_url = OFF(linkedin_authorize_url),
		.token_url = OFF(linkedin_token_url),
		.api_base = OFF(linkedin_api_base),
		.client_id_key = "linkedin_client_id",
		.client_secret_key = "linkedin_client_secret",
		.scope = "openid profile w_member_social",
		.token_style = TOKEN_FORM_SECRET,
		.identity_path = "/v2/userinfo",
		.identity = identity_linkedin,
	},
	{
		.name = "instagram",
		.client_id = OFF(instagram_app_id),
		.client_secret = OFF(instagram_app_secret),
		.authorize_url = OFF(instagram_authorize_url),
		.api_base = OFF(instagram_graph_base),
		.client_id_key = "instagram_app_id",
		.client_secret_key = "instagram_app_secret",
		.scope = "instagram_basic,instagram_content_publish,pages_show_list,pages_read_engagement",
		.token_style = TOKEN_GRAPH_GET,
		.versioned = true,
		.identity_path = "/me?fields=id,username",
		.identity = identity_instagram,
	},
};

#define NPLATFORMS	(sizeof(platforms) / sizeof(platforms[0]))

/* setting reads the char * field at off of cfg ("" when unset). */
static const char *
setting(const struct api_config *cfg, size_t off)
{
	const char	*s = *(char *const *)(const void *)((const char *)cfg + off);

	return (s != NULL ? s : "");
}

const struct oauth_platform *
oauth_platform_find(const char *name)
{
	size_t	 i;

	for (i = 0; name != NULL && i < NPLATFORMS; i++)
		if (strcmp(platforms[i].name, name) == 0)
			return (&platforms[i]);
	return (NULL);
}

const char *
oauth_platform_name(const struct oauth_platform *p)
{
	return (p->name);
}

bool
oauth_platform_pkce(const struct oauth_platform *p)
{
	return (p->pkce);
}

const char *
oauth_missing_config(const struct oauth_platform *p, const struct api_config *cfg)
{
	if (setting(cfg, p->client_id)[0] == '\0')
		return (p->client_id_key);
	if (p->client_secret_key != NULL && setting(cfg, p->client_secret)[0] == '\0')
		return (p->client_secret_key);
	return (NULL);
}

int
oauth_pkce_challenge(const char *verifier, char *out, size_t outlen)
{
	unsigned char	 d[SHA256_DIGEST_LENGTH];
	size_t		 pos = 0;

	if (outlen < OAUTH_SECRET_TEXT)
		return (-1);
	SHA256((const unsigned char *)verifier, strlen(verifier), d);
	return (jwt_b64url_encode(d, sizeof(d), out, outlen, &pos));
}

int
oauth_append_encoded(struct buf *out, const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	char			 esc[3];
	size_t			 run;
	int			 rc = 0;

	while (*s != '\0' && rc == 0) {
		run = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789-._~");
		if (run > 0) {
			rc = buf_append(out, s, run);
			s += run;
			continue;
		}
		esc[0] = '%';
		esc[1] = hex[(unsigned char)*s >> 4];
		esc[2] = hex[(unsigned char)*s & 0x0f];
		rc = buf_append(out, esc, 3);
		s++;
	}
	return (rc);
}

/* add_param appends "<sep>name=<value encoded>"; sep is '?' or '&' or none. */
static int
add_param(struct buf *out, char sep, const char *name, const char *value)
{
	int	 rc = 0;

	if (sep != '\0')
		rc |= buf_append(out, &sep, 1);
	rc |= buf_appendf(out, "%s=", name);
	rc |= oauth_append_encoded(out, value);
	return (rc == 0 ? 0 : -1);
}

/* base_trimmed appends a base URL without its trailing slashes. */
static int
base_trimmed(struct buf *out, const char *base)
{
	size_t	 n = strlen(base);

	while (n > 0 && base[n - 1] == '/')
		n--;
	return (n == 0 ? 0 : buf_append(out, base, n));
}

/* api_url appends the platform's API base, version and path. */
static int
api_url(const struct oauth_platform *p, const struct api_config *cfg,
    const char *path, struct buf *out)
{
	int	 rc;

	rc = base_trimmed(out, setting(cfg, p->api_base));
	if (p->versioned)
		rc |= buf_appendf(out, "/%s", cfg->instagram_api_version);
	rc |= buf_appendf(out, "%s", path);
	return (rc == 0 ? 0 : -1);
}

int
oauth_redirect_uri(const struct oauth_platform *p, const struct api_config *cfg,
    struct buf *out)
{
	int	 rc;

	rc = base_trimmed(out, cfg->oauth_redirect_base);
	rc |= buf_appendf(out, "/api/v1/oauth/%s/callback/", p->name);
	return (rc == 0 ? 0 : -1);
}

int
oauth_authorize_url(const struct oauth_platform *p, const struct api_config *cfg,
    const char *state, const char *challenge, const char *redirect_uri,
    struct buf *out)
{
	const char	*base = setting(cfg, p->authorize_url);
	int		 rc;

	if (p->pkce && challenge == NULL)
		return (-1);
	rc = buf_appendf(out, "%s", base);
	rc |= add_param(out, strchr(base, '?') != NULL ? '&' : '?', "response_type", "code");
	rc |= add_param(out, '&', "client_id", setting(cfg, p->client_id));
	rc |= add_param(out, '&', "redirect_uri", redirect_uri);
	rc |= add_param(out, '&', "scope", p->scope);
	rc |= add_param(out, '&', "state", state);
	if (p->pkce) {
		rc |= add_param(out, '&', "code_challenge", challenge);
		rc |= add_param(out, '&', "code_challenge_method", "S256");
	}
	return (rc == 0 ? 0 : -1);
}

void
oauth_http_init(struct oauth_http *h)
{
	memset(h, 0, sizeof(*h));
	buf_init(&h->url);
	buf_init(&h->body);
}

void
oauth_http_cleanup(struct oauth_http *h)
{
	if (h->url.data != NULL)
		OPENSSL_cleanse(h->url.data, h->url.cap);
	if (h->body.data != NULL)
		OPENSSL_cleanse(h->body.data, h->body.cap);
	buf_cleanup(&h->url);
	buf_cleanup(&h->body);
	h->basic_user = h->basic_password = h->bearer = h->extra_header = NULL;
}

int
oauth_token_request(const struct oauth_platform *p, const struct api_config *cfg,
    const char *code, const char *verifier, const char *redirect_uri,
    struct oauth_http *out)
{
	const char	*id = setting(cfg, p->client_id);
	const char	*secret = setting(cfg, p->client_secret);
	struct buf	*b = &out->body;
	int		 rc = 0;

	if (p->token_style == TOKEN_GRAPH_GET) {
		out->post = false;
		rc |= api_url(p, cfg, "/oauth/access_token", &out->url);
		rc |= add_param(&out->url, '?', "client_id", id);
		rc |= add_param(&out->url, '&', "redirect_uri", redirect_uri);
		rc |= add_param(&out->url, '&', "client_secret", secret);
		rc |= add_param(&out->url, '&', "code", code);
		return (rc == 0 ? 0 : -1);
	}
	out->post = true;
	rc |= buf_appendf(&out->url, "%s", setting(cfg, p->token_url));
	rc |= add_param(b, '\0', "grant_type", "authorization_code");
	rc |= add_param(b, '&', "code", code);
	rc |= add_param(b, '&', "redirect_uri", redirect_uri);
	rc |= add_param(b, '&', "client_id", id);
	if (p->pkce && verifier != NULL)
		rc |= add_param(b, '&', "code_verifier", verifier);
	if (p->token_style == TOKEN_FORM_SECRET)
		rc |= add_param(b, '&', "client_secret", secret);
	else if (secret[0] != '\0') {
		out->basic_user = id;
		out->basic_password = secret;
	}
	return (rc == 0 ? 0 : -1);
}

int
oauth_identity_request(const struct oauth_platform *p, const struct api_config *cfg,
    const char *access_token, struct oauth_http *out)
{
	out->post = false;
	out->bearer = access_token;
	return (api_url(p, cfg, p->identity_path, &out->url));
}

/* dup_string copies a JSON string member, or leaves *out NULL. */
static int
dup_string(json_t *root, const char *name, char **out)
{
	json_t	*v = json_object_get(root, name);

	*out = NULL;
	if (v == NULL || !json_is_string(v) || json_string_length(v) == 0)
		return (0);
	if ((*out = strndup(json_string_value(v), json_string_length(v))) == NULL)
		return (-1);
	return (0);
}

int
oauth_tokens_parse(const char *body, size_t len, struct oauth_tokens *out)
{
	json_t	*root, *v;
	int	 rc = 0;

	memset(out, 0, sizeof(*out));
	out->expires_in = -1;
	root = json_loadb(body, len, 0, NULL);
	if (root == NULL || !json_is_object(root)) {
		json_decref(root);
		return (-1);
	}
	rc |= dup_string(root, "access_token", &out->access);
	rc |= dup_string(root, "refresh_token", &out->refresh);
	rc |= dup_string(root, "scope", &out->scope);
	v = json_object_get(root, "expires_in");
	if (json_is_integer(v) && json_integer_value(v) > 0)
		out->expires_in = (long)json_integer_value(v);
	else if (json_is_string(v))	/* some platforms send "5183999" */
		out->expires_in = strtol(json_string_value(v), NULL, 10) > 0 ?
		    strtol(json_string_value(v), NULL, 10) : -1;
	json_decref(root);
	if (rc != 0 || out->access == NULL) {
		oauth_tokens_cleanup(out);
		return (-1);
	}
	return (0);
}

/* wipe_free clears a secret string before freeing it. */
static void
wipe_free(char *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

void
oauth_tokens_cleanup(struct oauth_tokens *t)
{
	wipe_free(t->access);
	wipe_free(t->refresh);
	free(t->scope);
	memset(t, 0, sizeof(*t));
	t->expires_in = -1;
}

/*
 * copy_field copies root[name] (a string, or a number written as one)
 * into out[OAUTH_ID_MAX], with prefix before it.  Returns 0, or -1 when
 * missing and required, or too long.
 */
static int
copy_field(json_t *root, const char *name, const char *prefix, bool required,
    char out[OAUTH_ID_MAX])
{
	json_t	*v = json_object_get(root, name);
	int	 n;

	out[0] = '\0';
	if (json_is_string(v) && json_string_length(v) > 0)
		n = snprintf(out, OAUTH_ID_MAX, "%s%s", prefix, json_string_value(v));
	else if (json_is_integer(v))
		n = snprintf(out, OAUTH_ID_MAX, "%s%lld", prefix, (long long)json_integer_value(v));
	else
		return (required ? -1 : 0);
	if (n < 0 || n >= OAUTH_ID_MAX) {
		out[0] = '\0';
		return (-1);
	}
	return (0);
}

static int
identity_x(json_t *root, struct oauth_identity *out)
{
	json_t	*data = json_object_get(root, "data");

	if (!json_is_object(data) || copy_field(data, "id", "", true, out->external_id) == -1)
		return (-1);
	(void)copy_field(data, "username", "", false, out->handle);
	(void)copy_field(data, "name", "", false, out->name);
	return (0);
}

static int
identity_linkedin(json_t *root, struct oauth_identity *out)
{
	if (copy_field(root, "sub", "urn:li:person:", true, out->external_id) == -1)
		return (-1);
	(void)copy_field(root, "name", "", false, out->name);
	/* LinkedIn has no handle; the member's name stands in for it. */
	memcpy(out->handle, out->name, sizeof(out->handle));
	return (0);
}

static int
identity_instagram(json_t *root, struct oauth_identity *out)
{
	if (copy_field(root, "id", "", true, out->external_id) == -1)
		return (-1);
	(void)copy_field(root, "username", "", false, out->handle);
	(void)copy_field(root, "name", "", false, out->name);
	return (0);
}

/* id_valid: 1..255 characters of [A-Za-z0-9_.:-]. */
static bool
id_valid(const char *s)
{
	size_t	 n = strlen(s);

	return (n > 0 && n < OAUTH_ID_MAX && strspn(s,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-") == n);
}

int
oauth_identity_parse(const struct oauth_platform *p, const char *body, size_t len,
    struct oauth_identity *out)
{
	json_t	*root;
	int	 rc;

	memset(out, 0, sizeof(*out));
	root = json_loadb(body, len, 0, NULL);
	if (root == NULL || !json_is_object(root)) {
		json_decref(root);
		return (-1);
	}
	rc = p->identity(root, out);
	json_decref(root);
	if (rc == -1 || !id_valid(out->external_id)) {
		memset(out, 0, sizeof(*out));
		return (-1);
	}
	return (0);
}
