/*
 * stripe.c — Stripe's webhook signatures, settings, requests and answers,
 * without any I/O (stripe.h).
 *
 * Signatures (docs.stripe.com/webhooks/signature; reference/external-apis.md
 * 4.2): Stripe-Signature is "t=<unix seconds>,v1=<hex>[,v1=<hex>…][,v0=…]";
 * the signed payload is the header's t text, '.', and the exact request
 * body.  Each secret's HMAC-SHA256 is computed once and compared with
 * every v1 through CRYPTO_memcmp, with no early exit, so the time taken
 * says nothing about which byte or which secret was close.  Expected
 * signatures live on the stack only and are wiped before returning.
 *
 * Vocabulary: a "secret" is a webhook signing secret (whsec_…), the
 * "secret key" (sk_…) authenticates our calls to Stripe and never passes
 * through this file except as part of a caller's request description.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "stripe.h"

#define T_DIGITS_MAX	12	/* seconds since 1970, far beyond 2100 */
#define PLAN_MAX	32
#define PRICE_MAX	255

/* ---------------------------------------------------------- signatures */

/* A parsed header: t as sent, and each v1 in lower-case hex. */
struct sig_header {
	const char	*t;
	size_t		 tlen;
	long long	 t_sec;
	char		 v1[STRIPE_SIG_V1_MAX][STRIPE_SIG_HEX_LEN];
	size_t		 nv1;
};

static bool
all_of(const char *s, size_t n, const char *set)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (s[i] == '\0' || strchr(set, s[i]) == NULL)
			return (false);
	return (true);
}

#define LOWER_DIGITS	"abcdefghijklmnopqrstuvwxyz0123456789"
#define ALNUM		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
#define VALUE_CHARS	ALNUM "_-"

/*
 * take_item records one "key=value" item of the header.  Returns
 * STRIPE_SIG_OK or STRIPE_SIG_MALFORMED.
 */
static enum stripe_sig_result
take_item(const char *p, size_t len, struct sig_header *h)
{
	const char	*eq = memchr(p, '=', len), *v;
	size_t		 klen, vlen, i;

	if (eq == NULL || eq == p)
		return (STRIPE_SIG_MALFORMED);
	klen = (size_t)(eq - p);
	v = eq + 1;
	vlen = len - klen - 1;
	if (vlen == 0 || !all_of(p, klen, LOWER_DIGITS) || !all_of(v, vlen, VALUE_CHARS))
		return (STRIPE_SIG_MALFORMED);
	if (klen == 1 && p[0] == 't') {
		if (h->t != NULL || vlen > T_DIGITS_MAX || !all_of(v, vlen, "0123456789"))
			return (STRIPE_SIG_MALFORMED);
		h->t = v;
		h->tlen = vlen;
		h->t_sec = 0;
		for (i = 0; i < vlen; i++)
			h->t_sec = h->t_sec * 10 + (v[i] - '0');
	} else if (klen == 2 && p[0] == 'v' && p[1] == '1') {
		if (vlen != STRIPE_SIG_HEX_LEN || h->nv1 == STRIPE_SIG_V1_MAX ||
		    !all_of(v, vlen, "0123456789abcdefABCDEF"))
			return (STRIPE_SIG_MALFORMED);
		for (i = 0; i < vlen; i++)
			h->v1[h->nv1][i] = (char)tolower((unsigned char)v[i]);
		h->nv1++;
	}
	/* v0 (Stripe's test scheme) and schemes yet to come: ignored. */
	return (STRIPE_SIG_OK);
}

