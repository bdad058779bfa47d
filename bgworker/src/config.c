/*
 * config.c — the dispatcher's settings: the table of keys for conffile.c
 * (common/src/conffile.h has the loader, file format and secrets rule) and
 * the adapters' own "<adapter>.<setting>" keys.
 *
 * Each row is one key: type, default, bounds (for strings, bounds on the
 * length), reloadable (recorded; today every change needs a restart),
 * secret, required.  Keys the table does not know are offered to
 * config_extra(), which takes "<adapter>.<setting>" for a setting the
 * adapter declares (adapter.h, struct adapter_setting) and refuses a
 * secret one: those come from CAAS_DISPATCHER_<ADAPTER>_<SETTING> or from
 * the file named by "<adapter>.<setting>_file" (or its environment
 * variable ..._FILE).  Order for adapter settings, like for the table:
 * default, file, environment, secret file; a secret set both directly and
 * by file is an error.
 *
 * AI generation's keys (ai.*, openai.*, gemini.*, compat.*) are rows of
 * the table; check_ai derives the provider chain from ai.providers and
 * checks that ai.lease_seconds outlasts the chain's worst case.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "adapter_conf.h"
#include "conffile.h"
#include "config.h"
#include "log.h"
#include "seal.h"

#define OFF(f)	offsetof(struct dispatcher_config, f)
#define STR	CONF_STRING
#define INT	CONF_INT
#define DAY_MS	(86400L * 1000L)

/* A secret adapter setting named by a file path, read after the env. */
struct config_adapter_file {
	const struct caas_adapter	*adapter;
	const char			*key;	/* the setting's own string */
	char				*path;
	struct config_adapter_file	*next;
};

