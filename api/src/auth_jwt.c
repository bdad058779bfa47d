/*-------------------------------------------------------------------------
 *
 * api/src/auth_jwt.c
 *	  Sign and verify HS256 access tokens (RFC 7519, RFC 8725, RFC 9068 typ).
 *
 * Verification order is chosen so that untrusted input reaches as little
 * code as possible before the signature is known to be good: length bound,
 * exactly three non-empty segments of strict base64url, the header (alg
 * fixed to "HS256", typ "at+jwt", no "crit", kid in the configured
 * allowlist), the signature (exactly 32 bytes, compared with CRYPTO_memcmp
 * against HMAC-SHA256 of the exact "header.payload" bytes), and only then
 * the payload claims.  JSON is parsed by jansson with duplicate keys
 * rejected.
 *
 * Memory: nothing allocated here outlives a call.  Decoded segments live in
 * stack buffers bounded by JWT_MAX_TOKEN_LEN; jansson values are released
 * before returning.  Key material is only borrowed from the caller's
 * jwt_config; MACs computed from it are wiped with OPENSSL_cleanse.
 *
 * Wording: a "segment" is one of the three dot-separated base64url parts;
 * the "signing input" is the bytes before the second dot.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "auth_jwt.h"

#define MAC_LEN		32
#define MAX_DECODED	(JWT_MAX_TOKEN_LEN / 4 * 3 + 3)
#define JTI_BYTES	16

struct segment {
	const char	*p;
	size_t		 len;
};

static const char b64url_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void
set_err(char *err, size_t errlen, const char *msg)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", msg);
}

/* ==================== base64url (RFC 4648 §5, no padding) ==================== */

int
jwt_b64url_encode(const unsigned char *in, size_t n, char *out, size_t outlen,
    size_t *pos)
{
	size_t		need = (n / 3) * 4 + (n % 3 ? n % 3 + 1 : 0);
	uint32_t	acc = 0;
	int		bits = 0;
	size_t		i, o = *pos;

	if (outlen <= o || outlen - o <= need)
		return (-1);
	for (i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = b64url_chars[(acc >> bits) & 0x3f];
		}
		acc &= (1u << bits) - 1;
	}
	if (bits > 0)
		out[o++] = b64url_chars[(acc << (6 - bits)) & 0x3f];
	out[o] = '\0';
	*pos = o;
	return (0);
}

static int
b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return (c - 'A');
	if (c >= 'a' && c <= 'z')
		return (c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (c - '0' + 52);
	if (c == '-')
		return (62);
	if (c == '_')
		return (63);
	return (-1);
}

/*
 * b64url_decode decodes seg into out (capacity outcap) and returns the
 * decoded length, or -1 for any character outside the url-safe alphabet
 * (so '=', '+', '/' too), an impossible length, non-zero trailing bits
 * (a non-canonical encoding) or a too-small out.
 */
static long
b64url_decode(struct segment seg, unsigned char *out, size_t outcap)
{
	uint32_t	acc = 0;
	int		bits = 0, v;
	size_t		i, o = 0;

	if (seg.len % 4 == 1 || seg.len / 4 * 3 + 2 > outcap)
		return (-1);
	for (i = 0; i < seg.len; i++) {
		if ((v = b64url_value((unsigned char)seg.p[i])) < 0)
			return (-1);
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
		acc &= (1u << bits) - 1;
	}
	if (acc != 0)
		return (-1);
	return ((long)o);
}

/* ==================== helpers ==================== */

bool
jwt_uuid_is_canonical(const char *s, size_t len)
{
	size_t	i;

	if (s == NULL || len != API_UUID_LEN)
		return (false);
	for (i = 0; i < len; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return (false);
		} else if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return (false);
	}
	return (true);
}

