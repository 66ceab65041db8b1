/*
 * sqlite_read.c — the SQLite backend's reads: get, list, count_by_state,
 * count_by_name, next_run_at and change_counter, all on the read connection (behind rmu),
 * which in WAL mode never waits for the writer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"

/* Copy the row's JOB_COLUMNS (see sqlite_store.c) into info. On failure
 * info holds what was copied, for chore_job_info_free. */
static int read_job(sqlite3_stmt *st, chore_job_info *info)
{
    int rc;
    info->id = sqlite3_column_int64(st, 0);
    info->name = sq_column_strdup(st, 1, &rc);
    if (rc == CHORE_OK)
        info->queue = sq_column_strdup(st, 2, &rc);
    if (rc == CHORE_OK)
        info->payload = sq_column_strdup(st, 3, &rc);
    if (rc == CHORE_OK)
        info->unique_key = sq_column_strdup(st, 4, &rc);
    info->state = (chore_state)sqlite3_column_int(st, 5);
    info->priority = sqlite3_column_int(st, 6);
    info->attempt = sqlite3_column_int(st, 7);
    info->max_attempts = sqlite3_column_int(st, 8);
    info->timeout_ms = sqlite3_column_int64(st, 9);
    info->created_at_ms = sqlite3_column_int64(st, 10);
    info->run_at_ms = sqlite3_column_int64(st, 11);
    info->attempted_at_ms = sqlite3_column_int64(st, 12); /* NULL reads as 0 */
    info->finished_at_ms = sqlite3_column_int64(st, 13);
    info->lease_until_ms = sqlite3_column_int64(st, 14);
    return rc;
}

/* Parse the errors column, a JSON array of {attempt, at, error}. */
static int read_errors(sqlite3_stmt *st, int col, chore_job_info *info)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return CHORE_OK;
    const char *text = (const char *)sqlite3_column_text(st, col);
    if (text == NULL)
        return sq_fail_msg(CHORE_ENOMEM, "out of memory");
    const char *why = NULL;
    int rc = store_errors_from_json(text, info, &why);
    if (rc == CHORE_ESTORE)
        return sq_fail_msg(rc, "sqlite: a job's errors column is not valid JSON");
    return rc == CHORE_OK ? rc : sq_fail_msg(rc, why);
}

/* store_ops.get: see store.h. CHORE_ENOTFOUND for an unknown id. */
int sq_get(store *s, int64_t id, chore_job_info **out)
{
    if (out == NULL)
        return sq_fail_msg(CHORE_EINVAL, "get: no output");
    *out = NULL;
    chore_job_info *info = calloc(1, sizeof *info);
    if (info == NULL)
        return sq_fail_msg(CHORE_ENOMEM, "out of memory");
    pthread_mutex_lock(&s->rmu);
    int rc;
    sqlite3_stmt *st = sq_rstmt(s, SQ_R_GET, &rc);
    if (st != NULL) {
        int src = sqlite3_bind_int64(st, 1, id);
        if (src == SQLITE_OK)
            src = sqlite3_step(st);
        if (src == SQLITE_ROW) {
            rc = read_job(st, info);
            if (rc == CHORE_OK)
                rc = read_errors(st, 15, info);
            if (rc == CHORE_OK)
                info->result = sq_column_strdup(st, 16, &rc);
        } else if (src == SQLITE_DONE) {
            rc = sq_fail_msg(CHORE_ENOTFOUND, "no job with this id");
        } else {
            rc = sq_fail(s->r, src);
        }
        sqlite3_reset(st);
    }
    pthread_mutex_unlock(&s->rmu);
    if (rc != CHORE_OK) {
        chore_job_info_free(info);
        return rc;
    }
    *out = info;
    return CHORE_OK;
}

