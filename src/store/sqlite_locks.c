/*
 * sqlite_locks.c — the SQLite backend's loop locks: lock_acquire and
 * lock_release on the table chore_locks (see sqlite_schema.c), one lease
 * row per lock, so processes sharing one file take turns.
 *
 * acquire is one write transaction (BEGIN IMMEDIATE, so no other writer
 * comes between its two statements): an UPSERT that takes the row when it
 * is absent, expired (expires_at <= now) or already the owner's, and
 * changes nothing otherwise; then the row's owner is read back and the
 * lock is held when it is ours. Acquire and release commit unsynced: a
 * renewal lost in a power cut costs nothing, as the lease just expires,
 * and a lost release only makes the others wait out that lease.
 */
#include <stdint.h>
#include <string.h>

#include "pure/instant.h"
#include "store/sqlite_internal.h"

typedef struct lock_args {
    const char *name;
    const char *owner;
    int64_t now_ms;
    int64_t expires_at;
    bool held;
} lock_args;

static int acquire_body(store *s, void *arg)
{
    lock_args *a = arg;
    int rc;
    sqlite3_stmt *take = sq_wstmt(s, SQ_W_LOCK_TAKE, &rc);
    if (take == NULL)
        return rc;
    int src = sqlite3_bind_text(take, 1, a->name, -1, SQLITE_STATIC);
    if (src == SQLITE_OK)
        src = sqlite3_bind_text(take, 2, a->owner, -1, SQLITE_STATIC);
    if (src == SQLITE_OK)
        src = sqlite3_bind_int64(take, 3, a->now_ms);
    if (src == SQLITE_OK)
        src = sqlite3_bind_int64(take, 4, a->expires_at);
    if (src != SQLITE_OK) {
        sqlite3_reset(take);
        return sq_fail(s->w, src);
    }
    if ((rc = sq_step_done(s->w, take)) != CHORE_OK)
        return rc;

    sqlite3_stmt *who = sq_wstmt(s, SQ_W_LOCK_OWNER, &rc);
    if (who == NULL)
        return rc;
    src = sqlite3_bind_text(who, 1, a->name, -1, SQLITE_STATIC);
    if (src != SQLITE_OK) {
        sqlite3_reset(who);
        return sq_fail(s->w, src);
    }
    src = sqlite3_step(who);
    if (src == SQLITE_ROW) {
        const unsigned char *owner = sqlite3_column_text(who, 0);
        if (owner == NULL) {
            sqlite3_reset(who);
            return sq_fail_msg(CHORE_ENOMEM, "out of memory");
        }
        a->held = strcmp((const char *)owner, a->owner) == 0;
        src = sqlite3_step(who);
    }
    rc = src == SQLITE_DONE ? CHORE_OK : sq_fail(s->w, src);
    sqlite3_reset(who);
    return rc;
}

/* store_ops.lock_acquire: see store.h. name and owner must be non-empty
 * and ttl_ms > 0; the expiry saturates at INT64_MAX. */
int sq_lock_acquire(store *s, const char *name, const char *owner, int64_t now_ms, int64_t ttl_ms,
                    bool *held)
{
    if (held != NULL)
        *held = false;
    if (s == NULL || name == NULL || name[0] == '\0' || owner == NULL || owner[0] == '\0' ||
        held == NULL || ttl_ms <= 0)
        return sq_fail_msg(CHORE_EINVAL, "lock: no name, owner or output, or ttl <= 0");
    lock_args a = {.name = name,
                   .owner = owner,
                   .now_ms = now_ms,
                   .expires_at = instant_add(now_ms, ttl_ms)};
    int rc = sq_write_unsynced(s, acquire_body, &a);
    if (rc == CHORE_OK)
        *held = a.held;
    return rc;
}

static int release_body(store *s, void *arg)
{
    lock_args *a = arg;
    int rc;
    sqlite3_stmt *st = sq_wstmt(s, SQ_W_LOCK_RELEASE, &rc);
    if (st == NULL)
        return rc;
    int src = sqlite3_bind_text(st, 1, a->name, -1, SQLITE_STATIC);
    if (src == SQLITE_OK)
        src = sqlite3_bind_text(st, 2, a->owner, -1, SQLITE_STATIC);
    if (src != SQLITE_OK) {
        sqlite3_reset(st);
        return sq_fail(s->w, src);
    }
    return sq_step_done(s->w, st);
}

/* store_ops.lock_release: see store.h. Deletes the row only when `owner`
 * holds it (expired or not: nobody else has taken it then). */
int sq_lock_release(store *s, const char *name, const char *owner)
{
    if (s == NULL || name == NULL || name[0] == '\0' || owner == NULL || owner[0] == '\0')
        return sq_fail_msg(CHORE_EINVAL, "lock: no name or owner");
    lock_args a = {.name = name, .owner = owner};
    return sq_write_unsynced(s, release_body, &a);
}
