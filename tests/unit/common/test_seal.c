/*
 * test_seal.c — common/src/seal.c: key ring parsing, sealing round trips,
 * and every way a sealed token must refuse to open (tampered byte, other
 * key, other organisation, account or kind), plus base64.
 */
#include <string.h>

#include "../suites.h"
#include "seal.h"

/* 32 bytes each, base64. */
#define K1	"k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define K2	"k2:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
#define ORG	"6f1c1f5e-2d7a-4c44-9d55-0a3e5f1b2c3d"
#define SUBJ	"x:12345"
#define TOKEN	"tok-access-abcdefghijklmnopqrstuvwxyz"

static struct seal_ring	 ring;
static char		 err[256];

static void
setup(void)
{
	err[0] = '\0';
	ck_assert_int_eq(seal_ring_parse(&ring, K1 "," K2, "k2", err, sizeof(err)), 0);
}

static void
teardown(void)
{
	seal_ring_clear(&ring);
}

static long
seal(uint8_t *out, size_t outlen)
{
	return (seal_token(&ring, ORG, SUBJ, "access", TOKEN, strlen(TOKEN),
	    out, outlen));
}

START_TEST(test_round_trip)
{
	uint8_t	 sealed[256];
	char	 clear[256];
	long	 n;

	n = seal(sealed, sizeof(sealed));
	ck_assert_int_eq(n, (long)strlen(TOKEN) + SEAL_OVERHEAD);
	ck_assert_ptr_null(memmem(sealed, (size_t)n, TOKEN, strlen(TOKEN)));
	ck_assert_str_eq(seal_current_kid(&ring), "k2");
	ck_assert_int_eq(seal_open(&ring, "k2", ORG, SUBJ, "access", sealed,
	    (size_t)n, clear, sizeof(clear)), (long)strlen(TOKEN));
	ck_assert_str_eq(clear, TOKEN);
}
END_TEST

START_TEST(test_nonce_is_fresh)
{
	uint8_t	 a[256], b[256];
	long	 n;

	n = seal(a, sizeof(a));
	ck_assert_int_eq(seal(b, sizeof(b)), n);
	ck_assert_int_ne(memcmp(a, b, (size_t)n), 0);
}
END_TEST

START_TEST(test_refuses_to_open)
{
	uint8_t	 sealed[256];
	char	 clear[256];
	long	 n;

	n = seal(sealed, sizeof(sealed));
	/* Another key id, organisation, subject or kind. */
	ck_assert_int_eq(seal_open(&ring, "k1", ORG, SUBJ, "access", sealed, (size_t)n, clear, sizeof(clear)), -1);
	ck_assert_int_eq(seal_open(&ring, "k3", ORG, SUBJ, "access", sealed, (size_t)n, clear, sizeof(clear)), -1);
	ck_assert_int_eq(seal_open(&ring, "k2", "00000000-0000-0000-0000-000000000000", SUBJ, "access", sealed, (size_t)n, clear, sizeof(clear)), -1);
	ck_assert_int_eq(seal_open(&ring, "k2", ORG, "x:12346", "access", sealed, (size_t)n, clear, sizeof(clear)), -1);
	ck_assert_int_eq(seal_open(&ring, "k2", ORG, SUBJ, "refresh", sealed, (size_t)n, clear, sizeof(clear)), -1);
	ck_assert_str_eq(clear, "");
	/* Short, truncated, or one flipped bit anywhere. */
	ck_assert_int_eq(seal_open(&ring, "k2", ORG, SUBJ, "access", sealed, SEAL_OVERHEAD - 1, clear, sizeof(clear)), -1);
	ck_assert_int_eq(seal_open(&ring, "k2", ORG, SUBJ, "access", sealed, (size_t)n - 1, clear, sizeof(clear)), -1);
	sealed[_i % n] ^= 0x01;
	ck_assert_int_eq(seal_open(&ring, "k2", ORG, SUBJ, "access", sealed, (size_t)n, clear, sizeof(clear)), -1);
	ck_assert_str_eq(clear, "");
	/* An output buffer too small is refused, not overrun. */
	sealed[_i % n] ^= 0x01;
	ck_assert_int_eq(seal_open(&ring, "k2", ORG, SUBJ, "access", sealed, (size_t)n, clear, strlen(TOKEN)), -1);
}
END_TEST

