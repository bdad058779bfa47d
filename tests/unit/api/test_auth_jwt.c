/*
 * test_auth_jwt.c — api/src/auth_jwt.c: HS256 access tokens.
 *
 * Fixtures are computed here with OpenSSL's HMAC directly (never with
 * jwt_sign), so every attack is a correctly signed token that only the check
 * under test may reject.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "../suites.h"
#include "auth_jwt.h"

#define NOW	1800000000LL
#define SUB	"0b9c3a1e-5f4d-4c2b-9a8e-7d6c5b4a3f21"
#define ISS	"https://caas.test"
#define AUD	"caas-api"
#define HDR	"{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}"

static struct jwt_key keys[2];
static struct jwt_config cfg;
static char tok[8192];
static char err[128];
static struct api_claims claims;

static void
setup(void)
{
	size_t	i;

	memset(keys, 0, sizeof(keys));
	strcpy(keys[0].kid, "k1");
	keys[0].secret_len = 32;
	for (i = 0; i < 32; i++)
		keys[0].secret[i] = (unsigned char)(0x41 + i);
	strcpy(keys[1].kid, "k2");
	keys[1].secret_len = 48;
	for (i = 0; i < 48; i++)
		keys[1].secret[i] = (unsigned char)(0xa0 ^ i);
	memset(&cfg, 0, sizeof(cfg));
	cfg.keys = keys;
	cfg.nkeys = 2;
	cfg.signing_key = 0;
	cfg.issuer = ISS;
	cfg.audience = AUD;
	cfg.leeway_sec = 30;
	cfg.access_ttl_sec = 900;
}

/* b64u: base64url without padding of in[0..n) into out. */
static void
b64u(const void *in, size_t n, char *out)
{
	unsigned char	tmp[8192];
	int		len, i, o = 0;

	len = EVP_EncodeBlock(tmp, in, (int)n);
	for (i = 0; i < len; i++) {
		if (tmp[i] == '=')
			break;
		out[o++] = tmp[i] == '+' ? '-' : tmp[i] == '/' ? '_' : (char)tmp[i];
	}
	out[o] = '\0';
}

/* sign_segments: out = hseg "." pseg "." b64u(HMAC(md, key, hseg.pseg)). */
static void
sign_segments(const char *hseg, const char *pseg, const struct jwt_key *k,
    const EVP_MD *md, char *out)
{
	unsigned char	mac[EVP_MAX_MD_SIZE];
	unsigned int	maclen;

	sprintf(out, "%s.%s.", hseg, pseg);
	HMAC(md, k->secret, (int)k->secret_len, (unsigned char *)out,
	    strlen(out) - 1, mac, &maclen);
	b64u(mac, maclen, out + strlen(out));
}

static void
make_token_md(const char *hdr, const char *pl, const struct jwt_key *k,
    const EVP_MD *md, char *out)
{
	char	h[8192], p[8192];

	b64u(hdr, strlen(hdr), h);
	b64u(pl, strlen(pl), p);
	sign_segments(h, p, k, md, out);
}

static void
make_token(const char *hdr, const char *pl, char *out)
{
	make_token_md(hdr, pl, &keys[0], EVP_sha256(), out);
}

static const char *
payload_times(long long iat, long long nbf, long long exp)
{
	static char	buf[512];

	snprintf(buf, sizeof(buf), "{\"iss\":\"" ISS "\",\"aud\":\"" AUD
	    "\",\"sub\":\"" SUB "\",\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld,"
	    "\"jti\":\"0123456789abcdef0123456789abcdef\"}", iat, nbf, exp);
	return (buf);
}

static const char *
payload(void)
{
	return (payload_times(NOW, NOW, NOW + 900));
}

static int
verify(const char *t)
{
	int	rc = jwt_verify(&cfg, t, strlen(t), NOW, &claims, err, sizeof(err));

	/* The reason never echoes the token. */
	ck_assert_ptr_null(strstr(err, "eyJ"));
	if (rc != 0)
		ck_assert_str_eq(claims.sub, "");
	return (rc);
}