static const struct conf_row config_rows[] = {
	{ "name", STR, OFF(name), "", 0, 128, false, false, false },
	{ "database_url", STR, OFF(database_url), "host=/var/run/postgresql dbname=caas", 1, 4096, false, false, false },
	{ "database_password", STR, OFF(database_password), "", 0, 1024, false, true, false },
	{ "database_password_file", STR, OFF(database_password_file), "", 0, 4096, false, false, false },
	{ "database_role", STR, OFF(database_role), "caas_dispatcher", 0, 63, false, false, false },
	{ "batch_size", INT, OFF(batch_size), "200", 1, 10000, true, false, false },
	{ "max_in_flight", INT, OFF(max_in_flight), "512", 1, 100000, true, false, false },
	{ "record_connections", INT, OFF(record_connections), "2", 1, 8, false, false, false },
	{ "lease_seconds", INT, OFF(lease_seconds), "300", 10, 86400, true, false, false },
	{ "claim_ahead_ms", INT, OFF(claim_ahead_ms), "25", 0, 1000, true, false, false },
	{ "sweep_interval_sec", INT, OFF(sweep_interval_sec), "15", 1, 3600, true, false, false },
	{ "heartbeat_interval_sec", INT, OFF(heartbeat_interval_sec), "5", 1, 3600, true, false, false },
	{ "rescan_interval_sec", INT, OFF(rescan_interval_sec), "30", 1, 59, true, false, false },
	{ "refresh_interval_sec", INT, OFF(refresh_interval_sec), "60", 1, 86400, true, false, false },
	{ "refresh_horizon_sec", INT, OFF(refresh_horizon_sec), "600", 0, 2592000, true, false, false },
	{ "connect_timeout_ms", INT, OFF(connect_timeout_ms), "5000", 100, 600000, true, false, false },
	{ "request_timeout_ms", INT, OFF(request_timeout_ms), "30000", 100, 600000, true, false, false },
	{ "max_host_connections", INT, OFF(max_host_connections), "64", 0, 10000, true, false, false },
	{ "response_max_bytes", INT, OFF(response_max_bytes), "1048576", 4096, 64 * 1024 * 1024, true, false, false },
	{ "retry_base_ms", INT, OFF(retry_base_ms), "60000", 1, DAY_MS, true, false, false },
	{ "retry_cap_ms", INT, OFF(retry_cap_ms), "3600000", 1, 7 * DAY_MS, true, false, false },
	{ "retry_hint_max_ms", INT, OFF(retry_hint_max_ms), "86400000", 0, 7 * DAY_MS, true, false, false },
	{ "shutdown_timeout_sec", INT, OFF(shutdown_timeout_sec), "5", 0, 600, true, false, false },
	{ "token_keys", STR, OFF(token_keys), "", 0, 4096, false, true, false },
	{ "token_keys_file", STR, OFF(token_keys_file), "", 0, 4096, false, false, false },
	{ "token_key_id", STR, OFF(token_key_id), "", 0, SEAL_KID_MAX, false, false, false },
	{ "log_level", STR, OFF(log_level), "info", 1, 16, true, false, false },
	{ "ai.providers", STR, OFF(ai_providers), "openai,gemini", 0, 64, false, false, false },
	{ "ai.max_in_flight", INT, OFF(ai_max_in_flight), "256", 1, 10000, false, false, false },
	{ "ai.batch_size", INT, OFF(ai_batch_size), "100", 1, 1000, false, false, false },
	{ "ai.lease_seconds", INT, OFF(ai_lease_seconds), "1200", 60, 86400, false, false, false },
	{ "ai.request_timeout_ms", INT, OFF(ai_request_timeout_ms), "60000", 1000, 600000, false, false, false },
	{ "ai.max_attempts", INT, OFF(ai_max_attempts), "3", 1, 10, false, false, false },
	{ "ai.max_reprompts", INT, OFF(ai_max_reprompts), "2", 0, 5, false, false, false },
	{ "ai.retry_hint_max_ms", INT, OFF(ai_retry_hint_max_ms), "30000", 0, 600000, false, false, false },
	{ "ai.max_output_tokens", INT, OFF(ai_max_output_tokens), "1024", 16, 65536, false, false, false },
	{ "ai.temperature", STR, OFF(ai_temperature), "0.8", 1, 16, false, false, false },
	{ "openai.base_url", STR, OFF(openai_base_url), "https://api.openai.com/v1", 1, 1024, false, false, false },
	{ "openai.api_key", STR, OFF(openai_api_key), "", 0, 4096, false, true, false },
	{ "openai.api_key_file", STR, OFF(openai_api_key_file), "", 0, 4096, false, false, false },
	{ "openai.model", STR, OFF(openai_model), "gpt-4.1-mini", 1, 127, false, false, false },
	{ "gemini.base_url", STR, OFF(gemini_base_url), "https://generativelanguage.googleapis.com/v1beta", 1, 1024, false, false, false },
	{ "gemini.api_key", STR, OFF(gemini_api_key), "", 0, 4096, false, true, false },
	{ "gemini.api_key_file", STR, OFF(gemini_api_key_file), "", 0, 4096, false, false, false },
	{ "gemini.model", STR, OFF(gemini_model), "gemini-2.5-flash", 1, 127, false, false, false },
	{ "compat.name", STR, OFF(compat_name), "compat", 1, 32, false, false, false },
	{ "compat.base_url", STR, OFF(compat_base_url), "", 0, 1024, false, false, false },
	{ "compat.api_key", STR, OFF(compat_api_key), "", 0, 4096, false, true, false },
	{ "compat.api_key_file", STR, OFF(compat_api_key_file), "", 0, 4096, false, false, false },
	{ "compat.model", STR, OFF(compat_model), "", 0, 127, false, false, false },
	{ "compat.json_schema", CONF_BOOL, OFF(compat_json_schema), "yes", 0, 0, false, false, false },
	{ NULL, INT, 0, NULL, 0, 0, false, false, false },
};

static int	config_extra(void *base, const char *key, const char *value,
		    char *err, size_t errlen);

static const struct conf_spec config_spec = {
	"CAAS_DISPATCHER_", config_rows, config_extra
};

