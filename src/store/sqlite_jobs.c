/*
 * sqlite_jobs.c — the SQLite backend's writes other than claim: enqueue
 * (on the store's writer or on the caller's own connection), finish,
 * heartbeat, rescue, prune and the admin operations. Each is one
 * transaction on the writer connection (see sq_write).
 */
#include <stdint.h>
#include <stdlib.h>

#include "store/sqlite_internal.h"

/* Bind an integer to parameter idx if the statement has it: the finish
 * statements share one numbering but not every one uses every number. */
static int bind_i64(sqlite3_stmt *st, int idx, int64_t v)
{
    if (idx > sqlite3_bind_parameter_count(st))
        return SQLITE_OK;
    return sqlite3_bind_int64(st, idx, v);
}

static int bind_text(sqlite3_stmt *st, int idx, const char *text)
{
    if (idx > sqlite3_bind_parameter_count(st))
        return SQLITE_OK;
    if (text == NULL)
        return sqlite3_bind_null(st, idx);
    return sqlite3_bind_text(st, idx, text, -1, SQLITE_STATIC);
}

/* ---------------------------------------------------------------- enqueue */

static int check_jobs(const store_new_job *jobs, size_t n, const int64_t *ids)
{
    if (n > 0 && (jobs == NULL || ids == NULL))
        return sq_fail_msg(CHORE_EINVAL, "enqueue: no jobs or no ids");
    for (size_t i = 0; i < n; i++) {
        if (jobs[i].name == NULL)
            return sq_fail_msg(CHORE_EINVAL, "enqueue: a job has no name");
    }
    return CHORE_OK;
}

/* Insert the jobs with two prepared statements on db; the caller owns the
 * transaction. Statements are left reset. Also used by sqlite_schedules.c. */
int sq_insert_jobs(sqlite3 *db, sqlite3_stmt *find, sqlite3_stmt *ins, const store_new_job *jobs,
                   size_t n, int64_t now_ms, int64_t *ids, bool *duplicate)
{
    for (size_t i = 0; i < n; i++) {
        const store_new_job *j = &jobs[i];
        int rc;
        if (j->unique_key != NULL) {
            /* Also finds a job inserted earlier in this batch. */
            rc = sqlite3_bind_text(find, 1, j->unique_key, -1, SQLITE_STATIC);
            if (rc == SQLITE_OK)
                rc = sqlite3_step(find);
            if (rc == SQLITE_ROW) {
                ids[i] = sqlite3_column_int64(find, 0);
                if (duplicate != NULL)
                    duplicate[i] = true;
                sqlite3_reset(find);
                continue;
            }
            sqlite3_reset(find);
            if (rc != SQLITE_DONE)
                return sq_fail(db, rc);
        }
        int state = j->run_at_ms <= now_ms ? CHORE_AVAILABLE : CHORE_SCHEDULED;
        rc = sqlite3_bind_text(ins, 1, j->name, -1, SQLITE_STATIC);
        if (rc == SQLITE_OK)
            rc = bind_text(ins, 2, j->queue != NULL ? j->queue : "default");
        if (rc == SQLITE_OK)
            rc = bind_text(ins, 3, j->payload != NULL ? j->payload : "{}");
        if (rc == SQLITE_OK)
            rc = sqlite3_bind_int(ins, 4, state);
        if (rc == SQLITE_OK)
            rc = sqlite3_bind_int(ins, 5, j->priority);
        if (rc == SQLITE_OK)
            rc = sqlite3_bind_int64(ins, 6, j->run_at_ms);
        if (rc == SQLITE_OK)
            rc = sqlite3_bind_int(ins, 7, j->max_attempts);
        if (rc == SQLITE_OK)
            rc = sqlite3_bind_int64(ins, 8, j->timeout_ms);
        if (rc == SQLITE_OK)
            rc = bind_text(ins, 9, j->unique_key);
        if (rc == SQLITE_OK)
            rc = sqlite3_bind_int64(ins, 10, now_ms);
        if (rc != SQLITE_OK) {
            sqlite3_reset(ins);
            return sq_fail(db, rc);
        }
        if ((rc = sq_step_done(db, ins)) != CHORE_OK)
            return rc;
        ids[i] = sqlite3_last_insert_rowid(db);
        if (duplicate != NULL)
            duplicate[i] = false;
    }
    return CHORE_OK;
}

