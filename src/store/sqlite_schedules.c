/*
 * sqlite_schedules.c — the SQLite backend's cron schedules: put, remove,
 * pause, list, get, fire and release_pending on the table chore_schedules
 * (see sqlite_schema.c).
 *
 * A slot fires once because fire claims it with a compare-and-set on the
 * schedule's last_slot_ms in the same write transaction (BEGIN IMMEDIATE,
 * so the read and the write cannot interleave with another writer) that
 * inserts the slot's job, whose unique key "schedule:<name>:<slot>" names
 * the schedule and the slot. Jobs go in through sq_insert_jobs, the insert
 * code of enqueue. Reads (list, get) use the read connection.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"

/* ---------------------------------------------------------------- helpers */

/* A growable buffer reused across the fires of one call, so that a fire
 * allocates nothing once it is big enough. */
typedef struct scratch {
    char *buf;
    size_t cap;
} scratch;

static int scratch_reserve(scratch *sb, size_t need)
{
    if (need <= sb->cap)
        return CHORE_OK;
    size_t cap = sb->cap > 0 ? sb->cap : 256;
    while (cap < need)
        cap *= 2;
    char *buf = realloc(sb->buf, cap);
    if (buf == NULL)
        return sq_fail_msg(CHORE_ENOMEM, "out of memory");
    sb->buf = buf;
    sb->cap = cap;
    return CHORE_OK;
}

/* What a schedule's jobs are made of, read from its row. The strings
 * point into a scratch buffer (valid until its next reserve). */
typedef struct job_src {
    const char *sched; /* the schedule's name */
    const char *job_name;
    const char *payload;
    const char *queue;
    int priority;
    int max_attempts;
    int64_t timeout_ms;
    char *key; /* room for "schedule:<sched>:<slot>" */
    size_t key_cap;
} job_src;

/* Copy column col of st to *at and advance it. */
static const char *copy_col(sqlite3_stmt *st, int col, char **at)
{
    const unsigned char *text = sqlite3_column_text(st, col);
    size_t len = (size_t)sqlite3_column_bytes(st, col);
    char *dst = *at;
    if (text != NULL)
        memcpy(dst, text, len);
    dst[len] = '\0';
    *at += len + 1;
    return dst;
}

/* Fill src from st's columns job_name, payload, queue, priority,
 * max_attempts, timeout_ms starting at col, copying the strings (and
 * `sched` when name_col >= 0, else taking it as given) into sb. */
static int load_src(sqlite3_stmt *st, int col, int name_col, const char *sched, scratch *sb,
                    job_src *src)
{
    /* Column texts first: a later sqlite3_column_bytes keeps them valid. */
    for (int i = 0; i < 3; i++)
        if (sqlite3_column_text(st, col + i) == NULL &&
            sqlite3_column_type(st, col + i) != SQLITE_NULL)
            return sq_fail_msg(CHORE_ENOMEM, "out of memory");
    if (name_col >= 0 && sqlite3_column_text(st, name_col) == NULL)
        return sq_fail_msg(CHORE_ENOMEM, "out of memory");
    size_t name_len = name_col >= 0 ? (size_t)sqlite3_column_bytes(st, name_col) : strlen(sched);
    size_t key_cap = name_len + sizeof "schedule::" + 21;
    size_t need = key_cap + (name_col >= 0 ? name_len + 1 : 0);
    for (int i = 0; i < 3; i++)
        need += (size_t)sqlite3_column_bytes(st, col + i) + 1;
    int rc = scratch_reserve(sb, need);
    if (rc != CHORE_OK)
        return rc;
    char *at = sb->buf;
    src->sched = name_col >= 0 ? copy_col(st, name_col, &at) : sched;
    src->job_name = copy_col(st, col, &at);
    src->payload = copy_col(st, col + 1, &at);
    src->queue = copy_col(st, col + 2, &at);
    src->priority = sqlite3_column_int(st, col + 3);
    src->max_attempts = sqlite3_column_int(st, col + 4);
    src->timeout_ms = sqlite3_column_int64(st, col + 5);
    src->key = at;
    src->key_cap = key_cap;
    return CHORE_OK;
}

