/*
 * test_linkedin.c — bgworker/src/adapters/linkedin.c: POST /rest/posts,
 * the little-text-format escaping and the token refresh, against recorded
 * answers in tests/fixtures/adapters/linkedin/.
 */
#include <string.h>

#include <jansson.h>

#include "../../suites.h"
#include "adapter_conf.h"
#include "fixture.h"

static const struct caas_adapter *li;

static const struct adapter_post post = {
	.org_id = "00000000-0000-0000-0000-0000000000a1",
	.post_id = "00000000-0000-0000-0000-0000000000b2",
	.account_id = "00000000-0000-0000-0000-0000000000c2",
	.external_id = "urn:li:person:8675309",
	.handle = "",
	.text = "Launch (v2) #news @team [x] {y} <z> *b* _i_ ~s~ | \\ done",
	.access_token = "tok-li-access",
	.attempt = 1,
};

static void
setup(void)
{
	li = adapter_find("linkedin");
	ck_assert_ptr_nonnull(li);
}

static void
teardown(void)
{
	adapter_conf_reset();
}

static void
classify_fixture(const char *name, struct adapter_result *r)
{
	struct adapter_state	 st;
	struct fixture		 f;

	memset(&st, 0, sizeof(st));
	fixture_load(&f, "linkedin", name);
	li->classify(&post, &st, &f.resp, r);
	fixture_free(&f);
}

/* prepare_json runs prepare for p and parses the body it built. */
static json_t *
prepare_json(const struct adapter_post *p, struct adapter_request *req)
{
	struct adapter_state	 st;
	struct adapter_result	 r;
	json_error_t		 e;
	json_t			*j;

	memset(&st, 0, sizeof(st));
	request_init(req);
	ck_assert_int_eq(li->prepare(p, &st, req, &r), ADAPTER_SEND);
	j = json_loadb(req->body.data, req->body.len, 0, &e);
	ck_assert_msg(j != NULL, "body is not JSON: %s", e.text);
	return (j);
}

START_TEST(test_prepare_builds_the_request)
{
	struct adapter_request	 req;
	json_t			*j = prepare_json(&post, &req);

	ck_assert_str_eq(req.method, "POST");
	ck_assert_str_eq(req.url, "https://api.linkedin.com/rest/posts");
	ck_assert_str_eq(request_header(&req, "Authorization"), "Bearer tok-li-access");
	ck_assert_str_eq(request_header(&req, "LinkedIn-Version"), "202601");
	ck_assert_str_eq(request_header(&req, "X-Restli-Protocol-Version"), "2.0.0");
	ck_assert_str_eq(request_header(&req, "Content-Type"), "application/json");
	ck_assert_str_eq(json_string_value(json_object_get(j, "author")),
	    "urn:li:person:8675309");
	ck_assert_str_eq(json_string_value(json_object_get(j, "visibility")), "PUBLIC");
	ck_assert_str_eq(json_string_value(json_object_get(j, "lifecycleState")),
	    "PUBLISHED");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j,
	    "distribution"), "feedDistribution")), "MAIN_FEED");
	json_decref(j);
	request_cleanup(&req);
}
END_TEST

START_TEST(test_commentary_is_escaped)
{
	struct adapter_request	 req;
	json_t			*j = prepare_json(&post, &req);

	ck_assert_str_eq(json_string_value(json_object_get(j, "commentary")),
	    "Launch \\(v2\\) \\#news \\@team \\[x\\] \\{y\\} \\<z\\> \\*b\\* "
	    "\\_i\\_ \\~s\\~ \\| \\\\ done");
	json_decref(j);
	request_cleanup(&req);
}
END_TEST

START_TEST(test_version_and_bare_member_id)
{
	struct adapter_request	 req;
	struct adapter_post	 p = post;
	char			 err[128];
	json_t			*j;

	ck_assert_int_eq(adapter_conf_set(li, "version", "202607", err, sizeof(err)), 0);
	p.external_id = "8675309";
	j = prepare_json(&p, &req);
	ck_assert_str_eq(request_header(&req, "LinkedIn-Version"), "202607");
	ck_assert_str_eq(json_string_value(json_object_get(j, "author")),
	    "urn:li:person:8675309");
	json_decref(j);
	request_cleanup(&req);
}
END_TEST

START_TEST(test_prepare_refuses_bad_author)
{
	struct adapter_state	 st;
	struct adapter_request	 req;
	struct adapter_result	 r;
	struct adapter_post	 p = post;

	memset(&st, 0, sizeof(st));
	request_init(&req);
	p.external_id = "urn:li:person:1\", \"x\": \"y";
	ck_assert_int_eq(li->prepare(&p, &st, &req, &r), ADAPTER_DONE);
	ck_assert_int_eq(r.outcome, ADAPTER_PERMANENT);
	p.external_id = NULL;
	ck_assert_int_eq(li->prepare(&p, &st, &req, &r), ADAPTER_DONE);
	ck_assert_int_eq(r.outcome, ADAPTER_PERMANENT);
	request_cleanup(&req);
}
END_TEST

START_TEST(test_created)
{
	struct adapter_result	 r;

	classify_fixture("created", &r);
	ck_assert_int_eq(r.outcome, ADAPTER_PUBLISHED);
	ck_assert_str_eq(r.remote_id, "urn:li:share:7280000000000000001");
	ck_assert_str_eq(r.remote_url,
	    "https://www.linkedin.com/feed/update/urn:li:share:7280000000000000001/");
}
END_TEST

START_TEST(test_created_without_a_usable_id_is_unknown)
{
	struct adapter_result	 r;

	classify_fixture("created_no_id", &r);
	ck_assert_int_eq(r.outcome, ADAPTER_UNKNOWN);
	classify_fixture("created_bad_id", &r);
	ck_assert_int_eq(r.outcome, ADAPTER_UNKNOWN);
	ck_assert_str_eq(r.remote_url, "");
}
END_TEST

