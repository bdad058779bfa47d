/*
 * test_password.c — api/src/password.c: argon2id hashes and the policy.
 */
#include <string.h>

#include "../suites.h"
#include "password.h"

#define GOOD	"correct horse battery staple"

static char why[256];

START_TEST(test_hash_verify_round_trip)
{
	char	phc[PASSWORD_PHC_MAX], other[PASSWORD_PHC_MAX];

	ck_assert_int_eq(password_hash(GOOD, phc, sizeof(phc)), 0);
	ck_assert_int_eq(strncmp(phc, "$argon2id$v=19$m=19456,t=3,p=1$", 31), 0);
	ck_assert_int_eq(password_verify(phc, GOOD), 0);
	/* A fresh salt each time. */
	ck_assert_int_eq(password_hash(GOOD, other, sizeof(other)), 0);
	ck_assert_str_ne(phc, other);
	ck_assert_int_eq(password_verify(other, GOOD), 0);
}
END_TEST

START_TEST(test_wrong_password)
{
	char	phc[PASSWORD_PHC_MAX];

	ck_assert_int_eq(password_hash(GOOD, phc, sizeof(phc)), 0);
	ck_assert_int_eq(password_verify(phc, "correct horse battery stapl"), -1);
	ck_assert_int_eq(password_verify(phc, "Correct horse battery staple"), -1);
	ck_assert_int_eq(password_verify(phc, ""), -1);
}
END_TEST

START_TEST(test_malformed_phc)
{
	char	phc[PASSWORD_PHC_MAX];

	ck_assert_int_eq(password_verify(NULL, GOOD), -1);
	ck_assert_int_eq(password_verify("", GOOD), -1);
	ck_assert_int_eq(password_verify("$argon2id$", GOOD), -1);
	ck_assert_int_eq(password_verify("plaintext", GOOD), -1);
	ck_assert_int_eq(password_verify("$argon2id$v=19$m=19456,t=3,p=1$$",
	    GOOD), -1);
	/* A cost we refuse to pay, even if the rest were valid. */
	ck_assert_int_eq(password_verify("$argon2id$v=19$m=4194304,t=3,p=1$"
	    "c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhcw",
	    GOOD), -1);
	ck_assert_int_eq(password_hash(GOOD, phc, sizeof(phc)), 0);
	/* The same string relabelled argon2i is not accepted. */
	memmove(phc + 8, phc + 9, strlen(phc + 9) + 1);
	ck_assert_int_eq(strncmp(phc, "$argon2i$v=19$", 14), 0);
	ck_assert_int_eq(password_verify(phc, GOOD), -1);
	ck_assert_int_eq(password_hash(GOOD, phc, sizeof(phc)), 0);
	phc[strlen(phc) - 3] = phc[strlen(phc) - 3] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(password_verify(phc, GOOD), -1);
	phc[40] = '\0';
	ck_assert_int_eq(password_verify(phc, GOOD), -1);
}
END_TEST

