/*
 * refresh.c — token refreshes, proactive (accounts whose access token
 * expires within refresh_horizon_sec, leased by caas.dispatch_refresh_claim)
 * and on demand (a platform refused a job's token: the account is leased
 * by caas.dispatch_refresh_account).  Both run as jobs in the same curl
 * multi loop as the posts (dispatch.h).
 *
 * One refresh at a time per account: the database lease decides between
 * dispatchers, and within this one a job whose account is already being
 * refreshed joins that refresh's waiters.
 *
 * Phases of a refresh:
 *   LEASE   on demand, not leased yet (dispatch_refresh_account at flush);
 *   HTTP    the platform's token endpoint is being asked;
 *   STORE   new tokens sealed, to store (dispatch_token_store at flush);
 *   FAIL    the refresh failed, to report (dispatch_token_failed at flush).
 * Waiters get their fate once the database has heard: the new token and
 * their step again, needs_reauth, or retryable.
 *
 * A stored refresh token is never replaced with an empty one: when the
 * platform sends none, the old one is kept (NULL to the database), or
 * re-sealed with the current key when the key changes, because one key
 * id covers both tokens of an account.
 *
 * Memory: a refresh owns its clear tokens (wiped on free), the adapter's
 * struct adapter_tokens (wiped), the sealed new tokens and its request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "dispatch.h"
#include "log.h"
#include "queue.h"
#include "seal.h"

#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST((head));				\
	    (var) && ((tvar) = TAILQ_NEXT((var), field), 1);		\
	    (var) = (tvar))
#endif

enum refresh_phase {
	RF_LEASE,
	RF_HTTP,
	RF_STORE,
	RF_FAIL
};

struct refresh_job {
	TAILQ_ENTRY(refresh_job) link;
	struct dispatch		*d;
	enum refresh_phase	 phase;
	bool			 leased;
	char			 org_id[QUEUE_UUID_LEN + 1];
	char			 account_id[QUEUE_UUID_LEN + 1];
	const struct caas_adapter *adapter;
	char			*external_id;
	char			*key_id;	/* of the stored tokens */
	char			*access_token;	/* clear, wiped */
	char			*refresh_token;	/* clear, wiped */
	struct adapter_account	 acct;
	struct http_call	 call;
	struct adapter_tokens	*tokens;	/* the adapter's answer, wiped */
	struct dispatch_job_list waiters;

	/* STORE */
	char			*new_access;	/* clear, for the waiters */
	uint8_t			*access_enc, *refresh_enc;
	size_t			 access_len, refresh_len;
	char			 new_key_id[SEAL_KID_MAX + 1];
	int64_t			 expires_at_ms, refresh_expires_at_ms;

	/* FAIL */
	bool			 reauth;
	char			 message[ADAPTER_MSG_MAX];
};

static void	on_token_answer(struct http_call *call,
		    const struct adapter_response *resp);

static void
wipe_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static void
bytes_free(uint8_t *p, size_t len)
{
	if (p != NULL) {
		explicit_bzero(p, len);
		free(p);
	}
}

static struct refresh_job *
refresh_new(struct dispatch *d, const char *org_id, const char *account_id)
{
	struct refresh_job	*r;

	if (strlen(org_id) > QUEUE_UUID_LEN || strlen(account_id) > QUEUE_UUID_LEN ||
	    (r = calloc(1, sizeof(*r))) == NULL)
		return (NULL);
	if ((r->tokens = calloc(1, sizeof(*r->tokens))) == NULL) {
		free(r);
		return (NULL);
	}
	r->d = d;
	snprintf(r->org_id, sizeof(r->org_id), "%s", org_id);
	snprintf(r->account_id, sizeof(r->account_id), "%s", account_id);
	http_call_init(&r->call);
	r->call.owner = r;
	r->call.done = on_token_answer;
	TAILQ_INIT(&r->waiters);
	TAILQ_INSERT_TAIL(&d->refreshes, r, link);
	d->nrefresh++;
	return (r);
}

/* refresh_free unlinks and frees r; its waiters must be gone. */
static void
refresh_free(struct dispatch *d, struct refresh_job *r)
{
	if (r->call.xfer != NULL)
		d->http.cancel(d->http.ctx, &r->call);
	http_call_reset(&r->call);
	TAILQ_REMOVE(&d->refreshes, r, link);
	d->nrefresh--;
	free(r->external_id);
	free(r->key_id);
	wipe_free(r->access_token);
	wipe_free(r->refresh_token);
	wipe_free(r->new_access);
	bytes_free(r->access_enc, r->access_len);
	bytes_free(r->refresh_enc, r->refresh_len);
	explicit_bzero(r->tokens, sizeof(*r->tokens));
	free(r->tokens);
	free(r);
}

