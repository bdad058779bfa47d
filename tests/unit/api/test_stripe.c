/*
 * test_stripe.c — api/src/stripe.c: Stripe-Signature verification (good,
 * tampered, wrong secret, rotation with two secrets or two v1s, stale,
 * future, missing, garbled, v0 only), the settings parsers, form encoding,
 * the Checkout and Portal requests, and reading Stripe's answers.  No
 * network: stripe.c only describes requests.  Signatures are computed
 * here with OpenSSL's one-shot HMAC(), apart from stripe.c's EVP_MAC, and
 * one is a fixed vector from `openssl dgst -sha256 -hmac`.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "../suites.h"
#include "stripe.h"

#define NOW	1700000000
#define TOL	300
#define BODY	"{\"id\":\"evt_1\",\"type\":\"invoice.paid\"}"
#define SECRET_A "whsec_test_secret"
#define SECRET_B "whsec_second_secret"
/* printf '%s' '1700000000.BODY' | openssl dgst -sha256 -hmac whsec_test_secret */
#define KNOWN_SIG "46dc069361a7691082640523fa33fe5d6c8c88d5f5e257cdf8cf11539d166595"

static struct stripe_secret	 one[1] = { { SECRET_A, sizeof(SECRET_A) - 1 } };
static struct stripe_secret	 two[2] = {
	{ SECRET_B, sizeof(SECRET_B) - 1 },
	{ SECRET_A, sizeof(SECRET_A) - 1 },
};
static struct buf		 out, url;

