/*
 * tests/unit/extension/nfc.c — NFC for test input through libpgcommon.
 *
 * Its own translation unit because it includes PostgreSQL's frontend headers
 * (c.h), which must not meet check.h and the code under test.  The frontend
 * build of unicode_normalize() allocates with malloc.
 */
#include "postgres_fe.h"

#include "common/unicode_norm.h"

#include "nfc.h"

StaticAssertDecl(sizeof(pg_wchar) == sizeof(uint32_t), "pg_wchar is 32 bits");

uint32_t *
test_nfc(const uint32_t *cps, size_t n, size_t *nout)
{
	pg_wchar   *in = malloc((n + 1) * sizeof(pg_wchar));
	pg_wchar   *out;
	size_t		i;

	if (in == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		in[i] = cps[i];
	in[n] = 0;
	out = unicode_normalize(UNICODE_NFC, in);
	free(in);
	if (out == NULL)
		return NULL;
	for (i = 0; out[i] != 0; i++)
		;
	*nout = i;
	return (uint32_t *) out;
}
