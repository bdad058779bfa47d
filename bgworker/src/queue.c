/*
 * queue.c — every SQL statement of the dispatcher (queue.h).
 *
 * Each statement is a call of a caas.dispatch_* or caas.ai_* function
 * (SECURITY DEFINER, executable by caas_dispatcher), run in its own implicit
 * transaction: nothing here opens a transaction that could outlive the
 * statement, so no transaction is ever open across an HTTP call.
 * Statements are prepared once per connection, lazily, so a function an
 * older extension lacks only fails the feature that needs it (42883).
 * Claims and recordings are asynchronous (sent, answered later, one call
 * in flight per connection), so the loop keeps serving HTTP meanwhile;
 * the rest waits for its answer.
 * Every value travels as a parameter; bytea (sealed tokens) in binary.
 *
 * Rows come back as jsonb text and are parsed with jansson; the structs
 * handed to callbacks borrow the parsed strings for the callback's
 * duration only.
 *
 * Notifications that arrive with a result are collected after every
 * statement (listen_collect), so none waits in libpq's buffer unnoticed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "buf.h"
#include "listen.h"
#include "log.h"
#include "queue.h"

enum stmt {
	ST_CLAIM,
	ST_NEXT_DUE,
	ST_RECORD_BATCH,
	ST_PROGRESS,
	ST_SWEEP,
	ST_HEARTBEAT,
	ST_REFRESH_CLAIM,
	ST_REFRESH_ACCOUNT,
	ST_TOKEN_STORE,
	ST_TOKEN_FAILED,
	ST_AI_CLAIM,
	ST_AI_NEXT_DUE,
	ST_AI_RESULT_BATCH,
	ST_COUNT
};

static const struct {
	const char	*name;
	const char	*sql;
	int		 nparams;
} stmts[ST_COUNT] = {
	[ST_CLAIM] = { "caas_d_claim",
	    "SELECT r::text FROM caas.dispatch_claim($1, $2::int, $3::int, $4::int) AS r", 4 },
	[ST_NEXT_DUE] = { "caas_d_next_due",
	    "SELECT ceil(extract(epoch FROM caas.dispatch_next_due() - clock_timestamp()) * 1000000)::bigint", 0 },
	[ST_RECORD_BATCH] = { "caas_d_record",
	    "SELECT caas.dispatch_record_batch($1, $2::jsonb)::text", 2 },
	[ST_PROGRESS] = { "caas_d_progress",
	    "SELECT caas.dispatch_progress($1, $2::uuid, $3::uuid, $4::int, $5, $6::int)", 6 },
	[ST_SWEEP] = { "caas_d_sweep", "SELECT caas.dispatch_sweep()", 0 },
	[ST_HEARTBEAT] = { "caas_d_heartbeat",
	    "SELECT caas.dispatch_heartbeat($1, $2, $3::int, $4::int, $5::jsonb)", 5 },
	[ST_REFRESH_CLAIM] = { "caas_d_refresh_claim",
	    "SELECT r::text FROM caas.dispatch_refresh_claim($1, $2::int, $3::int, $4::int) AS r", 4 },
	[ST_REFRESH_ACCOUNT] = { "caas_d_refresh_account",
	    "SELECT caas.dispatch_refresh_account($1, $2::uuid, $3::uuid, $4::int)::text", 4 },
	[ST_TOKEN_STORE] = { "caas_d_token_store",
	    "SELECT caas.dispatch_token_store($1, $2::uuid, $3::uuid, $4::bytea, $5::bytea, $6, "
	    "$7::timestamptz, $8::timestamptz)", 8 },
	[ST_TOKEN_FAILED] = { "caas_d_token_failed",
	    "SELECT caas.dispatch_token_failed($1, $2::uuid, $3::uuid, $4::boolean, $5)", 5 },
	[ST_AI_CLAIM] = { "caas_d_ai_claim",
	    "SELECT r::text FROM caas.ai_claim($1, $2::int, $3::int) AS r", 3 },
	[ST_AI_NEXT_DUE] = { "caas_d_ai_next_due",
	    "SELECT ceil(caas.ai_next_due() * 1000)::bigint", 0 },
	[ST_AI_RESULT_BATCH] = { "caas_d_ai_result",
	    "SELECT caas.ai_job_result_batch($1, $2::jsonb)::text", 2 },
};

void
queue_init(struct queue *q, struct listen_conn *conn, const char *name)
{
	memset(q, 0, sizeof(*q));
	q->conn = conn;
	q->name = name;
}

/*
 * failed turns a bad result into the return convention: QUEUE_DOWN (and
 * the connection dropped) when the connection broke, else QUEUE_REFUSED
 * with the SQLSTATE and message.  Clears r.
 */
