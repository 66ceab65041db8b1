/* loop.c — a loop's thread and its ticks, and starting and stopping the
 * threads of every loop with the instance (loops start last, stop first).
 *
 * The thread sleeps on the instance's clock until the next tick is due or
 * something asks for one (trigger, wake, resume, restart, a moved manual
 * clock), runs the tick with no lock held, and records its health. One
 * thread per loop is what keeps ticks of one loop from overlapping. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pure/instant.h"
#include "runtime/loop.h"

/* A random delay in [0, jitter_ms]. With the loop's `mu` held. */
static int64_t jitter(chore_loop *l)
{
    if (l->cfg.jitter_ms <= 0)
        return 0;
    return (int64_t)(rng_next(&l->rng) % ((uint64_t)l->cfg.jitter_ms + 1));
}

/* A moved manual clock: look at the time again. */
static void on_clock_moved(void *ud)
{
    chore_loop *l = ud;
    pthread_mutex_lock(&l->mu);
    l->waiting = false;
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->mu);
}

/* How one tick went, gathered with no lock held. */
typedef struct tick_result {
    const char *skip; /* non-NULL: skipped, and why */
    int rc;
    char message[256];
    bool on_start_ok;
    int64_t duration_us;
    int64_t work;
    int64_t next_at_ms;
} tick_result;

/* The lock's lease: long enough to survive one late tick. */
static int64_t lock_ttl(const chore_loop *l)
{
    int64_t twice = instant_add(l->cfg.interval_ms, l->cfg.interval_ms);
    int64_t after_timeout = instant_add(l->cfg.timeout_ms, l->cfg.interval_ms);
    int64_t ttl = twice > after_timeout ? twice : after_timeout;
    /* Short intervals still get a lease longer than a late or slow tick, so
     * the lock does not slip to another process in the middle of one. */
    return ttl > MIN_LOCK_TTL_MS ? ttl : MIN_LOCK_TTL_MS;
}

/* should_run, the lock, on_start, then run. Without any lock held. */
static void tick_body(chore_loop *l, int64_t now, bool need_on_start, tick_result *r)
{
    chore *c = l->c;
    const chore_loop_config *cfg = &l->cfg;
    if (cfg->should_run != NULL && !cfg->should_run(cfg->ud)) {
        r->skip = "should_run said no";
        return;
    }
    if (cfg->locked) {
        bool held = false;
        r->rc = c->ops->lock_acquire(c->st, l->lock_name, c->owner_id, now, lock_ttl(l), &held);
        pthread_mutex_lock(&l->mu);
        l->lock_held = r->rc == CHORE_OK && held;
        pthread_mutex_unlock(&l->mu);
        if (r->rc != CHORE_OK) {
            const char *why = c->ops->errmsg != NULL ? c->ops->errmsg(c->st) : "";
            snprintf(r->message, sizeof r->message, "lock: %s",
                     why != NULL && why[0] != '\0' ? why : chore_strerror(r->rc));
            return;
        }
        if (!held) {
            r->skip = "locked elsewhere";
            return;
        }
    }
    int64_t t0 = real_now_us();
    if (need_on_start && cfg->on_start != NULL) {
        r->rc = cfg->on_start(cfg->ud);
        if (r->rc != CHORE_OK) {
            snprintf(r->message, sizeof r->message, "on_start: %s", chore_strerror(r->rc));
            r->duration_us = real_now_us() - t0;
            return;
        }
    }
    r->on_start_ok = true;
    chore_tick tick = {
        .loop = l,
        .deadline_ms = cfg->timeout_ms > 0 ? instant_add(now, cfg->timeout_ms) : INT64_MAX,
    };
    r->rc = cfg->run(&tick, cfg->ud);
    r->duration_us = real_now_us() - t0;
    r->work = tick.work;
    r->next_at_ms = tick.next_at_ms;
    if (r->rc != CHORE_OK)
        snprintf(r->message, sizeof r->message, "%s",
                 tick.has_error ? tick.error : chore_strerror(r->rc));
}

void rt_tick_next_at(chore_tick *tick, int64_t at_ms)
{
    tick->next_at_ms = at_ms > 0 ? at_ms : 1;
}

