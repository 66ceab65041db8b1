/*
 * pg_sql.c — the SQL of the PostgreSQL backend's prepared statements.
 *
 * Table names are unqualified: every pooled connection's search_path is
 * the store's schema. Parameters are sent as text and cast here, so that
 * a statement never depends on type inference. Times are bigint ms passed
 * in by the caller (the runtime's clock), as in the SQLite backend, except
 * lease_until and the locks' expires_at, which are in database time (see
 * pg_clock.c).
 *
 * Claims, rescues and prunes pick their rows with FOR UPDATE SKIP LOCKED:
 * nodes claiming at once take different jobs instead of waiting for each
 * other, and a sweep never waits on (or deadlocks with) a batch being
 * finished.
 */
#include "store/pg_internal.h"

/* Append {attempt, at, error} to the errors array. */
#define ERR_APPEND(at, err)                                                                        \
    "errors = coalesce(errors, '[]'::jsonb) || jsonb_build_array(jsonb_build_object("             \
    "'attempt', attempt, 'at', " at "::bigint, 'error', coalesce(" err "::text, '')))"

#define JOB_COLUMNS                                                                                \
    "id, name, queue, payload, unique_key, state, priority, attempt, max_attempts,"                \
    " timeout_ms, created_at, run_at, attempted_at, finished_at, lease_until"

/* In the order of store_schedule's fields. */
#define SCHEDULE_COLUMNS                                                                           \
    "name, expr, zone, job_name, payload, queue, priority, max_attempts, timeout_ms, missed,"      \
    " missed_cap, overlap, paused, last_slot_ms, last_job_id, pending_slot_ms, created_at,"        \
    " updated_at"