START_TEST(test_rotation)
{
	struct seal_ring	 old;
	uint8_t			 sealed[256];
	char			 clear[256];
	long			 n;

	/* Sealed under k1 while k1 was current; k2 current now: still opens. */
	ck_assert_int_eq(seal_ring_parse(&old, K1, NULL, err, sizeof(err)), 0);
	n = seal_token(&old, ORG, SUBJ, "refresh", TOKEN, strlen(TOKEN), sealed, sizeof(sealed));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(seal_open(&ring, "k1", ORG, SUBJ, "refresh", sealed, (size_t)n, clear, sizeof(clear)), (long)strlen(TOKEN));
	seal_ring_clear(&old);
	ck_assert_int_eq(seal_ring_ready(&old), 0);
	ck_assert_int_eq(seal_token(&old, ORG, SUBJ, "refresh", TOKEN, strlen(TOKEN), sealed, sizeof(sealed)), -1);
}
END_TEST

START_TEST(test_ring_errors)
{
	struct seal_ring	 r;

	ck_assert_int_eq(seal_ring_parse(&r, "", NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(seal_ring_ready(&r), 0);
	ck_assert_int_eq(seal_ring_parse(&r, "k1AAEC", NULL, err, sizeof(err)), -1);
	ck_assert_int_eq(seal_ring_parse(&r, "k1:AAEC", NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "key k1 is not 32 bytes"));
	ck_assert_int_eq(seal_ring_parse(&r, "bad kid:AAEC", NULL, err, sizeof(err)), -1);
	ck_assert_int_eq(seal_ring_parse(&r, K1 "," K1, NULL, err, sizeof(err)), -1);
	ck_assert_int_eq(seal_ring_parse(&r, K1 "," K2, NULL, err, sizeof(err)), -1);
	ck_assert_int_eq(seal_ring_parse(&r, K1, "k9", err, sizeof(err)), -1);
	/* No key material in any message. */
	ck_assert_ptr_null(strstr(err, "AAECAwQF"));
}
END_TEST

START_TEST(test_base64)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	char	 enc[32];
	uint8_t	 dec[32];
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(seal_b64_encode((const uint8_t *)cases[i].in, strlen(cases[i].in), enc, sizeof(enc)), (long)strlen(cases[i].out));
		ck_assert_str_eq(enc, cases[i].out);
		ck_assert_int_eq(seal_b64_decode(cases[i].out, strlen(cases[i].out), dec, sizeof(dec)), (long)strlen(cases[i].in));
		ck_assert_int_eq(memcmp(dec, cases[i].in, strlen(cases[i].in)), 0);
	}
	ck_assert_int_eq(seal_b64_decode("Zm9", 3, dec, sizeof(dec)), -1);
	ck_assert_int_eq(seal_b64_decode("Zm=v", 4, dec, sizeof(dec)), -1);
	ck_assert_int_eq(seal_b64_decode("Zm9v", 4, dec, 2), -1);
	ck_assert_int_eq(seal_b64_decode("Z\n9v", 4, dec, sizeof(dec)), -1);
	ck_assert_int_eq(seal_b64_encode((const uint8_t *)"foo", 3, enc, 4), -1);
}
END_TEST

Suite *
seal_suite(void)
{
	Suite	*s = suite_create("seal");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_nonce_is_fresh);
	tcase_add_loop_test(tc, test_refuses_to_open, 0, 64);
	tcase_add_test(tc, test_rotation);
	tcase_add_test(tc, test_ring_errors);
	tcase_add_test(tc, test_base64);
	suite_add_tcase(s, tc);
	return (s);
}
