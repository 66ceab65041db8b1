/*
 * sqlite_claim.c — the SQLite backend's claim: promote due scheduled jobs,
 * then lease the first available ones in one UPDATE … RETURNING.
 *
 * Each name is its own slice of the claim order and each queue filter an
 * `IN (?, …)` list, so each combination of list lengths is its own
 * statement; the few in use (a runtime asks with the same handler names
 * every time) stay prepared in a small cache.
 */
#include <stdint.h>
#include <stdlib.h>

#include "store/sqlite_internal.h"

/* A claimed job with the keys of the claim order. */
typedef struct keyed_claim {
    store_claimed job;
    int64_t priority;
    int64_t run_at;
} keyed_claim;

/* Append " AND queue IN (?p, …)" for n_queues queues starting at parameter `param`. */
static void append_queue_filter(sqlite3_str *q, size_t n_queues, size_t param)
{
    if (n_queues == 0)
        return;
    sqlite3_str_appendall(q, " AND queue IN (");
    for (size_t i = 0; i < n_queues; i++)
        sqlite3_str_appendf(q, "%s?%llu", i > 0 ? ", " : "", (unsigned long long)(param + i));
    sqlite3_str_appendall(q, ")");
}

/* The claim statement for these list lengths: ?1 lease_until, ?2 now,
 * ?3 limit, ?4 horizon, then the names, then the queues. NULL on failure.
 *
 * With names, each name reads its own slice of the available index in
 * claim order, and its own slice of the scheduled index up to the horizon,
 * each stopping at the limit; the slices are then merged, due jobs first.
 * Jobs of other names (for outside workers, say) are never read. Without
 * names, every candidate is sorted: fine for small queues, not backlogs. */
static char *claim_sql(size_t n_names, size_t n_queues)
{
    sqlite3_str *q = sqlite3_str_new(NULL);
    /* The new token is past both the last one and now in microseconds:
     * claims are not synced, and one lost to a power failure must not hand
     * its token out again to the next claim. */
    sqlite3_str_appendall(q, "UPDATE chore_jobs SET state = 2, attempt = attempt + 1,"
                             " token = max(token + 1, ?2 * 1000), lease_until = ?1,"
                             " attempted_at = ?2 WHERE id IN (");
    size_t queue_param = 5 + n_names;
    if (n_names == 0) {
        sqlite3_str_appendall(q, "SELECT id FROM chore_jobs"
                                 " WHERE (state = 1 OR (state = 0 AND run_at <= ?4))");
        append_queue_filter(q, n_queues, queue_param);
    } else {
        sqlite3_str_appendall(q, "SELECT id FROM (");
        for (size_t i = 0; i < n_names; i++) {
            unsigned long long name_param = 5 + i;
            sqlite3_str_appendf(q,
                                "%sSELECT * FROM (SELECT id, priority, run_at FROM chore_jobs"
                                " WHERE state = 1 AND name = ?%llu",
                                i > 0 ? " UNION ALL " : "", name_param);
            append_queue_filter(q, n_queues, queue_param);
            sqlite3_str_appendf(q,
                                " ORDER BY priority, run_at, id LIMIT ?3)"
                                " UNION ALL SELECT * FROM (SELECT id, priority, run_at"
                                " FROM chore_jobs WHERE state = 0 AND run_at <= ?4"
                                " AND name = ?%llu",
                                name_param);
            append_queue_filter(q, n_queues, queue_param);
            sqlite3_str_appendall(q, " ORDER BY run_at, id LIMIT ?3)");
        }
        sqlite3_str_appendall(q, ")");
    }
    sqlite3_str_appendall(q, " ORDER BY run_at > ?2, priority, run_at, id LIMIT ?3)"
                             " RETURNING id, token, name, queue, payload, attempt,"
                             " max_attempts, timeout_ms, lease_until, priority, run_at");
    return sqlite3_str_finish(q); /* NULL when memory ran out */
}

