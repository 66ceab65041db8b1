/*
 * test_store_pg.c — the store conformance suite on the PostgreSQL backend
 * (a fresh schema per test), then what only PostgreSQL has: two opens
 * racing to migrate one fresh schema, enqueue inside the caller's own
 * PGconn transaction, the schema version check, bad URLs, leases and
 * loop locks judged by the database's clock between nodes whose clocks
 * disagree, and the advisory locks of loop locks.
 *
 * Needs the cluster of scripts/pg-cluster.sh: ctest's fixture "pg" starts
 * it and sets CHORE_TEST_PG_DIR, where DIR/url holds its URL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <pthread.h>

#include "store/pg_internal.h"
#include "store/store.h"
#include "test_pg.h"
#include "store_conformance.h"

#define T0 1700000000000LL

static const store_ops *ops = &pg_store_ops;
static char base_url[512]; /* postgres://…/chore_test */

/* A location (the URL after "postgres:") naming a fresh schema. */
static const char *new_location(char *buf, size_t len)
{
    char schema[64];
    test_pg_schema(schema, sizeof schema, "t");
    snprintf(buf, len, "%s?schema=%s", base_url + strlen("postgres:"), schema);
    return buf;
}

/* The store at loc, with full durability (fails the test if it cannot open). */
static store *open_store(const char *loc)
{
    return store_test_open(ops, loc, CHORE_DURABLE_FULL);
}

static store_new_job job_of(const char *name)
{
    store_new_job j = {.name = name, .payload = "{}", .queue = "default", .run_at_ms = T0};
    return j;
}

/* ---------------------------------------------------------------- migration race */

typedef struct opener {
    const char *loc;
    pthread_barrier_t *go;
    int rc;
    store *s;
} opener;

static void *open_thread(void *arg)
{
    opener *o = arg;
    char err[256];
    pthread_barrier_wait(o->go);
    o->rc = ops->open(&o->s, o->loc, CHORE_DURABLE_PROCESS, err, sizeof err);
    if (o->rc != CHORE_OK)
        fprintf(stderr, "open: %s\n", err);
    return NULL;
}

static void test_racing_opens_migrate_once(void **state)
{
    (void)state;
    enum { N = 4 };
    char loc[600], schema[64];
    test_pg_schema(schema, sizeof schema, "t");
    snprintf(loc, sizeof loc, "%s?schema=%s", base_url + strlen("postgres:"), schema);
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, N);
    opener o[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        o[i] = (opener){.loc = loc, .go = &go};
        assert_int_equal(pthread_create(&t[i], NULL, open_thread, &o[i]), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&go);
    for (int i = 0; i < N; i++)
        assert_int_equal(o[i].rc, CHORE_OK);
    /* Each store works and sees the others' jobs: one schema, one set of tables. */
    int64_t ids[N];
    for (int i = 0; i < N; i++) {
        store_new_job j = job_of("race");
        assert_int_equal(ops->enqueue(o[i].s, &j, 1, T0, &ids[i], NULL), CHORE_OK);
    }
    int64_t counts[CHORE_STATE_COUNT];
    assert_int_equal(ops->count_by_state(o[0].s, counts), CHORE_OK);
    assert_int_equal(counts[CHORE_AVAILABLE], N);
    PGconn *c = test_pg_connect(base_url);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM pg_tables WHERE schemaname = '%s'"
             " AND tablename LIKE 'chore\\_%%'",
             schema);
    assert_int_equal(test_pg_int(c, sql), 4); /* jobs, schedules, locks, meta */
    snprintf(sql, sizeof sql,
             "SELECT value FROM \"%s\".chore_meta WHERE key = 'schema_version'", schema);
    assert_int_equal(test_pg_int(c, sql), PG_SCHEMA_VERSION);
    PQfinish(c);
    for (int i = 0; i < N; i++)
        ops->close(o[i].s);
}

/* ---------------------------------------------------------------- version */