/* Record a tick in the loop's health. With the loop's `mu` held. */
static void record(chore_loop *l, const tick_result *r, int64_t end_ms)
{
    chore_loop_health *h = &l->health;
    if (r->skip != NULL) {
        h->skips++;
        snprintf(h->last_skip, sizeof h->last_skip, "%s", r->skip);
        return;
    }
    h->runs++;
    h->last_duration_us = r->duration_us;
    h->last_work = r->work;
    if (r->rc == CHORE_OK) {
        h->consecutive_failures = 0;
        h->last_success_ms = end_ms;
    } else {
        h->failures++;
        h->consecutive_failures++;
        h->last_failure_ms = end_ms;
        snprintf(h->last_error, sizeof h->last_error, "%s", r->message);
    }
}

/* Run one tick that is due at `now`. Called and returns with the loop's
 * `mu` held; releases it while the tick runs. */
static void run_tick(chore_loop *l, int64_t now)
{
    l->trigger_pending = false;
    l->wake_pending = false;
    l->started++;
    /* From this tick's start: a tick that overruns is followed at once by
     * one more, never by a burst to catch up. */
    int64_t gap = l->cfg.interval_ms + (l->cfg.jitter_every_tick ? jitter(l) : 0);
    l->next_tick_ms = instant_add(now, gap);
    bool need_on_start = !l->on_start_done;
    pthread_mutex_unlock(&l->mu);

    tick_result r = {.rc = CHORE_OK};
    tick_body(l, now, need_on_start, &r);
    if (r.skip == NULL && r.rc != CHORE_OK) {
        rt_log(l->c, CHORE_LOG_WARN, l->name, "tick failed: %s", r.message);
        if (l->cfg.on_error != NULL)
            l->cfg.on_error(l->cfg.ud, r.rc, r.message);
    }
    int64_t end = chore_clock_now(l->c->clock);

    pthread_mutex_lock(&l->mu);
    if (r.on_start_ok)
        l->on_start_done = true;
    if (r.next_at_ms > 0)
        l->next_tick_ms = r.next_at_ms;
    record(l, &r, end);
    l->finished++;
    pthread_cond_broadcast(&l->done_cond);
}

