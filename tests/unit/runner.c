/*
 * runner.c — runs every check suite of api/ and bgworker/ code.
 *
 * Exit status is 0 only when every test passed.  The closing line is
 * check's own "N%: Checks: N, Failures: N, Errors: N".
 */
#include <stdlib.h>

#include "suites.h"

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(sqlstate_suite());
	srunner_add_suite(sr, auth_jwt_suite());
	srunner_add_suite(sr, password_suite());
	srunner_add_suite(sr, router_suite());
	srunner_add_suite(sr, config_suite());
	srunner_add_suite(sr, oauth_suite());
	srunner_add_suite(sr, sse_suite());
	srunner_add_suite(sr, stripe_suite());
	srunner_add_suite(sr, buf_suite());
	srunner_add_suite(sr, seal_suite());
	srunner_add_suite(sr, backoff_suite());
	srunner_add_suite(sr, log_suite());
	srunner_add_suite(sr, dispatcher_config_suite());
	srunner_add_suite(sr, loop_suite());
	srunner_add_suite(sr, queue_suite());
	srunner_add_suite(sr, http_multi_suite());
	srunner_add_suite(sr, dispatch_suite());
	srunner_add_suite(sr, ai_suite());
	srunner_add_suite(sr, ai_provider_suite());
	srunner_add_suite(sr, textdiff_suite());
	srunner_add_suite(sr, xtext_suite());
	srunner_add_suite(sr, xtext_url_suite());

	/* bgworker/src/adapters/ */
	srunner_add_suite(sr, adapters_common_suite());
	srunner_add_suite(sr, adapters_ratelimit_suite());
	srunner_add_suite(sr, adapters_oauth_suite());
	srunner_add_suite(sr, adapter_registry_suite());
	srunner_add_suite(sr, x_adapter_suite());
	srunner_add_suite(sr, linkedin_adapter_suite());
	srunner_add_suite(sr, instagram_adapter_suite());
	srunner_add_suite(sr, sandbox_adapter_suite());

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
