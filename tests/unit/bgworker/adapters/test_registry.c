/*
 * test_registry.c — bgworker/src/adapters/registry.c: the adapter list and
 * lookup by name, and what every row must provide.
 */
#include <string.h>

#include "../../suites.h"
#include "adapter.h"
#include "adapter_conf.h"

START_TEST(test_find_by_name)
{
	ck_assert_str_eq(adapter_find("x")->name, "x");
	ck_assert_str_eq(adapter_find("linkedin")->name, "linkedin");
	ck_assert_str_eq(adapter_find("instagram")->name, "instagram");
	ck_assert_str_eq(adapter_find("sandbox")->name, "sandbox");
	ck_assert_ptr_null(adapter_find("X"));
	ck_assert_ptr_null(adapter_find("mastodon"));
	ck_assert_ptr_null(adapter_find(""));
	ck_assert_ptr_null(adapter_find(NULL));
}
END_TEST

START_TEST(test_every_row_is_complete)
{
	const struct caas_adapter *const	*a;
	const struct adapter_setting		*s;
	int					 n = 0;

	for (a = adapter_registry; *a != NULL; a++, n++) {
		ck_assert_ptr_nonnull((*a)->name);
		ck_assert_ptr_nonnull((*a)->prepare);
		ck_assert_ptr_nonnull((*a)->classify);
		/* Refresh is both or neither. */
		ck_assert(((*a)->refresh_prepare == NULL) ==
		    ((*a)->refresh_classify == NULL));
		ck_assert_ptr_eq(adapter_find((*a)->name), *a);
		for (s = (*a)->settings; s != NULL && s->key != NULL; s++) {
			ck_assert_ptr_nonnull(s->def);
			ck_assert_ptr_nonnull(s->doc);
			ck_assert_ptr_eq(adapter_setting_find(*a, s->key), s);
		}
	}
	ck_assert_int_eq(n, 4);
}
END_TEST

START_TEST(test_secrets_are_marked)
{
	ck_assert(adapter_setting_find(adapter_find("x"), "client_secret")->secret);
	ck_assert(adapter_setting_find(adapter_find("linkedin"), "client_secret")->secret);
	ck_assert(!adapter_setting_find(adapter_find("x"), "base_url")->secret);
	ck_assert_str_eq(adapter_conf(adapter_find("instagram"), "api_version"), "v21.0");
	ck_assert_str_eq(adapter_conf(adapter_find("linkedin"), "version"), "202601");
}
END_TEST

Suite *
adapter_registry_suite(void)
{
	Suite	*s = suite_create("adapter_registry");
	TCase	*tc = tcase_create("lookup");

	tcase_add_test(tc, test_find_by_name);
	tcase_add_test(tc, test_every_row_is_complete);
	tcase_add_test(tc, test_secrets_are_marked);
	suite_add_tcase(s, tc);
	return s;
}
