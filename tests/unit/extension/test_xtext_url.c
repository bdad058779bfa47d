/*
 * test_xtext_url.c — extension/src/xtext_url.c: the URLs twitter-text counts.
 *
 * twitter-text's weighted-length conformance data (test_xtext.c) only holds
 * a few URLs; these cases pin the rest of extractUrlsWithIndices' behaviour.
 * Every expectation is what twitter-text 3.1.0's extractUrlsWithIndices
 * returns for the same text (checked with the npm package); the comment on a
 * case says which rule it exercises.
 */
#include <stdlib.h>
#include <string.h>

#include "../suites.h"
#include "xtext.h"
#include "xtext_url.h"

/*
 * The URLs found in UTF-8 s, as "url|url|..." (code points written back as
 * the input's bytes, which works because the tests below are ASCII or give
 * the URL's code point range).  Result in a static buffer.
 */
static const char *
urls_in(const char *s)
{
	static char out[1024];
	uint32_t	cps[512];
	size_t		n,
				used = 0;
	struct xtext_url_scan sc;
	struct xtext_url url;

	ck_assert_uint_lt(strlen(s), sizeof(cps) / sizeof(cps[0]));
	ck_assert_int_eq(xtext_utf8_decode(s, strlen(s), cps, &n), 0);
	out[0] = '\0';
	xtext_url_scan_init(&sc, cps, n);
	while (xtext_url_next(&sc, &url))
	{
		size_t		i;

		ck_assert_uint_lt(url.start, url.end);
		ck_assert_uint_le(url.end, n);
		ck_assert_int_eq(url.length16, xtext_utf16_length(cps + url.start, url.end - url.start));
		if (used > 0)
			out[used++] = '|';
		for (i = url.start; i < url.end && used + 2 < sizeof(out); i++)
			out[used++] = cps[i] < 0x80 ? (char) cps[i] : '?';
		out[used] = '\0';
	}
	return out;
}

START_TEST(test_with_protocol)
{
	ck_assert_str_eq(urls_in("Hi http://test.co"), "http://test.co");
	ck_assert_str_eq(urls_in("HTTPS://www.ExaMPLE.COM/index.html"), "HTTPS://www.ExaMPLE.COM/index.html");
	ck_assert_str_eq(urls_in("http://test_underscore.twitter.com"), "http://test_underscore.twitter.com");
	/* port, path, query; a trailing '.' is not part of the URL */
	ck_assert_str_eq(urls_in("go http://example.com:8080/a/b?x=1&y=2."),
					 "http://example.com:8080/a/b?x=1&y=2");
	/* an unencoded domain */
	ck_assert_str_eq(urls_in("http://\xE2\x98\x83.net/"), "http://?.net/");
	/* ftp is not a protocol, and after "/" a protocol-less URL is dropped */
	ck_assert_str_eq(urls_in("ftp://www.example.com/"), "");
}
END_TEST

START_TEST(test_without_protocol)
{
	ck_assert_str_eq(urls_in("example.com"), "example.com");
	ck_assert_str_eq(urls_in("a.com b.com"), "a.com|b.com");
	ck_assert_str_eq(urls_in("foo.co.jp"), "foo.co.jp");
	/* any TLD will do, country TLDs included, with or without a path */
	ck_assert_str_eq(urls_in("foo.jp"), "foo.jp");
	ck_assert_str_eq(urls_in("t.co and foo.tv"), "t.co|foo.tv");
	ck_assert_str_eq(urls_in("foo.jp/bar"), "foo.jp/bar");
	/* the port is kept only together with a path */
	ck_assert_str_eq(urls_in("example.com:8080"), "example.com");
	ck_assert_str_eq(urls_in("example.com:8080/x"), "example.com:8080/x");
	/* only the ASCII domain inside a Unicode one counts */
	ck_assert_str_eq(urls_in("\xE4\xB8\xAD\xE5\x9B\xBD" "foo.com"), "foo.com");
	ck_assert_str_eq(urls_in("\xE2\x98\x83.net"), "");
	/* unknown TLD; e-mail address */
	ck_assert_str_eq(urls_in("file.txt"), "");
	ck_assert_str_eq(urls_in("me@example.com"), "");
}
END_TEST

