/*
 * main.c — caas-api: arguments, configuration, the libmicrohttpd daemon,
 * privileges and signals.
 *
 * Start-up: load the config (file, environment, secret files), configure
 * db.c, set the plans' Stripe prices from stripe_prices (when set) with
 * caas.stripe_prices_sync as caas_authenticator — a failure, an
 * unreachable database included, stops start-up with the reason — start
 * the daemon (internal polling thread pool; epoll when the
 * library has it, poll otherwise), drop root privileges after the socket is
 * bound, print "caas-api listening on http://addr:port".
 *
 * Shutdown: SIGINT/SIGTERM are blocked in every thread and taken by
 * sigwait() here, so no handler runs in a worker.  The daemon stops
 * accepting (MHD_quiesce_daemon), event streams are ended and their
 * listener thread joined (events.c: a suspended connection must be resumed
 * before MHD_stop_daemon), requests in flight get up to
 * shutdown_timeout_sec to finish, then MHD_stop_daemon closes everything
 * and the process exits 0.  SIGPIPE is ignored (a peer closing mid-write
 * is an error return, not a signal).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <malloc.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api.h"
#include "auth.h"
#include "config.h"
#include "db.h"
#include "events.h"
#include "handlers.h"
#include "metrics.h"
#include "outbound.h"
#include "request.h"
#include "seal.h"
#include "stripe.h"

#define DEFAULT_CONF	"conf/api.conf"

static void
usage(void)
{
	fprintf(stderr, "usage: caas-api [-c conf] [--check-config]\n");
	exit(2);
}

/* mhd_log sends libmicrohttpd's own messages to stderr, one line each. */
static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char	 line[512];
	size_t	 n;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strcspn(line, "\n");
	fprintf(stderr, "caas-api: mhd: %.*s\n", (int)n, line);
}

/* parse_address fills ss from listen_address and port.  Returns 0 or -1. */
static int
parse_address(struct sockaddr_storage *ss, bool *v6)
{
	struct sockaddr_in	*in4 = (struct sockaddr_in *)(void *)ss;
	struct sockaddr_in6	*in6 = (struct sockaddr_in6 *)(void *)ss;

	memset(ss, 0, sizeof(*ss));
	*v6 = false;
	if (inet_pton(AF_INET, api_config.listen_address, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)api_config.port);
		return (0);
	}
	if (inet_pton(AF_INET6, api_config.listen_address, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)api_config.port);
		*v6 = true;
		return (0);
	}
	return (-1);
}

static struct MHD_Daemon *
daemon_start(void)
{
	struct sockaddr_storage	 ss;
	unsigned int		 flags;
	bool			 v6;

	if (parse_address(&ss, &v6) == -1) {
		fprintf(stderr, "caas-api: listen_address \"%s\" is not an IPv4 or IPv6 address\n",
		    api_config.listen_address);
		return (NULL);
	}
	/* Event streams suspend their connection while they have nothing to say. */
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG |
	    MHD_ALLOW_SUSPEND_RESUME;
	flags |= MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES ?
	    MHD_USE_EPOLL : MHD_USE_POLL;
	if (v6)
		flags |= MHD_USE_IPv6;
	return (MHD_start_daemon(flags, (uint16_t)api_config.port, NULL, NULL,
	    request_access, NULL,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,	/* first: catches option errors */
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)api_config.threads,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)api_config.connection_timeout_sec,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)api_config.connection_limit,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)api_config.per_ip_connection_limit,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)api_config.connection_memory_limit_bytes,
	    MHD_OPTION_URI_LOG_CALLBACK, request_uri_begin, NULL,
	    MHD_OPTION_NOTIFY_COMPLETED, request_completed, NULL,
	    MHD_OPTION_END));
}

/*
 * drop_privileges switches to api_config.user when running as root.
 * Returns 0 (also when not root) or -1 after logging why.
 */
static int
drop_privileges(void)
{
	struct passwd	*pw;

	if (geteuid() != 0)
		return (0);
	if ((pw = getpwnam(api_config.user)) == NULL) {
		fprintf(stderr, "caas-api: user \"%s\" does not exist\n", api_config.user);
		return (-1);
	}
	if (setgroups(1, &pw->pw_gid) == -1 || setgid(pw->pw_gid) == -1 ||
	    setuid(pw->pw_uid) == -1) {
		fprintf(stderr, "caas-api: cannot become %s: %s\n", api_config.user, strerror(errno));
		return (-1);
	}
	if (setuid(0) == 0) {
		fprintf(stderr, "caas-api: privileges could be regained after dropping them\n");
		return (-1);
	}
	return (0);
}

/*
 * configure_auth hands the JWT keys and login limits to handlers/auth.c.
 * The structs are static: auth.c borrows them for the process lifetime.
 * Key rotation: tokens are signed with jwt_secret (kid jwt_key_id); while
 * jwt_previous_secret is set, tokens signed with it (kid
 * jwt_previous_key_id) still verify, until they expire.  Returns 0 or -1.
 */
