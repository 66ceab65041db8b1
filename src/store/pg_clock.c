/*
 * pg_clock.c — the PostgreSQL backend's translation between the caller's
 * clock and the database's, so that leases, suspend deadlines and lock
 * expiries are stored and judged in database time (see docs/POSTGRES.md).
 *
 * Each store measures once, on its first call that needs it, skew =
 * caller_now - db_now, where db_now is the server's clock_timestamp() read
 * in that call. From then on the caller's time t stands for database time
 * t - skew. A node whose clock runs 10 minutes ahead has a skew of +10
 * minutes, so its estimate of database time is right; a test's manual
 * clock gets the skew of its start, and advancing it advances its
 * estimate. Skew is constant per store: re-measuring would make a manual
 * clock's estimate jump back to the server's, and a real clock that steps
 * (an NTP correction) is assumed rare against a lease's length.
 */
#include <stdint.h>
#include <stdlib.h>

#include "pure/instant.h"
#include "store/pg_internal.h"

static int64_t sat_sub(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r))
        return b > 0 ? INT64_MIN : INT64_MAX;
    return r;
}

/* Read the server's clock on c, in ms since the epoch. */
static int db_clock(PGconn *c, int64_t *out)
{
    PGresult *res = PQexec(c, "SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint");
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        return pg_fail(c, res);
    *out = pg_get_i64(res, 0, 0);
    PQclear(res);
    return CHORE_OK;
}

/* Database time for the caller's time caller_ms, measuring the skew on
 * pc when this store has none yet. Extreme times (INT64_MAX "never")
 * saturate instead of wrapping. */
int pg_db_time(store *s, pg_conn *pc, int64_t caller_ms, int64_t *db_ms)
{
    pthread_mutex_lock(&s->kmu);
    bool known = s->skew_known;
    int64_t skew = s->skew_ms;
    pthread_mutex_unlock(&s->kmu);
    if (!known) {
        int64_t now_db = 0;
        int rc = db_clock(pc->c, &now_db);
        if (rc != CHORE_OK)
            return rc;
        pthread_mutex_lock(&s->kmu);
        if (!s->skew_known) { /* the first measurement wins: one skew per store */
            s->skew_ms = sat_sub(caller_ms, now_db);
            s->skew_known = true;
        }
        skew = s->skew_ms;
        pthread_mutex_unlock(&s->kmu);
    }
    if (caller_ms == INT64_MAX || caller_ms == INT64_MIN)
        *db_ms = caller_ms;
    else
        *db_ms = sat_sub(caller_ms, skew);
    return CHORE_OK;
}

/* The caller's time for database time db_ms read back (a lease or a
 * deadline). 0 (NULL, no lease) stays 0; before any measurement the skew
 * is taken as 0, i.e. the caller's clock is assumed in sync. */
int64_t pg_caller_time(store *s, int64_t db_ms)
{
    if (db_ms == 0 || db_ms == INT64_MAX || db_ms == INT64_MIN)
        return db_ms;
    pthread_mutex_lock(&s->kmu);
    int64_t skew = s->skew_known ? s->skew_ms : 0;
    pthread_mutex_unlock(&s->kmu);
    return instant_add(db_ms, skew);
}
