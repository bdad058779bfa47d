/*
 * ratelimit.c — see ratelimit.h.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <openssl/rand.h>

#include "ratelimit.h"

#define RL_SLOTS	8192		/* power of two */
#define RL_PROBES	8

struct rl_slot {
	uint64_t	hash;
	int64_t		window_start;
	int		count;
};

static struct rl_slot	rl_table[RL_SLOTS];
static pthread_mutex_t	rl_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t		rl_seed;

static uint64_t
key_hash(const char *key)
{
	uint64_t	h = 1469598103934665603ULL ^ rl_seed;

	for (; *key; key++) {
		h ^= (unsigned char)*key;
		h *= 1099511628211ULL;
	}
	return (h | 1);		/* 0 marks an empty slot */
}

int
ratelimit_hit(const char *key, int limit, int window_sec, int64_t now)
{
	uint64_t	 h;
	struct rl_slot	*s, *victim = NULL;
	int		 i, wait = 0;

	pthread_mutex_lock(&rl_lock);
	if (rl_seed == 0 && RAND_bytes((unsigned char *)&rl_seed, sizeof(rl_seed)) != 1)
		rl_seed = (uint64_t)now * 2654435761ULL;
	h = key_hash(key);
	for (i = 0; i < RL_PROBES; i++) {
		s = &rl_table[(h + (uint64_t)i) & (RL_SLOTS - 1)];
		if (s->hash == h)
			break;
		/* Reuse an empty or expired slot, else the oldest window. */
		if (victim == NULL || s->hash == 0 ||
		    s->window_start + window_sec <= now ||
		    s->window_start < victim->window_start)
			victim = s;
		s = NULL;
	}
	if (s == NULL) {
		s = victim;
		s->hash = h;
		s->window_start = now;
		s->count = 0;
	}
	if (s->window_start + window_sec <= now) {
		s->window_start = now;
		s->count = 0;
	}
	if (++s->count > limit)
		wait = (int)(s->window_start + window_sec - now);
	pthread_mutex_unlock(&rl_lock);
	return (wait > 0 ? wait : 0);
}