static int list_locked(store *s, const chore_list_query *q, chore_job_info **items, size_t *n)
{
    int rc;
    sqlite3_stmt *st = sq_rstmt(s, SQ_R_LIST, &rc);
    if (st == NULL)
        return rc;
    bool by_state = !q->any_state && q->state >= 0;
    int src = sqlite3_bind_int64(st, 1, q->before_id > 0 ? q->before_id : INT64_MAX);
    if (src == SQLITE_OK)
        src = by_state ? sqlite3_bind_int(st, 2, q->state) : sqlite3_bind_null(st, 2);
    if (src == SQLITE_OK)
        src = q->name != NULL ? sqlite3_bind_text(st, 3, q->name, -1, SQLITE_STATIC)
                              : sqlite3_bind_null(st, 3);
    if (src == SQLITE_OK)
        src = sqlite3_bind_int(st, 4, store_list_limit(q) + 1); /* one more: is there a next page? */
    if (src != SQLITE_OK) {
        sqlite3_reset(st);
        return sq_fail(s->r, src);
    }
    size_t cap = 0;
    rc = CHORE_OK;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            size_t ncap = cap == 0 ? 16 : cap * 2;
            chore_job_info *grown = realloc(*items, ncap * sizeof *grown);
            if (grown == NULL) {
                rc = sq_fail_msg(CHORE_ENOMEM, "out of memory");
                break;
            }
            *items = grown;
            cap = ncap;
        }
        chore_job_info *info = &(*items)[(*n)++];
        memset(info, 0, sizeof *info);
        if ((rc = read_job(st, info)) != CHORE_OK)
            break;
    }
    if (rc == CHORE_OK && src != SQLITE_DONE)
        rc = sq_fail(s->r, src);
    sqlite3_reset(st);
    return rc;
}

/* store_ops.list: see store.h. */
int sq_list(store *s, const chore_list_query *q, chore_job_info **out, size_t *n,
            int64_t *next_cursor)
{
    if (out == NULL || n == NULL)
        return sq_fail_msg(CHORE_EINVAL, "list: no output");
    *out = NULL;
    *n = 0;
    if (next_cursor != NULL)
        *next_cursor = 0;
    chore_list_query all = {.state = -1, .any_state = true};
    if (q == NULL)
        q = &all;
    if ((!q->any_state && (q->state < -1 || q->state >= CHORE_STATE_COUNT)) || q->before_id < 0)
        return sq_fail_msg(CHORE_EINVAL, "list: bad state or cursor");
    chore_job_info *items = NULL;
    size_t count = 0;
    pthread_mutex_lock(&s->rmu);
    int rc = list_locked(s, q, &items, &count);
    pthread_mutex_unlock(&s->rmu);
    if (rc != CHORE_OK) {
        chore_job_list_free(items, count);
        return rc;
    }
    store_list_page_end(items, &count, store_list_limit(q), next_cursor);
    *out = items;
    *n = count;
    return CHORE_OK;
}

/* store_ops.count_by_state: see store.h. */
int sq_count_by_state(store *s, int64_t counts[CHORE_STATE_COUNT])
{
    if (counts == NULL)
        return sq_fail_msg(CHORE_EINVAL, "count_by_state: no output");
    for (int i = 0; i < CHORE_STATE_COUNT; i++)
        counts[i] = 0;
    pthread_mutex_lock(&s->rmu);
    int rc;
    sqlite3_stmt *st = sq_rstmt(s, SQ_R_COUNT_BY_STATE, &rc);
    if (st != NULL) {
        int src;
        while ((src = sqlite3_step(st)) == SQLITE_ROW) {
            int state = sqlite3_column_int(st, 0);
            if (state >= 0 && state < CHORE_STATE_COUNT)
                counts[state] = sqlite3_column_int64(st, 1);
        }
        rc = src == SQLITE_DONE ? CHORE_OK : sq_fail(s->r, src);
        sqlite3_reset(st);
    }
    pthread_mutex_unlock(&s->rmu);
    return rc;
}

/* Add one (name, state, count) row to the array of names, which the
 * query's ORDER BY groups: a name different from the last one starts an entry. */
