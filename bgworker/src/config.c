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
	return (0);
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

void
dispatcher_config_describe(const struct dispatcher_config *cfg)
{
	const struct caas_adapter *const *a;
	const struct adapter_setting	*s;
	const char			*v;

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
