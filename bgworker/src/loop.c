/*
 * loop.c — the dispatcher's loop: one wait point, then everything that
 * became possible (STYLE.md "bgworker/ specifics", loop shape).
 *
 * One pass:
 *   wait      curl_multi_poll on curl's sockets plus the libpq sockets, the
 *             wake pipe (signals) and, in the worker, the postmaster-death
 *             descriptor, for at most loop_timeout_ms();
 *   signals   stop: stop claiming, let requests in flight finish for up to
 *             shutdown_timeout_sec, record, exit; reload: the entry's hook;
 *   answers   finished transfers go to their adapters (dispatch.c); the
 *             answers of recordings and of the claim in flight are taken
 *             (a claimed post's first request leaves at once);
 *   database  reconnect when down and due; drain notifications;
 *   steps     start the adapter steps whose time has come;
 *   writes    references, refreshes, then the decided outcomes in
 *             caas.dispatch_record_batch calls on the recording
 *             connections (one call in flight on each);
 *   periodic  heartbeat, sweep, rescan, token refresh scan;
 *   claim     when posts are due and there is room: send a claim of
 *             min(batch_size, max_in_flight - posts in hand); after its
 *             answer ask caas.dispatch_next_due() again (at once after a
 *             full batch).
 *
 * AI generation jobs (ai.c) ride the same pass: their calls go through the
 * same curl multi handle (answers, steps), their outcomes are recorded on
 * a connection of their own (ai_job_result_batch, one call in flight), and
 * they are claimed with caas.ai_claim on the main connection as a chore:
 * when caas_ai_due is notified (after asking caas.ai_next_due), at start,
 * after a reconnect, on the rescan timer (leases that expired) and when
 * ai_next_due said so, only while there is room (ai.max_in_flight) and a
 * provider is configured.  Like the other chores it waits while a post is
 * due within CHORE_GAP_MS, so AI work never makes a post late.
 *
 * The main connection runs one thing at a time: while a claim is in
 * flight, references, refreshes and chores wait for its answer.
 *
 * Timing: the next due instant is asked of the database as a delay from
 * its own clock_timestamp(), in microseconds, and turned into a monotonic
 * deadline (rounded up to the ms) when the answer arrives, so the wake-up
 * lands at or up to ~1 ms after run_at whatever the two clocks say.  It
 * is asked again after every claim, notification, reconnect and
 * rescan_interval_sec, so a lost notification costs at most that
 * interval.  When a claim comes back empty although something is due
 * (another dispatcher holds it), the next try waits 2 ms, doubling up to
 * 100 ms, instead of spinning.
 *
 * No transaction is open while waiting or during HTTP: every statement is
 * its own (queue.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ai.h"
#include "config.h"
#include "dispatch.h"
#include "http_multi.h"
#include "listen.h"
#include "log.h"
#include "loop.h"
#include "queue.h"

#define STATEMENT_TIMEOUT_MS	30000
#define MAX_SLEEP_MS		60000
#define STATS_INTERVAL_MS	60000
#define REFRESH_BATCH		20
#define REFRESH_MAX		100	/* refreshes in hand at once */
#define EMPTY_BACKOFF_MIN_MS	2
#define EMPTY_BACKOFF_MAX_MS	100
#define CLAIM_RETRY_MS		5000	/* after the database refused a claim */
#define CHORE_GAP_MS		20	/* no chore this close before a due post */
#define CHORE_MAX_DELAY_MS	1000	/* ... unless it is this late already */
#define AI_AGAIN_MS		100	/* due but not claimed: leased elsewhere */

/* Optional functions an older extension may lack: logged once each. */
#define MISSING_HEARTBEAT	0x1
#define MISSING_REFRESH		0x2
#define MISSING_SWEEP		0x4
#define MISSING_AI		0x8

struct loop {
	const struct dispatcher_config	*cfg;
	const struct loop_entry		*e;
	struct http_multi		*http;
	struct listen_conn		 conn;	/* LISTEN, claims, everything else */
	struct queue			 q;
	/* dispatch_record_batch, asynchronously, one call per connection */
	struct listen_conn		 rconn[DISPATCH_RECORD_SLOTS];
	struct queue			 qrec[DISPATCH_RECORD_SLOTS];
	int				 nrec;
	struct dispatch			 d;
	/* AI generation: jobs, and ai_job_result_batch's connection */
	struct ai			 ai;
	struct listen_conn		 aconn;
	struct queue			 qai;
	int64_t				 ai_due_at;	/* claim then; -1 = none known */
	int64_t				 ai_query_at;	/* ask ai_next_due then; -1 = no */

