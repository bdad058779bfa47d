/*
 * test_instagram.c — bgworker/src/adapters/instagram.c: the container →
 * status → media_publish → permalink steps, resuming a stored container,
 * and the token refresh, against recorded answers in
 * tests/fixtures/adapters/instagram/.
 *
 * Each test walks the adapter's state the way the core does: prepare, then
 * classify with the answer, keeping struct adapter_state between steps.
 */
#include <string.h>

#include "../../suites.h"
#include "adapter_conf.h"
#include "fixture.h"

#define CONTAINER	"17889455560051444"
#define MEDIA		"17920238422030506"
#define IG_USER		"17841400000000000"

static const struct caas_adapter *ig;

static struct adapter_post	 post;
static struct adapter_state	 st;
static struct adapter_request	 req;
static struct adapter_result	 res;

static void
setup(void)
{
	ig = adapter_find("instagram");
	ck_assert_ptr_nonnull(ig);
	memset(&post, 0, sizeof(post));
	post.post_id = "00000000-0000-0000-0000-0000000000b3";
	post.external_id = IG_USER;
	post.text = "Sunset #nofilter";
	post.media_urls[0] = "https://cdn.example.com/img/sunset.jpg";
	post.n_media = 1;
	post.access_token = "tok-ig-access";
	post.attempt = 1;
	memset(&st, 0, sizeof(st));
	request_init(&req);
}

static void
teardown(void)
{
	request_cleanup(&req);
	adapter_conf_reset();
}

/* prepare_step runs prepare on a fresh request; returns its verdict. */
static enum adapter_prepare
prepare_step(void)
{
	request_cleanup(&req);
	request_init(&req);
	return (ig->prepare(&post, &st, &req, &res));
}

/* answer classifies a recorded answer at the current step. */
static void
answer(const char *name)
{
	struct fixture	 f;

	fixture_load(&f, "instagram", name);
	ig->classify(&post, &st, &f.resp, &res);
	fixture_free(&f);
}

static void
no_answer(bool sent)
{
	struct fixture	 f;

	fixture_no_answer(&f, sent, sent);
	ig->classify(&post, &st, &f.resp, &res);
	fixture_free(&f);
}

/* at_status: prepare asks for the container's status. */
static void
expect_status_request(const char *container)
{
	char	 url[256];

	ck_assert_int_eq(prepare_step(), ADAPTER_SEND);
	snprintf(url, sizeof(url),
	    "https://graph.facebook.com/v21.0/%s?fields=status_code", container);
	ck_assert_str_eq(req.method, "GET");
	ck_assert_str_eq(req.url, url);
	ck_assert(req.idempotent);
}

static void
expect_publish_request(void)
{
	ck_assert_int_eq(prepare_step(), ADAPTER_SEND);
	ck_assert_str_eq(req.method, "POST");
	ck_assert_str_eq(req.url,
	    "https://graph.facebook.com/v21.0/" IG_USER "/media_publish");
	ck_assert_str_eq(req.body.data, "creation_id=" CONTAINER);
	ck_assert(!req.idempotent);
}

/* to_publish: a fresh attempt up to the media_publish request. */
static void
to_publish(void)
{
	ck_assert_int_eq(prepare_step(), ADAPTER_SEND);
	answer("container_created");
	expect_status_request(CONTAINER);
	answer("status_finished");
	expect_publish_request();
}

START_TEST(test_no_image_is_permanent)
{
	post.n_media = 0;
	ck_assert_int_eq(prepare_step(), ADAPTER_DONE);
	ck_assert_int_eq(res.outcome, ADAPTER_PERMANENT);
	ck_assert_str_eq(res.message, "Instagram needs an image");
	ck_assert_str_eq(req.url, "");
}
END_TEST

