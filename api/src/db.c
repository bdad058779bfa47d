/*
 * db.c — one libpq connection per server thread, one transaction per call.
 *
 * Invariants:
 *   - the connection is thread-local and only this file touches it; it is
 *     opened on first use and dropped after any connection-level failure,
 *     so the next request reconnects (a database restart heals by itself);
 *   - a call is one round trip in pipeline mode: the role (enum db_role)
 *     and claims (set_config(..., true)), the statement, Sync — one implicit
 *     transaction, so the settings end with it (nothing leaks to the next
 *     request) and any error rolls everything back (nothing half-written);
 *   - db_startup_query alone runs as caas_authenticator itself, on a
 *     connection of its own, before the server starts;
 *   - statements are prepared once per connection (stmt_name);
 *   - statement texts are constant (from the route table or this file) and
 *     every value travels as a parameter: no SQL is built from input.
 * Errors: the client gets the SQLSTATE, message, detail and hint the
 * extension wrote for it (they never hold secrets); 5xx answers carry a
 * generic message and the log line holds the rest — except caas's own
 * codes (sqlstate_message_public: CA008 names the setting to set), whose
 * words reach the client too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db.h"
#include "metrics.h"
#include "sqlstate.h"

#define DB_STMT_MAX	256

static const struct db_config	*db_cfg;
static __thread PGconn		*db_conn;
/* Statements prepared on db_conn (see stmt_name); reset with it. */
static __thread const char	*stmt_sql[DB_STMT_MAX];
static __thread int		 stmt_count;
static __thread PGconn		*stmt_conn;

void
db_configure(const struct db_config *cfg)
{
	db_cfg = cfg;
}

void
db_thread_cleanup(void)
{
	if (db_conn != NULL) {
		PQfinish(db_conn);
		db_conn = NULL;
	}
	stmt_conn = NULL;	/* a new connection may reuse the address */
	stmt_count = 0;
}

/* Returns this thread's live connection, or NULL (logged). */
static PGconn *
conn_get(void)
{
	char	timeout[64];

	/*
	 * A server restart leaves an idle connection looking fine until it is
	 * read: the backend's farewell (or EOF) is already waiting on the
	 * socket.  Reading it now, before anything is sent, tells a dead
	 * connection from a live one without risking a statement twice.
	 */
	if (db_conn != NULL && PQstatus(db_conn) == CONNECTION_OK &&
	    PQconsumeInput(db_conn) == 1 && PQconsumeInput(db_conn) == 1 &&
	    PQstatus(db_conn) == CONNECTION_OK)	/* twice: the message, then EOF */
		return (db_conn);
	db_thread_cleanup();
	if (db_cfg == NULL)
		return (NULL);
	db_conn = PQconnectdb(db_cfg->conninfo);
	if (PQstatus(db_conn) != CONNECTION_OK) {
		fprintf(stderr, "caas-api: database connection failed: %s",
		    PQerrorMessage(db_conn));
		db_thread_cleanup();
		return (NULL);
	}
	snprintf(timeout, sizeof(timeout), "SET statement_timeout = %d",
	    db_cfg->statement_timeout_ms);
	PQclear(PQexec(db_conn, timeout));
	return (db_conn);
}

static int
reply_unavailable(struct api_response *resp)
{
	respond_header(resp, "Retry-After", "1");
	return (respond_error(resp, 503, "08006", "database unavailable",
	    NULL, "Try again in a moment."));
}

/* Maps a failed result to the error envelope; rolls back. */
static int
reply_pg_error(struct api_request *req, struct api_response *resp,
    PGconn *c, PGresult *r)
{
	const char	*state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	const char	*msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	int		 status;

	if (PQstatus(c) != CONNECTION_OK) {
		PQclear(r);
		db_thread_cleanup();
		return (reply_unavailable(resp));
	}
	status = sqlstate_http_status(state, !req->authenticated);
	if (status >= 500)
		fprintf(stderr, "caas-api: request %s: %s: %s\n", req->request_id,
		    state ? state : "?", msg ? msg : "?");
	if (status >= 500 && !sqlstate_message_public(state)) {
		respond_error(resp, status, state ? state : "XX000",
		    "internal error", NULL, "Quote the request id to support.");
	} else {
		respond_error(resp, status, state, msg ? msg : "error",
		    PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL),
		    PQresultErrorField(r, PG_DIAG_MESSAGE_HINT));
	}
	PQclear(r);
	return (-1);
}

