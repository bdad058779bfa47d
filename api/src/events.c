/*
 * events.c — Server-Sent Event streams fed by one LISTEN connection.
 *
 * Wording: a *stream* is one open GET /api/v1/events/ response; a
 * *channel* is a PostgreSQL LISTEN channel (one per organisation, named by
 * caas.events_channel); the *listener* is the thread that owns the libpq
 * connection, LISTENs the channels streams need and fans notifications
 * out.
 *
 * Channels are reference-counted by their streams: the listener LISTENs a
 * channel when its first stream opens and UNLISTENs it when the last one
 * closes.  A stream says nothing until its channel is LISTENed; then it
 * gets "retry:" and a ": ready" comment, so a client that saw ": ready"
 * sees every later change.  When the connection drops the listener
 * reconnects with exponential backoff (100 ms .. 5 s) and, once a channel
 * is LISTENed again, sends its streams "event: resync": what happened in
 * between is lost and the client must re-fetch.
 *
 * Each stream has a bounded queue of frames (EV_QUEUE_MAX bytes).  A
 * client too slow to keep up loses the frames that do not fit and gets
 * "event: resync" once it has drained the rest.
 *
 * A *waiter* is one long-poll request (handlers/ai.c).  It references its
 * channel like a stream and is woken — once per events_waiter_watch — by
 * the first of: a notification matching its type and field; its channel's
 * LISTEN taking effect (on first use, and again after a reconnect: what
 * happened before may have been missed, so the handler re-reads); its
 * deadline (the listener sleeps no longer than the nearest one); shutdown.
 * The handler watches before it reads and suspends after, so a change
 * committed after the read always wakes it.  At most max_streams waiters
 * exist at once, counted apart from the streams.
 *
 * Locking: one mutex (ev.lock) guards every stream, waiter and channel and
 * the event ids.  Suspend/resume protocol: the content reader (a
 * libmicrohttpd thread), finding nothing to send, sets stream->suspended
 * and calls MHD_suspend_connection while holding the lock; the listener,
 * holding the lock, clears the flag and remembers the connection, then
 * calls MHD_resume_connection after releasing it.  A connection suspended
 * by libmicrohttpd cannot close, so the stream outlives that window.
 * Waiters follow the same protocol (their handler suspends inside the
 * access handler).  Only the listener resumes, and ev.resume is its own
 * scratch array (room for every stream and every waiter once).
 *
 * Memory: streams, waiters and channels are malloc'd; a stream is freed by
 * events_close (libmicrohttpd's free callback for its response), a waiter
 * by events_waiter_close (when its request ends), a channel by the
 * listener once nothing references it and it is not LISTENed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <microhttpd.h>

#include "events.h"
#include "sse.h"

#define EV_QUEUE_MAX		(64 * 1024)	/* bytes waiting per stream */
#define EV_CHANNEL_MAX		64		/* NAMEDATALEN */
#define EV_BACKOFF_MIN_MS	100
#define EV_BACKOFF_MAX_MS	5000
#define EV_TICK_MS		1000		/* keep-alive and expiry checks */
#define EV_RETRY_MS		3000		/* the client's reconnect delay */
#define EV_SYNC_STEPS		256		/* LISTEN/UNLISTEN per loop turn */

struct ev_channel {
	struct ev_channel	*next;
	char			 name[EV_CHANNEL_MAX];
	int			 refs;		/* open streams and waiters */
	bool			 listening;	/* on the current connection */
	bool			 lost;		/* was listening when it dropped */
};

struct events_stream {
	struct events_stream	*prev, *next;
	struct MHD_Connection	*conn;
	struct ev_channel	*channel;
	int64_t			 exp;		/* unix seconds; 0 = never */
	struct buf		 out;		/* frames not yet sent ... */
	size_t			 off;		/* ... from here */
	uint64_t		 last_write_ms;	/* monotonic */
	const char		*end_reason;
	bool			 ready;		/* ": ready" queued */
	bool			 suspended;
	bool			 ending;	/* queue "event: end", then close */
	bool			 end_queued;
	bool			 overflow;	/* frames dropped: resync when drained */
	bool			 resync_first;
};