/* The statements a slot's insert needs, fetched once per call. */
typedef struct inserter {
    sqlite3_stmt *find;
    sqlite3_stmt *ins;
} inserter;

static int inserter_init(store *s, inserter *in)
{
    int rc;
    if ((in->find = sq_wstmt(s, SQ_W_FIND_UNIQUE, &rc)) == NULL)
        return rc;
    if ((in->ins = sq_wstmt(s, SQ_W_INSERT, &rc)) == NULL)
        return rc;
    return CHORE_OK;
}

/* Insert slot's job for src (to run at the slot, or now when it has
 * passed; keyed by schedule and slot).
 * *id is the job; *inserted is false when a live job had the key. */
static int insert_slot(store *s, const inserter *in, const job_src *src, int64_t slot,
                       int64_t now_ms, int64_t *id, bool *inserted)
{
    snprintf(src->key, src->key_cap, "schedule:%s:%" PRId64, src->sched, slot);
    store_new_job j = {.name = src->job_name,
                       .payload = src->payload,
                       .queue = src->queue,
                       .unique_key = src->key,
                       .priority = src->priority,
                       .max_attempts = src->max_attempts,
                       .run_at_ms = slot > now_ms ? slot : now_ms,
                       .timeout_ms = src->timeout_ms};
    bool dup = false;
    int rc = sq_insert_jobs(s->w, in->find, in->ins, &j, 1, now_ms, id, &dup);
    *inserted = rc == CHORE_OK && !dup;
    return rc;
}

static int bind_name(sqlite3_stmt *st, const char *name)
{
    return sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
}

/* ---------------------------------------------------------------- put, remove, pause */

typedef struct put_args {
    const store_schedule *sc;
    int64_t now_ms;
} put_args;

/* Tell every process that the schedules changed (see schedule_version). */
static int bump_version(store *s)
{
    int rc;
    sqlite3_stmt *st = sq_wstmt(s, SQ_W_SCHED_BUMP_VERSION, &rc);
    return st == NULL ? rc : sq_step_done(s->w, st);
}

static int put_body(store *s, void *arg)
{
    put_args *a = arg;
    const store_schedule *sc = a->sc;
    int rc;
    sqlite3_stmt *st = sq_wstmt(s, SQ_W_SCHED_PUT, &rc);
    if (st == NULL)
        return rc;
    const char *texts[6] = {sc->name,
                            sc->expr,
                            sc->zone != NULL ? sc->zone : "UTC",
                            sc->job_name,
                            sc->payload != NULL ? sc->payload : "{}",
                            sc->queue != NULL ? sc->queue : "default"};
    int src = SQLITE_OK;
    for (int i = 0; i < 6 && src == SQLITE_OK; i++)
        src = sqlite3_bind_text(st, i + 1, texts[i], -1, SQLITE_STATIC);
    if (src == SQLITE_OK)
        src = sqlite3_bind_int(st, 7, sc->priority);
    if (src == SQLITE_OK)
        src = sqlite3_bind_int(st, 8, sc->max_attempts);
    if (src == SQLITE_OK)
        src = sqlite3_bind_int64(st, 9, sc->timeout_ms);
    if (src == SQLITE_OK)
        src = sqlite3_bind_int(st, 10, sc->missed);
    if (src == SQLITE_OK)
        src = sqlite3_bind_int(st, 11, sc->missed_cap);
    if (src == SQLITE_OK)
        src = sqlite3_bind_int(st, 12, sc->overlap);
    if (src == SQLITE_OK)
        src = sqlite3_bind_int(st, 13, sc->paused ? 1 : 0);
    if (src == SQLITE_OK)
        src = sqlite3_bind_int64(st, 14, sc->last_slot_ms);
    if (src == SQLITE_OK)
        src = sqlite3_bind_int64(st, 15, a->now_ms);
    if (src != SQLITE_OK) {
        sqlite3_reset(st);
        return sq_fail(s->w, src);
    }
    if ((rc = sq_step_done(s->w, st)) != CHORE_OK)
        return rc;
    return bump_version(s);
}

