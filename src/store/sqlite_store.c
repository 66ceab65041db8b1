/*
 * sqlite_store.c — the SQLite backend's frame: opening and closing the two
 * connections, the cached statements, transactions, errors, and the ops
 * table. The job operations live in sqlite_jobs.c, sqlite_claim.c and
 * sqlite_read.c, the schedules in sqlite_schedules.c, the loop locks in
 * sqlite_locks.c; the schema in sqlite_schema.c; the shared fdatasync that
 * makes durable writes durable in sqlite_flush.c.
 *
 * One writer connection behind wmu carries every write (BEGIN IMMEDIATE);
 * one read connection behind rmu serves get, list, counts, next_run_at and
 * change_counter, and in WAL mode reads while the writer writes. Both are
 * opened SQLITE_OPEN_NOMUTEX since our own mutexes already serialise them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"

/* ---------------------------------------------------------------- errors */

/* Per thread, so that a message is never overwritten by another thread's
 * failure before its own caller reads it; enqueue_native has no store. */
static _Thread_local char last_error[256];

int sq_code(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return CHORE_OK;
    case SQLITE_NOMEM:
        return CHORE_ENOMEM;
    default:
        return CHORE_ESTORE;
    }
}

int sq_fail_msg(int code, const char *msg)
{
    snprintf(last_error, sizeof last_error, "%s", msg != NULL ? msg : "");
    return code;
}

int sq_fail(sqlite3 *db, int rc)
{
    int code = sq_code(rc);
    if (code == CHORE_OK)
        code = CHORE_ESTORE; /* a step that returned an unexpected row */
    const char *msg = db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    snprintf(last_error, sizeof last_error, "sqlite: %s", msg != NULL ? msg : "error");
    return code;
}

const char *sq_last_error(void)
{
    return last_error;
}

/* ---------------------------------------------------------------- statements */

/* Append {attempt, at: ?3, error: ?5} to the errors array. */
#define ERR_APPEND                                                                                 \
    "errors = json_insert(coalesce(errors, '[]'), '$[#]',"                                         \
    " json_object('attempt', attempt, 'at', ?3, 'error', coalesce(?5, '')))"

/* Finish statements all take ?1 id, ?2 token, ?3 now, ?4 run_at, ?5 error,
 * ?6 result. */