static void test_newer_schema_refused(void **state)
{
    (void)state;
    char loc[600], schema[64];
    test_pg_schema(schema, sizeof schema, "t");
    snprintf(loc, sizeof loc, "%s?schema=%s", base_url + strlen("postgres:"), schema);
    ops->close(open_store(loc));
    PGconn *c = test_pg_connect(base_url);
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE \"%s\".chore_meta SET value = value + 1 WHERE key = 'schema_version'",
             schema);
    test_pg_exec(c, sql);
    store *s = (store *)&s;
    char err[256] = "";
    assert_int_equal(ops->open(&s, loc, CHORE_DURABLE_FULL, err, sizeof err), CHORE_EVERSION);
    assert_null(s);
    assert_true(strlen(err) > 0);
    /* Put back, it opens again and keeps the version. */
    snprintf(sql, sizeof sql,
             "UPDATE \"%s\".chore_meta SET value = value - 1 WHERE key = 'schema_version'",
             schema);
    test_pg_exec(c, sql);
    ops->close(open_store(loc));
    PQfinish(c);
}

static void test_bad_locations(void **state)
{
    (void)state;
    store *s = NULL;
    char err[256] = "";
    char loc[600];
    snprintf(loc, sizeof loc, "%s?schema=bad-name", base_url + strlen("postgres:"));
    assert_int_equal(ops->open(&s, loc, CHORE_DURABLE_FULL, err, sizeof err), CHORE_EINVAL);
    assert_null(s);
    assert_non_null(strstr(err, "schema"));
    assert_int_equal(ops->open(&s, "", CHORE_DURABLE_FULL, err, sizeof err), CHORE_EINVAL);
    /* Nobody listens on port 1: a clear error, no crash, no hang. */
    assert_int_equal(
        ops->open(&s, "//postgres@127.0.0.1:1/chore_test", CHORE_DURABLE_FULL, err, sizeof err),
        CHORE_ESTORE);
    assert_null(s);
    assert_true(strlen(err) > 0);
    /* store_backend_for knows both schemes. */
    const char *where = NULL;
    assert_ptr_equal(store_backend_for("postgres://h/db", &where), &pg_store_ops);
    assert_string_equal(where, "//h/db");
    assert_ptr_equal(store_backend_for("postgresql://h/db", &where), &pg_store_ops);
}

/* ---------------------------------------------------------------- enqueue_native */

