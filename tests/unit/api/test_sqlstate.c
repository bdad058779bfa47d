/*
 * test_sqlstate.c — api/src/sqlstate.c: SQLSTATE → HTTP status.
 */
#include "../suites.h"
#include "sqlstate.h"

START_TEST(test_exact_codes)
{
	ck_assert_int_eq(sqlstate_http_status("23505", false), 409);
	ck_assert_int_eq(sqlstate_http_status("23503", false), 409);
	ck_assert_int_eq(sqlstate_http_status("23514", false), 422);
	ck_assert_int_eq(sqlstate_http_status("P0001", false), 400);
	ck_assert_int_eq(sqlstate_http_status("57014", false), 504);
}
END_TEST

START_TEST(test_exact_code_beats_its_class)
{
	/* 22P02 and 22023 have rows; other class 22 codes map by class. */
	ck_assert_int_eq(sqlstate_http_status("22P02", false), 422);
	ck_assert_int_eq(sqlstate_http_status("53300", false), 503);
	ck_assert_int_eq(sqlstate_http_status("22012", false), 422);
}
END_TEST

START_TEST(test_caas_codes)
{
	ck_assert_int_eq(sqlstate_http_status("CA001", false), 402);
	ck_assert_int_eq(sqlstate_http_status("CA002", false), 409);
	ck_assert_int_eq(sqlstate_http_status("CA003", false), 422);
	ck_assert_int_eq(sqlstate_http_status("CA008", false), 503);
	/* Unknown codes of the caas class are not guessed. */
	ck_assert_int_eq(sqlstate_http_status("CA999", false), 500);
}
END_TEST

START_TEST(test_classes)
{
	ck_assert_int_eq(sqlstate_http_status("08006", false), 503);
	ck_assert_int_eq(sqlstate_http_status("28P01", false), 403);
}
END_TEST

START_TEST(test_insufficient_privilege_depends_on_caller)
{
	ck_assert_int_eq(sqlstate_http_status("42501", true), 401);
	ck_assert_int_eq(sqlstate_http_status("42501", false), 403);
}
END_TEST

START_TEST(test_unknown_and_malformed_are_500)
{
	ck_assert_int_eq(sqlstate_http_status("XX000", false), 500);
	ck_assert_int_eq(sqlstate_http_status(NULL, false), 500);
	ck_assert_int_eq(sqlstate_http_status("", false), 500);
	ck_assert_int_eq(sqlstate_http_status("08", false), 500);
	ck_assert_int_eq(sqlstate_http_status("235050", false), 500);
}
END_TEST

START_TEST(test_public_messages)
{
	/* caas's own codes carry words for the client, even as a 503. */
	ck_assert(sqlstate_message_public("CA008"));
	ck_assert(sqlstate_message_public("CA001"));
	/* Other 5xx are the server's business. */
	ck_assert(!sqlstate_message_public("XX000"));
	ck_assert(!sqlstate_message_public("53300"));
	ck_assert(!sqlstate_message_public("CA"));
	ck_assert(!sqlstate_message_public(NULL));
}
END_TEST

Suite *
sqlstate_suite(void)
{
	Suite	*s = suite_create("sqlstate");
	TCase	*tc = tcase_create("map");

	tcase_add_test(tc, test_exact_codes);
	tcase_add_test(tc, test_exact_code_beats_its_class);
	tcase_add_test(tc, test_caas_codes);
	tcase_add_test(tc, test_classes);
	tcase_add_test(tc, test_insufficient_privilege_depends_on_caller);
	tcase_add_test(tc, test_unknown_and_malformed_are_500);
	tcase_add_test(tc, test_public_messages);
	suite_add_tcase(s, tc);
	return s;
}
