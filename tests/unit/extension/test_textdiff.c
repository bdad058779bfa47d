/*
 * test_textdiff.c — extension/src/textdiff.c: tokenizer and word-level diff.
 *
 * Every diff is checked by apply_ops(): the ops must tile both texts in
 * order, equal ops must cover identical bytes, and replaying them on the old
 * text must give the new text.  Minimality is checked against an LCS
 * computed by dynamic programming over the same tokens.  Allocations go
 * through counting hooks, so each test also proves nothing leaked.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../suites.h"
#include "textdiff.h"

/*---- Allocation hooks: count live blocks, optionally fail ----*/

struct test_heap
{
	long		live;			/* blocks allocated and not freed */
	long		fail_after;		/* allocations to allow; -1 = unlimited */
	long		ticks;
	long		abort_after_ticks;	/* -1 = never abort */
};

static void *
heap_alloc(void *arg, size_t size)
{
	struct test_heap *h = arg;
	void	   *p;

	if (h->fail_after == 0)
		return NULL;
	if (h->fail_after > 0)
		h->fail_after--;
	p = malloc(size);
	if (p != NULL)
		h->live++;
	return p;
}

static void
heap_free(void *arg, void *p)
{
	struct test_heap *h = arg;

	h->live--;
	free(p);
}

static int
heap_tick(void *arg)
{
	struct test_heap *h = arg;

	h->ticks++;
	return h->abort_after_ticks >= 0 && h->ticks > h->abort_after_ticks;
}

static struct test_heap heap;
static struct textdiff_options opts;

static void
setup(void)
{
	memset(&heap, 0, sizeof(heap));
	heap.fail_after = -1;
	heap.abort_after_ticks = -1;
	memset(&opts, 0, sizeof(opts));
	opts.alloc = heap_alloc;
	opts.free = heap_free;
	opts.tick = heap_tick;
	opts.arg = &heap;
}

static void
teardown(void)
{
	ck_assert_int_eq(heap.live, 0);
}

/*---- Checking a result ----*/

/*
 * apply_ops replays res on old_text and compares with new_text, checking
 * that ops tile both texts, are never empty and never repeat a kind.
 */
static void
apply_ops(const char *old_text, size_t old_len, const char *new_text, size_t new_len,
		  const struct textdiff_result *res)
{
	char	   *out = malloc(new_len + 1);
	size_t		o = 0, pos_old = 0, pos_new = 0, i;

	for (i = 0; i < res->nops; i++)
	{
		const struct textdiff_op *op = &res->ops[i];

		ck_assert_uint_eq(op->old_off, pos_old);
		ck_assert_uint_eq(op->new_off, pos_new);
		ck_assert(op->old_len + op->new_len > 0);
		ck_assert(op->tokens > 0);
		if (i > 0)
			ck_assert_int_ne(op->kind, res->ops[i - 1].kind);
		switch (op->kind)
		{
			case TEXTDIFF_EQUAL:
				ck_assert_uint_eq(op->old_len, op->new_len);
				ck_assert_mem_eq(old_text + op->old_off, new_text + op->new_off, op->old_len);
				memcpy(out + o, old_text + op->old_off, op->old_len);
				o += op->old_len;
				break;
			case TEXTDIFF_DELETE:
				ck_assert_uint_eq(op->new_len, 0);
				break;
			case TEXTDIFF_INSERT:
				ck_assert_uint_eq(op->old_len, 0);
				ck_assert_uint_le(o + op->new_len, new_len);
				memcpy(out + o, new_text + op->new_off, op->new_len);
				o += op->new_len;
				break;
		}
		pos_old += op->old_len;
		pos_new += op->new_len;
	}
	ck_assert_uint_eq(pos_old, old_len);
	ck_assert_uint_eq(pos_new, new_len);
	ck_assert_uint_eq(o, new_len);
	if (new_len > 0)
		ck_assert_mem_eq(out, new_text, new_len);
	free(out);
}