static void test_enqueue_native_commit_and_rollback(void **state)
{
    (void)state;
    char loc[600], schema[64], sql[256];
    test_pg_schema(schema, sizeof schema, "t");
    snprintf(loc, sizeof loc, "%s?schema=%s", base_url + strlen("postgres:"), schema);
    store *s = open_store(loc);
    PGconn *c = test_pg_connect(base_url);
    snprintf(sql, sizeof sql, "SET chore.schema = '%s'", schema);
    test_pg_exec(c, sql);
    test_pg_exec(c, "CREATE TEMP TABLE orders(id serial PRIMARY KEY, total int)");

    int64_t before_cc = 0, after_cc = 0;
    assert_int_equal(ops->change_counter(s, &before_cc), CHORE_OK);
    store_new_job j = job_of("native");
    int64_t committed = 0, rolled = 0;
    bool dup = true;
    test_pg_exec(c, "BEGIN");
    test_pg_exec(c, "INSERT INTO orders(total) VALUES (1)");
    assert_int_equal(ops->enqueue_native(c, &j, 1, T0, &committed, &dup), CHORE_OK);
    assert_false(dup);
    assert_int_equal(PQtransactionStatus(c), PQTRANS_INTRANS); /* still the caller's */
    /* Not visible to the store before the caller commits. */
    chore_job_info *info = NULL;
    assert_int_equal(ops->get(s, committed, &info), CHORE_ENOTFOUND);
    test_pg_exec(c, "COMMIT");
    assert_int_equal(ops->get(s, committed, &info), CHORE_OK);
    assert_int_equal(info->state, CHORE_AVAILABLE);
    chore_job_info_free(info);
    /* The commit's notification reaches the store's change counter (it
     * arrives asynchronously: poll with a deadline). */
    for (int i = 0; i < 500; i++) {
        assert_int_equal(ops->change_counter(s, &after_cc), CHORE_OK);
        if (after_cc != before_cc)
            break;
        usleep(10000);
    }
    assert_true(after_cc != before_cc);
    /* The caller's search_path is as it was. */
    PGresult *res = PQexec(c, "SHOW search_path");
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_null(strstr(PQgetvalue(res, 0, 0), schema));
    PQclear(res);

    test_pg_exec(c, "BEGIN");
    assert_int_equal(ops->enqueue_native(c, &j, 1, T0, &rolled, NULL), CHORE_OK);
    test_pg_exec(c, "ROLLBACK");
    info = NULL;
    assert_int_equal(ops->get(s, rolled, &info), CHORE_ENOTFOUND);

    /* Unique keys and scheduling behave as in enqueue. */
    store_new_job u[2] = {job_of("native"), job_of("native")};
    u[0].unique_key = u[1].unique_key = "nk";
    u[1].run_at_ms = T0 + 100;
    int64_t ids[2];
    bool dups[2];
    test_pg_exec(c, "BEGIN");
    assert_int_equal(ops->enqueue_native(c, u, 2, T0, ids, dups), CHORE_OK);
    test_pg_exec(c, "COMMIT");
    assert_false(dups[0]);
    assert_true(dups[1]);
    assert_int_equal(ids[0], ids[1]);

    /* A failure inside the caller's transaction undoes only our part. */
    store_new_job bad = job_of("x");
    bad.payload = NULL;
    test_pg_exec(c, "BEGIN");
    test_pg_exec(c, "INSERT INTO orders(total) VALUES (7)");
    test_pg_exec(c, "SET LOCAL chore.schema = 'no_such_schema'");
    assert_int_equal(ops->enqueue_native(c, &bad, 1, T0, ids, NULL), CHORE_ESTORE);
    assert_true(strlen(ops->errmsg(s)) > 0);
    assert_int_equal(PQtransactionStatus(c), PQTRANS_INTRANS);
    test_pg_exec(c, "COMMIT");
    assert_int_equal(test_pg_int(c, "SELECT count(*) FROM orders WHERE total = 7"), 1);

    /* The store claims both committed jobs. */
    store_claim_req req = {.max = 10, .lease_ms = 1000};
    store_claimed *got = NULL;
    size_t n = 0;
    assert_int_equal(ops->claim(s, &req, T0, &got, &n), CHORE_OK);
    assert_int_equal(n, 2);
    store_claimed_free(got, n);
    assert_int_equal(ops->enqueue_native(NULL, &j, 1, T0, ids, NULL), CHORE_EINVAL);
    PQfinish(c);
    ops->close(s);
}

static void test_unique_key_conflict_on_admin(void **state)
{
    (void)state;
    char loc[600];
    store *s = open_store(new_location(loc, sizeof loc));
    store_new_job j = job_of("u");
    j.unique_key = "same";
    int64_t first, second;
    assert_int_equal(ops->enqueue(s, &j, 1, T0, &first, NULL), CHORE_OK);
    assert_int_equal(ops->admin(s, STORE_ADMIN_CANCEL, first, T0), CHORE_OK);
    assert_int_equal(ops->enqueue(s, &j, 1, T0, &second, NULL), CHORE_OK);
    assert_true(second != first);
    assert_int_equal(ops->admin(s, STORE_ADMIN_RETRY, first, T0), CHORE_EEXIST);
    chore_job_info *info = NULL;
    assert_int_equal(ops->get(s, first, &info), CHORE_OK);
    assert_int_equal(info->state, CHORE_CANCELLED);
    chore_job_info_free(info);
    assert_int_equal(ops->admin(s, STORE_ADMIN_DELETE, first, T0), CHORE_OK);
    ops->close(s);
}

