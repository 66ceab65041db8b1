/* loop_control.c — registering loops, controlling them from any thread,
 * and reading their health. The loop's thread is in loop.c.
 *
 * Requests for ticks: trigger sets trigger_pending, which runs one tick
 * even while the loop is paused (an explicit request from an operator or
 * a test); wake sets wake_pending, which runs one tick once the loop is
 * not paused. Either is consumed when a tick starts, so requests made
 * during a tick coalesce into exactly one more tick, and every request is
 * followed by a tick that starts after it. Every tick, requested or due,
 * starts the next interval from its own start. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pure/instant.h"
#include "runtime/loop.h"

bool rt_loop_name_valid(const char *name, bool reserved_ok)
{
    if (name == NULL)
        return false;
    size_t len = strlen(name);
    if (len == 0 || len > LOOP_NAME_MAX)
        return false;
    for (const char *p = name; *p != '\0'; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '.'))
            return false;
    }
    return reserved_ok || strncmp(name, LOOP_RESERVED_PREFIX, strlen(LOOP_RESERVED_PREFIX)) != 0;
}

/* This instance's name as a lock owner: host, pid, and a part drawn from
 * the instance's address and the time (not only from c->rng: instances
 * opened with the same seed must still be different owners). With `mu` held. */
static void make_owner_id(chore *c)
{
    if (c->owner_id[0] != '\0')
        return;
    char host[32] = "host";
    if (gethostname(host, sizeof host) != 0)
        strcpy(host, "host");
    host[sizeof host - 1] = '\0';
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t mix = (uint64_t)(uintptr_t)c ^ ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec;
    mix ^= rng_next(&c->rng);
    snprintf(c->owner_id, sizeof c->owner_id, "%s:%ld:%016llx", host, (long)getpid(),
             (unsigned long long)rng_next(&mix));
}

/* A taken name, or (for a locked loop) a taken lock id. With `mu` held. */
static bool conflicts(const chore *c, const chore_loop *l)
{
    for (size_t i = 0; i < c->n_loops; i++) {
        const chore_loop *o = c->loops[i];
        if (strcmp(o->name, l->name) == 0)
            return true;
        if (l->cfg.locked && o->cfg.locked && strcmp(o->lock_name, l->lock_name) == 0)
            return true;
    }
    return false;
}

static chore_loop *loop_new(chore *c, const chore_loop_config *cfg)
{
    chore_loop *l = calloc(1, sizeof *l);
    if (l == NULL)
        return NULL;
    if (pthread_mutex_init(&l->mu, NULL) != 0) {
        free(l);
        return NULL;
    }
    if (clock_cond_init(&l->cond) != CHORE_OK) {
        pthread_mutex_destroy(&l->mu);
        free(l);
        return NULL;
    }
    if (clock_cond_init(&l->done_cond) != CHORE_OK) {
        pthread_cond_destroy(&l->cond);
        pthread_mutex_destroy(&l->mu);
        free(l);
        return NULL;
    }
    l->c = c;
    l->cfg = *cfg;
    snprintf(l->name, sizeof l->name, "%s", cfg->name);
    snprintf(l->lock_name, sizeof l->lock_name, "%s",
             cfg->lock_name != NULL ? cfg->lock_name : cfg->name);
    l->cfg.name = l->name;
    l->cfg.lock_name = l->lock_name;
    atomic_init(&l->stop_flag, false);
    snprintf(l->health.name, sizeof l->health.name, "%s", l->name);
    return l;
}

