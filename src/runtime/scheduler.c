/* scheduler.c — the scheduler: fires cron schedules. It runs as the loop
 * "chore.scheduler" (maintenance.c), whose ticks come when a slot is near,
 * at every poll interval, and when this process changes a schedule.
 *
 * It keeps every schedule of the store in memory with its parsed
 * expression in a timer heap, and ticks just before the earliest next slot. When
 * slots come due it claims them in the store — one transaction for every
 * schedule due at that moment — by a compare-and-set on each schedule's
 * last slot, in the same transaction that enqueues the slots' jobs. So a
 * slot fires once however many processes run the schedule and however
 * often they restart; a process that loses the compare-and-set rereads the
 * schedules. The store's schedules are reread when this process changes
 * one, when a claim is lost (another process fired first), and when the
 * store's schedule version shows another process changed one; the version
 * is read every poll interval. Slots are claimed LOOKAHEAD_MS early; their jobs
 * wait in `scheduled` until the slot. */
#include <stdlib.h>
#include <string.h>

#include "pure/slots.h"
#include "pure/timer_heap.h"
#include "runtime/loop.h"
#include "runtime/metrics.h"

/* Slots are claimed and their jobs stored (to run at the slot) this long
 * before the slot, so that at the slot only a claim stands between it and
 * the job's start: thousands of schedules due in the same second start
 * within milliseconds. */
enum { LOOKAHEAD_MS = 500 };

/* A schedule as the scheduler holds it. */
typedef struct entry {
    store_schedule stored;
    chore_cron *cron; /* NULL when the expression does not parse any more */
    int64_t next_ms;  /* next slot; INT64_MAX = never */
} entry;

struct scheduler {
    chore *c;
    entry *entries;
    size_t n_entries;
    timer_heap heap;
    int64_t next_poll;
    int64_t version; /* the store's schedule version when last read */
    bool has_pending; /* some schedule keeps a slot waiting (QUEUE_ONE) */
    /* scratch for one round of fires */
    store_fire *fires;
    store_fire_result *results;
    int64_t *slots;
    size_t cap_fires, cap_slots;
};

static void free_entries(scheduler *s)
{
    for (size_t i = 0; i < s->n_entries; i++) {
        chore_cron_free(s->entries[i].cron);
        store_schedule_clear(&s->entries[i].stored);
    }
    free(s->entries);
    s->entries = NULL;
    s->n_entries = 0;
    timer_heap_clear(&s->heap);
}

/* The next slot after `after`, INT64_MAX for never. */
static int64_t next_slot(const entry *e, int64_t after)
{
    int64_t next = INT64_MAX;
    if (e->cron == NULL || e->stored.paused || chore_cron_next(e->cron, after, &next) != CHORE_OK)
        return INT64_MAX;
    return next;
}

/* Reread every schedule from the store and rebuild the heap. */
static int reload(scheduler *s)
{
    chore *c = s->c;
    store_schedule *list = NULL;
    size_t n = 0;
    int rc = c->ops->schedule_list(c->st, &list, &n);
    if (rc != CHORE_OK)
        return rc;
    entry *entries = calloc(n > 0 ? n : 1, sizeof *entries);
    if (entries == NULL) {
        store_schedule_free(list, n);
        return CHORE_ENOMEM;
    }
    free_entries(s);
    s->has_pending = false;
    for (size_t i = 0; i < n; i++) {
        entry *e = &entries[i];
        e->stored = list[i];
        char err[160];
        if (chore_cron_parse(&e->cron, e->stored.expr, e->stored.zone, err, sizeof err) != CHORE_OK)
            rt_log_kv(c, CHORE_LOG_ERROR, "chore.scheduler", "cannot parse schedule", "schedule",
                      e->stored.name, "error", err, NULL);
        e->next_ms = next_slot(e, e->stored.last_slot_ms);
        s->has_pending = s->has_pending || e->stored.pending_slot_ms != 0;
        if (e->next_ms != INT64_MAX && timer_heap_push(&s->heap, e->next_ms, e) != CHORE_OK)
            rc = CHORE_ENOMEM;
    }
    free(list); /* the strings now belong to the entries */
    s->entries = entries;
    s->n_entries = n;
    return rc;
}

