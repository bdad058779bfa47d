/*
 * buf.c — growable byte buffers and JSON string escaping.
 *
 * A struct buf owns its data (malloc); buf_cleanup frees it and leaves
 * an empty buffer, so cleanup twice is safe.  data is NUL-terminated
 * whenever len > 0, so a buffer can be handed to string functions.
 *
 * JSON strings: buf_append_json_string escapes '"', '\\' and every control
 * character (U+0000..U+001F and U+007F) and also U+2028/U+2029 (they end
 * lines in JavaScript).  Invalid UTF-8 is REPLACED, byte by byte, with
 * U+FFFD rather than rejected, so the output is always valid JSON; request
 * bodies are checked with buf_utf8_valid before they reach handlers.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define BUF_MIN_CAP	256

void
buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
buf_cleanup(struct buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	buf_init(b);
}

/* reserve makes room for extra more bytes plus a NUL.  Returns 0 or -1. */
static int
reserve(struct buf *b, size_t extra)
{
	size_t	 need, cap;
	char	*p;

	if (extra > SIZE_MAX - b->len - 1)
		return (-1);
	need = b->len + extra + 1;
	if (need <= b->cap)
		return (0);
	cap = b->cap < BUF_MIN_CAP ? BUF_MIN_CAP : b->cap;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if ((p = realloc(b->data, cap)) == NULL)
		return (-1);
	b->data = p;
	b->cap = cap;
	return (0);
}

/*
 * buf_append copies len bytes of p to the end of b.  Returns 0, or -1 when
 * memory runs out (b unchanged).
 */
int
buf_append(struct buf *b, const void *p, size_t len)
{
	if (reserve(b, len) == -1)
		return (-1);
	if (len > 0)
		memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = '\0';
	return (0);
}

/* buf_appendf appends printf-style output.  Returns 0 or -1 (b unchanged). */
int
buf_appendf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || reserve(b, (size_t)n) == -1)
		return (-1);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return (0);
}

/*
 * utf8_seq returns the length (1..4) of the well-formed UTF-8 sequence at
 * s[0..len), or 0 when the bytes there are not one.  *cp gets the code point.
 */
static size_t
utf8_seq(const unsigned char *s, size_t len, unsigned long *cp)
{
	size_t		 n, i;
	unsigned long	 c, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return (1);
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2; c = s[0] & 0x1f; min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3; c = s[0] & 0x0f; min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4; c = s[0] & 0x07; min = 0x10000;
	} else
		return (0);
	if (len < n)
		return (0);
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return (0);
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return (0);
	*cp = c;
	return (n);
}

bool
buf_utf8_valid(const void *p, size_t len)
{
	const unsigned char	*s = p;
	unsigned long		 cp;
	size_t			 i = 0, n;

	while (i < len) {
		if ((n = utf8_seq(s + i, len - i, &cp)) == 0)
			return (false);
		i += n;
	}
	return (true);
}

/* escape_char appends the JSON escape for code point cp (< 0x80 or 2028/9). */
static int
escape_char(struct buf *b, unsigned long cp)
{
	switch (cp) {
	case '"':	return (buf_append(b, "\\\"", 2));
	case '\\':	return (buf_append(b, "\\\\", 2));
	case '\b':	return (buf_append(b, "\\b", 2));
	case '\f':	return (buf_append(b, "\\f", 2));
	case '\n':	return (buf_append(b, "\\n", 2));
	case '\r':	return (buf_append(b, "\\r", 2));
	case '\t':	return (buf_append(b, "\\t", 2));
	default:	return (buf_appendf(b, "\\u%04lx", cp));
	}
}

static bool
needs_escape(unsigned long cp)
{
	return (cp < 0x20 || cp == '"' || cp == '\\' || cp == 0x7f ||
	    cp == 0x2028 || cp == 0x2029);
}

/*
 * buf_append_json_string appends s[0..len) as a JSON string literal, quotes
 * included.  Invalid UTF-8 bytes become U+FFFD.  Returns 0 or -1 (out of
 * memory; b may hold a partial string).
 */
int
buf_append_json_string(struct buf *b, const char *str, size_t len)
{
	const unsigned char	*s = (const unsigned char *)str;
	unsigned long		 cp;
	size_t			 i = 0, run = 0, n;

	if (buf_append(b, "\"", 1) == -1)
		return (-1);
	while (i < len) {
		n = utf8_seq(s + i, len - i, &cp);
		if (n != 0 && !needs_escape(cp)) {
			i += n;
			run += n;
			continue;
		}
		/* Flush the clean run before the byte that needs work. */
		if (buf_append(b, s + i - run, run) == -1)
			return (-1);
		run = 0;
		if (n == 0) {
			if (buf_append(b, "\xef\xbf\xbd", 3) == -1)
				return (-1);
			i++;
		} else {
			if (escape_char(b, cp) == -1)
				return (-1);
			i += n;
		}
	}
	if (buf_append(b, s + i - run, run) == -1)
		return (-1);
	return (buf_append(b, "\"", 1));
}