/* The server drops every connection of the store (a restart, a failover):
 * the next reads and writes reconnect and succeed. */
static void test_reconnects_after_lost_connections(void **state)
{
    (void)state;
    char loc[600];
    store *s = open_store(new_location(loc, sizeof loc));
    store_new_job j = job_of("lost");
    int64_t id = 0, id2 = 0, cc = 0;
    assert_int_equal(ops->enqueue(s, &j, 1, T0, &id, NULL), CHORE_OK);
    assert_int_equal(ops->change_counter(s, &cc), CHORE_OK);
    /* Only this store's server processes: other tests share the cluster. */
    char kill_sql[256];
    snprintf(kill_sql, sizeof kill_sql,
             "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
             " WHERE application_name = 'chore_%s'",
             strstr(loc, "schema=") + strlen("schema="));
    PGconn *c = test_pg_connect(base_url);
    int64_t killed = test_pg_int(c, kill_sql);
    assert_true(killed >= 2); /* a pooled connection and the listening one */
    PQfinish(c);
    chore_job_info *info = NULL;
    assert_int_equal(ops->get(s, id, &info), CHORE_OK);
    chore_job_info_free(info);
    assert_int_equal(ops->change_counter(s, &cc), CHORE_OK);
    c = test_pg_connect(base_url);
    assert_true(test_pg_int(c, kill_sql) >= 1);
    PQfinish(c);
    assert_int_equal(ops->enqueue(s, &j, 1, T0, &id2, NULL), CHORE_OK);
    assert_true(id2 > id);
    ops->close(s);
}

/* ---------------------------------------------------------------- clocks */

#define MIN_MS (60 * 1000LL)

static int64_t real_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int job_state(store *s, int64_t id)
{
    chore_job_info *info = NULL;
    assert_int_equal(ops->get(s, id, &info), CHORE_OK);
    int state = (int)info->state;
    chore_job_info_free(info);
    return state;
}

/* Three nodes on one schema: one in sync, one 10 minutes ahead, one 10
 * minutes behind. Leases and deadlines are judged by the database's clock:
 * the fast node cannot rescue the others' jobs early, and the slow node's
 * leases are not already expired for everyone else. */
