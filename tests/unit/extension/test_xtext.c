/*
 * test_xtext.c — extension/src/xtext.c: X's weighted length of a post.
 *
 * Most cases are twitter-text's own conformance data: the Makefile turns
 * tests/fixtures/twitter-text/ into the TSV named by XTEXT_CASES_TSV, read
 * here when the suite is built.  Each validate.yml section becomes a TCase
 * with one loop iteration per case, so check's closing line counts them.
 * Input is normalised with PostgreSQL's unicode_normalize (nfc.c), as in the
 * extension; ranges are rebased to the text as written, as twitter-text does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../suites.h"
#include "nfc.h"
#include "xtext.h"

#ifndef XTEXT_CASES_TSV
#error "XTEXT_CASES_TSV must name the conformance TSV (see tests/unit/Makefile)"
#endif

#define MAX_SECTIONS 8

/* One "config" line of the TSV. */
struct tt_config
{
	char		name[8];
	long		max, scale, default_weight, url_length, emoji;
	char		ranges[256];
};

/* One "case" line of the TSV; text is the UTF-8 as written in validate.yml. */
struct tt_case
{
	char		config[8];
	char		section[64];
	long		index;
	char	   *text;
	size_t		len;
	long		weighted_length, valid, permillage;
	long		display_start, display_end, valid_start, valid_end;
	char		description[256];
};

static struct tt_config tt_configs[2];
static size_t tt_nconfigs;
static struct tt_case *tt_cases;
static size_t tt_ncases;
static char tt_error[512];

static void
tt_free(void)
{
	size_t		i;

	for (i = 0; i < tt_ncases; i++)
		free(tt_cases[i].text);
	free(tt_cases);
	tt_cases = NULL;
	tt_ncases = 0;
}

/* Decode hex into a new malloc'd buffer; NULL if malformed. */
static char *
hex_decode(const char *hex, size_t *len)
{
	size_t		n = strlen(hex) / 2,
				i;
	char	   *out = malloc(n + 1);

	if (out == NULL || strlen(hex) % 2 != 0)
	{
		free(out);
		return NULL;
	}
	for (i = 0; i < n; i++)
	{
		unsigned int byte;

		if (sscanf(hex + 2 * i, "%2x", &byte) != 1)
		{
			free(out);
			return NULL;
		}
		out[i] = (char) byte;
	}
	out[n] = '\0';
	*len = n;
	return out;
}

/* Split line at tabs into at most max fields; returns the count. */
static int
split_tabs(char *line, char **field, int max)
{
	int			n = 0;
	char	   *tok;

	line[strcspn(line, "\n")] = '\0';
	while (n < max && (tok = strsep(&line, "\t")) != NULL)
		field[n++] = tok;
	return n;
}

static int
parse_config(char **f, int nf)
{
	struct tt_config *c;

	if (nf != 8 || tt_nconfigs >= 2)
		return -1;
	c = &tt_configs[tt_nconfigs++];
	snprintf(c->name, sizeof(c->name), "%s", f[1]);
	c->max = atol(f[2]);
	c->scale = atol(f[3]);
	c->default_weight = atol(f[4]);
	c->url_length = atol(f[5]);
	c->emoji = atol(f[6]);
	snprintf(c->ranges, sizeof(c->ranges), "%s", f[7]);
	return 0;
}

static int
parse_case(char **f, int nf)
{
	struct tt_case *c,
			   *grown;

	if (nf != 13)
		return -1;
	grown = realloc(tt_cases, (tt_ncases + 1) * sizeof(*tt_cases));
	if (grown == NULL)
		return -1;
	tt_cases = grown;
	c = &tt_cases[tt_ncases];
	snprintf(c->config, sizeof(c->config), "%s", f[1]);
	snprintf(c->section, sizeof(c->section), "%s", f[2]);
	c->index = atol(f[3]);
	if ((c->text = hex_decode(f[4], &c->len)) == NULL)
		return -1;
	c->weighted_length = atol(f[5]);
	c->valid = atol(f[6]);
	c->permillage = atol(f[7]);
	c->display_start = atol(f[8]);
	c->display_end = atol(f[9]);
	c->valid_start = atol(f[10]);
	c->valid_end = atol(f[11]);
	snprintf(c->description, sizeof(c->description), "%s", f[12]);
	tt_ncases++;
	return 0;
}

