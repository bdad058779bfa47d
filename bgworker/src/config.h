/*
 * config.h — the dispatcher's settings (conf/dispatcher.conf).
 *
 * One row per key in config.c's table for common/src/conffile.c; values
 * come, in order, from the built-in default, the file, the environment
 * (CAAS_DISPATCHER_<KEY>), and for secrets (database_password, token_keys)
 * only from the environment or the file named by <key>_file.  Adapter
 * settings are file keys "<adapter>.<setting>" (x.base_url) and
 * environment variables CAAS_DISPATCHER_<ADAPTER>_<SETTING>; an adapter's
 * secret settings likewise come only from the environment or
 * "<adapter>.<setting>_file" / CAAS_DISPATCHER_<ADAPTER>_<SETTING>_FILE.
 * They are handed to adapter_conf_set (adapter_conf.h).
 *
 * AI generation's keys are rows of the table like the others, dotted
 * (ai.max_attempts, openai.api_key: CAAS_DISPATCHER_OPENAI_API_KEY); the
 * providers' API keys are secrets.  dispatcher_config_load derives the
 * provider chain (ai_chain) from ai.providers, keeping the configured
 * ones: openai and gemini with an api_key, compat with a base_url and a
 * model.
 *
 * The functions are dispatcher_config_*, not config_*: the unit-test
 * runner links caas-api's config.c too.
 *
 * Memory: strings and the key ring are owned by the struct;
 * dispatcher_config_cleanup wipes the secrets, frees everything and
 * forgets the adapter settings.  Written once before the loop starts,
 * read-only afterwards.
 */
#ifndef CAAS_DISPATCHER_CONFIG_H
#define CAAS_DISPATCHER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "adapter.h"
#include "ai_provider.h"
#include "log.h"
#include "seal.h"

#define DISPATCHER_AI_PROVIDERS	3	/* openai, gemini, compat */

struct config_adapter_file;

struct dispatcher_config {
	char	*name;			/* "" = <hostname>:<pid> */
	char	*database_url;
	char	*database_password;	/* secret */
	char	*database_password_file;
	char	*database_role;		/* SET ROLE after connecting */
	int	 batch_size;
	int	 max_in_flight;
	int	 record_connections;
	int	 lease_seconds;
	int	 claim_ahead_ms;	/* claim this long before run_at, hold, send at the instant */
	int	 sweep_interval_sec;
	int	 heartbeat_interval_sec;
	int	 rescan_interval_sec;
	int	 refresh_interval_sec;
	int	 refresh_horizon_sec;
	int	 connect_timeout_ms;
	int	 request_timeout_ms;
	int	 max_host_connections;
	int	 response_max_bytes;
	int	 retry_base_ms;
	int	 retry_cap_ms;
	int	 retry_hint_max_ms;
	int	 shutdown_timeout_sec;
	char	*token_keys;		/* secret: "kid:base64,kid:base64" */
	char	*token_keys_file;
	char	*token_key_id;		/* the key new tokens are sealed with */
	char	*log_level;

	/* AI generation: ai.*, openai.*, gemini.*, compat.* */
	char	*ai_providers;		/* the chain, "openai,gemini" */
	int	 ai_max_in_flight;
	int	 ai_batch_size;
	int	 ai_lease_seconds;
	int	 ai_request_timeout_ms;
	int	 ai_max_attempts;	/* calls per provider */
	int	 ai_max_reprompts;
	int	 ai_retry_hint_max_ms;
	int	 ai_max_output_tokens;
	char	*ai_temperature;	/* text: conffile has no decimals */
	char	*openai_base_url;
	char	*openai_api_key;	/* secret */
	char	*openai_api_key_file;
	char	*openai_model;
	char	*gemini_base_url;
	char	*gemini_api_key;	/* secret */
	char	*gemini_api_key_file;
	char	*gemini_model;
	char	*compat_name;
	char	*compat_base_url;
	char	*compat_api_key;	/* secret, optional */
	char	*compat_api_key_file;
	char	*compat_model;
	bool	 compat_json_schema;

	/* Derived by dispatcher_config_load. */
	enum log_level			 level;
	struct seal_ring		 ring;
	/*
	 * The configured providers of ai.providers, in order (strings
	 * borrowed from this struct); none: AI generation is off.
	 */
	struct ai_provider		 ai_chain[DISPATCHER_AI_PROVIDERS];
	int				 ai_nproviders;

	/* The adapters whose settings are read; adapter_registry by default. */
	const struct caas_adapter *const *adapters;
	struct config_adapter_file	*adapter_files;	/* pending *_file secrets */
};

/*
 * dispatcher_config_init sets every key to its default.  Returns 0 or -1
 * (memory); cleanup is needed either way.
 */
int	dispatcher_config_init(struct dispatcher_config *cfg);

/*
 * dispatcher_config_load reads path (NULL: no file), the environment and
 * the secret files, then checks what the keys say together (token_key_id
 * names a key of token_keys, lease_seconds outlasts two requests,
 * ai.lease_seconds outlasts the provider chain's worst case, ...).
 * Returns 0, or -1 with the reason in err ("conf/dispatcher.conf:12:
 * unknown key \"x.bse_url\""); never a secret's value in err.
 */
int	dispatcher_config_load(struct dispatcher_config *cfg, const char *path,
	    char *err, size_t errlen);

/* dispatcher_config_cleanup wipes and frees; NULL-safe. */
void	dispatcher_config_cleanup(struct dispatcher_config *cfg);

/*
 * dispatcher_config_describe logs every adapter setting with its doc line
 * and whether it is set, and the AI provider chain (values of secrets are
 * never shown: "set" or "unset").
 */
void	dispatcher_config_describe(const struct dispatcher_config *cfg);

#endif /* CAAS_DISPATCHER_CONFIG_H */
