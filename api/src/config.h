/*
 * config.h — the API server's settings.
 *
 * One row per key in config.c's table; values come from, in order: the
 * built-in default, the conf file ("key value" lines), the environment
 * (CAAS_API_<KEY>).  Secrets come only from the environment or from the
 * file named by <key>_file.  The global api_config is written once by main
 * before the daemon starts and is read-only afterwards, so threads read it
 * without locks.
 */
#ifndef CAAS_CONFIG_H
#define CAAS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct api_config {
	char	*listen_address;
	int	 port;
	int	 threads;
	int	 connection_timeout_sec;
	int	 connection_limit;
	int	 per_ip_connection_limit;
	int	 connection_memory_limit_bytes;
	int	 shutdown_timeout_sec;
	char	*database_url;
	char	*database_password;		/* secret */
	char	*database_password_file;
	int	 statement_timeout_ms;
	char	*jwt_secret;			/* secret, 32..64 bytes */
	char	*jwt_secret_file;
	char	*jwt_issuer;
	char	*jwt_audience;
	char	*jwt_key_id;			/* "kid" of the signing key */
	char	*jwt_previous_secret;		/* secret: key being retired, verify only */
	char	*jwt_previous_secret_file;
	char	*jwt_previous_key_id;
	int	 jwt_leeway_sec;
	int	 login_per_ip;			/* login attempts per window */
	int	 login_per_email;
	int	 login_window_sec;
	int	 hash_concurrency;		/* argon2 hashes at once */
	int	 access_ttl_sec;
	int	 refresh_ttl_sec;
	char	*cors_origins;			/* "" = no CORS; "*" = any */
	int	 max_body_bytes;
	char	*user;
	char	*swagger_ui_dir;
	bool	 access_log;

	/* Social tokens sealed at rest (common/src/seal.h). */
	char	*token_keys;			/* secret: "kid:base64[,kid:base64]" */
	char	*token_keys_file;
	char	*token_key_id;			/* the sealing key */

	/* Connecting social accounts (oauth.c, handlers/accounts.c). */
	char	*oauth_redirect_base;		/* public base URL of this API */
	char	*oauth_done_url;		/* browser's destination; "" = JSON */
	int	 outbound_timeout_ms;		/* each call to a platform */
	char	*x_client_id;
	char	*x_client_secret;		/* secret */
	char	*x_client_secret_file;
	char	*x_authorize_url;
	char	*x_token_url;
	char	*x_api_base;
	char	*linkedin_client_id;
	char	*linkedin_client_secret;	/* secret */
	char	*linkedin_client_secret_file;
	char	*linkedin_authorize_url;
	char	*linkedin_token_url;
	char	*linkedin_api_base;
	char	*instagram_app_id;
	char	*instagram_app_secret;		/* secret */
	char	*instagram_app_secret_file;
	char	*instagram_authorize_url;
	char	*instagram_graph_base;
	char	*instagram_api_version;

	/* Billing with Stripe (stripe.c, handlers/billing.c). */
	char	*stripe_base_url;		/* https://api.stripe.com, or a fake */
	char	*stripe_secret_key;		/* secret: sk_… */
	char	*stripe_secret_key_file;
	char	*stripe_webhook_secrets;	/* secret: "whsec_…[,whsec_…]" */
	char	*stripe_webhook_secrets_file;
	int	 stripe_webhook_tolerance_sec;	/* Stripe-Signature t vs now */
	char	*stripe_prices;			/* "pro:price_…,team:price_…" */

	/* Server-Sent Events (events.c) and health. */
	int	 max_event_streams;		/* open streams, and long-polls, at once */
	int	 event_keepalive_sec;		/* ": keep-alive" interval */
	bool	 health_requires_dispatcher;	/* stale dispatcher = 503 */
};

extern struct api_config api_config;

/* config_init sets every key to its default.  Returns 0 or -1 (memory). */
int	config_init(struct api_config *cfg);

/*
 * config_load reads path (NULL: no file), then the environment, then the
 * *_file secrets, and checks required keys.  On error returns -1 with a
 * message in err ("conf/api.conf:12: unknown key \"prot\""); cfg may hold
 * part of the new values and must still be cleaned up.
 */
int	config_load(struct api_config *cfg, const char *path, char *err,
	    size_t errlen);

/* config_cleanup frees the strings, wiping secrets first.  NULL-safe. */
void	config_cleanup(struct api_config *cfg);

/* config_origin_allowed is true when origin is listed in cors_origins. */
bool	config_origin_allowed(const struct api_config *cfg, const char *origin);

#endif /* CAAS_CONFIG_H */
