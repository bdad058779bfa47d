/*
 * handlers/auth.c — who the caller is, and the auth endpoints.
 *
 * Access tokens are short-lived JWTs (auth_jwt.c) checked on every request
 * before any database work.  Refresh tokens are 256-bit random strings; the
 * database keeps only their SHA-256 and rotates them (068_auth.sql).
 * Passwords are hashed with argon2id (password.c) here, with at most
 * hash_concurrency hashes at once, so a burst of logins queues in the API
 * instead of starving the machine.  Login is rate-limited per IP and per
 * e-mail (429 with Retry-After).  Nothing here logs a password or a token.
 */
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "../auth.h"
#include "../db.h"
#include "../handlers.h"
#include "../password.h"
#include "../ratelimit.h"

#define REFRESH_BYTES	32
#define TOKEN_TEXT_MAX	64		/* base64url of 32 bytes is 43 */

static const struct auth_config	*auth_cfg;
static sem_t			 hash_slots;

void
auth_configure(const struct auth_config *cfg)
{
	auth_cfg = cfg;
	sem_init(&hash_slots, 0, (unsigned)(cfg->hash_concurrency > 0 ? cfg->hash_concurrency : 2));
}

static int64_t
now_sec(void)
{
	return ((int64_t)time(NULL));
}

int
auth_request(struct api_request *req, struct api_response *resp)
{
	const char	*h = req->authorization;
	char		 why[128];

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
		respond_header(resp, "WWW-Authenticate", "Bearer");
		return (respond_error(resp, 401, "28000", "authentication required",
		    NULL, "Send Authorization: Bearer <access token>."));
	}
	h += 7;
	if (jwt_verify(&auth_cfg->jwt, h, strlen(h), now_sec(), &req->claims,
	    why, sizeof(why)) != 0) {
		respond_header(resp, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
		return (respond_error(resp, 401, "28000", "invalid access token", why,
		    "Log in or refresh the token."));
	}
	req->authenticated = true;
	return (0);
}

/* A required string field, or -1 with 400 (wrong type) / 422 (missing) set. */
static int
field_or_reply(struct api_response *resp, json_t *root, const char *name, const char **out)
{
	json_t	*v = json_object_get(root, name);

	if (v == NULL || json_is_null(v)) {
		char	msg[96];

		snprintf(msg, sizeof(msg), "%s is required", name);
		return (respond_error(resp, 422, "23502", msg, NULL, NULL));
	}
	if (!json_is_string(v)) {
		char	msg[96];

		snprintf(msg, sizeof(msg), "%s must be a string", name);
		return (respond_error(resp, 400, "22P02", msg, NULL, NULL));
	}
	*out = json_string_value(v);
	return (0);
}

/* "\x<sha256 hex>" of a token, as a bytea parameter, into out[68]. */
static void
token_hash_param(const char *token, char out[68])
{
	unsigned char	d[SHA256_DIGEST_LENGTH];
	int		i;

	SHA256((const unsigned char *)token, strlen(token), d);
	out[0] = '\\';
	out[1] = 'x';
	for (i = 0; i < SHA256_DIGEST_LENGTH; i++)
		snprintf(out + 2 + i * 2, 3, "%02x", d[i]);
}

/* A new refresh token into out[TOKEN_TEXT_MAX]; 0 / -1. */
static int
refresh_new(char out[TOKEN_TEXT_MAX])
{
	unsigned char	raw[REFRESH_BYTES];
	size_t		pos = 0;
	int		rc;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return (-1);
	rc = jwt_b64url_encode(raw, sizeof(raw), out, TOKEN_TEXT_MAX, &pos);
	OPENSSL_cleanse(raw, sizeof(raw));
	return (rc);
}

/* Answers {"access","refresh","token_type","expires_in"} for user. */
static int
reply_tokens(struct api_response *resp, const char *user, const char *refresh)
{
	char		access[2048];
	struct buf	b;
	if (jwt_sign(&auth_cfg->jwt, user, now_sec(), access, sizeof(access)) != 0)
		return (respond_error(resp, 500, "XX000", "could not sign a token", NULL, NULL));
	buf_init(&b);
	buf_appendf(&b, "{\"access\":\"%s\",\"refresh\":\"%s\",\"token_type\":\"Bearer\",\"expires_in\":%d}",
	    access, refresh, auth_cfg->jwt.access_ttl_sec);
	respond_json(resp, 200, b.data, b.len);
	OPENSSL_cleanse(b.data, b.len);
	buf_cleanup(&b);
	OPENSSL_cleanse(access, sizeof(access));
	return (0);
}