START_TEST(test_preceding_character)
{
	/* after - _ . / a protocol-less URL is dropped */
	ck_assert_str_eq(urls_in("_4352.com"), "");
	ck_assert_str_eq(urls_in("x_4352.com"), "");
	ck_assert_str_eq(urls_in("a-example.com"), "a-example.com");
	ck_assert_str_eq(urls_in("(example.com)"), "example.com");
	/* $ # @ may not precede any URL */
	ck_assert_str_eq(urls_in("$http://example.com"), "");
	/* bidi marks may */
	ck_assert_str_eq(urls_in("\xE2\x80\xAAhttp://example.com"), "http://example.com");

	/*
	 * JavaScript sees an emoji as two surrogates: its high half precedes a
	 * URL starting at its low half, whatever came before the emoji.
	 */
	ck_assert_str_eq(urls_in("$\xF0\x9F\x91\x8Dt.co/x"), "t.co/x");
	ck_assert_str_eq(urls_in("a.\xF0\x9F\x98\x80" "b.com"), "b.com");
	ck_assert_str_eq(urls_in("\xF0\x9F\x98\x80.tv.\xCE\xB5\xCE\xBB"), "tv.??");
	/* but a domain starting with the emoji follows the usual rules */
	ck_assert_str_eq(urls_in("$-\xF0\x9F\x91\x8Dt.co/x"), "");
}
END_TEST

START_TEST(test_domain_labels)
{
	/* '_' only in subdomains; labels start and end with a letter or digit */
	ck_assert_str_eq(urls_in("http://domain-dash_2314352345_dfasd.foo-cow_4352.com"), "");
	ck_assert_str_eq(urls_in("http://www.-domain4352.com/"), "");
	ck_assert_str_eq(urls_in("http://www.domain4352-.com/"), "");
	/* the longest run of subdomains that still ends in name.TLD */
	ck_assert_str_eq(urls_in("www.twitter.com/jack."), "www.twitter.com/jack");
	ck_assert_str_eq(urls_in("example.com.au."), "example.com.au");
	/* punycode TLD */
	ck_assert_str_eq(urls_in("http://example.xn--p1ai/"), "http://example.xn--p1ai/");
}
END_TEST

START_TEST(test_label_length)
{
	char		text[256];

	/* 63 ASCII characters are fine, 64 are not */
	strcpy(text, "http://");
	memset(text + 7, 'a', 63);
	strcpy(text + 70, ".com");
	ck_assert_str_eq(urls_in(text), text);
	memset(text + 7, 'a', 64);
	strcpy(text + 71, ".com");
	ck_assert_str_eq(urls_in(text), "");
}
END_TEST

START_TEST(test_path)
{
	ck_assert_str_eq(urls_in("http://en.wikipedia.org/wiki/Primer_(film)"),
					 "http://en.wikipedia.org/wiki/Primer_(film)");
	ck_assert_str_eq(urls_in("(see http://example.com/foo)"), "http://example.com/foo");
	ck_assert_str_eq(urls_in("http://example.com/a((b))c"), "http://example.com/a((b))c");
	ck_assert_str_eq(urls_in("http://example.com/a(b"), "http://example.com/a");
	ck_assert_str_eq(urls_in("http://example.com/foo!!"), "http://example.com/foo");
	ck_assert_str_eq(urls_in("http://example.com/?q=a,"), "http://example.com/?q=a");
	ck_assert_str_eq(urls_in("http://example.com/wiki/\"#P"), "http://example.com/wiki/");
}
END_TEST

