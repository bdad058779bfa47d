/*
 * tests/fakes/fake_common.h — the plumbing the fake servers share
 * (fake_platform, fake_ai, fake_stripe): replies and how they are queued,
 * request bodies, the request-log ring, the clocks, the libmicrohttpd
 * daemon's start-up and the signal handling of main().  What a fake says
 * (routes, protocols, stores, control APIs) stays in the fake.
 *
 * Memory: a reply owns its body and header strings (fc_reply_clear frees
 * them; content_type is static and never freed).  A body owns its buffer
 * (fc_body_free).  A ring owns the JSON values pushed into it (a push
 * takes the caller's reference; fc_ring_select returns a new array the
 * caller owns, holding new references).
 *
 * Locking: none here.  A ring is guarded by its owner's lock; replies and
 * bodies belong to one request, so to one thread at a time.
 *
 * Each program defines fc_json_error: the body of the 500 answered when a
 * JSON reply cannot be built (fc_reply_json).
 */
#ifndef CAAS_FAKE_COMMON_H
#define CAAS_FAKE_COMMON_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

/* ---- replies */
#define FC_MAX_HEADERS	10

struct fc_reply {
	unsigned int	 status;
	char		*body;		/* malloc'd, may be NULL */
	size_t		 len;
	const char	*content_type;	/* static */
	char		*hname[FC_MAX_HEADERS];
	char		*hvalue[FC_MAX_HEADERS];
	int		 nheaders;
};

extern const char	 fc_json_error[];	/* defined by each program */

void	fc_reply_clear(struct fc_reply *);
/* fc_reply_raw: body is len bytes (copied, NUL added); clears r first. */
void	fc_reply_raw(struct fc_reply *, unsigned int status, const char *ctype,
	    const char *body, size_t len);
void	fc_reply_text(struct fc_reply *, unsigned int status, const char *ctype,
	    const char *text);
/* fc_reply_json: compact JSON of take (its reference is consumed). */
void	fc_reply_json(struct fc_reply *, unsigned int status, json_t *take);
/* fc_reply_header: added after the others; past FC_MAX_HEADERS, dropped. */
void	fc_reply_header(struct fc_reply *, const char *name, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* fc_queue_reply: queue r on conn (status 0 as 500); MHD_NO on failure. */
enum MHD_Result fc_queue_reply(struct MHD_Connection *, const struct fc_reply *);

/* ---- request bodies */
struct fc_body {
	char		*buf;		/* NUL-terminated, NULL while empty */
	size_t		 len, cap;
	bool		 too_large;	/* more than the max was sent: not kept */
};

/* fc_body_add appends n bytes, or sets too_large when the total passes max. */
void	fc_body_add(struct fc_body *, const char *data, size_t n, size_t max);
/* fc_body_str: the body, "" while empty. */
const char *fc_body_str(const struct fc_body *);
void	fc_body_free(struct fc_body *);

/* ---- the request-log ring */
struct fc_ring {
	json_t		**v;		/* max entries */
	size_t		 max, head, n;
	uint64_t	 dropped;	/* pushed out by newer entries */
};

int	fc_ring_init(struct fc_ring *, size_t max);	/* -1: out of memory */
/* fc_ring_push takes take (NULL: nothing), dropping the oldest when full. */
void	fc_ring_push(struct fc_ring *, json_t *take);
/* fc_ring_clear empties the ring and zeroes dropped. */
void	fc_ring_clear(struct fc_ring *);
void	fc_ring_free(struct fc_ring *);		/* clear, then free the slots */
/* fc_ring_select: the entries whose string field name equals value (all
 * when value is NULL), oldest first. */
json_t	*fc_ring_select(const struct fc_ring *, const char *name,
	    const char *value);

/* ---- clocks */
int64_t	fc_wall_ms(void);	/* CLOCK_REALTIME */
int64_t	fc_wall_us(void);	/* CLOCK_REALTIME */
int64_t	fc_mono_ms(void);	/* CLOCK_MONOTONIC */

/* ---- the daemon and main() */
struct fc_limits {
	unsigned int	 connections;	/* MHD_OPTION_CONNECTION_LIMIT */
	unsigned int	 backlog;	/* MHD_OPTION_LISTEN_BACKLOG_SIZE; 0 = MHD's */
	unsigned int	 timeout;	/* MHD_OPTION_CONNECTION_TIMEOUT, seconds */
};

/*
 * fc_listen starts the daemon on 127.0.0.1:port (0 = any free port) with a
 * pool of threads (epoll, suspend/resume allowed) and prints "listening on
 * N".  NULL (said on stderr, as prog) when it cannot listen.
 */
struct MHD_Daemon *fc_listen(const char *prog, int port, int threads,
	    const struct fc_limits *, MHD_AccessHandlerCallback,
	    MHD_RequestCompletedCallback);
/* fc_block_signals blocks SIGTERM, SIGINT and SIGPIPE (set: those) in this
 * thread and every thread it starts afterwards. */
void	fc_block_signals(sigset_t *set);
/* fc_wait_stop waits for SIGTERM or SIGINT (set: from fc_block_signals). */
void	fc_wait_stop(sigset_t *set);

#endif /* CAAS_FAKE_COMMON_H */
