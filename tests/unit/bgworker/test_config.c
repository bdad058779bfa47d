/*
 * test_config.c — bgworker/src/config.c: the dispatcher's keys from the
 * file and the environment, secrets only from the environment or a
 * *_file, adapter keys "<adapter>.<setting>", the AI provider chain
 * (ai.*, openai.*, gemini.*, compat.*), and the checks of keys taken
 * together.  A test adapter with its own settings stands in for the
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
	"CAAS_DISPATCHER_DATABASE_PASSWORD", "CAAS_DISPATCHER_LOG_LEVEL",
	"CAAS_DISPATCHER_OPENAI_API_KEY", "CAAS_DISPATCHER_OPENAI_API_KEY_FILE",
	"CAAS_DISPATCHER_GEMINI_API_KEY", "CAAS_DISPATCHER_GEMINI_API_KEY_FILE",
	"CAAS_DISPATCHER_COMPAT_API_KEY", "CAAS_DISPATCHER_AI_PROVIDERS", NULL
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

START_TEST(test_ai_defaults_have_no_provider)
{
	ck_assert_int_eq(dispatcher_config_load(&cfg, NULL, err, sizeof(err)), 0);
	ck_assert_str_eq(cfg.ai_providers, "openai,gemini");
	ck_assert_int_eq(cfg.ai_max_in_flight, 256);
	ck_assert_int_eq(cfg.ai_batch_size, 100);
	ck_assert_int_eq(cfg.ai_lease_seconds, 1200);
	ck_assert_int_eq(cfg.ai_request_timeout_ms, 60000);
	ck_assert_int_eq(cfg.ai_max_attempts, 3);
	ck_assert_int_eq(cfg.ai_max_reprompts, 2);
	ck_assert_int_eq(cfg.ai_retry_hint_max_ms, 30000);
	ck_assert_int_eq(cfg.ai_max_output_tokens, 1024);
	ck_assert_str_eq(cfg.openai_model, "gpt-4.1-mini");
	ck_assert_str_eq(cfg.gemini_base_url, "https://generativelanguage.googleapis.com/v1beta");
	ck_assert_str_eq(cfg.compat_name, "compat");
	ck_assert(cfg.compat_json_schema);
	/* No key, no compat URL: AI generation is off. */
	ck_assert_int_eq(cfg.ai_nproviders, 0);
}
END_TEST

START_TEST(test_ai_chain_from_keys_in_order)
{
	char	 text[256];

	setenv("CAAS_DISPATCHER_OPENAI_API_KEY", "sk-test-1", 1);
	write_tmp(secret_path, sizeof(secret_path), "gm-test-2\n");
	snprintf(text, sizeof(text), "ai.providers gemini,openai\ngemini.api_key_file %s\n"
	    "ai.temperature 0.25\nai.max_output_tokens 300\n", secret_path);
	ck_assert_msg(load(text) == 0, "%s", err);
	ck_assert_int_eq(cfg.ai_nproviders, 2);
	ck_assert_str_eq(cfg.ai_chain[0].name, "gemini");
	ck_assert_int_eq(cfg.ai_chain[0].api, AI_API_GEMINI);
	ck_assert_str_eq(cfg.ai_chain[0].api_key, "gm-test-2");
	ck_assert_str_eq(cfg.ai_chain[1].name, "openai");
	ck_assert_int_eq(cfg.ai_chain[1].api, AI_API_OPENAI_CHAT);
	ck_assert_str_eq(cfg.ai_chain[1].api_key, "sk-test-1");
	ck_assert_str_eq(cfg.ai_chain[1].base_url, "https://api.openai.com/v1");
	ck_assert(cfg.ai_chain[1].temperature > 0.249 && cfg.ai_chain[1].temperature < 0.251);
	ck_assert_int_eq(cfg.ai_chain[1].max_output_tokens, 300);
	dispatcher_config_cleanup(&cfg);

	/* A provider without its key is left out of the chain. */
	ck_assert_int_eq(dispatcher_config_init(&cfg), 0);
	cfg.adapters = demo_registry;
	ck_assert_int_eq(load("ai.providers gemini,openai\n"), 0);
	ck_assert_int_eq(cfg.ai_nproviders, 1);
	ck_assert_str_eq(cfg.ai_chain[0].name, "openai");
}
END_TEST

