/*
 * timezone.c — IANA time zone names.
 *
 * Scheduled instants are stored in UTC together with the IANA zone the user
 * chose (never an integer offset: offsets cannot follow DST).  This file
 * decides what counts as a zone name: one PostgreSQL can load from its time
 * zone database, which is what AT TIME ZONE will use later.
 *
 * pg_tzset() also accepts POSIX TZ strings such as "ABC5DEF" as a fallback.
 * Those always contain a digit, so a name without digits that pg_tzset
 * accepts came from the database; a name with digits (Etc/GMT+5, EST5EDT) is
 * looked up in the enumeration of the database's zones.
 */
#include "postgres.h"

#include <ctype.h>

#include "fmgr.h"
#include "pgtime.h"
#include "utils/builtins.h"

#define TIMEZONE_NAME_MAX 64

PG_FUNCTION_INFO_V1(caas_timezone_is_valid);

static bool
name_has_valid_shape(const char *name, size_t len, bool *has_digit)
{
	const char *p;

	*has_digit = false;
	if (len == 0 || len > TIMEZONE_NAME_MAX || name[0] == '/' || name[len - 1] == '/')
		return false;
	if (strstr(name, "..") != NULL || strstr(name, "//") != NULL)
		return false;
	for (p = name; *p; p++)
	{
		unsigned char c = (unsigned char) *p;

		if (isdigit(c))
			*has_digit = true;
		else if (!(isalpha(c) || c == '/' || c == '_' || c == '-' || c == '+'))
			return false;
	}
	return true;
}

static bool
zone_in_database(const char *name)
{
	pg_tzenum  *dir = pg_tzenumerate_start();
	pg_tz	   *tz;
	bool		found = false;

	while ((tz = pg_tzenumerate_next(dir)) != NULL)
	{
		if (pg_strcasecmp(pg_get_timezone_name(tz), name) == 0)
		{
			found = true;
			break;
		}
	}
	pg_tzenumerate_end(dir);
	return found;
}

/*
 * caas.timezone_is_valid(name text) → boolean
 *
 * True when name is an IANA time zone PostgreSQL knows.  Never raises for a
 * bad name; STRICT, so NULL in gives NULL out.
 */
Datum
caas_timezone_is_valid(PG_FUNCTION_ARGS)
{
	text	   *arg = PG_GETARG_TEXT_PP(0);
	char	   *name = text_to_cstring(arg);
	bool		has_digit;
	bool		valid;

	if (!name_has_valid_shape(name, strlen(name), &has_digit))
		valid = false;
	else if (pg_tzset(name) == NULL)
		valid = false;
	else if (has_digit)
		valid = zone_in_database(name);
	else
		valid = true;

	pfree(name);
	PG_RETURN_BOOL(valid);
}
