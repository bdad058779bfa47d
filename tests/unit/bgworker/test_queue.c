/*
 * test_queue.c — bgworker/src/queue.c, the parts that need no database:
 * instants as the SQL functions read them, messages made safe for a
 * jsonb string, the heartbeat's stats and the JSON of the AI job calls.  The statements themselves run against a real cluster in
 * the dispatcher's integration tests.
 */
#include <string.h>

#include <jansson.h>

#include "../suites.h"
#include "buf.h"
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

START_TEST(test_heartbeat_stats_json)
{
	struct queue_stats	 st = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct queue_ai_stats	 ai;
	struct buf		 b;
	json_error_t		 jerr;
	json_t			*o, *p;

	memset(&ai, 0, sizeof(ai));
	buf_init(&b);
	ck_assert_int_eq(queue_stats_json(&b, &st, &ai), 0);
	o = json_loads(b.data, 0, &jerr);
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "published")), 2);
	/* No provider: an empty array, which caas.ai_generate reads as 503. */
	p = json_object_get(o, "ai_providers");
	ck_assert(json_is_array(p));
	ck_assert_int_eq(json_array_size(p), 0);
	json_decref(o);
	buf_cleanup(&b);

	ai.providers[0] = "openai";
	ai.providers[1] = "my \"compat\"";
	ai.nproviders = 2;
	ai.in_flight = 9;
	ai.calls = 12;
	ck_assert_int_eq(queue_stats_json(&b, &st, &ai), 0);
	o = json_loads(b.data, 0, &jerr);
	ck_assert_ptr_nonnull(o);
	p = json_object_get(o, "ai_providers");
	ck_assert_int_eq(json_array_size(p), 2);
	ck_assert_str_eq(json_string_value(json_array_get(p, 1)), "my \"compat\"");
	ck_assert_int_eq(json_integer_value(json_object_get(o, "ai_in_flight")), 9);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "ai_calls")), 12);
	json_decref(o);
	buf_cleanup(&b);
}
END_TEST

START_TEST(test_ai_outcomes_json)
{
	static char		 v0[] = "Line one\nline \"two\"", v1[] = "caf\xc3\xa9";
	char *const		 variants[] = { v0, v1 };
	struct queue_ai_outcome	 out[3];
	struct buf		 b;
	json_error_t		 jerr;
	json_t			*a, *e;

	memset(out, 0, sizeof(out));
	out[0] = (struct queue_ai_outcome){ "o1", "j1", 2, QUEUE_AI_SUCCESS, "openai", "gpt-x",
	    10, 20, variants, 2, true, 1, NULL, NULL, 0, "[{\"class\":\"ok\"}]" };
	out[1] = (struct queue_ai_outcome){ .org_id = "o1", .job_id = "j2", .claim = 1,
	    .kind = QUEUE_AI_FAILURE, .error_code = "insufficient_quota", .message = "openai: no \"quota\"" };
	out[2] = (struct queue_ai_outcome){ .org_id = "o1", .job_id = "j3", .claim = 5,
	    .kind = QUEUE_AI_REQUEUE, .requeue_after_ms = 0 };
	buf_init(&b);
	ck_assert_int_eq(queue_ai_outcomes_json(&b, out, 3), 0);
	a = json_loads(b.data, 0, &jerr);
	ck_assert_msg(json_is_array(a), "%s", b.data);
	e = json_array_get(a, 0);
	ck_assert(json_is_true(json_object_get(e, "ok")));
	ck_assert_int_eq(json_integer_value(json_object_get(e, "claim")), 2);
	ck_assert_str_eq(json_string_value(json_object_get(e, "provider")), "openai");
	ck_assert_int_eq(json_integer_value(json_object_get(e, "completion_tokens")), 20);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(e, "variants"), 0)), v0);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(e, "variants"), 1)), v1);
	ck_assert(json_is_true(json_object_get(e, "final")));
	ck_assert_int_eq(json_integer_value(json_object_get(e, "reprompts")), 1);
	ck_assert_int_eq(json_array_size(json_object_get(e, "attempts")), 1);
	e = json_array_get(a, 1);
	ck_assert(json_is_false(json_object_get(e, "ok")));
	ck_assert_str_eq(json_string_value(json_object_get(e, "error_code")), "insufficient_quota");
	ck_assert_str_eq(json_string_value(json_object_get(e, "message")), "openai: no \"quota\"");
	ck_assert(json_is_array(json_object_get(e, "attempts")));
	ck_assert_ptr_null(json_object_get(e, "requeue_after_ms"));
	e = json_array_get(a, 2);
	ck_assert(json_is_false(json_object_get(e, "ok")));
	ck_assert_int_eq(json_integer_value(json_object_get(e, "requeue_after_ms")), 0);
	ck_assert_ptr_null(json_object_get(e, "error_code"));
	json_decref(a);
	buf_cleanup(&b);
}
END_TEST

START_TEST(test_ai_results_read)
{
	static const char	 text[] = "[{\"job_id\":\"j1\",\"ok\":true,\"state\":\"too_long\","
	    "\"reprompt\":\"Shorter, please.\"},{\"job_id\":\"j2\",\"ok\":false,"
	    "\"sqlstate\":\"CA002\",\"message\":\"AI job is not running\"}]";
	struct queue_ai_recorded res[3];

	queue_ai_results_read(text, strlen(text), res, 3);
	ck_assert(res[0].ok);
	ck_assert_str_eq(res[0].state, "too_long");
	ck_assert_str_eq(res[0].reprompt, "Shorter, please.");
	ck_assert(!res[1].ok);
	ck_assert_str_eq(res[1].sqlstate, "CA002");
	ck_assert_ptr_null(res[1].reprompt);
	/* Missing from the answer: not ok. */
	ck_assert(!res[2].ok);
	ck_assert_str_eq(res[2].sqlstate, "XX000");
	queue_ai_recorded_free(res, 3);
	ck_assert_ptr_null(res[0].reprompt);
}
END_TEST

Suite *
queue_suite(void)
{
	Suite	*s = suite_create("queue");
	TCase	*tc = tcase_create("helpers");

	tcase_add_test(tc, test_instant_is_iso_utc_with_ms);
	tcase_add_test(tc, test_text_clean);
	tcase_add_test(tc, test_heartbeat_stats_json);
	tcase_add_test(tc, test_ai_outcomes_json);
	tcase_add_test(tc, test_ai_results_read);
	suite_add_tcase(s, tc);
	return s;
}