static void *loop_main(void *arg)
{
    chore_loop *l = arg;
    chore *c = l->c;
    clock_listen(c->clock, &l->listener);
    pthread_mutex_lock(&l->mu);
    while (!l->quit && !l->stopped) {
        int64_t now = chore_clock_now(c->clock);
        bool due = l->trigger_pending ||
                   (!l->paused && (l->wake_pending || now >= l->next_tick_ms));
        if (due) {
            l->waiting = false;
            run_tick(l, now);
            continue;
        }
        if (!l->waiting) {
            l->waiting = true;
            pthread_cond_broadcast(&l->done_cond);
            if (l->maintenance) { /* chore_wait_idle may be waiting for this */
                pthread_mutex_unlock(&l->mu);
                pthread_mutex_lock(&c->mu);
                pthread_cond_broadcast(&c->idle_cond);
                pthread_mutex_unlock(&c->mu);
                pthread_mutex_lock(&l->mu);
                continue; /* look again: a request may have come meanwhile */
            }
        }
        /* `waiting` stays set until a tick is due or a request clears it. */
        clock_wait(c->clock, &l->cond, &l->mu, l->paused ? INT64_MAX : l->next_tick_ms);
    }
    bool release = l->lock_held;
    l->lock_held = false;
    pthread_mutex_unlock(&l->mu);

    /* Give the lock up so another process need not wait for the lease. */
    if (release && c->ops->lock_release != NULL &&
        c->ops->lock_release(c->st, l->lock_name, c->owner_id) != CHORE_OK)
        rt_log_kv(c, CHORE_LOG_WARN, l->name, "could not release the lock", "lock", l->lock_name,
                  NULL);
    clock_unlisten(c->clock, &l->listener);

    pthread_mutex_lock(&l->mu);
    l->exited = true;
    l->waiting = false;
    pthread_cond_broadcast(&l->done_cond);
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

int rt_loop_launch(chore_loop *l)
{
    pthread_mutex_lock(&l->mu);
    l->quit = false;
    l->exited = false;
    l->waiting = false;
    atomic_store(&l->stop_flag, false);
    l->listener = (clock_listener){.wake = on_clock_moved, .ud = l};
    /* Jittered, so that nodes started together do not tick together. */
    l->next_tick_ms = instant_add(chore_clock_now(l->c->clock), jitter(l));
    int rc = CHORE_OK;
    if (pthread_create(&l->thread, NULL, loop_main, l) != 0)
        rc = CHORE_ETHREAD;
    else
        l->has_thread = true;
    pthread_mutex_unlock(&l->mu);
    if (rc != CHORE_OK)
        rt_log_kv(l->c, CHORE_LOG_ERROR, l->name, "could not start the loop's thread", NULL);
    return rc;
}

/* Ask every loop's thread to leave, then wait for each. Without `mu`. */
void rt_loops_stop(chore *c)
{
    pthread_mutex_lock(&c->mu);
    c->loops_running = false;
    size_t n = c->n_loops;
    for (size_t i = 0; i < n; i++) {
        chore_loop *l = c->loops[i];
        pthread_mutex_lock(&l->mu);
        l->quit = true;
        atomic_store(&l->stop_flag, true);
        pthread_cond_broadcast(&l->cond);
        pthread_mutex_unlock(&l->mu);
    }
    pthread_mutex_unlock(&c->mu);
    /* Loops added meanwhile do not start (loops_running is false), and
     * the array may move: read each entry under `mu`. */
    for (size_t i = 0; i < n; i++) {
        pthread_mutex_lock(&c->mu);
        chore_loop *l = c->loops[i];
        pthread_mutex_unlock(&c->mu);
        pthread_mutex_lock(&l->mu);
        bool joinable = l->has_thread;
        pthread_t thread = l->thread;
        pthread_mutex_unlock(&l->mu);
        if (!joinable)
            continue;
        pthread_join(thread, NULL); /* a running tick finishes first */
        pthread_mutex_lock(&l->mu);
        l->has_thread = false;
        pthread_cond_broadcast(&l->done_cond);
        pthread_mutex_unlock(&l->mu);
    }
}

/* Start the thread of every loop not stopped for good. Without `mu`.
 * On failure the threads started are stopped again. */
int rt_loops_start(chore *c)
{
    int rc = CHORE_OK;
    pthread_mutex_lock(&c->mu);
    c->loops_running = true;
    for (size_t i = 0; i < c->n_loops && rc == CHORE_OK; i++) {
        chore_loop *l = c->loops[i];
        pthread_mutex_lock(&l->mu);
        bool stopped = l->stopped;
        pthread_mutex_unlock(&l->mu);
        if (!stopped)
            rc = rt_loop_launch(l);
    }
    pthread_mutex_unlock(&c->mu);
    if (rc != CHORE_OK)
        rt_loops_stop(c);
    return rc;
}

/* Free every loop; their threads have been joined (rt_stop). */
void rt_loops_free(chore *c)
{
    for (size_t i = 0; i < c->n_loops; i++) {
        chore_loop *l = c->loops[i];
        if (l->has_thread) /* stopped from its own tick and never joined */
            pthread_join(l->thread, NULL);
        pthread_mutex_destroy(&l->mu);
        pthread_cond_destroy(&l->cond);
        pthread_cond_destroy(&l->done_cond);
        free(l);
    }
    free(c->loops);
    c->loops = NULL;
    c->n_loops = c->cap_loops = 0;
}

int rt_loop_sync(chore_loop *l, int64_t timeout_ms)
{
    pthread_mutex_lock(&l->mu);
    int64_t deadline = instant_add(real_now_ms(), timeout_ms);
    while (l->has_thread && !l->exited && !l->waiting && real_now_ms() < deadline)
        real_wait(&l->done_cond, &l->mu, deadline);
    int rc = !l->has_thread || l->exited || l->waiting ? CHORE_OK : CHORE_ETIMEDOUT;
    pthread_mutex_unlock(&l->mu);
    return rc;
}