/* adapter_named returns cfg's adapter called name[0..len), or NULL. */
static const struct caas_adapter *
adapter_named(const struct dispatcher_config *cfg, const char *name, size_t len)
{
	const struct caas_adapter *const *a;

	for (a = cfg->adapters; a != NULL && *a != NULL; a++)
		if (strlen((*a)->name) == len && strncmp((*a)->name, name, len) == 0)
			return (*a);
	return (NULL);
}

/*
 * file_secret_add remembers that a's secret setting s comes from path.
 * Returns 0 or -1 (err set).
 */
static int
file_secret_add(struct dispatcher_config *cfg, const struct caas_adapter *a,
    const struct adapter_setting *s, const char *path, char *err, size_t errlen)
{
	struct config_adapter_file	*f;

	for (f = cfg->adapter_files; f != NULL; f = f->next)
		if (f->adapter == a && f->key == s->key)
			break;
	if (f == NULL) {
		if ((f = calloc(1, sizeof(*f))) == NULL)
			return (snprintf(err, errlen, "out of memory"), -1);
		f->adapter = a;
		f->key = s->key;
		f->next = cfg->adapter_files;
		cfg->adapter_files = f;
	}
	free(f->path);
	if ((f->path = strdup(path)) == NULL)
		return (snprintf(err, errlen, "out of memory"), -1);
	return (0);
}

/*
 * config_extra takes a file key "<adapter>.<setting>[_file]".  Returns 1
 * when taken, 0 when it is not an adapter key (conffile reports the
 * unknown key), -1 with the reason in err.
 */
static int
config_extra(void *base, const char *key, const char *value, char *err,
    size_t errlen)
{
	struct dispatcher_config	*cfg = base;
	const struct caas_adapter	*a;
	const struct adapter_setting	*s;
	const char			*dot, *setting;
	char				 env[160], plain[128];
	size_t				 n;

	if ((dot = strchr(key, '.')) == NULL ||
	    (a = adapter_named(cfg, key, (size_t)(dot - key))) == NULL)
		return (0);
	setting = dot + 1;
	if ((s = adapter_setting_find(a, setting)) != NULL) {
		if (s->secret) {
			conf_env_name(&config_spec, env, sizeof(env), key, "");
			return (snprintf(err, errlen, "%.64s is a secret: set %.100s or %.64s_file instead",
			    key, env, key), -1);
		}
		return (adapter_conf_set(a, setting, value, err, errlen) == 0 ? 1 : -1);
	}
	n = strlen(setting);
	if (n > 5 && n - 5 < sizeof(plain) && strcmp(setting + n - 5, "_file") == 0) {
		memcpy(plain, setting, n - 5);
		plain[n - 5] = '\0';
		if ((s = adapter_setting_find(a, plain)) != NULL && s->secret)
			return (file_secret_add(cfg, a, s, value, err, errlen) == 0 ? 1 : -1);
	}
	return (snprintf(err, errlen, "unknown key \"%.64s\": adapter %s has no setting \"%.64s\"",
	    key, a->name, setting), -1);
}

/*
 * adapter_env applies CAAS_DISPATCHER_<ADAPTER>_<SETTING> for every setting
 * of every adapter, and remembers CAAS_DISPATCHER_<ADAPTER>_<SETTING>_FILE
 * for the secret ones (read by adapter_secret_files, which also refuses a
 * secret given both ways).  Returns 0 or -1 (err set).
 */
static int
adapter_env(struct dispatcher_config *cfg, char *err, size_t errlen)
{
	const struct caas_adapter *const *a;
	const struct adapter_setting	*s;
	char				 key[160], env[192], why[256];
	const char			*v;

	for (a = cfg->adapters; a != NULL && *a != NULL; a++) {
		for (s = (*a)->settings; s != NULL && s->key != NULL; s++) {
			snprintf(key, sizeof(key), "%s.%s", (*a)->name, s->key);
			conf_env_name(&config_spec, env, sizeof(env), key, "");
			if ((v = getenv(env)) != NULL &&
			    adapter_conf_set(*a, s->key, v, why, sizeof(why)) == -1)
				return (snprintf(err, errlen, "environment %s: %s", env, why), -1);
			if (!s->secret)
				continue;
			conf_env_name(&config_spec, env, sizeof(env), key, "_file");
			if ((v = getenv(env)) != NULL &&
			    file_secret_add(cfg, *a, s, v, why, sizeof(why)) == -1)
				return (snprintf(err, errlen, "environment %s: %s", env, why), -1);
		}
	}
	return (0);
}

