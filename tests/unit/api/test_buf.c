/*
 * test_buf.c — api/src/buf.c (growth, printf, JSON string escaping, UTF-8
 * check) and api/src/arena.c (alignment, large blocks).
 */
#include <stdalign.h>
#include <stdint.h>
#include <string.h>

#include "../suites.h"
#include "api.h"
#include "buf.h"

static struct buf b;

static void
setup(void)
{
	buf_init(&b);
}

static void
teardown(void)
{
	buf_cleanup(&b);
}

/* json returns s escaped (valid until the next call). */
static const char *
json(const char *s, size_t len)
{
	buf_cleanup(&b);
	ck_assert_int_eq(buf_append_json_string(&b, s, len), 0);
	return (b.data);
}

START_TEST(test_append_grows_and_terminates)
{
	int	 i;

	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(buf_append(&b, "0123456789", 10), 0);
	ck_assert_uint_eq(b.len, 10000);
	ck_assert_int_eq(b.data[b.len], '\0');
	ck_assert_int_eq(buf_appendf(&b, "-%d-%s", 42, "x"), 0);
	ck_assert_str_eq(b.data + 10000, "-42-x");
	buf_cleanup(&b);
	buf_cleanup(&b);	/* twice is safe */
	ck_assert_ptr_null(b.data);
}
END_TEST

START_TEST(test_json_plain_and_quotes)
{
	ck_assert_str_eq(json("hello", 5), "\"hello\"");
	ck_assert_str_eq(json("", 0), "\"\"");
	ck_assert_str_eq(json("a\"b\\c/", 6), "\"a\\\"b\\\\c/\"");
}
END_TEST

START_TEST(test_json_control_chars)
{
	ck_assert_str_eq(json("\b\f\n\r\t", 5), "\"\\b\\f\\n\\r\\t\"");
	ck_assert_str_eq(json("\x01\x1f\x7f", 3), "\"\\u0001\\u001f\\u007f\"");
	/* An embedded NUL is data, escaped, not the end of the string. */
	ck_assert_str_eq(json("a\0b", 3), "\"a\\u0000b\"");
	/* U+2028 and U+2029 end lines in JavaScript. */
	ck_assert_str_eq(json("\xe2\x80\xa8\xe2\x80\xa9", 6), "\"\\u2028\\u2029\"");
}
END_TEST

START_TEST(test_json_utf8_kept)
{
	ck_assert_str_eq(json("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14),
	    "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
}
END_TEST

START_TEST(test_json_invalid_utf8_replaced)
{
	/* lone continuation, truncated sequence, overlong '/', surrogate, > U+10FFFF */
	ck_assert_str_eq(json("a\x80z", 3), "\"a\xef\xbf\xbdz\"");
	ck_assert_str_eq(json("\xe2\x82", 2), "\"\xef\xbf\xbd\xef\xbf\xbd\"");
	ck_assert_str_eq(json("\xc0\xaf", 2), "\"\xef\xbf\xbd\xef\xbf\xbd\"");
	ck_assert_str_eq(json("\xed\xa0\x80", 3), "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	ck_assert_str_eq(json("\xf4\x90\x80\x80", 4),
	    "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	ck_assert(buf_utf8_valid(b.data, b.len));
}
END_TEST

START_TEST(test_utf8_valid)
{
	ck_assert(buf_utf8_valid("", 0));
	ck_assert(buf_utf8_valid("{\"a\":\"\xc3\xa9\"}", 10));
	ck_assert(buf_utf8_valid("\xf4\x8f\xbf\xbf", 4));	/* U+10FFFF */
	ck_assert(!buf_utf8_valid("\xff", 1));
	ck_assert(!buf_utf8_valid("\xc3", 1));
	ck_assert(!buf_utf8_valid("\xe0\x80\x80", 3));		/* overlong */
	ck_assert(!buf_utf8_valid("\xed\xbf\xbf", 3));		/* surrogate */
	ck_assert(!buf_utf8_valid("\xf8\x88\x80\x80\x80", 5));
}
END_TEST

START_TEST(test_arena)
{
	struct api_arena	*a = arena_create();
	char			*s, *big;
	void			*p;
	int			 i;

	ck_assert_ptr_nonnull(a);
	for (i = 0; i < 1000; i++) {
		p = arena_alloc(a, (size_t)i % 37 + 1);
		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq((uintptr_t)p % alignof(max_align_t), 0);
		memset(p, 0xab, (size_t)i % 37 + 1);
	}
	big = arena_alloc(a, 100000);		/* bigger than a block */
	ck_assert_ptr_nonnull(big);
	memset(big, 0, 100000);
	s = arena_strndup(a, "abcdef", 3);
	ck_assert_str_eq(s, "abc");
	s = arena_strndup(a, "ab", 10);
	ck_assert_str_eq(s, "ab");
	arena_destroy(a);
	arena_destroy(NULL);
}
END_TEST

Suite *
buf_suite(void)
{
	Suite	*s = suite_create("buf");
	TCase	*tc = tcase_create("buf");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_append_grows_and_terminates);
	tcase_add_test(tc, test_json_plain_and_quotes);
	tcase_add_test(tc, test_json_control_chars);
	tcase_add_test(tc, test_json_utf8_kept);
	tcase_add_test(tc, test_json_invalid_utf8_replaced);
	tcase_add_test(tc, test_utf8_valid);
	tcase_add_test(tc, test_arena);
	suite_add_tcase(s, tc);
	return s;
}
