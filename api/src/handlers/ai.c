/*
 * handlers/ai.c — AI generation over HTTP: asking for a generation, and
 * reading a generation job, optionally long-polling until it ends.
 * Listing jobs and tones are plain SQL rows in routes.c.
 *
 * A generation never runs on an API thread: caas.ai_generate checks the
 * request, the providers (CA008, 503, when no dispatcher reports one) and
 * the quota, and queues a job the dispatcher runs.  The answer is 202 with
 * the job, a Location and "url" to read it at, and "events_url", the
 * organisation's event stream, which carries its ai_job.state changes.
 *
 * The long-poll (GET .../ai/jobs/{job}/?wait=S, 0..60 s) holds no thread:
 * the handler reads the job; if it has not ended it registers a waiter
 * with events.c and suspends the connection (api.h: resp.suspended).
 * events.c's listener resumes it on an ai_job.state notification for this
 * job, once its channel's LISTEN is in effect, at the deadline, or at
 * shutdown; request.c then calls this handler again, which re-reads and
 * either answers (ended, deadline passed, stopping) or waits again.  The
 * waiter is watched before each read, so a change committed after a read
 * always wakes it.  Every answer is 200 with the job as it is then; a
 * client that wants more waits again.  When max_event_streams waiters
 * exist, a new long-poll answers at once.
 *
 * Memory: struct job_wait lives in the request's arena; its waiter is
 * malloc'd by events.c and closed when the handler answers, or by
 * job_wait_free when the request ends some other way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../db.h"
#include "../events.h"
#include "../handlers.h"
#include "../router.h"

#define AI_WAIT_MAX_SEC		60
#define AI_JOB_EVENT		"ai_job.state"
#define AI_CHANNEL_PREFIX	"caas_org_"	/* as caas.events_channel_name */

static const char generate_sql[] = "SELECT caas.ai_generate($1::uuid, $2::jsonb)";
static const char job_sql[] = "SELECT caas.ai_job_get($1::uuid, $2::uuid)";

/* One long-poll's state across the handler's calls (arena-owned). */
struct job_wait {
	struct events_waiter	*w;
	uint64_t		 deadline_ms;	/* events_clock_ms */
};

/* ------------------------------------------------------------ helpers */

/*
 * job_field copies a string field of the job JSON text into the arena, or
 * NULL when the text does not parse or the field is not a string.
 */
static char *
job_field(struct api_request *req, const char *job, const char *name)
{
	json_t	*j = job != NULL ? json_loads(job, 0, NULL) : NULL;
	json_t	*v = json_object_get(j, name);
	char	*out = NULL;

	if (json_is_string(v))
		out = arena_strndup(req->arena, json_string_value(v), json_string_length(v));
	json_decref(j);
	return (out);
}

/* job_finished: the job's state is final (succeeded or failed). */
static bool
job_finished(struct api_request *req, const char *job)
{
	const char	*state = job_field(req, job, "state");

	return (state != NULL && (strcmp(state, "succeeded") == 0 || strcmp(state, "failed") == 0));
}

/* job_url: "/api/v1/organizations/<org>/ai/jobs/<job>/" (arena), or NULL. */
static char *
job_url(struct api_request *req, const char *org, const char *job)
{
	static const char	 fmt[] = "/api/v1/organizations/%s/ai/jobs/%s/";
	size_t			 len = sizeof(fmt) + strlen(org) + strlen(job);
	char			*url;

	if ((url = arena_alloc(req->arena, len)) != NULL)
		snprintf(url, len, fmt, org, job);
	return (url);
}

/* ----------------------------------------------------------- generate */

/*
 * body_org takes org_id out of the body (caas.ai_generate knows no such
 * key) and returns it (arena), or NULL when it is missing or no uuid.
 */
static const char *
body_org(struct api_request *req, json_t *root)
{
	json_t		*v = json_object_get(root, "org_id");
	const char	*org;

	if (!json_is_string(v) || !router_uuid_text(json_string_value(v)))
		return (NULL);
	org = arena_strndup(req->arena, json_string_value(v), API_UUID_LEN);
	json_object_del(root, "org_id");
	return (org);
}