static int
hash_bounded(const char *password, char *out, size_t outlen)
{
	int	rc;

	sem_wait(&hash_slots);
	rc = password_hash(password, out, outlen);
	sem_post(&hash_slots);
	return (rc);
}

static int
verify_bounded(const char *phc, const char *password)
{
	int	rc;

	sem_wait(&hash_slots);
	rc = password_verify(phc, password);
	sem_post(&hash_slots);
	return (rc);
}

int
handle_auth_register(struct api_request *req, struct api_response *resp)
{
	json_t		*root;
	const char	*email, *password, *first = "", *last = "";
	const char	*params[4];
	char		 phc[256], why[160];
	json_t		*v;
	int		 rc;

	if (body_object_or_reply(req, resp, &root) == -1)
		return (-1);
	if (field_or_reply(resp, root, "email", &email) == -1 ||
	    field_or_reply(resp, root, "password", &password) == -1) {
		json_decref(root);
		return (-1);
	}
	if ((v = json_object_get(root, "first_name")) != NULL && json_is_string(v))
		first = json_string_value(v);
	if ((v = json_object_get(root, "last_name")) != NULL && json_is_string(v))
		last = json_string_value(v);
	if (password_policy_check(password, email, why, sizeof(why)) != 0) {
		json_decref(root);
		return (respond_error(resp, 422, "22023", "password refused", why,
		    "Use a longer passphrase that is not a common password."));
	}
	if (hash_bounded(password, phc, sizeof(phc)) != 0) {
		json_decref(root);
		return (respond_error(resp, 500, "XX000", "could not hash the password", NULL, NULL));
	}
	params[0] = email;
	params[1] = phc;
	params[2] = first;
	params[3] = last;
	rc = db_call(req, resp, 201, "SELECT caas.user_register($1, $2, $3, $4)", 4, params);
	json_decref(root);
	return (rc);
}

int
handle_auth_login(struct api_request *req, struct api_response *resp)
{
	/* A real argon2id hash of a random string: unknown e-mails cost the same. */
	static const char	 dummy[] =
	    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$"
	    "3mLtQbXfzXvh0OQD3ZpcRVrRUz/+HXrtEwO5iXIpS8w";
	json_t		*root, *cred = NULL;
	const char	*email, *password, *params[3];
	char		*row = NULL, key[300], refresh[TOKEN_TEXT_MAX], hash[68], ttl[16];
	const char	*user = NULL, *phc = dummy;
	int		 wait, ok, rc;

	if (body_object_or_reply(req, resp, &root) == -1)
		return (-1);
	if (field_or_reply(resp, root, "email", &email) == -1 ||
	    field_or_reply(resp, root, "password", &password) == -1) {
		json_decref(root);
		return (-1);
	}
	snprintf(key, sizeof(key), "ip:%s", req->client_ip);
	wait = ratelimit_hit(key, auth_cfg->login_per_ip, auth_cfg->login_window_sec, now_sec());
	if (wait == 0) {
		snprintf(key, sizeof(key), "email:%.256s", email);
		wait = ratelimit_hit(key, auth_cfg->login_per_email, auth_cfg->login_window_sec, now_sec());
	}
	if (wait > 0) {
		char	secs[16];

		json_decref(root);
		snprintf(secs, sizeof(secs), "%d", wait);
		respond_header(resp, "Retry-After", secs);
		return (respond_error(resp, 429, "53400", "too many login attempts", NULL,
		    "Wait before trying again."));
	}
	params[0] = email;
	if (db_query(req, resp, false,
	    "SELECT row_to_json(c) FROM caas.user_credentials($1) c WHERE c.user_id IS NOT NULL",
	    1, params, &row) == -1) {
		json_decref(root);
		return (-1);
	}
	if (row != NULL && (cred = json_loads(row, 0, NULL)) != NULL &&
	    json_is_true(json_object_get(cred, "is_active"))) {
		user = json_string_value(json_object_get(cred, "user_id"));
		phc = json_string_value(json_object_get(cred, "password_hash"));
	}
	ok = verify_bounded(phc ? phc : dummy, password) == 0 && user != NULL;
	json_decref(root);
	if (!ok) {
		json_decref(cred);
		return (respond_error(resp, 401, "28P01", "invalid e-mail or password", NULL, NULL));
	}
	if (refresh_new(refresh) != 0) {
		json_decref(cred);
		return (respond_error(resp, 500, "XX000", "no randomness", NULL, NULL));
	}
	token_hash_param(refresh, hash);
	snprintf(ttl, sizeof(ttl), "%d", auth_cfg->refresh_ttl_sec);
	params[0] = user;
	params[1] = hash;
	params[2] = ttl;
	rc = db_query(req, resp, false, "SELECT caas.auth_refresh_issue($1::uuid, $2::bytea, $3::integer)",
	    3, params, &row);
	if (rc == 0)
		rc = reply_tokens(resp, user, refresh);
	json_decref(cred);
	OPENSSL_cleanse(refresh, sizeof(refresh));
	return (rc);
}