/* store_ops.schedule_put: see store.h. A NULL zone, payload or queue is
 * "UTC", "{}" or "default"; name, expr and job_name are required. */
int sq_schedule_put(store *s, const store_schedule *sc, int64_t now_ms)
{
    if (sc == NULL || sc->name == NULL || sc->name[0] == '\0' || sc->expr == NULL ||
        sc->job_name == NULL)
        return sq_fail_msg(CHORE_EINVAL, "schedule: no name, expression or job name");
    put_args a = {sc, now_ms};
    return sq_write(s, put_body, &a);
}

typedef struct name_args {
    enum sq_wstmt which;
    const char *name;
    bool paused;
    int64_t now_ms;
} name_args;

static int name_body(store *s, void *arg)
{
    name_args *a = arg;
    int rc;
    sqlite3_stmt *st = sq_wstmt(s, a->which, &rc);
    if (st == NULL)
        return rc;
    int src = bind_name(st, a->name);
    if (src == SQLITE_OK && a->which == SQ_W_SCHED_PAUSE) {
        src = sqlite3_bind_int(st, 2, a->paused ? 1 : 0);
        if (src == SQLITE_OK)
            src = sqlite3_bind_int64(st, 3, a->now_ms);
    }
    if (src != SQLITE_OK) {
        sqlite3_reset(st);
        return sq_fail(s->w, src);
    }
    if ((rc = sq_step_done(s->w, st)) != CHORE_OK)
        return rc;
    if (sqlite3_changes(s->w) == 0)
        return sq_fail_msg(CHORE_ENOTFOUND, "no schedule with this name");
    return bump_version(s);
}

/* store_ops.schedule_remove: see store.h. */
int sq_schedule_remove(store *s, const char *name)
{
    if (name == NULL)
        return sq_fail_msg(CHORE_EINVAL, "schedule: no name");
    name_args a = {SQ_W_SCHED_REMOVE, name, false, 0};
    return sq_write(s, name_body, &a);
}

/* store_ops.schedule_set_paused: see store.h. Sets updated_at. */
int sq_schedule_set_paused(store *s, const char *name, bool paused, int64_t now_ms)
{
    if (name == NULL)
        return sq_fail_msg(CHORE_EINVAL, "schedule: no name");
    name_args a = {SQ_W_SCHED_PAUSE, name, paused, now_ms};
    return sq_write(s, name_body, &a);
}

/* ---------------------------------------------------------------- list, get */

/* Copy a row of SCHEDULE_COLUMNS (see sqlite_store.c). On failure sc holds
 * what was copied, for store_schedule_free. */
static int read_schedule(sqlite3_stmt *st, store_schedule *sc)
{
    int rc = CHORE_OK;
    char **texts[6] = {&sc->name, &sc->expr, &sc->zone, &sc->job_name, &sc->payload, &sc->queue};
    for (int i = 0; i < 6 && rc == CHORE_OK; i++)
        *texts[i] = sq_column_strdup(st, i, &rc);
    sc->priority = sqlite3_column_int(st, 6);
    sc->max_attempts = sqlite3_column_int(st, 7);
    sc->timeout_ms = sqlite3_column_int64(st, 8);
    sc->missed = sqlite3_column_int(st, 9);
    sc->missed_cap = sqlite3_column_int(st, 10);
    sc->overlap = sqlite3_column_int(st, 11);
    sc->paused = sqlite3_column_int(st, 12) != 0;
    sc->last_slot_ms = sqlite3_column_int64(st, 13);
    sc->last_job_id = sqlite3_column_int64(st, 14);
    sc->pending_slot_ms = sqlite3_column_int64(st, 15);
    sc->created_at_ms = sqlite3_column_int64(st, 16);
    sc->updated_at_ms = sqlite3_column_int64(st, 17);
    return rc;
}