START_TEST(test_duplicate_is_permanent)
{
	struct adapter_result	 r;

	classify_fixture("duplicate", &r);
	ck_assert_int_eq(r.outcome, ADAPTER_PERMANENT);
	ck_assert_str_eq(r.message, "duplicate content");
}
END_TEST

START_TEST(test_refusals)
{
	struct adapter_result	 r;

	classify_fixture("unprocessable", &r);
	ck_assert_int_eq(r.outcome, ADAPTER_PERMANENT);
	ck_assert_ptr_nonnull(strstr(r.message, "field is required"));
	classify_fixture("forbidden", &r);
	ck_assert_int_eq(r.outcome, ADAPTER_PERMANENT);
	classify_fixture("malformed", &r);	/* truncated 422 */
	ck_assert_int_eq(r.outcome, ADAPTER_PERMANENT);
	classify_fixture("token_expired", &r);
	ck_assert_int_eq(r.outcome, ADAPTER_REAUTH);
}
END_TEST

START_TEST(test_rate_limited_and_server_errors)
{
	struct adapter_result	 r;

	classify_fixture("rate_limited", &r);
	ck_assert_int_eq(r.outcome, ADAPTER_RETRY);
	ck_assert_int_eq(r.retry_after_ms, -1);	/* LinkedIn sends no hint */
	classify_fixture("unavailable", &r);
	ck_assert_int_eq(r.outcome, ADAPTER_RETRY);
	classify_fixture("server_error", &r);
	ck_assert_int_eq(r.outcome, ADAPTER_UNKNOWN);
}
END_TEST

START_TEST(test_no_answer)
{
	struct adapter_state	 st;
	struct adapter_result	 r;
	struct fixture		 f;

	memset(&st, 0, sizeof(st));
	fixture_no_answer(&f, false, false);
	li->classify(&post, &st, &f.resp, &r);
	ck_assert_int_eq(r.outcome, ADAPTER_RETRY);
	fixture_no_answer(&f, true, false);
	li->classify(&post, &st, &f.resp, &r);
	ck_assert_int_eq(r.outcome, ADAPTER_UNKNOWN);
	fixture_free(&f);
}
END_TEST

/* ---- refresh */

static const struct adapter_account acct = {
	.account_id = "00000000-0000-0000-0000-0000000000c2",
	.external_id = "urn:li:person:8675309",
	.access_token = "tok-li-access-OLD",
	.refresh_token = "tok-li-refresh-OLD",
};

START_TEST(test_refresh_prepare)
{
	struct adapter_request	 req;
	struct adapter_tokens	 t;
	char			 err[128];

	request_init(&req);
	ck_assert_int_eq(adapter_conf_set(li, "client_id", "cid", err, sizeof(err)), 0);
	ck_assert_int_eq(adapter_conf_set(li, "client_secret", "s&s", err, sizeof(err)), 0);
	ck_assert_int_eq(li->refresh_prepare(&acct, &req, &t), ADAPTER_SEND);
	ck_assert_str_eq(req.url, "https://www.linkedin.com/oauth/v2/accessToken");
	ck_assert_str_eq(req.body.data, "grant_type=refresh_token"
	    "&refresh_token=tok-li-refresh-OLD&client_id=cid&client_secret=s%26s");
	request_cleanup(&req);
}
END_TEST

START_TEST(test_refresh_classify)
{
	struct adapter_tokens	 t;
	struct fixture		 f;

	fixture_load(&f, "linkedin", "refresh_ok");
	li->refresh_classify(&acct, &f.resp, &t);
	fixture_free(&f);
	ck_assert_int_eq(t.outcome, ADAPTER_PUBLISHED);
	ck_assert_str_eq(t.access_token, "tok-li-access-NEW");
	ck_assert_str_eq(t.refresh_token, "tok-li-refresh-NEW");
	ck_assert_int_eq(t.expires_in_s, 5184000);
	ck_assert_int_eq(t.refresh_expires_in_s, 31536000);

	fixture_load(&f, "linkedin", "refresh_invalid");
	li->refresh_classify(&acct, &f.resp, &t);
	fixture_free(&f);
	ck_assert_int_eq(t.outcome, ADAPTER_REAUTH);

	fixture_load(&f, "linkedin", "unavailable");
	li->refresh_classify(&acct, &f.resp, &t);
	fixture_free(&f);
	ck_assert_int_eq(t.outcome, ADAPTER_RETRY);
}
END_TEST

Suite *
linkedin_adapter_suite(void)
{
	Suite	*s = suite_create("adapter_linkedin");
	TCase	*tp = tcase_create("publish");
	TCase	*tr = tcase_create("refresh");

	tcase_add_checked_fixture(tp, setup, teardown);
	tcase_add_test(tp, test_prepare_builds_the_request);
	tcase_add_test(tp, test_commentary_is_escaped);
	tcase_add_test(tp, test_version_and_bare_member_id);
	tcase_add_test(tp, test_prepare_refuses_bad_author);
	tcase_add_test(tp, test_created);
	tcase_add_test(tp, test_created_without_a_usable_id_is_unknown);
	tcase_add_test(tp, test_duplicate_is_permanent);
	tcase_add_test(tp, test_refusals);
	tcase_add_test(tp, test_rate_limited_and_server_errors);
	tcase_add_test(tp, test_no_answer);
	suite_add_tcase(s, tp);
	tcase_add_checked_fixture(tr, setup, teardown);
	tcase_add_test(tr, test_refresh_prepare);
	tcase_add_test(tr, test_refresh_classify);
	suite_add_tcase(s, tr);
	return s;
}
