/*
 * record.c — decided outcomes to the database: caas.dispatch_record_batch
 * calls on the recording slots (dispatch.h), one call in flight per slot.
 *
 * Decided jobs wait in DONE; a flush shares them evenly between the free
 * slots whose connection is up (at most DISPATCH_RECORD_MAX per call) and
 * moves them to RECORDING, in order, in their slot's list; the answer
 * lists the outcomes in the same order.  A recorded job is freed; one the
 * database refused is logged (CA002: the lease was lost) and freed; when
 * a call's answer is lost with its connection, its jobs go back to DONE
 * marked "resent", and a CA002 for them later is taken as "recorded by
 * the lost call", not as a loss.  A call refused as a whole holds all
 * recording back for a second.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "log.h"
#include "queue.h"

#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST((head));				\
	    (var) && ((tvar) = TAILQ_NEXT((var), field), 1);		\
	    (var) = (tvar))
#endif

static int64_t
now_mono(const struct dispatch *d)
{
	return (d->env.mono_ms(d->env.ctx));
}

bool
dispatch_record_held(const struct dispatch *d)
{
	return (d->record_hold_until > 0 && now_mono(d) < d->record_hold_until);
}

/* outcome_fill describes job for dispatch_record_batch. */
static void
outcome_fill(struct dispatch_job *job, struct queue_outcome *o)
{
	queue_text_clean(job->message);
	log_redact(job->message);
	o->org_id = job->org_id;
	o->post_id = job->post_id;
	o->attempt = job->attempt;
	o->outcome = dispatch_outcome_name(job->outcome);
	o->http_status = job->http_status;
	o->error_message = job->outcome == OUTCOME_PUBLISHED ? NULL : job->message;
	o->remote_id = job->outcome == OUTCOME_PUBLISHED ? job->remote_id : NULL;
	o->remote_url = job->outcome == OUTCOME_PUBLISHED && job->remote_url[0] != '\0' ?
	    job->remote_url : NULL;
	o->retry_at_ms = job->outcome == OUTCOME_RETRYABLE ? job->retry_at_wall : 0;
}

/* recorded counts and logs one outcome the database took. */
static void
recorded(struct dispatch *d, struct dispatch_job *job, const char *state)
{
	switch (job->outcome) {
	case OUTCOME_PUBLISHED:
		d->stats.published++;
		log_debug("post %s: published on %s as %s (attempt %d)", job->post_id,
		    job->adapter != NULL ? job->adapter->name : "?", job->remote_id, job->attempt);
		return;
	case OUTCOME_RETRYABLE:
		if (strcmp(state, "failed") == 0)
			d->stats.failed++;
		else
			d->stats.retried++;
		break;
	case OUTCOME_UNKNOWN:
		d->stats.unknown++;
		break;
	case OUTCOME_NEEDS_REAUTH:
		d->stats.needs_reauth++;
		d->stats.failed++;
		break;
	case OUTCOME_PERMANENT:
	default:
		d->stats.failed++;
		break;
	}
	log_info("post %s: %s (attempt %d, HTTP %ld), now %s: %s", job->post_id,
	    dispatch_outcome_name(job->outcome), job->attempt, job->http_status, state, job->message);
}

/* requeue puts the outcomes of slot's call back to DONE. */
static void
requeue(struct dispatch *d, int slot, bool resent)
{
	struct dispatch_job	*job;

	while ((job = TAILQ_FIRST(&d->slot_jobs[slot])) != NULL) {
		TAILQ_REMOVE(&d->slot_jobs[slot], job, in_slot);
		job->resent = job->resent || resent;
		dispatch_job_move(d, job, JOB_DONE);
	}
	d->recording -= d->slot_n[slot];
	d->slot_n[slot] = 0;
}

bool
dispatch_slot_busy(const struct dispatch *d, int slot)
{
	return (d->slot_n[slot] > 0);
}

/* free_slots counts the slots without a call whose connection is up. */
static int
free_slots(const struct dispatch *d)
{
	int	 i, n = 0;

	for (i = 0; i < d->p.record_slots; i++)
		if (d->slot_n[i] == 0 && d->store.record_up(d->store.ctx, i))
			n++;
	return (n);
}

/*
 * send_slot starts recording n decided outcomes (the oldest) on slot.
 * Returns the store's answer.
 */