START_TEST(test_ai_key_is_a_secret)
{
	ck_assert_int_eq(load("openai.api_key sk-live-abcdef\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, "openai.api_key is a secret"));
	ck_assert_ptr_nonnull(strstr(err, "CAAS_DISPATCHER_OPENAI_API_KEY"));
	ck_assert_ptr_null(strstr(err, "sk-live"));
}
END_TEST

START_TEST(test_ai_compat_provider)
{
	ck_assert_int_eq(load("ai.providers compat,openai\ncompat.name ollama\n"
	    "compat.base_url http://127.0.0.1:11434/v1\ncompat.model llama3.1\n"
	    "compat.json_schema no\n"), 0);
	ck_assert_int_eq(cfg.ai_nproviders, 1);
	ck_assert_str_eq(cfg.ai_chain[0].name, "ollama");
	ck_assert_int_eq(cfg.ai_chain[0].api, AI_API_OPENAI_CHAT);
	ck_assert_str_eq(cfg.ai_chain[0].api_key, "");
	ck_assert(!cfg.ai_chain[0].json_schema);
	dispatcher_config_cleanup(&cfg);

	ck_assert_int_eq(dispatcher_config_init(&cfg), 0);
	cfg.adapters = demo_registry;
	ck_assert_int_eq(load("ai.providers compat\ncompat.base_url http://127.0.0.1:1/v1\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, "compat.model"));
	dispatcher_config_cleanup(&cfg);

	ck_assert_int_eq(dispatcher_config_init(&cfg), 0);
	cfg.adapters = demo_registry;
	ck_assert_int_eq(load("ai.providers compat\ncompat.base_url ftp://x/\ncompat.model m\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, "compat.base_url"));
	dispatcher_config_cleanup(&cfg);

	ck_assert_int_eq(dispatcher_config_init(&cfg), 0);
	cfg.adapters = demo_registry;
	ck_assert_int_eq(load("ai.providers compat\ncompat.name \"Bad Name\"\n"
	    "compat.base_url http://x/v1\ncompat.model m\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, "compat.name"));
}
END_TEST

START_TEST(test_ai_bad_providers_and_temperature)
{
	ck_assert_int_eq(load("ai.providers openai,mistral\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, "unknown provider \"mistral\""));
	dispatcher_config_cleanup(&cfg);
	ck_assert_int_eq(dispatcher_config_init(&cfg), 0);
	cfg.adapters = demo_registry;
	ck_assert_int_eq(load("ai.providers openai,openai\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, "twice"));
	dispatcher_config_cleanup(&cfg);
	ck_assert_int_eq(dispatcher_config_init(&cfg), 0);
	cfg.adapters = demo_registry;
	ck_assert_int_eq(load("ai.temperature hot\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, "ai.temperature"));
	dispatcher_config_cleanup(&cfg);
	ck_assert_int_eq(dispatcher_config_init(&cfg), 0);
	cfg.adapters = demo_registry;
	ck_assert_int_eq(load("ai.providers \"\"\n"), 0);
	ck_assert_int_eq(cfg.ai_nproviders, 0);
}
END_TEST

START_TEST(test_ai_lease_must_outlast_the_chain)
{
	setenv("CAAS_DISPATCHER_OPENAI_API_KEY", "sk-test-1", 1);
	setenv("CAAS_DISPATCHER_GEMINI_API_KEY", "gm-test-2", 1);
	/* (3 x 2 + 2) x (60 s + 30 s) + 30 s = 750 s. */
	ck_assert_int_eq(load("ai.lease_seconds 749\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, "ai.lease_seconds (749)"));
	ck_assert_ptr_nonnull(strstr(err, "ai.max_attempts"));
	ck_assert_ptr_nonnull(strstr(err, "750 s"));
	ck_assert_ptr_null(strstr(err, "sk-test"));
	dispatcher_config_cleanup(&cfg);
	ck_assert_int_eq(dispatcher_config_init(&cfg), 0);
	cfg.adapters = demo_registry;
	ck_assert_int_eq(load("ai.lease_seconds 750\n"), 0);
	dispatcher_config_cleanup(&cfg);
	/* Without a provider the lease is not checked: nothing is claimed. */
	unsetenv("CAAS_DISPATCHER_OPENAI_API_KEY");
	unsetenv("CAAS_DISPATCHER_GEMINI_API_KEY");
	ck_assert_int_eq(dispatcher_config_init(&cfg), 0);
	cfg.adapters = demo_registry;
	ck_assert_int_eq(load("ai.lease_seconds 60\n"), 0);
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
	tcase_add_test(tc, test_ai_defaults_have_no_provider);
	tcase_add_test(tc, test_ai_chain_from_keys_in_order);
	tcase_add_test(tc, test_ai_key_is_a_secret);
	tcase_add_test(tc, test_ai_compat_provider);
	tcase_add_test(tc, test_ai_bad_providers_and_temperature);
	tcase_add_test(tc, test_ai_lease_must_outlast_the_chain);
	tcase_add_test(tc, test_shipped_file_loads);
	suite_add_tcase(s, tc);
	return s;
}