START_TEST(test_tco)
{
	char		text[128];

	ck_assert_str_eq(urls_in("https://t.co/abc/def"), "https://t.co/abc");
	ck_assert_str_eq(urls_in("https://t.co/abc?x=1 more"), "https://t.co/abc?x=1");
	strcpy(text, "https://t.co/");
	memset(text + 13, 'x', 41);
	text[54] = '\0';
	ck_assert_str_eq(urls_in(text), "");
	text[53] = '\0';
	ck_assert_str_eq(urls_in(text), text);
}
END_TEST

/*
 * A protocol-less URL with a path whose domain goes on after its last ASCII
 * part: indices cover the whole match, but its url string (what parseTweet
 * skips) is the ASCII domain + the path.  twitter-text counts
 * "foo.com.例え.com/path xx" as 33: the URL, then "om/path xx".
 */
START_TEST(test_url_string_shorter_than_indices)
{
	const char *s = "foo.com.\xE4\xBE\x8B\xE3\x81\x88.com/path xx";
	uint32_t	cps[64];
	size_t		n;
	struct xtext_url_scan sc;
	struct xtext_url url;
	struct xtext_result r;

	ck_assert_int_eq(xtext_utf8_decode(s, strlen(s), cps, &n), 0);
	xtext_url_scan_init(&sc, cps, n);
	ck_assert(xtext_url_next(&sc, &url));
	ck_assert_uint_eq(url.start, 0);
	ck_assert_uint_eq(url.end, 19);
	ck_assert_int_eq(url.length16, 12);
	ck_assert(!xtext_url_next(&sc, &url));
	ck_assert_int_eq(xtext_count(&xtext_config_v3, cps, n, &r), 0);
	ck_assert_int_eq(r.weighted_length, 33);
}
END_TEST

START_TEST(test_no_dot_no_url)
{
	ck_assert_str_eq(urls_in(""), "");
	ck_assert_str_eq(urls_in("http://localhost/"), "");
}
END_TEST

/*
 * "a.a.a.a...": every . starts a candidate that reads all labels after it.
 * The scanner must stay linear (a quadratic one takes minutes here and hits
 * check's timeout).  With "com" at the end it is one URL, if it is no longer
 * than twitter-text's 4096 (counting "https://" for a protocol-less URL).
 */
static size_t
count_urls_in_chain(size_t n, const char *tail)
{
	size_t		len = strlen(tail),
				i,
				found = 0;
	uint32_t   *cps = malloc((n + len) * sizeof(uint32_t));
	struct xtext_url_scan sc;
	struct xtext_url url;

	ck_assert_ptr_nonnull(cps);
	for (i = 0; i < n; i++)
		cps[i] = (i % 2) ? '.' : 'a';
	for (i = 0; i < len; i++)
		cps[n + i] = (uint32_t) tail[i];
	xtext_url_scan_init(&sc, cps, n + len);
	while (xtext_url_next(&sc, &url))
		found++;
	free(cps);
	return found;
}

START_TEST(test_long_label_chain)
{
	ck_assert_uint_eq(count_urls_in_chain(400000, " x"), 0);
	ck_assert_uint_eq(count_urls_in_chain(400000, "com"), 0);
	ck_assert_uint_eq(count_urls_in_chain(4084, "com"), 1);
	ck_assert_uint_eq(count_urls_in_chain(4086, "com"), 0);
}
END_TEST

Suite *
xtext_url_suite(void)
{
	Suite	   *s = suite_create("xtext_url");
	TCase	   *tc = tcase_create("extract");

	tcase_add_test(tc, test_with_protocol);
	tcase_add_test(tc, test_without_protocol);
	tcase_add_test(tc, test_preceding_character);
	tcase_add_test(tc, test_domain_labels);
	tcase_add_test(tc, test_label_length);
	tcase_add_test(tc, test_path);
	tcase_add_test(tc, test_tco);
	tcase_add_test(tc, test_url_string_shorter_than_indices);
	tcase_add_test(tc, test_no_dot_no_url);
	tcase_add_test(tc, test_long_label_chain);
	suite_add_tcase(s, tc);
	return s;
}