struct events_waiter {
	struct events_waiter	*prev, *next;
	struct MHD_Connection	*conn;
	struct ev_channel	*channel;
	char			 type[EVENTS_MATCH_MAX];
	char			 field[EVENTS_MATCH_MAX];
	char			 value[EVENTS_MATCH_MAX];
	uint64_t		 deadline_ms;	/* monotonic */
	bool			 watching;	/* armed for one wake-up */
	bool			 suspended;
};

static struct {
	pthread_mutex_t		 lock;
	const struct events_config *cfg;
	pthread_t		 thread;
	bool			 running;
	bool			 stopping;
	int			 wake[2];	/* self-pipe to the listener */
	struct events_stream	*streams;
	long			 nstreams;
	struct ev_channel	*channels;
	struct events_waiter	*waiters;
	long			 nwaiters;
	uint64_t		 next_id;
	uint64_t		 sleep_until_ms;	/* the listener's next wake-up */
	struct MHD_Connection	**resume;	/* listener's scratch, 2 × max_streams */
	int			 nresume;
} ev = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake = { -1, -1 } };

/* The listener's own state (its thread only). */
struct listener {
	PGconn		*conn;
	int		 backoff_ms;
	uint64_t	 next_attempt_ms;
	bool		 failing;		/* logged the current outage */
};

static uint64_t
mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

uint64_t
events_clock_ms(void)
{
	return (mono_ms());
}

static void
wake_listener(void)
{
	ssize_t	 n;

	if (ev.wake[1] != -1)
		do
			n = write(ev.wake[1], "w", 1);
		while (n == -1 && errno == EINTR);
}

/* ------------------------------------------------ queues (lock held) */

/* queue appends a frame unless the stream's queue is full (then overflow). */
static void
queue(struct events_stream *s, const char *frame, size_t len)
{
	if (s->out.len - s->off + len > EV_QUEUE_MAX || buf_append(&s->out, frame, len) == -1)
		s->overflow = true;
}

static void
queue_resync(struct events_stream *s)
{
	struct buf	 b;

	buf_init(&b);
	if (sse_append_event(&b, ++ev.next_id, "resync", "{}", 2) == 0)
		queue(s, b.data, b.len);
	buf_cleanup(&b);
}

static void
queue_hello(struct events_stream *s)
{
	struct buf	 b;

	buf_init(&b);
	if (sse_append_retry(&b, EV_RETRY_MS) == 0 && sse_append_comment(&b, "ready") == 0)
		queue(s, b.data, b.len);
	buf_cleanup(&b);
	s->ready = true;
	if (s->resync_first)
		queue_resync(s);
}

/* queue_end appends the closing event; it is always accepted. */
static void
queue_end(struct events_stream *s)
{
	struct buf	 b;

	buf_init(&b);
	buf_appendf(&b, "{\"reason\":\"%s\"}", s->end_reason != NULL ? s->end_reason : "end");
	(void)sse_append_event(&s->out, 0, "end", b.data, b.len);
	buf_cleanup(&b);
	s->end_queued = true;
}

/* wake marks a suspended stream for resumption (by flush_resumes). */
static void
wake(struct events_stream *s)
{
	if (s->suspended) {
		s->suspended = false;
		ev.resume[ev.nresume++] = s->conn;
	}
}

/* wake_waiter ends a waiter's watch, resuming it if it is suspended. */
static void
wake_waiter(struct events_waiter *w)
{
	if (!w->watching)
		return;
	w->watching = false;
	if (w->suspended) {
		w->suspended = false;
		ev.resume[ev.nresume++] = w->conn;
	}
}

/* flush_resumes resumes what wake marked.  Listener only, lock NOT held. */
static void
flush_resumes(void)
{
	int	 i;

	for (i = 0; i < ev.nresume; i++)
		MHD_resume_connection(ev.resume[i]);
	ev.nresume = 0;
}

/* ----------------------------------------------------- the listener */

static struct ev_channel *
channel_find(const char *name)
{
	struct ev_channel	*ch;

	for (ch = ev.channels; ch != NULL; ch = ch->next)
		if (strcmp(ch->name, name) == 0)
			return (ch);
	return (NULL);
}

