/* clock.h — the instance's time source: the system clock, or a manual
 * clock that tests move by hand. Threads wait on it through clock_wait so
 * that moving a manual clock wakes them. */
#ifndef CHORE_CLOCK_H
#define CHORE_CLOCK_H

#include <pthread.h>
#include <stdint.h>

#include "chore.h"

/* Someone to wake when a manual clock moves: wake() must take the mutex
 * its waiters use and broadcast their condition variables. */
typedef struct clock_listener {
    void (*wake)(void *ud);
    void *ud;
    struct clock_listener *next;
} clock_listener;

/* The shared, immutable system clock. */
chore_clock *clock_system(void);
bool clock_is_manual(const chore_clock *clock);
/* Register and remove a listener (no-ops on the system clock). */
void clock_listen(chore_clock *clock, clock_listener *listener);
void clock_unlisten(chore_clock *clock, clock_listener *listener);

/* A condition variable that clock_wait and real_wait can time (CLOCK_MONOTONIC). */
int clock_cond_init(pthread_cond_t *cond);

/* With `mu` held: wait on `cond` until signalled or until the clock
 * reaches deadline_ms (INT64_MAX = no deadline). May return early. */
void clock_wait(const chore_clock *clock, pthread_cond_t *cond, pthread_mutex_t *mu,
                int64_t deadline_ms);

/* Real (monotonic) time in ms, for grace periods and safety timeouts that
 * must pass even when a manual clock stands still. */
int64_t real_now_ms(void);
/* The same in microseconds, to time ticks and handlers. */
int64_t real_now_us(void);
/* With `mu` held: wait on `cond` until signalled or real_now_ms() >= deadline. */
void real_wait(pthread_cond_t *cond, pthread_mutex_t *mu, int64_t real_deadline_ms);

#endif
