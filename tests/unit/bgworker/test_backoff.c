/*
 * test_backoff.c — bgworker/src/backoff.c: retry delays.
 *
 * The random source is injected: fixed_rand returns a value the test
 * chooses, so the jitter's bounds are checked exactly.
 */
#include <stdint.h>

#include "../suites.h"
#include "backoff.h"

static const struct backoff_policy policy = {
	.base_ms = 1000, .cap_ms = 60000, .hint_max_ms = 3600000
};

static uint32_t
fixed_rand(void *ctx)
{
	return *(uint32_t *)ctx;
}

START_TEST(test_doubles_per_attempt_at_the_top_of_the_jitter)
{
	/* r % (d - d/2 + 1) == d - d/2 when r == d - d/2: the nominal delay. */
	uint32_t	r;

	r = 500;
	ck_assert_int_eq(backoff_delay_ms(&policy, 1, 0, fixed_rand, &r), 1000);
	r = 1000;
	ck_assert_int_eq(backoff_delay_ms(&policy, 2, 0, fixed_rand, &r), 2000);
	r = 2000;
	ck_assert_int_eq(backoff_delay_ms(&policy, 3, 0, fixed_rand, &r), 4000);
}
END_TEST

START_TEST(test_jitter_never_below_half)
{
	uint32_t	r = 0;

	ck_assert_int_eq(backoff_delay_ms(&policy, 3, 0, fixed_rand, &r), 2000);
	r = UINT32_MAX;
	ck_assert_int_ge(backoff_delay_ms(&policy, 3, 0, fixed_rand, &r), 2000);
	ck_assert_int_le(backoff_delay_ms(&policy, 3, 0, fixed_rand, &r), 4000);
}
END_TEST

START_TEST(test_capped)
{
	uint32_t	r = 30000;

	ck_assert_int_eq(backoff_delay_ms(&policy, 30, 0, fixed_rand, &r), 60000);
	/* Far past any shift width: no overflow, still the cap. */
	ck_assert_int_eq(backoff_delay_ms(&policy, 1000000, 0, fixed_rand, &r), 60000);
}
END_TEST

START_TEST(test_platform_hint_wins_when_longer)
{
	uint32_t	r = 0;

	ck_assert_int_eq(backoff_delay_ms(&policy, 1, 900000, fixed_rand, &r), 900000);
	/* A shorter hint does not make the retry sooner than the backoff. */
	ck_assert_int_eq(backoff_delay_ms(&policy, 3, 10, fixed_rand, &r), 2000);
}
END_TEST

START_TEST(test_hostile_hint_is_bounded)
{
	uint32_t	r = 0;

	ck_assert_int_eq(backoff_delay_ms(&policy, 1, INT64_MAX, fixed_rand, &r), 3600000);
}
END_TEST

START_TEST(test_attempt_below_one_is_treated_as_first)
{
	uint32_t	r = 500;

	ck_assert_int_eq(backoff_delay_ms(&policy, 0, 0, fixed_rand, &r), 1000);
	ck_assert_int_eq(backoff_delay_ms(&policy, -7, 0, fixed_rand, &r), 1000);
}
END_TEST

Suite *
backoff_suite(void)
{
	Suite	*s = suite_create("backoff");
	TCase	*tc = tcase_create("delay");

	tcase_add_test(tc, test_doubles_per_attempt_at_the_top_of_the_jitter);
	tcase_add_test(tc, test_jitter_never_below_half);
	tcase_add_test(tc, test_capped);
	tcase_add_test(tc, test_platform_hint_wins_when_longer);
	tcase_add_test(tc, test_hostile_hint_is_bounded);
	tcase_add_test(tc, test_attempt_below_one_is_treated_as_first);
	suite_add_tcase(s, tc);
	return s;
}
