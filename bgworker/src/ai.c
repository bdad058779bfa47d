/*
 * ai.c — one claimed AI job through the provider chain to a recorded
 * outcome (ai.h has the vocabulary: job, call, chain, re-prompt, phases).
 *
 * The rules this file keeps:
 *   - a call is sent only while the lease has room for a whole call
 *     (request_timeout_ms and a margin); otherwise the job is given back
 *     (requeue at once): nothing of it is stored, re-running is safe;
 *   - a call carries its own whole-transfer limit (request_timeout_ms,
 *     http_call.timeout_ms): the transport ends it, and the answer-less
 *     response is classified as any unanswered request (a timeout);
 *   - AI_RETRY: the same provider again after max(hint, backoff with
 *     jitter) while it has attempts left and its hint, if any, is within
 *     retry_hint_max_ms; otherwise, and for AI_FALLBACK at once, the next
 *     provider of the chain; after the last one the job fails with the
 *     last call's code and a message naming the provider;
 *   - AI_OK is recorded as a success; the database checks every variant
 *     against the platform's rules and answers "too_long" with the
 *     re-prompt text while re-prompts remain (final false): the assistant's
 *     answer and the re-prompt join the conversation and the same provider
 *     is called again; the last allowed re-prompt's answer is sent with
 *     final true, and the database trims instead;
 *   - tokens are summed over every call of the claim, and every call is
 *     logged in the attempts array the job records;
 *   - outcomes wait in DONE until the database confirms them, one
 *     ai_job_result_batch call in flight at a time on the AI recording
 *     connection; when a call's answer is lost its jobs are sent again
 *     marked "resent", and a CA002 for them then means "applied by the
 *     lost call" (as record.c does for posts).
 *
 * Memory: see ai.h.  The API key is only in the call's header list,
 * wiped (http_call_reset) when the answer is in or the call is cancelled.
 * Messages stored or logged go through queue_text_clean and log_redact.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ai.h"
#include "ai_provider.h"
#include "backoff.h"
#include "buf.h"
#include "http_multi.h"
#include "log.h"
#include "queue.h"

#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST((head));				\
	    (var) && ((tvar) = TAILQ_NEXT((var), field), 1);		\
	    (var) = (tvar))
#endif

/* Room a lease must have left for a call, beyond request_timeout_ms. */
#define LEASE_MARGIN_MS		5000
/* A refused recording call holds recording back this long. */
#define RECORD_HOLD_MS		1000
/* Entries of one job's attempts log at most (the chain bounds it anyway). */
#define LOG_MAX			100

static void	on_answer(struct http_call *call,
		    const struct adapter_response *resp);

void
ai_init(struct ai *ai, const struct ai_params *p, const struct ai_store *store,
    const struct http_transport *http, const struct dispatch_env *env)
{
	int	 i;

	memset(ai, 0, sizeof(*ai));
	ai->p = *p;
	if (ai->p.nproviders < 0)
		ai->p.nproviders = 0;
	if (ai->p.nproviders > AI_PROVIDERS_MAX)
		ai->p.nproviders = AI_PROVIDERS_MAX;
	if (ai->p.max_attempts < 1)
		ai->p.max_attempts = 1;
	if (ai->p.max_reprompts < 0)
		ai->p.max_reprompts = 0;
	if (ai->p.max_reprompts > AI_REPROMPTS_MAX)
		ai->p.max_reprompts = AI_REPROMPTS_MAX;
	ai->store = *store;
	ai->http = *http;
	ai->env = *env;
	ai->backoff.base_ms = AI_RETRY_BASE_MS;
	ai->backoff.cap_ms = p->retry_hint_max_ms < AI_RETRY_CAP_MS ?
	    p->retry_hint_max_ms : AI_RETRY_CAP_MS;
	ai->backoff.hint_max_ms = p->retry_hint_max_ms;
	for (i = 0; i < AI_JOB_NPHASES; i++)
		TAILQ_INIT(&ai->lists[i]);
}

static int64_t
now_mono(const struct ai *ai)
{
	return (ai->env.mono_ms(ai->env.ctx));
}

