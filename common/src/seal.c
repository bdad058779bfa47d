/*
 * seal.c — AES-256-GCM sealing of social tokens (seal.h).
 *
 * OpenSSL's EVP interface; a fresh random 96-bit nonce per value (tokens
 * are sealed a few times per account per day, far from GCM's 2^32 limit
 * per key).  Failures say nothing about the key or the clear text.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "seal.h"

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

long
seal_b64_encode(const uint8_t *in, size_t n, char *out, size_t outlen)
{
	size_t	 i, o = 0;
	uint32_t v;

	if (outlen < 4 * ((n + 2) / 3) + 1)
		return (-1);
	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = b64[(v >> 6) & 63];
		out[o++] = b64[v & 63];
	}
	if (i < n) {
		v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return ((long)o);
}

static int
b64_value(int c)
{
	const char	*p;

	if (c == '\0' || (p = strchr(b64, c)) == NULL)
		return (-1);
	return ((int)(p - b64));
}

long
seal_b64_decode(const char *in, size_t n, uint8_t *out, size_t outlen)
{
	size_t	 i, o = 0, pad = 0;
	int	 d[4], k;

	if (n % 4 != 0)
		return (-1);
	for (i = 0; i < n; i += 4) {
		for (k = 0; k < 4; k++) {
			if (in[i + k] == '=' && i + 4 == n && k >= 2) {
				d[k] = 0;
				pad++;
				continue;
			}
			if (pad > 0 || (d[k] = b64_value((unsigned char)in[i + k])) < 0)
				return (-1);
		}
		if (o + 3 - pad > outlen)
			return (-1);
		out[o++] = (uint8_t)(d[0] << 2 | d[1] >> 4);
		if (pad < 2)
			out[o++] = (uint8_t)((d[1] & 15) << 4 | d[2] >> 2);
		if (pad < 1)
			out[o++] = (uint8_t)((d[2] & 3) << 6 | d[3]);
	}
	return ((long)o);
}

static int
kid_valid(const char *kid, size_t len)
{
	size_t	 i;

	if (len == 0 || len > SEAL_KID_MAX)
		return (0);
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)kid[i]) && kid[i] != '_' &&
		    kid[i] != '.' && kid[i] != '-')
			return (0);
	return (1);
}

static const struct seal_key *
ring_find(const struct seal_ring *ring, const char *kid)
{
	int	 i;

	for (i = 0; kid != NULL && i < ring->nkeys; i++)
		if (strcmp(ring->keys[i].kid, kid) == 0)
			return (&ring->keys[i]);
	return (NULL);
}

void
seal_ring_clear(struct seal_ring *ring)
{
	explicit_bzero(ring, sizeof(*ring));
	ring->current = -1;
}

int
seal_ring_parse(struct seal_ring *ring, const char *spec,
    const char *current_kid, char *err, size_t errlen)
{
	const char	*p = spec, *colon, *end;
	uint8_t		 raw[SEAL_KEY_LEN + 3];
	struct seal_key	*k;
	long		 n;
	int		 i;

	seal_ring_clear(ring);
	while (p != NULL && *p != '\0') {
		p += strspn(p, ", \t");
		if (*p == '\0')
			break;
		end = p + strcspn(p, ", \t");
		if ((colon = memchr(p, ':', (size_t)(end - p))) == NULL ||
		    !kid_valid(p, (size_t)(colon - p)))
			return (snprintf(err, errlen, "token keys: entry %d is not kid:base64key (kid: 1..64 of [A-Za-z0-9_.-])", ring->nkeys + 1), -1);
		if (ring->nkeys == SEAL_MAX_KEYS)
			return (snprintf(err, errlen, "token keys: more than %d keys", SEAL_MAX_KEYS), -1);
		k = &ring->keys[ring->nkeys];
		memcpy(k->kid, p, (size_t)(colon - p));
		k->kid[colon - p] = '\0';
		n = seal_b64_decode(colon + 1, (size_t)(end - colon - 1), raw, sizeof(raw));
		if (n != SEAL_KEY_LEN) {
			snprintf(err, errlen, "token keys: key %.64s is not 32 bytes in base64", k->kid);
			explicit_bzero(raw, sizeof(raw));
			seal_ring_clear(ring);
			return (-1);
		}
		for (i = 0; i < ring->nkeys; i++)
			if (strcmp(ring->keys[i].kid, k->kid) == 0) {
				seal_ring_clear(ring);
				return (snprintf(err, errlen, "token keys: key id listed twice"), -1);
			}
		memcpy(k->key, raw, SEAL_KEY_LEN);
		explicit_bzero(raw, sizeof(raw));
		ring->nkeys++;
		p = end;
	}
	if (current_kid != NULL && current_kid[0] != '\0' && ring->nkeys > 0) {
		for (i = 0; i < ring->nkeys; i++)
			if (strcmp(ring->keys[i].kid, current_kid) == 0)
				ring->current = i;
		if (ring->current < 0) {
			seal_ring_clear(ring);
			return (snprintf(err, errlen, "token keys: current key id \"%.64s\" is not in the ring", current_kid), -1);
		}
	} else if (ring->nkeys == 1)
		ring->current = 0;
	else if (ring->nkeys > 1) {
		seal_ring_clear(ring);
		return (snprintf(err, errlen, "token keys: several keys and no current key id"), -1);
	}
	return (0);
}

int
seal_ring_ready(const struct seal_ring *ring)
{
	return (ring->current >= 0 && ring->current < ring->nkeys);
}

const char *
seal_current_kid(const struct seal_ring *ring)
{
	return (seal_ring_ready(ring) ? ring->keys[ring->current].kid : NULL);
}

/* aad_build writes the additional data; returns its length or -1. */
static int
aad_build(char *aad, size_t len, const char *kid, const char *org_id,
    const char *subject, const char *kind)
{
	int	 n;

	n = snprintf(aad, len, "caas-token-v1|%s|%s|%s|%s", kid,
	    org_id != NULL ? org_id : "", subject != NULL ? subject : "",
	    kind != NULL ? kind : "");
	return (n < 0 || (size_t)n >= len ? -1 : n);
}