static const char *const wsql[SQ_W_COUNT] = {
    [SQ_W_BEGIN] = "BEGIN IMMEDIATE",
    [SQ_W_COMMIT] = "COMMIT",
    [SQ_W_ROLLBACK] = "ROLLBACK",
    [SQ_W_FIND_UNIQUE] = "SELECT id FROM chore_jobs WHERE unique_key = ?1 AND state < 4",
    [SQ_W_INSERT] = "INSERT INTO chore_jobs(name, queue, payload, state, priority, run_at,"
                    " max_attempts, timeout_ms, unique_key, created_at)"
                    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [SQ_W_PROMOTE] = "UPDATE chore_jobs SET state = 1 WHERE state = 0 AND run_at <= ?1",
    [SQ_W_FIN_COMPLETE] = "UPDATE chore_jobs SET state = 4, finished_at = ?3, lease_until = NULL,"
                          " result = ?6 WHERE id = ?1 AND token = ?2 AND state IN (2, 3)",
    [SQ_W_FIN_RETRY] = "UPDATE chore_jobs SET state = CASE WHEN ?4 <= ?3 THEN 1 ELSE 0 END,"
                       " run_at = ?4, lease_until = NULL, " ERR_APPEND
                       " WHERE id = ?1 AND token = ?2 AND state IN (2, 3)",
    [SQ_W_FIN_DISCARD] = "UPDATE chore_jobs SET state = 5, finished_at = ?3, lease_until = NULL,"
                         " " ERR_APPEND " WHERE id = ?1 AND token = ?2 AND state IN (2, 3)",
    [SQ_W_FIN_SNOOZE] = "UPDATE chore_jobs SET state = CASE WHEN ?4 <= ?3 THEN 1 ELSE 0 END,"
                        " run_at = ?4, attempt = attempt - 1, lease_until = NULL"
                        " WHERE id = ?1 AND token = ?2 AND state = 2",
    [SQ_W_FIN_SUSPEND] = "UPDATE chore_jobs SET state = 3, lease_until = ?4"
                         " WHERE id = ?1 AND token = ?2 AND state = 2",
    /* run_at is kept: the job goes back to its place in line (a job
     * claimed ahead of its run time goes back to waiting for it). */
    [SQ_W_FIN_RELEASE] = "UPDATE chore_jobs SET state = CASE WHEN run_at > ?3 THEN 0 ELSE 1 END,"
                         " attempt = attempt - 1,"
                         " lease_until = NULL"
                         " WHERE id = ?1 AND token = ?2 AND state = 2",
    [SQ_W_HEARTBEAT] = "UPDATE chore_jobs SET lease_until = ?3"
                       " WHERE id = ?1 AND token = ?2 AND state = 2",
    [SQ_W_RESCUE] =
        "UPDATE chore_jobs SET"
        " errors = json_insert(coalesce(errors, '[]'), '$[#]',"
        "  json_object('attempt', attempt, 'at', ?1, 'error',"
        "   CASE WHEN state = 2 THEN 'lease expired' ELSE 'deferred deadline passed' END)),"
        " state = CASE WHEN max_attempts > 0 AND attempt >= max_attempts THEN 5 ELSE 1 END,"
        " finished_at = CASE WHEN max_attempts > 0 AND attempt >= max_attempts THEN ?1 END,"
        " run_at = CASE WHEN max_attempts > 0 AND attempt >= max_attempts THEN run_at"
        "  ELSE ?1 END,"
        " lease_until = NULL"
        " WHERE state IN (2, 3) AND lease_until <= ?1",
    [SQ_W_PRUNE] = "DELETE FROM chore_jobs WHERE state >= 4 AND finished_at < ?1",
    [SQ_W_ADMIN_STATE] = "SELECT state FROM chore_jobs WHERE id = ?1",
    /* A result belongs to the run that completed: a new run starts without. */
    [SQ_W_ADMIN_RETRY] = "UPDATE chore_jobs SET state = 1, run_at = ?2, finished_at = NULL,"
                         " lease_until = NULL, result = NULL, max_attempts = CASE"
                         "  WHEN max_attempts > 0 AND attempt >= max_attempts THEN attempt + 1"
                         "  ELSE max_attempts END"
                         " WHERE id = ?1",
    [SQ_W_ADMIN_CANCEL] = "UPDATE chore_jobs SET state = 6, finished_at = ?2,"
                          " token = token + 1, lease_until = NULL WHERE id = ?1",
    /* token + 1: a deferred job's late chore_job_done must not complete it. */
    [SQ_W_ADMIN_REQUEUE] = "UPDATE chore_jobs SET state = 1, run_at = ?2, attempt = 0,"
                           " errors = NULL, finished_at = NULL, lease_until = NULL,"
                           " result = NULL, token = token + 1 WHERE id = ?1",
    [SQ_W_ADMIN_DELETE] = "DELETE FROM chore_jobs WHERE id = ?1",
    /* Lets every process notice schedule edits with one cheap read. */
    [SQ_W_SCHED_BUMP_VERSION] = "INSERT INTO chore_meta(key, value) VALUES('schedules_version', 1)"
                                " ON CONFLICT(key) DO UPDATE SET value = value + 1",
    /* Schedules (sqlite_schedules.c). An update keeps the slot history:
     * last_slot_ms, last_job_id, pending_slot_ms, paused, created_at. */
    [SQ_W_SCHED_PUT] =
        "INSERT INTO chore_schedules(name, expr, zone, job_name, payload, queue, priority,"
        " max_attempts, timeout_ms, missed, missed_cap, overlap, paused, last_slot_ms,"
        " created_at, updated_at)"
        " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15)"
        " ON CONFLICT(name) DO UPDATE SET expr = excluded.expr, zone = excluded.zone,"
        " job_name = excluded.job_name, payload = excluded.payload, queue = excluded.queue,"
        " priority = excluded.priority, max_attempts = excluded.max_attempts,"
        " timeout_ms = excluded.timeout_ms, missed = excluded.missed,"
        " missed_cap = excluded.missed_cap, overlap = excluded.overlap,"
        " updated_at = excluded.updated_at",
    [SQ_W_SCHED_REMOVE] = "DELETE FROM chore_schedules WHERE name = ?1",
    [SQ_W_SCHED_PAUSE] = "UPDATE chore_schedules SET paused = ?2, updated_at = ?3 WHERE name = ?1",
    /* The last column: is the last fire's job live ("busy")? A deleted job is not. */
    [SQ_W_SCHED_FIRE_READ] =
        "SELECT paused, last_slot_ms, last_job_id, pending_slot_ms, overlap, job_name, payload,"
        " queue, priority, max_attempts, timeout_ms,"
        " EXISTS(SELECT 1 FROM chore_jobs WHERE id = last_job_id AND state < 4)"
        " FROM chore_schedules WHERE name = ?1",
    [SQ_W_SCHED_FIRE_SET] = "UPDATE chore_schedules SET last_slot_ms = ?2, last_job_id = ?3,"
                            " pending_slot_ms = ?4 WHERE name = ?1",
    /* The next releasable schedule after ?1 by name: a pending slot, not
     * paused, and its last job final or gone. */
    [SQ_W_SCHED_PENDING_NEXT] =
        "SELECT name, pending_slot_ms, job_name, payload, queue, priority, max_attempts,"
        " timeout_ms FROM chore_schedules AS sc"
        " WHERE pending_slot_ms != 0 AND name > ?1 AND paused = 0"
        " AND NOT EXISTS(SELECT 1 FROM chore_jobs WHERE id = sc.last_job_id AND state < 4)"
        " ORDER BY name LIMIT 1",
    [SQ_W_SCHED_RELEASE] = "UPDATE chore_schedules SET last_job_id = ?2, pending_slot_ms = 0"
                           " WHERE name = ?1",
    /* Loop locks (sqlite_locks.c): ?1 name, ?2 owner, ?3 now, ?4 expiry.
     * The row is taken when absent, expired, or already ?2's; otherwise
     * the WHERE leaves it as it is. */
    [SQ_W_LOCK_TAKE] = "INSERT INTO chore_locks(name, owner, expires_at) VALUES(?1, ?2, ?4)"
                       " ON CONFLICT(name) DO UPDATE SET owner = excluded.owner,"
                       " expires_at = excluded.expires_at"
                       " WHERE chore_locks.owner = excluded.owner OR chore_locks.expires_at <= ?3",
    [SQ_W_LOCK_OWNER] = "SELECT owner FROM chore_locks WHERE name = ?1",
    [SQ_W_LOCK_RELEASE] = "DELETE FROM chore_locks WHERE name = ?1 AND owner = ?2",
};

