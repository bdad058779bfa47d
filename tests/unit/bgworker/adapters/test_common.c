/*
 * test_common.c — bgworker/src/adapters/common.c: the helpers every
 * adapter leans on (transport failures, JSON reads, identifiers, messages
 * that never carry a token, request building).
 */
#include <stdint.h>
#include <string.h>

#include "../../suites.h"
#include "adapters/common.h"
#include "fixture.h"

START_TEST(test_transport_outcome)
{
	struct fixture	 f;
	char		 msg[ADAPTER_MSG_MAX];

	fixture_no_answer(&f, false, false);
	ck_assert_int_eq(adapters_transport_outcome(&f.resp, false, msg, sizeof(msg)),
	    ADAPTER_RETRY);
	ck_assert_ptr_nonnull(strstr(msg, "not sent"));
	fixture_no_answer(&f, true, true);
	ck_assert_int_eq(adapters_transport_outcome(&f.resp, false, msg, sizeof(msg)),
	    ADAPTER_UNKNOWN);
	ck_assert_ptr_nonnull(strstr(msg, "timed out"));
	/* A read that got no answer is simply read again. */
	ck_assert_int_eq(adapters_transport_outcome(&f.resp, true, msg, sizeof(msg)),
	    ADAPTER_RETRY);
	fixture_free(&f);
}
END_TEST

START_TEST(test_json_reads_check_types)
{
	json_error_t	 e;
	json_t		*j = json_loads("{\"a\":{\"b\":\"s\",\"n\":5,\"r\":7.0,"
			    "\"q\":\"42\",\"f\":1.5,\"big\":\"1234567890123456789012\"},"
			    "\"arr\":[1]}", 0, &e);
	int64_t		 n = -1;

	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(adapters_json_str(j, "a", "b", NULL), "s");
	ck_assert_ptr_null(adapters_json_str(j, "a", "n", NULL));
	ck_assert_ptr_null(adapters_json_str(j, "arr", "x", NULL));
	ck_assert_ptr_null(adapters_json_str(j, "a", "b", "c", NULL));
	ck_assert_ptr_null(adapters_json_str(NULL, "a", NULL));
	ck_assert(adapters_json_int(&n, j, "a", "n", NULL) && n == 5);
	ck_assert(adapters_json_int(&n, j, "a", "r", NULL) && n == 7);
	ck_assert(adapters_json_int(&n, j, "a", "q", NULL) && n == 42);
	ck_assert(!adapters_json_int(&n, j, "a", "f", NULL));
	ck_assert(!adapters_json_int(&n, j, "a", "big", NULL));
	ck_assert(!adapters_json_int(&n, j, "a", "b", NULL));
	json_decref(j);
}
END_TEST

START_TEST(test_json_parse_refuses_what_is_not_ours)
{
	struct fixture	 f;

	fixture_init(&f);
	f.resp.body = "{\"a\":1}";
	f.resp.body_len = 3;		/* truncated */
	ck_assert_ptr_null(adapters_json_parse(&f.resp));
	f.resp.body_len = ADAPTERS_JSON_MAX + 1;	/* too big: not even read */
	ck_assert_ptr_null(adapters_json_parse(&f.resp));
	f.resp.body = "";
	f.resp.body_len = 0;
	ck_assert_ptr_null(adapters_json_parse(&f.resp));
}
END_TEST

START_TEST(test_id_copy)
{
	char	 id[16];

	ck_assert(adapters_id_copy(id, sizeof(id), "1880000000000001"
	    + 1) && strcmp(id, "880000000000001") == 0);
	ck_assert(adapters_id_copy(id, sizeof(id), "urn:li:share:7"));
	ck_assert(!adapters_id_copy(id, sizeof(id), "1880000000000001"));	/* too long */
	ck_assert_str_eq(id, "");
	ck_assert(!adapters_id_copy(id, sizeof(id), ""));
	ck_assert(!adapters_id_copy(id, sizeof(id), NULL));
	ck_assert(!adapters_id_copy(id, sizeof(id), "1/../me"));
	ck_assert(!adapters_id_copy(id, sizeof(id), "1 2"));
	ck_assert(!adapters_id_copy(id, sizeof(id), "1?x=2"));
	ck_assert(!adapters_id_copy(id, sizeof(id), "1\r\nX: y"));
	ck_assert(!adapters_id_copy(id, sizeof(id), ".."));
	ck_assert(!adapters_id_copy(id, sizeof(id), ".hidden"));
	ck_assert(adapters_id_copy(id, sizeof(id), "v21.0"));
}
END_TEST