/*
 * next_change finds a channel whose LISTEN state must change, copying its
 * name out; frees channels nobody needs any more.  Returns 1 (LISTEN),
 * -1 (UNLISTEN) or 0 (nothing to do).
 */
static int
next_change(char name[EV_CHANNEL_MAX])
{
	struct ev_channel	**pp, *ch;
	int			 change = 0;

	pthread_mutex_lock(&ev.lock);
	for (pp = &ev.channels; (ch = *pp) != NULL && change == 0;) {
		if (ch->refs == 0 && !ch->listening) {
			*pp = ch->next;
			free(ch);
			continue;
		}
		if (ch->refs > 0 && !ch->listening)
			change = 1;
		else if (ch->refs == 0 && ch->listening)
			change = -1;
		if (change != 0)
			memcpy(name, ch->name, EV_CHANNEL_MAX);
		pp = &ch->next;
	}
	pthread_mutex_unlock(&ev.lock);
	return (change);
}

/*
 * apply_change records a done LISTEN (its waiting streams get ": ready",
 * or "resync" after a reconnect; its watching waiters are woken to
 * re-read) or UNLISTEN.
 */
static void
apply_change(const char *name, int change)
{
	struct ev_channel	*ch;
	struct events_stream	*s;
	struct events_waiter	*w;

	pthread_mutex_lock(&ev.lock);
	if ((ch = channel_find(name)) != NULL) {
		ch->listening = change > 0;
		for (s = ev.streams; change > 0 && s != NULL; s = s->next) {
			if (s->channel != ch || s->ending)
				continue;
			if (!s->ready)
				queue_hello(s);
			else if (ch->lost)
				queue_resync(s);
			wake(s);
		}
		for (w = ev.waiters; change > 0 && w != NULL; w = w->next)
			if (w->channel == ch)
				wake_waiter(w);
		ch->lost = false;
	}
	pthread_mutex_unlock(&ev.lock);
	flush_resumes();
}

/* listener_lost drops the connection; channels are LISTENed again later. */
static void
listener_lost(struct listener *l, const char *why)
{
	struct ev_channel	*ch;

	fprintf(stderr, "caas-api: events: database connection lost (%s); reconnecting\n", why);
	PQfinish(l->conn);
	l->conn = NULL;
	l->failing = true;
	l->backoff_ms = EV_BACKOFF_MIN_MS;
	l->next_attempt_ms = mono_ms() + (uint64_t)l->backoff_ms;
	pthread_mutex_lock(&ev.lock);
	for (ch = ev.channels; ch != NULL; ch = ch->next)
		if (ch->listening) {
			ch->listening = false;
			ch->lost = true;
		}
	pthread_mutex_unlock(&ev.lock);
}

/* exec_listen runs LISTEN or UNLISTEN name.  Returns 0 or -1 (lost). */
static int
exec_listen(struct listener *l, const char *name, int change)
{
	char		*ident, sql[EV_CHANNEL_MAX * 2 + 32];
	PGresult	*r;
	bool		 ok;

	if ((ident = PQescapeIdentifier(l->conn, name, strlen(name))) == NULL)
		return (-1);
	snprintf(sql, sizeof(sql), "%s %s", change > 0 ? "LISTEN" : "UNLISTEN", ident);
	PQfreemem(ident);
	r = PQexec(l->conn, sql);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		fprintf(stderr, "caas-api: events: %s failed: %s", change > 0 ? "LISTEN" : "UNLISTEN",
		    PQerrorMessage(l->conn));
	PQclear(r);
	return (ok ? 0 : -1);
}

/* channels_sync brings the connection's LISTENs in line with the streams. */
static void
channels_sync(struct listener *l)
{
	char	 name[EV_CHANNEL_MAX];
	int	 change, steps;

	for (steps = 0; steps < EV_SYNC_STEPS && (change = next_change(name)) != 0; steps++) {
		if (exec_listen(l, name, change) == -1) {
			listener_lost(l, "LISTEN failed");
			return;
		}
		apply_change(name, change);
	}
}

