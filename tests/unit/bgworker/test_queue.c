/*
 * test_queue.c — bgworker/src/queue.c, the parts that need no database:
 * instants as the SQL functions read them, and messages made safe for a
 * jsonb string.  The statements themselves run against a real cluster in
 * the dispatcher's integration tests.
 */
#include <string.h>

#include "../suites.h"
#include "queue.h"

START_TEST(test_instant_is_iso_utc_with_ms)
{
	char	 out[32];

	queue_format_instant(1800000000123LL, out);
	ck_assert_str_eq(out, "2027-01-15T08:00:00.123Z");
	queue_format_instant(0, out);
	ck_assert_str_eq(out, "1970-01-01T00:00:00.000Z");
}
END_TEST

START_TEST(test_text_clean)
{
	char	 s1[] = "tab\there\nnew\x01line";
	char	 s2[] = "caf\xc3\xa9 ok";
	char	 s3[] = "bad \xc3 byte \xff end";
	char	 s4[] = "cut \xe2\x82";

	queue_text_clean(s1);
	ck_assert_str_eq(s1, "tab here new line");
	queue_text_clean(s2);
	ck_assert_str_eq(s2, "caf\xc3\xa9 ok");
	queue_text_clean(s3);
	ck_assert_str_eq(s3, "bad ? byte ? end");
	queue_text_clean(s4);
	ck_assert_str_eq(s4, "cut ??");
}
END_TEST

Suite *
queue_suite(void)
{
	Suite	*s = suite_create("queue");
	TCase	*tc = tcase_create("helpers");

	tcase_add_test(tc, test_instant_is_iso_utc_with_ms);
	tcase_add_test(tc, test_text_clean);
	suite_add_tcase(s, tc);
	return s;
}