START_TEST(test_message_redacts_credentials)
{
	char	 m[256];

	adapters_message_copy(m, sizeof(m),
	    "bad request: access_token=EAAB123secret&x=1", NULL);
	ck_assert_str_eq(m, "bad request: access_token=[redacted]&x=1");
	adapters_message_copy(m, sizeof(m),
	    "{\"refresh_token\": \"r-123\", \"ok\": 1}", NULL);
	ck_assert_ptr_null(strstr(m, "r-123"));
	adapters_message_copy(m, sizeof(m), "Authorization: Bearer abc.def", NULL);
	ck_assert_str_eq(m, "Authorization: Bearer [redacted]");
	adapters_message_copy(m, sizeof(m), "echo of tok-SECRET-42 here",
	    "tok-SECRET-42");
	ck_assert_str_eq(m, "echo of [redacted] here");
}
END_TEST

START_TEST(test_message_is_clean_and_bounded)
{
	char	 m[16], big[64];

	adapters_message_copy(big, sizeof(big), "line1\nline2\t\x01!", NULL);
	ck_assert_str_eq(big, "line1 line2  !");
	adapters_message_copy(big, sizeof(big), "bad \xff\xfe utf8 \xed\xa0\x80", NULL);
	ck_assert_str_eq(big, "bad ?? utf8 ???");
	/* Truncated on a character boundary, with an ellipsis. */
	adapters_message_copy(m, sizeof(m), "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", NULL);
	ck_assert_str_eq(m, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xe2\x80\xa6");
	adapters_message_copy(m, sizeof(m), NULL, NULL);
	ck_assert_str_eq(m, "");
	adapters_message_copy(m, 3, "abc", NULL);
	ck_assert_str_eq(m, "");
}
END_TEST

START_TEST(test_urlencode_and_form)
{
	struct buf	 b;

	buf_init(&b);
	ck_assert_int_eq(adapters_form_add(&b, "image_url",
	    "https://cdn.example/a b.jpg?x=1&y=é"), 0);
	ck_assert_int_eq(adapters_form_add(&b, "caption", "#tag ~ok_-."), 0);
	ck_assert_str_eq(b.data, "image_url=https%3A%2F%2Fcdn.example%2Fa%20b.jpg"
	    "%3Fx%3D1%26y%3D%C3%A9&caption=%23tag%20~ok_-.");
	buf_cleanup(&b);
}
END_TEST

START_TEST(test_base64)
{
	struct buf	 b;

	buf_init(&b);
	ck_assert_int_eq(adapters_base64(&b, "client:secret", 13), 0);
	ck_assert_str_eq(b.data, "Y2xpZW50OnNlY3JldA==");
	adapters_buf_wipe(&b);
	ck_assert_int_eq(adapters_base64(&b, "", 0), 0);
	ck_assert_str_eq(b.data, "");
	ck_assert_int_eq(adapters_base64(&b, "ab", 2), 0);
	ck_assert_str_eq(b.data, "YWI=");
	buf_cleanup(&b);
}
END_TEST

START_TEST(test_bearer_refuses_header_injection)
{
	struct adapter_request	 req;

	request_init(&req);
	ck_assert_int_eq(adapters_bearer(&req, "tok-1\r\nX-Evil: 1"), -1);
	ck_assert_int_eq(adapters_bearer(&req, ""), -1);
	ck_assert_int_eq(adapters_bearer(&req, NULL), -1);
	ck_assert_ptr_null(req.headers);
	ck_assert_int_eq(adapters_bearer(&req, "tok-1"), 0);
	ck_assert_str_eq(request_header(&req, "Authorization"), "Bearer tok-1");
	request_cleanup(&req);
}
END_TEST

START_TEST(test_request_url_too_long)
{
	struct adapter_request	 req;
	char			 longer[ADAPTER_URL_MAX + 10];

	request_init(&req);
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	ck_assert_int_eq(adapters_request_url(&req, "https://%s", longer), -1);
	ck_assert_str_eq(req.url, "");
	ck_assert_int_eq(adapters_request_url(&req, "https://%s", "h/p"), 0);
	ck_assert_str_eq(req.url, "https://h/p");
	request_cleanup(&req);
}
END_TEST

Suite *
adapters_common_suite(void)
{
	Suite	*s = suite_create("adapters_common");
	TCase	*tc = tcase_create("transport");
	TCase	*tj = tcase_create("json_and_text");
	TCase	*tr = tcase_create("requests");

	tcase_add_test(tc, test_transport_outcome);
	suite_add_tcase(s, tc);
	tcase_add_test(tj, test_json_reads_check_types);
	tcase_add_test(tj, test_json_parse_refuses_what_is_not_ours);
	tcase_add_test(tj, test_id_copy);
	tcase_add_test(tj, test_message_redacts_credentials);
	tcase_add_test(tj, test_message_is_clean_and_bounded);
	suite_add_tcase(s, tj);
	tcase_add_test(tr, test_urlencode_and_form);
	tcase_add_test(tr, test_base64);
	tcase_add_test(tr, test_bearer_refuses_header_injection);
	tcase_add_test(tr, test_request_url_too_long);
	suite_add_tcase(s, tr);
	return s;
}
