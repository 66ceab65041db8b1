/*
 * pg_schedules.c — the PostgreSQL backend's cron schedules: put, remove,
 * pause, list, get, fire and release_pending on the table chore_schedules
 * (see pg_schema.c).
 *
 * A slot fires once across any number of nodes because fire locks the
 * schedule's row (SELECT … FOR UPDATE), compares and sets its last_slot_ms
 * and inserts the slot's job in one transaction: a second node firing the
 * same slot waits for the lock, then sees the new last slot and claims
 * nothing. The job's unique key "schedule:<name>:<slot>" names the slot.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pg_internal.h"

/* What a schedule's jobs are made of: columns of a result kept alive
 * while the slots are inserted. */
typedef struct job_src {
    const char *sched;
    const PGresult *res;
    int col; /* job_name, payload, queue, priority, max_attempts, timeout_ms from here */
} job_src;

/* Insert slot's job for src (to run at the slot, or now when it has
 * passed). *id is the job; *inserted is false when a live job had the key. */
static int insert_slot(pg_conn *pc, const job_src *src, int64_t slot, int64_t now_ms, int64_t *id,
                       bool *inserted)
{
    size_t klen = strlen(src->sched) + 40;
    char *key = malloc(klen);
    if (key == NULL)
        return pg_fail_msg(CHORE_ENOMEM, "out of memory");
    snprintf(key, klen, "schedule:%s:%" PRId64, src->sched, slot);
    const PGresult *r = src->res;
    store_new_job j = {.name = PQgetvalue(r, 0, src->col),
                       .payload = PQgetvalue(r, 0, src->col + 1),
                       .queue = PQgetvalue(r, 0, src->col + 2),
                       .unique_key = key,
                       .priority = (int)pg_get_i64(r, 0, src->col + 3),
                       .max_attempts = (int)pg_get_i64(r, 0, src->col + 4),
                       .run_at_ms = slot > now_ms ? slot : now_ms,
                       .timeout_ms = pg_get_i64(r, 0, src->col + 5)};
    bool dup = false;
    int rc = pg_insert_jobs(pc->c, pc, &j, 1, now_ms, id, &dup);
    free(key);
    *inserted = rc == CHORE_OK && !dup;
    return rc;
}

/* ---------------------------------------------------------------- put, remove, pause */

typedef struct put_args {
    const store_schedule *sc;
    int64_t now_ms;
} put_args;

static int put_body(store *s, pg_conn *pc, void *arg)
{
    (void)s;
    put_args *a = arg;
    const store_schedule *sc = a->sc;
    pg_num prio, max, timeout, missed, cap, overlap, last, now;
    const char *p[15] = {sc->name,
                         sc->expr,
                         sc->zone != NULL ? sc->zone : "UTC",
                         sc->job_name,
                         sc->payload != NULL ? sc->payload : "{}",
                         sc->queue != NULL ? sc->queue : "default",
                         pg_i64(&prio, sc->priority),
                         pg_i64(&max, sc->max_attempts),
                         pg_i64(&timeout, sc->timeout_ms),
                         pg_i64(&missed, sc->missed),
                         pg_i64(&cap, sc->missed_cap),
                         pg_i64(&overlap, sc->overlap),
                         sc->paused ? "true" : "false",
                         pg_i64(&last, sc->last_slot_ms),
                         pg_i64(&now, a->now_ms)};
    int rc = pg_run_cmd(pc, PG_S_SCHED_PUT, 15, p, NULL);
    if (rc == CHORE_OK)
        rc = pg_run_cmd(pc, PG_S_SCHED_BUMP_VERSION, 0, NULL, NULL);
    return rc;
}

/* store_ops.schedule_put: see store.h. */
int pg_schedule_put(store *s, const store_schedule *sc, int64_t now_ms)
{
    if (sc == NULL || sc->name == NULL || sc->name[0] == '\0' || sc->expr == NULL ||
        sc->job_name == NULL)
        return pg_fail_msg(CHORE_EINVAL, "schedule: no name, expression or job name");
    put_args a = {sc, now_ms};
    return pg_write(s, put_body, &a);
}

typedef struct name_args {
    enum pg_stmt which;
    const char *name;
    bool paused;
    int64_t now_ms;
} name_args;