static int
configure_auth(void)
{
	static struct jwt_key		 keys[2];
	static struct auth_config	 acfg;
	size_t				 n = 1;

	snprintf(keys[0].kid, sizeof(keys[0].kid), "%s", api_config.jwt_key_id);
	keys[0].secret_len = strlen(api_config.jwt_secret);	/* 32..64: config.c */
	memcpy(keys[0].secret, api_config.jwt_secret, keys[0].secret_len);
	if (api_config.jwt_previous_secret != NULL && api_config.jwt_previous_secret[0] != '\0') {
		if (api_config.jwt_previous_key_id == NULL || api_config.jwt_previous_key_id[0] == '\0' ||
		    strcmp(api_config.jwt_previous_key_id, api_config.jwt_key_id) == 0) {
			fprintf(stderr, "caas-api: jwt_previous_secret needs its own jwt_previous_key_id\n");
			return (-1);
		}
		snprintf(keys[1].kid, sizeof(keys[1].kid), "%s", api_config.jwt_previous_key_id);
		keys[1].secret_len = strlen(api_config.jwt_previous_secret);
		memcpy(keys[1].secret, api_config.jwt_previous_secret, keys[1].secret_len);
		n = 2;
	}
	acfg.jwt.keys = keys;
	acfg.jwt.nkeys = n;
	acfg.jwt.signing_key = 0;
	acfg.jwt.issuer = api_config.jwt_issuer;
	acfg.jwt.audience = api_config.jwt_audience;
	acfg.jwt.leeway_sec = api_config.jwt_leeway_sec;
	acfg.jwt.access_ttl_sec = api_config.access_ttl_sec;
	acfg.refresh_ttl_sec = api_config.refresh_ttl_sec;
	acfg.login_per_ip = api_config.login_per_ip;
	acfg.login_per_email = api_config.login_per_email;
	acfg.login_window_sec = api_config.login_window_sec;
	acfg.hash_concurrency = api_config.hash_concurrency;
	auth_configure(&acfg);
	return (0);
}

/*
 * configure_tokens parses the keys that seal social tokens into ring
 * (static: accounts.c borrows it for the process lifetime).  No keys is
 * not an error: connecting accounts then answers 503.  Returns 0 or -1.
 */
static int
configure_tokens(struct seal_ring *ring)
{
	char	 err[256];

	if (seal_ring_parse(ring, api_config.token_keys, api_config.token_key_id,
	    err, sizeof(err)) == -1) {
		fprintf(stderr, "caas-api: %s\n", err);
		return (-1);
	}
	if (!seal_ring_ready(ring))
		fprintf(stderr, "caas-api: token_keys not set: social accounts cannot be connected\n");
	accounts_configure(ring);
	return (0);
}

/*
 * configure_billing fills sc (static: billing.c borrows it) from
 * api_config and checks stripe_prices, whose JSON form goes into prices
 * for sync_prices.  Missing keys are not errors: the endpoints that need
 * them answer 503.  Returns 0 or -1 after logging why — never a secret.
 */
static int
configure_billing(struct stripe_config *sc, struct buf *prices)
{
	char	 err[256];

	sc->base_url = api_config.stripe_base_url;
	sc->secret_key = api_config.stripe_secret_key;
	sc->tolerance_sec = api_config.stripe_webhook_tolerance_sec;
	sc->timeout_ms = api_config.outbound_timeout_ms;
	if (!stripe_url_ok(sc->base_url)) {
		fprintf(stderr, "caas-api: stripe_base_url must be an absolute http(s) URL\n");
		return (-1);
	}
	if (stripe_secrets_parse(api_config.stripe_webhook_secrets, sc->secrets,
	    STRIPE_SECRETS_MAX, &sc->nsecrets, err, sizeof(err)) == -1) {
		fprintf(stderr, "caas-api: stripe_webhook_secrets: %s\n", err);
		return (-1);
	}
	if (stripe_prices_parse(api_config.stripe_prices, prices, err, sizeof(err)) == -1) {
		fprintf(stderr, "caas-api: stripe_prices: %s; the form is \"pro:price_...,team:price_...\"\n",
		    err);
		return (-1);
	}
	if (sc->secret_key[0] == '\0')
		fprintf(stderr, "caas-api: stripe_secret_key not set: checkout and the customer portal answer 503\n");
	if (sc->nsecrets == 0)
		fprintf(stderr, "caas-api: stripe_webhook_secrets not set: Stripe's webhook answers 503\n");
	billing_configure(sc);
	return (0);
}

/*
 * sync_prices hands the parsed stripe_prices to caas.stripe_prices_sync,
 * as caas_authenticator, before the server starts.  Nothing to do when
 * stripe_prices names no plan.  Returns 0 or -1 after logging why.
 */
static int
sync_prices(const struct buf *prices)
{
	char		 err[512], *out = NULL;
	const char	*params[1];

	if (prices->len <= 2)		/* "{}" */
		return (0);
	params[0] = prices->data;
	if (db_startup_query("SELECT caas.stripe_prices_sync($1::jsonb)", 1, params,
	    &out, err, sizeof(err)) == -1) {
		fprintf(stderr, "caas-api: stripe_prices: the plans' prices could not be set: %s\n", err);
		return (-1);
	}
	free(out);
	fprintf(stderr, "caas-api: stripe_prices: plans' Stripe prices set: %s\n", prices->data);
	return (0);
}

