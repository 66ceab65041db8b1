/*
 * pg_locks.c — the PostgreSQL backend's loop locks. A holder holds two
 * things (see docs/POSTGRES.md):
 *
 *  - a session-level advisory lock (pg_try_advisory_lock), keyed by the
 *    schema and the lock name, on the store's own lock connection: it
 *    keeps other nodes out for as long as this node's session lives, with
 *    no clock involved, and goes away at once when the node dies;
 *  - a lease row in chore_locks, judged in database time (pg_clock.c):
 *    it tells apart the owners sharing one store (one session holds the
 *    advisory lock for all of them) and gives the store contract's lease
 *    semantics (renewal, takeover after expiry) among them.
 *
 * acquire takes the advisory lock first (not at all when another session
 * has it: nothing changes then), then the row with one UPSERT that takes
 * it when absent, expired or already the owner's. A freshly taken
 * advisory lock whose row is refused is given back at once. release
 * deletes the owner's row and, when it did, gives the advisory lock back.
 * Lock calls of one store are serialized by amu, which guards the lock
 * connection and the list of names whose advisory lock it holds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pure/instant.h"
#include "store/pg_internal.h"

/* A 64-bit key from the text "<schema>:<name>"; md5 rather than the 32-bit
 * hashtext, so that two lock names practically never share a key. */
#define LOCK_KEY "('x' || left(md5('chore_lock:' || $1::text), 16))::bit(64)::bigint"

/* ---------------------------------------------------------------- advisory locks */

static ssize_t held_index(store *s, const char *name)
{
    for (size_t i = 0; i < s->n_advisory; i++) {
        if (strcmp(s->advisory[i], name) == 0)
            return (ssize_t)i;
    }
    return -1;
}

static int held_add(store *s, const char *name)
{
    char *copy = strdup(name);
    char **grown = copy != NULL ? realloc(s->advisory, (s->n_advisory + 1) * sizeof *grown) : NULL;
    if (grown == NULL) {
        free(copy);
        return pg_fail_msg(CHORE_ENOMEM, "out of memory");
    }
    s->advisory = grown;
    s->advisory[s->n_advisory++] = copy;
    return CHORE_OK;
}

static void held_remove(store *s, const char *name)
{
    ssize_t i = held_index(s, name);
    if (i < 0)
        return;
    free(s->advisory[i]);
    s->advisory[i] = s->advisory[--s->n_advisory];
}

/* The session is gone, and with it every advisory lock it held. */
static void held_forget_all(store *s)
{
    for (size_t i = 0; i < s->n_advisory; i++)
        free(s->advisory[i]);
    free(s->advisory);
    s->advisory = NULL;
    s->n_advisory = 0;
}

/* Run `sql` (one boolean, $1 = "<schema>:<name>") on the lock connection,
 * (re)connecting it when it is not there or was lost, once more when the
 * first try finds it lost. Caller holds amu. */
static int lockc_bool(store *s, const char *sql, const char *name, bool *out)
{
    size_t len = strlen(s->schema) + strlen(name) + 2;
    char *key = malloc(len);
    if (key == NULL)
        return pg_fail_msg(CHORE_ENOMEM, "out of memory");
    snprintf(key, len, "%s:%s", s->schema, name);
    const char *p[1] = {key};
    int rc = CHORE_ESTORE;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (s->lockc == NULL || PQstatus(s->lockc) != CONNECTION_OK) {
            PQfinish(s->lockc);
            s->lockc = NULL;
            held_forget_all(s);
            if ((rc = pg_connect(s, &s->lockc)) != CHORE_OK)
                break;
        }
        PGresult *res = PQexecParams(s->lockc, sql, 1, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
            *out = PQgetvalue(res, 0, 0)[0] == 't';
            PQclear(res);
            rc = CHORE_OK;
            break;
        }
        rc = pg_fail(s->lockc, res);
        if (PQstatus(s->lockc) == CONNECTION_OK)
            break; /* a live session that refused: trying again changes nothing */
    }
    free(key);
    return rc;
}

/* Whether this store's session holds `name`'s advisory lock, taking it if
 * it is free; *fresh when it was taken now. Caller holds amu. */
