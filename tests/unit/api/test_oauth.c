/*
 * test_oauth.c — api/src/oauth.c: the PKCE challenge (RFC 7636's own
 * example), authorisation URLs, code exchange and identity requests per
 * platform, and parsing what the platforms answer.  No network: oauth.c
 * only describes requests.
 */
#include <string.h>

#include "../suites.h"
#include "oauth.h"

static struct api_config	 cfg;
static struct oauth_http	 rq;
static struct buf		 out;

static void
setup(void)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.oauth_redirect_base = "https://api.example.com/";
	cfg.x_client_id = "xid";
	cfg.x_authorize_url = "https://x.com/i/oauth2/authorize";
	cfg.x_token_url = "https://api.x.com/2/oauth2/token";
	cfg.x_api_base = "https://api.x.com";
	cfg.linkedin_client_id = "lid";
	cfg.linkedin_client_secret = "l secret&=";
	cfg.linkedin_authorize_url = "https://www.linkedin.com/oauth/v2/authorization";
	cfg.linkedin_token_url = "https://www.linkedin.com/oauth/v2/accessToken";
	cfg.linkedin_api_base = "https://api.linkedin.com/";
	cfg.instagram_app_id = "iid";
	cfg.instagram_app_secret = "isecret";
	cfg.instagram_authorize_url = "https://www.facebook.com/v21.0/dialog/oauth";
	cfg.instagram_graph_base = "https://graph.facebook.com";
	cfg.instagram_api_version = "v21.0";
	oauth_http_init(&rq);
	buf_init(&out);
}

static void
teardown(void)
{
	oauth_http_cleanup(&rq);
	buf_cleanup(&out);
}

static const struct oauth_platform *
platform(const char *name)
{
	const struct oauth_platform	*p = oauth_platform_find(name);

	ck_assert_ptr_nonnull(p);
	return (p);
}

START_TEST(test_pkce_rfc7636_example)
{
	char	c[OAUTH_SECRET_TEXT];

	/* RFC 7636, Appendix B. */
	ck_assert_int_eq(oauth_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
	    c, sizeof(c)), 0);
	ck_assert_str_eq(c, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
	ck_assert_int_eq(oauth_pkce_challenge("v", c, 10), -1);
}
END_TEST

START_TEST(test_platforms)
{
	ck_assert_ptr_null(oauth_platform_find("sandbox"));
	ck_assert_ptr_null(oauth_platform_find("mastodon"));
	ck_assert_ptr_null(oauth_platform_find(NULL));
	ck_assert(oauth_platform_pkce(platform("x")));
	ck_assert(!oauth_platform_pkce(platform("linkedin")));
	ck_assert(!oauth_platform_pkce(platform("instagram")));
	ck_assert_str_eq(oauth_platform_name(platform("linkedin")), "linkedin");
}
END_TEST

START_TEST(test_missing_config)
{
	ck_assert_ptr_null(oauth_missing_config(platform("x"), &cfg));	/* public client */
	cfg.x_client_id = "";
	ck_assert_str_eq(oauth_missing_config(platform("x"), &cfg), "x_client_id");
	cfg.linkedin_client_secret = NULL;
	ck_assert_str_eq(oauth_missing_config(platform("linkedin"), &cfg), "linkedin_client_secret");
	cfg.instagram_app_id = "";
	ck_assert_str_eq(oauth_missing_config(platform("instagram"), &cfg), "instagram_app_id");
}
END_TEST

START_TEST(test_encoding)
{
	ck_assert_int_eq(oauth_append_encoded(&out, "a-Z_0.~ /?&=+%é"), 0);
	ck_assert_str_eq(out.data, "a-Z_0.~%20%2F%3F%26%3D%2B%25%C3%A9");
}
END_TEST

START_TEST(test_redirect_uri)
{
	ck_assert_int_eq(oauth_redirect_uri(platform("x"), &cfg, &out), 0);
	ck_assert_str_eq(out.data, "https://api.example.com/api/v1/oauth/x/callback/");
}
END_TEST

START_TEST(test_authorize_x)
{
	ck_assert_int_eq(oauth_authorize_url(platform("x"), &cfg, "st", NULL, "https://r/", &out), -1);
	buf_cleanup(&out);
	ck_assert_int_eq(oauth_authorize_url(platform("x"), &cfg, "st-1", "ch_2",
	    "https://api.example.com/api/v1/oauth/x/callback/", &out), 0);
	ck_assert_str_eq(out.data, "https://x.com/i/oauth2/authorize?response_type=code"
	    "&client_id=xid"
	    "&redirect_uri=https%3A%2F%2Fapi.example.com%2Fapi%2Fv1%2Foauth%2Fx%2Fcallback%2F"
	    "&scope=tweet.read%20tweet.write%20users.read%20offline.access"
	    "&state=st-1&code_challenge=ch_2&code_challenge_method=S256");
}
END_TEST

