/*
 * backoff.c — exponential backoff with jitter for publish retries.
 *
 * The delay after attempt n (n >= 1, the attempt that just failed) is
 * d = min(cap, base * 2^(n-1)), then "equal jitter": a uniform value in
 * [d/2, d], so retries of many posts failed at once spread out but none
 * comes back sooner than half the nominal delay.  A platform's own hint
 * (Retry-After, x-rate-limit-reset) wins when it asks for longer, up to
 * hint_max_ms: a hostile or broken header cannot park a post for a year.
 */
#include "backoff.h"

int64_t
backoff_delay_ms(const struct backoff_policy *policy, int attempt,
    int64_t hint_ms, backoff_rand_fn rand_fn, void *rand_ctx)
{
	int64_t		delay, half, jittered;
	int		n;

	if (attempt < 1)
		attempt = 1;

	delay = policy->base_ms > 0 ? policy->base_ms : 1;
	/* Double while it cannot overflow; past cap/2 one more doubling caps. */
	for (n = 1; n < attempt && delay <= policy->cap_ms / 2; n++)
		delay *= 2;
	if (n < attempt || delay > policy->cap_ms)
		delay = policy->cap_ms;

	half = delay / 2;
	jittered = half + (int64_t)(rand_fn(rand_ctx) % (uint64_t)(delay - half + 1));

	if (hint_ms > policy->hint_max_ms)
		hint_ms = policy->hint_max_ms;
	return hint_ms > jittered ? hint_ms : jittered;
}