static int advisory_take(store *s, const char *name, bool *got, bool *fresh)
{
    *got = *fresh = false;
    bool ok;
    if (held_index(s, name) >= 0) {
        /* Held while the session lives: check that it does (a lost one
         * forgets its locks, and the name is then taken afresh below). */
        int rc = lockc_bool(s, "SELECT true WHERE $1::text IS NOT NULL", name, &ok);
        if (rc != CHORE_OK)
            return rc;
        if (held_index(s, name) >= 0) {
            *got = true;
            return CHORE_OK;
        }
    }
    int rc = lockc_bool(s, "SELECT pg_try_advisory_lock(" LOCK_KEY ")", name, &ok);
    if (rc != CHORE_OK || !ok)
        return rc;
    if ((rc = held_add(s, name)) != CHORE_OK) {
        lockc_bool(s, "SELECT pg_advisory_unlock(" LOCK_KEY ")", name, &ok);
        return rc;
    }
    *got = *fresh = true;
    return CHORE_OK;
}

/* Give `name`'s advisory lock back. Caller holds amu. */
static void advisory_give(store *s, const char *name)
{
    bool ok;
    if (held_index(s, name) < 0)
        return;
    held_remove(s, name);
    /* On failure the session is lost (its locks with it) or keeps a lock
     * no row backs, which only delays other nodes until it closes. */
    lockc_bool(s, "SELECT pg_advisory_unlock(" LOCK_KEY ")", name, &ok);
}

/* ---------------------------------------------------------------- lease rows */

typedef struct lock_args {
    const char *name;
    const char *owner;
    int64_t now_ms;
    int64_t ttl_ms;
    bool held;
    int64_t changed;
} lock_args;

static int acquire_body(store *s, pg_conn *pc, void *arg)
{
    lock_args *a = arg;
    int64_t db_now; /* leases are set and judged in database time */
    int rc = pg_db_time(s, pc, a->now_ms, &db_now);
    if (rc != CHORE_OK)
        return rc;
    pg_num now, exp;
    const char *p[4] = {a->name, a->owner, pg_i64(&now, db_now),
                        pg_i64(&exp, instant_add(db_now, a->ttl_ms))};
    PGresult *res = pg_run(pc, PG_S_LOCK_TAKE, 4, p, &rc);
    if (res == NULL)
        return rc;
    a->held = PQntuples(res) > 0;
    PQclear(res);
    return CHORE_OK;
}

/* store_ops.lock_acquire: see store.h. name and owner must be non-empty
 * and ttl_ms > 0; the expiry saturates at INT64_MAX. While another node's
 * session holds the advisory lock the answer is "not held", even when
 * that node's lease row has expired: a live holder is never overtaken. */
int pg_lock_acquire(store *s, const char *name, const char *owner, int64_t now_ms, int64_t ttl_ms,
                    bool *held)
{
    if (held != NULL)
        *held = false;
    if (s == NULL || name == NULL || name[0] == '\0' || owner == NULL || owner[0] == '\0' ||
        held == NULL || ttl_ms <= 0)
        return pg_fail_msg(CHORE_EINVAL, "lock: no name, owner or output, or ttl <= 0");
    pthread_mutex_lock(&s->amu);
    bool got = false, fresh = false;
    int rc = advisory_take(s, name, &got, &fresh);
    lock_args a = {.name = name, .owner = owner, .now_ms = now_ms, .ttl_ms = ttl_ms};
    if (rc == CHORE_OK && got)
        rc = pg_write(s, acquire_body, &a);
    /* A row refused while our advisory lock is fresh belongs to another
     * node whose session ended before its lease did: not ours to keep. */
    if (fresh && (rc != CHORE_OK || !a.held))
        advisory_give(s, name);
    pthread_mutex_unlock(&s->amu);
    if (rc == CHORE_OK)
        *held = got && a.held;
    return rc;
}

static int release_body(store *s, pg_conn *pc, void *arg)
{
    (void)s;
    lock_args *a = arg;
    const char *p[2] = {a->name, a->owner};
    return pg_run_cmd(pc, PG_S_LOCK_RELEASE, 2, p, &a->changed);
}

/* store_ops.lock_release: see store.h. The advisory lock goes with the
 * row: no owner of this store holds the lock any more. */
int pg_lock_release(store *s, const char *name, const char *owner)
{
    if (s == NULL || name == NULL || name[0] == '\0' || owner == NULL || owner[0] == '\0')
        return pg_fail_msg(CHORE_EINVAL, "lock: no name or owner");
    lock_args a = {.name = name, .owner = owner};
    pthread_mutex_lock(&s->amu);
    int rc = pg_write(s, release_body, &a);
    if (rc == CHORE_OK && a.changed > 0)
        advisory_give(s, name);
    pthread_mutex_unlock(&s->amu);
    return rc;
}

/* Close the lock connection: the server drops its advisory locks. */
void pg_locks_close(store *s)
{
    PQfinish(s->lockc);
    s->lockc = NULL;
    held_forget_all(s);
}
