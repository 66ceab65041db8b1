/*
 * pg_internal.h — what the files of the PostgreSQL backend share: the store
 * struct (a small pool of connections behind a mutex and a condition
 * variable, and one listening thread for wake-ups, pg_listen.c), the
 * prepared statements, and the helpers for errors, parameters and
 * transactions.
 *
 * Private to src/store/pg_*.c.
 */
#ifndef CHORE_PG_INTERNAL_H
#define CHORE_PG_INTERNAL_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>

#include "store/store.h"

/* The schema version this code writes; a schema with a newer one is refused. */
#define PG_SCHEMA_VERSION 1
/* Connections per store: enough for a runtime's fetcher, completer,
 * maintenance and readers to work at once. */
#define PG_POOL_SIZE 4
/* The longest schema name we accept (PostgreSQL's identifiers are < 64 bytes). */
#define PG_SCHEMA_MAX 48

/* Statements prepared once per connection, on first use (pg_sql.c). */
enum pg_stmt {
    PG_S_INSERT,
    PG_S_INSERT_BULK,
    PG_S_FIND_UNIQUE,
    PG_S_CLAIM,
    PG_S_FIN_COMPLETE,
    PG_S_FIN_MANY,
    PG_S_FIN_COMPLETE_MANY,
    PG_S_FIN_RETRY,
    PG_S_FIN_DISCARD,
    PG_S_FIN_SNOOZE,
    PG_S_FIN_SUSPEND,
    PG_S_FIN_RELEASE,
    PG_S_HEARTBEAT,
    PG_S_RESCUE,
    PG_S_PRUNE,
    PG_S_ADMIN_STATE,
    PG_S_ADMIN_RETRY,
    PG_S_ADMIN_CANCEL,
    PG_S_ADMIN_REQUEUE,
    PG_S_ADMIN_DELETE,
    PG_S_GET,
    PG_S_LIST,
    PG_S_COUNT_BY_STATE,
    PG_S_COUNT_BY_NAME,
    PG_S_NEXT_RUN_AT,
    PG_S_SCHED_PUT,
    PG_S_SCHED_REMOVE,
    PG_S_SCHED_PAUSE,
    PG_S_SCHED_BUMP_VERSION,
    PG_S_SCHED_VERSION,
    PG_S_SCHED_LIST,
    PG_S_SCHED_GET,
    PG_S_SCHED_LOCK,
    PG_S_SCHED_FIRE_READ,
    PG_S_SCHED_FIRE_SET,
    PG_S_SCHED_PENDING,
    PG_S_SCHED_RELEASE,
    PG_S_LOCK_TAKE,
    PG_S_LOCK_RELEASE,
    PG_S_CHANGES,
    PG_S_COUNT
};

/* The backend's ops table, for store_backend_for (store.c) and tests. */

/* The SQL of each statement, with unqualified table names: every
 * connection's search_path is the store's schema. */
extern const char *const pg_sql[PG_S_COUNT];

/* One pooled connection. */
typedef struct pg_conn {
    PGconn *c;
    bool prepared[PG_S_COUNT];
    bool in_use;
} pg_conn;

struct store {
    char *conninfo;                /* what libpq gets: the URL without schema= */
    char schema[PG_SCHEMA_MAX + 1];
    char channel[PG_SCHEMA_MAX + 8]; /* the NOTIFY channel: "chore_<schema>" */
    bool async_commit;               /* CHORE_DURABLE_PROCESS: synchronous_commit off */

    pthread_mutex_t mu; /* guards pool[].in_use */
    pthread_cond_t cv;  /* a connection was given back */
    pg_conn pool[PG_POOL_SIZE];

    /* The listening thread (pg_listen.c). */
    pthread_mutex_t lmu;        /* guards listen_started, listen_ready */
    pthread_cond_t lcv;         /* listen_ready became true */
    bool listen_started;        /* the thread runs (joined by pg_listen_stop) */
    bool listen_ready;          /* its first connection attempt ended */
    pthread_t listener;
    int wake_fd;                /* eventfd: a notification is wanted, or stop */
    atomic_bool notify_wanted;  /* a commit wants a notification not yet sent */
    atomic_bool listen_stop;    /* the store closes */
    atomic_int_fast64_t changes; /* others' notifications, reconnects, own notifying commits */
    pthread_mutex_t hmu;        /* guards wake_fn, wake_arg; held while calling them */
    void (*wake_fn)(void *arg); /* the runtime's hook (store_ops.set_wake) */
    void *wake_arg;

