/*
 * extension/src/xtext_url.c
 *	  Find the URLs that twitter-text counts as transformedURLLength.
 *
 * twitter-text (js/src/extractUrlsWithIndices.js) runs one global regular
 * expression, extractUrl, over the text and post-processes each match.  This
 * file reproduces what that regex and that post-processing find, without a
 * regex engine and in linear time.  The regex, in the words used below:
 *
 *	before	one character that is not [A-Za-z0-9@＠$#＃] nor U+FFFE/FEFF/FFFF,
 *			or the start of the text
 *	URL		protocol? domain (':' port)? path? query?
 *	protocol "http://" or "https://", any case
 *	domain	subdomain* name '.' TLD, where a label is a run of "domain chars"
 *			(anything but ASCII punctuation, spaces, invalid and directional
 *			characters) that starts and ends with one; subdomain labels may
 *			hold '-' and '_', the name label only '-'.  TLD is the longest
 *			generic TLD, else country TLD, else "xn--[-0-9a-z]+", followed
 *			by a character outside [0-9a-zA-Z@+-] or the end.
 *	path	'/' then path characters, ending at the last "ending" character
 *			or balanced (...) group
 *	query	'?' then query characters, ending at the last query ending char
 *
 * A regex engine tries each start and backtracks; here the greedy choices are
 * computed directly.  Labels are delimited by '.', so "as many subdomains as
 * possible, then a name" is "the last label of the run of subdomain-shaped
 * labels after which a TLD follows".  Two caches keep this linear: the
 * segment (dot-free stretch) around the current candidate start, and the run
 * of subdomain-shaped labels after it.
 *
 * Then, per match (as the JavaScript does): a match whose labels are longer
 * than 63 once punycode-encoded, or whose URL is longer than 4096, is
 * dropped; a protocol-less match is reduced to the ASCII domains inside it
 * (validAsciiDomain), the last of which keeps the path if there is one; an
 * https://t.co/ URL stops after its slug.  A dropped match still consumes
 * its text: the search resumes after it.  (Older twitter-text versions also
 * dropped a protocol-less "name.cc" without a path; 3.1 does not.)
 *
 * TLDs are matched by xtext_tld.c, punycode lengths computed by
 * xtext_punycode.c.  Known, deliberate differences, all outside the
 * conformance data: case is folded for ASCII only in path and query
 * characters (JavaScript's /i folds a few more Latin letters), and TLDs come
 * from the Public Suffix List, not from twitter-text's own 2020 list.
 *
 * Indices are code point indices; lengths compared with twitter-text's limits
 * are UTF-16 lengths, as in JavaScript.
 */
#include <string.h>

#include "xtext_punycode.h"
#include "xtext_tld.h"
#include "xtext_url.h"

#define MAX_URL_LENGTH		4096	/* UTF-16 units, protocol counted twice */
#define MAX_LABEL_LENGTH	63		/* after punycode encoding */
#define MAX_TCO_SLUG_LENGTH 40
#define NO_DOT				((size_t) -1)

/* ---- Character classes ---- */

/*
 * The ASCII characters of twitter-text's character classes, other than
 * letters and digits (which are in every class below but PUNCT and SPACE).
 */
enum
{
	PUNCT = 1 << 0,				/* punct: never in a domain */
	SPACE = 1 << 1,				/* spacesGroup: never in a domain */
	PATH = 1 << 2,				/* validGeneralUrlPathChars */
	PATH_END = 1 << 3,			/* validUrlPathEndingChars */
	QUERY = 1 << 4,				/* validUrlQueryChars */
	QUERY_END = 1 << 5,			/* validUrlQueryEndingChars */
	NOT_BEFORE = 1 << 6,		/* may not precede a URL */
	NOT_BEFORE_BARE = 1 << 7,	/* may not precede a protocol-less URL */
};