static int64_t
now_wall(const struct ai *ai)
{
	return (ai->env.wall_ms(ai->env.ctx));
}

bool
ai_enabled(const struct ai *ai)
{
	return (ai->p.nproviders > 0);
}

int
ai_room(const struct ai *ai)
{
	int	 room = ai->p.max_in_flight - ai->jobs;

	if (!ai_enabled(ai) || ai->stopping || room < 0)
		return (0);
	return (room);
}

/* ------------------------------------------------------------- jobs */

static void
job_move(struct ai *ai, struct ai_job *job, enum ai_phase phase)
{
	if (job->phase == phase)
		return;
	TAILQ_REMOVE(&ai->lists[job->phase], job, link);
	ai->counts[job->phase]--;
	job->phase = phase;
	TAILQ_INSERT_TAIL(&ai->lists[phase], job, link);
	ai->counts[phase]++;
}

static void
job_free(struct ai *ai, struct ai_job *job)
{
	size_t	 i;

	if (job->call.xfer != NULL)
		ai->http.cancel(ai->http.ctx, &job->call);
	http_call_reset(&job->call);
	TAILQ_REMOVE(&ai->lists[job->phase], job, link);
	ai->counts[job->phase]--;
	ai->jobs--;
	for (i = 0; i < job->ntexts; i++)
		free(job->texts[i]);
	ai_result_free(&job->res);
	json_decref(job->log);
	free(job);
}

static const struct ai_provider *
provider_of(const struct ai *ai, const struct ai_job *job)
{
	return (&ai->p.providers[job->provider]);
}

/* finish decides job's outcome and moves it to DONE. */
static void
finish(struct ai *ai, struct ai_job *job, enum ai_end end, const char *code,
    const char *fmt, ...)
{
	char	 msg[sizeof(job->message)];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	queue_text_clean(msg);
	log_redact(msg);
	memcpy(job->message, msg, sizeof(msg));
	snprintf(job->error_code, sizeof(job->error_code), "%s", code);
	job->end = end;
	job_move(ai, job, AI_JOB_DONE);
}

/* give_back ends job with a requeue after_ms from now. */
static void
give_back(struct ai *ai, struct ai_job *job, int64_t after_ms, const char *why)
{
	job->requeue_after_ms = after_ms > 0 ? after_ms : 0;
	log_debug("AI job %s: given back (%s)", job->job_id, why);
	finish(ai, job, AI_END_REQUEUE, "requeued", "%s", why);
}

/* text_dup copies s, or "" when NULL.  NULL only when memory runs out. */
static char *
text_dup(const char *s)
{
	return (strdup(s != NULL ? s : ""));
}

int
ai_claimed(struct ai *ai, const struct queue_ai_job *row)
{
	struct ai_job	*job;
	int64_t		 now = now_mono(ai);

	if (row->org_id == NULL || row->job_id == NULL ||
	    strlen(row->org_id) > QUEUE_UUID_LEN || strlen(row->job_id) > QUEUE_UUID_LEN)
		return (-1);
	if ((job = calloc(1, sizeof(*job))) == NULL)
		return (-1);
	if ((job->log = json_array()) == NULL) {
		free(job);
		return (-1);
	}
	memcpy(job->org_id, row->org_id, strlen(row->org_id));
	memcpy(job->job_id, row->job_id, strlen(row->job_id));
	job->ai = ai;
	job->claim = row->claim;
	snprintf(job->platform, sizeof(job->platform), "%s",
	    row->platform != NULL ? row->platform : "");
	snprintf(job->unit, sizeof(job->unit), "%s",
	    row->unit != NULL ? row->unit : "characters");
	job->max_length = row->max_length;
	job->variants = row->variants < 1 ? 1 :
	    row->variants > AI_MAX_VARIANTS ? AI_MAX_VARIANTS : row->variants;
	http_call_init(&job->call);
	job->call.owner = job;
	job->call.done = on_answer;
	job->call.timeout_ms = ai->p.request_timeout_ms;
	job->lease_until = now + (int64_t)ai->p.lease_seconds * 1000;
	job->wake_at = now;
	job->phase = AI_JOB_READY;
	TAILQ_INSERT_TAIL(&ai->lists[AI_JOB_READY], job, link);
	ai->counts[AI_JOB_READY]++;
	ai->jobs++;
	ai->stats.claimed++;

	if (row->system_prompt == NULL || row->user_prompt == NULL ||
	    row->system_prompt[0] == '\0' || row->user_prompt[0] == '\0') {
		finish(ai, job, AI_END_FAILURE, "bad_claim",
		    "the job was claimed without its prompts");
		return (0);
	}
	job->texts[0] = text_dup(row->system_prompt);
	job->texts[1] = text_dup(row->user_prompt);
	job->ntexts = 2;
	if (job->texts[0] == NULL || job->texts[1] == NULL)
		give_back(ai, job, 0, "out of memory");
	return (0);
}

