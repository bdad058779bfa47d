/*
 * log.h — the dispatcher's log lines, whichever entry point runs it.
 *
 * The core logs through log_msg() and the log_* macros; the entry point
 * installs the sink once before the loop starts: daemon_main.c writes
 * stderr lines with a timestamp, worker_main.c hands them to elog(LOG) or
 * elog(WARNING) (never ERROR: it would longjmp out of a curl callback).
 *
 * What never reaches a log line: tokens, client secrets, request or
 * response bodies, URLs with credentials in their query.  Callers do not
 * pass them; as a last guard log_msg() blanks the value after
 * "access_token=", "refresh_token=", "client_secret=", "code_verifier="
 * and "Bearer " in every line.
 *
 * Not thread-safe (the dispatcher is one thread); the sink and level are
 * process-wide.
 */
#ifndef CAAS_LOG_H
#define CAAS_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level {
	LOG_LEVEL_ERROR,	/* the dispatcher cannot do its job as configured */
	LOG_LEVEL_WARNING,	/* something went wrong and was handled */
	LOG_LEVEL_INFO,		/* one line per event an operator follows */
	LOG_LEVEL_DEBUG		/* one line per post and request */
};

/* A sink receives one complete line without a trailing newline. */
typedef void (*log_sink_fn)(enum log_level level, const char *line);

/* log_set_sink installs sink (NULL: stderr without a timestamp). */
void	log_set_sink(log_sink_fn sink);
void	log_set_level(enum log_level level);
bool	log_enabled(enum log_level level);

/*
 * log_level_parse maps "error", "warning", "info", "debug" to a level.
 * Returns 0, or -1 for anything else.
 */
int	log_level_parse(const char *name, enum log_level *out);

/* log_msg formats one line (at most 1 KiB, longer is cut) and sinks it. */
void	log_msg(enum log_level level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * log_redact blanks credentials in line, in place (see above); exposed so
 * messages stored in the database get the same treatment.
 */
void	log_redact(char *line);

#define log_error(...)	log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)	do { if (log_enabled(LOG_LEVEL_DEBUG)) \
				log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__); } while (0)

#endif /* CAAS_LOG_H */