/* Read the TSV; on failure leave a message in tt_error. */
static void
tt_load(const char *path)
{
	FILE	   *fp = fopen(path, "r");
	char	   *line = NULL;
	size_t		cap = 0;
	long		lineno = 0;

	if (fp == NULL)
	{
		snprintf(tt_error, sizeof(tt_error), "cannot open %s", path);
		return;
	}
	while (getline(&line, &cap, fp) != -1)
	{
		char	   *f[16];
		int			nf = split_tabs(line, f, 16),
					rc = -1;

		lineno++;
		if (nf > 0 && strcmp(f[0], "config") == 0)
			rc = parse_config(f, nf);
		else if (nf > 0 && strcmp(f[0], "case") == 0)
			rc = parse_case(f, nf);
		if (rc != 0)
		{
			snprintf(tt_error, sizeof(tt_error), "%s:%ld: malformed line", path, lineno);
			break;
		}
	}
	free(line);
	fclose(fp);
	if (tt_error[0] == '\0' && (tt_ncases == 0 || tt_nconfigs != 2))
		snprintf(tt_error, sizeof(tt_error), "%s: no cases or configs", path);
}

static const struct xtext_config *
config_named(const char *name)
{
	return strcmp(name, "v2") == 0 ? &xtext_config_v2 : &xtext_config_v3;
}

/* Count c as the extension would; describe any difference in diff. */
static int
run_case(const struct tt_case *c, char *diff, size_t difflen)
{
	uint32_t   *raw = malloc((c->len + 1) * sizeof(uint32_t)),
			   *nfc = NULL;
	size_t		nraw = 0,
				nnfc = 0,
				used = 0;
	struct xtext_result r;
	int			rc = -1;

	diff[0] = '\0';
	if (raw == NULL || xtext_utf8_decode(c->text, c->len, raw, &nraw) != 0 ||
		(nfc = test_nfc(raw, nraw, &nnfc)) == NULL ||
		xtext_count(config_named(c->config), nfc, nnfc, &r) != 0)
		snprintf(diff, difflen, "could not count");
	else
	{
		struct
		{
			const char *name;
			long		want;
			int64_t		got;
		}			f[] = {
			{"weightedLength", c->weighted_length, r.weighted_length},
			{"valid", c->valid, r.valid},
			{"permillage", c->permillage, r.permillage},
			{"displayRangeStart", c->display_start, 0},
			{"displayRangeEnd", c->display_end, 0},
			{"validRangeStart", c->valid_start, 0},
			{"validRangeEnd", c->valid_end, 0},
		};
		size_t		i;

		xtext_result_rebase(&r, xtext_utf16_length(raw, nraw));
		f[3].got = r.display_start;
		f[4].got = r.display_end;
		f[5].got = r.valid_start;
		f[6].got = r.valid_end;
		rc = 0;
		for (i = 0; i < sizeof(f) / sizeof(f[0]) && used < difflen; i++)
			if (f[i].want != f[i].got)
			{
				used += (size_t) snprintf(diff + used, difflen - used, " %s %lld, want %ld;",
										  f[i].name, (long long) f[i].got, f[i].want);
				rc = 1;
			}
	}
	free(raw);
	free(nfc);
	return rc;
}

START_TEST(test_conformance_case)
{
	const struct tt_case *c = &tt_cases[_i];
	char		diff[512];

	ck_assert_msg(run_case(c, diff, sizeof(diff)) == 0, "%s #%ld (%s, \"%s\"):%s",
				  c->section, c->index, c->config, c->description, diff);
}
END_TEST

START_TEST(test_conformance_data_loaded)
{
	ck_assert_msg(tt_error[0] == '\0', "%s", tt_error);
}
END_TEST

