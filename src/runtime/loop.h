/*
 * loop.h — loops inside an instance: periodic functions, each run by its
 * own thread while the instance runs (loop.c: the thread and its ticks;
 * loop_control.c: registration, control from any thread, health).
 *
 * Locking: each loop has its own mutex `mu` guarding its state below it.
 * The instance's `mu` may be taken before a loop's `mu`, never after it;
 * a manual clock's listeners take a loop's `mu`, so no loop code calls
 * clock_listen/clock_unlisten with it held. Ticks run with no lock held.
 */
#ifndef CHORE_LOOP_H
#define CHORE_LOOP_H

#include <stdatomic.h>

#include "runtime/runtime.h"

#define LOOP_NAME_MAX 64
#define LOOP_RESERVED_PREFIX "chore."
/* The shortest lease a locked loop takes on its lock. */
#define MIN_LOCK_TTL_MS 1000

struct chore_loop {
    chore *c;
    chore_loop_config cfg;             /* name and lock_name point at the copies below */
    char name[LOOP_NAME_MAX + 1];
    char lock_name[LOOP_NAME_MAX + 1]; /* the lock id: cfg.lock_name or the name */

    pthread_mutex_t mu;
    pthread_cond_t cond;      /* the loop's thread waits here (clock_wait) */
    pthread_cond_t done_cond; /* a tick finished, the thread went idle or left */
    clock_listener listener;  /* a manual clock's moves wake the thread */
    atomic_bool stop_flag;    /* chore_tick_should_stop reads it without `mu` */

    pthread_t thread;
    bool has_thread;          /* started and not yet joined */
    bool exited;              /* the thread has left its loop */
    bool quit;                /* the instance stops: the thread leaves */
    bool stopped;             /* chore_loop_stop: for good */
    bool paused;
    bool trigger_pending;     /* trigger/trigger_wait: one tick even when paused */
    bool wake_pending;        /* wake: one tick once not paused */
    bool waiting;             /* the thread waits with nothing due (rt_loop_sync) */
    bool on_start_done;
    bool lock_held;           /* the last lock_acquire said held */
    bool maintenance;         /* chore's own: chore_wait_idle waits for it to settle */
    int64_t next_tick_ms;     /* instance clock */
    uint64_t started, finished; /* ticks begun and ended (skips included) */
    uint64_t rng;             /* splitmix64 state for jitter */
    chore_loop_health health;
};

/* The tick being run, on the loop thread's stack. */
struct chore_tick {
    chore_loop *loop;
    int64_t deadline_ms; /* start + timeout on the instance clock; INT64_MAX = none */
    int64_t work;
    int64_t next_at_ms;  /* set by rt_tick_next_at; 0 = after the interval */
    bool has_error;
    char error[256];
};

/* The scheduler (scheduler.c): its state, and its tick for chore.scheduler. */
typedef struct scheduler scheduler;
int rt_scheduler_new(chore *c, scheduler **out);
void rt_scheduler_free(scheduler *s); /* NULL is a no-op */
int rt_scheduler_tick(chore_tick *tick, void *ud);

/* Have the next tick come at `at_ms` (instance clock) instead of after the
 * loop's interval: for loops that know when their next work is due. */
void rt_tick_next_at(chore_tick *tick, int64_t at_ms);

/* Start the loop's thread; the first tick comes at now + random[0, jitter].
 * With the instance's `mu` held. CHORE_ETHREAD when it cannot start. */
int rt_loop_launch(chore_loop *loop);

/* Register a loop (cfg already checked by the caller; names starting with
 * "chore." are allowed here, for chore's own loops). Takes the instance's
 * `mu`. CHORE_EEXIST for a taken name or lock id, CHORE_EINVAL for a locked
 * loop on a store without locks. */
int rt_loop_add(chore *c, const chore_loop_config *cfg, chore_loop **out);

/* Whether `name` may name a loop or lock: 1-64 bytes of [a-z0-9_.];
 * names starting with "chore." only when `reserved_ok`. */
bool rt_loop_name_valid(const char *name, bool reserved_ok);

/* For tests: wait (real time, at most timeout_ms) until the loop's thread
 * waits with nothing due, has left, or was never started. */
int rt_loop_sync(chore_loop *loop, int64_t timeout_ms);

/* Control (loop_control.c); see chore.h. */
int rt_loop_trigger(chore_loop *loop, bool wait, int64_t timeout_ms);
void rt_loop_wake(chore_loop *loop);
int rt_loop_pause(chore_loop *loop, bool paused);
int rt_loop_restart(chore_loop *loop);
int rt_loop_stop(chore_loop *loop);
void rt_loop_health(chore_loop *loop, chore_loop_health *out);
chore_loop *rt_loop_find(chore *c, const char *name);
int rt_loops_health(chore *c, chore_loop_health **out, size_t *n);

#endif
