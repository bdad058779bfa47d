/*
 * backoff.h — when to retry a failed publish attempt.
 *
 * Pure computation, no I/O: the caller passes the attempt number, the
 * platform's own hint (Retry-After, x-rate-limit-reset) and a random source,
 * so tests are deterministic.
 */
#ifndef CAAS_BACKOFF_H
#define CAAS_BACKOFF_H

#include <stdint.h>

struct backoff_policy {
	int64_t		base_ms;	/* delay before the 2nd attempt, before jitter */
	int64_t		cap_ms;		/* longest computed delay */
	int64_t		hint_max_ms;	/* longest platform hint honoured */
};

/* Returns a uniformly distributed 32-bit value; ctx is the caller's. */
typedef uint32_t (*backoff_rand_fn)(void *ctx);

int64_t	backoff_delay_ms(const struct backoff_policy *policy, int attempt,
	    int64_t hint_ms, backoff_rand_fn rand_fn, void *rand_ctx);

#endif /* CAAS_BACKOFF_H */