/* ------------------------------------------------------------ calls */

/* log_call appends job's last call to its attempts log. */
static void
log_call(struct ai *ai, struct ai_job *job, int64_t now)
{
	const struct ai_provider	*p = provider_of(ai, job);
	const struct ai_result		*r = &job->res;
	char				 when[32], message[sizeof(r->message)];
	char				 code[sizeof(r->code)], model[sizeof(r->model)];
	json_t				*e;

	if (json_array_size(job->log) >= LOG_MAX)
		return;
	queue_format_instant(job->sent_wall, when);
	snprintf(message, sizeof(message), "%s", r->message);
	snprintf(code, sizeof(code), "%s", r->code);
	snprintf(model, sizeof(model), "%s", r->model[0] != '\0' ? r->model : p->model);
	queue_text_clean(message);
	log_redact(message);
	queue_text_clean(code);
	queue_text_clean(model);
	e = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:I, s:s}",
	    "provider", p->name, "model", model, "http_status", (json_int_t)r->http_status,
	    "class", ai_class_name(r->cls), "code", code, "message", message,
	    "ms", (json_int_t)(now - job->sent_at), "at", when);
	if (e != NULL)
		json_array_append_new(job->log, e);
}

/* mark_too_long sets the class of the last call in the log to too_long. */
static void
mark_too_long(struct ai_job *job)
{
	json_t	*e;

	if (json_array_size(job->log) == 0)
		return;
	e = json_array_get(job->log, json_array_size(job->log) - 1);
	json_object_set_new(e, "class", json_string("too_long"));
}

/*
 * reason writes why job's last call failed, for people: "<provider>:
 * <message>", with the HTTP status when the message does not say it.
 */
static void
reason(const struct ai *ai, const struct ai_job *job, char *out, size_t outlen)
{
	const struct ai_result	*r = &job->res;
	char			 status[32] = "";

	snprintf(status, sizeof(status), "HTTP %ld", r->http_status);
	snprintf(out, outlen, "%s: %s%s%s%s", provider_of(ai, job)->name,
	    r->message[0] != '\0' ? r->message : r->code,
	    r->http_status > 0 && strstr(r->message, status) == NULL ? " (" : "",
	    r->http_status > 0 && strstr(r->message, status) == NULL ? status : "",
	    r->http_status > 0 && strstr(r->message, status) == NULL ? ")" : "");
}

/* chain_failed ends job after its last provider failed. */
static void
chain_failed(struct ai *ai, struct ai_job *job)
{
	const struct ai_result	*r = &job->res;
	char			 why[sizeof(r->message) + 64];

	reason(ai, job, why, sizeof(why));
	finish(ai, job, AI_END_FAILURE, r->code[0] != '\0' ? r->code : "failed", "%s%s", why,
	    ai->p.nproviders > 1 ? "; no provider of the chain could generate the text" : "");
}

/* next_provider moves job to the next provider of the chain, or fails it. */
static void
next_provider(struct ai *ai, struct ai_job *job, int64_t now)
{
	char	 why[sizeof(job->res.message) + 64];

	if (job->provider + 1 >= ai->p.nproviders) {
		chain_failed(ai, job);
		return;
	}
	reason(ai, job, why, sizeof(why));
	log_info("AI job %s: %s; trying %s", job->job_id, why,
	    ai->p.providers[job->provider + 1].name);
	job->provider++;
	job->attempts = 0;
	job->wake_at = now;
}

