/* schedules.c — the public schedule calls: add or update, remove, pause,
 * resume, list. Checks arguments, writes through the store, and tells the
 * scheduler thread to reread. */
#include <stdlib.h>
#include <string.h>

#include "pure/json_check.h"
#include "pure/slots.h"
#include "runtime/runtime.h"

enum { DEFAULT_MISSED_CAP = 10 };
#define DEFAULT_ZONE "UTC"
#define DEFAULT_QUEUE "default"

int chore_schedule(chore *c, const char *name, const char *cron, const char *job,
                   const char *payload, const chore_schedule_opts *opts)
{
    static const chore_schedule_opts defaults;
    const chore_schedule_opts *o = opts != NULL ? opts : &defaults;
    if (c == NULL || cron == NULL || !chore_name_valid(name) || !chore_name_valid(job) ||
        (o->queue != NULL && !chore_name_valid(o->queue)) || o->max_attempts < 0 ||
        o->timeout_ms < 0 || o->missed_cap < 0 || o->missed_cap > MAX_MISSED_CAP ||
        (unsigned)o->missed > CHORE_MISSED_EACH || (unsigned)o->overlap > CHORE_OVERLAP_QUEUE_ONE)
        return CHORE_EINVAL;
    if (payload == NULL)
        payload = "{}";
    int rc = json_check(payload);
    if (rc != CHORE_OK)
        return rc;
    const char *zone = o->zone != NULL ? o->zone : DEFAULT_ZONE;
    chore_cron *parsed = NULL;
    char err[160];
    rc = chore_cron_parse(&parsed, cron, zone, err, sizeof err);
    chore_cron_free(parsed);
    if (rc != CHORE_OK) /* an unknown zone is bad input here */
        return rc == CHORE_ENOTFOUND ? CHORE_EINVAL : rc;
    store_schedule sc = {
        .name = (char *)name,
        .expr = (char *)cron,
        .zone = (char *)zone,
        .job_name = (char *)job,
        .payload = (char *)payload,
        .queue = (char *)(o->queue != NULL ? o->queue : DEFAULT_QUEUE),
        .priority = o->priority,
        .max_attempts = o->max_attempts,
        .timeout_ms = o->timeout_ms,
        .missed = o->missed,
        .missed_cap = o->missed_cap > 0 ? o->missed_cap : DEFAULT_MISSED_CAP,
        .overlap = o->overlap,
        .last_slot_ms = chore_clock_now(c->clock), /* a new schedule starts from now */
    };
    rc = c->ops->schedule_put(c->st, &sc, sc.last_slot_ms);
    if (rc == CHORE_OK)
        rt_schedules_changed(c);
    return rc;
}

int chore_unschedule(chore *c, const char *name)
{
    if (c == NULL || name == NULL)
        return CHORE_EINVAL;
    int rc = c->ops->schedule_remove(c->st, name);
    if (rc == CHORE_OK)
        rt_schedules_changed(c);
    return rc;
}

static int set_paused(chore *c, const char *name, bool paused)
{
    if (c == NULL || name == NULL)
        return CHORE_EINVAL;
    int rc = c->ops->schedule_set_paused(c->st, name, paused, chore_clock_now(c->clock));
    if (rc == CHORE_OK)
        rt_schedules_changed(c);
    return rc;
}

int chore_schedule_pause(chore *c, const char *name) { return set_paused(c, name, true); }
int chore_schedule_resume(chore *c, const char *name) { return set_paused(c, name, false); }

/* Move one stored schedule into an info, with its next slot. */
static void to_info(store_schedule *sc, chore_schedule_info *info)
{
    *info = (chore_schedule_info){
        .name = sc->name,
        .cron = sc->expr,
        .zone = sc->zone,
        .job = sc->job_name,
        .payload = sc->payload,
        .queue = sc->queue,
        .priority = sc->priority,
        .max_attempts = sc->max_attempts,
        .timeout_ms = sc->timeout_ms,
        .missed = (chore_missed)sc->missed,
        .missed_cap = sc->missed_cap,
        .overlap = (chore_overlap)sc->overlap,
        .paused = sc->paused,
        .last_fire_ms = sc->last_slot_ms,
        .last_job_id = sc->last_job_id,
    };
    *sc = (store_schedule){0}; /* the strings moved */
    chore_cron *cron = NULL;
    int64_t next = 0;
    if (chore_cron_parse(&cron, info->cron, info->zone, NULL, 0) == CHORE_OK &&
        chore_cron_next(cron, info->last_fire_ms, &next) == CHORE_OK)
        info->next_fire_ms = next;
    chore_cron_free(cron);
}

int chore_schedule_list(chore *c, chore_schedule_info **out, size_t *n)
{
    if (c == NULL || out == NULL || n == NULL)
        return CHORE_EINVAL;
    *out = NULL;
    *n = 0;
    store_schedule *list = NULL;
    size_t count = 0;
    int rc = c->ops->schedule_list(c->st, &list, &count);
    if (rc != CHORE_OK)
        return rc;
    chore_schedule_info *items = calloc(count > 0 ? count : 1, sizeof *items);
    if (items == NULL) {
        store_schedule_free(list, count);
        return CHORE_ENOMEM;
    }
    for (size_t i = 0; i < count; i++)
        to_info(&list[i], &items[i]);
    free(list);
    *out = items;
    *n = count;
    return CHORE_OK;
}

void chore_schedule_list_free(chore_schedule_info *items, size_t n)
{
    if (items == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        free(items[i].name);
        free(items[i].cron);
        free(items[i].zone);
        free(items[i].job);
        free(items[i].payload);
        free(items[i].queue);
    }
    free(items);
}