static void
assert_rejected(const char *t, const char *reason)
{
	ck_assert_int_eq(verify(t), -1);
	ck_assert_str_eq(err, reason);
}

/* ==================== round trip ==================== */

START_TEST(test_sign_verify_round_trip)
{
	char	other[1024];

	ck_assert_int_eq(jwt_sign(&cfg, SUB, NOW, tok, sizeof(tok)), 0);
	ck_assert_int_eq(verify(tok), 0);
	ck_assert_str_eq(claims.sub, SUB);
	ck_assert_int_eq(claims.iat, NOW);
	ck_assert_int_eq(claims.exp, NOW + 900);
	ck_assert_str_eq(err, "");
	/* A fresh jti each time. */
	ck_assert_int_eq(jwt_sign(&cfg, SUB, NOW, other, sizeof(other)), 0);
	ck_assert_str_ne(tok, other);
}
END_TEST

START_TEST(test_computed_fixture_verifies)
{
	make_token(HDR, payload(), tok);
	ck_assert_int_eq(verify(tok), 0);
	ck_assert_str_eq(claims.sub, SUB);
}
END_TEST

START_TEST(test_sign_refuses_bad_input)
{
	ck_assert_int_eq(jwt_sign(&cfg, "not-a-uuid", NOW, tok, sizeof(tok)), -1);
	ck_assert_str_eq(tok, "");
	ck_assert_int_eq(jwt_sign(&cfg, SUB, NOW, tok, 40), -1);
	ck_assert_str_eq(tok, "");
	keys[0].secret_len = 31;
	ck_assert_int_eq(jwt_sign(&cfg, SUB, NOW, tok, sizeof(tok)), -1);
	keys[0].secret_len = 32;
	cfg.signing_key = 2;
	ck_assert_int_eq(jwt_sign(&cfg, SUB, NOW, tok, sizeof(tok)), -1);
}
END_TEST

/* ==================== algorithm ==================== */

START_TEST(test_alg_none_unsigned)
{
	char	h[256], p[1024];

	const char	*hdr = "{\"alg\":\"none\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}";

	b64u(hdr, strlen(hdr), h);
	b64u(payload(), strlen(payload()), p);
	sprintf(tok, "%s.%s.", h, p);
	assert_rejected(tok, "malformed token");
	sprintf(tok, "%s.%s", h, p);
	assert_rejected(tok, "malformed token");
}
END_TEST

START_TEST(test_alg_none_signed)
{
	make_token("{\"alg\":\"none\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}",
	    payload(), tok);
	assert_rejected(tok, "unsupported algorithm");
}
END_TEST

START_TEST(test_alg_switching)
{
	make_token_md("{\"alg\":\"HS512\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}",
	    payload(), &keys[0], EVP_sha512(), tok);
	assert_rejected(tok, "unsupported algorithm");
	make_token("{\"alg\":\"HS512\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}",
	    payload(), tok);
	assert_rejected(tok, "unsupported algorithm");
	/* RS256 "signed" with the HMAC secret: the classic confusion. */
	make_token("{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}",
	    payload(), tok);
	assert_rejected(tok, "unsupported algorithm");
	make_token("{\"alg\":\"hs256\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}",
	    payload(), tok);
	assert_rejected(tok, "unsupported algorithm");
	make_token("{\"typ\":\"at+jwt\",\"kid\":\"k1\"}", payload(), tok);
	assert_rejected(tok, "unsupported algorithm");
	make_token("{\"alg\":[\"HS256\"],\"typ\":\"at+jwt\",\"kid\":\"k1\"}",
	    payload(), tok);
	assert_rejected(tok, "unsupported algorithm");
}
END_TEST

START_TEST(test_typ_required)
{
	make_token("{\"alg\":\"HS256\",\"kid\":\"k1\"}", payload(), tok);
	assert_rejected(tok, "unsupported token type");
	make_token("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}",
	    payload(), tok);
	assert_rejected(tok, "unsupported token type");
}
END_TEST

START_TEST(test_crit_header)
{
	make_token("{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"k1\","
	    "\"crit\":[\"exp\"]}", payload(), tok);
	assert_rejected(tok, "unsupported critical header");
}
END_TEST