static int
failed(struct queue *q, PGconn *pg, PGresult *r, struct queue_error *qerr)
{
	const char	*state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char	*msg = r != NULL ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	snprintf(qerr->sqlstate, sizeof(qerr->sqlstate), "%s", state != NULL ? state : "08006");
	snprintf(qerr->message, sizeof(qerr->message), "%s",
	    msg != NULL ? msg : PQerrorMessage(pg));
	qerr->message[strcspn(qerr->message, "\n")] = '\0';
	PQclear(r);
	if (PQstatus(pg) != CONNECTION_OK || state == NULL || strncmp(state, "08", 2) == 0 ||
	    strcmp(state, "57P01") == 0 || strcmp(state, "57P02") == 0 ||
	    strcmp(state, "57P03") == 0) {
		listen_conn_lost(q->conn, qerr->message);
		return (QUEUE_DOWN);
	}
	return (QUEUE_REFUSED);
}

/* prepare_once prepares s on pg unless done.  Returns QUEUE_OK or failed(). */
static int
prepare_once(struct queue *q, PGconn *pg, enum stmt s, struct queue_error *qerr)
{
	PGresult	*r;

	if (q->epoch != listen_conn_epoch(q->conn)) {
		q->epoch = listen_conn_epoch(q->conn);
		q->prepared = 0;
	}
	if ((q->prepared & (1u << s)) != 0)
		return (QUEUE_OK);
	r = PQprepare(pg, stmts[s].name, stmts[s].sql, stmts[s].nparams, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		return (failed(q, pg, r, qerr));
	PQclear(r);
	q->prepared |= 1u << s;
	return (QUEUE_OK);
}

/*
 * run executes statement s with params; on QUEUE_OK *out holds a result
 * with tuples or a command status (the caller clears it).
 */
static int
run(struct queue *q, enum stmt s, const char *const *values, const int *lengths,
    const int *formats, PGresult **out, struct queue_error *qerr)
{
	PGconn		*pg;
	PGresult	*r;
	ExecStatusType	 st;
	int		 rc;

	*out = NULL;
	memset(qerr, 0, sizeof(*qerr));
	if ((pg = listen_conn_get(q->conn)) == NULL) {
		snprintf(qerr->sqlstate, sizeof(qerr->sqlstate), "08006");
		snprintf(qerr->message, sizeof(qerr->message), "not connected");
		return (QUEUE_DOWN);
	}
	if (q->busy) {
		/* A caller's bug: the answer of the call in flight would be lost. */
		snprintf(qerr->sqlstate, sizeof(qerr->sqlstate), "55000");
		snprintf(qerr->message, sizeof(qerr->message), "the connection is busy with a claim");
		return (QUEUE_REFUSED);
	}
	if ((rc = prepare_once(q, pg, s, qerr)) != QUEUE_OK)
		return (rc);
	r = PQexecPrepared(pg, stmts[s].name, stmts[s].nparams, values, lengths,
	    formats, 0);
	listen_collect(q->conn);
	st = PQresultStatus(r);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
		return (failed(q, pg, r, qerr));
	*out = r;
	return (QUEUE_OK);
}

/*
 * send_async sends statement s without waiting for its answer; one call in
 * flight per struct queue.  Returns QUEUE_OK or failed().
 */
static int
send_async(struct queue *q, enum stmt s, const char *const *values,
    struct queue_error *qerr)
{
	PGconn	*pg;
	int	 rc;

	memset(qerr, 0, sizeof(*qerr));
	if ((pg = listen_conn_get(q->conn)) == NULL) {
		snprintf(qerr->sqlstate, sizeof(qerr->sqlstate), "08006");
		snprintf(qerr->message, sizeof(qerr->message), "not connected");
		return (QUEUE_DOWN);
	}
	/*
	 * An idle connection whose server went away looks fine until read:
	 * read first, so nothing is sent into a dead socket and then taken
	 * for "answer lost, maybe done".
	 */
	if (PQconsumeInput(pg) == 0 || PQconsumeInput(pg) == 0 ||	/* message, then EOF */
	    PQstatus(pg) != CONNECTION_OK)
		return (failed(q, pg, NULL, qerr));
	listen_collect(q->conn);
	if ((rc = prepare_once(q, pg, s, qerr)) != QUEUE_OK)
		return (rc);
	if (!PQsendQueryPrepared(pg, stmts[s].name, stmts[s].nparams, values, NULL, NULL, 0))
		return (failed(q, pg, NULL, qerr));
	q->busy = true;
	q->busy_epoch = listen_conn_epoch(q->conn);
	return (QUEUE_OK);
}

/*
 * poll_async reads the answer of the call in flight: QUEUE_OK with *out
 * NULL while it is not in, with *out the result (caller clears) once it
 * is; QUEUE_DOWN when the connection broke (answer lost), QUEUE_REFUSED.
 */
static int
poll_async(struct queue *q, PGresult **out, struct queue_error *qerr)
{
	PGconn		*pg = listen_conn_get(q->conn);
	PGresult	*r, *extra;

	*out = NULL;
	memset(qerr, 0, sizeof(*qerr));
	if (!q->busy || pg == NULL || q->busy_epoch != listen_conn_epoch(q->conn)) {
		q->busy = false;
		snprintf(qerr->sqlstate, sizeof(qerr->sqlstate), "08006");
		snprintf(qerr->message, sizeof(qerr->message), "connection lost before the answer");
		return (QUEUE_DOWN);
	}
	if (PQconsumeInput(pg) == 0) {
		q->busy = false;
		return (failed(q, pg, NULL, qerr));
	}
	listen_collect(q->conn);
	if (PQisBusy(pg))
		return (QUEUE_OK);
	r = PQgetResult(pg);
	while ((extra = PQgetResult(pg)) != NULL)
		PQclear(extra);
	q->busy = false;
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return (failed(q, pg, r, qerr));
	*out = r;
	return (QUEUE_OK);
}

/*
 * send_batch sends statement s with (this dispatcher's name, the JSON
 * array in b) asynchronously, or refuses when building b ran out of memory
 * (built == -1).  b is freed either way.
 */
static int
send_batch(struct queue *q, enum stmt s, struct buf *b, int built,
    struct queue_error *qerr)
{
	const char	*values[2];
	int		 rc;

	if (built == -1) {
		buf_cleanup(b);
		memset(qerr, 0, sizeof(*qerr));
		snprintf(qerr->sqlstate, sizeof(qerr->sqlstate), "53200");
		snprintf(qerr->message, sizeof(qerr->message), "out of memory");
		return (QUEUE_REFUSED);
	}
	values[0] = q->name;
	values[1] = b->data;
	rc = send_async(q, s, values, qerr);
	buf_cleanup(b);
	return (rc);
}

/*
 * poll_batch: poll_async for a batch call whose one row is a JSON array;
 * *json and *len point into *r (the caller clears it) once it is in, at
 * "[]" when the row is missing.
 */
static int
poll_batch(struct queue *q, PGresult **r, const char **json, size_t *len,
    bool *ready, struct queue_error *qerr)
{
	int	 rc;

	*ready = false;
	if ((rc = poll_async(q, r, qerr)) != QUEUE_OK || *r == NULL)
		return (rc);
	*json = PQntuples(*r) == 1 ? PQgetvalue(*r, 0, 0) : "[]";
	*len = PQntuples(*r) == 1 ? (size_t)PQgetlength(*r, 0, 0) : 2;
	*ready = true;
	return (QUEUE_OK);
}

static const char *
jstr(json_t *o, const char *key)
{
	json_t	*v = json_object_get(o, key);

	return (json_is_string(v) ? json_string_value(v) : NULL);
}

static int
jint(json_t *o, const char *key, int def)
{
	json_t	*v = json_object_get(o, key);

	return (json_is_integer(v) ? (int)json_integer_value(v) : def);
}

/* post_from_json fills row from one claim row; false when ids are missing. */
static bool
post_from_json(json_t *o, struct queue_post *row)
{
	json_t	*media, *m, *v;
	size_t	 i;

	memset(row, 0, sizeof(*row));
	row->org_id = jstr(o, "org_id");
	row->post_id = jstr(o, "post_id");
	row->account_id = jstr(o, "account_id");
	row->platform = jstr(o, "platform");
	row->external_id = jstr(o, "external_id");
	if (row->org_id == NULL || row->post_id == NULL || row->account_id == NULL ||
	    row->platform == NULL)
		return (false);
	if (row->external_id == NULL)
		row->external_id = "";
	row->handle = jstr(o, "handle") != NULL ? jstr(o, "handle") : "";
	row->account_status = jstr(o, "account_status") != NULL ?
	    jstr(o, "account_status") : "connected";
	row->token_key_id = jstr(o, "token_key_id");
	row->access_token_enc = jstr(o, "access_token_enc");
	row->refresh_token_enc = jstr(o, "refresh_token_enc");
	row->text = jstr(o, "text") != NULL ? jstr(o, "text") : "";
	row->remote_ref = jstr(o, "remote_ref");
	row->attempt = jint(o, "attempt", 1);
	row->attempts = jint(o, "attempts", 1);
	row->max_attempts = jint(o, "max_attempts", 1);
	v = json_object_get(o, "start_in_us");
	row->start_in_us = json_is_integer(v) && json_integer_value(v) > 0 ?
	    (int64_t)json_integer_value(v) : 0;
	media = json_object_get(o, "media_urls");
	json_array_foreach(media, i, m) {
		if (row->n_media == ADAPTER_MAX_MEDIA)
			break;
		if (json_is_string(m))
			row->media_urls[row->n_media++] = json_string_value(m);
	}
	return (true);
}

static bool
account_from_json(json_t *o, struct queue_account *row)
{
	memset(row, 0, sizeof(*row));
	row->org_id = jstr(o, "org_id");
	row->account_id = jstr(o, "account_id");
	row->platform = jstr(o, "platform");
	row->external_id = jstr(o, "external_id");
	row->token_key_id = jstr(o, "token_key_id");
	row->access_token_enc = jstr(o, "access_token_enc");
	row->refresh_token_enc = jstr(o, "refresh_token_enc");
	return (row->org_id != NULL && row->account_id != NULL && row->platform != NULL);
}

/* parse_cell parses column 0 of row i as JSON; NULL when it is not. */
static json_t *
parse_cell(PGresult *r, int i)
{
	json_error_t	 jerr;

	if (PQgetisnull(r, i, 0))
		return (NULL);
	return (json_loadb(PQgetvalue(r, i, 0), (size_t)PQgetlength(r, i, 0), 0, &jerr));
}

static void
int_param(char *out, size_t len, long v)
{
	snprintf(out, len, "%ld", v);
}

int
queue_claim_send(struct queue *q, int batch, int lease_seconds, int ahead_ms,
    struct queue_error *qerr)
{
	char		 b[16], l[16], a[16];
	const char	*values[4] = { q->name, b, l, a };

	int_param(b, sizeof(b), batch);
	int_param(l, sizeof(l), lease_seconds);
	int_param(a, sizeof(a), ahead_ms);
	return (send_async(q, ST_CLAIM, values, qerr));
}

int
queue_claim_poll(struct queue *q, queue_post_fn fn, void *arg, bool *ready,
    int *nrows, struct queue_error *qerr)
{
	PGresult		*r;
	json_t			*o;
	struct queue_post	 row;
	int			 rc, i, n;

	*ready = false;
	*nrows = 0;
	if ((rc = poll_async(q, &r, qerr)) != QUEUE_OK || r == NULL)
		return (rc);
	n = PQntuples(r);
	for (i = 0; i < n; i++) {
		o = parse_cell(r, i);
		if (o != NULL && post_from_json(o, &row)) {
			if (fn(arg, &row) == -1)
				log_error("post %s: claimed but dropped (out of memory); its lease will expire",
				    row.post_id);
		} else
			log_error("claim returned a row without ids; its lease will expire");
		json_decref(o);
	}
	*nrows = n;
	*ready = true;
	PQclear(r);
	return (QUEUE_OK);
}

/*
 * next_due runs statement s, whose one value is an integer delay (its unit
 * is the statement's) or NULL when nothing waits.
 */
static int
next_due(struct queue *q, enum stmt s, int64_t *delay, bool *none,
    struct queue_error *qerr)
{
	PGresult	*r;
	int		 rc;

	*none = true;
	*delay = 0;
	if ((rc = run(q, s, NULL, NULL, NULL, &r, qerr)) != QUEUE_OK)
		return (rc);
	if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
		*none = false;
		*delay = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	}
	PQclear(r);
	return (QUEUE_OK);
}