START_TEST(test_authorize_linkedin_instagram)
{
	ck_assert_int_eq(oauth_authorize_url(platform("linkedin"), &cfg, "s", "ignored",
	    "https://r/", &out), 0);
	ck_assert_str_eq(out.data, "https://www.linkedin.com/oauth/v2/authorization?response_type=code"
	    "&client_id=lid&redirect_uri=https%3A%2F%2Fr%2F"
	    "&scope=openid%20profile%20w_member_social&state=s");
	buf_cleanup(&out);
	cfg.instagram_authorize_url = "https://fb.example/dialog?display=page";
	ck_assert_int_eq(oauth_authorize_url(platform("instagram"), &cfg, "s", NULL,
	    "https://r/", &out), 0);
	ck_assert_str_eq(out.data, "https://fb.example/dialog?display=page&response_type=code"
	    "&client_id=iid&redirect_uri=https%3A%2F%2Fr%2F"
	    "&scope=instagram_basic%2Cinstagram_content_publish%2Cpages_show_list%2Cpages_read_engagement"
	    "&state=s");
}
END_TEST

START_TEST(test_token_request_x)
{
	ck_assert_int_eq(oauth_token_request(platform("x"), &cfg, "c/1", "ver", "https://r/", &rq), 0);
	ck_assert(rq.post);
	ck_assert_str_eq(rq.url.data, "https://api.x.com/2/oauth2/token");
	ck_assert_str_eq(rq.body.data, "grant_type=authorization_code&code=c%2F1"
	    "&redirect_uri=https%3A%2F%2Fr%2F&client_id=xid&code_verifier=ver");
	ck_assert_ptr_null(rq.basic_user);		/* a public client */
	oauth_http_cleanup(&rq);
	oauth_http_init(&rq);
	cfg.x_client_secret = "xs";
	ck_assert_int_eq(oauth_token_request(platform("x"), &cfg, "c", "v", "https://r/", &rq), 0);
	ck_assert_str_eq(rq.basic_user, "xid");
	ck_assert_str_eq(rq.basic_password, "xs");
	ck_assert_ptr_null(strstr(rq.body.data, "xs"));
}
END_TEST

START_TEST(test_token_request_linkedin_instagram)
{
	ck_assert_int_eq(oauth_token_request(platform("linkedin"), &cfg, "c", "not sent",
	    "https://r/", &rq), 0);
	ck_assert(rq.post);
	ck_assert_str_eq(rq.body.data, "grant_type=authorization_code&code=c"
	    "&redirect_uri=https%3A%2F%2Fr%2F&client_id=lid&client_secret=l%20secret%26%3D");
	ck_assert_ptr_null(rq.basic_user);
	oauth_http_cleanup(&rq);
	oauth_http_init(&rq);
	ck_assert_int_eq(oauth_token_request(platform("instagram"), &cfg, "c", NULL,
	    "https://r/", &rq), 0);
	ck_assert(!rq.post);
	ck_assert_str_eq(rq.url.data, "https://graph.facebook.com/v21.0/oauth/access_token"
	    "?client_id=iid&redirect_uri=https%3A%2F%2Fr%2F&client_secret=isecret&code=c");
}
END_TEST

START_TEST(test_identity_requests)
{
	ck_assert_int_eq(oauth_identity_request(platform("x"), &cfg, "tok", &rq), 0);
	ck_assert(!rq.post);
	ck_assert_str_eq(rq.url.data, "https://api.x.com/2/users/me");
	ck_assert_str_eq(rq.bearer, "tok");
	oauth_http_cleanup(&rq);
	oauth_http_init(&rq);
	ck_assert_int_eq(oauth_identity_request(platform("linkedin"), &cfg, "tok", &rq), 0);
	ck_assert_str_eq(rq.url.data, "https://api.linkedin.com/v2/userinfo");
	oauth_http_cleanup(&rq);
	oauth_http_init(&rq);
	ck_assert_int_eq(oauth_identity_request(platform("instagram"), &cfg, "tok", &rq), 0);
	ck_assert_str_eq(rq.url.data, "https://graph.facebook.com/v21.0/me?fields=id,username");
}
END_TEST