	int64_t		 due_at;	/* monotonic; -1 = nothing known due */
	int		 claiming;	/* batch of the claim in flight, 0 = none */
	int		 claim_batch;
	int64_t		 claim_sent_at;
	bool		 query_due;	/* ask dispatch_next_due before claiming */
	int64_t		 empty_backoff;
	int64_t		 heartbeat_at, sweep_at, rescan_at, refresh_at, stats_at;
	struct queue_stats last;	/* at the previous stats line */
	struct ai_stats	 ai_last;
	char		 last_error[256];	/* of claim/next_due, logged once */
	bool		 stopping;
	int64_t		 stop_at;
	unsigned int	 missing;
};

int64_t
loop_mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

int64_t
loop_mono_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

int64_t
loop_wall_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static int64_t
earliest(int64_t a, int64_t b)
{
	if (a < 0)
		return (b);
	if (b < 0)
		return (a);
	return (a < b ? a : b);
}

int
loop_timeout_ms(const struct loop_timers *t, int64_t now)
{
	int64_t	 at = -1, ms;

	if (t->now)
		return (0);
	if (t->can_claim)
		at = earliest(at, t->due_at);
	at = earliest(at, t->step_at);
	at = earliest(at, t->periodic_at);
	at = earliest(at, t->reconnect_at);
	at = earliest(at, t->stop_at);
	if (at < 0)
		return (t->max_ms);
	ms = at - now;
	if (ms < 0)
		return (0);
	return (ms > t->max_ms ? t->max_ms : (int)ms);
}

/* ------------------------------------------------------------ glue */

/*
 * The store's context is the loop: outcomes go through the recording
 * connections (record_connections of them), so recording overlaps the
 * claims on the main one and several backends share the work; everything
 * else is on the main one.
 */
static int
store_progress(void *ctx, const char *org, const char *post, int attempt,
    const char *ref, int lease, struct queue_error *qerr)
{
	struct loop	*l = ctx;

	return (queue_progress(&l->q, org, post, attempt, ref, lease, qerr));
}

static bool
store_record_up(void *ctx, int slot)
{
	struct loop	*l = ctx;

	return (listen_conn_get(&l->rconn[slot]) != NULL);
}

static int
store_record_send(void *ctx, int slot, const struct queue_outcome *out,
    size_t n, struct queue_error *qerr)
{
	struct loop	*l = ctx;

	return (queue_record_send(&l->qrec[slot], out, n, qerr));
}

static int
store_record_poll(void *ctx, int slot, struct queue_recorded *res, size_t n,
    bool *ready, struct queue_error *qerr)
{
	struct loop	*l = ctx;

	return (queue_record_poll(&l->qrec[slot], res, n, ready, qerr));
}

static int
store_refresh_account(void *ctx, const char *org, const char *account,
    int lease, queue_account_fn fn, void *arg, bool *found,
    struct queue_error *qerr)
{
	struct loop	*l = ctx;

	return (queue_refresh_account(&l->q, org, account, lease, fn, arg, found, qerr));
}

static int
store_token_store(void *ctx, const char *org, const char *account,
    const uint8_t *a, size_t alen, const uint8_t *r, size_t rlen,
    const char *kid, int64_t exp, int64_t rexp, struct queue_error *qerr)
{
	struct loop	*l = ctx;

	return (queue_token_store(&l->q, org, account, a, alen, r, rlen, kid, exp, rexp, qerr));
}

static int
store_token_failed(void *ctx, const char *org, const char *account,
    bool reauth, const char *message, struct queue_error *qerr)
{
	struct loop	*l = ctx;

	return (queue_token_failed(&l->q, org, account, reauth, message, qerr));
}

static int64_t
env_mono(void *ctx)
{
	(void)ctx;
	return (loop_mono_ms());
}

static int64_t
env_wall(void *ctx)
{
	(void)ctx;
	return (loop_wall_ms());
}

static uint32_t
env_rand(void *ctx)
{
	(void)ctx;
	return (arc4random());
}

static bool
store_ai_up(void *ctx)
{
	struct loop	*l = ctx;

	return (listen_conn_get(&l->aconn) != NULL);
}

static int
store_ai_send(void *ctx, const struct queue_ai_outcome *out, size_t n,
    struct queue_error *qerr)
{
	struct loop	*l = ctx;

	return (queue_ai_result_send(&l->qai, out, n, qerr));
}

static int
store_ai_poll(void *ctx, struct queue_ai_recorded *res, size_t n, bool *ready,
    struct queue_error *qerr)
{
	struct loop	*l = ctx;

	return (queue_ai_result_poll(&l->qai, res, n, ready, qerr));
}

static int
ai_row(void *arg, const struct queue_ai_job *row)
{
	struct loop	*l = arg;

	return (ai_claimed(&l->ai, row));
}

static int
claim_row(void *arg, const struct queue_post *row)
{
	struct loop	*l = arg;

	return (dispatch_claimed(&l->d, row));
}