/* apply moves job (READY) on after its last call's verdict. */
static void
apply(struct ai *ai, struct ai_job *job, int64_t now)
{
	const struct ai_result	*r = &job->res;
	int64_t			 delay;

	if (r->cls == AI_OK) {
		job->final = job->reprompts >= ai->p.max_reprompts;
		finish(ai, job, AI_END_SUCCESS, "", "generated by %s", provider_of(ai, job)->name);
		return;
	}
	if (ai->stopping) {
		give_back(ai, job, 0, "the dispatcher stopped");
		return;
	}
	if (r->cls == AI_RETRY && job->attempts < ai->p.max_attempts &&
	    (r->retry_after_ms < 0 || r->retry_after_ms <= ai->p.retry_hint_max_ms)) {
		delay = backoff_delay_ms(&ai->backoff, job->attempts, r->retry_after_ms,
		    ai->env.rand, ai->env.ctx);
		job->wake_at = now + delay;
		log_debug("AI job %s: %s said %s (HTTP %ld); again in %lld ms", job->job_id,
		    provider_of(ai, job)->name, r->code, r->http_status, (long long)delay);
		return;
	}
	next_provider(ai, job, now);
}

/* local_failure applies a failure that happened before anything was sent. */
static void
local_failure(struct ai *ai, struct ai_job *job, enum ai_class cls,
    const char *code, const char *message, int64_t now)
{
	ai_result_free(&job->res);
	memset(&job->res, 0, sizeof(job->res));
	job->res.cls = cls;
	job->res.retry_after_ms = -1;
	snprintf(job->res.code, sizeof(job->res.code), "%s", code);
	snprintf(job->res.message, sizeof(job->res.message), "%s", message);
	job->sent_at = now;
	job->sent_wall = now_wall(ai);
	log_call(ai, job, now);
	apply(ai, job, now);
}

/* answered takes the answer (or non-answer) of job's call in flight. */
static void
answered(struct ai *ai, struct ai_job *job, const struct adapter_response *resp)
{
	int64_t	 now = now_mono(ai);

	ai_result_free(&job->res);
	ai_parse_response(provider_of(ai, job), resp, job->variants, &job->res);
	http_call_reset(&job->call);	/* the key goes with the request */
	if (job->res.prompt_tokens > 0)
		job->prompt_tokens += job->res.prompt_tokens;
	if (job->res.completion_tokens > 0)
		job->completion_tokens += job->res.completion_tokens;
	log_call(ai, job, now);
	job_move(ai, job, AI_JOB_READY);	/* apply moves it on */
	apply(ai, job, now);
}

static void
on_answer(struct http_call *call, const struct adapter_response *resp)
{
	struct ai_job	*job = call->owner;

	answered(job->ai, job, resp);
}

/* call_start builds and sends job's next call. */
static void
call_start(struct ai *ai, struct ai_job *job, int64_t now)
{
	struct ai_message	 msgs[AI_MESSAGES_MAX];
	const struct ai_provider *p = provider_of(ai, job);
	char			 err[256];
	size_t			 i;

	if (job->lease_until - now < (int64_t)ai->p.request_timeout_ms + LEASE_MARGIN_MS) {
		give_back(ai, job, 0, "the lease ran out before the next call");
		return;
	}
	for (i = 0; i < job->ntexts; i++) {
		msgs[i].role = i == 0 ? "system" : i % 2 == 1 ? "user" : "assistant";
		msgs[i].text = job->texts[i];
	}
	http_call_reset(&job->call);
	if (ai_build_request(p, msgs, job->ntexts, job->variants, &job->call.req,
	    err, sizeof(err)) == -1) {
		http_call_reset(&job->call);
		local_failure(ai, job, AI_FALLBACK, "request", err, now);
		return;
	}
	job->attempts++;
	job->calls++;
	ai->stats.calls++;
	job->sent_at = now;
	job->sent_wall = now_wall(ai);
	if (ai->http.send(ai->http.ctx, &job->call, err, sizeof(err)) == -1) {
		http_call_reset(&job->call);
		local_failure(ai, job, AI_RETRY, "network", err, now);
		return;
	}
	job_move(ai, job, AI_JOB_HTTP);
}

