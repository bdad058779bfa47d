/*
 * listen.c — the dispatcher's libpq connection and LISTEN (listen.h).
 *
 * Connecting: PQconnectdbParams with the configured conninfo expanded
 * (fallback_application_name and connect_timeout first, so the conninfo's
 * own values win; the password, a secret, after it), then
 * SET ROLE <database_role>, SET statement_timeout, LISTEN caas_posts_due
 * (and LISTEN caas_ai_due when listen_ai), each in autocommit: the LISTEN is committed before the first query
 * inspects the queue, as async.c asks.  A failed attempt is logged once per
 * outage at WARNING (then every 20th attempt; the rest at DEBUG) and retried after an exponential
 * backoff with jitter, 250 ms up to 30 s.
 *
 * Notifications (testlibpq2.c): PQconsumeInput, then PQnotifies until NULL,
 * PQfreemem each, noted per channel.  Their payload (the run_at) is not
 * used: a wake-up only makes the loop ask the database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "backoff.h"
#include "listen.h"
#include "log.h"

#define RETRY_BASE_MS	250
#define RETRY_CAP_MS	30000

void
listen_init(struct listen_conn *c, const char *label, bool listen,
    const char *conninfo, const char *password, const char *role,
    int connect_timeout_sec, int statement_timeout_ms, int64_t (*mono_ms)(void))
{
	memset(c, 0, sizeof(*c));
	c->label = label;
	c->listen = listen;
	c->conninfo = conninfo;
	c->password = password != NULL ? password : "";
	c->role = role != NULL ? role : "";
	c->connect_timeout_sec = connect_timeout_sec;
	c->statement_timeout_ms = statement_timeout_ms;
	c->mono_ms = mono_ms;
}

static uint32_t
jitter(void *ctx)
{
	(void)ctx;
	return ((uint32_t)random());
}

/* schedule_retry sets the next attempt's time after a failure. */
static void
schedule_retry(struct listen_conn *c)
{
	static const struct backoff_policy policy = { RETRY_BASE_MS, RETRY_CAP_MS, 0 };

	c->failures++;
	c->retry_at = c->mono_ms() + backoff_delay_ms(&policy, c->failures, -1, jitter, NULL);
}

/*
 * notice logs what the server says outside a result (NOTICE, WARNING, the
 * FATAL before a disconnection) as a line of ours, instead of libpq's
 * default of printing to stderr.
 */
static void
notice(void *arg, const char *message)
{
	const struct listen_conn	*c = arg;
	char				 line[512];

	snprintf(line, sizeof(line), "%s", message);
	line[strcspn(line, "\n")] = '\0';
	log_info("%s connection: the server says: %s", c->label, line);
}

/* exec_ok runs sql; returns 0, or -1 with the error in why. */
static int
exec_ok(PGconn *pg, const char *sql, char *why, size_t whylen)
{
	PGresult	*r = PQexec(pg, sql);
	int		 ok = PQresultStatus(r) == PGRES_COMMAND_OK;

	if (!ok)
		snprintf(why, whylen, "%s", PQerrorMessage(pg));
	PQclear(r);
	return (ok ? 0 : -1);
}

/* session_setup: role, timeout, LISTEN.  Returns 0 or -1 (why set). */
static int
session_setup(struct listen_conn *c, char *why, size_t whylen)
{
	char	 sql[256], *ident;

	if (c->role[0] != '\0') {
		if ((ident = PQescapeIdentifier(c->pg, c->role, strlen(c->role))) == NULL)
			return (snprintf(why, whylen, "%s", PQerrorMessage(c->pg)), -1);
		snprintf(sql, sizeof(sql), "SET ROLE %s", ident);
		PQfreemem(ident);
		if (exec_ok(c->pg, sql, why, whylen) == -1)
			return (-1);
	}
	snprintf(sql, sizeof(sql), "SET statement_timeout = %d", c->statement_timeout_ms);
	if (exec_ok(c->pg, sql, why, whylen) == -1 ||
	    (c->listen && exec_ok(c->pg, "LISTEN " LISTEN_CHANNEL, why, whylen) == -1) ||
	    (c->listen && c->listen_ai &&
	    exec_ok(c->pg, "LISTEN " LISTEN_AI_CHANNEL, why, whylen) == -1))
		return (-1);
	return (0);
}

