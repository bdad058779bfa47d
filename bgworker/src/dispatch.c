/*
 * dispatch.c — one claimed post through its adapter to an outcome
 * (dispatch.h has the vocabulary: job, step, phase).
 *
 * The rules this file keeps:
 *   - a step is sent only while the lease has room for a whole request
 *     (else the job renews the lease through its stored reference, or
 *     gives the post back as retryable: nothing of that step was sent);
 *   - a reference the adapter returns (remote_ref) is stored with
 *     caas.dispatch_progress before the job does anything else, so the
 *     next request of the attempt never leaves before it is safe;
 *   - a refused token (REAUTH) is refreshed once per attempt through the
 *     adapter's refresh hooks (refresh.c), then the same step is tried
 *     again with the new token; a second refusal, or no way to refresh,
 *     records needs_reauth;
 *   - an answerless non-idempotent request the adapter called retryable is
 *     recorded unknown instead: sent and unanswered is never retried
 *     blindly (DESIGN.md decision 3);
 *   - outcomes wait in DONE until the database confirms them (record.c),
 *     so a database outage loses nothing while the process lives.
 *
 * Memory: see dispatch.h.  The clear access token lives in the job
 * (access_token) and in the request headers the adapter builds; both are
 * wiped when the job ends, the headers as soon as the answer is in.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "backoff.h"
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

/* Room a lease must have left for a step to be sent, beyond the request. */
#define LEASE_MARGIN_MS		5000

static const char *const outcome_names[] = {
	"published", "retryable", "needs_reauth", "permanent", "unknown"
};

static void	on_answer(struct http_call *call,
		    const struct adapter_response *resp);

const char *
dispatch_outcome_name(enum dispatch_outcome outcome)
{
	return (outcome_names[outcome]);
}

void
dispatch_init(struct dispatch *d, const struct dispatch_params *p,
    const struct dispatch_store *store, const struct http_transport *http,
    const struct dispatch_env *env)
{
	int	 i;

	memset(d, 0, sizeof(*d));
	d->p = *p;
	if (d->p.find_adapter == NULL)
		d->p.find_adapter = adapter_find;
	d->store = *store;
	d->http = *http;
	d->env = *env;
	for (i = 0; i < JOB_NPHASES; i++)
		TAILQ_INIT(&d->lists[i]);
	for (i = 0; i < DISPATCH_RECORD_SLOTS; i++)
		TAILQ_INIT(&d->slot_jobs[i]);
	if (d->p.record_slots < 1)
		d->p.record_slots = 1;
	if (d->p.record_slots > DISPATCH_RECORD_SLOTS)
		d->p.record_slots = DISPATCH_RECORD_SLOTS;
	TAILQ_INIT(&d->refreshes);
}

static int64_t
now_mono(const struct dispatch *d)
{
	return (d->env.mono_ms(d->env.ctx));
}

/* ------------------------------------------------------------- jobs */

void
dispatch_job_move(struct dispatch *d, struct dispatch_job *job,
    enum dispatch_phase phase)
{
	TAILQ_REMOVE(&d->lists[job->phase], job, link);
	d->counts[job->phase]--;
	job->phase = phase;
	TAILQ_INSERT_TAIL(&d->lists[phase], job, link);
	d->counts[phase]++;
}

static void
wipe_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void
dispatch_job_free(struct dispatch *d, struct dispatch_job *job)
{
	if (job->call.xfer != NULL)
		d->http.cancel(d->http.ctx, &job->call);
	http_call_reset(&job->call);
	if (job->phase == JOB_RECORDING) {
		TAILQ_REMOVE(&d->slot_jobs[job->slot], job, in_slot);
		d->slot_n[job->slot]--;
		d->recording--;
	}
	TAILQ_REMOVE(&d->lists[job->phase], job, link);
	d->counts[job->phase]--;
	d->jobs--;
	wipe_free(job->access_token);
	free(job->remote_ref);
	free(job->strings);
	explicit_bzero(&job->state, sizeof(job->state));
	free(job);
}

