/* rt_fixture.h — runtime tests: an instance on a fresh SQLite file driven
 * by a manual clock, and a probe handler the test steers. */
#ifndef CHORE_RT_FIXTURE_H
#define CHORE_RT_FIXTURE_H

#include <pthread.h>
#include <time.h>
#include <stdbool.h>

#include "chore.h"

#define T0 1700000000000LL /* the manual clock's start */
#define WAIT_MS 20000      /* safety limit on every wait: a hang fails, not stalls */

typedef struct fixture {
    chore_clock *clock;
    chore *c;
    char url[720];
    char path[700];
} fixture;

/* Open (not start) an instance on a new file (on a new schema of the test
 * PostgreSQL cluster when CHORE_TEST_STORE=pg); cfg may be NULL. Fails the
 * test on error. */
void fixture_open(fixture *f, const chore_config *cfg);
/* Open a second instance on the same file and clock. */
chore *fixture_open_peer(fixture *f, const chore_config *cfg);
void fixture_close(fixture *f);
/* Advance the clock, then wait until the instance is idle. */
void fixture_advance(fixture *f, int64_t ms);
/* Wait until idle, failing the test after WAIT_MS. */
void fixture_idle(fixture *f);
/* Read one job's state (fails the test if missing). */
chore_state fixture_state(fixture *f, int64_t id);

/* Deadline for pthread_cond_timedwait, `ms` of real time from now (CLOCK_REALTIME). */
struct timespec after_ms(int64_t ms);

/* A handler whose results the test scripts, which can block until released. */
typedef struct probe {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int calls;
    int script[32];      /* result of call i; past the script: fallback */
    int n_script;
    int fallback;
    bool block;          /* calls wait until `released` grows */
    bool honour_stop;    /* blocked calls also return when should_stop says so */
    int released;        /* how many blocked calls may return */
    int blocked;         /* calls waiting now */
    int tickets;         /* calls that have blocked so far */
    int64_t snooze_ms;
    int64_t ids[32], tokens[32];
    int attempts[32];
    bool stop_seen[32];  /* chore_job_should_stop when the call returned */
} probe;

void probe_init(probe *p, int fallback);
void probe_destroy(probe *p);
/* The handler function; its user pointer is a probe. */
int probe_handler(chore_job *job, void *ud);
/* Wait until `n` calls are blocked inside the handler. */
void probe_wait_blocked(probe *p, int n);
/* How many calls are blocked inside the handler now. */
int probe_blocked(probe *p);
/* Let one more blocked call return. */
void probe_release(probe *p);
int probe_calls(probe *p);

#endif
