/*
 * test_sandbox.c — bgworker/src/adapters/sandbox.c: publishes without any
 * request, locally only.
 */
#include <string.h>

#include "../../suites.h"
#include "fixture.h"

START_TEST(test_published_without_a_request)
{
	const struct caas_adapter	*a = adapter_find("sandbox");
	struct adapter_post		 p = {
		.post_id = "00000000-0000-0000-0000-0000000000b9", .text = "demo",
	};
	struct adapter_state		 st;
	struct adapter_request		 req;
	struct adapter_result		 r;

	ck_assert_ptr_nonnull(a);
	memset(&st, 0, sizeof(st));
	request_init(&req);
	ck_assert_int_eq(a->prepare(&p, &st, &req, &r), ADAPTER_DONE);
	ck_assert_int_eq(r.outcome, ADAPTER_PUBLISHED);
	ck_assert_str_eq(r.remote_id, "sandbox-00000000-0000-0000-0000-0000000000b9");
	ck_assert_str_eq(r.remote_url, "");
	ck_assert_str_eq(req.url, "");
	ck_assert_ptr_null(req.headers);
	ck_assert_ptr_nonnull(strstr(r.message, "sandbox"));
	ck_assert_ptr_null(a->refresh_prepare);
	ck_assert_ptr_null(a->refresh_classify);
	request_cleanup(&req);
}
END_TEST

Suite *
sandbox_adapter_suite(void)
{
	Suite	*s = suite_create("adapter_sandbox");
	TCase	*tc = tcase_create("publish");

	tcase_add_test(tc, test_published_without_a_request);
	suite_add_tcase(s, tc);
	return s;
}
