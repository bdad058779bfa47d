/*
 * test_router.c — api/src/router.c: 404 vs 405 with Allow, parameters,
 * trailing slashes, hostile paths.  Uses its own route table, so it needs
 * neither routes.c nor any handler.
 */
#include <string.h>

#include "../suites.h"
#include "router.h"

static int
h_dummy(struct api_request *req, struct api_response *resp)
{
	(void)req;
	(void)resp;
	return (0);
}

static const struct api_route table[] = {
	{ .method = "GET", .pattern = "/api/v1/health/", .handler = h_dummy },
	{ .method = "GET", .pattern = "/api/v1/orgs/", .handler = h_dummy },
	{ .method = "POST", .pattern = "/api/v1/orgs/", .handler = h_dummy },
	{ .method = "GET", .pattern = "/api/v1/orgs/{org}/", .handler = h_dummy },
	{ .method = "PATCH", .pattern = "/api/v1/orgs/{org}/", .handler = h_dummy },
	{ .method = "DELETE", .pattern = "/api/v1/orgs/{org}/", .handler = h_dummy },
	{ .method = "GET", .pattern = "/api/v1/orgs/{org}/content/{content}/versions/{version}/", .handler = h_dummy },
	{ .method = "POST", .pattern = "/api/v1/invitations/{token}/", .handler = h_dummy },
	{ .method = "GET", .pattern = "/api/v1/oauth/{platform}/", .handler = h_dummy },
	{ .method = "GET", .pattern = "/metrics", .handler = h_dummy },
	{ .method = NULL },
};

#define ORG	"0b9f1d3c-6e2a-4c1b-9d7e-2f3a4b5c6d7e"
#define CONTENT	"AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE"

static struct router_match m;

START_TEST(test_found)
{
	ck_assert_int_eq(router_lookup(table, "GET", "/api/v1/health/", &m), 200);
	ck_assert_ptr_eq(m.route, &table[0]);
	ck_assert_int_eq(m.nparams, 0);
	ck_assert_int_eq(router_lookup(table, "POST", "/api/v1/orgs/", &m), 200);
	ck_assert_ptr_eq(m.route, &table[2]);
}
END_TEST

START_TEST(test_trailing_slash_optional)
{
	ck_assert_int_eq(router_lookup(table, "GET", "/api/v1/health", &m), 200);
	ck_assert_int_eq(router_lookup(table, "GET", "/metrics/", &m), 200);
	ck_assert_int_eq(router_lookup(table, "GET", "/metrics", &m), 200);
	ck_assert_int_eq(router_lookup(table, "GET", "/api/v1/orgs/" ORG, &m), 200);
}
END_TEST

START_TEST(test_404_vs_405)
{
	ck_assert_int_eq(router_lookup(table, "GET", "/api/v1/nope/", &m), 404);
	ck_assert_str_eq(m.allow, "");
	ck_assert_int_eq(router_lookup(table, "DELETE", "/api/v1/orgs/", &m), 405);
	ck_assert_str_eq(m.allow, "GET, POST");
	ck_assert_ptr_null(m.route);
	ck_assert_int_eq(router_lookup(table, "POST", "/api/v1/orgs/" ORG "/", &m), 405);
	ck_assert_str_eq(m.allow, "GET, PATCH, DELETE");
	ck_assert_int_eq(router_lookup(table, "HEAD", "/metrics", &m), 405);
	ck_assert_str_eq(m.allow, "GET");
	/* A bad parameter is no path at all: 404, not 405. */
	ck_assert_int_eq(router_lookup(table, "POST", "/api/v1/orgs/42/", &m), 404);
}
END_TEST

START_TEST(test_params)
{
	ck_assert_int_eq(router_lookup(table, "GET",
	    "/api/v1/orgs/" ORG "/content/" CONTENT "/versions/12/", &m), 200);
	ck_assert_int_eq(m.nparams, 3);
	ck_assert_str_eq(m.params[0], ORG);
	ck_assert_str_eq(m.params[1], CONTENT);
	ck_assert_str_eq(m.params[2], "12");
	ck_assert_int_eq(router_lookup(table, "POST", "/api/v1/invitations/abc_DEF-1.x/", &m), 200);
	ck_assert_str_eq(m.params[0], "abc_DEF-1.x");
	ck_assert_int_eq(router_lookup(table, "GET", "/api/v1/oauth/linkedin/", &m), 200);
	ck_assert_str_eq(m.params[0], "linkedin");
}
END_TEST