START_TEST(test_hash_refuses_bad_input)
{
	char	phc[PASSWORD_PHC_MAX], huge[PASSWORD_MAX_BYTES + 2];

	ck_assert_int_eq(password_hash(NULL, phc, sizeof(phc)), -1);
	ck_assert_int_eq(password_hash(GOOD, phc, 20), -1);
	ck_assert_str_eq(phc, "");
	memset(huge, 'a', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	ck_assert_int_eq(password_hash(huge, phc, sizeof(phc)), -1);
}
END_TEST

START_TEST(test_policy_length)
{
	char	pw[200];

	ck_assert_int_eq(password_policy_check("gx7!kq2mz", NULL, why,
	    sizeof(why)), -1);
	ck_assert_str_eq(why, "The password must be at least 10 characters long.");
	ck_assert_int_eq(password_policy_check("gx7!kq2mzw", NULL, why,
	    sizeof(why)), 0);
	ck_assert_str_eq(why, "");
	memset(pw, 0, sizeof(pw));
	for (int i = 0; i < 128; i++)
		pw[i] = "gx7!kq2mzwplr"[i % 13];
	ck_assert_int_eq(password_policy_check(pw, NULL, why, sizeof(why)), 0);
	pw[128] = 'y';
	ck_assert_int_eq(password_policy_check(pw, NULL, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "The password must be at most 128 characters long.");
}
END_TEST

START_TEST(test_policy_counts_code_points)
{
	/* 9 code points in 18 bytes: too short; 10 in 20 bytes: fine. */
	ck_assert_int_eq(password_policy_check(
	    "\xc3\xa9\xc3\xa8\xc3\xa0\xc3\xbc\xc3\xb6\xc3\xa4\xc3\xb1\xc3\xa7\xc3\xab",
	    NULL, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "The password must be at least 10 characters long.");
	ck_assert_int_eq(password_policy_check(
	    "\xc3\xa9\xc3\xa8\xc3\xa0\xc3\xbc\xc3\xb6\xc3\xa4\xc3\xb1\xc3\xa7\xc3\xab\xc3\xaf",
	    NULL, why, sizeof(why)), 0);
	/* 128 four-byte code points (512 bytes) fit; 129 do not. */
	{
		char	pw[4 * 130 + 1] = "";
		int	i;

		for (i = 0; i < 128; i++)
			strcat(pw, i % 2 ? "\xf0\x9f\x94\x91" : "\xf0\x9f\x8c\xb2");
		ck_assert_int_eq(password_policy_check(pw, NULL, why,
		    sizeof(why)), 0);
		strcat(pw, "\xf0\x9f\x94\x91");
		ck_assert_int_eq(password_policy_check(pw, NULL, why,
		    sizeof(why)), -1);
	}
	/* Invalid UTF-8: a lone continuation byte, an overlong '/', a surrogate. */
	ck_assert_int_eq(password_policy_check("abcdefghij\x80", NULL, why,
	    sizeof(why)), -1);
	ck_assert_str_eq(why, "The password must be valid UTF-8 text.");
	ck_assert_int_eq(password_policy_check("abcdefghij\xc0\xaf", NULL, why,
	    sizeof(why)), -1);
	ck_assert_int_eq(password_policy_check("abcdefghij\xed\xa0\x80", NULL,
	    why, sizeof(why)), -1);
}
END_TEST

START_TEST(test_policy_common_passwords)
{
	static const char *const common[] = {
		"password1234", "qwertyuiop", "QwertyUIOP", "PASSWORD1234",
		"Password123!", "1234567890", "0987654321", "iloveyou123",
		"!!monkey2024", "aaaaaaaaaa", "abcabcabcabc", "1212121212",
		"passwordpassword", "asdf123456", "abcdefghijkl", "1q2w3e4r5t",
		"zaq12wsx!!", "Welcome123!",
	};
	size_t	i;

	for (i = 0; i < sizeof(common) / sizeof(common[0]); i++) {
		ck_assert_msg(password_policy_check(common[i], NULL, why,
		    sizeof(why)) == -1, "accepted %s", common[i]);
		ck_assert_str_eq(why, "The password is too common or "
		    "predictable; choose a less guessable one.");
	}
	ck_assert_int_eq(password_policy_check("purple monkey dishwasher",
	    NULL, why, sizeof(why)), 0);
	ck_assert_int_eq(password_policy_check("Tr0ub4dor&3x", NULL, why,
	    sizeof(why)), 0);
}
END_TEST

START_TEST(test_policy_email)
{
	ck_assert_int_eq(password_policy_check("jane.doe.writer@example.com",
	    "Jane.Doe.Writer@example.com", why, sizeof(why)), -1);
	ck_assert_str_eq(why, "The password must not be your e-mail address.");
	ck_assert_int_eq(password_policy_check("JANE.DOE.WRITER",
	    "jane.doe.writer@example.com", why, sizeof(why)), -1);
	ck_assert_int_eq(password_policy_check("jane.doe.writer2024",
	    "jane.doe.writer@example.com", why, sizeof(why)), -1);
	ck_assert_int_eq(password_policy_check("jane.doe.writes.novels",
	    "jane.doe.writer@example.com", why, sizeof(why)), 0);
	ck_assert_int_eq(password_policy_check("jane.doe.writer",
	    "", why, sizeof(why)), 0);
}
END_TEST

Suite *
password_suite(void)
{
	Suite	*s = suite_create("password");
	TCase	*th = tcase_create("hash");
	TCase	*tp = tcase_create("policy");

	/* argon2 at ~40 ms a hash, several times slower under ASan. */
	tcase_set_timeout(th, 30);
	tcase_add_test(th, test_hash_verify_round_trip);
	tcase_add_test(th, test_wrong_password);
	tcase_add_test(th, test_malformed_phc);
	tcase_add_test(th, test_hash_refuses_bad_input);
	suite_add_tcase(s, th);

	tcase_add_test(tp, test_policy_length);
	tcase_add_test(tp, test_policy_counts_code_points);
	tcase_add_test(tp, test_policy_common_passwords);
	tcase_add_test(tp, test_policy_email);
	suite_add_tcase(s, tp);
	return s;
}
