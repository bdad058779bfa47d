/*
 * adapters/ratelimit.c — how long a platform asks us to wait: Retry-After
 * (delta seconds or an HTTP date), X's x-rate-limit-reset and 24-hour
 * caps (common.h, "rate-limit hints").
 *
 * Remote input: every header is parsed by hand, locale-free, with each
 * field range-checked; numbers saturate (HINT_SECONDS_MAX) instead of
 * overflowing, and anything malformed is "no hint" (-1), never a guess.
 * The core bounds whatever hint it gets (backoff.c hint_max_ms).
 *
 * Memory: nothing is allocated.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "common.h"

#define HINT_SECONDS_MAX	INT64_C(10000000000)	/* ~300 years */

/* skip_ws returns s past blanks. */
static const char *
skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return (s);
}

/* days_from_civil: days since 1970-01-01 (H. Hinnant's algorithm). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t	 era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + doe - 719468);
}

static int
month_index(const char *s)
{
	static const char	*const months[] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
	};
	int	 i;

	for (i = 0; i < 12; i++)
		if (strncasecmp(s, months[i], 3) == 0)
			return (i + 1);
	return (0);
}

/* read_num reads up to max_digits digits at *p; -1 when none. */
static int
read_num(const char **p, int max_digits)
{
	int	 v = 0, n = 0;

	while (n < max_digits && isdigit((unsigned char)**p)) {
		v = v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	return (n == 0 ? -1 : v);
}

/* read_time reads HH:MM:SS; returns seconds of the day or -1. */
static int
read_time(const char **p)
{
	int	 h, m, s;

	if ((h = read_num(p, 2)) < 0 || **p != ':')
		return (-1);
	(*p)++;
	if ((m = read_num(p, 2)) < 0 || **p != ':')
		return (-1);
	(*p)++;
	if ((s = read_num(p, 2)) < 0)
		return (-1);
	if (h > 23 || m > 59 || s > 60)
		return (-1);
	return (h * 3600 + m * 60 + s);
}

int64_t
adapters_parse_http_date(const char *v)
{
	const char	*p;
	int		 day, mon, year, secs;

	if (v == NULL)
		return (-1);
	p = skip_ws(v);
	while (isalpha((unsigned char)*p))	/* weekday, not checked */
		p++;
	if (*p == ',') {
		/* IMF-fixdate "06 Nov 1994 08:49:37 GMT" or RFC 850 "06-Nov-94 …". */
		p = skip_ws(p + 1);
		if ((day = read_num(&p, 2)) < 0 || (*p != ' ' && *p != '-'))
			return (-1);
		p++;
		if ((mon = month_index(p)) == 0)
			return (-1);
		p += 3;
		if (*p != ' ' && *p != '-')
			return (-1);
		p++;
		if ((year = read_num(&p, 4)) < 0 || *p != ' ')
			return (-1);
		if (year < 100)
			year += year < 70 ? 2000 : 1900;
		p = skip_ws(p);
		if ((secs = read_time(&p)) < 0)
			return (-1);
	} else {
		/* asctime: "Nov  6 08:49:37 1994". */
		p = skip_ws(p);
		if ((mon = month_index(p)) == 0)
			return (-1);
		p = skip_ws(p + 3);
		if ((day = read_num(&p, 2)) < 0)
			return (-1);
		p = skip_ws(p);
		if ((secs = read_time(&p)) < 0)
			return (-1);
		p = skip_ws(p);
		if ((year = read_num(&p, 4)) < 0)
			return (-1);
	}
	p = skip_ws(p);
	if (*p != '\0' && strncasecmp(p, "GMT", 3) != 0 &&
	    strncasecmp(p, "UTC", 3) != 0)
		return (-1);
	if (day < 1 || day > 31 || year < 1970)
		return (-1);
	return (days_from_civil(year, mon, day) * 86400 + secs);
}

int64_t
adapters_parse_retry_after(const char *value, int64_t now_ms)
{
	int64_t	 s, t;

	if (value == NULL)
		return (-1);
	if ((s = adapters_parse_uint(value, HINT_SECONDS_MAX)) >= 0)
		return (s * 1000);
	if ((t = adapters_parse_http_date(value)) < 0)
		return (-1);
	t = t * 1000 - now_ms;
	return (t > 0 ? t : 0);
}

int64_t
adapters_parse_epoch_reset(const char *value, int64_t now_ms)
{
	int64_t	 s, t;

	if (value == NULL || (s = adapters_parse_uint(value, HINT_SECONDS_MAX)) < 0)
		return (-1);
	t = s * 1000 - now_ms;
	return (t > 0 ? t : 0);
}

const char *
adapters_header(const struct adapter_response *resp, const char *name)
{
	return (resp->header != NULL ? resp->header(resp, name) : NULL);
}

/*
 * exhausted_reset: the reset time of a window whose remaining count is 0
 * (or not given, when absent_counts), else -1: a window with calls left is
 * not what the platform is waiting for.
 */
static int64_t
exhausted_reset(const struct adapter_response *resp, const char *remaining,
    const char *reset, bool absent_counts)
{
	const char	*left = adapters_header(resp, remaining);

	if (left == NULL ? !absent_counts : adapters_parse_uint(left, 1) != 0)
		return (-1);
	return (adapters_parse_epoch_reset(adapters_header(resp, reset), resp->now_ms));
}

int64_t
adapters_retry_after_ms(const struct adapter_response *resp)
{
	int64_t	 hint[4], best = -1;
	size_t	 i;

	hint[0] = adapters_parse_retry_after(adapters_header(resp, "retry-after"),
	    resp->now_ms);
	hint[1] = exhausted_reset(resp, "x-rate-limit-remaining",
	    "x-rate-limit-reset", true);
	hint[2] = exhausted_reset(resp, "x-user-limit-24hour-remaining",
	    "x-user-limit-24hour-reset", false);
	hint[3] = exhausted_reset(resp, "x-app-limit-24hour-remaining",
	    "x-app-limit-24hour-reset", false);
	for (i = 0; i < sizeof(hint) / sizeof(hint[0]); i++)
		if (hint[i] > best)
			best = hint[i];
	return (best);
}