/* ==================== signature and keys ==================== */

START_TEST(test_tampered_payload)
{
	char	good[1024], evil[2048], *dot;
	char	p[1024];

	make_token(HDR, payload(), good);
	/* Swap in another user's payload, keep the signature. */
	const char	*pl = "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":"
	    "\"11111111-2222-4333-8444-555555555555\",\"iat\":1800000000,"
	    "\"exp\":1800000900}";

	b64u(pl, strlen(pl), p);
	dot = strchr(good, '.');
	sprintf(evil, "%.*s.%s%s", (int)(dot - good), good, p,
	    strrchr(good, '.'));
	assert_rejected(evil, "bad signature");
	/* One flipped character in the payload. */
	strcpy(evil, good);
	dot = strchr(evil, '.') + 5;
	*dot = *dot == 'A' ? 'B' : 'A';
	ck_assert_int_eq(verify(evil), -1);
}
END_TEST

START_TEST(test_tampered_header)
{
	char	good[1024], h[256], evil[1024];

	make_token(HDR, payload(), good);
	const char	*hdr = "{\"alg\":\"HS256\",\"typ\":\"at+jwt\","
	    "\"kid\":\"k1\",\"x\":1}";

	b64u(hdr, strlen(hdr), h);
	sprintf(evil, "%s%s", h, strchr(good, '.'));
	assert_rejected(evil, "bad signature");
}
END_TEST

START_TEST(test_wrong_key)
{
	struct jwt_key	evil = keys[0];

	evil.secret[0] ^= 1;
	make_token_md(HDR, payload(), &evil, EVP_sha256(), tok);
	assert_rejected(tok, "bad signature");
	/* k2's secret under k1's name. */
	make_token_md(HDR, payload(), &keys[1], EVP_sha256(), tok);
	assert_rejected(tok, "bad signature");
}
END_TEST

START_TEST(test_unknown_and_missing_kid)
{
	make_token("{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"k9\"}",
	    payload(), tok);
	assert_rejected(tok, "unknown signing key");
	make_token("{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}", payload(), tok);
	assert_rejected(tok, "unknown signing key");
	make_token("{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"\"}",
	    payload(), tok);
	assert_rejected(tok, "unknown signing key");
	make_token("{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":1}",
	    payload(), tok);
	assert_rejected(tok, "unknown signing key");
}
END_TEST

START_TEST(test_truncated_signature)
{
	size_t	n;

	make_token(HDR, payload(), tok);
	n = strlen(tok);
	tok[n - 1] = '\0';
	assert_rejected(tok, "bad signature");
	tok[n - 2] = '\0';
	assert_rejected(tok, "bad signature");
}
END_TEST

START_TEST(test_signature_31_and_33_bytes)
{
	char		h[256], p[1024], sig[128];
	unsigned char	mac[33];
	unsigned int	maclen;

	b64u(HDR, strlen(HDR), h);
	b64u(payload(), strlen(payload()), p);
	sprintf(tok, "%s.%s", h, p);
	HMAC(EVP_sha256(), keys[0].secret, 32, (unsigned char *)tok,
	    strlen(tok), mac, &maclen);
	mac[32] = 0;
	b64u(mac, 31, sig);
	sprintf(tok, "%s.%s.%s", h, p, sig);
	assert_rejected(tok, "bad signature");
	b64u(mac, 33, sig);
	sprintf(tok, "%s.%s.%s", h, p, sig);
	assert_rejected(tok, "bad signature");
	/* The same MAC, 32 bytes, is accepted: the fixture is right. */
	b64u(mac, 32, sig);
	sprintf(tok, "%s.%s.%s", h, p, sig);
	ck_assert_int_eq(verify(tok), 0);
}
END_TEST