static bool
key_is_usable(const struct jwt_key *k)
{
	size_t	i, n = strnlen(k->kid, sizeof(k->kid));

	if (n == 0 || n >= sizeof(k->kid) ||
	    k->secret_len < JWT_MIN_SECRET_LEN ||
	    k->secret_len > JWT_MAX_SECRET_LEN)
		return (false);
	for (i = 0; i < n; i++)
		if (b64url_value((unsigned char)k->kid[i]) < 0 && k->kid[i] != '.')
			return (false);
	return (true);
}

/* find_key returns the usable configured key named kid, or NULL. */
static const struct jwt_key *
find_key(const struct jwt_config *cfg, const char *kid)
{
	size_t	i;

	for (i = 0; i < cfg->nkeys; i++)
		if (key_is_usable(&cfg->keys[i]) &&
		    strcmp(cfg->keys[i].kid, kid) == 0)
			return (&cfg->keys[i]);
	return (NULL);
}

/* compute_mac: HMAC-SHA256 of data under key into mac.  0 / -1. */
static int
compute_mac(const struct jwt_key *key, const char *data, size_t len,
    unsigned char mac[MAC_LEN])
{
	unsigned int	maclen = 0;

	if (HMAC(EVP_sha256(), key->secret, (int)key->secret_len,
	    (const unsigned char *)data, len, mac, &maclen) == NULL ||
	    maclen != MAC_LEN)
		return (-1);
	return (0);
}

static bool
config_is_sane(const struct jwt_config *cfg)
{
	return (cfg != NULL && cfg->keys != NULL && cfg->nkeys > 0 &&
	    cfg->issuer != NULL && cfg->audience != NULL);
}

/* ==================== signing ==================== */

/* append_json_b64 appends the compact base64url encoding of v.  0 / -1. */
static int
append_json_b64(json_t *v, char *out, size_t outlen, size_t *pos)
{
	char	*s;
	int	 rc;

	if (v == NULL)
		return (-1);
	s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(v);
	if (s == NULL)
		return (-1);
	rc = jwt_b64url_encode((const unsigned char *)s, strlen(s), out, outlen, pos);
	free(s);
	return (rc);
}

static int
make_jti(char hex[2 * JTI_BYTES + 1])
{
	unsigned char	raw[JTI_BYTES];
	size_t		i;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return (-1);
	for (i = 0; i < JTI_BYTES; i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	return (0);
}

static int
sign_into(const struct jwt_config *cfg, const struct jwt_key *key,
    const char *sub, int64_t now, char *out, size_t outlen)
{
	unsigned char	mac[MAC_LEN];
	char		jti[2 * JTI_BYTES + 1];
	size_t		pos = 0;
	int		rc;

	if (make_jti(jti) == -1)
		return (-1);
	if (append_json_b64(json_pack("{s:s, s:s, s:s}", "alg", "HS256",
	    "typ", "at+jwt", "kid", key->kid), out, outlen, &pos) == -1 ||
	    pos + 1 >= outlen)
		return (-1);
	out[pos++] = '.';
	if (append_json_b64(json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s}",
	    "iss", cfg->issuer, "aud", cfg->audience, "sub", sub,
	    "iat", (json_int_t)now, "nbf", (json_int_t)now,
	    "exp", (json_int_t)(now + cfg->access_ttl_sec), "jti", jti),
	    out, outlen, &pos) == -1 || pos + 1 >= outlen)
		return (-1);
	if (compute_mac(key, out, pos, mac) == -1)
		return (-1);
	out[pos++] = '.';
	rc = jwt_b64url_encode(mac, MAC_LEN, out, outlen, &pos);
	OPENSSL_cleanse(mac, sizeof(mac));
	return (rc);
}

int
jwt_sign(const struct jwt_config *cfg, const char *sub, int64_t now,
    char *out, size_t outlen)
{
	if (out == NULL || outlen == 0)
		return (-1);
	out[0] = '\0';
	if (!config_is_sane(cfg) || cfg->signing_key >= cfg->nkeys ||
	    !key_is_usable(&cfg->keys[cfg->signing_key]) ||
	    cfg->access_ttl_sec <= 0 || sub == NULL ||
	    !jwt_uuid_is_canonical(sub, strlen(sub)))
		return (-1);
	if (sign_into(cfg, &cfg->keys[cfg->signing_key], sub, now, out,
	    outlen) == -1) {
		out[0] = '\0';
		return (-1);
	}
	return (0);
}

