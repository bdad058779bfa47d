/*
 * textdiff.c — word-level diff of two UTF-8 texts (pure C, no PostgreSQL).
 *
 * Pipeline: tokenize both texts; intern every token as an integer id; drop
 * tokens that occur in one text only (they can never be part of a longest
 * common subsequence, so this keeps the result minimal while shrinking the
 * problem); run Myers' O(ND) diff on the remaining ids; turn the per-token
 * "changed" flags into ops.
 *
 * Tokens.  A word is a run of letters, digits, '_' and non-ASCII letters
 * (any code point not listed in cp_ranges[] below), with an apostrophe kept
 * inside a word (don't, l’homme), '.' and ',' kept between digits (3.14,
 * 1,000), and a leading '#' or '@' kept on a hashtag or mention.  A run of
 * whitespace is one token.  Each punctuation mark, symbol, emoji and CJK /
 * kana character is a token of its own, because those scripts do not put
 * spaces between words.  Combining marks, variation selectors, skin-tone
 * modifiers and ZWJ emoji sequences stay on the token they modify.  A byte
 * that is not part of a valid UTF-8 sequence is a token of its own.  So an
 * op boundary never falls inside a valid UTF-8 sequence.
 *
 * Diff.  Myers, "An O(ND) Difference Algorithm and Its Variations" (1986),
 * with the linear-space refinement of section 4b: find the middle snake of a
 * box, split it there, and solve the halves.  As in GNU diff (analyze.c) and
 * git (xdiff), a search that has run max_cost edit steps without meeting in
 * the middle settles for the point that got furthest: the result is then a
 * correct but possibly non-minimal edit (res->minimal = false).  That bounds
 * the work of a split by O(max_cost * (n + m)) and the V arrays to
 * O(max_cost) entries.  Boxes waiting to be solved sit on a fixed stack; the
 * smaller half is always solved first, so the stack never holds more than
 * log2(n + m) + 1 boxes.
 *
 * Memory: every buffer is allocated through opts->alloc and released through
 * opts->free before textdiff_compute() returns, except res->ops.  Indexes are
 * int32_t: TEXTDIFF_MAX_INPUT_BYTES keeps token counts at most 2^26 a side.
 */
#include "textdiff.h"

#include <stdint.h>
#include <string.h>

#define CP_INVALID		0xFFFFFFFFu
#define CP_ZWJ			0x200Du
#define TICK_UNITS		(1 << 18)	/* work units between tick calls */
#define SPLIT_STACK_MAX	64

/*---- Code points and tokens ----*/

enum cp_class
{
	CC_WORD,					/* joins neighbouring word characters */
	CC_SPACE,					/* joins neighbouring whitespace */
	CC_PUNCT,					/* a token of its own */
	CC_SYMBOL,					/* a token of its own; may start a ZWJ sequence */
	CC_EXTEND,					/* attaches to the token before it */
	CC_RI,						/* regional indicator: flags are pairs */
	CC_BYTE						/* invalid UTF-8: a one-byte token */
};

struct cp_range
{
	uint32_t	lo;
	uint32_t	hi;
	enum cp_class cls;
};

