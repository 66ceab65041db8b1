/*
 * sqlite_schema.c — the SQLite schema and its migrations.
 *
 * The version lives in the table chore_meta, not in PRAGMA user_version:
 * chore_enqueue_tx means chore's tables often share a file with the
 * program's own, and user_version belongs to the program.
 *
 * Indexes are few and partial, because every index is written on every
 * state change of a job: each job row is written about three times
 * (insert, claim, finish) and each of those touches at most two of them.
 */
#include <stddef.h>

#include "store/sqlite_internal.h"

/* Migration i takes the schema from version i to version i+1. Never edit
 * a released one: add a new one. */
static const char *const migrations[SQ_SCHEMA_VERSION] = {
    /* 0 -> 1 */
    "CREATE TABLE chore_jobs ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT," /* ids are never reused */
    " name TEXT NOT NULL,"
    " queue TEXT NOT NULL,"
    " payload TEXT NOT NULL,"
    " state INTEGER NOT NULL," /* chore_state */
    " priority INTEGER NOT NULL,"
    " run_at INTEGER NOT NULL,"
    " attempt INTEGER NOT NULL DEFAULT 0,"
    " max_attempts INTEGER NOT NULL,"
    " token INTEGER NOT NULL DEFAULT 0," /* +1 on every claim and cancel */
    " lease_until INTEGER,"              /* running: lease end; suspended: deadline */
    " timeout_ms INTEGER NOT NULL,"
    " unique_key TEXT,"
    " created_at INTEGER NOT NULL,"
    " attempted_at INTEGER,"
    " finished_at INTEGER,"
    " errors TEXT" /* JSON [{attempt, at, error}], oldest first */
    ");"
    /* Claim order per name; rowid (id) is the implicit last column. Per
     * name, so that jobs nobody here handles cost a claim nothing. */
    "CREATE INDEX chore_jobs_available ON chore_jobs(name, priority, run_at) WHERE state = 1;"
    /* Promotion of due jobs, next_run_at. */
    "CREATE INDEX chore_jobs_scheduled ON chore_jobs(run_at) WHERE state = 0;"
    /* Rescue of expired leases and deadlines. */
    "CREATE INDEX chore_jobs_leased ON chore_jobs(lease_until) WHERE state IN (2, 3);"
    /* Pruning; without it every prune reads the whole table. */
    "CREATE INDEX chore_jobs_final ON chore_jobs(finished_at) WHERE state >= 4;"
    "CREATE UNIQUE INDEX chore_jobs_unique ON chore_jobs(unique_key)"
    " WHERE unique_key IS NOT NULL AND state < 4;",

    /* 1 -> 2: cron schedules (store_schedule). last_slot_ms is the slot
     * compare-and-set that makes each slot fire once; 0 in last_job_id
     * and pending_slot_ms means none. */
    "CREATE TABLE chore_schedules ("
    " name TEXT PRIMARY KEY,"
    " expr TEXT NOT NULL,"
    " zone TEXT NOT NULL,"
    " job_name TEXT NOT NULL,"
    " payload TEXT NOT NULL,"
    " queue TEXT NOT NULL,"
    " priority INTEGER NOT NULL,"
    " max_attempts INTEGER NOT NULL,"
    " timeout_ms INTEGER NOT NULL,"
    " missed INTEGER NOT NULL," /* chore_missed */
    " missed_cap INTEGER NOT NULL,"
    " overlap INTEGER NOT NULL," /* chore_overlap */
    " paused INTEGER NOT NULL,"
    " last_slot_ms INTEGER NOT NULL,"
    " last_job_id INTEGER NOT NULL DEFAULT 0,"
    " pending_slot_ms INTEGER NOT NULL DEFAULT 0,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    /* release_pending visits only the schedules with a waiting slot. */
    "CREATE INDEX chore_schedules_pending ON chore_schedules(name)"
    " WHERE pending_slot_ms != 0;",

    /* 2 -> 3: loop locks (store lock_acquire / lock_release), one lease
     * row per lock: held by `owner` until expires_at (ms), free after. */
    "CREATE TABLE chore_locks ("
    " name TEXT PRIMARY KEY,"
    " owner TEXT NOT NULL,"
    " expires_at INTEGER NOT NULL"
    ") WITHOUT ROWID;",

    /* 3 -> 4: a completed job's JSON result (STORE_COMPLETE's result);
     * NULL when none. New files get it here too, right after the table. */
    "ALTER TABLE chore_jobs ADD COLUMN result TEXT;",
};

static int exec(sqlite3 *db, const char *sql)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? CHORE_OK : sq_fail(db, rc);
}

/* The stored schema version; 0 for a file chore never used. */
static int read_version(sqlite3 *db, int64_t *version)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "SELECT value FROM chore_meta WHERE key = 'schema_version'", -1,
                                &st, NULL);
    if (rc != SQLITE_OK)
        return sq_fail(db, rc);
    *version = 0;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *version = sqlite3_column_int64(st, 0);
        rc = sqlite3_step(st);
    }
    int out = rc == SQLITE_DONE ? CHORE_OK : sq_fail(db, rc);
    sqlite3_finalize(st);
    return out;
}

static int migrate_locked(sqlite3 *db)
{
    int rc = exec(db, "CREATE TABLE IF NOT EXISTS chore_meta("
                      "key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID");
    if (rc != CHORE_OK)
        return rc;
    int64_t version = 0;
    if ((rc = read_version(db, &version)) != CHORE_OK)
        return rc;
    if (version > SQ_SCHEMA_VERSION || version < 0)
        return sq_fail_msg(CHORE_EVERSION, "store schema is newer than this library");
    if (version == SQ_SCHEMA_VERSION)
        return CHORE_OK;
    for (int64_t v = version; v < SQ_SCHEMA_VERSION; v++) {
        if ((rc = exec(db, migrations[v])) != CHORE_OK)
            return rc;
    }
    char sql[128];
    sqlite3_snprintf(sizeof sql, sql,
                     "INSERT OR REPLACE INTO chore_meta(key, value)"
                     " VALUES('schema_version', %d)",
                     SQ_SCHEMA_VERSION);
    return exec(db, sql);
}

/* Create or migrate the schema: see sqlite_internal.h. BEGIN IMMEDIATE
 * makes two processes opening one new file at once migrate it once. */
int sq_schema_migrate(sqlite3 *db)
{
    int rc = exec(db, "BEGIN IMMEDIATE");
    if (rc != CHORE_OK)
        return rc;
    rc = migrate_locked(db);
    if (rc == CHORE_OK)
        rc = exec(db, "COMMIT");
    if (rc != CHORE_OK && !sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}