void
ai_run(struct ai *ai)
{
	struct ai_job	*job, *tmp;
	int64_t		 now;

	if (ai->stopping)
		return;
	now = now_mono(ai);
	TAILQ_FOREACH_SAFE(job, &ai->lists[AI_JOB_READY], link, tmp)
		if (job->wake_at <= now)
			call_start(ai, job, now);
}

static bool
held(const struct ai *ai)
{
	return (ai->record_hold_until > 0 && now_mono(ai) < ai->record_hold_until);
}

int64_t
ai_next_step(const struct ai *ai)
{
	const struct ai_job	*job;
	int64_t			 next = -1;

	if (!ai->stopping) {
		TAILQ_FOREACH(job, &ai->lists[AI_JOB_READY], link)
			if (next == -1 || job->wake_at < next)
				next = job->wake_at;
	}
	if (ai->counts[AI_JOB_DONE] > 0 && held(ai) &&
	    (next == -1 || ai->record_hold_until < next))
		next = ai->record_hold_until;
	return (next);
}

int
ai_busy(const struct ai *ai)
{
	return (ai->counts[AI_JOB_HTTP]);
}

/* -------------------------------------------------------- recording */

bool
ai_recording(const struct ai *ai)
{
	return (ai->counts[AI_JOB_RECORDING] > 0);
}

bool
ai_to_record(const struct ai *ai)
{
	return (ai->counts[AI_JOB_DONE] > 0 && !held(ai) && !ai_recording(ai) &&
	    ai->store.record_up(ai->store.ctx));
}

/* outcome_fill describes job for ai_job_result_batch. */
static void
outcome_fill(const struct ai *ai, const struct ai_job *job,
    struct queue_ai_outcome *o, const char *attempts)
{
	const struct ai_provider	*p = provider_of(ai, job);

	memset(o, 0, sizeof(*o));
	o->org_id = job->org_id;
	o->job_id = job->job_id;
	o->claim = job->claim;
	o->attempts = attempts;
	switch (job->end) {
	case AI_END_SUCCESS:
		o->kind = QUEUE_AI_SUCCESS;
		o->provider = p->name;
		o->model = job->res.model[0] != '\0' ? job->res.model : p->model;
		o->prompt_tokens = job->prompt_tokens;
		o->completion_tokens = job->completion_tokens;
		o->variants = job->res.variants;
		o->nvariants = job->res.nvariants;
		o->final = job->final;
		o->reprompts = job->reprompts;
		break;
	case AI_END_FAILURE:
		o->kind = QUEUE_AI_FAILURE;
		o->error_code = job->error_code;
		o->message = job->message;
		break;
	case AI_END_REQUEUE:
	default:
		o->kind = QUEUE_AI_REQUEUE;
		o->requeue_after_ms = job->requeue_after_ms;
		break;
	}
}

/* back_to_done puts the jobs of the call in flight back to DONE. */
static void
back_to_done(struct ai *ai, bool resent)
{
	struct ai_job	*job;

	while ((job = TAILQ_FIRST(&ai->lists[AI_JOB_RECORDING])) != NULL) {
		job->resent = job->resent || resent;
		job_move(ai, job, AI_JOB_DONE);
	}
}

