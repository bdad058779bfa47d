/*
 * guc.h — the caas.* configuration parameters.
 *
 * Every setting is defined in guc.c and read through these variables; SQL
 * reads them with current_setting('caas.<name>').
 */
#ifndef CAAS_GUC_H
#define CAAS_GUC_H

extern int	caas_invitation_ttl_hours;
extern int	caas_refresh_token_retention_days;
extern int	caas_stripe_event_retention_days;
extern int	caas_post_max_attempts;
extern int	caas_past_due_grace_days;
extern int	caas_dispatcher_workers;
extern char *caas_dispatcher_database;
extern char *caas_dispatcher_config_file;
extern int	caas_dispatcher_heartbeat_timeout_sec;
extern int	caas_lateness_window_minutes;

extern void caas_guc_define(void);

#endif							/* CAAS_GUC_H */
