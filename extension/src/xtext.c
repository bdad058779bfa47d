/*
 * extension/src/xtext.c
 *	  X's (Twitter's) weighted length of a post, as twitter-text computes it.
 *
 * Follows twitter-text's parseTweet (js/src/parseTweet.js, the reference for
 * its conformance data): walk the NFC text one unit at a time, where a unit
 * is a URL found by the extractor (xtext_url.c), else, with emoji parsing, an
 * emoji sequence, else one code point; a URL weighs transformedURLLength *
 * scale, an emoji sequence defaultWeight, a code point the weight of the
 * first configured range holding it, else defaultWeight.  The text is valid
 * while no unit ends with an invalid character (U+FFFE, U+FEFF, U+FFFF) and
 * the total stays within maxWeightedTweetLength.
 *
 * Emoji sequences are those of Unicode 15's emoji-test.txt
 * (xtext_emoji_table.h), matched longest first.  twitter-text 3.1 finds emoji
 * with twemoji-parser 11, which knows Emoji 11 and fully-qualified sequences
 * only: the two agree on the conformance data and on all but two of the
 * fully-qualified sequences up to Emoji 11, while newer sequences and ZWJ
 * sequences that lack a U+FE0F count as one emoji here and as several
 * characters there.  An emoji is matched where the walk stands, not found by
 * a separate pass over the text: the two only differ when a URL ends inside
 * an emoji sequence.
 *
 * Where twitter-text's JavaScript and Java ports differ, this file does what
 * the JavaScript does (its 3.1.0 release was used to check it), with one
 * exception.  The Java port rejects whitespace-only text outright; the
 * JavaScript counts it like any text, and so does this file.  The exception:
 * the JavaScript weighs an astral code point by its low surrogate, the Java
 * by the code point, and so does this file (no configuration has ranges above
 * U+FFFF, so the results agree).
 */
#include "xtext.h"
#include "xtext_url.h"

/* emoji_edges[] (a trie), emoji_starts[] and their macros, generated */
#include "xtext_emoji_table.h"

#define INVALID_UNIT(c) ((c) == 0xFFFE || (c) == 0xFEFF || (c) == 0xFFFF)

static const struct xtext_range twitter_ranges[] = {
	{0x0000, 0x10FF, 100},		/* Basic Latin to Georgian */
	{0x2000, 0x200D, 100},		/* spaces, ZWNJ, ZWJ */
	{0x2010, 0x201F, 100},		/* hyphens, quotes */
	{0x2032, 0x2037, 100},		/* primes */
};

/* config/v2.json */
const struct xtext_config xtext_config_v2 = {
	.max_weighted_length = 280,
	.scale = 100,
	.default_weight = 200,
	.transformed_url_length = 23,
	.emoji_parsing = false,
	.ranges = twitter_ranges,
	.nranges = sizeof(twitter_ranges) / sizeof(twitter_ranges[0]),
};

/* config/v3.json: v2 plus emoji sequences counted as one character */
const struct xtext_config xtext_config_v3 = {
	.max_weighted_length = 280,
	.scale = 100,
	.default_weight = 200,
	.transformed_url_length = 23,
	.emoji_parsing = true,
	.ranges = twitter_ranges,
	.nranges = sizeof(twitter_ranges) / sizeof(twitter_ranges[0]),
};

/* Number of continuation bytes after lead byte b, or -1 if b cannot lead. */
static int
utf8_tail_length(unsigned char b)
{
	if (b < 0x80)
		return 0;
	if (b >= 0xC2 && b <= 0xDF)
		return 1;
	if (b >= 0xE0 && b <= 0xEF)
		return 2;
	if (b >= 0xF0 && b <= 0xF4)
		return 3;
	return -1;
}

