/*
 * sse.c — Server-Sent Events framing (sse.h).
 *
 * Every function builds into a scratch buffer first and appends it to
 * out only when complete, so a failure never leaves half an event in a
 * stream.
 */
#include <string.h>

#include "sse.h"

bool
sse_name_valid(const char *name)
{
	size_t	 n;

	if (name == NULL)
		return (false);
	n = strlen(name);
	return (n > 0 && n <= SSE_NAME_MAX &&
	    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._") == n);
}

/*
 * append_data appends "data: <line>\n" for each line of data[0..len);
 * CRLF, CR and LF each end a line, as a client splits them.
 */
static int
append_data(struct buf *b, const char *data, size_t len)
{
	size_t	 i = 0, n;
	int	 rc = 0;

	for (;;) {
		for (n = 0; i + n < len && data[i + n] != '\r' && data[i + n] != '\n'; n++)
			;
		rc |= buf_append(b, "data: ", 6);
		if (n > 0)
			rc |= buf_append(b, data + i, n);
		rc |= buf_append(b, "\n", 1);
		i += n;
		if (i >= len)
			break;
		i += data[i] == '\r' && i + 1 < len && data[i + 1] == '\n' ? 2 : 1;
	}
	return (rc);
}

/* commit appends tmp to out (all or nothing) and frees tmp. */
static int
commit(struct buf *out, struct buf *tmp, int rc)
{
	if (rc == 0)
		rc = buf_append(out, tmp->data, tmp->len);
	buf_cleanup(tmp);
	return (rc == 0 ? 0 : -1);
}

int
sse_append_event(struct buf *out, uint64_t id, const char *name,
    const char *data, size_t len)
{
	struct buf	 b;
	int		 rc = 0;

	if (!sse_name_valid(name))
		return (-1);
	buf_init(&b);
	if (id > 0)
		rc |= buf_appendf(&b, "id: %llu\n", (unsigned long long)id);
	rc |= buf_appendf(&b, "event: %s\n", name);
	rc |= append_data(&b, data != NULL ? data : "", data != NULL ? len : 0);
	rc |= buf_append(&b, "\n", 1);
	return (commit(out, &b, rc));
}

int
sse_append_comment(struct buf *out, const char *text)
{
	struct buf	 b;
	size_t		 i;
	int		 rc = 0;

	buf_init(&b);
	rc |= buf_append(&b, ": ", 2);
	for (i = 0; text[i] != '\0'; i++)
		rc |= buf_append(&b, text[i] == '\r' || text[i] == '\n' ? " " : &text[i], 1);
	rc |= buf_append(&b, "\n\n", 2);
	return (commit(out, &b, rc));
}

int
sse_append_retry(struct buf *out, unsigned int ms)
{
	struct buf	 b;
	int		 rc;

	buf_init(&b);
	rc = buf_appendf(&b, "retry: %u\n\n", ms);
	return (commit(out, &b, rc));
}
