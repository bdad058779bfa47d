/*
 * test_config.c — bgworker/src/config.c: the dispatcher's keys from the
 * file and the environment, secrets only from the environment or a
 * *_file, adapter keys "<adapter>.<setting>", and the checks of keys
 * taken together.  A test adapter with its own settings stands in for the
 * registry, so the test does not depend on the real adapters' settings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../suites.h"
#include "adapter.h"
#include "adapter_conf.h"
/* By path: caas-api has a config.h too, earlier on the include path. */
#include "../../../bgworker/src/config.h"

#define KEY32	"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="

static const struct adapter_setting demo_settings[] = {
	{ "base_url", "https://demo.example.com", false, "base URL" },
	{ "client_secret", "", true, "client secret" },
	{ NULL, NULL, false, NULL },
};

static const struct caas_adapter demo_adapter = {
	.name = "demo",
	.settings = demo_settings,
};

static const struct caas_adapter *const demo_registry[] = { &demo_adapter, NULL };

static struct dispatcher_config	 cfg;
static char			 err[1024];
static char			 path[64], secret_path[64];

static const char *const env_names[] = {
	"CAAS_DISPATCHER_BATCH_SIZE", "CAAS_DISPATCHER_TOKEN_KEYS",
	"CAAS_DISPATCHER_TOKEN_KEYS_FILE", "CAAS_DISPATCHER_DEMO_BASE_URL",
	"CAAS_DISPATCHER_DEMO_CLIENT_SECRET", "CAAS_DISPATCHER_DEMO_CLIENT_SECRET_FILE",
	"CAAS_DISPATCHER_DATABASE_PASSWORD", "CAAS_DISPATCHER_LOG_LEVEL", NULL
};