/* Non-ASCII code points that are not word characters, sorted by lo. */
static const struct cp_range cp_ranges[] = {
	{0x0080, 0x0084, CC_PUNCT}, {0x0085, 0x0085, CC_SPACE},
	{0x0086, 0x009F, CC_PUNCT}, {0x00A0, 0x00A0, CC_SPACE},
	{0x00A1, 0x00A9, CC_PUNCT}, {0x00AB, 0x00B4, CC_PUNCT},
	{0x00B6, 0x00B9, CC_PUNCT}, {0x00BB, 0x00BF, CC_PUNCT},
	{0x00D7, 0x00D7, CC_PUNCT}, {0x00F7, 0x00F7, CC_PUNCT},
	{0x0300, 0x036F, CC_EXTEND}, {0x0483, 0x0489, CC_EXTEND},
	{0x1680, 0x1680, CC_SPACE}, {0x1AB0, 0x1AFF, CC_EXTEND},
	{0x1DC0, 0x1DFF, CC_EXTEND}, {0x2000, 0x200B, CC_SPACE},
	{0x200C, 0x200F, CC_EXTEND}, {0x2010, 0x2027, CC_PUNCT},
	{0x2028, 0x2029, CC_SPACE}, {0x202A, 0x202E, CC_EXTEND},
	{0x202F, 0x202F, CC_SPACE}, {0x2030, 0x205E, CC_PUNCT},
	{0x205F, 0x205F, CC_SPACE}, {0x2060, 0x206F, CC_EXTEND},
	{0x20A0, 0x20CF, CC_PUNCT}, {0x20D0, 0x20FF, CC_EXTEND},
	{0x2100, 0x2BFF, CC_SYMBOL}, {0x2E00, 0x2E7F, CC_PUNCT},
	{0x2E80, 0x2FFF, CC_SYMBOL}, {0x3000, 0x3000, CC_SPACE},
	{0x3001, 0x3003, CC_PUNCT}, {0x3004, 0x3007, CC_SYMBOL},
	{0x3008, 0x3020, CC_PUNCT}, {0x3021, 0x3029, CC_SYMBOL},
	{0x302A, 0x302F, CC_EXTEND}, {0x3030, 0x303F, CC_PUNCT},
	{0x3040, 0x3098, CC_SYMBOL}, {0x3099, 0x309A, CC_EXTEND},
	{0x309B, 0x4DBF, CC_SYMBOL}, {0x4DC0, 0x9FFF, CC_SYMBOL},
	{0xA000, 0xA4CF, CC_SYMBOL}, {0xF900, 0xFAFF, CC_SYMBOL},
	{0xFE00, 0xFE0F, CC_EXTEND}, {0xFE10, 0xFE1F, CC_PUNCT},
	{0xFE20, 0xFE2F, CC_EXTEND}, {0xFE30, 0xFE6F, CC_PUNCT},
	{0xFEFF, 0xFEFF, CC_EXTEND}, {0xFF01, 0xFF0F, CC_PUNCT},
	{0xFF1A, 0xFF20, CC_PUNCT}, {0xFF3B, 0xFF40, CC_PUNCT},
	{0xFF5B, 0xFF65, CC_PUNCT}, {0xFF66, 0xFF9F, CC_SYMBOL},
	{0xFFF0, 0xFFFF, CC_PUNCT}, {0x1F000, 0x1F1E5, CC_SYMBOL},
	{0x1F1E6, 0x1F1FF, CC_RI}, {0x1F200, 0x1F3FA, CC_SYMBOL},
	{0x1F3FB, 0x1F3FF, CC_EXTEND}, {0x1F400, 0x1FBFF, CC_SYMBOL},
	{0x20000, 0x3FFFF, CC_SYMBOL}, {0xE0000, 0xE007F, CC_EXTEND},
	{0xE0100, 0xE01EF, CC_EXTEND},
};

/*
 * decode_utf8 reads one code point at s (n >= 1 bytes available) into *cp and
 * returns its length.  Overlong forms, surrogates, values past U+10FFFF and
 * truncated sequences give CP_INVALID with length 1.
 */