/* wait_in_flight gives running requests up to timeout_sec to finish. */
static void
wait_in_flight(int timeout_sec)
{
	struct timespec	 tick = { 0, 50 * 1000 * 1000 };
	long		 i, n = (long)timeout_sec * 20;

	for (i = 0; i < n && metrics_in_flight() > 0; i++)
		nanosleep(&tick, NULL);
	if (metrics_in_flight() > 0)
		fprintf(stderr, "caas-api: %ld requests still running after %d s; stopping anyway\n",
		    metrics_in_flight(), timeout_sec);
}

/* serve runs the daemon until SIGINT or SIGTERM.  Returns an exit status. */
static int
serve(const sigset_t *stop)
{
	struct MHD_Daemon	*d;
	MHD_socket		 lsock;
	int			 sig;

	if ((d = daemon_start()) == NULL) {
		fprintf(stderr, "caas-api: cannot listen on %s:%d\n",
		    api_config.listen_address, api_config.port);
		return (EXIT_FAILURE);
	}
	if (drop_privileges() == -1) {
		MHD_stop_daemon(d);
		return (EXIT_FAILURE);
	}
	fprintf(stderr, "caas-api listening on http://%s:%d\n",
	    api_config.listen_address, api_config.port);
	while (sigwait(stop, &sig) != 0)
		;
	fprintf(stderr, "caas-api: signal %d, shutting down\n", sig);
	lsock = MHD_quiesce_daemon(d);
	events_stop();
	wait_in_flight(api_config.shutdown_timeout_sec);
	MHD_stop_daemon(d);
	if (lsock != MHD_INVALID_SOCKET)
		close(lsock);
	return (EXIT_SUCCESS);
}

int
main(int argc, char **argv)
{
	const char		*conf = DEFAULT_CONF;
	bool			 check_only = false;
	char			 err[1024];
	static struct db_config	 dbcfg;
	static struct events_config evcfg;
	static struct seal_ring	 ring;
	static struct stripe_config stripe;
	struct buf		 prices;
	sigset_t		 stop;
	int			 i, rc;

	/*
	 * Each argon2id hash takes 19 MiB.  Past glibc's default threshold such
	 * a block is mmap'd and given back, but glibc raises the threshold after
	 * the first one, and later hash buffers would stay in the heap of each
	 * thread (RSS 10 MB -> 88 MB after 16 logins, bench/api_bench.sh).
	 */
	mallopt(M_MMAP_THRESHOLD, 1024 * 1024);

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			conf = argv[++i];
		else if (strcmp(argv[i], "--check-config") == 0)
			check_only = true;
		else
			usage();
	}
	if (config_init(&api_config) == -1 ||
	    config_load(&api_config, conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "caas-api: %s\n", err);
		return (EXIT_FAILURE);
	}
	buf_init(&prices);
	/* token_keys, Stripe's settings: checked also for --check-config */
	if (configure_tokens(&ring) == -1 || configure_billing(&stripe, &prices) == -1) {
		buf_cleanup(&prices);
		seal_ring_clear(&ring);
		config_cleanup(&api_config);
		return (EXIT_FAILURE);
	}
	if (check_only) {
		fprintf(stderr, "caas-api: %s: configuration ok\n", conf);
		buf_cleanup(&prices);
		seal_ring_clear(&ring);
		config_cleanup(&api_config);
		return (EXIT_SUCCESS);
	}
	/* libpq reads PGPASSWORD for keyword and URI connection strings alike. */
	if (api_config.database_password[0] != '\0')
		setenv("PGPASSWORD", api_config.database_password, 1);
	dbcfg.conninfo = api_config.database_url;
	dbcfg.statement_timeout_ms = api_config.statement_timeout_ms;
	db_configure(&dbcfg);
	rc = sync_prices(&prices);
	buf_cleanup(&prices);
	if (rc == -1 || configure_auth() == -1) {
		seal_ring_clear(&ring);
		config_cleanup(&api_config);
		return (EXIT_FAILURE);
	}
	evcfg.conninfo = api_config.database_url;
	evcfg.max_streams = api_config.max_event_streams;
	evcfg.keepalive_sec = api_config.event_keepalive_sec;
	evcfg.idle_timeout_sec = api_config.connection_timeout_sec;
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	if (pthread_sigmask(SIG_BLOCK, &stop, NULL) != 0 || outbound_global_init() == -1 ||
	    metrics_init(api_routes) == -1 || request_init() == -1 ||
	    events_start(&evcfg) == -1) {
		fprintf(stderr, "caas-api: start-up failed\n");
		return (EXIT_FAILURE);
	}
	rc = serve(&stop);
	events_stop();		/* when serve failed before its own call */
	events_cleanup();
	outbound_global_cleanup();
	metrics_cleanup();
	seal_ring_clear(&ring);
	config_cleanup(&api_config);
	return (rc);
}