/* The compiled configurations are the JSON files of the fixture. */
START_TEST(test_configs_match_json)
{
	size_t		i;

	ck_assert_uint_eq(tt_nconfigs, 2);
	for (i = 0; i < tt_nconfigs; i++)
	{
		const struct tt_config *want = &tt_configs[i];
		const struct xtext_config *got = config_named(want->name);
		char		ranges[256] = "";
		size_t		k,
					used = 0;

		for (k = 0; k < got->nranges; k++)
			used += (size_t) snprintf(ranges + used, sizeof(ranges) - used, "%s%u-%u:%d",
									  k ? "," : "", got->ranges[k].start,
									  got->ranges[k].end, got->ranges[k].weight);
		ck_assert_int_eq(got->max_weighted_length, want->max);
		ck_assert_int_eq(got->scale, want->scale);
		ck_assert_int_eq(got->default_weight, want->default_weight);
		ck_assert_int_eq(got->transformed_url_length, want->url_length);
		ck_assert_int_eq(got->emoji_parsing, want->emoji);
		ck_assert_str_eq(ranges, want->ranges);
	}
}
END_TEST

/* ---- Cases of our own ---- */

/* Weighted length of UTF-8 s (already NFC) under cfg; r receives it all. */
static int64_t
weigh(const struct xtext_config *cfg, const char *s, struct xtext_result *r)
{
	uint32_t	cps[512];
	size_t		n;

	ck_assert_uint_lt(strlen(s), sizeof(cps) / sizeof(cps[0]));
	ck_assert_int_eq(xtext_utf8_decode(s, strlen(s), cps, &n), 0);
	ck_assert_int_eq(xtext_count(cfg, cps, n, r), 0);
	return r->weighted_length;
}