static int
decode_utf8(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char c = s[0];
	uint32_t	v;
	uint32_t	min;
	int			len;
	int			i;

	*cp = CP_INVALID;
	if (c < 0x80)
	{
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF)
		len = 2, v = c & 0x1F, min = 0x80;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3, v = c & 0x0F, min = 0x800;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4, v = c & 0x07, min = 0x10000;
	else
		return 1;
	if ((size_t) len > n)
		return 1;
	for (i = 1; i < len; i++)
	{
		if ((s[i] & 0xC0) != 0x80)
			return 1;
		v = (v << 6) | (s[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 1;
	*cp = v;
	return len;
}

static enum cp_class
classify(uint32_t cp)
{
	size_t		lo = 0;
	size_t		hi = sizeof(cp_ranges) / sizeof(cp_ranges[0]);

	if (cp == CP_INVALID)
		return CC_BYTE;
	if (cp < 0x80)
	{
		if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
			(cp >= '0' && cp <= '9') || cp == '_')
			return CC_WORD;
		if (cp == ' ' || (cp >= '\t' && cp <= '\r'))
			return CC_SPACE;
		return CC_PUNCT;
	}
	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;

		if (cp < cp_ranges[mid].lo)
			hi = mid;
		else if (cp > cp_ranges[mid].hi)
			lo = mid + 1;
		else
			return cp_ranges[mid].cls;
	}
	return CC_WORD;
}

/* peek returns the class of the code point at pos (CC_BYTE past the end). */
static enum cp_class
peek(const unsigned char *s, size_t len, size_t pos, uint32_t *cp, int *cplen)
{
	if (pos >= len)
	{
		*cp = CP_INVALID;
		*cplen = 0;
		return CC_BYTE;
	}
	*cplen = decode_utf8(s + pos, len - pos, cp);
	return classify(*cp);
}

static bool
is_ascii_digit(uint32_t cp)
{
	return cp >= '0' && cp <= '9';
}

/*
 * skip_extend consumes the combining marks and modifiers after a token, and
 * the next symbol after each ZWJ (so a family or flag emoji stays whole).
 */
static size_t
skip_extend(const unsigned char *s, size_t len, size_t pos)
{
	uint32_t	cp;
	int			n;

	for (;;)
	{
		enum cp_class cls = peek(s, len, pos, &cp, &n);

		if (cls != CC_EXTEND)
			return pos;
		pos += n;
		if (cp == CP_ZWJ && peek(s, len, pos, &cp, &n) == CC_SYMBOL)
			pos += n;
	}
}

/*
 * joins_word says whether the punctuation cp at pos continues the word whose
 * last code point was prev: an apostrophe between word characters, or '.'
 * and ',' between digits.
 */
static bool
joins_word(const unsigned char *s, size_t len, size_t pos, uint32_t prev,
		   uint32_t cp, int n)
{
	uint32_t	next;
	int			nextlen;
	enum cp_class cls = peek(s, len, pos + n, &next, &nextlen);

	if (cp == '\'' || cp == 0x2019)
		return cls == CC_WORD;
	if (cp == '.' || cp == ',')
		return is_ascii_digit(prev) && is_ascii_digit(next);
	return false;
}

static size_t
skip_word(const unsigned char *s, size_t len, size_t pos, uint32_t prev)
{
	uint32_t	cp;
	int			n;

	for (;;)
	{
		enum cp_class cls = peek(s, len, pos, &cp, &n);

		if (cls == CC_WORD)
			prev = cp;
		else if (cls == CC_PUNCT && joins_word(s, len, pos, prev, cp, n))
			prev = cp;
		else if (cls != CC_EXTEND)
			return pos;
		pos += n;
	}
}

static size_t
skip_space(const unsigned char *s, size_t len, size_t pos)
{
	uint32_t	cp;
	int			n;

	while (peek(s, len, pos, &cp, &n) == CC_SPACE)
		pos += n;
	return pos;
}

/* starts_tag: '#' or '@' right before a word, and not right after one. */
static bool
starts_tag(const unsigned char *s, size_t len, size_t pos, uint32_t cp)
{
	uint32_t	next;
	int			n;

	if (cp != '#' && cp != '@')
		return false;
	if (pos > 0 && (s[pos - 1] >= 0x80 || classify(s[pos - 1]) == CC_WORD))
		return false;
	return peek(s, len, pos + 1, &next, &n) == CC_WORD;
}

size_t
textdiff_token_end(const char *text, size_t len, size_t pos)
{
	const unsigned char *s = (const unsigned char *) text;
	uint32_t	cp;
	int			n;
	enum cp_class cls = peek(s, len, pos, &cp, &n);

	switch (cls)
	{
		case CC_WORD:
			return skip_word(s, len, pos + n, cp);
		case CC_SPACE:
			return skip_space(s, len, pos + n);
		case CC_PUNCT:
			if (starts_tag(s, len, pos, cp))
				return skip_word(s, len, pos + n, cp);
			return skip_extend(s, len, pos + n);
		case CC_RI:
			pos += n;
			if (peek(s, len, pos, &cp, &n) == CC_RI)
				pos += n;
			return skip_extend(s, len, pos);
		case CC_SYMBOL:
		case CC_EXTEND:
			return skip_extend(s, len, pos + n);
		case CC_BYTE:
			break;
	}
	return pos + 1;
}

size_t
textdiff_count_chars(const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *) text;
	size_t		pos = 0;
	size_t		count = 0;
	uint32_t	cp;

	while (pos < len)
	{
		pos += decode_utf8(s + pos, len - pos, &cp);
		count++;
	}
	return count;
}

/*---- Diff state ----*/

/* One text: its tokens, their ids, and the compacted sequence that is diffed. */
struct side
{
	const unsigned char *text;
	size_t		len;
	int32_t		ntok;
	uint32_t   *end;			/* end byte offset of each token */
	int32_t    *id;				/* interned id of each token */
	unsigned char *chg;			/* 1: token is deleted (old) / inserted (new) */
	int32_t		ncmp;
	int32_t    *cmp_idx;		/* compacted: index into the token arrays */
	int32_t    *cmp_id;			/* compacted: id (the diffed sequence) */
};