/* adapter_secret_files reads the pending *_file secrets.  Returns 0 or -1. */
static int
adapter_secret_files(struct dispatcher_config *cfg, char *err, size_t errlen)
{
	struct config_adapter_file	*f;
	char				 key[160], env[192], why[512], *s;
	int				 rc;

	for (f = cfg->adapter_files; f != NULL; f = f->next) {
		if (f->path == NULL || f->path[0] == '\0')
			continue;
		snprintf(key, sizeof(key), "%s.%s", f->adapter->name, f->key);
		conf_env_name(&config_spec, env, sizeof(env), key, "");
		if (getenv(env) != NULL)
			return (snprintf(err, errlen, "%s and %s_file are both set; use one", key, key), -1);
		if ((s = conf_read_secret_file(f->path, why, sizeof(why))) == NULL)
			return (snprintf(err, errlen, "%s_file: %s", key, why), -1);
		rc = adapter_conf_set(f->adapter, f->key, s, why, sizeof(why));
		conf_wipe_free(s);
		if (rc == -1)
			return (snprintf(err, errlen, "%s_file: %s", key, why), -1);
	}
	return (0);
}

/* ---------------------------------------------------------------- AI */

/* url_ok: an http(s) URL (the providers' base URLs). */
static bool
url_ok(const char *url)
{
	return (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0);
}

/* name_ok: compat.name is recorded as the versions' provider: [a-z0-9._-]. */
static bool
name_ok(const char *name)
{
	const char	*p;

	for (p = name; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '.' || *p == '_' || *p == '-'))
			return (false);
	return (p != name);
}

/*
 * provider_fill describes the provider called name[0..len) into p.
 * Returns 1 when it is configured, 0 when not (left out of the chain), -1
 * when the name is unknown or its settings are wrong (err set).
 */
static int
provider_fill(const struct dispatcher_config *cfg, const char *name, size_t len,
    struct ai_provider *p, char *err, size_t errlen)
{
	if (len == 6 && strncmp(name, "openai", 6) == 0) {
		*p = (struct ai_provider){ "openai", AI_API_OPENAI_CHAT, cfg->openai_base_url,
		    cfg->openai_api_key, cfg->openai_model, true, cfg->ai_max_output_tokens, 0 };
		if (cfg->openai_api_key[0] == '\0')
			return (0);
	} else if (len == 6 && strncmp(name, "gemini", 6) == 0) {
		*p = (struct ai_provider){ "gemini", AI_API_GEMINI, cfg->gemini_base_url,
		    cfg->gemini_api_key, cfg->gemini_model, true, cfg->ai_max_output_tokens, 0 };
		if (cfg->gemini_api_key[0] == '\0')
			return (0);
	} else if (len == 6 && strncmp(name, "compat", 6) == 0) {
		*p = (struct ai_provider){ cfg->compat_name, AI_API_OPENAI_CHAT, cfg->compat_base_url,
		    cfg->compat_api_key, cfg->compat_model, cfg->compat_json_schema,
		    cfg->ai_max_output_tokens, 0 };
		if ((cfg->compat_base_url[0] == '\0') != (cfg->compat_model[0] == '\0'))
			return (snprintf(err, errlen, "compat.base_url and compat.model go together: "
			    "set both (or neither)"), -1);
		if (cfg->compat_base_url[0] == '\0')
			return (0);
		if (!name_ok(cfg->compat_name))
			return (snprintf(err, errlen, "compat.name: \"%.32s\" is not a name of "
			    "lowercase letters, digits, '.', '_' and '-'", cfg->compat_name), -1);
	} else
		return (snprintf(err, errlen, "ai.providers: unknown provider \"%.*s\": "
		    "say openai, gemini or compat", (int)(len < 32 ? len : 32), name), -1);
	if (!url_ok(p->base_url))
		return (snprintf(err, errlen, "%.*s.base_url: \"%.64s\" is not an http(s) URL",
		    (int)len, name, p->base_url), -1);
	return (1);
}

