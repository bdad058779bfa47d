/*
 * dispatch.h — claimed post → adapter → requests → outcome (dispatch.c),
 * outcomes to the database (record.c) and token refreshes (refresh.c), as
 * one state machine the loop drives.
 *
 * Wording: a job is one claimed post's attempt, held in memory from the
 * claim until its outcome is recorded.  A step is one request of the
 * attempt (an Instagram attempt has several).  A refresh is one account's
 * token refresh, serving the jobs that wait for it.
 *
 * Job phases, each a list of struct dispatch:
 *   READY     wait until wake_at, then prepare and send the next step;
 *   HTTP      a request is in flight;
 *   PROGRESS  an in-flight reference (remote_ref) must be stored before
 *             anything else happens to the job;
 *   REFRESH   waiting for its account's token refresh;
 *   DONE      the outcome is decided, waiting to be recorded;
 *   RECORDING its outcome is in a dispatch_record_batch call in flight
 *             (one call at a time per recording slot; each slot is a
 *             database connection of its own, so calls run in parallel).
 *
 * The database is reached through struct dispatch_store (queue.c in the
 * program, a fake in unit tests), HTTP through struct http_transport, the
 * clocks and randomness through struct dispatch_env: dispatch.c itself
 * does no I/O.  Nothing here runs inside a transaction: every store call
 * is its own short one.
 *
 * Memory: a job is one malloc'd struct with malloc'd strings, all freed
 * when its outcome is recorded (or abandoned at exit); the access token in
 * clear is wiped before it is freed.  The number of jobs is bounded by the
 * loop (max_in_flight), so nothing grows without bound.
 */
#ifndef CAAS_DISPATCH_H
#define CAAS_DISPATCH_H

#include <sys/queue.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adapter.h"
#include "backoff.h"
#include "http_multi.h"
#include "queue.h"
#include "seal.h"

/* Steps of one attempt before the core calls it unknown (a runaway adapter). */
#define DISPATCH_MAX_STEPS	64
/* Outcomes recorded per caas.dispatch_record_batch call. */
#define DISPATCH_RECORD_MAX	1000
/* Recording slots (connections) at most. */
#define DISPATCH_RECORD_SLOTS	8

enum dispatch_phase {
	JOB_READY,
	JOB_HTTP,
	JOB_PROGRESS,
	JOB_REFRESH,
	JOB_DONE,
	JOB_RECORDING,
	JOB_NPHASES
};

/* The database's caas.attempt_outcome. */
enum dispatch_outcome {
	OUTCOME_PUBLISHED,
	OUTCOME_RETRYABLE,
	OUTCOME_NEEDS_REAUTH,
	OUTCOME_PERMANENT,
	OUTCOME_UNKNOWN
};

struct refresh_job;

struct dispatch_job {
	TAILQ_ENTRY(dispatch_job) link;		/* in the list of its phase */
	TAILQ_ENTRY(dispatch_job) waiting;	/* in its refresh's waiters */
	TAILQ_ENTRY(dispatch_job) in_slot;	/* in its recording slot, in order */
	enum dispatch_phase	 phase;
	int			 slot;		/* RECORDING: which call */
	struct dispatch		*d;		/* the owner, for callbacks */

	/* The post, copied from the claim (owned). */
	char			 org_id[QUEUE_UUID_LEN + 1];
	char			 post_id[QUEUE_UUID_LEN + 1];
	char			 account_id[QUEUE_UUID_LEN + 1];
	int			 attempt;	/* for the record */
	int			 attempts;	/* of this run, for the backoff */
	char			*strings;	/* platform\0external_id\0handle\0text\0media... */
	char			*remote_ref;	/* NULL or malloc'd */
	char			*access_token;	/* clear, wiped on free; NULL when none */
	bool			 has_refresh_token;
	const struct caas_adapter *adapter;
	struct adapter_post	 post;		/* points into the strings above */
	struct adapter_state	 state;

	/* Progress. */
	int			 steps;
	int64_t			 wake_at;	/* monotonic ms (READY) */
	int64_t			 lease_until;	/* monotonic ms, our estimate */
	bool			 reauthed;	/* one refresh per attempt */
	struct http_call	 call;
	struct refresh_job	*refresh;	/* while REFRESH */
	char			 pending_ref[ADAPTER_ID_MAX];	/* PROGRESS */
	enum dispatch_phase	 after_progress;

	/* The outcome (DONE). */
	enum dispatch_outcome	 outcome;
	long			 http_status;
	char			 message[ADAPTER_MSG_MAX];
	char			 remote_id[ADAPTER_ID_MAX];
	char			 remote_url[ADAPTER_URL_MAX];
	int64_t			 retry_at_wall;	/* 0 = none */
	bool			 resent;	/* an earlier record call's answer was lost */
};

