/*
 * tests/fuzz/fuzz_stripe.c — libFuzzer target for api/src/stripe.c.
 *
 * Each input is tried four ways against two fixed secrets and one clock:
 *   1. as a Stripe-Signature header over a fixed body (the strict parser,
 *      bounds, hex, every result);
 *   2. split at the first '\n' into header and raw body, so signatures
 *      over fuzzed bodies are computed too;
 *   3. as a body signed correctly here with the second secret: it must
 *      verify (a property, not just "no crash"), and must fail once the
 *      signature's last digit is changed;
 *   4. as Stripe's answer (session and error parsers) and as the settings
 *      stripe_webhook_secrets and stripe_prices.
 * A crash, leak, sanitizer report or broken property is a bug; a
 * rejection is not.  Seeds: corpus/stripe/ (made by hand, signed with the
 * secrets below; headers, split header and body, answers, settings).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "stripe.h"

#define NOW	1800000000
#define TOL	300
#define SIGNED_MAX	(1 << 20)	/* "t." + body, property 3 */
#define BODY	"{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"invoice.paid\"}"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const struct stripe_secret secrets[2] = {
	{ "whsec_fuzz_one", 14 },
	{ "whsec_fuzz_two", 14 },
};

/* signed_header writes "t=NOW,v1=<hex>" for body under secrets[1]. */
static void
signed_header(const uint8_t *body, size_t len, char h[128])
{
	static const char	 hex[] = "0123456789abcdef";
	static unsigned char	 msg[SIGNED_MAX];
	unsigned char		 md[32];
	unsigned int		 n = 0;
	size_t			 i;

	memcpy(msg, "1800000000.", 11);
	memcpy(msg + 11, body, len);
	if (HMAC(EVP_sha256(), secrets[1].key, (int)secrets[1].len, msg, len + 11,
	    md, &n) == NULL || n != 32)
		abort();
	memcpy(h, "t=1800000000,v1=", 16);
	for (i = 0; i < 32; i++) {
		h[16 + 2 * i] = hex[md[i] >> 4];
		h[17 + 2 * i] = hex[md[i] & 0x0f];
	}
	h[80] = '\0';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char			*s, *nl, h[128], id[STRIPE_ID_MAX], url[STRIPE_URL_MAX];
	char			 msg[STRIPE_MESSAGE_MAX], err[256];
	struct stripe_secret	 parsed[STRIPE_SECRETS_MAX];
	struct buf		 prices;
	size_t			 n;

	if ((s = malloc(size + 1)) == NULL)
		return (0);
	memcpy(s, data, size);
	s[size] = '\0';

	/* 1. The header parser. */
	(void)stripe_verify(s, BODY, strlen(BODY), secrets, 2, NOW, TOL);
	(void)stripe_sig_reason(stripe_verify(s, NULL, 0, secrets, 2, NOW, TOL));

	/* 2. Header and body. */
	if ((nl = memchr(s, '\n', size)) != NULL) {
		*nl = '\0';
		(void)stripe_verify(s, nl + 1, size - (size_t)(nl + 1 - s), secrets, 2, NOW, TOL);
		*nl = '\n';
	}

	/* 3. A correct signature over any body verifies; a changed one does not. */
	if (size <= SIGNED_MAX - 11) {
		signed_header(data, size, h);
		if (stripe_verify(h, (const char *)data, size, secrets, 2, NOW, TOL) != STRIPE_SIG_OK)
			abort();
		h[79] = h[79] == '0' ? '1' : '0';
		if (stripe_verify(h, (const char *)data, size, secrets, 2, NOW, TOL) !=
		    STRIPE_SIG_MISMATCH)
			abort();
	}

	/* 4. Stripe's answers and the settings. */
	(void)stripe_session_parse(s, size, id, url);
	(void)stripe_error_message(s, size, msg);
	if (strlen(msg) >= STRIPE_MESSAGE_MAX || !buf_utf8_valid(msg, strlen(msg)))
		abort();
	(void)stripe_secrets_parse(s, parsed, STRIPE_SECRETS_MAX, &n, err, sizeof(err));
	buf_init(&prices);
	(void)stripe_prices_parse(s, &prices, err, sizeof(err));
	buf_cleanup(&prices);
	(void)stripe_url_ok(s);

	free(s);
	return (0);
}
