/*
 * test_config.c — api/src/config.c: defaults, file parsing with line
 * numbers, bounds, environment overrides, secrets only from the
 * environment or a *_file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../suites.h"
#include "config.h"

#define SECRET	"0123456789abcdef0123456789abcdef"

static struct api_config	 cfg;
static char			 err[1024];
static char			 path[64], secret_path[64];

/* write_tmp writes text to a new temporary file named into out. */
static void
write_tmp(char *out, size_t outlen, const char *text)
{
	int	 fd;

	snprintf(out, outlen, "/tmp/caas-test-config-XXXXXX");
	fd = mkstemp(out);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static int
load(const char *text)
{
	write_tmp(path, sizeof(path), text);
	return (config_load(&cfg, path, err, sizeof(err)));
}

static void
setup(void)
{
	path[0] = secret_path[0] = err[0] = '\0';
	unsetenv("CAAS_API_PORT");
	unsetenv("CAAS_API_JWT_SECRET_FILE");
	setenv("CAAS_API_JWT_SECRET", SECRET, 1);
	ck_assert_int_eq(config_init(&cfg), 0);
}

static void
teardown(void)
{
	config_cleanup(&cfg);
	if (path[0] != '\0')
		unlink(path);
	if (secret_path[0] != '\0')
		unlink(secret_path);
	unsetenv("CAAS_API_JWT_SECRET");
	unsetenv("CAAS_API_PORT");
}

START_TEST(test_defaults)
{
	ck_assert_int_eq(config_load(&cfg, NULL, err, sizeof(err)), 0);
	ck_assert_str_eq(cfg.listen_address, "127.0.0.1");
	ck_assert_int_eq(cfg.port, 8000);
	ck_assert_int_eq(cfg.threads, 4);
	ck_assert_int_eq(cfg.connection_timeout_sec, 10);
	ck_assert_int_eq(cfg.statement_timeout_ms, 5000);
	ck_assert_int_eq(cfg.access_ttl_sec, 900);
	ck_assert_int_eq(cfg.refresh_ttl_sec, 604800);
	ck_assert_int_eq(cfg.max_body_bytes, 1048576);
	ck_assert_str_eq(cfg.jwt_issuer, "caas");
	ck_assert_str_eq(cfg.jwt_audience, "caas-api");
	ck_assert_str_eq(cfg.user, "nobody");
	ck_assert_str_eq(cfg.cors_origins, "");
	ck_assert_str_eq(cfg.jwt_secret, SECRET);
	ck_assert(cfg.access_log);
	ck_assert_str_eq(cfg.stripe_base_url, "https://api.stripe.com");
	ck_assert_str_eq(cfg.stripe_secret_key, "");
	ck_assert_str_eq(cfg.stripe_webhook_secrets, "");
	ck_assert_int_eq(cfg.stripe_webhook_tolerance_sec, 300);
	ck_assert_str_eq(cfg.stripe_prices, "");
}
END_TEST

START_TEST(test_stripe_keys)
{
	char	 text[256];

	/* Stripe's keys are secrets: never from the file, named without the value. */
	ck_assert_int_eq(load("stripe_secret_key sk_test_abc\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, "CAAS_API_STRIPE_SECRET_KEY"));
	ck_assert_ptr_null(strstr(err, "sk_test_abc"));
	unlink(path);
	ck_assert_int_eq(load("stripe_webhook_secrets whsec_a,whsec_b\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, "CAAS_API_STRIPE_WEBHOOK_SECRETS"));
	ck_assert_ptr_null(strstr(err, "whsec_a"));
	unlink(path);
	ck_assert_int_eq(load("stripe_webhook_tolerance_sec 0\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, "out of range 1..3600"));
	unlink(path);
	/* From the environment and from a _file. */
	setenv("CAAS_API_STRIPE_WEBHOOK_SECRETS", "whsec_a,whsec_b", 1);
	write_tmp(secret_path, sizeof(secret_path), "sk_test_from_file\n");
	snprintf(text, sizeof(text), "stripe_secret_key_file %s\nstripe_prices pro:price_1\n"
	    "stripe_base_url http://127.0.0.1:12111\n", secret_path);
	ck_assert_int_eq(load(text), 0);
	unsetenv("CAAS_API_STRIPE_WEBHOOK_SECRETS");
	ck_assert_str_eq(cfg.stripe_secret_key, "sk_test_from_file");
	ck_assert_str_eq(cfg.stripe_webhook_secrets, "whsec_a,whsec_b");
	ck_assert_str_eq(cfg.stripe_prices, "pro:price_1");
	ck_assert_str_eq(cfg.stripe_base_url, "http://127.0.0.1:12111");
}
END_TEST

START_TEST(test_file_values)
{
	ck_assert_int_eq(load("# comment\n\n  port 8080\nthreads\t8\n"
	    "database_url \"host=db dbname=caas user=caas_authenticator\"\n"
	    "cors_origins https://a.example, https://b.example\n"
	    "access_log no\n"), 0);
	ck_assert_int_eq(cfg.port, 8080);
	ck_assert_int_eq(cfg.threads, 8);
	ck_assert_str_eq(cfg.database_url, "host=db dbname=caas user=caas_authenticator");
	ck_assert_str_eq(cfg.cors_origins, "https://a.example, https://b.example");
	ck_assert(!cfg.access_log);
	ck_assert(config_origin_allowed(&cfg, "https://b.example"));
	ck_assert(!config_origin_allowed(&cfg, "https://c.example"));
	ck_assert(!config_origin_allowed(&cfg, NULL));
}
END_TEST

START_TEST(test_unknown_key_has_line_number)
{
	ck_assert_int_eq(load("port 8080\n# x\nprot 8081\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, ":3: unknown key \"prot\""));
	ck_assert_ptr_nonnull(strstr(err, path));
}
END_TEST

START_TEST(test_bounds)
{
	ck_assert_int_eq(load("port 0\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, ":1: port: 0 is out of range 1..65535"));
	unlink(path);
	ck_assert_int_eq(load("threads 65\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, "threads: 65 is out of range 1..64"));
	unlink(path);
	ck_assert_int_eq(load("port 80x\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, "not an integer"));
	unlink(path);
	ck_assert_int_eq(load("access_log maybe\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, "expected yes or no"));
	unlink(path);
	ck_assert_int_eq(load("user \"nobody\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, "unterminated"));
}
END_TEST

START_TEST(test_env_overrides_file)
{
	setenv("CAAS_API_PORT", "9001", 1);
	ck_assert_int_eq(load("port 8080\n"), 0);
	ck_assert_int_eq(cfg.port, 9001);
	setenv("CAAS_API_PORT", "70000", 1);
	ck_assert_int_eq(config_load(&cfg, NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "CAAS_API_PORT"));
}
END_TEST

START_TEST(test_secret_in_file_refused)
{
	ck_assert_int_eq(load("port 8080\njwt_secret " SECRET "\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, ":2: jwt_secret is a secret"));
	/* The message names where to put it and never echoes the value. */
	ck_assert_ptr_nonnull(strstr(err, "CAAS_API_JWT_SECRET"));
	ck_assert_ptr_null(strstr(err, SECRET));
}
END_TEST

START_TEST(test_secret_from_file)
{
	char	 text[256];

	unsetenv("CAAS_API_JWT_SECRET");
	write_tmp(secret_path, sizeof(secret_path), "abcdefghijabcdefghijabcdefghijabcdef\n");
	snprintf(text, sizeof(text), "jwt_secret_file %s\n", secret_path);
	ck_assert_int_eq(load(text), 0);
	ck_assert_str_eq(cfg.jwt_secret, "abcdefghijabcdefghijabcdefghijabcdef");
}
END_TEST

START_TEST(test_secret_twice_refused)
{
	setenv("CAAS_API_JWT_SECRET_FILE", "/nonexistent", 1);
	ck_assert_int_eq(config_load(&cfg, NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "both set"));
}
END_TEST

START_TEST(test_secret_required_and_bounded)
{
	unsetenv("CAAS_API_JWT_SECRET");
	ck_assert_int_eq(config_load(&cfg, NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "jwt_secret is not set"));
	setenv("CAAS_API_JWT_SECRET", "short", 1);
	ck_assert_int_eq(config_load(&cfg, NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "length 5 is out of range 32..64"));
}
END_TEST

START_TEST(test_missing_file)
{
	ck_assert_int_eq(config_load(&cfg, "/nonexistent/api.conf", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/api.conf"));
}
END_TEST

START_TEST(test_shipped_conf_loads)
{
	/* conf/api.conf documents every key with its default. */
	ck_assert_int_eq(config_load(&cfg, CAAS_CONF_DIR "/api.conf", err, sizeof(err)), 0);
	ck_assert_int_eq(cfg.port, 8000);
}
END_TEST

Suite *
config_suite(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc = tcase_create("load");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_file_values);
	tcase_add_test(tc, test_unknown_key_has_line_number);
	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_env_overrides_file);
	tcase_add_test(tc, test_secret_in_file_refused);
	tcase_add_test(tc, test_secret_from_file);
	tcase_add_test(tc, test_secret_twice_refused);
	tcase_add_test(tc, test_secret_required_and_bounded);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_shipped_conf_loads);
	tcase_add_test(tc, test_stripe_keys);
	suite_add_tcase(s, tc);
	return s;
}