/* parse_header fills h from the header.  Returns OK, MISSING, MALFORMED or NO_V1. */
static enum stripe_sig_result
parse_header(const char *header, struct sig_header *h)
{
	const char	*p, *end, *comma;
	size_t		 hlen, items = 0;

	memset(h, 0, sizeof(*h));
	if (header == NULL)
		return (STRIPE_SIG_MISSING);
	hlen = strnlen(header, STRIPE_SIG_HEADER_MAX + 1);
	if (hlen == 0 || hlen > STRIPE_SIG_HEADER_MAX)
		return (STRIPE_SIG_MALFORMED);
	for (p = header, end = header + hlen; ; p = comma + 1) {
		if ((comma = memchr(p, ',', (size_t)(end - p))) == NULL)
			comma = end;
		if (++items > STRIPE_SIG_ITEMS_MAX ||
		    take_item(p, (size_t)(comma - p), h) != STRIPE_SIG_OK)
			return (STRIPE_SIG_MALFORMED);
		if (comma == end)
			break;
	}
	if (h->t == NULL)
		return (STRIPE_SIG_MALFORMED);
	return (h->nv1 == 0 ? STRIPE_SIG_NO_V1 : STRIPE_SIG_OK);
}

/*
 * sign writes hex(HMAC-SHA256(secret, t "." body)) into out.  Returns 0,
 * or -1 when OpenSSL fails (then nothing matches).
 */
static int
sign(const struct stripe_secret *s, const struct sig_header *h,
    const char *body, size_t len, char out[STRIPE_SIG_HEX_LEN])
{
	static const char	 hex[] = "0123456789abcdef";
	EVP_MAC			*mac;
	EVP_MAC_CTX		*ctx = NULL;
	OSSL_PARAM		 params[2];
	unsigned char		 md[32];
	size_t			 mdlen = 0, i;
	int			 rc = -1;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) != NULL &&
	    (ctx = EVP_MAC_CTX_new(mac)) != NULL &&
	    EVP_MAC_init(ctx, (const unsigned char *)s->key, s->len, params) == 1 &&
	    EVP_MAC_update(ctx, (const unsigned char *)h->t, h->tlen) == 1 &&
	    EVP_MAC_update(ctx, (const unsigned char *)".", 1) == 1 &&
	    (len == 0 || EVP_MAC_update(ctx, (const unsigned char *)body, len) == 1) &&
	    EVP_MAC_final(ctx, md, &mdlen, sizeof(md)) == 1 && mdlen == sizeof(md)) {
		for (i = 0; i < sizeof(md); i++) {
			out[2 * i] = hex[md[i] >> 4];
			out[2 * i + 1] = hex[md[i] & 0x0f];
		}
		rc = 0;
	}
	OPENSSL_cleanse(md, sizeof(md));
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return (rc);
}

enum stripe_sig_result
stripe_verify(const char *header, const char *body, size_t len,
    const struct stripe_secret *secrets, size_t nsecrets, time_t now,
    int tolerance_sec)
{
	struct sig_header	 h;
	enum stripe_sig_result	 r;
	char			 expected[STRIPE_SIG_HEX_LEN];
	size_t			 i, j;
	int			 match = 0;

	if ((r = parse_header(header, &h)) != STRIPE_SIG_OK)
		return (r);
	if (body == NULL)
		len = 0;
	for (i = 0; i < nsecrets; i++) {
		if (secrets[i].key == NULL || secrets[i].len == 0 ||
		    sign(&secrets[i], &h, body, len, expected) == -1)
			continue;
		for (j = 0; j < h.nv1; j++)
			match |= CRYPTO_memcmp(expected, h.v1[j], STRIPE_SIG_HEX_LEN) == 0;
	}
	OPENSSL_cleanse(expected, sizeof(expected));
	if (!match)
		return (STRIPE_SIG_MISMATCH);
	if ((long long)now - h.t_sec > (long long)tolerance_sec)
		return (STRIPE_SIG_STALE);
	if (h.t_sec - (long long)now > (long long)tolerance_sec)
		return (STRIPE_SIG_FUTURE);
	return (STRIPE_SIG_OK);
}

