/* maintenance.c — chore's own upkeep as loops, so that it shows in the
 * same health list as the program's loops (chore_loops_health):
 *
 *   chore.rescuer    every rescue_interval_ms (and at once on start): jobs
 *                    whose lease lapsed or whose deferral passed its
 *                    deadline go back to available (or are discarded);
 *   chore.pruner     every prune_interval_ms: final jobs older than the
 *                    retention are deleted;
 *   chore.scheduler  fires cron schedules (scheduler.c); its ticks come
 *                    when a slot is near rather than on a fixed interval.
 *
 * They are not locked: every process sharing a store runs them, which is
 * safe because each is one idempotent store transaction. */
#include <stdio.h>

#include "runtime/loop.h"

/* Tick of chore.rescuer. */
static int rescue_tick(chore_tick *tick, void *ud)
{
    chore *c = ud;
    int64_t now = chore_clock_now(c->clock);
    int64_t rescued = 0;
    int rc = c->ops->rescue(c->st, now, &rescued);
    if (rc != CHORE_OK) {
        chore_tick_set_error(tick, c->ops->errmsg(c->st));
        return rc;
    }
    chore_tick_set_work(tick, rescued);
    if (rescued > 0) {
        char jobs[24];
        snprintf(jobs, sizeof jobs, "%lld", (long long)rescued);
        rt_log_kv(c, CHORE_LOG_INFO, "chore.rescuer", "returned jobs with expired leases", "jobs",
                  jobs, NULL);
        rt_jobs_arrived(c, now);
    }
    return CHORE_OK;
}

/* Tick of chore.pruner. */
static int prune_tick(chore_tick *tick, void *ud)
{
    chore *c = ud;
    if (c->cfg.retention_ms < 0)
        return CHORE_OK; /* keep final jobs forever */
    int64_t pruned = 0;
    int rc = c->ops->prune(c->st, chore_clock_now(c->clock) - c->cfg.retention_ms, &pruned);
    if (rc != CHORE_OK) {
        chore_tick_set_error(tick, c->ops->errmsg(c->st));
        return rc;
    }
    chore_tick_set_work(tick, pruned);
    return CHORE_OK;
}

/* Register one maintenance loop. */
static int add(chore *c, const char *name, int64_t interval_ms, chore_loop_fn run, void *ud,
               chore_loop **out)
{
    chore_loop_config cfg = {.name = name, .interval_ms = interval_ms, .run = run, .ud = ud};
    chore_loop *loop = NULL;
    int rc = rt_loop_add(c, &cfg, &loop);
    if (rc != CHORE_OK)
        return rc;
    pthread_mutex_lock(&loop->mu);
    loop->maintenance = true;
    pthread_mutex_unlock(&loop->mu);
    if (out != NULL)
        *out = loop;
    return CHORE_OK;
}

int rt_maintenance_add(chore *c)
{
    int rc = rt_scheduler_new(c, &c->scheduler);
    if (rc == CHORE_OK)
        rc = add(c, "chore.rescuer", c->cfg.rescue_interval_ms, rescue_tick, c, NULL);
    if (rc == CHORE_OK)
        rc = add(c, "chore.pruner", c->cfg.prune_interval_ms, prune_tick, c, NULL);
    chore_loop *scheduler_loop = NULL;
    if (rc == CHORE_OK)
        rc = add(c, "chore.scheduler", c->cfg.poll_interval_ms, rt_scheduler_tick, c->scheduler,
                 &scheduler_loop);
    pthread_mutex_lock(&c->mu);
    c->scheduler_loop = scheduler_loop;
    pthread_mutex_unlock(&c->mu);
    return rc;
}

bool rt_maintenance_settled(chore *c)
{
    bool settled = true;
    for (size_t i = 0; i < c->n_loops && settled; i++) {
        chore_loop *l = c->loops[i];
        pthread_mutex_lock(&l->mu);
        settled = !l->maintenance || !l->has_thread || l->exited || l->waiting;
        pthread_mutex_unlock(&l->mu);
    }
    return settled;
}
