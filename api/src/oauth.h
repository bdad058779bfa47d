/*
 * oauth.h — what caas-api knows about each platform's OAuth 2.0: the
 * authorisation URL, the code exchange and the identity fetch, as data
 * (oauth.c holds one table row per platform).
 *
 * Nothing here talks to the network: requests are described in struct
 * oauth_http and carried out by outbound.c, and responses are parsed from
 * the bytes outbound.c brings back, so every step is unit-testable.
 *
 * Memory: struct oauth_http and struct oauth_tokens own their buffers and
 * strings (malloc); their cleanup functions wipe them first, since they
 * hold codes, verifiers, client secrets and tokens.  Rows are static.
 */
#ifndef CAAS_OAUTH_H
#define CAAS_OAUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "config.h"

#define OAUTH_ID_MAX		256	/* external id, handle, name (bytes + NUL) */
#define OAUTH_SECRET_TEXT	64	/* base64url of 32 random bytes is 43 */

struct oauth_platform;

/* One outbound request, described.  cleanup wipes url and body. */
struct oauth_http {
	bool		 post;		/* POST url with body as a form; else GET */
	struct buf	 url;
	struct buf	 body;		/* application/x-www-form-urlencoded */
	const char	*basic_user;	/* HTTP Basic credentials (borrowed), or NULL */
	const char	*basic_password;
	const char	*bearer;	/* Authorization: Bearer (borrowed), or NULL */
	const char	*extra_header;	/* one more "Name: value" line (borrowed), or NULL */
};

/* A token endpoint's answer.  Strings are malloc'd; expires_in -1 = none. */
struct oauth_tokens {
	char		*access;
	char		*refresh;	/* or NULL */
	char		*scope;		/* as granted, or NULL */
	long		 expires_in;
};

/* Who the token belongs to, from the identity endpoint. */
struct oauth_identity {
	char		 external_id[OAUTH_ID_MAX];	/* e.g. "urn:li:person:abc" */
	char		 handle[OAUTH_ID_MAX];		/* may be "" */
	char		 name[OAUTH_ID_MAX];		/* may be "" */
};

/* oauth_platform_find returns the row for name, or NULL (unknown, sandbox). */
const struct oauth_platform *oauth_platform_find(const char *name);
const char	*oauth_platform_name(const struct oauth_platform *);
bool		 oauth_platform_pkce(const struct oauth_platform *);

/*
 * oauth_missing_config names the first setting the platform's OAuth flow
 * needs and cfg lacks ("x_client_id"), or returns NULL when none is
 * missing.  Secrets count as present when set (their value is not read).
 */
const char	*oauth_missing_config(const struct oauth_platform *,
		    const struct api_config *cfg);

/*
 * oauth_pkce_challenge writes base64url(SHA-256(verifier)) (RFC 7636 S256)
 * into out.  Returns 0, or -1 when outlen < OAUTH_SECRET_TEXT.
 */
int	oauth_pkce_challenge(const char *verifier, char *out, size_t outlen);

/*
 * oauth_redirect_uri appends oauth_redirect_base (without a trailing '/')
 * + "/api/v1/oauth/<platform>/callback/" to out.  Returns 0 or -1 (memory).
 */
int	oauth_redirect_uri(const struct oauth_platform *,
	    const struct api_config *cfg, struct buf *out);

/*
 * oauth_authorize_url appends the platform's authorisation URL for state
 * (and, on PKCE platforms, the S256 challenge; ignored elsewhere) to out,
 * every value percent-encoded.  Returns 0 or -1 (memory, or no challenge
 * on a PKCE platform).
 */
int	oauth_authorize_url(const struct oauth_platform *,
	    const struct api_config *cfg, const char *state,
	    const char *challenge, const char *redirect_uri, struct buf *out);

void	oauth_http_init(struct oauth_http *);
void	oauth_http_cleanup(struct oauth_http *);

/*
 * oauth_token_request describes the code exchange: code, the PKCE
 * verifier (PKCE platforms; NULL elsewhere) and the redirect_uri the flow
 * began with.  Borrows cfg's strings.  Returns 0 or -1 (memory).
 */
int	oauth_token_request(const struct oauth_platform *,
	    const struct api_config *cfg, const char *code, const char *verifier,
	    const char *redirect_uri, struct oauth_http *out);

/*
 * oauth_identity_request describes the call that says whose access_token
 * it is.  Borrows access_token.  Returns 0 or -1 (memory).
 */
int	oauth_identity_request(const struct oauth_platform *,
	    const struct api_config *cfg, const char *access_token,
	    struct oauth_http *out);

/*
 * oauth_tokens_parse reads a token endpoint's JSON answer.  Returns 0, or
 * -1 when it is not JSON or has no access_token (out is then empty).
 */
int	oauth_tokens_parse(const char *body, size_t len, struct oauth_tokens *out);
void	oauth_tokens_cleanup(struct oauth_tokens *);

/*
 * oauth_identity_parse reads the identity endpoint's JSON answer for the
 * platform.  Returns 0, or -1 when the id is missing, too long or holds
 * characters outside [A-Za-z0-9_.:-].
 */
int	oauth_identity_parse(const struct oauth_platform *, const char *body,
	    size_t len, struct oauth_identity *out);

/*
 * oauth_append_encoded appends s percent-encoded (everything but RFC 3986
 * unreserved characters) to out.  Returns 0 or -1 (memory).
 */
int	oauth_append_encoded(struct buf *out, const char *s);

#endif /* CAAS_OAUTH_H */
