/*
 * pg_read.c — the PostgreSQL backend's reads: get, list, count_by_state,
 * count_by_name, next_run_at and schedule_version, each one statement on
 * a pooled connection (pg_read: tried again once on a new connection when
 * the server dropped the first).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/pg_internal.h"

/* Copy row i's JOB_COLUMNS (see pg_sql.c) into info. On failure info
 * holds what was copied, for chore_job_info_free. */
static int read_job(store *s, const PGresult *res, int i, chore_job_info *info)
{
    int rc;
    info->id = pg_get_i64(res, i, 0);
    info->name = pg_get_str(res, i, 1, &rc);
    if (rc == CHORE_OK)
        info->queue = pg_get_str(res, i, 2, &rc);
    if (rc == CHORE_OK)
        info->payload = pg_get_str(res, i, 3, &rc);
    if (rc == CHORE_OK)
        info->unique_key = pg_get_str(res, i, 4, &rc);
    info->state = (chore_state)pg_get_i64(res, i, 5);
    info->priority = (int)pg_get_i64(res, i, 6);
    info->attempt = (int)pg_get_i64(res, i, 7);
    info->max_attempts = (int)pg_get_i64(res, i, 8);
    info->timeout_ms = pg_get_i64(res, i, 9);
    info->created_at_ms = pg_get_i64(res, i, 10);
    info->run_at_ms = pg_get_i64(res, i, 11);
    info->attempted_at_ms = pg_get_i64(res, i, 12); /* NULL reads as 0 */
    info->finished_at_ms = pg_get_i64(res, i, 13);
    info->lease_until_ms = pg_caller_time(s, pg_get_i64(res, i, 14)); /* stored in db time */
    return rc;
}

/* Parse the errors column, a JSON array of {attempt, at, error}. */
static int read_errors(const PGresult *res, int col, chore_job_info *info)
{
    if (PQgetisnull(res, 0, col))
        return CHORE_OK;
    const char *text = PQgetvalue(res, 0, col);
    const char *why = NULL;
    int rc = store_errors_from_json(text, info, &why);
    if (rc == CHORE_ESTORE)
        return pg_fail_msg(rc, "postgres: a job's errors column is not valid JSON");
    return rc == CHORE_OK ? rc : pg_fail_msg(rc, why);
}

typedef struct get_args {
    int64_t id;
    chore_job_info *info;
} get_args;

static int get_body(store *s, pg_conn *pc, void *arg)
{
    get_args *a = arg;
    pg_num id;
    const char *p[1] = {pg_i64(&id, a->id)};
    int rc;
    PGresult *res = pg_run(pc, PG_S_GET, 1, p, &rc);
    if (res == NULL)
        return rc;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return pg_fail_msg(CHORE_ENOTFOUND, "no job with this id");
    }
    chore_job_info *info = calloc(1, sizeof *info);
    if (info == NULL)
        rc = pg_fail_msg(CHORE_ENOMEM, "out of memory");
    if (rc == CHORE_OK)
        rc = read_job(s, res, 0, info);
    if (rc == CHORE_OK)
        rc = read_errors(res, 15, info);
    if (rc == CHORE_OK)
        info->result = pg_get_str(res, 0, 16, &rc);
    PQclear(res);
    if (rc != CHORE_OK) {
        chore_job_info_free(info);
        return rc;
    }
    a->info = info;
    return CHORE_OK;
}

/* store_ops.get: see store.h. CHORE_ENOTFOUND for an unknown id. */
int pg_get(store *s, int64_t id, chore_job_info **out)
{
    if (out == NULL)
        return pg_fail_msg(CHORE_EINVAL, "get: no output");
    *out = NULL;
    get_args a = {id, NULL};
    int rc = pg_read(s, get_body, &a);
    if (rc == CHORE_OK)
        *out = a.info;
    return rc;
}

typedef struct list_args {
    const chore_list_query *q;
    int limit;
    chore_job_info *items;
    size_t n;
} list_args;

static int list_body(store *s, pg_conn *pc, void *arg)
{
    list_args *a = arg;
    const chore_list_query *q = a->q;
    bool by_state = !q->any_state && q->state >= 0;
    pg_num before, state, limit;
    const char *p[4] = {pg_i64(&before, q->before_id > 0 ? q->before_id : INT64_MAX),
                        by_state ? pg_i64(&state, q->state) : NULL, q->name,
                        pg_i64(&limit, a->limit + 1)}; /* one more: is there a next page? */
    int rc;
    PGresult *res = pg_run(pc, PG_S_LIST, 4, p, &rc);
    if (res == NULL)
        return rc;
    int rows = PQntuples(res);
    if (rows > 0 && (a->items = calloc((size_t)rows, sizeof *a->items)) == NULL)
        rc = pg_fail_msg(CHORE_ENOMEM, "out of memory");
    for (int i = 0; i < rows && rc == CHORE_OK; i++) {
        rc = read_job(s, res, i, &a->items[i]);
        a->n = (size_t)i + 1;
    }
    PQclear(res);
    return rc;
}