void
dispatch_job_finish(struct dispatch *d, struct dispatch_job *job,
    enum dispatch_outcome outcome, const char *fmt, ...)
{
	char	 msg[sizeof(job->message)];
	va_list	 ap;

	job->outcome = outcome;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);	/* the arguments may be job->message */
	va_end(ap);
	memcpy(job->message, msg, sizeof(msg));
	job->refresh = NULL;
	if (job->phase != JOB_DONE)
		dispatch_job_move(d, job, JOB_DONE);
}

/* finish_retry records a retryable outcome delay_ms from now. */
static void
finish_retry(struct dispatch *d, struct dispatch_job *job, int64_t delay_ms,
    const char *message)
{
	job->retry_at_wall = d->env.wall_ms(d->env.ctx) + (delay_ms > 0 ? delay_ms : 0);
	dispatch_job_finish(d, job, OUTCOME_RETRYABLE, "%s", message);
}

/*
 * give_back ends a job whose next step will not be sent: published when an
 * earlier step already got the remote id (only a detail such as the
 * permalink was left), else retryable at once: nothing of this step went
 * out.
 */
static void
give_back(struct dispatch *d, struct dispatch_job *job, const char *why)
{
	if (job->state.remote_id[0] != '\0') {
		snprintf(job->remote_id, sizeof(job->remote_id), "%s", job->state.remote_id);
		dispatch_job_finish(d, job, OUTCOME_PUBLISHED, "published; %s before the last detail", why);
	} else
		finish_retry(d, job, 0, why);
}

/*
 * copy_strings lays the post's strings out in one block owned by job and
 * points job->post at them.  Returns 0 or -1 (memory).
 */
static int
copy_strings(struct dispatch_job *job, const struct queue_post *row)
{
	const char	*src[4 + ADAPTER_MAX_MEDIA];
	const char	*dst[4 + ADAPTER_MAX_MEDIA];
	size_t		 len = 0, n, i;
	char		*p;

	src[0] = row->platform;
	src[1] = row->external_id;
	src[2] = row->handle != NULL ? row->handle : "";
	src[3] = row->text != NULL ? row->text : "";
	n = 4;
	for (i = 0; i < (size_t)row->n_media && i < ADAPTER_MAX_MEDIA; i++)
		src[n++] = row->media_urls[i];
	for (i = 0; i < n; i++)
		len += strlen(src[i]) + 1;
	if ((job->strings = malloc(len)) == NULL)
		return (-1);
	for (p = job->strings, i = 0; i < n; i++) {
		dst[i] = p;
		len = strlen(src[i]) + 1;
		memcpy(p, src[i], len);
		p += len;
	}
	job->post.external_id = dst[1];
	job->post.handle = dst[2];
	job->post.text = dst[3];
	for (i = 4; i < n; i++)
		job->post.media_urls[i - 4] = dst[i];
	job->post.n_media = (int)(n - 4);
	return (0);
}

static bool
ring_has(const struct seal_ring *ring, const char *kid)
{
	int	 i;

	for (i = 0; ring != NULL && i < ring->nkeys; i++)
		if (strcmp(ring->keys[i].kid, kid) == 0)
			return (true);
	return (false);
}

int
dispatch_token_subject(char *out, size_t outlen, const char *platform,
    const char *external_id)
{
	int	 n;

	n = snprintf(out, outlen, "%s:%s", platform != NULL ? platform : "",
	    external_id != NULL ? external_id : "");
	return (n < 0 || (size_t)n >= outlen ? -1 : 0);
}