const char *const pg_sql[PG_S_COUNT] = {
    /* $1 name, $2 queue, $3 payload, $4 state, $5 priority, $6 run_at,
     * $7 max_attempts, $8 timeout_ms, $9 unique_key, $10 now. A live job
     * with the key makes it insert nothing (and wait for an uncommitted
     * one to commit or roll back first). */
    [PG_S_INSERT] = "INSERT INTO chore_jobs(name, queue, payload, state, priority, run_at,"
                    " max_attempts, timeout_ms, unique_key, created_at)"
                    " VALUES($1::text, $2::text, $3::text, $4::smallint, $5::int, $6::bigint,"
                    " $7::int, $8::bigint, $9::text, $10::bigint)"
                    " ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL AND state < 4"
                    " DO NOTHING RETURNING id",
    /* Many jobs without unique keys: arrays of $1 name, $2 queue,
     * $3 payload, $4 state, $5 priority, $6 run_at, $7 max_attempts,
     * $8 timeout_ms; $9 now. Ids are drawn in the arrays' order (the
     * target list is computed after the sort), so sorted ids match it. */
    [PG_S_INSERT_BULK] =
        "WITH ins AS (INSERT INTO chore_jobs(id, name, queue, payload, state, priority, run_at,"
        " max_attempts, timeout_ms, created_at)"
        " SELECT nextval('chore_jobs_id_seq'), u.name, u.queue,"
        " u.payload, u.state, u.priority, u.run_at, u.max_attempts, u.timeout_ms, $9::bigint"
        " FROM unnest($1::text[], $2::text[], $3::text[], $4::smallint[], $5::int[],"
        " $6::bigint[], $7::int[], $8::bigint[]) WITH ORDINALITY"
        " AS u(name, queue, payload, state, priority, run_at, max_attempts, timeout_ms, ord)"
        " ORDER BY u.ord RETURNING id)"
        " SELECT id FROM ins ORDER BY id",
    [PG_S_FIND_UNIQUE] = "SELECT id FROM chore_jobs WHERE unique_key = $1::text AND state < 4",
    /* $1 lease_until, $2 now, $3 limit, $4 horizon, $5 names (NULL = any),
     * $6 queues (NULL = any). Available jobs and scheduled ones due by the
     * horizon are picked apart, each from its own partial index in that
     * index's order (chore_jobs_available by priority, run_at, id; the
     * scheduled ones by run_at), so a claim reads about as many index
     * entries as it takes jobs, however many wait; the two slices are then
     * merged: due jobs by priority, then held ones. Due scheduled jobs
     * that are not claimed are made available too (promoted). The new
     * token is past both the last one and the database clock in
     * microseconds: claims commit asynchronously, and one lost in a server
     * crash must not hand its token out again to the next claim. */
    [PG_S_CLAIM] =
        "WITH avail AS (SELECT id, priority, run_at FROM chore_jobs WHERE state = 1"
        " AND ($5::text[] IS NULL OR name = ANY($5::text[]))"
        " AND ($6::text[] IS NULL OR queue = ANY($6::text[]))"
        " ORDER BY priority, run_at, id LIMIT $3::bigint FOR UPDATE SKIP LOCKED),"
        " sched AS (SELECT id, priority, run_at FROM chore_jobs"
        " WHERE state = 0 AND run_at <= $4::bigint"
        " AND ($5::text[] IS NULL OR name = ANY($5::text[]))"
        " AND ($6::text[] IS NULL OR queue = ANY($6::text[]))"
        " ORDER BY run_at > $2::bigint, priority, run_at, id LIMIT $3::bigint"
        " FOR UPDATE SKIP LOCKED),"
        " cand AS (SELECT id FROM (SELECT * FROM avail UNION ALL SELECT * FROM sched) u"
        " ORDER BY run_at > $2::bigint, priority, run_at, id LIMIT $3::bigint),"
        " promoted AS (UPDATE chore_jobs SET state = 1 WHERE id IN (SELECT id FROM chore_jobs"
        " WHERE state = 0 AND run_at <= $2::bigint AND id NOT IN (SELECT id FROM cand)"
        " FOR UPDATE SKIP LOCKED)),"
        " claimed AS (UPDATE chore_jobs j SET state = 2, attempt = j.attempt + 1,"
        " token = GREATEST(j.token + 1, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint),"
        " lease_until = $1::bigint, attempted_at = $2::bigint"
        " FROM cand WHERE j.id = cand.id"
        " RETURNING j.id, j.token, j.name, j.queue, j.payload, j.attempt, j.max_attempts,"
        " j.timeout_ms, j.lease_until, j.priority, j.run_at)"
        " SELECT * FROM claimed ORDER BY run_at > $2::bigint, priority, run_at, id",
    /* Finish: $1 id, $2 token, then per kind (see pg_jobs.c). */
    [PG_S_FIN_COMPLETE] = "UPDATE chore_jobs SET state = 4, finished_at = $3::bigint,"
                          " lease_until = NULL, result = $4::text"
                          " WHERE id = $1::bigint AND token = $2::bigint AND state IN (2, 3)",
    /* A batch of outcomes of distinct jobs, each as its one-job statement
     * below: arrays of $1 ids, $2 tokens, $4 kinds (store_outcome_kind:
     * 0 complete, 1 retry, 2 discard, 3 snooze, 4 suspend, 5 release),
     * $5 times (retry/snooze: next run; suspend: deadline in database time)
     * and $6 texts (complete: result; retry/discard: error); $3 now. The
     * (id, token) of each applied outcome comes back. */
    [PG_S_FIN_MANY] =
        "UPDATE chore_jobs j SET"
        " state = CASE u.kind WHEN 0 THEN 4 WHEN 2 THEN 5 WHEN 4 THEN 3"
        " WHEN 5 THEN CASE WHEN j.run_at > $3::bigint THEN 0 ELSE 1 END"
        " ELSE CASE WHEN u.at <= $3::bigint THEN 1 ELSE 0 END END,"
        " finished_at = CASE WHEN u.kind IN (0, 2) THEN $3::bigint ELSE j.finished_at END,"
        " lease_until = CASE WHEN u.kind = 4 THEN u.at END,"
        " result = CASE WHEN u.kind = 0 THEN u.txt ELSE j.result END,"
        " run_at = CASE WHEN u.kind IN (1, 3) THEN u.at ELSE j.run_at END,"
        " attempt = CASE WHEN u.kind IN (3, 5) THEN j.attempt - 1 ELSE j.attempt END,"
        " errors = CASE WHEN u.kind IN (1, 2) THEN coalesce(j.errors, '[]'::jsonb)"
        " || jsonb_build_array(jsonb_build_object('attempt', j.attempt, 'at', $3::bigint,"
        " 'error', coalesce(u.txt, ''))) ELSE j.errors END"
        " FROM unnest($1::bigint[], $2::bigint[], $4::smallint[], $5::bigint[], $6::text[])"
        " AS u(id, token, kind, at, txt)"
        " WHERE j.id = u.id AND j.token = u.token"
        " AND (j.state = 2 OR (j.state = 3 AND u.kind IN (0, 1, 2)))"
        " RETURNING j.id, j.token",
    /* The common batch, all completions (arrays of $1 ids, $2 tokens,
     * $4 results; $3 now): the statement above without its other kinds. */
    [PG_S_FIN_COMPLETE_MANY] =
        "UPDATE chore_jobs j SET state = 4, finished_at = $3::bigint, lease_until = NULL,"
        " result = u.result FROM unnest($1::bigint[], $2::bigint[], $4::text[])"
        " AS u(id, token, result)"
        " WHERE j.id = u.id AND j.token = u.token AND j.state IN (2, 3) RETURNING j.id, j.token",
    [PG_S_FIN_RETRY] = "UPDATE chore_jobs SET state = CASE WHEN $4::bigint <= $3::bigint"
                       " THEN 1 ELSE 0 END, run_at = $4::bigint, lease_until = NULL, " ERR_APPEND(
                           "$3", "$5") " WHERE id = $1::bigint AND token = $2::bigint"
                                       " AND state IN (2, 3)",
    [PG_S_FIN_DISCARD] = "UPDATE chore_jobs SET state = 5, finished_at = $3::bigint,"
                         " lease_until = NULL, " ERR_APPEND("$3", "$4") " WHERE id = $1::bigint"
                                                                        " AND token = $2::bigint"
                                                                        " AND state IN (2, 3)",
    [PG_S_FIN_SNOOZE] = "UPDATE chore_jobs SET state = CASE WHEN $4::bigint <= $3::bigint"
                        " THEN 1 ELSE 0 END, run_at = $4::bigint, attempt = attempt - 1,"
                        " lease_until = NULL WHERE id = $1::bigint AND token = $2::bigint"
                        " AND state = 2",
    [PG_S_FIN_SUSPEND] = "UPDATE chore_jobs SET state = 3, lease_until = $3::bigint"
                         " WHERE id = $1::bigint AND token = $2::bigint AND state = 2",
    [PG_S_FIN_RELEASE] = "UPDATE chore_jobs SET state = CASE WHEN run_at > $3::bigint THEN 0"
                         " ELSE 1 END, attempt = attempt - 1, lease_until = NULL"
                         " WHERE id = $1::bigint AND token = $2::bigint AND state = 2",
    /* Arrays of $1 ids and $2 tokens; $3 lease_until. What was renewed comes back. */
    [PG_S_HEARTBEAT] = "UPDATE chore_jobs j SET lease_until = $3::bigint"
                       " FROM unnest($1::bigint[], $2::bigint[]) AS u(id, token)"
                       " WHERE j.id = u.id AND j.token = u.token AND j.state = 2"
                       " RETURNING j.id, j.token",
    /* $1 now (the caller's: recorded), $2 now in database time (judges the
     * leases and deadlines, which are stored in database time). */
    [PG_S_RESCUE] =
        "UPDATE chore_jobs SET errors = coalesce(errors, '[]'::jsonb) || jsonb_build_array("
        " jsonb_build_object('attempt', attempt, 'at', $1::bigint, 'error',"
        " CASE WHEN state = 2 THEN 'lease expired' ELSE 'deferred deadline passed' END)),"
        " state = CASE WHEN max_attempts > 0 AND attempt >= max_attempts THEN 5 ELSE 1 END,"
        " finished_at = CASE WHEN max_attempts > 0 AND attempt >= max_attempts"
        " THEN $1::bigint END,"
        " run_at = CASE WHEN max_attempts > 0 AND attempt >= max_attempts THEN run_at"
        " ELSE $1::bigint END, lease_until = NULL"
        " WHERE id IN (SELECT id FROM chore_jobs WHERE state IN (2, 3)"
        " AND lease_until <= $2::bigint FOR UPDATE SKIP LOCKED)",
    [PG_S_PRUNE] = "DELETE FROM chore_jobs WHERE id IN (SELECT id FROM chore_jobs"
                   " WHERE state >= 4 AND finished_at < $1::bigint FOR UPDATE SKIP LOCKED)",
    [PG_S_ADMIN_STATE] = "SELECT state FROM chore_jobs WHERE id = $1::bigint FOR UPDATE",
    [PG_S_ADMIN_RETRY] = "UPDATE chore_jobs SET state = 1, run_at = $2::bigint,"
                         " finished_at = NULL, lease_until = NULL, result = NULL,"
                         " max_attempts = CASE WHEN max_attempts > 0 AND attempt >= max_attempts"
                         " THEN attempt + 1 ELSE max_attempts END WHERE id = $1::bigint",
    [PG_S_ADMIN_CANCEL] = "UPDATE chore_jobs SET state = 6, finished_at = $2::bigint,"
                          " token = token + 1, lease_until = NULL WHERE id = $1::bigint",
    [PG_S_ADMIN_REQUEUE] = "UPDATE chore_jobs SET state = 1, run_at = $2::bigint, attempt = 0,"
                           " errors = NULL, finished_at = NULL, lease_until = NULL,"
                           " result = NULL, token = token + 1 WHERE id = $1::bigint",
    [PG_S_ADMIN_DELETE] = "DELETE FROM chore_jobs WHERE id = $1::bigint",
    [PG_S_GET] = "SELECT " JOB_COLUMNS ", errors::text, result FROM chore_jobs"
                 " WHERE id = $1::bigint",
    /* $1 before id, $2 state (NULL = any), $3 name (NULL = any), $4 limit. */
    [PG_S_LIST] = "SELECT " JOB_COLUMNS " FROM chore_jobs WHERE id < $1::bigint"
                  " AND ($2::smallint IS NULL OR state = $2::smallint)"
                  " AND ($3::text IS NULL OR name = $3::text)"
                  " ORDER BY id DESC LIMIT $4::bigint",
    [PG_S_COUNT_BY_STATE] = "SELECT state, count(*) FROM chore_jobs GROUP BY state",
    [PG_S_COUNT_BY_NAME] = "SELECT name, state, count(*) FROM chore_jobs GROUP BY name, state"
                           " ORDER BY name COLLATE \"C\", state",
    [PG_S_NEXT_RUN_AT] = "SELECT min(run_at) FROM chore_jobs WHERE state = 0",
    /* $1..$6 name, expr, zone, job_name, payload, queue; $7 priority,
     * $8 max_attempts, $9 timeout_ms, $10 missed, $11 missed_cap,
     * $12 overlap, $13 paused, $14 last_slot_ms, $15 now. An update keeps
     * the slot history and the paused flag. */
    [PG_S_SCHED_PUT] =
        "INSERT INTO chore_schedules(name, expr, zone, job_name, payload, queue, priority,"
        " max_attempts, timeout_ms, missed, missed_cap, overlap, paused, last_slot_ms,"
        " created_at, updated_at)"
        " VALUES($1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::int, $8::int,"
        " $9::bigint, $10::int, $11::int, $12::int, $13::boolean, $14::bigint, $15::bigint,"
        " $15::bigint)"
        " ON CONFLICT(name) DO UPDATE SET expr = excluded.expr, zone = excluded.zone,"
        " job_name = excluded.job_name, payload = excluded.payload, queue = excluded.queue,"
        " priority = excluded.priority, max_attempts = excluded.max_attempts,"
        " timeout_ms = excluded.timeout_ms, missed = excluded.missed,"
        " missed_cap = excluded.missed_cap, overlap = excluded.overlap,"
        " updated_at = excluded.updated_at",
    [PG_S_SCHED_REMOVE] = "DELETE FROM chore_schedules WHERE name = $1::text",
    [PG_S_SCHED_PAUSE] = "UPDATE chore_schedules SET paused = $2::boolean,"
                         " updated_at = $3::bigint WHERE name = $1::text",
    [PG_S_SCHED_BUMP_VERSION] = "UPDATE chore_meta SET value = value + 1"
                                " WHERE key = 'schedules_version'",
    [PG_S_SCHED_VERSION] = "SELECT coalesce((SELECT value FROM chore_meta"
                           " WHERE key = 'schedules_version'), 0)",
    [PG_S_SCHED_LIST] = "SELECT " SCHEDULE_COLUMNS " FROM chore_schedules"
                        " ORDER BY name COLLATE \"C\"",
    [PG_S_SCHED_GET] = "SELECT " SCHEDULE_COLUMNS " FROM chore_schedules WHERE name = $1::text",
    /* Fire: lock the row first, then read it in a new statement, whose
     * snapshot sees the jobs a fire that held the lock before committed. */
    [PG_S_SCHED_LOCK] = "SELECT 1 FROM chore_schedules WHERE name = $1::text FOR UPDATE",
    [PG_S_SCHED_FIRE_READ] =
        "SELECT paused, last_slot_ms, last_job_id, pending_slot_ms, overlap, job_name, payload,"
        " queue, priority, max_attempts, timeout_ms,"
        " EXISTS(SELECT 1 FROM chore_jobs WHERE id = last_job_id AND state < 4)"
        " FROM chore_schedules WHERE name = $1::text",
    [PG_S_SCHED_FIRE_SET] = "UPDATE chore_schedules SET last_slot_ms = $2::bigint,"
                            " last_job_id = $3::bigint, pending_slot_ms = $4::bigint"
                            " WHERE name = $1::text",
    /* The schedules that may have a releasable pending slot, locked. */
    [PG_S_SCHED_PENDING] = "SELECT name FROM chore_schedules WHERE pending_slot_ms != 0"
                           " AND NOT paused ORDER BY name COLLATE \"C\""
                           " FOR UPDATE SKIP LOCKED",
    [PG_S_SCHED_RELEASE] = "UPDATE chore_schedules SET last_job_id = $2::bigint,"
                           " pending_slot_ms = 0 WHERE name = $1::text",
    /* $1 name, $2 owner, $3 now, $4 expiry (database time): a row comes back when the lock
     * is ours (taken when absent, expired or already ours). */
    [PG_S_LOCK_TAKE] = "INSERT INTO chore_locks(name, owner, expires_at)"
                       " VALUES($1::text, $2::text, $4::bigint)"
                       " ON CONFLICT(name) DO UPDATE SET owner = excluded.owner,"
                       " expires_at = excluded.expires_at"
                       " WHERE chore_locks.owner = excluded.owner"
                       " OR chore_locks.expires_at <= $3::bigint RETURNING 1",
    [PG_S_LOCK_RELEASE] = "DELETE FROM chore_locks WHERE name = $1::text AND owner = $2::text",
    /* change_counter's fallback read (pg_store.c): the newest committed
     * job id (a backward scan of the primary key) plus chore_changes, the
     * sequence libraries of schema version 1 advance after each write. */
    [PG_S_CHANGES] = "SELECT coalesce((SELECT max(id) FROM chore_jobs), 0)"
                     " + (SELECT last_value + is_called::int FROM chore_changes)",
};
