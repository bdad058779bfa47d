/*
 * bench/xtext_bench.c — nanoseconds per xtext_count() call.
 *
 * Cases: a 280-character post mixing Latin, CJK, emoji (ZWJ sequence, skin
 * tone, flag), a hashtag, a mention and two URLs (what caas.x_weighted_length
 * sees for a typical post); the same decoded from UTF-8 first; and, for the
 * cost per byte, 64 KiB of CJK and 64 KiB of "ab.ab.ab..." (every '.' starts
 * a URL candidate and every label is looked up as a TLD: the extractor's
 * worst input).  NFC is not included: inside
 * PostgreSQL most posts pass unicode_normalize's quick check.
 *
 *   make -C bench xtext
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xtext.h"

static volatile int64_t sink;

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

/* ns per call of decode (if utf8) + count, over iters calls. */
static double
time_count(const char *utf8, size_t len, long iters, bool decode_each_time,
		   struct xtext_result *r)
{
	uint32_t   *cps = malloc((len + 1) * sizeof(uint32_t));
	size_t		n;
	double		t0;
	long		i;

	if (cps == NULL || xtext_utf8_decode(utf8, len, cps, &n) != 0)
	{
		fprintf(stderr, "xtext_bench: bad input\n");
		exit(1);
	}
	t0 = now_ns();
	for (i = 0; i < iters; i++)
	{
		if (decode_each_time)
			xtext_utf8_decode(utf8, len, cps, &n);
		xtext_count(&xtext_config_v3, cps, n, r);
		sink += r->weighted_length;
	}
	t0 = (now_ns() - t0) / (double) iters;
	free(cps);
	return t0;
}

static void
report(const char *name, const char *utf8, size_t len, long iters, bool decode)
{
	struct xtext_result r;
	double		ns = time_count(utf8, len, iters, decode, &r);

	printf("%-34s %7zu bytes  weighted %6lld  %10.0f ns/call  %6.2f ns/byte\n",
		   name, len, (long long) r.weighted_length, ns, ns / (double) len);
}

int
main(void)
{
	static const char post[] =
		"Launch day! \xF0\x9F\x9A\x80 Our new scheduler is live: https://example.com/blog/launch?utm=x "
		"\xE2\x80\x94 thanks @team and everyone who tested it. "
		"\xE6\x96\xB0\xE3\x81\x97\xE3\x81\x84\xE6\xA9\x9F\xE8\x83\xBD\xE3\x82\x92\xE3\x81\x8A\xE8\xA9\xA6\xE3\x81\x97\xE3\x81\x8F\xE3\x81\xA0\xE3\x81\x95\xE3\x81\x84 "
		"\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7 "
		"\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD \xF0\x9F\x87\xAB\xF0\x9F\x87\xB7 "
		"Docs at docs.example.org/start, feedback welcome. #buildinpublic "
		"Caf\xC3\xA9 cr\xC3\xA8" "me br\xC3\xBBl\xC3\xA9" "e for the team tonight.";
	size_t		big = 64 * 1024,
				i;
	char	   *cjk = malloc(big + 4),
			   *dots = malloc(big + 4);

	if (cjk == NULL || dots == NULL)
		return 1;
	for (i = 0; i + 3 <= big; i += 3)
		memcpy(cjk + i, "\xE4\xB8\xAD", 3);
	cjk[i] = '\0';
	for (i = 0; i < big; i++)
		dots[i] = "ab."[i % 3];
	dots[big] = '\0';

	report("280-char post, code points", post, strlen(post), 200000, false);
	report("280-char post, UTF-8 decoded too", post, strlen(post), 200000, true);
	report("64 KiB CJK", cjk, strlen(cjk), 200, false);
	report("64 KiB \"ab.ab.ab...\"", dots, strlen(dots), 200, false);
	free(cjk);
	free(dots);
	return 0;
}