    pthread_mutex_t kmu; /* guards skew_known and skew_ms */
    bool skew_known;     /* measured (pg_clock.c) */
    int64_t skew_ms;     /* caller's clock - database's clock */

    pthread_mutex_t amu; /* guards lockc and the held advisory locks; held across a lock call */
    PGconn *lockc;       /* holds the session-level advisory locks of loop locks */
    char **advisory;     /* lock names whose advisory lock lockc holds */
    size_t n_advisory;
};

/* ---- errors and connections (pg_store.c) */

/* Keep `msg` for store_errmsg and return code. */
int pg_fail_msg(int code, const char *msg);
/* Keep the error of res (or of the connection when res has none) and
 * return CHORE_ESTORE, or CHORE_EEXIST for a unique violation. Clears res. */
int pg_fail(PGconn *c, PGresult *res);
/* The message of the last failure on this thread, or "". */
const char *pg_last_error(void);
/* Open a connection with the store's settings (search_path = schema). */
int pg_connect(store *s, PGconn **out);

/* Take a connection from the pool (waiting for one), reconnecting it with
 * backoff when it was lost. NULL with *rc set on failure. */
pg_conn *pg_take(store *s, int *rc);
/* Give a connection back. */
void pg_give(store *s, pg_conn *pc);

/* Run a simple command (no parameters, no rows). */
int pg_exec(PGconn *c, const char *sql);
/* Run prepared statement `which` with n text parameters (NULL = SQL NULL).
 * Returns the result (rows or command OK) or NULL with *rc set. */
PGresult *pg_run(pg_conn *pc, enum pg_stmt which, int n, const char *const *params, int *rc);
/* Run `which` and clear the result, counting the rows it changed in *changed (may be NULL). */
int pg_run_cmd(pg_conn *pc, enum pg_stmt which, int n, const char *const *params,
               int64_t *changed);

/* A transaction on a pooled connection: body runs between BEGIN and
 * COMMIT; a failing body rolls back. A write that may make work available
 * to other nodes calls pg_listen_notify after it returns CHORE_OK. */
int pg_write(store *s, int (*body)(store *s, pg_conn *pc, void *arg), void *arg);
/* The same with `begin` (one or more statements, one round trip) instead
 * of "BEGIN": a transaction with SET LOCAL settings of its own. */
int pg_write_begin(store *s, const char *begin,
                   int (*body)(store *s, pg_conn *pc, void *arg), void *arg);
/* Claims and lease renewals: their commit need not wait for the WAL flush
 * (a claim lost in a server crash only means the job is claimed again,
 * and the next synchronous commit flushes it too), and the claim's plan
 * must read the available jobs in index order even when the table's
 * statistics are stale (a queue just filled looks empty, and a bitmap scan
 * and sort of every waiting job would then be picked). */
#define PG_BEGIN_CLAIM                                                                             \
    "BEGIN; SET LOCAL synchronous_commit TO off; SET LOCAL enable_seqscan TO off;"                 \
    " SET LOCAL enable_bitmapscan TO off"
#define PG_BEGIN_ASYNC "BEGIN; SET LOCAL synchronous_commit TO off"
/* A read on a pooled connection, tried again once on a fresh connection
 * when the first one was lost. */
int pg_read(store *s, int (*body)(store *s, pg_conn *pc, void *arg), void *arg);

/* Decimal text of an int64, for parameters. */
typedef struct pg_num {
    char s[24];
} pg_num;
const char *pg_i64(pg_num *n, int64_t v);
/* A column as int64 (NULL or empty = 0). */
int64_t pg_get_i64(const PGresult *res, int row, int col);
/* A column copied with malloc; NULL column = NULL with *rc OK. */
char *pg_get_str(const PGresult *res, int row, int col, int *rc);
/* A text[] literal of n strings (NULL elements are SQL NULLs), malloc'd;
 * NULL when out of memory. */
char *pg_text_array(const char *const *v, size_t n);

/* Whether outs are n > 1 outcomes of distinct jobs (pg_bulk.c). */
bool pg_all_distinct(const store_outcome *outs, size_t n);
/* Apply such outcomes in one statement; applied[i] (may be NULL) as in finish. */
int pg_finish_many(store *s, pg_conn *pc, const store_outcome *outs, size_t n, int64_t now_ms,
                   bool *applied);
/* Renew n leases to until_db_ms (database time) in one statement. */
int pg_heartbeat_many(pg_conn *pc, const store_lease *leases, size_t n, int64_t until_db_ms,
                      bool *applied);

