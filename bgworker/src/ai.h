/*
 * ai.h — AI generation jobs in the dispatcher's loop (ai.c): a claimed
 * caas.ai_jobs row → provider calls (ai_provider.h) through the same HTTP
 * transport as the posts → an outcome recorded with
 * caas.ai_job_result_batch.
 *
 * Wording: a job is one claimed AI job, held in memory from the claim
 * until the database has taken its outcome.  A call is one request to a
 * provider.  The chain is the configured providers in ai.providers order
 * (unconfigured ones left out); a job walks it: up to max_attempts calls
 * per provider for retryable failures (rate limits, 5xx, timeouts, bad
 * output), the next provider at once for the others (quota, 4xx,
 * blocked).  A re-prompt is one more call to the same provider after the
 * database found a variant too long: the conversation gains the
 * assistant's answer and the database's re-prompt text.
 *
 * Job phases, each a list of struct ai_job:
 *   READY     wait until wake_at, then build and send the next call;
 *   HTTP      a call is in flight (the transport ends it after
 *             request_timeout_ms: http_call.timeout_ms);
 *   DONE      the outcome is decided (success, failure or requeue),
 *             waiting to be recorded;
 *   RECORDING its outcome is in the ai_job_result_batch call in flight
 *             (one call at a time, on a database connection of its own,
 *             so AI recording never waits behind or delays the posts).
 * A success the database answers "too_long" goes back to READY with the
 * re-prompt; every other answer ends the job.
 *
 * The database is reached through struct ai_store (the recording calls:
 * queue.c in the program, a fake in unit tests; claims are made by the
 * loop and handed to ai_claimed), HTTP through struct http_transport,
 * clocks and randomness through struct dispatch_env: ai.c does no I/O.
 *
 * Memory: a job is one calloc'd struct owning its message texts (the
 * claim's system and user prompts, then the assistant/user pairs of the
 * re-prompts), its last provider answer (struct ai_result: variants and
 * raw text), its attempts log (a jansson array) and its HTTP call (whose
 * header list holds the API key: wiped by http_call_reset as soon as the
 * answer is in).  All of it is freed when the job ends or is abandoned.
 * The number of jobs is bounded by ai.max_in_flight and every job's
 * calls by the chain, max_attempts and max_reprompts, so nothing grows
 * without bound.  The providers' strings are borrowed from the
 * configuration for the struct ai's lifetime.
 */
#ifndef CAAS_AI_H
#define CAAS_AI_H

#include <sys/queue.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ai_provider.h"
#include "backoff.h"
#include "dispatch.h"
#include "http_multi.h"
#include "queue.h"

#define AI_PROVIDERS_MAX	3	/* openai, gemini, compat */
#define AI_REPROMPTS_MAX	5	/* ai.max_reprompts at most */
#define AI_MESSAGES_MAX		(2 + 2 * AI_REPROMPTS_MAX)
#define AI_RECORD_MAX		200	/* outcomes per ai_job_result_batch call */
#define AI_RETRY_BASE_MS	1000	/* backoff after the first failed call */
#define AI_RETRY_CAP_MS		20000	/* ... at most (and never above retry_hint_max_ms) */

enum ai_phase {
	AI_JOB_READY,
	AI_JOB_HTTP,
	AI_JOB_DONE,
	AI_JOB_RECORDING,
	AI_JOB_NPHASES
};

/* What is recorded for a decided job. */
enum ai_end {
	AI_END_SUCCESS,		/* variants to store (or too_long: re-prompt) */
	AI_END_FAILURE,		/* failed, nothing consumed */
	AI_END_REQUEUE		/* queued again after requeue_after_ms */
};

struct ai;

struct ai_job {
	TAILQ_ENTRY(ai_job)	 link;		/* in the list of its phase */
	enum ai_phase		 phase;
	struct ai		*ai;		/* the owner, for callbacks */

	/* The claim. */
	char			 org_id[QUEUE_UUID_LEN + 1];
	char			 job_id[QUEUE_UUID_LEN + 1];
	int			 claim;		/* the lease token */
	char			 platform[32];
	int			 max_length;	/* the platform's limit, in unit */
	char			 unit[16];
	int			 variants;	/* wanted, 1..5 */
	/* system, user, then (assistant, user) per re-prompt; owned */
	char			*texts[AI_MESSAGES_MAX];
	size_t			 ntexts;

	/* Progress. */
	int			 provider;	/* index in the chain */
	int			 attempts;	/* calls to this provider since the last success */
	int			 reprompts;
	int			 calls;		/* all calls of this claim */
	long			 prompt_tokens;	/* summed over every call */
	long			 completion_tokens;
	json_t			*log;		/* the attempts array */
	int64_t			 wake_at;	/* monotonic ms (READY) */
	int64_t			 lease_until;	/* monotonic ms, our estimate */
	int64_t			 sent_at;	/* monotonic ms (HTTP) */
	int64_t			 sent_wall;
	struct http_call	 call;
	struct ai_result	 res;		/* the last answer */