int
queue_next_due(struct queue *q, int64_t *delay_us, bool *none,
    struct queue_error *qerr)
{
	return (next_due(q, ST_NEXT_DUE, delay_us, none, qerr));
}

void
queue_format_instant(int64_t ms, char out[32])
{
	time_t		 s = (time_t)(ms / 1000);
	struct tm	 tm;
	size_t		 n;

	gmtime_r(&s, &tm);
	n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

void
queue_text_clean(char *s)
{
	unsigned char	*p = (unsigned char *)s;
	size_t		 n;

	while (*p != '\0') {
		if (*p < 0x20 || *p == 0x7f) {
			*p++ = ' ';
			continue;
		}
		if (*p < 0x80) {
			p++;
			continue;
		}
		n = *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : *p >= 0xc0 ? 2 : 1;
		if (n > 1 && strnlen((char *)p, n) == n && buf_utf8_valid(p, n))
			p += n;
		else
			*p++ = '?';
	}
}

/* outcomes_json writes the outcomes array of dispatch_record_batch. */
static int
outcomes_json(struct buf *b, const struct queue_outcome *out, size_t n)
{
	const struct queue_outcome	*o;
	char				 when[32];
	size_t				 i;
	int				 rc = 0;

	rc |= buf_append(b, "[", 1);
	for (i = 0; i < n; i++) {
		o = &out[i];
		rc |= buf_appendf(b, "%s{\"org_id\":\"%s\",\"post_id\":\"%s\",\"attempt\":%d,\"outcome\":\"%s\"",
		    i > 0 ? "," : "", o->org_id, o->post_id, o->attempt, o->outcome);
		if (o->http_status > 0)
			rc |= buf_appendf(b, ",\"http_status\":%ld", o->http_status);
		if (o->error_message != NULL && o->error_message[0] != '\0') {
			rc |= buf_append(b, ",\"error_message\":", 17);
			rc |= buf_append_json_string(b, o->error_message, strlen(o->error_message));
		}
		if (o->remote_id != NULL && o->remote_id[0] != '\0') {
			rc |= buf_append(b, ",\"remote_id\":", 13);
			rc |= buf_append_json_string(b, o->remote_id, strlen(o->remote_id));
		}
		if (o->remote_url != NULL && o->remote_url[0] != '\0') {
			rc |= buf_append(b, ",\"remote_url\":", 14);
			rc |= buf_append_json_string(b, o->remote_url, strlen(o->remote_url));
		}
		if (o->retry_at_ms > 0) {
			queue_format_instant(o->retry_at_ms, when);
			rc |= buf_appendf(b, ",\"retry_at\":\"%s\"", when);
		}
		rc |= buf_append(b, "}", 1);
	}
	rc |= buf_append(b, "]", 1);
	return (rc == 0 ? 0 : -1);
}

/* results_read fills res from dispatch_record_batch's answer. */
static void
results_read(const char *text, size_t len, struct queue_recorded *res, size_t n)
{
	json_t		*a, *e;
	json_error_t	 jerr;
	const char	*s;
	size_t		 i;

	for (i = 0; i < n; i++) {
		res[i].ok = false;
		snprintf(res[i].sqlstate, sizeof(res[i].sqlstate), "XX000");
		snprintf(res[i].message, sizeof(res[i].message), "no result for this outcome");
	}
	a = json_loadb(text, len, 0, &jerr);
	for (i = 0; i < n && i < json_array_size(a); i++) {
		e = json_array_get(a, i);
		res[i].ok = json_is_true(json_object_get(e, "ok"));
		snprintf(res[i].state, sizeof(res[i].state), "%s",
		    (s = jstr(e, "state")) != NULL ? s : "");
		snprintf(res[i].sqlstate, sizeof(res[i].sqlstate), "%s",
		    (s = jstr(e, "sqlstate")) != NULL ? s : "");
		snprintf(res[i].message, sizeof(res[i].message), "%s",
		    (s = jstr(e, "message")) != NULL ? s : "");
	}
	json_decref(a);
}

int
queue_record_send(struct queue *q, const struct queue_outcome *out, size_t n,
    struct queue_error *qerr)
{
	struct buf	 b;

	buf_init(&b);
	return (send_batch(q, ST_RECORD_BATCH, &b, outcomes_json(&b, out, n), qerr));
}

int
queue_record_poll(struct queue *q, struct queue_recorded *res, size_t n,
    bool *ready, struct queue_error *qerr)
{
	PGresult	*r;
	const char	*json;
	size_t		 len;
	int		 rc;

	if ((rc = poll_batch(q, &r, &json, &len, ready, qerr)) != QUEUE_OK || !*ready)
		return (rc);
	results_read(json, len, res, n);
	PQclear(r);
	return (QUEUE_OK);
}

int
queue_progress(struct queue *q, const char *org_id, const char *post_id,
    int attempt, const char *remote_ref, int lease_seconds,
    struct queue_error *qerr)
{
	PGresult	*r;
	char		 a[16], l[16];
	const char	*values[6] = { q->name, org_id, post_id, a, remote_ref, l };
	int		 rc;

	int_param(a, sizeof(a), attempt);
	int_param(l, sizeof(l), lease_seconds);
	if ((rc = run(q, ST_PROGRESS, values, NULL, NULL, &r, qerr)) == QUEUE_OK)
		PQclear(r);
	return (rc);
}

int
queue_sweep(struct queue *q, int *swept, struct queue_error *qerr)
{
	PGresult	*r;
	int		 rc;

	*swept = 0;
	if ((rc = run(q, ST_SWEEP, NULL, NULL, NULL, &r, qerr)) != QUEUE_OK)
		return (rc);
	if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
		*swept = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	return (QUEUE_OK);
}

int
queue_stats_json(struct buf *b, const struct queue_stats *st,
    const struct queue_ai_stats *ai)
{
	int	 i, rc = 0;

	rc |= buf_appendf(b,
	    "{\"claimed\":%llu,\"published\":%llu,\"retried\":%llu,\"failed\":%llu,"
	    "\"unknown\":%llu,\"needs_reauth\":%llu,\"refreshed\":%llu,\"lost\":%llu",
	    (unsigned long long)st->claimed, (unsigned long long)st->published,
	    (unsigned long long)st->retried, (unsigned long long)st->failed,
	    (unsigned long long)st->unknown, (unsigned long long)st->needs_reauth,
	    (unsigned long long)st->refreshed, (unsigned long long)st->lost);
	if (ai != NULL) {
		rc |= buf_append(b, ",\"ai_providers\":[", 17);
		for (i = 0; i < ai->nproviders && i < QUEUE_AI_PROVIDERS_MAX; i++) {
			if (i > 0)
				rc |= buf_append(b, ",", 1);
			rc |= buf_append_json_string(b, ai->providers[i], strlen(ai->providers[i]));
		}
		rc |= buf_appendf(b, "],\"ai_in_flight\":%d,\"ai_jobs_done\":%llu,"
		    "\"ai_jobs_failed\":%llu,\"ai_jobs_requeued\":%llu,\"ai_calls\":%llu,"
		    "\"ai_lost\":%llu", ai->in_flight, (unsigned long long)ai->jobs_done,
		    (unsigned long long)ai->jobs_failed, (unsigned long long)ai->jobs_requeued,
		    (unsigned long long)ai->calls, (unsigned long long)ai->lost);
	}
	rc |= buf_append(b, "}", 1);
	return (rc == 0 ? 0 : -1);
}

int
queue_heartbeat(struct queue *q, const char *kind, int pid, int in_flight,
    const struct queue_stats *st, const struct queue_ai_stats *ai,
    struct queue_error *qerr)
{
	PGresult	*r;
	struct buf	 stats;
	char		 p[16], f[16];
	const char	*values[5] = { q->name, kind, p, f, NULL };
	int		 rc;

	int_param(p, sizeof(p), pid);
	int_param(f, sizeof(f), in_flight);
	buf_init(&stats);
	if (queue_stats_json(&stats, st, ai) == -1) {
		buf_cleanup(&stats);
		memset(qerr, 0, sizeof(*qerr));
		snprintf(qerr->sqlstate, sizeof(qerr->sqlstate), "53200");
		snprintf(qerr->message, sizeof(qerr->message), "out of memory");
		return (QUEUE_REFUSED);
	}
	values[4] = stats.data;
	if ((rc = run(q, ST_HEARTBEAT, values, NULL, NULL, &r, qerr)) == QUEUE_OK)
		PQclear(r);
	buf_cleanup(&stats);
	return (rc);
}

/* accounts hands each row of r (jsonb text) to fn. */
static int
accounts(PGresult *r, queue_account_fn fn, void *arg)
{
	struct queue_account	 row;
	json_t			*o;
	int			 i, n = 0;

	for (i = 0; i < PQntuples(r); i++) {
		if ((o = parse_cell(r, i)) == NULL)
			continue;
		if (account_from_json(o, &row)) {
			fn(arg, &row);
			n++;
		}
		json_decref(o);
	}
	return (n);
}

int
queue_refresh_claim(struct queue *q, int batch, int horizon_seconds,
    int lease_seconds, queue_account_fn fn, void *arg, int *nrows,
    struct queue_error *qerr)
{
	PGresult	*r;
	char		 b[16], h[16], l[16];
	const char	*values[4] = { q->name, b, h, l };
	int		 rc;

	*nrows = 0;
	int_param(b, sizeof(b), batch);
	int_param(h, sizeof(h), horizon_seconds);
	int_param(l, sizeof(l), lease_seconds);
	if ((rc = run(q, ST_REFRESH_CLAIM, values, NULL, NULL, &r, qerr)) != QUEUE_OK)
		return (rc);
	*nrows = accounts(r, fn, arg);
	PQclear(r);
	return (QUEUE_OK);
}

int
queue_refresh_account(struct queue *q, const char *org_id,
    const char *account_id, int lease_seconds, queue_account_fn fn, void *arg,
    bool *found, struct queue_error *qerr)
{
	PGresult	*r;
	char		 l[16];
	const char	*values[4] = { q->name, org_id, account_id, l };
	int		 rc;

	*found = false;
	int_param(l, sizeof(l), lease_seconds);
	if ((rc = run(q, ST_REFRESH_ACCOUNT, values, NULL, NULL, &r, qerr)) != QUEUE_OK)
		return (rc);
	*found = accounts(r, fn, arg) > 0;
	PQclear(r);
	return (QUEUE_OK);
}

int
queue_token_store(struct queue *q, const char *org_id, const char *account_id,
    const uint8_t *access_enc, size_t access_len, const uint8_t *refresh_enc,
    size_t refresh_len, const char *key_id, int64_t expires_at_ms,
    int64_t refresh_expires_at_ms, struct queue_error *qerr)
{
	PGresult	*r;
	char		 e[32], re[32];
	const char	*values[8];
	int		 lengths[8] = { 0 }, formats[8] = { 0 };
	int		 rc;

	if (expires_at_ms > 0)
		queue_format_instant(expires_at_ms, e);
	if (refresh_expires_at_ms > 0)
		queue_format_instant(refresh_expires_at_ms, re);
	values[0] = q->name;
	values[1] = org_id;
	values[2] = account_id;
	values[3] = (const char *)access_enc;
	lengths[3] = (int)access_len;
	formats[3] = 1;
	values[4] = (const char *)refresh_enc;
	lengths[4] = (int)refresh_len;
	formats[4] = 1;
	values[5] = key_id;
	values[6] = expires_at_ms > 0 ? e : NULL;
	values[7] = refresh_expires_at_ms > 0 ? re : NULL;
	if ((rc = run(q, ST_TOKEN_STORE, values, lengths, formats, &r, qerr)) == QUEUE_OK)
		PQclear(r);
	return (rc);
}

int
queue_token_failed(struct queue *q, const char *org_id, const char *account_id,
    bool reauth, const char *message, struct queue_error *qerr)
{
	PGresult	*r;
	const char	*values[5] = { q->name, org_id, account_id, reauth ? "true" : "false", message };
	int		 rc;

	if ((rc = run(q, ST_TOKEN_FAILED, values, NULL, NULL, &r, qerr)) == QUEUE_OK)
		PQclear(r);
	return (rc);
}

/* ---------------------------------------------------------- AI jobs */

static bool
ai_job_from_json(json_t *o, struct queue_ai_job *row)
{
	memset(row, 0, sizeof(*row));
	row->org_id = jstr(o, "org_id");
	row->job_id = jstr(o, "job_id");
	row->claim = jint(o, "claim", 0);
	row->platform = jstr(o, "platform") != NULL ? jstr(o, "platform") : "";
	row->max_length = jint(o, "max_length", 0);
	row->unit = jstr(o, "unit") != NULL ? jstr(o, "unit") : "characters";
	row->variants = jint(o, "variants", 1);
	row->language = jstr(o, "language") != NULL ? jstr(o, "language") : "en";
	row->system_prompt = jstr(o, "system_prompt");
	row->user_prompt = jstr(o, "user_prompt");
	return (row->org_id != NULL && row->job_id != NULL);
}

int
queue_ai_claim(struct queue *q, int batch, int lease_seconds,
    queue_ai_job_fn fn, void *arg, int *nrows, struct queue_error *qerr)
{
	PGresult		*r;
	json_t			*o;
	struct queue_ai_job	 row;
	char			 b[16], l[16];
	const char		*values[3] = { q->name, b, l };
	int			 rc, i;

	*nrows = 0;
	int_param(b, sizeof(b), batch);
	int_param(l, sizeof(l), lease_seconds);
	if ((rc = run(q, ST_AI_CLAIM, values, NULL, NULL, &r, qerr)) != QUEUE_OK)
		return (rc);
	for (i = 0; i < PQntuples(r); i++) {
		o = parse_cell(r, i);
		if (o != NULL && ai_job_from_json(o, &row)) {
			if (fn(arg, &row) == -1)
				log_error("AI job %s: claimed but dropped; its lease will expire",
				    row.job_id);
		} else
			log_error("ai_claim returned a row without ids; its lease will expire");
		json_decref(o);
	}
	*nrows = PQntuples(r);
	PQclear(r);
	return (QUEUE_OK);
}

int
queue_ai_next_due(struct queue *q, int64_t *delay_ms, bool *none,
    struct queue_error *qerr)
{
	return (next_due(q, ST_AI_NEXT_DUE, delay_ms, none, qerr));
}

/* json_field appends ,"key":"value" (value escaped) unless value is NULL. */
static int
json_field(struct buf *b, const char *key, const char *value)
{
	if (value == NULL)
		return (0);
	if (buf_appendf(b, ",\"%s\":", key) == -1)
		return (-1);
	return (buf_append_json_string(b, value, strlen(value)));
}

/* ai_outcome_json appends one element of ai_job_result_batch's input. */
static int
ai_outcome_json(struct buf *b, const struct queue_ai_outcome *o)
{
	size_t	 i;
	int	 rc = 0;

	rc |= buf_append(b, "{", 1);
	rc |= buf_append(b, "\"org_id\":", 9);
	rc |= buf_append_json_string(b, o->org_id, strlen(o->org_id));
	rc |= json_field(b, "job_id", o->job_id);
	rc |= buf_appendf(b, ",\"claim\":%d", o->claim);
	switch (o->kind) {
	case QUEUE_AI_SUCCESS:
		rc |= buf_append(b, ",\"ok\":true", 10);
		rc |= json_field(b, "provider", o->provider);
		rc |= json_field(b, "model", o->model);
		rc |= buf_appendf(b, ",\"prompt_tokens\":%ld,\"completion_tokens\":%ld,\"variants\":[",
		    o->prompt_tokens, o->completion_tokens);
		for (i = 0; i < o->nvariants; i++) {
			if (i > 0)
				rc |= buf_append(b, ",", 1);
			rc |= buf_append_json_string(b, o->variants[i], strlen(o->variants[i]));
		}
		rc |= buf_appendf(b, "],\"final\":%s,\"reprompts\":%d",
		    o->final ? "true" : "false", o->reprompts);
		break;
	case QUEUE_AI_FAILURE:
		rc |= buf_append(b, ",\"ok\":false", 11);
		rc |= json_field(b, "error_code", o->error_code != NULL ? o->error_code : "failed");
		rc |= json_field(b, "message", o->message != NULL ? o->message : "");
		break;
	case QUEUE_AI_REQUEUE:
	default:
		rc |= buf_appendf(b, ",\"ok\":false,\"requeue_after_ms\":%lld",
		    (long long)(o->requeue_after_ms > 0 ? o->requeue_after_ms : 0));
		break;
	}
	rc |= buf_append(b, ",\"attempts\":", 12);
	if (o->attempts != NULL && o->attempts[0] != '\0')
		rc |= buf_append(b, o->attempts, strlen(o->attempts));
	else
		rc |= buf_append(b, "[]", 2);
	rc |= buf_append(b, "}", 1);
	return (rc == 0 ? 0 : -1);
}

int
queue_ai_outcomes_json(struct buf *b, const struct queue_ai_outcome *out,
    size_t n)
{
	size_t	 i;
	int	 rc = 0;

	rc |= buf_append(b, "[", 1);
	for (i = 0; i < n; i++) {
		if (i > 0)
			rc |= buf_append(b, ",", 1);
		rc |= ai_outcome_json(b, &out[i]);
	}
	rc |= buf_append(b, "]", 1);
	return (rc == 0 ? 0 : -1);
}

void
queue_ai_results_read(const char *text, size_t len,
    struct queue_ai_recorded *res, size_t n)
{
	json_t		*a, *e;
	json_error_t	 jerr;
	const char	*s;
	size_t		 i;

	for (i = 0; i < n; i++) {
		memset(&res[i], 0, sizeof(res[i]));
		snprintf(res[i].sqlstate, sizeof(res[i].sqlstate), "XX000");
		snprintf(res[i].message, sizeof(res[i].message), "no result for this job");
	}
	a = json_loadb(text, len, 0, &jerr);
	for (i = 0; i < n && i < json_array_size(a); i++) {
		e = json_array_get(a, i);
		res[i].ok = json_is_true(json_object_get(e, "ok"));
		snprintf(res[i].state, sizeof(res[i].state), "%s",
		    (s = jstr(e, "state")) != NULL ? s : "");
		snprintf(res[i].sqlstate, sizeof(res[i].sqlstate), "%s",
		    (s = jstr(e, "sqlstate")) != NULL ? s : "");
		snprintf(res[i].message, sizeof(res[i].message), "%s",
		    (s = jstr(e, "message")) != NULL ? s : "");
		if ((s = jstr(e, "reprompt")) != NULL)
			res[i].reprompt = strdup(s);	/* NULL (memory): a generic one is used */
	}
	json_decref(a);
}

void
queue_ai_recorded_free(struct queue_ai_recorded *res, size_t n)
{
	size_t	 i;

	for (i = 0; res != NULL && i < n; i++) {
		free(res[i].reprompt);
		res[i].reprompt = NULL;
	}
}

int
queue_ai_result_send(struct queue *q, const struct queue_ai_outcome *out,
    size_t n, struct queue_error *qerr)
{
	struct buf	 b;

	/* The body holds generated text, not secrets: no wipe needed. */
	buf_init(&b);
	return (send_batch(q, ST_AI_RESULT_BATCH, &b, queue_ai_outcomes_json(&b, out, n), qerr));
}

int
queue_ai_result_poll(struct queue *q, struct queue_ai_recorded *res, size_t n,
    bool *ready, struct queue_error *qerr)
{
	PGresult	*r;
	const char	*json;
	size_t		 len;
	int		 rc;

	if ((rc = poll_batch(q, &r, &json, &len, ready, qerr)) != QUEUE_OK || !*ready)
		return (rc);
	queue_ai_results_read(json, len, res, n);
	PQclear(r);
	return (QUEUE_OK);
}
