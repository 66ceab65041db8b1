/* clock.c — system and manual clocks, and waiting on them. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "runtime/clock.h"

struct chore_clock {
    bool manual;
    _Atomic int64_t now_ms;  /* manual clocks only */
    pthread_mutex_t mu;      /* guards listeners */
    clock_listener *listeners;
};

static chore_clock system_clock = {.manual = false, .mu = PTHREAD_MUTEX_INITIALIZER};

chore_clock *clock_system(void) { return &system_clock; }

bool clock_is_manual(const chore_clock *clock) { return clock->manual; }

int chore_clock_new_manual(chore_clock **out, int64_t start_ms)
{
    if (out == NULL)
        return CHORE_EINVAL;
    *out = NULL;
    chore_clock *clock = calloc(1, sizeof *clock);
    if (clock == NULL)
        return CHORE_ENOMEM;
    if (pthread_mutex_init(&clock->mu, NULL) != 0) {
        free(clock);
        return CHORE_ENOMEM;
    }
    clock->manual = true;
    atomic_store(&clock->now_ms, start_ms);
    *out = clock;
    return CHORE_OK;
}

void chore_clock_free(chore_clock *clock)
{
    if (clock == NULL || !clock->manual)
        return;
    pthread_mutex_destroy(&clock->mu);
    free(clock);
}

int64_t chore_clock_now(const chore_clock *clock)
{
    if (clock->manual)
        return atomic_load(&((chore_clock *)clock)->now_ms);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void chore_clock_advance(chore_clock *clock, int64_t ms)
{
    if (clock == NULL || !clock->manual || ms < 0)
        return;
    atomic_fetch_add(&clock->now_ms, ms);
    pthread_mutex_lock(&clock->mu);
    for (clock_listener *l = clock->listeners; l != NULL; l = l->next)
        l->wake(l->ud);
    pthread_mutex_unlock(&clock->mu);
}

void clock_listen(chore_clock *clock, clock_listener *listener)
{
    if (!clock->manual)
        return;
    pthread_mutex_lock(&clock->mu);
    listener->next = clock->listeners;
    clock->listeners = listener;
    pthread_mutex_unlock(&clock->mu);
}

void clock_unlisten(chore_clock *clock, clock_listener *listener)
{
    if (!clock->manual)
        return;
    pthread_mutex_lock(&clock->mu);
    for (clock_listener **p = &clock->listeners; *p != NULL; p = &(*p)->next) {
        if (*p == listener) {
            *p = listener->next;
            break;
        }
    }
    pthread_mutex_unlock(&clock->mu);
}

int clock_cond_init(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return CHORE_ENOMEM;
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
    return rc == 0 ? CHORE_OK : CHORE_ENOMEM;
}

int64_t real_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t real_now_ms(void) { return real_now_us() / 1000; }

/* Wait at most `us` microseconds of real time. */
static void wait_for_us(pthread_cond_t *cond, pthread_mutex_t *mu, int64_t us)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += us / 1000000;
    ts.tv_nsec += (long)(us % 1000000) * 1000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    int rc;
    do {
        rc = pthread_cond_timedwait(cond, mu, &ts);
    } while (rc == EINTR);
}

void real_wait(pthread_cond_t *cond, pthread_mutex_t *mu, int64_t real_deadline_ms)
{
    if (real_deadline_ms == INT64_MAX) {
        pthread_cond_wait(cond, mu);
        return;
    }
    int64_t left = real_deadline_ms - real_now_ms();
    if (left > 0)
        wait_for_us(cond, mu, left * 1000);
}

void clock_wait(const chore_clock *clock, pthread_cond_t *cond, pthread_mutex_t *mu,
                int64_t deadline_ms)
{
    if (deadline_ms <= chore_clock_now(clock))
        return;
    if (clock->manual || deadline_ms == INT64_MAX) {
        pthread_cond_wait(cond, mu); /* a manual clock's advance() wakes us */
        return;
    }
    /* In microseconds: waking up to a millisecond late would show in every
     * scheduled job's start. */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t left_us = deadline_ms * 1000 - ((int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000);
    if (left_us > 0)
        wait_for_us(cond, mu, left_us);
}