/* settle_waiters gives every waiter an outcome and frees r. */
static void
settle_waiters(struct dispatch *d, struct refresh_job *r,
    enum dispatch_outcome outcome, const char *why)
{
	struct dispatch_job	*job;
	int64_t			 delay;

	while ((job = TAILQ_FIRST(&r->waiters)) != NULL) {
		TAILQ_REMOVE(&r->waiters, job, waiting);
		job->refresh = NULL;
		if (outcome == OUTCOME_RETRYABLE) {
			delay = backoff_delay_ms(&d->p.backoff, job->attempts, -1,
			    d->env.rand, d->env.ctx);
			job->retry_at_wall = d->env.wall_ms(d->env.ctx) + delay;
		}
		dispatch_job_finish(d, job, outcome, "%s; token refresh: %s",
		    job->message[0] != '\0' ? job->message : "the platform refused the token", why);
	}
	refresh_free(d, r);
}

/* resume_waiters hands the new token to every waiter and frees r. */
static void
resume_waiters(struct dispatch *d, struct refresh_job *r)
{
	struct dispatch_job	*job;
	char			*token;
	int64_t			 now = d->env.mono_ms(d->env.ctx);

	while ((job = TAILQ_FIRST(&r->waiters)) != NULL) {
		TAILQ_REMOVE(&r->waiters, job, waiting);
		job->refresh = NULL;
		if ((token = strdup(r->new_access)) == NULL) {
			job->retry_at_wall = d->env.wall_ms(d->env.ctx);
			dispatch_job_finish(d, job, OUTCOME_RETRYABLE, "out of memory after a token refresh");
			continue;
		}
		wipe_free(job->access_token);
		job->access_token = token;
		job->post.access_token = token;
		job->reauthed = true;
		job->message[0] = '\0';
		job->wake_at = now;
		dispatch_job_move(d, job, JOB_READY);
	}
	refresh_free(d, r);
}

/* fail marks r failed; reported to the database at the next flush. */
static void
fail(struct refresh_job *r, bool reauth, const char *message)
{
	r->phase = RF_FAIL;
	r->reauth = reauth;
	snprintf(r->message, sizeof(r->message), "%s", message);
	queue_text_clean(r->message);
	log_redact(r->message);
}

/*
 * seal_new seals what the platform answered for the database: the access
 * token, and the refresh token when there is a new one or the key changed.
 * Returns 0, or -1 after fail().
 */
static int
seal_new(struct dispatch *d, struct refresh_job *r)
{
	const struct adapter_tokens	*t = r->tokens;
	const char			*kid = seal_current_kid(d->p.ring);
	const char			*refresh = NULL;
	char				 subject[320];
	size_t				 alen = strlen(t->access_token), rlen;
	long				 n;
	int64_t				 wall = d->env.wall_ms(d->env.ctx);

	if (kid == NULL)
		return (fail(r, false, "no current token key (token_key_id) to seal the new token with"), -1);
	if (alen == 0)
		return (fail(r, false, "the platform answered without an access token"), -1);
	if (t->refresh_token[0] != '\0')
		refresh = t->refresh_token;
	else if (r->refresh_token != NULL && (r->key_id == NULL || strcmp(r->key_id, kid) != 0))
		refresh = r->refresh_token;	/* re-sealed with the current key */
	if ((r->access_enc = malloc(alen + SEAL_OVERHEAD)) == NULL ||
	    (r->new_access = strdup(t->access_token)) == NULL)
		return (fail(r, false, "out of memory"), -1);
	r->access_len = alen + SEAL_OVERHEAD;
	if (dispatch_token_subject(subject, sizeof(subject), r->adapter->name,
	    r->external_id) == -1)
		return (fail(r, false, "the account's external id is too long"), -1);
	n = seal_token(d->p.ring, r->org_id, subject, "access",
	    t->access_token, alen, r->access_enc, r->access_len);
	if (n < 0)
		return (fail(r, false, "sealing the new access token failed"), -1);
	if (refresh != NULL) {
		rlen = strlen(refresh);
		if ((r->refresh_enc = malloc(rlen + SEAL_OVERHEAD)) == NULL)
			return (fail(r, false, "out of memory"), -1);
		r->refresh_len = rlen + SEAL_OVERHEAD;
		if (seal_token(d->p.ring, r->org_id, subject, "refresh",
		    refresh, rlen, r->refresh_enc, r->refresh_len) < 0)
			return (fail(r, false, "sealing the refresh token failed"), -1);
	}
	snprintf(r->new_key_id, sizeof(r->new_key_id), "%s", kid);
	r->expires_at_ms = t->expires_in_s >= 0 ? wall + t->expires_in_s * 1000 : 0;
	r->refresh_expires_at_ms = t->refresh_token[0] != '\0' && t->refresh_expires_in_s >= 0 ?
	    wall + t->refresh_expires_in_s * 1000 : 0;
	r->phase = RF_STORE;
	return (0);
}