struct diff_ctx
{
	const struct textdiff_options *opts;
	struct side a;				/* old */
	struct side b;				/* new */
	int32_t		max_cost;
	int32_t    *vf;				/* forward V: furthest x per diagonal */
	int32_t    *vb;				/* backward V: smallest x per diagonal */
	size_t		work;			/* units since the last tick */
	bool		minimal;
	int			error;
};

/* A sub-problem: compacted old [off1, lim1) against new [off2, lim2). */
struct box
{
	int32_t		off1;
	int32_t		lim1;
	int32_t		off2;
	int32_t		lim2;
};

static void *
ctx_alloc(struct diff_ctx *c, size_t count, size_t size)
{
	void	   *p;

	if (c->error != TEXTDIFF_OK)
		return NULL;
	if (count == 0)
		count = 1;				/* malloc(0) may return NULL */
	if (count > SIZE_MAX / size)
	{
		c->error = TEXTDIFF_ENOMEM;
		return NULL;
	}
	p = c->opts->alloc(c->opts->arg, count * size);
	if (p == NULL)
		c->error = TEXTDIFF_ENOMEM;
	return p;
}

static void
ctx_free(struct diff_ctx *c, void *p)
{
	if (p != NULL && c->opts->free != NULL)
		c->opts->free(c->opts->arg, p);
}

/* charge adds work units and calls the tick hook when enough have built up. */
static int
charge(struct diff_ctx *c, size_t units)
{
	c->work += units;
	if (c->work < TICK_UNITS)
		return 0;
	c->work = 0;
	if (c->opts->tick != NULL && c->opts->tick(c->opts->arg) != 0)
	{
		c->error = TEXTDIFF_EABORTED;
		return -1;
	}
	return 0;
}

static size_t
tok_start(const struct side *s, int32_t i)
{
	return i == 0 ? 0 : s->end[i - 1];
}

/*---- Tokenizing and interning ----*/

static int
tokenize(struct diff_ctx *c, struct side *s)
{
	size_t		pos;
	int32_t		n = 0;

	for (pos = 0; pos < s->len; pos = textdiff_token_end((const char *) s->text, s->len, pos))
		n++;
	s->ntok = n;
	s->end = ctx_alloc(c, (size_t) n, sizeof(uint32_t));
	s->id = ctx_alloc(c, (size_t) n, sizeof(int32_t));
	s->chg = ctx_alloc(c, (size_t) n, 1);
	if (c->error != TEXTDIFF_OK)
		return -1;
	memset(s->chg, 0, (size_t) n);
	n = 0;
	for (pos = 0; pos < s->len; n++)
	{
		pos = textdiff_token_end((const char *) s->text, s->len, pos);
		s->end[n] = (uint32_t) pos;
	}
	return charge(c, s->len);
}

struct slot
{
	uint32_t	hash;
	int32_t		id;				/* -1: empty */
	const unsigned char *p;
	uint32_t	len;
};

static uint32_t
hash_bytes(const unsigned char *p, size_t n)
{
	uint32_t	h = 2166136261u;	/* FNV-1a, then a murmur3 finalizer */
	size_t		i;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	return h ^ (h >> 16);
}

/*
 * intern_side gives each token of s the id of its byte string, adding new
 * strings to the table; seen[id] |= mark records which texts hold the id.
 */
static int
intern_side(struct diff_ctx *c, struct side *s, struct slot *tab, uint32_t mask,
			int32_t *nids, unsigned char *seen, unsigned char mark)
{
	int32_t		i;

	for (i = 0; i < s->ntok; i++)
	{
		const unsigned char *p = s->text + tok_start(s, i);
		uint32_t	len = s->end[i] - (uint32_t) tok_start(s, i);
		uint32_t	h = hash_bytes(p, len);
		uint32_t	j = h & mask;
		size_t		probes = 1;

		while (tab[j].id >= 0 &&
			   !(tab[j].hash == h && tab[j].len == len && memcmp(tab[j].p, p, len) == 0))
		{
			j = (j + 1) & mask;
			probes++;
		}
		if (tab[j].id < 0)
		{
			tab[j].hash = h;
			tab[j].id = (*nids)++;
			tab[j].p = p;
			tab[j].len = len;
			seen[tab[j].id] = 0;
		}
		s->id[i] = tab[j].id;
		seen[tab[j].id] |= mark;
		if (charge(c, probes + len) != 0)
			return -1;
	}
	return 0;
}