static int name_body(store *s, pg_conn *pc, void *arg)
{
    (void)s;
    name_args *a = arg;
    pg_num now;
    const char *p[3] = {a->name, a->paused ? "true" : "false", pg_i64(&now, a->now_ms)};
    int64_t changed = 0;
    int rc = pg_run_cmd(pc, a->which, a->which == PG_S_SCHED_PAUSE ? 3 : 1, p, &changed);
    if (rc != CHORE_OK)
        return rc;
    if (changed == 0)
        return pg_fail_msg(CHORE_ENOTFOUND, "no schedule with this name");
    return pg_run_cmd(pc, PG_S_SCHED_BUMP_VERSION, 0, NULL, NULL);
}

/* store_ops.schedule_remove: see store.h. */
int pg_schedule_remove(store *s, const char *name)
{
    if (name == NULL)
        return pg_fail_msg(CHORE_EINVAL, "schedule: no name");
    name_args a = {PG_S_SCHED_REMOVE, name, false, 0};
    return pg_write(s, name_body, &a);
}

/* store_ops.schedule_set_paused: see store.h. */
int pg_schedule_set_paused(store *s, const char *name, bool paused, int64_t now_ms)
{
    if (name == NULL)
        return pg_fail_msg(CHORE_EINVAL, "schedule: no name");
    name_args a = {PG_S_SCHED_PAUSE, name, paused, now_ms};
    return pg_write(s, name_body, &a);
}

/* ---------------------------------------------------------------- list, get */

/* Copy row i of SCHEDULE_COLUMNS (see pg_sql.c). On failure sc holds
 * what was copied, for store_schedule_free. */
static int read_schedule(const PGresult *res, int i, store_schedule *sc)
{
    int rc = CHORE_OK;
    char **texts[6] = {&sc->name, &sc->expr, &sc->zone, &sc->job_name, &sc->payload, &sc->queue};
    for (int k = 0; k < 6 && rc == CHORE_OK; k++)
        *texts[k] = pg_get_str(res, i, k, &rc);
    sc->priority = (int)pg_get_i64(res, i, 6);
    sc->max_attempts = (int)pg_get_i64(res, i, 7);
    sc->timeout_ms = pg_get_i64(res, i, 8);
    sc->missed = (int)pg_get_i64(res, i, 9);
    sc->missed_cap = (int)pg_get_i64(res, i, 10);
    sc->overlap = (int)pg_get_i64(res, i, 11);
    sc->paused = PQgetvalue(res, i, 12)[0] == 't';
    sc->last_slot_ms = pg_get_i64(res, i, 13);
    sc->last_job_id = pg_get_i64(res, i, 14);
    sc->pending_slot_ms = pg_get_i64(res, i, 15);
    sc->created_at_ms = pg_get_i64(res, i, 16);
    sc->updated_at_ms = pg_get_i64(res, i, 17);
    return rc;
}

typedef struct list_args {
    const char *name; /* NULL = all */
    store_schedule *items;
    size_t n;
} list_args;

static int list_body(store *s, pg_conn *pc, void *arg)
{
    (void)s;
    list_args *a = arg;
    const char *p[1] = {a->name};
    int rc;
    PGresult *res = a->name != NULL ? pg_run(pc, PG_S_SCHED_GET, 1, p, &rc)
                                    : pg_run(pc, PG_S_SCHED_LIST, 0, NULL, &rc);
    if (res == NULL)
        return rc;
    int rows = PQntuples(res);
    if (rows > 0 && (a->items = calloc((size_t)rows, sizeof *a->items)) == NULL)
        rc = pg_fail_msg(CHORE_ENOMEM, "out of memory");
    for (int i = 0; i < rows && rc == CHORE_OK; i++) {
        rc = read_schedule(res, i, &a->items[i]);
        a->n = (size_t)i + 1;
    }
    PQclear(res);
    return rc;
}

/* store_ops.schedule_list: see store.h. */
int pg_schedule_list(store *s, store_schedule **out, size_t *n)
{
    if (out == NULL || n == NULL)
        return pg_fail_msg(CHORE_EINVAL, "schedule list: no output");
    *out = NULL;
    *n = 0;
    list_args a = {NULL, NULL, 0};
    int rc = pg_read(s, list_body, &a);
    if (rc != CHORE_OK) {
        store_schedule_free(a.items, a.n);
        return rc;
    }
    *out = a.items;
    *n = a.n;
    return CHORE_OK;
}