static bool
channels_wanted(void)
{
	struct ev_channel	*ch;
	bool			 want = false;

	pthread_mutex_lock(&ev.lock);
	for (ch = ev.channels; ch != NULL && !want; ch = ch->next)
		want = ch->refs > 0;
	pthread_mutex_unlock(&ev.lock);
	return (want);
}

/* notice_to_log sends the server's messages (a FATAL at shutdown) to our log. */
static void
notice_to_log(void *arg, const char *message)
{
	(void)arg;
	fprintf(stderr, "caas-api: events: server says: %s", message);
}

/* listener_connect opens the connection, or schedules the next attempt. */
static void
listener_connect(struct listener *l)
{
	const char	*keys[] = { "dbname", "connect_timeout", "application_name", NULL };
	const char	*vals[] = { ev.cfg->conninfo, "5", "caas-api events", NULL };

	l->conn = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(l->conn) == CONNECTION_OK) {
		PQsetNoticeProcessor(l->conn, notice_to_log, NULL);
		if (l->failing)
			fprintf(stderr, "caas-api: events: database connection back\n");
		l->failing = false;
		l->backoff_ms = 0;
		return;
	}
	if (!l->failing)
		fprintf(stderr, "caas-api: events: cannot connect: %s", PQerrorMessage(l->conn));
	PQfinish(l->conn);
	l->conn = NULL;
	l->failing = true;
	l->backoff_ms = l->backoff_ms == 0 ? EV_BACKOFF_MIN_MS :
	    l->backoff_ms * 2 > EV_BACKOFF_MAX_MS ? EV_BACKOFF_MAX_MS : l->backoff_ms * 2;
	l->next_attempt_ms = mono_ms() + (uint64_t)l->backoff_ms;
}

/* waiter_matches: notification j, of this type, is what w waits for. */
static bool
waiter_matches(const struct events_waiter *w, const char *type, json_t *j)
{
	const char	*v;

	if (!w->watching || strcmp(w->type, type) != 0)
		return (false);
	v = json_string_value(json_object_get(j, w->field));
	return (v != NULL && strcmp(v, w->value) == 0);
}

/*
 * fan_out queues one notification on every ready stream of its channel
 * and wakes the channel's waiters it matches.  The payload's "type"
 * (post.state, account.status, ai_job.state) is the event's name.
 */
static void
fan_out(const PGnotify *n)
{
	json_t			*j = json_loads(n->extra, 0, NULL);
	const char		*name = json_string_value(json_object_get(j, "type"));
	struct ev_channel	*ch;
	struct events_stream	*s;
	struct events_waiter	*w;
	struct buf		 frame;

	if (!sse_name_valid(name)) {
		json_decref(j);
		return;
	}
	buf_init(&frame);
	pthread_mutex_lock(&ev.lock);
	if ((ch = channel_find(n->relname)) != NULL &&
	    sse_append_event(&frame, ++ev.next_id, name, n->extra, strlen(n->extra)) == 0)
		for (s = ev.streams; s != NULL; s = s->next)
			if (s->channel == ch && s->ready && !s->ending) {
				queue(s, frame.data, frame.len);
				wake(s);
			}
	for (w = ev.waiters; ch != NULL && w != NULL; w = w->next)
		if (w->channel == ch && waiter_matches(w, name, j))
			wake_waiter(w);
	pthread_mutex_unlock(&ev.lock);
	buf_cleanup(&frame);
	json_decref(j);
}

/* drain reads what the server sent and fans out the notifications. */
static void
drain(struct listener *l)
{
	PGnotify	*n;

	if (PQconsumeInput(l->conn) == 0 || PQstatus(l->conn) != CONNECTION_OK) {
		listener_lost(l, "read failed");
		return;
	}
	while ((n = PQnotifies(l->conn)) != NULL) {
		fan_out(n);
		PQfreemem(n);
	}
	flush_resumes();
}