/* ------------------------------------------------ prepared statements */

/*
 * Each thread prepares every statement it runs once per connection, named
 * after its slot here.  Statements are identified by their text's address:
 * they are string constants (route rows, this file), so the address is
 * stable for the process lifetime.
 */


static const char db_set_caller[] =
    "SELECT set_config('role', $1, true), set_config('request.jwt.claims', $2, true)";

/*
 * Returns the name of sql prepared on c into name[16], preparing it first
 * if needed.  Returns NULL with *err set to the failed result (caller clears)
 * or NULL when out of slots (the caller then runs it unprepared).
 */
static const char *
stmt_name(PGconn *c, const char *sql, int nparams, char name[16], PGresult **err)
{
	PGresult	*r;
	int		 i;

	*err = NULL;
	if (stmt_conn != c) {		/* a new connection: nothing prepared */
		stmt_conn = c;
		stmt_count = 0;
	}
	for (i = 0; i < stmt_count; i++)
		if (stmt_sql[i] == sql) {
			snprintf(name, 16, "caas%d", i);
			return (name);
		}
	if (stmt_count == DB_STMT_MAX)
		return (NULL);
	snprintf(name, 16, "caas%d", stmt_count);
	r = PQprepare(c, name, sql, nparams, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		*err = r;
		return (NULL);
	}
	PQclear(r);
	stmt_sql[stmt_count++] = sql;
	return (name);
}

/* ------------------------------------------------------------- calls */

/*
 * call runs sql as role (db.h: the request's caller, or caas_billing) in
 * one round trip: pipeline mode, the role and claims, the statement, Sync.  Everything before
 * the Sync is one implicit transaction, so set_config(..., true) lasts for
 * exactly this statement and an error rolls everything back.  Returns the
 * statement's result (caller clears), or NULL with the error response set.
 */
static PGresult *
call(struct api_request *req, struct api_response *resp, enum db_role role,
    const char *sql, int nparams, const char *const *params)
{
	PGconn		*c;
	PGresult	*r, *cfg = NULL, *res = NULL, *err;
	char		 claims[96], n_cfg[16], n_sql[16];
	const char	*cfg_params[2], *name_cfg, *name_sql;
	int		 attempt;
	bool		 user = role == DB_ROLE_CALLER && req->authenticated;

	if (user)
		snprintf(claims, sizeof(claims), "{\"sub\":\"%s\"}", req->claims.sub);
	else
		claims[0] = '\0';
	cfg_params[0] = user ? "caas_user" : role == DB_ROLE_BILLING ? "caas_billing" : "caas_anon";
	cfg_params[1] = claims;

	for (attempt = 0; attempt < 2; attempt++) {
		if ((c = conn_get()) == NULL) {
			reply_unavailable(resp);
			return (NULL);
		}
		name_cfg = stmt_name(c, db_set_caller, 2, n_cfg, &err);
		if (name_cfg != NULL)
			name_sql = stmt_name(c, sql, nparams, n_sql, &err);
		if (err != NULL) {
			/* A connection the server dropped (a restart) still looks
			 * fine until used: nothing ran, reconnect once. */
			if (PQstatus(c) != CONNECTION_OK && attempt == 0) {
				PQclear(err);
				db_thread_cleanup();
				continue;
			}
			reply_pg_error(req, resp, c, err);
			return (NULL);
		}
		if (name_cfg == NULL || name_sql == NULL) {
			respond_error(resp, 500, "XX000", "internal error", NULL, NULL);
			fprintf(stderr, "caas-api: request %s: prepared statement slots exhausted\n",
			    req->request_id);
			return (NULL);
		}
		if (PQenterPipelineMode(c) != 1 ||
		    PQsendQueryPrepared(c, name_cfg, 2, cfg_params, NULL, NULL, 0) != 1 ||
		    PQsendQueryPrepared(c, name_sql, nparams, params, NULL, NULL, 0) != 1 ||
		    PQpipelineSync(c) != 1) {
			db_thread_cleanup();
			if (attempt == 0)
				continue;
			reply_unavailable(resp);
			return (NULL);
		}
		break;
	}
	if (attempt == 2) {
		reply_unavailable(resp);
		return (NULL);
	}

	/* Results arrive in order: set_config, the statement, the Sync. */
	cfg = PQgetResult(c);
	while ((r = PQgetResult(c)) != NULL)
		PQclear(r);
	res = PQgetResult(c);
	while (res != NULL && (r = PQgetResult(c)) != NULL)
		PQclear(r);
	r = PQgetResult(c);
	if (r == NULL || PQresultStatus(r) != PGRES_PIPELINE_SYNC) {
		PQclear(r);
		PQclear(cfg);
		PQclear(res);
		db_thread_cleanup();
		reply_unavailable(resp);
		return (NULL);
	}
	PQclear(r);
	PQexitPipelineMode(c);
	if (PQresultStatus(cfg) != PGRES_TUPLES_OK) {
		PQclear(res);
		reply_pg_error(req, resp, c, cfg);
		return (NULL);
	}
	PQclear(cfg);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		reply_pg_error(req, resp, c, res);
		return (NULL);
	}
	return (res);
}