int
ai_flush(struct ai *ai)
{
	struct queue_ai_outcome	*out;
	struct queue_error	 qerr;
	struct ai_job		*job;
	char			**logs;
	size_t			 n, i;
	int			 rc;

	if (ai->stopping)
		ai_stop(ai);	/* what arrived meanwhile */
	if (!ai_to_record(ai))
		return (0);
	n = (size_t)ai->counts[AI_JOB_DONE];
	if (n > AI_RECORD_MAX)
		n = AI_RECORD_MAX;
	out = calloc(n, sizeof(*out));
	logs = calloc(n, sizeof(*logs));
	if (out == NULL || logs == NULL) {
		free(out);
		free(logs);
		return (0);	/* tried again on the next pass */
	}
	for (i = 0; i < n && (job = TAILQ_FIRST(&ai->lists[AI_JOB_DONE])) != NULL; i++) {
		logs[i] = json_dumps(job->log, JSON_COMPACT);	/* NULL (memory): [] */
		outcome_fill(ai, job, &out[i], logs[i]);
		job_move(ai, job, AI_JOB_RECORDING);	/* in order */
	}
	rc = ai->store.record_send(ai->store.ctx, out, i, &qerr);
	for (n = i, i = 0; i < n; i++)
		free(logs[i]);
	free(logs);
	free(out);
	if (rc == QUEUE_OK)
		return (0);
	back_to_done(ai, false);
	if (rc == QUEUE_REFUSED) {
		log_error("recording %zu AI jobs failed (%s: %s); trying again in 1 s",
		    n, qerr.sqlstate, qerr.message);
		ai->record_hold_until = now_mono(ai) + RECORD_HOLD_MS;
		return (0);
	}
	return (-1);
}

/* variants_json is {"variants":[...]} of r, malloc'd; NULL (memory). */
static char *
variants_json(const struct ai_result *r)
{
	struct buf	 b;
	size_t		 i;
	int		 rc = 0;

	buf_init(&b);
	rc |= buf_append(&b, "{\"variants\":[", 13);
	for (i = 0; i < r->nvariants; i++) {
		if (i > 0)
			rc |= buf_append(&b, ",", 1);
		rc |= buf_append_json_string(&b, r->variants[i], strlen(r->variants[i]));
	}
	rc |= buf_append(&b, "]}", 2);
	if (rc != 0) {
		buf_cleanup(&b);
		return (NULL);
	}
	return (b.data);
}

/*
 * reprompt answers the database's too_long: the assistant's answer and the
 * re-prompt (taken from rec) join the conversation, and the same provider
 * is called again.
 */
static void
reprompt(struct ai *ai, struct ai_job *job, struct queue_ai_recorded *rec)
{
	char	*assistant, *user;

	mark_too_long(job);
	if (ai->stopping) {
		give_back(ai, job, 0, "the dispatcher stopped before the re-prompt");
		return;
	}
	if (job->reprompts >= ai->p.max_reprompts || job->ntexts + 2 > AI_MESSAGES_MAX) {
		/* final was sent true: the database should have trimmed. */
		finish(ai, job, AI_END_FAILURE, "too_long",
		    "the text was still too long after %d re-prompts", job->reprompts);
		return;
	}
	assistant = job->res.raw_text != NULL ? job->res.raw_text : variants_json(&job->res);
	job->res.raw_text = NULL;
	if (rec->reprompt != NULL) {
		user = rec->reprompt;
		rec->reprompt = NULL;
	} else if ((user = malloc(256)) != NULL)
		snprintf(user, 256, "At least one variant is longer than %d %s. Rewrite every "
		    "variant to fit within %d %s, in the same JSON format.",
		    job->max_length, job->unit, job->max_length, job->unit);
	if (assistant == NULL || user == NULL) {
		free(assistant);
		free(user);
		give_back(ai, job, 0, "out of memory");
		return;
	}
	job->texts[job->ntexts++] = assistant;
	job->texts[job->ntexts++] = user;
	ai_result_free(&job->res);
	job->reprompts++;
	job->attempts = 0;
	job->wake_at = now_mono(ai);
	log_debug("AI job %s: too long for %s; re-prompt %d", job->job_id, job->platform,
	    job->reprompts);
	job_move(ai, job, AI_JOB_READY);
}