/* check_ai derives the provider chain and checks the ai.* keys.  0 or -1. */
static int
check_ai(struct dispatcher_config *cfg, char *err, size_t errlen)
{
	struct ai_provider	 p;
	const char		*s = cfg->ai_providers, *end;
	char			*stop;
	double			 t;
	long			 need;
	size_t			 len;
	int			 i, rc, seen = 0, bit;

	t = strtod(cfg->ai_temperature, &stop);
	if (stop == cfg->ai_temperature || *stop != '\0' || !(t >= 0.0 && t <= 2.0))
		return (snprintf(err, errlen, "ai.temperature: expected a number from 0 to 2, "
		    "not \"%.16s\"", cfg->ai_temperature), -1);
	cfg->ai_nproviders = 0;
	while (*s != '\0') {
		s += strspn(s, " ,");
		if (*s == '\0')
			break;
		end = s + strcspn(s, " ,");
		len = (size_t)(end - s);
		if ((rc = provider_fill(cfg, s, len, &p, err, errlen)) == -1)
			return (-1);
		bit = s[0] == 'o' ? 1 : s[0] == 'g' ? 2 : 4;
		if (seen & bit)
			return (snprintf(err, errlen, "ai.providers: %.*s is named twice",
			    (int)len, s), -1);
		seen |= bit;
		p.temperature = t;
		if (rc == 1)
			cfg->ai_chain[cfg->ai_nproviders++] = p;
		s = end;
	}
	if (cfg->ai_nproviders == 0)
		return (0);
	/*
	 * A job's lease must outlast its worst case: every provider's
	 * attempts and every re-prompt, each a whole request plus the
	 * longest retry hint waited for, and a margin for recording.
	 */
	i = cfg->ai_max_attempts * cfg->ai_nproviders + cfg->ai_max_reprompts;
	need = ((long)i * ((long)cfg->ai_request_timeout_ms + cfg->ai_retry_hint_max_ms) + 999) /
	    1000 + 30;
	if (cfg->ai_lease_seconds < need)
		return (snprintf(err, errlen, "ai.lease_seconds (%d) must be at least "
		    "(ai.max_attempts x %d providers + ai.max_reprompts) x "
		    "(ai.request_timeout_ms + ai.retry_hint_max_ms) + 30 s = %ld s",
		    cfg->ai_lease_seconds, cfg->ai_nproviders, need), -1);
	return (0);
}

/* check_together checks what keys say together.  Returns 0 or -1. */
static int
check_together(struct dispatcher_config *cfg, char *err, size_t errlen)
{
	char	 why[256];

	if (log_level_parse(cfg->log_level, &cfg->level) == -1)
		return (snprintf(err, errlen, "log_level: expected error, warning, info or debug, not \"%.32s\"",
		    cfg->log_level), -1);
	if (cfg->retry_cap_ms < cfg->retry_base_ms)
		return (snprintf(err, errlen, "retry_cap_ms (%d) is below retry_base_ms (%d)",
		    cfg->retry_cap_ms, cfg->retry_base_ms), -1);
	/*
	 * A lease must outlast an attempt's longest uninterrupted stretch: a
	 * request, a token refresh, the same request again.  Shorter, and the
	 * sweeper could mark a post unconfirmed while its answer is on the way.
	 */
	if ((long)cfg->lease_seconds * 1000 < 3L * cfg->request_timeout_ms + 10000)
		return (snprintf(err, errlen,
		    "lease_seconds (%d) must exceed 3 x request_timeout_ms + 10 s (%ld s)",
		    cfg->lease_seconds, (3L * cfg->request_timeout_ms + 10000 + 999) / 1000), -1);
	if (cfg->connect_timeout_ms > cfg->request_timeout_ms)
		return (snprintf(err, errlen, "connect_timeout_ms (%d) exceeds request_timeout_ms (%d)",
		    cfg->connect_timeout_ms, cfg->request_timeout_ms), -1);
	if (cfg->token_keys[0] != '\0' && cfg->token_key_id[0] == '\0')
		return (snprintf(err, errlen, "token_key_id is not set: "
		    "name the key of token_keys that seals new tokens"), -1);
	if (seal_ring_parse(&cfg->ring, cfg->token_keys, cfg->token_key_id, why, sizeof(why)) == -1)
		return (snprintf(err, errlen, "token_keys: %s", why), -1);
	return (check_ai(cfg, err, errlen));
}

