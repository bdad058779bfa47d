/*
 * sqlstate_lookup.c — prints the HTTP status api/src/sqlstate.c gives each
 * SQLSTATE named on the command line, one "<sqlstate> <status>" per line.
 * Used by tests/integration/error_codes.t to compare the API's table with
 * the database's list, caas.error_codes.
 */
#include <stdio.h>

#include "sqlstate.h"

int
main(int argc, char **argv)
{
	int	i;

	for (i = 1; i < argc; i++)
		printf("%s %d\n", argv[i], sqlstate_http_status(argv[i], false));
	return 0;
}