typedef struct enqueue_args {
    const store_new_job *jobs;
    size_t n;
    int64_t now_ms;
    int64_t *ids;
    bool *duplicate;
} enqueue_args;

static int enqueue_body(store *s, void *arg)
{
    enqueue_args *a = arg;
    int rc;
    sqlite3_stmt *find = sq_wstmt(s, SQ_W_FIND_UNIQUE, &rc);
    if (find == NULL)
        return rc;
    sqlite3_stmt *ins = sq_wstmt(s, SQ_W_INSERT, &rc);
    if (ins == NULL)
        return rc;
    return sq_insert_jobs(s->w, find, ins, a->jobs, a->n, a->now_ms, a->ids, a->duplicate);
}

/* store_ops.enqueue: see store.h. */
int sq_enqueue(store *s, const store_new_job *jobs, size_t n, int64_t now_ms, int64_t *ids,
               bool *duplicate)
{
    int rc = check_jobs(jobs, n, ids);
    if (rc != CHORE_OK || n == 0)
        return rc;
    enqueue_args a = {jobs, n, now_ms, ids, duplicate};
    return sq_write(s, enqueue_body, &a);
}

/* store_ops.enqueue_native: the caller owns the transaction on `native`,
 * so our part runs inside a savepoint that a failure rolls back alone.
 * Statements are prepared on the caller's connection and finalized. */
