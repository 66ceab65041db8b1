/*
 * pg_jobs.c — the PostgreSQL backend's writes other than claim: enqueue
 * (on a pooled connection or inside the caller's own transaction), finish,
 * heartbeat, rescue, prune and the admin operations. Each is one
 * transaction (pg_write) of prepared statements.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pure/instant.h"
#include "store/pg_internal.h"

/* Run statement `which` prepared on a pooled connection, or unprepared on
 * a caller's connection (pc NULL): we do not leave statements there. */
static PGresult *run_on(PGconn *c, pg_conn *pc, enum pg_stmt which, int n,
                        const char *const *params, int *rc)
{
    if (pc != NULL)
        return pg_run(pc, which, n, params, rc);
    PGresult *res = PQexecParams(c, pg_sql[which], n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        *rc = pg_fail(c, res);
        return NULL;
    }
    *rc = CHORE_OK;
    return res;
}

/* ---------------------------------------------------------------- enqueue */

static int check_jobs(const store_new_job *jobs, size_t n, const int64_t *ids)
{
    if (n > 0 && (jobs == NULL || ids == NULL))
        return pg_fail_msg(CHORE_EINVAL, "enqueue: no jobs or no ids");
    for (size_t i = 0; i < n; i++) {
        if (jobs[i].name == NULL)
            return pg_fail_msg(CHORE_EINVAL, "enqueue: a job has no name");
    }
    return CHORE_OK;
}

/* The live job holding `key`, after an insert that found one: it may have
 * committed after the insert's snapshot, so this is a new statement. */
static int find_unique(PGconn *c, pg_conn *pc, const char *key, int64_t *id, bool *found)
{
    int rc;
    const char *params[1] = {key};
    PGresult *res = run_on(c, pc, PG_S_FIND_UNIQUE, 1, params, &rc);
    if (res == NULL)
        return rc;
    *found = PQntuples(res) > 0;
    if (*found)
        *id = pg_get_i64(res, 0, 0);
    PQclear(res);
    return CHORE_OK;
}