/* ==================== verification ==================== */

/* split_token cuts token into exactly three non-empty segments.  0 / -1. */
static int
split_token(const char *token, size_t len, struct segment seg[3])
{
	size_t	i, start = 0;
	int	n = 0;

	for (i = 0; i <= len; i++) {
		if (i < len && token[i] != '.')
			continue;
		if (n == 3 || i == start)
			return (-1);
		seg[n].p = token + start;
		seg[n].len = i - start;
		n++;
		start = i + 1;
	}
	return (n == 3 ? 0 : -1);
}

/*
 * parse_segment decodes a base64url segment holding a JSON object, duplicate
 * keys rejected.  Returns a new reference (caller json_decref's) or NULL.
 */
static json_t *
parse_segment(struct segment seg)
{
	unsigned char	buf[MAX_DECODED];
	long		n;
	json_t		*v;

	if ((n = b64url_decode(seg, buf, sizeof(buf))) <= 0)
		return (NULL);
	v = json_loadb((const char *)buf, (size_t)n, JSON_REJECT_DUPLICATES,
	    NULL);
	if (v != NULL && !json_is_object(v)) {
		json_decref(v);
		return (NULL);
	}
	return (v);
}

/*
 * check_header validates the header and returns the key it names, or NULL
 * with the reason in err.
 */
static const struct jwt_key *
check_header(const struct jwt_config *cfg, struct segment seg, char *err,
    size_t errlen)
{
	const struct jwt_key	*key = NULL;
	json_t			*h, *typ, *kid;
	const char		*alg;

	if ((h = parse_segment(seg)) == NULL) {
		set_err(err, errlen, "malformed token header");
		return (NULL);
	}
	alg = json_string_value(json_object_get(h, "alg"));
	typ = json_object_get(h, "typ");
	kid = json_object_get(h, "kid");
	if (alg == NULL || strcmp(alg, "HS256") != 0)
		set_err(err, errlen, "unsupported algorithm");
	else if (!json_is_string(typ) ||
	    strcmp(json_string_value(typ), "at+jwt") != 0)
		set_err(err, errlen, "unsupported token type");
	else if (json_object_get(h, "crit") != NULL)
		set_err(err, errlen, "unsupported critical header");
	else if (!json_is_string(kid) ||
	    (key = find_key(cfg, json_string_value(kid))) == NULL)
		set_err(err, errlen, "unknown signing key");
	json_decref(h);
	return (key);
}

/* check_signature: the MAC over token[0..signed_len) equals sig.  0 / -1. */
static int
check_signature(const struct jwt_key *key, const char *token,
    size_t signed_len, struct segment sig)
{
	unsigned char	given[MAX_DECODED], mac[MAC_LEN];
	int		rc = -1;

	if (sig.len > 64 || b64url_decode(sig, given, sizeof(given)) != MAC_LEN)
		return (-1);
	if (compute_mac(key, token, signed_len, mac) == 0)
		rc = CRYPTO_memcmp(given, mac, MAC_LEN) == 0 ? 0 : -1;
	OPENSSL_cleanse(mac, sizeof(mac));
	return (rc);
}

/*
 * get_time reads the integer claim name.  Returns 1 when present, 0 when
 * absent, -1 when present but not an integer.
 */
static int
get_time(json_t *p, const char *name, int64_t *v)
{
	json_t	*j = json_object_get(p, name);

	if (j == NULL)
		return (0);
	if (!json_is_integer(j))
		return (-1);
	*v = (int64_t)json_integer_value(j);
	return (1);
}