static const uint8_t ascii_class[128] = {
	['\t'] = SPACE, ['\n'] = SPACE, ['\v'] = SPACE, ['\f'] = SPACE, ['\r'] = SPACE,
	[' '] = SPACE,
	['!'] = PUNCT | PATH | QUERY,
	['#'] = PUNCT | PATH | PATH_END | QUERY | QUERY_END | NOT_BEFORE,
	['$'] = PUNCT | PATH | QUERY | NOT_BEFORE,
	['%'] = PUNCT | PATH | QUERY,
	['&'] = PUNCT | PATH | QUERY | QUERY_END,
	['\''] = PUNCT | PATH | QUERY,
	['('] = PUNCT | QUERY,
	[')'] = PUNCT | QUERY,
	['*'] = PUNCT | PATH | QUERY,
	['+'] = PUNCT | PATH | PATH_END | QUERY,
	[','] = PUNCT | PATH | QUERY,
	['-'] = PUNCT | PATH | PATH_END | QUERY | QUERY_END | NOT_BEFORE_BARE,
	['.'] = PUNCT | PATH | QUERY | NOT_BEFORE_BARE,
	['/'] = PUNCT | PATH | PATH_END | QUERY | QUERY_END | NOT_BEFORE_BARE,
	[':'] = PUNCT | PATH | QUERY,
	[';'] = PUNCT | PATH | QUERY,
	['<'] = PUNCT,
	['='] = PUNCT | PATH | PATH_END | QUERY | QUERY_END,
	['>'] = PUNCT,
	['?'] = PUNCT | QUERY,
	['@'] = PUNCT | PATH | QUERY | NOT_BEFORE,
	['['] = PUNCT | PATH | QUERY,
	['\\'] = PUNCT,
	[']'] = PUNCT | PATH | QUERY,
	['^'] = PUNCT,
	['_'] = PUNCT | PATH | PATH_END | QUERY | QUERY_END | NOT_BEFORE_BARE,
	['{'] = PUNCT,
	['|'] = PUNCT | PATH | QUERY,
	['}'] = PUNCT,
	['~'] = PUNCT | PATH | QUERY,
};