START_TEST(test_happy_path)
{
	ck_assert_int_eq(prepare_step(), ADAPTER_SEND);
	ck_assert_str_eq(req.method, "POST");
	ck_assert_str_eq(req.url, "https://graph.facebook.com/v21.0/" IG_USER "/media");
	ck_assert_str_eq(req.body.data, "image_url=https%3A%2F%2Fcdn.example.com"
	    "%2Fimg%2Fsunset.jpg&caption=Sunset%20%23nofilter");
	ck_assert_str_eq(request_header(&req, "Authorization"), "Bearer tok-ig-access");
	/* Safe to repeat: a container publishes nothing by itself. */
	ck_assert(req.idempotent);

	answer("container_created");
	ck_assert_int_eq(res.outcome, ADAPTER_CONTINUE);
	ck_assert_str_eq(res.remote_ref, CONTAINER);	/* persisted at once */
	ck_assert_int_eq(res.continue_after_ms, 0);

	expect_status_request(CONTAINER);
	answer("status_in_progress");
	ck_assert_int_eq(res.outcome, ADAPTER_CONTINUE);
	ck_assert_int_eq(res.continue_after_ms, 1000);
	ck_assert_str_eq(res.remote_ref, "");

	expect_status_request(CONTAINER);
	answer("status_finished");
	ck_assert_int_eq(res.outcome, ADAPTER_CONTINUE);

	expect_publish_request();
	answer("published");
	ck_assert_int_eq(res.outcome, ADAPTER_CONTINUE);
	ck_assert_str_eq(res.remote_ref, CONTAINER "/" MEDIA);

	ck_assert_int_eq(prepare_step(), ADAPTER_SEND);
	ck_assert_str_eq(req.url,
	    "https://graph.facebook.com/v21.0/" MEDIA "?fields=permalink");
	answer("permalink");
	ck_assert_int_eq(res.outcome, ADAPTER_PUBLISHED);
	ck_assert_str_eq(res.remote_id, MEDIA);
	ck_assert_str_eq(res.remote_url, "https://www.instagram.com/p/C1a2b3c4d5e/");
}
END_TEST

START_TEST(test_resumes_a_stored_container)
{
	post.remote_ref = CONTAINER;
	expect_status_request(CONTAINER);
	answer("status_finished");
	expect_publish_request();
}
END_TEST

START_TEST(test_resumes_a_published_media)
{
	post.remote_ref = CONTAINER "/" MEDIA;
	ck_assert_int_eq(prepare_step(), ADAPTER_SEND);
	ck_assert_str_eq(req.url,
	    "https://graph.facebook.com/v21.0/" MEDIA "?fields=permalink");
	answer("server_error");
	ck_assert_int_eq(res.outcome, ADAPTER_PUBLISHED);
	ck_assert_str_eq(res.remote_id, MEDIA);
	ck_assert_str_eq(res.remote_url, "");
}
END_TEST

START_TEST(test_cleared_or_garbage_ref_means_none)
{
	static const char *const refs[] = { "-", "", "1/2/3", "../me", "a b" };
	size_t	 i;

	for (i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		memset(&st, 0, sizeof(st));
		post.remote_ref = refs[i];
		ck_assert_int_eq(prepare_step(), ADAPTER_SEND);
		ck_assert_msg(strstr(req.url, "/media") != NULL, "ref \"%s\"", refs[i]);
	}
}
END_TEST

START_TEST(test_stored_container_published_already)
{
	post.remote_ref = CONTAINER;
	expect_status_request(CONTAINER);
	answer("status_published");
	ck_assert_int_eq(res.outcome, ADAPTER_PUBLISHED);
	ck_assert_str_eq(res.remote_id, CONTAINER);
}
END_TEST

START_TEST(test_stored_container_expired_starts_afresh)
{
	post.remote_ref = CONTAINER;
	expect_status_request(CONTAINER);
	answer("status_expired");
	ck_assert_int_eq(res.outcome, ADAPTER_CONTINUE);
	ck_assert_str_eq(res.remote_ref, "-");
	ck_assert_int_eq(prepare_step(), ADAPTER_SEND);
	ck_assert_str_eq(req.url, "https://graph.facebook.com/v21.0/" IG_USER "/media");
	/* The platform handing the dead container back is not looped on. */
	answer("container_created");
	ck_assert_int_eq(res.outcome, ADAPTER_RETRY);
}
END_TEST

START_TEST(test_own_container_error_retries_with_a_fresh_one)
{
	ck_assert_int_eq(prepare_step(), ADAPTER_SEND);
	answer("container_created");
	expect_status_request(CONTAINER);
	answer("status_error");
	ck_assert_int_eq(res.outcome, ADAPTER_RETRY);
	ck_assert_str_eq(res.remote_ref, "-");
}
END_TEST