static void
write_tmp(char *out, size_t outlen, const char *text)
{
	int	 fd;

	snprintf(out, outlen, "/tmp/caas-test-dconf-XXXXXX");
	fd = mkstemp(out);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static int
load(const char *text)
{
	write_tmp(path, sizeof(path), text);
	return (dispatcher_config_load(&cfg, path, err, sizeof(err)));
}

static void
setup(void)
{
	int	 i;

	path[0] = secret_path[0] = err[0] = '\0';
	for (i = 0; env_names[i] != NULL; i++)
		unsetenv(env_names[i]);
	ck_assert_int_eq(dispatcher_config_init(&cfg), 0);
	cfg.adapters = demo_registry;
}

static void
teardown(void)
{
	int	 i;

	dispatcher_config_cleanup(&cfg);
	if (path[0] != '\0')
		unlink(path);
	if (secret_path[0] != '\0')
		unlink(secret_path);
	for (i = 0; env_names[i] != NULL; i++)
		unsetenv(env_names[i]);
}

START_TEST(test_defaults)
{
	ck_assert_int_eq(dispatcher_config_load(&cfg, NULL, err, sizeof(err)), 0);
	ck_assert_str_eq(cfg.name, "");
	ck_assert_str_eq(cfg.database_role, "caas_dispatcher");
	ck_assert_int_eq(cfg.batch_size, 200);
	ck_assert_int_eq(cfg.max_in_flight, 512);
	ck_assert_int_eq(cfg.lease_seconds, 300);
	ck_assert_int_eq(cfg.rescan_interval_sec, 30);
	ck_assert_int_eq(cfg.request_timeout_ms, 30000);
	ck_assert_int_eq(cfg.retry_base_ms, 60000);
	ck_assert_int_eq(cfg.level, LOG_LEVEL_INFO);
	ck_assert(!seal_ring_ready(&cfg.ring));
	ck_assert_str_eq(adapter_conf(&demo_adapter, "base_url"), "https://demo.example.com");
}
END_TEST

START_TEST(test_file_values_and_env_override)
{
	setenv("CAAS_DISPATCHER_BATCH_SIZE", "7", 1);
	ck_assert_int_eq(load("# comment\n\nname d1\nbatch_size 50\nmax_in_flight 100\n"
	    "log_level debug\nlease_seconds 200\n"), 0);
	ck_assert_str_eq(cfg.name, "d1");
	ck_assert_int_eq(cfg.batch_size, 7);
	ck_assert_int_eq(cfg.max_in_flight, 100);
	ck_assert_int_eq(cfg.level, LOG_LEVEL_DEBUG);
}
END_TEST

START_TEST(test_unknown_key_names_its_line)
{
	ck_assert_int_eq(load("batch_size 5\nbatch_sise 6\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, ":2: unknown key \"batch_sise\""));
}
END_TEST

START_TEST(test_out_of_range)
{
	ck_assert_int_eq(load("rescan_interval_sec 60\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, "rescan_interval_sec"));
	ck_assert_ptr_nonnull(strstr(err, "1..59"));
}
END_TEST

START_TEST(test_secrets_are_refused_in_the_file)
{
	ck_assert_int_eq(load("token_keys k1:" KEY32 "\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, "token_keys is a secret"));
	ck_assert_ptr_nonnull(strstr(err, "CAAS_DISPATCHER_TOKEN_KEYS"));
	ck_assert_ptr_null(strstr(err, KEY32));
	dispatcher_config_cleanup(&cfg);
	ck_assert_int_eq(dispatcher_config_init(&cfg), 0);
	ck_assert_int_eq(load("database_password hunter2\n"), -1);
	ck_assert_ptr_null(strstr(err, "hunter2"));
}
END_TEST

START_TEST(test_token_keys_from_env_and_file)
{
	setenv("CAAS_DISPATCHER_TOKEN_KEYS", "k1:" KEY32, 1);
	ck_assert_int_eq(load("token_key_id k1\n"), 0);
	ck_assert(seal_ring_ready(&cfg.ring));
	ck_assert_str_eq(seal_current_kid(&cfg.ring), "k1");
	dispatcher_config_cleanup(&cfg);
	unsetenv("CAAS_DISPATCHER_TOKEN_KEYS");

	ck_assert_int_eq(dispatcher_config_init(&cfg), 0);
	cfg.adapters = demo_registry;
	write_tmp(secret_path, sizeof(secret_path), "k0:" KEY32 ",k1:" KEY32 "\n");
	setenv("CAAS_DISPATCHER_TOKEN_KEYS_FILE", secret_path, 1);
	ck_assert_int_eq(dispatcher_config_load(&cfg, NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "token_key_id is not set"));
	dispatcher_config_cleanup(&cfg);
	ck_assert_int_eq(dispatcher_config_init(&cfg), 0);
	cfg.adapters = demo_registry;
	ck_assert_int_eq(load("token_key_id k1\n"), 0);
	ck_assert_int_eq(cfg.ring.nkeys, 2);
}
END_TEST

START_TEST(test_secret_given_twice_is_an_error)
{
	setenv("CAAS_DISPATCHER_TOKEN_KEYS", "k1:" KEY32, 1);
	write_tmp(secret_path, sizeof(secret_path), "k1:" KEY32);
	setenv("CAAS_DISPATCHER_TOKEN_KEYS_FILE", secret_path, 1);
	ck_assert_int_eq(dispatcher_config_load(&cfg, NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "both set"));
}
END_TEST

START_TEST(test_adapter_keys_from_file_and_env)
{
	ck_assert_int_eq(load("demo.base_url http://127.0.0.1:9/\n"), 0);
	ck_assert_str_eq(adapter_conf(&demo_adapter, "base_url"), "http://127.0.0.1:9/");
	dispatcher_config_cleanup(&cfg);
	ck_assert_str_eq(adapter_conf(&demo_adapter, "base_url"), "https://demo.example.com");

	ck_assert_int_eq(dispatcher_config_init(&cfg), 0);
	cfg.adapters = demo_registry;
	setenv("CAAS_DISPATCHER_DEMO_BASE_URL", "http://127.0.0.1:10/", 1);
	ck_assert_int_eq(load("demo.base_url http://127.0.0.1:9/\n"), 0);
	ck_assert_str_eq(adapter_conf(&demo_adapter, "base_url"), "http://127.0.0.1:10/");
}
END_TEST

START_TEST(test_unknown_adapter_setting)
{
	ck_assert_int_eq(load("demo.base_ur http://x/\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, ":1: unknown key \"demo.base_ur\""));
	dispatcher_config_cleanup(&cfg);
	ck_assert_int_eq(dispatcher_config_init(&cfg), 0);
	cfg.adapters = demo_registry;
	ck_assert_int_eq(load("nosuch.base_url http://x/\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, "unknown key"));
}
END_TEST

START_TEST(test_adapter_secret_only_from_env_or_file)
{
	char	 text[256];

	ck_assert_int_eq(load("demo.client_secret s3cr3t\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, "demo.client_secret is a secret"));
	ck_assert_ptr_nonnull(strstr(err, "CAAS_DISPATCHER_DEMO_CLIENT_SECRET"));
	ck_assert_ptr_null(strstr(err, "s3cr3t"));
	dispatcher_config_cleanup(&cfg);

	ck_assert_int_eq(dispatcher_config_init(&cfg), 0);
	cfg.adapters = demo_registry;
	write_tmp(secret_path, sizeof(secret_path), "from-file\n");
	snprintf(text, sizeof(text), "demo.client_secret_file %s\n", secret_path);
	ck_assert_int_eq(load(text), 0);
	ck_assert_str_eq(adapter_conf(&demo_adapter, "client_secret"), "from-file");
	dispatcher_config_cleanup(&cfg);

	ck_assert_int_eq(dispatcher_config_init(&cfg), 0);
	cfg.adapters = demo_registry;
	setenv("CAAS_DISPATCHER_DEMO_CLIENT_SECRET", "from-env", 1);
	ck_assert_int_eq(dispatcher_config_load(&cfg, NULL, err, sizeof(err)), 0);
	ck_assert_str_eq(adapter_conf(&demo_adapter, "client_secret"), "from-env");
	dispatcher_config_cleanup(&cfg);

	/* Both ways at once: refused, never silently one of them. */
	ck_assert_int_eq(dispatcher_config_init(&cfg), 0);
	cfg.adapters = demo_registry;
	setenv("CAAS_DISPATCHER_DEMO_CLIENT_SECRET_FILE", secret_path, 1);
	ck_assert_int_eq(dispatcher_config_load(&cfg, NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "both set"));
}
END_TEST

START_TEST(test_lease_must_outlast_requests)
{
	ck_assert_int_eq(load("request_timeout_ms 60000\nlease_seconds 120\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, "lease_seconds"));
}
END_TEST

START_TEST(test_bad_log_level)
{
	ck_assert_int_eq(load("log_level loud\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, "log_level"));
}
END_TEST

START_TEST(test_shipped_file_loads)
{
	char	 shipped[512];

	cfg.adapters = adapter_registry;
	snprintf(shipped, sizeof(shipped), "%s/dispatcher.conf", CAAS_CONF_DIR);
	ck_assert_msg(dispatcher_config_load(&cfg, shipped, err, sizeof(err)) == 0, "%s", err);
}
END_TEST

Suite *
dispatcher_config_suite(void)
{
	Suite	*s = suite_create("dispatcher_config");
	TCase	*tc = tcase_create("load");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_file_values_and_env_override);
	tcase_add_test(tc, test_unknown_key_names_its_line);
	tcase_add_test(tc, test_out_of_range);
	tcase_add_test(tc, test_secrets_are_refused_in_the_file);
	tcase_add_test(tc, test_token_keys_from_env_and_file);
	tcase_add_test(tc, test_secret_given_twice_is_an_error);
	tcase_add_test(tc, test_adapter_keys_from_file_and_env);
	tcase_add_test(tc, test_unknown_adapter_setting);
	tcase_add_test(tc, test_adapter_secret_only_from_env_or_file);
	tcase_add_test(tc, test_lease_must_outlast_requests);
	tcase_add_test(tc, test_bad_log_level);
	tcase_add_test(tc, test_shipped_file_loads);
	suite_add_tcase(s, tc);
	return s;
}
