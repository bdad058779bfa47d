/*
 * test_x.c — bgworker/src/adapters/x.c: POST /2/tweets and the token
 * refresh, against recorded answers in tests/fixtures/adapters/x/.
 */
#include <string.h>

#include "../../suites.h"
#include "adapter_conf.h"
#include "fixture.h"

static const struct caas_adapter *x;

static const struct adapter_post post = {
	.org_id = "00000000-0000-0000-0000-0000000000a1",
	.post_id = "00000000-0000-0000-0000-0000000000b1",
	.account_id = "00000000-0000-0000-0000-0000000000c1",
	.external_id = "2244994945",
	.handle = "caas_demo",
	.text = "Hello \"world\" \xe2\x9c\x93\n",
	.access_token = "tok-x-access",
	.attempt = 1,
};

static void
setup(void)
{
	x = adapter_find("x");
	ck_assert_ptr_nonnull(x);
}

static void
teardown(void)
{
	adapter_conf_reset();
}

/* classify_fixture runs classify on a recorded answer. */
static void
classify_fixture(const char *name, const struct adapter_post *p,
    struct adapter_result *r)
{
	struct adapter_state	 st;
	struct fixture		 f;

	memset(&st, 0, sizeof(st));
	fixture_load(&f, "x", name);
	x->classify(p, &st, &f.resp, r);
	fixture_free(&f);
}

START_TEST(test_prepare_builds_the_request)
{
	struct adapter_state	 st;
	struct adapter_request	 req;
	struct adapter_result	 r;
	char			 err[128];

	memset(&st, 0, sizeof(st));
	request_init(&req);
	ck_assert_int_eq(adapter_conf_set(x, "base_url", "http://127.0.0.1:8080/",
	    err, sizeof(err)), 0);
	ck_assert_int_eq(x->prepare(&post, &st, &req, &r), ADAPTER_SEND);
	ck_assert_str_eq(req.method, "POST");
	ck_assert_str_eq(req.url, "http://127.0.0.1:8080/2/tweets");
	ck_assert(!req.idempotent);
	ck_assert_str_eq(request_header(&req, "Authorization"), "Bearer tok-x-access");
	ck_assert_str_eq(request_header(&req, "Content-Type"), "application/json");
	ck_assert_str_eq(req.body.data,
	    "{\"text\":\"Hello \\\"world\\\" \xe2\x9c\x93\\n\"}");
	request_cleanup(&req);
}
END_TEST

START_TEST(test_prepare_default_host_and_bad_input)
{
	struct adapter_state	 st;
	struct adapter_request	 req;
	struct adapter_result	 r;
	struct adapter_post	 p = post;

	memset(&st, 0, sizeof(st));
	request_init(&req);
	ck_assert_int_eq(x->prepare(&post, &st, &req, &r), ADAPTER_SEND);
	ck_assert_str_eq(req.url, "https://api.x.com/2/tweets");
	request_cleanup(&req);

	request_init(&req);
	p.access_token = NULL;
	ck_assert_int_eq(x->prepare(&p, &st, &req, &r), ADAPTER_DONE);
	ck_assert_int_eq(r.outcome, ADAPTER_REAUTH);
	request_cleanup(&req);

	request_init(&req);
	p = post;
	p.text = "";
	ck_assert_int_eq(x->prepare(&p, &st, &req, &r), ADAPTER_DONE);
	ck_assert_int_eq(r.outcome, ADAPTER_PERMANENT);
	request_cleanup(&req);
}
END_TEST

START_TEST(test_created)
{
	struct adapter_result	 r;
	struct adapter_post	 p = post;

	classify_fixture("created", &post, &r);
	ck_assert_int_eq(r.outcome, ADAPTER_PUBLISHED);
	ck_assert_str_eq(r.remote_id, "1880000000000000001");
	ck_assert_str_eq(r.remote_url,
	    "https://x.com/caas_demo/status/1880000000000000001");
	p.handle = "";
	classify_fixture("created", &p, &r);
	ck_assert_str_eq(r.remote_url,
	    "https://x.com/i/web/status/1880000000000000001");
	p.handle = "evil/../x";
	classify_fixture("created", &p, &r);
	ck_assert_str_eq(r.remote_url,
	    "https://x.com/i/web/status/1880000000000000001");
}
END_TEST

START_TEST(test_media_is_not_silently_dropped)
{
	struct adapter_result	 r;
	struct adapter_post	 p = post;

	p.media_urls[0] = "https://cdn.example.com/a.jpg";
	p.n_media = 1;
	classify_fixture("created", &p, &r);
	ck_assert_int_eq(r.outcome, ADAPTER_PUBLISHED);
	ck_assert_ptr_nonnull(strstr(r.message, "text only"));
}
END_TEST

