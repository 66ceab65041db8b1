/*
 * sqlite_internal.h — what the files of the SQLite backend share: the store
 * struct (two connections, each behind its own mutex, with their cached
 * statements, and the WAL flusher), the statement tables, and the error
 * helpers.
 *
 * Private to src/store/sqlite_*.c.
 */
#ifndef CHORE_SQLITE_INTERNAL_H
#define CHORE_SQLITE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdint.h>

#include "store/store.h"

/* The schema version this code writes; a file with a newer one is refused. */
#define SQ_SCHEMA_VERSION 4

/* Statements of the writer connection, prepared on first use and kept. */
enum sq_wstmt {
    SQ_W_BEGIN,
    SQ_W_COMMIT,
    SQ_W_ROLLBACK,
    SQ_W_FIND_UNIQUE,
    SQ_W_INSERT,
    SQ_W_PROMOTE,
    SQ_W_FIN_COMPLETE,
    SQ_W_FIN_RETRY,
    SQ_W_FIN_DISCARD,
    SQ_W_FIN_SNOOZE,
    SQ_W_FIN_SUSPEND,
    SQ_W_FIN_RELEASE,
    SQ_W_HEARTBEAT,
    SQ_W_RESCUE,
    SQ_W_PRUNE,
    SQ_W_ADMIN_STATE,
    SQ_W_ADMIN_RETRY,
    SQ_W_ADMIN_CANCEL,
    SQ_W_ADMIN_REQUEUE,
    SQ_W_ADMIN_DELETE,
    SQ_W_SCHED_PUT,
    SQ_W_SCHED_REMOVE,
    SQ_W_SCHED_PAUSE,
    SQ_W_SCHED_FIRE_READ,
    SQ_W_SCHED_FIRE_SET,
    SQ_W_SCHED_PENDING_NEXT,
    SQ_W_SCHED_RELEASE,
    SQ_W_SCHED_BUMP_VERSION,
    SQ_W_LOCK_TAKE,
    SQ_W_LOCK_OWNER,
    SQ_W_LOCK_RELEASE,
    SQ_W_COUNT
};

/* Statements of the read connection. */
enum sq_rstmt {
    SQ_R_GET,
    SQ_R_LIST,
    SQ_R_COUNT_BY_STATE,
    SQ_R_COUNT_BY_NAME,
    SQ_R_NEXT_RUN_AT,
    SQ_R_DATA_VERSION,
    SQ_R_SCHED_LIST,
    SQ_R_SCHED_GET,
    SQ_R_SCHED_VERSION,
    SQ_R_COUNT
};

/* Claim statements, keyed by how many names and queues they filter on. */
#define SQ_CLAIM_CACHE 8

typedef struct sq_claim_cached {
    size_t n_names;
    size_t n_queues;
    sqlite3_stmt *stmt; /* NULL = empty slot */
} sq_claim_cached;

/* Durable commits that share one fdatasync of the WAL (sqlite_flush.c). */
typedef struct sq_flusher {
    _Atomic uint64_t committed; /* commits counted so far, numbered from 1 */
    pthread_mutex_t mu;         /* guards the rest */
    pthread_cond_t cond;        /* a flush ended */
    uint64_t durable;           /* every commit up to this one is on disk */
    bool flushing;              /* a thread is in fdatasync */
    int wal_fd;                 /* the WAL, opened on the first flush; -1 = not yet */
} sq_flusher;

struct store {
    pthread_mutex_t wmu; /* guards w, ws, claim_cache, claim_next */
    sqlite3 *w;
    bool full_sync; /* CHORE_DURABLE_FULL: a durable write returns once flushed */
    sq_flusher flush;
    sqlite3_stmt *ws[SQ_W_COUNT];
    sq_claim_cached claim_cache[SQ_CLAIM_CACHE];
    size_t claim_next; /* the slot to evict next */

    pthread_mutex_t rmu; /* guards r and rs */
    sqlite3 *r;
    sqlite3_stmt *rs[SQ_R_COUNT];
};

/* ---- errors (sqlite_store.c) */

/* Map an SQLite result code to a CHORE_E* code. */
int sq_code(int rc);
/* Keep db's current message for store_errmsg and return sq_code(rc). */
int sq_fail(sqlite3 *db, int rc);
/* Keep `msg` for store_errmsg and return code. */
int sq_fail_msg(int code, const char *msg);
/* The message of the last failure on this thread, or "". */
const char *sq_last_error(void);

/* ---- statements and transactions on the writer (sqlite_store.c) */

/* The writer's cached statement `which`, prepared if needed; NULL on failure
 * with *rc set to a CHORE_E* code. The caller holds wmu. */
sqlite3_stmt *sq_wstmt(store *s, enum sq_wstmt which, int *rc);
/* The reader's cached statement `which`; as sq_wstmt, caller holds rmu. */
sqlite3_stmt *sq_rstmt(store *s, enum sq_rstmt which, int *rc);
/* BEGIN IMMEDIATE on the writer. Caller holds wmu. */
int sq_begin(store *s);
/* COMMIT on the writer; on failure the transaction is rolled back. */
int sq_commit(store *s);
/* Roll back the writer's open transaction, if any. Never fails visibly. */
void sq_rollback(store *s);
/* Run body(s, arg) in one write transaction under wmu: committed when it
 * returns CHORE_OK, rolled back otherwise. */