/* ---- clocks (pg_clock.c) */

/* Database time for the caller's time caller_ms, measuring the store's
 * skew on pc on first use. */
int pg_db_time(store *s, pg_conn *pc, int64_t caller_ms, int64_t *db_ms);
/* The caller's time for a database time read back; 0 stays 0. */
int64_t pg_caller_time(store *s, int64_t db_ms);

/* ---- wake-ups (pg_listen.c) */

/* Start the listening thread if it is not running; with wait, return once
 * its first connection attempt ended (so a LISTEN is in place if the
 * server is up). */
void pg_listen_start(store *s, bool wait);
/* After the commit of a write that may make work available elsewhere:
 * ask the thread for a notification (coalesced) and count a change. */
void pg_listen_notify(store *s);
/* store_ops.set_wake: see store.h. */
void pg_set_wake(store *s, void (*fn)(void *arg), void *arg);
/* Send a notification still wanted, stop the thread and join it. */
void pg_listen_stop(store *s);

/* ---- schema (pg_schema.c) */

/* Create or migrate the schema under a transaction-level advisory lock,
 * so that nodes starting together migrate once. CHORE_EVERSION when the
 * stored version is newer than PG_SCHEMA_VERSION. */
int pg_schema_migrate(PGconn *c, const char *schema);

/* ---- jobs (pg_jobs.c, pg_bulk.c, pg_claim.c, pg_read.c) */

/* Insert n jobs without unique keys in one statement (pg_bulk.c), on a
 * pooled connection or (pc NULL) the caller's; ids in the jobs' order. */
int pg_insert_bulk(PGconn *c, pg_conn *pc, const store_new_job *jobs, size_t n, int64_t now_ms,
                   int64_t *ids, bool *duplicate);

/* Insert n jobs on a connection inside its open transaction (the store's
 * or the caller's); see store.h for unique keys. */
int pg_insert_jobs(PGconn *c, pg_conn *pc, const store_new_job *jobs, size_t n, int64_t now_ms,
                   int64_t *ids, bool *duplicate);

int pg_enqueue(store *s, const store_new_job *jobs, size_t n, int64_t now_ms, int64_t *ids,
               bool *duplicate);
int pg_enqueue_native(void *native, const store_new_job *jobs, size_t n, int64_t now_ms,
                      int64_t *ids, bool *duplicate);
int pg_claim(store *s, const store_claim_req *req, int64_t now_ms, store_claimed **out, size_t *n);
int pg_finish(store *s, const store_outcome *outs, size_t n, int64_t now_ms, bool *applied);
int pg_heartbeat(store *s, const store_lease *leases, size_t n, int64_t now_ms, int64_t lease_ms,
                 bool *applied);
int pg_rescue(store *s, int64_t now_ms, int64_t *rescued);
int pg_prune(store *s, int64_t before_ms, int64_t *pruned);
int pg_admin(store *s, store_admin_op op, int64_t id, int64_t now_ms);
int pg_next_run_at(store *s, int64_t *out);
int pg_change_counter(store *s, int64_t *out);
int pg_get(store *s, int64_t id, chore_job_info **out);
int pg_list(store *s, const chore_list_query *q, chore_job_info **out, size_t *n,
            int64_t *next_cursor);
int pg_count_by_state(store *s, int64_t counts[CHORE_STATE_COUNT]);
int pg_count_by_name(store *s, chore_name_counts **out, size_t *n);

/* ---- schedules (pg_schedules.c) */

int pg_schedule_put(store *s, const store_schedule *sc, int64_t now_ms);
int pg_schedule_remove(store *s, const char *name);
int pg_schedule_set_paused(store *s, const char *name, bool paused, int64_t now_ms);
int pg_schedule_list(store *s, store_schedule **out, size_t *n);
int pg_schedule_get(store *s, const char *name, store_schedule **out);
int pg_schedule_fire(store *s, const store_fire *fires, size_t n, int64_t now_ms,
                     store_fire_result *results);
int pg_schedule_release_pending(store *s, int64_t now_ms, size_t *enqueued);
int pg_schedule_version(store *s, int64_t *out);

/* ---- loop locks (pg_locks.c) */

int pg_lock_acquire(store *s, const char *name, const char *owner, int64_t now_ms, int64_t ttl_ms,
                    bool *held);
int pg_lock_release(store *s, const char *name, const char *owner);
/* Close the lock connection (its advisory locks go with it) and forget them. */
void pg_locks_close(store *s);

#endif /* CHORE_PG_INTERNAL_H */