static int
send_slot(struct dispatch *d, int slot, size_t n)
{
	struct dispatch_job	*job;
	struct queue_outcome	*out;
	struct queue_error	 qerr;
	size_t			 i;
	int			 rc;

	if ((out = calloc(n, sizeof(*out))) == NULL)
		return (QUEUE_OK);	/* tried again on the next pass */
	for (i = 0; i < n && (job = TAILQ_FIRST(&d->lists[JOB_DONE])) != NULL; i++) {
		outcome_fill(job, &out[i]);
		dispatch_job_move(d, job, JOB_RECORDING);
		job->slot = slot;
		TAILQ_INSERT_TAIL(&d->slot_jobs[slot], job, in_slot);	/* in order */
	}
	d->slot_n[slot] = i;
	d->recording += i;
	rc = d->store.record_send(d->store.ctx, slot, out, i, &qerr);
	free(out);
	if (rc == QUEUE_OK)
		return (rc);
	requeue(d, slot, false);
	if (rc == QUEUE_REFUSED) {
		log_error("recording %zu outcomes failed (%s: %s); trying again in 1 s",
		    i, qerr.sqlstate, qerr.message);
		d->record_hold_until = now_mono(d) + 1000;
	}
	return (rc);
}

/*
 * record_send_outcomes starts recording the decided outcomes on the free slots,
 * shared evenly between them, at most DISPATCH_RECORD_MAX per call.
 * Returns 0, or -1 when a slot's connection failed.
 */
int
record_send_outcomes(struct dispatch *d)
{
	size_t	 n;
	int	 slot, nfree, rc, ret = 0;

	for (slot = 0; slot < d->p.record_slots; slot++) {
		if (d->counts[JOB_DONE] == 0 || dispatch_record_held(d))
			break;
		if (d->slot_n[slot] > 0 || !d->store.record_up(d->store.ctx, slot))
			continue;
		nfree = free_slots(d);
		n = ((size_t)d->counts[JOB_DONE] + (size_t)nfree - 1) / (size_t)nfree;
		if (n > DISPATCH_RECORD_MAX)
			n = DISPATCH_RECORD_MAX;
		if ((rc = send_slot(d, slot, n)) == QUEUE_DOWN)
			ret = -1;
		else if (rc == QUEUE_REFUSED)
			break;
	}
	return (ret);
}

/* collect_slot takes slot's answer if it is in. */
static void
collect_slot(struct dispatch *d, int slot)
{
	struct dispatch_job	*job;
	struct queue_recorded	*res;
	struct queue_error	 qerr;
	size_t			 n = d->slot_n[slot], i;
	bool			 ready = false;
	int			 rc;

	if (n == 0 || (res = calloc(n, sizeof(*res))) == NULL)
		return;
	rc = d->store.record_poll(d->store.ctx, slot, res, n, &ready, &qerr);
	if (rc == QUEUE_OK && !ready) {
		free(res);
		return;
	}
	if (rc == QUEUE_DOWN)
		requeue(d, slot, true);	/* answer lost: it may have been recorded */
	else if (rc == QUEUE_REFUSED) {
		log_error("recording %zu outcomes failed (%s: %s); trying again in 1 s",
		    n, qerr.sqlstate, qerr.message);
		requeue(d, slot, false);
		d->record_hold_until = now_mono(d) + 1000;
	} else {
		d->record_hold_until = 0;
		for (i = 0; i < n && (job = TAILQ_FIRST(&d->slot_jobs[slot])) != NULL; i++) {
			if (res[i].ok) {
				recorded(d, job, res[i].state);
				dispatch_job_free(d, job);
			} else if (job->resent && strcmp(res[i].sqlstate, "CA002") == 0) {
				/* Most likely recorded by the call whose answer was lost. */
				log_info("post %s: outcome %s already recorded or lease lost (%s)",
				    job->post_id, dispatch_outcome_name(job->outcome), res[i].message);
				dispatch_job_free(d, job);
			} else
				dispatch_job_lost(d, job, res[i].sqlstate, res[i].message);
		}
		requeue(d, slot, false);	/* none left unless the answer was short */
	}
	free(res);
}

void
dispatch_collect(struct dispatch *d)
{
	int	 slot;

	for (slot = 0; slot < d->p.record_slots; slot++)
		collect_slot(d, slot);
}

int
dispatch_flush_records(struct dispatch *d)
{
	if (d->stopping)
		dispatch_stop(d);
	return (record_send_outcomes(d));
}

bool
dispatch_to_record(const struct dispatch *d)
{
	return (d->counts[JOB_DONE] > 0 && !dispatch_record_held(d) && free_slots(d) > 0);
}

int
dispatch_unrecorded(const struct dispatch *d)
{
	return (d->counts[JOB_DONE] + d->counts[JOB_RECORDING]);
}