/*
 * compact_side keeps the tokens whose id occurs in the other text (mark) and
 * flags the others as changed right away.
 */
static int
compact_side(struct diff_ctx *c, struct side *s, const unsigned char *seen,
			 unsigned char mark)
{
	int32_t		i;

	s->cmp_idx = ctx_alloc(c, (size_t) s->ntok, sizeof(int32_t));
	s->cmp_id = ctx_alloc(c, (size_t) s->ntok, sizeof(int32_t));
	if (c->error != TEXTDIFF_OK)
		return -1;
	s->ncmp = 0;
	for (i = 0; i < s->ntok; i++)
	{
		if (seen[s->id[i]] & mark)
		{
			s->cmp_idx[s->ncmp] = i;
			s->cmp_id[s->ncmp++] = s->id[i];
		}
		else
			s->chg[i] = 1;
	}
	return 0;
}

static int
intern_tokens(struct diff_ctx *c)
{
	size_t		total = (size_t) c->a.ntok + (size_t) c->b.ntok;
	size_t		cap = 16;
	size_t		i;
	int32_t		nids = 0;
	struct slot *tab;
	unsigned char *seen;

	while (cap < total + total / 2 + 1)
		cap <<= 1;				/* load factor at most 2/3 */
	tab = ctx_alloc(c, cap, sizeof(struct slot));
	seen = ctx_alloc(c, total, 1);
	if (c->error == TEXTDIFF_OK)
	{
		for (i = 0; i < cap; i++)
			tab[i].id = -1;
		if (intern_side(c, &c->a, tab, (uint32_t) (cap - 1), &nids, seen, 1) == 0 &&
			intern_side(c, &c->b, tab, (uint32_t) (cap - 1), &nids, seen, 2) == 0 &&
			compact_side(c, &c->a, seen, 2) == 0)
			compact_side(c, &c->b, seen, 1);
	}
	ctx_free(c, tab);
	ctx_free(c, seen);
	return c->error == TEXTDIFF_OK ? 0 : -1;
}

/*---- Myers ----*/

static void
mark_changed(struct side *s, int32_t from, int32_t to)
{
	for (; from < to; from++)
		s->chg[s->cmp_idx[from]] = 1;
}

/*
 * One middle-snake search over a[0, n) and b[0, m).  Forward V holds, per
 * diagonal k = x - y, the furthest x a path from (0, 0) reached; backward V
 * the smallest x a path from (n, m) reached.  Diagonals are clamped to the
 * box, [-m, n]; vofs maps a diagonal to an array index.
 */
struct search
{
	const int32_t *a;
	const int32_t *b;
	int32_t		n;
	int32_t		m;
	int32_t		delta;			/* n - m: the diagonal of (n, m) */
	bool		odd;			/* delta is odd: forward steps detect overlap */
	int32_t		vofs;
	int32_t    *vf;
	int32_t    *vb;
	int32_t		fmin, fmax;		/* forward diagonals of the last step */
	int32_t		bmin, bmax;		/* backward diagonals of the last step */
};

#define VF(k)	s->vf[(k) + s->vofs]
#define VB(k)	s->vb[(k) - s->delta + s->vofs]

/* split_ok: a split must lie in the box and not on a corner (no progress). */
static bool
split_ok(const struct search *s, int32_t x, int32_t y)
{
	if (x < 0 || x > s->n || y < 0 || y > s->m)
		return false;
	return !(x == 0 && y == 0) && !(x == s->n && y == s->m);
}

/*
 * forward_step extends every forward path by one edit and its snake.
 * Returns true with (*sx, *sy) when a path meets a backward one.
 */
static bool
forward_step(struct search *s, int32_t *sx, int32_t *sy)
{
	int32_t		k, x, y;

	if (s->fmin > -s->m)
		VF(--s->fmin - 1) = -1;
	else
		++s->fmin;
	if (s->fmax < s->n)
		VF(++s->fmax + 1) = -1;
	else
		--s->fmax;
	for (k = s->fmax; k >= s->fmin; k -= 2)
	{
		x = VF(k - 1) >= VF(k + 1) ? VF(k - 1) + 1 : VF(k + 1);
		y = x - k;
		while (x < s->n && y < s->m && s->a[x] == s->b[y])
			x++, y++;
		VF(k) = x;
		if (s->odd && s->bmin <= k && k <= s->bmax && VB(k) <= x)
		{
			*sx = x, *sy = y;
			return true;
		}
	}
	return false;
}