int
dispatch_token_open(const struct seal_ring *ring, const char *kid,
    const char *org_id, const char *subject, const char *kind,
    const char *b64, char **out, char *why, size_t whylen)
{
	uint8_t		*sealed;
	size_t		 len = strlen(b64);
	long		 n, clear;

	*out = NULL;
	if (kid == NULL || !ring_has(ring, kid))
		return (snprintf(why, whylen, "token key \"%s\" is not among this dispatcher's token_keys",
		    kid != NULL ? kid : "(none)"), -1);
	if ((sealed = malloc(len / 4 * 3 + 3)) == NULL)
		return (snprintf(why, whylen, "out of memory"), -2);
	if ((n = seal_b64_decode(b64, len, sealed, len / 4 * 3 + 3)) < SEAL_OVERHEAD) {
		free(sealed);
		return (snprintf(why, whylen, "the stored %s token is malformed", kind), -2);
	}
	if ((*out = malloc((size_t)n - SEAL_OVERHEAD + 1)) == NULL) {
		free(sealed);
		return (snprintf(why, whylen, "out of memory"), -2);
	}
	clear = seal_open(ring, kid, org_id, subject, kind, sealed, (size_t)n,
	    *out, (size_t)n - SEAL_OVERHEAD + 1);
	explicit_bzero(sealed, (size_t)n);
	free(sealed);
	if (clear < 0) {
		free(*out);
		*out = NULL;
		return (snprintf(why, whylen, "the stored %s token does not open with key \"%s\"",
		    kind, kid), -2);
	}
	return (0);
}

/* open_access opens the claim's access token into job.  Returns 0 or -1. */
static int
open_access(struct dispatch *d, struct dispatch_job *job,
    const struct queue_post *row)
{
	char	 why[256], subject[320];
	int	 rc;

	if (row->access_token_enc == NULL) {
		if ((job->access_token = strdup("")) == NULL) {
			finish_retry(d, job, 0, "out of memory");
			return (-1);
		}
		return (0);
	}
	if (dispatch_token_subject(subject, sizeof(subject), row->platform,
	    row->external_id) == -1)
		rc = (snprintf(why, sizeof(why), "the account's external id is too long"), -2);
	else
		rc = dispatch_token_open(d->p.ring, row->token_key_id, job->org_id,
		    subject, "access", row->access_token_enc,
		    &job->access_token, why, sizeof(why));
	if (rc == -1) {
		log_warning("post %s: %s; fix token_keys", job->post_id, why);
		finish_retry(d, job, backoff_delay_ms(&d->p.backoff, job->attempts, -1,
		    d->env.rand, d->env.ctx), why);
		return (-1);
	}
	if (rc == -2) {
		dispatch_job_finish(d, job, OUTCOME_NEEDS_REAUTH, "%s: reconnect the account", why);
		return (-1);
	}
	return (0);
}

int
dispatch_claimed(struct dispatch *d, const struct queue_post *row)
{
	struct dispatch_job	*job;
	int64_t			 now = now_mono(d);

	if (strlen(row->org_id) > QUEUE_UUID_LEN || strlen(row->post_id) > QUEUE_UUID_LEN ||
	    strlen(row->account_id) > QUEUE_UUID_LEN)
		return (-1);
	if ((job = calloc(1, sizeof(*job))) == NULL)
		return (-1);
	memcpy(job->org_id, row->org_id, strlen(row->org_id));
	memcpy(job->post_id, row->post_id, strlen(row->post_id));
	memcpy(job->account_id, row->account_id, strlen(row->account_id));
	job->d = d;
	job->attempt = row->attempt;
	job->attempts = row->attempts;
	job->lease_until = now + (int64_t)d->p.lease_seconds * 1000;
	job->has_refresh_token = row->refresh_token_enc != NULL;
	http_call_init(&job->call);
	job->call.owner = job;
	job->call.done = on_answer;
	if (copy_strings(job, row) == -1 ||
	    (row->remote_ref != NULL && (job->remote_ref = strdup(row->remote_ref)) == NULL)) {
		free(job->strings);
		free(job);
		return (-1);
	}
	job->post.org_id = job->org_id;
	job->post.post_id = job->post_id;
	job->post.account_id = job->account_id;
	job->post.remote_ref = job->remote_ref;
	job->post.attempt = job->attempt;
	/* Claimed ahead of its instant: held until run_at, then sent. */
	job->wake_at = now + (row->start_in_us + 999) / 1000;
	job->phase = JOB_READY;
	TAILQ_INSERT_TAIL(&d->lists[JOB_READY], job, link);
	d->counts[JOB_READY]++;
	d->jobs++;
	d->stats.claimed++;

	if (row->account_status != NULL && strcmp(row->account_status, "connected") != 0)
		dispatch_job_finish(d, job, OUTCOME_NEEDS_REAUTH,
		    "the account is %s: reconnect it", row->account_status);
	else if ((job->adapter = d->p.find_adapter(row->platform)) == NULL)
		finish_retry(d, job, backoff_delay_ms(&d->p.backoff, job->attempts, -1,
		    d->env.rand, d->env.ctx), "this dispatcher has no adapter for the platform");
	else if (open_access(d, job, row) == 0)
		job->post.access_token = job->access_token;
	return (0);
}