/* diff runs textdiff_compute on two NUL-terminated strings and checks it. */
static void
diff(const char *old_text, const char *new_text, struct textdiff_result *res)
{
	int			rc = textdiff_compute(old_text, strlen(old_text),
									  new_text, strlen(new_text), &opts, res);

	ck_assert_int_eq(rc, TEXTDIFF_OK);
	apply_ops(old_text, strlen(old_text), new_text, strlen(new_text), res);
}

/* expect_op checks op i: kind and the text it covers. */
static void
expect_op(const char *old_text, const char *new_text, const struct textdiff_result *res,
		  size_t i, enum textdiff_op_kind kind, const char *text)
{
	const struct textdiff_op *op;
	const char *p;
	size_t		len;

	ck_assert_uint_lt(i, res->nops);
	op = &res->ops[i];
	ck_assert_int_eq(op->kind, kind);
	p = kind == TEXTDIFF_INSERT ? new_text + op->new_off : old_text + op->old_off;
	len = kind == TEXTDIFF_INSERT ? op->new_len : op->old_len;
	ck_assert_uint_eq(len, strlen(text));
	ck_assert_mem_eq(p, text, len);
}

/*---- Tokens ----*/

/* expect_tokens checks that text splits exactly into the NULL-terminated list. */
static void
expect_tokens(const char *text, const char *const *tokens)
{
	size_t		len = strlen(text), pos = 0, end;

	for (; *tokens != NULL; tokens++)
	{
		ck_assert_uint_lt(pos, len);
		end = textdiff_token_end(text, len, pos);
		ck_assert_msg(end - pos == strlen(*tokens) && memcmp(text + pos, *tokens, end - pos) == 0,
					  "token at %zu of \"%s\": got \"%.*s\", want \"%s\"",
					  pos, text, (int) (end - pos), text + pos, *tokens);
		pos = end;
	}
	ck_assert_uint_eq(pos, len);
}

START_TEST(test_tokens_words_spaces_punct)
{
	expect_tokens("Hello, world!", (const char *[]) {"Hello", ",", " ", "world", "!", NULL});
	expect_tokens("a  \t\n b", (const char *[]) {"a", "  \t\n ", "b", NULL});
	expect_tokens("don't stop", (const char *[]) {"don't", " ", "stop", NULL});
	expect_tokens("'quoted'", (const char *[]) {"'", "quoted", "'", NULL});
	expect_tokens("pi=3.14, n=1,000.", (const char *[]) {"pi", "=", "3.14", ",", " ", "n", "=", "1,000", ".", NULL});
	expect_tokens("end. Next", (const char *[]) {"end", ".", " ", "Next", NULL});
	expect_tokens("#launch @alice a@b", (const char *[]) {"#launch", " ", "@alice", " ", "a", "@", "b", NULL});
	expect_tokens("##", (const char *[]) {"#", "#", NULL});
	expect_tokens("snake_case42", (const char *[]) {"snake_case42", NULL});
}
END_TEST

START_TEST(test_tokens_unicode)
{
	/* Latin letters with diacritics, precomposed or combining, stay in the word. */
	expect_tokens("naïve cafe\xcc\x81!", (const char *[]) {"naïve", " ", "cafe\xcc\x81", "!", NULL});
	/* No-break space and ideographic space are whitespace. */
	expect_tokens("a\xc2\xa0" "b\xe3\x80\x80" "c", (const char *[]) {"a", "\xc2\xa0", "b", "\xe3\x80\x80", "c", NULL});
	/* CJK: one token per character; CJK punctuation too. */
	expect_tokens("我喜欢猫。", (const char *[]) {"我", "喜", "欢", "猫", "。", NULL});
	expect_tokens("カタカナ", (const char *[]) {"カ", "タ", "カ", "ナ", NULL});
	/* Korean separates words with spaces: syllables join. */
	expect_tokens("안녕 세계", (const char *[]) {"안녕", " ", "세계", NULL});
	/* Emoji: modifiers, variation selectors, ZWJ sequences and flags stay whole. */
	expect_tokens("go🚀🚀", (const char *[]) {"go", "🚀", "🚀", NULL});
	expect_tokens("👍🏽 ❤️ 👨‍👩‍👧", (const char *[]) {"👍🏽", " ", "❤️", " ", "👨‍👩‍👧", NULL});
	expect_tokens("🇫🇷🇩🇪", (const char *[]) {"🇫🇷", "🇩🇪", NULL});
	expect_tokens("“quote” — dash…", (const char *[]) {"“", "quote", "”", " ", "—", " ", "dash", "…", NULL});
}
END_TEST

