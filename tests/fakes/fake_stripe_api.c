/*
 * tests/fakes/fake_stripe_api.c — Stripe's formats for the fake Stripe API
 * (../shared/reference/external-apis.md §4): routes, the secret key
 * (Bearer, or HTTP Basic with the key as the user name, as curl -u sends
 * it), the parameter checks of POST /v1/checkout/sessions and
 * POST /v1/billing_portal/sessions (over a form decoded by
 * fake_stripe_form.c), the Checkout Session and billing-portal Session
 * objects, the replies and Stripe's error body
 * {"error":{"type","code","message","param"[,"doc_url"]}}.
 *
 * A key is never echoed: a wrong one reads "Invalid API Key provided:
 * sk_test_****" (its well-known prefix only).
 *
 * Memory: every function here fills a caller's reply (fc_reply_clear frees
 * it) or returns a new JSON value or string the caller owns; nothing is
 * kept.  No state, no locks: safe from any thread.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "fake_stripe.h"

#define SUPPORT	"If you have any questions, we can help at https://support.stripe.com/."

const char *const fs_fail_names[FS_NFAILS] = {
	"none", "server_error", "card_declined", "hang"
};

/*
 * Parameter names each endpoint knows, as patterns: '#' matches any run of
 * digits (also none, for "expand[]"), '*' one or more characters other
 * than ']' (a metadata key).  Anything else is "Received unknown parameter".
 */
static const char *const checkout_params[] = {
	"mode", "success_url", "cancel_url", "client_reference_id", "customer",
	"customer_email", "allow_promotion_codes", "billing_address_collection",
	"locale", "ui_mode", "expires_at", "customer_creation",
	"payment_method_collection", "return_url", "redirect_on_completion",
	"automatic_tax[enabled]", "tax_id_collection[enabled]",
	"phone_number_collection[enabled]", "customer_update[address]",
	"customer_update[name]", "customer_update[shipping]",
	"consent_collection[terms_of_service]", "consent_collection[promotions]",
	"metadata[*]", "expand[#]", "payment_method_types[#]",
	"discounts[#][coupon]", "discounts[#][promotion_code]",
	"line_items[#][price]", "line_items[#][quantity]",
	"line_items[#][tax_rates][#]", "line_items[#][dynamic_tax_rates][#]",
	"line_items[#][adjustable_quantity][enabled]",
	"line_items[#][adjustable_quantity][minimum]",
	"line_items[#][adjustable_quantity][maximum]",
	"subscription_data[metadata][*]", "subscription_data[trial_period_days]",
	"subscription_data[trial_end]", "subscription_data[description]",
	"subscription_data[billing_cycle_anchor]",
	"subscription_data[proration_behavior]",
	"subscription_data[default_tax_rates][#]",
	"subscription_data[trial_settings][end_behavior][missing_payment_method]",
	NULL
};

static const char *const portal_params[] = {
	"customer", "return_url", "configuration", "locale", "on_behalf_of",
	"expand[#]", "flow_data[type]", "flow_data[after_completion][type]",
	"flow_data[after_completion][redirect][return_url]",
	"flow_data[after_completion][hosted_confirmation][custom_message]",
	"flow_data[subscription_cancel][subscription]",
	"flow_data[subscription_update][subscription]",
	"flow_data[subscription_update_confirm][subscription]",
	"flow_data[subscription_update_confirm][items][#][id]",
	"flow_data[subscription_update_confirm][items][#][price]",
	"flow_data[subscription_update_confirm][items][#][quantity]",
	NULL
};

int
fs_fail_of(const char *name)
{
	int	 i;

	for (i = 0; name != NULL && i < FS_NFAILS; i++)
		if (strcmp(name, fs_fail_names[i]) == 0)
			return (i);
	return (-1);
}

char *
fs_random_id(const char *prefix, size_t n)
{
	static const char	 set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char		 rnd[64];
	size_t			 plen = strlen(prefix), i;
	char			*s;

	if (n > sizeof(rnd))
		n = sizeof(rnd);
	if (getrandom(rnd, n, 0) != (ssize_t)n)
		abort();
	if ((s = malloc(plen + n + 1)) == NULL)
		abort();
	memcpy(s, prefix, plen);
	for (i = 0; i < n; i++)
		s[plen + i] = set[rnd[i] % (sizeof(set) - 1)];
	s[plen + n] = '\0';
	return (s);
}

/* ==== replies */

/* The 500 answered when a JSON reply cannot be built (fake_common.h). */
const char fc_json_error[] = "{\"error\":{\"type\":\"api_error\","
    "\"message\":\"fake_stripe: cannot build the answer\"}}";

