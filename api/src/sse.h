/*
 * sse.h — Server-Sent Events framing (the WHATWG HTML "event stream"
 * format), for events.c.  Pure functions over struct buf: no I/O, no
 * locks, unit-tested in tests/unit/api/test_sse.c.
 *
 * An event is "id: <n>\nevent: <name>\ndata: <line>\n...\n\n": the data is
 * split at every line break (CR, LF or CRLF) into "data:" lines, so a
 * payload can never end an event early or inject a field.  A comment is
 * ": <text>\n\n" (clients ignore it; it keeps proxies from timing out).
 */
#ifndef CAAS_SSE_H
#define CAAS_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define SSE_NAME_MAX	32

/*
 * sse_name_valid: 1..SSE_NAME_MAX characters of [a-z0-9._], the event
 * names this server sends ("post.state", "account.status").
 */
bool	sse_name_valid(const char *name);

/*
 * sse_append_event appends one event: the id line when id > 0, the event
 * line (name must pass sse_name_valid), the data lines.  Returns 0, or -1
 * for an invalid name or out of memory (out is then unchanged).
 */
int	sse_append_event(struct buf *out, uint64_t id, const char *name,
	    const char *data, size_t len);

/*
 * sse_append_comment appends ": text\n\n"; line breaks in text become
 * spaces.  Returns 0, or -1 (out unchanged).
 */
int	sse_append_comment(struct buf *out, const char *text);

/* sse_append_retry appends "retry: <ms>\n\n" (the client's reconnect delay). */
int	sse_append_retry(struct buf *out, unsigned int ms);

#endif /* CAAS_SSE_H */