int
dispatcher_config_init(struct dispatcher_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->adapters = adapter_registry;
	cfg->ring.current = -1;
	cfg->level = LOG_LEVEL_INFO;
	return (conf_init(&config_spec, cfg));
}

int
dispatcher_config_load(struct dispatcher_config *cfg, const char *path,
    char *err, size_t errlen)
{
	if (conf_load(&config_spec, cfg, path, err, errlen) == -1 ||
	    adapter_env(cfg, err, errlen) == -1 ||
	    adapter_secret_files(cfg, err, errlen) == -1 ||
	    check_together(cfg, err, errlen) == -1)
		return (-1);
	return (0);
}

void
dispatcher_config_cleanup(struct dispatcher_config *cfg)
{
	struct config_adapter_file	*f, *next;

	if (cfg == NULL)
		return;
	conf_cleanup(&config_spec, cfg);
	for (f = cfg->adapter_files; f != NULL; f = next) {
		next = f->next;
		free(f->path);
		free(f);
	}
	cfg->adapter_files = NULL;
	seal_ring_clear(&cfg->ring);
	adapter_conf_reset();
}

/* describe_ai logs the AI providers' settings, keys as set or unset. */
static void
describe_ai(const struct dispatcher_config *cfg)
{
	char	 chain[128] = "";
	int	 i;

	for (i = 0; i < cfg->ai_nproviders; i++)
		snprintf(chain + strlen(chain), sizeof(chain) - strlen(chain), "%s%s",
		    i > 0 ? ", " : "", cfg->ai_chain[i].name);
	if (cfg->ai_nproviders > 0)
		log_info("ai.providers = \"%s\": AI generation by %s", cfg->ai_providers, chain);
	else
		log_info("ai.providers = \"%s\": no provider configured, AI generation is off "
		    "(set openai.api_key, gemini.api_key, or compat.base_url and compat.model)",
		    cfg->ai_providers);
	log_info("openai: base_url \"%s\", model \"%s\", api_key %s", cfg->openai_base_url,
	    cfg->openai_model, cfg->openai_api_key[0] != '\0' ? "set" : "unset");
	log_info("gemini: base_url \"%s\", model \"%s\", api_key %s", cfg->gemini_base_url,
	    cfg->gemini_model, cfg->gemini_api_key[0] != '\0' ? "set" : "unset");
	log_info("compat (%s): base_url \"%s\", model \"%s\", api_key %s, json_schema %s",
	    cfg->compat_name, cfg->compat_base_url, cfg->compat_model,
	    cfg->compat_api_key[0] != '\0' ? "set" : "unset",
	    cfg->compat_json_schema ? "yes" : "no");
}

void
dispatcher_config_describe(const struct dispatcher_config *cfg)
{
	const struct caas_adapter *const *a;
	const struct adapter_setting	*s;
	const char			*v;

	describe_ai(cfg);

	for (a = cfg->adapters; a != NULL && *a != NULL; a++)
		for (s = (*a)->settings; s != NULL && s->key != NULL; s++) {
			v = adapter_conf(*a, s->key);
			if (s->secret)
				log_info("%s.%s: %s (secret; %s)", (*a)->name, s->key,
				    v != NULL && v[0] != '\0' ? "set" : "not set", s->doc);
			else
				log_info("%s.%s = \"%s\" (%s)", (*a)->name, s->key,
				    v != NULL ? v : "", s->doc);
		}
}
