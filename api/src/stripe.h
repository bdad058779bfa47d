/*
 * stripe.h — what caas-api knows about Stripe, as pure functions (stripe.c):
 * verifying a webhook's Stripe-Signature over the raw body, the settings
 * (webhook secrets, plan prices) parsed at start-up, the form-encoded
 * Checkout and Billing Portal requests, and reading Stripe's answers.
 *
 * Nothing here talks to the network or the database: handlers/billing.c
 * carries requests out through outbound.c and calls the SQL API, so every
 * step here is unit-testable (tests/unit/api/test_stripe.c) and the
 * signature parser is fuzzed (tests/fuzz/fuzz_stripe.c).
 *
 * Memory: struct stripe_secret points into a string the caller keeps
 * (api_config's, for the process lifetime); output goes into the caller's
 * struct bufs.  Nothing here logs, and no function copies a secret
 * anywhere but into its own stack, which it wipes.
 */
#ifndef CAAS_STRIPE_H
#define CAAS_STRIPE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "buf.h"

#define STRIPE_SIG_HEADER_MAX	4096	/* a longer Stripe-Signature is malformed */
#define STRIPE_SIG_ITEMS_MAX	32	/* "k=v" items in one header */
#define STRIPE_SIG_V1_MAX	8	/* v1 signatures in one header */
#define STRIPE_SIG_HEX_LEN	64	/* hex of an HMAC-SHA256 */
#define STRIPE_SECRETS_MAX	8	/* webhook secrets at once (rotation) */
#define STRIPE_URL_MAX		2048	/* success_url, cancel_url, return_url */
#define STRIPE_ID_MAX		256	/* a session id, with its NUL */
#define STRIPE_MESSAGE_MAX	512	/* Stripe's error message, with its NUL */

/* One webhook signing secret ("whsec_…"): borrowed bytes, not NUL-ended. */
struct stripe_secret {
	const char	*key;
	size_t		 len;
};

/*
 * What handlers/billing.c needs, filled once by main.c from api_config
 * (whose strings it borrows) and borrowed for the process lifetime.
 */
struct stripe_config {
	const char		*base_url;
	const char		*secret_key;	/* "" = not configured */
	struct stripe_secret	 secrets[STRIPE_SECRETS_MAX];
	size_t			 nsecrets;	/* 0 = the webhook answers 503 */
	int			 tolerance_sec;
	int			 timeout_ms;	/* each call to Stripe */
};

enum stripe_sig_result {
	STRIPE_SIG_OK,
	STRIPE_SIG_MISSING,	/* no Stripe-Signature header */
	STRIPE_SIG_MALFORMED,	/* empty, too long, not t=…,v1=…, bad t or hex */
	STRIPE_SIG_NO_V1,	/* well formed but no v1 signature (v0 only) */
	STRIPE_SIG_STALE,	/* t older than the tolerance */
	STRIPE_SIG_FUTURE,	/* t more than the tolerance ahead */
	STRIPE_SIG_MISMATCH,	/* no v1 is HMAC-SHA256(secret, t.body) of any secret */
};

/*
 * stripe_verify checks a Stripe-Signature header (NULL when absent)
 * against the raw body[0..len): HMAC-SHA256 over "<t>.<body>" under each
 * secret, compared in constant time with every v1 (v0 and unknown schemes
 * are ignored); then |now - t| against tolerance_sec.  The header is
 * parsed strictly: "key=value" items separated by ',', no blanks, exactly
 * one t (decimal seconds), each v1 exactly STRIPE_SIG_HEX_LEN hex digits,
 * at most STRIPE_SIG_HEADER_MAX bytes, STRIPE_SIG_ITEMS_MAX items and
 * STRIPE_SIG_V1_MAX v1 signatures.  The signature is checked before the
 * time, so STALE and FUTURE are only said of authentic payloads.
 */
enum stripe_sig_result stripe_verify(const char *header, const char *body,
	    size_t len, const struct stripe_secret *secrets, size_t nsecrets,
	    time_t now, int tolerance_sec);

