/*
 * bench/textdiff_bench.c — microseconds per textdiff_compute() call.
 *
 * Texts are generated from a fixed seed: LinkedIn-length posts (~3,000
 * characters) with about 10% of the words changed, 64 KiB texts with the
 * same edit rate, two unrelated 64 KiB texts (the worst realistic case: only
 * common words, spaces and punctuation match) and, as an adversarial case,
 * 64 KiB of one-byte tokens.  Memory is counted through the allocation hooks.
 *
 *   make -C bench run
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "textdiff.h"

static const char *const words[] = {
	"the", "of", "and", "to", "a", "in", "for", "is", "on", "that", "with",
	"our", "we", "team", "growth", "leadership", "customers", "product",
	"launch", "excited", "announce", "journey", "learned", "years", "today",
	"building", "people", "culture", "data", "AI", "strategy", "results",
	"grateful", "opportunity", "hiring", "engineers", "market", "scale",
	"feedback", "community", "impact", "success", "failure", "lessons",
	"week", "thank", "you", "everyone", "who", "made", "this", "possible",
	"proud", "share", "new", "role", "company", "mission", "values", "focus",
};
static const char *const seps[] = {" ", " ", " ", " ", " ", " ", ", ", ". ", "! ", "\n\n", " — ", " 🚀 ", " #"};

static uint64_t rng = 0x2545F4914F6CDD1Dull;

static uint32_t
rnd(void)
{
	rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
	return (uint32_t) ((rng * 2685821657736338717ull) >> 32);
}

/* post writes about len bytes of post-like text into buf (capacity len + 64). */
static size_t
post(char *buf, size_t len)
{
	size_t		n = 0;

	while (n < len)
	{
		const char *w = words[rnd() % (sizeof(words) / sizeof(words[0]))];
		const char *s = seps[rnd() % (sizeof(seps) / sizeof(seps[0]))];

		n += (size_t) sprintf(buf + n, "%s%s", w, s);
	}
	return n;
}

/* edit copies src to dst changing about one word in ten (replace/insert/delete). */
static size_t
edit(const char *src, size_t len, char *dst)
{
	size_t		i = 0, n = 0;

	while (i < len)
	{
		size_t		j = i;

		while (j < len && src[j] != ' ')
			j++;
		switch (rnd() % 30)
		{
			case 0:				/* replace the word */
				n += (size_t) sprintf(dst + n, "%s", words[rnd() % (sizeof(words) / sizeof(words[0]))]);
				break;
			case 1:				/* delete it */
				break;
			case 2:				/* insert one before it */
				n += (size_t) sprintf(dst + n, "%s ", words[rnd() % (sizeof(words) / sizeof(words[0]))]);
				/* FALLTHROUGH */
			default:
				memcpy(dst + n, src + i, j - i);
				n += j - i;
		}
		if (j < len)
			dst[n++] = ' ';
		i = j + 1;
	}
	return n;
}

static size_t mem_now, mem_peak;

/* Each block is preceded by a header holding its size (kept max-aligned). */
union header
{
	size_t		size;
	max_align_t align;
};

static void *
bench_alloc(void *arg, size_t size)
{
	union header *h = malloc(sizeof(union header) + size);

	(void) arg;
	if (h == NULL)
		return NULL;
	h->size = size;
	mem_now += size;
	if (mem_now > mem_peak)
		mem_peak = mem_now;
	return h + 1;
}

static void
bench_free(void *arg, void *ptr)
{
	union header *h = (union header *) ptr - 1;

	(void) arg;
	mem_now -= h->size;
	free(h);
}

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void
run(const char *name, const char *o, size_t olen, const char *n, size_t nlen, int iters)
{
	struct textdiff_options opts = {.alloc = bench_alloc, .free = bench_free,
		.max_cost = getenv("MAX_COST") ? atoi(getenv("MAX_COST")) : 0};
	struct textdiff_result res;
	double		t0, t1;
	int			i;

	mem_peak = 0;
	t0 = now_us();
	for (i = 0; i < iters; i++)
	{
		if (textdiff_compute(o, olen, n, nlen, &opts, &res) != TEXTDIFF_OK)
		{
			fprintf(stderr, "%s: diff failed\n", name);
			exit(1);
		}
		if (i + 1 < iters)
			textdiff_result_free(&res, &opts);
	}
	t1 = now_us();
	printf("%-34s %7zu/%7zu B  %9.1f us/diff  ops %6zu  -%zu/+%zu chars  %s  peak %zu KiB\n",
		   name, olen, nlen, (t1 - t0) / iters, res.nops, res.deleted_chars,
		   res.inserted_chars, res.minimal ? "minimal" : "cost-cut", mem_peak / 1024);
	textdiff_result_free(&res, &opts);
}

int
main(void)
{
	size_t		big = 64 * 1024;
	char	   *o = malloc(2 * big + 4096), *n = malloc(2 * big + 4096);
	size_t		olen, nlen, i;

	olen = post(o, 3000);
	nlen = edit(o, olen, n);
	run("3,000-char post, ~10% words changed", o, olen, n, nlen, 2000);

	olen = post(o, big - 64);
	nlen = edit(o, olen, n);
	run("64 KiB, ~10% words changed", o, olen, n, nlen, 50);

	olen = post(o, big - 64);
	nlen = post(n, big - 64);
	run("64 KiB vs unrelated 64 KiB", o, olen, n, nlen, 10);

	for (i = 0; i < big; i++)
		o[i] = "ab,. "[rnd() % 5], n[i] = "ab,. "[rnd() % 5];
	run("64 KiB of 1-byte tokens, unrelated", o, big, n, big, 10);

	free(o);
	free(n);
	return 0;
}
