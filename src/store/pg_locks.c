/*
 * pg_locks.c — the PostgreSQL backend's loop locks: lock_acquire and
 * lock_release on the table chore_locks (see pg_schema.c), one lease row
 * per lock judged by the caller's clock, as in the SQLite backend.
 *
 * acquire is one UPSERT that takes the row when it is absent, expired or
 * already the owner's and returns it only then: the row lock of the
 * conflicting insert orders two nodes taking one lock at once.
 */
#include <stdint.h>

#include "store/pg_internal.h"

typedef struct lock_args {
    const char *name;
    const char *owner;
    int64_t now_ms;
    int64_t expires_at;
    bool held;
} lock_args;

static int acquire_body(store *s, pg_conn *pc, void *arg)
{
    (void)s;
    lock_args *a = arg;
    pg_num now, exp;
    const char *p[4] = {a->name, a->owner, pg_i64(&now, a->now_ms), pg_i64(&exp, a->expires_at)};
    int rc;
    PGresult *res = pg_run(pc, PG_S_LOCK_TAKE, 4, p, &rc);
    if (res == NULL)
        return rc;
    a->held = PQntuples(res) > 0;
    PQclear(res);
    return CHORE_OK;
}

/* store_ops.lock_acquire: see store.h. name and owner must be non-empty
 * and ttl_ms > 0; the expiry saturates at INT64_MAX. */
int pg_lock_acquire(store *s, const char *name, const char *owner, int64_t now_ms, int64_t ttl_ms,
                    bool *held)
{
    if (held != NULL)
        *held = false;
    if (s == NULL || name == NULL || name[0] == '\0' || owner == NULL || owner[0] == '\0' ||
        held == NULL || ttl_ms <= 0)
        return pg_fail_msg(CHORE_EINVAL, "lock: no name, owner or output, or ttl <= 0");
    lock_args a = {.name = name,
                   .owner = owner,
                   .now_ms = now_ms,
                   .expires_at = now_ms > INT64_MAX - ttl_ms ? INT64_MAX : now_ms + ttl_ms};
    int rc = pg_write(s, acquire_body, &a);
    if (rc == CHORE_OK)
        *held = a.held;
    return rc;
}

static int release_body(store *s, pg_conn *pc, void *arg)
{
    (void)s;
    lock_args *a = arg;
    const char *p[2] = {a->name, a->owner};
    return pg_run_cmd(pc, PG_S_LOCK_RELEASE, 2, p, NULL);
}

/* store_ops.lock_release: see store.h. */
int pg_lock_release(store *s, const char *name, const char *owner)
{
    if (s == NULL || name == NULL || name[0] == '\0' || owner == NULL || owner[0] == '\0')
        return pg_fail_msg(CHORE_EINVAL, "lock: no name or owner");
    lock_args a = {.name = name, .owner = owner};
    return pg_write(s, release_body, &a);
}