#define J60	"{\"access_token\":\"A\",\"expires_in\":\"60\"}"
#define JERR	"{\"error\":\"invalid_grant\"}"
#define JEMPTY	"{\"access_token\":\"\"}"

START_TEST(test_tokens_parse)
{
	struct oauth_tokens	 t;
	const char		*full = "{\"token_type\":\"bearer\",\"expires_in\":7200,"
	    "\"access_token\":\"A\",\"scope\":\"tweet.read users.read\",\"refresh_token\":\"R\"}";

	ck_assert_int_eq(oauth_tokens_parse(full, strlen(full), &t), 0);
	ck_assert_str_eq(t.access, "A");
	ck_assert_str_eq(t.refresh, "R");
	ck_assert_str_eq(t.scope, "tweet.read users.read");
	ck_assert_int_eq(t.expires_in, 7200);
	oauth_tokens_cleanup(&t);
	ck_assert_ptr_null(t.access);
	ck_assert_int_eq(oauth_tokens_parse(J60, strlen(J60), &t), 0);
	ck_assert_ptr_null(t.refresh);
	ck_assert_int_eq(t.expires_in, 60);
	oauth_tokens_cleanup(&t);
	ck_assert_int_eq(oauth_tokens_parse(JERR, strlen(JERR), &t), -1);
	ck_assert_ptr_null(t.access);
	ck_assert_int_eq(oauth_tokens_parse("<html>", 6, &t), -1);
	ck_assert_int_eq(oauth_tokens_parse(JEMPTY, strlen(JEMPTY), &t), -1);
	ck_assert_int_eq(oauth_tokens_parse("[]", 2, &t), -1);
}
END_TEST

static int
identity(const char *platform_name, const char *json, struct oauth_identity *who)
{
	return (oauth_identity_parse(platform(platform_name), json, strlen(json), who));
}

START_TEST(test_identity_parse)
{
	struct oauth_identity	 who;

	ck_assert_int_eq(identity("x", "{\"data\":{\"id\":\"2244994945\",\"name\":\"X Dev\","
	    "\"username\":\"XDevelopers\"}}", &who), 0);
	ck_assert_str_eq(who.external_id, "2244994945");
	ck_assert_str_eq(who.handle, "XDevelopers");
	ck_assert_str_eq(who.name, "X Dev");
	ck_assert_int_eq(identity("linkedin", "{\"sub\":\"782bbtaQ\",\"name\":\"Ann Lee\"}", &who), 0);
	ck_assert_str_eq(who.external_id, "urn:li:person:782bbtaQ");
	ck_assert_str_eq(who.name, "Ann Lee");
	ck_assert_int_eq(identity("instagram", "{\"id\":17841400000000000,\"username\":\"shop\"}", &who), 0);
	ck_assert_str_eq(who.external_id, "17841400000000000");
	ck_assert_str_eq(who.handle, "shop");
	/* Refused: no id, an id that could break the sealing subject, not JSON. */
	ck_assert_int_eq(identity("x", "{\"id\":\"1\"}", &who), -1);
	ck_assert_int_eq(identity("x", "{\"data\":{\"id\":\"1|2\"}}", &who), -1);
	ck_assert_int_eq(identity("x", "{\"data\":{\"id\":\"\"}}", &who), -1);
	ck_assert_str_eq(who.external_id, "");
	ck_assert_int_eq(identity("linkedin", "{\"errors\":[]}", &who), -1);
	ck_assert_int_eq(identity("instagram", "garbage", &who), -1);
}
END_TEST

Suite *
oauth_suite(void)
{
	Suite	*s = suite_create("oauth");
	TCase	*tc = tcase_create("oauth");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_pkce_rfc7636_example);
	tcase_add_test(tc, test_platforms);
	tcase_add_test(tc, test_missing_config);
	tcase_add_test(tc, test_encoding);
	tcase_add_test(tc, test_redirect_uri);
	tcase_add_test(tc, test_authorize_x);
	tcase_add_test(tc, test_authorize_linkedin_instagram);
	tcase_add_test(tc, test_token_request_x);
	tcase_add_test(tc, test_token_request_linkedin_instagram);
	tcase_add_test(tc, test_identity_requests);
	tcase_add_test(tc, test_tokens_parse);
	tcase_add_test(tc, test_identity_parse);
	suite_add_tcase(s, tc);
	return (s);
}