	/* The outcome (DONE). */
	enum ai_end		 end;
	bool			 final;		/* success: no re-prompt left */
	char			 error_code[64];
	char			 message[512];
	int64_t			 requeue_after_ms;
	bool			 resent;	/* an earlier record call's answer was lost */
};

TAILQ_HEAD(ai_job_list, ai_job);

/*
 * The recording calls, one in flight at a time, as record.c's slots:
 * record_up says whether the connection is up; record_send starts
 * ai_job_result_batch (QUEUE_OK, QUEUE_DOWN, QUEUE_REFUSED); record_poll
 * sets *ready and fills res[0..n) once the answer is in (QUEUE_OK; each
 * res[i].reprompt is then the caller's to free), or says the call failed
 * as a whole (QUEUE_REFUSED) or its connection broke, answer unknown
 * (QUEUE_DOWN).
 */
struct ai_store {
	void	*ctx;
	bool	(*record_up)(void *ctx);
	int	(*record_send)(void *ctx, const struct queue_ai_outcome *out,
		    size_t n, struct queue_error *qerr);
	int	(*record_poll)(void *ctx, struct queue_ai_recorded *res,
		    size_t n, bool *ready, struct queue_error *qerr);
};

struct ai_params {
	const char		*name;		/* dispatcher name, for logs */
	struct ai_provider	 providers[AI_PROVIDERS_MAX];	/* the chain */
	int			 nproviders;	/* 0: AI is off, nothing is claimed */
	int			 max_in_flight;
	int			 lease_seconds;
	int			 request_timeout_ms;
	int			 max_attempts;	/* calls per provider */
	int			 max_reprompts;	/* 0..AI_REPROMPTS_MAX */
	int			 retry_hint_max_ms;	/* a longer hint: next provider */
};

struct ai_stats {
	uint64_t	 claimed, done, failed, requeued, calls, lost;
};

struct ai {
	struct ai_params	 p;
	struct ai_store		 store;
	struct http_transport	 http;
	struct dispatch_env	 env;
	struct backoff_policy	 backoff;

	struct ai_job_list	 lists[AI_JOB_NPHASES];
	int			 counts[AI_JOB_NPHASES];
	int			 jobs;		/* all phases */

	bool			 stopping;
	int64_t			 record_hold_until;	/* after a refused batch */
	struct ai_stats		 stats;
};

void	ai_init(struct ai *ai, const struct ai_params *p,
	    const struct ai_store *store, const struct http_transport *http,
	    const struct dispatch_env *env);
/* ai_cleanup cancels what is in flight, logs and frees every job. */
void	ai_cleanup(struct ai *ai);

/* ai_enabled: a provider is configured (else no job is ever claimed). */
bool	ai_enabled(const struct ai *ai);
/* ai_room: how many more jobs may be claimed now (0 when stopping). */
int	ai_room(const struct ai *ai);

/*
 * ai_claimed takes one claimed job: READY at once, or DONE (failed) when
 * the row is unusable.  Returns 0, or -1 when it cannot be held (ids
 * missing, memory): its lease then expires and it is claimed again.
 */
int	ai_claimed(struct ai *ai, const struct queue_ai_job *row);

/* ai_run starts the calls whose time has come and gives up overdue ones. */
void	ai_run(struct ai *ai);

/*
 * ai_flush sends the decided outcomes for recording (all of them, up to
 * AI_RECORD_MAX, in one call) unless a call is in flight, the connection
 * is down or recording is held back.  Returns 0, or -1 when the
 * connection failed.
 */
int	ai_flush(struct ai *ai);

/*
 * ai_collect takes the recording call's answer if it is in: ended jobs
 * are freed, a too_long success goes back to READY with the re-prompt;
 * after a connection failure the outcomes go back to DONE, to be sent
 * again.
 */
void	ai_collect(struct ai *ai);

/* Monotonic ms of the next READY call or held write; -1. */
int64_t	ai_next_step(const struct ai *ai);
/* ai_to_record: outcomes wait and could be sent now. */
bool	ai_to_record(const struct ai *ai);
/* ai_recording: a recording call is in flight. */
bool	ai_recording(const struct ai *ai);
/* Calls in flight. */
int	ai_busy(const struct ai *ai);

/*
 * ai_stop: nothing new starts; every job not decided yet (waiting, or with
 * a call in flight: cancelled) is given back with requeue_after_ms 0; a
 * too_long answer arriving later is given back too.  Idempotent.
 */
void	ai_stop(struct ai *ai);

/* ai_heartbeat_stats fills st (provider names borrowed from ai). */
void	ai_heartbeat_stats(const struct ai *ai, struct queue_ai_stats *st);

#endif /* CAAS_AI_H */
