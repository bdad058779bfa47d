/*
 * events.h — status changes streamed to browsers as Server-Sent Events:
 * one listener thread with its own libpq connection LISTENs the channels
 * open streams need and fans each notification out to those streams.
 *
 * A stream is the body of one GET /api/v1/events/ response, produced by
 * events_read (a libmicrohttpd content reader) and freed by events_close
 * (its free callback).  When a stream has nothing to send its connection
 * is suspended; the listener resumes it when data arrives, a keep-alive is
 * due, or the stream must end (token expired, shutdown).  Nothing polls.
 *
 * A waiter is one long-poll (GET .../ai/jobs/{job}/?wait=S): a request
 * whose connection is suspended until a notification on its channel
 * matches, its deadline passes, its channel's LISTEN takes effect (a
 * change may have slipped by before: re-read), or the server stops.  The
 * handler re-reads the database after every wake-up and decides.
 *
 * Lifetime: events_start once before the HTTP daemon starts (signals
 * already blocked), events_stop once after the daemon stops accepting and
 * before MHD_stop_daemon (it ends every stream, wakes every waiter and
 * resumes the suspended connections, as libmicrohttpd requires),
 * events_cleanup after MHD_stop_daemon.
 */
#ifndef CAAS_EVENTS_H
#define CAAS_EVENTS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct events_config {
	const char	*conninfo;		/* libpq connection string (borrowed) */
	int		 max_streams;		/* open streams at once, and waiters */
	int		 keepalive_sec;		/* ": keep-alive" after this much silence */
	int		 idle_timeout_sec;	/* the connection's, once its stream ended */
};

enum events_refusal {
	EVENTS_OK,
	EVENTS_FULL,		/* max_streams are open (or waiting) */
	EVENTS_STOPPING,	/* shutting down */
	EVENTS_NOMEM,
};

struct events_stream;

/* events_start starts the listener thread; borrows cfg.  Returns 0 or -1. */
int	events_start(const struct events_config *cfg);

/*
 * events_stop ends every stream, wakes every waiter and joins the
 * listener.  Idempotent.
 */
void	events_stop(void);

/* events_cleanup frees what events_start allocated (after MHD_stop_daemon). */
void	events_cleanup(void);

/*
 * events_open registers a stream for conn (a struct MHD_Connection *) on
 * the LISTEN channel (as caas.events_channel named it).  The stream ends
 * itself at exp_unix (the caller's token expiry; 0 = never).  With
 * resync_first, the client is told to re-fetch before anything else (it
 * reconnected with Last-Event-ID: what it missed is gone).  Returns the
 * stream (the caller hands it to libmicrohttpd with events_read and
 * events_close), or NULL with *why set.
 */
struct events_stream *events_open(void *conn, const char *channel,
	    int64_t exp_unix, bool resync_first, enum events_refusal *why);

/* libmicrohttpd's content reader and free callback for a stream. */
ssize_t	events_read(void *cls, uint64_t pos, char *buf, size_t max);
void	events_close(void *cls);

/* events_stream_count: streams open now (for /metrics). */
long	events_stream_count(void);

/* ------------------------------------------------------------ waiters */

#define EVENTS_MATCH_MAX	64	/* bytes of each match string, NUL included */

/* What wakes a waiter: a notification whose "type" is type and whose
 * string field named field equals value (all three copied). */
struct events_match {
	const char	*type;		/* "ai_job.state" */
	const char	*field;		/* "job_id" */
	const char	*value;		/* the job's id as the payload spells it */
};

enum events_watch {
	EVENTS_WATCH_DONE,	/* stopping, or the deadline has passed: answer */
	EVENTS_WATCH_ARMED,	/* the channel is LISTENed: re-read, then suspend */
	EVENTS_WATCH_PENDING,	/* its LISTEN is pending: a wake-up follows once
				   it is in effect, so a read made just before
				   watching needs no repeat */
};

struct events_waiter;

/* events_clock_ms: CLOCK_MONOTONIC in milliseconds, the clock of deadlines. */
uint64_t	events_clock_ms(void);

/*
 * events_waiter_open registers a waiter for conn (a struct MHD_Connection
 * *) on channel, woken by match until deadline_ms (events_clock_ms).  It
 * is idle until events_waiter_watch.  Returns it (malloc'd; the caller
 * frees it with events_waiter_close), or NULL with *why set (EVENTS_FULL:
 * max_streams waiters exist; EVENTS_STOPPING; EVENTS_NOMEM; a too-long
 * match is EVENTS_NOMEM too).
 */
struct events_waiter *events_waiter_open(void *conn, const char *channel,
	    const struct events_match *match, uint64_t deadline_ms,
	    enum events_refusal *why);

/*
 * events_waiter_watch arms w for one wake-up.  Call it BEFORE reading
 * what the caller waits for, so a change committed after the read wakes
 * it.  Returns what the caller should do (enum events_watch).
 */
enum events_watch events_waiter_watch(struct events_waiter *w);

/*
 * events_waiter_suspend suspends w's connection until its wake-up, from
 * the libmicrohttpd thread serving the connection, inside the access
 * handler (which then returns with resp.suspended set).  Returns true when
 * suspended, false when the wake-up already came (or w is not watched):
 * read again now.
 */
bool	events_waiter_suspend(struct events_waiter *w);

/*
 * events_waiter_close unregisters and frees w.  NULL-safe.  Never while
 * w's connection is suspended (it cannot be: a suspended request does not
 * end).
 */
void	events_waiter_close(struct events_waiter *w);

#endif /* CAAS_EVENTS_H */
