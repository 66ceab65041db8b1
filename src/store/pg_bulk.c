/*
 * pg_bulk.c — the PostgreSQL backend's batches as one statement each:
 * jobs without unique keys go in as one multi-row INSERT … SELECT FROM
 * unnest(arrays), the outcomes of distinct jobs (any mix of kinds) as one
 * UPDATE … FROM unnest, and lease renewals likewise: one round trip per
 * batch instead of one per job. Jobs with unique keys, and outcomes that
 * name one job twice (their order matters), take the per-job path of
 * pg_jobs.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pg_internal.h"

/* An array literal being built: "{1,2,3}". */
typedef struct numbuf {
    char *buf;
    size_t len;
    size_t cap;
} numbuf;

static bool numbuf_add(numbuf *b, int64_t v)
{
    if (b->cap - b->len < 24) {
        size_t cap = b->cap > 0 ? b->cap * 2 : 256;
        char *grown = realloc(b->buf, cap);
        if (grown == NULL)
            return false;
        b->buf = grown;
        b->cap = cap;
    }
    b->len += (size_t)snprintf(b->buf + b->len, b->cap - b->len, "%c%" PRId64,
                               b->len == 0 ? '{' : ',', v);
    return true;
}

static bool numbuf_close(numbuf *b)
{
    if (b->len == 0 && !numbuf_add(b, 0)) /* never: n > 0 */
        return false;
    if (b->cap - b->len < 2) {
        char *grown = realloc(b->buf, b->cap + 2);
        if (grown == NULL)
            return false;
        b->buf = grown;
        b->cap += 2;
    }
    b->buf[b->len++] = '}';
    b->buf[b->len] = '\0';
    return true;
}

enum { N_TEXT = 3, N_NUM = 5 };