long
seal_token(const struct seal_ring *ring, const char *org_id,
    const char *subject, const char *kind, const void *plain, size_t len,
    uint8_t *out, size_t outlen)
{
	const struct seal_key	*k;
	EVP_CIPHER_CTX		*ctx;
	char			 aad[512];
	int			 n, alen, ok = 0;

	if (!seal_ring_ready(ring) || len > SEAL_MAX_PLAIN ||
	    outlen < len + SEAL_OVERHEAD)
		return (-1);
	k = &ring->keys[ring->current];
	if ((alen = aad_build(aad, sizeof(aad), k->kid, org_id, subject, kind)) < 0 ||
	    RAND_bytes(out, SEAL_NONCE_LEN) != 1 ||
	    (ctx = EVP_CIPHER_CTX_new()) == NULL)
		return (-1);
	if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE_LEN, NULL) == 1 &&
	    EVP_EncryptInit_ex(ctx, NULL, NULL, k->key, out) == 1 &&
	    EVP_EncryptUpdate(ctx, NULL, &n, (const uint8_t *)aad, alen) == 1 &&
	    EVP_EncryptUpdate(ctx, out + SEAL_NONCE_LEN, &n, plain, (int)len) == 1 &&
	    EVP_EncryptFinal_ex(ctx, out + SEAL_NONCE_LEN + n, &n) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_LEN,
	    out + SEAL_NONCE_LEN + len) == 1)
		ok = 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok) {
		explicit_bzero(out, outlen);
		return (-1);
	}
	return ((long)(len + SEAL_OVERHEAD));
}

long
seal_open(const struct seal_ring *ring, const char *kid, const char *org_id,
    const char *subject, const char *kind, const uint8_t *sealed, size_t len,
    char *out, size_t outlen)
{
	const struct seal_key	*k;
	EVP_CIPHER_CTX		*ctx;
	char			 aad[512];
	size_t			 clen;
	int			 n, alen, ok = 0;

	if (outlen > 0)
		out[0] = '\0';
	if ((k = ring_find(ring, kid)) == NULL || len < SEAL_OVERHEAD)
		return (-1);
	clen = len - SEAL_OVERHEAD;
	if (clen > SEAL_MAX_PLAIN || outlen < clen + 1 ||
	    (alen = aad_build(aad, sizeof(aad), k->kid, org_id, subject, kind)) < 0 ||
	    (ctx = EVP_CIPHER_CTX_new()) == NULL)
		return (-1);
	if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE_LEN, NULL) == 1 &&
	    EVP_DecryptInit_ex(ctx, NULL, NULL, k->key, sealed) == 1 &&
	    EVP_DecryptUpdate(ctx, NULL, &n, (const uint8_t *)aad, alen) == 1 &&
	    EVP_DecryptUpdate(ctx, (uint8_t *)out, &n, sealed + SEAL_NONCE_LEN, (int)clen) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_LEN,
	    (void *)(uintptr_t)(sealed + SEAL_NONCE_LEN + clen)) == 1 &&
	    EVP_DecryptFinal_ex(ctx, (uint8_t *)out + n, &n) == 1)
		ok = 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok) {
		explicit_bzero(out, outlen);
		return (-1);
	}
	out[clen] = '\0';
	return ((long)clen);
}
