/*
 * test_sse.c — api/src/sse.c: Server-Sent Events framing.  A payload's
 * line breaks (CR, LF, CRLF) become separate data lines, so no payload can
 * end an event early or add a field; invalid event names are refused and
 * leave the stream untouched.
 */
#include <string.h>

#include "../suites.h"
#include "sse.h"

static struct buf	 out;

static void
setup(void)
{
	buf_init(&out);
}

static void
teardown(void)
{
	buf_cleanup(&out);
}

START_TEST(test_event_with_id)
{
	const char	*data = "{\"type\":\"post.state\",\"state\":\"published\"}";

	ck_assert_int_eq(sse_append_event(&out, 42, "post.state", data, strlen(data)), 0);
	ck_assert_str_eq(out.data, "id: 42\nevent: post.state\n"
	    "data: {\"type\":\"post.state\",\"state\":\"published\"}\n\n");
}
END_TEST

START_TEST(test_event_without_id_or_data)
{
	ck_assert_int_eq(sse_append_event(&out, 0, "end", NULL, 0), 0);
	ck_assert_str_eq(out.data, "event: end\ndata: \n\n");
}
END_TEST

START_TEST(test_line_breaks_split)
{
	const char	*data = "a\nb\r\nc\rd\n";

	ck_assert_int_eq(sse_append_event(&out, 1, "x", data, strlen(data)), 0);
	ck_assert_str_eq(out.data, "id: 1\nevent: x\ndata: a\ndata: b\ndata: c\ndata: d\ndata: \n\n");
	buf_cleanup(&out);
	/* A payload trying to smuggle a field stays data. */
	data = "1\n\nevent: admin\nid: 9";
	ck_assert_int_eq(sse_append_event(&out, 2, "x", data, strlen(data)), 0);
	ck_assert_str_eq(out.data, "id: 2\nevent: x\ndata: 1\ndata: \ndata: event: admin\n"
	    "data: id: 9\n\n");
}
END_TEST

START_TEST(test_invalid_names)
{
	ck_assert_int_eq(sse_append_comment(&out, "kept"), 0);
	ck_assert_int_eq(sse_append_event(&out, 1, "Post", "d", 1), -1);
	ck_assert_int_eq(sse_append_event(&out, 1, "a\nid: 3", "d", 1), -1);
	ck_assert_int_eq(sse_append_event(&out, 1, "", "d", 1), -1);
	ck_assert_int_eq(sse_append_event(&out, 1, NULL, "d", 1), -1);
	ck_assert_int_eq(sse_append_event(&out, 1, "abcdefghijklmnopqrstuvwxyz0123456", "d", 1), -1);
	ck_assert_str_eq(out.data, ": kept\n\n");
	ck_assert(sse_name_valid("account.status"));
	ck_assert(sse_name_valid("resync"));
}
END_TEST

START_TEST(test_comment_and_retry)
{
	ck_assert_int_eq(sse_append_comment(&out, "keep-alive"), 0);
	ck_assert_int_eq(sse_append_comment(&out, "two\nlines\r"), 0);
	ck_assert_int_eq(sse_append_retry(&out, 3000), 0);
	ck_assert_str_eq(out.data, ": keep-alive\n\n: two lines \n\nretry: 3000\n\n");
}
END_TEST

Suite *
sse_suite(void)
{
	Suite	*s = suite_create("sse");
	TCase	*tc = tcase_create("framing");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_event_with_id);
	tcase_add_test(tc, test_event_without_id_or_data);
	tcase_add_test(tc, test_line_breaks_split);
	tcase_add_test(tc, test_invalid_names);
	tcase_add_test(tc, test_comment_and_retry);
	suite_add_tcase(s, tc);
	return (s);
}