/* backward_step is forward_step's mirror image, from (n, m) towards (0, 0). */
static bool
backward_step(struct search *s, int32_t *sx, int32_t *sy)
{
	int32_t		k, x, y;

	if (s->bmin > -s->m)
		VB(--s->bmin - 1) = INT32_MAX;
	else
		++s->bmin;
	if (s->bmax < s->n)
		VB(++s->bmax + 1) = INT32_MAX;
	else
		--s->bmax;
	for (k = s->bmax; k >= s->bmin; k -= 2)
	{
		x = VB(k - 1) < VB(k + 1) ? VB(k - 1) : VB(k + 1) - 1;
		y = x - k;
		while (x > 0 && y > 0 && s->a[x - 1] == s->b[y - 1])
			x--, y--;
		VB(k) = x;
		if (!s->odd && s->fmin <= k && k <= s->fmax && x <= VF(k))
		{
			*sx = x, *sy = y;
			return true;
		}
	}
	return false;
}

/*
 * best_split picks, after max_cost fruitless steps, the furthest point any
 * forward or backward path reached.  Returns false if none is usable.
 */
static bool
best_split(const struct search *s, int32_t *sx, int32_t *sy)
{
	int64_t		best = -1;
	int32_t		k, x, y;

	for (k = s->fmin; k <= s->fmax; k += 2)
	{
		x = VF(k), y = x - k;
		if (split_ok(s, x, y) && (int64_t) x + y > best)
			best = (int64_t) x + y, *sx = x, *sy = y;
	}
	for (k = s->bmin; k <= s->bmax; k += 2)
	{
		x = VB(k), y = x - k;
		if (split_ok(s, x, y) && (int64_t) (s->n - x) + (s->m - y) > best)
			best = (int64_t) (s->n - x) + (s->m - y), *sx = x, *sy = y;
	}
	return best >= 0;
}

#undef VF
#undef VB

/*
 * find_split finds where a shortest edit of a[0, n) into b[0, m) crosses its
 * middle (both n, m >= 1; a[0] != b[0] and a[n-1] != b[m-1], so the
 * 0-step paths have no snake).  Returns 1 with an exact split, 0 with a
 * heuristic one (cost cut), -1 when no usable split was found (the caller
 * then treats the box as wholly changed) and -2 when the tick hook aborted.
 */
static int
find_split(struct diff_ctx *c, const int32_t *a, int32_t n,
		   const int32_t *b, int32_t m, int32_t *sx, int32_t *sy)
{
	struct search s;
	int32_t		lim = (int32_t) (((int64_t) n + m + 1) / 2 + 1);
	int32_t		d;

	if (lim > c->max_cost)
		lim = c->max_cost;
	s.a = a, s.b = b, s.n = n, s.m = m;
	s.delta = n - m;
	s.odd = (s.delta & 1) != 0;
	s.vofs = lim + 1;			/* steps <= lim touch diagonals within lim + 1 */
	s.vf = c->vf, s.vb = c->vb;
	s.fmin = s.fmax = 0;
	s.bmin = s.bmax = s.delta;
	s.vf[s.vofs] = 0;
	s.vb[s.vofs] = n;
	for (d = 1; d <= lim; d++)
	{
		if (charge(c, 2 * (size_t) d + 2) != 0)
			return -2;
		if (forward_step(&s, sx, sy) || backward_step(&s, sx, sy))
			return split_ok(&s, *sx, *sy) ? 1 : -1;
	}
	c->minimal = false;
	return best_split(&s, sx, sy) ? 0 : -1;
}

/*
 * solve_box trims the box's common prefix and suffix and either finishes it
 * (one side empty) or splits it.  Returns 1 with *lo and *hi set when split,
 * 0 when finished, -1 on abort.
 */
static int
solve_box(struct diff_ctx *c, struct box *bx, struct box *lo, struct box *hi)
{
	const int32_t *a = c->a.cmp_id;
	const int32_t *b = c->b.cmp_id;
	int32_t		sx, sy;
	int			r;

	while (bx->off1 < bx->lim1 && bx->off2 < bx->lim2 && a[bx->off1] == b[bx->off2])
		bx->off1++, bx->off2++;
	while (bx->off1 < bx->lim1 && bx->off2 < bx->lim2 && a[bx->lim1 - 1] == b[bx->lim2 - 1])
		bx->lim1--, bx->lim2--;
	if (bx->off1 == bx->lim1 || bx->off2 == bx->lim2)
	{
		mark_changed(&c->a, bx->off1, bx->lim1);
		mark_changed(&c->b, bx->off2, bx->lim2);
		return 0;
	}
	r = find_split(c, a + bx->off1, bx->lim1 - bx->off1,
				   b + bx->off2, bx->lim2 - bx->off2, &sx, &sy);
	if (r == -2)
		return -1;
	if (r == -1)
	{
		c->minimal = false;
		mark_changed(&c->a, bx->off1, bx->lim1);
		mark_changed(&c->b, bx->off2, bx->lim2);
		return 0;
	}
	*lo = (struct box) {bx->off1, bx->off1 + sx, bx->off2, bx->off2 + sy};
	*hi = (struct box) {bx->off1 + sx, bx->lim1, bx->off2 + sy, bx->lim2};
	return 1;
}

