/* instant.h — an instant (milliseconds since the Unix epoch) plus a
 * duration, without overflowing int64_t. */
#ifndef CHORE_INSTANT_H
#define CHORE_INSTANT_H

#include <stdbool.h>
#include <stdint.h>

#include "chore.h"

/* at + ms, held at INT64_MAX (or INT64_MIN) when the sum does not fit:
 * right for deadlines, where a sum too large means "never". */
static inline int64_t instant_add(int64_t at, int64_t ms)
{
    int64_t sum;
    if (__builtin_add_overflow(at, ms, &sum))
        return ms > 0 ? INT64_MAX : INT64_MIN;
    return sum;
}

/* now + ms into *out when a job may be stored to run then: not past
 * CHORE_TIME_MAX_MS. */
static inline bool instant_storable(int64_t now, int64_t ms, int64_t *out)
{
    int64_t at = instant_add(now, ms);
    if (at > CHORE_TIME_MAX_MS)
        return false;
    *out = at;
    return true;
}

/* now + ms, or CHORE_TIME_MAX_MS when that is later: for a delay the
 * library takes without a way to refuse it (a snooze). */
static inline int64_t instant_capped(int64_t now, int64_t ms)
{
    int64_t at = instant_add(now, ms);
    return at < CHORE_TIME_MAX_MS ? at : CHORE_TIME_MAX_MS;
}

#endif /* CHORE_INSTANT_H */