const char *
stripe_sig_reason(enum stripe_sig_result r)
{
	switch (r) {
	case STRIPE_SIG_OK:
		return ("ok");
	case STRIPE_SIG_MISSING:
		return ("missing Stripe-Signature header");
	case STRIPE_SIG_MALFORMED:
		return ("malformed Stripe-Signature header");
	case STRIPE_SIG_NO_V1:
		return ("no v1 signature in the Stripe-Signature header");
	case STRIPE_SIG_STALE:
		return ("timestamp outside the tolerance (too old)");
	case STRIPE_SIG_FUTURE:
		return ("timestamp outside the tolerance (in the future)");
	case STRIPE_SIG_MISMATCH:
		return ("no matching signature");
	}
	return ("unknown");
}

/* ------------------------------------------------------------ settings */

/* trim narrows [*p, *p + *len) past blanks on both sides. */
static void
trim(const char **p, size_t *len)
{
	while (*len > 0 && (**p == ' ' || **p == '\t')) {
		(*p)++;
		(*len)--;
	}
	while (*len > 0 && ((*p)[*len - 1] == ' ' || (*p)[*len - 1] == '\t'))
		(*len)--;
}

int
stripe_secrets_parse(const char *list, struct stripe_secret *out, size_t max,
    size_t *n, char *err, size_t errlen)
{
	const char	*p = list != NULL ? list : "", *item;
	size_t		 len, all = strlen(p);

	*n = 0;
	trim(&p, &all);
	if (all == 0)
		return (0);
	for (;;) {
		len = strcspn(p, ",");
		item = p;
		trim(&item, &len);
		if (len == 0)
			return (snprintf(err, errlen, "entry %zu of the list is empty", *n + 1), -1);
		if (*n == max)
			return (snprintf(err, errlen, "more than %zu secrets", max), -1);
		out[*n].key = item;
		out[*n].len = len;
		(*n)++;
		p += strcspn(p, ",");
		if (*p == '\0')
			return (0);
		p++;
	}
}

/*
 * prices_item appends one "plan:price" item (blanks around either part
 * allowed) as a JSON member to out, and ",plan," to seen, the plans so far.
 * Returns 0, or -1 with the reason in err.
 */
static int
prices_item(const char *p, size_t len, int index, struct buf *out,
    struct buf *seen, char *err, size_t errlen)
{
	const char	*colon, *price;
	size_t		 plen, vlen;
	char		 plan[PLAN_MAX + 3];

	trim(&p, &len);
	if (len == 0)
		return (snprintf(err, errlen, "item %d is empty", index), -1);
	if ((colon = memchr(p, ':', len)) == NULL)
		return (snprintf(err, errlen, "item %d: expected plan:price_...", index), -1);
	plen = (size_t)(colon - p);
	price = colon + 1;
	vlen = len - plen - 1;
	trim(&p, &plen);
	trim(&price, &vlen);
	if (plen == 0 || plen > PLAN_MAX || !all_of(p, plen, LOWER_DIGITS "_-"))
		return (snprintf(err, errlen, "item %d: a plan id is 1..%d of a-z, 0-9, _ and -",
		    index, PLAN_MAX), -1);
	snprintf(plan, sizeof(plan), ",%.*s,", (int)plen, p);
	if (strstr(seen->data, plan) != NULL)
		return (snprintf(err, errlen, "item %d: plan %.*s is listed twice", index,
		    (int)plen, p), -1);
	if (vlen > 0 && (vlen <= 6 || vlen > PRICE_MAX || strncmp(price, "price_", 6) != 0 ||
	    !all_of(price + 6, vlen - 6, ALNUM)))
		return (snprintf(err, errlen, "item %d (plan %.*s): a price id is price_ "
		    "followed by letters and digits", index, (int)plen, p), -1);
	if ((out->len > 1 && buf_append(out, ",", 1) == -1) ||
	    buf_append_json_string(out, p, plen) == -1 || buf_append(out, ":", 1) == -1 ||
	    buf_append_json_string(out, price, vlen) == -1 ||
	    buf_append(seen, plan + 1, plen + 1) == -1)
		return (snprintf(err, errlen, "out of memory"), -1);
	return (0);
}