int pg_insert_bulk(PGconn *c, pg_conn *pc, const store_new_job *jobs, size_t n, int64_t now_ms,
                   int64_t *ids, bool *duplicate)
{
    const char **col[N_TEXT] = {NULL};
    char *texts[N_TEXT] = {NULL};
    numbuf nums[N_NUM] = {{0}};
    int rc = CHORE_OK;
    for (int k = 0; k < N_TEXT && rc == CHORE_OK; k++) {
        if ((col[k] = malloc(n * sizeof *col[k])) == NULL)
            rc = pg_fail_msg(CHORE_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n && rc == CHORE_OK; i++) {
        const store_new_job *j = &jobs[i];
        col[0][i] = j->name;
        col[1][i] = j->queue != NULL ? j->queue : "default";
        col[2][i] = j->payload != NULL ? j->payload : "{}";
        int64_t v[N_NUM] = {j->run_at_ms <= now_ms ? CHORE_AVAILABLE : CHORE_SCHEDULED,
                            j->priority, j->run_at_ms, j->max_attempts, j->timeout_ms};
        for (int k = 0; k < N_NUM; k++) {
            if (!numbuf_add(&nums[k], v[k]))
                rc = pg_fail_msg(CHORE_ENOMEM, "out of memory");
        }
    }
    for (int k = 0; k < N_TEXT && rc == CHORE_OK; k++) {
        if ((texts[k] = pg_text_array(col[k], n)) == NULL)
            rc = pg_fail_msg(CHORE_ENOMEM, "out of memory");
    }
    for (int k = 0; k < N_NUM && rc == CHORE_OK; k++) {
        if (!numbuf_close(&nums[k]))
            rc = pg_fail_msg(CHORE_ENOMEM, "out of memory");
    }
    PGresult *res = NULL;
    if (rc == CHORE_OK) {
        pg_num now;
        const char *p[9] = {texts[0],    texts[1],    texts[2],    nums[0].buf,       nums[1].buf,
                            nums[2].buf, nums[3].buf, nums[4].buf, pg_i64(&now, now_ms)};
        if (pc != NULL) {
            res = pg_run(pc, PG_S_INSERT_BULK, 9, p, &rc);
        } else {
            res = PQexecParams(c, pg_sql[PG_S_INSERT_BULK], 9, NULL, p, NULL, NULL, 0);
            if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                rc = pg_fail(c, res);
                res = NULL;
            }
        }
    }
    if (res != NULL) {
        if ((size_t)PQntuples(res) != n)
            rc = pg_fail_msg(CHORE_ESTORE, "postgres: bulk insert returned the wrong row count");
        for (size_t i = 0; i < n && rc == CHORE_OK; i++) {
            ids[i] = pg_get_i64(res, (int)i, 0);
            if (duplicate != NULL)
                duplicate[i] = false;
        }
        PQclear(res);
    }
    for (int k = 0; k < N_TEXT; k++) {
        free(col[k]);
        free(texts[k]);
    }
    for (int k = 0; k < N_NUM; k++)
        free(nums[k].buf);
    return rc;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Whether outs are n > 1 outcomes of n different jobs: then their order
 * cannot matter and one statement applies them all. */
bool pg_all_distinct(const store_outcome *outs, size_t n)
{
    if (n < 2)
        return false;
    int64_t *sorted = malloc(n * sizeof *sorted);
    if (sorted == NULL)
        return false; /* the one-by-one path copes */
    for (size_t i = 0; i < n; i++)
        sorted[i] = outs[i].id;
    qsort(sorted, n, sizeof *sorted, cmp_i64);
    bool distinct = true;
    for (size_t i = 1; i < n && distinct; i++)
        distinct = sorted[i] != sorted[i - 1];
    free(sorted);
    return distinct;
}

/* An (id, token) pair, to match what a statement returned with what was asked. */
typedef struct id_token {
    int64_t id, token;
} id_token;

static int cmp_pair(const void *a, const void *b)
{
    const id_token *x = a, *y = b;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return x->token < y->token ? -1 : x->token > y->token;
}

/* Run `which` with params, then set applied[i] when (ids[i], tokens[i])
 * came back as a row (id, token). applied may be NULL. */
static int run_and_mark(pg_conn *pc, enum pg_stmt which, int np, const char *const *params,
                        const int64_t *ids, const int64_t *tokens, size_t n, bool *applied)
{
    int rc;
    PGresult *res = pg_run(pc, which, np, params, &rc);
    if (res == NULL)
        return rc;
    size_t rows = (size_t)PQntuples(res);
    id_token *done = malloc((rows + 1) * sizeof *done);
    if (done == NULL) {
        PQclear(res);
        return pg_fail_msg(CHORE_ENOMEM, "out of memory");
    }
    for (size_t r = 0; r < rows; r++)
        done[r] = (id_token){pg_get_i64(res, (int)r, 0), pg_get_i64(res, (int)r, 1)};
    PQclear(res);
    qsort(done, rows, sizeof *done, cmp_pair);
    for (size_t i = 0; i < n && applied != NULL; i++) {
        id_token key = {ids[i], tokens[i]};
        applied[i] = bsearch(&key, done, rows, sizeof *done, cmp_pair) != NULL;
    }
    free(done);
    return CHORE_OK;
}

/* The arrays of a batch: ids, tokens, and per kind what it needs. */
typedef struct batch {
    numbuf ids, tokens, kinds, times;
    const char **texts;
    int64_t *id_v, *token_v;
} batch;

static void batch_free(batch *b)
{
    free(b->ids.buf);
    free(b->tokens.buf);
    free(b->kinds.buf);
    free(b->times.buf);
    free(b->texts);
    free(b->id_v);
    free(b->token_v);
}

int pg_finish_many(store *s, pg_conn *pc, const store_outcome *outs, size_t n, int64_t now_ms,
                   bool *applied)
{
    batch b = {0};
    char *texts = NULL;
    int rc = CHORE_OK;
    b.texts = malloc(n * sizeof *b.texts);
    b.id_v = malloc(n * sizeof *b.id_v);
    b.token_v = malloc(n * sizeof *b.token_v);
    if (b.texts == NULL || b.id_v == NULL || b.token_v == NULL)
        rc = pg_fail_msg(CHORE_ENOMEM, "out of memory");
    for (size_t i = 0; i < n && rc == CHORE_OK; i++) {
        const store_outcome *o = &outs[i];
        int64_t at = o->run_at_ms;
        if (o->kind == STORE_SUSPEND) /* the deadline is judged by rescue, in database time */
            rc = pg_db_time(s, pc, o->run_at_ms, &at);
        if (o->kind > STORE_RELEASE)
            rc = pg_fail_msg(CHORE_EINVAL, "finish: unknown outcome kind");
        b.texts[i] = o->kind == STORE_COMPLETE ? o->result : o->error;
        b.id_v[i] = o->id;
        b.token_v[i] = o->token;
        if (rc == CHORE_OK &&
            (!numbuf_add(&b.ids, o->id) || !numbuf_add(&b.tokens, o->token) ||
             !numbuf_add(&b.kinds, (int64_t)o->kind) || !numbuf_add(&b.times, at)))
            rc = pg_fail_msg(CHORE_ENOMEM, "out of memory");
    }
    if (rc == CHORE_OK && (!numbuf_close(&b.ids) || !numbuf_close(&b.tokens) ||
                           !numbuf_close(&b.kinds) || !numbuf_close(&b.times) ||
                           (texts = pg_text_array(b.texts, n)) == NULL))
        rc = pg_fail_msg(CHORE_ENOMEM, "out of memory");
    bool all_complete = true;
    for (size_t i = 0; i < n && all_complete; i++)
        all_complete = outs[i].kind == STORE_COMPLETE;
    if (rc == CHORE_OK) {
        pg_num now;
        const char *p[6] = {b.ids.buf, b.tokens.buf,  pg_i64(&now, now_ms),
                            b.kinds.buf, b.times.buf, texts};
        if (all_complete) { /* fewer expressions per row: $4 is the results */
            p[3] = texts;
            rc = run_and_mark(pc, PG_S_FIN_COMPLETE_MANY, 4, p, b.id_v, b.token_v, n, applied);
        } else {
            rc = run_and_mark(pc, PG_S_FIN_MANY, 6, p, b.id_v, b.token_v, n, applied);
        }
    }
    free(texts);
    batch_free(&b);
    return rc;
}

int pg_heartbeat_many(pg_conn *pc, const store_lease *leases, size_t n, int64_t until_db_ms,
                      bool *applied)
{
    batch b = {0};
    int rc = CHORE_OK;
    b.id_v = malloc(n * sizeof *b.id_v);
    b.token_v = malloc(n * sizeof *b.token_v);
    if (b.id_v == NULL || b.token_v == NULL)
        rc = pg_fail_msg(CHORE_ENOMEM, "out of memory");
    for (size_t i = 0; i < n && rc == CHORE_OK; i++) {
        b.id_v[i] = leases[i].id;
        b.token_v[i] = leases[i].token;
        if (!numbuf_add(&b.ids, leases[i].id) || !numbuf_add(&b.tokens, leases[i].token))
            rc = pg_fail_msg(CHORE_ENOMEM, "out of memory");
    }
    if (rc == CHORE_OK && (!numbuf_close(&b.ids) || !numbuf_close(&b.tokens)))
        rc = pg_fail_msg(CHORE_ENOMEM, "out of memory");
    if (rc == CHORE_OK) {
        pg_num until;
        const char *p[3] = {b.ids.buf, b.tokens.buf, pg_i64(&until, until_db_ms)};
        rc = run_and_mark(pc, PG_S_HEARTBEAT, 3, p, b.id_v, b.token_v, n, applied);
    }
    batch_free(&b);
    return rc;
}