/* ------------------------------------------------------------ steps */

/*
 * apply_result moves job on after the adapter's verdict on a step
 * (prepare's ADAPTER_DONE or classify).
 */
static void
apply_result(struct dispatch *d, struct dispatch_job *job,
    const struct adapter_result *r)
{
	bool		 new_ref;
	int64_t		 delay;
	char		 msg[ADAPTER_MSG_MAX + 64];

	new_ref = r->remote_ref[0] != '\0' &&
	    (job->remote_ref == NULL || strcmp(job->remote_ref, r->remote_ref) != 0);

	switch (r->outcome) {
	case ADAPTER_PUBLISHED:
		if (r->remote_id[0] == '\0') {
			dispatch_job_finish(d, job, OUTCOME_UNKNOWN,
			    "the platform accepted the post without giving its id");
			break;
		}
		snprintf(job->remote_id, sizeof(job->remote_id), "%s", r->remote_id);
		snprintf(job->remote_url, sizeof(job->remote_url), "%s", r->remote_url);
		dispatch_job_finish(d, job, OUTCOME_PUBLISHED, "%s", r->message);
		break;
	case ADAPTER_RETRY:
		delay = backoff_delay_ms(&d->p.backoff, job->attempts,
		    r->retry_after_ms, d->env.rand, d->env.ctx);
		finish_retry(d, job, delay, r->message);
		break;
	case ADAPTER_REAUTH:
		/*
		 * A reference to store and a token to refresh at once: store,
		 * and leave the refresh to the owner (never seen in practice).
		 */
		if (!job->reauthed && job->has_refresh_token && !new_ref &&
		    job->adapter->refresh_prepare != NULL &&
		    job->adapter->refresh_classify != NULL) {
			snprintf(job->message, sizeof(job->message), "%s", r->message);
			if (refresh_wait(d, job) == 0)
				break;
		}
		dispatch_job_finish(d, job, OUTCOME_NEEDS_REAUTH, "%s", r->message);
		break;
	case ADAPTER_PERMANENT:
		dispatch_job_finish(d, job, OUTCOME_PERMANENT, "%s", r->message);
		break;
	case ADAPTER_CONTINUE:
		if (++job->steps >= DISPATCH_MAX_STEPS) {
			dispatch_job_finish(d, job, OUTCOME_UNKNOWN,
			    "the adapter had not finished after %d requests", job->steps);
			break;
		}
		job->wake_at = now_mono(d) + (r->continue_after_ms > 0 ? r->continue_after_ms : 0);
		if (job->phase != JOB_READY)
			dispatch_job_move(d, job, JOB_READY);
		break;
	case ADAPTER_UNKNOWN:
	default:
		snprintf(msg, sizeof(msg), "%s", r->message[0] != '\0' ? r->message :
		    "the platform may or may not have published the post");
		dispatch_job_finish(d, job, OUTCOME_UNKNOWN, "%s", msg);
		break;
	}
	if (new_ref) {
		snprintf(job->pending_ref, sizeof(job->pending_ref), "%s", r->remote_ref);
		job->after_progress = job->phase;
		dispatch_job_move(d, job, JOB_PROGRESS);
	}
}

