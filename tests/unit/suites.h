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
Suite	*buf_suite(void);		/* common/src/buf.c, api/src/arena.c */
Suite	*seal_suite(void);		/* common/src/seal.c */
Suite	*backoff_suite(void);		/* bgworker/src/backoff.c */
Suite	*textdiff_suite(void);		/* extension/src/textdiff.c */
Suite	*xtext_suite(void);		/* extension/src/xtext.c */
Suite	*xtext_url_suite(void);		/* extension/src/xtext_url.c */

#endif /* CAAS_TEST_SUITES_H */