START_TEST(test_tokens_invalid_utf8)
{
	/* Invalid bytes are one-byte tokens; valid sequences around them stay whole. */
	expect_tokens("ab\xff" "cd", (const char *[]) {"ab", "\xff", "cd", NULL});
	expect_tokens("\xe6\x88" "a", (const char *[]) {"\xe6", "\x88", "a", NULL});
	expect_tokens("\xc0\xaf", (const char *[]) {"\xc0", "\xaf", NULL});	/* overlong '/' */
	expect_tokens("\xed\xa0\x80", (const char *[]) {"\xed", "\xa0", "\x80", NULL});	/* surrogate */
	expect_tokens("\xf4\x90\x80\x80", (const char *[]) {"\xf4", "\x90", "\x80", "\x80", NULL});
	expect_tokens("x\xf0\x9f\x9a", (const char *[]) {"x", "\xf0", "\x9f", "\x9a", NULL});	/* truncated */
	ck_assert_uint_eq(textdiff_count_chars("a\xff" "é猫🚀", strlen("a\xff" "é猫🚀")), 5);
}
END_TEST

/* xorshift64*: deterministic, so a failure reproduces. */
static uint64_t rng_state;

static uint32_t
rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t) ((rng_state * 2685821657736338717ull) >> 32);
}