/* store_ops.schedule_get: see store.h. */
int pg_schedule_get(store *s, const char *name, store_schedule **out)
{
    if (out == NULL || name == NULL)
        return pg_fail_msg(CHORE_EINVAL, "schedule get: no name or no output");
    *out = NULL;
    list_args a = {name, NULL, 0};
    int rc = pg_read(s, list_body, &a);
    if (rc == CHORE_OK && a.n == 0)
        rc = pg_fail_msg(CHORE_ENOTFOUND, "no schedule with this name");
    if (rc != CHORE_OK) {
        store_schedule_free(a.items, a.n);
        return rc;
    }
    *out = a.items;
    return CHORE_OK;
}

/* ---------------------------------------------------------------- fire */

/* Columns of PG_S_SCHED_FIRE_READ. */
enum { FR_PAUSED, FR_LAST_SLOT, FR_LAST_JOB, FR_PENDING, FR_OVERLAP, FR_JOB, FR_BUSY = 11 };

/* Lock schedule `name` and read it: NULL result (and rc OK) when missing. */
static int lock_and_read(pg_conn *pc, const char *name, PGresult **out)
{
    *out = NULL;
    const char *p[1] = {name};
    int rc;
    PGresult *res = pg_run(pc, PG_S_SCHED_LOCK, 1, p, &rc);
    if (res == NULL)
        return rc;
    bool exists = PQntuples(res) > 0;
    PQclear(res);
    if (!exists)
        return CHORE_OK;
    if ((res = pg_run(pc, PG_S_SCHED_FIRE_READ, 1, p, &rc)) == NULL)
        return rc;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return CHORE_OK;
    }
    *out = res;
    return CHORE_OK;
}

static int fire_one(pg_conn *pc, const store_fire *f, int64_t now_ms, store_fire_result *out)
{
    PGresult *r;
    int rc = lock_and_read(pc, f->name, &r);
    if (rc != CHORE_OK || r == NULL)
        return rc;
    if (PQgetvalue(r, 0, FR_PAUSED)[0] == 't' ||
        pg_get_i64(r, 0, FR_LAST_SLOT) != f->expected_last_ms) {
        PQclear(r);
        return CHORE_OK;
    }
    int64_t last_job = pg_get_i64(r, 0, FR_LAST_JOB);
    int64_t pending = pg_get_i64(r, 0, FR_PENDING);
    int overlap = (int)pg_get_i64(r, 0, FR_OVERLAP);
    bool busy = PQgetvalue(r, 0, FR_BUSY)[0] == 't';
    job_src src = {f->name, r, FR_JOB};
    size_t enqueued = 0;
    if (f->n_slots > 0) {
        /* A slot still waiting from QUEUE_ONE goes first: it is older. */
        if (pending != 0 && (!busy || overlap == CHORE_OVERLAP_ALLOW)) {
            bool inserted = false;
            rc = insert_slot(pc, &src, pending, now_ms, &last_job, &inserted);
            enqueued += inserted;
            pending = 0;
            busy = true;
        }
        if (rc == CHORE_OK && (overlap == CHORE_OVERLAP_ALLOW || !busy)) {
            for (size_t k = 0; k < f->n_slots && rc == CHORE_OK; k++) {
                bool inserted = false;
                rc = insert_slot(pc, &src, f->slots[k], now_ms, &last_job, &inserted);
                enqueued += inserted;
            }
        } else if (overlap == CHORE_OVERLAP_QUEUE_ONE) {
            pending = f->slots[f->n_slots - 1];
        } /* SKIP while busy: the slots are dropped */
    }
    PQclear(r);
    if (rc != CHORE_OK)
        return rc;
    pg_num last, job, pend;
    const char *p[4] = {f->name, pg_i64(&last, f->new_last_ms), pg_i64(&job, last_job),
                        pg_i64(&pend, pending)};
    if ((rc = pg_run_cmd(pc, PG_S_SCHED_FIRE_SET, 4, p, NULL)) != CHORE_OK)
        return rc;
    out->claimed = true;
    out->enqueued = enqueued;
    return CHORE_OK;
}

