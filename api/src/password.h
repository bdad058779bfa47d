/*
 * password.h — argon2id password hashing and the password policy.
 *
 * Hashes are PHC strings ("$argon2id$v=19$m=19456,t=3,p=1$salt$hash") that
 * carry their own parameters, so raising the cost later only affects new
 * hashes; old ones still verify.  One hash costs ~40 ms and 19 MiB: callers
 * bound how many run at once so a burst of logins cannot starve the server.
 */
#ifndef CAAS_PASSWORD_H
#define CAAS_PASSWORD_H

#include <stddef.h>

#define PASSWORD_MIN_CHARS	10	/* UTF-8 code points */
#define PASSWORD_MAX_CHARS	128
#define PASSWORD_MAX_BYTES	(4 * PASSWORD_MAX_CHARS)	/* longer is never hashed */
#define PASSWORD_PHC_MAX	128	/* an out buffer this size always suffices */

/* Cost parameters (OWASP: m >= 19 MiB, t >= 2, p = 1). */
#define PASSWORD_ARGON2_M_KIB	19456
#define PASSWORD_ARGON2_T	3
#define PASSWORD_ARGON2_P	1

/*
 * password_hash writes the PHC string of password (a fresh 16-byte salt from
 * RAND_bytes) into out, NUL-terminated.  Returns 0, or -1 (out set to "" when
 * outlen > 0) for a NULL or over-long password, a too-small out, or a failure
 * of the random generator or argon2.
 */
int	password_hash(const char *password, char *out, size_t outlen);

/*
 * password_verify returns 0 when password matches the PHC string phc (an
 * argon2id hash; argon2 compares in constant time), -1 for a mismatch, a
 * malformed or non-argon2id phc, or an over-long password.
 */
int	password_verify(const char *phc, const char *password);

/*
 * password_policy_check applies the NIST SP 800-63B-style policy: valid
 * UTF-8, 10..128 code points, not a common password or pattern (compared
 * case-insensitively), not the e-mail address or its local part (email may
 * be NULL).  Returns 0 when acceptable, else -1 with one sentence for the
 * user in why.
 */
int	password_policy_check(const char *password, const char *email,
	    char *why, size_t whylen);

#endif /* CAAS_PASSWORD_H */