static int
refresh_row(void *arg, const struct queue_account *row)
{
	struct loop	*l = arg;

	return (refresh_claimed(&l->d, row));
}

/* ---------------------------------------------------------- database */

static bool
connected(struct loop *l)
{
	return (listen_conn_get(&l->conn) != NULL);
}

/* recording_up: some recording connection is up. */
static bool
recording_up(struct loop *l)
{
	int	 i;

	for (i = 0; i < l->nrec; i++)
		if (listen_conn_get(&l->rconn[i]) != NULL)
			return (true);
	return (false);
}

/*
 * recording_retry_at: the next reconnection of a recording connection
 * (the AI one included).
 */
static int64_t
recording_retry_at(struct loop *l)
{
	int64_t	 at = -1;
	int	 i;

	for (i = 0; i < l->nrec; i++)
		if (listen_conn_get(&l->rconn[i]) == NULL)
			at = earliest(at, l->rconn[i].retry_at);
	if (ai_enabled(&l->ai) && listen_conn_get(&l->aconn) == NULL)
		at = earliest(at, l->aconn.retry_at);
	return (at);
}

/*
 * optional_missing logs, once, that a function is missing, and says
 * whether qerr was that (42883 undefined function, 3F000 no caas schema).
 */
static bool
optional_missing(struct loop *l, unsigned int bit, const char *what,
    const struct queue_error *qerr)
{
	if (strcmp(qerr->sqlstate, "42883") != 0 && strcmp(qerr->sqlstate, "3F000") != 0)
		return (false);
	if ((l->missing & bit) == 0)
		log_warning("%s does not exist (%s): is the caas extension installed and up to date?",
		    what, qerr->message);
	l->missing |= bit;
	return (true);
}

/*
 * refused handles the database refusing a claim or dispatch_next_due (an
 * extension older than the dispatcher, a missing grant): logged when the
 * error changes, tried again in CLAIM_RETRY_MS, never in a tight loop.
 */
static void
refused(struct loop *l, const char *what, const struct queue_error *qerr)
{
	char	 line[sizeof(l->last_error)];

	snprintf(line, sizeof(line), "%s failed (%s: %.200s)", what, qerr->sqlstate, qerr->message);
	log_msg(strcmp(line, l->last_error) != 0 ? LOG_LEVEL_ERROR : LOG_LEVEL_DEBUG,
	    "%s; trying again in %d s", line, CLAIM_RETRY_MS / 1000);
	memcpy(l->last_error, line, sizeof(line));
	l->query_due = false;
	l->due_at = loop_mono_ms() + CLAIM_RETRY_MS;
}

/* next_due asks when the next post is due.  Returns 0 or -1 (failed). */
static int
next_due(struct loop *l)
{
	struct queue_error	 qerr;
	int64_t			 delay;
	bool			 none;
	int			 rc;

	rc = queue_next_due(&l->q, &delay, &none, &qerr);
	if (rc != QUEUE_OK) {
		if (rc == QUEUE_REFUSED)
			refused(l, "caas.dispatch_next_due", &qerr);
		else
			l->due_at = -1;
		return (-1);
	}
	l->last_error[0] = '\0';
	l->query_due = false;
	/*
	 * The deadline is rounded up to the ms while "now" is truncated, so
	 * the poll never returns before run_at (an empty claim) and on
	 * average 1 ms after it.
	 */
	/*
	 * Wake claim_ahead_ms early: the claim's round trip then happens
	 * before run_at, and the job waits for its instant in the loop.
	 */
	delay -= (int64_t)l->cfg->claim_ahead_ms * 1000;
	l->due_at = none ? -1 : (loop_mono_us() + (delay > 0 ? delay : 0) + 999) / 1000;
	return (0);
}

/*
 * claim sends a claim when posts are due, there is room and no claim is in
 * flight (asking dispatch_next_due first when needed).  The answer is
 * taken by claim_collect, so the loop serves HTTP and recordings while
 * the database works on it.
 */
static void
claim(struct loop *l)
{
	struct queue_error	 qerr;
	int			 room, rc;

	room = l->cfg->max_in_flight - l->d.jobs;
	if (l->claiming > 0 || room <= 0 || !connected(l) || l->stopping)
		return;
	if (l->query_due && next_due(l) == -1)
		return;
	if (l->due_at < 0 || l->due_at > loop_mono_ms())
		return;
	l->claim_batch = room < l->cfg->batch_size ? room : l->cfg->batch_size;
	rc = queue_claim_send(&l->q, l->claim_batch, l->cfg->lease_seconds,
	    l->cfg->claim_ahead_ms, &qerr);
	if (rc == QUEUE_REFUSED)
		refused(l, "caas.dispatch_claim", &qerr);
	else if (rc == QUEUE_OK) {
		l->claiming = l->claim_batch;
		l->claim_sent_at = loop_mono_ms();
	}
}

