/*
 * db.c — one libpq connection per server thread, one transaction per call.
 *
 * Invariants:
 *   - the connection is thread-local and only this file touches it; it is
 *     opened on first use and dropped after any connection-level failure,
 *     so the next request reconnects (a database restart heals by itself);
 *   - a call is BEGIN; set role and claims (set_config(..., true), so they
 *     end with the transaction: nothing leaks to the next request); the
 *     statement; COMMIT — or ROLLBACK on any error, so nothing is
 *     half-written;
 *   - statement texts are constant (from the route table or this file) and
 *     every value travels as a parameter: no SQL is built from input.
 * Errors: the client gets the SQLSTATE, message, detail and hint the
 * extension wrote for it (they never hold secrets); 5xx answers carry a
 * generic message and the log line holds the rest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db.h"
#include "metrics.h"
#include "sqlstate.h"

static const struct db_config	*db_cfg;
static __thread PGconn		*db_conn;

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
}

/* Returns this thread's live connection, or NULL (logged). */
static PGconn *
conn_get(void)
{
	char	timeout[64];

	if (db_conn != NULL && PQstatus(db_conn) == CONNECTION_OK)
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
exec_ok(PGconn *c, const char *sql)
{
	PGresult	*r = PQexec(c, sql);
	int		 ok = PQresultStatus(r) == PGRES_COMMAND_OK;

	PQclear(r);
	return (ok ? 0 : -1);
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
	if (status >= 500) {
		fprintf(stderr, "caas-api: request %s: %s: %s\n", req->request_id,
		    state ? state : "?", msg ? msg : "?");
		respond_error(resp, status, state ? state : "XX000",
		    "internal error", NULL, "Quote the request id to support.");
	} else {
		respond_error(resp, status, state, msg ? msg : "error",
		    PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL),
		    PQresultErrorField(r, PG_DIAG_MESSAGE_HINT));
	}
	PQclear(r);
	exec_ok(c, "ROLLBACK");
	return (-1);
}

/*
 * Starts the caller's transaction.  Returns the connection, or NULL with the
 * error response set.
 */
static PGconn *
begin_as(struct api_request *req, struct api_response *resp, bool as_user)
{
	PGconn		*c = conn_get();
	PGresult	*r;
	char		 claims[96];
	const char	*params[2];

	if (c == NULL) {
		reply_unavailable(resp);
		return (NULL);
	}
	if (exec_ok(c, "BEGIN") != 0) {
		/*
		 * A connection the server dropped (a restart) still looks fine
		 * until used.  Nothing of this request has been sent: reconnect
		 * once and try again.
		 */
		bool	stale = PQstatus(c) != CONNECTION_OK;

		db_thread_cleanup();
		if (!stale || (c = conn_get()) == NULL || exec_ok(c, "BEGIN") != 0) {
			db_thread_cleanup();
			reply_unavailable(resp);
			return (NULL);
		}
	}
	if (as_user && req->authenticated)
		snprintf(claims, sizeof(claims), "{\"sub\":\"%s\"}", req->claims.sub);
	else
		claims[0] = '\0';
	params[0] = as_user && req->authenticated ? "caas_user" : "caas_anon";
	params[1] = claims;
	r = PQexecParams(c,
	    "SELECT set_config('role', $1, true), set_config('request.jwt.claims', $2, true)",
	    2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		reply_pg_error(req, resp, c, r);
		return (NULL);
	}
	PQclear(r);
	return (c);
}

/* Runs the statement; on success returns its result (caller clears). */
static PGresult *
run(struct api_request *req, struct api_response *resp, PGconn *c,
    const char *sql, int nparams, const char *const *params)
{
	PGresult	*r, *commit;

	r = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		reply_pg_error(req, resp, c, r);
		return (NULL);
	}
	commit = PQexec(c, "COMMIT");
	if (PQresultStatus(commit) != PGRES_COMMAND_OK) {
		PQclear(r);
		reply_pg_error(req, resp, c, commit);
		return (NULL);
	}
	PQclear(commit);
	return (r);
}

int
db_call(struct api_request *req, struct api_response *resp, int ok_status,
    const char *sql, int nparams, const char *const *params)
{
	PGconn		*c;
	PGresult	*r;
	int		 rc = 0;

	metrics_db_acquire();
	if ((c = begin_as(req, resp, true)) == NULL ||
	    (r = run(req, resp, c, sql, nparams, params)) == NULL) {
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
	PGconn		*c;
	PGresult	*r;

	*out = NULL;
	metrics_db_acquire();
	if ((c = begin_as(req, resp, as_user)) == NULL ||
	    (r = run(req, resp, c, sql, nparams, params)) == NULL) {
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

bool
db_ping(void)
{
	PGconn		*c = conn_get();
	PGresult	*r;
	bool		 ok;

	if (c == NULL)
		return (false);
	r = PQexec(c, "SELECT 1");
	ok = PQresultStatus(r) == PGRES_TUPLES_OK;
	PQclear(r);
	if (!ok && PQstatus(c) != CONNECTION_OK) {
		/* A connection dropped by a restart: reconnect once, as begin_as. */
		db_thread_cleanup();
		if ((c = conn_get()) != NULL) {
			r = PQexec(c, "SELECT 1");
			ok = PQresultStatus(r) == PGRES_TUPLES_OK;
			PQclear(r);
		}
	}
	if (!ok)
		db_thread_cleanup();
	return (ok);
}