START_TEST(test_rate_limited_honours_reset)
{
	struct adapter_result	 r;

	classify_fixture("rate_limited", &post, &r);
	ck_assert_int_eq(r.outcome, ADAPTER_RETRY);
	ck_assert_int_eq(r.retry_after_ms, 900000);	/* reset 15 min from now */
	classify_fixture("rate_limited_retry_after", &post, &r);
	ck_assert_int_eq(r.outcome, ADAPTER_RETRY);
	ck_assert_int_eq(r.retry_after_ms, 120000);
}
END_TEST

START_TEST(test_token_expired)
{
	struct adapter_result	 r;

	classify_fixture("token_expired", &post, &r);
	ck_assert_int_eq(r.outcome, ADAPTER_REAUTH);
}
END_TEST

START_TEST(test_duplicate_is_permanent)
{
	struct adapter_result	 r;

	classify_fixture("duplicate", &post, &r);
	ck_assert_int_eq(r.outcome, ADAPTER_PERMANENT);
	ck_assert_str_eq(r.message, "duplicate content");
}
END_TEST

START_TEST(test_other_refusals_carry_the_detail)
{
	struct adapter_result	 r;

	classify_fixture("forbidden", &post, &r);
	ck_assert_int_eq(r.outcome, ADAPTER_PERMANENT);
	ck_assert_str_eq(r.message,
	    "HTTP 403: You are not permitted to perform this action.");
	classify_fixture("bad_request", &post, &r);
	ck_assert_int_eq(r.outcome, ADAPTER_PERMANENT);
	ck_assert_str_eq(r.message, "HTTP 400: Tweet text is too long");
}
END_TEST

START_TEST(test_garbage_success_is_unknown)
{
	static const char *const names[] = { "malformed", "wrong_types", "garbage" };
	struct adapter_result	 r;
	size_t			 i;

	for (i = 0; i < 3; i++) {
		classify_fixture(names[i], &post, &r);
		ck_assert_msg(r.outcome == ADAPTER_UNKNOWN, "%s", names[i]);
		ck_assert_str_eq(r.remote_id, "");
	}
}
END_TEST

START_TEST(test_server_errors)
{
	struct adapter_result	 r;

	classify_fixture("server_error", &post, &r);
	ck_assert_int_eq(r.outcome, ADAPTER_UNKNOWN);	/* may have been applied */
	classify_fixture("unavailable", &post, &r);
	ck_assert_int_eq(r.outcome, ADAPTER_RETRY);
	ck_assert_int_eq(r.retry_after_ms, 30000);
	/* A window with calls left is not a reason to wait for its reset. */
	classify_fixture("unavailable_window_open", &post, &r);
	ck_assert_int_eq(r.outcome, ADAPTER_RETRY);
	ck_assert_int_eq(r.retry_after_ms, -1);
}
END_TEST

START_TEST(test_no_answer)
{
	struct adapter_state	 st;
	struct adapter_result	 r;
	struct fixture		 f;

	memset(&st, 0, sizeof(st));
	fixture_no_answer(&f, false, false);
	x->classify(&post, &st, &f.resp, &r);
	ck_assert_int_eq(r.outcome, ADAPTER_RETRY);
	fixture_no_answer(&f, true, true);
	x->classify(&post, &st, &f.resp, &r);
	ck_assert_int_eq(r.outcome, ADAPTER_UNKNOWN);
	fixture_free(&f);
}
END_TEST

/* ---- refresh */

static const struct adapter_account acct = {
	.org_id = "00000000-0000-0000-0000-0000000000a1",
	.account_id = "00000000-0000-0000-0000-0000000000c1",
	.external_id = "2244994945",
	.access_token = "tok-x-access-OLD",
	.refresh_token = "tok-x-refresh-OLD",
};

static void
refresh_fixture(const char *name, struct adapter_tokens *t)
{
	struct fixture	 f;

	fixture_load(&f, "x", name);
	x->refresh_classify(&acct, &f.resp, t);
	fixture_free(&f);
}

START_TEST(test_refresh_prepare_public_client)
{
	struct adapter_request	 req;
	struct adapter_tokens	 t;
	char			 err[128];

	request_init(&req);
	ck_assert_int_eq(adapter_conf_set(x, "client_id", "cid 1", err, sizeof(err)), 0);
	ck_assert_int_eq(x->refresh_prepare(&acct, &req, &t), ADAPTER_SEND);
	ck_assert_str_eq(req.method, "POST");
	ck_assert_str_eq(req.url, "https://api.x.com/2/oauth2/token");
	ck_assert_str_eq(req.body.data, "grant_type=refresh_token"
	    "&refresh_token=tok-x-refresh-OLD&client_id=cid%201");
	ck_assert_ptr_null(request_header(&req, "Authorization"));
	request_cleanup(&req);
}
END_TEST