/* How many slots a schedule may fire at once. */
static size_t slot_cap(const entry *e)
{
    if (e->stored.missed != CHORE_MISSED_EACH || e->stored.missed_cap < 1)
        return 1;
    return e->stored.missed_cap < MAX_MISSED_CAP ? (size_t)e->stored.missed_cap : MAX_MISSED_CAP;
}

/* Make room for `fires` fires with `slots` slots in all. */
static int grow_scratch(scheduler *s, size_t fires, size_t slots)
{
    if (fires > s->cap_fires) {
        store_fire *f = realloc(s->fires, fires * sizeof *f);
        if (f == NULL)
            return CHORE_ENOMEM;
        s->fires = f;
        store_fire_result *r = realloc(s->results, fires * sizeof *r);
        if (r == NULL)
            return CHORE_ENOMEM;
        s->results = r;
        s->cap_fires = fires;
    }
    if (slots > s->cap_slots) {
        int64_t *sl = realloc(s->slots, slots * sizeof *sl);
        if (sl == NULL)
            return CHORE_ENOMEM;
        s->slots = sl;
        s->cap_slots = slots;
    }
    return CHORE_OK;
}

/* Fire every schedule due at `now`: pop them off the heap, work out their
 * slots, claim them in one transaction, push them back with their next
 * slot. Returns how many jobs were enqueued, or a negative code. */
static long fire_due(scheduler *s, int64_t now, bool *lost_claim, int64_t *earliest)
{
    chore *c = s->c;
    int64_t horizon = now + LOOKAHEAD_MS;
    size_t due = 0, slots_needed = 0;
    for (size_t i = 0; i < s->heap.n; i++) {
        if (s->heap.entries[i].due_ms <= horizon) {
            due++;
            slots_needed += slot_cap(s->heap.entries[i].item);
        }
    }
    if (due == 0)
        return 0;
    if (grow_scratch(s, due, slots_needed) != CHORE_OK)
        return CHORE_ENOMEM; /* the heap is untouched: tried again next round */
    entry **fired = (entry **)calloc(due, sizeof *fired);
    if (fired == NULL)
        return CHORE_ENOMEM;
    size_t n = 0, slots_used = 0;
    while (timer_heap_next(&s->heap) <= horizon) {
        entry *e = timer_heap_pop(&s->heap).item;
        int64_t *slots = s->slots + slots_used;
        size_t cap = slot_cap(e);
        slots_used += cap;
        size_t k = 0;
        int64_t newest = 0;
        if (due_slots(e->cron, e->stored.last_slot_ms, horizon, now,
                      (chore_missed)e->stored.missed, cap, c->cfg.misfire_ms, slots, &k,
                      &newest) != CHORE_OK ||
            newest == 0)
            continue; /* nothing due after all; its next slot is pushed below */
        s->fires[n] = (store_fire){.name = e->stored.name,
                                   .expected_last_ms = e->stored.last_slot_ms,
                                   .new_last_ms = newest,
                                   .slots = slots,
                                   .n_slots = k};
        fired[n++] = e;
    }
    long enqueued = 0;
    int rc = n > 0 ? c->ops->schedule_fire(c->st, s->fires, n, now, s->results) : CHORE_OK;
    if (rc != CHORE_OK)
        rt_log(c, CHORE_LOG_ERROR, "chore.scheduler", "firing %zu schedules failed: %s (%s)", n,
               chore_strerror(rc), c->ops->errmsg(c->st));
    for (size_t i = 0; i < n; i++) {
        entry *e = fired[i];
        if (rc == CHORE_OK && s->results[i].claimed) {
            e->stored.last_slot_ms = s->fires[i].new_last_ms;
            enqueued += (long)s->results[i].enqueued;
            if (s->results[i].enqueued > 0)
                (void)rt_metrics_enqueued(c->metrics, e->stored.job_name,
                                          s->results[i].enqueued);
            if (s->fires[i].n_slots > 0 && s->fires[i].slots[0] < *earliest)
                *earliest = s->fires[i].slots[0];
            if (e->stored.overlap == CHORE_OVERLAP_QUEUE_ONE)
                s->has_pending = true; /* it may have queued a slot: look now and then */
        } else if (rc == CHORE_OK) {
            *lost_claim = true; /* another process fired it, or it changed */
        }
    }
    free(fired);
    /* Everything popped goes back with its next slot (a failed write is retried). */
    for (size_t i = 0; i < s->n_entries; i++) {
        entry *e = &s->entries[i];
        if (e->next_ms <= horizon) {
            e->next_ms = rc == CHORE_OK ? next_slot(e, e->stored.last_slot_ms)
                                        : now + c->cfg.poll_interval_ms;
            if (e->next_ms != INT64_MAX)
                timer_heap_push(&s->heap, e->next_ms, e);
        }
    }
    return rc == CHORE_OK ? enqueued : rc;
}