/* tick: keep-alives on quiet streams, the end of expired ones. */
static void
tick(void)
{
	struct events_stream	*s;
	uint64_t		 now = mono_ms();
	int64_t			 wall = (int64_t)time(NULL);
	uint64_t		 quiet = (uint64_t)ev.cfg->keepalive_sec * 1000u;

	pthread_mutex_lock(&ev.lock);
	for (s = ev.streams; s != NULL; s = s->next) {
		if (s->ending)
			continue;
		if (s->exp > 0 && wall >= s->exp) {
			s->ending = true;
			s->end_reason = "token_expired";
			wake(s);
		} else if (s->out.len == s->off && now - s->last_write_ms >= quiet) {
			buf_append(&s->out, ": keep-alive\n\n", 14);
			s->last_write_ms = now;
			wake(s);
		}
	}
	pthread_mutex_unlock(&ev.lock);
	flush_resumes();
}

/*
 * expire wakes the waiters whose deadline has passed and returns how long
 * the listener may sleep: timeout_ms, or less to meet the next deadline.
 */
static int
expire(int timeout_ms)
{
	struct events_waiter	*w;
	uint64_t		 now = mono_ms();

	pthread_mutex_lock(&ev.lock);
	for (w = ev.waiters; w != NULL; w = w->next) {
		if (!w->watching)
			continue;
		if (w->deadline_ms <= now)
			wake_waiter(w);
		else if (w->deadline_ms - now < (uint64_t)timeout_ms)
			timeout_ms = (int)(w->deadline_ms - now);
	}
	ev.sleep_until_ms = now + (uint64_t)timeout_ms;
	pthread_mutex_unlock(&ev.lock);
	flush_resumes();
	return (timeout_ms);
}

/* end_all ends every stream and wakes every waiter (shutdown). */
static void
end_all(void)
{
	struct events_stream	*s;
	struct events_waiter	*w;

	pthread_mutex_lock(&ev.lock);
	for (s = ev.streams; s != NULL; s = s->next) {
		if (!s->ending) {
			s->ending = true;
			s->end_reason = "shutdown";
		}
		wake(s);
	}
	for (w = ev.waiters; w != NULL; w = w->next)
		wake_waiter(w);
	pthread_mutex_unlock(&ev.lock);
	flush_resumes();
}

/* wait_io sleeps until the pipe or the database speaks, or timeout_ms. */
static bool
wait_io(struct listener *l, int timeout_ms)
{
	struct pollfd	 fds[2];
	char		 junk[64];
	nfds_t		 n = 1;

	fds[0].fd = ev.wake[0];
	fds[0].events = POLLIN;
	if (l->conn != NULL) {
		fds[1].fd = PQsocket(l->conn);
		fds[1].events = POLLIN;
		n = 2;
	}
	if (poll(fds, n, timeout_ms) <= 0)
		return (false);
	if (fds[0].revents != 0)
		while (read(ev.wake[0], junk, sizeof(junk)) > 0)
			;
	return (n == 2 && fds[1].revents != 0);
}

static void *
listener_main(void *arg)
{
	struct listener	 l = { NULL, 0, 0, false };
	uint64_t	 now, next_tick = 0;
	int		 timeout;
	bool		 stopping;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&ev.lock);
		stopping = ev.stopping;
		pthread_mutex_unlock(&ev.lock);
		if (stopping)
			break;
		now = mono_ms();
		if (l.conn == NULL && now >= l.next_attempt_ms && channels_wanted())
			listener_connect(&l);
		if (l.conn != NULL)
			channels_sync(&l);
		timeout = EV_TICK_MS;
		if (l.conn == NULL && l.next_attempt_ms > now && l.next_attempt_ms - now < EV_TICK_MS)
			timeout = (int)(l.next_attempt_ms - now);
		timeout = expire(timeout);
		if (wait_io(&l, timeout) && l.conn != NULL)
			drain(&l);
		if ((now = mono_ms()) >= next_tick) {
			tick();
			next_tick = now + EV_TICK_MS;
		}
	}
	end_all();
	PQfinish(l.conn);
	return (NULL);
}

/* ------------------------------------------------------------ public */