static void test_skewed_clocks_cannot_rescue_early(void **state)
{
    (void)state;
    char loc[600];
    new_location(loc, sizeof loc);
    store *sync = open_store(loc), *fast = open_store(loc), *slow = open_store(loc);
    const int64_t lease = 30000, skew = 10 * MIN_MS;
    int64_t now = real_now_ms();
    store_new_job jobs[3] = {job_of("a"), job_of("b"), job_of("c")};
    int64_t ids[3];
    for (int i = 0; i < 3; i++)
        jobs[i].run_at_ms = now - skew; /* due for every node */
    assert_int_equal(ops->enqueue(sync, jobs, 3, now, ids, NULL), CHORE_OK);

    /* The in-sync node claims one job; the slow node claims one and
     * suspends another until its own now + 60 s. */
    store_claim_req one = {.max = 1, .lease_ms = lease};
    store_claimed *got = NULL, *slow_got = NULL;
    size_t n = 0;
    assert_int_equal(ops->claim(sync, &one, real_now_ms(), &got, &n), CHORE_OK);
    assert_int_equal(n, 1);
    int64_t slow_now = real_now_ms() - skew;
    store_claim_req two = {.max = 2, .lease_ms = lease};
    assert_int_equal(ops->claim(slow, &two, slow_now, &slow_got, &n), CHORE_OK);
    assert_int_equal(n, 2);
    /* Leases come back in the caller's own time: its first call measured it. */
    assert_int_equal(slow_got[0].lease_until_ms, slow_now + lease);
    store_outcome susp = {.id = slow_got[1].id,
                          .token = slow_got[1].token,
                          .kind = STORE_SUSPEND,
                          .run_at_ms = slow_now + 2 * lease};
    bool applied = false;
    assert_int_equal(ops->finish(slow, &susp, 1, slow_now, &applied), CHORE_OK);
    assert_true(applied);

    /* The fast node's rescue, and the in-sync node's, find nothing expired:
     * by the caller's clocks the slow node's lease ended 9.5 minutes ago. */
    int64_t rescued = -1;
    assert_int_equal(ops->rescue(fast, real_now_ms() + skew, &rescued), CHORE_OK);
    assert_int_equal(rescued, 0);
    assert_int_equal(ops->rescue(sync, real_now_ms(), &rescued), CHORE_OK);
    assert_int_equal(rescued, 0);
    assert_int_equal(job_state(sync, got[0].id), CHORE_RUNNING);
    assert_int_equal(job_state(sync, slow_got[0].id), CHORE_RUNNING);
    assert_int_equal(job_state(sync, slow_got[1].id), CHORE_SUSPENDED);
    /* Another node reads the lease in its own time base (about its now + lease). */
    chore_job_info *info = NULL;
    assert_int_equal(ops->get(fast, got[0].id, &info), CHORE_OK);
    int64_t expect = real_now_ms() + skew + lease;
    assert_true(info->lease_until_ms > expect - 5000 && info->lease_until_ms <= expect);
    chore_job_info_free(info);

    /* A heartbeat by the slow node extends in database time too. */
    store_lease hb = {.id = slow_got[0].id, .token = slow_got[0].token};
    assert_int_equal(ops->heartbeat(slow, &hb, 1, real_now_ms() - skew, 3 * lease, &applied),
                     CHORE_OK);
    assert_true(applied);

    /* Past the leases by the fast node's own clock: the two 30 s leases and
     * the deadline expire, the heartbeaten lease does not. */
    assert_int_equal(ops->rescue(fast, real_now_ms() + skew + 2 * lease + 1000, &rescued),
                     CHORE_OK);
    assert_int_equal(rescued, 2);
    assert_int_equal(job_state(sync, got[0].id), CHORE_AVAILABLE);
    assert_int_equal(job_state(sync, slow_got[0].id), CHORE_RUNNING);
    assert_int_equal(job_state(sync, slow_got[1].id), CHORE_AVAILABLE);
    assert_int_equal(ops->rescue(fast, real_now_ms() + skew + 3 * lease + 1000, &rescued),
                     CHORE_OK);
    assert_int_equal(rescued, 1);
    store_claimed_free(got, 1);
    store_claimed_free(slow_got, 2);
    ops->close(sync);
    ops->close(fast);
    ops->close(slow);
}

/* The advisory locks this schema's connections hold on the server. */
static int64_t advisory_locks(PGconn *c, const char *schema, bool terminate)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT %s FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
             " WHERE l.locktype = 'advisory' AND a.application_name = 'chore_%s'",
             terminate ? "count(pg_terminate_backend(l.pid))" : "count(*)", schema);
    return test_pg_int(c, sql);
}

/* Loop locks: a live holder keeps an advisory lock, so no other node takes
 * the lock even past its lease; when its session is gone, the lease row,
 * judged by the database's clock, still keeps a node whose clock is 10
 * minutes ahead out until the lease really ends. */
