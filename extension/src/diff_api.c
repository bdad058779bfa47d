/*
 * diff_api.c — caas.text_diff(old text, new text) → jsonb: which words
 * changed between two versions of a post's text.
 *
 * The diff is textdiff.c (pure C, word-level, see its header); this file
 * adapts it to the server: palloc/pfree as its allocator, and
 * CHECK_FOR_INTERRUPTS as its tick so a long diff honours statement_timeout
 * and cancel requests.  Everything is allocated in the calling memory
 * context, so an ERROR (or a cancel inside the tick) frees it all.
 *
 * textdiff.c works on UTF-8.  In a UTF8 database the texts are used as they
 * are; in SQL_ASCII too, with bytes that are not UTF-8 diffed one by one.  In
 * any other encoding both texts are converted to UTF-8 and each op's text
 * back, so op boundaries never split a character in any encoding.
 *
 * Result shape:
 *   {"ops": [{"op": "equal" | "delete" | "insert", "text": "..."}, ...],
 *    "inserted_chars": n, "deleted_chars": n}
 * Ops are in text order, never empty, and no two neighbours share a kind;
 * concatenating the "equal" and "insert" texts gives the new text, and the
 * "equal" and "delete" texts the old one.  Characters are code points.
 */
#include "postgres.h"

#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "textdiff.h"

/*
 * Longest text accepted, in bytes of UTF-8.  A content body is at most 65,536
 * characters, so at most this; the worst case (every byte its own token, no
 * two texts alike) then costs about 0.4 s and 32 MB.
 */
#define TEXT_DIFF_MAX_BYTES		(256 * 1024)

/* One input as textdiff sees it: UTF-8 bytes (or SQL_ASCII bytes). */
struct diff_text
{
	const char *data;
	size_t		len;
};

PG_FUNCTION_INFO_V1(caas_text_diff);

static void *
diff_alloc(void *arg, size_t size)
{
	return palloc(size);
}

static void
diff_free(void *arg, void *ptr)
{
	pfree(ptr);
}

static int
diff_tick(void *arg)
{
	CHECK_FOR_INTERRUPTS();
	return 0;
}

static bool
server_is_utf8_compatible(void)
{
	int			enc = GetDatabaseEncoding();

	return enc == PG_UTF8 || enc == PG_SQL_ASCII;
}

/*
 * diff_text_get reads a text argument as UTF-8 and enforces the length
 * limit; which names the argument in the error.
 */
static struct diff_text
diff_text_get(text *t, const char *which)
{
	struct diff_text d;

	d.data = VARDATA_ANY(t);
	d.len = VARSIZE_ANY_EXHDR(t);
	if (!server_is_utf8_compatible() && d.len > 0)
	{
		d.data = pg_server_to_any(d.data, (int) d.len, PG_UTF8);
		if (d.data != VARDATA_ANY(t))
			d.len = strlen(d.data);
	}
	if (d.len > TEXT_DIFF_MAX_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s text is too long to diff", which),
				 errdetail("The text has %zu bytes in UTF-8; at most %d are accepted.",
						   d.len, TEXT_DIFF_MAX_BYTES)));
	return d;
}

static void
push_key(JsonbParseState **state, const char *key)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) key;
	v.val.string.len = strlen(key);
	pushJsonbValue(state, WJB_KEY, &v);
}

/* push_text pushes a UTF-8 slice as a string value, in the server encoding. */
static void
push_text(JsonbParseState **state, const char *data, size_t len)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) data;
	v.val.string.len = (int) len;
	if (!server_is_utf8_compatible() && len > 0)
	{
		v.val.string.val = pg_any_to_server(data, (int) len, PG_UTF8);
		if (v.val.string.val != data)
			v.val.string.len = strlen(v.val.string.val);
	}
	pushJsonbValue(state, WJB_VALUE, &v);
}

static void
push_count(JsonbParseState **state, const char *key, size_t n)
{
	JsonbValue	v;

	push_key(state, key);
	v.type = jbvNumeric;
	v.val.numeric = int64_to_numeric((int64) n);
	pushJsonbValue(state, WJB_VALUE, &v);
}

static const char *
op_name(enum textdiff_op_kind kind)
{
	switch (kind)
	{
		case TEXTDIFF_EQUAL:
			return "equal";
		case TEXTDIFF_DELETE:
			return "delete";
		case TEXTDIFF_INSERT:
			return "insert";
	}
	elog(ERROR, "unexpected text diff op kind %d", (int) kind);
	return NULL;				/* not reached */
}

/*
 * push_ops pushes the ops array, merging neighbours of the same kind
 * (textdiff already returns them merged; this keeps the promise of the
 * result shape independent of that).
 */
static void
push_ops(JsonbParseState **state, const struct textdiff_result *res,
		 const struct diff_text *old_t, const struct diff_text *new_t)
{
	size_t		i = 0;

	push_key(state, "ops");
	pushJsonbValue(state, WJB_BEGIN_ARRAY, NULL);
	while (i < res->nops)
	{
		const struct textdiff_op *op = &res->ops[i];
		bool		ins = op->kind == TEXTDIFF_INSERT;
		const char *base = ins ? new_t->data : old_t->data;
		size_t		off = ins ? op->new_off : op->old_off;
		size_t		len = 0;

		for (; i < res->nops && res->ops[i].kind == op->kind; i++)
			len += ins ? res->ops[i].new_len : res->ops[i].old_len;
		pushJsonbValue(state, WJB_BEGIN_OBJECT, NULL);
		push_key(state, "op");
		push_text(state, op_name(op->kind), strlen(op_name(op->kind)));
		push_key(state, "text");
		push_text(state, base + off, len);
		pushJsonbValue(state, WJB_END_OBJECT, NULL);
	}
	pushJsonbValue(state, WJB_END_ARRAY, NULL);
}

/*
 * caas.text_diff(old text, new text) → jsonb
 *
 * The word-level diff of old against new (shape in the file header).  Raises
 * 22023 when either text is longer than TEXT_DIFF_MAX_BYTES in UTF-8.
 * Declared STRICT, IMMUTABLE and PARALLEL SAFE: it reads nothing but its
 * arguments.
 */
Datum
caas_text_diff(PG_FUNCTION_ARGS)
{
	struct diff_text old_t = diff_text_get(PG_GETARG_TEXT_PP(0), "old");
	struct diff_text new_t = diff_text_get(PG_GETARG_TEXT_PP(1), "new");
	struct textdiff_options opts = {0};
	struct textdiff_result res;
	JsonbParseState *state = NULL;
	JsonbValue *root;
	int			rc;

	opts.alloc = diff_alloc;
	opts.free = diff_free;
	opts.tick = diff_tick;
	rc = textdiff_compute(old_t.data, old_t.len, new_t.data, new_t.len, &opts, &res);
	if (rc == TEXTDIFF_ENOMEM)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	if (rc != TEXTDIFF_OK)
		elog(ERROR, "text diff failed: %s", textdiff_strerror(rc));

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	push_ops(&state, &res, &old_t, &new_t);
	push_count(&state, "inserted_chars", res.inserted_chars);
	push_count(&state, "deleted_chars", res.deleted_chars);
	root = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	textdiff_result_free(&res, &opts);
	PG_RETURN_JSONB_P(JsonbValueToJsonb(root));
}