/* recorded handles what the database said about job's outcome. */
static void
recorded(struct ai *ai, struct ai_job *job, struct queue_ai_recorded *rec)
{
	if (!rec->ok) {
		if (job->resent && (strcmp(rec->sqlstate, "CA002") == 0 ||
		    strstr(rec->message, "not running") != NULL))
			/* Most likely applied by the call whose answer was lost. */
			log_info("AI job %s: outcome already recorded or lease lost (%s)",
			    job->job_id, rec->message);
		else {
			ai->stats.lost++;
			log_warning("AI job %s: claim %d not recorded (%s: %s)", job->job_id,
			    job->claim, rec->sqlstate, rec->message);
		}
		job_free(ai, job);
		return;
	}
	if (strcmp(rec->state, "too_long") == 0) {
		reprompt(ai, job, rec);
		return;
	}
	if (strcmp(rec->state, "succeeded") == 0) {
		ai->stats.done++;
		log_debug("AI job %s: succeeded with %s after %d calls (%ld + %ld tokens)",
		    job->job_id, provider_of(ai, job)->name, job->calls, job->prompt_tokens,
		    job->completion_tokens);
	} else if (strcmp(rec->state, "failed") == 0) {
		ai->stats.failed++;
		log_info("AI job %s: failed (%s): %s", job->job_id,
		    job->end == AI_END_FAILURE ? job->error_code : "stored",
		    job->end == AI_END_FAILURE ? job->message : rec->message);
	} else if (strcmp(rec->state, "queued") == 0)
		ai->stats.requeued++;
	else
		log_warning("AI job %s: recorded as \"%s\"", job->job_id, rec->state);
	job_free(ai, job);
}

void
ai_collect(struct ai *ai)
{
	struct queue_ai_recorded	*res;
	struct queue_error		 qerr;
	struct ai_job			*job;
	size_t				 n = (size_t)ai->counts[AI_JOB_RECORDING], i;
	bool				 ready = false;
	int				 rc;

	if (n == 0 || (res = calloc(n, sizeof(*res))) == NULL)
		return;
	rc = ai->store.record_poll(ai->store.ctx, res, n, &ready, &qerr);
	if (rc == QUEUE_OK && !ready) {
		free(res);
		return;
	}
	if (rc == QUEUE_DOWN)
		back_to_done(ai, true);	/* answer lost: it may have been applied */
	else if (rc == QUEUE_REFUSED) {
		log_error("recording %zu AI jobs failed (%s: %s); trying again in 1 s",
		    n, qerr.sqlstate, qerr.message);
		back_to_done(ai, false);
		ai->record_hold_until = now_mono(ai) + RECORD_HOLD_MS;
	} else {
		ai->record_hold_until = 0;
		for (i = 0; i < n && (job = TAILQ_FIRST(&ai->lists[AI_JOB_RECORDING])) != NULL; i++)
			recorded(ai, job, &res[i]);
		back_to_done(ai, false);	/* none left unless the answer was short */
		queue_ai_recorded_free(res, n);
	}
	free(res);
}

/* ------------------------------------------------------------- stop */

void
ai_stop(struct ai *ai)
{
	struct ai_job	*job, *tmp;

	ai->stopping = true;
	TAILQ_FOREACH_SAFE(job, &ai->lists[AI_JOB_READY], link, tmp)
		give_back(ai, job, 0, "the dispatcher stopped");
	TAILQ_FOREACH_SAFE(job, &ai->lists[AI_JOB_HTTP], link, tmp) {
		ai->http.cancel(ai->http.ctx, &job->call);
		http_call_reset(&job->call);
		give_back(ai, job, 0, "the dispatcher stopped during a call");
	}
}

void
ai_cleanup(struct ai *ai)
{
	struct ai_job	*job;
	int		 phase;

	for (phase = 0; phase < AI_JOB_NPHASES; phase++)
		while ((job = TAILQ_FIRST(&ai->lists[phase])) != NULL) {
			log_warning("AI job %s: abandoned %s; it will be claimed again when "
			    "its lease expires", job->job_id,
			    phase == AI_JOB_DONE || phase == AI_JOB_RECORDING ?
			    "with its outcome unrecorded" : "unfinished");
			job_free(ai, job);
		}
}

void
ai_heartbeat_stats(const struct ai *ai, struct queue_ai_stats *st)
{
	int	 i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < ai->p.nproviders && i < QUEUE_AI_PROVIDERS_MAX; i++)
		st->providers[i] = ai->p.providers[i].name;
	st->nproviders = i;
	st->in_flight = ai->jobs;
	st->jobs_done = ai->stats.done;
	st->jobs_failed = ai->stats.failed;
	st->jobs_requeued = ai->stats.requeued;
	st->calls = ai->stats.calls;
	st->lost = ai->stats.lost;
}
