/*
 * config.c — caas-api's settings: the table of keys for conffile.c (Redis
 * static_configs style; the loader, the file format and the secrets rule
 * are in common/src/conffile.h).
 *
 * Each row is one key: its type, default, bounds (for strings, bounds on
 * the length), whether a reload could change it, whether it is a secret
 * (only from CAAS_API_<KEY> or the file named by <key>_file) and whether it
 * is required.  "reloadable" is recorded for a future SIGHUP reload; today
 * every change needs a restart.
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "conffile.h"
#include "config.h"

struct api_config api_config;

#define OFF(f)	offsetof(struct api_config, f)
#define MIB	(1024L * 1024L)
#define STR	CONF_STRING
#define INT	CONF_INT
#define BOOL	CONF_BOOL

static const struct conf_row config_rows[] = {
	{ "listen_address", STR, OFF(listen_address), "127.0.0.1", 1, 255, false, false, false },
	{ "port", INT, OFF(port), "8000", 1, 65535, false, false, false },
	{ "threads", INT, OFF(threads), "4", 1, 64, false, false, false },
	{ "connection_timeout_sec", INT, OFF(connection_timeout_sec), "10", 1, 3600, true, false, false },
	{ "connection_limit", INT, OFF(connection_limit), "1024", 1, 65536, false, false, false },
	{ "per_ip_connection_limit", INT, OFF(per_ip_connection_limit), "64", 0, 65536, false, false, false },
	{ "connection_memory_limit_bytes", INT, OFF(connection_memory_limit_bytes), "65536", 16384, 1 * MIB, false, false, false },
	{ "shutdown_timeout_sec", INT, OFF(shutdown_timeout_sec), "10", 0, 600, true, false, false },
	{ "database_url", STR, OFF(database_url), "host=/var/run/postgresql dbname=caas user=caas_authenticator", 1, 4096, false, false, false },
	{ "database_password", STR, OFF(database_password), "", 0, 1024, false, true, false },
	{ "database_password_file", STR, OFF(database_password_file), "", 0, 4096, false, false, false },
	{ "statement_timeout_ms", INT, OFF(statement_timeout_ms), "5000", 0, 600000, true, false, false },
	{ "jwt_secret", STR, OFF(jwt_secret), "", 32, 64, true, true, true },
	{ "jwt_secret_file", STR, OFF(jwt_secret_file), "", 0, 4096, true, false, false },
	{ "jwt_issuer", STR, OFF(jwt_issuer), "caas", 1, 255, true, false, false },
	{ "jwt_audience", STR, OFF(jwt_audience), "caas-api", 1, 255, true, false, false },
	{ "jwt_key_id", STR, OFF(jwt_key_id), "k1", 1, 32, true, false, false },
	{ "jwt_previous_secret", STR, OFF(jwt_previous_secret), "", 32, 64, true, true, false },
	{ "jwt_previous_secret_file", STR, OFF(jwt_previous_secret_file), "", 0, 4096, true, false, false },
	{ "jwt_previous_key_id", STR, OFF(jwt_previous_key_id), "", 0, 32, true, false, false },
	{ "jwt_leeway_sec", INT, OFF(jwt_leeway_sec), "30", 0, 300, true, false, false },
	{ "login_per_ip", INT, OFF(login_per_ip), "20", 1, 100000, true, false, false },
	{ "login_per_email", INT, OFF(login_per_email), "5", 1, 100000, true, false, false },
	{ "login_window_sec", INT, OFF(login_window_sec), "300", 1, 86400, true, false, false },
	{ "hash_concurrency", INT, OFF(hash_concurrency), "2", 1, 64, false, false, false },
	{ "access_ttl_sec", INT, OFF(access_ttl_sec), "900", 60, 86400, true, false, false },
	{ "refresh_ttl_sec", INT, OFF(refresh_ttl_sec), "604800", 3600, 31536000, true, false, false },
	{ "cors_origins", STR, OFF(cors_origins), "", 0, 4096, true, false, false },
	{ "max_body_bytes", INT, OFF(max_body_bytes), "1048576", 1024, 16 * MIB, true, false, false },
	{ "user", STR, OFF(user), "nobody", 1, 64, false, false, false },
	{ "swagger_ui_dir", STR, OFF(swagger_ui_dir), "api/swagger/node_modules/swagger-ui-dist", 0, 4096, true, false, false },
	{ "access_log", BOOL, OFF(access_log), "yes", 0, 1, true, false, false },
	{ "token_keys", STR, OFF(token_keys), "", 0, 4096, false, true, false },
	{ "token_keys_file", STR, OFF(token_keys_file), "", 0, 4096, false, false, false },
	{ "token_key_id", STR, OFF(token_key_id), "k1", 1, 64, false, false, false },
	{ "oauth_redirect_base", STR, OFF(oauth_redirect_base), "http://127.0.0.1:8000", 8, 512, true, false, false },
	{ "oauth_done_url", STR, OFF(oauth_done_url), "", 0, 1024, true, false, false },
	{ "outbound_timeout_ms", INT, OFF(outbound_timeout_ms), "10000", 100, 120000, true, false, false },
	{ "x_client_id", STR, OFF(x_client_id), "", 0, 256, true, false, false },
	{ "x_client_secret", STR, OFF(x_client_secret), "", 0, 1024, true, true, false },
	{ "x_client_secret_file", STR, OFF(x_client_secret_file), "", 0, 4096, true, false, false },
	{ "x_authorize_url", STR, OFF(x_authorize_url), "https://x.com/i/oauth2/authorize", 8, 1024, true, false, false },
	{ "x_token_url", STR, OFF(x_token_url), "https://api.x.com/2/oauth2/token", 8, 1024, true, false, false },
	{ "x_api_base", STR, OFF(x_api_base), "https://api.x.com", 8, 1024, true, false, false },
	{ "linkedin_client_id", STR, OFF(linkedin_client_id), "", 0, 256, true, false, false },
	{ "linkedin_client_secret", STR, OFF(linkedin_client_secret), "", 0, 1024, true, true, false },
	{ "linkedin_client_secret_file", STR, OFF(linkedin_client_secret_file), "", 0, 4096, true, false, false },
	{ "linkedin_authorize_url", STR, OFF(linkedin_authorize_url), "https://www.linkedin.com/oauth/v2/authorization", 8, 1024, true, false, false },
	{ "linkedin_token_url", STR, OFF(linkedin_token_url), "https://www.linkedin.com/oauth/v2/accessToken", 8, 1024, true, false, false },
	{ "linkedin_api_base", STR, OFF(linkedin_api_base), "https://api.linkedin.com", 8, 1024, true, false, false },
	{ "instagram_app_id", STR, OFF(instagram_app_id), "", 0, 256, true, false, false },
	{ "instagram_app_secret", STR, OFF(instagram_app_secret), "", 0, 1024, true, true, false },
	{ "instagram_app_secret_file", STR, OFF(instagram_app_secret_file), "", 0, 4096, true, false, false },
	{ "instagram_authorize_url", STR, OFF(instagram_authorize_url), "https://www.facebook.com/v21.0/dialog/oauth", 8, 1024, true, false, false },
	{ "instagram_graph_base", STR, OFF(instagram_graph_base), "https://graph.facebook.com", 8, 1024, true, false, false },
	{ "instagram_api_version", STR, OFF(instagram_api_version), "v21.0", 2, 16, true, false, false },
	{ "stripe_base_url", STR, OFF(stripe_base_url), "https://api.stripe.com", 8, 1024, true, false, false },
	{ "stripe_secret_key", STR, OFF(stripe_secret_key), "", 0, 1024, true, true, false },
	{ "stripe_secret_key_file", STR, OFF(stripe_secret_key_file), "", 0, 4096, true, false, false },
	{ "stripe_webhook_secrets", STR, OFF(stripe_webhook_secrets), "", 0, 4096, true, true, false },
	{ "stripe_webhook_secrets_file", STR, OFF(stripe_webhook_secrets_file), "", 0, 4096, true, false, false },
	{ "stripe_webhook_tolerance_sec", INT, OFF(stripe_webhook_tolerance_sec), "300", 1, 3600, true, false, false },
	{ "stripe_prices", STR, OFF(stripe_prices), "", 0, 4096, false, false, false },
	{ "max_event_streams", INT, OFF(max_event_streams), "256", 1, 65536, false, false, false },
	{ "event_keepalive_sec", INT, OFF(event_keepalive_sec), "15", 1, 300, true, false, false },
	{ "health_requires_dispatcher", BOOL, OFF(health_requires_dispatcher), "yes", 0, 1, true, false, false },
	{ NULL, INT, 0, NULL, 0, 0, false, false, false },
};

static const struct conf_spec config_spec = { "CAAS_API_", config_rows, NULL };

int
config_init(struct api_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	return (conf_init(&config_spec, cfg));
}

void
config_cleanup(struct api_config *cfg)
{
	conf_cleanup(&config_spec, cfg);
}

int
config_load(struct api_config *cfg, const char *path, char *err, size_t errlen)
{
	return (conf_load(&config_spec, cfg, path, err, errlen));
}

bool
config_origin_allowed(const struct api_config *cfg, const char *origin)
{
	const char	*p = cfg->cors_origins;
	size_t		 len, olen;

	if (origin == NULL || p == NULL || p[0] == '\0')
		return (false);
	olen = strlen(origin);
	while (*p != '\0') {
		p += strspn(p, ", \t");
		len = strcspn(p, ", \t");
		if (len == 1 && p[0] == '*')
			return (true);
		if (len > 0 && len == olen && strncasecmp(p, origin, len) == 0)
			return (true);
		p += len;
	}
	return (false);
}
