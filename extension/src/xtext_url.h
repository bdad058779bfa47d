/*
 * extension/src/xtext_url.h — the URLs twitter-text finds in a text
 * (extractUrlsWithIndices), for xtext.c.  Internal to xtext.
 *
 * The scanner is an iterator: it finds URLs left to right, on demand, with no
 * allocation.  Its state is a struct the caller owns (on the stack); the
 * fields are private to xtext_url.c.  The text must stay unchanged while it
 * is scanned.
 */
#ifndef CAAS_XTEXT_URL_H
#define CAAS_XTEXT_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Private: the dot-free stretch of text around a candidate domain. */
struct xtext_url_segment
{
	size_t		start;			/* [start, end) has no '.'; t[end] is '.' or end */
	size_t		end;
	size_t		sub_from;		/* suffixes from here use subdomain chars only */
	size_t		name_from;		/* suffixes from here use domain-name chars only */
	size_t		tld_len;		/* TLD after the dot, once tld_done */
	bool		tld_done;
	bool		valid;			/* false until the first scan */
};

/* Private: labels after a segment that can all be subdomains (see .c). */
struct xtext_url_run
{
	size_t		first;			/* start of the first label of the run */
	size_t		stop;			/* start of the label that ends the run */
	size_t		best;			/* start of its last domain-name label */
	size_t		best_end;		/* end of the domain through that label; 0: none */
	bool		valid;
};

/* Private: the ASCII domains of one protocol-less match still to report. */
struct xtext_url_ascii
{
	bool		active;
	bool		have;			/* as..ae is the next ASCII domain */
	bool		has_path;
	size_t		as;
	size_t		ae;
	size_t		domain_end;
	size_t		match_end;
};

struct xtext_url_scan
{
	const uint32_t *t;
	size_t		n;
	size_t		pos;			/* where the next regex search starts */
	size_t		last_dot;		/* no URL starts after it; n if no dot */
	struct xtext_url_segment seg;
	struct xtext_url_run run;
	struct xtext_url_ascii ascii;
};

/* A URL, as extractUrlsWithIndices reports it. */
struct xtext_url
{
	size_t		start;			/* code point indices of the URL: its */
	size_t		end;			/* "indices" in twitter-text */
	int64_t		length16;		/* UTF-16 length of its "url" string */
};

/* xtext_url_scan_init prepares *sc to scan the n code points of t. */
void		xtext_url_scan_init(struct xtext_url_scan *sc, const uint32_t *t, size_t n);

/*
 * xtext_url_next finds the next URL twitter-text would count, fills *url and
 * returns true; returns false when there are no more.  URLs come in
 * increasing order of start and do not overlap.  length16 is what parseTweet
 * skips from start; it is the UTF-16 length of start..end except for a
 * contrived protocol-less case (see ascii_next in xtext_url.c), where it may
 * be shorter and even end inside a surrogate pair.
 */
bool		xtext_url_next(struct xtext_url_scan *sc, struct xtext_url *url);

#endif							/* CAAS_XTEXT_URL_H */