START_TEST(test_refresh_prepare_confidential_client)
{
	struct adapter_request	 req;
	struct adapter_tokens	 t;
	char			 err[128];

	request_init(&req);
	ck_assert_int_eq(adapter_conf_set(x, "client_id", "client", err, sizeof(err)), 0);
	ck_assert_int_eq(adapter_conf_set(x, "client_secret", "secret", err, sizeof(err)), 0);
	ck_assert_int_eq(x->refresh_prepare(&acct, &req, &t), ADAPTER_SEND);
	ck_assert_str_eq(request_header(&req, "Authorization"),
	    "Basic Y2xpZW50OnNlY3JldA==");
	request_cleanup(&req);
}
END_TEST

START_TEST(test_refresh_without_refresh_token)
{
	struct adapter_request	 req;
	struct adapter_tokens	 t;
	struct adapter_account	 a = acct;

	request_init(&req);
	a.refresh_token = NULL;
	ck_assert_int_eq(x->refresh_prepare(&a, &req, &t), ADAPTER_DONE);
	ck_assert_int_eq(t.outcome, ADAPTER_REAUTH);
	request_cleanup(&req);
}
END_TEST

START_TEST(test_refresh_ok_rotates)
{
	struct adapter_tokens	 t;

	refresh_fixture("refresh_ok", &t);
	ck_assert_int_eq(t.outcome, ADAPTER_PUBLISHED);
	ck_assert_str_eq(t.access_token, "tok-x-access-NEW");
	ck_assert_str_eq(t.refresh_token, "tok-x-refresh-NEW");
	ck_assert_int_eq(t.expires_in_s, 7200);
	ck_assert_int_eq(t.refresh_expires_in_s, -1);
}
END_TEST

START_TEST(test_refresh_refused_needs_reauth)
{
	struct adapter_tokens	 t;

	refresh_fixture("refresh_invalid", &t);
	ck_assert_int_eq(t.outcome, ADAPTER_REAUTH);
	ck_assert_str_eq(t.access_token, "");
	refresh_fixture("refresh_invalid_grant", &t);
	ck_assert_int_eq(t.outcome, ADAPTER_REAUTH);
	ck_assert_ptr_null(strstr(t.message, "tok-x-refresh-OLD"));
	refresh_fixture("token_expired", &t);	/* 401 */
	ck_assert_int_eq(t.outcome, ADAPTER_REAUTH);
}
END_TEST

START_TEST(test_refresh_transient)
{
	struct adapter_tokens	 t;
	struct fixture		 f;

	refresh_fixture("refresh_unavailable", &t);
	ck_assert_int_eq(t.outcome, ADAPTER_RETRY);
	refresh_fixture("rate_limited", &t);
	ck_assert_int_eq(t.outcome, ADAPTER_RETRY);
	ck_assert_int_eq(t.retry_after_ms, 900000);
	refresh_fixture("refresh_no_token", &t);	/* 200 with wrong types */
	ck_assert_int_eq(t.outcome, ADAPTER_RETRY);
	refresh_fixture("malformed", &t);
	ck_assert_int_eq(t.outcome, ADAPTER_RETRY);
	fixture_no_answer(&f, true, true);
	x->refresh_classify(&acct, &f.resp, &t);
	ck_assert_int_eq(t.outcome, ADAPTER_RETRY);
	fixture_free(&f);
}
END_TEST

Suite *
x_adapter_suite(void)
{
	Suite	*s = suite_create("adapter_x");
	TCase	*tp = tcase_create("publish");
	TCase	*tr = tcase_create("refresh");

	tcase_add_checked_fixture(tp, setup, teardown);
	tcase_add_test(tp, test_prepare_builds_the_request);
	tcase_add_test(tp, test_prepare_default_host_and_bad_input);
	tcase_add_test(tp, test_created);
	tcase_add_test(tp, test_media_is_not_silently_dropped);
	tcase_add_test(tp, test_rate_limited_honours_reset);
	tcase_add_test(tp, test_token_expired);
	tcase_add_test(tp, test_duplicate_is_permanent);
	tcase_add_test(tp, test_other_refusals_carry_the_detail);
	tcase_add_test(tp, test_garbage_success_is_unknown);
	tcase_add_test(tp, test_server_errors);
	tcase_add_test(tp, test_no_answer);
	suite_add_tcase(s, tp);
	tcase_add_checked_fixture(tr, setup, teardown);
	tcase_add_test(tr, test_refresh_prepare_public_client);
	tcase_add_test(tr, test_refresh_prepare_confidential_client);
	tcase_add_test(tr, test_refresh_without_refresh_token);
	tcase_add_test(tr, test_refresh_ok_rotates);
	tcase_add_test(tr, test_refresh_refused_needs_reauth);
	tcase_add_test(tr, test_refresh_transient);
	suite_add_tcase(s, tr);
	return s;
}
