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
 * Lifetime: events_start once before the HTTP daemon starts (signals
 * already blocked), events_stop once after the daemon stops accepting and
 * before MHD_stop_daemon (it ends every stream and resumes the suspended
 * ones, as libmicrohttpd requires), events_cleanup after MHD_stop_daemon.
 */
#ifndef CAAS_EVENTS_H
#define CAAS_EVENTS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct events_config {
	const char	*conninfo;		/* libpq connection string (borrowed) */
	int		 max_streams;		/* open streams at once */
	int		 keepalive_sec;		/* ": keep-alive" after this much silence */
	int		 idle_timeout_sec;	/* the connection's, once its stream ended */
};

enum events_refusal {
	EVENTS_OK,
	EVENTS_FULL,		/* max_streams are open */
	EVENTS_STOPPING,	/* shutting down */
	EVENTS_NOMEM,
};

struct events_stream;

/* events_start starts the listener thread; borrows cfg.  Returns 0 or -1. */
int	events_start(const struct events_config *cfg);

/* events_stop ends every stream and joins the listener.  Idempotent. */
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

#endif /* CAAS_EVENTS_H */