static int list_locked(store *s, store_schedule **items, size_t *n)
{
    int rc;
    sqlite3_stmt *st = sq_rstmt(s, SQ_R_SCHED_LIST, &rc);
    if (st == NULL)
        return rc;
    size_t cap = 0;
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            size_t ncap = cap > 0 ? cap * 2 : 16;
            store_schedule *grown = realloc(*items, ncap * sizeof *grown);
            if (grown == NULL) {
                rc = sq_fail_msg(CHORE_ENOMEM, "out of memory");
                break;
            }
            memset(grown + cap, 0, (ncap - cap) * sizeof *grown);
            *items = grown;
            cap = ncap;
        }
        rc = read_schedule(st, &(*items)[*n]);
        (*n)++; /* counted even when partial, so that it is freed */
        if (rc != CHORE_OK)
            break;
    }
    if (rc == CHORE_OK && src != SQLITE_DONE)
        rc = sq_fail(s->r, src);
    sqlite3_reset(st);
    return rc;
}

/* store_ops.schedule_list: see store.h. */
int sq_schedule_list(store *s, store_schedule **out, size_t *n)
{
    if (out == NULL || n == NULL)
        return sq_fail_msg(CHORE_EINVAL, "schedule list: no output");
    store_schedule *items = NULL;
    size_t count = 0;
    pthread_mutex_lock(&s->rmu);
    int rc = list_locked(s, &items, &count);
    pthread_mutex_unlock(&s->rmu);
    if (rc != CHORE_OK) {
        store_schedule_free(items, count);
        *out = NULL;
        *n = 0;
        return rc;
    }
    *out = items;
    *n = count;
    return CHORE_OK;
}

/* store_ops.schedule_get: see store.h. CHORE_ENOTFOUND for an unknown
 * name. *out is one malloc'd schedule: store_schedule_free(*out, 1). */
int sq_schedule_get(store *s, const char *name, store_schedule **out)
{
    if (out == NULL || name == NULL)
        return sq_fail_msg(CHORE_EINVAL, "schedule get: no name or no output");
    *out = NULL;
    store_schedule *sc = calloc(1, sizeof *sc);
    if (sc == NULL)
        return sq_fail_msg(CHORE_ENOMEM, "out of memory");
    pthread_mutex_lock(&s->rmu);
    int rc;
    sqlite3_stmt *st = sq_rstmt(s, SQ_R_SCHED_GET, &rc);
    if (st != NULL) {
        int src = bind_name(st, name);
        if (src == SQLITE_OK)
            src = sqlite3_step(st);
        if (src == SQLITE_ROW)
            rc = read_schedule(st, sc);
        else if (src == SQLITE_DONE)
            rc = sq_fail_msg(CHORE_ENOTFOUND, "no schedule with this name");
        else
            rc = sq_fail(s->r, src);
        sqlite3_reset(st);
    }
    pthread_mutex_unlock(&s->rmu);
    if (rc != CHORE_OK) {
        store_schedule_free(sc, 1);
        return rc;
    }
    *out = sc;
    return CHORE_OK;
}

/* ---------------------------------------------------------------- fire */

typedef struct fire_args {
    const store_fire *fires;
    size_t n;
    int64_t now_ms;
    store_fire_result *results;
    scratch sb;
} fire_args;

/* Columns of SQ_W_SCHED_FIRE_READ. */
enum { FR_PAUSED, FR_LAST_SLOT, FR_LAST_JOB, FR_PENDING, FR_OVERLAP, FR_JOB, FR_BUSY = 11 };

/* Read the schedule of fire f. *claimed is false when it does not match
 * (missing, paused or another last slot); else src and the rest are set. */