int rt_scheduler_new(chore *c, scheduler **out)
{
    *out = calloc(1, sizeof **out);
    if (*out == NULL)
        return CHORE_ENOMEM;
    (*out)->c = c;
    return CHORE_OK;
}

void rt_scheduler_free(scheduler *s)
{
    if (s == NULL)
        return;
    free_entries(s);
    timer_heap_free(&s->heap);
    free(s->fires);
    free(s->results);
    free(s->slots);
    free(s);
}

/* When the next tick is due: LOOKAHEAD_MS before the earliest slot, and
 * no later than the next look at the store's schedule version (or at the
 * slots kept pending, when some are). */
static int64_t next_tick(const scheduler *s, int64_t now)
{
    int64_t at = timer_heap_next(&s->heap);
    at = at == INT64_MAX ? at : at - LOOKAHEAD_MS;
    at = at < s->next_poll ? at : s->next_poll;
    if (s->has_pending && now + s->c->cfg.poll_interval_ms < at)
        at = now + s->c->cfg.poll_interval_ms;
    return at;
}

int rt_scheduler_tick(chore_tick *tick, void *ud)
{
    scheduler *s = ud;
    chore *c = s->c;
    int64_t now = chore_clock_now(c->clock);
    pthread_mutex_lock(&c->mu);
    bool reload_now = c->schedules_changed;
    c->schedules_changed = false;
    pthread_mutex_unlock(&c->mu);

    int rc = CHORE_OK;
    if (now >= s->next_poll) {
        int64_t version = s->version;
        if (c->ops->schedule_version(c->st, &version) == CHORE_OK && version != s->version) {
            s->version = version;
            reload_now = true;
        }
        s->next_poll = now + c->cfg.poll_interval_ms;
    }
    if (reload_now && (rc = reload(s)) != CHORE_OK) {
        chore_tick_set_error(tick, "reading schedules failed");
        s->version = -1; /* read them again at the next poll */
    }
    bool lost = false;
    int64_t earliest = INT64_MAX;
    long enqueued = fire_due(s, now, &lost, &earliest);
    if (enqueued < 0) {
        rc = (int)enqueued;
        chore_tick_set_error(tick, "firing schedules failed");
        enqueued = 0;
    }
    if (s->has_pending) {
        size_t released = 0;
        if (c->ops->schedule_release_pending(c->st, now, &released) == CHORE_OK &&
            released > 0) {
            enqueued += (long)released;
            earliest = now;
        }
    }
    if (enqueued > 0)
        rt_jobs_arrived(c, earliest > now ? earliest : now);
    chore_tick_set_work(tick, enqueued);
    if (lost) { /* another process fired first, or a schedule changed: reread now */
        pthread_mutex_lock(&c->mu);
        c->schedules_changed = true;
        pthread_mutex_unlock(&c->mu);
        rt_tick_next_at(tick, now);
    } else {
        rt_tick_next_at(tick, next_tick(s, now));
    }
    return rc;
}

void rt_schedules_changed(chore *c)
{
    pthread_mutex_lock(&c->mu);
    c->schedules_changed = true;
    chore_loop *loop = c->scheduler_loop;
    pthread_mutex_unlock(&c->mu);
    if (loop != NULL)
        rt_loop_wake(loop);
}