int
db_call(struct api_request *req, struct api_response *resp, int ok_status,
    const char *sql, int nparams, const char *const *params)
{
	PGresult	*r;
	int		 rc = 0;

	metrics_db_acquire();
	if ((r = call(req, resp, DB_ROLE_CALLER, sql, nparams, params)) == NULL) {
		metrics_db_release();
		return (-1);
	}
	if (ok_status == 204) {
		resp->status = 204;		/* no body */
	} else if (PQntuples(r) == 0 || PQgetisnull(r, 0, 0)) {
		rc = respond_json(resp, ok_status, "null", 4);
	} else {
		rc = respond_json(resp, ok_status, PQgetvalue(r, 0, 0),
		    (size_t)PQgetlength(r, 0, 0));
	}
	PQclear(r);
	metrics_db_release();
	return (rc);
}

int
db_query(struct api_request *req, struct api_response *resp, bool as_user,
    const char *sql, int nparams, const char *const *params, char **out)
{
	return (db_query_as(req, resp, as_user ? DB_ROLE_CALLER : DB_ROLE_ANON,
	    sql, nparams, params, out));
}

int
db_query_as(struct api_request *req, struct api_response *resp, enum db_role role,
    const char *sql, int nparams, const char *const *params, char **out)
{
	PGresult	*r;

	*out = NULL;
	metrics_db_acquire();
	if ((r = call(req, resp, role, sql, nparams, params)) == NULL) {
		metrics_db_release();
		return (-1);
	}
	if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
		*out = arena_strndup(req->arena, PQgetvalue(r, 0, 0),
		    (size_t)PQgetlength(r, 0, 0));
	PQclear(r);
	metrics_db_release();
	return (0);
}

int
db_startup_query(const char *sql, int nparams, const char *const *params,
    char **out, char *err, size_t errlen)
{
	PGconn		*c;
	PGresult	*r;
	char		 timeout[64];
	const char	*state, *msg, *hint;
	int		 rc = -1;

	*out = NULL;
	if (db_cfg == NULL)
		return (snprintf(err, errlen, "the database is not configured"), -1);
	c = PQconnectdb(db_cfg->conninfo);
	if (PQstatus(c) != CONNECTION_OK) {
		snprintf(err, errlen, "cannot connect to the database: %.*s",
		    (int)strcspn(PQerrorMessage(c), "\n"), PQerrorMessage(c));
		PQfinish(c);
		return (-1);
	}
	snprintf(timeout, sizeof(timeout), "SET statement_timeout = %d",
	    db_cfg->statement_timeout_ms);
	PQclear(PQexec(c, timeout));
	r = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK) {
		if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) &&
		    (*out = strdup(PQgetvalue(r, 0, 0))) == NULL)
			snprintf(err, errlen, "out of memory");
		else
			rc = 0;
	} else {
		state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
		hint = PQresultErrorField(r, PG_DIAG_MESSAGE_HINT);
		snprintf(err, errlen, "%s: %.*s%s%s%s", state != NULL ? state : "?",
		    (int)strcspn(msg != NULL ? msg : PQerrorMessage(c), "\n"),
		    msg != NULL ? msg : PQerrorMessage(c), hint != NULL ? " (" : "",
		    hint != NULL ? hint : "", hint != NULL ? ")" : "");
	}
	PQclear(r);
	PQfinish(c);
	return (rc);
}
