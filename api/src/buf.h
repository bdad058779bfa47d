/*
 * buf.h — buf.c's helpers that api.h does not list.
 *
 * api.h declares struct api_buf and its functions; this header adds the
 * UTF-8 check that request.c uses on request bodies and buf.c uses when it
 * escapes JSON strings.
 */
#ifndef CAAS_BUF_H
#define CAAS_BUF_H

#include <stdbool.h>
#include <stddef.h>

/*
 * buf_utf8_valid returns true when s[0..len) is well-formed UTF-8: no
 * overlong forms, no surrogates, nothing above U+10FFFF.  NUL bytes are
 * valid UTF-8 and accepted here; callers that cannot carry them check
 * separately.
 */
bool	buf_utf8_valid(const void *s, size_t len);

#endif /* CAAS_BUF_H */
