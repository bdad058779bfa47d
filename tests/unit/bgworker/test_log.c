/*
 * test_log.c — bgworker/src/log.c: levels, one line per event, and the
 * last-guard redaction of credentials.  A capturing sink replaces stderr.
 */
#include <stdio.h>
#include <string.h>

#include "../suites.h"
#include "log.h"

static char		 last[2048];
static int		 lines;
static enum log_level	 last_level;

static void
capture(enum log_level level, const char *line)
{
	snprintf(last, sizeof(last), "%s", line);
	last_level = level;
	lines++;
}

static void
setup(void)
{
	last[0] = '\0';
	lines = 0;
	log_set_sink(capture);
	log_set_level(LOG_LEVEL_INFO);
}

static void
teardown(void)
{
	log_set_sink(NULL);
	log_set_level(LOG_LEVEL_INFO);
}

START_TEST(test_levels_filter)
{
	log_debug("hidden %d", 1);
	ck_assert_int_eq(lines, 0);
	log_info("shown %d", 2);
	ck_assert_int_eq(lines, 1);
	ck_assert_str_eq(last, "shown 2");
	ck_assert_int_eq(last_level, LOG_LEVEL_INFO);
	log_set_level(LOG_LEVEL_WARNING);
	log_info("hidden");
	ck_assert_int_eq(lines, 1);
	log_error("err");
	ck_assert_int_eq(last_level, LOG_LEVEL_ERROR);
}
END_TEST

START_TEST(test_parse_levels)
{
	enum log_level	 l;

	ck_assert_int_eq(log_level_parse("debug", &l), 0);
	ck_assert_int_eq(l, LOG_LEVEL_DEBUG);
	ck_assert_int_eq(log_level_parse("WARNING", &l), 0);
	ck_assert_int_eq(l, LOG_LEVEL_WARNING);
	ck_assert_int_eq(log_level_parse("verbose", &l), -1);
}
END_TEST

START_TEST(test_one_event_one_line)
{
	log_info("remote said: %s", "line one\nline two\r\nthree");
	ck_assert_int_eq(lines, 1);
	ck_assert_ptr_null(strchr(last, '\n'));
	ck_assert_ptr_null(strchr(last, '\r'));
}
END_TEST

START_TEST(test_credentials_are_blanked)
{
	log_warning("GET https://graph.example.com/v21.0/me?fields=id&access_token=EAAB123secret&x=1 failed");
	ck_assert_ptr_null(strstr(last, "EAAB123secret"));
	ck_assert_ptr_nonnull(strstr(last, "access_token=***&x=1"));
	log_warning("header Authorization: Bearer abc.def.ghi sent");
	ck_assert_ptr_null(strstr(last, "abc.def"));
	log_warning("body refresh_token=rt-1&client_secret=cs-1&code=xyz");
	ck_assert_ptr_null(strstr(last, "rt-1"));
	ck_assert_ptr_null(strstr(last, "cs-1"));
	ck_assert_ptr_null(strstr(last, "xyz"));
	/* error_code= is not a credential. */
	log_warning("error_code=190");
	ck_assert_str_eq(last, "error_code=190");
}
END_TEST

START_TEST(test_short_values_and_long_lines)
{
	char	 big[4096];

	log_info("access_token=ab");
	ck_assert_str_eq(last, "access_token=**");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_info("%s access_token=zzz", big);
	ck_assert_int_lt((int)strlen(last), 1024);
}
END_TEST

Suite *
log_suite(void)
{
	Suite	*s = suite_create("log");
	TCase	*tc = tcase_create("lines");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_levels_filter);
	tcase_add_test(tc, test_parse_levels);
	tcase_add_test(tc, test_one_event_one_line);
	tcase_add_test(tc, test_credentials_are_blanked);
	tcase_add_test(tc, test_short_values_and_long_lines);
	suite_add_tcase(s, tc);
	return s;
}