/*
 * accepted answers 202 with the job (row, caas.ai_generate's JSON) plus
 * "url" and "events_url", and Location: url.  Returns 0 or -1 (500 set).
 */
static int
accepted(struct api_request *req, struct api_response *resp, const char *row)
{
	json_t		*j = row != NULL ? json_loads(row, 0, NULL) : NULL;
	const char	*org = json_string_value(json_object_get(j, "org_id"));
	const char	*job = json_string_value(json_object_get(j, "job_id"));
	char		*url = NULL, *events = NULL, *out = NULL;
	size_t		 len;
	int		 rc = -1;

	if (org != NULL && job != NULL && (url = job_url(req, org, job)) != NULL) {
		len = sizeof("/api/v1/events/?org_id=") + strlen(org);
		if ((events = arena_alloc(req->arena, len)) != NULL)
			snprintf(events, len, "/api/v1/events/?org_id=%s", org);
	}
	if (events != NULL && json_object_set_new(j, "url", json_string(url)) == 0 &&
	    json_object_set_new(j, "events_url", json_string(events)) == 0 &&
	    (out = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER)) != NULL) {
		rc = respond_json(resp, 202, out, strlen(out));
		respond_header(resp, "Location", url);
	}
	free(out);
	json_decref(j);
	if (rc == -1 && resp->status != 500)
		respond_error(resp, 500, "internal_error", "The job could not be described.", NULL, NULL);
	return (rc);
}

/*
 * handle_ai_generate serves both generate routes: the organisation from
 * the path (the body goes to caas.ai_generate whole), or from the body's
 * org_id (taken out of it first).
 */
int
handle_ai_generate(struct api_request *req, struct api_response *resp)
{
	json_t		*root;
	const char	*params[2];
	char		*text, *row = NULL;
	int		 rc;

	if (body_object_or_reply(req, resp, &root) == -1)
		return (-1);
	if (req->nparams > 0) {
		params[0] = req->params[0];
		params[1] = req->body;
	} else if ((params[0] = body_org(req, root)) == NULL) {
		json_decref(root);
		return (respond_error(resp, 400, "22023", "org_id must be an organisation id (a uuid)",
		    NULL, "Send {\"org_id\": \"<uuid>\", ...}, or POST to "
		    "/api/v1/organizations/<uuid>/content/generate/."));
	} else {
		text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
		params[1] = text != NULL ? arena_strndup(req->arena, text, strlen(text)) : NULL;
		free(text);
		if (params[1] == NULL) {
			json_decref(root);
			return (respond_error(resp, 500, "internal_error", "Out of memory.", NULL, NULL));
		}
	}
	json_decref(root);
	if ((rc = db_query(req, resp, true, generate_sql, 2, params, &row)) == -1)
		return (-1);
	return (accepted(req, resp, row));
}

/* -------------------------------------------------------------- a job */

/*
 * wait_param reads ?wait=: absent is 0; else 0..AI_WAIT_MAX_SEC in
 * decimal digits.  Returns 0, or -1 with a 400 set.
 */
static int
wait_param(struct api_request *req, struct api_response *resp, int *sec)
{
	const char	*v = request_query(req, "wait");
	size_t		 n;

	*sec = 0;
	if (v == NULL)
		return (0);
	n = strlen(v);
	if (n >= 1 && n <= 2 && strspn(v, "0123456789") == n &&
	    (*sec = atoi(v)) <= AI_WAIT_MAX_SEC)
		return (0);
	return (respond_error(resp, 400, "22023", "wait must be a whole number of seconds, 0..60",
	    NULL, "GET .../ai/jobs/<job>/?wait=30 answers when the job ends, or after 30 s."));
}

static int
read_job(struct api_request *req, struct api_response *resp, char **job)
{
	const char	*params[2] = { req->params[0], req->params[1] };

	return (db_query(req, resp, true, job_sql, 2, params, job));
}