static json_t *
str_or_null(const char *s)
{
	return (s != NULL ? fs_json_text(s) : json_null());
}

/* error_json: Stripe's error object; doc_url as Stripe derives it from the code. */
static json_t *
error_json(const char *type, const char *code, const char *param, const char *msg)
{
	json_t	*e;
	char	 url[128];
	size_t	 i, n;

	e = json_pack("{s:s, s:o, s:o, s:o}", "type", type, "code", str_or_null(code),
	    "message", fs_json_text(msg), "param", str_or_null(param));
	if (e != NULL && code != NULL) {
		n = (size_t)snprintf(url, sizeof(url),
		    "https://stripe.com/docs/error-codes/%s", code);
		for (i = n - strlen(code); i < n && i < sizeof(url); i++)
			if (url[i] == '_')
				url[i] = '-';
		json_object_set_new(e, "doc_url", json_string(url));
	}
	return (e);
}

void
fs_error(struct fc_reply *r, unsigned int status, const char *type,
    const char *code, const char *param, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;
	json_t	*e;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	e = error_json(type, code, param, msg);
	free(msg);
	fc_reply_json(r, status, json_pack("{s:o}", "error", e));
}

void
fs_fail_reply(enum fs_fail f, struct fc_reply *r)
{
	json_t	*e;

	if (f == FS_FAIL_CARD_DECLINED) {
		e = error_json("card_error", "card_declined", NULL,
		    "Your card was declined.");
		json_object_set_new(e, "decline_code", json_string("generic_decline"));
		fc_reply_json(r, 402, json_pack("{s:o}", "error", e));
		return;
	}
	fs_error(r, 500, "api_error", NULL, NULL, "An unknown error occurred");
}

/* ==== routes and credentials */

enum fs_endpoint
fs_route(const char *method, const char *path)
{
	static const char	 sessions[] = "/v1/checkout/sessions";
	const char		*id;

	if (strcmp(method, "POST") == 0 && strcmp(path, sessions) == 0)
		return (FS_CHECKOUT);
	if (strcmp(method, "POST") == 0 &&
	    strcmp(path, "/v1/billing_portal/sessions") == 0)
		return (FS_PORTAL);
	id = path + sizeof(sessions);
	if (strcmp(method, "GET") == 0 &&
	    strncmp(path, sessions, sizeof(sessions) - 1) == 0 &&
	    path[sizeof(sessions) - 1] == '/' && *id != '\0' &&
	    strchr(id, '/') == NULL)
		return (FS_RETRIEVE);
	return (FS_NONE);
}

void
fs_not_found(struct fc_reply *r, const char *method, const char *path)
{
	fs_error(r, 404, "invalid_request_error", NULL, NULL,
	    "Unrecognized request URL (%s: %s). Please see https://stripe.com/docs "
	    "or we can help at https://support.stripe.com/.", method, path);
}