START_TEST(test_key_rotation)
{
	struct jwt_key	only_new[1];
	char		old_tok[1024];

	/* Old key k1 signs; both keys configured, the new one signing. */
	ck_assert_int_eq(jwt_sign(&cfg, SUB, NOW, old_tok, sizeof(old_tok)), 0);
	cfg.signing_key = 1;
	ck_assert_int_eq(verify(old_tok), 0);
	ck_assert_int_eq(jwt_sign(&cfg, SUB, NOW, tok, sizeof(tok)), 0);
	ck_assert_int_eq(verify(tok), 0);
	/* k1 removed: its tokens stop verifying, k2's still verify. */
	only_new[0] = keys[1];
	cfg.keys = only_new;
	cfg.nkeys = 1;
	cfg.signing_key = 0;
	assert_rejected(old_tok, "unknown signing key");
	ck_assert_int_eq(verify(tok), 0);
}
END_TEST

/* ==================== claims ==================== */

START_TEST(test_expiry_and_leeway)
{
	make_token(HDR, payload_times(NOW - 1000, NOW - 1000, NOW - 31), tok);
	assert_rejected(tok, "token expired");
	make_token(HDR, payload_times(NOW - 1000, NOW - 1000, NOW - 30), tok);
	assert_rejected(tok, "token expired");
	make_token(HDR, payload_times(NOW - 1000, NOW - 1000, NOW - 10), tok);
	ck_assert_int_eq(verify(tok), 0);
}
END_TEST

START_TEST(test_nbf_and_iat_in_future)
{
	make_token(HDR, payload_times(NOW, NOW + 60, NOW + 900), tok);
	assert_rejected(tok, "token not yet valid");
	make_token(HDR, payload_times(NOW, NOW + 20, NOW + 900), tok);
	ck_assert_int_eq(verify(tok), 0);
	make_token(HDR, payload_times(NOW + 60, NOW, NOW + 900), tok);
	assert_rejected(tok, "token issued in the future");
	make_token(HDR, payload_times(NOW + 20, NOW, NOW + 900), tok);
	ck_assert_int_eq(verify(tok), 0);
}
END_TEST

START_TEST(test_missing_or_malformed_times)
{
	make_token(HDR, "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\""
	    SUB "\",\"iat\":1800000000}", tok);
	assert_rejected(tok, "missing exp claim");
	make_token(HDR, "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\""
	    SUB "\",\"iat\":1800000000,\"exp\":\"1800000900\"}", tok);
	assert_rejected(tok, "malformed exp claim");
	make_token(HDR, "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\""
	    SUB "\",\"iat\":1800000000,\"exp\":1800000900.5}", tok);
	assert_rejected(tok, "malformed exp claim");
	make_token(HDR, "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\""
	    SUB "\",\"exp\":1800000900}", tok);
	assert_rejected(tok, "missing iat claim");
}
END_TEST

START_TEST(test_issuer_and_audience)
{
	make_token(HDR, "{\"iss\":\"https://evil.test\",\"aud\":\"" AUD
	    "\",\"sub\":\"" SUB "\",\"iat\":1800000000,\"exp\":1800000900}", tok);
	assert_rejected(tok, "wrong issuer");
	make_token(HDR, "{\"aud\":\"" AUD "\",\"sub\":\"" SUB
	    "\",\"iat\":1800000000,\"exp\":1800000900}", tok);
	assert_rejected(tok, "wrong issuer");
	make_token(HDR, "{\"iss\":\"" ISS "\",\"aud\":\"other-api\",\"sub\":\""
	    SUB "\",\"iat\":1800000000,\"exp\":1800000900}", tok);
	assert_rejected(tok, "wrong audience");
	make_token(HDR, "{\"iss\":\"" ISS "\",\"sub\":\"" SUB
	    "\",\"iat\":1800000000,\"exp\":1800000900}", tok);
	assert_rejected(tok, "wrong audience");
	make_token(HDR, "{\"iss\":\"" ISS "\",\"aud\":[\"other\",\"" AUD
	    "\"],\"sub\":\"" SUB "\",\"iat\":1800000000,\"exp\":1800000900}", tok);
	ck_assert_int_eq(verify(tok), 0);
	make_token(HDR, "{\"iss\":\"" ISS "\",\"aud\":[\"other\",\"CAAS-API\"],"
	    "\"sub\":\"" SUB "\",\"iat\":1800000000,\"exp\":1800000900}", tok);
	assert_rejected(tok, "wrong audience");
	make_token(HDR, "{\"iss\":\"" ISS "\",\"aud\":[],\"sub\":\"" SUB
	    "\",\"iat\":1800000000,\"exp\":1800000900}", tok);
	assert_rejected(tok, "wrong audience");
}
END_TEST

