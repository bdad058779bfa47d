/*
 * db.h — the HTTP layer's only way to the database.
 *
 * Each server thread has its own libpq connection (created on first use,
 * re-created after a failure), logged in as caas_authenticator.  A call runs
 * in one transaction: the role (caas_anon or caas_user) and the caller's
 * claims are set with set_config(..., true), then the statement, then
 * COMMIT.  Errors become HTTP statuses by SQLSTATE (sqlstate.c) and the JSON
 * envelope with the database's message, detail and hint; a broken or
 * unreachable database is a 503, and the next request reconnects.
 */
#ifndef CAAS_DB_H
#define CAAS_DB_H

#include "api.h"

struct db_config {
	const char	*conninfo;	/* libpq connection string (borrowed) */
	int		 statement_timeout_ms;
};

/* Called once at start-up; borrows cfg for the process lifetime. */
void	db_configure(const struct db_config *cfg);

/*
 * db_call runs sql (one statement returning at most one row of one JSON
 * column) with params $1..$n as text, as the request's caller.  On success
 * the JSON goes into resp with ok_status (204 and an empty body when the
 * function returns void or NULL and ok_status is 204).  Returns 0, or -1
 * with the error response already set.
 */
int	db_call(struct api_request *req, struct api_response *resp, int ok_status,
	    const char *sql, int nparams, const char *const *params);

/*
 * db_query runs sql like db_call but hands back the first column of the
 * first row as a new arena string (NULL when no row or NULL), for handlers
 * that must look at a result before answering (login).  Returns 0, or -1
 * with the error response set.
 */
int	db_query(struct api_request *req, struct api_response *resp, bool as_user,
	    const char *sql, int nparams, const char *const *params, char **out);

/* True when a connection can be made and answers SELECT 1 (health). */
bool	db_ping(void);

/* Closes this thread's connection (thread exit). */
void	db_thread_cleanup(void);

#endif /* CAAS_DB_H */