/* stripe_sig_reason: a short text for a result, safe for clients. */
const char	*stripe_sig_reason(enum stripe_sig_result);

/*
 * stripe_secrets_parse splits a comma-separated list of webhook secrets
 * (blanks around each trimmed) into out[0..*n), pointing into list, which
 * must outlive out.  "" gives *n = 0.  Returns 0, or -1 with the reason in
 * err (an empty entry, more than max) — never any part of a secret.
 */
int	stripe_secrets_parse(const char *list, struct stripe_secret *out,
	    size_t max, size_t *n, char *err, size_t errlen);

/*
 * stripe_prices_parse reads stripe_prices ("pro:price_1,team:price_2";
 * blanks around items allowed; "plan:" clears that plan's price) into
 * the JSON object {"pro":"price_1","team":"price_2"} appended to out, for
 * caas.stripe_prices_sync.  A plan is [a-z0-9_-]{1,32}; a price is
 * price_[A-Za-z0-9]+ (at most 255 bytes).  Returns the number of plans,
 * or -1 with the reason in err (which item, what is wrong).
 */
int	stripe_prices_parse(const char *spec, struct buf *out, char *err, size_t errlen);

/*
 * stripe_form_add appends key=value to an application/x-www-form-urlencoded
 * body ('&' first unless out is empty), both percent-encoded: everything
 * but RFC 3986 unreserved characters, so "line_items[0][price]" travels as
 * "line_items%5B0%5D%5Bprice%5D" and a space as "%20".  NULL value: the
 * pair is left out.  Returns 0 or -1 (memory).
 */
int	stripe_form_add(struct buf *out, const char *key, const char *value);

/* What POST /v1/checkout/sessions needs (borrowed strings). */
struct stripe_checkout {
	const char	*org_id;
	const char	*plan;
	const char	*price_id;
	const char	*success_url;
	const char	*cancel_url;
	const char	*customer_id;		/* "cus_…", or NULL */
	const char	*customer_email;	/* used when no customer_id; or NULL */
};

/*
 * stripe_checkout_request appends the URL ({base_url}/v1/checkout/sessions,
 * a trailing '/' of base_url dropped) to url and the form to form: a
 * subscription-mode session for one unit of price_id, the organisation as
 * client_reference_id and in the session's and the subscription's metadata
 * (org_id, plan), the customer or their e-mail.  Returns 0 or -1 (memory).
 */
int	stripe_checkout_request(const char *base_url, const struct stripe_checkout *c,
	    struct buf *url, struct buf *form);

/*
 * stripe_portal_request appends {base_url}/v1/billing_portal/sessions to
 * url and customer=…&return_url=… to form.  Returns 0 or -1 (memory).
 */
int	stripe_portal_request(const char *base_url, const char *customer_id,
	    const char *return_url, struct buf *url, struct buf *form);

/*
 * stripe_session_parse reads a session object (Checkout or Billing
 * Portal): its "id" into id[STRIPE_ID_MAX] and its "url" into url
 * (STRIPE_URL_MAX).  Returns 0, or -1 when the body is not a JSON object
 * or either is missing, too long, or (url) not absolute http(s).
 */
int	stripe_session_parse(const char *body, size_t len, char *id, char *url);

/*
 * stripe_error_message copies Stripe's error.message into out
 * (STRIPE_MESSAGE_MAX, cut short if longer), control characters as
 * blanks and anything that looks like a key (sk_…, rk_…, pk_…, whsec_…)
 * as "[redacted]".  Returns 0, or -1 (out "") when there is none.
 */
int	stripe_error_message(const char *body, size_t len, char *out);

/*
 * stripe_url_ok: s is an absolute http:// or https:// URL with a host,
 * without blanks or control characters, at most STRIPE_URL_MAX - 1 bytes.
 */
bool	stripe_url_ok(const char *s);

#endif /* CAAS_STRIPE_H */