static sqlite3_stmt *claim_stmt(store *s, size_t n_names, size_t n_queues, int *rc)
{
    for (size_t i = 0; i < SQ_CLAIM_CACHE; i++) {
        sq_claim_cached *c = &s->claim_cache[i];
        if (c->stmt != NULL && c->n_names == n_names && c->n_queues == n_queues)
            return c->stmt;
    }
    char *sql = claim_sql(n_names, n_queues);
    if (sql == NULL) {
        *rc = sq_fail_msg(CHORE_ENOMEM, "out of memory");
        return NULL;
    }
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v3(s->w, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    sqlite3_free(sql);
    if (src != SQLITE_OK) {
        *rc = sq_fail(s->w, src);
        sqlite3_finalize(st);
        return NULL;
    }
    sq_claim_cached *slot = &s->claim_cache[s->claim_next];
    s->claim_next = (s->claim_next + 1) % SQ_CLAIM_CACHE;
    sqlite3_finalize(slot->stmt);
    slot->n_names = n_names;
    slot->n_queues = n_queues;
    slot->stmt = st;
    return st;
}

/* Finalize the cached claim statements (on close). */
void sq_claim_cache_clear(store *s)
{
    for (size_t i = 0; i < SQ_CLAIM_CACHE; i++) {
        sqlite3_finalize(s->claim_cache[i].stmt);
        s->claim_cache[i].stmt = NULL;
    }
}

static void keyed_free(keyed_claim *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        store_claimed_clear(&items[i].job);
    free(items);
}

/* Claim order: due jobs before held ones, then priority, run_at, id. */
static int keyed_cmp(const void *a, const void *b, void *now_ms)
{
    const keyed_claim *x = a, *y = b;
    int64_t now = *(const int64_t *)now_ms;
    bool x_held = x->run_at > now, y_held = y->run_at > now;
    if (x_held != y_held)
        return x_held ? 1 : -1;
    if (x->priority != y->priority)
        return x->priority < y->priority ? -1 : 1;
    if (x->run_at != y->run_at)
        return x->run_at < y->run_at ? -1 : 1;
    return x->job.id < y->job.id ? -1 : x->job.id > y->job.id;
}

/* Read one RETURNING row into k. */
static int read_claimed(sqlite3_stmt *st, keyed_claim *k)
{
    int rc;
    k->job.id = sqlite3_column_int64(st, 0);
    k->job.token = sqlite3_column_int64(st, 1);
    k->job.name = sq_column_strdup(st, 2, &rc);
    if (rc == CHORE_OK)
        k->job.queue = sq_column_strdup(st, 3, &rc);
    if (rc == CHORE_OK)
        k->job.payload = sq_column_strdup(st, 4, &rc);
    k->job.attempt = sqlite3_column_int(st, 5);
    k->job.max_attempts = sqlite3_column_int(st, 6);
    k->job.timeout_ms = sqlite3_column_int64(st, 7);
    k->job.lease_until_ms = sqlite3_column_int64(st, 8);
    k->priority = sqlite3_column_int64(st, 9);
    k->run_at = sqlite3_column_int64(st, 10);
    k->job.run_at_ms = k->run_at;
    return rc;
}

typedef struct claim_args {
    const store_claim_req *req;
    int64_t now_ms;
    keyed_claim *items; /* as read */
    size_t n;
    store_claimed *jobs; /* in claim order, made before the commit */
} claim_args;

static int claim_body(store *s, void *arg)
{
    claim_args *a = arg;
    const store_claim_req *req = a->req;
    int rc;
    sqlite3_stmt *st = sq_wstmt(s, SQ_W_PROMOTE, &rc);
    if (st == NULL)
        return rc;
    int src = sqlite3_bind_int64(st, 1, a->now_ms);
    if (src != SQLITE_OK)
        return sq_fail(s->w, src);
    if ((rc = sq_step_done(s->w, st)) != CHORE_OK)
        return rc;

    size_t n_names = req->names != NULL ? req->n_names : 0;
    size_t n_queues = req->queues != NULL ? req->n_queues : 0;
    if ((st = claim_stmt(s, n_names, n_queues, &rc)) == NULL)
        return rc;
    int64_t limit = req->max > (size_t)INT64_MAX ? INT64_MAX : (int64_t)req->max;
    src = sqlite3_bind_int64(st, 1, a->now_ms + req->lease_ms);
    if (src == SQLITE_OK)
        src = sqlite3_bind_int64(st, 2, a->now_ms);
    if (src == SQLITE_OK)
        src = sqlite3_bind_int64(st, 3, limit);
    if (src == SQLITE_OK)
        src = sqlite3_bind_int64(st, 4, req->horizon_ms > a->now_ms ? req->horizon_ms : a->now_ms);
    int param = 5;
    for (size_t i = 0; i < n_names && src == SQLITE_OK; i++)
        src = sqlite3_bind_text(st, param++, req->names[i], -1, SQLITE_STATIC);
    for (size_t i = 0; i < n_queues && src == SQLITE_OK; i++)
        src = sqlite3_bind_text(st, param++, req->queues[i], -1, SQLITE_STATIC);
    if (src != SQLITE_OK) {
        sqlite3_reset(st);
        return sq_fail(s->w, src);
    }

    size_t cap = 0;
    rc = CHORE_OK;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (a->n == cap) {
            size_t ncap = cap == 0 ? (req->max < 64 ? req->max : 64) : cap * 2;
            keyed_claim *grown = realloc(a->items, ncap * sizeof *grown);
            if (grown == NULL) {
                rc = sq_fail_msg(CHORE_ENOMEM, "out of memory");
                break;
            }
            a->items = grown;
            cap = ncap;
        }
        keyed_claim *k = &a->items[a->n++];
        k->job.name = k->job.queue = k->job.payload = NULL;
        if ((rc = read_claimed(st, k)) != CHORE_OK)
            break;
    }
    if (rc == CHORE_OK && src != SQLITE_DONE)
        rc = sq_fail(s->w, src);
    sqlite3_reset(st);
    if (rc != CHORE_OK || a->n == 0)
        return rc;
    /* RETURNING gives rows in no promised order. Everything is allocated
     * before the commit, so a failure leaves no job claimed. */
    qsort_r(a->items, a->n, sizeof *a->items, keyed_cmp, &a->now_ms);
    if ((a->jobs = malloc(a->n * sizeof *a->jobs)) == NULL)
        return sq_fail_msg(CHORE_ENOMEM, "out of memory");
    for (size_t i = 0; i < a->n; i++)
        a->jobs[i] = a->items[i].job;
    return CHORE_OK;
}

/* store_ops.claim: see store.h. The jobs come back in claim order. */
int sq_claim(store *s, const store_claim_req *req, int64_t now_ms, store_claimed **out, size_t *n)
{
    if (out == NULL || n == NULL || req == NULL)
        return sq_fail_msg(CHORE_EINVAL, "claim: missing argument");
    *out = NULL;
    *n = 0;
    if (req->max == 0)
        return CHORE_OK;
    claim_args a = {req, now_ms, NULL, 0, NULL};
    int rc = sq_write_unsynced(s, claim_body, &a); /* a lost claim is claimed again */
    if (rc != CHORE_OK) {
        free(a.jobs); /* the strings belong to a.items */
        keyed_free(a.items, a.n);
        return rc;
    }
    free(a.items);
    *out = a.jobs;
    *n = a.jobs != NULL ? a.n : 0;
    return CHORE_OK;
}
