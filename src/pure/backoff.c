/* backoff.c — exponential backoff with a cap and jitter. */
#include "pure/backoff.h"

uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

int64_t backoff_delay(const backoff_policy *p, int attempt, uint64_t *rng)
{
    if (attempt < 1)
        attempt = 1;
    int64_t delay = p->base_ms > 0 ? p->base_ms : 0;
    for (int i = 1; i < attempt && delay < p->max_ms; i++)
        delay = delay > p->max_ms / 2 ? p->max_ms : delay * 2; /* never overflows */
    if (delay > p->max_ms)
        delay = p->max_ms;
    if (p->jitter > 0 && delay > 0) {
        double fraction = (double)(rng_next(rng) >> 11) / (double)(1ULL << 53); /* [0,1) */
        double jitter = p->jitter > 1 ? 1 : p->jitter;
        delay -= (int64_t)((double)delay * jitter * fraction);
    }
    return delay;
}