/*
 * refresh_hash_or_reply reads the body's "refresh" token into hash (the
 * bytea parameter token_hash_param makes).  Returns 0, or -1 with the
 * error reply set.
 */
static int
refresh_hash_or_reply(struct api_request *req, struct api_response *resp,
    char hash[68])
{
	json_t		*root;
	const char	*token;

	if (body_object_or_reply(req, resp, &root) == -1)
		return (-1);
	if (field_or_reply(resp, root, "refresh", &token) == -1) {
		json_decref(root);
		return (-1);
	}
	token_hash_param(token, hash);
	json_decref(root);
	return (0);
}

int
handle_auth_refresh(struct api_request *req, struct api_response *resp)
{
	json_t		*res = NULL;
	const char	*status, *params[3];
	char		 old_hash[68], new_hash[68], refresh[TOKEN_TEXT_MAX], ttl[16], *row = NULL;
	int		 rc;

	if (refresh_hash_or_reply(req, resp, old_hash) == -1)
		return (-1);
	if (refresh_new(refresh) != 0)
		return (respond_error(resp, 500, "XX000", "no randomness", NULL, NULL));
	token_hash_param(refresh, new_hash);
	snprintf(ttl, sizeof(ttl), "%d", auth_cfg->refresh_ttl_sec);
	params[0] = old_hash;
	params[1] = new_hash;
	params[2] = ttl;
	if (db_query(req, resp, false, "SELECT caas.auth_refresh_rotate($1::bytea, $2::bytea, $3::integer)",
	    3, params, &row) == -1)
		return (-1);
	if (row != NULL)
		res = json_loads(row, 0, NULL);
	status = res != NULL ? json_string_value(json_object_get(res, "status")) : NULL;
	if (status == NULL || strcmp(status, "ok") != 0) {
		json_decref(res);
		return (respond_error(resp, 401, "28000", "invalid refresh token", NULL, "Log in again."));
	}
	rc = reply_tokens(resp, json_string_value(json_object_get(res, "user_id")), refresh);
	json_decref(res);
	OPENSSL_cleanse(refresh, sizeof(refresh));
	return (rc);
}

int
handle_auth_logout(struct api_request *req, struct api_response *resp)
{
	const char	*params[1];
	char		 hash[68];
	int		 rc;

	if (refresh_hash_or_reply(req, resp, hash) == -1)
		return (-1);
	params[0] = hash;
	rc = db_call(req, resp, 204, "SELECT caas.auth_logout($1::bytea)", 1, params);
	return (rc);
}

int
handle_auth_password(struct api_request *req, struct api_response *resp)
{
	json_t		*root;
	const char	*current, *next, *params[1];
	char		*phc = NULL, *email = NULL, newphc[256], why[160];
	int		 rc;

	if (body_object_or_reply(req, resp, &root) == -1)
		return (-1);
	if (field_or_reply(resp, root, "current_password", &current) == -1 ||
	    field_or_reply(resp, root, "new_password", &next) == -1) {
		json_decref(root);
		return (-1);
	}
	if (db_query(req, resp, true, "SELECT caas.user_password_hash()", 0, NULL, &phc) == -1 ||
	    db_query(req, resp, true, "SELECT caas.user_me() ->> 'email'", 0, NULL, &email) == -1) {
		json_decref(root);
		return (-1);
	}
	if (phc == NULL || verify_bounded(phc, current) != 0) {
		json_decref(root);
		return (respond_error(resp, 403, "28P01", "the current password is wrong", NULL, NULL));
	}
	if (password_policy_check(next, email ? email : "", why, sizeof(why)) != 0) {
		json_decref(root);
		return (respond_error(resp, 422, "22023", "password refused", why, NULL));
	}
	rc = hash_bounded(next, newphc, sizeof(newphc));
	json_decref(root);
	if (rc != 0)
		return (respond_error(resp, 500, "XX000", "could not hash the password", NULL, NULL));
	params[0] = newphc;
	return (db_call(req, resp, 204, "SELECT caas.user_set_password($1)", 1, params));
}
