/*
 * log.c — formatting, redaction and the sink of the dispatcher's log lines
 * (log.h).
 *
 * A line is formatted into a stack buffer, redacted, and handed to the
 * sink; nothing is allocated, so logging works when memory runs out.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "log.h"

#define LOG_LINE_MAX	1024

static log_sink_fn	log_sink;
static enum log_level	log_threshold = LOG_LEVEL_INFO;

/* Markers after which a value is a credential, up to a delimiter. */
static const char *const secret_markers[] = {
	"access_token=", "refresh_token=", "client_secret=", "code_verifier=",
	"code=", "Bearer ", NULL
};

void
log_set_sink(log_sink_fn sink)
{
	log_sink = sink;
}

void
log_set_level(enum log_level level)
{
	log_threshold = level;
}

bool
log_enabled(enum log_level level)
{
	return (level <= log_threshold);
}

int
log_level_parse(const char *name, enum log_level *out)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	size_t	 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(name, names[i]) == 0) {
			*out = (enum log_level)i;
			return (0);
		}
	return (-1);
}

/*
 * marker_at returns the length of the credential marker starting at p, or
 * 0.  "code=" counts only at the start of a query parameter, so words that
 * end in "code=" (an error_code=) are left alone.
 */
static size_t
marker_at(const char *line, const char *p)
{
	size_t	 i, n;

	for (i = 0; secret_markers[i] != NULL; i++) {
		n = strlen(secret_markers[i]);
		if (strncasecmp(p, secret_markers[i], n) != 0)
			continue;
		if (strcmp(secret_markers[i], "code=") == 0 && p > line &&
		    p[-1] != '?' && p[-1] != '&')
			continue;
		return (n);
	}
	return (0);
}

void
log_redact(char *line)
{
	char	*p, *end;
	size_t	 n, v;

	for (p = line; *p != '\0'; p++) {
		if ((n = marker_at(line, p)) == 0)
			continue;
		p += n;
		end = p + strcspn(p, "&\"' ,;)\t\r\n");
		/* Never longer than the value: the line only shrinks. */
		v = (size_t)(end - p);
		if (v >= 3) {
			memcpy(p, "***", 3);
			memmove(p + 3, end, strlen(end) + 1);
			v = 3;
		} else
			memset(p, '*', v);
		if (p[v] == '\0')
			break;
		p += v;
	}
}

static void
stderr_sink(enum log_level level, const char *line)
{
	(void)level;
	fprintf(stderr, "%s\n", line);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char	 line[LOG_LINE_MAX];
	va_list	 ap;
	char	*nl;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One event, one line: a remote message never starts a new one. */
	while ((nl = strpbrk(line, "\r\n")) != NULL)
		*nl = ' ';
	log_redact(line);
	(log_sink != NULL ? log_sink : stderr_sink)(level, line);
}
