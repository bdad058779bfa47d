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

#endif /* CAAS_SQLSTATE_H */
