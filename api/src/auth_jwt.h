/*
 * auth_jwt.h — HS256 access tokens, signed and verified by hand over OpenSSL.
 *
 * Only one algorithm exists here: HS256, fixed by the server, never chosen
 * from the token's header (RFC 8725 §3.1).  Keys carry an id ("kid") so they
 * can be rotated: every configured key verifies, only cfg->signing_key signs.
 */
#ifndef CAAS_AUTH_JWT_H
#define CAAS_AUTH_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "api.h"

#define JWT_MAX_TOKEN_LEN	4096	/* bytes; longer tokens are refused unread */
#define JWT_MIN_SECRET_LEN	32	/* 256 bits */
#define JWT_MAX_SECRET_LEN	64

/* One HMAC key.  kid: NUL-terminated, [A-Za-z0-9._-], 1..32 characters. */
struct jwt_key {
	char		kid[33];
	unsigned char	secret[64];
	size_t		secret_len;	/* JWT_MIN_SECRET_LEN..JWT_MAX_SECRET_LEN */
};

/* Borrowed by jwt_sign/jwt_verify for the duration of the call only. */
struct jwt_config {
	const struct jwt_key	*keys;
	size_t			 nkeys;
	size_t			 signing_key;	/* index into keys */
	const char		*issuer;	/* "iss", compared exactly */
	const char		*audience;	/* must appear in "aud" */
	int			 leeway_sec;	/* clock skew allowed on exp/nbf/iat */
	int			 access_ttl_sec;	/* exp = iat + access_ttl_sec */
};

/*
 * jwt_sign writes a signed access token for sub (a canonical lowercase uuid)
 * issued at now into out, NUL-terminated.  Returns 0, or -1 (out set to ""
 * when outlen > 0) on a bad config or sub, a too-small out, or a failure of
 * OpenSSL's random generator.
 */
int	jwt_sign(const struct jwt_config *, const char *sub, int64_t now,
	    char *out, size_t outlen);

/*
 * jwt_verify checks token (len bytes, need not be NUL-terminated) at time
 * now.  On success fills *out (sub, iat, exp) and returns 0.  On failure
 * returns -1, leaves *out zeroed, and writes a short reason safe to log or
 * show to the client into err (never any part of the token).
 */
int	jwt_verify(const struct jwt_config *, const char *token, size_t len,
	    int64_t now, struct api_claims *out, char *err, size_t errlen);

/* jwt_uuid_is_canonical: len bytes are 8-4-4-4-12 lowercase hex digits. */
bool	jwt_uuid_is_canonical(const char *s, size_t len);

/*
 * jwt_b64url_encode appends the base64url encoding (RFC 4648 §5, no
 * padding) of in[0..n) to out at *pos, keeping out NUL-terminated, and
 * advances *pos.  Returns 0, or -1 when out (outlen bytes) is too small.
 */
int	jwt_b64url_encode(const unsigned char *in, size_t n, char *out,
	    size_t outlen, size_t *pos);

#endif /* CAAS_AUTH_JWT_H */