/*
 * claim_collect takes the claim's answer if it is in: the posts start at
 * once, their outcomes so far are sent for recording, and the next claim
 * goes out when more are due.
 */
static void
claim_collect(struct loop *l)
{
	struct queue_error	 qerr;
	bool			 ready = false;
	int			 n, rc;
	int64_t			 now;

	if (l->claiming == 0)
		return;
	rc = queue_claim_poll(&l->q, claim_row, l, &ready, &n, &qerr);
	if (rc == QUEUE_OK && !ready)
		return;
	l->claiming = 0;
	if (rc == QUEUE_DOWN) {
		log_warning("the answer of a claim was lost with the connection; "
		    "posts it leased will be swept to unconfirmed");
		return;
	}
	if (rc == QUEUE_REFUSED) {
		refused(l, "caas.dispatch_claim", &qerr);
		return;
	}
	l->query_due = true;
	if (n > 0) {
		log_debug("claimed %d posts", n);
		l->empty_backoff = 0;
		dispatch_run(&l->d);
		http_multi_process(l->http);
		dispatch_collect(&l->d);
		dispatch_flush(&l->d);
	}
	if (n == l->claim_batch || next_due(l) == -1)
		return;		/* a full batch: more may be due at once */
	now = loop_mono_ms();
	if (n == 0 && l->due_at >= 0 && l->due_at <= now) {
		/* Due but leased elsewhere (SKIP LOCKED): do not spin. */
		l->empty_backoff = l->empty_backoff == 0 ? EMPTY_BACKOFF_MIN_MS :
		    l->empty_backoff * 2;
		if (l->empty_backoff > EMPTY_BACKOFF_MAX_MS)
			l->empty_backoff = EMPTY_BACKOFF_MAX_MS;
		l->due_at = now + l->empty_backoff;
	}
}

static void
heartbeat(struct loop *l, int in_flight)
{
	struct queue_error	 qerr;
	struct queue_ai_stats	 ai;

	ai_heartbeat_stats(&l->ai, &ai);
	if (queue_heartbeat(&l->q, l->e->kind, (int)getpid(), in_flight, &l->d.stats,
	    &ai, &qerr) == QUEUE_REFUSED &&
	    !optional_missing(l, MISSING_HEARTBEAT, "caas.dispatch_heartbeat", &qerr))
		log_warning("heartbeat failed (%s: %s)", qerr.sqlstate, qerr.message);
}

static void
sweep(struct loop *l)
{
	struct queue_error	 qerr;
	int			 n, rc;

	rc = queue_sweep(&l->q, &n, &qerr);
	if (rc == QUEUE_OK && n > 0)
		log_info("sweeper: %d posts whose lease expired are now unconfirmed", n);
	else if (rc == QUEUE_REFUSED &&
	    !optional_missing(l, MISSING_SWEEP, "caas.dispatch_sweep", &qerr))
		log_warning("sweep failed (%s: %s)", qerr.sqlstate, qerr.message);
}

static void
refresh_scan(struct loop *l)
{
	struct queue_error	 qerr;
	int			 n, room = REFRESH_MAX - l->d.nrefresh, rc;

	if (room <= 0)
		return;
	rc = queue_refresh_claim(&l->q, room < REFRESH_BATCH ? room : REFRESH_BATCH,
	    l->cfg->refresh_horizon_sec, l->cfg->lease_seconds, refresh_row, l, &n, &qerr);
	if (rc == QUEUE_OK && n > 0) {
		log_info("refreshing the tokens of %d accounts", n);
		http_multi_process(l->http);
	} else if (rc == QUEUE_REFUSED &&
	    !optional_missing(l, MISSING_REFRESH, "caas.dispatch_refresh_claim", &qerr))
		log_warning("token refresh scan failed (%s: %s)", qerr.sqlstate, qerr.message);
}

/*
 * ai_refused handles the database refusing caas.ai_claim or ai_next_due
 * (an extension without AI jobs: logged once; else every time), tried
 * again in CLAIM_RETRY_MS.
 */
static void
ai_refused(struct loop *l, const char *what, const struct queue_error *qerr)
{
	if (!optional_missing(l, MISSING_AI, what, qerr))
		log_warning("%s failed (%s: %s); trying again in %d s", what, qerr->sqlstate,
		    qerr->message, CLAIM_RETRY_MS / 1000);
	l->ai_query_at = -1;
	l->ai_due_at = loop_mono_ms() + CLAIM_RETRY_MS;
}

/*
 * ai_next_due asks when the next queued AI job is due.  just_claimed: a
 * claim just came back short, so one due now is leased elsewhere (SKIP
 * LOCKED) or just arrived: ask again in AI_AGAIN_MS rather than spin.
 */