int
events_start(const struct events_config *cfg)
{
	ev.cfg = cfg;
	ev.stopping = false;
	if ((ev.resume = calloc((size_t)cfg->max_streams * 2, sizeof(*ev.resume))) == NULL)
		return (-1);
	if (pipe2(ev.wake, O_NONBLOCK | O_CLOEXEC) == -1) {
		ev.wake[0] = ev.wake[1] = -1;
		return (-1);
	}
	if (pthread_create(&ev.thread, NULL, listener_main, NULL) != 0)
		return (-1);
	ev.running = true;
	return (0);
}

void
events_stop(void)
{
	pthread_mutex_lock(&ev.lock);
	ev.stopping = true;
	pthread_mutex_unlock(&ev.lock);
	wake_listener();
	if (ev.running) {
		pthread_join(ev.thread, NULL);
		ev.running = false;
	}
}

void
events_cleanup(void)
{
	struct ev_channel	*ch;

	while ((ch = ev.channels) != NULL) {
		ev.channels = ch->next;
		free(ch);
	}
	if (ev.wake[0] != -1) {
		close(ev.wake[0]);
		close(ev.wake[1]);
		ev.wake[0] = ev.wake[1] = -1;
	}
	free(ev.resume);
	ev.resume = NULL;
}

/* channel_ref finds or creates the channel and counts a user (stream, waiter). */
static struct ev_channel *
channel_ref(const char *name)
{
	struct ev_channel	*ch;

	if ((ch = channel_find(name)) == NULL) {
		if ((ch = calloc(1, sizeof(*ch))) == NULL)
			return (NULL);
		snprintf(ch->name, sizeof(ch->name), "%s", name);
		ch->next = ev.channels;
		ev.channels = ch;
	}
	ch->refs++;
	return (ch);
}

struct events_stream *
events_open(void *conn, const char *channel, int64_t exp_unix, bool resync_first,
    enum events_refusal *why)
{
	struct events_stream	*s;
	bool			 ready;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		*why = EVENTS_NOMEM;
		return (NULL);
	}
	s->conn = conn;
	s->exp = exp_unix;
	s->resync_first = resync_first;
	s->last_write_ms = mono_ms();
	buf_init(&s->out);
	pthread_mutex_lock(&ev.lock);
	*why = ev.stopping ? EVENTS_STOPPING : ev.nstreams >= ev.cfg->max_streams ?
	    EVENTS_FULL : (s->channel = channel_ref(channel)) == NULL ? EVENTS_NOMEM : EVENTS_OK;
	if (*why == EVENTS_OK) {
		s->next = ev.streams;
		if (ev.streams != NULL)
			ev.streams->prev = s;
		ev.streams = s;
		ev.nstreams++;
		if (s->channel->listening)
			queue_hello(s);
	}
	ready = s->ready;
	pthread_mutex_unlock(&ev.lock);
	if (*why != EVENTS_OK) {
		free(s);
		return (NULL);
	}
	if (!ready)
		wake_listener();
	return (s);
}

/* take copies queued bytes to buf; the queue restarts empty once drained. */
static size_t
take(struct events_stream *s, char *buf, size_t max)
{
	size_t	 n = s->out.len - s->off;

	if (n > max)
		n = max;
	if (n == 0)
		return (0);
	memcpy(buf, s->out.data + s->off, n);
	s->off += n;
	if (s->off == s->out.len)
		s->off = s->out.len = 0;
	s->last_write_ms = mono_ms();
	return (n);
}

ssize_t
events_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct events_stream	*s = cls;
	size_t			 n;

	(void)pos;
	pthread_mutex_lock(&ev.lock);
	if (s->ending && !s->end_queued)
		queue_end(s);
	if (s->overflow && s->out.len == s->off && !s->end_queued) {
		s->overflow = false;
		queue_resync(s);
	}
	n = take(s, buf, max);
	if (n == 0 && s->end_queued) {
		pthread_mutex_unlock(&ev.lock);
		/* The connection may carry another request: time it out again. */
		MHD_set_connection_option(s->conn, MHD_CONNECTION_OPTION_TIMEOUT,
		    (unsigned int)ev.cfg->idle_timeout_sec);
		return (MHD_CONTENT_READER_END_OF_STREAM);
	}
	if (n == 0) {
		/* Nothing to send: the listener resumes us (see the header). */
		s->suspended = true;
		MHD_suspend_connection(s->conn);
	}
	pthread_mutex_unlock(&ev.lock);
	return ((ssize_t)n);
}