START_TEST(test_subject_must_be_canonical_uuid)
{
	static const char *const bad[] = {
		"not-a-uuid",
		"0B9C3A1E-5F4D-4C2B-9A8E-7D6C5B4A3F21",
		"{0b9c3a1e-5f4d-4c2b-9a8e-7d6c5b4a3f21}",
		"0b9c3a1e5f4d4c2b9a8e7d6c5b4a3f21",
		"0b9c3a1e-5f4d-4c2b-9a8e-7d6c5b4a3f2",
		"0b9c3a1e-5f4d-4c2b-9a8e-7d6c5b4a3f21x",
		"",
	};
	char	pl[512];
	size_t	i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(pl, sizeof(pl), "{\"iss\":\"" ISS "\",\"aud\":\"" AUD
		    "\",\"sub\":\"%s\",\"iat\":1800000000,\"exp\":1800000900}",
		    bad[i]);
		make_token(HDR, pl, tok);
		assert_rejected(tok, "invalid subject");
	}
	make_token(HDR, "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":42,"
	    "\"iat\":1800000000,\"exp\":1800000900}", tok);
	assert_rejected(tok, "invalid subject");
}
END_TEST

/* ==================== encoding and structure ==================== */

START_TEST(test_duplicate_keys)
{
	make_token("{\"alg\":\"none\",\"typ\":\"at+jwt\",\"kid\":\"k1\","
	    "\"alg\":\"HS256\"}", payload(), tok);
	assert_rejected(tok, "malformed token header");
	make_token(HDR, "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\""
	    SUB "\",\"iat\":1800000000,\"exp\":1800000900,"
	    "\"sub\":\"11111111-2222-4333-8444-555555555555\"}", tok);
	assert_rejected(tok, "malformed token payload");
}
END_TEST

START_TEST(test_padded_base64)
{
	char	h[256], p[1024];

	b64u(HDR, strlen(HDR), h);
	b64u(payload(), strlen(payload()), p);
	ck_assert_uint_ne(strlen(h) % 4, 0);
	while (strlen(h) % 4 != 0)
		strcat(h, "=");
	sign_segments(h, p, &keys[0], EVP_sha256(), tok);
	assert_rejected(tok, "malformed token header");
}
END_TEST

#define ALPHA_PL	"{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"" \
	SUB "\",\"iat\":1800000000,\"exp\":1800000900," \
	"\"jti\":\"?\?>>?\?>>~~~~>>>>?\??\?\"}"

START_TEST(test_standard_alphabet_refused)
{
	char	h[256], p[1024], *c;
	int	changed = 0;

	b64u(HDR, strlen(HDR), h);
	/* A jti chosen so the encoding holds '-' and '_'. */
	b64u(ALPHA_PL, strlen(ALPHA_PL), p);
	sign_segments(h, p, &keys[0], EVP_sha256(), tok);
	ck_assert_int_eq(verify(tok), 0);
	for (c = p; *c != '\0'; c++) {
		if (*c == '-' || *c == '_') {
			*c = *c == '-' ? '+' : '/';
			changed = 1;
		}
	}
	ck_assert_int_eq(changed, 1);
	sign_segments(h, p, &keys[0], EVP_sha256(), tok);
	assert_rejected(tok, "malformed token payload");
}
END_TEST

START_TEST(test_non_canonical_trailing_bits)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char	h[256], p[1024];
	size_t	n;

	b64u(HDR, strlen(HDR), h);
	b64u(payload(), strlen(payload()), p);
	n = strlen(h);
	ck_assert_uint_ne(n % 4, 0);
	/* Set the lowest (unused) bit of the last character. */
	h[n - 1] = alphabet[(strchr(alphabet, h[n - 1]) - alphabet) | 1];
	sign_segments(h, p, &keys[0], EVP_sha256(), tok);
	assert_rejected(tok, "malformed token header");
}
END_TEST