/* store_ops.list: see store.h. */
int pg_list(store *s, const chore_list_query *q, chore_job_info **out, size_t *n,
            int64_t *next_cursor)
{
    if (out == NULL || n == NULL)
        return pg_fail_msg(CHORE_EINVAL, "list: no output");
    *out = NULL;
    *n = 0;
    if (next_cursor != NULL)
        *next_cursor = 0;
    chore_list_query all = {.state = -1, .any_state = true};
    if (q == NULL)
        q = &all;
    if ((!q->any_state && (q->state < -1 || q->state >= CHORE_STATE_COUNT)) || q->before_id < 0)
        return pg_fail_msg(CHORE_EINVAL, "list: bad state or cursor");
    list_args a = {q, store_list_limit(q), NULL, 0};
    int rc = pg_read(s, list_body, &a);
    if (rc != CHORE_OK) {
        chore_job_list_free(a.items, a.n);
        return rc;
    }
    store_list_page_end(a.items, &a.n, a.limit, next_cursor);
    *out = a.items;
    *n = a.n;
    return CHORE_OK;
}

static int count_state_body(store *s, pg_conn *pc, void *arg)
{
    (void)s;
    int64_t *counts = arg;
    int rc;
    PGresult *res = pg_run(pc, PG_S_COUNT_BY_STATE, 0, NULL, &rc);
    if (res == NULL)
        return rc;
    for (int i = 0; i < PQntuples(res); i++) {
        int64_t state = pg_get_i64(res, i, 0);
        if (state >= 0 && state < CHORE_STATE_COUNT)
            counts[state] = pg_get_i64(res, i, 1);
    }
    PQclear(res);
    return CHORE_OK;
}

/* store_ops.count_by_state: see store.h. */
int pg_count_by_state(store *s, int64_t counts[CHORE_STATE_COUNT])
{
    if (counts == NULL)
        return pg_fail_msg(CHORE_EINVAL, "count_by_state: no output");
    for (int i = 0; i < CHORE_STATE_COUNT; i++)
        counts[i] = 0;
    return pg_read(s, count_state_body, counts);
}

typedef struct names_args {
    chore_name_counts *items;
    size_t n;
} names_args;

static int count_name_body(store *s, pg_conn *pc, void *arg)
{
    (void)s;
    names_args *a = arg;
    int rc;
    PGresult *res = pg_run(pc, PG_S_COUNT_BY_NAME, 0, NULL, &rc);
    if (res == NULL)
        return rc;
    int rows = PQntuples(res);
    if (rows > 0 && (a->items = calloc((size_t)rows, sizeof *a->items)) == NULL)
        rc = pg_fail_msg(CHORE_ENOMEM, "out of memory");
    /* Rows come grouped by name: a name unlike the last one starts an entry. */
    for (int i = 0; i < rows && rc == CHORE_OK; i++) {
        const char *name = PQgetvalue(res, i, 0);
        if (a->n == 0 || strcmp(a->items[a->n - 1].name, name) != 0) {
            if ((a->items[a->n].name = strdup(name)) == NULL) {
                rc = pg_fail_msg(CHORE_ENOMEM, "out of memory");
                break;
            }
            a->n++;
        }
        int64_t state = pg_get_i64(res, i, 1);
        if (state >= 0 && state < CHORE_STATE_COUNT)
            a->items[a->n - 1].counts[state] = pg_get_i64(res, i, 2);
    }
    PQclear(res);
    return rc;
}

/* store_ops.count_by_name: see store.h. */
int pg_count_by_name(store *s, chore_name_counts **out, size_t *n)
{
    if (out == NULL || n == NULL)
        return pg_fail_msg(CHORE_EINVAL, "count_by_name: no output");
    *out = NULL;
    *n = 0;
    names_args a = {NULL, 0};
    int rc = pg_read(s, count_name_body, &a);
    if (rc != CHORE_OK || a.n == 0) {
        chore_name_counts_free(a.items, a.n);
        if (rc == CHORE_OK)
            free(a.items);
        return rc;
    }
    *out = a.items;
    *n = a.n;
    return CHORE_OK;
}

typedef struct scalar_args {
    enum pg_stmt which;
    int64_t none;
    int64_t value;
} scalar_args;

static int scalar_body(store *s, pg_conn *pc, void *arg)
{
    (void)s;
    scalar_args *a = arg;
    int rc;
    PGresult *res = pg_run(pc, a->which, 0, NULL, &rc);
    if (res == NULL)
        return rc;
    a->value = PQntuples(res) == 0 || PQgetisnull(res, 0, 0) ? a->none : pg_get_i64(res, 0, 0);
    PQclear(res);
    return CHORE_OK;
}

/* One row, one integer column: *out, or `none` when the value is NULL. */
static int read_scalar(store *s, enum pg_stmt which, int64_t none, int64_t *out)
{
    if (out == NULL)
        return pg_fail_msg(CHORE_EINVAL, "no output");
    scalar_args a = {which, none, 0};
    int rc = pg_read(s, scalar_body, &a);
    if (rc == CHORE_OK)
        *out = a.value;
    return rc;
}

/* store_ops.next_run_at: see store.h. */
int pg_next_run_at(store *s, int64_t *out)
{
    return read_scalar(s, PG_S_NEXT_RUN_AT, INT64_MAX, out);
}

/* store_ops.schedule_version: bumped by every schedule put, remove, pause
 * and resume, in the same transaction. */
int pg_schedule_version(store *s, int64_t *out)
{
    return read_scalar(s, PG_S_SCHED_VERSION, 0, out);
}
