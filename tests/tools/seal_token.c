/*
 * seal_token.c — seals one social token the way caas-api does (common/src/
 * seal.c: AES-256-GCM, nonce ‖ ciphertext ‖ tag, AAD "caas-token-v1|kid|
 * org_id|subject|kind") and prints it in base64 on one line, so the
 * dispatcher tests can connect accounts through caas.account_connect as a
 * real user with tokens the dispatcher opens.
 *
 *	seal_token KEYRING_FILE KID ORG_ID SUBJECT KIND < token
 *	seal_token -d KEYRING_FILE KID ORG_ID SUBJECT KIND < base64
 *
 * KEYRING_FILE holds "kid:base64(32 bytes)[,kid:base64]" (token_keys_file
 * of the configs); KID names the sealing key; SUBJECT is
 * "<platform>:<external_id>"; KIND is access, refresh or verifier.  The
 * token is read from standard input (trailing newlines dropped), never from
 * the command line, so it does not show in ps.  With -d it opens instead:
 * reads a sealed value in base64 (as stored, e.g. encode(access_token_enc,
 * 'base64') on one line) and prints the clear token, so a test can compare
 * what the dispatcher stored after a refresh with what the platform saw
 * (tests compare it, never print it).  Exit status 1 when it does not open.
 *
 * Memory: fixed buffers on the stack, wiped before exit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conffile.h"
#include "seal.h"

/* open_stdin prints the token sealed in the base64 on stdin; 0 or 1. */
static int
open_stdin(struct seal_ring *ring, const char *kid, const char *org,
    const char *subject, const char *kind)
{
	static char	 in64[4 * ((SEAL_MAX_PLAIN + SEAL_OVERHEAD + 2) / 3) + 2];
	static uint8_t	 sealed[SEAL_MAX_PLAIN + SEAL_OVERHEAD];
	static char	 clear[SEAL_MAX_PLAIN + 1];
	size_t		 len;
	long		 n, m;

	len = fread(in64, 1, sizeof(in64) - 1, stdin);
	while (len > 0 && (in64[len - 1] == '\n' || in64[len - 1] == '\r'))
		len--;
	in64[len] = '\0';
	n = seal_b64_decode(in64, len, sealed, sizeof(sealed));
	m = n < 0 ? -1 : seal_open(ring, kid, org, subject, kind, sealed,
	    (size_t)n, clear, sizeof(clear));
	seal_ring_clear(ring);
	if (m < 0) {
		fprintf(stderr, "seal_token: the value does not open with key %s for that row\n", kid);
		return (1);
	}
	printf("%s\n", clear);
	explicit_bzero(clear, sizeof(clear));
	return (0);
}

int
main(int argc, char **argv)
{
	struct seal_ring ring;
	char		 err[256], plain[SEAL_MAX_PLAIN + 2];
	char		 out64[4 * ((SEAL_MAX_PLAIN + SEAL_OVERHEAD + 2) / 3) + 1];
	uint8_t		 sealed[SEAL_MAX_PLAIN + SEAL_OVERHEAD];
	char		*spec;
	size_t		 len;
	long		 n;
	int		 open_mode = 0;

	if (argc == 7 && strcmp(argv[1], "-d") == 0) {
		open_mode = 1;
		argv++;
		argc--;
	}
	if (argc != 6) {
		fprintf(stderr, "usage: seal_token [-d] KEYRING_FILE KID ORG_ID SUBJECT KIND < token\n");
		return (2);
	}
	if (strcmp(argv[5], "access") != 0 && strcmp(argv[5], "refresh") != 0 &&
	    strcmp(argv[5], "verifier") != 0) {
		fprintf(stderr, "seal_token: kind must be access, refresh or verifier\n");
		return (2);
	}
	if ((spec = conf_read_secret_file(argv[1], err, sizeof(err))) == NULL) {
		fprintf(stderr, "seal_token: %s\n", err);
		return (1);
	}
	if (seal_ring_parse(&ring, spec, argv[2], err, sizeof(err)) != 0 ||
	    !seal_ring_ready(&ring)) {
		conf_wipe_free(spec);
		fprintf(stderr, "seal_token: %s\n", err[0] ? err : "no sealing key");
		return (1);
	}
	conf_wipe_free(spec);

	if (open_mode)
		return (open_stdin(&ring, argv[2], argv[3], argv[4], argv[5]));
	len = fread(plain, 1, sizeof(plain) - 1, stdin);
	while (len > 0 && (plain[len - 1] == '\n' || plain[len - 1] == '\r'))
		len--;
	plain[len] = '\0';
	if (len == 0 || len > SEAL_MAX_PLAIN) {
		seal_ring_clear(&ring);
		explicit_bzero(plain, sizeof(plain));
		fprintf(stderr, "seal_token: the token on standard input is empty or too long\n");
		return (1);
	}
	n = seal_token(&ring, argv[3], argv[4], argv[5], plain, len, sealed, sizeof(sealed));
	seal_ring_clear(&ring);
	explicit_bzero(plain, sizeof(plain));
	if (n < 0 || seal_b64_encode(sealed, (size_t)n, out64, sizeof(out64)) < 0) {
		fprintf(stderr, "seal_token: sealing failed\n");
		return (1);
	}
	printf("%s\n", out64);
	return (0);
}