int
stripe_prices_parse(const char *spec, struct buf *out, char *err, size_t errlen)
{
	const char	*p = spec != NULL ? spec : "";
	struct buf	 seen;
	size_t		 len, all = strlen(p), start = out->len;
	int		 n = 0, rc = 0;

	buf_init(&seen);
	trim(&p, &all);
	if (buf_append(out, "{", 1) == -1 || buf_append(&seen, ",", 1) == -1) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
	}
	while (rc == 0 && all > 0) {
		len = strcspn(p, ",");
		rc = prices_item(p, len, ++n, out, &seen, err, errlen);
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	if (rc == 0 && buf_append(out, "}", 1) == -1) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
	}
	buf_cleanup(&seen);
	if (rc != 0) {
		out->len = start;
		if (out->data != NULL)
			out->data[start] = '\0';
		return (-1);
	}
	return (n);
}

/* ------------------------------------------------------------ requests */

int
stripe_form_add(struct buf *out, const char *key, const char *value)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const char		*s;
	int			 rc = 0, pass;

	if (value == NULL)
		return (0);
	if (out->len > 0)
		rc |= buf_append(out, "&", 1);
	for (pass = 0, s = key; pass < 2; pass++, s = value) {
		if (pass == 1)
			rc |= buf_append(out, "=", 1);
		for (; *s != '\0'; s++) {
			unsigned char	 c = (unsigned char)*s;
			char		 esc[3] = { '%', hex[c >> 4], hex[c & 0x0f] };

			if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
				rc |= buf_append(out, s, 1);
			else
				rc |= buf_append(out, esc, 3);
		}
	}
	return (rc == 0 ? 0 : -1);
}

/* endpoint appends base_url (without a trailing '/') and path to url. */
static int
endpoint(struct buf *url, const char *base_url, const char *path)
{
	size_t	 n = strlen(base_url);

	while (n > 0 && base_url[n - 1] == '/')
		n--;
	if (buf_append(url, base_url, n) == -1 || buf_append(url, path, strlen(path)) == -1)
		return (-1);
	return (0);
}

int
stripe_checkout_request(const char *base_url, const struct stripe_checkout *c,
    struct buf *url, struct buf *form)
{
	int	 rc;

	rc = endpoint(url, base_url, "/v1/checkout/sessions");
	rc |= stripe_form_add(form, "mode", "subscription");
	rc |= stripe_form_add(form, "line_items[0][price]", c->price_id);
	rc |= stripe_form_add(form, "line_items[0][quantity]", "1");
	rc |= stripe_form_add(form, "success_url", c->success_url);
	rc |= stripe_form_add(form, "cancel_url", c->cancel_url);
	rc |= stripe_form_add(form, "client_reference_id", c->org_id);
	rc |= stripe_form_add(form, "metadata[org_id]", c->org_id);
	rc |= stripe_form_add(form, "metadata[plan]", c->plan);
	rc |= stripe_form_add(form, "subscription_data[metadata][org_id]", c->org_id);
	rc |= stripe_form_add(form, "subscription_data[metadata][plan]", c->plan);
	if (c->customer_id != NULL && c->customer_id[0] != '\0')
		rc |= stripe_form_add(form, "customer", c->customer_id);
	else if (c->customer_email != NULL && c->customer_email[0] != '\0')
		rc |= stripe_form_add(form, "customer_email", c->customer_email);
	return (rc == 0 ? 0 : -1);
}

int
stripe_portal_request(const char *base_url, const char *customer_id,
    const char *return_url, struct buf *url, struct buf *form)
{
	int	 rc;

	rc = endpoint(url, base_url, "/v1/billing_portal/sessions");
	rc |= stripe_form_add(form, "customer", customer_id);
	rc |= stripe_form_add(form, "return_url", return_url);
	return (rc == 0 ? 0 : -1);
}

/* ------------------------------------------------------------- answers */

