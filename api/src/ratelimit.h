/*
 * ratelimit.h — fixed-window counters for abuse-prone endpoints (login).
 *
 * A small open-addressed table of (key, window start, count), guarded by a
 * mutex; keys are hashed (SipHash-like via OpenSSL is overkill: FNV-1a with
 * a random per-process seed), so the table's memory is bounded whatever the
 * traffic, and a collision can only make a limit stricter.
 */
#ifndef CAAS_RATELIMIT_H
#define CAAS_RATELIMIT_H

#include <stdint.h>

/*
 * ratelimit_hit counts one event for key (e.g. "ip:1.2.3.4", "email:a@b")
 * and returns 0 while at most limit events happened in the current window
 * of window_sec, or the seconds until the window ends when over the limit.
 */
int	ratelimit_hit(const char *key, int limit, int window_sec, int64_t now);

#endif /* CAAS_RATELIMIT_H */
