/* held.c — jobs claimed shortly before their run time, held here until it.
 *
 * A claim also takes scheduled jobs due within HOLD_MS (the store's claim
 * horizon). They wait in the held list, ordered by run time, and move to
 * the workers' queue when their time comes, so a burst of jobs due at one
 * instant (ten thousand schedules firing the same second) starts at that
 * instant instead of queueing behind its own claims. Callers hold `mu`. */
#include "runtime/runtime.h"

void rt_hold(chore *c, chore_job *job)
{
    chore_job **at = &c->held;
    while (*at != NULL && (*at)->stored.run_at_ms <= job->stored.run_at_ms)
        at = &(*at)->next; /* claims come in run-time order: this is short */
    job->next = *at;
    *at = job;
    c->n_held++;
}

void rt_queue(chore *c, chore_job *job)
{
    job->next = NULL;
    if (c->queue_tail != NULL)
        c->queue_tail->next = job;
    else
        c->queue_head = job;
    c->queue_tail = job;
    c->queued++;
}

bool rt_release_held(chore *c, int64_t now)
{
    bool moved = false;
    while (c->held != NULL && c->held->stored.run_at_ms <= now) {
        chore_job *job = c->held;
        c->held = job->next;
        c->n_held--;
        rt_queue(c, job);
        moved = true;
    }
    if (moved)
        pthread_cond_broadcast(&c->work_cond);
    return moved;
}

int64_t rt_next_held(const chore *c)
{
    return c->held != NULL ? c->held->stored.run_at_ms : INT64_MAX;
}

int64_t rt_claim_horizon(const chore *c, int64_t now)
{
    return c->n_held < MAX_HELD ? now + HOLD_MS : now;
}