int pg_insert_jobs(PGconn *c, pg_conn *pc, const store_new_job *jobs, size_t n, int64_t now_ms,
                   int64_t *ids, bool *duplicate)
{
    bool keyed = false;
    for (size_t i = 0; i < n && !keyed; i++)
        keyed = jobs[i].unique_key != NULL;
    if (n > 1 && !keyed)
        return pg_insert_bulk(c, pc, jobs, n, now_ms, ids, duplicate);
    for (size_t i = 0; i < n; i++) {
        const store_new_job *j = &jobs[i];
        /* A key holder that goes final between the insert and the find
         * lets the next insert through: try a few times. */
        for (int tries = 0;; tries++) {
            pg_num state, prio, run_at, max, timeout, now;
            const char *params[10] = {
                j->name,
                j->queue != NULL ? j->queue : "default",
                j->payload != NULL ? j->payload : "{}",
                pg_i64(&state, j->run_at_ms <= now_ms ? CHORE_AVAILABLE : CHORE_SCHEDULED),
                pg_i64(&prio, j->priority),
                pg_i64(&run_at, j->run_at_ms),
                pg_i64(&max, j->max_attempts),
                pg_i64(&timeout, j->timeout_ms),
                j->unique_key,
                pg_i64(&now, now_ms),
            };
            int rc;
            PGresult *res = run_on(c, pc, PG_S_INSERT, 10, params, &rc);
            if (res == NULL)
                return rc;
            bool inserted = PQntuples(res) > 0;
            if (inserted)
                ids[i] = pg_get_i64(res, 0, 0);
            PQclear(res);
            if (inserted) {
                if (duplicate != NULL)
                    duplicate[i] = false;
                break;
            }
            bool found = false;
            if ((rc = find_unique(c, pc, j->unique_key, &ids[i], &found)) != CHORE_OK)
                return rc;
            if (found) {
                if (duplicate != NULL)
                    duplicate[i] = true;
                break;
            }
            if (tries >= 3)
                return pg_fail_msg(CHORE_ESTORE, "enqueue: a unique key kept changing hands");
        }
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

static int enqueue_body(store *s, pg_conn *pc, void *arg)
{
    (void)s;
    enqueue_args *a = arg;
    return pg_insert_jobs(pc->c, pc, a->jobs, a->n, a->now_ms, a->ids, a->duplicate);
}

/* store_ops.enqueue: see store.h. */
int pg_enqueue(store *s, const store_new_job *jobs, size_t n, int64_t now_ms, int64_t *ids,
               bool *duplicate)
{
    int rc = check_jobs(jobs, n, ids);
    if (rc != CHORE_OK || n == 0)
        return rc;
    enqueue_args a = {jobs, n, now_ms, ids, duplicate};
    rc = pg_write(s, enqueue_body, &a);
    if (rc == CHORE_OK)
        pg_listen_notify(s);
    return rc;
}

/* Inside the caller's transaction: point search_path at chore's schema for
 * the rest of it (set_config local), insert, notify the schema's channel
 * (delivered when the caller commits), and put search_path back. */
static int native_body(PGconn *c, const store_new_job *jobs, size_t n, int64_t now_ms,
                       int64_t *ids, bool *duplicate)
{
    PGresult *res = PQexec(c, "SELECT coalesce(nullif(current_setting('chore.schema', true), ''),"
                              " 'chore'), current_setting('search_path')");
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return pg_fail(c, res);
    char *schema = strdup(PQgetvalue(res, 0, 0));
    char *old_path = strdup(PQgetvalue(res, 0, 1));
    PQclear(res);
    int rc = CHORE_OK;
    if (schema == NULL || old_path == NULL)
        rc = pg_fail_msg(CHORE_ENOMEM, "out of memory");
    const char *p1[1] = {schema};
    if (rc == CHORE_OK) {
        res = PQexecParams(c, "SELECT set_config('search_path', quote_ident($1), true)", 1, NULL,
                           p1, NULL, NULL, 0);
        rc = PQresultStatus(res) == PGRES_TUPLES_OK ? (PQclear(res), CHORE_OK) : pg_fail(c, res);
    }
    if (rc == CHORE_OK)
        rc = pg_insert_jobs(c, NULL, jobs, n, now_ms, ids, duplicate);
    if (rc == CHORE_OK) {
        res = PQexecParams(c, "SELECT pg_notify('chore_' || $1, '')", 1, NULL, p1, NULL, NULL, 0);
        rc = PQresultStatus(res) == PGRES_TUPLES_OK ? (PQclear(res), CHORE_OK) : pg_fail(c, res);
    }
    if (rc == CHORE_OK) {
        const char *p2[1] = {old_path};
        res = PQexecParams(c, "SELECT set_config('search_path', $1, true)", 1, NULL, p2, NULL,
                           NULL, 0);
        rc = PQresultStatus(res) == PGRES_TUPLES_OK ? (PQclear(res), CHORE_OK) : pg_fail(c, res);
    }
    free(schema);
    free(old_path);
    return rc;
}

/* store_ops.enqueue_native: `native` is the caller's PGconn*. Inside its
 * open transaction our part runs in a savepoint that a failure rolls back
 * alone; on an idle connection it is a transaction of its own. The tables
 * are found in the schema named by the connection's setting chore.schema
 * (SET chore.schema = '…'), or "chore". */
int pg_enqueue_native(void *native, const store_new_job *jobs, size_t n, int64_t now_ms,
                      int64_t *ids, bool *duplicate)
{
    PGconn *c = native;
    if (c == NULL)
        return pg_fail_msg(CHORE_EINVAL, "enqueue: no PGconn connection");
    int rc = check_jobs(jobs, n, ids);
    if (rc != CHORE_OK || n == 0)
        return rc;
    if (PQstatus(c) != CONNECTION_OK)
        return pg_fail(c, NULL);
    PGTransactionStatusType ts = PQtransactionStatus(c);
    if (ts == PQTRANS_INERROR)
        return pg_fail_msg(CHORE_ESTORE, "enqueue: the caller's transaction has failed");
    if (ts != PQTRANS_IDLE && ts != PQTRANS_INTRANS)
        return pg_fail_msg(CHORE_EINVAL, "enqueue: the connection is busy");
    bool own = ts == PQTRANS_IDLE;
    if ((rc = pg_exec(c, own ? "BEGIN" : "SAVEPOINT chore_enqueue")) != CHORE_OK)
        return rc;
    rc = native_body(c, jobs, n, now_ms, ids, duplicate);
    if (rc == CHORE_OK)
        rc = pg_exec(c, own ? "COMMIT" : "RELEASE chore_enqueue");
    if (rc != CHORE_OK) {
        PGresult *res = PQexec(c, own ? "ROLLBACK" : "ROLLBACK TO chore_enqueue");
        PQclear(res);
        if (!own) {
            res = PQexec(c, "RELEASE chore_enqueue");
            PQclear(res);
        }
    }
    return rc;
}

/* ---------------------------------------------------------------- finish */

typedef struct finish_args {
    const store_outcome *outs;
    size_t n;
    int64_t now_ms;
    bool *applied;
} finish_args;

static int finish_body(store *s, pg_conn *pc, void *arg)
{
    finish_args *a = arg;
    if (pg_all_distinct(a->outs, a->n))
        return pg_finish_many(s, pc, a->outs, a->n, a->now_ms, a->applied);
    for (size_t i = 0; i < a->n; i++) {
        const store_outcome *o = &a->outs[i];
        pg_num id, token, now, run_at;
        const char *p[5] = {pg_i64(&id, o->id), pg_i64(&token, o->token), pg_i64(&now, a->now_ms),
                            NULL, NULL};
        enum pg_stmt which;
        int np;
        switch (o->kind) {
        case STORE_COMPLETE:
            which = PG_S_FIN_COMPLETE, np = 4, p[3] = o->result;
            break;
        case STORE_RETRY:
            which = PG_S_FIN_RETRY, np = 5, p[3] = pg_i64(&run_at, o->run_at_ms), p[4] = o->error;
            break;
        case STORE_DISCARD:
            which = PG_S_FIN_DISCARD, np = 4, p[3] = o->error;
            break;
        case STORE_SNOOZE:
            which = PG_S_FIN_SNOOZE, np = 4, p[3] = pg_i64(&run_at, o->run_at_ms);
            break;
        case STORE_SUSPEND: { /* the deadline is judged by rescue, in database time */
            int64_t deadline;
            int rc = pg_db_time(s, pc, o->run_at_ms, &deadline);
            if (rc != CHORE_OK)
                return rc;
            which = PG_S_FIN_SUSPEND, np = 3, p[2] = pg_i64(&run_at, deadline);
            break;
        }
        case STORE_RELEASE:
            which = PG_S_FIN_RELEASE, np = 3;
            break;
        default:
            return pg_fail_msg(CHORE_EINVAL, "finish: unknown outcome kind");
        }
        int64_t changed = 0;
        int rc = pg_run_cmd(pc, which, np, p, &changed);
        if (rc != CHORE_OK)
            return rc;
        if (a->applied != NULL)
            a->applied[i] = changed > 0;
    }
    return CHORE_OK;
}

/* store_ops.finish: see store.h. */
int pg_finish(store *s, const store_outcome *outs, size_t n, int64_t now_ms, bool *applied)
{
    if (n == 0)
        return CHORE_OK;
    if (outs == NULL)
        return pg_fail_msg(CHORE_EINVAL, "finish: no outcomes");
    finish_args a = {outs, n, now_ms, applied};
    int rc = pg_write(s, finish_body, &a);
    /* Retries, snoozes and jobs given back may run on another node (due
     * now or later: its dispatcher learns the due time). Completions,
     * discards and suspensions free nothing another node could take. */
    bool frees = false;
    for (size_t i = 0; i < n && !frees; i++)
        frees = outs[i].kind == STORE_RETRY || outs[i].kind == STORE_SNOOZE ||
                outs[i].kind == STORE_RELEASE;
    if (rc == CHORE_OK && frees)
        pg_listen_notify(s);
    return rc;
}

/* ---------------------------------------------------------------- heartbeat */

typedef struct heartbeat_args {
    const store_lease *leases;
    size_t n;
    int64_t now_ms;
    int64_t lease_ms;
    bool *applied;
} heartbeat_args;

static int heartbeat_body(store *s, pg_conn *pc, void *arg)
{
    heartbeat_args *a = arg;
    int64_t db_now; /* the lease is set in database time, where rescue judges it */
    int rc = pg_db_time(s, pc, a->now_ms, &db_now);
    if (rc != CHORE_OK)
        return rc;
    return pg_heartbeat_many(pc, a->leases, a->n, instant_add(db_now, a->lease_ms), a->applied);
}

/* store_ops.heartbeat: see store.h. */
int pg_heartbeat(store *s, const store_lease *leases, size_t n, int64_t now_ms, int64_t lease_ms,
                 bool *applied)
{
    if (n == 0)
        return CHORE_OK;
    if (leases == NULL)
        return pg_fail_msg(CHORE_EINVAL, "heartbeat: no leases");
    heartbeat_args a = {leases, n, now_ms, lease_ms, applied};
    return pg_write_begin(s, PG_BEGIN_ASYNC, heartbeat_body, &a);
}

/* ---------------------------------------------------------------- rescue, prune */

typedef struct sweep_args {
    enum pg_stmt which;
    int64_t at_ms;
    int64_t count;
} sweep_args;

static int sweep_body(store *s, pg_conn *pc, void *arg)
{
    sweep_args *a = arg;
    pg_num at, db;
    const char *p[2] = {pg_i64(&at, a->at_ms), NULL};
    if (a->which == PG_S_RESCUE) { /* leases and deadlines are judged in database time */
        int64_t db_now;
        int rc = pg_db_time(s, pc, a->at_ms, &db_now);
        if (rc != CHORE_OK)
            return rc;
        p[1] = pg_i64(&db, db_now);
    }
    return pg_run_cmd(pc, a->which, a->which == PG_S_RESCUE ? 2 : 1, p, &a->count);
}

/* store_ops.rescue: see store.h. */
int pg_rescue(store *s, int64_t now_ms, int64_t *rescued)
{
    sweep_args a = {PG_S_RESCUE, now_ms, 0};
    int rc = pg_write(s, sweep_body, &a);
    if (rescued != NULL)
        *rescued = rc == CHORE_OK ? a.count : 0;
    if (rc == CHORE_OK && a.count > 0)
        pg_listen_notify(s);
    return rc;
}

/* store_ops.prune: see store.h. */
int pg_prune(store *s, int64_t before_ms, int64_t *pruned)
{
    sweep_args a = {PG_S_PRUNE, before_ms, 0};
    int rc = pg_write(s, sweep_body, &a);
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

static int admin_body(store *s, pg_conn *pc, void *arg)
{
    (void)s;
    admin_args *a = arg;
    pg_num id, now;
    const char *p[2] = {pg_i64(&id, a->id), pg_i64(&now, a->now_ms)};
    int rc;
    PGresult *res = pg_run(pc, PG_S_ADMIN_STATE, 1, p, &rc); /* locks the row */
    if (res == NULL)
        return rc;
    int state = PQntuples(res) > 0 ? (int)pg_get_i64(res, 0, 0) : -1;
    PQclear(res);
    if (state < 0)
        return pg_fail_msg(CHORE_ENOTFOUND, "no job with this id");
    if (!store_admin_allowed(a->op, state))
        return pg_fail_msg(CHORE_ESTATE, "not allowed in the job's current state");
    enum pg_stmt which = a->op == STORE_ADMIN_RETRY     ? PG_S_ADMIN_RETRY
                         : a->op == STORE_ADMIN_CANCEL  ? PG_S_ADMIN_CANCEL
                         : a->op == STORE_ADMIN_REQUEUE ? PG_S_ADMIN_REQUEUE
                                                        : PG_S_ADMIN_DELETE;
    rc = pg_run_cmd(pc, which, which == PG_S_ADMIN_DELETE ? 1 : 2, p, NULL);
    if (rc == CHORE_EEXIST)
        return pg_fail_msg(CHORE_EEXIST, "a job that is not final has the same unique key");
    return rc;
}

/* store_ops.admin: see store.h. */
int pg_admin(store *s, store_admin_op op, int64_t id, int64_t now_ms)
{
    if (op != STORE_ADMIN_RETRY && op != STORE_ADMIN_CANCEL && op != STORE_ADMIN_REQUEUE &&
        op != STORE_ADMIN_DELETE)
        return pg_fail_msg(CHORE_EINVAL, "admin: unknown operation");
    admin_args a = {op, id, now_ms};
    int rc = pg_write(s, admin_body, &a);
    if (rc == CHORE_OK && (op == STORE_ADMIN_RETRY || op == STORE_ADMIN_REQUEUE))
        pg_listen_notify(s);
    return rc;
}