START_TEST(test_segment_count_and_empty_segments)
{
	char	good[1024], buf[1100];

	make_token(HDR, payload(), good);
	sprintf(buf, "%s.%s", good, "AAAA");
	assert_rejected(buf, "malformed token");
	*strrchr(good, '.') = '\0';
	assert_rejected(good, "malformed token");
	assert_rejected("", "malformed token");
	assert_rejected("..", "malformed token");
	assert_rejected("a..c", "malformed token");
	assert_rejected(".b.c", "malformed token");
	assert_rejected("a.b.", "malformed token");
	assert_rejected("abc", "malformed token");
	ck_assert_int_eq(jwt_verify(&cfg, NULL, 0, NOW, &claims, err,
	    sizeof(err)), -1);
}
END_TEST

START_TEST(test_oversized_token)
{
	static char	pl[6000];
	char		pad[4500];

	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	snprintf(pl, sizeof(pl), "{\"iss\":\"" ISS "\",\"aud\":\"" AUD
	    "\",\"sub\":\"" SUB "\",\"iat\":1800000000,\"exp\":1800000900,"
	    "\"pad\":\"%s\"}", pad);
	make_token(HDR, pl, tok);
	ck_assert_uint_gt(strlen(tok), JWT_MAX_TOKEN_LEN);
	assert_rejected(tok, "token too long");
}
END_TEST

START_TEST(test_not_objects)
{
	make_token("[\"HS256\"]", payload(), tok);
	assert_rejected(tok, "malformed token header");
	make_token(HDR, "[1,2,3]", tok);
	assert_rejected(tok, "malformed token payload");
	make_token(HDR, "{\"iss\":", tok);
	assert_rejected(tok, "malformed token payload");
}
END_TEST

START_TEST(test_length_is_honoured)
{
	char	good[1100];

	/* Bytes after len are not part of the token. */
	make_token(HDR, payload(), good);
	strcat(good, "garbage");
	ck_assert_int_eq(jwt_verify(&cfg, good, strlen(good) - 7, NOW, &claims,
	    err, sizeof(err)), 0);
}
END_TEST

Suite *
auth_jwt_suite(void)
{
	Suite	*s = suite_create("auth_jwt");
	TCase	*tc = tcase_create("sign_verify");
	TCase	*ta = tcase_create("attacks");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_sign_verify_round_trip);
	tcase_add_test(tc, test_computed_fixture_verifies);
	tcase_add_test(tc, test_sign_refuses_bad_input);
	tcase_add_test(tc, test_key_rotation);
	tcase_add_test(tc, test_length_is_honoured);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(ta, setup, NULL);
	tcase_add_test(ta, test_alg_none_unsigned);
	tcase_add_test(ta, test_alg_none_signed);
	tcase_add_test(ta, test_alg_switching);
	tcase_add_test(ta, test_typ_required);
	tcase_add_test(ta, test_crit_header);
	tcase_add_test(ta, test_tampered_payload);
	tcase_add_test(ta, test_tampered_header);
	tcase_add_test(ta, test_wrong_key);
	tcase_add_test(ta, test_unknown_and_missing_kid);
	tcase_add_test(ta, test_truncated_signature);
	tcase_add_test(ta, test_signature_31_and_33_bytes);
	tcase_add_test(ta, test_expiry_and_leeway);
	tcase_add_test(ta, test_nbf_and_iat_in_future);
	tcase_add_test(ta, test_missing_or_malformed_times);
	tcase_add_test(ta, test_issuer_and_audience);
	tcase_add_test(ta, test_subject_must_be_canonical_uuid);
	tcase_add_test(ta, test_duplicate_keys);
	tcase_add_test(ta, test_padded_base64);
	tcase_add_test(ta, test_standard_alphabet_refused);
	tcase_add_test(ta, test_non_canonical_trailing_bits);
	tcase_add_test(ta, test_segment_count_and_empty_segments);
	tcase_add_test(ta, test_oversized_token);
	tcase_add_test(ta, test_not_objects);
	suite_add_tcase(s, ta);
	return s;
}
