/*
 * tests/fuzz/fuzz_jwt.c — libFuzzer target for api/src/auth_jwt.c.
 *
 * Each input is tried three ways against one fixed configuration:
 *   1. as a whole token (structure, base64url, header, signature paths);
 *   2. as the JSON payload of a token with a good header, correctly signed
 *      here, so the claim checks see fuzzed JSON past the signature;
 *   3. as the JSON header of a token with a good payload, correctly signed.
 * A crash, leak or sanitizer report is a bug; a rejection is not.
 * The key and clock match the seeds in corpus/jwt/ (gen_seeds.py).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth_jwt.h"

#define NOW	1800000000LL
#define GOOD_HDR "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}"
#define GOOD_PL	"{\"iss\":\"https://caas.test\",\"aud\":\"caas-api\"," \
	"\"sub\":\"0b9c3a1e-5f4d-4c2b-9a8e-7d6c5b4a3f21\"," \
	"\"iat\":1800000000,\"nbf\":1800000000,\"exp\":1800000900}"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct jwt_key key;
static struct jwt_config cfg;

static void
init(void)
{
	size_t	i;

	if (cfg.keys != NULL)
		return;
	strcpy(key.kid, "k1");
	key.secret_len = 32;
	for (i = 0; i < 32; i++)
		key.secret[i] = (unsigned char)(0x41 + i);
	cfg.keys = &key;
	cfg.nkeys = 1;
	cfg.issuer = "https://caas.test";
	cfg.audience = "caas-api";
	cfg.leeway_sec = 30;
	cfg.access_ttl_sec = 900;
}

static size_t
b64u(const uint8_t *in, size_t n, char *out)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint32_t	acc = 0;
	int		bits = 0;
	size_t		i, o = 0;

	for (i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = a[(acc >> bits) & 0x3f];
		}
		acc &= (1u << bits) - 1;
	}
	if (bits > 0)
		out[o++] = a[(acc << (6 - bits)) & 0x3f];
	return (o);
}

/* verify_signed builds "b64(hdr).b64(pl).b64(HMAC)" and verifies it. */
static void
verify_signed(const uint8_t *hdr, size_t hlen, const uint8_t *pl, size_t plen)
{
	static char		tok[3 * JWT_MAX_TOKEN_LEN];
	unsigned char		mac[32];
	unsigned int		maclen;
	struct api_claims	c;
	char			err[64];
	size_t			n;

	if (hlen + plen > JWT_MAX_TOKEN_LEN)
		return;
	n = b64u(hdr, hlen, tok);
	tok[n++] = '.';
	n += b64u(pl, plen, tok + n);
	HMAC(EVP_sha256(), key.secret, (int)key.secret_len,
	    (unsigned char *)tok, n, mac, &maclen);
	tok[n++] = '.';
	n += b64u(mac, maclen, tok + n);
	(void)jwt_verify(&cfg, tok, n, NOW, &c, err, sizeof(err));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_claims	c;
	char			err[64];

	init();
	(void)jwt_verify(&cfg, (const char *)data, size, NOW, &c, err,
	    sizeof(err));
	verify_signed((const uint8_t *)GOOD_HDR, strlen(GOOD_HDR), data, size);
	verify_signed(data, size, (const uint8_t *)GOOD_PL, strlen(GOOD_PL));
	return (0);
}
