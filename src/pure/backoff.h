/* backoff.h — retry delays: exponential, capped, with jitter. Pure. */
#ifndef CHORE_BACKOFF_H
#define CHORE_BACKOFF_H

#include <stdint.h>

typedef struct backoff_policy {
    int64_t base_ms; /* delay after the first failed attempt */
    int64_t max_ms;  /* cap */
    double jitter;   /* 0..1: the delay is cut by up to this fraction */
} backoff_policy;

/* The delay before the attempt after `attempt` (1-based) failed:
 * min(max, base * 2^(attempt-1)), less a random cut of up to jitter of it.
 * `rng` is the caller's random state (see rng_next). */
int64_t backoff_delay(const backoff_policy *p, int attempt, uint64_t *rng);

/* A fast 64-bit generator (splitmix64) stepping the caller's state. */
uint64_t rng_next(uint64_t *state);

#endif
