/* lifecycle.c — starting and stopping an instance's threads, and waiting
 * for it to go idle. */
#include <stdlib.h>

#include "pure/instant.h"
#include "runtime/runtime.h"

void rt_join_leftover_workers(chore *c)
{
    if (!c->workers_joinable)
        return;
    for (int i = 0; i < c->n_workers_started; i++)
        pthread_join(c->workers[i], NULL);
    free(c->workers);
    c->workers = NULL;
    c->n_workers_started = 0;
    c->workers_joinable = false;
}

/* Tell the threads to leave and wait for them. Without `mu`. */
static void join_all(chore *c, bool with_dispatcher)
{
    pthread_mutex_lock(&c->mu);
    c->accepting = false;
    c->stopping = true;
    c->dispatcher_exit = true;
    pthread_cond_broadcast(&c->work_cond);
    pthread_cond_broadcast(&c->dispatch_cond);
    pthread_mutex_unlock(&c->mu);
    if (with_dispatcher)
        pthread_join(c->dispatcher, NULL);
    c->workers_joinable = true;
    rt_join_leftover_workers(c);
}

/* The store's wake hook (store_ops.set_wake): another node or connection
 * may have made work available. As a local enqueue does: the dispatcher
 * claims (and then rereads the next due time), long-polling fetches claim. */
static void on_store_wake(void *arg)
{
    chore *c = arg;
    rt_jobs_arrived(c, INT64_MIN);
}

int rt_start(chore *c)
{
    pthread_mutex_lock(&c->mu);
    if (c->running) {
        pthread_mutex_unlock(&c->mu);
        return CHORE_EBUSY;
    }
    pthread_mutex_unlock(&c->mu);
    rt_join_leftover_workers(c); /* handlers a timed-out stop left running */

    c->workers = calloc((size_t)c->cfg.workers, sizeof *c->workers);
    if (c->workers == NULL)
        return CHORE_ENOMEM;
    /* Before the dispatcher's first wait; chore_close unregisters it. */
    if (c->ops->set_wake != NULL)
        c->ops->set_wake(c->st, on_store_wake, c);
    pthread_mutex_lock(&c->mu);
    c->accepting = true;
    c->stopping = false;
    c->dispatcher_exit = false;
    c->maybe_available = true;
    c->idle = false;
    c->next_due_ms = INT64_MAX;
    c->schedules_changed = true;
    c->prefetch = 2 * (size_t)c->cfg.workers; /* grows as jobs are seen to finish */
    if (c->prefetch > (size_t)c->cfg.fetch_batch)
        c->prefetch = (size_t)c->cfg.fetch_batch;
    pthread_mutex_unlock(&c->mu);

    if (pthread_create(&c->dispatcher, NULL, rt_dispatcher_main, c) != 0) {
        free(c->workers);
        c->workers = NULL;
        return CHORE_ETHREAD;
    }
    for (int i = 0; i < c->cfg.workers; i++) {
        if (pthread_create(&c->workers[i], NULL, rt_worker_main, c) != 0) {
            join_all(c, true);
            return CHORE_ETHREAD;
        }
        c->n_workers_started++;
    }
    pthread_mutex_lock(&c->mu);
    c->running = true;
    pthread_mutex_unlock(&c->mu);
    /* Loops last: their ticks may use everything started before them. */
    int rc = rt_loops_start(c);
    if (rc != CHORE_OK) {
        rt_stop(c, 0);
        return rc;
    }
    return CHORE_OK;
}

int rt_stop(chore *c, int64_t grace_ms)
{
    pthread_mutex_lock(&c->mu);
    if (!c->running) {
        pthread_mutex_unlock(&c->mu);
        return CHORE_OK;
    }
    /* In the reverse order of the start: the loops (the scheduler among them), then
     * the workers' supply, then the workers and the dispatcher. */
    pthread_mutex_unlock(&c->mu);
    rt_loops_stop(c);
    pthread_mutex_lock(&c->mu);
    c->accepting = false;
    c->stopping = true;
    rt_wake_fetchers(c);
    pthread_cond_broadcast(&c->idle_cond); /* for those waiting for the stop to begin */
    while (c->queue_head != NULL) { /* claimed but never started */
        chore_job *job = c->queue_head;
        c->queue_head = job->next;
        rt_release_job(c, job);
        rt_job_free(job);
    }
    c->queue_tail = NULL;
    c->queued = 0;
    while (c->held != NULL) { /* claimed ahead of their time */
        chore_job *job = c->held;
        c->held = job->next;
        rt_release_job(c, job);
        rt_job_free(job);
    }
    c->n_held = 0;
    pthread_cond_broadcast(&c->work_cond);
    pthread_cond_signal(&c->dispatch_cond);

    int64_t deadline = real_now_ms() + (grace_ms > 0 ? grace_ms : 0);
    while (c->n_inflight > 0 && real_now_ms() < deadline)
        real_wait(&c->idle_cond, &c->mu, deadline);
    int rc = CHORE_OK;
    if (c->n_inflight > 0) {
        for (chore_job *job = c->inflight; job != NULL; job = job->next) {
            job->released = true;
            rt_release_job(c, job);
        }
        rc = CHORE_ETIMEDOUT;
    }
    c->dispatcher_exit = true;
    pthread_cond_signal(&c->dispatch_cond);
    pthread_mutex_unlock(&c->mu);

    pthread_join(c->dispatcher, NULL);
    c->workers_joinable = true;
    if (rc == CHORE_OK)
        rt_join_leftover_workers(c);
    pthread_mutex_lock(&c->mu);
    c->running = false;
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int chore_wait_idle(chore *c, int64_t timeout_ms)
{
    if (c == NULL)
        return CHORE_EINVAL;
    pthread_mutex_lock(&c->mu);
    int64_t deadline = real_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    bool idle = false;
    while (c->running && !(idle = c->idle && rt_maintenance_settled(c)) &&
           real_now_ms() < deadline)
        real_wait(&c->idle_cond, &c->mu, deadline);
    int rc = !c->running ? CHORE_ESTOPPED : idle ? CHORE_OK : CHORE_ETIMEDOUT;
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int rt_sync(chore *c, int64_t timeout_ms)
{
    pthread_mutex_lock(&c->mu);
    uint64_t target = c->passes + 2; /* the pass running now may have begun before */
    int64_t deadline = instant_add(real_now_ms(), timeout_ms);
    bool settled = false;
    while (c->running && !(settled = c->passes >= target && rt_maintenance_settled(c)) &&
           real_now_ms() < deadline) {
        pthread_cond_signal(&c->dispatch_cond);
        real_wait(&c->idle_cond, &c->mu, deadline);
    }
    int rc = !c->running ? CHORE_ESTOPPED : settled ? CHORE_OK : CHORE_ETIMEDOUT;
    pthread_mutex_unlock(&c->mu);
    return rc;
}
