/*
 * outbound.h — the few calls caas-api makes to other services while a
 * user waits (DESIGN.md decision 4: the OAuth code exchange and identity
 * fetch), through libcurl's easy interface.
 *
 * outbound_global_init must run once before any thread starts (libcurl's
 * rule), outbound_global_cleanup once after they stop.
 */
#ifndef CAAS_OUTBOUND_H
#define CAAS_OUTBOUND_H

#include <stddef.h>

#include "buf.h"
#include "oauth.h"

#define OUTBOUND_BODY_MAX	(64 * 1024)	/* larger answers are refused */
#define OUTBOUND_TIMED_OUT	(-1L)		/* *status: no answer in time */

int	outbound_global_init(void);
void	outbound_global_cleanup(void);

/*
 * outbound_fetch performs rq within timeout_ms: no redirects followed,
 * http and https only.  On a completed exchange returns 0 with the HTTP
 * status in *status and the body in out (caller's buffer, appended to;
 * wipe it if it may hold tokens).  Returns -1 when no answer came
 * (connection, timeout, answer over OUTBOUND_BODY_MAX) with a reason for
 * the log in err — never any part of the request, which may hold secrets;
 * *status is then OUTBOUND_TIMED_OUT when the time ran out, 0 otherwise.
 */
int	outbound_fetch(const struct oauth_http *rq, int timeout_ms, long *status,
	    struct buf *out, char *err, size_t errlen);

#endif /* CAAS_OUTBOUND_H */