/* on_tokens moves r on after the adapter's verdict on its refresh. */
static void
on_tokens(struct dispatch *d, struct refresh_job *r)
{
	switch (r->tokens->outcome) {
	case ADAPTER_PUBLISHED:
		seal_new(d, r);
		break;
	case ADAPTER_RETRY:
		fail(r, false, r->tokens->message[0] != '\0' ? r->tokens->message :
		    "the platform could not refresh the token now");
		break;
	case ADAPTER_REAUTH:
	default:
		fail(r, true, r->tokens->message[0] != '\0' ? r->tokens->message :
		    "the platform refused the refresh token");
		break;
	}
	explicit_bzero(r->tokens, sizeof(*r->tokens));
}

static void
on_token_answer(struct http_call *call, const struct adapter_response *resp)
{
	struct refresh_job	*r = call->owner;

	r->adapter->refresh_classify(&r->acct, resp, r->tokens);
	http_call_reset(call);
	on_tokens(r->d, r);
}

/* start sends r's request to the platform's token endpoint. */
static void
start(struct dispatch *d, struct refresh_job *r)
{
	char	 err[256];

	memset(r->tokens, 0, sizeof(*r->tokens));
	r->tokens->outcome = ADAPTER_RETRY;
	r->tokens->expires_in_s = -1;
	r->tokens->refresh_expires_in_s = -1;
	r->tokens->retry_after_ms = -1;
	r->acct.org_id = r->org_id;
	r->acct.account_id = r->account_id;
	r->acct.external_id = r->external_id;
	r->acct.access_token = r->access_token;
	r->acct.refresh_token = r->refresh_token;
	http_call_reset(&r->call);
	if (r->adapter->refresh_prepare(&r->acct, &r->call.req, r->tokens) == ADAPTER_DONE) {
		http_call_reset(&r->call);
		on_tokens(d, r);
		return;
	}
	if (d->http.send(d->http.ctx, &r->call, err, sizeof(err)) == -1) {
		http_call_reset(&r->call);
		fail(r, false, err);
		return;
	}
	r->phase = RF_HTTP;
}

/*
 * load takes a leased account's row: its adapter and tokens.  Returns 0,
 * or -1 after fail().
 */
static int
load(struct dispatch *d, struct refresh_job *r, const struct queue_account *row)
{
	char	 why[256], subject[320];
	int	 rc;

	r->leased = true;
	if ((r->adapter = d->p.find_adapter(row->platform)) == NULL ||
	    r->adapter->refresh_prepare == NULL || r->adapter->refresh_classify == NULL)
		return (fail(r, false, "this dispatcher cannot refresh tokens of the platform"), -1);
	if ((r->external_id = strdup(row->external_id != NULL ? row->external_id : "")) == NULL ||
	    (row->token_key_id != NULL && (r->key_id = strdup(row->token_key_id)) == NULL))
		return (fail(r, false, "out of memory"), -1);
	if (row->refresh_token_enc == NULL)
		return (fail(r, true, "the account has no refresh token"), -1);
	if (dispatch_token_subject(subject, sizeof(subject), row->platform,
	    r->external_id) == -1)
		return (fail(r, true, "the account's external id is too long"), -1);
	rc = dispatch_token_open(d->p.ring, row->token_key_id, r->org_id, subject,
	    "refresh", row->refresh_token_enc, &r->refresh_token, why, sizeof(why));
	if (rc == 0 && row->access_token_enc != NULL)
		rc = dispatch_token_open(d->p.ring, row->token_key_id, r->org_id, subject,
		    "access", row->access_token_enc, &r->access_token, why, sizeof(why));
	if (rc != 0) {
		if (rc == -1)
			log_warning("account %s: %s; fix token_keys", r->account_id, why);
		return (fail(r, rc == -2, why), -1);
	}
	return (0);
}

int
refresh_wait(struct dispatch *d, struct dispatch_job *job)
{
	struct refresh_job	*r;

	TAILQ_FOREACH(r, &d->refreshes, link)
		if (strcmp(r->org_id, job->org_id) == 0 &&
		    strcmp(r->account_id, job->account_id) == 0)
			break;
	if (r == NULL) {
		if ((r = refresh_new(d, job->org_id, job->account_id)) == NULL)
			return (-1);
		r->adapter = job->adapter;
		r->phase = RF_LEASE;
	}
	job->refresh = r;
	TAILQ_INSERT_TAIL(&r->waiters, job, waiting);
	dispatch_job_move(d, job, JOB_REFRESH);
	return (0);
}