static int64_t
box_size(const struct box *bx)
{
	return (int64_t) (bx->lim1 - bx->off1) + (bx->lim2 - bx->off2);
}

/*
 * run_myers flags every compacted token outside one longest common
 * subsequence (or, after a cost cut, a long one) as changed.
 */
static int
run_myers(struct diff_ctx *c)
{
	struct box	stack[SPLIT_STACK_MAX];
	struct box	cur = {0, c->a.ncmp, 0, c->b.ncmp};
	struct box	lo, hi;
	int			depth = 0;
	int			r;

	for (;;)
	{
		r = solve_box(c, &cur, &lo, &hi);
		if (r < 0)
			return -1;
		if (r == 0)
		{
			if (depth == 0)
				return 0;
			cur = stack[--depth];
			continue;
		}
		if (depth == SPLIT_STACK_MAX)
		{
			c->error = TEXTDIFF_EINTERNAL;	/* cannot happen: depth <= log2 */
			return -1;
		}
		/* Solve the smaller half first: the stack then stays logarithmic. */
		stack[depth++] = box_size(&lo) > box_size(&hi) ? lo : hi;
		cur = box_size(&lo) > box_size(&hi) ? hi : lo;
	}
}

/*---- Ops ----*/

static void
emit(struct diff_ctx *c, struct textdiff_result *res, enum textdiff_op_kind kind,
	 int32_t i0, int32_t i1, int32_t j0, int32_t j1)
{
	struct textdiff_op *op = &res->ops[res->nops++];

	op->kind = kind;
	op->old_off = tok_start(&c->a, i0);
	op->old_len = tok_start(&c->a, i1) - op->old_off;
	op->new_off = tok_start(&c->b, j0);
	op->new_len = tok_start(&c->b, j1) - op->new_off;
	op->tokens = kind == TEXTDIFF_INSERT ? (size_t) (j1 - j0) : (size_t) (i1 - i0);
	if (kind == TEXTDIFF_DELETE)
	{
		op->chars = textdiff_count_chars((const char *) c->a.text + op->old_off, op->old_len);
		res->deleted_tokens += op->tokens;
		res->deleted_chars += op->chars;
		res->deleted_bytes += op->old_len;
	}
	else
	{
		op->chars = textdiff_count_chars((const char *) c->b.text + op->new_off, op->new_len);
		if (kind == TEXTDIFF_INSERT)
		{
			res->inserted_tokens += op->tokens;
			res->inserted_chars += op->chars;
			res->inserted_bytes += op->new_len;
		}
	}
}

/* add_op counts an op, and stores it too once res->ops is allocated. */
static void
add_op(struct diff_ctx *c, struct textdiff_result *res, int64_t *nops,
	   enum textdiff_op_kind kind, int32_t i0, int32_t i1, int32_t j0, int32_t j1)
{
	(*nops)++;
	if (res != NULL)
		emit(c, res, kind, i0, i1, j0, j1);
}

/*
 * walk_ops turns the changed flags into ops, only counting them when res is
 * NULL.  Unchanged tokens must pair up one to one with equal ids; returns -1
 * if they do not, so that a bug yields an error rather than a wrong diff.
 */
