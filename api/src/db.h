/*
 * db.h — the HTTP layer's only way to the database.
 *
 * Each server thread has its own libpq connection (created on first use,
 * re-created after a failure), logged in as caas_authenticator.  A call runs
 * in one transaction: the role (caas_anon or caas_user; caas_billing for
 * the one handler that asks, enum db_role) and the caller's claims are set
 * with set_config(..., true), then the statement, then COMMIT.  Errors become HTTP statuses by SQLSTATE (sqlstate.c) and the JSON
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

/*
 * Who a call runs as.  DB_ROLE_CALLER is the request's caller: caas_user
 * with their claims when authenticated, caas_anon otherwise.
 * DB_ROLE_BILLING is caas_billing, without claims: only for Stripe's
 * webhook, after its signature has been verified (handlers/billing.c).
 */
enum db_role {
	DB_ROLE_CALLER,
	DB_ROLE_ANON,
	DB_ROLE_BILLING,
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

/* db_query_as is db_query as role (as_user: DB_ROLE_CALLER, else ANON). */
int	db_query_as(struct api_request *req, struct api_response *resp,
	    enum db_role role, const char *sql, int nparams,
	    const char *const *params, char **out);

/*
 * db_startup_query runs sql once, before the server starts, on a
 * connection of its own that it closes again, as the login role itself
 * (caas_authenticator: no SET ROLE), with the statement timeout.  Returns
 * 0 with the first column of the first row in *out (malloc'd, caller
 * frees; NULL when no row or NULL), or -1 with the reason in err: the
 * connection failure, or the SQLSTATE and the database's message.
 */
int	db_startup_query(const char *sql, int nparams, const char *const *params,
	    char **out, char *err, size_t errlen);

/* Closes this thread's connection (thread exit). */
void	db_thread_cleanup(void);

#endif /* CAAS_DB_H */
