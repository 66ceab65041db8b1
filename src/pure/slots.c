/* slots.c — due slots of a schedule without walking every missed one: a
 * per-second schedule down for a week has 604,800 missed slots, and only
 * the newest few matter. The window (horizon - d, horizon] doubles until
 * it holds enough slots. */
#include "pure/slots.h"

/* Put the slots in (after, until] into ring[] (the newest `cap` of them). */
static int collect(const chore_cron *cron, int64_t after, int64_t until, int64_t *ring,
                   size_t cap, size_t *count)
{
    *count = 0;
    int64_t s = after;
    for (;;) {
        int rc = chore_cron_next(cron, s, &s);
        if (rc == CHORE_ENOTFOUND || (rc == CHORE_OK && s > until))
            return CHORE_OK;
        if (rc != CHORE_OK)
            return rc;
        ring[*count % cap] = s;
        (*count)++;
    }
}

int due_slots(const chore_cron *cron, int64_t last_ms, int64_t horizon_ms, int64_t now_ms,
              chore_missed missed, size_t cap, int64_t misfire_ms, int64_t *slots, size_t *n,
              int64_t *newest)
{
    *n = 0;
    *newest = 0;
    size_t want = missed == CHORE_MISSED_EACH ? cap : 1;
    size_t count = 0;
    for (int64_t d = 1000;; d *= 2) {
        int64_t after = horizon_ms - d > last_ms ? horizon_ms - d : last_ms;
        int rc = collect(cron, after, horizon_ms, slots, want, &count);
        if (rc != CHORE_OK)
            return rc;
        if (count >= want || after == last_ms)
            break;
    }
    if (count == 0)
        return CHORE_OK;
    size_t kept = count < want ? count : want;
    size_t start = count - kept; /* ring index of the oldest kept slot */
    int64_t ordered[kept];
    for (size_t i = 0; i < kept; i++)
        ordered[i] = slots[(start + i) % want];
    for (size_t i = 0; i < kept; i++)
        slots[i] = ordered[i];
    *newest = slots[kept - 1];
    if (missed == CHORE_MISSED_EACH) {
        *n = kept;
    } else {
        slots[0] = *newest;
        *n = missed == CHORE_MISSED_SKIP && now_ms - *newest > misfire_ms ? 0 : 1;
    }
    return CHORE_OK;
}