static void
ai_next_due(struct loop *l, int64_t now, bool just_claimed)
{
	struct queue_error	 qerr;
	int64_t			 delay;
	bool			 none;
	int			 rc;

	l->ai_query_at = -1;
	rc = queue_ai_next_due(&l->q, &delay, &none, &qerr);
	if (rc == QUEUE_REFUSED)
		ai_refused(l, "caas.ai_next_due", &qerr);
	if (rc != QUEUE_OK || none)
		return;
	if (just_claimed && delay < AI_AGAIN_MS)
		delay = AI_AGAIN_MS;
	l->ai_due_at = earliest(l->ai_due_at, now + (delay > 0 ? delay : 0));
}

/*
 * ai_claim leases due AI jobs (synchronously: a chore) when there is room:
 * min(ai.batch_size, room); a full batch claims again on the next pass.
 */
static void
ai_claim(struct loop *l, int64_t now)
{
	const struct dispatcher_config	*cfg = l->cfg;
	struct queue_error		 qerr;
	int				 room = ai_room(&l->ai), batch, n, rc;

	if (room <= 0)
		return;
	if (l->ai_query_at >= 0 && l->ai_query_at <= now)
		ai_next_due(l, now, false);
	if (l->ai_due_at < 0 || l->ai_due_at > now)
		return;
	batch = room < cfg->ai_batch_size ? room : cfg->ai_batch_size;
	rc = queue_ai_claim(&l->q, batch, cfg->ai_lease_seconds, ai_row, l, &n, &qerr);
	if (rc == QUEUE_REFUSED) {
		ai_refused(l, "caas.ai_claim", &qerr);
		return;
	}
	if (rc == QUEUE_DOWN)
		return;		/* the reconnection claims again */
	if (n > 0)
		log_debug("claimed %d AI jobs", n);
	l->ai_due_at = -1;
	if (n == batch)
		l->ai_due_at = now;	/* more may be due */
	else
		ai_next_due(l, now, true);
}

/* ai_claim_at: when AI jobs should be claimed (or asked about); -1. */
static int64_t
ai_claim_at(const struct loop *l)
{
	if (ai_room(&l->ai) <= 0)
		return (-1);
	return (earliest(l->ai_query_at, l->ai_due_at));
}

/* ai_stats_line logs the last interval's AI jobs, when there were any. */
static void
ai_stats_line(struct loop *l)
{
	const struct ai_stats	*s = &l->ai.stats, *p = &l->ai_last;

	if (s->claimed == p->claimed && s->calls == p->calls && s->lost == p->lost)
		return;
	log_info("last %d s: AI jobs claimed %llu, succeeded %llu, failed %llu, requeued %llu, "
	    "not recorded %llu; %llu provider calls; %d AI jobs in hand",
	    STATS_INTERVAL_MS / 1000,
	    (unsigned long long)(s->claimed - p->claimed),
	    (unsigned long long)(s->done - p->done),
	    (unsigned long long)(s->failed - p->failed),
	    (unsigned long long)(s->requeued - p->requeued),
	    (unsigned long long)(s->lost - p->lost),
	    (unsigned long long)(s->calls - p->calls), l->ai.jobs);
	l->ai_last = *s;
}

static void
stats_line(struct loop *l)
{
	const struct queue_stats	*s = &l->d.stats, *p = &l->last;

	ai_stats_line(l);
	if (s->claimed == p->claimed && s->refreshed == p->refreshed && s->lost == p->lost)
		return;
	log_info("last %d s: claimed %llu, published %llu, retried %llu, failed %llu, "
	    "unknown %llu, tokens refreshed %llu, not recorded %llu; %d posts in hand",
	    STATS_INTERVAL_MS / 1000,
	    (unsigned long long)(s->claimed - p->claimed),
	    (unsigned long long)(s->published - p->published),
	    (unsigned long long)(s->retried - p->retried),
	    (unsigned long long)(s->failed - p->failed),
	    (unsigned long long)(s->unknown - p->unknown),
	    (unsigned long long)(s->refreshed - p->refreshed),
	    (unsigned long long)(s->lost - p->lost), l->d.jobs);
	l->last = *s;
}

/* chores_at is when the earliest chore is due. */
static int64_t
chores_at(const struct loop *l)
{
	return (earliest(earliest(earliest(l->heartbeat_at, l->sweep_at),
	    earliest(earliest(l->rescan_at, l->refresh_at), l->stats_at)), ai_claim_at(l)));
}

/*
 * chores_postponed: a post is due within CHORE_GAP_MS and there is room to
 * claim it, and no chore is more than CHORE_MAX_DELAY_MS late.
 */
static bool
chores_postponed(const struct loop *l, int64_t now)
{
	return (l->due_at >= 0 && l->due_at <= now + CHORE_GAP_MS &&
	    l->d.jobs < l->cfg->max_in_flight &&
	    now - chores_at(l) <= CHORE_MAX_DELAY_MS);
}