START_TEST(test_params_rejected)
{
	/* not canonical uuids */
	ck_assert_int_eq(router_lookup(table, "GET", "/api/v1/orgs/not-a-uuid/", &m), 404);
	ck_assert_int_eq(router_lookup(table, "GET", "/api/v1/orgs/0b9f1d3c6e2a4c1b9d7e2f3a4b5c6d7e/", &m), 404);
	ck_assert_int_eq(router_lookup(table, "GET", "/api/v1/orgs/{0b9f1d3c-6e2a-4c1b-9d7e-2f3a4b5c6d7e}/", &m), 404);
	ck_assert_int_eq(router_lookup(table, "GET", "/api/v1/orgs/0b9f1d3c-6e2a-4c1b-9d7e-2f3a4b5c6d7g/", &m), 404);
	/* version must be digits, at most 9 */
	ck_assert_int_eq(router_lookup(table, "GET",
	    "/api/v1/orgs/" ORG "/content/" CONTENT "/versions/-1/", &m), 404);
	ck_assert_int_eq(router_lookup(table, "GET",
	    "/api/v1/orgs/" ORG "/content/" CONTENT "/versions/1234567890/", &m), 404);
	/* slug is lowercase */
	ck_assert_int_eq(router_lookup(table, "GET", "/api/v1/oauth/LinkedIn/", &m), 404);
}
END_TEST

START_TEST(test_hostile_paths)
{
	char	 longpath[ROUTER_PATH_MAX + 16];

	ck_assert_int_eq(router_lookup(table, "GET", "", &m), 404);
	ck_assert_int_eq(router_lookup(table, "GET", "metrics", &m), 404);
	ck_assert_int_eq(router_lookup(table, "GET", "//metrics", &m), 404);
	ck_assert_int_eq(router_lookup(table, "GET", "/api//v1/health/", &m), 404);
	ck_assert_int_eq(router_lookup(table, "GET", "/api/v1/../v1/health/", &m), 404);
	ck_assert_int_eq(router_lookup(table, "GET", "/api/v1/./health/", &m), 404);
	ck_assert_int_eq(router_lookup(table, "GET", "/api/v1/health/..", &m), 404);
	ck_assert_int_eq(router_lookup(table, "GET", "/api/v1/health%2F", &m), 404);
	ck_assert_int_eq(router_lookup(table, "GET", "/api/v1/he alth/", &m), 404);
	ck_assert_int_eq(router_lookup(table, "GET", "/api/v1/health/\x01", &m), 404);
	ck_assert_int_eq(router_lookup(table, "GET", "/api/v1/h\xc3\xa9" "alth/", &m), 404);
	ck_assert_int_eq(router_lookup(table, "GET", "/api\\v1/health/", &m), 404);
	ck_assert_int_eq(router_lookup(table, "GET", NULL, &m), 404);
	ck_assert_int_eq(router_lookup(table, NULL, "/metrics", &m), 404);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	ck_assert_int_eq(router_lookup(table, "GET", longpath, &m), 404);
}
END_TEST

START_TEST(test_param_kinds)
{
	ck_assert_int_eq(router_param_kind("org", 3), ROUTER_PARAM_UUID);
	ck_assert_int_eq(router_param_kind("version", 7), ROUTER_PARAM_INT);
	ck_assert_int_eq(router_param_kind("token", 5), ROUTER_PARAM_TOKEN);
	ck_assert_int_eq(router_param_kind("platform", 8), ROUTER_PARAM_SLUG);
	ck_assert_int_eq(router_param_kind("file", 4), ROUTER_PARAM_TOKEN);
	ck_assert_int_eq(router_param_kind("versions", 8), ROUTER_PARAM_UUID);
}
END_TEST

Suite *
router_suite(void)
{
	Suite	*s = suite_create("router");
	TCase	*tc = tcase_create("lookup");

	tcase_add_test(tc, test_found);
	tcase_add_test(tc, test_trailing_slash_optional);
	tcase_add_test(tc, test_404_vs_405);
	tcase_add_test(tc, test_params);
	tcase_add_test(tc, test_params_rejected);
	tcase_add_test(tc, test_hostile_paths);
	tcase_add_test(tc, test_param_kinds);
	suite_add_tcase(s, tc);
	return s;
}
