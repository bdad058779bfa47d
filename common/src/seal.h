/*
 * seal.h — social tokens sealed at rest with AES-256-GCM (DESIGN.md
 * decision 8), shared by caas-api (seals what an OAuth exchange or a
 * pasted token gives) and the dispatcher (opens to publish, re-seals after
 * a refresh).
 *
 * Sealed layout: 12-byte random nonce ‖ ciphertext ‖ 16-byte tag, so a
 * sealed value is the clear text's length + SEAL_OVERHEAD.  The additional
 * authenticated data binds a sealed value to where it belongs:
 *
 *	"caas-token-v1|" key_id "|" org_id "|" subject "|" kind
 *
 * (subject: "<platform>:<external_id>" of the social account — its
 * identity, known before the row exists and stable across reconnects — or
 * the platform alone for an OAuth PKCE verifier; kind: "access", "refresh"
 * or "verifier"), so a value copied to another account, organisation or
 * column does not open.
 *
 * A key ring holds up to SEAL_MAX_KEYS keys, parsed from
 * "kid:base64(32 bytes)[,kid:base64(32 bytes)]..."; the current key id names
 * the one new values are sealed with, and a stored value names its own, so
 * keys rotate by adding a new one, making it current, re-sealing at leisure
 * and only then dropping the old one.
 *
 * Memory: the ring is a plain struct the caller owns (stack or static);
 * seal_ring_clear wipes it.  Output buffers are the caller's.
 */
#ifndef CAAS_SEAL_H
#define CAAS_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define SEAL_KEY_LEN	32
#define SEAL_NONCE_LEN	12
#define SEAL_TAG_LEN	16
#define SEAL_OVERHEAD	(SEAL_NONCE_LEN + SEAL_TAG_LEN)
#define SEAL_MAX_KEYS	8
#define SEAL_KID_MAX	64		/* bytes, [A-Za-z0-9_.-] */
#define SEAL_MAX_PLAIN	8192		/* longest token sealed */

struct seal_key {
	char		kid[SEAL_KID_MAX + 1];
	uint8_t		key[SEAL_KEY_LEN];
};

struct seal_ring {
	struct seal_key	keys[SEAL_MAX_KEYS];
	int		nkeys;
	int		current;		/* index of the sealing key, -1 = none */
};

/*
 * seal_ring_parse fills ring from spec ("kid:base64,kid:base64") and makes
 * current_kid the sealing key.  Returns 0, or -1 with the reason in err
 * (never any key material).  An empty spec gives an empty ring (0): callers
 * that need keys check seal_ring_ready().
 */
int	seal_ring_parse(struct seal_ring *ring, const char *spec,
	    const char *current_kid, char *err, size_t errlen);

/* seal_ring_ready is non-zero when the ring has a current key. */
int	seal_ring_ready(const struct seal_ring *ring);

/* seal_current_kid is the current key's id, or NULL. */
const char *seal_current_kid(const struct seal_ring *ring);

/* seal_ring_clear wipes every key. */
void	seal_ring_clear(struct seal_ring *ring);

/*
 * seal_token seals plain[0..len) with the current key for (org_id, subject,
 * kind) into out, which must hold len + SEAL_OVERHEAD bytes.  Returns the
 * sealed length, or -1 (no current key, len > SEAL_MAX_PLAIN, or OpenSSL
 * failure).
 */
long	seal_token(const struct seal_ring *ring, const char *org_id,
	    const char *subject, const char *kind, const void *plain, size_t len,
	    uint8_t *out, size_t outlen);

/*
 * seal_open opens sealed[0..len) sealed with key kid for (org_id, subject,
 * kind) into out (len - SEAL_OVERHEAD bytes and a NUL).  Returns the clear
 * length, or -1 when the key is unknown, the value is too short, or the tag
 * does not verify (tampered, wrong key, wrong row): nothing is written to
 * out but a NUL in that case.
 */
long	seal_open(const struct seal_ring *ring, const char *kid,
	    const char *org_id, const char *subject, const char *kind,
	    const uint8_t *sealed, size_t len, char *out, size_t outlen);

/*
 * seal_b64_encode / seal_b64_decode: standard base64 with padding, no line
 * breaks (how tokens travel in the dispatcher's jsonb and in key specs).
 * encode returns the length written (out needs 4*ceil(n/3)+1); decode
 * returns the decoded length or -1 for malformed input or a short buffer.
 */
long	seal_b64_encode(const uint8_t *in, size_t n, char *out, size_t outlen);
long	seal_b64_decode(const char *in, size_t n, uint8_t *out, size_t outlen);

#endif /* CAAS_SEAL_H */
