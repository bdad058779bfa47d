/*
 * extension/src/xtext_punycode.c
 *	  The length of a label's punycode encoding (RFC 3492).
 *
 * twitter-text rejects a URL whose domain has a label longer than 63
 * characters once encoded for DNS ("xn--" + punycode), as punycode.js
 * encodes it: over code points, basic (ASCII) ones first.  Only the length is
 * needed, so nothing is written out.
 */
#include "xtext_punycode.h"

/* RFC 3492, 6.1: bias adaptation (base 36, tmin 1, tmax 26, skew 38, damp 700) */
static uint32_t
adapt_bias(uint64_t delta, uint64_t npoints, bool first)
{
	uint32_t	k = 0;

	delta = first ? delta / 700 : delta / 2;
	delta += delta / npoints;
	while (delta > ((36 - 1) * 26) / 2)
	{
		delta /= 36 - 1;
		k += 36;
	}
	return k + (uint32_t) ((36 * delta) / (delta + 38));
}

size_t
xtext_punycode_length(const uint32_t *s, size_t n, size_t limit)
{
	uint64_t	delta = 0;
	uint32_t	cur = 0x80,
				bias = 72;
	size_t		basic = 0,
				handled,
				out,
				i;

	for (i = 0; i < n; i++)
		basic += s[i] < 0x80;
	out = basic + (basic > 0);
	for (handled = basic; handled < n && out <= limit;)
	{
		uint32_t	m = UINT32_MAX;

		for (i = 0; i < n; i++)
			if (s[i] >= cur && s[i] < m)
				m = s[i];
		delta += (uint64_t) (m - cur) * (handled + 1);
		cur = m;
		for (i = 0; i < n && out <= limit; i++)
		{
			if (s[i] < cur)
				delta++;
			else if (s[i] == cur)
			{
				uint64_t	q = delta;
				uint32_t	k;

				for (k = 36;; k += 36)
				{
					uint32_t	th = k <= bias ? 1 : (k >= bias + 26 ? 26 : k - bias);

					if (q < th)
						break;
					out++;
					q = (q - th) / (36 - th);
				}
				out++;
				bias = adapt_bias(delta, handled + 1, handled == basic);
				delta = 0;
				handled++;
			}
		}
		delta++;
		cur++;
	}
	return out;
}
