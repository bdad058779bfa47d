/*
 * buf.h — growable byte buffers, JSON string escaping and a UTF-8 check
 * (buf.c), shared by caas-api and the dispatcher.
 *
 * A struct buf owns its data (malloc); buf_cleanup frees it and leaves an
 * empty buffer, so cleanup twice is safe.  data is NUL-terminated whenever
 * len > 0, so a buffer can be handed to string functions.
 */
#ifndef CAAS_BUF_H
#define CAAS_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
	char		*data;
	size_t		 len;
	size_t		 cap;
};

void	buf_init(struct buf *);
void	buf_cleanup(struct buf *);
/* Each returns 0, or -1 when memory runs out (the buffer is unchanged). */
int	buf_append(struct buf *, const void *, size_t);
int	buf_appendf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included. */
int	buf_append_json_string(struct buf *, const char *s, size_t len);

/*
 * buf_utf8_valid returns true when s[0..len) is well-formed UTF-8: no
 * overlong forms, no surrogates, nothing above U+10FFFF.  NUL bytes are
 * valid UTF-8 and accepted here; callers that cannot carry them check
 * separately.
 */
bool	buf_utf8_valid(const void *s, size_t len);

#endif /* CAAS_BUF_H */