TAILQ_HEAD(dispatch_job_list, dispatch_job);
TAILQ_HEAD(refresh_job_list, refresh_job);

/*
 * The database writes a job needs while it runs; see queue.h for the
 * return convention (QUEUE_OK, QUEUE_DOWN, QUEUE_REFUSED).
 */
struct dispatch_store {
	void	*ctx;
	int	(*progress)(void *ctx, const char *org_id, const char *post_id,
		    int attempt, const char *remote_ref, int lease_seconds,
		    struct queue_error *qerr);
	/*
	 * Outcomes are recorded asynchronously, one call in flight per slot:
	 * record_up says whether slot's connection is up; record_send starts
	 * dispatch_record_batch there (QUEUE_OK or QUEUE_DOWN); record_poll
	 * sets *ready and fills res[0..n) once the answer is in (QUEUE_OK),
	 * or says the call failed as a whole (QUEUE_REFUSED) or its
	 * connection broke, answer unknown (QUEUE_DOWN).
	 */
	bool	(*record_up)(void *ctx, int slot);
	int	(*record_send)(void *ctx, int slot, const struct queue_outcome *out,
		    size_t n, struct queue_error *qerr);
	int	(*record_poll)(void *ctx, int slot, struct queue_recorded *res,
		    size_t n, bool *ready, struct queue_error *qerr);
	int	(*refresh_account)(void *ctx, const char *org_id,
		    const char *account_id, int lease_seconds, queue_account_fn row,
		    void *arg, bool *found, struct queue_error *qerr);
	int	(*token_store)(void *ctx, const char *org_id, const char *account_id,
		    const uint8_t *access_enc, size_t access_len,
		    const uint8_t *refresh_enc, size_t refresh_len,
		    const char *key_id, int64_t expires_at_ms,
		    int64_t refresh_expires_at_ms, struct queue_error *qerr);
	int	(*token_failed)(void *ctx, const char *org_id,
		    const char *account_id, bool reauth, const char *message,
		    struct queue_error *qerr);
};

struct dispatch_env {
	void	*ctx;
	int64_t	(*mono_ms)(void *ctx);		/* deadlines */
	int64_t	(*wall_ms)(void *ctx);		/* retry_at, token expiry */
	uint32_t (*rand)(void *ctx);		/* backoff jitter */
};

struct dispatch_params {
	const char		*name;		/* dispatcher name, for logs */
	int			 lease_seconds;
	int			 request_timeout_ms;
	struct backoff_policy	 backoff;
	const struct seal_ring	*ring;
	int			 record_slots;	/* 1..DISPATCH_RECORD_SLOTS */
	/* Adapter lookup by platform; NULL = adapter_find (the registry). */
	const struct caas_adapter *(*find_adapter)(const char *platform);
};

struct dispatch {
	struct dispatch_params	 p;
	struct dispatch_store	 store;
	struct http_transport	 http;
	struct dispatch_env	 env;

	struct dispatch_job_list lists[JOB_NPHASES];
	int			 counts[JOB_NPHASES];
	int			 jobs;		/* posts held, all phases */

	struct refresh_job_list	 refreshes;
	int			 nrefresh;

	bool			 stopping;
	int64_t			 record_hold_until;	/* after a refused batch */
	size_t			 recording;	/* outcomes in calls in flight, all slots */
	size_t			 slot_n[DISPATCH_RECORD_SLOTS];	/* ... per slot */
	struct dispatch_job_list slot_jobs[DISPATCH_RECORD_SLOTS];
	struct queue_stats	 stats;
};

/* ------------------------------------------------------- dispatch.c */

void	dispatch_init(struct dispatch *d, const struct dispatch_params *p,
	    const struct dispatch_store *store, const struct http_transport *http,
	    const struct dispatch_env *env);
/* dispatch_cleanup cancels what is in flight and frees every job. */
void	dispatch_cleanup(struct dispatch *d);

/*
 * dispatch_claimed takes a claimed post: a READY job due now, or a DONE
 * one when it cannot be attempted (account not connected, no adapter,
 * token that does not open).  Returns 0, or -1 when memory runs out (the
 * post's lease then expires and the sweeper takes it back).
 */
int	dispatch_claimed(struct dispatch *d, const struct queue_post *row);

/* dispatch_run starts every READY step whose time has come. */
void	dispatch_run(struct dispatch *d);

