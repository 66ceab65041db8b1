/* slots.h — which slots of a schedule to fire now, by its missed-slot
 * policy. Pure: cron arithmetic only. */
#ifndef CHORE_SLOTS_H
#define CHORE_SLOTS_H

#include <stddef.h>
#include <stdint.h>

#include "chore.h"

/* The most slots CHORE_MISSED_EACH fires at once (chore_schedule_opts.missed_cap). */
#define MAX_MISSED_CAP 1000

/* The slots of a schedule due by horizon_ms after its last claimed slot
 * last_ms. *newest is the newest due slot (0 when none is due: nothing to
 * claim). slots[] (room for `cap` >= 1) gets the slots to enqueue a job
 * for, oldest first, and *n their count: by `missed` (a slot more than
 * misfire_ms before now_ms is missed), ONCE gives the newest slot, SKIP
 * the newest slot unless it is missed, EACH the newest `cap` slots. */
int due_slots(const chore_cron *cron, int64_t last_ms, int64_t horizon_ms, int64_t now_ms,
              chore_missed missed, size_t cap, int64_t misfire_ms, int64_t *slots, size_t *n,
              int64_t *newest);

#endif