void
events_close(void *cls)
{
	struct events_stream	*s = cls;
	bool			 idle = false;

	pthread_mutex_lock(&ev.lock);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		ev.streams = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	ev.nstreams--;
	idle = --s->channel->refs == 0;
	pthread_mutex_unlock(&ev.lock);
	if (idle)
		wake_listener();	/* UNLISTEN */
	buf_cleanup(&s->out);
	free(s);
}

long
events_stream_count(void)
{
	long	 n;

	pthread_mutex_lock(&ev.lock);
	n = ev.nstreams;
	pthread_mutex_unlock(&ev.lock);
	return (n);
}

/* ------------------------------------------------------------ waiters */

/* copy_match copies src into dst[EVENTS_MATCH_MAX]; false if too long. */
static bool
copy_match(char dst[EVENTS_MATCH_MAX], const char *src)
{
	size_t	 n;

	if (src == NULL || (n = strlen(src)) >= EVENTS_MATCH_MAX)
		return (false);
	memcpy(dst, src, n + 1);
	return (true);
}

struct events_waiter *
events_waiter_open(void *conn, const char *channel, const struct events_match *match,
    uint64_t deadline_ms, enum events_refusal *why)
{
	struct events_waiter	*w;

	if ((w = calloc(1, sizeof(*w))) == NULL || !copy_match(w->type, match->type) ||
	    !copy_match(w->field, match->field) || !copy_match(w->value, match->value)) {
		free(w);
		*why = EVENTS_NOMEM;
		return (NULL);
	}
	w->conn = conn;
	w->deadline_ms = deadline_ms;
	pthread_mutex_lock(&ev.lock);
	*why = ev.stopping ? EVENTS_STOPPING : ev.nwaiters >= ev.cfg->max_streams ?
	    EVENTS_FULL : (w->channel = channel_ref(channel)) == NULL ? EVENTS_NOMEM : EVENTS_OK;
	if (*why == EVENTS_OK) {
		w->next = ev.waiters;
		if (ev.waiters != NULL)
			ev.waiters->prev = w;
		ev.waiters = w;
		ev.nwaiters++;
	}
	pthread_mutex_unlock(&ev.lock);
	if (*why != EVENTS_OK) {
		free(w);
		return (NULL);
	}
	return (w);
}

enum events_watch
events_waiter_watch(struct events_waiter *w)
{
	enum events_watch	 r;
	bool			 poke = false;

	pthread_mutex_lock(&ev.lock);
	w->watching = false;
	if (ev.stopping || mono_ms() >= w->deadline_ms)
		r = EVENTS_WATCH_DONE;
	else {
		w->watching = true;
		r = w->channel->listening ? EVENTS_WATCH_ARMED : EVENTS_WATCH_PENDING;
		/* The listener must LISTEN, or wake up sooner than it meant to. */
		poke = r == EVENTS_WATCH_PENDING || w->deadline_ms < ev.sleep_until_ms;
	}
	pthread_mutex_unlock(&ev.lock);
	if (poke)
		wake_listener();
	return (r);
}

bool
events_waiter_suspend(struct events_waiter *w)
{
	bool	 waiting;

	pthread_mutex_lock(&ev.lock);
	if ((waiting = w->watching)) {
		w->suspended = true;
		MHD_suspend_connection(w->conn);
	}
	pthread_mutex_unlock(&ev.lock);
	return (waiting);
}

void
events_waiter_close(struct events_waiter *w)
{
	bool	 idle;

	if (w == NULL)
		return;
	pthread_mutex_lock(&ev.lock);
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		ev.waiters = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	ev.nwaiters--;
	idle = --w->channel->refs == 0;
	pthread_mutex_unlock(&ev.lock);
	if (idle)
		wake_listener();	/* UNLISTEN */
	free(w);
}