/* periodic runs what is due among the timed chores. */
static void
periodic(struct loop *l, int64_t now)
{
	const struct dispatcher_config	*cfg = l->cfg;

	if (now >= l->heartbeat_at) {
		l->heartbeat_at = now + (int64_t)cfg->heartbeat_interval_sec * 1000;
		heartbeat(l, l->d.jobs);
	}
	if (now >= l->sweep_at && connected(l)) {
		l->sweep_at = now + (int64_t)cfg->sweep_interval_sec * 1000;
		sweep(l);
	}
	if (now >= l->rescan_at) {
		l->rescan_at = now + (int64_t)cfg->rescan_interval_sec * 1000;
		l->query_due = true;
		if (ai_enabled(&l->ai))
			l->ai_due_at = now;	/* also finds leases that expired */
	}
	if (now >= l->refresh_at && connected(l)) {
		l->refresh_at = now + (int64_t)cfg->refresh_interval_sec * 1000;
		refresh_scan(l);
	}
	if (now >= l->stats_at) {
		l->stats_at = now + STATS_INTERVAL_MS;
		stats_line(l);
	}
	if (ai_claim_at(l) >= 0 && ai_claim_at(l) <= now)
		ai_claim(l, now);
}

/* ------------------------------------------------------------- pass */

static void
stop_begin(struct loop *l)
{
	l->stopping = true;
	l->stop_at = loop_mono_ms() + (int64_t)l->cfg->shutdown_timeout_sec * 1000;
	log_info("stopping: %d posts in hand, %d requests in flight, %d AI jobs to give back "
	    "or record; waiting up to %d s", l->d.jobs, dispatch_busy(&l->d), l->ai.jobs,
	    l->cfg->shutdown_timeout_sec);
	dispatch_stop(&l->d);
	ai_stop(&l->ai);
}

static void
timers(struct loop *l, struct loop_timers *t)
{
	bool	 up = connected(l), rup = recording_up(l);

	memset(t, 0, sizeof(*t));
	t->can_claim = up && !l->stopping && l->claiming == 0 &&
	    l->d.jobs < l->cfg->max_in_flight;
	t->due_at = l->due_at;
	t->step_at = earliest(dispatch_next_step(&l->d), ai_next_step(&l->ai));
	t->periodic_at = up && !l->stopping && l->claiming == 0 ? chores_at(l) : -1;
	if (t->can_claim && chores_postponed(l, loop_mono_ms()))
		t->periodic_at = -1;	/* the due post wakes the loop first */
	t->reconnect_at = earliest(up ? -1 : l->conn.retry_at, recording_retry_at(l));
	t->stop_at = l->stopping ? l->stop_at : -1;
	t->now = (up && l->claiming == 0 && dispatch_pending(&l->d)) ||
	    (rup && dispatch_to_record(&l->d)) || ai_to_record(&l->ai) ||
	    (t->can_claim && l->query_due);
	t->max_ms = MAX_SLEEP_MS;
}