#define JOB_COLUMNS                                                                                \
    "id, name, queue, payload, unique_key, state, priority, attempt, max_attempts,"                \
    " timeout_ms, created_at, run_at, attempted_at, finished_at, lease_until"

/* In the order of store_schedule's fields (see sqlite_schedules.c). */
#define SCHEDULE_COLUMNS                                                                           \
    "name, expr, zone, job_name, payload, queue, priority, max_attempts, timeout_ms, missed,"      \
    " missed_cap, overlap, paused, last_slot_ms, last_job_id, pending_slot_ms, created_at,"        \
    " updated_at"

static const char *const rsql[SQ_R_COUNT] = {
    [SQ_R_GET] = "SELECT " JOB_COLUMNS ", errors, result FROM chore_jobs WHERE id = ?1",
    [SQ_R_LIST] = "SELECT " JOB_COLUMNS " FROM chore_jobs"
                  " WHERE id < ?1 AND (?2 IS NULL OR state = ?2) AND (?3 IS NULL OR name = ?3)"
                  " ORDER BY id DESC LIMIT ?4",
    [SQ_R_COUNT_BY_STATE] = "SELECT state, count(*) FROM chore_jobs GROUP BY state",
    /* Ordered by name so that each name's rows come together. */
    [SQ_R_COUNT_BY_NAME] = "SELECT name, state, count(*) FROM chore_jobs GROUP BY name, state"
                           " ORDER BY name, state",
    [SQ_R_NEXT_RUN_AT] = "SELECT min(run_at) FROM chore_jobs WHERE state = 0",
    [SQ_R_DATA_VERSION] = "PRAGMA data_version",
    [SQ_R_SCHED_LIST] = "SELECT " SCHEDULE_COLUMNS " FROM chore_schedules ORDER BY name",
    [SQ_R_SCHED_GET] = "SELECT " SCHEDULE_COLUMNS " FROM chore_schedules WHERE name = ?1",
    [SQ_R_SCHED_VERSION] = "SELECT coalesce((SELECT value FROM chore_meta"
                           " WHERE key = 'schedules_version'), 0)",
};

static sqlite3_stmt *cached_stmt(sqlite3 *db, sqlite3_stmt **slot, const char *sql, int *rc)
{
    if (*slot == NULL) {
        int prc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL);
        if (prc != SQLITE_OK) {
            *rc = sq_fail(db, prc);
            sqlite3_finalize(*slot);
            *slot = NULL;
            return NULL;
        }
    }
    *rc = CHORE_OK;
    return *slot;
}

sqlite3_stmt *sq_wstmt(store *s, enum sq_wstmt which, int *rc)
{
    return cached_stmt(s->w, &s->ws[which], wsql[which], rc);
}

sqlite3_stmt *sq_rstmt(store *s, enum sq_rstmt which, int *rc)
{
    return cached_stmt(s->r, &s->rs[which], rsql[which], rc);
}

