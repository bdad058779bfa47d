/*
 * sqlstate.h — HTTP status for a PostgreSQL error.
 *
 * The database decides what went wrong and says so with a SQLSTATE; the
 * API turns that into an HTTP status here, never from message text.
 */
#ifndef CAAS_SQLSTATE_H
#define CAAS_SQLSTATE_H

#include <stdbool.h>

int	sqlstate_http_status(const char *sqlstate, bool anonymous);

/* True when the error's words are for the client even with a 5xx status. */
bool	sqlstate_message_public(const char *sqlstate);

#endif /* CAAS_SQLSTATE_H */