/*
 * dispatch_flush makes the pending database writes: stored references,
 * refresh leases and tokens, then starts recording every decided outcome
 * in one dispatch_record_batch call (unless one is in flight already).
 * Returns 0, or -1 when the database went away (what is left stays
 * pending for the next flush).
 */
int	dispatch_flush(struct dispatch *d);
/* dispatch_flush_records: only the outcomes (the main connection is busy). */
int	dispatch_flush_records(struct dispatch *d);

/*
 * dispatch_collect takes the answers of the record calls in flight that
 * are in: recorded jobs are freed, refused ones logged and freed.  After a
 * connection failure the outcomes go back to DONE, to be sent again.
 */
void	dispatch_collect(struct dispatch *d);

/* dispatch_slot_busy: slot has a record call in flight. */
bool	dispatch_slot_busy(const struct dispatch *d, int slot);

/*
 * dispatch_pending: references or refreshes wait for the main connection;
 * dispatch_to_record: outcomes wait to be sent for recording and a slot
 * with its connection up is free (and nothing is held back);
 * dispatch_unrecorded: outcomes decided and not yet confirmed by the
 * database.
 */
bool	dispatch_pending(const struct dispatch *d);
bool	dispatch_to_record(const struct dispatch *d);
int	dispatch_unrecorded(const struct dispatch *d);

/* Monotonic ms of the earliest READY step, or -1 when none. */
int64_t	dispatch_next_step(const struct dispatch *d);

/* Requests in flight (posts and refreshes). */
int	dispatch_busy(const struct dispatch *d);

/*
 * dispatch_stop: no new step starts; jobs not waiting for an answer get
 * their outcome now (retryable: nothing was sent for this step; published
 * when an earlier step already got the remote id).  Called on every pass
 * while stopping, as answers keep arriving.
 */
void	dispatch_stop(struct dispatch *d);

/* dispatch_abandon cancels requests still in flight and logs each post. */
void	dispatch_abandon(struct dispatch *d);

/* Used by refresh.c and record.c. */
void	dispatch_job_free(struct dispatch *d, struct dispatch_job *job);
/* dispatch_job_lost logs a job the database refused to hear about, frees it. */
void	dispatch_job_lost(struct dispatch *d, struct dispatch_job *job,
	    const char *sqlstate, const char *message);
void	dispatch_job_finish(struct dispatch *d, struct dispatch_job *job,
	    enum dispatch_outcome outcome, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));
void	dispatch_job_move(struct dispatch *d, struct dispatch_job *job,
	    enum dispatch_phase phase);
const char *dispatch_outcome_name(enum dispatch_outcome outcome);

/*
 * dispatch_token_subject writes the identity a social account's tokens are
 * sealed for (seal.h): "<platform>:<external_id>", the same string caas-api
 * seals with before the account row exists.  Returns 0, or -1 when it does
 * not fit in out.
 */
int	dispatch_token_subject(char *out, size_t outlen, const char *platform,
	    const char *external_id);

/*
 * dispatch_token_open opens a sealed token (base64) of account subject in
 * org into a new string the caller wipes and frees.  Returns 0, -1 when
 * the key id is not in the ring (an operator's matter: the token may be
 * fine), -2 when the value does not open (tampered, wrong row, corrupt)
 * or memory runs out; why says which, never the token.
 */
int	dispatch_token_open(const struct seal_ring *ring, const char *kid,
	    const char *org_id, const char *subject, const char *kind,
	    const char *b64, char **out, char *why, size_t whylen);

/* --------------------------------------------------------- record.c */

/* record_send_outcomes starts recording on the free slots; 0 or -1 (down). */
int	record_send_outcomes(struct dispatch *d);
bool	dispatch_record_held(const struct dispatch *d);

/* -------------------------------------------------------- refresh.c */

/*
 * refresh_wait puts job (whose platform refused its token) behind a
 * refresh of its account: the one already running here, or a new one
 * leased on demand at the next flush.  Returns 0, or -1 (memory).
 */
int	refresh_wait(struct dispatch *d, struct dispatch_job *job);

/* refresh_claimed starts a proactive refresh of a leased account. */
int	refresh_claimed(struct dispatch *d, const struct queue_account *row);

/* refresh_flush makes the refreshes' database calls; 0 or -1 (down). */
int	refresh_flush(struct dispatch *d);
bool	refresh_pending(const struct dispatch *d);
int	refresh_busy(const struct dispatch *d);
/* refresh_stop drops refreshes not yet sent; their waiters retry later. */
void	refresh_stop(struct dispatch *d);
void	refresh_cleanup(struct dispatch *d);

#endif /* CAAS_DISPATCH_H */
