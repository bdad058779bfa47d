/*
 * test_ratelimit.c — bgworker/src/adapters/ratelimit.c: Retry-After in
 * both forms, X's x-rate-limit-reset and 24-hour caps, and garbage that
 * must give no hint rather than a wrong one.  The clock is the fixtures'
 * (FIXTURE_NOW_MS).
 */
#include <stdint.h>
#include <string.h>

#include "../../suites.h"
#include "adapters/common.h"
#include "fixture.h"

START_TEST(test_retry_after_seconds)
{
	ck_assert_int_eq(adapters_parse_retry_after("120", FIXTURE_NOW_MS), 120000);
	ck_assert_int_eq(adapters_parse_retry_after(" 0 ", FIXTURE_NOW_MS), 0);
	ck_assert_int_eq(adapters_parse_retry_after("-5", FIXTURE_NOW_MS), -1);
	ck_assert_int_eq(adapters_parse_retry_after("12s", FIXTURE_NOW_MS), -1);
	ck_assert_int_eq(adapters_parse_retry_after("", FIXTURE_NOW_MS), -1);
	ck_assert_int_eq(adapters_parse_retry_after(NULL, FIXTURE_NOW_MS), -1);
	/* Absurdly many digits saturate instead of overflowing. */
	ck_assert_int_gt(adapters_parse_retry_after(
	    "99999999999999999999999999999999", FIXTURE_NOW_MS), 0);
}
END_TEST

START_TEST(test_retry_after_http_dates)
{
	/* The three forms RFC 9110 §5.6.7 requires a recipient to accept. */
	ck_assert_int_eq(adapters_parse_retry_after(
	    "Thu, 01 Jan 2026 00:02:00 GMT", FIXTURE_NOW_MS), 120000);
	ck_assert_int_eq(adapters_parse_retry_after(
	    "Thursday, 01-Jan-26 00:00:30 GMT", FIXTURE_NOW_MS), 30000);
	ck_assert_int_eq(adapters_parse_retry_after(
	    "Thu Jan  1 00:00:05 2026", FIXTURE_NOW_MS), 5000);
	/* A date in the past means "now". */
	ck_assert_int_eq(adapters_parse_retry_after(
	    "Sun, 06 Nov 1994 08:49:37 GMT", FIXTURE_NOW_MS), 0);
	ck_assert_int_eq(adapters_parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
	    784111777);
	ck_assert_int_eq(adapters_parse_http_date("Tue, 29 Feb 2028 23:59:59 GMT"),
	    1835481599);
	ck_assert_int_eq(adapters_parse_http_date("Wed, 01 Mar 2028 00:00:00 GMT"),
	    1835481600);
	ck_assert_int_eq(adapters_parse_http_date("Wed, 31 Dec 2025 23:59:59 GMT"),
	    1767225599);
	ck_assert_int_eq(adapters_parse_http_date("Wed, 15 Jul 2026 12:00:00 GMT"),
	    1784116800);
}
END_TEST

START_TEST(test_retry_after_garbage_dates)
{
	static const char *const bad[] = {
		"Thu, 01 Foo 2026 00:02:00 GMT", "Thu, 32 Jan 2026 00:02:00 GMT",
		"Thu, 01 Jan 2026 24:00:00 GMT", "Thu, 01 Jan 2026 00:02:00 CET",
		"Thu, 01 Jan 1969 00:00:00 GMT", "Thu, 01 Jan", ",,,,", "Thu,",
		"Thu, 01 Jan 2026 00:02", "Jan", "tomorrow",
	};
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(adapters_parse_retry_after(bad[i], FIXTURE_NOW_MS) == -1,
		    "accepted \"%s\"", bad[i]);
}
END_TEST

START_TEST(test_epoch_reset)
{
	ck_assert_int_eq(adapters_parse_epoch_reset("1767225660", FIXTURE_NOW_MS),
	    60000);
	ck_assert_int_eq(adapters_parse_epoch_reset("1000", FIXTURE_NOW_MS), 0);
	ck_assert_int_eq(adapters_parse_epoch_reset("17672256x0", FIXTURE_NOW_MS), -1);
}
END_TEST

START_TEST(test_hint_is_the_longest_header)
{
	struct fixture	 f;

	fixture_load(&f, "x", "rate_limited_24h");
	/* 15-minute window resets in 60 s, but the 24-hour cap is exhausted. */
	ck_assert_int_eq(adapters_retry_after_ms(&f.resp),
	    (INT64_C(1767272400) - INT64_C(1767225600)) * 1000);
	fixture_free(&f);

	fixture_load(&f, "x", "rate_limited_retry_after");
	ck_assert_int_eq(adapters_retry_after_ms(&f.resp), 120000);
	fixture_free(&f);

	fixture_load(&f, "linkedin", "rate_limited");
	ck_assert_int_eq(adapters_retry_after_ms(&f.resp), -1);
	fixture_free(&f);
}
END_TEST

Suite *
adapters_ratelimit_suite(void)
{
	Suite	*s = suite_create("adapters_ratelimit");
	TCase	*tc = tcase_create("hints");

	tcase_add_test(tc, test_retry_after_seconds);
	tcase_add_test(tc, test_retry_after_http_dates);
	tcase_add_test(tc, test_retry_after_garbage_dates);
	tcase_add_test(tc, test_epoch_reset);
	tcase_add_test(tc, test_hint_is_the_longest_header);
	suite_add_tcase(s, tc);
	return s;
}