typedef struct fire_args {
    const store_fire *fires;
    size_t n;
    int64_t now_ms;
    store_fire_result *results;
} fire_args;

static int fire_body(store *s, pg_conn *pc, void *arg)
{
    (void)s;
    fire_args *a = arg;
    int rc = CHORE_OK;
    for (size_t i = 0; i < a->n && rc == CHORE_OK; i++) {
        a->results[i] = (store_fire_result){0};
        rc = fire_one(pc, &a->fires[i], a->now_ms, &a->results[i]);
    }
    return rc;
}

/* store_ops.schedule_fire: see store.h. All n fires are one transaction;
 * on failure none happened and every result is zeroed. */
int pg_schedule_fire(store *s, const store_fire *fires, size_t n, int64_t now_ms,
                     store_fire_result *results)
{
    if (n == 0)
        return CHORE_OK;
    if (fires == NULL)
        return pg_fail_msg(CHORE_EINVAL, "schedule fire: no fires");
    for (size_t i = 0; i < n; i++) {
        if (fires[i].name == NULL || (fires[i].n_slots > 0 && fires[i].slots == NULL))
            return pg_fail_msg(CHORE_EINVAL, "schedule fire: a fire has no name or no slots");
    }
    store_fire_result *own = NULL;
    if (results == NULL && (results = own = malloc(n * sizeof *own)) == NULL)
        return pg_fail_msg(CHORE_ENOMEM, "out of memory");
    fire_args a = {fires, n, now_ms, results};
    int rc = pg_write(s, fire_body, &a);
    if (rc != CHORE_OK)
        memset(results, 0, n * sizeof *results);
    bool enqueued = false;
    for (size_t i = 0; i < n && rc == CHORE_OK && !enqueued; i++)
        enqueued = results[i].enqueued > 0;
    if (enqueued)
        pg_listen_notify(s);
    free(own);
    return rc;
}

/* ---------------------------------------------------------------- release_pending */

typedef struct release_args {
    int64_t now_ms;
    size_t enqueued;
} release_args;

/* Release one locked schedule's pending slot if it still may go. */
static int release_one(pg_conn *pc, const char *name, int64_t now_ms, size_t *enqueued)
{
    PGresult *r;
    int rc = lock_and_read(pc, name, &r);
    if (rc != CHORE_OK || r == NULL)
        return rc;
    int64_t pending = pg_get_i64(r, 0, FR_PENDING);
    if (pending == 0 || PQgetvalue(r, 0, FR_PAUSED)[0] == 't' ||
        PQgetvalue(r, 0, FR_BUSY)[0] == 't') {
        PQclear(r);
        return CHORE_OK;
    }
    job_src src = {name, r, FR_JOB};
    int64_t id = 0;
    bool inserted = false;
    rc = insert_slot(pc, &src, pending, now_ms, &id, &inserted);
    PQclear(r);
    if (rc != CHORE_OK)
        return rc;
    *enqueued += inserted;
    pg_num job;
    const char *p[2] = {name, pg_i64(&job, id)};
    return pg_run_cmd(pc, PG_S_SCHED_RELEASE, 2, p, NULL);
}

static int release_body(store *s, pg_conn *pc, void *arg)
{
    (void)s;
    release_args *a = arg;
    int rc;
    PGresult *names = pg_run(pc, PG_S_SCHED_PENDING, 0, NULL, &rc);
    if (names == NULL)
        return rc;
    for (int i = 0; i < PQntuples(names) && rc == CHORE_OK; i++)
        rc = release_one(pc, PQgetvalue(names, i, 0), a->now_ms, &a->enqueued);
    PQclear(names);
    return rc;
}

/* store_ops.schedule_release_pending: see store.h. Paused schedules keep
 * their pending slot until resumed. */
int pg_schedule_release_pending(store *s, int64_t now_ms, size_t *enqueued)
{
    release_args a = {now_ms, 0};
    int rc = pg_write(s, release_body, &a);
    if (enqueued != NULL)
        *enqueued = rc == CHORE_OK ? a.enqueued : 0;
    if (rc == CHORE_OK && a.enqueued > 0)
        pg_listen_notify(s);
    return rc;
}
