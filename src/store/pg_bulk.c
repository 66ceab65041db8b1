/*
 * pg_bulk.c — the PostgreSQL backend's batches as one statement each:
 * jobs without unique keys go in as one multi-row INSERT … SELECT FROM
 * unnest(arrays), and completions of distinct jobs as one UPDATE … FROM
 * unnest: one round trip per batch instead of one per job. Jobs with
 * unique keys and mixed outcomes take the per-job path of pg_jobs.c.
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

/* Whether outs is n completions of n different jobs: then their order
 * cannot matter and one statement applies them all. */
bool pg_all_distinct_completions(const store_outcome *outs, size_t n)
{
    if (n < 2)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (outs[i].kind != STORE_COMPLETE)
            return false;
    }
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

int pg_complete_many(pg_conn *pc, const store_outcome *outs, size_t n, int64_t now_ms,
                     bool *applied)
{
    numbuf ids = {0}, tokens = {0};
    const char **results = malloc(n * sizeof *results);
    char *res_array = NULL;
    int rc = results != NULL ? CHORE_OK : pg_fail_msg(CHORE_ENOMEM, "out of memory");
    for (size_t i = 0; i < n && rc == CHORE_OK; i++) {
        results[i] = outs[i].result;
        if (!numbuf_add(&ids, outs[i].id) || !numbuf_add(&tokens, outs[i].token))
            rc = pg_fail_msg(CHORE_ENOMEM, "out of memory");
    }
    if (rc == CHORE_OK && (!numbuf_close(&ids) || !numbuf_close(&tokens) ||
                           (res_array = pg_text_array(results, n)) == NULL))
        rc = pg_fail_msg(CHORE_ENOMEM, "out of memory");
    PGresult *res = NULL;
    if (rc == CHORE_OK) {
        pg_num now;
        const char *p[4] = {ids.buf, tokens.buf, pg_i64(&now, now_ms), res_array};
        res = pg_run(pc, PG_S_FIN_COMPLETE_MANY, 4, p, &rc);
    }
    if (res != NULL) {
        /* Mark what came back: ids are distinct, so a sorted copy finds each. */
        int rows = PQntuples(res);
        int64_t *done = malloc(((size_t)rows + 1) * sizeof *done);
        if (done == NULL) {
            rc = pg_fail_msg(CHORE_ENOMEM, "out of memory");
        } else {
            for (int r = 0; r < rows; r++)
                done[r] = pg_get_i64(res, r, 0);
            qsort(done, (size_t)rows, sizeof *done, cmp_i64);
            for (size_t i = 0; i < n && applied != NULL; i++)
                applied[i] = bsearch(&outs[i].id, done, (size_t)rows, sizeof *done, cmp_i64) !=
                             NULL;
            free(done);
        }
        PQclear(res);
    }
    free(ids.buf);
    free(tokens.buf);
    free(res_array);
    free(results);
    return rc;
}
