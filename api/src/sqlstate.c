/*
 * sqlstate.c — SQLSTATE → HTTP status, as a table.
 *
 * Starts from PostgREST's published mapping (docs.postgrest.org, "Errors")
 * and adds the codes caas raises (the CA class, listed with their statuses
 * in the view caas.error_codes; tests/integration/error_codes.t checks this
 * table against it).  Rows are matched in order: exact
 * five-character codes first, then two-character classes.  Anything not in
 * the table is a 500: the client gets a generic message, the log the detail
 * — as for every 5xx, except the codes caas raises on purpose, whose words
 * were written for the client (sqlstate_message_public).
 */
#include <string.h>

#include "sqlstate.h"

struct sqlstate_row {
	const char	*code;		/* 5 chars: exact; 2 chars: class */
	int		 status;
};

static const struct sqlstate_row sqlstate_rows[] = {
	{ "23505", 409 },	/* unique_violation */
	{ "23503", 409 },	/* foreign_key_violation */
	{ "23514", 422 },	/* check_violation: the row is not valid */
	{ "23502", 422 },	/* not_null_violation */
	{ "22P02", 422 },	/* invalid_text_representation */
	{ "22023", 422 },	/* invalid_parameter_value */
	{ "P0001", 400 },	/* raise_exception */
	{ "P0002", 404 },	/* no_data_found */
	{ "42P01", 404 },	/* undefined_table */
	{ "42883", 404 },	/* undefined_function */
	{ "55000", 409 },	/* object_not_in_prerequisite_state */
	{ "57014", 504 },	/* query_canceled (statement timeout) */
	{ "40001", 503 },	/* serialization_failure: retry */
	{ "40P01", 503 },	/* deadlock_detected: retry */
	{ "CA001", 402 },	/* caas quota_exceeded: upgrade the plan */
	{ "CA002", 409 },	/* caas invalid_state_transition */
	{ "CA003", 422 },	/* caas text_rejected by the platform's rules */
	{ "CA004", 422 },	/* caas schedule_in_past */
	{ "CA005", 409 },	/* caas account_unavailable */
	{ "CA006", 409 },	/* caas ownership_rule */
	{ "CA007", 409 },	/* caas immutable */
	{ "CA008", 503 },	/* caas ai_unavailable: no AI provider configured */
	{ "08",    503 },	/* connection exceptions */
	{ "53",    503 },	/* insufficient resources */
	{ "28",    403 },	/* invalid authorization */
	{ "22",    422 },	/* data exceptions */
	{ NULL,    0 }
};

/*
 * sqlstate_http_status returns the HTTP status for sqlstate.  42501
 * (insufficient_privilege) is 401 for an anonymous caller, who may log in
 * and try again, and 403 for an authenticated one.  A NULL or malformed
 * sqlstate is a 500.
 */
int
sqlstate_http_status(const char *sqlstate, bool anonymous)
{
	const struct sqlstate_row	*row;

	if (sqlstate == NULL || strlen(sqlstate) != 5)
		return 500;
	if (strcmp(sqlstate, "42501") == 0)
		return anonymous ? 401 : 403;
	for (row = sqlstate_rows; row->code != NULL; row++) {
		if (strncmp(sqlstate, row->code, strlen(row->code)) == 0)
			return row->status;
	}
	return 500;
}

/*
 * sqlstate_message_public is true when the error's message, detail and
 * hint were written for the API's clients, so that they reach them even
 * with a 5xx status: the class CA, raised on purpose by caas (CA008's
 * message and hint name the dispatcher setting an operator must set).
 */
bool
sqlstate_message_public(const char *sqlstate)
{
	return (sqlstate != NULL && strlen(sqlstate) == 5 && strncmp(sqlstate, "CA", 2) == 0);
}