static bool
is_ascii_alnum(uint32_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Is ASCII c in one of the classes? (Letters and digits are not.) */
static bool
ascii_in(uint32_t c, unsigned classes)
{
	return c < 128 && (ascii_class[c] & classes) != 0;
}

static bool
is_latin_accent(uint32_t c)
{
	return (c >= 0xC0 && c <= 0xD6) || (c >= 0xD8 && c <= 0xF6) ||
		(c >= 0xF8 && c <= 0x24F) || c == 0x253 || c == 0x254 || c == 0x256 ||
		c == 0x257 || c == 0x259 || c == 0x25B || c == 0x263 || c == 0x268 ||
		c == 0x26F || c == 0x272 || c == 0x289 || c == 0x28B || c == 0x2BB ||
		(c >= 0x300 && c <= 0x36F) || (c >= 0x1E00 && c <= 0x1EFF);
}

static bool
is_cyrillic(uint32_t c)
{
	return c >= 0x400 && c <= 0x4FF;
}

/* validDomainChars: not punctuation, spaces, U+FFFE/FEFF/FFFF, bidi marks */
static bool
is_domain_char(uint32_t c)
{
	if (c < 128)
		return (ascii_class[c] & (PUNCT | SPACE)) == 0;
	if (c < 0x2000)
		return c != 0x85 && c != 0xA0 && c != 0x61C && c != 0x1680 && c != 0x180E;
	if (c <= 0x206F)
		return !(c <= 0x200A || c == 0x200E || c == 0x200F || c == 0x2028 ||
				 c == 0x2029 || (c >= 0x202A && c <= 0x202F) || c == 0x205F ||
				 (c >= 0x2066 && c <= 0x2069));
	return c != 0x3000 && c != 0xFEFF && c != 0xFFFE && c != 0xFFFF;
}

/* validUrlPrecedingChars, less the start of text */
static bool
is_valid_before(uint32_t c)
{
	if (c < 128)
		return !is_ascii_alnum(c) && !(ascii_class[c] & NOT_BEFORE);
	return c != 0xFF20 && c != 0xFF03 && c != 0xFFFE && c != 0xFEFF && c != 0xFFFF;
}

static bool
is_path_char(uint32_t c)
{
	return is_ascii_alnum(c) || ascii_in(c, PATH) || c == 0x2013 ||
		is_cyrillic(c) || is_latin_accent(c);
}

/* validUrlPathEndingChars, less balanced parentheses */
static bool
is_path_end_char(uint32_t c)
{
	return is_ascii_alnum(c) || ascii_in(c, PATH_END) || is_cyrillic(c) ||
		is_latin_accent(c);
}

static bool
is_query_char(uint32_t c)
{
	return is_ascii_alnum(c) || ascii_in(c, QUERY);
}

static bool
is_query_end_char(uint32_t c)
{
	return is_ascii_alnum(c) || ascii_in(c, QUERY_END);
}

/* the label characters of validAsciiDomain */
static bool
is_ascii_label_char(uint32_t c)
{
	return is_ascii_alnum(c) || c == '-' || is_latin_accent(c);
}

static uint32_t
ascii_lower(uint32_t c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* ---- Domains ---- */

/* Scan the segment that starts at t[start]: up to the next '.' or the end. */
static void
segment_scan(struct xtext_url_segment *seg, const uint32_t *t, size_t n, size_t start)
{
	size_t		i;

	seg->start = start;
	seg->sub_from = start;
	seg->name_from = start;
	for (i = start; i < n && t[i] != '.'; i++)
	{
		bool		d = is_domain_char(t[i]);

		if (!d && t[i] != '-' && t[i] != '_')
			seg->sub_from = i + 1;
		if (!d && t[i] != '-')
			seg->name_from = i + 1;
	}
	seg->end = i;
	seg->tld_done = false;
	seg->tld_len = 0;
	seg->valid = true;
}

static size_t
segment_tld(struct xtext_url_segment *seg, const uint32_t *t, size_t n)
{
	if (!seg->tld_done)
	{
		seg->tld_len = xtext_tld_match(t, seg->end + 1, n);
		seg->tld_done = true;
	}
	return seg->tld_len;
}

/* The segment that holds t[p] (p < n, t[p] != '.'), cached. */
static struct xtext_url_segment *
segment_at(struct xtext_url_scan *sc, size_t p)
{
	size_t		start = p;

	if (sc->seg.valid && sc->seg.start <= p && p < sc->seg.end)
		return &sc->seg;
	while (start > 0 && sc->t[start - 1] != '.')
		start--;
	segment_scan(&sc->seg, sc->t, sc->n, start);
	return &sc->seg;
}

/*
 * Can the whole segment seg be a label followed by '.'?  As a subdomain
 * (name == false) or as the domain name (name == true).
 */
static bool
segment_is_label(const struct xtext_url_segment *seg, const uint32_t *t, size_t n, bool name)
{
	return seg->end < n && seg->start < seg->end &&
		(name ? seg->name_from : seg->sub_from) == seg->start &&
		is_domain_char(t[seg->start]) && is_domain_char(t[seg->end - 1]);
}

/*
 * run_best_end: the labels from t[q] on (q just after a '.'), taken as
 * subdomains for as long as they can be; returns the end of the domain whose
 * name is the last of them followed by a TLD, or 0 if none is.
 */
static size_t
run_best_end(struct xtext_url_scan *sc, size_t q)
{
	struct xtext_url_run *run = &sc->run;

	if (!(run->valid && run->first <= q && q <= run->stop))
	{
		struct xtext_url_segment seg;
		size_t		at = q;

		run->first = q;
		run->best_end = 0;
		for (;;)
		{
			segment_scan(&seg, sc->t, sc->n, at);
			if (!segment_is_label(&seg, sc->t, sc->n, false))
				break;
			if (segment_is_label(&seg, sc->t, sc->n, true) && segment_tld(&seg, sc->t, sc->n) > 0)
			{
				run->best = at;
				run->best_end = seg.end + 1 + seg.tld_len;
			}
			at = seg.end + 1;
		}
		run->stop = at;
		run->valid = true;
	}
	return (run->best_end != 0 && run->best >= q) ? run->best_end : 0;
}

/*
 * domain_end returns the end of the domain extractUrl matches at t[p], or 0
 * if no domain starts there.  Subdomains are greedy: the more labels the
 * better, as long as a name label and a TLD still follow.
 */
static size_t
domain_end(struct xtext_url_scan *sc, size_t p)
{
	const uint32_t *t = sc->t;
	struct xtext_url_segment *seg;
	size_t		end;

	if (p >= sc->n || !is_domain_char(t[p]))
		return 0;
	seg = segment_at(sc, p);
	if (seg->end >= sc->n || !is_domain_char(t[seg->end - 1]))
		return 0;
	if (p >= seg->sub_from && (end = run_best_end(sc, seg->end + 1)) != 0)
		return end;
	if (p >= seg->name_from && segment_tld(seg, t, sc->n) > 0)
		return seg->end + 1 + seg->tld_len;
	return 0;
}

/* ---- Path, query, protocol ---- */

/* validUrlBalancedParens at t[i] == '(': the index after it, or 0. */
static size_t
parens_end(const uint32_t *t, size_t n, size_t i)
{
	size_t		j = i + 1;

	while (j < n && is_path_char(t[j]))
		j++;
	if (j > i + 1 && j < n && t[j] == ')')
		return j + 1;
	if (j < n && t[j] == '(')
	{
		size_t		k = j + 1;

		while (k < n && is_path_char(t[k]))
			k++;
		if (k == j + 1 || k >= n || t[k] != ')')
			return 0;
		for (k++; k < n && is_path_char(t[k]); k++)
			;
		if (k < n && t[k] == ')')
			return k + 1;
	}
	return 0;
}

/* End of the path whose characters start at t[i], just after its '/'. */
static size_t
path_end(const uint32_t *t, size_t n, size_t i)
{
	size_t		end = i;

	while (i < n)
	{
		if (t[i] == '(')
		{
			size_t		close = parens_end(t, n, i);

			if (close == 0)
				break;
			i = end = close;
		}
		else if (is_path_char(t[i]))
		{
			if (is_path_end_char(t[i]))
				end = i + 1;
			i++;
		}
		else
			break;
	}
	return end;
}

/* End of the query at t[i] == '?', or i if no query matches there. */
static size_t
query_end(const uint32_t *t, size_t n, size_t i)
{
	size_t		end = i,
				j;

	for (j = i + 1; j < n && is_query_char(t[j]); j++)
		if (is_query_end_char(t[j]))
			end = j + 1;
	return end;
}

/* Length of "http://" or "https://" (any case) at t[s], or 0. */
static size_t
protocol_length(const uint32_t *t, size_t n, size_t s)
{
	static const char http[] = "http";
	size_t		i;

	for (i = 0; i < 4; i++)
		if (s + i >= n || ascii_lower(t[s + i]) != (uint32_t) http[i])
			return 0;
	if (s + i < n && ascii_lower(t[s + i]) == 's')
		i++;
	if (s + i + 2 < n && t[s + i] == ':' && t[s + i + 1] == '/' && t[s + i + 2] == '/')
		return i + 3;
	return 0;
}

/* ---- One match of extractUrl ---- */

struct url_match
{
	size_t		start;			/* of the URL (protocol included) */
	bool		half;			/* starts at the low surrogate of t[start] */
	size_t		proto_len;
	size_t		domain_start;
	size_t		domain_end;
	bool		has_path;
	size_t		end;
	bool		has_before;		/* false: matched at the start of the text */
	uint32_t	before;
};

/*
 * Try to match a URL at t[s], or with half, at the low surrogate of t[s] (an
 * astral code point); fills *m and returns true on success.
 */
static bool
url_match_at(struct xtext_url_scan *sc, size_t s, bool half, struct url_match *m)
{
	const uint32_t *t = sc->t;
	size_t		n = sc->n;
	size_t		e;

	m->start = s;
	m->half = half;
	m->proto_len = half ? 0 : protocol_length(t, n, s);
	m->domain_end = m->proto_len ? domain_end(sc, s + m->proto_len) : 0;
	if (m->domain_end == 0)
	{
		m->proto_len = 0;
		m->domain_end = domain_end(sc, s);
		if (m->domain_end == 0)
			return false;
	}
	m->domain_start = s + m->proto_len;
	e = m->domain_end;
	if (e + 1 < n && t[e] == ':' && t[e + 1] >= '0' && t[e + 1] <= '9')
		for (e++; e < n && t[e] >= '0' && t[e] <= '9'; e++)
			;
	m->has_path = e < n && t[e] == '/';
	if (m->has_path)
		e = path_end(t, n, e + 1);
	if (e < n && t[e] == '?')
		e = query_end(t, n, e);
	m->end = e;
	return true;
}

/*
 * The next match of the global regex from sc->pos on; false if none.
 *
 * JavaScript regexes without the u flag see UTF-16 code units: an astral
 * code point is two surrogates, and each is a "character" that may precede
 * a URL and may be part of a domain.  So the regex also tries a URL that
 * starts at the low surrogate of an astral code point, preceded by its high
 * surrogate, whatever came before it; such a domain matches exactly where one
 * starting at the whole code point would.  Starts are tried in code unit
 * order: the high surrogate of t[i] as the preceding character, then (at the
 * start of the text) no preceding character, then t[i] as a whole.
 */
static bool
url_match_next(struct xtext_url_scan *sc, struct url_match *m)
{
	size_t		i;

	for (i = sc->pos; i < sc->n && i <= sc->last_dot; i++)
	{
		uint32_t	c = sc->t[i];

		m->has_before = true;
		m->before = c;
		if (c > 0xFFFF && url_match_at(sc, i, true, m))
		{
			m->before = 0xD800 + ((c - 0x10000) >> 10);
			return true;
		}
		if (c <= 0xFFFF && is_valid_before(c) && url_match_at(sc, i + 1, false, m))
			return true;
		if (i == 0 && url_match_at(sc, 0, false, m))
		{
			m->has_before = false;
			return true;
		}
		if (c > 0xFFFF && url_match_at(sc, i + 1, false, m))
		{
			m->before = 0xDC00 + ((c - 0x10000) & 0x3FF);
			return true;
		}
	}
	return false;
}

/* ---- Checks applied to a match ---- */

/*
 * Length of punycode.toASCII(label) for the label t[start..end): the label
 * split at the separators U+3002, U+FF0E and U+FF61, each non-ASCII part as
 * "xn--" + punycode.  first, if not 0, replaces t[start] (a lone surrogate,
 * see url_match_next).  Stops counting once above MAX_LABEL_LENGTH.
 */
static size_t
label_ascii_length(const uint32_t *t, size_t start, size_t end, uint32_t first)
{
	size_t		total = 0,
				part = start,
				i;

	for (i = start; i <= end && total <= MAX_LABEL_LENGTH; i++)
	{
		uint32_t	buf[MAX_LABEL_LENGTH];
		bool		ascii = true;
		size_t		j;

		if (i < end && t[i] != 0x3002 && t[i] != 0xFF0E && t[i] != 0xFF61)
			continue;
		for (j = part; j < i; j++)
			ascii = ascii && t[j] < 0x80;
		total += (part > start);	/* the '.' that joins the parts */
		if (ascii)
			total += i - part;
		else if (i - part > MAX_LABEL_LENGTH)
			total += i - part;	/* each code point encodes to 1 or more */
		else
		{
			memcpy(buf, t + part, (i - part) * sizeof(uint32_t));
			if (part == start && first != 0)
				buf[0] = first;
			total += 4 + xtext_punycode_length(buf, i - part, MAX_LABEL_LENGTH);
		}
		part = i + 1;
	}
	return total;
}

static bool ascii_domain_find(const uint32_t *t, size_t from, size_t end,
							  size_t *as, size_t *ae);

/* isValidUrl of extractUrlsWithIndices.js (with its lib/idna.js). */
static bool
url_is_valid(const struct xtext_url_scan *sc, const struct url_match *m)
{
	const uint32_t *t = sc->t;
	size_t		length = m->proto_len ? m->proto_len : strlen("https://");
	size_t		label = m->domain_start,
				i,
				as,
				ae;

	for (i = m->start; i < m->end && length <= MAX_URL_LENGTH + 1; i++)
		length += t[i] > 0xFFFF ? 2 : 1;
	if (length - m->half > MAX_URL_LENGTH)
		return false;
	if (m->domain_end - m->domain_start >= 4 && t[label] == 'x' &&
		t[label + 1] == 'n' && t[label + 2] == '-' && t[label + 3] == '-' &&
		!ascii_domain_find(t, m->domain_start, m->domain_end, &as, &ae))
		return false;
	for (i = m->domain_start; i <= m->domain_end; i++)
	{
		size_t		len;

		if (i < m->domain_end && t[i] != '.')
			continue;
		len = label_ascii_length(t, label, i, (m->half && label == m->start) ?
								 0xDC00 + ((t[label] - 0x10000) & 0x3FF) : 0);
		if (len < 1 || len > MAX_LABEL_LENGTH)
			return false;
		label = i + 1;
	}
	return true;
}

/*
 * ascii_domain_find: the first validAsciiDomain match in t[from..end):
 * ASCII/Latin labels each followed by '.', as many as a TLD can follow, then
 * that TLD (its lookahead bounded by end).  Sets [*as, *ae) and returns true,
 * or returns false.
 */
static bool
ascii_domain_find(const uint32_t *t, size_t from, size_t end, size_t *as, size_t *ae)
{
	size_t		j = from;

	while (j < end)
	{
		size_t		q = j,
					r,
					best = 0;

		for (;;)
		{
			size_t		len;

			for (r = q; r < end && is_ascii_label_char(t[r]); r++)
				;
			if (r == q || r >= end || t[r] != '.')
				break;
			if ((len = xtext_tld_match(t, r + 1, end)) != 0)
				best = r + 1 + len;
			q = r + 1;
		}
		if (best != 0)
		{
			*as = j;
			*ae = best;
			return true;
		}

		/*
		 * Any start before r sees the same dots (or fewer) and the same
		 * missing TLDs, so it fails too.
		 */
		j = r > q ? r : q + 1;
	}
	return false;
}

/*
 * The t.co rule: for ^https?://t.co/SLUG(?QUERY)? set *end to the end of that
 * prefix and return 1, or return -1 if SLUG is too long (the URL is dropped);
 * return 0 for any other URL.
 */
static int
tco_rule(const uint32_t *t, const struct url_match *m, size_t *end)
{
	static const char tco[] = "t.co/";
	size_t		i = m->start + m->proto_len,
				k,
				slug;

	for (k = 0; k < 5; k++, i++)
		if (i >= m->end || ascii_lower(t[i]) != (uint32_t) tco[k])
			return 0;
	for (slug = i; i < m->end && is_ascii_alnum(t[i]); i++)
		;
	if (i == slug)
		return 0;
	if (i - slug > MAX_TCO_SLUG_LENGTH)
		return -1;
	if (i < m->end && t[i] == '?')
		i = query_end(t, m->end, i);
	*end = i;
	return 1;
}

/* ---- The iterator ---- */

void
xtext_url_scan_init(struct xtext_url_scan *sc, const uint32_t *t, size_t n)
{
	size_t		i;

	memset(sc, 0, sizeof(*sc));
	sc->t = t;
	sc->n = n;
	sc->last_dot = NO_DOT;
	for (i = n; i > 0; i--)
		if (t[i - 1] == '.')
		{
			sc->last_dot = i - 1;
			break;
		}
}

static int64_t
utf16_length(const uint32_t *t, size_t start, size_t end)
{
	int64_t		len = 0;

	for (; start < end; start++)
		len += t[start] > 0xFFFF ? 2 : 1;
	return len;
}

/* The next ASCII domain of the protocol-less match being reported. */
static bool
ascii_next(struct xtext_url_scan *sc, struct xtext_url *url)
{
	struct xtext_url_ascii *a = &sc->ascii;

	if (!a->have)
	{
		a->active = false;
		return false;
	}
	url->start = a->as;
	url->end = a->ae;
	url->length16 = utf16_length(sc->t, a->as, a->ae);
	a->have = ascii_domain_find(sc->t, a->ae, a->domain_end, &a->as, &a->ae);

	/*
	 * With a path, the last domain also takes the port, path and query: its
	 * indices run to the end of the match, and its url string becomes the
	 * domain followed by the text after the whole matched domain.  The two
	 * lengths differ when the matched domain goes on after its last ASCII
	 * part; parseTweet skips url.length.
	 */
	if (!a->have && a->has_path)
	{
		url->end = a->match_end;
		url->length16 += utf16_length(sc->t, a->domain_end, a->match_end);
	}
	return true;
}

bool
xtext_url_next(struct xtext_url_scan *sc, struct xtext_url *url)
{
	struct url_match m;

	if (sc->last_dot == NO_DOT)
		return false;
	for (;;)
	{
		if (sc->ascii.active && ascii_next(sc, url))
			return true;
		if (!url_match_next(sc, &m))
			return false;
		sc->pos = m.end;
		if (!url_is_valid(sc, &m))
			continue;
		if (m.proto_len == 0)
		{
			if (m.has_before && ascii_in(m.before, NOT_BEFORE_BARE))
				continue;
			sc->ascii.active = true;
			sc->ascii.has_path = m.has_path;
			sc->ascii.domain_end = m.domain_end;
			sc->ascii.match_end = m.end;
			sc->ascii.have = ascii_domain_find(sc->t, m.domain_start, m.domain_end,
											   &sc->ascii.as, &sc->ascii.ae);
			continue;
		}
		url->start = m.start;
		url->end = m.end;
		if (tco_rule(sc->t, &m, &url->end) < 0)
			continue;
		url->length16 = utf16_length(sc->t, url->start, url->end);
		return true;
	}
}
