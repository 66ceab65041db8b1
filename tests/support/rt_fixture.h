/* rt_fixture.h — runtime tests: an instance on a fresh store (a SQLite file,
 * or a fresh schema of the test PostgreSQL cluster when CHORE_TEST_STORE=pg)
 * driven by a manual clock, a probe handler the test steers, and the few
 * ways in that tests need below the public API (a raw store, raw SQL) on
 * either backend. */
#ifndef CHORE_RT_FIXTURE_H
#define CHORE_RT_FIXTURE_H

#include <pthread.h>
#include <time.h>
#include <stdbool.h>

#include "chore.h"
#include "store/store.h"

#define T0 1700000000000LL /* the manual clock's start */
#define WAIT_MS 20000      /* safety limit on every wait: a hang fails, not stalls */

typedef struct fixture {
    chore_clock *clock;
    chore *c;
    bool pg;           /* on PostgreSQL (CHORE_TEST_STORE=pg) */
    char url[720];     /* the store's URL, for every instance of the test */
    char path[700];    /* SQLite: the store's file; unused on PostgreSQL */
    char pg_base[512]; /* PostgreSQL: the cluster's URL, no schema */
    char schema[64];   /* PostgreSQL: the test's fresh schema */
} fixture;

/* Whether the runtime tests run on PostgreSQL (CHORE_TEST_STORE=pg). */
bool fixture_on_pg(void);
/* Open (not start) an instance on a new store: a new file, or a new schema
 * of the test PostgreSQL cluster when CHORE_TEST_STORE=pg; cfg may be NULL.
 * Fails the test on error. */
void fixture_open(fixture *f, const chore_config *cfg);
/* Open a second instance on the same store and clock. */
chore *fixture_open_peer(fixture *f, const chore_config *cfg);
/* Open a raw store on the fixture's store, as another process would (its
 * own connections; on PostgreSQL its own skew, measured on its first timed
 * call). Close it with (*ops)->close. Fails the test on error. */
store *fixture_store_open(fixture *f, const store_ops **ops);

/* The backend the runtime tests run on, and a fresh, empty location for it
 * (what follows the URL's scheme), for tests that drive store_ops alone. */
const store_ops *fixture_backend(void);
const char *fixture_new_location(char *buf, size_t len);

/* A native connection to the fixture's store (sqlite3 *, or a PGconn *
 * whose search_path and chore.schema name the test's schema), for the few
 * tests that reach into rows or enqueue in their own transaction. The same
 * SQL runs on both when it sticks to plain tables and types. */
typedef struct fixture_db fixture_db;
fixture_db *fixture_db_open(fixture *f);
void fixture_db_close(fixture_db *db);
/* The sqlite3 * or PGconn *, as chore_enqueue_tx takes it. */
void *fixture_db_native(fixture_db *db);
/* Run statements; fails the test on error. */
void fixture_db_exec(fixture_db *db, const char *sql);
/* Begin a write transaction (BEGIN IMMEDIATE on SQLite, so the caller
 * holds the write lock before chore writes in it). */
void fixture_db_begin(fixture_db *db);
/* The first column of the first row of a query, as an integer (0 when no
 * row or NULL); fails the test on error. */
int64_t fixture_db_int(fixture_db *db, const char *sql);
/* One statement on a connection of its own; fails the test on error. */
void fixture_sql(fixture *f, const char *sql);
/* fixture_db_int on a connection of its own. */
int64_t fixture_sql_int(fixture *f, const char *sql);
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
/* A probe whose first call snoozes for snooze_ms and whose later calls
 * complete. */
void probe_init_snoozing(probe *p, int64_t snooze_ms);
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