static void test_skewed_clock_cannot_take_lock(void **state)
{
    (void)state;
    char loc[600];
    new_location(loc, sizeof loc);
    const char *schema = strstr(loc, "schema=") + strlen("schema=");
    store *a = open_store(loc), *b = open_store(loc);
    const int64_t ttl = 30000, skew = 10 * MIN_MS;
    PGconn *c = test_pg_connect(base_url);
    bool held = false;
    assert_int_equal(ops->lock_acquire(a, "tick", "node-a", real_now_ms(), ttl, &held), CHORE_OK);
    assert_true(held);
    assert_int_equal(advisory_locks(c, schema, false), 1);
    /* b's clock is 10 minutes ahead: by it a's lease ended long ago. */
    assert_int_equal(ops->lock_acquire(b, "tick", "node-b", real_now_ms() + skew, ttl, &held),
                     CHORE_OK);
    assert_false(held);
    /* Even past the lease in database time, a's live session keeps it. */
    assert_int_equal(
        ops->lock_acquire(b, "tick", "node-b", real_now_ms() + skew + 2 * ttl, ttl, &held),
        CHORE_OK);
    assert_false(held);
    assert_int_equal(advisory_locks(c, schema, false), 1); /* b's refusals kept nothing */

    /* a's lock connection dies (the node is cut off): the advisory lock is
     * gone, a's lease row is not, and it still holds b out. */
    assert_int_equal(advisory_locks(c, schema, true), 1);
    for (int i = 0; i < 500 && advisory_locks(c, schema, false) > 0; i++)
        usleep(10000);
    assert_int_equal(advisory_locks(c, schema, false), 0);
    assert_int_equal(ops->lock_acquire(b, "tick", "node-b", real_now_ms() + skew, ttl, &held),
                     CHORE_OK);
    assert_false(held);
    assert_int_equal(advisory_locks(c, schema, false), 0); /* b gave its fresh one back */
    /* a renews: it reconnects, takes the advisory lock again, keeps its row. */
    assert_int_equal(ops->lock_acquire(a, "tick", "node-a", real_now_ms(), ttl, &held), CHORE_OK);
    assert_true(held);
    assert_int_equal(advisory_locks(c, schema, false), 1);

    /* a releases: both go, and b takes the lock at once. */
    assert_int_equal(ops->lock_release(a, "tick", "node-a"), CHORE_OK);
    assert_int_equal(advisory_locks(c, schema, false), 0);
    assert_int_equal(ops->lock_acquire(b, "tick", "node-b", real_now_ms() + skew, ttl, &held),
                     CHORE_OK);
    assert_true(held);
    assert_int_equal(ops->lock_acquire(a, "tick", "node-a", real_now_ms(), ttl, &held), CHORE_OK);
    assert_false(held);

    /* b's store closes without releasing (a crash): the advisory lock goes
     * with its session; the row keeps a out until b's lease ends in
     * database time, 30 s after b took it, by a's clock too. */
    int64_t b_took = real_now_ms();
    ops->close(b);
    for (int i = 0; i < 500 && advisory_locks(c, schema, false) > 0; i++)
        usleep(10000);
    assert_int_equal(ops->lock_acquire(a, "tick", "node-a", real_now_ms(), ttl, &held), CHORE_OK);
    assert_false(held);
    assert_int_equal(ops->lock_acquire(a, "tick", "node-a", b_took + ttl + 1000, ttl, &held),
                     CHORE_OK);
    assert_true(held);
    PQfinish(c);
    ops->close(a);
}

int main(void)
{
    if (!test_pg_url(base_url, sizeof base_url)) {
        fprintf(stderr, "test_store_pg: no cluster (CHORE_TEST_PG_DIR/url); skipped\n");
        return 77;
    }
    int failed = store_conformance_run("pg_store_conformance", ops, new_location);
    failed += store_conformance_run_threads("pg_store_threads", ops, new_location);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_racing_opens_migrate_once),
        cmocka_unit_test(test_newer_schema_refused),
        cmocka_unit_test(test_bad_locations),
        cmocka_unit_test(test_enqueue_native_commit_and_rollback),
        cmocka_unit_test(test_unique_key_conflict_on_admin),
        cmocka_unit_test(test_reconnects_after_lost_connections),
        cmocka_unit_test(test_skewed_clocks_cannot_rescue_early),
        cmocka_unit_test(test_skewed_clock_cannot_take_lock),
    };
    failed += cmocka_run_group_tests_name("pg_store", tests, NULL, NULL);
    return failed;
}