/* on_answer is the http_call callback: the adapter classifies the answer. */
static void
on_answer(struct http_call *call, const struct adapter_response *resp)
{
	struct dispatch_job	*job = call->owner;
	struct dispatch		*d = job->d;
	struct adapter_result	 r;
	bool			 idempotent = call->req.idempotent;

	memset(&r, 0, sizeof(r));
	r.retry_after_ms = -1;
	r.outcome = ADAPTER_UNKNOWN;
	job->http_status = resp->status;
	job->adapter->classify(&job->post, &job->state, resp, &r);
	http_call_reset(call);
	if (r.outcome == ADAPTER_RETRY && resp->status == 0 && resp->sent && !idempotent) {
		log_warning("post %s: the %s adapter called an unanswered request "
		    "retryable; recording it unknown", job->post_id, job->adapter->name);
		r.outcome = ADAPTER_UNKNOWN;
	}
	if (r.message[0] == '\0' && resp->transport_error != NULL)
		snprintf(r.message, sizeof(r.message), "%s", resp->transport_error);
	if (job->phase == JOB_HTTP)
		dispatch_job_move(d, job, JOB_READY);	/* apply_result moves it on */
	apply_result(d, job, &r);
}

/* step_start prepares and sends job's next step. */
static void
step_start(struct dispatch *d, struct dispatch_job *job, int64_t now)
{
	struct adapter_result	 r;
	enum adapter_prepare	 rc;
	char			 err[256];

	if (job->lease_until - now < (int64_t)d->p.request_timeout_ms + LEASE_MARGIN_MS) {
		if (job->remote_ref != NULL) {
			/* Renew the lease through the stored reference first. */
			snprintf(job->pending_ref, sizeof(job->pending_ref), "%s", job->remote_ref);
			job->after_progress = JOB_READY;
			dispatch_job_move(d, job, JOB_PROGRESS);
			return;
		}
		give_back(d, job, "the lease ran out before the next request could be sent");
		return;
	}
	http_call_reset(&job->call);
	memset(&r, 0, sizeof(r));
	r.retry_after_ms = -1;
	r.outcome = ADAPTER_UNKNOWN;
	rc = job->adapter->prepare(&job->post, &job->state, &job->call.req, &r);
	if (rc == ADAPTER_DONE) {
		http_call_reset(&job->call);
		job->http_status = 0;
		apply_result(d, job, &r);
		return;
	}
	if (d->http.send(d->http.ctx, &job->call, err, sizeof(err)) == -1) {
		http_call_reset(&job->call);
		finish_retry(d, job, backoff_delay_ms(&d->p.backoff, job->attempts, -1,
		    d->env.rand, d->env.ctx), err);
		return;
	}
	dispatch_job_move(d, job, JOB_HTTP);
}

void
dispatch_run(struct dispatch *d)
{
	struct dispatch_job	*job, *tmp;
	int64_t			 now;

	if (d->stopping)
		return;
	now = now_mono(d);
	TAILQ_FOREACH_SAFE(job, &d->lists[JOB_READY], link, tmp)
		if (job->wake_at <= now)
			step_start(d, job, now);
}

int64_t
dispatch_next_step(const struct dispatch *d)
{
	const struct dispatch_job	*job;
	int64_t				 next = -1;

	if (d->stopping)
		return (-1);
	TAILQ_FOREACH(job, &d->lists[JOB_READY], link)
		if (next == -1 || job->wake_at < next)
			next = job->wake_at;
	if (d->counts[JOB_DONE] > 0 && dispatch_record_held(d) &&
	    (next == -1 || d->record_hold_until < next))
		next = d->record_hold_until;
	return (next);
}

int
dispatch_busy(const struct dispatch *d)
{
	return (d->counts[JOB_HTTP] + refresh_busy(d));
}

/* ------------------------------------------------------------ flush */

void
dispatch_job_lost(struct dispatch *d, struct dispatch_job *job,
    const char *sqlstate, const char *message)
{
	d->stats.lost++;
	if ((job->phase == JOB_DONE || job->phase == JOB_RECORDING) &&
	    job->outcome == OUTCOME_PUBLISHED)
		log_warning("post %s: published as %s but not recorded (%s: %s); "
		    "resolve it with caas.post_resolve", job->post_id, job->remote_id,
		    sqlstate, message);
	else
		log_warning("post %s: attempt %d not recorded (%s: %s)", job->post_id,
		    job->attempt, sqlstate, message);
	dispatch_job_free(d, job);
}