int sq_step_done(sqlite3 *db, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    int out = rc == SQLITE_DONE ? CHORE_OK : sq_fail(db, rc);
    sqlite3_reset(st);
    return out;
}

char *sq_column_strdup(sqlite3_stmt *st, int col, int *rc)
{
    *rc = CHORE_OK;
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return NULL;
    const unsigned char *text = sqlite3_column_text(st, col);
    int len = sqlite3_column_bytes(st, col);
    char *copy = text != NULL ? malloc((size_t)len + 1) : NULL;
    if (copy == NULL) {
        *rc = sq_fail_msg(CHORE_ENOMEM, "out of memory");
        return NULL;
    }
    memcpy(copy, text, (size_t)len);
    copy[len] = '\0';
    return copy;
}

/* ---------------------------------------------------------------- transactions */

void sq_rollback(store *s)
{
    if (sqlite3_get_autocommit(s->w))
        return; /* SQLite already rolled back (or nothing was begun) */
    int rc;
    sqlite3_stmt *st = sq_wstmt(s, SQ_W_ROLLBACK, &rc);
    if (st != NULL) {
        sqlite3_step(st);
        sqlite3_reset(st);
    }
    if (!sqlite3_get_autocommit(s->w)) /* the cached statement could not run */
        sqlite3_exec(s->w, "ROLLBACK", NULL, NULL, NULL);
}

int sq_begin(store *s)
{
    int rc;
    sq_rollback(s); /* a transaction a past failure could not end */
    sqlite3_stmt *st = sq_wstmt(s, SQ_W_BEGIN, &rc);
    if (st == NULL)
        return rc;
    return sq_step_done(s->w, st);
}

int sq_commit(store *s)
{
    int rc;
    sqlite3_stmt *st = sq_wstmt(s, SQ_W_COMMIT, &rc);
    if (st != NULL)
        rc = sq_step_done(s->w, st);
    if (rc != CHORE_OK)
        sq_rollback(s);
    return rc;
}

/* One transaction around body, with wmu held. */
static int write_locked(store *s, int (*body)(store *s, void *arg), void *arg)
{
    int rc = sq_begin(s);
    if (rc == CHORE_OK)
        rc = body(s, arg);
    if (rc == CHORE_OK)
        rc = sq_commit(s);
    else
        sq_rollback(s);
    return rc;
}

/* A write transaction under wmu; with full durability it returns once the
 * commit is on disk, flushed after wmu is let go so others can commit. */
int sq_write(store *s, int (*body)(store *s, void *arg), void *arg)
{
    pthread_mutex_lock(&s->wmu);
    int rc = write_locked(s, body, arg);
    uint64_t seq = rc == CHORE_OK && s->full_sync ? sq_flush_committed(&s->flush) : 0;
    pthread_mutex_unlock(&s->wmu);
    return seq != 0 ? sq_flush_to(s, seq) : rc;
}

int sq_write_unsynced(store *s, int (*body)(store *s, void *arg), void *arg)
{
    pthread_mutex_lock(&s->wmu);
    int rc = write_locked(s, body, arg);
    pthread_mutex_unlock(&s->wmu);
    return rc;
}

/* ---------------------------------------------------------------- open/close */

/* How long a connection waits for another process's lock. */
enum { BUSY_TIMEOUT_MS = 5000 };

static void open_error(char *err, size_t errlen, const char *what)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", what);
}

/* Open one connection to path with the settings every connection gets. */
static int open_conn(sqlite3 **out, const char *path, bool writer)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(
        path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        int code = db != NULL ? sq_fail(db, rc) : sq_fail(NULL, rc);
        sqlite3_close(db);
        *out = NULL;
        return code;
    }
    *out = db;
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    if (writer) {
        /* journal_mode answers with the mode now in force. */
        sqlite3_stmt *st = NULL;
        rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
        /* Two processes opening a new file at once: the switch to WAL can
         * answer BUSY without going through the busy handler, so wait here. */
        for (int waited_ms = 0; rc == SQLITE_OK; waited_ms++) {
            rc = sqlite3_step(st);
            if (rc != SQLITE_BUSY || waited_ms >= BUSY_TIMEOUT_MS)
                break;
            sqlite3_reset(st);
            sqlite3_sleep(1);
            rc = SQLITE_OK;
        }
        if (rc != SQLITE_ROW) {
            int code = sq_fail(db, rc);
            sqlite3_finalize(st);
            return code;
        }
        const unsigned char *mode = sqlite3_column_text(st, 0);
        bool wal = mode != NULL && sqlite3_stricmp((const char *)mode, "wal") == 0;
        sqlite3_finalize(st);
        if (!wal)
            return sq_fail_msg(CHORE_ESTORE, "sqlite: could not switch the file to WAL mode");
    }
    /* No fsync in a commit: with full durability sq_write flushes the WAL
     * after the write lock is let go (sqlite_flush.c). */
    rc = sqlite3_exec(db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "PRAGMA temp_store = MEMORY; PRAGMA cache_size = -16384", NULL, NULL,
                          NULL);
    if (rc == SQLITE_OK && !writer)
        rc = sqlite3_exec(db, "PRAGMA query_only = 1", NULL, NULL, NULL);
    return rc == SQLITE_OK ? CHORE_OK : sq_fail(db, rc);
}