/* answer: 200 with the job as read; the long-poll, if any, is over. */
static int
answer(struct api_response *resp, struct job_wait *jw, const char *job)
{
	if (jw != NULL) {
		events_waiter_close(jw->w);
		jw->w = NULL;
	}
	if (job == NULL)
		return (respond_json(resp, 200, "null", 4));
	return (respond_json(resp, 200, job, strlen(job)));
}

/* job_wait_free: the request ended (api.h's wait_free). */
static void
job_wait_free(void *cls)
{
	struct job_wait	*jw = cls;

	events_waiter_close(jw->w);
	jw->w = NULL;
}

/* lower_hex: c in lower case ('A'..'F' → 'a'..'f'; uuids only). */
static char
lower_hex(char c)
{
	return ((char)(c >= 'A' && c <= 'F' ? c + 32 : c));
}

/*
 * wait_begin registers the long-poll's waiter on the job's organisation
 * channel, matching the job's ai_job.state events.  The ids are the
 * route's {org} and {job} (uuids the router checked; the database read
 * found the job), in lower case as the database spells them.  Returns the
 * state (kept in resp across calls), or NULL when no waiter can be had now
 * (max_event_streams waiting, shutting down): then answer at once.
 */
static struct job_wait *
wait_begin(struct api_request *req, struct api_response *resp, int sec)
{
	char			 channel[sizeof(AI_CHANNEL_PREFIX) + 32];
	const char		*org = req->params[0];
	char			*job_id;
	struct events_match	 m = { AI_JOB_EVENT, "job_id", NULL };
	struct job_wait		*jw;
	enum events_refusal	 why;
	size_t			 i, o;

	if ((job_id = arena_strndup(req->arena, req->params[1], API_UUID_LEN)) == NULL ||
	    (jw = arena_alloc(req->arena, sizeof(*jw))) == NULL)
		return (NULL);
	for (i = 0; job_id[i] != '\0'; i++)
		job_id[i] = lower_hex(job_id[i]);
	m.value = job_id;
	o = strlen(AI_CHANNEL_PREFIX);
	memcpy(channel, AI_CHANNEL_PREFIX, o);
	for (i = 0; org[i] != '\0'; i++)	/* the 32 hex digits, lower case */
		if (org[i] != '-')
			channel[o++] = lower_hex(org[i]);
	channel[o] = '\0';
	jw->deadline_ms = events_clock_ms() + (uint64_t)sec * 1000u;
	if ((jw->w = events_waiter_open(req->conn, channel, &m, jw->deadline_ms, &why)) == NULL)
		return (NULL);
	resp->wait_state = jw;
	resp->wait_free = job_wait_free;
	return (jw);
}

/*
 * wait_loop: watch, read (unless job was read just before a watch that
 * will be followed by a wake-up anyway), answer or suspend.
 */
static int
wait_loop(struct api_request *req, struct api_response *resp, struct job_wait *jw, char *job)
{
	enum events_watch	 ww;

	for (;;) {
		ww = events_waiter_watch(jw->w);
		if ((job == NULL || ww == EVENTS_WATCH_ARMED) && read_job(req, resp, &job) == -1)
			return (-1);
		if (ww == EVENTS_WATCH_DONE || job_finished(req, job))
			return (answer(resp, jw, job));
		if (events_waiter_suspend(jw->w)) {
			resp->suspended = true;
			return (0);
		}
		job = NULL;	/* woken meanwhile: read again */
	}
}

/*
 * handle_ai_job_get: GET .../ai/jobs/{job}/[?wait=S].  Called again after
 * each resume of a suspended long-poll (resp->wait_state set).
 */
int
handle_ai_job_get(struct api_request *req, struct api_response *resp)
{
	struct job_wait	*jw = resp->wait_state;
	char		*job = NULL;
	int		 sec;

	if (jw == NULL) {	/* the first call */
		if (wait_param(req, resp, &sec) == -1 || read_job(req, resp, &job) == -1)
			return (-1);
		if (sec == 0 || job_finished(req, job) ||
		    (jw = wait_begin(req, resp, sec)) == NULL)
			return (answer(resp, NULL, job));
	}
	return (wait_loop(req, resp, jw, job));
}
