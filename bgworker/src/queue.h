/*
 * queue.h — every SQL statement the dispatcher runs, and the rows they
 * return (queue.c).
 *
 * Rows are handed to a callback with strings borrowed from the parsed
 * result: valid during the callback only; copy what you keep.
 *
 * Return convention of every queue_* call:
 *   QUEUE_OK       done;
 *   QUEUE_DOWN     the connection failed (listen.c reconnects; nothing is
 *                  known about whether the statement ran, but every
 *                  statement here is safe to run again);
 *   QUEUE_REFUSED  the database answered with an error: qerr holds the
 *                  SQLSTATE and message (CA002 = not the lease holder).
 */
#ifndef CAAS_QUEUE_H
#define CAAS_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adapter.h"

struct buf;
struct listen_conn;

#define QUEUE_OK	0
#define QUEUE_DOWN	(-1)
#define QUEUE_REFUSED	(-2)

#define QUEUE_UUID_LEN	36

struct queue_error {
	char	 sqlstate[6];
	char	 message[256];
};

/* One row of caas.dispatch_claim. */
struct queue_post {
	const char	*org_id;
	const char	*post_id;
	const char	*account_id;
	const char	*platform;
	const char	*external_id;
	const char	*handle;		/* "" when none */
	const char	*account_status;	/* "connected" when absent */
	const char	*token_key_id;		/* NULL when none */
	const char	*access_token_enc;	/* base64, NULL when none */
	const char	*refresh_token_enc;	/* base64, NULL when none */
	const char	*text;
	const char	*media_urls[ADAPTER_MAX_MEDIA];
	int		 n_media;
	const char	*remote_ref;		/* NULL when none */
	int		 attempt;		/* for dispatch_record */
	int		 attempts;		/* of this run, this one included */
	int		 max_attempts;
	int64_t		 start_in_us;		/* until run_at (claimed ahead), 0 = now */
};

/* One row of caas.dispatch_refresh_claim / dispatch_refresh_account. */
struct queue_account {
	const char	*org_id;
	const char	*account_id;
	const char	*platform;
	const char	*external_id;
	const char	*token_key_id;
	const char	*access_token_enc;	/* base64, NULL when none */
	const char	*refresh_token_enc;
};

/* One element of caas.dispatch_record_batch's outcomes. */
struct queue_outcome {
	const char	*org_id;
	const char	*post_id;
	int		 attempt;
	const char	*outcome;	/* published, retryable, needs_reauth, permanent, unknown */
	long		 http_status;	/* 0 = none */
	const char	*error_message;	/* NULL or "" = none */
	const char	*remote_id;
	const char	*remote_url;
	int64_t		 retry_at_ms;	/* wall clock, 0 = none */
};

/* What dispatch_record_batch said about one outcome. */
struct queue_recorded {
	bool		 ok;
	char		 state[16];	/* the post's new state when ok */
	char		 sqlstate[6];	/* when not ok */
	char		 message[256];
};

/* Statistics for the heartbeat. */
struct queue_stats {
	uint64_t	 claimed, published, retried, failed, unknown;
	uint64_t	 needs_reauth, refreshed, lost;
};

#define QUEUE_AI_PROVIDERS_MAX	3

/*
 * The AI part of the heartbeat's stats: "ai_providers" (the configured
 * chain's names, borrowed; [] tells caas.ai_generate this dispatcher
 * cannot generate), "ai_in_flight" and the counters.
 */
struct queue_ai_stats {
	const char	*providers[QUEUE_AI_PROVIDERS_MAX];
	int		 nproviders;
	int		 in_flight;
	uint64_t	 jobs_done, jobs_failed, jobs_requeued, calls, lost;
};

/* One row of caas.ai_claim (strings borrowed, as for queue_post). */
struct queue_ai_job {
	const char	*org_id;
	const char	*job_id;
	int		 claim;		/* claims so far: the lease token */
	const char	*platform;
	int		 max_length;
	const char	*unit;
	int		 variants;
	const char	*language;
	const char	*system_prompt;	/* NULL when missing */
	const char	*user_prompt;
};