static void loop_free(chore_loop *l)
{
    pthread_cond_destroy(&l->done_cond);
    pthread_cond_destroy(&l->cond);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

int rt_loop_add(chore *c, const chore_loop_config *cfg, chore_loop **out)
{
    if (cfg->locked && (c->ops->lock_acquire == NULL || c->ops->lock_release == NULL))
        return CHORE_EINVAL; /* this store cannot lock */
    chore_loop *l = loop_new(c, cfg);
    if (l == NULL)
        return CHORE_ENOMEM;
    pthread_mutex_lock(&c->mu);
    int rc = CHORE_OK;
    if (conflicts(c, l)) {
        rc = CHORE_EEXIST;
    } else if (c->n_loops == c->cap_loops) {
        size_t cap = c->cap_loops > 0 ? 2 * c->cap_loops : 8;
        chore_loop **loops = realloc(c->loops, cap * sizeof *loops);
        if (loops == NULL) {
            rc = CHORE_ENOMEM;
        } else {
            c->loops = loops;
            c->cap_loops = cap;
        }
    }
    if (rc == CHORE_OK) {
        if (cfg->locked)
            make_owner_id(c);
        l->rng = rng_next(&c->rng);
        if (c->loops_running)
            rc = rt_loop_launch(l);
    }
    if (rc == CHORE_OK)
        c->loops[c->n_loops++] = l;
    pthread_mutex_unlock(&c->mu);
    if (rc != CHORE_OK) {
        loop_free(l);
        return rc;
    }
    if (out != NULL)
        *out = l;
    return CHORE_OK;
}

/* Whether the caller is the loop's own thread. With the loop's `mu` held. */
static bool on_own_thread(const chore_loop *l)
{
    return l->has_thread && !l->exited && pthread_equal(pthread_self(), l->thread);
}

/* Wake the loop's thread to look at its state again. With the loop's `mu` held. */
static void poke(chore_loop *l)
{
    l->waiting = false;
    pthread_cond_broadcast(&l->cond);
}

int rt_loop_trigger(chore_loop *l, bool wait, int64_t timeout_ms)
{
    pthread_mutex_lock(&l->mu);
    int rc = CHORE_OK;
    if (l->stopped) {
        rc = CHORE_ESTOPPED;
    } else if (wait && on_own_thread(l)) {
        rc = CHORE_EBUSY; /* the tick would wait for itself */
    } else if (wait && (!l->has_thread || l->exited)) {
        rc = CHORE_ESTOPPED; /* the instance is not running: no tick would come */
    } else {
        /* The tick that consumes this request is the next one to start. */
        uint64_t target = l->started + 1;
        l->trigger_pending = true;
        poke(l);
        if (wait) {
            int64_t deadline = real_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
            while (l->finished < target && !l->exited && real_now_ms() < deadline)
                real_wait(&l->done_cond, &l->mu, deadline);
            rc = l->finished >= target ? CHORE_OK : l->exited ? CHORE_ESTOPPED : CHORE_ETIMEDOUT;
        }
    }
    pthread_mutex_unlock(&l->mu);
    return rc;
}

void rt_loop_wake(chore_loop *l)
{
    pthread_mutex_lock(&l->mu);
    if (!l->stopped) {
        l->wake_pending = true;
        poke(l);
    }
    pthread_mutex_unlock(&l->mu);
}

int rt_loop_pause(chore_loop *l, bool paused)
{
    pthread_mutex_lock(&l->mu);
    int rc = l->stopped ? CHORE_ESTOPPED : CHORE_OK;
    if (rc == CHORE_OK) {
        l->paused = paused;
        poke(l);
    }
    pthread_mutex_unlock(&l->mu);
    return rc;
}

int rt_loop_restart(chore_loop *l)
{
    pthread_mutex_lock(&l->mu);
    int rc = l->stopped ? CHORE_ESTOPPED : CHORE_OK;
    if (rc == CHORE_OK) {
        int64_t now = chore_clock_now(l->c->clock);
        l->next_tick_ms = instant_add(now, l->cfg.interval_ms);
        poke(l);
    }
    pthread_mutex_unlock(&l->mu);
    return rc;
}

int rt_loop_stop(chore_loop *l)
{
    pthread_mutex_lock(&l->mu);
    if (l->stopped) {
        pthread_mutex_unlock(&l->mu);
        return CHORE_ESTOPPED;
    }
    l->stopped = true;
    l->trigger_pending = l->wake_pending = false;
    atomic_store(&l->stop_flag, true);
    poke(l);
    /* From its own tick: the thread leaves when the tick returns. */
    if (!on_own_thread(l)) {
        while (l->has_thread && !l->exited)
            pthread_cond_wait(&l->done_cond, &l->mu);
    }
    pthread_mutex_unlock(&l->mu);
    return CHORE_OK;
}

void rt_loop_health(chore_loop *l, chore_loop_health *out)
{
    pthread_mutex_lock(&l->mu);
    *out = l->health;
    out->paused = l->paused;
    out->stopped = l->stopped;
    bool planned = l->has_thread && !l->exited && !l->stopped && !l->paused;
    out->next_tick_ms = planned ? l->next_tick_ms : 0;
    pthread_mutex_unlock(&l->mu);
}

chore_loop *rt_loop_find(chore *c, const char *name)
{
    chore_loop *found = NULL;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->n_loops && found == NULL; i++) {
        if (strcmp(c->loops[i]->name, name) == 0)
            found = c->loops[i];
    }
    pthread_mutex_unlock(&c->mu);
    return found;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const chore_loop_health *)a)->name, ((const chore_loop_health *)b)->name);
}

int rt_loops_health(chore *c, chore_loop_health **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&c->mu);
    size_t count = c->n_loops;
    chore_loop_health *items = count > 0 ? malloc(count * sizeof *items) : NULL;
    if (count > 0 && items == NULL) {
        pthread_mutex_unlock(&c->mu);
        return CHORE_ENOMEM;
    }
    for (size_t i = 0; i < count; i++)
        rt_loop_health(c->loops[i], &items[i]);
    pthread_mutex_unlock(&c->mu);
    if (count > 1)
        qsort(items, count, sizeof *items, by_name);
    *out = items;
    *n = count;
    return CHORE_OK;
}