int
refresh_claimed(struct dispatch *d, const struct queue_account *row)
{
	struct refresh_job	*r;

	if ((r = refresh_new(d, row->org_id, row->account_id)) == NULL)
		return (-1);
	if (load(d, r, row) == 0)
		start(d, r);
	return (0);
}

/* lease_row is the queue_account_fn of an on-demand lease. */
static int
lease_row(void *arg, const struct queue_account *row)
{
	struct refresh_job	*r = arg;

	if (load(r->d, r, row) == 0)
		start(r->d, r);
	return (0);
}

/* flush_one makes r's database call.  Returns 0, or -1 (down). */
static int
flush_one(struct dispatch *d, struct refresh_job *r)
{
	struct queue_error	 qerr;
	bool			 found = false;
	int			 rc;

	switch (r->phase) {
	case RF_LEASE:
		rc = d->store.refresh_account(d->store.ctx, r->org_id, r->account_id,
		    d->p.lease_seconds, lease_row, r, &found, &qerr);
		if (rc == QUEUE_DOWN)
			return (-1);
		if (rc == QUEUE_REFUSED)
			settle_waiters(d, r, OUTCOME_RETRYABLE, qerr.message);
		else if (!found)
			settle_waiters(d, r, OUTCOME_RETRYABLE,
			    "another refresh of the account is under way, or it cannot be refreshed");
		return (0);
	case RF_STORE:
		rc = d->store.token_store(d->store.ctx, r->org_id, r->account_id,
		    r->access_enc, r->access_len, r->refresh_enc, r->refresh_len,
		    r->new_key_id, r->expires_at_ms, r->refresh_expires_at_ms, &qerr);
		if (rc == QUEUE_DOWN)
			return (-1);
		if (rc == QUEUE_REFUSED) {
			log_warning("account %s: new tokens not stored (%s: %s)", r->account_id,
			    qerr.sqlstate, qerr.message);
			settle_waiters(d, r, OUTCOME_RETRYABLE, "the new token could not be stored");
			return (0);
		}
		d->stats.refreshed++;
		log_info("account %s: token refreshed (%s)", r->account_id, r->adapter->name);
		resume_waiters(d, r);
		return (0);
	case RF_FAIL:
		if (r->leased) {
			rc = d->store.token_failed(d->store.ctx, r->org_id, r->account_id,
			    r->reauth, r->message, &qerr);
			if (rc == QUEUE_DOWN)
				return (-1);
			if (rc == QUEUE_REFUSED)
				log_warning("account %s: refresh failure not recorded (%s: %s)",
				    r->account_id, qerr.sqlstate, qerr.message);
		}
		log_info("account %s: token refresh failed%s: %s", r->account_id,
		    r->reauth ? ", the account needs reconnecting" : "", r->message);
		settle_waiters(d, r, r->reauth ? OUTCOME_NEEDS_REAUTH : OUTCOME_RETRYABLE, r->message);
		return (0);
	case RF_HTTP:
	default:
		return (0);
	}
}

int
refresh_flush(struct dispatch *d)
{
	struct refresh_job	*r, *tmp;

	TAILQ_FOREACH_SAFE(r, &d->refreshes, link, tmp)
		if (flush_one(d, r) == -1)
			return (-1);
	return (0);
}

bool
refresh_pending(const struct dispatch *d)
{
	const struct refresh_job	*r;

	TAILQ_FOREACH(r, &d->refreshes, link)
		if (r->phase != RF_HTTP)
			return (true);
	return (false);
}

int
refresh_busy(const struct dispatch *d)
{
	const struct refresh_job	*r;
	int				 n = 0;

	TAILQ_FOREACH(r, &d->refreshes, link)
		if (r->phase == RF_HTTP)
			n++;
	return (n);
}

void
refresh_stop(struct dispatch *d)
{
	struct refresh_job	*r, *tmp;

	TAILQ_FOREACH_SAFE(r, &d->refreshes, link, tmp)
		if (r->phase == RF_LEASE)
			settle_waiters(d, r, OUTCOME_RETRYABLE, "the dispatcher stopped first");
}

void
refresh_cleanup(struct dispatch *d)
{
	struct refresh_job	*r;
	struct dispatch_job	*job;

	while ((r = TAILQ_FIRST(&d->refreshes)) != NULL) {
		while ((job = TAILQ_FIRST(&r->waiters)) != NULL) {
			TAILQ_REMOVE(&r->waiters, job, waiting);
			job->refresh = NULL;
		}
		if (r->phase == RF_HTTP)
			log_warning("account %s: token refresh abandoned in flight; its lease will expire",
			    r->account_id);
		refresh_free(d, r);
	}
}
