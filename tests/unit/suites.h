/*
 * suites.h — one Suite constructor per source file under test.
 * Add a line here and in runner.c when a test_<file>.c joins.
 */
#ifndef CAAS_TEST_SUITES_H
#define CAAS_TEST_SUITES_H

#include <check.h>

Suite	*sqlstate_suite(void);		/* api/src/sqlstate.c */
Suite	*auth_jwt_suite(void);		/* api/src/auth_jwt.c */
Suite	*password_suite(void);		/* api/src/password.c */
Suite	*router_suite(void);		/* api/src/router.c */
Suite	*config_suite(void);		/* api/src/config.c */
Suite	*oauth_suite(void);		/* api/src/oauth.c */
Suite	*sse_suite(void);		/* api/src/sse.c */
Suite	*stripe_suite(void);		/* api/src/stripe.c */
Suite	*buf_suite(void);		/* common/src/buf.c, api/src/arena.c */
Suite	*seal_suite(void);		/* common/src/seal.c */
Suite	*backoff_suite(void);		/* bgworker/src/backoff.c */
Suite	*log_suite(void);		/* bgworker/src/log.c */
Suite	*dispatcher_config_suite(void);	/* bgworker/src/config.c */
Suite	*loop_suite(void);		/* bgworker/src/loop.c (timer) */
Suite	*queue_suite(void);		/* bgworker/src/queue.c (helpers) */
Suite	*http_multi_suite(void);	/* bgworker/src/http_multi.c */
Suite	*dispatch_suite(void);		/* bgworker/src/dispatch.c, refresh.c */
Suite	*ai_suite(void);		/* bgworker/src/ai.c */
Suite	*ai_provider_suite(void);	/* bgworker/src/ai_provider.c */
Suite	*textdiff_suite(void);		/* extension/src/textdiff.c */
Suite	*xtext_suite(void);		/* extension/src/xtext.c */
Suite	*xtext_url_suite(void);		/* extension/src/xtext_url.c */

/* bgworker/src/adapters/ */
Suite	*adapters_common_suite(void);	/* adapters/common.c */
Suite	*adapters_ratelimit_suite(void);	/* adapters/ratelimit.c */
Suite	*adapters_oauth_suite(void);	/* adapters/oauth.c */
Suite	*adapter_registry_suite(void);	/* adapters/registry.c */
Suite	*x_adapter_suite(void);		/* adapters/x.c */
Suite	*linkedin_adapter_suite(void);	/* adapters/linkedin.c */
Suite	*instagram_adapter_suite(void);	/* adapters/instagram.c */
Suite	*sandbox_adapter_suite(void);	/* adapters/sandbox.c */

#endif /* CAAS_TEST_SUITES_H */
