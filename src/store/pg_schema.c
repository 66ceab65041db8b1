/*
 * pg_schema.c — the PostgreSQL schema and its migrations.
 *
 * All of chore's tables live in one schema of their own (the store URL's
 * schema=, default "chore"), so they never mix with the program's. The
 * version lives in that schema's chore_meta table. Migrations run in one
 * transaction holding a transaction-level advisory lock keyed by the
 * schema's name: nodes starting together wait for the first one, then
 * find the schema current and migrate nothing.
 */
#include <stdio.h>
#include <stdlib.h>

#include "store/pg_internal.h"

/* Migration i takes the schema from version i to version i+1. Never edit
 * a released one: add a new one. Times are bigint ms; states are
 * chore_state numbers, as in the SQLite backend. */
static const char *const migrations[PG_SCHEMA_VERSION] = {
    /* 0 -> 1 */
    "CREATE TABLE chore_jobs ("
    " id bigserial PRIMARY KEY," /* ids are never reused */
    " name text NOT NULL,"
    " queue text NOT NULL,"
    " payload text NOT NULL," /* kept as given: jsonb would reformat it */
    " state smallint NOT NULL,"
    " priority int NOT NULL,"
    " run_at bigint NOT NULL,"
    " attempt int NOT NULL DEFAULT 0,"
    " max_attempts int NOT NULL,"
    " token bigint NOT NULL DEFAULT 0," /* +1 on every claim and cancel */
    " lease_until bigint,"              /* running: lease end; suspended: deadline */
    " timeout_ms bigint NOT NULL,"
    " unique_key text,"
    " created_at bigint NOT NULL,"
    " attempted_at bigint,"
    " finished_at bigint,"
    " errors jsonb," /* [{attempt, at, error}], oldest first */
    " result text"   /* a completed job's JSON result */
    ");"
    "CREATE INDEX chore_jobs_available ON chore_jobs(priority, run_at, id) WHERE state = 1;"
    "CREATE INDEX chore_jobs_scheduled ON chore_jobs(run_at) WHERE state = 0;"
    "CREATE INDEX chore_jobs_leased ON chore_jobs(lease_until) WHERE state IN (2, 3);"
    "CREATE INDEX chore_jobs_final ON chore_jobs(finished_at) WHERE state >= 4;"
    "CREATE UNIQUE INDEX chore_jobs_unique ON chore_jobs(unique_key)"
    " WHERE unique_key IS NOT NULL AND state < 4;"
    "CREATE TABLE chore_schedules ("
    " name text PRIMARY KEY,"
    " expr text NOT NULL,"
    " zone text NOT NULL,"
    " job_name text NOT NULL,"
    " payload text NOT NULL,"
    " queue text NOT NULL,"
    " priority int NOT NULL,"
    " max_attempts int NOT NULL,"
    " timeout_ms bigint NOT NULL,"
    " missed int NOT NULL,"
    " missed_cap int NOT NULL,"
    " overlap int NOT NULL,"
    " paused boolean NOT NULL,"
    " last_slot_ms bigint NOT NULL,"
    " last_job_id bigint NOT NULL DEFAULT 0,"
    " pending_slot_ms bigint NOT NULL DEFAULT 0,"
    " created_at bigint NOT NULL,"
    " updated_at bigint NOT NULL"
    ");"
    "CREATE TABLE chore_locks ("
    " name text PRIMARY KEY,"
    " owner text NOT NULL,"
    " expires_at bigint NOT NULL"
    ");"
    /* Advanced after every committed write by version-1 libraries; later
     * ones only read it (change_counter), so mixed versions see each other. */
    "CREATE SEQUENCE chore_changes;"
    "INSERT INTO chore_meta(key, value) VALUES('schedules_version', 0);",
};

/* The stored schema version; 0 for a schema chore never used. */
static int read_version(PGconn *c, int64_t *version)
{
    PGresult *res = PQexec(c, "SELECT value FROM chore_meta WHERE key = 'schema_version'");
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return pg_fail(c, res);
    *version = PQntuples(res) > 0 ? pg_get_i64(res, 0, 0) : 0;
    PQclear(res);
    return CHORE_OK;
}

static int migrate_locked(PGconn *c, const char *schema)
{
    char sql[PG_SCHEMA_MAX + 128];
    snprintf(sql, sizeof sql, "CREATE SCHEMA IF NOT EXISTS \"%s\"", schema);
    int rc = pg_exec(c, sql);
    if (rc == CHORE_OK)
        rc = pg_exec(c, "CREATE TABLE IF NOT EXISTS chore_meta("
                        "key text PRIMARY KEY, value bigint NOT NULL)");
    int64_t version = 0;
    if (rc == CHORE_OK)
        rc = read_version(c, &version);
    if (rc != CHORE_OK)
        return rc;
    if (version > PG_SCHEMA_VERSION || version < 0)
        return pg_fail_msg(CHORE_EVERSION, "store schema is newer than this library");
    for (int64_t v = version; v < PG_SCHEMA_VERSION; v++) {
        if ((rc = pg_exec(c, migrations[v])) != CHORE_OK)
            return rc;
    }
    if (version == PG_SCHEMA_VERSION)
        return CHORE_OK;
    snprintf(sql, sizeof sql,
             "INSERT INTO chore_meta(key, value) VALUES('schema_version', %d)"
             " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
             PG_SCHEMA_VERSION);
    return pg_exec(c, sql);
}

/* Create or migrate the schema: see pg_internal.h. */
int pg_schema_migrate(PGconn *c, const char *schema)
{
    int rc = pg_exec(c, "BEGIN");
    if (rc != CHORE_OK)
        return rc;
    const char *params[1] = {schema};
    PGresult *res = PQexecParams(c, "SELECT pg_advisory_xact_lock(hashtext('chore:' || $1))", 1,
                                 NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = pg_fail(c, res);
    else
        PQclear(res);
    if (rc == CHORE_OK)
        rc = migrate_locked(c, schema);
    if (rc == CHORE_OK)
        rc = pg_exec(c, "COMMIT");
    if (rc != CHORE_OK) {
        res = PQexec(c, "ROLLBACK");
        PQclear(res);
    }
    return rc;
}
