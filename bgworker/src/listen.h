/*
 * listen.h — the dispatcher's one libpq connection: connect, SET ROLE,
 * LISTEN caas_posts_due (and caas_ai_due when AI generation is on),
 * notifications, and reconnection with backoff (listen.c).
 *
 * A notification is a hint that something became due: the loop re-queries
 * after every one, after every reconnect and on a timer, so a lost
 * notification costs at most the rescan interval, never a post.
 *
 * The connection is borrowed by queue.c for its statements (one at a
 * time; the dispatcher is single-threaded).  listen_conn_epoch changes with
 * every new connection, so prepared statements are redone.
 *
 * Memory: the struct owns the PGconn; listen_close finishes it.  The
 * strings given to listen_init are borrowed for the struct's lifetime.
 */
#ifndef CAAS_LISTEN_H
#define CAAS_LISTEN_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#define LISTEN_CHANNEL		"caas_posts_due"
#define LISTEN_AI_CHANNEL	"caas_ai_due"

struct listen_conn {
	PGconn		*pg;
	uint64_t	 epoch;
	const char	*conninfo;
	const char	*password;	/* "" = none */
	const char	*role;		/* "" = stay the login role */
	const char	*label;		/* for log lines: "database", "recording" */
	bool		 listen;	/* LISTEN on this connection */
	bool		 listen_ai;	/* ... also on caas_ai_due (set after listen_init) */
	int		 connect_timeout_sec;
	int		 statement_timeout_ms;
	bool		 notified;	/* since listen_take_notified */
	bool		 notified_ai;	/* caas_ai_due, since listen_take_notified_ai */
	int		 failures;	/* consecutive failed attempts */
	int64_t		 retry_at;	/* monotonic ms of the next attempt */
	bool		 ever_up;
	uint64_t	 reconnects;
	int64_t		 (*mono_ms)(void);
};

/*
 * listen_init prepares c (no I/O).  listen false makes a plain connection
 * (the recording one); label names it in log lines.
 */
void	listen_init(struct listen_conn *c, const char *label, bool listen,
	    const char *conninfo, const char *password, const char *role,
	    int connect_timeout_sec, int statement_timeout_ms,
	    int64_t (*mono_ms)(void));

/*
 * listen_connect opens the connection if it is down and its retry time has
 * come: connect, SET ROLE, LISTEN (when listening).  Returns 1 when a new connection is up,
 * 0 when nothing changed (already up, or not yet time), -1 when the attempt
 * failed (logged; the next one is scheduled with backoff).
 */
int	listen_connect(struct listen_conn *c);

/* listen_conn_get is the live connection, or NULL while down. */
PGconn	*listen_conn_get(struct listen_conn *c);
uint64_t listen_conn_epoch(const struct listen_conn *c);

/* listen_conn_lost drops a broken connection and schedules a reconnect. */
void	listen_conn_lost(struct listen_conn *c, const char *why);

/* The socket to wait on, or -1 while down. */
int	listen_socket(const struct listen_conn *c);

/*
 * listen_consume reads what arrived on the socket and collects
 * notifications.  Returns 0, or -1 when the connection broke (dropped).
 */
int	listen_consume(struct listen_conn *c);

/* listen_collect drains notifications libpq already holds. */
void	listen_collect(struct listen_conn *c);

/*
 * listen_take_notified: was caas_posts_due notified since the last call?
 * listen_take_notified_ai: was caas_ai_due?
 */
bool	listen_take_notified(struct listen_conn *c);
bool	listen_take_notified_ai(struct listen_conn *c);

void	listen_close(struct listen_conn *c);

#endif /* CAAS_LISTEN_H */