START_TEST(test_polling_gives_up_after_poll_max)
{
	char	 err[128];
	int	 i;

	ck_assert_int_eq(adapter_conf_set(ig, "poll_max", "3", err, sizeof(err)), 0);
	ck_assert_int_eq(adapter_conf_set(ig, "poll_interval_ms", "250", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(prepare_step(), ADAPTER_SEND);
	answer("container_created");
	for (i = 0; i < 2; i++) {
		expect_status_request(CONTAINER);
		answer("status_in_progress");
		ck_assert_int_eq(res.outcome, ADAPTER_CONTINUE);
		ck_assert_int_eq(res.continue_after_ms, 250);
	}
	expect_status_request(CONTAINER);
	answer("status_in_progress");
	ck_assert_int_eq(res.outcome, ADAPTER_RETRY);
	ck_assert_str_eq(res.remote_ref, "");	/* kept for the next attempt */
}
END_TEST

START_TEST(test_publish_without_answer_rechecks)
{
	to_publish();
	no_answer(true);
	ck_assert_int_eq(res.outcome, ADAPTER_CONTINUE);
	expect_status_request(CONTAINER);
	answer("status_published");
	ck_assert_int_eq(res.outcome, ADAPTER_PUBLISHED);
	ck_assert_str_eq(res.remote_id, CONTAINER);
}
END_TEST

START_TEST(test_publish_unknown_then_finished_publishes_again)
{
	to_publish();
	answer("server_error");
	ck_assert_int_eq(res.outcome, ADAPTER_CONTINUE);
	expect_status_request(CONTAINER);
	answer("status_finished");
	expect_publish_request();
	answer("published");
	ck_assert_int_eq(res.outcome, ADAPTER_CONTINUE);
	ck_assert_str_eq(res.remote_ref, CONTAINER "/" MEDIA);
}
END_TEST

START_TEST(test_publish_unknown_outcomes)
{
	static const char *const names[] = {
		"server_error", "transient", "action_blocked", "malformed",
		"wrong_types", "bad_id",
	};
	size_t	 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		memset(&st, 0, sizeof(st));
		to_publish();
		answer(names[i]);
		ck_assert_msg(res.outcome == ADAPTER_CONTINUE, "%s", names[i]);
		expect_status_request(CONTAINER);
	}
}
END_TEST

START_TEST(test_publish_not_sent_retries)
{
	to_publish();
	no_answer(false);
	ck_assert_int_eq(res.outcome, ADAPTER_RETRY);
}
END_TEST

START_TEST(test_recheck_budget_ends_unknown)
{
	char	 err[128];

	ck_assert_int_eq(adapter_conf_set(ig, "poll_max", "2", err, sizeof(err)), 0);
	to_publish();
	no_answer(true);
	expect_status_request(CONTAINER);
	answer("status_finished");
	expect_publish_request();
	no_answer(true);
	ck_assert_int_eq(res.outcome, ADAPTER_UNKNOWN);
}
END_TEST

START_TEST(test_recheck_read_refused_is_unknown)
{
	to_publish();
	no_answer(true);
	expect_status_request(CONTAINER);
	answer("invalid_image");	/* 400 code 100 on the container read */
	ck_assert_int_eq(res.outcome, ADAPTER_UNKNOWN);
}
END_TEST

START_TEST(test_status_read_refused)
{
	/* Own container, never published: drop it. */
	ck_assert_int_eq(prepare_step(), ADAPTER_SEND);
	answer("container_created");
	expect_status_request(CONTAINER);
	answer("invalid_image");
	ck_assert_int_eq(res.outcome, ADAPTER_RETRY);
	ck_assert_str_eq(res.remote_ref, "-");
	/* Inherited: an earlier attempt may have published it. */
	memset(&st, 0, sizeof(st));
	post.remote_ref = CONTAINER;
	expect_status_request(CONTAINER);
	answer("invalid_image");
	ck_assert_int_eq(res.outcome, ADAPTER_UNKNOWN);
}
END_TEST

START_TEST(test_not_ready_waits)
{
	to_publish();
	answer("not_ready");
	ck_assert_int_eq(res.outcome, ADAPTER_CONTINUE);
	ck_assert_int_eq(res.continue_after_ms, 1000);
	expect_status_request(CONTAINER);
}
END_TEST

START_TEST(test_publish_refusals)
{
	to_publish();
	answer("duplicate");
	ck_assert_int_eq(res.outcome, ADAPTER_PERMANENT);
	ck_assert_str_eq(res.message, "duplicate content");
	memset(&st, 0, sizeof(st));
	to_publish();
	answer("token_expired");
	ck_assert_int_eq(res.outcome, ADAPTER_REAUTH);
	memset(&st, 0, sizeof(st));
	to_publish();
	answer("rate_limited");
	ck_assert_int_eq(res.outcome, ADAPTER_RETRY);
	ck_assert_int_eq(res.retry_after_ms, 5 * 60000);
}
END_TEST

START_TEST(test_create_errors)
{
	ck_assert_int_eq(prepare_step(), ADAPTER_SEND);
	answer("invalid_image");
	ck_assert_int_eq(res.outcome, ADAPTER_PERMANENT);
	ck_assert_str_eq(res.message, "HTTP 400: The submitted image with aspect "
	    "ratio 0.2 cannot be published. Please submit an image with a valid "
	    "aspect ratio.");
	answer("action_blocked");	/* nothing can be live yet */
	ck_assert_int_eq(res.outcome, ADAPTER_RETRY);
	answer("token_expired");
	ck_assert_int_eq(res.outcome, ADAPTER_REAUTH);
	answer("server_error");
	ck_assert_int_eq(res.outcome, ADAPTER_RETRY);
	no_answer(true);		/* an orphan container is harmless */
	ck_assert_int_eq(res.outcome, ADAPTER_RETRY);
}
END_TEST

START_TEST(test_create_garbage_retries)
{
	static const char *const names[] = { "malformed", "wrong_types", "bad_id" };
	size_t	 i;

	for (i = 0; i < 3; i++) {
		memset(&st, 0, sizeof(st));
		ck_assert_int_eq(prepare_step(), ADAPTER_SEND);
		answer(names[i]);
		ck_assert_msg(res.outcome == ADAPTER_RETRY, "%s", names[i]);
		ck_assert_str_eq(res.remote_ref, "");
	}
}
END_TEST

START_TEST(test_permalink_failures_still_published)
{
	static const char *const names[] = {
		"server_error", "malformed", "wrong_types", "token_expired",
	};
	size_t	 i;

	for (i = 0; i < 4; i++) {
		memset(&st, 0, sizeof(st));
		to_publish();
		answer("published");
		ck_assert_int_eq(prepare_step(), ADAPTER_SEND);
		answer(names[i]);
		ck_assert_msg(res.outcome == ADAPTER_PUBLISHED, "%s", names[i]);
		ck_assert_str_eq(res.remote_id, MEDIA);
		ck_assert_str_eq(res.remote_url, "");
	}
}
END_TEST

/* ---- refresh */

START_TEST(test_refresh)
{
	struct adapter_account	 acct = {
		.external_id = IG_USER, .access_token = "tok-ig-OLD",
		.refresh_token = "tok-ig-OLD",
	};
	struct adapter_tokens	 t;
	struct fixture		 f;

	ck_assert_int_eq(ig->refresh_prepare(&acct, &req, &t), ADAPTER_SEND);
	ck_assert_str_eq(req.method, "GET");
	ck_assert_str_eq(req.url, "https://graph.instagram.com/refresh_access_token"
	    "?grant_type=ig_refresh_token&access_token=tok-ig-OLD");

	fixture_load(&f, "instagram", "refresh_ok");
	ig->refresh_classify(&acct, &f.resp, &t);
	fixture_free(&f);
	ck_assert_int_eq(t.outcome, ADAPTER_PUBLISHED);
	ck_assert_str_eq(t.access_token, "tok-ig-NEW");
	ck_assert_str_eq(t.refresh_token, "tok-ig-NEW");
	ck_assert_int_eq(t.expires_in_s, 5183944);

	fixture_load(&f, "instagram", "refresh_expired");
	ig->refresh_classify(&acct, &f.resp, &t);
	fixture_free(&f);
	ck_assert_int_eq(t.outcome, ADAPTER_REAUTH);
	ck_assert_ptr_null(strstr(t.message, "tok-ig-OLD"));

	fixture_load(&f, "instagram", "rate_limited");
	ig->refresh_classify(&acct, &f.resp, &t);
	fixture_free(&f);
	ck_assert_int_eq(t.outcome, ADAPTER_RETRY);
}
END_TEST

Suite *
instagram_adapter_suite(void)
{
	Suite	*s = suite_create("adapter_instagram");
	TCase	*tp = tcase_create("publish");
	TCase	*tr = tcase_create("refresh");

	tcase_add_checked_fixture(tp, setup, teardown);
	tcase_add_test(tp, test_no_image_is_permanent);
	tcase_add_test(tp, test_happy_path);
	tcase_add_test(tp, test_resumes_a_stored_container);
	tcase_add_test(tp, test_resumes_a_published_media);
	tcase_add_test(tp, test_cleared_or_garbage_ref_means_none);
	tcase_add_test(tp, test_stored_container_published_already);
	tcase_add_test(tp, test_stored_container_expired_starts_afresh);
	tcase_add_test(tp, test_own_container_error_retries_with_a_fresh_one);
	tcase_add_test(tp, test_polling_gives_up_after_poll_max);
	tcase_add_test(tp, test_publish_without_answer_rechecks);
	tcase_add_test(tp, test_publish_unknown_then_finished_publishes_again);
	tcase_add_test(tp, test_publish_unknown_outcomes);
	tcase_add_test(tp, test_publish_not_sent_retries);
	tcase_add_test(tp, test_recheck_budget_ends_unknown);
	tcase_add_test(tp, test_recheck_read_refused_is_unknown);
	tcase_add_test(tp, test_status_read_refused);
	tcase_add_test(tp, test_not_ready_waits);
	tcase_add_test(tp, test_publish_refusals);
	tcase_add_test(tp, test_create_errors);
	tcase_add_test(tp, test_create_garbage_retries);
	tcase_add_test(tp, test_permalink_failures_still_published);
	suite_add_tcase(s, tp);
	tcase_add_checked_fixture(tr, setup, teardown);
	tcase_add_test(tr, test_refresh);
	suite_add_tcase(s, tr);
	return s;
}
