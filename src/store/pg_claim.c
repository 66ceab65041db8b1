/*
 * pg_claim.c — the PostgreSQL backend's claim: one prepared statement
 * (PG_S_CLAIM in pg_sql.c) picks the jobs with FOR UPDATE SKIP LOCKED,
 * leases them and promotes the other due scheduled jobs, so nodes claiming
 * at once never wait for each other nor take the same job. The name and
 * queue filters are text[] parameters, so one statement serves every
 * combination. The lease is set in database time (pg_clock.c); the rest
 * of the times are the caller's.
 */
#include <stdint.h>
#include <stdlib.h>

#include "pure/instant.h"
#include "store/pg_internal.h"

typedef struct claim_args {
    const store_claim_req *req;
    int64_t now_ms;
    store_claimed *jobs;
    size_t n;
} claim_args;

/* Read row i of the claim's result into job; the lease comes back in the
 * caller's time. */
static int read_claimed(store *s, const PGresult *res, int i, store_claimed *job)
{
    int rc;
    job->id = pg_get_i64(res, i, 0);
    job->token = pg_get_i64(res, i, 1);
    job->name = pg_get_str(res, i, 2, &rc);
    if (rc == CHORE_OK)
        job->queue = pg_get_str(res, i, 3, &rc);
    if (rc == CHORE_OK)
        job->payload = pg_get_str(res, i, 4, &rc);
    job->attempt = (int)pg_get_i64(res, i, 5);
    job->max_attempts = (int)pg_get_i64(res, i, 6);
    job->timeout_ms = pg_get_i64(res, i, 7);
    job->lease_until_ms = pg_caller_time(s, pg_get_i64(res, i, 8));
    job->run_at_ms = pg_get_i64(res, i, 10);
    return rc;
}

static int claim_body(store *s, pg_conn *pc, void *arg)
{
    claim_args *a = arg;
    /* The lease is set in database time, where rescue judges it. */
    int64_t db_now;
    int rc = pg_db_time(s, pc, a->now_ms, &db_now);
    if (rc != CHORE_OK)
        return rc;
    const store_claim_req *req = a->req;
    char *names = NULL, *queues = NULL;
    if (req->names != NULL && (names = pg_text_array(req->names, req->n_names)) == NULL)
        return pg_fail_msg(CHORE_ENOMEM, "out of memory");
    if (req->queues != NULL && (queues = pg_text_array(req->queues, req->n_queues)) == NULL) {
        free(names);
        return pg_fail_msg(CHORE_ENOMEM, "out of memory");
    }
    int64_t limit = req->max > (size_t)INT64_MAX ? INT64_MAX : (int64_t)req->max;
    int64_t horizon = req->horizon_ms > a->now_ms ? req->horizon_ms : a->now_ms;
    pg_num until, now, lim, hor;
    const char *p[6] = {pg_i64(&until, instant_add(db_now, req->lease_ms)),
                        pg_i64(&now, a->now_ms),
                        pg_i64(&lim, limit),
                        pg_i64(&hor, horizon),
                        names,
                        queues};
    PGresult *res = pg_run(pc, PG_S_CLAIM, 6, p, &rc);
    free(names);
    free(queues);
    if (res == NULL)
        return rc;
    int rows = PQntuples(res);
    /* Everything is allocated before the commit, so a failure leaves no job claimed. */
    if (rows > 0 && (a->jobs = calloc((size_t)rows, sizeof *a->jobs)) == NULL)
        rc = pg_fail_msg(CHORE_ENOMEM, "out of memory");
    for (int i = 0; i < rows && rc == CHORE_OK; i++) {
        rc = read_claimed(s, res, i, &a->jobs[i]);
        a->n = (size_t)i + 1;
    }
    PQclear(res);
    return rc;
}

/* store_ops.claim: see store.h. The jobs come back in claim order. */
int pg_claim(store *s, const store_claim_req *req, int64_t now_ms, store_claimed **out, size_t *n)
{
    if (out == NULL || n == NULL || req == NULL)
        return pg_fail_msg(CHORE_EINVAL, "claim: missing argument");
    *out = NULL;
    *n = 0;
    if (req->max == 0)
        return CHORE_OK;
    claim_args a = {req, now_ms, NULL, 0};
    int rc = pg_write_begin(s, PG_BEGIN_CLAIM, claim_body, &a);
    if (rc != CHORE_OK) {
        store_claimed_free(a.jobs, a.n);
        return rc;
    }
    *out = a.jobs;
    *n = a.jobs != NULL ? a.n : 0;
    return CHORE_OK;
}