bool
stripe_url_ok(const char *s)
{
	size_t	 len, i, skip;

	if (s == NULL || (len = strnlen(s, STRIPE_URL_MAX)) == 0 || len >= STRIPE_URL_MAX)
		return (false);
	if (strncasecmp(s, "https://", 8) == 0)
		skip = 8;
	else if (strncasecmp(s, "http://", 7) == 0)
		skip = 7;
	else
		return (false);
	if (s[skip] == '\0' || strchr("/?#@:", s[skip]) != NULL)
		return (false);
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return (false);
	return (true);
}

int
stripe_session_parse(const char *body, size_t len, char *id, char *url)
{
	json_t		*root, *jid, *jurl;
	int		 rc = -1;

	id[0] = url[0] = '\0';
	if (body == NULL || (root = json_loadb(body, len, 0, NULL)) == NULL)
		return (-1);
	jid = json_object_get(root, "id");
	jurl = json_object_get(root, "url");
	if (json_is_string(jid) && json_is_string(jurl) &&
	    json_string_length(jid) > 0 && json_string_length(jid) < STRIPE_ID_MAX &&
	    strlen(json_string_value(jid)) == json_string_length(jid) &&
	    all_of(json_string_value(jid), json_string_length(jid), VALUE_CHARS) &&
	    strlen(json_string_value(jurl)) == json_string_length(jurl) &&
	    stripe_url_ok(json_string_value(jurl))) {
		memcpy(id, json_string_value(jid), json_string_length(jid) + 1);
		memcpy(url, json_string_value(jurl), json_string_length(jurl) + 1);
		rc = 0;
	}
	json_decref(root);
	return (rc);
}

/* key_at: s[i] starts something that looks like a Stripe key or secret. */
static size_t
key_at(const char *s, size_t i)
{
	static const char *const prefixes[] = { "sk_", "rk_", "pk_", "whsec_", NULL };
	size_t	 k, n;

	if (i > 0 && (isalnum((unsigned char)s[i - 1]) || s[i - 1] == '_'))
		return (0);
	for (k = 0; prefixes[k] != NULL; k++)
		if (strncmp(s + i, prefixes[k], strlen(prefixes[k])) == 0) {
			for (n = strlen(prefixes[k]); s[i + n] != '\0' &&
			    (isalnum((unsigned char)s[i + n]) || s[i + n] == '_' ||
			    s[i + n] == '*'); n++)
				;
			return (n);
		}
	return (0);
}

/* utf8_len: the length of the UTF-8 sequence lead byte c starts (1 for others). */
static size_t
utf8_len(unsigned char c)
{
	if (c >= 0xf0)
		return (4);
	if (c >= 0xe0)
		return (3);
	if (c >= 0xc0)
		return (2);
	return (1);
}

int
stripe_error_message(const char *body, size_t len, char *out)
{
	static const char	 redacted[] = "[redacted]";
	json_t			*root;
	const char		*m;
	size_t			 i, o = 0, k;

	out[0] = '\0';
	if (body == NULL || (root = json_loadb(body, len, 0, NULL)) == NULL)
		return (-1);
	m = json_string_value(json_object_get(json_object_get(root, "error"), "message"));
	/* Whole characters only: cut short, out stays valid UTF-8. */
	for (i = 0; m != NULL && m[i] != '\0'; i += k) {
		if ((k = key_at(m, i)) > 0) {
			if (o + sizeof(redacted) > STRIPE_MESSAGE_MAX)
				break;
			memcpy(out + o, redacted, sizeof(redacted) - 1);
			o += sizeof(redacted) - 1;
			continue;
		}
		k = utf8_len((unsigned char)m[i]);
		if (strnlen(m + i, k) < k || o + k > STRIPE_MESSAGE_MAX - 1)
			break;
		if (k == 1 && ((unsigned char)m[i] < 0x20 || m[i] == 0x7f))
			out[o++] = ' ';
		else {
			memcpy(out + o, m + i, k);
			o += k;
		}
	}
	out[o] = '\0';
	json_decref(root);
	return (o > 0 ? 0 : -1);
}