static bool
base64_decode(const char *in, char *out, size_t outlen)
{
	static const char	 set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	const char		*p;
	unsigned int		 acc = 0;
	size_t			 o = 0;
	int			 bits = 0;

	for (; *in != '\0' && *in != '='; in++) {
		if ((p = strchr(set, *in)) == NULL)
			return (false);
		acc = (acc << 6) | (unsigned int)(p - set);
		if ((bits += 6) >= 8) {
			bits -= 8;
			if (o + 1 >= outlen)
				return (false);
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[o] = '\0';
	return (true);
}

/*
 * key_of copies the key of an Authorization header into key: 0 none given,
 * 1 a key, 2 something unusable (a garbled or oversized credential).
 */
static int
key_of(const char *auth, char *key, size_t len)
{
	const char	*v;
	char		*colon;

	key[0] = '\0';
	if (auth == NULL)
		return (0);
	if (strncasecmp(auth, "Bearer ", 7) == 0) {
		for (v = auth + 7; *v == ' '; v++)
			;
		if (*v == '\0')
			return (0);
		if (strlen(v) >= len)
			return (2);
		memcpy(key, v, strlen(v) + 1);
		return (1);
	}
	if (strncasecmp(auth, "Basic ", 6) == 0) {
		for (v = auth + 6; *v == ' '; v++)
			;
		if (!base64_decode(v, key, len))
			return (2);
		if ((colon = strchr(key, ':')) != NULL)
			*colon = '\0';
		return (key[0] == '\0' ? 0 : 1);
	}
	return (2);
}

/* key_prefix: a key's well-known prefix ("sk_test_"…), or "". */
static const char *
key_prefix(const char *key)
{
	static const char *const known[] = { "sk_test_", "sk_live_", "rk_test_",
	    "rk_live_", "pk_test_", "pk_live_", NULL };
	int	 i;

	for (i = 0; known[i] != NULL; i++)
		if (strncmp(key, known[i], strlen(known[i])) == 0)
			return (known[i]);
	return ("");
}

static bool
key_shape_ok(const char *key)
{
	const char	*p = key_prefix(key), *s;

	if (*p == '\0' || *p == 'p' || key[strlen(p)] == '\0')
		return (false);
	for (s = key + strlen(p); *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return (false);
	return (true);
}

bool
fs_auth(struct fs_call *c, struct fc_reply *r)
{
	char	 key[512];
	int	 got = key_of(c->authorization, key, sizeof(key));

	if (got == 1 && (c->want_key != NULL ? strcmp(key, c->want_key) == 0 :
	    key_shape_ok(key))) {
		c->livemode = strstr(key_prefix(key), "_live_") != NULL;
		return (true);
	}
	if (got == 0)
		fs_error(r, 401, "invalid_request_error", NULL, NULL,
		    "You did not provide an API key. You need to provide your API "
		    "key in the Authorization header, using Bearer auth (e.g. "
		    "'Authorization: Bearer YOUR_SECRET_KEY'). See "
		    "https://stripe.com/docs/api#authentication for details, or "
		    "we can help at https://support.stripe.com/.");
	else
		fs_error(r, 401, "invalid_request_error", NULL, NULL,
		    "Invalid API Key provided: %s****",
		    got == 1 ? key_prefix(key) : "");
	fc_reply_header(r, "WWW-Authenticate", "Basic realm=\"Stripe\"");
	explicit_bzero(key, sizeof(key));
	return (false);
}

bool
fs_content_type_ok(const struct fs_call *c, size_t body_len, struct fc_reply *r)
{
	static const char	 form[] = "application/x-www-form-urlencoded";
	const char		*ct = c->content_type;

	if (body_len == 0 || (ct != NULL && strncasecmp(ct, form, sizeof(form) - 1) == 0 &&
	    (ct[sizeof(form) - 1] == '\0' || ct[sizeof(form) - 1] == ';' ||
	    ct[sizeof(form) - 1] == ' ')))
		return (true);
	fs_error(r, 400, "invalid_request_error", NULL, NULL,
	    "Invalid request (check that your POST content type is "
	    "application/x-www-form-urlencoded). " SUPPORT);
	return (false);
}

/* ==== parameter checks */

/* match: name against a pattern of checkout_params/portal_params. */
static bool
match(const char *pat, const char *name)
{
	const char	*start;

	for (; *pat != '\0'; pat++) {
		if (*pat == '#') {
			while (isdigit((unsigned char)*name))
				name++;
		} else if (*pat == '*') {
			for (start = name; *name != '\0' && *name != ']' &&
			    *name != '['; name++)
				;
			if (name == start)
				return (false);
		} else if (*name++ != *pat)
			return (false);
	}
	return (*name == '\0');
}

static bool
known_params(const struct fs_call *c, const char *const *known, struct fc_reply *r)
{
	size_t	 i;
	int	 k;

	for (i = 0; i < c->form->n; i++) {
		for (k = 0; known[k] != NULL; k++)
			if (match(known[k], c->form->v[i].name))
				break;
		if (known[k] == NULL) {
			fs_error(r, 400, "invalid_request_error", "parameter_unknown",
			    c->form->v[i].name, "Received unknown parameter: %s",
			    c->form->v[i].name);
			return (false);
		}
	}
	return (true);
}

/* required: the non-empty value of name, or NULL with Stripe's 400 in r. */
static const char *
required(const struct fs_call *c, const char *name, struct fc_reply *r)
{
	const char	*v = fs_form_get(c->form, name);

	if (v == NULL)
		fs_error(r, 400, "invalid_request_error", "parameter_missing", name,
		    "Missing required param: %s.", name);
	else if (*v == '\0') {
		fs_error(r, 400, "invalid_request_error", "parameter_invalid_empty",
		    name, "You passed an empty string for '%s'. We assume empty "
		    "values are an attempt to unset a parameter; however '%s' "
		    "cannot be unset. You should remove '%s' from your request or "
		    "supply a non-empty value.", name, name, name);
		v = NULL;
	}
	return (v);
}

/* url_ok: an absolute http(s) URL with a host, as Stripe requires. */
static bool
url_ok(const struct fs_call *c, const char *name, const char *v, struct fc_reply *r)
{
	const char	*host = NULL;

	if (strncmp(v, "https://", 8) == 0)
		host = v + 8;
	else if (strncmp(v, "http://", 7) == 0)
		host = v + 7;
	(void)c;
	if (host != NULL && *host != '\0' && *host != '/' && strchr(v, ' ') == NULL)
		return (true);
	fs_error(r, 400, "invalid_request_error", "url_invalid", name,
	    "Not a valid URL");
	return (false);
}

static bool
positive_int(const char *name, const char *v, struct fc_reply *r)
{
	const char	*p = v;

	while (isdigit((unsigned char)*p))
		p++;
	if (p != v && *p == '\0' && p - v < 10 && atoi(v) >= 1)
		return (true);
	fs_error(r, 400, "invalid_request_error", "parameter_invalid_integer", name,
	    "Invalid integer: %s", v);
	return (false);
}

static bool
price_ok(const struct fs_call *c, const char *name, const char *v,
    struct fc_reply *r)
{
	int	 i;

	if (c->prices == NULL && strncmp(v, "price_", 6) == 0 && v[6] != '\0')
		return (true);
	for (i = 0; c->prices != NULL && c->prices[i] != NULL; i++)
		if (strcmp(v, c->prices[i]) == 0)
			return (true);
	fs_error(r, 400, "invalid_request_error", "resource_missing", name,
	    "No such price: '%s'", v);
	return (false);
}

static bool
customer_ok(const char *v, struct fc_reply *r)
{
	if (strncmp(v, "cus_", 4) == 0 && v[4] != '\0')
		return (true);
	fs_error(r, 400, "invalid_request_error", "resource_missing", "customer",
	    "No such customer: '%s'", v);
	return (false);
}

/* line_items: every line_items[i] (0 .. the highest i given) has a price and a quantity. */
static bool
line_items(const struct fs_call *c, struct fc_reply *r)
{
	char		 name[64];
	const char	*v;
	long		 max = 0, i;
	size_t		 k;

	for (k = 0; k < c->form->n; k++)
		if (strncmp(c->form->v[k].name, "line_items[", 11) == 0 &&
		    (i = strtol(c->form->v[k].name + 11, NULL, 10)) > max)
			max = i;
	if (max > 99) {
		fs_error(r, 400, "invalid_request_error", NULL, "line_items",
		    "You may only specify up to 100 line items.");
		return (false);
	}
	for (i = 0; i <= max; i++) {
		snprintf(name, sizeof(name), "line_items[%ld][price]", i);
		if ((v = required(c, name, r)) == NULL || !price_ok(c, name, v, r))
			return (false);
		snprintf(name, sizeof(name), "line_items[%ld][quantity]", i);
		if ((v = required(c, name, r)) == NULL || !positive_int(name, v, r))
			return (false);
	}
	return (true);
}

static bool
checkout_validate(const struct fs_call *c, struct fc_reply *r)
{
	const char	*mode, *v, *cus, *email;

	if (!known_params(c, checkout_params, r) ||
	    (mode = required(c, "mode", r)) == NULL)
		return (false);
	if (strcmp(mode, "payment") == 0 || strcmp(mode, "setup") == 0) {
		fs_error(r, 400, "invalid_request_error", NULL, "mode",
		    "You specified `%s` mode but passed a recurring price. Either "
		    "switch to `subscription` mode or use only one-time prices.", mode);
		return (false);
	}
	if (strcmp(mode, "subscription") != 0) {
		fs_error(r, 400, "invalid_request_error", NULL, "mode",
		    "Invalid mode: must be one of payment, setup, or subscription");
		return (false);
	}
	if (!line_items(c, r) ||
	    (v = required(c, "success_url", r)) == NULL ||
	    !url_ok(c, "success_url", v, r) ||
	    (v = required(c, "cancel_url", r)) == NULL ||
	    !url_ok(c, "cancel_url", v, r))
		return (false);
	cus = fs_form_get(c->form, "customer");
	email = fs_form_get(c->form, "customer_email");
	if (cus != NULL && email != NULL) {
		fs_error(r, 400, "invalid_request_error", "parameters_exclusive",
		    "customer_email", "You may only specify one of these parameters: "
		    "customer, customer_email.");
		return (false);
	}
	if (cus != NULL && ((cus = required(c, "customer", r)) == NULL ||
	    !customer_ok(cus, r)))
		return (false);
	if (email != NULL && strchr(email, '@') == NULL) {
		fs_error(r, 400, "invalid_request_error", "email_invalid",
		    "customer_email", "Invalid email address: %s", email);
		return (false);
	}
	if ((v = fs_form_get(c->form, "subscription_data[trial_period_days]")) != NULL &&
	    !positive_int("subscription_data[trial_period_days]", v, r))
		return (false);
	return (true);
}

static bool
portal_validate(const struct fs_call *c, struct fc_reply *r)
{
	const char	*v;

	if (!known_params(c, portal_params, r) ||
	    (v = required(c, "customer", r)) == NULL || !customer_ok(v, r))
		return (false);
	if ((v = fs_form_get(c->form, "return_url")) != NULL &&
	    !url_ok(c, "return_url", v, r))
		return (false);
	return (true);
}

bool
fs_validate(const struct fs_call *c, struct fc_reply *r)
{
	switch (c->endpoint) {
	case FS_CHECKOUT:
		return (checkout_validate(c, r));
	case FS_PORTAL:
		return (portal_validate(c, r));
	default:
		return (true);
	}
}

/* ==== objects */

/* metadata: {key: value} of the form's prefix[key] parameters. */
static json_t *
metadata(const struct fs_form *f, const char *prefix)
{
	json_t	*o = json_object();
	size_t	 i, plen = strlen(prefix), klen;
	char	*key;

	for (i = 0; i < f->n; i++) {
		if (strncmp(f->v[i].name, prefix, plen) != 0)
			continue;
		klen = strlen(f->v[i].name + plen);
		if (klen < 2 || f->v[i].name[plen + klen - 1] != ']' ||
		    memchr(f->v[i].name + plen, ']', klen - 1) != NULL)
			continue;
		if ((key = strndup(f->v[i].name + plen, klen - 1)) == NULL)
			abort();
		/* Stripe: an empty value unsets the key. */
		if (*f->v[i].value == '\0')
			json_object_del(o, key);
		else
			json_object_set_new(o, key, fs_json_text(f->v[i].value));
		free(key);
	}
	return (o);
}

/* object_id: prefix + "test_"/"live_" where Stripe puts it, the counter, random. */
static char *
object_id(const char *prefix, uint64_t seq, size_t nrandom)
{
	char	 p[64];

	snprintf(p, sizeof(p), "%s%06llu", prefix, (unsigned long long)seq);
	return (fs_random_id(p, nrandom));
}

static json_t *
form_str(const struct fs_call *c, const char *name)
{
	const char	*v = fs_form_get(c->form, name);

	return (v != NULL && *v != '\0' ? fs_json_text(v) : json_null());
}

json_t *
fs_checkout_session(const struct fs_call *c, uint64_t seq)
{
	char		*id = object_id(c->livemode ? "cs_live_" : "cs_test_", seq, 24);
	json_int_t	 now = (json_int_t)time(NULL);
	json_t		*o;

	o = json_pack("{s:s, s:s, s:n, s:n, s:n, s:n, s:n, s:o, s:o, s:I, s:n,"
	    " s:o, s:o, s:I, s:b, s:n, s:o, s:s, s:n, s:[s], s:s, s:s, s:n,"
	    " s:o, s:s}",
	    "id", id, "object", "checkout.session", "after_expiration",
	    "allow_promotion_codes", "amount_subtotal", "amount_total",
	    "billing_address_collection",
	    "cancel_url", form_str(c, "cancel_url"),
	    "client_reference_id", form_str(c, "client_reference_id"),
	    "created", now, "currency",
	    "customer", form_str(c, "customer"),
	    "customer_email", form_str(c, "customer_email"),
	    "expires_at", now + 86400, "livemode", c->livemode, "locale",
	    "metadata", metadata(c->form, "metadata["),
	    "mode", "subscription", "payment_intent", "payment_method_types", "card",
	    "payment_status", "unpaid", "status", "open", "subscription",
	    "success_url", form_str(c, "success_url"),
	    "ui_mode", "hosted");
	if (o != NULL) {
		json_object_set_new(o, "url", json_sprintf(
		    "https://checkout.stripe.com/c/pay/%s", id));
	}
	free(id);
	return (o);
}

json_t *
fs_portal_session(const struct fs_call *c, uint64_t seq)
{
	char	*id = object_id("bps_", seq, 18);
	json_t	*o;

	o = json_pack("{s:s, s:s, s:s, s:I, s:o, s:n, s:b, s:n, s:n, s:o}",
	    "id", id, "object", "billing_portal.session",
	    "configuration", "bpc_fakedefault", "created", (json_int_t)time(NULL),
	    "customer", form_str(c, "customer"), "flow", "livemode", c->livemode,
	    "locale", "on_behalf_of", "return_url", form_str(c, "return_url"));
	if (o != NULL)
		json_object_set_new(o, "url", json_sprintf(
		    "https://billing.stripe.com/p/session/%s", id));
	free(id);
	return (o);
}
