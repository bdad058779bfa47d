/*
 * suites.h — one Suite constructor per source file under test.
 * Add a line here and in runner.c when a test_<file>.c joins.
 */
#ifndef CAAS_TEST_SUITES_H
#define CAAS_TEST_SUITES_H

#include <check.h>

Suite	*sqlstate_suite(void);		/* api/src/sqlstate.c */
Suite	*backoff_suite(void);		/* bgworker/src/backoff.c */
Suite	*textdiff_suite(void);		/* extension/src/textdiff.c */
Suite	*xtext_suite(void);		/* extension/src/xtext.c */
Suite	*xtext_url_suite(void);		/* extension/src/xtext_url.c */

#endif /* CAAS_TEST_SUITES_H */