static int64_t
walk_ops(struct diff_ctx *c, struct textdiff_result *res)
{
	const struct side *a = &c->a;
	const struct side *b = &c->b;
	int32_t		i = 0, j = 0, i0, j0;
	int64_t		nops = 0;

	while (i < a->ntok || j < b->ntok)
	{
		int32_t		start_i = i, start_j = j;

		for (i0 = i, j0 = j; i < a->ntok && j < b->ntok && !a->chg[i] && !b->chg[j]; i++, j++)
		{
			if (a->id[i] != b->id[j])
				return -1;
		}
		if (i > i0)
			add_op(c, res, &nops, TEXTDIFF_EQUAL, i0, i, j0, j);
		for (i0 = i; i < a->ntok && a->chg[i]; i++)
			;
		for (j0 = j; j < b->ntok && b->chg[j]; j++)
			;
		if (i > i0)
			add_op(c, res, &nops, TEXTDIFF_DELETE, i0, i, j0, j0);
		if (j > j0)
			add_op(c, res, &nops, TEXTDIFF_INSERT, i, i, j0, j);
		if (i == start_i && j == start_j)
			return -1;			/* an unchanged token with no partner */
	}
	return nops;
}

static int
build_ops(struct diff_ctx *c, struct textdiff_result *res)
{
	int64_t		nops = walk_ops(c, NULL);

	if (nops < 0)
	{
		c->error = TEXTDIFF_EINTERNAL;
		return -1;
	}
	if (nops == 0)
		return 0;
	res->ops = ctx_alloc(c, (size_t) nops, sizeof(struct textdiff_op));
	if (res->ops == NULL)
		return -1;
	walk_ops(c, res);
	return 0;
}

/*---- Entry points ----*/

static void
free_side(struct diff_ctx *c, struct side *s)
{
	ctx_free(c, s->end);
	ctx_free(c, s->id);
	ctx_free(c, s->chg);
	ctx_free(c, s->cmp_idx);
	ctx_free(c, s->cmp_id);
}

static int
diff_sides(struct diff_ctx *c, struct textdiff_result *res)
{
	size_t		vlen;

	if (tokenize(c, &c->a) != 0 || tokenize(c, &c->b) != 0 ||
		intern_tokens(c) != 0)
		return -1;
	/* find_split never runs more steps than this, nor touches more diagonals */
	if (c->max_cost > (c->a.ncmp + c->b.ncmp + 1) / 2 + 1)
		c->max_cost = (c->a.ncmp + c->b.ncmp + 1) / 2 + 1;
	vlen = 2 * (size_t) c->max_cost + 3;
	c->vf = ctx_alloc(c, vlen, sizeof(int32_t));
	c->vb = ctx_alloc(c, vlen, sizeof(int32_t));
	if (c->error != TEXTDIFF_OK || run_myers(c) != 0)
		return -1;
	return build_ops(c, res);
}

int
textdiff_compute(const char *old_text, size_t old_len,
				 const char *new_text, size_t new_len,
				 const struct textdiff_options *opts,
				 struct textdiff_result *res)
{
	struct diff_ctx c;

	memset(res, 0, sizeof(*res));
	res->minimal = true;
	if (old_len > TEXTDIFF_MAX_INPUT_BYTES || new_len > TEXTDIFF_MAX_INPUT_BYTES)
		return TEXTDIFF_ETOOBIG;
	memset(&c, 0, sizeof(c));
	c.opts = opts;
	c.a.text = (const unsigned char *) (old_len > 0 ? old_text : "");
	c.a.len = old_len;
	c.b.text = (const unsigned char *) (new_len > 0 ? new_text : "");
	c.b.len = new_len;
	c.max_cost = opts->max_cost > 0 ? opts->max_cost : TEXTDIFF_DEFAULT_MAX_COST;
	if (c.max_cost > (1 << 24))
		c.max_cost = 1 << 24;
	c.minimal = true;
	diff_sides(&c, res);
	free_side(&c, &c.a);
	free_side(&c, &c.b);
	ctx_free(&c, c.vf);
	ctx_free(&c, c.vb);
	if (c.error != TEXTDIFF_OK)
	{
		textdiff_result_free(res, opts);
		return c.error;
	}
	res->minimal = c.minimal;
	return TEXTDIFF_OK;
}

void
textdiff_result_free(struct textdiff_result *res, const struct textdiff_options *opts)
{
	if (res == NULL)
		return;
	if (res->ops != NULL && opts->free != NULL)
		opts->free(opts->arg, res->ops);
	memset(res, 0, sizeof(*res));
	res->minimal = true;
}

const char *
textdiff_strerror(int err)
{
	switch (err)
	{
		case TEXTDIFF_OK:
			return "success";
		case TEXTDIFF_ENOMEM:
			return "out of memory";
		case TEXTDIFF_ETOOBIG:
			return "input too long";
		case TEXTDIFF_EABORTED:
			return "aborted";
		case TEXTDIFF_EINTERNAL:
			return "internal consistency check failed";
	}
	return "unknown error";
}