static void sqlite_close(store *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < SQ_R_COUNT; i++)
        sqlite3_finalize(s->rs[i]);
    for (int i = 0; i < SQ_W_COUNT; i++)
        sqlite3_finalize(s->ws[i]);
    sq_claim_cache_clear(s);
    /* The reader first: the last connection to close checkpoints the WAL. */
    sqlite3_close(s->r);
    sqlite3_close(s->w);
    sq_flush_destroy(&s->flush);
    pthread_mutex_destroy(&s->rmu);
    pthread_mutex_destroy(&s->wmu);
    free(s);
}

static int sqlite_open(store **out, const char *location, chore_durability durability, char *err,
                       size_t errlen)
{
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (out == NULL)
        return CHORE_EINVAL;
    *out = NULL;
    if (location == NULL || location[0] == '\0') {
        open_error(err, errlen, "sqlite: no file path given");
        return sq_fail_msg(CHORE_EINVAL, "sqlite: no file path given");
    }
    if (durability != CHORE_DURABLE_FULL && durability != CHORE_DURABLE_PROCESS) {
        open_error(err, errlen, "sqlite: unknown durability");
        return sq_fail_msg(CHORE_EINVAL, "sqlite: unknown durability");
    }
    store *s = calloc(1, sizeof *s);
    if (s == NULL) {
        open_error(err, errlen, "out of memory");
        return sq_fail_msg(CHORE_ENOMEM, "out of memory");
    }
    bool w_ok = pthread_mutex_init(&s->wmu, NULL) == 0;
    bool r_ok = w_ok && pthread_mutex_init(&s->rmu, NULL) == 0;
    if (!r_ok || sq_flush_init(&s->flush) != CHORE_OK) {
        if (r_ok)
            pthread_mutex_destroy(&s->rmu);
        if (w_ok)
            pthread_mutex_destroy(&s->wmu);
        free(s);
        open_error(err, errlen, "sqlite: could not create a mutex");
        return sq_fail_msg(CHORE_ESTORE, "sqlite: could not create a mutex");
    }
    s->full_sync = durability == CHORE_DURABLE_FULL;
    int rc = open_conn(&s->w, location, true);
    if (rc == CHORE_OK)
        rc = sq_schema_migrate(s->w);
    if (rc == CHORE_OK)
        rc = open_conn(&s->r, location, false);
    if (rc != CHORE_OK) {
        open_error(err, errlen, sq_last_error());
        sqlite_close(s);
        return rc;
    }
    *out = s;
    return CHORE_OK;
}

static const char *sqlite_errmsg(store *s)
{
    (void)s;
    return sq_last_error();
}

const store_ops sqlite_store_ops = {
    .version = STORE_INTERFACE_VERSION,
    .name = "sqlite",
    .open = sqlite_open,
    .close = sqlite_close,
    .errmsg = sqlite_errmsg,
    .enqueue = sq_enqueue,
    .enqueue_native = sq_enqueue_native,
    .claim = sq_claim,
    .finish = sq_finish,
    .heartbeat = sq_heartbeat,
    .rescue = sq_rescue,
    .prune = sq_prune,
    .next_run_at = sq_next_run_at,
    .change_counter = sq_change_counter,
    .get = sq_get,
    .list = sq_list,
    .admin = sq_admin,
    .count_by_state = sq_count_by_state,
    .count_by_name = sq_count_by_name,
    .schedule_put = sq_schedule_put,
    .schedule_remove = sq_schedule_remove,
    .schedule_set_paused = sq_schedule_set_paused,
    .schedule_list = sq_schedule_list,
    .schedule_get = sq_schedule_get,
    .schedule_fire = sq_schedule_fire,
    .schedule_release_pending = sq_schedule_release_pending,
    .schedule_version = sq_schedule_version,
    .lock_acquire = sq_lock_acquire,
    .lock_release = sq_lock_release,
    .set_wake = NULL, /* data_version polling is cheap: nothing to wake */
};