START_TEST(test_utf8_decode)
{
	static const char *const invalid[] = {
		"\x80", "\xC0\x80", "\xC1\xBF", "\xE0\x80\x80", "\xED\xA0\x80",
		"\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xE2\x82", "a\xE2\x82", "\xFF",
	};
	uint32_t	cps[16];
	size_t		n,
				i;

	ck_assert_int_eq(xtext_utf8_decode("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", 10, cps, &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(cps[0], 0x61);
	ck_assert_uint_eq(cps[1], 0xE9);
	ck_assert_uint_eq(cps[2], 0x20AC);
	ck_assert_uint_eq(cps[3], 0x1F600);
	ck_assert_int_eq(xtext_utf8_decode("", 0, cps, &n), 0);
	ck_assert_uint_eq(n, 0);
	for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
		ck_assert_msg(xtext_utf8_decode(invalid[i], strlen(invalid[i]), cps, &n) == -1,
					  "invalid UTF-8 #%zu accepted", i);
}
END_TEST

START_TEST(test_rejects_non_scalar_values)
{
	const uint32_t surrogate[] = {0x61, 0xD800};
	const uint32_t too_big[] = {0x110000};
	struct xtext_result r;

	ck_assert_int_eq(xtext_count(&xtext_config_v3, surrogate, 2, &r), -1);
	ck_assert_int_eq(xtext_count(&xtext_config_v3, too_big, 1, &r), -1);
}
END_TEST

START_TEST(test_empty_text_is_invalid)
{
	struct xtext_result r;

	ck_assert_int_eq(xtext_count(&xtext_config_v3, NULL, 0, &r), 0);
	ck_assert_int_eq(r.weighted_length, 0);
	ck_assert(!r.valid);
	ck_assert_int_eq(r.permillage, 0);
	ck_assert_int_eq(r.valid_end, 0);
	ck_assert_int_eq(r.display_end, 0);
}
END_TEST

START_TEST(test_limit_is_inclusive)
{
	char		text[300];
	struct xtext_result r;

	memset(text, 'x', 280);
	text[280] = '\0';
	ck_assert_int_eq(weigh(&xtext_config_v3, text, &r), 280);
	ck_assert(r.valid);
	ck_assert_int_eq(r.permillage, 1000);
	strcat(text, "y");
	ck_assert_int_eq(weigh(&xtext_config_v3, text, &r), 281);
	ck_assert(!r.valid);
	ck_assert_int_eq(r.valid_end, 279);
	ck_assert_int_eq(r.display_end, 280);
}
END_TEST

/* U+FEFF (a BOM) makes the text invalid from there on, at any length. */
START_TEST(test_invalid_character)
{
	struct xtext_result r;

	ck_assert_int_eq(weigh(&xtext_config_v3, "ab\xEF\xBB\xBF" "cd", &r), 6);
	ck_assert(!r.valid);
	ck_assert_int_eq(r.valid_end, 1);
}
END_TEST

/* Text-style © stays Latin-1 (weight 1); with U+FE0F it is an emoji. */
START_TEST(test_emoji_sequences)
{
	struct xtext_result r;

	ck_assert_int_eq(weigh(&xtext_config_v3, "\xC2\xA9", &r), 1);
	ck_assert_int_eq(weigh(&xtext_config_v3, "\xC2\xA9\xEF\xB8\x8F", &r), 2);
	ck_assert_int_eq(weigh(&xtext_config_v2, "\xC2\xA9\xEF\xB8\x8F", &r), 3);
	/* keycap #️⃣, flag 🇫🇷, woman with white cane 👩‍🦯 */
	ck_assert_int_eq(weigh(&xtext_config_v3, "#\xEF\xB8\x8F\xE2\x83\xA3", &r), 2);
	ck_assert_int_eq(weigh(&xtext_config_v3, "\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7", &r), 2);
	ck_assert_int_eq(weigh(&xtext_config_v2, "\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7", &r), 4);
	ck_assert_int_eq(weigh(&xtext_config_v3, "\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\xA6\xAF", &r), 2);
	/* a lone ZWJ is a General Punctuation space (1); digits are not emoji */
	ck_assert_int_eq(weigh(&xtext_config_v3, "\xE2\x80\x8D" "1", &r), 2);
	/* UTF-16 ranges: 🇫🇷 is four code units */
	weigh(&xtext_config_v3, "\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7", &r);
	ck_assert_int_eq(r.display_end, 3);
	ck_assert_int_eq(r.valid_end, 3);
}
END_TEST

START_TEST(test_urls_count_23)
{
	struct xtext_result r;

	ck_assert_int_eq(weigh(&xtext_config_v3, "see https://example.com/a/very/long/path/indeed?q=1", &r), 4 + 23);
	ck_assert_int_eq(weigh(&xtext_config_v3, "example.com and foo.jp", &r), 23 + 5 + 23);
	ck_assert_int_eq(weigh(&xtext_config_v3, "file.txt", &r), 8);
}
END_TEST

START_TEST(test_rebase)
{
	struct xtext_result r;

	weigh(&xtext_config_v3, "ab", &r);
	xtext_result_rebase(&r, 3);
	ck_assert_int_eq(r.valid_end, 2);
	ck_assert_int_eq(r.display_end, 2);
	ck_assert_int_eq(r.utf16_length, 3);
	xtext_result_rebase(&r, 0);
	ck_assert_int_eq(r.display_end, 0);
}
END_TEST

Suite *
xtext_suite(void)
{
	Suite	   *s = suite_create("xtext");
	TCase	   *tc = tcase_create("units");
	TCase	   *data = tcase_create("conformance data");
	size_t		i = 0;

	if (tt_cases == NULL && tt_error[0] == '\0')
	{
		tt_load(XTEXT_CASES_TSV);
		atexit(tt_free);
	}
	tcase_add_test(data, test_conformance_data_loaded);
	tcase_add_test(data, test_configs_match_json);
	suite_add_tcase(s, data);

	/* One TCase per validate.yml section; the cases of a section are adjacent. */
	while (i < tt_ncases)
	{
		size_t		j = i;
		TCase	   *section = tcase_create(tt_cases[i].section);

		while (j < tt_ncases && strcmp(tt_cases[j].section, tt_cases[i].section) == 0)
			j++;
		tcase_add_loop_test(section, test_conformance_case, (int) i, (int) j);
		suite_add_tcase(s, section);
		i = j;
	}

	tcase_add_test(tc, test_utf8_decode);
	tcase_add_test(tc, test_rejects_non_scalar_values);
	tcase_add_test(tc, test_empty_text_is_invalid);
	tcase_add_test(tc, test_limit_is_inclusive);
	tcase_add_test(tc, test_invalid_character);
	tcase_add_test(tc, test_emoji_sequences);
	tcase_add_test(tc, test_urls_count_23);
	tcase_add_test(tc, test_rebase);
	suite_add_tcase(s, tc);
	return s;
}