int sq_enqueue_native(void *native, const store_new_job *jobs, size_t n, int64_t now_ms,
                      int64_t *ids, bool *duplicate)
{
    sqlite3 *db = native;
    if (db == NULL)
        return sq_fail_msg(CHORE_EINVAL, "enqueue: no sqlite3 connection");
    int rc = check_jobs(jobs, n, ids);
    if (rc != CHORE_OK || n == 0)
        return rc;
    int src = sqlite3_exec(db, "SAVEPOINT chore_enqueue", NULL, NULL, NULL);
    if (src != SQLITE_OK)
        return sq_fail(db, src);
    sqlite3_stmt *find = NULL, *ins = NULL;
    src = sqlite3_prepare_v2(db, "SELECT id FROM chore_jobs WHERE unique_key = ?1 AND state < 4",
                             -1, &find, NULL);
    if (src == SQLITE_OK)
        src = sqlite3_prepare_v2(db,
                                 "INSERT INTO chore_jobs(name, queue, payload, state, priority,"
                                 " run_at, max_attempts, timeout_ms, unique_key, created_at)"
                                 " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                                 -1, &ins, NULL);
    if (src != SQLITE_OK)
        rc = sq_fail(db, src);
    else
        rc = sq_insert_jobs(db, find, ins, jobs, n, now_ms, ids, duplicate);
    sqlite3_finalize(find);
    sqlite3_finalize(ins);
    if (rc == CHORE_OK) {
        src = sqlite3_exec(db, "RELEASE chore_enqueue", NULL, NULL, NULL);
        if (src == SQLITE_OK)
            return CHORE_OK;
        rc = sq_fail(db, src);
    }
    sqlite3_exec(db, "ROLLBACK TO chore_enqueue", NULL, NULL, NULL);
    sqlite3_exec(db, "RELEASE chore_enqueue", NULL, NULL, NULL);
    return rc;
}

/* ---------------------------------------------------------------- finish */

typedef struct finish_args {
    const store_outcome *outs;
    size_t n;
    int64_t now_ms;
    bool *applied;
} finish_args;

static int finish_body(store *s, void *arg)
{
    finish_args *a = arg;
    for (size_t i = 0; i < a->n; i++) {
        const store_outcome *o = &a->outs[i];
        enum sq_wstmt which;
        switch (o->kind) {
        case STORE_COMPLETE:
            which = SQ_W_FIN_COMPLETE;
            break;
        case STORE_RETRY:
            which = SQ_W_FIN_RETRY;
            break;
        case STORE_DISCARD:
            which = SQ_W_FIN_DISCARD;
            break;
        case STORE_SNOOZE:
            which = SQ_W_FIN_SNOOZE;
            break;
        case STORE_SUSPEND:
            which = SQ_W_FIN_SUSPEND;
            break;
        case STORE_RELEASE:
            which = SQ_W_FIN_RELEASE;
            break;
        default:
            return sq_fail_msg(CHORE_EINVAL, "finish: unknown outcome kind");
        }
        int rc;
        sqlite3_stmt *st = sq_wstmt(s, which, &rc);
        if (st == NULL)
            return rc;
        int src = sqlite3_bind_int64(st, 1, o->id);
        if (src == SQLITE_OK)
            src = sqlite3_bind_int64(st, 2, o->token);
        if (src == SQLITE_OK)
            src = bind_i64(st, 3, a->now_ms);
        if (src == SQLITE_OK)
            src = bind_i64(st, 4, o->run_at_ms);
        if (src == SQLITE_OK)
            src = bind_text(st, 5, o->error);
        if (src == SQLITE_OK)
            src = bind_text(st, 6, o->result);
        if (src != SQLITE_OK)
            return sq_fail(s->w, src);
        if ((rc = sq_step_done(s->w, st)) != CHORE_OK)
            return rc;
        if (a->applied != NULL)
            a->applied[i] = sqlite3_changes(s->w) > 0;
    }
    return CHORE_OK;
}

/* store_ops.finish: see store.h. */
int sq_finish(store *s, const store_outcome *outs, size_t n, int64_t now_ms, bool *applied)
{
    if (n == 0)
        return CHORE_OK;
    if (outs == NULL)
        return sq_fail_msg(CHORE_EINVAL, "finish: no outcomes");
    finish_args a = {outs, n, now_ms, applied};
    return sq_write(s, finish_body, &a);
}

/* ---------------------------------------------------------------- heartbeat */

typedef struct heartbeat_args {
    const store_lease *leases;
    size_t n;
    int64_t lease_until;
    bool *applied;
} heartbeat_args;

static int heartbeat_body(store *s, void *arg)
{
    heartbeat_args *a = arg;
    int rc;
    sqlite3_stmt *st = sq_wstmt(s, SQ_W_HEARTBEAT, &rc);
    if (st == NULL)
        return rc;
    for (size_t i = 0; i < a->n; i++) {
        int src = sqlite3_bind_int64(st, 1, a->leases[i].id);
        if (src == SQLITE_OK)
            src = sqlite3_bind_int64(st, 2, a->leases[i].token);
        if (src == SQLITE_OK)
            src = sqlite3_bind_int64(st, 3, a->lease_until);
        if (src != SQLITE_OK)
            return sq_fail(s->w, src);
        if ((rc = sq_step_done(s->w, st)) != CHORE_OK)
            return rc;
        if (a->applied != NULL)
            a->applied[i] = sqlite3_changes(s->w) > 0;
    }
    return CHORE_OK;
}

/* store_ops.heartbeat: see store.h. */
int sq_heartbeat(store *s, const store_lease *leases, size_t n, int64_t now_ms, int64_t lease_ms,
                 bool *applied)
{
    if (n == 0)
        return CHORE_OK;
    if (leases == NULL)
        return sq_fail_msg(CHORE_EINVAL, "heartbeat: no leases");
    heartbeat_args a = {leases, n, now_ms + lease_ms, applied};
    return sq_write_unsynced(s, heartbeat_body, &a); /* a lost renewal is renewed again */
}

/* ---------------------------------------------------------------- rescue, prune */

typedef struct sweep_args {
    enum sq_wstmt which;
    int64_t at_ms;
    int64_t count;
} sweep_args;

static int sweep_body(store *s, void *arg)
{
    sweep_args *a = arg;
    int rc;
    sqlite3_stmt *st = sq_wstmt(s, a->which, &rc);
    if (st == NULL)
        return rc;
    int src = sqlite3_bind_int64(st, 1, a->at_ms);
    if (src != SQLITE_OK)
        return sq_fail(s->w, src);
    if ((rc = sq_step_done(s->w, st)) != CHORE_OK)
        return rc;
    a->count = sqlite3_changes64(s->w);
    return CHORE_OK;
}

/* store_ops.rescue: see store.h. */
int sq_rescue(store *s, int64_t now_ms, int64_t *rescued)
{
    sweep_args a = {SQ_W_RESCUE, now_ms, 0};
    int rc = sq_write(s, sweep_body, &a);
    if (rescued != NULL)
        *rescued = rc == CHORE_OK ? a.count : 0;
    return rc;
}

/* store_ops.prune: see store.h. */
int sq_prune(store *s, int64_t before_ms, int64_t *pruned)
{
    sweep_args a = {SQ_W_PRUNE, before_ms, 0};
    int rc = sq_write(s, sweep_body, &a);
    if (pruned != NULL)
        *pruned = rc == CHORE_OK ? a.count : 0;
    return rc;
}

/* ---------------------------------------------------------------- admin */

typedef struct admin_args {
    store_admin_op op;
    int64_t id;
    int64_t now_ms;
} admin_args;

static int admin_body(store *s, void *arg)
{
    admin_args *a = arg;
    int rc;
    sqlite3_stmt *st = sq_wstmt(s, SQ_W_ADMIN_STATE, &rc);
    if (st == NULL)
        return rc;
    int src = sqlite3_bind_int64(st, 1, a->id);
    if (src == SQLITE_OK)
        src = sqlite3_step(st);
    int state = src == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_reset(st);
    if (src == SQLITE_DONE)
        return sq_fail_msg(CHORE_ENOTFOUND, "no job with this id");
    if (src != SQLITE_ROW)
        return sq_fail(s->w, src);
    if (!store_admin_allowed(a->op, state))
        return sq_fail_msg(CHORE_ESTATE, "not allowed in the job's current state");

    enum sq_wstmt which = a->op == STORE_ADMIN_RETRY     ? SQ_W_ADMIN_RETRY
                          : a->op == STORE_ADMIN_CANCEL  ? SQ_W_ADMIN_CANCEL
                          : a->op == STORE_ADMIN_REQUEUE ? SQ_W_ADMIN_REQUEUE
                                                         : SQ_W_ADMIN_DELETE;
    if ((st = sq_wstmt(s, which, &rc)) == NULL)
        return rc;
    src = sqlite3_bind_int64(st, 1, a->id);
    if (src == SQLITE_OK)
        src = bind_i64(st, 2, a->now_ms);
    if (src != SQLITE_OK)
        return sq_fail(s->w, src);
    rc = sq_step_done(s->w, st);
    if (rc != CHORE_OK && sqlite3_extended_errcode(s->w) == SQLITE_CONSTRAINT_UNIQUE)
        return sq_fail_msg(CHORE_EEXIST, "a job that is not final has the same unique key");
    return rc;
}

/* store_ops.admin: see store.h. A retry or requeue that would make two
 * live jobs share a unique key is CHORE_EEXIST. */
int sq_admin(store *s, store_admin_op op, int64_t id, int64_t now_ms)
{
    if (op != STORE_ADMIN_RETRY && op != STORE_ADMIN_CANCEL && op != STORE_ADMIN_REQUEUE &&
        op != STORE_ADMIN_DELETE)
        return sq_fail_msg(CHORE_EINVAL, "admin: unknown operation");
    admin_args a = {op, id, now_ms};
    return sq_write(s, admin_body, &a);
}