int sq_write(store *s, int (*body)(store *s, void *arg), void *arg);
/* The same for a write whose loss in a power cut costs nothing but work
 * done again (a claim, a lease renewal): it returns without waiting for a
 * flush. The next flush syncs it too, WAL frames being in order. */
int sq_write_unsynced(store *s, int (*body)(store *s, void *arg), void *arg);

/* ---- flushing the WAL (sqlite_flush.c) */

int sq_flush_init(sq_flusher *f);
void sq_flush_destroy(sq_flusher *f);
/* Count a commit just made (its frames written, wmu held); returns its number. */
uint64_t sq_flush_committed(sq_flusher *f);
/* Return once commit `seq` and every one before it is on disk: one thread
 * fdatasyncs the WAL for every commit counted so far while the others wait. */
int sq_flush_to(store *s, uint64_t seq);
/* The call that syncs the WAL: fdatasync; tests wrap it to watch flushes. */
extern int (*sq_flush_sync)(int fd);
/* Step a statement that returns no rows to completion and reset it. */
int sq_step_done(sqlite3 *db, sqlite3_stmt *st);
/* sqlite3_column_text copied with malloc; NULL column = NULL with *rc OK. */
char *sq_column_strdup(sqlite3_stmt *st, int col, int *rc);

/* ---- schema (sqlite_schema.c) */

/* Create or migrate the schema on db, in one BEGIN IMMEDIATE transaction.
 * CHORE_EVERSION when the file's schema is newer than SQ_SCHEMA_VERSION. */
int sq_schema_migrate(sqlite3 *db);

/* ---- job operations (sqlite_jobs.c, sqlite_claim.c, sqlite_read.c) */

/* Insert n jobs on db with the statements `find` (SQ_W_FIND_UNIQUE's SQL)
 * and `ins` (SQ_W_INSERT's), inside the caller's transaction: a job whose
 * unique key is live is not inserted, ids[i] is that job and duplicate[i]
 * (may be NULL) is set. Statements are left reset. */
int sq_insert_jobs(sqlite3 *db, sqlite3_stmt *find, sqlite3_stmt *ins, const store_new_job *jobs,
                   size_t n, int64_t now_ms, int64_t *ids, bool *duplicate);

int sq_enqueue(store *s, const store_new_job *jobs, size_t n, int64_t now_ms, int64_t *ids,
               bool *duplicate);
int sq_enqueue_native(void *native, const store_new_job *jobs, size_t n, int64_t now_ms,
                      int64_t *ids, bool *duplicate);
int sq_claim(store *s, const store_claim_req *req, int64_t now_ms, store_claimed **out, size_t *n);
void sq_claim_cache_clear(store *s);
int sq_finish(store *s, const store_outcome *outs, size_t n, int64_t now_ms, bool *applied);
int sq_heartbeat(store *s, const store_lease *leases, size_t n, int64_t now_ms, int64_t lease_ms,
                 bool *applied);
int sq_rescue(store *s, int64_t now_ms, int64_t *rescued);
int sq_prune(store *s, int64_t before_ms, int64_t *pruned);
int sq_admin(store *s, store_admin_op op, int64_t id, int64_t now_ms);
int sq_next_run_at(store *s, int64_t *out);
int sq_change_counter(store *s, int64_t *out);
int sq_get(store *s, int64_t id, chore_job_info **out);
int sq_list(store *s, const chore_list_query *q, chore_job_info **out, size_t *n,
            int64_t *next_cursor);
int sq_count_by_state(store *s, int64_t counts[CHORE_STATE_COUNT]);
int sq_count_by_name(store *s, chore_name_counts **out, size_t *n);

/* ---- schedules (sqlite_schedules.c) */

int sq_schedule_put(store *s, const store_schedule *sc, int64_t now_ms);
int sq_schedule_remove(store *s, const char *name);
int sq_schedule_set_paused(store *s, const char *name, bool paused, int64_t now_ms);
int sq_schedule_list(store *s, store_schedule **out, size_t *n);
int sq_schedule_get(store *s, const char *name, store_schedule **out);
int sq_schedule_fire(store *s, const store_fire *fires, size_t n, int64_t now_ms,
                     store_fire_result *results);
int sq_schedule_release_pending(store *s, int64_t now_ms, size_t *enqueued);
int sq_schedule_version(store *s, int64_t *out);

/* ---- loop locks (sqlite_locks.c) */

int sq_lock_acquire(store *s, const char *name, const char *owner, int64_t now_ms, int64_t ttl_ms,
                    bool *held);
int sq_lock_release(store *s, const char *name, const char *owner);

#endif /* CHORE_SQLITE_INTERNAL_H */