/* flush_progress stores pending references.  Returns 0 or -1 (down). */
static int
flush_progress(struct dispatch *d)
{
	struct dispatch_job	*job, *tmp;
	struct queue_error	 qerr;
	char			*ref;
	int			 rc;

	TAILQ_FOREACH_SAFE(job, &d->lists[JOB_PROGRESS], link, tmp) {
		rc = d->store.progress(d->store.ctx, job->org_id, job->post_id,
		    job->attempt, job->pending_ref, d->p.lease_seconds, &qerr);
		if (rc == QUEUE_DOWN)
			return (-1);
		if (rc == QUEUE_REFUSED && strcmp(qerr.sqlstate, "CA002") == 0) {
			dispatch_job_lost(d, job, qerr.sqlstate, qerr.message);
			continue;
		}
		if (rc == QUEUE_REFUSED) {
			/* Not stored: the attempt must not go on. */
			log_error("post %s: cannot store the platform's reference (%s: %s)",
			    job->post_id, qerr.sqlstate, qerr.message);
			job->pending_ref[0] = '\0';
			dispatch_job_finish(d, job, job->after_progress == JOB_DONE ?
			    job->outcome : OUTCOME_UNKNOWN, "%s",
			    job->after_progress == JOB_DONE ? job->message :
			    "could not store the platform's reference for this post");
			continue;
		}
		if ((ref = strdup(job->pending_ref)) != NULL) {
			free(job->remote_ref);
			job->remote_ref = ref;
			job->post.remote_ref = ref;
		}
		job->pending_ref[0] = '\0';
		job->lease_until = now_mono(d) + (int64_t)d->p.lease_seconds * 1000;
		dispatch_job_move(d, job, job->after_progress);
	}
	return (0);
}

int
dispatch_flush(struct dispatch *d)
{
	int	 rc = 0;

	if (flush_progress(d) == -1 || refresh_flush(d) == -1)
		rc = -1;
	if (d->stopping)
		dispatch_stop(d);	/* what progress just released */
	if (record_send_outcomes(d) == -1)
		rc = -1;
	return (rc);
}

bool
dispatch_pending(const struct dispatch *d)
{
	return (d->counts[JOB_PROGRESS] > 0 || refresh_pending(d));
}

/* ------------------------------------------------------------- stop */

void
dispatch_stop(struct dispatch *d)
{
	struct dispatch_job	*job, *tmp;

	d->stopping = true;
	refresh_stop(d);
	TAILQ_FOREACH_SAFE(job, &d->lists[JOB_READY], link, tmp)
		give_back(d, job, "the dispatcher stopped before this step was sent");
}

void
dispatch_abandon(struct dispatch *d)
{
	struct dispatch_job	*job;
	int			 phase;

	refresh_cleanup(d);	/* first: it lets go of the jobs waiting for it */
	for (phase = 0; phase < JOB_NPHASES; phase++)
		while ((job = TAILQ_FIRST(&d->lists[phase])) != NULL) {
			if (phase == JOB_HTTP)
				log_warning("post %s: abandoned with a request in flight; "
				    "the sweeper will mark it unconfirmed when its lease expires",
				    job->post_id);
			else if ((phase == JOB_DONE || phase == JOB_RECORDING) &&
			    job->outcome == OUTCOME_PUBLISHED)
				log_warning("post %s: published as %s but not recorded; "
				    "resolve it with caas.post_resolve", job->post_id, job->remote_id);
			else
				log_warning("post %s: outcome %s not recorded; its lease will expire",
				    job->post_id, phase == JOB_DONE || phase == JOB_RECORDING ?
				    outcome_names[job->outcome] : "(none yet)");
			dispatch_job_free(d, job);
		}
}

void
dispatch_cleanup(struct dispatch *d)
{
	dispatch_abandon(d);
}