int
listen_connect(struct listen_conn *c)
{
	const char	*keys[5], *values[5];
	char		 timeout[16], why[512];
	int		 n = 0;

	if (c->pg != NULL)
		return (0);
	if (c->mono_ms() < c->retry_at)
		return (0);
	snprintf(timeout, sizeof(timeout), "%d", c->connect_timeout_sec);
	keys[n] = "fallback_application_name"; values[n++] = "caas-dispatcher";
	keys[n] = "connect_timeout"; values[n++] = timeout;
	keys[n] = "dbname"; values[n++] = c->conninfo;
	if (c->password[0] != '\0') {
		keys[n] = "password";
		values[n++] = c->password;
	}
	keys[n] = NULL;
	values[n] = NULL;

	c->pg = PQconnectdbParams(keys, values, 1);
	if (c->pg != NULL)
		PQsetNoticeProcessor(c->pg, notice, c);
	if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK)
		snprintf(why, sizeof(why), "%s", c->pg != NULL ? PQerrorMessage(c->pg) : "out of memory");
	else if (session_setup(c, why, sizeof(why)) == 0) {
		c->epoch++;
		if (c->ever_up)
			c->reconnects++;
		log_info("%s connection %s%s%s", c->label, c->ever_up ? "re-established" : "up",
		    !c->listen ? "" : c->listen_ai ? ": listening on " LISTEN_CHANNEL " and "
		    LISTEN_AI_CHANNEL : ": listening on " LISTEN_CHANNEL,
		    c->failures > 0 ? " after an outage" : "");
		c->ever_up = true;
		c->failures = 0;
		return (1);
	}
	why[strcspn(why, "\n")] = '\0';
	log_msg(c->failures % 20 == 0 ? LOG_LEVEL_WARNING : LOG_LEVEL_DEBUG,
	    "%s connection failed: %s; retrying", c->label, why);
	PQfinish(c->pg);
	c->pg = NULL;
	schedule_retry(c);
	return (-1);
}

PGconn *
listen_conn_get(struct listen_conn *c)
{
	return (c->pg);
}

uint64_t
listen_conn_epoch(const struct listen_conn *c)
{
	return (c->epoch);
}

void
listen_conn_lost(struct listen_conn *c, const char *why)
{
	char	 line[512];

	if (c->pg == NULL)
		return;
	snprintf(line, sizeof(line), "%s", why != NULL ? why : PQerrorMessage(c->pg));
	line[strcspn(line, "\n")] = '\0';
	log_warning("%s connection lost: %s; reconnecting", c->label, line);
	PQfinish(c->pg);
	c->pg = NULL;
	c->failures = 0;
	c->retry_at = c->mono_ms();	/* at once; backoff from the second try */
}

int
listen_socket(const struct listen_conn *c)
{
	return (c->pg != NULL ? PQsocket(c->pg) : -1);
}

void
listen_collect(struct listen_conn *c)
{
	PGnotify	*n;

	if (c->pg == NULL)
		return;
	while ((n = PQnotifies(c->pg)) != NULL) {
		if (n->relname != NULL && strcmp(n->relname, LISTEN_AI_CHANNEL) == 0)
			c->notified_ai = true;
		else
			c->notified = true;
		PQfreemem(n);
	}
}

int
listen_consume(struct listen_conn *c)
{
	if (c->pg == NULL)
		return (-1);
	if (PQconsumeInput(c->pg) == 0 || PQstatus(c->pg) != CONNECTION_OK) {
		listen_conn_lost(c, NULL);
		return (-1);
	}
	listen_collect(c);
	return (0);
}

bool
listen_take_notified(struct listen_conn *c)
{
	bool	 was = c->notified;

	c->notified = false;
	return (was);
}

bool
listen_take_notified_ai(struct listen_conn *c)
{
	bool	 was = c->notified_ai;

	c->notified_ai = false;
	return (was);
}

void
listen_close(struct listen_conn *c)
{
	if (c->pg != NULL)
		PQfinish(c->pg);
	c->pg = NULL;
}