int
xtext_utf8_decode(const char *s, size_t len, uint32_t *cps, size_t *ncps)
{
	static const uint32_t min_value[] = {0, 0x80, 0x800, 0x10000};
	const unsigned char *p = (const unsigned char *) s;
	size_t		i = 0,
				n = 0;

	while (i < len)
	{
		int			tail = utf8_tail_length(p[i]);
		uint32_t	c;
		int			k;

		if (tail < 0 || (size_t) tail >= len - i)
			return -1;
		c = tail == 0 ? p[i] : (uint32_t) (p[i] & (0x3F >> tail));
		for (k = 1; k <= tail; k++)
		{
			if ((p[i + k] & 0xC0) != 0x80)
				return -1;
			c = (c << 6) | (p[i + k] & 0x3F);
		}
		if (c < min_value[tail] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
			return -1;
		cps[n++] = c;
		i += (size_t) tail + 1;
	}
	*ncps = n;
	return 0;
}

int64_t
xtext_utf16_length(const uint32_t *cps, size_t n)
{
	int64_t		len = 0;
	size_t		i;

	for (i = 0; i < n; i++)
		len += cps[i] > 0xFFFF ? 2 : 1;
	return len;
}

/* The edge for code point c among the n sorted edges at e, or NULL. */
static const struct emoji_edge *
emoji_edge_find(const struct emoji_edge *e, size_t n, uint32_t c)
{
	size_t		lo = 0,
				hi = n;

	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;

		if (e[mid].cp == c)
			return &e[mid];
		if (e[mid].cp < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Can an emoji sequence start with c?  A quick filter before the trie. */
static bool
emoji_may_start(uint32_t c)
{
	size_t		lo = 0,
				hi = sizeof(emoji_starts) / sizeof(emoji_starts[0]);

	if (c < 128)				/* the generator checks none is in 64..127 */
		return c < 64 && ((XTEXT_EMOJI_ASCII_STARTS >> c) & 1);
	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;

		if (c < emoji_starts[mid].first)
			hi = mid;
		else if (c > emoji_starts[mid].last)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

/* Length of the longest emoji sequence at cps[p], 0 if none starts there. */
static size_t
emoji_length(const uint32_t *cps, size_t n, size_t p)
{
	const struct emoji_edge *edges = emoji_edges;
	size_t		nedges = XTEXT_EMOJI_ROOT_EDGES,
				best = 0,
				i;

	if (!emoji_may_start(cps[p]))
		return 0;
	for (i = p; i < n; i++)
	{
		const struct emoji_edge *e = emoji_edge_find(edges, nedges, cps[i]);

		if (e == NULL)
			break;
		if (e->terminal)
			best = i + 1 - p;
		edges = emoji_edges + e->child;
		nedges = e->nchild;
	}
	return best;
}

static int
code_point_weight(const struct xtext_config *cfg, uint32_t c)
{
	size_t		i;

	for (i = 0; i < cfg->nranges; i++)
		if (c >= cfg->ranges[i].start && c <= cfg->ranges[i].end)
			return cfg->ranges[i].weight;
	return cfg->default_weight;
}

/* The URL scanner and the next URL it found (start == n: none left). */
struct url_cursor
{
	struct xtext_url_scan scan;
	struct xtext_url next;
};

/*
 * One step of the walk.  A unit usually ends at a code point boundary; a URL
 * can end after the high surrogate of an astral code point (see
 * xtext_url_next), and the walk then goes on with that code point's low
 * surrogate alone, as a lone UTF-16 unit, the way JavaScript does.
 */
struct unit
{
	int64_t		weight;
	int64_t		length16;		/* UTF-16 units */
	uint32_t	last;			/* its last UTF-16 unit */
	size_t		next;			/* the code point the walk goes on with */
	bool		next_half;		/* ... only its low surrogate */
};

static uint32_t
high_surrogate(uint32_t c)
{
	return 0xD800 + ((c - 0x10000) >> 10);
}

static uint32_t
low_surrogate(uint32_t c)
{
	return 0xDC00 + ((c - 0x10000) & 0x3FF);
}

/* A URL of length16 UTF-16 units at cps[p]. */
static void
url_unit(const struct xtext_config *cfg, const uint32_t *cps, size_t n, size_t p,
		 int64_t length16, struct unit *u)
{
	int64_t		seen = 0;
	size_t		q = p;

	while (seen < length16 && q < n)
		seen += cps[q++] > 0xFFFF ? 2 : 1;
	u->weight = (int64_t) cfg->transformed_url_length * cfg->scale;
	u->length16 = seen > length16 ? length16 : seen;
	u->next_half = seen > length16;
	u->next = u->next_half ? q - 1 : q;
	u->last = u->next_half ? high_surrogate(cps[q - 1]) :
		cps[q - 1] > 0xFFFF ? low_surrogate(cps[q - 1]) : cps[q - 1];
}

/*
 * next_unit: the unit at cps[p] (see the file header), or with half the lone
 * low surrogate of cps[p].  Advances url past p.
 */
static void
next_unit(const struct xtext_config *cfg, const uint32_t *cps, size_t n, size_t p,
		  bool half, struct url_cursor *url, struct unit *u)
{
	size_t		len = 0;

	u->next_half = false;
	if (half)
	{
		u->last = low_surrogate(cps[p]);
		u->weight = code_point_weight(cfg, u->last);
		u->length16 = 1;
		u->next = p + 1;
		return;
	}
	while (url->next.start < p)
		if (!xtext_url_next(&url->scan, &url->next))
			url->next.start = n;
	if (url->next.start == p)
	{
		url_unit(cfg, cps, n, p, url->next.length16, u);
		return;
	}
	if (cfg->emoji_parsing && (len = emoji_length(cps, n, p)) > 0)
		u->weight = cfg->default_weight;
	else
	{
		u->weight = code_point_weight(cfg, cps[p]);
		len = 1;
	}
	u->next = p + len;
	u->length16 = xtext_utf16_length(cps + p, len);
	u->last = cps[p + len - 1] > 0xFFFF ? low_surrogate(cps[p + len - 1]) : cps[p + len - 1];
}

int
xtext_count(const struct xtext_config *cfg, const uint32_t *cps, size_t n,
			struct xtext_result *out)
{
	struct url_cursor url;
	int64_t		units = 0,
				max_units = (int64_t) cfg->max_weighted_length * cfg->scale,
				u16 = 0,
				valid_end = 0;
	bool		clean = true,
				half = false;
	size_t		p;

	for (p = 0; p < n; p++)
		if (cps[p] > 0x10FFFF || (cps[p] >= 0xD800 && cps[p] <= 0xDFFF))
			return -1;

	xtext_url_scan_init(&url.scan, cps, n);
	if (!xtext_url_next(&url.scan, &url.next))
		url.next.start = n;

	for (p = 0; p < n;)
	{
		struct unit u;

		next_unit(cfg, cps, n, p, half, &url, &u);
		units += u.weight;
		u16 += u.length16;
		/* twitter-text looks at the last UTF-16 unit of the unit only */
		if (clean && INVALID_UNIT(u.last))
			clean = false;
		if (clean && units <= max_units)
			valid_end = u16 - 1;
		p = u.next;
		half = u.next_half;
	}

	out->weighted_length = units / cfg->scale;
	out->valid = clean && out->weighted_length > 0 &&
		out->weighted_length <= cfg->max_weighted_length;
	out->permillage = out->weighted_length * 1000 / cfg->max_weighted_length;
	out->valid_start = 0;
	out->valid_end = valid_end;
	out->display_start = 0;
	out->display_end = u16 > 0 ? u16 - 1 : 0;
	out->utf16_length = u16;
	return 0;
}

void
xtext_result_rebase(struct xtext_result *r, int64_t raw_utf16_length)
{
	r->valid_end += raw_utf16_length - r->utf16_length;
	r->display_end = raw_utf16_length > 0 ? raw_utf16_length - 1 : 0;
	r->utf16_length = raw_utf16_length;
}