/* sig writes hex(HMAC-SHA256(secret, "<t>.<body>")) into hex[65]. */
static void
sig(const char *secret, long long t, const char *body, char hex[65])
{
	unsigned char	 md[32];
	unsigned int	 n = 0;
	char		 msg[4096];
	int		 len, i;

	len = snprintf(msg, sizeof(msg), "%lld.%s", t, body);
	ck_assert_ptr_nonnull(HMAC(EVP_sha256(), secret, (int)strlen(secret),
	    (unsigned char *)msg, (size_t)len, md, &n));
	ck_assert_uint_eq(n, 32);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* header writes "t=<t>,v1=<sig of secret>" into h. */
static const char *
header(char *h, size_t hlen, const char *secret, long long t, const char *body)
{
	char	 hex[65];

	sig(secret, t, body, hex);
	snprintf(h, hlen, "t=%lld,v1=%s", t, hex);
	return (h);
}

static enum stripe_sig_result
verify(const char *h)
{
	return (stripe_verify(h, BODY, strlen(BODY), one, 1, NOW, TOL));
}

static void
setup(void)
{
	buf_init(&out);
	buf_init(&url);
}

static void
teardown(void)
{
	buf_cleanup(&out);
	buf_cleanup(&url);
}

/* ---------------------------------------------------------- signatures */

START_TEST(test_good_signature)
{
	char	 h[256];

	ck_assert_int_eq(verify(header(h, sizeof(h), SECRET_A, NOW, BODY)), STRIPE_SIG_OK);
	ck_assert_int_eq(verify("t=1700000000,v1=" KNOWN_SIG), STRIPE_SIG_OK);
	/* Upper-case hex is the same signature; v0 and unknown schemes are ignored. */
	ck_assert_int_eq(verify("t=1700000000,v1=46DC069361A7691082640523FA33FE5D"
	    "6C8C88D5F5E257CDF8CF11539D166595"), STRIPE_SIG_OK);
	ck_assert_int_eq(verify("v0=abc,t=1700000000,v2=zz,v1=" KNOWN_SIG), STRIPE_SIG_OK);
	/* An empty body is signed too. */
	header(h, sizeof(h), SECRET_A, NOW, "");
	ck_assert_int_eq(stripe_verify(h, NULL, 0, one, 1, NOW, TOL), STRIPE_SIG_OK);
}
END_TEST

START_TEST(test_tampered_body)
{
	char	 h[256];
	char	 body[] = BODY;

	header(h, sizeof(h), SECRET_A, NOW, BODY);
	body[8] = '2';		/* evt_1 -> evt_2 */
	ck_assert_int_eq(stripe_verify(h, body, strlen(body), one, 1, NOW, TOL),
	    STRIPE_SIG_MISMATCH);
	/* One byte more or less. */
	ck_assert_int_eq(stripe_verify(h, BODY, strlen(BODY) - 1, one, 1, NOW, TOL),
	    STRIPE_SIG_MISMATCH);
	ck_assert_int_eq(stripe_verify(h, BODY " ", strlen(BODY) + 1, one, 1, NOW, TOL),
	    STRIPE_SIG_MISMATCH);
	/* The timestamp is signed: another t with the same v1 fails. */
	ck_assert_int_eq(verify("t=1700000001,v1=" KNOWN_SIG), STRIPE_SIG_MISMATCH);
	/* So is the exact t text: leading zero. */
	ck_assert_int_eq(verify("t=01700000000,v1=" KNOWN_SIG), STRIPE_SIG_MISMATCH);
}
END_TEST

START_TEST(test_wrong_secret)
{
	char	 h[256];

	ck_assert_int_eq(verify(header(h, sizeof(h), "whsec_other", NOW, BODY)),
	    STRIPE_SIG_MISMATCH);
	/* No secrets at all: nothing can match. */
	ck_assert_int_eq(stripe_verify(h, BODY, strlen(BODY), one, 0, NOW, TOL),
	    STRIPE_SIG_MISMATCH);
	/* A secret differing in its last byte. */
	ck_assert_int_eq(verify(header(h, sizeof(h), "whsec_test_secreu", NOW, BODY)),
	    STRIPE_SIG_MISMATCH);
}
END_TEST

START_TEST(test_second_secret_matches)
{
	char	 h[256];

	/* Signed with the second of the configured secrets (rotation). */
	header(h, sizeof(h), SECRET_A, NOW, BODY);
	ck_assert_int_eq(stripe_verify(h, BODY, strlen(BODY), two, 2, NOW, TOL), STRIPE_SIG_OK);
	header(h, sizeof(h), SECRET_B, NOW, BODY);
	ck_assert_int_eq(stripe_verify(h, BODY, strlen(BODY), two, 2, NOW, TOL), STRIPE_SIG_OK);
	ck_assert_int_eq(stripe_verify(h, BODY, strlen(BODY), one, 1, NOW, TOL),
	    STRIPE_SIG_MISMATCH);
}
END_TEST

START_TEST(test_second_v1_matches)
{
	char	 h[512], good[65], bad[65];

	sig(SECRET_A, NOW, BODY, good);
	sig("whsec_old", NOW, BODY, bad);
	snprintf(h, sizeof(h), "t=%d,v1=%s,v1=%s", NOW, bad, good);
	ck_assert_int_eq(verify(h), STRIPE_SIG_OK);
	snprintf(h, sizeof(h), "t=%d,v1=%s,v0=%s,v1=%s", NOW, bad, bad, bad);
	ck_assert_int_eq(verify(h), STRIPE_SIG_MISMATCH);
}
END_TEST

START_TEST(test_stale)
{
	char	 h[256];

	ck_assert_int_eq(verify(header(h, sizeof(h), SECRET_A, NOW - TOL, BODY)), STRIPE_SIG_OK);
	ck_assert_int_eq(verify(header(h, sizeof(h), SECRET_A, NOW - TOL - 1, BODY)),
	    STRIPE_SIG_STALE);
	ck_assert_int_eq(verify(header(h, sizeof(h), SECRET_A, 0, BODY)), STRIPE_SIG_STALE);
	/* The tolerance is the caller's. */
	ck_assert_int_eq(stripe_verify(h, BODY, strlen(BODY), one, 1, NOW, NOW), STRIPE_SIG_OK);
	/* A stale header with a wrong signature says mismatch, not stale. */
	ck_assert_int_eq(verify(header(h, sizeof(h), "whsec_x", NOW - 3600, BODY)),
	    STRIPE_SIG_MISMATCH);
}
END_TEST

START_TEST(test_future)
{
	char	 h[256];

	ck_assert_int_eq(verify(header(h, sizeof(h), SECRET_A, NOW + TOL, BODY)), STRIPE_SIG_OK);
	ck_assert_int_eq(verify(header(h, sizeof(h), SECRET_A, NOW + TOL + 1, BODY)),
	    STRIPE_SIG_FUTURE);
	ck_assert_int_eq(verify(header(h, sizeof(h), SECRET_A, 999999999999LL, BODY)),
	    STRIPE_SIG_FUTURE);
}
END_TEST

START_TEST(test_missing)
{
	ck_assert_int_eq(verify(NULL), STRIPE_SIG_MISSING);
}
END_TEST

START_TEST(test_garbled)
{
	static const char *const bad[] = {
		"",					/* empty */
		"v1=" KNOWN_SIG,			/* no t */
		"t=abc,v1=" KNOWN_SIG,			/* t not a number */
		"t=-1700000000,v1=" KNOWN_SIG,
		"t=1700000000.5,v1=" KNOWN_SIG,
		"t=,v1=" KNOWN_SIG,
		"t=1234567890123,v1=" KNOWN_SIG,	/* 13 digits */
		"t=1700000000,t=1700000000,v1=" KNOWN_SIG,	/* t twice */
		"t=1700000000,v1=" KNOWN_SIG ",",	/* trailing comma */
		",t=1700000000,v1=" KNOWN_SIG,
		"t=1700000000,,v1=" KNOWN_SIG,
		"t=1700000000, v1=" KNOWN_SIG,		/* blank */
		"t=1700000000,v1=" KNOWN_SIG " ",
		"t = 1700000000,v1=" KNOWN_SIG,
		"t=1700000000;v1=" KNOWN_SIG,
		"t=1700000000,v1",			/* no '=' */
		"t=1700000000,=abc",
		"t=1700000000,V1=" KNOWN_SIG,		/* keys are lower case */
		"t=1700000000,v1=" KNOWN_SIG "0",	/* 65 hex digits */
		"t=1700000000,v1=46dc",			/* short */
		"t=1700000000,v1=g6dc069361a7691082640523fa33fe5d6c8c88d5f5e257cdf8cf11539d166595",
		"t=1700000000,v1=" KNOWN_SIG "=",
		"t=1700000000,v1=\xc3\xa9" KNOWN_SIG,
		"garbage",
		NULL
	};
	char	 h[STRIPE_SIG_HEADER_MAX + 64];
	int	 i;

	for (i = 0; bad[i] != NULL; i++)
		ck_assert_msg(verify(bad[i]) == STRIPE_SIG_MALFORMED, "header %d: \"%s\"", i, bad[i]);

	/* No v1 at all: t alone, or v0 only. */
	ck_assert_int_eq(verify("t=1700000000"), STRIPE_SIG_NO_V1);
	ck_assert_int_eq(verify("t=1700000000,v0=" KNOWN_SIG), STRIPE_SIG_NO_V1);

	/* Huge: past STRIPE_SIG_HEADER_MAX, even with a good signature in it. */
	snprintf(h, sizeof(h), "t=1700000000,v1=" KNOWN_SIG);
	while (strlen(h) <= STRIPE_SIG_HEADER_MAX)
		strcat(h, ",v0=0");
	ck_assert_int_eq(verify(h), STRIPE_SIG_MALFORMED);

	/* Too many v1 (STRIPE_SIG_V1_MAX + 1), the good one last. */
	snprintf(h, sizeof(h), "t=1700000000");
	for (i = 0; i < STRIPE_SIG_V1_MAX; i++)
		strcat(h, ",v1=0000000000000000000000000000000000000000000000000000000000000000");
	ck_assert_int_eq(verify(h), STRIPE_SIG_MISMATCH);
	strcat(h, ",v1=" KNOWN_SIG);
	ck_assert_int_eq(verify(h), STRIPE_SIG_MALFORMED);

	/* Too many items. */
	snprintf(h, sizeof(h), "t=1700000000,v1=" KNOWN_SIG);
	for (i = 0; i < STRIPE_SIG_ITEMS_MAX; i++)
		strcat(h, ",x=1");
	ck_assert_int_eq(verify(h), STRIPE_SIG_MALFORMED);
}
END_TEST

START_TEST(test_reasons)
{
	int	 r;

	ck_assert_str_eq(stripe_sig_reason(STRIPE_SIG_MISSING), "missing Stripe-Signature header");
	ck_assert_str_eq(stripe_sig_reason(STRIPE_SIG_MISMATCH), "no matching signature");
	ck_assert_ptr_nonnull(strstr(stripe_sig_reason(STRIPE_SIG_STALE), "tolerance"));
	ck_assert_ptr_nonnull(strstr(stripe_sig_reason(STRIPE_SIG_FUTURE), "future"));
	ck_assert_ptr_nonnull(strstr(stripe_sig_reason(STRIPE_SIG_NO_V1), "v1"));
	ck_assert_ptr_nonnull(strstr(stripe_sig_reason(STRIPE_SIG_MALFORMED), "malformed"));
	for (r = STRIPE_SIG_OK; r <= STRIPE_SIG_MISMATCH; r++)
		ck_assert_ptr_null(strstr(stripe_sig_reason(r), "whsec"));
}
END_TEST

/* ------------------------------------------------------------ settings */

START_TEST(test_secrets_parse)
{
	struct stripe_secret	 s[STRIPE_SECRETS_MAX];
	char			 err[128], many[256];
	size_t			 n = 99;
	int			 i;

	ck_assert_int_eq(stripe_secrets_parse("", s, STRIPE_SECRETS_MAX, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(stripe_secrets_parse(NULL, s, STRIPE_SECRETS_MAX, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(stripe_secrets_parse(" whsec_a , whsec_b", s, STRIPE_SECRETS_MAX, &n,
	    err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(s[0].len, 7);
	ck_assert_int_eq(memcmp(s[0].key, "whsec_a", 7), 0);
	ck_assert_uint_eq(s[1].len, 7);
	ck_assert_int_eq(memcmp(s[1].key, "whsec_b", 7), 0);
	ck_assert_int_eq(stripe_secrets_parse("whsec_a,,whsec_b", s, STRIPE_SECRETS_MAX, &n,
	    err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "entry 2"));
	ck_assert_ptr_null(strstr(err, "whsec"));
	ck_assert_int_eq(stripe_secrets_parse("whsec_a,", s, STRIPE_SECRETS_MAX, &n,
	    err, sizeof(err)), -1);
	many[0] = '\0';
	for (i = 0; i <= STRIPE_SECRETS_MAX; i++)
		strcat(many, i > 0 ? ",whsec_x" : "whsec_x");
	ck_assert_int_eq(stripe_secrets_parse(many, s, STRIPE_SECRETS_MAX, &n, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "more than 8"));
}
END_TEST

START_TEST(test_prices_parse)
{
	char	 err[256];

	ck_assert_int_eq(stripe_prices_parse("", &out, err, sizeof(err)), 0);
	ck_assert_str_eq(out.data, "{}");
	buf_cleanup(&out);
	ck_assert_int_eq(stripe_prices_parse(" pro:price_1Pro , team : price_Team2 ", &out,
	    err, sizeof(err)), 2);
	ck_assert_str_eq(out.data, "{\"pro\":\"price_1Pro\",\"team\":\"price_Team2\"}");
	buf_cleanup(&out);
	ck_assert_int_eq(stripe_prices_parse("pro:", &out, err, sizeof(err)), 1);
	ck_assert_str_eq(out.data, "{\"pro\":\"\"}");
	buf_cleanup(&out);

	ck_assert_int_eq(stripe_prices_parse("pro", &out, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "item 1: expected plan:price_"));
	ck_assert_int_eq(out.len, 0);
	ck_assert_int_eq(stripe_prices_parse("pro:price_1,Team:price_2", &out, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "item 2: a plan id"));
	ck_assert_int_eq(stripe_prices_parse("pro:prod_1", &out, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "item 1 (plan pro): a price id"));
	ck_assert_int_eq(stripe_prices_parse("pro:price_", &out, err, sizeof(err)), -1);
	ck_assert_int_eq(stripe_prices_parse("pro:price_a-b", &out, err, sizeof(err)), -1);
	ck_assert_int_eq(stripe_prices_parse("pro:price_\"x", &out, err, sizeof(err)), -1);
	ck_assert_int_eq(stripe_prices_parse("pro:price_1,pro:price_2", &out, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "item 2: plan pro is listed twice"));
	ck_assert_int_eq(stripe_prices_parse(" pro :price_1, pro:price_2", &out, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "listed twice"));
	/* "pro" is not mistaken for a duplicate of "propro". */
	ck_assert_int_eq(stripe_prices_parse("propro:price_1,pro:price_2", &out, err, sizeof(err)), 2);
	buf_cleanup(&out);
	ck_assert_int_eq(stripe_prices_parse("pro:price_1,", &out, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "item 2 is empty"));
	ck_assert_int_eq(stripe_prices_parse("pro:price_1,,team:price_2", &out, err, sizeof(err)), -1);
	ck_assert_int_eq(out.len, 0);
}
END_TEST

/* ------------------------------------------------------------ requests */

START_TEST(test_form_encoding)
{
	ck_assert_int_eq(stripe_form_add(&out, "line_items[0][price]", "price_1"), 0);
	ck_assert_int_eq(stripe_form_add(&out, "skip", NULL), 0);
	ck_assert_int_eq(stripe_form_add(&out, "success_url",
	    "https://a.example/ok?session_id={CHECKOUT_SESSION_ID}&x=1 2"), 0);
	ck_assert_int_eq(stripe_form_add(&out, "customer_email", "a+b@example.com"), 0);
	ck_assert_int_eq(stripe_form_add(&out, "name", "Zo\xc3\xab ~-._"), 0);
	ck_assert_str_eq(out.data,
	    "line_items%5B0%5D%5Bprice%5D=price_1"
	    "&success_url=https%3A%2F%2Fa.example%2Fok%3Fsession_id%3D%7BCHECKOUT_SESSION_ID%7D%26x%3D1%202"
	    "&customer_email=a%2Bb%40example.com"
	    "&name=Zo%C3%AB%20~-._");
	buf_cleanup(&out);
	ck_assert_int_eq(stripe_form_add(&out, "empty", ""), 0);
	ck_assert_str_eq(out.data, "empty=");
}
END_TEST

START_TEST(test_checkout_request)
{
	struct stripe_checkout	 c = {
		"0b9c3a1e-5f4d-4c2b-9a8e-7d6c5b4a3f21", "pro", "price_1Pro",
		"https://app.example/ok", "https://app.example/billing", NULL, "o@example.com"
	};

	ck_assert_int_eq(stripe_checkout_request("http://127.0.0.1:9/", &c, &url, &out), 0);
	ck_assert_str_eq(url.data, "http://127.0.0.1:9/v1/checkout/sessions");
	ck_assert_str_eq(out.data,
	    "mode=subscription&line_items%5B0%5D%5Bprice%5D=price_1Pro"
	    "&line_items%5B0%5D%5Bquantity%5D=1"
	    "&success_url=https%3A%2F%2Fapp.example%2Fok"
	    "&cancel_url=https%3A%2F%2Fapp.example%2Fbilling"
	    "&client_reference_id=0b9c3a1e-5f4d-4c2b-9a8e-7d6c5b4a3f21"
	    "&metadata%5Borg_id%5D=0b9c3a1e-5f4d-4c2b-9a8e-7d6c5b4a3f21"
	    "&metadata%5Bplan%5D=pro"
	    "&subscription_data%5Bmetadata%5D%5Borg_id%5D=0b9c3a1e-5f4d-4c2b-9a8e-7d6c5b4a3f21"
	    "&subscription_data%5Bmetadata%5D%5Bplan%5D=pro"
	    "&customer_email=o%40example.com");
	buf_cleanup(&out);
	buf_cleanup(&url);
	/* A known customer wins over the e-mail. */
	c.customer_id = "cus_123";
	ck_assert_int_eq(stripe_checkout_request("https://api.stripe.com", &c, &url, &out), 0);
	ck_assert_str_eq(url.data, "https://api.stripe.com/v1/checkout/sessions");
	ck_assert_ptr_nonnull(strstr(out.data, "&customer=cus_123"));
	ck_assert_ptr_null(strstr(out.data, "customer_email"));
}
END_TEST

START_TEST(test_portal_request)
{
	ck_assert_int_eq(stripe_portal_request("https://api.stripe.com", "cus_123",
	    "https://app.example/billing", &url, &out), 0);
	ck_assert_str_eq(url.data, "https://api.stripe.com/v1/billing_portal/sessions");
	ck_assert_str_eq(out.data, "customer=cus_123&return_url=https%3A%2F%2Fapp.example%2Fbilling");
}
END_TEST

/* ------------------------------------------------------------- answers */

START_TEST(test_url_ok)
{
	ck_assert(stripe_url_ok("https://app.example/ok?session_id={CHECKOUT_SESSION_ID}"));
	ck_assert(stripe_url_ok("http://localhost:3000"));
	ck_assert(stripe_url_ok("HTTPS://APP.EXAMPLE/"));
	ck_assert(!stripe_url_ok(NULL));
	ck_assert(!stripe_url_ok(""));
	ck_assert(!stripe_url_ok("/relative"));
	ck_assert(!stripe_url_ok("https://"));
	ck_assert(!stripe_url_ok("https:///path"));
	ck_assert(!stripe_url_ok("javascript:alert(1)"));
	ck_assert(!stripe_url_ok("ftp://example.com/"));
	ck_assert(!stripe_url_ok("https://a.example/a b"));
	ck_assert(!stripe_url_ok("https://a.example/\r\nX: y"));
	ck_assert(!stripe_url_ok("https://a.example/\xc3\xa9"));
}
END_TEST

#define SP(s)	stripe_session_parse((s), strlen(s), id, u)

START_TEST(test_session_parse)
{
	static const char	 ok[] =
	    "{\"id\":\"cs_test_a1\",\"object\":\"checkout.session\","
	    "\"url\":\"https://checkout.stripe.com/c/pay/cs_test_a1\"}";
	char			 id[STRIPE_ID_MAX], u[STRIPE_URL_MAX];

	ck_assert_int_eq(stripe_session_parse(ok, strlen(ok), id, u), 0);
	ck_assert_str_eq(id, "cs_test_a1");
	ck_assert_str_eq(u, "https://checkout.stripe.com/c/pay/cs_test_a1");
	ck_assert_int_eq(SP("{\"id\":\"cs_1\"}"), -1);
	ck_assert_str_eq(id, "");
	ck_assert_int_eq(SP("{\"id\":\"cs_1\",\"url\":null}"), -1);
	ck_assert_int_eq(SP("{\"id\":\"cs 1\",\"url\":\"https://x.example\"}"), -1);
	ck_assert_int_eq(SP("{\"id\":\"cs_1\",\"url\":\"javascript:x\"}"), -1);
	ck_assert_int_eq(SP("not json"), -1);
	ck_assert_int_eq(stripe_session_parse(NULL, 0, id, u), -1);
}
END_TEST

#define EM(s)	stripe_error_message((s), strlen(s), m)

START_TEST(test_error_message)
{
	char	 m[STRIPE_MESSAGE_MAX], body[2048];
	int	 i;

	ck_assert_int_eq(EM("{\"error\":{\"type\":\"invalid_request_error\","
	    "\"message\":\"No such price: 'price_x'\"}}"), 0);
	ck_assert_str_eq(m, "No such price: 'price_x'");
	ck_assert_int_eq(EM("{\"error\":{\"message\":\"Invalid API Key "
	    "provided: sk_test_****1234. Or whsec_abc, rk_live_x\\nnext\"}}"), 0);
	ck_assert_str_eq(m, "Invalid API Key provided: [redacted]. Or [redacted], [redacted] next");
	/* A word merely containing the prefix is not a key. */
	ck_assert_int_eq(EM("{\"error\":{\"message\":\"task_sk_1\"}}"), 0);
	ck_assert_str_eq(m, "task_sk_1");
	ck_assert_int_eq(EM("{\"error\":{}}"), -1);
	ck_assert_str_eq(m, "");
	ck_assert_int_eq(EM("<html>"), -1);
	ck_assert_int_eq(stripe_error_message(NULL, 0, m), -1);
	/* Cut short at a character boundary: 600 x "é" (2 bytes each). */
	strcpy(body, "{\"error\":{\"message\":\"");
	for (i = 0; i < 600; i++)
		strcat(body, "\xc3\xa9");
	strcat(body, "\"}}");
	ck_assert_int_eq(stripe_error_message(body, strlen(body), m), 0);
	ck_assert_uint_eq(strlen(m), STRIPE_MESSAGE_MAX - 2);
	ck_assert(buf_utf8_valid(m, strlen(m)));
}
END_TEST

Suite *
stripe_suite(void)
{
	Suite	*s = suite_create("stripe");
	TCase	*sigs = tcase_create("signature");
	TCase	*rest = tcase_create("requests");

	tcase_add_test(sigs, test_good_signature);
	tcase_add_test(sigs, test_tampered_body);
	tcase_add_test(sigs, test_wrong_secret);
	tcase_add_test(sigs, test_second_secret_matches);
	tcase_add_test(sigs, test_second_v1_matches);
	tcase_add_test(sigs, test_stale);
	tcase_add_test(sigs, test_future);
	tcase_add_test(sigs, test_missing);
	tcase_add_test(sigs, test_garbled);
	tcase_add_test(sigs, test_reasons);
	suite_add_tcase(s, sigs);

	tcase_add_checked_fixture(rest, setup, teardown);
	tcase_add_test(rest, test_secrets_parse);
	tcase_add_test(rest, test_prices_parse);
	tcase_add_test(rest, test_form_encoding);
	tcase_add_test(rest, test_checkout_request);
	tcase_add_test(rest, test_portal_request);
	tcase_add_test(rest, test_url_ok);
	tcase_add_test(rest, test_session_parse);
	tcase_add_test(rest, test_error_message);
	suite_add_tcase(s, rest);
	return s;
}
