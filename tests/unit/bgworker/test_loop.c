/*
 * test_loop.c — bgworker/src/loop.c: how long the loop may sleep
 * (loop_timeout_ms), the one computation of the wait point that needs no
 * database.
 */
#include "../suites.h"
#include "loop.h"

static struct loop_timers
idle(void)
{
	struct loop_timers	 t = {
		.due_at = -1, .can_claim = true, .step_at = -1, .periodic_at = -1,
		.reconnect_at = -1, .stop_at = -1, .now = false, .max_ms = 60000
	};

	return (t);
}

START_TEST(test_nothing_to_wait_for_sleeps_the_longest)
{
	struct loop_timers	 t = idle();

	ck_assert_int_eq(loop_timeout_ms(&t, 1000), 60000);
}
END_TEST

START_TEST(test_wakes_exactly_at_the_next_due_post)
{
	struct loop_timers	 t = idle();

	t.due_at = 1237;
	ck_assert_int_eq(loop_timeout_ms(&t, 1000), 237);
	t.periodic_at = 1500;
	ck_assert_int_eq(loop_timeout_ms(&t, 1000), 237);
}
END_TEST

START_TEST(test_due_post_ignored_without_room)
{
	struct loop_timers	 t = idle();

	t.due_at = 1010;
	t.can_claim = false;		/* full, stopping or disconnected */
	t.periodic_at = 6000;
	ck_assert_int_eq(loop_timeout_ms(&t, 1000), 5000);
}
END_TEST

START_TEST(test_earliest_deadline_wins)
{
	struct loop_timers	 t = idle();

	t.due_at = 9000;
	t.step_at = 3000;
	t.periodic_at = 4000;
	t.reconnect_at = 2500;
	t.stop_at = 8000;
	ck_assert_int_eq(loop_timeout_ms(&t, 1000), 1500);
	t.reconnect_at = -1;
	ck_assert_int_eq(loop_timeout_ms(&t, 1000), 2000);
}
END_TEST

START_TEST(test_past_deadline_does_not_sleep)
{
	struct loop_timers	 t = idle();

	t.due_at = 500;
	ck_assert_int_eq(loop_timeout_ms(&t, 1000), 0);
	t.due_at = 1000;
	ck_assert_int_eq(loop_timeout_ms(&t, 1000), 0);
}
END_TEST

START_TEST(test_work_waiting_does_not_sleep)
{
	struct loop_timers	 t = idle();

	t.due_at = 5000;
	t.now = true;
	ck_assert_int_eq(loop_timeout_ms(&t, 1000), 0);
}
END_TEST

START_TEST(test_far_deadline_is_capped)
{
	struct loop_timers	 t = idle();

	t.due_at = 1000 + 3600 * 1000;
	ck_assert_int_eq(loop_timeout_ms(&t, 1000), 60000);
}
END_TEST

START_TEST(test_clocks_move_forward)
{
	int64_t	 m = loop_mono_ms(), w = loop_wall_ms();

	ck_assert_int_gt(m, 0);
	ck_assert_int_gt(w, 1700000000000LL);	/* after 2023 */
	ck_assert_int_ge(loop_mono_ms(), m);
}
END_TEST

Suite *
loop_suite(void)
{
	Suite	*s = suite_create("loop");
	TCase	*tc = tcase_create("timeout");

	tcase_add_test(tc, test_nothing_to_wait_for_sleeps_the_longest);
	tcase_add_test(tc, test_wakes_exactly_at_the_next_due_post);
	tcase_add_test(tc, test_due_post_ignored_without_room);
	tcase_add_test(tc, test_earliest_deadline_wins);
	tcase_add_test(tc, test_past_deadline_does_not_sleep);
	tcase_add_test(tc, test_work_waiting_does_not_sleep);
	tcase_add_test(tc, test_far_deadline_is_capped);
	tcase_add_test(tc, test_clocks_move_forward);
	suite_add_tcase(s, tc);
	return s;
}