static int add_name_count(sqlite3_stmt *st, chore_name_counts **items, size_t *n, size_t *cap)
{
    const char *name = (const char *)sqlite3_column_text(st, 0);
    int state = sqlite3_column_int(st, 1);
    if (name == NULL)
        return sq_fail_msg(CHORE_ENOMEM, "out of memory");
    if (*n == 0 || strcmp((*items)[*n - 1].name, name) != 0) {
        if (*n == *cap) {
            size_t ncap = *cap == 0 ? 16 : *cap * 2;
            chore_name_counts *grown = realloc(*items, ncap * sizeof *grown);
            if (grown == NULL)
                return sq_fail_msg(CHORE_ENOMEM, "out of memory");
            *items = grown;
            *cap = ncap;
        }
        chore_name_counts *entry = &(*items)[*n];
        memset(entry, 0, sizeof *entry);
        if ((entry->name = strdup(name)) == NULL)
            return sq_fail_msg(CHORE_ENOMEM, "out of memory");
        (*n)++;
    }
    if (state >= 0 && state < CHORE_STATE_COUNT)
        (*items)[*n - 1].counts[state] = sqlite3_column_int64(st, 2);
    return CHORE_OK;
}

/* store_ops.count_by_name: see store.h. */
int sq_count_by_name(store *s, chore_name_counts **out, size_t *n)
{
    if (out == NULL || n == NULL)
        return sq_fail_msg(CHORE_EINVAL, "count_by_name: no output");
    *out = NULL;
    *n = 0;
    chore_name_counts *items = NULL;
    size_t count = 0, cap = 0;
    pthread_mutex_lock(&s->rmu);
    int rc;
    sqlite3_stmt *st = sq_rstmt(s, SQ_R_COUNT_BY_NAME, &rc);
    if (st != NULL) {
        int src;
        while ((src = sqlite3_step(st)) == SQLITE_ROW &&
               (rc = add_name_count(st, &items, &count, &cap)) == CHORE_OK)
            ;
        if (rc == CHORE_OK && src != SQLITE_DONE)
            rc = sq_fail(s->r, src);
        sqlite3_reset(st);
    }
    pthread_mutex_unlock(&s->rmu);
    if (rc != CHORE_OK) {
        chore_name_counts_free(items, count);
        return rc;
    }
    *out = items;
    *n = count;
    return CHORE_OK;
}

/* One row, one integer column: *out, or `none` when the value is NULL. */
static int read_scalar(store *s, enum sq_rstmt which, int64_t none, int64_t *out)
{
    if (out == NULL)
        return sq_fail_msg(CHORE_EINVAL, "no output");
    pthread_mutex_lock(&s->rmu);
    int rc;
    sqlite3_stmt *st = sq_rstmt(s, which, &rc);
    if (st != NULL) {
        int src = sqlite3_step(st);
        if (src == SQLITE_ROW) {
            *out = sqlite3_column_type(st, 0) == SQLITE_NULL ? none : sqlite3_column_int64(st, 0);
            rc = CHORE_OK;
        } else {
            rc = sq_fail(s->r, src);
        }
        sqlite3_reset(st);
    }
    pthread_mutex_unlock(&s->rmu);
    return rc;
}

/* store_ops.next_run_at: see store.h. */
int sq_next_run_at(store *s, int64_t *out)
{
    return read_scalar(s, SQ_R_NEXT_RUN_AT, INT64_MAX, out);
}

/* store_ops.change_counter: PRAGMA data_version of the read connection.
 * That connection never writes, so every commit to the file changes it:
 * other processes', chore_enqueue_tx's on the caller's connection, and this
 * store's own writer's too. The runtime may rely on "unchanged means no
 * commit by anyone since the last call", not on the size of the change. */
int sq_change_counter(store *s, int64_t *out)
{
    return read_scalar(s, SQ_R_DATA_VERSION, 0, out);
}

/* store_ops.schedule_version: bumped by every schedule put, remove, pause
 * and resume, in the same transaction. */
int sq_schedule_version(store *s, int64_t *out)
{
    return read_scalar(s, SQ_R_SCHED_VERSION, 0, out);
}