static int fire_read(store *s, const store_fire *f, scratch *sb, bool *claimed, job_src *src,
                     int64_t *last_job, int64_t *pending, int *overlap, bool *busy)
{
    int rc;
    sqlite3_stmt *st = sq_wstmt(s, SQ_W_SCHED_FIRE_READ, &rc);
    if (st == NULL)
        return rc;
    int step = bind_name(st, f->name);
    if (step == SQLITE_OK)
        step = sqlite3_step(st);
    *claimed = step == SQLITE_ROW && sqlite3_column_int(st, FR_PAUSED) == 0 &&
               sqlite3_column_int64(st, FR_LAST_SLOT) == f->expected_last_ms;
    rc = CHORE_OK;
    if (step != SQLITE_ROW && step != SQLITE_DONE) {
        rc = sq_fail(s->w, step);
    } else if (*claimed) {
        *last_job = sqlite3_column_int64(st, FR_LAST_JOB);
        *pending = sqlite3_column_int64(st, FR_PENDING);
        *overlap = sqlite3_column_int(st, FR_OVERLAP);
        *busy = sqlite3_column_int(st, FR_BUSY) != 0;
        rc = load_src(st, FR_JOB, -1, f->name, sb, src);
    }
    sqlite3_reset(st);
    return rc;
}

static int fire_one(store *s, const inserter *in, fire_args *a, const store_fire *f,
                    store_fire_result *res)
{
    job_src src;
    int64_t last_job = 0, pending = 0;
    int overlap = 0;
    bool busy = false, claimed = false;
    int rc = fire_read(s, f, &a->sb, &claimed, &src, &last_job, &pending, &overlap, &busy);
    if (rc != CHORE_OK || !claimed)
        return rc;
    size_t enqueued = 0;
    if (f->n_slots > 0) {
        /* A slot still waiting from QUEUE_ONE goes first, now that the last
         * job is final (or the policy became ALLOW): it is older. */
        if (pending != 0 && (!busy || overlap == CHORE_OVERLAP_ALLOW)) {
            bool inserted;
            rc = insert_slot(s, in, &src, pending, a->now_ms, &last_job, &inserted);
            if (rc != CHORE_OK)
                return rc;
            enqueued += inserted;
            pending = 0;
            busy = true;
        }
        if (overlap == CHORE_OVERLAP_ALLOW || !busy) {
            for (size_t k = 0; k < f->n_slots; k++) {
                bool inserted;
                rc = insert_slot(s, in, &src, f->slots[k], a->now_ms, &last_job, &inserted);
                if (rc != CHORE_OK)
                    return rc;
                enqueued += inserted;
            }
        } else if (overlap == CHORE_OVERLAP_QUEUE_ONE) {
            pending = f->slots[f->n_slots - 1];
        } /* SKIP while busy: the slots are dropped */
    }
    sqlite3_stmt *st = sq_wstmt(s, SQ_W_SCHED_FIRE_SET, &rc);
    if (st == NULL)
        return rc;
    int step = bind_name(st, f->name);
    if (step == SQLITE_OK)
        step = sqlite3_bind_int64(st, 2, f->new_last_ms);
    if (step == SQLITE_OK)
        step = sqlite3_bind_int64(st, 3, last_job);
    if (step == SQLITE_OK)
        step = sqlite3_bind_int64(st, 4, pending);
    if (step != SQLITE_OK) {
        sqlite3_reset(st);
        return sq_fail(s->w, step);
    }
    if ((rc = sq_step_done(s->w, st)) != CHORE_OK)
        return rc;
    res->claimed = true;
    res->enqueued = enqueued;
    return CHORE_OK;
}

static int fire_body(store *s, void *arg)
{
    fire_args *a = arg;
    inserter in;
    int rc = inserter_init(s, &in);
    for (size_t i = 0; i < a->n && rc == CHORE_OK; i++) {
        a->results[i] = (store_fire_result){0};
        rc = fire_one(s, &in, a, &a->fires[i], &a->results[i]);
    }
    return rc;
}