static bool
audience_matches(json_t *aud, const char *want)
{
	size_t	 i;
	json_t	*el;

	if (json_is_string(aud))
		return (strcmp(json_string_value(aud), want) == 0);
	if (!json_is_array(aud))
		return (false);
	json_array_foreach(aud, i, el)
		if (json_is_string(el) && strcmp(json_string_value(el), want) == 0)
			return (true);
	return (false);
}

/* check_times: exp required, iat required, nbf optional.  Reason or NULL. */
static const char *
check_times(json_t *p, int64_t now, int64_t leeway, struct api_claims *c)
{
	int64_t	nbf = 0;
	int	has_exp, has_iat, has_nbf;

	has_exp = get_time(p, "exp", &c->exp);
	has_iat = get_time(p, "iat", &c->iat);
	has_nbf = get_time(p, "nbf", &nbf);
	if (has_exp != 1)
		return (has_exp == 0 ? "missing exp claim" : "malformed exp claim");
	if (has_iat != 1)
		return (has_iat == 0 ? "missing iat claim" : "malformed iat claim");
	if (has_nbf == -1)
		return ("malformed nbf claim");
	if (c->exp <= now - leeway)
		return ("token expired");
	if (has_nbf == 1 && nbf > now + leeway)
		return ("token not yet valid");
	if (c->iat > now + leeway)
		return ("token issued in the future");
	return (NULL);
}

/* check_claims validates the payload into *c.  Reason or NULL. */
static const char *
check_claims(const struct jwt_config *cfg, json_t *p, int64_t now,
    struct api_claims *c)
{
	const char	*why, *iss, *sub;
	json_t		*jti;
	int64_t		 leeway = cfg->leeway_sec > 0 ? cfg->leeway_sec : 0;

	if ((why = check_times(p, now, leeway, c)) != NULL)
		return (why);
	iss = json_string_value(json_object_get(p, "iss"));
	if (iss == NULL || strcmp(iss, cfg->issuer) != 0)
		return ("wrong issuer");
	if (!audience_matches(json_object_get(p, "aud"), cfg->audience))
		return ("wrong audience");
	sub = json_string_value(json_object_get(p, "sub"));
	if (sub == NULL || !jwt_uuid_is_canonical(sub, json_string_length(
	    json_object_get(p, "sub"))))
		return ("invalid subject");
	jti = json_object_get(p, "jti");
	if (jti != NULL && !json_is_string(jti))
		return ("malformed jti claim");
	memcpy(c->sub, sub, API_UUID_LEN);
	c->sub[API_UUID_LEN] = '\0';
	return (NULL);
}

int
jwt_verify(const struct jwt_config *cfg, const char *token, size_t len,
    int64_t now, struct api_claims *out, char *err, size_t errlen)
{
	struct segment		 seg[3];
	struct api_claims	 c;
	const struct jwt_key	*key;
	const char		*why;
	json_t			*payload;

	memset(&c, 0, sizeof(c));
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	set_err(err, errlen, "");
	if (!config_is_sane(cfg) || out == NULL) {
		set_err(err, errlen, "verifier misconfigured");
		return (-1);
	}
	if (len > JWT_MAX_TOKEN_LEN) {
		set_err(err, errlen, "token too long");
		return (-1);
	}
	if (token == NULL || split_token(token, len, seg) == -1) {
		set_err(err, errlen, "malformed token");
		return (-1);
	}
	if ((key = check_header(cfg, seg[0], err, errlen)) == NULL)
		return (-1);
	if (check_signature(key, token, (size_t)(seg[2].p - 1 - token), seg[2]) == -1) {
		set_err(err, errlen, "bad signature");
		return (-1);
	}
	if ((payload = parse_segment(seg[1])) == NULL) {
		set_err(err, errlen, "malformed token payload");
		return (-1);
	}
	why = check_claims(cfg, payload, now, &c);
	json_decref(payload);
	if (why != NULL) {
		set_err(err, errlen, why);
		return (-1);
	}
	*out = c;
	return (0);
}