static void
drain(int fd)
{
	char	 buf[64];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* stopped says whether a stopping loop may exit now. */
static bool
stopped(struct loop *l, int64_t now)
{
	dispatch_stop(&l->d);
	ai_stop(&l->ai);
	if (now >= l->stop_at)
		return (true);
	return (l->claiming == 0 && dispatch_busy(&l->d) == 0 && l->d.recording == 0 &&
	    !dispatch_pending(&l->d) && dispatch_unrecorded(&l->d) == 0 && l->ai.jobs == 0);
}

/* pass runs one pass; returns -1 to go on, else how the loop ends. */
static int
pass(struct loop *l)
{
	struct curl_waitfd	 fds[4 + DISPATCH_RECORD_SLOTS];
	struct loop_timers	 t;
	unsigned int		 n = 0;
	int			 wake = -1, death = -1, pg = -1, sock, i;
	int64_t			 now;

	timers(l, &t);
	if (l->e->wake_fd >= 0)
		fds[wake = (int)n++] = (struct curl_waitfd){ l->e->wake_fd, CURL_WAIT_POLLIN, 0 };
	if (l->e->death_fd >= 0)
		fds[death = (int)n++] = (struct curl_waitfd){ l->e->death_fd, CURL_WAIT_POLLIN, 0 };
	if ((sock = listen_socket(&l->conn)) >= 0)
		fds[pg = (int)n++] = (struct curl_waitfd){ sock, CURL_WAIT_POLLIN, 0 };
	for (i = 0; i < l->nrec; i++)
		if (dispatch_slot_busy(&l->d, i) && (sock = listen_socket(&l->rconn[i])) >= 0)
			fds[n++] = (struct curl_waitfd){ sock, CURL_WAIT_POLLIN, 0 };
	if (ai_recording(&l->ai) && (sock = listen_socket(&l->aconn)) >= 0)
		fds[n++] = (struct curl_waitfd){ sock, CURL_WAIT_POLLIN, 0 };
	if (http_multi_wait(l->http, fds, n, loop_timeout_ms(&t, loop_mono_ms())) == -1)
		log_warning("waiting failed: %s", strerror(errno));
	if (death >= 0 && fds[death].revents != 0)
		return (LOOP_DEATH);
	if (wake >= 0 && fds[wake].revents != 0)
		drain(l->e->wake_fd);
	if (l->e->reload != NULL && *l->e->reload) {
		*l->e->reload = 0;
		if (l->e->on_reload != NULL)
			l->e->on_reload(l->e->arg);
	}
	if (*l->e->stop && !l->stopping)
		stop_begin(l);

	http_multi_process(l->http);
	if (pg >= 0 && fds[pg].revents != 0)
		listen_consume(&l->conn);
	dispatch_collect(&l->d);
	ai_collect(&l->ai);
	claim_collect(l);
	if (listen_connect(&l->conn) == 1) {
		l->query_due = true;
		l->heartbeat_at = l->sweep_at = loop_mono_ms();
		if (ai_enabled(&l->ai))
			l->ai_due_at = l->heartbeat_at;
	}
	for (i = 0; i < l->nrec; i++)
		listen_connect(&l->rconn[i]);
	if (ai_enabled(&l->ai))
		listen_connect(&l->aconn);
	if (listen_take_notified(&l->conn))
		l->query_due = true;
	if (listen_take_notified_ai(&l->conn) && ai_enabled(&l->ai) && l->ai_query_at < 0)
		l->ai_query_at = loop_mono_ms();

	dispatch_run(&l->d);
	ai_run(&l->ai);
	http_multi_process(l->http);
	if (l->claiming > 0)
		dispatch_flush_records(&l->d);	/* the main connection is busy */
	else if (connected(l) || recording_up(l))
		dispatch_flush(&l->d);
	ai_flush(&l->ai);
	if (connected(l) && !l->stopping && l->claiming == 0) {
		/*
		 * Chores wait while a post is due within CHORE_GAP_MS, so they
		 * do not delay it, but never more than CHORE_MAX_DELAY_MS.
		 */
		now = loop_mono_ms();
		if (!chores_postponed(l, now))
			periodic(l, now);
		claim(l);
	}
	if (l->stopping && stopped(l, loop_mono_ms()))
		return (LOOP_STOPPED);
	return (-1);
}

/* start makes the loop's parts.  Returns 0, or -1 (logged). */
static int
start(struct loop *l, const struct dispatcher_config *cfg,
    const struct loop_entry *e)
{
	struct http_multi_config	 hc;
	struct dispatch_params		 p;
	struct ai_params		 ap;
	struct dispatch_store		 store;
	struct ai_store			 astore;
	struct http_transport		 transport;
	struct dispatch_env		 env = { NULL, env_mono, env_wall, env_rand };
	const char			*conninfo;
	char				 err[256];
	int64_t				 now = loop_mono_ms();
	int				 timeout, i;

	memset(l, 0, sizeof(*l));
	l->cfg = cfg;
	l->e = e;
	hc.connect_timeout_ms = cfg->connect_timeout_ms;
	hc.request_timeout_ms = cfg->request_timeout_ms;
	hc.response_max_bytes = (size_t)cfg->response_max_bytes;
	hc.max_host_connections = cfg->max_host_connections;
	if ((l->http = http_multi_create(&hc, err, sizeof(err))) == NULL) {
		log_error("cannot start: %s", err);
		return (-1);
	}
	conninfo = e->conninfo != NULL ? e->conninfo : cfg->database_url;
	timeout = cfg->connect_timeout_ms < 1000 ? 1 : cfg->connect_timeout_ms / 1000;
	listen_init(&l->conn, "database", true, conninfo, cfg->database_password,
	    cfg->database_role, timeout, STATEMENT_TIMEOUT_MS, loop_mono_ms);
	queue_init(&l->q, &l->conn, e->name);
	l->nrec = cfg->record_connections;
	for (i = 0; i < l->nrec; i++) {
		listen_init(&l->rconn[i], "recording", false, conninfo, cfg->database_password,
		    cfg->database_role, timeout, STATEMENT_TIMEOUT_MS, loop_mono_ms);
		queue_init(&l->qrec[i], &l->rconn[i], e->name);
	}

	memset(&p, 0, sizeof(p));
	p.name = e->name;
	p.lease_seconds = cfg->lease_seconds;
	p.request_timeout_ms = cfg->request_timeout_ms;
	p.backoff.base_ms = cfg->retry_base_ms;
	p.backoff.cap_ms = cfg->retry_cap_ms;
	p.backoff.hint_max_ms = cfg->retry_hint_max_ms;
	p.ring = &cfg->ring;
	p.record_slots = l->nrec;
	store = (struct dispatch_store){ l, store_progress, store_record_up,
	    store_record_send, store_record_poll, store_refresh_account,
	    store_token_store, store_token_failed };
	http_multi_transport(l->http, &transport);
	dispatch_init(&l->d, &p, &store, &transport, &env);

	memset(&ap, 0, sizeof(ap));
	ap.name = e->name;
	for (i = 0; i < cfg->ai_nproviders && i < AI_PROVIDERS_MAX; i++)
		ap.providers[i] = cfg->ai_chain[i];
	ap.nproviders = i;
	ap.max_in_flight = cfg->ai_max_in_flight;
	ap.lease_seconds = cfg->ai_lease_seconds;
	ap.request_timeout_ms = cfg->ai_request_timeout_ms;
	ap.max_attempts = cfg->ai_max_attempts;
	ap.max_reprompts = cfg->ai_max_reprompts;
	ap.retry_hint_max_ms = cfg->ai_retry_hint_max_ms;
	astore = (struct ai_store){ l, store_ai_up, store_ai_send, store_ai_poll };
	ai_init(&l->ai, &ap, &astore, &transport, &env);
	l->conn.listen_ai = ai_enabled(&l->ai);
	listen_init(&l->aconn, "AI recording", false, conninfo, cfg->database_password,
	    cfg->database_role, timeout, STATEMENT_TIMEOUT_MS, loop_mono_ms);
	queue_init(&l->qai, &l->aconn, e->name);
	l->ai_due_at = ai_enabled(&l->ai) ? now : -1;
	l->ai_query_at = -1;

	l->due_at = -1;
	l->query_due = true;
	l->heartbeat_at = l->sweep_at = now;
	l->rescan_at = now + (int64_t)cfg->rescan_interval_sec * 1000;
	l->refresh_at = now + 1000;
	l->stats_at = now + STATS_INTERVAL_MS;
	return (0);
}

/* ai_start_line says whether and how AI jobs are generated. */
static void
ai_start_line(const struct loop *l)
{
	const struct ai_params	*p = &l->ai.p;

	if (!ai_enabled(&l->ai)) {
		log_info("AI generation off: no provider configured (set openai.api_key, "
		    "gemini.api_key, or compat.base_url and compat.model)");
		return;
	}
	log_info("AI generation by %s%s%s%s%s: at most %d jobs, lease %d s, %d attempts per "
	    "provider, %d re-prompts, request timeout %d ms", p->providers[0].name,
	    p->nproviders > 1 ? " then " : "", p->nproviders > 1 ? p->providers[1].name : "",
	    p->nproviders > 2 ? " then " : "", p->nproviders > 2 ? p->providers[2].name : "",
	    p->max_in_flight, p->lease_seconds, p->max_attempts, p->max_reprompts,
	    p->request_timeout_ms);
}

enum loop_exit
loop_run(const struct dispatcher_config *cfg, const struct loop_entry *e)
{
	struct loop	 l;
	int		 rc, i;

	if (start(&l, cfg, e) == -1)
		return (LOOP_FAILED);
	log_info("dispatcher %s (%s) started: batch %d, at most %d posts in flight, lease %d s%s",
	    e->name, e->kind, cfg->batch_size, cfg->max_in_flight, cfg->lease_seconds,
	    seal_ring_ready(&cfg->ring) ? "" : "; no token_keys: tokens cannot be opened");
	ai_start_line(&l);
	while ((rc = pass(&l)) == -1)
		;
	if (rc == LOOP_STOPPED) {
		if (dispatch_busy(&l.d) > 0 || dispatch_unrecorded(&l.d) > 0)
			log_warning("stopping with %d requests in flight and %d outcomes not recorded",
			    dispatch_busy(&l.d), dispatch_unrecorded(&l.d));
		if (l.ai.jobs > 0)
			log_warning("stopping with %d AI jobs not recorded; they are claimed again "
			    "when their leases expire", l.ai.jobs);
		if (connected(&l) && l.claiming == 0)
			heartbeat(&l, 0);
		stats_line(&l);
	} else
		log_warning("dispatcher %s: the postmaster died; exiting at once", e->name);
	dispatch_cleanup(&l.d);
	ai_cleanup(&l.ai);
	http_multi_destroy(l.http);
	listen_close(&l.conn);
	listen_close(&l.aconn);
	for (i = 0; i < l.nrec; i++)
		listen_close(&l.rconn[i]);
	if (rc == LOOP_STOPPED)
		log_info("dispatcher %s stopped", e->name);
	return ((enum loop_exit)rc);
}