/* store_ops.schedule_fire: see store.h. All n fires are one transaction;
 * on failure none of them happened and every result is zeroed. Besides
 * store.h's rules: a claimed fire with slots first enqueues the schedule's
 * pending slot, if any, when the last job is no longer busy (what
 * release_pending would have done a moment earlier). results may be NULL. */
int sq_schedule_fire(store *s, const store_fire *fires, size_t n, int64_t now_ms,
                     store_fire_result *results)
{
    if (n == 0)
        return CHORE_OK;
    if (fires == NULL)
        return sq_fail_msg(CHORE_EINVAL, "schedule fire: no fires");
    for (size_t i = 0; i < n; i++) {
        if (fires[i].name == NULL || (fires[i].n_slots > 0 && fires[i].slots == NULL))
            return sq_fail_msg(CHORE_EINVAL, "schedule fire: a fire has no name or no slots");
    }
    store_fire_result *own = NULL;
    if (results == NULL && (results = own = malloc(n * sizeof *own)) == NULL)
        return sq_fail_msg(CHORE_ENOMEM, "out of memory");
    fire_args a = {fires, n, now_ms, results, {NULL, 0}};
    int rc = sq_write(s, fire_body, &a);
    if (rc != CHORE_OK)
        memset(results, 0, n * sizeof *results);
    free(a.sb.buf);
    free(own);
    return rc;
}

/* ---------------------------------------------------------------- release_pending */

typedef struct release_args {
    int64_t now_ms;
    size_t enqueued;
    scratch sb;
} release_args;

/* Columns of SQ_W_SCHED_PENDING_NEXT. */
enum { PN_NAME, PN_SLOT, PN_JOB };

static int release_body(store *s, void *arg)
{
    release_args *a = arg;
    inserter in;
    int rc = inserter_init(s, &in);
    if (rc != CHORE_OK)
        return rc;
    sqlite3_stmt *next = sq_wstmt(s, SQ_W_SCHED_PENDING_NEXT, &rc);
    if (next == NULL)
        return rc;
    sqlite3_stmt *set = sq_wstmt(s, SQ_W_SCHED_RELEASE, &rc);
    if (set == NULL)
        return rc;
    /* One schedule per query, by name after the last one: the row is read
     * and the statement reset before anything is written. */
    const char *after = "";
    for (;;) {
        int step = sqlite3_bind_text(next, 1, after, -1, SQLITE_TRANSIENT);
        if (step == SQLITE_OK)
            step = sqlite3_step(next);
        if (step == SQLITE_DONE) {
            sqlite3_reset(next);
            return CHORE_OK;
        }
        if (step != SQLITE_ROW) {
            sqlite3_reset(next);
            return sq_fail(s->w, step);
        }
        int64_t slot = sqlite3_column_int64(next, PN_SLOT);
        job_src src;
        rc = load_src(next, PN_JOB, PN_NAME, NULL, &a->sb, &src);
        sqlite3_reset(next);
        if (rc != CHORE_OK)
            return rc;
        int64_t id = 0;
        bool inserted = false;
        if ((rc = insert_slot(s, &in, &src, slot, a->now_ms, &id, &inserted)) != CHORE_OK)
            return rc;
        a->enqueued += inserted;
        step = bind_name(set, src.sched);
        if (step == SQLITE_OK)
            step = sqlite3_bind_int64(set, 2, id);
        if (step != SQLITE_OK) {
            sqlite3_reset(set);
            return sq_fail(s->w, step);
        }
        if ((rc = sq_step_done(s->w, set)) != CHORE_OK)
            return rc;
        after = src.sched;
    }
}

/* store_ops.schedule_release_pending: see store.h. Paused schedules keep
 * their pending slot until resumed. */
int sq_schedule_release_pending(store *s, int64_t now_ms, size_t *enqueued)
{
    release_args a = {now_ms, 0, {NULL, 0}};
    int rc = sq_write(s, release_body, &a);
    free(a.sb.buf);
    if (enqueued != NULL)
        *enqueued = rc == CHORE_OK ? a.enqueued : 0;
    return rc;
}
