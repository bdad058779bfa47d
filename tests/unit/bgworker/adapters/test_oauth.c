/*
 * test_oauth.c — bgworker/src/adapters/oauth.c: a token endpoint's answer
 * to a refresh, shared by the X and LinkedIn adapters (their own tests
 * replay the recorded answers; these cover the edges).
 */
#include <string.h>

#include "../../suites.h"
#include "adapters/common.h"
#include "fixture.h"

static const struct adapter_account acct = {
	.access_token = "tok-acc-OLD", .refresh_token = "tok-x-refresh-OLD",
};

/* answer classifies a 200/400 body built here. */
static void
answer(long status, const char *body, struct adapter_tokens *t)
{
	struct fixture	 f;

	fixture_init(&f);
	f.resp.status = status;
	f.resp.sent = true;
	f.resp.body = body;
	f.resp.body_len = strlen(body);
	adapters_oauth_classify(&f.resp, &acct, t);
}

START_TEST(test_oauth_tokens_never_in_messages)
{
	struct fixture		 f;
	struct adapter_tokens	 tok;

	fixture_load(&f, "x", "refresh_invalid_grant");
	adapters_oauth_classify(&f.resp, &acct, &tok);
	ck_assert_int_eq(tok.outcome, ADAPTER_REAUTH);
	ck_assert_ptr_nonnull(strstr(tok.message, "invalid_grant"));
	ck_assert_ptr_null(strstr(tok.message, "tok-x-refresh-OLD"));
	fixture_free(&f);
}
END_TEST

START_TEST(test_refresh_token_kept_when_none_sent)
{
	struct adapter_tokens	 t;

	answer(200, "{\"access_token\":\"tok-new\",\"expires_in\":3600}", &t);
	ck_assert_int_eq(t.outcome, ADAPTER_PUBLISHED);
	ck_assert_str_eq(t.access_token, "tok-new");
	ck_assert_str_eq(t.refresh_token, "");	/* "" = keep the stored one */
	ck_assert_int_eq(t.expires_in_s, 3600);
	answer(200, "{\"access_token\":\"tok-new\",\"refresh_token\":\"\"}", &t);
	ck_assert_int_eq(t.outcome, ADAPTER_PUBLISHED);
	ck_assert_str_eq(t.refresh_token, "");
}
END_TEST

START_TEST(test_unusable_tokens_are_not_stored)
{
	struct adapter_tokens	 t;
	char			 body[10000];

	answer(200, "{\"access_token\":\"a b\"}", &t);
	ck_assert_int_eq(t.outcome, ADAPTER_RETRY);
	ck_assert_str_eq(t.access_token, "");
	answer(200, "{\"access_token\":\"ok\",\"refresh_token\":\"r\\n1\"}", &t);
	ck_assert_int_eq(t.outcome, ADAPTER_RETRY);
	ck_assert_str_eq(t.access_token, "");	/* all or nothing */
	snprintf(body, sizeof(body), "{\"access_token\":\"%09000d\"}", 0);
	answer(200, body, &t);
	ck_assert_int_eq(t.outcome, ADAPTER_RETRY);	/* longer than the field */
}
END_TEST

START_TEST(test_expiry_bounds)
{
	struct adapter_tokens	 t;

	answer(200, "{\"access_token\":\"a\",\"expires_in\":-5,"
	    "\"refresh_token_expires_in\":\"86400\"}", &t);
	ck_assert_int_eq(t.outcome, ADAPTER_PUBLISHED);
	ck_assert_int_eq(t.expires_in_s, -1);
	ck_assert_int_eq(t.refresh_expires_in_s, 86400);
	answer(200, "{\"access_token\":\"a\",\"expires_in\":99999999999}", &t);
	ck_assert_int_eq(t.expires_in_s, -1);
}
END_TEST

START_TEST(test_statuses)
{
	struct adapter_tokens	 t;

	answer(401, "{\"error\":\"invalid_client\"}", &t);
	ck_assert_int_eq(t.outcome, ADAPTER_REAUTH);
	ck_assert_ptr_nonnull(strstr(t.message, "invalid_client"));
	answer(429, "", &t);
	ck_assert_int_eq(t.outcome, ADAPTER_RETRY);
	answer(502, "<html>", &t);
	ck_assert_int_eq(t.outcome, ADAPTER_RETRY);
	answer(302, "", &t);
	ck_assert_int_eq(t.outcome, ADAPTER_RETRY);
	/* An error text echoing the access token is redacted too. */
	answer(400, "{\"error\":\"invalid_grant\",\"error_description\":"
	    "\"bad tok-acc-OLD\"}", &t);
	ck_assert_ptr_null(strstr(t.message, "tok-acc-OLD"));
}
END_TEST

Suite *
adapters_oauth_suite(void)
{
	Suite	*s = suite_create("adapters_oauth");
	TCase	*tc = tcase_create("refresh_answers");

	tcase_add_test(tc, test_oauth_tokens_never_in_messages);
	tcase_add_test(tc, test_refresh_token_kept_when_none_sent);
	tcase_add_test(tc, test_unusable_tokens_are_not_stored);
	tcase_add_test(tc, test_expiry_bounds);
	tcase_add_test(tc, test_statuses);
	suite_add_tcase(s, tc);
	return s;
}
