/*
 * extension/src/text_rules.c — SQL-callable rules about the text of a post.
 *
 * X (Twitter): caas.x_weighted_length(text) and caas.x_text_is_valid(text),
 * X's current counting rules (twitter-text's config v3: 280 weighted
 * characters, URLs count 23, CJK and emoji 2).  The counting itself is
 * xtext.c, pure C; this file only turns a text datum into the NFC code points
 * xtext counts, with PostgreSQL's own unicode_normalize(), as the SQL
 * function normalize(text, NFC) does.
 *
 * The text is converted to UTF-8 first, so the functions work in any server
 * encoding.  Memory is palloc'd in the caller's context and freed before
 * returning.
 */
#include "postgres.h"

#include "common/unicode_norm.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/memutils.h"

#include "xtext.h"

PG_FUNCTION_INFO_V1(caas_x_weighted_length);
PG_FUNCTION_INFO_V1(caas_x_text_is_valid);

/* xtext works on uint32_t code points, unicode_normalize on pg_wchar. */
StaticAssertDecl(sizeof(pg_wchar) == sizeof(uint32_t), "pg_wchar must be 32 bits wide");

/* A text longer than this cannot be decoded into one palloc'd array. */
#define MAX_CODE_POINTS (MaxAllocSize / sizeof(pg_wchar) - 1)

/*
 * count_x_text counts t under X's current rules into *r.  Raises
 * CHARACTER_NOT_IN_REPERTOIRE if t is not valid UTF-8 once converted (in a
 * SQL_ASCII database PostgreSQL's own check raises it first; this one is a
 * backstop), PROGRAM_LIMIT_EXCEEDED if it is too long to decode.
 */
static void
count_x_text(const text *t, struct xtext_result *r)
{
	const char *src = VARDATA_ANY(t);
	int			srclen = VARSIZE_ANY_EXHDR(t);
	const char *utf8 = pg_server_to_any(src, srclen, PG_UTF8);
	size_t		len = utf8 == src ? (size_t) srclen : strlen(utf8);
	pg_wchar   *cps,
			   *nfc;
	size_t		n;

	if (len > MAX_CODE_POINTS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("text is too long to count"),
				 errdetail("The text has %zu bytes; at most %zu can be counted.",
						   len, (size_t) MAX_CODE_POINTS)));

	cps = palloc((len + 1) * sizeof(pg_wchar));
	if (xtext_utf8_decode(utf8, len, (uint32_t *) cps, &n) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("text is not valid UTF-8"),
				 errhint("Store post text in a UTF8 database.")));
	cps[n] = 0;

	/* Most posts are already NFC; the quick check spares a copy. */
	if (unicode_is_normalized_quickcheck(UNICODE_NFC, cps) == UNICODE_NORM_QC_YES)
		nfc = cps;
	else
	{
		nfc = unicode_normalize(UNICODE_NFC, cps);
		for (n = 0; nfc[n] != 0; n++)
			;
	}

	if (xtext_count(&xtext_config_v3, (const uint32_t *) nfc, n, r) != 0)
		elog(ERROR, "normalized text holds a code point that is not a Unicode scalar value");

	if (nfc != cps)
		pfree(nfc);
	pfree(cps);
	if (utf8 != src)
		pfree((char *) utf8);
}

/*
 * caas.x_weighted_length(text) returns integer: the length X counts for the
 * text (at most 280 for a valid post).
 */
Datum
caas_x_weighted_length(PG_FUNCTION_ARGS)
{
	struct xtext_result r;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	count_x_text(PG_GETARG_TEXT_PP(0), &r);
	if (r.weighted_length > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("weighted length is out of range for type integer")));
	PG_RETURN_INT32((int32) r.weighted_length);
}

/*
 * caas.x_text_is_valid(text) returns boolean: whether X accepts the text as a
 * post (not empty, within 280 weighted characters, no U+FFFE, U+FEFF or
 * U+FFFF).
 */
Datum
caas_x_text_is_valid(PG_FUNCTION_ARGS)
{
	struct xtext_result r;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	count_x_text(PG_GETARG_TEXT_PP(0), &r);
	PG_RETURN_BOOL(r.valid);
}
