/*
 * textdiff.h — word-level diff of two UTF-8 texts (pure C, no PostgreSQL).
 *
 * Wording: a *token* is a word, a run of whitespace, or one punctuation mark
 * or symbol (see textdiff.c for the exact rules); an *op* is a maximal run of
 * tokens that are equal in both texts, only in the old text (delete) or only
 * in the new text (insert).  Offsets and lengths are in bytes and always fall
 * on token boundaries, so an op never splits a valid UTF-8 sequence.
 *
 * Every allocation goes through the caller's hooks (palloc inside the
 * server, malloc outside); the result is owned by the caller and released
 * with textdiff_result_free().
 */
#ifndef CAAS_TEXTDIFF_H
#define CAAS_TEXTDIFF_H

#include <stdbool.h>
#include <stddef.h>

/* Inputs longer than this are refused (TEXTDIFF_ETOOBIG); keeps indexes in int32. */
#define TEXTDIFF_MAX_INPUT_BYTES	((size_t) 64 * 1024 * 1024)

/*
 * Cost bound of the default options: past this many edit steps in one
 * middle-snake search the diff settles for a good, not minimal, split.
 */
#define TEXTDIFF_DEFAULT_MAX_COST	256

enum textdiff_error
{
	TEXTDIFF_OK = 0,
	TEXTDIFF_ENOMEM = -1,		/* an allocation hook returned NULL */
	TEXTDIFF_ETOOBIG = -2,		/* an input exceeds TEXTDIFF_MAX_INPUT_BYTES */
	TEXTDIFF_EABORTED = -3,		/* the tick hook asked to stop */
	TEXTDIFF_EINTERNAL = -4		/* a self-check failed (a bug; never expected) */
};

enum textdiff_op_kind
{
	TEXTDIFF_EQUAL,
	TEXTDIFF_DELETE,
	TEXTDIFF_INSERT
};

/*
 * Hooks and tuning.  alloc is required; free may be NULL when the memory is
 * reclaimed wholesale (a memory context).  tick, if set, is called every few
 * milliseconds of work; a nonzero return stops the diff with
 * TEXTDIFF_EABORTED.  tick may also longjmp (CHECK_FOR_INTERRUPTS), but only
 * when alloc's memory is reclaimed by the caller, since nothing is freed then.
 * max_cost 0 means TEXTDIFF_DEFAULT_MAX_COST.
 */
struct textdiff_options
{
	void	   *(*alloc) (void *arg, size_t size);
	void		(*free) (void *arg, void *ptr);
	int			(*tick) (void *arg);
	void	   *arg;			/* passed to every hook */
	int			max_cost;
};

/*
 * One op.  EQUAL: old_len == new_len bytes, identical in both texts.
 * DELETE: old bytes [old_off, old_off + old_len); new_len is 0 and new_off is
 * where they would have been in the new text.  INSERT: the mirror image.
 * Applying the ops in order to the old text yields the new text.
 */
struct textdiff_op
{
	enum textdiff_op_kind kind;
	size_t		old_off;
	size_t		old_len;
	size_t		new_off;
	size_t		new_len;
	size_t		tokens;			/* tokens in the op */
	size_t		chars;			/* code points in the op (invalid byte = 1) */
};

struct textdiff_result
{
	struct textdiff_op *ops;	/* nops ops; NULL when nops == 0 */
	size_t		nops;
	size_t		inserted_tokens;
	size_t		deleted_tokens;
	size_t		inserted_chars; /* code points; an invalid UTF-8 byte counts 1 */
	size_t		deleted_chars;
	size_t		inserted_bytes;
	size_t		deleted_bytes;
	bool		minimal;		/* false when max_cost cut a search short */
};

/*
 * textdiff_compute diffs old_text against new_text (neither needs a NUL
 * terminator; either may be NULL when its length is 0).  Returns TEXTDIFF_OK
 * and fills *res, which the caller then owns; on failure returns a negative
 * textdiff_error, frees everything it allocated and leaves *res empty.
 * Any bytes are accepted: invalid UTF-8 is diffed byte by byte.
 */
int			textdiff_compute(const char *old_text, size_t old_len,
							 const char *new_text, size_t new_len,
							 const struct textdiff_options *opts,
							 struct textdiff_result *res);

/* textdiff_result_free releases res->ops (NULL-safe) and empties *res. */
void		textdiff_result_free(struct textdiff_result *res,
								 const struct textdiff_options *opts);

/* textdiff_strerror returns a static message for a textdiff_error. */
const char *textdiff_strerror(int err);

/*
 * textdiff_token_end returns the end offset of the token starting at pos
 * (pos < len); exposed for tests.  textdiff_count_chars counts code points.
 */
size_t		textdiff_token_end(const char *text, size_t len, size_t pos);
size_t		textdiff_count_chars(const char *text, size_t len);

#endif							/* CAAS_TEXTDIFF_H */