/* What one element of caas.ai_job_result_batch's input says. */
enum queue_ai_kind {
	QUEUE_AI_SUCCESS,	/* {"ok":true, provider, model, tokens, variants, final, reprompts} */
	QUEUE_AI_FAILURE,	/* {"ok":false, error_code, message} */
	QUEUE_AI_REQUEUE	/* {"ok":false, requeue_after_ms} */
};

/* One element of caas.ai_job_result_batch's input (all borrowed). */
struct queue_ai_outcome {
	const char		*org_id;
	const char		*job_id;
	int			 claim;
	enum queue_ai_kind	 kind;
	const char		*provider;	/* success */
	const char		*model;
	long			 prompt_tokens;
	long			 completion_tokens;
	char *const		*variants;
	size_t			 nvariants;
	bool			 final;
	int			 reprompts;
	const char		*error_code;	/* failure */
	const char		*message;
	int64_t			 requeue_after_ms;	/* requeue */
	const char		*attempts;	/* a JSON array (dispatcher-made), NULL = [] */
};

/*
 * What ai_job_result_batch said about one element: ok with the job's
 * state (succeeded, failed, queued, or too_long with reprompt, a malloc'd
 * string the caller owns: queue_ai_recorded_free), or not ok with a
 * SQLSTATE (CA002: the lease was lost).
 */
struct queue_ai_recorded {
	bool		 ok;
	char		 state[16];
	char		*reprompt;
	char		 sqlstate[6];
	char		 message[256];
};

struct queue {
	struct listen_conn	*conn;
	const char		*name;		/* dispatcher name, borrowed */
	uint64_t		 epoch;		/* of the connection prepared on */
	uint32_t		 prepared;	/* bit per statement */
	bool			 busy;		/* an asynchronous call is in flight */
	uint64_t		 busy_epoch;	/* ... on this connection */
};

typedef int	(*queue_post_fn)(void *arg, const struct queue_post *row);
typedef int	(*queue_account_fn)(void *arg, const struct queue_account *row);
typedef int	(*queue_ai_job_fn)(void *arg, const struct queue_ai_job *row);

void	queue_init(struct queue *q, struct listen_conn *conn, const char *name);

/*
 * queue_claim_send asks for up to batch due posts without waiting;
 * queue_claim_poll, once the answer is in (*ready), calls row() for each
 * leased post.  While a claim is in flight the connection runs nothing
 * else (the synchronous calls return QUEUE_REFUSED, 55000).  QUEUE_DOWN
 * from the poll: the answer is lost (the posts' leases will expire).
 */
int	queue_claim_send(struct queue *q, int batch, int lease_seconds, int ahead_ms,
	    struct queue_error *qerr);
int	queue_claim_poll(struct queue *q, queue_post_fn row, void *arg,
	    bool *ready, int *nrows, struct queue_error *qerr);
/*
 * queue_next_due sets *delay_us to the microseconds (rounded up, may be
 * negative) until the earliest waiting post is due by the database's
 * clock, and *none when nothing waits.
 */
int	queue_next_due(struct queue *q, int64_t *delay_us, bool *none,
	    struct queue_error *qerr);
/*
 * Recording is asynchronous, one call at a time per struct queue:
 * queue_record_send sends dispatch_record_batch without waiting;
 * queue_record_poll reads its answer once it is in (*ready), filling
 * res[0..n) in input order.  QUEUE_DOWN from the poll means the answer is
 * lost (the outcomes may or may not have been recorded).
 */
int	queue_record_send(struct queue *q, const struct queue_outcome *out,
	    size_t n, struct queue_error *qerr);
int	queue_record_poll(struct queue *q, struct queue_recorded *res,
	    size_t n, bool *ready, struct queue_error *qerr);
