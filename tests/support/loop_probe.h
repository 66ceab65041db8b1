/* loop_probe.h — loop tests: `lp`, a tick probe used as a loop's user
 * pointer (scripts results, records calls and errors, can block until the
 * test releases it), and helpers that register loops on a fixture and wait
 * for them on the manual clock. Shared by tests/test_rt_loops*.c. */
#ifndef CHORE_LOOP_PROBE_H
#define CHORE_LOOP_PROBE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "chore.h"
#include "rt_fixture.h"

enum { MAX_CALLS = 4096 };

/* A loop's user pointer: scripts results, records calls, can block. */
typedef struct lp {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    chore_clock *clock;
    chore_loop *self;
    int calls;
    int64_t at[MAX_CALLS];   /* clock time at each call */
    int script[64];          /* result of call i; past the script: fallback */
    const char *msgs[64];    /* set_error message of call i, if any */
    int64_t works[64];       /* set_work of call i, if non-zero */
    int n_script;
    int fallback;
    bool block;              /* calls wait until `released` passes their ticket */
    bool honour_stop;        /* blocked calls also return once should_stop says so */
    int tickets, released;
    bool stop_at_exit[MAX_CALLS];
    chore_tick *current;     /* the tick running now */
    bool run_ok;             /* should_run's answer */
    int should_run_calls;
    int on_start_script[8];
    int n_on_start, on_start_calls;
    int errors;
    int error_codes[64];
    char error_msgs[64][256];
    bool stop_self, trigger_wait_self;
    int self_rc;
    atomic_long *seq;        /* sleeper test: the wake counter */
    atomic_long last_seq;    /* its value when the last tick started */
} lp;

/* Zero a probe and set it up for `clock`: should_run says yes. */
void lp_init(lp *p, chore_clock *clock);
/* Free a probe's mutex and condition. */
void lp_destroy(lp *p);
/* The run hook: records the call, applies the script, blocks if asked. */
int lp_run(chore_tick *tick, void *ud);
/* How many times run has been called. */
int lp_calls(lp *p);
/* The clock time of call `call`. */
int64_t lp_at(lp *p, int call);
/* Wait until `n` calls have blocked so far. */
void lp_wait_tickets(lp *p, int n);
/* Make later calls block (or not) until released. */
void lp_set_block(lp *p, bool block);
/* Let one more blocked call return. */
void lp_release(lp *p);

/* A config whose every hook is the probe's. */
chore_loop_config loop_cfg(const char *name, int64_t interval_ms, lp *p);
/* Register a loop on the fixture's instance (and tell its probe), failing
 * the test on error. */
chore_loop *loop_add(fixture *f, const chore_loop_config *cfg);
/* Wait until the loop's thread has nothing due (fails after WAIT_MS). */
void sync_loop(chore_loop *l);
/* Move the clock and wait until the loop has done what came due. */
void loop_advance(fixture *f, chore_loop *l, int64_t ms);
/* The loop's health, failing the test on error. */
chore_loop_health loop_health(chore_loop *l);

#endif
