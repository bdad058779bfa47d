/*
 * guc.c — every caas.* GUC, in one place.
 *
 * One DefineCustom*Variable call per setting, with bounds, in the narrowest
 * context that works (PGC_SIGHUP for tunables, PGC_SUSET where a session
 * must not loosen an operator's choice).  The prefix is reserved at the end,
 * so "SET caas.typo = 1" is an error rather than a silent placeholder.
 *
 * Settings (defaults in brackets):
 *   caas.invitation_ttl_hours          [168]  lifetime of a new invitation
 *   caas.refresh_token_retention_days  [30]   how long spent/expired refresh
 *                                             tokens are kept for reuse detection
 *   caas.stripe_event_retention_days   [90]   how long processed Stripe events
 *                                             are kept for deduplication
 *   caas.post_max_attempts             [3]    publish attempts per scheduled post
 *   caas.past_due_grace_days           [7]    days a past-due subscription keeps
 *                                             its plan before falling back to free
 *   caas.dispatcher_workers            [1]    publishing background workers the
 *                                             postmaster starts (0: none; restart)
 *   caas.dispatcher_database           [caas] database those workers publish
 *                                             from (restart)
 *   caas.dispatcher_config_file        ['']   dispatcher.conf the workers read
 *                                             ('' = built-in defaults)
 *   caas.dispatcher_heartbeat_timeout_sec [30] heartbeat age after which
 *                                             caas.service_status() says stale
 *   caas.lateness_window_minutes       [15]   how far back service_status()
 *                                             looks for published posts' lateness
 *
 * The dispatcher_workers and dispatcher_database settings are read once, by
 * _PG_init in the postmaster (caas.c), so they are PGC_POSTMASTER.
 */
#include "postgres.h"

#include "utils/guc.h"

#include "guc.h"

int			caas_invitation_ttl_hours = 168;
int			caas_refresh_token_retention_days = 30;
int			caas_stripe_event_retention_days = 90;
int			caas_post_max_attempts = 3;
int			caas_past_due_grace_days = 7;
int			caas_dispatcher_workers = 1;
char	   *caas_dispatcher_database = NULL;
char	   *caas_dispatcher_config_file = NULL;
int			caas_dispatcher_heartbeat_timeout_sec = 30;
int			caas_lateness_window_minutes = 15;

void
caas_guc_define(void)
{
	DefineCustomIntVariable("caas.invitation_ttl_hours",
							gettext_noop("Lifetime of a new organisation invitation, in hours."),
							gettext_noop("Pending invitations older than this are marked expired by the housekeeping job."),
							&caas_invitation_ttl_hours,
							168,
							1,
							24 * 30,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("caas.refresh_token_retention_days",
							gettext_noop("Days a spent, revoked or expired refresh token is kept."),
							gettext_noop("Kept rows let a reused token revoke its family; the housekeeping job deletes older ones."),
							&caas_refresh_token_retention_days,
							30,
							1,
							365,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("caas.stripe_event_retention_days",
							gettext_noop("Days a processed Stripe event id is kept for deduplication."),
							gettext_noop("Stripe retries a delivery for up to three days; keep comfortably more."),
							&caas_stripe_event_retention_days,
							90,
							7,
							3650,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("caas.post_max_attempts",
							gettext_noop("Publish attempts a new scheduled post gets before it fails."),
							NULL,
							&caas_post_max_attempts,
							3,
							1,
							20,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("caas.past_due_grace_days",
							gettext_noop("Days a past-due subscription keeps its plan."),
							gettext_noop("After this grace period the organisation's limits fall back to the free plan; its data is kept."),
							&caas_past_due_grace_days,
							7,
							0,
							90,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("caas.dispatcher_workers",
							gettext_noop("Publishing background workers the postmaster starts."),
							gettext_noop("0 starts none (run the caas-dispatcher daemon instead). Takes effect only through shared_preload_libraries, at server start."),
							&caas_dispatcher_workers,
							1,
							0,
							8,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomStringVariable("caas.dispatcher_database",
							   gettext_noop("Database the publishing background workers connect to."),
							   gettext_noop("The database caas is installed in."),
							   &caas_dispatcher_database,
							   "caas",
							   PGC_POSTMASTER,
							   0,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("caas.dispatcher_config_file",
							   gettext_noop("Dispatcher configuration file the background workers read."),
							   gettext_noop("Same format as the caas-dispatcher daemon's file; empty means built-in defaults and the environment."),
							   &caas_dispatcher_config_file,
							   "",
							   PGC_SIGHUP,
							   0,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("caas.dispatcher_heartbeat_timeout_sec",
							gettext_noop("Age of the newest dispatcher heartbeat after which the dispatcher counts as stale."),
							gettext_noop("caas.service_status() and the API's health check report \"stale\" beyond it."),
							&caas_dispatcher_heartbeat_timeout_sec,
							30,
							5,
							3600,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("caas.lateness_window_minutes",
							gettext_noop("How far back caas.service_status() looks for published posts' lateness, in minutes."),
							NULL,
							&caas_lateness_window_minutes,
							15,
							1,
							24 * 60,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("caas");
}