int	queue_progress(struct queue *q, const char *org_id, const char *post_id,
	    int attempt, const char *remote_ref, int lease_seconds,
	    struct queue_error *qerr);
int	queue_sweep(struct queue *q, int *swept, struct queue_error *qerr);
/* ai may be NULL (no AI part: older callers). */
int	queue_heartbeat(struct queue *q, const char *kind, int pid,
	    int in_flight, const struct queue_stats *stats,
	    const struct queue_ai_stats *ai, struct queue_error *qerr);
/*
 * queue_stats_json writes the heartbeat's stats object into b.  Returns 0
 * or -1 (memory).
 */
int	queue_stats_json(struct buf *b, const struct queue_stats *stats,
	    const struct queue_ai_stats *ai);
int	queue_refresh_claim(struct queue *q, int batch, int horizon_seconds,
	    int lease_seconds, queue_account_fn row, void *arg, int *nrows,
	    struct queue_error *qerr);
/* *found is false when the account is not leased (NULL from SQL). */
int	queue_refresh_account(struct queue *q, const char *org_id,
	    const char *account_id, int lease_seconds, queue_account_fn row,
	    void *arg, bool *found, struct queue_error *qerr);
/* refresh_enc may be NULL (keep the stored one); expiries 0 = unknown. */
int	queue_token_store(struct queue *q, const char *org_id,
	    const char *account_id, const uint8_t *access_enc, size_t access_len,
	    const uint8_t *refresh_enc, size_t refresh_len, const char *key_id,
	    int64_t expires_at_ms, int64_t refresh_expires_at_ms,
	    struct queue_error *qerr);
int	queue_token_failed(struct queue *q, const char *org_id,
	    const char *account_id, bool reauth, const char *message,
	    struct queue_error *qerr);

/*
 * AI jobs.  queue_ai_claim leases up to batch due AI jobs for
 * lease_seconds (caas.ai_claim, synchronous) and calls row() for each.
 * queue_ai_next_due sets *delay_ms to the ms (rounded up, may be <= 0)
 * until the next queued job is due by the database's clock, and *none when
 * none is queued.  Recording is asynchronous, one call in flight per
 * struct queue, as for the posts: queue_ai_result_send sends
 * ai_job_result_batch; queue_ai_result_poll reads its answer once it is in
 * (*ready), filling res[0..n) in input order (free with
 * queue_ai_recorded_free).
 */
int	queue_ai_claim(struct queue *q, int batch, int lease_seconds,
	    queue_ai_job_fn row, void *arg, int *nrows, struct queue_error *qerr);
int	queue_ai_next_due(struct queue *q, int64_t *delay_ms, bool *none,
	    struct queue_error *qerr);
int	queue_ai_result_send(struct queue *q, const struct queue_ai_outcome *out,
	    size_t n, struct queue_error *qerr);
int	queue_ai_result_poll(struct queue *q, struct queue_ai_recorded *res,
	    size_t n, bool *ready, struct queue_error *qerr);
void	queue_ai_recorded_free(struct queue_ai_recorded *res, size_t n);
/*
 * The JSON of those calls, for tests: queue_ai_outcomes_json writes the
 * input array into b (0 or -1, memory); queue_ai_results_read parses an
 * answer into res[0..n) (elements missing from it read as not ok).
 */
int	queue_ai_outcomes_json(struct buf *b, const struct queue_ai_outcome *out,
	    size_t n);
void	queue_ai_results_read(const char *text, size_t len,
	    struct queue_ai_recorded *res, size_t n);

/*
 * queue_format_instant writes wall-clock ms as ISO 8601 UTC with
 * milliseconds ("2027-05-01T09:30:00.123Z") into out[32].
 */
void	queue_format_instant(int64_t ms, char out[32]);

/*
 * queue_text_clean makes s safe for a jsonb string in place: control
 * characters become spaces, invalid UTF-8 bytes become '?'.
 */
void	queue_text_clean(char *s);

#endif /* CAAS_QUEUE_H */
