/*
 * extension/src/xtext.h — X's (Twitter's) weighted length of a post, as the
 * twitter-text library computes it (parseTweet).
 *
 * Pure C, no PostgreSQL headers: compiled into the caas module and into the
 * unit tests.  Nothing here allocates; every function works on memory the
 * caller owns.
 *
 * Wording: a "code point" is one Unicode scalar value; the text is handled as
 * an array of them (uint32_t, the same width as PostgreSQL's pg_wchar).
 * Ranges in a result are UTF-16 code unit indices, inclusive at both ends,
 * because that is what twitter-text reports (JavaScript string indices).
 *
 * Typical use: decode UTF-8 with xtext_utf8_decode(), normalise to NFC (the
 * caller's job: twitter-text counts the NFC form), xtext_count(), then, if
 * the ranges matter, xtext_result_rebase() with the UTF-16 length of the text
 * as typed.
 */
#ifndef CAAS_XTEXT_H
#define CAAS_XTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Code points start..end (inclusive) weigh weight. */
struct xtext_range
{
	uint32_t	start;
	uint32_t	end;
	int			weight;
};

/* One twitter-text configuration file (config/v2.json, v3.json). */
struct xtext_config
{
	int			max_weighted_length;	/* maxWeightedTweetLength */
	int			scale;					/* weights are in 1/scale units */
	int			default_weight;			/* code points outside ranges */
	int			transformed_url_length; /* a URL counts this, any length */
	bool		emoji_parsing;			/* emoji sequence = one default_weight */
	const struct xtext_range *ranges;	/* first matching range wins */
	size_t		nranges;
};

extern const struct xtext_config xtext_config_v2;
extern const struct xtext_config xtext_config_v3;	/* what X uses today */

struct xtext_result
{
	int64_t		weighted_length;	/* in characters (weights / scale) */
	bool		valid;				/* 0 < length <= max, no invalid chars */
	int64_t		permillage;			/* weighted_length * 1000 / max */
	int64_t		valid_start;		/* always 0 */
	int64_t		valid_end;			/* last UTF-16 index within the limit */
	int64_t		display_start;		/* always 0 */
	int64_t		display_end;		/* last UTF-16 index of the text */
	int64_t		utf16_length;		/* UTF-16 length of the counted text */
};

/*
 * xtext_utf8_decode decodes len bytes of UTF-8 into cps, which must have room
 * for len code points, and sets *ncps.  Returns 0, or -1 if s is not valid
 * UTF-8 (overlong forms, surrogates and values past U+10FFFF are invalid);
 * cps is then unspecified.
 */
int			xtext_utf8_decode(const char *s, size_t len, uint32_t *cps, size_t *ncps);

/*
 * xtext_count computes the weighted length of the n code points in cps, which
 * should already be in NFC, under cfg, into *out.  URLs count
 * cfg->transformed_url_length; with cfg->emoji_parsing an emoji sequence counts
 * cfg->default_weight; anything else counts its range weight.  Ranges are
 * those of cps itself; see xtext_result_rebase.  Returns 0, or -1 if cps holds
 * a surrogate or a value past U+10FFFF (*out is then unspecified).
 */
int			xtext_count(const struct xtext_config *cfg, const uint32_t *cps, size_t n,
						struct xtext_result *out);

/*
 * xtext_result_rebase moves the ranges of r from the normalised text that was
 * counted to the text as typed, whose UTF-16 length is raw_utf16_length, the
 * way twitter-text does: display_end becomes the last index of the typed text,
 * valid_end moves by the difference in length.
 */
void		xtext_result_rebase(struct xtext_result *r, int64_t raw_utf16_length);

/* xtext_utf16_length returns the number of UTF-16 code units of cps. */
int64_t		xtext_utf16_length(const uint32_t *cps, size_t n);

#endif							/* CAAS_XTEXT_H */