static size_t
encode_utf8(uint32_t cp, char *out)
{
	if (cp < 0x80)
		return out[0] = (char) cp, 1;
	if (cp < 0x800)
		return out[0] = (char) (0xC0 | cp >> 6), out[1] = (char) (0x80 | (cp & 0x3F)), 2;
	if (cp < 0x10000)
	{
		out[0] = (char) (0xE0 | cp >> 12);
		out[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char) (0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char) (0xF0 | cp >> 18);
	out[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char) (0x80 | (cp & 0x3F));
	return 4;
}

START_TEST(test_tokens_never_split_utf8)
{
	char		buf[4096];
	int			iter;

	rng_state = 0x9E3779B97F4A7C15ull;
	for (iter = 0; iter < 2000; iter++)
	{
		size_t		len = 0, pos, end;

		/* Random valid code points from every plane, no surrogates. */
		while (len < sizeof(buf) - 4 && rng_next() % 64 != 0)
		{
			uint32_t	cp = rng_next() % 0x110000;

			if (cp >= 0xD800 && cp <= 0xDFFF)
				cp = 0x20;
			if (rng_next() % 3 == 0)
				cp %= 0x80;
			len += encode_utf8(cp, buf + len);
		}
		for (pos = 0; pos < len; pos = end)
		{
			end = textdiff_token_end(buf, len, pos);
			ck_assert_uint_gt(end, pos);
			ck_assert_uint_le(end, len);
			if (end < len)
				ck_assert_msg(((unsigned char) buf[end] & 0xC0) != 0x80,
							  "token boundary inside a UTF-8 sequence at %zu", end);
		}
	}
	/* Random bytes: always progress, never past the end. */
	for (iter = 0; iter < 2000; iter++)
	{
		size_t		len = rng_next() % 64, pos, end, i;

		for (i = 0; i < len; i++)
			buf[i] = (char) rng_next();
		for (pos = 0; pos < len; pos = end)
		{
			end = textdiff_token_end(buf, len, pos);
			ck_assert_uint_gt(end, pos);
			ck_assert_uint_le(end, len);
		}
	}
}
END_TEST

/*---- Diff: fixed cases ----*/

START_TEST(test_identical)
{
	struct textdiff_result res;
	const char *t = "Same text, same words. 同じ 🚀";

	diff(t, t, &res);
	ck_assert_uint_eq(res.nops, 1);
	expect_op(t, t, &res, 0, TEXTDIFF_EQUAL, t);
	ck_assert_uint_eq(res.inserted_chars + res.deleted_chars, 0);
	ck_assert_uint_eq(res.inserted_tokens + res.deleted_tokens, 0);
	ck_assert(res.minimal);
	textdiff_result_free(&res, &opts);
}
END_TEST

START_TEST(test_both_empty)
{
	struct textdiff_result res;

	ck_assert_int_eq(textdiff_compute(NULL, 0, NULL, 0, &opts, &res), TEXTDIFF_OK);
	ck_assert_uint_eq(res.nops, 0);
	ck_assert_ptr_null(res.ops);
	textdiff_result_free(&res, &opts);
	textdiff_result_free(NULL, &opts);
}
END_TEST

START_TEST(test_empty_to_text)
{
	struct textdiff_result res;

	diff("", "Hello 世界 🚀", &res);
	ck_assert_uint_eq(res.nops, 1);
	expect_op("", "Hello 世界 🚀", &res, 0, TEXTDIFF_INSERT, "Hello 世界 🚀");
	ck_assert_uint_eq(res.inserted_chars, 10);
	ck_assert_uint_eq(res.inserted_bytes, strlen("Hello 世界 🚀"));
	ck_assert_uint_eq(res.inserted_tokens, 6);
	ck_assert_uint_eq(res.deleted_chars, 0);
	textdiff_result_free(&res, &opts);
}
END_TEST

START_TEST(test_text_to_empty)
{
	struct textdiff_result res;

	diff("Goodbye, world", "", &res);
	ck_assert_uint_eq(res.nops, 1);
	expect_op("Goodbye, world", "", &res, 0, TEXTDIFF_DELETE, "Goodbye, world");
	ck_assert_uint_eq(res.deleted_chars, 14);
	ck_assert_uint_eq(res.deleted_tokens, 4);
	ck_assert_uint_eq(res.inserted_chars, 0);
	textdiff_result_free(&res, &opts);
}
END_TEST

START_TEST(test_one_word_changed)
{
	struct textdiff_result res;
	const char *o = "We are thrilled to announce our new product today.";
	const char *n = "We are excited to announce our new product today.";

	diff(o, n, &res);
	ck_assert_uint_eq(res.nops, 4);
	expect_op(o, n, &res, 0, TEXTDIFF_EQUAL, "We are ");
	expect_op(o, n, &res, 1, TEXTDIFF_DELETE, "thrilled");
	expect_op(o, n, &res, 2, TEXTDIFF_INSERT, "excited");
	expect_op(o, n, &res, 3, TEXTDIFF_EQUAL, " to announce our new product today.");
	ck_assert_uint_eq(res.deleted_chars, 8);
	ck_assert_uint_eq(res.inserted_chars, 7);
	ck_assert_uint_eq(res.deleted_tokens, 1);
	ck_assert_uint_eq(res.inserted_tokens, 1);
	textdiff_result_free(&res, &opts);

	diff("a b c", "a x c", &res);
	ck_assert_uint_eq(res.nops, 4);
	expect_op("a b c", "a x c", &res, 1, TEXTDIFF_DELETE, "b");
	expect_op("a b c", "a x c", &res, 2, TEXTDIFF_INSERT, "x");
	textdiff_result_free(&res, &opts);
}
END_TEST

START_TEST(test_insert_at_start_and_end)
{
	struct textdiff_result res;

	diff("world peace", "Hello world peace", &res);
	ck_assert_uint_eq(res.nops, 2);
	expect_op("world peace", "Hello world peace", &res, 0, TEXTDIFF_INSERT, "Hello ");
	expect_op("world peace", "Hello world peace", &res, 1, TEXTDIFF_EQUAL, "world peace");
	ck_assert_uint_eq(res.inserted_tokens, 2);
	textdiff_result_free(&res, &opts);

	diff("Hello world", "Hello world! #launch", &res);
	ck_assert_uint_eq(res.nops, 2);
	expect_op("Hello world", "Hello world! #launch", &res, 0, TEXTDIFF_EQUAL, "Hello world");
	expect_op("Hello world", "Hello world! #launch", &res, 1, TEXTDIFF_INSERT, "! #launch");
	ck_assert_uint_eq(res.inserted_chars, 9);
	textdiff_result_free(&res, &opts);
}
END_TEST

START_TEST(test_cjk_and_emoji)
{
	struct textdiff_result res;
	const char *o = "我喜欢猫。Launch 🚀 today 👨‍👩‍👧!";
	const char *n = "我喜欢狗。Launch 🎉 today 👨‍👩‍👦!";

	diff(o, n, &res);
	ck_assert_uint_eq(res.nops, 10);
	expect_op(o, n, &res, 0, TEXTDIFF_EQUAL, "我喜欢");
	expect_op(o, n, &res, 1, TEXTDIFF_DELETE, "猫");
	expect_op(o, n, &res, 2, TEXTDIFF_INSERT, "狗");
	expect_op(o, n, &res, 3, TEXTDIFF_EQUAL, "。Launch ");
	expect_op(o, n, &res, 4, TEXTDIFF_DELETE, "🚀");
	expect_op(o, n, &res, 5, TEXTDIFF_INSERT, "🎉");
	expect_op(o, n, &res, 7, TEXTDIFF_DELETE, "👨‍👩‍👧");
	expect_op(o, n, &res, 8, TEXTDIFF_INSERT, "👨‍👩‍👦");
	/* 猫 + 🚀 + (man ZWJ woman ZWJ girl) = 1 + 1 + 5 code points */
	ck_assert_uint_eq(res.deleted_chars, 7);
	ck_assert_uint_eq(res.inserted_chars, 7);
	textdiff_result_free(&res, &opts);
}
END_TEST

START_TEST(test_invalid_utf8)
{
	struct textdiff_result res;
	const char *o = "caf\xe9 \xff\xfe ok \xe6\x88";
	const char *n = "caf\xe9 \xfe ok \xe6\x88\x91";

	diff(o, n, &res);
	expect_op(o, n, &res, 0, TEXTDIFF_EQUAL, "caf\xe9 ");
	expect_op(o, n, &res, 1, TEXTDIFF_DELETE, "\xff");
	expect_op(o, n, &res, 2, TEXTDIFF_EQUAL, "\xfe ok ");
	/* "\xe6\x88" (two stray bytes) became a valid 我: a whole-token change. */
	expect_op(o, n, &res, 3, TEXTDIFF_DELETE, "\xe6\x88");
	expect_op(o, n, &res, 4, TEXTDIFF_INSERT, "\xe6\x88\x91");
	ck_assert_uint_eq(res.deleted_chars, 3);
	ck_assert_uint_eq(res.inserted_chars, 1);
	textdiff_result_free(&res, &opts);
}
END_TEST

/*---- Diff: failure paths ----*/

START_TEST(test_too_big)
{
	struct textdiff_result res;

	ck_assert_int_eq(textdiff_compute("x", TEXTDIFF_MAX_INPUT_BYTES + 1, "y", 1, &opts, &res),
					 TEXTDIFF_ETOOBIG);
	ck_assert_uint_eq(res.nops, 0);
	ck_assert_str_eq(textdiff_strerror(TEXTDIFF_ETOOBIG), "input too long");
}
END_TEST

START_TEST(test_every_allocation_failure)
{
	struct textdiff_result res;
	const char *o = "one two three four five six seven";
	const char *n = "one 2 three four 5 six seven eight";
	long		k;
	int			rc;

	/* Fail the k-th allocation for every k until the diff no longer allocates k times. */
	for (k = 0;; k++)
	{
		heap.fail_after = k;
		rc = textdiff_compute(o, strlen(o), n, strlen(n), &opts, &res);
		ck_assert_int_eq(heap.live, rc == TEXTDIFF_OK ? 1 : 0);
		if (rc == TEXTDIFF_OK)
			break;
		ck_assert_int_eq(rc, TEXTDIFF_ENOMEM);
		ck_assert_ptr_null(res.ops);
		ck_assert_uint_eq(res.nops, 0);
	}
	ck_assert_int_gt(k, 5);
	apply_ops(o, strlen(o), n, strlen(n), &res);
	textdiff_result_free(&res, &opts);
}
END_TEST

/* random_text fills buf with len bytes of words, spaces and punctuation. */
static void
random_text(char *buf, size_t len, unsigned vocab_size)
{
	static const char *const syll[] = {"ka", "lo", "mi", "ne", "ru", "ta", "po", "si"};
	size_t		pos = 0;

	while (pos < len)
	{
		unsigned	r = rng_next() % 10;

		if (r < 6)
		{
			unsigned	w = rng_next() % vocab_size, nsyl = 1 + w % 3;

			while (nsyl-- > 0 && pos < len)
			{
				buf[pos++] = syll[w % 8][0];
				if (pos < len)
					buf[pos++] = syll[w % 8][1];
				w /= 8;
			}
		}
		else if (r < 9)
			buf[pos++] = ' ';
		else
			buf[pos++] = ",.!?"[rng_next() % 4];
	}
}

START_TEST(test_tick_aborts)
{
	struct textdiff_result res;
	size_t		len = 64 * 1024;
	char	   *o = malloc(len), *n = malloc(len);

	rng_state = 42;
	random_text(o, len, 4096);
	random_text(n, len, 4096);
	heap.abort_after_ticks = 1;
	ck_assert_int_eq(textdiff_compute(o, len, n, len, &opts, &res), TEXTDIFF_EABORTED);
	ck_assert_uint_eq(res.nops, 0);
	ck_assert_int_eq(heap.live, 0);
	free(o);
	free(n);
}
END_TEST

/*---- Diff: properties ----*/

struct tok
{
	const char *p;
	size_t		len;
};

static size_t
split_tokens(const char *text, size_t len, struct tok *out, size_t max)
{
	size_t		n = 0, pos = 0;

	while (pos < len && n < max)
	{
		size_t		end = textdiff_token_end(text, len, pos);

		out[n].p = text + pos;
		out[n++].len = end - pos;
		pos = end;
	}
	ck_assert_uint_eq(pos, len);
	return n;
}

/* lcs_length: textbook O(n*m) dynamic programming over tokens. */
static size_t
lcs_length(const struct tok *a, size_t n, const struct tok *b, size_t m)
{
	size_t	   *row = calloc(m + 1, sizeof(size_t));
	size_t		i, j, diag, up, result;

	for (i = 1; i <= n; i++)
	{
		for (diag = 0, j = 1; j <= m; j++)
		{
			up = row[j];
			if (a[i - 1].len == b[j - 1].len && memcmp(a[i - 1].p, b[j - 1].p, a[i - 1].len) == 0)
				row[j] = diag + 1;
			else if (row[j - 1] > row[j])
				row[j] = row[j - 1];
			diag = up;
		}
	}
	result = row[m];
	free(row);
	return result;
}

static const char *const vocab[] = {
	"the", "a", "cat", "dog", "don't", " ", " ", "  ", "\n", ",", ".", "!",
	"#tag", "@bob", "猫", "狗", "我", "🚀", "👍🏽", "🇫🇷", "é", "e\xcc\x81",
	"\xff", "\xe6\x88", "3.14", "naïve", "—", "\t", "x", "y",
};

/* vocab_text appends ntok random vocabulary items (from the first nvocab). */
static size_t
vocab_text(char *buf, size_t ntok, size_t nvocab)
{
	size_t		len = 0, i;

	for (i = 0; i < ntok; i++)
	{
		const char *w = vocab[rng_next() % nvocab];

		memcpy(buf + len, w, strlen(w));
		len += strlen(w);
	}
	return len;
}

/* mutate copies src into dst with a few random token-level edits. */
static size_t
mutate(const char *src, size_t len, char *dst, size_t nvocab)
{
	struct tok	toks[512];
	size_t		n = split_tokens(src, len, toks, 512), i, out = 0;

	for (i = 0; i <= n; i++)
	{
		unsigned	r = rng_next() % 8;

		if (r == 0)				/* insert before token i */
			out += vocab_text(dst + out, 1 + rng_next() % 2, nvocab);
		if (i == n)
			break;
		if (r == 1)				/* delete token i */
			continue;
		if (r == 2)				/* replace token i */
		{
			out += vocab_text(dst + out, 1, nvocab);
			continue;
		}
		memcpy(dst + out, toks[i].p, toks[i].len);
		out += toks[i].len;
	}
	return out;
}

/*
 * check_pair diffs o against n, replays the result, and when the diff claims
 * to be minimal compares its edit count with the LCS.
 */
static void
check_pair(const char *o, size_t olen, const char *n, size_t nlen)
{
	static struct tok ta[1024], tb[1024];
	struct textdiff_result res;
	size_t		na = split_tokens(o, olen, ta, 1024);
	size_t		nb = split_tokens(n, nlen, tb, 1024);
	size_t		lcs;

	ck_assert_int_eq(textdiff_compute(o, olen, n, nlen, &opts, &res), TEXTDIFF_OK);
	apply_ops(o, olen, n, nlen, &res);
	if (opts.max_cost == 0 && na + nb < 2 * TEXTDIFF_DEFAULT_MAX_COST)
		ck_assert(res.minimal);
	if (res.minimal)
	{
		lcs = lcs_length(ta, na, tb, nb);
		ck_assert_msg(res.deleted_tokens == na - lcs && res.inserted_tokens == nb - lcs,
					  "not minimal: -%zu +%zu, LCS %zu of %zu/%zu tokens",
					  res.deleted_tokens, res.inserted_tokens, lcs, na, nb);
	}
	ck_assert_uint_eq(res.deleted_chars + res.inserted_chars,
					  textdiff_count_chars(o, olen) + textdiff_count_chars(n, nlen) -
					  2 * (textdiff_count_chars(o, olen) - res.deleted_chars));
	textdiff_result_free(&res, &opts);
}

START_TEST(test_random_small_pairs_are_minimal)
{
	char		o[256], n[256];
	int			iter;

	/* Up to 12 tokens over small alphabets: lots of ties and repeats. */
	rng_state = 20240601;
	for (iter = 0; iter < 20000; iter++)
	{
		size_t		nvocab = 2 + rng_next() % 29;
		size_t		olen = vocab_text(o, rng_next() % 13, nvocab);
		size_t		nlen = vocab_text(n, rng_next() % 13, nvocab);

		check_pair(o, olen, n, nlen);
	}
}
END_TEST

START_TEST(test_random_edited_pairs_are_minimal)
{
	static char o[8192], n[16384];
	int			iter;

	/* Longer texts and their mutations: the realistic case. */
	rng_state = 7;
	for (iter = 0; iter < 2000; iter++)
	{
		size_t		nvocab = 2 + rng_next() % 29;
		size_t		olen = vocab_text(o, rng_next() % 200, nvocab);
		size_t		nlen = mutate(o, olen, n, nvocab);

		check_pair(o, olen, n, nlen);
	}
}
END_TEST

START_TEST(test_cost_cut_still_exact_replay)
{
	char		o[4096], n[4096];
	int			iter;

	/* A tiny max_cost forces the heuristic split on almost every box. */
	rng_state = 99;
	for (iter = 0; iter < 5000; iter++)
	{
		size_t		nvocab = 2 + rng_next() % 29;
		size_t		olen = vocab_text(o, rng_next() % 100, nvocab);
		size_t		nlen = rng_next() % 2 ? mutate(o, olen, n, nvocab)
			: vocab_text(n, rng_next() % 100, nvocab);

		opts.max_cost = 1 + (int) (rng_next() % 4);
		check_pair(o, olen, n, nlen);
	}
}
END_TEST

START_TEST(test_64k_of_changes)
{
	struct textdiff_result res;
	size_t		len = 64 * 1024;
	char	   *o = malloc(len), *n = malloc(len);
	size_t		i;

	/* Two unrelated 64 KiB texts, then a text and its reversal. */
	rng_state = 64;
	random_text(o, len, 4096);
	random_text(n, len, 4096);
	ck_assert_int_eq(textdiff_compute(o, len, n, len, &opts, &res), TEXTDIFF_OK);
	apply_ops(o, len, n, len, &res);
	textdiff_result_free(&res, &opts);
	for (i = 0; i < len; i++)
		n[i] = o[len - 1 - i];
	ck_assert_int_eq(textdiff_compute(o, len, n, len, &opts, &res), TEXTDIFF_OK);
	apply_ops(o, len, n, len, &res);
	textdiff_result_free(&res, &opts);
	free(o);
	free(n);
}
END_TEST

START_TEST(test_64k_of_random_bytes)
{
	struct textdiff_result res;
	size_t		len = 64 * 1024, i;
	char	   *o = malloc(len), *n = malloc(len);

	rng_state = 65;
	for (i = 0; i < len; i++)
	{
		o[i] = (char) rng_next();
		n[i] = rng_next() % 16 == 0 ? (char) rng_next() : o[i];
	}
	ck_assert_int_eq(textdiff_compute(o, len, n, len, &opts, &res), TEXTDIFF_OK);
	apply_ops(o, len, n, len, &res);
	textdiff_result_free(&res, &opts);
	free(o);
	free(n);
}
END_TEST

Suite *
textdiff_suite(void)
{
	Suite	   *s = suite_create("textdiff");
	TCase	   *tok = tcase_create("tokens");
	TCase	   *fixed = tcase_create("diff");
	TCase	   *prop = tcase_create("properties");

	tcase_add_test(tok, test_tokens_words_spaces_punct);
	tcase_add_test(tok, test_tokens_unicode);
	tcase_add_test(tok, test_tokens_invalid_utf8);
	tcase_add_test(tok, test_tokens_never_split_utf8);
	suite_add_tcase(s, tok);

	tcase_add_checked_fixture(fixed, setup, teardown);
	tcase_add_test(fixed, test_identical);
	tcase_add_test(fixed, test_both_empty);
	tcase_add_test(fixed, test_empty_to_text);
	tcase_add_test(fixed, test_text_to_empty);
	tcase_add_test(fixed, test_one_word_changed);
	tcase_add_test(fixed, test_insert_at_start_and_end);
	tcase_add_test(fixed, test_cjk_and_emoji);
	tcase_add_test(fixed, test_invalid_utf8);
	tcase_add_test(fixed, test_too_big);
	tcase_add_test(fixed, test_every_allocation_failure);
	tcase_add_test(fixed, test_tick_aborts);
	suite_add_tcase(s, fixed);

	/* Sanitizer builds run these several times slower than the default 4 s. */
	tcase_set_timeout(prop, 120);
	tcase_add_checked_fixture(prop, setup, teardown);
	tcase_add_test(prop, test_random_small_pairs_are_minimal);
	tcase_add_test(prop, test_random_edited_pairs_are_minimal);
	tcase_add_test(prop, test_cost_cut_still_exact_replay);
	tcase_add_test(prop, test_64k_of_changes);
	tcase_add_test(prop, test_64k_of_random_bytes);
	suite_add_tcase(s, prop);
	return s;
}
